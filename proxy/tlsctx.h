/* SPDX-License-Identifier: ISC */
/*
 * OpenSSL contexts for both legs: a server context from a configured cert and
 * key, server contexts forged per domain from a configured CA, and a client
 * context for the upstream leg with verification on by default. Also reads
 * back what a finished handshake negotiated. No sockets, no libevent, no
 * session state: the session code creates SSL objects from these contexts.
 */
#ifndef XMPPGATE_TLSCTX_H
#define XMPPGATE_TLSCTX_H

#include <stdbool.h>

#include <openssl/ssl.h>

struct tlsctx;

/* The ALPN protocol of XEP-0368 direct TLS for client-to-server streams. */
#define TLSCTX_ALPN_XMPP_CLIENT "xmpp-client"

/* Forged certificates kept per forging tlsctx before the oldest is dropped. */
#define TLSCTX_FORGE_CACHE_MAX 1024

/* Protocol choices from the config, applied to every context of a tlsctx. */
struct tlsctx_policy {
	int min_version;	  /* TLS1_2_VERSION or TLS1_3_VERSION */
	const char *ciphers;	  /* TLS 1.2 cipher list, NULL: OpenSSL's */
	const char *ciphersuites; /* TLS 1.3 suites, NULL: OpenSSL's */
};

/* What a handshake negotiated, for the `tls` event; "" where unknown. */
struct tlsctx_info {
	char version[16];	 /* "TLSv1.3" */
	char cipher[64];	 /* "TLS_AES_256_GCM_SHA384" */
	char sni[256];		 /* sent (client side) or received (server) */
	char alpn[64];		 /* negotiated protocol */
	char peer_subject[512];	 /* RFC 2253 one line, truncated */
	bool verified;		 /* peer cert present, checked and valid */
	char verify_error[128];	 /* why not verified; "" when verified */
};

/*
 * A server context from a PEM chain (leaf first) and its key; the key must
 * match the leaf. Warns when the key file is open to group or others.
 * Returns NULL with *err (free it) on failure.
 */
struct tlsctx *tlsctx_server_new(const char *cert_file, const char *key_file,
    char **err) __attribute__((warn_unused_result));
/*
 * A forging context: a CA cert and key from which a leaf per domain is made
 * on demand (tlsctx_server_ctx). Returns NULL with *err on failure.
 */
struct tlsctx *tlsctx_forge_new(const char *ca_cert_file,
    const char *ca_key_file, char **err) __attribute__((warn_unused_result));
/*
 * A client context: TLS 1.2+, verification against ca_file, or the system
 * store when ca_file is NULL; verify false turns checking off (the caller
 * warns per session). Returns NULL with *err on failure.
 */
struct tlsctx *tlsctx_client_new(bool verify, const char *ca_file,
    char **err) __attribute__((warn_unused_result));
void tlsctx_free(struct tlsctx *);
/*
 * Applies a policy to the context and to every one forged from it later.
 * Returns -1 with *err when OpenSSL rejects a cipher list.
 */
int tlsctx_set_policy(struct tlsctx *, const struct tlsctx_policy *,
    char **err) __attribute__((warn_unused_result));

/*
 * Forging: the domain to forge for when a direct-TLS client sends no SNI
 * (one connecting to an IP address); ignored unless a DNS name. Without it
 * such a handshake is refused.
 */
void tlsctx_set_default_domain(struct tlsctx *, const char *domain);
/*
 * The context to SSL_new from: the client or configured-cert one; for a
 * forging tlsctx, a front context that picks the forged one by SNI during
 * the handshake (direct TLS). Where the domain is known before the
 * handshake (STARTTLS: the stream 'to'), use tlsctx_server_ctx instead.
 */
SSL_CTX *tlsctx_ctx(struct tlsctx *);
/*
 * The server context for domain: the configured one, or a forged one from
 * the cache. The pointer is borrowed and may be dropped from the cache on a
 * later call: SSL_new it at once (the SSL keeps its own reference). Returns
 * NULL with *err for a domain that is not a DNS name or a forging failure.
 */
SSL_CTX *tlsctx_server_ctx(struct tlsctx *, const char *domain, char **err)
    __attribute__((warn_unused_result));
/*
 * Readies a client SSL for domain: SNI (sni, else domain; none for an IP
 * literal), the reference identity when the context verifies, and ALPN from
 * the NULL-terminated list alpn (may be NULL). Returns -1 with *err.
 */
int tlsctx_client_prepare(SSL *ssl, const char *domain, const char *sni,
    const char **alpn, char **err) __attribute__((warn_unused_result));

/* Fills out from a (finished) handshake on either side. */
void tlsctx_describe(SSL *ssl, struct tlsctx_info *out);
/* Whether a private key file is closed to group and others (or unreadable). */
bool tlsctx_key_mode_ok(const char *path);
/* Whether s is a DNS name we forge for: 1-253 chars, LDH labels of 1-63. */
bool tlsctx_domain_ok(const char *s);
/*
 * The last entry of OpenSSL's error queue as text, and clears the queue.
 * Points to a static buffer, valid until the next call.
 */
const char *tlsctx_error(void);

#endif
