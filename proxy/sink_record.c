/* SPDX-License-Identifier: ISC */
/*
 * The recording sink (logs[].type "record"): one JSON-lines file per
 * session in a directory, holding every event of the session in the event
 * schema, each element with its "xml" (secrets redacted unless the log says
 * "redact": false), plus "offset_s" on every line: seconds since the
 * session's session.open, to the microsecond, never decreasing within a
 * file. Files are created mode 0600 whatever the umask, named
 * <start>-<session>.jsonl and renamed <start>-<session>-<bare JID>.jsonl
 * once the bind (or the SASL2 authorization identifier) names the JID.
 * Lines collect in a buffer per file, written out once per event-loop turn
 * (events_flush_soon) and at session.close, which also closes the file.
 * A reload (SIGHUP) frees the sink, closing every file, and the next sink
 * continues each running session's file (record_adopt).
 * The directory's file count, its total size and each file's size are
 * capped: past a cap new sessions get no file and a running one ends with a
 * record.truncated line, with one operator warning per kind. A write error
 * stops that file alone. It never deletes a file, never ends a session,
 * and creates no file for a session that ended with nothing but its
 * session.open (a refused connection), so that a flood of those cannot use
 * up max_files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "events.h"
#include "log.h"
#include "nego.h"
#include "record_dir.h"
#include "sink.h"
#include "xmalloc.h"

#define RECORD_WRITE_AT (64 * 1024) /* write a buffer out past this */
#define RECORD_KEEP_BUF 4096        /* a buffer bigger than this is freed */
#define RECORD_TRUNC_RESERVE 512    /* room kept for record.truncated */
#define RECORD_MIN_BUCKETS 64

/* What the operator was already told, once per sink. */
#define RECORD_WARNED_FILES 0x01
#define RECORD_WARNED_BYTES 0x02
#define RECORD_WARNED_FILE_BYTES 0x04
#define RECORD_WARNED_IO 0x08

/* One session's recording. */
struct record_file {
	struct record_file *hnext;      /* owned by the bucket chain */
	TAILQ_ENTRY(record_file) dirty; /* queued while on_dirty */
	bool on_dirty;
	char *id;      /* owned: the session id */
	char *eid;     /* owned: id escaped for a file name */
	char *name;    /* owned: in dir; NULL until created */
	char *jidpart; /* owned: escaped JID in name, or NULL */
	char start[RECORD_START_LEN + 1]; /* the session's start, UTC */
	int fd;                           /* -1 while closed */
	int64_t t0_us;                    /* the start, µs since the epoch */
	int64_t last_us;                  /* the last offset written */
	size_t bytes;   /* the file's size once out is written */
	struct buf out; /* lines not written yet */
	bool stopped;   /* a limit or an error: no more lines */
};

struct sink_record {
	struct sink base;
	/* nfiles and total: counted when opened, then kept up to date with
	 * what this sink creates and writes (or buffers) */
	struct record_dir d;
	unsigned max_files;
	size_t max_bytes, max_file_bytes;
	bool full;       /* max_bytes reached: every recording stops */
	unsigned warned; /* RECORD_WARNED_* */
	struct record_file **buckets; /* owned array; files owned */
	size_t nbuckets, count;
	TAILQ_HEAD(, record_file) dirty; /* files with lines to write */
};

static const char *
record_str(const cJSON *ev, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(ev, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static size_t
record_hash(const char *id)
{
	uint32_t h = 2166136261u;

	while (*id != '\0')
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h;
}

static struct record_file *
record_find(struct sink_record *s, const char *id)
{
	struct record_file *f;

	f = s->buckets[record_hash(id) & (s->nbuckets - 1)];
	while (f != NULL && strcmp(f->id, id) != 0)
		f = f->hnext;
	return f;
}

static void
record_grow(struct sink_record *s)
{
	struct record_file **old = s->buckets, *f, *next;
	size_t i, n = s->nbuckets, h;

	s->nbuckets = n * 2;
	s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
	for (i = 0; i < n; i++) {
		for (f = old[i]; f != NULL; f = next) {
			next = f->hnext;
			h = record_hash(f->id) & (s->nbuckets - 1);
			f->hnext = s->buckets[h];
			s->buckets[h] = f;
		}
	}
	free(old);
}

/* A new recording state for a session, in the table, with no file yet.
 * NULL when the id could not name a file (never for the proxy's ids). */
static struct record_file *
record_file_new(struct sink_record *s, const char *id)
{
	struct record_file *f;
	struct buf e;
	size_t h;

	if (strlen(id) > RECORD_ID_MAX)
		return NULL;
	buf_init(&e);
	record_escape(&e, id, strlen(id), false, 3 * RECORD_ID_MAX);
	f = xcalloc(1, sizeof(*f));
	f->id = xstrdup(id);
	f->eid = buf_release(&e);
	f->fd = -1;
	buf_init(&f->out);
	if (s->count >= s->nbuckets)
		record_grow(s);
	h = record_hash(id) & (s->nbuckets - 1);
	f->hnext = s->buckets[h];
	s->buckets[h] = f;
	s->count++;
	return f;
}

/* Stops a recording after a write or open error: logged as a warning the
 * first time in this sink, at debug level after that. */
static void
record_fail(
    struct sink_record *s, struct record_file *f, const char *what, int err)
{
	if (!(s->warned & RECORD_WARNED_IO)) {
		s->warned |= RECORD_WARNED_IO;
		log_warnx("session=%s record: %s %s/%s failed: %s; this "
		          "recording stops (later failures are logged at "
		          "debug level)",
		    f->id, what, s->d.path, f->name ? f->name : "-",
		    strerror(err));
	} else
		log_debug("session=%s record: %s %s/%s failed: %s", f->id, what,
		    s->d.path, f->name ? f->name : "-", strerror(err));
	f->stopped = true;
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
}

/* Writes out f's buffered lines. A file closed by a reopen is opened again
 * by name first. Never blocks on anything but write(2). */
static void
record_write_out(struct sink_record *s, struct record_file *f)
{
	size_t off = 0, left;
	ssize_t n;

	if (f->on_dirty) {
		TAILQ_REMOVE(&s->dirty, f, dirty);
		f->on_dirty = false;
	}
	if (f->fd == -1 && !f->stopped && f->name != NULL && f->out.len > 0 &&
	    (f->fd = openat(s->d.dfd, f->name,
	         O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) == -1)
		record_fail(s, f, "reopening", errno);
	while (!f->stopped && off < f->out.len) {
		n = write(f->fd, f->out.data + off, f->out.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			record_fail(s, f, "writing to", n == 0 ? EIO : errno);
			break;
		}
		off += (size_t)n;
	}
	/* What was not written is not in the directory either. */
	left = f->out.len - off;
	f->bytes -= left;
	s->d.total -= left;
	if (f->out.cap > RECORD_KEEP_BUF) {
		buf_fini(&f->out);
		buf_init(&f->out);
	} else
		buf_reset(&f->out);
}

/* Queues f for the end-of-turn write; writes at once past RECORD_WRITE_AT,
 * so a burst holds little memory. */
static void
record_queue(struct sink_record *s, struct record_file *f)
{
	if (f->out.len >= RECORD_WRITE_AT) {
		record_write_out(s, f);
		return;
	}
	if (!f->on_dirty) {
		TAILQ_INSERT_TAIL(&s->dirty, f, dirty);
		f->on_dirty = true;
	}
}

/* Writes out, closes, and forgets f. */
static void
record_drop(struct sink_record *s, struct record_file *f)
{
	struct record_file **pp;

	/* Without a file, out holds at most an uncounted session.open. */
	if (f->name != NULL)
		record_write_out(s, f);
	if (f->fd != -1)
		close(f->fd);
	pp = &s->buckets[record_hash(f->id) & (s->nbuckets - 1)];
	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	s->count--;
	buf_fini(&f->out);
	free(f->id);
	free(f->eid);
	free(f->name);
	free(f->jidpart);
	free(f);
}

/* The offset of an event's ts from the start, never below the last one
 * (the wall clock may step back). */
static int64_t
record_offset(struct record_file *f, const cJSON *ev)
{
	int64_t us, off;

	if (record_ts_us(record_str(ev, "ts"), &us) == -1)
		return f->last_us;
	off = us - f->t0_us;
	if (off < f->last_us)
		off = f->last_us;
	f->last_us = off;
	return off;
}

/* ev printed as one line into out, with "offset_s" last. */
static void
record_print(struct buf *out, const cJSON *ev, int64_t off)
{
	char *text = cJSON_PrintUnformatted(ev);
	size_t len;

	if (text == NULL)
		fatalx("cJSON_PrintUnformatted failed");
	len = strlen(text);
	if (len < 2 || text[len - 1] != '}')
		fatalx("record: an event is not a JSON object");
	buf_add(out, text, len - 1);
	buf_addf(out, ",\"offset_s\":%lld.%06lld}\n",
	    (long long)(off / 1000000), (long long)(off % 1000000));
	free(text);
}

/*
 * Ends a recording at a limit: its last line says which, it is written out
 * and closed. The line comes out of the room kept for it (so a file stays
 * within max_file_bytes; max_bytes may be passed by one such line per
 * recording open at that moment).
 */
static void
record_truncate(struct sink_record *s, struct record_file *f,
    const char *reason, size_t limit, unsigned kind)
{
	cJSON *ev = events_begin("record.truncated", f->id);
	size_t before = f->out.len;
	char num[32];

	/* Raw: a double would print 2^50 as 1.12589990684262e+15. */
	snprintf(num, sizeof(num), "%zu", limit);
	cJSON_AddStringToObject(ev, "reason", reason);
	cJSON_AddRawToObject(ev, "limit", num);
	record_print(&f->out, ev, record_offset(f, ev));
	cJSON_Delete(ev);
	f->bytes += f->out.len - before;
	s->d.total += f->out.len - before;
	record_write_out(s, f);
	f->stopped = true;
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	if (!(s->warned & kind)) {
		s->warned |= kind;
		log_warnx("session=%s record: %s/%s reached %s=%zu and ends "
		          "with record.truncated%s",
		    f->id, s->d.path, f->name, reason, limit,
		    kind == RECORD_WARNED_BYTES
		        ? "; every recording in the directory stops until "
		          "files are moved away and xmppgate reloads (SIGHUP)"
		        : "");
	} else
		log_info("session=%s record: %s truncated at %s", f->id,
		    f->name, reason);
}

/* Counts the line f->out holds from before on, or, when it would pass a
 * limit, takes it back and truncates the file instead. */
static void
record_commit(struct sink_record *s, struct record_file *f, size_t before)
{
	size_t len = f->out.len - before;

	if (f->bytes + len + RECORD_TRUNC_RESERVE > s->max_file_bytes) {
		buf_truncate(&f->out, before);
		record_truncate(s, f, "max_file_bytes", s->max_file_bytes,
		    RECORD_WARNED_FILE_BYTES);
		return;
	}
	if (s->full || s->d.total + len + RECORD_TRUNC_RESERVE > s->max_bytes) {
		s->full = true;
		buf_truncate(&f->out, before);
		record_truncate(
		    s, f, "max_bytes", s->max_bytes, RECORD_WARNED_BYTES);
		return;
	}
	f->bytes += len;
	s->d.total += len;
	record_queue(s, f);
}

/* f's file name, from its start, id and JID part. */
static char *
record_name(const struct record_file *f, const char *jidpart)
{
	return xasprintf("%s-%s%s%s" RECORD_SUFFIX, f->start, f->eid,
	    jidpart ? "-" : "", jidpart ? jidpart : "");
}

/*
 * Creates f's file, 0600 whatever the umask, holding the lines buffered so
 * far (its session.open). New files stop at max_files and max_bytes, with
 * one warning each. Returns -1 (f stopped) when there is no file.
 */
static int
record_create(struct sink_record *s, struct record_file *f)
{
	if (s->d.nfiles >= s->max_files) {
		if (!(s->warned & RECORD_WARNED_FILES))
			log_warnx(
			    "record: %s holds max_files=%u recordings: "
			    "new sessions are not recorded until files "
			    "are moved away and xmppgate reloads (SIGHUP)",
			    s->d.path, s->max_files);
		s->warned |= RECORD_WARNED_FILES;
		f->stopped = true;
		return -1;
	}
	if (s->full ||
	    s->d.total + f->out.len + RECORD_TRUNC_RESERVE > s->max_bytes) {
		if (!(s->warned & RECORD_WARNED_BYTES))
			log_warnx("record: %s reached max_bytes=%zu: new "
			          "sessions are not recorded until files are "
			          "moved away and xmppgate reloads (SIGHUP)",
			    s->d.path, s->max_bytes);
		s->warned |= RECORD_WARNED_BYTES;
		s->full = true;
		f->stopped = true;
		return -1;
	}
	f->name = record_name(f, f->jidpart);
	f->fd = openat(s->d.dfd, f->name,
	    O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (f->fd == -1) {
		record_fail(s, f, "creating", errno);
		free(f->name);
		f->name = NULL;
		return -1;
	}
	/* The umask may only have taken bits away: 0600 exactly. */
	(void)fchmod(f->fd, 0600);
	s->d.nfiles++;
	f->bytes = f->out.len;
	s->d.total += f->out.len;
	record_queue(s, f);
	return 0;
}

/* Continues f in its existing file name (record_dir_recover()). Returns
 * -1 when the file is not one to continue. */
static int
record_reopen(struct sink_record *s, struct record_file *f, const char *name)
{
	struct record_found found;

	if (record_dir_recover(&s->d, name, &found) == -1)
		return -1;
	f->fd = found.fd;
	f->t0_us = found.t0_us;
	f->last_us = found.last_us;
	f->bytes = found.bytes;
	f->stopped = found.stopped;
	f->jidpart = found.jidpart;
	memcpy(f->start, found.start, sizeof(f->start));
	f->name = xstrdup(name);
	log_debug("session=%s record: %s %s/%s", f->id,
	    f->stopped ? "stopped earlier:" : "continuing", s->d.path, name);
	return 0;
}

/*
 * The first event of a session this sink did not see open. After a reload
 * (SIGHUP builds new sinks and frees the old ones, which close every file),
 * running sessions keep recording: their file is found in the directory by
 * session id and appended to, with the start recovered from its first line
 * so that offsets go on from the same origin. A session with no file there
 * gets a new one that starts at this event. NULL: not recordable.
 */
static struct record_file *
record_adopt(struct sink_record *s, const char *id, const cJSON *ev)
{
	struct record_file *f = record_file_new(s, id);
	const char *name, *ts = record_str(ev, "ts");

	if (f == NULL)
		return NULL;
	name = record_dir_find(&s->d, f->eid);
	if (name != NULL && record_reopen(s, f, name) == 0)
		return f;
	if (record_ts_us(ts, &f->t0_us) == -1) {
		f->stopped = true;
		return f;
	}
	record_start(f->start, ts);
	return f;
}

/* A session.open: the state of a new recording, its file still to come. */
static struct record_file *
record_begin(struct sink_record *s, const char *id, const cJSON *ev)
{
	struct record_file *f = record_file_new(s, id);
	const char *ts = record_str(ev, "ts");

	if (f == NULL)
		return NULL;
	if (record_ts_us(ts, &f->t0_us) == -1)
		f->stopped = true;
	else
		record_start(f->start, ts);
	return f;
}

/* Renames old to new in the directory, never replacing a file: renameat2
 * with RENAME_NOREPLACE, or where the file system has no such flag, a link
 * and an unlink. Returns -1 with errno. */
static int
record_move(int dfd, const char *old, const char *new)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(dfd, old, dfd, new, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	if (linkat(dfd, old, dfd, new, 0) == -1)
		return -1;
	(void)unlinkat(dfd, old, 0);
	return 0;
}

/* Renames f's file to carry the bare JID; the open descriptor goes on
 * writing. */
static void
record_rename(struct sink_record *s, struct record_file *f, const char *jid)
{
	const char *slash = strchr(jid, '/');
	struct buf part;
	char *name;

	buf_init(&part);
	record_escape(&part, jid, slash ? (size_t)(slash - jid) : strlen(jid),
	    true, RECORD_JID_MAX);
	if (part.len == 0 ||
	    (f->jidpart != NULL && strcmp(f->jidpart, part.data) == 0)) {
		buf_fini(&part);
		return;
	}
	name = record_name(f, part.data);
	if (record_move(s->d.dfd, f->name, name) == -1) {
		log_debug("session=%s record: naming %s/%s failed: %s", f->id,
		    s->d.path, name, strerror(errno));
		free(name);
		buf_fini(&part);
		return;
	}
	free(f->name);
	f->name = name;
	free(f->jidpart);
	f->jidpart = buf_release(&part);
}

/* The JID an event gives: a bind's, or SASL2 success's authorization
 * identifier (xmalloc'd), or NULL. */
static char *
record_jid(const char *event, const cJSON *ev, const struct event_xml *x)
{
	const struct xnode *aid;
	const char *jid;

	if (strcmp(event, "bind") == 0)
		return (jid = record_str(ev, "jid")) ? xstrdup(jid) : NULL;
	if (strcmp(event, "stanza") != 0 || x == NULL || x->tree == NULL ||
	    !xnode_is(x->tree, NEGO_NS_SASL2, "success") ||
	    (aid = xnode_child(
	         x->tree, NEGO_NS_SASL2, "authorization-identifier")) == NULL)
		return NULL;
	return xnode_text(aid);
}

/* Appends the line of one event to f->out: ev with its element's xml
 * (sink_xml_add) and offset_s. ev is left as it came. */
static void
record_line(struct sink_record *s, struct record_file *f, cJSON *ev,
    const struct event_xml *x)
{
	char *hold[2];

	sink_xml_add(ev, x, s->base.redact, hold);
	record_print(&f->out, ev, record_offset(f, ev));
	sink_xml_remove(ev, hold);
}

static void
sink_record_emit(struct sink *sk, cJSON *ev, const struct event_xml *x)
{
	struct sink_record *s = (struct sink_record *)sk;
	const char *id = record_str(ev, "session");
	const char *event = record_str(ev, "event");
	struct record_file *f;
	bool open, close;
	size_t before;
	char *jid;

	if (id == NULL || event == NULL)
		return;
	open = strcmp(event, "session.open") == 0;
	close = strcmp(event, "session.close") == 0;
	if ((f = record_find(s, id)) == NULL)
		f = open ? record_begin(s, id, ev) : record_adopt(s, id, ev);
	if (f == NULL)
		return;
	/* No file for a session that ends with only its session.open. */
	if (f->stopped || (close && f->name == NULL)) {
		if (close)
			record_drop(s, f);
		return;
	}
	if (f->name == NULL && !open && record_create(s, f) == -1)
		return;
	before = f->out.len;
	record_line(s, f, ev, x);
	if (f->name != NULL) /* else a session.open, counted at create */
		record_commit(s, f, before);
	if (!f->stopped && (jid = record_jid(event, ev, x)) != NULL) {
		record_rename(s, f, jid);
		free(jid);
	}
	if (close)
		record_drop(s, f);
}

/* Writes out and closes every file; the next line of each opens it again
 * by name (record_write_out). */
static int
sink_record_reopen(struct sink *sk)
{
	struct sink_record *s = (struct sink_record *)sk;
	struct record_file *f;
	size_t i;

	for (i = 0; i < s->nbuckets; i++) {
		for (f = s->buckets[i]; f != NULL; f = f->hnext) {
			if (f->name != NULL)
				record_write_out(s, f);
			if (f->fd != -1)
				close(f->fd);
			f->fd = -1;
		}
	}
	return 0;
}

static void
sink_record_flush(struct sink *sk)
{
	struct sink_record *s = (struct sink_record *)sk;
	struct record_file *f;

	while ((f = TAILQ_FIRST(&s->dirty)) != NULL)
		record_write_out(s, f);
}

/* Writes out and closes every file. A session seen only open gets its file
 * now, so that the sink after a reload finds it. */
static void
sink_record_free(struct sink *sk)
{
	struct sink_record *s = (struct sink_record *)sk;
	struct record_file *f;
	size_t i;

	for (i = 0; i < s->nbuckets; i++) {
		while ((f = s->buckets[i]) != NULL) {
			if (f->name == NULL && !f->stopped && f->out.len > 0)
				(void)record_create(s, f);
			record_drop(s, f);
		}
	}
	free(s->buckets);
	record_dir_fini(&s->d);
	free(s);
}

static const struct sink_ops sink_record_ops = {
    .emit = sink_record_emit,
    .reopen = sink_record_reopen,
    .flush = sink_record_flush,
    .free = sink_record_free,
};

struct sink *
sink_record_new(const struct config_log *l, size_t index, char **err)
{
	struct sink_record *s = xcalloc(1, sizeof(*s));

	if (record_dir_open(&s->d, l->dir) == -1) {
		*err = xasprintf(
		    "logs[%zu].dir: %s: %s", index, l->dir, strerror(errno));
		free(s);
		return NULL;
	}
	/* Files are created as the process is now (its user, after the
	 * privileges are dropped): a directory it cannot write to would
	 * record nothing. */
	if (faccessat(s->d.dfd, ".", W_OK | X_OK, AT_EACCESS) == -1) {
		*err = xasprintf("logs[%zu].dir: %s: %s", index, l->dir,
		    errno == EACCES ? "not writable" : strerror(errno));
		record_dir_fini(&s->d);
		free(s);
		return NULL;
	}
	s->base.ops = &sink_record_ops;
	s->base.redact = l->redact;
	s->max_files = l->max_files;
	s->max_bytes = l->max_bytes;
	s->max_file_bytes = l->max_file_bytes;
	s->nbuckets = RECORD_MIN_BUCKETS;
	s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
	TAILQ_INIT(&s->dirty);
	log_debug("record: %s holds %zu recordings, %zu bytes", s->d.path,
	    s->d.nfiles, s->d.total);
	return &s->base;
}
