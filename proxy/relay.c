/* SPDX-License-Identifier: ISC */
/*
 * The element path: what happens to each thing the parser reports on a leg.
 * Stream headers and elements are observed (nego), stanzas go through the
 * filter chain (relay_policy.c), nonzas are rewritten where the proxy must
 * (stream features, stream management counts), everything is recorded as
 * events and forwarded to the other leg as its original bytes unless
 * changed. Restart points (SASL1 success) reset both parsers at the exact
 * byte. Nothing unparsed is ever forwarded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter.h"
#include "log.h"
#include "metrics.h"
#include "redact.h"
#include "session_int.h"
#include "xmalloc.h"

static enum nego_dir
relay_dir(const struct conn *c)
{
	return c->side == CONN_CLIENT ? NEGO_C2S : NEGO_S2C;
}

static void
relay_add_attr(cJSON *ev, const char *key, const struct xnode *el,
    const char *ns, const char *name)
{
	const char *v = ns ? xnode_attr_ns(el, ns, name) : xnode_attr(el, name);

	if (v != NULL)
		cJSON_AddStringToObject(ev, key, v);
	else
		cJSON_AddNullToObject(ev, key);
}

static int
relay_on_open(void *arg, const struct xnode *root, const char *bytes,
    size_t len)
{
	struct conn *c = arg;
	struct session *s = c->session;
	struct event_xml x = { .xml = bytes, .len = len };
	cJSON *ev;

	/* The domain is the client's to address the server; without it the
	 * proxy cannot name the stream either (RFC 6120 4.7.2). */
	if (c->side == CONN_CLIENT && xnode_attr(root, "to") == NULL) {
		session_stream_error(c, "improper-addressing",
		    "the stream header has no 'to' attribute", NULL);
		session_close(s, SESSION_REASON_CLIENT_ERROR);
		return XMLSTREAM_STOP;
	}
	nego_stream_open(&s->nego, relay_dir(c), root);
	if (c->side == CONN_CLIENT && s->state == SESSION_CONNECTING)
		log_debug("session=%s client header before upstream connect",
		    s->id);
	ev = events_begin("stream.open", s->id);
	cJSON_AddStringToObject(ev, "dir", c->dir);
	relay_add_attr(ev, "to", root, NULL, "to");
	relay_add_attr(ev, "from", root, NULL, "from");
	relay_add_attr(ev, "id", root, NULL, "id");
	relay_add_attr(ev, "version", root, NULL, "version");
	relay_add_attr(ev, "lang", root, XNODE_NS_XML, "lang");
	events_emit(session_events(s), ev, &x);
	conn_write(c->peer, bytes, len);
	c->peer->header_out = true;
	if (c->side == CONN_CLIENT)
		session_upstream_start(s);
	return XMLSTREAM_CONTINUE;
}

/* True for a stanza proper: message, presence or iq in jabber:client. */
static bool
relay_is_stanza(const struct xnode *el)
{
	return el->ns != NULL && strcmp(el->ns, XMLSTREAM_NS_CLIENT) == 0 &&
	    (strcmp(el->name, "message") == 0 ||
		strcmp(el->name, "presence") == 0 || strcmp(el->name, "iq") == 0);
}

/* The rules that matched, as the stanza event lists them. */
static cJSON *
relay_rules_json(const struct filter_result *res)
{
	cJSON *arr = cJSON_CreateArray(), *o;
	const struct filter_hit *h;
	size_t i;

	for (i = 0; res != NULL && i < res->nhits && i < FILTER_MAX_HITS;
	    i++) {
		h = &res->hits[i];
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", filter_name(h->filter));
		cJSON_AddStringToObject(o, "action", h->action);
		if (h->where != NULL)
			cJSON_AddStringToObject(o, "where", h->where);
		if (h->dry_run)
			cJSON_AddTrueToObject(o, "dry_run");
		if (h->limit)
			cJSON_AddTrueToObject(o, "limit");
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void
relay_emit_element(struct conn *c, const struct xnode *el, const char *xml,
    size_t len, const struct relay_note *note)
{
	struct session *s = c->session;
	struct event_xml x = { .xml = xml, .len = len, .tree = el };
	struct xnode *red = NULL;
	struct buf rb, ob;
	char idbuf[3072];
	const char *jid;
	cJSON *ev;

	if (!events_active(session_events(s)))
		return;
	buf_init(&rb);
	buf_init(&ob);
	if ((red = redact_copy(el)) != NULL) {
		xnode_serialize(red, XMLSTREAM_NS_CLIENT, &rb);
		x.redacted = rb.data;
		x.redacted_tree = red;
	}
	if (note->orig != NULL) {
		x.original = note->orig;
		x.original_len = note->orig_len;
		if (note->orig_redacted != NULL) {
			xnode_serialize(note->orig_redacted,
			    XMLSTREAM_NS_CLIENT, &ob);
			x.original_redacted = ob.data;
		}
	}
	ev = events_begin("stanza", s->id);
	cJSON_AddStringToObject(ev, "dir", c->dir);
	cJSON_AddStringToObject(ev, "kind", el->name);
	relay_add_attr(ev, "type", el, NULL, "type");
	relay_add_attr(ev, "id", el, NULL, "id");
	relay_add_attr(ev, "from", el, NULL, "from");
	relay_add_attr(ev, "to", el, NULL, "to");
	cJSON_AddNumberToObject(ev, "bytes", (double)len);
	jid = nego_identity(&s->nego, idbuf, sizeof(idbuf));
	if (jid != NULL)
		cJSON_AddStringToObject(ev, "jid", jid);
	else
		cJSON_AddNullToObject(ev, "jid");
	cJSON_AddStringToObject(ev, "verdict",
	    filter_verdict_str(note->verdict));
	cJSON_AddItemToObject(ev, "rules", relay_rules_json(note->res));
	if (note->injected)
		cJSON_AddStringToObject(ev, "by", "proxy");
	events_emit(session_events(s), ev, &x);
	xnode_free(red);
	buf_fini(&rb);
	buf_fini(&ob);
}

static void
relay_emit_auth(struct session *s)
{
	cJSON *ev = events_begin("auth", s->id);

	cJSON_AddNumberToObject(ev, "sasl", s->nego.sasl_version);
	if (s->nego.mechanism != NULL)
		cJSON_AddStringToObject(ev, "mechanism", s->nego.mechanism);
	else
		cJSON_AddNullToObject(ev, "mechanism");
	cJSON_AddStringToObject(ev, "outcome",
	    s->nego.authenticated ? "success" : "failure");
	if (s->nego.authcid != NULL)
		cJSON_AddStringToObject(ev, "authcid", s->nego.authcid);
	else
		cJSON_AddNullToObject(ev, "authcid");
	if (!s->nego.authenticated)
		cJSON_AddStringToObject(ev, "condition",
		    s->nego.condition ? s->nego.condition : "unknown");
	events_emit(session_events(s), ev, NULL);
	log_info("session=%s auth=%s mechanism=%s authcid=%s", s->id,
	    s->nego.authenticated ? "success" : "failure",
	    s->nego.mechanism ? s->nego.mechanism : "-",
	    s->nego.authcid ? s->nego.authcid : "-");
}

static void
relay_emit_bind(struct session *s, bool resumed)
{
	cJSON *ev = events_begin("bind", s->id);

	cJSON_AddStringToObject(ev, "jid", s->nego.jid);
	if (resumed)
		cJSON_AddTrueToObject(ev, "resumed");
	events_emit(session_events(s), ev, NULL);
	log_info("session=%s %s jid=%s", s->id, resumed ? "resumed" : "bound",
	    s->nego.jid);
}

/*
 * A resumption (XEP-0198) binds nothing: the session's full JID is the
 * one the resumed session had, kept with its stream management state.
 * SASL2 names the account in <success/>, but only the bare JID.
 */
static void
relay_learn_resumed_jid(struct session *s)
{
	const char *jid = smack_jid(s->sm);

	if (jid == NULL ||
	    (s->nego.jid != NULL && strchr(s->nego.jid, '/') != NULL))
		return;
	free(s->nego.jid);
	s->nego.jid = xstrdup(jid);
	relay_emit_bind(s, true);
}

static void
relay_emit_peer_error(struct conn *c, const struct xnode *el)
{
	struct session *s = c->session;
	const struct xnode *t;
	cJSON *ev = events_begin("stream.error", s->id);
	char *text;

	cJSON_AddStringToObject(ev, "dir", c->dir);
	cJSON_AddStringToObject(ev, "condition",
	    s->nego.error_condition ? s->nego.error_condition : "unknown");
	if ((t = xnode_child(el, NULL, "text")) != NULL) {
		text = xnode_text(t);
		cJSON_AddStringToObject(ev, "text", text);
		free(text);
	} else
		cJSON_AddNullToObject(ev, "text");
	cJSON_AddStringToObject(ev, "by", "peer");
	events_emit(session_events(s), ev, NULL);
	log_info("session=%s stream-error=%s dir=%s by=peer", s->id,
	    s->nego.error_condition ? s->nego.error_condition : "unknown",
	    c->dir);
}

/*
 * XEP-0138 is obsolete and the proxy strips it from features; a client that
 * asks anyway gets a local failure instead of a compressed stream nobody
 * could inspect.
 */
static bool
relay_answer_compress(struct conn *c, const struct xnode *el)
{
	static const char failure[] =
	    "<failure xmlns='http://jabber.org/protocol/compress'>"
	    "<setup-failed/></failure>";

	if (c->side != CONN_CLIENT ||
	    !xnode_is(el, NEGO_NS_COMPRESS, "compress"))
		return false;
	conn_write(c, failure, sizeof(failure) - 1);
	return true;
}

/*
 * Optional STARTTLS: the client takes the proxy's offer. It gets <proceed/>
 * here, its TLS starts at the next byte, and its stream after TLS goes to a
 * fresh upstream connection. Returns true when it answered.
 */
static bool
relay_take_starttls(struct conn *c, const struct xnode *el)
{
	static const char proceed[] =
	    "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
	struct session *s = c->session;

	if (c->side != CONN_CLIENT || !s->client_pre_tls ||
	    s->nego.authenticated || !xnode_is(el, NEGO_NS_TLS, "starttls"))
		return false;
	conn_write(c, proceed, sizeof(proceed) - 1);
	s->client_pre_tls = false;
	c->ready = false;
	c->header_out = false;
	c->phase = CONN_TLS_NEXT;
	session_upstream_reconnect(s);
	return true;
}

/*
 * Only a passthrough leg relays STARTTLS. Elsewhere the offer is stripped
 * (tls none) or TLS is already on (the proxy terminated it): a client that
 * asks anyway gets <failure/> and the stream ends (RFC 6120 5.4.2.2),
 * instead of the server's <proceed/> and a ClientHello fed to the parser.
 * Returns true when it answered; the session is then closing.
 */
static bool
relay_refuse_starttls(struct conn *c, const struct xnode *el)
{
	static const char failure[] =
	    "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
	    "</stream:stream>";
	struct session *s = c->session;

	if (c->side != CONN_CLIENT || s->client_tls == CONFIG_TLS_PASSTHROUGH ||
	    !xnode_is(el, NEGO_NS_TLS, "starttls"))
		return false;
	log_info("session=%s starttls refused: %s", s->id,
	    s->client_tls == CONFIG_TLS_NONE ? "the client leg has tls=none"
					     : "TLS is already on");
	conn_write(c, failure, sizeof(failure) - 1);
	c->closed_out = true;
	session_end_stream(c->peer);
	session_close(s, SESSION_REASON_CLIENT_ERROR);
	return true;
}

static void
relay_account(struct conn *c, const struct xnode *el)
{
	struct session *s = c->session;
	enum metrics_kind kind;

	if (!relay_is_stanza(el))
		return;
	if (c->side == CONN_CLIENT)
		s->stanzas_c2s++;
	else
		s->stanzas_s2c++;
	kind = el->name[0] == 'm'   ? METRICS_MESSAGE
	       : el->name[0] == 'p' ? METRICS_PRESENCE
	                            : METRICS_IQ;
	metrics_stanza(
	    c->side == CONN_CLIENT ? METRICS_C2S : METRICS_S2C, kind);
}

/*
 * Passthrough: past the client's <starttls/> and the server's <proceed/>
 * everything is TLS between them, relayed opaque and never parsed. Called
 * after el was forwarded; returns XMLSTREAM_STOP when el was that boundary.
 */
static int
relay_passthrough(struct conn *c, const struct xnode *el)
{
	struct session *s = c->session;

	if (s->client_tls != CONFIG_TLS_PASSTHROUGH)
		return XMLSTREAM_CONTINUE;
	if (c->side == CONN_CLIENT && xnode_is(el, NEGO_NS_TLS, "starttls")) {
		/* Nothing more goes to the server before its <proceed/>, and
		 * then only a TLS record (conn_tls_next). */
		c->phase = CONN_TLS_NEXT;
		return XMLSTREAM_STOP;
	}
	if (c->side == CONN_UPSTREAM && xnode_is(el, NEGO_NS_TLS, "proceed")) {
		c->phase = CONN_OPAQUE;
		session_passthrough(s);
		return XMLSTREAM_STOP;
	}
	return XMLSTREAM_CONTINUE;
}

/*
 * SCRAM channel binding ties the login to the TLS connection the client
 * sees; when the proxy terminates that TLS the server sees another one, and
 * the login fails however the features are edited (XMPP-NOTES.md 4). Say so
 * where the operator looks, once per attempt.
 */
static void
relay_check_cbind(struct session *s)
{
	const char *mech = s->nego.mechanism, *cb = s->nego.cbind, *why;
	size_t n = mech ? strlen(mech) : 0;
	bool plus = n > 5 && strcmp(mech + n - 5, "-PLUS") == 0;
	cJSON *ev;

	if (s->client_tls != CONFIG_TLS_STARTTLS &&
	    s->client_tls != CONFIG_TLS_DIRECT)
		return;
	if (plus || (cb != NULL && cb[0] == 'p'))
		why = "the client binds its login to its TLS connection, which "
		      "ends at xmppgate: the server sees a different one and "
		      "will reject the login. Use the recommended deployment "
		      "(plaintext upstream on loopback, where the server "
		      "offers no -PLUS mechanism; see README, TLS)";
	else if (cb != NULL && cb[0] == 'y' && s->nego.server_cb)
		why = "the client supports channel binding but found none it "
		      "can use on its TLS with xmppgate (gs2 flag 'y'), while "
		      "the server offers it on its own TLS: the server takes "
		      "this as a downgrade and will reject the login. Use a "
		      "plaintext upstream on loopback (see README, TLS)";
	else
		return;
	ev = events_begin("channel-binding", s->id);
	cJSON_AddStringToObject(ev, "mechanism", mech ? mech : "");
	if (cb != NULL)
		cJSON_AddStringToObject(ev, "gs2", cb);
	else
		cJSON_AddNullToObject(ev, "gs2");
	cJSON_AddStringToObject(ev, "reason", why);
	events_emit(session_events(s), ev, NULL);
	log_warnx("session=%s channel binding through a terminating proxy "
		  "(mechanism=%s gs2=%s): %s", s->id, mech ? mech : "-",
	    cb ? cb : "-", why);
}

/* What nego learned from el: events, state, and restart points. */
static int
relay_apply_nego(struct conn *c, const struct xnode *el, unsigned bits)
{
	struct session *s = c->session;

	if (bits & NEGO_AUTH_BEGIN)
		relay_check_cbind(s);
	if (bits & NEGO_AUTH_OUTCOME) {
		relay_emit_auth(s);
		/* From the next byte on, an authenticated client's stanzas
		 * may be as big as max_stanza_bytes, both ways. */
		conn_set_max(&s->client, session_element_limit(s));
		conn_set_max(&s->upstream, session_element_limit(s));
	}
	if (bits & NEGO_BOUND) {
		relay_emit_bind(s, false);
		smack_set_jid(s->sm, s->nego.jid);
	}
	if (bits & NEGO_RESUMED)
		relay_learn_resumed_jid(s);
	if ((bits & (NEGO_BOUND | NEGO_RESUMED)) &&
	    s->state == SESSION_NEGOTIATING)
		session_set_state(s, SESSION_ESTABLISHED);
	if (bits & NEGO_STREAM_ERROR)
		relay_emit_peer_error(c, el);
	if (bits & NEGO_RESTART) {
		/* Both streams restart: the server's at the byte after this
		 * element, the client's before its next bytes are parsed
		 * (which the client can only send after it has this one). */
		c->restart = true;
		c->peer->restart = true;
		c->header_out = false;
		c->peer->header_out = false;
		return XMLSTREAM_STOP;
	}
	return XMLSTREAM_CONTINUE;
}

/*
 * A server that requires STARTTLS refuses to authenticate a client whose
 * stream to it has no TLS: say why logins through this proxy will fail.
 */
static void
relay_warn_required_tls(struct session *s, const struct xnode *el)
{
	const struct xnode *tls;

	if (s->cfg->upstream.tls != CONFIG_TLS_NONE ||
	    !xnode_is(el, XMLSTREAM_NS_STREAMS, "features") ||
	    (tls = xnode_child(el, NEGO_NS_TLS, "starttls")) == NULL ||
	    xnode_child(tls, NEGO_NS_TLS, "required") == NULL)
		return;
	log_warnx("session=%s upstream requires STARTTLS but upstream.tls is "
		  "none: the server will refuse to authenticate the client "
		  "(set upstream.tls to starttls, or let the server accept "
		  "plaintext from xmppgate)",
	    s->id);
}

/*
 * Rewrites a nonza where the proxy must: stream management h values on
 * both directions (the proxy may have dropped or injected stanzas), and
 * what the client must not see in the server's. True with el serialized
 * in out.
 */
static bool
relay_rewrite_nonza(struct conn *c, struct xnode *el, struct buf *out)
{
	struct session *s = c->session;
	struct nego_policy pol = {
		.strip_starttls = s->client_tls != CONFIG_TLS_PASSTHROUGH,
		.offer_starttls = s->client_pre_tls && !s->nego.authenticated,
		.max_bytes = session_element_limit(s),
		.idle_s = s->cfg->limits.idle_timeout_s,
	};
	bool changed;

	changed = smack_nonza(s->sm, s->env.smtab,
	    c->side == CONN_CLIENT ? SMACK_C2S : SMACK_S2C, el, time(NULL));
	if (c->side == CONN_UPSTREAM) {
		if (pol.strip_starttls)
			relay_warn_required_tls(s, el);
		changed |= nego_rewrite_s2c(el, &pol);
	}
	if (!changed)
		return false;
	xnode_serialize(el, XMLSTREAM_NS_CLIENT, out);
	return true;
}

static int
relay_on_element(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct conn *c = arg;
	struct session *s = c->session;
	struct relay_note note = { .verdict = FILTER_PASS };
	unsigned bits;
	struct buf out;
	int rc;

	relay_account(c, el);
	bits = nego_observe(&s->nego, relay_dir(c), el);
	if (relay_take_starttls(c, el) || relay_refuse_starttls(c, el)) {
		note.verdict = FILTER_DROP;
		relay_emit_element(c, el, bytes, len, &note);
		xnode_free(el);
		return XMLSTREAM_STOP;
	}
	if (relay_is_stanza(el)) {
		rc = relay_policy(c, el, bytes, len);
		if (rc == XMLSTREAM_CONTINUE)
			rc = relay_apply_nego(c, el, bits);
		xnode_free(el);
		return rc;
	}
	buf_init(&out);
	if (relay_answer_compress(c, el)) {
		note.verdict = FILTER_DROP;
		s->dropped++;
	} else if (relay_rewrite_nonza(c, el, &out)) {
		bytes = out.data;
		len = out.len;
	}
	relay_emit_element(c, el, bytes, len, &note);
	if (note.verdict == FILTER_PASS)
		conn_write(c->peer, bytes, len);
	rc = relay_apply_nego(c, el, bits);
	if (rc == XMLSTREAM_CONTINUE)
		rc = relay_passthrough(c, el);
	buf_fini(&out);
	xnode_free(el);
	return rc;
}

static int
relay_on_space(void *arg, const char *bytes, size_t len)
{
	struct conn *c = arg;

	conn_write(c->peer, bytes, len);
	return XMLSTREAM_CONTINUE;
}

static int
relay_on_close(void *arg, const char *bytes, size_t len)
{
	struct conn *c = arg;
	struct session *s = c->session;
	struct event_xml x = { .xml = bytes, .len = len };
	cJSON *ev = events_begin("stream.close", s->id);

	cJSON_AddStringToObject(ev, "dir", c->dir);
	events_emit(session_events(s), ev, &x);
	conn_write(c->peer, bytes, len);
	c->peer->closed_out = true;
	c->stream_closed = true;
	if (!c->peer->stream_closed)
		s->client_closed_first = c->side == CONN_CLIENT;
	if (c->peer->stream_closed) {
		session_close(s, s->nego.error_condition != NULL
			? SESSION_REASON_STREAM_ERROR
			: s->client_closed_first
			? SESSION_REASON_CLIENT_CLOSED
			: SESSION_REASON_UPSTREAM_CLOSED);
		return XMLSTREAM_STOP;
	}
	session_await_close(s);
	return XMLSTREAM_CONTINUE;
}

const struct xmlstream_cbs relay_cbs = {
	.on_open = relay_on_open,
	.on_element = relay_on_element,
	.on_space = relay_on_space,
	.on_close = relay_on_close,
};

void
relay_parse_error(struct conn *c)
{
	struct session *s = c->session;
	enum xmlstream_err err = xmlstream_error(c->xs);
	const char *detail = xmlstream_error_detail(c->xs);
	char pre[320];

	/* The smaller limit before authentication: say which one it was. */
	if (err == XMLSTREAM_ERR_TOO_BIG && !s->nego.authenticated) {
		snprintf(pre, sizeof(pre), "before authentication: %s", detail);
		detail = pre;
	}
	log_info("session=%s parse-error=%s dir=%s detail=\"%s\"", s->id,
	    xmlstream_err_str(err), c->dir, detail);
	metrics_parse_error(
	    c->side == CONN_CLIENT ? METRICS_C2S : METRICS_S2C, err);
	session_set_detail(s, "%s parse error: %s", c->dir, detail);
	session_stream_error(c, xmlstream_err_condition(err), detail,
	    err == XMLSTREAM_ERR_TOO_BIG
		? "<stanza-too-big xmlns='urn:xmpp:errors'/>"
		: NULL);
	if (c->side == CONN_CLIENT) {
		session_end_stream(c->peer);
		session_close(s, SESSION_REASON_CLIENT_ERROR);
	} else {
		char text[160];

		snprintf(text, sizeof(text), "the upstream server's stream "
		    "failed: %s", xmlstream_err_condition(err));
		session_stream_error(c->peer, "undefined-condition", text, NULL);
		session_close(s, SESSION_REASON_UPSTREAM_ERROR);
	}
}
