/* SPDX-License-Identifier: ISC */
/*
 * Redaction of secrets (XMPP-NOTES.md section 10) from a parsed element,
 * before anything is written to an event, a recording or a log. Works on the
 * tree, never on bytes.
 */
#ifndef XMPPGATE_REDACT_H
#define XMPPGATE_REDACT_H

#include <stdbool.h>

#include "xnode.h"

#define REDACT_MARK "[redacted]"

/* True when el holds something redact_copy() would replace. */
bool redact_needed(const struct xnode *el);
/*
 * A copy of el with every secret's text or attribute value replaced by
 * REDACT_MARK, or NULL when el holds no secret. The caller owns the copy.
 */
struct xnode *redact_copy(const struct xnode *el);

#endif
