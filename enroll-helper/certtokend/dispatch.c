/* certtokend: the request table, and the life of one connection.
 *
 * A connection carries one request.  The table below is every message a
 * client may send: the requests, each taken only as the first message, and
 * the two answers a request may wait for (the PAM conversation's reply, the
 * proof of possession of an upload).  Anything else, or anything out of
 * place, is a protocol error: logged once, answered, and the connection
 * closes (conn_recv).  A field that a message type does not list is never
 * read. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "certtokend.h"

#define REQUEST_MS 10000 /* a client has this long to send its request */
#define LINGER_MS 200 /* how long the client may take to read our last word */

struct message_type {
	unsigned type;
	enum conn_state state; /* the only state in which it may arrive */
	void (*handle)(struct conn *c, const struct ct_msg *m); /* requests */
	const char *fields; /* what the handler reads (for readers of this table) */
};

static const struct message_type table[] = {
    {CT_MSG_ENROLL, STATE_REQUEST, do_enroll, "TARGET? CSR ATTESTATION?"},
    {CT_MSG_STATUS, STATE_REQUEST, do_status, ""},
    {CT_MSG_FETCH, STATE_REQUEST, do_fetch, "TOKEN"},
    {CT_MSG_UPLOAD, STATE_REQUEST, do_upload, "CERT"},
    {CT_MSG_KEYGEN, STATE_REQUEST, do_keygen, "TARGET? PIN? LEGACY?"},
    {CT_MSG_CONV_REPLY, STATE_CONV, NULL, "ANSWER..."},
    {CT_MSG_PROOF, STATE_PROOF, NULL, "SIGNATURE"},
};

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
	struct ct_err err = {0};
	int rc;

	if ((rc = ct_msg_recv(c->fd, m, deadline, &err)) != CT_OK) {
		logmsg(LOG_NOTICE, "user %s (uid %u): bad %s: %s", c->user, (unsigned)c->uid,
		    state_name(state), err.msg);
		if (rc == CT_EINVAL)
			reply_error(c, CT_EINVAL, "protocol error: %s", err.msg);
		c->broken = 1;
		return rc == CT_EINVAL ? CT_EINVAL : CT_EIO;
	}
	if (lookup(state, m->type) != NULL)
		return CT_OK;
	logmsg(LOG_NOTICE, "user %s (uid %u): unknown %s type %u", c->user, (unsigned)c->uid,
	    state_name(state), m->type);
	reply_error(c, CT_EINVAL, "protocol error: unknown %s type %u", state_name(state), m->type);
	c->broken = 1;
	ct_msg_free(m);
	return CT_EINVAL;
}

/* Give the connection's slot back and hang up: the slot counts until the
 * answer is written; the client then has LINGER_MS to read it. */
static void
finish(struct conn *c)
{
	struct daemon *d = c->d;

	pthread_mutex_lock(&d->conn_mu);
	d->conn_used[c->slot] = 0;
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->conn_mu);
	shutdown(c->fd, SHUT_WR);
	drain_input(c->fd, ct_now_ms() + LINGER_MS);
	close(c->fd);
	pthread_mutex_lock(&d->conn_mu);
	free(c);
	d->active--;
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->conn_mu);
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
