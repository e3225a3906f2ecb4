/* SPDX-License-Identifier: ISC */
/*
 * Test helper for the recording sink's tests: a fresh recording directory,
 * an events object with one record log in it, events fed to it with the
 * timestamps a test needs, and the recordings read back (the names in the
 * directory, a file's lines parsed, its size). One directory at a time, as
 * each test makes and removes its own. It checks nothing itself: the TAP
 * checks stay in the test programs, since tap.h counts per program.
 */
#ifndef XMPPGATE_RECTEST_H
#define XMPPGATE_RECTEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct events;

/* A session.open time, and the start in the names of its recordings. */
#define T0 "2026-11-25T07:18:25.465343Z"
#define T0_START "20261125T071825Z"

/* Makes a fresh, empty recording directory (exits on failure). */
void rectest_fresh_dir(void);
/* The directory, as made by rectest_fresh_dir(). */
const char *rectest_dir(void);
/* Removes the directory and the files in it. */
void rectest_remove_dir(void);

/* An events object with one record log in the directory; extra (may be
 * "") adds keys to the log's JSON object. Exits when the config fails. */
struct events *rectest_recorder(const char *extra);
/* ev stamped with ts instead of now (NULL: keep now); returns ev. */
cJSON *rectest_at(cJSON *ev, const char *ts);
/* Emits session.open of session id at ts (NULL: now). */
void rectest_emit_open(struct events *, const char *id, const char *ts);
/* A stanza event of direction dirn for xml; redacted, when not NULL, is
 * its redacted form. */
void rectest_emit_xml(struct events *, const char *id, const char *ts,
    const char *dirn, const char *xml, const char *redacted);
/* Event name, with one string field key (when not NULL) set to value. */
void rectest_emit_plain(struct events *, const char *name, const char *id,
    const char *ts, const char *key, const char *value);

/* The recordings in the directory, sorted, as one "a|b|c" string
 * (xmalloc'd). */
char *rectest_listing(void);
/* The path of name in the directory (xmalloc'd). */
char *rectest_path(const char *name);
/* The lines of one recording, parsed: a JSON array the caller deletes. */
cJSON *rectest_lines(const char *name);
/* The size of one recording in bytes ((size_t)-1 when it is missing). */
size_t rectest_size(const char *name);
/* Whether the i-th line is event name (and dir dirn, when not NULL). */
bool rectest_line_is(
    const cJSON *evs, int i, const char *name, const char *dirn);

#endif
