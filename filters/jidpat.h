/* SPDX-License-Identifier: ISC */
/*
 * JID patterns for filter conditions: a JID whose parts may hold '*'
 * (any run of characters): "*@example.org", "room@conference.example.org",
 * "*@*.example.net/phone*". A pattern without a resource matches any
 * resource (or none); a pattern without a localpart matches only JIDs
 * without one (a server or a component). Localpart and domainpart compare
 * without case (Unicode simple case folding), the resourcepart exactly, and
 * a trailing dot of a domain is ignored (RFC 7622 3.2). It does not apply
 * PRECIS width mapping, NFC or IDNA: "xn--" domains match only as written.
 */
#ifndef XMPPGATE_JIDPAT_H
#define XMPPGATE_JIDPAT_H

#include <stdbool.h>

struct jidpat;

/* Whether pattern is a valid JID pattern; -1 with *errstr when not. */
int jidpat_check(const char *pattern, const char **errstr)
    __attribute__((warn_unused_result));
/* Compiles a pattern that passed jidpat_check(); NULL otherwise. */
struct jidpat *jidpat_new(const char *pattern);
void jidpat_free(struct jidpat *); /* NULL is a no-op */
/* Whether jid (as a stanza spells it) matches; false for NULL or an
 * invalid JID. */
bool jidpat_match(const struct jidpat *, const char *jid);

#endif
