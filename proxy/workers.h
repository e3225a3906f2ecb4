/* SPDX-License-Identifier: ISC */
/*
 * Workers ("workers": N, --workers N): a supervisor process holding the
 * listening sockets forks N workers that accept on them, restarts a worker
 * that dies (with a backoff), and passes SIGHUP, SIGTERM/SIGINT and
 * SIGUSR1 on. See workers.c for the model.
 */
#ifndef XMPPGATE_WORKERS_H
#define XMPPGATE_WORKERS_H

struct proxy;
struct workers;
struct workers_chan;

enum workers_outcome {
	WORKERS_DONE,  /* the supervisor: every worker has ended */
	WORKERS_CHILD, /* a worker, just forked: run as a proxy */
};

/*
 * The supervisor's table of n workers for p (borrowed), none started. Each
 * gets its resolver now, while the system's files are in reach.
 */
struct workers *workers_new(struct proxy *p, unsigned n);
void workers_free(struct workers *);
/* Forks the workers and supervises them until a shutdown has ended them
 * all (WORKERS_DONE), or returns in a worker just forked (WORKERS_CHILD). */
enum workers_outcome workers_run(struct workers *);
/* After the supervisor reloaded: each worker reloads on its listeners. */
void workers_reload(struct workers *);
/* Each worker reopens its files. */
void workers_reopen(struct workers *);
/* The workers in the log; each worker then reports its sessions. */
void workers_report(struct workers *);
/* SIGTERM to each worker; the supervisor ends when they all have (or
 * kills them a little after their grace). */
void workers_shutdown(struct workers *);

/* A worker's end of its channel to the supervisor; NULL is a no-op. */
void workers_chan_free(struct workers_chan *);

#endif
