/* SPDX-License-Identifier: ISC */
/*
 * Config loading, the logs: logs[] of each type (json, console, record),
 * the keys only some types take, the recorder's limits and directories
 * (refused at parse when two share one; checked to exist and be writable at
 * load, by config_logs_load(), never at parse), and filters[] as an array
 * of objects; each error with its exact message. The filters' own keys are
 * t-filter's. JSON here is written with single quotes (cfgtest.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xmalloc.h"

#include "../tap.h"
#include "cfgtest.h"

static void
test_filters_logs(void)
{
	struct config *cfg;

	cfgtest_fails("{'filters': {}}",
	    "filters: expected an array, got an object",
	    "filters must be an array");
	cfgtest_fails("{'filters': [{'type': 'regex'}]}",
	    "filters[0].action: required for type 'regex'\n"
	    "filters[0].match: required for type 'regex'",
	    "a regex filter needs an action and a match");
	cfgtest_fails("{'filters': [1, 2, 3]}",
	    "filters[0]: expected an object, got a number\n"
	    "filters[1]: expected an object, got a number\n"
	    "filters[2]: expected an object, got a number",
	    "each filter is named");
	cfgtest_fails("{'logs': [{'path': '-'}]}",
	    "logs[0].type: required key is missing", "log without type");
	cfgtest_fails("{'logs': [{'type': 'syslog'}]}",
	    "logs[0].type: expected one of 'json', 'console', 'record', got "
	    "'syslog'",
	    "unknown log type");
	cfgtest_fails(
	    "{'logs': [{'type': 'json'}, {'path': 'x', 'type': 'console'}]}",
	    "logs[1].path: only valid for type 'json'",
	    "console has no path, whatever the key order");
	cfgtest_fails("{'logs': [{'type': 'console', 'redact': true}]}",
	    "logs[0].redact: only valid for types 'json' and 'record'",
	    "console has no redact switch");
	cfgtest_fails("{'logs': [{'type': 'json', 'path': ''}]}",
	    "logs[0].path: must not be empty", "empty path");
	cfgtest_fails("{'logs': {'type': 'json'}}",
	    "logs: expected an array, got an object", "logs must be an array");

	cfg = cfgtest_loads(
	    "{'filters': [], 'logs': [{'type': 'json', 'path': '-'}, "
	    "{'type': 'console'}, {'type': 'json', 'redact': false, "
	    "'path': '/tmp/e.jsonl'}]}",
	    "logs of both types");
	if (cfg != NULL) {
		is_int(cfg->nlogs, 3, "three logs");
		is_int(cfg->logs[0].type, CONFIG_LOG_JSON, "json");
		is_str(cfg->logs[0].path, "-", "stdout path");
		is_int(cfg->logs[0].redact, 1, "redact defaults to true");
		is_int(cfg->logs[1].type, CONFIG_LOG_CONSOLE, "console");
		ok(cfg->logs[1].path == NULL, "console has no path");
		is_int(cfg->logs[2].redact, 0, "redact false kept");
		is_str(cfg->logs[2].path, "/tmp/e.jsonl", "file path");
	}
	config_unref(cfg);
}

static void
test_record(void)
{
	struct config *cfg;
	char dir[] = "/tmp/t-config-rec-XXXXXX", *json, *err = NULL, *file;

	cfgtest_fails("{'logs': [{'type': 'json'}, {'type': 'record'}]}",
	    "logs[1].dir: required for type 'record'", "record needs a dir");
	cfgtest_fails("{'logs': [{'type': 'record', 'dir': ''}]}",
	    "logs[0].dir: must not be empty", "empty dir");
	cfgtest_fails("{'logs': [{'type': 'record', 'path': 'x', 'dir': 'd'}]}",
	    "logs[0].path: only valid for type 'json'", "record has no path");
	cfgtest_fails(
	    "{'logs': [{'type': 'json', 'dir': 'd', 'max_files': 5}]}",
	    "logs[0].dir: only valid for type 'record'\n"
	    "logs[0].max_files: only valid for type 'record'",
	    "json has no dir or limits");
	cfgtest_fails("{'logs': [{'type': 'console', 'max_bytes': 100000, "
	              "'max_file_bytes': 100000}]}",
	    "logs[0].max_bytes: only valid for type 'record'\n"
	    "logs[0].max_file_bytes: only valid for type 'record'",
	    "console has no limits");
	cfgtest_fails(
	    "{'logs': [{'type': 'record', 'dir': 'd', 'max_files': 0}]}",
	    "logs[0].max_files: must be at least 1", "max_files floor");
	cfgtest_fails(
	    "{'logs': [{'type': 'record', 'dir': 'd', 'max_files': 1e8}]}",
	    "logs[0].max_files: must be at most 10000000", "max_files ceiling");
	cfgtest_fails(
	    "{'logs': [{'type': 'record', 'dir': 'd', 'max_bytes': 1000}]}",
	    "logs[0].max_bytes: must be at least 65536", "max_bytes floor");
	cfgtest_fails("{'logs': [{'type': 'record', 'dir': 'd', "
	              "'max_file_bytes': 65536.5}]}",
	    "logs[0].max_file_bytes: expected a whole number, got 65536.5",
	    "max_file_bytes whole");
	cfgtest_fails(
	    "{'logs': [{'type': 'record', 'dir': 'd', 'max_bytes': 100000, "
	    "'max_file_bytes': 200000}]}",
	    "logs[0].max_file_bytes: must not exceed max_bytes (100000)",
	    "a file limit above the directory's");
	cfgtest_fails("{'logs': [{'type': 'record', 'dir': 'd', "
	              "'max_file_bytes': '64M'}]}",
	    "logs[0].max_file_bytes: expected a number, got a string",
	    "limits are numbers");
	cfgtest_fails(
	    "{'logs': [{'type': 'record', 'dir': '/var/rec/'}, "
	    "{'type': 'json'}, {'type': 'record', 'dir': '/var/rec'}]}",
	    "logs[2].dir: same directory as logs[0]", "two recorders, one dir");

	cfg = cfgtest_loads("{'logs': [{'type': 'record', 'dir': 'rec'}]}",
	    "record with defaults");
	if (cfg != NULL) {
		is_int(cfg->logs[0].type, CONFIG_LOG_RECORD, "record type");
		is_str(cfg->logs[0].dir, "rec", "record dir");
		is_int(cfg->logs[0].redact, 1, "record redacts by default");
		is_int(cfg->logs[0].max_files, 10000, "max_files default");
		is_int(cfg->logs[0].max_bytes, 1073741824, "max_bytes default");
		is_int(cfg->logs[0].max_file_bytes, 67108864,
		    "max_file_bytes default");
		ok(cfg->logs[0].path == NULL, "record has no path");
		is_str(config_log_type_str(cfg->logs[0].type), "record",
		    "record named");
	}
	config_unref(cfg);
	cfg = cfgtest_loads(
	    "{'logs': [{'type': 'record', 'dir': '/r', "
	    "'redact': false, 'max_files': 7, 'max_bytes': 1099511627776, "
	    "'max_file_bytes': 65536}]}",
	    "record with every key");
	if (cfg != NULL) {
		is_int(cfg->logs[0].redact, 0, "record redact false kept");
		is_int(cfg->logs[0].max_files, 7, "max_files kept");
		is_int(cfg->logs[0].max_bytes, 1099511627776LL,
		    "max_bytes above 4 GiB kept");
		is_int(
		    cfg->logs[0].max_file_bytes, 65536, "max_file_bytes kept");
	}
	config_unref(cfg);

	/* The directory is checked at load, not at parse. */
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	json = xasprintf("{\"logs\": [{\"type\": \"json\"}, {\"type\": "
	                 "\"record\", \"dir\": \"%s/none\"}]}",
	    dir);
	cfg = config_parse(json, NULL);
	ok(cfg != NULL && config_logs_load(cfg, &err) == -1 && err != NULL &&
	        strstr(err, "logs[1].dir: ") == err &&
	        strstr(err, "/none: No such file or directory") != NULL,
	    "a missing dir is named at load: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	config_unref(cfg);
	free(json);
	file = xasprintf("%s/f", dir);
	cfgtest_write_file(file, "x", 1);
	json = xasprintf("{\"logs\": [{\"type\": \"record\", "
	                 "\"dir\": \"%s\"}]}",
	    file);
	cfg = config_parse(json, NULL);
	ok(cfg != NULL && config_logs_load(cfg, &err) == -1 && err != NULL &&
	        strstr(err, ": not a directory") != NULL,
	    "a file is not a dir: %s", err ? err : "(none)");
	free(err);
	err = NULL;
	config_unref(cfg);
	free(json);
	json = xasprintf("{\"logs\": [{\"type\": \"record\", "
	                 "\"dir\": \"%s\"}]}",
	    dir);
	cfg = config_parse(json, NULL);
	ok(cfg != NULL && config_logs_load(cfg, &err) == 0,
	    "an existing, writable dir passes");
	config_unref(cfg);
	if (geteuid() != 0) {
		chmod(dir, 0500);
		cfg = config_parse(json, NULL);
		ok(cfg != NULL && config_logs_load(cfg, &err) == -1 &&
		        err != NULL && strstr(err, ": not writable") != NULL,
		    "a read-only dir is refused: %s", err ? err : "(none)");
		free(err);
		config_unref(cfg);
		chmod(dir, 0700);
	} else
		ok(1, "# SKIP root may write anywhere");
	free(json);
	unlink(file);
	free(file);
	rmdir(dir);
}

int
main(void)
{
	test_filters_logs();
	test_record();
	return done_testing();
}
