# SPDX-License-Identifier: ISC
"""--workers 2 in front of a real Prosody: a supervisor and two workers on
the same sockets.

Sessions are spread over both workers (told apart by the run id their
session ids start with, and listed by each worker's pid on SIGUSR1); a
worker killed with SIGKILL is restarted by the supervisor while the other
worker's sessions go on; SIGHUP to the supervisor reloads every worker,
with a new listener; the shared events file holds only whole JSON lines
with unique session ids; SIGTERM ends everything with exit status 0.
"""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgtest  # noqa: E402
from xgtest import USERS, Raw, check, check_eq, of, wait_until  # noqa: E402

tap = xgtest.Tap()

MSG = "<message to='%s' type='chat' id='%s'><body>%s</body></message>"
RUNNING = re.compile(r"worker=(\d+) pid=(\d+) running session_ids=([0-9a-f]{8})")


def workers(proxy):
    """{worker number: (pid, run id)} of the workers running so far, the
    latest start of each."""
    out = {}
    for m in RUNNING.finditer(proxy.stderr()):
        out[int(m.group(1))] = (int(m.group(2)), m.group(3))
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] not in "ZX"
    except OSError:
        return False


def echo(raw, jid, body):
    """raw's session sends itself body and reads it back."""
    raw.send(MSG % (jid, body, body))
    raw.read_until(r"<body>%s</body>" % re.escape(body), what=body)


@tap.case("--workers 2: sessions on both workers; SIGKILL on one: it is "
          "restarted and the other's sessions go on; SIGHUP reloads both "
          "with a new listener; whole JSON lines, unique ids; SIGTERM "
          "exits 0")
def t_workers(env):
    prosody = env.prosody()
    proxy = env.proxy(prosody.address, args=["--workers", "2"])
    wait_until(lambda: len(workers(proxy)) == 2, 10, "two workers running")
    first = workers(proxy)
    check_eq(len({pid for pid, _ in first.values()}), 2, "two pids")
    run_of = {rid: w for w, (pid, rid) in first.items()}

    # Sessions until both workers have some (the kernel picks the worker).
    held = {1: [], 2: []}
    for i in range(40):
        r = Raw(proxy.port)
        user = ("alice", "bob")[i % 2]
        jid = r.login(user, USERS[user], "w%d" % i)
        sid = wait_until(lambda: [o["session"] for o in
                                  of(proxy.events(), "bind", jid=jid)],
                         5, "the bind of " + jid)[0]
        held[run_of[sid.split(".")[0]]].append((r, jid, sid))
        if held[1] and held[2]:
            break
    check(held[1] and held[2], "sessions on both workers: %d and %d"
          % (len(held[1]), len(held[2])))

    mark = len(proxy.stderr())
    proxy.signal(signal.SIGUSR1)
    for w, (pid, _) in first.items():
        n = len(held[w])
        proxy.wait_log(r"report: worker=%d pid=%d sessions=%d " % (w, pid, n),
                       "worker %d's report" % w, after=mark)
        for _, jid, sid in held[w]:
            proxy.wait_log(r"session=%s status [^\n]*jid=%s "
                           % (re.escape(sid), re.escape(jid)),
                           "the status of " + sid, after=mark)
    proxy.wait_log(r"report: supervisor pid=%d workers=2 running=2"
                   % proxy.pid(), "the supervisor's report", after=mark)

    victim = first[1][0]
    os.kill(victim, signal.SIGKILL)
    proxy.wait_log(r"worker=1 pid=%d killed by signal 9" % victim,
                   "the supervisor sees the death")
    wait_until(lambda: workers(proxy)[1][0] != victim, 10,
               "worker 1 restarted")
    check(not alive(victim), "the killed worker is gone")
    for r, _, _ in held[1]:
        r.read_to_eof()  # its sessions died with it
        r.close()
    for r, jid, _ in held[2]:
        echo(r, jid, "still-here-" + jid.rsplit("/", 1)[1])
    env.chat_works(proxy)
    new_run = workers(proxy)[1][1]
    check(new_run not in run_of, "the restarted worker's ids are new")

    # A reload through the supervisor reaches both workers.
    extra = xgtest.free_port()
    proxy.write_config(listen=proxy.config["listen"] + [
        {"address": "127.0.0.1:%d" % extra, "tls": "none"}])
    mark = len(proxy.stderr())
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: len(re.findall(r"reload: config [^\n]*1 kept, 1 new",
                                      proxy.stderr()[mark:])) == 3, 10,
               "the supervisor's and both workers' reloads")
    check(xgtest.listening(extra), "the new listener listens")
    for i in range(6):  # whichever worker takes them
        r = Raw(extra)
        jid = r.login("alice", USERS["alice"], "extra%d" % i)
        echo(r, jid, "through-the-new-listener-%d" % i)
        r.close()
    for r, jid, _ in held[2]:
        echo(r, jid, "after-the-reload")
        r.send("</stream:stream>")
        r.read_to_eof()
        r.close()

    pids = [pid for pid, _ in workers(proxy).values()]
    proxy.stop()  # SIGTERM: exit 0, no sanitizer report
    check(not any(alive(p) for p in pids), "no worker outlives it")
    evs = proxy.events()  # every line must parse
    opens = [o["session"] for o in of(evs, "session.open")]
    check_eq(len(opens), len(set(opens)), "unique session ids")
    check(len(opens) >= 10, "%d sessions in the events" % len(opens))
    closed = {c["session"] for c in of(evs, "session.close")}
    lost = {sid for _, _, sid in held[1]}
    check_eq(set(opens) - closed, lost,
             "every session is closed but the killed worker's")


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return [int(x) for x in re.search(r"^Uid:(.*)$", f.read(),
                                          re.M).group(1).split()]


@tap.case("a worker that keeps dying is restarted later each time (0.5 s, "
          "1 s, 2 s); with \"user\" (as root) the supervisor and every "
          "worker run as that user")
def t_backoff(env):
    prosody = env.prosody()
    root = os.geteuid() == 0
    proxy = env.proxy(prosody.address, args=["--workers", "2"], start=False,
                      **({"user": "nobody", "allow_root": False}
                         if root else {}))
    if root:
        import pwd
        nobody = pwd.getpwnam("nobody")
        os.chmod(env.tmp, 0o755)
        os.chown(proxy.dir, nobody.pw_uid, nobody.pw_gid)
    proxy.start()
    wait_until(lambda: len(workers(proxy)) == 2, 10, "two workers running")
    if root:
        for pid in [proxy.pid()] + [p for p, _ in workers(proxy).values()]:
            check_eq(uid_of(pid), [nobody.pw_uid] * 4, "uids of %d" % pid)
    for delay in ("0.5", "1.0", "2.0"):
        pid = workers(proxy)[2][0]
        os.kill(pid, signal.SIGKILL)
        proxy.wait_log(r"worker=2 restarting in %ss" % delay,
                       "a restart in %ss" % delay)
        wait_until(lambda: workers(proxy)[2][0] != pid, 10,
                   "worker 2 back after %ss" % delay)
    env.chat_works(proxy)
    proxy.stop()


if __name__ == "__main__":
    tap.run()
