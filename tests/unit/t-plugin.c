/* SPDX-License-Identifier: ISC */
/*
 * Plugin filters through the ABI of xmppgate/plugin.h, with the example
 * plugin built by make check (examples/plugins/caps-guard.so): loading by
 * path with a config, a rewrite through set_text in the plain and XHTML-IM
 * bodies, a bounce with the plugin's reason, a dry run that leaves the
 * stanza alone, observing, and the refusals: a config the plugin rejects,
 * a missing file, a shared object that is not a plugin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "filter.h"
#include "stanza.h"
#include "testxml.h"
#include "xmalloc.h"

#include "../tap.h"

static char *plugin_path;

/* The chain of one plugin entry with these extra keys, or NULL with the
 * error in *err. */
static struct config *
plugin_cfg(const char *extra, char **err)
{
	char *json = xasprintf("{\"filters\": [{\"name\": \"caps\", \"type\": "
	                       "\"plugin\", \"path\": \"%s\"%s%s}]}",
	    plugin_path, extra[0] ? ", " : "", extra);
	struct config *cfg;

	*err = NULL;
	cfg = config_parse(json, err);
	free(json);
	if (cfg != NULL && config_filters_load(cfg, err) == -1) {
		config_unref(cfg);
		cfg = NULL;
	}
	return cfg;
}

/* Runs the chain c2s over xml; returns the verdict, *out the element
 * after the run (owned). */
static enum filter_verdict
run(struct config *cfg, const char *xml, const char **reason, char **out)
{
	struct filter_ctx ctx = {
	    "t.1", "alice@example.org/a", FILTER_C2S, xml, strlen(xml)};
	struct xnode *el = testxml_parse(xml);
	struct filter_result res;
	struct stanza st;
	struct buf b;

	stanza_init(&st, el, NULL);
	filter_chain_run(cfg->chain, &st, &ctx, &res);
	filter_chain_observe(cfg->chain, &st, &ctx, res.verdict);
	stanza_fini(&st);
	if (reason != NULL)
		*reason = res.reason;
	buf_init(&b);
	xnode_serialize(el, "jabber:client", &b);
	*out = buf_release(&b);
	xnode_free(el);
	return res.verdict;
}

#define SHOUT                                                                  \
	"<message to='b@example.org'><body>STOP SHOUTING NOW</body><html "     \
	"xmlns='http://jabber.org/protocol/xhtml-im'><body "                   \
	"xmlns='http://www.w3.org/1999/xhtml'><p>STOP <b>SHOUTING</b> NOW</p>" \
	"</body></html></message>"

static void
test_rewrite(void)
{
	char *err, *out;
	struct config *cfg = plugin_cfg("\"config\": {\"percent\": 70}", &err);

	ok(cfg != NULL, "the example plugin loads with a config (%s)",
	    err ? err : "no error");
	if (cfg == NULL)
		return;
	ok(run(cfg, SHOUT, NULL, &out) == FILTER_REWRITE, "a shouting message "
	                                                  "is rewritten");
	is_str(out,
	    "<message to='b@example.org'><body>stop shouting now"
	    "</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body "
	    "xmlns='http://www.w3.org/1999/xhtml'><p>stop <b>shouting</b> now"
	    "</p></body></html></message>",
	    "both bodies lowered through "
	    "set_text, XHTML tags kept");
	free(out);
	ok(run(cfg, "<message><body>Hello There, Bob</body></message>", NULL,
	       &out) == FILTER_PASS,
	    "a calm message passes");
	free(out);
	ok(run(cfg, "<presence><status>AWAY AWAY AWAY</status></presence>",
	       NULL, &out) == FILTER_PASS,
	    "the plugin's own choice: presence "
	    "passes");
	free(out);
	config_unref(cfg);
}

static void
test_bounce_and_dry_run(void)
{
	const char *reason = NULL;
	char *err, *out;
	struct config *cfg = plugin_cfg("\"config\": {\"block\": true}", &err);

	ok(cfg != NULL && run(cfg, SHOUT, &reason, &out) == FILTER_BOUNCE,
	    "block: a bounce");
	is_str(reason, "please do not shout", "with the plugin's reason");
	if (cfg != NULL)
		free(out);
	config_unref(cfg);
	cfg = plugin_cfg("\"dry_run\": true", &err);
	ok(cfg != NULL && run(cfg, SHOUT, NULL, &out) == FILTER_PASS,
	    "dry run: the verdict is pass");
	ok(cfg != NULL && strstr(out, "STOP SHOUTING NOW") != NULL,
	    "dry run: the plugin's rewrite did not touch the stanza");
	if (cfg != NULL)
		free(out);
	config_unref(cfg);
}

static void
refused(const char *what, const char *json, const char *want)
{
	char *err = NULL;
	struct config *cfg = config_parse(json, &err);

	if (cfg != NULL && config_filters_load(cfg, &err) == 0) {
		ok(0, "%s: refused", what);
		config_unref(cfg);
		return;
	}
	ok(err != NULL && strstr(err, want) != NULL, "%s: refused with '%s'",
	    what, want);
	if (err == NULL || strstr(err, want) == NULL)
		diag("got: %s", err ? err : "(nothing)");
	config_unref(cfg);
	free(err);
}

static void
test_refusals(void)
{
	char *json;

	json = xasprintf("{\"filters\": [{\"type\": \"plugin\", \"path\": "
	                 "\"%s\", \"config\": {\"percent\": 101}}]}",
	    plugin_path);
	refused("a config the plugin rejects", json, "filters[0].path: ");
	refused("a config the plugin rejects", json,
	    "the plugin refused its config: percent: expected a whole number "
	    "from 1 to 100");
	free(json);
	refused("a missing file",
	    "{\"filters\": [{\"type\": \"plugin\", "
	    "\"path\": \"/nonexistent/p.so\"}]}",
	    "filters[0].path: "
	    "/nonexistent/p.so: cannot open shared object file");
	refused("a library that is not a plugin",
	    "{\"filters\": [{\"type\": "
	    "\"plugin\", \"path\": \"libm.so.6\"}]}",
	    "filters[0].path: "
	    "libm.so.6: no 'xmppgate_plugin' symbol: not an xmppgate plugin");
}

int
main(void)
{
	const char *top = getenv("XG_TOP_BUILDDIR");

	plugin_path = xasprintf(
	    "%s/examples/plugins/caps-guard.so", top != NULL ? top : ".");
	test_rewrite();
	test_bounce_and_dry_run();
	test_refusals();
	free(plugin_path);
	return done_testing();
}
