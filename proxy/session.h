/* SPDX-License-Identifier: ISC */
/*
 * A session: one client stream relayed to the upstream. It owns its two conns
 * and its negotiation knowledge, holds a reference to the config it started
 * with, and ends exactly once through session_close(), which writes the
 * session.close event and frees everything once the legs have flushed.
 */
#ifndef XMPPGATE_SESSION_H
#define XMPPGATE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <sys/socket.h>

#include <event2/event.h>

#include "config.h"
#include "conn.h"
#include "events.h"
#include "nego.h"

enum session_state {
	SESSION_PROXY_HEADER, /* PROXY protocol listener: waiting for it */
	SESSION_CONNECTING,   /* upstream TCP connect pending */
	SESSION_NEGOTIATING,  /* streams open, SASL and bind not done */
	SESSION_ESTABLISHED,  /* the session's JID is known: idle timer */
	SESSION_CLOSING,      /* session_close() called: flushing legs */
};

enum session_reason {
	SESSION_REASON_CLIENT_CLOSED,
	SESSION_REASON_UPSTREAM_CLOSED,
	SESSION_REASON_CLIENT_DROPPED,
	SESSION_REASON_UPSTREAM_DROPPED,
	SESSION_REASON_CLIENT_ERROR,
	SESSION_REASON_UPSTREAM_ERROR,
	SESSION_REASON_UPSTREAM_UNREACHABLE,
	SESSION_REASON_CONNECT_TIMEOUT,
	SESSION_REASON_HANDSHAKE_TIMEOUT,
	SESSION_REASON_IDLE_TIMEOUT,
	SESSION_REASON_SHUTDOWN,
	SESSION_REASON_SESSION_LIMIT,
	SESSION_REASON_STREAM_ERROR,
	SESSION_REASON_CLIENT_TLS_FAILED,
	SESSION_REASON_UPSTREAM_TLS_FAILED,
	SESSION_REASON_POLICY,         /* a filter's close verdict */
	SESSION_REASON_PROXY_PROTOCOL, /* no valid PROXY header in time */
	/* transparent: the original destination is not allowed, or a loop */
	SESSION_REASON_DESTINATION_REFUSED,
	SESSION_REASON_RATE_LIMIT, /* refused at accept: a per-address limit */
	SESSION_NREASONS	   /* not a reason: how many there are */
};

struct session;
struct filter_chain;
struct smack_table;

/* What a session borrows from its owner (the proxy, or a test). */
struct session_env {
	struct event_base *base;
	struct evdns_base *dns;	 /* may be NULL when upstream bevs are given */
	struct events **events;	 /* borrowed: *events may change on reload */
	/* borrowed: the filter chain every stanza runs through, *chain may
	 * change on reload; NULL: the session's config's own chain */
	struct filter_chain **chain;
	/* borrowed: stream management states parked for resumption, shared
	 * by the sessions of one proxy; NULL: none kept */
	struct smack_table *smtab;
	/* Called once when the session ends (session.close is written); its
	 * sockets may linger a few seconds more. */
	void (*on_close)(void *arg, struct session *);
	/* Called once, just before the session's memory is freed. */
	void (*on_free)(void *arg, struct session *);
	void *arg;
};

/* What the listener's owner knows of an accepted connection. */
struct session_peer {
	/* The socket's peer: the client, or with the PROXY protocol the
	 * load balancer in front (the header then names the client). */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	struct sockaddr_storage local; /* the socket's own address */
	socklen_t local_len;
	/* Transparent listener: the client's original destination, where
	 * the session connects (dst_len 0 otherwise: upstream.address). */
	struct sockaddr_storage dst;
	socklen_t dst_len;
	/* Transparent: why dst may not be used (the client gets
	 * remote-connection-failed), or NULL. Borrowed for the call. */
	const char *refused;
};

/*
 * Starts a session for an accepted client. client is owned by the session
 * from here on; peer is copied; listener is the listener that accepted it
 * (copied). upstream is NULL to connect to peer->dst or else
 * cfg->upstream.address, or a ready bufferevent (tests, bufferevent_pair)
 * also owned from here on. On a PROXY protocol listener nothing is
 * announced or connected before the header has been read.
 * Always returns the session; when the upstream connect cannot even be
 * started, the client already got a stream error and the session is closing.
 */
struct session *session_new(const struct session_env *, struct config *cfg,
    const char *id, struct bufferevent *client, const struct session_peer *peer,
    const struct config_listen *listener, struct bufferevent *upstream);

/*
 * Ends the session with a reason: stops reading both legs, flushes what was
 * already accepted for forwarding (bounded by a linger timer), emits
 * session.close and frees the session. Idempotent; the caller must return
 * right after it without touching the session again.
 */
void session_close(struct session *, enum session_reason);
/* Sends system-shutdown to the client, closes the upstream stream cleanly,
 * then session_close(SHUTDOWN). */
void session_shutdown(struct session *);
/* The end of a shutdown's grace: session_close(SHUTDOWN) unless it was
 * closed already (so its session.close is written), then frees it now,
 * whatever its legs still hold. */
void session_free_now(struct session *);
/* SIGUSR1: one operator line on the session as it is now (client, state,
 * JID, age, bytes and stanzas each way, TLS on each leg). */
void session_log_status(const struct session *);
/* Ends a session the proxy refuses to serve (limit): header + error. */
void session_refuse(struct bufferevent *client, const char *condition,
    const char *text);

const char *session_reason_str(enum session_reason);
const char *session_state_str(enum session_state);
enum session_state session_state(const struct session *);

#endif
