/* SPDX-License-Identifier: ISC */
/*
 * The XML tree: building, copying, lookup, and the serializer that writes a
 * tree back as well-formed, restricted-XML clean text. The serializer is the
 * only place where this project produces XML from data, so it is the one
 * place that escapes, drops characters XML 1.0 forbids and declares
 * namespaces. It does not parse (that is xmlstream) and keeps no knowledge
 * of XMPP beyond the default namespace the caller passes in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xmalloc.h"
#include "xnode.h"

/* Namespace bindings in scope while serializing: a chain up the stack. */
struct xnode_scope {
	const char *prefix;
	const char *ns;
	const struct xnode_scope *up;
};

/* A declaration an element's start tag needs; gen holds invented prefixes. */
struct xnode_decl {
	const char *prefix;
	const char *ns;
	char gen[16];
};

static char *
xnode_strdup0(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Two optional strings are equal (NULL equals only NULL). */
static bool
xnode_streq0(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

struct xnode *
xnode_new_element(const char *ns, const char *name)
{
	struct xnode *n = xcalloc(1, sizeof(*n));

	n->type = XNODE_ELEMENT;
	n->ns = xnode_strdup0(ns);
	n->name = xstrdup(name);
	return n;
}

struct xnode *
xnode_new_text(const char *text, size_t len)
{
	struct xnode *n = xcalloc(1, sizeof(*n));

	n->type = XNODE_TEXT;
	n->text = xstrndup(text, len);
	n->textlen = len;
	return n;
}

static void
xnode_free_attrs(struct xnode *n)
{
	size_t i;

	for (i = 0; i < n->nattrs; i++) {
		free(n->attrs[i].ns);
		free(n->attrs[i].prefix);
		free(n->attrs[i].name);
		free(n->attrs[i].value);
	}
	free(n->attrs);
}

/* Frees n and its subtree; siblings are the caller's business. */
static void
xnode_free_one(struct xnode *n)
{
	struct xnode *c, *next;

	for (c = n->children; c != NULL; c = next) {
		next = c->next;
		xnode_free_one(c);
	}
	xnode_free_attrs(n);
	free(n->ns);
	free(n->prefix);
	free(n->name);
	free(n->text);
	free(n);
}

void
xnode_free(struct xnode *n)
{
	if (n == NULL)
		return;
	xnode_free_one(n);
}

struct xnode *
xnode_clone(const struct xnode *n)
{
	struct xnode *c = xcalloc(1, sizeof(*c));
	const struct xnode *ch;
	size_t i;

	c->type = n->type;
	c->ns = xnode_strdup0(n->ns);
	c->prefix = xnode_strdup0(n->prefix);
	c->name = xnode_strdup0(n->name);
	if (n->text != NULL) {
		c->text = xstrndup(n->text, n->textlen);
		c->textlen = n->textlen;
	}
	if (n->nattrs > 0) {
		c->attrs = xreallocarray(NULL, n->nattrs, sizeof(*c->attrs));
		c->nattrs = n->nattrs;
		for (i = 0; i < n->nattrs; i++) {
			c->attrs[i].ns = xnode_strdup0(n->attrs[i].ns);
			c->attrs[i].prefix = xnode_strdup0(n->attrs[i].prefix);
			c->attrs[i].name = xstrdup(n->attrs[i].name);
			c->attrs[i].value = xstrdup(n->attrs[i].value);
		}
	}
	for (ch = n->children; ch != NULL; ch = ch->next)
		xnode_append(c, xnode_clone(ch));
	return c;
}

struct xnode *
xnode_append(struct xnode *parent, struct xnode *child)
{
	child->parent = parent;
	child->next = NULL;
	if (parent->last_child != NULL)
		parent->last_child->next = child;
	else
		parent->children = child;
	parent->last_child = child;
	return child;
}

void
xnode_append_text(struct xnode *parent, const char *text, size_t len)
{
	struct xnode *t = parent->last_child;

	if (len == 0)
		return;
	if (t == NULL || t->type != XNODE_TEXT) {
		xnode_append(parent, xnode_new_text(text, len));
		return;
	}
	t->text = xreallocarray(t->text, t->textlen + len + 1, 1);
	memcpy(t->text + t->textlen, text, len);
	t->textlen += len;
	t->text[t->textlen] = '\0';
}

void
xnode_unlink(struct xnode *n)
{
	struct xnode *p = n->parent, *prev = NULL, *c;

	if (p == NULL)
		return;
	for (c = p->children; c != NULL && c != n; c = c->next)
		prev = c;
	if (c == NULL)
		return;
	if (prev != NULL)
		prev->next = n->next;
	else
		p->children = n->next;
	if (p->last_child == n)
		p->last_child = prev;
	n->parent = NULL;
	n->next = NULL;
}

void
xnode_remove(struct xnode *n)
{
	xnode_unlink(n);
	xnode_free(n);
}

static struct xattr *
xnode_find_attr(const struct xnode *n, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < n->nattrs; i++)
		if (strcmp(n->attrs[i].name, name) == 0 &&
		    xnode_streq0(n->attrs[i].ns, ns))
			return &n->attrs[i];
	return NULL;
}

/*
 * Sets, replaces or (value NULL) removes an attribute. An attribute in the
 * XML namespace gets the prefix "xml"; others get theirs from the serializer.
 */
void
xnode_set_attr(struct xnode *n, const char *ns, const char *name,
    const char *value)
{
	struct xattr *a = xnode_find_attr(n, ns, name);

	if (value == NULL) {
		size_t i;

		if (a == NULL)
			return;
		i = (size_t)(a - n->attrs);
		free(a->ns);
		free(a->prefix);
		free(a->name);
		free(a->value);
		memmove(a, a + 1, (n->nattrs - i - 1) * sizeof(*a));
		n->nattrs--;
		return;
	}
	if (a != NULL) {
		char *v = xstrdup(value);

		free(a->value);
		a->value = v;
		return;
	}
	n->attrs = xreallocarray(n->attrs, n->nattrs + 1, sizeof(*n->attrs));
	a = &n->attrs[n->nattrs++];
	a->ns = xnode_strdup0(ns);
	a->prefix = ns != NULL && strcmp(ns, XNODE_NS_XML) == 0 ? xstrdup("xml")
								  : NULL;
	a->name = xstrdup(name);
	a->value = xstrdup(value);
}

const char *
xnode_attr(const struct xnode *n, const char *name)
{
	return xnode_attr_ns(n, NULL, name);
}

const char *
xnode_attr_ns(const struct xnode *n, const char *ns, const char *name)
{
	const struct xattr *a;

	if (n == NULL || n->type != XNODE_ELEMENT)
		return NULL;
	a = xnode_find_attr(n, ns, name);
	return a != NULL ? a->value : NULL;
}

bool
xnode_is(const struct xnode *n, const char *ns, const char *name)
{
	if (n == NULL || n->type != XNODE_ELEMENT)
		return false;
	if (name != NULL && strcmp(n->name, name) != 0)
		return false;
	return ns == NULL || xnode_streq0(n->ns, ns);
}

struct xnode *
xnode_child(const struct xnode *n, const char *ns, const char *name)
{
	struct xnode *c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (xnode_is(c, ns, name))
			return c;
	return NULL;
}

struct xnode *
xnode_next(const struct xnode *after, const char *ns, const char *name)
{
	struct xnode *c;

	if (after == NULL)
		return NULL;
	for (c = after->next; c != NULL; c = c->next)
		if (xnode_is(c, ns, name))
			return c;
	return NULL;
}

void
xnode_text_buf(const struct xnode *n, struct buf *b)
{
	const struct xnode *c;

	if (n->type == XNODE_TEXT) {
		buf_add(b, n->text, n->textlen);
		return;
	}
	for (c = n->children; c != NULL; c = c->next)
		xnode_text_buf(c, b);
}

char *
xnode_text(const struct xnode *n)
{
	struct buf b;

	buf_init(&b);
	xnode_text_buf(n, &b);
	return buf_release(&b);
}

/*
 * Appends the escaped form of s. Runs of bytes that need nothing are copied
 * in one go; markup characters become references; characters XML 1.0 does
 * not allow (C0 controls but tab/LF/CR, U+FFFE/FFFF) and bytes that are not
 * valid UTF-8 are dropped, so the output is always well-formed. CR is kept as
 * &#13; (a literal one would be read back as LF); in attribute values tab and
 * LF are also references, because parsers normalize them to spaces.
 */
void
xnode_escape(struct buf *b, const char *s, size_t len, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < len) {
		unsigned char c = p[i];
		const char *rep = NULL;
		size_t skip = 1;

		if (c >= 0x80) {
			uint32_t cp;
			size_t n = utf8_decode(p + i, len - i, &cp);

			if (n > 0 && utf8_xml_char(cp)) {
				i += n;
				continue;
			}
			skip = n > 0 ? n : 1;
		} else if (c >= 0x20 && c != '&' && c != '<' && c != '>' &&
		    (!quote || (c != '"' && c != '\''))) {
			i++;
			continue;
		} else {
			switch (c) {
			case '&':
				rep = "&amp;";
				break;
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '"':
				rep = "&quot;";
				break;
			case '\'':
				rep = "&apos;";
				break;
			case '\r':
				rep = "&#13;";
				break;
			case '\t':
				rep = quote ? "&#9;" : "\t";
				break;
			case '\n':
				rep = quote ? "&#10;" : "\n";
				break;
			default:
				break; /* a forbidden control: dropped */
			}
		}
		buf_add(b, p + run, i - run);
		if (rep != NULL)
			buf_adds(b, rep);
		i += skip;
		run = i;
	}
	buf_add(b, p + run, i - run);
}

/* The namespace bound to prefix in scope, or NULL. */
static const char *
xnode_scope_lookup(const struct xnode_scope *sc, const char *prefix)
{
	if (strcmp(prefix, "xml") == 0)
		return XNODE_NS_XML;
	for (; sc != NULL; sc = sc->up)
		if (sc->prefix != NULL && strcmp(sc->prefix, prefix) == 0)
			return sc->ns;
	return NULL;
}

static struct xnode_decl *
xnode_decl_find(struct xnode_decl *d, size_t nd, const char *prefix)
{
	size_t i;

	for (i = 0; i < nd; i++)
		if (strcmp(d[i].prefix, prefix) == 0)
			return &d[i];
	return NULL;
}

/*
 * Chooses the prefix for a namespaced attribute: the original one when it
 * is (or can be) bound to that namespace on this element, else an invented
 * nsN. Adds a declaration to d when one is needed. Returns the prefix.
 */
static const char *
xnode_attr_prefix(const struct xattr *a, const char *elprefix,
    const struct xnode_scope *sc, struct xnode_decl *d, size_t *nd)
{
	const char *p = a->prefix;
	struct xnode_decl *found;
	unsigned k;

	if (strcmp(a->ns, XNODE_NS_XML) == 0)
		return "xml";
	if (p != NULL && strcmp(p, "xml") != 0 && strcmp(p, "xmlns") != 0) {
		found = xnode_decl_find(d, *nd, p);
		if (found != NULL) {
			if (strcmp(found->ns, a->ns) == 0)
				return p;
		} else if (xnode_streq0(xnode_scope_lookup(sc, p), a->ns)) {
			return p;
		} else if (elprefix == NULL || strcmp(elprefix, p) != 0) {
			d[*nd].prefix = p;
			d[*nd].ns = a->ns;
			return d[(*nd)++].prefix;
		}
	}
	/* Reuse a declaration made on this element for the same namespace. */
	for (k = 0; k < *nd; k++)
		if (strcmp(d[k].ns, a->ns) == 0)
			return d[k].prefix;
	for (k = 0;; k++) {
		struct xnode_decl *nd_ = &d[*nd];

		snprintf(nd_->gen, sizeof(nd_->gen), "ns%u", k);
		if (xnode_decl_find(d, *nd, nd_->gen) != NULL ||
		    (elprefix != NULL && strcmp(elprefix, nd_->gen) == 0))
			continue;
		nd_->prefix = nd_->gen;
		nd_->ns = a->ns;
		(*nd)++;
		return nd_->prefix;
	}
}

struct xnode_out {
	struct buf *b;
	int indent; /* < 0: compact */
};

static void
xnode_out_indent(struct xnode_out *o, int level)
{
	int i, n = o->indent * level;

	for (i = 0; i < n; i++)
		buf_addc(o->b, ' ');
}

static bool
xnode_is_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

static bool
xnode_text_only(const struct xnode *n)
{
	const struct xnode *c;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type != XNODE_TEXT)
			return false;
	return true;
}

static void xnode_write(struct xnode_out *, const struct xnode *,
    const char *defns, const struct xnode_scope *, int level);

/* Writes the children of n: inline when all text, else one per line. */
static void
xnode_write_children(struct xnode_out *o, const struct xnode *n,
    const char *defns, const struct xnode_scope *sc, int level)
{
	const struct xnode *c;
	bool lines = o->indent >= 0 && !xnode_text_only(n);

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type == XNODE_ELEMENT) {
			if (lines)
				buf_addc(o->b, '\n');
			xnode_write(o, c, defns, sc, level + 1);
			continue;
		}
		if (!lines) {
			xnode_escape(o->b, c->text, c->textlen, false);
		} else if (!xnode_is_space(c->text, c->textlen)) {
			buf_addc(o->b, '\n');
			xnode_out_indent(o, level + 1);
			xnode_escape(o->b, c->text, c->textlen, false);
		}
	}
	if (lines) {
		buf_addc(o->b, '\n');
		xnode_out_indent(o, level);
	}
}

/*
 * Writes element or text n. defns is the default namespace in scope and sc
 * the prefix bindings; both come from ancestors already written (or the
 * caller's context at the top).
 */
static void
xnode_write(struct xnode_out *o, const struct xnode *n, const char *defns,
    const struct xnode_scope *sc, int level)
{
	struct xnode_decl stackd[9], *d = stackd;
	struct xnode_scope *scopes = NULL, stacks[9];
	const char *stackp[8], **aprefix = stackp;
	const char *elprefix = NULL;
	const struct xnode_scope *inner = sc;
	size_t nd = 0, i;

	if (o->indent >= 0)
		xnode_out_indent(o, level);
	if (n->type == XNODE_TEXT) {
		xnode_escape(o->b, n->text, n->textlen, false);
		return;
	}
	if (n->nattrs + 1 > sizeof(stackd) / sizeof(stackd[0])) {
		d = xreallocarray(NULL, n->nattrs + 1, sizeof(*d));
		aprefix = xreallocarray(NULL, n->nattrs, sizeof(*aprefix));
	}
	/* xmlns is never an element prefix; xml only for its own namespace. */
	if (n->prefix != NULL && n->ns != NULL &&
	    strcmp(n->prefix, "xmlns") != 0 &&
	    (strcmp(n->prefix, "xml") != 0 ||
		strcmp(n->ns, XNODE_NS_XML) == 0)) {
		elprefix = n->prefix;
		if (!xnode_streq0(xnode_scope_lookup(sc, elprefix), n->ns)) {
			d[nd].prefix = elprefix;
			d[nd++].ns = n->ns;
		}
	}
	for (i = 0; i < n->nattrs; i++)
		aprefix[i] = n->attrs[i].ns == NULL
		    ? NULL
		    : xnode_attr_prefix(&n->attrs[i], elprefix, sc, d, &nd);

	buf_addc(o->b, '<');
	if (elprefix != NULL) {
		buf_adds(o->b, elprefix);
		buf_addc(o->b, ':');
	}
	buf_adds(o->b, n->name);
	if (elprefix == NULL && !xnode_streq0(n->ns, defns)) {
		buf_adds(o->b, " xmlns='");
		if (n->ns != NULL)
			xnode_escape(o->b, n->ns, strlen(n->ns), true);
		buf_addc(o->b, '\'');
		defns = n->ns;
	}
	for (i = 0; i < nd; i++) {
		buf_adds(o->b, " xmlns:");
		buf_adds(o->b, d[i].prefix);
		buf_adds(o->b, "='");
		xnode_escape(o->b, d[i].ns, strlen(d[i].ns), true);
		buf_addc(o->b, '\'');
	}
	for (i = 0; i < n->nattrs; i++) {
		const struct xattr *a = &n->attrs[i];

		buf_addc(o->b, ' ');
		if (aprefix[i] != NULL) {
			buf_adds(o->b, aprefix[i]);
			buf_addc(o->b, ':');
		}
		buf_adds(o->b, a->name);
		buf_adds(o->b, "='");
		xnode_escape(o->b, a->value, strlen(a->value), true);
		buf_addc(o->b, '\'');
	}
	if (n->children == NULL) {
		buf_adds(o->b, "/>");
		goto out;
	}
	buf_addc(o->b, '>');
	if (nd > 0) {
		scopes = nd <= sizeof(stacks) / sizeof(stacks[0])
		    ? stacks
		    : xreallocarray(NULL, nd, sizeof(*scopes));
		for (i = 0; i < nd; i++) {
			scopes[i].prefix = d[i].prefix;
			scopes[i].ns = d[i].ns;
			scopes[i].up = inner;
			inner = &scopes[i];
		}
	}
	xnode_write_children(o, n, defns, inner, level);
	buf_adds(o->b, "</");
	if (elprefix != NULL) {
		buf_adds(o->b, elprefix);
		buf_addc(o->b, ':');
	}
	buf_adds(o->b, n->name);
	buf_addc(o->b, '>');
	if (scopes != NULL && scopes != stacks)
		free(scopes);
out:
	if (d != stackd) {
		free(d);
		free(aprefix);
	}
}

void
xnode_serialize(const struct xnode *n, const char *default_ns, struct buf *b)
{
	struct xnode_out o = { b, -1 };

	xnode_write(&o, n, default_ns, NULL, 0);
}

void
xnode_serialize_pretty(const struct xnode *n, const char *default_ns,
    int indent, struct buf *b)
{
	struct xnode_out o = { b, indent < 0 ? 0 : indent };

	xnode_write(&o, n, default_ns, NULL, 0);
}
