/* certtokend: fetch, the certificate of a request that was pending: ask
 * the CA again when its connector can be asked, hand out a certificate
 * issued since (it is public), or say it is still pending or rejected. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "certindex.h"
#include "certtokend.h"
#include "connector.h"
#include "requests.h"
#include "util.h"

/* Ask the CA of target T again about pending request R. */
static void
fetch_again(struct conn *c, const struct ct_target *t, const struct ct_request *r)
{
	struct ct_cx_request rq = {.target = t,
	    .user = c->user,
	    .token = r->token,
	    .csr = r->csr,
	    .csr_len = r->csr_len,
	    .ref = r->ref,
	    .deadline = c->deadline};
	struct ct_cx_result res = {0};
	struct ct_token tok;
	struct ct_err err = {0};
	unsigned char *spki = NULL;
	char desc[CT_DESC_MAX];
	int rc;

	if ((rc = ct_csr_verify(r->csr, r->csr_len, &spki, &rq.spki_len, &err)) != CT_OK) {
		logmsg(LOG_ERR, "pending request %s: stored CSR: %s", r->token, err.msg);
		reply_error(c, CT_EIO, "the stored request is unusable; see the system log");
		goto out;
	}
	rq.spki = spki;
	rq.now = time(NULL);
	if (past_deadline(c, "fetch") != CT_OK)
		goto out;
	rc = ct_connector_fetch(&rq, &res, &err);
	if (res.note[0] != '\0')
		logmsg(LOG_WARNING, "%s", res.note);
	if (rc == CT_EPENDING) {
		send_pending(c, t, r->token);
		goto out;
	}
	if (rc != CT_OK) {
		logmsg(LOG_NOTICE, "fetch of token %s for user %s (uid %u): %s", r->token, c->user,
		    (unsigned)c->uid, err.msg);
		reply_error(c, CT_EUNAVAIL,
		    "the CA (connector %s) did not answer with a certificate; see the system log",
		    t->connector->name);
		goto out;
	}
	snprintf(desc, sizeof(desc), "target %s", t->name);
	if (record_issued(c, t, r->token, 1, desc, res.der, res.der_len,
	        res.has_info ? &res.info : NULL, &tok) != CT_OK)
		goto out;
	ct_request_remove(c->d->store, r->token, NULL);
	fire(c, "token_enrolled", &tok, NULL);
	send_issued(c, t->name, r->token, res.der, res.der_len);
out:
	ct_cx_result_clear(&res);
	OPENSSL_free(spki);
}

/* Token TOK was issued: hand out its certificate again. */
static void
fetch_issued(struct conn *c, const struct ct_token *tok)
{
	struct ct_cert_entry e;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	int len;

	memset(&e, 0, sizeof(e));
	if (tok->cert_serial[0] == '\0' || tok->target[0] == '\0' ||
	    ct_certindex_get(c->d->store, tok->cert_serial, &e, &err) != CT_OK)
		reply_error(
		    c, CT_EINVAL, "token %s has no certificate this service issued", tok->serial);
	else if ((len = i2d_X509(e.cert, &der)) <= 0)
		reply_error(c, CT_ECRYPTO, "cannot encode the certificate");
	else
		send_issued(c, tok->target, tok->serial, der, (size_t)len);
	OPENSSL_free(der);
	ct_cert_entry_clear(&e);
}

/* May the CA of T be asked again about pending request R now?  One
 * request asks at most once every poll_interval seconds, across connections
 * and restarts (the time is kept with the request); inside the interval the
 * answer is 75 with when to ask again, and nothing runs. */
static int
poll_allowed(struct conn *c, const struct ct_target *t, const struct ct_request *r)
{
	struct ct_err err = {0};
	int64_t now = (int64_t)time(NULL), next = 0;
	char when[32];
	int rc;

	rc = ct_request_poll(c->d->store, c->user, r->token, t->connector->poll_interval, now,
	    c->deadline, &next, &err);
	if (rc == CT_OK)
		return 1;
	if (rc == CT_EPENDING)
		reply_error(c, CT_EPENDING,
		    "request pending (%s): token %s; its CA is asked at most once every %d s: "
		    "fetch again after %s (in %lld s)",
		    ct_connector_pending_why(t->connector), r->token, t->connector->poll_interval,
		    ct_time_utc(next, CT_TIME_SPACED, when, sizeof(when)), (long long)(next - now));
	else if (rc == CT_EEXIST) /* decided since the peek */
		reply_error(c, rc, "token %s is no longer pending; fetch it again", r->token);
	else {
		logmsg(LOG_ERR, "fetch of token %s for user %s (uid %u): %s", r->token, c->user,
		    (unsigned)c->uid, err.msg);
		reply_error(
		    c, rc, "the request of token %s cannot be read; see the system log", r->token);
	}
	return 0;
}

/* Token TOK is pending: ask its CA again, or say it still is. */
static void
fetch_pending(struct conn *c, const struct ct_token *tok)
{
	const struct ct_target *t = NULL;
	struct ct_request r;
	struct ct_err err = {0};
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = ct_request_load(c->d->store, tok->serial, &r, &err)) != CT_OK ||
	    (t = ct_config_target(c->d->cfg, r.target)) == NULL) {
		logmsg(LOG_ERR, "fetch of token %s for user %s (uid %u): %s", tok->serial, c->user,
		    (unsigned)c->uid, rc != CT_OK ? err.msg : "its target is no longer configured");
		reply_error(c, rc != CT_OK ? rc : CT_ECONFIG,
		    "the request of token %s cannot be read; see the system log", tok->serial);
	} else if (ct_connector_caps(t->connector) & CT_CX_FETCH) {
		if (poll_allowed(c, t, &r))
			fetch_again(c, t, &r);
	} else
		send_pending(c, t, tok->serial);
	ct_request_clear(&r);
}

void
do_fetch(struct conn *c, const struct ct_msg *m)
{
	const struct ct_field *f = ct_msg_get(m, CT_TAG_TOKEN);
	const struct ct_token *tok = NULL;
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	char serial[CT_SERIAL_MAX];
	size_t i;

	memset(&ut, 0, sizeof(ut));
	if (f == NULL || ct_field_text(f, serial, sizeof(serial), &err) != CT_OK) {
		reply_error(c, CT_EINVAL, "fetch: malformed token serial");
		return;
	}
	if (peek_tokens(c, "fetch", &ut) != CT_OK)
		goto out;
	for (i = 0; i < ut.n && tok == NULL; i++)
		if (strcmp(ut.tok[i].serial, serial) == 0 && ut.tok[i].type == CT_TOKEN_CERT)
			tok = &ut.tok[i];
	if (tok == NULL)
		reply_error(c, CT_EINVAL, "you have no certificate token %s", serial);
	else if (strcmp(tok->rollout_state, "rejected") == 0)
		reply_error(c, CT_EPERM, "the request of token %s was rejected by an administrator",
		    serial);
	else if (strcmp(tok->rollout_state, "pending") != 0)
		fetch_issued(c, tok);
	else
		fetch_pending(c, tok);
out:
	ct_user_tokens_clear(&ut);
}
