# SPDX-License-Identifier: ISC
"""The PROXY protocol with a real HAProxy (mode tcp) on loopback.

In front of xmppgate: HAProxy with send-proxy (v1) or send-proxy-v2, its
own connections coming from 127.0.0.3, relays slixmpp clients (plaintext,
direct TLS, IPv6) to a PROXY listener of xmppgate in front of Prosody;
they chat, and session.open names each client's own address and port,
with HAProxy's as "via". Broken headers from a peer that is no load
balancer close the connection without a stream error.
Behind xmppgate: upstream.proxy_protocol sends the header to a HAProxy
that accepts it (accept-proxy) in front of Prosody; HAProxy's log names
the client's real address and port. A fake upstream checks the exact
bytes. (Prosody's own mod_net_proxy is not in Debian 12's prosody-modules,
so HAProxy is the real receiver here.)
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import (check, check_eq, of, run_async, free_port,  # noqa: E402
                    wait_until)

tap = xgtest.Tap()
HAPROXY_SRC = "127.0.0.3"  # HAProxy's own address toward its servers

HAPROXY_CFG = """# Written by tests/integration/t-proxyproto.py
global
    log stdout format raw local0
defaults
    mode tcp
    log global
    option logasap
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    log-format "conn client=%ci:%cp frontend=%fi:%fp"
"""


class HAProxy:
    """A HAProxy in the foreground (-db), its log on stdout in a file.
    routes is a list of (bind, server, options): bind "ADDR:PORT" plus
    bind options, server "ADDR:PORT" plus server options."""

    def __init__(self, where, routes):
        self.dir = where
        self.cfg = os.path.join(where, "haproxy.cfg")
        self.log = os.path.join(where, "haproxy.log")
        text = HAPROXY_CFG
        for i, (bind, server) in enumerate(routes):
            text += ("frontend fe%d\n    bind %s\n    default_backend be%d\n"
                     "backend be%d\n    server s%d %s\n"
                     % (i, bind, i, i, i, server))
        with open(self.cfg, "w") as f:
            f.write(text)
        self.ports = [int(b.split()[0].rsplit(":", 1)[1]) for b, _ in routes]
        self.proc = None

    def start(self):
        r = subprocess.run(["haproxy", "-c", "-f", self.cfg],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "haproxy -c: %s" % (r.stdout + r.stderr))
        with open(self.log, "w") as out:
            self.proc = xgtest._start(["haproxy", "-db", "-f", self.cfg], out,
                                      subprocess.STDOUT)
        wait_until(lambda: self.proc.poll() is not None
                   or all(xgtest.listening(p) for p in self.ports),
                   15, "haproxy to listen on %s" % self.ports)
        check(self.proc.poll() is None, "haproxy exited: %s" % self.text())
        return self

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is not None:
            xgtest._stop(self.proc)

    def diag(self):
        return ["haproxy: " + l for l in self.text().splitlines()[-8:]]


def haproxy(env, routes):
    d = os.path.join(env.tmp, "haproxy%d" % len(env.others))
    os.makedirs(d)
    return env.keep(HAProxy(d, routes)).start()


async def chat(addr, **tls):
    """alice and bob log in at addr and exchange a message; returns the
    clients (for their own addresses)."""
    alice, bob = xgtest.clients_for(addr, **tls)
    try:
        await alice.login()
        await bob.login()
        await bob.roster_and_presence()
        alice.say(str(bob.boundjid), "through the balancer")
        got = await bob.wait_messages(1)
        check_eq(got[0]["body"], "through the balancer", "bob's message")
        await alice.logout()
        await bob.logout()
        return alice, bob
    finally:
        alice.abort()
        bob.abort()


def fmt(sockname):
    host, port = sockname[0], sockname[1]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def check_clients(proxy, clients, how):
    """Each client's session.open names its own address and port, and
    HAProxy's outgoing address as via."""
    evs = proxy.events()
    opens = of(evs, "session.open")
    for c in clients:
        want = fmt(c.sockname)
        mine = [o for o in opens if o.get("client") == want]
        check(len(mine) == 1, "%s: one session.open with client %s, got %s"
              % (how, want, [(o.get("client"), o.get("via")) for o in opens]))
        check(str(mine[0].get("via", "")).startswith(HAPROXY_SRC + ":"),
              "%s: via is HAProxy's %s: %r" % (how, HAPROXY_SRC,
                                              mine[0].get("via")))
        check(mine[0].get("client") != mine[0].get("via"),
              "%s: client and via differ" % how)
        check(re.search(r"open client=%s via=%s:\d+ " % (
            re.escape(want), re.escape(HAPROXY_SRC)), proxy.stderr()),
            "%s: the operator log names client and via" % how)


def front(env, prosody, version, listen_opts=None, tls=None, bind="127.0.0.1"):
    """xmppgate with a PROXY listener, and HAProxy in front of it."""
    opts = {"proxy_protocol": version}
    opts.update(listen_opts or {})
    proxy = env.proxy(prosody.address, listen_opts=opts, **(tls or {}))
    hport = free_port()
    send = {"v1": "send-proxy", "v2": "send-proxy-v2"}[version]
    haproxy(env, [("%s:%d" % (bind, hport), "%s %s source %s"
                   % (proxy.address, send, HAPROXY_SRC))])
    return proxy, hport


@tap.case("HAProxy send-proxy (v1) in front: a chat works, session.open has "
          "each client's own address and port, HAProxy's as via")
def t_haproxy_v1(env):
    prosody = env.prosody()
    proxy, hport = front(env, prosody, "v1")
    clients = run_async(chat("127.0.0.1:%d" % hport), 30)
    check_clients(proxy, clients, "v1")


@tap.case("HAProxy send-proxy-v2 in front, an IPv6 client: the header's "
          "IPv6 address is the client")
def t_haproxy_v2_ipv6(env):
    prosody = env.prosody()
    proxy, hport = front(env, prosody, "v2", bind="[::1]")
    clients = run_async(chat("::1:%d" % hport), 30)
    check_clients(proxy, clients, "v2 IPv6")
    check(all(fmt(c.sockname).startswith("[::1]:") for c in clients),
          "the clients came over IPv6")


@tap.case("HAProxy send-proxy-v2 in front of a direct-TLS listener: the "
          "header comes before TLS; the chat and the tls event are normal")
def t_haproxy_direct_tls(env):
    certs = env.certs()
    prosody = env.prosody()
    proxy, hport = front(env, prosody, "v2", listen_opts={"tls": "direct"},
                         tls={"tls": {"cert": certs.server[0],
                                      "key": certs.server[1]}})
    clients = run_async(chat("127.0.0.1:%d" % hport, tls="direct",
                             ca_file=certs.ca[0]), 30)
    check_clients(proxy, clients, "direct TLS")
    tls = of(proxy.events(), "tls", leg="client")
    check(len(tls) == 2 and all(t.get("mode") == "direct" for t in tls),
          "two direct-TLS tls events: %r" % tls)


def raw_refused(proxy, data, what, timeout=5):
    """A peer that is no load balancer sends data: the connection closes
    without a byte from xmppgate."""
    r = xgtest.Raw(proxy.port, timeout=timeout)
    try:
        if data:
            r.send(data)
        got = r.read_to_eof(timeout)
    finally:
        r.close()
    check_eq(got, "", "%s: xmppgate sends nothing, not even a stream "
             "error" % what)


@tap.case("a PROXY listener closes on a bad, missing or late header without "
          "a stream error; session.open/close say proxy-protocol")
def t_bad_headers(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address,
                      listen_opts={"proxy_protocol": "any"},
                      limits={"proxy_header_timeout_s": 1})
    raw_refused(proxy, xgtest.HEADER, "XML first")
    raw_refused(proxy, "PROXY TCP4 1.2.3.4 5.6.7.8 1 02\r\n" + xgtest.HEADER,
                "a leading zero")
    raw_refused(proxy, b"\r\n\r\n\x00\r\nQUIT\n\x21\x12\x00\x00",
                "a v2 UDP header")
    raw_refused(proxy, "", "silence")
    closes = wait_until(lambda: len(of(proxy.events(), "session.close")) == 4
                        and of(proxy.events(), "session.close"),
                        10, "four session.close events")
    for c in closes:
        check_eq(c.get("reason"), "proxy-protocol", "close reason")
    details = [c.get("detail") for c in closes]
    for want in ("does not start with a PROXY protocol header",
                 "a port must be", "datagram", "no complete header within"):
        check(any(want in (d or "") for d in details),
              "a detail says %r: %r" % (want, details))
    for o in of(proxy.events(), "session.open"):
        check(o.get("client") is None and
              str(o.get("via")).startswith("127.0.0.1:"),
              "session.open: client null, via the peer: %r" % o)
    check(not of(proxy.events(), "stream.error"), "no stream.error event")
    check(re.search(r"PROXY protocol: the connection does not start",
                    proxy.stderr()), "the operator log says why")


def haproxy_log_clients(h):
    return re.findall(r"conn client=(\S+) frontend=", h.text())


@tap.case("upstream.proxy_protocol v1 and v2 to a HAProxy with accept-proxy "
          "in front of Prosody: the chat works, HAProxy logs each client's "
          "real address and port")
def t_upstream_haproxy(env):
    prosody = env.prosody()
    for version in ("v1", "v2"):
        hport = free_port()
        h = haproxy(env, [("127.0.0.1:%d accept-proxy" % hport,
                           prosody.address)])
        proxy = env.proxy("127.0.0.1:%d" % hport,
                          upstream_opts={"proxy_protocol": version})
        clients = run_async(chat(proxy.address), 30)
        want = sorted(fmt(c.sockname) for c in clients)
        got = wait_until(lambda: len(haproxy_log_clients(h)) >= 2
                         and haproxy_log_clients(h), 10, "HAProxy's log")
        check_eq(sorted(got), want, "%s: clients HAProxy saw" % version)


@tap.case("a chain: HAProxy (send-proxy-v2) -> xmppgate (PROXY listener, "
          "upstream v1) -> HAProxy (accept-proxy) -> Prosody: the last "
          "HAProxy sees the first client's address")
def t_chain(env):
    prosody = env.prosody()
    back = free_port()
    h2 = haproxy(env, [("127.0.0.1:%d accept-proxy" % back, prosody.address)])
    proxy = env.proxy("127.0.0.1:%d" % back,
                      listen_opts={"proxy_protocol": "v2"},
                      upstream_opts={"proxy_protocol": "v1"})
    hport = free_port()
    haproxy(env, [("127.0.0.1:%d" % hport, "%s send-proxy-v2 source %s"
                   % (proxy.address, HAPROXY_SRC))])
    clients = run_async(chat("127.0.0.1:%d" % hport), 30)
    check_clients(proxy, clients, "chain")
    want = sorted(fmt(c.sockname) for c in clients)
    got = wait_until(lambda: len(haproxy_log_clients(h2)) >= 2
                     and haproxy_log_clients(h2), 10, "HAProxy's log")
    check_eq(sorted(got), want, "the back HAProxy saw the real clients")


def parse_v2(data):
    """(src, sport, dst, dport) of a v2 TCP4 header, strictly."""
    check(data[:12] == b"\r\n\r\n\x00\r\nQUIT\n", "v2 signature")
    check_eq(data[12:14], b"\x21\x11", "v2 PROXY, TCP over IPv4")
    (n,) = struct.unpack("!H", data[14:16])
    check_eq(n, 12, "v2 length")
    src, dst = socket.inet_ntoa(data[16:20]), socket.inet_ntoa(data[20:24])
    sport, dport = struct.unpack("!HH", data[24:28])
    return "%s:%d" % (src, sport), "%s:%d" % (dst, dport), data[28:]


@tap.case("the upstream header, byte by byte at a fake server: first on the "
          "connection, then the client's stream unchanged")
def t_upstream_bytes(env):
    for version in ("v1", "v2"):
        fake = xgtest.FakeUpstream(xgtest.FAKE_FEATURES.encode())
        proxy = env.proxy(fake.address,
                          upstream_opts={"proxy_protocol": version})
        r = xgtest.Raw(proxy.port)
        me = "%s:%d" % r.sock.getsockname()[:2]
        r.send(xgtest.HEADER)
        r.read_until(r"<stream:features/>", what="the fake's features")
        r.close()
        fake.join()
        got = fake.received  # bytes: a v2 header is binary
        if version == "v1":
            line, _, rest = got.partition(b"\r\n")
            check_eq(line.decode(), "PROXY TCP4 %s %s %d %d" % (
                me.split(":")[0], "127.0.0.1", int(me.split(":")[1]),
                proxy.port), "v1 line")
        else:
            src, dst, rest = parse_v2(got)
            check_eq(src, me, "v2 source")
            check_eq(dst, proxy.address, "v2 destination")
        check(rest.startswith(xgtest.HEADER.encode()),
              "%s: the client's header follows: %r" % (version, rest[:80]))


if __name__ == "__main__":
    if shutil.which("haproxy") is None:
        xgtest._need(False, "haproxy is not installed (Debian package "
                     "haproxy)")
    tap.run()
