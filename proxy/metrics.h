/* SPDX-License-Identifier: ISC */
/*
 * The daemon's counters, for the Prometheus endpoint (metrics_http.c): a
 * tiny API the rest of the daemon calls where things happen (a session
 * opens, bytes are read, a rule matches), and the text exposition of a
 * snapshot. It serves nothing and knows no sockets.
 *
 * Shared memory, for workers. Every counter lives in ONE fixed-size struct
 * (no pointers in it, nothing allocated later; about 300 KiB, most of it
 * pages of the rule table that stay untouched) that metrics_init() maps
 * MAP_SHARED | MAP_ANONYMOUS. A supervisor that forks N workers calls
 * metrics_init() before the fork; each worker inherits the same pages and
 * calls metrics_set_worker(i) with its own index; the one process that
 * serves HTTP reads everything with metrics_snapshot(). In one process the
 * same struct is simply mapped once and the index is 0.
 *
 * - Every counter is a C11 _Atomic uint64_t, updated with relaxed
 *   fetch_add: no locks, no allocation, no system call on any hot path.
 *   A snapshot reads each counter once (relaxed): consistent enough for
 *   monitoring, never torn. A histogram's _count is computed from the
 *   same bucket reads, so it always equals its +Inf bucket. The atomics
 *   must be lock-free (a static assertion): a lock-based one would lock
 *   per process, not per mapping.
 * - The per-read and per-stanza counters (bytes, stanzas, verdicts) and
 *   the open-sessions gauge are kept per worker (struct metrics_shard,
 *   cache-line aligned, METRICS_MAX_WORKERS of them) and summed when read:
 *   workers never write the same cache line on a hot path.
 * - Rules and listeners are counted in bounded tables of slots keyed by
 *   name (METRICS_MAX_RULES, METRICS_MAX_LISTENERS). A process claims a
 *   free slot with a compare-and-swap on its state (empty -> claiming),
 *   writes the name, then publishes it (ready, release order); readers and
 *   other claimers only trust a ready slot (acquire order). Slots are never
 *   freed, so a rule keeps its counts across reloads by name. Names past
 *   the bound are counted in one overflow slot, shown as "(other)".
 * - Whether the proxy accepts sessions (the health check) is one word in
 *   the struct: whichever process decides sets it, any process serves it.
 * - When a worker dies, its sessions are gone but its counters still
 *   happened: the supervisor calls metrics_worker_exited(i), which zeroes
 *   only that worker's open-sessions gauge; counters stay monotonic and the
 *   restarted worker goes on adding to the same shard.
 *
 * Before metrics_init() (the config check, most unit tests) every hook is a
 * no-op.
 */
#ifndef XMPPGATE_METRICS_H
#define XMPPGATE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "session.h"
#include "xmlstream.h"

#define METRICS_MAX_WORKERS 64
#define METRICS_MAX_RULES 1024
#define METRICS_MAX_LISTENERS 256
/* A slot's name, NUL included; longer names are cut and get a hash. */
#define METRICS_NAME_MAX 128
/* The label value of the overflow slots. */
#define METRICS_OTHER "(other)"

enum metrics_dir {
	METRICS_C2S,
	METRICS_S2C,
	METRICS_NDIRS,
};

enum metrics_leg {
	METRICS_LEG_CLIENT,
	METRICS_LEG_UPSTREAM,
	METRICS_NLEGS,
};

enum metrics_kind {
	METRICS_MESSAGE,
	METRICS_PRESENCE,
	METRICS_IQ,
	METRICS_NKINDS,
};

/* What a rule did, as struct filter_hit names it ("log", "drop", ...). */
enum metrics_action {
	METRICS_ACTION_LOG,
	METRICS_ACTION_PASS,
	METRICS_ACTION_REWRITE,
	METRICS_ACTION_DROP,
	METRICS_ACTION_BOUNCE,
	METRICS_ACTION_CLOSE,
	METRICS_ACTION_OTHER, /* a name this version does not know */
	METRICS_NACTIONS,
};

/* What the relay did with a stanza: enum filter_verdict's values. */
#define METRICS_NVERDICTS 5
/* Room for every enum session_reason and enum xmlstream_err. */
#define METRICS_MAX_REASONS 32
#define METRICS_MAX_PARSE_ERRORS 16
/* Upstream connect latency buckets (seconds): .001 .005 ... 10, +Inf. */
#define METRICS_NBUCKETS 12

/*
 * Maps the shared counters, once per process (later calls do nothing).
 * Call before forking workers. A mapping that fails is out of memory:
 * fatalx.
 */
void metrics_init(void);
/* Unmaps them; every hook is a no-op again (tests). */
void metrics_fini(void);
/* This process is worker index (< METRICS_MAX_WORKERS); 0 by default. */
void metrics_set_worker(unsigned index);
/* For the supervisor: worker index died; its sessions are no longer open. */
void metrics_worker_exited(unsigned index);
/* Whether the proxy accepts new sessions (the health check). */
void metrics_set_accepting(bool);
bool metrics_accepting(void);

/*
 * The slot of a listener (its address) or of a rule (its name), claimed on
 * first use; the overflow slot when the table is full. -1 before
 * metrics_init(). Callers keep the slot: looking it up costs a hash and a
 * string compare, counting with it a relaxed add.
 */
int metrics_listener(const char *address);
int metrics_rule(const char *name);

/* The hooks. Cheap: a relaxed atomic add, nothing else. */
void metrics_session_open(int listener);
void metrics_session_close(enum session_reason);
void metrics_bytes(enum metrics_dir, uint64_t n);
void metrics_stanza(enum metrics_dir, enum metrics_kind);
void metrics_stanza_verdict(enum metrics_dir, unsigned verdict);
void metrics_verdict(int rule, enum metrics_action, bool dry_run);
void metrics_tls_handshake(enum metrics_leg, bool ok);
void metrics_parse_error(enum metrics_dir, enum xmlstream_err);
/* A completed upstream TCP connect (DNS included) that took ns. */
void metrics_upstream_connect(uint64_t ns);

/* "drop" -> METRICS_ACTION_DROP; an unknown name is METRICS_ACTION_OTHER. */
enum metrics_action metrics_action_from_str(const char *);
const char *metrics_action_str(enum metrics_action);
/* The le label of connect latency bucket i < METRICS_NBUCKETS ("0.001"). */
const char *metrics_bucket_le(unsigned i);
/* Monotonic clock in nanoseconds, for latencies. */
uint64_t metrics_now_ns(void);

/* A copy of every counter, summed over workers: what one scrape shows. */
struct metrics_snapshot {
	char version[32], libevent[32], openssl[32]; /* build info */
	uint64_t start_time;                         /* Unix seconds */
	bool accepting;
	int64_t sessions_open;
	uint64_t closes[METRICS_MAX_REASONS];
	uint64_t bytes[METRICS_NDIRS];
	uint64_t stanzas[METRICS_NDIRS][METRICS_NKINDS];
	uint64_t stanza_verdicts[METRICS_NDIRS][METRICS_NVERDICTS];
	uint64_t tls_ok[METRICS_NLEGS], tls_failed[METRICS_NLEGS];
	uint64_t parse_errors[METRICS_NDIRS][METRICS_MAX_PARSE_ERRORS];
	uint64_t connect_buckets[METRICS_NBUCKETS + 1]; /* not cumulative */
	uint64_t connect_sum_ns;
	/* Named slots in use, sorted by name, the overflow slot last. */
	struct metrics_named {
		char name[METRICS_NAME_MAX];
		uint64_t sessions; /* listeners */
		/* rules: [action][dry_run] */
		uint64_t verdicts[METRICS_NACTIONS][2];
	} listeners[METRICS_MAX_LISTENERS + 1], rules[METRICS_MAX_RULES + 1];
	unsigned nlisteners, nrules;
};

/* Fills snap (about 310 KiB: allocate it) from the shared counters; all
 * zeros before metrics_init(). */
void metrics_snapshot(struct metrics_snapshot *snap);
/*
 * Appends snap in the Prometheus text exposition format 0.0.4: # HELP and
 * # TYPE for every family, label values escaped (and made valid UTF-8),
 * rules and listeners by name.
 */
void metrics_format(const struct metrics_snapshot *snap, struct buf *out);
/* Appends s as a label value: \ " and newline escaped, bad UTF-8 replaced
 * with U+FFFD. */
void metrics_label_escape(const char *s, struct buf *out);
/* The Prometheus text format's media type. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
