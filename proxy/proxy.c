/* SPDX-License-Identifier: ISC */
/*
 * The daemon's context. Starts in order (listeners bound, resolver and
 * event files made, privileges dropped: privs.c), accepts connections into
 * sessions (or refuses them past max_sessions), keeps the live-session list
 * for shutdown, and shuts down in order on SIGTERM/SIGINT: stop accepting,
 * send system-shutdown, wait for sessions to flush (limits.shutdown_grace_s
 * at most), free what is left, exit. SIGHUP and SIGUSR1 are handled in
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
#include "privs.h"
#include "proxy_int.h"
#include "session.h"
#include "smack.h"
#include "workers.h"
#include "xmalloc.h"

static void
proxy_session_closed(void *arg, struct session *s)
{
	struct proxy_slot *slot = arg;

	slot->proxy->nactive--;
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
    const struct listener *l, const char *reason)
{
	cJSON *ev;

	if (!events_active(p->events))
		return;
	ev = events_begin("session.open", id);
	cJSON_AddStringToObject(ev, "client", client);
	cJSON_AddStringToObject(ev, "listener", listener_config(l)->address);
	cJSON_AddStringToObject(ev, "upstream", p->cfg->upstream.address);
	events_emit(p->events, ev, NULL);
	ev = events_begin("session.close", id);
	cJSON_AddStringToObject(ev, "reason", reason);
	cJSON_AddNumberToObject(ev, "duration_s", 0);
	cJSON_AddNullToObject(ev, "jid");
	events_emit(p->events, ev, NULL);
	events_flush_soon(p->events);
}

static void
proxy_accept(void *arg, struct listener *l, evutil_socket_t fd,
    const struct sockaddr *sa, int salen)
{
	struct proxy *p = arg;
	struct bufferevent *bev;
	struct session_env env = { 0 };
	struct proxy_slot *slot;
	char client[INET6_ADDRSTRLEN + 8], id[32];
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	addr_format(sa, client, sizeof(client));
	bev = bufferevent_socket_new(p->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	snprintf(id, sizeof(id), "%08x.%llu", p->run_id,
	    (unsigned long long)++p->next_id);
	if (p->stopping || p->nactive >= p->cfg->limits.max_sessions) {
		log_warnx("session=%s refused client=%s reason=%s", id, client,
		    p->stopping ? "shutdown" : "session-limit");
		proxy_emit_refusal(p, id, client, l,
		    p->stopping ? "shutdown" : "session-limit");
		session_refuse(bev, p->stopping ? "system-shutdown"
						: "resource-constraint",
		    p->stopping ? "xmppgate is shutting down"
				: "too many sessions");
		return;
	}
	slot = xcalloc(1, sizeof(*slot));
	slot->proxy = p;
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
	slot->session = session_new(&env, p->cfg, id, bev, client,
	    listener_config(l), NULL);
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
	if (p->worker != 0)
		log_info("worker=%u pid=%ld running session_ids=%08x.N",
		    p->worker, (long)getpid(), p->run_id);
	else
		log_info("xmppgate %s running upstream=%s", PACKAGE_VERSION,
		    p->cfg->upstream.address);
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
	free(p->config_path);
	if (p->base != NULL)
		event_base_free(p->base);
	free(p);
}
