# SPDX-License-Identifier: ISC
"""Observability end to end: xmppgate with its metrics endpoint on a free
loopback port, in front of a real Prosody, with real slixmpp clients.

Every scrape is read strictly, as a Prometheus server would: each sample
belongs to a family declared by # HELP then # TYPE, no family or series
twice, label values properly escaped, counters named _total, histograms
cumulative with +Inf equal to _count. The numbers must match what the
case did and what the JSON events say about it: sessions, bytes and
stanzas each way, the rule's verdicts, TLS handshakes and their failures,
parse errors, close reasons, connect latencies. Also: /health through a
shutdown, the endpoint's bounds (methods, paths, sizes, connections,
timeouts), the config's loopback rule, and the operator log to syslog.
"""

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import (HEADER, Raw, check, check_eq, client_hello,  # noqa: E402
                    of, run_async, to_proceed, wait_until)

tap = xgtest.Tap()

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
MAX_CONNS = 8  # METRICS_HTTP_MAX_CONNS
IDLE_S = 5     # METRICS_HTTP_IDLE_S


class Exposition:
    """One scrape, parsed strictly. samples maps (name, frozenset of label
    pairs) to a float; types maps a family to its type."""

    def __init__(self, text):
        self.text = text
        self.types = {}
        self.samples = {}
        check(text.endswith("\n"), "the exposition ends with a newline")
        helped = None
        family = None
        for n, line in enumerate(text[:-1].split("\n"), 1):
            where = "line %d %r" % (n, line)
            if line.startswith("# HELP "):
                name, _, doc = line[7:].partition(" ")
                check(NAME.match(name) and doc, "bad HELP at " + where)
                check(name not in self.types and name != helped,
                      "family declared twice at " + where)
                helped = name
            elif line.startswith("# TYPE "):
                parts = line[7:].split(" ")
                check(len(parts) == 2 and parts[0] == helped,
                      "TYPE must follow its family's HELP at " + where)
                check(parts[1] in ("counter", "gauge", "histogram"),
                      "type %r at %s" % (parts[1], where))
                check(parts[1] != "counter" or parts[0].endswith("_total"),
                      "a counter named without _total at " + where)
                family = parts[0]
                self.types[family] = parts[1]
            else:
                check(not line.startswith("#"), "stray comment at " + where)
                self._sample(line, family, where)
        self._check_histograms()

    def _sample(self, line, family, where):
        m = SAMPLE.match(line)
        check(m, "not a sample: " + where)
        name, labels, value = m.groups()
        check(family is not None, "sample before any TYPE at " + where)
        if self.types[family] == "histogram":
            check(name in (family + "_bucket", family + "_sum",
                           family + "_count"),
                  "sample of no declared family at " + where)
        else:
            check(name == family, "sample of no declared family at " + where)
        pairs = []
        rest = labels or ""
        while rest:
            lm = LABEL.match(rest)
            check(lm, "bad label syntax at " + where)
            pairs.append((lm.group(1), re.sub(r'\\[\\"n]',
                                              lambda e: UNESCAPE[e.group(0)],
                                              lm.group(2))))
            rest = rest[lm.end():]
        check(len({k for k, _ in pairs}) == len(pairs),
              "a label twice at " + where)
        key = (name, frozenset(pairs))
        check(key not in self.samples, "series twice at " + where)
        try:
            self.samples[key] = float(value)
        except ValueError:
            raise xgtest.Failure("value not a number at " + where)

    def _check_histograms(self):
        for fam, typ in self.types.items():
            if typ != "histogram":
                continue
            buckets = sorted(
                ((float(dict(k[1])["le"]), v) for k, v in self.samples.items()
                 if k[0] == fam + "_bucket"), key=lambda b: b[0])
            check(buckets and buckets[-1][0] == float("inf"),
                  fam + " has a +Inf bucket")
            counts = [v for _, v in buckets]
            check(counts == sorted(counts), fam + " buckets are cumulative")
            check_eq(buckets[-1][1], self.get(fam + "_count"),
                     fam + ": +Inf bucket = _count")

    def get(self, name, **labels):
        """The value of one series; a missing series is a failure."""
        key = (name, frozenset(labels.items()))
        check(key in self.samples, "no series %s%s in:\n%s"
              % (name, labels, self.text[-2000:]))
        return self.samples[key]

    def total(self, name, **labels):
        """The sum of name's series whose labels include labels."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items()
                   if n == name and want <= ls)

    def series(self, name):
        return [dict(ls) for (n, ls), _ in self.samples.items() if n == name]


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(port, path="/metrics", method="GET", timeout=5):
    """(status, headers, body text) of one request, errors included; never
    through an HTTP proxy from the environment."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 method=method)
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8")


def scrape(port):
    """GET /metrics, checked and parsed strictly."""
    status, headers, body = http(port)
    check_eq(status, 200, "GET /metrics status")
    check_eq(headers.get("Content-Type"), CONTENT_TYPE, "Content-Type")
    return Exposition(body)


def curl_scrape(port):
    """The same with curl, as an operator would; None (and a note) when
    curl is missing outside CI (bootstrap.sh installs it)."""
    if shutil.which("curl") is None:
        check(os.environ.get("CI") != "true", "curl is not installed")
        print("# curl not installed: scraped with Python only", flush=True)
        return None
    r = subprocess.run(["curl", "-sS", "--noproxy", "*", "-D", "-",
                        "http://127.0.0.1:%d/metrics" % port],
                       capture_output=True, timeout=10)
    check_eq(r.returncode, 0, "curl exit status (%r)" % r.stderr.strip())
    head, _, body = r.stdout.decode("utf-8").partition("\r\n\r\n")
    check(head.startswith("HTTP/1.1 200"), "curl status: " + head[:40])
    check(re.search(r"(?im)^content-type: text/plain; version=0\.0\.4",
                    head), "curl Content-Type: " + head)
    return Exposition(body)


def metrics_proxy(env, upstream, **config):
    """A proxy with its metrics endpoint on a free loopback port (given as
    a port alone: loopback by default); the port is proxy.mport."""
    mport = xgtest.free_port()
    proxy = env.proxy(upstream, metrics={"address": str(mport)}, **config)
    proxy.mport = mport
    wait_until(lambda: xgtest.listening(mport), 5, "metrics to listen")
    return proxy


def closes(proxy, n):
    """The first n session.close events, waited for."""
    def enough():
        c = of(proxy.events(), "session.close")
        return c[:n] if len(c) >= n else None
    return wait_until(enough, 15, "%d session.close events" % n, 0.05)


SENT = ["one", "blockme please", "two", "and blockme again", "three"]
BLOCKED = [b for b in SENT if "blockme" in b]


@tap.case("chat with a drop rule: sessions, bytes, stanzas, the rule's "
          "verdicts, closes and connect latencies match the events; "
          "urllib and curl scrapes are strict Prometheus text")
def t_chat(env):
    prosody = env.prosody()
    proxy = metrics_proxy(env, prosody.address, filters=[
        {"name": "no-blockme", "type": "regex", "direction": "c2s",
         "match": {"stanza": "message", "text": r"\bblockme\b"},
         "action": "drop"}])
    before = scrape(proxy.mport)
    check_eq(before.get("xmppgate_sessions_total", listener=proxy.address), 0,
             "sessions_total before any session (listener listed)")
    check_eq(before.get("xmppgate_accepting"), 1, "accepting")
    check_eq(before.series("xmppgate_rule_verdicts_total"), [],
             "no rule verdicts before any stanza")
    during = {}
    alice, bob = xgtest.clients_for(proxy.address)

    async def chat():
        await alice.login()
        await bob.login()
        await bob.roster_and_presence()
        loop = asyncio.get_running_loop()
        during["m"] = await loop.run_in_executor(None, scrape, proxy.mport)
        for body in SENT:
            alice.say(bob.boundjid.full, body)
        await bob.wait_messages(len(SENT) - len(BLOCKED))
        await alice.get_roster(timeout=5)  # the drops are behind us
        await alice.logout()
        await bob.logout()
    try:
        run_async(chat(), 40)
    finally:
        alice.abort()
        bob.abort()
    check_eq([m["body"] for m in bob.messages],
             [b for b in SENT if b not in BLOCKED], "what bob received")
    check_eq(during["m"].get("xmppgate_sessions_open"), 2,
             "sessions_open while both are logged in")
    evs = closes(proxy, 2)
    m = scrape(proxy.mport)
    c = curl_scrape(proxy.mport)
    for name, x in (("urllib", m), ("curl", c)):
        if x is None:
            continue
        check_eq(x.get("xmppgate_sessions_total", listener=proxy.address), 2,
                 name + ": sessions_total")
    check_eq(m.get("xmppgate_sessions_open"), 0, "sessions_open after logout")
    check_eq(m.get("xmppgate_session_closes_total", reason="client-closed"),
             2, "closes by reason client-closed")
    check_eq(m.total("xmppgate_session_closes_total"), 2, "closes in all")
    check_eq(m.get("xmppgate_rule_verdicts_total", rule="no-blockme",
                   action="drop", dry_run="false"), len(BLOCKED),
             "the rule's drop verdicts = the blocked messages")
    check_eq(m.get("xmppgate_stanza_verdicts_total", dir="c2s",
                   verdict="drop"), len(BLOCKED), "c2s stanzas dropped")
    check(m.get("xmppgate_stanzas_total", dir="c2s", kind="message")
          >= len(SENT), "c2s messages counted >= messages sent")
    for d in ("c2s", "s2c"):
        want = sum(e["stanzas"][d] for e in evs)
        check_eq(m.total("xmppgate_stanzas_total", dir=d), want,
                 d + " stanzas = the sessions' session.close counts")
        check_eq(m.total("xmppgate_stanza_verdicts_total", dir=d), want,
                 d + " verdicts: one per stanza")
        # session.close counts bytes up to the element that ended the
        # session; the daemon's counter also has the rest of that read.
        got, ev = m.get("xmppgate_bytes_total", dir=d), sum(
            e["bytes"][d] for e in evs)
        check(ev > 1000 and ev <= got <= ev + 200,
              "%s bytes %d vs session.close's %d" % (d, got, ev))
    check_eq(m.get("xmppgate_upstream_connect_seconds_count"), 2,
             "connect latency histogram count = sessions")
    check(0 < m.get("xmppgate_upstream_connect_seconds_sum") < 2,
          "connect latency sum")
    check_eq(m.total("xmppgate_tls_handshakes_total"), 0, "no TLS here")
    check_eq(m.total("xmppgate_parse_errors_total"), 0, "no parse errors")
    build = m.series("xmppgate_build_info")
    check(len(build) == 1 and build[0].get("version") and
          build[0].get("libevent") and build[0].get("openssl"),
          "build_info labels: %r" % build)
    check(abs(m.get("xmppgate_start_time_seconds") - time.time()) < 120,
          "start time is about now")


@tap.case("TLS: a client that aborts its handshake counts as a client-leg "
          "failure, TLS chats as handshakes; an upstream certificate that "
          "does not verify as an upstream-leg failure")
def t_tls(env):
    certs = env.certs()
    prosody = env.prosody()
    proxy = metrics_proxy(env, prosody.address,
                          listen_opts={"tls": "starttls"},
                          tls={"cert": certs.server[0], "key": certs.server[1]})
    raw = to_proceed(proxy.port)
    hello = client_hello()
    raw.send(hello[:len(hello) // 2])
    raw.close()
    closes(proxy, 1)
    m = scrape(proxy.mport)
    check_eq(m.get("xmppgate_tls_handshake_failures_total", leg="client"), 1,
             "an aborted client handshake is a client-leg failure")
    check_eq(m.get("xmppgate_session_closes_total",
                   reason="client-tls-failed"), 1, "closed client-tls-failed")
    env.chat_works(proxy, tls="starttls", ca_file=certs.ca[0])
    closes(proxy, 3)
    m = scrape(proxy.mport)
    check_eq(m.get("xmppgate_tls_handshakes_total", leg="client"), 2,
             "two TLS clients chatted: two client handshakes")
    check_eq(len(of(proxy.events(), "tls", leg="client")), 2,
             "as many as tls events")
    check_eq(m.get("xmppgate_tls_handshake_failures_total", leg="client"), 1,
             "still one failure")
    check_eq(m.get("xmppgate_tls_handshakes_total", leg="upstream"), 0,
             "no upstream TLS")

    bad = env.prosody(cert=certs.untrusted)
    proxy2 = metrics_proxy(env, bad.address,
                           upstream_opts={"tls": "starttls",
                                          "ca_file": certs.ca[0]})
    raw = Raw(proxy2.port)
    raw.send(HEADER)
    raw.read_until(r"remote-connection-failed", what="the stream error")
    raw.close()
    closes(proxy2, 1)
    m = scrape(proxy2.mport)
    check_eq(m.get("xmppgate_tls_handshake_failures_total", leg="upstream"),
             1, "an untrusted upstream certificate is an upstream failure")
    check_eq(m.get("xmppgate_tls_handshakes_total", leg="upstream"), 0,
             "and no handshake")
    check_eq(m.get("xmppgate_session_closes_total",
                   reason="upstream-tls-failed"), 1, "upstream-tls-failed")


@tap.case("parse errors by direction, error and condition: restricted XML "
          "and an oversize stanza from clients")
def t_parse_errors(env):
    prosody = env.prosody()
    proxy = metrics_proxy(env, prosody.address,
                          limits={"max_stanza_bytes": 10000})
    raw = Raw(proxy.port)
    raw.send(HEADER)
    raw.read_until(r"</stream:features>", what="features")
    raw.send("<message to='bob@localhost'><!-- hi --></message>")
    raw.read_to_eof()
    raw = Raw(proxy.port)
    raw.send(HEADER)
    raw.read_until(r"</stream:features>", what="features")
    raw.send("<message><body>%s</body></message>" % ("x" * 20000))
    raw.read_to_eof()
    closes(proxy, 2)
    m = scrape(proxy.mport)
    check_eq(m.get("xmppgate_parse_errors_total", dir="c2s",
                   error="restricted-xml", condition="restricted-xml"), 1,
             "restricted-xml")
    check_eq(m.get("xmppgate_parse_errors_total", dir="c2s", error="too-big",
                   condition="policy-violation"), 1,
             "too-big (policy-violation)")
    check_eq(m.total("xmppgate_parse_errors_total"), 2, "nothing else")
    check_eq(m.get("xmppgate_session_closes_total", reason="client-error"), 2,
             "both closed client-error")


@tap.case("/health is 200 'ok' while accepting and 503 during shutdown "
          "(SIGTERM with a session open); /metrics still answers then")
def t_health(env):
    prosody = env.prosody()
    proxy = metrics_proxy(env, prosody.address)
    for path in ("/health", "/healthz"):
        status, _, body = http(proxy.mport, path)
        check_eq((status, body), (200, "ok\n"), "GET " + path)
    # A client that keeps its TCP connection after system-shutdown: the
    # session lingers (up to 5 s), and so does the daemon.
    raw = Raw(proxy.port)
    raw.send(HEADER)
    raw.read_until(r"</stream:features>", what="features")
    proxy.signal(signal.SIGTERM)
    raw.read_until(r"system-shutdown", what="system-shutdown")
    status, _, body = http(proxy.mport, "/health")
    check_eq((status, body), (503, "shutting down\n"),
             "GET /health during shutdown")
    check(proxy.alive(), "the daemon is still up, the session lingering")
    m = scrape(proxy.mport)
    check_eq(m.get("xmppgate_accepting"), 0, "accepting 0 during shutdown")
    check_eq(m.get("xmppgate_session_closes_total", reason="shutdown"), 1,
             "the session closed with reason shutdown")
    raw.close()
    proxy.stop(wait_only=True)


def idle_socket(port):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(10)
    return s


def answered(s, timeout):
    """Sends a GET /health on s; the status line, or None if none came."""
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(timeout)
    try:
        data = s.recv(4096)
    except socket.timeout:
        return None
    return data.split(b"\r\n", 1)[0].decode()


@tap.case("the endpoint's bounds: 404, 405 with Allow, HEAD, oversize "
          "headers refused, at most 8 connections (more wait), idle "
          "connections closed, no descriptor leaked")
def t_bounds(env):
    prosody = env.prosody()
    proxy = metrics_proxy(env, prosody.address)
    port = proxy.mport
    check_eq(http(port, "/nope")[0], 404, "an unknown path")
    check_eq(http(port, "/metrics/")[0], 404, "a near miss")
    status, headers, _ = http(port, "/metrics", "POST")
    check_eq(status, 405, "POST /metrics")
    check_eq(headers.get("Allow"), "GET, HEAD", "Allow")
    check_eq(http(port, "/health", "DELETE")[0], 405, "DELETE /health")
    status, headers, body = http(port, "/metrics", "HEAD")
    check_eq((status, body), (200, ""), "HEAD /metrics: no body")
    check_eq(http(port, "/metrics?x=1")[0], 200, "a query is ignored")
    s = idle_socket(port)
    s.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 10000 +
              b"\r\n\r\n")
    line = s.recv(4096).split(b"\r\n", 1)[0]
    check(re.match(rb"HTTP/1\.[01] 4\d\d ", line),
          "oversize headers refused: %r" % line)
    s.close()

    fds = len(os.listdir("/proc/%d/fd" % proxy.pid()))
    for _ in range(40):
        scrape(port)
    wait_until(lambda: len(os.listdir("/proc/%d/fd" % proxy.pid())) <= fds,
               5, "descriptors back to %d after 40 scrapes" % fds)

    t0 = time.monotonic()
    idle = [idle_socket(port) for _ in range(MAX_CONNS)]
    time.sleep(0.3)  # all accepted
    extra = idle_socket(port)  # connects: the kernel's backlog
    check_eq(answered(extra, 1.0), None,
             "a request past %d connections waits" % MAX_CONNS)
    idle.pop().close()
    check_eq(answered(extra, 3.0), "HTTP/1.1 200 OK",
             "and is served once a connection closes")
    extra.close()
    for s in idle:
        s.settimeout(IDLE_S + 3 - (time.monotonic() - t0))
        check_eq(s.recv(10), b"", "an idle connection is closed")
        s.close()
    took = time.monotonic() - t0
    check(IDLE_S - 1 <= took <= IDLE_S + 3,
          "idle connections closed after %.1fs, want ~%ds" % (took, IDLE_S))
    check_eq(http(port, "/health")[0], 200, "still serving")


@tap.case("config: a non-loopback metrics address is refused (allowed with "
          "allow_remote); a port in use is an error at start")
def t_config(env):
    def run(metrics, *extra):
        cfg = os.path.join(env.tmp, "m.json")
        with open(cfg, "w") as f:
            # As root (CI), xmppgate must be told it may stay root.
            f.write('{"listen": [{"address": "127.0.0.1:%d"}], '
                    '"upstream": {"address": "127.0.0.1:1"}, %s'
                    '"metrics": %s}' % (
                        xgtest.free_port(),
                        '"allow_root": true, ' if os.geteuid() == 0 else '',
                        metrics))
        return subprocess.run([xgtest.XG_BIN, "-c", cfg] + list(extra),
                              capture_output=True, text=True, timeout=10)
    r = run('{"address": "0.0.0.0:9222"}', "-n")
    check(r.returncode != 0 and "metrics.address: '0.0.0.0:9222' is not a "
          "loopback address" in r.stderr and "metrics.allow_remote" in
          r.stderr, "0.0.0.0 refused: %s" % r.stderr.strip())
    r = run('{"address": "[::]:9222"}', "-n")
    check(r.returncode != 0 and "not a loopback address" in r.stderr,
          "[::] refused: %s" % r.stderr.strip())
    r = run('{"address": "0.0.0.0:9222", "allow_remote": true}', "-n")
    check_eq(r.returncode, 0, "allowed with allow_remote (%s)" % r.stderr)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        r = run('{"address": "%d"}' % busy.getsockname()[1])
    check(r.returncode != 0 and re.search(
        r"metrics\.address: 127\.0\.0\.1:\d+: cannot listen: Address already "
        r"in use", r.stderr), "a busy port: %s" % r.stderr.strip())


SYSLOG_NS = r"""set -e
mount --bind /dev "$XG_T/olddev"
mount -t tmpfs -o size=64k,mode=755 xg-dev /dev
for d in null zero random urandom; do
	touch /dev/$d
	mount --bind "$XG_T/olddev/$d" /dev/$d
done
touch /dev/log
mount --bind "$XG_T/log" /dev/log
exec "$@"
"""


@tap.case("syslog: the operator log goes to /dev/log (a socket of the "
          "test's, in a private mount namespace) with the facility and "
          "each level's priority, ident xmppgate[PID]; stderr stays quiet")
def t_syslog(env):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise xgtest.Skip("needs root and unshare(1) for a private /dev/log")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        "true"], capture_output=True, timeout=10)
    if r.returncode != 0:
        raise xgtest.Skip("mount namespaces refused: %s"
                          % r.stderr.decode().strip())
    t = os.path.join(env.tmp, "ns")
    os.makedirs(os.path.join(t, "olddev"))
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind(os.path.join(t, "log"))
    log.settimeout(0.2)
    prosody = env.prosody()
    d = os.path.join(env.tmp, "xs")
    os.makedirs(d)
    proxy = xgtest.Proxy(d, prosody.address,
                         environ={"XG_T": t},
                         log={"syslog": True, "facility": "local3"})
    proxy.argv = ["unshare", "--mount", "--propagation", "private", "sh",
                  "-c", SYSLOG_NS, "sh"] + proxy.argv
    env.proxies.append(proxy)
    proxy.start()
    lines = []

    def drain():
        try:
            while True:
                lines.append(log.recv(8192).decode("utf-8", "replace"))
        except socket.timeout:
            pass
        return lines

    def has(rx):
        return any(re.search(rx, l) for l in drain())
    pid = proxy.pid()
    # local3 is facility 19: priority 19 * 8 + severity.
    wait_until(lambda: has(r"^<158>.*xmppgate\[%d\]: listening "
                           r"address=127\.0\.0\.1:%d" % (pid, proxy.port)),
               10, "the listening line at local3.info")
    # A warning: a reload of a config that does not load.
    with open(proxy.cfg_path, "w") as f:
        f.write("{ not json")
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: has(r"^<156>.*xmppgate\[%d\]: reload failed" % pid),
               10, "the reload warning at local3.warning")
    proxy.stop()
    check(has(r"^<158>.*xmppgate\[%d\]: xmppgate stopped" % pid),
          "the last line, at local3.info")
    check_eq(proxy.stderr(), "", "nothing on stderr")
    log.close()


tap.run()
