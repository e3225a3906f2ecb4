/* SPDX-License-Identifier: ISC */
/*
 * xmppgate's entry point: options, config (file plus command-line
 * overrides), the -n check, and the proxy's run. Only this file and config
 * loading end the process on error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "privs.h"
#include "proxy.h"
#include "xmalloc.h"

static struct {
	char **listen; /* borrowed from argv */
	size_t nlisten;
	const char *upstream;
	bool syslog;
	const char *user;
	long workers; /* -1: as the config says */
} main_overrides = { .workers = -1 };

/*
 * Prints each line of a (possibly multi-line) error with the prefix, and the
 * config file's name where the line does not start with it already.
 */
static void
main_error(const char *path, const char *err)
{
	const char *p = err, *nl;
	bool named;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		named = path == NULL || strncmp(p, path, strlen(path)) == 0 ||
		    p[0] == '-';
		fprintf(stderr, "xmppgate: %s%s%.*s\n", named ? "" : path,
		    named ? "" : ": ",
		    (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void __attribute__((noreturn))
main_usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: xmppgate [-c FILE] [-n] [-l ADDR:PORT]... [-u HOST:PORT] "
	    "[--trace] [--syslog]\n"
	    "                [--user USER] [--workers N] [-v] [-V] [-h]\n"
	    "  -c FILE        JSON config (see examples/); options override it\n"
	    "  -n             check the config and exit (0 valid)\n"
	    "  -l ADDR:PORT   listen (repeatable; IPv4 and [IPv6])\n"
	    "  -u HOST:PORT   upstream server\n"
	    "  --trace        live, human-readable trace of every stanza on "
	    "stdout\n"
	    "  --syslog       operator log to syslog instead of stderr\n"
	    "  --user USER    run as USER once the listeners are bound\n"
	    "  --workers N    N worker processes under a supervisor (0: one "
	    "process)\n"
	    "  -v             more operator log (repeat for I/O and XML "
	    "traces)\n"
	    "  -V             print the version and exit\n"
	    "  -h             this help\n");
	exit(status);
}

/* Loads path (or defaults) and applies the command-line overrides. */
static struct config *
main_load(const char *path, char **err)
{
	struct config *cfg;
	size_t i;

	cfg = path != NULL ? config_load(path, err) : config_new();
	if (cfg == NULL)
		return NULL;
	if (main_overrides.nlisten > 0)
		config_clear_listen(cfg);
	for (i = 0; i < main_overrides.nlisten; i++)
		if (config_add_listen(cfg, main_overrides.listen[i], err) == -1)
			goto fail;
	if (main_overrides.upstream != NULL &&
	    config_set_upstream(cfg, main_overrides.upstream, err) == -1)
		goto fail;
	if (main_overrides.syslog)
		cfg->log.syslog = true;
	if (main_overrides.user != NULL) {
		free(cfg->process.user);
		cfg->process.user = xstrdup(main_overrides.user);
	}
	if (main_overrides.workers >= 0)
		cfg->process.workers = (unsigned)main_overrides.workers;
	if (config_check(cfg, err) == -1 || config_tls_load(cfg, err) == -1 ||
	    config_filters_load(cfg, err) == -1 ||
	    config_logs_load(cfg, err) == -1 || privs_load(cfg, err) == -1)
		goto fail;
	return cfg;
fail:
	config_unref(cfg);
	return NULL;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "listen", required_argument, NULL, 'l' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "trace", no_argument, NULL, 't' },
		{ "syslog", no_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'U' },
		{ "workers", required_argument, NULL, 'W' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* One write(2) per operator line: the lines of workers sharing
	 * stderr do not interleave. */
	static char errbuf[16384];
	const char *path = NULL;
	bool check = false, trace = false;
	int ch, verbose = 0, rc;
	char *end;
	struct config *cfg;
	struct proxy *p;
	char *err = NULL;

	setvbuf(stderr, errbuf, _IOLBF, sizeof(errbuf));
	main_overrides.listen = xcalloc((size_t)argc, sizeof(char *));
	while ((ch = getopt_long(argc, argv, "c:nl:u:vVh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'l':
			main_overrides.listen[main_overrides.nlisten++] = optarg;
			break;
		case 'u':
			main_overrides.upstream = optarg;
			break;
		case 't':
			trace = true;
			break;
		case 's':
			main_overrides.syslog = true;
			break;
		case 'U':
			main_overrides.user = optarg;
			break;
		case 'W':
			errno = 0;
			main_overrides.workers = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    main_overrides.workers < 0 ||
			    main_overrides.workers > CONFIG_MAX_WORKERS) {
				fprintf(stderr, "xmppgate: --workers %s: "
				    "expected a number from 0 to %d\n",
				    optarg, CONFIG_MAX_WORKERS);
				free(main_overrides.listen);
				return 1;
			}
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("xmppgate %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			main_usage(0);
		default:
			main_usage(1);
		}
	}
	if (optind != argc)
		main_usage(1);
	log_init(verbose > 0 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
	    verbose > 1 ? ~0u : 0);
	log_libevent_setup();
	if ((cfg = main_load(path, &err)) == NULL) {
		main_error(path, err);
		free(err);
		free(main_overrides.listen);
		return 1;
	}
	if (check) {
		printf("xmppgate: configuration OK\n");
		config_unref(cfg);
		free(main_overrides.listen);
		return 0;
	}
	log_use_syslog(cfg->log.syslog, cfg->log.facility);
	p = proxy_new(cfg, path, trace, &err);
	config_unref(cfg);
	if (p == NULL) {
		main_error(NULL, err);
		free(err);
		free(main_overrides.listen);
		return 1;
	}
	proxy_set_reload(p, main_load);
	rc = proxy_run(p);
	proxy_free(p);
	free(main_overrides.listen);
	return rc;
}
