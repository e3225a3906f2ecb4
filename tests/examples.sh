# SPDX-License-Identifier: ISC
#
# TAP: every shipped examples/*.json passes `xmppgate -n -c FILE`, and a set
# of broken configs (written to a temporary directory here) is refused with a
# non-zero exit, no crash, and a message on stderr that names the JSON path.
# Run by `make check` with XG_BIN (the daemon) and XG_TOP_SRCDIR (the source).

set -u

: "${XG_BIN:?XG_BIN must name the xmppgate binary}"
: "${XG_TOP_SRCDIR:?XG_TOP_SRCDIR must name the source directory}"

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

if [ ! -x "$XG_BIN" ]; then
	echo "Bail out! no xmppgate binary at $XG_BIN"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-examples.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# Diagnostics (indented TAP comments) for the last run.
show() {
	sed 's/^/#   /' "$tmp/out" "$tmp/err"
}

# accepts NAME ARGS...: xmppgate -n ARGS must exit 0.
accepts() {
	name=$1
	shift
	if "$XG_BIN" -n "$@" >"$tmp/out" 2>"$tmp/err"; then
		ok "$name"
	else
		not_ok "$name (exit $?)"
		show
	fi
}

# refuses NAME WANT ARGS...: xmppgate -n ARGS must exit 1-127 (an error, not
# a signal) and print WANT (a fixed string) on stderr.
refuses() {
	name=$1
	want=$2
	shift 2
	"$XG_BIN" -n "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 0 ] || [ "$rc" -gt 127 ]; then
		not_ok "$name (exit $rc)"
		show
	elif ! grep -qF -- "$want" "$tmp/err"; then
		not_ok "$name (stderr lacks: $want)"
		show
	else
		ok "$name"
	fi
}

# bad NAME WANT JSON: the config JSON must be refused with WANT on stderr.
bad() {
	printf '%s\n' "$3" >"$tmp/$1.json"
	refuses "$1" "$2" -c "$tmp/$1.json"
}

# The shipped examples, each as a user would check it.
count=0
for f in "$XG_TOP_SRCDIR"/examples/*.json; do
	[ -e "$f" ] || continue
	count=$((count + 1))
	accepts "examples/${f##*/} is valid" -c "$f"
done
if [ "$count" -ge 4 ]; then
	ok "found $count example configs"
else
	not_ok "found $count example configs, expected at least 4"
fi

# The command line supplies what the file leaves out.
printf '%s\n' '{ "limits": { "idle_timeout_s": 60 } }' >"$tmp/partial.json"
accepts "-l and -u complete a partial config" -c "$tmp/partial.json" \
    -l 127.0.0.1:5222 -u 127.0.0.1:15222
refuses "a partial config alone is refused" \
    "listen: at least one listener is required" -c "$tmp/partial.json"

L='"listen": [{"address": "127.0.0.1:5222"}]'
U='"upstream": {"address": "127.0.0.1:15222"}'

bad stanza-floor "limits.max_stanza_bytes: must be at least 10000" \
    "{$L, $U, \"limits\": {\"max_stanza_bytes\": 100}}"
bad idle-fraction "limits.idle_timeout_s: expected a whole number" \
    "{$L, $U, \"limits\": {\"idle_timeout_s\": 1.5}}"
bad idle-string "limits.idle_timeout_s: expected a number" \
    "{$L, $U, \"limits\": {\"idle_timeout_s\": \"900\"}}"
bad second-listener "listen[1].address: '127.0.0.1:99999': port out of range" \
    "{\"listen\": [{\"address\": \"127.0.0.1:5222\"},
     {\"address\": \"127.0.0.1:99999\"}], $U}"
bad listener-hostname "listen[0].address: 'localhost:5222': not a numeric" \
    "{\"listen\": [{\"address\": \"localhost:5222\"}], $U}"
bad upstream-typo "upstream.adress: unknown key" \
    "{$L, \"upstream\": {\"adress\": \"127.0.0.1:15222\"}}"
bad upstream-port "upstream.address: '127.0.0.1': missing port" \
    "{$L, \"upstream\": {\"address\": \"127.0.0.1\"}}"
bad listen-starttls "listen[0].tls: 'starttls' is not supported yet" \
    "{\"listen\": [{\"address\": \"127.0.0.1:5222\", \"tls\": \"starttls\"}],
     $U}"
bad filters-element "filters[0]: filter types arrive with issue 4" \
    "{$L, $U, \"filters\": [{\"type\": \"regex\"}]}"
bad logs-record "logs[0].type: 'record' is not supported yet" \
    "{$L, $U, \"logs\": [{\"type\": \"record\", \"dir\": \"/tmp\"}]}"
bad invalid-json "line 3, column 3: invalid JSON" \
    "{
  $L
  $U
}"
bad not-an-object "top level: expected an object" "[]"

refuses "a missing file is named" "$tmp/no-such-file.json" \
    -c "$tmp/no-such-file.json"
refuses "-l with a bad port" "-l 127.0.0.1:99999: port out of range" \
    -l 127.0.0.1:99999 -u 127.0.0.1:15222

echo "1..$n"
[ "$failed" -eq 0 ]
