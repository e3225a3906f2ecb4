#!/bin/sh
# SPDX-License-Identifier: ISC
# The manual pages against the programs, so that they cannot silently fall
# behind: every option `xmppgate -h` and `xmppgate-replay -h` print is an
# item of the page's option list, and every option item of a page is one
# the program takes; every key of the config tables (as
# tests/tools/xg-config-keys prints them, from the loader's own tables) is
# an ".It Ic KEY" item of xmppgate.conf(5) whose text has the key's range,
# and every such item is a key; examples/xmppgate.json holds every key but
# the three the page says it lacks. The pages (made by make from man/*.in)
# pass mandoc's lint and groff's warnings. TAP on stdout; run by
# `make check`.

LC_ALL=C
export LC_ALL
top_srcdir=${XG_TOP_SRCDIR:-.}
top_builddir=${XG_TOP_BUILDDIR:-$top_srcdir}
bin=${XG_BIN:-$top_builddir/proxy/xmppgate}
replay=${XG_REPLAY_BIN:-$top_builddir/replay/xmppgate-replay}
keys_bin=$top_builddir/tests/tools/xg-config-keys
man8=$top_builddir/man/xmppgate.8
man1=$top_builddir/man/xmppgate-replay.1
man5=$top_builddir/man/xmppgate.conf.5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
out=$tmp/out
# shellcheck source=tap.sh source-path=SCRIPTDIR
. "$(dirname "$0")/tap.sh"

for f in "$bin" "$replay" "$keys_bin"; do
	[ -x "$f" ] || bail_out "$f is not built"
done
for f in "$man8" "$man1" "$man5"; do
	[ -f "$f" ] || bail_out "$f is not made (make all makes it)"
done

# help_options PROGRAM: the options its -h prints, one a line.
help_options() {
	"$1" -h 2>/dev/null | tr ' [],' '\n\n\n\n' |
		grep -E '^--?[A-Za-z]' | sed 's/[^A-Za-z0-9-].*//' | sort -u
}

# page_options PAGE: the options its ".It ... Fl X" items document.
page_options() {
	awk '$1 == ".It" {
		for (i = 2; i < NF; i++)
			if ($i == "Fl") print "-" $(i + 1)
	}' "$1" | sort -u
}

# documents PAGE OPTION: PAGE has an item ".It ... Fl NAME" for OPTION.
documents() {
	awk -v name="${2#-}" '$1 == ".It" {
		for (i = 2; i < NF; i++)
			if ($i == "Fl" && $(i + 1) == name) found = 1
	} END { exit !found }' "$1"
}

# takes PROGRAM OPTION: getopt does not call OPTION unknown (an argument
# and -h follow it, so that nothing runs).
takes() {
	"$1" "$2" 1 -h >/dev/null 2>"$tmp/takes" </dev/null
	! grep -qE 'unrecognized option|invalid option|unknown option' \
	    "$tmp/takes"
}

# check_options PROGRAM PAGE: both directions, one TAP line each.
check_options() {
	name=${1##*/}
	page=${2##*/}
	opts=$(help_options "$1")
	if [ -z "$opts" ]; then
		not_ok "$name -h lists options"
		return
	fi
	missing=
	for o in $opts; do
		documents "$2" "$o" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then
		ok "$page documents every option of $name -h ($(echo $opts))"
	else
		not_ok "$page lacks an option item for:$missing"
	fi
	unknown=
	for o in $(page_options "$2"); do
		takes "$1" "$o" || unknown="$unknown $o"
	done
	if [ -z "$unknown" ]; then
		ok "$name takes every option $page documents"
	else
		not_ok "$page documents options $name does not take:$unknown"
	fi
}

check_options "$bin" "$man8"
check_options "$replay" "$man1"

# The config keys, with their ranges: "path [min max]" or "path [max]".
"$keys_bin" >"$tmp/keys" || bail_out "$keys_bin failed"
count=$(wc -l <"$tmp/keys")
if [ "$count" -ge 60 ]; then
	ok "the config tables have $count keys"
else
	not_ok "the config tables have $count keys, expected at least 60"
fi

# item_text PAGE KEY: the source of KEY's item, up to the next key item,
# subsection or section.
item_text() {
	awk -v key="$2" '
		$1 == ".It" && $2 == "Ic" { on = ($3 == key) ; if (on) seen = 1 }
		/^\.S[hs] / { on = 0 }
		on { print }
		END { exit !seen }' "$1"
}

missing=
norange=
while read -r key nums; do
	if ! item_text "$man5" "$key" >"$tmp/item"; then
		missing="$missing $key"
		continue
	fi
	for v in $nums; do
		grep -qw -- "$v" "$tmp/item" || norange="$norange $key($v)"
	done
done <"$tmp/keys"
if [ -z "$missing" ]; then
	ok "xmppgate.conf(5) has an item for each of the $count keys"
else
	not_ok "xmppgate.conf(5) lacks items for:$missing"
fi
if [ -z "$norange" ]; then
	ok "each number key's item states its range (and each array's size)"
else
	not_ok "items without the table's bound:$norange"
fi

stale=
for key in $(awk '$1 == ".It" && $2 == "Ic" { print $3 }' "$man5"); do
	awk -v key="$key" '$1 == key { found = 1 } END { exit !found }' \
	    "$tmp/keys" || stale="$stale $key"
done
if [ -z "$stale" ]; then
	ok "every key item of xmppgate.conf(5) is a key of the tables"
else
	not_ok "xmppgate.conf(5) has items for keys the tables lack:$stale"
fi

# The claim of the page's FILES (and of the README): the every-key example.
if command -v python3 >/dev/null 2>&1; then
	python3 - "$top_srcdir/examples/xmppgate.json" >"$tmp/example" <<'EOF'
import json, sys

def walk(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            q = path + "." + k if path else k
            print(q)
            if q != "filters[].config":  # the plugin's own JSON
                walk(x, q)
    elif isinstance(v, list):
        for x in v:
            walk(x, path + "[]")

walk(json.load(open(sys.argv[1])), "")
EOF
	cut -d' ' -f1 "$tmp/keys" | sort -u >"$tmp/keys.s"
	sort -u "$tmp/example" >"$tmp/example.s"
	lacks=$(comm -23 "$tmp/keys.s" "$tmp/example.s" | tr '\n' ' ')
	if [ "$lacks" = "chroot tls.ca_cert tls.ca_key " ]; then
		ok "examples/xmppgate.json has every key but chroot, tls.ca_cert and tls.ca_key"
	else
		not_ok "examples/xmppgate.json lacks: $lacks(the page and the README say: chroot tls.ca_cert tls.ca_key)"
	fi
else
	skip "examples/xmppgate.json has every key" "no python3"
fi

# Lint: mandoc's warnings and errors (its style notes depend on which
# other pages the machine has), and groff's, which man-db renders with, but
# for "can't break line", which depends on how long the installation's
# paths are.
for page in "$man8" "$man1" "$man5"; do
	name=${page##*/}
	if ! command -v mandoc >/dev/null 2>&1; then
		skip "mandoc -Tlint $name" "mandoc is not installed"
	elif mandoc -Tlint -Wwarning "$page" >"$out" 2>&1 && [ ! -s "$out" ]
	then
		ok "mandoc -Tlint -Wwarning $name: nothing to say"
	else
		not_ok "mandoc -Tlint -Wwarning $name"
		show "$out"
	fi
	if ! command -v groff >/dev/null 2>&1; then
		skip "groff -mdoc -ww -Wbreak $name" "groff is not installed"
	elif groff -mdoc -ww -Wbreak -z -Tutf8 "$page" >"$out" 2>&1 &&
	    [ ! -s "$out" ]; then
		ok "groff -mdoc -ww -Wbreak $name: no warning"
	else
		not_ok "groff -mdoc -ww -Wbreak $name"
		show "$out"
	fi
done

# No placeholder left unmade.
if grep -l '@[a-z_A-Z]*@' "$man8" "$man1" "$man5" >"$out"; then
	not_ok "placeholders left in: $(tr '\n' ' ' <"$out")"
else
	ok "the pages have every @dir@ placeholder made"
fi

done_testing
