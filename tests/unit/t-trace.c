/* SPDX-License-Identifier: ISC */
/*
 * Tests for the trace sink: the direction marker and header facts, the
 * element pretty-printed and indented, colour only when asked, one line for
 * the other events, control characters escaped, and no secret ever shown.
 * Output goes to an open_memstream.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../tap.h"
#include "redact.h"
#include "sink.h"
#include "xnode.h"

#define TS "2024-05-01T12:34:56.789012Z"
#define AUTH_SECRET "AGFsaWNlAHMzY3IzdFBhc3M="

struct cap {
	FILE *f;
	char *data;
	size_t len;
	struct sink *s;
};

static void
cap_open(struct cap *c, bool color)
{
	c->data = NULL;
	c->len = 0;
	c->f = open_memstream(&c->data, &c->len);
	c->s = sink_trace_new(c->f, color);
}

/* Emits ev (freed here) and returns everything written so far. */
static const char *
cap_emit(struct cap *c, cJSON *ev, const struct event_xml *x)
{
	c->s->ops->emit(c->s, ev, x);
	cJSON_Delete(ev);
	/* The sink flushed: data and len are current without our fflush. */
	return c->data != NULL ? c->data : "";
}

static void
cap_close(struct cap *c)
{
	c->s->ops->free(c->s);
	fclose(c->f);
	free(c->data);
}

static cJSON *
ev_new(const char *event)
{
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "ts", TS);
	cJSON_AddStringToObject(ev, "event", event);
	cJSON_AddStringToObject(ev, "session", "9f3a.1");
	return ev;
}

static cJSON *
ev_stanza(
    const char *dir, const char *kind, const char *type, const char *verdict)
{
	cJSON *ev = ev_new("stanza");

	cJSON_AddStringToObject(ev, "dir", dir);
	cJSON_AddStringToObject(ev, "kind", kind);
	if (type != NULL)
		cJSON_AddStringToObject(ev, "type", type);
	cJSON_AddStringToObject(ev, "id", "m1");
	cJSON_AddStringToObject(ev, "from", "alice@localhost/res");
	cJSON_AddStringToObject(ev, "to", "bob@localhost");
	cJSON_AddNumberToObject(ev, "bytes", 87);
	cJSON_AddStringToObject(ev, "verdict", verdict);
	cJSON_AddItemToObject(ev, "rules", cJSON_CreateArray());
	return ev;
}

/* <message type='chat' id='m1'><body>hello</body></message> */
static struct xnode *
chat(void)
{
	struct xnode *m = xnode_new_element("jabber:client", "message");
	struct xnode *b = xnode_new_element("jabber:client", "body");

	xnode_set_attr(m, NULL, "type", "chat");
	xnode_set_attr(m, NULL, "id", "m1");
	xnode_append_text(b, "hello", 5);
	xnode_append(m, b);
	return m;
}

static struct xnode *
auth(void)
{
	struct xnode *a =
	    xnode_new_element("urn:ietf:params:xml:ns:xmpp-sasl", "auth");

	xnode_set_attr(a, NULL, "mechanism", "PLAIN");
	xnode_append_text(a, AUTH_SECRET, strlen(AUTH_SECRET));
	return a;
}

static void
test_stanza(void)
{
	struct xnode *m = chat();
	struct event_xml x = { "<message/>", 10, NULL, m, NULL };
	struct cap c;
	const char *out;

	cap_open(&c, false);
	out = cap_emit(&c, ev_stanza("c2s", "message", "chat", "pass"), &x);
	ok(strncmp(out, "12:34:56.789 9f3a.1 ", 20) == 0,
	    "header starts with time and session: %.20s", out);
	ok(strstr(out, "C→S message") != NULL, "c2s marker and kind");
	ok(strstr(out, "type=chat") && strstr(out, "id=m1") &&
	        strstr(out, "from=alice@localhost/res") &&
	        strstr(out, "to=bob@localhost"),
	    "type, id, from, to in the header");
	ok(strstr(out, "verdict") == NULL, "no verdict when pass");
	ok(strstr(out, "\n    <message") != NULL, "element indented under it");
	ok(strstr(out, "\n      <body>hello</body>\n") != NULL,
	    "child indented one more level");
	ok(strchr(out, '\033') == NULL, "no escape codes without colour");
	ok(out[strlen(out) - 1] == '\n', "ends with a newline");
	ok(strstr(out, "xmlns") == NULL, "jabber:client is the default ns");

	out = cap_emit(&c, ev_stanza("s2c", "message", "error", "drop"), &x);
	ok(strstr(out, "S→C message") != NULL, "s2c marker");
	ok(strstr(out, "verdict=drop") != NULL, "verdict shown when not pass");
	cap_close(&c);

	cap_open(&c, true);
	out = cap_emit(&c, ev_stanza("c2s", "message", "chat", "pass"), &x);
	ok(strstr(out, "\033[36m") != NULL, "c2s colour");
	ok(strstr(out, "\033[0m") != NULL, "colour reset");
	ok(strstr(out, "hello") != NULL, "text still there in colour");
	out = cap_emit(&c, ev_stanza("s2c", "iq", "error", "pass"), &x);
	ok(strstr(out, "\033[31m") != NULL, "error stanza in red");
	cap_close(&c);
	xnode_free(m);
}

static void
test_secret(void)
{
	struct xnode *a = auth(), *r = redact_copy(a);
	struct event_xml x = { "<auth/>", 7, NULL, a, NULL };
	struct cap c;
	const char *out;

	cap_open(&c, false);
	ok(c.s->redact, "the trace sink redacts");
	out = cap_emit(&c, ev_stanza("c2s", "auth", NULL, "pass"), &x);
	ok(strstr(out, AUTH_SECRET) == NULL,
	    "auth secret absent though the caller gave no redacted tree");
	ok(strstr(out, REDACT_MARK) != NULL, "mark shown");
	ok(strstr(out, "mechanism=") && strstr(out, "PLAIN"), "mechanism kept");
	ok(strstr(out, "C→S auth") != NULL, "nonza kind shown");

	x.redacted_tree = r;
	out = cap_emit(&c, ev_stanza("c2s", "auth", NULL, "pass"), &x);
	ok(strstr(out, AUTH_SECRET) == NULL, "absent with a redacted tree");

	/* No tree at all: the redacted text is what is shown. */
	x.tree = NULL;
	x.redacted_tree = NULL;
	x.xml = "<auth mechanism='PLAIN'>" AUTH_SECRET "</auth>";
	x.len = strlen(x.xml);
	x.redacted = "<auth mechanism='PLAIN'>[redacted]</auth>";
	out = cap_emit(&c, ev_stanza("c2s", "auth", NULL, "pass"), &x);
	ok(strstr(out, AUTH_SECRET) == NULL, "absent with only text");
	ok(strstr(out, "    <auth mechanism='PLAIN'>[redacted]</auth>\n") !=
	        NULL,
	    "redacted text indented");
	cap_close(&c);
	xnode_free(r);
	xnode_free(a);
}

static void
test_lines(void)
{
	struct cap c;
	const char *out;
	cJSON *ev, *o;

	cap_open(&c, false);
	ev = ev_new("session.open");
	cJSON_AddStringToObject(ev, "client", "127.0.0.1:5555");
	cJSON_AddStringToObject(ev, "listener", "127.0.0.1:5222");
	cJSON_AddStringToObject(ev, "upstream", "127.0.0.1:15222");
	out = cap_emit(&c, ev, NULL);
	ok(strstr(out,
	       "session open 127.0.0.1:5555 → upstream "
	       "127.0.0.1:15222") != NULL,
	    "session.open line: %s", out);

	ev = ev_new("auth");
	cJSON_AddNumberToObject(ev, "sasl", 1);
	cJSON_AddStringToObject(ev, "mechanism", "PLAIN");
	cJSON_AddStringToObject(ev, "outcome", "success");
	cJSON_AddStringToObject(ev, "authcid", "alice");
	out = cap_emit(&c, ev, NULL);
	ok(strstr(out, "9f3a.1 auth PLAIN success authcid=alice") != NULL,
	    "auth line");

	ev = ev_new("bind");
	cJSON_AddStringToObject(ev, "jid", "alice@localhost/res");
	out = cap_emit(&c, ev, NULL);
	ok(strstr(out, "9f3a.1 bind alice@localhost/res\n") != NULL,
	    "bind line");

	ev = ev_new("stream.error");
	cJSON_AddStringToObject(ev, "dir", "s2c");
	cJSON_AddStringToObject(ev, "condition", "policy-violation");
	cJSON_AddStringToObject(ev, "by", "proxy");
	out = cap_emit(&c, ev, NULL);
	ok(strstr(out,
	       "S→C stream error condition=policy-violation "
	       "by=proxy\n") != NULL,
	    "stream.error line");

	ev = ev_new("session.close");
	cJSON_AddStringToObject(ev, "reason", "client-closed");
	cJSON_AddNumberToObject(ev, "duration_s", 1.234);
	o = cJSON_AddObjectToObject(ev, "bytes");
	cJSON_AddNumberToObject(o, "c2s", 1234);
	cJSON_AddNumberToObject(o, "s2c", 5678);
	o = cJSON_AddObjectToObject(ev, "stanzas");
	cJSON_AddNumberToObject(o, "c2s", 5);
	cJSON_AddNumberToObject(o, "s2c", 7);
	out = cap_emit(&c, ev, NULL);
	ok(strstr(out,
	       "session close reason=client-closed 1.2s c2s 1234B/5 "
	       "stanzas s2c 5678B/7 stanzas") != NULL,
	    "session.close line");

	ev = ev_new("tls");
	cJSON_AddStringToObject(ev, "leg", "client");
	cJSON_AddStringToObject(ev, "mode", "direct");
	cJSON_AddStringToObject(ev, "version", "TLSv1.3");
	cJSON_AddBoolToObject(ev, "verified", 1);
	out = cap_emit(&c, ev, NULL);
	ok(strstr(out, "9f3a.1 tls client direct TLSv1.3 verified=true\n") !=
		NULL,
	    "tls line: %s", out);

	ev = ev_new("sasl.future");
	cJSON_AddStringToObject(ev, "leg", "client");
	cJSON_AddBoolToObject(ev, "verified", 1);
	out = cap_emit(&c, ev, NULL);
	ok(strstr(out, "9f3a.1 sasl.future leg=client verified=true\n") !=
		NULL,
	    "unknown event as key=value: %s", out);

	ev = ev_new("stream.open");
	cJSON_AddStringToObject(ev, "dir", "c2s");
	cJSON_AddStringToObject(ev, "to", "evil\033[2Jhost\n");
	out = cap_emit(&c, ev, NULL);
	ok(strchr(out, '\033') == NULL, "escape from a peer not written");
	ok(strstr(out, "to=evil\\x1b[2Jhost\\x0a\n") != NULL,
	    "control characters shown escaped");
	cap_close(&c);
}

int
main(void)
{
	test_stanza();
	test_secret();
	test_lines();
	return done_testing();
}
