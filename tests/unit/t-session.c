/* SPDX-License-Identifier: ISC */
/*
 * Session tests in one process over bufferevent pairs: the test plays the
 * client and the server on the far ends of two pairs, the session sits in
 * between. Covers the relay of original bytes, restarts at the exact byte,
 * feature rewriting, JID learning, clean and dropped closes, stream errors
 * for malformed, restricted and oversize input, the handshake timeout,
 * backpressure, and the events written. The harness is sesstest.h.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "buf.h"
#include "conn.h"
#include "session.h"

#include "../tap.h"
#include "jsonev.h"
#include "sesstest.h"

/* A plaintext session with these limits. */
static void
t_start(struct sesstest *t, size_t max_stanza, unsigned handshake_s)
{
	sesstest_init(t, "", "",
	    "\"limits\": {\"max_stanza_bytes\": %zu,"
	    " \"handshake_timeout_s\": %u}",
	    max_stanza, handshake_s);
}

/* Both stream headers exchanged, and what they brought taken off. */
static void
t_open_streams(struct sesstest *t)
{
	sesstest_send(t->client, C_HDR);
	sesstest_send(t->server, S_HDR);
	sesstest_settle(t);
	free(sesstest_take(t->client));
	free(sesstest_take(t->server));
}

/* Expects `want` to arrive at bev; returns whether it came exactly. */
static int
expect(struct sesstest *t, struct bufferevent *bev, const char *want,
    const char *what)
{
	char *got;
	int same;

	sesstest_settle(t);
	got = sesstest_take(bev);
	same = strcmp(got, want) == 0;
	if (!ok(same, "%s", what))
		diag("got  '%s'\n# want '%s'", got, want);
	free(got);
	return same;
}

static void
test_relay(void)
{
	struct sesstest t;
	char *ev, *got;
	const char *features =
	    "<stream:features><compression "
	    "xmlns='http://jabber.org/features/compress'><method>zlib</method>"
	    "</compression><mechanisms "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"
	    "</mechanism></mechanisms></stream:features>";
	const char *msg = "<message to='b@example.org' type='chat' id='m1'>"
	                  "<body>a &amp; b &#x263a; <![CDATA[<x>]]></body>"
	                  "</message>";

	t_start(&t, 262144, 30);
	sesstest_send(t.client, C_HDR);
	expect(&t, t.server, C_HDR, "client header reaches upstream as is");
	sesstest_send(t.server, S_HDR);
	sesstest_send(t.server, features);
	sesstest_settle(&t);
	got = sesstest_take(t.client);
	ok(strncmp(got, S_HDR, strlen(S_HDR)) == 0,
	    "server header reaches client as is");
	ok(strstr(got, "compress") == NULL &&
	        strstr(got, "<mechanism>PLAIN</mechanism>") != NULL,
	    "compression stripped from features, mechanisms kept");
	free(got);
	sesstest_send(t.client,
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGFsaWNlAHMzY3JldA==</auth>");
	expect(&t, t.server,
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGFsaWNlAHMzY3JldA==</auth>",
	    "auth relayed verbatim");
	/* success and the next header in one read: the s2c parser restarts at
	 * the byte after <success/>. */
	sesstest_send(t.server,
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" S_HDR
	    "<stream:features><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
	/* and the client pipelines its restart header with the bind */
	sesstest_send(t.client,
	    C_HDR "<iq type='set' id='b1'><bind "
	          "xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
	          "<resource>r1</resource></bind></iq>");
	expect(&t, t.server,
	    C_HDR "<iq type='set' id='b1'><bind "
	          "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r1"
	          "</resource></bind></iq>",
	    "client restart header and bind relayed after the reset");
	sesstest_settle(&t);
	got = sesstest_take(t.client);
	ok(strstr(got,
	       "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" S_HDR) !=
	        NULL,
	    "success and the restarted server header reach the client");
	free(got);
	sesstest_send(t.server, "<iq type='result' id='b1'><bind "
	                        "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>"
	                        "alice@example.org/r1</jid></bind></iq>");
	sesstest_settle(&t);
	free(sesstest_take(t.client));
	is_int(
	    session_state(t.s), SESSION_ESTABLISHED, "established after bind");
	sesstest_send(t.client, "\n \n");
	expect(&t, t.server, "\n \n", "whitespace keepalive relayed");
	sesstest_send(t.client, msg);
	expect(&t, t.server, msg, "message relayed as its original bytes");
	sesstest_send(t.server, msg);
	expect(&t, t.client, msg, "message relayed server to client");
	sesstest_send(t.client, "</stream:stream>");
	expect(&t, t.server, "</stream:stream>", "client close relayed");
	sesstest_send(t.server, "</stream:stream>");
	expect(&t, t.client, "</stream:stream>", "server close relayed");
	ok(sesstest_run_until(&t, sesstest_freed, 6),
	    "session freed after both closed");
	ev = jsonev_text(t.events_path);
	ok(strstr(ev, "\"event\":\"session.open\"") != NULL, "session.open");
	ok(strstr(ev, "\"event\":\"stream.open\",\"session\":\"t.1\","
	              "\"dir\":\"c2s\"") != NULL,
	    "stream.open c2s");
	ok(strstr(ev, "\"event\":\"auth\"") != NULL &&
	        strstr(ev, "\"authcid\":\"alice\"") != NULL &&
	        strstr(ev, "\"outcome\":\"success\"") != NULL,
	    "auth event with authcid and outcome");
	ok(strstr(ev, "\"event\":\"bind\",\"session\":\"t.1\","
	              "\"jid\":\"alice@example.org/r1\"") != NULL,
	    "bind event");
	ok(strstr(ev, "\"kind\":\"message\",\"type\":\"chat\",\"id\":\"m1\"") !=
	            NULL &&
	        strstr(ev, "\"jid\":\"alice@example.org/r1\",\"verdict\":"
	                   "\"pass\"") != NULL,
	    "stanza event with kind, type, id, session jid and verdict");
	ok(strstr(ev, "AGFsaWNlAHMzY3JldA") == NULL &&
	        strstr(ev, "[redacted]") != NULL,
	    "SASL payload redacted from events");
	ok(strstr(ev, "\"reason\":\"client-closed\"") != NULL,
	    "session.close reason client-closed");
	free(ev);
	sesstest_fini(&t);
}

static void
test_bad_input(const char *what, const char *input, const char *condition,
    const char *reason, size_t max)
{
	struct sesstest t;
	char *got, *ev, want[256];

	t_start(&t, max, 30);
	t_open_streams(&t);
	sesstest_send(t.client, "<presence/>");
	sesstest_send(t.client, input);
	sesstest_settle(&t);
	got = sesstest_take(t.client);
	snprintf(want, sizeof(want), "<stream:error><%s ", condition);
	ok(strstr(got, want) != NULL &&
	        strstr(got, "</stream:error></stream:stream>") != NULL,
	    "%s: client gets %s", what, condition);
	free(got);
	got = sesstest_take(t.server);
	is_str(got, "<presence/></stream:stream>",
	    "%s: upstream gets what came before, then a clean close", what);
	free(got);
	ok(sesstest_run_until(&t, sesstest_freed, 6), "%s: session ends", what);
	ev = jsonev_text(t.events_path);
	snprintf(want, sizeof(want), "\"reason\":\"%s\"", reason);
	ok(strstr(ev, want) != NULL && strstr(ev, "\"by\":\"proxy\"") != NULL,
	    "%s: events say stream.error by proxy and %s", what, reason);
	free(ev);
	sesstest_fini(&t);
}

static void
test_starttls_refused(void)
{
	struct sesstest t;
	char *got;

	t_start(&t, 262144, 30);
	t_open_streams(&t);
	sesstest_send(t.client,
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01");
	expect(&t, t.client,
	    "<failure "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>",
	    "starttls on a tls=none leg: failure and the stream ends");
	got = sesstest_take(t.server);
	is_str(got, "</stream:stream>",
	    "starttls is not forwarded; the upstream stream ends cleanly");
	free(got);
	ok(sesstest_run_until(&t, sesstest_freed, 6), "session ends");
	sesstest_fini(&t);
}

static void
test_no_to(void)
{
	struct sesstest t;
	char *got;

	t_start(&t, 262144, 30);
	sesstest_send(t.client,
	    "<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "version='1.0'>");
	sesstest_settle(&t);
	got = sesstest_take(t.client);
	ok(strstr(got, "<stream:stream") != NULL &&
	        strstr(got, "<improper-addressing ") != NULL,
	    "a header without 'to' gets a header and improper-addressing");
	free(got);
	got = sesstest_take(t.server);
	is_str(got, "", "nothing reaches the upstream");
	free(got);
	ok(sesstest_run_until(&t, sesstest_freed, 6), "session ends");
	sesstest_fini(&t);
}

static void
test_upstream_error_relayed(void)
{
	struct sesstest t;
	const char *err = "<stream:error><conflict "
	                  "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	                  "</stream:error>";
	char *ev;

	t_start(&t, 262144, 30);
	t_open_streams(&t);
	sesstest_send(t.server, err);
	sesstest_send(t.server, "</stream:stream>");
	expect(&t, t.client,
	    "<stream:error><conflict "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	    "</stream:error></stream:stream>",
	    "upstream stream error relayed verbatim");
	sesstest_send(t.client, "</stream:stream>");
	ok(sesstest_run_until(&t, sesstest_freed, 6),
	    "session ends after the error");
	ev = jsonev_text(t.events_path);
	ok(strstr(ev, "\"condition\":\"conflict\",\"text\":null,\"by\":"
	              "\"peer\"") != NULL &&
	        strstr(ev, "\"reason\":\"stream-error\"") != NULL,
	    "stream.error by peer and reason stream-error");
	free(ev);
	sesstest_fini(&t);
}

static void
test_client_drop(void)
{
	struct sesstest t;
	char *ev, *got;

	t_start(&t, 262144, 30);
	sesstest_send(t.client, C_HDR);
	sesstest_send(t.server, S_HDR);
	sesstest_settle(&t);
	free(sesstest_take(t.server));
	sesstest_send(t.client, "<message><body>last words</body></message>");
	bufferevent_flush(t.client, EV_WRITE, BEV_FINISHED);
	sesstest_settle(&t);
	bufferevent_free(t.client);
	t.client = NULL;
	ok(sesstest_run_until(&t, sesstest_freed, 6),
	    "dropped client ends the session");
	got = sesstest_take(t.server);
	is_str(got, "<message><body>last words</body></message>",
	    "what the client sent arrives; no close tag is invented");
	free(got);
	ev = jsonev_text(t.events_path);
	ok(strstr(ev, "\"reason\":\"client-dropped\"") != NULL,
	    "reason client-dropped");
	free(ev);
	sesstest_fini(&t);
}

static void
test_handshake_timeout(void)
{
	struct sesstest t;
	char *got;

	t_start(&t, 262144, 1);
	ok(sesstest_run_until(&t, sesstest_freed, 4),
	    "silent client times out");
	got = sesstest_take(t.client);
	ok(strstr(got, "<stream:stream") != NULL &&
	        strstr(got, "<connection-timeout ") != NULL,
	    "client gets a header and connection-timeout");
	free(got);
	sesstest_fini(&t);
}

static void
test_backpressure(void)
{
	struct sesstest t;
	struct buf big;
	size_t sent = 0, got_total = 0, peak = 0, n;
	const size_t total = 4 * 1024 * 1024;
	char *got;
	int i;

	t_start(&t, 262144, 30);
	t_open_streams(&t);
	/* The server stops reading; the client keeps sending. */
	bufferevent_disable(t.server, EV_READ);
	buf_init(&big);
	while (big.len < 64 * 1024)
		buf_adds(&big, "<message to='x@y'><body>0123456789abcdef"
		               "0123456789abcdef</body></message>");
	for (i = 0; sent < total && i < 1000; i++) {
		bufferevent_write(t.client, big.data, big.len);
		sent += big.len;
		sesstest_settle(&t);
		n = evbuffer_get_length(bufferevent_get_output(t.up_inner));
		if (n > peak)
			peak = n;
	}
	ok(peak <= CONN_HIGH_WATER + 262144 + 65536,
	    "the upstream output stays under the documented bound (peak %zu)",
	    peak);
	ok(peak >= CONN_HIGH_WATER / 2, "the bound was actually reached");
	/* What the session holds for the upstream stays bounded: the rest
	 * waits in the client's own buffers (the sender's side). */
	n = evbuffer_get_length(bufferevent_get_output(t.client));
	ok(n > total / 2, "the client side holds the backlog (%zu bytes)", n);
	bufferevent_enable(t.server, EV_READ);
	for (i = 0; i < 600 && got_total < sent; i++) {
		sesstest_settle(&t);
		got = sesstest_take(t.server);
		got_total += strlen(got);
		free(got);
	}
	is_int(got_total, sent, "every byte arrives once the server reads");
	buf_fini(&big);
	sesstest_fini(&t);
}

/* A message of about n bytes. */
static void
big_message(struct buf *b, const char *id, size_t n)
{
	buf_reset(b);
	buf_addf(b, "<message to='b@example.org' id='%s'><body>", id);
	while (b->len < n)
		buf_adds(b, "0123456789abcdefghijklmnopqrstuvwxyz");
	buf_adds(b, "</body></message>");
}

/*
 * limits.preauth_stanza_bytes: a 9000-byte element is too big before the
 * server accepted the client's authentication, from either side, and
 * passes both ways after it: SASL1 (the streams restart) and SASL2 (no
 * restart).
 */
static void
test_preauth(void)
{
	static const char sasl1_ok[] =
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
	static const char sasl2_auth[] =
	    "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'>"
	    "<initial-response>AGFsaWNlAHB3</initial-response>"
	    "</authenticate>";
	static const char sasl2_ok[] =
	    "<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>"
	    "alice@example.org</authorization-identifier></success>";
	struct sesstest t;
	struct buf b;
	char *got, *ev;
	int sasl;

	buf_init(&b);
	big_message(&b, "pre", 9000);
	t_start(&t, 262144, 30);
	t_open_streams(&t);
	sesstest_send(t.client, b.data);
	sesstest_settle(&t);
	got = sesstest_take(t.client);
	ok(strstr(got, "<policy-violation ") != NULL &&
	        strstr(got, "<stanza-too-big xmlns='urn:xmpp:errors'/>") !=
	            NULL &&
	        strstr(got,
	            "before authentication: element &lt;message&gt; of ") !=
	            NULL,
	    "9000 bytes from the client before auth: too big, says so");
	free(got);
	ok(sesstest_run_until(&t, sesstest_freed, 6), "the session ends");
	ev = jsonev_text(t.events_path);
	ok(strstr(ev, "\"detail\":\"c2s parse error: before authentication") !=
	        NULL,
	    "session.close detail says before authentication");
	free(ev);
	sesstest_fini(&t);

	t_start(&t, 262144, 30);
	t_open_streams(&t);
	sesstest_send(t.server, b.data);
	sesstest_settle(&t);
	got = sesstest_take(t.server);
	ok(strstr(got, "<policy-violation ") != NULL &&
	        strstr(got, "before authentication") != NULL,
	    "9000 bytes from the server before auth: too big");
	free(got);
	sesstest_fini(&t);

	for (sasl = 1; sasl <= 2; sasl++) {
		t_start(&t, 262144, 30);
		t_open_streams(&t);
		sesstest_send(t.client,
		    sasl == 1
		        ? "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
		          "mechanism='PLAIN'>AGFsaWNlAHB3</auth>"
		        : sasl2_auth);
		sesstest_send(t.server, sasl == 1 ? sasl1_ok : sasl2_ok);
		sesstest_settle(&t);
		free(sesstest_take(t.server));
		free(sesstest_take(t.client));
		if (sasl == 1) {
			sesstest_send(t.client, C_HDR);
			sesstest_send(t.server, S_HDR2);
			sesstest_settle(&t);
			free(sesstest_take(t.server));
			free(sesstest_take(t.client));
		}
		big_message(&b, "post-c2s", 9000);
		sesstest_send(t.client, b.data);
		ok(sesstest_wait_for(&t, sesstest_s_in(&t), b.data),
		    "SASL%d: after success, 9000 bytes reach the server", sasl);
		big_message(&b, "post-s2c", 9000);
		sesstest_send(t.server, b.data);
		ok(sesstest_wait_for(&t, sesstest_c_in(&t), b.data),
		    "SASL%d: and the client", sasl);
		big_message(&b, "pre", 9000);
		sesstest_fini(&t);
	}
	buf_fini(&b);
}

int
main(void)
{
	test_relay();
	test_bad_input("malformed", "<message><body>x</message>",
	    "not-well-formed", "client-error", 262144);
	test_bad_input("comment", "<message><!-- c --></message>",
	    "restricted-xml", "client-error", 262144);
	test_bad_input("entity", "<message><body>&foo;</body></message>",
	    "restricted-xml", "client-error", 262144);
	test_bad_input("prefixed stanza",
	    "<x:message xmlns:x='jabber:client'><x:body>hi</x:body>"
	    "</x:message>",
	    "bad-namespace-prefix", "client-error", 262144);
	test_bad_input("invalid UTF-8",
	    "<message><body>\xc3\x28</body></message>", "unsupported-encoding",
	    "client-error", 262144);
	{
		struct buf b;

		buf_init(&b);
		buf_adds(&b, "<message><body>");
		while (b.len < 20000)
			buf_adds(
			    &b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		buf_adds(&b, "</body></message>");
		test_bad_input("oversize", b.data, "policy-violation",
		    "client-error", 10000);
		buf_fini(&b);
	}
	test_upstream_error_relayed();
	test_starttls_refused();
	test_no_to();
	test_client_drop();
	test_handshake_timeout();
	test_backpressure();
	test_preauth();
	return done_testing();
}
