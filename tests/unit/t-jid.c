/* SPDX-License-Identifier: ISC */
/*
 * JIDs: the split at the first '/' then the first '@' before it, empty and
 * over-long parts, and the bare JID.
 */
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "../tap.h"

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
parses(const char *s, const char *local, const char *domain,
    const char *resource)
{
	struct jid j;
	int rc = jid_parse(s, &j);

	if (!ok(rc == 0 && same(j.local, local) && same(j.domain, domain) &&
	    same(j.resource, resource), "parse '%s'", s))
		diag("rc=%d local=%s domain=%s resource=%s", rc,
		    j.local ? j.local : "(null)",
		    j.domain ? j.domain : "(null)",
		    j.resource ? j.resource : "(null)");
	jid_fini(&j);
}

static void
refused(const char *s, const char *what)
{
	struct jid j;
	int rc = jid_parse(s, &j);

	ok(rc == -1 && j.local == NULL && j.domain == NULL &&
	    j.resource == NULL, "refuse %s", what);
	jid_fini(&j); /* harmless on a refused JID */
}

static void
test_parse(void)
{
	parses("user@example.org/phone", "user", "example.org", "phone");
	parses("user@example.org", "user", "example.org", NULL);
	parses("example.org", NULL, "example.org", NULL);
	parses("example.org/res", NULL, "example.org", "res");
	parses("u@d/a/b", "u", "d", "a/b");
	parses("u@d/x@y", "u", "d", "x@y");
	parses("d/u@x", NULL, "d", "u@x");
	parses("u@d/@/", "u", "d", "@/");
	parses("room@muc.example/nick with spaces",
	    "room", "muc.example", "nick with spaces");
	parses("a@b@c", "a", "b@c", NULL); /* '@' in domain: not our call */
	parses("\xc3\xa9@\xc3\xa9.example/\xe2\x98\x83", "\xc3\xa9",
	    "\xc3\xa9.example", "\xe2\x98\x83");

	refused(NULL, "NULL");
	refused("", "empty string");
	refused("@example.org", "empty local part");
	refused("user@", "empty domain after '@'");
	refused("user@/res", "empty domain before '/'");
	refused("/res", "empty domain");
	refused("user@example.org/", "empty resource");
	refused("example.org/", "empty resource without local");
	refused("@", "lone '@'");
	refused("/", "lone '/'");
}

static void
test_lengths(void)
{
	char part[1025], *s;
	struct jid j;

	memset(part, 'x', 1023);
	part[1023] = '\0';
	s = malloc(3 * 1024 + 8);

	sprintf(s, "%s@d/r", part);
	ok(jid_parse(s, &j) == 0 && strlen(j.local) == 1023,
	    "1023-byte local part accepted");
	jid_fini(&j);
	sprintf(s, "u@%s/r", part);
	ok(jid_parse(s, &j) == 0 && strlen(j.domain) == 1023,
	    "1023-byte domain accepted");
	jid_fini(&j);
	sprintf(s, "u@d/%s", part);
	ok(jid_parse(s, &j) == 0 && strlen(j.resource) == 1023,
	    "1023-byte resource accepted");
	jid_fini(&j);

	part[1023] = 'x';
	part[1024] = '\0';
	sprintf(s, "%s@d/r", part);
	refused(s, "1024-byte local part");
	sprintf(s, "u@%s/r", part);
	refused(s, "1024-byte domain");
	sprintf(s, "%s", part);
	refused(s, "1024-byte domain alone");
	sprintf(s, "u@d/%s", part);
	refused(s, "1024-byte resource");
	free(s);
}

static void
bare(const char *s, const char *want)
{
	char *got = jid_bare(s);

	is_str(got, want, "bare of '%s'", s ? s : "(null)");
	free(got);
}

static void
test_bare(void)
{
	bare("user@example.org/phone", "user@example.org");
	bare("user@example.org", "user@example.org");
	bare("example.org/res", "example.org");
	bare("example.org", "example.org");
	bare("u@d/x@y/z", "u@d");
	bare("d/u@x", "d");
	bare("", NULL);
	bare(NULL, NULL);
	bare("@d", NULL);
	bare("u@d/", NULL);
}

int
main(void)
{
	test_parse();
	test_lengths();
	test_bare();
	return done_testing();
}
