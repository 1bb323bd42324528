/* CRLs of an access group's CA (crl.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "cadir.h"
#include "crl.h"
#include "store_backend.h"

#define CRL_NUMBER_DIGITS 18 /* below INT64_MAX, and far within RFC 5280's 20 octets */
#define CRL_TAKE_TRIES 3 /* ct_cadir_replace may ask to run the change again */

/* Add to CRL the certificate SERIAL (hex) revoked at WHEN for REASON (an
 * RFC 5280 code; 0 adds no reason). */
static int
add_revoked(X509_CRL *crl, const char *serial, int64_t when, int reason)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = NULL;
	ASN1_ENUMERATED *code = NULL;
	ASN1_TIME *rt = NULL;
	BIGNUM *bn = NULL;
	int ok;

	ok = r != NULL && BN_hex2bn(&bn, serial) > 0 &&
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_REVOKED_set_serialNumber(r, sn) == 1 &&
	    (rt = ASN1_TIME_set(NULL, (time_t)when)) != NULL &&
	    X509_REVOKED_set_revocationDate(r, rt) == 1 &&
	    (reason == 0 ||
	        ((code = ASN1_ENUMERATED_new()) != NULL && ASN1_ENUMERATED_set(code, reason) == 1 &&
	            X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, 0) == 1)) &&
	    X509_CRL_add0_revoked(crl, r) == 1;
	if (!ok)
		X509_REVOKED_free(r);
	ASN1_ENUMERATED_free(code);
	ASN1_TIME_free(rt);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return ok ? 0 : -1;
}

/* Issuer, thisUpdate NOW and nextUpdate NOW + NEXT_UPDATE of CRL. */
static int
set_header(X509_CRL *crl, const struct ct_ca *ca, time_t now, long next_update)
{
	ASN1_TIME *t = NULL;
	int ok;

	ok = X509_CRL_set_version(crl, 1) == 1 &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ct_ca_cert(ca))) == 1 &&
	    (t = ASN1_TIME_set(NULL, now)) != NULL && X509_CRL_set1_lastUpdate(crl, t) == 1 &&
	    ASN1_TIME_set(t, now + next_update) != NULL && X509_CRL_set1_nextUpdate(crl, t) == 1;
	ASN1_TIME_free(t);
	return ok ? 0 : -1;
}

/* The CRL NUMBER and the authority key identifier; then sort and sign CRL
 * with CA's key. */
static int
sign_crl(X509_CRL *crl, const struct ct_ca *ca, int64_t number)
{
	const char *md = ct_ca_digest(ca);
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	int ok;

	ok = (num = ASN1_INTEGER_new()) != NULL && ASN1_INTEGER_set_int64(num, number) == 1 &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1 &&
	    (akid = AUTHORITY_KEYID_new()) != NULL &&
	    (akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(ct_ca_cert(ca)))) !=
	        NULL &&
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) == 1 &&
	    X509_CRL_sort(crl) == 1 &&
	    X509_CRL_sign(crl, ct_ca_key(ca), md != NULL ? EVP_get_digestbyname(md) : NULL) > 0;
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	return ok ? 0 : -1;
}

/* CRL as PEM in a new string; CT_ECRYPTO or CT_ENOMEM. */
static int
crl_pem(X509_CRL *crl, char **pem)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = CT_ECRYPTO;

	if (bio != NULL && PEM_write_bio_X509_CRL(bio, crl) == 1) {
		len = BIO_get_mem_data(bio, &data);
		if ((*pem = malloc((size_t)len + 1)) == NULL)
			rc = CT_ENOMEM;
		else {
			memcpy(*pem, data, (size_t)len);
			(*pem)[len] = '\0';
			rc = CT_OK;
		}
	}
	BIO_free(bio);
	return rc;
}

int
ct_crl_make(struct ct_ca *ca, const char *const *serials, const int64_t *when, const int *reasons,
    size_t n, time_t now, long next_update, int64_t number, char **pem, struct ct_err *err)
{
	X509_CRL *crl = X509_CRL_new();
	size_t i;
	int rc = CT_ECRYPTO;

	*pem = NULL;
	if (crl == NULL || set_header(crl, ca, now, next_update) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (add_revoked(crl, serials[i], when[i], reasons[i]) != 0)
			goto out;
	if (sign_crl(crl, ca, number) == 0)
		rc = crl_pem(crl, pem);
out:
	if (rc == CT_ENOMEM)
		ct_err_set(err, CT_ENOMEM, "out of memory");
	else if (rc != CT_OK) {
		ct_err_set(
		    err, CT_ECRYPTO, "cannot build the CRL of access group %s", ct_ca_group(ca));
		ct_err_openssl(err);
	}
	X509_CRL_free(crl);
	return rc;
}

/* ---- CRL numbers ---- */

/* Every item S has but the CRL number into C, byte for byte. */
static int
content_read(const struct ct_cadir *s, struct ct_ca_content *c, struct ct_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < CT_CA_ITEMS; i++) {
		if (i == CT_CA_CRL_NUMBER || !ct_cadir_has(s, (enum ct_ca_item)i))
			continue;
		if ((rc = ct_cadir_read(
		         s, (enum ct_ca_item)i, &c->item[i].data, &c->item[i].len, err)) != CT_OK)
			return rc;
	}
	return CT_OK;
}

/* The last CRL number S records into *LAST; 0 when it has none. */
static int
number_read(const struct ct_cadir *s, int64_t *last, struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0, i;
	int64_t v = 0;
	int rc;

	*last = 0;
	if (!ct_cadir_has(s, CT_CA_CRL_NUMBER))
		return CT_OK;
	if ((rc = ct_cadir_read(s, CT_CA_CRL_NUMBER, &data, &len, err)) != CT_OK)
		return rc;
	for (i = 0; i + 1 < len && i < CRL_NUMBER_DIGITS && data[i] >= '0' && data[i] <= '9'; i++)
		v = v * 10 + (data[i] - '0');
	if (len < 2 || i + 1 != len || data[i] != '\n' || (data[0] == '0' && len > 2))
		rc = ct_err_set(
		    err, CT_EIO, "%s/%s: not a CRL number", s->where, s->names[CT_CA_CRL_NUMBER]);
	else
		*last = v;
	free(data);
	return rc;
}

/* One try of ct_crl_number_take on a snapshot opened to change. */
static int
number_take(struct ct_cadir *s, time_t now, int count, int64_t *first, struct ct_err *err)
{
	struct ct_ca_content c = {0};
	char text[CRL_NUMBER_DIGITS + 2];
	int64_t last, next;
	int n, rc;

	if ((rc = number_read(s, &last, err)) != CT_OK || (rc = content_read(s, &c, err)) != CT_OK)
		goto out;
	next = (int64_t)now > last ? (int64_t)now : last + 1;
	n = snprintf(text, sizeof(text), "%" PRId64 "\n", next + count - 1);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		rc = ct_err_set(err, CT_EIO, "%s/%s: the CRL numbers are used up", s->where,
		    s->names[CT_CA_CRL_NUMBER]);
		goto out;
	}
	c.item[CT_CA_CRL_NUMBER].data = (unsigned char *)text;
	c.item[CT_CA_CRL_NUMBER].len = (size_t)n;
	rc = ct_cadir_replace(s, &c, err);
	c.item[CT_CA_CRL_NUMBER].data = NULL;
	if (rc == CT_OK)
		*first = next;
out:
	ct_ca_content_clear(&c);
	return rc;
}

int
ct_crl_number_take(struct ct_store *st, const char *group, time_t now, int count, int64_t *first,
    struct ct_err *err)
{
	struct ct_cadir *s = NULL;
	int tries, rc = CT_ECONFLICT;

	if (count < 1 || count > 2)
		return ct_err_set(err, CT_EINVAL, "%d CRL numbers asked for (1 or 2)", count);
	for (tries = 0; rc == CT_ECONFLICT && tries < CRL_TAKE_TRIES; tries++) {
		ct_err_clear(err);
		if ((rc = ct_cadir_open(st, group, CT_CADIR_CHANGE, &s, err)) == CT_OK)
			rc = number_take(s, now, count, first, err);
		ct_cadir_close(s);
		s = NULL;
	}
	return rc;
}

/* Does the backend of ST keep CRLs, and is GROUP a group name? */
static int
crl_check(struct ct_store *st, const char *group, struct ct_err *err)
{
	if (!ct_name_valid(group))
		return ct_err_set(err, CT_EINVAL, "'%s' is not a valid access group name", group);
	if (st->ops->crl_publish == NULL || st->ops->crl_read == NULL)
		return ct_err_set(
		    err, CT_ECONFIG, "store backend '%s' keeps no CRLs", st->ops->name);
	return CT_OK;
}

int
ct_crl_publish(
    struct ct_store *st, const char *group, const char *pem, size_t len, struct ct_err *err)
{
	int rc;

	if ((rc = crl_check(st, group, err)) != CT_OK)
		return rc;
	if (len == 0 || memmem(pem, len, "-----BEGIN X509 CRL-----", 24) == NULL)
		return ct_err_set(err, CT_EINVAL, "access group '%s': no CRL to publish", group);
	return st->ops->crl_publish(st, group, pem, len, err);
}

int
ct_crl_published(
    struct ct_store *st, const char *group, unsigned char **pem, size_t *len, struct ct_err *err)
{
	int rc;

	*pem = NULL;
	*len = 0;
	if ((rc = crl_check(st, group, err)) != CT_OK)
		return rc;
	return st->ops->crl_read(st, group, pem, len, err);
}
