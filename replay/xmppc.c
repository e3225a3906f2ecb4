/* SPDX-License-Identifier: ISC */
/*
 * The stream engine. Bytes read go to the parser directly, or through tlsio
 * once TLS started; the parser's events go to the owner. A callback that
 * asks for TLS or a restart makes the parser stop right after the element
 * that triggered it, so the bytes after it are handled as what they are
 * (TLS records, or a new stream). Callbacks must not free the engine: the
 * owner breaks its event loop and frees it afterwards.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>

#include "buf.h"
#include "log.h"
#include "redact.h"
#include "tlsio.h"
#include "xmalloc.h"
#include "xmlstream.h"
#include "xmppc.h"

/* The largest element taken from a peer: xmppgate's own ceiling. */
#define XMPPC_MAX_ELEMENT (16u * 1024 * 1024)

struct xmppc {
	struct bufferevent *bev;     /* owned: the socket */
	struct xmlstream *xs;        /* owned */
	struct tlsio *tls;           /* owned once TLS started */
	struct evbuffer *plain;      /* owned: decrypted, not parsed yet */
	struct evbuffer *held;       /* owned: written during the handshake */
	SSL *pending;                /* TLS asked for inside a callback */
	const struct xmppc_cbs *cbs; /* borrowed */
	void *arg;
	char *label;
	bool connected;
	bool in_cb;
	bool want_restart;
	bool skip_space; /* server STARTTLS: whitespace may precede TLS */
	bool closed_out; /* </stream:stream> written */
	bool closing;    /* shut the write side once the output is out */
	bool dead;       /* failed: nothing more is read or written */
};

static void xmppc_fail(struct xmppc *, enum xmppc_fail, const char *why);

/* Logs an element with -v, secrets redacted. */
static void
xmppc_trace(const struct xmppc *x, const char *dir, const struct xnode *el)
{
	struct xnode *red;
	struct buf b;

	if (!log_trace_on(LOG_TRACE_XML))
		return;
	red = redact_copy(el);
	buf_init(&b);
	xnode_serialize(red != NULL ? red : el, XMLSTREAM_NS_CLIENT, &b);
	log_trace(LOG_TRACE_XML, "%s %s %s", x->label, dir, b.data);
	buf_fini(&b);
	xnode_free(red);
}

static int
xmppc_on_open(
    void *arg, const struct xnode *root, const char *bytes, size_t len)
{
	struct xmppc *x = arg;

	log_trace(LOG_TRACE_XML, "%s -> stream header %.*s", x->label, (int)len,
	    bytes);
	x->in_cb = true;
	if (x->cbs->on_open != NULL)
		x->cbs->on_open(x->arg, root);
	x->in_cb = false;
	return x->dead || x->pending || x->want_restart ? XMLSTREAM_STOP
	                                                : XMLSTREAM_CONTINUE;
}

static int
xmppc_on_element(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct xmppc *x = arg;

	xmppc_trace(x, "->", el);
	x->in_cb = true;
	x->cbs->on_element(x->arg, el);
	x->in_cb = false;
	return x->dead || x->pending || x->want_restart ? XMLSTREAM_STOP
	                                                : XMLSTREAM_CONTINUE;
}

static int
xmppc_on_close(void *arg, const char *bytes, size_t len)
{
	struct xmppc *x = arg;

	log_trace(LOG_TRACE_XML, "%s -> </stream:stream>", x->label);
	x->in_cb = true;
	if (x->cbs->on_close != NULL)
		x->cbs->on_close(x->arg);
	x->in_cb = false;
	return XMLSTREAM_STOP;
}

static const struct xmlstream_cbs xmppc_xs_cbs = {
    .on_open = xmppc_on_open,
    .on_element = xmppc_on_element,
    .on_close = xmppc_on_close,
};

/* Activates TLS with ssl: a client sends its hello now. */
static int
xmppc_begin_tls(struct xmppc *x, SSL *ssl, char **err)
{
	x->tls = tlsio_new(ssl);
	xmlstream_reset(x->xs);
	if (SSL_is_server(ssl)) {
		x->skip_space = true;
		return 0;
	}
	if (tlsio_start(x->tls, bufferevent_get_output(x->bev)) == -1) {
		*err = xstrdup(tlsio_error(x->tls));
		return -1;
	}
	return 0;
}

/* Parses what src holds; stops where TLS starts. */
static void
xmppc_parse(struct xmppc *x, struct evbuffer *src)
{
	size_t len, consumed;
	const char *p;
	char *err = NULL;
	SSL *ssl;
	int rc;

	while (!x->dead && (len = evbuffer_get_length(src)) > 0) {
		if (xmlstream_is_closed(x->xs)) {
			evbuffer_drain(src, len);
			return;
		}
		p = (const char *)evbuffer_pullup(src, -1);
		rc = xmlstream_feed(x->xs, p, len, &consumed);
		evbuffer_drain(src, consumed);
		if (rc == -1) {
			err = xasprintf("%s: %s",
			    xmlstream_err_str(xmlstream_error(x->xs)),
			    xmlstream_error_detail(x->xs));
			xmppc_fail(x, XMPPC_FAIL_XML, err);
			free(err);
			return;
		}
		if (x->pending != NULL) {
			ssl = x->pending;
			x->pending = NULL;
			if (xmppc_begin_tls(x, ssl, &err) == -1) {
				xmppc_fail(x, XMPPC_FAIL_TLS, err);
				free(err);
			}
			return; /* what is left is TLS: the caller's loop */
		}
		if (x->want_restart) {
			x->want_restart = false;
			xmlstream_reset(x->xs);
			continue;
		}
		if (consumed == len)
			return;
	}
}

/* Feeds TLS bytes from in; returns -1 when the engine failed. */
static int
xmppc_tls_input(struct xmppc *x, struct evbuffer *in)
{
	struct evbuffer *out = bufferevent_get_output(x->bev);
	unsigned char c;
	int r;

	while (x->skip_space && evbuffer_copyout(in, &c, 1) == 1) {
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			x->skip_space = false;
			break;
		}
		evbuffer_drain(in, 1);
	}
	if (evbuffer_get_length(in) == 0)
		return 0;
	r = tlsio_input(x->tls, in, x->plain, out);
	if (r == -1) {
		xmppc_fail(x, XMPPC_FAIL_TLS, tlsio_error(x->tls));
		return -1;
	}
	if (r & TLSIO_ESTABLISHED) {
		if (evbuffer_get_length(x->held) > 0) {
			size_t n = evbuffer_get_length(x->held);
			const char *p =
			    (const char *)evbuffer_pullup(x->held, -1);

			if (tlsio_write(x->tls, p, n, out) == -1) {
				xmppc_fail(
				    x, XMPPC_FAIL_TLS, tlsio_error(x->tls));
				return -1;
			}
			evbuffer_drain(x->held, n);
		}
		log_debug("%s: TLS established", x->label);
		if (x->cbs->on_tls != NULL)
			x->cbs->on_tls(x->arg);
	}
	xmppc_parse(x, x->plain);
	if (!x->dead && (r & TLSIO_CLOSED))
		xmppc_fail(x, XMPPC_FAIL_EOF, "the peer ended TLS");
	return x->dead ? -1 : 0;
}

static void
xmppc_read_cb(struct bufferevent *bev, void *arg)
{
	struct xmppc *x = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!x->dead && evbuffer_get_length(in) > 0) {
		if (x->tls != NULL) {
			(void)xmppc_tls_input(x, in);
			return;
		}
		xmppc_parse(x, in);
		if (x->tls == NULL)
			return;
	}
}

static void
xmppc_write_cb(struct bufferevent *bev, void *arg)
{
	struct xmppc *x = arg;

	if (x->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
		x->closing = false;
	}
}

static void
xmppc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct xmppc *x = arg;
	int dnserr;
	char *why;

	if (what & BEV_EVENT_CONNECTED) {
		x->connected = true;
		if (x->cbs->on_connected != NULL)
			x->cbs->on_connected(x->arg);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		xmppc_fail(x, XMPPC_FAIL_EOF, "the connection was closed");
		return;
	}
	if (!x->connected) {
		dnserr = bufferevent_socket_get_dns_error(bev);
		why = dnserr != 0 ? xasprintf("cannot resolve: %s",
		                        evutil_gai_strerror(dnserr))
		                  : xstrdup(evutil_socket_error_to_string(
		                        EVUTIL_SOCKET_ERROR()));
		xmppc_fail(x, XMPPC_FAIL_CONNECT, why);
		free(why);
		return;
	}
	xmppc_fail(x, XMPPC_FAIL_IO,
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
xmppc_fail(struct xmppc *x, enum xmppc_fail f, const char *why)
{
	if (x->dead)
		return;
	x->dead = true;
	bufferevent_disable(x->bev, EV_READ);
	log_debug("%s: connection ended: %s", x->label, why);
	if (x->cbs->on_fail != NULL)
		x->cbs->on_fail(x->arg, f, why);
}

static struct xmppc *
xmppc_new(struct bufferevent *bev, const char *label,
    const struct xmppc_cbs *cbs, void *arg)
{
	struct xmppc *x = xcalloc(1, sizeof(*x));

	x->bev = bev;
	x->cbs = cbs;
	x->arg = arg;
	x->label = xstrdup(label);
	x->xs = xmlstream_new(&xmppc_xs_cbs, x, XMPPC_MAX_ELEMENT);
	x->plain = evbuffer_new();
	x->held = evbuffer_new();
	if (x->plain == NULL || x->held == NULL)
		fatalx("xmppc: out of memory");
	bufferevent_setcb(
	    bev, xmppc_read_cb, xmppc_write_cb, xmppc_event_cb, x);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return x;
}

struct xmppc *
xmppc_connect(struct event_base *base, const char *host, unsigned port,
    const char *label, const struct xmppc_cbs *cbs, void *arg, char **err)
{
	struct bufferevent *bev;
	struct xmppc *x;

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		*err = xstrdup("cannot create a socket");
		return NULL;
	}
	x = xmppc_new(bev, label, cbs, arg);
	/* No evdns base: the system resolver, blocking, once at start. */
	if (bufferevent_socket_connect_hostname(
	        bev, NULL, AF_UNSPEC, host, (int)port) == -1 &&
	    !x->dead) {
		int dnserr = bufferevent_socket_get_dns_error(bev);

		*err = dnserr != 0
		           ? xasprintf("cannot resolve %s: %s", host,
		                 evutil_gai_strerror(dnserr))
		           : xasprintf("cannot connect to %s port %u: %s", host,
		                 port,
		                 evutil_socket_error_to_string(
		                     EVUTIL_SOCKET_ERROR()));
		xmppc_free(x);
		return NULL;
	}
	return x;
}

struct xmppc *
xmppc_accept(struct event_base *base, int fd, const char *label,
    const struct xmppc_cbs *cbs, void *arg)
{
	struct bufferevent *bev;
	struct xmppc *x;

	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("xmppc: cannot make a bufferevent");
	x = xmppc_new(bev, label, cbs, arg);
	x->connected = true;
	return x;
}

void
xmppc_free(struct xmppc *x)
{
	if (x == NULL)
		return;
	if (x->pending != NULL)
		SSL_free(x->pending);
	tlsio_free(x->tls);
	bufferevent_free(x->bev);
	xmlstream_free(x->xs);
	evbuffer_free(x->plain);
	evbuffer_free(x->held);
	free(x->label);
	free(x);
}

void
xmppc_send_raw(struct xmppc *x, const char *data, size_t len)
{
	if (x->dead || x->closed_out)
		return;
	if (x->tls == NULL) {
		if (bufferevent_write(x->bev, data, len) == -1)
			fatalx("xmppc: out of memory");
	} else if (!tlsio_established(x->tls)) {
		if (evbuffer_add(x->held, data, len) == -1)
			fatalx("xmppc: out of memory");
	} else if (tlsio_write(
	               x->tls, data, len, bufferevent_get_output(x->bev)) == -1)
		xmppc_fail(x, XMPPC_FAIL_TLS, tlsio_error(x->tls));
}

void
xmppc_send(struct xmppc *x, const struct xnode *el)
{
	struct buf b;

	xmppc_trace(x, "<-", el);
	buf_init(&b);
	xnode_serialize(el, XMLSTREAM_NS_CLIENT, &b);
	xmppc_send_raw(x, b.data, b.len);
	buf_fini(&b);
}

int
xmppc_start_tls(struct xmppc *x, SSL *ssl, char **err)
{
	if (x->tls != NULL || x->pending != NULL) {
		SSL_free(ssl);
		*err = xstrdup("TLS already started");
		return -1;
	}
	if (x->in_cb) {
		x->pending = ssl;
		return 0;
	}
	return xmppc_begin_tls(x, ssl, err);
}

void
xmppc_restart(struct xmppc *x)
{
	if (x->in_cb)
		x->want_restart = true;
	else
		xmlstream_reset(x->xs);
}

void
xmppc_close(struct xmppc *x)
{
	if (x->dead)
		return;
	if (!x->closed_out) {
		log_trace(LOG_TRACE_XML, "%s <- </stream:stream>", x->label);
		xmppc_send_raw(x, "</stream:stream>", 16);
		x->closed_out = true;
	}
	if (x->tls != NULL && tlsio_established(x->tls))
		tlsio_close_notify(x->tls, bufferevent_get_output(x->bev));
	x->closing = true;
	xmppc_write_cb(x->bev, x);
}

SSL *
xmppc_ssl(struct xmppc *x)
{
	return x->tls != NULL ? tlsio_ssl(x->tls) : NULL;
}

bool
xmppc_tls_up(const struct xmppc *x)
{
	return x->tls != NULL && tlsio_established(x->tls);
}
