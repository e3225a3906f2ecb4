/* SPDX-License-Identifier: ISC */
/*
 * One direction of stanza flow under stream management, as the proxy sees
 * it: a base pair of counts (the receiver's and the sender's, which differ
 * by the drops and injections already settled) and, after it, runs of
 * forwarded (F), dropped (D) and injected (I) stanzas. The sender's sequence
 * is the F and D items, the receiver's the F and I items. A receiver's count
 * h_r becomes the sender's count h_s: with f the F among the first h_r
 * receiver items, h_s is every sender item before the (f+1)-th F, i.e. f
 * plus the drops up to the next F not yet acked (a drop is settled the
 * moment it happens). Only the order of D against F and of I against F
 * matters, so when D's are folded from between I's the I's are merged. All
 * arithmetic is mod 2^32. It knows nothing of elements or sessions.
 */
#include <stdlib.h>
#include <string.h>

#include "smack_int.h"
#include "xmalloc.h"

/* A receiver's count this far behind the base is a repeated old one. */
#define SMACK_STALE 0x80000000u
/* Above this capacity, an emptied run array is given back. */
#define SMACK_KEEP_CAP 16

void
smack_flow_init(struct smack_flow *f)
{
	memset(f, 0, sizeof(*f));
}

void
smack_flow_fini(struct smack_flow *f)
{
	free(f->runs);
	smack_flow_init(f);
}

void
smack_flow_start(struct smack_flow *f, uint32_t base)
{
	smack_flow_fini(f);
	f->tracking = true;
	f->base_r = base;
	f->base_s = base;
}

int
smack_flow_add(struct smack_flow *f, enum smack_item item)
{
	struct smack_run *last;

	if (!f->tracking)
		return 0;
	last = f->len > 0 ? &f->runs[f->len - 1] : NULL;
	if (last != NULL && last->item == item && last->count < UINT32_MAX) {
		last->count++;
		return 0;
	}
	if (f->len >= SMACK_MAX_RUNS)
		return -1;
	if (f->len == f->cap) {
		f->cap = f->cap == 0 ? 4 : f->cap * 2;
		f->runs = xreallocarray(f->runs, f->cap, sizeof(*f->runs));
	}
	f->runs[f->len].count = 1;
	f->runs[f->len].item = (uint8_t)item;
	f->len++;
	return 0;
}

/*
 * Writes r at index w of the compacted array, merged into the run before it
 * when of the same kind. Returns the next free index. w never passes the
 * index being read, so compaction happens in place.
 */
static size_t
smack_flow_keep(struct smack_flow *f, size_t w, struct smack_run r)
{
	struct smack_run *prev = w > 0 ? &f->runs[w - 1] : NULL;

	if (prev != NULL && prev->item == r.item &&
	    prev->count <= UINT32_MAX - r.count) {
		prev->count += r.count;
		return w;
	}
	f->runs[w] = r;
	return w + 1;
}

uint32_t
smack_flow_ack(struct smack_flow *f, uint32_t h_r, bool fold)
{
	uint32_t need = h_r - f->base_r, s = 0, take;
	struct smack_run r;
	size_t i, w = 0;

	/* Acks only grow; an older one is answered by the base's offset. */
	if (need >= SMACK_STALE)
		return f->base_s - (f->base_r - h_r);
	for (i = 0; i < f->len; i++) {
		r = f->runs[i];
		if (r.item == SMACK_ITEM_D) {
			s += r.count;
			continue;
		}
		if (r.item == SMACK_ITEM_F && need == 0)
			break;
		take = r.count < need ? r.count : need;
		need -= take;
		if (r.item == SMACK_ITEM_F)
			s += take;
		if (take == r.count)
			continue;
		r.count -= take;
		if (fold)
			w = smack_flow_keep(f, w, r);
		if (r.item == SMACK_ITEM_F) {
			/* The next F not acked: what follows stays. */
			i++;
			break;
		}
	}
	/*
	 * need is left only when the receiver acks more than the proxy saw
	 * (SM began before the proxy looked, or the peer is wrong): passed
	 * on one for one, as without drops or injections.
	 */
	s += need;
	if (!fold)
		return f->base_s + s;
	for (; i < f->len; i++)
		w = smack_flow_keep(f, w, f->runs[i]);
	f->len = w;
	if (f->len == 0 && f->cap > SMACK_KEEP_CAP) {
		free(f->runs);
		f->runs = NULL;
		f->cap = 0;
	}
	f->base_r = h_r;
	f->base_s += s;
	return f->base_s;
}

void
smack_flow_truncate(struct smack_flow *f)
{
	free(f->runs);
	f->runs = NULL;
	f->len = f->cap = 0;
}

void
smack_flow_move(struct smack_flow *dst, struct smack_flow *src)
{
	*dst = *src;
	smack_flow_init(src);
}
