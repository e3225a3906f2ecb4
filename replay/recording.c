/* SPDX-License-Identifier: ISC */
/*
 * Reading recordings. One pass over the file: each line is parsed with
 * cJSON, its envelope (event, session, ts or offset_s) checked, and the
 * events replay uses are kept per session, their xml parsed with the
 * project's stream parser inside a synthetic client stream header, so an
 * element is read exactly as xmppgate read it on the wire. Every session's
 * lines are checked, not only the chosen one's: a broken file is refused
 * whole. Offsets come from offset_s when a line has it (record logger
 * files), else from the difference of ts to the session's first event.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "recording.h"
#include "xmalloc.h"
#include "xmlstream.h"

#define RECORDING_HEADER                                                       \
	"<stream:stream xmlns='jabber:client' "                                \
	"xmlns:stream='http://etherx.jabber.org/streams'>\n"
#define RECORDING_FOOTER "</stream:stream>"

/* The events of one session while the file is read. */
struct recording_sess {
	char *id;
	struct recording_event *ev;
	size_t nev, cap;
	double base; /* ts of its first event with one */
	bool have_base;
};

struct recording_reader {
	const char *path;
	unsigned long line;
	struct recording_sess *sess;
	size_t nsess;
	char *err;
};

/* What parsing one element collects. */
struct recording_parse {
	struct xnode *el;
	int count;
};

static int
recording_on_element(void *arg, struct xnode *el, const char *bytes, size_t len)
{
	struct recording_parse *p = arg;

	if (p->count++ == 0)
		p->el = el;
	else
		xnode_free(el);
	return XMLSTREAM_CONTINUE;
}

/*
 * The parser's complaint with its position in the element rather than in
 * the synthetic stream around it (the header is line 1).
 */
static char *
recording_xml_error(const char *detail)
{
	const char *at = strstr(detail, " at line ");
	unsigned long line, col;

	if (at != NULL &&
	    sscanf(at, " at line %lu column %lu", &line, &col) == 2 && line > 1)
		return xasprintf("not well-formed XML (%.*s at line %lu column "
		                 "%lu of the element)",
		    (int)(at - detail), detail, line - 1, col);
	return xasprintf("not well-formed XML (%s)", detail);
}

struct xnode *
recording_parse_element(const char *xml, size_t len, char **err)
{
	static const struct xmlstream_cbs cbs = {
	    .on_element = recording_on_element,
	};
	struct recording_parse p = {NULL, 0};
	struct xmlstream *xs;
	size_t consumed;
	int rc;

	xs = xmlstream_new(&cbs, &p, RECORDING_MAX_LINE);
	rc = xmlstream_feed(
	    xs, RECORDING_HEADER, strlen(RECORDING_HEADER), &consumed);
	if (rc == 0)
		rc = xmlstream_feed(xs, xml, len, &consumed);
	if (rc == 0)
		rc = xmlstream_feed(
		    xs, RECORDING_FOOTER, strlen(RECORDING_FOOTER), &consumed);
	if (rc == -1) {
		*err = recording_xml_error(xmlstream_error_detail(xs));
	} else if (p.count != 1) {
		*err = xasprintf(
		    "%d XML elements where one was expected", p.count);
		rc = -1;
	}
	xmlstream_free(xs);
	if (rc == -1) {
		xnode_free(p.el);
		return NULL;
	}
	return p.el;
}

const struct xnode *
recording_sent(const struct recording_event *e)
{
	return e->orig != NULL ? e->orig : e->el;
}

const struct xnode *
recording_server_sent(const struct recording_event *e)
{
	return e->orig != NULL ? e->orig : e->el;
}

const char *
recording_type(const struct xnode *el)
{
	const char *t = xnode_attr(el, "type");

	if (t != NULL)
		return t;
	switch (stanza_kind_of(el)) {
	case STANZA_MESSAGE:
		return "normal";
	case STANZA_PRESENCE:
		return "available";
	default:
		return "";
	}
}

const struct xnode *
recording_payload(const struct xnode *el)
{
	const struct xnode *c;

	for (c = el->children; c != NULL; c = c->next)
		if (c->type == XNODE_ELEMENT)
			return c;
	return NULL;
}

const char *
recording_dir_str(enum recording_dir d)
{
	switch (d) {
	case RECORDING_C2S:
		return "c2s";
	case RECORDING_S2C:
		return "s2c";
	case RECORDING_NODIR:
		break;
	}
	return "-";
}

/* Reads n decimal digits at *p into *out; advances *p. */
static int
recording_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
recording_expect(const char **p, const char *chars)
{
	if (**p == '\0' || strchr(chars, **p) == NULL)
		return -1;
	(*p)++;
	return 0;
}

int
recording_parse_ts(const char *s, double *out)
{
	const char *p = s;
	struct tm tm;
	int y, mo, d, h, mi, se, oh, om, sign;
	double frac = 0, scale = 0.1;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (recording_digits(&p, 4, &y) == -1 || recording_expect(&p, "-") ||
	    recording_digits(&p, 2, &mo) == -1 || recording_expect(&p, "-") ||
	    recording_digits(&p, 2, &d) == -1 || recording_expect(&p, "Tt ") ||
	    recording_digits(&p, 2, &h) == -1 || recording_expect(&p, ":") ||
	    recording_digits(&p, 2, &mi) == -1 || recording_expect(&p, ":") ||
	    recording_digits(&p, 2, &se) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (recording_digits(&p, 2, &oh) == -1 ||
		    recording_expect(&p, ":") ||
		    recording_digits(&p, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
		t -= sign * (oh * 3600 + om * 60);
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*out = (double)t + frac;
	return 0;
}

static int __attribute__((format(printf, 2, 3)))
recording_fail(struct recording_reader *r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	free(r->err);
	r->err = xasprintf("%s:%lu: %s", r->path, r->line, msg);
	free(msg);
	return -1;
}

static struct recording_sess *
recording_sess_get(struct recording_reader *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->nsess; i++)
		if (strcmp(r->sess[i].id, id) == 0)
			return &r->sess[i];
	r->sess = xreallocarray(r->sess, r->nsess + 1, sizeof(*r->sess));
	memset(&r->sess[r->nsess], 0, sizeof(r->sess[0]));
	r->sess[r->nsess].id = xstrdup(id);
	return &r->sess[r->nsess++];
}

static void
recording_event_fini(struct recording_event *e)
{
	xnode_free(e->el);
	xnode_free(e->orig);
	free(e->verdict);
	free(e->text);
}

/* A string member, NULL when absent or JSON null; -1 when another type. */
static int
recording_str(struct recording_reader *r, const cJSON *o, const char *key,
    bool required, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (required)
			return recording_fail(r, "no \"%s\"", key);
		return 0;
	}
	if (!cJSON_IsString(v))
		return recording_fail(r, "\"%s\" is not a string", key);
	*out = v->valuestring;
	return 0;
}

/* Parses the xml member key into *out (NULL when absent and optional). */
static int
recording_xml(struct recording_reader *r, const cJSON *o, const char *key,
    bool required, struct xnode **out)
{
	const char *s;
	char *err = NULL;

	*out = NULL;
	if (recording_str(r, o, key, required, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	if ((*out = recording_parse_element(s, strlen(s), &err)) == NULL) {
		recording_fail(
		    r, "\"%s\" is not one XML element: %s", key, err);
		free(err);
		return -1;
	}
	return 0;
}

static int
recording_dir(struct recording_reader *r, const cJSON *o, bool required,
    enum recording_dir *out)
{
	const char *d;

	*out = RECORDING_NODIR;
	if (recording_str(r, o, "dir", required, &d) == -1)
		return -1;
	if (d == NULL)
		return 0;
	if (strcmp(d, "c2s") == 0)
		*out = RECORDING_C2S;
	else if (strcmp(d, "s2c") == 0)
		*out = RECORDING_S2C;
	else
		return recording_fail(
		    r, "\"dir\" is \"%s\", not c2s or s2c", d);
	return 0;
}

/* Fills e from an element event ("stanza"). */
static int
recording_element(
    struct recording_reader *r, const cJSON *o, struct recording_event *e)
{
	const char *by, *verdict;

	if (recording_dir(r, o, true, &e->dir) == -1 ||
	    recording_xml(r, o, "xml", true, &e->el) == -1 ||
	    recording_xml(r, o, "original_xml", false, &e->orig) == -1 ||
	    recording_str(r, o, "by", false, &by) == -1 ||
	    recording_str(r, o, "verdict", false, &verdict) == -1)
		return -1;
	e->skind = stanza_kind_of(e->el);
	e->by_proxy = by != NULL && strcmp(by, "proxy") == 0;
	e->verdict = verdict != NULL ? xstrdup(verdict) : NULL;
	return 0;
}

/* Sets the event's kind; 0 for an event replay does not use. */
static int
recording_kind(const char *name, enum recording_kind *k)
{
	static const struct {
		const char *name;
		enum recording_kind kind;
	} kinds[] = {
	    {"session.open", RECORDING_SESSION_OPEN},
	    {"stream.open", RECORDING_STREAM_OPEN},
	    {"stanza", RECORDING_ELEMENT},
	    {"stream.close", RECORDING_STREAM_CLOSE},
	    {"auth", RECORDING_AUTH},
	    {"bind", RECORDING_BIND},
	    {"session.close", RECORDING_SESSION_CLOSE},
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0) {
			*k = kinds[i].kind;
			return 1;
		}
	return 0;
}

/* Checks and keeps one parsed line. */
static int
recording_line(struct recording_reader *r, const cJSON *o)
{
	struct recording_event e;
	struct recording_sess *s;
	const char *event, *session, *ts, *str;
	const cJSON *off;
	double t = 0;
	int rc = 0;

	if (!cJSON_IsObject(o))
		return recording_fail(r, "not a JSON object");
	if (recording_str(r, o, "event", true, &event) == -1 ||
	    recording_str(r, o, "session", true, &session) == -1 ||
	    recording_str(r, o, "ts", false, &ts) == -1)
		return -1;
	if (*session == '\0')
		return recording_fail(r, "\"session\" is empty");
	off = cJSON_GetObjectItemCaseSensitive(o, "offset_s");
	if (off != NULL && !cJSON_IsNumber(off))
		return recording_fail(r, "\"offset_s\" is not a number");
	if (ts == NULL && off == NULL)
		return recording_fail(r, "no \"ts\"");
	if (ts != NULL && recording_parse_ts(ts, &t) == -1)
		return recording_fail(
		    r, "\"ts\" is not an RFC 3339 time: %s", ts);
	s = recording_sess_get(r, session);
	if (ts != NULL && !s->have_base) {
		s->base = t;
		s->have_base = true;
	}
	memset(&e, 0, sizeof(e));
	e.line = r->line;
	e.offset = off != NULL ? off->valuedouble : t - s->base;
	if (!recording_kind(event, &e.kind))
		return 0; /* tls, stream.error...: checked, not needed */
	switch (e.kind) {
	case RECORDING_ELEMENT:
		rc = recording_element(r, o, &e);
		break;
	case RECORDING_STREAM_OPEN:
		rc = recording_dir(r, o, true, &e.dir);
		if (rc == 0 && e.dir == RECORDING_C2S &&
		    (rc = recording_str(r, o, "to", false, &str)) == 0 &&
		    str != NULL)
			e.text = xstrdup(str);
		break;
	case RECORDING_STREAM_CLOSE:
		rc = recording_dir(r, o, false, &e.dir);
		break;
	case RECORDING_BIND:
		if ((rc = recording_str(r, o, "jid", true, &str)) == 0)
			e.text = xstrdup(str);
		break;
	case RECORDING_AUTH:
		if ((rc = recording_str(r, o, "mechanism", false, &str)) == 0 &&
		    str != NULL)
			e.text = xstrdup(str);
		if (rc == 0 &&
		    (rc = recording_str(r, o, "outcome", false, &str)) == 0)
			e.failed = str != NULL && strcmp(str, "success") != 0;
		break;
	default:
		break;
	}
	if (rc == -1) {
		recording_event_fini(&e);
		return -1;
	}
	if (s->nev == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->ev = xreallocarray(s->ev, s->cap, sizeof(*s->ev));
	}
	s->ev[s->nev++] = e;
	return 0;
}

static bool
recording_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* Reads every line of f. */
static int
recording_read(struct recording_reader *r, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	cJSON *o;
	int rc = 0;

	while ((n = getline(&line, &cap, f)) != -1) {
		r->line++;
		if (recording_blank(line, (size_t)n))
			continue;
		if ((size_t)n > RECORDING_MAX_LINE) {
			rc = recording_fail(
			    r, "line longer than %u bytes", RECORDING_MAX_LINE);
			break;
		}
		if ((o = cJSON_ParseWithLength(line, (size_t)n)) == NULL) {
			rc = recording_fail(r, "not valid JSON%s",
			    line[n - 1] != '\n' ? " (the line is cut short)"
			                        : "");
			break;
		}
		rc = recording_line(r, o);
		cJSON_Delete(o);
		if (rc == -1)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = recording_fail(r, "read error: %s", strerror(errno));
	free(line);
	return rc;
}

/* The session ids of the file, for an error: "a (12 events), b (9)". */
static char *
recording_ids(const struct recording_reader *r)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < r->nsess; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", r->sess[i].id);
	return buf_release(&b);
}

/* Chooses the session; moves its events into rec. */
static int
recording_choose(
    struct recording_reader *r, const char *want, struct recording *rec)
{
	struct recording_sess *s = NULL;
	char *ids;
	size_t i;

	if (r->nsess == 0) {
		r->err = xasprintf("%s: no events", r->path);
		return -1;
	}
	for (i = 0; want != NULL && i < r->nsess; i++)
		if (strcmp(r->sess[i].id, want) == 0)
			s = &r->sess[i];
	if (want == NULL && r->nsess == 1)
		s = &r->sess[0];
	if (s == NULL) {
		ids = recording_ids(r);
		if (want != NULL)
			r->err = xasprintf("%s: no session %s; sessions: %s",
			    r->path, want, ids);
		else
			r->err = xasprintf("%s: %zu sessions, choose one with "
			                   "--session: %s",
			    r->path, r->nsess, ids);
		free(ids);
		return -1;
	}
	rec->session = s->id;
	rec->ev = s->ev;
	rec->nev = s->nev;
	s->id = NULL;
	s->ev = NULL;
	s->nev = 0;
	return 0;
}

static void
recording_reader_fini(struct recording_reader *r)
{
	size_t i, j;

	for (i = 0; i < r->nsess; i++) {
		for (j = 0; j < r->sess[i].nev; j++)
			recording_event_fini(&r->sess[i].ev[j]);
		free(r->sess[i].ev);
		free(r->sess[i].id);
	}
	free(r->sess);
}

/* The bound JID and the domain, from the kept events. */
static void
recording_learn(struct recording *rec)
{
	size_t i;

	rec->bind = rec->nev;
	for (i = 0; i < rec->nev; i++) {
		struct recording_event *e = &rec->ev[i];

		if (e->kind == RECORDING_BIND && rec->jid == NULL) {
			rec->jid = e->text;
			rec->bind = i;
		}
		if (e->kind == RECORDING_STREAM_OPEN && e->text != NULL &&
		    rec->domain == NULL)
			rec->domain = xstrdup(e->text);
	}
}

struct recording *
recording_load(const char *path, const char *session, char **err)
{
	struct recording_reader r;
	struct recording *rec;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	memset(&r, 0, sizeof(r));
	r.path = path;
	rec = xcalloc(1, sizeof(*rec));
	rec->path = xstrdup(path);
	if (recording_read(&r, f) == -1 ||
	    recording_choose(&r, session, rec) == -1) {
		*err = r.err;
		fclose(f);
		recording_reader_fini(&r);
		recording_free(rec);
		return NULL;
	}
	fclose(f);
	rec->nlines = r.line;
	recording_reader_fini(&r);
	recording_learn(rec);
	return rec;
}

void
recording_free(struct recording *rec)
{
	size_t i;

	if (rec == NULL)
		return;
	for (i = 0; i < rec->nev; i++)
		recording_event_fini(&rec->ev[i]);
	free(rec->ev);
	free(rec->session);
	free(rec->domain);
	free(rec->path);
	free(rec);
}
