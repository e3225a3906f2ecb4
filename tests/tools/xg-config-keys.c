/* SPDX-License-Identifier: ISC */
/*
 * Prints every key the config file may hold, one a line, as the loader's
 * errors name them ("limits.max_stanza_bytes", "listen[].tls",
 * "filters[].match.text"), by walking the very tables the loader walks:
 * nothing to keep in step by hand. After a number key's path come its
 * lowest and highest values, after an array's the most elements it may
 * have. tests/man.sh checks xmppgate.conf(5) against this list, so that
 * the page cannot silently fall behind the tables. It does not print
 * defaults (those live in the code that sets them up) or types.
 */
#include <stdio.h>
#include <string.h>

#include "config_keys.h"

/* Prints the keys of table, each path prefixed with prefix. */
static void
keys_print(const struct config_table *table, const char *prefix)
{
	const struct config_key *k;
	char path[256];
	size_t i;

	for (i = 0; i < table->nkeys; i++) {
		k = &table->keys[i];
		snprintf(path, sizeof(path), "%s%s", prefix, k->name);
		switch (k->type) {
		case CONFIG_KEY_UINT:
		case CONFIG_KEY_SIZE:
			printf("%s %lld %lld\n", path, k->min, k->max);
			break;
		case CONFIG_KEY_ARRAY:
			printf("%s %lld\n", path, k->max);
			break;
		default:
			printf("%s\n", path);
			break;
		}
		if (k->sub == NULL)
			continue;
		/* "listen" holds objects: their keys are "listen[].KEY". */
		strncat(path, k->type == CONFIG_KEY_ARRAY ? "[]." : ".",
		    sizeof(path) - strlen(path) - 1);
		keys_print(k->sub, path);
	}
}

int
main(void)
{
	keys_print(&config_root_table, "");
	return ferror(stdout) || fflush(stdout) != 0;
}
