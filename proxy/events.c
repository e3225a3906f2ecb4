/* SPDX-License-Identifier: ISC */
/*
 * The event dispatcher: stamps events and hands them to the configured sinks
 * in order. Sinks are built from config (logs[]) plus the --trace console.
 */
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "events.h"
#include "xmalloc.h"

struct events {
	struct sink **sinks; /* owned array of owned sinks */
	size_t nsinks;
	struct event *flush_ev; /* owned; NULL without a base */
	bool flush_pending;
};

static void
events_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct events *ev = arg;

	ev->flush_pending = false;
	events_flush(ev);
}

static void
events_add(struct events *ev, struct sink *s)
{
	ev->sinks = xreallocarray(ev->sinks, ev->nsinks + 1, sizeof(*ev->sinks));
	ev->sinks[ev->nsinks++] = s;
}

struct events *
events_new(const struct config *cfg, bool trace, struct event_base *base,
    char **err)
{
	struct events *ev = xcalloc(1, sizeof(*ev));
	struct sink *s;
	size_t i;

	for (i = 0; i < cfg->nlogs; i++) {
		const struct config_log *l = &cfg->logs[i];

		switch (l->type) {
		case CONFIG_LOG_JSON:
			s = sink_json_new(l->path, l->redact, err);
			break;
		case CONFIG_LOG_CONSOLE:
			s = sink_trace_new(stdout, isatty(STDOUT_FILENO));
			break;
		case CONFIG_LOG_RECORD:
			s = sink_record_new(l, i, err);
			break;
		default:
			s = NULL;
			*err = xasprintf("logs[%zu]: unsupported type", i);
			break;
		}
		if (s == NULL) {
			events_free(ev);
			return NULL;
		}
		events_add(ev, s);
	}
	if (trace)
		events_add(ev, sink_trace_new(stdout, isatty(STDOUT_FILENO)));
	if (base != NULL)
		ev->flush_ev = event_new(base, -1, 0, events_flush_cb, ev);
	return ev;
}

void
events_free(struct events *ev)
{
	size_t i;

	if (ev == NULL)
		return;
	if (ev->flush_ev != NULL)
		event_free(ev->flush_ev);
	for (i = 0; i < ev->nsinks; i++)
		ev->sinks[i]->ops->free(ev->sinks[i]);
	free(ev->sinks);
	free(ev);
}

void
events_reopen(struct events *ev)
{
	size_t i;

	for (i = 0; i < ev->nsinks; i++)
		if (ev->sinks[i]->ops->reopen != NULL)
			(void)ev->sinks[i]->ops->reopen(ev->sinks[i]);
}

void
events_flush(struct events *ev)
{
	size_t i;

	for (i = 0; i < ev->nsinks; i++)
		if (ev->sinks[i]->ops->flush != NULL)
			ev->sinks[i]->ops->flush(ev->sinks[i]);
}

void
events_flush_soon(struct events *ev)
{
	if (ev == NULL || ev->flush_pending)
		return;
	if (ev->flush_ev == NULL) {
		events_flush(ev);
		return;
	}
	ev->flush_pending = true;
	event_active(ev->flush_ev, EV_TIMEOUT, 0);
}

bool
events_active(const struct events *ev)
{
	return ev != NULL && ev->nsinks > 0;
}

cJSON *
events_begin(const char *event, const char *session_id)
{
	/* The date part changes once a second; events come far more often. */
	static time_t date_sec = (time_t)-1;
	static char date[24];
	cJSON *o = cJSON_CreateObject();
	struct timeval tv;
	struct tm tm;
	char ts[40];

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != date_sec) {
		gmtime_r(&tv.tv_sec, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		date_sec = tv.tv_sec;
	}
	snprintf(ts, sizeof(ts), "%s.%06ldZ", date, (long)tv.tv_usec);
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddStringToObject(o, "event", event);
	if (session_id != NULL)
		cJSON_AddStringToObject(o, "session", session_id);
	return o;
}

void
events_emit(struct events *ev, cJSON *o, const struct event_xml *x)
{
	size_t i;

	if (ev != NULL)
		for (i = 0; i < ev->nsinks; i++)
			ev->sinks[i]->ops->emit(ev->sinks[i], o, x);
	cJSON_Delete(o);
}
