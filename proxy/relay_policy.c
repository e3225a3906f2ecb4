/* SPDX-License-Identifier: ISC */
/*
 * The stanza step of the element path: the filter chain's verdict for a
 * message, presence or iq, applied. Pass forwards the original bytes,
 * rewrite the re-serialized tree, drop nothing, bounce an error to the
 * sender (where RFC 6120 and the MUC rules allow one; an IQ request is
 * always answered), close a stream error. Every stanza is also counted for
 * stream management, so the h values relayed later stay true (smack.c),
 * and the session's MUC rooms are learned (muc.c). Nonzas never come here.
 */
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "filter.h"
#include "log.h"
#include "metrics.h"
#include "redact.h"
#include "session_int.h"
#include "stanza.h"
#include "xmalloc.h"

static enum smack_dir
policy_sm_dir(const struct conn *c)
{
	return c->side == CONN_CLIENT ? SMACK_C2S : SMACK_S2C;
}

static enum smack_dir
policy_sm_back(const struct conn *c)
{
	return c->side == CONN_CLIENT ? SMACK_S2C : SMACK_C2S;
}

static enum metrics_dir
policy_metrics_dir(const struct conn *c)
{
	return c->side == CONN_CLIENT ? METRICS_C2S : METRICS_S2C;
}

/* The chain new stanzas run through: the proxy's current one. */
static struct filter_chain *
policy_chain(const struct session *s)
{
	if (s->env.chain != NULL)
		return *s->env.chain;
	return s->cfg->chain;
}

/*
 * SM counting failed: the peer lets unacked drops pile up past what the
 * proxy keeps. The counts cannot stay true: end the session. May close.
 */
static int
policy_sm_overflow(struct session *s)
{
	session_stream_error(&s->client, "resource-constraint",
	    "too many stanzas dropped without a stream management ack", NULL);
	session_end_stream(&s->upstream);
	session_set_detail(s,
	    "stream management: more than %d unacknowledged "
	    "drops and injections",
	    SMACK_MAX_RUNS);
	session_close(s, SESSION_REASON_CLIENT_ERROR);
	return XMLSTREAM_STOP;
}

/* Forwards a stanza (bytes as they are or rewritten). May close. */
static int
policy_forward(struct conn *c, const char *bytes, size_t len)
{
	struct session *s = c->session;

	conn_write(c->peer, bytes, len);
	if (smack_forwarded(s->sm, policy_sm_dir(c)) == -1)
		return policy_sm_overflow(s);
	return XMLSTREAM_CONTINUE;
}

/* The error for a blocked stanza, back to its sender. May close. */
static int
policy_bounce(struct conn *c, const struct stanza *st, const char *reason)
{
	struct session *s = c->session;
	struct relay_note note = {.verdict = FILTER_PASS, .injected = true};
	struct xnode *err;
	struct buf b;
	int rc = XMLSTREAM_CONTINUE;

	buf_init(&b);
	err = bounce_build(st, c->side == CONN_CLIENT, s->nego.jid, reason);
	xnode_serialize(err, XMLSTREAM_NS_CLIENT, &b);
	conn_write(c, b.data, b.len);
	/* The error travels the other way: it is the peer leg's direction. */
	relay_emit_element(c->peer, err, b.data, b.len, &note);
	if (smack_injected(s->sm, policy_sm_back(c)) == -1)
		rc = policy_sm_overflow(s);
	xnode_free(err);
	buf_fini(&b);
	return rc;
}

/* Ends the session over a stanza a rule refuses outright. Closes. */
static int
policy_close(struct conn *c, const char *reason)
{
	struct session *s = c->session;

	session_stream_error(&s->client, "policy-violation", reason, NULL);
	session_end_stream(&s->upstream);
	session_set_detail(s, "%s stanza refused: %s", c->dir, reason);
	session_close(s, SESSION_REASON_POLICY);
	return XMLSTREAM_STOP;
}

/*
 * The verdict the relay applies: an IQ request that would be left
 * unanswered is bounced instead of dropped, and a bounce the rules forbid
 * is only a drop.
 */
static enum filter_verdict
policy_settle(struct conn *c, const struct stanza *st, enum filter_verdict v)
{
	struct session *s = c->session;
	const char *why;

	if (v == FILTER_DROP && bounce_needed(st))
		v = FILTER_BOUNCE;
	if (v == FILTER_BOUNCE && !bounce_allowed(st, c->side == CONN_CLIENT,
	                              &s->muc, s->nego.jid, &why)) {
		log_debug("session=%s bounce of %s %s becomes a drop: %s",
		    s->id, c->dir, stanza_kind_str(st->kind), why);
		v = FILTER_DROP;
	}
	return v;
}

/* A stanza nobody filters in this direction: forwarded as it came. */
static int
policy_pass(
    struct conn *c, const struct xnode *el, const char *bytes, size_t len)
{
	struct relay_note note = {.verdict = FILTER_PASS};

	metrics_stanza_verdict(policy_metrics_dir(c), FILTER_PASS);
	relay_emit_element(c, el, bytes, len, &note);
	return policy_forward(c, bytes, len);
}

int
relay_policy(struct conn *c, struct xnode *el, const char *bytes, size_t len)
{
	struct session *s = c->session;
	struct filter_chain *chain = policy_chain(s);
	unsigned dir = c->side == CONN_CLIENT ? FILTER_C2S : FILTER_S2C;
	struct relay_note note = {.verdict = FILTER_PASS};
	struct xnode *secret = NULL;
	struct filter_result res;
	struct filter_ctx ctx;
	enum filter_verdict v;
	struct stanza st;
	struct buf out;
	int rc = XMLSTREAM_CONTINUE;

	muc_observe(&s->muc, c->side == CONN_CLIENT, el);
	if (!filter_chain_wants(chain, dir))
		return policy_pass(c, el, bytes, len);
	/* A rewrite edits the tree: keep what the event's original_xml
	 * shows, redacted, when the stanza holds a secret. */
	if (redact_needed(el))
		secret = redact_copy(el);
	ctx.session_id = s->id;
	ctx.session_jid = s->nego.jid;
	ctx.dir = dir;
	ctx.xml = bytes;
	ctx.len = len;
	stanza_init(&st, el, filter_chain_attrs(chain));
	filter_chain_run(chain, &st, &ctx, &res);
	v = policy_settle(c, &st, res.verdict);
	metrics_stanza_verdict(policy_metrics_dir(c), v);
	note.verdict = v;
	note.res = &res;
	buf_init(&out);
	if (v == FILTER_REWRITE) {
		xnode_serialize(el, XMLSTREAM_NS_CLIENT, &out);
		note.orig = bytes;
		note.orig_len = len;
		note.orig_redacted = secret;
		s->rewritten++;
		relay_emit_element(c, el, out.data, out.len, &note);
	} else
		relay_emit_element(c, el, bytes, len, &note);
	filter_chain_observe(chain, &st, &ctx, v);
	filter_tally_add(&s->tally, &res);
	switch (v) {
	case FILTER_PASS:
		rc = policy_forward(c, bytes, len);
		break;
	case FILTER_REWRITE:
		rc = policy_forward(c, out.data, out.len);
		break;
	case FILTER_DROP:
	case FILTER_BOUNCE:
		s->dropped++;
		if (smack_dropped(s->sm, policy_sm_dir(c)) == -1)
			rc = policy_sm_overflow(s);
		else if (v == FILTER_BOUNCE)
			rc = policy_bounce(c, &st, res.reason);
		break;
	case FILTER_CLOSE:
		rc = policy_close(c, res.reason);
		break;
	}
	stanza_fini(&st);
	buf_fini(&out);
	xnode_free(secret);
	return rc;
}
