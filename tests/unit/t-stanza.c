/* SPDX-License-Identifier: ISC */
/*
 * Tests for stanza: the same word reached through every place content can
 * hide (languages, subjects, statuses, XHTML split across tags, character
 * references, CDATA, carbons, MAM, out-of-band data, link attributes) must
 * show up decoded, with the right label, language and nesting; rewrites must
 * leave the tree reading exactly the substituted text, keep the tags, and
 * serialize to XML that parses again to the same places. Stanzas are parsed
 * by the real stream parser, so decoding is the one the proxy uses.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "buf.h"
#include "stanza.h"
#include "testxml.h"
#include "xmlstream.h"
#include "xnode.h"

#define NS_XHTML_IM "http://jabber.org/protocol/xhtml-im"
#define NS_XHTML "http://www.w3.org/1999/xhtml"
#define XHTML_OPEN "<html xmlns='" NS_XHTML_IM "'><body xmlns='" NS_XHTML "'>"
#define XHTML_CLOSE "</body></html>"
#define FWD "urn:xmpp:forward:0"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The place list as "what|lang|nested|text" joined by ";". */
static char *
places_str(const struct stanza *st)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < st->nplaces; i++) {
		const struct stanza_place *p = &st->places[i];

		if (strlen(p->text) != p->len)
			buf_adds(&b, "(BAD LENGTH)");
		buf_addf(&b, "%s%s|%s|%u|%s", i > 0 ? ";" : "", p->what,
		    p->lang ? p->lang : "-", p->nested, p->text);
	}
	return buf_release(&b);
}

struct place_case {
	const char *name;
	const char *xml;
	const char *const *extra;
	const char *want;
};

static const char *const extra_alt[] = {"alt", "label", "href", NULL};

static const struct place_case place_cases[] = {
    {"plain body",
        "<message to='b@x' type='chat'><body>forbidden</body></message>", NULL,
        "body|-|0|forbidden"},
    {"character references",
        "<message><body>&#x66;orb&#105;dden</body></message>", NULL,
        "body|-|0|forbidden"},
    {"predefined entities",
        "<message><body>for&amp;bidden &lt;&gt;&quot;&apos;</body>"
        "</message>",
        NULL, "body|-|0|for&bidden <>\"'"},
    {"CDATA section", "<message><body>f<![CDATA[orbid]]>den</body></message>",
        NULL, "body|-|0|forbidden"},
    {"second xml:lang body, stanza language inherited",
        "<message xml:lang='en'><body>hello</body>"
        "<body xml:lang='de'>forbidden</body></message>",
        NULL, "body|en|0|hello;body|de|0|forbidden"},
    {"xml:lang='' means none",
        "<message xml:lang='en'><body xml:lang=''>forbidden</body>"
        "</message>",
        NULL, "body|-|0|forbidden"},
    {"subject",
        "<message type='groupchat'><subject>forbidden</subject></message>",
        NULL, "subject|-|0|forbidden"},
    {"presence status in two languages",
        "<presence><show>away</show><status>forbidden</status>"
        "<status xml:lang='fr'>interdit</status><priority>1</priority>"
        "</presence>",
        NULL, "status|-|0|forbidden;status|fr|0|interdit"},
    {"XHTML-IM split across tags",
        "<message><body>forbidden</body>" XHTML_OPEN
        "<p>f<b>or</b>bidden</p>" XHTML_CLOSE "</message>",
        NULL, "body|-|0|forbidden;xhtml|-|0|forbidden"},
    {"XHTML-IM one body per language",
        "<message><html xmlns='" NS_XHTML_IM "'>"
        "<body xmlns='" NS_XHTML "' xml:lang='en'><p>for<em>bid</em></p>"
        "<p>den</p></body>"
        "<body xmlns='" NS_XHTML "' xml:lang='de'>verboten</body>"
        "</html></message>",
        NULL, "xhtml|en|0|forbidden;xhtml|de|0|verboten"},
    {"body with a child element",
        "<message><body>for<x xmlns='urn:x'/>bidden</body></message>", NULL,
        "body|-|0|forbidden"},
    {"empty body", "<message><body/></message>", NULL, "body|-|0|"},
    {"correction",
        "<message id='m2'><body>forbidden</body>"
        "<replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>",
        NULL, "body|-|0|forbidden"},
    {"carbon",
        "<message from='a@x' to='a@x/r' type='chat'>"
        "<received xmlns='urn:xmpp:carbons:2'>"
        "<forwarded xmlns='" FWD "'>"
        "<message xmlns='jabber:client' from='c@x/y' to='a@x/r' "
        "type='chat' xml:lang='en'><body>forbidden</body></message>"
        "</forwarded></received></message>",
        NULL, "body|en|1|forbidden"},
    {"MAM result",
        "<message to='a@x/r'><result xmlns='urn:xmpp:mam:2' queryid='q' "
        "id='r1'><forwarded xmlns='" FWD "'>"
        "<delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/>"
        "<message xmlns='jabber:client' to='c@x' from='a@x/r' "
        "type='chat'><body>forbidden</body><subject>s</subject></message>"
        "</forwarded></result></message>",
        NULL, "body|-|1|forbidden;subject|-|1|s"},
    {"bare forwarded, and one inside it",
        "<message><body>look</body><forwarded xmlns='" FWD "'>"
        "<message xmlns='jabber:client'><body>forbidden</body>"
        "<forwarded xmlns='" FWD "'><message xmlns='jabber:client'>"
        "<body>deeper</body></message></forwarded></message>"
        "</forwarded><body xml:lang='x'>after</body></message>",
        NULL,
        "body|-|0|look;body|-|1|forbidden;body|-|2|deeper;body|x|0|after"},
    {"forwarded presence and XHTML in a carbon",
        "<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='" FWD
        "'><presence xmlns='jabber:client'><status>forbidden</status>"
        "</presence><message xmlns='jabber:client'>" XHTML_OPEN
        "<a href='http://e.example/'>f<b>orbidden</b></a>" XHTML_CLOSE
        "</message></forwarded></sent></message>",
        NULL,
        "status|-|1|forbidden;xhtml|-|1|forbidden;"
        "attr:href|-|1|http://e.example/"},
    {"message in another namespace inside an iq",
        "<iq type='set' id='p1'><pubsub "
        "xmlns='http://jabber.org/protocol/pubsub'><publish node='n'>"
        "<item><message xmlns='jabber:server'><body>forbidden</body>"
        "</message></item></publish></pubsub></iq>",
        NULL, "body|-|1|forbidden"},
    {"iq and presence bodies are no places",
        "<iq type='get' id='b'><body>no</body><query xmlns='urn:x'>"
        "<subject>no</subject></query></iq>",
        NULL, ""},
    {"out-of-band data",
        "<message><body>see</body><x xmlns='jabber:x:oob'>"
        "<url>http://forbidden.example/</url><desc>forbidden</desc></x>"
        "</message>",
        NULL,
        "body|-|0|see;oob-url|-|0|http://forbidden.example/;"
        "oob-desc|-|0|forbidden"},
    {"iq out-of-band",
        "<iq type='set' id='o1' xml:lang='en'><query xmlns='jabber:iq:oob'>"
        "<url>http://e.example/forbidden</url><desc>d</desc></query></iq>",
        NULL, "oob-url|en|0|http://e.example/forbidden;oob-desc|en|0|d"},
    {"XHTML link and image",
        "<message>" XHTML_OPEN "<p><a href='http://forbidden.example/'>"
        "link</a><img src='https://e.example/x.png' "
        "alt='forbidden'/></p>" XHTML_CLOSE "</message>",
        NULL,
        "xhtml|-|0|link;attr:href|-|0|http://forbidden.example/;"
        "attr:src|-|0|https://e.example/x.png"},
    {"href outside XHTML is no place",
        "<message><body>x</body><a xmlns='urn:x' href='h' src='s'/>"
        "</message>",
        NULL, "body|-|0|x"},
    {"reference uri, and one inside SIMS",
        "<message><body>file</body><reference xmlns='urn:xmpp:reference:0'"
        " type='data' begin='0' end='4' uri='xmpp:forbidden@x'>"
        "<media-sharing xmlns='urn:xmpp:sims:1'><sources>"
        "<reference xmlns='urn:xmpp:reference:0' type='data' "
        "uri='https://forbidden.example/f'/></sources></media-sharing>"
        "</reference><x xmlns='urn:x' uri='not a place'/></message>",
        NULL,
        "body|-|0|file;attr:uri|-|0|xmpp:forbidden@x;"
        "attr:uri|-|0|https://forbidden.example/f"},
    {"extra attributes by name, once each",
        "<message><x xmlns='urn:x' label='forbidden' href='h1'/>" XHTML_OPEN
        "<img src='s' alt='forbidden too' href='h2' "
        "xml:lang='en'/>" XHTML_CLOSE "</message>",
        extra_alt,
        "attr:label|-|0|forbidden;attr:href|-|0|h1;xhtml|-|0|;"
        "attr:src|en|0|s;attr:alt|en|0|forbidden too;attr:href|en|0|h2"},
    {"nonza: no places",
        "<message xmlns='jabber:server'><body>forbidden</body></message>", NULL,
        ""},
};

static void
test_places(void)
{
	size_t i;

	for (i = 0; i < NELEM(place_cases); i++) {
		const struct place_case *c = &place_cases[i];
		struct xnode *el = testxml_parse(c->xml);
		struct stanza st;
		char *got;

		if (!ok(el != NULL, "%s: parses", c->name))
			continue;
		stanza_init(&st, el, c->extra);
		got = places_str(&st);
		is_str(got, c->want, "%s: places", c->name);
		free(got);
		stanza_fini(&st);
		xnode_free(el);
	}
}

/* Forwarded inside forwarded as deep as the parser allows. */
static void
test_deep(void)
{
	struct buf b;
	struct xnode *el;
	struct stanza st;
	int i, levels = 30;

	buf_init(&b);
	buf_adds(&b, "<message>");
	for (i = 0; i < levels; i++)
		buf_adds(&b, "<forwarded xmlns='" FWD "'><message "
		             "xmlns='jabber:client'>");
	buf_adds(&b, "<body>forbidden</body>");
	for (i = 0; i < levels; i++)
		buf_adds(&b, "</message></forwarded>");
	buf_adds(&b, "</message>");
	el = testxml_parse(b.data);
	buf_fini(&b);
	if (!ok(el != NULL, "deep: parses"))
		return;
	stanza_init(&st, el, NULL);
	ok(st.nplaces == 1 && st.places[0].nested == (unsigned)levels &&
	        strcmp(st.places[0].text, "forbidden") == 0,
	    "deep: found at nesting %d", levels);
	stanza_fini(&st);
	xnode_free(el);
}

static void
test_attr_field(void)
{
	struct xnode *el =
	    testxml_parse("<message>" XHTML_OPEN "<a href='h'>t</a>" XHTML_CLOSE
	                  "</message>");
	struct stanza st;

	stanza_init(&st, el, NULL);
	ok(st.nplaces == 2 && st.places[0].attr == NULL &&
	        st.places[1].attr != NULL &&
	        strcmp(st.places[1].attr, "href") == 0,
	    "attr names the attribute of attribute places only");
	stanza_fini(&st);
	xnode_free(el);
}

struct kind_case {
	const char *xml;
	enum stanza_kind kind;
	const char *type, *effective, *id, *from, *to;
};

static const struct kind_case kind_cases[] = {
    {"<message id='m' from='a@x/r' to='b@x'/>", STANZA_MESSAGE, NULL, "normal",
        "m", "a@x/r", "b@x"},
    {"<message type='chat'/>", STANZA_MESSAGE, "chat", "chat", NULL, NULL,
        NULL},
    {"<presence to='r@muc/n'/>", STANZA_PRESENCE, NULL, "available", NULL, NULL,
        "r@muc/n"},
    {"<presence type='unavailable'/>", STANZA_PRESENCE, "unavailable",
        "unavailable", NULL, NULL, NULL},
    {"<iq type='get' id='i1'><ping xmlns='urn:xmpp:ping'/></iq>", STANZA_IQ,
        "get", "get", "i1", NULL, NULL},
    {"<iq id='i2'/>", STANZA_IQ, NULL, NULL, "i2", NULL, NULL},
    {"<r xmlns='urn:xmpp:sm:3'/>", STANZA_NONZA, NULL, NULL, NULL, NULL, NULL},
    {"<message xmlns='jabber:server' type='chat'/>", STANZA_NONZA, "chat",
        "chat", NULL, NULL, NULL},
};

static void
test_kinds(void)
{
	size_t i;

	for (i = 0; i < NELEM(kind_cases); i++) {
		const struct kind_case *c = &kind_cases[i];
		struct xnode *el = testxml_parse(c->xml);
		struct stanza st;

		if (!ok(el != NULL, "%s parses", c->xml))
			continue;
		stanza_init(&st, el, NULL);
		ok(st.kind == c->kind && st.el == el, "%s: kind %s", c->xml,
		    stanza_kind_str(c->kind));
		is_str(st.type, c->type, "%s: type", c->xml);
		is_str(stanza_effective_type(&st), c->effective,
		    "%s: effective type", c->xml);
		ok((st.id == NULL ? c->id == NULL
		                  : c->id && strcmp(st.id, c->id) == 0) &&
		        (st.from == NULL
		                ? c->from == NULL
		                : c->from && strcmp(st.from, c->from) == 0) &&
		        (st.to == NULL ? c->to == NULL
		                       : c->to && strcmp(st.to, c->to) == 0),
		    "%s: id, from, to", c->xml);
		stanza_fini(&st);
		xnode_free(el);
	}
	is_str(stanza_kind_str(STANZA_MESSAGE), "message", "kind_str message");
	is_str(
	    stanza_kind_str(STANZA_PRESENCE), "presence", "kind_str presence");
	is_str(stanza_kind_str(STANZA_IQ), "iq", "kind_str iq");
	is_str(stanza_kind_str(STANZA_NONZA), "nonza", "kind_str nonza");
}

static void
test_has(void)
{
	struct xnode *el =
	    testxml_parse("<message type='chat'>"
	                  "<received xmlns='urn:xmpp:carbons:2'>"
	                  "<forwarded xmlns='" FWD "'>"
	                  "<message xmlns='jabber:client'><body>b</body>"
	                  "<active xmlns='http://jabber.org/protocol/"
	                  "chatstates'/></message></forwarded>"
	                  "</received></message>");
	struct xnode *nz =
	    testxml_parse("<enable xmlns='urn:xmpp:sm:3' resume='1'/>");
	struct stanza st, sn;

	stanza_init(&st, el, NULL);
	stanza_init(&sn, nz, NULL);
	ok(stanza_has(&st, "jabber:client", "message"), "has: the root");
	ok(stanza_has(&st, "urn:xmpp:carbons:2", "received"), "has: a child");
	ok(stanza_has(&st, "urn:xmpp:carbons:2", NULL),
	    "has: any element of a namespace");
	ok(!stanza_has(&st, "urn:xmpp:carbons:2", "sent"),
	    "has: not another name");
	ok(stanza_has(&st, "http://jabber.org/protocol/chatstates", "active"),
	    "has: deep in a nested message");
	ok(stanza_has(&st, NULL, "body"), "has: any namespace");
	ok(!stanza_has(&st, "urn:xmpp:mam:2", NULL), "has: absent namespace");
	ok(!stanza_has(&st, FWD, "message"),
	    "has: name in the wrong namespace");
	ok(stanza_has(&sn, "urn:xmpp:sm:3", "enable"), "has: a nonza root");
	ok(!stanza_has(&sn, "urn:xmpp:sm:3", "r"), "has: nonza, absent");
	stanza_fini(&st);
	stanza_fini(&sn);
	xnode_free(el);
	xnode_free(nz);
}

struct tspan {
	size_t start, end;
	const char *repl;
	size_t repl_len; /* 0: strlen(repl) */
};

struct rw_case {
	const char *name;
	const char *xml;
	const char *const *extra;
	size_t place;
	struct tspan spans[3];
	size_t nspans;
	const char *want_xml;  /* the whole element, serialized */
	const char *want_text; /* the place's text afterwards */
};

#define P_FORBIDDEN "<p>f<b>or</b>bidden</p>"
#define M_XHTML(p) "<message>" XHTML_OPEN p XHTML_CLOSE "</message>"

static const struct rw_case rw_cases[] = {
    {"single body", "<message><body>this is forbidden!</body></message>", NULL,
        0, {{8, 17, "***", 0}}, 1,
        "<message><body>this is ***!</body></message>", "this is ***!"},
    {"two occurrences",
        "<message><body>forbidden and forbidden</body></message>", NULL, 0,
        {{0, 9, "X", 0}, {14, 23, "YY", 0}}, 2,
        "<message><body>X and YY</body></message>", "X and YY"},
    {"span over all of an XHTML word split across tags", M_XHTML(P_FORBIDDEN),
        NULL, 0, {{0, 9, "[removed]", 0}}, 1, M_XHTML("<p>[removed]<b/></p>"),
        "[removed]"},
    {"span from inside one node to inside another",
        M_XHTML("<p>ab<i>cd</i>ef</p>"), NULL, 0, {{1, 5, "X", 0}}, 1,
        M_XHTML("<p>aX<i/>f</p>"), "aXf"},
    {"span exactly on the tagged node", M_XHTML(P_FORBIDDEN), NULL, 0,
        {{1, 3, "OR", 0}}, 1, M_XHTML("<p>f<b>OR</b>bidden</p>"), "fORbidden"},
    {"spans on the first and last nodes", M_XHTML(P_FORBIDDEN), NULL, 0,
        {{0, 1, "F", 0}, {6, 9, "DEN", 0}}, 2,
        M_XHTML("<p>F<b>or</b>bidDEN</p>"), "ForbidDEN"},
    {"span from a node edge to the end", M_XHTML(P_FORBIDDEN), NULL, 0,
        {{1, 9, "X", 0}}, 1, M_XHTML("<p>f<b>X</b></p>"), "fX"},
    {"insertions at node edges and at both ends", M_XHTML(P_FORBIDDEN), NULL, 0,
        {{0, 0, "<", 0}, {3, 3, "|", 0}, {9, 9, ">", 0}}, 3,
        M_XHTML("<p>&lt;f<b>or</b>|bidden&gt;</p>"), "<for|bidden>"},
    {"markup and CDATA end in a replacement",
        "<message><body>forbidden</body></message>", NULL, 0,
        {{0, 9, "<b>&amp;]]>'\"", 0}}, 1,
        "<message><body>&lt;b&gt;&amp;amp;]]&gt;'\"</body></message>",
        "<b>&amp;]]>'\""},
    {"forbidden characters stripped from a replacement",
        "<message><body>forbidden</body></message>", NULL, 0,
        {{0, 9,
            "a\x01"
            "b\x0c\xef\xbf\xbf"
            "c\td\re\xff\xed\xa0\x80z"
            "\0!",
            19}},
        1, "<message><body>abc\td&#13;ez!</body></message>", "abc\td\rez!"},
    {"whole text deleted", "<message><body>forbidden</body></message>", NULL, 0,
        {{0, 9, "", 0}}, 1, "<message><body/></message>", ""},
    {"insertion into an empty body", "<message><body/></message>", NULL, 0,
        {{0, 0, "hi", 0}, {0, 0, " there", 0}}, 2,
        "<message><body>hi there</body></message>", "hi there"},
    {"body with a child element",
        "<message><body>for<x xmlns='urn:x'/>bidden</body></message>", NULL, 0,
        {{2, 4, "", 0}}, 1,
        "<message><body>fo<x xmlns='urn:x'/>idden</body></message>", "foidden"},
    {"attribute", M_XHTML("<a href='http://forbidden.example/x'>t</a>"), NULL,
        1, {{7, 16, "it's", 0}}, 1,
        M_XHTML("<a href='http://it&apos;s.example/x'>t</a>"),
        "http://it's.example/x"},
    {"extra attribute on the root", "<message to='b@x' label='forbidden'/>",
        extra_alt, 0, {{0, 0, "not ", 0}}, 1,
        "<message to='b@x' label='not forbidden'/>", "not forbidden"},
    {"nested carbon body",
        "<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='" FWD
        "'><message xmlns='jabber:client'><body>forbidden</body>"
        "</message></forwarded></received></message>",
        NULL, 0, {{0, 9, "ok", 0}}, 1,
        "<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='" FWD
        "'><message xmlns='jabber:client'><body>ok</body></message>"
        "</forwarded></received></message>",
        "ok"},
    {"multi-byte UTF-8",
        "<message><body>Gr\xc3\xbc\xc3\x9f"
        "e, verb\xc3\xb6ten "
        "\xf0\x9f\x98\x80!</body></message>",
        NULL, 0, {{9, 18, "\xe2\x9c\x82", 0}, {19, 23, "\xc3\xa9", 0}}, 2,
        "<message><body>Gr\xc3\xbc\xc3\x9f"
        "e, \xe2\x9c\x82 \xc3\xa9!"
        "</body></message>",
        "Gr\xc3\xbc\xc3\x9f"
        "e, \xe2\x9c\x82 \xc3\xa9!"},
};

/* The serialized tree parses again and yields the same places. */
static void
check_reparse(const char *name, const char *xml, const struct stanza *st,
    const char *const *extra)
{
	struct xnode *again = testxml_parse(xml);
	struct stanza st2;
	char *a, *b;

	if (!ok(again != NULL, "%s: rewritten XML parses", name))
		return;
	stanza_init(&st2, again, extra);
	a = places_str(st);
	b = places_str(&st2);
	is_str(b, a, "%s: parsed again, same places", name);
	free(a);
	free(b);
	stanza_fini(&st2);
	xnode_free(again);
}

static void
test_rewrite(void)
{
	size_t i, k;

	for (i = 0; i < NELEM(rw_cases); i++) {
		const struct rw_case *c = &rw_cases[i];
		struct stanza_span spans[3];
		struct xnode *el = testxml_parse(c->xml);
		struct stanza st;
		char *xml;

		if (!ok(el != NULL, "%s: parses", c->name))
			continue;
		stanza_init(&st, el, c->extra);
		if (!ok(c->place < st.nplaces, "%s: has place %zu", c->name,
		        c->place)) {
			stanza_fini(&st);
			xnode_free(el);
			continue;
		}
		for (k = 0; k < c->nspans; k++) {
			spans[k].start = c->spans[k].start;
			spans[k].end = c->spans[k].end;
			spans[k].repl = c->spans[k].repl;
			spans[k].repl_len = c->spans[k].repl_len > 0
			                        ? c->spans[k].repl_len
			                        : strlen(c->spans[k].repl);
		}
		stanza_replace(&st, c->place, spans, c->nspans);
		xml = testxml_serialize(el);
		is_str(xml, c->want_xml, "%s: tree", c->name);
		is_str(st.places[c->place].text, c->want_text,
		    "%s: cached text", c->name);
		is_int(st.places[c->place].len, strlen(c->want_text),
		    "%s: cached length", c->name);
		check_reparse(c->name, xml, &st, c->extra);
		free(xml);
		stanza_fini(&st);
		xnode_free(el);
	}
}

/* A rewrite of one place updates the places that share its text. */
static void
test_rewrite_overlap(void)
{
	struct xnode *el =
	    testxml_parse("<message to='a@x'><body>a<message><body>"
	                  "forbidden</body></message>b</body>"
	                  "<subject>s</subject></message>");
	struct stanza_span sp = {0, 9, "X", 1};
	struct stanza st;
	char *got;

	stanza_init(&st, el, NULL);
	got = places_str(&st);
	is_str(got, "body|-|0|aforbiddenb;body|-|1|forbidden;subject|-|0|s",
	    "overlap: places before");
	free(got);
	stanza_replace(&st, 1, &sp, 1);
	got = places_str(&st);
	is_str(got, "body|-|0|aXb;body|-|1|X;subject|-|0|s",
	    "overlap: the enclosing place is refreshed");
	free(got);
	sp.start = 0;
	sp.end = 3;
	sp.repl = "";
	sp.repl_len = 0;
	stanza_replace(&st, 0, &sp, 1);
	got = places_str(&st);
	is_str(got, "body|-|0|;body|-|1|;subject|-|0|s",
	    "overlap: and the enclosed one");
	free(got);
	got = testxml_serialize(el);
	is_str(got,
	    "<message to='a@x'><body><message><body/></message></body>"
	    "<subject>s</subject></message>",
	    "overlap: tree");
	free(got);
	stanza_replace(&st, 2, NULL, 0);
	is_str(st.places[2].text, "s", "no spans: nothing changes");
	stanza_fini(&st);
	xnode_free(el);
}

/* Rewriting an attribute that is also a header field keeps it readable. */
static void
test_rewrite_header(void)
{
	static const char *const extra_to[] = {"to", NULL};
	struct xnode *el =
	    testxml_parse("<message to='forbidden@x'><body>b</body>"
	                  "</message>");
	struct stanza_span sp = {0, 9, "ok", 2};
	struct stanza st;

	stanza_init(&st, el, extra_to);
	ok(st.nplaces == 2 && strcmp(st.places[0].what, "attr:to") == 0,
	    "header attribute as an extra place");
	stanza_replace(&st, 0, &sp, 1);
	is_str(st.to, "ok@x", "to follows the rewrite");
	stanza_fini(&st);
	xnode_free(el);
}

/* A span cutting a UTF-8 character is a bug: the process aborts. */
static void
test_contract(void)
{
	struct xnode *el = testxml_parse("<message><body>verb\xc3\xb6ten</body>"
	                                 "</message>");
	struct stanza_span sp = {5, 6, "x", 1};
	struct stanza st;
	int status = 0;
	pid_t pid;

	stanza_init(&st, el, NULL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* Keep the expected abort's message out of the TAP log. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		stanza_replace(&st, 0, &sp, 1);
		_exit(0);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status),
	    "a span inside a UTF-8 character aborts");
	stanza_fini(&st);
	xnode_free(el);
}

int
main(void)
{
	test_places();
	test_deep();
	test_attr_field();
	test_kinds();
	test_has();
	test_rewrite();
	test_rewrite_overlap();
	test_rewrite_header();
	test_contract();
	return done_testing();
}
