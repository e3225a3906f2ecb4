/* SPDX-License-Identifier: ISC */
/*
 * Certificates and keys for the unit tests, made at run time: CAs, leaves
 * signed by them and self-signed leaves (EC P-256, SHA-256), each written as
 * a PEM chain and a 0600 key file into a temporary directory that
 * testcert_free() removes with everything in it. Plus the two OpenSSL
 * contexts the tests build from them. Nothing is checked in and nothing
 * outlives the test; it does not forge (that is tlsctx, under test).
 */
#ifndef XMPPGATE_TESTCERT_H
#define XMPPGATE_TESTCERT_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

struct testcert;

/* One certificate made by testcert_ca() or testcert_leaf(). */
struct testcert_id {
	X509 *cert;           /* owned by the testcert */
	EVP_PKEY *key;        /* owned by the testcert */
	const char *pem;      /* the certificate, then its issuer's if any */
	const char *key_file; /* the key, mode 0600 */
};

/* A fresh directory /tmp/<tag>.XXXXXX; exits 99 when it cannot. */
struct testcert *testcert_new(const char *tag);
/* Frees the certificates, removes every file made and the directory. */
void testcert_free(struct testcert *); /* NULL is a no-op */
/* A path in the directory (the file need not exist), removed at the end. */
const char *testcert_path(struct testcert *, const char *name);
/*
 * A self-signed CA for cn valid for days, written as <name>.pem and
 * <name>.key. Exits 99 on any failure, as do the functions below.
 */
const struct testcert_id *testcert_ca(
    struct testcert *, const char *name, const char *cn, long days);
/*
 * A server leaf for cn with the one DNS name san, valid for days, signed by
 * issuer (its chain file then holds the issuer too) or self-signed when
 * issuer is NULL; written as <name>.pem and <name>.key.
 */
const struct testcert_id *testcert_leaf(struct testcert *, const char *name,
    const char *cn, const char *san, const struct testcert_id *issuer,
    long days);
/* A server context presenting id's chain. The caller frees it. */
SSL_CTX *testcert_server_ctx(const struct testcert_id *id);
/* A client context that verifies its peer against ca only. The caller
 * frees it. */
SSL_CTX *testcert_client_ctx(const struct testcert_id *ca);

#endif
