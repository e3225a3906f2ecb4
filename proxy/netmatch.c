/* SPDX-License-Identifier: ISC */
/*
 * Destination patterns for transparent mode. An address part is a CIDR
 * block or "*", a port part a port, a range or "*"; the syntax follows the
 * listen addresses (IPv6 in brackets) so that one pattern reads like the
 * address it admits. Errors say what is wrong and, for a block with host
 * bits set, which block was probably meant.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmatch.h"

static int __attribute__((format(printf, 3, 4)))
netmatch_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A decimal number of at most 5 digits, no sign; -1 when it is not one. */
static long
netmatch_number(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
netmatch_ports(const char *s, struct netmatch *m, char *err, size_t errlen)
{
	const char *dash = strchr(s, '-');
	long lo, hi;

	if (strcmp(s, "*") == 0) {
		m->port_lo = 1;
		m->port_hi = 65535;
		return 0;
	}
	if (dash == NULL) {
		lo = hi = netmatch_number(s, strlen(s));
	} else {
		lo = netmatch_number(s, (size_t)(dash - s));
		hi = netmatch_number(dash + 1, strlen(dash + 1));
	}
	if (lo < 0 || hi < 0)
		return netmatch_fail(err, errlen,
		    "invalid port '%s' (a port, "
		    "a range N-M, or * for any)",
		    s);
	if (lo < 1 || hi > 65535)
		return netmatch_fail(
		    err, errlen, "port out of range (1-65535)");
	if (lo > hi)
		return netmatch_fail(
		    err, errlen, "empty port range %ld-%ld", lo, hi);
	m->port_lo = (unsigned)lo;
	m->port_hi = (unsigned)hi;
	return 0;
}

/* Zero bits past the prefix? Otherwise name the block meant. */
static int
netmatch_check_host_bits(struct netmatch *m, char *err, size_t errlen)
{
	unsigned char net[16];
	size_t nbytes = m->family == AF_INET ? 4 : 16, i;
	char shown[INET6_ADDRSTRLEN];

	memcpy(net, m->addr, nbytes);
	for (i = 0; i < nbytes * 8; i++)
		if (i >= m->prefix)
			net[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	if (memcmp(net, m->addr, nbytes) == 0)
		return 0;
	inet_ntop(m->family, net, shown, sizeof(shown));
	return netmatch_fail(err, errlen,
	    "address bits set past the "
	    "/%u prefix (did you mean %s%s%s/%u?)",
	    m->prefix, m->family == AF_INET6 ? "[" : "", shown,
	    m->family == AF_INET6 ? "]" : "", m->prefix);
}

/* The address part: "A.B.C.D[/LEN]", "[V6][/LEN]" or "*". */
static int
netmatch_addr(
    const char *s, size_t n, struct netmatch *m, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash, *end = s + n, *h = s, *hend;
	unsigned max;
	long len;

	if (n == 1 && s[0] == '*') {
		m->family = AF_UNSPEC;
		m->prefix = 0;
		return 0;
	}
	if (s[0] == '[') {
		h = s + 1;
		if ((hend = memchr(h, ']', (size_t)(end - h))) == NULL)
			return netmatch_fail(err, errlen,
			    "missing ']' after "
			    "the IPv6 address");
		slash = hend + 1 < end ? hend + 1 : NULL;
		if (slash != NULL && *slash != '/')
			return netmatch_fail(err, errlen,
			    "expected '/' or "
			    "':' after ']'");
		m->family = AF_INET6;
	} else {
		if (memchr(s, ':', n) != NULL || memchr(s, '[', n) != NULL)
			return netmatch_fail(err, errlen,
			    "an IPv6 address "
			    "must be in brackets, as in [2001:db8::]/32:5222");
		slash = memchr(s, '/', n);
		hend = slash != NULL ? slash : end;
		m->family = AF_INET;
	}
	if ((size_t)(hend - h) >= sizeof(host) || hend == h)
		return netmatch_fail(err, errlen, "invalid %s address",
		    m->family == AF_INET ? "IPv4" : "IPv6");
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	if (inet_pton(m->family, host, m->addr) != 1)
		return netmatch_fail(err, errlen, "invalid %s address '%s'",
		    m->family == AF_INET ? "IPv4" : "IPv6", host);
	max = m->family == AF_INET ? 32 : 128;
	m->prefix = max;
	if (slash == NULL)
		return 0;
	len = netmatch_number(slash + 1, (size_t)(end - slash - 1));
	if (len < 0 || len > (long)max)
		return netmatch_fail(err, errlen,
		    "prefix length must be a "
		    "number from 0 to %u",
		    max);
	m->prefix = (unsigned)len;
	return netmatch_check_host_bits(m, err, errlen);
}

int
netmatch_parse(const char *s, struct netmatch *m, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');

	memset(m, 0, sizeof(*m));
	if (*s == '\0')
		return netmatch_fail(err, errlen, "empty pattern");
	/* An IPv6 address's own colons sit inside the brackets. */
	if (colon == NULL ||
	    (s[0] == '[' && strchr(s, ']') != NULL && colon < strchr(s, ']')))
		return netmatch_fail(err, errlen,
		    "missing ':PORT' (as in "
		    "10.0.0.0/8:5222, or :* for any port)");
	if (colon == s)
		return netmatch_fail(
		    err, errlen, "missing address (* for any)");
	if (netmatch_addr(s, (size_t)(colon - s), m, err, errlen) == -1)
		return -1;
	return netmatch_ports(colon + 1, m, err, errlen);
}

/* The first `bits` bits of a and b agree. */
static bool
netmatch_bits(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff00u >> rest);
	return (a[full] & mask) == (b[full] & mask);
}

bool
netmatch_match(const struct netmatch *m, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	const unsigned char *addr;
	unsigned port;
	int family = sa->sa_family;

	if (family == AF_INET) {
		addr = (const unsigned char *)&sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (family == AF_INET6) {
		addr = (const unsigned char *)&sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			family = AF_INET;
			addr += sizeof(mapped);
		}
	} else
		return false;
	if (port < m->port_lo || port > m->port_hi)
		return false;
	if (m->family == AF_UNSPEC)
		return true;
	return m->family == family && netmatch_bits(addr, m->addr, m->prefix);
}

bool
netmatch_any(const struct netmatch *m, size_t n, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (netmatch_match(&m[i], sa))
			return true;
	return false;
}
