/* SPDX-License-Identifier: ISC */
/*
 * Listening sockets on evconnlistener: IPv4 and IPv6 (v6-only, so that
 * "0.0.0.0" and "[::]" can both be configured), close-on-exec, reusable.
 * Accept errors (EMFILE and friends) are logged; the listener keeps going.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "addr.h"
#include "listener.h"
#include "log.h"
#include "xmalloc.h"

struct listener {
	struct config_listen cfg; /* address owned */
	struct evconnlistener *evl; /* owned */
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

struct listener *
listener_new(struct event_base *base, const struct config_listen *lc,
    listener_accept_fn fn, void *arg, char **err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *errstr;
	struct listener *l;
	unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC;

	if (addr_parse_numeric(lc->address, &ss, &sslen, &errstr) == -1) {
		*err = xasprintf("%s: %s", lc->address, errstr);
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	l = xcalloc(1, sizeof(*l));
	l->cfg = *lc;
	l->cfg.address = xstrdup(lc->address);
	l->accept = fn;
	l->arg = arg;
	l->evl = evconnlistener_new_bind(base, listener_accept_cb, l, flags, 128,
	    (struct sockaddr *)&ss, (int)sslen);
	if (l->evl == NULL) {
		*err = xasprintf("%s: cannot listen: %s", lc->address,
		    strerror(errno));
		listener_free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->evl, listener_error_cb);
	log_info("listening address=%s tls=%s", l->cfg.address,
	    config_tls_str(l->cfg.tls));
	return l;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	free(l->cfg.address);
	free(l);
}

const struct config_listen *
listener_config(const struct listener *l)
{
	return &l->cfg;
}
