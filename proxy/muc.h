/* SPDX-License-Identifier: ISC */
/*
 * Which JIDs are multi-user chat rooms, as one session learns them from its
 * own traffic (XEP-0045): a join presence it sends, the room's presence and
 * groupchat messages it receives, private messages marked muc#user. The
 * proxy must never send an error toward a room or an occupant (servers kick
 * the user for it, XMPP-NOTES.md 8), so a bounce asks here first. Pure: it
 * reads trees; bounded by MUC_MAX_ROOMS (the oldest is forgotten).
 */
#ifndef XMPPGATE_MUC_H
#define XMPPGATE_MUC_H

#include <stdbool.h>
#include <stddef.h>

#include "xnode.h"

#define MUC_NS "http://jabber.org/protocol/muc"
#define MUC_NS_USER "http://jabber.org/protocol/muc#user"
#define MUC_MAX_ROOMS 1024

struct muc {
	char **rooms; /* owned: bare JIDs, oldest first */
	size_t n;
};

void muc_init(struct muc *);
void muc_fini(struct muc *);
/* Learns from a stanza travelling c2s (c2s true) or s2c. */
void muc_observe(struct muc *, bool c2s, const struct xnode *el);
/* Whether jid (bare or full) is a known room or one of its occupants. */
bool muc_is_room(const struct muc *, const char *jid);

#endif
