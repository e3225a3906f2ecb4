/* SPDX-License-Identifier: ISC */
/*
 * Bounces: the rules of RFC 6120 8.3 and the servers' reactions (ejabberd
 * kicks a user whose client sends an error to a room; Prosody does for
 * delivery errors; Conversations ignores an IQ error whose from is not the
 * request's to) turned into a decision and an error stanza.
 */
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "jid.h"
#include "xmlstream.h"
#include "xnode.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_CARBONS "urn:xmpp:carbons:2"

static bool
bounce_type_is(const struct stanza *st, const char *type)
{
	return st->type != NULL && strcmp(st->type, type) == 0;
}

bool
bounce_needed(const struct stanza *st)
{
	return st->kind == STANZA_IQ &&
	       (bounce_type_is(st, "get") || bounce_type_is(st, "set"));
}

/* A message the server itself sends for the account (no from, a domain,
 * or the user's own bare JID: PEP, carbons, archive): no one to bounce
 * to. */
static bool
bounce_from_server(const struct stanza *st, const char *jid)
{
	char *own;
	bool yes;

	if (st->from == NULL || strchr(st->from, '@') == NULL)
		return true;
	own = jid_bare(st->to != NULL ? st->to : jid);
	yes = own != NULL && strcmp(st->from, own) == 0;
	free(own);
	return yes;
}

bool
bounce_allowed(const struct stanza *st, bool c2s, const struct muc *muc,
    const char *jid, const char **why)
{
	const char *peer = c2s ? st->to : st->from;

	*why = NULL;
	if (st->kind == STANZA_NONZA)
		*why = "not a stanza";
	else if (bounce_type_is(st, "error"))
		*why = "an error is never answered";
	else if (st->kind == STANZA_IQ && bounce_type_is(st, "result"))
		*why = "an IQ result is never answered";
	else if (st->kind == STANZA_PRESENCE)
		*why = "presence is dropped silently";
	else if (muc_is_room(muc, peer) && !(c2s && bounce_needed(st)))
		*why = "no error goes toward a MUC room or occupant";
	else if (st->kind == STANZA_IQ)
		return true;
	else if (bounce_type_is(st, "groupchat"))
		*why = "no error goes toward a MUC room";
	else if (bounce_type_is(st, "headline"))
		*why = "headlines are never answered";
	else if (stanza_has(st, MUC_NS_USER, NULL))
		*why = "no error goes toward a MUC room or occupant";
	else if (!c2s && stanza_has(st, NS_CARBONS, NULL))
		*why = "a carbon copy is dropped silently";
	else if (!c2s && stanza_has(st, "urn:xmpp:mam:2", "result"))
		*why = "an archive result is dropped silently";
	else if (!c2s && bounce_from_server(st, jid))
		*why = "the server's own message is dropped silently";
	return *why == NULL;
}

struct xnode *
bounce_build(
    const struct stanza *st, bool c2s, const char *jid, const char *text)
{
	struct xnode *el =
	    xnode_new_element(XMLSTREAM_NS_CLIENT, stanza_kind_str(st->kind));
	struct xnode *err, *t;
	const char *from, *to;

	if (c2s) {
		from = st->to; /* NULL: the account answers */
		to = st->from ? st->from : jid;
	} else {
		from = st->to ? st->to : jid;
		to = st->from;
	}
	xnode_set_attr(el, NULL, "type", "error");
	if (st->id != NULL)
		xnode_set_attr(el, NULL, "id", st->id);
	if (from != NULL)
		xnode_set_attr(el, NULL, "from", from);
	if (to != NULL)
		xnode_set_attr(el, NULL, "to", to);
	err = xnode_append(el, xnode_new_element(XMLSTREAM_NS_CLIENT, "error"));
	xnode_set_attr(err, NULL, "type", "modify");
	xnode_append(err, xnode_new_element(NS_STANZAS, "policy-violation"));
	if (text != NULL) {
		t = xnode_append(err, xnode_new_element(NS_STANZAS, "text"));
		xnode_set_attr(t, XNODE_NS_XML, "lang", "en");
		xnode_append_text(t, text, strlen(text));
	}
	return el;
}
