/* SPDX-License-Identifier: ISC */
/*
 * Time for the replay's schedules: a monotonic clock in seconds (recorded
 * offsets are seconds too) and libevent timers armed in seconds. A wall
 * clock step must not reorder or stall a replay.
 */
#ifndef XMPPGATE_REPLAY_RTIME_H
#define XMPPGATE_REPLAY_RTIME_H

#include <event2/event.h>

/* Seconds on the monotonic clock. */
double rtime_now(void);
/* (Re)arms a timer event to fire after secs seconds (0 when negative). */
void rtime_arm(struct event *ev, double secs);

#endif
