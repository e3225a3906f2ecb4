/* SPDX-License-Identifier: ISC */
/*
 * A listening socket: binds one configured address and, once started,
 * hands each accepted connection to its owner. The socket and the
 * accepting are apart, so that a supervisor can hold sockets its workers
 * accept on, and a reload can keep a socket while its settings change.
 * Nothing XMPP-specific.
 */
#ifndef XMPPGATE_LISTENER_H
#define XMPPGATE_LISTENER_H

#include <stdbool.h>

#include <event2/event.h>
#include <event2/util.h>

#include "config.h"

struct listener;

typedef void (*listener_accept_fn)(void *arg, struct listener *,
    evutil_socket_t fd, const struct sockaddr *sa, int salen);

/* Binds and listens on lc->address (lc is copied); not accepting yet.
 * Returns NULL with *err set on failure. */
struct listener *listener_new(const struct config_listen *lc, char **err);
/* A listener around a listening socket made elsewhere (a worker's copy of
 * its supervisor's); fd is owned from here on. */
struct listener *listener_adopt(
    const struct config_listen *lc, evutil_socket_t fd);
/* Starts accepting on base. Returns -1 with *err set on failure. */
int listener_start(struct listener *, struct event_base *, listener_accept_fn,
    void *arg, char **err) __attribute__((warn_unused_result));
/* Closes the socket (this process's copy of it) and frees. */
void listener_free(struct listener *);
const struct config_listen *listener_config(const struct listener *);
/* The settings of a kept socket change on reload (same address). */
void listener_set_config(struct listener *, const struct config_listen *lc);
evutil_socket_t listener_fd(const struct listener *);
/* Whether the socket fd is bound to address (a numeric listen address). */
bool listener_bound_to(evutil_socket_t fd, const char *address);
/* The address the listener is bound to. */
const struct sockaddr *listener_sockaddr(
    const struct listener *, socklen_t *len);

#endif
