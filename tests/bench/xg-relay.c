/* SPDX-License-Identifier: ISC */
/*
 * xg-relay: the benchmark's baseline, a plain TCP relay. It listens on one
 * address, connects every accepted client to one upstream address and copies
 * bytes both ways through libevent bufferevents, with the same kind of
 * backpressure xmppgate uses (stop reading a side while the other side's
 * output holds more than a bound). It does no parsing, no logging and no
 * timeouts: it is the cost of "a userspace relay on libevent" and nothing
 * more, so the benchmark can tell that cost apart from xmppgate's own.
 * With -C CERT -K KEY -A CA it terminates direct TLS on both legs instead
 * (bufferevent_openssl): it accepts TLS with that certificate (ALPN
 * xmpp-client when offered), opens TLS to the upstream at once, verified
 * against the CA and the name of -N (default localhost), and copies the
 * decrypted bytes the same way: the cost of "decrypt and re-encrypt", with
 * no parsing. Standalone on purpose: it links libevent and OpenSSL only, not
 * libxmppgate.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

/* Bytes a side may hold for its peer before we stop reading the peer. */
#define RELAY_HIGH_DEFAULT (256 * 1024)

struct relay;

/* One direction's end: the bufferevent plus a pointer to the other end. */
struct rside {
	struct bufferevent *bev; /* owned */
	struct rside *peer;      /* borrowed: the other side of the pair */
	struct relay *relay;     /* borrowed: the pair */
	int closing;             /* peer gone; free once our output drains */
};

struct relay {
	struct rside client;
	struct rside upstream;
};

static struct event_base *base;
static struct sockaddr_storage upstream_ss;
static int upstream_sslen;
static size_t high_water = RELAY_HIGH_DEFAULT;
static SSL_CTX *front_ctx; /* owned; NULL: plain TCP toward clients */
static SSL_CTX *back_ctx;  /* owned; NULL: plain TCP toward the upstream */
/* Not const: OpenSSL's SNI macro casts the const away (-Wcast-qual). */
static char default_name[] = "localhost";
static char *server_name = default_name;
static unsigned tls_errors; /* reported on stderr, the first few only */
/* ALPN wire format: one length-prefixed protocol name. */
static const unsigned char alpn_xmpp[] = "\x0bxmpp-client";

static void relay_free(struct relay *);
static void tls_report(struct bufferevent *);

static void
set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	/* A relay that adds Nagle delays would not be a fair baseline. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Moves what a side has read to its peer; throttles it if the peer is full. */
static void
rside_read_cb(struct bufferevent *bev, void *arg)
{
	struct rside *s = arg;
	struct evbuffer *out = bufferevent_get_output(s->peer->bev);

	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	if (evbuffer_get_length(out) >= high_water)
		bufferevent_disable(bev, EV_READ);
}

/* The peer drained below the low mark: read again, or finish closing. */
static void
rside_write_cb(struct bufferevent *bev, void *arg)
{
	struct rside *s = arg;

	if (s->closing) {
		relay_free(s->relay);
		return;
	}
	if (!s->peer->closing)
		bufferevent_enable(s->peer->bev, EV_READ);
}

/*
 * EOF or error on one side: flush what is queued for the other side, then
 * free the pair. May free the relay.
 */
static void
rside_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rside *s = arg;
	struct rside *p = s->peer;

	if (what & BEV_EVENT_CONNECTED) {
		set_nodelay(bufferevent_getfd(bev));
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if ((what & BEV_EVENT_ERROR) && tls_errors < 5)
		tls_report(bev);
	/* Hand over whatever the dying side still had unread. */
	evbuffer_add_buffer(bufferevent_get_output(p->bev),
	                    bufferevent_get_input(bev));
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	if (p->closing ||
	    evbuffer_get_length(bufferevent_get_output(p->bev)) == 0) {
		relay_free(s->relay);
		return;
	}
	/* The peer's write callback (low mark 0) frees the pair once drained.
	 */
	s->closing = 1;
	p->closing = 1;
	bufferevent_disable(p->bev, EV_READ);
	bufferevent_setwatermark(p->bev, EV_WRITE, 0, 0);
}

/* Says why a TLS leg failed (handshake, verification), if it was TLS. */
static void
tls_report(struct bufferevent *bev)
{
	unsigned long e = bufferevent_get_openssl_error(bev);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	char err[256];

	if (e == 0)
		return;
	tls_errors++;
	ERR_error_string_n(e, err, sizeof(err));
	fprintf(stderr, "xg-relay: TLS %s: %s%s%s\n",
	        SSL_is_server(ssl) ? "client leg" : "upstream leg", err,
	        SSL_is_server(ssl) ? "" : ", verify: ",
	        SSL_is_server(ssl)
	            ? ""
	            : X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
}

/* Frees a bufferevent; a TLS one sends its close_notify first. */
static void
bev_close(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	/* Leave no error on the thread's queue for another connection. */
	if (ssl != NULL && SSL_is_init_finished(ssl)) {
		(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
	bufferevent_free(bev);
}

static void
relay_free(struct relay *r)
{
	bev_close(r->client.bev);
	bev_close(r->upstream.bev);
	free(r);
}

static void
rside_init(struct rside *s, struct relay *r, struct rside *peer,
           struct bufferevent *bev)
{
	s->bev = bev;
	s->peer = peer;
	s->relay = r;
	s->closing = 0;
	bufferevent_setcb(bev, rside_read_cb, rside_write_cb, rside_event_cb,
	                  s);
	/* Unthrottle the peer once we are down to half the bound. */
	bufferevent_setwatermark(bev, EV_WRITE, high_water / 2, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* The two TLS bufferevents of a pair; NULL for one that failed. */
static void
tls_bevs(evutil_socket_t fd, struct bufferevent **cb, struct bufferevent **ub)
{
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	SSL *front = SSL_new(front_ctx), *back = SSL_new(back_ctx);

	*cb = *ub = NULL;
	if (front == NULL || back == NULL ||
	    SSL_set_tlsext_host_name(back, server_name) != 1 ||
	    SSL_set1_host(back, server_name) != 1 ||
	    SSL_set_alpn_protos(back, alpn_xmpp, sizeof(alpn_xmpp) - 1) != 0) {
		SSL_free(front);
		SSL_free(back);
		return;
	}
	*cb = bufferevent_openssl_socket_new(base, fd, front,
	                                     BUFFEREVENT_SSL_ACCEPTING, opts);
	*ub = bufferevent_openssl_socket_new(base, -1, back,
	                                     BUFFEREVENT_SSL_CONNECTING, opts);
	/* A peer that closes without close_notify is an EOF, not an error. */
	if (*cb != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(*cb, 1);
	if (*ub != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(*ub, 1);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	struct relay *r;
	struct bufferevent *cb, *ub;

	set_nodelay(fd);
	if (front_ctx != NULL)
		tls_bevs(fd, &cb, &ub);
	else {
		cb = bufferevent_socket_new(base, fd, opts);
		ub = bufferevent_socket_new(base, -1, opts);
	}
	if (cb == NULL || ub == NULL) {
		fprintf(stderr, "xg-relay: bufferevent_socket_new failed\n");
		if (cb != NULL)
			bufferevent_free(cb);
		else
			evutil_closesocket(fd);
		if (ub != NULL)
			bufferevent_free(ub);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fprintf(stderr, "xg-relay: out of memory\n");
		exit(1);
	}
	rside_init(&r->client, r, &r->upstream, cb);
	rside_init(&r->upstream, r, &r->client, ub);
	/* A failed connect reports through the event callback. */
	(void)bufferevent_socket_connect(ub, (struct sockaddr *)&upstream_ss,
	                                 upstream_sslen);
	/* Before the TLS handshake, whose flights are several small writes. */
	if (bufferevent_getfd(ub) >= 0)
		set_nodelay(bufferevent_getfd(ub));
}

static void
tls_fail(const char *what)
{
	char err[256];

	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	fprintf(stderr, "xg-relay: %s: %s\n", what, err);
	exit(1);
}

/* The server side: cert and key, ALPN xmpp-client when the client offers. */
static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
        const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_xmpp,
	                          sizeof(alpn_xmpp) - 1, in,
	                          inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Both TLS contexts; exits on any error. */
static void
tls_init(const char *cert, const char *key, const char *ca)
{
	if ((front_ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    (back_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		tls_fail("SSL_CTX_new");
	if (!SSL_CTX_set_min_proto_version(front_ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_min_proto_version(back_ctx, TLS1_2_VERSION))
		tls_fail("min_proto_version");
	if (SSL_CTX_use_certificate_chain_file(front_ctx, cert) != 1)
		tls_fail(cert);
	if (SSL_CTX_use_PrivateKey_file(front_ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(front_ctx) != 1)
		tls_fail(key);
	SSL_CTX_set_alpn_select_cb(front_ctx, alpn_cb, NULL);
	if (SSL_CTX_load_verify_locations(back_ctx, ca, NULL) != 1)
		tls_fail(ca);
	SSL_CTX_set_verify(back_ctx, SSL_VERIFY_PEER, NULL);
	/* OpenSSL 3 calls a close without close_notify an error; libevent
	 * 2.1 expects the EOF of older versions. */
	SSL_CTX_set_options(front_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_options(back_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: keep running, the benchmark will notice. */
	fprintf(stderr, "xg-relay: accept: %s\n",
	        evutil_socket_error_to_string(err));
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(base, NULL);
}

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: xg-relay -l ADDR:PORT -u ADDR:PORT "
	                "[-b HIGH_WATER_BYTES]\n"
	                "                [-C CERT -K KEY -A CA [-N NAME]]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage lss;
	int lsslen = sizeof(lss);
	const char *listen_addr = NULL, *upstream_addr = NULL;
	const char *cert = NULL, *key = NULL, *ca = NULL;
	struct evconnlistener *lev;
	struct event *sigint, *sigterm;
	int ch;

	while ((ch = getopt(argc, argv, "l:u:b:C:K:A:N:h")) != -1) {
		switch (ch) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'u':
			upstream_addr = optarg;
			break;
		case 'b':
			high_water = strtoul(optarg, NULL, 10);
			if (high_water < 2)
				usage();
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'A':
			ca = optarg;
			break;
		case 'N':
			server_name = optarg;
			break;
		default:
			usage();
		}
	}
	if (listen_addr == NULL || upstream_addr == NULL || optind != argc)
		usage();
	/* TLS is all three or none. */
	if ((cert == NULL) != (key == NULL) || (cert == NULL) != (ca == NULL))
		usage();
	if (cert != NULL)
		tls_init(cert, key, ca);
	upstream_sslen = sizeof(upstream_ss);
	if (evutil_parse_sockaddr_port(listen_addr, (struct sockaddr *)&lss,
	                               &lsslen) != 0 ||
	    evutil_parse_sockaddr_port(upstream_addr,
	                               (struct sockaddr *)&upstream_ss,
	                               &upstream_sslen) != 0) {
		fprintf(stderr, "xg-relay: bad address\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "xg-relay: event_base_new failed\n");
		return 1;
	}
	lev = evconnlistener_new_bind(
	    base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    4096, (struct sockaddr *)&lss, lsslen);
	if (lev == NULL) {
		fprintf(stderr, "xg-relay: listen %s: %s\n", listen_addr,
		        strerror(errno));
		return 1;
	}
	evconnlistener_set_error_cb(lev, accept_error_cb);
	sigint = evsignal_new(base, SIGINT, signal_cb, NULL);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, NULL);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	event_base_dispatch(base);
	evconnlistener_free(lev);
	event_free(sigint);
	event_free(sigterm);
	event_base_free(base);
	SSL_CTX_free(front_ctx);
	SSL_CTX_free(back_ctx);
	return 0;
}
