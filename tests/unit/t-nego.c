/* SPDX-License-Identifier: ISC */
/*
 * Negotiation knowledge: authcid from PLAIN and SCRAM initial responses,
 * SASL1/SASL2 outcomes, bind matched by id, restarts, feature rewriting; and
 * the base64 codec it uses.
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "nego.h"
#include "xmalloc.h"
#include "testxml.h"
#include "xmlstream.h"

#include "../tap.h"

static unsigned
observe(struct nego *n, enum nego_dir dir, const char *xml)
{
	struct xnode *e = testxml_parse(xml);
	unsigned bits;

	if (e == NULL)
		return 0xffff;
	bits = nego_observe(n, dir, e);
	xnode_free(e);
	return bits;
}

static char *
auth(const char *mech, const void *payload, size_t len, const char *ns)
{
	char b64[512];

	b64_encode(payload, len, b64);
	return xasprintf(
	    "<auth xmlns='%s' mechanism='%s'>%s</auth>", ns, mech, b64);
}

static void
test_b64(void)
{
	unsigned char out[64];
	char enc[64];
	long n;

	b64_encode((const unsigned char *)"hello!", 6, enc);
	is_str(enc, "aGVsbG8h", "b64 encode, no padding");
	b64_encode((const unsigned char *)"hi", 2, enc);
	is_str(enc, "aGk=", "b64 encode, one pad");
	n = b64_decode("aGk=", 4, out);
	ok(n == 2 && memcmp(out, "hi", 2) == 0, "b64 decode with padding");
	is_int(b64_decode("=", 1, out), 0, "'=' is the empty response");
	is_int(b64_decode("a$==", 4, out), -1, "bad character rejected");
	is_int(
	    b64_decode("aGk=aGk=", 8, out), -1, "data after padding rejected");
}

static void
test_sasl1_plain(void)
{
	struct nego n;
	char *xml;
	char buf[256];

	nego_init(&n);
	xml = auth("PLAIN", "\0alice\0s3cret", 13, NEGO_NS_SASL);
	is_int(observe(&n, NEGO_C2S, xml), NEGO_AUTH_BEGIN,
	    "auth begins, it is not an outcome");
	ok(n.cbind == NULL, "PLAIN has no gs2 channel-binding flag");
	free(xml);
	is_str(n.mechanism, "PLAIN", "mechanism learned");
	is_str(n.authcid, "alice", "PLAIN authcid learned");
	is_int(n.sasl_version, 1, "SASL1");
	ok(nego_identity(&n, buf, sizeof(buf)) == NULL,
	    "no identity before success");
	is_int(observe(&n, NEGO_S2C,
	           "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
	    NEGO_AUTH_OUTCOME | NEGO_RESTART, "SASL1 success restarts");
	ok(n.authenticated, "authenticated");
	n.domain = xstrdup("example.org");
	is_str(nego_identity(&n, buf, sizeof(buf)), "alice@example.org",
	    "provisional identity authcid@domain");
	is_int(observe(&n, NEGO_C2S,
	           "<iq type='set' id='b1'><bind "
	           "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r/x"
	           "</resource></bind></iq>"),
	    0, "bind request noted");
	is_int(observe(&n, NEGO_S2C, "<iq type='result' id='other'/>"), 0,
	    "unrelated result ignored");
	is_int(observe(&n, NEGO_S2C,
	           "<iq type='result' id='b1'><bind "
	           "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>"
	           "alice@example.org/r/x</jid></bind></iq>"),
	    NEGO_BOUND, "bind result matched by id");
	is_str(n.jid, "alice@example.org/r/x", "full JID learned");
	nego_fini(&n);
}

/* The gs2 channel-binding flag of SCRAM client-first messages. */
static void
test_scram_cbind(void)
{
	static const struct {
		const char *first, *want;
	} cases[] = {
	    {"p=tls-exporter,,n=alice,r=abc", "p=tls-exporter"},
	    {"y,,n=alice,r=abc", "y"},
	    {"n,a=admin,n=alice,r=abc", "n"},
	    {"x,,n=alice,r=abc", NULL},
	    {",,n=alice,r=abc", NULL},
	    {"p,,n=alice,r=abc", NULL},
	};
	struct nego n;
	char *xml;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nego_init(&n);
		xml = auth("SCRAM-SHA-256-PLUS", cases[i].first,
		    strlen(cases[i].first), NEGO_NS_SASL);
		is_int(
		    observe(&n, NEGO_C2S, xml), NEGO_AUTH_BEGIN, "auth begins");
		free(xml);
		if (cases[i].want != NULL)
			is_str(n.cbind, cases[i].want, "%s", cases[i].first);
		else
			ok(n.cbind == NULL, "no flag read from %s",
			    cases[i].first);
		nego_fini(&n);
	}
}

static void
test_sasl1_scram_failure(void)
{
	struct nego n;
	const char *first = "n,,n=bob=2Cjr=3D,r=abcdef";
	char *xml;

	nego_init(&n);
	xml = auth("SCRAM-SHA-1", first, strlen(first), NEGO_NS_SASL);
	observe(&n, NEGO_C2S, xml);
	free(xml);
	is_str(n.authcid, "bob,jr=", "SCRAM saslname unescaped");
	is_str(n.cbind, "n", "gs2 flag n: no channel binding");
	is_int(observe(&n, NEGO_S2C,
	           "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
	           "<not-authorized/><text>no</text></failure>"),
	    NEGO_AUTH_OUTCOME, "failure is an outcome, no restart");
	ok(!n.authenticated, "not authenticated");
	is_str(n.condition, "not-authorized", "failure condition");
	nego_fini(&n);
}

static void
test_sasl2(void)
{
	struct nego n;
	char b64[128], *xml;
	const char *first = "n,,n=carol,r=xyz";

	nego_init(&n);
	b64_encode((const unsigned char *)first, strlen(first), b64);
	xml = xasprintf("<authenticate xmlns='urn:xmpp:sasl:2' "
	                "mechanism='SCRAM-SHA-256'><initial-response>%s"
	                "</initial-response><bind xmlns='urn:xmpp:bind:0'/>"
	                "</authenticate>",
	    b64);
	observe(&n, NEGO_C2S, xml);
	free(xml);
	is_int(n.sasl_version, 2, "SASL2");
	is_str(n.authcid, "carol", "SASL2 authcid");
	is_int(observe(&n, NEGO_S2C,
	           "<success xmlns='urn:xmpp:sasl:2'><additional-data>x"
	           "</additional-data><authorization-identifier>"
	           "carol@example.org/phone</authorization-identifier>"
	           "<bound xmlns='urn:xmpp:bind:0'/></success>"),
	    NEGO_AUTH_OUTCOME | NEGO_BOUND, "SASL2 success: no restart");
	is_str(n.jid, "carol@example.org/phone", "JID from SASL2");
	nego_fini(&n);
}

static const struct nego_policy no_tls = {
    .strip_starttls = true, .max_bytes = 65536, .idle_s = 600};
static const struct nego_policy keep_tls = {
    .strip_starttls = false, .max_bytes = 65536, .idle_s = 600};
static const struct nego_policy offer_tls = {.strip_starttls = true,
    .offer_starttls = true,
    .max_bytes = 65536,
    .idle_s = 600};

static void
test_stream_error_and_features(void)
{
	struct nego n;
	struct xnode *f;
	struct buf b;
	const char *p;

	nego_init(&n);
	is_int(
	    observe(&n, NEGO_S2C,
	        "<stream:error><conflict "
	        "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"),
	    NEGO_STREAM_ERROR, "stream error seen");
	is_str(n.error_condition, "conflict", "stream error condition");
	nego_fini(&n);

	f = testxml_parse(
	    "<stream:features><starttls "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><compression "
	    "xmlns='http://jabber.org/features/compress'><method>zlib"
	    "</method></compression><mechanisms "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"
	    "</mechanism></mechanisms></stream:features>");
	ok(nego_rewrite_s2c(f, &keep_tls), "compression stripped");
	ok(xnode_child(f, NEGO_NS_TLS, "starttls") != NULL,
	    "starttls kept when asked");
	ok(nego_rewrite_s2c(f, &no_tls), "starttls stripped");
	ok(!nego_rewrite_s2c(f, &no_tls), "nothing left to strip");
	buf_init(&b);
	xnode_serialize(f, "jabber:client", &b);
	ok(strstr(b.data, "compress") == NULL &&
	        strstr(b.data, "tls") == NULL &&
	        strstr(b.data, "<mechanism>PLAIN</mechanism>") != NULL,
	    "serialized features keep mechanisms: %s", b.data);
	buf_fini(&b);
	xnode_free(f);

	f = testxml_parse(
	    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-tls'><required/></starttls><mechanisms "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"
	    "</mechanism></mechanisms></stream:features>");
	ok(nego_rewrite_s2c(f, &offer_tls), "the proxy's offer replaces the "
	                                    "server's");
	buf_init(&b);
	xnode_serialize(f, "jabber:client", &b);
	p = strstr(
	    b.data, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	ok(strstr(b.data, "<required/>") == NULL && p != NULL &&
	        strstr(p + 1, "<starttls") == NULL &&
	        strstr(b.data, "<mechanism>PLAIN</mechanism>") != NULL,
	    "one optional starttls, mechanisms kept: %s", b.data);
	buf_fini(&b);
	xnode_free(f);

	f = testxml_parse(
	    "<stream:features><authentication xmlns='urn:xmpp:sasl:2'>"
	    "<mechanism>HT-SHA-256-NONE</mechanism><inline><fast "
	    "xmlns='urn:xmpp:fast:0' tls-0rtt='true'><mechanism>"
	    "HT-SHA-256-NONE</mechanism></fast></inline></authentication>"
	    "</stream:features>");
	ok(nego_rewrite_s2c(f, &keep_tls), "FAST tls-0rtt stripped");
	buf_init(&b);
	xnode_serialize(f, "jabber:client", &b);
	ok(strstr(b.data, "0rtt") == NULL &&
	        strstr(b.data, "<fast xmlns='urn:xmpp:fast:0'><mechanism>"
	                       "HT-SHA-256-NONE</mechanism></fast>") != NULL,
	    "FAST kept without tls-0rtt: %s", b.data);
	ok(!nego_rewrite_s2c(f, &keep_tls), "nothing more to strip");
	buf_fini(&b);
	xnode_free(f);

	f = testxml_parse(
	    "<stream:features><limits xmlns='urn:xmpp:stream-limits:0'>"
	    "<max-bytes>262144</max-bytes><idle-seconds>300</idle-seconds>"
	    "</limits></stream:features>");
	ok(nego_rewrite_s2c(f, &no_tls), "stream limits above the proxy's");
	buf_init(&b);
	xnode_serialize(f, "jabber:client", &b);
	ok(strstr(b.data, "<max-bytes>65536</max-bytes>") != NULL &&
	        strstr(b.data, "<idle-seconds>300</idle-seconds>") != NULL,
	    "max-bytes lowered to the proxy's, a smaller idle kept: %s",
	    b.data);
	buf_fini(&b);
	ok(!nego_rewrite_s2c(f, &no_tls), "limits already within: unchanged");
	xnode_free(f);

	f = testxml_parse(
	    "<enabled xmlns='urn:xmpp:sm:3' id='sm1' resume='true' "
	    "location='[2001:db8::1]:5222'/>");
	ok(nego_rewrite_s2c(f, &no_tls), "SM location stripped");
	ok(xnode_attr(f, "location") == NULL &&
	        strcmp(xnode_attr(f, "id"), "sm1") == 0,
	    "SM id and resume kept, location gone");
	ok(!nego_rewrite_s2c(f, &no_tls), "enabled without location unchanged");
	xnode_free(f);
	f = testxml_parse("<message to='a@b'><body>features</body></message>");
	ok(!nego_rewrite_s2c(f, &no_tls), "a message is never rewritten here");
	xnode_free(f);
}

static void
test_resume_and_redirect(void)
{
	struct nego n;
	struct xnode *f;
	char *xml;

	nego_init(&n);
	is_int(observe(&n, NEGO_S2C,
	           "<resumed xmlns='urn:xmpp:sm:3' previd='sm1' h='4'/>"),
	    NEGO_RESUMED, "SM resume ends negotiation without a bind");
	is_int(observe(&n, NEGO_S2C,
	           "<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>"
	           "d@example.org</authorization-identifier><resumed "
	           "xmlns='urn:xmpp:sm:3' previd='x' h='0'/></success>"),
	    NEGO_AUTH_OUTCOME | NEGO_RESUMED, "SASL2 inline resume");
	nego_fini(&n);

	f = testxml_parse(
	    "<stream:error><see-other-host "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>elsewhere.example:"
	    "5222</see-other-host></stream:error>");
	ok(nego_rewrite_s2c(f, &no_tls), "see-other-host rewritten");
	ok(xnode_child(f, NULL, "see-other-host") == NULL &&
	        xnode_child(f, "urn:ietf:params:xml:ns:xmpp-streams",
	            "remote-connection-failed") != NULL,
	    "the client gets remote-connection-failed");
	xml = xnode_text(f);
	ok(strstr(xml, "elsewhere") == NULL, "the redirect host is not passed");
	free(xml);
	xnode_free(f);

	/* PLAIN that is not well formed yields no authcid, never the
	 * password. */
	nego_init(&n);
	xml = auth("PLAIN", "alice\0pw\0", 9, NEGO_NS_SASL);
	observe(&n, NEGO_C2S, xml);
	free(xml);
	ok(n.authcid == NULL, "empty password: no authcid guessed");
	nego_fini(&n);
	nego_init(&n);
	xml = auth("PLAIN", "\0alice\0pw\0x", 11, NEGO_NS_SASL);
	observe(&n, NEGO_C2S, xml);
	free(xml);
	ok(n.authcid == NULL, "three NULs: no authcid guessed");
	nego_fini(&n);
}

int
main(void)
{
	test_resume_and_redirect();
	test_b64();
	test_sasl1_plain();
	test_sasl1_scram_failure();
	test_scram_cbind();
	test_sasl2();
	test_stream_error_and_features();
	return done_testing();
}
