/* SPDX-License-Identifier: ISC */
/*
 * Per-address connection limits on a fixed table: open hashing with chains
 * through the entries, and an LRU list of the entries that may be forgotten
 * (those with no open session). Entries with open sessions are off that
 * list, so finding room is O(1): the free list, else the LRU tail. The
 * token bucket refills continuously at rate/interval per second up to the
 * burst; a refused connection takes no token, so a client that backs off
 * gets in again after 1/rate of the interval. It does not decide what a
 * refusal looks like, nor log: the result says when a line is due.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "xmalloc.h"

#define RL_NIL UINT32_MAX

struct rl_entry {
	struct ratelimit_key key;
	unsigned open;       /* sessions open: kept while > 0 */
	unsigned refused;    /* refusals since the last logged one */
	double tokens;       /* the bucket, as of stamp */
	double stamp;        /* last refill */
	double logged;       /* when a refusal was last logged; < 0: never */
	uint32_t hnext;      /* hash chain */
	uint32_t prev, next; /* LRU list (open == 0) or free list (next) */
};

struct ratelimit {
	struct ratelimit_params p;
	struct rl_entry *e; /* owned: slots entries */
	uint32_t slots;
	uint32_t *bucket; /* owned: chain heads */
	uint32_t mask;
	uint64_t seed;
	uint32_t lru_head, lru_tail; /* most recent first */
	uint32_t free_head;
	size_t used;
};

/* A 64-bit mix (splitmix64's finalizer) of the key under the seed. */
static uint32_t
rl_hash(const struct ratelimit *rl, const struct ratelimit_key *k)
{
	uint64_t v;

	memcpy(&v, k->addr, sizeof(v));
	v ^= rl->seed + (uint64_t)k->family * 0x9e3779b97f4a7c15ULL;
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
	v ^= v >> 31;
	return (uint32_t)v & rl->mask;
}

static bool
rl_same(const struct ratelimit_key *a, const struct ratelimit_key *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* The counted address of sa; -1 for a family that is not counted. */
static int
rl_key(const struct sockaddr *sa, struct ratelimit_key *k)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const struct sockaddr_in6 *s6;

	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		k->family = AF_INET;
		memcpy(k->addr,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (memcmp(s6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0) {
		k->family = AF_INET;
		memcpy(k->addr, s6->sin6_addr.s6_addr + 12, 4);
		return 0;
	}
	k->family = AF_INET6;
	memcpy(k->addr, s6->sin6_addr.s6_addr, 8);
	return 0;
}

const char *
ratelimit_key_str(const struct ratelimit_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	uint8_t v6[16] = {0};

	if (k->family == AF_INET) {
		inet_ntop(AF_INET, k->addr, buf, (socklen_t)len);
		return buf;
	}
	memcpy(v6, k->addr, 8);
	inet_ntop(AF_INET6, v6, a, sizeof(a));
	snprintf(buf, len, "%s/64", a);
	return buf;
}

static void
rl_lru_unlink(struct ratelimit *rl, uint32_t i)
{
	struct rl_entry *e = &rl->e[i];

	if (e->prev != RL_NIL)
		rl->e[e->prev].next = e->next;
	else
		rl->lru_head = e->next;
	if (e->next != RL_NIL)
		rl->e[e->next].prev = e->prev;
	else
		rl->lru_tail = e->prev;
	e->prev = e->next = RL_NIL;
}

static void
rl_lru_push(struct ratelimit *rl, uint32_t i)
{
	struct rl_entry *e = &rl->e[i];

	e->prev = RL_NIL;
	e->next = rl->lru_head;
	if (rl->lru_head != RL_NIL)
		rl->e[rl->lru_head].prev = i;
	else
		rl->lru_tail = i;
	rl->lru_head = i;
}

static uint32_t
rl_find(const struct ratelimit *rl, const struct ratelimit_key *k)
{
	uint32_t i;

	for (i = rl->bucket[rl_hash(rl, k)]; i != RL_NIL; i = rl->e[i].hnext)
		if (rl_same(&rl->e[i].key, k))
			return i;
	return RL_NIL;
}

/* Takes entry i out of its hash chain. */
static void
rl_unhash(struct ratelimit *rl, uint32_t i)
{
	uint32_t *p = &rl->bucket[rl_hash(rl, &rl->e[i].key)];

	while (*p != i)
		p = &rl->e[*p].hnext;
	*p = rl->e[i].hnext;
}

/*
 * A new entry for k with a full bucket: a free one, else the least
 * recently seen one without open sessions. RL_NIL when every entry has
 * open sessions.
 */
static uint32_t
rl_insert(struct ratelimit *rl, const struct ratelimit_key *k, double now)
{
	struct rl_entry *e;
	uint32_t i, h;

	if (rl->free_head != RL_NIL) {
		i = rl->free_head;
		rl->free_head = rl->e[i].next;
		rl->used++;
	} else if (rl->lru_tail != RL_NIL) {
		i = rl->lru_tail;
		rl_lru_unlink(rl, i);
		rl_unhash(rl, i);
	} else {
		return RL_NIL;
	}
	e = &rl->e[i];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->tokens = rl->p.burst;
	e->stamp = now;
	e->logged = -1;
	h = rl_hash(rl, k);
	e->hnext = rl->bucket[h];
	rl->bucket[h] = i;
	rl_lru_push(rl, i);
	return i;
}

/* The bucket as of now. */
static void
rl_refill(const struct ratelimit *rl, struct rl_entry *e, double now)
{
	if (rl->p.rate == 0) /* no rate: full whenever one is set */
		e->tokens = rl->p.burst;
	else if (now > e->stamp)
		e->tokens += (now - e->stamp) * rl->p.rate / rl->p.interval_s;
	if (e->tokens > rl->p.burst)
		e->tokens = rl->p.burst;
	if (now > e->stamp)
		e->stamp = now;
}

static void
rl_refuse(const struct ratelimit *rl, struct rl_entry *e, double now,
    enum ratelimit_verdict v, struct ratelimit_result *r)
{
	r->verdict = v;
	r->open = e->open;
	e->refused++;
	if (e->logged < 0 || now - e->logged >= rl->p.interval_s) {
		r->log = true;
		r->refused = e->refused;
		e->refused = 0;
		e->logged = now;
	}
}

bool
ratelimit_active(const struct ratelimit_params *p)
{
	return p->rate > 0 || p->max_open > 0;
}

void
ratelimit_admit(struct ratelimit *rl, const struct sockaddr *sa, double now,
    struct ratelimit_result *r)
{
	struct rl_entry *e;
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->verdict = RATELIMIT_ADMIT;
	if (!ratelimit_active(&rl->p) || rl_key(sa, &r->key) == -1)
		return;
	if ((i = rl_find(rl, &r->key)) == RL_NIL &&
	    (i = rl_insert(rl, &r->key, now)) == RL_NIL)
		return; /* full of open sessions: untracked */
	e = &rl->e[i];
	if (e->open == 0) { /* most recently seen */
		rl_lru_unlink(rl, i);
		rl_lru_push(rl, i);
	}
	rl_refill(rl, e, now);
	if (rl->p.max_open > 0 && e->open >= rl->p.max_open) {
		rl_refuse(rl, e, now, RATELIMIT_OPEN, r);
		return;
	}
	if (rl->p.rate > 0) {
		if (e->tokens < 1) {
			rl_refuse(rl, e, now, RATELIMIT_RATE, r);
			return;
		}
		e->tokens -= 1;
	}
	if (e->open++ == 0)
		rl_lru_unlink(rl, i);
	r->open = e->open;
	r->tracked = true;
}

void
ratelimit_release(struct ratelimit *rl, const struct ratelimit_key *k)
{
	uint32_t i = rl_find(rl, k);

	if (i == RL_NIL || rl->e[i].open == 0)
		return;
	if (--rl->e[i].open == 0)
		rl_lru_push(rl, i);
}

void
ratelimit_set(struct ratelimit *rl, const struct ratelimit_params *p)
{
	rl->p = *p;
	if (rl->p.interval_s == 0)
		rl->p.interval_s = 1;
	if (rl->p.burst == 0)
		rl->p.burst = rl->p.rate;
}

size_t
ratelimit_size(const struct ratelimit *rl)
{
	return rl->used;
}

struct ratelimit *
ratelimit_new(size_t slots, uint64_t seed)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	size_t nb = 1;
	uint32_t i;

	if (slots == 0 || slots >= RL_NIL)
		slots = slots == 0 ? 1 : RL_NIL - 1;
	while (nb < slots)
		nb <<= 1;
	rl->slots = (uint32_t)slots;
	rl->e = xcalloc(slots, sizeof(*rl->e));
	rl->bucket = xreallocarray(NULL, nb, sizeof(*rl->bucket));
	rl->mask = (uint32_t)(nb - 1);
	rl->seed = seed;
	for (i = 0; i < nb; i++)
		rl->bucket[i] = RL_NIL;
	for (i = 0; i < rl->slots; i++)
		rl->e[i].next = i + 1 < rl->slots ? i + 1 : RL_NIL;
	rl->free_head = 0;
	rl->lru_head = rl->lru_tail = RL_NIL;
	rl->p.interval_s = 1;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->e);
	free(rl->bucket);
	free(rl);
}
