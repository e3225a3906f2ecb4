# SPDX-License-Identifier: ISC
"""xmppgate run as a service: signals and privileges, with live slixmpp
sessions through a real Prosody.

SIGHUP while alice and bob chat: the config is reloaded with its
listeners (one added accepts, one removed refuses, unchanged ones keep
their socket), new sessions get the new rules, a listener that cannot
bind or a broken file changes nothing; logrotate's move-then-SIGHUP
leaves the old file complete and starts a new one. SIGTERM with live
sessions: system-shutdown to every client, every stanza and every
session.close written, exit 0 within limits.shutdown_grace_s even with a
client that never closes. SIGUSR1 lists the sessions. As root: the
switch to "user" (uids and gids in /proc), the refusal to stay root, and
a chroot whose event files still rotate.
"""

import asyncio
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import (USERS, Raw, check, check_eq, of, run_async,  # noqa: E402
                    stream_error)

tap = xgtest.Tap()

RULE = {"name": "no-classified", "type": "regex", "direction": "c2s",
        "match": {"stanza": "message", "text": "classified"},
        "action": "rewrite", "replace": "[word removed]"}
MSG = ("<message to='%s' type='chat' id='%s'><body>%s</body></message>")


def with_clients(addr, steps, timeout, names=("alice", "bob")):
    """Runs steps(*clients) with slixmpp clients made in the loop, aborted
    at the end whatever happens; returns the clients."""
    made = []

    async def main():
        made.extend(xgtest.clients_for(addr, names=names))
        try:
            return await steps(*made)
        finally:
            for c in made:
                c.abort()
    run_async(main(), timeout)
    return made


async def until(cond, timeout, what):
    """wait_until for async cases: polls without blocking the clients."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise xgtest.Failure("timed out after %ss waiting for %s"
                                 % (timeout, what))
        await asyncio.sleep(0.05)


def log_count(proxy, pattern):
    return len(re.findall(pattern, proxy.stderr()))


async def reload(proxy, what, ok=True, **config):
    """Rewrites the config with these keys, SIGHUP, waits for the verdict
    in the operator log; returns its line."""
    proxy.write_config(**config)
    word = r"reload: config" if ok else r"reload failed[^\n]*"
    n = log_count(proxy, word)
    proxy.signal(signal.SIGHUP)
    await until(lambda: log_count(proxy, word) > n, 10, what)
    return re.findall(word + r"[^\n]*", proxy.stderr())[-1]


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
    except ConnectionRefusedError:
        return True
    return False


async def exchange(alice, bob, text, got=None):
    """One message each way between two logged-in clients; each must
    arrive as got (text by default)."""
    na, nb = len(alice.messages), len(bob.messages)
    alice.say(bob.boundjid.full, "to bob: " + text)
    bob.say(alice.boundjid.full, "to alice: " + text)
    await bob.wait_messages(nb + 1)
    await alice.wait_messages(na + 1)
    check_eq(bob.messages[nb]["body"], "to bob: " + (got or text), "bob got")
    check_eq(alice.messages[na]["body"], "to alice: " + (got or text),
             "alice got")


def raw_say(port, user, resource, to, body):
    """A new session on port: logs in, sends body to to, closes."""
    r = Raw(port)
    r.login(user, USERS[user], resource)
    r.send(MSG % (to, "raw-" + resource, body))
    r.send("</stream:stream>")
    r.read_to_eof()


@tap.case("SIGHUP with live sessions: listeners added, removed and kept, "
          "new rules for new sessions; a listener that cannot bind and a "
          "broken file each leave everything as it ran")
def t_reload(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    a = proxy.config["listen"][0]
    b = {"address": "127.0.0.1:%d" % xgtest.free_port(), "tls": "none"}
    c = {"address": "127.0.0.1:%d" % xgtest.free_port(), "tls": "none"}
    port = lambda lst: int(lst["address"].rsplit(":", 1)[1])  # noqa: E731
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    d = {"address": "127.0.0.1:%d" % busy.getsockname()[1], "tls": "none"}
    async def steps(alice, bob):
        await alice.login()
        await bob.login()
        await exchange(alice, bob, "before any reload")

        line = await reload(proxy, "the first reload", listen=[a, b],
                            filters=[RULE])
        check("1 kept, 1 new" in line, "first reload: %s" % line)
        await until(lambda: xgtest.listening(port(b)), 5, "listener b")
        await exchange(alice, bob, "after the first reload")
        raw_say(port(b), "bob", "via-b", alice.boundjid.full,
                "a classified word through b")
        await alice.wait_for(lambda: any("through b" in (m["body"] or "")
                                         for m in alice.messages),
                             "the message through b")
        got = [m["body"] for m in alice.messages if "through b" in m["body"]]
        check_eq(got, ["a [word removed] word through b"],
                 "a new session through the new listener, new rule applied")

        line = await reload(proxy, "the second reload", listen=[b, c],
                            filters=[])
        check("1 kept, 1 new" in line, "second reload: %s" % line)
        check(refused(port(a)), "the removed listener refuses connections")
        await exchange(alice, bob, "after their listener was removed")
        raw_say(port(c), "bob", "via-c", alice.boundjid.full, "through c")
        await alice.wait_for(lambda: any(m["body"] == "through c"
                                         for m in alice.messages),
                             "the message through c")

        line = await reload(proxy, "a reload that cannot bind", ok=False,
                            listen=[b, c, d], filters=[RULE])
        check("cannot listen" in line and d["address"] in line,
              "the reload failure names the listener: %s" % line)
        raw_say(port(c), "bob", "via-c2", alice.boundjid.full,
                "still classified")
        await alice.wait_for(lambda: any(m["body"] == "still classified"
                                         for m in alice.messages),
                             "the message after the failed reload")

        with open(proxy.cfg_path, "w") as f:
            f.write('{ "listen": [ ')
        n = log_count(proxy, "reload failed")
        proxy.signal(signal.SIGHUP)
        await until(lambda: log_count(proxy, "reload failed") > n, 10,
                    "the broken file refused")
        check(xgtest.listening(port(b)) and xgtest.listening(port(c)),
              "b and c still listen")
        await exchange(alice, bob, "after the broken file")
        await alice.logout()
        await bob.logout()

    try:
        with_clients(proxy.address, steps, 60)
    finally:
        busy.close()
    proxy.stop()
    evs = proxy.events()
    opens = of(evs, "session.open")
    check_eq(sorted({o["listener"] for o in opens}),
             sorted({a["address"], b["address"], c["address"]}),
             "the listeners sessions came through")


def json_lines(path):
    """The events of a file that must hold whole JSON lines only."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        raw = f.read()
    check(raw == b"" or raw.endswith(b"\n"), path + " ends with a whole line")
    return [json.loads(line) for line in raw.decode().splitlines()]


def said(evs, body):
    return [e for e in of(evs, "stanza", kind="message", dir="c2s")
            if ">%s<" % body in e["xml"]]


@tap.case("logrotate: mv events.jsonl, SIGHUP: new events go to a new "
          "events.jsonl, the moved file ends with a whole line, every "
          "message is in one of them once")
def t_logrotate(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address)
    moved = proxy.events_path + ".1"
    bodies = ["m%02d" % i for i in range(30)]

    async def steps(alice):
        await alice.login()
        for i, body in enumerate(bodies):
            alice.say(alice.boundjid.full, body)
            if i == 9:
                await alice.wait_messages(10)
                os.rename(proxy.events_path, moved)
            if i == 19:
                await alice.wait_messages(20)
                await reload(proxy, "the reload")
        await alice.wait_messages(len(bodies))
        await alice.logout()

    with_clients(proxy.address, steps, 30, names=("alice",))
    proxy.stop()
    old, new = json_lines(moved), proxy.events()
    check(len(new) > 0, "a new events.jsonl after SIGHUP")
    for body in bodies:
        check_eq(len(said(old, body)) + len(said(new, body)), 1,
                 "stanza events of " + body)
    check(said(old, "m15"), "lines between mv and SIGHUP go to the moved file")
    check(said(new, "m25"), "lines after SIGHUP go to the new file")
    check_eq([e["event"] for e in new[-1:]], ["session.close"],
             "the session ends in the new file")


@tap.case("SIGTERM with live sessions: system-shutdown to each client, "
          "exit 0 within the grace, every stanza and every session.close "
          "written; a client that never closes is cut at the grace")
def t_sigterm(env):
    prosody = env.prosody()
    grace = 3
    proxy = env.proxy(prosody.address, limits={"shutdown_grace_s": grace})
    stuck = Raw(proxy.port, timeout=10)
    stuck.login("bob", USERS["bob"], "stuck")
    n = 25
    took = {}

    async def steps(alice, bob):
        await alice.login()
        await bob.login()
        for i in range(n):
            alice.say(bob.boundjid.full, "a%02d" % i)
            bob.say(alice.boundjid.full, "b%02d" % i)
        await bob.wait_messages(n)
        await alice.wait_messages(n)
        t0 = time.monotonic()
        proxy.signal(signal.SIGTERM)
        await alice.wait_closed()
        await bob.wait_closed()
        await until(lambda: not proxy.alive(), grace + 3, "the exit")
        took["s"] = time.monotonic() - t0

    alice, bob = with_clients(proxy.address, steps, 60)
    proxy.stop(wait_only=True)
    check(took["s"] <= grace + 1.5, "exit after %.1fs, grace %ds"
          % (took["s"], grace))
    check_eq((alice.stream_errors, bob.stream_errors),
             (["system-shutdown"], ["system-shutdown"]),
             "the clients' stream errors")
    check_eq(stream_error(stuck.read_until(r"</stream:stream>")),
             "system-shutdown", "the stuck client's stream error")
    check(re.search(r"still flushing after %ds" % grace, proxy.stderr()),
          "the stuck session is cut at the grace")
    evs = proxy.events()
    per = xgtest.sessions(evs)
    check_eq(len(per), 3, "sessions in the events")
    for sid, sev in per.items():
        closes = of(sev, "session.close")
        check_eq([c["reason"] for c in closes], ["shutdown"],
                 sid + ": session.close")
        check_eq(sev[-1]["event"], "session.close", sid + ": last event")
        check(of(sev, "stream.error", condition="system-shutdown",
                 by="proxy"), sid + ": system-shutdown in the events")
    for prefix in ("a", "b"):
        for i in range(n):
            check_eq(len(said(evs, "%s%02d" % (prefix, i))), 1,
                     "stanza events of %s%02d" % (prefix, i))


@tap.case("SIGUSR1 lists every live session (client, state, JID, age, "
          "bytes, TLS) and the filters' counters")
def t_sigusr1(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, filters=[RULE])
    seen = {}

    async def steps(alice, bob):
        await alice.login()
        await bob.login()
        await exchange(alice, bob, "a classified chat",
                       "a [word removed] chat")
        proxy.signal(signal.SIGUSR1)
        await until(lambda: re.search(r"filter=no-classified matches=2",
                                      proxy.stderr()), 10, "the report")
        seen["err"] = proxy.stderr()
        await alice.logout()
        await bob.logout()

    alice, bob = with_clients(proxy.address, steps, 30)
    err = seen["err"]
    check(re.search(r"report: worker=0 pid=%d sessions=2 active=2 "
                    % proxy.pid(), err), "the report line")
    for c in (alice, bob):
        m = re.search(r"session=\S+ status client=127\.0\.0\.1:\d+ "
                      r"listener=%s state=established jid=%s age=[\d.]+s "
                      r"c2s_bytes=(\d+) c2s_stanzas=(\d+) s2c_bytes=(\d+) "
                      r"s2c_stanzas=\d+ tls_client=none tls_upstream=none"
                      % (re.escape(proxy.address),
                         re.escape(c.boundjid.full)), err)
        check(m, "a status line for " + c.boundjid.full)
        check(int(m.group(1)) > 0 and int(m.group(2)) > 0
              and int(m.group(3)) > 0, "bytes and stanzas counted")


def root_only():
    if os.geteuid() != 0:
        print("# not root: the privilege cases check nothing here")
        return False
    return True


def status_ids(pid):
    """Uid, Gid and Groups of /proc/PID/status, as lists of ints."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                out[k] = [int(x) for x in v.split()]
    return out


def for_nobody(env, *dirs):
    """Directories nobody can write to, under a tmp it can traverse."""
    nobody = pwd.getpwnam("nobody")
    os.chmod(env.tmp, 0o755)
    for d in dirs:
        os.makedirs(d, exist_ok=True)
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    return nobody


@tap.case("as root with \"user\": \"nobody\": every uid and gid is "
          "nobody's once running, the events file is its, a reload works; "
          "without a user xmppgate refuses to stay root")
def t_user(env):
    if not root_only():
        return
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, start=False, user="nobody",
                      allow_root=False)
    nobody = for_nobody(env, proxy.dir)
    proxy.start()
    ids = status_ids(proxy.pid())
    check_eq(ids["Uid"], [nobody.pw_uid] * 4, "Uid in /proc")
    check_eq(ids["Gid"], [nobody.pw_gid] * 4, "Gid in /proc")
    check_eq(ids["Groups"], [nobody.pw_gid], "supplementary groups")
    check_eq(os.stat(proxy.events_path).st_uid, nobody.pw_uid,
             "the events file's owner")
    env.chat_works(proxy)
    run_async(reload(proxy, "a reload as nobody"), 15)
    env.chat_works(proxy)
    proxy.stop()
    check(re.search(r"running as user=nobody uid=%d" % nobody.pw_uid,
                    proxy.stderr()), "the switch in the operator log")

    cfg = dict(proxy.config, allow_root=False)
    del cfg["user"]
    path = os.path.join(env.tmp, "root.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    r = subprocess.run([xgtest.XG_BIN, "-c", path], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 1 and "refusing to run as root" in r.stderr
          and "allow_root" in r.stderr,
          "as root without a user: %d %s" % (r.returncode, r.stderr))
    cfg["user"] = "no-such-user-here"
    with open(path, "w") as f:
        json.dump(cfg, f)
    r = subprocess.run([xgtest.XG_BIN, "-n", "-c", path], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 1 and "user: no such user 'no-such-user-here'"
          in r.stderr, "an unknown user: %s" % r.stderr)


@tap.case("chroot: the process's root is the directory, sessions work, "
          "SIGHUP reopens the event file outside it (logrotate) and says "
          "the config is not reloaded there")
def t_chroot(env):
    if not root_only():
        return
    prosody = env.prosody()
    jail = os.path.join(env.tmp, "jail")
    evdir = os.path.join(env.tmp, "events")
    # LeakSanitizer reads /proc at exit, which is not in the jail: a
    # sanitizer build checks leaks in the other cases, not this one.
    asan = os.environ.get("ASAN_OPTIONS", "")
    proxy = env.proxy(prosody.address, start=False, user="nobody",
                      allow_root=False, chroot=jail,
                      environ={"ASAN_OPTIONS": (asan + ":" if asan else "")
                               + "detect_leaks=0"},
                      logs=[{"type": "json",
                             "path": os.path.join(evdir, "events.jsonl")}])
    for_nobody(env, evdir)
    os.makedirs(jail)
    proxy.events_path = os.path.join(evdir, "events.jsonl")
    proxy.start()
    check_eq(os.readlink("/proc/%d/root" % proxy.pid()), jail,
             "the root directory in /proc")
    env.chat_works(proxy)
    os.rename(proxy.events_path, proxy.events_path + ".1")
    proxy.signal(signal.SIGHUP)
    proxy.wait_log(r"reload: running in chroot %s" % re.escape(jail),
                   "the chroot's reload refusal")
    proxy.wait_log(r"reopen: event and log files reopened", "the reopen")
    env.chat_works(proxy)
    proxy.stop()
    old, new = json_lines(proxy.events_path + ".1"), proxy.events()
    check_eq(len(of(old, "session.close")), 2, "sessions in the moved file")
    check_eq(len(of(new, "session.close")), 2, "sessions in the new file")


if __name__ == "__main__":
    tap.run()
