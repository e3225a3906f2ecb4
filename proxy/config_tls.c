/* SPDX-License-Identifier: ISC */
/*
 * The TLS half of loading a config: reads the certificates and keys the
 * config names and builds the OpenSSL contexts sessions will use, so that
 * `xmppgate -n` and a SIGHUP reload both fail on a bad certificate before
 * any session sees it. Kept out of config.c so that parsing (and its fuzzer)
 * never touches the file system beyond the config file itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "addr.h"
#include "config.h"
#include "tlsctx.h"
#include "xmalloc.h"

bool
config_terminates_tls(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].tls == CONFIG_TLS_STARTTLS ||
		    cfg->listen[i].tls == CONFIG_TLS_DIRECT)
			return true;
	return false;
}

/* Sets *err to "path: msg", consuming msg. Always returns -1. */
static int
config_tls_fail(char **err, const char *path, char *msg)
{
	if (err != NULL)
		*err = xasprintf("%s: %s", path, msg);
	free(msg);
	return -1;
}

static int
config_tls_policy(struct config *cfg, struct tlsctx *tc, char **err)
{
	struct tlsctx_policy pol = {
		.min_version = cfg->tls.min_version,
		.ciphers = cfg->tls.ciphers,
		.ciphersuites = cfg->tls.ciphersuites,
	};
	char *msg = NULL;

	/* The message starts with the key: "ciphers: 'X': no cipher match". */
	if (tlsctx_set_policy(tc, &pol, &msg) == -1) {
		if (err != NULL)
			*err = xasprintf("tls.%s", msg);
		free(msg);
		return -1;
	}
	return 0;
}

/*
 * A file the config names must be readable before OpenSSL tries it: its
 * own message for a missing file is "system lib".
 */
static int
config_tls_readable(const char *path, const char *key, char **err)
{
	FILE *f;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "r")) == NULL) {
		if (err != NULL)
			*err = xasprintf("%s: %s: %s", key, path,
			    strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/* Forging without SNI: the upstream's name is the best guess. */
static void
config_tls_default_domain(struct config *cfg)
{
	char host[256];
	unsigned port;
	const char *errstr;

	if (cfg->upstream.server_name != NULL)
		tlsctx_set_default_domain(cfg->tls_server,
		    cfg->upstream.server_name);
	else if (cfg->upstream.address != NULL &&
	    addr_split(cfg->upstream.address, host, sizeof(host), &port,
		&errstr) == 0)
		tlsctx_set_default_domain(cfg->tls_server, host);
}

int
config_tls_load(struct config *cfg, char **err)
{
	struct tlsctx *tc;
	char *msg = NULL;

	if (err != NULL)
		*err = NULL;
	if (config_tls_readable(cfg->tls.cert, "tls.cert", err) == -1 ||
	    config_tls_readable(cfg->tls.key, "tls.key", err) == -1 ||
	    config_tls_readable(cfg->tls.ca_cert, "tls.ca_cert", err) == -1 ||
	    config_tls_readable(cfg->tls.ca_key, "tls.ca_key", err) == -1 ||
	    config_tls_readable(cfg->upstream.tls != CONFIG_TLS_NONE
		    ? cfg->upstream.ca_file : NULL,
		"upstream.ca_file", err) == -1)
		return -1;
	if (cfg->tls_server == NULL && cfg->tls.cert != NULL) {
		if ((tc = tlsctx_server_new(cfg->tls.cert, cfg->tls.key,
		    &msg)) == NULL)
			return config_tls_fail(err, "tls.cert", msg);
		cfg->tls_server = tc;
	} else if (cfg->tls_server == NULL && cfg->tls.ca_cert != NULL) {
		if ((tc = tlsctx_forge_new(cfg->tls.ca_cert, cfg->tls.ca_key,
		    &msg)) == NULL)
			return config_tls_fail(err, "tls.ca_cert", msg);
		cfg->tls_server = tc;
	}
	if (cfg->tls_server != NULL &&
	    config_tls_policy(cfg, cfg->tls_server, err) == -1)
		return -1;
	if (cfg->tls_server != NULL && cfg->tls.ca_cert != NULL)
		config_tls_default_domain(cfg);
	if (cfg->tls_client == NULL && cfg->upstream.tls != CONFIG_TLS_NONE) {
		if ((tc = tlsctx_client_new(cfg->upstream.verify,
		    cfg->upstream.ca_file, &msg)) == NULL)
			return config_tls_fail(err, cfg->upstream.ca_file
				? "upstream.ca_file" : "upstream", msg);
		cfg->tls_client = tc;
		if (config_tls_policy(cfg, tc, err) == -1)
			return -1;
	}
	return 0;
}
