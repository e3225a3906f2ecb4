/* SPDX-License-Identifier: ISC */
/*
 * TLS over memory BIOs. The read BIO gets exactly the bytes the conn says are
 * TLS; whatever OpenSSL writes lands in the write BIO and is moved to the
 * caller's output evbuffer after every call, so a handshake step, an alert or
 * a TLS 1.3 ticket is never left behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "log.h"
#include "tlsctx.h"
#include "tlsio.h"
#include "xmalloc.h"

/* Decrypted bytes are read in records of at most this much. */
#define TLSIO_READ_CHUNK 16384

struct tlsio {
	SSL *ssl;  /* owned; owns both BIOs */
	BIO *rbio; /* borrowed: ciphertext in */
	BIO *wbio; /* borrowed: ciphertext out */
	bool established;
	char error[256];
};

struct tlsio *
tlsio_new(SSL *ssl)
{
	struct tlsio *t = xcalloc(1, sizeof(*t));

	t->ssl = ssl;
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (t->rbio == NULL || t->wbio == NULL)
		fatalx("tlsio: out of memory for BIOs");
	/* An empty read BIO means "wait for more", not end of file. */
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(ssl, t->rbio, t->wbio);
	return t;
}

void
tlsio_free(struct tlsio *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

bool
tlsio_established(const struct tlsio *t)
{
	return t->established;
}

SSL *
tlsio_ssl(struct tlsio *t)
{
	return t->ssl;
}

const char *
tlsio_error(const struct tlsio *t)
{
	return t->error[0] ? t->error : "TLS failed";
}

/* Moves what OpenSSL wrote to out. */
static void
tlsio_flush(struct tlsio *t, struct evbuffer *out)
{
	struct evbuffer_iovec v;
	size_t pending;
	int n;

	while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
		if (evbuffer_reserve_space(out, (ev_ssize_t)pending, &v, 1) < 1)
			fatalx("tlsio: out of memory");
		n = BIO_read(t->wbio, v.iov_base, (int)(pending < v.iov_len
			? pending : v.iov_len));
		if (n <= 0)
			break;
		v.iov_len = (size_t)n;
		evbuffer_commit_space(out, &v, 1);
	}
}

/*
 * Records why OpenSSL failed: a certificate check names its X509 reason
 * ("certificate verify failed: hostname mismatch"), anything else the last
 * entry of the error queue. Returns -1.
 */
static int
tlsio_fail(struct tlsio *t, int ret)
{
	int e = SSL_get_error(t->ssl, ret);
	long vr = SSL_get_verify_result(t->ssl);

	if (e == SSL_ERROR_SSL && vr != X509_V_OK &&
	    ERR_GET_REASON(ERR_peek_last_error()) ==
		SSL_R_CERTIFICATE_VERIFY_FAILED) {
		ERR_clear_error();
		snprintf(t->error, sizeof(t->error),
		    "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	} else if (e == SSL_ERROR_SSL)
		snprintf(t->error, sizeof(t->error), "%s", tlsctx_error());
	else
		snprintf(t->error, sizeof(t->error), "TLS error %d", e);
	return -1;
}

int
tlsio_start(struct tlsio *t, struct evbuffer *out)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	tlsio_flush(t, out);
	if (r <= 0 && SSL_get_error(t->ssl, r) != SSL_ERROR_WANT_READ)
		return tlsio_fail(t, r);
	return 0;
}

/* Hands every byte of in to the read BIO. */
static void
tlsio_feed(struct tlsio *t, struct evbuffer *in)
{
	struct evbuffer_iovec v;

	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		if (BIO_write(t->rbio, v.iov_base, (int)v.iov_len) !=
		    (int)v.iov_len)
			fatalx("tlsio: out of memory in the read BIO");
		evbuffer_drain(in, v.iov_len);
	}
}

/* Decrypts all complete records into plain. Returns bits or -1. */
static int
tlsio_read_all(struct tlsio *t, struct evbuffer *plain)
{
	struct evbuffer_iovec v;
	int n, e;

	for (;;) {
		if (evbuffer_reserve_space(plain, TLSIO_READ_CHUNK, &v, 1) < 1)
			fatalx("tlsio: out of memory");
		n = SSL_read(t->ssl, v.iov_base, (int)(v.iov_len <
			TLSIO_READ_CHUNK ? v.iov_len : TLSIO_READ_CHUNK));
		if (n > 0) {
			v.iov_len = (size_t)n;
			evbuffer_commit_space(plain, &v, 1);
			continue;
		}
		e = SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_ZERO_RETURN)
			return TLSIO_CLOSED;
		return tlsio_fail(t, n);
	}
}

int
tlsio_input(struct tlsio *t, struct evbuffer *in, struct evbuffer *plain,
    struct evbuffer *out)
{
	int bits = 0, r;

	ERR_clear_error();
	tlsio_feed(t, in);
	if (!t->established) {
		r = SSL_do_handshake(t->ssl);
		if (r <= 0) {
			tlsio_flush(t, out);
			if (SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_READ)
				return 0;
			return tlsio_fail(t, r);
		}
		t->established = true;
		bits |= TLSIO_ESTABLISHED;
	}
	r = tlsio_read_all(t, plain);
	tlsio_flush(t, out);
	return r == -1 ? -1 : bits | r;
}

int
tlsio_write(struct tlsio *t, const void *data, size_t len,
    struct evbuffer *out)
{
	size_t written;
	int r;

	if (len == 0)
		return 0;
	if (!t->established) {
		snprintf(t->error, sizeof(t->error), "write before handshake");
		return -1;
	}
	ERR_clear_error();
	/* A memory BIO takes everything: one call writes all of it. */
	r = SSL_write_ex(t->ssl, data, len, &written);
	tlsio_flush(t, out);
	if (r != 1)
		return tlsio_fail(t, r);
	return 0;
}

void
tlsio_close_notify(struct tlsio *t, struct evbuffer *out)
{
	if (!t->established)
		return;
	ERR_clear_error();
	(void)SSL_shutdown(t->ssl);
	tlsio_flush(t, out);
	ERR_clear_error();
}
