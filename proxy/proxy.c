/* SPDX-License-Identifier: ISC */
/*
 * The daemon's context. Starts in order (listeners bound, resolver and
 * event files made, privileges dropped: privs.c), accepts connections into
 * sessions (or refuses them past max_sessions or a per-address limit;
 * transparent listeners: toward the original destination, if allowed),
 * keeps the live-session list for shutdown, and shuts down in order on
 * SIGTERM/SIGINT: stop accepting, send system-shutdown, wait for sessions
 * to flush (limits.shutdown_grace_s at most), free what is left, exit. It
 * maps the shared counters (metrics.h) before anything forks and runs the
 * metrics endpoint when the config asks for one; the endpoint stays up
 * during shutdown, so health checks see 503. SIGHUP and SIGUSR1 are handled in
 * proxy_reload.c; with workers, this process is their supervisor until it
 * forks, and each worker goes on from here as a proxy of its own
 * (workers.c).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "addr.h"
#include "events.h"
#include "filter.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "netmatch.h"
#include "privs.h"
#include "proxy_int.h"
#include "ratelimit.h"
#include "session.h"
#include "smack.h"
#include "streamerr.h"
#include "transparent.h"
#include "workers.h"
#include "xmalloc.h"

/* Client addresses the per-address limits remember (about 1 MiB). */
#define PROXY_RATELIMIT_SLOTS 16384

static void
proxy_session_closed(void *arg, struct session *s)
{
	struct proxy_slot *slot = arg;

	slot->proxy->nactive--;
	if (slot->rl_tracked)
		ratelimit_release(slot->proxy->rl, &slot->rl_key);
}

static void
proxy_session_freed(void *arg, struct session *s)
{
	struct proxy_slot *slot = arg;
	struct proxy *p = slot->proxy;

	TAILQ_REMOVE(&p->sessions, slot, entry);
	free(slot);
	p->nsessions--;
	if (p->stopping && p->nsessions == 0)
		event_base_loopexit(p->base, NULL);
}

/* A refused connection is still a session in the events: open, then close. */
static void
proxy_emit_refusal(struct proxy *p, const char *id, const char *client,
    const struct listener *l, const char *reason, const char *detail)
{
	cJSON *ev;

	if (!events_active(p->events))
		return;
	ev = events_begin("session.open", id);
	cJSON_AddStringToObject(ev, "client", client);
	cJSON_AddStringToObject(ev, "listener", listener_config(l)->address);
	if (p->cfg->upstream.address != NULL)
		cJSON_AddStringToObject(
		    ev, "upstream", p->cfg->upstream.address);
	else
		cJSON_AddNullToObject(ev, "upstream");
	events_emit(p->events, ev, NULL);
	ev = events_begin("session.close", id);
	cJSON_AddStringToObject(ev, "reason", reason);
	if (detail != NULL)
		cJSON_AddStringToObject(ev, "detail", detail);
	else
		cJSON_AddNullToObject(ev, "detail");
	cJSON_AddNumberToObject(ev, "duration_s", 0);
	cJSON_AddNullToObject(ev, "jid");
	events_emit(p->events, ev, NULL);
	events_flush_soon(p->events);
}

/*
 * Whether dst is one of the proxy's own listeners: a client sent there
 * through a transparent listener would come straight back, again and again.
 * A wildcard listener covers every address of the host on its port.
 */
static bool
proxy_own_listener(
    const struct proxy *p, const struct sockaddr *dst, socklen_t dstlen)
{
	const struct sockaddr_in *d4 = (const void *)dst, *l4;
	const struct sockaddr_in6 *d6 = (const void *)dst, *l6;
	const struct sockaddr *lsa;
	socklen_t llen;
	size_t i;

	for (i = 0; i < p->nlisteners; i++) {
		lsa = listener_sockaddr(p->listeners[i], &llen);
		if (lsa->sa_family != dst->sa_family)
			continue;
		if (transparent_same(lsa, dst))
			return true;
		l4 = (const void *)lsa;
		l6 = (const void *)lsa;
		if (dst->sa_family == AF_INET && l4->sin_port == d4->sin_port &&
		    l4->sin_addr.s_addr == htonl(INADDR_ANY) &&
		    transparent_is_local(dst, dstlen))
			return true;
		if (dst->sa_family == AF_INET6 &&
		    l6->sin6_port == d6->sin6_port &&
		    IN6_IS_ADDR_UNSPECIFIED(&l6->sin6_addr) &&
		    transparent_is_local(dst, dstlen))
			return true;
	}
	return false;
}

/*
 * A transparent listener's connection: where the client meant to go, and
 * whether the proxy may take it there. Sets peer->dst, and peer->refused
 * (pointing into why) when it may not.
 */
static void
proxy_transparent(struct proxy *p, const struct listener *l, evutil_socket_t fd,
    struct session_peer *peer, char *why, size_t whylen)
{
	const struct config_listen *lc = listener_config(l);
	struct sockaddr *dst = (struct sockaddr *)&peer->dst;
	const char *how, *errstr;
	char shown[INET6_ADDRSTRLEN + 8];

	if (transparent_original_dst(
	        fd, &peer->dst, &peer->dst_len, &how, &errstr) == -1) {
		peer->dst = peer->local;
		peer->dst_len = peer->local_len;
		snprintf(why, whylen,
		    "its original destination cannot be "
		    "read: %s",
		    errstr);
		peer->refused = why;
		return;
	}
	addr_format(dst, shown, sizeof(shown));
	log_debug("listener=%s original destination %s (%s)", lc->address,
	    shown, how);
	if (proxy_own_listener(p, dst, peer->dst_len)) {
		snprintf(why, whylen,
		    "it is xmppgate's own listener: a "
		    "redirection loop (the client connected to the proxy "
		    "itself, or the proxy's own connections are redirected)");
		peer->refused = why;
	} else if (lc->allow.n > 0 &&
	           !netmatch_any(lc->allow.v, lc->allow.n, dst)) {
		snprintf(why, whylen,
		    "it is not in the listener's "
		    "transparent_allow");
		peer->refused = why;
	}
}

/* A refused connection is a session in the metrics too: opened, closed. */
static void
proxy_count_refusal(const struct listener *l, enum session_reason reason)
{
	metrics_session_open(metrics_listener(listener_config(l)->address));
	metrics_session_close(reason);
}

/*
 * Refuses a connection at once, with nothing allocated for it: the stream
 * header and error in one non-blocking write (a fresh socket's buffer
 * takes them whole), the write side shut, what the client already sent
 * read and dropped (a close over unread bytes would send a reset that can
 * destroy the error), and the socket closed. Nothing lingers, so a flood
 * of refused connections holds neither memory nor descriptors.
 */
static void
proxy_refuse_now(evutil_socket_t fd, const char *condition, const char *text)
{
	char sink[4096];
	struct buf b;
	int i;

	buf_init(&b);
	streamerr_header(&b, NULL);
	streamerr_error(&b, condition, text, NULL);
	(void)send(fd, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	buf_fini(&b);
	(void)shutdown(fd, SHUT_WR);
	for (i = 0; i < 4 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0;
	     i++)
		;
	evutil_closesocket(fd);
}

static double
proxy_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The per-address limits (limits.connections_per_ip, sessions_per_ip) for
 * a new connection. Refused: events, at most one operator log line per
 * address and interval, policy-violation (the client broke a limit set for
 * it, RFC 6120 4.9.3.14; resource-constraint would blame the server), and
 * the socket is closed; returns true. Admitted: *rr says what to release.
 */
static bool
proxy_rate_refused(struct proxy *p, evutil_socket_t fd,
    const struct sockaddr *sa, const char *id, const char *client,
    const struct listener *l, struct ratelimit_result *rr)
{
	const struct ratelimit_params rp = {
	    .rate = p->cfg->limits.connections_per_ip,
	    .interval_s = p->cfg->limits.connections_interval_s,
	    .burst = p->cfg->limits.connections_burst,
	    .max_open = p->cfg->limits.sessions_per_ip,
	};
	uint64_t seed = 0;
	char key[64], detail[160];
	bool rate;

	memset(rr, 0, sizeof(*rr));
	if (p->rl == NULL) {
		if (!ratelimit_active(&rp))
			return false;
		if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
			seed = (uint64_t)getpid() ^ (uint64_t)time(NULL);
		p->rl = ratelimit_new(PROXY_RATELIMIT_SLOTS, seed);
	}
	ratelimit_set(p->rl, &rp);
	ratelimit_admit(p->rl, sa, proxy_now(), rr);
	if (rr->verdict == RATELIMIT_ADMIT)
		return false;
	rate = rr->verdict == RATELIMIT_RATE;
	ratelimit_key_str(&rr->key, key, sizeof(key));
	if (rate)
		snprintf(detail, sizeof(detail),
		    "over the rate of %u new connections per %u s (burst %u) "
		    "from %s",
		    rp.rate, rp.interval_s, rp.burst, key);
	else
		snprintf(detail, sizeof(detail),
		    "%u sessions already open from %s", rr->open, key);
	if (rr->log)
		log_warnx("session=%s refused client=%s reason=rate-limit "
		          "refused=%u detail=\"%s\" (one line per address "
		          "and %u s)",
		    id, client, rr->refused, detail, rp.interval_s);
	proxy_count_refusal(l, SESSION_REASON_RATE_LIMIT);
	proxy_emit_refusal(p, id, client, l,
	    session_reason_str(SESSION_REASON_RATE_LIMIT), detail);
	proxy_refuse_now(fd, "policy-violation",
	    rate ? "too many connections from your address; try again later"
	         : "too many sessions from your address");
	return true;
}

/* Past max_sessions or shutting down: a header and the error, flushed. */
static void
proxy_refuse_session(struct proxy *p, evutil_socket_t fd, const char *id,
    const char *client, const struct listener *l)
{
	const char *reason = p->stopping ? "shutdown" : "session-limit";
	struct bufferevent *bev;

	log_warnx("session=%s refused client=%s reason=%s", id, client, reason);
	proxy_count_refusal(l, p->stopping ? SESSION_REASON_SHUTDOWN
					   : SESSION_REASON_SESSION_LIMIT);
	proxy_emit_refusal(p, id, client, l, reason, NULL);
	bev = bufferevent_socket_new(
	    p->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	session_refuse(bev,
	    p->stopping ? "system-shutdown" : "resource-constraint",
	    p->stopping ? "xmppgate is shutting down" : "too many sessions");
}

static void
proxy_accept(void *arg, struct listener *l, evutil_socket_t fd,
    const struct sockaddr *sa, int salen)
{
	struct proxy *p = arg;
	struct bufferevent *bev;
	struct session_env env = { 0 };
	struct session_peer peer = { 0 };
	struct ratelimit_result rr;
	struct proxy_slot *slot;
	char client[INET6_ADDRSTRLEN + 8], id[32], why[256];
	int one = 1;

	addr_format(sa, client, sizeof(client));
	snprintf(id, sizeof(id), "%08x.%llu", p->run_id,
	    (unsigned long long)++p->next_id);
	if (p->stopping || p->nactive >= p->cfg->limits.max_sessions) {
		proxy_refuse_session(p, fd, id, client, l);
		return;
	}
	if (proxy_rate_refused(p, fd, sa, id, client, l, &rr))
		return;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((size_t)salen <= sizeof(peer.addr)) {
		memcpy(&peer.addr, sa, (size_t)salen);
		peer.addr_len = (socklen_t)salen;
	}
	peer.local_len = sizeof(peer.local);
	if (getsockname(fd, (struct sockaddr *)&peer.local, &peer.local_len) ==
	    -1)
		peer.local_len = 0;
	bev = bufferevent_socket_new(
	    p->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		evutil_closesocket(fd);
		if (rr.tracked)
			ratelimit_release(p->rl, &rr.key);
		return;
	}
	if (listener_config(l)->transparent)
		proxy_transparent(p, l, fd, &peer, why, sizeof(why));
	slot = xcalloc(1, sizeof(*slot));
	slot->proxy = p;
	slot->rl_key = rr.key;
	slot->rl_tracked = rr.tracked;
	TAILQ_INSERT_TAIL(&p->sessions, slot, entry);
	p->nsessions++;
	p->nactive++;
	env.base = p->base;
	env.dns = p->dns;
	env.events = &p->events;
	env.chain = &p->chain;
	env.smtab = p->smtab;
	env.on_close = proxy_session_closed;
	env.on_free = proxy_session_freed;
	env.arg = slot;
	slot->session =
	    session_new(&env, p->cfg, id, bev, &peer, listener_config(l), NULL);
}

/* The grace is over: what is still open goes, its session.close written
 * already (session_shutdown) or now. */
static void
proxy_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;
	struct proxy_slot *slot;

	log_warnx("shutdown: %zu sessions still flushing after %us, closing "
		  "them", p->nsessions, p->cfg->limits.shutdown_grace_s);
	while ((slot = TAILQ_FIRST(&p->sessions)) != NULL)
		session_free_now(slot->session);
	event_base_loopexit(p->base, NULL);
}

void
proxy_shutdown(struct proxy *p)
{
	struct proxy_slot *slot;
	struct timeval tv = { p->cfg->limits.shutdown_grace_s, 0 };
	size_t i;

	if (p->stopping)
		return;
	p->stopping = true;
	if (p->worker == 0)
		metrics_set_accepting(false);
	log_info("shutdown: stopping %zu listeners and %zu sessions",
	    p->nlisteners, p->nsessions);
	for (i = 0; i < p->nlisteners; i++)
		listener_free(p->listeners[i]);
	p->nlisteners = 0;
	p->accepting = false;
	if (p->workers != NULL) {
		workers_shutdown(p->workers);
		return;
	}
	TAILQ_FOREACH(slot, &p->sessions, entry)
		session_shutdown(slot->session);
	events_flush(p->events);
	if (p->nsessions == 0) {
		event_base_loopexit(p->base, NULL);
		return;
	}
	p->grace = evtimer_new(p->base, proxy_grace_cb, p);
	evtimer_add(p->grace, &tv);
}

static void
proxy_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct proxy *p = arg;

	/* A worker reloads when its supervisor says (workers.c); a SIGHUP
	 * sent to it alone reopens its files. */
	if (sig == SIGHUP && p->worker != 0)
		proxy_reopen(p);
	else if (sig == SIGHUP)
		proxy_reload(p);
	else if (sig == SIGUSR1)
		proxy_report(p);
	else
		proxy_shutdown(p);
}

struct evdns_base *
proxy_dns(struct event_base *base, int flags)
{
	struct evdns_base *dns = evdns_base_new(base, flags);

	if (dns == NULL)
		return NULL;
	if (evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL,
		"/etc/resolv.conf") != 0)
		log_debug("resolver: /etc/resolv.conf not usable; "
			  "hosts file and numeric addresses only");
	return dns;
}

int
proxy_listen(struct proxy *p, struct listener *l, char **err)
{
	return listener_start(l, p->base, proxy_accept, p, err);
}

/* The event sinks, opened as the user xmppgate runs as (privs_as_user). */
static int
proxy_open_events(void *arg, char **err)
{
	struct proxy *p = arg;

	p->events = events_new(p->cfg, p->trace, p->base, err);
	return p->events != NULL ? 0 : -1;
}

struct proxy *
proxy_new(struct config *cfg, const char *config_path, bool trace, char **err)
{
	struct proxy *p = xcalloc(1, sizeof(*p));
	struct listener *l;
	size_t i;

	TAILQ_INIT(&p->sessions);
	/* Mapped before any fork: every worker counts into the same block. */
	metrics_init();
	if (RAND_bytes((unsigned char *)&p->run_id, sizeof(p->run_id)) != 1)
		p->run_id = (uint32_t)getpid();
	p->base = event_base_new();
	if (p->base == NULL)
		fatalx("event_base_new failed");
	p->cfg = config_ref(cfg);
	p->chain = cfg->chain;
	p->smtab = smack_table_new();
	p->config_path = config_path ? xstrdup(config_path) : NULL;
	p->trace = trace;
	if (privs_check_root(cfg, err) == -1)
		goto fail;
	p->listeners = xcalloc(cfg->nlisten, sizeof(*p->listeners));
	for (i = 0; i < cfg->nlisten; i++) {
		if ((l = listener_new(&cfg->listen[i], err)) == NULL)
			goto fail;
		p->listeners[p->nlisteners++] = l;
		/* Listed with zero sessions from the first scrape on. */
		(void)metrics_listener(cfg->listen[i].address);
	}
	if (cfg->metrics.address != NULL) {
		p->metrics =
		    metrics_http_new(p->base, cfg->metrics.address, err);
		if (p->metrics == NULL)
			goto fail;
		p->metrics_address = xstrdup(cfg->metrics.address);
	}
	/* Each worker needs a resolver of its own, made now: after the
	 * chroot its files are out of reach. Shared state the workers must
	 * all see (the metrics mapping) is made before this: see
	 * workers_run(). */
	if (cfg->process.workers > 0)
		p->workers = workers_new(p, cfg->process.workers);
	else
		p->dns = proxy_dns(p->base, 0);
	if (privs_as_user(cfg, proxy_open_events, p, err) == -1 ||
	    privs_drop(cfg, err) == -1)
		goto fail;
	signal(SIGPIPE, SIG_IGN);
	p->sig_int = evsignal_new(p->base, SIGINT, proxy_signal_cb, p);
	p->sig_term = evsignal_new(p->base, SIGTERM, proxy_signal_cb, p);
	p->sig_hup = evsignal_new(p->base, SIGHUP, proxy_signal_cb, p);
	p->sig_usr1 = evsignal_new(p->base, SIGUSR1, proxy_signal_cb, p);
	evsignal_add(p->sig_int, NULL);
	evsignal_add(p->sig_term, NULL);
	evsignal_add(p->sig_hup, NULL);
	evsignal_add(p->sig_usr1, NULL);
	return p;
fail:
	proxy_free(p);
	return NULL;
}

void
proxy_set_reload(struct proxy *p, proxy_reload_fn fn)
{
	p->reload = fn;
}

int
proxy_run(struct proxy *p)
{
	char *err = NULL;
	size_t i;

	/* The supervisor returns once its workers are gone; a worker it
	 * forked returns at once, to run as a proxy of its own. */
	if (p->workers != NULL && workers_run(p->workers) == WORKERS_DONE) {
		log_info("xmppgate stopped");
		return 0;
	}
	for (i = 0; i < p->nlisteners; i++)
		if (proxy_listen(p, p->listeners[i], &err) == -1)
			fatalx("%s", err);
	p->accepting = true;
	metrics_set_accepting(true);
	if (p->worker != 0)
		log_info("worker=%u pid=%ld running session_ids=%08x.N",
		    p->worker, (long)getpid(), p->run_id);
	else
		log_info("xmppgate %s running upstream=%s", PACKAGE_VERSION,
		    p->cfg->upstream.address ? p->cfg->upstream.address
		                             : "(transparent only)");
	event_base_dispatch(p->base);
	log_info("%s stopped", p->worker != 0 ? "worker" : "xmppgate");
	return 0;
}

void
proxy_free(struct proxy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nlisteners; i++)
		listener_free(p->listeners[i]);
	free(p->listeners);
	if (p->worker == 0)
		metrics_set_accepting(false);
	metrics_http_free(p->metrics);
	free(p->metrics_address);
	if (p->sig_int != NULL) {
		event_free(p->sig_int);
		event_free(p->sig_term);
		event_free(p->sig_hup);
		event_free(p->sig_usr1);
	}
	if (p->grace != NULL)
		event_free(p->grace);
	if (p->nsessions > 0)
		log_warnx("exiting with %zu sessions unflushed", p->nsessions);
	workers_free(p->workers);
	workers_chan_free(p->chan);
	events_free(p->events);
	if (p->dns != NULL)
		evdns_base_free(p->dns, 0);
	config_unref(p->cfg);
	smack_table_free(p->smtab);
	ratelimit_free(p->rl);
	free(p->config_path);
	if (p->base != NULL)
		event_base_free(p->base);
	free(p);
}
