/* SPDX-License-Identifier: ISC */
/*
 * What a replay compares and expects: the canonical comparison (what is
 * ignored, what is not, the order rules) and its diff sentences; JID
 * mapping of the recorded session to the live one; and the classification
 * of recorded server stanzas as expected answers, not expected (from other
 * parties or the server) or skipped, with the stanzas sent and their ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "compare.h"
#include "expect.h"
#include "jidmap.h"
#include "recording.h"
#include "report.h"
#include "serve.h"
#include "xmlstream.h"
#include "../tap.h"

static struct xnode *
el(const char *xml)
{
	char *err = NULL;
	struct xnode *n = recording_parse_element(xml, strlen(xml), &err);

	if (n == NULL) {
		diag("test XML does not parse: %s: %s", xml, err);
		exit(1);
	}
	return n;
}

static void
same(const char *a, const char *b, const char *what)
{
	struct xnode *x = el(a), *y = el(b);

	ok(compare_equal(x, y), "equal: %s", what);
	xnode_free(x);
	xnode_free(y);
}

/* Not equal, and the diff's first sentence contains want. */
static void
differs(const char *a, const char *b, const char *want, const char *what)
{
	struct xnode *x = el(a), *y = el(b);
	char **d = NULL;
	size_t n;

	n = compare_diff(x, y, &d);
	if (!ok(!compare_equal(x, y) && n > 0 && strstr(d[0], want) != NULL,
	        "differs: %s", what))
		diag("diff: %s", n > 0 ? d[0] : "(none)");
	compare_diff_free(d, n);
	xnode_free(x);
	xnode_free(y);
}

#define DISCO "http://jabber.org/protocol/disco#info"

static void
test_compare(void)
{
	same("<iq type='result' id='a' from='x'/>",
	    "<iq from='x' id='b' type='result'></iq>",
	    "attribute order, id, empty element forms");
	same("<message><body>hi</body><active xmlns='http://jabber.org/"
	     "protocol/chatstates'/></message>",
	    "<message>\n  <c:active xmlns:c='http://jabber.org/protocol/"
	    "chatstates'/>\n  <body>hi</body>\n</message>",
	    "namespace prefix, whitespace, payload order");
	same("<message><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:"
	     "00Z' from='s'/><stanza-id xmlns='urn:xmpp:sid:0' id='1' "
	     "by='a@b'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>",
	    "<message><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:"
	    "00Z' from='s'/><stanza-id xmlns='urn:xmpp:sid:0' id='2' "
	    "by='a@b'/><origin-id xmlns='urn:xmpp:sid:0' id='o2'/></message>",
	    "delay stamps, stanza-id and origin-id values");
	same("<iq type='result'><query xmlns='" DISCO "'><identity "
	     "category='server' type='im'/><feature var='a'/><feature "
	     "var='b'/></query></iq>",
	    "<iq type='result'><query xmlns='" DISCO "'><feature var='b'/>"
	    "<feature var='a'/><identity type='im' category='server'/></query>"
	    "</iq>",
	    "disco#info children in any order");
	same("<iq type='result'><query xmlns='jabber:iq:roster' ver='3'><item "
	     "jid='a@b'><group>x</group><group>y</group></item><item "
	     "jid='c@d'/></query></iq>",
	    "<iq type='result'><query xmlns='jabber:iq:roster' ver='9'><item "
	    "jid='c@d'/><item jid='a@b'><group>y</group><group>x</group>"
	    "</item></query></iq>",
	    "roster items and groups in any order, the version ignored");
	same("<iq type='result'><time xmlns='urn:xmpp:time'><tzo>+00:00</tzo>"
	     "<utc>2020-01-01T00:00:00Z</utc></time></iq>",
	    "<iq type='result'><time xmlns='urn:xmpp:time'><tzo>+01:00</tzo>"
	    "<utc>2026-05-01T10:00:00Z</utc></time></iq>",
	    "entity time values");
	differs("<message><body>hi</body></message>",
	    "<message><body>ho</body></message>",
	    "message/body: text 'hi' "
	    "expected, got 'ho'",
	    "body text");
	differs("<message><body>a  b</body></message>",
	    "<message><body>a b</body></message>", "text",
	    "whitespace inside text counts");
	differs("<iq type='result' from='x'/>", "<iq type='error' from='x'/>",
	    "iq: type='result' expected, got 'error'", "type");
	differs("<iq type='result'><query xmlns='" DISCO "'><feature var='a'/>"
	        "</query></iq>",
	    "<iq type='result'><query xmlns='" DISCO "'><feature var='a'/>"
	    "<feature var='jabber:iq:version'/></query></iq>",
	    "iq/query (" DISCO "): extra <feature var='jabber:iq:version'/>",
	    "an extra disco feature, named with its element");
	differs("<iq type='result'><query xmlns='" DISCO "'><feature var='a'/>"
	        "<feature var='urn:xmpp:ping'/></query></iq>",
	    "<iq type='result'><query xmlns='" DISCO "'><feature var='a'/>"
	    "</query></iq>",
	    "missing <feature var='urn:xmpp:ping'/>", "a missing feature");
	differs("<iq type='result'><x xmlns='jabber:x:data'><field var='a'/>"
	        "<field var='b'/></x></iq>",
	    "<iq type='result'><x xmlns='jabber:x:data'><field var='b'/>"
	    "<field var='a'/></x></iq>",
	    "children in another order", "order counts elsewhere");
	differs("<presence from='a@b/c'/>", "<presence/>",
	    "attribute from='a@b/c' missing", "a missing attribute");
	differs("<message/>", "<iq/>", "got <iq> instead", "another element");
}

static void
test_canon_brief(void)
{
	struct xnode *a = el("<p:x xmlns:p='urn:x' b='2' a='1'>t</p:x>");
	char *c = compare_canon(a), *b;

	is_str(c, "<{urn:x}x {}a=\"1\" {}b=\"2\">t</>",
	    "the canonical text: namespaces spelled out, attributes sorted");
	free(c);
	b = compare_brief(a, 12);
	is_str(b, "<p:x xmln...", "a brief is cut with an ellipsis");
	free(b);
	xnode_free(a);
}

static void
mapped(struct jidmap *m, const char *in, const char *want)
{
	char *out = jidmap_map(m, in);

	is_str(out, want, "map %s", in);
	free(out);
}

static void
test_jidmap(void)
{
	struct jidmap *m = jidmap_new();
	struct xnode *t;
	struct buf b;
	char *err = NULL;

	ok(jidmap_add_arg(m, "bob@old=dave@new", &err) == 0, "--map bare");
	ok(jidmap_add_arg(m, "bob", &err) == -1 && err != NULL &&
	        strstr(err, "OLD=NEW") != NULL,
	    "--map without = is refused");
	free(err);
	err = NULL;
	ok(jidmap_add_arg(m, "=x", &err) == -1, "--map with an empty OLD");
	free(err);
	jidmap_set_session(m, "alice@old/phone", "carol@new/laptop");
	mapped(m, "alice@old/phone", "carol@new/laptop");
	mapped(m, "alice@old", "carol@new");
	mapped(m, "Alice@OLD/tablet", "carol@new/tablet");
	mapped(m, "bob@old/x", "dave@new/x");
	mapped(m, "room@conf.old/alice", NULL);
	mapped(m, "old", "new");
	mapped(m, "eve@old/r", "eve@new/r");
	mapped(m, "eve@elsewhere", NULL);

	t = el("<iq to='old' from='alice@old/phone'><query xmlns='jabber:iq:"
	       "roster'><item jid='bob@old' name='alice@old'/></query><x "
	       "xmlns='jabber:x:data'><value>alice@old</value></x><body>"
	       "alice@old</body></iq>");
	jidmap_tree(m, t);
	buf_init(&b);
	xnode_serialize(t, XMLSTREAM_NS_CLIENT, &b);
	is_str(b.data,
	    "<iq to='new' from='carol@new/laptop'><query "
	    "xmlns='jabber:iq:roster'><item jid='dave@new' "
	    "name='carol@new'/></query><x xmlns='jabber:x:data'>"
	    "<value>carol@new</value></x><body>alice@old</body></iq>",
	    "a tree: JID attributes and values mapped, a body never");
	buf_fini(&b);
	xnode_free(t);
	jidmap_free(m);
}

/* A recording of alice@example.org/r from (dir, xml) pairs after bind. */
static struct recording *
recording_of(const char *const *pairs)
{
	char path[64];
	struct recording *r;
	char *err = NULL;
	FILE *f;
	int fd, i;

	snprintf(path, sizeof(path), "%s/t-compare.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL)
		exit(1);
	fprintf(f, "{\"ts\":\"2026-01-01T00:00:00Z\",\"session\":\"s\","
	           "\"event\":\"bind\",\"jid\":\"alice@example.org/r\"}\n");
	for (i = 0; pairs[i] != NULL; i += 2) {
		char *x = strdup(pairs[i + 1]);
		char *p;

		for (p = x; *p; p++)
			if (*p == '"')
				*p = '\'';
		fprintf(f,
		    "{\"ts\":\"2026-01-01T00:00:%02d.000000Z\","
		    "\"session\":\"s\",\"event\":\"stanza\",\"dir\":"
		    "\"%s\",%s\"xml\":\"%s\"}\n",
		    i / 2 + 1, pairs[i][0] == '>' ? "c2s" : "s2c",
		    pairs[i][1] == '!' ? "\"by\":\"proxy\"," : "", x);
		free(x);
	}
	fclose(f);
	r = recording_load(path, NULL, &err);
	if (r == NULL) {
		diag("%s", err);
		exit(1);
	}
	unlink(path);
	return r;
}

/* The item for recording line n (bind is line 1, pairs from line 2). */
static const struct expect_item *
item_at(
    const struct expect_plan *p, const struct recording *r, unsigned long line)
{
	size_t i;

	for (i = 0; i < p->nitem; i++)
		if (r->ev[p->item[i].ev].line == line)
			return &p->item[i];
	return NULL;
}

static void
is_item(const struct expect_plan *p, const struct recording *r,
    unsigned long line, enum expect_class cls, const char *why)
{
	const struct expect_item *it = item_at(p, r, line);

	if (!ok(it != NULL && it->cls == cls && strcmp(it->why, why) == 0,
	        "line %lu: %s, %s", line, expect_class_str(cls), why))
		diag("got %s, %s", it ? expect_class_str(it->cls) : "none",
		    it ? it->why : "");
}

static void
test_expect(void)
{
	static const char *const conv[] = {
	    /* 2 */ ">",
	    "<iq type='get' id='r1'><query xmlns='jabber:iq:"
	    "roster'/></iq>",
	    /* 3 */ "<",
	    "<presence from='bob@example.org/b'/>",
	    /* 4 */ "<",
	    "<iq type='result' id='r1'><query xmlns='jabber:"
	    "iq:roster'/></iq>",
	    /* 5 */ ">",
	    "<presence/>",
	    /* 6 */ "<",
	    "<presence from='alice@example.org/r'/>",
	    /* 7 */ "<",
	    "<presence from='alice@example.org/other'/>",
	    /* 8 */ ">",
	    "<message to='nobody@x' id='m1'><body>x</body>"
	    "</message>",
	    /* 9 */ "<",
	    "<message from='nobody@x' id='m1' type='error'/>",
	    /* 10 */ "<",
	    "<message from='bob@example.org/b' type='chat'>"
	    "<body>hi</body></message>",
	    /* 11 */ ">",
	    "<iq type='set' id='s1'><query xmlns='jabber:iq:"
	    "roster'><item jid='dave@example.org'/></query>"
	    "</iq>",
	    /* 12 */ "<",
	    "<iq type='set' id='push1'><query xmlns='jabber:"
	    "iq:roster'><item jid='dave@example.org'/>"
	    "</query></iq>",
	    /* 13 */ "<",
	    "<iq type='set' id='push2'><query xmlns='jabber:"
	    "iq:roster'><item jid='zed@example.org'/>"
	    "</query></iq>",
	    /* 14 */ ">",
	    "<presence to='room@muc.example.org/al'><x "
	    "xmlns='http://jabber.org/protocol/muc'/>"
	    "</presence>",
	    /* 15 */ "<",
	    "<presence from='room@muc.example.org/bo'/>",
	    /* 16 */ "<",
	    "<presence from='room@muc.example.org/al'/>",
	    /* 17 */ ">",
	    "<message to='room@muc.example.org' id='g1' "
	    "type='groupchat'><body>x</body></message>",
	    /* 18 */ "<",
	    "<message from='room@muc.example.org/al' id='g1' "
	    "type='groupchat'><body>x</body></message>",
	    /* 19 */ "<",
	    "<iq type='get' id='ping9' from='example.org'>"
	    "<ping xmlns='urn:xmpp:ping'/></iq>",
	    /* 20 */ ">",
	    "<iq type='result' id='ping9' to='example.org'/>",
	    /* 21 */ ">",
	    "<r xmlns='urn:xmpp:sm:3'/>",
	    /* 22 */ "<!",
	    "<message type='error' id='m1'/>",
	    /* 23 */ ">",
	    "<iq type='set' id='sess'><session xmlns='urn:"
	    "ietf:params:xml:ns:xmpp-session'/></iq>",
	    /* 24 */ "<",
	    "<iq type='result' id='sess'/>",
	    /* 25 */ ">",
	    "<iq type='get' id='r1'><ping xmlns='urn:xmpp:"
	    "ping'/></iq>",
	    /* 26 */ ">!",
	    "<iq type='error' id='x'/>",
	    /* 27 */ "<",
	    "<iq type='result' id='r1'/>",
	    /* 28 */ "<",
	    "<message from='example.org'><body>motd</body>"
	    "</message>",
	    /* 29 */ ">",
	    "<iq type='get' id='xgr-bind'><query xmlns='jabber:iq:version'/>"
	    "</iq>",
	    NULL,
	};
	struct recording *r = recording_of(conv);
	struct expect_plan *p;
	char *err = NULL;
	size_t i;

	p = expect_plan_new(r, &err);
	if (!ok(p != NULL, "a plan"))
		diag("%s", err);
	is_item(p, r, 3, EXPECT_UNSOLICITED, "from another party");
	is_item(p, r, 4, EXPECT_ANSWER, "answer to the client's iq");
	is_item(p, r, 6, EXPECT_ANSWER, "echo of the client's presence");
	is_item(p, r, 7, EXPECT_UNSOLICITED, "from another party");
	is_item(p, r, 9, EXPECT_ANSWER, "error to the client's stanza");
	is_item(p, r, 10, EXPECT_UNSOLICITED, "from another party");
	is_item(p, r, 12, EXPECT_ANSWER, "roster push for the client's change");
	is_item(p, r, 13, EXPECT_UNSOLICITED, "from the server");
	is_item(p, r, 15, EXPECT_UNSOLICITED, "from another party");
	is_item(p, r, 16, EXPECT_ANSWER, "the client's own presence in a room");
	is_item(p, r, 18, EXPECT_ANSWER,
	    "reflection of the client's groupchat message");
	is_item(p, r, 19, EXPECT_UNSOLICITED, "from the server");
	is_item(p, r, 22, EXPECT_SKIPPED, "injected by xmppgate");
	is_item(p, r, 24, EXPECT_SKIPPED, "answer to session establishment");
	is_item(p, r, 27, EXPECT_ANSWER, "answer to the client's iq");
	is_item(p, r, 28, EXPECT_UNSOLICITED, "from the server");
	ok(item_at(p, r, 4)->how == EXPECT_BY_ID &&
	        item_at(p, r, 6)->how == EXPECT_BY_CONTENT,
	    "iq answers by id, the echo by content");
	is_int(p->nsend, 8, "stanzas to send");
	is_int(p->nskip, 4,
	    "client elements skipped (reply, nonza, session, "
	    "by=proxy)");
	is_int(p->nreply, 1, "a recorded reply to a server request");
	is_int(r->ev[p->reply[0].req].line, 19, "it answers the ping");
	is_str(p->send[0].id, "r1", "ids are kept");
	is_str(p->send[6].id, "r1-2", "a reused id gets a suffix");
	is_str(p->send[7].id, "xgr-bind-2", "so does one of the replay's own");
	is_int(r->ev[p->send[item_at(p, r, 27)->cause].ev].line, 25,
	    "the second r1 answer belongs to the second r1 request");
	for (i = 0; i < p->nskip; i++)
		if (r->ev[p->skip[i].ev].line == 21)
			is_str(p->skip[i].why,
			    "nonza (stream management, "
			    "CSI...)",
			    "the SM request is not sent");
	is_int(expect_count(p, EXPECT_ANSWER), 7, "expected answers");
	expect_plan_free(p);
	recording_free(r);
}

static void
test_no_bind(void)
{
	const char *path;
	struct recording *r;
	struct expect_plan *p;
	char *err = NULL;
	char tmp[64];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "/tmp/t-compare.XXXXXX");
	if ((fd = mkstemp(tmp)) == -1 || (f = fdopen(fd, "w")) == NULL)
		exit(1);
	fprintf(f, "{\"ts\":\"2026-01-01T00:00:00Z\",\"session\":\"s\","
	           "\"event\":\"session.open\"}\n");
	fclose(f);
	path = tmp;
	r = recording_load(path, NULL, &err);
	p = r != NULL ? expect_plan_new(r, &err) : NULL;
	ok(p == NULL && err != NULL && strstr(err, "no bind event") != NULL,
	    "a session that never bound cannot be replayed");
	free(err);
	recording_free(r);
	unlink(path);
}

/* serve_next's element serialized, or NULL. */
static char *
next_xml(struct serve *sv, double now, double *wait)
{
	struct xnode *n = serve_next(sv, now, wait);
	struct buf b;

	if (n == NULL)
		return NULL;
	buf_init(&b);
	xnode_serialize(n, XMLSTREAM_NS_CLIENT, &b);
	xnode_free(n);
	return buf_release(&b);
}

static void
is_next(struct serve *sv, const char *want, const char *what)
{
	double wait;
	char *got = next_xml(sv, 100, &wait);

	is_str(got, want, "served: %s", what);
	free(got);
}

static void
test_serve(void)
{
	static const char *const conv[] = {
	    /* 2 */ "<",
	    "<presence from='bob@example.org/b'/>",
	    /* 3 */ ">",
	    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
	    /* 4 */ "<",
	    "<message from='bob@example.org/b' to='alice@example.org/r' "
	    "type='chat'><body>early</body></message>",
	    /* 5 */ "<",
	    "<iq type='result' id='r1' to='alice@example.org/r'><query "
	    "xmlns='jabber:iq:roster'><item jid='bob@example.org'/></query>"
	    "</iq>",
	    /* 6 */ ">",
	    "<message to='bob@example.org' id='m1' type='chat'><body>hi"
	    "</body></message>",
	    /* 7 */ "<!",
	    "<message type='error' id='m1' from='bob@example.org'/>",
	    NULL,
	};
	struct recording *r = recording_of(conv);
	struct jidmap *m = jidmap_new();
	struct serve *sv = serve_new(r, m, 0);
	struct report *rep = report_new(REPORT_SERVER, r);
	struct xnode *live;
	double wait;
	char *got;

	is_str(serve_recorded_resource(sv), "r", "the recorded resource");
	serve_bound(sv, "carol@new.org/x", 100);
	is_next(sv, "<presence from='bob@new.org/b'/>",
	    "what followed bind goes out after bind (the recorded domain "
	    "maps to the live one)");
	ok(serve_next(sv, 100, &wait) == NULL && wait < 0, "then nothing");
	live = el("<iq type='get' id='L1'><query xmlns='jabber:iq:roster'/>"
	          "</iq>");
	ok(serve_client(sv, live, 100), "a roster query matches line 3");
	xnode_free(live);
	is_next(sv,
	    "<message from='bob@new.org/b' to='carol@new.org/x' "
	    "type='chat'><body>early</body></message>",
	    "the message that followed it, to the live JID");
	is_next(sv,
	    "<iq type='result' id='L1' to='carol@new.org/x'><query "
	    "xmlns='jabber:iq:roster'><item jid='bob@new.org'/></query>"
	    "</iq>",
	    "its result, with the live id");
	live = el("<iq type='get' id='v'><query xmlns='jabber:iq:version'/>"
	          "</iq>");
	ok(!serve_client(sv, live, 100), "a version query was not recorded");
	xnode_free(live);
	live = el("<message to='dave@new.org' type='chat' id='L2'><body>x"
	          "</body></message>");
	ok(serve_client(sv, live, 100),
	    "a chat message matches the recorded one, whoever it is to");
	xnode_free(live);
	is_next(sv, "<message type='error' id='L2' from='bob@new.org'/>",
	    "the error xmppgate injected, with the live id");
	serve_report(sv, rep);
	is_int(report_count(rep, REPORT_SEEN), 2, "both client stanzas seen");
	report_free(rep);
	serve_free(sv);

	sv = serve_new(r, m, 2);
	serve_bound(sv, "carol@new.org/x", 100);
	got = next_xml(sv, 100, &wait);
	ok(got == NULL && wait > 0.49 && wait < 0.51,
	    "at --speed 2 a stanza recorded 1 s after bind waits 0.5 s");
	free(got);
	got = next_xml(sv, 100.5, &wait);
	ok(got != NULL, "and then goes out");
	free(got);
	serve_report(sv, rep = report_new(REPORT_SERVER, r));
	is_int(report_count(rep, REPORT_NOT_SEEN), 2, "none seen: both listed");
	report_free(rep);
	serve_free(sv);
	jidmap_free(m);
	recording_free(r);
}

int
main(void)
{
	test_compare();
	test_canon_brief();
	test_jidmap();
	test_expect();
	test_no_bind();
	test_serve();
	return done_testing();
}
