/* SPDX-License-Identifier: ISC */
/*
 * The operator log: human-facing lines of key=value on stderr or, when
 * configured, through syslog(3), for the people running the daemon. It is
 * not the event stream (events.h), which is data with a schema. Session
 * lines start with "session=ID".
 */
#ifndef XMPPGATE_LOG_H
#define XMPPGATE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_FATAL, /* fatalx: a bug, the process aborts */
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Trace categories, chosen at run time (-v -v enables all). */
#define LOG_TRACE_IO 0x01
#define LOG_TRACE_XML 0x02
#define LOG_TRACE_TLS 0x04
#define LOG_TRACE_FILTER 0x08

void log_init(enum log_level, unsigned trace);
int log_trace_on(unsigned category);
/*
 * Where lines go: syslog(3) with facility (LOG_DAEMON, ...), ident
 * "xmppgate" and the PID in each line, or stderr (the default) when on is
 * false. May be called again (a reload). A fatal line also goes to stderr.
 */
void log_use_syslog(bool on, int facility);
/* The syslog priority a line of this level is sent with (trace: debug). */
int log_syslog_priority(enum log_level);
/* "daemon" -> LOG_DAEMON, also "user" and "local0" to "local7"; -1 for
 * another name. */
int log_facility_from_str(const char *);
/* The names log_facility_from_str() knows, for error messages. */
extern const char log_facility_names[];

void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_trace(unsigned, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/* A bug or broken invariant: log and abort. */
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Routes libevent's own messages into this log. */
void log_libevent_setup(void);

#endif
