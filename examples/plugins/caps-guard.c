/* SPDX-License-Identifier: ISC */
/*
 * caps-guard: an example xmppgate plugin (ABI 1, <xmppgate/plugin.h>).
 *
 * As a filter, it quiets shouting: a message body (plain or XHTML-IM) of
 * at least min_length letters, of which at least percent per cent are
 * upper case, is rewritten to lower case. With "block": true it bounces
 * such messages instead. As an observer, it counts the final verdicts of
 * every message it saw and logs them when xmppgate unloads it (at exit or
 * on a reload).
 *
 * Config, all optional:
 *   { "min_length": 8, "percent": 80, "block": false }
 *
 * Build (make check builds it as examples/plugins/caps-guard.so):
 *   cc -shared -fPIC -I/usr/include -o caps-guard.so caps-guard.c -lcjson
 * and load it with a filter entry:
 *   { "type": "plugin", "path": "/path/to/caps-guard.so",
 *     "direction": "c2s", "config": { "percent": 70 } }
 *
 * It only lowers ASCII letters: a real plugin would use a Unicode library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <xmppgate/plugin.h>

struct caps_guard {
	const struct xg_host *host; /* borrowed: valid until destroy */
	unsigned min_length;
	unsigned percent;
	int block;
	unsigned long seen[5]; /* final verdicts, by enum xg_verdict */
};

/* Reads an optional whole number in [lo, hi]; -1 with err set if bad. */
static int
caps_number(const cJSON *o, const char *key, unsigned lo, unsigned hi,
    unsigned *out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    (double)(unsigned)v->valuedouble != v->valuedouble) {
		snprintf(err, errlen,
		    "%s: expected a whole number from %u to "
		    "%u",
		    key, lo, hi);
		return -1;
	}
	*out = (unsigned)v->valuedouble;
	return 0;
}

static void *
caps_create(const struct xg_host *host, const char *config_json, char *err,
    size_t errlen)
{
	struct caps_guard *g;
	const cJSON *v, *k;
	cJSON *o;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->host = host;
	g->min_length = 8;
	g->percent = 80;
	if ((o = cJSON_Parse(config_json)) == NULL) {
		snprintf(err, errlen, "config: invalid JSON");
		goto fail;
	}
	if (!cJSON_IsNull(o)) {
		if (!cJSON_IsObject(o)) {
			snprintf(err, errlen, "config: expected an object");
			goto fail;
		}
		cJSON_ArrayForEach(k, o)
		{
			if (strcmp(k->string, "min_length") != 0 &&
			    strcmp(k->string, "percent") != 0 &&
			    strcmp(k->string, "block") != 0) {
				snprintf(err, errlen, "config.%s: unknown key",
				    k->string);
				goto fail;
			}
		}
		if (caps_number(o, "min_length", 1, 100000, &g->min_length, err,
		        errlen) == -1 ||
		    caps_number(
		        o, "percent", 1, 100, &g->percent, err, errlen) == -1)
			goto fail;
		v = cJSON_GetObjectItemCaseSensitive(o, "block");
		if (v != NULL && !cJSON_IsBool(v)) {
			snprintf(err, errlen, "block: expected a boolean");
			goto fail;
		}
		g->block = cJSON_IsTrue(v);
	}
	cJSON_Delete(o);
	return g;
fail:
	cJSON_Delete(o);
	free(g);
	return NULL;
}

/* Whether text shouts: enough letters, and enough of them upper case. */
static int
caps_shouts(const struct caps_guard *g, const char *s, size_t len)
{
	size_t i, letters = 0, upper = 0;

	for (i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			upper++;
		else if (!(s[i] >= 'a' && s[i] <= 'z'))
			continue;
		letters++;
	}
	return letters >= g->min_length &&
	       upper * 100 >= (size_t)g->percent * letters;
}

static enum xg_verdict
caps_filter(void *state, struct xg_stanza *st, const char **reason)
{
	struct caps_guard *g = state;
	const struct xg_host *h = g->host;
	const char *text, *what;
	enum xg_verdict v = XG_PASS;
	size_t i, j, len;
	char *lower;

	if (strcmp(h->kind(st), "message") != 0)
		return XG_PASS;
	for (i = 0; i < h->text_count(st); i++) {
		text = h->text(st, i, &what, &len);
		if ((strcmp(what, "body") != 0 && strcmp(what, "xhtml") != 0) ||
		    !caps_shouts(g, text, len))
			continue;
		if (g->block) {
			*reason = "please do not shout";
			return XG_BOUNCE;
		}
		if ((lower = malloc(len + 1)) == NULL)
			return XG_PASS;
		for (j = 0; j < len; j++)
			lower[j] = text[j] >= 'A' && text[j] <= 'Z'
			               ? (char)(text[j] - 'A' + 'a')
			               : text[j];
		if (h->set_text(st, i, lower, len) == 0)
			v = XG_REWRITE;
		free(lower);
	}
	if (v == XG_REWRITE)
		h->log(st, XG_LOG_DEBUG, "lowered a shouting message");
	return v;
}

static void
caps_observe(void *state, const struct xg_stanza *st, enum xg_verdict final)
{
	struct caps_guard *g = state;

	if (strcmp(g->host->kind(st), "message") == 0 &&
	    (unsigned) final < sizeof(g->seen) / sizeof(g->seen[0]))
		g->seen[final]++;
}

static void
caps_destroy(void *state)
{
	struct caps_guard *g = state;
	char line[160];

	snprintf(line, sizeof(line),
	    "messages seen: %lu passed, %lu "
	    "rewritten, %lu dropped, %lu bounced, %lu closed",
	    g->seen[XG_PASS], g->seen[XG_REWRITE], g->seen[XG_DROP],
	    g->seen[XG_BOUNCE], g->seen[XG_CLOSE]);
	g->host->log(NULL, XG_LOG_INFO, line);
	free(g);
}

const struct xg_plugin xmppgate_plugin = {
    .abi_version = XG_PLUGIN_ABI_VERSION,
    .name = "caps-guard",
    .create = caps_create,
    .filter = caps_filter,
    .observe = caps_observe,
    .destroy = caps_destroy,
};
