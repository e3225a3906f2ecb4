/* SPDX-License-Identifier: ISC */
/*
 * Loading the config: reads the file, parses it with cJSON, walks the tree
 * against the key tables of config_keys.c and fills a struct config over the
 * defaults. Every problem is reported with its JSON path ("listen[1].tls:
 * ..."), the whole file is checked before anything is used, and a config with
 * any error is thrown away: all or nothing. Also the command-line overrides
 * (-l, -u), the final check before running, and the reference count that lets
 * sessions keep the config they started with across a reload. It does not
 * open log files or bind sockets: that is for their owners, at start-up.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "config_keys.h"
#include "filter.h"
#include "log.h"
#include "tlsctx.h"
#include "xmalloc.h"

/* A config file is a page or two; anything this big is the wrong file. */
#define CONFIG_MAX_FILE_BYTES (1024 * 1024)

/* Longest key name shown in a path before it is cut. */
#define CONFIG_KEY_SHOWN 64

struct config *
config_new(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->refs = 1;
	cfg->upstream.tls = CONFIG_TLS_NONE;
	cfg->upstream.verify = true;
	cfg->tls.min_version = TLS1_2_VERSION;
	cfg->limits.max_stanza_bytes = CONFIG_DEFAULT_MAX_STANZA_BYTES;
	cfg->limits.preauth_stanza_bytes = CONFIG_DEFAULT_PREAUTH_STANZA_BYTES;
	cfg->limits.connections_interval_s = 60;
	cfg->limits.max_sessions = 10000;
	cfg->limits.connect_timeout_s = 10;
	cfg->limits.handshake_timeout_s = 30;
	cfg->limits.idle_timeout_s = 900;
	cfg->limits.proxy_header_timeout_s = 5;
	cfg->limits.shutdown_grace_s = CONFIG_DEFAULT_SHUTDOWN_GRACE_S;
	cfg->limits.regex_match_limit = CONFIG_DEFAULT_REGEX_MATCH_LIMIT;
	cfg->limits.regex_depth_limit = CONFIG_DEFAULT_REGEX_DEPTH_LIMIT;
	cfg->log.facility = log_facility_from_str("daemon");
	return cfg;
}

static void
config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nlisten; i++)
		config_listen_fini(&cfg->listen[i]);
	free(cfg->listen);
	free(cfg->upstream.address);
	free(cfg->upstream.ca_file);
	free(cfg->upstream.server_name);
	free(cfg->tls.cert);
	free(cfg->tls.key);
	free(cfg->tls.ca_cert);
	free(cfg->tls.ca_key);
	free(cfg->tls.ciphers);
	free(cfg->tls.ciphersuites);
	tlsctx_free(cfg->tls_server);
	tlsctx_free(cfg->tls_client);
	for (i = 0; i < cfg->nlogs; i++) {
		free(cfg->logs[i].path);
		free(cfg->logs[i].dir);
	}
	free(cfg->logs);
	filter_chain_free(cfg->chain);
	free(cfg->process.user);
	free(cfg->process.group);
	free(cfg->process.chroot);
	for (i = 0; i < cfg->nfilters; i++)
		config_filter_fini(&cfg->filters[i]);
	free(cfg->filters);
	free(cfg->metrics.address);
	free(cfg);
}

struct config *
config_ref(struct config *cfg)
{
	if (cfg != NULL) {
		assert(cfg->refs > 0);
		cfg->refs++;
	}
	return cfg;
}

void
config_unref(struct config *cfg)
{
	if (cfg == NULL)
		return;
	assert(cfg->refs > 0);
	if (--cfg->refs == 0)
		config_free(cfg);
}

const char *
config_tls_str(enum config_tls tls)
{
	switch (tls) {
	case CONFIG_TLS_NONE:
		return "none";
	case CONFIG_TLS_STARTTLS:
		return "starttls";
	case CONFIG_TLS_DIRECT:
		return "direct";
	case CONFIG_TLS_PASSTHROUGH:
		return "passthrough";
	}
	return "?";
}

const char *
config_log_type_str(enum config_log_type type)
{
	switch (type) {
	case CONFIG_LOG_JSON:
		return "json";
	case CONFIG_LOG_CONSOLE:
		return "console";
	case CONFIG_LOG_RECORD:
		return "record";
	}
	return "?";
}

const char *
config_action_str(enum config_action a)
{
	switch (a) {
	case CONFIG_ACTION_LOG:
		return "log";
	case CONFIG_ACTION_REWRITE:
		return "rewrite";
	case CONFIG_ACTION_DROP:
		return "drop";
	case CONFIG_ACTION_BOUNCE:
		return "bounce";
	case CONFIG_ACTION_CLOSE:
		return "close";
	}
	return "?";
}

void
config_strings_free(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

const char *
config_printable(const char *s, char *out, size_t outlen)
{
	size_t i, n = strlen(s);

	assert(outlen >= 4);
	for (i = 0; i < n && i < outlen - 1; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	if (i < n)
		memcpy(out + outlen - 4, "...", 4);
	return out;
}

const char *
config_json_type_str(const cJSON *item)
{
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsObject(item))
		return "an object";
	return "an invalid value";
}

int
config_error(struct config_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char reason[512];

	if (ctx->nerrors++ >= CONFIG_MAX_ERRORS)
		return -1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	buf_addf(&ctx->errors, "%s%s: %s", ctx->errors.len ? "\n" : "",
	    ctx->path.len ? ctx->path.data : "top level", reason);
	return -1;
}

size_t
config_path_push_key(struct config_ctx *ctx, const char *key)
{
	size_t mark = ctx->path.len;
	char shown[CONFIG_KEY_SHOWN];

	if (ctx->path.len)
		buf_addc(&ctx->path, '.');
	buf_adds(&ctx->path, config_printable(key, shown, sizeof(shown)));
	return mark;
}

size_t
config_path_push_index(struct config_ctx *ctx, size_t index)
{
	size_t mark = ctx->path.len;

	buf_addf(&ctx->path, "[%zu]", index);
	return mark;
}

void
config_path_pop(struct config_ctx *ctx, size_t mark)
{
	assert(mark <= ctx->path.len);
	ctx->path.len = mark;
	if (ctx->path.cap)
		ctx->path.data[mark] = '\0';
}

/*
 * Edit distance of two short strings, counting a swap of neighbours as one
 * edit (optimal string alignment): "tsl" is one typo away from "tls".
 */
static size_t
config_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, v;
	size_t rows[3][CONFIG_KEY_SHOWN + 1];
	size_t *pp, *prev, *cur;

	if (la > CONFIG_KEY_SHOWN || lb > CONFIG_KEY_SHOWN)
		return (size_t)-1;
	/* Row r of the matrix lives in rows[r % 3]. */
	for (j = 0; j <= lb; j++)
		rows[0][j] = j;
	for (i = 1; i <= la; i++) {
		pp = rows[(i + 1) % 3];	  /* row i - 2 */
		prev = rows[(i + 2) % 3]; /* row i - 1 */
		cur = rows[i % 3];
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			v = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			cur[j] = v;
		}
	}
	return rows[la % 3][lb];
}

bool
config_key_seen(const struct config_table *t, unsigned long long seen,
    const char *name)
{
	size_t i;

	for (i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i].name, name) == 0)
			return (seen & (1ULL << i)) != 0;
	abort(); /* a check asking about a key its table lacks is a bug */
}

static void
config_unknown_key(struct config_ctx *ctx, const struct config_table *t,
    const char *key)
{
	const char *best = NULL;
	size_t i, d, bestd = (size_t)-1;

	/* A suggestion only for a typo: one edit per three characters. */
	for (i = 0; i < t->nkeys; i++) {
		d = config_distance(key, t->keys[i].name);
		if (d > 0 && d * 3 <= strlen(key) && d < bestd) {
			bestd = d;
			best = t->keys[i].name;
		}
	}
	if (best != NULL)
		config_error(ctx, "unknown key (did you mean '%s'?)", best);
	else
		config_error(ctx, "unknown key");
}

/* Checks a number against an integer key's range; stores nothing. */
static int
config_check_integer(struct config_ctx *ctx, const struct config_key *k,
    double d)
{
	if (!(d >= (double)k->min))
		return config_error(ctx, "must be at least %lld", k->min);
	if (!(d <= (double)k->max))
		return config_error(ctx, "must be at most %lld", k->max);
	if ((double)(long long)d != d)
		return config_error(ctx, "expected a whole number, got %g", d);
	return 0;
}

/* A string, or a non-empty array of strings (each element's path named). */
static int
config_check_strings(struct config_ctx *ctx, const cJSON *item)
{
	const cJSON *elem;
	size_t i = 0, mark;
	int rc = 0;

	if (cJSON_IsString(item))
		return 0;
	if (!cJSON_IsArray(item))
		return config_error(ctx, "expected a string or an array of "
		    "strings, got %s", config_json_type_str(item));
	if (cJSON_GetArraySize(item) == 0)
		return config_error(ctx, "must not be an empty array");
	cJSON_ArrayForEach(elem, item) {
		mark = config_path_push_index(ctx, i++);
		if (!cJSON_IsString(elem))
			rc = config_error(ctx, "expected a string, got %s",
			    config_json_type_str(elem));
		config_path_pop(ctx, mark);
	}
	return rc;
}

/* Stores a checked CONFIG_KEY_STRINGS value as a NULL-terminated list. */
static void
config_store_strings(const cJSON *item, char ***dst)
{
	const cJSON *elem;
	size_t n = 0;
	char **list;

	config_strings_free(*dst);
	if (cJSON_IsString(item)) {
		list = xcalloc(2, sizeof(*list));
		list[0] = xstrdup(item->valuestring);
	} else {
		list = xcalloc((size_t)cJSON_GetArraySize(item) + 1,
		    sizeof(*list));
		cJSON_ArrayForEach(elem, item)
			list[n++] = xstrdup(elem->valuestring);
	}
	*dst = list;
}

/* The JSON type check every key gets before its validator. */
static int
config_check_type(struct config_ctx *ctx, const struct config_key *k,
    const cJSON *item)
{
	const char *want;
	int good;

	switch (k->type) {
	case CONFIG_KEY_STRING:
		want = "a string";
		good = cJSON_IsString(item);
		break;
	case CONFIG_KEY_STRING_OR_NULL:
		want = "a string or null";
		good = cJSON_IsString(item) || cJSON_IsNull(item);
		break;
	case CONFIG_KEY_BOOL:
		want = "a boolean";
		good = cJSON_IsBool(item);
		break;
	case CONFIG_KEY_UINT:
	case CONFIG_KEY_SIZE:
		want = "a number";
		good = cJSON_IsNumber(item);
		break;
	case CONFIG_KEY_OBJECT:
		want = "an object";
		good = cJSON_IsObject(item);
		break;
	case CONFIG_KEY_ARRAY:
		want = "an array";
		good = cJSON_IsArray(item);
		break;
	case CONFIG_KEY_STRINGS:
		return config_check_strings(ctx, item);
	case CONFIG_KEY_JSON:
		return 0;
	default:
		abort();
	}
	if (!good)
		return config_error(ctx, "expected %s, got %s", want,
		    config_json_type_str(item));
	if (cJSON_IsNumber(item))
		return config_check_integer(ctx, k, item->valuedouble);
	return 0;
}

/* Builds an array of sub-table objects: allocated and given defaults first,
 * so the config is whole (and freeable) whatever the elements hold. */
static void
config_walk_array(struct config_ctx *ctx, const struct config_key *k,
    const cJSON *item, void *obj)
{
	const struct config_table *t = k->sub;
	size_t *countp = (size_t *)((char *)obj + k->count_offset);
	size_t i, n = (size_t)cJSON_GetArraySize(item), mark;
	const cJSON *elem;
	char *arr;

	assert(*countp == 0);
	if (n == 0)
		return;
	if (k->max > 0 && n > (size_t)k->max) {
		config_error(ctx, "at most %lld entries, got %zu", k->max, n);
		return;
	}
	arr = xcalloc(n, t->elem_size);
	for (i = 0; i < n; i++)
		t->init(arr + i * t->elem_size);
	/* The field is a typed struct pointer: copy, do not alias it. */
	memcpy((char *)obj + k->offset, &arr, sizeof(arr));
	*countp = n;
	i = 0;
	cJSON_ArrayForEach(elem, item) {
		mark = config_path_push_index(ctx, i);
		config_walk_object(ctx, elem, t, arr + i * t->elem_size);
		config_path_pop(ctx, mark);
		i++;
	}
}

/* Type-checks, validates and stores one key of obj. */
static void
config_apply_key(struct config_ctx *ctx, const struct config_key *k,
    const cJSON *item, void *obj)
{
	void *dst = (char *)obj + k->offset;
	char **sp = dst;

	if (config_check_type(ctx, k, item) == -1)
		return;
	if (cJSON_IsNull(item))
		return; /* STRING_OR_NULL: keep NULL */
	if (k->validate != NULL && k->validate(ctx, item) == -1)
		return;
	if (k->apply != NULL) {
		(void)k->apply(ctx, item, dst);
		return;
	}
	switch (k->type) {
	case CONFIG_KEY_STRING:
	case CONFIG_KEY_STRING_OR_NULL:
		free(*sp);
		*sp = xstrdup(item->valuestring);
		break;
	case CONFIG_KEY_BOOL:
		*(bool *)dst = cJSON_IsTrue(item);
		break;
	case CONFIG_KEY_UINT:
		*(unsigned *)dst = (unsigned)item->valuedouble;
		break;
	case CONFIG_KEY_SIZE:
		*(size_t *)dst = (size_t)item->valuedouble;
		break;
	case CONFIG_KEY_OBJECT:
		config_walk_object(ctx, item, k->sub, dst);
		break;
	case CONFIG_KEY_ARRAY:
		config_walk_array(ctx, k, item, obj);
		break;
	case CONFIG_KEY_STRINGS:
		config_store_strings(item, dst);
		break;
	case CONFIG_KEY_JSON:
		free(*sp);
		*sp = cJSON_PrintUnformatted(item);
		if (*sp == NULL)
			abort(); /* cJSON fails only when out of memory */
		break;
	}
}

void
config_walk_object(struct config_ctx *ctx, const cJSON *json,
    const struct config_table *t, void *obj)
{
	const cJSON *item;
	const struct config_key *k;
	unsigned long long seen = 0;
	unsigned nerrors = ctx->nerrors;
	size_t i, mark;

	assert(t->nkeys <= 64);
	if (!cJSON_IsObject(json)) {
		config_error(ctx, "expected an object, got %s",
		    config_json_type_str(json));
		return;
	}
	cJSON_ArrayForEach(item, json) {
		const char *name = item->string ? item->string : "";

		mark = config_path_push_key(ctx, name);
		for (i = 0; i < t->nkeys; i++)
			if (strcmp(name, t->keys[i].name) == 0)
				break;
		if (i == t->nkeys)
			config_unknown_key(ctx, t, name);
		else if (seen & (1ULL << i))
			config_error(ctx, "duplicate key");
		else {
			seen |= 1ULL << i;
			config_apply_key(ctx, &t->keys[i], item, obj);
		}
		config_path_pop(ctx, mark);
	}
	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		if (!k->required || (seen & (1ULL << i)))
			continue;
		mark = config_path_push_key(ctx, k->name);
		config_error(ctx, "required key is missing");
		config_path_pop(ctx, mark);
	}
	/* Rules across keys only hold meaning once each key is right. */
	if (t->check != NULL && ctx->nerrors == nerrors)
		t->check(ctx, obj, seen);
}

static void
config_ctx_init(struct config_ctx *ctx, struct config *cfg)
{
	buf_init(&ctx->path);
	buf_init(&ctx->errors);
	ctx->nerrors = 0;
	ctx->cfg = cfg;
}

/* Ends a validation: the error text (xmalloc'd) or NULL when clean. */
static char *
config_ctx_fini(struct config_ctx *ctx)
{
	char *err = NULL;

	if (ctx->nerrors > CONFIG_MAX_ERRORS)
		buf_addf(&ctx->errors, "\n(%u more errors not shown)",
		    ctx->nerrors - CONFIG_MAX_ERRORS);
	if (ctx->nerrors)
		err = buf_release(&ctx->errors);
	buf_fini(&ctx->errors);
	buf_fini(&ctx->path);
	return err;
}

/* "line L, column C: invalid JSON ..." for cJSON's failure position. */
static char *
config_json_error(const char *json, const char *at)
{
	unsigned line = 1, col = 1;
	const char *p;
	char near[24];
	size_t i;

	if (at == NULL || at < json || at > json + strlen(json))
		at = json;
	for (p = json; p < at; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)*p & 0xc0) != 0x80)
			col++; /* count characters, not UTF-8 bytes */
	}
	/* cJSON puts some errors (a trailing comma) at the very end. */
	if (*at == '\0')
		return xasprintf("line %u, column %u: invalid JSON at end of "
		    "input", line, col);
	if (*at == '\n' || *at == '\r')
		return xasprintf("line %u, column %u: invalid JSON at end of "
		    "line", line, col);
	for (i = 0; i < sizeof(near) - 1 && at[i] != '\0' && at[i] != '\n' &&
	    at[i] != '\r'; i++)
		near[i] = at[i] >= 0x20 && at[i] < 0x7f ? at[i] : '?';
	near[i] = '\0';
	return xasprintf("line %u, column %u: invalid JSON near '%s'", line, col,
	    near);
}

static void
config_set_err(char **err, char *msg)
{
	if (err != NULL)
		*err = msg;
	else
		free(msg);
}

struct config *
config_parse(const char *json, char **err)
{
	struct config_ctx ctx;
	struct config *cfg;
	const char *end = NULL;
	cJSON *root;
	char *msg;

	if (err != NULL)
		*err = NULL;
	if (json == NULL)
		json = "";
	root = cJSON_ParseWithOpts(json, &end, 1);
	if (root == NULL) {
		config_set_err(err, config_json_error(json, end));
		return NULL;
	}
	cfg = config_new();
	config_ctx_init(&ctx, cfg);
	config_walk_object(&ctx, root, &config_root_table, cfg);
	cJSON_Delete(root);
	if ((msg = config_ctx_fini(&ctx)) != NULL) {
		config_set_err(err, msg);
		config_unref(cfg);
		return NULL;
	}
	return cfg;
}

/* Reads a whole (small) file as a string; NULL with *err on failure. */
static char *
config_read(const char *path, char **err)
{
	struct buf b;
	char chunk[8192];
	size_t n;
	FILE *f;
	int saved;

	if ((f = fopen(path, "r")) == NULL) {
		config_set_err(err, xasprintf("%s: %s", path, strerror(errno)));
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > CONFIG_MAX_FILE_BYTES) {
			config_set_err(err, xasprintf("%s: larger than %d "
			    "bytes: not a config file", path,
			    CONFIG_MAX_FILE_BYTES));
			goto fail;
		}
		buf_add(&b, chunk, n);
	}
	if (ferror(f)) {
		saved = errno;
		config_set_err(err, xasprintf("%s: %s", path, strerror(saved)));
		goto fail;
	}
	if (memchr(b.data ? b.data : "", '\0', b.len) != NULL) {
		config_set_err(err, xasprintf("%s: contains a NUL byte: not a "
		    "config file", path));
		goto fail;
	}
	fclose(f);
	return buf_release(&b);
fail:
	fclose(f);
	buf_fini(&b);
	return NULL;
}

struct config *
config_load(const char *path, char **err)
{
	struct config *cfg;
	char *text;

	if (err != NULL)
		*err = NULL;
	if ((text = config_read(path, err)) == NULL)
		return NULL;
	cfg = config_parse(text, err);
	free(text);
	return cfg;
}

void
config_clear_listen(struct config *cfg)
{
	size_t i;

	assert(cfg->refs == 1);
	for (i = 0; i < cfg->nlisten; i++)
		config_listen_fini(&cfg->listen[i]);
	free(cfg->listen);
	cfg->listen = NULL;
	cfg->nlisten = 0;
}

int
config_add_listen(struct config *cfg, const char *address, char **err)
{
	const char *errstr;
	char shown[80];
	size_t i;

	assert(cfg->refs == 1); /* shared configs are immutable */
	if (err != NULL)
		*err = NULL;
	config_printable(address, shown, sizeof(shown));
	if (config_check_listen_address(address, &errstr) == -1) {
		config_set_err(err, xasprintf("-l %s: %s", shown, errstr));
		return -1;
	}
	if (cfg->nlisten >= CONFIG_MAX_LISTEN) {
		config_set_err(err, xasprintf("-l %s: at most %d listeners",
		    shown, CONFIG_MAX_LISTEN));
		return -1;
	}
	for (i = 0; i < cfg->nlisten; i++) {
		if (config_same_listen_address(cfg->listen[i].address,
		    address)) {
			config_set_err(err, xasprintf("-l %s: same address as "
			    "listen[%zu]", shown, i));
			return -1;
		}
	}
	cfg->listen = xreallocarray(cfg->listen, cfg->nlisten + 1,
	    sizeof(*cfg->listen));
	config_listen_init(&cfg->listen[cfg->nlisten]);
	cfg->listen[cfg->nlisten].address = xstrdup(address);
	cfg->nlisten++;
	return 0;
}

int
config_set_upstream(struct config *cfg, const char *address, char **err)
{
	const char *errstr;
	char shown[80];

	assert(cfg->refs == 1);
	if (err != NULL)
		*err = NULL;
	if (config_check_upstream_address(address, &errstr) == -1) {
		config_set_err(err, xasprintf("-u %s: %s",
		    config_printable(address, shown, sizeof(shown)), errstr));
		return -1;
	}
	free(cfg->upstream.address);
	cfg->upstream.address = xstrdup(address);
	return 0;
}

int
config_check(const struct config *cfg, char **err)
{
	struct config_ctx ctx;
	size_t mark, i;
	char *msg;

	if (err != NULL)
		*err = NULL;
	/* The walker state gives the same "path: reason" lines as parsing. */
	config_ctx_init(&ctx, NULL);
	if (cfg->nlisten == 0) {
		mark = config_path_push_key(&ctx, "listen");
		config_error(&ctx, "at least one listener is required "
		    "(config or -l)");
		config_path_pop(&ctx, mark);
	}
	/* Transparent listeners connect where each client meant to go. */
	for (i = 0; i < cfg->nlisten; i++)
		if (!cfg->listen[i].transparent)
			break;
	if (cfg->upstream.address == NULL &&
	    (i < cfg->nlisten || cfg->nlisten == 0)) {
		mark = config_path_push_key(&ctx, "upstream");
		config_path_push_key(&ctx, "address");
		config_error(&ctx, "an upstream server is required "
		    "(config or -u)");
		config_path_pop(&ctx, mark);
	}
	if ((msg = config_ctx_fini(&ctx)) != NULL) {
		config_set_err(err, msg);
		return -1;
	}
	return 0;
}
