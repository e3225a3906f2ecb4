/* SPDX-License-Identifier: ISC */
/*
 * The supervisor and its workers. The supervisor binds every listener once
 * and its workers share those sockets (inherited at fork): one accept queue
 * per address, so a connection waits in it while a worker restarts instead
 * of being reset with a dead worker's own queue (SO_REUSEPORT's way), a
 * restarted worker needs no bind (nor the privileges a low port takes), and
 * a kept listener is the same socket in every process. The kernel wakes the
 * idle workers and one of them takes each connection.
 *
 * The supervisor accepts nothing, reads no traffic and writes no event: it
 * forks, restarts a worker that dies (after 0.5 s, doubling while workers
 * die within 10 s of starting, up to 30 s, so a crash loop does not spin),
 * and relays signals. SIGHUP: it reloads first (proxy_reload.c: the whole
 * config, the listeners bound), then sends each worker its listeners over
 * a socketpair (SCM_RIGHTS) and the worker reloads on them; when the
 * supervisor's reload fails no worker hears of it. SIGTERM/SIGINT: each
 * worker gets SIGTERM and shuts down with its own grace; stragglers are
 * killed 2 s after it. SIGUSR1: it lists the workers and each worker its
 * sessions. A worker whose supervisor is gone (its channel ends) shuts down.
 *
 * A worker is the proxy the supervisor was, forked: it inherits the config,
 * the listeners, the event sinks (then reopens and reloads them itself) and
 * a resolver of its own, made before the privileges were dropped. Its
 * session ids carry the supervisor's run id plus the worker's serial (a
 * fork count), so they stay unique across workers and restarts.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "proxy_int.h"
#include "workers.h"
#include "xmalloc.h"

#define WORKERS_BACKOFF_MIN_S 0.5
#define WORKERS_BACKOFF_MAX_S 30.0
/* A worker that ran this long was not crash-looping. */
#define WORKERS_STABLE_S 10.0
#define WORKERS_KILL_AFTER_S 2 /* past the grace: SIGKILL */
#define WORKERS_FDS_PER_MSG 64

/* The supervisor's messages; a message is one SOCK_SEQPACKET datagram. */
enum workers_msg_type {
	WORKERS_MSG_REOPEN = 1,    /* reopen the event and log files */
	WORKERS_MSG_LISTENERS = 2, /* count of total listeners, as fds */
};

struct workers_msg {
	uint32_t type;
	uint32_t total; /* LISTENERS: listeners in the whole reload */
	uint32_t count; /* LISTENERS: descriptors in this message */
};

struct worker {
	struct workers *w;      /* borrowed */
	unsigned index;         /* 1..n, for the log */
	pid_t pid;              /* 0: not running */
	unsigned serial;        /* the fork count when it started */
	int ctl;                /* owned: the supervisor's end of the channel */
	struct evdns_base *dns; /* owned: handed to the worker at fork */
	struct event *restart;  /* owned: the backoff timer */
	struct timespec started;
	unsigned quick_deaths; /* in a row, each within WORKERS_STABLE_S */
	unsigned restarts;
	bool due; /* to fork at the next turn of workers_run */
};

struct workers {
	struct proxy *p;  /* borrowed */
	struct worker *v; /* owned array */
	unsigned n, live, serial;
	bool stopping, done;
	struct event *sigchld; /* owned */
	struct event *kill;    /* owned or NULL: SIGKILL for stragglers */
};

/* A worker's end. */
struct workers_chan {
	struct proxy *p;  /* borrowed */
	int fd;           /* owned */
	struct event *ev; /* owned */
	int *fds;         /* owned: the listeners of the reload under way */
	size_t nfds, seen, total;
};

static double
workers_uptime(const struct worker *k)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - k->started.tv_sec) +
	       (double)(now.tv_nsec - k->started.tv_nsec) / 1e9;
}

/* Sends m with n descriptors. Returns -1 with errno. */
static int
workers_send(int fd, struct workers_msg *m, const int *fds, size_t n)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * WORKERS_FDS_PER_MSG)];
	} u;
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	if (n > 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.b;
		msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	}
	if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(*m))
		return -1;
	return 0;
}

/* Receives one message and its descriptors (at most WORKERS_FDS_PER_MSG,
 * close-on-exec). Returns recvmsg's result. */
static ssize_t
workers_recv(int fd, struct workers_msg *m, int *fds, size_t *nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * WORKERS_FDS_PER_MSG)];
	} u;
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr msg = {.msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.b,
	    .msg_controllen = sizeof(u.b)};
	struct cmsghdr *cm;
	size_t n;
	ssize_t r;

	*nfds = 0;
	if ((r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) <= 0)
		return r;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > WORKERS_FDS_PER_MSG - *nfds)
			n = WORKERS_FDS_PER_MSG - *nfds;
		memcpy(fds + *nfds, CMSG_DATA(cm), n * sizeof(int));
		*nfds += n;
	}
	return r;
}

static void
workers_close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

/*
 * A message from the supervisor. The listeners of a reload may come in
 * several messages: collected until all are there, then the reload runs;
 * a message that lost descriptors (MSG_CTRUNC: out of descriptors) spoils
 * that reload alone.
 */
static void
workers_chan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct workers_chan *c = arg;
	struct workers_msg m;
	int got[WORKERS_FDS_PER_MSG];
	size_t n;
	ssize_t r;

	r = workers_recv(fd, &m, got, &n);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		log_warnx("worker=%u the supervisor is gone: shutting down",
		    c->p->worker);
		event_del(c->ev);
		proxy_shutdown(c->p);
		return;
	}
	if (r != (ssize_t)sizeof(m) || m.type != WORKERS_MSG_LISTENERS) {
		workers_close_fds(got, n);
		if (r == (ssize_t)sizeof(m) && m.type == WORKERS_MSG_REOPEN)
			proxy_reopen(c->p);
		return;
	}
	if (c->seen == 0) {
		c->total = m.total;
		c->fds = xreallocarray(c->fds, m.total + 1, sizeof(int));
	}
	if (n != m.count || c->nfds + n > c->total) {
		workers_close_fds(got, n);
		n = 0;
	}
	memcpy(c->fds + c->nfds, got, n * sizeof(int));
	c->nfds += n;
	c->seen += m.count;
	if (c->seen < c->total)
		return;
	if (c->nfds == c->total)
		proxy_reload_worker(c->p, c->fds, c->nfds);
	else {
		log_warnx("worker=%u reload failed, keeping the running "
		          "config: %zu of %zu listeners came through",
		    c->p->worker, c->nfds, c->total);
		workers_close_fds(c->fds, c->nfds);
	}
	c->nfds = c->seen = c->total = 0;
}

static struct workers_chan *
workers_chan_new(struct proxy *p, int fd)
{
	struct workers_chan *c = xcalloc(1, sizeof(*c));

	c->p = p;
	c->fd = fd;
	c->ev =
	    event_new(p->base, fd, EV_READ | EV_PERSIST, workers_chan_cb, c);
	event_add(c->ev, NULL);
	return c;
}

void
workers_chan_free(struct workers_chan *c)
{
	if (c == NULL)
		return;
	event_free(c->ev);
	close(c->fd);
	workers_close_fds(c->fds, c->nfds);
	free(c->fds);
	free(c);
}

/* Schedules k's next start: later each time it died young. */
static void
workers_later(struct workers *w, struct worker *k)
{
	double delay = WORKERS_BACKOFF_MIN_S;
	struct timeval tv;
	unsigned i;

	for (i = 0; i < k->quick_deaths && delay < WORKERS_BACKOFF_MAX_S; i++)
		delay *= 2;
	if (delay > WORKERS_BACKOFF_MAX_S)
		delay = WORKERS_BACKOFF_MAX_S;
	k->quick_deaths++;
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	evtimer_add(k->restart, &tv);
	log_info("worker=%u restarting in %.1fs", k->index, delay);
}

static void
workers_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *k = arg;

	k->due = true;
	k->restarts++;
	/* Forks happen outside the loop (workers_run): a worker must not
	 * start inside its supervisor's callback. */
	event_base_loopbreak(k->w->p->base);
}

/*
 * In the new worker: its own event backend (the supervisor's epoll is not
 * to be shared), its resolver and channel kept, the rest of the
 * supervisor's state freed. Signals stay blocked until the backend is new.
 */
static void
workers_become(struct workers *w, struct worker *k, int fd)
{
	struct proxy *p = w->p;
	unsigned i;

	if (event_reinit(p->base) == -1)
		fatalx("worker=%u event_reinit failed", k->index);
	for (i = 0; i < w->n; i++) {
		if (w->v[i].ctl != -1)
			close(w->v[i].ctl);
		w->v[i].ctl = -1;
	}
	p->dns = k->dns;
	k->dns = NULL;
	/* The endpoint is the supervisor's: the worker's copy of its socket
	 * goes. The counters it updates are the shared ones (metrics.h). */
	metrics_http_free(p->metrics);
	p->metrics = NULL;
	metrics_set_worker(k->index);
	p->worker = k->index;
	p->run_id += k->serial;
	p->chan = workers_chan_new(p, fd);
	p->workers = NULL;
	workers_free(w);
}

/* Forks k. Returns true in the new worker. */
static bool
workers_spawn(struct workers *w, struct worker *k)
{
	sigset_t all, old;
	int sv[2], saved;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warnx("worker=%u cannot start: socketpair: %s", k->index,
		    strerror(errno));
		workers_later(w, k);
		return false;
	}
	k->serial = ++w->serial;
	fflush(NULL);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		workers_become(w, k, sv[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return true;
	}
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid == -1) {
		close(sv[0]);
		log_warnx("worker=%u cannot start: fork: %s", k->index,
		    strerror(saved));
		workers_later(w, k);
		return false;
	}
	k->ctl = sv[0];
	k->pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &k->started);
	w->live++;
	log_info("worker=%u pid=%ld started", k->index, (long)pid);
	return false;
}

/* k's process ended with status: logged, and restarted unless stopping. */
static void
workers_ended(struct workers *w, struct worker *k, int status)
{
	double up = workers_uptime(k);
	char how[96];

	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	close(k->ctl);
	k->ctl = -1;
	w->live--;
	metrics_worker_exited(k->index);
	if (w->stopping) {
		log_info("worker=%u pid=%ld %s", k->index, (long)k->pid, how);
		k->pid = 0;
		if (w->live == 0) {
			w->done = true;
			event_base_loopexit(w->p->base, NULL);
		}
		return;
	}
	log_warnx("worker=%u pid=%ld %s after %.1fs", k->index, (long)k->pid,
	    how, up);
	k->pid = 0;
	if (up >= WORKERS_STABLE_S)
		k->quick_deaths = 0;
	workers_later(w, k);
}

static void
workers_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct workers *w = arg;
	int status;
	unsigned i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < w->n; i++)
			if (w->v[i].pid == pid)
				workers_ended(w, &w->v[i], status);
}

struct workers *
workers_new(struct proxy *p, unsigned n)
{
	struct workers *w = xcalloc(1, sizeof(*w));
	struct worker *k;
	unsigned i;

	w->p = p;
	w->n = n;
	w->v = xcalloc(n, sizeof(*w->v));
	for (i = 0; i < n; i++) {
		k = &w->v[i];
		k->w = w;
		k->index = i + 1;
		k->ctl = -1;
		/* Idle here: the supervisor never reads its sockets, so the
		 * worker that inherits them is their only reader. */
		k->dns = proxy_dns(p->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		k->restart = evtimer_new(p->base, workers_restart_cb, k);
	}
	w->sigchld = evsignal_new(p->base, SIGCHLD, workers_sigchld_cb, w);
	evsignal_add(w->sigchld, NULL);
	return w;
}

void
workers_free(struct workers *w)
{
	unsigned i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++) {
		if (w->v[i].ctl != -1)
			close(w->v[i].ctl);
		if (w->v[i].dns != NULL)
			evdns_base_free(w->v[i].dns, 0);
		event_free(w->v[i].restart);
	}
	event_free(w->sigchld);
	if (w->kill != NULL)
		event_free(w->kill);
	free(w->v);
	free(w);
}

enum workers_outcome
workers_run(struct workers *w)
{
	unsigned i;

	/*
	 * The shared counters (one fixed-size struct in a MAP_SHARED |
	 * MAP_ANONYMOUS mapping) were mapped in proxy_new(), before the first
	 * fork below, so every worker, restarted ones too, counts into the
	 * same block. The endpoint is served by the supervisor, on its own
	 * loop (p->base), never by a worker (workers_become).
	 */
	metrics_set_accepting(true);
	log_info("xmppgate %s running upstream=%s workers=%u", PACKAGE_VERSION,
	    w->p->cfg->upstream.address, w->n);
	for (i = 0; i < w->n; i++)
		w->v[i].due = true;
	for (;;) {
		for (i = 0; i < w->n && !w->stopping; i++) {
			if (!w->v[i].due)
				continue;
			w->v[i].due = false;
			if (workers_spawn(w, &w->v[i]))
				return WORKERS_CHILD;
		}
		if (w->done)
			return WORKERS_DONE;
		event_base_dispatch(w->p->base);
	}
}

/* Sends every listener to k, in the config's order. */
static int
workers_send_listeners(struct workers *w, struct worker *k)
{
	struct proxy *p = w->p;
	struct workers_msg m = {WORKERS_MSG_LISTENERS, 0, 0};
	int fds[WORKERS_FDS_PER_MSG];
	size_t i = 0, n;

	m.total = (uint32_t)p->nlisteners;
	do {
		for (n = 0; n < WORKERS_FDS_PER_MSG && i < p->nlisteners; n++)
			fds[n] = listener_fd(p->listeners[i++]);
		m.count = (uint32_t)n;
		if (workers_send(k->ctl, &m, fds, n) == -1)
			return -1;
	} while (i < p->nlisteners);
	return 0;
}

void
workers_reload(struct workers *w)
{
	unsigned i;

	for (i = 0; i < w->n; i++)
		if (w->v[i].pid != 0 &&
		    workers_send_listeners(w, &w->v[i]) == -1)
			log_warnx(
			    "worker=%u pid=%ld did not get the reload: %s",
			    w->v[i].index, (long)w->v[i].pid, strerror(errno));
}

void
workers_reopen(struct workers *w)
{
	struct workers_msg m = {WORKERS_MSG_REOPEN, 0, 0};
	unsigned i;

	for (i = 0; i < w->n; i++)
		if (w->v[i].pid != 0 &&
		    workers_send(w->v[i].ctl, &m, NULL, 0) == -1)
			log_warnx(
			    "worker=%u pid=%ld did not get the reopen: %s",
			    w->v[i].index, (long)w->v[i].pid, strerror(errno));
}

void
workers_report(struct workers *w)
{
	struct worker *k;
	unsigned i;

	log_info("report: supervisor pid=%ld workers=%u running=%u "
	         "stopping=%d",
	    (long)getpid(), w->n, w->live, w->stopping);
	for (i = 0; i < w->n; i++) {
		k = &w->v[i];
		if (k->pid == 0) {
			log_info("report: worker=%u not running restarts=%u",
			    k->index, k->restarts);
			continue;
		}
		log_info("report: worker=%u pid=%ld up=%.1fs restarts=%u",
		    k->index, (long)k->pid, workers_uptime(k), k->restarts);
		(void)kill(k->pid, SIGUSR1);
	}
}

static void
workers_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct workers *w = arg;
	unsigned i;

	for (i = 0; i < w->n; i++) {
		if (w->v[i].pid == 0)
			continue;
		log_warnx("worker=%u pid=%ld still running after the grace: "
		          "killing it",
		    w->v[i].index, (long)w->v[i].pid);
		(void)kill(w->v[i].pid, SIGKILL);
	}
}

void
workers_shutdown(struct workers *w)
{
	struct timeval tv = {
	    w->p->cfg->limits.shutdown_grace_s + WORKERS_KILL_AFTER_S, 0};
	unsigned i;

	w->stopping = true;
	for (i = 0; i < w->n; i++) {
		evtimer_del(w->v[i].restart);
		w->v[i].due = false;
		if (w->v[i].pid != 0)
			(void)kill(w->v[i].pid, SIGTERM);
	}
	if (w->live == 0) {
		w->done = true;
		event_base_loopexit(w->p->base, NULL);
		return;
	}
	w->kill = evtimer_new(w->p->base, workers_kill_cb, w);
	evtimer_add(w->kill, &tv);
}
