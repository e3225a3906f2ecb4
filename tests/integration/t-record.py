# SPDX-License-Identifier: ISC
"""Session recordings of real slixmpp clients through xmppgate to Prosody.

The first case records alice (SCRAM-SHA-1) and bob (PLAIN): login, roster
fetch, presence, messages both ways, an IQ ping (XEP-0199) and a disco#info
query (XEP-0030). The next ones check those files: one per session, named
with the start, the session id and the JID, mode 0600, every line the
session's JSON event plus offset_s (so every element of both directions,
stream headers, features, SASL and bind included), offsets that never
decrease, stanza counts that match session.close, and no password or SASL
payload anywhere. The last ones stop xmppgate with SIGTERM, and reload it
with SIGHUP, in the middle of a live session.
"""

import base64
import os
import re
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import USERS, check, check_eq, of, run_async  # noqa: E402

tap = xgtest.Tap()

NAME = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{8}\.\d+)(?:-(.+))?\.jsonl$")
NS_PING = "urn:xmpp:ping"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
TO_BOB = ["hello bob", "<&> 'quotes' \"too\"", "héllo — 日本語 🎉"]
TO_ALICE = ["hi alice", "a < b && c > d"]

RUN = {}  # what the recording case saw, for the cases that read the files


def record_proxy(env, prosody):
    """xmppgate with a JSON event log and a record log in env.tmp/rec."""
    rec = os.path.join(env.tmp, "rec")
    os.makedirs(rec, exist_ok=True)
    # Env.proxy puts the proxy's files in tmp/xN, N counting proxies.
    events = os.path.join(env.tmp, "x%d" % len(env.proxies), "events.jsonl")
    px = env.proxy(prosody.address, logs=[
        {"type": "json", "path": events},
        {"type": "record", "dir": rec}])
    return px, rec


def recordings(rec):
    """{name: raw bytes} of every recording in rec."""
    out = {}
    for name in sorted(os.listdir(rec)):
        with open(os.path.join(rec, name), "rb") as f:
            out[name] = f.read()
    return out


def parse_lines(name, raw):
    """Every line of a recording as a dict; all lines whole JSON objects."""
    check(raw.endswith(b"\n"), "%s does not end with a whole line" % name)
    evs = []
    for n, line in enumerate(raw.decode("utf-8").split("\n")[:-1], 1):
        try:
            ev = xgtest.json.loads(line)
        except ValueError as e:
            raise xgtest.Failure("%s line %d is not JSON (%s)" % (name, n, e))
        check(isinstance(ev, dict), "%s line %d is not an object" % (name, n))
        evs.append(ev)
    return evs


def file_of(files, sid):
    """The one recording of session sid: (name, raw)."""
    got = [(n, r) for n, r in files.items() if NAME.match(n).group(2) == sid]
    check_eq(len(got), 1, "recordings of session %s" % sid)
    return got[0]


def check_offsets(name, evs):
    offs = [e.get("offset_s") for e in evs]
    check(all(isinstance(o, (int, float)) for o in offs),
          "%s: a line without a numeric offset_s" % name)
    check_eq(offs[0], 0, name + ": first offset")
    check(all(a <= b for a, b in zip(offs, offs[1:])),
          "%s: offsets decrease: %r" % (name, offs))


def without_offset(evs):
    return [{k: v for k, v in e.items() if k != "offset_s"} for e in evs]


async def session(alice, bob):
    for c in (alice, bob):
        c.register_plugin("xep_0030")
        c.register_plugin("xep_0199")
    await alice.login()
    await bob.login()
    await alice.roster_and_presence()
    await bob.roster_and_presence()
    alice.send_presence(pto=bob.boundjid, pstatus="alice records")
    bob.send_presence(pto=alice.boundjid, pstatus="bob records")
    await alice.wait_presence("bob@localhost")
    await bob.wait_presence("alice@localhost")
    for body in TO_BOB:
        alice.say(bob.boundjid.full, body)
    for body in TO_ALICE:
        bob.say(alice.boundjid.full, body)
    await bob.wait_messages(len(TO_BOB))
    await alice.wait_messages(len(TO_ALICE))
    await alice["xep_0199"].send_ping("localhost", timeout=10)
    info = await alice["xep_0030"].get_info(jid="localhost", timeout=10)
    await alice.logout()
    await bob.logout()
    return info


@tap.case("alice (SCRAM-SHA-1) and bob (PLAIN) log in, fetch the roster, "
          "exchange presence and messages, ping and disco the server, all "
          "recorded; SIGTERM leaves xmppgate cleanly")
def t_record(env):
    prosody = env.prosody()
    proxy, rec = record_proxy(env, prosody)
    alice, bob = xgtest.clients_for(proxy.address, mechs={"bob": "PLAIN"},
                                    wire=True)
    try:
        info = run_async(session(alice, bob), 60)
    finally:
        alice.abort()
        bob.abort()
    check(NS_PING in info["disco_info"]["features"],
          "the server's disco#info lists urn:xmpp:ping")
    check_eq([m["body"] for m in bob.messages], TO_BOB, "bodies bob got")
    proxy.stop()
    RUN.update(files=recordings(rec), events=proxy.events(), rec=rec,
               modes={n: os.stat(os.path.join(rec, n)).st_mode
                      for n in os.listdir(rec)},
               jid={"alice": alice.boundjid.full, "bob": bob.boundjid.full},
               wire={"alice": alice.wire, "bob": bob.wire})


def the_run():
    check("files" in RUN, "the recording case did not complete")
    return RUN


def user_file(user):
    """(name, lines) of user's recording, found by its auth event."""
    r = the_run()
    for sid, evs in xgtest.sessions(r["events"]).items():
        if of(evs, "auth", authcid=user):
            name, raw = file_of(r["files"], sid)
            return name, parse_lines(name, raw), evs
    raise xgtest.Failure("no session with an auth event for " + user)


@tap.case("one recording per session, named <start>-<session>-<bare JID>"
          ".jsonl after bind, mode 0600")
def t_names(env):
    r = the_run()
    check_eq(len(r["files"]), 2, "recordings: %s" % sorted(r["files"]))
    for user in ("alice", "bob"):
        name, lines, _ = user_file(user)
        m = NAME.match(name)
        check_eq(m.group(3), user + "@localhost", user + ": JID in the name")
        o = lines[0]
        start = o["ts"][:19].replace("-", "").replace(":", "") + "Z"
        check_eq(m.group(1), start, user + ": start in the name")
        check_eq(m.group(2), o["session"], user + ": session id in the name")
        check_eq(stat.S_IMODE(r["modes"][name]), 0o600, user + ": file mode")


@tap.case("each recording is its session's JSON events exactly, plus "
          "offset_s: session.open first, session.close last, offsets from "
          "0 and never decreasing")
def t_complete(env):
    for user in ("alice", "bob"):
        name, lines, evs = user_file(user)
        check_eq(without_offset(lines), evs,
                 user + ": the recording against the JSON events")
        check_eq(lines[0]["event"], "session.open", user + ": first line")
        check_eq(lines[-1]["event"], "session.close", user + ": last line")
        check_offsets(name, lines)
        check(lines[-1]["offset_s"] >= lines[-1]["duration_s"] - 0.01,
              user + ": the last offset is about the duration")


@tap.case("every element both ways: stream headers (2 each way, each with "
          "its xml), features, SASL, bind, roster, presence, messages, "
          "ping, disco, closes; stanza counts match session.close")
def t_elements(env):
    r = the_run()
    for user, mech in (("alice", "SCRAM-SHA-1"), ("bob", "PLAIN")):
        _, lines, _ = user_file(user)
        for d in ("c2s", "s2c"):
            opens = of(lines, "stream.open", dir=d)
            check_eq(len(opens), 2, "%s: %s stream.open" % (user, d))
            check(all(o.get("xml", "").startswith("<") and "stream" in o["xml"]
                      for o in opens), user + ": stream.open xml")
            check_eq(len(of(lines, "stream.close", dir=d)), 1,
                     "%s: %s stream.close" % (user, d))
        st = of(lines, "stanza")
        check(all(isinstance(e.get("xml"), str) and e["xml"].startswith("<")
                  for e in st), user + ": every element has its xml")
        kinds = {(e["dir"], e["kind"]) for e in st}
        for want in (("s2c", "features"), ("c2s", "auth"), ("s2c", "success"),
                     ("c2s", "iq"), ("s2c", "iq"), ("c2s", "presence"),
                     ("s2c", "presence"), ("c2s", "message"),
                     ("s2c", "message")):
            check(want in kinds, "%s: no %s %s element" % (user, *want))
        check_eq(len(of(st, "stanza", dir="s2c", kind="features")), 2,
                 user + ": features before and after auth")
        if mech.startswith("SCRAM"):
            check(("s2c", "challenge") in kinds and ("c2s", "response") in kinds,
                  user + ": SCRAM challenge and response")
        auth = of(lines, "auth")
        check_eq([(a["mechanism"], a["outcome"]) for a in auth],
                 [(mech, "success")], user + ": auth event")
        check_eq([b["jid"] for b in of(lines, "bind")], [r["jid"][user]],
                 user + ": bind event")
        check(any("jabber:iq:roster" in e["xml"] for e in of(st, "stanza",
                  dir="c2s", kind="iq")), user + ": roster fetch")
        close = lines[-1]
        for d in ("c2s", "s2c"):
            n = len([e for e in st if e["dir"] == d
                     and e["kind"] in ("message", "presence", "iq")])
            check_eq(n, close["stanzas"][d],
                     "%s: %s stanzas against session.close" % (user, d))
    _, lines, _ = user_file("alice")
    iqs = [e["xml"] for e in of(lines, "stanza", kind="iq")]
    check(any(NS_PING in x for x in iqs), "alice: the ping IQ is recorded")
    c2s = [e for e in of(lines, "stanza", dir="c2s", kind="iq")
           if NS_DISCO_INFO in e["xml"]]
    s2c = [e for e in of(lines, "stanza", dir="s2c", kind="iq")
           if NS_DISCO_INFO in e["xml"] and e.get("type") == "result"]
    check(c2s and s2c, "alice: disco#info query and result are recorded")
    check_eq(s2c[0]["id"], c2s[0]["id"], "alice: disco result answers query")
    bodies = [b for e in of(lines, "stanza", kind="message", dir="c2s")
              for b in re.findall(r"<body>(.*?)</body>", e["xml"], re.S)]
    check_eq(len(bodies), len(TO_BOB), "alice: c2s message bodies")


def b64_forms(secret):
    """The base64 text any encoding of a stream holding secret contains,
    at each of the three alignments."""
    out = []
    for k in range(3):
        enc = base64.b64encode(b"x" * k + secret).rstrip(b"=")
        out.append(enc[(8 * k + 5) // 6:(8 * (k + len(secret))) // 6])
    return out


def sasl_payloads(wire):
    text = "".join(t for _, t in wire)
    return [m.group(2) for m in re.finditer(
        r"<(auth|response|challenge|success)\b[^>]*>([^<]+)</\1>", text)
        if len(m.group(2)) >= 8]


@tap.case("no password (plain or base64 at any alignment), PLAIN token or "
          "SASL payload in the recordings; the SASL elements are there, "
          "redacted")
def t_secrets(env):
    r = the_run()
    raw = b"".join(r["files"].values())
    for user, pw in USERS.items():
        pwb = pw.encode()
        check(pwb not in raw, user + "'s password is in a recording")
        for form in b64_forms(pwb):
            check(form not in raw, "%s's password in base64 (%s) is in a "
                  "recording" % (user, form.decode()))
        tok = base64.b64encode(b"\0" + user.encode() + b"\0" + pwb)
        check(tok not in raw, user + "'s PLAIN token is in a recording")
        payloads = sasl_payloads(r["wire"][user])
        check(payloads, user + ": no SASL payload seen on the wire")
        for p in payloads:
            check(p.encode() not in raw,
                  "%s: SASL payload %s... is in a recording" % (user, p[:12]))
        _, lines, _ = user_file(user)
        auth = of(lines, "stanza", kind="auth", dir="c2s")
        check(len(auth) == 1 and "[redacted]" in auth[0]["xml"],
              user + ": the auth element is recorded, redacted")


async def alice_only(addr, steps):
    """alice logs in and runs steps(alice) (an async function)."""
    alice, = xgtest.clients_for(addr, names=("alice",))
    alice.register_plugin("xep_0199")
    try:
        await alice.login()
        await alice.roster_and_presence()
        return await steps(alice)
    finally:
        alice.abort()


def alice_file(rec):
    files = recordings(rec)
    check_eq(len(files), 1, "recordings: %s" % sorted(files))
    name, raw = next(iter(files.items()))
    return name, raw, parse_lines(name, raw)


@tap.case("SIGTERM during a live session: the recording is closed and "
          "complete, ending with session.close reason shutdown")
def t_sigterm(env):
    prosody = env.prosody()
    proxy, rec = record_proxy(env, prosody)

    async def steps(alice):
        alice.say("alice@localhost", "to myself before SIGTERM")
        await alice.wait_messages(1)
        # Signalled, not stopped: the client must go on reading meanwhile.
        os.kill(proxy.pid(), signal.SIGTERM)
        await alice.wait_closed()

    run_async(alice_only(proxy.address, steps), 30)
    proxy.stop(wait_only=True)  # exit status 0, no sanitizer report
    name, raw, lines = alice_file(rec)
    check_eq(lines[-1]["event"], "session.close", "last line")
    check_eq(lines[-1]["reason"], "shutdown", "close reason")
    check(any(e.get("condition") == "system-shutdown"
              for e in of(lines, "stream.error")), "system-shutdown recorded")
    check(any("to myself before SIGTERM" in e.get("xml", "")
              for e in of(lines, "stanza", kind="message")),
          "the message before SIGTERM is recorded")
    check_eq(without_offset(lines),
             xgtest.sessions(proxy.events())[lines[0]["session"]],
             "the recording against the JSON events")
    check_offsets(name, lines)


@tap.case("SIGHUP during a live session: the same file keeps growing, "
          "one session.open, offsets go on from the same start")
def t_sighup(env):
    prosody = env.prosody()
    proxy, rec = record_proxy(env, prosody)
    seen = {}

    async def steps(alice):
        alice.say("alice@localhost", "before the reload")
        await alice.wait_messages(1)
        xgtest.wait_until(lambda: b"before the reload" in b"".join(
            recordings(rec).values()), 5, "the first message on disk")
        seen["before"] = recordings(rec)
        os.kill(proxy.pid(), signal.SIGHUP)
        xgtest.wait_until(lambda: "reload: config" in proxy.stderr(), 5,
                          "the reload in the operator log")
        alice.say("alice@localhost", "after the reload")
        await alice.wait_messages(2)
        await alice["xep_0199"].send_ping("localhost", timeout=10)
        await alice.logout()

    run_async(alice_only(proxy.address, steps), 30)
    proxy.stop()
    check_eq(len(seen["before"]), 1, "one recording before the reload")
    name, raw, lines = alice_file(rec)
    check_eq(name, next(iter(seen["before"])), "the same file after reload")
    check(raw.startswith(next(iter(seen["before"].values()))),
          "the file grew by appending")
    check_eq(len(of(lines, "session.open")), 1, "one session.open")
    check_eq(lines[-1]["event"], "session.close", "last line")
    check_eq(lines[-1]["reason"], "client-closed", "close reason")
    msgs = [e["xml"] for e in of(lines, "stanza", kind="message", dir="c2s")]
    check(any("before the reload" in x for x in msgs)
          and any("after the reload" in x for x in msgs),
          "messages from before and after the reload")
    check(any(NS_PING in e["xml"] for e in of(lines, "stanza", kind="iq")),
          "the ping after the reload")
    check_offsets(name, lines)
    check_eq(without_offset(lines),
             xgtest.sessions(proxy.events())[lines[0]["session"]],
             "the recording against the JSON events")


if __name__ == "__main__":
    tap.run()
