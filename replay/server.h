/* SPDX-License-Identifier: ISC */
/*
 * Server mode: play the recorded server to one client under test. Listens,
 * accepts one client, negotiates a stream of its own (STARTTLS with the
 * given certificate, SASL PLAIN accepting any credentials, bind, session),
 * then answers each client stanza with the recorded server elements that
 * followed its recorded counterpart.
 */
#ifndef XMPPGATE_REPLAY_SERVER_H
#define XMPPGATE_REPLAY_SERVER_H

#include "jidmap.h"
#include "recording.h"
#include "report.h"

struct server_opts {
	const char *listen; /* ADDR:PORT, numeric */
	const char *cert;   /* with key: offer STARTTLS; NULL: plaintext */
	const char *key;
	double speed;       /* recorded delays / speed; 0: --fast */
	double timeout;     /* idle seconds before the replay ends */
	struct jidmap *map; /* borrowed: --map pairs; the session is added */
};

/*
 * Runs until the client closes, goes idle for the timeout, or SIGINT or
 * SIGTERM. Returns 0 when a session ran (the report says how it went), -1
 * with *err when listening, the certificate or the client's TLS failed.
 */
int server_run(const struct recording *, const struct server_opts *,
    struct report *, char **err) __attribute__((warn_unused_result));

#endif
