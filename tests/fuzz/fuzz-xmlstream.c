/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target for xmlstream and the xnode serializer. Each input is parsed
 * whole, in pseudo-random pieces derived from its bytes, and (when small)
 * one byte at a time, restarting at <success/>, <proceed/> and the close as
 * a connection would. Every run must see the same events with the same
 * bytes and end with the same error; the spans must always be a prefix of
 * the input; every element must serialize to XML that parses back into a
 * tree that serializes the same. Any violation aborts. A run with a small
 * element limit exercises the size checks; it raises the limit at its
 * first restart and lowers it again at the next, as a session does when a
 * client authenticates (limits.preauth_stanza_bytes, then max_stanza_bytes).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmlstream.h"
#include "xnode.h"

#define FUZZ_MAX_INPUT 65536
#define FUZZ_BYTEWISE_MAX 4096
#define FUZZ_HDR                                                               \
	"<stream:stream xmlns='jabber:client' "                                \
	"xmlns:stream='http://etherx.jabber.org/streams'>"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct buf log;	  /* events, space runs merged */
	struct buf spans; /* concatenated event bytes */
	size_t log_nospace, spans_nospace;
	char last;
	bool stopped;
	bool roundtrip; /* check the serializer on each element */
};

static void __attribute__((noreturn))
fz_fail(const char *what)
{
	fprintf(stderr, "fuzz-xmlstream: %s\n", what);
	abort();
}

static void
fz_event(struct fz *f, char type, const char *bytes, size_t len)
{
	if (type == 'S' && f->last == 'S') {
		buf_add(&f->log, bytes, len);
	} else {
		/* A space run has no length: it may come in pieces. */
		if (type == 'S') {
			f->log_nospace = f->log.len;
			f->spans_nospace = f->spans.len;
			buf_adds(&f->log, "\nS:");
		} else {
			buf_addf(&f->log, "\n%c%zu:", type, len);
		}
		buf_add(&f->log, bytes, len);
	}
	buf_add(&f->spans, bytes, len);
	f->last = type;
}

static int
fz_open(void *arg, const struct xnode *root, const char *bytes, size_t len)
{
	struct fz *f = arg;

	fz_event(f, 'O', bytes, len);
	if (root->children != NULL)
		fz_fail("stream root with children");
	xnode_serialize(root, NULL, &f->log);
	return XMLSTREAM_CONTINUE;
}

static int
fz_catch(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct xnode **out = arg;

	if (*out != NULL)
		fz_fail("serialized element parsed as two");
	*out = el;
	return XMLSTREAM_CONTINUE;
}

/* The serializer's output parses back and serializes the same. */
static void
fz_roundtrip(const struct xnode *el)
{
	static const struct xmlstream_cbs cbs = { NULL, fz_catch, NULL, NULL };
	struct xnode *back = NULL;
	struct xmlstream *xs;
	struct buf in, again;
	size_t used, hdr = sizeof(FUZZ_HDR) - 1;

	buf_init(&in);
	buf_init(&again);
	buf_adds(&in, FUZZ_HDR);
	xnode_serialize(el, "jabber:client", &in);
	xs = xmlstream_new(&cbs, &back, 1u << 24);
	if (xmlstream_feed(xs, in.data, in.len, &used) < 0) {
		fprintf(stderr, "%s\n%s\n", xmlstream_error_detail(xs),
		    in.data);
		fz_fail("serialized element does not parse");
	}
	if (back == NULL)
		fz_fail("serialized element not delivered");
	xnode_serialize(back, "jabber:client", &again);
	if (again.len != in.len - hdr ||
	    memcmp(again.data, in.data + hdr, again.len) != 0)
		fz_fail("serialization not stable across a round trip");
	buf_reset(&again);
	xnode_serialize_pretty(el, "jabber:client", 2, &again);
	xnode_free(back);
	xmlstream_free(xs);
	buf_fini(&in);
	buf_fini(&again);
}

static int
fz_element(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct fz *f = arg;
	int rc = XMLSTREAM_CONTINUE;

	fz_event(f, 'E', bytes, len);
	xnode_serialize(el, "jabber:client", &f->log);
	buf_addc(&f->log, '|');
	xnode_text_buf(el, &f->log);
	if (f->roundtrip)
		fz_roundtrip(el);
	if (strcmp(el->name, "success") == 0 ||
	    strcmp(el->name, "proceed") == 0 ||
	    strcmp(el->name, "compressed") == 0) {
		f->stopped = true;
		rc = XMLSTREAM_STOP;
	}
	xnode_free(el);
	return rc;
}

static int
fz_space(void *arg, const char *bytes, size_t len)
{
	struct fz *f = arg;
	size_t i;

	for (i = 0; i < len; i++)
		if (strchr(" \t\r\n", bytes[i]) == NULL || bytes[i] == '\0')
			fz_fail("on_space with non-space bytes");
	fz_event(f, 'S', bytes, len);
	return XMLSTREAM_CONTINUE;
}

static int
fz_close(void *arg, const char *bytes, size_t len)
{
	struct fz *f = arg;

	fz_event(f, 'C', bytes, len);
	f->stopped = true;
	return XMLSTREAM_STOP;
}

static const struct xmlstream_cbs fz_cbs = {
	fz_open,
	fz_element,
	fz_space,
	fz_close,
};

struct fz_run {
	struct fz f;
	enum xmlstream_err err;
};

static uint64_t
fz_next(uint64_t *s)
{
	/* xorshift64 */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Parses data in pieces: whole when mode is 0, one byte at a time when 1,
 * else pseudo-random lengths from seed. Resets after every STOP; with
 * max_after != 0 the limit alternates between max_after and max there.
 */
static void
fz_run(struct fz_run *r, const uint8_t *data, size_t size, int mode,
    uint64_t seed, size_t max, size_t max_after, bool roundtrip)
{
	const char *p = (const char *)data;
	struct xmlstream *xs;
	size_t at = 0, resets = 0;

	memset(r, 0, sizeof(*r));
	buf_init(&r->f.log);
	buf_init(&r->f.spans);
	r->f.roundtrip = roundtrip;
	xs = xmlstream_new(&fz_cbs, &r->f, max);
	while (at < size) {
		size_t n = size - at, used = 0;

		if (mode == 1)
			n = 1;
		else if (mode == 2 && n > 1)
			n = 1 + (size_t)(fz_next(&seed) %
			    (fz_next(&seed) % 4 ? 17 : n));
		if (n > size - at)
			n = size - at;
		if (xmlstream_feed(xs, p + at, n, &used) < 0) {
			r->err = xmlstream_error(xs);
			if (r->err == XMLSTREAM_ERR_NONE ||
			    xmlstream_error_detail(xs)[0] == '\0')
				fz_fail("failure without an error");
			if (xmlstream_err_condition(r->err) == NULL)
				fz_fail("error without a condition");
			break;
		}
		if (used > n)
			fz_fail("consumed more than fed");
		if (r->f.stopped) {
			r->f.stopped = false;
			buf_adds(&r->f.log, "\nRESET");
			r->f.last = 'R';
			xmlstream_reset(xs);
			if (max_after != 0)
				xmlstream_set_max(
				    xs, ++resets % 2 ? max_after : max);
		} else if (used != n) {
			fz_fail("short consume without a STOP");
		}
		at += used;
	}
	xmlstream_free(xs);
	if (r->f.spans.len > size ||
	    (r->f.spans.len > 0 &&
		memcmp(r->f.spans.data, data, r->f.spans.len) != 0))
		fz_fail("spans are not a prefix of the input");
}

static void
fz_run_fini(struct fz_run *r)
{
	buf_fini(&r->f.log);
	buf_fini(&r->f.spans);
}

/*
 * Text at depth 1 right before "]]>" is text when it arrives alone, but
 * expat swallows it into the invalid "]]>" token when both come in one read:
 * either way the stream error is not-well-formed.
 */
static enum xmlstream_err
fz_err_class(enum xmlstream_err e)
{
	return e == XMLSTREAM_ERR_TEXT ? XMLSTREAM_ERR_NOT_WELL_FORMED : e;
}

/* Same events, bytes and error; whitespace before an error may differ. */
static void
fz_compare(const struct fz_run *a, const struct fz_run *b)
{
	size_t al = a->f.log.len, bl = b->f.log.len;

	if (fz_err_class(a->err) != fz_err_class(b->err))
		fz_fail("different errors for different splits");
	if (a->err != XMLSTREAM_ERR_NONE && a->f.last == 'S')
		al = a->f.log_nospace;
	if (b->err != XMLSTREAM_ERR_NONE && b->f.last == 'S')
		bl = b->f.log_nospace;
	if (al != bl ||
	    (al > 0 && memcmp(a->f.log.data, b->f.log.data, al) != 0)) {
		fprintf(stderr, "--- one read:\n%.*s\n--- pieces:\n%.*s\n",
		    (int)al, a->f.log.data, (int)bl, b->f.log.data);
		fz_fail("different events for different splits");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_run whole, other;
	uint64_t seed = 1469598103934665603ULL;
	size_t i;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ULL;
	if (seed == 0)
		seed = 1;

	fz_run(&whole, data, size, 0, seed, 1u << 20, 0, true);
	fz_run(&other, data, size, 2, seed, 1u << 20, 0, false);
	fz_compare(&whole, &other);
	fz_run_fini(&other);
	if (size <= FUZZ_BYTEWISE_MAX) {
		fz_run(&other, data, size, 1, seed, 1u << 20, 0, false);
		fz_compare(&whole, &other);
		fz_run_fini(&other);
	}
	fz_run_fini(&whole);

	/* A small limit, raised and lowered at restarts: only the invariants
	 * fz_run checks itself. */
	fz_run(&other, data, size, 2, seed, 16 + (size_t)(seed % 512),
	    1024 + (size_t)(seed % 8192), false);
	fz_run_fini(&other);
	return 0;
}
