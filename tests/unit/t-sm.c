/* SPDX-License-Identifier: ISC */
/*
 * Stream management (XEP-0198) through real sessions that drop and inject
 * stanzas (sesstest.h, with the filter chain from the config): every `h`
 * each side receives must count what that side sent or got, not what the
 * proxy passed on. One session enables SM, drops and bounces in both
 * directions with acks in between, and ends by a dropped TCP connection;
 * its state waits in the smack_table, and a second session resumes it with
 * <resume/> and <resumed/> translated. A stream closed cleanly parks
 * nothing; one closed while its <resume/> waits puts the state back. The h
 * arithmetic itself is t-smack; the verdicts themselves are t-policy.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "events.h"
#include "session.h"
#include "smack.h"

#include "../tap.h"
#include "jsonev.h"
#include "sesstest.h"

#define RULES                                                                  \
	"\"filters\": [{\"name\": \"no-forbidden\", \"type\": \"regex\", "     \
	"\"direction\": \"c2s\", \"action\": \"drop\", "                       \
	"\"match\": {\"text\": \"forbidden\"}}, {\"name\": \"bounce-spam\", "  \
	"\"type\": \"regex\", \"action\": \"bounce\", "                        \
	"\"reason\": \"no spam\", \"match\": {\"text\": \"spam\"}}]"

#define NS_SM "urn:xmpp:sm:3"
#define FEAT                                                                   \
	"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"    \
	"<sm xmlns='" NS_SM "'/></stream:features>"
#define ENABLE "<enable xmlns='" NS_SM "' resume='true'/>"
#define ENABLED "<enabled xmlns='" NS_SM "' id='sm-1' resume='true'/>"
#define ACK(h) "<a xmlns='" NS_SM "' h='" h "'/>"
#define RESUME(h) "<resume xmlns='" NS_SM "' previd='sm-1' h='" h "'/>"
#define RESUMED(h) "<resumed xmlns='" NS_SM "' previd='sm-1' h='" h "'/>"
/* The client's message n, and the server's. */
#define CMSG(n, text)                                                          \
	"<message to='b@example.org/x' type='chat' id='c" n "'><body>" text    \
	"</body></message>"
#define SMSG(n, text)                                                          \
	"<message from='b@example.org/x' to='" BOUND_JID                       \
	"' type='chat' id='s" n "'><body>" text "</body></message>"
#define ERR(id, from, to)                                                      \
	"<message type='error' id='" id "' from='" from "' to='" to "'>"       \
	"<error type='modify'><policy-violation "                              \
	"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "                  \
	"xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>no spam "   \
	"(rule bounce-spam)</text></error></message>"

/* A session parking in smtab, both streams open and the features taken. */
static void
t_begin(struct sesstest *t, struct smack_table *smtab)
{
	sesstest_init_sm(t, smtab, "", "", "%s", RULES);
	sesstest_send(t->client, C_HDR);
	sesstest_wait_for(t, sesstest_s_in(t), C_HDR);
	sesstest_send(t->server, S_HDR FEAT);
	sesstest_wait_for(t, sesstest_c_in(t), "</stream:features>");
	free(sesstest_take(t->client));
	free(sesstest_take(t->server));
}

/* What the server / the client got up to a barrier (sesstest_through). */
static void
server_got(struct sesstest *t, const char *want, const char *what)
{
	char *got = sesstest_through(t, t->client, t->server);

	is_str(got, want, "%s", what);
	free(got);
}

static void
client_got(struct sesstest *t, const char *want, const char *what)
{
	char *got = sesstest_through(t, t->server, t->client);

	is_str(got, want, "%s", what);
	free(got);
}

/*
 * The first connection. What each flow holds at the end, as the peers
 * count: the client sent c1..c6 (c2 dropped, c4 and c6 bounced), the server
 * got c1 c3 c5 and the error for s4; the server sent s1..s6 (s4 bounced),
 * the client got s1 s2 s3 s5 s6 and the errors for c4 and c6.
 */
static void
first_connection(struct smack_table *smtab)
{
	struct sesstest t;
	cJSON *evs;
	char *got;

	t_begin(&t, smtab);
	sesstest_send(t.client, BIND_SET);
	server_got(&t, BIND_SET, "bind relayed");
	sesstest_send(t.server, BIND_RESULT);
	client_got(&t, BIND_RESULT, "bind result relayed");
	sesstest_send(t.client, ENABLE);
	server_got(&t, ENABLE, "<enable/> relayed as it is");
	sesstest_send(t.server, ENABLED);
	client_got(&t, ENABLED, "<enabled/> relayed as it is");

	sesstest_send(t.client, CMSG("1", "one"));
	sesstest_send(t.client, CMSG("2", "forbidden"));
	sesstest_send(t.client, CMSG("3", "three"));
	server_got(&t, CMSG("1", "one") CMSG("3", "three"),
	    "the 2nd of 3 messages is dropped");
	sesstest_send(t.server, ACK("2"));
	client_got(&t, ACK("3"),
	    "the server's h=2 reaches the client as h=3 (the drop counted)");

	sesstest_send(t.server, SMSG("1", "one"));
	sesstest_send(t.server, SMSG("2", "two"));
	client_got(&t, SMSG("1", "one") SMSG("2", "two"), "s1 s2 relayed");
	sesstest_send(t.client, CMSG("4", "spam"));
	server_got(&t, "", "c4 bounced: the server gets nothing");
	sesstest_send(t.server, SMSG("3", "three"));
	client_got(&t,
	    ERR("c4", "b@example.org/x", BOUND_JID) SMSG("3", "three"),
	    "the client gets the error for c4, then s3");
	sesstest_send(t.client, ACK("4"));
	server_got(&t, ACK("3"),
	    "the client's h=4 reaches the server as h=3 (without the error)");

	sesstest_send(t.server, SMSG("4", "spam"));
	client_got(&t, "", "s4 bounced: the client gets nothing");
	server_got(&t, ERR("s4", BOUND_JID, "b@example.org/x"),
	    "the server gets the error for s4");
	sesstest_send(t.server, ACK("3"));
	client_got(&t, ACK("4"),
	    "the server's h=3 (c1 c3 and an error) reaches the client as "
	    "h=4 (c1..c4)");
	sesstest_send(t.client, ACK("4"));
	server_got(&t, ACK("4"),
	    "the client's h=4 again reaches the server as h=4 (s4 dropped)");

	sesstest_send(t.client, CMSG("5", "five"));
	server_got(&t, CMSG("5", "five"), "c5 relayed");
	sesstest_send(t.server, SMSG("5", "five"));
	client_got(&t, SMSG("5", "five"), "s5 relayed");
	sesstest_send(t.client, CMSG("6", "spam"));
	server_got(&t, "", "c6 bounced");
	sesstest_send(t.server, SMSG("6", "six"));
	client_got(&t, ERR("c6", "b@example.org/x", BOUND_JID) SMSG("6", "six"),
	    "the error for c6, then s6");

	/* The client's connection drops: the session stays resumable. */
	sesstest_hang_up(&t.client);
	ok(sesstest_run_until(&t, sesstest_freed, 6),
	    "the session ends when the client's connection drops");
	is_int(smack_table_count(smtab), 1, "its SM state is parked");
	got = sesstest_take(t.server);
	ok(strstr(got, CLOSE) == NULL,
	    "the upstream gets no </stream:stream> (the drop is mirrored)");
	free(got);
	events_flush(t.events);
	evs = jsonev_load(t.events_path);
	ok(jsonev_closed_for(evs, "client-dropped"), "reason client-dropped");
	cJSON_Delete(evs);
	sesstest_fini(&t);
}

/* The client comes back and resumes sm-1. */
static void
second_connection(struct smack_table *smtab)
{
	const cJSON *bind;
	struct sesstest t;
	cJSON *evs;

	t_begin(&t, smtab);
	/* The client has five of s1..s6 and two errors: 7; the server sent 6.
	 */
	sesstest_send(t.client, RESUME("7"));
	server_got(&t, RESUME("6"), "<resume h=7/> reaches the server as h=6");
	is_int(smack_table_count(smtab), 0, "the parked state is taken");
	/* The server has c1 c3 c5 and an error: 4; the client sent c1..c6. */
	sesstest_send(t.server, RESUMED("4"));
	client_got(
	    &t, RESUMED("6"), "<resumed h=4/> reaches the client as h=6");
	is_int(session_state(t.s), SESSION_ESTABLISHED,
	    "established after <resumed/>");
	events_flush(t.events);
	evs = jsonev_load(t.events_path);
	bind = jsonev_one(evs, "bind");
	ok(bind != NULL && jsonev_eq(bind, "jid", BOUND_JID) &&
	        jsonev_true(bind, "resumed"),
	    "the resumed session knows its JID from the parked state (a bind "
	    "event with resumed true)");
	cJSON_Delete(evs);
	sesstest_send(t.client, CMSG("7", "seven"));
	sesstest_send(t.client, CMSG("8", "forbidden"));
	server_got(&t, CMSG("7", "seven"), "c7 relayed, c8 dropped");
	sesstest_send(t.server, ACK("5"));
	client_got(&t, ACK("8"),
	    "counting goes on from the resumed counts: h=5 becomes h=8");
	sesstest_send(t.server, SMSG("7", "seven"));
	client_got(&t, SMSG("7", "seven"), "s7 relayed");
	sesstest_send(t.client, ACK("8"));
	server_got(&t, ACK("7"), "and the client's h=8 becomes h=7");
	sesstest_fini(&t);
	is_int(smack_table_count(smtab), 1,
	    "dropped again, the resumed state is parked again");
}

/* A stream closed with </stream:stream> ends its SM session for good. */
static void
clean_close(void)
{
	struct smack_table *smtab = smack_table_new();
	struct sesstest t;

	t_begin(&t, smtab);
	sesstest_send(t.client, ENABLE);
	server_got(&t, ENABLE, "clean close: <enable/> relayed");
	sesstest_send(t.server, ENABLED);
	client_got(&t, ENABLED, "clean close: <enabled/> relayed");
	sesstest_send(t.client, CMSG("1", "forbidden"));
	server_got(&t, "", "clean close: a drop to remember");
	sesstest_send(t.client, CLOSE);
	sesstest_send(t.server, CLOSE);
	ok(sesstest_run_until(&t, sesstest_freed, 6), "clean close: ends");
	is_int(smack_table_count(smtab), 0,
	    "clean close: nothing parked (the server will not resume it)");
	sesstest_fini(&t);
	smack_table_free(smtab);
}

/*
 * A client silent past the idle timeout is most likely gone: with
 * resumable SM its server stream is left open (no </stream:stream>) and
 * the state parked, so it can come back and resume.
 */
static void
idle_timeout(void)
{
	struct smack_table *smtab = smack_table_new();
	struct sesstest t;
	char *got;

	sesstest_init_sm(&t, smtab, "", "",
	    "%s, \"limits\": "
	    "{\"idle_timeout_s\": 1}",
	    RULES);
	sesstest_send(t.client, C_HDR);
	sesstest_wait_for(&t, sesstest_s_in(&t), C_HDR);
	sesstest_send(t.server, S_HDR FEAT);
	sesstest_wait_for(&t, sesstest_c_in(&t), "</stream:features>");
	free(sesstest_take(t.client));
	free(sesstest_take(t.server));
	sesstest_send(t.client, BIND_SET);
	server_got(&t, BIND_SET, "idle: bind relayed");
	sesstest_send(t.server, BIND_RESULT);
	client_got(&t, BIND_RESULT, "idle: bind result relayed");
	sesstest_send(t.client, ENABLE);
	server_got(&t, ENABLE, "idle: <enable/> relayed");
	sesstest_send(t.server, ENABLED);
	client_got(&t, ENABLED, "idle: <enabled/> relayed");
	ok(sesstest_run_until(&t, sesstest_freed, 4),
	    "idle: the session times out");
	got = sesstest_take(t.client);
	ok(strstr(got, "connection-timeout") != NULL,
	    "idle: the client gets connection-timeout");
	free(got);
	got = sesstest_take(t.server);
	ok(strstr(got, CLOSE) == NULL,
	    "idle: the server's stream is left open for a resumption");
	free(got);
	is_int(smack_table_count(smtab), 1, "idle: the SM state is parked");
	sesstest_fini(&t);
	smack_table_free(smtab);
}

/*
 * A <resume/> the server never answered, on a stream then closed: the old
 * SM session was not touched, and its state goes back to the table.
 */
static void
unanswered_resume(void)
{
	struct smack_table *smtab = smack_table_new();
	struct sesstest t;

	t_begin(&t, smtab);
	sesstest_send(t.client, ENABLE);
	server_got(&t, ENABLE, "unanswered resume: <enable/> relayed");
	sesstest_send(t.server, "<enabled xmlns='" NS_SM "' id='sm-2' "
	                        "resume='true'/>");
	sesstest_send(t.client, CMSG("1", "forbidden"));
	server_got(&t, "", "unanswered resume: a drop to remember");
	sesstest_hang_up(&t.client);
	ok(sesstest_run_until(&t, sesstest_freed, 6),
	    "unanswered resume: the first connection drops");
	sesstest_fini(&t);
	is_int(smack_table_count(smtab), 1, "unanswered resume: parked");

	t_begin(&t, smtab);
	sesstest_send(t.client, "<resume xmlns='" NS_SM "' previd='sm-2' "
	                        "h='0'/>");
	server_got(&t, "<resume xmlns='" NS_SM "' previd='sm-2' h='0'/>",
	    "unanswered resume: <resume/> relayed");
	is_int(smack_table_count(smtab), 0, "unanswered resume: taken");
	sesstest_send(t.client, CLOSE);
	sesstest_send(t.server, CLOSE);
	ok(sesstest_run_until(&t, sesstest_freed, 6),
	    "unanswered resume: the stream closes before an answer");
	is_int(smack_table_count(smtab), 1,
	    "unanswered resume: the state is back in the table");
	sesstest_fini(&t);
	smack_table_free(smtab);
}

int
main(void)
{
	struct smack_table *smtab = smack_table_new();

	first_connection(smtab);
	second_connection(smtab);
	smack_table_free(smtab);
	clean_close();
	idle_timeout();
	unanswered_resume();
	return done_testing();
}
