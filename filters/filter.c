/* SPDX-License-Identifier: ISC */
/*
 * The chain: built from the config's filters in order, run over each
 * stanza of a direction. The first terminal verdict (drop, bounce, close)
 * ends the run; a rewrite is applied at once, so the filters after it see
 * the rewritten stanza; log and dry-run matches are recorded and the run
 * goes on. Also the counters: per filter in the chain (SIGUSR1, carried
 * across reloads by name) and per session (filter_tally).
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "filter.h"
#include "filter_int.h"
#include "log.h"
#include "metrics.h"
#include "stanza.h"
#include "xmalloc.h"

struct filter_chain {
	struct filter *v; /* owned array, config order */
	size_t n;
	unsigned dirs; /* union of the filters' directions */
	char **attrs;  /* owned, NULL-terminated: extra attributes */
	bool dry_run;  /* the config's global dry_run */
};

const char *
filter_verdict_str(enum filter_verdict v)
{
	switch (v) {
	case FILTER_PASS:
		return "pass";
	case FILTER_REWRITE:
		return "rewrite";
	case FILTER_DROP:
		return "drop";
	case FILTER_BOUNCE:
		return "bounce";
	case FILTER_CLOSE:
		return "close";
	}
	return "unknown";
}

const char *
filter_name(const struct filter *f)
{
	return f->name;
}

/* Adds the rule's extra attribute names to the chain's set, once each. */
static void
filter_chain_add_attrs(struct filter_chain *c, char *const *names)
{
	size_t n = 0, i, j;

	if (names == NULL)
		return;
	while (c->attrs != NULL && c->attrs[n] != NULL)
		n++;
	for (i = 0; names[i] != NULL; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(c->attrs[j], names[i]) == 0)
				break;
		if (j < n)
			continue;
		c->attrs = xreallocarray(c->attrs, n + 2, sizeof(*c->attrs));
		c->attrs[n++] = xstrdup(names[i]);
		c->attrs[n] = NULL;
	}
}

struct filter_chain *
filter_chain_new(const struct config *cfg, char **err)
{
	struct filter_chain *c = xcalloc(1, sizeof(*c));
	const struct config_filter *cf;
	struct filter *f;
	char *why = NULL;
	int rc;

	c->dry_run = cfg->dry_run;
	c->v = xcalloc(cfg->nfilters ? cfg->nfilters : 1, sizeof(*c->v));
	for (c->n = 0; c->n < cfg->nfilters; c->n++) {
		cf = &cfg->filters[c->n];
		f = &c->v[c->n];
		f->name = xstrdup(cf->name ? cf->name : "?");
		f->metrics_slot = -1;
		f->dirs = cf->dirs;
		f->dry_run = cf->dry_run;
		rc = cf->type == CONFIG_FILTER_REGEX
		         ? filter_regex_init(f, cf, cfg, &why)
		         : filter_plugin_init(f, cf, &why);
		if (rc == -1) {
			if (err != NULL)
				*err = xasprintf("filters[%zu]%s: %s", c->n,
				    cf->type == CONFIG_FILTER_PLUGIN ? ".path"
				                                     : "",
				    why);
			free(why);
			c->n++; /* free this one too */
			filter_chain_free(c);
			return NULL;
		}
		c->dirs |= f->dirs;
		if (cf->type == CONFIG_FILTER_REGEX)
			filter_chain_add_attrs(c, cf->match.attributes);
	}
	return c;
}

void
filter_chain_free(struct filter_chain *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		if (c->v[i].ops != NULL)
			c->v[i].ops->free(c->v[i].impl);
		free(c->v[i].name);
	}
	free(c->v);
	if (c->attrs != NULL)
		for (i = 0; c->attrs[i] != NULL; i++)
			free(c->attrs[i]);
	free(c->attrs);
	free(c);
}

bool
filter_chain_wants(const struct filter_chain *c, unsigned dir)
{
	return c != NULL && (c->dirs & dir) != 0;
}

const char *const *
filter_chain_attrs(const struct filter_chain *c)
{
	return c != NULL ? (const char *const *)c->attrs : NULL;
}

size_t
filter_chain_size(const struct filter_chain *c)
{
	return c != NULL ? c->n : 0;
}

static bool
filter_terminal(enum filter_verdict v)
{
	return v == FILTER_DROP || v == FILTER_BOUNCE || v == FILTER_CLOSE;
}

void
filter_chain_run(struct filter_chain *c, struct stanza *st,
    const struct filter_ctx *ctx, struct filter_result *res)
{
	struct filter_hit hit;
	enum filter_verdict v;
	const char *reason;
	struct filter *f;
	bool dry;
	size_t i;

	memset(res, 0, sizeof(*res));
	res->verdict = FILTER_PASS;
	for (i = 0; c != NULL && i < c->n; i++) {
		f = &c->v[i];
		if (!(f->dirs & ctx->dir) || f->ops->run == NULL)
			continue;
		dry = c->dry_run || f->dry_run;
		memset(&hit, 0, sizeof(hit));
		reason = NULL;
		v = FILTER_PASS;
		if (!f->ops->run(f, st, ctx, dry, &hit, &v, &reason))
			continue;
		hit.filter = f;
		hit.dry_run = dry;
		f->matches++;
		if (f->metrics_slot < 0)
			f->metrics_slot = metrics_rule(f->name);
		metrics_verdict(
		    f->metrics_slot, metrics_action_from_str(hit.action), dry);
		if (!dry && v != FILTER_PASS)
			f->actions++;
		if (res->nhits < FILTER_MAX_HITS)
			res->hits[res->nhits] = hit;
		res->nhits++;
		if (log_trace_on(LOG_TRACE_FILTER))
			log_trace(LOG_TRACE_FILTER,
			    "session=%s filter=%s "
			    "action=%s where=%s dry_run=%d",
			    ctx->session_id, f->name, hit.action,
			    hit.where ? hit.where : "-", dry);
		if (dry)
			continue;
		if (v == FILTER_REWRITE) {
			res->rewritten = true;
			res->verdict = FILTER_REWRITE;
		} else if (filter_terminal(v)) {
			res->verdict = v;
			res->by = f;
			res->reason = reason;
			return;
		}
	}
}

void
filter_chain_observe(struct filter_chain *c, const struct stanza *st,
    const struct filter_ctx *ctx, enum filter_verdict v)
{
	size_t i;

	for (i = 0; c != NULL && i < c->n; i++)
		if ((c->v[i].dirs & ctx->dir) && c->v[i].ops->observe != NULL)
			c->v[i].ops->observe(&c->v[i], st, ctx, v);
}

void
filter_chain_inherit(struct filter_chain *c, const struct filter_chain *old)
{
	size_t i, j;

	if (c == NULL || old == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		for (j = 0; j < old->n; j++) {
			if (strcmp(c->v[i].name, old->v[j].name) == 0) {
				c->v[i].matches = old->v[j].matches;
				c->v[i].actions = old->v[j].actions;
				break;
			}
		}
	}
}

void
filter_chain_log_counters(const struct filter_chain *c)
{
	size_t i;

	if (c == NULL || c->n == 0) {
		log_info("filters: none configured");
		return;
	}
	for (i = 0; i < c->n; i++)
		log_info("filter=%s matches=%llu actions=%llu%s", c->v[i].name,
		    (unsigned long long)c->v[i].matches,
		    (unsigned long long)c->v[i].actions,
		    c->dry_run || c->v[i].dry_run ? " dry_run=1" : "");
}

void
filter_tally_init(struct filter_tally *t)
{
	t->v = NULL;
	t->n = 0;
}

void
filter_tally_fini(struct filter_tally *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	filter_tally_init(t);
}

static struct filter_tally_entry *
filter_tally_get(struct filter_tally *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	t->v[t->n].name = xstrdup(name);
	t->v[t->n].matches = t->v[t->n].actions = 0;
	return &t->v[t->n++];
}

void
filter_tally_add(struct filter_tally *t, const struct filter_result *res)
{
	struct filter_tally_entry *e;
	const struct filter_hit *h;
	size_t i;

	for (i = 0; i < res->nhits && i < FILTER_MAX_HITS; i++) {
		h = &res->hits[i];
		e = filter_tally_get(t, h->filter->name);
		e->matches++;
		if (!h->dry_run && strcmp(h->action, "log") != 0 &&
		    strcmp(h->action, "pass") != 0)
			e->actions++;
	}
}

cJSON *
filter_tally_json(const struct filter_tally *t)
{
	cJSON *o = cJSON_CreateObject(), *r;
	size_t i;

	for (i = 0; i < t->n; i++) {
		r = cJSON_AddObjectToObject(o, t->v[i].name);
		cJSON_AddNumberToObject(r, "matches", (double)t->v[i].matches);
		cJSON_AddNumberToObject(r, "actions", (double)t->v[i].actions);
	}
	return o;
}
