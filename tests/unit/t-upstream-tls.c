/* SPDX-License-Identifier: ISC */
/*
 * The proxy's own STARTTLS toward the upstream in sessions over bufferevent
 * pairs, the test playing the server with its own OpenSSL (tlspeer.h): the
 * proxy's pre-TLS stream, the client's header held until TLS, verification
 * by name and CA, and what the client and the events see when the server
 * refuses STARTTLS, presents a wrong-name or an untrusted certificate, or
 * injects bytes after <proceed/>. Certificates are made at run time
 * (testcert.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include "../tap.h"
#include "jsonev.h"
#include "sesstest.h"
#include "testcert.h"
#include "tlspeer.h"

/* The proxy's certificate and its limits in every session here. */
#define PROXY_TLS                                                              \
	"\"tls\": {\"cert\": \"%s\", \"key\": \"%s\"},"                        \
	"\"limits\": {\"handshake_timeout_s\": 10}"

static const struct testcert_id *ca;    /* the test CA */
static const struct testcert_id *proxy; /* example.org by the CA */
static SSL_CTX *up_ctx; /* the test server: example.org by the CA */

#define UP_TLS "\"tls\": \"starttls\", \"ca_file\": \"%s\""

/* A session whose upstream leg does STARTTLS, verified against the CA. */
static void
t_start_up(struct sesstest *t)
{
	char keys[PATH_MAX + 64];

	snprintf(keys, sizeof(keys), UP_TLS, ca->pem);
	sesstest_init(t, "", keys, PROXY_TLS, proxy->pem, proxy->key_file);
}

/* The proxy's pre-TLS stream to the server, up to its <starttls/>. */
static void
upstream_to_starttls(struct sesstest *t, const char *what)
{
	char *got;

	sesstest_send(t->client, C_HDR);
	sesstest_wait_for(t, sesstest_s_in(t), ">");
	sesstest_settle(t);
	got = sesstest_take(t->server);
	ok(strncmp(got, "<?xml", 5) == 0 && sesstest_count(got, "<") == 2 &&
	        sesstest_count(got, "<stream:stream ") == 1 &&
	        strstr(got, " to='example.org'") != NULL &&
	        strstr(got, "xmlns='jabber:client'") != NULL &&
	        got[strlen(got) - 1] == '>',
	    "%s: the upstream gets the proxy's own header (to=example.org) "
	    "and nothing else",
	    what);
	if (!ok(strstr(got, C_HDR) == NULL,
	        "%s: the client's header is not "
	        "sent before TLS",
	        what))
		diag("got '%s'", got);
	free(got);
	sesstest_send(t->server, S_HDR FEAT_TLS_MECHS);
	sesstest_wait_for(t, sesstest_s_in(t), STARTTLS);
	sesstest_settle(t);
	got = sesstest_take(t->server);
	is_str(got, STARTTLS, "%s: the proxy asks for STARTTLS", what);
	free(got);
	got = sesstest_take(t->client);
	is_str(
	    got, "", "%s: the client sees nothing of the pre-TLS stream", what);
	free(got);
}

static void
test_upstream_starttls(void)
{
	struct sesstest t;
	char *got;
	cJSON *evs;
	const cJSON *tls;
	const char *subj;

	t_start_up(&t);
	upstream_to_starttls(&t, "upstream starttls");
	sesstest_send(t.server, PROCEED);
	t.stls = tlspeer_new(up_ctx, false, NULL, NULL, 0);
	sesstest_wait_tls(&t, t.stls);
	if (!ok(t.stls->up, "upstream starttls: TLS handshake completes"))
		diag("server TLS: %s", t.stls->err);
	sesstest_wait_for(&t, t.stls->plain, C_HDR);
	got = sesstest_take_buf(t.stls->plain, NULL);
	is_str(got, C_HDR,
	    "upstream starttls: the client's header, held until "
	    "TLS, arrives verbatim through TLS");
	free(got);
	tlspeer_send(t.stls, t.server, S_HDR2 FEAT_MECHS);
	sesstest_wait_for(&t, sesstest_c_in(&t), "</stream:features>");
	got = sesstest_take(t.client);
	is_str(got, S_HDR2 FEAT_MECHS,
	    "upstream starttls: the post-TLS "
	    "header and features reach the client");
	free(got);
	sesstest_send(t.client, MSG_C2S);
	sesstest_wait_for(&t, t.stls->plain, MSG_C2S);
	got = sesstest_take_buf(t.stls->plain, NULL);
	is_str(got, MSG_C2S,
	    "upstream starttls: message client -> upstream "
	    "through TLS");
	free(got);
	tlspeer_send(t.stls, t.server, MSG_S2C);
	sesstest_wait_for(&t, sesstest_c_in(&t), MSG_S2C);
	got = sesstest_take(t.client);
	is_str(got, MSG_S2C, "upstream starttls: message upstream -> client");
	free(got);
	sesstest_send(t.client, CLOSE);
	sesstest_wait_for(&t, t.stls->plain, CLOSE);
	free(sesstest_take_buf(t.stls->plain, NULL));
	tlspeer_send(t.stls, t.server, CLOSE);
	ok(sesstest_run_until(&t, sesstest_freed, 6),
	    "upstream starttls: session ends");
	sesstest_settle(&t);
	evs = jsonev_load(t.events_path);
	tls = jsonev_one(evs, "tls");
	subj = tls ? jsonev_str(tls, "peer_subject") : NULL;
	ok(tls != NULL && jsonev_eq(tls, "leg", "upstream") &&
	        jsonev_eq(tls, "mode", "starttls") &&
	        jsonev_true(tls, "inspected") && jsonev_true(tls, "verified") &&
	        jsonev_eq(tls, "sni", "example.org"),
	    "upstream starttls: tls event leg upstream, verified, sni");
	ok(subj != NULL && strstr(subj, "upstream example.org") != NULL,
	    "upstream starttls: tls event names the server's certificate");
	ok(jsonev_count(evs, "stream.open", "s2c", NULL) == 1 &&
	        jsonev_count(evs, "stanza", "s2c", "features") == 1 &&
	        jsonev_find(evs, 0, "stanza", NULL, "proceed") == -1,
	    "upstream starttls: no events for the pre-TLS stream");
	ok(jsonev_find(evs, 0, "stanza", "c2s", "message") != -1 &&
	        jsonev_find(evs, 0, "stanza", "s2c", "message") != -1,
	    "upstream starttls: stanza events for the message both ways");
	ok(jsonev_closed_for(evs, "client-closed"),
	    "upstream starttls: session.close reason client-closed");
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* The upstream's STARTTLS or TLS fails: what the client and events see. */
static void
upstream_fails(struct sesstest *t, const char *what, const char *text_has)
{
	char *got;
	cJSON *evs;

	ok(sesstest_run_until(t, sesstest_freed, 5), "%s: session ends", what);
	got = sesstest_take(t->client);
	ok(strstr(got, "<stream:stream") != NULL &&
	        strstr(got, "<stream:error><remote-connection-failed ") !=
	            NULL &&
	        (text_has == NULL || strstr(got, text_has) != NULL) &&
	        strstr(got, "</stream:error></stream:stream>") != NULL,
	    "%s: the client gets remote-connection-failed naming '%s'", what,
	    text_has ? text_has : "the TLS failure");
	if (text_has != NULL && strstr(got, text_has) == NULL)
		diag("got '%s'", got);
	ok(strstr(got, "injected") == NULL && strstr(got, "<message") == NULL,
	    "%s: nothing of the server's stream reaches the client", what);
	free(got);
	evs = jsonev_load(t->events_path);
	ok(jsonev_closed_for(evs, "upstream-tls-failed"),
	    "%s: session.close reason upstream-tls-failed", what);
	if (text_has != NULL)
		ok(jsonev_close_detail_has(evs, text_has),
		    "%s: detail mentions '%s'", what, text_has);
	ok(jsonev_count(evs, "stanza", NULL, NULL) == 0 &&
	        jsonev_count(evs, "tls", NULL, NULL) == 0 &&
	        jsonev_lacks(evs, "injected"),
	    "%s: no stanza or tls event", what);
	cJSON_Delete(evs);
}

static void
test_upstream_refused(void)
{
	struct sesstest t;
	char *got;

	t_start_up(&t);
	upstream_to_starttls(&t, "upstream failure");
	sesstest_send(t.server, "<failure xmlns='" NS_TLS "'/>" CLOSE);
	upstream_fails(&t, "upstream failure", "refused STARTTLS");
	got = sesstest_take(t.server);
	ok(strstr(got, "<stream:stream") == NULL,
	    "upstream failure: the client's header never went out in "
	    "plaintext");
	free(got);
	sesstest_fini(&t);
}

/* A server certificate the proxy must refuse. */
static void
test_upstream_bad_cert(const char *what, SSL_CTX *ctx, const char *text_has)
{
	struct sesstest t;

	t_start_up(&t);
	upstream_to_starttls(&t, what);
	sesstest_send(t.server, PROCEED);
	t.stls = tlspeer_new(ctx, false, NULL, NULL, 0);
	upstream_fails(&t, what, text_has);
	is_int(evbuffer_get_length(t.stls->plain), 0,
	    "%s: the client's header never went out", what);
	sesstest_fini(&t);
}

/* Bytes right after <proceed/> from the server are never parsed. */
static void
test_upstream_injection(void)
{
	struct sesstest t;

	t_start_up(&t);
	upstream_to_starttls(&t, "upstream injection");
	sesstest_send(t.server, PROCEED INJECTED);
	upstream_fails(&t, "upstream injection", NULL);
	sesstest_fini(&t);
}

int
main(void)
{
	struct testcert *certs = testcert_new("t-upstream-tls");
	const struct testcert_id *up, *wrong, *self;
	SSL_CTX *wrong_ctx, *self_ctx;

	ca = testcert_ca(certs, "ca", "xmppgate test CA", 2);
	proxy = testcert_leaf(
	    certs, "proxy", "xmppgate example.org", "example.org", ca, 2);
	up = testcert_leaf(
	    certs, "up", "upstream example.org", "example.org", ca, 2);
	wrong = testcert_leaf(
	    certs, "wrong", "upstream other.org", "other.org", ca, 2);
	self = testcert_leaf(
	    certs, "self", "self example.org", "example.org", NULL, 2);
	up_ctx = testcert_server_ctx(up);
	wrong_ctx = testcert_server_ctx(wrong); /* other.org by the CA */
	self_ctx = testcert_server_ctx(self);   /* example.org, self-signed */
	test_upstream_starttls();
	test_upstream_refused();
	test_upstream_bad_cert(
	    "upstream wrong name", wrong_ctx, "hostname mismatch");
	test_upstream_bad_cert(
	    "upstream self-signed", self_ctx, "certificate verify failed");
	test_upstream_injection();
	SSL_CTX_free(up_ctx);
	SSL_CTX_free(wrong_ctx);
	SSL_CTX_free(self_ctx);
	testcert_free(certs);
	return done_testing();
}
