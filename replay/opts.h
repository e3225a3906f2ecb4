/* SPDX-License-Identifier: ISC */
/*
 * xmppgate-replay's command line: parsing, the environment fallbacks for the
 * credentials, checks that options fit the mode, and the usage text. It
 * opens no file and connects nowhere.
 */
#ifndef XMPPGATE_REPLAY_OPTS_H
#define XMPPGATE_REPLAY_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "jidmap.h"
#include "server.h"

struct opts {
	const char *recording;
	const char *session;
	const char *json;
	int verbose;
	bool help;
	bool version;
	bool serve; /* server mode */
	struct client_opts client;
	struct server_opts server;
	struct jidmap *map; /* owned: shared by both modes' opts */
};

/*
 * Parses argv into o (strings borrowed from argv and the environment).
 * Returns -1 with *err (free it) on a usage error.
 */
int opts_parse(struct opts *o, int argc, char *argv[], char **err)
    __attribute__((warn_unused_result));
void opts_fini(struct opts *o);
void opts_usage(FILE *);

#endif
