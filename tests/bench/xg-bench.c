/* SPDX-License-Identifier: ISC */
/*
 * xg-bench: load generator and sink for the xmppgate benchmark. `sink` plays
 * a minimal XMPP server (xg-bench-sink.c). `throughput`, `pingpong` and
 * `idle` play clients against a target: the sink itself, a plain relay in
 * front of it, or xmppgate in front of it. Every client logs in (stream
 * header, SASL PLAIN, restart, bind) before it measures anything, so the
 * proxy sees ordinary established sessions. Throughput is measured at the
 * sink and verified (exact byte count, checksum, stanza count); latency is
 * measured at the client. Each mode prints one `key=value` line on stdout and
 * exits non-zero on any failure or when its time bound is exceeded. With
 * -A CA (clients) and -C CERT -K KEY (sink) every connection uses direct TLS
 * (xg-bench-tls.c); `handshake` measures connection setups per second
 * (xg-bench-hs.c). It does not start or stop the processes it measures:
 * tests/bench/run.sh does.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "xg-bench.h"

#define PING_WARMUP 200        /* round trips not recorded */
#define HS_MAX_SETUPS 1000000 /* handshake: setups per run at most */
#define PING_FMT                                                               \
	"<message to='bench@localhost' type='chat' id='p%08" PRIu64 "'>"       \
	"<body>ping %08" PRIu64 " caf\xc3\xa9 &amp; &lt;tea&gt; \xe2\x86\x92 " \
	"are you there?</body></message>"

struct event_base *base;

enum cmode { M_THROUGHPUT, M_PINGPONG, M_IDLE };
enum cphase {
	C_FEAT1,
	C_SUCCESS,
	C_FEAT2,
	C_BIND,
	C_BOUND,
	C_SENDING,
	C_STATS,
	C_CLOSING,
	C_DONE,
};

/* One client session. */
struct cconn {
	struct bufferevent *bev; /* owned; NULL once done */
	int idx;
	enum cphase phase;
	size_t pos; /* next pool stanza to queue */
	uint64_t sent_bytes, sent_stanzas;
	struct xhash hash;
	/* What the sink reported for this session. */
	uint64_t r_bytes, r_stanzas, r_hash;
	int64_t r_t0, r_t1;
};

static struct {
	enum cmode mode;
	struct sockaddr_storage ss;
	int sslen;
	struct cconn *conns; /* owned array of n */
	int n;
	int nstarted, nbound, ndone;
	uint64_t limit; /* stanzas per conn, or round trips; 0: time only */
	double secs;
	int64_t t_stop; /* stop queueing stanzas / stop pinging */
	pid_t rss_pid;
	long rss_before;
	int64_t *lat; /* owned: recorded round trips, ns */
	size_t nlat;
	uint64_t seq;
	int64_t t_ping;
	char ping[512];
	size_t pinglen;
	int64_t t_begin;
} B;

static void cconn_start(int idx);

static const char *
cphase_str(enum cphase p)
{
	static const char *const s[] = {"features", "sasl",    "features2",
	                                "bind",     "bound",   "sending",
	                                "stats",    "closing", "done"};

	return s[p];
}

static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static uint64_t
attr_u64(const char *s, const char *name, int hex)
{
	const char *p = strstr(s, name);

	if (p == NULL)
		fail("stats reply lacks %s: %s", name, s);
	return strtoull(p + strlen(name), NULL, hex ? 16 : 10);
}

/* Queues pool stanzas until FILL_HIGH is waiting, or ends the flow. */
static void
cconn_fill(struct cconn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	while (c->phase == C_SENDING && evbuffer_get_length(out) < FILL_HIGH) {
		size_t first = c->pos, last = first, bytes = 0;

		if ((B.limit > 0 && c->sent_stanzas >= B.limit) ||
		    now_ns() >= B.t_stop) {
			evbuffer_add(out, STATS_IQ, sizeof(STATS_IQ) - 1);
			xhash_update(&c->hash, STATS_IQ, sizeof(STATS_IQ) - 1);
			c->phase = C_STATS;
			return;
		}
		while (last < POOL_STANZAS && bytes < CHUNK &&
		       (B.limit == 0 ||
		        c->sent_stanzas + (last - first) < B.limit)) {
			bytes += pool.off[last + 1] - pool.off[last];
			last++;
		}
		/* The pool outlives every connection: no copy needed. */
		evbuffer_add_reference(out, pool.buf + pool.off[first], bytes,
		                       NULL, NULL);
		xhash_update(&c->hash, pool.buf + pool.off[first], bytes);
		c->sent_bytes += bytes;
		c->sent_stanzas += last - first;
		c->pos = last == POOL_STANZAS ? 0 : last;
	}
}

static void
ping_send(struct cconn *c)
{
	int n;

	B.seq++;
	n = snprintf(B.ping, sizeof(B.ping), PING_FMT, B.seq, B.seq);
	B.pinglen = (size_t)n;
	B.t_ping = now_ns();
	bufferevent_write(c->bev, B.ping, B.pinglen);
}

/* Handles the echoed message; returns 0 when it needs more bytes. */
static int
ping_read(struct cconn *c, struct evbuffer *in)
{
	char echo[sizeof(B.ping)];
	int64_t t = now_ns();

	if (evbuffer_get_length(in) < B.pinglen)
		return 0;
	if (evbuffer_remove(in, echo, B.pinglen) != (int)B.pinglen ||
	    memcmp(echo, B.ping, B.pinglen) != 0)
		fail("pingpong: echo %" PRIu64 " differs from what was sent",
		     B.seq);
	if (B.seq > PING_WARMUP)
		B.lat[B.nlat++] = t - B.t_ping;
	if (B.nlat >= B.limit || t >= B.t_stop) {
		bufferevent_write(c->bev, STREAM_CLOSE, strlen(STREAM_CLOSE));
		c->phase = C_CLOSING;
	} else
		ping_send(c);
	return 1;
}

static void
idle_report_cb(evutil_socket_t fd, short what, void *arg)
{
	long after = B.rss_pid > 0 ? rss_kb(B.rss_pid) : -1;
	double secs = (double)(now_ns() - B.t_begin) / 1e9;

	printf("idle sessions=%d secs=%.2f", B.n, secs);
	if (B.rss_pid > 0)
		printf(" rss_before_kb=%ld rss_after_kb=%ld per_session_b=%.0f",
		       B.rss_before, after,
		       (double)(after - B.rss_before) * 1024.0 / B.n);
	printf("\n");
	fflush(stdout);
	for (int i = 0; i < B.n; i++) {
		bufferevent_write(B.conns[i].bev, STREAM_CLOSE,
		                  strlen(STREAM_CLOSE));
		B.conns[i].phase = C_CLOSING;
	}
}

/* A session finished its login: start the mode's work. */
static void
cconn_on_bound(struct cconn *c)
{
	B.nbound++;
	c->phase = C_BOUND;
	switch (B.mode) {
	case M_THROUGHPUT:
		if (B.nbound < B.n)
			return;
		B.t_stop = now_ns() + (int64_t)(B.secs * 1e9);
		for (int i = 0; i < B.n; i++) {
			B.conns[i].phase = C_SENDING;
			cconn_fill(&B.conns[i]);
		}
		break;
	case M_PINGPONG:
		B.t_stop = now_ns() + (int64_t)(B.secs * 1e9);
		c->phase = C_SENDING;
		ping_send(c);
		break;
	case M_IDLE:
		if (B.nstarted < B.n)
			cconn_start(B.nstarted);
		else if (B.nbound == B.n) {
			/* Let the proxy settle before reading its RSS. */
			struct timeval tv = {0, 300000};

			event_base_once(base, -1, EV_TIMEOUT, idle_report_cb,
			                NULL, &tv);
		}
		break;
	}
}

static void
cconn_done(struct cconn *c)
{
	bench_bev_close(c->bev);
	c->bev = NULL;
	c->phase = C_DONE;
	if (++B.ndone == B.n)
		event_base_loopexit(base, NULL);
}

static void
cconn_bind(struct cconn *c)
{
	char res[32];

	if (B.mode == M_PINGPONG)
		snprintf(res, sizeof(res), "echo");
	else
		snprintf(res, sizeof(res), "%s%d",
		         B.mode == M_IDLE ? "idle" : "flood", c->idx);
	evbuffer_add_printf(bufferevent_get_output(c->bev), BIND_FMT, res);
}

/* Read dispatcher: the login steps, then the mode's reads. */
static void
cconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct cconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char reply[1024];

	for (;;) {
		switch (c->phase) {
		case C_FEAT1:
		case C_FEAT2:
			if (!take_through(in, "<stream:features",
			                  "</stream:features>", NULL, 0))
				return;
			if (c->phase == C_FEAT1)
				bufferevent_write(bev, AUTH_PLAIN,
				                  strlen(AUTH_PLAIN));
			else
				cconn_bind(c);
			c->phase = c->phase == C_FEAT1 ? C_SUCCESS : C_BIND;
			break;
		case C_SUCCESS:
			if (!take_through(in, "<success", ">", NULL, 0))
				return;
			bufferevent_write(bev, CLIENT_HDR, strlen(CLIENT_HDR));
			c->phase = C_FEAT2;
			break;
		case C_BIND:
			if (!take_through(in, "<iq", "</iq>", NULL, 0))
				return;
			cconn_on_bound(c);
			break;
		case C_SENDING:
			if (B.mode != M_PINGPONG || !ping_read(c, in))
				return;
			break;
		case C_STATS:
			if (!take_through(in, "<iq", "</iq>", reply,
			                  sizeof(reply)))
				return;
			c->r_bytes = attr_u64(reply, "bytes='", 0);
			c->r_stanzas = attr_u64(reply, "stanzas='", 0);
			c->r_hash = attr_u64(reply, "hash='", 1);
			c->r_t0 = (int64_t)attr_u64(reply, "t0='", 0);
			c->r_t1 = (int64_t)attr_u64(reply, "t1='", 0);
			bufferevent_write(bev, STREAM_CLOSE,
			                  strlen(STREAM_CLOSE));
			c->phase = C_CLOSING;
			break;
		case C_CLOSING:
			if (!take_through(in, "</stream:stream", ">", NULL, 0))
				return;
			cconn_done(c);
			return;
		case C_BOUND:
		case C_DONE:
			return;
		}
	}
}

static void
cconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct cconn *c = arg;

	if (c->phase == C_SENDING && B.mode == M_THROUGHPUT)
		cconn_fill(c);
}

static void
cconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cconn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		set_nodelay(bufferevent_getfd(bev));
		return;
	}
	if (c->phase == C_CLOSING) {
		/* A close without the closing tag still ends the session. */
		cconn_done(c);
		return;
	}
	fail("session %d: %s during %s", c->idx, bench_bev_error(bev, what),
	     cphase_str(c->phase));
}

static void
cconn_start(int idx)
{
	struct cconn *c = &B.conns[idx];

	B.nstarted++;
	c->idx = idx;
	c->phase = C_FEAT1;
	/* Start each session at a different place in the pool. */
	c->pos = (size_t)idx * (POOL_STANZAS / 7) % POOL_STANZAS;
	xhash_init(&c->hash);
	c->bev = bench_bev_new();
	tune_bev(c->bev);
	bufferevent_setcb(c->bev, cconn_read_cb, cconn_write_cb, cconn_event_cb,
	                  c);
	bufferevent_setwatermark(c->bev, EV_WRITE, FILL_HIGH / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	bench_bev_connect(c->bev, (struct sockaddr *)&B.ss, B.sslen);
	bufferevent_write(c->bev, CLIENT_HDR, strlen(CLIENT_HDR));
}

/* Checks every session against the sink's account and prints the totals. */
static void
throughput_report(void)
{
	uint64_t bytes = 0, stanzas = 0;
	int64_t t0 = INT64_MAX, t1 = 0;
	double secs;

	for (int i = 0; i < B.n; i++) {
		struct cconn *c = &B.conns[i];
		uint64_t want = c->sent_bytes + sizeof(STATS_IQ) - 1;

		if (c->r_bytes != want || c->r_stanzas != c->sent_stanzas ||
		    c->r_hash != xhash_final(&c->hash))
			fail("session %d: sink saw %" PRIu64 " bytes, %" PRIu64
			     " stanzas, hash %" PRIx64 "; sent %" PRIu64
			     ", %" PRIu64 ", %" PRIx64,
			     i, c->r_bytes, c->r_stanzas, c->r_hash, want,
			     c->sent_stanzas, xhash_final(&c->hash));
		bytes += c->sent_bytes;
		stanzas += c->sent_stanzas;
		t0 = c->r_t0 < t0 ? c->r_t0 : t0;
		t1 = c->r_t1 > t1 ? c->r_t1 : t1;
	}
	secs = (double)(t1 - t0) / 1e9;
	if (stanzas == 0 || secs <= 0)
		fail("throughput: nothing measured");
	printf("throughput conns=%d bytes=%" PRIu64 " stanzas=%" PRIu64
	       " secs=%.3f mbps=%.2f sps=%.0f verified=yes\n",
	       B.n, bytes, stanzas, secs, (double)bytes / secs / 1e6,
	       (double)stanzas / secs);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
pingpong_report(void)
{
	double sum = 0;
	size_t n = B.nlat;

	if (n == 0)
		fail("pingpong: no round trip recorded");
	qsort(B.lat, n, sizeof(*B.lat), cmp_i64);
	for (size_t i = 0; i < n; i++)
		sum += (double)B.lat[i];
	/* Nearest rank: the smallest value with at least p% at or below. */
	printf("pingpong n=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f "
	       "max_us=%.1f\n",
	       n, (double)B.lat[(n * 50 + 99) / 100 - 1] / 1e3,
	       (double)B.lat[(n * 99 + 99) / 100 - 1] / 1e3, sum / n / 1e3,
	       (double)B.lat[n - 1] / 1e3);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	int phases[C_DONE + 1] = {0};

	for (int i = 0; i < B.nstarted; i++)
		phases[B.conns[i].phase]++;
	fprintf(stderr, "xg-bench: time bound exceeded; sessions by phase:");
	for (int p = 0; p <= C_DONE; p++)
		if (phases[p] > 0)
			fprintf(stderr, " %s=%d", cphase_str(p), phases[p]);
	fprintf(stderr, " not-started=%d\n", B.n - B.nstarted);
	exit(1);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(base);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Prints n distinct free loopback TCP ports (held open together). */
static int
cmd_ports(int n)
{
	int fds[16];

	if (n < 1 || n > 16)
		fail("ports: 1 to 16");
	for (int i = 0; i < n; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		socklen_t len = sizeof(sin);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) != 0)
			fail("ports: %s", strerror(errno));
		printf("%s%u", i ? " " : "", ntohs(sin.sin_port));
	}
	printf("\n");
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

/* Waits until the address accepts a TCP connection. */
static int
cmd_wait(double secs)
{
	int64_t end = now_ns() + (int64_t)(secs * 1e9);

	for (;;) {
		int fd = socket(B.ss.ss_family, SOCK_STREAM, 0);
		int ok = fd >= 0 &&
		         connect(fd, (struct sockaddr *)&B.ss, B.sslen) == 0;

		if (fd >= 0)
			close(fd);
		if (ok)
			return 0;
		if (now_ns() > end)
			fail("wait: nothing accepts connections");
		usleep(20000);
	}
}

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: xg-bench sink -l ADDR:PORT [-C CERT -K KEY]\n"
	    "       xg-bench throughput -c ADDR:PORT [-n CONNS] "
	    "[-s STANZAS_PER_CONN] [-t SECS] [-A CA]\n"
	    "       xg-bench pingpong -c ADDR:PORT [-s ROUND_TRIPS] "
	    "[-t SECS] [-A CA]\n"
	    "       xg-bench idle -c ADDR:PORT [-n SESSIONS] [-p PID] "
	    "[-t SECS] [-A CA]\n"
	    "       xg-bench handshake -c ADDR:PORT [-n CONNS] [-s SETUPS] "
	    "[-t SECS] [-A CA]\n"
	    "       xg-bench gen | ports N | wait -c ADDR:PORT [-t SECS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *cmd, *addr = NULL;
	const char *ca = NULL, *cert = NULL, *key = NULL;
	double cap = 0;
	int ch, have_n = 0;

	if (argc < 2)
		usage();
	cmd = argv[1];
	B.n = 4;
	B.secs = 5;
	while ((ch = getopt(argc - 1, argv + 1, "l:c:n:s:t:p:A:C:K:")) != -1) {
		switch (ch) {
		case 'l':
		case 'c':
			addr = optarg;
			break;
		case 'n':
			B.n = atoi(optarg);
			have_n = 1;
			break;
		case 's':
			B.limit = strtoull(optarg, NULL, 10);
			break;
		case 't':
			B.secs = atof(optarg);
			break;
		case 'p':
			B.rss_pid = (pid_t)atol(optarg);
			break;
		case 'A':
			ca = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		default:
			usage();
		}
	}
	if (strcmp(cmd, "ports") == 0)
		return cmd_ports(optind + 1 < argc ? atoi(argv[optind + 1])
		                                   : 1);
	if (strcmp(cmd, "gen") == 0) {
		pool_build();
		fwrite(pool.buf, 1, pool.len, stdout);
		return 0;
	}
	B.sslen = sizeof(B.ss);
	if (addr == NULL || evutil_parse_sockaddr_port(
	                        addr, (struct sockaddr *)&B.ss, &B.sslen) != 0)
		usage();
	if (strcmp(cmd, "wait") == 0)
		return cmd_wait(B.secs);
	if ((cert == NULL) != (key == NULL))
		usage();
	if (ca != NULL)
		btls_client_init(ca);
	if (cert != NULL)
		btls_sink_init(cert, key);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if ((base = event_base_new()) == NULL)
		fail("event_base_new failed");
	if (strcmp(cmd, "sink") == 0) {
		struct event *sigterm, *sigint;

		sigterm = evsignal_new(base, SIGTERM, stop_cb, NULL);
		sigint = evsignal_new(base, SIGINT, stop_cb, NULL);
		event_add(sigterm, NULL);
		event_add(sigint, NULL);
		sink_run((struct sockaddr *)&B.ss, B.sslen);
		event_free(sigterm);
		event_free(sigint);
		event_base_free(base);
		return 0;
	}
	if (strcmp(cmd, "throughput") == 0) {
		B.mode = M_THROUGHPUT;
		cap = B.secs + 60;
		pool_build();
	} else if (strcmp(cmd, "pingpong") == 0) {
		B.mode = M_PINGPONG;
		B.n = 1;
		if (B.limit == 0)
			B.limit = 20000;
		B.lat = xcalloc(B.limit, sizeof(*B.lat));
		cap = B.secs + 30;
	} else if (strcmp(cmd, "handshake") == 0) {
		/* Bounded in count too: the latencies are kept in memory. */
		if (B.limit == 0 || B.limit > HS_MAX_SETUPS)
			B.limit = HS_MAX_SETUPS;
		cap = B.secs + 30;
	} else if (strcmp(cmd, "idle") == 0) {
		B.mode = M_IDLE;
		B.n = have_n ? B.n : 5000;
		cap = B.secs;
		if (B.rss_pid > 0 && (B.rss_before = rss_kb(B.rss_pid)) < 0)
			fail("idle: cannot read VmRSS of pid %ld",
			     (long)B.rss_pid);
	} else
		usage();
	if (B.n < 1)
		usage();
	B.conns = xcalloc((size_t)B.n, sizeof(*B.conns));
	{
		struct timeval tv = {(time_t)cap,
		                     (suseconds_t)((cap - (time_t)cap) * 1e6)};

		event_base_once(base, -1, EV_TIMEOUT, deadline_cb, NULL, &tv);
	}
	if (strcmp(cmd, "handshake") == 0) {
		hs_run((struct sockaddr *)&B.ss, B.sslen, B.n, B.limit, B.secs);
		return 0;
	}
	B.t_begin = now_ns();
	/* Idle mode opens its thousands of sessions a few at a time. */
	for (int i = 0; i < B.n && (B.mode != M_IDLE || i < IDLE_INFLIGHT); i++)
		cconn_start(i);
	event_base_dispatch(base);
	if (B.mode == M_THROUGHPUT)
		throughput_report();
	else if (B.mode == M_PINGPONG)
		pingpong_report();
	return 0;
}
