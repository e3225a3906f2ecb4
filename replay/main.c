/* SPDX-License-Identifier: ISC */
/*
 * xmppgate-replay's entry point: the command line, the recording, the plan,
 * one of the two modes, the report and the exit status (0 all held, 1 some
 * differ or are missing, 2 the replay could not run). Only this file ends
 * the process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "client.h"
#include "expect.h"
#include "log.h"
#include "opts.h"
#include "recording.h"
#include "report.h"
#include "server.h"

#define MAIN_EXIT_DIFFER 1
#define MAIN_EXIT_ERROR 2

static int
main_error(const char *err)
{
	fprintf(stderr, "xmppgate-replay: %s\n", err);
	return MAIN_EXIT_ERROR;
}

/* Runs the mode; returns the exit status. */
static int
main_run(struct opts *o, const struct recording *rec)
{
	struct expect_plan *plan = NULL;
	struct report *rep;
	char *err = NULL;
	int rc;

	if (o->serve) {
		rep = report_new(REPORT_SERVER, rec);
		rc = server_run(rec, &o->server, rep, &err);
	} else {
		if ((plan = expect_plan_new(rec, &err)) == NULL) {
			rc = main_error(err);
			free(err);
			return rc;
		}
		rep = report_new(REPORT_CLIENT, rec);
		rc = client_run(rec, plan, &o->client, rep, &err);
	}
	if (rc == -1) {
		rc = main_error(err);
		free(err);
	} else {
		report_print(rep, o->json != NULL && strcmp(o->json, "-") == 0
		                      ? stderr
		                      : stdout);
		rc = report_ok(rep) ? 0 : MAIN_EXIT_DIFFER;
		if (o->json != NULL &&
		    report_write_json(rep, o->json, &err) == -1) {
			rc = main_error(err);
			free(err);
		}
	}
	report_free(rep);
	expect_plan_free(plan);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct recording *rec;
	struct opts o;
	char *err = NULL;
	int rc;

	if (opts_parse(&o, argc, argv, &err) == -1) {
		fprintf(stderr, "xmppgate-replay: %s\n(try -h)\n", err);
		free(err);
		opts_fini(&o);
		return MAIN_EXIT_ERROR;
	}
	if (o.help || o.version) {
		if (o.help)
			opts_usage(stdout);
		else
			printf("xmppgate-replay %s\n", PACKAGE_VERSION);
		opts_fini(&o);
		return 0;
	}
	log_init(o.verbose > 0 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
	    o.verbose > 1 ? LOG_TRACE_XML | LOG_TRACE_TLS : 0);
	log_libevent_setup();
	/* A peer that goes away must end its stream, not the process. */
	signal(SIGPIPE, SIG_IGN);
	if ((rec = recording_load(o.recording, o.session, &err)) == NULL) {
		rc = main_error(err);
		free(err);
		opts_fini(&o);
		return rc;
	}
	rc = main_run(&o, rec);
	recording_free(rec);
	opts_fini(&o);
	return rc;
}
