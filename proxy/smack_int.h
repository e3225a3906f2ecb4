/* SPDX-License-Identifier: ISC */
/*
 * What the three smack files share: the flow (smack_flow.c: the run-length
 * record of one direction and the `h` arithmetic), the parked state and the
 * table's internal calls (smack_table.c), used by the protocol side
 * (smack.c). Nothing outside those files includes it, but t-smack.
 */
#ifndef XMPPGATE_SMACK_INT_H
#define XMPPGATE_SMACK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "smack.h"

enum smack_item {
	SMACK_ITEM_F, /* forwarded: counted by sender and receiver */
	SMACK_ITEM_D, /* dropped: counted by the sender only */
	SMACK_ITEM_I, /* injected: counted by the receiver only */
};

struct smack_run {
	uint32_t count;
	uint8_t item; /* enum smack_item */
};

/*
 * One flow: the receiver's count base_r corresponds to the sender's base_s,
 * and runs[] are the items since, oldest first. Counts are mod 2^32.
 */
struct smack_flow {
	bool tracking; /* SM counts this flow: items are recorded */
	uint32_t base_r;
	uint32_t base_s;
	struct smack_run *runs; /* owned */
	size_t len;
	size_t cap;
};

void smack_flow_init(struct smack_flow *);
void smack_flow_fini(struct smack_flow *);
/* Starts counting at base on both sides, with nothing recorded. */
void smack_flow_start(struct smack_flow *, uint32_t base);
/* Records one item when tracking; -1 past SMACK_MAX_RUNS, else 0. */
int smack_flow_add(struct smack_flow *, enum smack_item);
/*
 * The sender's count for the receiver's count h_r. With fold, what h_r
 * settles (its items and the drops before the next forwarded one) goes into
 * the base and is freed. An h_r behind the base folds nothing.
 */
uint32_t smack_flow_ack(struct smack_flow *, uint32_t h_r, bool fold);
/* Forgets the items beyond the base (the sender sends them again). */
void smack_flow_truncate(struct smack_flow *);
/* Moves src into dst (dst must hold nothing); src is left empty. */
void smack_flow_move(struct smack_flow *dst, struct smack_flow *src);

/* A state at rest in the table between two connections. */
struct smack_parked {
	char *id;                  /* owned: the SM-ID */
	char *jid;                 /* owned: the session's full JID, or NULL */
	struct smack_flow flow[2]; /* indexed by enum smack_dir */
	unsigned window;           /* seconds it may wait */
	time_t parked_at;
};

void smack_parked_fini(struct smack_parked *);
/*
 * Moves p into the table (p is left empty), replacing an entry with the same
 * id, evicting the oldest past the bounds.
 */
void smack_table_put(struct smack_table *, struct smack_parked *p, time_t now);
/* Moves id's entry to out and returns 0; -1 when absent or expired. */
int smack_table_take(struct smack_table *, const char *id, time_t now,
    struct smack_parked *out) __attribute__((warn_unused_result));

#endif
