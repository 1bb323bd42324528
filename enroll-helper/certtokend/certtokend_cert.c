/* certtokend: certificate requests.
 *
 * enroll  a CSR (made by certtoken-enroll, or by any tool: `request --csr`),
 *         with a key-attestation certificate when the user has one or the
 *         target requires it, signed through the target's CA connector:
 *         local (the group's CA, at once), queue (pending until an
 *         administrator approves) or command (an external program, which may
 *         also answer "pending");
 * fetch   the certificate of a pending request, once it is issued;
 * upload  an existing certificate, attached after a proof of possession;
 * keygen  a key pair made here, issued, and handed out as a PKCS#12 that
 *         nobody keeps a copy of.
 *
 * Everything that creates a token runs the PAM service first (the OTP);
 * everything that can be checked is checked before that, so a bad request
 * never costs the user a code. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "certindex.h"
#include "certtokend.h"
#include "events.h"
#include "keyproof.h"
#include "requests.h"
#include "spawn.h"
#include "store.h"

#define PIN_MIN 6 /* characters of a PKCS#12 PIN */
#define PASSWORD_LEN 20 /* characters of a one-time PKCS#12 password: ~110 bits */

/* ---- helpers ---- */

static void
event_log(void *arg, int prio, const char *line)
{
	(void)arg;
	logmsg(prio, "%s", line);
}

/* The caller's attributes from the directory.  With ANSWER, a failure is
 * answered to the client. */
static int
lookup_attrs(struct conn *c, struct ct_attrs **out, int answer)
{
	struct ct_attrsrc *src;
	struct ct_err err = {0};
	size_t slot = 0;
	int rc;

	*out = NULL;
	if ((src = pool_get(c->d, c->deadline, &slot)) == NULL) {
		if (answer)
			reply_error(c, CT_EUNAVAIL, "the directory is busy; try again");
		return CT_EUNAVAIL;
	}
	rc = ct_attrsrc_lookup(src, c->user, out, &err);
	pool_put(c->d, slot);
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
static void
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

static const char *
connector_type_name(enum ct_connector_type t)
{
	switch (t) {
	case CT_CONNECTOR_LOCAL: return "local";
	case CT_CONNECTOR_QUEUE: return "queue";
	case CT_CONNECTOR_COMMAND: return "command";
	}
	return "?";
}

/* The SubjectPublicKeyInfo DER of certificate X equals SPKI? */
static int
same_key(X509 *x, const unsigned char *spki, size_t spki_len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der), same;

	same = n > 0 && (size_t)n == spki_len && memcmp(der, spki, spki_len) == 0;
	OPENSSL_free(der);
	return same;
}

/* The DER of CSR (PEM or DER, already checked by ct_csr_verify) in a new
 * buffer, re-encoded so that nothing around it travels on: what is stored
 * and handed to a command connector. */
static int
csr_der(const unsigned char *csr, size_t len, unsigned char **der, size_t *der_len)
{
	X509_REQ *req = NULL;
	BIO *bio;
	int n;

	*der = NULL;
	if (len >= 10 && memcmp(csr, "-----BEGIN", 10) == 0) {
		if ((bio = BIO_new_mem_buf(csr, (int)len)) != NULL)
			req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		BIO_free(bio);
		n = req != NULL ? i2d_X509_REQ(req, der) : -1;
		X509_REQ_free(req);
		if (n <= 0)
			return CT_EINVAL;
		*der_len = (size_t)n;
		return CT_OK;
	}
	{
		const unsigned char *p = csr;

		req = d2i_X509_REQ(NULL, &p, (long)len);
	}
	n = req != NULL ? i2d_X509_REQ(req, der) : -1;
	X509_REQ_free(req);
	if (n <= 0)
		return CT_EINVAL;
	*der_len = (size_t)n;
	return CT_OK;
}

/* ---- the command connector ---- */

/* Run target T's command connector: ACTION "issue" (the CSR on stdin) or
 * "fetch" (REF_IN names the request the program answered "pending" to).
 *   CT_OK        issued: the certificate (for the CSR's key SPKI) in DER, INFO
 *   CT_EPENDING  the CA will decide later; REF_OUT is its reference or "-"
 *   CT_EUNAVAIL  the program failed, timed out or said something else
 *   CT_EINVAL    it printed something that is not a certificate for the key */
static int
run_connector(struct conn *c, const struct ct_target *t, const char *action, const char *token,
    const unsigned char *csr, size_t csr_len, const unsigned char *spki, size_t spki_len,
    const char *ref_in, unsigned char **der, size_t *der_len, struct ct_cert_info *info,
    char ref_out[CT_REF_MAX], struct ct_err *err)
{
	const struct ct_connector *cn = t->connector;
	char e_action[64], e_target[96], e_group[96], e_user[96], e_token[96], e_ref[160];
	char line[CT_ERR_MAX];
	struct ct_spawn sp = {.argv = cn->argv};
	struct ct_spawn_result res;
	BIO *bio = NULL;
	X509 *x = NULL;
	char *pem = NULL, *nl;
	long pem_len, left = c->deadline - ct_now_ms() - 1000;
	int rc;

	memset(&res, 0, sizeof(res));
	snprintf(e_action, sizeof(e_action), "CERTTOKEN_ACTION=%s", action);
	snprintf(e_target, sizeof(e_target), "CERTTOKEN_TARGET=%s", t->name);
	snprintf(e_group, sizeof(e_group), "CERTTOKEN_ACCESS_GROUP=%s", t->group->name);
	snprintf(e_user, sizeof(e_user), "CERTTOKEN_USER=%s", c->user);
	snprintf(e_token, sizeof(e_token), "CERTTOKEN_TOKEN=%s", token);
	snprintf(e_ref, sizeof(e_ref), "CERTTOKEN_REQUEST=%s", ref_in);
	sp.env[0] = e_action;
	sp.env[1] = e_target;
	sp.env[2] = e_group;
	sp.env[3] = e_user;
	sp.env[4] = e_token;
	sp.env[5] = e_ref;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(bio, PEM_STRING_X509_REQ, "", csr, (long)csr_len) <= 0) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	sp.in = (const unsigned char *)pem;
	sp.in_len = (size_t)pem_len;
	sp.timeout_ms = cn->timeout * 1000;
	if (left < sp.timeout_ms)
		sp.timeout_ms = left > 1000 ? (int)left : 1000;
	if ((rc = ct_spawn_run(&sp, &res, err)) != CT_OK) {
		ct_err_prefix(err, "CA connector %s: ", cn->name);
		goto out;
	}
	if (res.exited && res.status == 75) {
		/* the first line of its output, if any, is the CA's reference */
		snprintf(ref_out, CT_REF_MAX, "-");
		if (res.out_len > 0) {
			if ((nl = strchr((char *)res.out, '\n')) != NULL)
				*nl = '\0';
			if (ct_request_ref_valid((char *)res.out))
				snprintf(ref_out, CT_REF_MAX, "%s", (char *)res.out);
			else if (res.out[0] != '\0')
				logmsg(LOG_WARNING,
				    "CA connector %s: pending, but its reference is not usable "
				    "(1-128 of A-Z a-z 0-9 . _ : / + = -); ignored",
				    cn->name);
		}
		rc = CT_EPENDING;
		goto out;
	}
	if (!res.exited || res.status != 0) {
		ct_spawn_describe(&sp, &res, line, sizeof(line));
		rc = ct_err_set(err, CT_EUNAVAIL, "CA connector %s: %s", cn->name, line);
		goto out;
	}
	BIO_free(bio);
	if ((bio = BIO_new_mem_buf(res.out, (int)res.out_len)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		rc = ct_err_set(err, CT_EINVAL,
		    "CA connector %s: exit 0 but no PEM certificate on its output", cn->name);
		goto out;
	}
	if (!same_key(x, spki, spki_len)) {
		rc = ct_err_set(err, CT_EINVAL,
		    "CA connector %s: the certificate it printed is not for the requested key",
		    cn->name);
		goto out;
	}
	*der = NULL;
	if ((rc = i2d_X509(x, der)) <= 0) {
		rc = ct_err_set(err, CT_ECRYPTO, "CA connector %s: cannot encode", cn->name);
		goto out;
	}
	*der_len = (size_t)rc;
	if ((rc = ct_cert_parse(*der, *der_len, NULL, info, err)) != CT_OK) {
		ct_err_prefix(err, "CA connector %s: ", cn->name);
		OPENSSL_free(*der);
		*der = NULL;
	}
out:
	X509_free(x);
	BIO_free(bio);
	ct_spawn_result_clear(&res);
	return rc;
}

/* ---- recording ---- */

/* Fill the certificate fields of token T from IS. */
static void
set_cert_fields(struct ct_token *t, const struct issued *is, const struct ct_cert_info *info)
{
	snprintf(t->cert_serial, sizeof(t->cert_serial), "%s", is->serial);
	t->not_after = is->not_after;
	t->not_before = info != NULL ? (int64_t)info->not_before : 0;
	snprintf(t->issuer, sizeof(t->issuer), "%s", info != NULL ? info->issuer : "");
}

/* Put NT into the user's tokens: a new token, or (REPLACE) the pending one
 * with the same serial, which must still be pending.  The result in *OUT. */
static int
store_token(struct conn *c, const struct ct_token *nt, int replace, struct ct_err *err)
{
	struct ct_user_tokens ut;
	struct ct_tokens_tx *tx = NULL;
	size_t i;
	int rc;

	memset(&ut, 0, sizeof(ut));
	if ((rc = ct_tokens_begin(c->d->store, c->user, &tx, err)) != CT_OK)
		return rc;
	rc = ct_tokens_read(tx, &ut, err);
	if (rc == CT_ENOENT && !replace) {
		ct_err_clear(err);
		rc = CT_OK;
	}
	if (rc != CT_OK)
		goto out;
	if (replace) {
		for (i = 0; i < ut.n && strcmp(ut.tok[i].serial, nt->serial) != 0; i++)
			;
		if (i == ut.n || strcmp(ut.tok[i].rollout_state, "pending") != 0) {
			rc =
			    ct_err_set(err, CT_EEXIST, "token %s is no longer pending", nt->serial);
			goto out;
		}
		ut.tok[i] = *nt;
	} else {
		if ((rc = make_room(&ut, c->user, time(NULL), 1, err)) != CT_OK)
			goto out;
		ut.tok[ut.n++] = *nt;
	}
	rc = ct_tokens_write(tx, &ut, err);
out:
	ct_tokens_end(tx);
	ct_user_tokens_clear(&ut);
	return rc;
}

/* A new certificate token for target T (NAME may be "" for uploads). */
static void
new_cert_token(struct ct_token *t, const char *serial, const char *target, const char *rollout,
    const char *desc)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->serial, sizeof(t->serial), "%s", serial);
	t->type = CT_TOKEN_CERT;
	t->active = 1;
	t->last_step = -1;
	snprintf(t->rollout_state, sizeof(t->rollout_state), "%s", rollout);
	snprintf(t->description, sizeof(t->description), "%s", desc);
	t->created = (int64_t)time(NULL);
	snprintf(t->target, sizeof(t->target), "%s", target);
}

/* Record certificate DER, issued for target T, under token TOKEN: in the
 * index, then in the token list (PENDING: the pending token becomes
 * enrolled).  On failure nothing is left behind; the reason is logged and
 * answered. */
static int
record_issued(struct conn *c, const struct ct_target *t, const char *token, int pending,
    const char *desc, const unsigned char *der, size_t der_len, const struct ct_cert_info *info,
    struct ct_token *out)
{
	struct ct_err err = {0};
	struct issued is;
	int rc;

	memset(&is, 0, sizeof(is));
	if ((rc = describe_cert(der, der_len, &is, &err)) != CT_OK ||
	    (rc = ct_certindex_add(c->d->store, is.serial, c->user, t->name,
	         t->group->name, token, der, der_len, &err)) != CT_OK) {
		logmsg(LOG_ERR, "user %s (uid %u): certificate serial %s not delivered: index: %s",
		    c->user, (unsigned)c->uid, is.serial[0] ? is.serial : "?", err.msg);
		reply_error(
		    c, rc, "the service could not record the certificate; see the system log");
		return rc;
	}
	new_cert_token(out, token, t->name, "enrolled", desc);
	set_cert_fields(out, &is, info);
	if ((rc = store_token(c, out, pending, &err)) != CT_OK) {
		logmsg(LOG_ERR, "user %s (uid %u): certificate serial %s not delivered: token: %s",
		    c->user, (unsigned)c->uid, is.serial, err.msg);
		ct_certindex_remove(c->d->store, is.serial);
		if (rc == CT_EEXIST)
			reply_error(c, rc, "%s", err.msg);
		else
			reply_error(
			    c, rc, "the service could not record the token; see the system log");
		return rc;
	}
	logmsg(LOG_INFO,
	    "enrolled user %s (uid %u): target %s, certificate serial %s, token %s, subject "
	    "\"%s\", not after %s",
	    c->user, (unsigned)c->uid, t->name, is.serial, token, is.subject, is.not_after_text);
	return CT_OK;
}

/* Record a pending request: the CSR under STORE/requests and a token in
 * rollout state "pending".  Logged and answered on failure. */
static int
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
	new_cert_token(out, token, t->name, "pending", desc);
	if ((rc = ct_request_save(c->d->store, &r, &err)) == CT_OK &&
	    (rc = store_token(c, out, 0, &err)) != CT_OK)
		ct_request_remove(c->d->store, token, NULL);
	if (rc != CT_OK) {
		logmsg(LOG_ERR, "user %s (uid %u): pending request for target %s not recorded: %s",
		    c->user, (unsigned)c->uid, t->name, err.msg);
		if (rc == CT_EEXIST)
			reply_error(c, rc, "%s", err.msg);
		else
			reply_error(
			    c, rc, "the service could not record the request; see the system log");
		return rc;
	}
	logmsg(LOG_INFO,
	    "request of user %s (uid %u) for target %s is pending: token %s, CA connector %s "
	    "(%s)%s%s",
	    c->user, (unsigned)c->uid, t->name, token, t->connector->name,
	    connector_type_name(t->connector->type), strcmp(ref, "-") != 0 ? ", reference " : "",
	    strcmp(ref, "-") != 0 ? ref : "");
	return CT_OK;
}

/* RESULT 0 with the target, the certificate and the token. */
static void
send_issued(
    struct conn *c, const char *target, const char *token, const unsigned char *der, size_t der_len)
{
	struct ct_msgbuf b = {0};
	struct ct_err err = {0};
	unsigned char code = 0;

	if (ct_msgbuf_init(&b, CT_MSG_RESULT) != CT_OK)
		return;
	ct_msgbuf_add(&b, CT_TAG_CODE, &code, 1);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "issued");
	ct_msgbuf_add_str(&b, CT_TAG_TARGET, target);
	ct_msgbuf_add(&b, CT_TAG_CERT, der, der_len);
	ct_msgbuf_add_str(&b, CT_TAG_TOKEN, token);
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		logmsg(LOG_NOTICE, "user %s (uid %u): certificate of token %s not delivered: %s",
		    c->user, (unsigned)c->uid, token, err.msg);
	ct_msgbuf_free(&b);
}

/* RESULT 75: pending, with the target and the token. */
static void
send_pending(struct conn *c, const struct ct_target *t, const char *token, const char *why)
{
	struct ct_msgbuf b = {0};
	struct ct_err err = {0};
	unsigned char code = (unsigned char)ct_exit_status(CT_EPENDING);
	char msg[CT_PROTO_TEXT_MAX];

	snprintf(msg, sizeof(msg),
	    "request pending (%s): token %s; collect the certificate with 'certtoken-enroll "
	    "fetch %s'",
	    why, token, token);
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

static const char *
pending_why(const struct ct_target *t)
{
	return t->connector->type == CT_CONNECTOR_QUEUE ? "waiting for an administrator's approval"
	                                                : "the CA has not decided yet";
}

/* What enroll and keygen do between their checks and the key: load the
 * issuer (local connector), run the PAM service (WHAT names the request),
 * read the attributes and make a token serial.  CT_OK or answered. */
static int
authorize(struct conn *c, const struct ct_target *t, size_t ti, const char *what,
    struct issuer_ref **ir, struct ct_attrs **attrs, char token[CT_SERIAL_MAX])
{
	struct ct_err err = {0};
	int rc;

	if (t->connector->type == CT_CONNECTOR_LOCAL &&
	    (rc = issuer_get(c->d, ti, ir, &err)) != CT_OK) {
		logmsg(LOG_ERR, "target %s: %s", t->name, err.msg);
		reply_error(c, rc, "%s", err.msg);
		return rc;
	}
	if ((rc = run_pam(c, what)) != CT_OK || (rc = lookup_attrs(c, attrs, 1)) != CT_OK)
		return rc;
	if ((rc = ct_tokens_new_serial("CERT", token)) != CT_OK) {
		reply_error(c, CT_ECRYPTO, "cannot make a token serial");
		return CT_ECRYPTO;
	}
	return CT_OK;
}

/* ---- enroll: a CSR, through the target's connector ---- */

/* Check the attestation of M (if any) against the CSR's key SPKI, and the
 * target's requirement.  CT_OK or answered. */
static int
check_attestation(struct conn *c, const struct ct_target *t, const struct ct_msg *m,
    const unsigned char *spki, size_t spki_len)
{
	const struct ct_field *att = ct_msg_get(m, CT_TAG_ATTESTATION);
	struct ct_err err = {0};
	char subject[256];
	int rc;

	if (att == NULL) {
		if (!t->require_attestation)
			return CT_OK;
		logmsg(LOG_NOTICE,
		    "request of user %s (uid %u) refused: target %s requires attestation", c->user,
		    (unsigned)c->uid, t->name);
		reply_error(c, CT_EINVAL,
		    "target '%s' requires a key-attestation certificate (--attestation FILE)",
		    t->name);
		return CT_EINVAL;
	}
	if (c->d->cfg->attestation_ca_dir == NULL) {
		reply_error(c, CT_EINVAL,
		    "this service trusts no attestation CA (attestation.ca_dir is not configured)");
		return CT_EINVAL;
	}
	rc = ct_attest_verify(c->d->cfg->attestation_ca_dir, att->val, att->len, spki, spki_len,
	    time(NULL), subject, sizeof(subject), &err);
	if (rc != CT_OK) {
		logmsg(rc == CT_EINVAL ? LOG_NOTICE : LOG_ERR,
		    "request of user %s (uid %u) for target %s refused: %s", c->user,
		    (unsigned)c->uid, t->name, err.msg);
		if (rc == CT_EINVAL)
			reply_error(c, rc, "%s", err.msg);
		else
			reply_error(
			    c, rc, "the service cannot check attestations; see the system log");
		return rc;
	}
	logmsg(LOG_INFO, "user %s (uid %u): key attested by \"%s\"", c->user, (unsigned)c->uid,
	    subject);
	return CT_OK;
}

void
do_enroll(struct conn *c, const struct ct_msg *m)
{
	struct daemon *d = c->d;
	const struct ct_field *csr = ct_msg_get(m, CT_TAG_CSR);
	const struct ct_target *t;
	struct issuer_ref *ir = NULL;
	struct ct_attrs *attrs = NULL;
	struct ct_cert_info info, *infop = NULL;
	struct ct_token tok;
	struct ct_err err = {0};
	unsigned char *spki = NULL, *der = NULL, *req = NULL;
	size_t spki_len = 0, der_len = 0, req_len = 0;
	char token[CT_SERIAL_MAX], ref[CT_REF_MAX] = "-", desc[CT_DESC_MAX];
	ssize_t ti;
	int rc;

	if ((ti = pick_target(c, m)) < 0)
		return;
	t = &d->cfg->targets[ti];
	/* everything that can be checked is, before anyone is asked for an OTP */
	if (precheck(c, t) != CT_OK)
		goto out;
	if (csr == NULL) {
		reply_error(c, CT_EINVAL, "the request has no CSR");
		goto out;
	}
	if ((rc = ct_csr_verify(csr->val, csr->len, &spki, &spki_len, &err)) != CT_OK) {
		logmsg(LOG_NOTICE, "enrollment refused for user %s (uid %u): CSR: %s", c->user,
		    (unsigned)c->uid, err.msg);
		reply_error(c, rc, "CSR: %s", err.msg);
		goto out;
	}
	if (check_attestation(c, t, m, spki, spki_len) != CT_OK)
		goto out;
	/* a CSR that outlives this request (queued, or handed to a program) is
	 * kept as its bare DER; the local CA needs only the key */
	if (t->connector->type != CT_CONNECTOR_LOCAL &&
	    (rc = csr_der(csr->val, csr->len, &req, &req_len)) != CT_OK) {
		reply_error(c, rc, "CSR: cannot be re-encoded");
		goto out;
	}
	if (authorize(c, t, (size_t)ti, "enrollment", &ir, &attrs, token) != CT_OK)
		goto out;
	snprintf(desc, sizeof(desc), "target %s", t->name);
	switch (t->connector->type) {
	case CT_CONNECTOR_LOCAL:
		rc = ct_issue(ir->is, attrs, spki, spki_len, time(NULL), &der, &der_len, &err);
		break;
	case CT_CONNECTOR_QUEUE: rc = CT_EPENDING; break;
	case CT_CONNECTOR_COMMAND:
		rc = run_connector(c, t, "issue", token, req, req_len, spki, spki_len, "-", &der,
		    &der_len, &info, ref, &err);
		infop = &info;
		break;
	default: rc = ct_err_set(&err, CT_ECONFIG, "unknown CA connector type"); break;
	}
	if (rc == CT_EPENDING) {
		if (record_pending(c, t, token, req, req_len, ref, &tok) != CT_OK)
			goto out;
		fire(c, "token_init", &tok, attrs);
		send_pending(c, t, token, pending_why(t));
		goto out;
	}
	if (rc != CT_OK) {
		logmsg(LOG_NOTICE, "enrollment failed for user %s (uid %u), target %s: %s", c->user,
		    (unsigned)c->uid, t->name, err.msg);
		if (t->connector->type == CT_CONNECTOR_COMMAND)
			reply_error(c, CT_EUNAVAIL,
			    "the CA (connector %s) did not issue the certificate; see the system "
			    "log",
			    t->connector->name);
		else
			reply_error(c, rc, "%s", err.msg);
		goto out;
	}
	if (record_issued(c, t, token, 0, desc, der, der_len, infop, &tok) != CT_OK)
		goto out;
	fire(c, "token_init", &tok, attrs);
	fire(c, "token_enrolled", &tok, attrs);
	send_issued(c, t->name, token, der, der_len);
out:
	OPENSSL_free(req);
	OPENSSL_free(der);
	ct_attrs_free(attrs);
	OPENSSL_free(spki);
	issuer_unref(d, ir);
}

/* ---- fetch: the certificate of a request that was pending ---- */

/* Ask the command connector again about pending token TOK (its request R). */
static void
fetch_from_command(struct conn *c, const struct ct_target *t, const struct ct_request *r)
{
	struct ct_cert_info info;
	struct ct_token tok;
	struct ct_err err = {0};
	unsigned char *spki = NULL, *der = NULL;
	size_t spki_len = 0, der_len = 0;
	char ref[CT_REF_MAX] = "-", desc[CT_DESC_MAX];
	int rc;

	if ((rc = ct_csr_verify(r->csr, r->csr_len, &spki, &spki_len, &err)) != CT_OK) {
		logmsg(LOG_ERR, "pending request %s: stored CSR: %s", r->token, err.msg);
		reply_error(c, CT_EIO, "the stored request is unusable; see the system log");
		goto out;
	}
	rc = run_connector(c, t, "fetch", r->token, r->csr, r->csr_len, spki, spki_len, r->ref,
	    &der, &der_len, &info, ref, &err);
	if (rc == CT_EPENDING) {
		send_pending(c, t, r->token, pending_why(t));
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
	if (record_issued(c, t, r->token, 1, desc, der, der_len, &info, &tok) != CT_OK)
		goto out;
	ct_request_remove(c->d->store, r->token, NULL);
	fire(c, "token_enrolled", &tok, NULL);
	send_issued(c, t->name, r->token, der, der_len);
out:
	OPENSSL_free(der);
	OPENSSL_free(spki);
}

void
do_fetch(struct conn *c, const struct ct_msg *m)
{
	const struct ct_field *f = ct_msg_get(m, CT_TAG_TOKEN);
	const struct ct_target *t;
	const struct ct_token *tok = NULL;
	struct ct_user_tokens ut;
	struct ct_cert_entry e;
	struct ct_request r;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	char serial[CT_SERIAL_MAX];
	size_t i;
	int rc, len;

	memset(&ut, 0, sizeof(ut));
	memset(&e, 0, sizeof(e));
	memset(&r, 0, sizeof(r));
	if (f == NULL || ct_field_text(f, serial, sizeof(serial), &err) != CT_OK) {
		reply_error(c, CT_EINVAL, "fetch: malformed token serial");
		return;
	}
	rc = ct_tokens_peek(c->d->store, c->user, &ut, &err);
	if (rc != CT_OK && rc != CT_ENOENT) {
		logmsg(
		    LOG_ERR, "fetch for user %s (uid %u): %s", c->user, (unsigned)c->uid, err.msg);
		reply_error(c, rc, "the service cannot read your tokens; see the system log");
		goto out;
	}
	for (i = 0; i < ut.n && tok == NULL; i++)
		if (strcmp(ut.tok[i].serial, serial) == 0 && ut.tok[i].type == CT_TOKEN_CERT)
			tok = &ut.tok[i];
	if (tok == NULL) {
		reply_error(c, CT_EINVAL, "you have no certificate token %s", serial);
		goto out;
	}
	if (strcmp(tok->rollout_state, "rejected") == 0) {
		reply_error(c, CT_EPERM, "the request of token %s was rejected by an administrator",
		    serial);
		goto out;
	}
	if (strcmp(tok->rollout_state, "pending") != 0) {
		/* issued: hand out the certificate again (it is public) */
		if (tok->cert_serial[0] == '\0' || tok->target[0] == '\0' ||
		    (rc = ct_certindex_get(c->d->store, tok->cert_serial, &e, &err)) !=
		        CT_OK) {
			reply_error(c, CT_EINVAL, "token %s has no certificate this service issued",
			    serial);
			goto out;
		}
		if ((len = i2d_X509(e.cert, &der)) <= 0) {
			reply_error(c, CT_ECRYPTO, "cannot encode the certificate");
			goto out;
		}
		send_issued(c, tok->target, serial, der, (size_t)len);
		goto out;
	}
	if ((rc = ct_request_load(c->d->store, serial, &r, &err)) != CT_OK ||
	    (t = ct_config_target(c->d->cfg, r.target)) == NULL) {
		logmsg(LOG_ERR, "fetch of token %s for user %s (uid %u): %s", serial, c->user,
		    (unsigned)c->uid, rc != CT_OK ? err.msg : "its target is no longer configured");
		reply_error(c, rc != CT_OK ? rc : CT_ECONFIG,
		    "the request of token %s cannot be read; see the system log", serial);
		goto out;
	}
	if (t->connector->type == CT_CONNECTOR_COMMAND)
		fetch_from_command(c, t, &r);
	else
		send_pending(c, t, serial, pending_why(t));
out:
	OPENSSL_free(der);
	ct_request_clear(&r);
	ct_cert_entry_clear(&e);
	ct_user_tokens_clear(&ut);
}

/* ---- upload: an existing certificate, after a proof of possession ---- */

/* Is a certificate with INFO's issuer and serial among UT's tokens? */
static int
already_uploaded(const struct ct_user_tokens *ut, const struct ct_cert_info *info)
{
	for (size_t i = 0; i < ut->n; i++)
		if (ut->tok[i].type == CT_TOKEN_CERT &&
		    strcmp(ut->tok[i].cert_serial, info->serial) == 0 &&
		    strcmp(ut->tok[i].issuer, info->issuer) == 0)
			return 1;
	return 0;
}

/* Send a fresh nonce and check the signature that comes back over the
 * proof-of-possession message for certificate X (DER CERT).  CT_OK or
 * answered. */
static int
prove_possession(struct conn *c, X509 *x, const unsigned char *cert, size_t cert_len)
{
	unsigned char nonce[CT_POP_NONCE_LEN], *msg = NULL;
	const struct ct_field *sig;
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	struct ct_err err = {0};
	size_t msg_len = 0;
	int rc;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    ct_msgbuf_init(&b, CT_MSG_CHALLENGE) != CT_OK) {
		reply_error(c, CT_ECRYPTO, "cannot make a challenge");
		return CT_ECRYPTO;
	}
	ct_msgbuf_add(&b, CT_TAG_NONCE, nonce, sizeof(nonce));
	rc = ct_msg_send(c->fd, &b, c->deadline, &err);
	ct_msgbuf_free(&b);
	if (rc != CT_OK || (rc = ct_msg_recv(c->fd, &m, c->deadline, &err)) != CT_OK) {
		logmsg(LOG_NOTICE, "upload for user %s (uid %u): %s", c->user, (unsigned)c->uid,
		    err.msg);
		c->broken = 1;
		return CT_EIO;
	}
	if (m.type != CT_MSG_PROOF || (sig = ct_msg_get(&m, CT_TAG_SIGNATURE)) == NULL ||
	    sig->len == 0) {
		rc = ct_err_set(&err, CT_EINVAL, "no proof of possession of the certificate's key");
		goto refused;
	}
	if ((rc = ct_pop_message(nonce, c->user, cert, cert_len, &msg, &msg_len, &err)) != CT_OK ||
	    (rc = ct_pop_verify(x, msg, msg_len, sig->val, sig->len, &err)) != CT_OK)
		goto refused;
	goto out;
refused:
	logmsg(LOG_NOTICE, "upload refused for user %s (uid %u): %s", c->user, (unsigned)c->uid,
	    err.msg);
	reply_error(c, rc, "%s", err.msg);
out:
	free(msg);
	ct_msg_free(&m);
	return rc;
}

void
do_upload(struct conn *c, const struct ct_msg *m)
{
	const struct ct_field *cert = ct_msg_get(m, CT_TAG_CERT);
	struct ct_user_tokens ut;
	struct ct_cert_info info;
	struct ct_token tok;
	struct ct_err err = {0};
	X509 *x = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	char token[CT_SERIAL_MAX], desc[CT_DESC_MAX];
	time_t now = time(NULL);
	int n, rc;

	memset(&ut, 0, sizeof(ut));
	if (cert == NULL) {
		reply_error(c, CT_EINVAL, "the upload has no certificate");
		return;
	}
	if ((rc = ct_cert_parse(cert->val, cert->len, &x, &info, &err)) != CT_OK) {
		logmsg(LOG_NOTICE, "upload refused for user %s (uid %u): %s", c->user,
		    (unsigned)c->uid, err.msg);
		reply_error(c, CT_EINVAL, "%s", err.msg);
		goto out;
	}
	if (info.not_after < now) {
		reply_error(c, CT_EINVAL, "certificate: expired (serial %s)", info.serial);
		goto out;
	}
	rc = ct_tokens_peek(c->d->store, c->user, &ut, &err);
	if (rc == CT_ENOENT)
		rc = CT_OK;
	else if (rc == CT_OK && already_uploaded(&ut, &info))
		rc = ct_err_set(&err, CT_EEXIST,
		    "certificate serial %s of \"%s\" is already one of your tokens", info.serial,
		    info.issuer);
	else if (rc == CT_OK)
		rc = make_room(&ut, c->user, now, 0, &err);
	if (rc != CT_OK) {
		if (rc == CT_EEXIST)
			reply_error(c, rc, "%s", err.msg);
		else {
			logmsg(LOG_ERR, "upload for user %s (uid %u): %s", c->user,
			    (unsigned)c->uid, err.msg);
			reply_error(
			    c, rc, "the service cannot read your tokens; see the system log");
		}
		goto out;
	}
	/* from here on the certificate is its DER, whatever the client sent */
	if ((n = i2d_X509(x, &der)) <= 0) {
		reply_error(c, CT_ECRYPTO, "cannot encode the certificate");
		goto out;
	}
	der_len = (size_t)n;
	if (prove_possession(c, x, der, der_len) != CT_OK ||
	    run_pam(c, "certificate upload") != CT_OK)
		goto out;
	if (ct_tokens_new_serial("CERT", token) != CT_OK) {
		reply_error(c, CT_ECRYPTO, "cannot make a token serial");
		goto out;
	}
	snprintf(desc, sizeof(desc), "uploaded certificate");
	new_cert_token(&tok, token, "", "enrolled", desc);
	snprintf(tok.cert_serial, sizeof(tok.cert_serial), "%s", info.serial);
	snprintf(tok.issuer, sizeof(tok.issuer), "%s", info.issuer);
	tok.not_before = (int64_t)info.not_before;
	tok.not_after = (int64_t)info.not_after;
	if ((rc = ct_upload_save(c->d->store, token, der, der_len, &err)) == CT_OK &&
	    (rc = store_token(c, &tok, 0, &err)) != CT_OK)
		ct_upload_remove(c->d->store, token);
	if (rc != CT_OK) {
		logmsg(LOG_ERR, "upload for user %s (uid %u) not recorded: %s", c->user,
		    (unsigned)c->uid, err.msg);
		reply_error(c, rc, "the service could not record the token; see the system log");
		goto out;
	}
	logmsg(LOG_INFO,
	    "uploaded certificate for user %s (uid %u): token %s, serial %s, issuer \"%s\", "
	    "subject \"%s\"",
	    c->user, (unsigned)c->uid, token, info.serial, info.issuer, info.subject);
	fire(c, "token_init", &tok, NULL);
	fire(c, "token_enrolled", &tok, NULL);
	{
		struct ct_msgbuf b = {0};
		unsigned char code = 0;

		if (ct_msgbuf_init(&b, CT_MSG_RESULT) == CT_OK) {
			ct_msgbuf_add(&b, CT_TAG_CODE, &code, 1);
			ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "uploaded");
			ct_msgbuf_add_str(&b, CT_TAG_TOKEN, token);
			if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
				logmsg(LOG_NOTICE, "user %s (uid %u): upload answer not delivered",
				    c->user, (unsigned)c->uid);
		}
		ct_msgbuf_free(&b);
	}
out:
	OPENSSL_free(der);
	X509_free(x);
	ct_user_tokens_clear(&ut);
}

/* ---- keygen: a key made here, delivered as PKCS#12 ---- */

void
do_keygen(struct conn *c, const struct ct_msg *m)
{
	struct daemon *d = c->d;
	const struct ct_field *pin_f = ct_msg_get(m, CT_TAG_PIN), *legacy_f;
	const struct ct_target *t;
	struct issuer_ref *ir = NULL;
	struct ct_attrs *attrs = NULL;
	struct ct_cert_info info, *infop = NULL;
	struct ct_token tok;
	struct ct_msgbuf b = {0};
	struct ct_err err = {0};
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	unsigned char *spki = NULL, *der = NULL, *p12 = NULL, *csr = NULL, code = 0;
	const unsigned char *q;
	size_t der_len = 0, p12_len = 0;
	char token[CT_SERIAL_MAX], ref[CT_REF_MAX] = "-", desc[CT_DESC_MAX], name[160];
	char password[CT_PROTO_TEXT_MAX];
	size_t csr_len = 0;
	int legacy = 0, spki_len, chosen = 0, rc;
	ssize_t ti;

	password[0] = '\0';
	if ((ti = pick_target(c, m)) < 0)
		return;
	t = &d->cfg->targets[ti];
	if ((legacy_f = ct_msg_get(m, CT_TAG_LEGACY)) != NULL) {
		if (legacy_f->len != 1 || legacy_f->val[0] > 1) {
			reply_error(c, CT_EINVAL, "keygen: malformed legacy flag");
			goto out;
		}
		legacy = legacy_f->val[0];
	}
	if (pin_f != NULL) {
		if (ct_field_text(pin_f, password, sizeof(password), &err) != CT_OK ||
		    strlen(password) < PIN_MIN) {
			reply_error(c, CT_EINVAL, "the PIN must be at least %d characters of text",
			    PIN_MIN);
			goto out;
		}
	}
	if (precheck(c, t) != CT_OK)
		goto out;
	if (t->connector->type == CT_CONNECTOR_QUEUE) {
		reply_error(c, CT_EINVAL,
		    "target '%s' waits for approval (CA connector %s): the service never keeps a "
		    "key it generated, so use 'request' or 'enroll' for this target",
		    t->name, t->connector->name);
		goto out;
	}
	if (t->require_attestation) {
		reply_error(c, CT_EINVAL,
		    "target '%s' requires attested hardware keys; the service cannot make one",
		    t->name);
		goto out;
	}
	if (authorize(c, t, (size_t)ti, "key generation", &ir, &attrs, token) != CT_OK)
		goto out;
	if ((key = ct_key_generate(t->group->key_type)) == NULL ||
	    (spki_len = i2d_PUBKEY(key, &spki)) <= 0) {
		reply_error(c, CT_ECRYPTO, "cannot generate a key");
		goto out;
	}
	if (t->connector->type == CT_CONNECTOR_LOCAL)
		rc = ct_issue(
		    ir->is, attrs, spki, (size_t)spki_len, time(NULL), &der, &der_len, &err);
	else {
		/* the external CA wants a CSR: a minimal one, self-signed by the key */
		if ((rc = ct_csr_make(key, c->user, &csr, &csr_len, &err)) == CT_OK)
			rc = run_connector(c, t, "issue", token, csr, csr_len, spki,
			    (size_t)spki_len, "-", &der, &der_len, &info, ref, &err);
		infop = &info;
	}
	if (rc == CT_EPENDING) {
		logmsg(LOG_NOTICE,
		    "key generation for user %s (uid %u), target %s: the CA answered pending; the "
		    "key was discarded",
		    c->user, (unsigned)c->uid, t->name);
		reply_error(c, CT_EUNAVAIL,
		    "the CA did not issue at once, and the service never keeps a key it generated; "
		    "the request was abandoned");
		goto out;
	}
	if (rc != CT_OK) {
		logmsg(LOG_NOTICE, "key generation failed for user %s (uid %u), target %s: %s",
		    c->user, (unsigned)c->uid, t->name, err.msg);
		reply_error(c, t->connector->type == CT_CONNECTOR_COMMAND ? CT_EUNAVAIL : rc, "%s",
		    t->connector->type == CT_CONNECTOR_COMMAND
		        ? "the CA did not issue the certificate; see the system log"
		        : err.msg);
		goto out;
	}
	q = der;
	if ((x = d2i_X509(NULL, &q, (long)der_len)) == NULL) {
		reply_error(c, CT_ECRYPTO, "cannot read back the certificate");
		goto out;
	}
	if (ir != NULL &&
	    ((chain = sk_X509_new_null()) == NULL || !sk_X509_push(chain, ct_ca_cert(ir->ca)))) {
		reply_error(c, CT_ENOMEM, "out of memory");
		goto out;
	}
	if (password[0] == '\0') {
		if (ct_password_random(password, PASSWORD_LEN, &err) != CT_OK) {
			reply_error(c, CT_ECRYPTO, "cannot make a password");
			goto out;
		}
		chosen = 1;
	}
	snprintf(name, sizeof(name), "%s (%s)", c->user, t->name);
	if ((rc = ct_pkcs12_make(key, x, chain, name, password, legacy, &p12, &p12_len, &err)) !=
	    CT_OK) {
		logmsg(LOG_ERR, "key generation for user %s (uid %u): PKCS#12: %s", c->user,
		    (unsigned)c->uid, err.msg);
		reply_error(c, rc, "cannot build the PKCS#12; see the system log");
		goto out;
	}
	/* the key now exists only inside the encrypted container */
	EVP_PKEY_free(key);
	key = NULL;
	snprintf(desc, sizeof(desc), "target %s, key made by the service", t->name);
	if (record_issued(c, t, token, 0, desc, der, der_len, infop, &tok) != CT_OK)
		goto out;
	/* the key exists nowhere else: deliver it before any event handler runs */
	if (ct_msgbuf_init(&b, CT_MSG_RESULT) != CT_OK)
		goto out;
	ct_msgbuf_add(&b, CT_TAG_CODE, &code, 1);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "issued");
	ct_msgbuf_add_str(&b, CT_TAG_TARGET, t->name);
	ct_msgbuf_add(&b, CT_TAG_CERT, der, der_len);
	ct_msgbuf_add_str(&b, CT_TAG_TOKEN, token);
	ct_msgbuf_add(&b, CT_TAG_PKCS12, p12, p12_len);
	if (chosen)
		ct_msgbuf_add_str(&b, CT_TAG_PASSWORD, password);
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		logmsg(LOG_NOTICE,
		    "user %s (uid %u): PKCS#12 of token %s not delivered (the key is gone): %s",
		    c->user, (unsigned)c->uid, token, err.msg);
	else
		logmsg(LOG_INFO,
		    "user %s (uid %u): key of token %s delivered as PKCS#12 (%s, %s); no copy kept",
		    c->user, (unsigned)c->uid, token,
		    legacy ? "legacy 3DES/SHA-1" : "AES-256/SHA-256",
		    chosen ? "one-time password" : "the user's PIN");
	fire(c, "token_init", &tok, attrs);
	fire(c, "token_enrolled", &tok, attrs);
out:
	OPENSSL_cleanse(password, sizeof(password));
	ct_msgbuf_free(&b);
	if (p12 != NULL)
		OPENSSL_clear_free(p12, p12_len);
	sk_X509_free(chain);
	X509_free(x);
	EVP_PKEY_free(key);
	OPENSSL_free(csr);
	OPENSSL_free(der);
	OPENSSL_free(spki);
	ct_attrs_free(attrs);
	issuer_unref(d, ir);
}
