/* SPDX-License-Identifier: ISC */
/*
 * The test's TLS peer: OpenSSL on two memory BIOs, ciphertext moved to and
 * from a bufferevent by hand. A failure is kept in the peer (failed, err)
 * for the test to report, never fatal, since making the proxy's peer fail is
 * what many tests are about.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "xmalloc.h"

#include "tlspeer.h"

struct tlspeer *
tlspeer_new(SSL_CTX *ctx, bool client, const char *sni,
    const unsigned char *alpn, unsigned alpn_len)
{
	struct tlspeer *p = xcalloc(1, sizeof(*p));
	char name[256];

	p->ssl = SSL_new(ctx);
	p->rb = BIO_new(BIO_s_mem());
	p->wb = BIO_new(BIO_s_mem());
	p->plain = evbuffer_new();
	if (p->ssl == NULL || p->rb == NULL || p->wb == NULL ||
	    p->plain == NULL)
		exit(99);
	BIO_set_mem_eof_return(p->rb, -1);
	SSL_set_bio(p->ssl, p->rb, p->wb);
	if (!client) {
		SSL_set_accept_state(p->ssl);
		return p;
	}
	SSL_set_connect_state(p->ssl);
	/* SSL_set_tlsext_host_name casts its argument to void *: a copy */
	snprintf(name, sizeof(name), "%s", sni != NULL ? sni : "");
	if (sni != NULL && (SSL_set_tlsext_host_name(p->ssl, name) != 1 ||
	                       SSL_set1_host(p->ssl, sni) != 1))
		exit(99);
	if (alpn != NULL && SSL_set_alpn_protos(p->ssl, alpn, alpn_len) != 0)
		exit(99);
	return p;
}

void
tlspeer_free(struct tlspeer *p)
{
	if (p == NULL)
		return;
	SSL_free(p->ssl);
	evbuffer_free(p->plain);
	free(p);
}

/* Moves what OpenSSL wrote to out. */
static void
tlspeer_flush(struct tlspeer *p, struct evbuffer *out)
{
	char b[4096];
	int n;

	while ((n = BIO_read(p->wb, b, sizeof(b))) > 0)
		evbuffer_add(out, b, (size_t)n);
}

/* Remembers why OpenSSL gave up in what (r from the failed call). */
static void
tlspeer_fail(struct tlspeer *p, const char *what, int r)
{
	unsigned long e = ERR_peek_last_error();
	char reason[200];

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "SSL error %d",
		    SSL_get_error(p->ssl, r));
	snprintf(p->err, sizeof(p->err), "%s: %s", what, reason);
	p->failed = true;
	ERR_clear_error();
}

void
tlspeer_hello(struct tlspeer *p, struct evbuffer *out)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(p->ssl);
	if (r != 1 && SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_READ)
		tlspeer_fail(p, "hello", r);
	tlspeer_flush(p, out);
}

void
tlspeer_pump(struct tlspeer *p, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char b[4096];
	int n, r, e;

	if (p->failed)
		return;
	ERR_clear_error();
	while ((n = evbuffer_remove(in, b, sizeof(b))) > 0)
		if (BIO_write(p->rb, b, n) != n)
			exit(99);
	if (!p->up) {
		r = SSL_do_handshake(p->ssl);
		if (r == 1)
			p->up = true;
		else if (SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_READ)
			tlspeer_fail(p, "handshake", r);
	}
	if (p->up && !p->closed) {
		while ((r = SSL_read(p->ssl, b, sizeof(b))) > 0)
			evbuffer_add(p->plain, b, (size_t)r);
		e = SSL_get_error(p->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN)
			p->closed = true;
		else if (e != SSL_ERROR_WANT_READ)
			tlspeer_fail(p, "read", r);
	}
	tlspeer_flush(p, bufferevent_get_output(bev));
	ERR_clear_error();
}

void
tlspeer_send(struct tlspeer *p, struct bufferevent *bev, const char *s)
{
	size_t w;

	ERR_clear_error();
	if (SSL_write_ex(p->ssl, s, strlen(s), &w) != 1)
		tlspeer_fail(p, "write", 0);
	tlspeer_flush(p, bufferevent_get_output(bev));
}
