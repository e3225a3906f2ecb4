/* SPDX-License-Identifier: ISC */
/*
 * The live trace (--trace, the "console" log): one readable view of a session
 * for a developer watching it. A stanza gets a header line (time, session,
 * direction, kind, type, id, from/to, verdict and rules when a filter
 * matched, "from xmppgate" for the proxy's own bounces) and its element
 * pretty-printed and indented beneath; every other event gets one line with
 * its key facts. ANSI colour by direction when asked. It always redacts:
 * whatever the caller hands over, no secret reaches the terminal. Control
 * characters from peers are shown escaped, never sent to the terminal. It
 * writes to a FILE it does not own and flushes after every event; it does
 * not parse events back or keep any state between them.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "redact.h"
#include "sink.h"
#include "xmalloc.h"
#include "xnode.h"

#define XML_INDENT "    "
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define C_RESET "\033[0m"
#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_C2S "\033[36m" /* cyan */
#define C_S2C "\033[33m" /* yellow */

struct sink_trace {
	struct sink sink; /* first: the struct sink * handed out points here */
	FILE *out;        /* borrowed */
	bool color;
};

/* Colour code s, or "" when colour is off. */
static const char *
col(const struct sink_trace *t, const char *s)
{
	return t->color ? s : "";
}

/*
 * Appends s, escaping bytes a terminal would act on: C0 controls but tab,
 * DEL and the UTF-8 encoded C1 controls U+0080..U+009F.
 */
static void
add_safe(struct buf *b, const char *s, size_t len)
{
	unsigned char c, d;
	size_t i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		d = i + 1 < len ? (unsigned char)s[i + 1] : 0;
		if (c == 0xc2 && d >= 0x80 && d <= 0x9f) {
			buf_addf(b, "\\u%04x", d);
			i++;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			buf_addf(b, "\\x%02x", c);
		} else {
			buf_addc(b, (char)c);
		}
	}
}

/* Appends s escaped, or "?" when it is NULL. */
static void
add_str(struct buf *b, const char *s)
{
	if (s == NULL)
		s = "?";
	add_safe(b, s, strlen(s));
}

static const char *
str(const cJSON *ev, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(ev, key));

	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Appends a value as the JSON would show it, strings without quotes. */
static void
add_value(struct buf *b, const cJSON *v)
{
	char *s;

	if (cJSON_IsString(v)) {
		add_safe(b, v->valuestring, strlen(v->valuestring));
		return;
	}
	s = cJSON_PrintUnformatted(v);
	if (s != NULL)
		add_safe(b, s, strlen(s));
	cJSON_free(s);
}

/* Appends " rules=name:action[:dry_run][:limit],..." for a stanza's hits. */
static void
add_rules(struct buf *b, const cJSON *rules)
{
	const cJSON *r;
	const char *v;
	int i = 0;

	cJSON_ArrayForEach(r, rules)
	{
		buf_adds(b, i++ ? "," : " rules=");
		if ((v = str(r, "name")) != NULL)
			add_safe(b, v, strlen(v));
		if ((v = str(r, "action")) != NULL) {
			buf_addc(b, ':');
			add_safe(b, v, strlen(v));
		}
		if (cJSON_IsTrue(cJSON_GetObjectItem(r, "dry_run")))
			buf_adds(b, ":dry_run");
		if (cJSON_IsTrue(cJSON_GetObjectItem(r, "limit")))
			buf_adds(b, ":limit");
	}
}

/* Appends " key=value" when ev has key (and it is not an empty string). */
static void
add_kv(struct buf *b, const cJSON *ev, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(ev, key);

	if (v == NULL || cJSON_IsNull(v) ||
	    (cJSON_IsString(v) && v->valuestring[0] == '\0'))
		return;
	buf_addf(b, " %s=", key);
	add_value(b, v);
}

/* The line prefix: time (HH:MM:SS.mmm, UTC as in ts) and session id. */
static void
add_prefix(const struct sink_trace *t, struct buf *b, const cJSON *ev)
{
	const char *ts = str(ev, "ts"), *sid = str(ev, "session");
	const char *tpos = ts != NULL ? strchr(ts, 'T') : NULL;

	buf_adds(b, col(t, C_DIM));
	if (tpos != NULL && strlen(tpos + 1) >= 12)
		add_safe(b, tpos + 1, 12);
	else
		buf_adds(b, "--:--:--.---");
	buf_addc(b, ' ');
	add_safe(b, sid != NULL ? sid : "-", sid != NULL ? strlen(sid) : 1);
	buf_adds(b, col(t, C_RESET));
	buf_addc(b, ' ');
}

/* The direction marker, coloured; dir_col gets the colour used. */
static void
add_dir(const struct sink_trace *t, struct buf *b, const cJSON *ev,
    const char **dir_col)
{
	const char *dir = str(ev, "dir"), *mark = NULL;

	*dir_col = "";
	if (dir != NULL && strcmp(dir, "c2s") == 0) {
		*dir_col = col(t, C_C2S);
		mark = "C→S";
	} else if (dir != NULL && strcmp(dir, "s2c") == 0) {
		*dir_col = col(t, C_S2C);
		mark = "S→C";
	}
	if (mark != NULL) {
		buf_addf(b, "%s%s%s%s ", col(t, C_BOLD), *dir_col, mark,
		    col(t, C_RESET));
	} else if (dir != NULL) {
		add_str(b, dir);
		buf_addc(b, ' ');
	}
}

/* Appends text with XML_INDENT at the start of every line, in colour c. */
static void
add_block(const struct sink_trace *t, struct buf *b, const char *text,
    size_t len, const char *c)
{
	const char *p = text, *end = text + len, *nl;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		end = text + --len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		buf_addf(b, "%s%s", XML_INDENT, c);
		add_safe(b, p, (size_t)(nl - p));
		buf_addf(b, "%s\n", c[0] != '\0' ? C_RESET : "");
		p = nl + 1;
	}
}

static void
trace_stanza(struct sink_trace *t, struct buf *b, const cJSON *ev,
    const struct event_xml *x)
{
	const char *dc, *kind = str(ev, "kind"), *type = str(ev, "type");
	const char *verdict = str(ev, "verdict");
	const cJSON *rules = cJSON_GetObjectItem(ev, "rules");
	const cJSON *bytes = cJSON_GetObjectItem(ev, "bytes");
	const struct xnode *tree = NULL;
	struct xnode *own = NULL;
	struct buf xml;
	bool err = type != NULL && strcmp(type, "error") == 0;

	add_dir(t, b, ev, &dc);
	buf_addf(b, "%s%s", col(t, C_BOLD), err ? col(t, C_RED) : dc);
	add_str(b, kind);
	buf_adds(b, col(t, C_RESET));
	add_kv(b, ev, "type");
	add_kv(b, ev, "id");
	add_kv(b, ev, "from");
	add_kv(b, ev, "to");
	if (cJSON_IsNumber(bytes))
		buf_addf(b, "%s %.0fB%s", col(t, C_DIM), bytes->valuedouble,
		    col(t, C_RESET));
	if (str(ev, "by") != NULL)
		buf_addf(
		    b, " %s(from xmppgate)%s", col(t, C_BOLD), col(t, C_RESET));
	if ((verdict != NULL && strcmp(verdict, "pass") != 0) ||
	    cJSON_GetArraySize(rules) > 0) {
		buf_addf(b, " %s%sverdict=", col(t, C_BOLD), col(t, C_RED));
		add_safe(b, verdict ? verdict : "?",
		    strlen(verdict ? verdict : "?"));
		add_rules(b, rules);
		buf_adds(b, col(t, C_RESET));
	}
	buf_addc(b, '\n');
	if (x == NULL)
		return;

	/*
	 * Redact here even when the caller did not: a NULL redacted_tree may
	 * mean "nothing to redact" or "not computed", and the check is cheap.
	 */
	if (x->redacted_tree != NULL)
		tree = x->redacted_tree;
	else if (x->tree != NULL)
		tree = (own = redact_copy(x->tree)) != NULL ? own : x->tree;
	if (tree != NULL) {
		buf_init(&xml);
		xnode_serialize_pretty(tree, "jabber:client", 2, &xml);
		add_block(t, b, xml.data != NULL ? xml.data : "", xml.len,
		    err ? col(t, C_RED) : dc);
		buf_fini(&xml);
		xnode_free(own);
	} else if (x->redacted != NULL) {
		add_block(t, b, x->redacted, strlen(x->redacted), dc);
	} else if (x->xml != NULL) {
		/* No tree, so nothing could be parsed to hold a secret. */
		add_block(t, b, x->xml, x->len, dc);
	}
}

/*
 * The one-line events: a label, then keys shown as key=value, or the value
 * alone with '=', or "→ key value" with '>'; '@' marks computed parts.
 */
struct trace_fmt {
	const char *event;
	const char *label;
	const char *keys[7];
};

static const struct trace_fmt trace_fmts[] = {
    {"session.open", "session open",
        {"=client", "via", ">upstream", "listener"}},
    {"stream.open", "stream open", {"to", "from", "id", "version", "lang"}},
    {"auth", "auth",
        {"=mechanism", "=outcome", "authcid", "condition", "sasl"}},
    {"bind", "bind", {"=jid"}},
    {"stream.error", "stream error", {"condition", "by", "text"}},
    {"stream.close", "stream close", {NULL}},
    {"session.close", "session close",
        {"reason", "@duration", "@counts", "jid", "dropped", "rewritten",
            "detail"}},
    {"tls", "tls",
        {"=leg", "=mode", "=version", "cipher", "sni", "verified",
            "inspected"}},
    {"channel-binding", "channel binding", {"=mechanism", "gs2", "reason"}},
};

/* " c2s 12345B/6 stanzas" from the dir members of bytes and stanzas. */
static void
add_counts(struct buf *b, const cJSON *ev, const char *dir)
{
	const cJSON *by =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "bytes"), dir);
	const cJSON *st =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "stanzas"), dir);

	buf_addf(b, " %s %.0fB/%.0f stanzas", dir,
	    cJSON_IsNumber(by) ? by->valuedouble : 0.0,
	    cJSON_IsNumber(st) ? st->valuedouble : 0.0);
}

static void
add_key(struct buf *b, const cJSON *ev, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(ev, key + 1);

	if (strcmp(key, "@counts") == 0) {
		add_counts(b, ev, "c2s");
		add_counts(b, ev, "s2c");
	} else if (strcmp(key, "@duration") == 0) {
		v = cJSON_GetObjectItem(ev, "duration_s");
		if (cJSON_IsNumber(v) && v->valuedouble < 1.0)
			buf_addf(b, " %.0fms", v->valuedouble * 1000.0);
		else if (cJSON_IsNumber(v))
			buf_addf(b, " %.1fs", v->valuedouble);
	} else if (key[0] == '=' || key[0] == '>') {
		buf_addf(b, key[0] == '>' ? " → %s " : " ", key + 1);
		if (v != NULL)
			add_value(b, v);
		else
			buf_addc(b, '?');
	} else {
		add_kv(b, ev, key);
	}
}

/* Every member but the ones the prefix shows and the XML, as key=value. */
static void
add_all(struct buf *b, const cJSON *ev)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, ev)
	{
		if (it->string == NULL || strcmp(it->string, "ts") == 0 ||
		    strcmp(it->string, "event") == 0 ||
		    strcmp(it->string, "session") == 0 ||
		    strcmp(it->string, "xml") == 0 ||
		    strcmp(it->string, "original_xml") == 0)
			continue;
		add_kv(b, ev, it->string);
	}
}

static void
trace_line(
    struct sink_trace *t, struct buf *b, const char *event, const cJSON *ev)
{
	const struct trace_fmt *f = NULL;
	const char *dc, *outcome = str(ev, "outcome");
	bool bad = strcmp(event, "stream.error") == 0 ||
	           strcmp(event, "channel-binding") == 0 ||
	           (outcome != NULL && strcmp(outcome, "success") != 0);
	size_t i;

	for (i = 0; i < NELEM(trace_fmts); i++)
		if (strcmp(event, trace_fmts[i].event) == 0)
			f = &trace_fmts[i];
	add_dir(t, b, ev, &dc);
	buf_adds(b, bad ? col(t, C_RED) : dc);
	if (f == NULL) {
		add_str(b, event);
		add_all(b, ev);
	} else {
		buf_adds(b, f->label);
		for (i = 0; i < NELEM(f->keys) && f->keys[i] != NULL; i++)
			add_key(b, ev, f->keys[i]);
	}
	buf_addf(b, "%s\n", bad || dc[0] != '\0' ? col(t, C_RESET) : "");
}

static void
trace_emit(struct sink *s, cJSON *ev, const struct event_xml *x)
{
	struct sink_trace *t = (struct sink_trace *)s;
	const char *event = str(ev, "event");
	struct buf b;

	buf_init(&b);
	add_prefix(t, &b, ev);
	if (event != NULL && strcmp(event, "stanza") == 0)
		trace_stanza(t, &b, ev, x);
	else
		trace_line(t, &b, event != NULL ? event : "event", ev);
	/* One write per event keeps lines whole when others share the FILE. */
	fwrite(b.data, 1, b.len, t->out);
	fflush(t->out);
	buf_fini(&b);
}

static int
trace_reopen(struct sink *s)
{
	return 0;
}

static void
trace_flush(struct sink *s)
{
	fflush(((struct sink_trace *)s)->out);
}

static void
trace_free(struct sink *s)
{
	if (s != NULL)
		fflush(((struct sink_trace *)s)->out);
	free(s);
}

static const struct sink_ops trace_ops = {
    .emit = trace_emit,
    .reopen = trace_reopen,
    .flush = trace_flush,
    .free = trace_free,
};

struct sink *
sink_trace_new(FILE *out, bool color)
{
	struct sink_trace *t = xcalloc(1, sizeof(*t));

	t->sink.ops = &trace_ops;
	t->sink.redact = true;
	t->out = out;
	t->color = color;
	return &t->sink;
}
