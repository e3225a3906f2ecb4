/* SPDX-License-Identifier: ISC */
/*
 * The session's fields and the functions its three files share: session.c
 * (lifecycle, state, timers, close), conn.c (one leg's I/O) and relay.c (what
 * happens to each parsed element). Nothing outside those files includes it.
 */
#ifndef XMPPGATE_SESSION_INT_H
#define XMPPGATE_SESSION_INT_H

#include <sys/time.h>

#include "session.h"

struct session {
	char id[32];
	struct session_env env; /* copied; its pointers are borrowed */
	struct config *cfg;	/* reference held until free */
	enum session_state state;
	enum session_reason reason; /* set by the first session_close() */
	struct conn client;	    /* reads c2s */
	struct conn upstream;	    /* reads s2c */
	struct nego nego;
	char *client_addr;   /* owned */
	char *listener_addr; /* owned */
	enum config_tls client_tls; /* the accepting listener's TLS mode */
	struct timeval started;
	time_t last_activity;	 /* for the idle timer */
	struct event *timer;	 /* owned: the current state's timeout */
	struct event *reaper;	 /* owned: frees the session after close */
	bool client_closed_first; /* the client sent </stream:stream> first */
	uint64_t stanzas_c2s, stanzas_s2c;
	uint64_t dropped, rewritten;
};

/* session.c */
void session_set_state(struct session *, enum session_state);
void session_touch(struct session *);
/* A leg saw TCP end (eof) or an error; may close the session. */
void session_on_leg_end(struct conn *, bool error);
/* The upstream TCP connection is up. */
void session_on_connected(struct session *);
/* One side ended its stream: wait a bounded time for the other side's. */
void session_await_close(struct session *);
/* A leg's pending output was written out (closing: maybe free now). */
void session_on_drained(struct session *);
/* Sends the proxy's stream error to one leg (with a header if it had none)
 * and records the stream.error event. Does not close. */
void session_stream_error(struct conn *to, const char *condition,
    const char *text, const char *app_xml);
/* Ends the upstream's stream with </stream:stream> if one was opened. */
void session_end_stream(struct conn *to);
struct events *session_events(const struct session *);

/* relay.c */
extern const struct xmlstream_cbs relay_cbs;
/* A parse error on c's input: stream errors and close. May close. */
void relay_parse_error(struct conn *c);

#endif
