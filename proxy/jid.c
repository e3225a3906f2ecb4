/* SPDX-License-Identifier: ISC */
/*
 * JIDs (RFC 7622 section 3.1): split at the first '/', then at the first '@'
 * before it, so a resource may hold any '/' and '@'. Each part must be
 * non-empty and at most 1023 bytes. No stringprep or PRECIS normalisation:
 * the proxy reports JIDs as the server spelled them, it does not compare
 * identities.
 */
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "xmalloc.h"

#define JID_PART_MAX 1023

static int
jid_part_ok(size_t len)
{
	return len > 0 && len <= JID_PART_MAX;
}

int
jid_parse(const char *s, struct jid *out)
{
	const char *slash, *at, *domain;
	size_t barelen, locallen = 0, domainlen, reslen = 0;

	out->local = out->domain = out->resource = NULL;
	if (s == NULL || *s == '\0')
		return -1;
	slash = strchr(s, '/');
	barelen = slash ? (size_t)(slash - s) : strlen(s);
	at = memchr(s, '@', barelen);
	if (at != NULL) {
		locallen = (size_t)(at - s);
		if (!jid_part_ok(locallen))
			return -1;
		domain = at + 1;
		domainlen = barelen - locallen - 1;
	} else {
		domain = s;
		domainlen = barelen;
	}
	if (!jid_part_ok(domainlen))
		return -1;
	if (slash != NULL && !jid_part_ok(reslen = strlen(slash + 1)))
		return -1;
	if (at != NULL)
		out->local = xstrndup(s, locallen);
	out->domain = xstrndup(domain, domainlen);
	if (slash != NULL)
		out->resource = xstrndup(slash + 1, reslen);
	return 0;
}

void
jid_fini(struct jid *j)
{
	free(j->local);
	free(j->domain);
	free(j->resource);
	j->local = j->domain = j->resource = NULL;
}

char *
jid_bare(const char *s)
{
	struct jid j;
	char *bare;

	if (jid_parse(s, &j) == -1)
		return NULL;
	if (j.local != NULL)
		bare = xasprintf("%s@%s", j.local, j.domain);
	else
		bare = xstrdup(j.domain);
	jid_fini(&j);
	return bare;
}
