#!/bin/sh
# SPDX-License-Identifier: ISC
# The command line (DESIGN.md "Command line"): help and version exit 0, bad
# options and incomplete or invalid configs exit non-zero and say why, -n
# accepts a complete one. TAP on stdout; run by `make check` with XG_BIN.

top_srcdir=${XG_TOP_SRCDIR:-.}
top_builddir=${XG_TOP_BUILDDIR:-$top_srcdir}
bin=${XG_BIN:-$top_builddir/proxy/xmppgate}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
out=$tmp/out
err=$tmp/err
# shellcheck source=tap.sh source-path=SCRIPTDIR
. "$(dirname "$0")/tap.sh"

# run ARGS...: runs the daemon, keeps stdout, stderr and the exit status.
run() {
	"$bin" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

[ -x "$bin" ] || skip_all "$bin is not built"

run -h
[ $rc = 0 ] && has "$out" "usage: xmppgate"
check $? "-h exits 0 and prints the usage on stdout"

# The version configure.ac declares: AC_INIT([xmppgate], [VERSION], ...
version=$(sed -n 's/^AC_INIT(\[xmppgate\], *\[\([^]]*\)\].*/\1/p' \
	"$top_srcdir/configure.ac" 2>/dev/null)
run -V
[ $rc = 0 ] && [ -n "$version" ] && has "$out" "xmppgate $version"
check $? "-V exits 0 and prints 'xmppgate ${version:-?}'"

run --no-such-option
[ $rc != 0 ] && has "$err" "no-such-option"
check $? "an unknown long option exits non-zero and names it"

run -Z
[ $rc != 0 ] && has "$err" "Z"
check $? "an unknown short option exits non-zero"

run -n -l 127.0.0.1:5222 -u 127.0.0.1:5223 stray
[ $rc != 0 ]
check $? "a stray argument exits non-zero"

run -n
[ $rc != 0 ] && has "$err" "listen"
check $? "-n without a listener or upstream exits non-zero naming the listener"

run -n -l 127.0.0.1:5222
[ $rc != 0 ] && has "$err" "upstream"
check $? "-n without an upstream exits non-zero naming the upstream"

run -n -u 127.0.0.1:5223
[ $rc != 0 ] && has "$err" "listen"
check $? "-n without a listener exits non-zero naming the listener"

run -n -l 127.0.0.1:5222 -u 127.0.0.1:5223
[ $rc = 0 ]
check $? "-n -l 127.0.0.1:5222 -u 127.0.0.1:5223 exits 0"

run -n -l '[::1]:5222' -l 127.0.0.1:5222 -u localhost:5223
[ $rc = 0 ]
check $? "-n with an IPv6 and an IPv4 listener and a host name upstream exits 0"

run -n -l 127.0.0.1:99999 -u 127.0.0.1:5223
[ $rc != 0 ] && has "$err" "127.0.0.1:99999"
check $? "-n with port 99999 in -l exits non-zero naming the address"

run -n -l 127.0.0.1:abc -u 127.0.0.1:5223
[ $rc != 0 ] && has "$err" "127.0.0.1:abc"
check $? "-n with a non-numeric -l port exits non-zero naming the address"

run -n -l 127.0.0.1 -u 127.0.0.1:5223
[ $rc != 0 ] && has "$err" "127.0.0.1"
check $? "-n with -l lacking a port exits non-zero"

run -n -l 127.0.0.1:5222 -u 127.0.0.1:0
[ $rc != 0 ] && has "$err" "127.0.0.1:0"
check $? "-n with upstream port 0 exits non-zero naming it"

run -n -c "$tmp/missing.json"
[ $rc != 0 ] && has "$err" "missing.json"
check $? "-c with a missing file exits non-zero naming the file"

cat >"$tmp/typo.json" <<'EOF'
{ "listen": [ { "address": "127.0.0.1:5222" } ],
  "upstream": { "address": "127.0.0.1:5223" },
  "limits": { "max_stanza_byte": 20000 } }
EOF
run -n -c "$tmp/typo.json"
[ $rc != 0 ] && has "$err" "limits.max_stanza_byte"
check $? "-c with an unknown key exits non-zero naming its JSON path"

cat >"$tmp/small.json" <<'EOF'
{ "listen": [ { "address": "127.0.0.1:5222" } ],
  "upstream": { "address": "127.0.0.1:5223" },
  "limits": { "max_stanza_bytes": 100 } }
EOF
run -n -c "$tmp/small.json"
[ $rc != 0 ] && has "$err" "limits.max_stanza_bytes"
check $? "-c with max_stanza_bytes below the RFC floor exits non-zero naming it"

printf '{ "listen": [ ' >"$tmp/broken.json"
run -n -c "$tmp/broken.json"
[ $rc != 0 ] && has "$err" "line 1"
check $? "-c with broken JSON exits non-zero giving the position"

cat >"$tmp/good.json" <<'EOF'
{ "listen": [ { "address": "127.0.0.1:5222", "tls": "none" } ],
  "logs": [ { "type": "json", "path": "-" } ] }
EOF
run -n -c "$tmp/good.json"
[ $rc != 0 ] && has "$err" "upstream"
check $? "-c without an upstream exits non-zero naming it"

run -n -c "$tmp/good.json" -u 127.0.0.1:5223
[ $rc = 0 ]
check $? "-u completes a config file that lacks the upstream"

run -h
[ $rc = 0 ] && has "$out" "--syslog"
check $? "-h lists --syslog"

run -n --syslog -c "$tmp/good.json" -u 127.0.0.1:5223
[ $rc = 0 ] && [ ! -s "$err" ]
check $? "-n --syslog checks the config and opens no syslog (nothing said)"

done_testing
