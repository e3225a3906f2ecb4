/* SPDX-License-Identifier: ISC */
/*
 * Client mode, once bound: sending the recorded stanzas and judging what
 * the server answers.
 *
 * Timing: stanza k goes out at its recorded offset after the recorded bind,
 * divided by --speed (at once with --fast), and never before the expected
 * answers recorded before it have come (each such wait is bounded by
 * --timeout), so a replay keeps the causal order the recording shows. After
 * the last stanza it waits up to --timeout for the answers still missing.
 *
 * Judging a stanza that comes: an iq result or error, and an error message
 * or presence, by its id (the id the stanza it answers went out with);
 * anything else by kind, type and from among the expected answers whose
 * cause was sent, an equal one first, else the first of that kind, type
 * and from (which then differs); failing that, among the stanzas recorded
 * as not expected (it "came anyway"); else it is an unexpected extra.
 * Requests from the server get the recorded client's answer to such a
 * request when there is one, an empty result for roster pushes, and
 * service-unavailable otherwise (RFC 6120 8.2.3: every get and set gets an
 * answer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "client_int.h"
#include "compare.h"
#include "log.h"
#include "rtime.h"
#include "xmalloc.h"
#include "xmlstream.h"

#define NS_ROSTER "jabber:iq:roster"

enum play_status {
	PLAY_PENDING,
	PLAY_MATCHED,
	PLAY_DIFFERS,
};

/* One recorded server element, as the live server should send it. */
struct play_want {
	struct xnode *el; /* owned: mapped to the live session */
	enum play_status st;
	bool came;    /* not expected, but one like it came */
	char **diffs; /* owned, DIFFERS */
	size_t ndiffs;
	char *got; /* owned: brief of what came, DIFFERS */
};

struct play {
	struct play_want *want; /* per plan item */
	size_t nwant;
	bool *reply_used; /* per plan reply */
	size_t next;      /* next stanza to send */
	double t0;        /* when playing started (monotonic s) */
	double base;      /* the recorded bind's offset */
	double gate;      /* when the current wait for answers began */
	double last;      /* when the last stanza went out */
	bool finished;
};

static bool
play_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Two optional addresses name the same entity (both absent counts). */
static bool
play_same_from(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return jidmap_same(a, b);
}

static const struct expect_item *
play_item(const struct client *c, size_t i)
{
	return &c->plan->item[i];
}

/* A recorded element made live: JIDs mapped, the id live_id (NULL: the
 * recorded one). */
static struct xnode *
play_live(const struct client *c, const struct xnode *el, const char *live_id)
{
	struct xnode *n = xnode_clone(el);

	jidmap_tree(c->o->map, n);
	if (live_id != NULL)
		xnode_set_attr(n, NULL, "id", live_id);
	return n;
}

void
play_start(struct client *c)
{
	struct play *p = xcalloc(1, sizeof(*p));
	const struct expect_item *it;
	const char *id;
	size_t i;

	c->play = p;
	p->want = xcalloc(c->plan->nitem + 1, sizeof(*p->want));
	p->nwant = c->plan->nitem;
	p->reply_used = xcalloc(c->plan->nreply + 1, sizeof(*p->reply_used));
	for (i = 0; i < c->plan->nitem; i++) {
		it = play_item(c, i);
		/* An answer by id carries the id its request went out with. */
		id = it->cls == EXPECT_ANSWER && it->how == EXPECT_BY_ID
		         ? c->plan->send[it->cause].id
		         : NULL;
		p->want[i].el = play_live(
		    c, recording_server_sent(&c->rec->ev[it->ev]), id);
	}
	p->t0 = rtime_now();
	p->base = c->rec->ev[c->rec->bind].offset;
	p->gate = -1;
	log_info("replaying %zu stanzas as %s", c->plan->nsend, c->jid);
	play_timer(c);
}

void
play_free(struct play *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nwant; i++) {
		xnode_free(p->want[i].el);
		compare_diff_free(p->want[i].diffs, p->want[i].ndiffs);
		free(p->want[i].got);
	}
	free(p->want);
	free(p->reply_used);
	free(p);
}

/* Whether every expected answer recorded before send k has been judged. */
static bool
play_gate_open(const struct client *c, size_t k)
{
	size_t i, ev = c->plan->send[k].ev;

	for (i = 0; i < c->plan->nitem; i++) {
		const struct expect_item *it = play_item(c, i);

		if (it->ev > ev)
			break;
		if (it->cls == EXPECT_ANSWER && it->cause < k &&
		    c->play->want[i].st == PLAY_PENDING)
			return false;
	}
	return true;
}

static bool
play_all_judged(const struct client *c)
{
	size_t i;

	for (i = 0; i < c->plan->nitem; i++)
		if (play_item(c, i)->cls == EXPECT_ANSWER &&
		    c->play->want[i].st == PLAY_PENDING)
			return false;
	return true;
}

static void
play_send(struct client *c, size_t k)
{
	const struct expect_send *s = &c->plan->send[k];
	struct xnode *el = play_live(c, s->el, s->id);

	xmppc_send(c->x, el);
	xnode_free(el);
	c->rep->sent++;
	c->play->last = rtime_now();
}

static void
play_finish(struct client *c)
{
	if (c->play->finished)
		return;
	c->play->finished = true;
	client_close(c);
}

void
play_timer(struct client *c)
{
	struct play *p = c->play;
	double now, due;
	size_t k;

	while (!p->finished && p->next < c->plan->nsend) {
		k = p->next;
		now = rtime_now();
		due = c->o->speed > 0
		          ? p->t0 + (c->rec->ev[c->plan->send[k].ev].offset -
		                        p->base) /
		                        c->o->speed
		          : 0;
		if (now < due) {
			rtime_arm(c->timer, due - now);
			return;
		}
		if (!play_gate_open(c, k)) {
			if (p->gate < 0)
				p->gate = now;
			if (now - p->gate < c->o->timeout) {
				rtime_arm(
				    c->timer, p->gate + c->o->timeout - now);
				return;
			}
			log_info("answers recorded before stanza %zu did not "
			         "come within %.1f s: sending it anyway",
			    k + 1, c->o->timeout);
		}
		p->gate = -1;
		play_send(c, k);
		p->next++;
	}
	if (p->finished)
		return;
	now = rtime_now();
	if (play_all_judged(c) || now - p->last >= c->o->timeout) {
		play_finish(c);
		return;
	}
	rtime_arm(c->timer, p->last + c->o->timeout - now);
}

static void
play_judge(struct client *c, size_t i, const struct xnode *live)
{
	struct play_want *w = &c->play->want[i];

	if (compare_equal(w->el, live)) {
		w->st = PLAY_MATCHED;
		return;
	}
	w->st = PLAY_DIFFERS;
	w->ndiffs = compare_diff(w->el, live, &w->diffs);
	w->got = compare_brief(live, 300);
}

/* The expected answer judged by id for the live stanza, or SIZE_MAX. */
static size_t
play_by_id(const struct client *c, const struct xnode *live)
{
	const char *id = xnode_attr(live, "id");
	size_t i;

	if (id == NULL)
		return SIZE_MAX;
	for (i = 0; i < c->plan->nitem; i++) {
		const struct expect_item *it = play_item(c, i);

		if (it->cls == EXPECT_ANSWER && it->how == EXPECT_BY_ID &&
		    it->cause < c->play->next &&
		    c->play->want[i].st == PLAY_PENDING &&
		    play_streq(c->plan->send[it->cause].id, id) &&
		    stanza_kind_of(c->play->want[i].el) == stanza_kind_of(live))
			return i;
	}
	return SIZE_MAX;
}

static bool
play_like(const struct xnode *want, const struct xnode *live)
{
	return stanza_kind_of(want) == stanza_kind_of(live) &&
	       strcmp(recording_type(want), recording_type(live)) == 0 &&
	       play_same_from(
	           xnode_attr(want, "from"), xnode_attr(live, "from"));
}

/* Judges a stanza by content; returns false when nothing took it. */
static bool
play_by_content(struct client *c, const struct xnode *live)
{
	struct play *p = c->play;
	size_t i, first = SIZE_MAX;

	for (i = 0; i < c->plan->nitem; i++) {
		const struct expect_item *it = play_item(c, i);

		if (it->cls != EXPECT_ANSWER || it->how != EXPECT_BY_CONTENT ||
		    it->cause >= p->next || p->want[i].st != PLAY_PENDING ||
		    !play_like(p->want[i].el, live))
			continue;
		if (compare_equal(p->want[i].el, live)) {
			p->want[i].st = PLAY_MATCHED;
			return true;
		}
		if (first == SIZE_MAX)
			first = i;
	}
	if (first != SIZE_MAX) {
		play_judge(c, first, live);
		return true;
	}
	for (i = 0; i < c->plan->nitem; i++)
		if (play_item(c, i)->cls == EXPECT_UNSOLICITED &&
		    !p->want[i].came && play_like(p->want[i].el, live) &&
		    compare_equal(p->want[i].el, live)) {
			p->want[i].came = true;
			return true;
		}
	return false;
}

/* Same type and payload element: the recorded request is like the live. */
static bool
play_same_request(const struct xnode *rec, const struct xnode *live)
{
	const struct xnode *a = recording_payload(rec);
	const struct xnode *b = recording_payload(live);

	if (!play_streq(xnode_attr(rec, "type"), xnode_attr(live, "type")))
		return false;
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a->name, b->name) == 0 && play_streq(a->ns, b->ns);
}

/* Answers a request from the server (RFC 6120 8.2.3). */
static void
play_answer(struct client *c, const struct xnode *req)
{
	const char *from = xnode_attr(req, "from");
	struct xnode *ans = NULL;
	size_t i;

	for (i = 0; i < c->plan->nreply && ans == NULL; i++) {
		const struct expect_reply *r = &c->plan->reply[i];

		if (c->play->reply_used[i] ||
		    !play_same_request(
		        recording_server_sent(&c->rec->ev[r->req]), req))
			continue;
		c->play->reply_used[i] = true;
		ans = play_live(c, recording_sent(&c->rec->ev[r->ans]),
		    xnode_attr(req, "id"));
	}
	if (ans == NULL)
		ans = xnode_is(recording_payload(req), NS_ROSTER, "query")
		          ? answer_result(req, NULL)
		          : answer_error(req, "service-unavailable");
	xnode_set_attr(ans, NULL, "to", from);
	xmppc_send(c->x, ans);
	xnode_free(ans);
}

void
play_element(struct client *c, struct xnode *el)
{
	enum stanza_kind k = stanza_kind_of(el);
	const char *type = xnode_attr(el, "type");
	struct report_entry *e;
	size_t i;
	bool taken = false;

	if (k == STANZA_NONZA || c->play->finished) {
		log_debug("play: ignored <%s/>", el->name);
		xnode_free(el);
		return;
	}
	if (answer_is_request(el))
		play_answer(c, el);
	if ((k == STANZA_IQ && !answer_is_request(el)) ||
	    (type != NULL && strcmp(type, "error") == 0)) {
		if ((i = play_by_id(c, el)) != SIZE_MAX) {
			play_judge(c, i, el);
			taken = true;
		}
	}
	if (!taken && !play_by_content(c, el)) {
		e = report_add(c->rep, REPORT_EXTRA, el, 0,
		    "matches nothing in the recording");
		report_set_xml(e, el);
	}
	xnode_free(el);
	play_timer(c);
}

void
play_ended(struct client *c, const char *why)
{
	report_note(c->rep, "the connection ended during the replay: %s", why);
	c->play->finished = true;
	client_close(c);
}

void
play_report(struct client *c)
{
	struct play *p = c->play;
	struct report_entry *e;
	enum report_status st;
	size_t i;

	c->rep->skipped = c->plan->nskip;
	if (p->next < c->plan->nsend)
		report_note(c->rep, "%zu of %zu stanzas were not sent",
		    c->plan->nsend - p->next, c->plan->nsend);
	for (i = 0; i < c->plan->nitem; i++) {
		const struct expect_item *it = play_item(c, i);
		struct play_want *w = &p->want[i];

		if (it->cls == EXPECT_SKIPPED)
			continue;
		if (it->cls == EXPECT_UNSOLICITED)
			st = REPORT_UNSOLICITED;
		else if (w->st == PLAY_MATCHED)
			st = REPORT_MATCHED;
		else if (w->st == PLAY_DIFFERS)
			st = REPORT_DIFFERS;
		else
			st = REPORT_MISSING;
		e = report_add(
		    c->rep, st, w->el, c->rec->ev[it->ev].line, it->why);
		e->came = w->came;
		if (it->cls == EXPECT_ANSWER)
			e->cause_line =
			    c->rec->ev[c->plan->send[it->cause].ev].line;
		if (st == REPORT_DIFFERS) {
			e->diffs = w->diffs;
			e->ndiffs = w->ndiffs;
			e->xml = w->got;
			w->diffs = NULL;
			w->ndiffs = 0;
			w->got = NULL;
		}
	}
}
