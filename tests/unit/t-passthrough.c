/* SPDX-License-Identifier: ISC */
/*
 * Passthrough sessions over bufferevent pairs: the proxy relays the
 * client's STARTTLS to the server and, after the server's <proceed/>, the
 * TLS bytes both ways opaque, byte-exact and counted, never parsed and in no
 * event; bytes behind <starttls/> that are not TLS never reach the server.
 * Plain bytes suffice here: the proxy does no TLS of its own in this mode.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "session.h"

#include "../tap.h"
#include "jsonev.h"
#include "sesstest.h"

#define PT_LISTEN "\"tls\": \"passthrough\""
#define PT_LIMITS "\"limits\": {\"handshake_timeout_s\": 10}"

/* Opaque bytes: TLS-looking records with XML-looking content. */
#define PT_C2S                                                                 \
	"\x16\x03\x01\x00\x2a\x01\x00<<<\x00\xff" CLOSE "<message>x</message>"
#define PT_C2S_LEN (sizeof(PT_C2S) - 1)
#define PT_S2C "\x16\x03\x03\x00\x7a\x02\x00<<<\x00\x80" CLOSE "<proceed/>"
#define PT_S2C_LEN (sizeof(PT_S2C) - 1)
#define PT2_C2S "\x17\x03\x03\x00\x05<<<<<"
#define PT2_C2S_LEN (sizeof(PT2_C2S) - 1)
#define PT2_S2C "\x17\x03\x03\x00\x06>>>\x00>>"
#define PT2_S2C_LEN (sizeof(PT2_S2C) - 1)

/* Waits for exactly want (len) on b, byte for byte. */
static void
expect_bytes(struct sesstest *t, struct evbuffer *b, const char *want,
    size_t len, const char *what)
{
	size_t n;
	char *got;

	sesstest_wait_bytes(t, b, want, len);
	sesstest_settle(t);
	got = sesstest_take_buf(b, &n);
	ok(n == len && memcmp(got, want, len) == 0, "%s", what);
	free(got);
}

/* The client's end closes (EOF, then gone); the session ends. */
static void
t_drop_client(struct sesstest *t)
{
	sesstest_hang_up(&t->client);
	sesstest_run_until(t, sesstest_freed, 8);
}

/* Client and server through <proceed/>; pipelined: the client's first TLS
 * bytes (after some whitespace) ride in the write of its <starttls/>. */
static void
passthrough_to_proceed(struct sesstest *t, const char *what, bool pipelined)
{
	struct evbuffer *w = evbuffer_new();
	size_t n;
	char *got;

	sesstest_send(t->client, C_HDR);
	expect_bytes(t, sesstest_s_in(t), C_HDR, strlen(C_HDR),
	    "passthrough: the client header is relayed verbatim");
	sesstest_send(t->server, S_HDR FEAT_TLS_MECHS);
	expect_bytes(t, sesstest_c_in(t), S_HDR FEAT_TLS_MECHS,
	    strlen(S_HDR FEAT_TLS_MECHS),
	    "passthrough: the server's features keep its STARTTLS offer");
	evbuffer_add(w, STARTTLS, strlen(STARTTLS));
	if (pipelined)
		evbuffer_add(w, " \r\n" PT_C2S, strlen(" \r\n") + PT_C2S_LEN);
	bufferevent_write_buffer(t->client, w);
	evbuffer_free(w);
	sesstest_wait_for(t, sesstest_s_in(t), STARTTLS);
	sesstest_settle(t);
	got = sesstest_take_buf(sesstest_s_in(t), &n);
	ok(n == strlen(STARTTLS) && memcmp(got, STARTTLS, n) == 0,
	    "%s: <starttls/> forwarded verbatim, nothing after it before the "
	    "server's <proceed/>",
	    what);
	free(got);
	if (!pipelined) {
		sesstest_send(t->server, PROCEED);
		expect_bytes(t, sesstest_c_in(t), PROCEED, strlen(PROCEED),
		    "passthrough: <proceed/> forwarded verbatim");
		return;
	}
	w = evbuffer_new();
	evbuffer_add(w, PROCEED, strlen(PROCEED));
	evbuffer_add(w, PT_S2C, PT_S2C_LEN);
	bufferevent_write(
	    t->server, evbuffer_pullup(w, -1), evbuffer_get_length(w));
	expect_bytes(t, sesstest_c_in(t), (const char *)evbuffer_pullup(w, -1),
	    evbuffer_get_length(w),
	    "passthrough pipelined: <proceed/> and the server's TLS bytes in "
	    "one write reach the client byte-exact");
	evbuffer_free(w);
	expect_bytes(t, sesstest_s_in(t), PT_C2S, PT_C2S_LEN,
	    "passthrough pipelined: then the client's held TLS bytes reach "
	    "the server byte-exact, whitespace skipped");
}

static void
test_passthrough(bool pipelined)
{
	const char *what = pipelined ? "passthrough pipelined" : "passthrough";
	struct sesstest t;
	cJSON *evs;
	const cJSON *tls, *close;
	int i_tls;
	double c2s, s2c;

	sesstest_init(&t, PT_LISTEN, "", PT_LIMITS);
	passthrough_to_proceed(&t, what, pipelined);
	if (!pipelined) {
		bufferevent_write(t.client, PT_C2S, PT_C2S_LEN);
		expect_bytes(&t, sesstest_s_in(&t), PT_C2S, PT_C2S_LEN,
		    "passthrough: opaque bytes client -> server byte-exact");
		bufferevent_write(t.server, PT_S2C, PT_S2C_LEN);
		expect_bytes(&t, sesstest_c_in(&t), PT_S2C, PT_S2C_LEN,
		    "passthrough: opaque bytes server -> client byte-exact");
	}
	bufferevent_write(t.client, PT2_C2S, PT2_C2S_LEN);
	expect_bytes(&t, sesstest_s_in(&t), PT2_C2S, PT2_C2S_LEN,
	    pipelined ? "passthrough pipelined: more opaque bytes c2s"
	              : "passthrough: more opaque bytes c2s");
	bufferevent_write(t.server, PT2_S2C, PT2_S2C_LEN);
	expect_bytes(&t, sesstest_c_in(&t), PT2_S2C, PT2_S2C_LEN,
	    pipelined ? "passthrough pipelined: more opaque bytes s2c"
	              : "passthrough: more opaque bytes s2c");
	ok(!sesstest_freed(&t) && session_state(t.s) == SESSION_ESTABLISHED,
	    "%s: the session is still up (the close tags were not parsed)",
	    what);
	t_drop_client(&t);
	evs = jsonev_load(t.events_path);
	tls = jsonev_one(evs, "tls");
	ok(tls != NULL && jsonev_eq(tls, "leg", "client") &&
	        jsonev_eq(tls, "mode", "passthrough") &&
	        jsonev_false(tls, "inspected") && jsonev_null(tls, "version") &&
	        jsonev_null(tls, "cipher"),
	    "%s: tls event mode passthrough, inspected false, no version",
	    what);
	i_tls = jsonev_find(evs, 0, "tls", NULL, NULL);
	ok(i_tls != -1 && jsonev_find(evs, i_tls, "stanza", NULL, NULL) == -1 &&
	        jsonev_find(evs, i_tls, "stream.close", NULL, NULL) == -1 &&
	        jsonev_find(evs, 0, "stanza", "s2c", "proceed") != -1 &&
	        jsonev_find(evs, 0, "stanza", "s2c", "proceed") < i_tls,
	    "%s: no stanza event after the tls event", what);
	ok(jsonev_lacks(evs, "<<<") && jsonev_lacks(evs, ">>>"),
	    "%s: opaque bytes in no event", what);
	close = jsonev_one(evs, "session.close");
	c2s = (double)(strlen(C_HDR STARTTLS) + PT_C2S_LEN + PT2_C2S_LEN +
	               (pipelined ? strlen(" \r\n") : 0));
	s2c = (double)(strlen(S_HDR FEAT_TLS_MECHS PROCEED) + PT_S2C_LEN +
	               PT2_S2C_LEN);
	ok(close != NULL && jsonev_bytes(close, "c2s") == c2s &&
	        jsonev_bytes(close, "s2c") == s2c,
	    "%s: session.close counts the opaque bytes", what);
	if (close != NULL && (jsonev_bytes(close, "c2s") != c2s ||
	                         jsonev_bytes(close, "s2c") != s2c))
		diag("bytes c2s %.0f s2c %.0f, want %.0f %.0f",
		    jsonev_bytes(close, "c2s"), jsonev_bytes(close, "s2c"), c2s,
		    s2c);
	ok(jsonev_closed_for(evs, "client-closed"),
	    "%s: session.close reason client-closed", what);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* Passthrough: bytes behind <starttls/> that are not TLS never reach the
 * server, not even after its <proceed/>. */
static void
test_passthrough_injection(void)
{
	const char *what = "passthrough injection";
	struct sesstest t;
	char *got;
	cJSON *evs;

	sesstest_init(&t, PT_LISTEN, "", PT_LIMITS);
	sesstest_send(t.client, C_HDR);
	sesstest_send(t.server, S_HDR FEAT_TLS_MECHS);
	sesstest_settle(&t);
	free(sesstest_take(t.client));
	free(sesstest_take(t.server));
	sesstest_send(t.client, STARTTLS INJECTED);
	sesstest_wait_for(&t, sesstest_s_in(&t), STARTTLS);
	sesstest_settle(&t);
	got = sesstest_take(t.server);
	is_str(got, STARTTLS, "%s: only <starttls/> reaches the server", what);
	free(got);
	sesstest_send(t.server, PROCEED);
	ok(sesstest_run_until(&t, sesstest_freed, 5), "%s: session ends", what);
	got = sesstest_take(t.server);
	is_str(got, "", "%s: the injected bytes never reach the server", what);
	free(got);
	got = sesstest_take(t.client);
	is_str(got, PROCEED,
	    "%s: the client gets <proceed/> and nothing of "
	    "the proxy's own after it",
	    what);
	free(got);
	evs = jsonev_load(t.events_path);
	ok(jsonev_lacks(evs, "injected") &&
	        jsonev_find(evs, 0, "stanza", "c2s", "message") == -1,
	    "%s: the injected bytes are in no event", what);
	ok(jsonev_closed_for(evs, "client-tls-failed"),
	    "%s: session.close reason client-tls-failed", what);
	ok(jsonev_close_detail_has(evs, "ClientHello"),
	    "%s: detail mentions 'ClientHello'", what);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

int
main(void)
{
	test_passthrough(false);
	test_passthrough(true);
	test_passthrough_injection();
	return done_testing();
}
