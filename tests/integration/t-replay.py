# SPDX-License-Identifier: ISC
"""xmppgate-replay with real peers.

The first case records: alice (slixmpp, with disco and ping) and bob log in
through xmppgate to a Prosody where each has the other in the roster, and
xmppgate's JSON event log (redacted) is the recording. Alice fetches her
roster, sends presence, queries the server's disco#info, pings it,
messages bob and gets his answer. The other cases replay alice's session
from that file:

  - client mode against a fresh Prosody as another account (carol, made
    with prosodyctl, bob online there too): exit 0, every expected answer
    matched, bob's message reported as not expected, bob got the replayed
    message from carol;
  - against a Prosody that also loads mod_version: exit 1, the report names
    the disco#info difference;
  - server mode with STARTTLS (a certificate made now): a slixmpp client
    logs in with any password and receives the recorded roster, bob's
    presence and bob's message; a client that does less, and something
    else, makes exit 1 with what was not seen and what was unexpected;
  - errors, each exit 2 with a clear message: broken recording lines (the
    line named), several sessions without --session, an unreachable
    server, bad credentials, a certificate that does not verify; and TLS
    that does verify (STARTTLS and direct) works.

No output of any run holds a password.
"""

import asyncio
import atexit
import base64
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import USERS, check, check_eq, run_async  # noqa: E402

tap = xgtest.Tap()

REPLAY_BIN = os.environ.get("XG_REPLAY_BIN", os.path.join(
    xgtest.TOP_BUILDDIR, "replay", "xmppgate-replay"))
CAROL_PW = "Carol-pw-4q8w!e"
ALL_USERS = dict(USERS, carol=CAROL_PW)
PASSWORDS = list(ALL_USERS.values())
TO_BOB = "hello bob, from the recording <&>"
TO_ALICE = "hi alice, bob here"

RUN = {}  # the recording made by the first case


def _forget_recording():
    for key in ("path", "events_path"):
        if key in RUN:
            try:
                os.unlink(RUN[key])
            except OSError:
                pass


atexit.register(_forget_recording)


def write_roster(prosody, user, contacts):
    """Prosody 0.12's internal storage: contacts with subscription both,
    name and one group, written before Prosody starts."""
    d = os.path.join(prosody.dir, "data", "localhost", "roster")
    os.makedirs(d, exist_ok=True)
    lua = ['return {', '\t[false] = { ["pending"] = {}; ["version"] = 1; };']
    for jid in contacts:
        name = jid.split("@")[0].capitalize()
        lua.append('\t["%s"] = { ["groups"] = { ["Friends"] = true; }; '
                   '["name"] = "%s"; ["subscription"] = "both"; };'
                   % (jid, name))
    lua.append('};')
    with open(os.path.join(d, user + ".dat"), "w") as f:
        f.write("\n".join(lua) + "\n")


def prosody(env, users=ALL_USERS, rosters=None, extra_modules=(), **tls):
    """A started Prosody with users and rosters ({user: [jid...]}), and
    modules enabled on top of the harness' ones."""
    p = xgtest.Prosody(os.path.join(env.tmp, "prosody%d" % len(env.prosodies)),
                       users, **tls)
    for user, contacts in (rosters or {}).items():
        write_roster(p, user, contacts)
    if extra_modules:
        with open(p.cfg) as f:
            cfg = f.read()
        extra = "".join('; "%s"' % m for m in extra_modules)
        cfg, n = re.subn(r'("ping")', r'\1' + extra, cfg, count=1)
        check(n == 1, "modules_enabled not found in the Prosody config")
        with open(p.cfg, "w") as f:
            f.write(cfg)
    env.prosodies.append(p)
    return p.start()


FRIENDS = {"alice": ["bob@localhost"], "bob": ["alice@localhost", "carol@localhost"],
           "carol": ["bob@localhost"]}


def client(addr, user, password=None, plugins=True, **kw):
    import xgclient
    host, port = addr.rsplit(":", 1)
    c = xgclient.Client("%s@localhost/xg-%s" % (user, user),
                        password or ALL_USERS[user], host, int(port),
                        name=user, **kw)
    if plugins:
        c.register_plugin("xep_0030")
        c.register_plugin("xep_0199")
    return c


async def alice_session(alice, bob):
    """What the recorded alice does; bob is online and answers."""
    await bob.login()
    await bob.roster_and_presence()
    await alice.login()
    await alice.roster_and_presence()
    await alice.wait_presence("bob@localhost")
    await alice["xep_0030"].get_info(jid="localhost", timeout=10)
    await alice["xep_0199"].ping(jid="localhost", timeout=10)
    alice.say("bob@localhost/xg-bob", TO_BOB)
    await bob.wait_messages(1)
    bob.say(alice.boundjid.full, TO_ALICE)
    await alice.wait_messages(1)
    await alice.logout()
    await bob.logout()


def the_run():
    check("path" in RUN, "the recording case did not complete")
    return RUN


def replay(env, *args, password=CAROL_PW, timeout=60, json_out=True):
    """Runs xmppgate-replay; returns (rc, stdout, stderr, report or None)."""
    report = os.path.join(env.tmp, "report%d.json" % len(os.listdir(env.tmp)))
    argv = [REPLAY_BIN] + list(args)
    if json_out:
        argv[1:1] = ["--json", report]
    environ = dict(os.environ)
    if password is not None:
        environ["XG_REPLAY_PASSWORD"] = password
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       env=environ)
    return finish(r.returncode, r.stdout, r.stderr, report if json_out else None)


def finish(rc, out, err, report):
    for mark in xgtest.SAN_MARKS:
        check(mark not in err, "xmppgate-replay stderr has a sanitizer "
              "report:\n" + err[-3000:])
    for pw in PASSWORDS:
        check(pw not in out and pw not in err, "a password is in the output")
    rep = None
    if report is not None and os.path.exists(report):
        with open(report) as f:
            text = f.read()
        for pw in PASSWORDS:
            check(pw not in text, "a password is in the JSON report")
        rep = json.loads(text)
    return rc, out, err, rep


def client_args(server, *more, recording="path"):
    """Client mode as carol; recording "path" is alice's record file,
    "events_path" the JSON event log of both sessions."""
    return ["--server", server, "--tls", "none", "--jid", "carol@localhost",
            "--session", the_run()["sid"]] + list(more) + [the_run()[recording]]


def entries(rep, status):
    return [e for e in rep["entries"] if e["status"] == status]


@tap.case("record: alice and bob through xmppgate to Prosody, with a "
          "record log (one file per session) and the JSON event log; no "
          "secrets in either")
def t_record(env):
    p = prosody(env, USERS, rosters={"alice": FRIENDS["alice"],
                                     "bob": ["alice@localhost"]})
    rec = os.path.join(env.tmp, "rec")
    os.makedirs(rec)
    # Env.proxy puts the proxy's files in tmp/xN, N counting proxies.
    events = os.path.join(env.tmp, "x%d" % len(env.proxies), "events.jsonl")
    px = env.proxy(p.address, logs=[{"type": "json", "path": events},
                                    {"type": "record", "dir": rec}])
    alice = client(px.address, "alice")
    bob = client(px.address, "bob", mech="PLAIN")
    try:
        run_async(alice_session(alice, bob), 60)
    finally:
        alice.abort()
        bob.abort()
    check_eq([m["body"] for m in bob.messages], [TO_BOB], "bob got the message")
    px.stop()
    evs = px.events()
    sids = {e["session"] for e in evs}
    check_eq(len(sids), 2, "sessions in the events")
    sid = [e["session"] for e in evs if e["event"] == "auth"
           and e.get("authcid") == "alice"][0]
    raw = px.raw_events().decode()
    files = [f for f in os.listdir(rec) if sid in f]
    check_eq(len(files), 1, "alice's record file among %s" % os.listdir(rec))
    with open(os.path.join(rec, files[0])) as f:
        recorded = f.read()
    for pw in USERS.values():
        check(pw not in raw, "a password is in the event log")
        check(pw not in recorded, "a password is in the recording")
    base = os.path.join(os.path.dirname(env.tmp), os.path.basename(env.tmp))
    kept, kept_events = base + "-recording.jsonl", base + "-events.jsonl"
    with open(kept, "w") as f:
        f.write(recorded)
    with open(kept_events, "w") as f:
        f.write(raw)
    RUN.update(path=kept, events_path=kept_events, sid=sid,
               sids=sorted(sids), raw=raw)


@tap.case("client mode against a fresh Prosody as carol: exit 0, every "
          "expected answer matched, bob's message not expected")
def t_client_ok(env):
    r = the_run()
    p = prosody(env, rosters=FRIENDS)
    bob = None

    async def with_bob_online():
        nonlocal bob
        bob = client(p.address, "bob", mech="PLAIN")
        try:
            await bob.login()
            await bob.roster_and_presence()
            res = await asyncio.get_running_loop().run_in_executor(
                None, lambda: replay(env, *client_args(p.address)))
            await bob.wait_messages(1, 15)
            return res
        finally:
            bob.abort()
    rc, out, err, rep = run_async(with_bob_online(), 80)
    check_eq(rc, 0, "exit status (stdout: %s; stderr: %s)" % (out, err))
    check("OK: every expected answer came and matched" in out,
          "the summary says all matched: " + out)
    check_eq(rep["ok"], True, "report ok")
    check_eq((rep["counts"]["differs"], rep["counts"]["missing"]), (0, 0),
             "differs, missing")
    matched = entries(rep, "matched")
    why = " / ".join(e["why"] for e in matched)
    check(len(matched) >= 4, "at least 4 answers matched: " + why)
    kinds = {(e["kind"], e["why"]) for e in matched}
    check(("presence", "echo of the client's presence") in kinds,
          "the presence echo matched: " + why)
    check(sum(1 for e in matched if e["why"] == "answer to the client's iq")
          >= 3, "roster, disco and ping answers matched: " + why)
    unsol = entries(rep, "not expected")
    check(any(e["kind"] == "message" and e["from"] == "bob@localhost/xg-bob"
              for e in unsol), "bob's message is not expected: %r" % unsol)
    check(any(e["kind"] == "presence" and e["from"] == "bob@localhost/xg-bob"
              and e["came"] for e in unsol),
          "bob's presence is not expected, and came anyway: %r" % unsol)
    check("not expected (from another party)" in out,
          "the summary names what is not expected")
    check_eq(rep["jid"], "carol@localhost/xg-alice", "the live JID")
    check_eq(rep["recorded_jid"], "alice@localhost/xg-alice", "recorded JID")
    check_eq([m["body"] for m in bob.messages], [TO_BOB],
             "bob got the replayed message")
    check_eq(bob.messages[0]["from"], "carol@localhost/xg-alice",
             "from carol, mapped")


@tap.case("client mode against a Prosody that also loads mod_version: "
          "exit 1, the report names the disco#info difference")
def t_client_differs(env):
    p = prosody(env, rosters=FRIENDS, extra_modules=("version",))
    # The JSON event log of both sessions replays as well as a record file.
    rc, out, err, rep = replay(env, *client_args(p.address, "--fast",
                                                 recording="events_path"))
    check_eq(rc, 1, "exit status (stdout: %s; stderr: %s)" % (out, err))
    d = entries(rep, "differs")
    check_eq(len(d), 1, "one answer differs: %r" % d)
    check_eq((d[0]["kind"], d[0]["type"], d[0]["from"]),
             ("iq", "result", "localhost"), "the differing answer")
    text = " ".join(d[0]["diff"])
    check("http://jabber.org/protocol/disco#info" in text
          and "extra <feature var='jabber:iq:version'/>" in text,
          "the diff names the extra feature: " + text)
    check(re.search(r"^differs +iq result id=\S+ from localhost", out, re.M)
          and "extra <feature var='jabber:iq:version'/>" in out
          and "FAIL: 1 differ, 0 missing" in out,
          "the summary shows the difference: " + out)


SERVED_PW = "anything at all"


async def served_alice(addr, ca, password=SERVED_PW):
    """A client under test: does what the recorded alice did."""
    alice = client(addr, "alice", password=password, mech="PLAIN",
                   tls="starttls", ca_file=ca)
    try:
        await alice.login()
        roster = await alice.get_roster(timeout=10)
        alice.send_presence()
        await alice.wait_presence("bob@localhost")
        await alice["xep_0030"].get_info(jid="localhost", timeout=10)
        await alice["xep_0199"].ping(jid="localhost", timeout=10)
        alice.say("bob@localhost/xg-bob", TO_BOB)
        await alice.wait_messages(1)
        await alice.logout()
        return alice, roster
    finally:
        alice.abort()


def start_replay_server(env, *args):
    port = xgtest.free_port()
    addr = "127.0.0.1:%d" % port
    report = os.path.join(env.tmp, "serve-report.json")
    out = open(os.path.join(env.tmp, "serve.out"), "w")
    err = open(os.path.join(env.tmp, "serve.err"), "w")
    proc = xgtest._start([REPLAY_BIN, "--serve", addr, "--json", report]
                         + list(args), out, err)
    out.close()
    err.close()
    xgtest.wait_until(lambda: proc.poll() is not None or xgtest.listening(port),
                      15, "xmppgate-replay to listen")
    check(proc.poll() is None, "xmppgate-replay --serve exited at start")
    return proc, addr, report


def stop_replay_server(env, proc, report):
    try:
        rc = proc.wait(20)
    except subprocess.TimeoutExpired:
        rc = xgtest._stop(proc)
        raise xgtest.Failure("xmppgate-replay --serve did not end by itself")
    xgtest._live.pop(proc.pid, None)
    with open(os.path.join(env.tmp, "serve.out")) as f:
        out = f.read()
    with open(os.path.join(env.tmp, "serve.err")) as f:
        err = f.read()
    return finish(rc, out, err, report)


@tap.case("server mode with STARTTLS: a slixmpp client logs in with any "
          "password and gets the recorded roster, presence and message")
def t_serve(env):
    r = the_run()
    certs = env.certs()
    proc, addr, report = start_replay_server(
        env, "-vv", "--cert", certs.server[0], "--key", certs.server[1],
        "--timeout", "3", "--session", r["sid"], r["path"])
    try:
        alice, roster = run_async(served_alice(addr, certs.ca[0]), 40)
    finally:
        rc, out, err, rep = stop_replay_server(env, proc, report)
    items = roster["roster"]["items"]
    check_eq(sorted(items.keys()), ["bob@localhost"], "the recorded roster")
    check_eq(items["bob@localhost"]["name"], "Bob", "the roster name")
    check_eq([m["body"] for m in alice.messages], [TO_ALICE],
             "the recorded message from bob")
    check_eq(alice.messages[0]["from"], "bob@localhost/xg-bob", "from bob")
    check_eq(alice.messages[0]["to"], str(alice.boundjid), "to the live JID")
    check(any(p["from"].startswith("bob@localhost") for p in alice.presences),
          "bob's recorded presence")
    check(alice.tls_info is not None, "the client used TLS")
    check_eq(rc, 0, "exit status (stdout: %s; stderr: %s)" % (out, err))
    check_eq((rep["counts"]["not seen"], rep["counts"]["unexpected"]), (0, 0),
             "not seen, unexpected")
    check(rep["counts"]["seen"] >= 5, "every recorded client stanza seen")
    check(rep["tls"].startswith("STARTTLS TLSv1."), "TLS in the report")
    check("OK: every recorded client stanza came" in out, "summary: " + out)
    token = base64.b64encode(b"\0alice\0" + SERVED_PW.encode()).decode()
    check("trace client -> <auth " in err and "[redacted]" in err,
          "-vv traces the login, redacted")
    check(SERVED_PW not in err and token not in err,
          "the client's password is not in the trace")


@tap.case("server mode: a client that does less and something else makes "
          "exit 1, with what was not seen and what was unexpected")
def t_serve_unexpected(env):
    r = the_run()
    proc, addr, report = start_replay_server(
        env, "--fast", "--timeout", "2", "--session", r["sid"], r["path"])

    async def other():
        c = client(addr, "alice", password="x", mech="PLAIN", plugins=False)
        try:
            await c.login()
            await c.get_roster(timeout=10)
            c.say("nobody@localhost", "not in the recording", "normal")
            await c.logout()
        finally:
            c.abort()
    try:
        run_async(other(), 30)
    finally:
        rc, out, err, rep = stop_replay_server(env, proc, report)
    check_eq(rc, 1, "exit status (stdout: %s; stderr: %s)" % (out, err))
    check_eq(rep["counts"]["seen"], 1, "the roster query was seen")
    check(rep["counts"]["not seen"] >= 3, "the rest was not seen")
    check(re.search(r"^not seen +iq get id=\S+ to localhost", out, re.M),
          "the summary lists the disco or ping not seen: " + out)
    ux = entries(rep, "unexpected")
    check(any(e["kind"] == "message" and e["to"] == "nobody@localhost"
              for e in ux), "the message to nobody is unexpected: %r" % ux)


@tap.case("broken recordings: each error names the file and line, exit 2")
def t_broken(env):
    r = the_run()
    lines = r["raw"].splitlines(True)
    i = next(n for n, l in enumerate(lines) if '"kind":"message"' in l)
    cases = [
        (lines[i][:len(lines[i]) // 2] + "\n", "not valid JSON"),
        (lines[i].replace('"xml":"<message', '"xml":"<message><open'),
         "\"xml\" is not one XML element"),
        (re.sub(r'"session":"[^"]*",', "", lines[i]), 'no "session"'),
        ('{"event":"stanza","session":"%s","ts":"yesterday"}\n' % r["sid"],
         '"ts" is not an RFC 3339 time'),
        ('[1, 2]\n', "not a JSON object"),
    ]
    for n, (bad, why) in enumerate(cases):
        path = os.path.join(env.tmp, "broken%d.jsonl" % n)
        with open(path, "w") as f:
            f.write("".join(lines[:i] + [bad] + lines[i + 1:]))
        rc, out, err, _ = replay(env, "--server", "127.0.0.1:9", "--jid",
                                 "carol@localhost", "--session", r["sid"],
                                 path, json_out=False)
        check_eq(rc, 2, "exit status for %s" % why)
        check("%s:%d: %s" % (path, i + 1, why) in err,
              "the error names the line: %r" % err)
    rc, out, err, _ = replay(env, "--server", "127.0.0.1:9", "--jid",
                             "carol@localhost", r["events_path"],
                             json_out=False)
    check_eq(rc, 2, "exit status without --session")
    check("2 sessions, choose one with --session" in err
          and all(s in err for s in r["sids"]), "the ids are listed: " + err)
    rc, out, err, _ = replay(env, "--server", "127.0.0.1:9", "--jid",
                             "carol@localhost", "--session", "nope",
                             r["events_path"], json_out=False)
    check("no session nope; sessions: " in err and rc == 2,
          "an unknown session: " + err)


@tap.case("an unreachable server and bad credentials: clear errors, exit 2")
def t_connect_auth(env):
    port = xgtest.free_port()
    rc, out, err, _ = replay(env, *client_args("127.0.0.1:%d" % port),
                             json_out=False)
    check_eq(rc, 2, "exit status, unreachable")
    check("cannot connect to 127.0.0.1:%d: Connection refused" % port in err,
          "the error says why: " + err)
    p = prosody(env, rosters=FRIENDS)
    rc, out, err, _ = replay(env, *client_args(p.address),
                             password="wrong-password", json_out=False)
    check_eq(rc, 2, "exit status, bad password")
    check(re.search(r"authentication as carol@localhost with SCRAM-SHA-256 "
                    r"failed: not-authorized", err), "the error: " + err)
    check("wrong-password" not in err + out, "the password is not printed")
    rc, out, err, _ = replay(env, *client_args(p.address, "--mechanism",
                                               "PLAIN"), json_out=False)
    check_eq(rc, 2, "exit status, PLAIN without TLS")
    check("PLAIN without TLS would send the password in clear" in err,
          "PLAIN needs TLS: " + err)


@tap.case("TLS: a certificate that does not verify fails (exit 2); "
          "verified STARTTLS and direct TLS replay fine")
def t_tls(env):
    certs = env.certs()
    p = prosody(env, rosters=FRIENDS, cert=certs.server, direct_tls=True)
    args = lambda server, tls, *more: (  # noqa: E731
        ["--server", server, "--tls", tls, "--jid", "carol@localhost",
         "--session", the_run()["sid"], "--fast"] + list(more)
        + [the_run()["path"]])
    rc, out, err, _ = replay(env, *args(p.address, "starttls"), json_out=False)
    check_eq(rc, 2, "exit status, untrusted")
    check(re.search(r"TLS with 127\.0\.0\.1:\d+ \(localhost\) failed: "
                    r"certificate verify failed: unable to get local issuer "
                    r"certificate", err), "the error: " + err)
    rc, out, err, _ = replay(env, *args(p.address, "starttls", "--server-name",
                                        "wrong.example", "--ca", certs.ca[0]),
                             json_out=False)
    check_eq(rc, 2, "exit status, wrong name")
    check("certificate verify failed: hostname mismatch" in err,
          "the error: " + err)
    for tls, addr in (("starttls", p.address), ("direct", p.direct_address)):
        rc, out, err, rep = replay(env, *args(addr, tls, "--ca", certs.ca[0]))
        check_eq(rc, 0, "%s: exit status (stdout: %s; stderr: %s)"
                 % (tls, out, err))
        check(re.match(r"(STARTTLS|direct) TLSv1\.[23], \S+, certificate "
                       r"verified$", rep["tls"]), "tls: %r" % rep["tls"])
        check_eq(rep["mechanism"], "SCRAM-SHA-256", "mechanism")


if __name__ == "__main__":
    xgtest._need(os.access(REPLAY_BIN, os.X_OK), "%s is not built" % REPLAY_BIN)
    tap.run()
