/* SPDX-License-Identifier: ISC */
/*
 * The view of one depth-1 element that content filters use: its kind and
 * addressing attributes, and every place where a recipient could read text
 * (XMPP-NOTES.md section 9), decoded, with a rewrite that edits the tree so a
 * place's text becomes exactly the substituted string. Places are found by a
 * full walk of the tree with generous name matching, so text cannot hide in
 * nested (forwarded, carbon, MAM) messages, in another xml:lang, across
 * XHTML tags or behind character references. It does no matching itself,
 * does not look inside end-to-end encrypted payloads, and gives nonzas no
 * places (servers do not route their content to anyone).
 */
#ifndef XMPPGATE_STANZA_H
#define XMPPGATE_STANZA_H

#include <stdbool.h>
#include <stddef.h>

#include "xnode.h"

#define STANZA_NS_XHTML_IM "http://jabber.org/protocol/xhtml-im"
#define STANZA_NS_XHTML "http://www.w3.org/1999/xhtml"
#define STANZA_NS_X_OOB "jabber:x:oob"
#define STANZA_NS_IQ_OOB "jabber:iq:oob"
#define STANZA_NS_REFERENCE "urn:xmpp:reference:0"

/* A depth-1 message, presence or iq in jabber:client; anything else. */
enum stanza_kind {
	STANZA_MESSAGE,
	STANZA_PRESENCE,
	STANZA_IQ,
	STANZA_NONZA,
};

/*
 * One place where content lives. Labels (`what`), all found at any depth:
 *   "body", "subject"     child of any element named message (any ns)
 *   "status"              child of any element named presence (any ns)
 *   "xhtml"               a body in the XHTML namespace (XHTML-IM), not
 *                         inside another one: all its descendant text
 *   "oob-url", "oob-desc" url/desc child of a jabber:x:oob or jabber:iq:oob
 *                         element (XEP-0066)
 *   "attr:href", "attr:src"  on the XHTML body or any element inside it
 *   "attr:uri"            on a urn:xmpp:reference:0 reference (XEP-0372/0385)
 *   "attr:NAME"           an extra attribute the caller asked for, anywhere
 * An element place's text is all text beneath the element, concatenated in
 * document order (`f<b>or</b>bidden` is "forbidden"). Attributes in the xml
 * namespace (xml:lang) are never places; each attribute is at most one place.
 * An XHTML body that is also a message's body is labelled "body". nested
 * counts the message and presence elements below the root that enclose the
 * place, whatever wraps them: a carbon's or MAM result's message is 1, a
 * message forwarded inside that one 2.
 */
struct stanza_place {
	const char *what; /* label above; static or owned by the stanza */
	const char *attr; /* attribute places: local name; NULL for text */
	const char *lang; /* xml:lang in effect here (inherited), or NULL */
	unsigned nested;  /* 0: the stanza's own; see above */
	char *text;       /* owned: decoded, NUL-terminated */
	size_t len;
	/* Private to stanza.c and stanza_replace.c. */
	struct xnode *node; /* borrowed: element holding the text or attr */
	size_t attr_index;  /* attribute places: index in node->attrs */
};

/*
 * Strings (type, id, from, to, lang, attr) are borrowed from the tree: the
 * caller must not edit the tree but through stanza_replace() while the
 * stanza lives, and must keep it alive until stanza_fini().
 */
struct stanza {
	struct xnode *el; /* borrowed */
	enum stanza_kind kind;
	const char *type; /* attributes of el, NULL when absent */
	const char *id;
	const char *from;
	const char *to;
	struct stanza_place *places; /* owned; document order */
	size_t nplaces;
	/* Private to stanza.c and stanza_replace.c. */
	size_t cap;
	const char *const *extra; /* borrowed for the stanza's life */
	char **extra_what;        /* owned: "attr:NAME" labels, made lazily */
};

/* One substitution in a place's text: bytes [start, end) become repl. */
struct stanza_span {
	size_t start;
	size_t end;
	const char *repl; /* UTF-8; not NUL-terminated */
	size_t repl_len;
};

const char *stanza_kind_str(enum stanza_kind);
/* The kind of a depth-1 element: message, presence or iq in jabber:client;
 * anything else is a nonza. */
enum stanza_kind stanza_kind_of(const struct xnode *el);

/*
 * Builds the view of el in one walk. extra_attrs is a NULL-terminated list
 * of attribute local names (any namespace but xml) that are places wherever
 * they occur, or NULL; it is borrowed until stanza_fini(). Nonzas get no
 * places and no walk.
 */
void stanza_init(
    struct stanza *, struct xnode *el, const char *const *extra_attrs);
/* Frees the places; the tree stays the caller's. */
void stanza_fini(struct stanza *);

/* type, or the RFC 6121 default: "normal" (message), "available" (presence). */
const char *stanza_effective_type(const struct stanza *);

/*
 * True when any element of the tree, the root included, is in namespace ns
 * (NULL: any) with local name name (NULL: any). Works on nonzas too.
 */
bool stanza_has(const struct stanza *, const char *ns, const char *name);

/*
 * Replaces, in place i, the spans of its text (sorted, non-overlapping,
 * within the text, on UTF-8 character boundaries: anything else is a bug and
 * aborts) and edits the tree so that the place's text becomes exactly the
 * substituted string. Element structure is kept: a span crossing tags puts
 * its whole replacement into the text node holding its first byte and
 * removes its other characters from the following nodes; an empty span
 * between two nodes inserts into the later one, one at the very end into the
 * last node (or a new text node appended to the element when it has none).
 * Text nodes left empty are removed. Attribute places get a new value. From
 * replacements, bytes that are not valid UTF-8 and characters that XML 1.0
 * forbids (NUL and the other C0 controls but tab, LF and CR; U+FFFE, U+FFFF)
 * are dropped, so the tree holds only what the serializer writes. The cached
 * text of the place, and of any place overlapping it, is read again: earlier
 * text pointers are invalid afterwards.
 */
void stanza_replace(
    struct stanza *, size_t i, const struct stanza_span *, size_t nspans);

#endif
