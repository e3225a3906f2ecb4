/* SPDX-License-Identifier: ISC */
/*
 * The process keys and privs.c: user, group, chroot, allow_root, workers
 * and limits.shutdown_grace_s parsed and checked, resolved (privs_load),
 * compared on reload (privs_changed), and the refusal to stay root. The
 * drop itself (privs_drop) changes this process for good: the integration
 * tests (t-lifecycle, t-workers) check it on a running xmppgate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "privs.h"
#include "xmalloc.h"

#include "../tap.h"
#include "cfgtest.h"

/* The config parses, and privs_load refuses it with exactly want. */
static void
load_fails(const char *s, const char *want, const char *what)
{
	char *err = NULL;
	struct config *cfg = cfgtest_parse(s, &err);

	if (!ok(cfg != NULL && privs_load(cfg, &err) == -1 && err != NULL &&
	            strcmp(err, want) == 0,
	        "%s", what))
		diag("got: %s", err ? err : "(no error)");
	config_unref(cfg);
	free(err);
}

static void
test_keys(void)
{
	struct config *cfg;
	char *err = NULL;

	cfg = cfgtest_parse("{'user': 'root', 'group': 'root', 'chroot': '/', "
	                    "'allow_root': true, 'workers': 4, "
	                    "'limits': {'shutdown_grace_s': 30}}",
	    &err);
	if (!ok(cfg != NULL, "user, group, chroot, allow_root, workers, "
	                     "shutdown_grace_s parse"))
		diag("error: %s", err);
	free(err);
	if (cfg != NULL) {
		is_str(cfg->process.user, "root", "user");
		is_str(cfg->process.group, "root", "group");
		is_str(cfg->process.chroot, "/", "chroot");
		ok(cfg->process.allow_root, "allow_root");
		is_int(cfg->process.workers, 4, "workers");
		is_int(cfg->limits.shutdown_grace_s, 30, "shutdown_grace_s");
	}
	config_unref(cfg);
	cfg = config_new();
	is_int(cfg->limits.shutdown_grace_s, 8, "shutdown_grace_s default");
	is_int(cfg->process.workers, 0, "workers default: one process");
	ok(!cfg->process.allow_root && cfg->process.user == NULL &&
	        cfg->process.group == NULL && cfg->process.chroot == NULL,
	    "no user, group or chroot, root not allowed by default");
	config_unref(cfg);
	cfgtest_fails(
	    "{'group': 'root'}", "group: needs user", "a group needs a user");
	cfgtest_fails("{'chroot': 'var/lib/x'}",
	    "chroot: must be an absolute path", "a relative chroot");
	cfgtest_fails(
	    "{'user': ''}", "user: must not be empty", "an empty user");
	cfgtest_fails("{'workers': 129}", "workers: must be at most 128",
	    "too many workers");
	cfgtest_fails("{'workers': -1}", "workers: must be at least 0",
	    "negative workers");
	cfgtest_fails("{'allow_root': 1}",
	    "allow_root: expected a boolean, got a number",
	    "allow_root is a boolean");
	cfgtest_fails("{'limits': {'shutdown_grace_s': 0}}",
	    "limits.shutdown_grace_s: must be at least 1", "no grace at all");
	cfgtest_fails("{'limits': {'shutdown_grace_s': 3601}}",
	    "limits.shutdown_grace_s: must be at most 3600",
	    "an endless grace");
}

static void
test_load(void)
{
	struct config *cfg;
	char *err = NULL;

	cfg = cfgtest_parse(
	    "{'user': 'root', 'group': 'root', 'chroot': '/'}", &err);
	ok(cfg != NULL && privs_load(cfg, &err) == 0, "root resolves");
	if (cfg != NULL) {
		is_int(cfg->process.uid, 0, "root's uid");
		is_int(cfg->process.gid, 0, "root's gid");
	}
	config_unref(cfg);
	cfg = cfgtest_parse("{'user': 'root'}", &err);
	ok(cfg != NULL && privs_load(cfg, &err) == 0, "a user alone");
	if (cfg != NULL)
		is_int(cfg->process.gid, 0, "the user's login group");
	config_unref(cfg);
	free(err);
	load_fails("{'user': 'no-such-user-xg'}",
	    "user: no such user 'no-such-user-xg'", "an unknown user");
	load_fails("{'user': 'root', 'group': 'no-such-group-xg'}",
	    "group: no such group 'no-such-group-xg'", "an unknown group");
	load_fails("{'chroot': '/no/such/dir/xg'}",
	    "chroot: /no/such/dir/xg: No such file or directory",
	    "a missing chroot directory");
	load_fails("{'chroot': '/dev/null'}",
	    "chroot: /dev/null: not a directory", "a chroot that is a file");
}

static void
test_root(void)
{
	struct config *cfg;
	char *err = NULL;

	cfg = config_new();
	if (geteuid() == 0) {
		ok(privs_check_root(cfg, &err) == -1 && err != NULL &&
		        strstr(err, "refusing to run as root") != NULL &&
		        strstr(err, "allow_root") != NULL,
		    "as root without a user or allow_root: refused");
		free(err);
		err = NULL;
		cfg->process.user = xstrdup("root");
		ok(privs_check_root(cfg, &err) == -1 && err != NULL &&
		        strcmp(err, "user: 'root' is root: name another "
		                    "account, or set \"allow_root\": true to "
		                    "stay root") == 0,
		    "a user who is root: refused");
		free(err);
		err = NULL;
		cfg->process.allow_root = true;
		ok(privs_check_root(cfg, &err) == 0, "allow_root: allowed");
	} else
		ok(privs_check_root(cfg, &err) == 0,
		    "not root: nothing to say");
	config_unref(cfg);
}

static void
test_changed(void)
{
	struct config *a = config_new(), *b = config_new();

	is_str(privs_changed(a, b), NULL, "nothing changed");
	b->process.workers = 2;
	is_str(privs_changed(a, b), "workers", "workers changed");
	b->process.chroot = xstrdup("/var/empty");
	is_str(privs_changed(a, b), "chroot", "chroot changed");
	b->process.user = xstrdup("nobody");
	is_str(privs_changed(a, b), "user", "user changed first");
	a->process.user = xstrdup("nobody");
	a->process.chroot = xstrdup("/var/empty");
	a->process.workers = 2;
	is_str(privs_changed(a, b), NULL, "the same again");
	a->process.allow_root = true;
	is_str(privs_changed(a, b), "allow_root", "allow_root changed");
	config_unref(a);
	config_unref(b);
}

int
main(void)
{
	test_keys();
	test_load();
	test_root();
	test_changed();
	return done_testing();
}
