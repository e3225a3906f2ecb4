# SPDX-License-Identifier: ISC
#
# TAP: every shipped examples/*.json passes `xmppgate -n -c FILE` without a
# warning, and a set of broken configs (written to a temporary directory
# here) is refused with a non-zero exit, no crash, and a message on stderr
# that names the JSON path.
#
# The TLS examples name examples/certs/..., relative to the directory
# xmppgate starts in, and `-n` loads those files (xmppgate.json also names
# the example plugin, which is copied from the build tree). The source tree may be
# read-only (make distcheck) and must stay clean, so examples/make-certs.sh
# writes them under a temporary directory and everything runs from there:
# the examples are checked exactly as shipped, no path rewritten.
# Run by `make check` with XG_BIN (the daemon) and XG_TOP_SRCDIR (the source).

set -u

: "${XG_BIN:?XG_BIN must name the xmppgate binary}"
: "${XG_TOP_SRCDIR:?XG_TOP_SRCDIR must name the source directory}"
# shellcheck source=tap.sh source-path=SCRIPTDIR
. "$(dirname "$0")/tap.sh"

[ -x "$XG_BIN" ] || bail_out "no xmppgate binary at $XG_BIN"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-examples.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp" || exit 1
certs=examples/certs

# show_run: the last run's stdout and stderr, as TAP comments.
show_run() {
	show "$tmp/out" "$tmp/err"
}

# accepts NAME ARGS...: xmppgate -n ARGS must exit 0.
accepts() {
	name=$1
	shift
	if "$XG_BIN" -n "$@" >"$tmp/out" 2>"$tmp/err"; then
		ok "$name"
	else
		not_ok "$name (exit $?)"
		show_run
	fi
}

# clean NAME ARGS...: like accepts, and nothing on stderr may say "warn".
clean() {
	name=$1
	shift
	if ! "$XG_BIN" -n "$@" >"$tmp/out" 2>"$tmp/err"; then
		not_ok "$name (exit $?)"
		show_run
	elif grep -qi warn "$tmp/err"; then
		not_ok "$name (a warning)"
		show_run
	else
		ok "$name"
	fi
}

# warns NAME WANT ARGS...: xmppgate -n ARGS must exit 0 and print WANT.
warns() {
	name=$1
	want=$2
	shift 2
	if ! "$XG_BIN" -n "$@" >"$tmp/out" 2>"$tmp/err"; then
		not_ok "$name (exit $?)"
		show_run
	elif ! grep -qF -- "$want" "$tmp/err"; then
		not_ok "$name (stderr lacks: $want)"
		show_run
	else
		ok "$name"
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
		show_run
	elif ! grep -qF -- "$want" "$tmp/err"; then
		not_ok "$name (stderr lacks: $want)"
		show_run
	else
		ok "$name"
	fi
}

# bad NAME WANT JSON: the config JSON must be refused with WANT on stderr.
bad() {
	printf '%s\n' "$3" >"$tmp/$1.json"
	refuses "$1" "$2" -c "$tmp/$1.json"
}

# The certificates the TLS examples name, made as a user would make them.
have_certs=no
if ! command -v openssl >/dev/null 2>&1 && [ "${CI:-}" != true ]; then
	n=$((n + 1))
	echo "ok $n # SKIP make-certs.sh: no openssl command"
elif sh "$XG_TOP_SRCDIR/examples/make-certs.sh" -o "$certs" \
    >"$tmp/out" 2>"$tmp/err"; then
	have_certs=yes
	ok "examples/make-certs.sh makes the test CA and certificate"
else
	not_ok "examples/make-certs.sh (exit $?)"
	show_run
fi
if [ "$have_certs" = yes ]; then
	modes=$(stat -c '%n=%a' "$certs/ca.key" "$certs/server.key" \
	    "$certs/ca.pem" "$certs/server.pem" | sed "s|$certs/||" | tr '\n' ' ')
	if [ "$modes" = "ca.key=600 server.key=600 ca.pem=644 server.pem=644 " ]
	then
		ok "make-certs.sh: keys mode 0600, certificates 0644"
	else
		not_ok "make-certs.sh: modes $modes"
	fi
	if openssl verify -CAfile "$certs/ca.pem" "$certs/server.pem" \
	    >"$tmp/out" 2>"$tmp/err"; then
		ok "make-certs.sh: the CA signs the server certificate"
	else
		not_ok "make-certs.sh: the server certificate does not verify"
		show_run
	fi
	sh "$XG_TOP_SRCDIR/examples/make-certs.sh" -o "$certs" >"$tmp/out" 2>&1
	if grep -q "keeping the CA" "$tmp/out" &&
	    openssl verify -CAfile "$certs/ca.pem" "$certs/server.pem" \
	    >/dev/null 2>&1; then
		ok "make-certs.sh run again keeps the CA"
	else
		not_ok "make-certs.sh run again"
		show "$tmp/out"
	fi
fi

# The directory the examples record sessions in: it must exist (-n checks).
mkdir -p recordings

# The example plugin, built by make check, where the examples name it.
mkdir -p examples/plugins
if cp "${XG_TOP_BUILDDIR:-.}/examples/plugins/caps-guard.so" \
    examples/plugins/ 2>"$tmp/err"; then
	ok "the example plugin is built"
else
	not_ok "the example plugin is built"
	show_run
fi

# The shipped examples, each as a user would check it: from the directory
# that holds examples/certs and examples/plugins, the file as shipped, no
# warning.
count=0
for f in "$XG_TOP_SRCDIR"/examples/*.json; do
	[ -e "$f" ] || continue
	count=$((count + 1))
	if [ "$have_certs" = no ] && grep -q "$certs/" "$f"; then
		n=$((n + 1))
		echo "ok $n # SKIP examples/${f##*/}: no test certificates"
		continue
	fi
	clean "examples/${f##*/} is valid" -c "$f"
done
if [ "$count" -ge 10 ]; then
	ok "found $count example configs"
else
	not_ok "found $count example configs, expected at least 10"
fi

# Every TLS mode has an example (the README points to them).
for want in '"tls": "starttls"' '"required": false' '"tls": "direct"' \
    '"tls": "passthrough"' '"ca_cert":' '"ca_file": "' '"server_name": "' \
    '"transparent": true' '"transparent_allow":' '"proxy_protocol": "v2"' \
    '"proxy_protocol": "v1"'; do
	if grep -qF -- "$want" "$XG_TOP_SRCDIR"/examples/*.json; then
		ok "an example shows $want"
	else
		not_ok "no example shows $want"
	fi
done
for want in '"metrics":' '"syslog": true'; do
	if grep -qF -- "$want" "$XG_TOP_SRCDIR"/examples/*.json; then
		ok "an example shows $want"
	else
		not_ok "no example shows $want"
	fi
done
for want in starttls direct; do
	if grep -A2 -F '"upstream"' "$XG_TOP_SRCDIR"/examples/*.json |
	    grep -qF "\"tls\": \"$want\""; then
		ok "an example has upstream.tls $want"
	else
		not_ok "no example has upstream.tls $want"
	fi
done

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
bad filters-element "filters[0].action: required for type 'regex'" \
    "{$L, $U, \"filters\": [{\"type\": \"regex\"}]}"
bad filters-pattern "filters[0].match.text: missing closing parenthesis at offset 4" \
    "{$L, $U, \"filters\": [{\"type\": \"regex\", \"action\": \"drop\",
     \"match\": {\"text\": \"(abc\"}}]}"
bad filters-plugin-missing "filters[0].path: ./no-such-plugin.so: cannot open" \
    "{$L, $U, \"filters\": [{\"type\": \"plugin\",
     \"path\": \"./no-such-plugin.so\"}]}"
bad record-no-dir "logs[0].dir: required for type 'record'" \
    "{$L, $U, \"logs\": [{\"type\": \"record\"}]}"
bad record-missing-dir "logs[1].dir: $tmp/no-such-dir: No such file" \
    "{$L, $U, \"logs\": [{\"type\": \"json\"},
     {\"type\": \"record\", \"dir\": \"$tmp/no-such-dir\"}]}"
bad record-file-dir "logs[0].dir: $tmp/partial.json: not a directory" \
    "{$L, $U, \"logs\": [{\"type\": \"record\",
     \"dir\": \"$tmp/partial.json\"}]}"
bad record-limit "logs[0].max_file_bytes: must be at least 65536" \
    "{$L, $U, \"logs\": [{\"type\": \"record\", \"dir\": \"recordings\",
     \"max_file_bytes\": 1000}]}"
bad record-path "logs[0].path: only valid for type 'json'" \
    "{$L, $U, \"logs\": [{\"type\": \"record\", \"dir\": \"recordings\",
     \"path\": \"x.jsonl\"}]}"
bad no-such-user "user: no such user 'no-such-user-xg'" \
    "{$L, $U, \"user\": \"no-such-user-xg\"}"
bad no-such-group "group: no such group 'no-such-group-xg'" \
    "{$L, $U, \"user\": \"nobody\", \"group\": \"no-such-group-xg\"}"
bad group-alone "group: needs user" "{$L, $U, \"group\": \"nogroup\"}"
bad chroot-relative "chroot: must be an absolute path" \
    "{$L, $U, \"chroot\": \"jail\"}"
bad chroot-missing "chroot: $tmp/no-such-jail: No such file or directory" \
    "{$L, $U, \"chroot\": \"$tmp/no-such-jail\"}"
bad too-many-workers "workers: must be at most 128" \
    "{$L, $U, \"workers\": 1000}"
bad grace-zero "limits.shutdown_grace_s: must be at least 1" \
    "{$L, $U, \"limits\": {\"shutdown_grace_s\": 0}}"
refuses "--workers with a bad count" "--workers x: expected a number" \
    -l 127.0.0.1:5222 -u 127.0.0.1:15222 --workers x
refuses "--user with an unknown user" "user: no such user 'no-such-user-xg'" \
    -l 127.0.0.1:5222 -u 127.0.0.1:15222 --user no-such-user-xg
bad invalid-json "line 3, column 3: invalid JSON" \
    "{
  $L
  $U
}"
bad not-an-object "top level: expected an object" "[]"

# The metrics endpoint stays on loopback unless told otherwise; the
# operator log's syslog facility is one of a short list.
bad metrics-remote "metrics.address: '0.0.0.0:9222' is not a loopback address" \
    "{$L, $U, \"metrics\": {\"address\": \"0.0.0.0:9222\"}}"
printf '%s\n' "{$L, $U, \"metrics\": {\"address\": \"0.0.0.0:9222\",
    \"allow_remote\": true}}" >"$tmp/metrics-allowed.json"
accepts "metrics.allow_remote allows a non-loopback address" \
    -c "$tmp/metrics-allowed.json"
bad metrics-no-address "metrics.address: required key is missing" \
    "{$L, $U, \"metrics\": {}}"
bad metrics-hostname "metrics.address: 'localhost:9222': not a numeric" \
    "{$L, $U, \"metrics\": {\"address\": \"localhost:9222\"}}"
bad log-facility "log.facility: expected one of 'daemon', 'user'" \
    "{$L, $U, \"log\": {\"syslog\": true, \"facility\": \"kern\"}}"

# TLS: what a listener needs, and files that cannot be used.
S='"listen": [{"address": "127.0.0.1:5222", "tls": "starttls"}]'
C="\"cert\": \"$certs/server.pem\", \"key\": \"$certs/server.key\""
bad starttls-no-cert "listen[0].tls: 'starttls' needs tls.cert and tls.key" \
    "{$S, $U}"
bad passthrough-upstream-tls "listen[0].tls: 'passthrough' relays" \
    "{\"listen\": [{\"address\": \"127.0.0.1:5222\", \"tls\": \"passthrough\"}],
     \"upstream\": {\"address\": \"127.0.0.1:15222\", \"tls\": \"starttls\"}}"
bad required-not-starttls "listen[0].required: only applies to tls 'starttls'" \
    "{\"listen\": [{\"address\": \"127.0.0.1:5222\", \"required\": false}], $U}"
bad upstream-passthrough "upstream.tls: expected one of" \
    "{$L, \"upstream\": {\"address\": \"127.0.0.1:15222\",
     \"tls\": \"passthrough\"}}"
bad cert-without-key "tls.key: required with tls.cert" \
    "{$S, $U, \"tls\": {\"cert\": \"$certs/server.pem\"}}"
bad cert-and-ca "tls.ca_cert: either a certificate" \
    "{$S, $U, \"tls\": {$C, \"ca_cert\": \"$certs/ca.pem\",
     \"ca_key\": \"$certs/ca.key\"}}"
bad min-version "tls.min_version: expected one of '1.2', '1.3'" \
    "{$S, $U, \"tls\": {$C, \"min_version\": \"1.1\"}}"
bad missing-cert "tls.cert: $certs/missing.pem: No such file or directory" \
    "{$S, $U, \"tls\": {\"cert\": \"$certs/missing.pem\",
     \"key\": \"$certs/server.key\"}}"
bad missing-ca-file "upstream.ca_file: $certs/missing.pem: No such file" \
    "{$L, \"upstream\": {\"address\": \"127.0.0.1:15222\",
     \"tls\": \"starttls\", \"ca_file\": \"$certs/missing.pem\"}}"
if [ "$have_certs" = yes ]; then
	bad forge-not-a-ca "tls.ca_cert: $certs/server.pem: not a CA" \
	    "{$S, $U, \"tls\": {\"ca_cert\": \"$certs/server.pem\",
	     \"ca_key\": \"$certs/server.key\"}}"
	bad key-mismatch "does not match" \
	    "{$S, $U, \"tls\": {\"cert\": \"$certs/server.pem\",
	     \"key\": \"$certs/ca.key\"}}"
	bad bad-ciphers "tls.ciphers: 'NOPE'" \
	    "{$S, $U, \"tls\": {$C, \"ciphers\": \"NOPE\"}}"
	cp "$certs/server.key" "$tmp/open.key"
	chmod 644 "$tmp/open.key"
	printf '%s\n' "{$S, $U, \"tls\": {\"cert\": \"$certs/server.pem\",
	    \"key\": \"$tmp/open.key\"}}" >"$tmp/open-key.json"
	warns "a private key open to others is a warning" \
	    "private key open to group or others" -c "$tmp/open-key.json"
fi

# Transparent mode and the PROXY protocol.
T='"address": "0.0.0.0:15222", "transparent": true'
printf '%s\n' "{\"listen\": [{$T}]}" >"$tmp/transparent-only.json"
accepts "transparent listeners alone need no upstream" \
    -c "$tmp/transparent-only.json"
bad transparent-allow-bits \
    "listen[0].transparent_allow[1]: '10.0.0.1/8:5222': address bits set" \
    "{\"listen\": [{$T, \"transparent_allow\": [\"*:5222\",
     \"10.0.0.1/8:5222\"]}]}"
bad transparent-allow-port "listen[0].transparent_allow[0]: '[2001:db8::]/32': missing ':PORT'" \
    "{\"listen\": [{$T, \"transparent_allow\": [\"[2001:db8::]/32\"]}]}"
bad allow-not-transparent "listen[0].transparent_allow: only applies" \
    "{\"listen\": [{\"address\": \"0.0.0.0:1\",
     \"transparent_allow\": [\"*:5222\"]}], $U}"
bad proxy-and-transparent "listen[0].proxy_protocol: cannot be combined" \
    "{\"listen\": [{$T, \"proxy_protocol\": true}]}"
bad proxy-version "listen[0].proxy_protocol: expected true, false, 'v1'" \
    "{\"listen\": [{\"address\": \"0.0.0.0:1\",
     \"proxy_protocol\": \"v3\"}], $U}"
bad upstream-proxy "upstream.proxy_protocol: expected one of 'v1', 'v2', 'none'" \
    "{$L, \"upstream\": {\"address\": \"127.0.0.1:15222\",
     \"proxy_protocol\": \"yes\"}}"
bad mixed-no-upstream "upstream.address: an upstream server is required" \
    "{\"listen\": [{$T}, {\"address\": \"0.0.0.0:5222\"}]}"

refuses "a missing file is named" "$tmp/no-such-file.json" \
    -c "$tmp/no-such-file.json"
refuses "-l with a bad port" "-l 127.0.0.1:99999: port out of range" \
    -l 127.0.0.1:99999 -u 127.0.0.1:15222

done_testing
