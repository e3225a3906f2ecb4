/* SPDX-License-Identifier: ISC */
/*
 * OpenSSL contexts for the two legs. A server tlsctx holds one SSL_CTX built
 * from a configured chain and key; a forging tlsctx holds a CA and makes, per
 * domain, a leaf signed by it, cached in memory (bounded, oldest dropped
 * first) with one EC P-256 key shared by all its leaves, plus a front context
 * that picks the leaf by SNI for direct TLS; a client tlsctx holds the
 * upstream SSL_CTX with verification on unless turned off. All of them allow
 * TLS 1.2+ only, no compression and no renegotiation. This module does no I/O
 * besides reading the PEM files, knows nothing of sessions or libevent, and
 * never decides whether a failed verification ends a session.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tlsctx.h"
#include "xmalloc.h"

enum tlsctx_kind {
	TLSCTX_SERVER,
	TLSCTX_FORGE,
	TLSCTX_CLIENT,
};

struct tlsctx_forged {
	char *domain; /* lower case */
	SSL_CTX *ctx;
};

struct tlsctx {
	enum tlsctx_kind kind;
	SSL_CTX *ctx; /* all kinds; for forging, the SNI front (no cert) */

	/* Forging kind only. */
	X509 *ca_cert;
	EVP_PKEY *ca_key;
	EVP_PKEY *leaf_key;
	struct tlsctx_forged *cache; /* ring of TLSCTX_FORGE_CACHE_MAX */
	size_t ncache;
	size_t next; /* slot replaced when the ring is full */
	int min_version;    /* from the policy, for forged contexts */
	char *ciphers;	    /* owned or NULL */
	char *ciphersuites; /* owned or NULL */
	char *default_domain; /* owned or NULL: forge for it without SNI */
};

/* Validity of forged leaves: long enough to be unremarkable to clients. */
#define TLSCTX_FORGE_BACKDATE (60 * 60)
#define TLSCTX_FORGE_LIFETIME (90L * 24 * 60 * 60)

const char *
tlsctx_error(void)
{
	static char buf[256];
	unsigned long e;

	const char *reason;

	e = ERR_peek_last_error();
	/* The reason alone reads best in a log or a stream error's text;
	 * the numeric form is for errors OpenSSL has no words for. */
	if (e == 0)
		snprintf(buf, sizeof(buf), "unknown TLS error");
	else if ((reason = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, sizeof(buf), "%s", reason);
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

bool
tlsctx_key_mode_ok(const char *path)
{
	struct stat st;

	/* An unreadable file is reported by the load that follows. */
	if (stat(path, &st) == -1)
		return true;
	return (st.st_mode & (S_IRWXG | S_IRWXO)) == 0;
}

bool
tlsctx_domain_ok(const char *s)
{
	size_t len, label = 0, i;

	len = strlen(s);
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isascii(c) || !(isalnum(c) || c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

/* Warns the operator about a private key others can read; never fails. */
static void
tlsctx_check_key_mode(const char *path)
{
	struct stat st;

	if (tlsctx_key_mode_ok(path))
		return;
	if (stat(path, &st) == -1)
		return;
	log_warnx("tls key=%s mode=%03o: private key open to group or others, "
		  "chmod 600 it",
	    path, (unsigned)(st.st_mode & 0777));
}

/*
 * XEP-0368: pick xmpp-client when offered. A client offering only other
 * protocols still gets TLS without ALPN rather than a failed handshake, and
 * one that offers none never calls this.
 */
static int
tlsctx_alpn_select_cb(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg)
{
	const size_t want = strlen(TLSCTX_ALPN_XMPP_CLIENT);
	unsigned int i = 0;

	while (i < inlen) {
		unsigned int n = in[i];

		if (n > inlen - i - 1)
			break;
		if (n == want &&
		    memcmp(in + i + 1, TLSCTX_ALPN_XMPP_CLIENT, n) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += n + 1;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* The settings both legs share: modern versions, no compression, no reneg. */
static int
tlsctx_common(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return -1;
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	return 0;
}

/* A fresh server SSL_CTX with the house settings, no certificate yet. */
static SSL_CTX *
tlsctx_server_base(char **err)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*err = xasprintf("SSL_CTX_new: %s", tlsctx_error());
		return NULL;
	}
	if (tlsctx_common(ctx) == -1) {
		*err = xasprintf("TLS settings: %s", tlsctx_error());
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(ctx, tlsctx_alpn_select_cb, NULL);
	return ctx;
}

struct tlsctx *
tlsctx_server_new(const char *cert_file, const char *key_file, char **err)
{
	struct tlsctx *tc;
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = tlsctx_server_base(err)) == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		*err = xasprintf("%s: not a usable PEM certificate chain (%s)",
		    cert_file, tlsctx_error());
		goto fail;
	}
	tlsctx_check_key_mode(key_file);
	/* OpenSSL checks the match while loading: name that case plainly. */
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		*err = xasprintf("%s: not a usable PEM private key (%s)",
		    key_file, tlsctx_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*err = xasprintf("%s does not match %s: %s", key_file,
		    cert_file, tlsctx_error());
		goto fail;
	}
	tc = xcalloc(1, sizeof(*tc));
	tc->kind = TLSCTX_SERVER;
	tc->ctx = ctx;
	return tc;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Direct TLS with forging: the domain is only known from the ClientHello, so
 * the front context swaps in the forged one for the SNI. Without a usable
 * SNI there is no name to forge for, and the handshake ends with an alert.
 */
static int
tlsctx_sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tlsctx *tc = arg;
	const char *name;
	SSL_CTX *ctx;
	char *err = NULL;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		name = tc->default_domain;
	if (name == NULL) {
		log_debug("tls direct TLS without SNI: no domain to forge for");
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	if ((ctx = tlsctx_server_ctx(tc, name, &err)) == NULL) {
		/* Bad names are the peer's doing; forging failures are ours. */
		if (tlsctx_domain_ok(name))
			log_warnx("tls %s", err);
		else
			log_debug("tls sni: %s", err);
		free(err);
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	/* Takes its own reference: eviction from the cache cannot hurt. */
	if (SSL_set_SSL_CTX(ssl, ctx) == NULL) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

struct tlsctx *
tlsctx_forge_new(const char *ca_cert_file, const char *ca_key_file,
    char **err)
{
	struct tlsctx *tc;
	X509 *ca = NULL;
	EVP_PKEY *key = NULL, *leaf = NULL;
	SSL_CTX *front;
	FILE *f;

	ERR_clear_error();
	if ((f = fopen(ca_cert_file, "r")) == NULL) {
		*err = xasprintf("%s: %s", ca_cert_file, strerror(errno));
		return NULL;
	}
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (ca == NULL) {
		*err = xasprintf("%s: %s", ca_cert_file, tlsctx_error());
		return NULL;
	}
	/* A leaf from a non-CA would fail every client; say so at load. */
	if (X509_check_ca(ca) == 0) {
		*err = xasprintf("%s: not a CA certificate", ca_cert_file);
		goto fail;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(ca)) <= 0) {
		*err = xasprintf("%s: CA certificate has expired",
		    ca_cert_file);
		goto fail;
	}
	tlsctx_check_key_mode(ca_key_file);
	if ((f = fopen(ca_key_file, "r")) == NULL) {
		*err = xasprintf("%s: %s", ca_key_file, strerror(errno));
		goto fail;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL) {
		*err = xasprintf("%s: %s", ca_key_file, tlsctx_error());
		goto fail;
	}
	if (X509_check_private_key(ca, key) != 1) {
		*err = xasprintf("%s does not match %s: %s", ca_key_file,
		    ca_cert_file, tlsctx_error());
		goto fail;
	}
	/* One key for all leaves: a keygen per domain buys nothing here. */
	if ((leaf = EVP_EC_gen("P-256")) == NULL) {
		*err = xasprintf("leaf key: %s", tlsctx_error());
		goto fail;
	}
	if ((front = tlsctx_server_base(err)) == NULL)
		goto fail;
	tc = xcalloc(1, sizeof(*tc));
	tc->kind = TLSCTX_FORGE;
	tc->ctx = front;
	tc->ca_cert = ca;
	tc->ca_key = key;
	tc->leaf_key = leaf;
	tc->cache = xcalloc(TLSCTX_FORGE_CACHE_MAX, sizeof(*tc->cache));
	SSL_CTX_set_tlsext_servername_callback(front, tlsctx_sni_cb);
	SSL_CTX_set_tlsext_servername_arg(front, tc);
	return tc;
fail:
	EVP_PKEY_free(leaf);
	EVP_PKEY_free(key);
	X509_free(ca);
	return NULL;
}

struct tlsctx *
tlsctx_client_new(bool verify, const char *ca_file, char **err)
{
	struct tlsctx *tc;
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		*err = xasprintf("SSL_CTX_new: %s", tlsctx_error());
		return NULL;
	}
	if (tlsctx_common(ctx) == -1) {
		*err = xasprintf("TLS settings: %s", tlsctx_error());
		goto fail;
	}
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			*err = xasprintf("%s: %s", ca_file, tlsctx_error());
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		*err = xasprintf("system CA store: %s", tlsctx_error());
		goto fail;
	}
	/*
	 * The store is loaded even without verify so that the verify result
	 * still tells the events whether the server would have passed.
	 */
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	    NULL);
	tc = xcalloc(1, sizeof(*tc));
	tc->kind = TLSCTX_CLIENT;
	tc->ctx = ctx;
	return tc;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tlsctx_free(struct tlsctx *tc)
{
	size_t i;

	if (tc == NULL)
		return;
	SSL_CTX_free(tc->ctx);
	for (i = 0; i < tc->ncache; i++) {
		free(tc->cache[i].domain);
		SSL_CTX_free(tc->cache[i].ctx);
	}
	free(tc->cache);
	free(tc->ciphers);
	free(tc->ciphersuites);
	free(tc->default_domain);
	EVP_PKEY_free(tc->leaf_key);
	EVP_PKEY_free(tc->ca_key);
	X509_free(tc->ca_cert);
	free(tc);
}

/* The policy's settings on one context. */
static int
tlsctx_apply_policy(const struct tlsctx *tc, SSL_CTX *ctx, char **err)
{
	if (tc->min_version != 0 &&
	    SSL_CTX_set_min_proto_version(ctx, tc->min_version) != 1) {
		*err = xasprintf("min_version: %s", tlsctx_error());
		return -1;
	}
	if (tc->ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, tc->ciphers) != 1) {
		*err = xasprintf("ciphers: '%s': %s", tc->ciphers,
		    tlsctx_error());
		return -1;
	}
	if (tc->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, tc->ciphersuites) != 1) {
		*err = xasprintf("ciphersuites: '%s': %s", tc->ciphersuites,
		    tlsctx_error());
		return -1;
	}
	return 0;
}

int
tlsctx_set_policy(struct tlsctx *tc, const struct tlsctx_policy *pol,
    char **err)
{
	ERR_clear_error();
	tc->min_version = pol->min_version;
	free(tc->ciphers);
	free(tc->ciphersuites);
	tc->ciphers = pol->ciphers ? xstrdup(pol->ciphers) : NULL;
	tc->ciphersuites = pol->ciphersuites ? xstrdup(pol->ciphersuites)
					     : NULL;
	return tlsctx_apply_policy(tc, tc->ctx, err);
}

void
tlsctx_set_default_domain(struct tlsctx *tc, const char *domain)
{
	unsigned char addr[16];

	free(tc->default_domain);
	tc->default_domain = NULL;
	if (domain == NULL || !tlsctx_domain_ok(domain) ||
	    inet_pton(AF_INET, domain, addr) == 1)
		return;
	tc->default_domain = xstrdup(domain);
}

SSL_CTX *
tlsctx_ctx(struct tlsctx *tc)
{
	return tc->ctx;
}

/* Adds one extension written in openssl.cnf syntax; -1 on failure. */
static int
tlsctx_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int rc;

	if ((ext = X509V3_EXT_conf_nid(NULL, v3, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* A random positive 128-bit serial, as CAs are expected to use (RFC 5280). */
static int
tlsctx_random_serial(X509 *x)
{
	unsigned char raw[16];
	BIGNUM *bn;
	int rc = -1;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	raw[0] |= 0x01; /* never zero, which some clients reject */
	if ((bn = BN_bin2bn(raw, sizeof(raw), NULL)) == NULL)
		return -1;
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		rc = 0;
	BN_free(bn);
	return rc;
}

/*
 * A leaf for domain (already lower case and valid) signed by the CA, within
 * the CA's own validity. Returns NULL with the OpenSSL error queue set.
 */
static X509 *
tlsctx_forge_cert(struct tlsctx *tc, const char *domain)
{
	X509 *x;
	X509V3_CTX v3;
	char *san;
	const EVP_MD *md = EVP_sha256();
	int id, rc;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    tlsctx_random_serial(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -TLSCTX_FORGE_BACKDATE) ==
		NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), TLSCTX_FORGE_LIFETIME) ==
		NULL)
		goto fail;
	/*
	 * Past the CA's end the chain is dead anyway; notBefore stays
	 * backdated even before the CA's, for skewed clocks and a CA made a
	 * minute ago (validity nesting is not checked by verifiers).
	 */
	if (ASN1_TIME_compare(X509_get0_notAfter(x),
		X509_get0_notAfter(tc->ca_cert)) > 0 &&
	    X509_set1_notAfter(x, X509_get0_notAfter(tc->ca_cert)) != 1)
		goto fail;
	if (X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		MBSTRING_ASC, (const unsigned char *)domain, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(tc->ca_cert)) != 1 ||
	    X509_set_pubkey(x, tc->leaf_key) != 1)
		goto fail;

	X509V3_set_ctx(&v3, tc->ca_cert, x, NULL, NULL, 0);
	/* domain passed tlsctx_domain_ok: no ',' or ':' to inject values. */
	san = xasprintf("DNS:%s", domain);
	rc = tlsctx_add_ext(x, &v3, NID_subject_alt_name, san);
	free(san);
	if (rc == -1 ||
	    tlsctx_add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ==
		-1 ||
	    tlsctx_add_ext(x, &v3, NID_key_usage,
		"critical,digitalSignature") == -1 ||
	    tlsctx_add_ext(x, &v3, NID_ext_key_usage, "serverAuth") == -1 ||
	    tlsctx_add_ext(x, &v3, NID_subject_key_identifier, "hash") == -1 ||
	    tlsctx_add_ext(x, &v3, NID_authority_key_identifier,
		"keyid,issuer") == -1)
		goto fail;

	/* EdDSA CA keys sign without a separate digest. */
	id = EVP_PKEY_get_id(tc->ca_key);
	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
		md = NULL;
	if (X509_sign(x, tc->ca_key, md) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* A server SSL_CTX presenting a fresh forged leaf and the CA for domain. */
static SSL_CTX *
tlsctx_forge_ctx(struct tlsctx *tc, const char *domain, char **err)
{
	SSL_CTX *ctx;
	X509 *x;

	if ((x = tlsctx_forge_cert(tc, domain)) == NULL) {
		*err = xasprintf("forging a certificate for %s: %s", domain,
		    tlsctx_error());
		return NULL;
	}
	if ((ctx = tlsctx_server_base(err)) == NULL) {
		X509_free(x);
		return NULL;
	}
	if (tlsctx_apply_policy(tc, ctx, err) == -1) {
		SSL_CTX_free(ctx);
		X509_free(x);
		return NULL;
	}
	/* The CA goes in the chain in case it is itself an intermediate. */
	if (SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, tc->leaf_key) != 1 ||
	    SSL_CTX_add1_chain_cert(ctx, tc->ca_cert) != 1) {
		*err = xasprintf("context for %s: %s", domain, tlsctx_error());
		SSL_CTX_free(ctx);
		X509_free(x);
		return NULL;
	}
	X509_free(x);
	return ctx;
}

SSL_CTX *
tlsctx_server_ctx(struct tlsctx *tc, const char *domain, char **err)
{
	struct tlsctx_forged *slot;
	SSL_CTX *ctx;
	char *lower;
	size_t i;

	if (tc->kind == TLSCTX_SERVER)
		return tc->ctx;
	if (tc->kind != TLSCTX_FORGE)
		fatalx("%s: not a server tlsctx", __func__);
	if (domain == NULL || !tlsctx_domain_ok(domain)) {
		*err = xasprintf("not a DNS name: \"%.64s\"",
		    domain == NULL ? "" : domain);
		return NULL;
	}
	/* DNS names compare without case; one cert serves all spellings. */
	lower = xstrdup(domain);
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	/* A linear scan costs far less than the handshake it precedes. */
	for (i = 0; i < tc->ncache; i++) {
		if (strcmp(tc->cache[i].domain, lower) == 0) {
			free(lower);
			return tc->cache[i].ctx;
		}
	}
	ERR_clear_error();
	if ((ctx = tlsctx_forge_ctx(tc, lower, err)) == NULL) {
		free(lower);
		return NULL;
	}
	/* Full: drop the oldest; sessions using it hold their own ref. */
	if (tc->ncache < TLSCTX_FORGE_CACHE_MAX)
		slot = &tc->cache[tc->ncache++];
	else {
		slot = &tc->cache[tc->next];
		tc->next = (tc->next + 1) % TLSCTX_FORGE_CACHE_MAX;
		free(slot->domain);
		SSL_CTX_free(slot->ctx);
	}
	slot->domain = lower;
	slot->ctx = ctx;
	log_debug("tls forged certificate domain=%s", lower);
	return ctx;
}

int
tlsctx_client_prepare(SSL *ssl, const char *domain, const char *sni,
    const char **alpn, char **err)
{
	const char *name = sni != NULL ? sni : domain;
	unsigned char buf[256], addr[16];
	size_t len = 0, n, i;
	char host[256];

	/* A copy: OpenSSL's macro casts the const away, and -Wcast-qual. */
	if (strlen(name) >= sizeof(host)) {
		*err = xasprintf("SNI name too long");
		return -1;
	}
	memcpy(host, name, strlen(name) + 1);
	/* RFC 6066: SNI carries host names only, never an address literal. */
	if (inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1 &&
	    SSL_set_tlsext_host_name(ssl, host) != 1) {
		*err = xasprintf("SNI %s: %s", host, tlsctx_error());
		return -1;
	}
	if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, domain) != 1) {
			*err = xasprintf("reference identity %s: %s", domain,
			    tlsctx_error());
			return -1;
		}
	}
	if (alpn == NULL || alpn[0] == NULL)
		return 0;
	for (i = 0; alpn[i] != NULL; i++) {
		n = strlen(alpn[i]);
		if (n == 0 || n > 255 || len + 1 + n > sizeof(buf)) {
			*err = xasprintf("ALPN list too long or empty entry");
			return -1;
		}
		buf[len++] = (unsigned char)n;
		memcpy(buf + len, alpn[i], n);
		len += n;
	}
	/* Unlike most of OpenSSL, 0 means success here. */
	if (SSL_set_alpn_protos(ssl, buf, (unsigned)len) != 0) {
		*err = xasprintf("ALPN: %s", tlsctx_error());
		return -1;
	}
	return 0;
}

void
tlsctx_describe(SSL *ssl, struct tlsctx_info *out)
{
	const unsigned char *alpn = NULL;
	unsigned int alpnlen = 0;
	const char *s;
	X509 *peer;
	BIO *bio;
	long vr;
	int n;

	memset(out, 0, sizeof(*out));
	snprintf(out->version, sizeof(out->version), "%s", SSL_get_version(ssl));
	if ((s = SSL_get_cipher_name(ssl)) != NULL)
		snprintf(out->cipher, sizeof(out->cipher), "%s", s);
	if ((s = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) != NULL)
		snprintf(out->sni, sizeof(out->sni), "%s", s);
	SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
	if (alpn != NULL && alpnlen < sizeof(out->alpn)) {
		memcpy(out->alpn, alpn, alpnlen);
		out->alpn[alpnlen] = '\0';
	}

	vr = SSL_get_verify_result(ssl);
	/* A handshake that failed verification keeps no peer cert. */
	if ((peer = SSL_get0_peer_certificate(ssl)) == NULL) {
		snprintf(out->verify_error, sizeof(out->verify_error), "%s",
		    vr != X509_V_OK ? X509_verify_cert_error_string(vr) :
				      "no peer certificate");
		return;
	}
	if ((bio = BIO_new(BIO_s_mem())) != NULL) {
		X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0,
		    XN_FLAG_RFC2253);
		n = BIO_read(bio, out->peer_subject,
		    (int)sizeof(out->peer_subject) - 1);
		out->peer_subject[n > 0 ? n : 0] = '\0';
		BIO_free(bio);
	}
	if (vr != X509_V_OK)
		snprintf(out->verify_error, sizeof(out->verify_error), "%s",
		    X509_verify_cert_error_string(vr));
	else if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0)
		/* The chain checked out but nobody asked for the name. */
		snprintf(out->verify_error, sizeof(out->verify_error),
		    "verification disabled");
	else
		out->verified = true;
}
