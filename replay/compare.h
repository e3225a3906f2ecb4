/* SPDX-License-Identifier: ISC */
/*
 * Canonical comparison of two stanzas: the recorded answer (its JIDs
 * already mapped to the live session's) and the one that came. Both are
 * brought to a canonical form that drops what legitimately changes from one
 * run to the next and what XML or XMPP gives no meaning to:
 *
 *   - the stanza's id (ids are matched, not compared), namespace prefixes,
 *     attribute order, whitespace-only text between elements;
 *   - values that change by nature: <delay/> and jabber:x:delay stamps,
 *     XEP-0359 stanza-id and origin-id ids, occupant ids, entity time,
 *     last-activity seconds, roster versions, MAM archive ids and RSM
 *     first/last markers (each becomes "*");
 *   - the order of sibling elements: a stanza's payloads, and the children
 *     of disco#info and disco#items queries, roster queries and items,
 *     stanza errors, MUC user data and block lists. Elsewhere order counts.
 *
 * Text is compared exactly. It knows nothing about which stanzas should be
 * compared (expect.c) or how JIDs map (jidmap.c).
 */
#ifndef XMPPGATE_REPLAY_COMPARE_H
#define XMPPGATE_REPLAY_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "xnode.h"

/* At most this many differences are described for one stanza. */
#define COMPARE_MAX_DIFFS 6

/* The canonical form of el as text (xmalloc'd): equal forms, equal stanzas. */
char *compare_canon(const struct xnode *el);
bool compare_equal(const struct xnode *want, const struct xnode *got);
/*
 * Describes how got differs from want, one sentence per difference naming
 * the element ("iq/query (http://jabber.org/protocol/disco#info): extra
 * <feature var='jabber:iq:version'/>"). Returns the number of sentences
 * (0 when equal) and sets *out to an xmalloc'd array of xmalloc'd strings.
 */
size_t compare_diff(
    const struct xnode *want, const struct xnode *got, char ***out);
void compare_diff_free(char **, size_t);
/* A short one-line rendering of an element, for reports (xmalloc'd). */
char *compare_brief(const struct xnode *el, size_t max);

#endif
