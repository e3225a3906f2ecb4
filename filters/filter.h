/* SPDX-License-Identifier: ISC */
/*
 * Filter verdicts: what the chain decides for each element. The chain and the
 * filter types (regex, plugins) build on this; the relay uses the verdict
 * names in events. In this release every element passes: no filter type is
 * configured yet, and the relay records that verdict.
 */
#ifndef XMPPGATE_FILTER_H
#define XMPPGATE_FILTER_H

enum filter_verdict {
	FILTER_PASS,	/* forward the original bytes */
	FILTER_REWRITE, /* forward the re-serialized tree */
	FILTER_DROP,	/* forward nothing */
	FILTER_BOUNCE,	/* drop, and answer the sender with an error */
	FILTER_CLOSE,	/* end the stream with policy-violation */
};

const char *filter_verdict_str(enum filter_verdict);

#endif
