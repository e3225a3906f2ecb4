# SPDX-License-Identifier: ISC
"""Real XMPP clients (slixmpp) for the integration tests and the demo.

A Client logs in over plaintext TCP by default, or with STARTTLS or direct
TLS (XEP-0368) trusting a given CA file, with SCRAM-SHA-1 by default or
PLAIN, and records what it receives. It is used two ways:

  in-process:  async code in a test calls Client.login(), send(), wait_*();
  subprocess:  `xgclient.py --server HOST:PORT --script FILE` runs a small
               JSON script for several clients and prints the result as JSON.

It does not hide failures: every wait has a timeout and raises, and a
failed login says why (auth failure, stream error, connection failure).
"""

import argparse
import asyncio
import json
import logging
import sys

import slixmpp

DEFAULT_TIMEOUT = 10.0


class ClientError(Exception):
    pass


STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def error_condition(stanza):
    """The defined condition of a stanza error, read from the XML:
    slixmpp 1.8 knows only RFC 3920's list (no policy-violation)."""
    err = stanza.xml.find("{%s}error" % stanza.namespace)
    for c in (err if err is not None else []):
        if c.tag.startswith("{%s}" % STANZAS_NS) and not c.tag.endswith("}text"):
            return c.tag.split("}", 1)[1]
    return None


class Client(slixmpp.ClientXMPP):
    """One XMPP client connection to host:port, logging in as jid."""

    def __init__(self, jid, password, host, port, mech="SCRAM-SHA-1",
                 name=None, echo=None, wire=False, tls="none", ca_file=None,
                 plugins=None):
        super().__init__(jid, password, plugin_config={
            "feature_mechanisms": {
                "use_mech": mech,
                # Plaintext on loopback is the point here: allow PLAIN too.
                "unencrypted_plain": True,
            },
        })
        self.label = name or jid.split("@", 1)[0]
        self.xg_host = host
        self.xg_port = int(port)
        if tls not in ("none", "starttls", "direct"):
            raise ValueError("tls must be none, starttls or direct: %r" % tls)
        self.xg_tls = tls
        self.ca_certs = ca_file  # None: the system store
        # slixmpp takes its TLS reference identity (SNI, hostname check)
        # from the address unless it is an IP: use the domain, as a real
        # client connecting to the domain's host would.
        self.default_domain = self.boundjid.domain
        self.tls_info = None  # {"version", "cipher"} of the TLS in use
        self.sockname = None  # (address, port, ...) of the last connection
        self.echo = echo  # callable(str) for a live view, or None
        # {"from", "to", "type", "body", "id", "xml"} in arrival order
        self.messages = []
        # message errors: {"from", "to", "id", "condition", "text", "xml"}
        self.errors = []
        self.presences = []   # {"from", "type", "status"}
        self.notes = []       # what happened to the connection, in order
        self.stream_errors = []
        self.stream_error_texts = []
        self._changed = asyncio.Event()
        self._login = None
        self.closed = False
        self.wire = [] if wire else None  # ("out"|"in", text) when asked
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("no_auth", self._on_failed_auth)
        self.add_event_handler("connection_failed", self._on_connection_failed)
        self.add_event_handler("stream_error", self._on_stream_error)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("message", self._on_message)
        self.add_event_handler("message_error", self._on_message_error)
        self.add_event_handler("presence", self._on_presence)
        for plugin, config in (plugins or {}).items():
            self.register_plugin(plugin, pconfig=config)
        # Stream management (when xep_0198 is loaded): what happened to it,
        # and a wake-up for waits on its counters.
        for ev in ("sm_enabled", "sm_failed", "session_resumed"):
            self.add_event_handler(ev, lambda _e, ev=ev: self._note(ev))
        self.add_event_handler("stanza_acked",
                               lambda _s: self._changed.set())

    # The client's own address, for tests that look for it on the far side.
    def connection_made(self, transport):
        self.sockname = transport.get_extra_info("sockname")
        super().connection_made(transport)

    # slixmpp would resolve the JID's domain; connect to exactly host:port.
    async def get_dns_records(self, domain, port=None):
        return [(self.xg_host, self.xg_host, self.xg_port)]

    # Direct TLS announces XMPP in ALPN, as XEP-0368 says.
    def get_ssl_context(self):
        ctx = super().get_ssl_context()
        if self.xg_tls == "direct":
            ctx.set_alpn_protocols(["xmpp-client"])
        return ctx

    # The raw bytes both ways, kept only when asked: a test looks for the
    # SASL payloads of this very login in the proxy's logs.
    def send_raw(self, data):
        if self.wire is not None:
            self.wire.append(("out", data if isinstance(data, str)
                              else data.decode("utf-8", "replace")))
        super().send_raw(data)

    def data_received(self, data):
        if self.wire is not None:
            self.wire.append(("in", data.decode("utf-8", "replace")))
        super().data_received(data)

    def _note(self, what):
        self.notes.append(what)
        self._changed.set()

    def _finish_login(self, err):
        if self._login is not None and not self._login.done():
            if err is None:
                self._login.set_result(True)
            else:
                self._login.set_exception(ClientError(err))

    def _on_session_start(self, _ev):
        obj = self.transport.get_extra_info("ssl_object") if self.transport else None
        if obj is not None:
            self.tls_info = {"version": obj.version(), "cipher": obj.cipher()[0]}
        self._note("session_start")
        self._finish_login(None)

    def _on_failed_auth(self, _ev=None):
        self._note("failed_auth")
        self._finish_login("%s: authentication failed" % self.label)

    def _on_connection_failed(self, err):
        self._note("connection_failed")
        self.cancel_connection_attempt()  # never retry: tests want the truth
        self._finish_login("%s: connection failed: %s" % (self.label, err))

    def _on_stream_error(self, err):
        cond = err["condition"]
        self.stream_errors.append(cond)
        self.stream_error_texts.append(err["text"])
        self._note("stream_error:" + cond)
        self._finish_login("%s: stream error %s" % (self.label, cond))

    def _on_disconnected(self, reason):
        self.closed = True
        self._note("disconnected")
        self.cancel_connection_attempt()
        self._finish_login("%s: disconnected before login" % self.label)

    def _on_message(self, msg):
        m = {"from": str(msg["from"]), "to": str(msg["to"]),
             "type": msg["type"], "body": msg["body"], "id": msg["id"],
             "xml": str(msg)}
        self.messages.append(m)
        if self.echo:
            self.echo("%s <- %s: %s" % (self.label, m["from"], m["body"]))
        self._changed.set()

    def _on_message_error(self, msg):
        self.errors.append({"from": str(msg["from"]), "to": str(msg["to"]),
                            "id": msg["id"],
                            "condition": error_condition(msg),
                            "text": msg["error"]["text"], "xml": str(msg)})
        self._changed.set()

    def _on_presence(self, pres):
        self.presences.append({"from": str(pres["from"]),
                               "type": pres["type"],
                               "status": pres["status"]})
        self._changed.set()

    async def login(self, timeout=DEFAULT_TIMEOUT):
        """Connects, authenticates and binds; raises ClientError on failure."""
        self._login = asyncio.get_running_loop().create_future()
        self.connect(address=(self.xg_host, self.xg_port),
                     use_ssl=self.xg_tls == "direct",
                     force_starttls=self.xg_tls == "starttls",
                     disable_starttls=self.xg_tls != "starttls")
        try:
            await asyncio.wait_for(self._login, timeout)
        except asyncio.TimeoutError:
            self.abort()
            raise ClientError("%s: login timed out after %ss"
                              % (self.label, timeout)) from None

    async def roster_and_presence(self, timeout=DEFAULT_TIMEOUT):
        """Fetches the roster (an IQ round trip) and sends initial presence."""
        await self.get_roster(timeout=timeout)
        self.send_presence()

    def say(self, to, body, mtype="chat"):
        self.send_message(mto=to, mbody=body, mtype=mtype)
        if self.echo:
            self.echo("%s -> %s: %s" % (self.label, to, body))

    async def wait_for(self, cond, what, timeout=DEFAULT_TIMEOUT):
        """Waits until cond() is true; raises ClientError naming what."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not cond():
            left = deadline - loop.time()
            if left <= 0:
                raise ClientError("%s: timed out waiting for %s"
                                  % (self.label, what))
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass
        return True

    async def wait_messages(self, n, timeout=DEFAULT_TIMEOUT):
        await self.wait_for(lambda: len(self.messages) >= n,
                            "%d messages (have %d)" % (n, len(self.messages)),
                            timeout)
        return self.messages[:n]

    async def wait_presence(self, from_bare, timeout=DEFAULT_TIMEOUT):
        def seen():
            return any(p["from"].split("/")[0] == from_bare
                       for p in self.presences)
        await self.wait_for(seen, "presence from " + from_bare, timeout)

    async def wait_closed(self, timeout=DEFAULT_TIMEOUT):
        await self.wait_for(lambda: self.closed, "the connection to close",
                            timeout)

    def cut(self):
        """Drops the TCP connection without closing the stream, as a
        client losing its network does: with XEP-0198 on, the server keeps
        the session for resume()."""
        self.transport.abort()

    async def resume(self, timeout=DEFAULT_TIMEOUT):
        """Connects again after cut() and resumes the stream (xep_0198
        sends <resume/>); raises ClientError unless it is resumed."""
        await self.wait_closed(timeout)
        mark = len(self.notes)
        self.closed = False
        self.connect(address=(self.xg_host, self.xg_port),
                     use_ssl=self.xg_tls == "direct",
                     force_starttls=self.xg_tls == "starttls",
                     disable_starttls=self.xg_tls != "starttls")
        await self.wait_for(lambda: set(self.notes[mark:]) & {
            "session_resumed", "sm_failed", "disconnected", "failed_auth"},
            "the resumption", timeout)
        if "session_resumed" not in self.notes[mark:]:
            raise ClientError("%s: not resumed: %s"
                              % (self.label, self.notes[mark:]))

    async def logout(self, timeout=DEFAULT_TIMEOUT):
        """Closes the stream cleanly and waits for the TCP close."""
        if self.closed:
            return
        self.disconnect(wait=timeout)
        await self.wait_closed(timeout + 1)

    def report(self):
        return {"jid": str(self.boundjid), "messages": self.messages,
                "sockname": list(self.sockname[:2]) if self.sockname else None,
                "errors": self.errors,
                "presences": self.presences, "notes": self.notes,
                "stream_errors": self.stream_errors}


async def run_script(script, host, port, timeout=DEFAULT_TIMEOUT, echo=None):
    """Runs a JSON script; returns {"ok", "error", "clients": {name: ...}}.

    script = {"clients": {name: {"jid", "password", "mech"?}},
              "steps": [["login", name], ["send", name, to, body],
                        ["wait", name, n_messages], ["sleep", s],
                        ["logout", name]]}
    "to" is a client name or a JID. Every step is bounded by timeout.
    """
    clients = {}
    for name, c in script["clients"].items():
        clients[name] = Client(c["jid"], c["password"], host, port,
                               mech=c.get("mech", "SCRAM-SHA-1"),
                               name=name, echo=echo)
    error = None
    try:
        for step in script["steps"]:
            op, args = step[0], step[1:]
            if op == "login":
                await clients[args[0]].login(timeout)
                await clients[args[0]].roster_and_presence(timeout)
            elif op == "send":
                to = args[1]
                if to in clients:
                    to = str(clients[to].boundjid.bare)
                clients[args[0]].say(to, args[2])
            elif op == "wait":
                await clients[args[0]].wait_messages(int(args[1]), timeout)
            elif op == "sleep":
                await asyncio.sleep(float(args[0]))
            elif op == "logout":
                await clients[args[0]].logout(timeout)
            else:
                raise ClientError("unknown step %r" % (op,))
    except (ClientError, slixmpp.exceptions.IqError,
            slixmpp.exceptions.IqTimeout) as e:
        error = str(e)
    finally:
        for c in clients.values():
            if not c.closed:
                c.abort()
    return {"ok": error is None, "error": error,
            "clients": {n: c.report() for n, c in clients.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="HOST:PORT to connect to")
    ap.add_argument("--script", required=True, help="JSON script file, - for stdin")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                    help="seconds allowed for each step")
    ap.add_argument("--echo", action="store_true",
                    help="print each message sent and received to stderr")
    ap.add_argument("--debug", action="store_true", help="slixmpp debug log")
    a = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if a.debug else logging.CRITICAL)
    f = sys.stdin if a.script == "-" else open(a.script, encoding="utf-8")
    with f:
        script = json.load(f)
    host, port = a.server.rsplit(":", 1)
    echo = (lambda s: print(s, file=sys.stderr, flush=True)) if a.echo else None
    n = len(script["steps"]) + 2
    try:
        res = asyncio.run(asyncio.wait_for(
            run_script(script, host, int(port), a.timeout, echo),
            a.timeout * n))
    except asyncio.TimeoutError:
        res = {"ok": False, "error": "script timed out", "clients": {}}
    json.dump(res, sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
