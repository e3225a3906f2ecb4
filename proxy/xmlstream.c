/* SPDX-License-Identifier: ISC */
/*
 * The XMPP stream parser on expat. Expat tokenizes and resolves namespaces;
 * this file turns its callbacks into stream events with exact byte spans,
 * builds the tree of each depth-1 element, and enforces RFC 6120 section 11
 * (no comments, PIs, DTDs or entities; UTF-8 only; no prefixed stanzas; no
 * text at depth 1) plus the size and depth limits.
 *
 * Byte spans: expat reports absolute offsets (XML_GetCurrentByteIndex) since
 * the document start. `delivered` is the offset of the first byte not yet
 * handed out in an event. Bytes still needed for a span are kept in a
 * lookback buffer; spans that lie entirely in the bytes being parsed are
 * handed out in place, so complete stanzas in one read are never copied.
 * Input is parsed in slices so that the undelivered bytes (and with them
 * expat's buffer, the lookback and the tree being built) stay bounded by the
 * element limit whatever the size of one feed.
 *
 * It does not know which elements restart a stream, nor anything of sockets:
 * callbacks say STOP and the caller resets.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

/*
 * Expat 2.6 and the security updates that backport its fix for
 * CVE-2023-52425 (Debian 12's 2.5.0-1+deb12u5 among them) defer re-parsing
 * a token that arrived in pieces until enough more input came: a stanza
 * split across reads would then sit in the parser, unreported, until the
 * peer sends more. The proxy switches deferral off. The symbol is weak so
 * that a binary built against an expat without it still switches it off
 * when the library is updated under it; where the library lacks it, there
 * is nothing to switch.
 */
#ifndef HAVE_XML_SETREPARSEDEFERRALENABLED
XML_Bool XML_SetReparseDeferralEnabled(XML_Parser, XML_Bool);
#endif
#pragma weak XML_SetReparseDeferralEnabled

#include "log.h"
#include "utf8.h"
#include "xmalloc.h"
#include "xmlstream.h"

/* expat's namespace separator in names: "uri\1local\1prefix". */
#define XMLSTREAM_NSSEP '\x01'
/* Bytes handed to expat per XML_Parse call. */
#define XMLSTREAM_SLICE 65536
/* Scratch buffers larger than this are freed when they empty. */
#define XMLSTREAM_KEEP 16384

enum xmlstream_slice {
	XMLSTREAM_SLICE_OK,
	XMLSTREAM_SLICE_STOP,
	XMLSTREAM_SLICE_CLOSED,
	XMLSTREAM_SLICE_ERROR,
};

struct xmlstream {
	XML_Parser p; /* owned */
	struct xmlstream_cbs cbs;
	void *arg; /* borrowed: callback argument */
	size_t max;

	enum xmlstream_err err;
	char detail[256];
	bool open;
	bool closed;
	bool stopped; /* a callback said STOP: only reset or free now */
	bool halted;  /* expat was told to stop inside the current slice */
	int depth;    /* open elements, the root included */
	struct utf8_state u8;
	char *content_ns; /* owned: default namespace declared on the root */

	/* Absolute offsets since the document start. */
	uint64_t delivered; /* first byte not yet in an event */
	uint64_t ws_end;    /* end of reported whitespace not yet delivered */
	uint64_t fed;	    /* end of the bytes given to expat */
	uint64_t stop_at;   /* end of the event a callback stopped at */

	/* The slice being parsed. */
	const char *cur; /* borrowed: the caller's bytes */
	uint64_t cur_abs;
	size_t cur_len;
	size_t cur_copied; /* bytes of the slice already in lb */

	/* Undelivered bytes of earlier slices: [lb_base, lb_base + lb.len). */
	struct buf lb;
	uint64_t lb_base;

	/* The depth-1 element being built. */
	struct xnode *el;	/* owned */
	struct xnode *el_cur; /* borrowed: innermost open element */
	uint64_t el_start;
	struct buf text; /* character data not yet in el_cur */
};

static void *
xmlstream_xrealloc(void *p, size_t n)
{
	return xreallocarray(p, n, 1);
}

/* expat allocates through the xmalloc family: out of memory aborts. */
static const XML_Memory_Handling_Suite xmlstream_mem = {
	xmalloc,
	xmlstream_xrealloc,
	free,
};

/* Name for logs and RFC 6120 condition of each error, by enum value. */
static const struct {
	const char *name;
	const char *condition;
} xmlstream_errs[] = {
	[XMLSTREAM_ERR_NONE] = { "none", NULL },
	[XMLSTREAM_ERR_NOT_WELL_FORMED] = { "not-well-formed",
	    "not-well-formed" },
	[XMLSTREAM_ERR_RESTRICTED_XML] = { "restricted-xml", "restricted-xml" },
	[XMLSTREAM_ERR_TOO_BIG] = { "too-big", "policy-violation" },
	[XMLSTREAM_ERR_TOO_DEEP] = { "too-deep", "policy-violation" },
	[XMLSTREAM_ERR_UNSUPPORTED_ENCODING] = { "unsupported-encoding",
	    "unsupported-encoding" },
	[XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX] = { "bad-namespace-prefix",
	    "bad-namespace-prefix" },
	[XMLSTREAM_ERR_INVALID_NAMESPACE] = { "invalid-namespace",
	    "invalid-namespace" },
	[XMLSTREAM_ERR_TEXT] = { "text-at-depth-1", "not-well-formed" },
	[XMLSTREAM_ERR_AFTER_CLOSE] = { "data-after-close", "not-well-formed" },
};

const char *
xmlstream_err_str(enum xmlstream_err e)
{
	if ((size_t)e >= sizeof(xmlstream_errs) / sizeof(xmlstream_errs[0]))
		return "unknown";
	return xmlstream_errs[e].name;
}

const char *
xmlstream_err_condition(enum xmlstream_err e)
{
	if ((size_t)e >= sizeof(xmlstream_errs) / sizeof(xmlstream_errs[0]))
		return "undefined-condition";
	return xmlstream_errs[e].condition;
}

/*
 * Records the first error with a reason, and stops expat when called from
 * one of its callbacks. Later errors do not overwrite the first.
 */
static void __attribute__((format(printf, 3, 4)))
xmlstream_fail(struct xmlstream *xs, enum xmlstream_err e, const char *fmt,
    ...)
{
	va_list ap;

	if (xs->err != XMLSTREAM_ERR_NONE)
		return;
	xs->err = e;
	va_start(ap, fmt);
	vsnprintf(xs->detail, sizeof(xs->detail), fmt, ap);
	va_end(ap);
	if (!xs->halted) {
		xs->halted = true;
		XML_StopParser(xs->p, XML_FALSE);
	}
}

/* As xmlstream_fail from inside an expat callback, with the position. */
#define xmlstream_fail_here(xs, e, what)                                       \
	xmlstream_fail((xs), (e), "%s at line %lu column %lu", (what),         \
	    (unsigned long)XML_GetCurrentLineNumber((xs)->p),                  \
	    (unsigned long)XML_GetCurrentColumnNumber((xs)->p))

/* Offsets of the current expat event: [*start, *end). */
static void
xmlstream_event(struct xmlstream *xs, uint64_t *start, uint64_t *end)
{
	XML_Index i = XML_GetCurrentByteIndex(xs->p);
	int n = XML_GetCurrentByteCount(xs->p);

	*start = i < 0 ? xs->delivered : (uint64_t)i;
	*end = *start + (uint64_t)(n > 0 ? n : 0);
}

/*
 * The original bytes [a, b), contiguous. Bytes of the current slice are
 * returned in place; a span that starts in an earlier slice is completed in
 * the lookback buffer by appending what it needs of the current one (once:
 * cur_copied remembers how much is there). Valid until the next call.
 */
static const char *
xmlstream_span(struct xmlstream *xs, uint64_t a, uint64_t b)
{
	if (a >= xs->cur_abs)
		return xs->cur + (a - xs->cur_abs);
	if (b > xs->cur_abs && b - xs->cur_abs > xs->cur_copied) {
		size_t need = (size_t)(b - xs->cur_abs);

		buf_add(&xs->lb, xs->cur + xs->cur_copied,
		    need - xs->cur_copied);
		xs->cur_copied = need;
	}
	return xs->lb.data + (a - xs->lb_base);
}

/* Marks [delivered, end) delivered; handles a STOP answer. */
static void
xmlstream_delivered(struct xmlstream *xs, uint64_t end, int rc)
{
	xs->delivered = end;
	if (xs->ws_end < end)
		xs->ws_end = end;
	if (rc == XMLSTREAM_STOP && !xs->halted) {
		xs->stop_at = end;
		xs->stopped = true;
		xs->halted = true;
		XML_StopParser(xs->p, XML_FALSE);
	}
}

/* Hands out whitespace seen since the last event, if any. */
static void
xmlstream_flush_space(struct xmlstream *xs)
{
	uint64_t a = xs->delivered, b = xs->ws_end;
	int rc = XMLSTREAM_CONTINUE;

	if (b <= a || xs->halted)
		return;
	if (xs->cbs.on_space != NULL)
		rc = xs->cbs.on_space(xs->arg, xmlstream_span(xs, a, b),
		    (size_t)(b - a));
	xmlstream_delivered(xs, b, rc);
}

/* Moves pending character data into the element being built. */
static void
xmlstream_flush_text(struct xmlstream *xs)
{
	if (xs->text.len == 0)
		return;
	xnode_append(xs->el_cur, xnode_new_text(xs->text.data, xs->text.len));
	buf_reset(&xs->text);
}

/* Splits expat's "uri\1local[\1prefix]" or "local". */
static void
xmlstream_split(const char *s, char **ns, char **local, char **prefix)
{
	const char *a = strchr(s, XMLSTREAM_NSSEP), *b;

	if (a == NULL) {
		*ns = NULL;
		*local = xstrdup(s);
		*prefix = NULL;
		return;
	}
	*ns = xstrndup(s, (size_t)(a - s));
	b = strchr(a + 1, XMLSTREAM_NSSEP);
	if (b == NULL) {
		*local = xstrdup(a + 1);
		*prefix = NULL;
		return;
	}
	*local = xstrndup(a + 1, (size_t)(b - a - 1));
	*prefix = xstrdup(b + 1);
}

static struct xnode *
xmlstream_make_node(const char *name, const char **atts)
{
	struct xnode *n = xcalloc(1, sizeof(*n));
	size_t i, count = 0;

	n->type = XNODE_ELEMENT;
	xmlstream_split(name, &n->ns, &n->name, &n->prefix);
	while (atts[2 * count] != NULL)
		count++;
	if (count == 0)
		return n;
	n->attrs = xreallocarray(NULL, count, sizeof(*n->attrs));
	n->nattrs = count;
	for (i = 0; i < count; i++) {
		struct xattr *a = &n->attrs[i];

		xmlstream_split(atts[2 * i], &a->ns, &a->name, &a->prefix);
		a->value = xstrdup(atts[2 * i + 1]);
	}
	return n;
}

static void
xmlstream_root_start(struct xmlstream *xs, const char *name,
    const char **atts)
{
	struct xnode *root = xmlstream_make_node(name, atts);
	uint64_t start, end;
	int rc = XMLSTREAM_CONTINUE;

	if (!xnode_is(root, XMLSTREAM_NS_STREAMS, "stream")) {
		xmlstream_fail(xs, XMLSTREAM_ERR_INVALID_NAMESPACE,
		    "root element is {%s}%s, not {%s}stream",
		    root->ns ? root->ns : "", root->name,
		    XMLSTREAM_NS_STREAMS);
		xnode_free(root);
		return;
	}
	xmlstream_event(xs, &start, &end);
	if (end - xs->delivered > xs->max) {
		xmlstream_fail(xs, XMLSTREAM_ERR_TOO_BIG,
		    "stream header of %llu bytes exceeds %zu",
		    (unsigned long long)(end - xs->delivered), xs->max);
		xnode_free(root);
		return;
	}
	xs->open = true;
	xs->depth = 1;
	if (xs->cbs.on_open != NULL)
		rc = xs->cbs.on_open(xs->arg, root,
		    xmlstream_span(xs, xs->delivered, end),
		    (size_t)(end - xs->delivered));
	xnode_free(root);
	xmlstream_delivered(xs, end, rc);
}

static void XMLCALL
xmlstream_start_cb(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xmlstream *xs = ud;
	struct xnode *n;

	if (xs->halted)
		return;
	if (xs->depth == 0) {
		xmlstream_root_start(xs, name, atts);
		return;
	}
	if (xs->depth > XMLSTREAM_MAX_DEPTH) {
		xmlstream_fail_here(xs, XMLSTREAM_ERR_TOO_DEEP,
		    "elements nested too deep");
		return;
	}
	if (xs->depth == 1) {
		uint64_t end;

		xmlstream_flush_space(xs);
		if (xs->halted)
			return;
		n = xmlstream_make_node(name, atts);
		if (n->prefix != NULL && n->ns != NULL &&
		    strcmp(n->ns, XMLSTREAM_NS_CLIENT) == 0) {
			xnode_free(n);
			xmlstream_fail_here(xs,
			    XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX,
			    "prefixed jabber:client element");
			return;
		}
		xmlstream_event(xs, &xs->el_start, &end);
		xs->el = n;
	} else {
		xmlstream_flush_text(xs);
		n = xnode_append(xs->el_cur, xmlstream_make_node(name, atts));
	}
	xs->el_cur = n;
	xs->depth++;
}

static void XMLCALL
xmlstream_end_cb(void *ud, const XML_Char *name)
{
	struct xmlstream *xs = ud;
	uint64_t start, end;
	struct xnode *el;
	int rc = XMLSTREAM_CONTINUE;

	if (xs->halted)
		return;
	xs->depth--;
	if (xs->depth == 0) {
		/* </stream:stream>: nothing after it goes to expat. */
		xmlstream_flush_space(xs);
		if (xs->halted)
			return;
		xmlstream_event(xs, &start, &end);
		xs->closed = true;
		if (xs->cbs.on_close != NULL)
			rc = xs->cbs.on_close(xs->arg,
			    xmlstream_span(xs, xs->delivered, end),
			    (size_t)(end - xs->delivered));
		xmlstream_delivered(xs, end, rc);
		if (!xs->halted) {
			xs->halted = true;
			XML_StopParser(xs->p, XML_FALSE);
		}
		return;
	}
	xmlstream_flush_text(xs);
	if (xs->depth > 1) {
		xs->el_cur = xs->el_cur->parent;
		return;
	}
	xmlstream_event(xs, &start, &end);
	if (end - xs->el_start > xs->max) {
		xmlstream_fail(xs, XMLSTREAM_ERR_TOO_BIG,
		    "element <%s> of %llu bytes exceeds %zu", xs->el->name,
		    (unsigned long long)(end - xs->el_start), xs->max);
		return;
	}
	el = xs->el;
	xs->el = NULL;
	xs->el_cur = NULL;
	if (xs->cbs.on_element != NULL)
		rc = xs->cbs.on_element(xs->arg, el,
		    xmlstream_span(xs, xs->el_start, end),
		    (size_t)(end - xs->el_start));
	else
		xnode_free(el);
	xmlstream_delivered(xs, end, rc);
}

static bool
xmlstream_is_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

/*
 * Character data. Inside an element it is collected decoded; directly in
 * the root it must be whitespace in the original bytes (so &#32; is text,
 * not a keepalive) and is delivered later as one on_space run.
 */
static void XMLCALL
xmlstream_text_cb(void *ud, const XML_Char *s, int len)
{
	struct xmlstream *xs = ud;
	uint64_t start, end;

	if (xs->halted)
		return;
	if (xs->depth > 1) {
		buf_add(&xs->text, s, (size_t)len);
		return;
	}
	xmlstream_event(xs, &start, &end);
	if (!xmlstream_is_space(xmlstream_span(xs, start, end),
	    (size_t)(end - start))) {
		xmlstream_fail_here(xs, XMLSTREAM_ERR_TEXT,
		    "text between top-level elements");
		return;
	}
	if (end > xs->ws_end)
		xs->ws_end = end;
}

static void XMLCALL
xmlstream_cdata_cb(void *ud)
{
	struct xmlstream *xs = ud;

	if (xs->halted || xs->depth > 1)
		return;
	xmlstream_fail_here(xs, XMLSTREAM_ERR_TEXT,
	    "CDATA section between top-level elements");
}

static void XMLCALL
xmlstream_comment_cb(void *ud, const XML_Char *data)
{
	struct xmlstream *xs = ud;

	if (!xs->halted)
		xmlstream_fail_here(xs, XMLSTREAM_ERR_RESTRICTED_XML,
		    "comment");
}

static void XMLCALL
xmlstream_pi_cb(void *ud, const XML_Char *target, const XML_Char *data)
{
	struct xmlstream *xs = ud;

	if (!xs->halted)
		xmlstream_fail_here(xs, XMLSTREAM_ERR_RESTRICTED_XML,
		    "processing instruction");
}

static void XMLCALL
xmlstream_doctype_cb(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	struct xmlstream *xs = ud;

	if (!xs->halted)
		xmlstream_fail_here(xs, XMLSTREAM_ERR_RESTRICTED_XML,
		    "document type declaration");
}

/*
 * The XML declaration. The parser is created for UTF-8, which makes expat
 * ignore the declared encoding, so it is checked here.
 */
static void XMLCALL
xmlstream_xmldecl_cb(void *ud, const XML_Char *version,
    const XML_Char *encoding, int standalone)
{
	struct xmlstream *xs = ud;

	if (xs->halted || encoding == NULL ||
	    strcasecmp(encoding, "UTF-8") == 0)
		return;
	xmlstream_fail(xs, XMLSTREAM_ERR_UNSUPPORTED_ENCODING,
	    "declared encoding '%.64s' is not UTF-8", encoding);
}

/* Remembers the content namespace the stream header declares. */
static void XMLCALL
xmlstream_nsdecl_cb(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
	struct xmlstream *xs = ud;

	if (xs->halted || xs->depth != 0 || prefix != NULL || uri == NULL)
		return;
	free(xs->content_ns);
	xs->content_ns = xstrdup(uri);
}

/* Turns an error expat reported into ours. */
static void
xmlstream_expat_error(struct xmlstream *xs)
{
	enum XML_Error code = XML_GetErrorCode(xs->p);
	enum xmlstream_err e;

	switch (code) {
	case XML_ERROR_UNDEFINED_ENTITY:
	case XML_ERROR_MISPLACED_XML_PI:
	case XML_ERROR_RECURSIVE_ENTITY_REF:
	case XML_ERROR_ASYNC_ENTITY:
	case XML_ERROR_BINARY_ENTITY_REF:
	case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
	case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
	case XML_ERROR_ENTITY_DECLARED_IN_PE:
	case XML_ERROR_NOT_STANDALONE:
		e = XMLSTREAM_ERR_RESTRICTED_XML;
		break;
	case XML_ERROR_UNKNOWN_ENCODING:
	case XML_ERROR_INCORRECT_ENCODING:
		e = XMLSTREAM_ERR_UNSUPPORTED_ENCODING;
		break;
	case XML_ERROR_UNBOUND_PREFIX:
	case XML_ERROR_UNDECLARING_PREFIX:
	case XML_ERROR_RESERVED_PREFIX_XML:
	case XML_ERROR_RESERVED_PREFIX_XMLNS:
	case XML_ERROR_RESERVED_NAMESPACE_URI:
		e = XMLSTREAM_ERR_BAD_NAMESPACE_PREFIX;
		break;
	case XML_ERROR_JUNK_AFTER_DOC_ELEMENT:
		e = XMLSTREAM_ERR_AFTER_CLOSE;
		break;
	default:
		e = XMLSTREAM_ERR_NOT_WELL_FORMED;
		break;
	}
	xs->halted = true; /* expat stopped by itself */
	xmlstream_fail(xs, e, "%s at line %lu column %lu",
	    XML_ErrorString(code),
	    (unsigned long)XML_GetCurrentLineNumber(xs->p),
	    (unsigned long)XML_GetCurrentColumnNumber(xs->p));
}

/*
 * After the slice was parsed: hands out pending whitespace, enforces the
 * element limit on what is still undelivered, and keeps those bytes in the
 * lookback buffer for the next slice.
 */
static void
xmlstream_slice_done(struct xmlstream *xs)
{
	uint64_t pending;

	xmlstream_flush_space(xs);
	if (xs->halted)
		return;
	pending = xs->fed - xs->delivered;
	if (pending > xs->max) {
		xmlstream_fail(xs, XMLSTREAM_ERR_TOO_BIG,
		    "%llu bytes without a complete element exceed %zu",
		    (unsigned long long)pending, xs->max);
		return;
	}
	if (xs->delivered >= xs->cur_abs) {
		/* Nothing older is needed: keep just the tail. */
		size_t off = (size_t)(xs->delivered - xs->cur_abs);

		buf_reset(&xs->lb);
		if (off == xs->cur_len && xs->lb.cap > XMLSTREAM_KEEP)
			buf_fini(&xs->lb);
		buf_add(&xs->lb, xs->cur + off, xs->cur_len - off);
		xs->lb_base = xs->delivered;
	} else {
		buf_add(&xs->lb, xs->cur + xs->cur_copied,
		    xs->cur_len - xs->cur_copied);
		if (xs->delivered > xs->lb_base) {
			buf_consume(&xs->lb,
			    (size_t)(xs->delivered - xs->lb_base));
			xs->lb_base = xs->delivered;
		}
	}
	if (xs->text.len == 0 && xs->text.cap > XMLSTREAM_KEEP)
		buf_fini(&xs->text);
}

static enum xmlstream_slice
xmlstream_parse_slice(struct xmlstream *xs, const char *s, size_t n)
{
	enum XML_Status st;

	xs->cur = s;
	xs->cur_abs = xs->fed;
	xs->cur_len = n;
	xs->cur_copied = 0;
	xs->fed += n;
	st = XML_Parse(xs->p, s, (int)n, XML_FALSE);
	if (xs->err == XMLSTREAM_ERR_NONE && !xs->halted &&
	    st != XML_STATUS_OK)
		xmlstream_expat_error(xs);
	if (!xs->halted)
		xmlstream_slice_done(xs);
	if (xs->err != XMLSTREAM_ERR_NONE)
		return XMLSTREAM_SLICE_ERROR;
	if (xs->stopped)
		return XMLSTREAM_SLICE_STOP;
	if (xs->closed)
		return XMLSTREAM_SLICE_CLOSED;
	return XMLSTREAM_SLICE_OK;
}

/* Bytes after </stream:stream>: whitespace is ignored, the rest an error. */
static int
xmlstream_after_close(struct xmlstream *xs, const char *buf, size_t len)
{
	if (xmlstream_is_space(buf, len))
		return 0;
	xmlstream_fail(xs, XMLSTREAM_ERR_AFTER_CLOSE,
	    "data after the stream was closed");
	return -1;
}

/* Offset in the current feed just after the last delivered byte. */
static size_t
xmlstream_consumed(const struct xmlstream *xs, uint64_t feed_abs,
    uint64_t end)
{
	return end > feed_abs ? (size_t)(end - feed_abs) : 0;
}

int
xmlstream_feed(struct xmlstream *xs, const char *buf, size_t len,
    size_t *consumed)
{
	uint64_t feed_abs = xs->fed;
	size_t off = 0;

	*consumed = 0;
	if (xs->err != XMLSTREAM_ERR_NONE)
		return -1;
	if (xs->stopped)
		fatalx("xmlstream_feed after STOP without a reset");
	if (xs->closed) {
		if (xmlstream_after_close(xs, buf, len) < 0)
			return -1;
		*consumed = len;
		return 0;
	}
	while (off < len) {
		size_t n = len - off < XMLSTREAM_SLICE ? len - off
						       : XMLSTREAM_SLICE;
		size_t good = utf8_scan(&xs->u8, buf + off, n), after;
		const char *nul = memchr(buf + off, '\0', good);

		/*
		 * NUL is never XML. Rejecting it here also keeps expat from
		 * switching to UTF-16 on a document that starts "<\0" or
		 * "\0<", which it does even when told the input is UTF-8.
		 */
		if (nul != NULL)
			good = (size_t)(nul - (buf + off));
		switch (xmlstream_parse_slice(xs, buf + off, good)) {
		case XMLSTREAM_SLICE_OK:
			break;
		case XMLSTREAM_SLICE_STOP:
			*consumed = xmlstream_consumed(xs, feed_abs,
			    xs->stop_at);
			return 0;
		case XMLSTREAM_SLICE_ERROR:
			*consumed = xmlstream_consumed(xs, feed_abs,
			    xs->delivered);
			return -1;
		case XMLSTREAM_SLICE_CLOSED:
			after = xmlstream_consumed(xs, feed_abs, xs->delivered);
			if (xmlstream_after_close(xs, buf + after,
			    len - after) < 0) {
				*consumed = after;
				return -1;
			}
			*consumed = len;
			return 0;
		}
		if (good < n) {
			xmlstream_fail(xs, nul != NULL
				? XMLSTREAM_ERR_NOT_WELL_FORMED
				: XMLSTREAM_ERR_UNSUPPORTED_ENCODING,
			    "%s at offset %llu",
			    nul != NULL ? "NUL byte" : "invalid UTF-8",
			    (unsigned long long)xs->fed);
			*consumed = xmlstream_consumed(xs, feed_abs,
			    xs->delivered);
			return -1;
		}
		off += n;
	}
	*consumed = len;
	return 0;
}

/* Installs handlers and options; needed after every XML_ParserReset. */
static void
xmlstream_setup(struct xmlstream *xs)
{
	XML_Parser p = xs->p;

	XML_SetReturnNSTriplet(p, XML_TRUE);
	XML_SetUserData(p, xs);
	XML_SetElementHandler(p, xmlstream_start_cb, xmlstream_end_cb);
	XML_SetCharacterDataHandler(p, xmlstream_text_cb);
	XML_SetStartCdataSectionHandler(p, xmlstream_cdata_cb);
	XML_SetCommentHandler(p, xmlstream_comment_cb);
	XML_SetProcessingInstructionHandler(p, xmlstream_pi_cb);
	XML_SetStartDoctypeDeclHandler(p, xmlstream_doctype_cb);
	XML_SetXmlDeclHandler(p, xmlstream_xmldecl_cb);
	XML_SetStartNamespaceDeclHandler(p, xmlstream_nsdecl_cb);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	/* Deferral would hold back a stanza split across reads (above). */
	if (XML_SetReparseDeferralEnabled != NULL)
		(void)XML_SetReparseDeferralEnabled(p, XML_FALSE);
}

/*
 * Clears the per-document state. The parser, callbacks, limit and the two
 * scratch buffers (unless grown large) are kept; everything else is zero.
 */
static void
xmlstream_clear(struct xmlstream *xs)
{
	struct xmlstream keep = *xs;

	xnode_free(xs->el);
	free(xs->content_ns);
	memset(xs, 0, sizeof(*xs));
	xs->p = keep.p;
	xs->cbs = keep.cbs;
	xs->arg = keep.arg;
	xs->max = keep.max;
	xs->lb = keep.lb;
	xs->text = keep.text;
	utf8_init(&xs->u8);
	buf_reset(&xs->lb);
	if (xs->lb.cap > XMLSTREAM_KEEP)
		buf_fini(&xs->lb);
	buf_reset(&xs->text);
	if (xs->text.cap > XMLSTREAM_KEEP)
		buf_fini(&xs->text);
}

struct xmlstream *
xmlstream_new(const struct xmlstream_cbs *cbs, void *arg,
    size_t max_element_bytes)
{
	struct xmlstream *xs = xcalloc(1, sizeof(*xs));

	xs->cbs = *cbs;
	xs->arg = arg;
	xs->max = max_element_bytes;
	buf_init(&xs->lb);
	buf_init(&xs->text);
	xs->p = XML_ParserCreate_MM("UTF-8", &xmlstream_mem,
	    (const XML_Char[]){ XMLSTREAM_NSSEP, '\0' });
	if (xs->p == NULL)
		fatalx("cannot create an XML parser");
	xmlstream_clear(xs);
	xmlstream_setup(xs);
	return xs;
}

void
xmlstream_free(struct xmlstream *xs)
{
	if (xs == NULL)
		return;
	xmlstream_clear(xs);
	buf_fini(&xs->lb);
	buf_fini(&xs->text);
	XML_ParserFree(xs->p);
	free(xs);
}

void
xmlstream_set_max(struct xmlstream *xs, size_t max_element_bytes)
{
	xs->max = max_element_bytes;
}

void
xmlstream_reset(struct xmlstream *xs)
{
	if (!XML_ParserReset(xs->p, "UTF-8"))
		fatalx("cannot reset the XML parser");
	xmlstream_clear(xs);
	xmlstream_setup(xs);
}

enum xmlstream_err
xmlstream_error(const struct xmlstream *xs)
{
	return xs->err;
}

const char *
xmlstream_error_detail(const struct xmlstream *xs)
{
	return xs->err != XMLSTREAM_ERR_NONE ? xs->detail : "";
}

bool
xmlstream_is_open(const struct xmlstream *xs)
{
	return xs->open;
}

bool
xmlstream_is_closed(const struct xmlstream *xs)
{
	return xs->closed;
}

const char *
xmlstream_content_ns(const struct xmlstream *xs)
{
	return xs->content_ns;
}
