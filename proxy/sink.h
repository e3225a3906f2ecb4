/* SPDX-License-Identifier: ISC */
/*
 * Event sinks: where events go. A sink receives each event as a cJSON object
 * (without the element's XML) plus the element itself, and decides how to
 * write it: the JSON-lines sink adds the "xml" field, redacted or not as it
 * was configured; the trace sink prints a human-readable, indented view;
 * the record sink writes one file per session.
 */
#ifndef XMPPGATE_SINK_H
#define XMPPGATE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "xnode.h"

/* The element an event is about; every pointer is borrowed for the call. */
struct event_xml {
	const char *xml; /* the bytes as forwarded (original or re-serialized) */
	size_t len;
	const char *redacted; /* xml with secrets replaced; NULL: none held */
	const struct xnode *tree;	   /* parsed element or NULL (headers) */
	const struct xnode *redacted_tree; /* tree with secrets replaced, or NULL */
	/* A rewritten element: its bytes before the rewrite (NULL: not
	 * rewritten), and those bytes with secrets replaced (NULL: none). */
	const char *original;
	size_t original_len;
	const char *original_redacted;
};

struct sink;

struct sink_ops {
	/* ev may be modified by the sink (e.g. to add "xml") but not freed. */
	void (*emit)(struct sink *, cJSON *ev, const struct event_xml *x);
	/* Reopens files (SIGHUP). Returns -1 with a log line on failure. */
	int (*reopen)(struct sink *);
	void (*flush)(struct sink *);
	void (*free)(struct sink *);
};

struct sink {
	const struct sink_ops *ops;
	bool redact; /* secrets replaced (default); false only when configured */
};

/*
 * The element's "xml" and "original_xml" fields as the JSON-lines sinks
 * write them: the redacted form when redact and there is one, the bytes
 * otherwise. sink_xml_add() adds them to ev, referencing x's text or
 * copies it keeps in hold; sink_xml_remove() takes them out and frees the
 * copies, so that the next sink gets ev as it came.
 */
void sink_xml_add(cJSON *ev, const struct event_xml *x, bool redact,
    char *hold[2]);
void sink_xml_remove(cJSON *ev, char *hold[2]);

/* JSON lines to path, or stdout when path is NULL or "-". */
struct sink *sink_json_new(const char *path, bool redact, char **err);
/* Live human-readable trace to out; colour when color is true. */
struct sink *sink_trace_new(FILE *out, bool color);
struct config_log;
/* One recording per session in l->dir (sink_record.c). Errors name
 * logs[index].dir. */
struct sink *sink_record_new(const struct config_log *l, size_t index,
    char **err);

#endif
