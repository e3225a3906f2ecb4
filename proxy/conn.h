/* SPDX-License-Identifier: ISC */
/*
 * One leg of a session: its bufferevent (always the plain socket), TLS over
 * it once a handshake starts (tlsio), the parser for the bytes read on it,
 * output held until the leg is ready, counters, and backpressure.
 * The conn, not the session, is the libevent callback argument, so no code
 * asks "which side am I". Reading hands bytes to the parser; the parser's
 * events go to relay.c; writing goes to the peer conn.
 */
#ifndef XMPPGATE_CONN_H
#define XMPPGATE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/bufferevent.h>

#include "tlsio.h"
#include "xmlstream.h"

/* Backpressure: stop reading a leg while its peer has more than
 * CONN_HIGH_WATER bytes queued for output; resume below CONN_LOW_WATER. */
#define CONN_HIGH_WATER (256 * 1024)
#define CONN_LOW_WATER (64 * 1024)

enum conn_side {
	CONN_CLIENT,   /* reads client-to-server bytes */
	CONN_UPSTREAM, /* reads server-to-client bytes */
};

/* What the bytes read on a leg are, in the order a leg goes through them. */
enum conn_phase {
	CONN_PROXY,    /* a client's PROXY protocol header comes first */
	CONN_PLAIN,    /* plaintext XML: parsed */
	CONN_TLS_NEXT, /* a client's TLS comes next (after <proceed/>, or a
	                * direct-TLS accept): whitespace, then a record */
	CONN_TLS,      /* TLS: decrypted, then parsed */
	CONN_OPAQUE,   /* passthrough past STARTTLS: relayed, never parsed */
};

struct session;

struct conn {
	struct session *session; /* borrowed: the owner */
	struct conn *peer;	 /* borrowed: the other leg */
	enum conn_side side;
	const char *dir;	 /* "c2s" or "s2c": direction of bytes read */
	struct bufferevent *bev; /* owned */
	struct xmlstream *xs;	 /* owned: parses what this leg reads */
	size_t max_bytes;	 /* the parser's element size limit */
	enum conn_phase phase;
	struct tlsio *tls;	 /* owned once a handshake starts */
	struct evbuffer *plain;	 /* owned: decrypted, not parsed yet */
	struct evbuffer *held;	 /* owned: relayed output until ready */
	bool ready;	    /* relayed bytes may go out (TLS is up if wanted) */
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
    struct bufferevent *, const struct xmlstream_cbs *,
    size_t max_element_bytes);
/* A fresh parser with other callbacks, for the stream that starts next. */
void conn_set_parser(struct conn *, const struct xmlstream_cbs *);
/* The parser's element size limit from now on (and for later parsers). */
void conn_set_max(struct conn *, size_t max_element_bytes);
void conn_fini(struct conn *);
/* Starts reading (and the libevent callbacks). */
void conn_start(struct conn *);
/* Queues relayed bytes for this leg (held until it is ready, encrypted
 * when it has TLS); throttles the peer leg's reading while this leg's
 * output is above the high-water mark. */
void conn_write(struct conn *, const void *, size_t);
/*
 * The proxy's own bytes (its STARTTLS answers, stream errors): into the
 * stream the peer is in now, plaintext before TLS, encrypted after it, and
 * dropped while a handshake is half done (there is no stream to put them in).
 */
void conn_write_local(struct conn *, const void *, size_t);
/* The leg may carry relayed bytes now: what was held goes out. */
void conn_set_ready(struct conn *);
/* Starts TLS on the leg (tls is owned from here on); the client role
 * sends its hello at once. Returns -1 when that fails. */
int conn_start_tls(struct conn *, struct tlsio *tls, bool client_role)
    __attribute__((warn_unused_result));
/* Ends TLS politely before the socket closes (close_notify). */
void conn_close_notify(struct conn *);
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
