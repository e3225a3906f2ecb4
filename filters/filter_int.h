/* SPDX-License-Identifier: ISC */
/*
 * What a filter type implements, shared by the chain (filter.c) and the
 * types (filter_regex.c, filter_plugin.c). Nothing outside filters/
 * includes it.
 */
#ifndef XMPPGATE_FILTER_INT_H
#define XMPPGATE_FILTER_INT_H

#include "config.h"
#include "filter.h"

struct filter_ops {
	/*
	 * Looks at st. Returns true when the filter matched (or, for a
	 * plugin, gave a verdict other than pass), with *verdict what it asks
	 * for, hit->action/where/limit filled and *reason the error text (or
	 * NULL). A rewrite edits st unless dry_run. NULL for observers only.
	 */
	bool (*run)(struct filter *, struct stanza *st,
	    const struct filter_ctx *, bool dry_run, struct filter_hit *hit,
	    enum filter_verdict *verdict, const char **reason);
	/* Sees the chain's final verdict; NULL when the type does not. */
	void (*observe)(struct filter *, const struct stanza *st,
	    const struct filter_ctx *, enum filter_verdict);
	void (*free)(void *impl);
};

struct filter {
	const struct filter_ops *ops;
	void *impl; /* owned: the type's state */
	char *name; /* owned */
	unsigned dirs;
	bool dry_run;
	uint64_t matches, actions; /* since start, across reloads */
	int metrics_slot; /* metrics_rule(name), -1 until the first match */
};

/* Fill f->ops and f->impl from the config entry; -1 with *err set
 * (xmalloc'd, without the JSON path: the chain adds it). */
int filter_regex_init(struct filter *, const struct config_filter *,
    const struct config *, char **err);
int filter_plugin_init(
    struct filter *, const struct config_filter *, char **err);

#endif
