/* SPDX-License-Identifier: ISC */
/*
 * Plugin filters: a shared object loaded by path (dlopen), speaking the
 * versioned ABI of xmppgate/plugin.h. The host side of that ABI lives here:
 * the functions a plugin calls to read a stanza, rewrite its text and log,
 * over a struct xg_stanza that wraps the chain's own view for one call.
 * A plugin built for another ABI version is refused at load.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_int.h"
#include "log.h"
#include "stanza.h"
#include "utf8.h"
#include "xmalloc.h"
#include "xmppgate/plugin.h"

struct plugin {
	void *handle;                /* owned: dlopen's */
	const struct xg_plugin *api; /* borrowed from handle */
	void *state;                 /* owned by the plugin: destroy() */
	char *name;                  /* owned: the filter's name */
};

/* One stanza as a plugin sees it, for the length of one call. */
struct xg_stanza {
	struct stanza *st;            /* borrowed; writable for set_text */
	const struct filter_ctx *ctx; /* borrowed */
	const struct plugin *plugin;  /* borrowed */
};

static const char *
host_kind(const struct xg_stanza *x)
{
	return stanza_kind_str(x->st->kind);
}

static enum xg_dir
host_dir(const struct xg_stanza *x)
{
	return x->ctx->dir == FILTER_C2S ? XG_C2S : XG_S2C;
}

static const char *
host_attr(const struct xg_stanza *x, const char *name)
{
	return name != NULL ? xnode_attr(x->st->el, name) : NULL;
}

static const char *
host_session_jid(const struct xg_stanza *x)
{
	return x->ctx->session_jid;
}

static const char *
host_session_id(const struct xg_stanza *x)
{
	return x->ctx->session_id;
}

static const char *
host_xml(const struct xg_stanza *x, size_t *len)
{
	if (len != NULL)
		*len = x->ctx->len;
	return x->ctx->xml;
}

static size_t
host_text_count(const struct xg_stanza *x)
{
	return x->st->nplaces;
}

static const char *
host_text(const struct xg_stanza *x, size_t i, const char **what, size_t *len)
{
	if (i >= x->st->nplaces)
		return NULL;
	if (what != NULL)
		*what = x->st->places[i].what;
	if (len != NULL)
		*len = x->st->places[i].len;
	return x->st->places[i].text;
}

/* Whether byte i of s (len bytes) starts a character (or ends s). */
static bool
host_boundary(const char *s, size_t len, size_t i)
{
	return i >= len || ((unsigned char)s[i] & 0xc0) != 0x80;
}

/*
 * The spans that turn old into new, so a replacement keeps the markup of
 * a place split across tags (XHTML-IM): with equal lengths, each run of
 * differing bytes (widened to whole characters of both texts) is its own
 * span; otherwise the part between the common prefix and suffix is one.
 * Returns the number of spans written to v (at most len / 2 + 1).
 */
static size_t
host_diff(const char *old, size_t olen, const char *new, size_t nlen,
    struct stanza_span *v)
{
	size_t i = 0, start, end, n = 0, pre = 0, suf = 0;

	if (olen != nlen) {
		while (pre < olen && pre < nlen && old[pre] == new[pre])
			pre++;
		while (pre > 0 && !(host_boundary(old, olen, pre) &&
		                      host_boundary(new, nlen, pre)))
			pre--;
		while (suf < olen - pre && suf < nlen - pre &&
		       old[olen - 1 - suf] == new[nlen - 1 - suf])
			suf++;
		while (suf > 0 && !(host_boundary(old, olen, olen - suf) &&
		                      host_boundary(new, nlen, nlen - suf)))
			suf--;
		v[0] = (struct stanza_span){
		    pre, olen - suf, new + pre, nlen - suf - pre};
		return 1;
	}
	while (i < olen) {
		if (old[i] == new[i]) {
			i++;
			continue;
		}
		start = i;
		while (i < olen && old[i] != new[i])
			i++;
		end = i;
		while (start > 0 && !(host_boundary(old, olen, start) &&
		                        host_boundary(new, nlen, start)))
			start--;
		while (!(host_boundary(old, olen, end) &&
		         host_boundary(new, nlen, end)))
			end++;
		i = end;
		if (n > 0 && v[n - 1].end >= start) {
			v[n - 1].end = end; /* widening joined two runs */
			v[n - 1].repl_len = end - v[n - 1].start;
			continue;
		}
		v[n++] =
		    (struct stanza_span){start, end, new + start, end - start};
	}
	return n;
}

static int
host_set_text(struct xg_stanza *x, size_t i, const char *text, size_t len)
{
	struct stanza_place *p;
	struct utf8_state u;
	struct stanza_span *spans;
	size_t n;

	if (i >= x->st->nplaces || text == NULL)
		return -1;
	utf8_init(&u);
	if (utf8_check(&u, text, len) == -1 || !utf8_complete(&u))
		return -1;
	p = &x->st->places[i];
	spans = xcalloc(p->len / 2 + 2, sizeof(*spans));
	n = host_diff(p->text, p->len, text, len, spans);
	if (n > 0)
		stanza_replace(x->st, i, spans, n);
	free(spans);
	return 0;
}

static int
host_has(const struct xg_stanza *x, const char *ns, const char *name)
{
	return ns != NULL && stanza_has(x->st, ns, name);
}

static void
host_log(const struct xg_stanza *x, enum xg_log_level level, const char *msg)
{
	const char *sid = x != NULL ? x->ctx->session_id : "-";
	const char *name = x != NULL ? x->plugin->name : "plugin";

	if (msg == NULL)
		return;
	if (level <= XG_LOG_WARN)
		log_warnx("session=%s plugin=%s %s", sid, name, msg);
	else if (level == XG_LOG_INFO)
		log_info("session=%s plugin=%s %s", sid, name, msg);
	else
		log_debug("session=%s plugin=%s %s", sid, name, msg);
}

static const struct xg_host plugin_host = {
    .abi_version = XG_PLUGIN_ABI_VERSION,
    .kind = host_kind,
    .dir = host_dir,
    .attr = host_attr,
    .session_jid = host_session_jid,
    .session_id = host_session_id,
    .xml = host_xml,
    .text_count = host_text_count,
    .text = host_text,
    .set_text = host_set_text,
    .has = host_has,
    .log = host_log,
};

static void
plugin_free(void *impl)
{
	struct plugin *p = impl;

	if (p == NULL)
		return;
	if (p->state != NULL && p->api->destroy != NULL)
		p->api->destroy(p->state);
	if (p->handle != NULL)
		dlclose(p->handle);
	free(p->name);
	free(p);
}

static enum filter_verdict
plugin_verdict(enum xg_verdict v)
{
	switch (v) {
	case XG_REWRITE:
		return FILTER_REWRITE;
	case XG_DROP:
		return FILTER_DROP;
	case XG_BOUNCE:
		return FILTER_BOUNCE;
	case XG_CLOSE:
		return FILTER_CLOSE;
	case XG_PASS:
		break;
	}
	return FILTER_PASS;
}

static bool
plugin_run(struct filter *f, struct stanza *st, const struct filter_ctx *ctx,
    bool dry_run, struct filter_hit *hit, enum filter_verdict *verdict,
    const char **reason)
{
	struct plugin *p = f->impl;
	struct xg_stanza x = {st, ctx, p};
	const char *why = NULL;
	enum xg_verdict v;

	if (p->api->filter == NULL || st->kind == STANZA_NONZA)
		return false;
	/* A dry run must not change the stanza: the plugin's rewrite (done
	 * through set_text) cannot be undone, so it runs on a copy. */
	if (dry_run) {
		struct xnode *copy = xnode_clone(st->el);
		struct stanza shadow;

		stanza_init(&shadow, copy, NULL);
		x.st = &shadow;
		v = p->api->filter(p->state, &x, &why);
		stanza_fini(&shadow);
		xnode_free(copy);
	} else
		v = p->api->filter(p->state, &x, &why);
	if (v == XG_PASS)
		return false;
	*verdict = plugin_verdict(v);
	hit->action = filter_verdict_str(*verdict);
	*reason = why != NULL ? why : "blocked by the server's content policy";
	return true;
}

static void
plugin_observe(struct filter *f, const struct stanza *st,
    const struct filter_ctx *ctx, enum filter_verdict v)
{
	struct plugin *p = f->impl;
	/* observe() takes a const stanza: the cast only fits the wrapper. */
	struct xg_stanza x = {(struct stanza *)(uintptr_t)st, ctx, p};

	if (p->api->observe != NULL && st->kind != STANZA_NONZA)
		p->api->observe(p->state, &x, (enum xg_verdict)v);
}

static const struct filter_ops plugin_ops = {
    .run = plugin_run,
    .observe = plugin_observe,
    .free = plugin_free,
};

int
filter_plugin_init(struct filter *f, const struct config_filter *cf, char **err)
{
	struct plugin *p = xcalloc(1, sizeof(*p));
	char why[256] = "";
	const char *dlerr;

	p->name = xstrdup(cf->name);
	if ((p->handle = dlopen(cf->path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		dlerr = dlerror();
		*err = xstrdup(dlerr ? dlerr : cf->path);
		goto fail;
	}
	p->api = dlsym(p->handle, XG_PLUGIN_SYMBOL);
	if (p->api == NULL) {
		*err = xasprintf("%s: no '%s' symbol: not an xmppgate plugin",
		    cf->path, XG_PLUGIN_SYMBOL);
		goto fail;
	}
	if (p->api->abi_version != XG_PLUGIN_ABI_VERSION) {
		*err = xasprintf("%s: built for plugin ABI %u, this xmppgate "
		                 "has %u",
		    cf->path, p->api->abi_version, XG_PLUGIN_ABI_VERSION);
		p->api = NULL;
		goto fail;
	}
	if (p->api->create == NULL ||
	    (p->api->filter == NULL && p->api->observe == NULL)) {
		*err = xasprintf("%s: the plugin has no create, or neither "
		                 "filter nor observe",
		    cf->path);
		p->api = NULL;
		goto fail;
	}
	p->state = p->api->create(&plugin_host,
	    cf->plugin_config ? cf->plugin_config : "null", why, sizeof(why));
	if (p->state == NULL) {
		why[sizeof(why) - 1] = '\0';
		*err = xasprintf("%s: the plugin refused its config: %s",
		    cf->path, why[0] ? why : "no reason given");
		goto fail;
	}
	f->ops = &plugin_ops;
	f->impl = p;
	return 0;
fail:
	plugin_free(p);
	return -1;
}
