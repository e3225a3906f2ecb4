/* SPDX-License-Identifier: ISC */
/*
 * The directory side of the recording sink (sink_record.c): how recordings
 * are named, which files of a directory are recordings (their number and
 * bytes, for the limits), finding a session's recording by its id, and
 * what an existing recording says about its session (start, last offset,
 * whether it was stopped) so that a new sink can append to it. Private to
 * the sink and its unit test.
 */
#ifndef XMPPGATE_RECORD_DIR_H
#define XMPPGATE_RECORD_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RECORD_SUFFIX ".jsonl"
#define RECORD_START_LEN 16 /* YYYYmmddTHHMMSSZ */
#define RECORD_ID_MAX 64    /* session ids are the proxy's, and short */
#define RECORD_JID_MAX 128  /* escaped bytes of the JID in a file name */

struct record_name;

struct record_dir {
	char *path;    /* owned: as configured, for messages */
	int dfd;       /* owned: the directory */
	size_t nfiles; /* recordings in it when opened */
	size_t total;  /* their bytes */
	/* Every recording by session id, sorted; listed at the first
	 * record_dir_find(). */
	struct record_name *names; /* owned array */
	size_t nnames;
	bool listed;
};

/* What an existing recording says; see record_dir_recover(). */
struct record_found {
	int fd;          /* open to append; -1 when stopped */
	int64_t t0_us;   /* the first line's ts, µs since the epoch */
	int64_t last_us; /* the last line's offset_s, in µs */
	size_t bytes;    /* the file's size */
	bool stopped;    /* it ends with record.truncated, or mid-line */
	char *jidpart;   /* xmalloc'd JID part of the name, or NULL */
	char start[RECORD_START_LEN + 1];
};

/* Opens path and counts the recordings in it. Returns -1 with errno. */
int record_dir_open(struct record_dir *, const char *path);
void record_dir_fini(struct record_dir *);
/* The name of the recording of the session whose escaped id is eid, or
 * NULL. Names the sink made itself after the first call are not listed. */
const char *record_dir_find(struct record_dir *, const char *eid);
/* Opens the recording name to append and reads its state. Returns -1 when
 * it is not one to continue (not a regular file, no ts on its first line). */
int record_dir_recover(
    struct record_dir *, const char *name, struct record_found *);

/*
 * Appends p (n bytes) to out made safe for a file name: bytes outside
 * [A-Za-z0-9@._+] ('-' too unless dash_ok), and a leading '.', become %XX
 * (so UTF-8 becomes %C3%A9); at most max bytes, cut before an escape that
 * would not fit.
 */
void record_escape(
    struct buf *out, const char *p, size_t n, bool dash_ok, size_t max);
/* Whether name is a recording's; *id_off and *id_len place its session id. */
bool record_is_name(const char *name, size_t *id_off, size_t *id_len);
/* An event's ts ("YYYY-mm-ddTHH:MM:SS.uuuuuuZ") in µs since the epoch;
 * -1 for anything else. */
int record_ts_us(const char *ts, int64_t *us);
/* out (RECORD_START_LEN + 1 bytes) = "YYYYmmddTHHMMSSZ" of a ts that
 * record_ts_us() accepted. */
void record_start(char *out, const char *ts);

#endif
