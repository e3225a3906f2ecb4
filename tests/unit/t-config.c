/* SPDX-License-Identifier: ISC */
/*
 * Config loading: defaults, a full valid file, and every error path with the
 * exact message (JSON path first), the command-line overrides, the final
 * check, file reading and the reference count. JSON in this file is written
 * with single quotes, turned into double quotes before parsing.
 */
#include <openssl/ssl.h>

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_keys.h"
#include "../tap.h"
#include "xmalloc.h"

/* The JSON text for a single-quoted literal. */
static char *
json(const char *s)
{
	char *p = xstrdup(s), *q;

	for (q = p; *q; q++)
		if (*q == '\'')
			*q = '"';
	return p;
}

static struct config *
parse(const char *s, char **err)
{
	char *text = json(s);
	struct config *cfg = config_parse(text, err);

	free(text);
	return cfg;
}

/* The config must be refused with exactly this message. */
static void
fails(const char *s, const char *want, const char *what)
{
	char *err = NULL;
	struct config *cfg = parse(s, &err);

	if (!ok(cfg == NULL && err != NULL && strcmp(err, want) == 0, "%s",
	    what)) {
		diag("input: %s", s);
		diag("got:   %s", err ? err : "(no error)");
		diag("want:  %s", want);
	}
	config_unref(cfg);
	free(err);
}

/* The config must load; returns it for further checks. */
static struct config *
loads(const char *s, const char *what)
{
	char *err = NULL;
	struct config *cfg = parse(s, &err);

	if (!ok(cfg != NULL && err == NULL, "%s", what))
		diag("error: %s", err ? err : "(none)");
	free(err);
	return cfg;
}

/* cJSON places some errors a column late: hold it to the line only. */
static void
fails_at_line(const char *s, const char *want_prefix, const char *what)
{
	char *err = NULL;
	struct config *cfg = parse(s, &err);

	if (!ok(cfg == NULL && err != NULL &&
	    strncmp(err, want_prefix, strlen(want_prefix)) == 0 &&
	    strstr(err, ": invalid JSON") != NULL, "%s", what)) {
		diag("got:   %s", err ? err : "(no error)");
		diag("want:  %s...: invalid JSON...", want_prefix);
	}
	config_unref(cfg);
	free(err);
}

static void
test_syntax(void)
{
	fails("", "line 1, column 1: invalid JSON at end of input",
	    "empty input");
	fails("{\n  'listen': [\n}\n",
	    "line 3, column 1: invalid JSON near '}'",
	    "syntax error reports line and column");
	fails("{\n 'a': 1\n 'b': 2\n}\n",
	    "line 3, column 2: invalid JSON near '\"b\": 2'",
	    "missing comma");
	fails("{\n 'a': tru,\n 'b': 2\n}\n",
	    "line 2, column 7: invalid JSON near 'tru,'", "bad literal");
	fails("{\n 'a': [1, 2,],\n 'b': 2\n}\n",
	    "line 2, column 13: invalid JSON near '],'",
	    "trailing comma in an array");
	fails("{\n 'a': {\n  'x': 1\n }\n",
	    "line 5, column 1: invalid JSON at end of input",
	    "unclosed object");
	fails("{ 'limits': {} } x", "line 1, column 18: invalid JSON near 'x'",
	    "trailing garbage");
	fails("{'\xc3\xa9\xc3\xa9': x}",
	    "line 1, column 8: invalid JSON near 'x}'",
	    "column counts characters, not UTF-8 bytes");
	fails("{'a': \x7f}", "line 1, column 7: invalid JSON near '?}'",
	    "control characters are not printed");
	fails_at_line("{\n 'a': 1,\n}\n", "line 3, column ",
	    "trailing comma in an object");
	fails_at_line("{\n 'a': 1,\n /* comment */\n}", "line 3, column ",
	    "comments are not JSON");
	fails_at_line("{\n a: 1\n}", "line 2, column ", "unquoted key");
	fails("[]", "top level: expected an object, got an array",
	    "top level must be an object");
	fails("null", "top level: expected an object, got null",
	    "top level null");
	fails("42", "top level: expected an object, got a number",
	    "top level number");
}

static void
test_keys(void)
{
	fails("{'upstream': {'adress': '127.0.0.1:5222'}}",
	    "upstream.adress: unknown key (did you mean 'address'?)",
	    "unknown key in upstream, with a suggestion");
	fails("{'bogus': 1}", "bogus: unknown key", "unknown top-level key");
	fails("{'listen': [{'address': '127.0.0.1:5222', 'tsl': 'none'}]}",
	    "listen[0].tsl: unknown key (did you mean 'tls'?)",
	    "unknown key in a listener names the index");
	fails("{'limits': {'max_stanza': 10000}}",
	    "limits.max_stanza: unknown key", "far typo gets no suggestion");
	fails("{'limits': {'idle_timeout': 10}}",
	    "limits.idle_timeout: unknown key (did you mean 'idle_timeout_s'?)",
	    "missing suffix gets a suggestion");
	fails("{'logs': [{'tpye': 'json'}]}",
	    "logs[0].tpye: unknown key (did you mean 'type'?)\n"
	    "logs[0].type: required key is missing",
	    "swapped letters get a suggestion");
	fails("{'a\\u0001b\\nc': 1}", "a?b?c: unknown key",
	    "control characters in a key are not printed");
	fails("{'limits': {'max_sessions': 1, 'max_sessions': 2}}",
	    "limits.max_sessions: duplicate key", "duplicate key");
	fails("{'limits': {}, 'limits': {}}", "limits: duplicate key",
	    "duplicate object");
}

static void
test_types(void)
{
	fails("{'limits': {'idle_timeout_s': '900'}}",
	    "limits.idle_timeout_s: expected a number, got a string",
	    "string for a number");
	fails("{'listen': {}}", "listen: expected an array, got an object",
	    "object for listen");
	fails("{'upstream': []}", "upstream: expected an object, got an array",
	    "array for upstream");
	fails("{'upstream': {'verify': 'yes'}}",
	    "upstream.verify: expected a boolean, got a string",
	    "string for a boolean");
	fails("{'upstream': {'ca_file': 5}}",
	    "upstream.ca_file: expected a string or null, got a number",
	    "number for a nullable string");
	fails("{'listen': [5]}", "listen[0]: expected an object, got a number",
	    "number for a listener");
	fails("{'listen': [{'address': null}]}",
	    "listen[0].address: expected a string, got null",
	    "null for a required string");
	fails("{'tls': {'cert': true, 'key': 'k'}}",
	    "tls.cert: expected a string, got a boolean",
	    "boolean for a string");
	fails("{'limits': 5}", "limits: expected an object, got a number",
	    "number for limits");
	fails("{'logs': [{'type': 'json', 'redact': 0}]}",
	    "logs[0].redact: expected a boolean, got a number",
	    "number for redact");
}

static void
test_numbers(void)
{
	struct config *cfg;

	fails("{'limits': {'max_stanza_bytes': 9999}}",
	    "limits.max_stanza_bytes: must be at least 10000",
	    "stanza limit under the RFC 6120 floor");
	fails("{'limits': {'max_stanza_bytes': 16777217}}",
	    "limits.max_stanza_bytes: must be at most 16777216",
	    "stanza limit over 16 MiB");
	fails("{'limits': {'idle_timeout_s': 1.5}}",
	    "limits.idle_timeout_s: expected a whole number, got 1.5",
	    "fraction");
	fails("{'limits': {'idle_timeout_s': -5}}",
	    "limits.idle_timeout_s: must be at least 1", "negative");
	fails("{'limits': {'idle_timeout_s': 0}}",
	    "limits.idle_timeout_s: must be at least 1", "zero");
	fails("{'limits': {'idle_timeout_s': 604801}}",
	    "limits.idle_timeout_s: must be at most 604800", "idle too long");
	fails("{'limits': {'connect_timeout_s': 1e400}}",
	    "limits.connect_timeout_s: must be at most 3600", "infinity");
	fails("{'limits': {'handshake_timeout_s': 3601}}",
	    "limits.handshake_timeout_s: must be at most 3600",
	    "handshake timeout too long");
	fails("{'limits': {'max_sessions': 0}}",
	    "limits.max_sessions: must be at least 1", "no sessions");
	fails("{'limits': {'max_sessions': 1000001}}",
	    "limits.max_sessions: must be at most 1000000", "too many sessions");

	cfg = loads("{'limits': {'max_stanza_bytes': 10000, "
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
	cfg = loads("{'limits': {'max_stanza_bytes': 16777216}}",
	    "max stanza bytes at 16 MiB");
	if (cfg != NULL)
		is_int(cfg->limits.max_stanza_bytes, 16777216, "16 MiB");
	config_unref(cfg);
}

static void
test_listen(void)
{
	struct config *cfg;

	fails("{'listen': [{'tls': 'none'}]}",
	    "listen[0].address: required key is missing", "no address");
	fails("{'listen': [{'address': '127.0.0.1:5222'}, "
	    "{'address': '127.0.0.1:99999'}]}",
	    "listen[1].address: '127.0.0.1:99999': port out of range",
	    "port out of range in the second listener");
	fails("{'listen': [{'address': 'localhost:5222'}]}",
	    "listen[0].address: 'localhost:5222': not a numeric IP address "
	    "(listen addresses are never resolved)",
	    "host name refused");
	fails("{'listen': [{'address': '::1:5222'}]}",
	    "listen[0].address: '::1:5222': IPv6 address must be in brackets, "
	    "as in [::1]:5222",
	    "unbracketed IPv6");
	fails("{'listen': [{'address': '127.0.0.1'}]}",
	    "listen[0].address: '127.0.0.1': missing port", "missing port");
	fails("{'listen': [{'address': '127.0.0.1:5222', 'tls': 'starttls'}]}",
	    "listen[0].tls: 'starttls' needs tls.cert and tls.key (or "
	    "tls.ca_cert and tls.ca_key to forge)",
	    "starttls without a certificate");
	fails("{'listen': [{'address': '127.0.0.1:5222', 'tls': 'direct'}]}",
	    "listen[0].tls: 'direct' needs tls.cert and tls.key (or "
	    "tls.ca_cert and tls.ca_key to forge)",
	    "direct without a certificate");
	fails("{'listen': [{'address': '127.0.0.1:5222', "
	    "'tls': 'passthrough'}], 'upstream': {'tls': 'starttls'}}",
	    "listen[0].tls: 'passthrough' relays the client's TLS to the "
	    "server: it needs upstream.tls 'none', not 'starttls'",
	    "passthrough with TLS upstream");
	fails("{'listen': [{'address': '127.0.0.1:5222', 'tls': 'direct', "
	    "'required': false}], 'tls': {'cert': 'c', 'key': 'k'}}",
	    "listen[0].required: only applies to tls 'starttls', not 'direct'",
	    "required on a direct listener");
	fails("{'listen': [{'address': '127.0.0.1:5222', 'required': true}]}",
	    "listen[0].required: only applies to tls 'starttls', not 'none'",
	    "required on a plaintext listener");
	fails("{'listen': [{'address': '127.0.0.1:5222', 'tls': 'ssl'}]}",
	    "listen[0].tls: expected one of 'none', 'starttls', 'direct', "
	    "'passthrough', got 'ssl'",
	    "unknown tls mode");
	fails("{'listen': [{'address': '127.0.0.1:5222', 'required': 1}]}",
	    "listen[0].required: expected a boolean, got a number",
	    "required must be a boolean");
	fails("{'listen': [{'address': '127.0.0.1:5222'}, "
	    "{'address': '[::1]:5222'}, {'address': '127.0.0.1:5222'}]}",
	    "listen[2].address: same address as listen[0]",
	    "duplicate IPv4 listener");
	fails("{'listen': [{'address': '[::1]:5222'}, "
	    "{'address': '[0:0::1]:5222'}]}",
	    "listen[1].address: same address as listen[0]",
	    "duplicate IPv6 listener, spelled differently");

	cfg = loads("{'listen': [{'address': '127.0.0.1:5222'}, "
	    "{'address': '[::1]:5223', 'tls': 'starttls', 'required': false}],"
	    " 'tls': {'cert': 'c.pem', 'key': 'k.pem'}}",
	    "two listeners");
	if (cfg != NULL) {
		is_int(cfg->nlisten, 2, "two listeners parsed");
		is_str(cfg->listen[0].address, "127.0.0.1:5222", "first");
		is_int(cfg->listen[0].tls, CONFIG_TLS_NONE, "tls defaults "
		    "to none");
		is_int(cfg->listen[0].tls_required, 1, "required defaults "
		    "to true");
		is_str(cfg->listen[1].address, "[::1]:5223", "second");
		is_int(cfg->listen[1].tls, CONFIG_TLS_STARTTLS, "starttls");
		is_int(cfg->listen[1].tls_required, 0, "required false kept");
	}
	config_unref(cfg);
	cfg = loads("{'listen': []}", "empty listen list parses");
	if (cfg != NULL)
		is_int(cfg->nlisten, 0, "no listeners");
	config_unref(cfg);
}

static void
test_upstream_tls(void)
{
	struct config *cfg;

	fails("{'upstream': {'address': 'example.org'}}",
	    "upstream.address: 'example.org': missing port", "no port");
	fails("{'upstream': {'address': 'example.org:0'}}",
	    "upstream.address: 'example.org:0': port out of range", "port 0");
	fails("{'upstream': {'address': 'bad host:5222'}}",
	    "upstream.address: 'bad host:5222': invalid character in host",
	    "space in host");
	fails("{'upstream': {'address': 'x.org:5222', 'tls': 'passthrough'}}",
	    "upstream.tls: expected one of 'none', 'starttls', 'direct', got "
	    "'passthrough'",
	    "passthrough is a client-leg mode only");
	fails("{'tls': {'cert': 'c.pem', 'key': 'k.pem', 'ca_cert': 'ca.pem', "
	    "'ca_key': 'ca.key'}}",
	    "tls.ca_cert: either a certificate (tls.cert) or a CA to forge "
	    "with (tls.ca_cert), not both",
	    "cert and forging CA together");
	fails("{'tls': {'ca_cert': 'ca.pem'}}",
	    "tls.ca_key: required with tls.ca_cert", "CA without its key");
	fails("{'tls': {'ca_key': 'ca.key'}}",
	    "tls.ca_cert: required with tls.ca_key", "CA key without the CA");
	fails("{'tls': {'min_version': '1.1'}}",
	    "tls.min_version: expected one of '1.2', '1.3', got '1.1'",
	    "TLS 1.1 refused");
	fails("{'tls': {'ciphers': ''}}", "tls.ciphers: must not be empty",
	    "empty cipher list");
	cfg = loads("{'upstream': {'address': 'x.org:5222', 'tls': 'starttls'},"
	    " 'tls': {'min_version': '1.3', 'ciphersuites': "
	    "'TLS_AES_128_GCM_SHA256'}}", "upstream starttls, TLS 1.3 only");
	if (cfg != NULL) {
		is_int(cfg->upstream.tls, CONFIG_TLS_STARTTLS, "starttls");
		is_int(cfg->tls.min_version, TLS1_3_VERSION, "1.3");
		is_str(cfg->tls.ciphersuites, "TLS_AES_128_GCM_SHA256",
		    "suites kept");
	}
	config_unref(cfg);
	fails("{'upstream': {'ca_file': ''}}",
	    "upstream.ca_file: must not be empty", "empty ca_file");
	fails("{'upstream': {'server_name': ''}}",
	    "upstream.server_name: must not be empty", "empty server_name");
	fails("{'tls': {'cert': 'c.pem'}}", "tls.key: required with tls.cert",
	    "cert without key");
	fails("{'tls': {'key': 'k.pem'}}", "tls.cert: required with tls.key",
	    "key without cert");
	fails("{'tls': {'cert': '', 'key': 'k.pem'}}",
	    "tls.cert: must not be empty", "empty cert, and no cascade");
	fails("{'tls': {'cert': true, 'key': 'k'}}",
	    "tls.cert: expected a string, got a boolean",
	    "cross-key rules wait for each key to be right");

	cfg = loads("{'upstream': {'address': 'xmpp.example.org:5222', "
	    "'verify': false, 'ca_file': null, 'server_name': null}}",
	    "upstream with nulls");
	if (cfg != NULL) {
		is_str(cfg->upstream.address, "xmpp.example.org:5222",
		    "upstream address");
		is_int(cfg->upstream.verify, 0, "verify false");
		ok(cfg->upstream.ca_file == NULL, "null ca_file stays NULL");
		ok(cfg->upstream.server_name == NULL, "null server_name");
	}
	config_unref(cfg);
}

static void
test_filters_logs(void)
{
	struct config *cfg;

	fails("{'filters': {}}", "filters: expected an array, got an object",
	    "filters must be an array");
	fails("{'filters': [{'type': 'regex'}]}",
	    "filters[0].action: required for type 'regex'\n"
	    "filters[0].match: required for type 'regex'",
	    "a regex filter needs an action and a match");
	fails("{'filters': [1, 2, 3]}",
	    "filters[0]: expected an object, got a number\n"
	    "filters[1]: expected an object, got a number\n"
	    "filters[2]: expected an object, got a number",
	    "each filter is named");
	fails("{'logs': [{'path': '-'}]}",
	    "logs[0].type: required key is missing", "log without type");
	fails("{'logs': [{'type': 'syslog'}]}",
	    "logs[0].type: expected one of 'json', 'console', 'record', got "
	    "'syslog'",
	    "unknown log type");
	fails("{'logs': [{'type': 'json'}, {'path': 'x', 'type': 'console'}]}",
	    "logs[1].path: only valid for type 'json'",
	    "console has no path, whatever the key order");
	fails("{'logs': [{'type': 'console', 'redact': true}]}",
	    "logs[0].redact: only valid for types 'json' and 'record'",
	    "console has no redact switch");
	fails("{'logs': [{'type': 'json', 'path': ''}]}",
	    "logs[0].path: must not be empty", "empty path");
	fails("{'logs': {'type': 'json'}}",
	    "logs: expected an array, got an object", "logs must be an array");

	cfg = loads("{'filters': [], 'logs': [{'type': 'json', 'path': '-'}, "
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

static void write_file(const char *, const char *, size_t);

static void
test_record(void)
{
	struct config *cfg;
	char dir[] = "/tmp/t-config-rec-XXXXXX", *json, *err = NULL, *file;

	fails("{'logs': [{'type': 'json'}, {'type': 'record'}]}",
	    "logs[1].dir: required for type 'record'", "record needs a dir");
	fails("{'logs': [{'type': 'record', 'dir': ''}]}",
	    "logs[0].dir: must not be empty", "empty dir");
	fails("{'logs': [{'type': 'record', 'path': 'x', 'dir': 'd'}]}",
	    "logs[0].path: only valid for type 'json'", "record has no path");
	fails("{'logs': [{'type': 'json', 'dir': 'd', 'max_files': 5}]}",
	    "logs[0].dir: only valid for type 'record'\n"
	    "logs[0].max_files: only valid for type 'record'",
	    "json has no dir or limits");
	fails("{'logs': [{'type': 'console', 'max_bytes': 100000, "
	      "'max_file_bytes': 100000}]}",
	    "logs[0].max_bytes: only valid for type 'record'\n"
	    "logs[0].max_file_bytes: only valid for type 'record'",
	    "console has no limits");
	fails("{'logs': [{'type': 'record', 'dir': 'd', 'max_files': 0}]}",
	    "logs[0].max_files: must be at least 1", "max_files floor");
	fails("{'logs': [{'type': 'record', 'dir': 'd', 'max_files': 1e8}]}",
	    "logs[0].max_files: must be at most 10000000", "max_files ceiling");
	fails("{'logs': [{'type': 'record', 'dir': 'd', 'max_bytes': 1000}]}",
	    "logs[0].max_bytes: must be at least 65536", "max_bytes floor");
	fails("{'logs': [{'type': 'record', 'dir': 'd', "
	      "'max_file_bytes': 65536.5}]}",
	    "logs[0].max_file_bytes: expected a whole number, got 65536.5",
	    "max_file_bytes whole");
	fails("{'logs': [{'type': 'record', 'dir': 'd', 'max_bytes': 100000, "
	      "'max_file_bytes': 200000}]}",
	    "logs[0].max_file_bytes: must not exceed max_bytes (100000)",
	    "a file limit above the directory's");
	fails("{'logs': [{'type': 'record', 'dir': 'd', "
	      "'max_file_bytes': '64M'}]}",
	    "logs[0].max_file_bytes: expected a number, got a string",
	    "limits are numbers");
	fails("{'logs': [{'type': 'record', 'dir': '/var/rec/'}, "
	      "{'type': 'json'}, {'type': 'record', 'dir': '/var/rec'}]}",
	    "logs[2].dir: same directory as logs[0]", "two recorders, one dir");

	cfg = loads("{'logs': [{'type': 'record', 'dir': 'rec'}]}",
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
	cfg = loads("{'logs': [{'type': 'record', 'dir': '/r', "
		    "'redact': false, 'max_files': 7, 'max_bytes': 1099511627776, "
		    "'max_file_bytes': 65536}]}",
	    "record with every key");
	if (cfg != NULL) {
		is_int(cfg->logs[0].redact, 0, "record redact false kept");
		is_int(cfg->logs[0].max_files, 7, "max_files kept");
		is_int(cfg->logs[0].max_bytes, 1099511627776LL,
		    "max_bytes above 4 GiB kept");
		is_int(cfg->logs[0].max_file_bytes, 65536,
		    "max_file_bytes kept");
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
	write_file(file, "x", 1);
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

static void
test_many_errors(void)
{
	struct buf b;
	char *err = NULL, *p;
	struct config *cfg;
	int i, lines = 1;

	fails("{'upstream': {'adress': 'x:1', 'verify': 1}, "
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

	cfg = loads("{}", "empty object");
	if (cfg != NULL) {
		is_int(cfg->limits.max_stanza_bytes,
		    CONFIG_DEFAULT_MAX_STANZA_BYTES, "{} keeps defaults");
		is_int(cfg->limits.idle_timeout_s, 900, "{} idle default");
		is_int(cfg->upstream.verify, 1, "{} verify default");
	}
	config_unref(cfg);

	cfg = loads("{\n"
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
	is_str(err, "listen: at least one listener is required (config or -l)"
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
	is_str(err, "-l example.org:5222: not a numeric IP address (listen "
	    "addresses are never resolved)", "-l host message");
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
	is_str(err, "upstream.address: an upstream server is required (config "
	    "or -u)", "check names the upstream");
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
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return;
	fwrite(data, 1, len, f);
	fclose(f);
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
	write_file(path, "{\"upstream\": {\"address\": \"h:1\"}}\n", 33);
	cfg = config_load(path, &err);
	ok(cfg != NULL && err == NULL, "file loads");
	if (cfg != NULL)
		is_str(cfg->upstream.address, "h:1", "file contents used");
	config_unref(cfg);

	snprintf(path, sizeof(path), "%s/bad.json", dir);
	write_file(path, "{\n\"limits\": {\"max_sessions\": -1}\n}\n", 35);
	cfg = config_load(path, &err);
	is_str(err, "limits.max_sessions: must be at least 1",
	    "file validation error names the JSON path");
	free(err);
	unlink(path);

	snprintf(path, sizeof(path), "%s/nul.json", dir);
	write_file(path, "{}\0{}", 5);
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
	write_file(path, big, 2 * 1024 * 1024);
	free(big);
	cfg = config_load(path, &err);
	ok(cfg == NULL && err && strstr(err, ": larger than 1048576 bytes") !=
	    NULL, "huge file refused");
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
	test_listen();
	test_upstream_tls();
	test_filters_logs();
	test_record();
	test_many_errors();
	test_defaults_full();
	test_overrides();
	test_load();
	test_strings();
	return done_testing();
}
