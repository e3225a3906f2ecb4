/* SPDX-License-Identifier: ISC */
/*
 * Answering a blocked stanza (RFC 6120 8.3, XMPP-NOTES.md 8): whether the
 * proxy may answer it at all, and the error stanza it sends back to the
 * sender. Pure: it decides and builds; the relay sends.
 */
#ifndef XMPPGATE_BOUNCE_H
#define XMPPGATE_BOUNCE_H

#include <stdbool.h>

#include "muc.h"
#include "stanza.h"

/*
 * Whether st, blocked while travelling c2s (c2s true) or s2c, may get an
 * error back: never for errors, IQ results, presence, groupchat and
 * headline messages, carbons, archive results, the server's own messages,
 * or anything from or toward a MUC room or occupant (muc). An IQ request
 * from the client is always answered. jid is the session's full JID (or
 * NULL). *why says why not.
 */
bool bounce_allowed(const struct stanza *st, bool c2s, const struct muc *muc,
    const char *jid, const char **why);
/* Whether dropping st leaves a request unanswered (an IQ get or set), so
 * even a drop answers it when bounce_allowed() agrees. */
bool bounce_needed(const struct stanza *st);
/*
 * The error for st (the caller owns it): same element and id, type
 * 'error', from and to swapped toward the sender (the session's full JID
 * jid standing in for an address the server would stamp), and
 * <error type='modify'><policy-violation/><text>text</text></error>. The
 * blocked payload is not echoed.
 */
struct xnode *bounce_build(
    const struct stanza *st, bool c2s, const char *jid, const char *text);

#endif
