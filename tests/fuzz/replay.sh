#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Replays every fuzz target's committed corpus (tests/fuzz/corpus/<target>/)
# through the target binary (tests/fuzz/<target> in the build tree), one TAP
# line per target. Inputs are passed as file names, which both the replay
# driver and a libFuzzer binary run once each without fuzzing. A target
# fails when it crashes, aborts or a sanitizer reports. It does not fuzz.

srcdir=${XG_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${XG_TOP_BUILDDIR:-$srcdir}
corpora=$srcdir/tests/fuzz/corpus
out=${TMPDIR:-/tmp}/xg-replay.$$
trap 'rm -f "$out"' EXIT INT TERM

# Targets: every corpus directory, and every fuzz binary that was built.
targets=$(
	for d in "$corpora"/*/; do
		[ -d "$d" ] && basename "$d"
	done
	for b in "$builddir"/tests/fuzz/fuzz-*; do
		case $b in *.*) continue ;; esac
		[ -f "$b" ] && [ -x "$b" ] && basename "$b"
	done | sort -u
)

n=0
failed=0
for t in $(printf '%s\n' $targets | sort -u); do
	n=$((n + 1))
	bin=$builddir/tests/fuzz/$t
	dir=$corpora/$t
	if [ ! -x "$bin" ]; then
		echo "not ok $n - $t: $bin not built"
		failed=$((failed + 1))
		continue
	fi
	count=0
	[ -d "$dir" ] && count=$(find "$dir" -type f | wc -l)
	if [ "$count" -eq 0 ]; then
		echo "ok $n - $t # SKIP no corpus in $dir"
		continue
	fi
	if find "$dir" -type f -print0 | sort -z |
	    xargs -0 -r "$bin" >"$out" 2>&1; then
		echo "ok $n - $t: $count inputs"
	else
		echo "not ok $n - $t: failed on its corpus"
		tail -n 30 "$out" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
