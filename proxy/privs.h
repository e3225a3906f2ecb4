/* SPDX-License-Identifier: ISC */
/*
 * Who the daemon runs as: the config's user, group, chroot and allow_root
 * (and workers, compared on reload), resolved at load, applied once at
 * start after the listeners are bound. See privs.c for the order.
 */
#ifndef XMPPGATE_PRIVS_H
#define XMPPGATE_PRIVS_H

#include "config.h"

/*
 * Resolves user and group to ids and checks that the chroot directory is
 * one (config load and -n). Errors name the key ("user: no such user
 * 'xmpgate'").
 */
int privs_load(struct config *, char **err) __attribute__((warn_unused_result));
/* Refuses, before anything is bound, a root start that would stay root
 * without allow_root. */
int privs_check_root(const struct config *, char **err)
    __attribute__((warn_unused_result));
/*
 * Runs fn(arg, err) with the user's and group's ids as the effective ones,
 * so that the files it creates are theirs and access is checked as theirs,
 * then becomes root again. Just fn when there is no user or not root.
 */
int privs_as_user(const struct config *, int (*fn)(void *arg, char **err),
    void *arg, char **err) __attribute__((warn_unused_result));
/*
 * For good: the chroot, then the user's group alone as supplementary
 * group, the group and the user as real, effective and saved ids; checked
 * to have stuck. Errors name the key.
 */
int privs_drop(const struct config *, char **err)
    __attribute__((warn_unused_result));
/* The first start-only key (user, group, chroot, allow_root, workers)
 * whose value next changes, for a reload's warning; NULL when none. */
const char *privs_changed(
    const struct config *running, const struct config *next);

#endif
