/* SPDX-License-Identifier: ISC */
/*
 * The command line. Long options only besides -v, -h and -V; an option that
 * belongs to the other mode is an error rather than silently ignored, so a
 * typo cannot change what a replay tests. The password may come from the
 * environment, which keeps it out of the process list.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "xmalloc.h"

enum {
	OPT_SERVER = 256,
	OPT_SERVE,
	OPT_TLS,
	OPT_CA,
	OPT_SERVER_NAME,
	OPT_NO_VERIFY,
	OPT_CERT,
	OPT_KEY,
	OPT_JID,
	OPT_PASSWORD,
	OPT_MECHANISM,
	OPT_ALLOW_PLAIN,
	OPT_MAP,
	OPT_SPEED,
	OPT_FAST,
	OPT_TIMEOUT,
	OPT_SESSION,
	OPT_JSON,
};

void
opts_usage(FILE *f)
{
	fputs("usage: xmppgate-replay [options] RECORDING\n"
	      "Plays a recorded XMPP session (xmppgate's JSON events, a "
	      "record file, any\n"
	      "events.jsonl with xml fields) against a server, or as the "
	      "server to a client.\n"
	      "  --server HOST:PORT    client mode: play the recorded "
	      "client against a server\n"
	      "  --serve ADDR:PORT     server mode: play the recorded "
	      "server to one client\n"
	      "client mode:\n"
	      "  --tls starttls|direct|none  TLS toward the server "
	      "(default starttls)\n"
	      "  --ca FILE             trust these CAs instead of the "
	      "system store\n"
	      "  --server-name NAME    name for SNI and the certificate "
	      "check (default:\n"
	      "                        the domain of --jid)\n"
	      "  --no-verify           do not check the server's "
	      "certificate (lab use only)\n"
	      "  --jid JID             the account to log in as (or "
	      "XG_REPLAY_JID)\n"
	      "  --password PW         its password (or "
	      "XG_REPLAY_PASSWORD, which ps cannot\n"
	      "                        show); never printed\n"
	      "  --mechanism M         SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN "
	      "(default: the\n"
	      "                        strongest both sides have)\n"
	      "  --allow-plain         allow PLAIN without TLS\n"
	      "server mode:\n"
	      "  --cert FILE --key FILE  offer STARTTLS with this "
	      "certificate (PEM)\n"
	      "both:\n"
	      "  --map OLD=NEW         map another recorded JID (repeatable); "
	      "the recorded\n"
	      "                        account maps to the live one by "
	      "itself\n"
	      "  --speed N             recorded delays divided by N "
	      "(default 1)\n"
	      "  --fast                no delays: as fast as answers allow\n"
	      "  --timeout S           client: wait this long for the last "
	      "answers; server:\n"
	      "                        end after this long without traffic "
	      "(default 5)\n"
	      "  --session ID          the session to play, when the file "
	      "has several\n"
	      "  --json FILE           also write the report as JSON (\"-\": "
	      "stdout; the\n"
	      "                        summary then goes to stderr)\n"
	      "  -v                    more log on stderr (-vv: every "
	      "element, secrets\n"
	      "                        redacted)\n"
	      "  -h                    this help\n"
	      "  -V                    print the version\n"
	      "Exit status: 0 every expected answer came and matched "
	      "(server mode: every\n"
	      "recorded client stanza came, nothing unexpected); 1 some "
	      "differ or are\n"
	      "missing; 2 usage, recording, connection, TLS or "
	      "authentication error.\n",
	    f);
}

/* A positive finite number; -1 when s is not one. */
static int
opts_number(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !isfinite(v) || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* Options that only one mode takes; bit per mode using them. */
struct opts_seen {
	const char *client_only; /* the last client-only option given */
	const char *server_only;
	bool speed, fast;
};

static int
opts_one(
    struct opts *o, int ch, const char *arg, struct opts_seen *seen, char **err)
{
	struct client_opts *c = &o->client;

	switch (ch) {
	case OPT_SERVER:
		c->server = arg;
		return 0;
	case OPT_SERVE:
		o->server.listen = arg;
		o->serve = true;
		return 0;
	case OPT_TLS:
		seen->client_only = "--tls";
		if (strcmp(arg, "starttls") == 0)
			c->tls = CLIENT_TLS_STARTTLS;
		else if (strcmp(arg, "direct") == 0)
			c->tls = CLIENT_TLS_DIRECT;
		else if (strcmp(arg, "none") == 0)
			c->tls = CLIENT_TLS_NONE;
		else {
			*err = xasprintf("--tls %s: expected starttls, direct "
			                 "or none",
			    arg);
			return -1;
		}
		return 0;
	case OPT_CA:
		seen->client_only = "--ca";
		c->ca_file = arg;
		return 0;
	case OPT_SERVER_NAME:
		seen->client_only = "--server-name";
		c->server_name = arg;
		return 0;
	case OPT_NO_VERIFY:
		seen->client_only = "--no-verify";
		c->verify = false;
		return 0;
	case OPT_CERT:
		seen->server_only = "--cert";
		o->server.cert = arg;
		return 0;
	case OPT_KEY:
		seen->server_only = "--key";
		o->server.key = arg;
		return 0;
	case OPT_JID:
		seen->client_only = "--jid";
		c->jid = arg;
		return 0;
	case OPT_PASSWORD:
		seen->client_only = "--password";
		c->password = arg;
		return 0;
	case OPT_MECHANISM:
		seen->client_only = "--mechanism";
		c->mechanism = arg;
		if (strcmp(arg, "SCRAM-SHA-256") != 0 &&
		    strcmp(arg, "SCRAM-SHA-1") != 0 &&
		    strcmp(arg, "PLAIN") != 0) {
			*err = xasprintf("--mechanism %s: expected "
			                 "SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN",
			    arg);
			return -1;
		}
		return 0;
	case OPT_ALLOW_PLAIN:
		seen->client_only = "--allow-plain";
		c->allow_plain = true;
		return 0;
	case OPT_MAP:
		return jidmap_add_arg(o->map, arg, err);
	case OPT_SPEED:
		seen->speed = true;
		if (opts_number(arg, &c->speed) == -1) {
			*err = xasprintf("--speed %s: expected a number above "
			                 "0",
			    arg);
			return -1;
		}
		return 0;
	case OPT_FAST:
		seen->fast = true;
		c->speed = 0;
		return 0;
	case OPT_TIMEOUT:
		if (opts_number(arg, &c->timeout) == -1) {
			*err = xasprintf("--timeout %s: expected seconds above "
			                 "0",
			    arg);
			return -1;
		}
		return 0;
	case OPT_SESSION:
		o->session = arg;
		return 0;
	case OPT_JSON:
		o->json = arg;
		return 0;
	}
	return -1;
}

/* Checks that the options fit the mode; fills what both modes share. */
static int
opts_check(struct opts *o, const struct opts_seen *seen, char **err)
{
	struct client_opts *c = &o->client;

	if (seen->speed && seen->fast) {
		*err = xstrdup("--speed and --fast exclude each other");
		return -1;
	}
	if ((c->server != NULL) == o->serve) {
		*err = xstrdup("give exactly one of --server HOST:PORT (client "
		               "mode) and --serve ADDR:PORT (server mode)");
		return -1;
	}
	if (o->serve && seen->client_only != NULL) {
		*err = xasprintf(
		    "%s is for client mode (--server)", seen->client_only);
		return -1;
	}
	if (!o->serve && seen->server_only != NULL) {
		*err = xasprintf(
		    "%s is for server mode (--serve)", seen->server_only);
		return -1;
	}
	if ((o->server.cert == NULL) != (o->server.key == NULL)) {
		*err = xstrdup("--cert and --key go together");
		return -1;
	}
	if (c->ca_file != NULL && !c->verify) {
		*err = xstrdup("--ca and --no-verify exclude each other");
		return -1;
	}
	if (!o->serve) {
		if (c->jid == NULL)
			c->jid = getenv("XG_REPLAY_JID");
		if (c->password == NULL)
			c->password = getenv("XG_REPLAY_PASSWORD");
		if (c->jid == NULL || *c->jid == '\0') {
			*err = xstrdup("client mode needs the account: --jid "
			               "JID (or XG_REPLAY_JID)");
			return -1;
		}
		if (c->password == NULL) {
			*err = xstrdup("client mode needs the password: "
			               "XG_REPLAY_PASSWORD (or --password)");
			return -1;
		}
	}
	o->server.speed = c->speed;
	o->server.timeout = c->timeout;
	o->server.map = o->map;
	c->map = o->map;
	return 0;
}

int
opts_parse(struct opts *o, int argc, char *argv[], char **err)
{
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, OPT_SERVER},
	    {"serve", required_argument, NULL, OPT_SERVE},
	    {"tls", required_argument, NULL, OPT_TLS},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"server-name", required_argument, NULL, OPT_SERVER_NAME},
	    {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"jid", required_argument, NULL, OPT_JID},
	    {"password", required_argument, NULL, OPT_PASSWORD},
	    {"mechanism", required_argument, NULL, OPT_MECHANISM},
	    {"allow-plain", no_argument, NULL, OPT_ALLOW_PLAIN},
	    {"map", required_argument, NULL, OPT_MAP},
	    {"speed", required_argument, NULL, OPT_SPEED},
	    {"fast", no_argument, NULL, OPT_FAST},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"session", required_argument, NULL, OPT_SESSION},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct opts_seen seen = {NULL, NULL, false, false};
	int ch;

	memset(o, 0, sizeof(*o));
	o->map = jidmap_new();
	o->client.verify = true;
	o->client.speed = 1;
	o->client.timeout = 5;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			o->verbose++;
			break;
		case 'h':
			o->help = true;
			return 0;
		case 'V':
			o->version = true;
			return 0;
		case ':':
			*err = xasprintf("%s needs a value", argv[optind - 1]);
			return -1;
		case '?':
			*err = xasprintf("unknown option %s", argv[optind - 1]);
			return -1;
		default:
			if (opts_one(o, ch, optarg, &seen, err) == -1)
				return -1;
		}
	}
	if (optind != argc - 1) {
		*err =
		    xstrdup(optind == argc
		                ? "no RECORDING given"
		                : "one RECORDING only (options go before it)");
		return -1;
	}
	o->recording = argv[optind];
	return opts_check(o, &seen, err);
}

void
opts_fini(struct opts *o)
{
	jidmap_free(o->map);
	o->map = NULL;
}
