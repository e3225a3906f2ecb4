/* SPDX-License-Identifier: ISC */
/*
 * The PROXY protocol in real sessions (in process, over bufferevent pairs):
 * a listener's header read before anything else, in one piece or a byte at
 * a time, its addresses in session.open, the stream after it relayed
 * untouched; a bad, late or cut header closing the connection without a
 * stream error (reason proxy-protocol); and the header xmppgate sends
 * upstream, before any other byte, naming the real client.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "jsonev.h"
#include "proxyproto.h"
#include "session.h"
#include "sesstest.h"
#include "../tap.h"

#define PP1 "PROXY TCP4 192.0.2.10 198.51.100.2 51234 5222\r\n"
#define PP2_LOCAL "\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00"

static int
t_never(struct sesstest *t)
{
	return 0;
}

/* Ends the session from the client's side and loads its events. */
static cJSON *
t_finish(struct sesstest *t)
{
	sesstest_hang_up(&t->client);
	sesstest_hang_up(&t->server);
	if (!sesstest_run_until(t, sesstest_freed, 8))
		diag("session not freed");
	sesstest_settle(t);
	return jsonev_load(t->events_path);
}

static void
test_v1_then_stream(int bytewise)
{
	const char *what = bytewise ? "v1 a byte at a time" : "v1 in one write";
	static const char input[] = PP1 C_HDR;
	struct sesstest t;
	const cJSON *open;
	char one[2] = {0, 0};
	char *got;
	cJSON *evs;
	size_t i;

	sesstest_init(&t, "\"proxy_protocol\": \"v1\"", "", "%s", "");
	is_int(session_state(t.s), SESSION_PROXY_HEADER,
	    "%s: the session waits for the header", what);
	if (bytewise) {
		for (i = 0; i < sizeof(PP1) - 1; i++) {
			one[0] = input[i];
			sesstest_send(t.client, one);
			sesstest_run_until(&t, t_never, 0.002);
			if (i + 1 < sizeof(PP1) - 1 &&
			    session_state(t.s) != SESSION_PROXY_HEADER)
				break;
		}
		is_int(i, sizeof(PP1) - 1, "%s: no earlier end to the header",
		    what);
		sesstest_send(t.client, C_HDR);
	} else
		sesstest_send(t.client, input);
	ok(sesstest_wait_for(&t, sesstest_s_in(&t), C_HDR),
	    "%s: the stream "
	    "reaches the upstream",
	    what);
	got = sesstest_take(t.server);
	ok(strcmp(got, C_HDR) == 0, "%s: exactly the stream, no header bytes",
	    what);
	free(got);
	is_int(session_state(t.s), SESSION_NEGOTIATING,
	    "%s: negotiating after it", what);
	evs = t_finish(&t);
	open = jsonev_one(evs, "session.open");
	ok(open != NULL && jsonev_eq(open, "client", "192.0.2.10:51234") &&
	        jsonev_eq(open, "via", "127.0.0.1:4000"),
	    "%s: session.open client from the header, via the balancer", what);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

static void
test_local(void)
{
	struct sesstest t;
	const cJSON *open;
	cJSON *evs;

	sesstest_init(&t, "\"proxy_protocol\": true", "", "%s", "");
	bufferevent_write(t.client, PP2_LOCAL, sizeof(PP2_LOCAL) - 1);
	sesstest_send(t.client, C_HDR);
	ok(sesstest_wait_for(&t, sesstest_s_in(&t), C_HDR),
	    "v2 LOCAL: the stream reaches the upstream");
	evs = t_finish(&t);
	open = jsonev_one(evs, "session.open");
	ok(open != NULL && jsonev_eq(open, "client", "127.0.0.1:4000") &&
	        jsonev_eq(open, "via", "127.0.0.1:4000"),
	    "v2 LOCAL: the connection's own address is the client");
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* The listener must close without a word: no stream error. */
static void
test_refused(const char *what, const char *limits, const char *input,
    int hang_up, double wait, const char *detail)
{
	struct sesstest t;
	const cJSON *open;
	cJSON *evs;
	char *got;

	sesstest_init(&t, "\"proxy_protocol\": \"any\"", "", "%s", limits);
	sesstest_send(t.client, input);
	if (hang_up)
		sesstest_hang_up(&t.client);
	ok(sesstest_run_until(&t, sesstest_freed, wait),
	    "%s: the session "
	    "ends",
	    what);
	sesstest_settle(&t);
	if (t.client != NULL) {
		got = sesstest_take(t.client);
		is_str(got, "",
		    "%s: the client gets nothing, not even a "
		    "stream error",
		    what);
		free(got);
	}
	got = sesstest_take(t.server);
	is_str(got, "", "%s: nothing reaches the upstream", what);
	free(got);
	evs = jsonev_load(t.events_path);
	ok(jsonev_closed_for(evs, "proxy-protocol") &&
	        jsonev_close_detail_has(evs, detail),
	    "%s: session.close reason proxy-protocol, detail '%s'", what,
	    detail);
	open = jsonev_one(evs, "session.open");
	ok(open != NULL && jsonev_null(open, "client") &&
	        jsonev_eq(open, "via", "127.0.0.1:4000"),
	    "%s: session.open names no client, the balancer as via", what);
	ok(jsonev_count(evs, "stream.error", NULL, NULL) == 0,
	    "%s: no stream.error event", what);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* What the upstream received first: a header naming src -> dst. */
static void
check_upstream_header(struct sesstest *t, const char *what, int version,
    const char *src, const char *dst)
{
	struct proxyproto_hdr h;
	const char *errstr = "";
	char *got, a[64], b[64];
	size_t len;
	const struct sockaddr_in *s4 = (const void *)&h.src;
	const struct sockaddr_in *d4 = (const void *)&h.dst;

	ok(sesstest_wait_for(t, sesstest_s_in(t), C_HDR),
	    "%s: the stream "
	    "reaches the upstream",
	    what);
	got = sesstest_take_buf(sesstest_s_in(t), &len);
	if (!ok(proxyproto_parse(got, len,
	            version == 1 ? PROXYPROTO_V1 : PROXYPROTO_V2, &h,
	            &errstr) == PROXYPROTO_DONE,
	        "%s: a v%d header comes first", what, version)) {
		diag("%s", errstr);
		free(got);
		return;
	}
	inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
	inet_ntop(AF_INET, &d4->sin_addr, b, sizeof(b));
	snprintf(
	    a + strlen(a), sizeof(a) - strlen(a), ":%u", ntohs(s4->sin_port));
	snprintf(
	    b + strlen(b), sizeof(b) - strlen(b), ":%u", ntohs(d4->sin_port));
	ok(h.family == AF_INET && strcmp(a, src) == 0 && strcmp(b, dst) == 0,
	    "%s: it names %s -> %s (got %s -> %s)", what, src, dst, a, b);
	ok(strcmp(got + h.len, C_HDR) == 0, "%s: then exactly the stream",
	    what);
	free(got);
}

static void
test_upstream_header(void)
{
	struct sesstest t;

	/* The real client from the load balancer's header, passed on. */
	sesstest_init(&t, "\"proxy_protocol\": \"v1\"",
	    "\"proxy_protocol\": \"v2\"", "%s", "");
	sesstest_send(t.client, PP1 C_HDR);
	check_upstream_header(
	    &t, "v1 in, v2 out", 2, "192.0.2.10:51234", "198.51.100.2:5222");
	sesstest_fini(&t);

	/* No load balancer: the accepted socket's addresses. */
	sesstest_init(&t, "", "\"proxy_protocol\": \"v1\"", "%s", "");
	sesstest_send(t.client, C_HDR);
	check_upstream_header(&t, "socket addresses, v1 out", 1,
	    "127.0.0.1:4000", "127.0.0.1:5222");
	sesstest_fini(&t);
}

int
main(void)
{
	test_v1_then_stream(0);
	test_v1_then_stream(1);
	test_local();
	test_refused("XML instead of a header", "", C_HDR, 0, 5,
	    "does not start with a PROXY protocol header");
	test_refused("a TLS hello instead", "", "\x16\x03\x01\x02", 0, 5,
	    "does not start");
	test_refused("a malformed v1 line", "",
	    "PROXY TCP4 192.0.2.10 198.51.100.2 051234 5222\r\n" C_HDR, 0, 5,
	    "a port must be");
	test_refused("a header cut short", "", "PROXY TCP4 192.0.2.", 1, 5,
	    "closed before a complete header");
	test_refused("a header too slow",
	    "\"limits\": {\"proxy_header_timeout_s\": 1}", "PROXY TCP4 ", 0, 4,
	    "no complete header within");
	test_upstream_header();
	return done_testing();
}
