/* SPDX-License-Identifier: ISC */
/*
 * Recording names and directories. A recording is called
 * <start>-<session>.jsonl, or <start>-<session>-<bare JID>.jsonl, the
 * start being the session's in UTC (YYYYmmddTHHMMSSZ) and the other parts
 * escaped for a file name (record_escape); other files in the directory
 * are not recordings and are left alone. Everything here goes through the
 * directory's descriptor, never a path, and nothing is ever deleted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "record_dir.h"
#include "xmalloc.h"

#define RECORD_TAIL 4096 /* read from a file's end to find its last line */

/* An existing recording, for finding a running session's file. */
struct record_name {
	char *name; /* owned */
	size_t id_off, id_len;
};

static bool
record_is_safe(unsigned char c, bool dash_ok)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '@' || c == '.' || c == '_' ||
	       c == '+' || (c == '-' && dash_ok);
}

void
record_escape(
    struct buf *out, const char *p, size_t n, bool dash_ok, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, start = out->len;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (record_is_safe(c, dash_ok) && !(i == 0 && c == '.')) {
			if (out->len - start + 1 > max)
				break;
			buf_addc(out, (char)c);
			continue;
		}
		if (out->len - start + 3 > max)
			break;
		buf_addc(out, '%');
		buf_addc(out, hex[c >> 4]);
		buf_addc(out, hex[c & 0xf]);
	}
}

bool
record_is_name(const char *name, size_t *id_off, size_t *id_len)
{
	size_t len = strlen(name), slen = strlen(RECORD_SUFFIX), i;

	if (len < RECORD_START_LEN + 2 + slen ||
	    strcmp(name + len - slen, RECORD_SUFFIX) != 0 || name[8] != 'T' ||
	    name[15] != 'Z' || name[16] != '-')
		return false;
	for (i = 0; i < 15; i++)
		if (i != 8 && (name[i] < '0' || name[i] > '9'))
			return false;
	*id_off = RECORD_START_LEN + 1;
	for (i = *id_off; i < len - slen && name[i] != '-'; i++)
		;
	*id_len = i - *id_off;
	return *id_len > 0;
}

int
record_ts_us(const char *ts, int64_t *us)
{
	/* The date part changes once a second: parsed only then. The
	 * daemon has one thread. */
	static char date[20];
	static int64_t date_sec;
	struct tm tm;
	long usec = 0;
	int i;

	if (ts == NULL || strlen(ts) != 27 || ts[19] != '.' || ts[26] != 'Z')
		return -1;
	for (i = 20; i < 26; i++) {
		if (ts[i] < '0' || ts[i] > '9')
			return -1;
		usec = usec * 10 + (ts[i] - '0');
	}
	if (memcmp(ts, date, 19) != 0) {
		memset(&tm, 0, sizeof(tm));
		if (strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) != ts + 19)
			return -1;
		date_sec = (int64_t)timegm(&tm);
		memcpy(date, ts, 19);
	}
	*us = date_sec * 1000000 + usec;
	return 0;
}

void
record_start(char *out, const char *ts)
{
	static const int from[RECORD_START_LEN] = {
	    0, 1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 14, 15, 17, 18, 26};
	int i;

	for (i = 0; i < RECORD_START_LEN; i++)
		out[i] = ts[from[i]];
	out[RECORD_START_LEN] = '\0';
}

static int
record_name_cmp(const void *a, const void *b)
{
	const struct record_name *x = a, *y = b;
	size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
	int c = memcmp(x->name + x->id_off, y->name + y->id_off, n);

	if (c != 0)
		return c;
	return x->id_len < y->id_len ? -1 : x->id_len > y->id_len;
}

/*
 * Walks the recordings in d: counts them and their bytes, or with list,
 * lists them by session id. Returns -1 with errno when it cannot read d.
 */
static int
record_dir_scan(struct record_dir *d, bool list)
{
	struct record_name rn;
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int fd;

	fd = openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!record_is_name(de->d_name, &rn.id_off, &rn.id_len) ||
		    fstatat(d->dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!list) {
			d->nfiles++;
			d->total += (size_t)st.st_size;
			continue;
		}
		rn.name = xstrdup(de->d_name);
		d->names =
		    xreallocarray(d->names, d->nnames + 1, sizeof(*d->names));
		d->names[d->nnames++] = rn;
	}
	closedir(dir);
	if (list)
		qsort(d->names, d->nnames, sizeof(*d->names), record_name_cmp);
	return 0;
}

int
record_dir_open(struct record_dir *d, const char *path)
{
	int saved;

	memset(d, 0, sizeof(*d));
	if ((d->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (record_dir_scan(d, false) == -1) {
		saved = errno;
		close(d->dfd);
		errno = saved;
		return -1;
	}
	d->path = xstrdup(path);
	return 0;
}

void
record_dir_fini(struct record_dir *d)
{
	size_t i;

	for (i = 0; i < d->nnames; i++)
		free(d->names[i].name);
	free(d->names);
	free(d->path);
	close(d->dfd);
}

/* bsearch: an escaped session id against a listed name. */
static int
record_name_key_cmp(const void *key, const void *elem)
{
	const char *eid = key;
	const struct record_name *y = elem;
	size_t len = strlen(eid), n = len < y->id_len ? len : y->id_len;
	int c = memcmp(eid, y->name + y->id_off, n);

	if (c != 0)
		return c;
	return len < y->id_len ? -1 : len > y->id_len;
}

const char *
record_dir_find(struct record_dir *d, const char *eid)
{
	const struct record_name *rn;

	/* One listing serves every running session after a reload. */
	if (!d->listed) {
		d->listed = true;
		(void)record_dir_scan(d, true);
	}
	rn = bsearch(
	    eid, d->names, d->nnames, sizeof(*d->names), record_name_key_cmp);
	return rn != NULL ? rn->name : NULL;
}

/* The last line of the file's tail: whether it is whole, whether it is
 * record.truncated, its offset_s. */
static void
record_dir_last_line(int fd, size_t size, struct record_found *found)
{
	static const char off_key[] = "\"offset_s\":";
	char buf[RECORD_TAIL + 1], *p, *line;
	size_t n = size < RECORD_TAIL ? size : RECORD_TAIL;

	if (pread(fd, buf, n, (off_t)(size - n)) != (ssize_t)n || n == 0 ||
	    buf[n - 1] != '\n') {
		found->stopped = true; /* cut short by a write error */
		return;
	}
	buf[n - 1] = '\0';
	line = (p = strrchr(buf, '\n')) != NULL ? p + 1 : buf;
	/* Quotes inside strings are escaped: these only match keys. */
	found->stopped = strstr(line, "\"event\":\"record.truncated\"") != NULL;
	if ((p = strstr(line, off_key)) != NULL)
		found->last_us =
		    (int64_t)(strtod(p + sizeof(off_key) - 1, NULL) * 1e6 +
		              0.5);
}

int
record_dir_recover(
    struct record_dir *d, const char *name, struct record_found *found)
{
	static const char head_key[] = "{\"ts\":\"";
	char head[sizeof(head_key) + 27], ts[28];
	size_t id_off, id_len, klen = sizeof(head_key) - 1;
	struct stat st;
	int fd;

	memset(found, 0, sizeof(*found));
	if (!record_is_name(name, &id_off, &id_len))
		return -1;
	fd = openat(d->dfd, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	/* Every line starts with ts: events_begin() adds it first. */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    pread(fd, head, klen + 27, 0) != (ssize_t)(klen + 27) ||
	    memcmp(head, head_key, klen) != 0) {
		close(fd);
		return -1;
	}
	memcpy(ts, head + klen, 27);
	ts[27] = '\0';
	if (record_ts_us(ts, &found->t0_us) == -1) {
		close(fd);
		return -1;
	}
	record_dir_last_line(fd, (size_t)st.st_size, found);
	memcpy(found->start, name, RECORD_START_LEN);
	found->start[RECORD_START_LEN] = '\0';
	if (name[id_off + id_len] == '-')
		found->jidpart = xstrndup(name + id_off + id_len + 1,
		    strlen(name) - id_off - id_len - 1 - strlen(RECORD_SUFFIX));
	found->bytes = (size_t)st.st_size;
	found->fd = fd;
	if (found->stopped) {
		close(fd);
		found->fd = -1;
	}
	return 0;
}
