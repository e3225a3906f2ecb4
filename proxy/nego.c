/* SPDX-License-Identifier: ISC */
/*
 * Watches the negotiation of a client-to-server stream and records what it
 * means: SASL1 (RFC 6120 6) and SASL2 (XEP-0388) mechanism, authcid and
 * outcome, bind (RFC 6120 7) and Bind2, stream management resumption, stream
 * errors, and the restart after SASL1 success. The authcid is read from the
 * initial response (PLAIN or SCRAM client-first); the decoded bytes are wiped
 * at once because PLAIN carries the password beside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "nego.h"
#include "xmalloc.h"
#include "xmlstream.h"

#define NEGO_NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"
#define NEGO_NS_LIMITS "urn:xmpp:stream-limits:0"

void
nego_init(struct nego *n)
{
	memset(n, 0, sizeof(*n));
}

void
nego_fini(struct nego *n)
{
	free(n->domain);
	free(n->stream_id);
	free(n->mechanism);
	free(n->authcid);
	free(n->cbind);
	free(n->condition);
	free(n->jid);
	free(n->bind_id);
	free(n->error_condition);
	memset(n, 0, sizeof(*n));
}

static void
nego_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

void
nego_stream_open(struct nego *n, enum nego_dir dir, const struct xnode *root)
{
	if (dir == NEGO_C2S) {
		if (xnode_attr(root, "to") != NULL)
			nego_set(&n->domain, xnode_attr(root, "to"));
	} else
		nego_set(&n->stream_id, xnode_attr(root, "id"));
}

/*
 * SCRAM's saslname escapes ',' and '=' as =2C and =3D (RFC 5802 5.1).
 * Returns an xmalloc'd authcid or NULL.
 */
static char *
nego_scram_user(const char *msg, size_t len)
{
	const char *p, *end = msg + len;
	char *out, *o;

	/* gs2-header: cbind-flag "," [authzid] "," then "n=user,r=..." */
	p = memchr(msg, ',', len);
	if (p == NULL || (p = memchr(p + 1, ',', (size_t)(end - p - 1))) == NULL)
		return NULL;
	p++;
	if (end - p < 2 || p[0] != 'n' || p[1] != '=')
		return NULL;
	p += 2;
	out = o = xmalloc((size_t)(end - p) + 1);
	while (p < end && *p != ',') {
		if (end - p >= 3 && p[0] == '=' && p[1] == '2' && p[2] == 'C') {
			*o++ = ',';
			p += 3;
		} else if (end - p >= 3 && p[0] == '=' && p[1] == '3' &&
		    p[2] == 'D') {
			*o++ = '=';
			p += 3;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

/*
 * The gs2 channel-binding flag that starts a SCRAM client-first message
 * (RFC 5802 7): "n", "y" or "p=<type>". Returns an xmalloc'd copy or NULL.
 */
static char *
nego_scram_cbind(const char *msg, size_t len)
{
	const char *comma = memchr(msg, ',', len);
	size_t n;

	if (comma == NULL || (n = (size_t)(comma - msg)) == 0 || n > 40)
		return NULL;
	if (!(n == 1 && (msg[0] == 'n' || msg[0] == 'y')) &&
	    !(n > 2 && msg[0] == 'p' && msg[1] == '='))
		return NULL;
	return xstrndup(msg, n);
}

/* PLAIN: [authzid] NUL authcid NUL passwd (RFC 4616). */
static char *
nego_plain_user(const unsigned char *msg, size_t len)
{
	const unsigned char *a, *b;

	/* Exactly two NULs and a password after them: anything else is not
	 * PLAIN, and guessing could put the password where the authcid goes. */
	a = memchr(msg, '\0', len);
	if (a == NULL)
		return NULL;
	a++;
	b = memchr(a, '\0', len - (size_t)(a - msg));
	if (b == NULL || b + 1 == msg + len ||
	    memchr(b + 1, '\0', len - (size_t)(b + 1 - msg)) != NULL)
		return NULL;
	return xstrndup((const char *)a, (size_t)(b - a));
}

/* Learns the authcid from a base64 initial response, wiping the decoding. */
static void
nego_learn_authcid(struct nego *n, const struct xnode *holder)
{
	char *text;
	unsigned char *raw;
	long len;
	size_t tlen;

	if (n->authcid != NULL || n->mechanism == NULL || holder == NULL)
		return;
	text = xnode_text(holder);
	tlen = strlen(text);
	raw = xmalloc(tlen / 4 * 3 + 4);
	len = b64_decode(text, tlen, raw);
	if (len > 0) {
		if (strcmp(n->mechanism, "PLAIN") == 0)
			n->authcid = nego_plain_user(raw, (size_t)len);
		else if (strncmp(n->mechanism, "SCRAM-", 6) == 0) {
			n->authcid = nego_scram_user((const char *)raw,
			    (size_t)len);
			free(n->cbind);
			n->cbind = nego_scram_cbind((const char *)raw,
			    (size_t)len);
		}
	}
	OPENSSL_cleanse(raw, tlen / 4 * 3 + 4);
	free(raw);
	OPENSSL_cleanse(text, tlen);
	free(text);
}

/* The local name of the first child element (a condition), or NULL. */
static const char *
nego_first_child_name(const struct xnode *el, const char *ns)
{
	const struct xnode *c;

	for (c = el->children; c != NULL; c = c->next)
		if (c->type == XNODE_ELEMENT && (ns == NULL ||
		    (c->ns != NULL && strcmp(c->ns, ns) == 0)) &&
		    strcmp(c->name, "text") != 0)
			return c->name;
	return NULL;
}

static unsigned
nego_auth_outcome(struct nego *n, bool success, const struct xnode *el,
    const char *ns)
{
	n->authenticated = success;
	nego_set(&n->condition,
	    success ? NULL : nego_first_child_name(el, ns));
	return NEGO_AUTH_OUTCOME;
}

static unsigned
nego_observe_c2s(struct nego *n, const struct xnode *el)
{
	const struct xnode *bind;

	if (xnode_is(el, NEGO_NS_SASL, "auth")) {
		n->sasl_version = 1;
		nego_set(&n->mechanism, xnode_attr(el, "mechanism"));
		nego_set(&n->authcid, NULL);
		nego_set(&n->cbind, NULL);
		nego_learn_authcid(n, el);
		return NEGO_AUTH_BEGIN;
	} else if (xnode_is(el, NEGO_NS_SASL2, "authenticate")) {
		n->sasl_version = 2;
		nego_set(&n->mechanism, xnode_attr(el, "mechanism"));
		nego_set(&n->authcid, NULL);
		nego_set(&n->cbind, NULL);
		nego_learn_authcid(n,
		    xnode_child(el, NEGO_NS_SASL2, "initial-response"));
		return NEGO_AUTH_BEGIN;
	} else if (xnode_is(el, NEGO_NS_SASL, "response") ||
	    xnode_is(el, NEGO_NS_SASL2, "response")) {
		/* A mechanism sent without initial response answers here. */
		nego_learn_authcid(n, el);
	} else if (xnode_is(el, XMLSTREAM_NS_CLIENT, "iq") &&
	    xnode_attr(el, "type") != NULL &&
	    strcmp(xnode_attr(el, "type"), "set") == 0 &&
	    (bind = xnode_child(el, NEGO_NS_BIND, "bind")) != NULL)
		nego_set(&n->bind_id, xnode_attr(el, "id"));
	else if (xnode_is(el, XMLSTREAM_NS_STREAMS, "error")) {
		nego_set(&n->error_condition,
		    nego_first_child_name(el, NEGO_NS_STREAM_ERRORS));
		return NEGO_STREAM_ERROR;
	}
	return 0;
}

static unsigned
nego_bind_result(struct nego *n, const struct xnode *el)
{
	const char *type = xnode_attr(el, "type"), *id = xnode_attr(el, "id");
	const struct xnode *bind, *jid;
	char *text;

	if (n->bind_id == NULL || id == NULL || strcmp(id, n->bind_id) != 0 ||
	    type == NULL)
		return 0;
	nego_set(&n->bind_id, NULL);
	if (strcmp(type, "result") != 0)
		return 0;
	if ((bind = xnode_child(el, NEGO_NS_BIND, "bind")) == NULL ||
	    (jid = xnode_child(bind, NEGO_NS_BIND, "jid")) == NULL)
		return 0;
	text = xnode_text(jid);
	free(n->jid);
	n->jid = text;
	return NEGO_BOUND;
}

/* SASL2 success names the identity; with Bind2 it is the full JID. */
static unsigned
nego_sasl2_success(struct nego *n, const struct xnode *el)
{
	const struct xnode *aid;
	unsigned bits = nego_auth_outcome(n, true, el, NULL);

	/* SASL2 may resume inline: no bind follows (XEP-0388, XEP-0198). */
	if (xnode_child(el, NEGO_NS_SM, "resumed") != NULL)
		bits |= NEGO_RESUMED;
	aid = xnode_child(el, NEGO_NS_SASL2, "authorization-identifier");
	if (aid == NULL)
		return bits;
	free(n->jid);
	n->jid = xnode_text(aid);
	if (xnode_child(el, NEGO_NS_BIND2, "bound") != NULL ||
	    strchr(n->jid, '/') != NULL)
		bits |= NEGO_BOUND;
	return bits;
}

/* Whether a mechanism list (SASL1 <mechanisms/>, SASL2 <authentication/>)
 * has a channel-binding (-PLUS) mechanism. */
static bool
nego_list_has_plus(const struct xnode *list, const char *ns)
{
	const struct xnode *m;
	char *name;
	size_t len;
	bool plus = false;

	for (m = xnode_child(list, ns, "mechanism"); m != NULL && !plus;
	    m = xnode_next(m, ns, "mechanism")) {
		name = xnode_text(m);
		len = strlen(name);
		plus = len > 5 && strcmp(name + len - 5, "-PLUS") == 0;
		free(name);
	}
	return plus;
}

/* Remembers whether the server offers channel binding (-PLUS). */
static void
nego_features(struct nego *n, const struct xnode *el)
{
	const struct xnode *l1 = xnode_child(el, NEGO_NS_SASL, "mechanisms");
	const struct xnode *l2 = xnode_child(el, NEGO_NS_SASL2,
	    "authentication");

	if (l1 == NULL && l2 == NULL)
		return;
	n->server_cb = (l1 != NULL && nego_list_has_plus(l1, NEGO_NS_SASL)) ||
	    (l2 != NULL && nego_list_has_plus(l2, NEGO_NS_SASL2));
}

static unsigned
nego_observe_s2c(struct nego *n, const struct xnode *el)
{
	if (xnode_is(el, XMLSTREAM_NS_STREAMS, "features")) {
		nego_features(n, el);
		return 0;
	}
	if (xnode_is(el, NEGO_NS_SASL, "success"))
		return nego_auth_outcome(n, true, el, NULL) | NEGO_RESTART;
	if (xnode_is(el, NEGO_NS_SASL, "failure"))
		return nego_auth_outcome(n, false, el, NEGO_NS_SASL);
	if (xnode_is(el, NEGO_NS_SASL2, "success"))
		return nego_sasl2_success(n, el);
	if (xnode_is(el, NEGO_NS_SASL2, "failure"))
		return nego_auth_outcome(n, false, el, NEGO_NS_SASL);
	if (xnode_is(el, XMLSTREAM_NS_CLIENT, "iq"))
		return nego_bind_result(n, el);
	if (xnode_is(el, NEGO_NS_SM, "resumed"))
		return NEGO_RESUMED;
	if (xnode_is(el, XMLSTREAM_NS_STREAMS, "error")) {
		nego_set(&n->error_condition,
		    nego_first_child_name(el, NEGO_NS_STREAM_ERRORS));
		return NEGO_STREAM_ERROR;
	}
	return 0;
}

unsigned
nego_observe(struct nego *n, enum nego_dir dir, const struct xnode *el)
{
	return dir == NEGO_C2S ? nego_observe_c2s(n, el)
			       : nego_observe_s2c(n, el);
}

const char *
nego_identity(const struct nego *n, char *buf, size_t len)
{
	if (n->jid != NULL)
		return n->jid;
	if (n->authenticated && n->authcid != NULL && n->domain != NULL &&
	    strchr(n->authcid, '@') == NULL) {
		snprintf(buf, len, "%s@%s", n->authcid, n->domain);
		return buf;
	}
	if (n->authenticated && n->authcid != NULL)
		return n->authcid;
	return NULL;
}

/*
 * Lowers one XEP-0478 limit to the proxy's own. A value that is not a plain
 * number is replaced too: the client must not trust a limit the proxy would
 * not enforce. Returns true when it changed.
 */
static bool
nego_clamp_limit(struct xnode *limits, const char *name, unsigned long long max)
{
	struct xnode *c = xnode_child(limits, NEGO_NS_LIMITS, name);
	unsigned long long v;
	char *text, *end, num[32];

	if (c == NULL)
		return false;
	text = xnode_text(c);
	v = strtoull(text, &end, 10);
	if (text[0] >= '0' && text[0] <= '9' && *end == '\0' && v <= max) {
		free(text);
		return false;
	}
	free(text);
	while (c->children != NULL)
		xnode_remove(c->children);
	snprintf(num, sizeof(num), "%llu", max);
	xnode_append_text(c, num, strlen(num));
	return true;
}

/*
 * FAST (XEP-0484) may invite TLS 0-RTT early data; the proxy's TLS takes
 * none, and a client that tries would have its first flight refused.
 */
static bool
nego_strip_0rtt(struct xnode *el)
{
	struct xnode *auth, *in, *fast;

	if ((auth = xnode_child(el, NEGO_NS_SASL2, "authentication")) == NULL ||
	    (in = xnode_child(auth, NEGO_NS_SASL2, "inline")) == NULL ||
	    (fast = xnode_child(in, NEGO_NS_FAST, "fast")) == NULL ||
	    xnode_attr(fast, "tls-0rtt") == NULL)
		return false;
	xnode_set_attr(fast, NULL, "tls-0rtt", NULL);
	return true;
}

static bool
nego_rewrite_features(struct xnode *el, const struct nego_policy *pol)
{
	struct xnode *c, *next;
	bool changed = false;

	for (c = el->children; c != NULL; c = next) {
		next = c->next;
		if (xnode_is(c, NEGO_NS_COMPRESS_FEATURE, "compression") ||
		    (pol->strip_starttls &&
			xnode_is(c, NEGO_NS_TLS, "starttls"))) {
			xnode_remove(c);
			changed = true;
		} else if (xnode_is(c, NEGO_NS_LIMITS, "limits")) {
			changed |= nego_clamp_limit(c, "max-bytes",
			    pol->max_bytes);
			changed |= nego_clamp_limit(c, "idle-seconds",
			    pol->idle_s);
		}
	}
	if (pol->offer_starttls) {
		xnode_append(el, xnode_new_element(NEGO_NS_TLS, "starttls"));
		changed = true;
	}
	changed |= nego_strip_0rtt(el);
	return changed;
}

/*
 * <see-other-host/> would send the client to another server, around the
 * proxy, which cannot follow it (one upstream): the client is told the
 * upstream failed instead, and the redirect's host is not passed on.
 */
static bool
nego_rewrite_redirect(struct xnode *el)
{
	struct xnode *c;

	c = xnode_child(el, NEGO_NS_STREAM_ERRORS, "see-other-host");
	if (c == NULL)
		return false;
	xnode_remove(c);
	xnode_append(el, xnode_new_element(NEGO_NS_STREAM_ERRORS,
	    "remote-connection-failed"));
	return true;
}

bool
nego_rewrite_s2c(struct xnode *el, const struct nego_policy *pol)
{
	if (xnode_is(el, XMLSTREAM_NS_STREAMS, "features"))
		return nego_rewrite_features(el, pol);
	if (xnode_is(el, XMLSTREAM_NS_STREAMS, "error"))
		return nego_rewrite_redirect(el);
	if (xnode_is(el, NEGO_NS_SM, "enabled") &&
	    xnode_attr(el, "location") != NULL) {
		xnode_set_attr(el, NULL, "location", NULL);
		return true;
	}
	return false;
}
