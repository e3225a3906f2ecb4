/* SPDX-License-Identifier: ISC */
/*
 * The observability endpoint: a small HTTP server (libevent's evhttp) that
 * answers GET /metrics with the counters of metrics.h in the Prometheus
 * text format and GET /health (or /healthz) with 200 "ok" while the proxy
 * accepts sessions and 503 once it shuts down. Any other path is 404, any
 * other method on these paths 405 (HEAD is GET without the body). It is
 * bounded: few connections at once (more wait in the listen backlog), a
 * small request, an idle timeout and a lifetime per connection, one
 * request per connection. It has no authentication: the config keeps it on
 * loopback unless told otherwise.
 */
#ifndef XMPPGATE_METRICS_HTTP_H
#define XMPPGATE_METRICS_HTTP_H

#include <event2/event.h>

/* Connections served at once; the listener pauses at this many. */
#define METRICS_HTTP_MAX_CONNS 8
/* A connection that sends nothing this long is closed. */
#define METRICS_HTTP_IDLE_S 5
/* A connection is closed this long after it was accepted, whatever it does. */
#define METRICS_HTTP_LIFETIME_S 10
/* Request line and headers; a bigger request gets an error. */
#define METRICS_HTTP_MAX_HEADERS 8192
#define METRICS_HTTP_MAX_BODY 1024

struct metrics_http;

/*
 * Listens on address ("ADDR:PORT" or "[V6]:PORT", numeric) and serves on
 * base. NULL with *err ("ADDR: cannot listen: ...") on failure.
 */
struct metrics_http *metrics_http_new(
    struct event_base *, const char *address, char **err);
/* Closes the listener and every connection. NULL is a no-op. */
void metrics_http_free(struct metrics_http *);

#endif
