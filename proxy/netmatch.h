/* SPDX-License-Identifier: ISC */
/*
 * Destination patterns: which addresses and ports a transparent listener may
 * connect its clients to ("10.0.0.0/8:5222", "[2001:db8::]/32:*",
 * "*:5222-5223"). Parsing with a reason for every refusal, and matching a
 * socket address. Pure: no sockets, nothing resolved.
 */
#ifndef XMPPGATE_NETMATCH_H
#define XMPPGATE_NETMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct netmatch {
	int family; /* AF_INET, AF_INET6, or AF_UNSPEC: any address */
	unsigned char addr[16];    /* network order; 4 bytes used for AF_INET */
	unsigned prefix;           /* leading bits that must match */
	unsigned port_lo, port_hi; /* inclusive, 1-65535 */
};

/*
 * Parses "ADDR[/LEN]:PORTS", "[ADDR6][/LEN]:PORTS" or "*:PORTS", where PORTS
 * is a port, a range "N-M" or "*" (every port). An address with bits set
 * past its prefix is refused (the pattern means something else than it
 * says). Returns 0, or -1 with the reason in err (NUL-terminated, cut to
 * errlen).
 */
int netmatch_parse(const char *s, struct netmatch *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Whether sa (AF_INET or AF_INET6; IPv4-mapped IPv6 counts as IPv4) fits. */
bool netmatch_match(const struct netmatch *m, const struct sockaddr *sa);
/* Whether any of the n patterns fits sa. */
bool netmatch_any(
    const struct netmatch *m, size_t n, const struct sockaddr *sa);

#endif
