/* SPDX-License-Identifier: ISC */
/*
 * The PROXY protocol (HAProxy's, versions 1 and 2): how a load balancer in
 * front of a server tells it the real client's address. Pure: bytes in, a
 * parsed header or a reason out, and a writer for the header xmppgate sends
 * upstream. No sockets, no libevent; the read path that waits for the bytes
 * and the session that uses the addresses are elsewhere (conn.c, session.c).
 */
#ifndef XMPPGATE_PROXYPROTO_H
#define XMPPGATE_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Versions a listener accepts: a bit set; 0 means no PROXY protocol. */
#define PROXYPROTO_V1 0x1
#define PROXYPROTO_V2 0x2
#define PROXYPROTO_ANY (PROXYPROTO_V1 | PROXYPROTO_V2)

/* A v1 line is at most 107 bytes with its CRLF (the specification's bound). */
#define PROXYPROTO_V1_MAX 107
/*
 * A v2 header may announce up to 64 KiB of TLVs. Load balancers send a few
 * dozen bytes (addresses, an ALPN or a unique id); a bigger header is
 * refused rather than buffered, so a peer cannot make the proxy hold much
 * before it knows anything.
 */
#define PROXYPROTO_V2_MAX 4096
/* The longest header proxyproto_write() produces (a v1 TCP6 line). */
#define PROXYPROTO_WRITE_MAX PROXYPROTO_V1_MAX

/* What proxyproto_parse() says about the bytes seen so far. */
enum proxyproto_result {
	PROXYPROTO_ERROR = -1, /* not a valid header: *errstr says why */
	PROXYPROTO_MORE = 0,   /* a valid beginning: wait for more bytes */
	PROXYPROTO_DONE = 1,   /* a whole header: see the struct */
};

struct proxyproto_hdr {
	int version; /* 1 or 2 */
	/*
	 * AF_INET or AF_INET6 when the header carries the addresses of a
	 * relayed TCP connection; AF_UNSPEC when it carries none the receiver
	 * may use (v1 UNKNOWN, v2 LOCAL, v2 UNSPEC or AF_UNIX): the
	 * connection's own endpoints stand then.
	 */
	int family;
	bool local; /* v2 LOCAL: the sender's own connection (a health check) */
	struct sockaddr_storage src, dst; /* the client, and whom it reached */
	socklen_t addrlen;                /* of src and dst; 0 for AF_UNSPEC */
	size_t len;                       /* bytes the header took */
};

/*
 * Parses the beginning of a connection, buf[0..len), as a PROXY header of
 * one of the versions in the bit set `versions`. Stateless: call again with
 * the same bytes and more after them until the answer is not MORE. Returns
 * MORE only while buf is a valid beginning of a header that fits the bounds
 * above, so anything else (an XML stream, a TLS hello, a header too long) is
 * refused as soon as the first wrong byte is seen. On DONE, *hdr is filled
 * and the connection's data starts at buf + hdr->len.
 */
enum proxyproto_result proxyproto_parse(const void *buf, size_t len,
    unsigned versions, struct proxyproto_hdr *hdr, const char **errstr);

/*
 * Writes a header of version 1 or 2 saying that src connected to dst into
 * out. With either address NULL, of another family than AF_INET/AF_INET6,
 * or of different families, the header says so (v1 UNKNOWN, v2 PROXY with
 * AF_UNSPEC) and the receiver uses the connection's own endpoints. Returns
 * the length, or 0 when outlen is too small (PROXYPROTO_WRITE_MAX is enough).
 */
size_t proxyproto_write(int version, const struct sockaddr *src,
    const struct sockaddr *dst, void *out, size_t outlen);

#endif
