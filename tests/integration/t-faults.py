# SPDX-License-Identifier: ISC
"""Bad input and faults: each case breaks one session and checks that the
offending side gets the right stream error (or the drop is mirrored), that
the session ends with the right reason in the events, and that xmppgate
keeps serving: another alice-and-bob chat works through the same process.

Misbehaving clients are raw sockets (xgtest.Raw); a misbehaving server is
xgtest.FakeUpstream; the well-behaved ones are real slixmpp clients and a
real Prosody.
"""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import HEADER, USERS, Raw, check, check_eq, of, stream_error  # noqa: E402

tap = xgtest.Tap()

FEATURES = xgtest.FAKE_FEATURES


def gets_stream_error(raw, cond):
    """raw's connection ends with stream error cond and a clean stream
    close; returns everything it received."""
    got = raw.read_to_eof()
    check_eq(stream_error(got), cond, "stream error the client got")
    check(got.rstrip().endswith("</stream:stream>"),
          "the stream is closed after the error: %s" % got[-80:])
    return got


def closed(proxy, what="session.close"):
    """The (first) session.close event, waited for."""
    return proxy.wait_event(lambda e: e.get("event") == "session.close", what)


def proxy_error(proxy, cond):
    """The proxy's own stream.error event with condition cond, toward the
    client (s2c)."""
    errs = of(proxy.events(), "stream.error", condition=cond)
    check(errs, "no stream.error %s event" % cond)
    check_eq((errs[0].get("by"), errs[0].get("dir")), ("proxy", "s2c"),
             "stream.error by, dir")


@tap.case("malformed XML from the client: not-well-formed, connection "
          "closed, reason client-error; the next chat works")
def t_malformed(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    c = Raw(proxy.port)
    c.send(HEADER + "<message><body>x</message>")
    gets_stream_error(c, "not-well-formed")
    check_eq(closed(proxy).get("reason"), "client-error", "close reason")
    proxy_error(proxy, "not-well-formed")
    env.chat_works(proxy)


@tap.case("an XML comment from the client: restricted-xml; the next chat works")
def t_comment(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    c = Raw(proxy.port)
    c.send(HEADER + "<message to='bob@localhost'><body>hel<!-- -->lo</body></message>")
    gets_stream_error(c, "restricted-xml")
    check_eq(closed(proxy).get("reason"), "client-error", "close reason")
    proxy_error(proxy, "restricted-xml")
    env.chat_works(proxy)


@tap.case("a rejected element is never forwarded: the server sees the "
          "header, not one byte of the bad stanza")
def t_not_forwarded(env):
    fake = xgtest.FakeUpstream(FEATURES.encode())
    proxy = env.proxy(fake.address)
    c = Raw(proxy.port)
    c.send(HEADER)
    c.read_until(r"<stream:features/>", what="the fake server's features")
    c.send("<message to='bob@localhost'><body>secret-hel<!-- -->lo</body></message>")
    gets_stream_error(c, "restricted-xml")
    upstream_got = fake.join()
    check("<stream:stream" in upstream_got, "upstream got the client's header")
    check("secret-hel" not in upstream_got and "<message" not in upstream_got,
          "the bad stanza reached upstream: %s" % upstream_got)


# Each input follows a valid header on a fresh connection.
BAD_CLIENT_INPUT = [
    ("processing instruction", "<?evil x?>", "restricted-xml"),
    ("undefined entity", "<message><body>&foo;</body></message>", "restricted-xml"),
    ("invalid UTF-8", b"<message><body>\xc3\x28</body></message>", "unsupported-encoding"),
    ("prefixed jabber:client stanza",
     "<x:message xmlns:x='jabber:client' to='bob@localhost'><body>hi</body></x:message>",
     "bad-namespace-prefix"),
    ("text at depth 1", "hello there", "not-well-formed"),
    ("&#0; character reference", "<message><body>a&#0;b</body></message>",
     "not-well-formed"),
]


@tap.case("restricted XML from the client (PI, entity, bad UTF-8, prefixed "
          "stanza, text at depth 1, &#0;): the right stream error for each")
def t_bad_inputs(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    for what, data, cond in BAD_CLIENT_INPUT:
        c = Raw(proxy.port)
        c.send(HEADER)
        c.send(data)
        got = c.read_to_eof()
        check_eq(stream_error(got), cond, what)
    closes = of(proxy.events(), "session.close")
    check_eq([e.get("reason") for e in closes], ["client-error"] * len(BAD_CLIENT_INPUT),
             "close reasons")
    env.chat_works(proxy)


@tap.case("malformed XML from the server: it gets not-well-formed, the "
          "client a stream error; reason upstream-error")
def t_malformed_upstream(env):
    fake = xgtest.FakeUpstream((FEATURES + "<message><body>x</message>").encode())
    proxy = env.proxy(fake.address)
    c = Raw(proxy.port)
    c.send(HEADER)
    got = c.read_to_eof()
    check("<stream:features/>" in got, "the client got the server's features")
    check_eq(stream_error(got), "undefined-condition", "client's stream error")
    upstream_got = fake.join()
    check_eq(stream_error(upstream_got), "not-well-formed", "server's stream error")
    check_eq(closed(proxy).get("reason"), "upstream-error", "close reason")


@tap.case("limits.max_stanza_bytes 10000: a 9000-byte message passes, a "
          "20000-byte one gets policy-violation + stanza-too-big")
def t_oversize(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, limits={"max_stanza_bytes": 10000})
    c = Raw(proxy.port)
    jid = c.login("alice", USERS["alice"])
    small = "s" * 9000
    c.send("<message to='%s' type='chat'><body>%s</body></message>" % (jid, small))
    c.read_until(small + "</body>", what="the 9000-byte message back")
    c.send("<message to='%s' type='chat'><body>%s</body></message>" % (jid, "b" * 20000))
    got = gets_stream_error(c, "policy-violation")
    check("<stanza-too-big xmlns='urn:xmpp:errors'/>" in got, "stanza-too-big")
    check_eq(closed(proxy).get("reason"), "client-error", "close reason")
    env.chat_works(proxy)


@tap.case("an oversize stanza from the server: the server gets "
          "policy-violation, the client a stream error, the session ends")
def t_oversize_upstream(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, limits={"max_stanza_bytes": 10000})
    alice = Raw(proxy.port)
    jid = alice.login("alice", USERS["alice"])
    bob = Raw(prosody.port)  # straight to Prosody: its limit is 256 KiB
    bob.login("bob", USERS["bob"])
    bob.send("<message to='%s' type='chat'><body>%s</body></message>" % (jid, "y" * 20000))
    got = alice.read_to_eof()
    check(stream_error(got) is not None, "the client gets a stream error")
    check("yyyy" * 100 not in got, "no part of the big stanza reached the client")
    errs = of(proxy.events(), "stream.error", condition="policy-violation", dir="c2s")
    check(errs, "no policy-violation toward the server in the events")
    check_eq(closed(proxy).get("reason"), "upstream-error", "close reason")
    env.chat_works(proxy)


@tap.case("upstream refuses the connection: the client gets a stream header "
          "and remote-connection-failed; once the server is up, chat works")
def t_upstream_refused(env):
    port = xgtest.free_port()  # nothing listens there yet
    proxy = env.proxy("127.0.0.1:%d" % port)
    c = Raw(proxy.port)
    c.send(HEADER)
    got = gets_stream_error(c, "remote-connection-failed")
    check(got.index("<stream:stream") < got.index("<stream:error"),
          "a stream header comes before the error")
    check_eq(closed(proxy).get("reason"), "upstream-unreachable", "close reason")
    proxy_error(proxy, "remote-connection-failed")
    env.prosody(port=port)
    env.chat_works(proxy)


async def logged_in_alice(addr):
    alice, = xgtest.clients_for(addr, ("alice",))
    await alice.login()
    return alice


@tap.case("upstream killed (SIGKILL) mid-session: the client's connection "
          "drops, reason upstream-dropped; a restarted server works again")
def t_upstream_killed(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)

    async def scenario():
        alice = await logged_in_alice(proxy.address)
        prosody.stop(signal.SIGKILL)
        await alice.wait_closed()
        return alice
    alice = xgtest.run_async(scenario())
    check_eq(alice.stream_errors, [], "a drop is mirrored as a drop, no error")
    c = closed(proxy)
    check_eq(c.get("reason"), "upstream-dropped", "close reason")
    check_eq(c.get("jid"), alice.boundjid.full, "close jid")
    env.prosody(port=prosody.port)
    env.chat_works(proxy)


@tap.case("upstream shuts down (SIGTERM) mid-session: its system-shutdown "
          "error is relayed to the client; a restarted server works again")
def t_upstream_shutdown(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    c = Raw(proxy.port)
    c.login("alice", USERS["alice"])
    # Let the connection settle: Prosody 0.12 SIGTERMed within a few ms of
    # its last write sends a bare FIN, its system-shutdown error lost (seen
    # without xmppgate too, and in strace of xmppgate: read() = 0, no data).
    c.send("<iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>")
    c.read_until(r"id='ping1'", what="the ping result")
    time.sleep(0.5)
    prosody.stop(signal.SIGTERM)
    gets_stream_error(c, "system-shutdown")
    errs = of(proxy.events(), "stream.error", condition="system-shutdown")
    check_eq([(e.get("by"), e.get("dir")) for e in errs], [("peer", "s2c")],
             "stream.error by, dir")
    check_eq(closed(proxy).get("reason"), "stream-error", "close reason")
    env.prosody(port=prosody.port)
    env.chat_works(proxy)


@tap.case("client vanishes after login (TCP reset): reason client-dropped; "
          "the proxy keeps serving, alice logs in again")
def t_client_reset(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    c = Raw(proxy.port)
    jid = c.login("alice", USERS["alice"])
    c.reset()
    e = closed(proxy)
    check_eq((e.get("reason"), e.get("jid")), ("client-dropped", jid), "close reason, jid")
    env.chat_works(proxy)


@tap.case("client closes TCP without </stream:stream>: client-dropped, and "
          "the server's side is dropped too, not closed cleanly")
def t_client_fin(env):
    fake = xgtest.FakeUpstream(FEATURES.encode())
    proxy = env.proxy(fake.address)
    c = Raw(proxy.port)
    c.send(HEADER)
    c.read_until(r"<stream:features/>", what="features")
    c.close()
    check_eq(closed(proxy).get("reason"), "client-dropped", "close reason")
    upstream_got = fake.join()
    check(fake.closed, "the proxy closed the upstream connection")
    check("</stream:stream>" not in upstream_got,
          "a dropped client must not become a clean close upstream")


@tap.case("handshake_timeout_s 1: a client that never sends a header gets a "
          "header and connection-timeout after ~1 s; the next chat works")
def t_no_header(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, limits={"handshake_timeout_s": 1})
    t0 = time.monotonic()
    c = Raw(proxy.port)
    got = gets_stream_error(c, "connection-timeout")
    took = time.monotonic() - t0
    check(0.8 <= took <= 4, "timed out after %.2fs, want ~1s" % took)
    check(got.startswith("<?xml") or got.startswith("<stream:stream"),
          "a stream header comes first")
    check_eq(closed(proxy).get("reason"), "handshake-timeout", "close reason")
    env.chat_works(proxy)


@tap.case("connect_timeout_s 1: an upstream that never answers the TCP "
          "handshake: remote-connection-failed after ~1 s, session ends then")
def t_connect_timeout(env):
    # A listener whose accept queue is full drops further SYNs: the proxy's
    # connect neither succeeds nor fails.
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    fillers = []
    for _ in range(3):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(blackhole.getsockname())
        fillers.append(f)
    try:
        proxy = env.proxy("127.0.0.1:%d" % blackhole.getsockname()[1],
                          limits={"connect_timeout_s": 1, "handshake_timeout_s": 10})
        t0 = time.monotonic()
        c = Raw(proxy.port)
        c.send(HEADER)
        got = c.read_until(r"</stream:stream>", what="the stream error")
        took = time.monotonic() - t0
        check_eq(stream_error(got), "remote-connection-failed", "client's stream error")
        check(0.8 <= took <= 4, "error after %.2fs, want ~1s" % took)
        e = closed(proxy)
        check_eq(e.get("reason"), "connect-timeout", "close reason")
        check(e.get("duration_s", 99) < 3, "the session ended %.1fs after it "
              "began, want ~1s (it lingered after the error)" % e.get("duration_s", 99))
    finally:
        for f in fillers:
            f.close()
        blackhole.close()


@tap.case("idle_timeout_s 1: a logged-in session with no traffic gets "
          "connection-timeout after ~1 s, reason idle-timeout")
def t_idle_timeout(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, limits={"idle_timeout_s": 1})
    c = Raw(proxy.port)
    c.login("alice", USERS["alice"])
    t0 = time.monotonic()
    gets_stream_error(c, "connection-timeout")
    took = time.monotonic() - t0
    check(0.8 <= took <= 4, "timed out after %.2fs, want ~1s" % took)
    check_eq(closed(proxy).get("reason"), "idle-timeout", "close reason")
    env.chat_works(proxy)


@tap.case("handshake_timeout_s 1: a client that stalls after the features "
          "(never authenticates) gets connection-timeout")
def t_stalled_negotiation(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, limits={"handshake_timeout_s": 1})
    c = Raw(proxy.port)
    c.send(HEADER)
    c.read_until(r"</stream:features>", what="features")
    gets_stream_error(c, "connection-timeout")
    check_eq(closed(proxy).get("reason"), "handshake-timeout", "close reason")


@tap.case("SIGTERM to xmppgate: a logged-in client gets system-shutdown, "
          "the server a clean close, reason shutdown, exit status 0")
def t_shutdown(env):
    fake = xgtest.FakeUpstream(FEATURES.encode())
    proxy = env.proxy(fake.address)
    c = Raw(proxy.port)
    c.send(HEADER)
    c.read_until(r"<stream:features/>", what="features")
    c.clear()
    proxy.proc.send_signal(signal.SIGTERM)
    gets_stream_error(c, "system-shutdown")
    check_eq(proxy.stop(wait_only=True), 0, "exit status")
    check_eq(closed(proxy).get("reason"), "shutdown", "close reason")
    upstream_got = fake.join()
    check(upstream_got.rstrip().endswith("</stream:stream>"),
          "the server's stream is closed cleanly: %s" % upstream_got[-60:])


if __name__ == "__main__":
    tap.run()
