# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# What the demos (demo.sh, replay-demo.sh) share, sourced by them (bash)
# after `set -euo pipefail`: where the tree is, the commands they need
# (checked here: Prosody and Python), a temp dir, and the cleanup that stops
# every process in pids and removes the dir on exit, whatever happens; then
# the integration harness's helpers (a free port, waiting for a listener),
# so that the demos and the tests run Prosody the same way, and the step
# headings. It starts nothing itself.
# Sets: demo (the script's name, for messages), here, top, py, integ, tmp,
# pids.

demo=$(basename "$0" .sh)
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
py=/usr/bin/python3
integ=$top/tests/integration

# built PROGRAM [GIVEN]: the path of the built PROGRAM (as proxy/xmppgate):
# GIVEN when it is set and executable, else in the current directory, else
# in the tree; fails, saying so, when none is.
built() {
	local b
	for b in "${2:-}" "./$1" "$top/$1"; do
		if [ -n "$b" ] && [ -x "$b" ]; then
			echo "$b"
			return
		fi
	done
	echo "$demo: ${1##*/} is not built (run make first)" >&2
	return 1
}

for cmd in prosody prosodyctl "$py"; do
	command -v "$cmd" >/dev/null || { echo "$demo: $cmd is missing" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xmppgate-$demo.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

harness() {
	"$py" -c "import sys; sys.path.insert(0, sys.argv[1]); import xgtest; $1" \
		"$integ" "${@:2}"
}
free_port() { harness 'print(xgtest.free_port())'; }
# wait_listen PORT [PID]: waits (10 s at most) until something listens on
# PORT; with PID, gives up as soon as that process has exited.
wait_listen() {
	harness 'port = int(sys.argv[2])
stat = "/proc/%s/stat" % sys.argv[3] if len(sys.argv) > 3 else None
def gone():
    if stat is None:
        return False
    try:
        return open(stat).read().split(")")[-1].split()[0] in "ZX"
    except OSError:
        return True
xgtest.wait_until(lambda: gone() or xgtest.listening(port), 10, "port %d" % port)
sys.exit("the process exited" if gone() else 0)' "$@" ||
	{ echo "$demo: nothing listens on port $1" >&2; exit 1; }
}
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
