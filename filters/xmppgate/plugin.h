/* SPDX-License-Identifier: ISC */
/*
 * xmppgate plugin ABI, version 1: how a shared object loaded by path takes
 * part in xmppgate's filter chain, as a filter (it returns a verdict for
 * each stanza) and/or an observer (it sees each stanza with the chain's
 * final verdict, for logging). Installed as <xmppgate/plugin.h>.
 *
 * A plugin exports one object, `const struct xg_plugin xmppgate_plugin`,
 * whose abi_version is XG_PLUGIN_ABI_VERSION. xmppgate loads it at start and
 * on every SIGHUP (a fresh create() per load), calls everything from its one
 * event-loop thread, and never calls a plugin concurrently with itself. A
 * plugin must not block: every session of the process waits while it runs.
 *
 * The plugin sees stanzas (message, presence, iq), never the negotiation:
 * no SASL exchange, no stream features. Everything it is given is borrowed
 * for the call; it copies what it keeps. It reaches the stanza only through
 * the host functions, so the layout of xmppgate's own structs is not part of
 * the ABI. Within one major ABI version, fields are only ever appended to
 * struct xg_host, and xmppgate refuses a plugin built for another version.
 */
#ifndef XMPPGATE_PLUGIN_H
#define XMPPGATE_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XG_PLUGIN_ABI_VERSION 1
#define XG_PLUGIN_SYMBOL "xmppgate_plugin"

enum xg_verdict {
	XG_PASS = 0,    /* forward as it is (or as rewritten so far) */
	XG_REWRITE = 1, /* the plugin changed text with set_text; forward */
	XG_DROP = 2,    /* forward nothing (an IQ request is still answered) */
	XG_BOUNCE = 3,  /* drop, and answer the sender with policy-violation */
	XG_CLOSE = 4,   /* end the session: stream error policy-violation */
};

enum xg_dir {
	XG_C2S = 0, /* client to server */
	XG_S2C = 1, /* server to client */
};

enum xg_log_level {
	XG_LOG_WARN = 1,
	XG_LOG_INFO = 2,
	XG_LOG_DEBUG = 3,
};

/* One stanza, as the filter chain holds it; borrowed for the call. */
struct xg_stanza;

/* What xmppgate offers a plugin; valid from create() until destroy(). */
struct xg_host {
	unsigned abi_version; /* the daemon's XG_PLUGIN_ABI_VERSION */
	/* "message", "presence" or "iq". */
	const char *(*kind)(const struct xg_stanza *);
	/* The direction the stanza travels. */
	enum xg_dir (*dir)(const struct xg_stanza *);
	/* An attribute of the stanza element (unqualified name: "type",
	 * "id", "from", "to"), decoded; NULL when absent. */
	const char *(*attr)(const struct xg_stanza *, const char *name);
	/* The session's JID as far as it is known (full JID after bind),
	 * or NULL before authentication. */
	const char *(*session_jid)(const struct xg_stanza *);
	/* The session's id, as in events and the operator log. */
	const char *(*session_id)(const struct xg_stanza *);
	/* The element's bytes exactly as received, not redacted: a plugin that
	 * writes them anywhere must care for secrets itself. */
	const char *(*xml)(const struct xg_stanza *, size_t *len);
	/*
	 * The decoded text of every place content lives (every body, subject
	 * and status whatever its language, the XHTML-IM text, out-of-band
	 * URLs, link attributes, and all of these inside forwarded, carbon
	 * and archived copies). text_count() says how many; text() gives
	 * place i (what: "body", "xhtml", ... ; len: its length in bytes).
	 */
	size_t (*text_count)(const struct xg_stanza *);
	const char *(*text)(
	    const struct xg_stanza *, size_t i, const char **what, size_t *len);
	/* Replaces the whole text of place i (UTF-8; characters XML forbids
	 * are dropped). Only the runs that differ are replaced, so markup
	 * inside the place (XHTML-IM tags) stays where it can. Returns 0, or
	 * -1 for a bad index or invalid UTF-8. A filter that calls it
	 * returns XG_REWRITE. */
	int (*set_text)(
	    struct xg_stanza *, size_t i, const char *text, size_t len);
	/* Whether any element of the stanza is in namespace ns (and, unless
	 * name is NULL, has that local name): 1 or 0. */
	int (*has)(const struct xg_stanza *, const char *ns, const char *name);
	/* A line in xmppgate's operator log, prefixed with the plugin's name
	 * and the session; the stanza may be NULL (in create or destroy). */
	void (*log)(
	    const struct xg_stanza *, enum xg_log_level, const char *message);
};

struct xg_plugin {
	unsigned abi_version; /* XG_PLUGIN_ABI_VERSION */
	const char *name;     /* short, for logs */
	/*
	 * Called once per load with the JSON text of the filter's "config"
	 * value ("null" when absent). Returns the plugin's state (non-NULL),
	 * or NULL after writing a reason into err (errlen bytes, NUL-ended):
	 * xmppgate then refuses the config and names the reason.
	 */
	void *(*create)(const struct xg_host *, const char *config_json,
	    char *err, size_t errlen);
	/*
	 * The filter: the verdict for one stanza. *reason may be set to a
	 * static or state-owned text sent with bounce and close errors. NULL
	 * for a plugin that only observes.
	 */
	enum xg_verdict (*filter)(
	    void *state, struct xg_stanza *, const char **reason);
	/* Every stanza in the filter's directions, after the whole chain ran,
	 * with the final verdict. NULL for a plugin that only filters. */
	void (*observe)(
	    void *state, const struct xg_stanza *, enum xg_verdict final);
	/* Releases the state (the config was replaced, or xmppgate exits). */
	void (*destroy)(void *state);
};

#ifdef __cplusplus
}
#endif

#endif
