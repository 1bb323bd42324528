/* Key types, SPKIs and CSRs (keys.h). */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "der.h"
#include "keys.h"

const char *
ct_key_digest(enum ct_key_type t)
{
	switch (t) {
	case CT_KEY_EC_P384: return "SHA384";
	case CT_KEY_ED25519: return NULL;
	default: return "SHA256";
	}
}

EVP_PKEY *
ct_key_generate(enum ct_key_type t)
{
	switch (t) {
	case CT_KEY_EC_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case CT_KEY_EC_P384: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case CT_KEY_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case CT_KEY_RSA2048: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case CT_KEY_RSA3072: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	case CT_KEY_RSA4096: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	}
	return NULL;
}

const char *
ct_pkey_digest(const EVP_PKEY *key)
{
	char group[64];

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519)
		return NULL;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(
	        key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)) {
		if (strcmp(group, "secp384r1") == 0)
			return "SHA384";
		if (strcmp(group, "secp521r1") == 0)
			return "SHA512";
	}
	return "SHA256";
}

int
ct_pkey_type(const EVP_PKEY *key)
{
	char group[64];

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_ED25519: return CT_KEY_ED25519;
	case EVP_PKEY_RSA:
		switch (EVP_PKEY_get_bits(key)) {
		case 2048: return CT_KEY_RSA2048;
		case 3072: return CT_KEY_RSA3072;
		case 4096: return CT_KEY_RSA4096;
		}
		return -1;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(
		        key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
			return -1;
		if (strcmp(group, "prime256v1") == 0)
			return CT_KEY_EC_P256;
		if (strcmp(group, "secp384r1") == 0)
			return CT_KEY_EC_P384;
		return -1;
	}
	return -1;
}

int
ct_spki_split(const unsigned char *spki, size_t len, const unsigned char **alg, size_t *alg_len,
    const unsigned char **key, size_t *key_len)
{
	struct ct_der d, seq, a, bits;

	ct_der_init(&d, spki, len);
	if (ct_der_read(&d, CT_DER_SEQUENCE, &seq, NULL) != CT_OK || !ct_der_done(&d) ||
	    ct_der_read(&seq, CT_DER_SEQUENCE, NULL, &a) != CT_OK ||
	    ct_der_read(&seq, CT_DER_BIT_STRING, &bits, NULL) != CT_OK || !ct_der_done(&seq) ||
	    bits.left < 2 || bits.p[0] != 0)
		return CT_EINVAL;
	*alg = a.p;
	*alg_len = a.left;
	*key = bits.p + 1;
	*key_len = bits.left - 1;
	return CT_OK;
}

/* Is PKEY a key we issue certificates for? */
static int
check_leaf_key(EVP_PKEY *pkey, struct ct_err *err)
{
	char group[64];
	EVP_PKEY_CTX *ctx;
	int ok;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_ED25519: return CT_OK;
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) < 2048 || EVP_PKEY_get_bits(pkey) > 16384)
			return ct_err_set(err, CT_EINVAL, "RSA key of %d bits (need 2048 to 16384)",
			    EVP_PKEY_get_bits(pkey));
		return CT_OK;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(
		        pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
		    (strcmp(group, "prime256v1") != 0 && strcmp(group, "secp384r1") != 0 &&
		        strcmp(group, "secp521r1") != 0))
			return ct_err_set(err, CT_EINVAL,
			    "EC key on an unsupported curve "
			    "(need P-256, P-384 or P-521)");
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
		EVP_PKEY_CTX_free(ctx);
		ERR_clear_error();
		return ok ? CT_OK
		          : ct_err_set(err, CT_EINVAL, "EC public key is not a valid point");
	default:
		return ct_err_set(err, CT_EINVAL, "unsupported key type (need EC, Ed25519 or RSA)");
	}
}

static int
is_pem(const unsigned char *data, size_t len)
{
	return len >= 10 && memmem(data, len, "-----BEGIN", 10) != NULL;
}

/* Check PKEY and give its SPKI DER. */
static int
export_spki(EVP_PKEY *pkey, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	unsigned char *buf = NULL;
	int rc, n;

	if ((rc = check_leaf_key(pkey, err)) != CT_OK)
		return rc;
	if ((n = i2d_PUBKEY(pkey, &buf)) <= 0 || n > CT_SPKI_MAX) {
		OPENSSL_free(buf);
		return ct_err_set(err, CT_EINVAL, "cannot encode the public key");
	}
	*der = buf;
	*der_len = (size_t)n;
	return CT_OK;
}

int
ct_spki_from_pem(
    const unsigned char *data, size_t len, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	const unsigned char *p = data;
	EVP_PKEY *pkey = NULL;
	BIO *b = NULL;
	int rc;

	if (len > CT_CSR_MAX)
		return ct_err_set(err, CT_EINVAL, "public key larger than %d bytes", CT_CSR_MAX);
	if (is_pem(data, len)) {
		if ((b = BIO_new_mem_buf(data, (int)len)) != NULL)
			pkey = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	} else
		pkey = d2i_PUBKEY(NULL, &p, (long)len);
	ERR_clear_error();
	if (pkey == NULL)
		rc = ct_err_set(err, CT_EINVAL,
		    "not a PEM or DER public key "
		    "(expected -----BEGIN PUBLIC KEY-----)");
	else
		rc = export_spki(pkey, der, der_len, err);
	EVP_PKEY_free(pkey);
	BIO_free(b);
	return rc;
}

int
ct_csr_make(
    EVP_PKEY *key, const char *subject_cn, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	const char *md = ct_pkey_digest(key);
	EVP_MD *m = NULL;
	int n = 0, rc = CT_ECRYPTO;

	*der = NULL;
	if (req == NULL || name == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(
	        name, "CN", MBSTRING_UTF8, (const unsigned char *)subject_cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
	    (md != NULL && (m = EVP_MD_fetch(NULL, md, NULL)) == NULL) ||
	    X509_REQ_sign(req, key, m) <= 0 || (n = i2d_X509_REQ(req, der)) <= 0) {
		ct_err_set(err, CT_ECRYPTO, "cannot build the CSR");
		ct_err_openssl(err);
		goto out;
	}
	*der_len = (size_t)n;
	rc = CT_OK;
out:
	EVP_MD_free(m);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return rc;
}

/* The DER of the CSR in DATA (LEN bytes): DATA itself, or its PEM block
 * decoded into *BUF (OPENSSL_free), as PEM_read_bio_X509_REQ reads it. */
static int
csr_der(const unsigned char *data, size_t len, const unsigned char **der, size_t *der_len,
    unsigned char **buf)
{
	BIO *b;
	long n = 0;
	int ok;

	if (!is_pem(data, len)) {
		*der = data;
		*der_len = len;
		return CT_OK;
	}
	ok = (b = BIO_new_mem_buf(data, (int)len)) != NULL &&
	    PEM_bytes_read_bio(buf, &n, NULL, PEM_STRING_X509_REQ, b, NULL, NULL) == 1 && n > 0;
	BIO_free(b);
	if (!ok)
		return CT_EINVAL;
	*der = *buf;
	*der_len = (size_t)n;
	return CT_OK;
}

/* The subjectPKInfo element of the DER CSR (LEN bytes at CSR), as received:
 *   CertificationRequest ::= SEQUENCE { CertificationRequestInfo ::=
 *     SEQUENCE { version INTEGER, subject Name, subjectPKInfo, ... }, ... }
 * It must hold the key bits OpenSSL decoded from REQ (the key whose
 * signature verified). */
static int
csr_spki(const unsigned char *csr, size_t len, X509_REQ *req, struct ct_der *spki)
{
	struct ct_der d, cr, info, elem;
	const unsigned char *alg, *bits, *want;
	size_t alg_len, bits_len;
	int want_len;

	ct_der_init(&d, csr, len);
	if (ct_der_read(&d, CT_DER_SEQUENCE, &cr, NULL) != CT_OK ||
	    ct_der_read(&cr, CT_DER_SEQUENCE, &info, NULL) != CT_OK ||
	    ct_der_read(&info, CT_DER_INTEGER, NULL, NULL) != CT_OK ||
	    ct_der_read(&info, CT_DER_SEQUENCE, NULL, NULL) != CT_OK ||
	    ct_der_read(&info, CT_DER_SEQUENCE, NULL, &elem) != CT_OK ||
	    ct_spki_split(elem.p, elem.left, &alg, &alg_len, &bits, &bits_len) != CT_OK ||
	    X509_PUBKEY_get0_param(NULL, &want, &want_len, NULL, X509_REQ_get_X509_PUBKEY(req)) !=
	        1 ||
	    want_len < 0 || (size_t)want_len != bits_len || memcmp(want, bits, bits_len) != 0)
		return CT_EINVAL;
	*spki = elem;
	return CT_OK;
}

/* Check the key of the verified REQ and give its SPKI DER: the bytes of the
 * CSR (LEN at CSR), or re-encoded when they are not in DER form there. */
static int
csr_key(X509_REQ *req, const unsigned char *csr, size_t len, unsigned char **der, size_t *der_len,
    struct ct_err *err)
{
	EVP_PKEY *pkey = X509_REQ_get0_pubkey(req);
	struct ct_der spki;
	int rc;

	if (csr_spki(csr, len, req, &spki) != CT_OK)
		return export_spki(pkey, der, der_len, err);
	if ((rc = check_leaf_key(pkey, err)) != CT_OK)
		return rc;
	if (spki.left > CT_SPKI_MAX)
		return ct_err_set(err, CT_EINVAL, "cannot encode the public key");
	if ((*der = OPENSSL_memdup(spki.p, spki.left)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	*der_len = spki.left;
	return CT_OK;
}

int
ct_csr_verify(
    const unsigned char *data, size_t len, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	const unsigned char *csr = NULL, *p;
	unsigned char *buf = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *pkey;
	size_t csr_len = 0;
	int rc;

	if (len > CT_CSR_MAX)
		return ct_err_set(err, CT_EINVAL, "CSR larger than %d bytes", CT_CSR_MAX);
	if (csr_der(data, len, &csr, &csr_len, &buf) == CT_OK) {
		p = csr;
		req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	}
	if (req == NULL || (pkey = X509_REQ_get0_pubkey(req)) == NULL)
		rc = ct_err_set(err, CT_EINVAL, "not a PEM or DER PKCS#10 certificate request");
	else if (X509_REQ_verify(req, pkey) != 1)
		rc = ct_err_set(err, CT_EINVAL, "the CSR's signature does not verify");
	else
		rc = csr_key(req, csr, csr_len, der, der_len, err);
	ERR_clear_error();
	X509_REQ_free(req);
	OPENSSL_free(buf);
	return rc;
}
