/* SPDX-License-Identifier: ISC */
/*
 * The session's side of stream management translation: follows enable,
 * enabled, failed, resume and resumed (top-level, and inline in SASL2 and
 * Bind2) to know when each flow counts, and rewrites the `h` of every ack it
 * relays through the flow that `h` counts (smack_flow.c). The client counts
 * its stanzas from its <enable/>, the server the client's from handling it,
 * so the c2s flow starts there; both count the server's stanzas from
 * <enabled/>, where the s2c flow starts. A resumption adopts the parked
 * state of its previd; the counts are settled only when the server confirms
 * with <resumed/>, so a <resume/> that fails leaves the parked state as it
 * was. It does not record stanzas by itself, answer anything, or decide
 * whether SM may be used.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nego.h"
#include "smack_int.h"
#include "xmalloc.h"

enum smack_state {
	SMACK_OFF,      /* no stream management: nothing counts */
	SMACK_ENABLING, /* the client sent <enable/>: its stanzas count */
	SMACK_ON,       /* enabled or resumed: both flows count */
	SMACK_RESUMING, /* a <resume/> waits for <resumed/> or <failed/> */
};

struct smack {
	enum smack_state state;
	struct smack_flow flow[2]; /* indexed by enum smack_dir */
	char *id;        /* owned: SM-ID if resumable, or the previd resumed */
	unsigned window; /* seconds the server keeps the session */
	/* RESUMING: the state came from the table (else identity) ... */
	bool known;
	time_t parked_at; /* ... parked then, kept if it goes back */
	bool resume_h_valid;
	uint32_t resume_h; /* RESUMING: the client's count, not yet folded */
	/* owned: the session's full JID; parked with the counts, since a
	 * resumed session binds nothing and would be anonymous otherwise. It
	 * is the session's identity, not SM state: smack_clear() keeps it. */
	char *jid;
};

const char *
smack_dir_str(enum smack_dir d)
{
	return d == SMACK_C2S ? "c2s" : "s2c";
}

struct smack *
smack_new(void)
{
	struct smack *s = xcalloc(1, sizeof(*s));

	s->state = SMACK_OFF;
	return s;
}

/* Forgets everything: SM is off. */
static void
smack_clear(struct smack *s)
{
	char *jid = s->jid;

	smack_flow_fini(&s->flow[SMACK_C2S]);
	smack_flow_fini(&s->flow[SMACK_S2C]);
	free(s->id);
	memset(s, 0, sizeof(*s));
	s->state = SMACK_OFF;
	s->jid = jid;
}

void
smack_free(struct smack *s)
{
	if (s == NULL)
		return;
	smack_clear(s);
	free(s->jid);
	free(s);
}

void
smack_set_jid(struct smack *s, const char *jid)
{
	free(s->jid);
	s->jid = jid != NULL ? xstrdup(jid) : NULL;
}

const char *
smack_jid(const struct smack *s)
{
	return s->state == SMACK_ON ? s->jid : NULL;
}

int
smack_forwarded(struct smack *s, enum smack_dir d)
{
	return smack_flow_add(&s->flow[d], SMACK_ITEM_F);
}

int
smack_dropped(struct smack *s, enum smack_dir d)
{
	return smack_flow_add(&s->flow[d], SMACK_ITEM_D);
}

int
smack_injected(struct smack *s, enum smack_dir d)
{
	return smack_flow_add(&s->flow[d], SMACK_ITEM_I);
}

const char *
smack_id(const struct smack *s)
{
	return s->state == SMACK_ON || s->state == SMACK_RESUMING ? s->id
	                                                          : NULL;
}

size_t
smack_runs(const struct smack *s, enum smack_dir d)
{
	return s->flow[d].len;
}

/* An xs:unsignedInt as digits only (leading zeros allowed). */
static bool
smack_parse_u32(const char *v, uint32_t *out)
{
	uint64_t n = 0;

	if (v == NULL || *v == '\0')
		return false;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)n;
	return true;
}

/* Writes h_s over h; returns whether el changed. */
static bool
smack_rewrite(struct xnode *el, uint32_t h, uint32_t h_s)
{
	char buf[16];

	if (h == h_s)
		return false;
	snprintf(buf, sizeof(buf), "%" PRIu32, h_s);
	xnode_set_attr(el, NULL, "h", buf);
	return true;
}

static bool
smack_is(const struct xnode *el, const char *name)
{
	return xnode_is(el, NEGO_NS_SM, name) ||
	       xnode_is(el, SMACK_NS_SM2, name);
}

/*
 * Ends a resumption that did not happen: a state that came from the table
 * goes back unchanged, its window still counted from its first parking.
 */
static void
smack_unadopt(struct smack *s, struct smack_table *t, time_t now)
{
	struct smack_parked p;

	if (s->state == SMACK_RESUMING && s->known) {
		memset(&p, 0, sizeof(p));
		p.id = s->id;
		s->id = NULL;
		p.jid = s->jid;
		s->jid = NULL;
		smack_flow_move(&p.flow[SMACK_C2S], &s->flow[SMACK_C2S]);
		smack_flow_move(&p.flow[SMACK_S2C], &s->flow[SMACK_S2C]);
		p.window = s->window;
		p.parked_at = s->parked_at;
		smack_table_put(t, &p, now);
	}
	smack_clear(s);
}

static void
smack_on_enable(struct smack *s, struct smack_table *t, time_t now)
{
	/* A second <enable/> is the server's to refuse; counts go on. */
	if (s->state == SMACK_ON || s->state == SMACK_ENABLING)
		return;
	smack_unadopt(s, t, now);
	s->state = SMACK_ENABLING;
	smack_flow_start(&s->flow[SMACK_C2S], 0);
}

static void
smack_on_enabled(
    struct smack *s, struct smack_table *t, const struct xnode *el, time_t now)
{
	const char *resume = xnode_attr(el, "resume");
	const char *id = xnode_attr(el, "id");
	uint32_t max;

	if (s->state == SMACK_ON)
		return;
	if (s->state != SMACK_ENABLING) {
		/* Unseen <enable/>: nothing passed since, start here. */
		smack_unadopt(s, t, now);
		smack_flow_start(&s->flow[SMACK_C2S], 0);
	}
	smack_flow_start(&s->flow[SMACK_S2C], 0);
	s->state = SMACK_ON;
	if (resume != NULL &&
	    (strcmp(resume, "true") == 0 || strcmp(resume, "1") == 0) &&
	    id != NULL && *id != '\0')
		s->id = xstrdup(id);
	if (!smack_parse_u32(xnode_attr(el, "max"), &max))
		max = SMACK_WINDOW_DEFAULT;
	s->window = max > SMACK_WINDOW_MAX ? SMACK_WINDOW_MAX : max;
}

/* The server's <failed/>: to an <enable/>, or to a <resume/>. */
static bool
smack_on_failed(
    struct smack *s, struct smack_table *t, struct xnode *el, time_t now)
{
	bool changed = false;
	uint32_t h;

	switch (s->state) {
	case SMACK_ENABLING:
		smack_clear(s);
		return false;
	case SMACK_RESUMING:
		/* h tells the client which of its stanzas the old stream
		 * delivered: read through the state, which stays as it was. */
		if (s->known && smack_parse_u32(xnode_attr(el, "h"), &h))
			changed = smack_rewrite(el, h,
			    smack_flow_ack(&s->flow[SMACK_C2S], h, false));
		smack_unadopt(s, t, now);
		return changed;
	default:
		return false;
	}
}

/* Takes previd's parked state, or starts one that translates nothing. */
static void
smack_adopt(
    struct smack *s, struct smack_table *t, const char *previd, time_t now)
{
	struct smack_parked p;

	smack_unadopt(s, t, now);
	s->state = SMACK_RESUMING;
	if (smack_table_take(t, previd, now, &p) != 0) {
		s->id = xstrdup(previd);
		s->window = SMACK_WINDOW_DEFAULT;
		return;
	}
	s->known = true;
	s->id = p.id;
	free(s->jid);
	s->jid = p.jid;
	smack_flow_move(&s->flow[SMACK_C2S], &p.flow[SMACK_C2S]);
	smack_flow_move(&s->flow[SMACK_S2C], &p.flow[SMACK_S2C]);
	s->window = p.window;
	s->parked_at = p.parked_at;
}

static bool
smack_on_resume(
    struct smack *s, struct smack_table *t, struct xnode *el, time_t now)
{
	const char *previd = xnode_attr(el, "previd");
	uint32_t h;

	if (previd == NULL || *previd == '\0' || s->state == SMACK_ON ||
	    s->state == SMACK_ENABLING)
		return false; /* the server refuses it */
	/* A retry (after a SASL2 failure) keeps the state it took. */
	if (s->state != SMACK_RESUMING || strcmp(s->id, previd) != 0)
		smack_adopt(s, t, previd, now);
	s->resume_h_valid = smack_parse_u32(xnode_attr(el, "h"), &h);
	if (!s->resume_h_valid)
		return false;
	s->resume_h = h;
	if (!s->known)
		return false;
	return smack_rewrite(
	    el, h, smack_flow_ack(&s->flow[SMACK_S2C], h, false));
}

/*
 * Both sides now agree on both counts: fold them, and forget what lies
 * beyond (each sender sends those again, and they are recorded anew; the
 * proxy's own injections there are lost with the old stream).
 */
static bool
smack_on_resumed(struct smack *s, struct xnode *el)
{
	struct smack_flow *c2s = &s->flow[SMACK_C2S];
	struct smack_flow *s2c = &s->flow[SMACK_S2C];
	bool hv;
	uint32_t h, h_s;

	if (s->state != SMACK_RESUMING)
		return false;
	s->state = SMACK_ON;
	hv = smack_parse_u32(xnode_attr(el, "h"), &h);
	if (!s->known) {
		smack_flow_start(s2c, s->resume_h_valid ? s->resume_h : 0);
		smack_flow_start(c2s, hv ? h : 0);
		return false;
	}
	if (s->resume_h_valid) {
		smack_flow_ack(s2c, s->resume_h, true);
		smack_flow_truncate(s2c);
	}
	s->resume_h_valid = false;
	if (!hv)
		return false;
	h_s = smack_flow_ack(c2s, h, true);
	smack_flow_truncate(c2s);
	return smack_rewrite(el, h, h_s);
}

/* An <a h/>: the receiver of flow d acks it. */
static bool
smack_on_ack(struct smack *s, enum smack_dir d, struct xnode *el)
{
	struct smack_flow *f = &s->flow[d];
	uint32_t h;

	if ((s->state != SMACK_ON && s->state != SMACK_ENABLING) ||
	    !f->tracking || !smack_parse_u32(xnode_attr(el, "h"), &h))
		return false;
	return smack_rewrite(el, h, smack_flow_ack(f, h, true));
}

/*
 * SASL2 <authenticate/> (XEP-0388, XEP-0198 section 7): a <resume/> child,
 * or an <enable/> in the Bind2 <bind/> (XEP-0386). With both, the server
 * tries the resumption first; if it fails, the <success/> says so before
 * its <bound/>.
 */
static bool
smack_on_authenticate(
    struct smack *s, struct smack_table *t, struct xnode *el, time_t now)
{
	struct xnode *resume = xnode_child(el, NEGO_NS_SM, "resume");
	struct xnode *bind = xnode_child(el, NEGO_NS_BIND2, "bind");

	if (resume != NULL)
		return smack_on_resume(s, t, resume, now);
	/* Early drafts put <enable/> right in <authenticate/>. */
	if ((bind != NULL && xnode_child(bind, NEGO_NS_SM, "enable")) ||
	    xnode_child(el, NEGO_NS_SM, "enable") != NULL)
		smack_on_enable(s, t, now);
	return false;
}

/* SASL2 <success/>: <resumed/> or <failed/>, then Bind2 <bound/>. */
static bool
smack_on_success(
    struct smack *s, struct smack_table *t, struct xnode *el, time_t now)
{
	struct xnode *bound = xnode_child(el, NEGO_NS_BIND2, "bound");
	struct xnode *c;
	bool changed = false;

	if ((c = xnode_child(el, NEGO_NS_SM, "resumed")) != NULL)
		changed |= smack_on_resumed(s, c);
	if ((c = xnode_child(el, NEGO_NS_SM, "failed")) != NULL)
		changed |= smack_on_failed(s, t, c, now);
	if (s->state == SMACK_RESUMING) /* neither: not resumed */
		smack_unadopt(s, t, now);
	if (bound != NULL &&
	    (c = xnode_child(bound, NEGO_NS_SM, "enabled")) != NULL)
		smack_on_enabled(s, t, c, now);
	else if (bound != NULL &&
	         (c = xnode_child(bound, NEGO_NS_SM, "failed")) != NULL)
		smack_on_failed(s, t, c, now);
	else if ((c = xnode_child(el, NEGO_NS_SM, "enabled")) != NULL)
		smack_on_enabled(s, t, c, now);
	if (s->state == SMACK_ENABLING) /* the inline <enable/> went unheard */
		smack_clear(s);
	return changed;
}

bool
smack_nonza(struct smack *s, struct smack_table *t, enum smack_dir dir,
    struct xnode *el, time_t now)
{
	if (dir == SMACK_C2S) {
		if (smack_is(el, "a"))
			return smack_on_ack(s, SMACK_S2C, el);
		if (smack_is(el, "enable"))
			smack_on_enable(s, t, now);
		else if (smack_is(el, "resume"))
			return smack_on_resume(s, t, el, now);
		else if (xnode_is(el, NEGO_NS_SASL2, "authenticate"))
			return smack_on_authenticate(s, t, el, now);
		return false;
	}
	if (smack_is(el, "a"))
		return smack_on_ack(s, SMACK_C2S, el);
	if (smack_is(el, "enabled"))
		smack_on_enabled(s, t, el, now);
	else if (smack_is(el, "failed"))
		return smack_on_failed(s, t, el, now);
	else if (smack_is(el, "resumed"))
		return smack_on_resumed(s, el);
	else if (xnode_is(el, NEGO_NS_SASL2, "success"))
		return smack_on_success(s, t, el, now);
	else if (xnode_is(el, NEGO_NS_SASL2, "failure") &&
	         s->state == SMACK_ENABLING)
		smack_clear(s); /* a retry may resume instead */
	return false;
}

void
smack_park(struct smack *s, struct smack_table *t, time_t now)
{
	struct smack_parked p;

	if (s->state == SMACK_RESUMING) {
		smack_unadopt(s, t, now);
		return;
	}
	if (s->state == SMACK_ON && s->id != NULL) {
		memset(&p, 0, sizeof(p));
		p.id = s->id;
		s->id = NULL;
		p.jid = s->jid;
		s->jid = NULL;
		smack_flow_move(&p.flow[SMACK_C2S], &s->flow[SMACK_C2S]);
		smack_flow_move(&p.flow[SMACK_S2C], &s->flow[SMACK_S2C]);
		p.window = s->window;
		p.parked_at = now;
		smack_table_put(t, &p, now);
	}
	smack_clear(s);
}

void
smack_end(struct smack *s, struct smack_table *t, time_t now)
{
	if (s->state == SMACK_RESUMING)
		smack_unadopt(s, t, now);
	smack_clear(s);
}
