/* SPDX-License-Identifier: ISC */
/*
 * The tables that describe the config file, and the small machinery they run
 * on. Each JSON object of the config has one table of keys (name, JSON type,
 * required, validator, destination or handler); config.c walks a cJSON tree
 * against the tables, which live with their key-specific validators in
 * config_keys.c (the root and most objects), config_net.c (listen[],
 * upstream, tls) and config_filters.c (filters[]). Private to those files and
 * their unit tests: the rest of the daemon only sees the struct config of
 * config.h.
 */
#ifndef XMPPGATE_CONFIG_KEYS_H
#define XMPPGATE_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "config.h"

/* At most this many errors are reported for one file; then a summary. */
#define CONFIG_MAX_ERRORS 20
/* Far more than any deployment needs, and it keeps the checks cheap. */
#define CONFIG_MAX_LISTEN 256
#define CONFIG_MAX_LOGS 64
#define CONFIG_MAX_FILTERS 4096

/* The state of one validation: where in the JSON we are, what went wrong. */
struct config_ctx {
	struct buf path;   /* owned; "listen[1].address" while inside it */
	struct buf errors; /* owned; "path: reason" lines, '\n'-separated */
	unsigned nerrors;
	struct config *cfg; /* borrowed; the config being built */
};

/* The JSON type a key must have; the walker checks it before anything else. */
enum config_key_type {
	CONFIG_KEY_STRING,         /* char * at offset, xstrdup'd */
	CONFIG_KEY_STRING_OR_NULL, /* same; JSON null leaves it NULL */
	CONFIG_KEY_BOOL,           /* bool at offset */
	CONFIG_KEY_UINT,           /* unsigned at offset, in [min, max] */
	CONFIG_KEY_SIZE,           /* size_t at offset, in [min, max] */
	CONFIG_KEY_OBJECT,         /* walked with sub, base at offset */
	CONFIG_KEY_ARRAY,          /* array of sub objects at offset/count */
	CONFIG_KEY_STRINGS,        /* a string or an array of strings: a
	                            * NULL-terminated char ** at offset */
	CONFIG_KEY_JSON,           /* any value, kept as its JSON text */
};

struct config_table;

/*
 * One key of one JSON object. validate (optional) looks at the type-checked
 * item and reports problems; apply (optional) replaces the default store
 * (used for enum strings and for arrays with their own rules). Both return
 * 0, or -1 after calling config_error().
 */
struct config_key {
	const char *name;
	enum config_key_type type;
	bool required;
	int (*validate)(struct config_ctx *, const cJSON *item);
	int (*apply)(struct config_ctx *, const cJSON *item, void *dst);
	size_t offset;       /* destination within the object's struct */
	size_t count_offset; /* ARRAY: the size_t element count */
	long long min, max;  /* UINT, SIZE: value; ARRAY: max elements */
	const struct config_table *sub; /* OBJECT, ARRAY */
};

/* The keys of one kind of JSON object. */
struct config_table {
	const struct config_key *keys;
	size_t nkeys;
	size_t elem_size;        /* ARRAY elements: struct size */
	void (*init)(void *obj); /* ARRAY elements: set defaults */
	/*
	 * Cross-key rules, run once every key of the object was applied
	 * without error; seen has bit i set when keys[i] was given.
	 */
	void (*check)(struct config_ctx *, void *obj, unsigned long long seen);
};

extern const struct config_table config_root_table;
/* One element of listen[], and the upstream and tls objects (config_net.c). */
extern const struct config_table config_listen_table;
extern const struct config_table config_upstream_table;
extern const struct config_table config_tls_table;
/* One element of filters[] (config_filters.c). */
extern const struct config_table config_filter_table;

/* Records "path: reason" for the current path. Always returns -1. */
int config_error(struct config_ctx *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Records "path.key: reason": a key of the object being checked. */
void config_key_error(struct config_ctx *, const char *key, const char *reason);
/* A validator: empty strings for file names and the like are always a
 * mistake. */
int config_validate_nonempty(struct config_ctx *, const cJSON *item);
/* Path steps: each returns a mark that config_path_pop() goes back to. */
size_t config_path_push_key(struct config_ctx *, const char *key);
size_t config_path_push_index(struct config_ctx *, size_t index);
void config_path_pop(struct config_ctx *, size_t mark);

/* Walks a JSON object against a table, storing into obj. */
void config_walk_object(struct config_ctx *, const cJSON *json,
    const struct config_table *, void *obj);
/* Whether the key called name was given, for a table's check. */
bool config_key_seen(
    const struct config_table *, unsigned long long seen, const char *name);
/* "a string", "an array", ... for "expected X, got Y" messages. */
const char *config_json_type_str(const cJSON *);
/*
 * Copies s into out for an error message: printable ASCII only (others become
 * '?'), cut with "..." when longer than out. Returns out.
 */
const char *config_printable(const char *s, char *out, size_t outlen);

/* Address rules shared by the file and the command line (-l, -u). */
int config_check_listen_address(const char *, const char **errstr)
    __attribute__((warn_unused_result));
int config_check_upstream_address(const char *, const char **errstr)
    __attribute__((warn_unused_result));
/* Whether two valid listen addresses name the same socket address. */
int config_same_listen_address(const char *, const char *);
/* The root's rules for listen[]: each listener's TLS mode against tls and
 * upstream, and no two listeners on one address. */
void config_check_listeners(struct config_ctx *, const struct config *);

/* Defaults of one listener / one log, shared by the file and -l. */
void config_listen_init(void *listen);
void config_log_init(void *log);
void config_filter_init(void *filter);
/* Frees what one filter entry owns (not the entry). */
void config_filter_fini(struct config_filter *);
/* Frees a CONFIG_KEY_STRINGS list; NULL is a no-op. */
void config_strings_free(char **);

#endif
