# SPDX-License-Identifier: ISC
"""Two real users chat through xmppgate in front of a real Prosody.

alice logs in with SCRAM-SHA-1, bob with PLAIN; they exchange directed
presence and messages both ways (entities, non-ASCII, a multi-KB body).
The first case runs the chat and checks delivery; the next ones check what
xmppgate wrote about that same run in its JSON events; the last one runs a
session with --trace and reads the live trace.
"""

import base64
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import USERS, check, check_eq, of, run_async  # noqa: E402

tap = xgtest.Tap()

TO_BOB = [
    "hello bob",
    "<&> 'single' \"double\" ]]> & &amp; <body>not a tag</body>",
    "héllo wörld — 日本語 — emoji 🎉 — Ω≈ç√",
    "line one\nline two\n\ttabbed",
    "".join("chunk %04d of a long body; " % i for i in range(300)),  # ~7.5 KB
]
TO_ALICE = [
    "hi alice",
    "a < b && c > d",
    "ça va très bien, merci — ありがとう",
    "the last one",
]

RUN = {}  # what the chat case saw, for the cases that read its events
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def the_run():
    check("events" in RUN, "the chat case did not complete")
    return RUN


def session_of(user):
    """The events of user's session in the chat run, found by authcid."""
    r = the_run()
    for sid, evs in xgtest.sessions(r["events"]).items():
        if of(evs, "auth", authcid=user):
            return evs
    raise xgtest.Failure("no session with an auth event for %s" % user)


async def chat(alice, bob):
    await alice.login()
    await bob.login()
    await alice.roster_and_presence()
    await bob.roster_and_presence()
    alice.send_presence(pto=bob.boundjid, pstatus="alice is here")
    bob.send_presence(pto=alice.boundjid, pstatus="bob is here")
    await alice.wait_presence("bob@localhost")
    await bob.wait_presence("alice@localhost")
    for body in TO_BOB:
        alice.say(bob.boundjid.full, body)
    for body in TO_ALICE:
        bob.say(alice.boundjid.full, body)
    await bob.wait_messages(len(TO_BOB))
    await alice.wait_messages(len(TO_ALICE))
    await alice.logout()
    await bob.logout()


@tap.case("alice (SCRAM-SHA-1) and bob (PLAIN) chat both ways through "
          "xmppgate: every message arrives once, in order, exact")
def t_chat(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    alice, bob = xgtest.clients_for(proxy.address, mechs={"bob": "PLAIN"},
                                    wire=True)
    try:
        run_async(chat(alice, bob), 60)
    finally:
        alice.abort()
        bob.abort()
    check_eq([m["body"] for m in bob.messages], TO_BOB, "bodies bob received")
    check_eq([m["body"] for m in alice.messages], TO_ALICE,
             "bodies alice received")
    check(all(m["from"] == alice.boundjid.full for m in bob.messages),
          "bob's messages come from alice's full JID")
    check(any(p["status"] == "bob is here" for p in alice.presences),
          "alice saw bob's directed presence")
    proxy.stop()  # a clean exit; the events are complete after it
    RUN.update(events=proxy.events(), raw=proxy.raw_events(),
               jid={"alice": alice.boundjid.full, "bob": bob.boundjid.full},
               wire={"alice": alice.wire, "bob": bob.wire},
               listen=proxy.address, upstream=prosody.address)


@tap.case("every event is one JSON object with ts (RFC 3339 UTC, µs), "
          "event and session; each session opens first and closes last")
def t_envelope(env):
    r = the_run()
    check(r["raw"].endswith(b"\n"), "the events file ends with a whole line")
    for ev in r["events"]:
        check(TS.match(str(ev.get("ts"))), "bad ts in %r" % ev)
        check(isinstance(ev.get("event"), str), "no event name in %r" % ev)
        check(isinstance(ev.get("session"), str) and ev["session"],
              "no session id in %r" % ev)
    for user in ("alice", "bob"):
        evs = session_of(user)
        check_eq(evs[0]["event"], "session.open", user + ": first event")
        check_eq(evs[-1]["event"], "session.close", user + ": last event")
        check_eq(len(of(evs, "session.open")), 1, user + ": session.open count")
        check_eq(len(of(evs, "session.close")), 1, user + ": session.close count")
        o = evs[0]
        check_eq(o.get("listener"), r["listen"], user + ": session.open listener")
        check_eq(o.get("upstream"), r["upstream"], user + ": session.open upstream")
        check(re.match(r"^127\.0\.0\.1:\d+$", str(o.get("client"))),
              user + ": session.open client %r" % o.get("client"))


@tap.case("stream.open both ways at the start and again after the SASL "
          "restart: c2s to='localhost', s2c from='localhost' with an id")
def t_stream_open(env):
    for user in ("alice", "bob"):
        evs = session_of(user)
        c2s = of(evs, "stream.open", dir="c2s")
        s2c = of(evs, "stream.open", dir="s2c")
        check_eq(len(c2s), 2, user + ": c2s stream.open count")
        check_eq(len(s2c), 2, user + ": s2c stream.open count")
        check(all(e.get("to") == "localhost" for e in c2s), user + ": c2s to")
        check(all(e.get("from") == "localhost" for e in s2c), user + ": s2c from")
        check(all(e.get("id") for e in s2c), user + ": s2c stream id")
        check(s2c[0]["id"] != s2c[1]["id"], user + ": a new id after restart")
        check(all(e.get("version") == "1.0" for e in c2s + s2c), user + ": version")


@tap.case("auth: SASL1 success with the mechanism and authcid; bind "
          "reports the full JID the client got")
def t_auth_bind(env):
    r = the_run()
    for user, mech in (("alice", "SCRAM-SHA-1"), ("bob", "PLAIN")):
        evs = session_of(user)
        auth = of(evs, "auth")
        check_eq(len(auth), 1, user + ": auth events")
        check_eq(auth[0].get("sasl"), 1, user + ": sasl version")
        check_eq(auth[0].get("mechanism"), mech, user + ": mechanism")
        check_eq(auth[0].get("outcome"), "success", user + ": outcome")
        check_eq(auth[0].get("authcid"), user, user + ": authcid")
        bind = of(evs, "bind")
        check_eq([b.get("jid") for b in bind], [r["jid"][user]], user + ": bind jid")


@tap.case("stanza events: message, presence and iq in both directions, "
          "after bind all carry the session's full JID, verdict pass")
def t_stanzas(env):
    r = the_run()
    for user in ("alice", "bob"):
        evs = session_of(user)
        st = of(evs, "stanza")
        for d in ("c2s", "s2c"):
            kinds = {e.get("kind") for e in st if e.get("dir") == d}
            for k in ("message", "presence", "iq"):
                check(k in kinds, "%s: no %s %s stanza event" % (user, d, k))
        check(all(e.get("verdict") == "pass" for e in st),
              user + ": every verdict is pass")
        check(all(e.get("rules") == [] for e in st),
              user + ": no rules matched")
        after = evs[evs.index(of(evs, "bind")[0]):]
        for e in of(after, "stanza"):
            check_eq(e.get("jid"), r["jid"][user],
                     "%s: jid of %s %s stanza" % (user, e.get("dir"), e.get("kind")))
        for e in of(st, "stanza", kind="message"):
            check_eq(e.get("bytes"), len(e["xml"].encode()),
                     user + ": bytes of a message event = its xml")


def bodies(evs, d):
    """Bodies of the message stanza events of one direction, parsed from
    their xml field (the element as forwarded)."""
    out = []
    for e in of(evs, "stanza", kind="message", dir=d):
        el = ET.fromstring(e["xml"])
        b = [c for c in el if c.tag.split("}")[-1] == "body"]
        if b:
            out.append(b[0].text or "")
    return out


@tap.case("each message's xml is the exact bytes the client sent (c2s) and "
          "the receiver got (s2c); bodies parse back exact, in order")
def t_message_xml(env):
    r = the_run()
    for user, sent, got in (("alice", TO_BOB, TO_ALICE), ("bob", TO_ALICE, TO_BOB)):
        evs = session_of(user)
        check_eq(bodies(evs, "c2s"), sent, user + ": c2s message bodies")
        check_eq(bodies(evs, "s2c"), got, user + ": s2c message bodies")
        out = [t for d, t in r["wire"][user] if d == "out"]
        inn = "".join(t for d, t in r["wire"][user] if d == "in")
        for e in of(evs, "stanza", kind="message", dir="c2s"):
            check(e["xml"] in out, user + ": c2s xml is not what the client sent")
        for e in of(evs, "stanza", kind="message", dir="s2c"):
            check(e["xml"] in inn, user + ": s2c xml is not what the client got")


@tap.case("session.close: reason client-closed, duration, JID, byte and "
          "stanza counts each way that match the stanza events")
def t_close(env):
    r = the_run()
    for user in ("alice", "bob"):
        evs = session_of(user)
        c = of(evs, "session.close")[0]
        check_eq(c.get("reason"), "client-closed", user + ": close reason")
        check_eq(c.get("jid"), r["jid"][user], user + ": close jid")
        check(isinstance(c.get("duration_s"), (int, float)) and c["duration_s"] >= 0,
              user + ": duration_s")
        check_eq((c.get("dropped"), c.get("rewritten")), (0, 0),
                 user + ": dropped, rewritten")
        for d in ("c2s", "s2c"):
            st = of(evs, "stanza", dir=d)
            real = [e for e in st if e.get("kind") in ("message", "presence", "iq")]
            n = c.get("stanzas", {}).get(d)
            check(isinstance(n, int) and len(real) <= n <= len(st),
                  "%s: stanzas.%s = %r for %d stanzas, %d elements"
                  % (user, d, n, len(real), len(st)))
            nb = c.get("bytes", {}).get(d)
            check(isinstance(nb, int) and nb >= sum(e.get("bytes", 0) for e in st),
                  "%s: bytes.%s = %r below the stanzas' sum" % (user, d, nb))


def sasl_payloads(wire):
    """The base64 text of every SASL element either way in a client's wire."""
    text = "".join(t for _, t in wire)
    return [m.group(2) for m in re.finditer(
        r"<(auth|response|challenge|success)\b[^>]*>([^<]+)</\1>", text)
        if len(m.group(2)) >= 8]


@tap.case("no password and no SASL payload (PLAIN token, SCRAM messages) "
          "anywhere in the events file; the auth element is logged redacted")
def t_secrets(env):
    r = the_run()
    raw = r["raw"]
    for user, pw in USERS.items():
        check(pw.encode() not in raw, "%s's password is in the events" % user)
        tok = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode())
        check(tok not in raw, "%s's PLAIN token is in the events" % user)
        payloads = sasl_payloads(r["wire"][user])
        check(len(payloads) >= 1, user + ": no SASL payload seen on the wire")
        for p in payloads:
            check(p.encode() not in raw, "%s: SASL payload %s... is in the events"
                  % (user, p[:12]))
        auth = of(session_of(user), "stanza", kind="auth", dir="c2s")
        check_eq(len(auth), 1, user + ": auth stanza events")
        check("[redacted]" in auth[0]["xml"], user + ": auth xml is not redacted")


@tap.case("--trace prints every stanza live on stdout, both directions "
          "marked, message bodies shown, no password")
def t_trace(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, trace=True)
    got = run_async(xgtest.chat_once(proxy.address, "trace me <&> ü",
                                     mechs={"bob": "PLAIN"}), 30)
    check_eq(got[0]["body"], "trace me <&> ü", "body bob received")
    proxy.stop()
    out = proxy.stdout()
    check("C→S" in out and "S→C" in out, "both direction marks in the trace")
    check("trace me &lt;&amp;&gt; ü" in out or "trace me <&> ü" in out,
          "the message body is in the trace")
    for kind in ("message", "presence", "iq"):
        check(re.search(r"\b%s\b" % kind, out), kind + " in the trace")
    for user, pw in USERS.items():
        check(pw not in out, user + "'s password is in the trace")
        tok = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()
        check(tok not in out, user + "'s PLAIN token is in the trace")
    check("\033[" not in out, "no colour codes when stdout is not a terminal")


if __name__ == "__main__":
    tap.run()
