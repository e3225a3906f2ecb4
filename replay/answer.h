/* SPDX-License-Identifier: ISC */
/*
 * The answers the replay makes up itself, in either mode, for requests the
 * recording has no answer to (RFC 6120 8.2.3: every iq get and set gets a
 * result or an error). Pure: it builds, the caller sends.
 */
#ifndef XMPPGATE_REPLAY_ANSWER_H
#define XMPPGATE_REPLAY_ANSWER_H

#include <stdbool.h>

#include "xnode.h"

/* Whether el is an iq get or set: a request that must be answered. */
bool answer_is_request(const struct xnode *el);
/* An iq result to req (its id; to its sender, if it names one), holding
 * child (taken) unless NULL. The caller owns the result. */
struct xnode *answer_result(const struct xnode *req, struct xnode *child);
/* An iq error to req: <error type='cancel'><COND/></error>, COND in the
 * stanza errors namespace ("service-unavailable"). */
struct xnode *answer_error(const struct xnode *req, const char *cond);

#endif
