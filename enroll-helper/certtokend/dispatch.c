/* certtokend: the request table, and the life of one connection.
 *
 * A connection carries one request.  The table below is every message a
 * client may send: the requests, each taken only as the first message, and
 * the two answers a request may wait for (the PAM conversation's reply, the
 * proof of possession of an upload).  Anything else, or anything out of
 * place, is a protocol error: logged once, answered, and the connection
 * closes (conn_recv).  Each type lists the fields its handler reads; one of
 * those twice is a protocol error too (no reader may pick another copy than
 * the one checked), and a field it does not list is never read. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "certtokend.h"

#define REQUEST_MS 10000 /* a client has this long to send its request */
#define LINGER_MS 200 /* how long the client may take to read our last word */

#define ONE 1 /* a listed field may appear once */
#define MANY 2 /* ... or any number of times */

struct field {
	uint8_t tag;
	uint8_t times; /* ONE or MANY */
};

struct message_type {
	unsigned type;
	enum conn_state state; /* the only state in which it may arrive */
	void (*handle)(struct conn *c, const struct ct_msg *m); /* requests */
	struct field fields[4]; /* what the handler reads */
};

static const struct message_type table[] = {
    {CT_MSG_ENROLL, STATE_REQUEST, do_enroll,
        {{CT_TAG_TARGET, ONE}, {CT_TAG_CSR, ONE}, {CT_TAG_ATTESTATION, ONE}}},
    {CT_MSG_STATUS, STATE_REQUEST, do_status, {{0, 0}}},
    {CT_MSG_FETCH, STATE_REQUEST, do_fetch, {{CT_TAG_TOKEN, ONE}}},
    {CT_MSG_UPLOAD, STATE_REQUEST, do_upload, {{CT_TAG_CERT, ONE}}},
    {CT_MSG_KEYGEN, STATE_REQUEST, do_keygen,
        {{CT_TAG_TARGET, ONE}, {CT_TAG_PIN, ONE}, {CT_TAG_LEGACY, ONE}}},
    {CT_MSG_CONV_REPLY, STATE_CONV, NULL, {{CT_TAG_ANSWER, MANY}}},
    {CT_MSG_PROOF, STATE_PROOF, NULL, {{CT_TAG_SIGNATURE, ONE}}},
};

/* A field of M that type MT reads only once, found twice: its tag, or 0. */
static unsigned
repeated_field(const struct message_type *mt, const struct ct_msg *m)
{
	for (size_t k = 0; k < sizeof(mt->fields) / sizeof(mt->fields[0]); k++) {
		size_t seen = 0;

		if (mt->fields[k].times != ONE)
			continue;
		for (size_t i = 0; i < m->n; i++)
			if (m->f[i].tag == mt->fields[k].tag && ++seen > 1)
				return mt->fields[k].tag;
	}
	return 0;
}

static const struct message_type *
lookup(enum conn_state state, unsigned type)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].type == type && table[i].state == state)
			return &table[i];
	return NULL;
}

static const char *
state_name(enum conn_state s)
{
	switch (s) {
	case STATE_REQUEST: return "request";
	case STATE_CONV: return "conversation";
	case STATE_PROOF: return "proof of possession";
	}
	return "?";
}

int
conn_recv(struct conn *c, enum conn_state state, int64_t deadline, struct ct_msg *m)
{
	const struct message_type *mt;
	struct ct_err err = {0};
	unsigned twice = 0;
	int rc;

	if ((rc = ct_msg_recv(c->fd, m, deadline, &err)) != CT_OK) {
		logmsg_uid(c->uid, LOG_NOTICE, "user %s (uid %u): bad %s: %s", c->user,
		    (unsigned)c->uid, state_name(state), err.msg);
		if (rc == CT_EINVAL)
			reply_error(c, CT_EINVAL, "protocol error: %s", err.msg);
		c->broken = 1;
		return rc == CT_EINVAL ? CT_EINVAL : CT_EIO;
	}
	if ((mt = lookup(state, m->type)) != NULL && (twice = repeated_field(mt, m)) == 0)
		return CT_OK;
	if (mt == NULL) {
		logmsg_uid(c->uid, LOG_NOTICE, "user %s (uid %u): unknown %s type %u", c->user,
		    (unsigned)c->uid, state_name(state), m->type);
		reply_error(
		    c, CT_EINVAL, "protocol error: unknown %s type %u", state_name(state), m->type);
	} else {
		logmsg_uid(c->uid, LOG_NOTICE, "user %s (uid %u): %s type %u: field %u twice",
		    c->user, (unsigned)c->uid, state_name(state), m->type, twice);
		reply_error(c, CT_EINVAL, "protocol error: field %u twice", twice);
	}
	c->broken = 1;
	ct_msg_free(m);
	return CT_EINVAL;
}

/* C has written its last answer: its slot lingers while the client reads
 * it (no longer counted against max_clients or max_per_user, so the client
 * may connect again at once).  Only max_per_user connections of one uid,
 * and max_clients in all, linger at once; 0 for a connection beyond that,
 * which hangs up without waiting for its client. */
static int
linger(struct conn *c)
{
	struct daemon *d = c->d;
	int i, mine = 0, ok;

	pthread_mutex_lock(&d->conn_mu);
	for (i = 0; i < 2 * d->cfg->service.max_clients; i++)
		mine += d->conn_state[i] == SLOT_LINGER && d->conn_uid[i] == c->uid;
	ok = mine < d->cfg->service.max_per_user && d->lingering < d->cfg->service.max_clients;
	d->conn_state[c->slot] = SLOT_LINGER;
	d->lingering++;
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->conn_mu);
	return ok;
}

/* Hang up and give the connection's slot back: the slot counts until the
 * connection is closed and the thread ends; the client has LINGER_MS to
 * read our last word (when it may linger). */
static void
finish(struct conn *c)
{
	struct daemon *d = c->d;
	int wait = linger(c);

	shutdown(c->fd, SHUT_WR);
	drain_input(c->fd, wait ? ct_now_ms() + LINGER_MS : 0);
	close(c->fd);
	pthread_mutex_lock(&d->conn_mu);
	d->conn_state[c->slot] = SLOT_FREE;
	d->lingering--;
	d->active--;
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->conn_mu);
	free(c);
}

void *
serve(void *arg)
{
	struct conn *c = arg;
	struct ct_msg m = {0};
	int64_t until;

	if (identify(c) != 0)
		goto out;
	/* the request must come soon; the full deadline is for the conversation */
	until = ct_now_ms() + REQUEST_MS;
	if (conn_recv(c, STATE_REQUEST, c->deadline < until ? c->deadline : until, &m) != CT_OK)
		goto out;
	lookup(STATE_REQUEST, m.type)->handle(c, &m);
out:
	ct_msg_free(&m);
	finish(c);
	return NULL;
}
