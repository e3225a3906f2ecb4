/* SPDX-License-Identifier: ISC */
/*
 * The socket side of transparent mode: marking a listening socket so that
 * TPROXY can hand it connections for addresses that are not the host's, and
 * finding out where an intercepted client meant to go. Linux only (netfilter);
 * elsewhere every function fails with a reason. The decisions (may the
 * proxy connect there?) are the caller's.
 */
#ifndef XMPPGATE_TRANSPARENT_H
#define XMPPGATE_TRANSPARENT_H

#include <stdbool.h>
#include <sys/socket.h>

/*
 * Sets IP_TRANSPARENT (IPV6_TRANSPARENT for AF_INET6) on fd, before bind.
 * Needs CAP_NET_ADMIN. Returns -1 with errno set (EPERM without the
 * capability).
 */
int transparent_set(int fd, int family) __attribute__((warn_unused_result));

/*
 * Where the client of an accepted connection fd meant to go: the address
 * netfilter's REDIRECT (or DNAT) rewrote, read with SO_ORIGINAL_DST
 * (IP6T_SO_ORIGINAL_DST for IPv6), or else the socket's local address, which
 * is the original destination for TPROXY and for a connection that was not
 * redirected at all. *how is "redirect" or "local". Returns -1 with
 * *errstr when neither can be read.
 */
int transparent_original_dst(int fd, struct sockaddr_storage *ss,
    socklen_t *len, const char **how, const char **errstr)
    __attribute__((warn_unused_result));

/* Whether sa's address (the port aside) is one of this host's own. */
bool transparent_is_local(const struct sockaddr *sa, socklen_t len);

/* Whether a and b are the same address and port (AF_INET/AF_INET6). */
bool transparent_same(const struct sockaddr *a, const struct sockaddr *b);

#endif
