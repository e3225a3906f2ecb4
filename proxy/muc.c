/* SPDX-License-Identifier: ISC */
/*
 * Learning a session's MUC rooms: a room is the bare JID of
 * - the destination of the client's presence carrying <x xmlns=muc/> (a
 *   join), or of its groupchat message;
 * - the sender of a presence carrying <x xmlns=muc#user/> (occupant
 *   presence), of a groupchat message, or of a message carrying muc#user
 *   (a private message through the room, an invitation).
 * Rooms are never forgotten while the session lasts (a user who left may
 * still get late traffic from the room), except past MUC_MAX_ROOMS.
 */
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "muc.h"
#include "xmalloc.h"
#include "xmlstream.h"

void
muc_init(struct muc *m)
{
	m->rooms = NULL;
	m->n = 0;
}

void
muc_fini(struct muc *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->rooms[i]);
	free(m->rooms);
	muc_init(m);
}

static bool
muc_has_bare(const struct muc *m, const char *bare)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->rooms[i], bare) == 0)
			return true;
	return false;
}

static void
muc_add(struct muc *m, const char *jid)
{
	char *bare = jid_bare(jid);

	if (bare == NULL)
		return;
	if (muc_has_bare(m, bare)) {
		free(bare);
		return;
	}
	if (m->n == MUC_MAX_ROOMS) {
		free(m->rooms[0]);
		memmove(m->rooms, m->rooms + 1, (m->n - 1) * sizeof(*m->rooms));
		m->n--;
	}
	m->rooms = xreallocarray(m->rooms, m->n + 1, sizeof(*m->rooms));
	m->rooms[m->n++] = bare;
}

void
muc_observe(struct muc *m, bool c2s, const struct xnode *el)
{
	const char *type = xnode_attr(el, "type");
	bool groupchat = type != NULL && strcmp(type, "groupchat") == 0;
	const char *peer = xnode_attr(el, c2s ? "to" : "from");

	if (peer == NULL || el->ns == NULL ||
	    strcmp(el->ns, XMLSTREAM_NS_CLIENT) != 0)
		return;
	if (strcmp(el->name, "presence") == 0) {
		if (xnode_child(el, c2s ? MUC_NS : MUC_NS_USER, "x") != NULL)
			muc_add(m, peer);
	} else if (strcmp(el->name, "message") == 0) {
		if (groupchat ||
		    (!c2s && xnode_child(el, MUC_NS_USER, "x") != NULL))
			muc_add(m, peer);
	}
}

bool
muc_is_room(const struct muc *m, const char *jid)
{
	char *bare;
	bool yes;

	if (jid == NULL || m->n == 0 || (bare = jid_bare(jid)) == NULL)
		return false;
	yes = muc_has_bare(m, bare);
	free(bare);
	return yes;
}
