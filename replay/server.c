/* SPDX-License-Identifier: ISC */
/*
 * Server mode: the listener, the negotiation a client under test goes
 * through, and the session's end. Its own stream header and features;
 * STARTTLS (required) when a certificate is given; SASL PLAIN only, any
 * credentials accepted (SCRAM cannot be answered without the password,
 * which a recording never holds); bind with the requested resource, else
 * the recorded one; the session iq answered if asked. Once bound, each
 * client stanza goes to serve.c and the server elements it queues go out
 * when due. The session ends when the client closes, after --timeout
 * seconds without traffic either way, or on SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>
#include <openssl/rand.h>

#include "addr.h"
#include "answer.h"
#include "b64.h"
#include "buf.h"
#include "jid.h"
#include "log.h"
#include "rtime.h"
#include "serve.h"
#include "server.h"
#include "tlsctx.h"
#include "xmalloc.h"
#include "xmlstream.h"
#include "xmppc.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"

enum server_state {
	SERVER_LISTEN,
	SERVER_NEGOTIATE,
	SERVER_BOUND,
	SERVER_CLOSING,
	SERVER_DONE,
};

struct server {
	const struct server_opts *o; /* borrowed */
	const struct recording *rec; /* borrowed */
	struct report *rep;          /* borrowed */
	struct event_base *base;     /* owned, and the rest */
	struct evconnlistener *lis;
	struct xmppc *x;
	struct tlsctx *tc;
	struct serve *sv;
	struct event *qtimer; /* the next queued element */
	struct event *idle;
	struct event *sigint, *sigterm;
	enum server_state st;
	bool tls_up;
	bool authed;
	char *domain;
	char *local;
	char *jid;
	double last; /* the last traffic either way (monotonic s) */
	char *err;
};

/* Ends the session: our close, then the loop ends at EOF or after 1 s. */
static void
server_finish(struct server *s)
{
	if (s->st == SERVER_CLOSING || s->st == SERVER_DONE)
		return;
	s->st = SERVER_CLOSING;
	if (s->x == NULL) {
		s->st = SERVER_DONE;
		event_base_loopbreak(s->base);
		return;
	}
	xmppc_close(s->x);
	evtimer_del(s->qtimer);
	rtime_arm(s->idle, 1.0);
}

static void __attribute__((format(printf, 2, 3)))
server_fail(struct server *s, const char *fmt, ...)
{
	va_list ap;

	if (s->err == NULL) {
		va_start(ap, fmt);
		s->err = xvasprintf(fmt, ap);
		va_end(ap);
	}
	s->st = SERVER_DONE;
	event_base_loopbreak(s->base);
}

/* Sends our stream header and the features for where the client is. */
static void
server_header(struct server *s)
{
	unsigned char rnd[8];
	char id[sizeof(rnd) * 2 + 1];
	struct buf b;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("server: no random bytes");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	buf_init(&b);
	buf_adds(&b,
	    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' id='");
	buf_adds(&b, id);
	buf_adds(&b, "' from='");
	xnode_escape(&b, s->domain, strlen(s->domain), true);
	buf_adds(&b, "' version='1.0' xml:lang='en'><stream:features>");
	if (s->tc != NULL && !s->tls_up)
		buf_adds(&b, "<starttls xmlns='" NS_TLS "'><required/>"
		             "</starttls>");
	else if (!s->authed)
		buf_adds(&b, "<mechanisms xmlns='" NS_SASL "'><mechanism>PLAIN"
		             "</mechanism></mechanisms>");
	else
		buf_adds(&b, "<bind xmlns='" NS_BIND
		             "'/><session xmlns='" SERVE_NS_SESSION
		             "'><optional/></session>");
	buf_adds(&b, "</stream:features>");
	xmppc_send_raw(s->x, b.data, b.len);
	buf_fini(&b);
}

static void
server_stream_error(struct server *s, const char *cond, const char *text)
{
	struct buf b;

	buf_init(&b);
	buf_addf(&b,
	    "<stream:error><%s xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-streams'>%s</text></stream:error>",
	    cond, text);
	xmppc_send_raw(s->x, b.data, b.len);
	buf_fini(&b);
	report_note(s->rep, "sent the stream error %s: %s", cond, text);
	server_finish(s);
}

static void
server_on_open(void *arg, const struct xnode *root)
{
	struct server *s = arg;
	const char *to = xnode_attr(root, "to");

	if (s->domain == NULL)
		s->domain = xstrdup(to != NULL               ? to
		                    : s->rec->domain != NULL ? s->rec->domain
		                                             : "localhost");
	server_header(s);
}

static void
server_sasl_send(struct server *s, const char *name, const char *cond)
{
	struct xnode *el = xnode_new_element(NS_SASL, name);

	if (cond != NULL)
		xnode_append(el, xnode_new_element(NS_SASL, cond));
	xmppc_send(s->x, el);
	xnode_free(el);
}

/* Takes a PLAIN message: any password is fine, the authcid names us. */
static void
server_plain(struct server *s, const struct xnode *el)
{
	char *t = xnode_text(el), *authcid;
	unsigned char *raw = xmalloc(strlen(t) / 4 * 3 + 4);
	long n = b64_decode(t, strlen(t), raw);
	const unsigned char *nul1, *nul2;
	struct jid j;

	free(t);
	nul1 = n > 0 ? memchr(raw, '\0', (size_t)n) : NULL;
	nul2 = nul1 != NULL
	           ? memchr(nul1 + 1, '\0', (size_t)(n - (nul1 + 1 - raw)))
	           : NULL;
	if (nul2 == NULL || nul2 == nul1 + 1) {
		explicit_bzero(raw, n > 0 ? (size_t)n : 0);
		free(raw);
		server_sasl_send(s, "failure", "malformed-request");
		return;
	}
	authcid = xstrndup((const char *)nul1 + 1, (size_t)(nul2 - nul1 - 1));
	explicit_bzero(raw, (size_t)n);
	free(raw);
	if (jid_parse(authcid, &j) == 0 && j.local != NULL) {
		s->local = xstrdup(j.local);
		free(authcid);
	} else
		s->local = authcid;
	jid_fini(&j);
	log_info("the client logged in as %s (PLAIN; any password is "
	         "accepted)",
	    s->local);
	s->authed = true;
	server_sasl_send(s, "success", NULL);
	xmppc_restart(s->x);
}

static void
server_sasl(struct server *s, const struct xnode *el)
{
	const char *mech = xnode_attr(el, "mechanism");
	char *t;

	if (xnode_is(el, NS_SASL, "auth")) {
		if (mech == NULL || strcmp(mech, "PLAIN") != 0) {
			server_sasl_send(s, "failure", "invalid-mechanism");
			return;
		}
		t = xnode_text(el);
		if (*t == '\0')
			server_sasl_send(s, "challenge", NULL); /* no data */
		else
			server_plain(s, el);
		free(t);
	} else if (xnode_is(el, NS_SASL, "response")) {
		server_plain(s, el);
	} else if (xnode_is(el, NS_SASL, "abort")) {
		server_sasl_send(s, "failure", "aborted");
	} else
		server_stream_error(s, "not-authorized", "authenticate first");
}

static void
server_start_tls(struct server *s)
{
	struct xnode *p = xnode_new_element(NS_TLS, "proceed");
	char *err = NULL;
	SSL *ssl;

	xmppc_send(s->x, p);
	xnode_free(p);
	if ((ssl = SSL_new(tlsctx_ctx(s->tc))) == NULL) {
		server_fail(s, "TLS: %s", tlsctx_error());
		return;
	}
	SSL_set_accept_state(ssl);
	if (xmppc_start_tls(s->x, ssl, &err) == -1) {
		server_fail(s, "TLS with the client: %s", err);
		free(err);
	}
}

/* Sends a made-up answer (answer.c) and frees it. */
static void
server_send(struct server *s, struct xnode *el)
{
	xmppc_send(s->x, el);
	xnode_free(el);
}

static void
server_pump(struct server *s)
{
	struct xnode *el;
	double wait, now = rtime_now();

	while ((el = serve_next(s->sv, now, &wait)) != NULL) {
		xmppc_send(s->x, el);
		xnode_free(el);
		s->rep->sent++;
		s->last = now;
	}
	if (wait >= 0)
		rtime_arm(s->qtimer, wait);
}

static void
server_bind(struct server *s, const struct xnode *iq)
{
	const struct xnode *b = xnode_child(iq, NS_BIND, "bind");
	struct xnode *res, *j;
	char *want = xnode_text(xnode_child(b, NS_BIND, "resource"));
	const char *r = *want ? want
	                : serve_recorded_resource(s->sv)
	                    ? serve_recorded_resource(s->sv)
	                    : "replay";

	free(s->jid);
	s->jid = xasprintf("%s@%s/%s", s->local, s->domain, r);
	free(want);
	res = xnode_new_element(NS_BIND, "bind");
	j = xnode_append(res, xnode_new_element(NS_BIND, "jid"));
	xnode_append_text(j, s->jid, strlen(s->jid));
	server_send(s, answer_result(iq, res));
	report_set(&s->rep->jid, s->jid);
	log_info("bound %s: playing the recorded server", s->jid);
	s->st = SERVER_BOUND;
	serve_bound(s->sv, s->jid, rtime_now());
	server_pump(s);
}

/* A stanza from the bound client. */
static void
server_stanza(struct server *s, const struct xnode *el)
{
	struct report_entry *e;

	if (serve_is_session(el)) {
		server_send(s, answer_result(el, NULL));
		return;
	}
	if (serve_client(s->sv, el, rtime_now())) {
		server_pump(s);
		return;
	}
	e = report_add(s->rep, REPORT_UNEXPECTED, el, 0,
	    "no recorded client stanza is like it");
	report_set_xml(e, el);
	if (answer_is_request(el))
		server_send(s, answer_error(el, "service-unavailable"));
}

static void
server_on_element(void *arg, struct xnode *el)
{
	struct server *s = arg;
	enum stanza_kind k = stanza_kind_of(el);

	s->last = rtime_now();
	if (s->st != SERVER_NEGOTIATE && s->st != SERVER_BOUND) {
		xnode_free(el);
		return;
	}
	if (xnode_is(el, XMLSTREAM_NS_STREAMS, "error")) {
		report_note(s->rep, "the client sent a stream error");
		server_finish(s);
	} else if (s->tc != NULL && !s->tls_up) {
		if (xnode_is(el, NS_TLS, "starttls"))
			server_start_tls(s);
		else
			server_stream_error(
			    s, "policy-violation", "STARTTLS is required");
	} else if (!s->authed) {
		server_sasl(s, el);
	} else if (s->st == SERVER_NEGOTIATE) {
		if (k == STANZA_IQ && xnode_child(el, NS_BIND, "bind") != NULL)
			server_bind(s, el);
		else if (k == STANZA_IQ && serve_is_session(el))
			server_send(s, answer_result(el, NULL));
		else
			server_stream_error(
			    s, "not-authorized", "bind a resource first");
	} else if (k != STANZA_NONZA) {
		server_stanza(s, el);
	} else
		log_debug("server: ignored the nonza <%s/>", el->name);
	xnode_free(el);
}

static void
server_on_tls(void *arg)
{
	struct server *s = arg;
	struct tlsctx_info info;
	char *desc;

	s->tls_up = true;
	tlsctx_describe(xmppc_ssl(s->x), &info);
	desc = xasprintf("STARTTLS %s, %s", info.version, info.cipher);
	report_set(&s->rep->tls, desc);
	free(desc);
}

static void
server_on_close(void *arg)
{
	struct server *s = arg;

	log_debug("server: the client closed its stream");
	server_finish(s);
}

static void
server_on_fail(void *arg, enum xmppc_fail f, const char *why)
{
	struct server *s = arg;

	if (s->st == SERVER_CLOSING || s->st == SERVER_DONE) {
		s->st = SERVER_DONE;
		event_base_loopbreak(s->base);
		return;
	}
	if (f == XMPPC_FAIL_TLS) {
		server_fail(s, "TLS with the client failed: %s", why);
		return;
	}
	report_note(s->rep, "the client's connection ended: %s", why);
	s->st = SERVER_DONE;
	event_base_loopbreak(s->base);
}

static const struct xmppc_cbs server_cbs = {
    .on_open = server_on_open,
    .on_element = server_on_element,
    .on_close = server_on_close,
    .on_tls = server_on_tls,
    .on_fail = server_on_fail,
};

static void
server_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *s = arg;
	char peer[128];

	addr_format(sa, peer, sizeof(peer));
	log_info("client %s connected; no more are accepted", peer);
	report_set(&s->rep->peer, peer);
	evconnlistener_free(s->lis); /* one client: later ones are refused */
	s->lis = NULL;
	s->x = xmppc_accept(s->base, fd, "client", &server_cbs, s);
	s->st = SERVER_NEGOTIATE;
	s->last = rtime_now();
	rtime_arm(s->idle, s->o->timeout);
}

static void
server_qtimer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	if (s->st == SERVER_BOUND)
		server_pump(s);
}

static void
server_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	double wait, idle = rtime_now() - s->last;

	if (s->st == SERVER_CLOSING || s->st == SERVER_DONE) {
		s->st = SERVER_DONE;
		event_base_loopbreak(s->base);
		return;
	}
	if (evtimer_pending(s->qtimer, NULL) || idle < s->o->timeout) {
		wait = s->o->timeout - idle;
		rtime_arm(s->idle, wait > 0.05 ? wait : 0.05);
		return;
	}
	report_note(s->rep, "nothing happened for %.1f s: the replay ended",
	    s->o->timeout);
	server_finish(s);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	report_note(s->rep, "stopped by signal %d", (int)sig);
	if (s->x == NULL) {
		s->st = SERVER_DONE;
		event_base_loopbreak(s->base);
		return;
	}
	server_finish(s);
}

static int
server_listen(struct server *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *aerr;
	char *err = NULL;

	if (addr_parse_numeric(s->o->listen, &ss, &len, &aerr) == -1) {
		s->err = xasprintf("--serve %s: %s", s->o->listen, aerr);
		return -1;
	}
	if (s->o->cert != NULL &&
	    (s->tc = tlsctx_server_new(s->o->cert, s->o->key, &err)) == NULL) {
		s->err = xasprintf("--cert/--key: %s", err);
		free(err);
		return -1;
	}
	s->lis = evconnlistener_new_bind(s->base, server_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 8,
	    (struct sockaddr *)&ss, (int)len);
	if (s->lis == NULL) {
		s->err = xasprintf("cannot listen on %s: %s", s->o->listen,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	log_info("listening on %s for one client under test", s->o->listen);
	return 0;
}

int
server_run(const struct recording *rec, const struct server_opts *o,
    struct report *rep, char **err)
{
	struct server s;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.rec = rec;
	s.rep = rep;
	if ((s.base = event_base_new()) == NULL)
		fatalx("server: no event base");
	s.qtimer = evtimer_new(s.base, server_qtimer_cb, &s);
	s.idle = evtimer_new(s.base, server_idle_cb, &s);
	s.sigint = evsignal_new(s.base, SIGINT, server_signal_cb, &s);
	s.sigterm = evsignal_new(s.base, SIGTERM, server_signal_cb, &s);
	evsignal_add(s.sigint, NULL);
	evsignal_add(s.sigterm, NULL);
	s.sv = serve_new(rec, o->map, o->speed);
	if (server_listen(&s) == 0)
		event_base_dispatch(s.base);
	if (s.err == NULL)
		serve_report(s.sv, rep);
	*err = s.err;
	serve_free(s.sv);
	xmppc_free(s.x);
	if (s.lis != NULL)
		evconnlistener_free(s.lis);
	tlsctx_free(s.tc);
	event_free(s.qtimer);
	event_free(s.idle);
	event_free(s.sigint);
	event_free(s.sigterm);
	event_base_free(s.base);
	free(s.domain);
	free(s.local);
	free(s.jid);
	return *err != NULL ? -1 : 0;
}
