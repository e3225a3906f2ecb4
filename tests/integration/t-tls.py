# SPDX-License-Identifier: ISC
"""TLS through xmppgate with real peers: Prosody with certificates made at
test time (xgtest.Certs: a test CA, a localhost certificate it signed, a
wrong-name one, a self-signed one) and real slixmpp clients trusting the
test CA.

The chat cases run alice and bob through each pair of leg modes
(client -> upstream: starttls -> starttls, direct -> starttls, starttls ->
none, direct -> direct, and passthrough), check delivery both ways, then
read the events: one `tls` event per terminated leg that agrees with what
the client negotiated, the decrypted stanzas with their bodies, and nothing
of the proxy's own STARTTLS. In passthrough the events must stop at TLS.
The failure cases break one TLS handshake (an upstream certificate that
does not verify, a client that aborts or sends garbage, bytes injected
after <starttls/>) and check the reason, that nothing leaked into the XML
stream, and that xmppgate keeps serving.
"""

import asyncio
import base64
import os
import re
import ssl
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import (FAKE_FEATURES, HEADER, FakeUpstream, Raw, check,  # noqa: E402
                    check_eq, client_hello, of, run_async, stream_error,
                    to_proceed, wait_until)

tap = xgtest.Tap()

TO_BOB = ["hello bob over TLS", "<&> 'quoted' — ünïcödé 🎉"]
TO_ALICE = ["hi alice, TLS here", "the last one"]
STARTTLS = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
TLS_FIELDS = ("leg", "mode", "inspected", "version", "cipher", "sni", "alpn",
              "peer_subject", "verified")
VERSION = re.compile(r"^TLSv1\.[23]$")


def tls_config(env):
    """The proxy's own certificate: localhost, signed by the test CA."""
    c = env.certs()
    return {"cert": c.server[0], "key": c.server[1]}


def upstream_opts(env, mode, **extra):
    """An upstream leg in mode that trusts only the test CA."""
    opts = {"tls": mode}
    if mode != "none":
        opts["ca_file"] = env.certs().ca[0]
    opts.update(extra)
    return opts


def client_tls(env, mode):
    """Client keyword arguments: slixmpp doing mode, trusting the test CA."""
    return {"tls": mode, "ca_file": env.certs().ca[0]}


async def chat(alice, bob):
    """Login, directed presence both ways, messages both ways, logout."""
    await alice.login()
    await bob.login()
    await alice.roster_and_presence()
    await bob.roster_and_presence()
    alice.send_presence(pto=bob.boundjid, pstatus="alice over TLS")
    bob.send_presence(pto=alice.boundjid, pstatus="bob over TLS")
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


def run_chat(proxy, **tls):
    """alice and bob chat through proxy; checks delivery and returns
    (alice, bob) for their TLS details and JIDs."""
    clients = []

    async def scenario():
        clients.extend(xgtest.clients_for(proxy.address, **tls))
        await chat(*clients)
    try:
        run_async(scenario(), 60)
    finally:
        for c in clients:
            c.abort()
    alice, bob = clients
    check_eq([m["body"] for m in bob.messages], TO_BOB, "bodies bob received")
    check_eq([m["body"] for m in alice.messages], TO_ALICE, "bodies alice received")
    check(any(p["status"] == "bob over TLS" for p in alice.presences),
          "alice saw bob's directed presence")
    check(any(p["status"] == "alice over TLS" for p in bob.presences),
          "bob saw alice's directed presence")
    check(alice.tls_info is not None and bob.tls_info is not None,
          "the clients' connections are TLS")
    return alice, bob


def session_of(events, user):
    """The events of user's session, found by its auth event."""
    for evs in xgtest.sessions(events).values():
        if of(evs, "auth", authcid=user):
            return evs
    raise xgtest.Failure("no session with an auth event for %s" % user)


def bodies(evs, d):
    """Bodies of the message stanza events of direction d, from their xml."""
    out = []
    for e in of(evs, "stanza", kind="message", dir=d):
        el = ET.fromstring(e["xml"])
        out += [c.text or "" for c in el if c.tag.split("}")[-1] == "body"]
    return out


def tls_event(evs, leg, what):
    """The one tls event of leg in a session's events, with every field."""
    t = of(evs, "tls", leg=leg)
    check_eq(len(t), 1, "%s: tls events for the %s leg" % (what, leg))
    for k in TLS_FIELDS:
        check(k in t[0], "%s: tls event without %r: %r" % (what, k, t[0]))
    return t[0]


def check_inspected(proxy, clients, client_mode, upstream_mode):
    """The events of a terminating chat: per session a client-leg tls event
    that matches what the client negotiated, an upstream-leg one when that
    leg has TLS (verified against the test CA), every message body in the
    decrypted stanzas, none of the proxy's own STARTTLS elements, and a
    clean close."""
    evs_all = proxy.events()
    alice, bob = clients
    for c, sent, got in ((alice, TO_BOB, TO_ALICE), (bob, TO_ALICE, TO_BOB)):
        user = c.label
        evs = session_of(evs_all, user)
        t = tls_event(evs, "client", user)
        check_eq((t["mode"], t["inspected"]), (client_mode, True),
                 user + ": client leg mode, inspected")
        check_eq((t["version"], t["cipher"]),
                 (c.tls_info["version"], c.tls_info["cipher"]),
                 user + ": client leg version, cipher (as the client saw them)")
        check_eq(t["sni"], "localhost", user + ": client leg SNI")
        if client_mode == "direct":
            check_eq(t["alpn"], "xmpp-client", user + ": client leg ALPN")
        check(isinstance(t["verified"], bool), user + ": verified is a bool")
        ups = of(evs, "tls", leg="upstream")
        if upstream_mode == "none":
            check_eq(ups, [], user + ": no upstream tls event for tls none")
        else:
            u = tls_event(evs, "upstream", user)
            check_eq((u["mode"], u["inspected"], u["verified"]),
                     (upstream_mode, True, True),
                     user + ": upstream leg mode, inspected, verified")
            check(VERSION.match(str(u["version"])) and u["cipher"],
                  user + ": upstream version, cipher: %r" % u)
            check("localhost" in str(u["peer_subject"]),
                  user + ": upstream peer_subject %r" % u["peer_subject"])
        first_tls = evs.index(t)
        st = of(evs, "stanza")
        check(st and evs.index(st[0]) > first_tls,
              user + ": a stanza event came before the client leg's TLS")
        kinds = {e.get("kind") for e in st}
        check(not kinds & {"starttls", "proceed", "failure"},
              user + ": the proxy's own STARTTLS is in the stanza events: %s" % kinds)
        check_eq(bodies(evs, "c2s"), sent, user + ": decrypted c2s message bodies")
        check_eq(bodies(evs, "s2c"), got, user + ": decrypted s2c message bodies")
        for d in ("c2s", "s2c"):
            check(of(evs, "stanza", kind="presence", dir=d),
                  "%s: no %s presence stanza event" % (user, d))
        opens = [e for e in of(evs, "stream.open", dir="c2s")
                 if evs.index(e) > first_tls]
        check(len(opens) >= 2 and all(e.get("to") == "localhost" for e in opens),
              user + ": c2s stream.open after TLS and after SASL: %r" % opens)
        close = of(evs, "session.close")
        check_eq([e.get("reason") for e in close], ["client-closed"],
                 user + ": session.close reason")


def chat_case(env, listen_mode, upstream_mode, prosody_kw):
    """The chat through listen_mode -> upstream_mode in front of a Prosody
    started with prosody_kw; returns (proxy, (alice, bob))."""
    prosody = env.prosody(**prosody_kw)
    addr = prosody.address
    if upstream_mode == "direct":
        addr = prosody.direct_address
    proxy = env.proxy(addr, listen_opts={"tls": listen_mode},
                      upstream_opts=upstream_opts(env, upstream_mode),
                      tls=tls_config(env))
    clients = run_chat(proxy, **client_tls(env, listen_mode))
    proxy.stop()  # a clean exit; the events are complete after it
    return proxy, clients


def prosody_tls(env, required=True, direct=False):
    """Prosody keyword arguments: TLS with the test localhost certificate."""
    return {"cert": env.certs().server, "tls_required": required,
            "direct_tls": direct}


@tap.case("starttls -> starttls (Prosody requires TLS): chat both ways; tls "
          "events for both legs, decrypted bodies in the stanza events")
def t_starttls_starttls(env):
    proxy, clients = chat_case(env, "starttls", "starttls", prosody_tls(env))
    check_inspected(proxy, clients, "starttls", "starttls")
    # slixmpp could bind to the channel but Prosody 0.12 offers no -PLUS
    # over TLS 1.3: it sends gs2 flag 'y', which such a server accepts.
    # The login worked, so there is nothing to warn about.
    check_eq(of(proxy.events(), "channel-binding"), [],
             "no channel-binding warning for a login that works")


@tap.case("direct -> starttls: XEP-0368 client (SNI, ALPN xmpp-client) to "
          "a STARTTLS Prosody; chat both ways; tls events, decrypted bodies")
def t_direct_starttls(env):
    proxy, clients = chat_case(env, "direct", "starttls", prosody_tls(env))
    check_inspected(proxy, clients, "direct", "starttls")


@tap.case("starttls -> none (Prosody without TLS): chat both ways; a client "
          "leg tls event only, decrypted bodies in the stanza events")
def t_starttls_none(env):
    proxy, clients = chat_case(env, "starttls", "none", {})
    check_inspected(proxy, clients, "starttls", "none")


@tap.case("direct -> direct (Prosody's c2s_direct_tls_ports): chat both "
          "ways; tls events for both legs, decrypted bodies")
def t_direct_direct(env):
    proxy, clients = chat_case(env, "direct", "direct",
                               prosody_tls(env, direct=True))
    check_inspected(proxy, clients, "direct", "direct")


@tap.case("passthrough (Prosody requires TLS): the clients do STARTTLS with "
          "Prosody end to end; chat works; events stop at a passthrough tls "
          "event, no message stanza")
def t_passthrough(env):
    prosody = env.prosody(**prosody_tls(env))
    proxy = env.proxy(prosody.address, listen_opts={"tls": "passthrough"},
                      upstream_opts={"tls": "none"})
    alice, bob = run_chat(proxy, **client_tls(env, "starttls"))
    # The clients' closes are inside their TLS: wait for the proxy to see
    # both TCP connections end, or a stop now would close one (shutdown).
    xgtest.wait_until(lambda: len(of(proxy.events(), "session.close")) == 2,
                      10, "both passthrough sessions to close")
    proxy.stop()
    evs_all = proxy.events()
    ss = [evs for evs in xgtest.sessions(evs_all).values()
          if of(evs, "session.open")]
    check_eq(len(ss), 2, "sessions")
    for evs in ss:
        sid = evs[0].get("session")
        t = tls_event(evs, "client", sid)
        check_eq((t["mode"], t["inspected"]), ("passthrough", False),
                 sid + ": mode, inspected")
        check_eq((t["version"], t["cipher"]), (None, None),
                 sid + ": version, cipher of an uninspected TLS")
        check_eq(of(evs, "tls", leg="upstream"), [], sid + ": upstream tls events")
        at = evs.index(t)
        late = [e for e in evs[at + 1:]
                if e.get("event") in ("stanza", "stream.open", "auth", "bind")]
        check_eq(late, [], sid + ": stream events after the passthrough tls event")
        check_eq(of(evs, "stanza", kind="message"), [], sid + ": message stanzas")
        # The clean close is inside the TLS: the proxy sees only TCP
        # closing, whichever side goes first. Anything but a failure.
        close = of(evs, "session.close")
        check(len(close) == 1 and close[0].get("reason") in (
            "client-closed", "upstream-closed", "client-dropped",
            "upstream-dropped"), sid + ": session.close %r" % close)
    raw = proxy.raw_events().decode("utf-8", "replace")
    for body in TO_BOB + TO_ALICE:
        check(body not in raw, "a message body is in the events: %r" % body)
    # The clients saw Prosody's own certificate chain end to end: their
    # TLS is whatever Prosody negotiated, nothing of the proxy's.
    check(alice.tls_info["version"] and bob.tls_info["version"],
          "the clients negotiated TLS")


@tap.case("starttls with required false: the pre-TLS features offer "
          "<starttls/> without <required/>; a STARTTLS client chats")
def t_starttls_optional(env):
    prosody = env.prosody(**prosody_tls(env))
    proxy = env.proxy(prosody.address,
                      listen_opts={"tls": "starttls", "required": False},
                      upstream_opts=upstream_opts(env, "starttls"),
                      tls=tls_config(env))
    raw = Raw(proxy.port)
    raw.send(HEADER)
    got = raw.read_until(r"</stream:features>", what="pre-TLS features")
    m = re.search(r"<starttls xmlns=['\"]urn:ietf:params:xml:ns:xmpp-tls['\"]"
                  r"\s*(/>|>(.*?)</starttls>)", got, re.S)
    check(m, "no <starttls/> in the pre-TLS features: %s" % got)
    check("required" not in (m.group(2) or ""),
          "<required/> offered with required false: %s" % m.group(0))
    raw.close()
    alice, bob = run_chat(proxy, **client_tls(env, "starttls"))
    proxy.stop()
    evs = proxy.events()
    for user in ("alice", "bob"):
        t = tls_event(session_of(evs, user), "client", user)
        check_eq((t["mode"], t["inspected"]), ("starttls", True),
                 user + ": client leg mode, inspected")


@tap.case("starttls with required false: a client that skips STARTTLS "
          "(plaintext slixmpp) still logs in and chats; no tls event")
def t_starttls_optional_plain(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address,
                      listen_opts={"tls": "starttls", "required": False},
                      upstream_opts={"tls": "none"}, tls=tls_config(env))
    run_async(xgtest.chat_once(proxy.address), 30)
    proxy.stop()
    check_eq(of(proxy.events(), "tls"), [], "tls events")
    check_eq([e.get("reason") for e in of(proxy.events(), "session.close")],
             ["client-closed"] * 2, "close reasons")


@tap.case("a SCRAM-SHA-1-PLUS attempt (gs2 p=tls-unique) through a "
          "terminating leg: a channel-binding event and a warning")
def t_channel_binding(env):
    prosody = env.prosody(**prosody_tls(env))
    proxy = env.proxy(prosody.address, listen_opts={"tls": "starttls"},
                      upstream_opts=upstream_opts(env, "starttls"),
                      tls=tls_config(env))
    raw = tls_to_proxy(proxy, env)
    raw.read_until(r"</stream:features>", what="post-TLS features")
    first = base64.b64encode(b"p=tls-unique,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL")
    raw.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
             "mechanism='SCRAM-SHA-1-PLUS'>%s</auth>" % first.decode())
    e = proxy.wait_event(lambda e: e.get("event") == "channel-binding",
                         "a channel-binding event")
    check_eq((e.get("mechanism"), e.get("gs2")),
             ("SCRAM-SHA-1-PLUS", "p=tls-unique"), "channel-binding event")
    check(isinstance(e.get("reason"), str) and e["reason"], "a reason")
    check(re.search(r"\bwarn\b.*channel binding", proxy.stderr(), re.I),
          "no channel binding warning on stderr")
    raw.close()


@tap.case("gs2 flag 'y' through a terminating leg to a server that offers "
          "-PLUS: a channel-binding event; to one that does not: none")
def t_channel_binding_y(env):
    first = base64.b64encode(b"y,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL").decode()
    for offer, want in (("SCRAM-SHA-1-PLUS", 1), ("SCRAM-SHA-1", 0)):
        features = FAKE_FEATURES.replace(
            "<stream:features/>",
            "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:"
            "xmpp-sasl'><mechanism>%s</mechanism><mechanism>SCRAM-SHA-1"
            "</mechanism></mechanisms></stream:features>" % offer)
        fake = FakeUpstream(features.encode())
        proxy = env.proxy(fake.address, listen_opts={"tls": "starttls"},
                          tls=tls_config(env))
        raw = tls_to_proxy(proxy, env)
        raw.read_until(r"</stream:features>", what="post-TLS features")
        raw.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                 "mechanism='SCRAM-SHA-1'>%s</auth>" % first)
        wait_until(lambda: b"<auth" in fake.received, 5,
                   "the auth reaches the server")
        raw.close()
        proxy.stop()
        cb = of(proxy.events(), "channel-binding")
        check_eq(len(cb), want, "channel-binding events when the server "
                 "offers %s" % offer)
        if want:
            check_eq(cb[0].get("gs2"), "y", "gs2 flag reported")


@tap.case("starttls with required true: the pre-TLS features are only "
          "<starttls><required/></starttls>; nothing is relayed before TLS")
def t_starttls_required_features(env):
    prosody = env.prosody(**prosody_tls(env))
    proxy = env.proxy(prosody.address, listen_opts={"tls": "starttls"},
                      upstream_opts=upstream_opts(env, "starttls"),
                      tls=tls_config(env))
    raw = Raw(proxy.port)
    raw.send(HEADER)
    got = raw.read_until(r"</stream:features>", what="pre-TLS features")
    feats = re.search(r"<stream:features>(.*)</stream:features>", got, re.S)
    check(feats, "no features element: %s" % got)
    check(re.fullmatch(r"\s*<starttls xmlns=['\"]urn:ietf:params:xml:ns:xmpp-tls"
                       r"['\"]>\s*<required/>\s*</starttls>\s*", feats.group(1)),
          "pre-TLS features: %s" % feats.group(1))
    check("mechanisms" not in got, "SASL offered before TLS: %s" % got)
    raw.clear()
    raw.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
             "AGFsaWNlAHg=</auth>")
    got = raw.read_until(r"<failure\b|</stream:stream>|<success\b",
                         what="the answer to auth before STARTTLS")
    check("<success" not in got, "auth accepted before STARTTLS: %s" % got)
    raw.close()


def tls_to_proxy(proxy, env):
    """A Raw client through STARTTLS with proxy and its post-TLS stream
    header sent: the proxy now opens the upstream leg."""
    raw = Raw(proxy.port)
    raw.starttls(env.certs().client_context())
    raw.send(HEADER)
    return raw


def upstream_refused(env, proxy, detail_rx):
    """The client gets remote-connection-failed with a text; the session
    closes upstream-tls-failed with a detail matching detail_rx, and the
    operator log says so."""
    raw = tls_to_proxy(proxy, env)
    got = raw.read_to_eof(timeout=10)
    check_eq(stream_error(got), "remote-connection-failed", "client's stream error")
    check(re.search(r"<text\b[^>]*>[^<]+</text>", got),
          "the stream error has a text naming the reason: %s" % got)
    check("<stream:features" not in got, "features relayed from an unverified "
          "upstream: %s" % got)
    e = proxy.wait_event(lambda e: e.get("event") == "session.close",
                         "session.close")
    check_eq(e.get("reason"), "upstream-tls-failed", "close reason")
    check(isinstance(e.get("detail"), str) and re.search(detail_rx, e["detail"], re.I),
          "close detail %r does not match %r" % (e.get("detail"), detail_rx))
    check(re.search("upstream-tls-failed|" + detail_rx, proxy.stderr(), re.I),
          "the operator log does not say why the upstream TLS failed")
    check_eq([t for t in of(proxy.events(), "tls", leg="upstream")
              if t.get("verified")], [], "an upstream tls event says verified")
    check(proxy.alive(), "xmppgate is still running")


@tap.case("upstream with a self-signed certificate (STARTTLS): refused, "
          "remote-connection-failed, upstream-tls-failed with a verify detail")
def t_upstream_untrusted(env):
    prosody = env.prosody(cert=env.certs().untrusted)
    proxy = env.proxy(prosody.address, listen_opts={"tls": "starttls"},
                      upstream_opts=upstream_opts(env, "starttls"),
                      tls=tls_config(env))
    upstream_refused(env, proxy, r"verif")


@tap.case("upstream with a certificate for another name (direct TLS): "
          "refused, upstream-tls-failed with a name-mismatch detail")
def t_upstream_wrong_name(env):
    prosody = env.prosody(cert=env.certs().wrong_name, direct_tls=True)
    proxy = env.proxy(prosody.direct_address, listen_opts={"tls": "starttls"},
                      upstream_opts=upstream_opts(env, "direct"),
                      tls=tls_config(env))
    upstream_refused(env, proxy, r"hostname|name|mismatch")


@tap.case("upstream.server_name names the upstream's certificate: the "
          "wrong-name certificate verifies against it; chat works, verified")
def t_upstream_server_name(env):
    prosody = env.prosody(cert=env.certs().wrong_name)
    proxy = env.proxy(prosody.address, listen_opts={"tls": "starttls"},
                      upstream_opts=upstream_opts(env, "starttls",
                                                  server_name="wrong.example"),
                      tls=tls_config(env))
    run_chat(proxy, **client_tls(env, "starttls"))
    proxy.stop()
    ups = of(proxy.events(), "tls", leg="upstream")
    check_eq([(u.get("verified"), u.get("sni")) for u in ups],
             [(True, "wrong.example")] * 2, "upstream verified, SNI")


@tap.case("upstream verify false: a self-signed upstream is accepted, the "
          "leg is reported unverified, and stderr warns on every session")
def t_verify_false(env):
    prosody = env.prosody(cert=env.certs().untrusted)
    proxy = env.proxy(prosody.address, listen_opts={"tls": "starttls"},
                      upstream_opts={"tls": "starttls", "verify": False},
                      tls=tls_config(env))
    before = proxy.stderr()
    run_chat(proxy, **client_tls(env, "starttls"))
    env.chat_works(proxy, **client_tls(env, "starttls"))
    proxy.stop()
    nsess = len(of(proxy.events(), "session.open"))
    check_eq(nsess, 4, "sessions")
    ups = of(proxy.events(), "tls", leg="upstream")
    check_eq([u.get("verified") for u in ups], [False] * 4, "upstream verified")
    err = proxy.stderr()[len(before):]
    warns = [l for l in err.splitlines()
             if re.search(r"\bwarn", l, re.I) and re.search(r"verif", l, re.I)]
    check(len(warns) >= nsess, "%d verify warnings on stderr for %d sessions: %s"
          % (len(warns), nsess, err[-600:]))


def starttls_proxy(env, **extra):
    prosody = env.prosody(**prosody_tls(env))
    return env.proxy(prosody.address, listen_opts={"tls": "starttls"},
                     upstream_opts=upstream_opts(env, "starttls"),
                     tls=tls_config(env), **extra)


def closes(proxy, n):
    """The first n session.close events, waited for."""
    def enough():
        c = of(proxy.events(), "session.close")
        return c[:n] if len(c) >= n else None
    return xgtest.wait_until(enough, 10, "%d session.close events" % n, 0.05)


@tap.case("a client that aborts the TLS handshake (half a ClientHello then "
          "FIN; FIN right after <proceed/>): client-tls-failed or "
          "client-dropped; the proxy keeps serving")
def t_client_aborts_handshake(env):
    proxy = starttls_proxy(env)
    hello = client_hello()
    raw = to_proceed(proxy.port)
    raw.send(hello[:len(hello) // 2])
    raw.close()
    raw = to_proceed(proxy.port)
    raw.close()
    for e in closes(proxy, 2):
        check(e.get("reason") in ("client-tls-failed", "client-dropped"),
              "close reason %r" % e.get("reason"))
    check_eq(of(proxy.events(), "tls"), [], "tls events for failed handshakes")
    env.chat_works(proxy, **client_tls(env, "starttls"))


@tap.case("handshake_timeout_s 1: a client that stalls mid TLS handshake "
          "is cut after ~1 s; the proxy keeps serving")
def t_client_stalls_handshake(env):
    proxy = starttls_proxy(env, limits={"handshake_timeout_s": 1})
    hello = client_hello()
    t0 = time.monotonic()
    raw = to_proceed(proxy.port)
    raw.send(hello[:len(hello) // 2])
    raw.read_to_eof(timeout=6)
    took = time.monotonic() - t0
    check(0.8 <= took <= 4, "closed after %.2fs, want ~1s" % took)
    e = closes(proxy, 1)[0]
    check(e.get("reason") in ("handshake-timeout", "client-tls-failed"),
          "close reason %r" % e.get("reason"))
    env.chat_works(proxy, **client_tls(env, "starttls"))


async def bob_online(addr, env):
    """bob logged in through the proxy with STARTTLS, presence sent."""
    bob, = xgtest.clients_for(addr, ("bob",), **client_tls(env, "starttls"))
    await bob.login()
    await bob.roster_and_presence()
    return bob


async def alice_says(addr, env, to, body):
    """alice logs in through the proxy, sends to one message, logs out."""
    alice, = xgtest.clients_for(addr, ("alice",), **client_tls(env, "starttls"))
    try:
        await alice.login()
        alice.say(to, body)
        await alice.logout()
    finally:
        alice.abort()


def while_bob_online(env, proxy, attack, bob_addr=None):
    """bob is online through proxy (or bob_addr) while attack() runs; then
    alice sends him a marker. Returns bob's messages: the marker arrived,
    bob's session outlived the attack."""
    async def scenario():
        bob = await bob_online(bob_addr or proxy.address, env)
        try:
            await asyncio.to_thread(attack)
            await alice_says(proxy.address, env, bob.boundjid.full, "marker")
            await bob.wait_for(lambda: any(m["body"] == "marker"
                                           for m in bob.messages),
                               "the marker message")
            check(not bob.closed, "bob's session ended during the attack")
            msgs = list(bob.messages)
            await bob.logout()
            return msgs
        finally:
            bob.abort()
    return run_async(scenario(), 60)


@tap.case("garbage instead of a ClientHello after <proceed/>: the session "
          "closes client-tls-failed, bob's session is unharmed, chat works")
def t_client_garbage(env):
    proxy = starttls_proxy(env)
    closed_reasons = []

    def attack():
        raw = to_proceed(proxy.port)
        raw.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" + bytes(range(256)))
        raw.read_to_eof(timeout=5)
        e = proxy.wait_event(lambda e: e.get("event") == "session.close",
                             "the attacker's session.close")
        closed_reasons.append(e.get("reason"))
    msgs = while_bob_online(env, proxy, attack)
    check_eq([m["body"] for m in msgs], ["marker"], "what bob received")
    check_eq(closed_reasons, ["client-tls-failed"], "the garbage session's close reason")
    check(proxy.alive(), "xmppgate is still running")


def inject(proxy):
    """Sends <starttls/> and a message in one write, waits for <proceed/>
    (or the end of the connection: refusing is fine too), closes, and waits
    until the proxy has ended that session (the first to end: bob is still
    online), so everything it did with the bytes is in the events."""
    raw = Raw(proxy.port)
    raw.send(HEADER)
    raw.read_until(r"</stream:features>", what="pre-TLS features")
    raw.send(STARTTLS + "<message to='bob@localhost' type='chat'>"
             "<body>injected</body></message>")
    try:
        raw.read_until(r"<proceed\b|</stream:stream>", timeout=10,
                       what="<proceed/> or the end of the stream")
    except xgtest.Failure:
        check(raw.eof, "neither <proceed/> nor a close: %s" % raw.text())
    raw.close()
    closes(proxy, 1)


def no_injection(proxy, msgs):
    check_eq([m["body"] for m in msgs], ["marker"], "what bob received")
    check(b"injected" not in proxy.raw_events(),
          "the injected bytes are in the events (parsed as XML)")
    check(proxy.alive(), "xmppgate is still running")


@tap.case("starttls listener: a message sent in the same write as "
          "<starttls/> is never parsed: no event, nothing reaches bob")
def t_injection_terminating(env):
    proxy = starttls_proxy(env)
    msgs = while_bob_online(env, proxy, lambda: inject(proxy))
    no_injection(proxy, msgs)


@tap.case("passthrough listener: a message sent in the same write as "
          "<starttls/> is never parsed: no event, nothing reaches bob")
def t_injection_passthrough(env):
    prosody = env.prosody(**prosody_tls(env))
    proxy = env.proxy(prosody.address, listen_opts={"tls": "passthrough"},
                      upstream_opts={"tls": "none"})
    msgs = while_bob_online(env, proxy, lambda: inject(proxy))
    no_injection(proxy, msgs)


def no_sni_hello(port, ctx):
    """A direct TLS handshake without SNI; returns the SSLSocket, or None
    when the proxy refused it."""
    try:
        return Raw(port, tls=ctx, server_name=None)
    except (ssl.SSLError, ConnectionError):
        return None


@tap.case("forging (tls.ca_cert): STARTTLS and direct clients trusting the "
          "CA accept the forged localhost certificate and chat; direct "
          "without SNI gets upstream.server_name's certificate, or is "
          "refused when the upstream is only an address")
def t_forge(env):
    c = env.certs()
    prosody = env.prosody(**prosody_tls(env))
    forge = {"ca_cert": c.ca[0], "ca_key": c.ca[1]}
    proxy = env.proxy(prosody.address, listen_opts={"tls": "starttls"},
                      upstream_opts=upstream_opts(env, "starttls"), tls=forge)
    run_chat(proxy, **client_tls(env, "starttls"))
    direct = env.proxy(prosody.address, listen_opts={"tls": "direct"},
                       upstream_opts=upstream_opts(env, "starttls"), tls=forge)
    run_chat(direct, **client_tls(env, "direct"))
    r = no_sni_hello(direct.port, c.client_context(trusted=False))
    check(r is None, "a direct TLS handshake without SNI succeeded with "
          "forging and no name to forge for")
    e = direct.wait_event(lambda e: e.get("event") == "session.close"
                          and e.get("reason") != "client-closed",
                          "the no-SNI session's close")
    check_eq(e.get("reason"), "client-tls-failed", "no-SNI close reason")
    named = env.proxy(prosody.address, listen_opts={"tls": "direct"},
                      upstream_opts=upstream_opts(env, "starttls",
                                                  server_name="localhost"),
                      tls=forge)
    ctx = c.client_context()
    ctx.check_hostname = False  # no SNI means no name to check here...
    r = no_sni_hello(named.port, ctx)
    check(r is not None, "no-SNI handshake refused despite upstream.server_name")
    san = r.sock.getpeercert().get("subjectAltName", ())  # ...but the CA is
    check(("DNS", "localhost") in san, "forged for %r, want localhost" % (san,))
    r.close()
    for px in (proxy, direct):
        px.stop()
        t = of(px.events(), "tls", leg="client")
        check_eq(len(t), 2, "client leg tls events")
        check(all(x.get("inspected") and x.get("sni") == "localhost" for x in t),
              "client legs inspected with SNI localhost: %r" % t)


if __name__ == "__main__":
    tap.run()
