#!/bin/bash
# SPDX-License-Identifier: ISC
# xmppgate's main job in one minute: a throwaway Prosody on loopback,
# xmppgate in front of it with --trace and a JSON events log, and two real
# XMPP clients (slixmpp) that log in through it and chat. Shows the live
# trace, then the events. Everything runs in a temp dir on free loopback
# ports and is stopped and removed at the end, whatever happens.
# Run with `make demo` (or examples/demo.sh from a built tree). With
# XG_DEMO_EVENTS=FILE the events are also copied to FILE (a recording for
# xmppgate-replay: see examples/replay-demo.sh).

set -euo pipefail

# shellcheck source=demo-lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/demo-lib.sh"
bin=$(built proxy/xmppgate "${XG_BIN:-}") || exit 1

prosody_port=$(free_port)
proxy_port=$(free_port)
alice_pw=alice-demo-pw
bob_pw=bob-demo-pw

step "Prosody on 127.0.0.1:$prosody_port (throwaway, in $tmp)"
mkdir -p "$tmp/prosody/data" "$tmp/prosody/certs"
harness 'print(xgtest.prosody_config(sys.argv[2], int(sys.argv[3])))' \
	"$tmp/prosody" "$prosody_port" >"$tmp/prosody/prosody.cfg.lua"
prosodyctl --config "$tmp/prosody/prosody.cfg.lua" register alice localhost "$alice_pw" 2>/dev/null
prosodyctl --config "$tmp/prosody/prosody.cfg.lua" register bob localhost "$bob_pw" 2>/dev/null
(cd "$tmp/prosody" && exec prosody --config "$tmp/prosody/prosody.cfg.lua") \
	>"$tmp/prosody/stdout.log" 2>&1 &
pids+=($!)
wait_listen "$prosody_port" "$!"
echo "users alice@localhost and bob@localhost created"

step "xmppgate on 127.0.0.1:$proxy_port -> 127.0.0.1:$prosody_port"
# xmppgate will not stay root unless the config says so ("user" is the
# way in production: see the README's "Running as a service").
allow_root=
if [ "$(id -u)" = 0 ]; then allow_root='  "allow_root": true,'; fi
cat >"$tmp/xmppgate.json" <<EOF
{
$allow_root
  "listen":   [ { "address": "127.0.0.1:$proxy_port", "tls": "none" } ],
  "upstream": { "address": "127.0.0.1:$prosody_port", "tls": "none" },
  "logs":     [ { "type": "json", "path": "$tmp/events.jsonl" } ]
}
EOF
cat "$tmp/xmppgate.json"
echo "\$ xmppgate -c xmppgate.json --trace"
# The trace goes straight to this terminal: that is the live view.
"$bin" -c "$tmp/xmppgate.json" --trace 2>"$tmp/xmppgate.log" &
xg_pid=$!
pids=("$xg_pid" "${pids[@]}")
wait_listen "$proxy_port" "$xg_pid"

step "alice and bob log in through xmppgate and chat (live trace below)"
cat >"$tmp/chat.json" <<EOF
{ "clients": {
    "alice": { "jid": "alice@localhost/demo", "password": "$alice_pw" },
    "bob":   { "jid": "bob@localhost/demo", "password": "$bob_pw", "mech": "PLAIN" } },
  "steps": [
    ["login", "alice"], ["login", "bob"],
    ["send", "alice", "bob", "Hi Bob! Is <this> & that getting through?"],
    ["wait", "bob", 1],
    ["send", "bob", "alice", "Loud and clear, Alice. Grüße! 👋"],
    ["wait", "alice", 1],
    ["send", "alice", "bob", "Great, see you."],
    ["wait", "bob", 2],
    ["logout", "alice"], ["logout", "bob"] ] }
EOF
if ! timeout 60 "$py" "$integ/xgclient.py" --server "127.0.0.1:$proxy_port" \
	--script "$tmp/chat.json" --timeout 10 --echo >"$tmp/clients.json"; then
	echo "demo: the chat failed:" >&2
	cat "$tmp/clients.json" >&2
	tail -n 20 "$tmp/xmppgate.log" >&2
	exit 1
fi
sleep 0.2

step "xmppgate stopped (SIGTERM); its operator log"
kill -TERM "$xg_pid"
wait "$xg_pid" || { echo "demo: xmppgate exited with status $?" >&2; exit 1; }
cat "$tmp/xmppgate.log"

step "The JSON events ($(wc -l <"$tmp/events.jsonl") lines in events.jsonl)"
cat "$tmp/events.jsonl"

if [ -n "${XG_DEMO_EVENTS:-}" ]; then
	(umask 077 && cp "$tmp/events.jsonl" "$XG_DEMO_EVENTS")
	echo "(copied to $XG_DEMO_EVENTS)"
fi

step "One of them, pretty: alice's first message as xmppgate saw it"
"$py" -c '
import json, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev["event"] == "stanza" and ev["kind"] == "message" and ev["dir"] == "c2s":
        print(json.dumps(ev, indent=2, ensure_ascii=False))
        break' "$tmp/events.jsonl"

step "Secrets are redacted"
echo "occurrences of the passwords in events.jsonl:" \
	"$(grep -c -e "$alice_pw" -e "$bob_pw" "$tmp/events.jsonl" || true)"
grep -o '<auth [^>]*>[^<]*</auth>' "$tmp/events.jsonl" | head -n 2

step "Done"
echo "Try it on your own server:  xmppgate -l 127.0.0.1:5222 -u your.server:5222 --trace"
echo "(as root, add --user nobody: xmppgate does not stay root unless told to)"
echo "Everything the demo started is stopped and $tmp is removed."
