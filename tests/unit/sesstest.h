/* SPDX-License-Identifier: ISC */
/*
 * The in-process session harness: a real session between two
 * bufferevent_pairs, with the test playing the client and the server on the
 * far ends (in plaintext, or through its own TLS, see tlspeer.h), a config
 * parsed from JSON and a JSON event log in a temporary file (read it back
 * with jsonev.h). The loop runs until a predicate holds or a deadline
 * passes, so tests are fast and never hang. It checks nothing itself: the
 * TAP checks stay in the test programs.
 */
#ifndef XMPPGATE_SESSTEST_H
#define XMPPGATE_SESSTEST_H

#include <limits.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "tlspeer.h"

/*
 * What the test's client and server say. Short names on purpose: they are
 * the data nearly every check quotes.
 */
#define C_HDR                                                                  \
	"<?xml version='1.0'?><stream:stream to='example.org' "                \
	"xmlns='jabber:client' "                                               \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define S_HDR                                                                  \
	"<?xml version='1.0'?><stream:stream from='example.org' id='s1' "      \
	"xmlns='jabber:client' "                                               \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define S_HDR2                                                                 \
	"<?xml version='1.0'?><stream:stream from='example.org' id='s2' "      \
	"xmlns='jabber:client' "                                               \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define STARTTLS "<starttls xmlns='" NS_TLS "'/>"
#define PROCEED "<proceed xmlns='" NS_TLS "'/>"
#define FEAT_REQUIRED                                                          \
	"<stream:features><starttls xmlns='" NS_TLS "'><required/>"            \
	"</starttls></stream:features>"
#define MECHS                                                                  \
	"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>"     \
	"PLAIN</mechanism></mechanisms>"
#define FEAT_TLS_MECHS                                                         \
	"<stream:features><starttls xmlns='" NS_TLS "'><required/>"            \
	"</starttls>" MECHS "</stream:features>"
#define FEAT_MECHS "<stream:features>" MECHS "</stream:features>"
#define MSG_C2S                                                                \
	"<message to='b@example.org' type='chat' id='m1'><body>hello "         \
	"&amp; bye</body></message>"
#define MSG_S2C                                                                \
	"<message from='b@example.org' type='chat' id='m2'><body>back"         \
	"</body></message>"
#define INJECTED                                                               \
	"<message to='b@example.org' id='inj'><body>injected</body>"           \
	"</message>"
#define CLOSE "</stream:stream>"
/* Resource binding, and the JID the session then knows. */
#define BOUND_JID "alice@example.org/r1"
#define BIND_SET                                                               \
	"<iq type='set' id='bind1'><bind "                                     \
	"xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r1</resource>"     \
	"</bind></iq>"
#define BIND_RESULT                                                            \
	"<iq type='result' id='bind1'><bind "                                  \
	"xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" BOUND_JID             \
	"</jid></bind></iq>"

struct config;
struct events;
struct session;
struct smack_table;

struct sesstest {
	struct event_base *base;
	struct config *cfg;
	struct events *events;
	char events_path[PATH_MAX]; /* the JSON event log, removed at _fini */
	struct bufferevent *client; /* the test's client end; NULL once gone */
	struct bufferevent *server; /* the test's server end; NULL once gone */
	struct bufferevent *up_inner; /* borrowed: the session's upstream end */
	struct bufferevent *c_inner;  /* borrowed: the session's client end */
	struct session *s;            /* frees itself; see freed */
	int freed;                    /* the session said it is freed */
	struct tlspeer *ctls, *stls;  /* owned: the test's TLS, or NULL */
	/* what the waits wait for */
	struct evbuffer *w_buf;
	const char *w_str;
	size_t w_len;
	struct tlspeer *w_peer;
};

/*
 * A session between two fresh pairs, id "t.1", client "127.0.0.1:4000",
 * with a config parsed from JSON: the one listener 127.0.0.1:5222 and the
 * upstream 127.0.0.1:15222 get the keys listen and upstream ("" for none),
 * the printf-formatted more adds top-level members ("" for none), and the
 * harness adds the JSON event log (redacted). The config's filter chain is
 * built (filters[]), and the session runs it. Exits 99 when the config, its
 * TLS files or its filters are refused.
 */
void sesstest_init(struct sesstest *, const char *listen, const char *upstream,
    const char *more, ...) __attribute__((format(printf, 4, 5)));
/* sesstest_init() with more logs: logs is JSON objects (comma-separated,
 * "" for none) that follow the harness' own event log in "logs". */
void sesstest_init_logs(struct sesstest *, const char *logs,
    const char *listen, const char *upstream, const char *more, ...)
    __attribute__((format(printf, 5, 6)));
/*
 * sesstest_init() for a session that parks its stream management state in
 * smtab when it ends, and resumes from it (borrowed: the test owns it and
 * may hand it to the next session).
 */
void sesstest_init_sm(struct sesstest *, struct smack_table *smtab,
    const char *listen, const char *upstream, const char *more, ...)
    __attribute__((format(printf, 5, 6)));
/*
 * Ends both far ends still there the way a socket close would (EOF, then
 * gone), waits until the session is freed and its events are written, and
 * frees everything, the event log file too.
 */
void sesstest_fini(struct sesstest *);
/*
 * Closes one far end (&t->client or &t->server, NULL after) the way a
 * socket close would: EOF, then gone (a pair end freed without
 * BEV_FINISHED tells its partner nothing).
 */
void sesstest_hang_up(struct bufferevent **bevp);

/* Runs the loop (and the test's TLS) until pred holds or seconds pass.
 * Returns pred's last answer. */
int sesstest_run_until(
    struct sesstest *, int (*pred)(struct sesstest *), double seconds);
/* Runs the loop for a tenth of a second: lets what is in flight land. */
void sesstest_settle(struct sesstest *);
/* Whether the session is freed; a predicate for sesstest_run_until(). */
int sesstest_freed(struct sesstest *);
/* Waits up to 5 s for p's handshake to finish or fail; returns p->up. */
int sesstest_wait_tls(struct sesstest *, struct tlspeer *p);
/* Waits up to 5 s until the bytes s (len) are in b; true when they came. */
int sesstest_wait_bytes(
    struct sesstest *, struct evbuffer *b, const char *s, size_t len);
/* sesstest_wait_bytes() for a string. */
int sesstest_wait_for(struct sesstest *, struct evbuffer *b, const char *s);

/*
 * A barrier through the session: from (t->client or t->server) sends a
 * whitespace keepalive, which the session relays as it is once it has
 * handled everything from sent before it; waits up to 5 s for it at to,
 * the other end. Returns everything to read before the keepalive, which is
 * taken off (xmalloc'd); when it never comes, everything to read, with a
 * diagnostic. So "to got exactly this, and nothing more" needs no sleep.
 */
char *sesstest_through(
    struct sesstest *, struct bufferevent *from, struct bufferevent *to);

/* What the test's client and server ends have read. */
struct evbuffer *sesstest_c_in(struct sesstest *);
struct evbuffer *sesstest_s_in(struct sesstest *);
/* Everything in b as an xmalloc'd string (NUL-terminated; *lenp, when not
 * NULL, gets the length). */
char *sesstest_take_buf(struct evbuffer *b, size_t *lenp);
/* Everything bev has read, as for sesstest_take_buf(). */
char *sesstest_take(struct bufferevent *bev);
void sesstest_send(struct bufferevent *bev, const char *s);
/* How many times needle occurs in s. */
int sesstest_count(const char *s, const char *needle);

#endif
