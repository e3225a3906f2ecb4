/* SPDX-License-Identifier: ISC */
/*
 * Made-up answers to iq requests; see answer.h.
 */
#include <string.h>

#include "answer.h"
#include "stanza.h"
#include "xmlstream.h"

#define ANSWER_NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

bool
answer_is_request(const struct xnode *el)
{
	const char *t = xnode_attr(el, "type");

	return stanza_kind_of(el) == STANZA_IQ && t != NULL &&
	       (strcmp(t, "get") == 0 || strcmp(t, "set") == 0);
}

/* An iq of type to req, with its id, back to its sender. */
static struct xnode *
answer_iq(const struct xnode *req, const char *type)
{
	struct xnode *iq = xnode_new_element(XMLSTREAM_NS_CLIENT, "iq");

	xnode_set_attr(iq, NULL, "type", type);
	xnode_set_attr(iq, NULL, "id", xnode_attr(req, "id"));
	xnode_set_attr(iq, NULL, "to", xnode_attr(req, "from"));
	return iq;
}

struct xnode *
answer_result(const struct xnode *req, struct xnode *child)
{
	struct xnode *iq = answer_iq(req, "result");

	if (child != NULL)
		xnode_append(iq, child);
	return iq;
}

struct xnode *
answer_error(const struct xnode *req, const char *cond)
{
	struct xnode *iq = answer_iq(req, "error");
	struct xnode *err =
	    xnode_append(iq, xnode_new_element(XMLSTREAM_NS_CLIENT, "error"));

	xnode_set_attr(err, NULL, "type", "cancel");
	xnode_append(err, xnode_new_element(ANSWER_NS_STANZAS, cond));
	return iq;
}
