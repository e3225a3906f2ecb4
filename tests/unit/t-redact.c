/* SPDX-License-Identifier: ISC */
/*
 * Tests for redact: for each secret of XMPP-NOTES.md section 10, a realistic
 * element (from the XEPs' examples) must lose the secret in its redacted copy
 * and keep everything else; elements without secrets need no copy. Elements
 * are parsed from text with expat here, so the test does not depend on the
 * stream parser.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "../tap.h"
#include "buf.h"
#include "redact.h"
#include "xmalloc.h"
#include "xnode.h"

#define NS_SEP '\x01'

struct tparse {
	struct xnode *root; /* owned until handed to the caller */
	struct xnode *cur; /* borrowed */
};

/* Splits expat's "ns<SEP>local<SEP>prefix" triplet; pointers into name. */
static void
split_name(char *name, char **ns, char **local, char **prefix)
{
	char *a = strchr(name, NS_SEP), *b;

	*ns = NULL;
	*prefix = NULL;
	*local = name;
	if (a == NULL)
		return;
	*a = '\0';
	*ns = name;
	*local = a + 1;
	if ((b = strchr(a + 1, NS_SEP)) != NULL) {
		*b = '\0';
		*prefix = b + 1;
	}
}

static void XMLCALL
on_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct tparse *p = arg;
	char *copy = xstrdup(name), *ns, *local, *prefix;
	struct xnode *el;
	size_t i;

	split_name(copy, &ns, &local, &prefix);
	el = xnode_new_element(ns, local);
	if (prefix != NULL)
		el->prefix = xstrdup(prefix);
	free(copy);
	for (i = 0; atts[i] != NULL; i += 2) {
		copy = xstrdup(atts[i]);
		split_name(copy, &ns, &local, &prefix);
		xnode_set_attr(el, ns, local, atts[i + 1]);
		free(copy);
	}
	if (p->cur == NULL)
		p->root = el;
	else
		xnode_append(p->cur, el);
	p->cur = el;
}

static void XMLCALL
on_end(void *arg, const XML_Char *name)
{
	struct tparse *p = arg;

	p->cur = p->cur->parent;
}

static void XMLCALL
on_text(void *arg, const XML_Char *s, int len)
{
	struct tparse *p = arg;

	if (p->cur != NULL)
		xnode_append_text(p->cur, s, (size_t)len);
}

/* Parses one element; a default namespace of jabber:client is in scope. */
static struct xnode *
parse(const char *xml)
{
	struct tparse p = { NULL, NULL };
	XML_Parser x = XML_ParserCreateNS("UTF-8", NS_SEP);
	struct buf doc;
	struct xnode *el = NULL;

	buf_init(&doc);
	buf_addf(&doc, "<wrap xmlns='jabber:client'>%s</wrap>", xml);
	XML_SetReturnNSTriplet(x, 1);
	XML_SetUserData(x, &p);
	XML_SetElementHandler(x, on_start, on_end);
	XML_SetCharacterDataHandler(x, on_text);
	if (XML_Parse(x, doc.data, (int)doc.len, 1) != XML_STATUS_OK) {
		diag("parse error: %s in %s",
		    XML_ErrorString(XML_GetErrorCode(x)), xml);
	} else if (p.root != NULL && p.root->children != NULL) {
		el = p.root->children;
		xnode_unlink(el);
	}
	xnode_free(p.root);
	XML_ParserFree(x);
	buf_fini(&doc);
	return el;
}

static char *
ser(const struct xnode *n)
{
	struct buf b;

	buf_init(&b);
	xnode_serialize(n, "jabber:client", &b);
	buf_addc(&b, '\0');
	return buf_release(&b);
}

/*
 * Checks one element that holds secrets: needed, a copy without any of the
 * NULL-terminated secrets but with every keep string, the original intact,
 * and the copy needing no further redaction.
 */
static void
secret(const char *what, const char *xml, const char *const *secrets,
    const char *const *keep)
{
	struct xnode *el = parse(xml), *copy;
	char *orig, *out;
	size_t i;

	if (!ok(el != NULL, "%s: parsed", what))
		return;
	ok(redact_needed(el), "%s: redact_needed", what);
	copy = redact_copy(el);
	if (!ok(copy != NULL, "%s: redact_copy made a copy", what)) {
		xnode_free(el);
		return;
	}
	out = ser(copy);
	orig = ser(el);
	for (i = 0; secrets[i] != NULL; i++) {
		ok(strstr(out, secrets[i]) == NULL, "%s: '%s' gone", what,
		    secrets[i]);
		ok(strstr(orig, secrets[i]) != NULL,
		    "%s: '%s' still in the original", what, secrets[i]);
	}
	ok(strstr(out, REDACT_MARK) != NULL, "%s: mark present", what);
	for (i = 0; keep != NULL && keep[i] != NULL; i++)
		ok(strstr(out, keep[i]) != NULL, "%s: '%s' kept", what,
		    keep[i]);
	ok(!redact_needed(copy), "%s: the copy needs no redaction", what);
	if (strstr(out, secrets[0]) != NULL || !redact_needed(el))
		diag("copy: %s", out);
	free(out);
	free(orig);
	xnode_free(copy);
	xnode_free(el);
}

/* Checks one element without secrets: not needed, no copy. */
static void
clean(const char *what, const char *xml)
{
	struct xnode *el = parse(xml), *copy;

	if (!ok(el != NULL, "%s: parsed", what))
		return;
	ok(!redact_needed(el), "%s: nothing to redact", what);
	copy = redact_copy(el);
	ok(copy == NULL, "%s: no copy", what);
	xnode_free(copy);
	xnode_free(el);
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define SASL1 "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"
#define SASL2 "xmlns='urn:xmpp:sasl:2'"

static void
test_sasl1(void)
{
	secret("sasl1 auth PLAIN",
	    "<auth " SASL1 " mechanism='PLAIN'>AGp1bGlldAByMG0zMG15cjBtMzA="
	    "</auth>",
	    L("AGp1bGlldAByMG0zMG15cjBtMzA"),
	    L("mechanism=", "PLAIN", "<auth"));
	secret("sasl1 auth SCRAM",
	    "<auth " SASL1
	    " mechanism='SCRAM-SHA-1'>biwsbj11c2VyLHI9ZnlrbytkMmxi"
	    "YkZnT05Sdjlxa3hkYXdMMw==</auth>",
	    L("biwsbj11c2VyLHI9ZnlrbytkMmxi"), L("SCRAM-SHA-1"));
	secret("sasl1 challenge",
	    "<challenge " SASL1 ">cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZ"
	    "SlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==</challenge>",
	    L("cj1meWtvK2QybGJiRmdPTlJ2OXFreGRh"), L("<challenge"));
	secret("sasl1 response",
	    "<response " SASL1 ">Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM"
	    "M3JmY05IWUpZMVpWdldWczdqLHA9djBYOHYzQnoyVDBDSkdiSlF5RjBYK0hJNFRzPQ"
	    "=="
	    "</response>",
	    L("Yz1iaXdzLHI9ZnlrbytkMmxi", "djBYOHYzQnoyVDBDSkdiSlF5RjBYK0hJ"),
	    L("<response"));
	secret("sasl1 success",
	    "<success " SASL1 ">dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9"
	    "</success>",
	    L("dj1ybUY5cHFWOFM3c3VBb1pXamE0"), L("<success"));

	/* The SASL "=" is an empty payload: not a secret, kept as is. */
	clean("sasl1 auth with '=' (empty)",
	    "<auth " SASL1 " mechanism='EXTERNAL'>=</auth>");
	clean("sasl1 auth without text",
	    "<auth " SASL1 " mechanism='ANONYMOUS'/>");
	clean("sasl1 empty response", "<response " SASL1 "/>");
	clean("sasl1 failure",
	    "<failure " SASL1 "><not-authorized/><text xml:lang='en'>Wrong "
	    "password</text></failure>");
	clean("sasl1 mechanisms in features",
	    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
	    "<mechanisms " SASL1 "><mechanism>PLAIN</mechanism><mechanism>"
	    "SCRAM-SHA-1</mechanism></mechanisms></stream:features>");
}

static void
test_sasl2(void)
{
	secret("sasl2 authenticate",
	    "<authenticate " SASL2 " mechanism='SCRAM-SHA-1-PLUS'>"
	    "<initial-response>cD10bHMtZXhwb3J0ZXIsLG49dXNlcixyPTEyQzRD"
	    "RDVDLUUzOEUtNEE5OC04RjZELTE1QzM4RjUxQ0NDNg==</initial-response>"
	    "<user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'>"
	    "<software>AwesomeXMPP</software><device>Kiva Phone</device>"
	    "</user-agent></authenticate>",
	    L("cD10bHMtZXhwb3J0ZXIsLG49dXNlcixy"),
	    L("SCRAM-SHA-1-PLUS", "d4565fa7-4d72-4749-b3d3-740edbf87770",
	        "AwesomeXMPP", "Kiva Phone", "<initial-response"));
	secret("sasl2 challenge",
	    "<challenge " SASL2 ">cj0xMkM0Q0Q1Qy1FMzhFLTRBOTgtOEY2RC0xNUMzOEY1"
	    "MUNDQzZhMDkxMTdhNi1hYzUwLTRmMmYtOTNmMS05Mzc5OWMyYmRkZjYscz1RU1h"
	    "DUitR"
	    "NnNlazhiZjkyLGk9NDA5Ng==</challenge>",
	    L("cj0xMkM0Q0Q1Qy1FMzhFLTRB"), NULL);
	secret("sasl2 response",
	    "<response " SASL2 ">Yz1jRDEwYkhNdFpYaHdiM0owWlhJc0xNY29Rdk9kQkRl"
	    "UGQ0T3N3bG1BV1YzZGcxYT0scD1UKzZzS1VzPQ==</response>",
	    L("Yz1jRDEwYkhNdFpYaHdiM0owWlhJ"), NULL);
	secret("sasl2 success",
	    "<success " SASL2 "><additional-data>dj1tc1ZIcy9CeklPSERxWGVWSDdF"
	    "bW1EdTlpZDg9</additional-data><authorization-identifier>"
	    "juliet@montague.example/Balcony/a987dsh9a87sdh"
	    "</authorization-identifier></success>",
	    L("dj1tc1ZIcy9CeklPSERxWGVWSDdF"),
	    L("juliet@montague.example/Balcony/a987dsh9a87sdh",
	        "<additional-data"));
	secret("sasl2 success with a FAST token",
	    "<success " SASL2 "><authorization-identifier>juliet@montague."
	    "example/r</authorization-identifier><token xmlns='urn:xmpp:fast:0'"
	    " expiry='2020-03-12T14:36:15Z' token='WXZzciBwYmFmdmZnZiBqdmd1'/>"
	    "</success>",
	    L("WXZzciBwYmFmdmZnZiBqdmd1"),
	    L("2020-03-12T14:36:15Z", "juliet@montague.example/r", "token="));
	secret("sasl2 FAST authenticate",
	    "<authenticate " SASL2 " mechanism='HT-SHA-256-NONE'>"
	    "<initial-response>anVsaWV0QG1vbnRhZ3VlLmV4YW1wbGUAXHgfVUYw"
	    "</initial-response><fast xmlns='urn:xmpp:fast:0' count='123' "
	    "token='s3cr3tT0k3nV4lu3'/></authenticate>",
	    L("anVsaWV0QG1vbnRhZ3VlLmV4YW1wbGUA", "s3cr3tT0k3nV4lu3"),
	    L("HT-SHA-256-NONE", "count=", "123"));
	secret("sasl2 scram-upgrade hash in task-data",
	    "<task-data " SASL2 "><hash xmlns='urn:xmpp:scram-upgrade:0'>"
	    "BzOnw3Pc5H4bOLlPZ/8JAy6wnTpH05aH21KW2+Xfpaw=</hash></task-data>",
	    L("BzOnw3Pc5H4bOLlPZ/8JAy6wnTpH05aH21KW2"), L("<hash"));
	secret("scram-upgrade hash outside task-data",
	    "<iq type='set' id='u1'><x xmlns='urn:example:wrap'><hash xmlns="
	    "'urn:xmpp:scram-upgrade:0'>c2VjcmV0aGFzaHZhbHVl</hash></x></iq>",
	    L("c2VjcmV0aGFzaHZhbHVl"), L("urn:example:wrap", "id="));
	secret("sasl2 task-data salt",
	    "<task-data " SASL2 "><salt xmlns='urn:xmpp:scram-upgrade:0' "
	    "iterations='4096'>QSXCR+Q6sek8bf92</salt></task-data>",
	    L("QSXCR+Q6sek8bf92"), L("iterations=", "4096"));
	secret("sasl2 next with data",
	    "<next " SASL2 " task='HOTP-EXAMPLE'>MTIzNDU2Nzg5</next>",
	    L("MTIzNDU2Nzg5"), L("HOTP-EXAMPLE"));

	clean("sasl2 next without data",
	    "<next " SASL2 " task='UPGR-SCRAM-SHA-256'/>");
	clean("sasl2 failure",
	    "<failure " SASL2 "><aborted xmlns='urn:ietf:params:xml:ns:xmpp-"
	    "sasl'/><text>This is a terrible example.</text></failure>");
	clean("token attribute outside FAST",
	    "<iq type='get' id='t'><q xmlns='urn:example' token='abc'/></iq>");
}

static void
test_iq(void)
{
	secret("jabber:iq:auth password",
	    "<iq type='set' id='auth2'><query xmlns='jabber:iq:auth'>"
	    "<username>bill</username><password>Calli0pe</password>"
	    "<resource>globe</resource></query></iq>",
	    L("Calli0pe"), L("bill", "globe", "<password>", "auth2"));
	secret("jabber:iq:auth digest",
	    "<iq type='set' id='auth3'><query xmlns='jabber:iq:auth'>"
	    "<username>bill</username><digest>48fc78be9ec8f86d8ce1c39c320c97c2"
	    "1d62334d</digest><resource>globe</resource></query></iq>",
	    L("48fc78be9ec8f86d8ce1c39c320c97c2"), L("bill", "globe"));
	secret("jabber:iq:register password",
	    "<iq type='set' id='reg2'><query xmlns='jabber:iq:register'>"
	    "<username>bill</username><password>Calliope</password>"
	    "<email>bard@shakespeare.lit</email></query></iq>",
	    L("Calliope"), L("bill", "bard@shakespeare.lit"));
	secret("muc join password",
	    "<presence to='coven@chat.shakespeare.lit/thirdwitch'>"
	    "<x xmlns='http://jabber.org/protocol/muc'><password>cauldronburn"
	    "</password></x></presence>",
	    L("cauldronburn"), L("coven@chat.shakespeare.lit/thirdwitch"));

	clean("jabber:iq:auth fields request",
	    "<iq type='result' id='auth1'><query xmlns='jabber:iq:auth'>"
	    "<username>bill</username><password/><digest/><resource/></query>"
	    "</iq>");
	clean("roster push",
	    "<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item "
	    "jid='nurse@example.com' name='Nurse'><group>Servants</group>"
	    "</item></query></iq>");
}

static void
test_forms(void)
{
	secret("change-password form",
	    "<iq type='set' to='shakespeare.lit' id='change1'><query xmlns="
	    "'jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>"
	    "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register:"
	    "changepassword</value></field><field type='text-single' "
	    "var='username'><value>bill</value></field><field type="
	    "'text-private' var='old_password'><value>m1cr0$0ft</value></field>"
	    "<field type='text-private' var='password'><value>theglobe</value>"
	    "</field></x></query></iq>",
	    L("m1cr0$0ft", "theglobe"),
	    L("jabber:iq:register:changepassword", "bill", "old_password",
	        "FORM_TYPE", "text-private"));
	secret("submitted form without field types",
	    "<iq type='set' id='f2'><command xmlns='http://jabber.org/protocol/"
	    "commands' node='x'><x xmlns='jabber:x:data' type='submit'>"
	    "<field var='new_password'><value>n3wPassw0rd</value></field>"
	    "<field var='token'><value>tok-4711-abc</value></field>"
	    "<field var='secret'><value>shh-quiet</value></field>"
	    "<field var='nick'><value>billy</value></field></x></command></iq>",
	    L("n3wPassw0rd", "tok-4711-abc", "shh-quiet"),
	    L("billy", "new_password", "nick"));
	secret("text-private field of any name, multiple values",
	    "<x xmlns='jabber:x:data' type='submit'><field type='text-private' "
	    "var='pin'><value>90210</value><value>31337</value></field></x>",
	    L("90210", "31337"), L("pin"));
	secret("push publish-options secret",
	    "<iq type='set' id='x42'><enable xmlns='urn:xmpp:push:0' "
	    "jid='push-5.client.example' node='yxs32uqsflafdk3iuqo'>"
	    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
	    "<value>http://jabber.org/protocol/pubsub#publish-options</value>"
	    "</field><field var='secret'><value>eruio234vzxc2kla-91</value>"
	    "</field><field var='endpoint'><value>https://push.example/x"
	    "</value></field></x></enable></iq>",
	    L("eruio234vzxc2kla-91"),
	    L("yxs32uqsflafdk3iuqo", "pubsub#publish-options",
	        "https://push.example/x", "push-5.client.example"));
	secret("form in a carbon copy",
	    "<message from='romeo@montague.example' to='romeo@montague.example/"
	    "home' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded "
	    "xmlns='urn:xmpp:forward:0'><message from='romeo@montague.example/"
	    "garden' to='bot@example' type='chat'><body>here</body><x xmlns="
	    "'jabber:x:data' type='submit'><field var='password'><value>hunter2"
	    "</value></field></x></message></forwarded></sent></message>",
	    L("hunter2"), L("<body>here</body>", "garden"));
	secret("muc room secret",
	    "<x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_"
	    "roomsecret'><value>cauldronburn</value></field><field var='muc#"
	    "roomconfig_passwordprotectedroom'><value>1</value></field></x>",
	    L("cauldronburn"), L("passwordprotectedroom", "<value>1</value>"));

	clean("search form",
	    "<iq type='set' id='s1'><query xmlns='jabber:iq:search'><x xmlns="
	    "'jabber:x:data' type='submit'><field var='FORM_TYPE' "
	    "type='hidden'>"
	    "<value>jabber:iq:search</value></field><field var='x-gender'>"
	    "<value>male</value></field></x></query></iq>");
	clean("empty text-private field in a form",
	    "<x xmlns='jabber:x:data' type='form'><field type='text-private' "
	    "var='password' label='Password'/></x>");
}

static void
test_services(void)
{
	secret("extdisco:2 credentials",
	    "<iq type='result' id='ul2bc7y6'><services "
	    "xmlns='urn:xmpp:extdisco:"
	    "2'><service host='turn.example.com' type='turn' port='3478' "
	    "transport='udp' username='1596555311:alice' password='fSCjBLz2Bio"
	    "tSzYSQNx5nbfPm3I=' restricted='1'/><service "
	    "host='stun.example.com'"
	    " type='stun' port='3478' transport='udp'/></services></iq>",
	    L("fSCjBLz2BiotSzYSQNx5nbfPm3I"),
	    L("turn.example.com", "stun.example.com", "1596555311:alice",
	        "password="));
	secret("extdisco:1 credentials",
	    "<iq type='result' id='cr1'><credentials xmlns='urn:xmpp:extdisco:"
	    "1'><service host='turn.example.com' type='turn' username="
	    "'jeanleguy' password='jl3g8y'/></credentials></iq>",
	    L("jl3g8y"), L("jeanleguy"));
	secret("http upload slot headers",
	    "<iq type='result' id='step_03'><slot xmlns='urn:xmpp:http:"
	    "upload:0'><put "
	    "url='https://upload.montague.tld/4a771ac1/cool.jpg'>"
	    "<header name='Authorization'>Basic QmFzZTY0U3RyaW5nPT0=</header>"
	    "<header name='cookie'>foo=bar; user=romeo</header>"
	    "<header name='Expires'>Fri, 03 Feb 2017 17:42:00 GMT</header>"
	    "</put><get url='https://download.montague.tld/4a771ac1/cool.jpg'/>"
	    "</slot></iq>",
	    L("QmFzZTY0U3RyaW5nPT0", "user=romeo"),
	    L("Fri, 03 Feb 2017 17:42:00 GMT", "Authorization", "cookie",
	        "https://upload.montague.tld/4a771ac1/cool.jpg"));

	clean("extdisco without credentials",
	    "<iq type='result' id='e1'><services xmlns='urn:xmpp:extdisco:2'>"
	    "<service host='stun.example.com' type='stun' port='3478'/>"
	    "</services></iq>");
	clean("http upload slot without credential headers",
	    "<iq type='result' id='s3'><slot xmlns='urn:xmpp:http:upload:0'>"
	    "<put url='https://u.example/x'><header name='Expires'>Fri, 03 Feb"
	    " 2017</header></put><get url='https://u.example/x'/></slot></iq>");
}

static void
test_plain(void)
{
	clean("chat message",
	    "<message from='juliet@example.com/balcony' to='romeo@example.net' "
	    "type='chat' id='m1'><body>my password is not a secret here</body>"
	    "<active "
	    "xmlns='http://jabber.org/protocol/chatstates'/></message>");
	clean("presence",
	    "<presence from='juliet@example.com/balcony'><show>away</show>"
	    "<status>be right back</status><c xmlns='http://jabber.org/protocol"
	    "/caps' hash='sha-1' node='https://example' ver='QgayPKawpkPSDYmwT/"
	    "WM94uAlu0='/></presence>");
	clean("jabber:client password element (not a secret namespace)",
	    "<message to='a@b'><password>not-in-a-secret-ns</password>"
	    "</message>");
	ok(!redact_needed(NULL), "redact_needed(NULL) is false");
	ok(redact_copy(NULL) == NULL, "redact_copy(NULL) is NULL");
}

int
main(void)
{
	test_sasl1();
	test_sasl2();
	test_iq();
	test_forms();
	test_services();
	test_plain();
	return done_testing();
}
