/* SPDX-License-Identifier: ISC */
/*
 * Tests for xmlstream: whole client and server sessions fed whole, split in
 * two at every byte boundary and one byte at a time must give the same
 * events with the same bytes, and the spans must add up to the input; the
 * restricted-XML, encoding, namespace, size and depth cases must give their
 * error whatever the split; restarts happen at the exact byte.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "xmlstream.h"
#include "xnode.h"

#define NS_STREAM_DECL "xmlns:stream='http://etherx.jabber.org/streams'"
#define C_HDR                                                                  \
	"<stream:stream to='example.org' xmlns='jabber:client' "               \
	NS_STREAM_DECL " version='1.0' xml:lang='en'>"
#define S_HDR(id)                                                              \
	"<stream:stream from='example.org' id='" id "' "                       \
	"xmlns='jabber:client' " NS_STREAM_DECL " version='1.0' xml:lang='en'>"

/* What a run saw, in a form two runs can be compared by. */
struct rec {
	struct buf log;	    /* every event: type, bytes, tree */
	struct buf spans;   /* concatenated event bytes */
	struct buf summary; /* short, for the expected sequence */
	char last;	    /* type of the last event, to merge space runs */
	size_t log_nospace; /* log and spans before a trailing space run */
	size_t spans_nospace;
	const char *const *stop_on; /* element names answered with STOP */
	bool stop_on_open;
	bool stop_on_close;
	bool stopped;
	int elements;
};

static void
rec_init(struct rec *r, const char *const *stop_on)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->log);
	buf_init(&r->spans);
	buf_init(&r->summary);
	r->stop_on = stop_on;
}

static void
rec_fini(struct rec *r)
{
	buf_fini(&r->log);
	buf_fini(&r->spans);
	buf_fini(&r->summary);
}

static int
rec_open(void *arg, const struct xnode *root, const char *bytes, size_t len)
{
	struct rec *r = arg;
	const char *id = xnode_attr(root, "id");
	const char *lang = xnode_attr_ns(root, XNODE_NS_XML, "lang");

	buf_addf(&r->log, "\nO%zu:", len);
	buf_add(&r->log, bytes, len);
	xnode_serialize(root, NULL, &r->log);
	buf_add(&r->spans, bytes, len);
	buf_addf(&r->summary, "open(%s,%s,%d) ", id ? id : "-",
	    lang ? lang : "-", root->children == NULL);
	r->last = 'O';
	if (r->stop_on_open) {
		r->stopped = true;
		return XMLSTREAM_STOP;
	}
	return XMLSTREAM_CONTINUE;
}

static int
rec_element(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct rec *r = arg;
	char *text = xnode_text(el);
	int rc = XMLSTREAM_CONTINUE;
	size_t i;

	buf_addf(&r->log, "\nE%zu:", len);
	buf_add(&r->log, bytes, len);
	buf_addf(&r->log, "|%s|%s|%s|", el->ns ? el->ns : "",
	    el->prefix ? el->prefix : "", el->name);
	xnode_serialize(el, "jabber:client", &r->log);
	buf_addc(&r->log, '|');
	buf_adds(&r->log, text);
	buf_add(&r->spans, bytes, len);
	buf_addf(&r->summary, "%s ", el->name);
	r->last = 'E';
	r->elements++;
	for (i = 0; r->stop_on != NULL && r->stop_on[i] != NULL; i++)
		if (strcmp(el->name, r->stop_on[i]) == 0) {
			r->stopped = true;
			rc = XMLSTREAM_STOP;
		}
	free(text);
	xnode_free(el);
	return rc;
}

static int
rec_space(void *arg, const char *bytes, size_t len)
{
	struct rec *r = arg;

	/* Whitespace arrives in runs as the reads cut it: merge them. */
	if (r->last != 'S') {
		r->log_nospace = r->log.len;
		r->spans_nospace = r->spans.len;
		buf_adds(&r->log, "\nS:");
	}
	buf_add(&r->log, bytes, len);
	buf_add(&r->spans, bytes, len);
	r->last = 'S';
	return XMLSTREAM_CONTINUE;
}

static int
rec_close(void *arg, const char *bytes, size_t len)
{
	struct rec *r = arg;

	buf_addf(&r->log, "\nC%zu:", len);
	buf_add(&r->log, bytes, len);
	buf_add(&r->spans, bytes, len);
	buf_adds(&r->summary, "close ");
	r->last = 'C';
	if (r->stop_on_close) {
		r->stopped = true;
		return XMLSTREAM_STOP;
	}
	return XMLSTREAM_CONTINUE;
}

static const struct xmlstream_cbs rec_cbs = {
	rec_open,
	rec_element,
	rec_space,
	rec_close,
};

/*
 * Feeds one read the way a connection does: on STOP, reset and feed the
 * rest to the fresh parser. Returns -1 on a parse error.
 */
static int
drive(struct xmlstream *xs, struct rec *r, const char *p, size_t len)
{
	for (;;) {
		size_t used = 0;

		if (xmlstream_feed(xs, p, len, &used) < 0)
			return -1;
		if (used > len)
			return -1;
		if (r->stopped) {
			r->stopped = false;
			buf_adds(&r->log, "\nRESET");
			buf_adds(&r->summary, "| ");
			r->last = 'R';
			xmlstream_reset(xs);
		} else if (used != len) {
			return -1;
		}
		p += used;
		len -= used;
		if (len == 0)
			return 0;
	}
}

/* A multi-line diagnostic, each line marked as TAP commentary. */
static void
diag_lines(const char *title, const char *s)
{
	const char *nl;

	diag("%s:", title);
	while (s != NULL && *s != '\0') {
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s);
		diag("  %.*s", (int)(nl - s), s);
		s = *nl ? nl + 1 : nl;
	}
}

struct run {
	struct rec r;
	enum xmlstream_err err;
};

/* Feeds s cut at the given offsets (sorted, ncuts of them). */
static void
run_cuts(struct run *out, const char *s, size_t len, const size_t *cuts,
    size_t ncuts, const char *const *stop_on, size_t max)
{
	struct xmlstream *xs;
	size_t i, at = 0;

	rec_init(&out->r, stop_on);
	xs = xmlstream_new(&rec_cbs, &out->r, max);
	out->err = XMLSTREAM_ERR_NONE;
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		if (drive(xs, &out->r, s + at, end - at) < 0) {
			out->err = xmlstream_error(xs);
			if (out->err == XMLSTREAM_ERR_NONE)
				out->err = -1; /* protocol misuse */
			break;
		}
		at = end;
	}
	xmlstream_free(xs);
}

/* memcmp that accepts the NULL data of an empty buf. */
static bool
memeq(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/*
 * Two runs saw the same. Whitespace is delivered at the end of each read
 * (keepalives must not wait), so a run that fails may have delivered the
 * whitespace before the error where a run in one read did not: a trailing
 * space run is left out of the comparison of failed runs.
 */
static bool
same_run(const struct run *a, const struct run *b)
{
	size_t al = a->r.log.len, bl = b->r.log.len;
	size_t as = a->r.spans.len, bs = b->r.spans.len;

	if (a->err != XMLSTREAM_ERR_NONE && a->r.last == 'S') {
		al = a->r.log_nospace;
		as = a->r.spans_nospace;
	}
	if (b->err != XMLSTREAM_ERR_NONE && b->r.last == 'S') {
		bl = b->r.log_nospace;
		bs = b->r.spans_nospace;
	}
	return a->err == b->err && al == bl &&
	    memeq(a->r.log.data, b->r.log.data, al) && as == bs &&
	    memeq(a->r.spans.data, b->r.spans.data, as);
}

/*
 * Feeds s whole, split in two at every offset, and one byte at a time;
 * checks every run against the whole one. Returns the whole run's record
 * in *whole (caller finis it).
 */
static void
check_splits(const char *name, const char *s, size_t len,
    const char *const *stop_on, size_t max, struct run *whole)
{
	struct run other;
	size_t k, *cuts, bad = (size_t)-1;

	run_cuts(whole, s, len, NULL, 0, stop_on, max);
	for (k = 1; k < len && bad == (size_t)-1; k++) {
		run_cuts(&other, s, len, &k, 1, stop_on, max);
		if (!same_run(whole, &other))
			bad = k;
		rec_fini(&other.r);
	}
	ok(bad == (size_t)-1, "%s: same events split at every byte", name);
	if (bad != (size_t)-1)
		diag("first difference when split at %zu", bad);

	cuts = calloc(len ? len : 1, sizeof(*cuts));
	for (k = 0; k + 1 < len; k++)
		cuts[k] = k + 1;
	run_cuts(&other, s, len, cuts, len ? len - 1 : 0, stop_on, max);
	ok(same_run(whole, &other), "%s: same events one byte at a time",
	    name);
	if (!same_run(whole, &other)) {
		diag_lines("whole", whole->r.log.data);
		diag_lines("bytewise", other.r.log.data);
	}
	rec_fini(&other.r);
	free(cuts);
}

struct stream_case {
	const char *name;
	const char *xml;
	const char *const *stop_on;
	const char *summary; /* expected events */
	const char *probe;   /* an element's text that must be decoded so */
};

static const char *const c2s_stop[] = { "auth", NULL };
static const char *const s2c_stop[] = { "success", "proceed", NULL };

static const struct stream_case stream_cases[] = {
	{
	    "client session",
	    "<?xml version='1.0'?>" C_HDR "\n"
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGp1bGlldABzZWNyZXQ=</auth>"
	    "<?xml version='1.0'?>" C_HDR
	    "<iq type='set' id='bind_1'><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony"
	    "</resource></bind></iq>\n"
	    "<presence/> "
	    "<message to='romeo@example.net' type='chat' id='m1' "
	    "xml:lang='en'><body>Art thou &lt;not&gt; Romeo &amp; a "
	    "Montague&#x3F; &#x263A; caf&#233; <![CDATA[<b>bold</b> & ]]>"
	    "end&apos;&quot;</body><thread>t1</thread></message>  \n\t"
	    "<message to='r@example.net'><body>\xc3\x9cn\xc3\xaf" "c\xc3\xb6"
	    "d\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e</body></message>"
	    "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>"
	    "\r\n \r\n"
	    "</stream:stream>",
	    c2s_stop,
	    "open(-,en,1) auth | open(-,en,1) iq presence message message "
	    "iq close ",
	    "Art thou <not> Romeo & a Montague? \xe2\x98\xba caf\xc3\xa9 "
	    "<b>bold</b> & end'\"",
	},
	{
	    "server session",
	    "<?xml version='1.0' encoding='UTF-8'?>\n" S_HDR("abc123")
	    "<stream:features><mechanisms "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"
	    "</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>"
	    "</stream:features>"
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
	    "<?xml version='1.0'?>" S_HDR("def456")
	    "<stream:features><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
	    "<iq type='result' id='bind_1'><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>"
	    "juliet@example.org/balcony</jid></bind></iq> "
	    "<message from='romeo@example.net/orchard' "
	    "to='juliet@example.org/balcony' type='chat'><body>Neither, "
	    "fair saint</body><html "
	    "xmlns='http://jabber.org/protocol/xhtml-im'><body "
	    "xmlns='http://www.w3.org/1999/xhtml'><p>Neither, <em>fair</em>"
	    " saint</p></body></html></message>"
	    " \n \n"
	    "</stream:stream>",
	    s2c_stop,
	    "open(abc123,en,1) features success | open(def456,en,1) "
	    "features iq message close ",
	    "Neither, fair saintNeither, fair saint",
	},
	{
	    "keepalives only",
	    "<stream:stream xmlns='jabber:client' " NS_STREAM_DECL ">"
	    " \n \t\r\n   \n</stream:stream>\n\n ",
	    NULL,
	    "open(-,-,1) close ",
	    NULL,
	},
	{
	    "multi-byte characters in names, attributes and text",
	    "<stream:stream xmlns='jabber:client' " NS_STREAM_DECL ">"
	    "<caf\xc3\xa9 xmlns='urn:\xe2\x82\xac' "
	    "\xce\xbb='\xf0\x9f\x98\x80\xc3\xa9'>\xe4\xb8\xad"
	    "\xf0\x9d\x84\x9e\xc3\xa9<\xe6\x96\x87/></caf\xc3\xa9>"
	    "</stream:stream>",
	    NULL,
	    "open(-,-,1) caf\xc3\xa9 close ",
	    "|\xe4\xb8\xad\xf0\x9d\x84\x9e\xc3\xa9",
	},
	{
	    "empty root",
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	    "<stream xmlns='http://etherx.jabber.org/streams'/>",
	    NULL,
	    "open(-,-,1) close ",
	    NULL,
	},
	{
	    "utf-8 bom and prefixed non-client elements",
	    "\xef\xbb\xbf<stream:stream " NS_STREAM_DECL
	    " xmlns='jabber:client'>"
	    "<foo:bar xmlns:foo='urn:x' foo:a='1' b='&#x1F600;'><foo:c/>"
	    "<d xmlns='urn:y'/>\xe2\x82\xac</foo:bar>"
	    "<stream:error><not-well-formed "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
	    "</stream:stream>",
	    NULL,
	    "open(-,-,1) bar error close ",
	    "\xe2\x82\xac",
	},
};

static void
test_streams(void)
{
	size_t i;

	for (i = 0; i < sizeof(stream_cases) / sizeof(stream_cases[0]); i++) {
		const struct stream_case *c = &stream_cases[i];
		size_t len = strlen(c->xml);
		struct run whole;

		check_splits(c->name, c->xml, len, c->stop_on, 1 << 20, &whole);
		is_int(whole.err, XMLSTREAM_ERR_NONE, "%s: no error", c->name);
		is_str(whole.r.summary.data, c->summary, "%s: events", c->name);
		ok(whole.r.spans.len <= len &&
		    memeq(whole.r.spans.data, c->xml, whole.r.spans.len),
		    "%s: spans concatenate to the input", c->name);
		/* All but trailing whitespace after the close is in a span. */
		ok(strspn(c->xml + whole.r.spans.len, " \t\r\n") ==
		    len - whole.r.spans.len,
		    "%s: only space after the last span", c->name);
		if (c->probe != NULL)
			ok(strstr(whole.r.log.data, c->probe) != NULL,
			    "%s: decoded text present", c->name);
		rec_fini(&whole.r);
	}
}

struct err_case {
	const char *name;
	const char *xml;
	enum xmlstream_err want;
	size_t max;
};

#define CHDR "<stream:stream xmlns='jabber:client' " NS_STREAM_DECL ">"

static const struct err_case err_cases[] = {
	{ "comment in stanza", CHDR "<message><!-- x --></message>",
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "comment in text", CHDR "<message><body>hel<!---->lo</body>"
	    "</message>", XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "comment at depth 1", CHDR "<!-- x --><presence/>",
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "comment before the root", "<!-- x -->" CHDR,
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "processing instruction", CHDR "<message><?foo bar?></message>",
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "pi before the root", "<?xml version='1.0'?><?foo?>" CHDR,
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "xml declaration mid-stream", CHDR "<?xml version='1.0'?>",
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "doctype", "<?xml version='1.0'?><!DOCTYPE stream:stream "
	    "[<!ENTITY x 'y'>]>" CHDR "<message>&x;</message>",
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "undefined entity in text", CHDR "<message>&foo;</message>",
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "undefined entity in attribute", CHDR "<message to='&foo;'/>",
	    XMLSTREAM_ERR_RESTRICTED_XML, 0 },
	{ "char ref to NUL", CHDR "<message><body>&#0;</body></message>",
	    XMLSTREAM_ERR_NOT_WELL_FORMED, 0 },
	{ "char ref to U+0001", CHDR "<message a='&#x1;'/>",
	    XMLSTREAM_ERR_NOT_WELL_FORMED, 0 },
	{ "raw control character", CHDR "<message>\x01</message>",
	    XMLSTREAM_ERR_NOT_WELL_FORMED, 0 },
	{ "raw U+FFFE", CHDR "<message>\xef\xbf\xbe</message>",
	    XMLSTREAM_ERR_NOT_WELL_FORMED, 0 },
	{ "invalid utf-8", CHDR "<message>\xc3\x28</message>",
	    XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "overlong utf-8", CHDR "<message>\xc0\xaf</message>",
	    XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "overlong 3-byte", CHDR "<message>\xe0\x80\xaf</message>",
	    XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "utf-8 surrogate", CHDR "<message>\xed\xa0\x80</message>",
	    XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "beyond U+10FFFF", CHDR "<message>\xf4\x90\x80\x80</message>",
	    XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "stray continuation byte", CHDR "<message a='\x80'/>",
	    XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "truncated sequence", CHDR "<message>\xe2\x82</message>",
	    XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "invalid utf-8 in header", "<stream:stream to='\xff' "
	    NS_STREAM_DECL ">", XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "latin-1 declared", "<?xml version='1.0' encoding='ISO-8859-1'?>"
	    CHDR, XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "utf-16 declared", "<?xml version='1.0' encoding='UTF-16'?>"
	    CHDR, XMLSTREAM_ERR_UNSUPPORTED_ENCODING, 0 },
	{ "prefixed jabber:client stanza", CHDR
	    "<x:message xmlns:x='jabber:client' to='a@b'><x:body>hi</x:body>"
	    "</x:message>", XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX, 0 },
	{ "unbound element prefix", CHDR "<foo:bar/>",
	    XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX, 0 },
	{ "unbound attribute prefix", CHDR "<message foo:a='1'/>",
	    XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX, 0 },
	{ "unbound stream prefix", "<stream:stream xmlns='jabber:client'>",
	    XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX, 0 },
	{ "text at depth 1", CHDR "<presence/>hello<presence/>",
	    XMLSTREAM_ERR_TEXT, 0 },
	{ "char ref space at depth 1", CHDR "&#32;", XMLSTREAM_ERR_TEXT, 0 },
	{ "entity at depth 1", CHDR " &amp;", XMLSTREAM_ERR_TEXT, 0 },
	{ "cdata at depth 1", CHDR "<![CDATA[ ]]>", XMLSTREAM_ERR_TEXT, 0 },
	{ "wrong root namespace",
	    "<stream:stream xmlns:stream='urn:wrong' "
	    "xmlns='jabber:client'>", XMLSTREAM_ERR_INVALID_NAMESPACE, 0 },
	{ "wrong root name", "<streams xmlns='http://etherx.jabber.org/"
	    "streams'>", XMLSTREAM_ERR_INVALID_NAMESPACE, 0 },
	{ "root without namespace", "<stream:stream>",
	    XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX, 0 },
	{ "element too big", CHDR "<message><body>0123456789012345678901"
	    "2345678901234567890123456789012345678901234567890123456789"
	    "</body></message>", XMLSTREAM_ERR_TOO_BIG, 90 },
	{ "header too big", "<?xml version='1.0'?>  " CHDR,
	    XMLSTREAM_ERR_TOO_BIG, 100 },
	{ "unfinished start tag too big", CHDR "<message to='aaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", XMLSTREAM_ERR_TOO_BIG, 100 },
	{ "junk after close", CHDR "</stream:stream> x",
	    XMLSTREAM_ERR_AFTER_CLOSE, 0 },
	{ "element after close", CHDR "</stream:stream>\n<presence/>",
	    XMLSTREAM_ERR_AFTER_CLOSE, 0 },
	{ "mismatched tag", CHDR "<message></presence>",
	    XMLSTREAM_ERR_NOT_WELL_FORMED, 0 },
	{ "garbage", "HTTP/1.1 200 OK\r\n", XMLSTREAM_ERR_NOT_WELL_FORMED,
	    0 },
	{ "duplicate attribute", CHDR "<message to='a' to='b'/>",
	    XMLSTREAM_ERR_NOT_WELL_FORMED, 0 },
	{ "lt in attribute", CHDR "<message to='<'/>",
	    XMLSTREAM_ERR_NOT_WELL_FORMED, 0 },
};

static void
test_errors(void)
{
	size_t i;

	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		size_t max = c->max ? c->max : 1 << 20;
		struct run whole;

		check_splits(c->name, c->xml, strlen(c->xml), NULL, max,
		    &whole);
		if (!is_int(whole.err, c->want, "%s: %s", c->name,
		    xmlstream_err_str(c->want)))
			diag("got %s", xmlstream_err_str(whole.err));
		rec_fini(&whole.r);
	}
}

/* A stream that is fine up to a limit and not past it. */
static void
test_limits(void)
{
	struct buf b;
	struct run r;
	int i;

	buf_init(&b);
	buf_adds(&b, CHDR);
	for (i = 0; i < XMLSTREAM_MAX_DEPTH; i++)
		buf_adds(&b, "<a>");
	for (i = 0; i < XMLSTREAM_MAX_DEPTH; i++)
		buf_adds(&b, "</a>");
	run_cuts(&r, b.data, b.len, NULL, 0, NULL, 1 << 20);
	is_int(r.err, XMLSTREAM_ERR_NONE, "depth %d is allowed",
	    XMLSTREAM_MAX_DEPTH);
	is_int(r.r.elements, 1, "the deep element is delivered");
	rec_fini(&r.r);

	buf_reset(&b);
	buf_adds(&b, CHDR);
	for (i = 0; i <= XMLSTREAM_MAX_DEPTH; i++)
		buf_adds(&b, "<a>");
	check_splits("depth 65", b.data, b.len, NULL, 1 << 20, &r);
	is_int(r.err, XMLSTREAM_ERR_TOO_DEEP, "depth %d is too deep",
	    XMLSTREAM_MAX_DEPTH + 1);
	rec_fini(&r.r);

	/* An element of exactly max bytes passes; one more byte does not. */
	buf_reset(&b);
	buf_adds(&b, CHDR "<message><body>");
	for (i = 0; i < 100; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "</body></message>");
	run_cuts(&r, b.data, b.len, NULL, 0, NULL, 132);
	is_int(r.err, XMLSTREAM_ERR_NONE, "element of exactly max passes");
	rec_fini(&r.r);
	run_cuts(&r, b.data, b.len, NULL, 0, NULL, 131);
	is_int(r.err, XMLSTREAM_ERR_TOO_BIG, "one byte more is too big");
	rec_fini(&r.r);
	buf_fini(&b);
}

/* One huge read with an endless start tag: memory stays bounded. */
static void
test_big_chunk(void)
{
	size_t big = 8u << 20, max = 65536, used = 1, n = 0;
	char *p = malloc(big);
	struct xmlstream *xs;
	struct rec r;
	const char *d;
	int rc;

	memcpy(p, CHDR "<message to='", sizeof(CHDR "<message to='") - 1);
	memset(p + sizeof(CHDR "<message to='") - 1, 'a',
	    big - sizeof(CHDR "<message to='") + 1);
	rec_init(&r, NULL);
	xs = xmlstream_new(&rec_cbs, &r, max);
	rc = xmlstream_feed(xs, p, big, &used);
	is_int(rc, -1, "endless start tag in one 8 MiB read fails");
	is_int(xmlstream_error(xs), XMLSTREAM_ERR_TOO_BIG, "as too big");
	d = xmlstream_error_detail(xs);
	ok(sscanf(d, "%zu bytes", &n) == 1 && n > max && n <= 2 * max + 65536,
	    "detected after %zu bytes, not after 8 MiB (%s)", n, d);
	is_int(used, sizeof(CHDR) - 1, "consumed covers the header only");
	used = 1;
	is_int(xmlstream_feed(xs, "<a/>", 4, &used), -1,
	    "feeding after an error fails");
	is_int(used, 0, "and consumes nothing");
	xmlstream_free(xs);
	rec_fini(&r);
	free(p);
}

/* Many stanzas in one read, and one straddling two reads. */
static void
test_many(void)
{
	struct buf b;
	struct run whole, two;
	size_t cut, i, count = 20000;

	buf_init(&b);
	buf_adds(&b, CHDR);
	for (i = 0; i < count; i++)
		buf_addf(&b, "<message id='m%zu'><body>%zu &amp; %zu</body>"
		    "</message>%s", i, i, i * 7, i % 3 ? "" : " ");
	cut = b.len / 2 + 5;
	run_cuts(&whole, b.data, b.len, NULL, 0, NULL, 4096);
	run_cuts(&two, b.data, b.len, &cut, 1, NULL, 4096);
	is_int(whole.r.elements, (long long)count, "%zu stanzas in one read",
	    count);
	ok(whole.r.spans.len == b.len &&
	    memeq(whole.r.spans.data, b.data, b.len),
	    "their spans are the input");
	ok(same_run(&whole, &two), "the same in two reads cut mid-stanza");
	rec_fini(&whole.r);
	rec_fini(&two.r);
	buf_fini(&b);
}

/* The SASL restart: STOP at <success/>, reset, the rest is a new stream. */
static void
test_restart(void)
{
	static const char *const stop[] = { "success", NULL };
	const char first[] = S_HDR("one");
	const char rest[] =
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
	    "<?xml version='1.0'?>" S_HDR("two") "<stream:features/>";
	const char *succ_end = strstr(rest, "/>") + 2;
	struct xmlstream *xs;
	struct rec r;
	size_t used = 0;
	int rc;

	rec_init(&r, stop);
	xs = xmlstream_new(&rec_cbs, &r, 1 << 16);
	rc = xmlstream_feed(xs, first, sizeof(first) - 1, &used);
	ok(rc == 0 && used == sizeof(first) - 1, "header parsed");
	ok(xmlstream_is_open(xs), "stream is open");
	is_str(xmlstream_content_ns(xs), "jabber:client",
	    "content namespace from the header");
	rc = xmlstream_feed(xs, rest, sizeof(rest) - 1, &used);
	is_int(rc, 0, "feed with STOP returns 0");
	is_int(used, succ_end - rest, "consumed ends right after <success/>");
	ok(r.stopped, "the callback stopped");
	r.stopped = false;
	xmlstream_reset(xs);
	ok(!xmlstream_is_open(xs), "reset: not open");
	rc = xmlstream_feed(xs, rest + used, sizeof(rest) - 1 - used, &used);
	ok(rc == 0 && used == sizeof(rest) - 1 - (size_t)(succ_end - rest),
	    "the rest is parsed by the fresh parser");
	is_str(r.summary.data, "open(one,en,1) success open(two,en,1) "
	    "features ", "events across the restart");
	ok(xmlstream_is_open(xs) && !xmlstream_is_closed(xs),
	    "new stream open");
	xmlstream_free(xs);
	rec_fini(&r);

	/* STOP at the header and at the close. */
	rec_init(&r, NULL);
	r.stop_on_open = true;
	xs = xmlstream_new(&rec_cbs, &r, 1 << 16);
	rc = xmlstream_feed(xs, CHDR "<presence/>",
	    sizeof(CHDR "<presence/>") - 1, &used);
	ok(rc == 0 && used == sizeof(CHDR) - 1, "STOP at the header");
	xmlstream_free(xs);
	rec_fini(&r);

	rec_init(&r, NULL);
	r.stop_on_close = true;
	xs = xmlstream_new(&rec_cbs, &r, 1 << 16);
	rc = xmlstream_feed(xs, CHDR " </stream:stream>junk",
	    sizeof(CHDR " </stream:stream>junk") - 1, &used);
	ok(rc == 0 && used == sizeof(CHDR " </stream:stream>") - 1,
	    "STOP at the close leaves what follows unparsed");
	ok(xmlstream_is_closed(xs), "closed");
	xmlstream_free(xs);
	rec_fini(&r);
}

static void
test_strings(void)
{
	static const struct {
		enum xmlstream_err e;
		const char *cond;
	} want[] = {
		{ XMLSTREAM_ERR_NOT_WELL_FORMED, "not-well-formed" },
		{ XMLSTREAM_ERR_RESTRICTED_XML, "restricted-xml" },
		{ XMLSTREAM_ERR_TOO_BIG, "policy-violation" },
		{ XMLSTREAM_ERR_TOO_DEEP, "policy-violation" },
		{ XMLSTREAM_ERR_UNSUPPORTED_ENCODING, "unsupported-encoding" },
		{ XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX, "bad-namespace-prefix" },
		{ XMLSTREAM_ERR_INVALID_NAMESPACE, "invalid-namespace" },
		{ XMLSTREAM_ERR_TEXT, "not-well-formed" },
		{ XMLSTREAM_ERR_AFTER_CLOSE, "not-well-formed" },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_str(xmlstream_err_condition(want[i].e), want[i].cond,
		    "condition for %s", xmlstream_err_str(want[i].e));
	ok(xmlstream_err_condition(XMLSTREAM_ERR_NONE) == NULL,
	    "no condition without an error");
}

/* The error detail says what and where. */
static void
test_detail(void)
{
	struct xmlstream *xs;
	struct rec r;
	size_t used;
	const char in[] = CHDR "\n<message>\n<!-- x --></message>";
	const char bad[] = CHDR "<a></b>";

	rec_init(&r, NULL);
	xs = xmlstream_new(&rec_cbs, &r, 1 << 16);
	is_int(xmlstream_feed(xs, in, sizeof(in) - 1, &used), -1,
	    "comment fails");
	is_str(xmlstream_error_detail(xs), "comment at line 3 column 0",
	    "detail names it and its position");
	xmlstream_reset(xs);
	is_int(xmlstream_error(xs), XMLSTREAM_ERR_NONE, "reset clears it");
	is_int(xmlstream_feed(xs, bad, sizeof(bad) - 1, &used), -1,
	    "mismatched tag fails");
	ok(strstr(xmlstream_error_detail(xs), "mismatched tag") != NULL &&
	    strstr(xmlstream_error_detail(xs), "line 1") != NULL,
	    "detail has expat's message: %s", xmlstream_error_detail(xs));
	xmlstream_free(xs);
	rec_fini(&r);
}

/*
 * expat switches to UTF-16 when a document starts with a zero byte next to
 * an ASCII one, even when told the input is UTF-8. Such bytes are valid
 * UTF-8 (NUL is ASCII), so the parser must refuse NUL itself.
 */
static void
test_utf16_in_disguise(void)
{
	const char hdr[] = "<?xml version='1.0'?><stream:stream "
			   "xmlns:stream='http://etherx.jabber.org/streams'>"
			   "<message/>";
	char le[2 * sizeof(hdr)], be[2 * sizeof(hdr)];
	size_t i, n = sizeof(hdr) - 1;
	struct run r;

	for (i = 0; i < n; i++) {
		le[2 * i] = hdr[i];
		le[2 * i + 1] = '\0';
		be[2 * i] = '\0';
		be[2 * i + 1] = hdr[i];
	}
	check_splits("UTF-16LE without BOM", le, 2 * n, NULL, 1 << 20, &r);
	is_int(r.err, XMLSTREAM_ERR_NOT_WELL_FORMED, "UTF-16LE is refused");
	is_int(r.r.spans.len, 0, "UTF-16LE: no event");
	rec_fini(&r.r);
	check_splits("UTF-16BE without BOM", be, 2 * n, NULL, 1 << 20, &r);
	is_int(r.err, XMLSTREAM_ERR_NOT_WELL_FORMED, "UTF-16BE is refused");
	is_int(r.r.spans.len, 0, "UTF-16BE: no event");
	rec_fini(&r.r);
	check_splits("NUL in a stanza", CHDR "<message>a\0b</message>",
	    sizeof(CHDR "<message>a\0b</message>") - 1, NULL, 1 << 20, &r);
	is_int(r.err, XMLSTREAM_ERR_NOT_WELL_FORMED, "NUL in text is refused");
	rec_fini(&r.r);
}

int
main(void)
{
	test_streams();
	test_errors();
	test_limits();
	test_big_chunk();
	test_utf16_in_disguise();
	test_many();
	test_restart();
	test_strings();
	test_detail();
	return done_testing();
}
