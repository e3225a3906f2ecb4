/* SPDX-License-Identifier: ISC */
/*
 * PROXY protocol headers, parsed and written as HAProxy's specification
 * (proxy-protocol.txt) says: version 1, one text line ("PROXY TCP4 src dst
 * sport dport\r\n", TCP6, UNKNOWN), and version 2, a 16-byte binary block
 * after a 12-byte signature, the addresses, and TLVs, which are checked for
 * shape and skipped. Strict where the specification is (one space between
 * fields, no leading zeros, CRLF, the size bounds), because whatever the
 * header says becomes the client address in events and logs. It keeps no
 * state between calls: the caller hands in everything read so far.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto.h"

static const char v1_sig[] = "PROXY ";
#define V1_SIG_LEN (sizeof(v1_sig) - 1)
static const unsigned char v2_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
#define V2_FIXED 16 /* signature, version/command, family, length */

/* v2 fields */
#define V2_VERSION 0x2
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
#define V2_AF_UNSPEC 0x0
#define V2_AF_INET 0x1
#define V2_AF_INET6 0x2
#define V2_AF_UNIX 0x3
#define V2_TRANS_UNSPEC 0x0
#define V2_TRANS_STREAM 0x1
#define V2_TRANS_DGRAM 0x2

/* Whether the len bytes of b are the beginning of sig. */
static bool
proxyproto_prefix(
    const unsigned char *b, size_t len, const void *sig, size_t siglen)
{
	return memcmp(b, sig, len < siglen ? len : siglen) == 0;
}

static enum proxyproto_result
proxyproto_fail(const char **errstr, const char *why)
{
	*errstr = why;
	return PROXYPROTO_ERROR;
}

/* A v1 port: decimal 0-65535, no sign, no leading zero. */
static int
proxyproto_v1_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(s), i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Stores one address of a v1 line; -1 when it is not of the family. */
static int
proxyproto_v1_addr(
    int family, const char *a, const char *p, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint16_t port;

	if (proxyproto_v1_port(p, &port) == -1)
		return -2;
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		if (inet_pton(AF_INET, a, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &sin6->sin6_addr) != 1)
		return -1;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	return 0;
}

/* The fields of a whole v1 line (without its CRLF): "PROXY" and the rest. */
static enum proxyproto_result
proxyproto_v1_line(const unsigned char *b, size_t n, struct proxyproto_hdr *hdr,
    const char **errstr)
{
	char line[PROXYPROTO_V1_MAX + 1], *f[7], *p;
	size_t nf = 0;
	int rc;

	memcpy(line, b, n);
	line[n] = '\0';
	for (p = line; nf < 7;) {
		f[nf++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	if (nf >= 2 && strcmp(f[1], "UNKNOWN") == 0) {
		/* The rest of the line, whatever it is, is to be ignored. */
		hdr->family = AF_UNSPEC;
		return PROXYPROTO_DONE;
	}
	for (size_t i = 0; i < nf; i++)
		if (f[i][0] == '\0')
			return proxyproto_fail(errstr,
			    "version 1 header: "
			    "fields must be separated by exactly one space");
	if (nf < 2 || (strcmp(f[1], "TCP4") != 0 && strcmp(f[1], "TCP6") != 0))
		return proxyproto_fail(errstr,
		    "version 1 header: the "
		    "protocol must be TCP4, TCP6 or UNKNOWN");
	if (nf != 6)
		return proxyproto_fail(errstr,
		    "version 1 header: expected "
		    "source, destination and both ports");
	hdr->family = f[1][3] == '4' ? AF_INET : AF_INET6;
	hdr->addrlen = hdr->family == AF_INET ? sizeof(struct sockaddr_in)
	                                      : sizeof(struct sockaddr_in6);
	if ((rc = proxyproto_v1_addr(hdr->family, f[2], f[4], &hdr->src)) ==
	        0 &&
	    (rc = proxyproto_v1_addr(hdr->family, f[3], f[5], &hdr->dst)) == 0)
		return PROXYPROTO_DONE;
	if (rc == -2)
		return proxyproto_fail(errstr,
		    "version 1 header: a port must "
		    "be a number from 0 to 65535 without leading zeros");
	return proxyproto_fail(
	    errstr, hdr->family == AF_INET
	                ? "version 1 header: not an IPv4 address after TCP4"
	                : "version 1 header: not an IPv6 address after TCP6");
}

static enum proxyproto_result
proxyproto_v1(const unsigned char *b, size_t len, struct proxyproto_hdr *hdr,
    const char **errstr)
{
	size_t n = len < PROXYPROTO_V1_MAX ? len : PROXYPROTO_V1_MAX, i;

	for (i = 0; i < n && b[i] != '\n'; i++) {
		if (b[i] == '\r' && i + 1 < len && b[i + 1] != '\n')
			return proxyproto_fail(errstr, "version 1 header: CR "
			                               "not followed by LF");
		if (b[i] != '\r' && (b[i] < 0x20 || b[i] > 0x7e))
			return proxyproto_fail(errstr,
			    "version 1 header: a "
			    "control character or non-ASCII byte");
	}
	if (i == n) {
		if (len >= PROXYPROTO_V1_MAX)
			return proxyproto_fail(errstr, "version 1 header: no "
			                               "CRLF within 107 bytes");
		return PROXYPROTO_MORE;
	}
	if (b[i - 1] != '\r')
		return proxyproto_fail(errstr, "version 1 header: LF without "
		                               "CR");
	memset(hdr, 0, sizeof(*hdr));
	hdr->version = 1;
	hdr->len = i + 1;
	return proxyproto_v1_line(b, i - 1, hdr, errstr);
}

/* The address block of a v2 PROXY header for TCP over IPv4 or IPv6. */
static void
proxyproto_v2_addrs(
    const unsigned char *a, int family, struct proxyproto_hdr *hdr)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&hdr->src;
	struct sockaddr_in *d4 = (struct sockaddr_in *)&hdr->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&hdr->src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&hdr->dst;

	hdr->family = family;
	if (family == AF_INET) {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2); /* both in network order */
		memcpy(&d4->sin_port, a + 10, 2);
		hdr->addrlen = sizeof(*s4);
		return;
	}
	s6->sin6_family = d6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, a, 16);
	memcpy(&d6->sin6_addr, a + 16, 16);
	memcpy(&s6->sin6_port, a + 32, 2);
	memcpy(&d6->sin6_port, a + 34, 2);
	hdr->addrlen = sizeof(*s6);
}

/* The TLVs after the addresses: each must fit; none is used. */
static enum proxyproto_result
proxyproto_v2_tlvs(
    const unsigned char *b, size_t p, size_t end, const char **errstr)
{
	size_t tl;

	while (p < end) {
		if (end - p < 3)
			return proxyproto_fail(errstr, "version 2 header: a "
			                               "truncated TLV");
		tl = (size_t)b[p + 1] << 8 | b[p + 2];
		if (tl > end - p - 3)
			return proxyproto_fail(errstr,
			    "version 2 header: a "
			    "TLV runs past the end of the header");
		p += 3 + tl;
	}
	return PROXYPROTO_DONE;
}

static enum proxyproto_result
proxyproto_v2(const unsigned char *b, size_t len, struct proxyproto_hdr *hdr,
    const char **errstr)
{
	static const size_t addr_size[] = {0, 12, 36, 216};
	unsigned ver, cmd, fam, trans;
	size_t plen;

	if (len > 12 && ((ver = b[12] >> 4) != V2_VERSION ||
	                    (cmd = b[12] & 0xf) > V2_CMD_PROXY))
		return proxyproto_fail(errstr, "version 2 header: unknown "
		                               "version or command");
	if (len > 13 && ((fam = b[13] >> 4) > V2_AF_UNIX ||
	                    (trans = b[13] & 0xf) > V2_TRANS_DGRAM))
		return proxyproto_fail(errstr, "version 2 header: unknown "
		                               "address family or transport");
	if (len < V2_FIXED)
		return PROXYPROTO_MORE;
	plen = (size_t)b[14] << 8 | b[15];
	if (V2_FIXED + plen > PROXYPROTO_V2_MAX)
		return proxyproto_fail(errstr, "version 2 header: longer than "
		                               "4096 bytes");
	if (len < V2_FIXED + plen)
		return PROXYPROTO_MORE;
	memset(hdr, 0, sizeof(*hdr));
	hdr->version = 2;
	hdr->family = AF_UNSPEC;
	hdr->len = V2_FIXED + plen;
	cmd = b[12] & 0xf;
	fam = b[13] >> 4;
	trans = b[13] & 0xf;
	/* A LOCAL header describes nothing: its addresses are ignored. */
	if (cmd == V2_CMD_LOCAL) {
		hdr->local = true;
		return PROXYPROTO_DONE;
	}
	if (trans == V2_TRANS_DGRAM)
		return proxyproto_fail(errstr,
		    "version 2 header: a datagram "
		    "(UDP) connection on a TCP listener");
	if (plen < addr_size[fam])
		return proxyproto_fail(errstr, "version 2 header: shorter than "
		                               "its addresses");
	if (trans == V2_TRANS_STREAM && fam == V2_AF_INET)
		proxyproto_v2_addrs(b + V2_FIXED, AF_INET, hdr);
	else if (trans == V2_TRANS_STREAM && fam == V2_AF_INET6)
		proxyproto_v2_addrs(b + V2_FIXED, AF_INET6, hdr);
	/* UNSPEC and AF_UNIX: no address the receiver can use. */
	return proxyproto_v2_tlvs(
	    b, V2_FIXED + addr_size[fam], hdr->len, errstr);
}

enum proxyproto_result
proxyproto_parse(const void *buf, size_t len, unsigned versions,
    struct proxyproto_hdr *hdr, const char **errstr)
{
	const unsigned char *b = buf;

	if (len == 0)
		return PROXYPROTO_MORE;
	if (proxyproto_prefix(b, len, v1_sig, V1_SIG_LEN)) {
		if (!(versions & PROXYPROTO_V1))
			return proxyproto_fail(errstr,
			    "a version 1 header, "
			    "but this listener takes version 2 only");
		if (len < V1_SIG_LEN)
			return PROXYPROTO_MORE;
		return proxyproto_v1(b, len, hdr, errstr);
	}
	if (proxyproto_prefix(b, len, v2_sig, sizeof(v2_sig))) {
		if (!(versions & PROXYPROTO_V2))
			return proxyproto_fail(errstr,
			    "a version 2 header, "
			    "but this listener takes version 1 only");
		return proxyproto_v2(b, len, hdr, errstr);
	}
	return proxyproto_fail(errstr, "the connection does not start with "
	                               "a PROXY protocol header");
}

/* The address bytes and port of an AF_INET/AF_INET6 sockaddr. */
static const void *
proxyproto_bytes(const struct sockaddr *sa, const void **port)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	if (sa->sa_family == AF_INET) {
		*port = &sin->sin_port;
		return &sin->sin_addr;
	}
	*port = &sin6->sin6_port;
	return &sin6->sin6_addr;
}

static size_t
proxyproto_write_v1(int family, const struct sockaddr *src,
    const struct sockaddr *dst, char *out, size_t outlen)
{
	char line[PROXYPROTO_WRITE_MAX + 1], a[INET6_ADDRSTRLEN];
	char b[INET6_ADDRSTRLEN];
	const void *sp, *dp;
	uint16_t sport, dport;
	int n;

	if (family == AF_UNSPEC)
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	else {
		inet_ntop(family, proxyproto_bytes(src, &sp), a, sizeof(a));
		inet_ntop(family, proxyproto_bytes(dst, &dp), b, sizeof(b));
		memcpy(&sport, sp, 2);
		memcpy(&dport, dp, 2);
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		    family == AF_INET ? "TCP4" : "TCP6", a, b, ntohs(sport),
		    ntohs(dport));
	}
	if (n < 0 || (size_t)n >= sizeof(line) || (size_t)n > outlen)
		return 0;
	memcpy(out, line, (size_t)n);
	return (size_t)n;
}

static size_t
proxyproto_write_v2(int family, const struct sockaddr *src,
    const struct sockaddr *dst, unsigned char *out, size_t outlen)
{
	size_t alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	size_t plen = alen ? 2 * alen + 4 : 0;
	const void *sp, *dp;

	if (outlen < V2_FIXED + plen)
		return 0;
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = V2_VERSION << 4 | V2_CMD_PROXY;
	out[13] = family == AF_INET    ? V2_AF_INET << 4 | V2_TRANS_STREAM
	          : family == AF_INET6 ? V2_AF_INET6 << 4 | V2_TRANS_STREAM
	                               : V2_AF_UNSPEC << 4 | V2_TRANS_UNSPEC;
	out[14] = (unsigned char)(plen >> 8);
	out[15] = (unsigned char)plen;
	if (alen == 0)
		return V2_FIXED;
	memcpy(out + V2_FIXED, proxyproto_bytes(src, &sp), alen);
	memcpy(out + V2_FIXED + alen, proxyproto_bytes(dst, &dp), alen);
	memcpy(out + V2_FIXED + 2 * alen, sp, 2);
	memcpy(out + V2_FIXED + 2 * alen + 2, dp, 2);
	return V2_FIXED + plen;
}

size_t
proxyproto_write(int version, const struct sockaddr *src,
    const struct sockaddr *dst, void *out, size_t outlen)
{
	int family = AF_UNSPEC;

	if (src != NULL && dst != NULL && src->sa_family == dst->sa_family &&
	    (src->sa_family == AF_INET || src->sa_family == AF_INET6))
		family = src->sa_family;
	if (version == 1)
		return proxyproto_write_v1(family, src, dst, out, outlen);
	return proxyproto_write_v2(family, src, dst, out, outlen);
}
