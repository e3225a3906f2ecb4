/* SPDX-License-Identifier: ISC */
/*
 * Reading a recording: a JSON-lines file in xmppgate's event schema, either
 * one session written by the record logger (each line with offset_s) or any
 * events.jsonl with xml fields, sessions possibly interleaved. It keeps the
 * events of one session that replay needs (stream headers, elements of both
 * directions parsed into trees, auth, bind, open and close) with their line
 * numbers and time offsets. It refuses a file with a broken line, naming the
 * line, and never guesses. It does not decide what is replayed: that is
 * expect.c.
 */
#ifndef XMPPGATE_REPLAY_RECORDING_H
#define XMPPGATE_REPLAY_RECORDING_H

#include <stdbool.h>
#include <stddef.h>

#include "stanza.h"
#include "xnode.h"

/* The largest line (and element) read: the proxy's stanza limit ceiling. */
#define RECORDING_MAX_LINE (16u * 1024 * 1024 + 65536)

enum recording_kind {
	RECORDING_SESSION_OPEN,
	RECORDING_STREAM_OPEN,
	RECORDING_ELEMENT, /* a depth-1 element: stanza or nonza */
	RECORDING_STREAM_CLOSE,
	RECORDING_AUTH,
	RECORDING_BIND,
	RECORDING_SESSION_CLOSE,
};

enum recording_dir {
	RECORDING_NODIR,
	RECORDING_C2S,
	RECORDING_S2C,
};

struct recording_event {
	enum recording_kind kind;
	enum recording_dir dir;
	unsigned long line; /* 1-based line of the file */
	double offset;      /* seconds since the session's first event */
	struct xnode *el;   /* ELEMENT: "xml", as forwarded; owned */
	struct xnode *orig; /* ELEMENT: "original_xml" when rewritten; owned */
	enum stanza_kind skind; /* ELEMENT: message, presence, iq or nonza */
	bool by_proxy; /* ELEMENT: "by": "proxy", injected by xmppgate */
	char *verdict; /* ELEMENT: owned, NULL when absent */
	char *text;    /* BIND: the JID; AUTH: the mechanism; owned */
	bool failed;   /* AUTH: outcome was not success */
};

struct recording {
	char *path;                 /* owned */
	char *session;              /* owned: the session id */
	struct recording_event *ev; /* owned array, file order */
	size_t nev;
	const char
	    *jid;      /* the bound full JID (first bind); borrowed, or NULL */
	size_t bind;   /* index of that bind event; nev when none */
	char *domain;  /* owned: the first c2s stream 'to', or NULL */
	size_t nlines; /* lines in the file */
};

/*
 * Reads path and keeps the events of session (NULL: the file's only
 * session). Every line is checked, whatever its session: a line that is not
 * a JSON object, lacks event/session/ts (or offset_s), has a bad dir, or an
 * xml field that is not exactly one well-formed element is an error naming
 * path and line. More than one session without a choice, or an unknown
 * session, is an error listing the ids. Returns NULL with *err (free it).
 */
struct recording *recording_load(const char *path, const char *session,
    char **err) __attribute__((warn_unused_result));
void recording_free(struct recording *);

/*
 * Parses xml, one depth-1 element as it appears inside a client stream
 * (jabber:client is the default namespace, "stream" the streams prefix).
 * Returns the tree, or NULL with *err (free it) when xml is not exactly one
 * well-formed element, possibly surrounded by whitespace.
 */
struct xnode *recording_parse_element(const char *xml, size_t len, char **err)
    __attribute__((warn_unused_result));

/* The element a recorded c2s element was sent as: original, else xml. */
const struct xnode *recording_sent(const struct recording_event *);
/* The element the server sent (s2c): original_xml, else xml. */
const struct xnode *recording_server_sent(const struct recording_event *);
/* type, or the RFC 6121 default ("normal", "available"); "" for iq. */
const char *recording_type(const struct xnode *el);
/* The first child element of el (the payload), or NULL. */
const struct xnode *recording_payload(const struct xnode *el);
const char *recording_dir_str(enum recording_dir);

/*
 * Parses an RFC 3339 timestamp ("2026-11-25T07:18:25.465343Z", or with a
 * numeric offset) into seconds since the epoch. Returns -1 when malformed.
 */
int recording_parse_ts(const char *s, double *out);

#endif
