/* SPDX-License-Identifier: ISC */
/*
 * The recording sink: events fed to it directly (with the timestamps a
 * test needs) and a real session over the harness. Covers the file's name
 * and mode, the rename once the JID is known, offsets, every element of
 * both directions, redaction, the limits and their operator log lines,
 * continuing a file after a reload, reopen, write errors, and writing out
 * at session.close and at free.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "events.h"
#include "record_dir.h"
#include "xmalloc.h"

#include "../tap.h"
#include "jsonev.h"
#include "sesstest.h"
#include "testxml.h"

#define T0 "2026-11-25T07:18:25.465343Z"
#define T0_START "20261125T071825Z"
#define AUTH                                                                   \
	"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "                      \
	"mechanism='PLAIN'>AGFsaWNlAHMzY3JldA==</auth>"
#define AUTH_REDACTED                                                          \
	"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "                      \
	"mechanism='PLAIN'>[redacted]</auth>"

static char dir[64];

/* A fresh, empty recording directory in dir. */
static void
fresh_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/t-record-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
}

static void
remove_dir(void)
{
	struct dirent *de;
	char path[512];
	DIR *d = opendir(dir);

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

/* An events object with one record log in dir; extra adds keys to it. */
static struct events *
recorder(const char *extra)
{
	struct config *cfg;
	struct events *ev;
	char *json, *err = NULL;

	json =
	    xasprintf("{\"logs\": [{\"type\": \"record\", \"dir\": \"%s\"%s%s"
	              "}]}",
	        dir, extra[0] ? ", " : "", extra);
	if ((cfg = config_parse(json, &err)) == NULL ||
	    (ev = events_new(cfg, false, NULL, &err)) == NULL) {
		fprintf(stderr, "recorder: %s\n", err);
		exit(99);
	}
	config_unref(cfg);
	free(json);
	return ev;
}

/* ev stamped with ts instead of now (NULL: keep now). */
static cJSON *
at(cJSON *ev, const char *ts)
{
	if (ts != NULL)
		cJSON_ReplaceItemInObject(ev, "ts", cJSON_CreateString(ts));
	return ev;
}

static void
emit_open(struct events *e, const char *id, const char *ts)
{
	cJSON *ev = at(events_begin("session.open", id), ts);

	cJSON_AddStringToObject(ev, "client", "127.0.0.1:4000");
	events_emit(e, ev, NULL);
}

/* A stanza event of dir for xml; redacted, when not NULL, is its
 * redacted form. */
static void
emit_xml(struct events *e, const char *id, const char *ts, const char *dirn,
    const char *xml, const char *redacted)
{
	struct event_xml x = {
	    .xml = xml, .len = strlen(xml), .redacted = redacted};
	cJSON *ev = at(events_begin("stanza", id), ts);

	cJSON_AddStringToObject(ev, "dir", dirn);
	events_emit(e, ev, &x);
}

static void
emit_plain(struct events *e, const char *name, const char *id, const char *ts,
    const char *key, const char *value)
{
	cJSON *ev = at(events_begin(name, id), ts);

	if (key != NULL)
		cJSON_AddStringToObject(ev, key, value);
	events_emit(e, ev, NULL);
}

/* The recordings in dir, sorted, as one "a|b|c" string (xmalloc'd). */
static char *
listing(void)
{
	struct dirent **list;
	struct buf b;
	int i, n;

	buf_init(&b);
	buf_adds(&b, "");
	n = scandir(dir, &list, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.' &&
		    strstr(list[i]->d_name, ".jsonl") != NULL)
			buf_addf(&b, "%s%s", b.len ? "|" : "", list[i]->d_name);
		free(list[i]);
	}
	if (n > 0)
		free(list);
	return buf_release(&b);
}

static char *
path_of(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* The lines of one recording, parsed. */
static cJSON *
lines_of(const char *name)
{
	char *p = path_of(name);
	cJSON *evs = jsonev_load(p);

	free(p);
	return evs;
}

static size_t
size_of(const char *name)
{
	char *p = path_of(name);
	struct stat st;

	st.st_size = -1;
	(void)stat(p, &st);
	free(p);
	return (size_t)st.st_size;
}

/* The offset_s of each line, as written: "0.000000|1.500000|...". */
static char *
offsets_of(const char *name)
{
	char *p = path_of(name), *text = jsonev_text(p), *q, *end;
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

/* The operator log (stderr) of a stretch of the test. */
static int cap_saved = -1;
static char cap_path[64];

static void
cap_begin(void)
{
	int fd;

	fflush(stderr);
	snprintf(cap_path, sizeof(cap_path), "/tmp/t-record-log-XXXXXX");
	fd = mkstemp(cap_path);
	cap_saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *
cap_end(void)
{
	char *text;

	fflush(stderr);
	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	text = jsonev_text(cap_path);
	unlink(cap_path);
	return text;
}

static void
test_name_mode(void)
{
	struct events *e;
	struct stat st;
	char *names, *p;
	mode_t old;

	fresh_dir();
	e = recorder("");
	old = umask(0277); /* would make the file read-only without fchmod */
	emit_open(e, "s.1", T0);
	names = listing();
	is_str(names, "", "no file while the session has only opened");
	free(names);
	emit_plain(e, "stream.open", "s.1", NULL, "dir", "c2s");
	names = listing();
	is_str(names, T0_START "-s.1.jsonl",
	    "file named <UTC start>-<session id>.jsonl at the next event");
	umask(old);
	p = path_of(T0_START "-s.1.jsonl");
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
	emit_open(e, "s.2", NULL);
	emit_plain(e, "session.close", "s.2", NULL, "reason", "session-limit");
	names = listing();
	is_str(names, T0_START "-s.1.jsonl",
	    "a session with nothing but open and close gets no file");
	free(names);
	events_free(e);
	remove_dir();
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

	fresh_dir();
	e = recorder("");
	emit_open(e, "s.1", T0);
	emit_plain(e, "stream.open", "s.1", NULL, "dir", "c2s");
	emit_plain(e, "bind", "s.1", NULL, "jid", "alice@example.org/r1");
	names = listing();
	is_str(names, T0_START "-s.1-alice@example.org.jsonl",
	    "renamed with the bare JID after bind, old name gone");
	free(names);
	emit_plain(e, "session.close", "s.1", NULL, "reason", "client-closed");

	emit_open(e, "s.2", T0);
	x.tree = tree;
	ev = at(events_begin("stanza", "s.2"), NULL);
	cJSON_AddStringToObject(ev, "dir", "s2c");
	events_emit(e, ev, &x);
	names = listing();
	ok(strstr(names, T0_START "-s.2-bob@example.org.jsonl") != NULL,
	    "renamed with the SASL2 authorization identifier");
	free(names);
	xnode_free(tree);
	emit_plain(e, "session.close", "s.2", NULL, "reason", "client-closed");

	/* A JID a hostile server could send: made safe, and bounded. */
	emit_open(e, "s.3", T0);
	emit_plain(e, "bind", "s.3", NULL, "jid",
	    ".hid den%x\\y@ex\xc3\xa4mple.org/r/x");
	names = listing();
	ok(strstr(names, T0_START
	       "-s.3-%2Ehid%20den%25x%5Cy@ex%C3%A4mple.org.jsonl") != NULL,
	    "leading dot, space, percent, backslash, UTF-8 escaped as %%XX");
	free(names);
	buf_init(&b);
	buf_adds(&b, "u");
	while (b.len < 300)
		buf_adds(&b, "\xc3\xa9");
	buf_adds(&b, "@example.org/r");
	emit_open(e, "s.4", T0);
	emit_plain(e, "bind", "s.4", NULL, "jid", b.data);
	names = listing();
	want = strstr(names, T0_START "-s.4-u%C3%A9");
	ok(want != NULL && strchr(want, '|') == NULL &&
	        strlen(want) <= strlen(T0_START "-s.4-.jsonl") + 128,
	    "a long JID is cut to 128 bytes in the name");
	free(names);
	buf_fini(&b);
	events_free(e);
	remove_dir();
}

static void
test_offsets(void)
{
	struct events *e;
	char *offs;
	cJSON *evs;

	fresh_dir();
	e = recorder("");
	emit_open(e, "s.1", "2026-11-25T07:18:25.000000Z");
	emit_plain(e, "stream.open", "s.1", "2026-11-25T07:18:25.000001Z",
	    "dir", "c2s");
	emit_xml(e, "s.1", "2026-11-25T07:18:26.500000Z", "c2s", "<presence/>",
	    NULL);
	/* The wall clock stepped back: the offset stays. */
	emit_xml(e, "s.1", "2026-11-25T07:18:25.250000Z", "s2c", "<presence/>",
	    NULL);
	emit_xml(e, "s.1", "2026-11-26T07:18:25.000007Z", "s2c", "<presence/>",
	    NULL);
	emit_plain(e, "session.close", "s.1", "2026-11-26T07:18:25.100000Z",
	    "reason", "client-closed");
	offs = offsets_of("20261125T071825Z-s.1.jsonl");
	is_str(offs,
	    "0.000000|0.000001|1.500000|1.500000|86400.000007|86400.100000",
	    "offset_s: µs since session.open, never decreasing");
	free(offs);
	evs = lines_of("20261125T071825Z-s.1.jsonl");
	ok(monotonic(evs), "offsets parse as non-decreasing numbers");
	is_str(jsonev_str(cJSON_GetArrayItem(evs, 3), "ts"),
	    "2026-11-25T07:18:25.250000Z", "ts kept as the event had it");
	cJSON_Delete(evs);
	events_free(e);
	remove_dir();
}

static void
test_close_free(void)
{
	struct events *e;
	cJSON *evs;
	char *names;

	fresh_dir();
	e = recorder("");
	emit_open(e, "s.1", T0);
	emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	emit_plain(e, "session.close", "s.1", NULL, "reason", "client-closed");
	evs = lines_of(T0_START "-s.1.jsonl");
	is_int(cJSON_GetArraySize(evs), 3,
	    "session.close writes the file out without a flush");
	is_str(jsonev_str(cJSON_GetArrayItem(evs, 2), "event"), "session.close",
	    "session.close is the last line");
	cJSON_Delete(evs);
	emit_open(e, "s.2", T0);
	emit_xml(e, "s.2", NULL, "c2s", "<presence/>", NULL);
	emit_xml(e, "s.2", NULL, "s2c", "<presence/>", NULL);
	is_int(size_of(T0_START "-s.2.jsonl"), 0, "buffered until the flush");
	/* A session seen only open is written too: a reload must find it. */
	emit_open(e, "s.3", T0);
	events_free(e);
	evs = lines_of(T0_START "-s.2.jsonl");
	is_int(cJSON_GetArraySize(evs), 3, "events_free writes out every file");
	cJSON_Delete(evs);
	names = listing();
	ok(strstr(names, T0_START "-s.3.jsonl") != NULL,
	    "events_free creates the file of a session seen only open");
	free(names);
	remove_dir();
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

	fresh_dir();
	e = recorder("");
	emit_open(e, "s.1", T0);
	ev = events_begin("stanza", "s.1");
	events_emit(e, ev, &x);
	events_free(e);
	p = path_of(T0_START "-s.1.jsonl");
	text = jsonev_text(p);
	ok(strstr(text, "AGFsaWNl") == NULL &&
	        strstr(text, "\"xml\":\"" AUTH_REDACTED "\"") != NULL &&
	        strstr(text, "\"original_xml\":\"" AUTH_REDACTED "\"") != NULL,
	    "SASL payload redacted by default, xml and original_xml");
	free(text);
	unlink(p);
	free(p);

	e = recorder("\"redact\": false");
	emit_open(e, "s.1", T0);
	ev = events_begin("stanza", "s.1");
	events_emit(e, ev, &x);
	events_free(e);
	p = path_of(T0_START "-s.1.jsonl");
	text = jsonev_text(p);
	ok(strstr(text, "\"xml\":\"" AUTH "\"") != NULL,
	    "\"redact\": false records the payload");
	free(text);
	free(p);
	remove_dir();
}

/* A session through the harness with a record log: every element of both
 * directions, in order, with the events around them. */
static void
run_session(const char *extra, char **text, cJSON **evs, char **names)
{
	struct sesstest t;
	char *logs, *p;

	logs =
	    xasprintf("{\"type\": \"record\", \"dir\": \"%s\"%s}", dir, extra);
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
	*names = listing();
	p = path_of(*names);
	*text = jsonev_text(p);
	*evs = jsonev_load(p);
	free(p);
	sesstest_fini(&t);
}

/* Whether the i-th line is event name (and dir, when not NULL). */
static bool
line_is(const cJSON *evs, int i, const char *name, const char *dirn)
{
	const cJSON *ev = cJSON_GetArrayItem(evs, i);

	return ev != NULL && jsonev_eq(ev, "event", name) &&
	       (dirn == NULL || jsonev_eq(ev, "dir", dirn));
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

	fresh_dir();
	run_session("", &text, &evs, &names);
	ok(strstr(names, "-t.1-alice@example.org.jsonl") != NULL &&
	        strchr(names, '|') == NULL,
	    "one recording, named with the JID (%s)", names);
	for (i = 0; i < n; i++) {
		ev = cJSON_GetArrayItem(evs, i);
		if (line_is(evs, i, want[i].event, want[i].dir) &&
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
	remove_dir();

	fresh_dir();
	run_session(", \"redact\": false", &text, &evs, &names);
	ok(jsonev_eq(cJSON_GetArrayItem(evs, 4), "xml", AUTH),
	    "with \"redact\": false the payload is recorded");
	free(text);
	free(names);
	cJSON_Delete(evs);
	remove_dir();
}

/* A recording-named file of size bytes in dir (not ours: counted). */
static void
make_file(const char *name, size_t size)
{
	char *p = path_of(name);
	FILE *fp = fopen(p, "w");
	size_t i;

	for (i = 0; fp != NULL && i < size; i++)
		fputc(i + 1 == size ? '\n' : 'x', fp);
	if (fp != NULL)
		fclose(fp);
	free(p);
}

static int
count(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void
test_max_files(void)
{
	struct events *e;
	char *log, *names;

	fresh_dir();
	make_file("20260101T000000Z-a.1.jsonl", 10);
	make_file("20260101T000000Z-a.2-x@y.jsonl", 10);
	make_file("notes.txt", 10); /* not a recording: not counted */
	make_file("20260101T000000Z-a.3.jsonl.txt", 10);
	cap_begin();
	e = recorder("\"max_files\": 3");
	emit_open(e, "s.1", T0);
	emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	emit_open(e, "s.2", T0);
	emit_xml(e, "s.2", NULL, "c2s", "<presence/>", NULL);
	emit_open(e, "s.3", T0);
	emit_xml(e, "s.3", NULL, "c2s", "<presence/>", NULL);
	emit_xml(e, "s.3", NULL, "c2s", "<presence/>", NULL);
	events_free(e);
	log = cap_end();
	names = listing();
	is_str(names,
	    "20260101T000000Z-a.1.jsonl|20260101T000000Z-a.2-x@y.jsonl|"
	    "20260101T000000Z-a.3.jsonl.txt|" T0_START "-s.1.jsonl",
	    "max_files 3: the third recording is made, then no more");
	is_int(count(log, "max_files=3"), 1,
	    "one operator line for max_files, not one per session");
	ok(strstr(log, " warn ") != NULL, "it is a warning");
	free(names);
	free(log);
	remove_dir();
}

static void
test_max_bytes(void)
{
	struct events *e;
	char *log, *names, *big;
	cJSON *evs;
	int i;

	/* Full at start: new sessions get no file. */
	fresh_dir();
	make_file("20260101T000000Z-a.1.jsonl", 65000);
	cap_begin();
	e = recorder("\"max_bytes\": 65536");
	emit_open(e, "s.1", T0);
	emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	emit_open(e, "s.2", T0);
	emit_xml(e, "s.2", NULL, "c2s", "<presence/>", NULL);
	events_free(e);
	log = cap_end();
	names = listing();
	is_str(names, "20260101T000000Z-a.1.jsonl",
	    "no new file when max_bytes is reached");
	is_int(count(log, "max_bytes=65536"), 1, "one operator line");
	free(names);
	free(log);
	remove_dir();

	/* Reached while recording: running files end with record.truncated,
	 * a little past the limit at most. */
	fresh_dir();
	make_file("20260101T000000Z-a.1.jsonl", 100000);
	big = xmalloc(2001);
	memset(big, 'b', 2000);
	big[2000] = '\0';
	memcpy(big, "<x>", 3);
	memcpy(big + 1996, "</x>", 4);
	cap_begin();
	e = recorder("\"max_bytes\": 131072");
	emit_open(e, "s.1", T0);
	emit_open(e, "s.2", T0);
	for (i = 0; i < 30; i++) {
		emit_xml(e, "s.1", NULL, "c2s", big, NULL);
		emit_xml(e, "s.2", NULL, "c2s", "<presence/>", NULL);
	}
	emit_plain(e, "session.close", "s.1", NULL, "reason", "client-closed");
	emit_plain(e, "session.close", "s.2", NULL, "reason", "client-closed");
	events_free(e);
	log = cap_end();
	evs = lines_of(T0_START "-s.1.jsonl");
	ok(line_is(
	       evs, cJSON_GetArraySize(evs) - 1, "record.truncated", NULL) &&
	        jsonev_eq(cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1),
	            "reason", "max_bytes"),
	    "the growing file ends with record.truncated, reason max_bytes");
	cJSON_Delete(evs);
	evs = lines_of(T0_START "-s.2.jsonl");
	ok(line_is(evs, cJSON_GetArraySize(evs) - 1, "record.truncated", NULL),
	    "so does the other running recording");
	cJSON_Delete(evs);
	ok(100000 + size_of(T0_START "-s.1.jsonl") +
	            size_of(T0_START "-s.2.jsonl") <=
	        131072 + 2 * 512,
	    "the directory stays within max_bytes and a truncation line per "
	    "file");
	is_int(count(log, "max_bytes=131072"), 1, "one warning for max_bytes");
	free(log);
	free(big);
	remove_dir();
}

static void
test_max_file_bytes(void)
{
	struct events *e;
	char *log, *big;
	const cJSON *last;
	cJSON *evs;
	int i;

	fresh_dir();
	big = xmalloc(1001);
	memset(big, 'b', 1000);
	big[1000] = '\0';
	memcpy(big, "<x>", 3);
	memcpy(big + 996, "</x>", 4);
	cap_begin();
	e = recorder("\"max_file_bytes\": 65536");
	emit_open(e, "s.1", T0);
	emit_open(e, "s.2", T0);
	for (i = 0; i < 100; i++) {
		emit_xml(e, "s.1", NULL, "c2s", big, NULL);
		emit_xml(e, "s.2", NULL, "s2c", big, NULL);
	}
	emit_plain(e, "session.close", "s.1", NULL, "reason", "client-closed");
	events_flush(e);
	log = cap_end();
	evs = lines_of(T0_START "-s.1.jsonl");
	last = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
	ok(jsonev_eq(last, "event", "record.truncated") &&
	        jsonev_eq(last, "reason", "max_file_bytes") &&
	        cJSON_GetObjectItem(last, "limit") != NULL &&
	        cJSON_GetObjectItem(last, "limit")->valuedouble == 65536 &&
	        jsonev_eq(last, "session", "s.1") &&
	        cJSON_GetObjectItem(last, "offset_s") != NULL,
	    "record.truncated is the last line, with reason and limit");
	ok(size_of(T0_START "-s.1.jsonl") <= 65536,
	    "the file stays within max_file_bytes (%zu)",
	    size_of(T0_START "-s.1.jsonl"));
	ok(cJSON_GetArraySize(evs) > 50 && jsonev_lacks(evs, "session.close"),
	    "full until the limit, nothing after it");
	cJSON_Delete(evs);
	is_int(count(log, "max_file_bytes=65536"), 1,
	    "one warning for max_file_bytes");
	is_int(count(log, "truncated at max_file_bytes"), 1,
	    "later truncations are info lines naming the session");
	events_free(e);
	free(log);
	free(big);
	remove_dir();
}

static void
test_reload(void)
{
	struct events *e;
	cJSON *evs;
	char *names, *offs;

	fresh_dir();
	e = recorder("");
	emit_open(e, "s.1", "2026-11-25T07:18:25.000000Z");
	emit_plain(e, "stream.open", "s.1", "2026-11-25T07:18:26.000000Z",
	    "dir", "c2s");
	emit_plain(e, "bind", "s.1", "2026-11-25T07:18:27.000000Z", "jid",
	    "alice@example.org/r1");
	emit_open(e, "s.2", "2026-11-25T07:18:28.000000Z"); /* only open */
	emit_open(e, "s.3", "2026-11-25T07:18:28.000000Z");
	emit_plain(e, "stream.open", "s.3", "2026-11-25T07:18:28.500000Z",
	    "dir", "c2s");
	events_free(e); /* a SIGHUP: the old sink goes, a new one comes */
	e = recorder("");
	emit_xml(e, "s.1", "2026-11-25T07:18:30.000000Z", "c2s", "<presence/>",
	    NULL);
	emit_plain(e, "session.close", "s.1", "2026-11-25T07:18:31.000000Z",
	    "reason", "client-closed");
	emit_xml(e, "s.2", "2026-11-25T07:18:29.000000Z", "c2s", "<presence/>",
	    NULL);
	/* A session the sink never saw, with no file: one from now on. */
	emit_xml(e, "s.9", "2026-11-25T07:18:40.000000Z", "s2c", "<presence/>",
	    NULL);
	emit_xml(e, "s.9", "2026-11-25T07:18:41.000000Z", "s2c", "<presence/>",
	    NULL);
	events_free(e);
	names = listing();
	is_str(names,
	    "20261125T071825Z-s.1-alice@example.org.jsonl|"
	    "20261125T071828Z-s.2.jsonl|20261125T071828Z-s.3.jsonl|"
	    "20261125T071840Z-s.9.jsonl",
	    "running sessions keep their files; an unknown one gets its own");
	free(names);
	evs = lines_of("20261125T071825Z-s.1-alice@example.org.jsonl");
	is_int(cJSON_GetArraySize(evs), 5,
	    "the new sink appended to the "
	    "renamed file");
	ok(line_is(evs, 0, "session.open", NULL) &&
	        line_is(evs, 3, "stanza", "c2s") &&
	        line_is(evs, 4, "session.close", NULL),
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
	remove_dir();
}

static void
test_reload_stopped(void)
{
	struct events *e;
	char *big, *log;
	cJSON *evs;
	size_t size;
	int i;

	fresh_dir();
	big = xmalloc(3001);
	memset(big, 'b', 3000);
	big[3000] = '\0';
	memcpy(big, "<x>", 3);
	memcpy(big + 2996, "</x>", 4);
	cap_begin();
	e = recorder("\"max_file_bytes\": 65536");
	emit_open(e, "s.1", T0);
	for (i = 0; i < 30; i++)
		emit_xml(e, "s.1", NULL, "c2s", big, NULL);
	events_free(e);
	size = size_of(T0_START "-s.1.jsonl");
	e = recorder("\"max_file_bytes\": 65536");
	emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	emit_plain(e, "session.close", "s.1", NULL, "reason", "client-closed");
	events_free(e);
	log = cap_end();
	is_int(size_of(T0_START "-s.1.jsonl"), size,
	    "a truncated recording stays truncated after a reload");
	evs = lines_of(T0_START "-s.1.jsonl");
	ok(line_is(evs, cJSON_GetArraySize(evs) - 1, "record.truncated", NULL),
	    "its last line is still record.truncated");
	cJSON_Delete(evs);
	free(log);
	free(big);
	remove_dir();
}

static void
test_reopen(void)
{
	struct events *e;
	cJSON *evs;

	fresh_dir();
	e = recorder("");
	emit_open(e, "s.1", T0);
	emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	events_reopen(e);
	is_int(cJSON_GetArraySize(evs = lines_of(T0_START "-s.1.jsonl")), 2,
	    "reopen writes out and closes");
	cJSON_Delete(evs);
	emit_xml(e, "s.1", NULL, "s2c", "<presence/>", NULL);
	emit_plain(e, "session.close", "s.1", NULL, "reason", "client-closed");
	evs = lines_of(T0_START "-s.1.jsonl");
	ok(cJSON_GetArraySize(evs) == 4 && monotonic(evs),
	    "the next line opens the file again by name");
	cJSON_Delete(evs);
	events_free(e);
	remove_dir();
}

static void
test_write_error(void)
{
	struct rlimit old, rl;
	struct events *e;
	char *big, *log, *p, *text;
	int i;

	fresh_dir();
	big = xmalloc(4001);
	memset(big, 'b', 4000);
	big[4000] = '\0';
	memcpy(big, "<x>", 3);
	memcpy(big + 3996, "</x>", 4);
	/* A file size limit fails writes the way a full disk does. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 10000;
	setrlimit(RLIMIT_FSIZE, &rl);
	cap_begin();
	e = recorder("");
	emit_open(e, "s.1", T0);
	emit_open(e, "s.2", T0);
	for (i = 0; i < 5; i++) {
		emit_xml(e, "s.1", NULL, "c2s", big, NULL);
		emit_xml(e, "s.2", NULL, "c2s", big, NULL);
		events_flush(e);
	}
	emit_plain(e, "session.close", "s.1", NULL, "reason", "client-closed");
	emit_plain(e, "session.close", "s.2", NULL, "reason", "client-closed");
	events_free(e);
	setrlimit(RLIMIT_FSIZE, &old);
	log = cap_end();
	is_int(count(log, "failed: File too large"), 1,
	    "a write error is logged once");
	ok(size_of(T0_START "-s.1.jsonl") <= 10000,
	    "the file stops at the error");
	p = path_of(T0_START "-s.1.jsonl");
	text = jsonev_text(p);
	ok(strstr(text, "session.close") == NULL, "nothing after the error");
	free(text);
	free(p);
	free(log);
	free(big);
	remove_dir();
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
	test_max_files();
	test_max_bytes();
	test_max_file_bytes();
	test_reload();
	test_reload_stopped();
	test_reopen();
	test_write_error();
	return done_testing();
}
