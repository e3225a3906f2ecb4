/* SPDX-License-Identifier: ISC */
/*
 * What a replay of a recording sends and expects. From the elements after
 * the recorded bind it makes the list of client stanzas to send (with the id
 * each gets on the wire) and classifies every recorded server element:
 *
 * EXPECTED, an answer the client's own stanzas cause, so a replay must
 * get it again:
 *   - the result or error of an iq get/set the client sent (matched by id);
 *   - an error message or presence carrying the id of one the client sent;
 *   - the echo of the client's broadcast presence from its own full JID;
 *   - a roster push for a JID the client itself changed (a roster set, or a
 *     subscription presence to that JID);
 *   - in a MUC, the reflection of a groupchat message the client sent
 *     (same id, from the room) and the client's own occupant presence (from
 *     the room JID it sent presence to);
 *   - a MAM result message carrying the queryid of a query the client sent.
 * NOT EXPECTED: everything else, which comes from other parties (their
 * messages and presence, other occupants, other resources of the account,
 * probes' answers) or from the server on its own (pushes for changes made
 * elsewhere, server requests): a replay without those parties cannot cause
 * them. They are reported, never failed.
 * SKIPPED: nonzas (stream management, CSI), the session-establishment iq
 * and its result (the replay negotiates its own stream) and errors that
 * xmppgate injected (by=proxy): the server never sent them.
 *
 * Client elements not sent: nonzas, by=proxy ones, the session iq, and iq
 * results or errors answering a server request (kept as replies, sent when
 * a matching request comes). Ids are kept; one a previous stanza already
 * used, or one of the replay's own, gets a suffix ("-2").
 */
#ifndef XMPPGATE_REPLAY_EXPECT_H
#define XMPPGATE_REPLAY_EXPECT_H

#include <stddef.h>

#include "recording.h"

/* The ids of the replay's own requests (bind, session). */
#define EXPECT_ID_BIND "xgr-bind"
#define EXPECT_ID_SESSION "xgr-session"

enum expect_class {
	EXPECT_ANSWER,
	EXPECT_UNSOLICITED,
	EXPECT_SKIPPED,
};

enum expect_how {
	EXPECT_BY_ID,      /* iq result/error, stanza error: by id */
	EXPECT_BY_CONTENT, /* kind, type, from and payload */
};

/* A client stanza to send. */
struct expect_send {
	size_t ev;              /* index in the recording */
	const struct xnode *el; /* borrowed: what the client sent */
	char *id;               /* owned: id on the wire, NULL when none */
};

/* A recorded server element after bind. */
struct expect_item {
	size_t ev;
	enum expect_class cls;
	enum expect_how how; /* ANSWER only */
	size_t cause;        /* ANSWER: index into send[] */
	const char *why;     /* static: the rule that decided */
};

/* A client element that is not sent. */
struct expect_skip {
	size_t ev;
	const char *why; /* static */
};

/* The client's answer to a server request: sent when such a request comes. */
struct expect_reply {
	size_t req; /* the recorded s2c iq get/set */
	size_t ans; /* the recorded c2s iq result/error */
};

struct expect_plan {
	struct expect_send *send;
	size_t nsend;
	struct expect_item *item;
	size_t nitem;
	struct expect_skip *skip;
	size_t nskip;
	struct expect_reply *reply;
	size_t nreply;
};

/*
 * Plans the replay of rec. Returns NULL with *err when the recording has no
 * bind (the session never bound a resource, so nothing can be replayed).
 */
struct expect_plan *expect_plan_new(const struct recording *rec, char **err)
    __attribute__((warn_unused_result));
void expect_plan_free(struct expect_plan *);
/* "expected", "not expected", "skipped". */
const char *expect_class_str(enum expect_class);
/* The number of items of class c. */
size_t expect_count(const struct expect_plan *, enum expect_class c);

#endif
