/* SPDX-License-Identifier: ISC */
/*
 * Negotiation knowledge: what the session learns by watching both directions
 * of a stream (XMPP-NOTES.md sections 2, 3 and 6) — the domain, stream ids,
 * the SASL mechanism, authcid and outcome (SASL1 and SASL2), bind requests and
 * results, the session's full JID, and which elements restart a stream. Pure:
 * it reads trees and reports; it sends nothing and never keeps a secret.
 */
#ifndef XMPPGATE_NEGO_H
#define XMPPGATE_NEGO_H

#include <stdbool.h>
#include <stddef.h>

#include "xnode.h"

#define NEGO_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NEGO_NS_SASL2 "urn:xmpp:sasl:2"
#define NEGO_NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NEGO_NS_BIND2 "urn:xmpp:bind:0"
#define NEGO_NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NEGO_NS_SM "urn:xmpp:sm:3"
#define NEGO_NS_COMPRESS_FEATURE "http://jabber.org/features/compress"
#define NEGO_NS_COMPRESS "http://jabber.org/protocol/compress"
#define NEGO_NS_FAST "urn:xmpp:fast:0"

enum nego_dir {
	NEGO_C2S,
	NEGO_S2C,
};

/* What an observed element meant; a bit set. */
#define NEGO_AUTH_OUTCOME 0x01 /* SASL finished: see outcome fields */
#define NEGO_BOUND 0x02	       /* the full JID is known (bind, SASL2, resume) */
#define NEGO_RESTART 0x04      /* both parsers restart after this element */
#define NEGO_STREAM_ERROR 0x08 /* a <stream:error/>: see error_condition */
#define NEGO_RESUMED 0x10      /* XEP-0198 resumption: negotiation is done */
#define NEGO_AUTH_BEGIN 0x20   /* the client chose a mechanism: see cbind */

struct nego {
	char *domain;	   /* owned: the client's stream 'to' */
	char *stream_id;   /* owned: the server's latest stream id */
	char *mechanism;   /* owned: SASL mechanism, NULL before <auth> */
	char *authcid;	   /* owned: from the initial response, or NULL */
	char *cbind;	   /* owned: SCRAM gs2 flag "n", "y", "p=..." or NULL */
	bool server_cb;	   /* the server's last mechanism list had -PLUS */
	int sasl_version;  /* 1 or 2 once authentication began */
	bool authenticated;
	char *condition;   /* owned: SASL failure condition, or NULL */
	char *jid;	   /* owned: the session's full JID once known */
	char *bind_id;	   /* owned: id of the pending bind request */
	char *error_condition; /* owned: condition of the last stream error */
};

void nego_init(struct nego *);
void nego_fini(struct nego *);
/* Records a stream header's attributes (to from c2s; id from s2c). */
void nego_stream_open(struct nego *, enum nego_dir, const struct xnode *root);
/* Observes one depth-1 element. Returns a set of NEGO_* bits. */
unsigned nego_observe(struct nego *, enum nego_dir, const struct xnode *el);
/*
 * The best identity known: the full JID once bound, else the provisional
 * authcid@domain after authentication, else NULL. Borrowed from n or buf.
 */
const char *nego_identity(const struct nego *, char *buf, size_t len);
/*
 * Removes from a server element what the client must not see: in stream
 * features <compression/> always, <starttls/> when strip_starttls, and
 * XEP-0478 <limits/> lowered to the proxy's own where those are smaller; the
 * `location` of XEP-0198 <enabled/>, which would send the client around the
 * proxy when it resumes; a <see-other-host/> stream error, which becomes
 * <remote-connection-failed/>; the tls-0rtt invitation of FAST (XEP-0484),
 * since the proxy's TLS takes no early data. With offer_starttls, features get an
 * optional <starttls/> the proxy answers itself. Returns true when el
 * changed.
 */
struct nego_policy {
	bool strip_starttls; /* the server's STARTTLS is not the client's */
	bool offer_starttls; /* the proxy's own optional STARTTLS instead */
	size_t max_bytes;    /* the proxy's element limit now (before or
	                      * after authentication) */
	unsigned idle_s;     /* the proxy's idle timeout */
};

bool nego_rewrite_s2c(struct xnode *el, const struct nego_policy *);

#endif
