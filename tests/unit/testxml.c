/* SPDX-License-Identifier: ISC */
/*
 * Parsing test elements with xmlstream: a header, then the element's bytes
 * in one or two feeds; the tree of the (single) element comes back.
 */
#include <stdio.h>
#include <string.h>

#include "testxml.h"
#include "xmlstream.h"

struct testxml_got {
	struct xnode *el; /* owned until handed to the caller */
	int count;
};

static int
testxml_open(void *arg, const struct xnode *root, const char *b, size_t n)
{
	return XMLSTREAM_CONTINUE;
}

static int
testxml_element(void *arg, struct xnode *el, const char *b, size_t n)
{
	struct testxml_got *got = arg;

	xnode_free(got->el);
	got->el = el;
	got->count++;
	return XMLSTREAM_CONTINUE;
}

static const struct xmlstream_cbs testxml_cbs = {
    .on_open = testxml_open,
    .on_element = testxml_element,
};

struct xnode *
testxml_parse_split(const char *xml, size_t split)
{
	struct testxml_got got = {NULL, 0};
	struct xmlstream *xs = xmlstream_new(&testxml_cbs, &got, 1 << 20);
	size_t len = strlen(xml), consumed;
	int rc;

	if (split > len)
		split = len;
	rc = xmlstream_feed(
	    xs, TESTXML_HEADER, strlen(TESTXML_HEADER), &consumed);
	if (rc == 0)
		rc = xmlstream_feed(xs, xml, split, &consumed);
	if (rc == 0)
		rc = xmlstream_feed(xs, xml + split, len - split, &consumed);
	if (rc != 0 || got.count != 1) {
		fprintf(stderr, "# testxml: %s: %s (%d elements)\n", xml,
		    rc != 0 ? xmlstream_error_detail(xs) : "parsed", got.count);
		xnode_free(got.el);
		got.el = NULL;
	}
	xmlstream_free(xs);
	return got.el;
}

struct xnode *
testxml_parse(const char *xml)
{
	return testxml_parse_split(xml, strlen(xml));
}

char *
testxml_serialize(const struct xnode *n)
{
	struct buf b;

	buf_init(&b);
	xnode_serialize(n, XMLSTREAM_NS_CLIENT, &b);
	return buf_release(&b);
}
