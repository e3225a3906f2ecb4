/* SPDX-License-Identifier: ISC */
/*
 * The regex filter: rules of conditions (stanza kind, type, from, to, the
 * session's JID, elements present, and a PCRE2 pattern over the decoded
 * text of every place content lives) and one action. Patterns are compiled
 * once, in UTF mode with Unicode properties (\d, \w and \b know every
 * script), JIT-compiled when the platform allows, and run under the
 * config's match and depth limits: a pattern that hits a limit on a
 * hostile stanza counts as a match (fail closed), and a rewrite that cannot
 * finish becomes a drop. A rewrite substitutes in every place, so the
 * plain body and the XHTML-IM copy stay the same.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "filter_int.h"
#include "jidpat.h"
#include "log.h"
#include "stanza.h"
#include "utf8.h"
#include "xmalloc.h"

#define REGEX_OPTIONS (PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C)
/* The JIT stack a pattern may use before PCRE2_ERROR_JIT_STACKLIMIT. */
#define REGEX_JIT_STACK_MIN (32 * 1024)
#define REGEX_JIT_STACK_MAX (1024 * 1024)

#define KIND_MESSAGE 0x1
#define KIND_PRESENCE 0x2
#define KIND_IQ 0x4

struct regex_has {
	char *ns;   /* owned */
	char *name; /* owned or NULL: any element of ns */
};

struct regex_rule {
	enum config_action action;
	unsigned kinds;       /* KIND_* bits; 0: any */
	char **types;         /* owned list, or NULL */
	struct jidpat **from; /* owned NULL-terminated, or NULL */
	struct jidpat **to;
	struct jidpat **sjid;
	struct regex_has *has; /* owned array */
	size_t nhas;
	char **attrs;              /* owned list, or NULL */
	pcre2_code *code;          /* owned, or NULL without a text condition */
	pcre2_match_data *md;      /* owned */
	pcre2_match_context *mctx; /* owned */
	pcre2_jit_stack *jit;      /* owned, or NULL without JIT */
	char *replace;             /* owned or NULL */
	char *reason;              /* owned: text for bounce and close */
};

static char **
regex_strings_dup(char *const *list)
{
	size_t n = 0, i;
	char **out;

	if (list == NULL)
		return NULL;
	while (list[n] != NULL)
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = xstrdup(list[i]);
	return out;
}

static void
regex_strings_free(char **list)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

static bool
regex_in(char *const *list, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Formats PCRE2's message for code at offset into err. */
static void
regex_error(int code, size_t offset, bool with_offset, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];

	if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "PCRE2 error %d", code);
	if (with_offset)
		snprintf(
		    err, errlen, "%s at offset %zu", (const char *)msg, offset);
	else
		snprintf(err, errlen, "%s", (const char *)msg);
}

static pcre2_code *
regex_compile(const char *pattern, char *err, size_t errlen)
{
	PCRE2_SIZE erroff;
	pcre2_code *code;
	int errcode;

	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    REGEX_OPTIONS, &errcode, &erroff, NULL);
	if (code == NULL)
		regex_error(errcode, erroff, true, err, errlen);
	return code;
}

/*
 * The replacement's literal characters are XML characters, and each $n,
 * ${n} or ${name} names a group of code. A dummy substitution would not
 * catch a group that only a real match exercises, so walk it instead.
 */
static int
regex_check_replace(
    const pcre2_code *code, const char *r, char *err, size_t errlen)
{
	uint32_t groups = 0, c;
	const unsigned char *p = (const unsigned char *)r;
	const unsigned char *end = p + strlen(r);
	char name[128];
	size_t n;

	(void)pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
	while (p < end) {
		if ((n = utf8_decode(p, (size_t)(end - p), &c)) == 0) {
			snprintf(err, errlen, "not valid UTF-8");
			return -1;
		}
		p += n;
		if (!utf8_xml_char(c)) {
			snprintf(err, errlen, "U+%04X is not allowed in XML",
			    (unsigned)c);
			return -1;
		}
		if (c != '$')
			continue;
		if (*p == '$') {
			p++;
			continue;
		}
		n = 0;
		if (*p == '{') {
			p++;
			while (*p != '}' && *p != '\0' && n < sizeof(name) - 1)
				name[n++] = (char)*p++;
			if (*p != '}') {
				snprintf(err, errlen, "'${' without '}'");
				return -1;
			}
			p++;
		} else {
			while (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
			       (*p >= '0' && *p <= '9') || *p == '_') {
				if (n < sizeof(name) - 1)
					name[n++] = (char)*p;
				p++;
			}
		}
		name[n] = '\0';
		if (n == 0) {
			snprintf(err, errlen,
			    "'$' must be followed by a group "
			    "number or name, or be written '$$'");
			return -1;
		}
		if (name[0] >= '0' && name[0] <= '9') {
			if (strspn(name, "0123456789") != n ||
			    strtoul(name, NULL, 10) > groups) {
				snprintf(err, errlen,
				    "'$%s': match.text has "
				    "%u capture groups",
				    name, groups);
				return -1;
			}
		} else if (pcre2_substring_number_from_name(
		               code, (PCRE2_SPTR)name) < 0) {
			snprintf(err, errlen,
			    "'$%s': match.text has no group "
			    "of that name",
			    name);
			return -1;
		}
	}
	return 0;
}

int
filter_regex_check(
    const char *pattern, const char *replace, char *err, size_t errlen)
{
	pcre2_code *code;
	int rc = 0;

	if ((code = regex_compile(pattern, err, errlen)) == NULL)
		return 1;
	if (replace != NULL &&
	    regex_check_replace(code, replace, err, errlen) == -1)
		rc = 2;
	pcre2_code_free(code);
	return rc;
}

static struct jidpat **
regex_jids_new(char *const *list)
{
	struct jidpat **out;
	size_t n = 0, i;

	if (list == NULL)
		return NULL;
	while (list[n] != NULL)
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		if ((out[i] = jidpat_new(list[i])) == NULL)
			fatalx("JID pattern '%s' passed the check", list[i]);
	return out;
}

static void
regex_jids_free(struct jidpat **list)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		jidpat_free(list[i]);
	free(list);
}

/* "ns" or "{ns}name" (checked by the config). */
static void
regex_has_init(struct regex_rule *r, char *const *list)
{
	const char *close;
	size_t i;

	for (r->nhas = 0; list != NULL && list[r->nhas] != NULL; r->nhas++)
		;
	r->has = xcalloc(r->nhas ? r->nhas : 1, sizeof(*r->has));
	for (i = 0; i < r->nhas; i++) {
		if (list[i][0] == '{' && (close = strchr(list[i], '}'))) {
			r->has[i].ns = xstrndup(
			    list[i] + 1, (size_t)(close - list[i] - 1));
			r->has[i].name = xstrdup(close + 1);
		} else
			r->has[i].ns = xstrdup(list[i]);
	}
}

static unsigned
regex_kinds(char *const *list)
{
	unsigned k = 0;
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		k |= strcmp(list[i], "message") == 0    ? KIND_MESSAGE
		     : strcmp(list[i], "presence") == 0 ? KIND_PRESENCE
		                                        : KIND_IQ;
	return k;
}

static void
regex_free(void *impl)
{
	struct regex_rule *r = impl;
	size_t i;

	if (r == NULL)
		return;
	regex_strings_free(r->types);
	regex_jids_free(r->from);
	regex_jids_free(r->to);
	regex_jids_free(r->sjid);
	for (i = 0; i < r->nhas; i++) {
		free(r->has[i].ns);
		free(r->has[i].name);
	}
	free(r->has);
	regex_strings_free(r->attrs);
	pcre2_match_data_free(r->md);
	pcre2_match_context_free(r->mctx);
	pcre2_jit_stack_free(r->jit);
	pcre2_code_free(r->code);
	free(r->replace);
	free(r->reason);
	free(r);
}

/* Compiles the text condition with the config's limits; JIT is optional. */
static int
regex_init_pattern(struct regex_rule *r, const char *pattern,
    const struct config *cfg, char **err)
{
	char msg[256];

	if ((r->code = regex_compile(pattern, msg, sizeof(msg))) == NULL) {
		*err = xasprintf("match.text: %s", msg);
		return -1;
	}
	r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
	r->mctx = pcre2_match_context_create(NULL);
	if (r->md == NULL || r->mctx == NULL)
		fatalx("pcre2: out of memory");
	pcre2_set_match_limit(r->mctx, cfg->limits.regex_match_limit);
	pcre2_set_depth_limit(r->mctx, cfg->limits.regex_depth_limit);
	if (pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0) {
		r->jit = pcre2_jit_stack_create(
		    REGEX_JIT_STACK_MIN, REGEX_JIT_STACK_MAX, NULL);
		if (r->jit != NULL)
			pcre2_jit_stack_assign(r->mctx, NULL, r->jit);
	}
	return 0;
}

static const struct filter_ops regex_ops;

int
filter_regex_init(struct filter *f, const struct config_filter *cf,
    const struct config *cfg, char **err)
{
	struct regex_rule *r = xcalloc(1, sizeof(*r));
	const struct config_filter_match *m = &cf->match;

	r->action = cf->action;
	r->kinds = regex_kinds(m->stanza);
	r->types = regex_strings_dup(m->type);
	r->from = regex_jids_new(m->from);
	r->to = regex_jids_new(m->to);
	r->sjid = regex_jids_new(m->session_jid);
	regex_has_init(r, m->has);
	r->attrs = regex_strings_dup(m->attributes);
	r->replace = cf->replace ? xstrdup(cf->replace) : NULL;
	r->reason = xasprintf("%s (rule %s)",
	    cf->reason ? cf->reason : "blocked by the server's content policy",
	    cf->name);
	if (m->text != NULL && regex_init_pattern(r, m->text, cfg, err) == -1) {
		regex_free(r);
		return -1;
	}
	f->ops = &regex_ops;
	f->impl = r;
	return 0;
}

static bool
regex_any_jid(struct jidpat *const *pats, const char *jid)
{
	size_t i;

	for (i = 0; pats[i] != NULL; i++)
		if (jidpat_match(pats[i], jid))
			return true;
	return false;
}

/* Every condition but the text. */
static bool
regex_conditions(const struct regex_rule *r, const struct stanza *st,
    const struct filter_ctx *ctx)
{
	static const unsigned kind_bit[] = {
	    [STANZA_MESSAGE] = KIND_MESSAGE,
	    [STANZA_PRESENCE] = KIND_PRESENCE,
	    [STANZA_IQ] = KIND_IQ,
	};
	const char *from = st->from, *to = st->to;
	size_t i;

	if (st->kind == STANZA_NONZA)
		return false;
	if (r->kinds != 0 && !(r->kinds & kind_bit[st->kind]))
		return false;
	if (r->types != NULL && !regex_in(r->types, stanza_effective_type(st)))
		return false;
	/* The server stamps a client's from and delivers a to-less stanza
	 * to the account: judge the addresses the stanza will have. */
	if (from == NULL && ctx->dir == FILTER_C2S)
		from = ctx->session_jid;
	if (to == NULL && ctx->dir == FILTER_S2C)
		to = ctx->session_jid;
	if (r->from != NULL && !regex_any_jid(r->from, from))
		return false;
	if (r->to != NULL && !regex_any_jid(r->to, to))
		return false;
	if (r->sjid != NULL && !regex_any_jid(r->sjid, ctx->session_jid))
		return false;
	for (i = 0; i < r->nhas; i++)
		if (!stanza_has(st, r->has[i].ns, r->has[i].name))
			return false;
	return true;
}

/*
 * Whether the rule looks at place p: text always, link attributes (href,
 * src, uri: stanza.h) always, other attributes when the rule names them
 * (another rule's names put them in the stanza's places too).
 */
static bool
regex_wants_place(const struct regex_rule *r, const struct stanza_place *p)
{
	return p->attr == NULL || strcmp(p->attr, "href") == 0 ||
	       strcmp(p->attr, "src") == 0 || strcmp(p->attr, "uri") == 0 ||
	       (r->attrs != NULL && regex_in(r->attrs, p->attr));
}

static bool
regex_limit_error(int rc)
{
	return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	       rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

/* 1 match, 0 none, -1 a limit or another matching error. */
static int
regex_match(struct regex_rule *r, const char *s, size_t len, size_t offset,
    uint32_t opts)
{
	int rc = pcre2_match(r->code, (PCRE2_SPTR)s, len, offset,
	    opts | PCRE2_NO_UTF_CHECK, r->md, r->mctx);

	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (!regex_limit_error(rc))
		log_warnx("regex: matching failed (PCRE2 error %d): treated "
		          "as a match",
		    rc);
	return -1;
}

/* The bytes of the UTF-8 character starting at s[i] (1 at the end). */
static size_t
regex_char_len(const char *s, size_t len, size_t i)
{
	size_t n = 1;

	while (i + n < len && ((unsigned char)s[i + n] & 0xc0) == 0x80)
		n++;
	return n;
}

struct regex_spans {
	struct stanza_span *v; /* owned */
	char **repl;           /* owned: v[i].repl's storage */
	size_t n;
};

static void
regex_spans_free(struct regex_spans *sp)
{
	size_t i;

	for (i = 0; i < sp->n; i++)
		free(sp->repl[i]);
	free(sp->repl);
	free(sp->v);
}

/* The replacement for the match in r->md: $n expanded. -1 on a limit. */
static int
regex_expand(
    struct regex_rule *r, const char *s, size_t len, struct regex_spans *sp)
{
	const uint32_t opts =
	    PCRE2_SUBSTITUTE_MATCHED | PCRE2_SUBSTITUTE_REPLACEMENT_ONLY |
	    PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_NO_UTF_CHECK;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
	PCRE2_SIZE outlen = 256;
	PCRE2_UCHAR *out = xmalloc(outlen);
	int rc;

	rc = pcre2_substitute(r->code, (PCRE2_SPTR)s, len, 0, opts, r->md,
	    r->mctx, (PCRE2_SPTR)r->replace, PCRE2_ZERO_TERMINATED, out,
	    &outlen);
	if (rc == PCRE2_ERROR_NOMEMORY) {
		free(out);
		out = xmalloc(outlen);
		rc = pcre2_substitute(r->code, (PCRE2_SPTR)s, len, 0, opts,
		    r->md, r->mctx, (PCRE2_SPTR)r->replace,
		    PCRE2_ZERO_TERMINATED, out, &outlen);
	}
	if (rc < 0) {
		free(out);
		return -1;
	}
	sp->v = xreallocarray(sp->v, sp->n + 1, sizeof(*sp->v));
	sp->repl = xreallocarray(sp->repl, sp->n + 1, sizeof(*sp->repl));
	sp->repl[sp->n] = (char *)out;
	sp->v[sp->n].start = ov[0];
	sp->v[sp->n].end = ov[1];
	sp->v[sp->n].repl = (const char *)out;
	sp->v[sp->n].repl_len = outlen;
	sp->n++;
	return 0;
}

/*
 * Every match in place i, replaced. 1 when something was replaced, 0 when
 * nothing matched, -1 when a limit stopped it (nothing changed then).
 */
static int
regex_rewrite_place(struct regex_rule *r, struct stanza *st, size_t i)
{
	const char *s = st->places[i].text;
	size_t len = st->places[i].len, off = 0;
	struct regex_spans sp = {NULL, NULL, 0};
	PCRE2_SIZE *ov;
	int m;

	while (off <= len && (m = regex_match(r, s, len, off, 0)) == 1) {
		ov = pcre2_get_ovector_pointer(r->md);
		if (regex_expand(r, s, len, &sp) == -1) {
			m = -1;
			break;
		}
		/* An empty match moves on by one character, as Perl does. */
		off = ov[1] > ov[0]
		          ? ov[1]
		          : ov[1] + (ov[1] < len ? regex_char_len(s, len, ov[1])
		                                 : 1);
	}
	if (m == -1) {
		regex_spans_free(&sp);
		return -1;
	}
	m = sp.n > 0;
	if (m)
		stanza_replace(st, i, sp.v, sp.n);
	regex_spans_free(&sp);
	return m;
}

static enum filter_verdict
regex_verdict(enum config_action a)
{
	switch (a) {
	case CONFIG_ACTION_LOG:
		return FILTER_PASS;
	case CONFIG_ACTION_REWRITE:
		return FILTER_REWRITE;
	case CONFIG_ACTION_DROP:
		return FILTER_DROP;
	case CONFIG_ACTION_BOUNCE:
		return FILTER_BOUNCE;
	case CONFIG_ACTION_CLOSE:
		return FILTER_CLOSE;
	}
	return FILTER_PASS;
}

/* The text condition: the first place that matches, or a limit. */
static bool
regex_find(
    struct regex_rule *r, const struct stanza *st, struct filter_hit *hit)
{
	size_t i;
	int m;

	for (i = 0; i < st->nplaces; i++) {
		if (!regex_wants_place(r, &st->places[i]))
			continue;
		m = regex_match(r, st->places[i].text, st->places[i].len, 0, 0);
		if (m == 0)
			continue;
		hit->where = st->places[i].what;
		hit->limit = m == -1;
		return true;
	}
	return false;
}

/*
 * Whether text place i lies inside an earlier text place (a body within a
 * body: no client sends one, a crafted stanza may). The outer place's text
 * holds the inner one's, and was rewritten already: rewriting the inner
 * place again would replace inside the replacement ("[[dog removed]
 * removed]"). Matching still looks at every place on its own; only the
 * rewrite is done once per text node. Attribute places never nest.
 */
static bool
regex_inside_earlier(const struct stanza *st, size_t i)
{
	const struct xnode *n;
	size_t j;

	if (st->places[i].attr != NULL)
		return false;
	for (n = st->places[i].node->parent; n != NULL; n = n->parent)
		for (j = 0; j < i; j++)
			if (st->places[j].attr == NULL && st->places[j].node == n)
				return true;
	return false;
}

/* Rewrites every place; a limit anywhere makes the rule a drop. */
static void
regex_rewrite(struct regex_rule *r, struct stanza *st, struct filter_hit *hit,
    enum filter_verdict *verdict)
{
	size_t i;

	for (i = 0; i < st->nplaces; i++) {
		if (!regex_wants_place(r, &st->places[i]) ||
		    regex_inside_earlier(st, i))
			continue;
		if (regex_rewrite_place(r, st, i) == -1) {
			hit->limit = true;
			hit->action = "drop";
			*verdict = FILTER_DROP;
			return;
		}
	}
}

static bool
regex_run(struct filter *f, struct stanza *st, const struct filter_ctx *ctx,
    bool dry_run, struct filter_hit *hit, enum filter_verdict *verdict,
    const char **reason)
{
	struct regex_rule *r = f->impl;

	if (!regex_conditions(r, st, ctx))
		return false;
	if (r->code != NULL && !regex_find(r, st, hit))
		return false;
	hit->action = config_action_str(r->action);
	*verdict = regex_verdict(r->action);
	*reason = r->reason;
	if (r->action == CONFIG_ACTION_REWRITE && !dry_run) {
		if (hit->limit) {
			hit->action = "drop";
			*verdict = FILTER_DROP;
		} else
			regex_rewrite(r, st, hit, verdict);
	}
	return true;
}

static const struct filter_ops regex_ops = {
    .run = regex_run,
    .observe = NULL,
    .free = regex_free,
};
