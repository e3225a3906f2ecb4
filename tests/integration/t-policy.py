# SPDX-License-Identifier: ISC
"""The content policy end to end: regex rules in xmppgate's config, a real
Prosody behind it, real slixmpp clients (alice and bob) in front.

Each case gives the rules, has the clients send what the rules are about
(and something they let through, sent after it, so that "never arrives"
is seen and not guessed), and checks what each client got (messages,
errors, stream errors, MUC presence) and what xmppgate wrote: the stanza
event's verdict and rules, the injected bounce (by=proxy), the original of
a rewrite, session.close's counts, and the operator log for reloads and
counters. Stream management under drops and bounces is in t-sm.py.
"""

import asyncio
import os
import signal
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import MUC_DOMAIN, check, check_eq, of, run_async  # noqa: E402

tap = xgtest.Tap()

XHTML_IM = "http://jabber.org/protocol/xhtml-im"
XHTML = "http://www.w3.org/1999/xhtml"


def rule(name, text=None, action="drop", direction="c2s", match=None, **kw):
    """One regex rule of the config's filters[]."""
    m = dict(match or {})
    if text is not None:
        m["text"] = text
    r = {"type": "regex", "name": name, "direction": direction,
         "action": action, "match": m}
    r.update(kw)
    return r


def with_clients(proxy, scenario, timeout=25, **kw):
    """Logs alice and bob in through proxy, runs scenario(alice, bob),
    logs them out; returns (alice, bob). kw goes to clients_for."""
    clients = []

    async def run():  # slixmpp objects belong to the loop they are made in
        clients.extend(xgtest.clients_for(proxy.address, **kw))
        try:
            for c in clients:
                await c.login()
            await scenario(*clients)
            for c in clients:
                await c.logout()
        finally:
            for c in clients:
                c.abort()
    run_async(run(), timeout)
    return clients


def session_of(events, user):
    """The events of user's (only) session, found by its auth event."""
    found = [evs for evs in xgtest.sessions(events).values()
             if of(evs, "auth", authcid=user)]
    check_eq(len(found), 1, "sessions of " + user)
    return found[0]


def stanzas_with(evs, text, d=None, kind="message"):
    """The stanza events of kind (direction d) whose xml contains text."""
    return [e for e in of(evs, "stanza", kind=kind)
            if text in e["xml"] and (d is None or e["dir"] == d)]


def closing(evs):
    c = of(evs, "session.close")
    check_eq(len(c), 1, "session.close events")
    return c[0]


def body_of(ev):
    """The body of a message stanza event, from its xml."""
    return ET.fromstring(ev["xml"]).findtext("body")


def bodies(client):
    return [m["body"] for m in client.messages]


async def round_trip(c):
    """An IQ round trip: whatever the proxy injected for c's earlier
    stanzas is in by the time it returns."""
    await c.get_roster(timeout=5)


@tap.case("drop: a c2s message matching the rule never reaches bob, the "
          "later ones arrive in order, alice gets no error; the event has "
          "verdict drop and the rule, session.close counts it")
def t_drop(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, filters=[
        rule("no-badword", r"\bbadword\b", "drop")])
    sent = ["one", "this has a badword in it", "two", "three"]

    async def scenario(alice, bob):
        for body in sent:
            alice.say(bob.boundjid.full, body)
        await bob.wait_messages(3)
        await round_trip(alice)
    alice, bob = with_clients(proxy, scenario)
    check_eq(bodies(bob), ["one", "two", "three"], "bodies bob received")
    check_eq(alice.errors, [], "errors alice received")
    proxy.stop()
    evs = session_of(proxy.events(), "alice")
    hit = stanzas_with(evs, "badword", "c2s")
    check_eq(len(hit), 1, "c2s events of the blocked message")
    check_eq(hit[0]["verdict"], "drop", "verdict")
    check_eq(hit[0]["rules"], [{"name": "no-badword", "action": "drop",
                                "where": "body"}], "rules")
    others = [e for e in of(evs, "stanza", dir="c2s", kind="message")
              if e is not hit[0]]
    check_eq([(e["verdict"], e["rules"]) for e in others], [("pass", [])] * 3,
             "the other messages")
    check(not of(evs, "stanza", by="proxy"), "nothing injected")
    c = closing(evs)
    check_eq((c["dropped"], c["rules"]),
             (1, {"no-badword": {"matches": 1, "actions": 1}}),
             "session.close dropped, rules")
    check(not stanzas_with(session_of(proxy.events(), "bob"), "badword"),
          "bob's session never carried it")


@tap.case("bounce: bob never gets it; alice gets a message error from "
          "bob's JID with the same id, <policy-violation/> and the reason; "
          "its event has by=proxy; no payload echoed")
def t_bounce(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, filters=[
        rule("no-bouncing", "bounceword", "bounce",
             reason="bouncing is not allowed here")])

    async def scenario(alice, bob):
        m = alice.make_message(mto=bob.boundjid.full, mtype="chat",
                               mbody="a bounceword for bob")
        m["id"] = "bounce-1"
        m.send()
        await alice.wait_for(lambda: alice.errors, "the bounce")
        alice.say(bob.boundjid.full, "after the bounce")
        await bob.wait_messages(1)
        await round_trip(alice)
    alice, bob = with_clients(proxy, scenario)
    check_eq(bodies(bob), ["after the bounce"], "bodies bob received")
    check_eq(len(alice.errors), 1, "errors alice received")
    e = alice.errors[0]
    check_eq((e["from"], e["to"], e["id"]),
             (bob.boundjid.full, alice.boundjid.full, "bounce-1"),
             "the error's from, to, id")
    check_eq((e["condition"], e["text"]),
             ("policy-violation",
              "bouncing is not allowed here (rule no-bouncing)"),
             "the error's condition, text")
    check("bounceword" not in e["xml"] and "<body" not in e["xml"],
          "the error echoes the payload: %s" % e["xml"])
    el = ET.fromstring(e["xml"])
    check_eq(el.get("type"), "error", "the error's type")
    check_eq([c.get("type") for c in el if c.tag.endswith("error")],
             ["modify"], "the error element's type")
    proxy.stop()
    evs = session_of(proxy.events(), "alice")
    hit = stanzas_with(evs, "bounceword", "c2s")
    check_eq([(h["verdict"], h["rules"]) for h in hit],
             [("bounce", [{"name": "no-bouncing", "action": "bounce",
                           "where": "body"}])], "the blocked message's event")
    inj = of(evs, "stanza", by="proxy")
    check_eq([(i["dir"], i["kind"], i["type"], i["id"], i["from"])
              for i in inj],
             [("s2c", "message", "error", "bounce-1", bob.boundjid.full)],
             "the injected error's event")
    check("policy-violation" in inj[0]["xml"], "the event's xml")
    check_eq(closing(evs)["dropped"], 1, "session.close dropped")
    check(not stanzas_with(session_of(proxy.events(), "bob"), "bounceword"),
          "bob's session never carried it")


@tap.case("IQ: a get matched by a drop rule is answered with an error from "
          "its 'to' (bob's full JID, the server); an IQ result matched by a "
          "bounce rule, either way, is dropped and never answered")
def t_iq(env):
    prosody = env.prosody(modules=("version",))
    proxy = env.proxy(prosody.address, filters=[
        rule("no-version-to-bob", action="drop", match={
            "stanza": ["iq"], "type": ["get"], "has": ["jabber:iq:version"],
            "to": ["bob@localhost"]}),
        rule("no-disco-to-server", action="drop", match={
            "stanza": ["iq"], "type": ["get"],
            "has": ["http://jabber.org/protocol/disco#info"],
            "to": ["localhost"]}),
        rule("no-version-results", action="bounce", direction="both",
             match={"stanza": ["iq"], "type": ["result"],
                    "has": ["jabber:iq:version"]})])
    import slixmpp  # after tap.run() checked that it is there
    import xgclient
    got = {}

    async def ask(c, ns, to, key, timeout=5):
        try:
            await c.make_iq_get(queryxmlns=ns, ito=to).send(timeout=timeout)
            got[key] = "result"
        except slixmpp.exceptions.IqError as e:
            got[key] = (str(e.iq["from"]), xgclient.error_condition(e.iq),
                        e.iq["error"]["text"])
        except slixmpp.exceptions.IqTimeout:
            got[key] = "timeout"

    async def scenario(alice, bob):
        await asyncio.gather(
            ask(alice, "jabber:iq:version", bob.boundjid.full, "bob"),
            ask(alice, "http://jabber.org/protocol/disco#info", "localhost",
                "server"),
            # Prosody answers, alice answers (xep_0092): both results
            # match the bounce rule and must vanish without an error.
            ask(alice, "jabber:iq:version", "localhost", "server-result", 1.5),
            ask(bob, "jabber:iq:version", alice.boundjid.full,
                "alice-result", 1.5))
    alice, bob = with_clients(proxy, scenario,
                              plugins={"alice": {"xep_0092": {}}})
    check_eq(got["bob"], (bob.boundjid.full, "policy-violation",
                          "blocked by the server's content policy "
                          "(rule no-version-to-bob)"), "alice's query to bob")
    check_eq(got["server"], ("localhost", "policy-violation",
                             "blocked by the server's content policy "
                             "(rule no-disco-to-server)"),
             "alice's disco#info to the server")
    check_eq(got["server-result"], "timeout", "the server's version result")
    check_eq(got["alice-result"], "timeout", "alice's version result")
    proxy.stop()
    evs = proxy.events()
    a, b = session_of(evs, "alice"), session_of(evs, "bob")
    inj = of(a, "stanza", by="proxy")
    check_eq(sorted((i["dir"], i["kind"], i["type"], i["from"]) for i in inj),
             sorted([("s2c", "iq", "error", "localhost"),
                     ("s2c", "iq", "error", bob.boundjid.full)]),
             "injected: the two errors to alice, nothing else")
    check(not of(b, "stanza", by="proxy"), "nothing injected in bob's session")
    results = [e for e in of(a, "stanza", kind="iq", type="result")
               if "jabber:iq:version" in e["xml"]]
    check_eq(sorted((e["dir"], e["verdict"], e["rules"][0]["action"])
                    for e in results),
             [("c2s", "drop", "bounce"), ("s2c", "drop", "bounce")],
             "the version results: Prosody's and alice's, dropped")
    check(not [e for e in of(b, "stanza", dir="s2c", kind="iq")
               if "jabber:iq:version" in e["xml"] and e["type"] == "get"],
          "bob never got alice's version query")
    check(not of(b, "stanza", kind="iq", type="error", dir="s2c"),
          "bob got no IQ error")


@tap.case("rewrite: a plain body and its XHTML-IM copy arrive rewritten "
          "($1 expanded); the event has the original_xml and the rule")
def t_rewrite(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, filters=[
        rule("hide-secrets", r"secret-(\w+)", "rewrite",
             replace="[$1 withheld]")])
    raw = {}

    async def scenario(alice, bob):
        raw["xml"] = (
            "<message to='%s' type='chat' id='rw-1'>"
            "<body>the secret-plan is ready</body>"
            "<html xmlns='%s'><body xmlns='%s'><p>the <b>secret-plan</b> is "
            "<i>ready</i></p></body></html></message>"
            % (bob.boundjid.full, XHTML_IM, XHTML))
        alice.send_raw(raw["xml"])
        await bob.wait_messages(1)
    alice, bob = with_clients(proxy, scenario)
    m = bob.messages[0]
    check_eq(m["body"], "the [plan withheld] is ready", "the body bob got")
    el = ET.fromstring(m["xml"])
    xb = el.find("{%s}html/{%s}body" % (XHTML_IM, XHTML))
    check(xb is not None, "bob got no XHTML-IM body: %s" % m["xml"])
    check_eq("".join(xb.itertext()), "the [plan withheld] is ready",
             "the XHTML-IM text bob got")
    check("secret" not in m["xml"], "bob's copy still holds the secret")
    proxy.stop()
    evs = session_of(proxy.events(), "alice")
    ev = [e for e in of(evs, "stanza", kind="message", dir="c2s")
          if e["id"] == "rw-1"]
    check_eq(len(ev), 1, "events of the rewritten message")
    ev = ev[0]
    check_eq((ev["verdict"], ev["rules"]),
             ("rewrite", [{"name": "hide-secrets", "action": "rewrite",
                           "where": "body"}]), "verdict, rules")
    check_eq(ev.get("original_xml"), raw["xml"], "original_xml: as sent")
    check("secret" not in ev["xml"] and ev["xml"].count("[plan withheld]") == 2,
          "xml: as forwarded, rewritten twice: %s" % ev["xml"])
    c = closing(evs)
    check_eq((c["rewritten"], c["dropped"]), (1, 0), "rewritten, dropped")


# What the sender writes, where the rule must find the decoded word.
TRICKS = [
    ("character references", "body", "<body>b&#x61;dw&#111;rd!</body>"),
    ("CDATA", "body", "<body><![CDATA[bad]]>word</body>"),
    ("XHTML split across tags", "xhtml",
     "<body>harmless</body><html xmlns='%s'><body xmlns='%s'><p>ba<b>dw</b>"
     "<i>ord</i></p></body></html>" % (XHTML_IM, XHTML)),
    ("a second body language", "body",
     "<body>harmless</body><body xml:lang='de'>badword</body>"),
    ("the subject", "subject", "<subject>badword</subject><body>hi</body>"),
]


@tap.case("encoding tricks (character references, CDATA, text split across "
          "XHTML tags, another body language, the subject) are all caught")
def t_tricks(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, filters=[
        rule("no-badword", "badword", "drop")])

    async def scenario(alice, bob):
        for n, (_, _, payload) in enumerate(TRICKS):
            alice.send_raw("<message to='%s' type='chat' id='trick-%d'>%s"
                           "</message>" % (bob.boundjid.full, n, payload))
        alice.say(bob.boundjid.full, "clean")
        await bob.wait_messages(1)
        await round_trip(alice)
    alice, bob = with_clients(proxy, scenario)
    check_eq(bodies(bob), ["clean"], "bodies bob received")
    check_eq(alice.errors, [], "errors alice received")
    proxy.stop()
    evs = session_of(proxy.events(), "alice")
    for n, (what, where, _) in enumerate(TRICKS):
        ev = [e for e in of(evs, "stanza", dir="c2s") if e["id"] == "trick-%d" % n]
        check_eq([(e["verdict"], e["rules"]) for e in ev],
                 [("drop", [{"name": "no-badword", "action": "drop",
                             "where": where}])], what)
    check_eq(closing(evs)["dropped"], len(TRICKS), "session.close dropped")


def join(c, room):
    c.send_raw("<presence to='%s/%s'><x xmlns='http://jabber.org/protocol/"
               "muc'/></presence>" % (room, c.label))


def in_room(c, room, nick):
    """c has seen nick's available occupant presence in room."""
    return any(p["from"] == "%s/%s" % (room, nick) and p["type"] == "available"
               for p in c.presences)


@tap.case("MUC: a groupchat message matching a bounce rule is dropped, not "
          "bounced, either way: nobody gets it, no error toward the room or "
          "alice, and alice stays in the room (her next message arrives)")
def t_muc(env):
    room = "lounge@" + MUC_DOMAIN
    prosody = env.prosody(muc=True)
    proxy = env.proxy(prosody.address, filters=[
        rule("no-forbidden", "forbidden", "bounce"),
        rule("no-inbound-bad", "inbound-bad", "bounce", direction="s2c")])

    async def scenario(alice, bob):
        join(alice, room)
        await alice.wait_for(lambda: in_room(alice, room, "alice"), "joined")
        join(bob, room)
        await alice.wait_for(lambda: in_room(alice, room, "bob"), "bob")
        await bob.wait_for(lambda: in_room(bob, room, "bob"), "joined")
        alice.say(room, "something forbidden", mtype="groupchat")
        bob.say(room, "something inbound-bad", mtype="groupchat")
        alice.say(room, "alice is still here", mtype="groupchat")
        await bob.wait_for(lambda: len(bob.messages) >= 1, "alice's message")
        await alice.wait_for(lambda: len(alice.messages) >= 1, "her echo")
        bob.say(room, "bob too", mtype="groupchat")
        for c in (alice, bob):
            await c.wait_for(lambda c=c: len(c.messages) >= 2, "bob's message")
            await round_trip(c)
        left.extend(p for p in bob.presences if p["type"] == "unavailable")
    left = []
    alice, bob = with_clients(proxy, scenario)
    want = ["alice is still here", "bob too"]
    check_eq(bodies(alice), want, "bodies alice received")
    check_eq(bodies(bob), want, "bodies bob received")
    check_eq((alice.errors, bob.errors), ([], []), "message errors")
    check_eq(left, [], "unavailable presences bob saw before logging out")
    check(in_room(bob, room, "alice"), "bob saw alice in the room")
    proxy.stop()
    evs = proxy.events()
    a, b = session_of(evs, "alice"), session_of(evs, "bob")
    out = stanzas_with(a, "forbidden", "c2s")
    check_eq([(e["verdict"], e["rules"]) for e in out],
             [("drop", [{"name": "no-forbidden", "action": "bounce",
                         "where": "body"}])], "alice's groupchat: dropped")
    inb = stanzas_with(a, "inbound-bad", "s2c") + stanzas_with(b, "inbound-bad", "s2c")
    check_eq([(e["verdict"], e["rules"][0]["name"]) for e in inb],
             [("drop", "no-inbound-bad")] * 2,
             "bob's groupchat, inbound to alice and to bob: dropped")
    for who, s in (("alice", a), ("bob", b)):
        check(not of(s, "stanza", by="proxy"), who + ": something was injected")
        check(not of(s, "stanza", dir="c2s", type="error"),
              who + ": an error went toward the server")
        check(not stanzas_with(s, "forbidden", "s2c"), who + " got 'forbidden'")


@tap.case("close: the client gets stream error policy-violation with the "
          "rule's reason; bob never gets the message; reason policy")
def t_close(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, filters=[
        rule("no-explode", r"\bexplode\b", "close",
             reason="that word ends the session")])

    async def scenario(alice, bob):
        alice.say(bob.boundjid.full, "explode")
        alice.say(bob.boundjid.full, "never sent on")
        await alice.wait_closed()
        await round_trip(bob)
    alice, bob = with_clients(proxy, scenario)
    check_eq(alice.stream_errors, ["policy-violation"], "alice's stream errors")
    check_eq(alice.stream_error_texts,
             ["that word ends the session (rule no-explode)"], "its text")
    check_eq(bodies(bob), [], "bodies bob received")
    proxy.stop()
    evs = session_of(proxy.events(), "alice")
    c = closing(evs)
    check_eq(c["reason"], "policy", "session.close reason")
    check_eq(c["rules"], {"no-explode": {"matches": 1, "actions": 1}},
             "session.close rules")
    err = of(evs, "stream.error", condition="policy-violation")
    check_eq([(e["by"], e["dir"]) for e in err], [("proxy", "s2c")],
             "the stream.error event")
    check(not stanzas_with(session_of(proxy.events(), "bob"), "explode"),
          "bob's session carried it")


@tap.case("dry_run, per rule (drop) and global (bounce): the message "
          "arrives; the event says verdict pass and the rule with dry_run")
def t_dry_run(env):
    prosody = env.prosody()
    per_rule = env.proxy(prosody.address, filters=[
        rule("watch-drop", "dryword", "drop", dry_run=True)])
    everything = env.proxy(prosody.address, dry_run=True, filters=[
        rule("watch-bounce", "dryword", "bounce")])
    for px, name, action in ((per_rule, "watch-drop", "drop"),
                             (everything, "watch-bounce", "bounce")):
        async def scenario(alice, bob):
            alice.say(bob.boundjid.full, "a dryword passes")
            await bob.wait_messages(1)
            await round_trip(alice)
        alice, bob = with_clients(px, scenario)
        check_eq(bodies(bob), ["a dryword passes"], name + ": bob's bodies")
        check_eq(alice.errors, [], name + ": alice's errors")
        px.stop()
        evs = session_of(px.events(), "alice")
        ev = stanzas_with(evs, "dryword", "c2s")
        check_eq([(e["verdict"], e["rules"]) for e in ev],
                 [("pass", [{"name": name, "action": action, "where": "body",
                             "dry_run": True}])], name + ": the event")
        c = closing(evs)
        check_eq((c["dropped"], c["rules"]),
                 (0, {name: {"matches": 1, "actions": 0}}),
                 name + ": session.close dropped, rules")


@tap.case("SIGHUP: a running session takes the new rules from its next "
          "stanza; a bad rules file keeps the old ones (the log says why); "
          "SIGUSR1 logs each rule's counters")
def t_reload(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, filters=[rule("no-alpha", "alpha")])

    async def send_then(alice, bob, words, n):
        for w in words:
            alice.say(bob.boundjid.full, w)
        await bob.wait_messages(n)

    async def scenario(alice, bob):
        await send_then(alice, bob, ["alpha 1", "beta 1"], 1)
        proxy.write_config(filters=[rule("no-beta", "beta")])
        proxy.signal(signal.SIGHUP)
        _, at = proxy.wait_log(r"reload: config \S+ loaded, 1 filters",
                               "the reload")
        await send_then(alice, bob, ["beta 2", "alpha 2"], 2)
        # An invalid pattern: the whole file is refused.
        proxy.write_config(filters=[rule("no-gamma", "gamma(")])
        proxy.signal(signal.SIGHUP)
        m, at = proxy.wait_log(r"reload failed, keeping the running config: "
                               r"(.*)", "the failed reload", after=at)
        check("filters[0].match.text" in m.group(1),
              "the log names the bad key: %s" % m.group(0))
        await send_then(alice, bob, ["gamma 3", "beta 3", "alpha 3"], 4)
        proxy.signal(signal.SIGUSR1)
        proxy.wait_log(r"filter=no-beta matches=\d+", "the counters", after=at)
    alice, bob = with_clients(proxy, scenario)
    check_eq(bodies(bob), ["beta 1", "alpha 2", "gamma 3", "alpha 3"],
             "bodies bob received")
    err = proxy.stderr()
    check("filter=no-beta matches=2 actions=2" in err,
          "SIGUSR1 counters of no-beta: %s" % err[-600:])
    check("filter=no-alpha" not in err.split("reload failed")[1],
          "the old rule is still reported after the reloads")
    proxy.stop()
    ev = session_of(proxy.events(), "alice")
    check_eq([(body_of(e), e["verdict"])
              for e in of(ev, "stanza", kind="message", dir="c2s")],
             [("alpha 1", "drop"), ("beta 1", "pass"), ("beta 2", "drop"),
              ("alpha 2", "pass"), ("gamma 3", "pass"), ("beta 3", "drop"),
              ("alpha 3", "pass")], "verdicts before and after the reloads")
    check_eq(closing(ev)["rules"], {"no-alpha": {"matches": 1, "actions": 1},
                                   "no-beta": {"matches": 2, "actions": 2}},
             "session.close rules across the reloads")


if __name__ == "__main__":
    tap.run()
