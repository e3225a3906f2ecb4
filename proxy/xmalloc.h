/* SPDX-License-Identifier: ISC */
/*
 * Allocation that cannot fail: out of memory aborts the process. Memory is
 * bounded by limits (element size, bytes buffered per conn, sessions), not by
 * checking every allocation.
 */
#ifndef XMPPGATE_XMALLOC_H
#define XMPPGATE_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

#endif
