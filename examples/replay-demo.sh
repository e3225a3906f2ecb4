#!/bin/bash
# SPDX-License-Identifier: ISC
# xmppgate-replay in two minutes: records a session with the demo
# (examples/demo.sh, whose JSON event log is the recording), replays
# alice's session against a fresh Prosody as another account (carol), then
# against a Prosody with mod_roster switched off to show a difference, and
# finally plays the recorded server to a client. Everything runs in a temp
# dir on free loopback ports and is stopped and removed at the end.
# Run with `make replay-demo` (or examples/replay-demo.sh from a built tree).

set -euo pipefail

# shellcheck source=demo-lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/demo-lib.sh"
replay=$(built replay/xmppgate-replay "${XG_REPLAY_BIN:-}") || exit 1

show() { printf '$ %s\n' "$*"; }
more() { printf '      %s\n' "$*"; }

# prosody NAME [SED-EXPR]: a throwaway Prosody with alice, bob and carol;
# SED-EXPR edits its config. Sets prosody_port.
prosody() {
	local dir=$tmp/$1 port
	port=$(free_port)
	mkdir -p "$dir/data" "$dir/certs"
	harness 'print(xgtest.prosody_config(sys.argv[2], int(sys.argv[3])))' \
		"$dir" "$port" | sed -e "${2:-}" >"$dir/prosody.cfg.lua"
	for u in alice bob carol; do
		prosodyctl --config "$dir/prosody.cfg.lua" register "$u" localhost "$u-demo-pw" \
			>/dev/null 2>&1
	done
	(cd "$dir" && exec prosody --config "$dir/prosody.cfg.lua") >"$dir/stdout.log" 2>&1 &
	pids+=($!)
	wait_listen "$port"
	# Not printed for $(...): that subshell's pids+= would never reach
	# the cleanup, and the Prosody would outlive the demo.
	prosody_port=$port
}

step "1. Record: the demo's JSON event log (any events.jsonl with xml fields works)"
show "XG_DEMO_EVENTS=events.jsonl examples/demo.sh"
if ! XG_DEMO_EVENTS="$tmp/events.jsonl" "$here/demo.sh" >"$tmp/demo.out" 2>&1; then
	cat "$tmp/demo.out" >&2
	exit 1
fi
sid=$("$py" -c '
import json, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev["event"] == "bind" and ev["jid"].startswith("alice@"):
        print(ev["session"])' "$tmp/events.jsonl")
echo "$(wc -l <"$tmp/events.jsonl") events, two sessions; alice's is $sid:"
grep -F "\"session\":\"$sid\"" "$tmp/events.jsonl" | "$py" -c '
import json, sys
for line in sys.stdin:
    ev = json.loads(line)
    if ev["event"] == "stanza":
        print("  %-3s %s" % (ev["dir"], ev["xml"][:100]))'

step "2. Replay alice's session against a fresh Prosody, as carol"
prosody fresh
port=$prosody_port
show "XG_REPLAY_PASSWORD=... xmppgate-replay --server 127.0.0.1:$port --tls none \\"
more "--jid carol@localhost --session $sid events.jsonl"
rc=0
XG_REPLAY_PASSWORD=carol-demo-pw "$replay" --server "127.0.0.1:$port" --tls none \
	--jid carol@localhost --session "$sid" "$tmp/events.jsonl" 2>/dev/null || rc=$?
echo "(exit status $rc)"

step "3. Break something: a fresh Prosody without mod_roster, and the diff"
prosody broken 's/"roster"; //'
port=$prosody_port
show "XG_REPLAY_PASSWORD=... xmppgate-replay --server 127.0.0.1:$port --tls none \\"
more "--jid carol@localhost --session $sid --fast events.jsonl"
rc=0
XG_REPLAY_PASSWORD=carol-demo-pw "$replay" --server "127.0.0.1:$port" --tls none \
	--jid carol@localhost --session "$sid" --fast "$tmp/events.jsonl" 2>/dev/null || rc=$?
echo "(exit status $rc)"

step "4. Server mode: the recorded server plays to a client (any password)"
port=$(free_port)
show "xmppgate-replay --serve 127.0.0.1:$port --session $sid events.jsonl"
"$replay" --serve "127.0.0.1:$port" --session "$sid" --timeout 2 \
	"$tmp/events.jsonl" >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
pids+=("$serve_pid")
wait_listen "$port"
cat >"$tmp/client.json" <<'EOF'
{ "clients": { "alice": { "jid": "alice@localhost/demo", "password": "anything", "mech": "PLAIN" } },
  "steps": [ ["login", "alice"],
             ["send", "alice", "bob@localhost", "Hi Bob! Is <this> & that getting through?"],
             ["wait", "alice", 1],
             ["send", "alice", "bob@localhost", "Great, see you."],
             ["logout", "alice"] ] }
EOF
timeout 30 "$py" "$integ/xgclient.py" --server "127.0.0.1:$port" --script "$tmp/client.json" \
	--timeout 10 --echo 2>&1 >/dev/null | sed 's/^/client: /' || true
rc=0
wait "$serve_pid" || rc=$?
cat "$tmp/serve.out"
echo "(exit status $rc)"

step "Done"
echo "Everything the demo started is stopped and $tmp is removed."
