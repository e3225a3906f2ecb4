/* SPDX-License-Identifier: ISC */
/*
 * Stream management (XEP-0198) across a proxy that drops and injects
 * stanzas: every `h` relayed is a receiver's count, and the sender must get
 * its own count back, so the session records what it forwarded, dropped and
 * injected on each flow and translates each `h` of <a/>, <resume/>,
 * <resumed/> and <failed/> (also inline in SASL2 <authenticate/>/<success/>
 * and Bind2 <bind/>/<bound/>). The state outlives the connection: at session
 * end it is parked in a proxy-wide table under its SM-ID, and the session
 * that resumes takes it back. Pure: no sockets, no libevent, no logging; it
 * neither classifies stanzas (the relay says what it did with each) nor
 * answers <r/> or invents acks of its own.
 */
#ifndef XMPPGATE_SMACK_H
#define XMPPGATE_SMACK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "xnode.h"

#define SMACK_NS_SM2 "urn:xmpp:sm:2" /* obsolete, still offered by some */

/* Runs of forwarded/dropped/injected stanzas kept per flow (see below). */
#define SMACK_MAX_RUNS 4096
/* Resumption window when <enabled/> has no usable max, and its cap (s). */
#define SMACK_WINDOW_DEFAULT 600
#define SMACK_WINDOW_MAX 3600
/* The table's bounds: entries, and runs summed over all entries. */
#define SMACK_TABLE_MAX_ENTRIES 100000
#define SMACK_TABLE_MAX_RUNS (1u << 22)

/*
 * The direction an element or stanza travels. A flow is named by it too:
 * the c2s flow is the client's stanzas (acked by the server's <a/>), the s2c
 * flow the server's stanzas (acked by the client's <a/>).
 */
enum smack_dir {
	SMACK_C2S,
	SMACK_S2C,
};

struct smack;       /* per session */
struct smack_table; /* per proxy: parked states by SM-ID */

const char *smack_dir_str(enum smack_dir);

struct smack *smack_new(void);
void smack_free(struct smack *); /* NULL is a no-op */

/*
 * Stanza accounting, called by the relay for every stanza (message,
 * presence, iq in jabber:client) in the order they happen, whether or not
 * SM is on (a flow that does not count records nothing):
 *   forwarded: a sender's stanza went on to the receiver;
 *   dropped:   a sender's stanza was not passed on;
 *   injected:  the proxy wrote a stanza of its own travelling in dir.
 * A bounce is dropped(dir) plus injected(opposite dir). Each alternation of
 * kinds not yet acked costs a run; returns -1 when the flow would pass
 * SMACK_MAX_RUNS (the peer is not acking), and the caller ends the session
 * with resource-constraint: the count can no longer be kept. Else 0.
 */
int smack_forwarded(struct smack *, enum smack_dir)
    __attribute__((warn_unused_result));
int smack_dropped(struct smack *, enum smack_dir)
    __attribute__((warn_unused_result));
int smack_injected(struct smack *, enum smack_dir)
    __attribute__((warn_unused_result));

/*
 * Observes a nonza (a depth-1 element that is not a stanza) travelling in
 * dir: <enable/>, <enabled/>, <failed/>, <resume/>, <resumed/> and <a/> in
 * urn:xmpp:sm:3 (or :2), and the same nested in SASL2 <authenticate/>
 * (<resume/>, <bind><enable/></bind>) and <success/> (<resumed/>, <failed/>,
 * <bound><enabled/> or <failed/></bound>). Rewrites `h` attributes of el in
 * place, as decimal without leading zeros. Returns true when el changed (the
 * caller serializes it again), false when the original bytes may go on,
 * including when a translation is the identity (el is then untouched). An
 * `h` that is not a decimal uint32 is left for the peer to reject; one
 * behind the last ack folded (a peer repeating itself) is shifted by the
 * current offset and folds nothing; one beyond what the proxy recorded
 * passes one for one. A <resume/> takes its previd's state out of table (an
 * unknown or expired previd translates as the identity, counting from the
 * resumed counts); a <failed/> answering it puts the state back unchanged.
 * now is for the table's expiry.
 */
bool smack_nonza(struct smack *, struct smack_table *, enum smack_dir,
    struct xnode *el, time_t now);

/*
 * The session's full JID, kept with the counts: a session that resumes
 * binds nothing, and learns its JID from the state it resumed
 * (XMPP-NOTES.md 6). smack_jid() gives it once a resumption succeeded (or
 * the session's own after bind), else NULL; borrowed.
 */
void smack_set_jid(struct smack *, const char *jid);
const char *smack_jid(const struct smack *);

/* The SM-ID when the session holds a resumable state, else NULL. Borrowed. */
const char *smack_id(const struct smack *);

/*
 * At session end: moves a resumable state into table under its SM-ID,
 * leaving s empty; does nothing otherwise. It waits there for the max of
 * <enabled/> (SMACK_WINDOW_DEFAULT when absent, at most SMACK_WINDOW_MAX)
 * counted from now; a state whose <resume/> went unanswered goes back as it
 * was, its window still counted from its first parking.
 */
void smack_park(struct smack *, struct smack_table *, time_t now);
/*
 * At the end of a session whose stream the server saw closed with
 * </stream:stream>: that ends the XEP-0198 session for good (XEP-0198 7),
 * so an enabled state is forgotten instead of parked. A state taken for a
 * <resume/> not yet answered still goes back, as smack_park() puts it.
 */
void smack_end(struct smack *, struct smack_table *, time_t now);

/* Runs a flow holds (not yet folded by an ack): for tests and logs. */
size_t smack_runs(const struct smack *, enum smack_dir);

struct smack_table *smack_table_new(void);
/* Frees the table and every state parked in it; NULL is a no-op. */
void smack_table_free(struct smack_table *);
/* Entries parked, expired ones not yet swept included. */
size_t smack_table_count(const struct smack_table *);

#endif
