/* SPDX-License-Identifier: ISC */
/*
 * Direct TLS for xg-bench (XEP-0368 style: TLS from the first byte, SNI and
 * ALPN "xmpp-client"): one client context that verifies the server against a
 * given CA file and the name "localhost", one sink context with a certificate
 * and key, and the bufferevents built on them. Without a context the same
 * calls give plain TCP bufferevents, so the modes of xg-bench do not care
 * which they have. The client never resumes a session: every connection is
 * a full handshake. Nothing here is shared with xmppgate.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <event2/bufferevent_ssl.h>

#include "xg-bench.h"

#define BEV_OPTS (BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)

static SSL_CTX *client_ctx; /* owned; NULL: clients use plain TCP */
static SSL_CTX *sink_ctx;   /* owned; NULL: the sink uses plain TCP */
/* ALPN wire format: one length-prefixed protocol name. */
static const unsigned char alpn_xmpp[] = "\x0bxmpp-client";
/* Not const: OpenSSL's SNI macro casts the const away (-Wcast-qual). */
static char sni_name[] = BENCH_DOMAIN;

static void
fail_ssl(const char *what)
{
	char err[256];

	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	fail("%s: %s", what, err);
}

/* Clients verify the peer's chain against cafile and the name localhost. */
void
btls_client_init(const char *cafile)
{
	if ((client_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fail_ssl("SSL_CTX_new");
	if (!SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION))
		fail_ssl("min_proto_version");
	if (SSL_CTX_load_verify_locations(client_ctx, cafile, NULL) != 1)
		fail_ssl(cafile);
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
	/* OpenSSL 3 calls a close without close_notify an error; libevent
	 * 2.1 expects the EOF of older versions. */
	SSL_CTX_set_options(client_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(client_ctx, SSL_SESS_CACHE_OFF);
}

int
btls_client_on(void)
{
	return client_ctx != NULL;
}

/* The sink agrees to xmpp-client when offered, and goes on without ALPN. */
static int
sink_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_xmpp,
	        sizeof(alpn_xmpp) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

void
btls_sink_init(const char *cert, const char *key)
{
	if ((sink_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fail_ssl("SSL_CTX_new");
	if (!SSL_CTX_set_min_proto_version(sink_ctx, TLS1_2_VERSION))
		fail_ssl("min_proto_version");
	if (SSL_CTX_use_certificate_chain_file(sink_ctx, cert) != 1)
		fail_ssl(cert);
	if (SSL_CTX_use_PrivateKey_file(sink_ctx, key, SSL_FILETYPE_PEM) != 1)
		fail_ssl(key);
	if (SSL_CTX_check_private_key(sink_ctx) != 1)
		fail_ssl("certificate and key do not match");
	SSL_CTX_set_alpn_select_cb(sink_ctx, sink_alpn_cb, NULL);
	SSL_CTX_set_options(sink_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

/*
 * A client bufferevent, not yet connected: TLS on top when a client context
 * is set. The caller sets callbacks, then calls bench_bev_connect.
 */
struct bufferevent *
bench_bev_new(void)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (client_ctx == NULL) {
		if ((bev = bufferevent_socket_new(base, -1, BEV_OPTS)) == NULL)
			fail("bufferevent_socket_new failed");
		return bev;
	}
	if ((ssl = SSL_new(client_ctx)) == NULL)
		fail_ssl("SSL_new");
	if (SSL_set_tlsext_host_name(ssl, sni_name) != 1 ||
	    SSL_set1_host(ssl, BENCH_DOMAIN) != 1 ||
	    SSL_set_alpn_protos(ssl, alpn_xmpp, sizeof(alpn_xmpp) - 1) != 0)
		fail_ssl("SSL settings");
	bev = bufferevent_openssl_socket_new(
	    base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPTS);
	if (bev == NULL)
		fail("bufferevent_openssl_socket_new failed");
	/* A peer that closes without close_notify is an EOF, not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * Starts the TCP connect (the TLS handshake follows by itself). Nagle is
 * turned off before the handshake: its flights are several small writes.
 */
void
bench_bev_connect(struct bufferevent *bev, const struct sockaddr *sa, int salen)
{
	if (bufferevent_socket_connect(bev, sa, salen) != 0)
		fail("connect failed");
	set_nodelay(bufferevent_getfd(bev));
}

/* The sink's bufferevent for an accepted socket, TLS when configured. */
struct bufferevent *
bench_bev_accept(evutil_socket_t fd)
{
	struct bufferevent *bev;
	SSL *ssl;

	set_nodelay(fd);
	if (sink_ctx == NULL) {
		if ((bev = bufferevent_socket_new(base, fd, BEV_OPTS)) == NULL)
			fail("bufferevent_socket_new failed");
		return bev;
	}
	if ((ssl = SSL_new(sink_ctx)) == NULL)
		fail_ssl("SSL_new");
	bev = bufferevent_openssl_socket_new(
	    base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPTS);
	if (bev == NULL)
		fail("bufferevent_openssl_socket_new failed");
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * Frees a bufferevent at the end of an orderly session: TLS ones send their
 * close_notify first, as a real peer does. Only when nothing is left to write.
 */
void
bench_bev_close(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	/* Leave no error on the thread's queue for another connection. */
	if (ssl != NULL && SSL_is_init_finished(ssl)) {
		(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
	bufferevent_free(bev);
}

/*
 * Writes what the TLS layer of bev negotiated ("tls=TLSv1.3 cipher=...
 * alpn=..."), or "tls=none" for plain TCP. Fails when a client connection
 * is not verified: the benchmark only counts handshakes that would pass.
 */
void
btls_describe(struct bufferevent *bev, char *buf, size_t size)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	const unsigned char *proto;
	unsigned int plen;
	long vr;

	if (ssl == NULL) {
		snprintf(buf, size, "tls=none");
		return;
	}
	if (!SSL_is_server(ssl) &&
	    (vr = SSL_get_verify_result(ssl)) != X509_V_OK)
		fail("the server certificate did not verify: %s",
		    X509_verify_cert_error_string(vr));
	SSL_get0_alpn_selected(ssl, &proto, &plen);
	snprintf(buf, size, "tls=%s cipher=%s alpn=%.*s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl), plen > 0 ? (int)plen : 4,
	    plen > 0 ? (const char *)proto : "none");
}

/*
 * Why a bufferevent failed: the TLS error if there is one, else errno. It
 * takes the TLS error off the bufferevent: call it once per failure.
 */
const char *
bench_bev_error(struct bufferevent *bev, short what)
{
	static char buf[256];
	unsigned long e = bufferevent_get_openssl_error(bev);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (what & BEV_EVENT_EOF)
		return "connection closed";
	if (e == 0)
		return evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
	if (ssl != NULL && !SSL_is_server(ssl) &&
	    SSL_get_verify_result(ssl) != X509_V_OK)
		snprintf(buf, sizeof(buf), "TLS: certificate: %s",
		    X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
	else {
		char err[200];

		ERR_error_string_n(e, err, sizeof(err));
		snprintf(buf, sizeof(buf), "TLS: %s", err);
	}
	return buf;
}
