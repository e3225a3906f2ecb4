/* SPDX-License-Identifier: ISC */
/*
 * The XMPP stream parser: bytes in, events out. Built on expat (namespace
 * aware), it reports the stream header, each complete depth-1 element as a
 * tree plus the exact span of its original bytes, whitespace between
 * elements, and the stream close. It rejects what RFC 6120 section 11 forbids
 * and enforces the element size and depth limits. Pure: no sockets, no
 * libevent, no knowledge of sessions or of which elements restart a stream.
 */
#ifndef XMPPGATE_XMLSTREAM_H
#define XMPPGATE_XMLSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "xnode.h"

#define XMLSTREAM_NS_STREAMS "http://etherx.jabber.org/streams"
#define XMLSTREAM_NS_CLIENT "jabber:client"
#define XMLSTREAM_MAX_DEPTH 64

enum xmlstream_err {
	XMLSTREAM_ERR_NONE,
	XMLSTREAM_ERR_NOT_WELL_FORMED,
	XMLSTREAM_ERR_RESTRICTED_XML,	 /* comment, PI, DTD, entity */
	XMLSTREAM_ERR_TOO_BIG,		 /* max element bytes */
	XMLSTREAM_ERR_TOO_DEEP,		 /* XMLSTREAM_MAX_DEPTH */
	XMLSTREAM_ERR_UNSUPPORTED_ENCODING, /* invalid UTF-8, other encoding */
	XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX, /* prefixed stanza, unbound prefix */
	XMLSTREAM_ERR_INVALID_NAMESPACE, /* root not <stream> in the streams ns */
	XMLSTREAM_ERR_TEXT,		 /* non-whitespace text at depth 1 */
	XMLSTREAM_ERR_AFTER_CLOSE,	 /* bytes other than space after close */
};
#define XMLSTREAM_NERRS (XMLSTREAM_ERR_AFTER_CLOSE + 1)

/* Callback results. */
#define XMLSTREAM_CONTINUE 0
#define XMLSTREAM_STOP 1 /* stop right after this event (restart, TLS, close) */

struct xmlstream_cbs {
	/*
	 * Stream header. root is the <stream:stream> element with its
	 * attributes and no children, borrowed for the call. bytes are the
	 * original bytes since the last event (XML declaration, whitespace and
	 * the start tag).
	 */
	int (*on_open)(void *arg, const struct xnode *root, const char *bytes,
	    size_t len);
	/* A complete depth-1 element; the callee owns el. */
	int (*on_element)(void *arg, struct xnode *el, const char *bytes,
	    size_t len);
	/* Whitespace between depth-1 elements (keepalives). */
	int (*on_space)(void *arg, const char *bytes, size_t len);
	/* </stream:stream>. */
	int (*on_close)(void *arg, const char *bytes, size_t len);
};

struct xmlstream;

/* max_element_bytes bounds the header and each depth-1 element. */
struct xmlstream *xmlstream_new(const struct xmlstream_cbs *, void *arg,
    size_t max_element_bytes);
void xmlstream_free(struct xmlstream *);
/*
 * Changes the element limit from now on; it holds across resets. The
 * element being parsed (if any) is measured against the new limit when it
 * ends or grows, so lowering it mid-element may fail that element.
 */
void xmlstream_set_max(struct xmlstream *, size_t max_element_bytes);
/* A fresh parser, as at a stream restart: the next bytes start a document. */
void xmlstream_reset(struct xmlstream *);

/*
 * Feeds len bytes. Returns 0 with *consumed == len when all bytes were
 * parsed, or 0 with *consumed < len when a callback returned XMLSTREAM_STOP:
 * *consumed is then the offset just after the last byte of that event, the
 * rest is not parsed, and the stream must be reset (or freed) before it is
 * fed again. (When the stopping event ends the buffer, *consumed == len: the
 * callback, not *consumed, tells that a reset is due.) Returns -1 on an
 * error: see xmlstream_error(); *consumed then ends after the last event
 * delivered, and every later feed fails too. Callbacks run inside this call;
 * they must not free or reset the stream. Whitespace between elements is
 * delivered at the latest at the end of each call, in runs cut as the input
 * was cut.
 */
int xmlstream_feed(struct xmlstream *, const char *buf, size_t len,
    size_t *consumed) __attribute__((warn_unused_result));

enum xmlstream_err xmlstream_error(const struct xmlstream *);
/* Human-readable detail of the last error (expat's message, line, column). */
const char *xmlstream_error_detail(const struct xmlstream *);
/* The RFC 6120 stream error condition for an error. */
const char *xmlstream_err_condition(enum xmlstream_err);
const char *xmlstream_err_str(enum xmlstream_err);
/* True once the stream header was parsed (since the last reset). */
bool xmlstream_is_open(const struct xmlstream *);
/* True once </stream:stream> was parsed. */
bool xmlstream_is_closed(const struct xmlstream *);
/*
 * The default (content) namespace declared on the stream header, e.g.
 * "jabber:client", or NULL; valid until the next reset.
 */
const char *xmlstream_content_ns(const struct xmlstream *);

#endif
