/* SPDX-License-Identifier: ISC */
/*
 * The recording sink at its limits, with events fed to it directly
 * (rectest.h): max_files, max_bytes (reached before a session starts, or
 * while recording: record.truncated ends the running files), max_file_bytes,
 * a truncated recording that stays so after a reload, and a write error (a
 * file size limit failing writes the way a full disk does). Each limit says
 * so once in the operator log, which the tests capture from stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "events.h"
#include "xmalloc.h"

#include "../tap.h"
#include "jsonev.h"
#include "rectest.h"

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

/* A recording-named file of size bytes in dir (not ours: counted). */
static void
make_file(const char *name, size_t size)
{
	char *p = rectest_path(name);
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

	rectest_fresh_dir();
	make_file("20260101T000000Z-a.1.jsonl", 10);
	make_file("20260101T000000Z-a.2-x@y.jsonl", 10);
	make_file("notes.txt", 10); /* not a recording: not counted */
	make_file("20260101T000000Z-a.3.jsonl.txt", 10);
	cap_begin();
	e = rectest_recorder("\"max_files\": 3");
	rectest_emit_open(e, "s.1", T0);
	rectest_emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	rectest_emit_open(e, "s.2", T0);
	rectest_emit_xml(e, "s.2", NULL, "c2s", "<presence/>", NULL);
	rectest_emit_open(e, "s.3", T0);
	rectest_emit_xml(e, "s.3", NULL, "c2s", "<presence/>", NULL);
	rectest_emit_xml(e, "s.3", NULL, "c2s", "<presence/>", NULL);
	events_free(e);
	log = cap_end();
	names = rectest_listing();
	is_str(names,
	    "20260101T000000Z-a.1.jsonl|20260101T000000Z-a.2-x@y.jsonl|"
	    "20260101T000000Z-a.3.jsonl.txt|" T0_START "-s.1.jsonl",
	    "max_files 3: the third recording is made, then no more");
	is_int(count(log, "max_files=3"), 1,
	    "one operator line for max_files, not one per session");
	ok(strstr(log, " warn ") != NULL, "it is a warning");
	free(names);
	free(log);
	rectest_remove_dir();
}

static void
test_max_bytes(void)
{
	struct events *e;
	char *log, *names, *big;
	cJSON *evs;
	int i;

	/* Full at start: new sessions get no file. */
	rectest_fresh_dir();
	make_file("20260101T000000Z-a.1.jsonl", 65000);
	cap_begin();
	e = rectest_recorder("\"max_bytes\": 65536");
	rectest_emit_open(e, "s.1", T0);
	rectest_emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	rectest_emit_open(e, "s.2", T0);
	rectest_emit_xml(e, "s.2", NULL, "c2s", "<presence/>", NULL);
	events_free(e);
	log = cap_end();
	names = rectest_listing();
	is_str(names, "20260101T000000Z-a.1.jsonl",
	    "no new file when max_bytes is reached");
	is_int(count(log, "max_bytes=65536"), 1, "one operator line");
	free(names);
	free(log);
	rectest_remove_dir();

	/* Reached while recording: running files end with record.truncated,
	 * a little past the limit at most. */
	rectest_fresh_dir();
	make_file("20260101T000000Z-a.1.jsonl", 100000);
	big = xmalloc(2001);
	memset(big, 'b', 2000);
	big[2000] = '\0';
	memcpy(big, "<x>", 3);
	memcpy(big + 1996, "</x>", 4);
	cap_begin();
	e = rectest_recorder("\"max_bytes\": 131072");
	rectest_emit_open(e, "s.1", T0);
	rectest_emit_open(e, "s.2", T0);
	for (i = 0; i < 30; i++) {
		rectest_emit_xml(e, "s.1", NULL, "c2s", big, NULL);
		rectest_emit_xml(e, "s.2", NULL, "c2s", "<presence/>", NULL);
	}
	rectest_emit_plain(
	    e, "session.close", "s.1", NULL, "reason", "client-closed");
	rectest_emit_plain(
	    e, "session.close", "s.2", NULL, "reason", "client-closed");
	events_free(e);
	log = cap_end();
	evs = rectest_lines(T0_START "-s.1.jsonl");
	ok(rectest_line_is(
	       evs, cJSON_GetArraySize(evs) - 1, "record.truncated", NULL) &&
	        jsonev_eq(cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1),
	            "reason", "max_bytes"),
	    "the growing file ends with record.truncated, reason max_bytes");
	cJSON_Delete(evs);
	evs = rectest_lines(T0_START "-s.2.jsonl");
	ok(rectest_line_is(
	       evs, cJSON_GetArraySize(evs) - 1, "record.truncated", NULL),
	    "so does the other running recording");
	cJSON_Delete(evs);
	ok(100000 + rectest_size(T0_START "-s.1.jsonl") +
	            rectest_size(T0_START "-s.2.jsonl") <=
	        131072 + 2 * 512,
	    "the directory stays within max_bytes and a truncation line per "
	    "file");
	is_int(count(log, "max_bytes=131072"), 1, "one warning for max_bytes");
	free(log);
	free(big);
	rectest_remove_dir();
}

static void
test_max_file_bytes(void)
{
	struct events *e;
	char *log, *big;
	const cJSON *last;
	cJSON *evs;
	int i;

	rectest_fresh_dir();
	big = xmalloc(1001);
	memset(big, 'b', 1000);
	big[1000] = '\0';
	memcpy(big, "<x>", 3);
	memcpy(big + 996, "</x>", 4);
	cap_begin();
	e = rectest_recorder("\"max_file_bytes\": 65536");
	rectest_emit_open(e, "s.1", T0);
	rectest_emit_open(e, "s.2", T0);
	for (i = 0; i < 100; i++) {
		rectest_emit_xml(e, "s.1", NULL, "c2s", big, NULL);
		rectest_emit_xml(e, "s.2", NULL, "s2c", big, NULL);
	}
	rectest_emit_plain(
	    e, "session.close", "s.1", NULL, "reason", "client-closed");
	events_flush(e);
	log = cap_end();
	evs = rectest_lines(T0_START "-s.1.jsonl");
	last = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
	ok(jsonev_eq(last, "event", "record.truncated") &&
	        jsonev_eq(last, "reason", "max_file_bytes") &&
	        cJSON_GetObjectItem(last, "limit") != NULL &&
	        cJSON_GetObjectItem(last, "limit")->valuedouble == 65536 &&
	        jsonev_eq(last, "session", "s.1") &&
	        cJSON_GetObjectItem(last, "offset_s") != NULL,
	    "record.truncated is the last line, with reason and limit");
	ok(rectest_size(T0_START "-s.1.jsonl") <= 65536,
	    "the file stays within max_file_bytes (%zu)",
	    rectest_size(T0_START "-s.1.jsonl"));
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
	rectest_remove_dir();
}

static void
test_reload_stopped(void)
{
	struct events *e;
	char *big, *log;
	cJSON *evs;
	size_t size;
	int i;

	rectest_fresh_dir();
	big = xmalloc(3001);
	memset(big, 'b', 3000);
	big[3000] = '\0';
	memcpy(big, "<x>", 3);
	memcpy(big + 2996, "</x>", 4);
	cap_begin();
	e = rectest_recorder("\"max_file_bytes\": 65536");
	rectest_emit_open(e, "s.1", T0);
	for (i = 0; i < 30; i++)
		rectest_emit_xml(e, "s.1", NULL, "c2s", big, NULL);
	events_free(e);
	size = rectest_size(T0_START "-s.1.jsonl");
	e = rectest_recorder("\"max_file_bytes\": 65536");
	rectest_emit_xml(e, "s.1", NULL, "c2s", "<presence/>", NULL);
	rectest_emit_plain(
	    e, "session.close", "s.1", NULL, "reason", "client-closed");
	events_free(e);
	log = cap_end();
	is_int(rectest_size(T0_START "-s.1.jsonl"), size,
	    "a truncated recording stays truncated after a reload");
	evs = rectest_lines(T0_START "-s.1.jsonl");
	ok(rectest_line_is(
	       evs, cJSON_GetArraySize(evs) - 1, "record.truncated", NULL),
	    "its last line is still record.truncated");
	cJSON_Delete(evs);
	free(log);
	free(big);
	rectest_remove_dir();
}

static void
test_write_error(void)
{
	struct rlimit old, rl;
	struct events *e;
	char *big, *log, *p, *text;
	int i;

	rectest_fresh_dir();
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
	e = rectest_recorder("");
	rectest_emit_open(e, "s.1", T0);
	rectest_emit_open(e, "s.2", T0);
	for (i = 0; i < 5; i++) {
		rectest_emit_xml(e, "s.1", NULL, "c2s", big, NULL);
		rectest_emit_xml(e, "s.2", NULL, "c2s", big, NULL);
		events_flush(e);
	}
	rectest_emit_plain(
	    e, "session.close", "s.1", NULL, "reason", "client-closed");
	rectest_emit_plain(
	    e, "session.close", "s.2", NULL, "reason", "client-closed");
	events_free(e);
	setrlimit(RLIMIT_FSIZE, &old);
	log = cap_end();
	is_int(count(log, "failed: File too large"), 1,
	    "a write error is logged once");
	ok(rectest_size(T0_START "-s.1.jsonl") <= 10000,
	    "the file stops at the error");
	p = rectest_path(T0_START "-s.1.jsonl");
	text = jsonev_text(p);
	ok(strstr(text, "session.close") == NULL, "nothing after the error");
	free(text);
	free(p);
	free(log);
	free(big);
	rectest_remove_dir();
}

int
main(void)
{
	test_max_files();
	test_max_bytes();
	test_max_file_bytes();
	test_reload_stopped();
	test_write_error();
	return done_testing();
}
