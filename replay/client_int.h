/* SPDX-License-Identifier: ISC */
/*
 * Client mode internals shared by client.c (connection and negotiation) and
 * play.c (sending the recorded stanzas and judging the answers).
 */
#ifndef XMPPGATE_REPLAY_CLIENT_INT_H
#define XMPPGATE_REPLAY_CLIENT_INT_H

#include <event2/event.h>

#include "client.h"
#include "scram.h"
#include "tlsctx.h"
#include "xmppc.h"

enum client_state {
	CLIENT_CONNECTING,
	CLIENT_FEATURES, /* header sent, waiting for the features */
	CLIENT_STARTTLS, /* <starttls/> sent */
	CLIENT_TLS,      /* handshake */
	CLIENT_AUTH,     /* SASL exchange */
	CLIENT_BIND,
	CLIENT_SESSION,
	CLIENT_PLAY,
	CLIENT_CLOSING, /* </stream:stream> sent, waiting for the server's */
	CLIENT_DONE,
};

struct play;

struct client {
	const struct client_opts *o;    /* borrowed */
	const struct recording *rec;    /* borrowed */
	const struct expect_plan *plan; /* borrowed */
	struct report *rep;             /* borrowed */
	struct event_base *base;        /* owned */
	struct xmppc *x;                /* owned */
	struct tlsctx *tc;              /* owned, NULL without TLS */
	struct event *timer;            /* owned: negotiation, then play */
	enum client_state st;
	char *host;
	unsigned port;
	char *local;    /* of the account */
	char *domain;   /* of the account: stream 'to' */
	char *resource; /* asked for at bind; NULL: the server's choice */
	char *jid;      /* the bound full JID */
	struct scram *sasl;
	bool tls_up;
	bool authed;
	bool session_wanted;
	char *err;         /* a failure that ends the run (exit 2) */
	struct play *play; /* owned, from CLIENT_PLAY on */
};

/* Starts playing: the stream is bound. */
void play_start(struct client *);
/* A stanza from the server while playing; takes el. */
void play_element(struct client *, struct xnode *el);
/* The timer fired while playing. */
void play_timer(struct client *);
/* The connection or stream ended while playing: note it, stop. */
void play_ended(struct client *, const char *why);
/* Writes the verdicts into the report (after the loop ended). */
void play_report(struct client *);
void play_free(struct play *);

/* Ends the stream: play is over (success or not). */
void client_close(struct client *);

#endif
