/* SPDX-License-Identifier: ISC */
/*
 * Address strings: "1.2.3.4:5222", "[::1]:5222", "host.example:5222". Parses
 * and prints; resolves nothing.
 */
#ifndef XMPPGATE_ADDR_H
#define XMPPGATE_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Splits "HOST:PORT" / "[V6]:PORT" into host (without brackets) and port.
 * Returns -1 with *errstr set on a malformed string or a port outside 1-65535.
 */
int addr_split(const char *s, char *host, size_t hostlen, unsigned *port,
    const char **errstr) __attribute__((warn_unused_result));
/* Parses a numeric listen address into ss. Returns -1 with *errstr. */
int addr_parse_numeric(const char *s, struct sockaddr_storage *ss,
    socklen_t *len, const char **errstr) __attribute__((warn_unused_result));
/* Whether sa is a loopback address: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
int addr_is_loopback(const struct sockaddr *sa);
/* Formats sa as "ADDR:PORT" or "[V6]:PORT" into out. */
void addr_format(const struct sockaddr *sa, char *out, size_t outlen);

#endif
