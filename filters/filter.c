/* SPDX-License-Identifier: ISC */
/*
 * Verdict names as they appear in events and logs.
 */
#include "filter.h"

const char *
filter_verdict_str(enum filter_verdict v)
{
	switch (v) {
	case FILTER_PASS:
		return "pass";
	case FILTER_REWRITE:
		return "rewrite";
	case FILTER_DROP:
		return "drop";
	case FILTER_BOUNCE:
		return "bounce";
	case FILTER_CLOSE:
		return "close";
	}
	return "unknown";
}
