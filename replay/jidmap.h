/* SPDX-License-Identifier: ISC */
/*
 * Mapping the JIDs of a recording to those of a live session: the recorded
 * session's full and bare JID to the live ones, the recorded domain to the
 * live domain when they differ, and the user's --map OLD=NEW pairs. Applied
 * to a tree, it rewrites the JID-valued places it can identify: the to,
 * from, jid and by attributes anywhere, and any other attribute value or
 * element text that is exactly a mapped JID (roster items, MUC items, data
 * form values), but never human text (body, subject, status). No
 * stringprep: JIDs compare as spelled, the domain and local part without
 * case.
 */
#ifndef XMPPGATE_REPLAY_JIDMAP_H
#define XMPPGATE_REPLAY_JIDMAP_H

#include <stdbool.h>

#include "xnode.h"

struct jidmap;

struct jidmap *jidmap_new(void);
void jidmap_free(struct jidmap *);
/*
 * Adds OLD=NEW (a --map argument). Both sides are JIDs: a full OLD maps
 * exactly that JID; a bare OLD also maps its full JIDs, keeping the
 * resource unless NEW is full; a domain OLD maps every JID of that domain.
 * Returns -1 with *err on a malformed argument. Earlier pairs win.
 */
int jidmap_add_arg(struct jidmap *, const char *arg, char **err)
    __attribute__((warn_unused_result));
/* Adds one pair (full, bare or domain, as above); both must be JIDs. */
int jidmap_add(struct jidmap *, const char *from, const char *to)
    __attribute__((warn_unused_result));
/*
 * Maps the recorded session (full JID old_full) to the live one: full to
 * full, bare to bare, and the domain when it changed. Pairs added before
 * take precedence.
 */
void jidmap_set_session(
    struct jidmap *, const char *old_full, const char *new_full);
/* The mapped JID (xmalloc'd), or NULL when jid is not mapped. */
char *jidmap_map(const struct jidmap *, const char *jid);
/* Rewrites the JID places of the tree in place. */
void jidmap_tree(const struct jidmap *, struct xnode *);
/*
 * Whether a and b are the same JID, as servers compare ASCII JIDs: local
 * part and domain without case, the resource exactly. False when either
 * is NULL or not a JID.
 */
bool jidmap_same(const char *a, const char *b);
/* Whether a and b have the same bare JID (same rules). */
bool jidmap_same_bare(const char *a, const char *b);

#endif
