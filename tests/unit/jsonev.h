/* SPDX-License-Identifier: ISC */
/*
 * Reading back the JSON event log a test session wrote: the file as text,
 * or parsed into a cJSON array in order, and small queries on it (find an
 * event by name, direction and kind, count them, read a field). Queries
 * answer true or false and explain a surprise in a TAP diagnostic; the
 * checks themselves stay in the test programs, since tap.h counts per
 * program.
 */
#ifndef XMPPGATE_JSONEV_H
#define XMPPGATE_JSONEV_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* The whole file, xmalloc'd; "" when it does not exist. */
char *jsonev_text(const char *path);
/* Every line of the file parsed, in order: a JSON array the caller deletes.
 * A line that does not parse is left out, with a diagnostic. */
cJSON *jsonev_load(const char *path);

/* Field key of one event as a string, or NULL when it is not one. */
const char *jsonev_str(const cJSON *ev, const char *key);
bool jsonev_null(const cJSON *ev, const char *key);
bool jsonev_true(const cJSON *ev, const char *key);
bool jsonev_false(const cJSON *ev, const char *key);
/* Whether field key is the string want. */
bool jsonev_eq(const cJSON *ev, const char *key, const char *want);
/* close's bytes.<dir> (dir "c2s" or "s2c"), or -1 when absent. */
double jsonev_bytes(const cJSON *close, const char *dir);

/* Index of the first event from `from` on named name (with that dir and
 * kind when not NULL); -1 when none. */
int jsonev_find(const cJSON *evs, int from, const char *name, const char *dir,
    const char *kind);
/* How many events match, as for jsonev_find(). */
int jsonev_count(
    const cJSON *evs, const char *name, const char *dir, const char *kind);
/* The only event named name; NULL (and a diagnostic) unless exactly one. */
const cJSON *jsonev_one(const cJSON *evs, const char *name);
/* Every event as a diagnostic line. */
void jsonev_dump(const cJSON *evs);
/* Whether no event anywhere carries the text s. */
bool jsonev_lacks(const cJSON *evs, const char *s);
/* Whether the one session.close has reason; dumps the events when not. */
bool jsonev_closed_for(const cJSON *evs, const char *reason);
/* Whether the one session.close has a detail containing s; shows the
 * detail when not. */
bool jsonev_close_detail_has(const cJSON *evs, const char *s);

#endif
