/* SPDX-License-Identifier: ISC */
/*
 * UTF-8 as XMPP needs it: a streaming validator whose state carries across
 * reads (so a multi-byte character split between two reads is fine), and the
 * small decoding helpers the serializer uses to drop what XML 1.0 forbids.
 * It rejects overlong forms, surrogates, code points above U+10FFFF and stray
 * continuation bytes. It does not convert encodings or normalize.
 */
#ifndef XMPPGATE_UTF8_H
#define XMPPGATE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct utf8_state {
	unsigned char need; /* continuation bytes still expected */
	unsigned char lo;   /* allowed range of the next continuation byte */
	unsigned char hi;
	bool bad;	    /* an invalid byte was seen: stays invalid */
};

void utf8_init(struct utf8_state *);
/*
 * Checks the next len bytes of a stream. Returns 0 when everything seen so
 * far is valid (the last character may still be incomplete), -1 once an
 * invalid byte was seen (and on every later call).
 */
int utf8_check(struct utf8_state *, const void *buf, size_t len);
/*
 * Like utf8_check, but returns how many of the len bytes come before the
 * first invalid one: len when all are valid. Bytes of an incomplete
 * character at the end count as valid.
 */
size_t utf8_scan(struct utf8_state *, const void *buf, size_t len);
/* True when no character is pending (the stream may end here). */
bool utf8_complete(const struct utf8_state *);

/*
 * Decodes one character at s. Returns its length in bytes (1-4) and stores
 * the code point, or 0 when s does not start with a complete, valid sequence.
 */
size_t utf8_decode(const void *s, size_t len, uint32_t *cp);
/* True when XML 1.0 allows the code point in a document (production Char). */
bool utf8_xml_char(uint32_t cp);

#endif
