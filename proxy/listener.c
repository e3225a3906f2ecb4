/* SPDX-License-Identifier: ISC */
/*
 * Listening sockets: IPv4 and IPv6 (v6-only, so that "0.0.0.0" and "[::]"
 * can both be configured), close-on-exec, reusable, made and bound here and
 * accepted on through an evconnlistener once started. A listener owns its
 * descriptor, which may be a copy of another process's (workers): closing
 * it closes the socket only when no copy is left. A transparent listener's
 * socket gets IP_TRANSPARENT before bind (TPROXY delivers only to such
 * sockets); without the capability for it the listener still serves
 * REDIRECT, and says so. Accept errors (EMFILE and friends) are logged; the
 * listener keeps going.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/listener.h>

#include "addr.h"
#include "listener.h"
#include "log.h"
#include "transparent.h"
#include "xmalloc.h"

#define LISTENER_BACKLOG 128

struct listener {
	struct config_listen cfg;   /* a copy: what it points to is owned */
	struct sockaddr_storage ss; /* the bound address */
	socklen_t sslen;
	evutil_socket_t fd;         /* owned */
	struct evconnlistener *evl; /* owned; NULL until started */
	listener_accept_fn accept;
	void *arg; /* borrowed */
};

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

/* A bound, listening, non-blocking socket for lc, or -1 with *err. */
static evutil_socket_t
listener_socket(const struct config_listen *lc, char **err)
{
	const char *address = lc->address;
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *errstr;
	evutil_socket_t fd;
	int one = 1, saved;

	if (addr_parse_numeric(address, &ss, &sslen, &errstr) == -1) {
		*err = xasprintf("%s: %s", address, errstr);
		return -1;
	}
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*err = xasprintf(
		    "%s: cannot listen: %s", address, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(
		    fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (lc->transparent && transparent_set(fd, ss.ss_family) == -1)
		log_warnx("listener=%s IP_TRANSPARENT refused (%s; it needs "
		          "CAP_NET_ADMIN): connections redirected with TPROXY "
		          "will not arrive, REDIRECT still works",
		    address, strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, LISTENER_BACKLOG) == -1) {
		saved = errno;
		close(fd);
		*err = xasprintf(
		    "%s: cannot listen: %s", address, strerror(saved));
		return -1;
	}
	return fd;
}

struct listener *
listener_adopt(const struct config_listen *lc, evutil_socket_t fd)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	const char *errstr;

	config_listen_copy(&l->cfg, lc);
	l->fd = fd;
	if (addr_parse_numeric(lc->address, &l->ss, &l->sslen, &errstr) == -1)
		l->sslen = 0;
	return l;
}

struct listener *
listener_new(const struct config_listen *lc, char **err)
{
	evutil_socket_t fd;

	if ((fd = listener_socket(lc, err)) == -1)
		return NULL;
	log_info("listening address=%s tls=%s%s%s", lc->address,
	    config_tls_str(lc->tls), lc->transparent ? " transparent=yes" : "",
	    lc->proxy_protocol ? " proxy_protocol=yes" : "");
	return listener_adopt(lc, fd);
}

int
listener_start(struct listener *l, struct event_base *base,
    listener_accept_fn fn, void *arg, char **err)
{
	l->accept = fn;
	l->arg = arg;
	/* A negative backlog: the socket listens already. */
	l->evl = evconnlistener_new(
	    base, listener_accept_cb, l, LEV_OPT_CLOSE_ON_EXEC, -1, l->fd);
	if (l->evl == NULL) {
		*err = xasprintf(
		    "%s: cannot accept: %s", l->cfg.address, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, listener_error_cb);
	return 0;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	if (l->fd != -1)
		close(l->fd);
	config_listen_fini(&l->cfg);
	free(l);
}

const struct config_listen *
listener_config(const struct listener *l)
{
	return &l->cfg;
}

void
listener_set_config(struct listener *l, const struct config_listen *lc)
{
	config_listen_fini(&l->cfg);
	config_listen_copy(&l->cfg, lc);
}

evutil_socket_t
listener_fd(const struct listener *l)
{
	return l->fd;
}

const struct sockaddr *
listener_sockaddr(const struct listener *l, socklen_t *len)
{
	*len = l->sslen;
	return (const struct sockaddr *)&l->ss;
}

bool
listener_bound_to(evutil_socket_t fd, const char *address)
{
	struct sockaddr_storage want, got;
	socklen_t wantlen, gotlen = sizeof(got);
	const char *errstr;
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8];

	if (addr_parse_numeric(address, &want, &wantlen, &errstr) == -1 ||
	    getsockname(fd, (struct sockaddr *)&got, &gotlen) == -1)
		return false;
	addr_format((struct sockaddr *)&want, a, sizeof(a));
	addr_format((struct sockaddr *)&got, b, sizeof(b));
	return strcmp(a, b) == 0;
}
