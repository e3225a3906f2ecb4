/* SPDX-License-Identifier: ISC */
/*
 * TLS in a session: which SSL object each leg gets (the listener's
 * certificate or one forged for the domain toward the client; a verifying
 * client toward the upstream with the domain as reference identity), when
 * the upstream leg's TLS starts, what a finished handshake means (the `tls`
 * event, the verification verdict, the leg becoming ready), and how a failed
 * one ends the session with a reason the client and the operator can read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "session_int.h"
#include "tlsctx.h"
#include "xmalloc.h"

/* The name the upstream's certificate must carry, and SNI. */
static const char *
session_tls_upstream_name(const struct session *s)
{
	if (s->cfg->upstream.server_name != NULL)
		return s->cfg->upstream.server_name;
	return s->nego.domain != NULL ? s->nego.domain : s->sni;
}

/* A server-role SSL toward the client. */
static SSL *
session_tls_ssl_client(struct session *s, char **err)
{
	struct tlsctx *tc = s->cfg->tls_server;
	SSL_CTX *ctx;
	SSL *ssl;

	if (tc == NULL) {
		*err = xstrdup("no certificate is configured (tls.cert or "
			       "tls.ca_cert)");
		return NULL;
	}
	/* STARTTLS knows the domain from the stream 'to'; direct TLS learns
	 * it from SNI during the handshake (the front context forges). */
	if (s->client_tls == CONFIG_TLS_STARTTLS) {
		if ((ctx = tlsctx_server_ctx(tc, s->nego.domain, err)) == NULL)
			return NULL;
	} else
		ctx = tlsctx_ctx(tc);
	if ((ssl = SSL_new(ctx)) == NULL) {
		*err = xasprintf("SSL_new: %s", tlsctx_error());
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/* A client-role SSL toward the upstream. */
static SSL *
session_tls_ssl_upstream(struct session *s, char **err)
{
	static const char *alpn[] = { TLSCTX_ALPN_XMPP_CLIENT, NULL };
	struct tlsctx *tc = s->cfg->tls_client;
	const char *name = session_tls_upstream_name(s);
	SSL *ssl;

	if (tc == NULL) {
		*err = xstrdup("no TLS client context (config not loaded)");
		return NULL;
	}
	if ((ssl = SSL_new(tlsctx_ctx(tc))) == NULL) {
		*err = xasprintf("SSL_new: %s", tlsctx_error());
		return NULL;
	}
	SSL_set_connect_state(ssl);
	if (tlsctx_client_prepare(ssl, name, NULL,
	    s->cfg->upstream.tls == CONFIG_TLS_DIRECT ? alpn : NULL,
	    err) == -1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

int
session_tls_begin(struct conn *c)
{
	struct session *s = c->session;
	bool client_role = c->side == CONN_UPSTREAM;
	char *err = NULL;
	SSL *ssl;

	ssl = client_role ? session_tls_ssl_upstream(s, &err)
			  : session_tls_ssl_client(s, &err);
	if (ssl == NULL) {
		session_tls_failed(c, err);
		free(err);
		return -1;
	}
	if (conn_start_tls(c, tlsio_new(ssl), client_role) == -1) {
		session_tls_failed(c, tlsio_error(c->tls));
		return -1;
	}
	log_debug("session=%s dir=%s TLS handshake started", s->id, c->dir);
	return 0;
}

void
session_upstream_start(struct session *s)
{
	struct conn *u = &s->upstream;

	if (s->upstream_started || s->state == SESSION_CLOSING ||
	    s->cfg->upstream.tls == CONFIG_TLS_NONE || !u->connected ||
	    !s->client.ready || session_tls_upstream_name(s) == NULL)
		return;
	/* The proxy's own header names the domain: wait for it. */
	if (s->cfg->upstream.tls == CONFIG_TLS_STARTTLS &&
	    s->nego.domain == NULL)
		return;
	s->upstream_started = true;
	if (!s->cfg->upstream.verify)
		log_warnx("session=%s upstream certificate is not verified "
			  "(upstream.verify is false)", s->id);
	if (s->cfg->upstream.tls == CONFIG_TLS_STARTTLS)
		starttls_upstream_begin(s);
	else
		(void)session_tls_begin(u);
}

static void
session_tls_add(cJSON *ev, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(ev, key, v);
	else
		cJSON_AddNullToObject(ev, key);
}

static void
session_tls_emit(struct session *s, const char *leg, enum config_tls mode,
    const struct tlsctx_info *info)
{
	cJSON *ev = events_begin("tls", s->id);

	cJSON_AddStringToObject(ev, "leg", leg);
	cJSON_AddStringToObject(ev, "mode", config_tls_str(mode));
	cJSON_AddBoolToObject(ev, "inspected", info != NULL);
	session_tls_add(ev, "version", info ? info->version : NULL);
	session_tls_add(ev, "cipher", info ? info->cipher : NULL);
	session_tls_add(ev, "sni", info ? info->sni : NULL);
	session_tls_add(ev, "alpn", info ? info->alpn : NULL);
	session_tls_add(ev, "peer_subject", info ? info->peer_subject : NULL);
	if (info != NULL)
		cJSON_AddBoolToObject(ev, "verified", info->verified);
	else
		cJSON_AddNullToObject(ev, "verified");
	/* Clients rarely present certificates: only the upstream's check
	 * has a reason worth showing. */
	if (info != NULL && strcmp(leg, "upstream") == 0 && !info->verified &&
	    info->verify_error[0] != '\0')
		cJSON_AddStringToObject(ev, "verify_error",
		    info->verify_error);
	events_emit(session_events(s), ev, NULL);
}

void
session_tls_up(struct conn *c)
{
	struct session *s = c->session;
	bool upstream = c->side == CONN_UPSTREAM;
	enum config_tls mode = upstream ? s->cfg->upstream.tls : s->client_tls;
	struct tlsctx_info info;
	char why[192];

	tlsctx_describe(tlsio_ssl(c->tls), &info);
	/* OpenSSL already refuses a bad chain when verifying; this also
	 * catches a handshake that somehow finished without a peer cert. */
	if (upstream && s->cfg->upstream.verify && !info.verified) {
		snprintf(why, sizeof(why), "certificate verify failed: %s",
		    info.verify_error[0] ? info.verify_error : "no certificate");
		metrics_tls_handshake(METRICS_LEG_UPSTREAM, false);
		session_tls_failed(c, why);
		return;
	}
	metrics_tls_handshake(
	    upstream ? METRICS_LEG_UPSTREAM : METRICS_LEG_CLIENT, true);
	session_tls_emit(s, upstream ? "upstream" : "client", mode, &info);
	log_info("session=%s tls leg=%s mode=%s version=%s cipher=%s sni=%s "
		 "verified=%s", s->id, upstream ? "upstream" : "client",
	    config_tls_str(mode), info.version, info.cipher,
	    info.sni[0] ? info.sni : "-", info.verified ? "yes" : "no");
	snprintf(upstream ? s->tls_upstream : s->tls_client,
	    sizeof(s->tls_client), "%s:%s", config_tls_str(mode),
	    info.version);
	if (!upstream && info.sni[0] != '\0' && s->sni == NULL)
		s->sni = xstrdup(info.sni);
	/* After the proxy's own STARTTLS a new stream starts: parse it
	 * with the relay, from its first byte. */
	if (mode == CONFIG_TLS_STARTTLS) {
		conn_set_parser(c, &relay_cbs);
		c->header_out = false;
	}
	conn_set_ready(c);
	if (!upstream)
		session_upstream_start(s);
}

void
session_tls_failed(struct conn *c, const char *why)
{
	struct session *s = c->session;
	char text[320];

	if (s->state == SESSION_CLOSING)
		return;
	/* After the handshake it is a broken stream, not a failed
	 * handshake (a certificate refused in session_tls_up is counted
	 * there). */
	if (c->tls == NULL || !tlsio_established(c->tls))
		metrics_tls_handshake(c->side == CONN_CLIENT
		                          ? METRICS_LEG_CLIENT
		                          : METRICS_LEG_UPSTREAM,
		    false);
	if (c->side == CONN_CLIENT) {
		log_info("session=%s client TLS failed: %s", s->id, why);
		session_set_detail(s, "client TLS: %s", why);
		session_end_stream(&s->upstream);
		session_close(s, SESSION_REASON_CLIENT_TLS_FAILED);
		return;
	}
	log_warnx("session=%s upstream TLS with %s failed: %s", s->id,
	    s->upstream_addr, why);
	session_set_detail(s, "upstream TLS: %s", why);
	snprintf(text, sizeof(text), "TLS with the upstream server failed: %s",
	    why);
	session_stream_error(&s->client, "remote-connection-failed", text,
	    NULL);
	session_close(s, SESSION_REASON_UPSTREAM_TLS_FAILED);
}

void
session_passthrough(struct session *s)
{
	struct conn *c = &s->client;

	s->passthrough_open = true;
	/* The client's bytes after <starttls/> waited for this <proceed/>. */
	if (!c->throttled && !c->eof) {
		bufferevent_enable(c->bev, EV_READ);
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	}
	session_tls_emit(s, "client", CONFIG_TLS_PASSTHROUGH, NULL);
	log_info("session=%s passthrough: TLS between client and server, "
		 "inspection ends here", s->id);
	snprintf(s->tls_client, sizeof(s->tls_client), "passthrough");
	snprintf(s->tls_upstream, sizeof(s->tls_upstream), "passthrough");
	if (s->state == SESSION_NEGOTIATING)
		session_set_state(s, SESSION_ESTABLISHED);
}

void
session_set_detail(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->detail != NULL)
		return;
	va_start(ap, fmt);
	s->detail = xvasprintf(fmt, ap);
	va_end(ap);
}
