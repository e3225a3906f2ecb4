/* SPDX-License-Identifier: ISC */
/*
 * The session harness: builds the config and the pairs, runs the loop with
 * a deadline and a 5 ms tick (so a pending timer or the test's own TLS
 * cannot stall it), pumps the test's TLS peers between loop turns, and
 * tears it all down. Only tap.h's diag() is used here, never ok(): the TAP
 * counter lives in each test program.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "events.h"
#include "session.h"
#include "xmalloc.h"

#include "../tap.h"
#include "sesstest.h"

static void
sesstest_freed_cb(void *arg, struct session *s)
{
	struct sesstest *t = arg;

	t->freed++;
}

static void
sesstest_tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static void __attribute__((noreturn))
sesstest_fail(const char *what, const char *err)
{
	fprintf(stderr, "%s: %s\n", what, err != NULL ? err : "failed");
	exit(99);
}

/* The config: the caller's keys, plus the event log and the caller's
 * other logs. */
static struct config *
sesstest_config(struct sesstest *t, const char *listen, const char *upstream,
    const char *more, const char *logs)
{
	struct config *cfg;
	struct buf json;
	char *err = NULL;

	buf_init(&json);
	buf_addf(&json,
	    "{\"listen\": [{\"address\": \"127.0.0.1:5222\"%s%s}],"
	    "\"upstream\": {\"address\": \"127.0.0.1:15222\"%s%s},%s%s"
	    "\"logs\": [{\"type\": \"json\", \"path\": \"%s\","
	    " \"redact\": true}%s%s]}",
	    listen[0] ? ", " : "", listen, upstream[0] ? ", " : "", upstream,
	    more, more[0] ? "," : "", t->events_path, logs[0] ? ", " : "",
	    logs);
	cfg = config_parse(json.data, &err);
	buf_fini(&json);
	if (cfg == NULL)
		sesstest_fail("config_parse", err);
	if (config_tls_load(cfg, &err) == -1)
		sesstest_fail("config_tls_load", err);
	if (config_filters_load(cfg, &err) == -1)
		sesstest_fail("config_filters_load", err);
	return cfg;
}

/* The client the harness's sessions come from: 127.0.0.1:4000 reaching
 * 127.0.0.1:5222. */
static const struct session_peer *
sesstest_peer(void)
{
	static struct session_peer peer;
	struct sockaddr_in *a = (struct sockaddr_in *)&peer.addr;
	struct sockaddr_in *l = (struct sockaddr_in *)&peer.local;

	memset(&peer, 0, sizeof(peer));
	a->sin_family = l->sin_family = AF_INET;
	a->sin_addr.s_addr = l->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(4000);
	l->sin_port = htons(5222);
	peer.addr_len = peer.local_len = sizeof(*a);
	return &peer;
}

static void __attribute__((format(printf, 6, 0)))
sesstest_vinit(struct sesstest *t, struct smack_table *smtab,
    const char *logs, const char *listen, const char *upstream,
    const char *more, va_list ap)
{
	struct bufferevent *cp[2], *sp[2];
	struct session_env env = { 0 };
	char *members, *err = NULL;
	int fd;

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	snprintf(
	    t->events_path, sizeof(t->events_path), "/tmp/sesstest-XXXXXX");
	if ((fd = mkstemp(t->events_path)) == -1)
		sesstest_fail("mkstemp", t->events_path);
	close(fd);
	members = xvasprintf(more, ap);
	t->cfg = sesstest_config(t, listen, upstream, members, logs);
	free(members);
	t->events = events_new(t->cfg, false, t->base, &err);
	if (t->events == NULL)
		sesstest_fail("events_new", err);
	bufferevent_pair_new(
	    t->base, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, cp);
	bufferevent_pair_new(
	    t->base, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, sp);
	t->client = cp[1];
	t->server = sp[1];
	t->up_inner = sp[0];
	t->c_inner = cp[0];
	bufferevent_enable(t->client, EV_READ | EV_WRITE);
	bufferevent_enable(t->server, EV_READ | EV_WRITE);
	env.base = t->base;
	env.dns = NULL;
	env.events = &t->events;
	env.smtab = smtab;
	env.on_close = NULL;
	env.on_free = sesstest_freed_cb;
	env.arg = t;
	t->s = session_new(&env, t->cfg, "t.1", cp[0], sesstest_peer(),
	    &t->cfg->listen[0], sp[0]);
}

void
sesstest_init(struct sesstest *t, const char *listen, const char *upstream,
    const char *more, ...)
{
	va_list ap;

	va_start(ap, more);
	sesstest_vinit(t, NULL, "", listen, upstream, more, ap);
	va_end(ap);
}

void
sesstest_init_sm(struct sesstest *t, struct smack_table *smtab,
    const char *listen, const char *upstream, const char *more, ...)
{
	va_list ap;

	va_start(ap, more);
	sesstest_vinit(t, smtab, "", listen, upstream, more, ap);
	va_end(ap);
}

void
sesstest_init_logs(struct sesstest *t, const char *logs, const char *listen,
    const char *upstream, const char *more, ...)
{
	va_list ap;

	va_start(ap, more);
	sesstest_vinit(t, NULL, logs, listen, upstream, more, ap);
	va_end(ap);
}

void
sesstest_hang_up(struct bufferevent **bevp)
{
	if (*bevp == NULL)
		return;
	bufferevent_flush(*bevp, EV_WRITE, BEV_FINISHED);
	bufferevent_free(*bevp);
	*bevp = NULL;
}

void
sesstest_fini(struct sesstest *t)
{
	sesstest_hang_up(&t->client);
	sesstest_hang_up(&t->server);
	if (!sesstest_run_until(t, sesstest_freed, 8))
		diag("session not freed at the end of the test");
	sesstest_settle(t);
	tlspeer_free(t->ctls);
	tlspeer_free(t->stls);
	events_free(t->events);
	config_unref(t->cfg);
	unlink(t->events_path);
	event_base_free(t->base);
}

static void
sesstest_pump(struct sesstest *t)
{
	if (t->ctls != NULL && t->client != NULL)
		tlspeer_pump(t->ctls, t->client);
	if (t->stls != NULL && t->server != NULL)
		tlspeer_pump(t->stls, t->server);
}

int
sesstest_run_until(
    struct sesstest *t, int (*pred)(struct sesstest *), double seconds)
{
	struct timeval tick = {0, 5000}, now, end, d;
	struct event *ev =
	    event_new(t->base, -1, EV_PERSIST, sesstest_tick_cb, NULL);

	gettimeofday(&now, NULL);
	d.tv_sec = (time_t)seconds;
	d.tv_usec = (suseconds_t)((seconds - (double)d.tv_sec) * 1e6);
	timeradd(&now, &d, &end);
	event_add(ev, &tick);
	sesstest_pump(t);
	while (!pred(t) && timercmp(&now, &end, <)) {
		event_base_loop(t->base, EVLOOP_ONCE);
		sesstest_pump(t);
		gettimeofday(&now, NULL);
	}
	event_free(ev);
	return pred(t);
}

static int
sesstest_never(struct sesstest *t)
{
	return 0;
}

void
sesstest_settle(struct sesstest *t)
{
	sesstest_run_until(t, sesstest_never, 0.1);
}

int
sesstest_freed(struct sesstest *t)
{
	return t->freed > 0;
}

static int
sesstest_tls_done(struct sesstest *t)
{
	return t->w_peer->up || t->w_peer->failed;
}

int
sesstest_wait_tls(struct sesstest *t, struct tlspeer *p)
{
	t->w_peer = p;
	sesstest_run_until(t, sesstest_tls_done, 5);
	return p->up;
}

static int
sesstest_found(struct sesstest *t)
{
	return evbuffer_search(t->w_buf, t->w_str, t->w_len, NULL).pos != -1;
}

int
sesstest_wait_bytes(
    struct sesstest *t, struct evbuffer *b, const char *s, size_t len)
{
	t->w_buf = b;
	t->w_str = s;
	t->w_len = len;
	return sesstest_run_until(t, sesstest_found, 5);
}

int
sesstest_wait_for(struct sesstest *t, struct evbuffer *b, const char *s)
{
	return sesstest_wait_bytes(t, b, s, strlen(s));
}

/* Whitespace no stanza here ends with, so the wait finds only the barrier. */
#define SESSTEST_BARRIER "\n\t \t\n"

char *
sesstest_through(
    struct sesstest *t, struct bufferevent *from, struct bufferevent *to)
{
	struct evbuffer *in = bufferevent_get_input(to);
	size_t n, m = strlen(SESSTEST_BARRIER);
	char *got;

	sesstest_send(from, SESSTEST_BARRIER);
	if (!sesstest_wait_for(t, in, SESSTEST_BARRIER))
		diag("the keepalive barrier did not come through");
	got = sesstest_take_buf(in, &n);
	if (n >= m && strcmp(got + n - m, SESSTEST_BARRIER) == 0)
		got[n - m] = '\0';
	return got;
}

struct evbuffer *
sesstest_c_in(struct sesstest *t)
{
	return bufferevent_get_input(t->client);
}

struct evbuffer *
sesstest_s_in(struct sesstest *t)
{
	return bufferevent_get_input(t->server);
}

char *
sesstest_take_buf(struct evbuffer *b, size_t *lenp)
{
	size_t n = evbuffer_get_length(b);
	char *s = xmalloc(n + 1);

	evbuffer_remove(b, s, n);
	s[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return s;
}

char *
sesstest_take(struct bufferevent *bev)
{
	return sesstest_take_buf(bufferevent_get_input(bev), NULL);
}

void
sesstest_send(struct bufferevent *bev, const char *s)
{
	bufferevent_write(bev, s, strlen(s));
}

int
sesstest_count(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s++;
	}
	return n;
}
