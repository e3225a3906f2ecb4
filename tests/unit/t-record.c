/* SPDX-License-Identifier: ISC */
/*
 * The recording sink: events fed to it directly (with the timestamps a
 * test needs, rectest.h) and a real session over the harness. Covers the
 * recordings' names (record_dir.c), the file's name and mode, the rename
 * once the JID is known, offsets, every element of both directions,
 * redaction, continuing a file after a reload, reopen, and writing out at
 * session.close and at free. The limits and write errors have their own
 * program, t-record-limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "events.h"
#include "record_dir.h"
#include "xmalloc.h"

#include "../tap.h"
#include "jsonev.h"
#include "rectest.h"
#include "sesstest.h"
#include "testxml.h"

/* A SASL PLAIN auth, and what the recorder writes of it by default. */
#define AUTH                                                                   \
	"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "                      \
	"mechanism='PLAIN'>AGFsaWNlAHMzY3JldA==</auth>"
#define AUTH_REDACTED                                                          \
	"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "                      \
	"mechanism='PLAIN'>[redacted]</auth>"

/* The offset_s of each line, as written: "0.000000|1.500000|...". */
static char *
offsets_of(const char *name)
{
	char *p = rectest_path(name), *text = jsonev_text(p), *q, *end;
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "");
	for (q = text; (q = strstr(q, "\"offset_s\":")) != NULL; q = end) {
		q += strlen("\"offset_s\":");
		end = strchr(q, '}');
		if (end == NULL)
			break;
		buf_addf(&b, "%s%.*s", b.len ? "|" : "", (int)(end - q), q);
	}
	free(text);
	free(p);
	return buf_release(&b);
}

/* Whether the offsets never decrease. */
static bool
monotonic(const cJSON *evs)
{
	const cJSON *ev, *o;
	double last = -1;

	cJSON_ArrayForEach(ev, evs)
	{
		o = cJSON_GetObjectItemCaseSensitive(ev, "offset_s");
		if (!cJSON_IsNumber(o) || o->valuedouble < last)
			return false;
		last = o->valuedouble;
	}
	return true;
}

static void
test_name_mode(void)
{
	struct events *e;
	struct stat st;
	char *names, *p;
	mode_t old;

	rectest_fresh_dir();
	e = rectest_recorder("");
	old = umask(0277); /* would make the file read-only without fchmod */
	rectest_emit_open(e, "s.1", T0);
	names = rectest_listing();
	is_str(names, "", "no file while the session has only opened");
	free(names);
	rectest_emit_plain(e, "stream.open", "s.1", NULL, "dir", "c2s");
	names = rectest_listing();
	is_str(names, T0_START "-s.1.jsonl",
	    "file named <UTC start>-<session id>.jsonl at the next event");
	umask(old);
	p = rectest_path(T0_START "-s.1.jsonl");
	if (stat(p, &st) == -1)
		st.st_mode = 0;
	ok((st.st_mode & 07777) == 0600,
	    "created mode 0600 under umask 0277 (got %o)",
	    (unsigned)(st.st_mode & 07777));
	is_int(st.st_size, 0, "nothing written before the flush");
	events_flush(e);
	ok(stat(p, &st) == 0 && st.st_size > 0, "written at the flush");
	free(p);
	free(names);
	/* A session that ends with only its open leaves no file. */
	rectest_emit_open(e, "s.2", NULL);
	rectest_emit_plain(
	    e, "session.close", "s.2", NULL, "reason", "session-limit");
	names = rectest_listing();
	is_str(names, T0_START "-s.1.jsonl",
	    "a session with nothing but open and close gets no file");
	free(names);
	events_free(e);
	rectest_remove_dir();
}

static void
test_jid_names(void)
{
	static const char sasl2[] =
	    "<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>"
	    "bob@example.org/phone</authorization-identifier></success>";
	struct event_xml x = {.xml = sasl2, .len = sizeof(sasl2) - 1};
	struct events *e;
	struct xnode *tree = testxml_parse(sasl2);
	struct buf b;
	cJSON *ev;
	char *names, *want;

	rectest_fresh_dir();
	e = rectest_recorder("");
	rectest_emit_open(e, "s.1", T0);
	rectest_emit_plain(e, "stream.open", "s.1", NULL, "dir", "c2s");
	rectest_emit_plain(
	    e, "bind", "s.1", NULL, "jid", "alice@example.org/r1");
	names = rectest_listing();
	is_str(names, T0_START "-s.1-alice@example.org.jsonl",
	    "renamed with the bare JID after bind, old name gone");
	free(names);
	rectest_emit_plain(
	    e, "session.close", "s.1", NULL, "reason", "client-closed");

	rectest_emit_open(e, "s.2", T0);
	x.tree = tree;
	ev = rectest_at(events_begin("stanza", "s.2"), NULL);
	cJSON_AddStringToObject(ev, "dir", "s2c");
	events_emit(e, ev, &x);
	names = rectest_listing();
	ok(strstr(names, T0_START "-s.2-bob@example.org.jsonl") != NULL,
	    "renamed with the SASL2 authorization identifier");
	free(names);
	xnode_free(tree);
	rectest_emit_plain(
	    e, "session.close", "s.2", NULL, "reason", "client-closed");

	/* A JID a hostile server could send: made safe, and bounded. */
	rectest_emit_open(e, "s.3", T0);
	rectest_emit_plain(e, "bind", "s.3", NULL, "jid",
	    ".hid den%x\\y@ex\xc3\xa4mple.org/r/x");
	names = rectest_listing();
	ok(strstr(names, T0_START
	       "-s.3-%2Ehid%20den%25x%5Cy@ex%C3%A4mple.org.jsonl") != NULL,
	    "leading dot, space, percent, backslash, UTF-8 escaped as %%XX");
	free(names);
	buf_init(&b);
	buf_adds(&b, "u");
	while (b.len < 300)
		buf_adds(&b, "\xc3\xa9");
	buf_adds(&b, "@example.org/r");
	rectest_emit_open(e, "s.4", T0);
	rectest_emit_plain(e, "bind", "s.4", NULL, "jid", b.data);
	names = rectest_listing();
	want = strstr(names, T0_START "-s.4-u%C3%A9");
	ok(want != NULL && strchr(want, '|') == NULL &&
	        strlen(want) <= strlen(T0_START "-s.4-.jsonl") + 128,
	    "a long JID is cut to 128 bytes in the name");
	free(names);
	buf_fini(&b);
	events_free(e);
	rectest_remove_dir();
}

static void
test_offsets(void)
{
	struct events *e;
	char *offs;
	cJSON *evs;

	rectest_fresh_dir();
	e = rectest_recorder("");
	rectest_emit_open(e, "s.1", "2026-11-25T07:18:25.000000Z");
	rectest_emit_plain(e, "stream.open", "s.1",
	    "2026-11-25T07:18:25.000001Z", "dir", "c2s");
	rectest_emit_xml(e, "s.1", "2026-11-25T07:18:26.500000Z", "c2s",
	    "<presence/>", NULL);
	/* The wall clock stepped back: the offset stays. */
	rectest_emit_xml(e, "s.1", "2026-11-25T07:18:25.250000Z", "s2c",
	    "<presence/>", NULL);
	rectest_emit_xml(e, "s.1", "2026-11-26T07:18:25.000007Z", "s2c",
	    "<presence/>", NULL);
	rectest_emit_plain(e, "session.close", "s.1",
	    "2026-11-26T07:18:25.100000Z", "reason", "client-closed");
	offs = offsets_of("20261125T071825Z-s.1.jsonl");
	is_str(offs,
	    "0.000000|0.000001|1.500000|1.500000|86400.000007|86400.100000",
	    "offset_s: µs since session.open, never decreasing");
	free(offs);
	evs = rectest_lines("20261125T071825Z-s.1.jsonl");
	ok(monotonic(evs), "offsets parse as non-decreasing numbers");
	is_str(jsonev_str(cJSON_GetArrayItem(evs, 3), "ts"),
	    "2026-11-25T07:18:25.250000Z", "ts kept as the event had it");
	cJSON_Delete(evs);
	events_free(e);
	rectest_remove_dir();
}

static void
test_close_free(void)
{
	struct events *e;
	cJSON *evs;
	char *names;

	rectest_fresh_dir();
	e = rectest_recorder("");
	rectest_emit_open(e, "s.1", T0);
	rectest_emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	rectest_emit_plain(
	    e, "session.close", "s.1", NULL, "reason", "client-closed");
	evs = rectest_lines(T0_START "-s.1.jsonl");
	is_int(cJSON_GetArraySize(evs), 3,
	    "session.close writes the file out without a flush");
	is_str(jsonev_str(cJSON_GetArrayItem(evs, 2), "event"), "session.close",
	    "session.close is the last line");
	cJSON_Delete(evs);
	rectest_emit_open(e, "s.2", T0);
	rectest_emit_xml(e, "s.2", NULL, "c2s", "<presence/>", NULL);
	rectest_emit_xml(e, "s.2", NULL, "s2c", "<presence/>", NULL);
	is_int(
	    rectest_size(T0_START "-s.2.jsonl"), 0, "buffered until the flush");
	/* A session seen only open is written too: a reload must find it. */
	rectest_emit_open(e, "s.3", T0);
	events_free(e);
	evs = rectest_lines(T0_START "-s.2.jsonl");
	is_int(cJSON_GetArraySize(evs), 3, "events_free writes out every file");
	cJSON_Delete(evs);
	names = rectest_listing();
	ok(strstr(names, T0_START "-s.3.jsonl") != NULL,
	    "events_free creates the file of a session seen only open");
	free(names);
	rectest_remove_dir();
}

static void
test_redaction(void)
{
	struct event_xml x = {.xml = AUTH,
	    .len = strlen(AUTH),
	    .redacted = AUTH_REDACTED,
	    .original = AUTH,
	    .original_len = strlen(AUTH),
	    .original_redacted = AUTH_REDACTED};
	struct events *e;
	cJSON *ev;
	char *p, *text;

	rectest_fresh_dir();
	e = rectest_recorder("");
	rectest_emit_open(e, "s.1", T0);
	ev = events_begin("stanza", "s.1");
	events_emit(e, ev, &x);
	events_free(e);
	p = rectest_path(T0_START "-s.1.jsonl");
	text = jsonev_text(p);
	ok(strstr(text, "AGFsaWNl") == NULL &&
	        strstr(text, "\"xml\":\"" AUTH_REDACTED "\"") != NULL &&
	        strstr(text, "\"original_xml\":\"" AUTH_REDACTED "\"") != NULL,
	    "SASL payload redacted by default, xml and original_xml");
	free(text);
	unlink(p);
	free(p);

	e = rectest_recorder("\"redact\": false");
	rectest_emit_open(e, "s.1", T0);
	ev = events_begin("stanza", "s.1");
	events_emit(e, ev, &x);
	events_free(e);
	p = rectest_path(T0_START "-s.1.jsonl");
	text = jsonev_text(p);
	ok(strstr(text, "\"xml\":\"" AUTH "\"") != NULL,
	    "\"redact\": false records the payload");
	free(text);
	free(p);
	rectest_remove_dir();
}

/* A session through the harness with a record log: every element of both
 * directions, in order, with the events around them. */
static void
run_session(const char *extra, char **text, cJSON **evs, char **names)
{
	struct sesstest t;
	char *logs, *p;

	logs = xasprintf(
	    "{\"type\": \"record\", \"dir\": \"%s\"%s}", rectest_dir(), extra);
	sesstest_init_logs(&t, logs, "", "", "%s", "");
	free(logs);
	sesstest_send(t.client, C_HDR);
	sesstest_send(t.server, S_HDR FEAT_MECHS);
	sesstest_settle(&t);
	sesstest_send(t.client, AUTH);
	sesstest_settle(&t);
	sesstest_send(t.server,
	    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" S_HDR2
	    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
	    "</stream:features>");
	sesstest_settle(&t);
	sesstest_send(t.client,
	    C_HDR "<iq type='set' id='b1'><bind "
	          "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r1"
	          "</resource></bind></iq>");
	sesstest_settle(&t);
	sesstest_send(t.server, "<iq type='result' id='b1'><bind "
	                        "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>"
	                        "alice@example.org/r1</jid></bind></iq>");
	sesstest_send(t.server, "<r xmlns='urn:xmpp:sm:3'/>");
	sesstest_settle(&t);
	sesstest_send(t.client, MSG_C2S);
	sesstest_send(t.server, MSG_S2C);
	sesstest_settle(&t);
	sesstest_send(t.client, CLOSE);
	sesstest_send(t.server, CLOSE);
	sesstest_run_until(&t, sesstest_freed, 6);
	*names = rectest_listing();
	p = rectest_path(*names);
	*text = jsonev_text(p);
	*evs = jsonev_load(p);
	free(p);
	sesstest_fini(&t);
}

static void
test_session(void)
{
	static const struct {
		const char *event, *dir, *kind;
	} want[] = {
	    {"session.open", NULL, NULL},
	    {"stream.open", "c2s", NULL},
	    {"stream.open", "s2c", NULL},
	    {"stanza", "s2c", "features"},
	    {"stanza", "c2s", "auth"},
	    {"stanza", "s2c", "success"},
	    {"auth", NULL, NULL},
	    {"stream.open", "s2c", NULL},
	    {"stanza", "s2c", "features"},
	    {"stream.open", "c2s", NULL},
	    {"stanza", "c2s", "iq"},
	    {"stanza", "s2c", "iq"},
	    {"bind", NULL, NULL},
	    {"stanza", "s2c", "r"},
	    {"stanza", "c2s", "message"},
	    {"stanza", "s2c", "message"},
	    {"stream.close", "c2s", NULL},
	    {"stream.close", "s2c", NULL},
	    {"session.close", NULL, NULL},
	};
	const int n = (int)(sizeof(want) / sizeof(want[0]));
	char *text, *names;
	cJSON *evs, *ev;
	int i, good = 0;

	rectest_fresh_dir();
	run_session("", &text, &evs, &names);
	ok(strstr(names, "-t.1-alice@example.org.jsonl") != NULL &&
	        strchr(names, '|') == NULL,
	    "one recording, named with the JID (%s)", names);
	for (i = 0; i < n; i++) {
		ev = cJSON_GetArrayItem(evs, i);
		if (rectest_line_is(evs, i, want[i].event, want[i].dir) &&
		    (want[i].kind == NULL ||
		        jsonev_eq(ev, "kind", want[i].kind)))
			good++;
		else
			diag("line %d: want %s %s %s", i, want[i].event,
			    want[i].dir ? want[i].dir : "",
			    want[i].kind ? want[i].kind : "");
	}
	ok(good == n && cJSON_GetArraySize(evs) == n,
	    "every element both ways, headers and closes, in order");
	ok(monotonic(evs), "offsets never decrease");
	ok(jsonev_eq(cJSON_GetArrayItem(evs, 14), "xml", MSG_C2S) &&
	        jsonev_eq(cJSON_GetArrayItem(evs, 15), "xml", MSG_S2C),
	    "a message's xml is its bytes as forwarded");
	ok(jsonev_eq(cJSON_GetArrayItem(evs, 1), "xml", C_HDR),
	    "a stream header's xml is the header as sent");
	ok(strstr(text, "AGFsaWNlAHMzY3JldA") == NULL &&
	        jsonev_eq(cJSON_GetArrayItem(evs, 4), "xml", AUTH_REDACTED),
	    "the SASL payload is redacted");
	free(text);
	free(names);
	cJSON_Delete(evs);
	rectest_remove_dir();

	rectest_fresh_dir();
	run_session(", \"redact\": false", &text, &evs, &names);
	ok(jsonev_eq(cJSON_GetArrayItem(evs, 4), "xml", AUTH),
	    "with \"redact\": false the payload is recorded");
	free(text);
	free(names);
	cJSON_Delete(evs);
	rectest_remove_dir();
}

static void
test_reload(void)
{
	struct events *e;
	cJSON *evs;
	char *names, *offs;

	rectest_fresh_dir();
	e = rectest_recorder("");
	rectest_emit_open(e, "s.1", "2026-11-25T07:18:25.000000Z");
	rectest_emit_plain(e, "stream.open", "s.1",
	    "2026-11-25T07:18:26.000000Z", "dir", "c2s");
	rectest_emit_plain(e, "bind", "s.1", "2026-11-25T07:18:27.000000Z",
	    "jid", "alice@example.org/r1");
	rectest_emit_open(
	    e, "s.2", "2026-11-25T07:18:28.000000Z"); /* only open */
	rectest_emit_open(e, "s.3", "2026-11-25T07:18:28.000000Z");
	rectest_emit_plain(e, "stream.open", "s.3",
	    "2026-11-25T07:18:28.500000Z", "dir", "c2s");
	events_free(e); /* a SIGHUP: the old sink goes, a new one comes */
	e = rectest_recorder("");
	rectest_emit_xml(e, "s.1", "2026-11-25T07:18:30.000000Z", "c2s",
	    "<presence/>", NULL);
	rectest_emit_plain(e, "session.close", "s.1",
	    "2026-11-25T07:18:31.000000Z", "reason", "client-closed");
	rectest_emit_xml(e, "s.2", "2026-11-25T07:18:29.000000Z", "c2s",
	    "<presence/>", NULL);
	/* A session the sink never saw, with no file: one from now on. */
	rectest_emit_xml(e, "s.9", "2026-11-25T07:18:40.000000Z", "s2c",
	    "<presence/>", NULL);
	rectest_emit_xml(e, "s.9", "2026-11-25T07:18:41.000000Z", "s2c",
	    "<presence/>", NULL);
	events_free(e);
	names = rectest_listing();
	is_str(names,
	    "20261125T071825Z-s.1-alice@example.org.jsonl|"
	    "20261125T071828Z-s.2.jsonl|20261125T071828Z-s.3.jsonl|"
	    "20261125T071840Z-s.9.jsonl",
	    "running sessions keep their files; an unknown one gets its own");
	free(names);
	evs = rectest_lines("20261125T071825Z-s.1-alice@example.org.jsonl");
	is_int(cJSON_GetArraySize(evs), 5,
	    "the new sink appended to the "
	    "renamed file");
	ok(rectest_line_is(evs, 0, "session.open", NULL) &&
	        rectest_line_is(evs, 3, "stanza", "c2s") &&
	        rectest_line_is(evs, 4, "session.close", NULL),
	    "one session.open, then the lines of both sinks in order");
	cJSON_Delete(evs);
	offs = offsets_of("20261125T071825Z-s.1-alice@example.org.jsonl");
	is_str(offs, "0.000000|1.000000|2.000000|5.000000|6.000000",
	    "offsets after the reload count from the first line's ts");
	free(offs);
	offs = offsets_of("20261125T071828Z-s.2.jsonl");
	is_str(offs, "0.000000|1.000000",
	    "a session seen only open before the reload continues its file");
	free(offs);
	offs = offsets_of("20261125T071840Z-s.9.jsonl");
	is_str(offs, "0.000000|1.000000",
	    "an unknown session's offsets start at its first event");
	free(offs);
	rectest_remove_dir();
}

static void
test_reopen(void)
{
	struct events *e;
	cJSON *evs;

	rectest_fresh_dir();
	e = rectest_recorder("");
	rectest_emit_open(e, "s.1", T0);
	rectest_emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	events_reopen(e);
	is_int(cJSON_GetArraySize(evs = rectest_lines(T0_START "-s.1.jsonl")),
	    2, "reopen writes out and closes");
	cJSON_Delete(evs);
	rectest_emit_xml(e, "s.1", NULL, "s2c", "<presence/>", NULL);
	rectest_emit_plain(
	    e, "session.close", "s.1", NULL, "reason", "client-closed");
	evs = rectest_lines(T0_START "-s.1.jsonl");
	ok(cJSON_GetArraySize(evs) == 4 && monotonic(evs),
	    "the next line opens the file again by name");
	cJSON_Delete(evs);
	events_free(e);
	rectest_remove_dir();
}

static void
test_names(void)
{
	size_t off, len;
	int64_t us;
	char start[RECORD_START_LEN + 1];

	ok(record_is_name("20261125T071825Z-ab.1-x@y.jsonl", &off, &len) &&
	        off == 17 && len == 4,
	    "a JID-named recording is one, id placed");
	ok(record_is_name("20261125T071825Z-ab.1.jsonl", &off, &len) &&
	        len == 4,
	    "so is one without a JID");
	ok(!record_is_name("20261125T071825Z-.jsonl", &off, &len) &&
	        !record_is_name("2026112xT071825Z-a.jsonl", &off, &len) &&
	        !record_is_name("20261125T071825Z-a.json", &off, &len) &&
	        !record_is_name("events.jsonl", &off, &len),
	    "other names are not recordings");
	ok(record_ts_us("1970-01-01T00:00:01.000002Z", &us) == 0 &&
	        us == 1000002,
	    "ts in µs since the epoch");
	ok(record_ts_us("1970-01-01T00:00:01Z", &us) == -1 &&
	        record_ts_us("1970-01-01T00:00:01.00000xZ", &us) == -1,
	    "malformed ts refused");
	record_start(start, T0);
	is_str(start, T0_START, "start from ts");
}

int
main(void)
{
	test_names();
	test_name_mode();
	test_jid_names();
	test_offsets();
	test_close_free();
	test_redaction();
	test_session();
	test_reload();
	test_reopen();
	return done_testing();
}
