/* SPDX-License-Identifier: ISC */
/*
 * One leg's I/O: libevent callbacks (dispatchers only), the read loop that
 * takes each byte through the leg's phases (a load balancer's PROXY header,
 * plaintext XML, the TLS boundary, TLS, opaque passthrough) and feeds the
 * parser at exact restart and STARTTLS boundaries, writing (held, plain or
 * encrypted) with backpressure (conn_throttle/conn_unthrottle are the only
 * places that pause and resume reading while relaying), the lingering
 * half-close when a session ends, and end-of-connection reporting to the
 * session.
 */
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "session_int.h"

static void conn_read_cb(struct bufferevent *, void *);
static void conn_write_cb(struct bufferevent *, void *);
static void conn_event_cb(struct bufferevent *, short, void *);

void
conn_init(struct conn *c, struct session *s, enum conn_side side,
    struct bufferevent *bev, const struct xmlstream_cbs *cbs,
    size_t max_element_bytes)
{
	memset(c, 0, sizeof(*c));
	c->session = s;
	c->side = side;
	c->dir = side == CONN_CLIENT ? "c2s" : "s2c";
	c->phase = CONN_PLAIN; /* the session sets a client's first phase */
	c->bev = bev;
	c->max_bytes = max_element_bytes;
	c->xs = xmlstream_new(cbs, c, max_element_bytes);
	c->plain = evbuffer_new();
	c->held = evbuffer_new();
	if (c->plain == NULL || c->held == NULL)
		fatalx("conn: out of memory");
}

void
conn_set_parser(struct conn *c, const struct xmlstream_cbs *cbs)
{
	xmlstream_free(c->xs);
	c->xs = xmlstream_new(cbs, c, c->max_bytes);
	c->restart = false;
}

void
conn_set_max(struct conn *c, size_t max_element_bytes)
{
	c->max_bytes = max_element_bytes;
	xmlstream_set_max(c->xs, max_element_bytes);
}

void
conn_fini(struct conn *c)
{
	if (c->bev != NULL) {
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	xmlstream_free(c->xs);
	c->xs = NULL;
	tlsio_free(c->tls);
	c->tls = NULL;
	if (c->plain != NULL)
		evbuffer_free(c->plain);
	if (c->held != NULL)
		evbuffer_free(c->held);
	c->plain = c->held = NULL;
}

void
conn_start(struct conn *c)
{
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void
conn_drain_input(struct conn *c)
{
	if (c->bev == NULL || c->eof || c->dead)
		return;
	c->throttled = false;
	bufferevent_enable(c->bev, EV_READ);
}

bool
conn_linger(struct conn *c)
{
	evutil_socket_t fd;

	if (c->dead || c->bev == NULL)
		return true;
	/* Held bytes of a leg that never got ready will not go out. */
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return false;
	fd = bufferevent_getfd(c->bev);
	if (fd == -1) /* not a socket (a pair in tests): nothing to linger on */
		return true;
	if (!c->shut) {
		(void)shutdown(fd, SHUT_WR);
		c->shut = true;
	}
	return c->eof;
}

size_t
conn_pending(const struct conn *c)
{
	if (c->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(c->bev)) +
	    evbuffer_get_length(c->held);
}

/* Pauses reading on `reader` until `writer` (its peer) drains. */
static void
conn_throttle(struct conn *reader)
{
	struct conn *writer = reader->peer;

	reader->throttled = true;
	bufferevent_disable(reader->bev, EV_READ);
	bufferevent_setwatermark(writer->bev, EV_WRITE, CONN_LOW_WATER, 0);
	log_trace(LOG_TRACE_IO, "session=%s throttle=%s pending=%zu",
	    reader->session->id, reader->dir, conn_pending(writer));
}

static void
conn_unthrottle(struct conn *reader)
{
	struct conn *writer = reader->peer;

	reader->throttled = false;
	bufferevent_setwatermark(writer->bev, EV_WRITE, 0, 0);
	if (reader->session->state != SESSION_CLOSING && !reader->eof)
		bufferevent_enable(reader->bev, EV_READ);
	log_trace(LOG_TRACE_IO, "session=%s unthrottle=%s", reader->session->id,
	    reader->dir);
}

static void
conn_check_high_water(struct conn *c)
{
	if (conn_pending(c) > CONN_HIGH_WATER && !c->peer->throttled &&
	    c->peer->bev != NULL)
		conn_throttle(c->peer);
}

/* Out to the socket now: encrypted when the leg has TLS. */
static void
conn_emit(struct conn *c, const void *data, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->tls == NULL) {
		evbuffer_add(out, data, len);
		return;
	}
	if (tlsio_write(c->tls, data, len, out) == -1) {
		/* A memory BIO cannot refuse bytes: only a broken TLS state
		 * ends here, and nothing more can be sent on this leg. */
		log_warnx("session=%s dir=%s TLS write failed: %s",
		    c->session->id, c->dir, tlsio_error(c->tls));
		c->dead = true;
	}
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->dead || c->closed_out || c->bev == NULL || len == 0)
		return;
	if (!c->ready)
		evbuffer_add(c->held, data, len);
	else
		conn_emit(c, data, len);
	conn_check_high_water(c);
}

void
conn_write_local(struct conn *c, const void *data, size_t len)
{
	if (c->dead || c->closed_out || c->bev == NULL || len == 0)
		return;
	if (c->ready)
		conn_write(c, data, len);
	else if (c->tls == NULL)
		evbuffer_add(bufferevent_get_output(c->bev), data, len);
	else
		log_debug("session=%s dir=%s %zu bytes dropped: TLS handshake "
			  "not finished", c->session->id, c->dir, len);
}

void
conn_set_ready(struct conn *c)
{
	struct evbuffer_iovec v;

	c->ready = true;
	if (c->tls == NULL) {
		evbuffer_add_buffer(bufferevent_get_output(c->bev), c->held);
		return;
	}
	while (!c->dead && evbuffer_peek(c->held, -1, NULL, &v, 1) > 0 &&
	    v.iov_len > 0) {
		conn_emit(c, v.iov_base, v.iov_len);
		evbuffer_drain(c->held, v.iov_len);
	}
	evbuffer_drain(c->held, evbuffer_get_length(c->held));
}

int
conn_start_tls(struct conn *c, struct tlsio *tls, bool client_role)
{
	c->tls = tls;
	c->phase = CONN_TLS;
	if (client_role &&
	    tlsio_start(tls, bufferevent_get_output(c->bev)) == -1)
		return -1;
	return 0;
}

void
conn_close_notify(struct conn *c)
{
	if (c->tls != NULL && !c->dead && c->bev != NULL)
		tlsio_close_notify(c->tls, bufferevent_get_output(c->bev));
}

/* Counts n bytes read on the leg: the session's count and the daemon's. */
static void
conn_count(struct conn *c, size_t n)
{
	c->bytes_in += n;
	metrics_bytes(c->side == CONN_CLIENT ? METRICS_C2S : METRICS_S2C, n);
}

/* Passthrough: bytes past STARTTLS go to the peer as they are. */
static void
conn_relay_opaque(struct conn *c, struct evbuffer *in)
{
	struct conn *to = c->peer;
	size_t len = evbuffer_get_length(in);

	conn_count(c, len);
	if (to->dead || to->closed_out || to->bev == NULL) {
		evbuffer_drain(in, len);
		return;
	}
	evbuffer_add_buffer(bufferevent_get_output(to->bev), in);
	conn_check_high_water(to);
}

/*
 * Parses src while the leg stays in the phase it started in. A relay
 * callback that sees a restart point sets c->restart and stops the parser
 * right after that element: the rest goes to a fresh parser. One that sees
 * STARTTLS changes the phase: the rest is not XML and stays in src.
 */
static void
conn_parse(struct conn *c, struct evbuffer *src)
{
	struct session *s = c->session;
	enum conn_phase phase = c->phase;
	struct evbuffer_iovec v;
	size_t consumed;
	int rc;

	while (s->state != SESSION_CLOSING && c->phase == phase &&
	    evbuffer_peek(src, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		if (c->restart) {
			xmlstream_reset(c->xs);
			c->restart = false;
		}
		rc = xmlstream_feed(c->xs, v.iov_base, v.iov_len, &consumed);
		if (rc == -1)
			consumed = v.iov_len;
		conn_count(c, consumed);
		evbuffer_drain(src, consumed);
		if (rc == -1) {
			relay_parse_error(c);
			return;
		}
	}
}

/*
 * A client's TLS comes next: some clients send whitespace after
 * <starttls/>, which is skipped; the first other byte must open a TLS
 * handshake record. In passthrough the record goes to the server, and only
 * once it said <proceed/>: bytes a client sends before that wait unread, so
 * an injection behind <starttls/> cannot reach the server as plaintext.
 * Returns false while waiting or after a failure.
 */
static bool
conn_tls_next(struct conn *c, struct evbuffer *in)
{
	static const char ws[] = " \t\r\n";
	struct session *s = c->session;
	bool passthrough = s->client_tls == CONFIG_TLS_PASSTHROUGH;
	unsigned char b;

	if (passthrough && !s->passthrough_open) {
		bufferevent_disable(c->bev, EV_READ);
		return false;
	}

	while (evbuffer_copyout(in, &b, 1) == 1 && strchr(ws, b) != NULL) {
		evbuffer_drain(in, 1);
		conn_count(c, 1);
	}
	if (evbuffer_get_length(in) == 0)
		return false;
	if (b != 0x16) {
		session_tls_failed(c, "the client sent something other than "
		    "a TLS ClientHello");
		return false;
	}
	if (passthrough) {
		c->phase = CONN_OPAQUE;
		return true;
	}
	return session_tls_begin(c) == 0;
}

/*
 * A PROXY protocol header comes first on the client leg (before TLS on a
 * direct-TLS listener, before XML otherwise). Bytes past it stay in `in`
 * for the next phase. Returns false while waiting or after a failure.
 */
static bool
conn_proxy_header(struct conn *c, struct evbuffer *in)
{
	struct session *s = c->session;
	size_t len = evbuffer_get_length(in);
	struct proxyproto_hdr hdr;
	const char *errstr;
	unsigned char *p;

	/* The parser refuses anything longer than its bounds: it never needs
	 * more than PROXYPROTO_V2_MAX bytes to decide. */
	if (len > PROXYPROTO_V2_MAX)
		len = PROXYPROTO_V2_MAX;
	if (len == 0 || (p = evbuffer_pullup(in, (ev_ssize_t)len)) == NULL)
		return false;
	switch (proxyproto_parse(p, len, s->proxy_versions, &hdr, &errstr)) {
	case PROXYPROTO_MORE:
		return false;
	case PROXYPROTO_ERROR:
		session_proxy_failed(s, errstr);
		return false;
	case PROXYPROTO_DONE:
		break;
	}
	evbuffer_drain(in, hdr.len);
	c->phase =
	    s->client_tls == CONFIG_TLS_DIRECT ? CONN_TLS_NEXT : CONN_PLAIN;
	session_on_proxy_header(s, &hdr);
	return true;
}

/* Decrypts what was read; reports a finished handshake. -1: failed. */
static int
conn_tls_read(struct conn *c, struct evbuffer *in)
{
	int bits = tlsio_input(c->tls, in, c->plain,
	    bufferevent_get_output(c->bev));

	if (bits == -1) {
		session_tls_failed(c, tlsio_error(c->tls));
		return -1;
	}
	if (bits & TLSIO_ESTABLISHED)
		session_tls_up(c);
	return 0;
}

/* One step of the leg's phase; true when the phase changed and the rest of
 * the input belongs to the next one. */
static bool
conn_step(struct conn *c, struct evbuffer *in)
{
	enum conn_phase before = c->phase;

	switch (c->phase) {
	case CONN_PROXY:
		if (!conn_proxy_header(c, in))
			return false;
		break;
	case CONN_PLAIN:
		conn_parse(c, in);
		break;
	case CONN_TLS_NEXT:
		if (c->side == CONN_UPSTREAM || !conn_tls_next(c, in))
			return false;
		break;
	case CONN_TLS:
		if (conn_tls_read(c, in) == -1)
			return false;
		conn_parse(c, c->plain);
		break;
	case CONN_OPAQUE:
		conn_relay_opaque(c, in);
		break;
	}
	return c->phase != before;
}

/* Takes what was read through the leg's phases. May close the session. */
static void
conn_on_read(struct conn *c)
{
	struct session *s = c->session;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	session_touch(s);
	while (s->state != SESSION_CLOSING && conn_step(c, in))
		;
	if (s->state == SESSION_CLOSING) {
		evbuffer_drain(in, evbuffer_get_length(in));
		evbuffer_drain(c->plain, evbuffer_get_length(c->plain));
	}
	events_flush_soon(session_events(s));
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	conn_on_read(arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->session->state == SESSION_CLOSING) {
		session_on_drained(c->session);
		return;
	}
	if (c->peer->throttled && conn_pending(c) <= CONN_LOW_WATER)
		conn_unthrottle(c->peer);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		c->connected = true;
		session_on_connected(c->session);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* Parse what arrived before the end: nothing is lost. */
		if (c->session->state != SESSION_CLOSING && c->connected)
			conn_on_read(c);
		session_on_leg_end(c, (what & BEV_EVENT_ERROR) != 0);
	}
}
