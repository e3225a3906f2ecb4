#!/bin/sh
# SPDX-License-Identifier: ISC
# TAP: the README's first command runs `make demo` (examples/demo.sh), and
# the Replay section `make replay-demo` (examples/replay-demo.sh): each must
# run to its end against a real Prosody and real clients, and show what it
# promises. Run by `make check` with XG_BIN, XG_REPLAY_BIN and
# XG_TOP_SRCDIR; in CI (CI=true) a missing Prosody or slixmpp is a failure.

top_srcdir=${XG_TOP_SRCDIR:-.}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-demos.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
# shellcheck source=tap.sh source-path=SCRIPTDIR
. "$(dirname "$0")/tap.sh"

# fails DESCRIPTION: not ok, with the end of what the demo printed.
fails() {
	not_ok "$1"
	tail -n 30 "$tmp/out" | show /dev/stdin
}

# demo NAME SCRIPT WANT...: the script exits 0 and prints every WANT.
demo() {
	name=$1
	script=$2
	shift 2
	if ! timeout 300 bash "$top_srcdir/examples/$script" \
	    >"$tmp/out" 2>&1 </dev/null; then
		fails "$name exits 0"
		return
	fi
	ok "$name exits 0"
	for want in "$@"; do
		if has "$tmp/out" "$want"; then
			ok "$name shows: $want"
		else
			fails "$name shows: $want"
		fi
	done
	# "... and /tmp/xmppgate-demo.XXXX is removed": nothing it started
	# may still run from there.
	dir=$(sed -n 's/.* and \(\/[^ ]*\) is removed\.$/\1/p' "$tmp/out")
	if [ -n "$dir" ] && ! pgrep -f -- "$dir/" >/dev/null 2>&1; then
		ok "$name leaves no process behind"
	else
		fails "$name leaves no process behind (${dir:-no dir named})"
	fi
}

if ! command -v prosody >/dev/null 2>&1 ||
    ! /usr/bin/python3 -c 'import slixmpp' 2>/dev/null; then
	skip_all "Prosody or slixmpp is not installed"
fi

demo "make demo" demo.sh \
    "Hi Bob! Is &lt;this&gt; &amp; that getting through?" \
    "occurrences of the passwords in events.jsonl: 0" \
    "== Done"
demo "make replay-demo" replay-demo.sh \
    "OK: every expected answer came and matched" \
    "OK: every recorded client stanza came, nothing unexpected" \
    "== Done"

done_testing
