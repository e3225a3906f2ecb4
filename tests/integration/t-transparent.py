# SPDX-License-Identifier: ISC
"""Transparent mode in network namespaces this test makes and deletes.

Three hosts, each a namespace named xgt-PID-{c,r,s}, joined by veth pairs:

  client 192.0.2.2, 2001:db8:1::2 ── router 192.0.2.1 | 198.51.100.1 ── server
                                      (xmppgate)         2001:db8:2::1
  server 198.51.100.2 and .3, 2001:db8:2::2: a real Prosody on port 5222

The client knows only the server's address. In the router, iptables,
ip6tables or nft redirect (REDIRECT) or hand over (TPROXY) its connections
to xmppgate's transparent listeners on port 15222, which connect to the
original destination; transparent_allow admits 198.51.100.2 and
2001:db8:2::2 only. slixmpp clients in the client namespace (xgclient.py
run there) log in and chat; session.open names the original destination;
a destination outside transparent_allow and a loop to xmppgate's own
listener are refused with remote-connection-failed.

Everything started here runs in a namespace through `ip netns exec` and is
stopped by PID; the namespaces are deleted at the end, pass or fail. What
the machine refuses (namespaces, a netfilter module) is a TAP skip with the
reason, also when CI=true: CI machines may be containers without them.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import Skip, check, check_eq, of, wait_until  # noqa: E402

tap = xgtest.Tap(alarm=120)
NS = {k: "xgt-%d-%s" % (os.getpid(), k) for k in ("c", "r", "s")}
SERVER4, OTHER4, SERVER6 = "198.51.100.2", "198.51.100.3", "2001:db8:2::2"
CLIENT4, CLIENT6 = "192.0.2.2", "2001:db8:1::2"
ROUTER4 = "192.0.2.1"
LPORT = 15222
ALLOW = ["198.51.100.2/32:5222", "[2001:db8:2::]/64:5222"]
XGCLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "xgclient.py")


def sh(ns, *argv, check_rc=True):
    """Runs argv in namespace ns (None: here); returns the result."""
    r = subprocess.run(xgtest.netns_argv(ns) + list(argv),
                       capture_output=True, text=True, timeout=30)
    if check_rc and r.returncode != 0:
        raise xgtest.Failure("%s: %s" % (" ".join(argv),
                                         (r.stderr or r.stdout).strip()))
    return r


def delete_namespaces():
    for ns in NS.values():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True,
                       timeout=30)


def make_world():
    """The three namespaces and their links; returns None, or why the
    machine refuses them."""
    if shutil.which("ip") is None:
        return "the ip command is not installed (Debian package iproute2)"
    atexit.register(delete_namespaces)
    for ns in NS.values():
        r = sh(None, "ip", "netns", "add", ns, check_rc=False)
        if r.returncode != 0:
            return "ip netns add is refused here: %s" % r.stderr.strip()
    c, r_, s = NS["c"], NS["r"], NS["s"]
    steps = [
        (r_, "ip", "link", "add", "xr0", "type", "veth", "peer", "name",
         "xc0", "netns", c),
        (r_, "ip", "link", "add", "xr1", "type", "veth", "peer", "name",
         "xs0", "netns", s),
        (c, "ip", "addr", "add", CLIENT4 + "/24", "dev", "xc0"),
        (c, "ip", "-6", "addr", "add", CLIENT6 + "/64", "dev", "xc0",
         "nodad"),
        (r_, "ip", "addr", "add", ROUTER4 + "/24", "dev", "xr0"),
        (r_, "ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", "xr0",
         "nodad"),
        (r_, "ip", "addr", "add", "198.51.100.1/24", "dev", "xr1"),
        (r_, "ip", "-6", "addr", "add", "2001:db8:2::1/64", "dev", "xr1",
         "nodad"),
        (s, "ip", "addr", "add", SERVER4 + "/24", "dev", "xs0"),
        (s, "ip", "addr", "add", OTHER4 + "/24", "dev", "xs0"),
        (s, "ip", "-6", "addr", "add", SERVER6 + "/64", "dev", "xs0",
         "nodad"),
    ]
    for ns in NS.values():
        steps.append((ns, "ip", "link", "set", "lo", "up"))
    steps += [(c, "ip", "link", "set", "xc0", "up"),
              (r_, "ip", "link", "set", "xr0", "up"),
              (r_, "ip", "link", "set", "xr1", "up"),
              (s, "ip", "link", "set", "xs0", "up"),
              (c, "ip", "route", "add", "default", "via", ROUTER4),
              (c, "ip", "-6", "route", "add", "default", "via",
               "2001:db8:1::1"),
              (s, "ip", "route", "add", "default", "via", "198.51.100.1"),
              (s, "ip", "-6", "route", "add", "default", "via",
               "2001:db8:2::1"),
              (r_, "sysctl", "-qw", "net.ipv4.ip_forward=1"),
              (r_, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")]
    for step in steps:
        res = sh(step[0], *step[1:], check_rc=False)
        if res.returncode != 0:
            return "%s is refused here: %s" % (" ".join(step[1:]),
                                               res.stderr.strip())
    return None


class Rules:
    """Netfilter rules in the router for one case, removed at its end.
    add() raises Skip when the kernel (or a missing command) refuses a
    rule: that is the machine's answer, not xmppgate's."""

    def __init__(self):
        self.undo = []

    def add(self, argv, undo, what):
        if shutil.which(argv[0]) is None:
            raise Skip("%s: the %s command is not installed" % (what, argv[0]))
        r = sh(NS["r"], *argv, check_rc=False)
        if r.returncode == 2 and argv[0].endswith("tables"):
            # iptables' own usage error: a bug here, not the machine.
            raise xgtest.Failure("%s: %s" % (" ".join(argv), r.stderr))
        if r.returncode != 0:
            raise Skip("%s: the kernel refuses `%s`: %s"
                       % (what, " ".join(argv), r.stderr.strip()))
        self.undo.append(undo)

    def nft(self, script, what):
        if shutil.which("nft") is None:
            raise Skip("%s: the nft command is not installed" % what)
        r = subprocess.run(xgtest.netns_argv(NS["r"]) + ["nft", "-f", "-"],
                           input=script, capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise Skip("%s: the kernel refuses the nft rules: %s"
                       % (what, r.stderr.strip()))
        self.undo.append(["nft", "delete", "table", "inet", "xgt"])

    def stop(self):
        for argv in reversed(self.undo):
            sh(NS["r"], *argv, check_rc=False)
        self.undo = []

    def diag(self):
        return ["rules: " + l for l in
                sh(NS["r"], "nft", "list", "ruleset",
                   check_rc=False).stdout.splitlines()[:30]]


def world(env, listen=None):
    """Prosody in the server namespace, xmppgate in the router."""
    prosody = env.prosody(port=5222, interfaces=(SERVER4, OTHER4, SERVER6),
                          netns=NS["s"])
    listen = listen or [
        {"address": "0.0.0.0:%d" % LPORT, "transparent": True,
         "transparent_allow": ALLOW},
        {"address": "[::]:%d" % LPORT, "transparent": True,
         "transparent_allow": ALLOW}]
    proxy = env.proxy(None, netns=NS["r"], listen=listen)
    return prosody, proxy


def clients_chat(server, expect_ok=True):
    """alice and bob, in the client namespace, log in at server
    ("ADDR:PORT") and alice sends bob a message; returns xgclient's
    report."""
    script = {"clients": {
        "alice": {"jid": "alice@localhost/t", "password":
                  xgtest.USERS["alice"]},
        "bob": {"jid": "bob@localhost/t", "password": xgtest.USERS["bob"]}},
        "steps": [["login", "alice"], ["login", "bob"],
                  ["send", "alice", "bob", "hello through the redirect"],
                  ["wait", "bob", 1], ["logout", "alice"], ["logout", "bob"]]}
    if not expect_ok:
        script["steps"] = [["login", "alice"]]
    r = subprocess.run(xgtest.netns_argv(NS["c"]) + [
        "/usr/bin/python3", XGCLIENT, "--server", server, "--script", "-",
        "--timeout", "10"], input=json.dumps(script), capture_output=True,
        text=True, timeout=90)
    try:
        res = json.loads(r.stdout)
    except ValueError:
        raise xgtest.Failure("xgclient printed no JSON: %s %s"
                             % (r.stdout[-500:], r.stderr[-500:]))
    if expect_ok:
        check(res["ok"], "the chat through the redirect: %s" % res["error"])
        got = res["clients"]["bob"]["messages"]
        check_eq([m["body"] for m in got], ["hello through the redirect"],
                 "what bob received")
    return res


def check_opens(proxy, res, upstream, client_ip):
    """Each client's session.open: its own address, the original
    destination as upstream."""
    evs = proxy.events()
    opens = of(evs, "session.open")
    for name in ("alice", "bob"):
        host, port = res["clients"][name]["sockname"]
        want = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        check_eq(host, client_ip, "%s's own address" % name)
        mine = [o for o in opens if o.get("client") == want]
        check(len(mine) == 1, "one session.open for %s (%s): %r"
              % (name, want, opens))
        check_eq(mine[0].get("upstream"), upstream,
                 "session.open upstream (the original destination)")
    closes = of(evs, "session.close")
    check(len(closes) >= 2 and all(c["reason"] == "client-closed"
                                   for c in closes),
          "sessions closed cleanly: %r" % [c["reason"] for c in closes])


def redirect_rule(cmd, what):
    return ([cmd, "-t", "nat", "-A", "PREROUTING", "-i", "xr0", "-p", "tcp",
             "--dport", "5222", "-j", "REDIRECT", "--to-ports", str(LPORT)],
            [cmd, "-t", "nat", "-D", "PREROUTING", "-i", "xr0", "-p", "tcp",
             "--dport", "5222", "-j", "REDIRECT", "--to-ports", str(LPORT)],
            what)


@tap.case("iptables REDIRECT (IPv4) in the router: slixmpp clients chat "
          "through xmppgate to Prosody; session.open has the original "
          "destination")
def t_redirect_v4(env):
    rules = env.keep(Rules())
    rules.add(*redirect_rule("iptables", "iptables REDIRECT"))
    prosody, proxy = world(env)
    res = clients_chat("%s:5222" % SERVER4)
    check_opens(proxy, res, "%s:5222" % SERVER4, CLIENT4)
    check(of(proxy.events(), "session.open")[0]["listener"] ==
          "0.0.0.0:%d" % LPORT, "the IPv4 transparent listener took it")


@tap.case("ip6tables REDIRECT (IPv6): the chat works, upstream is the "
          "IPv6 original destination")
def t_redirect_v6(env):
    rules = env.keep(Rules())
    rules.add(*redirect_rule("ip6tables", "ip6tables REDIRECT"))
    prosody, proxy = world(env)
    res = clients_chat("%s:5222" % SERVER6)
    check_opens(proxy, res, "[%s]:5222" % SERVER6, CLIENT6)


NFT_REDIRECT = """table inet xgt {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "xr0" tcp dport 5222 redirect to :%d
    }
}
""" % LPORT


@tap.case("nft redirect (inet table, IPv4 and IPv6): the chat works both "
          "ways")
def t_redirect_nft(env):
    rules = env.keep(Rules())
    rules.nft(NFT_REDIRECT, "nft redirect")
    prosody, proxy = world(env)
    res = clients_chat("%s:5222" % SERVER4)
    check_opens(proxy, res, "%s:5222" % SERVER4, CLIENT4)
    res = clients_chat("%s:5222" % SERVER6)
    check_opens(proxy, res, "[%s]:5222" % SERVER6, CLIENT6)


@tap.case("a destination outside transparent_allow gets "
          "remote-connection-failed; session.close says destination-refused")
def t_not_allowed(env):
    rules = env.keep(Rules())
    rules.add(*redirect_rule("iptables", "iptables REDIRECT"))
    prosody, proxy = world(env)
    res = clients_chat("%s:5222" % OTHER4, expect_ok=False)
    check(not res["ok"] and "remote-connection-failed" in
          res["clients"]["alice"]["stream_errors"],
          "alice got remote-connection-failed: %r" % res)
    close = wait_until(lambda: of(proxy.events(), "session.close"), 10,
                       "session.close")[0]
    check_eq(close["reason"], "destination-refused", "close reason")
    check("transparent_allow" in (close.get("detail") or ""),
          "the detail names transparent_allow: %r" % close.get("detail"))
    check_eq(of(proxy.events(), "session.open")[0]["upstream"],
             "%s:5222" % OTHER4, "session.open upstream")
    check("destination %s:5222 refused" % OTHER4 in proxy.stderr(),
          "the operator log says so")


@tap.case("a client connecting straight to xmppgate's transparent listener "
          "(a loop) is refused")
def t_loop(env):
    prosody, proxy = world(env)
    res = clients_chat("%s:%d" % (ROUTER4, LPORT), expect_ok=False)
    check(not res["ok"] and "remote-connection-failed" in
          res["clients"]["alice"]["stream_errors"],
          "alice got remote-connection-failed: %r" % res)
    close = wait_until(lambda: of(proxy.events(), "session.close"), 10,
                       "session.close")[0]
    check_eq(close["reason"], "destination-refused", "close reason")
    check("loop" in (close.get("detail") or ""),
          "the detail says loop: %r" % close.get("detail"))


NFT_TPROXY = """table inet xgt {
    chain pre {
        type filter hook prerouting priority mangle; policy accept;
        iifname "xr0" meta nfproto ipv4 tcp dport 5222 tproxy ip to :%d meta mark set 1 accept
        iifname "xr0" meta nfproto ipv6 tcp dport 5222 tproxy ip6 to :%d meta mark set 1 accept
    }
}
""" % (LPORT, LPORT)


def tproxy_routing(rules):
    """Marked packets are delivered locally (table 100), both families."""
    for fam, local in (([], "0.0.0.0/0"), (["-6"], "::/0")):
        rules.add(["ip"] + fam + ["rule", "add", "fwmark", "1", "lookup",
                                  "100"],
                  ["ip"] + fam + ["rule", "del", "fwmark", "1", "lookup",
                                  "100"], "TPROXY routing")
        rules.add(["ip"] + fam + ["route", "add", "local", local, "dev", "lo",
                                  "table", "100"],
                  ["ip"] + fam + ["route", "del", "local", local, "dev", "lo",
                                  "table", "100"], "TPROXY routing")


def tproxy_chats(env):
    prosody, proxy = world(env)
    check("IP_TRANSPARENT refused" not in proxy.stderr(),
          "the listeners have IP_TRANSPARENT")
    res = clients_chat("%s:5222" % SERVER4)
    check_opens(proxy, res, "%s:5222" % SERVER4, CLIENT4)
    res = clients_chat("%s:5222" % SERVER6)
    check_opens(proxy, res, "[%s]:5222" % SERVER6, CLIENT6)


@tap.case("nft tproxy (IPv4 and IPv6, with the ip rule and local route): "
          "the chat works; upstream is the original destination")
def t_tproxy_nft(env):
    rules = env.keep(Rules())
    tproxy_routing(rules)
    rules.nft(NFT_TPROXY, "nft tproxy")
    tproxy_chats(env)


@tap.case("iptables and ip6tables TPROXY: the chat works over IPv4 and "
          "IPv6; upstream is the original destination")
def t_tproxy_iptables(env):
    rules = env.keep(Rules())
    tproxy_routing(rules)
    for cmd in ("iptables", "ip6tables"):
        rule = ["PREROUTING", "-i", "xr0", "-p", "tcp", "--dport", "5222",
                "-j", "TPROXY", "--on-port", str(LPORT), "--tproxy-mark",
                "1"]
        rules.add([cmd, "-t", "mangle", "-A"] + rule,
                  [cmd, "-t", "mangle", "-D"] + rule, "%s TPROXY" % cmd)
    tproxy_chats(env)


if __name__ == "__main__":
    why = make_world()
    if why is not None:
        delete_namespaces()
        # Namespaces are the machine's to give: a container may refuse
        # them, in CI too. Say exactly why.
        print("1..0 # SKIP network namespaces: %s" % why)
        sys.exit(0)
    try:
        tap.run()
    finally:
        delete_namespaces()
