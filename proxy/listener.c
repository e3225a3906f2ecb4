/* SPDX-License-Identifier: ISC */
/*
 * Listening sockets on evconnlistener: IPv4 and IPv6 (v6-only, so that
 * "0.0.0.0" and "[::]" can both be configured), close-on-exec, reusable.
 * A transparent listener's socket is made here, to get IP_TRANSPARENT before
 * bind (TPROXY delivers only to such sockets); without the capability for it
 * the listener still serves REDIRECT, and says so.
 * Accept errors (EMFILE and friends) are logged; the listener keeps going.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "addr.h"
#include "listener.h"
#include "log.h"
#include "transparent.h"
#include "xmalloc.h"

struct listener {
	struct config_listen cfg;   /* a copy: what it points to is owned */
	struct sockaddr_storage ss; /* the bound address */
	socklen_t sslen;
	struct evconnlistener *evl; /* owned */
	listener_accept_fn accept;
	void *arg; /* borrowed */
};

/*
 * A bound, non-blocking socket with IP_TRANSPARENT when it can have it.
 * Returns -1 with *err set.
 */
static evutil_socket_t
listener_transparent_socket(const struct sockaddr_storage *ss, socklen_t len,
    const char *address, char **err)
{
	evutil_socket_t fd;
	int one = 1;

	fd = socket(
	    ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*err = xasprintf("%s: socket: %s", address, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		(void)setsockopt(
		    fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (transparent_set(fd, ss->ss_family) == -1)
		log_warnx("listener=%s IP_TRANSPARENT refused (%s; it needs "
		          "CAP_NET_ADMIN): connections redirected with TPROXY "
		          "will not arrive, REDIRECT still works",
		    address, strerror(errno));
	if (bind(fd, (const struct sockaddr *)ss, len) == -1) {
		*err = xasprintf(
		    "%s: cannot listen: %s", address, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;

	l->accept(l->arg, l, fd, sa, salen);
}

static void
listener_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();

	log_warnx("listener=%s accept error: %s", l->cfg.address,
	    evutil_socket_error_to_string(err));
}

struct listener *
listener_new(struct event_base *base, const struct config_listen *lc,
    listener_accept_fn fn, void *arg, char **err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *errstr;
	struct listener *l;
	evutil_socket_t fd;
	unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC;

	if (addr_parse_numeric(lc->address, &ss, &sslen, &errstr) == -1) {
		*err = xasprintf("%s: %s", lc->address, errstr);
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	l = xcalloc(1, sizeof(*l));
	config_listen_copy(&l->cfg, lc);
	l->ss = ss;
	l->sslen = sslen;
	l->accept = fn;
	l->arg = arg;
	if (lc->transparent) {
		if ((fd = listener_transparent_socket(
		         &ss, sslen, lc->address, err)) == -1) {
			listener_free(l);
			return NULL;
		}
		l->evl = evconnlistener_new(base, listener_accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE, 128, fd);
		if (l->evl == NULL)
			close(fd);
	} else
		l->evl = evconnlistener_new_bind(base, listener_accept_cb, l,
		    flags, 128, (struct sockaddr *)&ss, (int)sslen);
	if (l->evl == NULL) {
		*err = xasprintf("%s: cannot listen: %s", lc->address,
		    strerror(errno));
		listener_free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->evl, listener_error_cb);
	log_info("listening address=%s tls=%s%s%s", l->cfg.address,
	    config_tls_str(l->cfg.tls),
	    l->cfg.transparent ? " transparent=yes" : "",
	    l->cfg.proxy_protocol ? " proxy_protocol=yes" : "");
	return l;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	config_listen_fini(&l->cfg);
	free(l);
}

const struct config_listen *
listener_config(const struct listener *l)
{
	return &l->cfg;
}

const struct sockaddr *
listener_sockaddr(const struct listener *l, socklen_t *len)
{
	*len = l->sslen;
	return (const struct sockaddr *)&l->ss;
}
