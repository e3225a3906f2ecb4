/* SPDX-License-Identifier: ISC */
/*
 * Tests for xnode: building and editing trees, lookups, text, clone, and the
 * serializer (escaping, forbidden characters dropped, namespace
 * declarations, pretty output). Serialized trees are parsed back with
 * xmlstream to show the output is well-formed and means the same.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "xmlstream.h"
#include "xnode.h"

#define NS_STREAMS "http://etherx.jabber.org/streams"

/* Serializes n with default namespace ns into a fresh string. */
static char *
ser(const struct xnode *n, const char *ns)
{
	struct buf b;

	buf_init(&b);
	xnode_serialize(n, ns, &b);
	return buf_release(&b);
}

static char *
esc(const char *s, size_t len, bool quote)
{
	struct buf b;

	buf_init(&b);
	xnode_escape(&b, s, len, quote);
	return buf_release(&b);
}

static void
is_ser(const struct xnode *n, const char *ns, const char *want,
    const char *what)
{
	char *got = ser(n, ns);

	is_str(got, want, "%s", what);
	free(got);
}

static void
is_esc(const char *s, size_t len, bool quote, const char *want,
    const char *what)
{
	char *got = esc(s, len, quote);

	is_str(got, want, "escape %s", what);
	free(got);
}

static void
test_tree(void)
{
	struct xnode *m = xnode_new_element("jabber:client", "message");
	struct xnode *body, *t, *x, *last;
	char *s;

	xnode_set_attr(m, NULL, "to", "romeo@example.net");
	xnode_set_attr(m, NULL, "type", "chat");
	xnode_set_attr(m, XNODE_NS_XML, "lang", "en");
	is_str(xnode_attr(m, "to"), "romeo@example.net", "attr lookup");
	ok(xnode_attr(m, "lang") == NULL, "xml:lang is not unqualified");
	is_str(xnode_attr_ns(m, XNODE_NS_XML, "lang"), "en",
	    "xml:lang by namespace");
	xnode_set_attr(m, NULL, "type", "normal");
	is_str(xnode_attr(m, "type"), "normal", "set_attr replaces");
	is_int(m->nattrs, 3, "replacing does not add");
	xnode_set_attr(m, NULL, "type", NULL);
	ok(xnode_attr(m, "type") == NULL && m->nattrs == 2,
	    "NULL value removes");
	is_str(xnode_attr(m, "to"), "romeo@example.net",
	    "other attributes survive removal");

	body = xnode_append(m, xnode_new_element("jabber:client", "body"));
	ok(body->parent == m && m->children == body && m->last_child == body,
	    "append links the child");
	xnode_append_text(body, "Hello", 5);
	xnode_append_text(body, ", world", 7);
	ok(body->children != NULL && body->children == body->last_child &&
	    body->children->type == XNODE_TEXT,
	    "append_text merges into one text node");
	is_int(body->children->textlen, 12, "merged length");
	x = xnode_append(m, xnode_new_element("urn:x", "x"));
	xnode_append(x, xnode_new_text("a", 1));
	xnode_append(m, xnode_new_text(" tail", 5));
	xnode_append(m, xnode_new_element("urn:x", "x"));

	ok(xnode_is(body, "jabber:client", "body"), "is with ns");
	ok(xnode_is(body, NULL, "body"), "is with any ns");
	ok(!xnode_is(body, "urn:x", "body"), "is with another ns");
	ok(!xnode_is(body->children, NULL, "body"), "text is no element");
	ok(xnode_child(m, NULL, "body") == body, "child by name");
	ok(xnode_child(m, "urn:x", NULL) == x, "child by namespace");
	ok(xnode_child(m, "urn:y", "body") == NULL, "child absent");
	ok(xnode_next(x, "urn:x", "x") == m->last_child, "next skips text");
	ok(xnode_next(m->last_child, NULL, NULL) == NULL, "next at the end");

	s = xnode_text(m);
	is_str(s, "Hello, worlda tail", "text concatenates descendants");
	free(s);

	t = body->children;
	xnode_unlink(body);
	ok(body->parent == NULL && m->children == x, "unlink the first");
	last = m->last_child;
	xnode_unlink(last);
	ok(last->parent == NULL && m->last_child != NULL &&
	    m->last_child->type == XNODE_TEXT && m->last_child->next == NULL,
	    "unlink the last updates last_child");
	xnode_free(last);
	xnode_append(m, body);
	ok(m->last_child == body && t->parent == body, "re-append");
	xnode_remove(x);
	s = xnode_text(m);
	is_str(s, " tailHello, world", "remove frees a middle child");
	free(s);
	xnode_free(m);
	xnode_free(NULL);
	ok(1, "free(NULL) is a no-op");
}

static void
test_clone(void)
{
	struct xnode *m = xnode_new_element("jabber:client", "message");
	struct xnode *c, *body;
	char *a, *b;

	xnode_set_attr(m, NULL, "id", "x1");
	xnode_set_attr(m, "urn:attr", "flag", "1");
	body = xnode_append(m, xnode_new_element("jabber:client", "body"));
	xnode_append_text(body, "hi", 2);
	xnode_append(m, xnode_new_element("urn:x", "x"));
	c = xnode_clone(m);
	a = ser(m, "jabber:client");
	b = ser(c, "jabber:client");
	is_str(b, a, "clone serializes the same");
	free(b);
	ok(c->parent == NULL && c->children->parent == c &&
	    c->last_child->parent == c,
	    "clone's parent links point into the clone");
	ok(c->children != body && c->children->children != body->children,
	    "clone shares no nodes");
	xnode_set_attr(xnode_child(c, NULL, "body"), NULL, "changed", "y");
	xnode_append_text(xnode_child(c, NULL, "body"), "!", 1);
	b = ser(m, "jabber:client");
	is_str(b, a, "editing the clone leaves the original alone");
	free(a);
	free(b);
	xnode_free(m);
	xnode_free(c);
}

static void
test_escape(void)
{
	is_esc("a<b>&c\"'", 8, false, "a&lt;b&gt;&amp;c\"'", "text markup");
	is_esc("a<b>&c\"'", 8, true, "a&lt;b&gt;&amp;c&quot;&apos;",
	    "attribute markup");
	is_esc("x\ty\nz\r", 6, false, "x\ty\nz&#13;", "text whitespace");
	is_esc("x\ty\nz\r", 6, true, "x&#9;y&#10;z&#13;",
	    "attribute whitespace");
	is_esc("]]>", 3, false, "]]&gt;", "no CDATA end in text");
	is_esc("a\0b\x01\x08\x0b\x0c\x0e\x1f" "c", 10, false, "abc",
	    "C0 controls dropped");
	is_esc("a\x7f\xc2\x85z", 5, false, "a\x7f\xc2\x85z",
	    "DEL and C1 are allowed");
	is_esc("[\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd]", 11, false,
	    "[\xef\xbf\xbd]", "U+FFFE/FFFF dropped, U+FFFD kept");
	is_esc("[\xed\xa0\x80\xed\xbf\xbf]", 8, false, "[]",
	    "surrogates dropped");
	is_esc("[\xc0\xaf\xe0\x80\xaf\xf4\x90\x80\x80\xff\x80]", 13, false,
	    "[]", "overlongs, beyond U+10FFFF, stray bytes dropped");
	is_esc("[\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf]",
	    16, true,
	    "[\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf]",
	    "U+D7FF, U+E000, U+10000, U+10FFFF kept");
	is_esc("ab\xe2\x82", 4, false, "ab", "truncated sequence at the end");
	is_esc("\xe2\x82<", 3, false, "&lt;",
	    "truncated sequence before markup");
	is_esc("", 0, true, "", "empty");
}

static void
test_namespaces(void)
{
	struct xnode *f, *m, *n, *e;

	m = xnode_new_element("jabber:client", "message");
	xnode_set_attr(m, NULL, "to", "a@b");
	xnode_set_attr(m, XNODE_NS_XML, "lang", "en");
	xnode_append_text(xnode_append(m, xnode_new_element("jabber:client",
	    "body")), "x", 1);
	n = xnode_append(m, xnode_new_element("urn:xmpp:receipts",
	    "request"));
	xnode_append(n, xnode_new_element("urn:xmpp:receipts", "inner"));
	xnode_append(m, xnode_new_element(NULL, "bare"));
	is_ser(m, "jabber:client",
	    "<message to='a@b' xml:lang='en'><body>x</body>"
	    "<request xmlns='urn:xmpp:receipts'><inner/></request>"
	    "<bare xmlns=''/></message>",
	    "default namespace: none on the stanza, declared where it changes");
	is_ser(m, NULL,
	    "<message xmlns='jabber:client' to='a@b' xml:lang='en'>"
	    "<body>x</body><request xmlns='urn:xmpp:receipts'><inner/>"
	    "</request><bare xmlns=''/></message>",
	    "no default in scope: the stanza declares it");
	xnode_free(m);

	f = xnode_new_element(NS_STREAMS, "features");
	f->prefix = strdup("stream");
	e = xnode_append(f, xnode_new_element(NS_STREAMS, "sub"));
	e->prefix = strdup("stream");
	xnode_append(f, xnode_new_element("urn:ietf:params:xml:ns:xmpp-tls",
	    "starttls"));
	is_ser(f, "jabber:client",
	    "<stream:features xmlns:stream='" NS_STREAMS "'><stream:sub/>"
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
	    "</stream:features>",
	    "prefix kept and declared once");
	xnode_free(f);

	/* Namespaced attributes: original prefix kept, else one invented. */
	e = xnode_new_element("jabber:client", "iq");
	xnode_set_attr(e, "urn:a", "one", "1");
	e->attrs[0].prefix = strdup("a");
	xnode_set_attr(e, "urn:b", "two", "2");
	xnode_set_attr(e, "urn:b", "three", "3");
	xnode_set_attr(e, "urn:c", "four", "<'>");
	is_ser(e, "jabber:client",
	    "<iq xmlns:a='urn:a' xmlns:ns0='urn:b' xmlns:ns1='urn:c' a:one='1'"
	    " ns0:two='2' ns0:three='3' ns1:four='&lt;&apos;&gt;'/>",
	    "attribute namespaces declared");
	xnode_free(e);

	/* An element prefix bound to another namespace further up. */
	f = xnode_new_element("urn:one", "a");
	f->prefix = strdup("p");
	e = xnode_append(f, xnode_new_element("urn:two", "b"));
	e->prefix = strdup("p");
	xnode_set_attr(e, "urn:one", "at", "v");
	e->attrs[0].prefix = strdup("p");
	is_ser(f, NULL,
	    "<p:a xmlns:p='urn:one'><p:b xmlns:p='urn:two' xmlns:ns0='urn:one'"
	    " ns0:at='v'/></p:a>",
	    "rebinding a prefix and resolving a clash");
	xnode_free(f);

	/* Forbidden characters never reach the output, anywhere. */
	e = xnode_new_element("jabber:client", "message");
	xnode_set_attr(e, NULL, "id", "a\x01\xff" "b\t");
	xnode_append_text(e, "x\x0c\xef\xbf\xbey\0z", 8);
	is_ser(e, "jabber:client", "<message id='ab&#9;'>xyz</message>",
	    "forbidden characters dropped from attributes and text");
	xnode_free(e);
}

static void
test_pretty(void)
{
	struct xnode *m = xnode_new_element("jabber:client", "message");
	struct xnode *h, *b, *p;
	struct buf out;

	xnode_set_attr(m, NULL, "to", "a@b");
	xnode_append_text(m, "\n  ", 3);
	xnode_append_text(xnode_append(m, xnode_new_element("jabber:client",
	    "body")), "hi & bye", 8);
	h = xnode_append(m, xnode_new_element(
	    "http://jabber.org/protocol/xhtml-im", "html"));
	b = xnode_append(h, xnode_new_element("http://www.w3.org/1999/xhtml",
	    "body"));
	p = xnode_append(b, xnode_new_element("http://www.w3.org/1999/xhtml",
	    "p"));
	xnode_append_text(p, "a", 1);
	xnode_append_text(xnode_append(p, xnode_new_element(
	    "http://www.w3.org/1999/xhtml", "em")), "b", 1);
	xnode_append_text(p, "c", 1);
	xnode_append(m, xnode_new_element("urn:xmpp:receipts", "request"));

	buf_init(&out);
	xnode_serialize_pretty(m, "jabber:client", 2, &out);
	is_str(out.data,
	    "<message to='a@b'>\n"
	    "  <body>hi &amp; bye</body>\n"
	    "  <html xmlns='http://jabber.org/protocol/xhtml-im'>\n"
	    "    <body xmlns='http://www.w3.org/1999/xhtml'>\n"
	    "      <p>\n"
	    "        a\n"
	    "        <em>b</em>\n"
	    "        c\n"
	    "      </p>\n"
	    "    </body>\n"
	    "  </html>\n"
	    "  <request xmlns='urn:xmpp:receipts'/>\n"
	    "</message>",
	    "pretty: indented, text-only children inline, blank text dropped");
	buf_reset(&out);
	xnode_serialize_pretty(b->children, NULL, 4, &out);
	is_str(out.data, "<p xmlns='http://www.w3.org/1999/xhtml'>\n    a\n"
	    "    <em>b</em>\n    c\n</p>", "pretty: other indent");
	buf_fini(&out);
	xnode_free(m);
}

struct catch {
	struct xnode *el;
	int n;
};

static int
catch_el(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct catch *c = arg;

	c->n++;
	xnode_free(c->el);
	c->el = el;
	return XMLSTREAM_CONTINUE;
}

/* What the serializer writes parses back to a tree that writes the same. */
static void
test_roundtrip(void)
{
	static const struct xmlstream_cbs cbs = { NULL, catch_el, NULL, NULL };
	struct xnode *m = xnode_new_element("jabber:client", "message");
	struct xnode *x;
	struct xmlstream *xs;
	struct catch c = { NULL, 0 };
	struct buf in;
	char *first, *again;
	size_t used;
	int rc;

	xnode_set_attr(m, NULL, "to", "a@b'\"<&>\r\n\t");
	xnode_set_attr(m, XNODE_NS_XML, "lang", "de");
	xnode_set_attr(m, "urn:attr", "odd", "\x01v\xc3\xa4");
	xnode_append_text(xnode_append(m, xnode_new_element("jabber:client",
	    "body")), "]]> <&> \r\n \x02 \xed\xa0\x80 \xf0\x9f\x98\x80", 22);
	x = xnode_append(m, xnode_new_element("urn:x", "x"));
	x->prefix = strdup("px");
	xnode_append(x, xnode_new_element(NULL, "nons"));
	first = ser(m, "jabber:client");

	buf_init(&in);
	buf_adds(&in, "<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='" NS_STREAMS "'>");
	buf_adds(&in, first);
	xs = xmlstream_new(&cbs, &c, 1 << 16);
	rc = xmlstream_feed(xs, in.data, in.len, &used);
	ok(rc == 0 && c.n == 1, "serialized output parses");
	if (rc != 0)
		diag("%s", xmlstream_error_detail(xs));
	again = c.el ? ser(c.el, "jabber:client") : NULL;
	is_str(again, first, "and serializes the same again");
	is_str(xnode_attr(c.el, "to"), "a@b'\"<&>\r\n\t",
	    "attribute value survives (CR, LF, tab included)");
	free(again);
	again = c.el ? xnode_text(c.el) : NULL;
	is_str(again, "]]> <&> \r\n   \xf0\x9f\x98\x80",
	    "text survives, CR included, forbidden dropped");
	free(again);
	xmlstream_free(xs);
	xnode_free(c.el);
	xnode_free(m);
	buf_fini(&in);
	free(first);
}

int
main(void)
{
	test_tree();
	test_clone();
	test_escape();
	test_namespaces();
	test_pretty();
	test_roundtrip();
	return done_testing();
}
