/* SPDX-License-Identifier: ISC */
/*
 * Operator log: "TIME LEVEL message" on stderr, where message is key=value
 * pairs; or the message alone through syslog(3), which adds its own time,
 * host, ident and PID, with the priority of the level. Levels and trace
 * categories are set at run time. It buffers nothing and never blocks on
 * anything but the write itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#ifndef _PATH_LOG
#define _PATH_LOG "/dev/log"
#endif

static enum log_level log_level = LOG_LEVEL_INFO;
static unsigned log_trace_mask;
static bool log_syslog;

static const struct {
	const char *name;
	int facility;
} log_facilities[] = {
    {"daemon", LOG_DAEMON},
    {"user", LOG_USER},
    {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
};

const char log_facility_names[] = "'daemon', 'user', 'local0' to 'local7'";

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

int
log_facility_from_str(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
		if (strcmp(s, log_facilities[i].name) == 0)
			return log_facilities[i].facility;
	return -1;
}

int
log_syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_FATAL:
		return LOG_CRIT;
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_WARN:
		return LOG_WARNING;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	case LOG_LEVEL_DEBUG:
		return LOG_DEBUG;
	}
	return LOG_NOTICE;
}

void
log_use_syslog(bool on, int facility)
{
	if (log_syslog)
		closelog();
	log_syslog = on;
	if (!on)
		return;
	/* Connect now: the socket stays usable after a chroot. */
	openlog("xmppgate", LOG_PID | LOG_NDELAY, facility);
	/* syslog(3) drops lines silently without a daemon listening. */
	if (access(_PATH_LOG, W_OK) == -1)
		fprintf(stderr,
		    "xmppgate: operator log to syslog, but %s: %s: "
		    "lines will be lost\n",
		    _PATH_LOG, strerror(errno));
}

static void __attribute__((format(printf, 3, 0)))
log_vwrite(enum log_level level, const char *name, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];

	if (log_syslog) {
		vsyslog(log_syslog_priority(level), fmt, ap);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s ", ts, (long)(tv.tv_usec / 1000), name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define LOG_AT(lvl, name)                                                      \
	do {                                                                   \
		va_list ap;                                                    \
		if (log_level < (lvl))                                         \
			return;                                                \
		va_start(ap, fmt);                                             \
		log_vwrite((lvl), name, fmt, ap);                              \
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
	log_vwrite(LOG_LEVEL_DEBUG, "trace", fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_FATAL, "fatal", fmt, ap);
	va_end(ap);
	/* Whoever started the daemon by hand sees why it died, too. */
	if (log_syslog) {
		log_syslog = false;
		va_start(ap, fmt);
		log_vwrite(LOG_LEVEL_FATAL, "fatal", fmt, ap);
		va_end(ap);
	}
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
