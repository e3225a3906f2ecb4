/* SPDX-License-Identifier: ISC */
/*
 * The metrics endpoint on evhttp. evhttp parses requests, enforces the
 * header and body limits and the idle timeout; this file routes the three
 * paths and bounds the connections, which libevent 2.1's evhttp does not:
 * every connection's bufferevent is made here (evhttp_set_bevcb), so each
 * accepted connection is seen, counted and, once evhttp has built it,
 * given a close callback and a lifetime timer. At METRICS_HTTP_MAX_CONNS
 * the listener is disabled, so further clients wait in the kernel's listen
 * backlog instead of costing descriptors, and it is enabled again when one
 * closes. It reads the counters only through metrics_snapshot().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "addr.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "xmalloc.h"

#define METRICS_HTTP_BACKLOG 16

struct metrics_http;

/* One connection evhttp serves; its objects are evhttp's. */
struct metrics_http_conn {
	struct metrics_http *http;       /* borrowed: the owner */
	struct bufferevent *bev;         /* borrowed: evhttp frees it */
	struct evhttp_connection *evcon; /* borrowed; NULL until adopted */
	struct event *deadline;          /* owned: the lifetime */
	bool used;
};

struct metrics_http {
	struct event_base *base;    /* borrowed */
	struct evhttp *http;        /* owned */
	struct evconnlistener *evl; /* borrowed: the evhttp owns it */
	struct event *adopt;        /* owned: adopts new connections */
	struct metrics_http_conn conns[METRICS_HTTP_MAX_CONNS];
	unsigned nconns;
	bool paused;   /* the listener is disabled: at the bound */
	bool closing;  /* metrics_http_free() runs */
	char *address; /* owned */
};

static void
metrics_http_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		fatalx("metrics: out of memory");
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static void
metrics_http_text(
    struct evhttp_request *req, int code, const char *reason, const char *body)
{
	metrics_http_reply(
	    req, code, reason, "text/plain; charset=utf-8", body, strlen(body));
}

static void
metrics_http_metrics(struct evhttp_request *req)
{
	struct metrics_snapshot *snap = xmalloc(sizeof(*snap));
	struct buf b;

	buf_init(&b);
	metrics_snapshot(snap);
	metrics_format(snap, &b);
	metrics_http_reply(req, 200, "OK", METRICS_CONTENT_TYPE, b.data, b.len);
	buf_fini(&b);
	free(snap);
}

/* Routes one request; every answer closes the connection after it. */
static void
metrics_http_request_cb(struct evhttp_request *req, void *arg)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	bool metrics, health;

	evhttp_add_header(h, "Connection", "close");
	if (path == NULL)
		path = "";
	metrics = strcmp(path, "/metrics") == 0;
	health = strcmp(path, "/health") == 0 || strcmp(path, "/healthz") == 0;
	log_debug("metrics: %s %s",
	    cmd == EVHTTP_REQ_GET    ? "GET"
	    : cmd == EVHTTP_REQ_HEAD ? "HEAD"
	                             : "other",
	    path);
	if (!metrics && !health)
		metrics_http_text(req, 404, "Not Found", "not found\n");
	else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Allow", "GET, HEAD");
		metrics_http_text(
		    req, 405, "Method Not Allowed", "method not allowed\n");
	} else if (metrics)
		metrics_http_metrics(req);
	else if (metrics_accepting())
		metrics_http_text(req, 200, "OK", "ok\n");
	else
		metrics_http_text(
		    req, 503, "Service Unavailable", "shutting down\n");
}

/* evhttp closes a connection: its slot is free again. */
static void
metrics_http_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct metrics_http_conn *c = arg;
	struct metrics_http *m = c->http;

	evtimer_del(c->deadline);
	c->used = false;
	c->bev = NULL;
	c->evcon = NULL;
	m->nconns--;
	if (m->paused && !m->closing && m->nconns < METRICS_HTTP_MAX_CONNS) {
		m->paused = false;
		evconnlistener_enable(m->evl);
	}
}

/* A connection's lifetime is over: evhttp frees it (and calls closed_cb). */
static void
metrics_http_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http_conn *c = arg;

	log_debug(
	    "metrics: closing a connection after %ds", METRICS_HTTP_LIFETIME_S);
	evhttp_connection_free(c->evcon);
}

/*
 * Runs right after the accept that made new bufferevents, before any of
 * them can read: evhttp has wrapped each in a connection, whose address
 * is its callback argument. Gives each its close callback and lifetime.
 */
static void
metrics_http_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http *m = arg;
	struct timeval life = {METRICS_HTTP_LIFETIME_S, 0};
	struct metrics_http_conn *c;
	void *cbarg;
	size_t i;

	for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++) {
		c = &m->conns[i];
		if (!c->used || c->evcon != NULL)
			continue;
		cbarg = NULL;
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		if (cbarg == NULL)
			fatalx("metrics: evhttp left a connection unset");
		c->evcon = cbarg;
		evhttp_connection_set_closecb(
		    c->evcon, metrics_http_closed_cb, c);
		evtimer_add(c->deadline, &life);
	}
}

/*
 * evhttp accepted a connection and asks for its bufferevent: the one place
 * every connection passes. Counts it; pauses the listener at the bound.
 */
static struct bufferevent *
metrics_http_bev_cb(struct event_base *base, void *arg)
{
	struct metrics_http *m = arg;
	struct bufferevent *bev;
	size_t i;

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("metrics: out of memory");
	for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++)
		if (!m->conns[i].used)
			break;
	/* Past the bound only within one accept burst: served, uncounted. */
	if (i < METRICS_HTTP_MAX_CONNS) {
		m->conns[i].used = true;
		m->conns[i].bev = bev;
		m->conns[i].evcon = NULL;
		m->nconns++;
		event_active(m->adopt, EV_TIMEOUT, 0);
	}
	if (m->nconns >= METRICS_HTTP_MAX_CONNS && !m->paused) {
		m->paused = true;
		evconnlistener_disable(m->evl);
		log_debug("metrics: %d connections: not accepting more for now",
		    METRICS_HTTP_MAX_CONNS);
	}
	return bev;
}

static int
metrics_http_listen(struct metrics_http *m, char **err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *errstr;
	unsigned flags =
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;

	if (addr_parse_numeric(m->address, &ss, &sslen, &errstr) == -1) {
		*err = xasprintf("metrics.address: %s: %s", m->address, errstr);
		return -1;
	}
	if (ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	m->evl = evconnlistener_new_bind(m->base, NULL, NULL, flags,
	    METRICS_HTTP_BACKLOG, (struct sockaddr *)&ss, (int)sslen);
	if (m->evl == NULL) {
		*err = xasprintf("metrics.address: %s: cannot listen: %s",
		    m->address, strerror(errno));
		return -1;
	}
	if (evhttp_bind_listener(m->http, m->evl) == NULL)
		fatalx("metrics: out of memory");
	return 0;
}

struct metrics_http *
metrics_http_new(struct event_base *base, const char *address, char **err)
{
	struct metrics_http *m = xcalloc(1, sizeof(*m));
	struct timeval idle = {METRICS_HTTP_IDLE_S, 0};
	size_t i;

	m->base = base;
	m->address = xstrdup(address);
	if ((m->http = evhttp_new(base)) == NULL)
		fatalx("metrics: evhttp_new failed");
	m->adopt = event_new(base, -1, 0, metrics_http_adopt_cb, m);
	for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++) {
		m->conns[i].http = m;
		m->conns[i].deadline =
		    evtimer_new(base, metrics_http_deadline_cb, &m->conns[i]);
	}
	/* Every method reaches the callback, which answers 405 itself. */
	evhttp_set_allowed_methods(m->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	        EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(m->http, METRICS_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_HTTP_MAX_BODY);
	evhttp_set_timeout_tv(m->http, &idle);
	evhttp_set_default_content_type(m->http, "text/plain; charset=utf-8");
	evhttp_set_gencb(m->http, metrics_http_request_cb, m);
	evhttp_set_bevcb(m->http, metrics_http_bev_cb, m);
	if (metrics_http_listen(m, err) == -1) {
		metrics_http_free(m);
		return NULL;
	}
	log_info("metrics: serving http://%s/metrics and /health", address);
	return m;
}

void
metrics_http_free(struct metrics_http *m)
{
	size_t i;

	if (m == NULL)
		return;
	/* Frees the listener, then every connection: their close callbacks
	 * run now, while the slots still exist, and must not enable the
	 * listener again. */
	m->closing = true;
	evhttp_free(m->http);
	for (i = 0; i < METRICS_HTTP_MAX_CONNS; i++)
		event_free(m->conns[i].deadline);
	event_free(m->adopt);
	free(m->address);
	free(m);
}
