# SPDX-License-Identifier: ISC
"""Limits: the session cap, and memory under backpressure.

A peer that stops reading must not grow xmppgate's memory: each leg stops
reading once its peer's output buffer passes the high-water mark (256 KiB,
proxy/conn.h), so one session holds at most about 2 x (256 KiB + two
max_stanza_bytes) whatever the peers do (README "Bounds"). The flood cases
push 40 MB at a reader that does not read and check that the proxy's RSS
grows by less than RSS_BOUND (16 MiB, well below the 40 MB an unbounded
proxy would hold), then that nothing was lost once the reader reads again.
"""

import os
import json
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import HEADER, USERS, Raw, check, check_eq, of, stream_error  # noqa: E402

tap = xgtest.Tap()

RSS_BOUND = 8 * 1024 * 1024
BODY = 10000  # bytes of body per flood message
# A fake server never authenticates the client, so its whole flood is
# pre-authentication: allow the flood's messages there too.
PREAUTH_AS_MAX = {"preauth_stanza_bytes": 262144}
FEATURES = xgtest.FAKE_FEATURES.encode()
# Under ASan, freed memory waits in a quarantine: RSS would measure that.
NO_QUARANTINE = {"ASAN_OPTIONS": ":".join(
    [o for o in [os.environ.get("ASAN_OPTIONS")] if o] + ["quarantine_size_mb=0"])}


def rss(pid, field="VmRSS"):
    """A /proc/PID/status memory field in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise xgtest.Failure("no %s for pid %d" % (field, pid))


class RssWatch:
    """Peak RSS of pid from now on: VmHWM after a reset of the peak (Linux
    clear_refs 5), and sampling as a fallback."""

    def __init__(self, pid):
        self.pid = pid
        self.base = rss(pid)
        self.peak = self.base
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
            self.hwm = True
        except OSError:
            self.hwm = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.stop.wait(0.02):
            try:
                self.peak = max(self.peak, rss(self.pid))
            except (OSError, xgtest.Failure):
                return

    def growth(self):
        self.stop.set()
        self.thread.join()
        if self.hwm:
            self.peak = max(self.peak, rss(self.pid, "VmHWM"))
        return self.peak - self.base


def check_rss(watch, what):
    growth = watch.growth()
    check(growth < RSS_BOUND, "%s: RSS grew by %.1f MiB (bound %.0f MiB)"
          % (what, growth / 2**20, RSS_BOUND / 2**20))
    return growth


def flood(sock, to, total, stall=1.0, seconds=60):
    """Sends messages of BODY bytes, numbered from 0, to `to` until total
    bytes are sent, or the peer has accepted nothing for `stall` seconds
    (the backpressure these tests want to see), or the deadline. Returns
    (bytes sent, messages completely sent, the unsent rest of the next)."""
    sent = n = 0
    body = "f" * (BODY - 9)
    now = time.monotonic()
    deadline, last = now + seconds, now
    while sent < total:
        msg = ("<message to='%s' type='chat'><body>%08d %s</body></message>"
               % (to, n, body)).encode()
        view = memoryview(msg)
        while view:
            now = time.monotonic()
            if now - last > stall or now > deadline:
                return sent, n, bytes(view)
            sock.settimeout(0.1)
            try:
                k = sock.send(view)
            except socket.timeout:
                continue
            view = view[k:]
            sent += k
            last = now
        n += 1
    return sent, n, b""


def numbers(text):
    """The numbers of the flood messages in text, in order."""
    return [int(x) for x in re.findall(r"<body>(\d{8}) f+</body>", text)]


def small_buffers(sock):
    """No kernel autotuning on this socket: the test sees backpressure
    after a few MB instead of after tens of MB of kernel buffers."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)


@tap.case("limits.max_sessions 2: a third connection gets a header and "
          "resource-constraint; once the first two end, chat works")
def t_max_sessions(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, limits={"max_sessions": 2})
    held = [xgtest.open_stream(proxy.port) for _ in range(2)]
    third = Raw(proxy.port)
    third.send(HEADER)
    got = third.read_to_eof()
    check_eq(stream_error(got), "resource-constraint", "third connection's error")
    check(got.index("<stream:stream") < got.index("<stream:error"),
          "a stream header comes before the error")
    proxy.wait_event(lambda e: e.get("event") == "session.close" and
                     e.get("reason") == "session-limit",
                     "session.close with reason session-limit")
    for c in held:
        c.send("</stream:stream>")
        c.read_to_eof()
    xgtest.wait_until(lambda: len(of(proxy.events(), "session.close")) == 3, 10,
                      "both held sessions to close")
    env.chat_works(proxy)


@tap.case("backpressure s2c: a server floods a client that does not "
          "read; xmppgate stops reading the server, RSS grows < 8 MiB; "
          "then the client gets every message, in order")
def t_backpressure_s2c(env):
    result = {}

    def push(sock):
        sock.sendall(FEATURES)
        result["sent"], result["n"], _ = flood(sock, "alice@localhost/raw",
                                               40 * 10**6)
    fake = xgtest.FakeUpstream(push, timeout=30, bufsize=65536)
    proxy = env.proxy(fake.address, environ=NO_QUARANTINE,
                      limits=PREAUTH_AS_MAX)
    c = Raw(proxy.port, timeout=30)
    small_buffers(c.sock)
    watch = RssWatch(proxy.pid())
    c.send(HEADER)
    xgtest.wait_until(lambda: "n" in result, 60, "the server's flood to stall")
    check(result["sent"] < 30 * 10**6, "the server was never held back: it "
          "sent %.1f MB" % (result["sent"] / 1e6))
    growth = check_rss(watch, "s2c")
    check(proxy.alive(), "xmppgate is still running")
    n = result["n"]
    got = c.read_until(r"<body>%08d f+</body>" % (n - 1), timeout=60,
                       what="the last complete flood message")
    check_eq(numbers(got), list(range(n)), "message numbers the client got")
    print("# s2c: server held back after %.1f MB, RSS growth %.2f MiB"
          % (result["sent"] / 1e6, growth / 2**20), flush=True)
    c.reset()
    fake.join()


@tap.case("backpressure c2s: a client floods a server that does not read; "
          "xmppgate stops reading the client, RSS grows < 8 MiB; then the "
          "server gets every message, in order")
def t_backpressure_c2s(env):
    fake = xgtest.FakeUpstream(FEATURES, timeout=30, bufsize=65536,
                               pause_after_header=True)
    proxy = env.proxy(fake.address, environ=NO_QUARANTINE,
                      limits=dict(PREAUTH_AS_MAX, handshake_timeout_s=120))
    c = Raw(proxy.port)
    small_buffers(c.sock)
    c.send(HEADER)
    c.read_until(r"<stream:features/>", what="the fake server's features")
    watch = RssWatch(proxy.pid())
    sent, n, rest = flood(c.sock, "bob@localhost", 40 * 10**6)
    check(sent < 30 * 10**6, "the client was never held back: it sent %.1f MB"
          % (sent / 1e6))
    growth = check_rss(watch, "c2s")
    check(proxy.alive(), "xmppgate is still running")
    fake.resume()
    c.send(rest)  # the message cut short by the stall
    xgtest.wait_until(lambda: fake.received.find(b"<body>%08d " % n) != -1, 60,
                      "the server to get the last message")
    c.reset()
    upstream_got = fake.join(30)
    check_eq(numbers(upstream_got), list(range(n + 1)),
             "message numbers the server got")
    print("# c2s: client held back after %.1f MB, RSS growth %.2f MiB"
          % (sent / 1e6, growth / 2**20), flush=True)


@tap.case("backpressure end to end: bob stops reading while alice sends "
          "him 20 MB through Prosody; RSS grows < 8 MiB; bob then gets all")
def t_backpressure_prosody(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, environ=NO_QUARANTINE)
    bob = Raw(proxy.port, timeout=30)
    small_buffers(bob.sock)
    bob_jid = bob.login("bob", USERS["bob"])
    alice = Raw(proxy.port)
    alice.login("alice", USERS["alice"])
    bob.clear()
    watch = RssWatch(proxy.pid())
    sent, n, _ = flood(alice.sock, bob_jid, 20 * 10**6, stall=5)
    check(sent >= 20 * 10**6, "alice sent only %.1f MB: Prosody should "
          "buffer for bob" % (sent / 1e6))
    time.sleep(0.5)  # the last bytes reach the proxy
    growth = check_rss(watch, "through Prosody")
    got = bob.read_until(r"<body>%08d f+</body>" % (n - 1), timeout=60,
                         what="the last flood message")
    check_eq(numbers(got), list(range(n)), "message numbers bob received")
    print("# prosody: %d messages, %.1f MB, RSS growth %.2f MiB"
          % (n, sent / 1e6, growth / 2**20), flush=True)
    alice.send("</stream:stream>")
    bob.send("</stream:stream>")


@tap.case("SIGHUP reloads the config: new sessions get the new "
          "max_stanza_bytes, a running one keeps its own; the events file "
          "is reopened; a broken config is refused and nothing changes")
def t_reload(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    old = Raw(proxy.port)
    old_jid = old.login("alice", USERS["alice"])
    big = "<message to='%s' type='chat'><body>" + "z" * 20000 + "</body></message>"
    cfg = dict(proxy.config, limits={"max_stanza_bytes": 10000})
    with open(proxy.cfg_path, "w") as f:
        json.dump(cfg, f)
    os.rename(proxy.events_path, proxy.events_path + ".1")  # log rotation
    proxy.proc.send_signal(signal.SIGHUP)
    xgtest.wait_until(lambda: "reload" in proxy.stderr(), 10, "the reload")
    new = Raw(proxy.port)
    new_jid = new.login("bob", USERS["bob"])
    new.send(big % new_jid)
    check_eq(stream_error(new.read_to_eof()), "policy-violation",
             "a new session's 20000-byte stanza under the reloaded limit")
    old.clear()
    old.send(big % old_jid)
    old.read_until(r"z{20000}</body>", what="the big message back (old limit)")
    check(os.path.exists(proxy.events_path), "events.jsonl is reopened after "
          "SIGHUP")
    check(of(proxy.events(), "session.open"), "new events go to the new file")
    with open(proxy.cfg_path, "w") as f:
        f.write('{ "listen": [ ')
    proxy.proc.send_signal(signal.SIGHUP)
    xgtest.wait_until(lambda: "reload failed" in proxy.stderr(), 10,
                      "the broken reload to be refused")
    check(proxy.alive(), "xmppgate survives a broken config on SIGHUP")
    third = Raw(proxy.port)
    jid = third.login("bob", USERS["bob"], "third")
    third.send(big % jid)
    check_eq(stream_error(third.read_to_eof()), "policy-violation",
             "the last good config (10000 bytes) still holds")
    old.send("</stream:stream>")
    old.read_to_eof()


if __name__ == "__main__":
    tap.run()
