/* SPDX-License-Identifier: ISC */
/*
 * Server mode's conversation: the recorded client stanzas with their seen
 * flags and live ids, the owner of each recorded server stanza, and a queue
 * of server elements ordered by the time they are due. The rules are in
 * serve.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "log.h"
#include "serve.h"
#include "xmalloc.h"

/* A recorded client stanza. */
struct serve_c2s {
	size_t ev;
	bool seen;
	char *live_id; /* owned: the id the live client used */
};

/* A recorded server stanza and the client stanza it belongs to. */
struct serve_s2c {
	size_t ev;
	size_t owner; /* index into c2s, SIZE_MAX: the bind */
};

struct serve_out {
	size_t s2c;
	double due;
};

struct serve {
	const struct recording *rec; /* borrowed */
	struct jidmap *map;          /* borrowed */
	double speed;
	struct serve_c2s *c2s;
	size_t nc2s;
	struct serve_s2c *s2c;
	size_t ns2c;
	struct serve_out *q; /* sorted by due, stable */
	size_t nq;
	char *resource; /* recorded */
};

static bool
serve_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The client stanza with this id and a kind an answer can have. */
static size_t
serve_owner_by_id(const struct serve *s, const struct xnode *el)
{
	const char *id = xnode_attr(el, "id"), *type = xnode_attr(el, "type");
	enum stanza_kind k = stanza_kind_of(el);
	size_t i;

	if (id == NULL || type == NULL)
		return SIZE_MAX;
	if (strcmp(type, "error") != 0 &&
	    !(k == STANZA_IQ && strcmp(type, "result") == 0))
		return SIZE_MAX;
	for (i = s->nc2s; i-- > 0;) {
		const struct xnode *c =
		    recording_sent(&s->rec->ev[s->c2s[i].ev]);

		if (stanza_kind_of(c) == k &&
		    serve_streq(xnode_attr(c, "id"), id))
			return i;
	}
	return SIZE_MAX;
}

bool
serve_is_session(const struct xnode *el)
{
	return stanza_kind_of(el) == STANZA_IQ &&
	       xnode_child(el, SERVE_NS_SESSION, "session") != NULL;
}

struct serve *
serve_new(const struct recording *rec, struct jidmap *map, double speed)
{
	struct serve *s = xcalloc(1, sizeof(*s));
	const struct recording_event *e;
	const char *session_id = NULL;
	struct jid j;
	size_t i, owner;

	s->rec = rec;
	s->map = map;
	s->speed = speed;
	if (rec->jid != NULL && jid_parse(rec->jid, &j) == 0) {
		if (j.resource != NULL)
			s->resource = xstrdup(j.resource);
		jid_fini(&j);
	}
	for (i = rec->bind < rec->nev ? rec->bind + 1 : 0; i < rec->nev; i++) {
		e = &rec->ev[i];
		if (e->kind != RECORDING_ELEMENT || e->skind == STANZA_NONZA)
			continue;
		if (e->dir == RECORDING_C2S && serve_is_session(e->el)) {
			/* Negotiation: answered by server.c, not played. */
			session_id = xnode_attr(e->el, "id");
		} else if (e->dir == RECORDING_S2C && session_id != NULL &&
		           serve_streq(xnode_attr(e->el, "id"), session_id)) {
			session_id = NULL;
		} else if (e->dir == RECORDING_C2S && !e->by_proxy &&
		           stanza_kind_of(recording_sent(e)) != STANZA_NONZA) {
			s->c2s =
			    xreallocarray(s->c2s, s->nc2s + 1, sizeof(*s->c2s));
			s->c2s[s->nc2s].ev = i;
			s->c2s[s->nc2s].seen = false;
			s->c2s[s->nc2s++].live_id = NULL;
		} else if (e->dir == RECORDING_S2C) {
			owner = serve_owner_by_id(s, e->el);
			if (owner == SIZE_MAX)
				owner = s->nc2s > 0 ? s->nc2s - 1 : SIZE_MAX;
			s->s2c =
			    xreallocarray(s->s2c, s->ns2c + 1, sizeof(*s->s2c));
			s->s2c[s->ns2c].ev = i;
			s->s2c[s->ns2c++].owner = owner;
		}
	}
	return s;
}

void
serve_free(struct serve *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nc2s; i++)
		free(s->c2s[i].live_id);
	free(s->c2s);
	free(s->s2c);
	free(s->q);
	free(s->resource);
	free(s);
}

const char *
serve_recorded_resource(const struct serve *s)
{
	return s->resource;
}

/* Queues the server stanzas owned by owner, delayed from time now. */
static void
serve_queue(struct serve *s, size_t owner, double now)
{
	double base, due;
	size_t i, at;

	base = owner == SIZE_MAX ? s->rec->ev[s->rec->bind].offset
	                         : s->rec->ev[s->c2s[owner].ev].offset;
	for (i = 0; i < s->ns2c; i++) {
		if (s->s2c[i].owner != owner)
			continue;
		due = now;
		if (s->speed > 0 && s->rec->ev[s->s2c[i].ev].offset > base)
			due +=
			    (s->rec->ev[s->s2c[i].ev].offset - base) / s->speed;
		/* Keep the queue sorted, later equals after earlier ones. */
		for (at = s->nq; at > 0 && s->q[at - 1].due > due; at--)
			;
		s->q = xreallocarray(s->q, s->nq + 1, sizeof(*s->q));
		memmove(&s->q[at + 1], &s->q[at], (s->nq - at) * sizeof(*s->q));
		s->q[at].s2c = i;
		s->q[at].due = due;
		s->nq++;
	}
}

void
serve_bound(struct serve *s, const char *jid, double now)
{
	if (s->rec->jid != NULL)
		jidmap_set_session(s->map, s->rec->jid, jid);
	serve_queue(s, SIZE_MAX, now);
}

/* A recorded element's 'to', mapped to the live session (xmalloc'd). */
static char *
serve_mapped_to(const struct serve *s, const struct xnode *el)
{
	const char *to = xnode_attr(el, "to");
	char *mapped;

	if (to == NULL)
		return NULL;
	mapped = jidmap_map(s->map, to);
	return mapped != NULL ? mapped : xstrdup(to);
}

static bool
serve_same_payload(const struct xnode *a, const struct xnode *b)
{
	const struct xnode *x = recording_payload(a), *y = recording_payload(b);

	if (x == NULL || y == NULL)
		return x == y;
	return strcmp(x->name, y->name) == 0 && serve_streq(x->ns, y->ns);
}

/* Whether recorded client stanza rec may stand for the live one. */
static bool
serve_like(const struct serve *s, const struct xnode *rec,
    const struct xnode *live, bool by_to)
{
	enum stanza_kind k = stanza_kind_of(live);
	const char *b;
	char *a;
	bool same;

	if (stanza_kind_of(rec) != k ||
	    strcmp(recording_type(rec), recording_type(live)) != 0)
		return false;
	if (k == STANZA_IQ)
		return serve_same_payload(rec, live);
	if (!by_to)
		return true;
	a = serve_mapped_to(s, rec);
	b = xnode_attr(live, "to");
	same = a == NULL || b == NULL ? a == b : jidmap_same_bare(a, b);
	free(a);
	return same;
}

bool
serve_client(struct serve *s, const struct xnode *el, double now)
{
	size_t i, found = SIZE_MAX;
	int pass;

	for (pass = 0; pass < 2 && found == SIZE_MAX; pass++)
		for (i = 0; i < s->nc2s && found == SIZE_MAX; i++)
			if (!s->c2s[i].seen &&
			    serve_like(s,
			        recording_sent(&s->rec->ev[s->c2s[i].ev]), el,
			        pass == 0))
				found = i;
	if (found == SIZE_MAX)
		return false;
	s->c2s[found].seen = true;
	if (xnode_attr(el, "id") != NULL)
		s->c2s[found].live_id = xstrdup(xnode_attr(el, "id"));
	log_debug("serve: client stanza matches line %lu",
	    s->rec->ev[s->c2s[found].ev].line);
	serve_queue(s, found, now);
	return true;
}

/* The live id for a recorded id of a matched client stanza, or NULL. */
static const char *
serve_live_id(const struct serve *s, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < s->nc2s; i++)
		if (s->c2s[i].seen &&
		    serve_streq(
		        xnode_attr(
		            recording_sent(&s->rec->ev[s->c2s[i].ev]), "id"),
		        id))
			return s->c2s[i].live_id;
	return NULL;
}

struct xnode *
serve_next(struct serve *s, double now, double *wait)
{
	const struct recording_event *e;
	const char *id, *live;
	struct xnode *el;

	if (s->nq == 0) {
		*wait = -1;
		return NULL;
	}
	if (s->q[0].due > now) {
		*wait = s->q[0].due - now;
		return NULL;
	}
	e = &s->rec->ev[s->s2c[s->q[0].s2c].ev];
	memmove(&s->q[0], &s->q[1], (s->nq - 1) * sizeof(*s->q));
	s->nq--;
	/* The client saw the element as forwarded: xml, not original_xml. */
	el = xnode_clone(e->el);
	id = xnode_attr(el, "id");
	if ((live = serve_live_id(s, id)) != NULL)
		xnode_set_attr(el, NULL, "id", live);
	jidmap_tree(s->map, el);
	*wait = 0;
	return el;
}

void
serve_report(const struct serve *s, struct report *r)
{
	const struct xnode *el;
	struct xnode *mapped;
	size_t i;

	for (i = 0; i < s->nc2s; i++) {
		el = recording_sent(&s->rec->ev[s->c2s[i].ev]);
		mapped = xnode_clone(el);
		jidmap_tree(s->map, mapped);
		(void)report_add(r,
		    s->c2s[i].seen ? REPORT_SEEN : REPORT_NOT_SEEN, mapped,
		    s->rec->ev[s->c2s[i].ev].line,
		    s->c2s[i].seen ? "the client sent it"
		                   : "the client never sent it");
		xnode_free(mapped);
	}
}
