/* SPDX-License-Identifier: ISC */
/*
 * The JSON event log read back for checks: one event per line, as the json
 * sink writes it. Only tap.h's diag() is used here, never ok(): the TAP
 * counter lives in each test program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#include "../tap.h"
#include "jsonev.h"

char *
jsonev_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	buf_init(&b);
	if (fp != NULL) {
		while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			buf_add(&b, chunk, n);
		fclose(fp);
	}
	return buf_release(&b);
}

cJSON *
jsonev_load(const char *path)
{
	cJSON *all = cJSON_CreateArray(), *ev;
	char *text = jsonev_text(path), *line, *nl, *next;

	for (line = text; *line != '\0'; line = next) {
		nl = strchr(line, '\n');
		next = nl != NULL ? nl + 1 : line + strlen(line);
		if (nl != NULL)
			*nl = '\0';
		if ((ev = cJSON_Parse(line)) == NULL)
			diag("unparsable event line: %s", line);
		else
			cJSON_AddItemToArray(all, ev);
	}
	free(text);
	return all;
}

const char *
jsonev_str(const cJSON *ev, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool
jsonev_null(const cJSON *ev, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ev, key));
}

bool
jsonev_true(const cJSON *ev, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, key));
}

bool
jsonev_false(const cJSON *ev, const char *key)
{
	return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ev, key));
}

bool
jsonev_eq(const cJSON *ev, const char *key, const char *want)
{
	const char *v = jsonev_str(ev, key);

	return v != NULL && strcmp(v, want) == 0;
}

double
jsonev_bytes(const cJSON *close, const char *dir)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(close, "bytes");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, dir);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

int
jsonev_find(const cJSON *evs, int from, const char *name, const char *dir,
    const char *kind)
{
	int i, n = cJSON_GetArraySize(evs);
	const cJSON *ev;

	for (i = from < 0 ? 0 : from; i < n; i++) {
		ev = cJSON_GetArrayItem(evs, i);
		if (jsonev_eq(ev, "event", name) &&
		    (dir == NULL || jsonev_eq(ev, "dir", dir)) &&
		    (kind == NULL || jsonev_eq(ev, "kind", kind)))
			return i;
	}
	return -1;
}

int
jsonev_count(
    const cJSON *evs, const char *name, const char *dir, const char *kind)
{
	int i = -1, n = 0;

	while ((i = jsonev_find(evs, i + 1, name, dir, kind)) != -1)
		n++;
	return n;
}

const cJSON *
jsonev_one(const cJSON *evs, const char *name)
{
	int n = jsonev_count(evs, name, NULL, NULL);

	if (n != 1) {
		diag("%d '%s' events, want 1", n, name);
		return NULL;
	}
	return cJSON_GetArrayItem(evs, jsonev_find(evs, 0, name, NULL, NULL));
}

void
jsonev_dump(const cJSON *evs)
{
	int i, n = cJSON_GetArraySize(evs);
	char *s;

	for (i = 0; i < n; i++) {
		s = cJSON_PrintUnformatted(cJSON_GetArrayItem(evs, i));
		diag("event: %s", s);
		free(s);
	}
}

bool
jsonev_lacks(const cJSON *evs, const char *s)
{
	char *all = cJSON_PrintUnformatted(evs);
	bool lacks = strstr(all, s) == NULL;

	free(all);
	return lacks;
}

bool
jsonev_closed_for(const cJSON *evs, const char *reason)
{
	const cJSON *close = jsonev_one(evs, "session.close");

	if (close != NULL && jsonev_eq(close, "reason", reason))
		return true;
	jsonev_dump(evs);
	return false;
}

bool
jsonev_close_detail_has(const cJSON *evs, const char *s)
{
	const cJSON *close = jsonev_one(evs, "session.close");
	const char *detail = close ? jsonev_str(close, "detail") : NULL;

	if (detail != NULL && strstr(detail, s) != NULL)
		return true;
	diag("detail: %s", detail ? detail : "(null)");
	return false;
}
