/* SPDX-License-Identifier: ISC */
/*
 * Planning a replay: one pass over the recorded elements after bind, in
 * order, so each server element is judged only against the client stanzas
 * sent before it. The rules are in expect.h; each item keeps the name of
 * the rule that decided it, for the report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "expect.h"
#include "jid.h"
#include "jidmap.h"
#include "xmalloc.h"

#define EXPECT_NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define EXPECT_NS_ROSTER "jabber:iq:roster"
#define EXPECT_NS_MAM "urn:xmpp:mam:"

struct expect_state {
	const struct recording *rec;
	struct expect_plan *p;
	char *bare;         /* the recorded account */
	char *domain;       /* its domain */
	bool *answered;     /* per send: its iq answer was seen */
	size_t broadcast;   /* last broadcast presence sent, or SIZE_MAX */
	char **session_ids; /* ids of session-establishment iqs */
	size_t nsession_ids;
};

const char *
expect_class_str(enum expect_class c)
{
	switch (c) {
	case EXPECT_ANSWER:
		return "expected";
	case EXPECT_UNSOLICITED:
		return "not expected";
	case EXPECT_SKIPPED:
		return "skipped";
	}
	return "?";
}

size_t
expect_count(const struct expect_plan *p, enum expect_class c)
{
	size_t i, n = 0;

	for (i = 0; i < p->nitem; i++)
		n += p->item[i].cls == c;
	return n;
}

static bool
expect_streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
expect_skip(struct expect_state *st, size_t ev, const char *why)
{
	struct expect_plan *p = st->p;

	p->skip = xreallocarray(p->skip, p->nskip + 1, sizeof(*p->skip));
	p->skip[p->nskip].ev = ev;
	p->skip[p->nskip++].why = why;
}

static void
expect_item(struct expect_state *st, size_t ev, enum expect_class cls,
    enum expect_how how, size_t cause, const char *why)
{
	struct expect_plan *p = st->p;
	struct expect_item *it;

	p->item = xreallocarray(p->item, p->nitem + 1, sizeof(*p->item));
	it = &p->item[p->nitem++];
	it->ev = ev;
	it->cls = cls;
	it->how = how;
	it->cause = cause;
	it->why = why;
}

/* Whether id is taken by a stanza already planned, or is the replay's. */
static bool
expect_id_taken(const struct expect_plan *p, const char *id)
{
	size_t i;

	if (strcmp(id, EXPECT_ID_BIND) == 0 ||
	    strcmp(id, EXPECT_ID_SESSION) == 0)
		return true;
	for (i = 0; i < p->nsend; i++)
		if (expect_streq(p->send[i].id, id))
			return true;
	return false;
}

static void
expect_send(struct expect_state *st, size_t ev, const struct xnode *el)
{
	struct expect_plan *p = st->p;
	const char *id = xnode_attr(el, "id");
	struct expect_send *s;
	unsigned k;

	p->send = xreallocarray(p->send, p->nsend + 1, sizeof(*p->send));
	st->answered =
	    xreallocarray(st->answered, p->nsend + 1, sizeof(*st->answered));
	st->answered[p->nsend] = false;
	s = &p->send[p->nsend];
	s->ev = ev;
	s->el = el;
	s->id = NULL;
	if (id != NULL && expect_id_taken(p, id)) {
		for (k = 2; s->id == NULL || expect_id_taken(p, s->id); k++) {
			free(s->id);
			s->id = xasprintf("%s-%u", id, k);
		}
	} else if (id != NULL)
		s->id = xstrdup(id);
	p->nsend++;
	if (stanza_kind_of(el) == STANZA_PRESENCE &&
	    xnode_attr(el, "to") == NULL &&
	    (xnode_attr(el, "type") == NULL ||
	        strcmp(xnode_attr(el, "type"), "unavailable") == 0))
		st->broadcast = p->nsend - 1;
}

/* The item JID of a roster query (set or push), or NULL. */
static const char *
expect_roster_item(const struct xnode *el)
{
	const struct xnode *q = xnode_child(el, EXPECT_NS_ROSTER, "query");

	return xnode_attr(xnode_child(q, EXPECT_NS_ROSTER, "item"), "jid");
}

static bool
expect_is_subscription(const char *type)
{
	return type != NULL && (strcmp(type, "subscribe") == 0 ||
	                           strcmp(type, "subscribed") == 0 ||
	                           strcmp(type, "unsubscribe") == 0 ||
	                           strcmp(type, "unsubscribed") == 0);
}

/* The queryid of a MAM query or result element anywhere in el, or NULL. */
static const char *
expect_mam_queryid(const struct xnode *el, const char *name)
{
	const struct xnode *c;

	for (c = el->children; c != NULL; c = c->next)
		if (c->type == XNODE_ELEMENT && c->ns != NULL &&
		    strncmp(c->ns, EXPECT_NS_MAM, strlen(EXPECT_NS_MAM)) == 0 &&
		    strcmp(c->name, name) == 0)
			return xnode_attr(c, "queryid");
	return NULL;
}

/* The send (from the latest back) satisfying pred, or SIZE_MAX. */
static size_t
expect_find(const struct expect_state *st,
    bool (*pred)(const struct expect_state *, size_t, const struct xnode *),
    const struct xnode *el)
{
	size_t i;

	for (i = st->p->nsend; i-- > 0;)
		if (pred(st, i, el))
			return i;
	return SIZE_MAX;
}

/* An iq get/set with the answer's id, not answered yet. */
static bool
expect_is_request_of(
    const struct expect_state *st, size_t i, const struct xnode *ans)
{
	const struct xnode *s = st->p->send[i].el;

	return !st->answered[i] && answer_is_request(s) &&
	       expect_streq(xnode_attr(s, "id"), xnode_attr(ans, "id"));
}

/* A message or presence with the error's kind and id. */
static bool
expect_is_errored(
    const struct expect_state *st, size_t i, const struct xnode *err)
{
	const struct xnode *s = st->p->send[i].el;

	return stanza_kind_of(s) == stanza_kind_of(err) &&
	       expect_streq(xnode_attr(s, "id"), xnode_attr(err, "id"));
}

/* A directed presence to exactly the JID the presence comes from. */
static bool
expect_is_joined(
    const struct expect_state *st, size_t i, const struct xnode *pres)
{
	const struct xnode *s = st->p->send[i].el;

	return stanza_kind_of(s) == STANZA_PRESENCE &&
	       jidmap_same(xnode_attr(s, "to"), xnode_attr(pres, "from"));
}

/* A roster set or subscription presence about the push's item. */
static bool
expect_is_roster_cause(
    const struct expect_state *st, size_t i, const struct xnode *push)
{
	const struct xnode *s = st->p->send[i].el;
	const char *item = expect_roster_item(push);

	if (stanza_kind_of(s) == STANZA_IQ &&
	    expect_streq(xnode_attr(s, "type"), "set"))
		return jidmap_same_bare(expect_roster_item(s), item);
	return stanza_kind_of(s) == STANZA_PRESENCE &&
	       expect_is_subscription(xnode_attr(s, "type")) &&
	       jidmap_same_bare(xnode_attr(s, "to"), item);
}

/* A groupchat message with the reflection's id, to its room. */
static bool
expect_is_reflected(
    const struct expect_state *st, size_t i, const struct xnode *msg)
{
	const struct xnode *s = st->p->send[i].el;

	return stanza_kind_of(s) == STANZA_MESSAGE &&
	       expect_streq(xnode_attr(s, "type"), "groupchat") &&
	       expect_streq(xnode_attr(s, "id"), xnode_attr(msg, "id")) &&
	       jidmap_same_bare(xnode_attr(s, "to"), xnode_attr(msg, "from"));
}

/* A MAM query with the result's queryid. */
static bool
expect_is_mam_query(
    const struct expect_state *st, size_t i, const struct xnode *msg)
{
	const struct xnode *s = st->p->send[i].el;

	return stanza_kind_of(s) == STANZA_IQ &&
	       expect_streq(expect_mam_queryid(s, "query"),
	           expect_mam_queryid(msg, "result"));
}

/* Whether from names the server (absent, the domain, or the account). */
static bool
expect_from_server(const struct expect_state *st, const char *from)
{
	return from == NULL || jidmap_same(from, st->domain);
}

static bool
expect_from_account(const struct expect_state *st, const char *from)
{
	return from == NULL || jidmap_same(from, st->bare) ||
	       jidmap_same(from, st->rec->jid);
}

static void
expect_server_el(struct expect_state *st, size_t ev)
{
	const struct recording_event *e = &st->rec->ev[ev];
	const struct xnode *el = recording_server_sent(e);
	enum stanza_kind k = stanza_kind_of(el);
	const char *type = xnode_attr(el, "type"),
	           *from = xnode_attr(el, "from");
	size_t i, c;

	if (e->by_proxy) {
		expect_item(st, ev, EXPECT_SKIPPED, EXPECT_BY_ID, 0,
		    "injected by xmppgate");
		return;
	}
	if (k == STANZA_NONZA) {
		expect_item(st, ev, EXPECT_SKIPPED, EXPECT_BY_ID, 0, "nonza");
		return;
	}
	if (k == STANZA_IQ && type != NULL &&
	    (strcmp(type, "result") == 0 || strcmp(type, "error") == 0)) {
		for (i = 0; i < st->nsession_ids; i++)
			if (expect_streq(
			        st->session_ids[i], xnode_attr(el, "id"))) {
				expect_item(st, ev, EXPECT_SKIPPED,
				    EXPECT_BY_ID, 0,
				    "answer to session establishment");
				return;
			}
		if ((c = expect_find(st, expect_is_request_of, el)) !=
		    SIZE_MAX) {
			st->answered[c] = true;
			expect_item(st, ev, EXPECT_ANSWER, EXPECT_BY_ID, c,
			    "answer to the client's iq");
			return;
		}
	} else if (type != NULL && strcmp(type, "error") == 0 &&
	           (c = expect_find(st, expect_is_errored, el)) != SIZE_MAX) {
		expect_item(st, ev, EXPECT_ANSWER, EXPECT_BY_ID, c,
		    "error to the client's stanza");
		return;
	} else if (k == STANZA_PRESENCE) {
		if (st->broadcast != SIZE_MAX &&
		    jidmap_same(from, st->rec->jid)) {
			expect_item(st, ev, EXPECT_ANSWER, EXPECT_BY_CONTENT,
			    st->broadcast, "echo of the client's presence");
			return;
		}
		if ((c = expect_find(st, expect_is_joined, el)) != SIZE_MAX) {
			expect_item(st, ev, EXPECT_ANSWER, EXPECT_BY_CONTENT, c,
			    "the client's own presence in a room");
			return;
		}
	} else if (k == STANZA_IQ && expect_streq(type, "set") &&
	           expect_roster_item(el) != NULL &&
	           expect_from_account(st, from)) {
		if ((c = expect_find(st, expect_is_roster_cause, el)) !=
		    SIZE_MAX) {
			expect_item(st, ev, EXPECT_ANSWER, EXPECT_BY_CONTENT, c,
			    "roster push for the client's change");
			return;
		}
	} else if (k == STANZA_MESSAGE) {
		if ((c = expect_find(st, expect_is_reflected, el)) !=
		    SIZE_MAX) {
			expect_item(st, ev, EXPECT_ANSWER, EXPECT_BY_CONTENT, c,
			    "reflection of the client's groupchat message");
			return;
		}
		if (expect_mam_queryid(el, "result") != NULL &&
		    (c = expect_find(st, expect_is_mam_query, el)) !=
		        SIZE_MAX) {
			expect_item(st, ev, EXPECT_ANSWER, EXPECT_BY_CONTENT, c,
			    "archive result of the client's query");
			return;
		}
	}
	expect_item(st, ev, EXPECT_UNSOLICITED, EXPECT_BY_CONTENT, 0,
	    expect_from_server(st, from) ? "from the server"
	                                 : "from another party");
}

/* The s2c get/set with this id, before ev, or SIZE_MAX. */
static size_t
expect_server_request(const struct expect_state *st, const char *id)
{
	const struct expect_plan *p = st->p;
	const struct xnode *r;
	size_t i;

	for (i = p->nitem; id != NULL && i-- > 0;) {
		r = recording_server_sent(&st->rec->ev[p->item[i].ev]);
		if (answer_is_request(r) &&
		    expect_streq(xnode_attr(r, "id"), id))
			return p->item[i].ev;
	}
	return SIZE_MAX;
}

static void
expect_client_el(struct expect_state *st, size_t ev)
{
	const struct recording_event *e = &st->rec->ev[ev];
	const struct xnode *el = recording_sent(e);
	const char *type = xnode_attr(el, "type");
	struct expect_plan *p = st->p;
	size_t req;

	if (e->by_proxy) {
		expect_skip(st, ev, "injected by xmppgate");
		return;
	}
	if (stanza_kind_of(el) == STANZA_NONZA) {
		expect_skip(st, ev, "nonza (stream management, CSI...)");
		return;
	}
	if (stanza_kind_of(el) == STANZA_IQ &&
	    xnode_child(el, EXPECT_NS_SESSION, "session") != NULL) {
		st->session_ids = xreallocarray(
		    st->session_ids, st->nsession_ids + 1, sizeof(char *));
		st->session_ids[st->nsession_ids++] =
		    xstrdup(xnode_attr(el, "id") ? xnode_attr(el, "id") : "");
		expect_skip(st, ev, "session establishment (done by replay)");
		return;
	}
	if (stanza_kind_of(el) == STANZA_IQ && type != NULL &&
	    (strcmp(type, "result") == 0 || strcmp(type, "error") == 0)) {
		req = expect_server_request(st, xnode_attr(el, "id"));
		if (req == SIZE_MAX) {
			expect_skip(st, ev, "iq answer to no recorded request");
			return;
		}
		p->reply =
		    xreallocarray(p->reply, p->nreply + 1, sizeof(*p->reply));
		p->reply[p->nreply].req = req;
		p->reply[p->nreply++].ans = ev;
		expect_skip(st, ev, "answer to a server request");
		return;
	}
	expect_send(st, ev, el);
}

struct expect_plan *
expect_plan_new(const struct recording *rec, char **err)
{
	struct expect_state st;
	struct jid j;
	size_t i;

	if (rec->jid == NULL) {
		*err = xasprintf("%s: session %s has no bind event: it never "
		                 "bound a resource, so there is nothing to "
		                 "replay",
		    rec->path, rec->session);
		return NULL;
	}
	if (jid_parse(rec->jid, &j) == -1) {
		*err = xasprintf("%s:%lu: the bound JID '%s' is not a JID",
		    rec->path, rec->ev[rec->bind].line, rec->jid);
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	st.rec = rec;
	st.p = xcalloc(1, sizeof(*st.p));
	st.bare = jid_bare(rec->jid);
	st.domain = xstrdup(j.domain);
	st.broadcast = SIZE_MAX;
	jid_fini(&j);
	for (i = rec->bind + 1; i < rec->nev; i++) {
		if (rec->ev[i].kind != RECORDING_ELEMENT)
			continue;
		if (rec->ev[i].dir == RECORDING_C2S)
			expect_client_el(&st, i);
		else if (rec->ev[i].dir == RECORDING_S2C)
			expect_server_el(&st, i);
	}
	for (i = 0; i < st.nsession_ids; i++)
		free(st.session_ids[i]);
	free(st.session_ids);
	free(st.answered);
	free(st.bare);
	free(st.domain);
	return st.p;
}

void
expect_plan_free(struct expect_plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nsend; i++)
		free(p->send[i].id);
	free(p->send);
	free(p->item);
	free(p->skip);
	free(p->reply);
	free(p);
}
