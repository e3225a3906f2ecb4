/* SPDX-License-Identifier: ISC */
/*
 * tlsctx: loading a configured chain and key, key file modes, forging leaves
 * from a CA (content, verification, cache), DNS name checks, and in-memory
 * handshakes between client and server contexts over a BIO pair: success
 * with ALPN and the describe fields, and failures for a wrong name, an
 * untrusted certificate and a TLS 1.1 client. Every certificate and key is
 * made at run time (testcert.h) in a temporary directory removed at the end.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tlsctx.h"

#include "../tap.h"
#include "testcert.h"

static struct testcert *certs; /* for a path that does not exist */

/* Outcome of an in-memory handshake. */
struct hs {
	bool c_ok, s_ok;        /* that side finished */
	bool c_fail, s_fail;    /* that side gave up with an error */
	int c_reason, s_reason; /* OpenSSL reason code of that failure */
};

/*
 * Runs a handshake between c and s over a BIO pair until both finish or
 * neither can go on. Takes ownership of neither SSL.
 */
static struct hs
handshake(SSL *c, SSL *s)
{
	struct hs h = {0};
	BIO *bc, *bs;
	int i, r, e;

	if (BIO_new_bio_pair(&bc, 0, &bs, 0) != 1)
		exit(99);
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (i = 0; i < 50; i++) {
		if (!h.c_ok && !h.c_fail) {
			r = SSL_do_handshake(c);
			e = SSL_get_error(c, r);
			if (r == 1)
				h.c_ok = true;
			else if (e != SSL_ERROR_WANT_READ &&
			         e != SSL_ERROR_WANT_WRITE) {
				h.c_fail = true;
				h.c_reason =
				    ERR_GET_REASON(ERR_peek_last_error());
			}
		}
		if (!h.s_ok && !h.s_fail) {
			r = SSL_do_handshake(s);
			e = SSL_get_error(s, r);
			if (r == 1)
				h.s_ok = true;
			else if (e != SSL_ERROR_WANT_READ &&
			         e != SSL_ERROR_WANT_WRITE) {
				h.s_fail = true;
				h.s_reason =
				    ERR_GET_REASON(ERR_peek_last_error());
			}
		}
		if ((h.c_ok || h.c_fail) && (h.s_ok || h.s_fail))
			break;
	}
	ERR_clear_error();
	return h;
}

static const char *alpn_xmpp[] = {TLSCTX_ALPN_XMPP_CLIENT, NULL};
static const char *alpn_h2[] = {"h2", NULL};

/* A client SSL from tc prepared for domain with alpn. */
static SSL *
client_ssl(struct tlsctx *tc, const char *domain, const char **alpn)
{
	SSL *c = SSL_new(tlsctx_ctx(tc));
	char *err = NULL;

	if (tlsctx_client_prepare(c, domain, NULL, alpn, &err) == -1) {
		fprintf(stderr, "prepare: %s\n", err);
		exit(99);
	}
	return c;
}

static void
test_domains(void)
{
	char longlabel[70], longname[300];
	size_t i;

	ok(tlsctx_domain_ok("example.org"), "domain example.org ok");
	ok(tlsctx_domain_ok("a-b.c0.EXAMPLE.org"), "domain with - digits caps");
	ok(tlsctx_domain_ok("localhost"), "single label ok");
	ok(!tlsctx_domain_ok(""), "empty domain rejected");
	ok(!tlsctx_domain_ok("a..b"), "empty label rejected");
	ok(!tlsctx_domain_ok(".a.b"), "leading dot rejected");
	ok(!tlsctx_domain_ok("a.b."), "trailing dot rejected");
	ok(!tlsctx_domain_ok("-a.b"), "label starting with - rejected");
	ok(!tlsctx_domain_ok("a-.b"), "label ending with - rejected");
	ok(!tlsctx_domain_ok("a_b.org"), "underscore rejected");
	ok(!tlsctx_domain_ok("a b.org"), "space rejected");
	ok(!tlsctx_domain_ok("a,DNS:evil.org"), "comma rejected");
	ok(!tlsctx_domain_ok("\xc3\xa9.org"), "non-ASCII rejected");
	memset(longlabel, 'a', 64);
	longlabel[64] = '\0';
	ok(!tlsctx_domain_ok(longlabel), "64-char label rejected");
	longlabel[63] = '\0';
	ok(tlsctx_domain_ok(longlabel), "63-char label ok");
	for (i = 0; i + 2 < 254; i += 2)
		memcpy(longname + i, "a.", 2);
	longname[253] = 'a';
	longname[254] = '\0';
	ok(!tlsctx_domain_ok(longname), "254-char name rejected");
	longname[253] = '\0';
	longname[252] = 'a';
	ok(tlsctx_domain_ok(longname), "253-char name ok");
}

static void
test_server(const char *chain, const char *key, const char *badkey)
{
	struct tlsctx *tc;
	char *err = NULL;

	tc = tlsctx_server_new(chain, key, &err);
	if (!ok(tc != NULL, "server ctx loads a chain"))
		diag("%s", err);
	ok(tc != NULL && tlsctx_ctx(tc) != NULL, "server ctx has an SSL_CTX");
	ok(tc != NULL &&
	        tlsctx_server_ctx(tc, "whatever.org", &err) == tlsctx_ctx(tc),
	    "configured cert serves every domain");
	ok(tc != NULL &&
	        SSL_CTX_get_min_proto_version(tlsctx_ctx(tc)) == TLS1_2_VERSION,
	    "server minimum is TLS 1.2");
	ok(tc != NULL && (SSL_CTX_get_options(tlsctx_ctx(tc)) &
	                     (SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                         SSL_OP_CIPHER_SERVER_PREFERENCE)) ==
	                     (SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                         SSL_OP_CIPHER_SERVER_PREFERENCE),
	    "no compression, no renegotiation, server preference");
	tlsctx_free(tc);

	err = NULL;
	tc = tlsctx_server_new(chain, badkey, &err);
	ok(tc == NULL && err != NULL && strstr(err, "does not match") != NULL,
	    "mismatched key rejected: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	tc = tlsctx_server_new(testcert_path(certs, "missing.pem"), key, &err);
	ok(tc == NULL && err != NULL && strstr(err, "missing.pem") != NULL,
	    "missing chain file named: %s", err ? err : "(none)");
	free(err);
	ok(ERR_peek_error() == 0, "error queue left empty");
	tlsctx_free(NULL);
}

static void
test_key_mode(const char *key)
{
	chmod(key, 0644);
	ok(!tlsctx_key_mode_ok(key), "key mode 0644 reported");
	chmod(key, 0640);
	ok(!tlsctx_key_mode_ok(key), "key mode 0640 reported");
	chmod(key, 0600);
	ok(tlsctx_key_mode_ok(key), "key mode 0600 fine");
	chmod(key, 0400);
	ok(tlsctx_key_mode_ok(key), "key mode 0400 fine");
	chmod(key, 0600);
}

static void
test_error(void)
{
	const char *s;

	ERR_put_error(
	    ERR_LIB_SSL, 0, SSL_R_NO_SHARED_CIPHER, __FILE__, __LINE__);
	s = tlsctx_error();
	ok(strstr(s, "no shared cipher") != NULL, "tlsctx_error text: %s", s);
	ok(ERR_peek_error() == 0, "tlsctx_error clears the queue");
	s = tlsctx_error();
	ok(s[0] != '\0', "tlsctx_error on an empty queue: %s", s);
}

/* Whether leaf chains to ca and names host. */
static bool
verifies(X509 *leaf, X509 *ca, const char *host)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	bool good;

	X509_STORE_add_cert(store, ca);
	X509_STORE_CTX_init(sc, store, leaf, NULL);
	X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_SERVER);
	good = X509_verify_cert(sc) == 1 &&
	       X509_check_host(leaf, host, 0, 0, NULL) == 1;
	X509_STORE_CTX_free(sc);
	X509_STORE_free(store);
	return good;
}

/* The only SAN dNSName of x, or "" (static buffer). */
static const char *
san_of(X509 *x)
{
	static char buf[256];
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;

	buf[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return buf;
	if (sk_GENERAL_NAME_num(gens) == 1) {
		g = sk_GENERAL_NAME_value(gens, 0);
		if (g->type == GEN_DNS)
			snprintf(buf, sizeof(buf), "%.*s",
			    ASN1_STRING_length(g->d.dNSName),
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	return buf;
}

static void
test_forge(const char *ca_pem, const char *ca_key, X509 *ca,
    const char *shortca_pem, const char *shortca_key, X509 *shortca,
    const char *leaf_pem, const char *leaf_key)
{
	struct tlsctx *tc;
	SSL_CTX *a, *a2, *b, *first, *again;
	X509 *xa, *xb;
	const ASN1_INTEGER *sa, *sb;
	BIGNUM *bn;
	char *err = NULL, name[64];
	int i, day, sec, rc;

	tc = tlsctx_forge_new(ca_pem, ca_key, &err);
	if (!ok(tc != NULL, "forging ctx loads the CA"))
		diag("%s", err);
	if (tc == NULL)
		exit(1);
	ok(tlsctx_ctx(tc) != NULL &&
	        SSL_CTX_get0_certificate(tlsctx_ctx(tc)) == NULL,
	    "forging ctx has an SNI front without a cert");
	a = tlsctx_server_ctx(tc, "chat.example.org", &err);
	ok(a != NULL, "forged ctx for chat.example.org");
	if (a == NULL)
		exit(1);
	xa = SSL_CTX_get0_certificate(a);
	ok(xa != NULL && verifies(xa, ca, "chat.example.org"),
	    "forged cert verifies against the CA for chat.example.org");
	ok(xa != NULL && !verifies(xa, ca, "other.example.org"),
	    "forged cert does not name other.example.org");
	ok(xa != NULL && !verifies(xa, shortca, "chat.example.org"),
	    "forged cert does not verify against another CA");
	is_str(san_of(xa), "chat.example.org", "SAN dNSName is the domain");
	ok(X509_check_ca(xa) == 0, "forged cert is not a CA");
	ok((X509_get_extension_flags(xa) & (EXFLAG_BCONS | EXFLAG_CA)) ==
	        EXFLAG_BCONS,
	    "basicConstraints CA:FALSE present");
	ok((X509_get_extension_flags(xa) & EXFLAG_XKUSAGE) != 0 &&
	        (X509_get_extended_key_usage(xa) & XKU_SSL_SERVER) != 0,
	    "extendedKeyUsage serverAuth");
	ok((X509_get_key_usage(xa) & KU_DIGITAL_SIGNATURE) != 0 &&
	        (X509_get_key_usage(xa) & KU_KEY_CERT_SIGN) == 0,
	    "keyUsage digitalSignature only");
	ok(X509_get0_authority_key_id(xa) != NULL &&
	        ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(xa),
	            X509_get0_subject_key_id(ca)) == 0,
	    "authority key identifier is the CA's");
	ok(X509_get_signature_nid(xa) == NID_ecdsa_with_SHA256,
	    "signed with SHA-256");
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(xa), NULL);
	ok(bn != NULL && BN_num_bits(bn) > 64 && BN_num_bits(bn) <= 128 &&
	        !BN_is_negative(bn),
	    "serial is random up to 128 bits (%d bits)",
	    bn != NULL ? BN_num_bits(bn) : -1);
	BN_free(bn);
	day = sec = -1;
	rc = ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(xa), NULL);
	ok(rc == 1 && day == 0 && sec >= 3590 && sec <= 3700,
	    "notBefore about an hour ago (%d s)", sec);
	day = sec = -1;
	rc = ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(xa));
	ok(rc == 1 && day >= 89 && day <= 90, "notAfter in 90 days (%d days)",
	    day);

	a2 = tlsctx_server_ctx(tc, "chat.example.org", &err);
	ok(a2 == a, "second request is cached (same SSL_CTX)");
	a2 = tlsctx_server_ctx(tc, "CHAT.Example.ORG", &err);
	ok(a2 == a, "cache ignores case");
	b = tlsctx_server_ctx(tc, "muc.example.org", &err);
	xb = b != NULL ? SSL_CTX_get0_certificate(b) : NULL;
	ok(b != NULL && b != a && xb != NULL && X509_cmp(xa, xb) != 0,
	    "different domain gets a different cert");
	sa = X509_get0_serialNumber(xa);
	sb = xb != NULL ? X509_get0_serialNumber(xb) : NULL;
	ok(sb != NULL && ASN1_INTEGER_cmp(sa, sb) != 0, "serials differ");
	ok(xb != NULL && verifies(xb, ca, "muc.example.org"),
	    "second forged cert verifies for its domain");
	ok(xb != NULL &&
	        EVP_PKEY_eq(X509_get0_pubkey(xa), X509_get0_pubkey(xb)) == 1,
	    "leaf key reused across domains");

	err = NULL;
	a2 = tlsctx_server_ctx(tc, "bad_domain.org", &err);
	ok(a2 == NULL && err != NULL, "bad domain rejected: %s",
	    err ? err : "(none)");
	free(err);
	err = NULL;
	ok(tlsctx_server_ctx(tc, "", &err) == NULL && err != NULL,
	    "empty domain rejected");
	free(err);
	err = NULL;
	ok(tlsctx_server_ctx(tc, NULL, &err) == NULL && err != NULL,
	    "NULL domain rejected");
	free(err);

	/* Keep a reference so an evicted ctx cannot reuse the same address. */
	SSL_CTX_up_ref(a);
	first = a;
	for (i = 0; i < TLSCTX_FORGE_CACHE_MAX; i++) {
		snprintf(name, sizeof(name), "h%d.example.org", i);
		if (tlsctx_server_ctx(tc, name, &err) == NULL)
			break;
	}
	ok(i == TLSCTX_FORGE_CACHE_MAX, "forged %d more domains", i);
	again = tlsctx_server_ctx(tc, "chat.example.org", &err);
	ok(again != NULL && again != first,
	    "cache is bounded: the oldest was dropped and forged again");
	ok(tlsctx_server_ctx(tc, "h1023.example.org", &err) ==
	        tlsctx_server_ctx(tc, "h1023.example.org", &err),
	    "recent entries stay cached");
	SSL_CTX_free(first);
	tlsctx_free(tc);

	/* A CA that ends before 90 days: leaves must not outlive it. */
	tc = tlsctx_forge_new(shortca_pem, shortca_key, &err);
	a = tc != NULL ? tlsctx_server_ctx(tc, "chat.example.org", &err) : NULL;
	xa = a != NULL ? SSL_CTX_get0_certificate(a) : NULL;
	ok(xa != NULL && ASN1_TIME_compare(X509_get0_notAfter(xa),
	                     X509_get0_notAfter(shortca)) == 0,
	    "notAfter clamped to the CA's");
	ok(xa != NULL && verifies(xa, shortca, "chat.example.org"),
	    "clamped cert verifies");
	tlsctx_free(tc);

	err = NULL;
	tc = tlsctx_forge_new(leaf_pem, leaf_key, &err);
	ok(tc == NULL && err != NULL && strstr(err, "not a CA") != NULL,
	    "a leaf is refused as forging CA: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	tc = tlsctx_forge_new(ca_pem, shortca_key, &err);
	ok(tc == NULL && err != NULL && strstr(err, "does not match") != NULL,
	    "mismatched CA key refused: %s", err ? err : "(none)");
	free(err);
}

static void
test_handshakes(const char *ca_pem, const char *ca_key, const char *chain,
    const char *key, const char *wrong_pem, const char *wrong_key,
    const char *self_pem, const char *self_key)
{
	struct tlsctx *forge, *cli, *nover, *srv, *wrong, *self;
	struct tlsctx_info ci, si;
	SSL_CTX *raw;
	SSL *c, *s;
	struct hs h;
	char *err = NULL, badsni[] = "bad_name.example.org";

	forge = tlsctx_forge_new(ca_pem, ca_key, &err);
	cli = tlsctx_client_new(true, ca_pem, &err);
	nover = tlsctx_client_new(false, ca_pem, &err);
	srv = tlsctx_server_new(chain, key, &err);
	wrong = tlsctx_server_new(wrong_pem, wrong_key, &err);
	self = tlsctx_server_new(self_pem, self_key, &err);
	if (forge == NULL || cli == NULL || nover == NULL || srv == NULL ||
	    wrong == NULL || self == NULL) {
		ok(0, "handshake fixtures: %s", err);
		return;
	}
	ok(SSL_CTX_get_min_proto_version(tlsctx_ctx(cli)) == TLS1_2_VERSION &&
	        (SSL_CTX_get_options(tlsctx_ctx(cli)) &
	            SSL_OP_NO_COMPRESSION) != 0,
	    "client: TLS 1.2 minimum, no compression");

	/* (a) verifying client against a forged cert, with ALPN. */
	c = client_ssl(cli, "chat.example.org", alpn_xmpp);
	s = SSL_new(tlsctx_server_ctx(forge, "chat.example.org", &err));
	h = handshake(c, s);
	ok(h.c_ok && h.s_ok, "verifying client accepts the forged cert");
	tlsctx_describe(c, &ci);
	tlsctx_describe(s, &si);
	ok(SSL_version(c) >= TLS1_2_VERSION, "version >= TLS 1.2 (%s)",
	    ci.version);
	is_str(ci.version, "TLSv1.3", "describe: version");
	ok(ci.cipher[0] != '\0' && strcmp(ci.cipher, si.cipher) == 0,
	    "describe: cipher %s on both sides", ci.cipher);
	is_str(ci.alpn, "xmpp-client", "client: ALPN xmpp-client");
	is_str(si.alpn, "xmpp-client", "server: ALPN xmpp-client");
	is_str(ci.sni, "chat.example.org", "client: SNI sent");
	is_str(si.sni, "chat.example.org", "server: SNI received");
	is_str(ci.peer_subject, "CN=chat.example.org", "client: peer subject");
	ok(ci.verified, "client: verified");
	is_str(ci.verify_error, "", "client: no verify error");
	ok(!si.verified, "server: no client cert, not verified");
	is_str(si.verify_error, "no peer certificate", "server: reason");
	SSL_free(c);
	SSL_free(s);

	/* Direct TLS with forging: the cert is chosen by SNI. */
	c = client_ssl(cli, "muc.example.org", alpn_xmpp);
	s = SSL_new(tlsctx_ctx(forge));
	h = handshake(c, s);
	tlsctx_describe(c, &ci);
	tlsctx_describe(s, &si);
	ok(h.c_ok && h.s_ok && ci.verified,
	    "SNI front: forged cert for the SNI verifies");
	is_str(ci.peer_subject, "CN=muc.example.org", "SNI front: subject");
	is_str(si.alpn, "xmpp-client", "SNI front: ALPN");
	is_str(si.sni, "muc.example.org", "SNI front: SNI received");
	ok(SSL_get_SSL_CTX(s) ==
	        tlsctx_server_ctx(forge, "muc.example.org", &err),
	    "SNI front switched to the cached forged ctx");
	SSL_free(c);
	SSL_free(s);
	c = SSL_new(tlsctx_ctx(cli)); /* no prepare: no SNI */
	s = SSL_new(tlsctx_ctx(forge));
	h = handshake(c, s);
	ok(h.s_fail && !h.s_ok && !h.c_ok, "SNI front: no SNI, no handshake");
	is_int(h.c_reason, SSL_R_TLSV1_UNRECOGNIZED_NAME,
	    "no SNI: unrecognized_name alert");
	SSL_free(c);
	SSL_free(s);
	/* Without SNI, the default domain (the upstream's name) is used;
	 * an address literal is no default. */
	tlsctx_set_default_domain(forge, "127.0.0.1");
	c = SSL_new(tlsctx_ctx(cli));
	s = SSL_new(tlsctx_ctx(forge));
	h = handshake(c, s);
	ok(h.s_fail && !h.c_ok, "an IP literal is no default domain");
	SSL_free(c);
	SSL_free(s);
	tlsctx_set_default_domain(forge, "upstream.example.org");
	c = SSL_new(tlsctx_ctx(cli));
	s = SSL_new(tlsctx_ctx(forge));
	h = handshake(c, s);
	tlsctx_describe(c, &ci);
	ok(h.c_ok && h.s_ok, "no SNI: forged for the default domain");
	is_str(ci.peer_subject, "CN=upstream.example.org",
	    "no SNI: default domain's subject");
	SSL_free(c);
	SSL_free(s);
	tlsctx_set_default_domain(forge, NULL);
	c = SSL_new(tlsctx_ctx(cli));
	SSL_set_tlsext_host_name(c, badsni);
	s = SSL_new(tlsctx_ctx(forge));
	h = handshake(c, s);
	ok(h.s_fail && !h.s_ok && !h.c_ok, "SNI front: bad SNI refused");
	is_int(h.c_reason, SSL_R_TLSV1_UNRECOGNIZED_NAME,
	    "bad SNI: unrecognized_name alert");
	SSL_free(c);
	SSL_free(s);

	/* TLS 1.2 still works: Prosody offers -PLUS only there. */
	c = client_ssl(cli, "chat.example.org", alpn_xmpp);
	SSL_set_max_proto_version(c, TLS1_2_VERSION);
	s = SSL_new(tlsctx_server_ctx(forge, "chat.example.org", &err));
	h = handshake(c, s);
	tlsctx_describe(c, &ci);
	ok(h.c_ok && h.s_ok && ci.verified, "TLS 1.2 client accepted");
	is_str(ci.version, "TLSv1.2", "describe: TLSv1.2");
	is_str(ci.alpn, "xmpp-client", "ALPN on TLS 1.2");
	SSL_free(c);
	SSL_free(s);

	/* Clients without ALPN, or with other protocols, still get TLS. */
	c = client_ssl(cli, "example.org", NULL);
	s = SSL_new(tlsctx_ctx(srv));
	h = handshake(c, s);
	tlsctx_describe(c, &ci);
	ok(h.c_ok && h.s_ok && ci.verified,
	    "configured chain verifies, client without ALPN tolerated");
	is_str(ci.alpn, "", "no ALPN negotiated");
	is_str(ci.peer_subject, "CN=example.org", "configured cert subject");
	SSL_free(c);
	SSL_free(s);
	c = client_ssl(cli, "example.org", alpn_h2);
	s = SSL_new(tlsctx_ctx(srv));
	h = handshake(c, s);
	tlsctx_describe(s, &si);
	ok(h.c_ok && h.s_ok, "client offering only h2 tolerated");
	is_str(si.alpn, "", "h2 not selected");
	SSL_free(c);
	SSL_free(s);

	/* (b) a cert for another name. */
	c = client_ssl(cli, "example.org", alpn_xmpp);
	s = SSL_new(tlsctx_ctx(wrong));
	h = handshake(c, s);
	ok(h.c_fail && !h.c_ok, "wrong-name cert refused by the client");
	is_int(SSL_get_verify_result(c), X509_V_ERR_HOSTNAME_MISMATCH,
	    "verify result: hostname mismatch");
	tlsctx_describe(c, &ci);
	ok(!ci.verified && strstr(ci.verify_error, "mismatch") != NULL,
	    "describe: not verified (%s)", ci.verify_error);
	SSL_free(c);
	SSL_free(s);

	/* Without verification the same server is let through, flagged. */
	c = client_ssl(nover, "example.org", alpn_xmpp);
	s = SSL_new(tlsctx_ctx(wrong));
	h = handshake(c, s);
	tlsctx_describe(c, &ci);
	ok(h.c_ok && h.s_ok, "verify=false accepts the wrong name");
	ok(!ci.verified, "verify=false: describe says not verified (%s)",
	    ci.verify_error);
	SSL_free(c);
	SSL_free(s);

	c = client_ssl(nover, "example.org", alpn_xmpp);
	s = SSL_new(tlsctx_ctx(self));
	h = handshake(c, s);
	tlsctx_describe(c, &ci);
	ok(h.c_ok && h.s_ok && !ci.verified &&
	        strstr(ci.verify_error, "self") != NULL,
	    "verify=false: an untrusted chain is described (%s)",
	    ci.verify_error);
	is_str(ci.peer_subject, "CN=example.org", "verify=false: subject");
	SSL_free(c);
	SSL_free(s);

	/* (c) an untrusted self-signed cert for the right name. */
	c = client_ssl(cli, "example.org", alpn_xmpp);
	s = SSL_new(tlsctx_ctx(self));
	h = handshake(c, s);
	ok(h.c_fail && !h.c_ok, "self-signed cert refused by the client");
	is_int(SSL_get_verify_result(c), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
	    "verify result: self-signed");
	SSL_free(c);
	SSL_free(s);

	/*
	 * (d) a client capped at TLS 1.1, built by hand (our own client never
	 * offers it) with security level 0 so that it really sends 1.1.
	 */
	raw = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_security_level(raw, 0);
	SSL_CTX_set_min_proto_version(raw, TLS1_VERSION);
	c = SSL_new(raw);
	SSL_set_max_proto_version(c, TLS1_2_VERSION);
	s = SSL_new(tlsctx_server_ctx(forge, "chat.example.org", &err));
	h = handshake(c, s);
	ok(h.c_ok && h.s_ok, "control: the hand-built client does TLS 1.2");
	SSL_free(c);
	SSL_free(s);
	c = SSL_new(raw);
	SSL_set_max_proto_version(c, TLS1_1_VERSION);
	s = SSL_new(tlsctx_server_ctx(forge, "chat.example.org", &err));
	h = handshake(c, s);
	ok(h.s_fail && !h.s_ok && !h.c_ok, "server refuses a TLS 1.1 client");
	is_int(h.s_reason, SSL_R_UNSUPPORTED_PROTOCOL,
	    "server: unsupported protocol");
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(raw);

	err = NULL;
	c = SSL_new(tlsctx_ctx(cli));
	ok(tlsctx_client_prepare(
	       c, "example.org", "sni.example.org", NULL, &err) == 0,
	    "prepare with a separate SNI");
	ok(SSL_get_servername(c, TLSEXT_NAMETYPE_host_name) != NULL &&
	        strcmp(SSL_get_servername(c, TLSEXT_NAMETYPE_host_name),
	            "sni.example.org") == 0,
	    "SNI is the one given");
	SSL_free(c);
	c = SSL_new(tlsctx_ctx(cli));
	ok(tlsctx_client_prepare(c, "192.0.2.1", NULL, NULL, &err) == 0 &&
	        SSL_get_servername(c, TLSEXT_NAMETYPE_host_name) == NULL,
	    "no SNI for an address literal");
	SSL_free(c);

	tlsctx_free(forge);
	tlsctx_free(cli);
	tlsctx_free(nover);
	tlsctx_free(srv);
	tlsctx_free(wrong);
	tlsctx_free(self);
}

int
main(void)
{
	const struct testcert_id *ca, *shortca, *leaf, *wrong, *self;

	certs = testcert_new("t-tlsctx");
	ca = testcert_ca(certs, "ca", "xmppgate test CA", 3650);
	shortca = testcert_ca(certs, "short", "short CA", 30);
	leaf =
	    testcert_leaf(certs, "leaf", "example.org", "example.org", ca, 30);
	wrong = testcert_leaf(
	    certs, "wrong", "wrong.example.net", "wrong.example.net", ca, 30);
	self = testcert_leaf(
	    certs, "self", "example.org", "example.org", NULL, 30);

	test_domains();
	test_key_mode(leaf->key_file);
	test_server(leaf->pem, leaf->key_file, self->key_file);
	test_error();
	test_forge(ca->pem, ca->key_file, ca->cert, shortca->pem,
	    shortca->key_file, shortca->cert, leaf->pem, leaf->key_file);
	test_handshakes(ca->pem, ca->key_file, leaf->pem, leaf->key_file,
	    wrong->pem, wrong->key_file, self->pem, self->key_file);

	testcert_free(certs);
	return done_testing();
}
