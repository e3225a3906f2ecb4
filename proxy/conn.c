/* SPDX-License-Identifier: ISC */
/*
 * One leg's I/O: libevent callbacks (dispatchers only), the read loop that
 * feeds the parser at exact restart boundaries, writing with backpressure
 * (conn_throttle/conn_unthrottle are the only places that pause and resume
 * reading while relaying), the lingering half-close when a session ends, and
 * end-of-connection reporting to the session.
 */
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "conn.h"
#include "log.h"
#include "session_int.h"

static void conn_read_cb(struct bufferevent *, void *);
static void conn_write_cb(struct bufferevent *, void *);
static void conn_event_cb(struct bufferevent *, short, void *);

void
conn_init(struct conn *c, struct session *s, enum conn_side side,
    struct bufferevent *bev, size_t max_element_bytes)
{
	memset(c, 0, sizeof(*c));
	c->session = s;
	c->side = side;
	c->dir = side == CONN_CLIENT ? "c2s" : "s2c";
	c->bev = bev;
	c->xs = xmlstream_new(&relay_cbs, c, max_element_bytes);
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
	if (conn_pending(c) > 0)
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
	return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev))
		      : 0;
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

void
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->dead || c->closed_out || c->bev == NULL || len == 0)
		return;
	bufferevent_write(c->bev, data, len);
	if (conn_pending(c) > CONN_HIGH_WATER && !c->peer->throttled &&
	    c->peer->bev != NULL)
		conn_throttle(c->peer);
}

/*
 * Parses everything read so far. A relay callback that sees a restart point
 * sets c->restart and stops the parser right after that element: the rest of
 * the chunk goes to a fresh parser. Stops when the session starts closing.
 * May close the session.
 */
static void
conn_on_read(struct conn *c)
{
	struct session *s = c->session;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	size_t consumed;
	int rc;

	session_touch(s);
	while (s->state != SESSION_CLOSING && evbuffer_peek(in, -1, NULL, &v,
	    1) > 0 && v.iov_len > 0) {
		if (c->restart) {
			xmlstream_reset(c->xs);
			c->restart = false;
		}
		rc = xmlstream_feed(c->xs, v.iov_base, v.iov_len, &consumed);
		if (rc == -1)
			consumed = v.iov_len;
		c->bytes_in += consumed;
		evbuffer_drain(in, consumed);
		if (rc == -1) {
			relay_parse_error(c);
			break;
		}
	}
	if (s->state == SESSION_CLOSING)
		evbuffer_drain(in, evbuffer_get_length(in));
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
