/* SPDX-License-Identifier: ISC */
/*
 * JID mapping: an ordered list of pairs, each full, bare or domain-only,
 * tried in order (the user's --map pairs first, then the session's own),
 * the first whose OLD covers the JID wins. Parts compare as RFC 7622 says
 * servers fold them for ASCII: local part and domain without case, the
 * resource exactly.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jid.h"
#include "jidmap.h"
#include "xmalloc.h"

struct jidmap_pair {
	struct jid from; /* owned parts */
	struct jid to;
};

struct jidmap {
	struct jidmap_pair *p;
	size_t n;
};

/* Elements whose text is for people: never rewritten. */
static const char *const jidmap_human[] = {
    "body", "subject", "status", "thread", "desc", "text", NULL};

/* Attributes that always hold a JID when present. */
static const char *const jidmap_attrs[] = {"to", "from", "jid", "by", NULL};

struct jidmap *
jidmap_new(void)
{
	return xcalloc(1, sizeof(struct jidmap));
}

void
jidmap_free(struct jidmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		jid_fini(&m->p[i].from);
		jid_fini(&m->p[i].to);
	}
	free(m->p);
	free(m);
}

static bool
jidmap_ieq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcasecmp(a, b) == 0;
}

static bool
jidmap_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Adds a pair; -1 when either side is not a JID. */
static int
jidmap_pair_add(struct jidmap *m, const char *from, const char *to)
{
	struct jidmap_pair pr;

	if (jid_parse(from, &pr.from) == -1)
		return -1;
	if (jid_parse(to, &pr.to) == -1) {
		jid_fini(&pr.from);
		return -1;
	}
	m->p = xreallocarray(m->p, m->n + 1, sizeof(*m->p));
	m->p[m->n++] = pr;
	return 0;
}

int
jidmap_add(struct jidmap *m, const char *from, const char *to)
{
	return jidmap_pair_add(m, from, to);
}

int
jidmap_add_arg(struct jidmap *m, const char *arg, char **err)
{
	const char *eq = strchr(arg, '=');
	char *from;
	int rc;

	if (eq == NULL || eq == arg || eq[1] == '\0') {
		*err = xasprintf("--map %s: expected OLD=NEW", arg);
		return -1;
	}
	from = xstrndup(arg, (size_t)(eq - arg));
	rc = jidmap_add(m, from, eq + 1);
	free(from);
	if (rc == -1)
		*err = xasprintf("--map %s: not a pair of JIDs", arg);
	return rc;
}

void
jidmap_set_session(struct jidmap *m, const char *old_full, const char *new_full)
{
	struct jid o, n;
	char *ob, *nb;

	if (old_full == NULL || new_full == NULL ||
	    jid_parse(old_full, &o) == -1)
		return;
	if (jid_parse(new_full, &n) == -1) {
		jid_fini(&o);
		return;
	}
	if (o.resource != NULL && n.resource != NULL)
		jidmap_pair_add(m, old_full, new_full);
	ob = jid_bare(old_full);
	nb = jid_bare(new_full);
	jidmap_pair_add(m, ob, nb);
	if (!jidmap_ieq(o.domain, n.domain))
		jidmap_pair_add(m, o.domain, n.domain);
	free(ob);
	free(nb);
	jid_fini(&o);
	jid_fini(&n);
}

/* Whether pair p covers j: same level or a more specific JID. */
static bool
jidmap_covers(const struct jidmap_pair *p, const struct jid *j)
{
	if (!jidmap_ieq(p->from.domain, j->domain))
		return false;
	if (p->from.local == NULL && p->from.resource == NULL)
		return true; /* a domain covers everything in it */
	if (!jidmap_ieq(p->from.local, j->local))
		return false;
	return p->from.resource == NULL ||
	       jidmap_eq(p->from.resource, j->resource);
}

static char *
jidmap_format(const char *local, const char *domain, const char *resource)
{
	return xasprintf("%s%s%s%s%s", local ? local : "", local ? "@" : "",
	    domain, resource ? "/" : "", resource ? resource : "");
}

char *
jidmap_map(const struct jidmap *m, const char *s)
{
	struct jid j;
	const struct jidmap_pair *p = NULL;
	const char *local, *res;
	char *out;
	size_t i;

	if (s == NULL || m->n == 0 || jid_parse(s, &j) == -1)
		return NULL;
	for (i = 0; i < m->n && p == NULL; i++)
		if (jidmap_covers(&m->p[i], &j))
			p = &m->p[i];
	if (p == NULL) {
		jid_fini(&j);
		return NULL;
	}
	if (p->from.local == NULL && p->from.resource == NULL) {
		/* Domain pair: keep the other parts. */
		local = j.local;
		res = j.resource;
	} else {
		local = p->to.local;
		res = p->to.resource != NULL || p->from.resource != NULL
		          ? p->to.resource
		          : j.resource;
	}
	out = jidmap_format(local, p->to.domain, res);
	jid_fini(&j);
	return out;
}

/* Whether s is exactly the OLD of a non-domain pair, or its full form. */
static bool
jidmap_known(const struct jidmap *m, const char *s)
{
	struct jid j;
	size_t i;
	bool found = false;

	if (strchr(s, '@') == NULL || jid_parse(s, &j) == -1)
		return false;
	for (i = 0; i < m->n && !found; i++)
		found =
		    m->p[i].from.local != NULL && jidmap_covers(&m->p[i], &j);
	jid_fini(&j);
	return found;
}

static bool
jidmap_in(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* Replaces *value with its mapping when there is one. */
static void
jidmap_value(const struct jidmap *m, char **value)
{
	char *mapped = jidmap_map(m, *value);

	if (mapped != NULL) {
		free(*value);
		*value = mapped;
	}
}

/* The single text child of n when n holds only text, else NULL. */
static struct xnode *
jidmap_only_text(struct xnode *n)
{
	if (n->children == NULL || n->children != n->last_child ||
	    n->children->type != XNODE_TEXT)
		return NULL;
	return n->children;
}

void
jidmap_tree(const struct jidmap *m, struct xnode *n)
{
	struct xnode *c, *t;
	size_t i;

	if (n->type != XNODE_ELEMENT)
		return;
	for (i = 0; i < n->nattrs; i++) {
		struct xattr *a = &n->attrs[i];

		if (a->ns != NULL)
			continue;
		if (jidmap_in(jidmap_attrs, a->name) ||
		    jidmap_known(m, a->value))
			jidmap_value(m, &a->value);
	}
	if (!jidmap_in(jidmap_human, n->name) &&
	    (t = jidmap_only_text(n)) != NULL &&
	    (strcmp(n->name, "jid") == 0 || jidmap_known(m, t->text))) {
		jidmap_value(m, &t->text);
		t->textlen = strlen(t->text);
	}
	for (c = n->children; c != NULL; c = c->next)
		jidmap_tree(m, c);
}

/* Whether the parsed JIDs are the same; resources compared unless bare. */
static bool
jidmap_parts_same(const struct jid *x, const struct jid *y, bool bare)
{
	return jidmap_ieq(x->local, y->local) &&
	       strcasecmp(x->domain, y->domain) == 0 &&
	       (bare || jidmap_eq(x->resource, y->resource));
}

static bool
jidmap_compare(const char *a, const char *b, bool bare)
{
	struct jid x, y;
	bool same;

	if (a == NULL || b == NULL || jid_parse(a, &x) == -1)
		return false;
	if (jid_parse(b, &y) == -1) {
		jid_fini(&x);
		return false;
	}
	same = jidmap_parts_same(&x, &y, bare);
	jid_fini(&x);
	jid_fini(&y);
	return same;
}

bool
jidmap_same(const char *a, const char *b)
{
	return jidmap_compare(a, b, false);
}

bool
jidmap_same_bare(const char *a, const char *b)
{
	return jidmap_compare(a, b, true);
}
