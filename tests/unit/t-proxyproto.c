/* SPDX-License-Identifier: ISC */
/*
 * The PROXY protocol parser and writer: valid v1 and v2 headers for IPv4,
 * IPv6, UNKNOWN and LOCAL, TLVs skipped, every header split at every byte
 * boundary (each shorter prefix must ask for more, never fail or succeed),
 * every malformed form refused (and no prefix of it accepted), the version
 * restrictions of a listener, and the writer's output parsed back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"
#include "../tap.h"

#define XML "<?xml version='1.0'?>"

/* A test input: bytes and their length (v2 headers hold NULs). */
struct input {
	const char *name;
	const char *bytes;
	size_t len;
};

#define IN(name, lit)                                                          \
	{                                                                      \
		name, lit, sizeof(lit) - 1                                     \
	}

static const char *
addr_str(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(out, outlen, "%s:%u", a, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(out, outlen, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else
		snprintf(out, outlen, "unspec");
	return out;
}

/*
 * in must parse as one header of hdr_len bytes followed by the rest, and
 * every shorter prefix must be a MORE. Returns the header for more checks.
 */
static struct proxyproto_hdr
parses(const struct input *in, unsigned versions, size_t hdr_len)
{
	struct proxyproto_hdr h;
	const char *errstr = NULL;
	size_t i, bad = (size_t)-1;
	int rc;

	for (i = 0; i < hdr_len; i++)
		if (proxyproto_parse(in->bytes, i, versions, &h, &errstr) !=
		        PROXYPROTO_MORE &&
		    bad == (size_t)-1)
			bad = i;
	if (!ok(bad == (size_t)-1, "%s: every prefix asks for more", in->name))
		diag("prefix of %zu bytes did not (%s)", bad,
		    errstr ? errstr : "accepted");
	memset(&h, 0, sizeof(h));
	rc = proxyproto_parse(in->bytes, in->len, versions, &h, &errstr);
	if (!ok(rc == PROXYPROTO_DONE && h.len == hdr_len,
	        "%s: parsed, %zu bytes", in->name, hdr_len))
		diag("rc %d len %zu error %s", rc, h.len,
		    rc == PROXYPROTO_ERROR ? errstr : "-");
	return h;
}

static void
check_addrs(const char *name, const struct proxyproto_hdr *h, const char *src,
    const char *dst)
{
	char a[80], b[80];

	is_str(addr_str(&h->src, a, sizeof(a)), src, "%s: source", name);
	is_str(addr_str(&h->dst, b, sizeof(b)), dst, "%s: destination", name);
}

static void
test_v1_valid(void)
{
	static const struct input tcp4 = IN(
	    "v1 TCP4", "PROXY TCP4 192.0.2.10 198.51.100.2 51234 5222\r\n" XML);
	static const struct input tcp6 = IN(
	    "v1 TCP6", "PROXY TCP6 2001:db8::10 2001:db8:2::2 0 65535\r\n" XML);
	static const struct input unk = IN("v1 UNKNOWN", "PROXY UNKNOWN\r\n");
	static const struct input unk_long = IN("v1 UNKNOWN, long form",
	    "PROXY UNKNOWN ffff::1 ffff::2  anything 1 2\r\n" XML);
	static const struct input maxlen = IN("v1 TCP6, longest addresses",
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");
	struct proxyproto_hdr h;

	h = parses(&tcp4, PROXYPROTO_ANY, tcp4.len - strlen(XML));
	is_int(h.version, 1, "v1 TCP4: version");
	is_int(h.family, AF_INET, "v1 TCP4: family");
	ok(!h.local, "v1 TCP4: not local");
	check_addrs("v1 TCP4", &h, "192.0.2.10:51234", "198.51.100.2:5222");
	h = parses(&tcp4, PROXYPROTO_V1, tcp4.len - strlen(XML));
	is_int(h.family, AF_INET, "v1 TCP4 on a v1-only listener");

	h = parses(&tcp6, PROXYPROTO_ANY, tcp6.len - strlen(XML));
	is_int(h.family, AF_INET6, "v1 TCP6: family");
	check_addrs("v1 TCP6", &h, "[2001:db8::10]:0", "[2001:db8:2::2]:65535");

	h = parses(&unk, PROXYPROTO_ANY, unk.len);
	is_int(h.family, AF_UNSPEC, "v1 UNKNOWN: no addresses");
	h = parses(&unk_long, PROXYPROTO_ANY, unk_long.len - strlen(XML));
	is_int(h.family, AF_UNSPEC, "v1 UNKNOWN, long: the rest is ignored");

	is_int(maxlen.len, 104, "the longest TCP6 line is 104 bytes");
	h = parses(&maxlen, PROXYPROTO_ANY, maxlen.len);
	is_int(h.family, AF_INET6, "v1 longest line: family");
}

/* v2 headers, written out byte by byte. */
#define SIG "\r\n\r\n\0\r\nQUIT\n"

static void
test_v2_valid(void)
{
	static const struct input tcp4 = IN("v2 TCP4", SIG "\x21\x11\x00\x0c"
	                                                   "\xc0\x00\x02\x0a"
	                                                   "\xc6\x33\x64\x02"
	                                                   "\xc8\x22"
	                                                   "\x14\x66" XML);
	static const struct input tcp6 =
	    IN("v2 TCP6", SIG "\x21\x21\x00\x24"
	                      "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10"
	                      "\x20\x01\x0d\xb8\0\x02\0\0\0\0\0\0\0\0\0\x02"
	                      "\xc8\x22"
	                      "\x14\x66");
	/* ALPN "xmpp-client", a NOOP of 3 bytes, an empty unique id. */
	static const struct input tlvs =
	    IN("v2 TCP4 with TLVs", SIG "\x21\x11\x00\x23"
	                                "\xc0\x00\x02\x0a"
	                                "\xc6\x33\x64\x02"
	                                "\xc8\x22"
	                                "\x14\x66"
	                                "\x01\x00\x0b"
	                                "xmpp-client"
	                                "\x04\x00\x03"
	                                "abc"
	                                "\x05\x00\x00"
	                                "\x16\x03\x01");
	static const struct input local =
	    IN("v2 LOCAL", SIG "\x20\x00\x00\x00" XML);
	static const struct input local_addrs = IN("v2 LOCAL with addresses",
	    SIG "\x20\x11\x00\x0c"
	        "\x7f\0\0\x01\x7f\0\0\x01\0\x01\0\x02");
	static const struct input unspec =
	    IN("v2 PROXY UNSPEC", SIG "\x21\x00\x00\x00");
	char unix_buf[16 + 216];
	struct input unix_;
	struct proxyproto_hdr h;

	h = parses(&tcp4, PROXYPROTO_ANY, 28);
	is_int(h.version, 2, "v2 TCP4: version");
	is_int(h.family, AF_INET, "v2 TCP4: family");
	check_addrs("v2 TCP4", &h, "192.0.2.10:51234", "198.51.100.2:5222");
	h = parses(&tcp4, PROXYPROTO_V2, 28);
	is_int(h.family, AF_INET, "v2 TCP4 on a v2-only listener");

	h = parses(&tcp6, PROXYPROTO_ANY, tcp6.len);
	is_int(h.family, AF_INET6, "v2 TCP6: family");
	check_addrs(
	    "v2 TCP6", &h, "[2001:db8::10]:51234", "[2001:db8:2::2]:5222");

	h = parses(&tlvs, PROXYPROTO_ANY, tlvs.len - 3);
	check_addrs(
	    "v2 TLVs skipped", &h, "192.0.2.10:51234", "198.51.100.2:5222");

	h = parses(&local, PROXYPROTO_ANY, 16);
	ok(h.local && h.family == AF_UNSPEC, "v2 LOCAL: local, no addresses");
	h = parses(&local_addrs, PROXYPROTO_ANY, local_addrs.len);
	ok(h.local && h.family == AF_UNSPEC,
	    "v2 LOCAL: its addresses are ignored");
	h = parses(&unspec, PROXYPROTO_ANY, unspec.len);
	ok(!h.local && h.family == AF_UNSPEC, "v2 UNSPEC: no addresses");
	/* AF_UNIX: two 108-byte paths. */
	memcpy(unix_buf, SIG "\x21\x31\x00\xd8", 16);
	memset(unix_buf + 16, 0, 216);
	memcpy(unix_buf + 16, "/run/lb.sock", 12);
	unix_.name = "v2 PROXY AF_UNIX";
	unix_.bytes = unix_buf;
	unix_.len = sizeof(unix_buf);
	h = parses(&unix_, PROXYPROTO_ANY, unix_.len);
	ok(!h.local && h.family == AF_UNSPEC, "v2 AF_UNIX: no IP addresses");
}

/* in must be refused, and no prefix of it accepted. */
static void
refused(const struct input *in, unsigned versions, const char *want)
{
	struct proxyproto_hdr h;
	const char *errstr = NULL;
	size_t i;
	int rc, accepted = 0;

	for (i = 0; i < in->len; i++)
		if (proxyproto_parse(in->bytes, i, versions, &h, &errstr) ==
		    PROXYPROTO_DONE)
			accepted = 1;
	errstr = NULL;
	rc = proxyproto_parse(in->bytes, in->len, versions, &h, &errstr);
	if (!ok(rc == PROXYPROTO_ERROR && !accepted && errstr != NULL &&
	            strstr(errstr, want) != NULL,
	        "refused: %s", in->name))
		diag("rc %d accepted-prefix %d error '%s', want '%s'", rc,
		    accepted, errstr ? errstr : "(none)", want);
}

static void
test_malformed(void)
{
	static const struct {
		struct input in;
		const char *want;
	} cases[] = {
	    {IN("XML instead of a header", XML), "does not start"},
	    {IN("a TLS ClientHello", "\x16\x03\x01\x02\x00"), "does not start"},
	    {IN("lower case", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	        "does not start"},
	    {IN("PROXY without a space", "PROXY\r\n"), "does not start"},
	    {IN("LF without CR", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
	        "LF without CR"},
	    {IN("CR inside", "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n"),
	        "CR not followed"},
	    {IN("a tab", "PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n"),
	        "control character"},
	    {IN("non-ASCII", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xc3\xa9\r\n"),
	        "non-ASCII"},
	    {IN("two spaces", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"),
	        "exactly one space"},
	    {IN("trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"),
	        "exactly one space"},
	    {IN("unknown protocol", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"),
	        "TCP4, TCP6 or UNKNOWN"},
	    {IN("UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	        "TCP4, TCP6 or UNKNOWN"},
	    {IN("missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"),
	        "expected source"},
	    {IN("extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"),
	        "expected source"},
	    {IN("no fields", "PROXY \r\n"), "exactly one space"},
	    {IN("bad IPv4", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"),
	        "not an IPv4"},
	    {IN("IPv4 leading zero", "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"),
	        "not an IPv4"},
	    {IN("IPv6 after TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n"),
	        "not an IPv4"},
	    {IN("IPv4 after TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"),
	        "not an IPv6"},
	    {IN("port 65536", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"),
	        "a port"},
	    {IN("port with a leading zero",
	         "PROXY TCP4 1.2.3.4 5.6.7.8 1 022\r\n"),
	        "a port"},
	    {IN("negative port", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"),
	        "a port"},
	    {IN("port with a letter", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2a\r\n"),
	        "a port"},
	    {IN("108 bytes without CRLF",
	         "PROXY UNKNOWN 0123456789012345678901234567890123456789"
	         "012345678901234567890123456789012345678901234567890123"
	         "\r\n"),
	        "no CRLF within 107"},
	    {IN("v2: version 1 nibble", SIG "\x11\x11\x00\x0c"),
	        "unknown version"},
	    {IN("v2: command 2", SIG "\x22\x11\x00\x0c"),
	        "unknown version or command"},
	    {IN("v2: family 4", SIG "\x21\x41\x00\x00"),
	        "unknown address family"},
	    {IN("v2: transport 3", SIG "\x21\x13\x00\x0c"),
	        "unknown address family or transport"},
	    {IN("v2: UDP", SIG "\x21\x12\x00\x0c"
	                       "\x7f\0\0\x01\x7f\0\0"
	                       "\x01\0\x01\0\x02"),
	        "datagram"},
	    {IN("v2: IPv4 block too short", SIG "\x21\x11\x00\x04"
	                                        "\x7f\0\0\x01"),
	        "shorter than its addresses"},
	    {IN("v2: IPv6 block too short",
	         SIG "\x21\x21\x00\x0c"
	             "\x7f\0\0\x01\x7f\0\0\x01\0\x01\0\x02"),
	        "shorter than its addresses"},
	    {IN("v2: truncated TLV", SIG "\x21\x11\x00\x0e"
	                                 "\x7f\0\0\x01\x7f\0\0\x01\0\x01\0\x02"
	                                 "\x01\x00"),
	        "truncated TLV"},
	    {IN("v2: TLV past the end",
	         SIG "\x21\x11\x00\x10"
	             "\x7f\0\0\x01\x7f\0\0\x01\0\x01\0\x02"
	             "\x01\x00\x05x"),
	        "past the end"},
	    {IN("v2: longer than 4096 bytes", SIG "\x21\x11\x0f\xf1"),
	        "longer than 4096"},
	    {IN("v2: signature off in its last byte",
	         "\r\n\r\n\0\r\nQUIT\r\x21\x11\0\0"),
	        "does not start"},
	};
	static const struct input v1 = IN("a v1 header on a v2-only listener",
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	static const struct input v2 =
	    IN("a v2 header on a v1-only listener", SIG "\x20\x00\x00\x00");
	struct proxyproto_hdr h;
	const char *errstr = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(&cases[i].in, PROXYPROTO_ANY, cases[i].want);
	refused(&v1, PROXYPROTO_V2, "takes version 2 only");
	refused(&v2, PROXYPROTO_V1, "takes version 1 only");
	/* The first wrong byte decides: no waiting for a timeout. */
	is_int(proxyproto_parse("<", 1, PROXYPROTO_ANY, &h, &errstr),
	    PROXYPROTO_ERROR, "one byte of XML is refused at once");
	is_int(proxyproto_parse("P", 1, PROXYPROTO_V2, &h, &errstr),
	    PROXYPROTO_ERROR, "'P' on a v2-only listener is refused at once");
	is_int(proxyproto_parse("", 0, PROXYPROTO_ANY, &h, &errstr),
	    PROXYPROTO_MORE, "nothing yet: more");
	/* A v2 header that announces 4 KiB must not be waited for. */
	is_int(proxyproto_parse(
	           SIG "\x21\x11\xff\xff", 16, PROXYPROTO_ANY, &h, &errstr),
	    PROXYPROTO_ERROR,
	    "a 64 KiB announcement is refused "
	    "before its body");
}

/* A literal and its length, NULs included. */
#define TEXT(lit) lit, sizeof(lit) - 1

/* The writer's output for src -> dst parses back to the same. */
static void
round_trip(int version, const char *name, const struct sockaddr *src,
    const struct sockaddr *dst, int want_family, const char *want_text,
    size_t want_len)
{
	unsigned char out[PROXYPROTO_WRITE_MAX];
	struct proxyproto_hdr h;
	struct input in;
	size_t n;
	char a[80], b[80], label[96];

	n = proxyproto_write(version, src, dst, out, sizeof(out));
	snprintf(label, sizeof(label), "writer v%d %s", version, name);
	if (!ok(n > 0, "%s: written", label))
		return;
	if (want_text != NULL)
		ok(n == want_len && memcmp(out, want_text, n) == 0,
		    "%s: the exact bytes", label);
	in.name = label;
	in.bytes = (const char *)out;
	in.len = n;
	h = parses(&in, version == 1 ? PROXYPROTO_V1 : PROXYPROTO_V2, n);
	is_int(h.version, version, "%s: version", label);
	is_int(h.family, want_family, "%s: family", label);
	if (want_family != AF_UNSPEC) {
		addr_str((const struct sockaddr_storage *)(const void *)src, a,
		    sizeof(a));
		addr_str((const struct sockaddr_storage *)(const void *)dst, b,
		    sizeof(b));
		check_addrs(label, &h, a, b);
	}
	is_int(proxyproto_write(version, src, dst, out, n - 1), 0,
	    "%s: a buffer one byte short is refused", label);
}

static void
test_writer(void)
{
	struct sockaddr_in s4 = {0}, d4 = {0};
	struct sockaddr_in6 s6 = {0}, d6 = {0};
	int v;

	s4.sin_family = d4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", &s4.sin_addr);
	inet_pton(AF_INET, "198.51.100.2", &d4.sin_addr);
	s4.sin_port = htons(51234);
	d4.sin_port = htons(5222);
	s6.sin6_family = d6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::10", &s6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:2::2", &d6.sin6_addr);
	s6.sin6_port = htons(1);
	d6.sin6_port = htons(65535);
	round_trip(1, "IPv4", (struct sockaddr *)&s4, (struct sockaddr *)&d4,
	    AF_INET, TEXT("PROXY TCP4 192.0.2.10 198.51.100.2 51234 5222\r\n"));
	round_trip(1, "IPv6", (struct sockaddr *)&s6, (struct sockaddr *)&d6,
	    AF_INET6,
	    TEXT("PROXY TCP6 2001:db8::10 2001:db8:2::2 1 65535\r\n"));
	round_trip(1, "mixed families", (struct sockaddr *)&s4,
	    (struct sockaddr *)&d6, AF_UNSPEC, TEXT("PROXY UNKNOWN\r\n"));
	round_trip(1, "no destination", (struct sockaddr *)&s4, NULL, AF_UNSPEC,
	    TEXT("PROXY UNKNOWN\r\n"));
	round_trip(2, "IPv4", (struct sockaddr *)&s4, (struct sockaddr *)&d4,
	    AF_INET,
	    TEXT(SIG "\x21\x11\x00\x0c"
	             "\xc0\x00\x02\x0a\xc6\x33\x64\x02\xc8\x22\x14\x66"));
	round_trip(2, "IPv6", (struct sockaddr *)&s6, (struct sockaddr *)&d6,
	    AF_INET6, NULL, 0);
	round_trip(2, "mixed families", (struct sockaddr *)&s6,
	    (struct sockaddr *)&d4, AF_UNSPEC, TEXT(SIG "\x21\x00\x00\x00"));
	for (v = 1; v <= 2; v++)
		ok(proxyproto_write(v, (struct sockaddr *)&s6,
		       (struct sockaddr *)&d6,
		       (unsigned char[PROXYPROTO_WRITE_MAX]){0},
		       PROXYPROTO_WRITE_MAX) <= PROXYPROTO_WRITE_MAX,
		    "v%d: PROXYPROTO_WRITE_MAX is enough", v);
}

/* Random bytes and mutated headers: any answer, but no crash and no
 * header longer than what was given. */
static void
test_random(void)
{
	static const char base[] =
	    SIG "\x21\x11\x00\x0c"
	        "\xc0\x00\x02\x0a\xc6\x33\x64\x02\xc8\x22\x14\x66";
	unsigned char buf[64];
	struct proxyproto_hdr h;
	const char *errstr;
	unsigned seed = 1;
	int i, bad = 0;
	size_t n, j;

	for (i = 0; i < 20000; i++) {
		n = (size_t)(rand_r(&seed) % sizeof(buf));
		memcpy(buf, base,
		    sizeof(buf) < sizeof(base) ? sizeof(buf) : sizeof(base));
		for (j = 0; j < n; j++)
			if (rand_r(&seed) % 4 == 0)
				buf[j] = (unsigned char)rand_r(&seed);
		if (proxyproto_parse(buf, n, PROXYPROTO_ANY, &h, &errstr) ==
		        PROXYPROTO_DONE &&
		    h.len > n)
			bad++;
	}
	is_int(bad, 0, "20000 mutated headers: no header past the input");
}

int
main(void)
{
	test_v1_valid();
	test_v2_valid();
	test_malformed();
	test_writer();
	test_random();
	return done_testing();
}
