/* SPDX-License-Identifier: ISC */
/*
 * The one top-level context: event base, resolver, current config, event
 * sinks, listeners and the set of live sessions; signals (SIGHUP reload,
 * SIGTERM/SIGINT orderly shutdown).
 */
#ifndef XMPPGATE_PROXY_H
#define XMPPGATE_PROXY_H

#include <stdbool.h>

#include "config.h"

struct proxy;

/*
 * Builds the proxy around cfg (a reference is taken) and binds every
 * listener. config_path, when not NULL, is reloaded on SIGHUP; overrides
 * from the command line are re-applied by the caller's reload hook.
 */
struct proxy *proxy_new(struct config *cfg, const char *config_path,
    bool trace, char **err);
/* Runs until shutdown completes. Returns 0. */
int proxy_run(struct proxy *);
void proxy_free(struct proxy *);

/* Command-line overrides a reload must keep (-l, -u). */
typedef struct config *(*proxy_reload_fn)(const char *path, char **err);
void proxy_set_reload(struct proxy *, proxy_reload_fn);

#endif
