/* SPDX-License-Identifier: ISC */
/*
 * The parts of xg-bench that both sides use: helpers, the streaming checksum,
 * the depth-1 element counter, and the generator of the client stanza stream
 * (chat messages of 20-300 bytes with entities and non-ASCII UTF-8, presences,
 * IQs, and a few multi-KB bodies), deterministic so every run and every
 * target sees the same bytes. The counter only understands what the generator
 * produces; it is not an XML parser.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>

#include "xg-bench.h"

void
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("xg-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		fail("out of memory");
	return p;
}

void
set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void
tune_bev(struct bufferevent *bev)
{
	/* Our endpoints must not be what limits the measurement. */
	bufferevent_set_max_single_read(bev, IO_MAX);
	bufferevent_set_max_single_write(bev, IO_MAX);
}

/*
 * Streaming checksum, four 64-bit lanes over 32-byte blocks: order-sensitive,
 * fast enough not to matter next to a syscall, and not cryptographic (it
 * catches lost, duplicated or reordered bytes, not an adversary).
 */
#define XHASH_MUL 0x9e3779b97f4a7c15ULL

void
xhash_init(struct xhash *x)
{
	memset(x, 0, sizeof(*x));
	for (int i = 0; i < 4; i++)
		x->h[i] = 0x243f6a8885a308d3ULL + (uint64_t)i;
}

static void
xhash_block(uint64_t h[4], const unsigned char *p)
{
	for (int i = 0; i < 4; i++) {
		uint64_t w;

		memcpy(&w, p + 8 * i, 8);
		h[i] = (h[i] ^ w) * XHASH_MUL;
		h[i] = (h[i] << 29) | (h[i] >> 35);
	}
}

void
xhash_update(struct xhash *x, const void *data, size_t n)
{
	const unsigned char *p = data;

	x->len += n;
	if (x->ntail > 0) {
		size_t k = 32 - x->ntail < n ? 32 - x->ntail : n;

		memcpy(x->tail + x->ntail, p, k);
		x->ntail += k;
		p += k;
		n -= k;
		if (x->ntail < 32)
			return;
		xhash_block(x->h, x->tail);
		x->ntail = 0;
	}
	for (; n >= 32; p += 32, n -= 32)
		xhash_block(x->h, p);
	memcpy(x->tail, p, n);
	x->ntail = n;
}

uint64_t
xhash_final(const struct xhash *x)
{
	uint64_t h = x->len * XHASH_MUL;

	for (int i = 0; i < 4; i++)
		h = (h ^ x->h[i]) * XHASH_MUL;
	for (size_t i = 0; i < x->ntail; i++)
		h = (h ^ x->tail[i]) * XHASH_MUL;
	return h ^ (h >> 31);
}

/* Element end at depth 1 (our depth 0). Returns the scan_done it implies. */
static enum scan_done
scan_element_end(struct scan *s, int64_t now)
{
	if (s->in_stats) {
		s->in_stats = 0;
		return SCAN_STATS;
	}
	s->stanzas++;
	s->t_last = now;
	return SCAN_MORE;
}

/* Captures the first bytes of a depth-1 start tag to spot the stats IQ. */
static void
scan_head(struct scan *s, const char *p, size_t n)
{
	size_t room = sizeof(s->head) - 1 - s->nhead;

	if (n > room)
		n = room;
	memcpy(s->head + s->nhead, p, n);
	s->nhead += n;
}

/*
 * Counts the ends of depth-1 elements in a stream we generated ourselves:
 * skips text with memchr, and inside tags looks only at '<', '/' and '>' (no
 * attribute value the generator writes contains '>'). Our depth 0 is "inside
 * the stream root"; going below it is the stream close. Feeds n bytes;
 * returns how many were consumed, which is fewer than n only when the stats
 * IQ or the stream close ended inside them (*done says which).
 */
size_t
scan_feed(struct scan *s, const char *buf, size_t n, int64_t now,
          enum scan_done *done)
{
	const char *p = buf, *end = buf + n, *q;

	*done = SCAN_MORE;
	while (p < end && *done == SCAN_MORE) {
		switch (s->state) {
		case SCAN_TEXT:
			if ((q = memchr(p, '<', (size_t)(end - p))) == NULL)
				return n;
			p = q + 1;
			s->state = SCAN_LT;
			break;
		case SCAN_LT:
			if (*p == '/') {
				s->state = SCAN_ETAG;
				p++;
				break;
			}
			s->state = SCAN_STAG;
			s->prev = 0;
			s->nhead = 0;
			break;
		case SCAN_STAG:
			q = memchr(p, '>', (size_t)(end - p));
			if (s->depth == 0)
				scan_head(s, p, (size_t)((q ? q : end) - p));
			if (q == NULL) {
				s->prev = end[-1];
				return n;
			}
			if (q > p)
				s->prev = q[-1];
			if (s->depth == 0)
				s->in_stats =
				    s->nhead == sizeof(STATS_MARK) - 1 &&
				    memcmp(s->head, STATS_MARK, s->nhead) == 0;
			if (s->prev != '/')
				s->depth++;
			else if (s->depth == 0)
				*done = scan_element_end(s, now);
			p = q + 1;
			s->state = SCAN_TEXT;
			break;
		case SCAN_ETAG:
			if ((q = memchr(p, '>', (size_t)(end - p))) == NULL)
				return n;
			if (--s->depth == 0)
				*done = scan_element_end(s, now);
			else if (s->depth < 0)
				*done = SCAN_CLOSE;
			p = q + 1;
			s->state = SCAN_TEXT;
			break;
		}
	}
	return (size_t)(p - buf);
}

/*
 * If `start` and then `end` occur in `in`, drains through `end` (copying the
 * drained bytes, NUL-terminated and truncated, to copy[size] when copy is not
 * NULL) and returns 1; otherwise leaves `in` alone and returns 0.
 */
int
take_through(struct evbuffer *in, const char *start, const char *end,
             char *copy, size_t size)
{
	struct evbuffer_ptr s, e;
	size_t n;

	s = evbuffer_search(in, start, strlen(start), NULL);
	if (s.pos < 0)
		return 0;
	e = evbuffer_search(in, end, strlen(end), &s);
	if (e.pos < 0)
		return 0;
	n = (size_t)e.pos + strlen(end);
	if (copy != NULL) {
		ssize_t got = evbuffer_copyout(in, copy, size - 1);

		copy[got < 0 ? 0 : (size_t)got] = '\0';
	}
	evbuffer_drain(in, n);
	return 1;
}

/* ---- the stanza pool: a realistic, deterministic c2s stream ---- */

struct pool pool;
static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint32_t
rnd(uint32_t n)
{
	/* xorshift64*: deterministic, so every run sends the same stream. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static void
pool_add(const char *s, size_t n)
{
	if (pool.len + n > pool.cap) {
		pool.cap = (pool.cap + n) * 2;
		if ((pool.buf = realloc(pool.buf, pool.cap)) == NULL)
			fail("out of memory");
	}
	memcpy(pool.buf + pool.len, s, n);
	pool.len += n;
}

static void pool_printf(const char *, ...)
    __attribute__((format(printf, 1, 2)));

static void
pool_printf(const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		fail("pool_printf: overflow");
	pool_add(tmp, (size_t)n);
}

/* Words for bodies: ASCII, entities, and multi-byte UTF-8. */
static const char *const words[] = {
    "hello",
    "the",
    "meeting",
    "is",
    "at",
    "noon",
    "ok",
    "see",
    "you",
    "tomorrow",
    "&amp;",
    "&lt;3",
    "a&lt;b &amp;&amp; b&gt;c",
    "&quot;quoted&quot;",
    "it&apos;s",
    "café",
    "naïve",
    "Grüße",
    "日本語",
    "テスト",
    "привет",
    "мир",
    "😀",
    "🚀",
    "→",
    "€42",
    "deploy",
    "build",
    "failed",
    "passed",
    "https://example.org/a?b=1&amp;c=2",
    "lunch",
    "coffee",
    "later",
    "thanks",
    "x",
    "ünïcödé",
    "señor",
    "ß",
    "Ελληνικά",
    "עברית",
    "مرحبا",
    "ok!",
    "lol",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void
pool_body(size_t target)
{
	size_t n = 0;

	while (n < target) {
		const char *w = words[rnd(NWORDS)];
		size_t k = strlen(w);

		if (n > 0) {
			size_t sep = rnd(12) == 0 ? 2 : 1;

			pool_add(sep == 2 ? ". " : " ", sep);
			n += sep;
		}
		pool_add(w, k);
		n += k;
	}
}

static void
pool_id(void)
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char id[17];
	size_t n = 8 + rnd(9);

	for (size_t i = 0; i < n; i++)
		id[i] = a[rnd(sizeof(a) - 1)];
	pool_add(id, n);
}

static void
pool_message(size_t body)
{
	pool_printf("<message to='user%u@localhost' type='chat' id='",
	            rnd(500));
	pool_id();
	pool_add("' xml:lang='en'><body>", 22);
	pool_body(body);
	pool_printf("</body>%s<request xmlns='urn:xmpp:receipts'/><origin-id "
	            "xmlns='urn:xmpp:sid:0' id='",
	            rnd(2) ? "<active xmlns='http://jabber.org/protocol/"
	                     "chatstates'/>"
	                   : "");
	pool_id();
	pool_add("'/></message>", 13);
}

static void
pool_presence(void)
{
	static const char *const shows[] = {"away", "chat", "dnd", "xa"};

	switch (rnd(4)) {
	case 0:
		pool_add("<presence/>", 11);
		break;
	case 1:
		pool_printf("<presence to='room%u@conference.localhost/nick%u'>"
		            "<x xmlns='http://jabber.org/protocol/muc'/>"
		            "</presence>",
		            rnd(50), rnd(1000));
		break;
	default:
		pool_printf("<presence><show>%s</show><status>", shows[rnd(4)]);
		pool_body(10 + rnd(40));
		pool_printf("</status><priority>%u</priority><c "
		            "xmlns='http://jabber.org/protocol/caps' "
		            "hash='sha-1' node='https://xg-bench.example' "
		            "ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/></presence>",
		            rnd(10));
	}
}

static void
pool_iq(void)
{
	static const char *const q[] = {
	    "<ping xmlns='urn:xmpp:ping'/>",
	    "<query xmlns='jabber:iq:roster'/>",
	    "<query xmlns='http://jabber.org/protocol/disco#info'/>",
	    "<query xmlns='http://jabber.org/protocol/disco#items'/>",
	    "<vCard xmlns='vcard-temp'/>",
	};

	pool_printf("<iq type='get' to='%slocalhost' id='",
	            rnd(2) ? "" : "user1@");
	pool_id();
	pool_printf("'>%s</iq>", q[rnd(5)]);
}

/* Builds POOL_STANZAS stanzas: ~76% chat, 12% presence, 10% IQ, 2% big. */
void
pool_build(void)
{
	for (size_t i = 0; i < POOL_STANZAS; i++) {
		uint32_t r = rnd(100);

		pool.off[i] = pool.len;
		if (r < 76)
			pool_message(20 + rnd(281));
		else if (r < 88)
			pool_presence();
		else if (r < 98)
			pool_iq();
		else
			pool_message(2000 + rnd(6000));
	}
	pool.off[POOL_STANZAS] = pool.len;
}