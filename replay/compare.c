/* SPDX-License-Identifier: ISC */
/*
 * Canonical comparison. Both trees are copied and normalized (volatile
 * values blanked, whitespace between elements dropped, attributes sorted,
 * unordered children sorted by their canonical text); equality is then
 * equality of the canonical text. The diff walks both normalized trees:
 * children that are equal are paired first, whatever their place, then the
 * rest by name, so one missing feature is reported as one missing feature
 * and not as a shifted list.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compare.h"
#include "xmalloc.h"
#include "xmlstream.h"

#define COMPARE_NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

/* A value that changes by nature; ns ending in '*' is a prefix. */
struct compare_volatile {
	const char *ns;
	const char *el;
	const char *attr; /* NULL: the element's text */
};

static const struct compare_volatile compare_volatiles[] = {
    {"urn:xmpp:delay", "delay", "stamp"},
    {"jabber:x:delay", "x", "stamp"},
    {"urn:xmpp:sid:0", "stanza-id", "id"},
    {"urn:xmpp:sid:0", "origin-id", "id"},
    {"urn:xmpp:occupant-id:0", "occupant-id", "id"},
    {"urn:xmpp:time", "utc", NULL},
    {"urn:xmpp:time", "tzo", NULL},
    {"jabber:iq:last", "query", "seconds"},
    {"jabber:iq:roster", "query", "ver"},
    {"urn:xmpp:mam:*", "result", "id"},
    {"http://jabber.org/protocol/rsm", "first", NULL},
    {"http://jabber.org/protocol/rsm", "last", NULL},
};

/* Elements whose children's order carries no meaning. */
static const struct {
	const char *ns;
	const char *el;
} compare_unordered[] = {
    {"http://jabber.org/protocol/disco#info", "query"},
    {"http://jabber.org/protocol/disco#items", "query"},
    {"jabber:iq:roster", "query"},
    {"jabber:iq:roster", "item"},
    {XMLSTREAM_NS_CLIENT, "error"},
    {"http://jabber.org/protocol/muc#user", "x"},
    {"urn:xmpp:blocking", "blocklist"},
};

static bool
compare_ns_is(const char *ns, const char *pattern)
{
	size_t n = strlen(pattern);

	if (ns == NULL)
		return false;
	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(ns, pattern, n - 1) == 0;
	return strcmp(ns, pattern) == 0;
}

static bool
compare_is_unordered(const struct xnode *n, bool top)
{
	size_t i;

	if (top)
		return true; /* a stanza's payloads (RFC 6120 8.4) */
	for (i = 0;
	     i < sizeof(compare_unordered) / sizeof(compare_unordered[0]); i++)
		if (xnode_is(
		        n, compare_unordered[i].ns, compare_unordered[i].el))
			return true;
	return false;
}

static bool
compare_space(const struct xnode *t)
{
	size_t i;

	for (i = 0; i < t->textlen; i++)
		if (strchr(" \t\r\n", t->text[i]) == NULL)
			return false;
	return true;
}

/* Replaces the text content of n with a single "*". */
static void
compare_blank_text(struct xnode *n)
{
	struct xnode *c, *next;

	for (c = n->children; c != NULL; c = next) {
		next = c->next;
		xnode_remove(c);
	}
	xnode_append_text(n, "*", 1);
}

static void
compare_blank(struct xnode *n)
{
	size_t i;

	for (i = 0;
	     i < sizeof(compare_volatiles) / sizeof(compare_volatiles[0]);
	     i++) {
		const struct compare_volatile *v = &compare_volatiles[i];

		if (strcmp(n->name, v->el) != 0 || !compare_ns_is(n->ns, v->ns))
			continue;
		if (v->attr == NULL)
			compare_blank_text(n);
		else if (xnode_attr(n, v->attr) != NULL)
			xnode_set_attr(n, NULL, v->attr, "*");
	}
}

static int
compare_str0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
compare_attr_cmp(const void *a, const void *b)
{
	const struct xattr *x = a, *y = b;
	int c = compare_str0(x->ns, y->ns);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static void compare_write(const struct xnode *n, struct buf *b);

struct compare_sortkey {
	struct xnode *n;
	char *canon;
};

static int
compare_key_cmp(const void *a, const void *b)
{
	const struct compare_sortkey *x = a, *y = b;

	return strcmp(x->canon, y->canon);
}

/* Sorts the children of n by their canonical text. */
static void
compare_sort_children(struct xnode *n)
{
	struct compare_sortkey *k;
	struct xnode *c;
	size_t cnt = 0, i;
	struct buf b;

	for (c = n->children; c != NULL; c = c->next)
		cnt++;
	if (cnt < 2)
		return;
	k = xreallocarray(NULL, cnt, sizeof(*k));
	for (i = 0, c = n->children; c != NULL; c = c->next, i++) {
		buf_init(&b);
		compare_write(c, &b);
		k[i].n = c;
		k[i].canon = buf_release(&b);
	}
	qsort(k, cnt, sizeof(*k), compare_key_cmp);
	n->children = k[0].n;
	for (i = 0; i < cnt; i++) {
		k[i].n->next = i + 1 < cnt ? k[i + 1].n : NULL;
		free(k[i].canon);
	}
	n->last_child = k[cnt - 1].n;
	free(k);
}

/* Normalizes the tree n in place; top is the stanza itself. */
static void
compare_norm(struct xnode *n, bool top)
{
	struct xnode *c, *next;
	bool elements = false;

	if (n->type != XNODE_ELEMENT)
		return;
	if (top)
		xnode_set_attr(n, NULL, "id", NULL);
	compare_blank(n);
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XNODE_ELEMENT)
			elements = true;
	for (c = n->children; c != NULL; c = next) {
		next = c->next;
		if (elements && c->type == XNODE_TEXT && compare_space(c))
			xnode_remove(c);
		else
			compare_norm(c, false);
	}
	if (n->nattrs > 1)
		qsort(n->attrs, n->nattrs, sizeof(*n->attrs), compare_attr_cmp);
	if (compare_is_unordered(n, top))
		compare_sort_children(n);
}

static struct xnode *
compare_normalized(const struct xnode *el)
{
	struct xnode *c = xnode_clone(el);

	compare_norm(c, true);
	return c;
}

/* The canonical text of an already normalized tree. */
static void
compare_write(const struct xnode *n, struct buf *b)
{
	const struct xnode *c;
	size_t i;

	if (n->type == XNODE_TEXT) {
		xnode_escape(b, n->text, n->textlen, false);
		return;
	}
	buf_addf(b, "<{%s}%s", n->ns ? n->ns : "", n->name);
	for (i = 0; i < n->nattrs; i++) {
		buf_addf(b, " {%s}%s=\"", n->attrs[i].ns ? n->attrs[i].ns : "",
		    n->attrs[i].name);
		xnode_escape(
		    b, n->attrs[i].value, strlen(n->attrs[i].value), true);
		buf_addc(b, '"');
	}
	buf_addc(b, '>');
	for (c = n->children; c != NULL; c = c->next)
		compare_write(c, b);
	buf_adds(b, "</>");
}

char *
compare_canon(const struct xnode *el)
{
	struct xnode *n = compare_normalized(el);
	struct buf b;

	buf_init(&b);
	compare_write(n, &b);
	xnode_free(n);
	return buf_release(&b);
}

bool
compare_equal(const struct xnode *want, const struct xnode *got)
{
	char *a = compare_canon(want), *b = compare_canon(got);
	bool eq = strcmp(a, b) == 0;

	free(a);
	free(b);
	return eq;
}

char *
compare_brief(const struct xnode *el, size_t max)
{
	const char *defns =
	    el->parent != NULL ? el->parent->ns : XMLSTREAM_NS_CLIENT;
	struct buf b;

	buf_init(&b);
	if (el->type == XNODE_TEXT) {
		buf_addc(&b, '\'');
		xnode_escape(&b, el->text, el->textlen, false);
		buf_addc(&b, '\'');
	} else
		xnode_serialize(el, defns, &b);
	if (max > 3 && b.len > max) {
		b.len = max - 3;
		/* Do not cut a UTF-8 sequence in two. */
		while (
		    b.len > 0 && ((unsigned char)b.data[b.len] & 0xc0) == 0x80)
			b.len--;
		buf_adds(&b, "...");
	}
	return buf_release(&b);
}

/* Differences found so far. */
struct compare_diffs {
	char **s;
	size_t n;
	size_t more; /* not described: over COMPARE_MAX_DIFFS */
};

static void __attribute__((format(printf, 3, 4))) compare_add(
    struct compare_diffs *d, const struct xnode *at, const char *fmt, ...)
{
	struct buf path;
	const struct xnode *p;
	const char *names[XMLSTREAM_MAX_DEPTH + 2];
	size_t depth = 0;
	va_list ap;
	char *what;

	if (d->n == COMPARE_MAX_DIFFS) {
		d->more++;
		return;
	}
	for (p = at; p != NULL && depth < sizeof(names) / sizeof(names[0]);
	     p = p->parent)
		names[depth++] = p->name;
	buf_init(&path);
	while (depth > 0)
		buf_addf(&path, "%s%s", path.len ? "/" : "", names[--depth]);
	if (at->ns != NULL && strcmp(at->ns, XMLSTREAM_NS_CLIENT) != 0)
		buf_addf(&path, " (%s)", at->ns);
	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	d->s = xreallocarray(d->s, d->n + 1, sizeof(*d->s));
	d->s[d->n++] = xasprintf("%s: %s", path.data, what);
	buf_fini(&path);
	free(what);
}

static void
compare_attr_name(const struct xattr *a, struct buf *b)
{
	if (a->ns != NULL && strcmp(a->ns, XNODE_NS_XML) == 0)
		buf_adds(b, "xml:");
	else if (a->ns != NULL)
		buf_addf(b, "{%s}", a->ns);
	buf_adds(b, a->name);
}

/* Attributes of two normalized elements (sorted the same way). */
static void
compare_attrs(
    const struct xnode *w, const struct xnode *g, struct compare_diffs *d)
{
	size_t i = 0, j = 0;
	struct buf name;
	int c;

	buf_init(&name);
	while (i < w->nattrs || j < g->nattrs) {
		if (i == w->nattrs)
			c = 1;
		else if (j == g->nattrs)
			c = -1;
		else
			c = compare_attr_cmp(&w->attrs[i], &g->attrs[j]);
		buf_reset(&name);
		compare_attr_name(c <= 0 ? &w->attrs[i] : &g->attrs[j], &name);
		if (c < 0) {
			compare_add(d, w, "attribute %s='%s' missing",
			    name.data, w->attrs[i].value);
			i++;
		} else if (c > 0) {
			compare_add(d, w, "extra attribute %s='%s'", name.data,
			    g->attrs[j].value);
			j++;
		} else {
			if (strcmp(w->attrs[i].value, g->attrs[j].value) != 0)
				compare_add(d, w, "%s='%s' expected, got '%s'",
				    name.data, w->attrs[i].value,
				    g->attrs[j].value);
			i++;
			j++;
		}
	}
	buf_fini(&name);
}

/* The children of n as an array with their canonical texts. */
static struct compare_sortkey *
compare_kids(const struct xnode *n, size_t *cnt)
{
	struct compare_sortkey *k;
	struct xnode *c;
	struct buf b;
	size_t i = 0;

	*cnt = 0;
	for (c = n->children; c != NULL; c = c->next)
		(*cnt)++;
	k = xcalloc(*cnt + 1, sizeof(*k));
	for (c = n->children; c != NULL; c = c->next, i++) {
		buf_init(&b);
		compare_write(c, &b);
		k[i].n = c;
		k[i].canon = buf_release(&b);
	}
	return k;
}

static void
compare_kids_free(struct compare_sortkey *k, size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++)
		free(k[i].canon);
	free(k);
}

static bool
compare_same_name(const struct xnode *a, const struct xnode *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == XNODE_TEXT)
		return true;
	return strcmp(a->name, b->name) == 0 && compare_str0(a->ns, b->ns) == 0;
}

static void compare_walk(
    const struct xnode *w, const struct xnode *g, struct compare_diffs *d);

/* Pairs and compares the children of w and g. */
static void
compare_children(
    const struct xnode *w, const struct xnode *g, struct compare_diffs *d)
{
	struct compare_sortkey *wk, *gk;
	size_t nw, ng, i, j, last = 0;
	size_t *pair;
	bool moved = false;
	char *brief;

	wk = compare_kids(w, &nw);
	gk = compare_kids(g, &ng);
	pair = xcalloc(nw + 1, sizeof(*pair));
	for (i = 0; i < nw; i++)
		pair[i] = SIZE_MAX;
	/* Equal children first, wherever they are. */
	for (i = 0; i < nw; i++)
		for (j = 0; j < ng; j++)
			if (gk[j].n != NULL &&
			    strcmp(wk[i].canon, gk[j].canon) == 0) {
				pair[i] = j;
				gk[j].n = NULL; /* taken */
				break;
			}
	for (i = 0; i < nw; i++) {
		if (pair[i] != SIZE_MAX) {
			moved |= pair[i] < last;
			last = pair[i];
			continue;
		}
		for (j = 0; j < ng; j++)
			if (gk[j].n != NULL &&
			    compare_same_name(wk[i].n, gk[j].n))
				break;
		if (j == ng) {
			brief = compare_brief(wk[i].n, 100);
			compare_add(d, w, "missing %s", brief);
			free(brief);
			continue;
		}
		if (wk[i].n->type == XNODE_TEXT) {
			char *bw = compare_brief(wk[i].n, 60);
			char *bg = compare_brief(gk[j].n, 60);

			compare_add(d, w, "text %s expected, got %s", bw, bg);
			free(bw);
			free(bg);
		} else
			compare_walk(wk[i].n, gk[j].n, d);
		gk[j].n = NULL;
	}
	for (j = 0; j < ng; j++) {
		const struct xnode *c;

		if (gk[j].n == NULL)
			continue;
		brief = compare_brief(gk[j].n, 100);
		c = gk[j].n;
		compare_add(d, w, "extra %s",
		    c->type == XNODE_TEXT && w->children == NULL ? "text"
		                                                 : brief);
		free(brief);
	}
	if (moved && !compare_is_unordered(w, w->parent == NULL))
		compare_add(d, w, "children in another order");
	free(pair);
	compare_kids_free(wk, nw);
	compare_kids_free(gk, ng);
}

static void
compare_walk(
    const struct xnode *w, const struct xnode *g, struct compare_diffs *d)
{
	compare_attrs(w, g, d);
	compare_children(w, g, d);
}

size_t
compare_diff(const struct xnode *want, const struct xnode *got, char ***out)
{
	struct compare_diffs d = {NULL, 0, 0};
	struct xnode *w = compare_normalized(want);
	struct xnode *g = compare_normalized(got);

	if (!compare_same_name(w, g))
		compare_add(&d, w, "got <%s> instead", g->name);
	else
		compare_walk(w, g, &d);
	if (d.more > 0) {
		d.s = xreallocarray(d.s, d.n + 1, sizeof(*d.s));
		d.s[d.n++] = xasprintf("... and %zu more differences", d.more);
	}
	xnode_free(w);
	xnode_free(g);
	*out = d.s;
	return d.n;
}

void
compare_diff_free(char **s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(s[i]);
	free(s);
}
