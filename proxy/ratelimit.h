/* SPDX-License-Identifier: ISC */
/*
 * Per-address connection limits: for each client address, a token bucket
 * of new connections (a rate per interval, with a burst) and a count of the
 * sessions it has open. An address is an IPv4 address or an IPv6 /64 (one
 * IPv6 host usually holds a whole /64, so counting single IPv6 addresses
 * would let it through unlimited); an IPv4-mapped IPv6 address counts as
 * its IPv4 address. Memory is a fixed table: an address with no open
 * session may be forgotten (least recently seen first) to make room, which
 * only gives it a fresh bucket; an address with open sessions is kept. When
 * every entry has open sessions, a new address is admitted untracked: the
 * global session cap still holds.
 * Pure: the caller gives the time and writes the logs; no sockets, no events.
 */
#ifndef XMPPGATE_RATELIMIT_H
#define XMPPGATE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ratelimit_params {
	unsigned rate;       /* new connections per interval; 0: no limit */
	unsigned interval_s; /* the rate's interval and the log interval */
	unsigned burst;      /* bucket size: connections at once */
	unsigned max_open;   /* sessions open at once; 0: no limit */
};

/* An address as counted: IPv4, or the first 64 bits of an IPv6 address. */
struct ratelimit_key {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t addr[8];
};

enum ratelimit_verdict {
	RATELIMIT_ADMIT,
	RATELIMIT_RATE, /* refused: the bucket is empty */
	RATELIMIT_OPEN, /* refused: max_open sessions already open */
};

struct ratelimit_result {
	enum ratelimit_verdict verdict;
	struct ratelimit_key key;
	/* Admitted and counted: ratelimit_release(key) when it ends. */
	bool tracked;
	/* Refused, and the first refusal of this address to log in its
	 * interval: log one line with the count below. */
	bool log;
	unsigned refused; /* refusals since the last logged one, this too */
	unsigned open;    /* sessions of the address open (admitted: with
	                   * this one) */
};

struct ratelimit;

/* A table of `slots` addresses; seed keys its hash (random in the daemon,
 * so that nobody can choose addresses that collide). */
struct ratelimit *ratelimit_new(size_t slots, uint64_t seed);
void ratelimit_free(struct ratelimit *);
/* Sets the limits; buckets and counts are kept (a reload). */
void ratelimit_set(struct ratelimit *, const struct ratelimit_params *);
/* Whether any limit is on. */
bool ratelimit_active(const struct ratelimit_params *);
/*
 * Decides on a new connection from sa at time now (seconds, monotonic).
 * Addresses other than IPv4 and IPv6 are admitted untracked.
 */
void ratelimit_admit(struct ratelimit *, const struct sockaddr *sa, double now,
    struct ratelimit_result *);
/* A session admitted with tracked == true ended. */
void ratelimit_release(struct ratelimit *, const struct ratelimit_key *);
/* "192.0.2.7" or "2001:db8:1:2::/64", for logs. */
const char *ratelimit_key_str(
    const struct ratelimit_key *, char *buf, size_t len);
/* Addresses in the table now. */
size_t ratelimit_size(const struct ratelimit *);

#endif
