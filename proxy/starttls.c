/* SPDX-License-Identifier: ISC */
/*
 * The proxy's own STARTTLS negotiations (RFC 6120 5.4), before anything is
 * relayed. Toward a client on a `starttls` listener the proxy is the server:
 * it answers the pre-TLS stream itself (its header, features with only
 * <starttls/>), says <proceed/> and the client's TLS starts at the next
 * byte. Toward an upstream with tls `starttls` it is the client: its own
 * header, <starttls/> whatever the features say (a server that does not
 * offer it must refuse, never get plaintext), TLS at <proceed/>. Nothing of
 * these pre-TLS streams is relayed; after TLS the conns are parsed afresh.
 */
#include <string.h>

#include "log.h"
#include "session_int.h"
#include "streamerr.h"

static const char starttls_proceed[] =
    "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
static const char starttls_request[] =
    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/* Toward the client: the pre-TLS header gets the local answer. */
static int
starttls_client_open(void *arg, const struct xnode *root, const char *bytes,
    size_t len)
{
	struct conn *c = arg;
	struct session *s = c->session;
	struct buf b;

	(void)bytes;
	(void)len;
	if (xnode_attr(root, "to") == NULL) {
		session_stream_error(c, "improper-addressing",
		    "the stream header has no 'to' attribute", NULL);
		session_close(s, SESSION_REASON_CLIENT_ERROR);
		return XMLSTREAM_STOP;
	}
	nego_stream_open(&s->nego, NEGO_C2S, root);
	buf_init(&b);
	streamerr_header(&b, s->nego.domain);
	buf_adds(&b, "<stream:features><starttls "
		     "xmlns='urn:ietf:params:xml:ns:xmpp-tls'>");
	if (s->client_tls_required)
		buf_adds(&b, "<required/>");
	buf_adds(&b, "</starttls></stream:features>");
	conn_write_local(c, b.data, b.len);
	buf_fini(&b);
	c->header_out = true;
	log_debug("session=%s pre-TLS stream to=%s answered locally", s->id,
	    s->nego.domain);
	return XMLSTREAM_CONTINUE;
}

static int
starttls_client_element(void *arg, struct xnode *el, const char *bytes,
    size_t len)
{
	struct conn *c = arg;
	struct session *s = c->session;
	bool starttls = xnode_is(el, NEGO_NS_TLS, "starttls");

	(void)bytes;
	(void)len;
	xnode_free(el);
	if (!starttls) {
		session_stream_error(c, "policy-violation",
		    "STARTTLS is required before anything else", NULL);
		session_set_detail(s, "the client did not start TLS");
		session_close(s, SESSION_REASON_CLIENT_ERROR);
		return XMLSTREAM_STOP;
	}
	conn_write_local(c, starttls_proceed, sizeof(starttls_proceed) - 1);
	/* The bytes after <starttls/> are the client's TLS: never XML. */
	c->header_out = false;
	c->phase = CONN_TLS_NEXT;
	return XMLSTREAM_STOP;
}

static int
starttls_space(void *arg, const char *bytes, size_t len)
{
	(void)arg;
	(void)bytes;
	(void)len;
	return XMLSTREAM_CONTINUE;
}

static int
starttls_client_close(void *arg, const char *bytes, size_t len)
{
	static const char close_tag[] = "</stream:stream>";
	struct conn *c = arg;

	(void)bytes;
	(void)len;
	conn_write_local(c, close_tag, sizeof(close_tag) - 1);
	c->closed_out = true;
	c->stream_closed = true;
	session_close(c->session, SESSION_REASON_CLIENT_CLOSED);
	return XMLSTREAM_STOP;
}

const struct xmlstream_cbs starttls_client_cbs = {
	.on_open = starttls_client_open,
	.on_element = starttls_client_element,
	.on_space = starttls_space,
	.on_close = starttls_client_close,
};

void
starttls_upstream_begin(struct session *s)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
		     " xmlns:stream='http://etherx.jabber.org/streams'"
		     " version='1.0' to='");
	xnode_escape(&b, s->nego.domain, strlen(s->nego.domain), true);
	buf_adds(&b, "'>");
	conn_write_local(&s->upstream, b.data, b.len);
	buf_fini(&b);
	log_debug("session=%s upstream STARTTLS: header sent", s->id);
}

static int
starttls_upstream_open(void *arg, const struct xnode *root,
    const char *bytes, size_t len)
{
	(void)arg;
	(void)root;
	(void)bytes;
	(void)len;
	return XMLSTREAM_CONTINUE;
}

static int
starttls_upstream_element(void *arg, struct xnode *el, const char *bytes,
    size_t len)
{
	struct conn *c = arg;
	struct session *s = c->session;
	const struct xnode *cond;
	char why[160];

	(void)bytes;
	(void)len;
	if (xnode_is(el, XMLSTREAM_NS_STREAMS, "features")) {
		if (xnode_child(el, NEGO_NS_TLS, "starttls") == NULL)
			log_info("session=%s upstream does not offer STARTTLS;"
				 " asking anyway", s->id);
		conn_write_local(c, starttls_request,
		    sizeof(starttls_request) - 1);
		xnode_free(el);
		return XMLSTREAM_CONTINUE;
	}
	if (xnode_is(el, NEGO_NS_TLS, "proceed")) {
		xnode_free(el);
		/* TLS starts at the next byte; whatever the server sent
		 * after <proceed/> goes to OpenSSL, never to the parser. */
		session_tls_begin(c);
		return XMLSTREAM_STOP;
	}
	if (xnode_is(el, NEGO_NS_TLS, "failure"))
		snprintf(why, sizeof(why), "the server refused STARTTLS");
	else if (xnode_is(el, XMLSTREAM_NS_STREAMS, "error")) {
		for (cond = el->children; cond != NULL &&
		    cond->type != XNODE_ELEMENT; cond = cond->next)
			;
		snprintf(why, sizeof(why), "the server sent a stream error "
		    "(%.40s) instead of STARTTLS", cond ? cond->name
							: "unknown");
	} else
		snprintf(why, sizeof(why), "the server sent <%.40s/> instead "
		    "of answering STARTTLS", el->name);
	xnode_free(el);
	session_tls_failed(c, why);
	return XMLSTREAM_STOP;
}

static int
starttls_upstream_close(void *arg, const char *bytes, size_t len)
{
	struct conn *c = arg;

	(void)bytes;
	(void)len;
	c->stream_closed = true;
	session_tls_failed(c, "the server closed its stream before TLS");
	return XMLSTREAM_STOP;
}

const struct xmlstream_cbs starttls_upstream_cbs = {
	.on_open = starttls_upstream_open,
	.on_element = starttls_upstream_element,
	.on_space = starttls_space,
	.on_close = starttls_upstream_close,
};
