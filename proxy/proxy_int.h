/* SPDX-License-Identifier: ISC */
/*
 * The proxy's fields and the functions its files share: proxy.c (start,
 * accept, sessions, shutdown, signals), proxy_reload.c (SIGHUP, SIGUSR1)
 * and workers.c (the supervisor and its workers). Nothing else includes it.
 */
#ifndef XMPPGATE_PROXY_INT_H
#define XMPPGATE_PROXY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/util.h>

#include "config.h"
#include "proxy.h"
#include "ratelimit.h"

struct evdns_base;
struct events;
struct filter_chain;
struct listener;
struct metrics_http;
struct session;
struct smack_table;
struct workers;
struct workers_chan;

struct proxy_slot {
	TAILQ_ENTRY(proxy_slot) entry;
	struct proxy *proxy;     /* borrowed */
	struct session *session; /* owned by itself: ends via session_close */
	struct ratelimit_key rl_key; /* the client's address, as counted */
	bool rl_tracked;             /* counted: released when it ends */
};

struct proxy {
	struct event_base *base; /* owned */
	struct evdns_base *dns;  /* owned, may be NULL (a supervisor) */
	struct config *cfg;      /* reference: the config new sessions get */
	/* borrowed from cfg: the chain every session's next stanza runs
	 * through, running sessions included */
	struct filter_chain *chain;
	struct smack_table *smtab; /* owned: parked stream management */
	/* owned: made when a per-address limit is first on; per process */
	struct ratelimit *rl;
	char *config_path;         /* owned or NULL */
	bool trace;
	/* owned; sessions see it through env. A supervisor's are never
	 * written to: each worker starts with a copy (fork) */
	struct events *events;
	struct listener **listeners; /* owned array */
	size_t nlisteners;
	/* owned or NULL: the metrics endpoint, served by a single process or
	 * the supervisor, never by a worker */
	struct metrics_http *metrics;
	char *metrics_address; /* owned or NULL: what it serves on */
	bool accepting; /* the listeners accept (not in a supervisor) */
	TAILQ_HEAD(, proxy_slot) sessions;
	size_t nsessions; /* allocated, including those lingering */
	size_t nactive;   /* not yet ended: what max_sessions caps */
	uint64_t next_id;
	uint32_t run_id; /* a worker's: the supervisor's plus its serial */
	bool stopping;
	struct event *sig_int, *sig_term, *sig_hup, *sig_usr1; /* owned */
	struct event *grace;                                   /* owned */
	proxy_reload_fn reload;
	/* With workers: the supervisor's table (NULL in a worker), or a
	 * worker's number (0: none) and its end of the supervisor's channel. */
	struct workers *workers; /* owned */
	unsigned worker;
	struct workers_chan *chan; /* owned */
};

/* proxy.c */
/* A resolver on base, reading the system's files now (before a chroot). */
struct evdns_base *proxy_dns(struct event_base *, int flags);
/* Stops accepting, sends system-shutdown to every session, exits once
 * they have flushed or limits.shutdown_grace_s passed. */
void proxy_shutdown(struct proxy *);
/* Starts accepting on l (the listeners of a single process or a
 * worker). Returns -1 with *err set. */
int proxy_listen(struct proxy *, struct listener *l, char **err);

/* proxy_reload.c */
/* SIGHUP in a single process or a supervisor: the config file read and
 * applied whole, listeners included, or the running one kept. */
void proxy_reload(struct proxy *);
/* In a worker: the supervisor reloaded, and fds (n, cfg's order; owned,
 * closed here) are its listeners. */
void proxy_reload_worker(struct proxy *, int *fds, size_t n);
/* Reopens every event and log file (SIGHUP without a config to read). */
void proxy_reopen(struct proxy *);
/* SIGUSR1: the sessions and the counters in the operator log. */
void proxy_report(struct proxy *);

#endif
