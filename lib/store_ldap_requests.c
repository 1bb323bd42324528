/* The LDAP backend: pending requests, ctRequestToken=TOKEN,ou=requests,BASE
 * (ctRequest: user, target, created, the CSR in DER, and when there is one
 * the connector's reference ctRequestRef and the last poll ctPolled), and
 * uploaded certificates, ctRequestToken=TOKEN,ou=uploads,BASE (ctUpload:
 * the certificate as PEM in ctUploadPem). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "store_ldap.h"

static const char *const request_attrs[] = {
    "ctRequestToken", "ctUser", "ctTarget", "ctCreated", "ctPolled", "ctRequestRef", "ctCsr", NULL};

int
ct_lstore_request_save(struct ct_store *st, const struct ct_request *r, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	char created[CT_LSTORE_TIME_LEN], polled[CT_LSTORE_TIME_LEN], *dn = NULL;
	struct ct_lstore_mods m;
	int rc;

	if (ct_lstore_time_format(r->created, created) != 0 ||
	    (r->polled > 0 && ct_lstore_time_format(r->polled, polled) != 0))
		return ct_err_set(err, CT_EINVAL, "pending request %s: bad time", r->token);
	if ((rc = ct_lstore_dn(ls, "ctRequestToken", r->token, CT_LSTORE_REQUESTS, &dn, err)) < 0)
		return rc;
	ct_lstore_mods_init(&m);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "ctRequest");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctRequestToken", r->token);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctUser", r->user);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctTarget", r->target);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctCreated", created);
	ct_lstore_mods_add(&m, LDAP_MOD_ADD, "ctCsr", r->csr, r->csr_len);
	if (strcmp(r->ref, "-") != 0) /* "-": no reference */
		ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctRequestRef", r->ref);
	if (r->polled > 0)
		ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctPolled", polled);
	rc = ct_lstore_add(ls, 0, dn, &m, err);
	free(dn);
	return rc;
}

/* The optional fields of request entry S into R: ref ("-" when none) and
 * the polled time (0 when never). */
static int
request_optional(const struct ct_lstore_entry *s, struct ct_request *r, struct ct_err *err)
{
	int rc;

	strcpy(r->ref, "-");
	if (ct_lstore_values(s, "ctRequestRef") != NULL &&
	    ((rc = ct_lstore_string(s, "ctRequestRef", r->ref, sizeof(r->ref), err)) < 0 ||
	        !ct_request_ref_valid(r->ref)))
		return ct_err_set(err, CT_EIO, "%s: corrupt pending request (ctRequestRef)", s->dn);
	if (ct_lstore_values(s, "ctPolled") != NULL &&
	    (rc = ct_lstore_time(s, "ctPolled", &r->polled, err)) < 0)
		return rc;
	return CT_OK;
}

/* The request entry S of TOKEN into R. */
static int
request_entry(
    const struct ct_lstore_entry *s, const char *token, struct ct_request *r, struct ct_err *err)
{
	const struct berval *v = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->token, sizeof(r->token), "%s", token);
	if ((rc = ct_lstore_string(s, "ctUser", r->user, sizeof(r->user), err)) < 0 ||
	    (rc = ct_lstore_string(s, "ctTarget", r->target, sizeof(r->target), err)) < 0 ||
	    (rc = ct_lstore_time(s, "ctCreated", &r->created, err)) < 0 ||
	    (rc = request_optional(s, r, err)) < 0)
		goto out;
	if (!ct_tokens_user_valid(r->user) || r->target[0] == '\0' ||
	    ct_lstore_value(s, "ctCsr", &v, err) != CT_OK || v->bv_len == 0 ||
	    v->bv_len > CT_REQUEST_CSR_MAX) {
		rc = ct_err_set(err, CT_EIO, "%s: corrupt pending request", s->dn);
		goto out;
	}
	if ((r->csr = malloc(v->bv_len)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(r->csr, v->bv_val, v->bv_len);
	r->csr_len = v->bv_len;
out:
	if (rc != CT_OK)
		ct_request_clear(r);
	return rc;
}

int
ct_lstore_request_load(
    struct ct_store *st, const char *token, struct ct_request *r, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_entry s = {0};
	char *dn = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = ct_lstore_dn(ls, "ctRequestToken", token, CT_LSTORE_REQUESTS, &dn, err)) < 0)
		return rc;
	if ((rc = ct_lstore_get(ls, CT_LSTORE_WRITE, 0, dn, request_attrs, &s, err)) == CT_OK)
		rc = request_entry(&s, token, r, err);
	ct_lstore_entry_clear(&s);
	free(dn);
	return rc;
}

/* Delete the entry of TOKEN in CONTAINER: gone already is no error. */
static int
remove_token(struct ct_ldap_store *ls, const char *container, const char *token, struct ct_err *err)
{
	struct ct_err local = {0};
	char *dn = NULL;
	int rc;

	if ((rc = ct_lstore_dn(ls, "ctRequestToken", token, container, &dn, err)) < 0)
		return rc;
	if ((rc = ct_lstore_delete(ls, 0, dn, NULL, &local)) == CT_ENOENT)
		rc = CT_OK;
	else if (rc < 0)
		ct_err_set(err, rc, "%s", local.msg);
	free(dn);
	return rc;
}

int
ct_lstore_request_remove(struct ct_store *st, const char *token, struct ct_err *err)
{
	return remove_token(ct_ldap_store_of(st), CT_LSTORE_REQUESTS, token, err);
}

int
ct_lstore_request_polled(struct ct_store *st, const char *token, int64_t when, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	char polled[CT_LSTORE_TIME_LEN], *dn = NULL;
	struct ct_lstore_mods m;
	int rc;

	if (ct_lstore_time_format(when, polled) != 0)
		return ct_err_set(err, CT_EINVAL, "pending request %s: bad time", token);
	if ((rc = ct_lstore_dn(ls, "ctRequestToken", token, CT_LSTORE_REQUESTS, &dn, err)) < 0)
		return rc;
	ct_lstore_mods_init(&m);
	ct_lstore_mods_str(&m, LDAP_MOD_REPLACE, "ctPolled", polled);
	rc = ct_lstore_modify(ls, 0, dn, &m, NULL, err);
	free(dn);
	return rc;
}

int
ct_lstore_request_foreach(struct ct_store *st, ct_request_fn fn, void *ctx, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_entry *s = NULL;
	char *base = NULL, token[CT_SERIAL_MAX];
	struct ct_request r;
	size_t n = 0, i;
	int rc;

	if ((rc = ct_lstore_container(ls, CT_LSTORE_REQUESTS, &base, err)) == CT_OK)
		rc = ct_lstore_search(ls, CT_LSTORE_READ, 0, base, "(objectClass=ctRequest)",
		    request_attrs, &s, &n, err);
	for (i = 0; rc == CT_OK && i < n; i++) {
		if ((rc = ct_lstore_string(&s[i], "ctRequestToken", token, sizeof(token), err)) < 0)
			break;
		if (!ct_request_token_valid(token)) {
			rc = ct_err_set(err, CT_EIO, "%s: corrupt pending request", s[i].dn);
			break;
		}
		if ((rc = request_entry(&s[i], token, &r, err)) < 0)
			break;
		rc = fn(ctx, &r);
		ct_request_clear(&r);
	}
	ct_lstore_entries_free(s, n);
	free(base);
	return rc;
}

/* ---- uploaded certificates ---- */

/* DER (LEN bytes) as a PEM certificate in a new buffer *PEM of *N bytes. */
static int
to_pem(const unsigned char *der, size_t len, char **pem, size_t *n, struct ct_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long got;
	int rc = CT_OK;

	if (bio == NULL || PEM_write_bio(bio, PEM_STRING_X509, "", der, (long)len) <= 0 ||
	    (got = BIO_get_mem_data(bio, &data)) <= 0 || (*pem = malloc((size_t)got)) == NULL)
		rc = ct_err_set(err, CT_ENOMEM, "uploaded certificate: cannot write PEM");
	else {
		memcpy(*pem, data, (size_t)got);
		*n = (size_t)got;
	}
	BIO_free(bio);
	return rc;
}

int
ct_lstore_upload_save(struct ct_store *st, const char *token, const unsigned char *der, size_t len,
    struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_mods m;
	char *dn = NULL, *pem = NULL;
	size_t n = 0;
	int rc;

	if ((rc = to_pem(der, len, &pem, &n, err)) < 0 ||
	    (rc = ct_lstore_dn(ls, "ctRequestToken", token, CT_LSTORE_UPLOADS, &dn, err)) < 0)
		goto out;
	ct_lstore_mods_init(&m);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "ctUpload");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctRequestToken", token);
	ct_lstore_mods_add(&m, LDAP_MOD_ADD, "ctUploadPem", pem, n);
	rc = ct_lstore_add(ls, 0, dn, &m, err);
out:
	free(pem);
	free(dn);
	return rc;
}

int
ct_lstore_upload_load(
    struct ct_store *st, const char *token, unsigned char **pem, size_t *len, struct ct_err *err)
{
	static const char *const attrs[] = {"ctUploadPem", NULL};
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_entry s = {0};
	const struct berval *v = NULL;
	char *dn = NULL;
	int rc;

	if ((rc = ct_lstore_dn(ls, "ctRequestToken", token, CT_LSTORE_UPLOADS, &dn, err)) < 0)
		return rc;
	if ((rc = ct_lstore_get(ls, CT_LSTORE_READ, 0, dn, attrs, &s, err)) == CT_OK &&
	    (rc = ct_lstore_value(&s, "ctUploadPem", &v, err)) == CT_OK) {
		if (v->bv_len > CT_FILE_MAX || (*pem = malloc(v->bv_len + 1)) == NULL)
			rc = ct_err_set(err, CT_EIO, "%s: uploaded certificate too large", s.dn);
		else {
			memcpy(*pem, v->bv_val, v->bv_len);
			(*pem)[v->bv_len] = '\0';
			*len = v->bv_len;
		}
	} else if (rc == CT_ENOENT && s.dn != NULL)
		rc = ct_err_set(err, CT_EIO, "%s: no ctUploadPem", s.dn);
	ct_lstore_entry_clear(&s);
	free(dn);
	return rc;
}

void
ct_lstore_upload_remove(struct ct_store *st, const char *token)
{
	struct ct_err err = {0};

	(void)remove_token(ct_ldap_store_of(st), CT_LSTORE_UPLOADS, token, &err);
}
