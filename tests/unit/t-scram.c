/* SPDX-License-Identifier: ISC */
/*
 * SASL for xmppgate-replay: the SCRAM-SHA-1 exchange of RFC 5802 section 5
 * and the SCRAM-SHA-256 one of RFC 7677 section 3, byte for byte, the
 * server signature check, every malformed or hostile challenge refused,
 * PLAIN, and no secret in any error.
 */
#include <stdlib.h>
#include <string.h>

#include "scram.h"
#include "../tap.h"

struct vector {
	enum scram_mech mech;
	const char *nonce;
	const char *client_first;
	const char *server_first;
	const char *client_final;
	const char *server_final;
};

static const struct vector vectors[] = {
    {SCRAM_MECH_SHA1, "fyko+d2lbbFgONRv9qkxdawL",
        "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
        "i=4096",
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
        "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="},
    {SCRAM_MECH_SHA256, "rOprNGfwEbeRWgbNEkqO",
        "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
};

static void
test_vectors(void)
{
	size_t i, len, outlen;
	char *init, *out = NULL, *err = NULL;
	struct scram *s;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		const char *name = scram_mech_name(v->mech);

		s = scram_new(v->mech, "user", "pencil", v->nonce);
		init = scram_initial(s, &len);
		is_str(init, v->client_first, "%s: client-first-message", name);
		is_int(len, strlen(v->client_first), "%s: its length", name);
		ok(scram_step(s, v->server_first, strlen(v->server_first), &out,
		       &outlen, &err) == 0,
		    "%s: server-first-message accepted", name);
		is_str(out, v->client_final,
		    "%s: client-final-message (the "
		    "proof)",
		    name);
		ok(!scram_done(s), "%s: not done before the signature", name);
		ok(scram_finish(
		       s, v->server_final, strlen(v->server_final), &err) == 0,
		    "%s: the server signature verifies", name);
		ok(scram_done(s), "%s: done", name);
		free(init);
		free(out);
		out = NULL;
		scram_free(s);
	}
}

/* Runs the exchange up to the signature; returns the scram. */
static struct scram *
until_final(const struct vector *v, const char *password)
{
	struct scram *s = scram_new(v->mech, "user", password, v->nonce);
	char *init, *out = NULL, *err = NULL;
	size_t len, outlen;

	init = scram_initial(s, &len);
	if (scram_step(s, v->server_first, strlen(v->server_first), &out,
	        &outlen, &err) == -1)
		diag("step failed: %s", err);
	free(init);
	free(out);
	free(err);
	return s;
}

static void
test_signature(void)
{
	const struct vector *v = &vectors[1];
	struct scram *s;
	char *err = NULL;

	s = until_final(v, "pencil");
	ok(scram_finish(s, "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 46,
	       &err) == -1 &&
	        strstr(err, "signature is wrong") != NULL,
	    "a wrong server signature is refused: %s", err ? err : "");
	ok(!scram_done(s), "not done");
	free(err);
	err = NULL;
	ok(scram_finish(s, "v=AAAA", 6, &err) == -1, "a short signature too");
	free(err);
	err = NULL;
	ok(scram_finish(s, "e=invalid-proof", 15, &err) == -1 &&
	        strstr(err, "invalid-proof") != NULL,
	    "e= is reported: %s", err ? err : "");
	free(err);
	err = NULL;
	ok(scram_finish(s, "", 0, &err) == -1 &&
	        strstr(err, "did not prove") != NULL,
	    "success without v= is refused");
	free(err);
	err = NULL;
	scram_free(s);

	/* The right server with another password: its signature fails. */
	s = until_final(v, "pencil2");
	ok(scram_finish(s, v->server_final, strlen(v->server_final), &err) ==
	        -1,
	    "the genuine signature does not verify with another password");
	ok(err != NULL && strstr(err, "pencil") == NULL,
	    "the password is not in the error");
	free(err);
	scram_free(s);
}

static void
refused(const char *challenge, const char *want, const char *what)
{
	struct scram *s = scram_new(
	    SCRAM_MECH_SHA1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
	char *init, *out = NULL, *err = NULL;
	size_t len, outlen;
	int rc;

	init = scram_initial(s, &len);
	rc = scram_step(s, challenge, strlen(challenge), &out, &outlen, &err);
	ok(rc == -1 && out == NULL && err != NULL && strstr(err, want) != NULL,
	    "refused: %s (%s)", what, err ? err : "no error");
	free(init);
	free(err);
	scram_free(s);
}

static void
test_bad_challenges(void)
{
	refused("r=someoneelse3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	    "does not extend our nonce", "a nonce that is not ours");
	refused("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
	    "does not extend our nonce", "our nonce alone");
	refused("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=0",
	    "out of range", "zero iterations");
	refused("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=99999999",
	    "out of range", "a CPU-burning iteration count");
	refused("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=12ab",
	    "out of range", "a non-numeric count");
	refused("r=fyko+d2lbbFgONRv9qkxdawLx,s=!!!,i=4096", "not base64",
	    "a salt that is not base64");
	refused(
	    "r=fyko+d2lbbFgONRv9qkxdawLx,i=4096", "no r, s or i", "no salt");
	refused("m=ext,r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=1",
	    "extension", "a mandatory extension");
	refused("", "no r, s or i", "an empty challenge");
}

static void
test_plain_and_names(void)
{
	struct scram *s = scram_new(SCRAM_MECH_PLAIN, "user", "pencil", NULL);
	char *init, *out = NULL, *err = NULL;
	size_t len, outlen;
	enum scram_mech m;

	init = scram_initial(s, &len);
	ok(len == 12 && memcmp(init, "\0user\0pencil", 12) == 0,
	    "PLAIN: empty authzid, NUL, authcid, NUL, password");
	ok(scram_step(s, "x", 1, &out, &outlen, &err) == -1,
	    "PLAIN refuses a challenge");
	free(err);
	err = NULL;
	ok(scram_finish(s, "", 0, &err) == 0 && scram_done(s),
	    "PLAIN is done at success");
	free(init);
	scram_free(s);

	s = scram_new(SCRAM_MECH_SHA256, "a,b=c", "pw", "NONCE");
	init = scram_initial(s, &len);
	is_str(init, "n,,n=a=2Cb=3Dc,r=NONCE", "saslname escapes , and =");
	free(init);
	scram_free(s);

	s = scram_new(SCRAM_MECH_SHA1, "user", "pw", NULL);
	init = scram_initial(s, &len);
	ok(strncmp(init, "n,,n=user,r=", 12) == 0 && strlen(init) == 12 + 24 &&
	        strchr(init + 12, ',') == NULL,
	    "a random nonce: 24 base64 characters, no comma");
	free(init);
	scram_free(s);

	ok(scram_mech_parse("SCRAM-SHA-256", &m) == 0 &&
	        m == SCRAM_MECH_SHA256 &&
	        scram_mech_parse("SCRAM-SHA-1", &m) == 0 &&
	        m == SCRAM_MECH_SHA1 && scram_mech_parse("PLAIN", &m) == 0 &&
	        m == SCRAM_MECH_PLAIN,
	    "mechanism names parse");
	ok(scram_mech_parse("SCRAM-SHA-1-PLUS", &m) == -1 &&
	        scram_mech_parse("DIGEST-MD5", &m) == -1,
	    "others do not");
	scram_free(NULL);
}

int
main(void)
{
	test_vectors();
	test_signature();
	test_bad_challenges();
	test_plain_and_names();
	return done_testing();
}
