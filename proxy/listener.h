/* SPDX-License-Identifier: ISC */
/*
 * A listening socket: binds one configured address and hands each accepted
 * connection to its owner. Nothing XMPP-specific.
 */
#ifndef XMPPGATE_LISTENER_H
#define XMPPGATE_LISTENER_H

#include <event2/event.h>
#include <event2/util.h>

#include "config.h"

struct listener;

typedef void (*listener_accept_fn)(void *arg, struct listener *,
    evutil_socket_t fd, const struct sockaddr *sa, int salen);

/* Binds l->address (l is copied). Returns NULL with *err set on failure. */
struct listener *listener_new(struct event_base *, const struct config_listen *l,
    listener_accept_fn, void *arg, char **err);
void listener_free(struct listener *);
const struct config_listen *listener_config(const struct listener *);
/* The address the listener is bound to. */
const struct sockaddr *listener_sockaddr(
    const struct listener *, socklen_t *len);

#endif
