/* SPDX-License-Identifier: ISC */
/*
 * Streaming UTF-8 validation and single-character decoding. The validator is
 * a three-field state machine (bytes still needed, allowed range of the next
 * one) with a word-at-a-time fast path for ASCII, which is most of XMPP
 * traffic. It knows nothing of XML beyond utf8_xml_char().
 */
#include <string.h>

#include "utf8.h"

#define UTF8_ASCII_MASK 0x8080808080808080ULL

void
utf8_init(struct utf8_state *st)
{
	st->need = 0;
	st->lo = 0x80;
	st->hi = 0xbf;
	st->bad = false;
}

/*
 * Sets up the state for a lead byte. Returns false when c cannot start a
 * character: a continuation byte, C0/C1 (always overlong) or F5-FF (beyond
 * U+10FFFF). The narrowed ranges for E0, ED, F0 and F4 exclude overlongs,
 * surrogates and code points above U+10FFFF at the second byte already.
 */
static bool
utf8_lead(struct utf8_state *st, unsigned char c)
{
	st->lo = 0x80;
	st->hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		st->need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		st->need = 2;
		if (c == 0xe0)
			st->lo = 0xa0;
		else if (c == 0xed)
			st->hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		st->need = 3;
		if (c == 0xf0)
			st->lo = 0x90;
		else if (c == 0xf4)
			st->hi = 0x8f;
	} else {
		return false;
	}
	return true;
}

size_t
utf8_scan(struct utf8_state *st, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i = 0;

	if (st->bad)
		return 0;
	while (i < len) {
		unsigned char c = p[i];

		if (st->need == 0) {
			uint64_t w;

			/* Skip ASCII eight bytes at a time. */
			while (i + 8 <= len) {
				memcpy(&w, p + i, 8);
				if (w & UTF8_ASCII_MASK)
					break;
				i += 8;
			}
			if (i == len)
				break;
			c = p[i];
			if (c < 0x80) {
				i++;
				continue;
			}
			if (!utf8_lead(st, c))
				goto bad;
			i++;
			continue;
		}
		if (c < st->lo || c > st->hi)
			goto bad;
		st->need--;
		st->lo = 0x80;
		st->hi = 0xbf;
		i++;
	}
	return len;
bad:
	st->bad = true;
	return i;
}

int
utf8_check(struct utf8_state *st, const void *buf, size_t len)
{
	return utf8_scan(st, buf, len) == len && !st->bad ? 0 : -1;
}

bool
utf8_complete(const struct utf8_state *st)
{
	return !st->bad && st->need == 0;
}

size_t
utf8_decode(const void *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = s;
	struct utf8_state st;
	uint32_t v;
	size_t n, i;

	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	utf8_init(&st);
	if (!utf8_lead(&st, p[0]))
		return 0;
	n = (size_t)st.need + 1;
	if (len < n)
		return 0;
	v = p[0] & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
	for (i = 1; i < n; i++) {
		if (p[i] < st.lo || p[i] > st.hi)
			return 0;
		st.lo = 0x80;
		st.hi = 0xbf;
		v = (v << 6) | (p[i] & 0x3f);
	}
	*cp = v;
	return n;
}

bool
utf8_xml_char(uint32_t cp)
{
	if (cp < 0x20)
		return cp == 0x09 || cp == 0x0a || cp == 0x0d;
	if (cp <= 0xd7ff)
		return true;
	if (cp >= 0xe000 && cp <= 0xfffd)
		return true;
	return cp >= 0x10000 && cp <= 0x10ffff;
}
