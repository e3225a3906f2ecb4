/* SPDX-License-Identifier: ISC */
/*
 * The counters and their exposition: hooks before and after the mapping,
 * the rule table (same name same slot, long names apart, overflow into
 * "(other)"), counts made by a forked worker seen by its parent (the
 * shared mapping), histogram buckets at their bounds, label escaping, the
 * whole text for a fixed set of counts (golden) and a strict reading of it
 * (every sample of a declared family, # HELP then # TYPE, no duplicates),
 * and the metrics block of the config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"
#include "../tap.h"
#include "xmalloc.h"

static struct metrics_snapshot *
snap_now(void)
{
	struct metrics_snapshot *snap = xmalloc(sizeof(*snap));

	metrics_snapshot(snap);
	return snap;
}

static const struct metrics_named *
named(const struct metrics_named *v, unsigned n, const char *name)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static void
test_unmapped(void)
{
	struct metrics_snapshot *snap;

	metrics_session_open(0);
	metrics_bytes(METRICS_C2S, 10);
	metrics_verdict(0, METRICS_ACTION_DROP, false);
	metrics_upstream_connect(1000);
	is_int(metrics_rule("r"), -1, "before metrics_init: no rule slot");
	is_int(metrics_listener("127.0.0.1:5222"), -1, "nor a listener slot");
	ok(!metrics_accepting(), "nor accepting");
	snap = snap_now();
	ok(snap->sessions_open == 0 && snap->bytes[0] == 0 &&
	        snap->nrules == 0 && snap->connect_buckets[0] == 0,
	    "hooks before metrics_init count nothing");
	free(snap);
}

static void
test_counters(void)
{
	const struct metrics_named *ln;
	struct metrics_snapshot *snap;
	int l;

	metrics_init();
	metrics_init(); /* a second call keeps the mapping */
	l = metrics_listener("127.0.0.1:5222");
	ok(l >= 0 && l < METRICS_MAX_LISTENERS, "a listener gets a slot");
	is_int(metrics_listener("127.0.0.1:5222"), l, "the same one again");
	metrics_session_open(l);
	metrics_session_open(l);
	metrics_session_close(SESSION_REASON_CLIENT_CLOSED);
	metrics_bytes(METRICS_C2S, 100);
	metrics_bytes(METRICS_C2S, 23);
	metrics_bytes(METRICS_S2C, 7);
	metrics_stanza(METRICS_C2S, METRICS_MESSAGE);
	metrics_stanza(METRICS_S2C, METRICS_IQ);
	metrics_stanza_verdict(METRICS_C2S, 3);
	metrics_tls_handshake(METRICS_LEG_CLIENT, true);
	metrics_tls_handshake(METRICS_LEG_UPSTREAM, false);
	metrics_parse_error(METRICS_S2C, XMLSTREAM_ERR_TOO_BIG);
	metrics_set_accepting(true);
	snap = snap_now();
	is_int(snap->sessions_open, 1, "two opened, one closed: one open");
	ln = named(snap->listeners, snap->nlisteners, "127.0.0.1:5222");
	is_int(ln != NULL ? ln->sessions : 0, 2, "sessions by listener");
	is_int(snap->closes[SESSION_REASON_CLIENT_CLOSED], 1, "closes");
	is_int(snap->bytes[METRICS_C2S], 123, "bytes c2s");
	is_int(snap->bytes[METRICS_S2C], 7, "bytes s2c");
	is_int(snap->stanzas[METRICS_C2S][METRICS_MESSAGE], 1, "stanzas");
	is_int(snap->stanzas[METRICS_S2C][METRICS_IQ], 1, "stanzas s2c iq");
	is_int(snap->stanza_verdicts[METRICS_C2S][3], 1, "stanza verdicts");
	is_int(snap->tls_ok[METRICS_LEG_CLIENT], 1, "handshakes");
	is_int(snap->tls_failed[METRICS_LEG_UPSTREAM], 1, "failures");
	is_int(snap->parse_errors[METRICS_S2C][XMLSTREAM_ERR_TOO_BIG], 1,
	    "parse errors");
	ok(snap->accepting && metrics_accepting(), "accepting");
	ok(snap->start_time > 1600000000, "start time is now");
	free(snap);
	is_int(metrics_action_from_str("drop"), METRICS_ACTION_DROP,
	    "action names");
	is_int(metrics_action_from_str("teleport"), METRICS_ACTION_OTHER,
	    "an unknown action is 'other'");
	metrics_fini();
}

/* Workers: a forked child counts into the same pages its parent reads. */
static void
test_fork(void)
{
	struct metrics_snapshot *snap;
	const struct metrics_named *r;
	pid_t pid;
	int status = -1;

	metrics_init();
	metrics_session_open(-1);
	pid = fork();
	if (pid == 0) {
		metrics_set_worker(3);
		metrics_session_open(-1);
		metrics_session_open(-1);
		metrics_bytes(METRICS_S2C, 1000);
		metrics_verdict(metrics_rule("from-a-worker"),
		    METRICS_ACTION_BOUNCE, false);
		_exit(0);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0,
	    "a forked worker counted and exited");
	metrics_bytes(METRICS_S2C, 1);
	snap = snap_now();
	is_int(snap->sessions_open, 3, "open sessions summed over workers");
	is_int(snap->bytes[METRICS_S2C], 1001, "bytes summed over workers");
	r = named(snap->rules, snap->nrules, "from-a-worker");
	ok(r != NULL && r->verdicts[METRICS_ACTION_BOUNCE][0] == 1,
	    "the parent sees the rule the worker claimed and counted");
	is_int(metrics_rule("from-a-worker"), metrics_rule("from-a-worker"),
	    "and finds the same slot");
	free(snap);
	metrics_worker_exited(3);
	snap = snap_now();
	is_int(snap->sessions_open, 1, "a dead worker's sessions are not open");
	is_int(snap->bytes[METRICS_S2C], 1001, "but its counts stay");
	free(snap);
	metrics_fini();
}

static void
test_rules(void)
{
	struct metrics_snapshot *snap;
	char name[64], a[300], b[300];
	const struct metrics_named *o;
	int first, s, distinct = 1, ra, rb;
	unsigned i;

	metrics_init();
	first = metrics_rule("rule-0");
	for (i = 1; i < METRICS_MAX_RULES; i++) {
		snprintf(name, sizeof(name), "rule-%u", i);
		s = metrics_rule(name);
		if (s < 0 || s >= METRICS_MAX_RULES || s == first)
			distinct = 0;
		metrics_verdict(s, METRICS_ACTION_LOG, true);
	}
	ok(distinct, "%d names get slots of their own", METRICS_MAX_RULES);
	is_int(metrics_rule("rule-0"), first, "a name keeps its slot");
	s = metrics_rule("one-too-many");
	is_int(s, METRICS_MAX_RULES, "past the bound: the overflow slot");
	is_int(
	    metrics_rule("another"), METRICS_MAX_RULES, "for every new name");
	is_int(metrics_rule("rule-7"), metrics_rule("rule-7"),
	    "known names still find theirs");
	metrics_verdict(s, METRICS_ACTION_DROP, false);
	metrics_verdict(METRICS_MAX_RULES, METRICS_ACTION_DROP, false);
	metrics_verdict(METRICS_MAX_RULES + 1, METRICS_ACTION_DROP, false);
	snap = snap_now();
	/* rule-0 was never counted: slots in use are listed all the same */
	is_int(snap->nrules, METRICS_MAX_RULES + 1,
	    "every slot and the overflow slot are listed");
	o = &snap->rules[snap->nrules - 1];
	is_str(o->name, METRICS_OTHER, "the overflow slot comes last");
	is_int(o->verdicts[METRICS_ACTION_DROP][0], 2, "and counts overflow");
	is_str(snap->rules[0].name, "rule-0", "the others sorted by name");
	is_str(snap->rules[1].name, "rule-1", "rule-1 next");
	is_str(snap->rules[2].name, "rule-10", "then rule-10");
	free(snap);
	metrics_fini();

	/* Long names: cut to fit, apart by a hash of the whole. */
	metrics_init();
	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = 'y';
	ra = metrics_rule(a);
	rb = metrics_rule(b);
	ok(ra >= 0 && rb >= 0 && ra != rb && ra < METRICS_MAX_RULES &&
	        rb < METRICS_MAX_RULES,
	    "two long names with the same start get two slots");
	is_int(metrics_rule(a), ra, "a long name finds its slot again");
	metrics_verdict(ra, METRICS_ACTION_LOG, false);
	snap = snap_now();
	ok(snap->nrules == 2 &&
	        strlen(snap->rules[0].name) < METRICS_NAME_MAX &&
	        strchr(snap->rules[0].name, '~') != NULL,
	    "its label is the start and a hash: %.20s...~",
	    snap->rules[0].name);
	free(snap);
	/* A cut never splits a UTF-8 character. */
	memset(a, 'x', sizeof(a) - 1);
	for (i = 101; i + 1 < sizeof(a) - 1; i += 2)
		memcpy(a + i, "\xc3\xa9", 2);
	a[sizeof(a) - 1] = '\0';
	metrics_verdict(metrics_rule(a), METRICS_ACTION_LOG, false);
	snap = snap_now();
	o = NULL;
	for (i = 0; i < snap->nrules; i++)
		if (strncmp(snap->rules[i].name, "xxxx", 4) == 0 &&
		    strstr(snap->rules[i].name, "\xc3\xa9") != NULL)
			o = &snap->rules[i];
	ok(o != NULL && strstr(o->name, "\xc3~") == NULL,
	    "a cut name ends on a character boundary");
	free(snap);
	metrics_fini();
}

static void
test_histogram(void)
{
	static const uint64_t ms = 1000000;
	struct metrics_snapshot *snap;
	uint64_t total = 0;
	unsigned i;

	metrics_init();
	metrics_upstream_connect(0);          /* le 0.001 */
	metrics_upstream_connect(ms);         /* le 0.001: bounds inclusive */
	metrics_upstream_connect(ms + 1);     /* le 0.005 */
	metrics_upstream_connect(30 * ms);    /* le 0.05 */
	metrics_upstream_connect(10000 * ms); /* le 10 */
	metrics_upstream_connect(10001 * ms); /* +Inf */
	snap = snap_now();
	is_int(snap->connect_buckets[0], 2, "0 and 1 ms: bucket le=0.001");
	is_int(snap->connect_buckets[1], 1, "1 ms + 1 ns: le=0.005");
	is_int(snap->connect_buckets[4], 1, "30 ms: le=0.05");
	is_int(snap->connect_buckets[METRICS_NBUCKETS - 1], 1, "10 s: le=10");
	is_int(snap->connect_buckets[METRICS_NBUCKETS], 1, "past 10 s: +Inf");
	for (i = 0; i <= METRICS_NBUCKETS; i++)
		total += snap->connect_buckets[i];
	is_int(total, 6, "every observation in one bucket");
	is_int(snap->connect_sum_ns, 20033 * ms + 1, "sum");
	is_str(metrics_bucket_le(0), "0.001", "first bound");
	is_str(metrics_bucket_le(METRICS_NBUCKETS - 1), "10", "last bound");
	is_str(metrics_bucket_le(METRICS_NBUCKETS), "+Inf", "then +Inf");
	free(snap);
	metrics_fini();
}

static void
escapes(const char *in, const char *want, const char *what)
{
	struct buf b;

	buf_init(&b);
	metrics_label_escape(in, &b);
	is_str(b.data ? b.data : "", want, "label escape: %s", what);
	buf_fini(&b);
}

static void
test_escape(void)
{
	escapes("plain-name_1", "plain-name_1", "plain");
	escapes("a\\b", "a\\\\b", "backslash");
	escapes("say \"hi\"", "say \\\"hi\\\"", "double quotes");
	escapes("two\nlines", "two\\nlines", "newline");
	escapes("tab\tcr\r", "tab\tcr\r", "other control characters kept");
	escapes("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac",
	    "UTF-8 kept");
	escapes("bad\xff", "bad\xef\xbf\xbd", "invalid byte -> U+FFFD");
	escapes("cut\xc3", "cut\xef\xbf\xbd", "truncated character -> U+FFFD");
	escapes("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	    "surrogate -> U+FFFD per byte");
	escapes("", "", "empty");
}

/* The whole text for fixed counts. */
static const char golden[] =
    "# HELP xmppgate_build_info Always 1; the labels name the version of "
    "xmppgate and of the libraries it runs with.\n"
    "# TYPE xmppgate_build_info gauge\n"
    "xmppgate_build_info{version=\"0.1.0\",libevent=\"2.1.12-stable\","
    "openssl=\"3.0.0\"} 1\n"
    "# HELP xmppgate_start_time_seconds When the daemon started, in seconds "
    "since the Unix epoch.\n"
    "# TYPE xmppgate_start_time_seconds gauge\n"
    "xmppgate_start_time_seconds 1700000000\n"
    "# HELP xmppgate_accepting 1 while new sessions are accepted, 0 once "
    "shutdown began.\n"
    "# TYPE xmppgate_accepting gauge\n"
    "xmppgate_accepting 0\n"
    "# HELP xmppgate_sessions_open Sessions accepted and not yet ended.\n"
    "# TYPE xmppgate_sessions_open gauge\n"
    "xmppgate_sessions_open 1\n"
    "# HELP xmppgate_sessions_total Client connections accepted, refused "
    "ones included, by listener address.\n"
    "# TYPE xmppgate_sessions_total counter\n"
    "xmppgate_sessions_total{listener=\"127.0.0.1:5222\"} 3\n"
    "xmppgate_sessions_total{listener=\"[::1]:5223\"} 0\n"
    "# HELP xmppgate_session_closes_total Sessions ended, by the reason "
    "session.close gives.\n"
    "# TYPE xmppgate_session_closes_total counter\n"
    "xmppgate_session_closes_total{reason=\"client-closed\"} 1\n"
    "xmppgate_session_closes_total{reason=\"upstream-closed\"} 0\n"
    "xmppgate_session_closes_total{reason=\"client-dropped\"} 0\n"
    "xmppgate_session_closes_total{reason=\"upstream-dropped\"} 0\n"
    "xmppgate_session_closes_total{reason=\"client-error\"} 0\n"
    "xmppgate_session_closes_total{reason=\"upstream-error\"} 0\n"
    "xmppgate_session_closes_total{reason=\"upstream-unreachable\"} 0\n"
    "xmppgate_session_closes_total{reason=\"connect-timeout\"} 0\n"
    "xmppgate_session_closes_total{reason=\"handshake-timeout\"} 0\n"
    "xmppgate_session_closes_total{reason=\"idle-timeout\"} 0\n"
    "xmppgate_session_closes_total{reason=\"shutdown\"} 0\n"
    "xmppgate_session_closes_total{reason=\"session-limit\"} 0\n"
    "xmppgate_session_closes_total{reason=\"stream-error\"} 0\n"
    "xmppgate_session_closes_total{reason=\"client-tls-failed\"} 1\n"
    "xmppgate_session_closes_total{reason=\"upstream-tls-failed\"} 0\n"
    "xmppgate_session_closes_total{reason=\"policy\"} 0\n"
    "xmppgate_session_closes_total{reason=\"proxy-protocol\"} 0\n"
    "xmppgate_session_closes_total{reason=\"destination-refused\"} 0\n"
    "xmppgate_session_closes_total{reason=\"rate-limit\"} 0\n"
    "# HELP xmppgate_bytes_total Bytes read from clients (c2s) and from "
    "the server (s2c), after TLS decryption; passthrough TLS as relayed.\n"
    "# TYPE xmppgate_bytes_total counter\n"
    "xmppgate_bytes_total{dir=\"c2s\"} 1234\n"
    "xmppgate_bytes_total{dir=\"s2c\"} 5678\n"
    "# HELP xmppgate_stanzas_total Stanzas read, by direction and kind.\n"
    "# TYPE xmppgate_stanzas_total counter\n"
    "xmppgate_stanzas_total{dir=\"c2s\",kind=\"message\"} 2\n"
    "xmppgate_stanzas_total{dir=\"c2s\",kind=\"presence\"} 0\n"
    "xmppgate_stanzas_total{dir=\"c2s\",kind=\"iq\"} 0\n"
    "xmppgate_stanzas_total{dir=\"s2c\",kind=\"message\"} 0\n"
    "xmppgate_stanzas_total{dir=\"s2c\",kind=\"presence\"} 1\n"
    "xmppgate_stanzas_total{dir=\"s2c\",kind=\"iq\"} 0\n"
    "# HELP xmppgate_stanza_verdicts_total What xmppgate did with each "
    "stanza after the filter chain, by direction.\n"
    "# TYPE xmppgate_stanza_verdicts_total counter\n"
    "xmppgate_stanza_verdicts_total{dir=\"c2s\",verdict=\"pass\"} 1\n"
    "xmppgate_stanza_verdicts_total{dir=\"c2s\",verdict=\"rewrite\"} 0\n"
    "xmppgate_stanza_verdicts_total{dir=\"c2s\",verdict=\"drop\"} 1\n"
    "xmppgate_stanza_verdicts_total{dir=\"c2s\",verdict=\"bounce\"} 0\n"
    "xmppgate_stanza_verdicts_total{dir=\"c2s\",verdict=\"close\"} 0\n"
    "xmppgate_stanza_verdicts_total{dir=\"s2c\",verdict=\"pass\"} 1\n"
    "xmppgate_stanza_verdicts_total{dir=\"s2c\",verdict=\"rewrite\"} 0\n"
    "xmppgate_stanza_verdicts_total{dir=\"s2c\",verdict=\"drop\"} 0\n"
    "xmppgate_stanza_verdicts_total{dir=\"s2c\",verdict=\"bounce\"} 0\n"
    "xmppgate_stanza_verdicts_total{dir=\"s2c\",verdict=\"close\"} 0\n"
    "# HELP xmppgate_rule_verdicts_total Stanzas a filter rule matched, by "
    "rule name, the action it took (or, in a dry run, would have taken) "
    "and dry_run.\n"
    "# TYPE xmppgate_rule_verdicts_total counter\n"
    "xmppgate_rule_verdicts_total{rule=\"no-badword\",action=\"drop\","
    "dry_run=\"false\"} 1\n"
    "xmppgate_rule_verdicts_total{rule=\"say \\\"hi\\\" \\\\o/\\n\","
    "action=\"log\",dry_run=\"true\"} 2\n"
    "xmppgate_rule_verdicts_total{rule=\"say \\\"hi\\\" \\\\o/\\n\","
    "action=\"rewrite\",dry_run=\"false\"} 1\n"
    "# HELP xmppgate_tls_handshakes_total TLS handshakes xmppgate "
    "completed, by leg (passthrough TLS is not xmppgate's).\n"
    "# TYPE xmppgate_tls_handshakes_total counter\n"
    "xmppgate_tls_handshakes_total{leg=\"client\"} 1\n"
    "xmppgate_tls_handshakes_total{leg=\"upstream\"} 0\n"
    "# HELP xmppgate_tls_handshake_failures_total TLS that could not be "
    "set up, by leg: failed or aborted handshakes, refused STARTTLS, "
    "certificates that do not verify.\n"
    "# TYPE xmppgate_tls_handshake_failures_total counter\n"
    "xmppgate_tls_handshake_failures_total{leg=\"client\"} 1\n"
    "xmppgate_tls_handshake_failures_total{leg=\"upstream\"} 0\n"
    "# HELP xmppgate_parse_errors_total Streams ended because what a side "
    "sent broke the XML rules, by the direction it was read in, the error "
    "and the stream error condition it got.\n"
    "# TYPE xmppgate_parse_errors_total counter\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"not-well-formed\","
    "condition=\"not-well-formed\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"restricted-xml\","
    "condition=\"restricted-xml\"} 1\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"too-big\","
    "condition=\"policy-violation\"} 2\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"too-deep\","
    "condition=\"policy-violation\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"unsupported-encoding\","
    "condition=\"unsupported-encoding\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"bad-namespace-prefix\","
    "condition=\"bad-namespace-prefix\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"invalid-namespace\","
    "condition=\"invalid-namespace\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"text-at-depth-1\","
    "condition=\"not-well-formed\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"c2s\",error=\"data-after-close\","
    "condition=\"not-well-formed\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"not-well-formed\","
    "condition=\"not-well-formed\"} 1\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"restricted-xml\","
    "condition=\"restricted-xml\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"too-big\","
    "condition=\"policy-violation\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"too-deep\","
    "condition=\"policy-violation\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"unsupported-encoding\","
    "condition=\"unsupported-encoding\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"bad-namespace-prefix\","
    "condition=\"bad-namespace-prefix\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"invalid-namespace\","
    "condition=\"invalid-namespace\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"text-at-depth-1\","
    "condition=\"not-well-formed\"} 0\n"
    "xmppgate_parse_errors_total{dir=\"s2c\",error=\"data-after-close\","
    "condition=\"not-well-formed\"} 0\n"
    "# HELP xmppgate_upstream_connect_seconds Time from starting an "
    "upstream connection (name resolution included) to the TCP connection "
    "being up.\n"
    "# TYPE xmppgate_upstream_connect_seconds histogram\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"0.001\"} 0\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"0.005\"} 1\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"0.01\"} 1\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"0.025\"} 1\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"0.05\"} 2\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"0.1\"} 2\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"0.25\"} 2\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"0.5\"} 2\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"1\"} 2\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"2.5\"} 2\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"5\"} 2\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"10\"} 2\n"
    "xmppgate_upstream_connect_seconds_bucket{le=\"+Inf\"} 3\n"
    "xmppgate_upstream_connect_seconds_sum 12.032000000\n"
    "xmppgate_upstream_connect_seconds_count 3\n";

/* Counts that give the golden text. */
static void
golden_counts(void)
{
	int l = metrics_listener("127.0.0.1:5222"), r;

	(void)metrics_listener("[::1]:5223");
	metrics_session_open(l);
	metrics_session_open(l);
	metrics_session_open(l);
	metrics_session_close(SESSION_REASON_CLIENT_CLOSED);
	metrics_session_close(SESSION_REASON_CLIENT_TLS_FAILED);
	metrics_bytes(METRICS_C2S, 1234);
	metrics_bytes(METRICS_S2C, 5678);
	metrics_stanza(METRICS_C2S, METRICS_MESSAGE);
	metrics_stanza(METRICS_C2S, METRICS_MESSAGE);
	metrics_stanza(METRICS_S2C, METRICS_PRESENCE);
	metrics_stanza_verdict(METRICS_C2S, 0);
	metrics_stanza_verdict(METRICS_C2S, 2);
	metrics_stanza_verdict(METRICS_S2C, 0);
	metrics_verdict(metrics_rule("no-badword"), METRICS_ACTION_DROP, false);
	r = metrics_rule("say \"hi\" \\o/\n");
	metrics_verdict(r, METRICS_ACTION_LOG, true);
	metrics_verdict(r, METRICS_ACTION_LOG, true);
	metrics_verdict(r, METRICS_ACTION_REWRITE, false);
	metrics_tls_handshake(METRICS_LEG_CLIENT, true);
	metrics_tls_handshake(METRICS_LEG_CLIENT, false);
	metrics_parse_error(METRICS_C2S, XMLSTREAM_ERR_RESTRICTED_XML);
	metrics_parse_error(METRICS_C2S, XMLSTREAM_ERR_TOO_BIG);
	metrics_parse_error(METRICS_C2S, XMLSTREAM_ERR_TOO_BIG);
	metrics_parse_error(METRICS_S2C, XMLSTREAM_ERR_NOT_WELL_FORMED);
	metrics_upstream_connect(2000000);
	metrics_upstream_connect(30000000);
	metrics_upstream_connect(12000000000ULL);
}

/* The family a sample belongs to: its name, less a histogram suffix. */
static const char *
family_of(const char *name, char *fam, size_t len, const char *hist)
{
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};
	size_t n = strlen(name), i, s;

	snprintf(fam, len, "%s", name);
	for (i = 0; hist != NULL && i < 3; i++) {
		s = strlen(sfx[i]);
		if (n > s && strcmp(name + n - s, sfx[i]) == 0 &&
		    strncmp(name, hist, n - s) == 0 && hist[n - s] == '\0') {
			fam[n - s] = '\0';
			break;
		}
	}
	return fam;
}

/*
 * Reads text as a scraper would, strictly: # HELP then # TYPE of a family
 * before its samples, each family once, every sample of the family last
 * declared, no series twice, values numbers. Returns the number of
 * problems (each one diagnosed).
 */
static int
strict_read(const char *text)
{
	char fam[64] = "", help[64] = "", hist[64] = "", name[64], f[64];
	char *copy = xstrdup(text), *line, *save = NULL, *end;
	char seen[256][64], series[400][300];
	size_t nseen = 0, nseries = 0, i;
	int bad = 0;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			sscanf(line + 7, "%63s", help);
			for (i = 0; i < nseen; i++)
				if (strcmp(seen[i], help) == 0)
					bad++, diag("family twice: %s", help);
			snprintf(seen[nseen++ % 256], 64, "%s", help);
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%63s", fam);
			if (strcmp(fam, help) != 0)
				bad++, diag("TYPE without its HELP: %s", line);
			end = line + 7 + strlen(fam) + 1;
			if (strcmp(end, "counter") != 0 &&
			    strcmp(end, "gauge") != 0 &&
			    strcmp(end, "histogram") != 0)
				bad++, diag("bad type: %s", line);
			snprintf(hist, sizeof(hist), "%s",
			    strcmp(end, "histogram") == 0 ? fam : "");
		} else if (line[0] == '#') {
			bad++, diag("stray comment: %s", line);
		} else {
			i = strcspn(line, "{ ");
			snprintf(name, sizeof(name), "%.*s", (int)i, line);
			if (strcmp(family_of(name, f, sizeof(f),
			               hist[0] ? hist : NULL),
			        fam) != 0)
				bad++, diag("sample of no declared family: %s",
				           line);
			end = strrchr(line, ' ');
			if (end == NULL ||
			    strspn(end + 1, "0123456789.") != strlen(end + 1))
				bad++, diag("bad value: %s", line);
			for (i = 0; end != NULL && i < nseries; i++)
				if (strncmp(series[i], line,
				        (size_t)(end - line)) == 0 &&
				    series[i][end - line] == '\0')
					bad++, diag("series twice: %s", line);
			if (end != NULL && nseries < 400)
				snprintf(series[nseries++], 300, "%.*s",
				    (int)(end - line), line);
		}
	}
	free(copy);
	return bad;
}

static void
test_golden(void)
{
	struct metrics_snapshot *snap;
	struct buf b;
	size_t i;

	metrics_init();
	golden_counts();
	snap = snap_now();
	/* What varies from build to build and run to run: fixed here. */
	snprintf(snap->version, sizeof(snap->version), "0.1.0");
	snprintf(snap->libevent, sizeof(snap->libevent), "2.1.12-stable");
	snprintf(snap->openssl, sizeof(snap->openssl), "3.0.0");
	snap->start_time = 1700000000;
	buf_init(&b);
	metrics_format(snap, &b);
	if (!is_str(b.data, golden, "exposition text for fixed counts")) {
		for (i = 0; b.data[i] != '\0' && b.data[i] == golden[i]; i++)
			;
		diag("first difference at byte %zu: ...%.60s", i, b.data + i);
	}
	is_int(strict_read(b.data), 0, "a strict reader accepts it");
	free(snap);
	buf_fini(&b);
	/* And the live text, with the real build info and start time. */
	snap = snap_now();
	buf_init(&b);
	metrics_format(snap, &b);
	is_int(strict_read(b.data), 0, "a strict reader accepts live text");
	ok(strstr(b.data, "xmppgate_build_info{version=\"" PACKAGE_VERSION
	                  "\",libevent=\"") != NULL,
	    "build info names this version");
	buf_fini(&b);
	free(snap);
	metrics_fini();
	is_int(strict_read("# HELP a x\n# TYPE a counter\nb 1\n"), 1,
	    "the strict reader refuses an undeclared sample");
	is_int(strict_read("# HELP a x\n# TYPE a counter\na 1\na 2\n"), 1,
	    "and a series twice");
}

static struct config *
config_of(const char *json, char **err)
{
	*err = NULL;
	return config_parse(json, err);
}

static void
config_fails(const char *json, const char *want, const char *what)
{
	char *err;
	struct config *cfg = config_of(json, &err);

	if (!ok(cfg == NULL && err != NULL && strcmp(err, want) == 0, "%s",
	        what))
		diag("got: %s", err ? err : "(loaded)");
	config_unref(cfg);
	free(err);
}

static void
test_config(void)
{
	struct config *cfg;
	char *err;

	cfg = config_of("{}", &err);
	ok(cfg != NULL && cfg->metrics.address == NULL &&
	        !cfg->metrics.allow_remote,
	    "no metrics block: no endpoint");
	config_unref(cfg);
	cfg = config_of("{\"metrics\": {\"address\": \"9222\"}}", &err);
	ok(cfg != NULL && strcmp(cfg->metrics.address, "127.0.0.1:9222") == 0,
	    "a port alone listens on 127.0.0.1");
	config_unref(cfg);
	cfg = config_of("{\"metrics\": {\"address\": \"[::1]:9222\"}}", &err);
	ok(cfg != NULL && strcmp(cfg->metrics.address, "[::1]:9222") == 0,
	    "IPv6 loopback");
	config_unref(cfg);
	cfg = config_of("{\"metrics\": {\"address\": \"0.0.0.0:9222\", "
	                "\"allow_remote\": true}}",
	    &err);
	ok(cfg != NULL && cfg->metrics.allow_remote,
	    "any address with allow_remote");
	config_unref(cfg);
	config_fails("{\"metrics\": {\"address\": \"0.0.0.0:9222\"}}",
	    "metrics.address: '0.0.0.0:9222' is not a loopback address, and "
	    "the endpoint has no authentication: set metrics.allow_remote to "
	    "true to serve it there",
	    "a non-loopback address is refused, naming the key to allow it");
	config_fails("{\"metrics\": {\"address\": \"[::]:9222\", "
	             "\"allow_remote\": false}}",
	    "metrics.address: '[::]:9222' is not a loopback address, and "
	    "the endpoint has no authentication: set metrics.allow_remote to "
	    "true to serve it there",
	    "[::] is refused too");
	config_fails("{\"metrics\": {}}",
	    "metrics.address: required key is missing", "address is required");
	config_fails("{\"metrics\": {\"address\": \"99999\"}}",
	    "metrics.address: '99999': port out of range", "bad port");
	config_fails("{\"metrics\": {\"address\": \"localhost:9222\"}}",
	    "metrics.address: 'localhost:9222': not a numeric IP address "
	    "(listen addresses are never resolved)",
	    "a host name is refused");
	config_fails("{\"metrics\": {\"adress\": \"9222\"}}",
	    "metrics.adress: unknown key (did you mean 'address'?)\n"
	    "metrics.address: required key is missing",
	    "a typo is caught");
	config_fails("{\"metrics\": \"9222\"}",
	    "metrics: expected an object, got a string",
	    "metrics is an object");
}

int
main(void)
{
	test_unmapped();
	test_counters();
	test_fork();
	test_rules();
	test_histogram();
	test_escape();
	test_golden();
	test_config();
	return done_testing();
}
