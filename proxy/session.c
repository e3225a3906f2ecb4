/* SPDX-License-Identifier: ISC */
/*
 * Session lifecycle: creation and the upstream connect, the explicit state
 * machine and its one timer (connect, handshake, idle, linger), the ends of
 * TCP legs, the proxy's own stream errors, and the single way out,
 * session_close(), which flushes what was accepted for forwarding and then
 * frees everything from a separate event so no callback runs on freed memory.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/dns.h>

#include "addr.h"
#include "log.h"
#include "metrics.h"
#include "session_int.h"
#include "streamerr.h"
#include "xmalloc.h"

#define SESSION_LINGER_S 5     /* flushing before the sockets close */
#define SESSION_CLOSE_WAIT_S 10 /* waiting for the other side's close tag */

static void session_timer_cb(evutil_socket_t, short, void *);
static void session_reap_cb(evutil_socket_t, short, void *);
static void session_report(struct session *);
static void session_free_when_flushed(struct bufferevent *);

const char *
session_state_str(enum session_state st)
{
	switch (st) {
	case SESSION_PROXY_HEADER:
		return "proxy-header";
	case SESSION_CONNECTING:
		return "connecting";
	case SESSION_NEGOTIATING:
		return "negotiating";
	case SESSION_ESTABLISHED:
		return "established";
	case SESSION_CLOSING:
		return "closing";
	}
	return "unknown";
}

const char *
session_reason_str(enum session_reason r)
{
	static const char *const names[] = {
	    [SESSION_REASON_CLIENT_CLOSED] = "client-closed",
	    [SESSION_REASON_UPSTREAM_CLOSED] = "upstream-closed",
	    [SESSION_REASON_CLIENT_DROPPED] = "client-dropped",
	    [SESSION_REASON_UPSTREAM_DROPPED] = "upstream-dropped",
	    [SESSION_REASON_CLIENT_ERROR] = "client-error",
	    [SESSION_REASON_UPSTREAM_ERROR] = "upstream-error",
	    [SESSION_REASON_UPSTREAM_UNREACHABLE] = "upstream-unreachable",
	    [SESSION_REASON_CONNECT_TIMEOUT] = "connect-timeout",
	    [SESSION_REASON_HANDSHAKE_TIMEOUT] = "handshake-timeout",
	    [SESSION_REASON_IDLE_TIMEOUT] = "idle-timeout",
	    [SESSION_REASON_SHUTDOWN] = "shutdown",
	    [SESSION_REASON_SESSION_LIMIT] = "session-limit",
	    [SESSION_REASON_STREAM_ERROR] = "stream-error",
	    [SESSION_REASON_CLIENT_TLS_FAILED] = "client-tls-failed",
	    [SESSION_REASON_UPSTREAM_TLS_FAILED] = "upstream-tls-failed",
	    [SESSION_REASON_POLICY] = "policy",
	    [SESSION_REASON_PROXY_PROTOCOL] = "proxy-protocol",
	    [SESSION_REASON_DESTINATION_REFUSED] = "destination-refused",
	    [SESSION_REASON_RATE_LIMIT] = "rate-limit",
	};

	if ((size_t)r < sizeof(names) / sizeof(names[0]) && names[r] != NULL)
		return names[r];
	return "unknown";
}

enum session_state
session_state(const struct session *s)
{
	return s->state;
}

struct events *
session_events(const struct session *s)
{
	return s->env.events != NULL ? *s->env.events : NULL;
}

static double
session_elapsed(const struct session *s)
{
	struct timeval now, d;

	event_base_gettimeofday_cached(s->env.base, &now);
	timersub(&now, &s->started, &d);
	return (double)d.tv_sec + (double)d.tv_usec / 1e6;
}

static void
session_arm(struct session *s, double seconds)
{
	struct timeval tv;

	if (seconds < 0)
		seconds = 0;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(s->timer, &tv);
}

/* Arms the timer for the current state. */
static void
session_arm_state(struct session *s)
{
	double handshake = s->cfg->limits.handshake_timeout_s;

	switch (s->state) {
	case SESSION_PROXY_HEADER:
		session_arm(s, s->cfg->limits.proxy_header_timeout_s);
		break;
	case SESSION_CONNECTING:
		session_arm(s, (double)s->cfg->limits.connect_timeout_s <
			    handshake
			? s->cfg->limits.connect_timeout_s
			: handshake);
		break;
	case SESSION_NEGOTIATING:
		session_arm(s, handshake - session_elapsed(s));
		break;
	case SESSION_ESTABLISHED:
		/* A side that already closed keeps the short close wait. */
		if (s->client.stream_closed || s->upstream.stream_closed)
			session_arm(s, SESSION_CLOSE_WAIT_S);
		else
			session_arm(s, s->cfg->limits.idle_timeout_s);
		break;
	case SESSION_CLOSING:
		session_arm(s, SESSION_LINGER_S);
		break;
	}
}

void
session_set_state(struct session *s, enum session_state st)
{
	if (s->state == st)
		return;
	if (s->state == SESSION_CLOSING)
		fatalx("session=%s state change out of closing to %s", s->id,
		    session_state_str(st));
	log_debug("session=%s state=%s->%s", s->id,
	    session_state_str(s->state), session_state_str(st));
	s->state = st;
	session_arm_state(s);
}

size_t
session_element_limit(const struct session *s)
{
	return s->nego.authenticated ? s->cfg->limits.max_stanza_bytes
	                             : s->cfg->limits.preauth_stanza_bytes;
}

void
session_touch(struct session *s)
{
	struct timeval now;

	event_base_gettimeofday_cached(s->env.base, &now);
	s->last_activity = now.tv_sec;
}

void
session_await_close(struct session *s)
{
	if (s->state != SESSION_CLOSING)
		session_arm(s, SESSION_CLOSE_WAIT_S);
}

void
session_stream_error(struct conn *to, const char *condition, const char *text,
    const char *app_xml)
{
	struct session *s = to->session;
	struct buf b;
	cJSON *ev;

	/* An opaque (passthrough) leg carries the peers' TLS: nothing of
	 * the proxy's own belongs in it. Before a PROXY header the peer is a
	 * load balancer, not an XMPP client. */
	if (to->dead || to->closed_out || to->phase == CONN_OPAQUE ||
	    to->phase == CONN_PROXY)
		return;
	/* Toward the server the proxy is the client: it opens no stream of its
	 * own just to put an error in it. */
	if (!to->header_out && to->side == CONN_UPSTREAM)
		return;
	buf_init(&b);
	if (!to->header_out)
		streamerr_header(&b, s->nego.domain);
	to->header_out = true;
	streamerr_error(&b, condition, text, app_xml);
	conn_write_local(to, b.data, b.len);
	buf_fini(&b);
	to->closed_out = true;
	ev = events_begin("stream.error", s->id);
	cJSON_AddStringToObject(ev, "dir",
	    to->side == CONN_CLIENT ? "s2c" : "c2s");
	cJSON_AddStringToObject(ev, "condition", condition);
	if (text != NULL)
		cJSON_AddStringToObject(ev, "text", text);
	else
		cJSON_AddNullToObject(ev, "text");
	cJSON_AddStringToObject(ev, "by", "proxy");
	events_emit(session_events(s), ev, NULL);
	log_info("session=%s stream-error=%s to=%s text=\"%s\"", s->id,
	    condition, to->side == CONN_CLIENT ? "client" : "upstream",
	    text ? text : "");
}

void
session_end_stream(struct conn *to)
{
	static const char close_tag[] = "</stream:stream>";

	if (to->dead || !to->header_out || to->closed_out ||
	    to->phase == CONN_OPAQUE)
		return;
	conn_write(to, close_tag, sizeof(close_tag) - 1);
	to->closed_out = true;
}

/*
 * A timeout ends the client's stream with an error. Toward the server, a
 * silent client is mirrored as what it most likely is, a dead connection:
 * with resumable stream management (XEP-0198) the server's stream is not
 * closed, so the client can come back and resume it; otherwise it ends
 * cleanly.
 */
static void
session_timeout(struct session *s, enum session_reason reason,
    const char *condition, const char *text)
{
	session_stream_error(&s->client, condition, text, NULL);
	if (reason != SESSION_REASON_IDLE_TIMEOUT || smack_id(s->sm) == NULL)
		session_end_stream(&s->upstream);
	session_close(s, reason);
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct timeval now;
	double idle;

	if (s->state == SESSION_CLOSING) {
		log_debug("session=%s linger expired", s->id);
		event_active(s->reaper, EV_TIMEOUT, 0);
		return;
	}
	if (s->client.stream_closed || s->upstream.stream_closed) {
		session_close(s, s->client_closed_first
			? SESSION_REASON_CLIENT_CLOSED
			: SESSION_REASON_UPSTREAM_CLOSED);
		return;
	}
	switch (s->state) {
	case SESSION_PROXY_HEADER:
		session_proxy_failed(s, "no complete header within "
		                        "limits.proxy_header_timeout_s");
		return;
	case SESSION_CONNECTING:
		if (session_elapsed(s) >= s->cfg->limits.handshake_timeout_s) {
			session_timeout(s, SESSION_REASON_HANDSHAKE_TIMEOUT,
			    "connection-timeout", "negotiation timed out");
			return;
		}
		session_stream_error(&s->client, "remote-connection-failed",
		    "connecting to the upstream server timed out", NULL);
		session_close(s, SESSION_REASON_CONNECT_TIMEOUT);
		return;
	case SESSION_NEGOTIATING:
		session_timeout(s, SESSION_REASON_HANDSHAKE_TIMEOUT,
		    "connection-timeout", "negotiation timed out");
		return;
	case SESSION_ESTABLISHED:
		event_base_gettimeofday_cached(s->env.base, &now);
		idle = (double)(now.tv_sec - s->last_activity);
		if (idle < s->cfg->limits.idle_timeout_s) {
			session_arm(s, s->cfg->limits.idle_timeout_s - idle);
			return;
		}
		session_timeout(s, SESSION_REASON_IDLE_TIMEOUT,
		    "connection-timeout", "idle timeout");
		return;
	case SESSION_CLOSING:
		break;
	}
}

void
session_on_connected(struct session *s)
{
	evutil_socket_t fd = bufferevent_getfd(s->upstream.bev);
	int one = 1;

	if (fd != -1)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	log_debug("session=%s upstream connected", s->id);
	if (s->connect_started != 0)
		metrics_upstream_connect(metrics_now_ns() - s->connect_started);
	s->connect_started = 0;
	if (s->state == SESSION_CONNECTING)
		session_set_state(s, SESSION_NEGOTIATING);
	session_upstream_start(s);
}

void
session_on_leg_end(struct conn *c, bool error)
{
	struct session *s = c->session;
	int dns_err;

	c->eof = true;
	if (error)
		c->dead = true;
	if (s->state == SESSION_CLOSING) {
		session_on_drained(s);
		return;
	}
	if (s->state == SESSION_PROXY_HEADER) {
		session_proxy_failed(s, error ? "the connection failed before "
		                                "a complete header"
		                              : "the connection closed before "
		                                "a complete header");
		return;
	}
	if (c->side == CONN_UPSTREAM && !c->connected) {
		dns_err = bufferevent_socket_get_dns_error(c->bev);
		log_info("session=%s upstream=%s unreachable: %s", s->id,
		    s->upstream_addr,
		    dns_err
		        ? evutil_gai_strerror(dns_err)
		        : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		c->dead = true;
		session_stream_error(&s->client, "remote-connection-failed",
		    "the upstream server is unreachable", NULL);
		session_close(s, SESSION_REASON_UPSTREAM_UNREACHABLE);
		return;
	}
	if (c->stream_closed) {
		session_close(s, s->nego.error_condition != NULL
			? SESSION_REASON_STREAM_ERROR
			: s->client_closed_first
			? SESSION_REASON_CLIENT_CLOSED
			: SESSION_REASON_UPSTREAM_CLOSED);
		return;
	}
	if ((c->tls != NULL && !tlsio_established(c->tls)) ||
	    (c->phase == CONN_TLS_NEXT && c->side == CONN_CLIENT)) {
		session_tls_failed(c, error ? "the connection failed during the "
					      "TLS handshake"
					    : "the peer closed the connection "
					      "during the TLS handshake");
		return;
	}
	/* Passthrough: the streams' ends are inside the TLS; a TCP close is
	 * the best sign of a clean end there is. */
	if (c->phase == CONN_OPAQUE && !error) {
		session_close(s, c->side == CONN_CLIENT
			? SESSION_REASON_CLIENT_CLOSED
			: SESSION_REASON_UPSTREAM_CLOSED);
		return;
	}
	/* A dropped connection is mirrored as a dropped connection. */
	session_close(s, c->side == CONN_CLIENT
		? SESSION_REASON_CLIENT_DROPPED
		: SESSION_REASON_UPSTREAM_DROPPED);
}

void
session_on_drained(struct session *s)
{
	bool client_done, upstream_done;

	if (s->state != SESSION_CLOSING)
		return;
	client_done = conn_linger(&s->client);
	upstream_done = conn_linger(&s->upstream);
	if (client_done && upstream_done)
		event_active(s->reaper, EV_TIMEOUT, 0);
}

void
session_close(struct session *s, enum session_reason reason)
{
	if (s->state == SESSION_CLOSING)
		return;
	s->reason = reason;
	metrics_session_close(reason);
	/* A dropped connection leaves an XEP-0198 session resumable: keep
	 * its counts for the session that resumes it. A stream the server
	 * got </stream:stream> on is over: nothing will resume it. */
	if (s->env.smtab != NULL && s->upstream.closed_out && !s->upstream.dead)
		smack_end(s->sm, s->env.smtab, time(NULL));
	else if (s->env.smtab != NULL)
		smack_park(s->sm, s->env.smtab, time(NULL));
	/* A leg that never connected has nothing to flush to. */
	if (!s->upstream.connected)
		s->upstream.dead = true;
	session_set_state(s, SESSION_CLOSING);
	session_report(s);
	if (s->env.on_close != NULL)
		s->env.on_close(s->env.arg, s);
	conn_close_notify(&s->client);
	conn_close_notify(&s->upstream);
	conn_drain_input(&s->client);
	conn_drain_input(&s->upstream);
	/* Flush with the write callback firing only when empty. */
	if (!s->client.dead)
		bufferevent_setwatermark(s->client.bev, EV_WRITE, 0, 0);
	if (!s->upstream.dead)
		bufferevent_setwatermark(s->upstream.bev, EV_WRITE, 0, 0);
	session_on_drained(s);
}

void
session_shutdown(struct session *s)
{
	/* Already ending: its own close (clean or a mirrored drop) stands. */
	if (s->state == SESSION_CLOSING)
		return;
	session_stream_error(&s->client, "system-shutdown",
	    "xmppgate is shutting down", NULL);
	session_end_stream(&s->upstream);
	session_close(s, SESSION_REASON_SHUTDOWN);
}

static void
session_emit_close(struct session *s, double duration)
{
	cJSON *ev = events_begin("session.close", s->id), *o;
	char idbuf[3072];
	const char *jid = nego_identity(&s->nego, idbuf, sizeof(idbuf));

	cJSON_AddStringToObject(ev, "reason", session_reason_str(s->reason));
	if (s->detail != NULL)
		cJSON_AddStringToObject(ev, "detail", s->detail);
	else
		cJSON_AddNullToObject(ev, "detail");
	cJSON_AddNumberToObject(ev, "duration_s", duration);
	if (jid != NULL)
		cJSON_AddStringToObject(ev, "jid", jid);
	else
		cJSON_AddNullToObject(ev, "jid");
	o = cJSON_AddObjectToObject(ev, "bytes");
	cJSON_AddNumberToObject(o, "c2s", (double)s->client.bytes_in);
	cJSON_AddNumberToObject(o, "s2c", (double)s->upstream.bytes_in);
	o = cJSON_AddObjectToObject(ev, "stanzas");
	cJSON_AddNumberToObject(o, "c2s", (double)s->stanzas_c2s);
	cJSON_AddNumberToObject(o, "s2c", (double)s->stanzas_s2c);
	cJSON_AddNumberToObject(ev, "dropped", (double)s->dropped);
	cJSON_AddNumberToObject(ev, "rewritten", (double)s->rewritten);
	cJSON_AddItemToObject(ev, "rules", filter_tally_json(&s->tally));
	events_emit(session_events(s), ev, NULL);
	events_flush_soon(session_events(s));
}

/* The one summary of a session: the session.close event and a log line. */
static void
session_report(struct session *s)
{
	double duration = session_elapsed(s);

	/* Every session.close follows its session.open, even for a session
	 * that ended before it knew its client (PROXY protocol). */
	session_emit_open(s);
	session_emit_close(s, duration);
	log_info("session=%s closed reason=%s duration=%.3fs jid=%s "
		 "c2s_bytes=%llu c2s_stanzas=%llu s2c_bytes=%llu "
		 "s2c_stanzas=%llu tls_client=%s tls_upstream=%s%s%s%s",
	    s->id, session_reason_str(s->reason), duration,
	    s->nego.jid ? s->nego.jid : "-",
	    (unsigned long long)s->client.bytes_in,
	    (unsigned long long)s->stanzas_c2s,
	    (unsigned long long)s->upstream.bytes_in,
	    (unsigned long long)s->stanzas_s2c, s->tls_client,
	    s->tls_upstream, s->detail ? " detail=\"" : "",
	    s->detail ? s->detail : "", s->detail ? "\"" : "");
}

/* Frees the session; runs from its own event, never inside a callback. */
static void
session_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->env.on_free != NULL)
		s->env.on_free(s->env.arg, s);
	conn_fini(&s->client);
	conn_fini(&s->upstream);
	event_free(s->timer);
	event_free(s->reaper);
	nego_fini(&s->nego);
	muc_fini(&s->muc);
	smack_free(s->sm);
	filter_tally_fini(&s->tally);
	config_unref(s->cfg);
	free(s->client_addr);
	free(s->listener_addr);
	free(s->upstream_addr);
	free(s->via_addr);
	free(s->detail);
	free(s->sni);
	free(s);
}

void
session_free_now(struct session *s)
{
	if (s->state != SESSION_CLOSING)
		session_close(s, SESSION_REASON_SHUTDOWN);
	session_reap_cb(-1, 0, s);
}

void
session_log_status(const struct session *s)
{
	log_info("session=%s status client=%s listener=%s state=%s jid=%s "
		 "age=%.1fs c2s_bytes=%llu c2s_stanzas=%llu s2c_bytes=%llu "
		 "s2c_stanzas=%llu tls_client=%s tls_upstream=%s",
	    s->id, s->client_addr, s->listener_addr,
	    session_state_str(s->state), s->nego.jid ? s->nego.jid : "-",
	    session_elapsed(s), (unsigned long long)s->client.bytes_in,
	    (unsigned long long)s->stanzas_c2s,
	    (unsigned long long)s->upstream.bytes_in,
	    (unsigned long long)s->stanzas_s2c, s->tls_client,
	    s->tls_upstream);
}

/* The upstream leg, its parser and readiness from upstream.tls. */
static void
session_init_upstream(struct session *s, struct bufferevent *bev)
{
	enum config_tls up = s->cfg->upstream.tls;

	conn_init(&s->upstream, s, CONN_UPSTREAM, bev,
	    up == CONFIG_TLS_STARTTLS ? &starttls_upstream_cbs : &relay_cbs,
	    session_element_limit(s));
	s->client.peer = &s->upstream;
	s->upstream.peer = &s->client;
	s->upstream.ready = up == CONFIG_TLS_NONE;
}

/*
 * Each leg's parser and phase from its TLS mode: the proxy's own STARTTLS
 * parsers first where it answers or asks for STARTTLS itself, a direct-TLS
 * client's handshake first, and relayed output held until a leg with TLS
 * has it up.
 */
static void
session_init_legs(struct session *s, struct bufferevent *client,
    struct bufferevent *upstream)
{
	enum config_tls up = s->cfg->upstream.tls;

	bool local = s->client_tls == CONFIG_TLS_STARTTLS &&
	    s->client_tls_required;

	s->client_pre_tls = s->client_tls == CONFIG_TLS_STARTTLS && !local;
	conn_init(&s->client, s, CONN_CLIENT, client,
	    local ? &starttls_client_cbs : &relay_cbs,
	    session_element_limit(s));
	s->client.connected = true;
	s->client.phase = s->client_tls == CONFIG_TLS_DIRECT ? CONN_TLS_NEXT
							     : CONN_PLAIN;
	s->client.ready = s->client_tls == CONFIG_TLS_NONE ||
	    s->client_tls == CONFIG_TLS_PASSTHROUGH || s->client_pre_tls;
	session_init_upstream(s, upstream);
	snprintf(s->tls_client, sizeof(s->tls_client), "%s",
	    config_tls_str(s->client_tls));
	snprintf(s->tls_upstream, sizeof(s->tls_upstream), "%s",
	    config_tls_str(up));
}

struct session *
session_new(const struct session_env *env, struct config *cfg, const char *id,
    struct bufferevent *client, const struct session_peer *peer,
    const struct config_listen *listener, struct bufferevent *upstream)
{
	struct session *s = xcalloc(1, sizeof(*s));
	bool connect = upstream == NULL;

	snprintf(s->id, sizeof(s->id), "%s", id);
	s->env = *env;
	s->cfg = config_ref(cfg);
	session_peer_init(s, peer, listener);
	s->listener_addr = xstrdup(listener->address);
	s->client_tls = listener->tls;
	s->client_tls_required = listener->tls_required;
	nego_init(&s->nego);
	muc_init(&s->muc);
	s->sm = smack_new();
	filter_tally_init(&s->tally);
	event_base_gettimeofday_cached(env->base, &s->started);
	session_touch(s);
	if (upstream == NULL)
		upstream = bufferevent_socket_new(env->base, -1,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	session_init_legs(s, client, upstream);
	s->upstream.connected = !connect;
	s->timer = evtimer_new(env->base, session_timer_cb, s);
	s->reaper = event_new(env->base, -1, 0, session_reap_cb, s);
	/* Behind a load balancer, the header names the client: nothing is
	 * announced or connected before it (conn.c's first phase). */
	if (s->proxy_versions != 0) {
		s->client.phase = CONN_PROXY;
		s->state = SESSION_PROXY_HEADER;
	} else
		s->state = connect ? SESSION_CONNECTING : SESSION_NEGOTIATING;
	if (s->state != SESSION_PROXY_HEADER)
		session_emit_open(s);
	metrics_session_open(metrics_listener(listener->address));
	session_arm_state(s);
	conn_start(&s->client);
	conn_start(&s->upstream);
	if (peer->refused != NULL)
		session_refuse_destination(s, peer->refused);
	else if (s->state != SESSION_PROXY_HEADER &&
	         session_upstream_begin(s) == -1) {
		s->upstream.dead = true;
		session_stream_error(&s->client, "remote-connection-failed",
		    "the upstream server address cannot be used", NULL);
		session_close(s, SESSION_REASON_UPSTREAM_UNREACHABLE);
	}
	return s;
}

/* Refusals: write, then free once flushed (or after the write timeout). */
static void
session_refuse_done_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
session_refuse_event_cb(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}

void
session_refuse(struct bufferevent *client, const char *condition,
    const char *text)
{
	struct buf b;

	buf_init(&b);
	streamerr_header(&b, NULL);
	streamerr_error(&b, condition, text, NULL);
	bufferevent_write(client, b.data, b.len);
	buf_fini(&b);
	session_free_when_flushed(client);
}

/*
 * Hands a bufferevent over to be freed once its output is written (or the
 * linger time passed): the session is done with it.
 */
static void
session_free_when_flushed(struct bufferevent *bev)
{
	struct timeval tv = { SESSION_LINGER_S, 0 };

	bufferevent_setcb(bev, NULL, session_refuse_done_cb,
	    session_refuse_event_cb, NULL);
	bufferevent_set_timeouts(bev, NULL, &tv);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_disable(bev, EV_READ);
	bufferevent_enable(bev, EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

void
session_upstream_reconnect(struct session *s)
{
	struct conn *u = &s->upstream;
	struct bufferevent *old = u->bev;
	uint64_t bytes_in = u->bytes_in;

	log_info("session=%s client took optional STARTTLS: reconnecting to "
		 "the upstream for the stream after TLS", s->id);
	session_end_stream(u);
	conn_close_notify(u);
	u->bev = NULL;
	conn_fini(u);
	if (old != NULL)
		session_free_when_flushed(old);
	session_init_upstream(s,
	    bufferevent_socket_new(s->env.base, -1,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
	u->bytes_in = bytes_in;
	s->upstream_started = false;
	if (s->client.throttled) {
		s->client.throttled = false;
		bufferevent_enable(s->client.bev, EV_READ);
	}
	session_set_state(s, SESSION_CONNECTING);
	conn_start(u);
	if (session_connect(s) == -1) {
		u->dead = true;
		session_stream_error(&s->client, "remote-connection-failed",
		    "the upstream server address cannot be used", NULL);
		session_close(s, SESSION_REASON_UPSTREAM_UNREACHABLE);
	}
}
