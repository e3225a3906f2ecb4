/* SPDX-License-Identifier: ISC */
/*
 * Client mode: the connection and the negotiation up to a bound resource.
 * One state machine driven by the stream engine's callbacks: TCP connect,
 * direct TLS or STARTTLS with verification (the reference identity is
 * --server-name or the account's domain), SASL with the strongest mechanism
 * both sides have (SCRAM-SHA-256, SCRAM-SHA-1, then PLAIN, which needs TLS
 * unless allowed), the restart, bind with the recorded resource (or the
 * server's choice when that one is refused), and the session iq when the
 * server requires it. Every failure before playing ends the run with a
 * sentence saying what failed; nothing here prints a secret.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "b64.h"
#include "buf.h"
#include "client_int.h"
#include "jid.h"
#include "log.h"
#include "rtime.h"
#include "xmalloc.h"
#include "xmlstream.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"

/* Each negotiation step gets at least this long. */
#define CLIENT_STEP_TIMEOUT 10.0

static const char *
client_state_str(enum client_state s)
{
	switch (s) {
	case CLIENT_CONNECTING:
		return "connecting";
	case CLIENT_FEATURES:
		return "waiting for the stream features";
	case CLIENT_STARTTLS:
		return "STARTTLS";
	case CLIENT_TLS:
		return "the TLS handshake";
	case CLIENT_AUTH:
		return "authentication";
	case CLIENT_BIND:
		return "resource binding";
	case CLIENT_SESSION:
		return "session establishment";
	case CLIENT_PLAY:
		return "the replay";
	case CLIENT_CLOSING:
		return "closing";
	case CLIENT_DONE:
		return "done";
	}
	return "?";
}

static void
client_set_state(struct client *c, enum client_state st)
{
	log_debug(
	    "client: %s -> %s", client_state_str(c->st), client_state_str(st));
	c->st = st;
}

/* Ends the run with an error (exit 2). */
static void __attribute__((format(printf, 2, 3)))
client_fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL) {
		va_start(ap, fmt);
		c->err = xvasprintf(fmt, ap);
		va_end(ap);
	}
	c->st = CLIENT_DONE;
	event_base_loopbreak(c->base);
}

static double
client_step_timeout(const struct client *c)
{
	return c->o->timeout > CLIENT_STEP_TIMEOUT ? c->o->timeout
	                                           : CLIENT_STEP_TIMEOUT;
}

void
client_close(struct client *c)
{
	if (c->st == CLIENT_CLOSING || c->st == CLIENT_DONE)
		return;
	client_set_state(c, CLIENT_CLOSING);
	xmppc_close(c->x);
	rtime_arm(
	    c->timer, 2.0); /* the server's own close, at most this long */
}

static void
client_header(struct client *c)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "<?xml version='1.0'?><stream:stream to='");
	xnode_escape(&b, c->domain, strlen(c->domain), true);
	buf_adds(&b, "' version='1.0' xml:lang='en' xmlns='jabber:client' "
	             "xmlns:stream='http://etherx.jabber.org/streams'>");
	xmppc_send_raw(c->x, b.data, b.len);
	buf_fini(&b);
	client_set_state(c, CLIENT_FEATURES);
	rtime_arm(c->timer, client_step_timeout(c));
}

static const char *
client_tls_name(const struct client *c)
{
	return c->o->server_name != NULL ? c->o->server_name : c->domain;
}

static void
client_start_tls(struct client *c)
{
	static const char *alpn[] = {TLSCTX_ALPN_XMPP_CLIENT, NULL};
	char *err = NULL;
	SSL *ssl;

	if ((ssl = SSL_new(tlsctx_ctx(c->tc))) == NULL) {
		client_fail(c, "TLS: %s", tlsctx_error());
		return;
	}
	SSL_set_connect_state(ssl);
	if (tlsctx_client_prepare(ssl, client_tls_name(c), NULL,
	        c->o->tls == CLIENT_TLS_DIRECT ? alpn : NULL, &err) == -1) {
		SSL_free(ssl);
		client_fail(c, "TLS with %s: %s", client_tls_name(c), err);
		free(err);
		return;
	}
	/* From here the engine owns ssl, failing or not. */
	if (xmppc_start_tls(c->x, ssl, &err) == -1) {
		client_fail(c, "TLS with %s: %s", client_tls_name(c), err);
		free(err);
		return;
	}
	client_set_state(c, CLIENT_TLS);
	rtime_arm(c->timer, client_step_timeout(c));
}

static void
client_on_connected(void *arg)
{
	struct client *c = arg;

	log_debug("client: connected to %s", c->o->server);
	if (c->o->tls == CLIENT_TLS_DIRECT)
		client_start_tls(c);
	else
		client_header(c);
}

static void
client_on_tls(void *arg)
{
	struct client *c = arg;
	struct tlsctx_info info;
	char *desc;

	c->tls_up = true;
	tlsctx_describe(xmppc_ssl(c->x), &info);
	desc = xasprintf("%s %s, %s, certificate %s",
	    c->o->tls == CLIENT_TLS_DIRECT ? "direct" : "STARTTLS",
	    info.version, info.cipher,
	    c->o->verify ? "verified" : "NOT verified (--no-verify)");
	report_set(&c->rep->tls, desc);
	free(desc);
	client_header(c);
}

/* The names of the SASL mechanisms offered, "A, B". */
static char *
client_offered(const struct xnode *mechs)
{
	const struct xnode *m;
	struct buf b;
	char *t;

	buf_init(&b);
	buf_adds(&b, "");
	for (m = xnode_child(mechs, NS_SASL, "mechanism"); m != NULL;
	     m = xnode_next(m, NS_SASL, "mechanism")) {
		t = xnode_text(m);
		buf_addf(&b, "%s%s", b.len ? ", " : "", t);
		free(t);
	}
	return buf_release(&b);
}

static bool
client_offers(const struct xnode *mechs, const char *name)
{
	const struct xnode *m;
	bool found = false;
	char *t;

	for (m = xnode_child(mechs, NS_SASL, "mechanism"); m != NULL && !found;
	     m = xnode_next(m, NS_SASL, "mechanism")) {
		t = xnode_text(m);
		found = strcmp(t, name) == 0;
		free(t);
	}
	return found;
}

/* Picks the mechanism; -1 after failing the run. */
static int
client_choose(struct client *c, const struct xnode *mechs, enum scram_mech *out)
{
	static const enum scram_mech pref[] = {
	    SCRAM_MECH_SHA256, SCRAM_MECH_SHA1, SCRAM_MECH_PLAIN};
	bool plain_ok = c->tls_up || c->o->allow_plain;
	char *offered = client_offered(mechs);
	size_t i;

	if (c->o->mechanism != NULL) {
		if (scram_mech_parse(c->o->mechanism, out) == -1) {
			client_fail(c,
			    "--mechanism %s: not one of "
			    "SCRAM-SHA-256, SCRAM-SHA-1, PLAIN",
			    c->o->mechanism);
		} else if (!client_offers(mechs, c->o->mechanism)) {
			client_fail(c,
			    "the server does not offer %s (it "
			    "offers: %s)",
			    c->o->mechanism, offered);
		} else if (*out == SCRAM_MECH_PLAIN && !plain_ok) {
			client_fail(c, "PLAIN without TLS would send the "
			               "password in clear: use TLS, or "
			               "--allow-plain on a link you trust");
		} else {
			free(offered);
			return 0;
		}
		free(offered);
		return -1;
	}
	for (i = 0; i < sizeof(pref) / sizeof(pref[0]); i++)
		if (client_offers(mechs, scram_mech_name(pref[i])) &&
		    (pref[i] != SCRAM_MECH_PLAIN || plain_ok)) {
			*out = pref[i];
			free(offered);
			return 0;
		}
	client_fail(c, "no SASL mechanism in common: the server offers %s%s",
	    *offered ? offered : "none",
	    client_offers(mechs, "PLAIN") ? " (PLAIN needs TLS or "
	                                    "--allow-plain)"
	                                  : "");
	free(offered);
	return -1;
}

/* Sends a SASL element with raw data base64-encoded ("=" when empty). */
static void
client_sasl_send(struct client *c, const char *name, const char *mech,
    const char *data, size_t len)
{
	struct xnode *el = xnode_new_element(NS_SASL, name);
	char *b64 = xmalloc((len + 2) / 3 * 4 + 1);

	if (mech != NULL)
		xnode_set_attr(el, NULL, "mechanism", mech);
	b64_encode((const unsigned char *)data, len, b64);
	xnode_append_text(el, len > 0 ? b64 : "=", len > 0 ? strlen(b64) : 1);
	xmppc_send(c->x, el);
	xnode_free(el);
	free(b64);
}

static void
client_auth(struct client *c, const struct xnode *mechs)
{
	enum scram_mech m;
	char *init;
	size_t len;

	if (client_choose(c, mechs, &m) == -1)
		return;
	report_set(&c->rep->mechanism, scram_mech_name(m));
	c->sasl = scram_new(m, c->local, c->o->password, NULL);
	init = scram_initial(c->sasl, &len);
	client_sasl_send(c, "auth", scram_mech_name(m), init, len);
	explicit_bzero(init, len);
	free(init);
	client_set_state(c, CLIENT_AUTH);
	rtime_arm(c->timer, client_step_timeout(c));
}

static void
client_bind(struct client *c)
{
	struct xnode *iq = xnode_new_element(XMLSTREAM_NS_CLIENT, "iq");
	struct xnode *b = xnode_append(iq, xnode_new_element(NS_BIND, "bind"));
	struct xnode *r;

	xnode_set_attr(iq, NULL, "type", "set");
	xnode_set_attr(iq, NULL, "id", EXPECT_ID_BIND);
	if (c->resource != NULL) {
		r = xnode_append(b, xnode_new_element(NS_BIND, "resource"));
		xnode_append_text(r, c->resource, strlen(c->resource));
	}
	xmppc_send(c->x, iq);
	xnode_free(iq);
	client_set_state(c, CLIENT_BIND);
	rtime_arm(c->timer, client_step_timeout(c));
}

static void
client_features(struct client *c, const struct xnode *f)
{
	const struct xnode *mechs = xnode_child(f, NS_SASL, "mechanisms");
	const struct xnode *sess = xnode_child(f, NS_SESSION, "session");
	struct xnode *st;

	if (!c->tls_up && c->o->tls == CLIENT_TLS_STARTTLS) {
		if (xnode_child(f, NS_TLS, "starttls") == NULL) {
			client_fail(c,
			    "%s does not offer STARTTLS (use --tls "
			    "none to replay in plaintext)",
			    c->o->server);
			return;
		}
		st = xnode_new_element(NS_TLS, "starttls");
		xmppc_send(c->x, st);
		xnode_free(st);
		client_set_state(c, CLIENT_STARTTLS);
		rtime_arm(c->timer, client_step_timeout(c));
	} else if (!c->authed) {
		if (mechs == NULL) {
			client_fail(c, "the server offers no SASL mechanisms%s",
			    c->tls_up ? "" : " without TLS");
			return;
		}
		client_auth(c, mechs);
	} else {
		if (xnode_child(f, NS_BIND, "bind") == NULL) {
			client_fail(c, "the server offers no resource binding");
			return;
		}
		c->session_wanted =
		    sess != NULL &&
		    xnode_child(sess, NS_SESSION, "optional") == NULL;
		client_bind(c);
	}
}

/* A SASL element's base64 text decoded; -1 when not base64. */
static long
client_sasl_data(const struct xnode *el, unsigned char **out)
{
	char *t = xnode_text(el);
	long n;

	*out = xmalloc(strlen(t) / 4 * 3 + 4);
	n = strcmp(t, "=") == 0 ? 0 : b64_decode(t, strlen(t), *out);
	free(t);
	return n;
}

/* "not-authorized (text)" from a SASL failure or stanza error. */
static char *
client_condition(const struct xnode *el, const char *ns)
{
	const struct xnode *c;
	char *text = NULL, *out;

	for (c = el->children; c != NULL; c = c->next)
		if (c->type == XNODE_ELEMENT && xnode_is(c, ns, NULL) &&
		    strcmp(c->name, "text") != 0)
			break;
	if (xnode_child(el, ns, "text") != NULL)
		text = xnode_text(xnode_child(el, ns, "text"));
	out = xasprintf("%s%s%s%s", c != NULL ? c->name : "no condition",
	    text ? " (" : "", text ? text : "", text ? ")" : "");
	free(text);
	return out;
}

static void
client_sasl(struct client *c, const struct xnode *el)
{
	unsigned char *data = NULL;
	char *out = NULL, *err = NULL, *cond;
	size_t outlen;
	long n;

	if (xnode_is(el, NS_SASL, "failure")) {
		cond = client_condition(el, NS_SASL);
		client_fail(c, "authentication as %s with %s failed: %s",
		    c->o->jid, c->rep->mechanism, cond);
		free(cond);
		return;
	}
	if (!xnode_is(el, NS_SASL, "challenge") &&
	    !xnode_is(el, NS_SASL, "success")) {
		client_fail(
		    c, "unexpected <%s/> during authentication", el->name);
		return;
	}
	if ((n = client_sasl_data(el, &data)) < 0) {
		free(data);
		client_fail(c, "authentication: the server's SASL data is not "
		               "base64");
		return;
	}
	if (xnode_is(el, NS_SASL, "challenge")) {
		if (scram_step(c->sasl, (char *)data, (size_t)n, &out, &outlen,
		        &err) == 0) {
			client_sasl_send(c, "response", NULL, out, outlen);
			explicit_bzero(out, outlen);
		} else
			client_fail(c, "authentication: %s", err);
	} else if (scram_finish(c->sasl, (char *)data, (size_t)n, &err) == -1) {
		client_fail(c, "authentication: %s", err);
	} else {
		log_debug("client: authenticated as %s with %s", c->o->jid,
		    c->rep->mechanism);
		c->authed = true;
		xmppc_restart(c->x);
		client_header(c);
	}
	free(data);
	free(out);
	free(err);
}

static void
client_session(struct client *c)
{
	struct xnode *iq = xnode_new_element(XMLSTREAM_NS_CLIENT, "iq");

	xnode_set_attr(iq, NULL, "type", "set");
	xnode_set_attr(iq, NULL, "id", EXPECT_ID_SESSION);
	xnode_append(iq, xnode_new_element(NS_SESSION, "session"));
	xmppc_send(c->x, iq);
	xnode_free(iq);
	client_set_state(c, CLIENT_SESSION);
	rtime_arm(c->timer, client_step_timeout(c));
}

static void
client_playing(struct client *c)
{
	evtimer_del(c->timer);
	client_set_state(c, CLIENT_PLAY);
	jidmap_set_session(c->o->map, c->rec->jid, c->jid);
	report_set(&c->rep->jid, c->jid);
	play_start(c);
}

/* The answer to our bind or session iq. */
static void
client_iq_answer(struct client *c, const struct xnode *el)
{
	const char *type = xnode_attr(el, "type");
	const struct xnode *err = xnode_child(el, XMLSTREAM_NS_CLIENT, "error");
	char *cond, *jid;

	if (type != NULL && strcmp(type, "result") == 0) {
		if (c->st == CLIENT_SESSION) {
			client_playing(c);
			return;
		}
		jid = xnode_text(xnode_child(
		    xnode_child(el, NS_BIND, "bind"), NS_BIND, "jid"));
		if (*jid == '\0') {
			free(jid);
			client_fail(c, "the bind result has no JID");
			return;
		}
		c->jid = jid;
		log_debug("client: bound %s", jid);
		if (c->session_wanted)
			client_session(c);
		else
			client_playing(c);
		return;
	}
	cond = err != NULL ? client_condition(err, NS_STANZAS)
	                   : xstrdup("no error condition");
	if (c->st == CLIENT_BIND && c->resource != NULL) {
		log_info("bind of resource %s refused (%s): letting the "
		         "server choose one",
		    c->resource, cond);
		free(c->resource);
		c->resource = NULL;
		free(cond);
		client_bind(c);
		return;
	}
	client_fail(c, "%s failed: %s", client_state_str(c->st), cond);
	free(cond);
}

static void
client_stream_error(struct client *c, const struct xnode *el)
{
	char *cond = client_condition(el, NS_STREAM_ERRORS);

	if (c->st == CLIENT_PLAY)
		play_ended(c, cond);
	else if (c->st != CLIENT_CLOSING && c->st != CLIENT_DONE)
		client_fail(c, "the server sent a stream error during %s: %s",
		    client_state_str(c->st), cond);
	free(cond);
}

/* Whether id is that of the request we wait for (bind or session). */
static bool
client_is_ours(const struct client *c, const char *id)
{
	return id != NULL &&
	       strcmp(id, c->st == CLIENT_BIND ? EXPECT_ID_BIND
	                                       : EXPECT_ID_SESSION) == 0;
}

static void
client_on_element(void *arg, struct xnode *el)
{
	struct client *c = arg;

	if (xnode_is(el, XMLSTREAM_NS_STREAMS, "error")) {
		client_stream_error(c, el);
	} else if (c->st == CLIENT_PLAY) {
		play_element(c, el);
		return;
	} else if (c->st == CLIENT_FEATURES &&
	           xnode_is(el, XMLSTREAM_NS_STREAMS, "features")) {
		client_features(c, el);
	} else if (c->st == CLIENT_STARTTLS &&
	           xnode_is(el, NS_TLS, "proceed")) {
		client_start_tls(c);
	} else if (c->st == CLIENT_STARTTLS) {
		client_fail(c, "%s refused STARTTLS", c->o->server);
	} else if (c->st == CLIENT_AUTH) {
		client_sasl(c, el);
	} else if ((c->st == CLIENT_BIND || c->st == CLIENT_SESSION) &&
	           xnode_is(el, XMLSTREAM_NS_CLIENT, "iq") &&
	           client_is_ours(c, xnode_attr(el, "id"))) {
		client_iq_answer(c, el);
	} else if (c->st == CLIENT_CLOSING || c->st == CLIENT_DONE) {
		log_debug("client: ignored <%s/> while closing", el->name);
	} else {
		log_debug("client: ignored <%s/> during %s", el->name,
		    client_state_str(c->st));
	}
	xnode_free(el);
}

static void
client_on_close(void *arg)
{
	struct client *c = arg;

	if (c->st == CLIENT_PLAY) {
		play_ended(c, "the server closed the stream");
	} else if (c->st == CLIENT_CLOSING) {
		c->st = CLIENT_DONE;
		event_base_loopbreak(c->base);
	} else if (c->st != CLIENT_DONE)
		client_fail(c, "the server closed the stream during %s",
		    client_state_str(c->st));
}

static void
client_on_fail(void *arg, enum xmppc_fail f, const char *why)
{
	struct client *c = arg;

	if (c->st == CLIENT_CLOSING || c->st == CLIENT_DONE) {
		c->st = CLIENT_DONE;
		event_base_loopbreak(c->base);
		return;
	}
	switch (f) {
	case XMPPC_FAIL_CONNECT:
		client_fail(c, "cannot connect to %s: %s", c->o->server, why);
		return;
	case XMPPC_FAIL_TLS:
		client_fail(c, "TLS with %s (%s) failed: %s", c->o->server,
		    client_tls_name(c), why);
		return;
	default:
		break;
	}
	if (c->st == CLIENT_PLAY)
		play_ended(c, why);
	else if (c->st == CLIENT_TLS && f == XMPPC_FAIL_EOF)
		client_fail(c,
		    "TLS with %s failed: the server closed the "
		    "connection during the handshake",
		    c->o->server);
	else
		client_fail(c, "%s: %s during %s", c->o->server, why,
		    client_state_str(c->st));
}

static void
client_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	switch (c->st) {
	case CLIENT_PLAY:
		play_timer(c);
		break;
	case CLIENT_CLOSING:
	case CLIENT_DONE:
		c->st = CLIENT_DONE;
		event_base_loopbreak(c->base);
		break;
	default:
		client_fail(c, "%s did not answer within %.0f s during %s",
		    c->o->server, client_step_timeout(c),
		    client_state_str(c->st));
		break;
	}
}

static const struct xmppc_cbs client_cbs = {
    .on_connected = client_on_connected,
    .on_element = client_on_element,
    .on_close = client_on_close,
    .on_tls = client_on_tls,
    .on_fail = client_on_fail,
};

/* Splits the account and the server address; -1 with c->err. */
static int
client_setup(struct client *c)
{
	char host[256];
	const char *aerr;
	struct jid j;
	char *err = NULL;

	if (addr_split(c->o->server, host, sizeof(host), &c->port, &aerr) ==
	    -1) {
		c->err = xasprintf("--server %s: %s", c->o->server, aerr);
		return -1;
	}
	c->host = xstrdup(host);
	if (jid_parse(c->o->jid, &j) == -1 || j.local == NULL) {
		c->err = xasprintf(
		    "--jid %s: not a JID with a local part", c->o->jid);
		jid_fini(&j);
		return -1;
	}
	c->local = xstrdup(j.local);
	c->domain = xstrdup(j.domain);
	jid_fini(&j);
	if (c->o->tls != CLIENT_TLS_NONE && !c->o->verify)
		log_warnx("--no-verify: the server's certificate is not "
		          "checked; anyone on the path can read and change "
		          "this replay");
	if (c->o->tls != CLIENT_TLS_NONE &&
	    (c->tc = tlsctx_client_new(c->o->verify, c->o->ca_file, &err)) ==
	        NULL) {
		c->err = xasprintf("TLS: %s", err);
		free(err);
		return -1;
	}
	if (c->rec->jid != NULL && jid_parse(c->rec->jid, &j) == 0) {
		if (j.resource != NULL)
			c->resource = xstrdup(j.resource);
		jid_fini(&j);
	}
	return 0;
}

int
client_run(const struct recording *rec, const struct expect_plan *plan,
    const struct client_opts *o, struct report *rep, char **err)
{
	struct client c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.rec = rec;
	c.plan = plan;
	c.rep = rep;
	report_set(&rep->peer, o->server);
	report_set(&rep->tls, "none");
	if (client_setup(&c) == 0) {
		if ((c.base = event_base_new()) == NULL)
			fatalx("client: no event base");
		c.timer = evtimer_new(c.base, client_timer_cb, &c);
		c.x = xmppc_connect(
		    c.base, c.host, c.port, "server", &client_cbs, &c, &c.err);
		if (c.x != NULL && c.err == NULL) {
			rtime_arm(c.timer, client_step_timeout(&c));
			event_base_dispatch(c.base);
		}
	}
	if (c.err == NULL && c.play == NULL)
		c.err = xasprintf("%s: the connection ended during %s",
		    o->server, client_state_str(c.st));
	if (c.err == NULL)
		play_report(&c);
	rc = c.err != NULL ? -1 : 0;
	*err = c.err;
	play_free(c.play);
	xmppc_free(c.x);
	if (c.timer != NULL)
		event_free(c.timer);
	if (c.base != NULL)
		event_base_free(c.base);
	tlsctx_free(c.tc);
	scram_free(c.sasl);
	free(c.host);
	free(c.local);
	free(c.domain);
	free(c.resource);
	free(c.jid);
	return rc;
}
