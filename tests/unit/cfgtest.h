/* SPDX-License-Identifier: ISC */
/*
 * Test helper for the config tests: configs written in JSON with single
 * quotes (easier to read in C strings; they become double quotes before
 * parsing), checked to load, or to be refused with exactly one message.
 * Header-only, like tap.h, because the checks call ok() and tap.h counts per
 * program: each test program gets its own copy of these static functions.
 * It does not run a config (no TLS contexts, log files or filter chains).
 */
#ifndef XMPPGATE_CFGTEST_H
#define XMPPGATE_CFGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "xmalloc.h"

#include "../tap.h"

/* The config of JSON written with single quotes, as config_parse() gives
 * it: NULL with *err (when err is not NULL) set on an error. */
static __attribute__((unused)) struct config *
cfgtest_parse(const char *s, char **err)
{
	char *text = xstrdup(s), *q;
	struct config *cfg;

	for (q = text; *q; q++)
		if (*q == '\'')
			*q = '"';
	cfg = config_parse(text, err);
	free(text);
	return cfg;
}

/* The config must be refused with exactly this message. */
static void __attribute__((unused))
cfgtest_fails(const char *s, const char *want, const char *what)
{
	char *err = NULL;
	struct config *cfg = cfgtest_parse(s, &err);

	if (!ok(cfg == NULL && err != NULL && strcmp(err, want) == 0, "%s",
	        what)) {
		diag("input: %s", s);
		diag("got:   %s", err ? err : "(no error)");
		diag("want:  %s", want);
	}
	config_unref(cfg);
	free(err);
}

/* cJSON places some errors a column late: hold it to the line only. */
static void __attribute__((unused))
cfgtest_fails_at_line(const char *s, const char *want_prefix, const char *what)
{
	char *err = NULL;
	struct config *cfg = cfgtest_parse(s, &err);

	if (!ok(cfg == NULL && err != NULL &&
	            strncmp(err, want_prefix, strlen(want_prefix)) == 0 &&
	            strstr(err, ": invalid JSON") != NULL,
	        "%s", what)) {
		diag("got:   %s", err ? err : "(no error)");
		diag("want:  %s...: invalid JSON...", want_prefix);
	}
	config_unref(cfg);
	free(err);
}

/* The config must load; returns it (the caller unrefs it), or NULL. */
static __attribute__((unused)) struct config *
cfgtest_loads(const char *s, const char *what)
{
	char *err = NULL;
	struct config *cfg = cfgtest_parse(s, &err);

	if (!ok(cfg != NULL && err == NULL, "%s", what))
		diag("error: %s", err ? err : "(none)");
	free(err);
	return cfg;
}

/* Writes len bytes of data to path; a file that cannot be made is left
 * for the check that reads it to notice. */
static void __attribute__((unused))
cfgtest_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return;
	fwrite(data, 1, len, f);
	fclose(f);
}

#endif
