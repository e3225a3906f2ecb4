/* SPDX-License-Identifier: ISC */
/*
 * The file-system half of loading the logs of a config: each record
 * directory must exist, be a directory, and let xmppgate create files in
 * it, so that `xmppgate -n` and a SIGHUP reload fail on a typo before any
 * session goes unrecorded. Kept out of config.c so that parsing (and its
 * fuzzer) never touches the file system. It does not open or count the
 * recordings: sink_record.c does that when the sink is built.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "xmalloc.h"

/* Whether dir is a directory this process may create files in; the
 * reason in *why (static) when not. */
static int
config_logs_check_dir(const char *dir, const char **why)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*why = "not a directory";
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		*why = errno == EACCES ? "not writable" : strerror(errno);
		return -1;
	}
	return 0;
}

int
config_logs_load(const struct config *cfg, char **err)
{
	const char *why;
	size_t i;

	for (i = 0; i < cfg->nlogs; i++) {
		if (cfg->logs[i].type != CONFIG_LOG_RECORD)
			continue;
		if (config_logs_check_dir(cfg->logs[i].dir, &why) == -1) {
			if (err != NULL)
				*err = xasprintf("logs[%zu].dir: %s: %s", i,
				    cfg->logs[i].dir, why);
			return -1;
		}
	}
	return 0;
}
