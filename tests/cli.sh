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
n=0
failed=0

# run ARGS...: runs the daemon, keeps stdout, stderr and the exit status.
run() {
	"$bin" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

# ok COND DESCRIPTION: one TAP line; on failure shows what the run printed.
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		echo "# exit status $rc"
		sed 's/^/# stdout: /' "$out"
		sed 's/^/# stderr: /' "$err"
		failed=$((failed + 1))
	fi
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
	grep -qF -- "$2" "$1"
}

if [ ! -x "$bin" ]; then
	if [ "${CI:-}" = true ]; then
		echo "Bail out! $bin is not built"
		exit 1
	fi
	echo "1..0 # SKIP $bin is not built"
	exit 0
fi

run -h
[ $rc = 0 ] && has "$out" "usage: xmppgate"
ok $? "-h exits 0 and prints the usage on stdout"

# The version configure.ac declares: AC_INIT([xmppgate], [VERSION], ...
version=$(sed -n 's/^AC_INIT(\[xmppgate\], *\[\([^]]*\)\].*/\1/p' \
	"$top_srcdir/configure.ac" 2>/dev/null)
run -V
[ $rc = 0 ] && [ -n "$version" ] && has "$out" "xmppgate $version"
ok $? "-V exits 0 and prints 'xmppgate ${version:-?}'"

run --no-such-option
[ $rc != 0 ] && has "$err" "no-such-option"
ok $? "an unknown long option exits non-zero and names it"

run -Z
[ $rc != 0 ] && has "$err" "Z"
ok $? "an unknown short option exits non-zero"

run -n -l 127.0.0.1:5222 -u 127.0.0.1:5223 stray
[ $rc != 0 ]
ok $? "a stray argument exits non-zero"

run -n
[ $rc != 0 ] && has "$err" "listen"
ok $? "-n without a listener or upstream exits non-zero naming the listener"

run -n -l 127.0.0.1:5222
[ $rc != 0 ] && has "$err" "upstream"
ok $? "-n without an upstream exits non-zero naming the upstream"

run -n -u 127.0.0.1:5223
[ $rc != 0 ] && has "$err" "listen"
ok $? "-n without a listener exits non-zero naming the listener"

run -n -l 127.0.0.1:5222 -u 127.0.0.1:5223
[ $rc = 0 ]
ok $? "-n -l 127.0.0.1:5222 -u 127.0.0.1:5223 exits 0"

run -n -l '[::1]:5222' -l 127.0.0.1:5222 -u localhost:5223
[ $rc = 0 ]
ok $? "-n with an IPv6 and an IPv4 listener and a host name upstream exits 0"

run -n -l 127.0.0.1:99999 -u 127.0.0.1:5223
[ $rc != 0 ] && has "$err" "127.0.0.1:99999"
ok $? "-n with port 99999 in -l exits non-zero naming the address"

run -n -l 127.0.0.1:abc -u 127.0.0.1:5223
[ $rc != 0 ] && has "$err" "127.0.0.1:abc"
ok $? "-n with a non-numeric -l port exits non-zero naming the address"

run -n -l 127.0.0.1 -u 127.0.0.1:5223
[ $rc != 0 ] && has "$err" "127.0.0.1"
ok $? "-n with -l lacking a port exits non-zero"

run -n -l 127.0.0.1:5222 -u 127.0.0.1:0
[ $rc != 0 ] && has "$err" "127.0.0.1:0"
ok $? "-n with upstream port 0 exits non-zero naming it"

run -n -c "$tmp/missing.json"
[ $rc != 0 ] && has "$err" "missing.json"
ok $? "-c with a missing file exits non-zero naming the file"

cat >"$tmp/typo.json" <<'EOF'
{ "listen": [ { "address": "127.0.0.1:5222" } ],
  "upstream": { "address": "127.0.0.1:5223" },
  "limits": { "max_stanza_byte": 20000 } }
EOF
run -n -c "$tmp/typo.json"
[ $rc != 0 ] && has "$err" "limits.max_stanza_byte"
ok $? "-c with an unknown key exits non-zero naming its JSON path"

cat >"$tmp/small.json" <<'EOF'
{ "listen": [ { "address": "127.0.0.1:5222" } ],
  "upstream": { "address": "127.0.0.1:5223" },
  "limits": { "max_stanza_bytes": 100 } }
EOF
run -n -c "$tmp/small.json"
[ $rc != 0 ] && has "$err" "limits.max_stanza_bytes"
ok $? "-c with max_stanza_bytes below the RFC floor exits non-zero naming it"

printf '{ "listen": [ ' >"$tmp/broken.json"
run -n -c "$tmp/broken.json"
[ $rc != 0 ] && has "$err" "line 1"
ok $? "-c with broken JSON exits non-zero giving the position"

cat >"$tmp/good.json" <<'EOF'
{ "listen": [ { "address": "127.0.0.1:5222", "tls": "none" } ],
  "logs": [ { "type": "json", "path": "-" } ] }
EOF
run -n -c "$tmp/good.json"
[ $rc != 0 ] && has "$err" "upstream"
ok $? "-c without an upstream exits non-zero naming it"

run -n -c "$tmp/good.json" -u 127.0.0.1:5223
[ $rc = 0 ]
ok $? "-u completes a config file that lacks the upstream"

run -h
[ $rc = 0 ] && has "$out" "--syslog"
ok $? "-h lists --syslog"

run -n --syslog -c "$tmp/good.json" -u 127.0.0.1:5223
[ $rc = 0 ] && [ ! -s "$err" ]
ok $? "-n --syslog checks the config and opens no syslog (nothing said)"

echo "1..$n"
[ $failed = 0 ]
