/* SPDX-License-Identifier: ISC */
/*
 * Config loading, the network's keys (config_net.c) and the limits that
 * guard the listeners: listen[] (addresses, TLS modes, "required",
 * duplicates), upstream and tls (addresses, modes, certificate and key
 * pairs, the forging CA, versions and ciphers), transparent listeners and
 * the PROXY protocol both ways, the pre-authentication and per-address
 * limits; each error with its exact message, each accepted value as
 * stored. JSON here is written with single quotes (cfgtest.h).
 */
#include <openssl/ssl.h>

#include "config.h"

#include <stdio.h>

#include "../tap.h"
#include "cfgtest.h"

/* Transparent listeners, PROXY protocol both ways, and their errors. */
static void
test_netin(void)
{
	static const char *const pp[][2] = {{"true", "3"}, {"false", "0"},
	    {"'v1'", "1"}, {"'v2'", "2"}, {"'any'", "3"}, {"'none'", "0"}};
	struct config *cfg;
	char json_[256], want[8];
	size_t i;

	cfg = cfgtest_loads(
	    "{'listen': [{'address': '0.0.0.0:15222', 'transparent': "
	    "true, 'transparent_allow': ['10.0.0.0/8:5222', "
	    "'[2001:db8::]/32:*']}], 'upstream': {'proxy_protocol': "
	    "'v2'}, 'limits': {'proxy_header_timeout_s': 2}}",
	    "a transparent listener, upstream PROXY v2");
	ok(cfg && cfg->listen[0].transparent && cfg->listen[0].allow.n == 2 &&
	        cfg->upstream.proxy_protocol == 2 &&
	        cfg->limits.proxy_header_timeout_s == 2,
	    "transparent, two patterns, v2, timeout kept");
	ok(cfg && config_check(cfg, NULL) == 0,
	    "transparent listeners alone need no upstream.address");
	config_unref(cfg);
	for (i = 0; i < sizeof(pp) / sizeof(pp[0]); i++) {
		snprintf(json_, sizeof(json_),
		    "{'listen': [{'address': "
		    "'127.0.0.1:5222', 'proxy_protocol': %s}]}",
		    pp[i][0]);
		cfg = cfgtest_loads(json_, "listen[].proxy_protocol");
		snprintf(want, sizeof(want), "%u",
		    cfg ? cfg->listen[0].proxy_protocol : 99);
		is_str(want, pp[i][1], "proxy_protocol %s", pp[i][0]);
		config_unref(cfg);
	}
	cfgtest_fails(
	    "{'listen': [{'address': '0.0.0.0:1', 'transparent': true, "
	    "'transparent_allow': ['10.0.0.0/8:5222', '10.0.0.1/8:5222']}]}",
	    "listen[0].transparent_allow[1]: '10.0.0.1/8:5222': address bits "
	    "set past the /8 prefix (did you mean 10.0.0.0/8?)",
	    "a pattern with host bits, named by its index");
	cfgtest_fails(
	    "{'listen': [{'address': '0.0.0.0:1', 'transparent': true, "
	    "'transparent_allow': '10.0.0.0/8'}]}",
	    "listen[0].transparent_allow: '10.0.0.0/8': missing ':PORT' (as "
	    "in 10.0.0.0/8:5222, or :* for any port)",
	    "a pattern alone");
	cfgtest_fails("{'listen': [{'address': '0.0.0.0:1', "
	              "'transparent_allow': ['*:5222']}]}",
	    "listen[0].transparent_allow: only applies to a listener with "
	    "transparent true",
	    "an allow list without transparent");
	cfgtest_fails(
	    "{'listen': [{'address': '0.0.0.0:1', 'transparent': true, "
	    "'proxy_protocol': 'v1'}]}",
	    "listen[0].proxy_protocol: cannot be combined with transparent "
	    "true",
	    "PROXY protocol and transparent together");
	cfgtest_fails(
	    "{'listen': [{'address': '0.0.0.0:1', 'proxy_protocol': 'v3'}]}",
	    "listen[0].proxy_protocol: expected true, false, 'v1', 'v2', "
	    "'any' or 'none', got 'v3'",
	    "an unknown PROXY version");
	cfgtest_fails(
	    "{'listen': [{'address': '0.0.0.0:1', 'proxy_protocol': 2}]}",
	    "listen[0].proxy_protocol: expected a boolean or a string, got a "
	    "number",
	    "a number for proxy_protocol");
	cfgtest_fails("{'upstream': {'proxy_protocol': true}}",
	    "upstream.proxy_protocol: expected a string or null, got a "
	    "boolean",
	    "upstream.proxy_protocol takes no boolean");
	cfgtest_fails("{'upstream': {'proxy_protocol': 'any'}}",
	    "upstream.proxy_protocol: expected one of 'v1', 'v2', 'none', got "
	    "'any'",
	    "upstream sends one version");
	cfgtest_fails("{'limits': {'proxy_header_timeout_s': 0}}",
	    "limits.proxy_header_timeout_s: must be at least 1",
	    "no zero header timeout");
	cfg = cfgtest_loads(
	    "{'listen': [{'address': '0.0.0.0:1', 'transparent': true},"
	    " {'address': '0.0.0.0:2'}]}",
	    "mixed listeners");
	ok(cfg && config_check(cfg, NULL) == -1,
	    "a listener that is not transparent needs upstream.address");
	config_unref(cfg);
}

/* The pre-authentication limit and the per-address connection limits. */
static void
test_hardening_limits(void)
{
	struct config *cfg;

	cfgtest_fails("{'limits': {'preauth_stanza_bytes': 4095}}",
	    "limits.preauth_stanza_bytes: must be at least 4096",
	    "preauth limit below 4096");
	cfgtest_fails("{'limits': {'max_stanza_bytes': 10000, "
	              "'preauth_stanza_bytes': 10001}}",
	    "limits.preauth_stanza_bytes: must not exceed "
	    "limits.max_stanza_bytes (10000)",
	    "preauth limit above the general one");
	cfgtest_fails("{'limits': {'preauth_stanza_bytes': 300000}}",
	    "limits.preauth_stanza_bytes: must not exceed "
	    "limits.max_stanza_bytes (262144)",
	    "preauth limit above the default general one");
	cfgtest_fails("{'limits': {'connections_burst': 5}}",
	    "limits.connections_burst: needs limits.connections_per_ip",
	    "a burst without a rate");
	cfgtest_fails("{'limits': {'connections_per_ip': 0, "
	              "'connections_interval_s': 10}}",
	    "limits.connections_interval_s: needs limits.connections_per_ip",
	    "an interval without a rate");
	cfgtest_fails(
	    "{'limits': {'connections_per_ip': 5, 'connections_burst': 0}}",
	    "limits.connections_burst: must be at least 1", "a zero burst");
	cfgtest_fails("{'limits': {'connections_per_ip': 5, "
	              "'connections_interval_s': 86401}}",
	    "limits.connections_interval_s: must be at most 86400",
	    "an interval over a day");
	cfgtest_fails("{'limits': {'sessions_per_ip': -1}}",
	    "limits.sessions_per_ip: must be at least 0", "negative cap");

	cfg = cfgtest_loads("{}", "no limits given");
	if (cfg != NULL) {
		is_int(cfg->limits.preauth_stanza_bytes, 8192,
		    "preauth default 8192");
		ok(cfg->limits.connections_per_ip == 0 &&
		        cfg->limits.sessions_per_ip == 0,
		    "per-address limits off by default");
	}
	config_unref(cfg);
	cfg = cfgtest_loads(
	    "{'limits': {'max_stanza_bytes': 10000, "
	    "'preauth_stanza_bytes': 10000, 'connections_per_ip': 20, "
	    "'connections_interval_s': 10, 'sessions_per_ip': 50}}",
	    "preauth equal to the general limit; a rate and a cap");
	if (cfg != NULL) {
		is_int(cfg->limits.preauth_stanza_bytes, 10000, "preauth");
		is_int(cfg->limits.connections_burst, 20,
		    "the burst defaults to the rate");
		is_int(cfg->limits.connections_interval_s, 10, "interval");
		is_int(cfg->limits.sessions_per_ip, 50, "sessions per IP");
	}
	config_unref(cfg);
	cfg = cfgtest_loads("{'limits': {'connections_per_ip': 2, "
	                    "'connections_burst': 30}}",
	    "a burst of its own");
	if (cfg != NULL)
		is_int(cfg->limits.connections_burst, 30, "burst 30");
	config_unref(cfg);
}

static void
test_listen(void)
{
	struct config *cfg;

	cfgtest_fails("{'listen': [{'tls': 'none'}]}",
	    "listen[0].address: required key is missing", "no address");
	cfgtest_fails("{'listen': [{'address': '127.0.0.1:5222'}, "
	              "{'address': '127.0.0.1:99999'}]}",
	    "listen[1].address: '127.0.0.1:99999': port out of range",
	    "port out of range in the second listener");
	cfgtest_fails("{'listen': [{'address': 'localhost:5222'}]}",
	    "listen[0].address: 'localhost:5222': not a numeric IP address "
	    "(listen addresses are never resolved)",
	    "host name refused");
	cfgtest_fails("{'listen': [{'address': '::1:5222'}]}",
	    "listen[0].address: '::1:5222': IPv6 address must be in brackets, "
	    "as in [::1]:5222",
	    "unbracketed IPv6");
	cfgtest_fails("{'listen': [{'address': '127.0.0.1'}]}",
	    "listen[0].address: '127.0.0.1': missing port", "missing port");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222', 'tls': 'starttls'}]}",
	    "listen[0].tls: 'starttls' needs tls.cert and tls.key (or "
	    "tls.ca_cert and tls.ca_key to forge)",
	    "starttls without a certificate");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222', 'tls': 'direct'}]}",
	    "listen[0].tls: 'direct' needs tls.cert and tls.key (or "
	    "tls.ca_cert and tls.ca_key to forge)",
	    "direct without a certificate");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222', "
	    "'tls': 'passthrough'}], 'upstream': {'tls': 'starttls'}}",
	    "listen[0].tls: 'passthrough' relays the client's TLS to the "
	    "server: it needs upstream.tls 'none', not 'starttls'",
	    "passthrough with TLS upstream");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222', 'tls': 'direct', "
	    "'required': false}], 'tls': {'cert': 'c', 'key': 'k'}}",
	    "listen[0].required: only applies to tls 'starttls', not 'direct'",
	    "required on a direct listener");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222', 'required': true}]}",
	    "listen[0].required: only applies to tls 'starttls', not 'none'",
	    "required on a plaintext listener");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222', 'tls': 'ssl'}]}",
	    "listen[0].tls: expected one of 'none', 'starttls', 'direct', "
	    "'passthrough', got 'ssl'",
	    "unknown tls mode");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222', 'required': 1}]}",
	    "listen[0].required: expected a boolean, got a number",
	    "required must be a boolean");
	cfgtest_fails(
	    "{'listen': [{'address': '127.0.0.1:5222'}, "
	    "{'address': '[::1]:5222'}, {'address': '127.0.0.1:5222'}]}",
	    "listen[2].address: same address as listen[0]",
	    "duplicate IPv4 listener");
	cfgtest_fails("{'listen': [{'address': '[::1]:5222'}, "
	              "{'address': '[0:0::1]:5222'}]}",
	    "listen[1].address: same address as listen[0]",
	    "duplicate IPv6 listener, spelled differently");

	cfg = cfgtest_loads(
	    "{'listen': [{'address': '127.0.0.1:5222'}, "
	    "{'address': '[::1]:5223', 'tls': 'starttls', 'required': false}],"
	    " 'tls': {'cert': 'c.pem', 'key': 'k.pem'}}",
	    "two listeners");
	if (cfg != NULL) {
		is_int(cfg->nlisten, 2, "two listeners parsed");
		is_str(cfg->listen[0].address, "127.0.0.1:5222", "first");
		is_int(cfg->listen[0].tls, CONFIG_TLS_NONE,
		    "tls defaults "
		    "to none");
		is_int(cfg->listen[0].tls_required, 1,
		    "required defaults "
		    "to true");
		is_str(cfg->listen[1].address, "[::1]:5223", "second");
		is_int(cfg->listen[1].tls, CONFIG_TLS_STARTTLS, "starttls");
		is_int(cfg->listen[1].tls_required, 0, "required false kept");
	}
	config_unref(cfg);
	cfg = cfgtest_loads("{'listen': []}", "empty listen list parses");
	if (cfg != NULL)
		is_int(cfg->nlisten, 0, "no listeners");
	config_unref(cfg);
}

static void
test_upstream_tls(void)
{
	struct config *cfg;

	cfgtest_fails("{'upstream': {'address': 'example.org'}}",
	    "upstream.address: 'example.org': missing port", "no port");
	cfgtest_fails("{'upstream': {'address': 'example.org:0'}}",
	    "upstream.address: 'example.org:0': port out of range", "port 0");
	cfgtest_fails("{'upstream': {'address': 'bad host:5222'}}",
	    "upstream.address: 'bad host:5222': invalid character in host",
	    "space in host");
	cfgtest_fails(
	    "{'upstream': {'address': 'x.org:5222', 'tls': 'passthrough'}}",
	    "upstream.tls: expected one of 'none', 'starttls', 'direct', got "
	    "'passthrough'",
	    "passthrough is a client-leg mode only");
	cfgtest_fails(
	    "{'tls': {'cert': 'c.pem', 'key': 'k.pem', 'ca_cert': 'ca.pem', "
	    "'ca_key': 'ca.key'}}",
	    "tls.ca_cert: either a certificate (tls.cert) or a CA to forge "
	    "with (tls.ca_cert), not both",
	    "cert and forging CA together");
	cfgtest_fails("{'tls': {'ca_cert': 'ca.pem'}}",
	    "tls.ca_key: required with tls.ca_cert", "CA without its key");
	cfgtest_fails("{'tls': {'ca_key': 'ca.key'}}",
	    "tls.ca_cert: required with tls.ca_key", "CA key without the CA");
	cfgtest_fails("{'tls': {'min_version': '1.1'}}",
	    "tls.min_version: expected one of '1.2', '1.3', got '1.1'",
	    "TLS 1.1 refused");
	cfgtest_fails("{'tls': {'ciphers': ''}}",
	    "tls.ciphers: must not be empty", "empty cipher list");
	cfg = cfgtest_loads(
	    "{'upstream': {'address': 'x.org:5222', 'tls': 'starttls'},"
	    " 'tls': {'min_version': '1.3', 'ciphersuites': "
	    "'TLS_AES_128_GCM_SHA256'}}",
	    "upstream starttls, TLS 1.3 only");
	if (cfg != NULL) {
		is_int(cfg->upstream.tls, CONFIG_TLS_STARTTLS, "starttls");
		is_int(cfg->tls.min_version, TLS1_3_VERSION, "1.3");
		is_str(cfg->tls.ciphersuites, "TLS_AES_128_GCM_SHA256",
		    "suites kept");
	}
	config_unref(cfg);
	cfgtest_fails("{'upstream': {'ca_file': ''}}",
	    "upstream.ca_file: must not be empty", "empty ca_file");
	cfgtest_fails("{'upstream': {'server_name': ''}}",
	    "upstream.server_name: must not be empty", "empty server_name");
	cfgtest_fails("{'tls': {'cert': 'c.pem'}}",
	    "tls.key: required with tls.cert", "cert without key");
	cfgtest_fails("{'tls': {'key': 'k.pem'}}",
	    "tls.cert: required with tls.key", "key without cert");
	cfgtest_fails("{'tls': {'cert': '', 'key': 'k.pem'}}",
	    "tls.cert: must not be empty", "empty cert, and no cascade");
	cfgtest_fails("{'tls': {'cert': true, 'key': 'k'}}",
	    "tls.cert: expected a string, got a boolean",
	    "cross-key rules wait for each key to be right");

	cfg = cfgtest_loads(
	    "{'upstream': {'address': 'xmpp.example.org:5222', "
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

int
main(void)
{
	test_netin();
	test_hardening_limits();
	test_listen();
	test_upstream_tls();
	return done_testing();
}
