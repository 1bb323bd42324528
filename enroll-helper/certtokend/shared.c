/* certtokend: what the request handlers share: the attribute-source pool,
 * the issuers, the checks made before any prompt, authorisation, recording
 * a certificate token (through lib/certtoken.c) and the answers. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "certtoken.h"
#include "certtokend.h"
#include "util.h"
#include "connector.h"
#include "events.h"

/* ---- shared resources ---- */

void
issuer_unref(struct daemon *d, struct issuer_ref *r)
{
	int last;

	if (r == NULL)
		return;
	pthread_mutex_lock(&d->ca_mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&d->ca_mu);
	if (last) {
		ct_issuer_free(r->is);
		ct_ca_free(r->ca);
		free(r);
	}
}

/* The issuer of target T (index TI), reloaded when the group's CA version
 * changed since it was loaded (files: ca rotate puts a new ca.pem in its
 * place, a new directory, so its device and inode tell a rotation even
 * within the mtime's granularity).  ca rotate --prepare swaps in a new
 * directory too: that reloads the same current CA (ct_ca_load never reads
 * the prepared one), which is harmless.  The caller holds a reference. */
int
issuer_get(struct daemon *d, size_t ti, struct issuer_ref **out, struct ct_err *err)
{
	const struct ct_target *t = &d->cfg->targets[ti];
	struct issuer_ref *r, *old = NULL;
	struct ct_ca_version v;
	int rc = CT_OK;

	pthread_mutex_lock(&d->ca_mu);
	r = d->issuers[ti];
	if (ct_ca_version(d->store, t->group, &v, NULL) != CT_OK) {
		rc = ct_err_set(err, CT_ECONFIG,
		    "access group '%s' of target '%s' has no CA (certtoken-admin ca init %s)",
		    t->group->name, t->name, t->group->name);
		goto out;
	}
	if (r != NULL && strcmp(r->version.id, v.id) == 0)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	r->refs = 1;
	r->version = v;
	if ((rc = ct_ca_load(d->store, t->group, &r->ca, err)) != CT_OK ||
	    (rc = ct_issuer_new(t, r->ca, &r->is, err)) != CT_OK) {
		if (rc == CT_ENOENT)
			rc = CT_ECONFIG;
		ct_ca_free(r->ca);
		free(r);
		r = NULL;
		goto out;
	}
	old = d->issuers[ti];
	d->issuers[ti] = r;
out:
	if (rc == CT_OK)
		r->refs++;
	pthread_mutex_unlock(&d->ca_mu);
	if (old != NULL)
		issuer_unref(d, old);
	*out = rc == CT_OK ? r : NULL;
	return rc;
}

/* ---- attributes and events ---- */

static void
event_log(void *arg, int prio, const char *line)
{
	(void)arg;
	logmsg(prio, "%s", line);
}

/* The caller's attributes from the directory.  With ANSWER, a failure is
 * answered to the client. */
int
lookup_attrs(struct conn *c, struct ct_attrs **out, int answer)
{
	struct ct_ldap *conn;
	struct ct_err err = {0};
	int rc;

	*out = NULL;
	if (ct_ldap_pool_get(c->d->ldap_pool, c->deadline, &conn, &err) != CT_OK) {
		if (answer)
			reply_error(c, CT_EUNAVAIL, "the directory is busy; try again");
		return CT_EUNAVAIL;
	}
	rc = ct_attrsrc_lookup_on(c->d->attrsrc, conn, 0, c->user, out, &err);
	ct_ldap_pool_put(c->d->ldap_pool, conn);
	if (rc != CT_OK) {
		logmsg(LOG_NOTICE, "user %s (uid %u): attributes: %s", c->user, (unsigned)c->uid,
		    err.msg);
		if (answer && rc == CT_ENOENT)
			reply_error(c, rc, "user %s is not in the directory", c->user);
		else if (answer)
			reply_error(c, rc, "attributes: %s", err.msg);
	}
	return rc;
}

/* Run the event handlers for EVENT on token T. */
void
fire(struct conn *c, const char *event, const struct ct_token *t, const struct ct_attrs *attrs)
{
	const struct ct_config *cfg = c->d->cfg;
	struct ct_event_ctx ctx = {event, c->user, t, attrs, t->issuer};
	struct ct_attrs *own = NULL;

	if (cfg->n_events == 0)
		return;
	if (attrs == NULL && ct_events_need_attrs(cfg, event) && lookup_attrs(c, &own, 0) == CT_OK)
		ctx.attrs = own;
	ct_events_fire(cfg, &ctx, event_log, NULL);
	ct_attrs_free(own);
}

/* ---- before any prompt ---- */

/* May the caller enroll for access group G?  Everyone when it names no Unix
 * groups; otherwise only members (primary or supplementary, through NSS). */
static int
allowed(const struct conn *c, const struct ct_group *g)
{
	gid_t gids[256];
	struct group gr;
	size_t k;
	char *buf = NULL;
	int n = (int)(sizeof(gids) / sizeof(gids[0])), i, e, ok = 0;

	if (g->n_unix_groups == 0)
		return 1;
	if (getgrouplist(c->user, c->gid, gids, &n) < 0)
		n = (int)(sizeof(gids) / sizeof(gids[0])); /* truncated: check what we have */
	for (k = 0; k < g->n_unix_groups && !ok; k++) {
		/* the entry of a group with many members needs a large buffer */
		free(buf);
		buf = NULL;
		if (ct_nss_getgrnam(g->unix_groups[k], &gr, &buf, &e) != CT_OK) {
			if (e != 0)
				logmsg(LOG_ERR, "access group %s: Unix group %s: %s", g->name,
				    g->unix_groups[k], strerror(e));
			continue;
		}
		for (i = 0; i < n && !ok; i++)
			ok = gids[i] == gr.gr_gid;
	}
	free(buf);
	return ok;
}

int
peek_tokens(struct conn *c, const char *what, struct ct_user_tokens *ut)
{
	struct ct_err err = {0};
	int rc;

	memset(ut, 0, sizeof(*ut));
	if ((rc = ct_tokens_peek(c->d->store, c->user, ut, &err)) == CT_ENOENT)
		return CT_OK;
	if (rc != CT_OK) {
		logmsg(LOG_ERR, "%s for user %s (uid %u): %s", what, c->user, (unsigned)c->uid,
		    err.msg);
		reply_error(c, rc, "the service cannot read your tokens; see the system log");
	}
	return rc;
}

/* Refuse now, before any prompt, what could only fail later: a user who
 * may not use the target, or whose token list has no room. */
int
precheck(struct conn *c, const struct ct_target *t)
{
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	int rc;

	if (!allowed(c, t->group)) {
		logmsg(LOG_NOTICE,
		    "enrollment refused for user %s (uid %u): not in the Unix groups of access "
		    "group %s (target %s)",
		    c->user, (unsigned)c->uid, t->group->name, t->name);
		reply_error(c, CT_EPERM, "you may not enroll for target '%s' (access group %s)",
		    t->name, t->group->name);
		return CT_EPERM;
	}
	if ((rc = peek_tokens(c, "enrollment", &ut)) != CT_OK)
		return rc;
	if ((rc = ct_certtoken_make_room(&ut, c->user, time(NULL), NULL, &err)) != CT_OK)
		reply_error(c, rc, "%s", err.msg);
	ct_user_tokens_clear(&ut);
	return rc;
}

/* The target named in M, or the default one ("default", else the first). */
ssize_t
pick_target(struct conn *c, const struct ct_msg *m)
{
	const struct ct_config *cfg = c->d->cfg;
	const struct ct_field *f = ct_msg_get(m, CT_TAG_TARGET);
	struct ct_err err = {0};
	char name[CT_NAME_MAX + 1];
	size_t i;

	if (f == NULL || f->len == 0)
		snprintf(name, sizeof(name), "default");
	else if (ct_field_text(f, name, sizeof(name), &err) != CT_OK || !ct_name_valid(name)) {
		reply_error(c, CT_EINVAL, "malformed target name");
		return -1;
	}
	for (i = 0; i < cfg->n_targets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return (ssize_t)i;
	if (f == NULL || f->len == 0)
		return 0;
	reply_error(c, CT_ENOENT, "unknown target '%s'", name);
	return -1;
}

/* What enroll and keygen do between their checks and the key: load the
 * issuer (local connector), run the PAM service (WHAT names the request),
 * read the attributes and make a token serial.  CT_OK or answered. */
int
authorize(struct conn *c, const struct ct_target *t, size_t ti, const char *what,
    struct issuer_ref **ir, struct ct_attrs **attrs, char token[CT_SERIAL_MAX])
{
	struct ct_err err = {0};
	int rc;

	if ((ct_connector_caps(t->connector) & CT_CX_SIGNS_HERE) &&
	    (rc = issuer_get(c->d, ti, ir, &err)) != CT_OK) {
		logmsg(LOG_ERR, "target %s: %s", t->name, err.msg);
		reply_error(c, rc, "%s", err.msg);
		return rc;
	}
	if ((rc = run_pam(c, what)) != CT_OK || (rc = lookup_attrs(c, attrs, 1)) != CT_OK ||
	    (rc = past_deadline(c, what)) != CT_OK)
		return rc;
	if ((rc = ct_tokens_new_serial("CERT", token)) != CT_OK) {
		reply_error(c, CT_ECRYPTO, "cannot make a token serial");
		return CT_ECRYPTO;
	}
	return CT_OK;
}

int
past_deadline(struct conn *c, const char *what)
{
	if (ct_now_ms() < c->deadline)
		return CT_OK;
	logmsg(LOG_NOTICE,
	    "%s for user %s (uid %u) abandoned: the connection's deadline (service.timeout %d s) "
	    "passed before anything was issued",
	    what, c->user, (unsigned)c->uid, c->d->cfg->service.timeout);
	reply_error(
	    c, CT_EUNAVAIL, "the service ran out of time (service.timeout); nothing was issued");
	return CT_EUNAVAIL;
}

/* ---- recording ---- */

int
record_issued(struct conn *c, const struct ct_target *t, const char *token, int pending,
    const char *desc, const unsigned char *der, size_t der_len, const struct ct_cert_info *info,
    struct ct_token *out)
{
	return record_issued_ssh(c, t, token, pending, desc, der, der_len, info, 0, out);
}

int
record_issued_ssh(struct conn *c, const struct ct_target *t, const char *token, int pending,
    const char *desc, const unsigned char *der, size_t der_len, const struct ct_cert_info *info,
    uint64_t ssh_serial, struct ct_token *out)
{
	struct ct_certtoken_rec r = {.st = c->d->store,
	    .user = c->user,
	    .target = t->name,
	    .group = t->group->name,
	    .token = token,
	    .desc = desc,
	    .der = der,
	    .der_len = der_len,
	    .info = info,
	    .pending = pending,
	    .now = time(NULL),
	    .deadline = c->deadline,
	    .ssh_serial = ssh_serial};
	struct ct_err err = {0};
	int rc;

	if ((rc = ct_certtoken_record_issued(&r, &err)) != CT_OK) {
		logmsg(LOG_ERR, "user %s (uid %u): certificate serial %s not delivered: %s%s",
		    c->user, (unsigned)c->uid, r.cert.serial[0] ? r.cert.serial : "?",
		    r.failed_in_token ? "token: " : "", err.msg);
		reply_failure(c, rc, r.failed_in_token && rc == CT_EEXIST, err.msg,
		    r.failed_in_token ? "could not record the token"
		                      : "could not record the certificate");
		return rc;
	}
	if (r.dropped.serial[0] != '\0')
		logmsg(LOG_INFO,
		    "user %s: certificate token %s (certificate serial %s) makes room for a new "
		    "one",
		    c->user, r.dropped.serial, r.dropped.cert_serial);
	logmsg(LOG_INFO,
	    "enrolled user %s (uid %u): target %s, certificate serial %s, token %s, subject "
	    "\"%s\", not after %s",
	    c->user, (unsigned)c->uid, t->name, r.cert.serial, token, r.cert.subject,
	    r.cert.not_after_text);
	*out = r.tok;
	return CT_OK;
}

int
record_pending(struct conn *c, const struct ct_target *t, const char *token,
    const unsigned char *csr, size_t csr_len, const char *ref, struct ct_token *out)
{
	struct ct_request r;
	struct ct_err err = {0};
	char desc[CT_DESC_MAX];
	int rc;

	memset(&r, 0, sizeof(r));
	snprintf(r.token, sizeof(r.token), "%s", token);
	snprintf(r.user, sizeof(r.user), "%s", c->user);
	snprintf(r.target, sizeof(r.target), "%s", t->name);
	snprintf(r.ref, sizeof(r.ref), "%s", ref);
	r.created = (int64_t)time(NULL);
	r.csr = (unsigned char *)csr;
	r.csr_len = csr_len;
	snprintf(desc, sizeof(desc), "target %s, CA connector %s", t->name, t->connector->name);
	rc = ct_certtoken_record_pending(c->d->store, &r, desc, out, &err);
	if (rc != CT_OK) {
		logmsg(LOG_ERR, "user %s (uid %u): pending request for target %s not recorded: %s",
		    c->user, (unsigned)c->uid, t->name, err.msg);
		reply_failure(c, rc, rc == CT_EEXIST, err.msg, "could not record the request");
		return rc;
	}
	logmsg(LOG_INFO,
	    "request of user %s (uid %u) for target %s is pending: token %s, CA connector %s "
	    "(%s)%s%s",
	    c->user, (unsigned)c->uid, t->name, token, t->connector->name,
	    ct_connector_type_name(t->connector->type), strcmp(ref, "-") != 0 ? ", reference " : "",
	    strcmp(ref, "-") != 0 ? ref : "");
	return CT_OK;
}

/* ---- answers ---- */

int
issued_result(struct ct_msgbuf *b, const char *target, const char *token, const unsigned char *der,
    size_t der_len)
{
	unsigned char code = 0;
	int rc;

	if ((rc = ct_msgbuf_init(b, CT_MSG_RESULT)) != CT_OK)
		return rc;
	ct_msgbuf_add(b, CT_TAG_CODE, &code, 1);
	ct_msgbuf_add_str(b, CT_TAG_MESSAGE, "issued");
	ct_msgbuf_add_str(b, CT_TAG_TARGET, target);
	ct_msgbuf_add(b, CT_TAG_CERT, der, der_len);
	ct_msgbuf_add_str(b, CT_TAG_TOKEN, token);
	return CT_OK;
}

void
send_issued(
    struct conn *c, const char *target, const char *token, const unsigned char *der, size_t der_len)
{
	struct ct_msgbuf b = {0};
	struct ct_err err = {0};

	if (issued_result(&b, target, token, der, der_len) != CT_OK)
		return;
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		logmsg(LOG_NOTICE, "user %s (uid %u): certificate of token %s not delivered: %s",
		    c->user, (unsigned)c->uid, token, err.msg);
	ct_msgbuf_free(&b);
}

/* RESULT 75: pending, with the target and the token. */
void
send_pending(struct conn *c, const struct ct_target *t, const char *token)
{
	struct ct_msgbuf b = {0};
	struct ct_err err = {0};
	unsigned char code = (unsigned char)ct_exit_status(CT_EPENDING);
	char msg[CT_PROTO_TEXT_MAX];

	snprintf(msg, sizeof(msg),
	    "request pending (%s): token %s; collect the certificate with 'certtoken-enroll "
	    "fetch %s'",
	    ct_connector_pending_why(t->connector), token, token);
	if (ct_msgbuf_init(&b, CT_MSG_RESULT) != CT_OK)
		return;
	ct_msgbuf_add(&b, CT_TAG_CODE, &code, 1);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, msg);
	ct_msgbuf_add_str(&b, CT_TAG_TARGET, t->name);
	ct_msgbuf_add_str(&b, CT_TAG_TOKEN, token);
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		logmsg(LOG_NOTICE,
		    "user %s (uid %u): pending answer for token %s not delivered: %s", c->user,
		    (unsigned)c->uid, token, err.msg);
	ct_msgbuf_free(&b);
}

void
connector_failed(
    struct conn *c, const struct ct_target *t, const char *what, int rc, const struct ct_err *err)
{
	logmsg(LOG_NOTICE, "%s failed for user %s (uid %u), target %s: %s", what, c->user,
	    (unsigned)c->uid, t->name, err->msg);
	if (ct_connector_caps(t->connector) & CT_CX_EXTERNAL)
		reply_error(c, CT_EUNAVAIL,
		    "the CA (connector %s) did not issue the certificate; see the system log",
		    t->connector->name);
	else
		reply_error(c, rc, "%s", err->msg);
}
