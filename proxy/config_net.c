/* SPDX-License-Identifier: ISC */
/*
 * What the config file may say about the network: the tables of listen[],
 * upstream and tls, with their validators (addresses, TLS modes, PROXY
 * protocol versions, transparent_allow patterns, the TLS versions) and the
 * rules across keys (a TLS mode that needs a certificate, two listeners on
 * one address). Also the defaults of one listener, shared with -l. Like
 * config_keys.c, it holds rows and checks, no walking of the JSON tree, and
 * it never touches the file system or the network: reading the
 * certificates is config_tls.c's, binding the listeners listener.c's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <openssl/ssl.h>

#include "addr.h"
#include "config_keys.h"
#include "netmatch.h"
#include "proxyproto.h"
#include "xmalloc.h"

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
/* Offsets within the anonymous structs are taken from their first byte. */
#define IN(obj, f)                                                             \
	(offsetof(struct config, obj.f) - offsetof(struct config, obj))

/* Longest host name (RFC 1035) plus NUL, enough for any IPv6 literal too. */
#define HOST_MAX 256

struct tls_name {
	const char *name;
	enum config_tls tls;
};

/* In the order the messages list them; upstream takes the first three. */
static const struct tls_name tls_names[] = {
    {"none", CONFIG_TLS_NONE},
    {"starttls", CONFIG_TLS_STARTTLS},
    {"direct", CONFIG_TLS_DIRECT},
    {"passthrough", CONFIG_TLS_PASSTHROUGH},
};
#define UPSTREAM_NTLS 3

int
config_check_listen_address(const char *s, const char **errstr)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return addr_parse_numeric(s, &ss, &len, errstr);
}

int
config_check_upstream_address(const char *s, const char **errstr)
{
	char host[HOST_MAX];
	unsigned port;

	return addr_split(s, host, sizeof(host), &port, errstr);
}

void
config_listen_init(void *obj)
{
	struct config_listen *l = obj;

	l->address = NULL;
	l->tls = CONFIG_TLS_NONE;
	l->tls_required = true;
	l->transparent = false;
	l->allow.v = NULL;
	l->allow.n = 0;
	l->proxy_protocol = 0;
}

void
config_listen_fini(struct config_listen *l)
{
	free(l->address);
	free(l->allow.v);
	l->address = NULL;
	l->allow.v = NULL;
	l->allow.n = 0;
}

void
config_listen_copy(struct config_listen *dst, const struct config_listen *src)
{
	*dst = *src;
	dst->address = src->address ? xstrdup(src->address) : NULL;
	dst->allow.v = NULL;
	if (src->allow.n > 0) {
		dst->allow.v =
		    xreallocarray(NULL, src->allow.n, sizeof(*src->allow.v));
		memcpy(dst->allow.v, src->allow.v,
		    src->allow.n * sizeof(*src->allow.v));
	}
}

static int
validate_listen_address(struct config_ctx *ctx, const cJSON *item)
{
	const char *errstr;
	char shown[80];

	if (config_check_listen_address(item->valuestring, &errstr) == -1)
		return config_error(ctx, "'%s': %s",
		    config_printable(item->valuestring, shown, sizeof(shown)),
		    errstr);
	return 0;
}

static int
validate_upstream_address(struct config_ctx *ctx, const cJSON *item)
{
	const char *errstr;
	char shown[80];

	if (config_check_upstream_address(item->valuestring, &errstr) == -1)
		return config_error(ctx, "'%s': %s",
		    config_printable(item->valuestring, shown, sizeof(shown)),
		    errstr);
	return 0;
}

/* Maps a TLS mode name among the first n of tls_names. */
static int
apply_tls(struct config_ctx *ctx, const cJSON *item, void *dst, size_t n)
{
	enum config_tls *tls = dst;
	struct buf allowed;
	char shown[80];
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(item->valuestring, tls_names[i].name) == 0)
			break;
	if (i == n) {
		buf_init(&allowed);
		for (i = 0; i < n; i++)
			buf_addf(&allowed, "%s'%s'", i ? ", " : "",
			    tls_names[i].name);
		config_error(ctx, "expected one of %s, got '%s'", allowed.data,
		    config_printable(item->valuestring, shown, sizeof(shown)));
		buf_fini(&allowed);
		return -1;
	}
	*tls = tls_names[i].tls;
	return 0;
}

static int
apply_listen_tls(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	return apply_tls(ctx, item, dst, NKEYS(tls_names));
}

static int
apply_upstream_tls(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	return apply_tls(ctx, item, dst, UPSTREAM_NTLS);
}

/*
 * listen[].proxy_protocol: true (either version, told apart by their first
 * bytes), "v1", "v2", "any", or false/"none".
 */
static int
apply_listen_proxy_protocol(
    struct config_ctx *ctx, const cJSON *item, void *dst)
{
	static const struct {
		const char *name;
		unsigned bits;
	} names[] = {{"none", 0}, {"v1", PROXYPROTO_V1}, {"v2", PROXYPROTO_V2},
	    {"any", PROXYPROTO_ANY}};
	unsigned *pp = dst;
	char shown[80];
	size_t i;

	if (cJSON_IsBool(item)) {
		*pp = cJSON_IsTrue(item) ? PROXYPROTO_ANY : 0;
		return 0;
	}
	if (cJSON_IsString(item))
		for (i = 0; i < NKEYS(names); i++)
			if (strcmp(item->valuestring, names[i].name) == 0) {
				*pp = names[i].bits;
				return 0;
			}
	if (cJSON_IsString(item))
		return config_error(ctx,
		    "expected true, false, 'v1', 'v2', "
		    "'any' or 'none', got '%s'",
		    config_printable(item->valuestring, shown, sizeof(shown)));
	return config_error(ctx, "expected a boolean or a string, got %s",
	    config_json_type_str(item));
}

/* upstream.proxy_protocol: "v1", "v2" or "none" (null: none). */
static int
apply_upstream_proxy_protocol(
    struct config_ctx *ctx, const cJSON *item, void *dst)
{
	int *version = dst;
	char shown[80];

	if (strcmp(item->valuestring, "v1") == 0)
		*version = 1;
	else if (strcmp(item->valuestring, "v2") == 0)
		*version = 2;
	else if (strcmp(item->valuestring, "none") == 0)
		*version = 0;
	else
		return config_error(ctx,
		    "expected one of 'v1', 'v2', 'none', "
		    "got '%s'",
		    config_printable(item->valuestring, shown, sizeof(shown)));
	return 0;
}

/* One destination pattern of transparent_allow. */
static int
check_allow_pattern(struct config_ctx *ctx, const char *s, struct netmatch *m)
{
	char why[160], shown[80];

	if (netmatch_parse(s, m, why, sizeof(why)) == -1)
		return config_error(ctx, "'%s': %s",
		    config_printable(s, shown, sizeof(shown)), why);
	return 0;
}

/* Each pattern of transparent_allow (a string or a list), by its index. */
static int
validate_allow(struct config_ctx *ctx, const cJSON *item)
{
	struct netmatch m;
	const cJSON *elem;
	size_t i = 0, mark;
	int rc = 0;

	if (cJSON_IsString(item))
		return check_allow_pattern(ctx, item->valuestring, &m);
	cJSON_ArrayForEach(elem, item)
	{
		mark = config_path_push_index(ctx, i++);
		if (check_allow_pattern(ctx, elem->valuestring, &m) == -1)
			rc = -1;
		config_path_pop(ctx, mark);
	}
	return rc;
}

/* Stores the patterns validate_allow has checked. */
static int
apply_allow(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	size_t off = offsetof(struct config_listen, allow);
	struct config_listen *l = (void *)((char *)dst - off);
	const cJSON *elem;
	size_t n = cJSON_IsString(item) ? 1 : (size_t)cJSON_GetArraySize(item);

	free(l->allow.v);
	l->allow.v = xcalloc(n, sizeof(*l->allow.v));
	l->allow.n = 0;
	if (cJSON_IsString(item))
		return check_allow_pattern(
		    ctx, item->valuestring, &l->allow.v[l->allow.n++]);
	cJSON_ArrayForEach(elem, item)
	{
		if (check_allow_pattern(ctx, elem->valuestring,
		        &l->allow.v[l->allow.n++]) == -1)
			return -1;
	}
	return 0;
}

static int
apply_min_version(struct config_ctx *ctx, const cJSON *item, void *dst)
{
	int *v = dst;
	char shown[80];

	if (strcmp(item->valuestring, "1.2") == 0)
		*v = TLS1_2_VERSION;
	else if (strcmp(item->valuestring, "1.3") == 0)
		*v = TLS1_3_VERSION;
	else
		return config_error(ctx,
		    "expected one of '1.2', '1.3', got '%s'",
		    config_printable(item->valuestring, shown, sizeof(shown)));
	return 0;
}

/* Reports "tls.<missing>: required with tls.<given>" for a half pair. */
static void
check_pair(struct config_ctx *ctx, const char *a, const char *av, const char *b,
    const char *bv)
{
	size_t mark;

	if ((av == NULL) == (bv == NULL))
		return;
	mark = config_path_push_key(ctx, av ? b : a);
	config_error(ctx, "required with tls.%s", av ? a : b);
	config_path_pop(ctx, mark);
}

static void
check_tls(struct config_ctx *ctx, void *obj, unsigned long long seen)
{
	struct config *cfg = ctx->cfg;
	size_t mark;

	(void)obj;
	(void)seen;
	check_pair(ctx, "cert", cfg->tls.cert, "key", cfg->tls.key);
	check_pair(ctx, "ca_cert", cfg->tls.ca_cert, "ca_key", cfg->tls.ca_key);
	if (cfg->tls.cert != NULL && cfg->tls.ca_cert != NULL) {
		mark = config_path_push_key(ctx, "ca_cert");
		config_error(ctx, "either a certificate (tls.cert) or a CA to "
		                  "forge with (tls.ca_cert), not both");
		config_path_pop(ctx, mark);
	}
}

/* A listener's TLS mode against the rest of the config. */
static void
check_listen_tls(struct config_ctx *ctx, const struct config *cfg,
    const struct config_listen *l)
{
	size_t mark = config_path_push_key(ctx, "tls");

	switch (l->tls) {
	case CONFIG_TLS_STARTTLS:
	case CONFIG_TLS_DIRECT:
		if (cfg->tls.cert == NULL && cfg->tls.ca_cert == NULL)
			config_error(ctx,
			    "'%s' needs tls.cert and tls.key "
			    "(or tls.ca_cert and tls.ca_key to forge)",
			    config_tls_str(l->tls));
		break;
	case CONFIG_TLS_PASSTHROUGH:
		if (cfg->upstream.tls != CONFIG_TLS_NONE)
			config_error(ctx,
			    "'passthrough' relays the client's "
			    "TLS to the server: it needs upstream.tls 'none', "
			    "not '%s'",
			    config_tls_str(cfg->upstream.tls));
		break;
	case CONFIG_TLS_NONE:
		break;
	}
	config_path_pop(ctx, mark);
}

int
config_same_listen_address(const char *a, const char *b)
{
	struct sockaddr_storage sa, sb;
	socklen_t la, lb;
	const char *errstr;

	if (a == NULL || b == NULL ||
	    addr_parse_numeric(a, &sa, &la, &errstr) == -1 ||
	    addr_parse_numeric(b, &sb, &lb, &errstr) == -1)
		return 0;
	return la == lb && memcmp(&sa, &sb, la) == 0;
}

#define LISTEN(f) offsetof(struct config_listen, f)
static const struct config_key listen_keys[] = {
    {.name = "address",
        .type = CONFIG_KEY_STRING,
        .required = true,
        .validate = validate_listen_address,
        .offset = LISTEN(address)},
    {.name = "tls",
        .type = CONFIG_KEY_STRING,
        .apply = apply_listen_tls,
        .offset = LISTEN(tls)},
    {.name = "required",
        .type = CONFIG_KEY_BOOL,
        .offset = LISTEN(tls_required)},
    {.name = "transparent",
        .type = CONFIG_KEY_BOOL,
        .offset = LISTEN(transparent)},
    {.name = "transparent_allow",
        .type = CONFIG_KEY_STRINGS,
        .validate = validate_allow,
        .apply = apply_allow,
        .offset = LISTEN(allow)},
    {.name = "proxy_protocol",
        .type = CONFIG_KEY_JSON,
        .apply = apply_listen_proxy_protocol,
        .offset = LISTEN(proxy_protocol)},
};

/* The keys of one listener that do not fit its other keys. */
static void
check_listen(struct config_ctx *ctx, void *obj, unsigned long long seen)
{
	const struct config_listen *l = obj;
	char why[80];

	if (config_key_seen(&config_listen_table, seen, "required") &&
	    l->tls != CONFIG_TLS_STARTTLS) {
		snprintf(why, sizeof(why),
		    "only applies to tls 'starttls', "
		    "not '%s'",
		    config_tls_str(l->tls));
		config_key_error(ctx, "required", why);
	}
	if (config_key_seen(&config_listen_table, seen, "transparent_allow") &&
	    !l->transparent)
		config_key_error(ctx, "transparent_allow",
		    "only applies to "
		    "a listener with transparent true");
	/* A load balancer's PROXY header already says where the client
	 * went; taking both would leave two answers to one question. */
	if (l->transparent && l->proxy_protocol != 0)
		config_key_error(ctx, "proxy_protocol",
		    "cannot be combined "
		    "with transparent true");
}

const struct config_table config_listen_table = {
    .check = check_listen,
    .keys = listen_keys,
    .nkeys = NKEYS(listen_keys),
    .elem_size = sizeof(struct config_listen),
    .init = config_listen_init,
};

/* Two listeners on one address could never both bind: say so now. */
void
config_check_listeners(struct config_ctx *ctx, const struct config *cfg)
{
	size_t i, j, mark;

	for (i = 0; i < cfg->nlisten; i++) {
		mark = config_path_push_key(ctx, "listen");
		config_path_push_index(ctx, i);
		check_listen_tls(ctx, cfg, &cfg->listen[i]);
		config_path_pop(ctx, mark);
	}
	for (j = 1; j < cfg->nlisten; j++) {
		for (i = 0; i < j; i++) {
			if (!config_same_listen_address(
			        cfg->listen[i].address, cfg->listen[j].address))
				continue;
			mark = config_path_push_key(ctx, "listen");
			config_path_push_index(ctx, j);
			config_path_push_key(ctx, "address");
			config_error(ctx, "same address as listen[%zu]", i);
			config_path_pop(ctx, mark);
			break;
		}
	}
}

static const struct config_key upstream_keys[] = {
    {.name = "address",
        .type = CONFIG_KEY_STRING,
        .validate = validate_upstream_address,
        .offset = IN(upstream, address)},
    {.name = "tls",
        .type = CONFIG_KEY_STRING,
        .apply = apply_upstream_tls,
        .offset = IN(upstream, tls)},
    {.name = "verify", .type = CONFIG_KEY_BOOL, .offset = IN(upstream, verify)},
    {.name = "ca_file",
        .type = CONFIG_KEY_STRING_OR_NULL,
        .validate = config_validate_nonempty,
        .offset = IN(upstream, ca_file)},
    {.name = "server_name",
        .type = CONFIG_KEY_STRING_OR_NULL,
        .validate = config_validate_nonempty,
        .offset = IN(upstream, server_name)},
    {.name = "proxy_protocol",
        .type = CONFIG_KEY_STRING_OR_NULL,
        .apply = apply_upstream_proxy_protocol,
        .offset = IN(upstream, proxy_protocol)},
};
const struct config_table config_upstream_table = {
    .keys = upstream_keys,
    .nkeys = NKEYS(upstream_keys),
};

static const struct config_key tls_keys[] = {
    {.name = "cert",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = IN(tls, cert)},
    {.name = "key",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = IN(tls, key)},
    {.name = "ca_cert",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = IN(tls, ca_cert)},
    {.name = "ca_key",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = IN(tls, ca_key)},
    {.name = "min_version",
        .type = CONFIG_KEY_STRING,
        .apply = apply_min_version,
        .offset = IN(tls, min_version)},
    {.name = "ciphers",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = IN(tls, ciphers)},
    {.name = "ciphersuites",
        .type = CONFIG_KEY_STRING,
        .validate = config_validate_nonempty,
        .offset = IN(tls, ciphersuites)},
};
const struct config_table config_tls_table = {
    .keys = tls_keys,
    .nkeys = NKEYS(tls_keys),
    .check = check_tls,
};
