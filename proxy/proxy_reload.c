/* SPDX-License-Identifier: ISC */
/*
 * SIGHUP and SIGUSR1. A reload reads the config file and builds it whole
 * (certificates, filters, record directories checked), then the new event
 * sinks (which reopens every file: logrotate's move-then-SIGHUP works) and
 * the new set of listeners: an address already open keeps its socket, with
 * no gap in accepting, a new one is bound, a removed one closed. Any failure
 * leaves everything as it ran, with the reason in the operator log. Running
 * sessions keep the config they started with, but their next stanza goes
 * through the new filter chain. In a chroot the config is not read again
 * (its files are out of reach): only the files are reopened. With workers,
 * the supervisor does all this first and hands its listeners to each
 * worker, which reloads the same way on those sockets (workers.c).
 * SIGUSR1 writes the live sessions and the filters' counters to the
 * operator log.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "filter.h"
#include "listener.h"
#include "log.h"
#include "privs.h"
#include "ratelimit.h"
#include "proxy_int.h"
#include "session.h"
#include "workers.h"
#include "xmalloc.h"

/* Whether cfg asks for the metrics endpoint the proxy runs. */
static bool
proxy_same_metrics(const struct proxy *p, const struct config *cfg)
{
	if (p->metrics_address == NULL || cfg->metrics.address == NULL)
		return p->metrics_address == cfg->metrics.address;
	return strcmp(p->metrics_address, cfg->metrics.address) == 0;
}

/* The running listener on address, not taken yet, or -1. */
static ssize_t
proxy_find_listener(
    const struct proxy *p, const char *address, const bool *taken)
{
	size_t j;

	for (j = 0; j < p->nlisteners; j++)
		if (!taken[j] &&
		    listener_bound_to(listener_fd(p->listeners[j]), address))
			return (ssize_t)j;
	return -1;
}

/*
 * cfg's listeners: an address open already keeps its listener (taken[] of
 * the running ones), a new one is bound or, with fds (a worker), made from
 * fds[i], set to -1 once used. Started when the proxy accepts. Returns the
 * array, or NULL with *err set and nothing new left open.
 */
static struct listener **
proxy_listeners_for(struct proxy *p, const struct config *cfg, int *fds,
    bool *taken, char **err)
{
	struct listener **ls = xcalloc(cfg->nlisten + 1, sizeof(*ls));
	bool *fresh = xcalloc(cfg->nlisten + 1, sizeof(*fresh));
	ssize_t j;
	size_t i;

	for (i = 0; i < cfg->nlisten; i++) {
		j = proxy_find_listener(p, cfg->listen[i].address, taken);
		if (j != -1) {
			taken[j] = true;
			ls[i] = p->listeners[j];
			continue;
		}
		fresh[i] = true;
		if (fds != NULL) {
			ls[i] = listener_adopt(&cfg->listen[i], fds[i]);
			fds[i] = -1;
		} else if ((ls[i] = listener_new(&cfg->listen[i], err)) == NULL)
			goto fail;
		if (p->accepting && proxy_listen(p, ls[i], err) == -1)
			goto fail;
	}
	free(fresh);
	return ls;
fail:
	for (i = 0; i < cfg->nlisten; i++)
		if (fresh[i])
			listener_free(ls[i]);
	free(fresh);
	free(ls);
	return NULL;
}

/*
 * Swaps cfg in (its reference is taken over) with its sinks and listeners,
 * or leaves everything as it was and returns -1 with *err set.
 */
static int
proxy_reload_apply(struct proxy *p, struct config *cfg, int *fds, char **err)
{
	bool *taken = xcalloc(p->nlisteners + 1, sizeof(*taken));
	struct listener **ls;
	struct events *ev;
	const char *changed;
	size_t i, kept = 0;

	if ((ev = events_new(cfg, p->trace, p->base, err)) == NULL) {
		free(taken);
		config_unref(cfg);
		return -1;
	}
	if ((ls = proxy_listeners_for(p, cfg, fds, taken, err)) == NULL) {
		events_free(ev);
		free(taken);
		config_unref(cfg);
		return -1;
	}
	for (i = 0; i < p->nlisteners; i++) {
		if (taken[i])
			kept++;
		else
			listener_free(p->listeners[i]);
	}
	free(p->listeners);
	p->listeners = ls;
	p->nlisteners = cfg->nlisten;
	for (i = 0; i < p->nlisteners; i++)
		listener_set_config(ls[i], &cfg->listen[i]);
	events_free(p->events);
	p->events = ev;
	if (cfg->log.syslog != p->cfg->log.syslog ||
	    cfg->log.facility != p->cfg->log.facility)
		log_use_syslog(cfg->log.syslog, cfg->log.facility);
	if (p->worker == 0 && !proxy_same_metrics(p, cfg))
		log_warnx("reload: metrics.address changes at restart; still "
		          "serving %s",
		    p->metrics_address ? p->metrics_address : "nothing");
	if ((changed = privs_changed(p->cfg, cfg)) != NULL)
		log_warnx("reload: %s changes at restart only; the running "
		          "value stays",
		    changed);
	filter_chain_inherit(cfg->chain, p->chain);
	config_unref(p->cfg);
	p->cfg = cfg;
	p->chain = cfg->chain;
	free(taken);
	log_info("reload: config %s loaded, %zu filters, listeners: %zu kept, "
	         "%zu new",
	    p->config_path, filter_chain_size(p->chain), kept,
	    p->nlisteners - kept);
	return 0;
}

void
proxy_reopen(struct proxy *p)
{
	events_reopen(p->events);
	if (p->workers != NULL)
		workers_reopen(p->workers);
	log_info("reopen: event and log files reopened");
}

void
proxy_reload(struct proxy *p)
{
	struct config *cfg;
	char *err = NULL;

	if (p->stopping) {
		log_info("reload: shutting down, ignored");
		return;
	}
	if (p->config_path == NULL || p->reload == NULL) {
		log_info("reload: no config file");
		proxy_reopen(p);
		return;
	}
	if (p->cfg->process.chroot != NULL) {
		log_warnx("reload: running in chroot %s, where %s and the "
		          "files it names are out of reach: restart xmppgate "
		          "to change the config",
		    p->cfg->process.chroot, p->config_path);
		proxy_reopen(p);
		return;
	}
	if ((cfg = p->reload(p->config_path, &err)) == NULL ||
	    proxy_reload_apply(p, cfg, NULL, &err) == -1) {
		log_warnx("reload failed, keeping the running config: %s", err);
		free(err);
		return;
	}
	if (p->workers != NULL)
		workers_reload(p->workers);
}

void
proxy_reload_worker(struct proxy *p, int *fds, size_t n)
{
	struct config *cfg = NULL;
	char *err = NULL;
	size_t i;

	if (p->stopping || p->config_path == NULL || p->reload == NULL)
		goto done;
	if ((cfg = p->reload(p->config_path, &err)) == NULL)
		goto fail;
	for (i = 0; i < n && n == cfg->nlisten; i++)
		if (!listener_bound_to(fds[i], cfg->listen[i].address))
			break;
	if (n != cfg->nlisten || i < n) {
		err = xasprintf("the supervisor's listeners are not the ones "
		                "in %s (changed since?)",
		    p->config_path);
		config_unref(cfg);
		goto fail;
	}
	if (proxy_reload_apply(p, cfg, fds, &err) == 0)
		goto done;
fail:
	log_warnx("worker=%u reload failed, keeping the running config: %s",
	    p->worker, err);
	free(err);
done:
	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

void
proxy_report(struct proxy *p)
{
	struct proxy_slot *slot;

	if (p->workers != NULL) {
		workers_report(p->workers);
		return;
	}
	log_info("report: worker=%u pid=%ld sessions=%zu active=%zu "
	         "accepted=%llu listeners=%zu stopping=%d "
	         "rate_limit_addresses=%zu",
	    p->worker, (long)getpid(), p->nsessions, p->nactive,
	    (unsigned long long)p->next_id, p->nlisteners, p->stopping,
	    p->rl != NULL ? ratelimit_size(p->rl) : 0);
	TAILQ_FOREACH(slot, &p->sessions, entry)
	session_log_status(slot->session);
	filter_chain_log_counters(p->chain);
}
