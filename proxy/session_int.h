/* SPDX-License-Identifier: ISC */
/*
 * The session's fields and the functions its three files share: session.c
 * (lifecycle, state, timers, close), conn.c (one leg's I/O) and relay.c (what
 * happens to each parsed element). Nothing outside those files includes it.
 */
#ifndef XMPPGATE_SESSION_INT_H
#define XMPPGATE_SESSION_INT_H

#include <sys/time.h>

#include "filter.h"
#include "muc.h"
#include "proxyproto.h"
#include "session.h"
#include "smack.h"

struct session {
	char id[32];
	struct session_env env; /* copied; its pointers are borrowed */
	struct config *cfg;	/* reference held until free */
	enum session_state state;
	enum session_reason reason; /* set by the first session_close() */
	struct conn client;	    /* reads c2s */
	struct conn upstream;	    /* reads s2c */
	struct nego nego;
	char *client_addr;   /* owned: the real client ("ADDR:PORT") */
	char *listener_addr; /* owned */
	char *upstream_addr; /* owned: where the upstream leg goes */
	char *via_addr;      /* owned or NULL: the PROXY protocol's sender */
	/* The real client, and the address it connected to (the listener's,
	 * a PROXY header's destination, or the original destination): what
	 * an upstream PROXY header says. */
	struct sockaddr_storage client_sa, target_sa;
	socklen_t client_len, target_len;
	struct sockaddr_storage dst_sa; /* transparent: connect here */
	socklen_t dst_len;              /* 0: upstream.address */
	unsigned proxy_versions;        /* PROXY header awaited: PROXYPROTO_* */
	bool opened;                    /* session.open was written */
	bool client_known; /* false until a PROXY listener read the header */
	enum config_tls client_tls; /* the accepting listener's TLS mode */
	bool client_tls_required;   /* starttls: the offer says <required/> */
	/* Optional STARTTLS: the client's plaintext stream is relayed, with
	 * the proxy's own offer, until it asks for TLS or authenticates. */
	bool client_pre_tls;
	bool passthrough_open; /* passthrough: the server said <proceed/> */
	struct timeval started;
	uint64_t connect_started; /* metrics_now_ns() at the upstream connect
	                           * in progress, 0 when none is */
	time_t last_activity;	 /* for the idle timer */
	struct event *timer;	 /* owned: the current state's timeout */
	struct event *reaper;	 /* owned: frees the session after close */
	bool client_closed_first; /* the client sent </stream:stream> first */
	bool upstream_started;	  /* the upstream's TLS or STARTTLS began */
	char *detail;		  /* owned: what exactly ended the session */
	char *sni;		  /* owned: server name a direct-TLS client sent */
	char tls_client[24];	  /* for the close log: the mode, and after a
				   * handshake its version: "direct:TLSv1.3" */
	char tls_upstream[24];
	uint64_t stanzas_c2s, stanzas_s2c;
	uint64_t dropped, rewritten;
	struct muc muc;		   /* rooms learned, for bounces */
	struct smack *sm;	   /* owned: stream management counts */
	struct filter_tally tally; /* matches per rule, for session.close */
};

/* session.c */
void session_set_state(struct session *, enum session_state);
/* The element size limit for both legs now: limits.preauth_stanza_bytes
 * until the server accepted the client's authentication, then
 * limits.max_stanza_bytes. */
size_t session_element_limit(const struct session *);
void session_touch(struct session *);
/* A leg saw TCP end (eof) or an error; may close the session. */
void session_on_leg_end(struct conn *, bool error);
/* The upstream TCP connection is up. */
void session_on_connected(struct session *);
/* The client's PROXY header was read: announce, then connect. May close. */
void session_on_proxy_header(struct session *, const struct proxyproto_hdr *);
/* No valid PROXY header: closes without a stream error (the peer is a load
 * balancer, not an XMPP client). */
void session_proxy_failed(struct session *, const char *why);
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

/* Records what exactly ended the session, for session.close (first wins). */
void session_set_detail(struct session *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* session_peer.c */
/* Addresses from the accepted connection and the listener. */
void session_peer_init(struct session *, const struct session_peer *,
    const struct config_listen *);
/* Writes session.open once (session_close writes it if nothing did). */
void session_emit_open(struct session *);
/* Starts the TCP connect of the upstream leg, its PROXY header queued
 * first. Returns -1 when the address cannot be used. */
int session_connect(struct session *);
/* session_connect, or for a ready-made upstream leg only the header. */
int session_upstream_begin(struct session *);
/* Transparent: the original destination may not be used. Closes. */
void session_refuse_destination(struct session *, const char *why);

/* session_tls.c */
/* Starts TLS on a leg whose handshake comes next. -1: failed, closing. */
int session_tls_begin(struct conn *);
/* A leg's handshake finished: checks, events, then the leg is ready. */
void session_tls_up(struct conn *);
/* A leg's TLS failed (handshake, garbage, refused STARTTLS): closes. */
void session_tls_failed(struct conn *, const char *why);
/* Opens the upstream leg's TLS once it is connected, the client leg is
 * ready and the domain is known; does nothing for upstream tls none. */
void session_upstream_start(struct session *);
/* Passthrough: the server said <proceed/>; the rest is opaque. */
void session_passthrough(struct session *);
/*
 * Optional STARTTLS: the client took the offer after its plaintext stream
 * was relayed. The upstream's stream cannot restart with TLS on the
 * client's side, so the upstream leg is closed and connected afresh for the
 * post-TLS stream. May close the session.
 */
void session_upstream_reconnect(struct session *);

/* starttls.c: the proxy's own STARTTLS, toward the client as the server
 * and toward the upstream as the client. */
extern const struct xmlstream_cbs starttls_client_cbs;
extern const struct xmlstream_cbs starttls_upstream_cbs;
/* Sends the proxy's pre-TLS stream header to the upstream. */
void starttls_upstream_begin(struct session *);

/* relay.c */
extern const struct xmlstream_cbs relay_cbs;
/* What a stanza event says beyond the element itself. */
struct relay_note {
	enum filter_verdict verdict;
	const struct filter_result *res; /* NULL: no filter looked */
	const char *orig;		 /* rewrite: the bytes before it */
	size_t orig_len;
	const struct xnode *orig_redacted; /* their tree with secrets
					    * replaced, NULL if none */
	bool injected;			 /* the proxy's own element */
};
/* The stanza event for el as it travels in c's direction (c->dir). */
void relay_emit_element(struct conn *c, const struct xnode *el,
    const char *xml, size_t len, const struct relay_note *);

/* relay_policy.c */
/* The filter chain's verdict for a stanza read on c, applied: forwarded,
 * rewritten, dropped, bounced or closed. Owns nothing of el. Returns
 * XMLSTREAM_STOP when the session closed. */
int relay_policy(struct conn *c, struct xnode *el, const char *bytes,
    size_t len);
/* A parse error on c's input: stream errors and close. May close. */
void relay_parse_error(struct conn *c);

#endif
