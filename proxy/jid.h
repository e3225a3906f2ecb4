/* SPDX-License-Identifier: ISC */
/*
 * JIDs (RFC 7622): splitting into local, domain and resource the way servers
 * do (at the first '/', then the first '@' before it). No stringprep here.
 */
#ifndef XMPPGATE_JID_H
#define XMPPGATE_JID_H

#include <stdbool.h>
#include <stddef.h>

struct jid {
	char *local;	/* owned or NULL */
	char *domain;	/* owned */
	char *resource; /* owned or NULL */
};

/* Returns -1 on an empty or malformed JID (empty part, part > 1023 bytes). */
int jid_parse(const char *s, struct jid *out) __attribute__((warn_unused_result));
void jid_fini(struct jid *);
/*
 * The bare JID (local@domain or domain), xmalloc'd; NULL when s is NULL or
 * not a valid JID (the same rules as jid_parse).
 */
char *jid_bare(const char *s);

#endif
