#!/bin/sh
# SPDX-License-Identifier: ISC
# The xmppgate benchmark (`make bench`, which builds first; this builds
# nothing). On free loopback ports it starts the xg-bench sink, the plain
# relay xg-relay and xmppgate (once without event logs, once writing JSON
# events to a file), then measures each target in the same run: throughput
# of a realistic stanza stream (verified byte-exact at the sink), ping-pong
# latency, RSS per idle logged-in session, and connection setups per second.
# Then the same with direct TLS on every leg: a TLS sink, xg-relay
# terminating TLS on both legs, and xmppgate with TLS toward the client and
# toward the sink, with a CA and certificate made for this run by the
# openssl command (in the temporary directory, never kept): TLS connection
# setups per second and TLS throughput. In between, the content policy's
# cost: throughput of xmppgate with no filters (that section's own
# baseline), with 10 and with 100 regex rules (rules.awk), and of the plain
# relay, in interleaved rounds; no rule may act on the traffic while the
# log rules among them match it (checked from the proxy's SIGUSR1
# counters). It prints one table. Every step is
# bounded in time; it stops only the processes it started and removes its
# temporary directory. Not part of `make check`: nothing there depends on
# speed.
#
# Knobs (environment): XG_BENCH_SECS (throughput seconds per target, 5),
# XG_BENCH_CONNS (throughput and setup connections, 4),
# XG_BENCH_ROUNDTRIPS (20000), XG_BENCH_IDLE (idle sessions, 5000),
# XG_BENCH_HS_SECS (connection setup seconds per target, 3),
# XG_BENCH_TLS_KEY (certificate key: ec for P-256, or rsa for RSA-2048; ec),
# XG_BENCH_FILTER_ROUNDS (interleaved rounds of the filters section, 3),
# XG_BENCH_FILTER_SECS (seconds per target and round there, 2).
# ulimit -n/-H are not POSIX, but dash and bash both have them.
# shellcheck disable=SC3045
set -eu

secs=${XG_BENCH_SECS:-5}
conns=${XG_BENCH_CONNS:-4}
rtts=${XG_BENCH_ROUNDTRIPS:-20000}
idle=${XG_BENCH_IDLE:-5000}
hs_secs=${XG_BENCH_HS_SECS:-3}
keytype=${XG_BENCH_TLS_KEY:-ec}
builddir=${XG_TOP_BUILDDIR:-.}
bench=$builddir/tests/bench/xg-bench
relay=$builddir/tests/bench/xg-relay
xg=${XG_BIN:-$builddir/proxy/xmppgate}
for f in "$bench" "$relay" "$xg"; do
	if [ ! -x "$f" ]; then
		echo "run.sh: $f is not built (run 'make bench')" >&2
		exit 1
	fi
done
case $keytype in
ec) newkey="ec -pkeyopt ec_paramgen_curve:P-256" keyname="ECDSA P-256" ;;
rsa) newkey="rsa:2048" keyname="RSA-2048" ;;
*)
	echo "run.sh: XG_BENCH_TLS_KEY must be ec or rsa" >&2
	exit 1
	;;
esac
if ! command -v openssl >/dev/null; then
	echo "run.sh: the openssl command is needed for the TLS certificates" >&2
	exit 1
fi

t_start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-bench.XXXXXX")
pids=

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || :
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

die() {
	echo "run.sh: $*" >&2
	for f in "$tmp"/*.err "$tmp"/*.log; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/} (last lines)" >&2
		tail -n 5 "$f" >&2
	done
	exit 1
}

# xmppgate holds two descriptors per session; the sink and the clients one.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 20000 ]; then
	ulimit -n 20000
else
	ulimit -n "$hard"
fi
nofile=$(ulimit -n)
if [ $((idle * 2 + 100)) -gt "$nofile" ]; then
	idle=$(((nofile - 100) / 2))
	echo "run.sh: fd limit $nofile: idle sessions reduced to $idle" >&2
fi

# start NAME CMD...: runs a server in the background, remembers its pid.
start() {
	srv=$1
	shift
	"$@" >"$tmp/$srv.log" 2>&1 &
	last_pid=$!
	pids="$pids $last_pid"
}

# stop PID: stops a server we started and forgets it.
stop() {
	kill "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
	rest=
	for p in $pids; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	pids=$rest
}

# measure LABEL MODE ADDR [ARGS]: one bounded xg-bench client run.
measure() {
	m_label=$1
	m_mode=$2
	m_addr=$3
	shift 3
	if ! timeout 300 "$bench" "$m_mode" -c "$m_addr" "$@" \
	    >"$tmp/$m_label.$m_mode.out" 2>"$tmp/$m_label.$m_mode.err"; then
		die "$m_mode against $m_label failed"
	fi
}

# kv LABEL MODE KEY: a value from a run's key=value line.
kv() {
	sed -n "s/.* $3=\([^ ]*\).*/\1/p" "$tmp/$1.$2.out"
}

# shellcheck disable=SC2046 # eleven port numbers, split on purpose
set -- $("$bench" ports 11)
p_sink=$1 p_relay=$2 p_xg=$3 p_xgjson=$4 p_tsink=$5 p_trelay=$6 p_txg=$7
p_xgf0=$8 p_xgf10=$9 p_xgf100=${10} p_frelay=${11}
sink=127.0.0.1:$p_sink
tsink=127.0.0.1:$p_tsink

start sink "$bench" sink -l "$sink"
sink_pid=$last_pid
"$bench" wait -c "$sink" -t 5 || die "the sink did not start"

# A target runs on a fresh process: idle first, so the RSS baseline is not
# inflated by buffers a throughput run left in the allocator.
run_target() {
	label=$1
	addr=$2
	pid=$3
	"$bench" wait -c "$addr" -t 10 || die "$label did not start"
	if [ -n "$pid" ]; then
		measure "$label" idle "$addr" -n "$idle" -p "$pid" -t 120
	fi
	measure "$label" throughput "$addr" -n "$conns" -t "$secs"
	measure "$label" pingpong "$addr" -s "$rtts" -t 10
	measure "$label" handshake "$addr" -n "$conns" -t "$hs_secs"
	if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
		die "$label exited during the benchmark"
	fi
}

run_target direct "$sink" ""

start relay "$relay" -l "127.0.0.1:$p_relay" -u "$sink"
run_target relay "127.0.0.1:$p_relay" "$last_pid"
stop "$last_pid"

# xmppgate will not stay root unless told to.
root=
if [ "$(id -u)" = 0 ]; then root='"allow_root": true,'; fi
cat >"$tmp/xg.json" <<EOF
{ $root "listen": [ { "address": "127.0.0.1:$p_xg", "tls": "none" } ],
  "upstream": { "address": "$sink", "tls": "none" },
  "logs": [] }
EOF
cat >"$tmp/xgjson.json" <<EOF
{ $root "listen": [ { "address": "127.0.0.1:$p_xgjson", "tls": "none" } ],
  "upstream": { "address": "$sink", "tls": "none" },
  "logs": [ { "type": "json", "path": "$tmp/events.jsonl" } ] }
EOF
for c in xg xgjson; do
	"$xg" -n -c "$tmp/$c.json" >/dev/null 2>"$tmp/$c-check.err" ||
	    die "xmppgate rejects the bench config $c.json"
done

start xg "$xg" -c "$tmp/xg.json"
run_target xg "127.0.0.1:$p_xg" "$last_pid"
stop "$last_pid"

start xgjson "$xg" -c "$tmp/xgjson.json"
run_target xgjson "127.0.0.1:$p_xgjson" "$last_pid"
stop "$last_pid"
events_bytes=$(wc -c <"$tmp/events.jsonl")
grep -q '"event":"stanza"' "$tmp/events.jsonl" ||
    die "xmppgate wrote no stanza events to its JSON log"
# Hundreds of MB: gone before the kernel spends the next runs' CPU on
# writing them back.
rm -f "$tmp/events.jsonl"

# ---- filters: the content policy's cost ----
# xmppgate with 0, 10 and 100 regex rules (rules.awk) and the plain relay,
# throughput only: four processes started together, measured in
# interleaved rounds so that machine noise and drift fall on all of them
# alike; each target's best round is reported.
f_rounds=${XG_BENCH_FILTER_ROUNDS:-3}
f_secs=${XG_BENCH_FILTER_SECS:-2}
rules=$(dirname "$0")/rules.awk
[ -r "$rules" ] || die "$rules is missing"
for nf in 0 10 100; do
	case $nf in
	0) port=$p_xgf0 ;;
	10) port=$p_xgf10 ;;
	*) port=$p_xgf100 ;;
	esac
	awk -v n="$nf" -f "$rules" >"$tmp/rules$nf.json" ||
	    die "rules.awk failed for $nf rules"
	cat >"$tmp/xgf$nf.json" <<EOF
{ $root "listen": [ { "address": "127.0.0.1:$port", "tls": "none" } ],
  "upstream": { "address": "$sink", "tls": "none" },
  "logs": [],
  "filters": $(cat "$tmp/rules$nf.json") }
EOF
	"$xg" -n -c "$tmp/xgf$nf.json" >/dev/null 2>"$tmp/xgf$nf-check.err" ||
	    die "xmppgate rejects the bench config xgf$nf.json"
	start "xgf$nf" "$xg" -c "$tmp/xgf$nf.json"
	case $nf in
	0) pid_xgf0=$last_pid ;;
	10) pid_xgf10=$last_pid ;;
	*) pid_xgf100=$last_pid ;;
	esac
done
start frelay "$relay" -l "127.0.0.1:$p_frelay" -u "$sink"
pid_frelay=$last_pid
for t in "xgf0 $p_xgf0" "xgf10 $p_xgf10" "xgf100 $p_xgf100" \
    "frelay $p_frelay"; do
	# shellcheck disable=SC2086 # "NAME PORT": split on purpose
	set -- $t
	"$bench" wait -c "127.0.0.1:$2" -t 10 || die "$1 did not start"
done
r=1
while [ "$r" -le "$f_rounds" ]; do
	for t in "xgf0 $p_xgf0" "xgf10 $p_xgf10" "xgf100 $p_xgf100" \
	    "frelay $p_frelay"; do
		# shellcheck disable=SC2086 # split on purpose
		set -- $t
		measure "$1-$r" throughput "127.0.0.1:$2" -n "$conns" \
		    -t "$f_secs"
	done
	r=$((r + 1))
done
for t in "xgf0 $pid_xgf0 0" "xgf10 $pid_xgf10 10" "xgf100 $pid_xgf100 100"; do
	# shellcheck disable=SC2086 # "NAME PID RULES": split on purpose
	set -- $t
	kill -0 "$2" 2>/dev/null || die "$1 exited during the benchmark"
	# The counters, one line per rule: the log rules matched, no rule
	# acted (the sink's verification would fail on any action too).
	kill -USR1 "$2"
	i=0
	while [ "$(grep -c ' filter=' "$tmp/$1.log")" -lt "$3" ]; do
		i=$((i + 1))
		[ "$i" -le 50 ] || die "$1 wrote no filter counters"
		sleep 0.1
	done
	stop "$2"
	awk '/ filter=/ { for (i = 1; i <= NF; i++) {
		if ($i ~ /^matches=/) m += substr($i, 9)
		if ($i ~ /^actions=/) a += substr($i, 9) } }
	    END { printf "%d %d\n", m, a }' "$tmp/$1.log" >"$tmp/$1.counts"
	read -r f_matches f_actions <"$tmp/$1.counts"
	[ "$f_actions" -eq 0 ] ||
	    die "$1: rules acted $f_actions times on the bench traffic"
	[ "$3" -eq 0 ] || [ "$f_matches" -gt 0 ] ||
	    die "$1: no rule matched: the text rules did not run"
done
kill -0 "$pid_frelay" 2>/dev/null || die "frelay exited during the benchmark"
stop "$pid_frelay"
stop "$sink_pid"

# ---- TLS on every leg ----
# A CA and a certificate for localhost that it signs, for this run only.
tls=$tmp/tls
mkdir "$tls"
# shellcheck disable=SC2086 # $newkey is several arguments on purpose
{
	openssl req -x509 -newkey $newkey -nodes -days 2 \
	    -subj "/CN=xg-bench CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" &&
	openssl req -new -newkey $newkey -nodes -subj "/CN=localhost" \
	    -keyout "$tls/server.key" -out "$tls/server.csr" &&
	printf '%s\n' "subjectAltName=DNS:localhost" \
	    "basicConstraints=critical,CA:FALSE" \
	    "extendedKeyUsage=serverAuth" >"$tls/ext.cnf" &&
	openssl x509 -req -days 2 -set_serial 1 -in "$tls/server.csr" \
	    -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -extfile "$tls/ext.cnf" \
	    -out "$tls/server.pem"
} >"$tmp/openssl.log" 2>&1 || die "openssl could not make the certificates"
chmod 600 "$tls/ca.key" "$tls/server.key"

# run_tls_target LABEL ADDR PID: setups, then throughput, all over TLS.
run_tls_target() {
	label=$1
	addr=$2
	pid=$3
	"$bench" wait -c "$addr" -t 10 || die "$label did not start"
	measure "$label" handshake "$addr" -n "$conns" -t "$hs_secs" \
	    -A "$tls/ca.pem"
	measure "$label" throughput "$addr" -n "$conns" -t "$secs" \
	    -A "$tls/ca.pem"
	if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
		die "$label exited during the benchmark"
	fi
}

start tsink "$bench" sink -l "$tsink" -C "$tls/server.pem" \
    -K "$tls/server.key"
tsink_pid=$last_pid
run_tls_target tdirect "$tsink" ""

start trelay "$relay" -l "127.0.0.1:$p_trelay" -u "$tsink" \
    -C "$tls/server.pem" -K "$tls/server.key" -A "$tls/ca.pem" -N localhost
run_tls_target trelay "127.0.0.1:$p_trelay" "$last_pid"
stop "$last_pid"

cat >"$tmp/txg.json" <<EOF
{ $root "listen": [ { "address": "127.0.0.1:$p_txg", "tls": "direct" } ],
  "upstream": { "address": "$tsink", "tls": "direct",
                "ca_file": "$tls/ca.pem", "server_name": "localhost" },
  "tls": { "cert": "$tls/server.pem", "key": "$tls/server.key" },
  "logs": [] }
EOF
"$xg" -n -c "$tmp/txg.json" >/dev/null 2>"$tmp/txg-check.err" ||
    die "xmppgate rejects the TLS bench config txg.json"
start txg "$xg" -c "$tmp/txg.json"
run_tls_target txg "127.0.0.1:$p_txg" "$last_pid"
stop "$last_pid"
stop "$tsink_pid"
t_end=$(date +%s)

# ---- the table ----
name() {
	case $1 in
	direct) echo "direct to sink" ;;
	relay) echo "xg-relay (plain TCP)" ;;
	xg) echo "xmppgate, no logs" ;;
	xgjson) echo "xmppgate, JSON events" ;;
	tdirect) echo "direct to sink" ;;
	trelay) echo "xg-relay (TLS both legs)" ;;
	txg) echo "xmppgate (TLS both legs)" ;;
	esac
}
cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1)
pool=$("$bench" gen | wc -c)
echo
echo "xmppgate benchmark: $(nproc) CPUs ($cpu), Linux $(uname -r)"
echo "stream: a pool of 8192 stanzas ($pool bytes, sent in a loop):" \
    "76% chat, 12% presence, 10% iq, 2% multi-KB chat"
echo "each target: $conns connections x ${secs}s, measured at the sink," \
    "every byte and stanza verified"
if grep -qa __asan_init "$xg"; then
	echo "WARNING: xmppgate is built with sanitizers: not representative"
fi
echo
d_mb=$(kv direct throughput mbps)
r_mb=$(kv relay throughput mbps)
printf '%-24s %9s %12s %10s %9s\n' "throughput" "MB/s" "stanzas/s" \
    "vs direct" "vs relay"
for t in direct relay xg xgjson; do
	mb=$(kv $t throughput mbps)
	printf '%-24s %9.1f %12.0f %10.3f %9.3f\n' "$(name $t)" "$mb" \
	    "$(kv $t throughput sps)" \
	    "$(echo "$mb $d_mb" | awk '{print $1 / $2}')" \
	    "$(echo "$mb $r_mb" | awk '{print $1 / $2}')"
done
echo "(JSON event log: $events_bytes bytes for the whole xmppgate-JSON run)"
echo
# f_best TARGET: "best-MB/s its-stanzas/s worst-MB/s all-stanzas" over
# the target's rounds.
f_best() {
	cat "$tmp/$1"-[0-9]*.throughput.out | awk '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			v[kv[1]] = kv[2]
		}
		if (NR == 1 || v["mbps"] + 0 > best) {
			best = v["mbps"] + 0
			sps = v["sps"]
		}
		if (NR == 1 || v["mbps"] + 0 < worst)
			worst = v["mbps"] + 0
		n += v["stanzas"]
	} END { print best, sps, worst, n }'
}
read -r f0_mb f_sps f_worst f_n <<EOF
$(f_best xgf0)
EOF
read -r fr_mb f_sps f_worst f_n <<EOF
$(f_best frelay)
EOF
echo "throughput with filters: $conns connections, best of $f_rounds" \
    "interleaved rounds of ${f_secs}s"
printf '%-24s %9s %12s %9s %9s %13s %11s\n' "throughput, filters" \
    "MB/s" "stanzas/s" "vs none" "vs relay" "rounds MB/s" "matches/st."
for t in frelay xgf0 xgf10 xgf100; do
	read -r mb f_sps f_worst f_n <<EOF
$(f_best "$t")
EOF
	if [ "$t" = frelay ]; then
		label="xg-relay (plain TCP)"
		per=-
	else
		label="xmppgate, ${t#xgf} rules"
		read -r f_matches f_actions <"$tmp/$t.counts"
		per=$(echo "$f_matches $f_n" | awk '{printf "%.2f", $1 / $2}')
	fi
	printf '%-24s %9.1f %12.0f %9.3f %9.3f %13s %11s\n' "$label" "$mb" \
	    "$f_sps" "$(echo "$mb $f0_mb" | awk '{print $1 / $2}')" \
	    "$(echo "$mb $fr_mb" | awk '{print $1 / $2}')" \
	    "$(printf '%.1f-%.1f' "$f_worst" "$mb")" "$per"
done
echo "(regex rules from rules.awk, no event log; the rules that matched" \
    "only logged: nothing was dropped or rewritten)"
echo
printf '%-24s %9s %9s %9s   (%s round trips, 1 connection)\n' "ping-pong" \
    "p50 us" "p99 us" "mean us" "$(kv direct pingpong n)"
for t in direct relay xg xgjson; do
	printf '%-24s %9s %9s %9s\n' "$(name $t)" "$(kv $t pingpong p50_us)" \
	    "$(kv $t pingpong p99_us)" "$(kv $t pingpong mean_us)"
done
echo
printf '%-24s %9s %12s %12s   (%s logged-in idle sessions)\n' "idle RSS" \
    "before kB" "after kB" "per session" "$idle"
for t in relay xg xgjson; do
	printf '%-24s %9s %12s %10.1f KiB\n' "$(name $t)" \
	    "$(kv $t idle rss_before_kb)" "$(kv $t idle rss_after_kb)" \
	    "$(kv $t idle per_session_b | awk '{print $1 / 1024}')"
done
echo

# setups_table TITLE DIRECT RELAY TARGETS...: connection setups per second.
setups_table() {
	s_title=$1
	d_hs=$(kv "$2" handshake per_s)
	r_hs=$(kv "$3" handshake per_s)
	shift 3
	printf '%-24s %9s %9s %9s %10s %9s\n' "$s_title" "setups/s" \
	    "p50 ms" "p99 ms" "vs direct" "vs relay"
	for t in "$@"; do
		hs=$(kv "$t" handshake per_s)
		printf '%-24s %9.0f %9s %9s %10.3f %9.3f\n' "$(name "$t")" \
		    "$hs" "$(kv "$t" handshake p50_ms)" \
		    "$(kv "$t" handshake p99_ms)" \
		    "$(echo "$hs $d_hs" | awk '{print $1 / $2}')" \
		    "$(echo "$hs $r_hs" | awk '{print $1 / $2}')"
	done
}

echo "connection setups: $conns connections, each in a loop for ${hs_secs}s:" \
    "connect, stream header, features, stream close"
setups_table "setups, plain TCP" direct relay direct relay xg xgjson
echo
echo "TLS on every leg: direct TLS (XEP-0368), $keyname certificate"
echo "verified against the run's own CA; full handshakes, no resumption"
echo "negotiated toward the client:"
for t in tdirect trelay txg; do
	printf '  %-24s %s %s alpn=%s\n' "$(name "$t")" \
	    "$(kv "$t" handshake tls)" "$(kv "$t" handshake cipher)" \
	    "$(kv "$t" handshake alpn)"
done
setups_table "setups, TLS" tdirect trelay tdirect trelay txg
echo
d_mb=$(kv tdirect throughput mbps)
r_mb=$(kv trelay throughput mbps)
printf '%-24s %9s %12s %10s %9s\n' "throughput, TLS" "MB/s" "stanzas/s" \
    "vs direct" "vs relay"
for t in tdirect trelay txg; do
	mb=$(kv $t throughput mbps)
	printf '%-24s %9.1f %12.0f %10.3f %9.3f\n' "$(name $t)" "$mb" \
	    "$(kv $t throughput sps)" \
	    "$(echo "$mb $d_mb" | awk '{print $1 / $2}')" \
	    "$(echo "$mb $r_mb" | awk '{print $1 / $2}')"
done
echo
echo "run.sh took $((t_end - t_start)) s"
