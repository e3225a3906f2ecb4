/* SPDX-License-Identifier: ISC */
/*
 * Events: data with a schema (DESIGN.md "Events"), built as cJSON objects and
 * handed to every configured sink. This module owns the sinks and stamps each
 * event with ts, event and session; it knows nothing about sessions.
 */
#ifndef XMPPGATE_EVENTS_H
#define XMPPGATE_EVENTS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "sink.h"

struct events;

struct event_base;

/*
 * Builds the sinks of cfg->logs, plus a trace sink on stdout when trace.
 * base, when not NULL, runs the batched flush (events_flush_soon).
 */
struct events *events_new(const struct config *cfg, bool trace,
    struct event_base *base, char **err);
void events_free(struct events *);
void events_reopen(struct events *);
void events_flush(struct events *);
/* Flushes once at the end of this event-loop turn, however many callers ask
 * (at once when there is no base). */
void events_flush_soon(struct events *);

/* True when at least one sink listens: the per-element path skips building
 * events otherwise. */
bool events_active(const struct events *);
/* A new event object with ts (RFC 3339 UTC, microseconds), event, session. */
cJSON *events_begin(const char *event, const char *session_id);
/* Sends ev to every sink and frees it. x may be NULL. */
void events_emit(struct events *, cJSON *ev, const struct event_xml *x);

#endif
