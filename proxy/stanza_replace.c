/* SPDX-License-Identifier: ISC */
/*
 * Rewriting a place of a stanza view: substitutes byte spans of the place's
 * concatenated text by editing the tree's text nodes (or the attribute value)
 * so that the place reads exactly as the substituted string, without
 * touching element structure. Replacement bytes are cleaned of what XML
 * forbids here, not left to the serializer, so the text a filter sees after
 * a rewrite is the text that goes on the wire. It does not decide what to
 * replace (the filters do) and does not serialize.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "stanza.h"
#include "utf8.h"
#include "xmalloc.h"
#include "xnode.h"

/* The spans being applied to one place, and how far they got. */
struct stanza_edit {
	const struct stanza_span *spans;
	size_t nspans;
	size_t next;  /* first span not yet finished */
	size_t total; /* length of the place's text before the edit */
};

/*
 * Appends s to b without bytes that are not valid UTF-8 and without the
 * characters XML 1.0 forbids (production Char: C0 controls but tab, LF, CR;
 * U+FFFE, U+FFFF; surrogates, which are invalid UTF-8 anyway).
 */
static void
stanza_add_clean(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);

		if (n > 0 && utf8_xml_char(cp)) {
			i += n;
			continue;
		}
		buf_add(b, p + run, i - run);
		i += n > 0 ? n : 1;
		run = i;
	}
	buf_add(b, p + run, i - run);
}

/*
 * True when a span touches the segment [a, b) of the text: it starts or
 * continues there, or is an insertion at the very end of the text and this
 * segment ends it.
 */
static bool
stanza_touches(const struct stanza_edit *e, size_t b)
{
	const struct stanza_span *sp;

	if (e->next >= e->nspans)
		return false;
	sp = &e->spans[e->next];
	return sp->start < b || (sp->start == b && b == e->total);
}

/*
 * Writes to out what the segment seg, at offset a of the text, becomes: its
 * bytes outside spans, plus the replacement of each span that starts in it.
 * A span going on past the segment stays current for the next one.
 */
static void
stanza_apply(struct stanza_edit *e, const char *seg, size_t a, size_t len,
    struct buf *out)
{
	size_t b = a + len, p = a;

	while (stanza_touches(e, b)) {
		const struct stanza_span *sp = &e->spans[e->next];

		if (sp->start > p) {
			buf_add(out, seg + (p - a), sp->start - p);
			p = sp->start;
		}
		if (sp->start >= a)
			stanza_add_clean(out, sp->repl, sp->repl_len);
		if (sp->end > b)
			return; /* the rest of it lies in later segments */
		p = sp->end > p ? sp->end : p;
		e->next++;
	}
	buf_add(out, seg + (p - a), b - p);
}

/* Aborts unless the spans fit the contract for the place's text. */
static void
stanza_check_spans(
    const struct stanza_place *pl, const struct stanza_span *spans, size_t n)
{
	size_t i, prev = 0;

	for (i = 0; i < n; i++) {
		size_t s = spans[i].start, e = spans[i].end;

		if (s < prev || e < s || e > pl->len)
			fatalx("stanza_replace: span %zu [%zu,%zu) out of "
			       "order or beyond %zu bytes",
			    i, s, e, pl->len);
		if ((s < pl->len &&
		        ((unsigned char)pl->text[s] & 0xc0) == 0x80) ||
		    (e < pl->len &&
		        ((unsigned char)pl->text[e] & 0xc0) == 0x80))
			fatalx("stanza_replace: span %zu [%zu,%zu) cuts a "
			       "UTF-8 character",
			    i, s, e);
		if (spans[i].repl_len > 0 && spans[i].repl == NULL)
			fatalx(
			    "stanza_replace: span %zu has no replacement", i);
		prev = e;
	}
}

/* The next text node under root after n in document order, or NULL. */
static struct xnode *
stanza_next_text(struct xnode *n, const struct xnode *root)
{
	for (;;) {
		if (n->children != NULL) {
			n = n->children;
		} else {
			while (n != root && n->next == NULL)
				n = n->parent;
			if (n == root)
				return NULL;
			n = n->next;
		}
		if (n->type == XNODE_TEXT)
			return n;
	}
}

/* Sets text node t to the contents of b, or removes it when b is empty. */
static void
stanza_set_text(struct xnode *t, struct buf *b)
{
	if (b->len == 0) {
		xnode_remove(t);
		return;
	}
	free(t->text);
	t->textlen = b->len;
	t->text = buf_release(b);
}

/* Rewrites the text nodes under the place's element, in document order. */
static void
stanza_replace_text(struct stanza_place *pl, struct stanza_edit *e)
{
	struct xnode *el = pl->node, *t, *next;
	size_t off = 0;
	struct buf out;

	buf_init(&out);
	for (t = stanza_next_text(el, el); t != NULL; t = next) {
		size_t len = t->textlen;

		/* Found before t may be removed. */
		next = stanza_next_text(t, el);
		if (len == 0 || !stanza_touches(e, off + len)) {
			off += len;
			continue;
		}
		stanza_apply(e, t->text, off, len, &out);
		off += len;
		stanza_set_text(t, &out);
		buf_reset(&out);
	}
	if (off != e->total)
		fatalx("stanza_replace: the tree changed under the stanza");
	/* Only insertions into an empty text can be left: a new node. */
	for (; e->next < e->nspans; e->next++)
		stanza_add_clean(
		    &out, e->spans[e->next].repl, e->spans[e->next].repl_len);
	if (out.len > 0)
		xnode_append_text(el, out.data, out.len);
	buf_fini(&out);
}

static void
stanza_replace_attr(struct stanza_place *pl, struct stanza_edit *e)
{
	struct xattr *a = &pl->node->attrs[pl->attr_index];
	struct buf out;

	buf_init(&out);
	stanza_apply(e, a->value, 0, e->total, &out);
	free(a->value);
	a->value = buf_release(&out);
	buf_fini(&out);
}

/* Reads a place's text again from the tree. */
static void
stanza_refresh(struct stanza_place *pl)
{
	struct buf b;

	free(pl->text);
	if (pl->attr != NULL) {
		pl->len = strlen(pl->node->attrs[pl->attr_index].value);
		pl->text =
		    xstrndup(pl->node->attrs[pl->attr_index].value, pl->len);
		return;
	}
	buf_init(&b);
	xnode_text_buf(pl->node, &b);
	pl->len = b.len;
	pl->text = buf_release(&b);
}

static bool
stanza_is_ancestor(const struct xnode *up, const struct xnode *n)
{
	for (; n != NULL; n = n->parent)
		if (n == up)
			return true;
	return false;
}

void
stanza_replace(
    struct stanza *st, size_t i, const struct stanza_span *spans, size_t nspans)
{
	struct stanza_place *pl;
	struct stanza_edit e;
	size_t j;

	if (i >= st->nplaces)
		fatalx("stanza_replace: no place %zu of %zu", i, st->nplaces);
	pl = &st->places[i];
	stanza_check_spans(pl, spans, nspans);
	if (nspans == 0)
		return;
	e.spans = spans;
	e.nspans = nspans;
	e.next = 0;
	e.total = pl->len;
	if (pl->attr != NULL) {
		stanza_replace_attr(pl, &e);
		stanza_refresh(pl);
		/* The value may have been one of these. */
		st->type = xnode_attr(st->el, "type");
		st->id = xnode_attr(st->el, "id");
		st->from = xnode_attr(st->el, "from");
		st->to = xnode_attr(st->el, "to");
		return;
	}
	stanza_replace_text(pl, &e);
	/* Places nested in one another share text nodes. */
	for (j = 0; j < st->nplaces; j++) {
		struct stanza_place *o = &st->places[j];

		if (o->attr == NULL &&
		    (j == i || stanza_is_ancestor(pl->node, o->node) ||
		        stanza_is_ancestor(o->node, pl->node)))
			stanza_refresh(o);
	}
}
