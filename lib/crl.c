/* CRLs of an access group's CA (crl.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "crl.h"

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

/* The CRL number (NOW: it only grows) and the authority key identifier;
 * then sort and sign CRL with CA's key. */
static int
sign_crl(X509_CRL *crl, const struct ct_ca *ca, time_t now)
{
	const char *md = ct_ca_digest(ca);
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	int ok;

	ok = (num = ASN1_INTEGER_new()) != NULL && ASN1_INTEGER_set_int64(num, (int64_t)now) == 1 &&
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
    size_t n, time_t now, long next_update, char **pem, struct ct_err *err)
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
	if (sign_crl(crl, ca, now) == 0)
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
