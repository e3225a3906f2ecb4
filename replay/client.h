/* SPDX-License-Identifier: ISC */
/*
 * Client mode: play the recorded client against a live server. Connects,
 * negotiates TLS and SASL with the credentials given, binds, then hands the
 * stream to play.c, which sends the recorded stanzas and judges the answers
 * into the report.
 */
#ifndef XMPPGATE_REPLAY_CLIENT_H
#define XMPPGATE_REPLAY_CLIENT_H

#include <stdbool.h>

#include "expect.h"
#include "jidmap.h"
#include "recording.h"
#include "report.h"

enum client_tls {
	CLIENT_TLS_STARTTLS,
	CLIENT_TLS_DIRECT,
	CLIENT_TLS_NONE,
};

struct client_opts {
	const char *server; /* HOST:PORT */
	enum client_tls tls;
	bool verify;
	const char *ca_file;     /* NULL: the system store */
	const char *server_name; /* NULL: the domain of jid */
	const char *jid;         /* the account to log in as */
	const char *password;    /* never printed */
	const char *mechanism;   /* NULL: the strongest both sides have */
	bool allow_plain;        /* PLAIN without TLS */
	double speed;            /* recorded offsets / speed; 0: --fast */
	double timeout;          /* seconds for the last answers */
	struct jidmap *map; /* borrowed: --map pairs; the session is added */
};

/*
 * Runs the replay. Returns 0 when it ran to the end (the report says how it
 * went), or -1 with *err (free it) for a connection, TLS, negotiation or
 * authentication failure, or a bad option value.
 */
int client_run(const struct recording *, const struct expect_plan *,
    const struct client_opts *, struct report *, char **err)
    __attribute__((warn_unused_result));

#endif
