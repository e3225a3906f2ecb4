/* SPDX-License-Identifier: ISC */
/*
 * The client side of SASL for the replay's own login: SCRAM-SHA-256 and
 * SCRAM-SHA-1 (RFC 5802, RFC 7677) without channel binding (gs2 flag "n"),
 * with the server's signature checked, and PLAIN (RFC 4616). Built on
 * OpenSSL's PBKDF2 and HMAC. Messages go in and out raw; base64 and XML are
 * the caller's. The password is used as its UTF-8 bytes (no SASLprep
 * normalization: it is the identity for ASCII and NFKC-normal passwords).
 * Secrets are wiped when freed and never appear in an error.
 */
#ifndef XMPPGATE_REPLAY_SCRAM_H
#define XMPPGATE_REPLAY_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

enum scram_mech {
	SCRAM_MECH_PLAIN,
	SCRAM_MECH_SHA1,
	SCRAM_MECH_SHA256,
};

/* A server may ask for at most this many PBKDF2 iterations. */
#define SCRAM_MAX_ITERATIONS 4000000

/* "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256". */
const char *scram_mech_name(enum scram_mech);
/* Parses a mechanism name; -1 when not one of ours. */
int scram_mech_parse(const char *name, enum scram_mech *out)
    __attribute__((warn_unused_result));

struct scram;

/*
 * A login as authcid with password. nonce is the client nonce for tests
 * (printable ASCII, no comma); NULL makes a random one.
 */
struct scram *scram_new(enum scram_mech, const char *authcid,
    const char *password, const char *nonce);
/* Wipes the secrets; NULL is a no-op. */
void scram_free(struct scram *);

/* The initial response (client-first-message, or PLAIN's message). */
char *scram_initial(struct scram *, size_t *len);
/*
 * Answers a challenge (server-first-message) with the client-final-message.
 * Returns -1 with *err (free it) when the challenge is malformed, the nonce
 * is not ours, the iteration count is out of range, or PLAIN is challenged.
 */
int scram_step(struct scram *, const char *challenge, size_t len, char **out,
    size_t *outlen, char **err) __attribute__((warn_unused_result));
/*
 * Checks the additional data of <success/> (server-final-message): the
 * server's signature must be the one the password gives. PLAIN accepts
 * none. Returns -1 with *err when the server could not prove it knows the
 * password, or reported an error (e=).
 */
int scram_finish(struct scram *, const char *data, size_t len, char **err)
    __attribute__((warn_unused_result));
/* Whether scram_finish succeeded. */
bool scram_done(const struct scram *);

#endif
