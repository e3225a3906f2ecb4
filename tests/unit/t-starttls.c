/* SPDX-License-Identifier: ISC */
/*
 * TLS toward the client in sessions, over bufferevent pairs with real TLS
 * (the test's own OpenSSL peer, see tlspeer.h): the proxy's local STARTTLS
 * answer and the exact plaintext/TLS boundary there (injected bytes,
 * whitespace, garbage, a client that skips STARTTLS), and direct TLS with
 * ALPN. The upstream leg's STARTTLS is t-upstream-tls, passthrough is
 * t-passthrough. Certificates are made at run time (testcert.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include "xmalloc.h"

#include "../tap.h"
#include "jsonev.h"
#include "sesstest.h"
#include "testcert.h"
#include "tlspeer.h"

/* The proxy's certificate and its limits in every session here. */
#define PROXY_TLS                                                              \
	"\"tls\": {\"cert\": \"%s\", \"key\": \"%s\"},"                        \
	"\"limits\": {\"handshake_timeout_s\": 10}"

static const struct testcert_id *proxy; /* example.org by the test CA */
static SSL_CTX *client_ctx;             /* the test client: trusts the CA */

/* A session whose listener has listen_keys, the upstream in plaintext. */
static void
t_start(struct sesstest *t, const char *listen_keys)
{
	sesstest_init(
	    t, listen_keys, "", PROXY_TLS, proxy->pem, proxy->key_file);
}

/* session.close has reason (and, when detail_has is not NULL, a detail
 * containing it). */
static void
check_close(const cJSON *evs, const char *what, const char *reason,
    const char *detail_has)
{
	ok(jsonev_closed_for(evs, reason), "%s: session.close reason %s", what,
	    reason);
	if (detail_has != NULL)
		ok(jsonev_close_detail_has(evs, detail_has),
		    "%s: detail mentions '%s'", what, detail_has);
}

/* ---- client leg: the proxy's own STARTTLS ---- */

/* Client header answered locally, <proceed/> taken off. */
static void
client_to_proceed(struct sesstest *t, const char *what)
{
	char *got;

	sesstest_send(t->client, C_HDR);
	sesstest_settle(t);
	free(sesstest_take(t->client));
	sesstest_send(t->client, STARTTLS);
	sesstest_wait_for(t, sesstest_c_in(t), PROCEED);
	got = sesstest_take(t->client);
	is_str(got, PROCEED, "%s: <starttls/> gets <proceed/>", what);
	free(got);
}

/* The test client's TLS with the proxy (already past <proceed/>). */
static int
client_handshake(struct sesstest *t, const char *what)
{
	t->ctls = tlspeer_new(client_ctx, true, "example.org", NULL, 0);
	tlspeer_hello(t->ctls, bufferevent_get_output(t->client));
	sesstest_wait_tls(t, t->ctls);
	if (!ok(t->ctls->up && !t->ctls->failed,
	        "%s: TLS handshake with the proxy completes", what))
		diag("client TLS: %s", t->ctls->err);
	return t->ctls->up;
}

/*
 * Both streams closed cleanly with the test client on TLS, so the session
 * ends at once (a dropped pair end would keep the proxy's close_notify
 * unwritten until the linger timer).
 */
static void
close_tls_client(struct sesstest *t, const char *what)
{
	char *got;

	tlspeer_send(t->ctls, t->client, CLOSE);
	sesstest_wait_for(t, sesstest_s_in(t), CLOSE);
	got = sesstest_take(t->server);
	is_str(got, CLOSE, "%s: client close relayed", what);
	free(got);
	sesstest_send(t->server, CLOSE);
	sesstest_wait_for(t, t->ctls->plain, CLOSE);
	got = sesstest_take_buf(t->ctls->plain, NULL);
	is_str(got, CLOSE, "%s: server close relayed", what);
	free(got);
	ok(sesstest_run_until(t, sesstest_freed, 6), "%s: session ends", what);
	sesstest_settle(t);
	ok(t->ctls->closed, "%s: the proxy sent close_notify", what);
}

static void
test_client_starttls(void)
{
	struct sesstest t;
	char *got, *p;
	cJSON *evs;
	const cJSON *tls;
	int i_tls, i_open;

	t_start(&t, "\"tls\": \"starttls\"");
	sesstest_send(t.client, C_HDR);
	sesstest_settle(&t);
	got = sesstest_take(t.client);
	ok(strncmp(got, "<?xml version='1.0'?><stream:stream ", 36) == 0 &&
	        strstr(got, " from='example.org'") != NULL &&
	        strstr(got, " id='") != NULL,
	    "client starttls: the pre-TLS header gets the proxy's own header");
	p = strstr(got, "<stream:features>");
	is_str(p, FEAT_REQUIRED,
	    "client starttls: features are exactly "
	    "<starttls><required/></starttls>");
	free(got);
	got = sesstest_take(t.server);
	is_str(got, "",
	    "client starttls: nothing reaches the upstream "
	    "before TLS (header)");
	free(got);
	sesstest_send(t.client, STARTTLS);
	sesstest_wait_for(&t, sesstest_c_in(&t), PROCEED);
	got = sesstest_take(t.client);
	is_str(got, PROCEED, "client starttls: <starttls/> gets <proceed/>");
	free(got);
	got = sesstest_take(t.server);
	is_str(got, "",
	    "client starttls: nothing reaches the upstream "
	    "before TLS (starttls)");
	free(got);
	if (!client_handshake(&t, "client starttls")) {
		sesstest_fini(&t);
		return;
	}
	is_int(SSL_get_verify_result(t.ctls->ssl), X509_V_OK,
	    "client starttls: the proxy's certificate verifies for "
	    "example.org");
	got = sesstest_take(t.server);
	is_str(got, "",
	    "client starttls: nothing reaches the upstream "
	    "during the handshake");
	free(got);

	tlspeer_send(t.ctls, t.client, C_HDR);
	sesstest_wait_for(&t, sesstest_s_in(&t), C_HDR);
	got = sesstest_take(t.server);
	is_str(got, C_HDR,
	    "client starttls: the post-TLS header reaches the "
	    "upstream verbatim");
	free(got);
	sesstest_send(t.server, S_HDR FEAT_TLS_MECHS);
	sesstest_wait_for(&t, t.ctls->plain, "</stream:features>");
	got = sesstest_take_buf(t.ctls->plain, NULL);
	ok(strncmp(got, S_HDR, strlen(S_HDR)) == 0,
	    "client starttls: the server header reaches the client through "
	    "TLS");
	ok(strstr(got, "starttls") == NULL && strstr(got, MECHS) != NULL,
	    "client starttls: the upstream's STARTTLS offer is stripped, "
	    "mechanisms kept");
	free(got);
	tlspeer_send(t.ctls, t.client, MSG_C2S);
	sesstest_wait_for(&t, sesstest_s_in(&t), MSG_C2S);
	got = sesstest_take(t.server);
	is_str(got, MSG_C2S,
	    "client starttls: message client -> upstream "
	    "verbatim");
	free(got);
	sesstest_send(t.server, MSG_S2C);
	sesstest_wait_for(&t, t.ctls->plain, MSG_S2C);
	got = sesstest_take_buf(t.ctls->plain, NULL);
	is_str(got, MSG_S2C,
	    "client starttls: message upstream -> client "
	    "verbatim through TLS");
	free(got);
	close_tls_client(&t, "client starttls");

	evs = jsonev_load(t.events_path);
	tls = jsonev_one(evs, "tls");
	ok(tls != NULL && jsonev_eq(tls, "leg", "client") &&
	        jsonev_eq(tls, "mode", "starttls") &&
	        jsonev_true(tls, "inspected"),
	    "client starttls: tls event leg client, mode starttls, "
	    "inspected");
	ok(tls != NULL && jsonev_str(tls, "version") != NULL &&
	        strncmp(jsonev_str(tls, "version"), "TLSv1.", 6) == 0 &&
	        jsonev_str(tls, "cipher") != NULL &&
	        jsonev_eq(tls, "sni", "example.org") &&
	        jsonev_null(tls, "alpn"),
	    "client starttls: tls event version, cipher, sni, no alpn");
	ok(jsonev_find(evs, 0, "stanza", "c2s", "message") != -1 &&
	        jsonev_find(evs, 0, "stanza", "s2c", "message") != -1,
	    "client starttls: stanza events for the message both ways");
	i_tls = jsonev_find(evs, 0, "tls", NULL, NULL);
	i_open = jsonev_find(evs, 0, "stream.open", "c2s", NULL);
	ok(jsonev_count(evs, "stream.open", "c2s", NULL) == 1 && i_tls != -1 &&
	        i_open > i_tls,
	    "client starttls: one c2s stream.open, the post-TLS one");
	ok(jsonev_find(evs, 0, "stanza", NULL, "starttls") == -1 &&
	        jsonev_find(evs, 0, "stanza", NULL, "proceed") == -1 &&
	        jsonev_count(evs, "stanza", "c2s", NULL) == 1,
	    "client starttls: the local negotiation makes no stanza events");
	check_close(evs, "client starttls", "client-closed", NULL);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* Bytes right after <starttls/> in the same write are never parsed. */
static void
test_client_injection(void)
{
	struct sesstest t;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"starttls\"");
	sesstest_send(t.client, C_HDR);
	sesstest_settle(&t);
	free(sesstest_take(t.client));
	sesstest_send(t.client, STARTTLS INJECTED);
	ok(sesstest_run_until(&t, sesstest_freed, 5),
	    "client injection: session ends");
	got = sesstest_take(t.client);
	ok(strncmp(got, PROCEED, strlen(PROCEED)) == 0 &&
	        strchr(got + strlen(PROCEED), '<') == NULL,
	    "client injection: the client gets <proceed/> and no XML after it");
	if (strncmp(got, PROCEED, strlen(PROCEED)) != 0)
		diag("got '%s'", got);
	free(got);
	got = sesstest_take(t.server);
	is_str(got, "", "client injection: nothing reaches the upstream");
	free(got);
	evs = jsonev_load(t.events_path);
	ok(jsonev_count(evs, "stanza", NULL, NULL) == 0 &&
	        jsonev_lacks(evs, "injected"),
	    "client injection: no stanza event, the injected bytes "
	    "nowhere");
	check_close(
	    evs, "client injection", "client-tls-failed", "ClientHello");
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* Whitespace, then a real ClientHello, all in the write of <starttls/>. */
static void
test_client_whitespace(void)
{
	struct sesstest t;
	struct evbuffer *w = evbuffer_new();
	struct tlspeer *p;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"starttls\"");
	sesstest_send(t.client, C_HDR);
	sesstest_settle(&t);
	free(sesstest_take(t.client));
	p = tlspeer_new(client_ctx, true, "example.org", NULL, 0);
	evbuffer_add_printf(w, "%s \r\n\t ", STARTTLS);
	tlspeer_hello(p, w);
	bufferevent_write_buffer(t.client, w);
	evbuffer_free(w);
	sesstest_wait_for(&t, sesstest_c_in(&t), PROCEED);
	got = xmalloc(strlen(PROCEED) + 1);
	got[evbuffer_remove(sesstest_c_in(&t), got, strlen(PROCEED))] = '\0';
	is_str(got, PROCEED, "client whitespace: <proceed/> first");
	free(got);
	/* what follows <proceed/> is TLS: from here the peer reads it */
	t.ctls = p;
	sesstest_wait_tls(&t, t.ctls);
	if (!ok(p->up, "client whitespace: whitespace skipped, the handshake "
	               "completes"))
		diag("client TLS: %s", p->err);
	tlspeer_send(p, t.client, C_HDR);
	sesstest_wait_for(&t, sesstest_s_in(&t), C_HDR);
	got = sesstest_take(t.server);
	is_str(got, C_HDR, "client whitespace: the post-TLS header is relayed");
	free(got);
	sesstest_send(t.server, S_HDR);
	sesstest_wait_for(&t, t.ctls->plain, S_HDR);
	free(sesstest_take_buf(t.ctls->plain, NULL));
	close_tls_client(&t, "client whitespace");
	evs = jsonev_load(t.events_path);
	ok(jsonev_count(evs, "tls", NULL, NULL) == 1,
	    "client whitespace: one tls event");
	check_close(evs, "client whitespace", "client-closed", NULL);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* Something other than a ClientHello after <proceed/>. */
static void
test_client_garbage(void)
{
	struct sesstest t;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"starttls\"");
	client_to_proceed(&t, "client garbage");
	sesstest_send(t.client, "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
	ok(sesstest_run_until(&t, sesstest_freed, 5),
	    "client garbage: session ends");
	got = sesstest_take(t.client);
	ok(strchr(got, '<') == NULL,
	    "client garbage: no plaintext XML sent inside the TLS phase");
	free(got);
	got = sesstest_take(t.server);
	is_str(got, "", "client garbage: nothing reaches the upstream");
	free(got);
	evs = jsonev_load(t.events_path);
	check_close(evs, "client garbage", "client-tls-failed", "ClientHello");
	ok(jsonev_count(evs, "tls", NULL, NULL) == 0,
	    "client garbage: no tls event");
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* A client that sends a stanza instead of <starttls/>. */
static void
test_client_skips_starttls(void)
{
	struct sesstest t;
	char *got;
	int headers;
	cJSON *evs;

	t_start(&t, "\"tls\": \"starttls\"");
	sesstest_send(t.client, C_HDR);
	sesstest_settle(&t);
	sesstest_send(t.client, "<message to='b@example.org'><body>plain</body>"
	                        "</message>");
	ok(sesstest_run_until(&t, sesstest_freed, 5),
	    "client skips starttls: session ends");
	got = sesstest_take(t.client);
	headers = sesstest_count(got, "<stream:stream");
	ok(strstr(got, FEAT_REQUIRED
	       "<stream:error><policy-violation "
	       "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") != NULL &&
	        strstr(got, "</stream:error></stream:stream>") != NULL &&
	        headers == 1,
	    "client skips starttls: policy-violation in the one stream");
	if (headers != 1 || strstr(got, "policy-violation") == NULL)
		diag("got '%s'", got);
	free(got);
	got = sesstest_take(t.server);
	is_str(got, "", "client skips starttls: nothing reaches the upstream");
	free(got);
	evs = jsonev_load(t.events_path);
	ok(jsonev_count(evs, "stanza", NULL, NULL) == 0 &&
	        jsonev_lacks(evs, "plain"),
	    "client skips starttls: no stanza event");
	check_close(evs, "client skips starttls", "client-error", NULL);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* ---- direct TLS toward the client (XEP-0368) ---- */

static void
test_direct(bool alpn)
{
	static const unsigned char protos[] = "\x02h2\x0bxmpp-client";
	const char *what = alpn ? "direct" : "direct without ALPN";
	const unsigned char *sel = NULL;
	unsigned sel_len = 0;
	struct sesstest t;
	char *got;
	cJSON *evs;
	const cJSON *tls;

	t_start(&t, "\"tls\": \"direct\"");
	t.ctls = tlspeer_new(client_ctx, true, "example.org",
	    alpn ? protos : NULL, alpn ? sizeof(protos) - 1 : 0);
	tlspeer_hello(t.ctls, bufferevent_get_output(t.client));
	sesstest_wait_tls(&t, t.ctls);
	if (!ok(t.ctls->up, "%s: TLS at accept completes", what))
		diag("client TLS: %s", t.ctls->err);
	SSL_get0_alpn_selected(t.ctls->ssl, &sel, &sel_len);
	if (alpn)
		ok(sel_len == 11 && memcmp(sel, "xmpp-client", 11) == 0,
		    "direct: ALPN xmpp-client selected when offered");
	else
		is_int(sel_len, 0, "direct without ALPN: none selected");
	got = sesstest_take(t.server);
	is_str(got, "",
	    "%s: nothing reaches the upstream during the "
	    "handshake",
	    what);
	free(got);
	tlspeer_send(t.ctls, t.client, C_HDR);
	sesstest_wait_for(&t, sesstest_s_in(&t), C_HDR);
	got = sesstest_take(t.server);
	is_str(got, C_HDR, "%s: the client header is relayed verbatim", what);
	free(got);
	sesstest_send(t.server, S_HDR FEAT_MECHS);
	sesstest_wait_for(&t, t.ctls->plain, "</stream:features>");
	got = sesstest_take_buf(t.ctls->plain, NULL);
	is_str(got, S_HDR FEAT_MECHS,
	    "%s: the server's stream reaches the "
	    "client through TLS",
	    what);
	free(got);
	tlspeer_send(t.ctls, t.client, MSG_C2S);
	sesstest_wait_for(&t, sesstest_s_in(&t), MSG_C2S);
	got = sesstest_take(t.server);
	is_str(got, MSG_C2S, "%s: message relayed", what);
	free(got);
	close_tls_client(&t, what);
	evs = jsonev_load(t.events_path);
	tls = jsonev_one(evs, "tls");
	ok(tls != NULL && jsonev_eq(tls, "leg", "client") &&
	        jsonev_eq(tls, "mode", "direct") &&
	        jsonev_true(tls, "inspected") &&
	        jsonev_eq(tls, "sni", "example.org") &&
	        (alpn ? jsonev_eq(tls, "alpn", "xmpp-client")
	              : jsonev_null(tls, "alpn")),
	    "%s: tls event mode direct with sni and alpn", what);
	ok(jsonev_find(evs, 0, "stanza", "c2s", "message") != -1,
	    "%s: stanza event for the message", what);
	check_close(evs, what, "client-closed", NULL);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* Plaintext XML to a direct-TLS listener. */
static void
test_direct_plaintext(void)
{
	struct sesstest t;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"direct\"");
	sesstest_send(t.client, C_HDR);
	ok(sesstest_run_until(&t, sesstest_freed, 5),
	    "direct plaintext: session ends");
	got = sesstest_take(t.server);
	is_str(got, "", "direct plaintext: nothing reaches the upstream");
	free(got);
	evs = jsonev_load(t.events_path);
	ok(jsonev_count(evs, "stream.open", NULL, NULL) == 0,
	    "direct plaintext: the header is never parsed");
	check_close(evs, "direct plaintext", "client-tls-failed", NULL);
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

int
main(void)
{
	struct testcert *certs = testcert_new("t-starttls");
	const struct testcert_id *ca;

	ca = testcert_ca(certs, "ca", "xmppgate test CA", 2);
	proxy = testcert_leaf(
	    certs, "proxy", "xmppgate example.org", "example.org", ca, 2);
	client_ctx = testcert_client_ctx(ca);
	test_client_starttls();
	test_client_injection();
	test_client_whitespace();
	test_client_garbage();
	test_client_skips_starttls();
	test_direct(true);
	test_direct(false);
	test_direct_plaintext();
	SSL_CTX_free(client_ctx);
	testcert_free(certs);
	return done_testing();
}
