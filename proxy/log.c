/* SPDX-License-Identifier: ISC */
/*
 * Operator log to stderr: "TIME LEVEL message" where message is key=value
 * pairs. Levels and trace categories are set at run time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"

static enum log_level log_level = LOG_LEVEL_INFO;
static unsigned log_trace_mask;

void
log_init(enum log_level level, unsigned trace)
{
	log_level = level;
	log_trace_mask = trace;
}

int
log_trace_on(unsigned category)
{
	return (log_trace_mask & category) != 0;
}

static void __attribute__((format(printf, 2, 0)))
log_vwrite(const char *level, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s ", ts, (long)(tv.tv_usec / 1000), level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define LOG_AT(lvl, name)                                                      \
	do {                                                                   \
		va_list ap;                                                    \
		if (log_level < (lvl))                                         \
			return;                                                \
		va_start(ap, fmt);                                             \
		log_vwrite(name, fmt, ap);                                     \
		va_end(ap);                                                    \
	} while (0)

void
log_warnx(const char *fmt, ...)
{
	LOG_AT(LOG_LEVEL_WARN, "warn");
}

void
log_info(const char *fmt, ...)
{
	LOG_AT(LOG_LEVEL_INFO, "info");
}

void
log_debug(const char *fmt, ...)
{
	LOG_AT(LOG_LEVEL_DEBUG, "debug");
}

void
log_trace(unsigned category, const char *fmt, ...)
{
	va_list ap;

	if (!log_trace_on(category))
		return;
	va_start(ap, fmt);
	log_vwrite("trace", fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap);
	va_end(ap);
	abort();
}

static void
log_libevent_cb(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent=\"%s\"", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent=\"%s\"", msg);
		break;
	default:
		log_warnx("libevent=\"%s\"", msg);
		break;
	}
}

void
log_libevent_setup(void)
{
	event_set_log_callback(log_libevent_cb);
}
