/* SPDX-License-Identifier: ISC */
/*
 * xg-relay: the benchmark's baseline, a plain TCP relay. It listens on one
 * address, connects every accepted client to one upstream address and copies
 * bytes both ways through libevent bufferevents, with the same kind of
 * backpressure xmppgate uses (stop reading a side while the other side's
 * output holds more than a bound). It does no parsing, no logging and no
 * timeouts: it is the cost of "a userspace relay on libevent" and nothing
 * more, so the benchmark can tell that cost apart from xmppgate's own.
 * Standalone on purpose: it links libevent only, not libxmppgate.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

/* Bytes a side may hold for its peer before we stop reading the peer. */
#define RELAY_HIGH_DEFAULT (256 * 1024)

struct relay;

/* One direction's end: the bufferevent plus a pointer to the other end. */
struct rside {
	struct bufferevent *bev; /* owned */
	struct rside *peer;      /* borrowed: the other side of the pair */
	struct relay *relay;     /* borrowed: the pair */
	int closing;             /* peer gone; free once our output drains */
};

struct relay {
	struct rside client;
	struct rside upstream;
};

static struct event_base *base;
static struct sockaddr_storage upstream_ss;
static int upstream_sslen;
static size_t high_water = RELAY_HIGH_DEFAULT;

static void relay_free(struct relay *);

static void
set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	/* A relay that adds Nagle delays would not be a fair baseline. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Moves what a side has read to its peer; throttles it if the peer is full. */
static void
rside_read_cb(struct bufferevent *bev, void *arg)
{
	struct rside *s = arg;
	struct evbuffer *out = bufferevent_get_output(s->peer->bev);

	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	if (evbuffer_get_length(out) >= high_water)
		bufferevent_disable(bev, EV_READ);
}

/* The peer drained below the low mark: read again, or finish closing. */
static void
rside_write_cb(struct bufferevent *bev, void *arg)
{
	struct rside *s = arg;

	if (s->closing) {
		relay_free(s->relay);
		return;
	}
	if (!s->peer->closing)
		bufferevent_enable(s->peer->bev, EV_READ);
}

/*
 * EOF or error on one side: flush what is queued for the other side, then
 * free the pair. May free the relay.
 */
static void
rside_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rside *s = arg;
	struct rside *p = s->peer;

	if (what & BEV_EVENT_CONNECTED) {
		set_nodelay(bufferevent_getfd(bev));
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* Hand over whatever the dying side still had unread. */
	evbuffer_add_buffer(bufferevent_get_output(p->bev),
	                    bufferevent_get_input(bev));
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	if (p->closing ||
	    evbuffer_get_length(bufferevent_get_output(p->bev)) == 0) {
		relay_free(s->relay);
		return;
	}
	/* The peer's write callback (low mark 0) frees the pair once drained.
	 */
	s->closing = 1;
	p->closing = 1;
	bufferevent_disable(p->bev, EV_READ);
	bufferevent_setwatermark(p->bev, EV_WRITE, 0, 0);
}

static void
relay_free(struct relay *r)
{
	bufferevent_free(r->client.bev);
	bufferevent_free(r->upstream.bev);
	free(r);
}

static void
rside_init(struct rside *s, struct relay *r, struct rside *peer,
           struct bufferevent *bev)
{
	s->bev = bev;
	s->peer = peer;
	s->relay = r;
	s->closing = 0;
	bufferevent_setcb(bev, rside_read_cb, rside_write_cb, rside_event_cb,
	                  s);
	/* Unthrottle the peer once we are down to half the bound. */
	bufferevent_setwatermark(bev, EV_WRITE, high_water / 2, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	struct relay *r;
	struct bufferevent *cb, *ub;

	set_nodelay(fd);
	cb = bufferevent_socket_new(base, fd, opts);
	ub = bufferevent_socket_new(base, -1, opts);
	if (cb == NULL || ub == NULL) {
		fprintf(stderr, "xg-relay: bufferevent_socket_new failed\n");
		if (cb != NULL)
			bufferevent_free(cb);
		else
			evutil_closesocket(fd);
		if (ub != NULL)
			bufferevent_free(ub);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fprintf(stderr, "xg-relay: out of memory\n");
		exit(1);
	}
	rside_init(&r->client, r, &r->upstream, cb);
	rside_init(&r->upstream, r, &r->client, ub);
	/* A failed connect reports through the event callback. */
	(void)bufferevent_socket_connect(ub, (struct sockaddr *)&upstream_ss,
	                                 upstream_sslen);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: keep running, the benchmark will notice. */
	fprintf(stderr, "xg-relay: accept: %s\n",
	        evutil_socket_error_to_string(err));
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(base, NULL);
}

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: xg-relay -l ADDR:PORT -u ADDR:PORT "
	                "[-b HIGH_WATER_BYTES]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage lss;
	int lsslen = sizeof(lss);
	const char *listen_addr = NULL, *upstream_addr = NULL;
	struct evconnlistener *lev;
	struct event *sigint, *sigterm;
	int ch;

	while ((ch = getopt(argc, argv, "l:u:b:h")) != -1) {
		switch (ch) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'u':
			upstream_addr = optarg;
			break;
		case 'b':
			high_water = strtoul(optarg, NULL, 10);
			if (high_water < 2)
				usage();
			break;
		default:
			usage();
		}
	}
	if (listen_addr == NULL || upstream_addr == NULL || optind != argc)
		usage();
	upstream_sslen = sizeof(upstream_ss);
	if (evutil_parse_sockaddr_port(listen_addr, (struct sockaddr *)&lss,
	                               &lsslen) != 0 ||
	    evutil_parse_sockaddr_port(upstream_addr,
	                               (struct sockaddr *)&upstream_ss,
	                               &upstream_sslen) != 0) {
		fprintf(stderr, "xg-relay: bad address\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "xg-relay: event_base_new failed\n");
		return 1;
	}
	lev = evconnlistener_new_bind(
	    base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    4096, (struct sockaddr *)&lss, lsslen);
	if (lev == NULL) {
		fprintf(stderr, "xg-relay: listen %s: %s\n", listen_addr,
		        strerror(errno));
		return 1;
	}
	evconnlistener_set_error_cb(lev, accept_error_cb);
	sigint = evsignal_new(base, SIGINT, signal_cb, NULL);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, NULL);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	event_base_dispatch(base);
	evconnlistener_free(lev);
	event_free(sigint);
	event_free(sigterm);
	event_base_free(base);
	return 0;
}
