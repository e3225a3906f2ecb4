/* SPDX-License-Identifier: ISC */
/*
 * The counters: one fixed-size struct in a shared anonymous mapping,
 * updated with relaxed atomic adds from the hooks the daemon calls, named
 * slots for rules and listeners claimed with a compare-and-swap, and the
 * snapshot that sums the workers' shards for a scrape. The layout and the
 * rules for workers are in metrics.h. The text format is in
 * metrics_format.c, the HTTP endpoint in metrics_http.c.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "filter.h"
#include "log.h"
#include "metrics.h"

/* A relaxed counter shared by processes: never lock-based. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
    "the shared counters need lock-free 64-bit atomics");
_Static_assert(SESSION_NREASONS <= METRICS_MAX_REASONS, "session reasons");
_Static_assert(XMLSTREAM_NERRS <= METRICS_MAX_PARSE_ERRORS, "parse errors");
_Static_assert(FILTER_CLOSE + 1 == METRICS_NVERDICTS, "filter verdicts");

enum metrics_key_state {
	METRICS_KEY_EMPTY,    /* never used: a lookup may claim it */
	METRICS_KEY_CLAIMING, /* a process is writing the name */
	METRICS_KEY_READY,    /* the name is final */
};

/* A claimer writes one name: if one seems stuck this long, it died. */
#define METRICS_CLAIM_SPINS 1000

/* The name of a slot; the counters are in arrays beside the keys. */
struct metrics_key {
	_Atomic uint32_t state; /* enum metrics_key_state */
	char name[METRICS_NAME_MAX];
};

/* One worker's hot counters, on cache lines of their own. */
struct metrics_shard {
	_Alignas(64) _Atomic uint64_t sessions_open; /* opened - closed */
	_Atomic uint64_t bytes[METRICS_NDIRS];
	_Atomic uint64_t stanzas[METRICS_NDIRS][METRICS_NKINDS];
	_Atomic uint64_t stanza_verdicts[METRICS_NDIRS][METRICS_NVERDICTS];
};

/* Everything, in one mapping; no pointers, so any process can read it. */
struct metrics_shared {
	uint64_t start_time; /* written before any fork, then read-only */
	_Atomic uint32_t accepting;
	_Atomic uint64_t closes[METRICS_MAX_REASONS];
	_Atomic uint64_t tls_ok[METRICS_NLEGS], tls_failed[METRICS_NLEGS];
	_Atomic uint64_t parse_errors[METRICS_NDIRS][METRICS_MAX_PARSE_ERRORS];
	_Atomic uint64_t connect_buckets[METRICS_NBUCKETS + 1];
	_Atomic uint64_t connect_sum_ns;
	struct metrics_key listener_keys[METRICS_MAX_LISTENERS];
	/* [METRICS_MAX_LISTENERS] is the overflow slot; likewise for rules */
	_Atomic uint64_t listener_sessions[METRICS_MAX_LISTENERS + 1];
	struct metrics_key rule_keys[METRICS_MAX_RULES];
	_Atomic uint64_t
	    rule_verdicts[METRICS_MAX_RULES + 1][METRICS_NACTIONS][2];
	struct metrics_shard shards[METRICS_MAX_WORKERS];
};

static struct metrics_shared *metrics_shm; /* the mapping, or NULL */
static struct metrics_shard *metrics_mine; /* this process's shard */

/* Upper bounds of the connect latency buckets, in nanoseconds. */
static const uint64_t metrics_bounds_ns[METRICS_NBUCKETS] = {
    1000000ULL,
    5000000ULL,
    10000000ULL,
    25000000ULL,
    50000000ULL,
    100000000ULL,
    250000000ULL,
    500000000ULL,
    1000000000ULL,
    2500000000ULL,
    5000000000ULL,
    10000000000ULL,
};

static const char *const metrics_bounds_le[METRICS_NBUCKETS] = {
    "0.001",
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1",
    "2.5",
    "5",
    "10",
};

static const char *const metrics_actions[METRICS_NACTIONS] = {
    [METRICS_ACTION_LOG] = "log",
    [METRICS_ACTION_PASS] = "pass",
    [METRICS_ACTION_REWRITE] = "rewrite",
    [METRICS_ACTION_DROP] = "drop",
    [METRICS_ACTION_BOUNCE] = "bounce",
    [METRICS_ACTION_CLOSE] = "close",
    [METRICS_ACTION_OTHER] = "other",
};

#define ADD(counter, n)                                                        \
	atomic_fetch_add_explicit(&(counter), (n), memory_order_relaxed)
#define GET(counter) atomic_load_explicit(&(counter), memory_order_relaxed)

void
metrics_init(void)
{
	void *p;

	if (metrics_shm != NULL)
		return;
	p = mmap(NULL, sizeof(*metrics_shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatalx("metrics: cannot map %zu bytes of shared memory",
		    sizeof(*metrics_shm));
	metrics_shm = p; /* zeroed by the kernel */
	metrics_shm->start_time = (uint64_t)time(NULL);
	metrics_mine = &metrics_shm->shards[0];
}

void
metrics_fini(void)
{
	if (metrics_shm == NULL)
		return;
	(void)munmap(metrics_shm, sizeof(*metrics_shm));
	metrics_shm = NULL;
	metrics_mine = NULL;
}

void
metrics_set_worker(unsigned index)
{
	if (index >= METRICS_MAX_WORKERS)
		fatalx("metrics: worker index %u, at most %d workers", index,
		    METRICS_MAX_WORKERS);
	if (metrics_shm != NULL)
		metrics_mine = &metrics_shm->shards[index];
}

void
metrics_worker_exited(unsigned index)
{
	if (metrics_shm == NULL || index >= METRICS_MAX_WORKERS)
		return;
	atomic_store_explicit(
	    &metrics_shm->shards[index].sessions_open, 0, memory_order_relaxed);
}

void
metrics_set_accepting(bool on)
{
	if (metrics_shm != NULL)
		atomic_store_explicit(
		    &metrics_shm->accepting, on ? 1 : 0, memory_order_relaxed);
}

bool
metrics_accepting(void)
{
	return metrics_shm != NULL && GET(metrics_shm->accepting) != 0;
}

/* FNV-1a: short names, no adversary who gains by collisions. */
static uint64_t
metrics_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * The key a name is counted under: the name itself when it fits, else its
 * start (cut at a character boundary) and "~" with a hash of the whole, so
 * that two long names with the same start stay apart.
 */
static void
metrics_key_name(const char *name, char out[METRICS_NAME_MAX])
{
	size_t n = strlen(name), keep = METRICS_NAME_MAX - 18;

	if (n < METRICS_NAME_MAX) {
		memcpy(out, name, n + 1);
		return;
	}
	while (keep > 0 && ((unsigned char)name[keep] & 0xc0) == 0x80)
		keep--;
	memcpy(out, name, keep);
	snprintf(out + keep, METRICS_NAME_MAX - keep, "~%016llx",
	    (unsigned long long)metrics_hash(name));
}

/* Waits out a claim in progress; returns the state it ends in. */
static uint32_t
metrics_key_settle(struct metrics_key *k, uint32_t st)
{
	unsigned spins;

	for (spins = 0;
	     st == METRICS_KEY_CLAIMING && spins < METRICS_CLAIM_SPINS;
	     spins++) {
		sched_yield();
		st = atomic_load_explicit(&k->state, memory_order_acquire);
	}
	return st;
}

/*
 * The slot of name in keys[n] (open addressing, linear probing; slots are
 * never freed, so the first empty one ends a search): found, claimed, or n
 * (the overflow slot) when every slot holds another name.
 */
static int
metrics_key_find(struct metrics_key *keys, size_t n, const char *name)
{
	char key[METRICS_NAME_MAX];
	struct metrics_key *k;
	uint32_t st, expect;
	size_t i, at;

	metrics_key_name(name, key);
	at = (size_t)(metrics_hash(key) % n);
	for (i = 0; i < n; i++, at = (at + 1) % n) {
		k = &keys[at];
		st = atomic_load_explicit(&k->state, memory_order_acquire);
		if (st == METRICS_KEY_EMPTY) {
			expect = METRICS_KEY_EMPTY;
			if (atomic_compare_exchange_strong_explicit(&k->state,
			        &expect, METRICS_KEY_CLAIMING,
			        memory_order_acq_rel, memory_order_acquire)) {
				memcpy(k->name, key, sizeof(key));
				atomic_store_explicit(&k->state,
				    METRICS_KEY_READY, memory_order_release);
				return (int)at;
			}
			st = expect; /* another process got there first */
		}
		st = metrics_key_settle(k, st);
		if (st == METRICS_KEY_READY && strcmp(k->name, key) == 0)
			return (int)at;
	}
	return (int)n;
}

int
metrics_listener(const char *address)
{
	if (metrics_shm == NULL)
		return -1;
	return metrics_key_find(
	    metrics_shm->listener_keys, METRICS_MAX_LISTENERS, address);
}

int
metrics_rule(const char *name)
{
	if (metrics_shm == NULL)
		return -1;
	return metrics_key_find(
	    metrics_shm->rule_keys, METRICS_MAX_RULES, name);
}

void
metrics_session_open(int listener)
{
	if (metrics_shm == NULL)
		return;
	ADD(metrics_mine->sessions_open, 1);
	if (listener >= 0 && listener <= METRICS_MAX_LISTENERS)
		ADD(metrics_shm->listener_sessions[listener], 1);
}

void
metrics_session_close(enum session_reason reason)
{
	if (metrics_shm == NULL)
		return;
	atomic_fetch_sub_explicit(
	    &metrics_mine->sessions_open, 1, memory_order_relaxed);
	if ((unsigned)reason < METRICS_MAX_REASONS)
		ADD(metrics_shm->closes[reason], 1);
}

void
metrics_bytes(enum metrics_dir dir, uint64_t n)
{
	if (metrics_shm != NULL && n > 0)
		ADD(metrics_mine->bytes[dir], n);
}

void
metrics_stanza(enum metrics_dir dir, enum metrics_kind kind)
{
	if (metrics_shm != NULL)
		ADD(metrics_mine->stanzas[dir][kind], 1);
}

void
metrics_stanza_verdict(enum metrics_dir dir, unsigned verdict)
{
	if (metrics_shm != NULL && verdict < METRICS_NVERDICTS)
		ADD(metrics_mine->stanza_verdicts[dir][verdict], 1);
}

void
metrics_verdict(int rule, enum metrics_action action, bool dry_run)
{
	if (metrics_shm == NULL || rule < 0 || rule > METRICS_MAX_RULES ||
	    (unsigned)action >= METRICS_NACTIONS)
		return;
	ADD(metrics_shm->rule_verdicts[rule][action][dry_run ? 1 : 0], 1);
}

void
metrics_tls_handshake(enum metrics_leg leg, bool ok)
{
	if (metrics_shm == NULL)
		return;
	if (ok)
		ADD(metrics_shm->tls_ok[leg], 1);
	else
		ADD(metrics_shm->tls_failed[leg], 1);
}

void
metrics_parse_error(enum metrics_dir dir, enum xmlstream_err err)
{
	if (metrics_shm != NULL && (unsigned)err < METRICS_MAX_PARSE_ERRORS)
		ADD(metrics_shm->parse_errors[dir][err], 1);
}

void
metrics_upstream_connect(uint64_t ns)
{
	size_t i;

	if (metrics_shm == NULL)
		return;
	for (i = 0; i < METRICS_NBUCKETS && ns > metrics_bounds_ns[i]; i++)
		;
	ADD(metrics_shm->connect_buckets[i], 1);
	ADD(metrics_shm->connect_sum_ns, ns);
}

enum metrics_action
metrics_action_from_str(const char *s)
{
	size_t i;

	for (i = 0; i < METRICS_ACTION_OTHER; i++)
		if (strcmp(s, metrics_actions[i]) == 0)
			return (enum metrics_action)i;
	return METRICS_ACTION_OTHER;
}

const char *
metrics_action_str(enum metrics_action a)
{
	return (unsigned)a < METRICS_NACTIONS ? metrics_actions[a] : "other";
}

const char *
metrics_bucket_le(unsigned i)
{
	return i < METRICS_NBUCKETS ? metrics_bounds_le[i] : "+Inf";
}

uint64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
metrics_named_cmp(const void *a, const void *b)
{
	const struct metrics_named *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Copies the ready slots of one table (and a used overflow slot, last). */
static unsigned
metrics_snapshot_named(struct metrics_key *keys, size_t n,
    struct metrics_named *out, bool (*copy)(size_t, struct metrics_named *))
{
	unsigned used = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (atomic_load_explicit(&keys[i].state,
		        memory_order_acquire) != METRICS_KEY_READY)
			continue;
		memcpy(out[used].name, keys[i].name, METRICS_NAME_MAX);
		out[used].name[METRICS_NAME_MAX - 1] = '\0';
		(void)copy(i, &out[used]);
		used++;
	}
	qsort(out, used, sizeof(*out), metrics_named_cmp);
	if (copy(n, &out[used])) {
		snprintf(out[used].name, METRICS_NAME_MAX, "%s", METRICS_OTHER);
		used++;
	}
	return used;
}

/* One listener slot's counts; true when it counted anything. */
static bool
metrics_copy_listener(size_t i, struct metrics_named *out)
{
	memset(out->verdicts, 0, sizeof(out->verdicts));
	out->sessions = GET(metrics_shm->listener_sessions[i]);
	return out->sessions != 0;
}

static bool
metrics_copy_rule(size_t i, struct metrics_named *out)
{
	bool any = false;
	size_t a, d;

	out->sessions = 0;
	for (a = 0; a < METRICS_NACTIONS; a++)
		for (d = 0; d < 2; d++) {
			out->verdicts[a][d] =
			    GET(metrics_shm->rule_verdicts[i][a][d]);
			any |= out->verdicts[a][d] != 0;
		}
	return any;
}

/* Sums the shards into snap. */
static void
metrics_snapshot_shards(struct metrics_snapshot *snap)
{
	const struct metrics_shard *sh;
	size_t w, d, k;

	for (w = 0; w < METRICS_MAX_WORKERS; w++) {
		sh = &metrics_shm->shards[w];
		snap->sessions_open += (int64_t)GET(sh->sessions_open);
		for (d = 0; d < METRICS_NDIRS; d++) {
			snap->bytes[d] += GET(sh->bytes[d]);
			for (k = 0; k < METRICS_NKINDS; k++)
				snap->stanzas[d][k] += GET(sh->stanzas[d][k]);
			for (k = 0; k < METRICS_NVERDICTS; k++)
				snap->stanza_verdicts[d][k] +=
				    GET(sh->stanza_verdicts[d][k]);
		}
	}
}

void
metrics_snapshot(struct metrics_snapshot *snap)
{
	struct metrics_shared *m = metrics_shm;
	size_t i, d;

	memset(snap, 0, sizeof(*snap));
	snprintf(snap->version, sizeof(snap->version), "%s", PACKAGE_VERSION);
	snprintf(
	    snap->libevent, sizeof(snap->libevent), "%s", event_get_version());
	snprintf(snap->openssl, sizeof(snap->openssl), "%s",
	    OpenSSL_version(OPENSSL_VERSION_STRING));
	if (m == NULL)
		return;
	snap->start_time = m->start_time;
	snap->accepting = GET(m->accepting) != 0;
	metrics_snapshot_shards(snap);
	for (i = 0; i < METRICS_MAX_REASONS; i++)
		snap->closes[i] = GET(m->closes[i]);
	for (d = 0; d < METRICS_NLEGS; d++) {
		snap->tls_ok[d] = GET(m->tls_ok[d]);
		snap->tls_failed[d] = GET(m->tls_failed[d]);
	}
	for (d = 0; d < METRICS_NDIRS; d++)
		for (i = 0; i < METRICS_MAX_PARSE_ERRORS; i++)
			snap->parse_errors[d][i] = GET(m->parse_errors[d][i]);
	for (i = 0; i <= METRICS_NBUCKETS; i++)
		snap->connect_buckets[i] = GET(m->connect_buckets[i]);
	snap->connect_sum_ns = GET(m->connect_sum_ns);
	snap->nlisteners = metrics_snapshot_named(m->listener_keys,
	    METRICS_MAX_LISTENERS, snap->listeners, metrics_copy_listener);
	snap->nrules = metrics_snapshot_named(
	    m->rule_keys, METRICS_MAX_RULES, snap->rules, metrics_copy_rule);
}
