/* SPDX-License-Identifier: ISC */
/*
 * A growable byte buffer: the one way this project builds strings and byte
 * runs (parser lookback, serializer output, trace lines). Not for socket I/O:
 * that is libevent's evbuffer.
 */
#ifndef XMPPGATE_BUF_H
#define XMPPGATE_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* owned; NUL-terminated when cap > 0 */
	size_t len;
	size_t cap;
};

void buf_init(struct buf *);
void buf_fini(struct buf *);
void buf_reset(struct buf *);
void buf_add(struct buf *, const void *, size_t);
void buf_addc(struct buf *, char);
void buf_adds(struct buf *, const char *);
void buf_addf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *, size_t);
/* Drops what follows the first len bytes (nothing when len >= b->len). */
void buf_truncate(struct buf *, size_t len);
/* Hands the data to the caller (xmalloc'd, NUL-terminated) and empties. */
char *buf_release(struct buf *);

#endif
