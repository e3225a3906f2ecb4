/* SPDX-License-Identifier: ISC */
/*
 * The filter chain and the regex filter, from config text to verdict: the
 * same forbidden word reached through every place content lives and every
 * XML encoding trick (character references, entities, CDATA, a second
 * language, XHTML split across tags, a correction, a carbon, an archive
 * result, a forwarded message, out-of-band data), each also fed split at
 * every byte boundary, must match; near misses must not. Then conditions,
 * actions, the chain's order, dry runs, rewrites (both copies, escaping,
 * groups), the match limit against catastrophic backtracking, counters,
 * and config errors that name the JSON path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "filter.h"
#include "stanza.h"
#include "testxml.h"
#include "xmalloc.h"
#include "xnode.h"

#include "../tap.h"

#define JID "alice@example.org/phone"

/* A config with these filters[] entries (JSON text), chain built. */
static struct config *
chain_cfg(const char *filters)
{
	char *json = xasprintf("{\"filters\": [%s]}", filters), *err = NULL;
	struct config *cfg = config_parse(json, &err);

	if (cfg == NULL || config_filters_load(cfg, &err) == -1) {
		diag("config: %s", err ? err : "?");
		config_unref(cfg);
		cfg = NULL;
	}
	free(err);
	free(json);
	return cfg;
}

/* What one run gave: the verdict, the hits, and the element afterwards. */
struct run {
	enum filter_verdict verdict;
	size_t nhits;
	char hits[256]; /* "name:action:where[:dry][:limit] ..." */
	char *xml;      /* owned: the element as serialized after the run */
	const char *reason;
};

static void
run_fini(struct run *r)
{
	free(r->xml);
	r->xml = NULL;
}

static void
run_el(struct config *cfg, unsigned dir, const char *jid, struct xnode *el,
    struct run *r)
{
	struct filter_result res;
	struct filter_ctx ctx = {"t.1", jid, dir, "", 0};
	struct stanza st;
	struct buf b;
	size_t i, n = 0;

	memset(r, 0, sizeof(*r));
	if (cfg == NULL || el == NULL) {
		r->verdict = (enum filter_verdict) - 1;
		xnode_free(el);
		return;
	}
	stanza_init(&st, el, filter_chain_attrs(cfg->chain));
	filter_chain_run(cfg->chain, &st, &ctx, &res);
	r->verdict = res.verdict;
	r->nhits = res.nhits;
	r->reason = res.reason;
	for (i = 0; i < res.nhits && i < FILTER_MAX_HITS; i++)
		n += (size_t)snprintf(r->hits + n, sizeof(r->hits) - n,
		    "%s%s:%s:%s%s%s", i ? " " : "",
		    filter_name(res.hits[i].filter), res.hits[i].action,
		    res.hits[i].where ? res.hits[i].where : "-",
		    res.hits[i].dry_run ? ":dry" : "",
		    res.hits[i].limit ? ":limit" : "");
	stanza_fini(&st);
	buf_init(&b);
	xnode_serialize(el, "jabber:client", &b);
	r->xml = buf_release(&b);
	xnode_free(el);
}

static void
run(struct config *cfg, unsigned dir, const char *xml, struct run *r)
{
	run_el(cfg, dir, JID, testxml_parse(xml), r);
}

/* The forbidden word through every place and trick. */
static const struct {
	const char *what;
	const char *xml;
	const char *where;
} reach[] = {
    {"plain body",
        "<message to='b@example.org' type='chat'><body>this "
        "is forbidden</body></message>",
        "body"},
    {"character references",
        "<message to='b@example.org'><body>&#x66;"
        "&#111;rbi&#100;den</body></message>",
        "body"},
    {"entity-escaped neighbours",
        "<message to='b@example.org'><body>"
        "&lt;forbidden&gt; &amp; more</body></message>",
        "body"},
    {"CDATA",
        "<message to='b@example.org'><body>for<![CDATA[bid]]>den"
        "</body></message>",
        "body"},
    {"CDATA whole",
        "<message to='b@example.org'><body><![CDATA["
        "forbidden]]></body></message>",
        "body"},
    {"second xml:lang body",
        "<message to='b@example.org'><body>hello"
        "</body><body xml:lang='de'>forbidden</body></message>",
        "body"},
    {"subject",
        "<message to='b@example.org'><subject>forbidden"
        "</subject></message>",
        "subject"},
    {"presence status",
        "<presence><status>forbidden</status>"
        "</presence>",
        "status"},
    {"XHTML-IM split across tags",
        "<message to='b@example.org'><body>"
        "fine</body><html xmlns='http://jabber.org/protocol/xhtml-im'>"
        "<body xmlns='http://www.w3.org/1999/xhtml'><p>for<b>bid</b>"
        "<i>d</i>en</p></body></html></message>",
        "xhtml"},
    {"correction",
        "<message to='b@example.org' id='2'><body>forbidden"
        "</body><replace xmlns='urn:xmpp:message-correct:0' id='1'/>"
        "</message>",
        "body"},
    {"carbon",
        "<message from='alice@example.org' to='" JID "'>"
        "<received xmlns='urn:xmpp:carbons:2'><forwarded "
        "xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' "
        "from='b@example.org/x' to='alice@example.org/pc' type='chat'>"
        "<body>forbidden</body></message></forwarded></received>"
        "</message>",
        "body"},
    {"MAM result",
        "<message to='" JID "'><result xmlns='urn:xmpp:mam:2' "
        "queryid='q' id='a1'><forwarded xmlns='urn:xmpp:forward:0'>"
        "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>"
        "<message xmlns='jabber:client' from='b@example.org'><body>"
        "forbidden</body></message></forwarded></result></message>",
        "body"},
    {"forwarded",
        "<message to='b@example.org'><body>look</body>"
        "<forwarded xmlns='urn:xmpp:forward:0'><message "
        "xmlns='jabber:client'><body>forbidden</body></message>"
        "</forwarded></message>",
        "body"},
    {"out-of-band URL",
        "<message to='b@example.org'><x "
        "xmlns='jabber:x:oob'><url>https://example.net/forbidden</url>"
        "</x></message>",
        "oob-url"},
    {"XHTML link",
        "<message to='b@example.org'><html "
        "xmlns='http://jabber.org/protocol/xhtml-im'><body "
        "xmlns='http://www.w3.org/1999/xhtml'><a href='https://"
        "example.net/forbidden'>a link</a></body></html></message>",
        "attr:href"},
};

static const struct {
	const char *what;
	const char *xml;
} misses[] = {
    {"a space inside", "<message><body>forbid den</body></message>"},
    {"a longer word", "<message><body>unforbiddenly</body></message>"},
    {"an id attribute", "<message id='forbidden'><body>hi</body>"
                        "</message>"},
    {"a foreign element", "<message><body>hi</body><x "
                          "xmlns='urn:example'>forbidden</x></message>"},
    {"a thread", "<message><thread>forbidden</thread></message>"},
    {"split into two bodies", "<message><body>forbid</body><body "
                              "xml:lang='de'>den</body></message>"},
};

#define WORD_RULE                                                              \
	"{\"name\": \"word\", \"type\": \"regex\", \"action\": \"drop\", "     \
	"\"match\": {\"text\": \"\\\\bforbidden\\\\b\"}}"

static void
test_reach(void)
{
	struct config *cfg = chain_cfg(WORD_RULE);
	struct run r;
	size_t i, k, len, bad;
	char want[64];

	ok(cfg != NULL, "a word rule loads");
	for (i = 0; i < sizeof(reach) / sizeof(reach[0]); i++) {
		run(cfg, FILTER_C2S, reach[i].xml, &r);
		snprintf(want, sizeof(want), "word:drop:%s", reach[i].where);
		ok(r.verdict == FILTER_DROP && strcmp(r.hits, want) == 0,
		    "reached through %s: drop, %s (got %s)", reach[i].what,
		    want, r.hits);
		run_fini(&r);
		/* The same bytes cut anywhere by the network. */
		len = strlen(reach[i].xml);
		bad = 0;
		for (k = 0; k <= len; k++) {
			run_el(cfg, FILTER_C2S, JID,
			    testxml_parse_split(reach[i].xml, k), &r);
			bad += r.verdict != FILTER_DROP;
			run_fini(&r);
		}
		is_int(bad, 0, "%s split at each of %zu byte boundaries",
		    reach[i].what, len + 1);
	}
	for (i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		run(cfg, FILTER_C2S, misses[i].xml, &r);
		ok(r.verdict == FILTER_PASS && r.nhits == 0,
		    "near miss, %s: passes", misses[i].what);
		run_fini(&r);
	}
	config_unref(cfg);
}

/* Entities decoded before matching: the pattern sees '&' and '<'. */
static void
test_decoded(void)
{
	struct config *cfg =
	    chain_cfg("{\"type\": \"regex\", \"action\": "
	              "\"bounce\", \"match\": {\"text\": \"R&D <secret>\"}}");
	struct run r;

	run(cfg, FILTER_C2S,
	    "<message><body>the R&amp;D &lt;secret&gt; "
	    "plan</body></message>",
	    &r);
	ok(r.verdict == FILTER_BOUNCE, "entities are decoded before matching");
	is_str(r.reason,
	    "blocked by the server's content policy (rule "
	    "filters[0])",
	    "an unnamed rule is named by its place, in the reason");
	run_fini(&r);
	config_unref(cfg);
}

static void
test_conditions(void)
{
	struct config *cfg = chain_cfg(
	    "{\"name\": \"me\", \"type\": \"regex\", \"action\": \"log\", "
	    "\"direction\": \"c2s\", \"match\": {\"from\": "
	    "\"Alice@Example.ORG\""
	    ", \"type\": [\"chat\", \"normal\"]}},"
	    "{\"name\": \"evil\", \"type\": \"regex\", \"action\": \"drop\", "
	    "\"match\": {\"to\": \"*@evil.example\", \"stanza\": \"message\"}},"
	    "{\"name\": \"oob\", \"type\": \"regex\", \"action\": \"bounce\", "
	    "\"direction\": \"s2c\", \"match\": {\"has\": "
	    "\"{jabber:x:oob}x\"}},"
	    "{\"name\": \"sess\", \"type\": \"regex\", \"action\": \"log\", "
	    "\"match\": {\"session_jid\": \"bob@*\", \"stanza\": \"iq\"}}");
	struct run r;

	ok(cfg != NULL, "a chain of condition rules loads");
	run(cfg, FILTER_C2S,
	    "<message to='x@EVIL.example/r'><body>hi</body>"
	    "</message>",
	    &r);
	is_str(r.hits, "me:log:- evil:drop:-",
	    "to a JID pattern, without case "
	    "and any resource; the log rule before it matched (from: the "
	    "session's JID the server will stamp)");
	ok(r.verdict == FILTER_DROP, "the drop is the verdict");
	run_fini(&r);
	run(cfg, FILTER_C2S, "<presence to='x@evil.example'/>", &r);
	ok(r.verdict == FILTER_PASS && r.nhits == 0,
	    "stanza kind narrows: presence to the same JID passes");
	run_fini(&r);
	run(cfg, FILTER_C2S,
	    "<message type='groupchat' to='r@muc.example'>"
	    "<body>x</body></message>",
	    &r);
	ok(r.nhits == 0, "a type outside the list does not match");
	run_fini(&r);
	run(cfg, FILTER_S2C,
	    "<message from='alice@example.org/x'><body>x"
	    "</body></message>",
	    &r);
	ok(r.nhits == 0, "a c2s rule does not see s2c stanzas");
	run_fini(&r);
	run(cfg, FILTER_S2C,
	    "<message from='c@example.org'><x "
	    "xmlns='jabber:x:oob'><url>u</url></x></message>",
	    &r);
	is_str(r.hits, "oob:bounce:-", "has: an element by namespace and name");
	run_fini(&r);
	run(cfg, FILTER_S2C,
	    "<message from='c@example.org'><x "
	    "xmlns='jabber:x:data'/></message>",
	    &r);
	ok(r.nhits == 0, "has: another namespace does not match");
	run_fini(&r);
	run_el(cfg, FILTER_C2S, "bob@example.org/pc",
	    testxml_parse("<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/>"
	                  "</iq>"),
	    &r);
	is_str(r.hits, "sess:log:-",
	    "session_jid: a glob over the session's "
	    "JID");
	run_fini(&r);
	config_unref(cfg);
}

#define CHAIN3                                                                 \
	"{\"name\": \"a\", \"type\": \"regex\", \"action\": \"log\", "         \
	"\"match\": {\"text\": \"x\"}},"                                       \
	"{\"name\": \"b\", \"type\": \"regex\", \"action\": \"bounce\", "      \
	"\"reason\": \"no x\", \"match\": {\"text\": \"x\"}},"                 \
	"{\"name\": \"c\", \"type\": \"regex\", \"action\": \"close\", "       \
	"\"match\": {\"text\": \"x\"}}"

static void
test_chain_order(void)
{
	struct config *cfg = chain_cfg(CHAIN3);
	struct run r;

	run(cfg, FILTER_C2S, "<message><body>x</body></message>", &r);
	ok(r.verdict == FILTER_BOUNCE && strcmp(r.hits, "a:log:body "
	                                                "b:bounce:body") == 0,
	    "the first terminal verdict ends the chain "
	    "(%s)",
	    r.hits);
	is_str(
	    r.reason, "no x (rule b)", "the rule's reason is the error text");
	run_fini(&r);
	config_unref(cfg);
}

static void
test_dry_run(void)
{
	struct config *cfg = chain_cfg(
	    "{\"name\": \"d\", \"type\": \"regex\","
	    " \"action\": \"drop\", \"dry_run\": true, \"match\": {\"text\": "
	    "\"x\"}}, {\"name\": \"r\", \"type\": \"regex\", \"action\": "
	    "\"rewrite\", \"replace\": \"y\", \"match\": {\"text\": \"x\"}}");
	struct run r;
	char *json;

	run(cfg, FILTER_C2S, "<message><body>x</body></message>", &r);
	ok(r.verdict == FILTER_REWRITE, "a dry-run drop does not stop the "
	                                "chain");
	is_str(r.hits, "d:drop:body:dry r:rewrite:body",
	    "both recorded, the "
	    "first as dry run");
	is_str(r.xml, "<message><body>y</body></message>", "the rewrite ran");
	run_fini(&r);
	config_unref(cfg);
	json = xasprintf("{\"dry_run\": true, \"filters\": [%s]}",
	    "{\"name\": \"r\", \"type\": \"regex\", \"action\": \"rewrite\", "
	    "\"replace\": \"y\", \"match\": {\"text\": \"x\"}}");
	cfg = config_parse(json, NULL);
	free(json);
	ok(cfg != NULL && config_filters_load(cfg, NULL) == 0,
	    "a global dry_run loads");
	run(cfg, FILTER_C2S, "<message><body>x</body></message>", &r);
	ok(r.verdict == FILTER_PASS &&
	        strcmp(r.hits, "r:rewrite:body:dry") == 0,
	    "global dry run: recorded, passes");
	is_str(r.xml, "<message><body>x</body></message>",
	    "global dry run: "
	    "nothing rewritten");
	run_fini(&r);
	config_unref(cfg);
}

static void
test_rewrite(void)
{
	struct config *cfg = chain_cfg(
	    "{\"name\": \"card\", \"type\": "
	    "\"regex\", \"action\": \"rewrite\", \"replace\": \"[$1 removed]\","
	    " \"match\": {\"text\": \"(card) \\\\d{4}(?: ?\\\\d{4}){3}\"}}");
	struct run r;

	run(cfg, FILTER_C2S,
	    "<message to='b@example.org'><body>my card 1234 "
	    "5678 9012 3456 ok</body><html xmlns='http://jabber.org/protocol/"
	    "xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>my <b>"
	    "card 1234</b> 5678 9012 3456 ok</p></body></html></message>",
	    &r);
	ok(r.verdict == FILTER_REWRITE, "a rewrite verdict");
	is_str(r.xml,
	    "<message to='b@example.org'><body>my [card removed] "
	    "ok</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body "
	    "xmlns='http://www.w3.org/1999/xhtml'><p>my <b>[card removed]</b>"
	    " ok</p></body></html></message>",
	    "body and XHTML-IM copy rewritten alike, tags kept");
	run_fini(&r);
	config_unref(cfg);

	cfg = chain_cfg(
	    "{\"type\": \"regex\", \"action\": \"rewrite\", "
	    "\"replace\": \"<&>]]>\", \"match\": {\"text\": \"bad\"}}");
	run(cfg, FILTER_S2C, "<message><body>a bad, bad day</body></message>",
	    &r);
	is_str(r.xml,
	    "<message><body>a &lt;&amp;&gt;]]&gt;, &lt;&amp;&gt;]]&gt;"
	    " day</body></message>",
	    "replacement text is escaped, every "
	    "occurrence replaced");
	run_fini(&r);
	config_unref(cfg);

	/* A body inside a body: its text is rewritten once, with the outer. */
	cfg = chain_cfg("{\"type\": \"regex\", \"action\": \"rewrite\", "
			"\"replace\": \"[dog removed]\", \"match\": "
			"{\"text\": \"\\\\bdog\\\\b\"}}");
	run(cfg, FILTER_C2S,
	    "<message><body>a dog <message><body>my dog</body></message>"
	    "</body></message>",
	    &r);
	is_str(r.xml,
	    "<message><body>a [dog removed] <message><body>my [dog "
	    "removed]</body></message></body></message>",
	    "nested places: each text rewritten once, not inside its "
	    "replacement");
	run_fini(&r);
	config_unref(cfg);
}

/* (a+)+$ against a run of a's that does not end the text backtracks 2^n
 * ways; a pattern with a required literal that is absent would fail at
 * once, so neither has one. */
static void
test_catastrophic(void)
{
	struct config *cfg =
	    chain_cfg("{\"name\": \"cat\", \"type\": "
	              "\"regex\", \"action\": \"log\", \"match\": {\"text\": "
	              "\"(a+)+$\"}}, {\"name\": \"cat2\", \"type\": \"regex\", "
	              "\"action\": \"rewrite\", \"replace\": \"z\", \"match\": "
	              "{\"text\": "
	              "\"(x+x+)+$\"}}");
	char body[200], *xml;
	struct timespec t0, t1;
	struct run r;
	double ms;

	memset(body, 'a', 60);
	memset(body + 60, 'x', 60);
	body[120] = '!';
	body[121] = '\0';
	xml = xasprintf("<message><body>%s</body></message>", body);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run(cfg, FILTER_C2S, xml, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	diag("two catastrophic patterns on a hostile body: %.1f ms", ms);
	is_str(r.hits, "cat:log:body:limit cat2:drop:body:limit",
	    "both hit the match limit: counted as matches (fail closed); the "
	    "rewrite that cannot finish is a drop");
	ok(r.verdict == FILTER_DROP, "the verdict is drop");
	run_fini(&r);
	free(xml);
	config_unref(cfg);
}

static void
test_counters(void)
{
	struct config *cfg = chain_cfg(CHAIN3);
	struct filter_tally t;
	struct filter_result res;
	struct filter_ctx ctx = {"t.1", JID, FILTER_C2S, "", 0};
	struct stanza st;
	struct xnode *el;
	cJSON *j;
	char *s;
	int i;

	filter_tally_init(&t);
	for (i = 0; i < 3; i++) {
		el = testxml_parse("<message><body>x</body></message>");
		stanza_init(&st, el, NULL);
		filter_chain_run(cfg->chain, &st, &ctx, &res);
		filter_tally_add(&t, &res);
		stanza_fini(&st);
		xnode_free(el);
	}
	j = filter_tally_json(&t);
	s = cJSON_PrintUnformatted(j);
	is_str(s,
	    "{\"a\":{\"matches\":3,\"actions\":0},\"b\":{\"matches\":3,"
	    "\"actions\":3}}",
	    "per-session counts: matches, and actions but "
	    "for log");
	free(s);
	cJSON_Delete(j);
	filter_tally_fini(&t);
	config_unref(cfg);
}

static void
refused(const char *filters, const char *want)
{
	char *json = xasprintf("{\"filters\": [%s]}", filters), *err = NULL;
	struct config *cfg = config_parse(json, &err);

	ok(cfg == NULL && err != NULL && strstr(err, want) != NULL,
	    "refused: %s", want);
	if (cfg != NULL || err == NULL || strstr(err, want) == NULL)
		diag("got: %s", err ? err : "(accepted)");
	config_unref(cfg);
	free(err);
	free(json);
}

static void
test_config_errors(void)
{
	refused("{\"type\": \"regex\", \"action\": \"drop\", \"match\": "
	        "{\"text\": \"a(b\"}}",
	    "filters[0].match.text: missing closing "
	    "parenthesis at offset 3");
	refused("{\"type\": \"regex\", \"action\": \"rewrite\", \"replace\": "
	        "\"$2\", \"match\": {\"text\": \"(a)\"}}",
	    "filters[0].replace: "
	    "'$2': match.text has 1 capture groups");
	refused("{\"type\": \"regex\", \"action\": \"rewrite\", \"replace\": "
	        "\"${nope}\", \"match\": {\"text\": \"(?<yes>a)\"}}",
	    "filters[0].replace: '$nope': match.text has no group");
	refused("{\"type\": \"regex\", \"action\": \"rewrite\", \"replace\": "
	        "\"\\u0001\", \"match\": {\"text\": \"a\"}}",
	    "filters[0].replace: U+0001 is not allowed in XML");
	refused("{\"type\": \"regex\", \"action\": \"rewrite\", \"match\": "
	        "{\"text\": \"a\"}}",
	    "filters[0].replace: required with action "
	    "'rewrite'");
	refused("{\"type\": \"regex\", \"action\": \"drop\", \"replace\": "
	        "\"x\", \"match\": {\"text\": \"a\"}}",
	    "filters[0].replace: only "
	    "with action 'rewrite'");
	refused("{\"type\": \"regex\", \"action\": \"zap\", \"match\": "
	        "{\"text\": \"a\"}}",
	    "filters[0].action: expected one of 'log', "
	    "'rewrite', 'drop', 'bounce', 'close', got 'zap'");
	refused("{\"type\": \"regex\", \"action\": \"drop\", \"match\": {}}",
	    "filters[0].match: no condition");
	refused("{\"type\": \"regex\", \"action\": \"drop\", \"match\": "
	        "{\"attributes\": \"href\"}}",
	    "filters[0].match.attributes: needs "
	    "match.text");
	refused("{\"type\": \"regex\", \"action\": \"drop\", \"match\": "
	        "{\"to\": [\"ok@example.org\", \"bad@\"]}}",
	    "filters[0].match.to[1]: 'bad@': the domainpart is empty");
	refused("{\"type\": \"regex\", \"action\": \"drop\", \"match\": "
	        "{\"type\": \"chatt\"}}",
	    "filters[0].match.type: 'chatt': not a "
	    "stanza type");
	refused("{\"type\": \"regex\", \"action\": \"drop\", \"match\": "
	        "{\"stanza\": []}}",
	    "filters[0].match.stanza: must not be an "
	    "empty array");
	refused("{\"type\": \"regex\", \"action\": \"drop\", \"match\": "
	        "{\"txt\": \"a\"}}",
	    "filters[0].match.txt: unknown key (did you "
	    "mean 'text'?)");
	refused("{\"type\": \"regex\", \"match\": {\"text\": \"a\"}}",
	    "filters[0].action: required for type 'regex'");
	refused("{\"type\": \"plugin\"}", "filters[0].path: required for type "
	                                  "'plugin'");
	refused("{\"type\": \"plugin\", \"path\": \"x.so\", \"action\": "
	        "\"drop\"}",
	    "filters[0].action: a plugin decides");
	refused("{\"name\": \"n\", \"type\": \"regex\", \"action\": \"log\", "
	        "\"match\": {\"text\": \"a\"}}, {\"name\": \"n\", \"type\": "
	        "\"regex\", \"action\": \"log\", \"match\": {\"text\": \"b\"}}",
	    "filters[1].name: same name as filters[0]");
}

int
main(void)
{
	test_reach();
	test_decoded();
	test_conditions();
	test_chain_order();
	test_dry_run();
	test_rewrite();
	test_catastrophic();
	test_counters();
	test_config_errors();
	return done_testing();
}
