/* SPDX-License-Identifier: ISC */
/*
 * One leg of a session: its bufferevent (plain now, a TLS filter stacked on
 * it later), the parser for the bytes read on it, counters, and backpressure.
 * The conn, not the session, is the libevent callback argument, so no code
 * asks "which side am I". Reading hands bytes to the parser; the parser's
 * events go to relay.c; writing goes to the peer conn.
 */
#ifndef XMPPGATE_CONN_H
#define XMPPGATE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/bufferevent.h>

#include "xmlstream.h"

/* Backpressure: stop reading a leg while its peer has more than
 * CONN_HIGH_WATER bytes queued for output; resume below CONN_LOW_WATER. */
#define CONN_HIGH_WATER (256 * 1024)
#define CONN_LOW_WATER (64 * 1024)

enum conn_side {
	CONN_CLIENT,   /* reads client-to-server bytes */
	CONN_UPSTREAM, /* reads server-to-client bytes */
};

struct session;

struct conn {
	struct session *session; /* borrowed: the owner */
	struct conn *peer;	 /* borrowed: the other leg */
	enum conn_side side;
	const char *dir;	 /* "c2s" or "s2c": direction of bytes read */
	struct bufferevent *bev; /* owned */
	struct xmlstream *xs;	 /* owned: parses what this leg reads */
	uint64_t bytes_in;
	bool connected;	    /* upstream: the TCP connect completed */
	bool throttled;	    /* reading paused: the peer's output is full */
	bool eof;	    /* reading ended: the peer closed or reset TCP */
	bool dead;	    /* writing failed too: nothing more reaches it */
	bool stream_closed; /* </stream:stream> was read on this leg */
	bool header_out;    /* a stream header was written to this leg */
	bool closed_out;    /* </stream:stream> was written: nothing follows */
	bool shut;	    /* closing: our write side is shut down */
	bool restart;	    /* reset the parser before parsing more */
};

void conn_init(struct conn *, struct session *, enum conn_side,
    struct bufferevent *, size_t max_element_bytes);
void conn_fini(struct conn *);
/* Starts reading (and the libevent callbacks). */
void conn_start(struct conn *);
/* Queues bytes for this leg's socket; throttles the peer leg's reading
 * while this leg's output is above the high-water mark. */
void conn_write(struct conn *, const void *, size_t);
/*
 * The session is ending: once this leg's output is written, half-close it and
 * discard what the peer still sends until it closes too (a socket closed
 * with unread input sends a reset, which can destroy a final stream error
 * before the peer reads it). Returns true when the leg has nothing left to
 * do; the linger timer bounds the wait.
 */
bool conn_linger(struct conn *);
/* Closing: keep reading (to discard) unless the leg already ended. */
void conn_drain_input(struct conn *);
/* Bytes waiting to be written to this leg. */
size_t conn_pending(const struct conn *);

#endif
