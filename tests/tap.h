/* SPDX-License-Identifier: ISC */
/*
 * A tiny TAP producer for unit tests: ok(), is_int(), is_str(), done_testing().
 * Header-only so each t-*.c stays one file.
 */
#ifndef XMPPGATE_TAP_H
#define XMPPGATE_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static int __attribute__((format(printf, 2, 3), unused))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...)                                                 \
	tap_is_int(__FILE__, __LINE__, (long long)(got), (long long)(want),    \
	    __VA_ARGS__)
#define is_str(got, want, ...)                                                 \
	tap_is_str(__FILE__, __LINE__, (got), (want), __VA_ARGS__)

static int __attribute__((format(printf, 5, 6), unused))
tap_is_int(const char *file, int line, long long got, long long want,
    const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ok(got == want, "%s", msg))
		printf("#   %s:%d: got %lld, want %lld\n", file, line, got, want);
	return got == want;
}

static int __attribute__((format(printf, 5, 6), unused))
tap_is_str(const char *file, int line, const char *got, const char *want,
    const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	int same;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	same = (got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0);
	if (!ok(same, "%s", msg))
		printf("#   %s:%d: got '%s', want '%s'\n", file, line,
		    got ? got : "(null)", want ? want : "(null)");
	return same;
}

static void __attribute__((format(printf, 1, 2), unused))
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int __attribute__((unused))
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
