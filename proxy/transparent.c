/* SPDX-License-Identifier: ISC */
/*
 * Transparent interception on Linux. REDIRECT is NAT: conntrack keeps the
 * address the client connected to, and SO_ORIGINAL_DST reads it back.
 * TPROXY is not NAT: the connection is handed, unchanged, to a socket with
 * IP_TRANSPARENT, whose local address then is the original destination.
 * The constants come from the kernel's netfilter headers, defined here
 * when missing rather than included, as those headers clash with libc's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "transparent.h"

#ifdef __linux__
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#endif

int
transparent_set(int fd, int family)
{
#ifdef __linux__
	int one = 1;

	if (family == AF_INET6)
		return setsockopt(
		    fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	return setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one));
#else
	(void)fd;
	(void)family;
	errno = ENOTSUP;
	return -1;
#endif
}

int
transparent_original_dst(int fd, struct sockaddr_storage *ss, socklen_t *len,
    const char **how, const char **errstr)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &llen) == -1) {
		*errstr = strerror(errno);
		return -1;
	}
#ifdef __linux__
	/* No conntrack entry (TPROXY without NAT, or no redirection): ENOENT
	 * or ENOPROTOOPT, and the local address is the answer. */
	*len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (local.ss_family == AF_INET &&
	    getsockopt(fd, IPPROTO_IP, SO_ORIGINAL_DST, ss, len) == 0 &&
	    ss->ss_family == AF_INET) {
		*how = transparent_same(
		           (struct sockaddr *)ss, (struct sockaddr *)&local)
		           ? "local"
		           : "redirect";
		return 0;
	}
	*len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (local.ss_family == AF_INET6 &&
	    getsockopt(fd, IPPROTO_IPV6, IP6T_SO_ORIGINAL_DST, ss, len) == 0 &&
	    ss->ss_family == AF_INET6) {
		*how = transparent_same(
		           (struct sockaddr *)ss, (struct sockaddr *)&local)
		           ? "local"
		           : "redirect";
		return 0;
	}
#endif
	memcpy(ss, &local, llen);
	*len = llen;
	*how = "local";
	return 0;
}

bool
transparent_is_local(const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage ss;
	int fd, rc;

	if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    len > sizeof(ss))
		return false;
	memcpy(&ss, sa, len);
	/* Port 0: only the address is tried. Binding succeeds exactly for
	 * the host's own addresses (no IP_TRANSPARENT, no IP_FREEBIND). */
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	rc = bind(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return rc == 0;
}

bool
transparent_same(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		       a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		       memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return false;
}
