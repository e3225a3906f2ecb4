/* SPDX-License-Identifier: ISC */
/*
 * Test certificates made at run time in a temporary directory: the CA and
 * leaf builder with the extensions a verifying TLS client insists on, the
 * PEM writers, the cleanup, and the server and client contexts built from
 * the files (through the files, so the tests load what the proxy would). A
 * failure here is the test's own, not the code's under test: it exits 99,
 * which the TAP driver reports as a hard error.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "xmalloc.h"

#include "testcert.h"

#define TESTCERT_MAX_PATHS 48
#define TESTCERT_MAX_IDS 16

struct testcert {
	char dir[PATH_MAX];
	char *paths[TESTCERT_MAX_PATHS]; /* owned; removed by _free */
	int npaths;
	struct testcert_id ids[TESTCERT_MAX_IDS];
	int nids;
	long serial; /* the last one given */
};

static void __attribute__((noreturn, format(printf, 1, 2)))
testcert_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(99);
}

struct testcert *
testcert_new(const char *tag)
{
	struct testcert *tc = xcalloc(1, sizeof(*tc));

	snprintf(tc->dir, sizeof(tc->dir), "/tmp/%s.XXXXXX", tag);
	if (mkdtemp(tc->dir) == NULL)
		testcert_fail("mkdtemp %s failed", tc->dir);
	return tc;
}

void
testcert_free(struct testcert *tc)
{
	int i;

	if (tc == NULL)
		return;
	for (i = 0; i < tc->nids; i++) {
		X509_free(tc->ids[i].cert);
		EVP_PKEY_free(tc->ids[i].key);
	}
	for (i = 0; i < tc->npaths; i++) {
		unlink(tc->paths[i]);
		free(tc->paths[i]);
	}
	rmdir(tc->dir);
	free(tc);
}

const char *
testcert_path(struct testcert *tc, const char *name)
{
	if (tc->npaths == TESTCERT_MAX_PATHS)
		testcert_fail("more than %d test files", TESTCERT_MAX_PATHS);
	return tc->paths[tc->npaths++] = xasprintf("%s/%s", tc->dir, name);
}

static void
testcert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		testcert_fail("extension %d=%s failed", nid, value);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for cn (a CA when san is NULL) valid for days, signed by
 * issuer/ikey, or self-signed when issuer is NULL. A leaf signed by a CA
 * names the CA's key identifier, as chain building expects.
 */
static X509 *
testcert_make(const char *cn, const char *san, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *ikey, long days, long serial)
{
	X509 *x = X509_new();
	char b[300];

	if (x == NULL)
		testcert_fail("X509_new failed");
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 24 * 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(
	    x, X509_get_subject_name(issuer != NULL ? issuer : x));
	X509_set_pubkey(x, key);
	if (issuer == NULL) {
		issuer = x;
		ikey = key;
	}
	testcert_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (san == NULL) {
		testcert_ext(
		    x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		testcert_ext(
		    x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		snprintf(b, sizeof(b), "DNS:%s", san);
		testcert_ext(x, issuer, NID_subject_alt_name, b);
		testcert_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		testcert_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		if (issuer != x)
			testcert_ext(
			    x, issuer, NID_authority_key_identifier, "keyid");
	}
	if (X509_sign(x, ikey, EVP_sha256()) == 0)
		testcert_fail("signing %s failed", cn);
	return x;
}

/* Writes a leaf (and its issuer when not NULL) as one PEM file. */
static void
testcert_write_certs(const char *path, X509 *leaf, X509 *issuer)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		testcert_fail("cannot write %s", path);
	if (PEM_write_X509(f, leaf) != 1 ||
	    (issuer != NULL && PEM_write_X509(f, issuer) != 1))
		testcert_fail("PEM_write_X509 %s failed", path);
	fclose(f);
}

/* Writes key as an unencrypted PEM file only its owner may read. */
static void
testcert_write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		testcert_fail("cannot write %s", path);
	if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
		testcert_fail("PEM_write_PrivateKey %s failed", path);
	fclose(f);
	chmod(path, 0600);
}

/* Makes, writes and remembers one certificate (a CA when san is NULL). */
static const struct testcert_id *
testcert_add(struct testcert *tc, const char *name, const char *cn,
    const char *san, const struct testcert_id *issuer, long days)
{
	struct testcert_id *id;
	char file[NAME_MAX];

	if (tc->nids == TESTCERT_MAX_IDS)
		testcert_fail(
		    "more than %d test certificates", TESTCERT_MAX_IDS);
	id = &tc->ids[tc->nids++];
	if ((id->key = EVP_EC_gen("P-256")) == NULL)
		testcert_fail("EVP_EC_gen failed");
	id->cert = testcert_make(cn, san, id->key,
	    issuer != NULL ? issuer->cert : NULL,
	    issuer != NULL ? issuer->key : NULL, days, ++tc->serial);
	snprintf(file, sizeof(file), "%s.pem", name);
	id->pem = testcert_path(tc, file);
	testcert_write_certs(
	    id->pem, id->cert, issuer != NULL ? issuer->cert : NULL);
	snprintf(file, sizeof(file), "%s.key", name);
	id->key_file = testcert_path(tc, file);
	testcert_write_key(id->key_file, id->key);
	return id;
}

const struct testcert_id *
testcert_ca(struct testcert *tc, const char *name, const char *cn, long days)
{
	return testcert_add(tc, name, cn, NULL, NULL, days);
}

const struct testcert_id *
testcert_leaf(struct testcert *tc, const char *name, const char *cn,
    const char *san, const struct testcert_id *issuer, long days)
{
	return testcert_add(tc, name, cn, san, issuer, days);
}

SSL_CTX *
testcert_server_ctx(const struct testcert_id *id)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, id->pem) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, id->key_file, SSL_FILETYPE_PEM) !=
	        1)
		testcert_fail("server context %s failed", id->pem);
	return ctx;
}

SSL_CTX *
testcert_client_ctx(const struct testcert_id *ca)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL ||
	    SSL_CTX_load_verify_locations(ctx, ca->pem, NULL) != 1)
		testcert_fail("client context for %s failed", ca->pem);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}
