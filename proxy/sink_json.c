/* SPDX-License-Identifier: ISC */
/*
 * The JSON-lines sink: one compact object per line, to a file (appended,
 * created 0600, reopened on SIGHUP) or to stdout. It adds the element's
 * "xml" field, with secrets replaced unless redaction was switched off.
 * Writes go through stdio's buffer and are flushed once per event-loop turn
 * (events_flush_soon), not per event. The xml fields are built here for
 * the record sink too (sink_xml_add).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "sink.h"
#include "xmalloc.h"

struct sink_json {
	struct sink base;
	char *path; /* owned; NULL for stdout */
	FILE *fp;   /* owned unless stdout */
};

static FILE *
sink_json_open(const char *path, char **err)
{
	FILE *fp;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1 || (fp = fdopen(fd, "a")) == NULL) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	return fp;
}

/* One field: the redacted text when wanted and there is one, else the
 * bytes, copied into *hold for their NUL. */
static void
sink_xml_field(cJSON *ev, const char *key, const char *bytes, size_t len,
    const char *redacted, bool redact, char **hold)
{
	const char *text = redacted;

	if (!redact || redacted == NULL)
		text = *hold = xstrndup(bytes, len);
	cJSON_AddItemToObject(ev, key, cJSON_CreateStringReference(text));
}

void
sink_xml_add(cJSON *ev, const struct event_xml *x, bool redact,
    char *hold[2])
{
	hold[0] = hold[1] = NULL;
	/* The fields reference the text instead of copying it again. */
	if (x != NULL && x->xml != NULL)
		sink_xml_field(ev, "xml", x->xml, x->len, x->redacted, redact,
		    &hold[0]);
	if (x != NULL && x->original != NULL)
		sink_xml_field(ev, "original_xml", x->original,
		    x->original_len, x->original_redacted, redact, &hold[1]);
}

void
sink_xml_remove(cJSON *ev, char *hold[2])
{
	cJSON_DeleteItemFromObject(ev, "xml");
	cJSON_DeleteItemFromObject(ev, "original_xml");
	free(hold[0]);
	free(hold[1]);
}

static void
sink_json_emit(struct sink *s, cJSON *ev, const struct event_xml *x)
{
	struct sink_json *j = (struct sink_json *)s;
	char *line, *hold[2];

	sink_xml_add(ev, x, s->redact, hold);
	line = cJSON_PrintUnformatted(ev);
	if (line == NULL)
		fatalx("cJSON_PrintUnformatted failed");
	fputs(line, j->fp);
	fputc('\n', j->fp);
	free(line);
	sink_xml_remove(ev, hold);
}

static int
sink_json_reopen(struct sink *s)
{
	struct sink_json *j = (struct sink_json *)s;
	char *err = NULL;
	FILE *fp;

	if (j->path == NULL)
		return 0;
	if ((fp = sink_json_open(j->path, &err)) == NULL) {
		log_warnx("events reopen failed: %s", err);
		free(err);
		return -1;
	}
	fclose(j->fp);
	j->fp = fp;
	return 0;
}

static void
sink_json_flush(struct sink *s)
{
	fflush(((struct sink_json *)s)->fp);
}

static void
sink_json_free(struct sink *s)
{
	struct sink_json *j = (struct sink_json *)s;

	if (j->path != NULL)
		fclose(j->fp);
	else
		fflush(j->fp);
	free(j->path);
	free(j);
}

static const struct sink_ops sink_json_ops = {
	.emit = sink_json_emit,
	.reopen = sink_json_reopen,
	.flush = sink_json_flush,
	.free = sink_json_free,
};

struct sink *
sink_json_new(const char *path, bool redact, char **err)
{
	struct sink_json *j;
	FILE *fp = stdout;

	if (path != NULL && strcmp(path, "-") != 0 &&
	    (fp = sink_json_open(path, err)) == NULL)
		return NULL;
	j = xcalloc(1, sizeof(*j));
	j->base.ops = &sink_json_ops;
	j->base.redact = redact;
	j->fp = fp;
	j->path = fp != stdout ? xstrdup(path) : NULL;
	return &j->base;
}
