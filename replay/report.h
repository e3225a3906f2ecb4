/* SPDX-License-Identifier: ISC */
/*
 * What a replay found, and its two renderings: a readable summary (one line
 * per recorded or live stanza that matters, the differences under it, the
 * counts and the verdict) and a JSON report for machines. Client mode
 * records each expected answer (matched, differs, missing), each recorded
 * stanza not expected (from another party or the server, and whether one
 * came anyway) and each extra live stanza; server mode each recorded client
 * stanza (seen or not) and each unexpected live one. It judges nothing: the
 * modes decide the statuses, report_ok() only counts them.
 */
#ifndef XMPPGATE_REPLAY_REPORT_H
#define XMPPGATE_REPLAY_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "recording.h"
#include "xnode.h"

enum report_mode {
	REPORT_CLIENT,
	REPORT_SERVER,
};

enum report_status {
	REPORT_MATCHED,     /* client: the expected answer came, equal */
	REPORT_DIFFERS,     /* client: it came, and differs */
	REPORT_MISSING,     /* client: it never came */
	REPORT_UNSOLICITED, /* client: recorded, not expected in a replay */
	REPORT_EXTRA,       /* client: came, matches nothing recorded */
	REPORT_SEEN,        /* server: the recorded client stanza came */
	REPORT_NOT_SEEN,    /* server: it never came */
	REPORT_UNEXPECTED,  /* server: the client sent what was not recorded */
};

struct report_entry {
	enum report_status status;
	unsigned long line; /* the recorded line; 0 for a live stanza */
	char *kind;         /* owned strings; NULL when absent */
	char *type;
	char *id;
	char *from;
	char *to;
	char *why;                /* the rule that classified it */
	unsigned long cause_line; /* expected answers: the line it answers */
	bool came;    /* UNSOLICITED: a stanza like it came anyway */
	char **diffs; /* DIFFERS: owned */
	size_t ndiffs;
	char *xml; /* the live stanza, brief (DIFFERS, EXTRA, UNEXPECTED) */
};

struct report {
	enum report_mode mode;
	char *recording; /* owned strings, NULL when unknown */
	char *session;
	char *recorded_jid;
	char *jid;  /* the live session's */
	char *peer; /* server address, or the client's */
	char *mechanism;
	char *tls;
	size_t sent;    /* stanzas sent to the peer */
	size_t skipped; /* recorded client elements not sent (client mode) */
	struct report_entry *e;
	size_t n;
	char **notes;
	size_t nnotes;
};

struct report *report_new(enum report_mode, const struct recording *);
void report_free(struct report *);
/* Replaces *field with a copy of value (NULL clears). */
void report_set(char **field, const char *value);
/*
 * Adds an entry described by el (kind, type, id, from, to; el may be NULL)
 * and returns it for the caller to complete (diffs, xml, came).
 */
struct report_entry *report_add(struct report *, enum report_status,
    const struct xnode *el, unsigned long line, const char *why);
/* Keeps a brief of the live element in the entry. */
void report_set_xml(struct report_entry *, const struct xnode *live);
void report_note(struct report *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t report_count(const struct report *, enum report_status);
/* Client: nothing differs or is missing. Server: all seen, none unexpected. */
bool report_ok(const struct report *);
const char *report_status_str(enum report_status);
void report_print(const struct report *, FILE *);
/* Writes the JSON report to path ("-": stdout). -1 with *err. */
int report_write_json(const struct report *, const char *path, char **err)
    __attribute__((warn_unused_result));

#endif
