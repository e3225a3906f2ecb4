/* SPDX-License-Identifier: ISC */
/*
 * Secret redaction on the parsed tree (XMPP-NOTES.md section 10). A table of
 * (namespace, element) rules says what each secret-bearing element hides: all
 * the text beneath it (SASL payloads, passwords, SCRAM-upgrade hashes), the
 * <value>s of a secret data-form field, an HTTP upload header, or one
 * attribute (FAST tokens, extdisco passwords). The tree is searched to any
 * depth, so secrets nested in iq, message or forwarded copies are found.
 * redact_needed() is a read-only walk with no allocation, run on every
 * element; redact_copy() clones only when it would find something. Text that
 * carries nothing (empty, whitespace, or the SASL "=" that means an empty
 * payload) is not a secret and is left as it is, so <auth mechanism='X'/> and
 * <response>=</response> need no copy; nor does a redacted copy, since the
 * mark is not a secret either. It does not look at raw bytes, at
 * secrets in URLs (signed upload PUT URLs), or at end-to-end encrypted data.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redact.h"
#include "xmalloc.h"
#include "xnode.h"

#define NS_SASL1 "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_SASL2 "urn:xmpp:sasl:2"
#define NS_SCRAM_UPGRADE "urn:xmpp:scram-upgrade:0"
#define NS_FAST "urn:xmpp:fast:0"
#define NS_IQ_AUTH "jabber:iq:auth"
#define NS_IQ_REGISTER "jabber:iq:register"
#define NS_XDATA "jabber:x:data"
#define NS_EXTDISCO1 "urn:xmpp:extdisco:1"
#define NS_EXTDISCO2 "urn:xmpp:extdisco:2"
#define NS_UPLOAD "urn:xmpp:http:upload:0"
#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum redact_kind {
	RK_TEXT,   /* every text node beneath the element */
	RK_FIELD,  /* the <value>s of a data-form field, when it is secret */
	RK_HEADER, /* an HTTP upload header, when it carries credentials */
	RK_ATTR,   /* one unqualified attribute of the element */
};

struct redact_rule {
	const char *ns;
	const char *name; /* NULL: any element of ns */
	enum redact_kind kind;
	const char *attr; /* RK_ATTR only */
};

/*
 * Beyond the list in XMPP-NOTES.md: MUC room passwords (join and invite),
 * which are secrets of the same kind as a register <password>.
 */
static const struct redact_rule rules[] = {
	{ NS_SASL1, "auth", RK_TEXT, NULL },
	{ NS_SASL1, "challenge", RK_TEXT, NULL },
	{ NS_SASL1, "response", RK_TEXT, NULL },
	{ NS_SASL1, "success", RK_TEXT, NULL },
	{ NS_SASL2, "initial-response", RK_TEXT, NULL },
	{ NS_SASL2, "response", RK_TEXT, NULL },
	{ NS_SASL2, "challenge", RK_TEXT, NULL },
	{ NS_SASL2, "additional-data", RK_TEXT, NULL },
	/* Task payloads (XEP-0388) of any task type: opaque, assume secret. */
	{ NS_SASL2, "task-data", RK_TEXT, NULL },
	{ NS_SASL2, "next", RK_TEXT, NULL },
	/* XEP-0480: the salted password, usable in place of the password. */
	{ NS_SCRAM_UPGRADE, "hash", RK_TEXT, NULL },
	{ NS_FAST, NULL, RK_ATTR, "token" },
	{ NS_IQ_AUTH, "password", RK_TEXT, NULL },
	{ NS_IQ_AUTH, "digest", RK_TEXT, NULL },
	{ NS_IQ_REGISTER, "password", RK_TEXT, NULL },
	{ NS_XDATA, "field", RK_FIELD, NULL },
	{ NS_EXTDISCO1, "service", RK_ATTR, "password" },
	{ NS_EXTDISCO2, "service", RK_ATTR, "password" },
	{ NS_UPLOAD, "header", RK_HEADER, NULL },
	{ NS_MUC, "password", RK_TEXT, NULL },
	{ NS_MUC_USER, "password", RK_TEXT, NULL },
};

/*
 * Data-form field names whose values are secrets whatever the field type: a
 * submitted form (type='submit') usually omits the type, so text-private
 * alone would miss them. Push (XEP-0357) publish-options use "secret".
 */
static const char *const secret_fields[] = {
	"password",
	"old_password",
	"new_password",
	"secret",
	"token",
	"muc#roomconfig_roomsecret",
};

/* HTTP upload (XEP-0363) headers that carry credentials. */
static const char *const secret_headers[] = {
	"Authorization",
	"Cookie",
};

/* The next node of a pre-order walk of root's subtree, or NULL at the end. */
static struct xnode *
walk_next(const struct xnode *n, const struct xnode *root)
{
	if (n->type == XNODE_ELEMENT && n->children != NULL)
		return n->children;
	while (n != root) {
		if (n->next != NULL)
			return n->next;
		n = n->parent;
	}
	return NULL;
}

/*
 * True when s hides something: not empty, blank, the SASL "=" or the mark
 * itself (so a redacted copy needs no further redaction).
 */
static bool
is_payload(const char *s)
{
	bool eq = false;

	if (s == NULL || strcmp(s, REDACT_MARK) == 0)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			continue;
		if (*s == '=' && !eq) {
			eq = true;
			continue;
		}
		return true;
	}
	return false;
}

/*
 * Looks at (or, when apply, replaces) every text node beneath el. Returns
 * true when one holds a payload.
 */
static bool
text_secret(struct xnode *el, bool apply)
{
	struct xnode *n;
	bool found = false;

	for (n = el; n != NULL; n = walk_next(n, el)) {
		if (n->type != XNODE_TEXT || !is_payload(n->text))
			continue;
		found = true;
		if (!apply)
			break;
		free(n->text);
		n->text = xstrdup(REDACT_MARK);
		n->textlen = strlen(REDACT_MARK);
	}
	return found;
}

static bool
name_in(const char *s, const char *const *list, size_t n, bool nocase)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < n; i++)
		if ((nocase ? strcasecmp(s, list[i]) : strcmp(s, list[i])) == 0)
			return true;
	return false;
}

static bool
field_is_secret(const struct xnode *field)
{
	const char *type = xnode_attr(field, "type");

	if (type != NULL && strcmp(type, "text-private") == 0)
		return true;
	return name_in(xnode_attr(field, "var"), secret_fields,
	    NELEM(secret_fields), false);
}

/* Applies rule r to el; returns true when el held a secret under r. */
static bool
rule_apply(const struct redact_rule *r, struct xnode *el, bool apply)
{
	struct xnode *v;
	struct xattr *a;
	bool found = false;
	size_t i;

	switch (r->kind) {
	case RK_TEXT:
		return text_secret(el, apply);
	case RK_HEADER:
		if (!name_in(xnode_attr(el, "name"), secret_headers,
			NELEM(secret_headers), true))
			return false;
		return text_secret(el, apply);
	case RK_FIELD:
		if (!field_is_secret(el))
			return false;
		for (v = xnode_child(el, NS_XDATA, "value"); v != NULL;
		     v = xnode_next(v, NS_XDATA, "value")) {
			if (text_secret(v, apply)) {
				found = true;
				if (!apply)
					break;
			}
		}
		return found;
	case RK_ATTR:
		for (i = 0; i < el->nattrs; i++) {
			a = &el->attrs[i];
			if (a->ns != NULL || strcmp(a->name, r->attr) != 0 ||
			    a->value == NULL || a->value[0] == '\0' ||
			    strcmp(a->value, REDACT_MARK) == 0)
				continue;
			found = true;
			if (!apply)
				break;
			free(a->value);
			a->value = xstrdup(REDACT_MARK);
		}
		return found;
	}
	return false;
}

/*
 * Walks root's subtree and matches each element against the rules. Without
 * apply it stops at the first secret and changes nothing (root is then only
 * read, whatever its type says); with apply it redacts every secret in place.
 */
static bool
redact_walk(struct xnode *root, bool apply)
{
	const struct redact_rule *r;
	struct xnode *n;
	bool found = false;
	size_t i;

	for (n = root; n != NULL; n = walk_next(n, root)) {
		if (n->type != XNODE_ELEMENT || n->ns == NULL)
			continue;
		for (i = 0; i < NELEM(rules); i++) {
			r = &rules[i];
			if (strcmp(n->ns, r->ns) != 0 ||
			    (r->name != NULL && strcmp(n->name, r->name) != 0))
				continue;
			if (rule_apply(r, n, apply)) {
				found = true;
				if (!apply)
					return true;
			}
		}
	}
	return found;
}

bool
redact_needed(const struct xnode *el)
{
	if (el == NULL)
		return false;
	/*
	 * The walk is shared with redact_copy(); with apply false it writes
	 * nothing, so dropping const here cannot modify el.
	 */
	return redact_walk((struct xnode *)(uintptr_t)el, false);
}

struct xnode *
redact_copy(const struct xnode *el)
{
	struct xnode *copy;

	if (!redact_needed(el))
		return NULL;
	copy = xnode_clone(el);
	redact_walk(copy, true);
	return copy;
}
