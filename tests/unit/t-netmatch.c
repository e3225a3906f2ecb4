/* SPDX-License-Identifier: ISC */
/*
 * Destination patterns for transparent_allow: what each form admits and
 * refuses (blocks, single addresses, any address, ports, ranges, IPv4-mapped
 * IPv6), and every malformed pattern refused with its reason.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "netmatch.h"
#include "../tap.h"

/* "ADDR:PORT" or "[V6]:PORT" as a socket address (the test's own input). */
static struct sockaddr_storage
sa(const char *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;

	memset(&ss, 0, sizeof(ss));
	if (s[0] == '[') {
		n = (size_t)(colon - s - 2);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, host, &sin6->sin6_addr);
		sin6->sin6_port = htons((uint16_t)atoi(colon + 1));
	} else {
		n = (size_t)(colon - s);
		memcpy(host, s, n);
		host[n] = '\0';
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, host, &sin->sin_addr);
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
	}
	return ss;
}

static void
matches(const char *pattern, const char *addr, bool want)
{
	struct netmatch m;
	struct sockaddr_storage ss = sa(addr);
	char err[160] = "";

	if (netmatch_parse(pattern, &m, err, sizeof(err)) == -1) {
		ok(0, "%s parses", pattern);
		diag("%s", err);
		return;
	}
	ok(netmatch_match(&m, (struct sockaddr *)&ss) == want, "%s %s %s",
	    pattern, want ? "admits" : "refuses", addr);
}

static void
refused(const char *pattern, const char *want)
{
	struct netmatch m;
	char err[160] = "";
	int rc = netmatch_parse(pattern, &m, err, sizeof(err));

	if (!ok(rc == -1 && strstr(err, want) != NULL, "'%s' refused: %s",
	        pattern, want))
		diag("rc %d, error '%s'", rc, err);
}

int
main(void)
{
	struct netmatch list[2];
	struct sockaddr_storage ss;
	char err[160];

	matches("10.0.0.0/8:5222", "10.1.2.3:5222", true);
	matches("10.0.0.0/8:5222", "11.1.2.3:5222", false);
	matches("10.0.0.0/8:5222", "10.1.2.3:5223", false);
	matches("192.0.2.7:5222", "192.0.2.7:5222", true);
	matches("192.0.2.7:5222", "192.0.2.8:5222", false);
	matches("192.0.2.0/25:*", "192.0.2.127:1", true);
	matches("192.0.2.0/25:*", "192.0.2.128:5222", false);
	matches("0.0.0.0/0:5222", "203.0.113.9:5222", true);
	matches("0.0.0.0/0:5222", "[2001:db8::1]:5222", false);
	matches("[2001:db8::]/32:*", "[2001:db8:ffff::1]:443", true);
	matches("[2001:db8::]/32:*", "[2001:db9::1]:443", false);
	matches("[2001:db8::]/32:*", "10.0.0.1:443", false);
	matches("[2001:db8::7]:5222", "[2001:db8::7]:5222", true);
	matches("[2001:db8::]/33:5222", "[2001:db8:8000::1]:5222", false);
	matches("[2001:db8::]/33:5222", "[2001:db8:7fff::1]:5222", true);
	matches("*:5222", "198.51.100.2:5222", true);
	matches("*:5222", "[2001:db8::2]:5222", true);
	matches("*:5222", "198.51.100.2:5223", false);
	matches("*:5222-5223", "198.51.100.2:5223", true);
	matches("*:5222-5223", "198.51.100.2:5224", false);
	matches("*:*", "198.51.100.2:65535", true);
	/* An IPv4 client seen through an IPv6 socket is still IPv4. */
	matches("10.0.0.0/8:5222", "[::ffff:10.9.8.7]:5222", true);
	matches("[::ffff:0:0]/96:5222", "[::ffff:10.9.8.7]:5222", false);

	refused("", "empty pattern");
	refused("10.0.0.0/8", "missing ':PORT'");
	refused("[2001:db8::]/32", "missing ':PORT'");
	refused(":5222", "missing address");
	refused("2001:db8::1:5222", "must be in brackets");
	refused("10.0.0.0/8:", "invalid port");
	refused("10.0.0.0/8:http", "invalid port");
	refused("10.0.0.0/8:0", "port out of range");
	refused("10.0.0.0/8:65536", "port out of range");
	refused("10.0.0.0/8:5223-5222", "empty port range");
	refused("10.0.0.0/8:1-", "invalid port");
	refused("10.0.0.0/33:5222", "prefix length must be a number from 0 "
	                            "to 32");
	refused("[2001:db8::]/129:5222", "from 0 to 128");
	refused("10.0.0.0/x:5222", "prefix length");
	refused("10.0.0.1/8:5222", "did you mean 10.0.0.0/8?");
	refused("[2001:db8::1]/32:5222", "did you mean [2001:db8::]/32?");
	refused("10.0.0.256:5222", "invalid IPv4 address '10.0.0.256'");
	refused("[2001:db8::g]:5222", "invalid IPv6 address");
	refused("[2001:db8::1:5222", "missing ']'");
	refused("[2001:db8::1]x:5222", "expected '/' or ':'");
	refused("localhost:5222", "invalid IPv4 address");

	ok(netmatch_parse("10.0.0.0/8:5222", &list[0], err, sizeof(err)) == 0 &&
	        netmatch_parse(
	            "[2001:db8::]/32:*", &list[1], err, sizeof(err)) == 0,
	    "a list of two");
	ss = sa("[2001:db8::5]:1");
	ok(netmatch_any(list, 2, (struct sockaddr *)&ss), "any: the second");
	ss = sa("10.0.0.5:5222");
	ok(netmatch_any(list, 2, (struct sockaddr *)&ss), "any: the first");
	ss = sa("10.0.0.5:1");
	ok(!netmatch_any(list, 2, (struct sockaddr *)&ss), "any: neither");
	ok(!netmatch_any(list, 0, (struct sockaddr *)&ss), "any of none");
	return done_testing();
}
