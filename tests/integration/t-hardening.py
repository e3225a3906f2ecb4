# SPDX-License-Identifier: ISC
"""Hardening: the pre-authentication element limit and the per-address
connection limits, with a real Prosody and real clients.

Until the server accepted the client's authentication both legs take
elements of at most limits.preauth_stanza_bytes (8192 by default); after
it, max_stanza_bytes (262144). The per-address limits are checked at
accept: limits.connections_per_ip new connections per
connections_interval_s (a token bucket with connections_burst), and
limits.sessions_per_ip sessions open at once. A refused connection gets a
stream header and policy-violation, a session.open/session.close pair with
reason rate-limit, and the operator log one line per address and interval.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import (HEADER, USERS, Raw, check, check_eq, of,  # noqa: E402
                    run_async, stream_error)

tap = xgtest.Tap()

PREAUTH = 8192  # the default limits.preauth_stanza_bytes
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"


def refusal_text(got):
    """The <text/> of the stream error in got."""
    m = re.search(r"<text\b[^>]*>([^<]*)</text>", got)
    return m.group(1) if m else None


def close_of(proxy, pred, what):
    return proxy.wait_event(lambda e: e.get("event") == "session.close"
                            and pred(e), what)


@tap.case("before authentication: a 20 KB <auth/> gets policy-violation + "
          "stanza-too-big, the text and session.close say 'before "
          "authentication'; nothing of it reaches the server")
def t_preauth_too_big(env):
    fake = xgtest.FakeUpstream(xgtest.FAKE_FEATURES.encode())
    proxy = env.proxy(fake.address)
    c = Raw(proxy.port)
    c.send(HEADER)
    c.read_until(r"<stream:features/>", what="the server's features")
    c.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>"
           % (SASL_NS, "QUFB" * 5000))
    got = c.read_to_eof()
    check_eq(stream_error(got), "policy-violation", "stream error")
    check("<stanza-too-big xmlns='urn:xmpp:errors'/>" in got, "stanza-too-big")
    check("before authentication" in (refusal_text(got) or ""),
          "the text says before authentication: %r" % refusal_text(got))
    ev = close_of(proxy, lambda e: True, "session.close")
    check_eq(ev.get("reason"), "client-error", "close reason")
    check("before authentication" in (ev.get("detail") or ""),
          "session.close detail: %r" % ev.get("detail"))
    check("QUFBQUFB" not in fake.join(), "no part of the <auth/> was "
          "forwarded")


@tap.case("after authentication: a client sends itself a 100 KB message "
          "and gets it back whole (c2s and s2c past the pre-auth limit)")
def t_postauth_big(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    c = Raw(proxy.port, timeout=15)
    jid = c.login("alice", USERS["alice"])
    body = "".join("%07d," % i for i in range(12500)) + "END-OF-BODY"
    check(len(body) > 100000, "a body over 100 KB")
    c.clear()
    c.send("<message to='%s' type='chat' id='big1'><body>%s</body></message>"
           % (jid, body))
    got = c.read_until(r"END-OF-BODY</body>", what="the 100 KB message back")
    check(body in got, "the whole body came back")
    stanzas = [e for e in of(proxy.events(), "stanza", kind="message")
               if e.get("bytes", 0) > 100000]
    check_eq(sorted(e["dir"] for e in stanzas), ["c2s", "s2c"],
             "one 100 KB message each way in the events")
    c.send("</stream:stream>")
    c.read_to_eof()


async def logins(addr):
    """alice with SCRAM-SHA-256 (SCRAM-SHA-1 if Prosody lacks it), bob
    with SCRAM-SHA-1: slixmpp through the proxy, then a message."""
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        try:
            await xgtest.chat_once(addr, mechs={"alice": mech})
            return mech
        except Exception:  # noqa: BLE001 - try the next mechanism
            if mech == "SCRAM-SHA-1":
                raise
    return None


@tap.case("real clients fit the default pre-auth limit with room to spare: "
          "slixmpp SCRAM logins through Prosody, every element before "
          "authentication under half of 8192 bytes, both ways")
def t_preauth_real_clients(env):
    prosody = env.prosody(modules=("smacks",))
    proxy = env.proxy(prosody.address)
    mech = run_async(logins(proxy.address), 60)
    largest = {"c2s": 0, "s2c": 0}
    nauth = 0
    for sid, evs in xgtest.sessions(proxy.events()).items():
        for e in evs:
            if e.get("event") == "auth" and e.get("outcome") == "success":
                nauth += 1
                break
            if e.get("event") in ("stanza", "stream.open"):
                size = e.get("bytes") or len(e.get("xml", "").encode())
                largest[e["dir"]] = max(largest[e["dir"]], size)
    check(nauth >= 2, "two authenticated sessions in the events")
    check(largest["c2s"] < PREAUTH // 2 and largest["s2c"] < PREAUTH // 2,
          "largest pre-auth elements %r under %d" % (largest, PREAUTH // 2))
    print("# %s: largest element before authentication: c2s %d, s2c %d "
          "bytes" % (mech, largest["c2s"], largest["s2c"]), flush=True)


def burst(port, n):
    """n connections at once, each sending a stream header; returns the
    Raw clients and what each got: features (admitted) or an error."""
    raws = [Raw(port) for _ in range(n)]
    for r in raws:
        try:
            r.send(HEADER)
        except OSError:  # refused and closed before the header went out
            pass
    got = [r.read_until(r"</stream:features>|</stream:stream>",
                        what="features or a stream error") for r in raws]
    return raws, got


def rate_limit_lines(proxy):
    return re.findall(r"reason=rate-limit[^\n]*", proxy.stderr())


@tap.case("limits.connections_per_ip 3 per 6 s: with a session open, a "
          "burst of 6 connections from 127.0.0.1 gets 2 in and 4 refused "
          "(header, policy-violation, rate-limit events, one log line); "
          "the open session keeps working; once tokens are back, chat works")
def t_rate_limit(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address,
                      limits={"connections_per_ip": 3,
                              "connections_interval_s": 6})
    alice = Raw(proxy.port)
    jid = alice.login("alice", USERS["alice"])
    raws, got = burst(proxy.port, 6)
    admitted = [g for g in got if "</stream:features>" in g]
    refused = [g for g in got if "</stream:features>" not in g]
    check_eq((len(admitted), len(refused)), (2, 4), "admitted, refused")
    for g in refused:
        check_eq(stream_error(g), "policy-violation", "a refusal's error")
        check(g.index("<stream:stream") < g.index("<stream:error"),
              "a stream header comes before the error")
        check("too many connections" in (refusal_text(g) or ""),
              "the text: %r" % refusal_text(g))
    def four_closes():
        cl = of(proxy.events(), "session.close", reason="rate-limit")
        return cl if len(cl) == 4 else None
    closes = xgtest.wait_until(four_closes, 10, "4 rate-limit closes")
    evs = xgtest.sessions(proxy.events())
    for e in closes:
        pair = [x["event"] for x in evs[e["session"]]]
        check_eq(pair, ["session.open", "session.close"],
                 "a refused connection's events")
        check_eq(e.get("detail"), "over the rate of 3 new connections per "
                 "6 s (burst 3) from 127.0.0.1", "detail")
    lines = rate_limit_lines(proxy)
    check_eq(len(lines), 1, "operator log lines for 4 refusals: %r" % lines)
    # The session that was open all along still works.
    alice.clear()
    alice.send("<message to='%s' type='chat'><body>still here</body>"
               "</message>" % jid)
    alice.read_until(r"still here</body>", what="alice's message back")
    for r in raws:
        r.close()
    time.sleep(4.5)  # 1 token per 2 s: two connections for the chat
    env.chat_works(proxy)
    alice.send("</stream:stream>")
    alice.read_to_eof()


@tap.case("limits.sessions_per_ip 2: a third session from 127.0.0.1 gets "
          "policy-violation while two are open; once one ends, a new one "
          "gets in")
def t_sessions_per_ip(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, limits={"sessions_per_ip": 2})
    held = [xgtest.open_stream(proxy.port) for _ in range(2)]
    third = Raw(proxy.port)
    got = third.read_to_eof()
    check_eq(stream_error(got), "policy-violation", "the third's error")
    check("too many sessions" in (refusal_text(got) or ""),
          "the text: %r" % refusal_text(got))
    ev = close_of(proxy, lambda e: e.get("reason") == "rate-limit",
                  "the rate-limit close")
    check_eq(ev.get("detail"), "2 sessions already open from 127.0.0.1",
             "detail")
    held[0].send("</stream:stream>")
    held[0].read_to_eof()
    xgtest.wait_until(lambda: len(of(proxy.events(), "session.close")) == 2,
                      10, "the first held session to close")
    fourth = xgtest.open_stream(proxy.port)
    for c in (held[1], fourth):
        c.send("</stream:stream>")
        c.read_to_eof()


if __name__ == "__main__":
    tap.run()
