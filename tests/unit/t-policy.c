/* SPDX-License-Identifier: ISC */
/*
 * The content policy's verdicts applied in real sessions over bufferevent
 * pairs (sesstest.h), with the filter chain built from the config: pass
 * (original bytes), drop, bounce in both directions (the exact error
 * stanza), IQ requests that must be answered, bounces that may only be
 * drops (presence, errors, groupchat, MUC rooms, carbons, archive results,
 * headlines), rewrite (re-serialized, original_xml redacted), close, a
 * stanza split over many reads, and dry runs. Every "nothing arrived" is
 * proved by a keepalive barrier behind it (sesstest_through), never by
 * waiting. Stream management across these verdicts is t-sm.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "events.h"
#include "session.h"

#include "../tap.h"
#include "jsonev.h"
#include "sesstest.h"

/* The rules every session here runs, one of each action. */
#define RULE(name, more)                                                       \
	"{\"name\": \"" name "\", \"type\": \"regex\", " more "}"
#define R_DROP                                                                 \
	RULE("no-forbidden", "\"direction\": \"c2s\", \"action\": \"drop\", "  \
	                     "\"match\": {\"text\": \"forbidden\"}")
#define R_BOUNCE                                                               \
	RULE("bounce-spam", "\"action\": \"bounce\", \"reason\": \"spam is "   \
	                    "not allowed\", \"match\": {\"text\": \"spam\"}")
#define R_IQ                                                                   \
	RULE("no-version", "\"action\": \"drop\", \"match\": {\"stanza\": "    \
	                   "\"iq\", \"has\": \"jabber:iq:version\"}")
#define R_REWRITE                                                              \
	RULE("darn", "\"action\": \"rewrite\", \"match\": {\"text\": "         \
	             "\"darn\"}, \"replace\": \"****\"")
#define R_CLOSE                                                                \
	RULE("kill", "\"action\": \"close\", \"reason\": \"that ends it\", "   \
	             "\"match\": {\"text\": \"kaboom\"}")
#define R_DRY                                                                  \
	RULE("audit", "\"dry_run\": true, \"action\": \"drop\", "              \
	              "\"match\": {\"text\": \"audit\"}")
#define RULES                                                                  \
	"\"filters\": [" R_DROP "," R_BOUNCE "," R_IQ "," R_REWRITE            \
	"," R_CLOSE "," R_DRY "]"

#define FEAT_BIND                                                              \
	"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"    \
	"</stream:features>"
/* The error a bounce sends: attributes, then the policy-violation. */
#define ERR_OPEN(kind, id, from, to)                                           \
	"<" kind " type='error' id='" id "' from='" from "' to='" to "'>"
#define ERR_BODY(text)                                                         \
	"<error type='modify'><policy-violation "                              \
	"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "                  \
	"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>" text      \
	"</text></error>"
#define SPAM_TEXT "spam is not allowed (rule bounce-spam)"

/* A fresh session with the rules above plus the top-level members more,
 * its streams open and its BOUND_JID bound (bounces are addressed to it). */
static void
t_begin(struct sesstest *t, const char *more)
{
	sesstest_init(t, "", "", "%s%s", RULES, more);
	sesstest_send(t->client, C_HDR);
	sesstest_wait_for(t, sesstest_s_in(t), C_HDR);
	sesstest_send(t->server, S_HDR FEAT_BIND);
	sesstest_wait_for(t, sesstest_c_in(t), "</stream:features>");
	sesstest_send(t->client, BIND_SET);
	sesstest_wait_for(t, sesstest_s_in(t), BIND_SET);
	sesstest_send(t->server, BIND_RESULT);
	sesstest_wait_for(t, sesstest_c_in(t), BIND_RESULT);
	free(sesstest_take(t->client));
	free(sesstest_take(t->server));
}

/* What the server / the client got up to a barrier (sesstest_through). */
static char *
at_server(struct sesstest *t)
{
	return sesstest_through(t, t->client, t->server);
}

static char *
at_client(struct sesstest *t)
{
	return sesstest_through(t, t->server, t->client);
}

/* is_str() on a string it frees. */
static void
got_is(char *got, const char *want, const char *what)
{
	is_str(got, want, "%s", what);
	free(got);
}

/* The events so far. */
static cJSON *
events_now(struct sesstest *t)
{
	events_flush(t->events);
	return jsonev_load(t->events_path);
}

/* Ends the session cleanly from the client and returns all its events. */
static cJSON *
t_end(struct sesstest *t)
{
	sesstest_send(t->client, CLOSE);
	sesstest_wait_for(t, sesstest_s_in(t), CLOSE);
	sesstest_send(t->server, CLOSE);
	if (!sesstest_run_until(t, sesstest_freed, 6))
		diag("session not freed");
	return events_now(t);
}

/* The stanza event of id in dir: the relayed one, or the proxy's own. */
static const cJSON *
stanza_ev(const cJSON *evs, const char *dir, const char *id, bool by_proxy)
{
	const cJSON *ev;

	cJSON_ArrayForEach(ev, evs)
	{
		if (jsonev_eq(ev, "event", "stanza") &&
		    jsonev_eq(ev, "dir", dir) && jsonev_eq(ev, "id", id) &&
		    jsonev_eq(ev, "by", "proxy") == by_proxy)
			return ev;
	}
	diag("no %s stanza event for id %s%s", dir, id,
	    by_proxy ? " by the proxy" : "");
	return NULL;
}

/* How many stanza events are the proxy's own. */
static int
count_by_proxy(const cJSON *evs)
{
	const cJSON *ev;
	int n = 0;

	cJSON_ArrayForEach(ev, evs)
	{
		if (jsonev_eq(ev, "event", "stanza") &&
		    jsonev_eq(ev, "by", "proxy"))
			n++;
	}
	return n;
}

/* The event says verdict, and its only rule hit is name with action (and
 * where, unless NULL; and dry_run exactly as said). */
static bool
verdict_is(const cJSON *ev, const char *verdict, const char *name,
    const char *action, const char *where, bool dry_run)
{
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(ev, "rules");
	const cJSON *hit = cJSON_GetArrayItem(rules, 0);
	bool good;

	if (ev == NULL || !jsonev_eq(ev, "verdict", verdict))
		return false;
	if (name == NULL)
		return cJSON_GetArraySize(rules) == 0;
	good = cJSON_GetArraySize(rules) == 1 && jsonev_eq(hit, "name", name) &&
	       jsonev_eq(hit, "action", action) &&
	       (where == NULL || jsonev_eq(hit, "where", where)) &&
	       jsonev_true(hit, "dry_run") == dry_run;
	if (!good) {
		char *s = cJSON_PrintUnformatted(ev);

		diag("event: %s", s);
		free(s);
	}
	return good;
}

/* session.close: dropped and rewritten counts, and one rule's tally (no
 * rule at all when rule is NULL). */
static void
check_close(const cJSON *evs, const char *what, double dropped,
    double rewritten, const char *rule, double matches, double actions)
{
	const cJSON *close = jsonev_one(evs, "session.close");
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(close, "rules");
	const cJSON *tally = cJSON_GetObjectItemCaseSensitive(rules, rule);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(tally, "matches");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(tally, "actions");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(close, "dropped");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(close, "rewritten");

	ok(cJSON_IsNumber(d) && d->valuedouble == dropped &&
	        cJSON_IsNumber(r) && r->valuedouble == rewritten,
	    "%s: session.close counts %g dropped, %g rewritten", what, dropped,
	    rewritten);
	if (rule == NULL) {
		ok(cJSON_IsObject(rules) && cJSON_GetArraySize(rules) == 0,
		    "%s: session.close tallies no rule", what);
		return;
	}
	if (!ok(cJSON_IsNumber(m) && m->valuedouble == matches &&
	            cJSON_IsNumber(a) && a->valuedouble == actions,
	        "%s: session.close tallies %s: %g matches, %g actions", what,
	        rule, matches, actions))
		jsonev_dump(evs);
}

static void
test_pass(void)
{
	struct sesstest t;
	cJSON *evs;
	const char *c2s =
	    "<message to=\"b@example.org\" type='chat'  id='p1' ><body>"
	    "caf\xc3\xa9 &#x263a; &lt;b&gt; <![CDATA[<i>]]></body>"
	    "<thread>t1</thread></message>";
	const char *s2c = "<message from='b@example.org/x' to='" BOUND_JID "' "
	                  "id='p2'><body>ok \n then</body></message>";
	const char *s2c_forbidden = "<message from='b@example.org/x' "
	                            "id='p3'><body>forbidden</body></message>";

	t_begin(&t, "");
	sesstest_send(t.client, c2s);
	got_is(
	    at_server(&t), c2s, "pass c2s: the server gets the bytes as sent");
	sesstest_send(t.server, s2c);
	got_is(
	    at_client(&t), s2c, "pass s2c: the client gets the bytes as sent");
	sesstest_send(t.server, s2c_forbidden);
	got_is(at_client(&t), s2c_forbidden,
	    "a c2s-only rule lets the same text pass s2c");
	evs = t_end(&t);
	ok(verdict_is(stanza_ev(evs, "c2s", "p1", false), "pass", NULL, NULL,
	       NULL, false),
	    "pass: event verdict pass, no rule");
	ok(jsonev_eq(stanza_ev(evs, "c2s", "p1", false), "xml", c2s),
	    "pass: the event's xml is the original bytes");
	ok(jsonev_eq(stanza_ev(evs, "s2c", "p2", false), "jid", BOUND_JID),
	    "pass: the event names the session's BOUND_JID");
	check_close(evs, "pass", 0, 0, NULL, 0, 0);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

static void
test_drop(void)
{
	struct sesstest t;
	cJSON *evs;
	const char *bad = "<message to='b@example.org' id='d1'><body>a "
	                  "forbidden word</body></message>";
	const char *next = "<message to='b@example.org' id='d2'><body>fine"
	                   "</body></message>";

	t_begin(&t, "");
	sesstest_send(t.client, bad);
	sesstest_send(t.client, next);
	got_is(at_server(&t), next,
	    "drop c2s: the server gets nothing of it, then the next stanza");
	got_is(at_client(&t), "", "drop c2s: the client gets no error");
	evs = t_end(&t);
	ok(verdict_is(stanza_ev(evs, "c2s", "d1", false), "drop",
	       "no-forbidden", "drop", "body", false),
	    "drop: event verdict drop, rule no-forbidden in body");
	ok(verdict_is(stanza_ev(evs, "c2s", "d2", false), "pass", NULL, NULL,
	       NULL, false),
	    "drop: the next stanza's event says pass");
	check_close(evs, "drop", 1, 0, "no-forbidden", 1, 1);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

static void
test_bounce_c2s(void)
{
	struct sesstest t;
	const cJSON *ev;
	cJSON *evs;
	const char *err = ERR_OPEN("message", "b1", "b@example.org/x",
	    BOUND_JID) ERR_BODY(SPAM_TEXT) "</message>";

	t_begin(&t, "");
	sesstest_send(t.client, "<message to='b@example.org/x' type='chat' "
	                        "id='b1'><body>buy spam now</body></message>");
	got_is(at_server(&t), "", "bounce c2s: the server gets nothing");
	got_is(at_client(&t), err,
	    "bounce c2s: the client gets the error from the original to, to "
	    "its BOUND_JID, same id, policy-violation and the rule's reason");
	evs = t_end(&t);
	ok(verdict_is(stanza_ev(evs, "c2s", "b1", false), "bounce",
	       "bounce-spam", "bounce", "body", false),
	    "bounce c2s: event verdict bounce, rule bounce-spam");
	ev = stanza_ev(evs, "s2c", "b1", true);
	ok(ev != NULL && jsonev_eq(ev, "type", "error") &&
	        jsonev_eq(ev, "from", "b@example.org/x") &&
	        jsonev_eq(ev, "to", BOUND_JID) && jsonev_eq(ev, "xml", err),
	    "bounce c2s: the injected error has its own s2c event by=proxy");
	check_close(evs, "bounce c2s", 1, 0, "bounce-spam", 1, 1);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

static void
test_bounce_s2c(void)
{
	struct sesstest t;
	const cJSON *ev;
	cJSON *evs;

	t_begin(&t, "");
	sesstest_send(t.server, "<message from='b@example.org/x' to='" BOUND_JID
	                        "' type='chat' id='b2'><body>spam"
	                        "</body></message>");
	got_is(at_client(&t), "", "bounce s2c: the client gets nothing");
	got_is(at_server(&t),
	    ERR_OPEN("message", "b2", BOUND_JID, "b@example.org/x")
	        ERR_BODY(SPAM_TEXT) "</message>",
	    "bounce s2c: the server gets the error from the client's BOUND_JID "
	    "to "
	    "the sender");
	sesstest_send(t.server, "<message from='b@example.org/x' id='b3'>"
	                        "<body>spam</body></message>");
	got_is(at_server(&t),
	    ERR_OPEN("message", "b3", BOUND_JID, "b@example.org/x")
	        ERR_BODY(SPAM_TEXT) "</message>",
	    "bounce s2c without a to: from is still the client's BOUND_JID");
	got_is(at_client(&t), "", "bounce s2c: nothing reaches the client");
	evs = t_end(&t);
	ev = stanza_ev(evs, "c2s", "b2", true);
	ok(ev != NULL && jsonev_eq(ev, "to", "b@example.org/x"),
	    "bounce s2c: the injected error has a c2s event by=proxy");
	ok(verdict_is(stanza_ev(evs, "s2c", "b2", false), "bounce",
	       "bounce-spam", "bounce", "body", false),
	    "bounce s2c: event verdict bounce");
	check_close(evs, "bounce s2c", 2, 0, "bounce-spam", 2, 2);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

static void
test_iq(void)
{
	struct sesstest t;
	cJSON *evs;
	const char *reason = "blocked by the server's content policy "
	                     "(rule no-version)";
	char want[1024];

	t_begin(&t, "");
	sesstest_send(t.client, "<iq type='get' id='v1' to='b@example.org/x'>"
	                        "<query xmlns='jabber:iq:version'/></iq>");
	got_is(
	    at_server(&t), "", "dropped IQ get c2s: the server gets nothing");
	snprintf(want, sizeof(want),
	    ERR_OPEN("iq", "v1", "b@example.org/x", BOUND_JID)
	        ERR_BODY("%s") "</iq>",
	    reason);
	got_is(at_client(&t), want,
	    "dropped IQ get c2s: still answered with an error");
	sesstest_send(t.client,
	    "<iq type='result' id='v2' to='b@example.org/x'>"
	    "<query xmlns='jabber:iq:version'><name>x"
	    "</name></query></iq>");
	got_is(at_server(&t), "",
	    "dropped IQ result c2s: the server gets nothing");
	got_is(at_client(&t), "", "dropped IQ result c2s: no error");
	sesstest_send(t.server,
	    "<iq type='set' id='v3' from='b@example.org/x' "
	    "to='" BOUND_JID "'><query xmlns='jabber:iq:version'/>"
	    "</iq>");
	got_is(
	    at_client(&t), "", "dropped IQ set s2c: the client gets nothing");
	snprintf(want, sizeof(want),
	    ERR_OPEN("iq", "v3", BOUND_JID, "b@example.org/x")
	        ERR_BODY("%s") "</iq>",
	    reason);
	got_is(at_server(&t), want,
	    "dropped IQ set s2c: the server gets the answer");
	sesstest_send(t.server,
	    "<iq type='result' id='v4' from='b@example.org/x' "
	    "to='" BOUND_JID "'><query xmlns='jabber:iq:version'/>"
	    "</iq>");
	got_is(at_client(&t), "",
	    "dropped IQ result s2c: the client gets nothing");
	got_is(at_server(&t), "", "dropped IQ result s2c: no error");
	evs = t_end(&t);
	ok(verdict_is(stanza_ev(evs, "c2s", "v1", false), "bounce",
	       "no-version", "drop", NULL, false),
	    "IQ get: the rule said drop, the event says bounce");
	ok(verdict_is(stanza_ev(evs, "c2s", "v2", false), "drop", "no-version",
	       "drop", NULL, false),
	    "IQ result: event verdict drop");
	ok(stanza_ev(evs, "s2c", "v1", true) != NULL &&
	        stanza_ev(evs, "c2s", "v3", true) != NULL,
	    "IQ errors have events by the proxy");
	check_close(evs, "iq", 4, 0, "no-version", 4, 4);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* A stanza the bounce rule blocks where only a drop is allowed. */
struct degraded {
	const char *what;
	bool c2s;
	const char *id;
	const char *xml;
};

static const struct degraded degraded[] = {
    {"presence", true, "pr1",
        "<presence id='pr1'><status>spam</status></presence>"},
    {"presence subscription s2c", false, "pr2",
        "<presence from='b@example.org' to='" BOUND_JID "' type='subscribe' "
        "id='pr2'><status>spam</status></presence>"},
    {"error message", true, "e1",
        "<message to='b@example.org' type='error' id='e1'><body>spam"
        "</body></message>"},
    {"groupchat c2s", true, "g1",
        "<message to='g@conference.example.org' type='groupchat' "
        "id='g1'><body>spam</body></message>"},
    {"groupchat s2c", false, "g2",
        "<message from='g2@conference.example.org/bob' to='" BOUND_JID "' "
        "type='groupchat' id='g2'><body>spam</body></message>"},
    {"private message to a joined room's occupant", true, "pm1",
        "<message to='lounge@conference.example.org/bob' type='chat' "
        "id='pm1'><body>spam</body></message>"},
    {"carbon s2c", false, "cc1",
        "<message from='alice@example.org' to='" BOUND_JID
        "' id='cc1'><received "
        "xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
        "<message from='b@example.org/x' to='alice@example.org/r2' "
        "type='chat' id='in1'><body>spam</body></message></forwarded>"
        "</received></message>"},
    /* A room's archive, of a room not joined: only the MAM rule stops
     * the bounce. */
    {"archive result s2c", false, "mam1",
        "<message from='old@conference.example.org' to='" BOUND_JID "' "
        "id='mam1'><result xmlns='urn:xmpp:mam:2' "
        "queryid='q1' id='a1'><forwarded xmlns='urn:xmpp:forward:0'>"
        "<message from='b@example.org/x' type='chat' id='in2'><body>spam"
        "</body></message></forwarded></result></message>"},
    {"headline s2c", false, "h1",
        "<message from='bot@example.org/feed' to='" BOUND_JID
        "' type='headline' "
        "id='h1'><body>spam</body></message>"},
};

static void
test_degraded(void)
{
	struct sesstest t;
	cJSON *evs;
	const char *join = "<presence to='lounge@conference.example.org/alice'>"
	                   "<x xmlns='http://jabber.org/protocol/muc'/>"
	                   "</presence>";
	const struct degraded *d;
	char *far, *back;
	double n;
	size_t i;

	t_begin(&t, "");
	sesstest_send(t.client, join);
	got_is(at_server(&t), join, "MUC join relayed (the room is learned)");
	for (i = 0; i < sizeof(degraded) / sizeof(degraded[0]); i++) {
		d = &degraded[i];
		sesstest_send(d->c2s ? t.client : t.server, d->xml);
		far = d->c2s ? at_server(&t) : at_client(&t);
		back = d->c2s ? at_client(&t) : at_server(&t);
		ok(strcmp(far, "") == 0 && strcmp(back, "") == 0,
		    "%s: dropped, no error to anyone", d->what);
		if (far[0] != '\0' || back[0] != '\0')
			diag("far '%s' back '%s'", far, back);
		free(far);
		free(back);
	}
	/* The control: an occupant of a room the session never joined is,
	 * for all the proxy knows, a user, and gets the error. */
	sesstest_send(t.client,
	    "<message to='other@conference.example.org/bob' "
	    "type='chat' id='pm2'><body>spam</body>"
	    "</message>");
	got_is(at_client(&t),
	    ERR_OPEN("message", "pm2", "other@conference.example.org/bob",
	        BOUND_JID) ERR_BODY(SPAM_TEXT) "</message>",
	    "a private message to an unknown room's occupant is bounced");
	evs = t_end(&t);
	for (i = 0; i < sizeof(degraded) / sizeof(degraded[0]); i++) {
		d = &degraded[i];
		ok(verdict_is(
		       stanza_ev(evs, d->c2s ? "c2s" : "s2c", d->id, false),
		       "drop", "bounce-spam", "bounce", NULL, false),
		    "%s: event verdict drop, the rule's action bounce",
		    d->what);
	}
	is_int(
	    count_by_proxy(evs), 1, "no error was injected but the control's");
	n = (double)(sizeof(degraded) / sizeof(degraded[0]) + 1);
	check_close(evs, "degraded", n, 0, "bounce-spam", n, n);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* A message with a rewritten word and a secret in a data form. */
#define SECRET_MSG(body, value)                                                \
	"<message to='b@example.org' id='r2'><body>" body "</body><x "         \
	"xmlns='jabber:x:data' type='submit'><field "                          \
	"var='password'><value>" value "</value></field></x></message>"

static void
test_rewrite(void)
{
	struct sesstest t;
	const cJSON *ev;
	cJSON *evs;
	const char *msg =
	    "<message to='b@example.org' id='r1' type='chat'><body>a darn day"
	    "</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body "
	    "xmlns='http://www.w3.org/1999/xhtml'><p>a <b>da</b>rn day</p>"
	    "</body></html></message>";

	t_begin(&t, "");
	sesstest_send(t.client, msg);
	got_is(at_server(&t),
	    "<message to='b@example.org' id='r1' type='chat'><body>a **** day"
	    "</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body "
	    "xmlns='http://www.w3.org/1999/xhtml'><p>a <b>****</b> day</p>"
	    "</body></html></message>",
	    "rewrite: body and XHTML-IM both rewritten, re-serialized");
	sesstest_send(t.client, SECRET_MSG("darn it", "s3cret"));
	got_is(at_server(&t), SECRET_MSG("**** it", "s3cret"),
	    "rewrite: a stanza with a secret is forwarded with the secret");
	evs = t_end(&t);
	ev = stanza_ev(evs, "c2s", "r1", false);
	ok(verdict_is(ev, "rewrite", "darn", "rewrite", "body", false),
	    "rewrite: event verdict rewrite, rule darn");
	ok(jsonev_eq(ev, "original_xml", msg) &&
	        jsonev_str(ev, "xml") != NULL &&
	        strstr(jsonev_str(ev, "xml"), "<b>****</b> day") != NULL,
	    "rewrite: the event has original_xml and the new xml");
	ev = stanza_ev(evs, "c2s", "r2", false);
	if (!ok(jsonev_eq(
	            ev, "original_xml", SECRET_MSG("darn it", "[redacted]")),
	        "rewrite: original_xml of a stanza with a secret is redacted"))
		diag("original_xml: %s", jsonev_str(ev, "original_xml"));
	ok(jsonev_eq(ev, "xml", SECRET_MSG("**** it", "[redacted]")),
	    "rewrite: its xml is redacted too");
	ok(jsonev_lacks(evs, "s3cret"), "the secret is in no event");
	check_close(evs, "rewrite", 0, 2, "darn", 2, 2);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

static void
test_close(bool c2s)
{
	const char *dir = c2s ? "c2s" : "s2c";
	struct sesstest t;
	cJSON *evs;
	char *got, detail[128];

	t_begin(&t, "");
	sesstest_send(c2s ? t.client : t.server,
	    "<message to='b@example.org' id='k1'><body>kaboom</body>"
	    "</message>");
	ok(sesstest_run_until(&t, sesstest_freed, 6), "close %s: session ends",
	    dir);
	got = sesstest_take(t.client);
	is_str(got,
	    "<stream:error><policy-violation "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>that "
	    "ends it (rule kill)</text></stream:error></stream:stream>",
	    "close %s: the client gets policy-violation with the reason", dir);
	free(got);
	got = sesstest_take(t.server);
	is_str(got, CLOSE, "close %s: the upstream gets </stream:stream> only",
	    dir);
	free(got);
	evs = events_now(&t);
	ok(jsonev_closed_for(evs, "policy"), "close %s: reason policy", dir);
	snprintf(
	    detail, sizeof(detail), "%s stanza refused: that ends it", dir);
	ok(jsonev_close_detail_has(evs, detail), "close %s: detail", dir);
	ok(verdict_is(stanza_ev(evs, dir, "k1", false), "close", "kill",
	       "close", "body", false),
	    "close %s: event verdict close", dir);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* The session read everything the client wrote. */
static int
client_bytes_read(struct sesstest *t)
{
	return evbuffer_get_length(bufferevent_get_output(t->client)) == 0 &&
	       evbuffer_get_length(bufferevent_get_input(t->c_inner)) == 0;
}

/* Sends s one byte per read; counts reads after which the server had
 * something to read. */
static int
send_bytewise(struct sesstest *t, const char *s)
{
	int leaks = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		bufferevent_write(t->client, s + i, 1);
		if (!sesstest_run_until(t, client_bytes_read, 5))
			diag("byte %zu was not read", i);
		if (s[i + 1] != '\0' &&
		    evbuffer_get_length(sesstest_s_in(t)) > 0)
			leaks++;
	}
	return leaks;
}

static void
test_split(void)
{
	struct sesstest t;
	cJSON *evs;
	const char *bad = "<message to='b@example.org' id='s1'><body>x "
	                  "f&#x6f;rbidden \xc3\xa9</body></message>";
	const char *good = "<message to='b@example.org' id='s2'><body>caf"
	                   "\xc3\xa9 ok</body></message>";

	t_begin(&t, "");
	is_int(send_bytewise(&t, bad), 0,
	    "split: nothing reaches the server while the stanza is partial");
	got_is(at_server(&t), "", "split: matched whole and dropped");
	is_int(send_bytewise(&t, good), 0,
	    "split: a passing stanza is not forwarded before it is whole");
	got_is(at_server(&t), good, "split: a passing one arrives as sent");
	evs = t_end(&t);
	ok(verdict_is(stanza_ev(evs, "c2s", "s1", false), "drop",
	       "no-forbidden", "drop", "body", false),
	    "split: event verdict drop");
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

static void
test_dry_run(void)
{
	struct sesstest t;
	cJSON *evs;
	const char *audit = "<message to='b@example.org' id='a1'><body>audit "
	                    "me</body></message>";
	const char *spam = "<message to='b@example.org' id='a2'><body>spam"
	                   "</body></message>";
	const char *darn = "<message to='b@example.org' id='a3'><body>darn"
	                   "</body></message>";

	t_begin(&t, "");
	sesstest_send(t.client, audit);
	got_is(at_server(&t), audit, "dry_run rule: the stanza passes");
	evs = t_end(&t);
	ok(verdict_is(stanza_ev(evs, "c2s", "a1", false), "pass", "audit",
	       "drop", "body", true),
	    "dry_run rule: hit recorded with action drop, dry_run true");
	check_close(evs, "dry_run rule", 0, 0, "audit", 1, 0);
	cJSON_Delete(evs);
	sesstest_fini(&t);

	t_begin(&t, ", \"dry_run\": true");
	sesstest_send(t.client, spam);
	got_is(at_server(&t), spam, "global dry_run: a bounce passes");
	got_is(at_client(&t), "", "global dry_run: no error");
	sesstest_send(t.client, darn);
	got_is(at_server(&t), darn,
	    "global dry_run: a rewrite leaves the original bytes");
	evs = t_end(&t);
	ok(verdict_is(stanza_ev(evs, "c2s", "a2", false), "pass", "bounce-spam",
	       "bounce", "body", true),
	    "global dry_run: hit recorded dry_run true");
	ok(verdict_is(stanza_ev(evs, "c2s", "a3", false), "pass", "darn",
	       "rewrite", "body", true),
	    "global dry_run: the rewrite is recorded, not done");
	check_close(evs, "global dry_run", 0, 0, "bounce-spam", 1, 0);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

int
main(void)
{
	test_pass();
	test_drop();
	test_bounce_c2s();
	test_bounce_s2c();
	test_iq();
	test_degraded();
	test_rewrite();
	test_close(true);
	test_close(false);
	test_split();
	test_dry_run();
	return done_testing();
}
