/* SPDX-License-Identifier: ISC */
/*
 * A small XML tree: what the stream parser builds for each depth-1 element,
 * what filters read, what redaction and rewrites edit, and what is serialized
 * again when (and only when) an element was changed. Text is stored decoded
 * (entities, character references and CDATA resolved). It does not parse.
 */
#ifndef XMPPGATE_XNODE_H
#define XMPPGATE_XNODE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define XNODE_NS_XML "http://www.w3.org/XML/1998/namespace"

enum xnode_type {
	XNODE_ELEMENT,
	XNODE_TEXT,
};

struct xattr {
	char *ns;     /* owned; NULL for an unqualified attribute */
	char *prefix; /* owned; prefix seen in the original, or NULL */
	char *name;   /* owned; local name */
	char *value;  /* owned; decoded */
};

struct xnode {
	enum xnode_type type;
	char *ns;     /* element: owned namespace URI, NULL when none */
	char *prefix; /* element: owned prefix seen in the original, or NULL */
	char *name;   /* element: owned local name */
	struct xattr *attrs; /* element: owned array */
	size_t nattrs;
	char *text; /* text: owned, decoded, NUL-terminated */
	size_t textlen;
	struct xnode *parent; /* borrowed */
	struct xnode *children; /* owned list */
	struct xnode *last_child; /* borrowed: tail of children */
	struct xnode *next; /* owned by parent's list */
};

struct xnode *xnode_new_element(const char *ns, const char *name);
struct xnode *xnode_new_text(const char *text, size_t len);
void xnode_free(struct xnode *); /* frees the subtree; NULL is a no-op */
struct xnode *xnode_clone(const struct xnode *);
/* Appends child (ownership passes to parent); returns child. */
struct xnode *xnode_append(struct xnode *parent, struct xnode *child);
/* Appends text, merging with a trailing text child. */
void xnode_append_text(struct xnode *parent, const char *text, size_t len);
/* Detaches n from its parent (caller owns it afterwards). */
void xnode_unlink(struct xnode *n);
/* Removes and frees n from its parent. */
void xnode_remove(struct xnode *n);

/*
 * Sets or replaces an attribute (ns NULL: unqualified); a NULL value removes
 * it. Attributes in XNODE_NS_XML are written with the prefix xml.
 */
void xnode_set_attr(struct xnode *, const char *ns, const char *name,
    const char *value);
/* Value of the attribute, NULL when absent. ns NULL means unqualified. */
const char *xnode_attr(const struct xnode *, const char *name);
const char *xnode_attr_ns(const struct xnode *, const char *ns,
    const char *name);

/* True when n is an element with this local name (and ns, unless NULL). */
bool xnode_is(const struct xnode *n, const char *ns, const char *name);
/* First child element matching (ns NULL matches any namespace). */
struct xnode *xnode_child(const struct xnode *, const char *ns,
    const char *name);
/* Next sibling element after `after` matching ns/name (NULL: any). */
struct xnode *xnode_next(const struct xnode *after, const char *ns,
    const char *name);
/* Concatenated text of all descendant text nodes, xmalloc'd. */
char *xnode_text(const struct xnode *);
/* Appends the concatenated descendant text to b. */
void xnode_text_buf(const struct xnode *, struct buf *b);

/*
 * Serializes n as XML into b, escaped so the result is well-formed and
 * restricted-XML clean (characters XML forbids are never written).
 * default_ns is the default namespace in scope where the output will be
 * placed (e.g. "jabber:client" inside a client stream); an element in that
 * namespace gets no xmlns attribute. Prefixed elements keep their prefix and
 * get a declaration. Attributes in the XML namespace are written as xml:*.
 */
void xnode_serialize(const struct xnode *n, const char *default_ns,
    struct buf *b);
/* Same, indented by `indent` spaces per level, for humans (trace). */
void xnode_serialize_pretty(const struct xnode *n, const char *default_ns,
    int indent, struct buf *b);
/* Escapes text for character data (quote=false) or attribute values. */
void xnode_escape(struct buf *b, const char *s, size_t len, bool quote);

#endif
