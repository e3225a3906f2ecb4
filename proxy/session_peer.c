/* SPDX-License-Identifier: ISC */
/*
 * Who a session is between: the client's address (the socket's peer, or
 * what a load balancer's PROXY header says), where the upstream leg goes
 * (upstream.address, or in transparent mode the client's original
 * destination), the session.open event that names them, and the upstream
 * connect with the PROXY header xmppgate sends first when configured.
 * The state machine and the close are in session.c; reading the header is
 * conn.c's first phase, parsing it proxyproto.c.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/dns.h>

#include "addr.h"
#include "log.h"
#include "metrics.h"
#include "session_int.h"
#include "streamerr.h"
#include "xmalloc.h"

static char *
session_addr_str(const struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN + 8];

	addr_format((const struct sockaddr *)ss, buf, sizeof(buf));
	return xstrdup(buf);
}

void
session_peer_init(struct session *s, const struct session_peer *peer,
    const struct config_listen *listener)
{
	s->client_sa = peer->addr;
	s->client_len = peer->addr_len;
	s->target_sa = peer->local;
	s->target_len = peer->local_len;
	s->client_addr = session_addr_str(&peer->addr);
	s->proxy_versions = listener->proxy_protocol;
	s->client_known = s->proxy_versions == 0;
	if (s->proxy_versions != 0)
		s->via_addr = xstrdup(s->client_addr);
	if (peer->dst_len > 0) {
		s->dst_sa = peer->dst;
		s->dst_len = peer->dst_len;
		/* What the upstream PROXY header names as the destination. */
		s->target_sa = peer->dst;
		s->target_len = peer->dst_len;
		s->upstream_addr = session_addr_str(&peer->dst);
	} else
		s->upstream_addr = xstrdup(
		    s->cfg->upstream.address ? s->cfg->upstream.address : "");
}

void
session_emit_open(struct session *s)
{
	cJSON *ev;
	/* A PROXY listener that got no valid header knows no client. */
	bool known = s->client_known;

	if (s->opened)
		return;
	s->opened = true;
	ev = events_begin("session.open", s->id);
	if (known)
		cJSON_AddStringToObject(ev, "client", s->client_addr);
	else
		cJSON_AddNullToObject(ev, "client");
	if (s->via_addr != NULL)
		cJSON_AddStringToObject(ev, "via", s->via_addr);
	cJSON_AddStringToObject(ev, "listener", s->listener_addr);
	cJSON_AddStringToObject(ev, "upstream", s->upstream_addr);
	events_emit(session_events(s), ev, NULL);
	log_info("session=%s open client=%s%s%s listener=%s upstream=%s", s->id,
	    known ? s->client_addr : "-", s->via_addr ? " via=" : "",
	    s->via_addr ? s->via_addr : "", s->listener_addr,
	    s->upstream_addr[0] ? s->upstream_addr : "-");
}

/* The PROXY header for the upstream, first in its output. */
static void
session_upstream_proxy_header(struct session *s)
{
	unsigned char hdr[PROXYPROTO_WRITE_MAX];
	size_t n;

	if (s->cfg->upstream.proxy_protocol == 0)
		return;
	n = proxyproto_write(s->cfg->upstream.proxy_protocol,
	    (const struct sockaddr *)&s->client_sa,
	    (const struct sockaddr *)&s->target_sa, hdr, sizeof(hdr));
	if (n == 0)
		fatalx("session=%s PROXY header does not fit", s->id);
	evbuffer_add(bufferevent_get_output(s->upstream.bev), hdr, n);
	log_debug("session=%s PROXY header v%d to upstream client=%s", s->id,
	    s->cfg->upstream.proxy_protocol, s->client_addr);
}

int
session_connect(struct session *s)
{
	char host[256];
	unsigned port;
	const char *errstr;

	if (s->dst_len == 0 && (s->cfg->upstream.address == NULL ||
	                           addr_split(s->cfg->upstream.address, host,
	                               sizeof(host), &port, &errstr) == -1))
		return -1;
	session_upstream_proxy_header(s);
	s->connect_started = metrics_now_ns();
	if (s->dst_len > 0)
		return bufferevent_socket_connect(s->upstream.bev,
		    (struct sockaddr *)&s->dst_sa, (int)s->dst_len);
	return bufferevent_socket_connect_hostname(
	    s->upstream.bev, s->env.dns, AF_UNSPEC, host, (int)port);
}

int
session_upstream_begin(struct session *s)
{
	if (!s->upstream.connected)
		return session_connect(s);
	/* A ready-made upstream (tests): it gets the header all the same. */
	session_upstream_proxy_header(s);
	return 0;
}

void
session_on_proxy_header(struct session *s, const struct proxyproto_hdr *h)
{
	if (h->family != AF_UNSPEC) {
		memcpy(&s->client_sa, &h->src, h->addrlen);
		s->client_len = h->addrlen;
		memcpy(&s->target_sa, &h->dst, h->addrlen);
		s->target_len = h->addrlen;
		free(s->client_addr);
		s->client_addr = session_addr_str(&h->src);
	}
	/* LOCAL and UNKNOWN headers: the connection's own endpoints stand. */
	s->client_known = true;
	log_debug("session=%s PROXY header v%d %s client=%s via=%s", s->id,
	    h->version,
	    h->local                 ? "local"
	    : h->family == AF_UNSPEC ? "unknown"
	                             : "proxy",
	    s->client_addr, s->via_addr);
	session_set_state(s,
	    s->upstream.connected ? SESSION_NEGOTIATING : SESSION_CONNECTING);
	session_emit_open(s);
	if (session_upstream_begin(s) == -1) {
		s->upstream.dead = true;
		session_stream_error(&s->client, "remote-connection-failed",
		    "the upstream server address cannot be used", NULL);
		session_close(s, SESSION_REASON_UPSTREAM_UNREACHABLE);
	}
}

void
session_proxy_failed(struct session *s, const char *why)
{
	if (s->state == SESSION_CLOSING)
		return;
	log_info(
	    "session=%s via=%s PROXY protocol: %s", s->id, s->via_addr, why);
	session_set_detail(s, "PROXY protocol: %s", why);
	session_close(s, SESSION_REASON_PROXY_PROTOCOL);
}

void
session_refuse_destination(struct session *s, const char *why)
{
	char text[320];

	log_warnx("session=%s client=%s destination %s refused: %s", s->id,
	    s->client_addr, s->upstream_addr, why);
	session_set_detail(s, "%s", why);
	snprintf(text, sizeof(text), "xmppgate may not connect to %s: %s",
	    s->upstream_addr, why);
	s->upstream.dead = true;
	session_stream_error(
	    &s->client, "remote-connection-failed", text, NULL);
	session_close(s, SESSION_REASON_DESTINATION_REFUSED);
}
