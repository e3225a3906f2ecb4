/* SPDX-License-Identifier: ISC */
/*
 * Base64 (RFC 4648) as SASL in XMPP uses it: strict decoding, "=" alone is
 * the empty string (RFC 6120 6.4.2).
 */
#ifndef XMPPGATE_B64_H
#define XMPPGATE_B64_H

#include <stddef.h>

/*
 * Decodes len characters of s (whitespace ignored) into out, which must hold
 * len / 4 * 3 + 3 bytes. Returns the decoded length, or -1 on bad input.
 */
long b64_decode(const char *s, size_t len, unsigned char *out);
/* Encodes into out, which must hold (len + 2) / 3 * 4 + 1 bytes. */
void b64_encode(const unsigned char *in, size_t len, char *out);

#endif
