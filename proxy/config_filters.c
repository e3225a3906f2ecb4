/* SPDX-License-Identifier: ISC */
/*
 * What one element of the config's filters[] may say, and the rules across
 * its keys: the type, directions, action, conditions, replacement and
 * plugin keys of a filter. Patterns are compiled here once to be checked
 * (an error names the JSON path and the offset in the pattern); the chain
 * that runs them is built by config_filters_load(), after the whole file
 * was valid, because loading a plugin runs its code.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_keys.h"
#include "filter.h"
#include "jidpat.h"
#include "xmalloc.h"

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

void
config_filter_init(void *obj)
{
	struct config_filter *f = obj;

	memset(f, 0, sizeof(*f));
	f->type = CONFIG_FILTER_REGEX;
	f->dirs = CONFIG_DIR_C2S | CONFIG_DIR_S2C;
	f->action = CONFIG_ACTION_LOG;
}

void
config_filter_fini(struct config_filter *f)
{
	struct config_filter_match *m = &f->match;

	free(f->name);
	config_strings_free(m->stanza);
	config_strings_free(m->type);
	config_strings_free(m->from);
	config_strings_free(m->to);
	config_strings_free(m->session_jid);
	config_strings_free(m->has);
	config_strings_free(m->attributes);
	free(m->text);
	free(f->replace);
	free(f->reason);
	free(f->path);
	free(f->plugin_config);
}

struct name_value {
	const char *name;
	int value;
};

/* Maps item's string through table (n rows); an error lists the names. */
static int
apply_enum(struct config_ctx *ctx, const cJSON *item, int *dst,
    const struct name_value *table, size_t n)
{
	struct buf allowed;
	char shown[80];
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(item->valuestring, table[i].name) == 0) {
			*dst = table[i].value;
			return 0;
		}
	}
	buf_init(&allowed);
	for (i = 0; i < n; i++)
		buf_addf(&allowed, "%s'%s'", i ? ", " : "", table[i].name);
	config_error(ctx, "expected one of %s, got '%s'", allowed.data,
	    config_printable(item->valuestring, shown, sizeof(shown)));
	buf_fini(&allowed);
	return -1;
}

static int
apply_filter_type(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	static const struct name_value types[] = {
	    {"regex", CONFIG_FILTER_REGEX},
	    {"plugin", CONFIG_FILTER_PLUGIN},
	};
	int v;

	if (apply_enum(ctx, item, &v, types, NKEYS(types)) == -1)
		return -1;
	*(enum config_filter_type *)dst = (enum config_filter_type)v;
	return 0;
}

static int
apply_direction(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	static const struct name_value dirs[] = {
	    {"both", CONFIG_DIR_C2S | CONFIG_DIR_S2C},
	    {"c2s", CONFIG_DIR_C2S},
	    {"s2c", CONFIG_DIR_S2C},
	};
	int v;

	if (apply_enum(ctx, item, &v, dirs, NKEYS(dirs)) == -1)
		return -1;
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int
apply_action(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	static const struct name_value actions[] = {
	    {"log", CONFIG_ACTION_LOG},
	    {"rewrite", CONFIG_ACTION_REWRITE},
	    {"drop", CONFIG_ACTION_DROP},
	    {"bounce", CONFIG_ACTION_BOUNCE},
	    {"close", CONFIG_ACTION_CLOSE},
	};
	int v;

	if (apply_enum(ctx, item, &v, actions, NKEYS(actions)) == -1)
		return -1;
	*(enum config_action *)dst = (enum config_action)v;
	return 0;
}

/* Calls check(value, &errstr) on a string or each string of an array,
 * reporting each bad one under its own path. */
static int
validate_each(struct config_ctx *ctx, const cJSON *item,
    int (*check)(const char *, const char **))
{
	const cJSON *elem;
	const char *errstr;
	char shown[80];
	size_t i = 0, mark;
	int rc = 0;

	if (cJSON_IsString(item)) {
		if (check(item->valuestring, &errstr) == -1)
			return config_error(ctx, "'%s': %s",
			    config_printable(
			        item->valuestring, shown, sizeof(shown)),
			    errstr);
		return 0;
	}
	cJSON_ArrayForEach(elem, item)
	{
		mark = config_path_push_index(ctx, i++);
		if (check(elem->valuestring, &errstr) == -1)
			rc = config_error(ctx, "'%s': %s",
			    config_printable(
			        elem->valuestring, shown, sizeof(shown)),
			    errstr);
		config_path_pop(ctx, mark);
	}
	return rc;
}

static int
check_kind(const char *s, const char **errstr)
{
	if (strcmp(s, "message") == 0 || strcmp(s, "presence") == 0 ||
	    strcmp(s, "iq") == 0)
		return 0;
	*errstr = "expected 'message', 'presence' or 'iq'";
	return -1;
}

/* Every type RFC 6120/6121 defines for the three stanza kinds, with the
 * implied "normal" and "available": a typo must not silently never match. */
static int
check_type(const char *s, const char **errstr)
{
	static const char *const types[] = {"chat", "error", "groupchat",
	    "headline", "normal", "available", "unavailable", "probe",
	    "subscribe", "subscribed", "unsubscribe", "unsubscribed", "get",
	    "set", "result"};
	size_t i;

	for (i = 0; i < NKEYS(types); i++)
		if (strcmp(s, types[i]) == 0)
			return 0;
	*errstr = "not a stanza type of RFC 6120/6121";
	return -1;
}

/* "ns" or "{ns}name", as filter_has_parse() reads them. */
static int
check_has(const char *s, const char **errstr)
{
	const char *close;

	if (*s == '\0') {
		*errstr = "must not be empty";
		return -1;
	}
	if (*s != '{')
		return 0;
	if ((close = strchr(s, '}')) == NULL || close == s + 1 ||
	    close[1] == '\0') {
		*errstr = "expected a namespace, or {namespace}name";
		return -1;
	}
	return 0;
}

/* An XML attribute name without prefix: letters, digits, '-', '_', '.'. */
static int
check_attr_name(const char *s, const char **errstr)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
		    (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		                  s[i] == '.')))
			continue;
		*errstr =
		    "expected an attribute name (letters, digits, -, _, .)";
		return -1;
	}
	if (i == 0) {
		*errstr = "must not be empty";
		return -1;
	}
	return 0;
}

static int
validate_kinds(struct config_ctx *ctx, const cJSON *item)
{
	return validate_each(ctx, item, check_kind);
}

static int
validate_types(struct config_ctx *ctx, const cJSON *item)
{
	return validate_each(ctx, item, check_type);
}

static int
validate_jids(struct config_ctx *ctx, const cJSON *item)
{
	return validate_each(ctx, item, jidpat_check);
}

static int
validate_has(struct config_ctx *ctx, const cJSON *item)
{
	return validate_each(ctx, item, check_has);
}

static int
validate_attrs(struct config_ctx *ctx, const cJSON *item)
{
	return validate_each(ctx, item, check_attr_name);
}

#define MATCH(f) offsetof(struct config_filter_match, f)
static const struct config_key match_keys[] = {
    {.name = "stanza",
        .type = CONFIG_KEY_STRINGS,
        .validate = validate_kinds,
        .offset = MATCH(stanza)},
    {.name = "type",
        .type = CONFIG_KEY_STRINGS,
        .validate = validate_types,
        .offset = MATCH(type)},
    {.name = "from",
        .type = CONFIG_KEY_STRINGS,
        .validate = validate_jids,
        .offset = MATCH(from)},
    {.name = "to",
        .type = CONFIG_KEY_STRINGS,
        .validate = validate_jids,
        .offset = MATCH(to)},
    {.name = "session_jid",
        .type = CONFIG_KEY_STRINGS,
        .validate = validate_jids,
        .offset = MATCH(session_jid)},
    {.name = "has",
        .type = CONFIG_KEY_STRINGS,
        .validate = validate_has,
        .offset = MATCH(has)},
    {.name = "attributes",
        .type = CONFIG_KEY_STRINGS,
        .validate = validate_attrs,
        .offset = MATCH(attributes)},
    {.name = "text",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = MATCH(text)},
};

static const struct config_table match_table;

/* A rule with an empty match would act on every stanza: say so instead. */
static void
check_match(struct config_ctx *ctx, void *obj, unsigned long long seen)
{
	size_t mark;

	(void)obj;
	if (seen == 0)
		config_error(ctx, "no condition: give at least one of stanza, "
		                  "type, from, to, session_jid, has, text");
	else if (config_key_seen(&match_table, seen, "attributes") &&
	         !config_key_seen(&match_table, seen, "text")) {
		mark = config_path_push_key(ctx, "attributes");
		config_error(ctx, "needs match.text (the pattern to look for "
		                  "in them)");
		config_path_pop(ctx, mark);
	}
}

static const struct config_table match_table = {
    .keys = match_keys,
    .nkeys = NKEYS(match_keys),
    .check = check_match,
};

#define FILTER(f) offsetof(struct config_filter, f)
static const struct config_key filter_keys[] = {
    {.name = "name",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = FILTER(name)},
    {.name = "type",
        .type = CONFIG_KEY_STRING,
        .required = true,
        .apply = apply_filter_type,
        .offset = FILTER(type)},
    {.name = "direction",
        .type = CONFIG_KEY_STRING,
        .apply = apply_direction,
        .offset = FILTER(dirs)},
    {.name = "dry_run", .type = CONFIG_KEY_BOOL, .offset = FILTER(dry_run)},
    {.name = "action",
        .type = CONFIG_KEY_STRING,
        .apply = apply_action,
        .offset = FILTER(action)},
    {.name = "match",
        .type = CONFIG_KEY_OBJECT,
        .sub = &match_table,
        .offset = FILTER(match)},
    {.name = "replace", .type = CONFIG_KEY_STRING, .offset = FILTER(replace)},
    {.name = "reason",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = FILTER(reason)},
    {.name = "path",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = FILTER(path)},
    {.name = "config",
        .type = CONFIG_KEY_JSON,
        .offset = FILTER(plugin_config)},
};

/* Reports key as not belonging to a filter of this type or action. */
static void
refuse_key(struct config_ctx *ctx, unsigned long long seen, const char *key,
    const char *why)
{
	if (config_key_seen(&config_filter_table, seen, key))
		config_key_error(ctx, key, why);
}

static void
require_key(struct config_ctx *ctx, unsigned long long seen, const char *key,
    const char *why)
{
	if (!config_key_seen(&config_filter_table, seen, key))
		config_key_error(ctx, key, why);
}

/* The pattern compiles and the replacement names only groups it has. */
static void
check_pattern(struct config_ctx *ctx, const struct config_filter *f)
{
	char err[256];
	size_t mark;
	int which;

	if (f->match.text == NULL)
		return;
	which = filter_regex_check(f->match.text, f->replace, err, sizeof(err));
	if (which == 0)
		return;
	if (which == 1) {
		mark = config_path_push_key(ctx, "match");
		config_path_push_key(ctx, "text");
	} else
		mark = config_path_push_key(ctx, "replace");
	config_error(ctx, "%s", err);
	config_path_pop(ctx, mark);
}

static void
check_regex(struct config_ctx *ctx, const struct config_filter *f,
    unsigned long long seen)
{
	const char *plugin_only = "only for type 'plugin'";

	refuse_key(ctx, seen, "path", plugin_only);
	refuse_key(ctx, seen, "config", plugin_only);
	require_key(ctx, seen, "action", "required for type 'regex'");
	require_key(ctx, seen, "match", "required for type 'regex'");
	if (f->action == CONFIG_ACTION_REWRITE) {
		require_key(ctx, seen, "replace",
		    "required with action "
		    "'rewrite'");
		if (config_key_seen(&config_filter_table, seen, "match") &&
		    f->match.text == NULL) {
			size_t mark = config_path_push_key(ctx, "match");

			config_error(ctx, "action 'rewrite' needs text (what "
			                  "to replace)");
			config_path_pop(ctx, mark);
		}
	} else
		refuse_key(ctx, seen, "replace", "only with action 'rewrite'");
	if (f->action == CONFIG_ACTION_LOG ||
	    f->action == CONFIG_ACTION_REWRITE)
		refuse_key(ctx, seen, "reason",
		    "only with action 'drop', "
		    "'bounce' or 'close' (it is the error's text)");
	check_pattern(ctx, f);
}

static void
check_filter(struct config_ctx *ctx, void *obj, unsigned long long seen)
{
	struct config_filter *f = obj;
	const char *regex_only = "only for type 'regex'";

	if (f->type == CONFIG_FILTER_REGEX) {
		check_regex(ctx, f, seen);
		return;
	}
	require_key(ctx, seen, "path", "required for type 'plugin'");
	refuse_key(ctx, seen, "action", "a plugin decides its own verdicts");
	refuse_key(ctx, seen, "match", regex_only);
	refuse_key(ctx, seen, "replace", regex_only);
	refuse_key(ctx, seen, "reason", regex_only);
}

const struct config_table config_filter_table = {
    .keys = filter_keys,
    .nkeys = NKEYS(filter_keys),
    .elem_size = sizeof(struct config_filter),
    .init = config_filter_init,
    .check = check_filter,
};

int
config_filters_load(struct config *cfg, char **err)
{
	if (cfg->chain != NULL)
		return 0;
	cfg->chain = filter_chain_new(cfg, err);
	return cfg->chain != NULL ? 0 : -1;
}
