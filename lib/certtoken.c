/* The certificate-token lifecycle (see certtoken.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "certtoken.h"
#include "der.h"
#include "requests.h"
#include "store.h"
#include "util.h"

/* ---- describing a certificate ---- */

/* Read D's next element, whatever its tag (see ct_der_read). */
static int
read_any(struct ct_der *d, struct ct_der *content, struct ct_der *elem)
{
	int tag = ct_der_peek(d);

	return tag < 0 ? CT_EINVAL : ct_der_read(d, (unsigned char)tag, content, elem);
}

/* The parts of a TBSCertificate that describe it, as whole elements. */
struct tbs_parts {
	struct ct_der serial, not_before, not_after, subject;
};

/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version (v1: none),
 *   serialNumber, signature, issuer, validity { notBefore, notAfter },
 *   subject, ... } ... } */
static int
tbs_split(const unsigned char *der, size_t len, struct tbs_parts *t)
{
	struct ct_der d, cert, tbs, validity;

	ct_der_init(&d, der, len);
	if (ct_der_read(&d, CT_DER_SEQUENCE, &cert, NULL) != CT_OK ||
	    ct_der_read(&cert, CT_DER_SEQUENCE, &tbs, NULL) != CT_OK ||
	    (ct_der_peek(&tbs) == 0xa0 && ct_der_read(&tbs, 0xa0, NULL, NULL) != CT_OK) ||
	    ct_der_read(&tbs, CT_DER_INTEGER, NULL, &t->serial) != CT_OK ||
	    ct_der_read(&tbs, CT_DER_SEQUENCE, NULL, NULL) != CT_OK || /* signature */
	    ct_der_read(&tbs, CT_DER_SEQUENCE, NULL, NULL) != CT_OK || /* issuer */
	    ct_der_read(&tbs, CT_DER_SEQUENCE, &validity, NULL) != CT_OK ||
	    read_any(&validity, NULL, &t->not_before) != CT_OK ||
	    read_any(&validity, NULL, &t->not_after) != CT_OK ||
	    ct_der_read(&tbs, CT_DER_SEQUENCE, NULL, &t->subject) != CT_OK)
		return -1;
	return 0;
}

/* TIME's seconds since the epoch and its ISO 8601 text (TEXT may be NULL). */
static int
time_of(const struct ct_der *e, int64_t *out, char *text, size_t size)
{
	const unsigned char *p = e->p;
	ASN1_TIME *at = d2i_ASN1_TIME(NULL, &p, (long)e->left);
	struct tm tm;
	int ok = at != NULL && ASN1_TIME_to_tm(at, &tm) == 1;

	ASN1_TIME_free(at);
	if (!ok)
		return -1;
	*out = (int64_t)timegm(&tm);
	if (text != NULL)
		strftime(text, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return 0;
}

/* NAME's RFC 2253 text into OUT: UTF-8 left as it is, but what could
 * disguise a line escaped as hex pairs (ct_text_printable). */
static int
name_text(const struct ct_der *e, char *out, size_t size)
{
	const unsigned char *p = e->p;
	X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)e->left);
	BIO *bio = BIO_new(BIO_s_mem());
	char *text = NULL;
	long n = -1;

	if (name != NULL && bio != NULL &&
	    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_get_mem_data(bio, &text);
	if (n >= 0)
		ct_text_printable(text, (size_t)n, CT_TEXT_HEX, out, size);
	BIO_free(bio);
	X509_NAME_free(name);
	return n >= 0 ? 0 : -1;
}

int
ct_cert_describe(const unsigned char *der, size_t len, struct ct_cert_desc *out, struct ct_err *err)
{
	struct tbs_parts t;
	ASN1_INTEGER *serial = NULL;
	const unsigned char *q;
	int rc = CT_OK;

	memset(out, 0, sizeof(*out));
	if (tbs_split(der, len, &t) != 0 ||
	    (q = t.serial.p, serial = d2i_ASN1_INTEGER(NULL, &q, (long)t.serial.left)) == NULL ||
	    ct_serial_hex(serial, out->serial) != CT_OK ||
	    time_of(&t.not_before, &out->not_before, NULL, 0) != 0 ||
	    time_of(&t.not_after, &out->not_after, out->not_after_text,
	        sizeof(out->not_after_text)) != 0 ||
	    name_text(&t.subject, out->subject, sizeof(out->subject)) != 0) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot read back the issued certificate");
		ct_err_openssl(err);
	}
	ASN1_INTEGER_free(serial);
	return rc;
}

/* ---- tokens ---- */

void
ct_certtoken_init(struct ct_token *t, const char *serial, const char *target, const char *rollout,
    const char *desc, time_t now)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->serial, sizeof(t->serial), "%s", serial);
	t->type = CT_TOKEN_CERT;
	t->active = 1;
	t->last_step = -1;
	snprintf(t->rollout_state, sizeof(t->rollout_state), "%s", rollout);
	snprintf(t->description, sizeof(t->description), "%s", desc);
	t->created = (int64_t)now;
	snprintf(t->target, sizeof(t->target), "%s", target);
}

/* Expired certificates and rejected requests hold nothing. */
static int
holds_nothing(const struct ct_token *t, time_t now)
{
	return t->type == CT_TOKEN_CERT &&
	    ((strcmp(t->rollout_state, "enrolled") == 0 && t->not_after != 0 &&
	         t->not_after < (int64_t)now) ||
	        strcmp(t->rollout_state, "rejected") == 0);
}

int
ct_certtoken_make_room(struct ct_user_tokens *ut, const char *user, time_t now,
    struct ct_token *dropped, struct ct_err *err)
{
	size_t i, j, oldest;

	if (dropped != NULL)
		dropped->serial[0] = '\0';
	for (i = j = 0; i < ut->n; i++) {
		if (holds_nothing(&ut->tok[i], now))
			continue;
		if (j != i)
			ut->tok[j] = ut->tok[i];
		j++;
	}
	ut->n = j;
	if (ut->n < CT_TOKENS_MAX)
		return CT_OK;
	for (i = 0, oldest = CT_TOKENS_MAX; i < ut->n; i++)
		if (ut->tok[i].type == CT_TOKEN_CERT &&
		    strcmp(ut->tok[i].rollout_state, "enrolled") == 0 &&
		    (oldest == CT_TOKENS_MAX || ut->tok[i].created < ut->tok[oldest].created))
			oldest = i;
	if (oldest == CT_TOKENS_MAX)
		return ct_err_set(err, CT_EEXIST,
		    "user %s already has %d tokens and none is a certificate token that could make "
		    "room; an administrator must delete some",
		    user, CT_TOKENS_MAX);
	if (dropped != NULL)
		*dropped = ut->tok[oldest];
	memmove(&ut->tok[oldest], &ut->tok[oldest + 1], (ut->n - oldest - 1) * sizeof(ut->tok[0]));
	ut->n--;
	return CT_OK;
}

/* Put NT in place of UT's pending token with the same serial. */
static int
replace_pending(struct ct_user_tokens *ut, const struct ct_token *nt, struct ct_err *err)
{
	size_t i;

	for (i = 0; i < ut->n && strcmp(ut->tok[i].serial, nt->serial) != 0; i++)
		;
	if (i == ut->n || strcmp(ut->tok[i].rollout_state, "pending") != 0)
		return ct_err_set(err, CT_EEXIST, "token %s is no longer pending", nt->serial);
	ut->tok[i] = *nt;
	return CT_OK;
}

struct add {
	const struct ct_token *nt;
	int replace;
	struct ct_token *dropped;
};

/* Inside the user's transaction (ct_store_update). */
static int
add_op(void *ctx, const char *user, struct ct_user_tokens *ut, struct ct_err *err)
{
	struct add *a = ctx;
	int rc;

	if (a->replace)
		return replace_pending(ut, a->nt, err);
	if ((rc = ct_certtoken_make_room(ut, user, time(NULL), a->dropped, err)) == CT_OK)
		ut->tok[ut->n++] = *a->nt;
	return rc;
}

/* ct_certtoken_add, waiting for the user's lock at most until DEADLINE. */
static int
add_until(struct ct_store *st, const char *user, const struct ct_token *nt, int replace,
    struct ct_token *dropped, int64_t deadline, struct ct_err *err)
{
	struct add a = {nt, replace, dropped};

	if (dropped != NULL)
		dropped->serial[0] = '\0';
	return ct_store_update_until(st, user, deadline, add_op, &a, err);
}

int
ct_certtoken_add(struct ct_store *st, const char *user, const struct ct_token *nt, int replace,
    struct ct_token *dropped, struct ct_err *err)
{
	return add_until(st, user, nt, replace, dropped, 0, err);
}

/* ---- recording ---- */

int
ct_certtoken_record_issued(struct ct_certtoken_rec *r, struct ct_err *err)
{
	int rc;

	r->failed_in_token = 0;
	if ((rc = ct_cert_describe(r->der, r->der_len, &r->cert, err)) != CT_OK) {
		ct_err_prefix(err, "index: ");
		return rc;
	}
	if ((rc = ct_certindex_add_ssh(r->st, r->cert.serial, r->user, r->target, r->group,
	         r->token, r->ssh_serial, r->der, r->der_len, err)) != CT_OK) {
		/* a write that failed after the entry appeared (the directory's
		 * fsync) must not leave it: the serial is new, so unless it
		 * already existed the entry is this failed one */
		if (rc != CT_EEXIST)
			ct_certindex_remove(r->st, r->cert.serial);
		ct_err_prefix(err, "index: ");
		return rc;
	}
	ct_certtoken_init(&r->tok, r->token, r->target, "enrolled", r->desc, r->now);
	snprintf(r->tok.cert_serial, sizeof(r->tok.cert_serial), "%s", r->cert.serial);
	r->tok.not_after = r->cert.not_after;
	r->tok.not_before = r->info != NULL ? (int64_t)r->info->not_before : 0;
	/* escaped as names are: from ct_cert_parse already, this whatever its source */
	ct_text_printable(r->info != NULL ? r->info->issuer : "", SIZE_MAX, CT_TEXT_HEX,
	    r->tok.issuer, sizeof(r->tok.issuer));
	if ((rc = add_until(r->st, r->user, &r->tok, r->pending, &r->dropped, r->deadline, err)) !=
	    CT_OK) {
		r->failed_in_token = 1;
		ct_certindex_remove(r->st, r->cert.serial);
	}
	return rc;
}

int
ct_certtoken_record_pending(struct ct_store *st, const struct ct_request *req, const char *desc,
    struct ct_token *tok, struct ct_err *err)
{
	int rc;

	ct_certtoken_init(tok, req->token, req->target, "pending", desc, (time_t)req->created);
	if ((rc = ct_request_save(st, req, err)) == CT_OK &&
	    (rc = ct_certtoken_add(st, req->user, tok, 0, NULL, err)) != CT_OK)
		ct_request_remove(st, req->token, NULL);
	return rc;
}

int
ct_certtoken_decide(
    struct ct_token *t, int approve, const struct ct_cert_desc *cert, struct ct_err *err)
{
	if (t->type != CT_TOKEN_CERT || strcmp(t->rollout_state, "pending") != 0)
		return ct_err_set(err, CT_EEXIST, "token %s is not pending (rollout state %s)",
		    t->serial, t->rollout_state);
	if (approve) {
		snprintf(t->rollout_state, sizeof(t->rollout_state), "enrolled");
		snprintf(t->cert_serial, sizeof(t->cert_serial), "%s", cert->serial);
		t->not_after = cert->not_after;
		t->not_before = cert->not_before;
	} else {
		snprintf(t->rollout_state, sizeof(t->rollout_state), "rejected");
		t->active = 0;
	}
	return CT_OK;
}

struct mark {
	const char *serial;
	struct ct_token *marked;
};

/* Inside the user's transaction: mark the token of certificate SERIAL. */
static int
mark_op(void *ctx, const char *user, struct ct_user_tokens *ut, struct ct_err *err)
{
	struct mark *m = ctx;

	(void)user;
	(void)err;
	for (size_t i = 0; i < ut->n; i++)
		if (ut->tok[i].type == CT_TOKEN_CERT &&
		    strcmp(ut->tok[i].cert_serial, m->serial) == 0) {
			ut->tok[i].active = 0;
			snprintf(
			    ut->tok[i].rollout_state, sizeof(ut->tok[i].rollout_state), "revoked");
			*m->marked = ut->tok[i];
			return CT_OK;
		}
	return CT_STORE_KEEP;
}

int
ct_certtoken_revoke(struct ct_store *st, int tokens, const struct ct_cert_entry *e,
    const char *group, int reason, time_t now, struct ct_token *marked, int *revoked,
    struct ct_err *err)
{
	struct mark m = {e->serial, marked};
	int rc;

	memset(marked, 0, sizeof(*marked));
	*revoked = 0;
	if ((rc = ct_revoke(st, e->serial, group, reason, now, err)) != CT_OK)
		return rc;
	*revoked = 1;
	/* certificates from `issue` have no token; a store without tokens has none */
	if (!tokens || strcmp(e->token, "-") == 0 || !ct_tokens_user_valid(e->user))
		return CT_OK;
	return ct_store_update(st, e->user, mark_op, &m, err);
}
