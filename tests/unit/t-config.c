/* SPDX-License-Identifier: ISC */
/*
 * Config loading, the walker's side: JSON syntax errors with their line and
 * column, unknown and duplicate keys, types, whole numbers and inclusive
 * bounds, many errors at once and the array caps, the defaults and a full
 * valid file, the command-line overrides and the final check, file reading,
 * the reference count and the names the _str functions give; each error
 * with its exact message (JSON path first). The network's keys have their own
 * program (t-config-net), and so do the logs' (t-config-logs). JSON here is
 * written with single quotes (cfgtest.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_keys.h"
#include "xmalloc.h"

#include "../tap.h"
#include "cfgtest.h"

static void
test_syntax(void)
{
	cfgtest_fails("", "line 1, column 1: invalid JSON at end of input",
	    "empty input");
	cfgtest_fails("{\n  'listen': [\n}\n",
	    "line 3, column 1: invalid JSON near '}'",
	    "syntax error reports line and column");
	cfgtest_fails("{\n 'a': 1\n 'b': 2\n}\n",
	    "line 3, column 2: invalid JSON near '\"b\": 2'", "missing comma");
	cfgtest_fails("{\n 'a': tru,\n 'b': 2\n}\n",
	    "line 2, column 7: invalid JSON near 'tru,'", "bad literal");
	cfgtest_fails("{\n 'a': [1, 2,],\n 'b': 2\n}\n",
	    "line 2, column 13: invalid JSON near '],'",
	    "trailing comma in an array");
	cfgtest_fails("{\n 'a': {\n  'x': 1\n }\n",
	    "line 5, column 1: invalid JSON at end of input",
	    "unclosed object");
	cfgtest_fails("{ 'limits': {} } x",
	    "line 1, column 18: invalid JSON near 'x'", "trailing garbage");
	cfgtest_fails("{'\xc3\xa9\xc3\xa9': x}",
	    "line 1, column 8: invalid JSON near 'x}'",
	    "column counts characters, not UTF-8 bytes");
	cfgtest_fails("{'a': \x7f}", "line 1, column 7: invalid JSON near '?}'",
	    "control characters are not printed");
	cfgtest_fails_at_line("{\n 'a': 1,\n}\n", "line 3, column ",
	    "trailing comma in an object");
	cfgtest_fails_at_line("{\n 'a': 1,\n /* comment */\n}",
	    "line 3, column ", "comments are not JSON");
	cfgtest_fails_at_line("{\n a: 1\n}", "line 2, column ", "unquoted key");
	cfgtest_fails("[]", "top level: expected an object, got an array",
	    "top level must be an object");
	cfgtest_fails("null", "top level: expected an object, got null",
	    "top level null");
	cfgtest_fails("42", "top level: expected an object, got a number",
	    "top level number");
}

static void
test_keys(void)
{
	cfgtest_fails("{'upstream': {'adress': '127.0.0.1:5222'}}",
	    "upstream.adress: unknown key (did you mean 'address'?)",
	    "unknown key in upstream, with a suggestion");
	cfgtest_fails(
	    "{'bogus': 1}", "bogus: unknown key", "unknown top-level key");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222', 'tsl': 'none'}]}",
	    "listen[0].tsl: unknown key (did you mean 'tls'?)",
	    "unknown key in a listener names the index");
	cfgtest_fails("{'limits': {'max_stanza': 10000}}",
	    "limits.max_stanza: unknown key", "far typo gets no suggestion");
	cfgtest_fails("{'limits': {'idle_timeout': 10}}",
	    "limits.idle_timeout: unknown key (did you mean 'idle_timeout_s'?)",
	    "missing suffix gets a suggestion");
	cfgtest_fails("{'logs': [{'tpye': 'json'}]}",
	    "logs[0].tpye: unknown key (did you mean 'type'?)\n"
	    "logs[0].type: required key is missing",
	    "swapped letters get a suggestion");
	cfgtest_fails("{'a\\u0001b\\nc': 1}", "a?b?c: unknown key",
	    "control characters in a key are not printed");
	cfgtest_fails("{'limits': {'max_sessions': 1, 'max_sessions': 2}}",
	    "limits.max_sessions: duplicate key", "duplicate key");
	cfgtest_fails("{'limits': {}, 'limits': {}}", "limits: duplicate key",
	    "duplicate object");
}

static void
test_types(void)
{
	cfgtest_fails("{'limits': {'idle_timeout_s': '900'}}",
	    "limits.idle_timeout_s: expected a number, got a string",
	    "string for a number");
	cfgtest_fails("{'listen': {}}",
	    "listen: expected an array, got an object", "object for listen");
	cfgtest_fails("{'upstream': []}",
	    "upstream: expected an object, got an array", "array for upstream");
	cfgtest_fails("{'upstream': {'verify': 'yes'}}",
	    "upstream.verify: expected a boolean, got a string",
	    "string for a boolean");
	cfgtest_fails("{'upstream': {'ca_file': 5}}",
	    "upstream.ca_file: expected a string or null, got a number",
	    "number for a nullable string");
	cfgtest_fails("{'listen': [5]}",
	    "listen[0]: expected an object, got a number",
	    "number for a listener");
	cfgtest_fails("{'listen': [{'address': null}]}",
	    "listen[0].address: expected a string, got null",
	    "null for a required string");
	cfgtest_fails("{'tls': {'cert': true, 'key': 'k'}}",
	    "tls.cert: expected a string, got a boolean",
	    "boolean for a string");
	cfgtest_fails("{'limits': 5}",
	    "limits: expected an object, got a number", "number for limits");
	cfgtest_fails("{'logs': [{'type': 'json', 'redact': 0}]}",
	    "logs[0].redact: expected a boolean, got a number",
	    "number for redact");
}

static void
test_numbers(void)
{
	struct config *cfg;

	cfgtest_fails("{'limits': {'max_stanza_bytes': 9999}}",
	    "limits.max_stanza_bytes: must be at least 10000",
	    "stanza limit under the RFC 6120 floor");
	cfgtest_fails("{'limits': {'max_stanza_bytes': 16777217}}",
	    "limits.max_stanza_bytes: must be at most 16777216",
	    "stanza limit over 16 MiB");
	cfgtest_fails("{'limits': {'idle_timeout_s': 1.5}}",
	    "limits.idle_timeout_s: expected a whole number, got 1.5",
	    "fraction");
	cfgtest_fails("{'limits': {'idle_timeout_s': -5}}",
	    "limits.idle_timeout_s: must be at least 1", "negative");
	cfgtest_fails("{'limits': {'idle_timeout_s': 0}}",
	    "limits.idle_timeout_s: must be at least 1", "zero");
	cfgtest_fails("{'limits': {'idle_timeout_s': 604801}}",
	    "limits.idle_timeout_s: must be at most 604800", "idle too long");
	cfgtest_fails("{'limits': {'connect_timeout_s': 1e400}}",
	    "limits.connect_timeout_s: must be at most 3600", "infinity");
	cfgtest_fails("{'limits': {'handshake_timeout_s': 3601}}",
	    "limits.handshake_timeout_s: must be at most 3600",
	    "handshake timeout too long");
	cfgtest_fails("{'limits': {'max_sessions': 0}}",
	    "limits.max_sessions: must be at least 1", "no sessions");
	cfgtest_fails("{'limits': {'max_sessions': 1000001}}",
	    "limits.max_sessions: must be at most 1000000",
	    "too many sessions");

	cfg = cfgtest_loads(
	    "{'limits': {'max_stanza_bytes': 10000, "
	    "'max_sessions': 1e2, 'connect_timeout_s': 3600.0, "
	    "'handshake_timeout_s': 1, 'idle_timeout_s': 604800}}",
	    "bounds are inclusive; 1e2 and 3600.0 are whole numbers");
	if (cfg != NULL) {
		is_int(cfg->limits.max_stanza_bytes, 10000, "min stanza bytes");
		is_int(cfg->limits.max_sessions, 100, "1e2 sessions");
		is_int(cfg->limits.connect_timeout_s, 3600, "3600.0 s");
		is_int(cfg->limits.handshake_timeout_s, 1, "1 s");
		is_int(cfg->limits.idle_timeout_s, 604800, "a week idle");
	}
	config_unref(cfg);
	cfg = cfgtest_loads("{'limits': {'max_stanza_bytes': 16777216}}",
	    "max stanza bytes at 16 MiB");
	if (cfg != NULL)
		is_int(cfg->limits.max_stanza_bytes, 16777216, "16 MiB");
	config_unref(cfg);
}

static void
test_many_errors(void)
{
	struct buf b;
	char *err = NULL, *p;
	struct config *cfg;
	int i, lines = 1;

	cfgtest_fails("{'upstream': {'adress': 'x:1', 'verify': 1}, "
	              "'limits': {'max_sessions': -1}}",
	    "upstream.adress: unknown key (did you mean 'address'?)\n"
	    "upstream.verify: expected a boolean, got a number\n"
	    "limits.max_sessions: must be at least 1",
	    "every error is reported, in file order");

	buf_init(&b);
	buf_adds(&b, "{\"filters\": [");
	for (i = 0; i < 30; i++)
		buf_addf(&b, "%s{}", i ? "," : "");
	buf_adds(&b, "]}");
	cfg = config_parse(b.data, &err);
	ok(cfg == NULL && err != NULL, "30 errors refused");
	for (p = err; p && *p; p++)
		lines += *p == '\n';
	is_int(lines, CONFIG_MAX_ERRORS + 1, "errors capped, plus a summary");
	p = err ? strrchr(err, '\n') : NULL;
	is_str(p, "\n(10 more errors not shown)", "summary line");
	free(err);
	buf_fini(&b);

	/* Deep nesting is cJSON's to refuse, and must not crash. */
	buf_init(&b);
	buf_adds(&b, "{\"x\":");
	for (i = 0; i < 5000; i++)
		buf_addc(&b, '[');
	cfg = config_parse(b.data, &err);
	ok(cfg == NULL && err && strncmp(err, "line 1, column ", 15) == 0,
	    "deep nesting refused with a position");
	free(err);
	buf_fini(&b);

	cfg = config_parse("{\"bogus\": 1}", NULL);
	ok(cfg == NULL, "err may be NULL");
	cfg = config_parse(NULL, &err);
	is_str(err, "line 1, column 1: invalid JSON at end of input",
	    "NULL text is empty text");
	free(err);

	/* Array sizes are capped, so the duplicate check stays cheap. */
	buf_init(&b);
	buf_adds(&b, "{\"listen\": [");
	for (i = 0; i < CONFIG_MAX_LISTEN + 1; i++)
		buf_addf(&b, "%s{\"address\": \"127.0.%d.%d:5222\"}",
		    i ? "," : "", i / 256, i % 256);
	buf_adds(&b, "]}");
	cfg = config_parse(b.data, &err);
	is_str(err, "listen: at most 256 entries, got 257", "listen cap");
	free(err);
	b.len -= strlen(",{\"address\": \"127.0.1.0:5222\"}]}");
	buf_adds(&b, "]}");
	cfg = config_parse(b.data, &err);
	ok(cfg != NULL && cfg->nlisten == CONFIG_MAX_LISTEN,
	    "256 distinct listeners accepted");
	config_unref(cfg);
	buf_fini(&b);
	buf_init(&b);
	buf_adds(&b, "{\"logs\": [");
	for (i = 0; i < CONFIG_MAX_LOGS + 1; i++)
		buf_addf(&b, "%s{\"type\": \"console\"}", i ? "," : "");
	buf_adds(&b, "]}");
	cfg = config_parse(b.data, &err);
	is_str(err, "logs: at most 64 entries, got 65", "logs cap");
	free(err);
	buf_fini(&b);
}

static void
test_defaults_full(void)
{
	struct config *cfg;

	cfg = config_new();
	is_int(cfg->refs, 1, "new config has one reference");
	is_int(cfg->nlisten, 0, "no listener by default");
	ok(cfg->upstream.address == NULL, "no upstream by default");
	is_int(cfg->limits.max_stanza_bytes, 262144, "max_stanza_bytes");
	is_int(cfg->limits.max_sessions, 10000, "max_sessions");
	is_int(cfg->limits.connect_timeout_s, 10, "connect_timeout_s");
	is_int(cfg->limits.handshake_timeout_s, 30, "handshake_timeout_s");
	is_int(cfg->limits.idle_timeout_s, 900, "idle_timeout_s");
	is_int(cfg->upstream.verify, 1, "verify");
	is_int(cfg->upstream.tls, CONFIG_TLS_NONE, "upstream tls");
	is_int(cfg->nlogs, 0, "no logs");
	config_unref(cfg);

	cfg = cfgtest_loads("{}", "empty object");
	if (cfg != NULL) {
		is_int(cfg->limits.max_stanza_bytes,
		    CONFIG_DEFAULT_MAX_STANZA_BYTES, "{} keeps defaults");
		is_int(cfg->limits.idle_timeout_s, 900, "{} idle default");
		is_int(cfg->upstream.verify, 1, "{} verify default");
	}
	config_unref(cfg);

	cfg = cfgtest_loads(
	    "{\n"
	    " 'listen': [{'address': '0.0.0.0:5222', 'tls': 'starttls', "
	    "'required': true}, {'address': '[::]:5222'}],\n"
	    " 'upstream': {'address': '[2001:db8::1]:15222', 'tls': 'none', "
	    "'verify': true, 'ca_file': '/etc/ssl/ca.pem', "
	    "'server_name': 'example.org'},\n"
	    " 'tls': {'cert': 'server.pem', 'key': 'server.key'},\n"
	    " 'limits': {'max_stanza_bytes': 65536, 'max_sessions': 50, "
	    "'connect_timeout_s': 5, 'handshake_timeout_s': 20, "
	    "'idle_timeout_s': 300},\n"
	    " 'filters': [],\n"
	    " 'logs': [{'type': 'json', 'path': 'events.jsonl', "
	    "'redact': false}, {'type': 'console'}]\n"
	    "}\n",
	    "a full config");
	if (cfg == NULL)
		return;
	is_int(cfg->nlisten, 2, "full: listeners");
	is_str(cfg->listen[1].address, "[::]:5222", "full: v6 listener");
	is_str(cfg->upstream.address, "[2001:db8::1]:15222", "full: upstream");
	is_str(cfg->upstream.ca_file, "/etc/ssl/ca.pem", "full: ca_file");
	is_str(cfg->upstream.server_name, "example.org", "full: server_name");
	is_str(cfg->tls.cert, "server.pem", "full: cert");
	is_str(cfg->tls.key, "server.key", "full: key");
	is_int(cfg->limits.max_stanza_bytes, 65536, "full: stanza bytes");
	is_int(cfg->limits.max_sessions, 50, "full: sessions");
	is_int(cfg->limits.connect_timeout_s, 5, "full: connect");
	is_int(cfg->limits.handshake_timeout_s, 20, "full: handshake");
	is_int(cfg->limits.idle_timeout_s, 300, "full: idle");
	is_int(cfg->nlogs, 2, "full: logs");
	is_int(cfg->logs[0].redact, 0, "full: redact false");
	is_int(cfg->logs[1].type, CONFIG_LOG_CONSOLE, "full: console");
	ok(config_check(cfg, NULL) == 0, "full: passes the final check");

	/* A shared config lives until its last holder lets go (ASan sees). */
	ok(config_ref(cfg) == cfg, "ref returns the config");
	is_int(cfg->refs, 2, "two references");
	config_unref(cfg);
	is_int(cfg->refs, 1, "one reference left");
	config_unref(cfg);
	config_unref(NULL);
	ok(config_ref(NULL) == NULL, "ref NULL is NULL");
}

static void
test_overrides(void)
{
	struct config *cfg = config_new();
	char *err = NULL;

	ok(config_check(cfg, &err) == -1, "empty config fails the check");
	is_str(err,
	    "listen: at least one listener is required (config or -l)"
	    "\nupstream.address: an upstream server is required (config or "
	    "-u)",
	    "check names both missing parts");
	free(err);

	ok(config_add_listen(cfg, "127.0.0.1:99999", &err) == -1,
	    "-l bad port refused");
	is_str(err, "-l 127.0.0.1:99999: port out of range", "-l message");
	free(err);
	ok(config_add_listen(cfg, "example.org:5222", &err) == -1,
	    "-l host name refused");
	is_str(err,
	    "-l example.org:5222: not a numeric IP address (listen "
	    "addresses are never resolved)",
	    "-l host message");
	free(err);
	ok(config_add_listen(cfg, "127.0.0.1:5222", &err) == 0, "-l v4");
	ok(err == NULL, "no error on success");
	ok(config_add_listen(cfg, "[::1]:5222", &err) == 0, "-l v6");
	ok(config_add_listen(cfg, "127.0.0.1:5222", &err) == -1,
	    "-l twice refused");
	is_str(err, "-l 127.0.0.1:5222: same address as listen[0]",
	    "-l duplicate message");
	free(err);
	is_int(cfg->nlisten, 2, "two -l listeners");
	while (cfg->nlisten < CONFIG_MAX_LISTEN) {
		char a[32];

		snprintf(a, sizeof(a), "127.1.0.%zu:1", cfg->nlisten);
		if (config_add_listen(cfg, a, NULL) == -1)
			break;
	}
	ok(config_add_listen(cfg, "127.2.0.1:1", &err) == -1, "-l cap");
	is_str(err, "-l 127.2.0.1:1: at most 256 listeners", "-l cap message");
	free(err);
	config_clear_listen(cfg);
	ok(config_add_listen(cfg, "127.0.0.1:5222", &err) == 0, "-l again");
	ok(config_add_listen(cfg, "[::1]:5222", &err) == 0, "-l v6 again");
	is_int(cfg->listen[1].tls, CONFIG_TLS_NONE, "-l gets tls none");
	is_int(cfg->listen[1].tls_required, 1, "-l gets listener defaults");

	ok(config_check(cfg, &err) == -1, "no upstream yet");
	is_str(err,
	    "upstream.address: an upstream server is required (config "
	    "or -u)",
	    "check names the upstream");
	free(err);

	ok(config_set_upstream(cfg, "[::1]", &err) == -1, "-u without port");
	is_str(err, "-u [::1]: missing port", "-u message");
	free(err);
	ok(config_set_upstream(cfg, "a.example:5222", &err) == 0, "-u");
	ok(config_set_upstream(cfg, "b.example:5269", &err) == 0, "-u again");
	is_str(cfg->upstream.address, "b.example:5269", "-u replaces");
	ok(config_check(cfg, &err) == 0 && err == NULL, "check passes");

	config_clear_listen(cfg);
	is_int(cfg->nlisten, 0, "clear drops listeners");
	ok(config_add_listen(cfg, "127.0.0.1:5222", &err) == 0,
	    "-l after clear");
	is_int(cfg->nlisten, 1, "one listener after clear");
	config_unref(cfg);
}

static void
test_load(void)
{
	char dir[] = "/tmp/t-config.XXXXXX", path[64];
	struct config *cfg;
	char *err = NULL, *big;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	cfg = config_load(path, &err);
	ok(cfg == NULL, "missing file refused");
	ok(err && strncmp(err, path, strlen(path)) == 0 &&
	        strcmp(err + strlen(path), ": No such file or directory") == 0,
	    "missing file names the file and the reason");
	free(err);

	cfg = config_load(dir, &err);
	ok(cfg == NULL && err && strncmp(err, dir, strlen(dir)) == 0,
	    "a directory is refused, named");
	free(err);

	snprintf(path, sizeof(path), "%s/good.json", dir);
	cfgtest_write_file(
	    path, "{\"upstream\": {\"address\": \"h:1\"}}\n", 33);
	cfg = config_load(path, &err);
	ok(cfg != NULL && err == NULL, "file loads");
	if (cfg != NULL)
		is_str(cfg->upstream.address, "h:1", "file contents used");
	config_unref(cfg);

	snprintf(path, sizeof(path), "%s/bad.json", dir);
	cfgtest_write_file(
	    path, "{\n\"limits\": {\"max_sessions\": -1}\n}\n", 35);
	cfg = config_load(path, &err);
	is_str(err, "limits.max_sessions: must be at least 1",
	    "file validation error names the JSON path");
	free(err);
	unlink(path);

	snprintf(path, sizeof(path), "%s/nul.json", dir);
	cfgtest_write_file(path, "{}\0{}", 5);
	cfg = config_load(path, &err);
	ok(cfg == NULL && err && strstr(err, ": contains a NUL byte") != NULL,
	    "NUL byte refused");
	free(err);
	unlink(path);

	snprintf(path, sizeof(path), "%s/big.json", dir);
	big = xmalloc(2 * 1024 * 1024);
	memset(big, ' ', 2 * 1024 * 1024);
	big[0] = '{';
	big[2 * 1024 * 1024 - 1] = '}';
	cfgtest_write_file(path, big, 2 * 1024 * 1024);
	free(big);
	cfg = config_load(path, &err);
	ok(cfg == NULL && err &&
	        strstr(err, ": larger than 1048576 bytes") != NULL,
	    "huge file refused");
	free(err);
	unlink(path);

	snprintf(path, sizeof(path), "%s/good.json", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_strings(void)
{
	char out[8];

	is_str(config_tls_str(CONFIG_TLS_NONE), "none", "tls none");
	is_str(config_tls_str(CONFIG_TLS_STARTTLS), "starttls", "starttls");
	is_str(config_tls_str(CONFIG_TLS_DIRECT), "direct", "direct");
	is_str(config_tls_str(CONFIG_TLS_PASSTHROUGH), "passthrough",
	    "passthrough");
	is_str(config_log_type_str(CONFIG_LOG_JSON), "json", "json");
	is_str(config_log_type_str(CONFIG_LOG_CONSOLE), "console", "console");
	is_str(config_printable("ab\ncd", out, sizeof(out)), "ab?cd",
	    "printable replaces control characters");
	is_str(config_printable("abcdefghij", out, sizeof(out)), "abcd...",
	    "printable cuts long strings");
	is_str(config_printable("abcdefg", out, sizeof(out)), "abcdefg",
	    "printable keeps what fits");
}

int
main(void)
{
	test_syntax();
	test_keys();
	test_types();
	test_numbers();
	test_many_errors();
	test_defaults_full();
	test_overrides();
	test_load();
	test_strings();
	return done_testing();
}
