/* SPDX-License-Identifier: ISC */
/*
 * SCRAM and PLAIN, client side. The SCRAM exchange keeps the three messages
 * that make up AuthMessage and the salted password between steps; the
 * server's signature is derived when the client proof is, and compared in
 * constant time when <success/> arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "b64.h"
#include "buf.h"
#include "log.h"
#include "scram.h"
#include "xmalloc.h"

#define SCRAM_MAX_MD 64 /* EVP_MAX_MD_SIZE is enough; SHA-256 needs 32 */

struct scram {
	enum scram_mech mech;
	char *authcid;
	char *password; /* wiped on free */
	char *nonce;    /* the client nonce */
	char *client_first_bare;
	unsigned char server_sig[SCRAM_MAX_MD];
	size_t mdlen;
	int step; /* 0 initial, 1 answered the challenge, 2 done */
};

const char *
scram_mech_name(enum scram_mech m)
{
	switch (m) {
	case SCRAM_MECH_PLAIN:
		return "PLAIN";
	case SCRAM_MECH_SHA1:
		return "SCRAM-SHA-1";
	case SCRAM_MECH_SHA256:
		return "SCRAM-SHA-256";
	}
	return "?";
}

int
scram_mech_parse(const char *name, enum scram_mech *out)
{
	if (strcmp(name, "PLAIN") == 0)
		*out = SCRAM_MECH_PLAIN;
	else if (strcmp(name, "SCRAM-SHA-1") == 0)
		*out = SCRAM_MECH_SHA1;
	else if (strcmp(name, "SCRAM-SHA-256") == 0)
		*out = SCRAM_MECH_SHA256;
	else
		return -1;
	return 0;
}

static const EVP_MD *
scram_md(const struct scram *s)
{
	return s->mech == SCRAM_MECH_SHA1 ? EVP_sha1() : EVP_sha256();
}

struct scram *
scram_new(enum scram_mech mech, const char *authcid, const char *password,
    const char *nonce)
{
	struct scram *s = xcalloc(1, sizeof(*s));
	unsigned char rnd[18];
	char b64[sizeof(rnd) / 3 * 4 + 1];

	s->mech = mech;
	s->authcid = xstrdup(authcid);
	s->password = xstrdup(password);
	if (nonce != NULL) {
		s->nonce = xstrdup(nonce);
	} else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			fatalx("scram: no random bytes for the nonce");
		b64_encode(rnd, sizeof(rnd), b64);
		s->nonce = xstrdup(b64); /* base64 has no comma */
	}
	s->mdlen = mech == SCRAM_MECH_SHA1 ? 20 : 32;
	return s;
}

static void
scram_wipe_str(char *p)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

void
scram_free(struct scram *s)
{
	if (s == NULL)
		return;
	scram_wipe_str(s->password);
	free(s->authcid);
	free(s->nonce);
	free(s->client_first_bare);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

bool
scram_done(const struct scram *s)
{
	return s->step == 2;
}

/* RFC 5802 saslname: ',' and '=' escaped. */
static void
scram_saslname(struct buf *b, const char *name)
{
	for (; *name != '\0'; name++) {
		if (*name == ',')
			buf_adds(b, "=2C");
		else if (*name == '=')
			buf_adds(b, "=3D");
		else
			buf_addc(b, *name);
	}
}

char *
scram_initial(struct scram *s, size_t *len)
{
	struct buf b;

	buf_init(&b);
	if (s->mech == SCRAM_MECH_PLAIN) {
		/* authzid (empty) NUL authcid NUL password */
		buf_addc(&b, '\0');
		buf_adds(&b, s->authcid);
		buf_addc(&b, '\0');
		buf_adds(&b, s->password);
		*len = b.len;
		return buf_release(&b);
	}
	buf_adds(&b, "n=");
	scram_saslname(&b, s->authcid);
	buf_addf(&b, ",r=%s", s->nonce);
	free(s->client_first_bare);
	s->client_first_bare = xstrdup(b.data);
	buf_reset(&b);
	buf_addf(&b, "n,,%s", s->client_first_bare);
	*len = b.len;
	return buf_release(&b);
}

/*
 * The value of attribute `key` in a SCRAM message ("r=...,s=...,i=..."),
 * xmalloc'd, or NULL. Only the attributes before any unknown one matter to
 * us; RFC 5802 puts r, s, i first in that order.
 */
static char *
scram_attr(const char *msg, size_t len, char key)
{
	const char *p = msg, *end = msg + len, *comma;

	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		if (comma - p >= 2 && p[0] == key && p[1] == '=')
			return xstrndup(p + 2, (size_t)(comma - p - 2));
		p = comma + 1;
	}
	return NULL;
}

static void
scram_hmac(const struct scram *s, const unsigned char *key, size_t keylen,
    const void *data, size_t len, unsigned char *out)
{
	unsigned int n = 0;

	if (HMAC(scram_md(s), key, (int)keylen, data, len, out, &n) == NULL ||
	    n != s->mdlen)
		fatalx("scram: HMAC failed");
}

/* The proof and the server signature for the salted password. */
static void
scram_proof(struct scram *s, const unsigned char *salted, const char *authmsg,
    unsigned char *proof)
{
	unsigned char ckey[SCRAM_MAX_MD], stored[SCRAM_MAX_MD];
	unsigned char csig[SCRAM_MAX_MD], skey[SCRAM_MAX_MD];
	unsigned int n = 0;
	size_t i;

	scram_hmac(s, salted, s->mdlen, "Client Key", 10, ckey);
	if (EVP_Digest(ckey, s->mdlen, stored, &n, scram_md(s), NULL) != 1)
		fatalx("scram: digest failed");
	scram_hmac(s, stored, s->mdlen, authmsg, strlen(authmsg), csig);
	for (i = 0; i < s->mdlen; i++)
		proof[i] = ckey[i] ^ csig[i];
	scram_hmac(s, salted, s->mdlen, "Server Key", 10, skey);
	scram_hmac(s, skey, s->mdlen, authmsg, strlen(authmsg), s->server_sig);
	OPENSSL_cleanse(ckey, sizeof(ckey));
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(csig, sizeof(csig));
	OPENSSL_cleanse(skey, sizeof(skey));
}

/* Checks the server-first-message; fills nonce, salt and iterations. */
static int
scram_parse_first(struct scram *s, const char *msg, size_t len, char **nonce,
    unsigned char **salt, long *saltlen, unsigned long *iter, char **err)
{
	char *b64salt = NULL, *it = NULL, *end;

	*nonce = NULL;
	*salt = NULL;
	if (len > 0 && msg[0] == 'm') {
		*err = xstrdup("the server requires a SCRAM extension (m=) we "
		               "do not know");
		return -1;
	}
	*nonce = scram_attr(msg, len, 'r');
	b64salt = scram_attr(msg, len, 's');
	it = scram_attr(msg, len, 'i');
	if (*nonce == NULL || b64salt == NULL || it == NULL) {
		*err = xstrdup("malformed SCRAM challenge (no r, s or i)");
		goto fail;
	}
	if (strncmp(*nonce, s->nonce, strlen(s->nonce)) != 0 ||
	    strlen(*nonce) <= strlen(s->nonce)) {
		*err = xstrdup("the SCRAM challenge does not extend our nonce");
		goto fail;
	}
	*iter = strtoul(it, &end, 10);
	if (*it == '\0' || *end != '\0' || *iter < 1 ||
	    *iter > SCRAM_MAX_ITERATIONS) {
		*err = xasprintf("SCRAM iteration count '%.20s' out of range "
		                 "(1 to %d)",
		    it, SCRAM_MAX_ITERATIONS);
		goto fail;
	}
	*salt = xmalloc(strlen(b64salt) / 4 * 3 + 3);
	*saltlen = b64_decode(b64salt, strlen(b64salt), *salt);
	if (*saltlen <= 0) {
		*err = xstrdup("the SCRAM salt is not base64");
		goto fail;
	}
	free(b64salt);
	free(it);
	return 0;
fail:
	free(*nonce);
	free(*salt);
	*nonce = NULL;
	*salt = NULL;
	free(b64salt);
	free(it);
	return -1;
}

int
scram_step(struct scram *s, const char *challenge, size_t len, char **out,
    size_t *outlen, char **err)
{
	unsigned char *salt = NULL, salted[SCRAM_MAX_MD], proof[SCRAM_MAX_MD];
	char proof64[SCRAM_MAX_MD / 3 * 4 + 8];
	unsigned long iter;
	long saltlen = 0;
	char *nonce, *without, *authmsg, *first;
	struct buf b;

	if (s->mech == SCRAM_MECH_PLAIN || s->step != 0 ||
	    s->client_first_bare == NULL) {
		*err = xstrdup("unexpected SASL challenge");
		return -1;
	}
	if (memchr(challenge, '\0', len) != NULL) {
		*err = xstrdup("malformed SCRAM challenge (NUL byte)");
		return -1;
	}
	if (scram_parse_first(
	        s, challenge, len, &nonce, &salt, &saltlen, &iter, err) == -1)
		return -1;
	if (PKCS5_PBKDF2_HMAC(s->password, (int)strlen(s->password), salt,
	        (int)saltlen, (int)iter, scram_md(s), (int)s->mdlen,
	        salted) != 1)
		fatalx("scram: PBKDF2 failed");
	free(salt);
	without = xasprintf("c=biws,r=%s", nonce);
	first = xstrndup(challenge, len);
	authmsg = xasprintf("%s,%s,%s", s->client_first_bare, first, without);
	scram_proof(s, salted, authmsg, proof);
	b64_encode(proof, s->mdlen, proof64);
	buf_init(&b);
	buf_addf(&b, "%s,p=%s", without, proof64);
	*outlen = b.len;
	*out = buf_release(&b);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(proof, sizeof(proof));
	free(nonce);
	free(without);
	free(first);
	free(authmsg);
	s->step = 1;
	return 0;
}

int
scram_finish(struct scram *s, const char *data, size_t len, char **err)
{
	unsigned char sig[SCRAM_MAX_MD + 3];
	char *v, *e;
	long n;

	if (s->mech == SCRAM_MECH_PLAIN) {
		s->step = 2;
		return 0;
	}
	if (s->step != 1) {
		*err = xstrdup("the server declared success before the SCRAM "
		               "exchange ended");
		return -1;
	}
	if ((e = scram_attr(data, len, 'e')) != NULL) {
		*err = xasprintf("the server reported SCRAM error '%.64s'", e);
		free(e);
		return -1;
	}
	if ((v = scram_attr(data, len, 'v')) == NULL) {
		*err = xstrdup("the server sent no signature (v=): it did not "
		               "prove it knows the password");
		return -1;
	}
	n = strlen(v) / 4 * 3 + 3 <= sizeof(sig) ? b64_decode(v, strlen(v), sig)
	                                         : -1;
	free(v);
	if (n != (long)s->mdlen ||
	    CRYPTO_memcmp(sig, s->server_sig, s->mdlen) != 0) {
		*err = xstrdup("the server's SCRAM signature is wrong: it does "
		               "not know the password (or someone is in the "
		               "middle)");
		return -1;
	}
	s->step = 2;
	return 0;
}
