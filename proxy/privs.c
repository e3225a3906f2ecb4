/* SPDX-License-Identifier: ISC */
/*
 * Dropping privileges, in the order the start needs: everything that wants
 * root or the whole file system first (config, certificates, plugins, the
 * resolver's files, binding the listeners), then the event files opened as
 * the user they will be reopened as (privs_as_user), then the chroot, then
 * the ids, for good (privs_drop), before the first connection is accepted
 * or a worker forked. A root start that would stay root is refused unless
 * the config says allow_root. Supplementary groups are cut to the user's
 * group. It keeps no capability and does not look at the listeners' ports.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"
#include "xmalloc.h"

int
privs_load(struct config *cfg, char **err)
{
	const char *user = cfg->process.user, *group = cfg->process.group;
	const char *dir = cfg->process.chroot;
	struct passwd *pw;
	struct group *gr;
	struct stat st;

	if (user != NULL) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL) {
			*err = xasprintf("user: no such user '%s'%s%s", user,
			    errno ? ": " : "", errno ? strerror(errno) : "");
			return -1;
		}
		cfg->process.uid = pw->pw_uid;
		cfg->process.gid = pw->pw_gid;
	}
	if (group != NULL) {
		errno = 0;
		if ((gr = getgrnam(group)) == NULL) {
			*err = xasprintf("group: no such group '%s'%s%s", group,
			    errno ? ": " : "", errno ? strerror(errno) : "");
			return -1;
		}
		cfg->process.gid = gr->gr_gid;
	}
	if (dir != NULL && stat(dir, &st) == -1) {
		*err = xasprintf("chroot: %s: %s", dir, strerror(errno));
		return -1;
	}
	if (dir != NULL && !S_ISDIR(st.st_mode)) {
		*err = xasprintf("chroot: %s: not a directory", dir);
		return -1;
	}
	return 0;
}

static bool
privs_root(void)
{
	return getuid() == 0 || geteuid() == 0;
}

int
privs_check_root(const struct config *cfg, char **err)
{
	if (!privs_root() || cfg->process.allow_root)
		return 0;
	if (cfg->process.user == NULL) {
		*err = xasprintf("refusing to run as root: set \"user\" in the "
		                 "config (or --user) to the account to become "
		                 "once the listeners are bound, or "
		                 "\"allow_root\": true to stay root");
		return -1;
	}
	if (cfg->process.uid == 0) {
		*err = xasprintf("user: '%s' is root: name another account, or "
		                 "set \"allow_root\": true to stay root",
		    cfg->process.user);
		return -1;
	}
	return 0;
}

int
privs_as_user(
    const struct config *cfg, int (*fn)(void *, char **), void *arg, char **err)
{
	gid_t gid = cfg->process.gid;
	int rc;

	if (cfg->process.user == NULL || geteuid() != 0)
		return fn(arg, err);
	if (setgroups(1, &gid) == -1 || setegid(gid) == -1 ||
	    seteuid(cfg->process.uid) == -1) {
		*err = xasprintf("user: cannot act as '%s': %s",
		    cfg->process.user, strerror(errno));
		return -1;
	}
	rc = fn(arg, err);
	if (seteuid(0) == -1 || setegid(0) == -1)
		fatalx("privs: cannot become root again: %s", strerror(errno));
	return rc;
}

static int
privs_chroot(const char *dir, char **err)
{
	if (geteuid() != 0) {
		*err = xasprintf("chroot: %s: needs root (running as uid %u)",
		    dir, (unsigned)geteuid());
		return -1;
	}
	if (chroot(dir) == -1 || chdir("/") == -1) {
		*err = xasprintf("chroot: %s: %s", dir, strerror(errno));
		return -1;
	}
	log_info("chroot=%s", dir);
	return 0;
}

/* Whether the ids are uid and gid everywhere and root is out of reach. */
static bool
privs_stuck(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		return false;
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid)
		return false;
	n = getgroups(2, groups);
	if (n < 0 || n > 1 || (n == 1 && groups[0] != gid))
		return false;
	return uid == 0 || (setuid(0) == -1 && seteuid(0) == -1);
}

static int
privs_become(const struct config *cfg, char **err)
{
	uid_t uid = cfg->process.uid;
	gid_t gid = cfg->process.gid;

	if (geteuid() != 0) {
		/* Started as the user already (systemd's User=, su): fine. */
		if (getuid() == uid && geteuid() == uid)
			return 0;
		*err = xasprintf("user: cannot become '%s': not running as "
		                 "root (uid %u)",
		    cfg->process.user, (unsigned)geteuid());
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		*err = xasprintf("user: cannot become '%s': %s",
		    cfg->process.user, strerror(errno));
		return -1;
	}
	if (!privs_stuck(uid, gid)) {
		*err = xasprintf("user: the switch to '%s' did not stick",
		    cfg->process.user);
		return -1;
	}
	log_info("running as user=%s uid=%u gid=%u", cfg->process.user,
	    (unsigned)uid, (unsigned)gid);
	return 0;
}

int
privs_drop(const struct config *cfg, char **err)
{
	if (cfg->process.chroot != NULL &&
	    privs_chroot(cfg->process.chroot, err) == -1)
		return -1;
	if (cfg->process.user != NULL && privs_become(cfg, err) == -1)
		return -1;
	if (privs_root()) {
		if (!cfg->process.allow_root) /* privs_check_root() said so */
			fatalx("privs: still root without allow_root");
		log_warnx("running as root (allow_root)");
	}
	return 0;
}

static bool
privs_same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

const char *
privs_changed(const struct config *running, const struct config *next)
{
	if (!privs_same_str(running->process.user, next->process.user))
		return "user";
	if (!privs_same_str(running->process.group, next->process.group))
		return "group";
	if (!privs_same_str(running->process.chroot, next->process.chroot))
		return "chroot";
	if (running->process.allow_root != next->process.allow_root)
		return "allow_root";
	if (running->process.workers != next->process.workers)
		return "workers";
	return NULL;
}
