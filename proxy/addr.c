/* SPDX-License-Identifier: ISC */
/*
 * Address strings as the config and the command line write them: "HOST:PORT",
 * "1.2.3.4:5222", "[::1]:5222". Splits, parses numeric addresses with
 * inet_pton and prints socket addresses back in the same form. It never
 * resolves a name: listen addresses must be numeric, and the upstream host is
 * resolved by the code that connects, when it connects.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* Parses a decimal port in 1-65535, digits only (no sign, no spaces). */
static int
addr_port(const char *s, unsigned *port, const char **errstr)
{
	unsigned long v = 0;
	const char *p;

	if (*s == '\0') {
		*errstr = "missing port";
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			*errstr = "invalid port";
			return -1;
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535) {
		*errstr = "port out of range";
		return -1;
	}
	*port = (unsigned)v;
	return 0;
}

/*
 * Letters, digits, '-', '_' and '.': what a host name or IPv4 literal uses;
 * not starting with '-' or '.', which are never a host and often a typo.
 */
static int
addr_host_ok(const char *s, size_t n)
{
	size_t i;

	if (s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

int
addr_split(const char *s, char *host, size_t hostlen, unsigned *port,
    const char **errstr)
{
	const char *h, *colon;
	size_t n;
	struct in6_addr a6;

	if (s == NULL || *s == '\0') {
		*errstr = "empty address";
		return -1;
	}
	if (*s == '[') {
		h = s + 1;
		if ((colon = strchr(h, ']')) == NULL) {
			*errstr = "missing ']' after IPv6 address";
			return -1;
		}
		n = (size_t)(colon - h);
		colon++;
		if (*colon != ':') {
			*errstr = *colon ? "expected ':' after ']'" :
			    "missing port";
			return -1;
		}
		if (n == 0) {
			*errstr = "missing host";
			return -1;
		}
		if (n >= hostlen) {
			*errstr = "host too long";
			return -1;
		}
		memcpy(host, h, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			*errstr = "invalid IPv6 address in brackets";
			return -1;
		}
	} else {
		h = s;
		if ((colon = strrchr(h, ':')) == NULL) {
			*errstr = "missing port";
			return -1;
		}
		if (memchr(h, ':', (size_t)(colon - h)) != NULL) {
			*errstr = "IPv6 address must be in brackets, as in "
			    "[::1]:5222";
			return -1;
		}
		n = (size_t)(colon - h);
		if (n == 0) {
			*errstr = "missing host";
			return -1;
		}
		if (!addr_host_ok(h, n)) {
			*errstr = "invalid character in host";
			return -1;
		}
		if (n >= hostlen || n > 253) {
			*errstr = "host too long";
			return -1;
		}
		memcpy(host, h, n);
		host[n] = '\0';
	}
	return addr_port(colon + 1, port, errstr);
}

int
addr_parse_numeric(const char *s, struct sockaddr_storage *ss,
    socklen_t *len, const char **errstr)
{
	char host[256];
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	unsigned port;

	if (addr_split(s, host, sizeof(host), &port, errstr) == -1)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		/* addr_split has checked the bracketed part is IPv6. */
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		(void)inet_pton(AF_INET6, host, &sin6->sin6_addr);
		*len = sizeof(*sin6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		*errstr = "not a numeric IP address (listen addresses are "
		    "never resolved)";
		return -1;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	*len = sizeof(*sin);
	return 0;
}

void
addr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (outlen == 0)
		return;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(out, outlen, "unknown(family=%d)", sa->sa_family);
		break;
	}
}

int
addr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const uint8_t *b;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		b = sin6->sin6_addr.s6_addr;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
	default:
		return 0;
	}
}
