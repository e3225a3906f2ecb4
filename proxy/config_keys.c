/* SPDX-License-Identifier: ISC */
/*
 * What the config file may say: one table per JSON object (root, limits,
 * logs[], metrics, log) and the validators for single keys and for rules
 * across keys, with the two small helpers every table file uses. The
 * walking, type checking and error paths are in config.c; this file holds
 * no control flow over the JSON tree, so adding a key is adding a row. The
 * network's objects (listen[], upstream, tls) have their tables in
 * config_net.c, filter entries theirs in config_filters.c. Whether a record
 * directory exists is for config_logs.c: parsing never touches the file
 * system.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "addr.h"
#include "config_keys.h"
#include "log.h"
#include "xmalloc.h"

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
/* Offsets within the anonymous structs are taken from their first byte. */
#define IN(obj, f)                                                             \
	(offsetof(struct config, obj.f) - offsetof(struct config, obj))

/* Upper bounds: generous, but each one a value no sane deployment exceeds. */
#define MAX_STANZA_BYTES (16 * 1024 * 1024)
#define MAX_SESSIONS 1000000
#define MAX_NEGOTIATION_TIMEOUT_S 3600 /* an hour to connect or negotiate */
#define MAX_IDLE_TIMEOUT_S 604800      /* a week without a byte */
#define MAX_SHUTDOWN_GRACE_S 3600      /* an hour to say goodbye */
#define MAX_REGEX_LIMIT 100000000      /* PCRE2's own default, tenfold */
#define MAX_RECORD_FILES 10000000      /* ten million files in one dir */
#define MIN_RECORD_BYTES 65536         /* a login fits, and a few stanzas */
#if SIZE_MAX > 0xffffffffu
#define MAX_RECORD_BYTES (1LL << 50) /* a petabyte */
#else
#define MAX_RECORD_BYTES 0xffffffffLL
#endif
#define MAX_RATE_INTERVAL_S 86400 /* a day */

void
config_log_init(void *obj)
{
	struct config_log *lg = obj;

	lg->type = CONFIG_LOG_JSON;
	lg->path = NULL;
	lg->redact = true;
	lg->dir = NULL;
	lg->max_files = CONFIG_DEFAULT_RECORD_MAX_FILES;
	lg->max_bytes = CONFIG_DEFAULT_RECORD_MAX_BYTES;
	lg->max_file_bytes = CONFIG_DEFAULT_RECORD_MAX_FILE_BYTES;
}

int
config_validate_nonempty(struct config_ctx *ctx, const cJSON *item)
{
	if (item->valuestring[0] == '\0')
		return config_error(ctx, "must not be empty");
	return 0;
}

void
config_key_error(struct config_ctx *ctx, const char *key, const char *reason)
{
	size_t mark = config_path_push_key(ctx, key);

	config_error(ctx, "%s", reason);
	config_path_pop(ctx, mark);
}

/* A chroot directory is absolute: after the chroot, nothing else means
 * anything. */
static int
validate_absolute(struct config_ctx *ctx, const cJSON *item)
{
	if (item->valuestring[0] != '/')
		return config_error(ctx, "must be an absolute path");
	return 0;
}

static int
apply_log_type(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	enum config_log_type *type = dst;
	const char *s = item->valuestring;
	char shown[80];

	if (strcmp(s, "json") == 0)
		*type = CONFIG_LOG_JSON;
	else if (strcmp(s, "console") == 0)
		*type = CONFIG_LOG_CONSOLE;
	else if (strcmp(s, "record") == 0)
		*type = CONFIG_LOG_RECORD;
	else
		return config_error(ctx,
		    "expected one of 'json', 'console', 'record', got '%s'",
		    config_printable(s, shown, sizeof(shown)));
	return 0;
}

static const struct config_table log_table;

#define LOG_JSON (1u << CONFIG_LOG_JSON)
#define LOG_CONSOLE (1u << CONFIG_LOG_CONSOLE)
#define LOG_RECORD (1u << CONFIG_LOG_RECORD)

/* The keys only some log types take ("type" goes with all): a key another
 * type would silently ignore is refused. */
static const struct {
	const char *key;
	unsigned types;
	const char *msg;
} log_key_types[] = {
    {"path", LOG_JSON, "only valid for type 'json'"},
    {"redact", LOG_JSON | LOG_RECORD,
        "only valid for types 'json' and 'record'"},
    {"dir", LOG_RECORD, "only valid for type 'record'"},
    {"max_files", LOG_RECORD, "only valid for type 'record'"},
    {"max_bytes", LOG_RECORD, "only valid for type 'record'"},
    {"max_file_bytes", LOG_RECORD, "only valid for type 'record'"},
};

static void
check_log(struct config_ctx *ctx, void *obj, unsigned long long seen)
{
	struct config_log *lg = obj;
	size_t i;

	for (i = 0; i < NKEYS(log_key_types); i++)
		if (!(log_key_types[i].types & (1u << lg->type)) &&
		    config_key_seen(&log_table, seen, log_key_types[i].key))
			config_key_error(
			    ctx, log_key_types[i].key, log_key_types[i].msg);
	if (lg->type != CONFIG_LOG_RECORD)
		return;
	if (lg->dir == NULL)
		config_key_error(ctx, "dir", "required for type 'record'");
	/* A file limit above the directory's would never apply: a typo. */
	if (config_key_seen(&log_table, seen, "max_file_bytes") &&
	    lg->max_file_bytes > lg->max_bytes) {
		size_t mark = config_path_push_key(ctx, "max_file_bytes");

		config_error(
		    ctx, "must not exceed max_bytes (%zu)", lg->max_bytes);
		config_path_pop(ctx, mark);
	}
}

/* Whether two directory names are the same once trailing slashes go. */
static bool
same_dir(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	return la == lb && memcmp(a, b, la) == 0;
}

/* Two recorders in one directory would fight over its files and limits. */
static void
check_record_dirs(struct config_ctx *ctx, const struct config *cfg)
{
	size_t i, j, mark;

	for (j = 1; j < cfg->nlogs; j++) {
		for (i = 0; i < j; i++) {
			if (cfg->logs[i].dir == NULL ||
			    cfg->logs[j].dir == NULL ||
			    !same_dir(cfg->logs[i].dir, cfg->logs[j].dir))
				continue;
			mark = config_path_push_key(ctx, "logs");
			config_path_push_index(ctx, j);
			config_path_push_key(ctx, "dir");
			config_error(ctx, "same directory as logs[%zu]", i);
			config_path_pop(ctx, mark);
			break;
		}
	}
}

/* Filters without a name are called by their place; names are unique, as
 * events and counters go by them. */
static void
check_filter_names(struct config_ctx *ctx, struct config *cfg)
{
	size_t i, j, mark;

	for (i = 0; i < cfg->nfilters; i++)
		if (cfg->filters[i].name == NULL)
			cfg->filters[i].name = xasprintf("filters[%zu]", i);
	for (j = 1; j < cfg->nfilters; j++) {
		for (i = 0; i < j; i++) {
			if (strcmp(cfg->filters[i].name,
			        cfg->filters[j].name) != 0)
				continue;
			mark = config_path_push_key(ctx, "filters");
			config_path_push_index(ctx, j);
			config_path_push_key(ctx, "name");
			config_error(ctx, "same name as filters[%zu]", i);
			config_path_pop(ctx, mark);
			break;
		}
	}
}

/* A group is the group of the user xmppgate becomes. */
static void
check_process(struct config_ctx *ctx, const struct config *cfg)
{
	if (cfg->process.group != NULL && cfg->process.user == NULL)
		config_key_error(ctx, "group", "needs user");
}

/* The rules that span the config's objects. */
static void
check_root(struct config_ctx *ctx, void *obj, unsigned long long seen)
{
	struct config *cfg = obj;

	(void)seen;
	check_process(ctx, cfg);
	check_filter_names(ctx, cfg);
	check_record_dirs(ctx, cfg);
	config_check_listeners(ctx, cfg);
}

static const struct config_key limits_keys[] = {
    {.name = "max_stanza_bytes",
        .type = CONFIG_KEY_SIZE,
        .offset = IN(limits, max_stanza_bytes),
        .min = CONFIG_MIN_STANZA_BYTES,
        .max = MAX_STANZA_BYTES},
    {.name = "max_sessions",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, max_sessions),
        .min = 1,
        .max = MAX_SESSIONS},
    {.name = "connect_timeout_s",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, connect_timeout_s),
        .min = 1,
        .max = MAX_NEGOTIATION_TIMEOUT_S},
    {.name = "handshake_timeout_s",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, handshake_timeout_s),
        .min = 1,
        .max = MAX_NEGOTIATION_TIMEOUT_S},
    {.name = "idle_timeout_s",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, idle_timeout_s),
        .min = 1,
        .max = MAX_IDLE_TIMEOUT_S},
    {.name = "proxy_header_timeout_s",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, proxy_header_timeout_s),
        .min = 1,
        .max = MAX_NEGOTIATION_TIMEOUT_S},
    {.name = "shutdown_grace_s",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, shutdown_grace_s),
        .min = 1,
        .max = MAX_SHUTDOWN_GRACE_S},
    {.name = "regex_match_limit",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, regex_match_limit),
        .min = 1000,
        .max = MAX_REGEX_LIMIT},
    {.name = "regex_depth_limit",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, regex_depth_limit),
        .min = 100,
        .max = MAX_REGEX_LIMIT},
    {.name = "preauth_stanza_bytes",
        .type = CONFIG_KEY_SIZE,
        .offset = IN(limits, preauth_stanza_bytes),
        .min = CONFIG_MIN_PREAUTH_STANZA_BYTES,
        .max = MAX_STANZA_BYTES},
    {.name = "connections_per_ip",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, connections_per_ip),
        .min = 0,
        .max = MAX_SESSIONS},
    {.name = "connections_interval_s",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, connections_interval_s),
        .min = 1,
        .max = MAX_RATE_INTERVAL_S},
    {.name = "connections_burst",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, connections_burst),
        .min = 1,
        .max = MAX_SESSIONS},
    {.name = "sessions_per_ip",
        .type = CONFIG_KEY_UINT,
        .offset = IN(limits, sessions_per_ip),
        .min = 0,
        .max = MAX_SESSIONS},
};
static const struct config_table limits_table;

/*
 * The pre-authentication limit cannot pass the general one; the rate's
 * interval and burst mean nothing without a rate, and the burst defaults
 * to the rate (that many connections at once, then the rate).
 */
static void
check_limits(struct config_ctx *ctx, void *obj, unsigned long long seen)
{
	struct config *cfg = ctx->cfg;
	char why[96];

	(void)obj;
	if (cfg->limits.preauth_stanza_bytes > cfg->limits.max_stanza_bytes) {
		snprintf(why, sizeof(why),
		    "must not exceed limits.max_stanza_bytes (%zu)",
		    cfg->limits.max_stanza_bytes);
		config_key_error(ctx, "preauth_stanza_bytes", why);
	}
	if (cfg->limits.connections_per_ip == 0) {
		if (config_key_seen(&limits_table, seen, "connections_burst"))
			config_key_error(ctx, "connections_burst",
			    "needs limits.connections_per_ip");
		if (config_key_seen(
		        &limits_table, seen, "connections_interval_s"))
			config_key_error(ctx, "connections_interval_s",
			    "needs limits.connections_per_ip");
	} else if (!config_key_seen(&limits_table, seen, "connections_burst")) {
		cfg->limits.connections_burst = cfg->limits.connections_per_ip;
	}
}

static const struct config_table limits_table = {
    .keys = limits_keys,
    .nkeys = NKEYS(limits_keys),
    .check = check_limits,
};

#define LOG(f) offsetof(struct config_log, f)
static const struct config_key log_keys[] = {
    {.name = "type",
        .type = CONFIG_KEY_STRING,
        .required = true,
        .apply = apply_log_type,
        .offset = LOG(type)},
    {.name = "path",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = LOG(path)},
    {.name = "redact", .type = CONFIG_KEY_BOOL, .offset = LOG(redact)},
    {.name = "dir",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = LOG(dir)},
    {.name = "max_files",
        .type = CONFIG_KEY_UINT,
        .offset = LOG(max_files),
        .min = 1,
        .max = MAX_RECORD_FILES},
    {.name = "max_bytes",
        .type = CONFIG_KEY_SIZE,
        .offset = LOG(max_bytes),
        .min = MIN_RECORD_BYTES,
        .max = MAX_RECORD_BYTES},
    {.name = "max_file_bytes",
        .type = CONFIG_KEY_SIZE,
        .offset = LOG(max_file_bytes),
        .min = MIN_RECORD_BYTES,
        .max = MAX_RECORD_BYTES},
};
static const struct config_table log_table = {
    .keys = log_keys,
    .nkeys = NKEYS(log_keys),
    .elem_size = sizeof(struct config_log),
    .init = config_log_init,
    .check = check_log,
};

/* Digits only: a port, for the metrics address's short form. */
static bool
is_port_only(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* "PORT" (on loopback) or a numeric "ADDR:PORT", as stored. */
static char *
metrics_address(const char *s)
{
	if (is_port_only(s))
		return xasprintf("%s:%s", CONFIG_METRICS_DEFAULT_HOST, s);
	return xstrdup(s);
}

static int
validate_metrics_address(struct config_ctx *ctx, const cJSON *item)
{
	const char *errstr;
	char shown[80], *a = metrics_address(item->valuestring);
	int rc = 0;

	if (config_check_listen_address(a, &errstr) == -1)
		rc = config_error(ctx, "'%s': %s",
		    config_printable(item->valuestring, shown, sizeof(shown)),
		    errstr);
	free(a);
	return rc;
}

static int
apply_metrics_address(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	char **address = dst;

	free(*address);
	*address = metrics_address(item->valuestring);
	return 0;
}

/* The endpoint has no authentication: loopback unless said otherwise. */
static void
check_metrics(struct config_ctx *ctx, void *obj, unsigned long long seen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *errstr;
	char shown[80];
	size_t mark;

	(void)obj;
	(void)seen;
	if (ctx->cfg->metrics.address == NULL ||
	    ctx->cfg->metrics.allow_remote ||
	    addr_parse_numeric(ctx->cfg->metrics.address, &ss, &len, &errstr) ==
	        -1 ||
	    addr_is_loopback((struct sockaddr *)&ss))
		return;
	mark = config_path_push_key(ctx, "address");
	config_error(ctx,
	    "'%s' is not a loopback address, and the endpoint "
	    "has no authentication: set metrics.allow_remote to true to "
	    "serve it there",
	    config_printable(ctx->cfg->metrics.address, shown, sizeof(shown)));
	config_path_pop(ctx, mark);
}

static const struct config_key metrics_keys[] = {
    {.name = "address",
        .type = CONFIG_KEY_STRING,
        .required = true,
        .validate = validate_metrics_address,
        .apply = apply_metrics_address,
        .offset = IN(metrics, address)},
    {.name = "allow_remote",
        .type = CONFIG_KEY_BOOL,
        .offset = IN(metrics, allow_remote)},
};
static const struct config_table metrics_table = {
    .keys = metrics_keys,
    .nkeys = NKEYS(metrics_keys),
    .check = check_metrics,
};

static int
apply_facility(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	int *facility = dst, f = log_facility_from_str(item->valuestring);
	char shown[80];

	if (f == -1)
		return config_error(ctx, "expected one of %s, got '%s'",
		    log_facility_names,
		    config_printable(item->valuestring, shown, sizeof(shown)));
	*facility = f;
	return 0;
}

static const struct config_key oplog_keys[] = {
    {.name = "syslog", .type = CONFIG_KEY_BOOL, .offset = IN(log, syslog)},
    {.name = "facility",
        .type = CONFIG_KEY_STRING,
        .apply = apply_facility,
        .offset = IN(log, facility)},
};
static const struct config_table oplog_table = {
    .keys = oplog_keys,
    .nkeys = NKEYS(oplog_keys),
};

#define ROOT(f) offsetof(struct config, f)
static const struct config_key root_keys[] = {
    {.name = "listen",
        .type = CONFIG_KEY_ARRAY,
        .sub = &config_listen_table,
        .offset = ROOT(listen),
        .count_offset = ROOT(nlisten),
        .max = CONFIG_MAX_LISTEN},
    {.name = "upstream",
        .type = CONFIG_KEY_OBJECT,
        .sub = &config_upstream_table,
        .offset = ROOT(upstream)},
    {.name = "tls",
        .type = CONFIG_KEY_OBJECT,
        .sub = &config_tls_table,
        .offset = ROOT(tls)},
    {.name = "limits",
        .type = CONFIG_KEY_OBJECT,
        .sub = &limits_table,
        .offset = ROOT(limits)},
    {.name = "filters",
        .type = CONFIG_KEY_ARRAY,
        .sub = &config_filter_table,
        .offset = ROOT(filters),
        .count_offset = ROOT(nfilters),
        .max = CONFIG_MAX_FILTERS},
    {.name = "dry_run", .type = CONFIG_KEY_BOOL, .offset = ROOT(dry_run)},
    {.name = "logs",
        .type = CONFIG_KEY_ARRAY,
        .sub = &log_table,
        .offset = ROOT(logs),
        .count_offset = ROOT(nlogs),
        .max = CONFIG_MAX_LOGS},
    {.name = "metrics",
        .type = CONFIG_KEY_OBJECT,
        .sub = &metrics_table,
        .offset = ROOT(metrics)},
    {.name = "log",
        .type = CONFIG_KEY_OBJECT,
        .sub = &oplog_table,
        .offset = ROOT(log)},
    {.name = "user",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = ROOT(process.user)},
    {.name = "group",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = ROOT(process.group)},
    {.name = "chroot",
        .type = CONFIG_KEY_STRING,
        .validate = validate_absolute,
        .offset = ROOT(process.chroot)},
    {.name = "allow_root",
        .type = CONFIG_KEY_BOOL,
        .offset = ROOT(process.allow_root)},
    {.name = "workers",
        .type = CONFIG_KEY_UINT,
        .offset = ROOT(process.workers),
        .min = 0,
        .max = CONFIG_MAX_WORKERS},
};
const struct config_table config_root_table = {
    .keys = root_keys,
    .nkeys = NKEYS(root_keys),
    .check = check_root,
};
