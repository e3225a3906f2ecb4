/* SPDX-License-Identifier: ISC */
/*
 * The filter chain: the ordered filters of the config, run over every stanza
 * of a direction. Each filter gives a verdict; the first terminal one (drop,
 * bounce, close) ends the chain, a rewrite changes the stanza for the
 * filters after it, and every rule that matched is named in the result.
 * Filter types live in their own files (filter_regex.c, filter_plugin.c)
 * behind struct filter_ops (filter_int.h). The chain decides; it does not
 * send anything: the relay applies the verdict (bounce.c builds errors).
 * Global per-rule counters live in the chain; per-session ones in a
 * filter_tally.
 */
#ifndef XMPPGATE_FILTER_H
#define XMPPGATE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct config;
struct stanza;

enum filter_verdict {
	FILTER_PASS,    /* forward the original bytes */
	FILTER_REWRITE, /* forward the re-serialized tree */
	FILTER_DROP,    /* forward nothing */
	FILTER_BOUNCE,  /* drop, and answer the sender with an error */
	FILTER_CLOSE,   /* end the stream with policy-violation */
};

const char *filter_verdict_str(enum filter_verdict);

/* Directions, as bits (the same values as CONFIG_DIR_*). */
#define FILTER_C2S 0x1
#define FILTER_S2C 0x2

/* What a chain run knows about the stanza's session; borrowed. */
struct filter_ctx {
	const char *session_id;
	const char *session_jid; /* full JID once bound, else NULL */
	unsigned dir;            /* FILTER_C2S or FILTER_S2C */
	const char *xml;         /* the element's original bytes */
	size_t len;
};

struct filter;

/* One filter that matched. */
struct filter_hit {
	const struct filter *filter; /* borrowed from the chain */
	const char *action; /* "log", "drop", ... or a plugin's verdict */
	bool dry_run;       /* recorded only, nothing done */
	bool limit;         /* a pattern hit its match limit */
	const char *where;  /* the place it matched ("body"), or NULL */
};

#define FILTER_MAX_HITS 16

struct filter_result {
	enum filter_verdict verdict;
	const struct filter *by; /* the filter that decided, or NULL */
	const char *reason;      /* borrowed: text for the bounce or close */
	bool rewritten;          /* the tree was changed */
	struct filter_hit hits[FILTER_MAX_HITS];
	size_t nhits; /* recorded; more matches than FILTER_MAX_HITS are
	               * counted but not listed */
};

struct filter_chain;

/*
 * Builds the chain of cfg->filters: compiles the patterns (with the
 * config's match limits), loads the plugins. NULL with *err ("filters[2].
 * path: ...") on failure. An empty chain is a valid chain.
 */
struct filter_chain *filter_chain_new(const struct config *cfg, char **err);
void filter_chain_free(struct filter_chain *); /* NULL is a no-op */
/* Whether any filter applies to this direction (the relay skips the
 * stanza view otherwise). */
bool filter_chain_wants(const struct filter_chain *, unsigned dir);
/* Extra attribute names the regex rules look at: for stanza_init(). */
const char *const *filter_chain_attrs(const struct filter_chain *);
/*
 * Runs the filters of ctx->dir over st, in order, and fills res. May edit
 * st's tree (rewrite). Never ends a session itself.
 */
void filter_chain_run(struct filter_chain *, struct stanza *st,
    const struct filter_ctx *, struct filter_result *res);
/* Shows the final verdict to the observing plugins. */
void filter_chain_observe(struct filter_chain *, const struct stanza *st,
    const struct filter_ctx *, enum filter_verdict);
/* Keeps the counters of same-named filters across a reload. */
void filter_chain_inherit(
    struct filter_chain *, const struct filter_chain *old);
/* Writes each filter's counters to the operator log (SIGUSR1). */
void filter_chain_log_counters(const struct filter_chain *);
size_t filter_chain_size(const struct filter_chain *);

const char *filter_name(const struct filter *);

/*
 * The pattern and replacement of a regex rule, checked for the config
 * loader: 0 when both are good; 1 with err set when the pattern is bad
 * ("missing closing parenthesis at offset 7"); 2 when the replacement is
 * (it names a group the pattern lacks, or a character XML forbids).
 */
int filter_regex_check(
    const char *pattern, const char *replace, char *err, size_t errlen);

/* Per-session counts by filter name, for the session.close event. */
struct filter_tally {
	struct filter_tally_entry {
		char *name; /* owned */
		uint64_t matches, actions;
	} * v; /* owned array */
	size_t n;
};

void filter_tally_init(struct filter_tally *);
void filter_tally_fini(struct filter_tally *);
/* Counts res's hits: a match each; an action unless dry run or log. */
void filter_tally_add(struct filter_tally *, const struct filter_result *);
/* {"name": {"matches": N, "actions": N}, ...}; an empty object if none. */
cJSON *filter_tally_json(const struct filter_tally *);

#endif
