/* SPDX-License-Identifier: ISC */
/*
 * The operator log's syslog side, as far as a unit test can see it: the
 * priority each level is sent with, the facility names, the "log" block of
 * the config and the --syslog override's field. That lines really reach a
 * syslog socket is tested end to end by tests/integration/t-metrics.py
 * (t_syslog, in a private mount namespace with its own /dev/log).
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "log.h"
#include "../tap.h"

static void
test_priorities(void)
{
	is_int(log_syslog_priority(LOG_LEVEL_FATAL), LOG_CRIT,
	    "fatal -> LOG_CRIT");
	is_int(
	    log_syslog_priority(LOG_LEVEL_ERROR), LOG_ERR, "error -> LOG_ERR");
	is_int(log_syslog_priority(LOG_LEVEL_WARN), LOG_WARNING,
	    "warn -> LOG_WARNING");
	is_int(
	    log_syslog_priority(LOG_LEVEL_INFO), LOG_INFO, "info -> LOG_INFO");
	is_int(log_syslog_priority(LOG_LEVEL_DEBUG), LOG_DEBUG,
	    "debug (and trace) -> LOG_DEBUG");
}

static void
test_facilities(void)
{
	is_int(log_facility_from_str("daemon"), LOG_DAEMON, "daemon");
	is_int(log_facility_from_str("user"), LOG_USER, "user");
	is_int(log_facility_from_str("local0"), LOG_LOCAL0, "local0");
	is_int(log_facility_from_str("local7"), LOG_LOCAL7, "local7");
	is_int(log_facility_from_str("local8"), -1, "local8 is no facility");
	is_int(log_facility_from_str("DAEMON"), -1, "names are lower case");
	is_int(log_facility_from_str("kern"), -1, "kern is not for daemons");
}

static void
test_config(void)
{
	struct config *cfg;
	char *err = NULL;

	cfg = config_parse("{}", &err);
	ok(cfg != NULL && !cfg->log.syslog && cfg->log.facility == LOG_DAEMON,
	    "default: stderr, facility daemon when syslog is turned on");
	config_unref(cfg);
	cfg = config_parse("{\"log\": {\"syslog\": true, \"facility\": "
	                   "\"local3\"}}",
	    &err);
	ok(cfg != NULL && cfg->log.syslog && cfg->log.facility == LOG_LOCAL3,
	    "syslog with facility local3");
	config_unref(cfg);
	cfg = config_parse("{\"log\": {\"facility\": \"user\"}}", &err);
	ok(cfg != NULL && !cfg->log.syslog && cfg->log.facility == LOG_USER,
	    "a facility alone is kept for --syslog");
	config_unref(cfg);
	cfg = config_parse("{\"log\": {\"facility\": \"kern\"}}", &err);
	is_str(err,
	    "log.facility: expected one of 'daemon', 'user', "
	    "'local0' to 'local7', got 'kern'",
	    "an unknown facility is refused");
	ok(cfg == NULL, "and nothing loaded");
	free(err);
	cfg = config_parse("{\"log\": {\"syslog\": \"yes\"}}", &err);
	is_str(err, "log.syslog: expected a boolean, got a string",
	    "syslog is a boolean");
	free(err);
	cfg = config_parse("{\"log\": {\"sislog\": true}}", &err);
	is_str(err, "log.sislog: unknown key (did you mean 'syslog'?)",
	    "a typo is caught");
	free(err);
}

int
main(void)
{
	test_priorities();
	test_facilities();
	test_config();
	return done_testing();
}
