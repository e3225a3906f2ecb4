/* SPDX-License-Identifier: ISC */
/*
 * The one top-level context: event base, resolver, current config, event
 * sinks, listeners and the set of live sessions; signals (SIGHUP reload,
 * SIGTERM/SIGINT orderly shutdown, SIGUSR1 report); with workers, their
 * supervisor.
 */
#ifndef XMPPGATE_PROXY_H
#define XMPPGATE_PROXY_H

#include <stdbool.h>

#include "config.h"

struct proxy;

/*
 * Builds the proxy around cfg (a reference is taken): binds every listener,
 * makes the resolver, opens the event sinks as cfg's user, then drops the
 * privileges for good (privs.c). Refuses to start as root without a user
 * or allow_root. config_path, when not NULL, is reloaded on SIGHUP;
 * overrides from the command line are re-applied by the caller's reload
 * hook.
 */
struct proxy *proxy_new(struct config *cfg, const char *config_path,
    bool trace, char **err);
/*
 * Accepts and runs until shutdown completes. Returns 0. With workers, the
 * supervisor returns once every worker has ended, and each worker it forks
 * returns from here too, when it is done: the caller frees and exits.
 */
int proxy_run(struct proxy *);
void proxy_free(struct proxy *);

/* Command-line overrides a reload must keep (-l, -u). */
typedef struct config *(*proxy_reload_fn)(const char *path, char **err);
void proxy_set_reload(struct proxy *, proxy_reload_fn);

#endif
