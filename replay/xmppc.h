/* SPDX-License-Identifier: ISC */
/*
 * A small XMPP stream engine on libevent for the replay's two roles: one TCP
 * connection (connected by name, or accepted), optional TLS over it through
 * tlsio (direct, or STARTTLS at the exact byte after <proceed/> or
 * <starttls/>), the project's stream parser on what it reads, and restarts.
 * It reports the stream header, each element, the close and failures to its
 * owner, and writes what it is given. It has no idea of SASL, bind or
 * recordings: client.c and server.c drive it. Elements sent and received
 * are traced with -v, with secrets redacted.
 */
#ifndef XMPPGATE_REPLAY_XMPPC_H
#define XMPPGATE_REPLAY_XMPPC_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "xnode.h"

enum xmppc_fail {
	XMPPC_FAIL_CONNECT, /* the TCP connect failed */
	XMPPC_FAIL_EOF,     /* the peer closed the connection */
	XMPPC_FAIL_IO,      /* a socket error */
	XMPPC_FAIL_TLS,     /* the handshake or a record failed */
	XMPPC_FAIL_XML,     /* the peer's XML broke the rules */
};

struct xmppc_cbs {
	void (*on_connected)(void *arg);
	/* The peer's stream header (root borrowed for the call). */
	void (*on_open)(void *arg, const struct xnode *root);
	/* An element; the callee owns el. */
	void (*on_element)(void *arg, struct xnode *el);
	/* </stream:stream> from the peer. */
	void (*on_close)(void *arg);
	/* The TLS handshake completed. */
	void (*on_tls)(void *arg);
	/* The connection failed; why is borrowed for the call. */
	void (*on_fail)(void *arg, enum xmppc_fail, const char *why);
};

struct xmppc;

/*
 * Connects to host:port (the name resolved by the system resolver).
 * label names the peer in traces ("server", "client"). Returns NULL with
 * *err when the connect cannot even start.
 */
struct xmppc *xmppc_connect(struct event_base *, const char *host,
    unsigned port, const char *label, const struct xmppc_cbs *, void *arg,
    char **err) __attribute__((warn_unused_result));
/* Takes an accepted socket (owned from here on). */
struct xmppc *xmppc_accept(struct event_base *, int fd, const char *label,
    const struct xmppc_cbs *, void *arg);
void xmppc_free(struct xmppc *); /* NULL is a no-op */

/* Writes bytes (a header, a close): encrypted once TLS is up. */
void xmppc_send_raw(struct xmppc *, const char *data, size_t len);
/* Serializes el in the client stream's namespace and writes it. */
void xmppc_send(struct xmppc *, const struct xnode *el);
/*
 * Starts TLS with ssl (owned from here on; set to its role). Called from
 * on_element (after <proceed/> or <starttls/>): the bytes after that
 * element are TLS; otherwise at once (direct TLS). The parser is reset for
 * the stream that follows. Returns -1 with *err.
 */
int xmppc_start_tls(struct xmppc *, SSL *ssl, char **err)
    __attribute__((warn_unused_result));
/*
 * A stream restart (after SASL success): called from on_element, the
 * bytes after that element start a new stream; otherwise the parser resets
 * now.
 */
void xmppc_restart(struct xmppc *);
/*
 * Ends the stream: writes </stream:stream> unless written already, a TLS
 * close_notify, and shuts the write side down once the output is sent.
 */
void xmppc_close(struct xmppc *);
/* The TLS object once TLS started, else NULL. */
SSL *xmppc_ssl(struct xmppc *);
/* Whether the TLS handshake completed. */
bool xmppc_tls_up(const struct xmppc *);

#endif
