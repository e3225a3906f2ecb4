/* SPDX-License-Identifier: ISC */
/*
 * Session tests in one process over bufferevent pairs: the test plays the
 * client and the server on the far ends of two pairs, the session sits in
 * between. Covers the relay of original bytes, restarts at the exact byte,
 * feature rewriting, JID learning, clean and dropped closes, stream errors
 * for malformed, restricted and oversize input, the handshake timeout,
 * backpressure, and the events written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "events.h"
#include "session.h"
#include "xmalloc.h"

#include "../tap.h"

#define C_HDR                                                                  \
	"<?xml version='1.0'?><stream:stream to='example.org' "                \
	"xmlns='jabber:client' "                                               \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define S_HDR                                                                  \
	"<?xml version='1.0'?><stream:stream from='example.org' id='s1' "      \
	"xmlns='jabber:client' "                                               \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

struct t {
	struct event_base *base;
	struct config *cfg;
	struct events *events;
	char events_path[64];
	struct bufferevent *client; /* the test's client end */
	struct bufferevent *server; /* the test's server end */
	struct bufferevent *up_inner; /* borrowed: the session's upstream leg */
	struct session *s;
	int freed;
};

static void
t_freed(void *arg, struct session *s)
{
	struct t *t = arg;

	t->freed++;
}

static void
t_tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the loop until pred(t) holds or seconds pass. Returns pred(t). */
static int
run_until(struct t *t, int (*pred)(struct t *), double seconds)
{
	struct timeval tick = { 0, 10000 }, now, end, d;
	struct event *ev = event_new(t->base, -1, EV_PERSIST, t_tick_cb, NULL);

	gettimeofday(&now, NULL);
	d.tv_sec = (time_t)seconds;
	d.tv_usec = (suseconds_t)((seconds - (double)d.tv_sec) * 1e6);
	timeradd(&now, &d, &end);
	event_add(ev, &tick);
	while (!pred(t) && timercmp(&now, &end, <)) {
		event_base_loop(t->base, EVLOOP_ONCE);
		gettimeofday(&now, NULL);
	}
	event_free(ev);
	return pred(t);
}

static int
never(struct t *t)
{
	return 0;
}

static void
settle(struct t *t)
{
	run_until(t, never, 0.1);
}

static int
is_freed(struct t *t)
{
	return t->freed > 0;
}

static char *
take(struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);
	char *s = xmalloc(n + 1);

	evbuffer_remove(in, s, n);
	s[n] = '\0';
	return s;
}

static void
send_str(struct bufferevent *bev, const char *s)
{
	bufferevent_write(bev, s, strlen(s));
}

static void
t_start(struct t *t, size_t max_stanza, unsigned handshake_s)
{
	struct bufferevent *cp[2], *sp[2];
	char laddr[] = "127.0.0.1:5222";
	struct config_listen l = { .address = laddr, .tls = CONFIG_TLS_NONE };
	struct session_env env;
	char *err = NULL;
	int fd;

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	t->cfg = config_new();
	t->cfg->limits.max_stanza_bytes = max_stanza;
	t->cfg->limits.handshake_timeout_s = handshake_s;
	snprintf(t->events_path, sizeof(t->events_path),
	    "/tmp/t-session-XXXXXX");
	fd = mkstemp(t->events_path);
	close(fd);
	t->cfg->logs = xcalloc(1, sizeof(*t->cfg->logs));
	t->cfg->logs[0].type = CONFIG_LOG_JSON;
	t->cfg->logs[0].path = xstrdup(t->events_path);
	t->cfg->logs[0].redact = true;
	t->cfg->nlogs = 1;
	t->events = events_new(t->cfg, false, t->base, &err);
	if (t->events == NULL)
		diag("events_new: %s", err);
	bufferevent_pair_new(t->base,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, cp);
	bufferevent_pair_new(t->base,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, sp);
	t->client = cp[1];
	t->server = sp[1];
	t->up_inner = sp[0];
	bufferevent_enable(t->client, EV_READ | EV_WRITE);
	bufferevent_enable(t->server, EV_READ | EV_WRITE);
	env.base = t->base;
	env.dns = NULL;
	env.events = &t->events;
	env.on_close = NULL;
	env.on_free = t_freed;
	env.arg = t;
	t->s = session_new(&env, t->cfg, "t.1", cp[0], "127.0.0.1:4000", &l,
	    sp[0]);
}

/* Both stream headers exchanged, and what they brought taken off. */
static void
t_open_streams(struct t *t)
{
	send_str(t->client, C_HDR);
	send_str(t->server, S_HDR);
	settle(t);
	free(take(t->client));
	free(take(t->server));
}

static char *
t_events(struct t *t)
{
	FILE *fp = fopen(t->events_path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	buf_init(&b);
	if (fp != NULL) {
		while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			buf_add(&b, chunk, n);
		fclose(fp);
	}
	return buf_release(&b);
}

/* Ends both far ends the way a socket close would: EOF, then gone (a pair
 * end freed without BEV_FINISHED tells its partner nothing). */
static void
t_end(struct t *t)
{
	if (t->client != NULL) {
		bufferevent_flush(t->client, EV_WRITE, BEV_FINISHED);
		bufferevent_free(t->client);
	}
	if (t->server != NULL) {
		bufferevent_flush(t->server, EV_WRITE, BEV_FINISHED);
		bufferevent_free(t->server);
	}
	if (!run_until(t, is_freed, 8))
		diag("session not freed at the end of the test");
	events_free(t->events);
	config_unref(t->cfg);
	unlink(t->events_path);
	event_base_free(t->base);
}

/* Expects `want` to arrive at bev; returns whether it came exactly. */
static int
expect(struct t *t, struct bufferevent *bev, const char *want,
    const char *what)
{
	char *got;
	int same;

	settle(t);
	got = take(bev);
	same = strcmp(got, want) == 0;
	if (!ok(same, "%s", what))
		diag("got  '%s'\n# want '%s'", got, want);
	free(got);
	return same;
}

static void
test_relay(void)
{
	struct t t;
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
	send_str(t.client, C_HDR);
	expect(&t, t.server, C_HDR, "client header reaches upstream as is");
	send_str(t.server, S_HDR);
	send_str(t.server, features);
	settle(&t);
	got = take(t.client);
	ok(strncmp(got, S_HDR, strlen(S_HDR)) == 0,
	    "server header reaches client as is");
	ok(strstr(got, "compress") == NULL &&
		strstr(got, "<mechanism>PLAIN</mechanism>") != NULL,
	    "compression stripped from features, mechanisms kept");
	free(got);
	send_str(t.client, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
			   "mechanism='PLAIN'>AGFsaWNlAHMzY3JldA==</auth>");
	expect(&t, t.server,
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGFsaWNlAHMzY3JldA==</auth>",
	    "auth relayed verbatim");
	/* success and the next header in one read: the s2c parser restarts at
	 * the byte after <success/>. */
	send_str(t.server,
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" S_HDR
	    "<stream:features><bind "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
	/* and the client pipelines its restart header with the bind */
	send_str(t.client, C_HDR "<iq type='set' id='b1'><bind "
				 "xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
				 "<resource>r1</resource></bind></iq>");
	expect(&t, t.server,
	    C_HDR "<iq type='set' id='b1'><bind "
		  "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r1"
		  "</resource></bind></iq>",
	    "client restart header and bind relayed after the reset");
	settle(&t);
	got = take(t.client);
	ok(strstr(got, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
		       S_HDR) != NULL,
	    "success and the restarted server header reach the client");
	free(got);
	send_str(t.server, "<iq type='result' id='b1'><bind "
			   "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>"
			   "alice@example.org/r1</jid></bind></iq>");
	settle(&t);
	free(take(t.client));
	is_int(session_state(t.s), SESSION_ESTABLISHED,
	    "established after bind");
	send_str(t.client, "\n \n");
	expect(&t, t.server, "\n \n", "whitespace keepalive relayed") ;
	send_str(t.client, msg);
	expect(&t, t.server, msg, "message relayed as its original bytes");
	send_str(t.server, msg);
	expect(&t, t.client, msg, "message relayed server to client");
	send_str(t.client, "</stream:stream>");
	expect(&t, t.server, "</stream:stream>", "client close relayed");
	send_str(t.server, "</stream:stream>");
	expect(&t, t.client, "</stream:stream>", "server close relayed");
	ok(run_until(&t, is_freed, 6), "session freed after both closed");
	ev = t_events(&t);
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
	t_end(&t);
}

static void
test_bad_input(const char *what, const char *input, const char *condition,
    const char *reason, size_t max)
{
	struct t t;
	char *got, *ev, want[256];

	t_start(&t, max, 30);
	t_open_streams(&t);
	send_str(t.client, "<presence/>");
	send_str(t.client, input);
	settle(&t);
	got = take(t.client);
	snprintf(want, sizeof(want), "<stream:error><%s ", condition);
	ok(strstr(got, want) != NULL &&
		strstr(got, "</stream:error></stream:stream>") != NULL,
	    "%s: client gets %s", what, condition);
	free(got);
	got = take(t.server);
	is_str(got, "<presence/></stream:stream>",
	    "%s: upstream gets what came before, then a clean close", what);
	free(got);
	ok(run_until(&t, is_freed, 6), "%s: session ends", what);
	ev = t_events(&t);
	snprintf(want, sizeof(want), "\"reason\":\"%s\"", reason);
	ok(strstr(ev, want) != NULL && strstr(ev, "\"by\":\"proxy\"") != NULL,
	    "%s: events say stream.error by proxy and %s", what, reason);
	free(ev);
	t_end(&t);
}

static void
test_starttls_refused(void)
{
	struct t t;
	char *got;

	t_start(&t, 262144, 30);
	t_open_streams(&t);
	send_str(t.client,
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01");
	expect(&t, t.client,
	    "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>",
	    "starttls on a tls=none leg: failure and the stream ends");
	got = take(t.server);
	is_str(got, "</stream:stream>",
	    "starttls is not forwarded; the upstream stream ends cleanly");
	free(got);
	ok(run_until(&t, is_freed, 6), "session ends");
	t_end(&t);
}

static void
test_no_to(void)
{
	struct t t;
	char *got;

	t_start(&t, 262144, 30);
	send_str(t.client, "<stream:stream xmlns='jabber:client' "
			   "xmlns:stream='http://etherx.jabber.org/streams' "
			   "version='1.0'>");
	settle(&t);
	got = take(t.client);
	ok(strstr(got, "<stream:stream") != NULL &&
		strstr(got, "<improper-addressing ") != NULL,
	    "a header without 'to' gets a header and improper-addressing");
	free(got);
	got = take(t.server);
	is_str(got, "", "nothing reaches the upstream");
	free(got);
	ok(run_until(&t, is_freed, 6), "session ends");
	t_end(&t);
}

static void
test_upstream_error_relayed(void)
{
	struct t t;
	const char *err = "<stream:error><conflict "
			  "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
			  "</stream:error>";
	char *ev;

	t_start(&t, 262144, 30);
	t_open_streams(&t);
	send_str(t.server, err);
	send_str(t.server, "</stream:stream>");
	expect(&t, t.client, "<stream:error><conflict "
			     "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
			     "</stream:error></stream:stream>",
	    "upstream stream error relayed verbatim");
	send_str(t.client, "</stream:stream>");
	ok(run_until(&t, is_freed, 6), "session ends after the error");
	ev = t_events(&t);
	ok(strstr(ev, "\"condition\":\"conflict\",\"text\":null,\"by\":"
		      "\"peer\"") != NULL &&
		strstr(ev, "\"reason\":\"stream-error\"") != NULL,
	    "stream.error by peer and reason stream-error");
	free(ev);
	t_end(&t);
}

static void
test_client_drop(void)
{
	struct t t;
	char *ev, *got;

	t_start(&t, 262144, 30);
	send_str(t.client, C_HDR);
	send_str(t.server, S_HDR);
	settle(&t);
	free(take(t.server));
	send_str(t.client, "<message><body>last words</body></message>");
	bufferevent_flush(t.client, EV_WRITE, BEV_FINISHED);
	settle(&t);
	bufferevent_free(t.client);
	t.client = NULL;
	ok(run_until(&t, is_freed, 6), "dropped client ends the session");
	got = take(t.server);
	is_str(got, "<message><body>last words</body></message>",
	    "what the client sent arrives; no close tag is invented");
	free(got);
	ev = t_events(&t);
	ok(strstr(ev, "\"reason\":\"client-dropped\"") != NULL,
	    "reason client-dropped");
	free(ev);
	t_end(&t);
}

static void
test_handshake_timeout(void)
{
	struct t t;
	char *got;

	t_start(&t, 262144, 1);
	ok(run_until(&t, is_freed, 4), "silent client times out");
	got = take(t.client);
	ok(strstr(got, "<stream:stream") != NULL &&
		strstr(got, "<connection-timeout ") != NULL,
	    "client gets a header and connection-timeout");
	free(got);
	t_end(&t);
}

static void
test_backpressure(void)
{
	struct t t;
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
		settle(&t);
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
		settle(&t);
		got = take(t.server);
		got_total += strlen(got);
		free(got);
	}
	is_int(got_total, sent, "every byte arrives once the server reads");
	buf_fini(&big);
	t_end(&t);
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
	test_bad_input("invalid UTF-8", "<message><body>\xc3\x28</body></message>",
	    "unsupported-encoding", "client-error", 262144);
	{
		struct buf b;

		buf_init(&b);
		buf_adds(&b, "<message><body>");
		while (b.len < 20000)
			buf_adds(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
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
	return done_testing();
}
