/* SPDX-License-Identifier: ISC */
/*
 * The per-address connection limiter on a fake clock: the token bucket
 * (burst, refill, a refusal takes no token), the cap on open sessions and
 * its release, one log line per address and interval with the count since
 * the last one, IPv6 grouped by /64 and IPv4-mapped addresses as IPv4, the
 * fixed table forgetting the least recently seen address and never one
 * with open sessions, reloads, and limits off.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "../tap.h"

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return ss;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) != 1)
		abort();
	sin6->sin6_family = AF_INET6;
	return ss;
}

/* The verdict for a connection from s at now; *r gets the details. */
static enum ratelimit_verdict
admit(
    struct ratelimit *rl, const char *s, double now, struct ratelimit_result *r)
{
	struct sockaddr_storage ss = addr(s);

	ratelimit_admit(rl, (struct sockaddr *)&ss, now, r);
	return r->verdict;
}

/* Admits n connections from s at now; returns how many got in. */
static int
admit_n(struct ratelimit *rl, const char *s, double now, int n)
{
	struct ratelimit_result r;
	int in = 0;

	while (n-- > 0)
		in += admit(rl, s, now, &r) == RATELIMIT_ADMIT;
	return in;
}

static void
test_bucket(void)
{
	struct ratelimit_params p = {.rate = 6, .interval_s = 60, .burst = 3};
	struct ratelimit *rl = ratelimit_new(16, 1);
	struct ratelimit_result r;

	ratelimit_set(rl, &p);
	is_int(admit_n(rl, "192.0.2.1", 0, 3), 3, "a burst of 3 gets in");
	is_int(admit(rl, "192.0.2.1", 0, &r), RATELIMIT_RATE,
	    "the 4th at once is refused");
	ok(r.log && r.refused == 1 && !r.tracked,
	    "the first refusal is logged, not tracked");
	is_int(admit(rl, "192.0.2.2", 0, &r), RATELIMIT_ADMIT,
	    "another address has its own bucket");
	ok(r.tracked && r.open == 1, "admitted and counted");
	is_int(admit(rl, "192.0.2.1", 9.9, &r), RATELIMIT_RATE,
	    "6 per 60 s: nothing back before 10 s");
	ok(!r.log, "a second refusal in the interval is not logged");
	is_int(admit(rl, "192.0.2.1", 10, &r), RATELIMIT_ADMIT,
	    "one token back after 10 s (refusals took none)");
	is_int(admit(rl, "192.0.2.1", 10, &r), RATELIMIT_RATE, "and only one");
	is_int(admit_n(rl, "192.0.2.1", 1000, 5), 3,
	    "a long pause refills to the burst, no more");
	ratelimit_free(rl);
}

static void
test_log_interval(void)
{
	struct ratelimit_params p = {.rate = 1, .interval_s = 10, .burst = 1};
	struct ratelimit *rl = ratelimit_new(16, 2);
	struct ratelimit_result r;
	int logged = 0, i;

	ratelimit_set(rl, &p);
	admit(rl, "198.51.100.9", 0, &r);
	for (i = 0; i < 100; i++) {
		admit(rl, "198.51.100.9", i * 0.05, &r);
		logged += r.log;
	}
	is_int(logged, 1, "100 refusals within 5 s: one log line");
	/* At 10 s a token is back: refuse twice more past the interval. */
	is_int(admit(rl, "198.51.100.9", 10, &r), RATELIMIT_ADMIT,
	    "a token after the interval");
	is_int(admit(rl, "198.51.100.9", 10.5, &r), RATELIMIT_RATE,
	    "refused again");
	ok(r.log, "the first refusal of the next interval is logged");
	is_int(r.refused, 100, "with the 99 unlogged ones and itself");
	ratelimit_free(rl);
}

static void
test_open_cap(void)
{
	struct ratelimit_params p = {.max_open = 2, .interval_s = 60};
	struct ratelimit *rl = ratelimit_new(16, 3);
	struct ratelimit_result a, b, r;

	ratelimit_set(rl, &p);
	ok(admit(rl, "203.0.113.5", 0, &a) == RATELIMIT_ADMIT &&
	        admit(rl, "203.0.113.5", 0, &b) == RATELIMIT_ADMIT,
	    "two sessions open");
	is_int(b.open, 2, "the second counts two open");
	is_int(admit(rl, "203.0.113.5", 0, &r), RATELIMIT_OPEN,
	    "a third is refused while two are open");
	ok(r.log && r.open == 2, "logged, with the open count");
	ratelimit_release(rl, &a.key);
	is_int(admit(rl, "203.0.113.5", 1, &r), RATELIMIT_ADMIT,
	    "admitted once one ended");
	ratelimit_release(rl, &b.key);
	ratelimit_release(rl, &r.key);
	ratelimit_release(rl, &r.key);
	is_int(admit_n(rl, "203.0.113.5", 2, 3), 2,
	    "a release too many does not raise the cap");
	ratelimit_free(rl);
}

static void
test_keys(void)
{
	struct ratelimit_params p = {.max_open = 1, .interval_s = 60};
	struct ratelimit *rl = ratelimit_new(16, 4);
	struct ratelimit_result r;
	char s[64];
	struct sockaddr sa;

	ratelimit_set(rl, &p);
	admit(rl, "2001:db8:1:2::1", 0, &r);
	is_str(ratelimit_key_str(&r.key, s, sizeof(s)), "2001:db8:1:2::/64",
	    "an IPv6 address counts as its /64");
	is_int(admit(rl, "2001:db8:1:2:ffff:1:2:3", 0, &r), RATELIMIT_OPEN,
	    "another address of the same /64 is the same client");
	is_int(admit(rl, "2001:db8:1:3::1", 0, &r), RATELIMIT_ADMIT,
	    "the next /64 is another");
	admit(rl, "192.0.2.77", 0, &r);
	is_str(ratelimit_key_str(&r.key, s, sizeof(s)), "192.0.2.77",
	    "IPv4 counts per address");
	is_int(admit(rl, "::ffff:192.0.2.77", 0, &r), RATELIMIT_OPEN,
	    "an IPv4-mapped IPv6 address is its IPv4 address");
	is_int(admit(rl, "192.0.2.78", 0, &r), RATELIMIT_ADMIT,
	    "the next IPv4 address is another");
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ratelimit_admit(rl, &sa, 0, &r);
	ok(r.verdict == RATELIMIT_ADMIT && !r.tracked,
	    "another family is admitted untracked");
	ratelimit_free(rl);
}

static void
test_table(void)
{
	struct ratelimit_params p = {.rate = 1, .interval_s = 60, .burst = 1};
	struct ratelimit *rl = ratelimit_new(3, 5);
	struct ratelimit_result r, held[3];
	char s[32];
	int i;

	ratelimit_set(rl, &p);
	admit(rl, "10.0.0.1", 0, &r);
	ratelimit_release(rl, &r.key);
	admit(rl, "10.0.0.2", 1, &r);
	ratelimit_release(rl, &r.key);
	is_int(admit(rl, "10.0.0.1", 2, &r), RATELIMIT_RATE,
	    "10.0.0.1 is remembered (and seen again)");
	admit(rl, "10.0.0.3", 3, &r);
	ratelimit_release(rl, &r.key);
	is_int(ratelimit_size(rl), 3, "the table is full");
	admit(rl, "10.0.0.4", 4, &r);
	ratelimit_release(rl, &r.key);
	is_int(ratelimit_size(rl), 3, "a fourth address takes a place");
	is_int(admit(rl, "10.0.0.1", 5, &r), RATELIMIT_RATE,
	    "the most recently seen stay");
	is_int(admit(rl, "10.0.0.2", 5, &r), RATELIMIT_ADMIT,
	    "the least recently seen was forgotten: a fresh bucket");

	/* Open sessions pin their addresses. */
	rl = (ratelimit_free(rl), ratelimit_new(3, 6));
	ratelimit_set(rl, &p);
	for (i = 0; i < 3; i++) {
		snprintf(s, sizeof(s), "10.1.0.%d", i);
		admit(rl, s, 0, &held[i]);
	}
	is_int(admit(rl, "10.1.0.9", 0, &r), RATELIMIT_ADMIT,
	    "a table full of open sessions admits a new address");
	ok(!r.tracked, "untracked");
	for (i = 0; i < 3; i++) {
		snprintf(s, sizeof(s), "10.1.0.%d", i);
		is_int(admit(rl, s, 1, &r), RATELIMIT_RATE,
		    "%s with a session open is still known", s);
	}
	ratelimit_release(rl, &held[1].key);
	admit(rl, "10.1.0.9", 2, &r);
	ok(r.tracked, "a released address makes room");
	is_int(admit(rl, "10.1.0.1", 2, &r), RATELIMIT_ADMIT,
	    "the released one was the one forgotten");
	ratelimit_free(rl);
}

static void
test_reload(void)
{
	struct ratelimit_params off = {.interval_s = 60};
	struct ratelimit_params p = {
	    .rate = 2, .interval_s = 60, .burst = 2, .max_open = 1};
	struct ratelimit *rl = ratelimit_new(8, 7);
	struct ratelimit_result r, first;

	ratelimit_set(rl, &off);
	ok(!ratelimit_active(&off), "no rate, no cap: off");
	is_int(admit_n(rl, "192.0.2.50", 0, 100), 100, "off admits all");
	admit(rl, "192.0.2.50", 0, &r);
	ok(!r.tracked && ratelimit_size(rl) == 0, "and keeps nothing");
	ratelimit_set(rl, &p);
	admit(rl, "192.0.2.50", 0, &first);
	ok(first.tracked, "on after a reload");
	is_int(admit(rl, "192.0.2.50", 0, &r), RATELIMIT_OPEN, "the cap holds");
	p.max_open = 0;
	ratelimit_set(rl, &p);
	is_int(admit(rl, "192.0.2.50", 0, &r), RATELIMIT_ADMIT,
	    "a reload without the cap: the bucket's second token");
	is_int(admit(rl, "192.0.2.50", 0, &r), RATELIMIT_RATE, "then the rate");
	p.rate = 0;
	p.max_open = 1;
	ratelimit_set(rl, &p);
	ratelimit_release(rl, &first.key);
	is_int(admit(rl, "192.0.2.50", 0, &r), RATELIMIT_OPEN,
	    "sessions admitted before a reload still count");
	ratelimit_free(rl);
}

int
main(void)
{
	test_bucket();
	test_log_interval();
	test_open_cap();
	test_keys();
	test_table();
	test_reload();
	return done_testing();
}
