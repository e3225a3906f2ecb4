/* SPDX-License-Identifier: ISC */
/*
 * The recording tests' fixture: makes and removes the directory, builds the
 * recorder from a JSON config, feeds it events with chosen timestamps, and
 * reads the recordings back through jsonev.c. No TAP output: failures to
 * set up exit the test program with status 99 (a hard error to the
 * harness).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "events.h"
#include "xmalloc.h"

#include "jsonev.h"
#include "rectest.h"

static char dir[64];

void
rectest_fresh_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/t-record-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
}

const char *
rectest_dir(void)
{
	return dir;
}

void
rectest_remove_dir(void)
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
struct events *
rectest_recorder(const char *extra)
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
cJSON *
rectest_at(cJSON *ev, const char *ts)
{
	if (ts != NULL)
		cJSON_ReplaceItemInObject(ev, "ts", cJSON_CreateString(ts));
	return ev;
}

void
rectest_emit_open(struct events *e, const char *id, const char *ts)
{
	cJSON *ev = rectest_at(events_begin("session.open", id), ts);

	cJSON_AddStringToObject(ev, "client", "127.0.0.1:4000");
	events_emit(e, ev, NULL);
}

/* A stanza event of dir for xml; redacted, when not NULL, is its
 * redacted form. */
void
rectest_emit_xml(struct events *e, const char *id, const char *ts,
    const char *dirn, const char *xml, const char *redacted)
{
	struct event_xml x = {
	    .xml = xml, .len = strlen(xml), .redacted = redacted};
	cJSON *ev = rectest_at(events_begin("stanza", id), ts);

	cJSON_AddStringToObject(ev, "dir", dirn);
	events_emit(e, ev, &x);
}

void
rectest_emit_plain(struct events *e, const char *name, const char *id,
    const char *ts, const char *key, const char *value)
{
	cJSON *ev = rectest_at(events_begin(name, id), ts);

	if (key != NULL)
		cJSON_AddStringToObject(ev, key, value);
	events_emit(e, ev, NULL);
}

/* The recordings in dir, sorted, as one "a|b|c" string (xmalloc'd). */
char *
rectest_listing(void)
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

char *
rectest_path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* The lines of one recording, parsed. */
cJSON *
rectest_lines(const char *name)
{
	char *p = rectest_path(name);
	cJSON *evs = jsonev_load(p);

	free(p);
	return evs;
}

size_t
rectest_size(const char *name)
{
	char *p = rectest_path(name);
	struct stat st;

	st.st_size = -1;
	(void)stat(p, &st);
	free(p);
	return (size_t)st.st_size;
}

/* Whether the i-th line is event name (and dir, when not NULL). */
bool
rectest_line_is(const cJSON *evs, int i, const char *name, const char *dirn)
{
	const cJSON *ev = cJSON_GetArrayItem(evs, i);

	return ev != NULL && jsonev_eq(ev, "event", name) &&
	       (dirn == NULL || jsonev_eq(ev, "dir", dirn));
}
