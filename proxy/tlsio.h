/* SPDX-License-Identifier: ISC */
/*
 * TLS for one leg over memory BIOs: ciphertext goes in and out through
 * evbuffers the caller owns, plaintext comes out into another. The conn
 * decides which bytes are TLS (so the plaintext/TLS boundary of STARTTLS is
 * exact and bytes already read are never lost), keeps its own backpressure,
 * and never hands a socket to OpenSSL.
 */
#ifndef XMPPGATE_TLSIO_H
#define XMPPGATE_TLSIO_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <openssl/ssl.h>

/* tlsio_input() results, a bit set; -1 is a failure (see tlsio_error). */
#define TLSIO_ESTABLISHED 0x1 /* the handshake completed in this call */
#define TLSIO_CLOSED 0x2      /* the peer sent close_notify */

struct tlsio;

/* Takes ownership of ssl, already set to its role (accept or connect). */
struct tlsio *tlsio_new(SSL *ssl);
void tlsio_free(struct tlsio *); /* NULL is a no-op */
/* Client role: writes the ClientHello to out. -1 on failure. */
int tlsio_start(struct tlsio *, struct evbuffer *out)
    __attribute__((warn_unused_result));
/*
 * Consumes all of in: advances the handshake, decrypts application data into
 * plain, and appends what OpenSSL must send (handshake, alerts, tickets) to
 * out. Returns TLSIO_* bits, or -1 when the connection failed.
 */
int tlsio_input(struct tlsio *, struct evbuffer *in, struct evbuffer *plain,
    struct evbuffer *out) __attribute__((warn_unused_result));
/* Encrypts len bytes into out; only once established. -1 on failure. */
int tlsio_write(struct tlsio *, const void *, size_t, struct evbuffer *out)
    __attribute__((warn_unused_result));
/* Appends a close_notify alert to out (best effort). */
void tlsio_close_notify(struct tlsio *, struct evbuffer *out);
bool tlsio_established(const struct tlsio *);
SSL *tlsio_ssl(struct tlsio *);
/* Why the last call failed: OpenSSL's reason, or the certificate check's. */
const char *tlsio_error(const struct tlsio *);

#endif
