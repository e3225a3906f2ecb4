#!/bin/sh
# SPDX-License-Identifier: ISC
# The xmppgate benchmark (`make bench`, which builds first; this builds
# nothing). On free loopback ports it starts the xg-bench sink, the plain
# relay xg-relay and xmppgate (once without event logs, once writing JSON
# events to a file), then measures each target in the same run: throughput
# of a realistic stanza stream (verified byte-exact at the sink), ping-pong
# latency, and RSS per idle logged-in session. It prints one table. Every
# step is bounded in time; it stops only the processes it started and
# removes its temporary directory. Not part of `make check`: nothing there
# depends on speed.
#
# Knobs (environment): XG_BENCH_SECS (throughput seconds per target, 5),
# XG_BENCH_CONNS (throughput connections, 4), XG_BENCH_ROUNDTRIPS (20000),
# XG_BENCH_IDLE (idle sessions, 5000).
# ulimit -n/-H are not POSIX, but dash and bash both have them.
# shellcheck disable=SC3045
set -eu

secs=${XG_BENCH_SECS:-5}
conns=${XG_BENCH_CONNS:-4}
rtts=${XG_BENCH_ROUNDTRIPS:-20000}
idle=${XG_BENCH_IDLE:-5000}
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

# shellcheck disable=SC2046 # four port numbers, split on purpose
set -- $("$bench" ports 4)
p_sink=$1 p_relay=$2 p_xg=$3 p_xgjson=$4
sink=127.0.0.1:$p_sink

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
	if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
		die "$label exited during the benchmark"
	fi
}

run_target direct "$sink" ""

start relay "$relay" -l "127.0.0.1:$p_relay" -u "$sink"
run_target relay "127.0.0.1:$p_relay" "$last_pid"
stop "$last_pid"

cat >"$tmp/xg.json" <<EOF
{ "listen": [ { "address": "127.0.0.1:$p_xg", "tls": "none" } ],
  "upstream": { "address": "$sink", "tls": "none" },
  "logs": [] }
EOF
cat >"$tmp/xgjson.json" <<EOF
{ "listen": [ { "address": "127.0.0.1:$p_xgjson", "tls": "none" } ],
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

stop "$sink_pid"
t_end=$(date +%s)

# ---- the table ----
name() {
	case $1 in
	direct) echo "direct to sink" ;;
	relay) echo "xg-relay (plain TCP)" ;;
	xg) echo "xmppgate, no logs" ;;
	xgjson) echo "xmppgate, JSON events" ;;
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
echo "run.sh took $((t_end - t_start)) s"
