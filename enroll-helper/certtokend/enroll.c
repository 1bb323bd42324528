/* certtokend: enroll, a CSR (made by certtoken-enroll, or by any tool:
 * `request --csr`), with a key-attestation certificate when the user has one
 * or the target requires it, signed through the target's CA connector: at
 * once, or pending (an administrator approves, or the CA decides later).
 * Everything that can be checked is checked before the PAM service runs,
 * so a bad request never costs the user a code. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certtokend.h"
#include "connector.h"

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
		logmsg_uid(c->uid, LOG_NOTICE,
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
		logmsg_uid(c->uid, rc == CT_EINVAL ? LOG_NOTICE : LOG_ERR,
		    "request of user %s (uid %u) for target %s refused: %s", c->user,
		    (unsigned)c->uid, t->name, err.msg);
		reply_failure(c, rc, rc == CT_EINVAL, err.msg, "cannot check attestations");
		return rc;
	}
	logmsg(LOG_INFO, "user %s (uid %u): key attested by \"%s\"", c->user, (unsigned)c->uid,
	    subject);
	return CT_OK;
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

/* The checks of an enrollment: the CSR in M and its key SPKI, the
 * attestation, and the CSR's bare DER in *REQ when the connector keeps it.
 * CT_OK or answered. */
static int
enroll_checks(struct conn *c, const struct ct_target *t, const struct ct_msg *m,
    unsigned char **spki, size_t *spki_len, unsigned char **req, size_t *req_len)
{
	const struct ct_field *csr = ct_msg_get(m, CT_TAG_CSR);
	struct ct_err err = {0};
	int rc;

	/* everything that can be checked is, before anyone is asked for an OTP */
	if ((rc = precheck(c, t)) != CT_OK || (rc = ssh_precheck(c, t)) != CT_OK)
		return rc;
	if (csr == NULL) {
		reply_error(c, CT_EINVAL, "the request has no CSR");
		return CT_EINVAL;
	}
	if ((rc = ct_csr_verify(csr->val, csr->len, spki, spki_len, &err)) != CT_OK)
		return refuse_request(c, rc, "enrollment", "CSR: %s", err.msg);
	if ((rc = check_attestation(c, t, m, *spki, *spki_len)) != CT_OK)
		return rc;
	/* a CSR that outlives this request (queued, or handed to a program) is
	 * kept as its bare DER; a CA here needs only the key */
	if ((ct_connector_caps(t->connector) & CT_CX_KEEPS_CSR) &&
	    (rc = csr_der(csr->val, csr->len, req, req_len)) != CT_OK) {
		reply_error(c, rc, "CSR: cannot be re-encoded");
		return rc;
	}
	return CT_OK;
}

/* Record and answer what the connector said (RC, RES) about RQ: with an
 * OpenSSH certificate signed by SSH_CA too when the target has `ssh`. */
static void
enroll_done(struct conn *c, const struct ct_cx_request *rq, EVP_PKEY *ssh_ca, int rc,
    const struct ct_cx_result *res, const struct ct_err *err)
{
	const struct ct_target *t = rq->target;
	struct ct_sshca_cert ssh = {0};
	struct ct_token tok;
	char desc[CT_DESC_MAX];

	if (res->note[0] != '\0')
		logmsg(LOG_WARNING, "%s", res->note);
	if (rc == CT_EPENDING) {
		if (record_pending(c, t, rq->token, rq->csr, rq->csr_len, res->ref, &tok) != CT_OK)
			return;
		fire(c, "token_init", &tok, rq->attrs);
		send_pending(c, t, rq->token);
		return;
	}
	if (rc != CT_OK) {
		connector_failed(c, t, "enrollment", rc, err);
		return;
	}
	/* the OpenSSH certificate first: its serial goes into the index entry */
	if (ssh_ca != NULL &&
	    ssh_issue(c, t, ssh_ca, rq->attrs, rq->spki, rq->spki_len, res->der, res->der_len,
	        &ssh) != CT_OK)
		return;
	snprintf(desc, sizeof(desc), "target %s", t->name);
	if (record_issued_ssh(c, t, rq->token, 0, desc, res->der, res->der_len,
	        res->has_info ? &res->info : NULL, ssh.serial, &tok) == CT_OK) {
		if (ssh.serial != 0)
			logmsg(LOG_INFO,
			    "user %s (uid %u): OpenSSH certificate serial %" PRIu64
			    ", key id %s, with token %s",
			    c->user, (unsigned)c->uid, ssh.serial, ssh.key_id, rq->token);
		fire(c, "token_init", &tok, rq->attrs);
		fire(c, "token_enrolled", &tok, rq->attrs);
		send_issued_ssh(c, t->name, rq->token, res->der, res->der_len, ssh.line);
	}
	ct_sshca_cert_clear(&ssh);
}

void
do_enroll(struct conn *c, const struct ct_msg *m)
{
	struct ct_cx_request rq = {.user = c->user, .ref = "-", .deadline = c->deadline};
	struct ct_cx_result res = {0};
	struct issuer_ref *ir = NULL;
	struct ct_attrs *attrs = NULL;
	struct ct_err err = {0};
	unsigned char *spki = NULL, *req = NULL;
	EVP_PKEY *ssh_ca = NULL;
	char token[CT_SERIAL_MAX];
	ssize_t ti;
	int rc;

	if ((ti = pick_target(c, m)) < 0)
		return;
	rq.target = &c->d->cfg->targets[ti];
	if (enroll_checks(c, rq.target, m, &spki, &rq.spki_len, &req, &rq.csr_len) != CT_OK ||
	    authorize(c, rq.target, (size_t)ti, "enrollment", &ir, &attrs, token) != CT_OK ||
	    ssh_prepare(c, rq.target, attrs, spki, rq.spki_len, &ssh_ca) != CT_OK)
		goto out;
	rq.token = token;
	rq.spki = spki;
	rq.csr = req;
	rq.attrs = attrs;
	rq.issuer = ir != NULL ? ir->is : NULL;
	rq.now = time(NULL);
	rc = ct_connector_issue(&rq, &res, &err);
	enroll_done(c, &rq, ssh_ca, rc, &res, &err);
out:
	EVP_PKEY_free(ssh_ca);
	ct_cx_result_clear(&res);
	OPENSSL_free(req);
	ct_attrs_free(attrs);
	OPENSSL_free(spki);
	issuer_unref(c->d, ir);
}
