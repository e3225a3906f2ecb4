/* SPDX-License-Identifier: ISC */
/*
 * The configuration: loaded from JSON (cJSON), validated whole, table-driven.
 * An error names the JSON path and the reason ("limits.max_stanza_bytes: must
 * be at least 10000"); unknown keys are errors. A config is immutable once
 * loaded and shared by reference: sessions hold the one they started with.
 */
#ifndef XMPPGATE_CONFIG_H
#define XMPPGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tlsctx;
struct filter_chain;
struct netmatch;

enum config_tls {
	CONFIG_TLS_NONE,
	CONFIG_TLS_STARTTLS,
	CONFIG_TLS_DIRECT,
	CONFIG_TLS_PASSTHROUGH,
};

enum config_log_type {
	CONFIG_LOG_JSON,    /* JSON-lines events to a file or stdout */
	CONFIG_LOG_CONSOLE, /* live human-readable trace */
	CONFIG_LOG_RECORD,  /* one JSON-lines file per session in a dir */
};

enum config_filter_type {
	CONFIG_FILTER_REGEX,  /* built-in PCRE2 rules (filters/filter_regex.c) */
	CONFIG_FILTER_PLUGIN, /* a shared object (filters/xmppgate/plugin.h) */
};

/* What a regex rule does with a stanza it matches. */
enum config_action {
	CONFIG_ACTION_LOG,     /* record the match; the stanza passes */
	CONFIG_ACTION_REWRITE, /* substitute the matched text everywhere */
	CONFIG_ACTION_DROP,    /* forward nothing */
	CONFIG_ACTION_BOUNCE,  /* drop, answer the sender with an error */
	CONFIG_ACTION_CLOSE,   /* end the session with policy-violation */
};

/* Directions a filter applies to: a bit set. */
#define CONFIG_DIR_C2S 0x1
#define CONFIG_DIR_S2C 0x2

/* A regex rule's conditions; every list is NULL-terminated, owned, and NULL
 * when the key is absent (no condition). */
struct config_filter_match {
	char **stanza;	    /* "message", "presence", "iq" */
	char **type;	    /* stanza types, "normal"/"available" included */
	char **from;	    /* JID patterns */
	char **to;
	char **session_jid;
	char **has;	    /* "ns" or "{ns}name" */
	char **attributes;  /* extra attribute names whose values are text */
	char *text;	    /* owned or NULL: the PCRE2 pattern */
};

struct config_filter {
	char *name; /* owned; unique; "filters[N]" when not given */
	enum config_filter_type type;
	unsigned dirs; /* CONFIG_DIR_* */
	bool dry_run;
	/* regex */
	enum config_action action;
	struct config_filter_match match;
	char *replace; /* owned or NULL: rewrite only */
	char *reason;  /* owned or NULL: text of bounce and close errors */
	/* plugin */
	char *path;	     /* owned or NULL */
	char *plugin_config; /* owned: JSON text of "config", or NULL */
};

struct config_listen {
	char *address; /* owned; "ADDR:PORT" or "[V6]:PORT" */
	enum config_tls tls;
	bool tls_required;
	/* Transparent mode: each client goes to its original destination
	 * (REDIRECT, TPROXY) instead of upstream.address. */
	bool transparent;
	struct {
		struct netmatch *v; /* owned array; NULL: any destination */
		size_t n;
	} allow; /* transparent_allow */
	/* PROXYPROTO_* bits: the header versions taken; 0: none */
	unsigned proxy_protocol;
};

struct config_log {
	enum config_log_type type;
	char *path; /* owned; json: NULL or "-" means stdout */
	bool redact;
	/* record: the directory and its limits (sink_record.c) */
	char *dir; /* owned; NULL for the other types */
	unsigned max_files;
	size_t max_bytes;
	size_t max_file_bytes;
};

struct config {
	int refs;
	struct config_listen *listen; /* owned array */
	size_t nlisten;
	struct {
		char *address; /* owned; "HOST:PORT", NULL until set */
		enum config_tls tls;
		bool verify;
		char *ca_file;	   /* owned or NULL */
		char *server_name; /* owned or NULL */
		int proxy_protocol; /* PROXY header sent first: 1, 2, 0 none */
	} upstream;
	struct {
		char *cert;	    /* owned or NULL: chain, leaf first */
		char *key;	    /* owned or NULL */
		char *ca_cert;	    /* owned or NULL: forge per domain */
		char *ca_key;	    /* owned or NULL */
		int min_version;    /* TLS1_2_VERSION or TLS1_3_VERSION */
		char *ciphers;	    /* owned or NULL: TLS 1.2 list */
		char *ciphersuites; /* owned or NULL: TLS 1.3 list */
	} tls;
	/* Built by config_tls_load() from the keys above; owned. */
	struct tlsctx *tls_server; /* toward clients, NULL without cert */
	struct tlsctx *tls_client; /* toward the upstream, NULL for none */
	struct {
		size_t max_stanza_bytes;
		/* until the client authenticated, both legs */
		size_t preauth_stanza_bytes;
		unsigned max_sessions;
		unsigned connect_timeout_s;
		unsigned handshake_timeout_s;
		unsigned idle_timeout_s;
		unsigned proxy_header_timeout_s; /* PROXY header after accept */
		unsigned shutdown_grace_s; /* SIGTERM: sessions' last flush */
		unsigned regex_match_limit; /* PCRE2 match limit per pattern */
		unsigned regex_depth_limit; /* PCRE2 backtracking depth */
		/* Per client address (IPv4, IPv6 /64), checked at accept:
		 * new connections per interval (0: no limit) with a burst,
		 * and sessions open at once (0: no limit). */
		unsigned connections_per_ip;
		unsigned connections_interval_s;
		unsigned connections_burst;
		unsigned sessions_per_ip;
	} limits;
	struct config_filter *filters; /* owned array, chain order */
	size_t nfilters;
	bool dry_run; /* every filter only records what it would do */
	/* Built by config_filters_load() from filters; owned. */
	struct filter_chain *chain;
	struct config_log *logs; /* owned array */
	size_t nlogs;
	/* The HTTP endpoint for Prometheus and health checks (metrics_http.h);
	 * changes take effect at restart, like listeners. */
	struct {
		char *address;     /* owned or NULL (none): "ADDR:PORT" */
		bool allow_remote; /* address may be other than loopback */
	} metrics;
	/* The operator log (log.h), not the events. */
	struct {
		bool syslog;  /* syslog(3) instead of stderr */
		int facility; /* LOG_DAEMON, ... */
	} log;
	/* How the process runs (privs.c, workers.c): read at start only; a
	 * reload keeps the running values. */
	struct {
		char *user;	  /* owned or NULL: stay who started it */
		char *group;	  /* owned or NULL: the user's login group */
		char *chroot;	  /* owned or NULL */
		bool allow_root;  /* keep running as root */
		unsigned workers; /* 0: one process; N: supervisor + N */
		/* user and group as ids, set by privs_load() */
		uid_t uid;
		gid_t gid;
	} process;
};

#define CONFIG_DEFAULT_MAX_STANZA_BYTES 262144
#define CONFIG_DEFAULT_SHUTDOWN_GRACE_S 8
#define CONFIG_MAX_WORKERS 128
#define CONFIG_MIN_STANZA_BYTES 10000 /* RFC 6120 13.12 floor */
/* Before authentication: ejabberd's figure. A SCRAM or PLAIN exchange and
 * Prosody's features take well under 2 KiB an element. */
#define CONFIG_DEFAULT_PREAUTH_STANZA_BYTES 8192
#define CONFIG_MIN_PREAUTH_STANZA_BYTES 4096
/* PCRE2's own defaults are 10 million steps and a depth of 10 million: far
 * more than any sane rule needs on one stanza, and seconds of CPU for a
 * hostile one. */
#define CONFIG_DEFAULT_REGEX_MATCH_LIMIT 1000000
#define CONFIG_DEFAULT_REGEX_DEPTH_LIMIT 10000
/* Recordings: days of a small server's sessions, a bound on the disk a busy
 * one can fill, and hours of one chatty session. */
#define CONFIG_DEFAULT_RECORD_MAX_FILES 10000
#define CONFIG_DEFAULT_RECORD_MAX_BYTES ((size_t)1 << 30)
#define CONFIG_DEFAULT_RECORD_MAX_FILE_BYTES ((size_t)64 << 20)

/* A config holding only defaults (no listener, no upstream). */
struct config *config_new(void);
/*
 * Parses and validates JSON text over defaults. Returns NULL and sets *err
 * (xmalloc'd, "path: reason") on any error; several errors come one per line,
 * invalid JSON as "line L, column C: invalid JSON ...". err may be NULL.
 */
struct config *config_parse(const char *json, char **err);
/* Reads and parses a file; a read error is reported as "FILE: reason". */
struct config *config_load(const char *path, char **err);
/*
 * Command-line overrides (-l, -u). Return -1 and set *err on bad input
 * ("-l ADDR: reason"). Only on a config nobody else holds yet (refs == 1).
 */
int config_add_listen(struct config *, const char *address, char **err)
    __attribute__((warn_unused_result));
int config_set_upstream(struct config *, const char *address, char **err)
    __attribute__((warn_unused_result));
/* Drops every listener, so that -l replaces the file's list. */
void config_clear_listen(struct config *);
/* Final check before running: a listener and an upstream exist. */
int config_check(const struct config *, char **err)
    __attribute__((warn_unused_result));

/*
 * Loads the certificates and keys and builds the TLS contexts the listeners
 * and the upstream need (config_tls.c). Errors name the JSON path of the
 * file that failed ("tls.cert: server.pem: No such file or directory").
 */
int config_tls_load(struct config *, char **err)
    __attribute__((warn_unused_result));
/*
 * Builds the filter chain from filters[] (compiles the patterns, loads the
 * plugins: config_filters.c). Errors name the JSON path
 * ("filters[1].path: ./x.so: cannot open shared object file").
 */
int config_filters_load(struct config *, char **err)
    __attribute__((warn_unused_result));
/*
 * Checks what the logs need from the file system: each record directory
 * exists and is writable (config_logs.c). Errors name the JSON path
 * ("logs[1].dir: /var/lib/x: No such file or directory").
 */
int config_logs_load(const struct config *, char **err)
    __attribute__((warn_unused_result));
/* Frees what one listener entry owns (not the entry). */
void config_listen_fini(struct config_listen *);
/* Copies a listener entry, with copies of what it owns. */
void config_listen_copy(
    struct config_listen *dst, const struct config_listen *src);
/* The metrics endpoint's port when only a port is given: on loopback. */
#define CONFIG_METRICS_DEFAULT_HOST "127.0.0.1"

/* Whether any listener terminates TLS (starttls or direct). */
bool config_terminates_tls(const struct config *);

struct config *config_ref(struct config *);
void config_unref(struct config *); /* NULL is a no-op */

const char *config_tls_str(enum config_tls);
const char *config_log_type_str(enum config_log_type);
const char *config_action_str(enum config_action);

#endif
