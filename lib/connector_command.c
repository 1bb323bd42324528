/* The command CA connector: an external program signs.
 *
 * The program (no shell, see spawn.h) gets the CSR as PEM on stdin and
 * CERTTOKEN_ACTION ("issue" or "fetch"), _TARGET, _ACCESS_GROUP, _USER,
 * _TOKEN and _REQUEST (the reference it gave when it answered pending) in
 * its environment.  Exit 0 with a PEM certificate for the CSR's key on
 * stdout: issued.  Exit 75: pending, the first line of stdout is the CA's
 * reference.  Anything else: unavailable, with how it ended. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "connector_impl.h"
#include "proto.h"
#include "spawn.h"

#define MARGIN_MS 1000 /* left to the caller after the program's time limit */
#define EX_TEMPFAIL 75

struct env {
	char action[64], target[96], group[96], user[96], token[96], ref[160];
};

/* The program's environment and time limit for ACTION on RQ. */
static void
prepare(const struct ct_cx_request *rq, const char *action, struct env *e, struct ct_spawn *sp)
{
	const struct ct_connector *cn = rq->target->connector;
	int64_t left;

	snprintf(e->action, sizeof(e->action), "CERTTOKEN_ACTION=%s", action);
	snprintf(e->target, sizeof(e->target), "CERTTOKEN_TARGET=%s", rq->target->name);
	snprintf(e->group, sizeof(e->group), "CERTTOKEN_ACCESS_GROUP=%s", rq->target->group->name);
	snprintf(e->user, sizeof(e->user), "CERTTOKEN_USER=%s", rq->user);
	snprintf(e->token, sizeof(e->token), "CERTTOKEN_TOKEN=%s", rq->token);
	snprintf(e->ref, sizeof(e->ref), "CERTTOKEN_REQUEST=%s", rq->ref != NULL ? rq->ref : "-");
	memset(sp, 0, sizeof(*sp));
	sp->argv = cn->argv;
	sp->env[0] = e->action;
	sp->env[1] = e->target;
	sp->env[2] = e->group;
	sp->env[3] = e->user;
	sp->env[4] = e->token;
	sp->env[5] = e->ref;
	sp->timeout_ms = cn->timeout * 1000;
	if (rq->deadline != 0 && (left = rq->deadline - ct_now_ms() - MARGIN_MS) < sp->timeout_ms)
		sp->timeout_ms = left > MARGIN_MS ? (int)left : MARGIN_MS;
}

/* Exit 75: the first line of the output, if usable, is the reference. */
static int
take_pending(const struct ct_connector *cn, struct ct_spawn_result *out, struct ct_cx_result *res)
{
	char *nl;

	if (out->out_len == 0)
		return CT_EPENDING;
	if ((nl = strchr((char *)out->out, '\n')) != NULL)
		*nl = '\0';
	if (ct_request_ref_valid((char *)out->out))
		snprintf(res->ref, sizeof(res->ref), "%s", (char *)out->out);
	else if (out->out[0] != '\0')
		snprintf(res->note, sizeof(res->note),
		    "CA connector %s: pending, but its reference is not usable "
		    "(1-128 of A-Z a-z 0-9 . _ : / + = -); ignored",
		    cn->name);
	return CT_EPENDING;
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

/* Exit 0: the output must be a PEM certificate for the requested key. */
static int
take_issued(const struct ct_cx_request *rq, const struct ct_spawn_result *out,
    struct ct_cx_result *res, struct ct_err *err)
{
	const char *name = rq->target->connector->name;
	BIO *bio = NULL;
	X509 *x = NULL;
	int n, rc;

	if ((bio = BIO_new_mem_buf(out->out, (int)out->out_len)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		rc = ct_err_set(err, CT_EINVAL,
		    "CA connector %s: exit 0 but no PEM certificate on its output", name);
		goto out;
	}
	if (!same_key(x, rq->spki, rq->spki_len)) {
		rc = ct_err_set(err, CT_EINVAL,
		    "CA connector %s: the certificate it printed is not for the requested key",
		    name);
		goto out;
	}
	if ((n = i2d_X509(x, &res->der)) <= 0) {
		rc = ct_err_set(err, CT_ECRYPTO, "CA connector %s: cannot encode", name);
		goto out;
	}
	res->der_len = (size_t)n;
	if ((rc = ct_cert_parse(res->der, res->der_len, NULL, &res->info, err)) != CT_OK) {
		ct_err_prefix(err, "CA connector %s: ", name);
		ct_cx_result_clear(res);
		goto out;
	}
	res->has_info = 1;
out:
	X509_free(x);
	BIO_free(bio);
	return rc;
}

/* Run the program for ACTION ("issue" or "fetch") with RQ's CSR on stdin. */
static int
run(const struct ct_cx_request *rq, const char *action, struct ct_cx_result *res,
    struct ct_err *err)
{
	const struct ct_connector *cn = rq->target->connector;
	struct ct_spawn sp;
	struct ct_spawn_result out;
	struct env e;
	char line[CT_ERR_MAX], *pem = NULL;
	BIO *bio = NULL;
	long pem_len;
	int rc;

	memset(&out, 0, sizeof(out));
	prepare(rq, action, &e, &sp);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(bio, PEM_STRING_X509_REQ, "", rq->csr, (long)rq->csr_len) <= 0) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	sp.in = (const unsigned char *)pem;
	sp.in_len = (size_t)pem_len;
	if ((rc = ct_spawn_run(&sp, &out, err)) != CT_OK) {
		ct_err_prefix(err, "CA connector %s: ", cn->name);
		goto out;
	}
	if (out.exited && out.status == EX_TEMPFAIL)
		rc = take_pending(cn, &out, res);
	else if (out.exited && out.status == 0)
		rc = take_issued(rq, &out, res, err);
	else {
		ct_spawn_describe(&sp, &out, line, sizeof(line));
		rc = ct_err_set(err, CT_EUNAVAIL, "CA connector %s: %s", cn->name, line);
	}
out:
	BIO_free(bio);
	ct_spawn_result_clear(&out);
	return rc;
}

static int
command_issue(const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err)
{
	return run(rq, "issue", res, err);
}

static int
command_fetch(const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err)
{
	return run(rq, "fetch", res, err);
}

const struct ct_connector_ops ct_connector_command = {
    .name = "command",
    .caps = CT_CX_EXTERNAL | CT_CX_CAN_KEYGEN | CT_CX_FETCH | CT_CX_RUNS_PROGRAM | CT_CX_KEEPS_CSR,
    .pending_why = "the CA has not decided yet",
    .issue = command_issue,
    .fetch = command_fetch,
};
