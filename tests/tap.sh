# SPDX-License-Identifier: ISC
# shellcheck shell=sh
# A tiny TAP producer for the shell tests, sourced (POSIX sh) as
# `. "$(dirname "$0")/tap.sh"`: the counters n and failed, one line per
# check, skips that are failures under CI (where tests/tools/bootstrap.sh
# installs every tool a test uses), comments, and the plan at the end. The
# shell's tests/tap.h: it prints TAP and defines functions, it runs nothing.

n=0
failed=0

# ok DESCRIPTION: a check that passed.
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

# not_ok DESCRIPTION: a check that failed.
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

# check STATUS DESCRIPTION: ok when STATUS is 0, else not ok followed by the
# last run's exit status and output as comments: for tests whose run()
# sets rc and writes the program's stdout to $out and stderr to $err.
# shellcheck disable=SC2154 # rc, out and err are the caller's
check() {
	if [ "$1" = 0 ]; then
		ok "$2"
	else
		not_ok "$2"
		echo "# exit status $rc"
		sed 's/^/# stdout: /' "$out"
		sed 's/^/# stderr: /' "$err"
	fi
}

# skip WHAT WHY: a TAP skip, or a failure under CI.
skip() {
	if [ "${CI:-}" = true ]; then
		not_ok "$1 (CI: $2)"
	else
		n=$((n + 1))
		echo "ok $n # SKIP $1: $2"
	fi
}

# skip_all WHY: the whole test is skipped (a bail-out under CI); exits.
skip_all() {
	if [ "${CI:-}" = true ]; then
		echo "Bail out! $1"
		exit 1
	fi
	echo "1..0 # SKIP $1"
	exit 0
}

# bail_out WHY: the test cannot run at all; exits.
bail_out() {
	echo "Bail out! $1"
	exit 1
}

# show FILE...: their lines as TAP comments (/dev/stdin: a pipe's).
show() {
	sed 's/^/#   /' "$@"
}

# has FILE TEXT: FILE contains TEXT (a fixed string).
has() {
	grep -qF -- "$2" "$1"
}

# done_testing: the plan; the exit status says whether every check passed.
done_testing() {
	echo "1..$n"
	[ "$failed" = 0 ]
}
