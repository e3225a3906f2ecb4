/* SPDX-License-Identifier: ISC */
/*
 * A metrics snapshot as Prometheus text (exposition format 0.0.4): each
 * family with its # HELP and # TYPE lines, then its samples; counters end
 * in _total; label values escaped and valid UTF-8; fixed label sets
 * (directions, reasons, legs, parse errors) always complete, zeros
 * included, so a rate() has a series from the first scrape on. Pure: a
 * snapshot in, text out; the numbers come from metrics.c.
 */
#include <stdio.h>
#include <string.h>

#include "filter.h"
#include "metrics.h"
#include "utf8.h"

static const char *const format_dirs[METRICS_NDIRS] = {"c2s", "s2c"};
static const char *const format_legs[METRICS_NLEGS] = {"client", "upstream"};
static const char *const format_kinds[METRICS_NKINDS] = {
    "message", "presence", "iq"};

void
metrics_label_escape(const char *s, struct buf *out)
{
	size_t n = strlen(s), len;
	uint32_t cp;

	while (n > 0) {
		switch (*s) {
		case '\\':
			buf_adds(out, "\\\\");
			len = 1;
			break;
		case '"':
			buf_adds(out, "\\\"");
			len = 1;
			break;
		case '\n':
			buf_adds(out, "\\n");
			len = 1;
			break;
		default:
			if ((len = utf8_decode(s, n, &cp)) == 0) {
				buf_adds(out, "\xef\xbf\xbd"); /* U+FFFD */
				len = 1;
			} else
				buf_add(out, s, len);
			break;
		}
		s += len;
		n -= len;
	}
}

static void
format_family(
    struct buf *out, const char *name, const char *type, const char *help)
{
	buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
format_value(struct buf *out, uint64_t v)
{
	buf_addf(out, " %llu\n", (unsigned long long)v);
}

/* A family with one label over a fixed list of n values, zeros included. */
static void
format_by(struct buf *out, const char *name, const char *help,
    const char *label, const char *const *values, const uint64_t *counts,
    unsigned n)
{
	unsigned i;

	format_family(out, name, "counter", help);
	for (i = 0; i < n; i++) {
		buf_addf(out, "%s{%s=\"%s\"}", name, label, values[i]);
		format_value(out, counts[i]);
	}
}

static void
format_build(const struct metrics_snapshot *snap, struct buf *out)
{
	format_family(out, "xmppgate_build_info", "gauge",
	    "Always 1; the labels name the version of xmppgate and of the "
	    "libraries it runs with.");
	buf_adds(out, "xmppgate_build_info{version=\"");
	metrics_label_escape(snap->version, out);
	buf_adds(out, "\",libevent=\"");
	metrics_label_escape(snap->libevent, out);
	buf_adds(out, "\",openssl=\"");
	metrics_label_escape(snap->openssl, out);
	buf_adds(out, "\"} 1\n");
	format_family(out, "xmppgate_start_time_seconds", "gauge",
	    "When the daemon started, in seconds since the Unix epoch.");
	buf_adds(out, "xmppgate_start_time_seconds");
	format_value(out, snap->start_time);
	format_family(out, "xmppgate_accepting", "gauge",
	    "1 while new sessions are accepted, 0 once shutdown began.");
	buf_adds(out, "xmppgate_accepting");
	format_value(out, snap->accepting ? 1 : 0);
}

static void
format_sessions(const struct metrics_snapshot *snap, struct buf *out)
{
	const char *reasons[SESSION_NREASONS];
	unsigned i;

	format_family(out, "xmppgate_sessions_open", "gauge",
	    "Sessions accepted and not yet ended.");
	buf_addf(out, "xmppgate_sessions_open %lld\n",
	    (long long)snap->sessions_open);
	format_family(out, "xmppgate_sessions_total", "counter",
	    "Client connections accepted, refused ones included, by "
	    "listener address.");
	for (i = 0; i < snap->nlisteners; i++) {
		buf_adds(out, "xmppgate_sessions_total{listener=\"");
		metrics_label_escape(snap->listeners[i].name, out);
		buf_adds(out, "\"}");
		format_value(out, snap->listeners[i].sessions);
	}
	for (i = 0; i < SESSION_NREASONS; i++)
		reasons[i] = session_reason_str((enum session_reason)i);
	format_by(out, "xmppgate_session_closes_total",
	    "Sessions ended, by the reason session.close gives.", "reason",
	    reasons, snap->closes, SESSION_NREASONS);
}

static void
format_traffic(const struct metrics_snapshot *snap, struct buf *out)
{
	unsigned d, k;

	format_by(out, "xmppgate_bytes_total",
	    "Bytes read from clients (c2s) and from the server (s2c), after "
	    "TLS decryption; passthrough TLS as relayed.",
	    "dir", format_dirs, snap->bytes, METRICS_NDIRS);
	format_family(out, "xmppgate_stanzas_total", "counter",
	    "Stanzas read, by direction and kind.");
	for (d = 0; d < METRICS_NDIRS; d++)
		for (k = 0; k < METRICS_NKINDS; k++) {
			buf_addf(out,
			    "xmppgate_stanzas_total{dir=\"%s\","
			    "kind=\"%s\"}",
			    format_dirs[d], format_kinds[k]);
			format_value(out, snap->stanzas[d][k]);
		}
	format_family(out, "xmppgate_stanza_verdicts_total", "counter",
	    "What xmppgate did with each stanza after the filter chain, by "
	    "direction.");
	for (d = 0; d < METRICS_NDIRS; d++)
		for (k = 0; k < METRICS_NVERDICTS; k++) {
			buf_addf(out,
			    "xmppgate_stanza_verdicts_total{dir=\"%s\","
			    "verdict=\"%s\"}",
			    format_dirs[d],
			    filter_verdict_str((enum filter_verdict)k));
			format_value(out, snap->stanza_verdicts[d][k]);
		}
}

static void
format_rules(const struct metrics_snapshot *snap, struct buf *out)
{
	const struct metrics_named *r;
	unsigned i, a, dry;

	format_family(out, "xmppgate_rule_verdicts_total", "counter",
	    "Stanzas a filter rule matched, by rule name, the action it "
	    "took (or, in a dry run, would have taken) and dry_run.");
	for (i = 0; i < snap->nrules; i++) {
		r = &snap->rules[i];
		for (a = 0; a < METRICS_NACTIONS; a++)
			for (dry = 0; dry < 2; dry++) {
				if (r->verdicts[a][dry] == 0)
					continue;
				buf_adds(out, "xmppgate_rule_verdicts_total{"
				              "rule=\"");
				metrics_label_escape(r->name, out);
				buf_addf(out,
				    "\",action=\"%s\",dry_run=\"%s\"}",
				    metrics_action_str((enum metrics_action)a),
				    dry ? "true" : "false");
				format_value(out, r->verdicts[a][dry]);
			}
	}
}

static void
format_tls(const struct metrics_snapshot *snap, struct buf *out)
{
	format_by(out, "xmppgate_tls_handshakes_total",
	    "TLS handshakes xmppgate completed, by leg (passthrough TLS is "
	    "not xmppgate's).",
	    "leg", format_legs, snap->tls_ok, METRICS_NLEGS);
	format_by(out, "xmppgate_tls_handshake_failures_total",
	    "TLS that could not be set up, by leg: failed or aborted "
	    "handshakes, refused STARTTLS, certificates that do not verify.",
	    "leg", format_legs, snap->tls_failed, METRICS_NLEGS);
}

static void
format_parse_errors(const struct metrics_snapshot *snap, struct buf *out)
{
	unsigned d, e;

	format_family(out, "xmppgate_parse_errors_total", "counter",
	    "Streams ended because what a side sent broke the XML rules, by "
	    "the direction it was read in, the error and the stream error "
	    "condition it got.");
	for (d = 0; d < METRICS_NDIRS; d++)
		for (e = XMLSTREAM_ERR_NONE + 1; e < XMLSTREAM_NERRS; e++) {
			buf_addf(out,
			    "xmppgate_parse_errors_total{dir=\"%s\","
			    "error=\"%s\",condition=\"%s\"}",
			    format_dirs[d],
			    xmlstream_err_str((enum xmlstream_err)e),
			    xmlstream_err_condition((enum xmlstream_err)e));
			format_value(out, snap->parse_errors[d][e]);
		}
}

static void
format_connect(const struct metrics_snapshot *snap, struct buf *out)
{
	uint64_t cum = 0;
	unsigned i;

	format_family(out, "xmppgate_upstream_connect_seconds", "histogram",
	    "Time from starting an upstream connection (name resolution "
	    "included) to the TCP connection being up.");
	for (i = 0; i <= METRICS_NBUCKETS; i++) {
		cum += snap->connect_buckets[i];
		buf_addf(out,
		    "xmppgate_upstream_connect_seconds_bucket{le=\"%s\"}",
		    metrics_bucket_le(i));
		format_value(out, cum);
	}
	buf_addf(out, "xmppgate_upstream_connect_seconds_sum %llu.%09llu\n",
	    (unsigned long long)(snap->connect_sum_ns / 1000000000ULL),
	    (unsigned long long)(snap->connect_sum_ns % 1000000000ULL));
	buf_adds(out, "xmppgate_upstream_connect_seconds_count");
	format_value(out, cum);
}

void
metrics_format(const struct metrics_snapshot *snap, struct buf *out)
{
	format_build(snap, out);
	format_sessions(snap, out);
	format_traffic(snap, out);
	format_rules(snap, out);
	format_tls(snap, out);
	format_parse_errors(snap, out);
	format_connect(snap, out);
}
