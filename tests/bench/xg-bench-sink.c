/* SPDX-License-Identifier: ISC */
/*
 * The sink of xg-bench: a minimal XMPP "server" for the bench's own clients.
 * It answers the stream header and SASL PLAIN and bind with fixed replies,
 * then either counts (depth-1 elements, bytes, a checksum, first and last
 * arrival times, reported on request in an IQ result) or, on a session bound
 * to the resource "echo", sends every message back as it came. A client may
 * also close its stream right after the first features (the handshake mode).
 * With a certificate it speaks direct TLS (xg-bench-tls.c). It checks no
 * credentials and routes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>

#include "xg-bench.h"

enum sphase { S_HDR1, S_AUTH, S_HDR2, S_BIND, S_DATA, S_ECHO, S_END };

struct sconn {
	struct bufferevent *bev; /* owned */
	enum sphase phase;
	struct scan scan;
	struct xhash hash;
	uint64_t bytes; /* data bytes, from the first after bind */
	int64_t t0;     /* time of the first data read; 0 before */
};

static unsigned long sink_ids;

static unsigned tls_errors; /* reported on stderr, the first few only */

static void
sconn_free(struct sconn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

static void
sconn_header(struct sconn *c, const char *features)
{
	char id[32];

	snprintf(id, sizeof(id), "xg%lu", ++sink_ids);
	evbuffer_add_printf(bufferevent_get_output(c->bev), SERVER_HDR_FMT, id);
	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s", features);
}

/* Closes after what is queued has been written (write cb at low mark 0). */
static void
sconn_finish(struct sconn *c)
{
	evbuffer_add_printf(bufferevent_get_output(c->bev), STREAM_CLOSE);
	c->phase = S_END;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		sconn_free(c);
}

/* Counting phase. Returns 0, or -1 when it freed the conn. */
static int
sconn_data(struct sconn *c, struct evbuffer *in)
{
	struct evbuffer_iovec v[16];
	int64_t now = now_ns();
	enum scan_done done = SCAN_MORE;

	if (c->t0 == 0)
		c->t0 = now;
	while (evbuffer_get_length(in) > 0 && done == SCAN_MORE) {
		int nv = evbuffer_peek(in, -1, NULL, v, 16);
		size_t total = 0;

		for (int i = 0; i < nv && i < 16 && done == SCAN_MORE; i++) {
			size_t used = scan_feed(&c->scan, v[i].iov_base,
			                        v[i].iov_len, now, &done);

			xhash_update(&c->hash, v[i].iov_base, used);
			total += used;
		}
		c->bytes += total;
		evbuffer_drain(in, total);
	}
	if (done == SCAN_STATS)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		                    STATS_RESULT_FMT, c->bytes, c->scan.stanzas,
		                    xhash_final(&c->hash), c->t0,
		                    c->scan.t_last);
	else if (done == SCAN_CLOSE) {
		sconn_finish(c);
		return -1;
	}
	return 0;
}

/* Echo phase: every complete message goes back as it came. */
static int
sconn_echo(struct sconn *c, struct evbuffer *in)
{
	struct evbuffer_ptr e;

	for (;;) {
		e = evbuffer_search(in, "</message>", 10, NULL);
		if (e.pos >= 0) {
			evbuffer_remove_buffer(in,
			                       bufferevent_get_output(c->bev),
			                       (size_t)e.pos + 10);
			continue;
		}
		if (evbuffer_search(in, STREAM_CLOSE, 16, NULL).pos >= 0) {
			sconn_finish(c);
			return -1;
		}
		return 0;
	}
}

static void
sconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char bind[512];

	for (;;) {
		switch (c->phase) {
		case S_HDR1:
		case S_HDR2:
			if (!take_through(in, "<stream:stream", ">", NULL, 0))
				return;
			sconn_header(c, c->phase == S_HDR1 ? FEATURES_SASL
			                                   : FEATURES_BIND);
			c->phase = c->phase == S_HDR1 ? S_AUTH : S_BIND;
			break;
		case S_AUTH:
			if (!take_through(in, "<auth", "</auth>", NULL, 0)) {
				if (evbuffer_search(in, STREAM_CLOSE,
				                    strlen(STREAM_CLOSE), NULL)
				        .pos >= 0)
					sconn_finish(c);
				return;
			}
			evbuffer_add_printf(bufferevent_get_output(bev),
			                    SASL_SUCCESS);
			c->phase = S_HDR2;
			break;
		case S_BIND:
			if (!take_through(in, "<iq", "</iq>", bind,
			                  sizeof(bind)))
				return;
			evbuffer_add_printf(bufferevent_get_output(bev),
			                    BIND_RESULT_FMT, "xg");
			c->phase = strstr(bind, "<resource>echo</resource>")
			               ? S_ECHO
			               : S_DATA;
			break;
		case S_DATA:
			(void)sconn_data(c, in);
			return;
		case S_ECHO:
			(void)sconn_echo(c, in);
			return;
		case S_END:
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
	}
}

static void
sconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;

	if (c->phase == S_END) {
		bench_bev_close(c->bev);
		free(c);
	}
}

static void
sconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* A failed TLS handshake says why here, not only at the peer. */
	if ((what & BEV_EVENT_ERROR) && bufferevent_openssl_get_ssl(bev) &&
	    tls_errors++ < 5)
		fprintf(stderr, "xg-bench sink: %s\n",
		        bench_bev_error(bev, what));
	sconn_free(arg);
}

static void
sink_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
               struct sockaddr *sa, int salen, void *arg)
{
	struct sconn *c = xcalloc(1, sizeof(*c));

	c->bev = bench_bev_accept(fd);
	tune_bev(c->bev);
	xhash_init(&c->hash);
	bufferevent_setcb(c->bev, sconn_read_cb, sconn_write_cb, sconn_event_cb,
	                  c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
sink_error_cb(struct evconnlistener *l, void *arg)
{
	fprintf(stderr, "xg-bench sink: accept: %s\n",
	        evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* Serves until SIGINT or SIGTERM ends the loop. */
void
sink_run(const struct sockaddr *sa, int socklen)
{
	struct evconnlistener *lev;

	lev = evconnlistener_new_bind(
	    base, sink_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    4096, sa, socklen);
	if (lev == NULL)
		fail("sink: listen: %s", strerror(errno));
	evconnlistener_set_error_cb(lev, sink_error_cb);
	event_base_dispatch(base);
	evconnlistener_free(lev);
}
