/* SPDX-License-Identifier: ISC */
/*
 * Rendering what a replay found. The readable summary lists what failed
 * first (differs, missing, not seen, unexpected), then what held, then the
 * counts and one verdict line; the JSON report has the same entries and
 * counts with every field, for tools and tests.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "compare.h"
#include "log.h"
#include "report.h"
#include "xmalloc.h"

/* The order entries are printed in: failures first. */
static const enum report_status report_order[] = {
    REPORT_DIFFERS,
    REPORT_MISSING,
    REPORT_NOT_SEEN,
    REPORT_UNEXPECTED,
    REPORT_EXTRA,
    REPORT_MATCHED,
    REPORT_SEEN,
    REPORT_UNSOLICITED,
};

const char *
report_status_str(enum report_status s)
{
	switch (s) {
	case REPORT_MATCHED:
		return "matched";
	case REPORT_DIFFERS:
		return "differs";
	case REPORT_MISSING:
		return "missing";
	case REPORT_UNSOLICITED:
		return "not expected";
	case REPORT_EXTRA:
		return "unexpected extra";
	case REPORT_SEEN:
		return "seen";
	case REPORT_NOT_SEEN:
		return "not seen";
	case REPORT_UNEXPECTED:
		return "unexpected";
	}
	return "?";
}

void
report_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

struct report *
report_new(enum report_mode mode, const struct recording *rec)
{
	struct report *r = xcalloc(1, sizeof(*r));

	r->mode = mode;
	if (rec != NULL) {
		report_set(&r->recording, rec->path);
		report_set(&r->session, rec->session);
		report_set(&r->recorded_jid, rec->jid);
	}
	return r;
}

static void
report_entry_fini(struct report_entry *e)
{
	size_t i;

	free(e->kind);
	free(e->type);
	free(e->id);
	free(e->from);
	free(e->to);
	free(e->why);
	for (i = 0; i < e->ndiffs; i++)
		free(e->diffs[i]);
	free(e->diffs);
	free(e->xml);
}

void
report_free(struct report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		report_entry_fini(&r->e[i]);
	free(r->e);
	for (i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	free(r->notes);
	free(r->recording);
	free(r->session);
	free(r->recorded_jid);
	free(r->jid);
	free(r->peer);
	free(r->mechanism);
	free(r->tls);
	free(r);
}

struct report_entry *
report_add(struct report *r, enum report_status st, const struct xnode *el,
    unsigned long line, const char *why)
{
	struct report_entry *e;

	r->e = xreallocarray(r->e, r->n + 1, sizeof(*r->e));
	e = &r->e[r->n++];
	memset(e, 0, sizeof(*e));
	e->status = st;
	e->line = line;
	report_set(&e->why, why);
	if (el == NULL)
		return e;
	report_set(&e->kind, stanza_kind_of(el) == STANZA_NONZA
	                         ? el->name
	                         : stanza_kind_str(stanza_kind_of(el)));
	report_set(&e->type, xnode_attr(el, "type"));
	report_set(&e->id, xnode_attr(el, "id"));
	report_set(&e->from, xnode_attr(el, "from"));
	report_set(&e->to, xnode_attr(el, "to"));
	return e;
}

void
report_set_xml(struct report_entry *e, const struct xnode *live)
{
	free(e->xml);
	e->xml = compare_brief(live, 300);
}

void
report_note(struct report *r, const char *fmt, ...)
{
	va_list ap;

	r->notes = xreallocarray(r->notes, r->nnotes + 1, sizeof(char *));
	va_start(ap, fmt);
	r->notes[r->nnotes++] = xvasprintf(fmt, ap);
	va_end(ap);
}

size_t
report_count(const struct report *r, enum report_status st)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->e[i].status == st;
	return n;
}

bool
report_ok(const struct report *r)
{
	if (r->mode == REPORT_CLIENT)
		return report_count(r, REPORT_DIFFERS) == 0 &&
		       report_count(r, REPORT_MISSING) == 0;
	return report_count(r, REPORT_NOT_SEEN) == 0 &&
	       report_count(r, REPORT_UNEXPECTED) == 0;
}

/* "iq result id=x from y" */
static void
report_describe(const struct report_entry *e, FILE *f)
{
	fprintf(f, "%s", e->kind ? e->kind : "?");
	if (e->type != NULL)
		fprintf(f, " %s", e->type);
	if (e->id != NULL)
		fprintf(f, " id=%s", e->id);
	if (e->from != NULL)
		fprintf(f, " from %s", e->from);
	if (e->to != NULL && e->status >= REPORT_SEEN)
		fprintf(f, " to %s", e->to);
	if (e->line != 0)
		fprintf(f, " (line %lu)", e->line);
}

static void
report_print_entry(const struct report_entry *e, FILE *f)
{
	size_t i;

	if (e->status == REPORT_UNSOLICITED)
		fprintf(f, "not expected (%s)  ", e->why ? e->why : "?");
	else
		fprintf(f, "%-9s ", report_status_str(e->status));
	report_describe(e, f);
	if (e->status == REPORT_UNSOLICITED)
		fprintf(f, "%s\n", e->came ? ": came anyway" : "");
	else if (e->cause_line != 0)
		fprintf(f, ": %s (line %lu)\n", e->why ? e->why : "?",
		    e->cause_line);
	else
		fprintf(f, "%s%s\n", e->why ? ": " : "", e->why ? e->why : "");
	for (i = 0; i < e->ndiffs; i++)
		fprintf(f, "          %s\n", e->diffs[i]);
	if (e->xml != NULL && e->status != REPORT_MATCHED)
		fprintf(f, "          got: %s\n", e->xml);
}

static void
report_print_counts(const struct report *r, FILE *f)
{
	size_t unsol = report_count(r, REPORT_UNSOLICITED), came = 0, i;

	for (i = 0; i < r->n; i++)
		came += r->e[i].status == REPORT_UNSOLICITED && r->e[i].came;
	if (r->mode == REPORT_CLIENT) {
		fprintf(f,
		    "expected answers: %zu matched, %zu differ, %zu missing; "
		    "not expected: %zu (%zu came anyway); unexpected extra: "
		    "%zu\n",
		    report_count(r, REPORT_MATCHED),
		    report_count(r, REPORT_DIFFERS),
		    report_count(r, REPORT_MISSING), unsol, came,
		    report_count(r, REPORT_EXTRA));
		return;
	}
	fprintf(f,
	    "recorded client stanzas: %zu seen, %zu not seen; unexpected from "
	    "the client: %zu; server stanzas sent: %zu\n",
	    report_count(r, REPORT_SEEN), report_count(r, REPORT_NOT_SEEN),
	    report_count(r, REPORT_UNEXPECTED), r->sent);
}

void
report_print(const struct report *r, FILE *f)
{
	size_t i, k;

	fprintf(f, "recording %s, session %s, recorded as %s\n",
	    r->recording ? r->recording : "?", r->session ? r->session : "?",
	    r->recorded_jid ? r->recorded_jid : "?");
	if (r->mode == REPORT_CLIENT)
		fprintf(f,
		    "replayed as %s against %s (TLS: %s, SASL: %s): "
		    "%zu stanzas sent, %zu recorded client elements "
		    "skipped\n",
		    r->jid ? r->jid : "?", r->peer ? r->peer : "?",
		    r->tls ? r->tls : "?", r->mechanism ? r->mechanism : "?",
		    r->sent, r->skipped);
	else
		fprintf(f, "served to %s as %s (TLS: %s)\n",
		    r->peer ? r->peer : "no client", r->jid ? r->jid : "?",
		    r->tls ? r->tls : "none");
	for (i = 0; i < r->nnotes; i++)
		fprintf(f, "note: %s\n", r->notes[i]);
	fputc('\n', f);
	for (k = 0; k < sizeof(report_order) / sizeof(report_order[0]); k++)
		for (i = 0; i < r->n; i++)
			if (r->e[i].status == report_order[k])
				report_print_entry(&r->e[i], f);
	fputc('\n', f);
	report_print_counts(r, f);
	if (report_ok(r))
		fprintf(f, "OK: %s\n",
		    r->mode == REPORT_CLIENT
		        ? "every expected answer came and matched"
		        : "every recorded client stanza came, nothing "
		          "unexpected");
	else if (r->mode == REPORT_CLIENT)
		fprintf(f, "FAIL: %zu differ, %zu missing\n",
		    report_count(r, REPORT_DIFFERS),
		    report_count(r, REPORT_MISSING));
	else
		fprintf(f, "FAIL: %zu not seen, %zu unexpected\n",
		    report_count(r, REPORT_NOT_SEEN),
		    report_count(r, REPORT_UNEXPECTED));
}

static void
report_json_str(cJSON *o, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *
report_json_entry(const struct report_entry *e)
{
	cJSON *o = cJSON_CreateObject(), *d;
	size_t i;

	cJSON_AddStringToObject(o, "status", report_status_str(e->status));
	if (e->line != 0)
		cJSON_AddNumberToObject(o, "line", (double)e->line);
	else
		cJSON_AddNullToObject(o, "line");
	report_json_str(o, "kind", e->kind);
	report_json_str(o, "type", e->type);
	report_json_str(o, "id", e->id);
	report_json_str(o, "from", e->from);
	report_json_str(o, "to", e->to);
	report_json_str(o, "why", e->why);
	if (e->cause_line != 0)
		cJSON_AddNumberToObject(o, "cause_line", (double)e->cause_line);
	if (e->status == REPORT_UNSOLICITED)
		cJSON_AddBoolToObject(o, "came", e->came);
	if (e->status == REPORT_DIFFERS) {
		d = cJSON_AddArrayToObject(o, "diff");
		for (i = 0; i < e->ndiffs; i++)
			cJSON_AddItemToArray(
			    d, cJSON_CreateString(e->diffs[i]));
	}
	if (e->xml != NULL)
		cJSON_AddStringToObject(o, "got", e->xml);
	return o;
}

static cJSON *
report_json(const struct report *r)
{
	static const enum report_status all[] = {REPORT_MATCHED, REPORT_DIFFERS,
	    REPORT_MISSING, REPORT_UNSOLICITED, REPORT_EXTRA, REPORT_SEEN,
	    REPORT_NOT_SEEN, REPORT_UNEXPECTED};
	cJSON *o = cJSON_CreateObject(), *arr, *counts, *notes;
	size_t i;

	cJSON_AddStringToObject(
	    o, "mode", r->mode == REPORT_CLIENT ? "client" : "server");
	report_json_str(o, "recording", r->recording);
	report_json_str(o, "session", r->session);
	report_json_str(o, "recorded_jid", r->recorded_jid);
	report_json_str(o, "jid", r->jid);
	report_json_str(
	    o, r->mode == REPORT_CLIENT ? "server" : "client", r->peer);
	report_json_str(o, "tls", r->tls);
	if (r->mode == REPORT_CLIENT) {
		report_json_str(o, "mechanism", r->mechanism);
		cJSON_AddNumberToObject(o, "skipped", (double)r->skipped);
	}
	cJSON_AddNumberToObject(o, "sent", (double)r->sent);
	arr = cJSON_AddArrayToObject(o, "entries");
	for (i = 0; i < r->n; i++)
		cJSON_AddItemToArray(arr, report_json_entry(&r->e[i]));
	counts = cJSON_AddObjectToObject(o, "counts");
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if ((r->mode == REPORT_CLIENT) == (all[i] < REPORT_SEEN))
			cJSON_AddNumberToObject(counts,
			    report_status_str(all[i]),
			    (double)report_count(r, all[i]));
	notes = cJSON_AddArrayToObject(o, "notes");
	for (i = 0; i < r->nnotes; i++)
		cJSON_AddItemToArray(notes, cJSON_CreateString(r->notes[i]));
	cJSON_AddBoolToObject(o, "ok", report_ok(r));
	return o;
}

int
report_write_json(const struct report *r, const char *path, char **err)
{
	cJSON *o = report_json(r);
	char *text = cJSON_Print(o);
	FILE *f;
	int rc = 0;

	cJSON_Delete(o);
	if (text == NULL)
		fatalx("report: out of memory");
	f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	if (f == NULL) {
		*err = xasprintf("--json %s: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	if (fprintf(f, "%s\n", text) < 0 || fflush(f) != 0) {
		*err = xasprintf("--json %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (f != stdout && fclose(f) != 0 && rc == 0) {
		*err = xasprintf("--json %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(text);
	return rc;
}
