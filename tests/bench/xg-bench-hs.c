/* SPDX-License-Identifier: ISC */
/*
 * The `handshake` mode of xg-bench: connection setups per second. Each of
 * `conns` slots loops: connect, TLS handshake (when a CA is given: direct
 * TLS, verified), send the stream header, read the server's header and
 * features, send the stream close, wait for the server's close or EOF, then
 * start again. It stops at the setup limit or the time bound, whichever
 * comes first, and prints the rate and the setup latency (connect to
 * features). It does not log in: what it measures is the cost of opening a
 * session, not of using one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xg-bench.h"

enum hphase { H_HDR, H_FEAT, H_CLOSING };

/* One slot: a connection setup in progress, or an idle slot (bev NULL). */
struct hconn {
	struct bufferevent *bev; /* owned; NULL when the slot is idle */
	enum hphase phase;
	int64_t t_start; /* connect */
};

static struct {
	const struct sockaddr *sa; /* borrowed */
	int salen;
	struct hconn *slots; /* owned array of n */
	int n, active;
	uint64_t limit, started, done;
	int64_t t_begin, t_stop, t_end;
	int64_t *lat; /* owned: setup latencies, ns */
	uint64_t nlat;
	char desc[160]; /* what the first setup's TLS negotiated */
} H;

static const char *const hphase_names[] = {"header", "features", "closing"};

static void hconn_start(struct hconn *);

/* A setup finished cleanly: count it and start the next one in the slot. */
static void
hconn_done(struct hconn *h)
{
	bench_bev_close(h->bev);
	h->bev = NULL;
	H.done++;
	H.t_end = now_ns();
	hconn_start(h);
}

static void
hconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct hconn *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		switch (h->phase) {
		case H_HDR:
			if (!take_through(in, "<stream:stream", ">", NULL, 0))
				return;
			h->phase = H_FEAT;
			break;
		case H_FEAT:
			if (!take_through(in, "<stream:features",
			        "</stream:features>", NULL, 0))
				return;
			H.lat[H.nlat++] = now_ns() - h->t_start;
			if (H.desc[0] == '\0' || btls_client_on())
				btls_describe(bev, H.desc, sizeof(H.desc));
			bufferevent_write(
			    bev, STREAM_CLOSE, strlen(STREAM_CLOSE));
			h->phase = H_CLOSING;
			break;
		case H_CLOSING:
			if (!take_through(in, "</stream:stream", ">", NULL, 0))
				return;
			hconn_done(h);
			return;
		}
	}
}

static void
hconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hconn *h = arg;
	char last[512];
	ev_ssize_t n;

	if (what & BEV_EVENT_CONNECTED)
		return;
	/* The server may end the stream by closing the connection. */
	if (h->phase == H_CLOSING && (what & BEV_EVENT_EOF)) {
		hconn_done(h);
		return;
	}
	/* What came last, such as a stream error, says why. */
	n = evbuffer_copyout(
	    bufferevent_get_input(bev), last, sizeof(last) - 1);
	last[n > 0 ? n : 0] = '\0';
	fail("handshake %" PRIu64 ": %s during %s%s%s", H.done,
	    bench_bev_error(bev, what), hphase_names[h->phase],
	    n > 0 ? "; unread: " : "", last);
}

/* Opens the slot's next connection, or retires the slot when it is time. */
static void
hconn_start(struct hconn *h)
{
	int64_t now = now_ns();

	if (H.started >= H.limit || now >= H.t_stop) {
		if (--H.active == 0)
			event_base_loopexit(base, NULL);
		return;
	}
	H.started++;
	h->phase = H_HDR;
	h->t_start = now;
	h->bev = bench_bev_new();
	bufferevent_setcb(h->bev, hconn_read_cb, NULL, hconn_event_cb, h);
	bufferevent_enable(h->bev, EV_READ | EV_WRITE);
	bench_bev_connect(h->bev, H.sa, H.salen);
	bufferevent_write(h->bev, CLIENT_HDR, strlen(CLIENT_HDR));
}

static int
cmp_lat(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Runs `conns` setup loops against sa until `limit` setups were started or
 * `secs` passed, then prints one key=value line. Exits on any failure.
 */
void
hs_run(const struct sockaddr *sa, int salen, int conns, uint64_t limit,
    double secs)
{
	double elapsed, sum = 0;
	uint64_t n;

	H.sa = sa;
	H.salen = salen;
	H.n = H.active = conns;
	H.limit = limit;
	H.lat = xcalloc(limit, sizeof(*H.lat));
	H.slots = xcalloc((size_t)conns, sizeof(*H.slots));
	H.t_begin = H.t_end = now_ns();
	H.t_stop = H.t_begin + (int64_t)(secs * 1e9);
	for (int i = 0; i < conns; i++)
		hconn_start(&H.slots[i]);
	event_base_dispatch(base);
	n = H.nlat;
	elapsed = (double)(H.t_end - H.t_begin) / 1e9;
	if (n == 0 || n != H.done || elapsed <= 0 || H.active != 0)
		fail("handshake: nothing measured");
	qsort(H.lat, n, sizeof(*H.lat), cmp_lat);
	for (uint64_t i = 0; i < n; i++)
		sum += (double)H.lat[i];
	/* Nearest rank, as for ping-pong. */
	printf("handshake conns=%d setups=%" PRIu64 " secs=%.3f per_s=%.1f "
	       "p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f %s verified=%s\n",
	    conns, n, elapsed, (double)n / elapsed,
	    (double)H.lat[(n * 50 + 99) / 100 - 1] / 1e6,
	    (double)H.lat[(n * 99 + 99) / 100 - 1] / 1e6, sum / (double)n / 1e6,
	    H.desc, btls_client_on() ? "yes" : "n/a");
	free(H.lat);
	free(H.slots);
}
