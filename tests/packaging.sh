#!/bin/sh
# SPDX-License-Identifier: ISC
# The files for running xmppgate as a service, as shipped:
# examples/xmppgate.service passes `systemd-analyze verify` (pointed at the
# built daemon) and keeps its sandbox (`systemd-analyze security` exposure
# at most 2.0); the copy make installs names this installation's paths;
# examples/service/xmppgate.json, the config it runs, passes `xmppgate -n`
# once its paths lead to a temporary directory; examples/xmppgate.logrotate
# passes `logrotate -d`, and a real rotation with it (its postrotate
# sending SIGHUP to a running xmppgate, as systemctl reload would) leaves
# every session's events in exactly one file, the moved one compressed a
# rotation later. TAP on stdout; run by `make check`.

top_srcdir=${XG_TOP_SRCDIR:-.}
top_builddir=${XG_TOP_BUILDDIR:-$top_srcdir}
bin=${XG_BIN:-$top_builddir/proxy/xmppgate}
unit=$top_srcdir/examples/xmppgate.service
rotate=$top_srcdir/examples/xmppgate.logrotate
service_cfg=$top_srcdir/examples/service/xmppgate.json
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-packaging.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
out=$tmp/out
# shellcheck source=tap.sh source-path=SCRIPTDIR
. "$(dirname "$0")/tap.sh"

[ -x "$bin" ] || bail_out "$bin is not built"

# --- the systemd unit
if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze verify examples/xmppgate.service" \
	    "systemd-analyze is not installed"
	skip "systemd-analyze security examples/xmppgate.service" \
	    "systemd-analyze is not installed"
else
	# verify wants ExecStart's program to exist, and the pages that
	# Documentation= names: the built ones, when man can look them up.
	mkdir -p "$tmp/unit" "$tmp/man/man5" "$tmp/man/man8"
	sed "s|^ExecStart=/usr/sbin/xmppgate |ExecStart=$bin |" "$unit" \
	    >"$tmp/unit/xmppgate.service"
	cp "$top_builddir/man/xmppgate.8" "$tmp/man/man8/" 2>/dev/null
	cp "$top_builddir/man/xmppgate.conf.5" "$tmp/man/man5/" 2>/dev/null
	man_opt=--man=no
	if command -v man >/dev/null 2>&1 &&
	    [ -f "$tmp/man/man8/xmppgate.8" ]; then
		man_opt=--man=yes
	fi
	MANPATH=$tmp/man systemd-analyze verify "$man_opt" \
	    "$tmp/unit/xmppgate.service" >"$out" 2>&1
	rc=$?
	if [ "$rc" = 0 ] && ! grep -q xmppgate "$out"; then
		ok "systemd-analyze verify examples/xmppgate.service ($man_opt)"
	else
		not_ok "systemd-analyze verify examples/xmppgate.service (exit $rc)"
		show "$out"
	fi
	systemd-analyze security --offline=yes --threshold=20 \
	    "$tmp/unit/xmppgate.service" >"$out" 2>&1
	rc=$?
	level=$(sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]*\).*/\1/p' "$out")
	if [ "$rc" = 0 ]; then
		ok "the unit's sandbox: exposure ${level:-?} of at most 2.0"
	else
		not_ok "the unit's sandbox: exposure ${level:-?}, above 2.0 (exit $rc)"
		grep '✗' "$out" | show /dev/stdin
	fi
fi
if grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" &&
    grep -qx 'KillMode=mixed' "$unit" &&
    grep -qx 'KillSignal=SIGTERM' "$unit"; then
	ok "the unit reloads with SIGHUP and stops the main process with SIGTERM"
else
	not_ok "the unit's ExecReload, KillMode or KillSignal"
fi
# TimeoutStopSec above the grace, and 2 s more for workers.
grace=$(sed -n 's/.*"shutdown_grace_s": *\([0-9]*\).*/\1/p' "$service_cfg")
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
if [ -n "$grace" ] && [ -n "$stop" ] && [ "$stop" -gt $((grace + 2)) ]; then
	ok "TimeoutStopSec=$stop exceeds shutdown_grace_s $grace + 2"
else
	not_ok "TimeoutStopSec=${stop:-?} against shutdown_grace_s ${grace:-?}"
fi

# The copies make installs: this installation's paths.
if [ -n "${XG_SBINDIR:-}" ] && [ -n "${XG_SYSCONFDIR:-}" ]; then
	want="ExecStart=$XG_SBINDIR/xmppgate -c $XG_SYSCONFDIR/xmppgate/xmppgate.json"
	if grep -qxF -- "$want" "$top_builddir/xmppgate.service"; then
		ok "the unit make installs says $want"
	else
		not_ok "the unit make installs lacks: $want"
		grep '^ExecStart' "$top_builddir/xmppgate.service" | show /dev/stdin
	fi
	want="\"cert\": \"$XG_SYSCONFDIR/xmppgate/fullchain.pem\","
	if grep -qF -- "$want" "$top_builddir/xmppgate.json.example"; then
		ok "xmppgate.json.example names $XG_SYSCONFDIR/xmppgate/"
	else
		not_ok "xmppgate.json.example lacks: $want"
	fi
else
	skip "the installed unit's paths" "XG_SBINDIR and XG_SYSCONFDIR unset"
fi

# --- the config the unit runs
mkdir -p "$tmp/etc" "$tmp/log"
if ! command -v openssl >/dev/null 2>&1; then
	skip "examples/service/xmppgate.json passes -n" "no openssl command"
elif ! sh "$top_srcdir/examples/make-certs.sh" -o "$tmp/etc" >"$out" 2>&1
then
	not_ok "make-certs.sh for the service config"
	show "$out"
else
	cp "$tmp/etc/server.pem" "$tmp/etc/fullchain.pem"
	cp -p "$tmp/etc/server.key" "$tmp/etc/privkey.pem"
	sed -e "s|/etc/xmppgate/|$tmp/etc/|g" \
	    -e "s|/var/log/xmppgate/|$tmp/log/|g" \
	    -e 's|"user": "xmppgate"|"user": "nobody"|' \
	    "$service_cfg" >"$tmp/service.json"
	if "$bin" -n -c "$tmp/service.json" >"$out" 2>&1 &&
	    ! grep -qi warn "$out"; then
		ok "examples/service/xmppgate.json passes -n without a warning"
	else
		not_ok "examples/service/xmppgate.json does not pass -n"
		show "$out"
	fi
fi

# --- logrotate
# The snippet as shipped but for its directory and its "su" (the user
# running the test instead of xmppgate, who may not exist here).
me=$(id -un)
us=$(id -gn)
sed -e "s|/var/log/xmppgate/|$tmp/log/|" \
    -e "s|^\\( *su \\)xmppgate xmppgate\$|\\1$me $us|" \
    "$rotate" >"$tmp/logrotate.conf"
chmod 644 "$tmp/logrotate.conf"
if ! command -v logrotate >/dev/null 2>&1; then
	skip "logrotate -d examples/xmppgate.logrotate" "logrotate is not installed"
	skip "a rotation with examples/xmppgate.logrotate" "logrotate is not installed"
	done_testing
	exit
fi
echo '{}' >"$tmp/log/events.jsonl"
if logrotate -d -f -s "$tmp/state" "$tmp/logrotate.conf" >"$out" 2>&1 &&
    ! grep -qi 'error' "$out" && grep -q 'events.jsonl' "$out"; then
	ok "logrotate -d examples/xmppgate.logrotate: no error"
else
	not_ok "logrotate -d examples/xmppgate.logrotate"
	show "$out"
fi
rm -f "$tmp/log/events.jsonl" "$tmp/state"

if ! command -v python3 >/dev/null 2>&1; then
	skip "a rotation with examples/xmppgate.logrotate" "no python3"
	done_testing
	exit
fi

# connect PORT: one client that sends a stream header; the upstream is
# unreachable, so the session opens and closes at once, with events.
connect() {
	python3 - "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' "
          b"xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
try:
    while s.recv(4096):
        pass
except OSError:
    pass
EOF
}

# closes FILE: how many session.close events it holds.
closes() {
	grep -c '"event":"session.close"' "$1" 2>/dev/null
}

# wait_for COND...: retries a command for up to 5 s.
wait_for() {
	i=0
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -ge 50 ] && return 1
		sleep 0.1
	done
}

has_closes() {
	[ "$(closes "$1")" = "$2" ]
}

# reopened N: xmppgate has reopened its files N times (a SIGHUP each).
reopened() {
	[ "$(grep -c 'reopen:' "$tmp/xg.err")" = "$1" ]
}

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# (allow_root: the test may run as root, and its directory is root's.)
printf '{ "allow_root": true,\n  "logs": [ { "type": "json", "path": "%s" } ] }\n' \
    "$tmp/log/events.jsonl" >"$tmp/rot.json"
"$bin" -c "$tmp/rot.json" -l "127.0.0.1:$port" -u 127.0.0.1:1 \
    >"$tmp/xg.out" 2>"$tmp/xg.err" &
pid=$!
sed -e "s|^\\( *\\)systemctl try-reload-or-restart xmppgate.service\$|\\1kill -HUP $pid|" \
    "$tmp/logrotate.conf" >"$tmp/logrotate-hup.conf"
chmod 644 "$tmp/logrotate-hup.conf"
if ! grep -q "kill -HUP $pid" "$tmp/logrotate-hup.conf"; then
	not_ok "the snippet's postrotate is systemctl try-reload-or-restart"
elif ! wait_for grep -q running "$tmp/xg.err"; then
	not_ok "xmppgate for the rotation did not start"
	show "$tmp/xg.err"
else
	connect "$port"
	wait_for has_closes "$tmp/log/events.jsonl" 1
	logrotate -f -s "$tmp/state" "$tmp/logrotate-hup.conf" >"$out" 2>&1
	rc1=$?
	wait_for reopened 1
	connect "$port"
	wait_for has_closes "$tmp/log/events.jsonl" 1
	logrotate -f -s "$tmp/state" "$tmp/logrotate-hup.conf" >>"$out" 2>&1
	rc2=$?
	wait_for reopened 2
	connect "$port"
	wait_for has_closes "$tmp/log/events.jsonl" 1
	first=$(gzip -dc "$tmp/log/events.jsonl.2.gz" 2>/dev/null |
	    grep -c '"event":"session.close"')
	second=$(closes "$tmp/log/events.jsonl.1")
	third=$(closes "$tmp/log/events.jsonl")
	if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$first" = 1 ] &&
	    [ "$second" = 1 ] && [ "$third" = 1 ]; then
		ok "two rotations: each session in one file (events.jsonl.2.gz, .1, the new one)"
	else
		not_ok "rotations: exits $rc1 $rc2, sessions in .2.gz ${first:-?}, .1 ${second:-?}, new ${third:-?}"
		show "$out"
		ls -l "$tmp/log" | show /dev/stdin
		show "$tmp/xg.err"
	fi
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=

done_testing
