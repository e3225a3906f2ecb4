/* SPDX-License-Identifier: ISC */
/*
 * Address strings: splitting host and port (names, IPv4, bracketed IPv6),
 * the refusals with their reasons, numeric parsing into socket addresses and
 * printing them back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "../tap.h"

static void
split_ok(const char *s, const char *want_host, unsigned want_port)
{
	char host[256] = "";
	unsigned port = 0;
	const char *errstr = NULL;
	int rc = addr_split(s, host, sizeof(host), &port, &errstr);

	if (!ok(rc == 0 && strcmp(host, want_host) == 0 && port == want_port,
	    "split '%.40s' -> '%.40s' %u", s, want_host, want_port))
		diag("rc=%d host='%s' port=%u err=%s", rc, host, port,
		    errstr ? errstr : "(none)");
}

static void
split_fails(const char *s, const char *want)
{
	char host[256];
	unsigned port;
	const char *errstr = NULL;
	int rc = addr_split(s, host, sizeof(host), &port, &errstr);

	if (!ok(rc == -1 && errstr != NULL && strcmp(errstr, want) == 0,
	    "split '%.40s' refused: %s", s ? s : "(null)", want))
		diag("rc=%d err=%s", rc, errstr ? errstr : "(none)");
}

static void
test_split(void)
{
	char host[8], big[300], want[254];
	unsigned port;
	const char *errstr = NULL;

	split_ok("127.0.0.1:5222", "127.0.0.1", 5222);
	split_ok("xmpp.example.org:5222", "xmpp.example.org", 5222);
	split_ok("localhost:1", "localhost", 1);
	split_ok("h:65535", "h", 65535);
	split_ok("[::1]:5222", "::1", 5222);
	split_ok("[2001:db8::1]:15222", "2001:db8::1", 15222);
	split_ok("[::ffff:192.0.2.1]:5222", "::ffff:192.0.2.1", 5222);
	split_ok("under_score-host.example:5222", "under_score-host.example",
	    5222);
	split_ok("h:005222", "h", 5222);

	split_fails(NULL, "empty address");
	split_fails("", "empty address");
	split_fails("example.org", "missing port");
	split_fails("example.org:", "missing port");
	split_fails(":5222", "missing host");
	split_fails("h:0", "port out of range");
	split_fails("h:65536", "port out of range");
	split_fails("h:99999999999999999999999", "port out of range");
	split_fails("h:-1", "invalid port");
	split_fails("h:+5", "invalid port");
	split_fails("h:52 22", "invalid port");
	split_fails("h:5222 ", "invalid port");
	split_fails("h:0x10", "invalid port");
	split_fails("::1:5222", "IPv6 address must be in brackets, as in "
	    "[::1]:5222");
	split_fails("::1", "IPv6 address must be in brackets, as in "
	    "[::1]:5222");
	split_fails("[::1]", "missing port");
	split_fails("[::1]:", "missing port");
	split_fails("[::1]5222", "expected ':' after ']'");
	split_fails("[::1:5222", "missing ']' after IPv6 address");
	split_fails("[]:5222", "missing host");
	split_fails("[127.0.0.1]:5222", "invalid IPv6 address in brackets");
	split_fails("[example.org]:5222", "invalid IPv6 address in brackets");
	split_fails("[::1]:99999", "port out of range");
	split_fails("bad host:5222", "invalid character in host");
	split_fails("host/x:5222", "invalid character in host");
	split_fails("-l:5222", "invalid character in host");
	split_fails(".x:5222", "invalid character in host");

	ok(addr_split("longer.example:5222", host, sizeof(host), &port,
	    &errstr) == -1 && strcmp(errstr, "host too long") == 0,
	    "host longer than the buffer refused");
	ok(addr_split("[2001:db8::1]:5222", host, sizeof(host), &port,
	    &errstr) == -1 && strcmp(errstr, "host too long") == 0,
	    "IPv6 longer than the buffer refused");
	ok(addr_split("abcdefg:1", host, sizeof(host), &port, &errstr) == 0 &&
	    strcmp(host, "abcdefg") == 0, "host exactly filling the buffer");
	memset(big, 'a', 254);
	strcpy(big + 254, ":5222");
	split_fails(big, "host too long");
	memset(want, 'a', 253);
	want[253] = '\0';
	big[253] = ':';
	big[254] = '1';
	big[255] = '\0';
	split_ok(big, want, 1); /* the longest DNS name: 253 characters */
}

static void
numeric_ok(const char *s, int family, const char *want_fmt)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *errstr = NULL;
	char out[64] = "";
	int rc = addr_parse_numeric(s, &ss, &len, &errstr);

	if (rc == 0)
		addr_format((struct sockaddr *)&ss, out, sizeof(out));
	if (!ok(rc == 0 && ss.ss_family == family &&
	    len == (family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6)) && strcmp(out, want_fmt) == 0,
	    "numeric '%s' -> %s", s, want_fmt))
		diag("rc=%d out='%s' err=%s", rc, out,
		    errstr ? errstr : "(none)");
}

static void
numeric_fails(const char *s, const char *want)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *errstr = NULL;
	int rc = addr_parse_numeric(s, &ss, &len, &errstr);

	if (!ok(rc == -1 && errstr != NULL && strcmp(errstr, want) == 0,
	    "numeric '%s' refused: %s", s, want))
		diag("rc=%d err=%s", rc, errstr ? errstr : "(none)");
}

static void
test_numeric(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len;
	const char *errstr;

	numeric_ok("127.0.0.1:5222", AF_INET, "127.0.0.1:5222");
	numeric_ok("0.0.0.0:1", AF_INET, "0.0.0.0:1");
	numeric_ok("[::1]:5222", AF_INET6, "[::1]:5222");
	numeric_ok("[::]:5222", AF_INET6, "[::]:5222");
	numeric_ok("[0:0:0:0:0:0:0:1]:65535", AF_INET6, "[::1]:65535");
	numeric_ok("[2001:DB8::1]:5222", AF_INET6, "[2001:db8::1]:5222");
	numeric_ok("[::ffff:192.0.2.1]:5222", AF_INET6,
	    "[::ffff:192.0.2.1]:5222");

	numeric_fails("localhost:5222", "not a numeric IP address (listen "
	    "addresses are never resolved)");
	numeric_fails("1.2.3:5222", "not a numeric IP address (listen "
	    "addresses are never resolved)");
	numeric_fails("1.2.3.256:5222", "not a numeric IP address (listen "
	    "addresses are never resolved)");
	numeric_fails("127.0.0.1:99999", "port out of range");
	numeric_fails("::1:5222", "IPv6 address must be in brackets, as in "
	    "[::1]:5222");
	numeric_fails("[1.2.3.4]:5222", "invalid IPv6 address in brackets");
	numeric_fails("[fe80::1%eth0]:5222", "invalid IPv6 address in brackets");

	ok(addr_parse_numeric("192.0.2.7:5269", &ss, &len, &errstr) == 0 &&
	    ntohs(sin->sin_port) == 5269 &&
	    ntohl(sin->sin_addr.s_addr) == 0xc0000207,
	    "address and port in network order");
}

static void
test_format(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr sa;
	char out[64], small[8];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5222);
	sin.sin_addr.s_addr = htonl(0x01020304);
	addr_format((struct sockaddr *)&sin, out, sizeof(out));
	is_str(out, "1.2.3.4:5222", "format IPv4");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(15222);
	inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);
	addr_format((struct sockaddr *)&sin6, out, sizeof(out));
	is_str(out, "[2001:db8::5]:15222", "format IPv6 in brackets");

	addr_format((struct sockaddr *)&sin6, small, sizeof(small));
	is_str(small, "[2001:d", "format truncates to the buffer");

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	addr_format(&sa, out, sizeof(out));
	is_str(out, "unknown(family=1)", "format an unknown family");
}

/* What the metrics endpoint may bind without metrics.allow_remote. */
static void
test_loopback(void)
{
	static const struct {
		const char *addr;
		int loopback;
	} cases[] = {
	    {"127.0.0.1:1", 1},
	    {"127.255.0.9:1", 1},
	    {"[::1]:1", 1},
	    {"[::ffff:127.0.0.1]:1", 1},
	    {"0.0.0.0:1", 0},
	    {"128.0.0.1:1", 0},
	    {"10.0.0.1:1", 0},
	    {"[::]:1", 0},
	    {"[::2]:1", 0},
	    {"[::ffff:10.0.0.1]:1", 0},
	    {"[2001:db8::1]:1", 0},
	};
	struct sockaddr_storage ss;
	socklen_t len;
	const char *errstr;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (addr_parse_numeric(cases[i].addr, &ss, &len, &errstr) ==
		    -1) {
			ok(0, "%s parses", cases[i].addr);
			continue;
		}
		is_int(addr_is_loopback((struct sockaddr *)&ss),
		    cases[i].loopback, "%s is %sloopback", cases[i].addr,
		    cases[i].loopback ? "" : "not ");
	}
}

int
main(void)
{
	test_split();
	test_numeric();
	test_format();
	test_loopback();
	return done_testing();
}
