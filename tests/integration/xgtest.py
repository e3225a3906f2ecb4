# SPDX-License-Identifier: ISC
"""Harness for xmppgate's integration tests: real Prosody, real clients.

Each test file builds a Tap, registers cases (small functions taking an Env)
and calls tap.run(). An Env is one case's world: a temp dir, a throwaway
Prosody on a free loopback port with users alice and bob, and xmppgate in
front of it with a JSON config written from keyword arguments. Everything a
case starts is stopped by PID when the case ends, pass or fail; the whole
file runs under an alarm so nothing can hang. It does not judge xmppgate's
behaviour itself: the cases say what must be seen.

Environment: XG_BIN (the daemon), XG_TOP_SRCDIR, XG_TOP_BUILDDIR, set by
`make check`; CI=true turns a missing Prosody or slixmpp into a failure
instead of a skip; XG_KEEP=1 keeps every case's temp dir (its events.jsonl
are seed material for tests/fuzz/seeds-from-events.py), not only a failed
one's.
"""

import asyncio
import atexit
import base64
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("XG_TOP_SRCDIR", os.path.dirname(os.path.dirname(HERE)))
TOP_BUILDDIR = os.environ.get("XG_TOP_BUILDDIR", TOP_SRCDIR)
XG_BIN = os.environ.get("XG_BIN", os.path.join(TOP_BUILDDIR, "proxy", "xmppgate"))

USERS = {"alice": "Alice-pw-7f3k!q", "bob": "Bob-pw-9x2m#z"}
DOMAIN = "localhost"
HEADER = ("<?xml version='1.0'?><stream:stream to='localhost' "
          "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
          "version='1.0'>")
STREAMS_NS = "urn:ietf:params:xml:ns:xmpp-streams"
# What a FakeUpstream says first: a server header and empty features.
FAKE_FEATURES = ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                 "xmlns:stream='http://etherx.jabber.org/streams' "
                 "from='localhost' id='fake1' version='1.0'><stream:features/>")

_live = {}  # pid -> Popen of every process started here, for the last resort


def _kill_leftovers():
    for p in list(_live.values()):
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_leftovers)


class Failure(Exception):
    """A check that did not hold; the message says what was expected."""


class Skip(Exception):
    """A case that cannot run on this machine (the message says why): TAP
    "ok N - ... # SKIP why". Only for what the machine refuses (namespaces,
    privileges), never for a missing package CI installs."""


def check(cond, what):
    if not cond:
        raise Failure(what)


def check_eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, _short(got), _short(want)))


def _short(v, n=300):
    s = repr(v) if not isinstance(v, str) else v
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port, pid=None):
    """True when some socket listens on port (/proc, no connection made:
    probing by connecting would open a session and pollute the events).
    With pid, in that process's network namespace."""
    where = "/proc/net" if pid is None else "/proc/%d/net" % pid
    for name in (where + "/tcp", where + "/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def wait_until(cond, timeout, what, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(step)


def netns_argv(ns):
    """The argv prefix that runs a command in network namespace ns (exec:
    the PID stays the command's own, so it is stopped by PID as usual)."""
    return ["ip", "netns", "exec", ns] if ns else []


def _start(argv, out, err, **kw):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=err, **kw)
    _live[p.pid] = p
    return p


def _stop(p, sig=signal.SIGTERM, timeout=5.0):
    """Signals p (by PID, ours), waits, kills if it lingers; returns rc."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    _live.pop(p.pid, None)
    return p.returncode


def _tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return f.readlines()[-n:]
    except OSError:
        return []


def prosody_config(where, port, cert=None, tls_required=True,
                   direct_port=None, modules=(), muc=False,
                   interfaces=("127.0.0.1",)):
    """The text of a throwaway prosody.cfg.lua (see Prosody), also for the
    demos in examples/, which run Prosody without this harness."""
    mods = "".join('; "%s"' % m for m in modules)
    if cert is None:
        tls = PROSODY_NO_TLS.format(modules=mods)
    else:
        tls = PROSODY_TLS.format(
            require="true" if tls_required else "false",
            cert=cert[0], key=cert[1], modules=mods,
            direct=direct_port if direct_port else "")
    ifaces = "; ".join('"%s"' % a for a in interfaces)
    text = PROSODY_CFG.format(dir=where, port=port, tls=tls,
                              interfaces=ifaces)
    if muc:
        text += PROSODY_MUC.format(muc=MUC_DOMAIN)
    return text


class Prosody:
    """A throwaway Prosody 0.12 on a free loopback port, no s2s. Without
    cert, no TLS at all; with cert (a (chain PEM, key) pair) STARTTLS is
    offered, and required unless tls_required is False; direct_tls adds a
    XEP-0368 direct TLS port (direct_port) with the same certificate.
    modules are enabled on top of the base set (e.g. "smacks", "version");
    muc adds the MUC component MUC_DOMAIN (rooms unlocked on creation)."""

    def __init__(self, where, users=USERS, port=None, cert=None,
                 tls_required=True, direct_tls=False, modules=(), muc=False,
                 interfaces=("127.0.0.1",), netns=None):
        self.dir = where
        self.netns = netns  # run inside this network namespace
        self.interfaces = list(interfaces)
        self.port = port or free_port()
        self.direct_port = free_port() if direct_tls else None
        self.users = dict(users)
        self.proc = None
        self.cfg = os.path.join(self.dir, "prosody.cfg.lua")
        self.log = os.path.join(self.dir, "prosody.log")
        os.makedirs(os.path.join(self.dir, "data"))
        os.makedirs(os.path.join(self.dir, "certs"))  # silences certmanager
        check(cert is not None or not direct_tls, "direct TLS needs a cert")
        with open(self.cfg, "w") as f:
            f.write(prosody_config(self.dir, self.port, cert=cert,
                                   tls_required=tls_required,
                                   direct_port=self.direct_port,
                                   modules=modules, muc=muc,
                                   interfaces=self.interfaces))
        for user, pw in self.users.items():
            self.add_user(user, pw)

    def add_user(self, user, pw):
        # prosodyctl honours --config; internal_plain stores the password
        # in data/localhost/accounts/USER.dat.
        r = subprocess.run(["prosodyctl", "--config", self.cfg, "register",
                            user, DOMAIN, pw], capture_output=True, text=True,
                           timeout=30)
        acct = os.path.join(self.dir, "data", DOMAIN, "accounts", user + ".dat")
        check(r.returncode == 0 and os.path.exists(acct),
              "prosodyctl register %s failed: %s" % (user, r.stdout + r.stderr))
        self.users[user] = pw

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def direct_address(self):
        return "127.0.0.1:%d" % self.direct_port

    def start(self):
        out = open(os.path.join(self.dir, "stdout.log"), "w")
        self.proc = _start(netns_argv(self.netns) + ["prosody", "--config",
                                                     self.cfg],
                           out, subprocess.STDOUT, cwd=self.dir)
        out.close()
        ports = [p for p in (self.port, self.direct_port) if p]
        pid = self.proc.pid if self.netns else None
        wait_until(lambda: self.proc.poll() is not None
                   or all(listening(p, pid) for p in ports),
                   15, "prosody to listen on %s" % ports)
        check(self.proc.poll() is None, "prosody exited at start: %s" %
              "".join(_tail(os.path.join(self.dir, "stdout.log")) + _tail(self.log)))
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None:
            _stop(self.proc, sig)

    def diag(self):
        return ["prosody.log: " + l.rstrip() for l in _tail(self.log, 10)]


PROSODY_CFG = """-- Throwaway config written by tests/integration/xgtest.py
run_as_root = true
daemonize = false
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
certificates = "{dir}/certs"
plugin_paths = {{}}
interfaces = {{ {interfaces} }}
local_interfaces = {{ {interfaces} }}
c2s_interfaces = {{ {interfaces} }}
c2s_ports = {{ {port} }}
s2s_ports = {{}}
http_ports = {{}}
https_ports = {{}}
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
-- Nagle costs ~40 ms per login round trip.
network_settings = {{ nagle = false }}
log = {{ debug = "{dir}/prosody.log" }}
{tls}
VirtualHost "localhost"
"""

PROSODY_NO_TLS = """c2s_require_encryption = false
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"{modules} }}
modules_disabled = {{ "s2s"; "tls" }}"""

PROSODY_TLS = """c2s_require_encryption = {require}
ssl = {{ certificate = "{cert}"; key = "{key}" }}
c2s_direct_tls_ports = {{ {direct} }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "tls"{modules} }}
modules_disabled = {{ "s2s" }}"""

MUC_DOMAIN = "conference." + DOMAIN
# A room is created by its first occupant and usable at once (no owner
# configuration step first).
PROSODY_MUC = """
Component "{muc}" "muc"
    muc_room_locking = false
"""


OPENSSL_CNF = """# Written by tests/integration/xgtest.py
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::XG_SAN
"""


class Certs:
    """Certificates made now with the openssl CLI (EC P-256, valid 2 days),
    in dir, never committed. Each name below is a (certificate PEM, key)
    path pair:
      ca         the test CA (clients and the proxy trust ca[0])
      server     CN/SAN localhost, signed by ca
      wrong_name SAN wrong.example, signed by ca
      untrusted  CN/SAN localhost, self-signed
    Keys are mode 0600 (a group/other-readable key makes a warning)."""

    def __init__(self, where):
        self.dir = where
        check(shutil.which("openssl"), "the openssl CLI is not installed "
              "(Debian package openssl)")
        os.makedirs(where, exist_ok=True)
        self.cnf = os.path.join(where, "openssl.cnf")
        with open(self.cnf, "w") as f:
            f.write(OPENSSL_CNF)
        self.ca = self._make("ca", "xmppgate test CA", "ca", None)
        self.server = self._make("server", "localhost", "leaf", self.ca)
        self.wrong_name = self._make("wrong-name", "wrong.example", "leaf", self.ca)
        self.untrusted = self._make("untrusted", "localhost", "leaf", None)

    def _make(self, name, cn, ext, issuer):
        pem = os.path.join(self.dir, name + ".pem")
        key = os.path.join(self.dir, name + ".key")
        argv = ["openssl", "req", "-config", self.cnf, "-x509", "-new",
                "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", pem, "-days", "2",
                "-subj", "/CN=" + cn, "-extensions", ext]
        if issuer:
            argv += ["-CA", issuer[0], "-CAkey", issuer[1]]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, XG_SAN="DNS:" + cn))
        check(r.returncode == 0 and os.path.exists(pem),
              "openssl req for %s failed: %s" % (name, r.stderr))
        os.chmod(key, 0o600)
        return (pem, key)

    def client_context(self, trusted=True):
        """An ssl.SSLContext for a hand-driven client: verifies the peer
        against the test CA (or, trusted=False, does not verify at all)."""
        if not trusted:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        return ssl.create_default_context(cafile=self.ca[0])


SAN_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


class Proxy:
    """xmppgate with a JSON config in tmp; events go to tmp/events.jsonl."""

    def __init__(self, tmp, upstream, trace=False, args=(), environ=None,
                 listen_opts=None, upstream_opts=None, netns=None,
                 listen=None, **config):
        self.dir = tmp
        self.netns = netns  # run inside this network namespace
        self.environ = dict(os.environ, **(environ or {}))
        self.port = free_port()
        self.events_path = os.path.join(tmp, "events.jsonl")
        self.stdout_path = os.path.join(tmp, "xmppgate.out")
        self.stderr_path = os.path.join(tmp, "xmppgate.err")
        self.config = {
            "listen": [{"address": self.address, "tls": "none"}],
            "upstream": {"address": upstream, "tls": "none"},
            "logs": [{"type": "json", "path": self.events_path}],
        }
        # xmppgate refuses to stay root unless told to; CI runs as root and
        # the cases' files are root's (t-lifecycle drops to nobody).
        if os.geteuid() == 0:
            self.config["allow_root"] = True
        self.config["listen"][0].update(listen_opts or {})
        if listen is not None:  # the whole list; the first sets self.port
            self.config["listen"] = listen
            self.port = int(listen[0]["address"].rsplit(":", 1)[1])
        if upstream is None:
            del self.config["upstream"]["address"]
        self.config["upstream"].update(upstream_opts or {})
        self.config.update(config)
        self.cfg_path = os.path.join(tmp, "xmppgate.json")
        with open(self.cfg_path, "w") as f:
            json.dump(self.config, f, indent=1)
        self.argv = (netns_argv(netns) + [XG_BIN, "-c", self.cfg_path]
                     + (["--trace"] if trace else []) + list(args))
        self.proc = None
        self.rc = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = _start(self.argv, out, err, env=self.environ)
        pid = self.proc.pid if self.netns else None
        wait_until(lambda: self.proc.poll() is not None
                   or listening(self.port, pid),
                   15, "xmppgate to listen on %d" % self.port)
        check(self.proc.poll() is None, "xmppgate exited at start (rc %s): %s"
              % (self.proc.returncode, "".join(_tail(self.stderr_path))))
        return self

    def pid(self):
        return self.proc.pid

    def write_config(self, **config):
        """Rewrites the config file with these top-level keys replaced;
        the running daemon reads it on SIGHUP."""
        self.config.update(config)
        with open(self.cfg_path, "w") as f:
            json.dump(self.config, f, indent=1)

    def signal(self, sig):
        """Sends sig to the daemon (by its PID, ours)."""
        check(self.alive(), "xmppgate is not running")
        self.proc.send_signal(sig)

    def wait_log(self, pattern, what, timeout=10, after=0):
        """Waits for an operator log line (stderr) matching the regex
        pattern past offset after; returns (match, end offset)."""
        rx = re.compile(pattern)
        m = wait_until(lambda: rx.search(self.stderr(), after), timeout,
                       what, step=0.05)
        return m, m.end()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, wait_only=False):
        """SIGTERM (or, with wait_only, waits for an exit already under
        way); checks a clean exit (0) and no sanitizer report."""
        if self.proc is None or self.rc is not None:
            return self.rc
        if wait_only:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.rc = _stop(self.proc)
        err = self.stderr()
        for mark in SAN_MARKS:
            check(mark not in err, "xmppgate stderr has a sanitizer report")
        check(self.rc == 0, "xmppgate exit status after SIGTERM: %s" % self.rc)
        return self.rc

    def stdout(self):
        with open(self.stdout_path, errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def raw_events(self):
        try:
            with open(self.events_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def events(self):
        """Every event so far; each line must be one JSON object. A last
        line without its newline is still being written: left for later."""
        evs = []
        raw = self.raw_events()
        text = raw[:raw.rfind(b"\n") + 1].decode("utf-8")  # strict: must be UTF-8
        for n, line in enumerate(text.split("\n")[:-1], 1):
            try:
                ev = json.loads(line)
            except ValueError as e:
                raise Failure("events line %d is not JSON (%s): %s"
                              % (n, e, _short(line)))
            check(isinstance(ev, dict), "events line %d is not an object" % n)
            evs.append(ev)
        return evs

    def wait_event(self, pred, what, timeout=10):
        """Waits for an event matching pred (events are written live)."""
        def find():
            for ev in self.events():
                if pred(ev):
                    return ev
            return None
        return wait_until(find, timeout, what, step=0.05)

    def diag(self):
        return (["xmppgate stderr: " + l.rstrip() for l in _tail(self.stderr_path, 15)]
                + ["xmppgate rc: %s" % (self.proc.returncode if self.proc else None)])


def sessions(events):
    """Events grouped by session id, in file order."""
    out = {}
    for ev in events:
        out.setdefault(ev.get("session"), []).append(ev)
    return out


def of(events, name, **match):
    """The events named name whose fields equal match."""
    return [e for e in events if e.get("event") == name
            and all(e.get(k) == v for k, v in match.items())]


def stream_error(data):
    """The condition of the stream error in data (str), or None."""
    m = re.search(r"<(?:[\w-]+:)?error\b[^>]*>\s*<([a-z-]+)\s+xmlns=['\"]"
                  + re.escape(STREAMS_NS), data)
    return m.group(1) if m else None


class Raw:
    """A hand-driven client socket, for the clients that misbehave. With
    tls (an ssl.SSLContext) it does direct TLS (SNI server_name, ALPN
    xmpp-client) before anything else; starttls() upgrades a plain one."""

    LOOKBACK = 65536  # a pattern is matched within this much old data

    def __init__(self, port, timeout=5.0, tls=None, server_name=DOMAIN):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.timeout = timeout
        self.data = bytearray()
        self.eof = False
        if tls is not None:
            tls.set_alpn_protocols(["xmpp-client"])
            self.sock = tls.wrap_socket(self.sock, server_hostname=server_name)

    def starttls(self, ctx, server_name=DOMAIN):
        """Header, STARTTLS, <proceed/>, then the TLS handshake with ctx;
        returns the pre-TLS features as text. Raises Failure when the
        server does not proceed; ssl.SSLError when the handshake fails."""
        self.send(HEADER)
        feats = self.read_until(r"</stream:features>", what="pre-TLS features")
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.read_until(r"<proceed\b[^>]*/>", what="<proceed/>")
        self.clear()
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_name)
        return feats

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def text(self):
        return self.data.decode("utf-8", errors="replace")

    def clear(self):
        self.data = bytearray()

    def read_until(self, pattern, timeout=None, what=None):
        """Reads until the bytes so far match pattern (a regex); returns
        them as text. Raises Failure on timeout or EOF before the match.
        Only new data and LOOKBACK bytes before it are searched, so a
        long read stays linear."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern, re.S)
        deadline = time.monotonic() + (timeout or self.timeout)
        start = 0
        while not rx.search(self.data, start):
            start = max(0, len(self.data) - self.LOOKBACK)
            if self.eof:
                raise Failure("connection closed before %s; got: %s"
                              % (what or pattern, _short(self.text())))
            self._recv(deadline, what or pattern)
        return self.text()

    def read_more(self, timeout=None):
        """Waits up to timeout for more bytes; returns how many came (0 on
        a timeout, or at EOF: see eof)."""
        n = len(self.data)
        if not self.eof:
            self._recv(time.monotonic() + (timeout or self.timeout), "data")
        return len(self.data) - n

    def read_to_eof(self, timeout=None):
        """Reads until the peer closes; returns everything received."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            self._recv(deadline, "the connection to close")
        return self.text()

    def _recv(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("timed out waiting for %s; got: %s"
                          % (what, _short(self.text())))
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            return
        except (ConnectionResetError, ssl.SSLEOFError):
            chunk = b""
        if chunk:
            self.data += chunk
        else:
            self.eof = True

    def login(self, user, password, resource="raw"):
        """Header, SASL PLAIN, restart, bind; returns the bound full JID."""
        self.send(HEADER)
        self.read_until(r"</stream:features>", what="features")
        tok = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='PLAIN'>%s</auth>" % tok.decode())
        self.read_until(r"<success\b", what="SASL success")
        self.clear()
        self.send(HEADER)
        self.read_until(r"</stream:features>", what="features after auth")
        self.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:"
                  "xml:ns:xmpp-bind'><resource>%s</resource></bind></iq>" % resource)
        t = self.read_until(r"<jid>[^<]+</jid>", what="bind result")
        return re.search(r"<jid>([^<]+)</jid>", t).group(1)

    def close(self):
        self.sock.close()

    def reset(self):
        """Closes with a TCP RST (SO_LINGER 0): a client that vanishes."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()


def client_hello():
    """The bytes of a real TLS ClientHello for localhost."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    check(hello[:2] == b"\x16\x03" and len(hello) > 100, "a ClientHello")
    return hello


def to_proceed(port):
    """A Raw client at port that sent <starttls/> and got <proceed/>."""
    raw = Raw(port)
    raw.send(HEADER)
    raw.read_until(r"</stream:features>", what="pre-TLS features")
    raw.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    raw.read_until(r"<proceed\b[^>]*/>", what="<proceed/>")
    raw.clear()
    return raw


def open_stream(port, **kw):
    """A Raw client (kw as for Raw) that sent a stream header and got the
    server's features: a session in negotiation, held open."""
    c = Raw(port, **kw)
    c.send(HEADER)
    c.read_until(r"</stream:features>", what="features")
    return c


class FakeUpstream:
    """A one-connection server standing in for a broken upstream: after the
    client's stream header it sends reply (bytes, or a function given the
    socket), then records what it gets until the proxy closes. Bounded:
    every socket wait times out."""

    def __init__(self, reply, timeout=5.0, bufsize=None, pause_after_header=False):
        self.sock = socket.socket()
        if bufsize:  # set before listen: accepted sockets inherit them
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, bufsize)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, bufsize)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.resumed = threading.Event()
        if not pause_after_header:
            self.resumed.set()
        self.sock.settimeout(timeout)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.reply = reply
        self.received = b""
        self.closed = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        with c:
            c.settimeout(self.sock.gettimeout())
            try:
                while b"<stream:stream" not in self.received:
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    self.received += chunk
                if callable(self.reply):
                    self.reply(c)
                else:
                    c.sendall(self.reply)
                self.resumed.wait(self.sock.gettimeout())
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        self.closed = True
                        return
                    self.received += chunk
            except OSError:
                pass

    def resume(self):
        """A server paused after its reply starts reading again."""
        self.resumed.set()

    def join(self, timeout=10):
        self.thread.join(timeout)
        self.sock.close()
        return self.received.decode("utf-8", "replace")


def run_async(coro, timeout=30):
    """Runs a coroutine to completion with a hard timeout."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def clients_for(addr, names=("alice", "bob"), mechs=None, wire=False,
                plugins=None, **tls):
    """xgclient.Client objects for the named users, connecting to addr;
    plugins maps a name to its slixmpp plugins ({"xep_0198": {...}});
    tls is passed on (tls="starttls"|"direct", ca_file=...)."""
    import xgclient
    host, port = addr.rsplit(":", 1)
    mechs = mechs or {}
    plugins = plugins or {}
    return [xgclient.Client("%s@%s/xg-%s" % (n, DOMAIN, n), USERS[n], host,
                            int(port), mech=mechs.get(n, "SCRAM-SHA-1"),
                            name=n, wire=wire, plugins=plugins.get(n), **tls)
            for n in names]


async def chat_once(addr, text="ping through xmppgate", mechs=None, **tls):
    """alice and bob log in at addr, alice sends bob one message, both log
    out; returns what bob received. Raises on any failure."""
    alice, bob = clients_for(addr, mechs=mechs, **tls)
    try:
        await alice.login()
        await bob.login()
        await bob.roster_and_presence()
        alice.say(str(bob.boundjid), text)
        got = await bob.wait_messages(1)
        check_eq(got[0]["body"], text, "body bob received")
        await alice.logout()
        await bob.logout()
        return got
    finally:
        alice.abort()
        bob.abort()


class Env:
    """One case's world; everything in it is stopped when the case ends."""

    def __init__(self, name):
        self.tmp = tempfile.mkdtemp(prefix="xg-%s-" % re.sub(r"\W+", "-", name)[:30])
        self.prosodies = []
        self.proxies = []
        self.others = []  # anything else with stop() and diag()
        self._certs = None

    def certs(self):
        """This case's Certs (made on first use, in tmp/certs)."""
        if self._certs is None:
            self._certs = Certs(os.path.join(self.tmp, "certs"))
        return self._certs

    def prosody(self, users=USERS, port=None, **kw):
        """A started Prosody; kw is cert=, tls_required=, direct_tls=,
        modules=, muc= (see Prosody)."""
        p = Prosody(os.path.join(self.tmp, "prosody%d" % len(self.prosodies)),
                    users, port, **kw)
        self.prosodies.append(p)
        return p.start()

    def proxy(self, upstream, trace=False, args=(), environ=None,
              start=True, **config):
        """An xmppgate in tmp/xN, started unless start is False (the case
        prepares its directory first, then calls start())."""
        d = os.path.join(self.tmp, "x%d" % len(self.proxies))
        os.makedirs(d)
        px = Proxy(d, upstream, trace=trace, args=args, environ=environ,
                   **config)
        self.proxies.append(px)
        return px.start() if start else px

    def chat_works(self, proxy, **tls):
        """Another session through proxy still works end to end (tls as
        for clients_for)."""
        run_async(chat_once(proxy.address, **tls), 30)

    def keep(self, thing):
        """Stops thing (stop(), diag()) with the case; returns it."""
        self.others.append(thing)
        return thing

    def diag(self):
        lines = []
        for o in self.others:
            lines += o.diag()
        for px in self.proxies:
            lines += px.diag()
        for p in self.prosodies:
            lines += p.diag()
        return lines + ["files kept in " + self.tmp]

    def close(self, failed):
        """Stops what the case started; proxies must exit cleanly."""
        err = None
        for o in reversed(self.others):
            try:
                o.stop()
            except Exception as e:  # noqa: BLE001 - the rest still stops
                err = err or Failure("stopping %r: %s" % (o, e))
        for px in self.proxies:
            try:
                px.stop()
            except Failure as e:
                err = err or e
        for p in self.prosodies:
            p.stop()
        if not failed and err is None and not os.environ.get("XG_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        if err is not None:
            raise err


def _need(cond, what):
    if cond:
        return
    if os.environ.get("CI") == "true":
        print("Bail out! %s (CI=true: integration tests may not be skipped)" % what)
        sys.exit(1)
    print("1..0 # SKIP %s" % what)
    sys.exit(0)


class Tap:
    """TAP output for a list of cases; exit status 1 when any failed."""

    def __init__(self, alarm=90):
        self.cases = []
        self.alarm = alarm  # seconds any one case may take

    def case(self, desc):
        def reg(fn):
            self.cases.append((desc, fn))
            return fn
        return reg

    def run(self):
        _need(shutil.which("prosody") and shutil.which("prosodyctl"),
              "prosody is not installed")
        _need(importlib.util.find_spec("slixmpp") is not None,
              "slixmpp is not installed for %s" % sys.executable)
        _need(os.access(XG_BIN, os.X_OK), "%s is not built" % XG_BIN)
        sys.path.insert(0, HERE)

        def on_alarm(sig, frm):
            raise Failure("case took longer than %ss" % self.alarm)
        signal.signal(signal.SIGALRM, on_alarm)
        only = os.environ.get("XG_ONLY")  # e.g. XG_ONLY=t_oversize,t_trace
        if only:
            self.cases = [c for c in self.cases
                          if c[1].__name__ in only.split(",")]
        failed = 0
        print("1..%d" % len(self.cases), flush=True)
        for n, (desc, fn) in enumerate(self.cases, 1):
            t0 = time.monotonic()
            env = Env(fn.__name__)
            diag = []
            ok = True
            skip = None
            signal.alarm(self.alarm)
            try:
                fn(env)
            except Skip as e:
                skip = str(e)
            except Exception as e:  # noqa: BLE001 - a case fails, the file goes on
                ok = False
                diag = [l for l in traceback.format_exc().splitlines()[-6:]]
                if not isinstance(e, Failure):
                    diag.insert(0, "unexpected %s" % type(e).__name__)
            signal.alarm(30)
            try:
                env.close(not ok)
            except Exception as e:  # noqa: BLE001
                ok = False
                diag.append("at teardown: %s" % e)
            if not ok:
                diag += env.diag()
                failed += 1
            print("%s %d - %s (%.1fs)%s" % ("ok" if ok else "not ok", n, desc,
                                            time.monotonic() - t0,
                                            " # SKIP " + skip if skip and ok
                                            else ""), flush=True)
            for line in diag:
                print("# " + line, flush=True)
            signal.alarm(0)
        sys.exit(1 if failed else 0)
