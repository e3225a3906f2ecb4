/* SPDX-License-Identifier: ISC */
/*
 * JID patterns: each part of the pattern is a glob, literal parts compare
 * directly (ASCII without case where the part is caseless), parts with '*'
 * or non-ASCII letters become anchored PCRE2 patterns compiled once
 * (caseless ones in UTF mode, where PCRE2 folds case by Unicode's simple
 * folding). The candidate is split the way servers split JIDs (jid.c).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pcre2.h>

#include "buf.h"
#include "jid.h"
#include "jidpat.h"
#include "xmalloc.h"

#define JIDPAT_PART_MAX 1023

/* One part: absent, a literal, or a compiled glob. */
struct jidpat_part {
	bool present;
	bool caseless;
	char *literal;    /* owned, or NULL when code is used */
	pcre2_code *code; /* owned, or NULL */
};

struct jidpat {
	struct jidpat_part local, domain, resource;
};

/* Characters RFC 7622 3.3.1 forbids in a localpart (and space). */
static bool
jidpat_local_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (strchr("\"&'/:<>@ ", s[i]) != NULL)
			return false;
	return true;
}

static int
jidpat_syntax(const char *p, const char **errstr)
{
	const char *slash, *at;
	size_t barelen, locallen, domainlen;

	if (p == NULL || *p == '\0') {
		*errstr = "an empty JID pattern";
		return -1;
	}
	slash = strchr(p, '/');
	barelen = slash ? (size_t)(slash - p) : strlen(p);
	at = memchr(p, '@', barelen);
	locallen = at ? (size_t)(at - p) : 0;
	domainlen = at ? barelen - locallen - 1 : barelen;
	if (at != NULL && (locallen == 0 || !jidpat_local_ok(p, locallen))) {
		*errstr = "the localpart is empty or has a character JIDs "
		          "forbid (\" & ' / : < > @ or space)";
		return -1;
	}
	if (domainlen == 0 || memchr(at ? at + 1 : p, ' ', domainlen)) {
		*errstr = "the domainpart is empty or has a space";
		return -1;
	}
	if (slash != NULL && slash[1] == '\0') {
		*errstr = "the resourcepart after '/' is empty";
		return -1;
	}
	if (locallen > JIDPAT_PART_MAX || domainlen > JIDPAT_PART_MAX ||
	    (slash != NULL && strlen(slash + 1) > JIDPAT_PART_MAX)) {
		*errstr = "a part is longer than 1023 bytes";
		return -1;
	}
	return 0;
}

/* Whether a literal part can be compared with strcmp/strcasecmp. */
static bool
jidpat_plain(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '*' || (unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* Compiles glob s[0..len) to ^...$: '*' is any run, the rest literal. */
static pcre2_code *
jidpat_compile(const char *s, size_t len, bool caseless)
{
	uint32_t opts = PCRE2_UTF | PCRE2_DOTALL | PCRE2_ANCHORED |
	                PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C |
	                (caseless ? PCRE2_CASELESS : 0);
	PCRE2_SIZE erroff;
	pcre2_code *code;
	struct buf re;
	size_t i;
	int errcode;

	buf_init(&re);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '*')
			buf_adds(&re, ".*");
		else if (c < 0x80 &&
		         !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9'))) {
			buf_addc(&re, '\\');
			buf_addc(&re, (char)c);
		} else
			buf_addc(&re, (char)c);
	}
	code = pcre2_compile((PCRE2_SPTR)(re.data ? re.data : ""), re.len, opts,
	    &errcode, &erroff, NULL);
	buf_fini(&re);
	return code;
}

static int
jidpat_part_init(
    struct jidpat_part *part, const char *s, size_t len, bool caseless)
{
	part->present = true;
	part->caseless = caseless;
	if (jidpat_plain(s, len)) {
		part->literal = xstrndup(s, len);
		return 0;
	}
	part->code = jidpat_compile(s, len, caseless);
	return part->code != NULL ? 0 : -1;
}

static void
jidpat_part_fini(struct jidpat_part *part)
{
	free(part->literal);
	pcre2_code_free(part->code);
}

/* A domain's length without one trailing dot (RFC 7622 3.2). */
static size_t
jidpat_domain_len(const char *s, size_t len)
{
	return len > 1 && s[len - 1] == '.' ? len - 1 : len;
}

struct jidpat *
jidpat_new(const char *p)
{
	struct jidpat *jp;
	const char *slash, *at, *errstr, *domain;
	size_t barelen, domainlen;
	int rc = 0;

	if (jidpat_syntax(p, &errstr) == -1)
		return NULL;
	jp = xcalloc(1, sizeof(*jp));
	slash = strchr(p, '/');
	barelen = slash ? (size_t)(slash - p) : strlen(p);
	at = memchr(p, '@', barelen);
	domain = at ? at + 1 : p;
	domainlen = barelen - (size_t)(domain - p);
	if (at != NULL)
		rc |= jidpat_part_init(&jp->local, p, (size_t)(at - p), true);
	rc |= jidpat_part_init(
	    &jp->domain, domain, jidpat_domain_len(domain, domainlen), true);
	if (slash != NULL)
		rc |= jidpat_part_init(
		    &jp->resource, slash + 1, strlen(slash + 1), false);
	if (rc != 0) {
		jidpat_free(jp);
		return NULL;
	}
	return jp;
}

void
jidpat_free(struct jidpat *jp)
{
	if (jp == NULL)
		return;
	jidpat_part_fini(&jp->local);
	jidpat_part_fini(&jp->domain);
	jidpat_part_fini(&jp->resource);
	free(jp);
}

int
jidpat_check(const char *p, const char **errstr)
{
	struct jidpat *jp;

	if (jidpat_syntax(p, errstr) == -1)
		return -1;
	/* What passes the syntax only fails to compile as invalid UTF-8. */
	if ((jp = jidpat_new(p)) == NULL) {
		*errstr = "not valid UTF-8";
		return -1;
	}
	jidpat_free(jp);
	return 0;
}

static bool
jidpat_part_match(const struct jidpat_part *part, const char *s, size_t len)
{
	pcre2_match_data *md;
	int rc;

	if (part->literal != NULL) {
		if (strlen(part->literal) != len)
			return false;
		return part->caseless ? strncasecmp(part->literal, s, len) == 0
		                      : memcmp(part->literal, s, len) == 0;
	}
	md = pcre2_match_data_create_from_pattern(part->code, NULL);
	rc = pcre2_match(part->code, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

bool
jidpat_match(const struct jidpat *jp, const char *s)
{
	struct jid j;
	bool ok;

	if (s == NULL || jid_parse(s, &j) == -1)
		return false;
	ok = (jp->local.present == (j.local != NULL)) &&
	     (!jp->local.present ||
	         jidpat_part_match(&jp->local, j.local, strlen(j.local))) &&
	     jidpat_part_match(&jp->domain, j.domain,
	         jidpat_domain_len(j.domain, strlen(j.domain))) &&
	     (!jp->resource.present ||
	         (j.resource != NULL && jidpat_part_match(&jp->resource,
	                                    j.resource, strlen(j.resource))));
	jid_fini(&j);
	return ok;
}
