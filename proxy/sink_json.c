/* SPDX-License-Identifier: ISC */
/*
 * The JSON-lines sink: one compact object per line, to a file (appended,
 * created 0600, reopened on SIGHUP) or to stdout. It adds the element's
 * "xml" field, with secrets replaced unless redaction was switched off.
 * Lines collect in a buffer and are written once per event-loop turn
 * (events_flush_soon), or as soon as 64 KiB wait, never split: to a
 * regular file a batch of whole lines goes out in one write(2) on an
 * O_APPEND descriptor, which Linux file systems apply whole, so workers
 * appending to one file never interleave within a line; to a pipe or a
 * terminal each line is its own write(2), whole against other writers up
 * to PIPE_BUF (4 KiB). The file is found again through its directory's
 * descriptor, so a reopen works after a chroot. The xml fields are built
 * here for the record sink too (sink_xml_add).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "sink.h"
#include "xmalloc.h"

#define SINK_JSON_WRITE_AT (64 * 1024)  /* a batch this big goes out now */
#define SINK_JSON_KEEP_BUF (256 * 1024) /* a bigger buffer is freed */

struct sink_json {
	struct sink base;
	char *path;   /* owned; NULL for stdout: as configured, for messages */
	int dfd;      /* owned: path's directory (O_PATH), -1 for stdout */
	char *name;   /* owned: path's last part, opened in dfd */
	int fd;       /* owned unless stdout */
	bool batch;   /* a regular file: whole batches of lines per write */
	bool failing; /* the last write failed (said once) */
	struct buf out; /* whole lines not written yet */
};

/* Opens name in the directory to append, created 0600. -1 with errno. */
static int
sink_json_openat(struct sink_json *j)
{
	struct stat st;
	int fd;

	fd = openat(j->dfd, j->name,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1)
		return -1;
	j->batch = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	return fd;
}

/*
 * Opens path's directory, then path in it. Returns -1 with *err set.
 */
static int
sink_json_open(struct sink_json *j, const char *path, char **err)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	j->name = xstrdup(slash ? slash + 1 : path);
	j->dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (j->dfd == -1 || (j->fd = sink_json_openat(j)) == -1) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes all of p, in one write(2) unless the kernel takes less. Returns
 * -1 with errno. */
static int
sink_json_write(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes out the lines held: a failure loses them, said once until a
 * write works again. */
static void
sink_json_write_out(struct sink_json *j)
{
	const char *nl;
	size_t off, len;
	int rc = 0;

	if (j->out.len == 0)
		return;
	if (j->fd == STDOUT_FILENO)
		fflush(stdout); /* the trace's lines before these */
	if (j->batch)
		rc = sink_json_write(j->fd, j->out.data, j->out.len);
	for (off = 0; !j->batch && rc == 0 && off < j->out.len; off += len) {
		nl = memchr(j->out.data + off, '\n', j->out.len - off);
		len = (size_t)(nl - (j->out.data + off)) + 1;
		rc = sink_json_write(j->fd, j->out.data + off, len);
	}
	if (rc == -1 && !j->failing)
		log_warnx("events: writing to %s failed: %s; events are lost "
		          "until a write works again",
		    j->path ? j->path : "stdout", strerror(errno));
	else if (rc == 0 && j->failing)
		log_info("events: writing to %s works again",
		    j->path ? j->path : "stdout");
	j->failing = rc == -1;
	if (j->out.cap > SINK_JSON_KEEP_BUF) {
		buf_fini(&j->out);
		buf_init(&j->out);
	} else
		buf_reset(&j->out);
}

/* One field: the redacted text when wanted and there is one, else the
 * bytes, copied into *hold for their NUL. */
static void
sink_xml_field(cJSON *ev, const char *key, const char *bytes, size_t len,
    const char *redacted, bool redact, char **hold)
{
	const char *text = redacted;

	if (!redact || redacted == NULL)
		text = *hold = xstrndup(bytes, len);
	cJSON_AddItemToObject(ev, key, cJSON_CreateStringReference(text));
}

void
sink_xml_add(cJSON *ev, const struct event_xml *x, bool redact, char *hold[2])
{
	hold[0] = hold[1] = NULL;
	/* The fields reference the text instead of copying it again. */
	if (x != NULL && x->xml != NULL)
		sink_xml_field(
		    ev, "xml", x->xml, x->len, x->redacted, redact, &hold[0]);
	if (x != NULL && x->original != NULL)
		sink_xml_field(ev, "original_xml", x->original, x->original_len,
		    x->original_redacted, redact, &hold[1]);
}

void
sink_xml_remove(cJSON *ev, char *hold[2])
{
	cJSON_DeleteItemFromObject(ev, "xml");
	cJSON_DeleteItemFromObject(ev, "original_xml");
	free(hold[0]);
	free(hold[1]);
}

static void
sink_json_emit(struct sink *s, cJSON *ev, const struct event_xml *x)
{
	struct sink_json *j = (struct sink_json *)s;
	char *line, *hold[2];

	sink_xml_add(ev, x, s->redact, hold);
	line = cJSON_PrintUnformatted(ev);
	if (line == NULL)
		fatalx("cJSON_PrintUnformatted failed");
	buf_adds(&j->out, line);
	buf_addc(&j->out, '\n');
	free(line);
	sink_xml_remove(ev, hold);
	if (j->out.len >= SINK_JSON_WRITE_AT)
		sink_json_write_out(j);
}

/* What was emitted before goes to the file open until now; the next lines
 * to the file the name leads to now (logrotate's move). */
static int
sink_json_reopen(struct sink *s)
{
	struct sink_json *j = (struct sink_json *)s;
	int fd;

	if (j->path == NULL)
		return 0;
	sink_json_write_out(j);
	if ((fd = sink_json_openat(j)) == -1) {
		log_warnx("events reopen failed: %s: %s; still writing to the "
		          "file open before",
		    j->path, strerror(errno));
		return -1;
	}
	close(j->fd);
	j->fd = fd;
	return 0;
}

static void
sink_json_flush(struct sink *s)
{
	sink_json_write_out((struct sink_json *)s);
}

static void
sink_json_free(struct sink *s)
{
	struct sink_json *j = (struct sink_json *)s;

	sink_json_write_out(j);
	if (j->path != NULL && j->fd != -1)
		close(j->fd);
	if (j->dfd != -1)
		close(j->dfd);
	buf_fini(&j->out);
	free(j->path);
	free(j->name);
	free(j);
}

static const struct sink_ops sink_json_ops = {
    .emit = sink_json_emit,
    .reopen = sink_json_reopen,
    .flush = sink_json_flush,
    .free = sink_json_free,
};

struct sink *
sink_json_new(const char *path, bool redact, char **err)
{
	struct sink_json *j = xcalloc(1, sizeof(*j));

	j->base.ops = &sink_json_ops;
	j->base.redact = redact;
	j->dfd = -1;
	j->fd = STDOUT_FILENO;
	buf_init(&j->out);
	if (path == NULL || strcmp(path, "-") == 0) {
		struct stat st;

		j->batch = fstat(j->fd, &st) == 0 && S_ISREG(st.st_mode);
		return &j->base;
	}
	j->path = xstrdup(path);
	j->fd = -1;
	if (sink_json_open(j, path, err) == -1) {
		sink_json_free(&j->base);
		return NULL;
	}
	return &j->base;
}
