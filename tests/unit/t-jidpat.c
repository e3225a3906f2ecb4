/* SPDX-License-Identifier: ISC */
/*
 * JID patterns: globs per part, case folding of localpart and domainpart
 * only, resources exact, bare patterns matching any resource, patterns
 * without a localpart matching only domain JIDs, the trailing dot of a
 * domain, non-ASCII case folding, and what jidpat_check refuses.
 */
#include <stdlib.h>
#include <string.h>

#include "jidpat.h"

#include "../tap.h"

static const struct {
	const char *pattern, *jid;
	bool want;
} cases[] = {
    {"alice@example.org", "alice@example.org", true},
    {"alice@example.org", "alice@example.org/phone", true},
    {"alice@example.org", "ALICE@Example.ORG/x", true},
    {"alice@example.org", "bob@example.org", false},
    {"alice@example.org", "example.org", false},
    {"alice@example.org/phone", "alice@example.org/phone", true},
    {"alice@example.org/phone", "alice@example.org/Phone", false},
    {"alice@example.org/phone", "alice@example.org", false},
    {"alice@example.org/ph*", "alice@example.org/phone-7", true},
    {"*@example.org", "anyone@example.org/r", true},
    {"*@example.org", "example.org", false},
    {"*@example.org", "x@example.org.evil", false},
    {"*@*.example.org", "room@conference.example.org", true},
    {"*@*.example.org", "room@example.org", false},
    {"example.org", "example.org", true},
    {"example.org", "example.org.", true},
    {"example.org.", "example.org/x", true},
    {"example.org", "u@example.org", false},
    {"*", "upload.example.org", true},
    {"*", "u@example.org", false},
    {"a.b@example.org", "aXb@example.org", false},
    {"ÉLODIE@example.org", "élodie@example.org", true},
    {"*@ÉXAMPLE.org", "x@éxample.org", true},
    {"r@muc.example.org/nick with/slash", "r@muc.example.org/nick with/slash",
        true},
    {"r@muc.example.org/*", "r@muc.example.org", false},
    {"u@example.org", "u@example.org/res@with@at", true},
    {"u@example.org", "", false},
    {"u@example.org", "@example.org", false},
};

static const struct {
	const char *pattern, *error;
} bad[] = {
    {"", "an empty JID pattern"},
    {"@example.org", "the localpart is empty"},
    {"a b@example.org", "the localpart is empty or has a character"},
    {"a<b@example.org", "the localpart is empty or has a character"},
    {"u@", "the domainpart is empty"},
    {"u@exa mple.org", "the domainpart is empty or has a space"},
    {"u@example.org/", "the resourcepart after '/' is empty"},
    {"u@\xff.org", "not valid UTF-8"},
};

int
main(void)
{
	struct jidpat *jp;
	const char *errstr;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jp = jidpat_new(cases[i].pattern);
		ok(jp != NULL &&
		        jidpat_match(jp, cases[i].jid) == cases[i].want,
		    "'%s' %s '%s'", cases[i].pattern,
		    cases[i].want ? "matches" : "does not match", cases[i].jid);
		jidpat_free(jp);
	}
	jp = jidpat_new("*@example.org");
	ok(!jidpat_match(jp, NULL), "NULL never matches");
	jidpat_free(jp);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errstr = NULL;
		ok(jidpat_check(bad[i].pattern, &errstr) == -1 &&
		        errstr != NULL && strstr(errstr, bad[i].error) != NULL,
		    "'%s' refused: %s", bad[i].pattern, bad[i].error);
		ok(jidpat_new(bad[i].pattern) == NULL, "  and not compiled");
	}
	return done_testing();
}
