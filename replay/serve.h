/* SPDX-License-Identifier: ISC */
/*
 * The recorded conversation, as server mode plays it: which recorded client
 * stanzas a client under test should send, which recorded server elements
 * answer each of them, and when. Pure: no sockets, no clock of its own (the
 * caller passes the time).
 *
 * Each recorded server stanza after bind belongs to one recorded client
 * stanza: an iq result or error, or an error stanza, to the client stanza
 * whose id it carries; anything else to the last client stanza before it
 * (those before the first belong to the bind, and go out right after it).
 * When a live client stanza comes, it is matched to the first unmatched
 * recorded one with the same kind and type and, for an iq, the same payload
 * element; a message or presence to the same bare JID is preferred. The
 * server stanzas it owns are then queued, each delayed as it was after its
 * owner in the recording (divided by the speed; none with speed 0), with
 * JIDs mapped to the live session and ids of matched client stanzas
 * replaced by the ids the live client used. Injected by=proxy errors are
 * played too: the recorded client saw them. Nonzas are neither expected nor
 * played.
 */
#ifndef XMPPGATE_REPLAY_SERVE_H
#define XMPPGATE_REPLAY_SERVE_H

#include <stdbool.h>

#include "jidmap.h"
#include "recording.h"
#include "report.h"

#define SERVE_NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"

struct serve;

/*
 * Whether el is a session-establishment iq (RFC 3921): negotiation, which
 * server.c answers itself; recorded ones and their answers are not played.
 */
bool serve_is_session(const struct xnode *el);

/* map is borrowed; the session pair is added by serve_bound(). */
struct serve *serve_new(
    const struct recording *, struct jidmap *map, double speed);
void serve_free(struct serve *);
/* The resource the recording bound, or NULL. */
const char *serve_recorded_resource(const struct serve *);
/* The live session is bound as jid at time now: queues the bind's share. */
void serve_bound(struct serve *, const char *jid, double now);
/*
 * A live client stanza at time now. Returns true when it matched a recorded
 * one (its answers are queued), false when the recording did not expect it.
 */
bool serve_client(struct serve *, const struct xnode *el, double now);
/*
 * The next queued server element when it is due at now (the caller owns
 * it), else NULL with *wait set to the seconds until the next one, or -1
 * when nothing is queued.
 */
struct xnode *serve_next(struct serve *, double now, double *wait);
/* Seen and not seen recorded client stanzas, into the report. */
void serve_report(const struct serve *, struct report *);

#endif
