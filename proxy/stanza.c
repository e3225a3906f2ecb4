/* SPDX-License-Identifier: ISC */
/*
 * Building the filters' view of a stanza: kind, addressing attributes and
 * the list of text places, found in one pre-order walk of the whole tree.
 * Names are matched generously (a body of any element called message, in any
 * namespace, at any depth), because a content filter that misses text is
 * bypassed while one that sees a little too much only costs a match. Each
 * place's text is copied once, decoded. It does not edit the tree (that is
 * stanza_replace.c) and does not know what a filter does with the text.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stanza.h"
#include "xmalloc.h"
#include "xmlstream.h"
#include "xnode.h"

/* Where the walk is: what changes how an element is read. */
struct stanza_walk {
	const struct xnode *root;
	unsigned nested; /* message/presence elements entered below root */
	unsigned xhtml;  /* XHTML body elements entered */
};

const char *
stanza_kind_str(enum stanza_kind k)
{
	switch (k) {
	case STANZA_MESSAGE:
		return "message";
	case STANZA_PRESENCE:
		return "presence";
	case STANZA_IQ:
		return "iq";
	case STANZA_NONZA:
		return "nonza";
	}
	return "?";
}

enum stanza_kind
stanza_kind_of(const struct xnode *el)
{
	if (el->ns == NULL || strcmp(el->ns, XMLSTREAM_NS_CLIENT) != 0)
		return STANZA_NONZA;
	if (strcmp(el->name, "message") == 0)
		return STANZA_MESSAGE;
	if (strcmp(el->name, "presence") == 0)
		return STANZA_PRESENCE;
	if (strcmp(el->name, "iq") == 0)
		return STANZA_IQ;
	return STANZA_NONZA;
}

/* An element that carries content of its own: message or presence. */
static bool
stanza_is_carrier(const struct xnode *n)
{
	return xnode_is(n, NULL, "message") || xnode_is(n, NULL, "presence");
}

static bool
stanza_is_xhtml_body(const struct xnode *n)
{
	return xnode_is(n, STANZA_NS_XHTML, "body");
}

/*
 * The xml:lang in effect at n, from n up to the root (the stream's own is
 * not in the tree). xml:lang='' means "no language": NULL.
 */
static const char *
stanza_lang(const struct xnode *n)
{
	const char *lang;

	for (; n != NULL; n = n->parent) {
		lang = xnode_attr_ns(n, XNODE_NS_XML, "lang");
		if (lang != NULL)
			return lang[0] != '\0' ? lang : NULL;
	}
	return NULL;
}

static struct stanza_place *
stanza_add_place(
    struct stanza *st, const char *what, struct xnode *n, unsigned nested)
{
	struct stanza_place *p;

	if (st->nplaces == st->cap) {
		st->cap = st->cap == 0 ? 4 : st->cap * 2;
		st->places =
		    xreallocarray(st->places, st->cap, sizeof(*st->places));
	}
	p = &st->places[st->nplaces++];
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->node = n;
	p->nested = nested;
	p->lang = stanza_lang(n);
	return p;
}

/*
 * The label for an element place at n, or NULL. xhtml is the number of XHTML
 * bodies around n (n excluded): one inside another adds no text.
 */
static const char *
stanza_text_what(const struct xnode *n, unsigned xhtml)
{
	const struct xnode *up = n->parent;

	if (up != NULL && xnode_is(up, NULL, "message")) {
		if (strcmp(n->name, "body") == 0)
			return "body";
		if (strcmp(n->name, "subject") == 0)
			return "subject";
	}
	if (up != NULL && xnode_is(up, NULL, "presence") &&
	    strcmp(n->name, "status") == 0)
		return "status";
	if (stanza_is_xhtml_body(n) && xhtml == 0)
		return "xhtml";
	if (up != NULL && (xnode_is(up, STANZA_NS_X_OOB, NULL) ||
	                      xnode_is(up, STANZA_NS_IQ_OOB, NULL))) {
		if (strcmp(n->name, "url") == 0)
			return "oob-url";
		if (strcmp(n->name, "desc") == 0)
			return "oob-desc";
	}
	return NULL;
}

/* Copies the decoded text beneath n; one copy in the common one-node case. */
static void
stanza_place_text(struct stanza_place *p)
{
	const struct xnode *c = p->node->children;
	struct buf b;

	if (c != NULL && c->next == NULL && c->type == XNODE_TEXT) {
		p->text = xstrndup(c->text, c->textlen);
		p->len = c->textlen;
		return;
	}
	buf_init(&b);
	xnode_text_buf(p->node, &b);
	p->len = b.len;
	p->text = buf_release(&b);
}

/* The label of an extra attribute, made the first time it is needed. */
static const char *
stanza_extra_what(struct stanza *st, size_t k)
{
	size_t n;

	if (st->extra_what == NULL) {
		for (n = 0; st->extra[n] != NULL; n++)
			continue;
		st->extra_what = xcalloc(n, sizeof(*st->extra_what));
	}
	if (st->extra_what[k] == NULL)
		st->extra_what[k] = xasprintf("attr:%s", st->extra[k]);
	return st->extra_what[k];
}

/* The label for attribute a of n, or NULL when it is no place. */
static const char *
stanza_attr_what(struct stanza *st, const struct xnode *n,
    const struct xattr *a, unsigned xhtml)
{
	size_t k;

	if (a->ns != NULL && strcmp(a->ns, XNODE_NS_XML) == 0)
		return NULL;
	if (xhtml > 0) {
		if (strcmp(a->name, "href") == 0)
			return "attr:href";
		if (strcmp(a->name, "src") == 0)
			return "attr:src";
	}
	if (strcmp(a->name, "uri") == 0 &&
	    xnode_is(n, STANZA_NS_REFERENCE, "reference"))
		return "attr:uri";
	for (k = 0; st->extra != NULL && st->extra[k] != NULL; k++)
		if (strcmp(a->name, st->extra[k]) == 0)
			return stanza_extra_what(st, k);
	return NULL;
}

/* Entering element n: counters first, then its places, text before attrs. */
static void
stanza_enter(struct stanza *st, struct stanza_walk *w, struct xnode *n)
{
	const char *what;
	size_t i;

	if (n != w->root && stanza_is_carrier(n))
		w->nested++;
	what = stanza_text_what(n, w->xhtml);
	if (stanza_is_xhtml_body(n))
		w->xhtml++;
	if (what != NULL)
		stanza_place_text(stanza_add_place(st, what, n, w->nested));
	for (i = 0; i < n->nattrs; i++) {
		struct stanza_place *p;

		what = stanza_attr_what(st, n, &n->attrs[i], w->xhtml);
		if (what == NULL)
			continue;
		p = stanza_add_place(st, what, n, w->nested);
		p->attr = n->attrs[i].name;
		p->attr_index = i;
		p->len = strlen(n->attrs[i].value);
		p->text = xstrndup(n->attrs[i].value, p->len);
	}
}

/* Leaving element n: undoes what stanza_enter() counted. */
static void
stanza_leave(struct stanza_walk *w, const struct xnode *n)
{
	if (n != w->root && stanza_is_carrier(n))
		w->nested--;
	if (stanza_is_xhtml_body(n))
		w->xhtml--;
}

/* Pre-order walk of the elements under (and including) the root. */
static void
stanza_walk(struct stanza *st)
{
	struct stanza_walk w = {st->el, 0, 0};
	struct xnode *n = st->el;

	for (;;) {
		struct xnode *c;

		stanza_enter(st, &w, n);
		for (c = n->children; c != NULL; c = c->next)
			if (c->type == XNODE_ELEMENT)
				break;
		if (c != NULL) {
			n = c;
			continue;
		}
		/* No child element: leave until a next sibling element. */
		for (;;) {
			stanza_leave(&w, n);
			if (n == st->el)
				return;
			for (c = n->next; c != NULL; c = c->next)
				if (c->type == XNODE_ELEMENT)
					break;
			if (c != NULL)
				break;
			n = n->parent;
		}
		n = c;
	}
}

void
stanza_init(struct stanza *st, struct xnode *el, const char *const *extra_attrs)
{
	memset(st, 0, sizeof(*st));
	st->el = el;
	st->extra = extra_attrs;
	st->kind = stanza_kind_of(el);
	st->type = xnode_attr(el, "type");
	st->id = xnode_attr(el, "id");
	st->from = xnode_attr(el, "from");
	st->to = xnode_attr(el, "to");
	if (st->kind != STANZA_NONZA)
		stanza_walk(st);
}

void
stanza_fini(struct stanza *st)
{
	size_t i;

	for (i = 0; i < st->nplaces; i++)
		free(st->places[i].text);
	free(st->places);
	if (st->extra_what != NULL) {
		for (i = 0; st->extra[i] != NULL; i++)
			free(st->extra_what[i]);
		free(st->extra_what);
	}
	memset(st, 0, sizeof(*st));
}

const char *
stanza_effective_type(const struct stanza *st)
{
	if (st->type != NULL)
		return st->type;
	if (st->kind == STANZA_MESSAGE)
		return "normal";
	if (st->kind == STANZA_PRESENCE)
		return "available";
	return NULL;
}

bool
stanza_has(const struct stanza *st, const char *ns, const char *name)
{
	const struct xnode *n = st->el;

	while (n != NULL) {
		if (xnode_is(n, ns, name))
			return true;
		if (n->children != NULL) {
			n = n->children;
			continue;
		}
		while (n != st->el && n->next == NULL)
			n = n->parent;
		n = n != st->el ? n->next : NULL;
	}
	return false;
}
