/* SPDX-License-Identifier: ISC */
/*
 * The test's own TLS on the far end of a bufferevent pair: an OpenSSL
 * client or server on memory BIOs, pumped by the test between loop turns.
 * Deliberately not tlsio, so the proxy's TLS plumbing meets an independent
 * peer. It records what went wrong instead of checking anything.
 */
#ifndef XMPPGATE_TLSPEER_H
#define XMPPGATE_TLSPEER_H

#include <stdbool.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>

struct tlspeer {
	SSL *ssl;     /* owned */
	BIO *rb, *wb; /* borrowed from ssl */
	bool up;      /* handshake finished */
	bool failed;
	bool closed;            /* close_notify received */
	char err[256];          /* what failed, when failed */
	struct evbuffer *plain; /* owned: decrypted, not taken yet */
};

/*
 * A client (sni and alpn may be NULL; alpn in wire format) or server SSL
 * from ctx. A client verifies its peer's certificate for sni. Exits 99
 * when OpenSSL cannot set it up.
 */
struct tlspeer *tlspeer_new(SSL_CTX *ctx, bool client, const char *sni,
    const unsigned char *alpn, unsigned alpn_len);
void tlspeer_free(struct tlspeer *); /* NULL is a no-op */
/* A client's first flight (the ClientHello) into out. */
void tlspeer_hello(struct tlspeer *, struct evbuffer *out);
/*
 * Feeds what bev read to OpenSSL: the handshake, then decrypted bytes into
 * plain; what OpenSSL answers goes out through bev.
 */
void tlspeer_pump(struct tlspeer *, struct bufferevent *bev);
/* Encrypts s and writes it out through bev. */
void tlspeer_send(struct tlspeer *, struct bufferevent *bev, const char *s);

#endif
