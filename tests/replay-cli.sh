#!/bin/sh
# SPDX-License-Identifier: ISC
# xmppgate-replay's command line: help and version exit 0; every usage
# error exits 2 with a message naming the option; a recording that cannot
# be read exits 2 naming the file. Nothing here connects anywhere (the
# integration test t-replay.py runs real replays). TAP on stdout; run by
# `make check` with XG_REPLAY_BIN.

top_srcdir=${XG_TOP_SRCDIR:-.}
top_builddir=${XG_TOP_BUILDDIR:-$top_srcdir}
bin=${XG_REPLAY_BIN:-$top_builddir/replay/xmppgate-replay}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-replay-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
out=$tmp/out
err=$tmp/err
# shellcheck source=tap.sh source-path=SCRIPTDIR
. "$(dirname "$0")/tap.sh"

# run ARGS...: runs the program without credentials in the environment.
run() {
	env -u XG_REPLAY_JID -u XG_REPLAY_PASSWORD "$bin" "$@" >"$out" \
		2>"$err" </dev/null
	rc=$?
}

[ -x "$bin" ] || skip_all "$bin is not built"

rec=$tmp/rec.jsonl
printf '%s\n' '{"ts":"2026-01-01T00:00:00Z","session":"s","event":"bind","jid":"a@b/c"}' >"$rec"

run -h
[ $rc = 0 ] && has "$out" "usage: xmppgate-replay" && has "$out" "--serve ADDR:PORT" &&
	has "$out" "XG_REPLAY_PASSWORD"
check $? "-h exits 0 and prints the usage with both modes"

version=$(sed -n 's/^AC_INIT(\[xmppgate\], *\[\([^]]*\)\].*/\1/p' \
	"$top_srcdir/configure.ac" 2>/dev/null)
run -V
[ $rc = 0 ] && [ -n "$version" ] && has "$out" "xmppgate-replay $version"
check $? "-V exits 0 and prints 'xmppgate-replay ${version:-?}'"

# usage ERRTEXT ARGS...: exit status 2 and ERRTEXT on stderr.
usage() {
	want=$1
	shift
	run "$@"
	[ $rc = 2 ] && has "$err" "$want" && has "$err" "(try -h)"
	check $? "usage error: $want"
}

usage "no RECORDING given" --server 127.0.0.1:5222
usage "one RECORDING only" --server 127.0.0.1:5222 --jid a@b "$rec" "$rec"
usage "give exactly one of --server" "$rec"
usage "give exactly one of --server" --server h:1 --serve 127.0.0.1:1 "$rec"
usage "unknown option --nope" --nope "$rec"
usage "--server needs a value" --server
usage "--tls smtp: expected starttls, direct or none" --server h:1 --tls smtp "$rec"
usage "--mechanism DIGEST-MD5" --server h:1 --mechanism DIGEST-MD5 "$rec"
usage "--speed 0: expected a number above 0" --server h:1 --speed 0 "$rec"
usage "--speed and --fast exclude each other" --server h:1 --speed 2 --fast "$rec"
usage "--timeout x: expected seconds above 0" --server h:1 --timeout x "$rec"
usage "--map bob: expected OLD=NEW" --server h:1 --map bob "$rec"
usage "client mode needs the account: --jid" --server h:1 "$rec"
usage "client mode needs the password: XG_REPLAY_PASSWORD" --server h:1 --jid a@b "$rec"
usage "--tls is for client mode" --serve 127.0.0.1:1 --tls none "$rec"
usage "--jid is for client mode" --serve 127.0.0.1:1 --jid a@b "$rec"
usage "--cert is for server mode" --server h:1 --cert c.pem "$rec"
usage "--cert and --key go together" --serve 127.0.0.1:1 --cert c.pem "$rec"
usage "--ca and --no-verify exclude each other" --server h:1 --ca x --no-verify "$rec"

XG_REPLAY_PASSWORD=secret-pw-42 "$bin" --server 127.0.0.1:1 --jid a@b \
	"$tmp/missing.jsonl" >"$out" 2>"$err" </dev/null
rc=$?
[ $rc = 2 ] && has "$err" "$tmp/missing.jsonl: No such file" &&
	! has "$err" "secret-pw-42"
check $? "a missing recording exits 2 naming the file (the password stays out)"

printf '{"ts":"2026-01-01T00:00:00Z","session":"s","event":"bind","jid":"a@b/c"}\n{"event":\n' >"$tmp/cut.jsonl"
XG_REPLAY_PASSWORD=x "$bin" --server 127.0.0.1:1 --jid a@b "$tmp/cut.jsonl" \
	>"$out" 2>"$err" </dev/null
rc=$?
[ $rc = 2 ] && has "$err" "$tmp/cut.jsonl:2: not valid JSON"
check $? "a broken line exits 2 naming the file and line"

run --serve 127.0.0.1:99999 "$rec"
[ $rc = 2 ] && has "$err" "--serve 127.0.0.1:99999"
check $? "--serve with a bad port exits 2 naming it"

run --serve 127.0.0.1:1 --cert "$tmp/none.pem" --key "$tmp/none.key" "$rec"
[ $rc = 2 ] && has "$err" "none.pem"
check $? "--serve with a missing certificate exits 2 naming it"

printf '{"ts":"2026-01-01T00:00:00Z","session":"s","event":"session.open"}\n' >"$tmp/nobind.jsonl"
XG_REPLAY_PASSWORD=x "$bin" --server 127.0.0.1:1 --jid a@b "$tmp/nobind.jsonl" \
	>"$out" 2>"$err" </dev/null
rc=$?
[ $rc = 2 ] && has "$err" "no bind event"
check $? "a session that never bound exits 2 saying so"

done_testing
