/* SPDX-License-Identifier: ISC */
/*
 * The bytes of the proxy's own stream-level answers: a stream header when the
 * peer has not had one yet, <stream:error/> with an RFC 6120 condition and
 * text, and the closing tag. Builds bytes only; sending is the caller's.
 */
#ifndef XMPPGATE_STREAMERR_H
#define XMPPGATE_STREAMERR_H

#include <stdbool.h>

#include "buf.h"

/* A server stream header (from = domain when known, a fresh random id). */
void streamerr_header(struct buf *b, const char *from_domain);
/*
 * A stream error and the closing tag. app_xml is an optional
 * application-specific condition element (e.g. <stanza-too-big/>), text an
 * optional human-readable explanation (escaped here).
 */
void streamerr_error(struct buf *b, const char *condition, const char *text,
    const char *app_xml);
/* A random stream id (16 hex characters) into out[17]. */
void streamerr_random_id(char out[17]);

#endif
