/* SPDX-License-Identifier: ISC */
/*
 * Stream headers and stream errors written by the proxy itself (RFC 6120
 * 4.7 and 4.9). Everything variable is escaped through xnode_escape.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "streamerr.h"
#include "xnode.h"

void
streamerr_random_id(char out[17])
{
	unsigned char r[8];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

void
streamerr_header(struct buf *b, const char *from_domain)
{
	char id[17];

	streamerr_random_id(id);
	buf_adds(b, "<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
		    " xmlns:stream='http://etherx.jabber.org/streams'"
		    " version='1.0'");
	if (from_domain != NULL && from_domain[0] != '\0') {
		buf_adds(b, " from='");
		xnode_escape(b, from_domain, strlen(from_domain), true);
		buf_adds(b, "'");
	}
	buf_addf(b, " id='%s'>", id);
}

void
streamerr_error(struct buf *b, const char *condition, const char *text,
    const char *app_xml)
{
	buf_addf(b,
	    "<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>",
	    condition);
	if (text != NULL) {
		buf_adds(b, "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'"
			    " xml:lang='en'>");
		xnode_escape(b, text, strlen(text), false);
		buf_adds(b, "</text>");
	}
	if (app_xml != NULL)
		buf_adds(b, app_xml);
	buf_adds(b, "</stream:error></stream:stream>");
}
