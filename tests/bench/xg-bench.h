/* SPDX-License-Identifier: ISC */
/*
 * Shared by the parts of xg-bench: the byte strings of the tiny XMPP dialogue
 * between the bench clients and the sink, the streaming checksum, the
 * depth-1 element counter, the generated stanza pool, and small helpers.
 * Nothing here is shared with xmppgate itself: the benchmark must not trust
 * the code it measures.
 */
#ifndef XG_BENCH_H
#define XG_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#define BENCH_DOMAIN "localhost" /* the stream 'to', SNI, certificate name */
#define NS_XMPP_STREAMS "http://etherx.jabber.org/streams"
#define CLIENT_HDR                                                             \
	"<?xml version='1.0'?><stream:stream to='localhost' "                  \
	"xmlns='jabber:client' xmlns:stream='" NS_XMPP_STREAMS                 \
	"' version='1.0'>"
#define SERVER_HDR_FMT                                                         \
	"<?xml version='1.0'?><stream:stream from='localhost' id='%s' "        \
	"xmlns='jabber:client' xmlns:stream='" NS_XMPP_STREAMS                 \
	"' version='1.0' xml:lang='en'>"
#define FEATURES_SASL                                                          \
	"<stream:features><mechanisms "                                        \
	"xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"            \
	"</mechanism></mechanisms></stream:features>"
#define FEATURES_BIND                                                          \
	"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"    \
	"</stream:features>"
/* PLAIN: authzid "", authcid "bench", password "bench". */
#define AUTH_PLAIN                                                             \
	"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"    \
	"AGJlbmNoAGJlbmNo</auth>"
#define SASL_SUCCESS "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
#define BIND_FMT                                                               \
	"<iq type='set' id='bind_1'><bind "                                    \
	"xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>%s</resource>"     \
	"</bind></iq>"
#define BIND_RESULT_FMT                                                        \
	"<iq type='result' id='bind_1'><bind "                                 \
	"xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>bench@localhost/%s"     \
	"</jid></bind></iq>"
/* The sink recognises this by the bytes right after '<' at depth 1. */
#define STATS_MARK "iq id='xg-stats'"
#define STATS_IQ                                                               \
	"<" STATS_MARK " type='get' to='localhost'><query "                    \
	"xmlns='urn:xg-bench:0'/></iq>"
#define STATS_RESULT_FMT                                                       \
	"<iq type='result' id='xg-stats' from='localhost'><stats "             \
	"xmlns='urn:xg-bench:0' bytes='%" PRIu64 "' stanzas='%" PRIu64         \
	"' hash='%" PRIx64 "' t0='%" PRId64 "' t1='%" PRId64 "'/></iq>"
#define STREAM_CLOSE "</stream:stream>"

#define IO_MAX (256 * 1024)    /* max single read/write of our endpoints */
#define FILL_HIGH (512 * 1024) /* client keeps this much queued to send */
#define CHUNK (32 * 1024)      /* stanzas are queued in runs of this size */
#define POOL_STANZAS 8192
#define IDLE_INFLIGHT 256 /* idle mode: sessions negotiating at once */
extern struct event_base *base;

void fail(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
int64_t now_ns(void);
void *xcalloc(size_t, size_t);
void set_nodelay(evutil_socket_t);
void tune_bev(struct bufferevent *);
int take_through(struct evbuffer *, const char *start, const char *end,
                 char *copy, size_t size);

/* Streaming, order-sensitive checksum (not cryptographic). */
struct xhash {
	uint64_t h[4];
	unsigned char tail[32];
	size_t ntail;
	uint64_t len;
};

void xhash_init(struct xhash *);
void xhash_update(struct xhash *, const void *, size_t);
uint64_t xhash_final(const struct xhash *);

/* Counter of depth-1 element ends (see scan_feed). */
enum scan_state { SCAN_TEXT, SCAN_LT, SCAN_STAG, SCAN_ETAG };
enum scan_done { SCAN_MORE, SCAN_STATS, SCAN_CLOSE };

struct scan {
	enum scan_state state;
	int depth;
	char prev; /* last byte seen inside the current start tag */
	char head[sizeof(STATS_MARK)]; /* first bytes of a depth-1 tag */
	size_t nhead;
	int in_stats;     /* the open depth-1 element is the stats IQ */
	uint64_t stanzas; /* depth-1 elements completed, stats excluded */
	int64_t t_last;   /* time of the read that completed the last */
};

size_t scan_feed(struct scan *, const char *, size_t, int64_t now,
                 enum scan_done *);

/* The generated client stream: POOL_STANZAS stanzas back to back. */
struct pool {
	char *buf; /* owned */
	size_t len, cap;
	size_t off[POOL_STANZAS + 1]; /* stanza i is buf[off[i]..off[i+1]) */
};

extern struct pool pool;
void pool_build(void);

/* The sink (xg-bench-sink.c). */
void sink_run(const struct sockaddr *, int socklen);

/* Connection setups per second (xg-bench-hs.c). */
void hs_run(const struct sockaddr *, int socklen, int conns, uint64_t limit,
            double secs);

/* Direct TLS, or plain TCP when not configured (xg-bench-tls.c). */
void btls_client_init(const char *cafile);
void btls_sink_init(const char *cert, const char *key);
int btls_client_on(void);
void btls_describe(struct bufferevent *, char *, size_t);
struct bufferevent *bench_bev_new(void);
void bench_bev_connect(struct bufferevent *, const struct sockaddr *, int);
struct bufferevent *bench_bev_accept(evutil_socket_t);
void bench_bev_close(struct bufferevent *);
const char *bench_bev_error(struct bufferevent *, short what);

#endif
