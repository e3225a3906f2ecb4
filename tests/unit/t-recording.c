/* SPDX-License-Identifier: ISC */
/*
 * Reading recordings: xmppgate's events.jsonl with interleaved sessions and
 * a record-logger file with offset_s; choosing the session; offsets; the
 * bound JID and domain; elements parsed as inside a client stream; and
 * every kind of broken line refused with the file and line named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recording.h"
#include "../tap.h"

static char tmpl[64];

/* Writes text to a fresh temporary file; returns its path (static). */
static const char *
file_with(const char *text)
{
	FILE *f;
	int fd;

	snprintf(tmpl, sizeof(tmpl), "%s/t-recording.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if ((fd = mkstemp(tmpl)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return tmpl;
}

#define EV(sid, ts, rest)                                                      \
	"{\"ts\":\"2026-11-25T07:18:" ts "Z\",\"session\":\"" sid "\"," rest   \
	"}\n"

static const char *two_sessions = EV("s1", "25.000000",
    "\"event\":\"session.open\",\"client\":\"x\"") EV("s1", "25.100000",
    "\"event\":\"stream.open\",\"dir\":\"c2s\","
    "\"to\":\"example.org\",\"xml\":\"<stream:stream>\"") EV("s2", "25.150000",
    "\"event\":\"session.open\"") EV("s1", "25.200000",
    "\"event\":\"stanza\",\"dir\":\"s2c\","
    "\"kind\":\"features\",\"xml\":\"<stream:features>"
    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
    "</stream:features>\"") EV("s1", "25.250000",
    "\"event\":\"tls\",\"leg\":\"client\"") EV("s1", "25.300000",
    "\"event\":\"bind\",\"jid\":\"alice@example.org/r\"") "\n" EV("s1",
    "26.500000",
    "\"event\":\"stanza\",\"dir\":\"c2s\","
    "\"kind\":\"message\",\"xml\":\"<message to='bob@"
    "example.org'><body>hi &amp; bye</body></message>\","
    "\"original_xml\":\"<message to='bob@example.org'>"
    "<body>hi</body></message>\",\"verdict\":\"rewrite\"") EV("s1", "26.600000",
    "\"event\":\"stanza\",\"dir\":\"s2c\","
    "\"kind\":\"message\",\"by\":\"proxy\",\"xml\":"
    "\"\\n <message type='error'/> \"")
    EV("s2", "27.000000", "\"event\":\"bind\",\"jid\":\"bob@example.org/b\"")
        EV("s1", "27.500000", "\"event\":\"session.close\",\"reason\":\"x\"");

static void
test_interleaved(void)
{
	const char *path = file_with(two_sessions);
	struct recording *r;
	char *err = NULL, *body;

	r = recording_load(path, NULL, &err);
	ok(r == NULL && err != NULL && strstr(err, "2 sessions") != NULL &&
	        strstr(err, "s1, s2") != NULL,
	    "two sessions without a choice: an error listing them (%s)",
	    err ? err : "");
	free(err);
	err = NULL;
	r = recording_load(path, "s3", &err);
	ok(r == NULL && err != NULL && strstr(err, "no session s3") != NULL,
	    "an unknown session is an error");
	free(err);
	err = NULL;
	r = recording_load(path, "s1", &err);
	if (!ok(r != NULL, "session s1 loads"))
		diag("%s", err);
	is_str(r->session, "s1", "its id");
	is_int(r->nev, 7, "the events replay uses (tls dropped)");
	is_str(r->jid, "alice@example.org/r", "the bound JID");
	is_int(r->ev[r->bind].kind, RECORDING_BIND, "bind index");
	is_str(r->domain, "example.org", "the domain from the c2s stream");
	is_int(r->nlines, 11, "lines counted, blank one included");
	ok(r->ev[0].offset == 0 && r->ev[4].offset > 1.49 &&
	        r->ev[4].offset < 1.51,
	    "offsets from ts, relative to the first event (%f)",
	    r->ev[4].offset);
	is_int(r->ev[4].line, 8, "the line of the message");
	is_int(r->ev[4].dir, RECORDING_C2S, "its direction");
	is_int(r->ev[4].skind, STANZA_MESSAGE, "its kind");
	body = xnode_text(recording_sent(&r->ev[4]));
	is_str(body, "hi", "a rewritten stanza is sent as the client sent it");
	free(body);
	ok(recording_server_sent(&r->ev[4]) == r->ev[4].orig,
	    "and compared as the server sent it");
	is_str(r->ev[4].verdict, "rewrite", "its verdict");
	ok(r->ev[5].by_proxy, "by=proxy is kept");
	ok(xnode_is(
	       r->ev[2].el, "http://etherx.jabber.org/streams", "features"),
	    "the stream prefix is bound as in a stream");
	is_str(recording_type(r->ev[4].el), "normal",
	    "a message without type is normal");
	recording_free(r);
	unlink(path);
}

static void
test_record_file(void)
{
	const char *text =
	    "{\"ts\":\"2026-11-25T09:00:00.000000+02:00\",\"offset_s\":0,"
	    "\"event\":\"session.open\",\"session\":\"r1\"}\n"
	    "{\"ts\":\"2026-11-25T07:00:09.000000Z\",\"offset_s\":0.25,"
	    "\"event\":\"bind\",\"session\":\"r1\",\"jid\":\"a@b/c\"}\n"
	    "{\"offset_s\":1.5,\"event\":\"stanza\",\"session\":\"r1\","
	    "\"dir\":\"c2s\",\"xml\":\"<presence/>\"}";
	const char *path = file_with(text);
	struct recording *r;
	char *err = NULL;

	r = recording_load(path, NULL, &err);
	if (!ok(r != NULL, "a record file (offset_s, one session, no final "
	                   "newline) loads"))
		diag("%s", err);
	ok(r->ev[1].offset == 0.25 && r->ev[2].offset == 1.5,
	    "offset_s wins over ts");
	is_int(r->ev[2].skind, STANZA_PRESENCE, "presence");
	is_str(recording_type(r->ev[2].el), "available", "default type");
	recording_free(r);
	unlink(path);
}

/* A file whose line 2 is bad; the error must name path:2 and want. */
static void
broken(const char *line2, const char *want)
{
	char text[2048];
	const char *path;
	struct recording *r;
	char *err = NULL, *where;

	snprintf(text, sizeof(text), "%s%s\n%s",
	    EV("s", "25.000000", "\"event\":\"session.open\""), line2,
	    EV("s", "26.000000", "\"event\":\"session.close\""));
	path = file_with(text);
	r = recording_load(path, NULL, &err);
	where = NULL;
	if (err != NULL)
		where = strstr(err, ":2: ");
	ok(r == NULL && err != NULL && strncmp(err, path, strlen(path)) == 0 &&
	        where != NULL && strstr(where, want) != NULL,
	    "line 2 refused: %s", err ? err : "(loaded)");
	free(err);
	recording_free(r);
	unlink(path);
}

static void
test_broken(void)
{
	broken("{\"ts\":\"2026-11-25T07:18:25.1Z\",\"session\":\"s\",",
	    "not "
	    "valid JSON");
	broken("[1]", "not a JSON object");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"session\":\"s\"}",
	    "no \"event\"");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"bind\",\"jid\":"
	       "\"a@b\"}",
	    "no \"session\"");
	broken("{\"event\":\"bind\",\"session\":\"s\",\"jid\":\"a@b\"}",
	    "no \"ts\"");
	broken("{\"ts\":\"25 Nov 2026\",\"event\":\"bind\",\"session\":\"s\"}",
	    "not an RFC 3339 time");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"bind\","
	       "\"session\":\"s\"}",
	    "no \"jid\"");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"stanza\","
	       "\"session\":\"s\",\"dir\":\"c2s\"}",
	    "no \"xml\"");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"stanza\","
	       "\"session\":\"s\",\"dir\":\"up\",\"xml\":\"<a/>\"}",
	    "\"dir\" is \"up\"");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"stanza\","
	       "\"session\":\"s\",\"dir\":\"c2s\",\"xml\":\"<a/><b/>\"}",
	    "2 XML elements where one was expected");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"stanza\","
	       "\"session\":\"s\",\"dir\":\"c2s\",\"xml\":\"<a><b></a>\"}",
	    "not well-formed XML");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"stanza\","
	       "\"session\":\"s\",\"dir\":\"c2s\",\"xml\":\"hello\"}",
	    "\"xml\" is not one XML element");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"stanza\","
	       "\"session\":\"s\",\"dir\":\"c2s\",\"xml\":\"<a/>\","
	       "\"original_xml\":\"<a>\"}",
	    "\"original_xml\" is not one XML element");
	broken(
	    "{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"stanza\","
	    "\"session\":\"s\",\"dir\":\"c2s\",\"xml\":\"<a><!-- c --></a>\"}",
	    "not well-formed XML");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"stanza\","
	       "\"session\":\"s\",\"dir\":\"c2s\",\"xml\":5}",
	    "\"xml\" is not a string");
	broken("{\"ts\":\"2026-11-25T07:18:25Z\",\"event\":\"x\","
	       "\"session\":\"s\",\"offset_s\":\"1\"}",
	    "\"offset_s\" is not a number");
}

static void
test_missing_file(void)
{
	char *err = NULL;
	struct recording *r =
	    recording_load("/nonexistent/rec.jsonl", NULL, &err);

	ok(r == NULL && err != NULL &&
	        strstr(err, "/nonexistent/rec.jsonl: No such file") != NULL,
	    "a missing file is named");
	free(err);
	r = recording_load(file_with("\n\n"), NULL, &err);
	ok(r == NULL && err != NULL && strstr(err, "no events") != NULL,
	    "an empty file has no events");
	free(err);
	unlink(tmpl);
}

static void
test_ts(void)
{
	double t;

	ok(recording_parse_ts("1970-01-01T00:00:01Z", &t) == 0 && t == 1,
	    "epoch + 1 s");
	ok(recording_parse_ts("1970-01-01T01:00:01.5+01:00", &t) == 0 &&
	        t == 1.5,
	    "offset and fraction");
	ok(recording_parse_ts("1970-01-01T00:00:00.000001-00:30", &t) == 0 &&
	        t > 1800 && t < 1800.001,
	    "negative offset");
	ok(recording_parse_ts("1970-01-01T00:00:00", &t) == -1,
	    "no zone: refused");
	ok(recording_parse_ts("1970-13-01T00:00:00Z", &t) == -1,
	    "month 13: refused");
	ok(recording_parse_ts("1970-01-01T00:00:00Zjunk", &t) == -1,
	    "trailing junk: refused");
}

static void
test_parse_element(void)
{
	char *err = NULL;
	struct xnode *n;

	n = recording_parse_element("  <iq type='get'/>\n", 19, &err);
	ok(n != NULL && xnode_is(n, "jabber:client", "iq"),
	    "whitespace around one element; default namespace jabber:client");
	ok(stanza_kind_of(n) == STANZA_IQ, "an iq");
	xnode_free(n);
	n = recording_parse_element("<r xmlns='urn:xmpp:sm:3'/>", 26, &err);
	ok(n != NULL && stanza_kind_of(n) == STANZA_NONZA, "a nonza");
	xnode_free(n);
	n = recording_parse_element("", 0, &err);
	ok(n == NULL && err != NULL && strstr(err, "0 XML elements") != NULL,
	    "nothing is not an element");
	free(err);
}

int
main(void)
{
	test_interleaved();
	test_record_file();
	test_broken();
	test_missing_file();
	test_ts();
	test_parse_element();
	return done_testing();
}
