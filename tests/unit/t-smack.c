/* SPDX-License-Identifier: ISC */
/*
 * Stream management translation: the `h` of acks, resume and resumed through
 * drops, injections and bounces on both flows, folding and its memory,
 * wraparound, enable failures, parking and resumption across sessions
 * (known, unknown, expired, failed), the SASL2 and Bind2 inline forms,
 * invalid counts, the run cap, and the table's bounds.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smack.h"
#include "smack_int.h"
#include "tap.h"
#include "xmalloc.h"
#include "testxml.h"
#include "xmlstream.h"

#define SM "urn:xmpp:sm:3"
#define SASL2 "urn:xmpp:sasl:2"
#define BIND2 "urn:xmpp:bind:0"

static struct smack_table *tbl;
static time_t now = 1700000000;

/* The first `h` in the tree, depth first. */
static const char *
first_h(const struct xnode *n)
{
	const struct xnode *c;
	const char *h;

	if (n->type != XNODE_ELEMENT)
		return NULL;
	if ((h = xnode_attr(n, "h")) != NULL)
		return h;
	for (c = n->children; c != NULL; c = c->next)
		if ((h = first_h(c)) != NULL)
			return h;
	return NULL;
}

static bool last_changed; /* what smack_nonza returned */
static bool last_same;    /* the tree serializes as before */
static char last_h[32];   /* the first h after it, "" if none */

/* Relays one nonza through s; returns its first h as the peer sees it. */
static const char *
relay(struct smack *s, enum smack_dir d, const char *xml)
{
	struct xnode *e = testxml_parse(xml);
	const char *h;
	char *before, *after;

	if (e == NULL) {
		last_h[0] = '\0';
		return last_h;
	}
	before = testxml_serialize(e);
	last_changed = smack_nonza(s, tbl, d, e, now);
	after = testxml_serialize(e);
	last_same = strcmp(before, after) == 0;
	h = first_h(e);
	snprintf(last_h, sizeof(last_h), "%s", h != NULL ? h : "");
	free(before);
	free(after);
	xnode_free(e);
	return last_h;
}

static long long
num(const char *h)
{
	return *h == '\0' ? -1 : strtoll(h, NULL, 10);
}

/* An <a h/> travelling in d; returns its h as the peer gets it. */
static long long
ack(struct smack *s, enum smack_dir d, uint32_t h)
{
	char xml[96];

	snprintf(xml, sizeof(xml), "<a xmlns='" SM "' h='%" PRIu32 "'/>", h);
	return num(relay(s, d, xml));
}

#define server_a(s, h) ack((s), SMACK_S2C, (h))
#define client_a(s, h) ack((s), SMACK_C2S, (h))

/* Records n stanzas with one of the accounting calls; ORs the results. */
static int
rec(struct smack *s, int (*call)(struct smack *, enum smack_dir),
    enum smack_dir d, int n)
{
	int rc = 0;

	while (n-- > 0)
		rc |= call(s, d);
	return rc;
}

#define fwd(s, d, n) rec((s), smack_forwarded, (d), (n))
#define drop(s, d, n) rec((s), smack_dropped, (d), (n))
#define inj(s, d, n) rec((s), smack_injected, (d), (n))

/* A session with SM enabled, resumable under id (NULL: not resumable). */
static struct smack *
enabled_session(const char *id, const char *max)
{
	struct smack *s = smack_new();
	char xml[160];

	relay(s, SMACK_C2S, "<enable xmlns='" SM "' resume='true'/>");
	if (id != NULL)
		snprintf(xml, sizeof(xml),
		    "<enabled xmlns='" SM "' id='%s' resume='true'%s%s%s/>", id,
		    max != NULL ? " max='" : "", max != NULL ? max : "",
		    max != NULL ? "'" : "");
	else
		snprintf(xml, sizeof(xml), "<enabled xmlns='" SM "'/>");
	relay(s, SMACK_S2C, xml);
	return s;
}

static void
test_identity(void)
{
	struct smack *s = smack_new();

	is_int(fwd(s, SMACK_C2S, 3), 0, "before SM: recording is a no-op");
	is_int(smack_runs(s, SMACK_C2S), 0, "before SM: nothing recorded");
	is_int(server_a(s, 5), 5, "before SM: acks untouched");
	ok(!last_changed && last_same, "before SM: tree untouched");
	smack_free(s);

	s = enabled_session(NULL, NULL);
	ok(smack_id(s) == NULL, "not resumable: no SM-ID");
	is_int(fwd(s, SMACK_C2S, 5), 0, "five client stanzas forwarded");
	is_int(smack_runs(s, SMACK_C2S), 1, "without drops one run");
	is_int(server_a(s, 3), 3, "server h=3 stays 3");
	ok(!last_changed && last_same, "identity: the tree is not touched");
	is_int(smack_runs(s, SMACK_C2S), 1, "two left, one run");
	is_int(fwd(s, SMACK_S2C, 4), 0, "four server stanzas");
	is_int(client_a(s, 4), 4, "client h=4 stays 4");
	ok(!last_changed && last_same, "identity s2c: untouched");
	is_int(smack_runs(s, SMACK_S2C), 0, "all acked: nothing kept");
	is_int(server_a(s, 5), 5, "server h=5 stays 5");
	is_int(smack_runs(s, SMACK_C2S), 0, "c2s all acked: nothing kept");
	relay(s, SMACK_S2C, "<a xmlns='" SM "' h='005'/>");
	ok(!last_changed && strcmp(last_h, "005") == 0,
	    "identity keeps the original spelling of h");
	smack_free(s);
}

static void
test_c2s_drops(void)
{
	struct smack *s;

	/* The brief's example: s1 forwarded, s2 dropped. */
	s = enabled_session(NULL, NULL);
	fwd(s, SMACK_C2S, 1);
	drop(s, SMACK_C2S, 1);
	is_int(server_a(s, 1), 2, "F D: server h=1 -> client h=2");
	ok(last_changed && !last_same, "the element changed");
	smack_free(s);

	s = enabled_session(NULL, NULL);
	fwd(s, SMACK_C2S, 1);
	drop(s, SMACK_C2S, 1);
	is_int(server_a(s, 0), 0, "F D: server h=0 -> 0, s1 not acked yet");
	ok(!last_changed, "h=0 is the identity here");
	is_int(server_a(s, 1), 2, "then h=1 -> 2");
	smack_free(s);

	/* Drop at the start. */
	s = enabled_session(NULL, NULL);
	drop(s, SMACK_C2S, 1);
	fwd(s, SMACK_C2S, 2);
	is_int(server_a(s, 0), 1, "D F F: h=0 -> 1 (the drop is settled)");
	is_int(server_a(s, 2), 3, "D F F: h=2 -> 3");
	smack_free(s);

	/* Drop in the middle, acks before and after it. */
	s = enabled_session(NULL, NULL);
	fwd(s, SMACK_C2S, 1);
	is_int(server_a(s, 1), 1, "F: h=1 -> 1");
	drop(s, SMACK_C2S, 1);
	fwd(s, SMACK_C2S, 1);
	is_int(server_a(s, 1), 2, "F | D F: repeated h=1 -> 2, drop settled");
	is_int(server_a(s, 2), 3, "F D F: h=2 -> 3");
	fwd(s, SMACK_C2S, 2);
	is_int(server_a(s, 4), 5, "offset of one stays: h=4 -> 5");
	smack_free(s);

	/* Drops at the end. */
	s = enabled_session(NULL, NULL);
	fwd(s, SMACK_C2S, 2);
	drop(s, SMACK_C2S, 3);
	is_int(server_a(s, 1), 1, "F F D D D: h=1 -> 1");
	is_int(server_a(s, 2), 5, "F F D D D: h=2 -> 5");
	is_int(smack_runs(s, SMACK_C2S), 0, "all folded");
	smack_free(s);
}

static void
test_s2c_drops(void)
{
	struct smack *s = enabled_session(NULL, NULL);

	fwd(s, SMACK_S2C, 1);
	drop(s, SMACK_S2C, 1);
	fwd(s, SMACK_S2C, 1);
	is_int(client_a(s, 0), 0, "F D F: client h=0 -> 0");
	is_int(client_a(s, 1), 2, "F D F: client h=1 -> 2");
	is_int(client_a(s, 2), 3, "F D F: client h=2 -> 3");
	is_int(server_a(s, 0), 0, "the other flow is untouched");
	drop(s, SMACK_S2C, 2);
	fwd(s, SMACK_S2C, 1);
	is_int(client_a(s, 3), 6, "D D F: client h=3 -> 6");
	smack_free(s);
}

static void
test_bounce(void)
{
	struct smack *s = enabled_session(NULL, NULL);

	/* Some traffic first: 3 from the client, 2 from the server. */
	fwd(s, SMACK_C2S, 3);
	fwd(s, SMACK_S2C, 2);
	/* The client's 4th stanza is blocked and bounced with an error. */
	drop(s, SMACK_C2S, 1);
	inj(s, SMACK_S2C, 1);
	is_int(client_a(s, 3), 2,
	    "the client acks the error too: server sees 2, not 3");
	ok(last_changed, "client ack rewritten");
	is_int(server_a(s, 3), 4, "server h=3 -> 4: the blocked one handled");
	fwd(s, SMACK_S2C, 1);
	fwd(s, SMACK_C2S, 1);
	is_int(client_a(s, 4), 3, "next server stanza: client 4 -> 3");
	is_int(server_a(s, 4), 5, "next client stanza: server 4 -> 5");
	is_int(smack_runs(s, SMACK_C2S) + smack_runs(s, SMACK_S2C), 0,
	    "bounce fully settled");

	/* A bounce with nothing else: the injected stanza alone. */
	smack_free(s);
	s = enabled_session(NULL, NULL);
	drop(s, SMACK_C2S, 1);
	inj(s, SMACK_S2C, 1);
	is_int(server_a(s, 0), 1, "server h=0 -> 1");
	is_int(client_a(s, 1), 0, "client h=1 -> 0: never the server's");
	smack_free(s);
}

static void
test_interleavings(void)
{
	struct smack *s = enabled_session(NULL, NULL);

	/* s2c: F I F D I F. Receiver F I F I F, sender F F D F. */
	fwd(s, SMACK_S2C, 1);
	inj(s, SMACK_S2C, 1);
	fwd(s, SMACK_S2C, 1);
	drop(s, SMACK_S2C, 1);
	inj(s, SMACK_S2C, 1);
	fwd(s, SMACK_S2C, 1);
	is_int(smack_runs(s, SMACK_S2C), 6, "six runs recorded");
	is_int(client_a(s, 1), 1, "h=1 -> 1");
	is_int(client_a(s, 2), 1, "h=2 -> 1 (an injected one)");
	is_int(client_a(s, 3), 3, "h=3 -> 3 (drop settled with it)");
	is_int(client_a(s, 4), 3, "h=4 -> 3");
	is_int(client_a(s, 5), 4, "h=5 -> 4");
	is_int(smack_runs(s, SMACK_S2C), 0, "folded to nothing");
	smack_free(s);

	/* Drops between injections fold; the injections merge. */
	s = enabled_session(NULL, NULL);
	fwd(s, SMACK_S2C, 1);
	inj(s, SMACK_S2C, 1);
	drop(s, SMACK_S2C, 1);
	inj(s, SMACK_S2C, 1);
	drop(s, SMACK_S2C, 1);
	fwd(s, SMACK_S2C, 1);
	is_int(client_a(s, 1), 3, "F I D I D F: h=1 -> 3");
	is_int(smack_runs(s, SMACK_S2C), 2, "left: I(2) F, merged");
	is_int(client_a(s, 3), 3, "h=3 -> 3 (two injected)");
	is_int(client_a(s, 4), 4, "h=4 -> 4");
	smack_free(s);

	/* Both flows at once, with acks crossing. */
	s = enabled_session(NULL, NULL);
	fwd(s, SMACK_C2S, 2);
	fwd(s, SMACK_S2C, 1);
	drop(s, SMACK_C2S, 1);
	inj(s, SMACK_S2C, 1);
	is_int(server_a(s, 1), 1, "server h=1 -> 1");
	fwd(s, SMACK_C2S, 1);
	is_int(client_a(s, 2), 1, "client h=2 -> 1");
	fwd(s, SMACK_S2C, 2);
	is_int(server_a(s, 3), 4, "server h=3 -> 4");
	is_int(client_a(s, 4), 3, "client h=4 -> 3");
	smack_free(s);
}

static void
test_folding(void)
{
	struct smack *s = enabled_session(NULL, NULL);
	int i;

	for (i = 0; i < 100; i++) {
		fwd(s, SMACK_C2S, 1);
		drop(s, SMACK_C2S, 1);
	}
	is_int(smack_runs(s, SMACK_C2S), 200, "200 alternations, 200 runs");
	is_int(server_a(s, 50), 100, "h=50 -> 100");
	is_int(smack_runs(s, SMACK_C2S), 100, "half folded and freed");
	is_int(server_a(s, 10), 60, "an older h: base offset, nothing folded");
	is_int(smack_runs(s, SMACK_C2S), 100, "still half");
	is_int(server_a(s, 100), 200, "h=100 -> 200");
	is_int(smack_runs(s, SMACK_C2S), 0, "all folded");
	is_int(server_a(s, 101), 201, "beyond what was seen: one for one");
	smack_free(s);
}

static void
test_wraparound(void)
{
	struct smack *s = smack_new();
	uint32_t base = 4294967290u;

	/* An unknown previd resumes as the identity at the reported counts. */
	is_int(num(relay(s, SMACK_C2S,
	           "<resume xmlns='" SM "' previd='wrap' h='4294967290'/>")),
	    4294967290LL, "unknown previd: resume h untouched");
	ok(!last_changed && last_same, "unknown previd: tree untouched");
	is_str(smack_id(s), "wrap", "resuming under the previd");
	is_int(num(relay(s, SMACK_S2C,
	           "<resumed xmlns='" SM "' previd='wrap' h='4294967290'/>")),
	    4294967290LL, "unknown previd: resumed h untouched");
	fwd(s, SMACK_C2S, 3);
	drop(s, SMACK_C2S, 2);
	fwd(s, SMACK_C2S, 5);
	is_int(server_a(s, base + 3), (uint32_t)(base + 5),
	    "near the top: 4294967293 -> 4294967295");
	is_int(server_a(s, base + 8), (uint32_t)(base + 10),
	    "across 2^32: server h=2 -> client h=4");
	fwd(s, SMACK_S2C, 10);
	inj(s, SMACK_S2C, 1);
	fwd(s, SMACK_S2C, 1);
	is_int(client_a(s, base + 12), (uint32_t)(base + 11),
	    "across 2^32: client h=6 -> server h=5");
	is_int(client_a(s, base + 11), (uint32_t)(base + 10),
	    "older h across the wrap: base offset");
	/* Parked and resumed as a known state, across the wrap. */
	fwd(s, SMACK_C2S, 1);
	drop(s, SMACK_C2S, 1);
	fwd(s, SMACK_S2C, 1);
	inj(s, SMACK_S2C, 1);
	smack_park(s, tbl, now);
	smack_free(s);
	s = smack_new();
	is_int(num(relay(s, SMACK_C2S,
	           "<resume xmlns='" SM "' previd='wrap' h='8'/>")),
	    6, "known state across the wrap: resume 8 -> 6");
	is_int(num(relay(s, SMACK_S2C,
	           "<resumed xmlns='" SM "' previd='wrap' h='3'/>")),
	    6, "known state across the wrap: resumed 3 -> 6");
	smack_free(s);
}

static void
test_enable_failed(void)
{
	struct smack *s = smack_new();

	relay(s, SMACK_C2S, "<enable xmlns='" SM "'/>");
	is_int(drop(s, SMACK_C2S, 1) | fwd(s, SMACK_C2S, 1), 0,
	    "after <enable/> the client's stanzas count");
	is_int(smack_runs(s, SMACK_C2S), 2, "two runs");
	relay(s, SMACK_S2C,
	    "<failed xmlns='" SM "'><unexpected-request "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
	ok(!last_changed, "failed is passed as is");
	is_int(smack_runs(s, SMACK_C2S), 0, "failed cleared the c2s flow");
	drop(s, SMACK_C2S, 1);
	is_int(smack_runs(s, SMACK_C2S), 0, "and it records nothing more");
	is_int(server_a(s, 1), 1, "acks untouched without SM");
	ok(smack_id(s) == NULL, "no SM-ID");

	/* Enabling again starts from zero. */
	relay(s, SMACK_C2S, "<enable xmlns='" SM "'/>");
	drop(s, SMACK_C2S, 1);
	fwd(s, SMACK_C2S, 1);
	relay(s, SMACK_S2C, "<enabled xmlns='" SM "'/>");
	is_int(server_a(s, 1), 2, "second enable counts from zero");
	/* A repeated <enable/> is refused by the server; counts go on. */
	relay(s, SMACK_C2S, "<enable xmlns='" SM "'/>");
	relay(s, SMACK_S2C, "<failed xmlns='" SM "'/>");
	drop(s, SMACK_C2S, 1);
	fwd(s, SMACK_C2S, 1);
	is_int(server_a(s, 2), 4, "a refused second enable changes nothing");
	smack_free(s);

	/* urn:xmpp:sm:2 is the same protocol. */
	s = smack_new();
	relay(s, SMACK_C2S, "<enable xmlns='urn:xmpp:sm:2'/>");
	relay(s, SMACK_S2C, "<enabled xmlns='urn:xmpp:sm:2'/>");
	fwd(s, SMACK_C2S, 1);
	drop(s, SMACK_C2S, 1);
	is_int(num(relay(s, SMACK_S2C, "<a xmlns='urn:xmpp:sm:2' h='1'/>")), 2,
	    "sm:2 acks are translated too");
	smack_free(s);
}

/* Session 1 of the resumption tests: leaves "sm1" parked at now. */
static void
park_sm1(void)
{
	struct smack *s = enabled_session("sm1", "300");

	is_str(smack_id(s), "sm1", "resumable: SM-ID known");
	fwd(s, SMACK_C2S, 2);  /* client sent 1, 2 */
	drop(s, SMACK_C2S, 1); /* 3 blocked */
	fwd(s, SMACK_C2S, 1);  /* 4 */
	is_int(server_a(s, 1), 1, "session 1: server h=1 -> 1");
	fwd(s, SMACK_S2C, 2); /* server sent 1, 2 */
	inj(s, SMACK_S2C, 1); /* proxy's own */
	fwd(s, SMACK_S2C, 1); /* server's 3 */
	is_int(client_a(s, 2), 2, "session 1: client h=2 -> 2");
	smack_park(s, tbl, now);
	is_int(smack_table_count(tbl), 1, "parked at session end");
	ok(smack_id(s) == NULL, "the session keeps nothing");
	smack_free(s);
}

static void
test_resumption(void)
{
	struct smack *s;

	park_sm1();
	s = smack_new();
	is_int(num(relay(s, SMACK_C2S,
	           "<resume xmlns='" SM "' previd='sm1' h='4'/>")),
	    3, "resume: client saw 4 (one injected), server sent 3");
	ok(last_changed, "resume rewritten");
	is_int(smack_table_count(tbl), 0, "the state was taken");
	is_str(smack_id(s), "sm1", "resuming sm1");
	/* The server got the client's 1 and 2; 4 was lost in transit. */
	is_int(num(relay(s, SMACK_S2C,
	           "<resumed xmlns='" SM "' previd='sm1' h='2'/>")),
	    3, "resumed: server has 2 -> client 3 (the drop settled)");
	is_int(smack_runs(s, SMACK_C2S) + smack_runs(s, SMACK_S2C), 0,
	    "tails discarded");
	/* The client sends 4 again, the server a new one. */
	fwd(s, SMACK_C2S, 1);
	is_int(server_a(s, 3), 4, "counting goes on: server 3 -> client 4");
	fwd(s, SMACK_S2C, 1);
	is_int(client_a(s, 5), 4, "counting goes on: client 5 -> server 4");
	drop(s, SMACK_S2C, 1);
	smack_park(s, tbl, now + 10);
	smack_free(s);

	/* A second resumption continues from the translated counts. */
	s = smack_new();
	is_int(num(relay(s, SMACK_C2S,
	           "<resume xmlns='" SM "' previd='sm1' h='5'/>")),
	    5, "second resume: the dropped one settled, 5 -> 5");
	is_int(num(relay(s, SMACK_S2C,
	           "<resumed xmlns='" SM "' previd='sm1' h='3'/>")),
	    4, "second resumed: 3 -> 4");
	smack_free(s);
	is_int(smack_table_count(tbl), 0, "a freed session parks nothing");

	/* Unknown previd: the identity, and counting from there. */
	s = smack_new();
	is_int(num(relay(s, SMACK_C2S,
	           "<resume xmlns='" SM "' previd='nope' h='7'/>")),
	    7, "unknown previd: resume h untouched");
	is_int(num(relay(s, SMACK_S2C,
	           "<resumed xmlns='" SM "' previd='nope' h='9'/>")),
	    9, "unknown previd: resumed h untouched");
	fwd(s, SMACK_C2S, 1);
	drop(s, SMACK_C2S, 1);
	is_int(server_a(s, 10), 11, "then drops count from the resumed h");
	smack_free(s);
}

/* The JID set at bind is parked with the state and comes back with it. */
static void
test_resumed_jid(void)
{
	struct smack *s = smack_new();

	ok(smack_jid(s) == NULL, "no JID before bind");
	smack_set_jid(s, "alice@example.org/phone");
	relay(s, SMACK_C2S, "<enable xmlns='" SM "' resume='true'/>");
	relay(
	    s, SMACK_S2C, "<enabled xmlns='" SM "' id='jid1' resume='true'/>");
	is_str(smack_jid(s), "alice@example.org/phone", "kept through enable");
	smack_park(s, tbl, now);
	ok(smack_jid(s) == NULL, "the JID went with the parked state");
	smack_free(s);

	s = smack_new();
	relay(s, SMACK_C2S, "<resume xmlns='" SM "' previd='jid1' h='0'/>");
	relay(s, SMACK_S2C,
	    "<failed xmlns='" SM "'><item-not-found "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
	ok(smack_jid(s) == NULL, "failed: the JID went back with the state");
	smack_free(s);

	s = smack_new();
	relay(s, SMACK_C2S, "<resume xmlns='" SM "' previd='jid1' h='0'/>");
	relay(s, SMACK_S2C, "<resumed xmlns='" SM "' previd='jid1' h='0'/>");
	is_str(smack_jid(s), "alice@example.org/phone", "resumed: its JID");
	smack_free(s);
}

static void
test_failed_resume(void)
{
	struct smack *s;

	park_sm1();
	s = smack_new();
	relay(s, SMACK_C2S, "<resume xmlns='" SM "' previd='sm1' h='4'/>");
	is_int(num(relay(s, SMACK_S2C,
	           "<failed xmlns='" SM "' h='2'><item-not-found "
	           "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>")),
	    3, "failed h=2 translated through the old state");
	ok(last_changed, "failed rewritten");
	ok(smack_id(s) == NULL, "the session has no SM after failed");
	is_int(smack_table_count(tbl), 1, "the state went back to the table");
	smack_free(s);

	/* The state is as it was: a real resumption still works. */
	s = smack_new();
	is_int(num(relay(s, SMACK_C2S,
	           "<resume xmlns='" SM "' previd='sm1' h='4'/>")),
	    3, "after a failed attempt the translation is unchanged");
	relay(s, SMACK_S2C, "<resumed xmlns='" SM "' previd='sm1' h='3'/>");
	is_str(last_h, "4", "resumed h=3 -> 4");
	smack_free(s);
}

static void
test_expiry(void)
{
	struct smack_parked p;
	struct smack *s;
	size_t i;

	/* max='300': alive through now + 300, gone after. */
	park_sm1();
	s = smack_new();
	now += 301;
	relay(s, SMACK_C2S, "<resume xmlns='" SM "' previd='sm1' h='4'/>");
	is_str(last_h, "4", "expired: resume translates as the identity");
	is_int(smack_table_count(tbl), 0, "expired entry removed on take");
	smack_free(s);
	park_sm1();
	now += 300;
	s = smack_new();
	relay(s, SMACK_C2S, "<resume xmlns='" SM "' previd='sm1' h='4'/>");
	is_str(last_h, "3", "at the end of the window still there");
	smack_free(s);

	/* Default window 600, cap 3600, sweep on the next put. */
	s = enabled_session("def", NULL);
	smack_park(s, tbl, now);
	smack_free(s);
	s = enabled_session("big", "100000");
	fwd(s, SMACK_S2C, 1);
	drop(s, SMACK_S2C, 1);
	is_int(client_a(s, 1), 2, "big: the drop folded with the ack");
	drop(s, SMACK_S2C, 1);
	smack_park(s, tbl, now);
	smack_free(s);
	is_int(smack_table_count(tbl), 2, "two parked");
	s = enabled_session("late", NULL);
	smack_park(s, tbl, now + 601);
	smack_free(s);
	is_int(smack_table_count(tbl), 2, "default 600 s: swept on put");
	s = smack_new();
	now += 3600;
	relay(s, SMACK_C2S, "<resume xmlns='" SM "' previd='big' h='1'/>");
	is_str(last_h, "3", "window capped at 3600 s: still there at +3600");
	smack_free(s);
	now += 10000;
	s = enabled_session("x", NULL);
	smack_park(s, tbl, now);
	smack_free(s);
	is_int(smack_table_count(tbl), 1, "everything older swept");
	smack_table_free(tbl);
	tbl = smack_table_new();

	/* Entry cap: the oldest is evicted. */
	for (i = 0; i <= SMACK_TABLE_MAX_ENTRIES; i++) {
		memset(&p, 0, sizeof(p));
		p.id = xasprintf("id%zu", i);
		p.window = 600;
		p.parked_at = now;
		smack_table_put(tbl, &p, now);
	}
	is_int(
	    smack_table_count(tbl), SMACK_TABLE_MAX_ENTRIES, "entries capped");
	is_int(smack_table_take(tbl, "id0", now, &p), -1,
	    "the oldest was evicted");
	is_int(
	    smack_table_take(tbl, "id1", now, &p), 0, "the next one is there");
	smack_parked_fini(&p);
	smack_table_free(tbl);
	tbl = smack_table_new();
}

static void
test_sasl2_inline(void)
{
	struct smack *s;

	park_sm1();
	s = smack_new();
	relay(s, SMACK_C2S,
	    "<authenticate xmlns='" SASL2 "' mechanism='PLAIN'>"
	    "<initial-response>AGFsaWNlAHB3</initial-response>"
	    "<resume xmlns='" SM "' previd='sm1' h='4'/></authenticate>");
	ok(last_changed, "inline resume rewritten");
	is_str(last_h, "3", "SASL2 inline resume h=4 -> 3");
	relay(s, SMACK_S2C,
	    "<success xmlns='" SASL2 "'><authorization-identifier>"
	    "alice@example.org/r</authorization-identifier>"
	    "<resumed xmlns='" SM "' previd='sm1' h='3'/></success>");
	ok(last_changed, "inline resumed rewritten");
	is_str(last_h, "4", "SASL2 inline resumed h=3 -> 4");
	fwd(s, SMACK_C2S, 1);
	drop(s, SMACK_C2S, 1);
	is_int(server_a(s, 4), 6, "after an inline resumption counts go on");
	smack_free(s);

	/* Bind2: <enable/> in <bind/>, <enabled/> in <bound/>. */
	s = smack_new();
	relay(s, SMACK_C2S,
	    "<authenticate xmlns='" SASL2 "' mechanism='PLAIN'>"
	    "<initial-response>AGFsaWNlAHB3</initial-response>"
	    "<bind xmlns='" BIND2 "'><tag>App</tag>"
	    "<enable xmlns='" SM "' resume='true'/></bind></authenticate>");
	ok(!last_changed, "inline enable passes as is");
	relay(s, SMACK_S2C,
	    "<success xmlns='" SASL2 "'><authorization-identifier>"
	    "alice@example.org/r</authorization-identifier>"
	    "<bound xmlns='" BIND2 "'><enabled xmlns='" SM
	    "' id='b2' resume='true' max='60'/></bound></success>");
	is_str(smack_id(s), "b2", "Bind2 inline enabled: SM-ID learned");
	drop(s, SMACK_C2S, 1);
	fwd(s, SMACK_C2S, 1);
	fwd(s, SMACK_S2C, 1);
	drop(s, SMACK_S2C, 1);
	fwd(s, SMACK_S2C, 1);
	is_int(server_a(s, 1), 2, "inline: c2s counts");
	is_int(client_a(s, 2), 3, "inline: s2c counts");
	smack_free(s);

	/* Inline enable the server did not honour. */
	s = smack_new();
	relay(s, SMACK_C2S,
	    "<authenticate xmlns='" SASL2 "' mechanism='PLAIN'>"
	    "<bind xmlns='" BIND2 "'><enable xmlns='" SM
	    "'/></bind></authenticate>");
	relay(s, SMACK_S2C,
	    "<success xmlns='" SASL2 "'><authorization-identifier>"
	    "alice@example.org/r</authorization-identifier>"
	    "<bound xmlns='" BIND2 "'><failed xmlns='" SM
	    "'/></bound></success>");
	drop(s, SMACK_C2S, 1);
	is_int(smack_runs(s, SMACK_C2S), 0, "<failed/> in <bound/>: SM off");
	smack_free(s);
	s = smack_new();
	relay(s, SMACK_C2S,
	    "<authenticate xmlns='" SASL2 "' mechanism='PLAIN'>"
	    "<bind xmlns='" BIND2 "'><enable xmlns='" SM
	    "'/></bind></authenticate>");
	relay(s, SMACK_S2C,
	    "<failure xmlns='" SASL2 "'><not-authorized "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></failure>");
	drop(s, SMACK_C2S, 1);
	is_int(smack_runs(s, SMACK_C2S), 0, "SASL2 failure: SM off");
	smack_free(s);

	/* Resume and Bind2 enable together; the resumption fails. */
	park_sm1();
	s = smack_new();
	relay(s, SMACK_C2S,
	    "<authenticate xmlns='" SASL2 "' mechanism='PLAIN'>"
	    "<resume xmlns='" SM "' previd='sm1' h='4'/>"
	    "<bind xmlns='" BIND2 "'><enable xmlns='" SM
	    "' resume='true'/></bind></authenticate>");
	is_str(last_h, "3", "resume with a bind: h=4 -> 3");
	relay(s, SMACK_S2C,
	    "<success xmlns='" SASL2 "'><authorization-identifier>"
	    "alice@example.org/r</authorization-identifier>"
	    "<failed xmlns='" SM "' h='2'/>"
	    "<bound xmlns='" BIND2 "'><enabled xmlns='" SM
	    "' id='fresh' resume='true'/></bound></success>");
	is_str(last_h, "3", "inline failed h=2 -> 3");
	is_str(smack_id(s), "fresh", "the new SM session took over");
	is_int(smack_table_count(tbl), 1, "sm1 went back to the table");
	drop(s, SMACK_C2S, 1);
	is_int(server_a(s, 0), 1, "the new session counts from zero");
	smack_park(s, tbl, now);
	is_int(smack_table_count(tbl), 2, "both parked");
	smack_free(s);
	smack_table_free(tbl);
	tbl = smack_table_new();
}

static void
test_invalid_h(void)
{
	static const char *bad[] = {"x1", "-1", "4294967296", "", " 1", "1 ",
	    "+1", "99999999999999999999"};
	struct smack *s = enabled_session(NULL, NULL);
	char xml[96];
	size_t i;

	fwd(s, SMACK_C2S, 1);
	drop(s, SMACK_C2S, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(
		    xml, sizeof(xml), "<a xmlns='" SM "' h='%s'/>", bad[i]);
		relay(s, SMACK_S2C, xml);
		ok(!last_changed && last_same && strcmp(last_h, bad[i]) == 0,
		    "h='%s' left untouched", bad[i]);
	}
	relay(s, SMACK_S2C, "<a xmlns='" SM "'/>");
	ok(!last_changed && last_same, "no h: untouched");
	is_int(smack_runs(s, SMACK_C2S), 2, "nothing folded by bad acks");
	is_int(server_a(s, 1), 2, "a good one still translates");
	relay(s, SMACK_S2C, "<a xmlns='" SM "' h='003'/>");
	ok(last_changed, "leading zeros are valid");
	is_str(last_h, "4", "rewritten without leading zeros");
	smack_free(s);
}

static void
test_run_cap(void)
{
	struct smack *s = enabled_session(NULL, NULL);
	int i, rc = 0;

	for (i = 0; i < SMACK_MAX_RUNS; i++)
		rc |= i % 2 == 0 ? smack_forwarded(s, SMACK_C2S)
		                 : smack_dropped(s, SMACK_C2S);
	is_int(rc, 0, "up to the cap: fine");
	is_int(smack_runs(s, SMACK_C2S), SMACK_MAX_RUNS, "at the cap");
	is_int(smack_dropped(s, SMACK_C2S), 0,
	    "the same kind as the last run: no new run");
	is_int(smack_forwarded(s, SMACK_C2S), -1, "a run past the cap: -1");
	is_int(smack_runs(s, SMACK_C2S), SMACK_MAX_RUNS, "nothing added");
	server_a(s, SMACK_MAX_RUNS / 2);
	is_int(smack_forwarded(s, SMACK_C2S), 0, "after an ack: room again");
	smack_free(s);
}

int
main(void)
{
	tbl = smack_table_new();
	test_identity();
	test_c2s_drops();
	test_s2c_drops();
	test_bounce();
	test_interleavings();
	test_folding();
	test_wraparound();
	test_enable_failed();
	test_resumption();
	test_failed_resume();
	test_resumed_jid();
	test_expiry();
	test_sasl2_inline();
	test_invalid_h();
	test_run_cap();
	is_str(smack_dir_str(SMACK_S2C), "s2c", "dir names");
	smack_table_free(tbl);
	return done_testing();
}
