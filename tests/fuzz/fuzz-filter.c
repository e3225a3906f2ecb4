/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target for filter matching and rewriting. The input is what a client
 * sends after its stream header; every element the stream parser delivers
 * is viewed as a stanza and run, once per direction, through one fixed
 * chain of regex rules (a dry run, rewrites that grow the text with groups
 * and with empty matches, a rule on XHTML-IM links, one on attributes, a
 * pattern that backtracks catastrophically under a low match limit, a log
 * rule, JID conditions that bounce and close, a word list that drops).
 * After each run the element must serialize to XML that a fresh parser
 * reads back as exactly one element whose stanza view has the same places
 * with the same texts: a rewrite must never produce ill-formed or
 * restricted XML, nor text the recipient reads differently from what the
 * filters saw. Every place's text must be valid UTF-8 of XML characters.
 * A bounce the relay would send must parse too. Any violation aborts. It
 * does not mutate the chain: the rules are the same for every input.
 * Fuzzing (a build with --enable-fuzzing CC=clang): tests/fuzz/fuzz-filter
 * -dict=tests/fuzz/filter.dict -rss_limit_mb=2048 NEW_DIR
 * tests/fuzz/corpus/fuzz-filter
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "buf.h"
#include "config.h"
#include "filter.h"
#include "log.h"
#include "muc.h"
#include "stanza.h"
#include "utf8.h"
#include "xmalloc.h"
#include "xmlstream.h"
#include "xnode.h"

#define FUZZ_MAX_INPUT 65536
#define FUZZ_MAX_ELEMENT (1u << 17)
#define FUZZ_JID "alice@example.org/phone"
#define FUZZ_HDR                                                               \
	"<stream:stream xmlns='jabber:client' "                                \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.org' "    \
	"version='1.0'>"

/*
 * The chain. Patterns are C strings of JSON strings: "\\\\b" is \b. The
 * limits are low so the backtracking rule hits them on short texts.
 */
static const char fuzz_config[] =
    "{\"limits\": {\"regex_match_limit\": 20000, \"regex_depth_limit\": 500},"
    " \"filters\": ["
    "{\"name\": \"dry-secret\", \"type\": \"regex\", \"dry_run\": true,"
    " \"action\": \"drop\", \"match\": {\"text\": \"(?i)\\\\bsecret\\\\b\"}},"
    "{\"name\": \"grow\", \"type\": \"regex\", \"action\": \"rewrite\","
    " \"match\": {\"text\": \"(?i)\\\\b(cat|dog)(s?)\\\\b\"},"
    " \"replace\": \"<${1}&amp;${2}${2}]]>$1\"},"
    "{\"name\": \"digits\", \"type\": \"regex\", \"action\": \"rewrite\","
    " \"direction\": \"c2s\", \"match\": {\"stanza\": [\"message\"],"
    " \"text\": \"(\\\\d)(\\\\d*)\"}, \"replace\": \"$1-$2$2\"},"
    "{\"name\": \"empty\", \"type\": \"regex\", \"action\": \"rewrite\","
    " \"direction\": \"s2c\", \"match\": {\"text\": \"(?=xx)|(?<=y)y*$\"},"
    " \"replace\": \"~\"},"
    "{\"name\": \"xhtml-links\", \"type\": \"regex\", \"action\": "
    "\"rewrite\", \"match\": {\"has\": "
    "[\"{http://jabber.org/protocol/xhtml-im}html\"],"
    " \"text\": \"(?i)(https?)://([^/\\\\s]+)\"},"
    " \"replace\": \"$1://blocked.invalid/$2\"},"
    "{\"name\": \"attrs\", \"type\": \"regex\", \"action\": \"rewrite\","
    " \"match\": {\"attributes\": [\"name\", \"jid\", \"id\", \"label\"],"
    " \"text\": \"(?i)admin\"}, \"replace\": \"[$0]\"},"
    "{\"name\": \"log-chat\", \"type\": \"regex\", \"action\": \"log\","
    " \"match\": {\"stanza\": [\"message\"], \"type\": [\"chat\", "
    "\"groupchat\"], \"text\": \"\\\\d{3}\"}},"
    "{\"name\": \"jid-from\", \"type\": \"regex\", \"action\": \"bounce\","
    " \"match\": {\"from\": [\"*@evil.example\", \"spam*@*\"]},"
    " \"reason\": \"blocked sender\"},"
    "{\"name\": \"jid-to\", \"type\": \"regex\", \"action\": \"close\","
    " \"direction\": \"c2s\", \"match\": {\"session_jid\": "
    "[\"alice@example.org\"], \"to\": [\"*@*.example.net/phone*\"],"
    " \"text\": \"(?i)close\"}},"
    "{\"name\": \"backtrack\", \"type\": \"regex\", \"action\": \"rewrite\","
    " \"match\": {\"text\": \"^(\\\\w+\\\\s?)+$\"}, \"replace\": \"{$1}\"},"
    "{\"name\": \"word\", \"type\": \"regex\", \"action\": \"drop\","
    " \"match\": {\"text\": "
    "\"(?i)\\\\b(?:forbidden|verboten|\\u0437\\u0430\\u043f\\u0440\\u0435"
    "\\u0449\\u0435\\u043d\\u043e)\\\\b\"},"
    " \"reason\": \"forbidden word\"}"
    "]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn)) fz_fail(const char *what)
{
	fprintf(stderr, "fuzz-filter: %s\n", what);
	abort();
}

/* The chain, built on the first input and kept for the process. */
static struct config *
fz_config(void)
{
	static struct config *cfg;
	char *err = NULL;

	if (cfg != NULL)
		return cfg;
	log_init(LOG_LEVEL_ERROR, 0);
	cfg = config_parse(fuzz_config, &err);
	if (cfg == NULL || config_filters_load(cfg, &err) == -1) {
		fprintf(stderr, "fuzz-filter: config: %s\n", err ? err : "?");
		abort();
	}
	return cfg;
}

static int
fz_catch(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct xnode **out = arg;

	(void)bytes;
	(void)len;
	if (*out != NULL)
		fz_fail("serialized element parsed as two");
	*out = el;
	return XMLSTREAM_CONTINUE;
}

/* Parses el's serialization in a fresh stream: exactly one element. */
static struct xnode *
fz_reparse(const struct xnode *el, const char *what)
{
	static const struct xmlstream_cbs cbs = {NULL, fz_catch, NULL, NULL};
	struct xnode *back = NULL;
	struct xmlstream *xs;
	struct buf in;
	size_t used;

	buf_init(&in);
	buf_adds(&in, FUZZ_HDR);
	xnode_serialize(el, XMLSTREAM_NS_CLIENT, &in);
	xs = xmlstream_new(&cbs, &back, 1u << 26);
	if (xmlstream_feed(xs, in.data, in.len, &used) < 0) {
		fprintf(stderr, "%s: %s: %s\n%s\n", what,
		    xmlstream_err_str(xmlstream_error(xs)),
		    xmlstream_error_detail(xs), in.data);
		fz_fail("serialized element does not parse");
	}
	if (back == NULL) {
		fprintf(stderr, "%s:\n%s\n", what, in.data);
		fz_fail("serialized element not delivered");
	}
	xmlstream_free(xs);
	buf_fini(&in);
	return back;
}

/* Valid UTF-8 of XML characters only, exactly len bytes. */
static void
fz_check_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	if (strlen(s) != len)
		fz_fail("place text length is not its strlen");
	while (i < len) {
		if ((n = utf8_decode(p + i, len - i, &cp)) == 0)
			fz_fail("place text is not valid UTF-8");
		if (!utf8_xml_char(cp))
			fz_fail("place text holds a character XML forbids");
		i += n;
	}
}

static bool
fz_streq0(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The view of the tree the filters left and the view of its reparse. */
static void
fz_compare(const struct stanza *a, const struct stanza *b)
{
	size_t i;

	if (a->kind != b->kind || !fz_streq0(a->type, b->type) ||
	    !fz_streq0(a->id, b->id) || !fz_streq0(a->from, b->from) ||
	    !fz_streq0(a->to, b->to))
		fz_fail("reparsed stanza has other kind or attributes");
	if (a->nplaces != b->nplaces)
		fz_fail("reparsed stanza has another number of places");
	for (i = 0; i < a->nplaces; i++) {
		const struct stanza_place *p = &a->places[i];
		const struct stanza_place *q = &b->places[i];

		fz_check_text(p->text, p->len);
		if (strcmp(p->what, q->what) != 0 ||
		    !fz_streq0(p->attr, q->attr) ||
		    !fz_streq0(p->lang, q->lang) || p->nested != q->nested)
			fz_fail("reparsed place has another label");
		if (p->len != q->len || memcmp(p->text, q->text, p->len) != 0) {
			fprintf(stderr,
			    "place %zu (%s): filtered '%s', "
			    "reparsed '%s'\n",
			    i, p->what, p->text, q->text);
			fz_fail("reparsed place reads another text");
		}
	}
}

/* The verdict's own invariants, and a bounce as the relay would send it. */
static void
fz_check_result(const struct stanza *st, const struct filter_result *res,
    unsigned dir, size_t nfilters)
{
	enum filter_verdict v = res->verdict;
	const char *why;
	struct muc muc;
	struct xnode *err, *back;

	if (res->nhits > nfilters)
		fz_fail("more hits than filters");
	if ((v == FILTER_DROP || v == FILTER_BOUNCE || v == FILTER_CLOSE) !=
	    (res->by != NULL))
		fz_fail(
		    "a terminal verdict without its filter, or the reverse");
	if (v == FILTER_REWRITE && !res->rewritten)
		fz_fail("rewrite verdict without a rewrite");
	if (v == FILTER_DROP && bounce_needed(st))
		v = FILTER_BOUNCE;
	if (v != FILTER_BOUNCE)
		return;
	muc_init(&muc);
	if (bounce_allowed(st, dir == FILTER_C2S, &muc, FUZZ_JID, &why)) {
		err =
		    bounce_build(st, dir == FILTER_C2S, FUZZ_JID, res->reason);
		back = fz_reparse(err, "bounce");
		xnode_free(back);
		xnode_free(err);
	}
	muc_fini(&muc);
}

/* One direction over el, which the run may edit. */
static void
fz_run(struct config *cfg, struct xnode *el, unsigned dir)
{
	const char *const *attrs = filter_chain_attrs(cfg->chain);
	struct filter_ctx ctx = {"fuzz", FUZZ_JID, dir, "", 0};
	struct filter_result res;
	struct stanza st, again;
	struct xnode *back;

	stanza_init(&st, el, attrs);
	filter_chain_run(cfg->chain, &st, &ctx, &res);
	fz_check_result(&st, &res, dir, filter_chain_size(cfg->chain));
	back = fz_reparse(el, res.rewritten ? "rewritten" : "filtered");
	stanza_init(&again, back, attrs);
	fz_compare(&st, &again);
	stanza_fini(&again);
	stanza_fini(&st);
	xnode_free(back);
}

static int
fz_element(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct config *cfg = arg;
	struct xnode *copy = xnode_clone(el);

	(void)bytes;
	(void)len;
	fz_run(cfg, el, FILTER_C2S);
	fz_run(cfg, copy, FILTER_S2C);
	xnode_free(copy);
	xnode_free(el);
	return XMLSTREAM_CONTINUE;
}

static int
fz_close(void *arg, const char *bytes, size_t len)
{
	(void)arg;
	(void)bytes;
	(void)len;
	return XMLSTREAM_STOP;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xmlstream_cbs cbs = {
	    NULL, fz_element, NULL, fz_close};
	struct config *cfg = fz_config();
	struct xmlstream *xs;
	size_t used;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	xs = xmlstream_new(&cbs, cfg, FUZZ_MAX_ELEMENT);
	if (xmlstream_feed(xs, FUZZ_HDR, sizeof(FUZZ_HDR) - 1, &used) < 0)
		fz_fail("the stream header does not parse");
	/* Errors end the stream: the elements before them were checked. */
	(void)!xmlstream_feed(xs, (const char *)data, size, &used);
	xmlstream_free(xs);
	return 0;
}
