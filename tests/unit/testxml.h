/* SPDX-License-Identifier: ISC */
/*
 * Test helper: one depth-1 element parsed by the real stream parser, so the
 * trees tests use are decoded exactly as in the daemon (entities, character
 * references, CDATA), optionally with the bytes cut in two as a socket
 * might deliver them.
 */
#ifndef XMPPGATE_TESTXML_H
#define XMPPGATE_TESTXML_H

#include <stddef.h>

#include "xnode.h"

/* The client stream header the element is parsed in. */
#define TESTXML_HEADER                                                         \
	"<stream:stream xmlns='jabber:client' "                                \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.org' "    \
	"version='1.0'>"

/* The element xml parses to (the caller owns it), or NULL with a
 * diagnostic on stderr when it does not parse to exactly one element. */
struct xnode *testxml_parse(const char *xml);
/* The same, with xml fed in two reads cut after `split` bytes. */
struct xnode *testxml_parse_split(const char *xml, size_t split);
/* n serialized as the proxy forwards it (xmalloc'd). */
char *testxml_serialize(const struct xnode *n);

#endif
