/* SPDX-License-Identifier: ISC */
/*
 * TLS in sessions, over bufferevent pairs with real TLS: the test plays the
 * client and the server on the far ends of two pairs with its own OpenSSL
 * objects on memory BIOs (not tlsio, so the proxy's TLS plumbing meets an
 * independent peer). Covers the proxy's local STARTTLS answer toward the
 * client and the exact plaintext/TLS boundary there (injected bytes,
 * whitespace, garbage, a client that skips STARTTLS); the proxy's own
 * STARTTLS toward the upstream with verification (success, <failure/>, a
 * wrong name, an untrusted certificate, bytes injected after <proceed/>);
 * passthrough (opaque, byte-exact, counted); direct TLS with ALPN. Every
 * certificate and key is made at run time in a temporary directory that is
 * removed at the end.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "config.h"
#include "events.h"
#include "session.h"
#include "xmalloc.h"

#include "../tap.h"

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
	"<message to='b@example.org' type='chat' id='m1'><body>hello "       \
	"&amp; bye</body></message>"
#define MSG_S2C                                                                \
	"<message from='b@example.org' type='chat' id='m2'><body>back"       \
	"</body></message>"
#define INJECTED                                                               \
	"<message to='b@example.org' id='inj'><body>injected</body>"          \
	"</message>"
#define CLOSE "</stream:stream>"

/* Certificates and keys, made in main(). */
static char dir[] = "/tmp/t-starttls.XXXXXX";
static char paths[32][PATH_MAX];
static int npaths;
static const char *ca_pem, *proxy_pem, *proxy_key, *up_pem, *up_key;
static const char *wrong_pem, *wrong_key, *self_pem, *self_key;
static SSL_CTX *client_ctx; /* the test client: trusts the test CA */
static SSL_CTX *up_ctx;	    /* the test server: example.org by the CA */
static SSL_CTX *wrong_ctx;  /* other.org by the CA */
static SSL_CTX *self_ctx;   /* example.org, self-signed */
static int ntest;

/* The test's TLS on one far end: an SSL over memory BIOs. */
struct peer {
	SSL *ssl;
	BIO *rb, *wb; /* borrowed from ssl */
	bool up;      /* handshake finished */
	bool failed;
	bool closed;  /* close_notify received */
	char err[256];
	struct evbuffer *plain; /* decrypted, not taken yet */
};

struct t {
	struct event_base *base;
	struct config *cfg;
	struct events *events;
	char events_path[PATH_MAX];
	struct bufferevent *client; /* the test's client end */
	struct bufferevent *server; /* the test's server end */
	struct session *s;
	int freed;
	struct peer *ctls, *stls; /* TLS on the client/server end, or NULL */
	/* what wait_for() waits for */
	struct evbuffer *w_buf;
	const char *w_str;
	size_t w_len;
};

/* A path in the test directory, remembered for the cleanup. */
static const char *
tpath(const char *name)
{
	char *p = paths[npaths++];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
		fprintf(stderr, "extension %d=%s failed\n", nid, value);
		exit(99);
	}
	X509_EXTENSION_free(ext);
}

/* A certificate for cn (a CA when san is NULL) signed by issuer/ikey, or
 * self-signed when issuer is NULL. */
static X509 *
mkcert(const char *cn, const char *san, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *ikey, long serial)
{
	X509 *x = X509_new();
	char b[300];

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 2L * 24 * 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x,
	    X509_get_subject_name(issuer != NULL ? issuer : x));
	X509_set_pubkey(x, key);
	if (issuer == NULL) {
		issuer = x;
		ikey = key;
	}
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (san == NULL) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		snprintf(b, sizeof(b), "DNS:%s", san);
		add_ext(x, issuer, NID_subject_alt_name, b);
		add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		if (issuer != x)
			add_ext(x, issuer, NID_authority_key_identifier,
			    "keyid");
	}
	if (X509_sign(x, ikey, EVP_sha256()) == 0) {
		fprintf(stderr, "signing %s failed\n", cn);
		exit(99);
	}
	return x;
}

/* Writes a leaf (and its issuer when not NULL) as one PEM file. */
static void
write_certs(const char *path, X509 *leaf, X509 *issuer)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		exit(99);
	PEM_write_X509(f, leaf);
	if (issuer != NULL)
		PEM_write_X509(f, issuer);
	fclose(f);
}

static void
write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		exit(99);
	PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(path, 0600);
}

static SSL_CTX *
server_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "server context %s failed\n", cert);
		exit(99);
	}
	return ctx;
}

/* The CA, the proxy's certificate, the upstream's good, wrong-name and
 * self-signed ones, and the test's own contexts. */
static void
make_certs(void)
{
	EVP_PKEY *cakey, *pkey, *ukey, *wkey, *skey;
	X509 *ca, *px, *ux, *wx, *sx;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	cakey = EVP_EC_gen("P-256");
	pkey = EVP_EC_gen("P-256");
	ukey = EVP_EC_gen("P-256");
	wkey = EVP_EC_gen("P-256");
	skey = EVP_EC_gen("P-256");
	if (!cakey || !pkey || !ukey || !wkey || !skey)
		exit(99);
	ca = mkcert("xmppgate test CA", NULL, cakey, NULL, NULL, 1);
	px = mkcert("xmppgate example.org", "example.org", pkey, ca, cakey, 2);
	ux = mkcert("upstream example.org", "example.org", ukey, ca, cakey, 3);
	wx = mkcert("upstream other.org", "other.org", wkey, ca, cakey, 4);
	sx = mkcert("self example.org", "example.org", skey, NULL, NULL, 5);
	write_certs(ca_pem = tpath("ca.pem"), ca, NULL);
	write_certs(proxy_pem = tpath("proxy.pem"), px, ca);
	write_key(proxy_key = tpath("proxy.key"), pkey);
	write_certs(up_pem = tpath("up.pem"), ux, ca);
	write_key(up_key = tpath("up.key"), ukey);
	write_certs(wrong_pem = tpath("wrong.pem"), wx, ca);
	write_key(wrong_key = tpath("wrong.key"), wkey);
	write_certs(self_pem = tpath("self.pem"), sx, NULL);
	write_key(self_key = tpath("self.key"), skey);
	X509_free(ca);
	X509_free(px);
	X509_free(ux);
	X509_free(wx);
	X509_free(sx);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(ukey);
	EVP_PKEY_free(wkey);
	EVP_PKEY_free(skey);

	client_ctx = SSL_CTX_new(TLS_client_method());
	if (client_ctx == NULL ||
	    SSL_CTX_load_verify_locations(client_ctx, ca_pem, NULL) != 1)
		exit(99);
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
	up_ctx = server_ctx(up_pem, up_key);
	wrong_ctx = server_ctx(wrong_pem, wrong_key);
	self_ctx = server_ctx(self_pem, self_key);
}

static void
remove_certs(void)
{
	int i;

	SSL_CTX_free(client_ctx);
	SSL_CTX_free(up_ctx);
	SSL_CTX_free(wrong_ctx);
	SSL_CTX_free(self_ctx);
	for (i = 0; i < npaths; i++)
		unlink(paths[i]);
	rmdir(dir);
}

/* ---- the test's TLS peers ---- */

/*
 * A client (sni and alpn may be NULL; alpn in wire format) or server SSL on
 * memory BIOs. A client verifies the proxy's certificate for sni.
 */
static struct peer *
peer_new(SSL_CTX *ctx, bool client, const char *sni,
    const unsigned char *alpn, unsigned alpn_len)
{
	struct peer *p = xcalloc(1, sizeof(*p));
	char name[256];

	p->ssl = SSL_new(ctx);
	p->rb = BIO_new(BIO_s_mem());
	p->wb = BIO_new(BIO_s_mem());
	p->plain = evbuffer_new();
	if (p->ssl == NULL || p->rb == NULL || p->wb == NULL ||
	    p->plain == NULL)
		exit(99);
	BIO_set_mem_eof_return(p->rb, -1);
	SSL_set_bio(p->ssl, p->rb, p->wb);
	if (!client) {
		SSL_set_accept_state(p->ssl);
		return p;
	}
	SSL_set_connect_state(p->ssl);
	/* SSL_set_tlsext_host_name casts its argument to void *: a copy */
	snprintf(name, sizeof(name), "%s", sni != NULL ? sni : "");
	if (sni != NULL && (SSL_set_tlsext_host_name(p->ssl, name) != 1 ||
	    SSL_set1_host(p->ssl, sni) != 1))
		exit(99);
	if (alpn != NULL && SSL_set_alpn_protos(p->ssl, alpn, alpn_len) != 0)
		exit(99);
	return p;
}

static void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	SSL_free(p->ssl);
	evbuffer_free(p->plain);
	free(p);
}

/* Moves what OpenSSL wrote to out. */
static void
peer_flush(struct peer *p, struct evbuffer *out)
{
	char b[4096];
	int n;

	while ((n = BIO_read(p->wb, b, sizeof(b))) > 0)
		evbuffer_add(out, b, (size_t)n);
}

static void
peer_fail(struct peer *p, const char *what, int r)
{
	unsigned long e = ERR_peek_last_error();
	char reason[200];

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "SSL error %d",
		    SSL_get_error(p->ssl, r));
	snprintf(p->err, sizeof(p->err), "%s: %s", what, reason);
	p->failed = true;
	ERR_clear_error();
}

/* A client's first flight (the ClientHello) into out. */
static void
peer_hello(struct peer *p, struct evbuffer *out)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(p->ssl);
	if (r != 1 && SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_READ)
		peer_fail(p, "hello", r);
	peer_flush(p, out);
}

/* Feeds what bev read to OpenSSL: the handshake, then decrypted bytes. */
static void
peer_pump(struct peer *p, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char b[4096];
	int n, r, e;

	if (p->failed)
		return;
	ERR_clear_error();
	while ((n = evbuffer_remove(in, b, sizeof(b))) > 0)
		if (BIO_write(p->rb, b, n) != n)
			exit(99);
	if (!p->up) {
		r = SSL_do_handshake(p->ssl);
		if (r == 1)
			p->up = true;
		else if (SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_READ)
			peer_fail(p, "handshake", r);
	}
	if (p->up && !p->closed) {
		while ((r = SSL_read(p->ssl, b, sizeof(b))) > 0)
			evbuffer_add(p->plain, b, (size_t)r);
		e = SSL_get_error(p->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN)
			p->closed = true;
		else if (e != SSL_ERROR_WANT_READ)
			peer_fail(p, "read", r);
	}
	peer_flush(p, bufferevent_get_output(bev));
	ERR_clear_error();
}

static void
peer_send(struct peer *p, struct bufferevent *bev, const char *s)
{
	size_t w;

	ERR_clear_error();
	if (SSL_write_ex(p->ssl, s, strlen(s), &w) != 1)
		peer_fail(p, "write", 0);
	peer_flush(p, bufferevent_get_output(bev));
}

/* ---- the session under test ---- */

static void
t_freed(void *arg, struct session *s)
{
	struct t *t = arg;

	t->freed++;
}

static void
t_tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static void
t_pump(struct t *t)
{
	if (t->ctls != NULL && t->client != NULL)
		peer_pump(t->ctls, t->client);
	if (t->stls != NULL && t->server != NULL)
		peer_pump(t->stls, t->server);
}

/* Runs the loop (and the test's TLS) until pred(t) holds or seconds pass. */
static int
run_until(struct t *t, int (*pred)(struct t *), double seconds)
{
	struct timeval tick = { 0, 5000 }, now, end, d;
	struct event *ev = event_new(t->base, -1, EV_PERSIST, t_tick_cb, NULL);

	gettimeofday(&now, NULL);
	d.tv_sec = (time_t)seconds;
	d.tv_usec = (suseconds_t)((seconds - (double)d.tv_sec) * 1e6);
	timeradd(&now, &d, &end);
	event_add(ev, &tick);
	t_pump(t);
	while (!pred(t) && timercmp(&now, &end, <)) {
		event_base_loop(t->base, EVLOOP_ONCE);
		t_pump(t);
		gettimeofday(&now, NULL);
	}
	event_free(ev);
	return pred(t);
}

static int
never(struct t *t)
{
	return 0;
}

static void
settle(struct t *t)
{
	run_until(t, never, 0.1);
}

static int
is_freed(struct t *t)
{
	return t->freed > 0;
}

static int
ctls_done(struct t *t)
{
	return t->ctls->up || t->ctls->failed;
}

static int
stls_done(struct t *t)
{
	return t->stls->up || t->stls->failed;
}

static int
w_found(struct t *t)
{
	return evbuffer_search(t->w_buf, t->w_str, t->w_len, NULL).pos != -1;
}

/* Waits until the bytes s (len) are in b; true when they came. */
static int
wait_bytes(struct t *t, struct evbuffer *b, const char *s, size_t len)
{
	t->w_buf = b;
	t->w_str = s;
	t->w_len = len;
	return run_until(t, w_found, 5);
}

static int
wait_for(struct t *t, struct evbuffer *b, const char *s)
{
	return wait_bytes(t, b, s, strlen(s));
}

/* Everything in b as a string (NUL-terminated; *lenp gets the length). */
static char *
take_buf(struct evbuffer *b, size_t *lenp)
{
	size_t n = evbuffer_get_length(b);
	char *s = xmalloc(n + 1);

	evbuffer_remove(b, s, n);
	s[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return s;
}

static char *
take(struct bufferevent *bev)
{
	return take_buf(bufferevent_get_input(bev), NULL);
}

/* How many times needle occurs in s. */
static int
count(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s++;
	}
	return n;
}

static struct evbuffer *
c_in(struct t *t)
{
	return bufferevent_get_input(t->client);
}

static struct evbuffer *
s_in(struct t *t)
{
	return bufferevent_get_input(t->server);
}

static void
send_str(struct bufferevent *bev, const char *s)
{
	bufferevent_write(bev, s, strlen(s));
}

/*
 * A session between the two pairs with a config parsed from JSON: the
 * listener's and the upstream's keys are inserted as given ("" for none).
 */
static void
t_start(struct t *t, const char *listen_keys, const char *upstream_keys)
{
	struct bufferevent *cp[2], *sp[2];
	struct session_env env;
	struct buf json;
	char *err = NULL;

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	snprintf(t->events_path, sizeof(t->events_path),
	    "%s/events-%d.jsonl", dir, ++ntest);
	buf_init(&json);
	buf_addf(&json, "{\"listen\": [{\"address\": \"127.0.0.1:5222\"%s%s}],"
			"\"upstream\": {\"address\": \"127.0.0.1:15222\"%s%s},"
			"\"tls\": {\"cert\": \"%s\", \"key\": \"%s\"},"
			"\"limits\": {\"handshake_timeout_s\": 10},"
			"\"logs\": [{\"type\": \"json\", \"path\": \"%s\","
			" \"redact\": true}]}",
	    listen_keys[0] ? ", " : "", listen_keys,
	    upstream_keys[0] ? ", " : "", upstream_keys, proxy_pem, proxy_key,
	    t->events_path);
	t->cfg = config_parse(json.data, &err);
	buf_fini(&json);
	if (t->cfg == NULL) {
		fprintf(stderr, "config_parse: %s\n", err);
		exit(99);
	}
	if (config_tls_load(t->cfg, &err) == -1) {
		fprintf(stderr, "config_tls_load: %s\n", err);
		exit(99);
	}
	t->events = events_new(t->cfg, false, t->base, &err);
	if (t->events == NULL) {
		fprintf(stderr, "events_new: %s\n", err);
		exit(99);
	}
	bufferevent_pair_new(t->base,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, cp);
	bufferevent_pair_new(t->base,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, sp);
	t->client = cp[1];
	t->server = sp[1];
	bufferevent_enable(t->client, EV_READ | EV_WRITE);
	bufferevent_enable(t->server, EV_READ | EV_WRITE);
	env.base = t->base;
	env.dns = NULL;
	env.events = &t->events;
	env.on_close = NULL;
	env.on_free = t_freed;
	env.arg = t;
	t->s = session_new(&env, t->cfg, "t.1", cp[0], "127.0.0.1:4000",
	    &t->cfg->listen[0], sp[0]);
}

/* Ends both far ends the way a socket close would (EOF, then gone) and
 * waits until the session is freed and its events are written. */
static void
t_finish(struct t *t)
{
	if (t->client != NULL) {
		bufferevent_flush(t->client, EV_WRITE, BEV_FINISHED);
		bufferevent_free(t->client);
		t->client = NULL;
	}
	if (t->server != NULL) {
		bufferevent_flush(t->server, EV_WRITE, BEV_FINISHED);
		bufferevent_free(t->server);
		t->server = NULL;
	}
	if (!run_until(t, is_freed, 8))
		diag("session not freed at the end of the test");
	settle(t);
}

static void
t_free(struct t *t)
{
	peer_free(t->ctls);
	peer_free(t->stls);
	events_free(t->events);
	config_unref(t->cfg);
	unlink(t->events_path);
	event_base_free(t->base);
}

/* ---- events ---- */

/* The events written so far, parsed, in order (a JSON array). */
static cJSON *
t_events(struct t *t)
{
	cJSON *all = cJSON_CreateArray(), *ev;
	FILE *fp = fopen(t->events_path, "r");
	char line[65536];

	if (fp == NULL)
		return all;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((ev = cJSON_Parse(line)) == NULL)
			diag("unparsable event line: %s", line);
		else
			cJSON_AddItemToArray(all, ev);
	}
	fclose(fp);
	return all;
}

static const char *
ev_str(const cJSON *ev, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool
ev_null(const cJSON *ev, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ev, key));
}

static bool
ev_true(const cJSON *ev, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, key));
}

static bool
ev_false(const cJSON *ev, const char *key)
{
	return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ev, key));
}

static bool
ev_eq(const cJSON *ev, const char *key, const char *want)
{
	const char *v = ev_str(ev, key);

	return v != NULL && strcmp(v, want) == 0;
}

/* Index of the first event from `from` on named name (with that dir and
 * kind when not NULL); -1 when none. */
static int
ev_find(const cJSON *evs, int from, const char *name, const char *dir_,
    const char *kind)
{
	int i, n = cJSON_GetArraySize(evs);
	const cJSON *ev;

	for (i = from < 0 ? 0 : from; i < n; i++) {
		ev = cJSON_GetArrayItem(evs, i);
		if (ev_eq(ev, "event", name) &&
		    (dir_ == NULL || ev_eq(ev, "dir", dir_)) &&
		    (kind == NULL || ev_eq(ev, "kind", kind)))
			return i;
	}
	return -1;
}

static int
ev_count(const cJSON *evs, const char *name, const char *dir_,
    const char *kind)
{
	int i = -1, n = 0;

	while ((i = ev_find(evs, i + 1, name, dir_, kind)) != -1)
		n++;
	return n;
}

/* The only event named name; NULL (and a diagnostic) unless exactly one. */
static const cJSON *
ev_one(const cJSON *evs, const char *name)
{
	int n = ev_count(evs, name, NULL, NULL);

	if (n != 1) {
		diag("%d '%s' events, want 1", n, name);
		return NULL;
	}
	return cJSON_GetArrayItem(evs, ev_find(evs, 0, name, NULL, NULL));
}

static double
ev_bytes(const cJSON *close, const char *dir_)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(close, "bytes");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, dir_);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void
ev_dump(const cJSON *evs)
{
	int i, n = cJSON_GetArraySize(evs);
	char *s;

	for (i = 0; i < n; i++) {
		s = cJSON_PrintUnformatted(cJSON_GetArrayItem(evs, i));
		diag("event: %s", s);
		free(s);
	}
}

/* session.close has reason (and, when detail_has is not NULL, a detail
 * containing it). */
static void
check_close(const cJSON *evs, const char *what, const char *reason,
    const char *detail_has)
{
	const cJSON *close = ev_one(evs, "session.close");
	const char *detail = close ? ev_str(close, "detail") : NULL;

	if (!ok(close != NULL && ev_eq(close, "reason", reason),
	    "%s: session.close reason %s", what, reason))
		ev_dump(evs);
	if (detail_has == NULL)
		return;
	if (!ok(detail != NULL && strstr(detail, detail_has) != NULL,
	    "%s: detail mentions '%s'", what, detail_has))
		diag("detail: %s", detail ? detail : "(null)");
}

/* No event anywhere carries the text s. */
static bool
events_lack(const cJSON *evs, const char *s)
{
	char *all = cJSON_PrintUnformatted(evs);
	bool lacks = strstr(all, s) == NULL;

	free(all);
	return lacks;
}

/* ---- client leg: the proxy's own STARTTLS ---- */

/* Client header answered locally, <proceed/> taken off. */
static void
client_to_proceed(struct t *t, const char *what)
{
	char *got;

	send_str(t->client, C_HDR);
	settle(t);
	free(take(t->client));
	send_str(t->client, STARTTLS);
	wait_for(t, c_in(t), PROCEED);
	got = take(t->client);
	is_str(got, PROCEED, "%s: <starttls/> gets <proceed/>", what);
	free(got);
}

/* The test client's TLS with the proxy (already past <proceed/>). */
static int
client_handshake(struct t *t, const char *what)
{
	t->ctls = peer_new(client_ctx, true, "example.org", NULL, 0);
	peer_hello(t->ctls, bufferevent_get_output(t->client));
	run_until(t, ctls_done, 5);
	if (!ok(t->ctls->up && !t->ctls->failed,
	    "%s: TLS handshake with the proxy completes", what))
		diag("client TLS: %s", t->ctls->err);
	return t->ctls->up;
}

/*
 * Both streams closed cleanly with the test client on TLS, so the session
 * ends at once (a dropped pair end would keep the proxy's close_notify
 * unwritten until the linger timer).
 */
static void
close_tls_client(struct t *t, const char *what)
{
	char *got;

	peer_send(t->ctls, t->client, CLOSE);
	wait_for(t, s_in(t), CLOSE);
	got = take(t->server);
	is_str(got, CLOSE, "%s: client close relayed", what);
	free(got);
	send_str(t->server, CLOSE);
	wait_for(t, t->ctls->plain, CLOSE);
	got = take_buf(t->ctls->plain, NULL);
	is_str(got, CLOSE, "%s: server close relayed", what);
	free(got);
	ok(run_until(t, is_freed, 6), "%s: session ends", what);
	settle(t);
	ok(t->ctls->closed, "%s: the proxy sent close_notify", what);
}

static void
test_client_starttls(void)
{
	struct t t;
	char *got, *p;
	cJSON *evs;
	const cJSON *tls;
	int i_tls, i_open;

	t_start(&t, "\"tls\": \"starttls\"", "");
	send_str(t.client, C_HDR);
	settle(&t);
	got = take(t.client);
	ok(strncmp(got, "<?xml version='1.0'?><stream:stream ", 36) == 0 &&
		strstr(got, " from='example.org'") != NULL &&
		strstr(got, " id='") != NULL,
	    "client starttls: the pre-TLS header gets the proxy's own header");
	p = strstr(got, "<stream:features>");
	is_str(p, FEAT_REQUIRED,
	    "client starttls: features are exactly "
	    "<starttls><required/></starttls>");
	free(got);
	got = take(t.server);
	is_str(got, "", "client starttls: nothing reaches the upstream "
			"before TLS (header)");
	free(got);
	send_str(t.client, STARTTLS);
	wait_for(&t, c_in(&t), PROCEED);
	got = take(t.client);
	is_str(got, PROCEED, "client starttls: <starttls/> gets <proceed/>");
	free(got);
	got = take(t.server);
	is_str(got, "", "client starttls: nothing reaches the upstream "
			"before TLS (starttls)");
	free(got);
	if (!client_handshake(&t, "client starttls")) {
		t_finish(&t);
		t_free(&t);
		return;
	}
	is_int(SSL_get_verify_result(t.ctls->ssl), X509_V_OK,
	    "client starttls: the proxy's certificate verifies for "
	    "example.org");
	got = take(t.server);
	is_str(got, "", "client starttls: nothing reaches the upstream "
			"during the handshake");
	free(got);

	peer_send(t.ctls, t.client, C_HDR);
	wait_for(&t, s_in(&t), C_HDR);
	got = take(t.server);
	is_str(got, C_HDR, "client starttls: the post-TLS header reaches the "
			   "upstream verbatim");
	free(got);
	send_str(t.server, S_HDR FEAT_TLS_MECHS);
	wait_for(&t, t.ctls->plain, "</stream:features>");
	got = take_buf(t.ctls->plain, NULL);
	ok(strncmp(got, S_HDR, strlen(S_HDR)) == 0,
	    "client starttls: the server header reaches the client through "
	    "TLS");
	ok(strstr(got, "starttls") == NULL && strstr(got, MECHS) != NULL,
	    "client starttls: the upstream's STARTTLS offer is stripped, "
	    "mechanisms kept");
	free(got);
	peer_send(t.ctls, t.client, MSG_C2S);
	wait_for(&t, s_in(&t), MSG_C2S);
	got = take(t.server);
	is_str(got, MSG_C2S, "client starttls: message client -> upstream "
			     "verbatim");
	free(got);
	send_str(t.server, MSG_S2C);
	wait_for(&t, t.ctls->plain, MSG_S2C);
	got = take_buf(t.ctls->plain, NULL);
	is_str(got, MSG_S2C, "client starttls: message upstream -> client "
			     "verbatim through TLS");
	free(got);
	close_tls_client(&t, "client starttls");

	evs = t_events(&t);
	tls = ev_one(evs, "tls");
	ok(tls != NULL && ev_eq(tls, "leg", "client") &&
		ev_eq(tls, "mode", "starttls") && ev_true(tls, "inspected"),
	    "client starttls: tls event leg client, mode starttls, "
	    "inspected");
	ok(tls != NULL && ev_str(tls, "version") != NULL &&
		strncmp(ev_str(tls, "version"), "TLSv1.", 6) == 0 &&
		ev_str(tls, "cipher") != NULL &&
		ev_eq(tls, "sni", "example.org") && ev_null(tls, "alpn"),
	    "client starttls: tls event version, cipher, sni, no alpn");
	ok(ev_find(evs, 0, "stanza", "c2s", "message") != -1 &&
		ev_find(evs, 0, "stanza", "s2c", "message") != -1,
	    "client starttls: stanza events for the message both ways");
	i_tls = ev_find(evs, 0, "tls", NULL, NULL);
	i_open = ev_find(evs, 0, "stream.open", "c2s", NULL);
	ok(ev_count(evs, "stream.open", "c2s", NULL) == 1 && i_tls != -1 &&
		i_open > i_tls,
	    "client starttls: one c2s stream.open, the post-TLS one");
	ok(ev_find(evs, 0, "stanza", NULL, "starttls") == -1 &&
		ev_find(evs, 0, "stanza", NULL, "proceed") == -1 &&
		ev_count(evs, "stanza", "c2s", NULL) == 1,
	    "client starttls: the local negotiation makes no stanza events");
	check_close(evs, "client starttls", "client-closed", NULL);
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* Bytes right after <starttls/> in the same write are never parsed. */
static void
test_client_injection(void)
{
	struct t t;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"starttls\"", "");
	send_str(t.client, C_HDR);
	settle(&t);
	free(take(t.client));
	send_str(t.client, STARTTLS INJECTED);
	ok(run_until(&t, is_freed, 5), "client injection: session ends");
	got = take(t.client);
	ok(strncmp(got, PROCEED, strlen(PROCEED)) == 0 &&
		strchr(got + strlen(PROCEED), '<') == NULL,
	    "client injection: the client gets <proceed/> and no XML after it");
	if (strncmp(got, PROCEED, strlen(PROCEED)) != 0)
		diag("got '%s'", got);
	free(got);
	got = take(t.server);
	is_str(got, "", "client injection: nothing reaches the upstream");
	free(got);
	evs = t_events(&t);
	ok(ev_count(evs, "stanza", NULL, NULL) == 0 &&
		events_lack(evs, "injected"),
	    "client injection: no stanza event, the injected bytes "
	    "nowhere");
	check_close(evs, "client injection", "client-tls-failed",
	    "ClientHello");
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* Whitespace, then a real ClientHello, all in the write of <starttls/>. */
static void
test_client_whitespace(void)
{
	struct t t;
	struct evbuffer *w = evbuffer_new();
	struct peer *p;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"starttls\"", "");
	send_str(t.client, C_HDR);
	settle(&t);
	free(take(t.client));
	p = peer_new(client_ctx, true, "example.org", NULL, 0);
	evbuffer_add_printf(w, "%s \r\n\t ", STARTTLS);
	peer_hello(p, w);
	bufferevent_write_buffer(t.client, w);
	evbuffer_free(w);
	wait_for(&t, c_in(&t), PROCEED);
	got = xmalloc(strlen(PROCEED) + 1);
	got[evbuffer_remove(c_in(&t), got, strlen(PROCEED))] = '\0';
	is_str(got, PROCEED, "client whitespace: <proceed/> first");
	free(got);
	/* what follows <proceed/> is TLS: from here the peer reads it */
	t.ctls = p;
	run_until(&t, ctls_done, 5);
	if (!ok(p->up, "client whitespace: whitespace skipped, the handshake "
		       "completes"))
		diag("client TLS: %s", p->err);
	peer_send(p, t.client, C_HDR);
	wait_for(&t, s_in(&t), C_HDR);
	got = take(t.server);
	is_str(got, C_HDR, "client whitespace: the post-TLS header is relayed");
	free(got);
	send_str(t.server, S_HDR);
	wait_for(&t, t.ctls->plain, S_HDR);
	free(take_buf(t.ctls->plain, NULL));
	close_tls_client(&t, "client whitespace");
	evs = t_events(&t);
	ok(ev_count(evs, "tls", NULL, NULL) == 1,
	    "client whitespace: one tls event");
	check_close(evs, "client whitespace", "client-closed", NULL);
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* Something other than a ClientHello after <proceed/>. */
static void
test_client_garbage(void)
{
	struct t t;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"starttls\"", "");
	client_to_proceed(&t, "client garbage");
	send_str(t.client, "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
	ok(run_until(&t, is_freed, 5), "client garbage: session ends");
	got = take(t.client);
	ok(strchr(got, '<') == NULL,
	    "client garbage: no plaintext XML sent inside the TLS phase");
	free(got);
	got = take(t.server);
	is_str(got, "", "client garbage: nothing reaches the upstream");
	free(got);
	evs = t_events(&t);
	check_close(evs, "client garbage", "client-tls-failed", "ClientHello");
	ok(ev_count(evs, "tls", NULL, NULL) == 0,
	    "client garbage: no tls event");
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* A client that sends a stanza instead of <starttls/>. */
static void
test_client_skips_starttls(void)
{
	struct t t;
	char *got;
	int headers;
	cJSON *evs;

	t_start(&t, "\"tls\": \"starttls\"", "");
	send_str(t.client, C_HDR);
	settle(&t);
	send_str(t.client, "<message to='b@example.org'><body>plain</body>"
			   "</message>");
	ok(run_until(&t, is_freed, 5), "client skips starttls: session ends");
	got = take(t.client);
	headers = count(got, "<stream:stream");
	ok(strstr(got, FEAT_REQUIRED "<stream:error><policy-violation "
		       "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") !=
		    NULL &&
		strstr(got, "</stream:error></stream:stream>") != NULL &&
		headers == 1,
	    "client skips starttls: policy-violation in the one stream");
	if (headers != 1 || strstr(got, "policy-violation") == NULL)
		diag("got '%s'", got);
	free(got);
	got = take(t.server);
	is_str(got, "", "client skips starttls: nothing reaches the upstream");
	free(got);
	evs = t_events(&t);
	ok(ev_count(evs, "stanza", NULL, NULL) == 0 &&
		events_lack(evs, "plain"),
	    "client skips starttls: no stanza event");
	check_close(evs, "client skips starttls", "client-error", NULL);
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* ---- upstream leg: the proxy's own STARTTLS as the client ---- */

#define UP_TLS                                                                 \
	"\"tls\": \"starttls\", \"ca_file\": \"%s\""

static void
t_start_up(struct t *t)
{
	char keys[PATH_MAX + 64];

	snprintf(keys, sizeof(keys), UP_TLS, ca_pem);
	t_start(t, "", keys);
}

/* The proxy's pre-TLS stream to the server, up to its <starttls/>. */
static void
upstream_to_starttls(struct t *t, const char *what)
{
	char *got;

	send_str(t->client, C_HDR);
	wait_for(t, s_in(t), ">");
	settle(t);
	got = take(t->server);
	ok(strncmp(got, "<?xml", 5) == 0 && count(got, "<") == 2 &&
		count(got, "<stream:stream ") == 1 &&
		strstr(got, " to='example.org'") != NULL &&
		strstr(got, "xmlns='jabber:client'") != NULL &&
		got[strlen(got) - 1] == '>',
	    "%s: the upstream gets the proxy's own header (to=example.org) "
	    "and nothing else", what);
	if (!ok(strstr(got, C_HDR) == NULL, "%s: the client's header is not "
					    "sent before TLS", what))
		diag("got '%s'", got);
	free(got);
	send_str(t->server, S_HDR FEAT_TLS_MECHS);
	wait_for(t, s_in(t), STARTTLS);
	settle(t);
	got = take(t->server);
	is_str(got, STARTTLS, "%s: the proxy asks for STARTTLS", what);
	free(got);
	got = take(t->client);
	is_str(got, "", "%s: the client sees nothing of the pre-TLS stream",
	    what);
	free(got);
}

static void
test_upstream_starttls(void)
{
	struct t t;
	char *got;
	cJSON *evs;
	const cJSON *tls;
	const char *subj;

	t_start_up(&t);
	upstream_to_starttls(&t, "upstream starttls");
	send_str(t.server, PROCEED);
	t.stls = peer_new(up_ctx, false, NULL, NULL, 0);
	run_until(&t, stls_done, 5);
	if (!ok(t.stls->up, "upstream starttls: TLS handshake completes"))
		diag("server TLS: %s", t.stls->err);
	wait_for(&t, t.stls->plain, C_HDR);
	got = take_buf(t.stls->plain, NULL);
	is_str(got, C_HDR, "upstream starttls: the client's header, held until "
			   "TLS, arrives verbatim through TLS");
	free(got);
	peer_send(t.stls, t.server, S_HDR2 FEAT_MECHS);
	wait_for(&t, c_in(&t), "</stream:features>");
	got = take(t.client);
	is_str(got, S_HDR2 FEAT_MECHS, "upstream starttls: the post-TLS "
				       "header and features reach the client");
	free(got);
	send_str(t.client, MSG_C2S);
	wait_for(&t, t.stls->plain, MSG_C2S);
	got = take_buf(t.stls->plain, NULL);
	is_str(got, MSG_C2S, "upstream starttls: message client -> upstream "
			     "through TLS");
	free(got);
	peer_send(t.stls, t.server, MSG_S2C);
	wait_for(&t, c_in(&t), MSG_S2C);
	got = take(t.client);
	is_str(got, MSG_S2C, "upstream starttls: message upstream -> client");
	free(got);
	send_str(t.client, CLOSE);
	wait_for(&t, t.stls->plain, CLOSE);
	free(take_buf(t.stls->plain, NULL));
	peer_send(t.stls, t.server, CLOSE);
	ok(run_until(&t, is_freed, 6), "upstream starttls: session ends");
	settle(&t);
	evs = t_events(&t);
	tls = ev_one(evs, "tls");
	subj = tls ? ev_str(tls, "peer_subject") : NULL;
	ok(tls != NULL && ev_eq(tls, "leg", "upstream") &&
		ev_eq(tls, "mode", "starttls") && ev_true(tls, "inspected") &&
		ev_true(tls, "verified") && ev_eq(tls, "sni", "example.org"),
	    "upstream starttls: tls event leg upstream, verified, sni");
	ok(subj != NULL && strstr(subj, "upstream example.org") != NULL,
	    "upstream starttls: tls event names the server's certificate");
	ok(ev_count(evs, "stream.open", "s2c", NULL) == 1 &&
		ev_count(evs, "stanza", "s2c", "features") == 1 &&
		ev_find(evs, 0, "stanza", NULL, "proceed") == -1,
	    "upstream starttls: no events for the pre-TLS stream");
	ok(ev_find(evs, 0, "stanza", "c2s", "message") != -1 &&
		ev_find(evs, 0, "stanza", "s2c", "message") != -1,
	    "upstream starttls: stanza events for the message both ways");
	check_close(evs, "upstream starttls", "client-closed", NULL);
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* The upstream's STARTTLS or TLS fails: what the client and events see. */
static void
upstream_fails(struct t *t, const char *what, const char *text_has)
{
	char *got;
	cJSON *evs;

	ok(run_until(t, is_freed, 5), "%s: session ends", what);
	got = take(t->client);
	ok(strstr(got, "<stream:stream") != NULL &&
		strstr(got, "<stream:error><remote-connection-failed ") !=
		    NULL &&
		(text_has == NULL || strstr(got, text_has) != NULL) &&
		strstr(got, "</stream:error></stream:stream>") != NULL,
	    "%s: the client gets remote-connection-failed naming '%s'", what,
	    text_has ? text_has : "the TLS failure");
	if (text_has != NULL && strstr(got, text_has) == NULL)
		diag("got '%s'", got);
	ok(strstr(got, "injected") == NULL && strstr(got, "<message") == NULL,
	    "%s: nothing of the server's stream reaches the client", what);
	free(got);
	evs = t_events(t);
	check_close(evs, what, "upstream-tls-failed", text_has);
	ok(ev_count(evs, "stanza", NULL, NULL) == 0 &&
		ev_count(evs, "tls", NULL, NULL) == 0 &&
		events_lack(evs, "injected"),
	    "%s: no stanza or tls event", what);
	cJSON_Delete(evs);
}

static void
test_upstream_refused(void)
{
	struct t t;
	char *got;

	t_start_up(&t);
	upstream_to_starttls(&t, "upstream failure");
	send_str(t.server, "<failure xmlns='" NS_TLS "'/>" CLOSE);
	upstream_fails(&t, "upstream failure", "refused STARTTLS");
	got = take(t.server);
	ok(strstr(got, "<stream:stream") == NULL,
	    "upstream failure: the client's header never went out in "
	    "plaintext");
	free(got);
	t_finish(&t);
	t_free(&t);
}

/* A server certificate the proxy must refuse. */
static void
test_upstream_bad_cert(const char *what, SSL_CTX *ctx, const char *text_has)
{
	struct t t;

	t_start_up(&t);
	upstream_to_starttls(&t, what);
	send_str(t.server, PROCEED);
	t.stls = peer_new(ctx, false, NULL, NULL, 0);
	upstream_fails(&t, what, text_has);
	is_int(evbuffer_get_length(t.stls->plain), 0,
	    "%s: the client's header never went out", what);
	t_finish(&t);
	t_free(&t);
}

/* Bytes right after <proceed/> from the server are never parsed. */
static void
test_upstream_injection(void)
{
	struct t t;

	t_start_up(&t);
	upstream_to_starttls(&t, "upstream injection");
	send_str(t.server, PROCEED INJECTED);
	upstream_fails(&t, "upstream injection", NULL);
	t_finish(&t);
	t_free(&t);
}

/* ---- passthrough ---- */

/* Opaque bytes: TLS-looking records with XML-looking content. */
#define PT_C2S "\x16\x03\x01\x00\x2a\x01\x00<<<\x00\xff" CLOSE "<message>x</message>"
#define PT_C2S_LEN (sizeof(PT_C2S) - 1)
#define PT_S2C "\x16\x03\x03\x00\x7a\x02\x00<<<\x00\x80" CLOSE "<proceed/>"
#define PT_S2C_LEN (sizeof(PT_S2C) - 1)
#define PT2_C2S "\x17\x03\x03\x00\x05<<<<<"
#define PT2_C2S_LEN (sizeof(PT2_C2S) - 1)
#define PT2_S2C "\x17\x03\x03\x00\x06>>>\x00>>"
#define PT2_S2C_LEN (sizeof(PT2_S2C) - 1)

/* Waits for exactly want (len) on b, byte for byte. */
static void
expect_bytes(struct t *t, struct evbuffer *b, const char *want, size_t len,
    const char *what)
{
	size_t n;
	char *got;

	wait_bytes(t, b, want, len);
	settle(t);
	got = take_buf(b, &n);
	ok(n == len && memcmp(got, want, len) == 0, "%s", what);
	free(got);
}

/* The client's end closes (EOF, then gone); the session ends. */
static void
t_drop_client(struct t *t)
{
	bufferevent_flush(t->client, EV_WRITE, BEV_FINISHED);
	bufferevent_free(t->client);
	t->client = NULL;
	run_until(t, is_freed, 8);
}

/* Client and server through <proceed/>; pipelined: the client's first TLS
 * bytes (after some whitespace) ride in the write of its <starttls/>. */
static void
passthrough_to_proceed(struct t *t, const char *what, bool pipelined)
{
	struct evbuffer *w = evbuffer_new();
	size_t n;
	char *got;

	send_str(t->client, C_HDR);
	expect_bytes(t, s_in(t), C_HDR, strlen(C_HDR),
	    "passthrough: the client header is relayed verbatim");
	send_str(t->server, S_HDR FEAT_TLS_MECHS);
	expect_bytes(t, c_in(t), S_HDR FEAT_TLS_MECHS,
	    strlen(S_HDR FEAT_TLS_MECHS),
	    "passthrough: the server's features keep its STARTTLS offer");
	evbuffer_add(w, STARTTLS, strlen(STARTTLS));
	if (pipelined)
		evbuffer_add(w, " \r\n" PT_C2S, strlen(" \r\n") + PT_C2S_LEN);
	bufferevent_write_buffer(t->client, w);
	evbuffer_free(w);
	wait_for(t, s_in(t), STARTTLS);
	settle(t);
	got = take_buf(s_in(t), &n);
	ok(n == strlen(STARTTLS) && memcmp(got, STARTTLS, n) == 0,
	    "%s: <starttls/> forwarded verbatim, nothing after it before the "
	    "server's <proceed/>", what);
	free(got);
	if (!pipelined) {
		send_str(t->server, PROCEED);
		expect_bytes(t, c_in(t), PROCEED, strlen(PROCEED),
		    "passthrough: <proceed/> forwarded verbatim");
		return;
	}
	w = evbuffer_new();
	evbuffer_add(w, PROCEED, strlen(PROCEED));
	evbuffer_add(w, PT_S2C, PT_S2C_LEN);
	bufferevent_write(t->server, evbuffer_pullup(w, -1),
	    evbuffer_get_length(w));
	expect_bytes(t, c_in(t), (const char *)evbuffer_pullup(w, -1),
	    evbuffer_get_length(w),
	    "passthrough pipelined: <proceed/> and the server's TLS bytes in "
	    "one write reach the client byte-exact");
	evbuffer_free(w);
	expect_bytes(t, s_in(t), PT_C2S, PT_C2S_LEN,
	    "passthrough pipelined: then the client's held TLS bytes reach "
	    "the server byte-exact, whitespace skipped");
}

static void
test_passthrough(bool pipelined)
{
	const char *what = pipelined ? "passthrough pipelined" : "passthrough";
	struct t t;
	cJSON *evs;
	const cJSON *tls, *close;
	int i_tls;
	double c2s, s2c;

	t_start(&t, "\"tls\": \"passthrough\"", "");
	passthrough_to_proceed(&t, what, pipelined);
	if (!pipelined) {
		bufferevent_write(t.client, PT_C2S, PT_C2S_LEN);
		expect_bytes(&t, s_in(&t), PT_C2S, PT_C2S_LEN,
		    "passthrough: opaque bytes client -> server byte-exact");
		bufferevent_write(t.server, PT_S2C, PT_S2C_LEN);
		expect_bytes(&t, c_in(&t), PT_S2C, PT_S2C_LEN,
		    "passthrough: opaque bytes server -> client byte-exact");
	}
	bufferevent_write(t.client, PT2_C2S, PT2_C2S_LEN);
	expect_bytes(&t, s_in(&t), PT2_C2S, PT2_C2S_LEN,
	    pipelined ? "passthrough pipelined: more opaque bytes c2s"
		      : "passthrough: more opaque bytes c2s");
	bufferevent_write(t.server, PT2_S2C, PT2_S2C_LEN);
	expect_bytes(&t, c_in(&t), PT2_S2C, PT2_S2C_LEN,
	    pipelined ? "passthrough pipelined: more opaque bytes s2c"
		      : "passthrough: more opaque bytes s2c");
	ok(!is_freed(&t) && session_state(t.s) == SESSION_ESTABLISHED,
	    "%s: the session is still up (the close tags were not parsed)",
	    what);
	t_drop_client(&t);
	evs = t_events(&t);
	tls = ev_one(evs, "tls");
	ok(tls != NULL && ev_eq(tls, "leg", "client") &&
		ev_eq(tls, "mode", "passthrough") && ev_false(tls, "inspected") &&
		ev_null(tls, "version") && ev_null(tls, "cipher"),
	    "%s: tls event mode passthrough, inspected false, no version",
	    what);
	i_tls = ev_find(evs, 0, "tls", NULL, NULL);
	ok(i_tls != -1 && ev_find(evs, i_tls, "stanza", NULL, NULL) == -1 &&
		ev_find(evs, i_tls, "stream.close", NULL, NULL) == -1 &&
		ev_find(evs, 0, "stanza", "s2c", "proceed") != -1 &&
		ev_find(evs, 0, "stanza", "s2c", "proceed") < i_tls,
	    "%s: no stanza event after the tls event", what);
	ok(events_lack(evs, "<<<") && events_lack(evs, ">>>"),
	    "%s: opaque bytes in no event", what);
	close = ev_one(evs, "session.close");
	c2s = (double)(strlen(C_HDR STARTTLS) + PT_C2S_LEN + PT2_C2S_LEN +
	    (pipelined ? strlen(" \r\n") : 0));
	s2c = (double)(strlen(S_HDR FEAT_TLS_MECHS PROCEED) + PT_S2C_LEN +
	    PT2_S2C_LEN);
	ok(close != NULL && ev_bytes(close, "c2s") == c2s &&
		ev_bytes(close, "s2c") == s2c,
	    "%s: session.close counts the opaque bytes", what);
	if (close != NULL && (ev_bytes(close, "c2s") != c2s ||
	    ev_bytes(close, "s2c") != s2c))
		diag("bytes c2s %.0f s2c %.0f, want %.0f %.0f",
		    ev_bytes(close, "c2s"), ev_bytes(close, "s2c"), c2s, s2c);
	check_close(evs, what, "client-closed", NULL);
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* Passthrough: bytes behind <starttls/> that are not TLS never reach the
 * server, not even after its <proceed/>. */
static void
test_passthrough_injection(void)
{
	const char *what = "passthrough injection";
	struct t t;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"passthrough\"", "");
	send_str(t.client, C_HDR);
	send_str(t.server, S_HDR FEAT_TLS_MECHS);
	settle(&t);
	free(take(t.client));
	free(take(t.server));
	send_str(t.client, STARTTLS INJECTED);
	wait_for(&t, s_in(&t), STARTTLS);
	settle(&t);
	got = take(t.server);
	is_str(got, STARTTLS, "%s: only <starttls/> reaches the server", what);
	free(got);
	send_str(t.server, PROCEED);
	ok(run_until(&t, is_freed, 5), "%s: session ends", what);
	got = take(t.server);
	is_str(got, "", "%s: the injected bytes never reach the server", what);
	free(got);
	got = take(t.client);
	is_str(got, PROCEED, "%s: the client gets <proceed/> and nothing of "
			     "the proxy's own after it", what);
	free(got);
	evs = t_events(&t);
	ok(events_lack(evs, "injected") &&
		ev_find(evs, 0, "stanza", "c2s", "message") == -1,
	    "%s: the injected bytes are in no event", what);
	check_close(evs, what, "client-tls-failed", "ClientHello");
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* ---- direct TLS toward the client (XEP-0368) ---- */

static void
test_direct(bool alpn)
{
	static const unsigned char protos[] = "\x02h2\x0bxmpp-client";
	const char *what = alpn ? "direct" : "direct without ALPN";
	const unsigned char *sel = NULL;
	unsigned sel_len = 0;
	struct t t;
	char *got;
	cJSON *evs;
	const cJSON *tls;

	t_start(&t, "\"tls\": \"direct\"", "");
	t.ctls = peer_new(client_ctx, true, "example.org",
	    alpn ? protos : NULL, alpn ? sizeof(protos) - 1 : 0);
	peer_hello(t.ctls, bufferevent_get_output(t.client));
	run_until(&t, ctls_done, 5);
	if (!ok(t.ctls->up, "%s: TLS at accept completes", what))
		diag("client TLS: %s", t.ctls->err);
	SSL_get0_alpn_selected(t.ctls->ssl, &sel, &sel_len);
	if (alpn)
		ok(sel_len == 11 && memcmp(sel, "xmpp-client", 11) == 0,
		    "direct: ALPN xmpp-client selected when offered");
	else
		is_int(sel_len, 0, "direct without ALPN: none selected");
	got = take(t.server);
	is_str(got, "", "%s: nothing reaches the upstream during the "
			"handshake", what);
	free(got);
	peer_send(t.ctls, t.client, C_HDR);
	wait_for(&t, s_in(&t), C_HDR);
	got = take(t.server);
	is_str(got, C_HDR, "%s: the client header is relayed verbatim", what);
	free(got);
	send_str(t.server, S_HDR FEAT_MECHS);
	wait_for(&t, t.ctls->plain, "</stream:features>");
	got = take_buf(t.ctls->plain, NULL);
	is_str(got, S_HDR FEAT_MECHS, "%s: the server's stream reaches the "
				      "client through TLS", what);
	free(got);
	peer_send(t.ctls, t.client, MSG_C2S);
	wait_for(&t, s_in(&t), MSG_C2S);
	got = take(t.server);
	is_str(got, MSG_C2S, "%s: message relayed", what);
	free(got);
	close_tls_client(&t, what);
	evs = t_events(&t);
	tls = ev_one(evs, "tls");
	ok(tls != NULL && ev_eq(tls, "leg", "client") &&
		ev_eq(tls, "mode", "direct") && ev_true(tls, "inspected") &&
		ev_eq(tls, "sni", "example.org") &&
		(alpn ? ev_eq(tls, "alpn", "xmpp-client")
		      : ev_null(tls, "alpn")),
	    "%s: tls event mode direct with sni and alpn", what);
	ok(ev_find(evs, 0, "stanza", "c2s", "message") != -1,
	    "%s: stanza event for the message", what);
	check_close(evs, what, "client-closed", NULL);
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

/* Plaintext XML to a direct-TLS listener. */
static void
test_direct_plaintext(void)
{
	struct t t;
	char *got;
	cJSON *evs;

	t_start(&t, "\"tls\": \"direct\"", "");
	send_str(t.client, C_HDR);
	ok(run_until(&t, is_freed, 5), "direct plaintext: session ends");
	got = take(t.server);
	is_str(got, "", "direct plaintext: nothing reaches the upstream");
	free(got);
	evs = t_events(&t);
	ok(ev_count(evs, "stream.open", NULL, NULL) == 0,
	    "direct plaintext: the header is never parsed");
	check_close(evs, "direct plaintext", "client-tls-failed", NULL);
	cJSON_Delete(evs);
	t_finish(&t);
	t_free(&t);
}

int
main(void)
{
	make_certs();
	test_client_starttls();
	test_client_injection();
	test_client_whitespace();
	test_client_garbage();
	test_client_skips_starttls();
	test_upstream_starttls();
	test_upstream_refused();
	test_upstream_bad_cert("upstream wrong name", wrong_ctx,
	    "hostname mismatch");
	test_upstream_bad_cert("upstream self-signed", self_ctx,
	    "certificate verify failed");
	test_upstream_injection();
	test_passthrough(false);
	test_passthrough(true);
	test_passthrough_injection();
	test_direct(true);
	test_direct(false);
	test_direct_plaintext();
	remove_certs();
	return done_testing();
}
