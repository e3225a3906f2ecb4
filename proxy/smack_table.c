/* SPDX-License-Identifier: ISC */
/*
 * The proxy-wide table of parked stream management states, keyed by SM-ID:
 * a session that ends with a resumable state leaves it here, the session
 * that resumes takes it out. A chained hash table plus a list in parking
 * order. Memory is bounded by SMACK_TABLE_MAX_ENTRIES and by the runs summed
 * over entries (SMACK_TABLE_MAX_RUNS): past either the oldest entries are
 * evicted, and a resumption of an evicted state translates as the identity.
 * Expiry is lazy: on each put and take, expired entries are swept from the
 * oldest end up to the first live one, and an expired entry is never handed
 * out. It has no timer and no lock (the proxy has one thread); it does not
 * check who resumes (the server does, and the SM-ID is a secret).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smack_int.h"
#include "xmalloc.h"

#define SMACK_TABLE_MIN_BUCKETS 64

struct smack_entry {
	struct smack_parked p;
	size_t runs;               /* both flows' runs and the JID: the bound */
	struct smack_entry *hnext; /* owned by the bucket chain */
	struct smack_entry *older; /* borrowed: parking order */
	struct smack_entry *newer; /* borrowed */
};

struct smack_table {
	struct smack_entry **buckets; /* owned array; entries owned */
	size_t nbuckets;              /* a power of two */
	size_t count;
	size_t runs;
	struct smack_entry *oldest; /* borrowed */
	struct smack_entry *newest; /* borrowed */
};

void
smack_parked_fini(struct smack_parked *p)
{
	free(p->id);
	free(p->jid);
	smack_flow_fini(&p->flow[SMACK_C2S]);
	smack_flow_fini(&p->flow[SMACK_S2C]);
	memset(p, 0, sizeof(*p));
}

struct smack_table *
smack_table_new(void)
{
	struct smack_table *t = xcalloc(1, sizeof(*t));

	t->nbuckets = SMACK_TABLE_MIN_BUCKETS;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

void
smack_table_free(struct smack_table *t)
{
	struct smack_entry *e, *next;

	if (t == NULL)
		return;
	for (e = t->oldest; e != NULL; e = next) {
		next = e->newer;
		smack_parked_fini(&e->p);
		free(e);
	}
	free(t->buckets);
	free(t);
}

size_t
smack_table_count(const struct smack_table *t)
{
	return t->count;
}

/* FNV-1a: SM-IDs are server-made random strings, nothing to defend. */
static size_t
smack_table_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

/* The link that points at id's entry (or at the NULL ending its chain). */
static struct smack_entry **
smack_table_link(struct smack_table *t, const char *id)
{
	struct smack_entry **l =
	    &t->buckets[smack_table_hash(id) & (t->nbuckets - 1)];

	while (*l != NULL && strcmp((*l)->p.id, id) != 0)
		l = &(*l)->hnext;
	return l;
}

/* Takes e out of the table; the caller owns it afterwards. */
static void
smack_table_unlink(struct smack_table *t, struct smack_entry *e)
{
	struct smack_entry **l = smack_table_link(t, e->p.id);

	*l = e->hnext;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	t->count--;
	t->runs -= e->runs;
}

static void
smack_table_drop(struct smack_table *t, struct smack_entry *e)
{
	smack_table_unlink(t, e);
	smack_parked_fini(&e->p);
	free(e);
}

/* The window is counted from parking and includes its last second. */
static bool
smack_table_expired(const struct smack_entry *e, time_t now)
{
	return now - e->p.parked_at > (time_t)e->p.window;
}

static void
smack_table_sweep(struct smack_table *t, time_t now)
{
	while (t->oldest != NULL && smack_table_expired(t->oldest, now))
		smack_table_drop(t, t->oldest);
}

static void
smack_table_grow(struct smack_table *t)
{
	struct smack_entry *e;
	size_t i;

	t->nbuckets *= 2;
	free(t->buckets);
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	for (e = t->oldest; e != NULL; e = e->newer) {
		i = smack_table_hash(e->p.id) & (t->nbuckets - 1);
		e->hnext = t->buckets[i];
		t->buckets[i] = e;
	}
}

/* Parked states stop growing: give back the spare capacity. */
static void
smack_table_shrink(struct smack_flow *f)
{
	if (f->len == 0) {
		smack_flow_truncate(f);
		return;
	}
	f->runs = xreallocarray(f->runs, f->len, sizeof(*f->runs));
	f->cap = f->len;
}

void
smack_table_put(struct smack_table *t, struct smack_parked *p, time_t now)
{
	struct smack_entry *e, **l;

	smack_table_sweep(t, now);
	if (*(l = smack_table_link(t, p->id)) != NULL)
		smack_table_drop(t, *l);
	e = xcalloc(1, sizeof(*e));
	e->p = *p;
	memset(p, 0, sizeof(*p));
	smack_table_shrink(&e->p.flow[SMACK_C2S]);
	smack_table_shrink(&e->p.flow[SMACK_S2C]);
	/* The JID (up to 3 KiB) counts as the runs its bytes would fill. */
	e->runs = e->p.flow[SMACK_C2S].len + e->p.flow[SMACK_S2C].len;
	if (e->p.jid != NULL)
		e->runs += strlen(e->p.jid) / sizeof(struct smack_run);
	l = smack_table_link(t, e->p.id);
	e->hnext = *l;
	*l = e;
	e->older = t->newest;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
	t->count++;
	t->runs += e->runs;
	/* Never evicts e itself: one entry holds at most 2 * MAX_RUNS. */
	while (t->count > SMACK_TABLE_MAX_ENTRIES ||
	       t->runs > SMACK_TABLE_MAX_RUNS)
		smack_table_drop(t, t->oldest);
	if (t->count > t->nbuckets)
		smack_table_grow(t);
}

int
smack_table_take(
    struct smack_table *t, const char *id, time_t now, struct smack_parked *out)
{
	struct smack_entry *e;

	smack_table_sweep(t, now);
	if ((e = *smack_table_link(t, id)) == NULL)
		return -1;
	if (smack_table_expired(e, now)) {
		smack_table_drop(t, e);
		return -1;
	}
	smack_table_unlink(t, e);
	*out = e->p;
	free(e);
	return 0;
}
