/* Leaf issuance (issuer.h).
 *
 * A leaf is assembled as DER: the parts that are the same for every leaf of
 * a target (version, signature algorithm, issuer, fixed extensions) are
 * encoded once by ct_issuer_new, the subject public key arrives encoded, and
 * only the serial, validity, subject, SKI and SANs are encoded per leaf.
 * OpenSSL 3.0's X509 object path (X509_set_pubkey through the encoder, name
 * and extension copies, re-encoding) costs more than the signature itself. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "der.h"
#include "issuer.h"
#include "keys.h"
#include "pattern.h"
#include "template.h"

struct ct_issuer {
	const struct ct_target *target;
	struct ct_ca *ca;
	EVP_MD *sha1; /* for the subject key identifier, fetched once */
	unsigned char *sigalg; /* DER AlgorithmIdentifier of the CA's signature */
	size_t sigalg_len;
	unsigned char *issuer; /* DER Name: the CA's subject */
	size_t issuer_len;
	unsigned char *fixed_ext; /* DER of basicConstraints, KU, EKU, AKI */
	size_t fixed_ext_len;
};

/* Serial: INTEGER of 16 random bytes, positive and minimally encoded. */
static int
der_serial(unsigned char out[20], size_t *len)
{
	unsigned char rnd[16];
	size_t skip = 0;

	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -1;
		for (skip = 0; skip < sizeof(rnd) && rnd[skip] == 0; skip++)
			;
	} while (skip == sizeof(rnd));
	out[0] = 0x02;
	if (rnd[skip] & 0x80) {
		out[1] = (unsigned char)(sizeof(rnd) - skip + 1);
		out[2] = 0x00;
		memcpy(out + 3, rnd + skip, sizeof(rnd) - skip);
		*len = 3 + sizeof(rnd) - skip;
	} else {
		out[1] = (unsigned char)(sizeof(rnd) - skip);
		memcpy(out + 2, rnd + skip, sizeof(rnd) - skip);
		*len = 2 + sizeof(rnd) - skip;
	}
	return 0;
}

/* Time T as UTCTime (1950-2049) or GeneralizedTime (RFC 5280 4.1.2.5). */
static int
der_time(time_t t, unsigned char *out, size_t *len)
{
	struct tm tm;
	char s[20];
	int n;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	if (tm.tm_year >= 50 && tm.tm_year < 150) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		out[0] = 0x17;
	} else {
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		out[0] = 0x18;
	}
	if (n < 0 || n >= (int)sizeof(s))
		return -1;
	out[1] = (unsigned char)n;
	memcpy(out + 2, s, (size_t)n);
	*len = 2 + (size_t)n;
	return 0;
}

/* Append the DER of every extension of X to *BUF (a growing buffer). */
static int
append_extensions(const X509 *x, unsigned char **buf, size_t *len)
{
	unsigned char *der = NULL, *grown;
	int i, n;

	for (i = 0; i < X509_get_ext_count(x); i++) {
		if ((n = i2d_X509_EXTENSION(X509_get_ext(x, i), &der)) <= 0)
			return -1;
		if ((grown = realloc(*buf, *len + (size_t)n)) == NULL) {
			OPENSSL_free(der);
			return -1;
		}
		memcpy(grown + *len, der, (size_t)n);
		*buf = grown;
		*len += (size_t)n;
		OPENSSL_free(der);
		der = NULL;
	}
	return 0;
}

/* The DER AlgorithmIdentifier the CA key signs with. */
static int
signature_algorithm(struct ct_issuer *is, struct ct_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char aid[128];
	OSSL_PARAM params[2];
	int rc = CT_ECRYPTO;

	params[0] =
	    OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, sizeof(aid));
	params[1] = OSSL_PARAM_construct_end();
	if (ctx != NULL &&
	    EVP_DigestSignInit_ex(
	        ctx, NULL, ct_ca_digest(is->ca), NULL, NULL, ct_ca_key(is->ca), NULL) == 1 &&
	    EVP_PKEY_CTX_get_params(EVP_MD_CTX_get_pkey_ctx(ctx), params) == 1 &&
	    OSSL_PARAM_modified(&params[0]) &&
	    (is->sigalg = OPENSSL_memdup(aid, params[0].return_size)) != NULL) {
		is->sigalg_len = params[0].return_size;
		rc = CT_OK;
	} else
		ct_err_set(err, rc, "cannot determine the CA's signature algorithm");
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Encode what is the same for every leaf of the target. */
static int
fixed_parts(struct ct_issuer *is, struct ct_err *err)
{
	const ASN1_OCTET_STRING *ca_ski = X509_get0_subject_key_id(ct_ca_cert(is->ca));
	BASIC_CONSTRAINTS bc = {0, NULL};
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	X509 *scratch = X509_new();
	int n, rc = CT_ECRYPTO;

	if (akid == NULL || scratch == NULL || ca_ski == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(ca_ski)) == NULL ||
	    X509_add1_ext_i2d(scratch, NID_basic_constraints, &bc, 1, X509V3_ADD_DEFAULT) != 1) {
		ct_err_set(err, rc, "cannot encode the fixed extensions");
		goto out;
	}
	if ((rc = ct_template_apply(is->target->template, scratch, err)) != CT_OK)
		goto out;
	rc = CT_ECRYPTO;
	if (X509_add1_ext_i2d(scratch, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) !=
	        1 ||
	    append_extensions(scratch, &is->fixed_ext, &is->fixed_ext_len) != 0 ||
	    (n = i2d_X509_NAME(X509_get_subject_name(ct_ca_cert(is->ca)), &is->issuer)) <= 0) {
		ct_err_set(err, rc, "cannot encode the fixed parts of the certificate");
		goto out;
	}
	is->issuer_len = (size_t)n;
	rc = signature_algorithm(is, err);
out:
	AUTHORITY_KEYID_free(akid);
	X509_free(scratch);
	return rc;
}

int
ct_issuer_new(
    const struct ct_target *t, struct ct_ca *ca, struct ct_issuer **out, struct ct_err *err)
{
	struct ct_issuer *is = calloc(1, sizeof(*is));
	int rc;

	if (is == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	is->target = t;
	is->ca = ca;
	if ((is->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot fetch SHA1");
		goto fail;
	}
	if ((rc = fixed_parts(is, err)) != CT_OK)
		goto fail;
	*out = is;
	return CT_OK;
fail:
	ct_issuer_free(is);
	return rc;
}

void
ct_issuer_free(struct ct_issuer *is)
{
	if (is == NULL)
		return;
	EVP_MD_free(is->sha1);
	OPENSSL_free(is->sigalg);
	OPENSSL_free(is->issuer);
	free(is->fixed_ext);
	free(is);
}

/* Subject key identifier extension: SHA-1 of the subjectPublicKey bits
 * (RFC 5280 4.2.1.2 method 1), as a complete Extension. */
static int
der_ski(struct ct_issuer *is, const unsigned char *key, size_t key_len, unsigned char out[31])
{
	static const unsigned char head[] = {
	    0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14};
	unsigned int md_len = 0;

	memcpy(out, head, sizeof(head));
	if (EVP_Digest(key, key_len, out + sizeof(head), &md_len, is->sha1, NULL) != 1 ||
	    md_len != 20)
		return -1;
	return 0;
}

/* The validity window, capped by the CA's own. */
static int
der_validity(struct ct_issuer *is, time_t now, unsigned char **out, size_t *len, struct ct_err *err)
{
	const struct ct_ca *ca = is->ca;
	time_t nb = now - is->target->backdate, na = now + is->target->lifetime;
	unsigned char t1[20], t2[20];
	struct ct_der_part parts[2];

	if (now >= ct_ca_not_after(ca))
		return ct_err_set(
		    err, CT_ECONFIG, "the CA of access group '%s' has expired", ct_ca_group(ca));
	if (nb < ct_ca_not_before(ca))
		nb = ct_ca_not_before(ca);
	if (na > ct_ca_not_after(ca))
		na = ct_ca_not_after(ca);
	if (der_time(nb, t1, &parts[0].n) != 0 || der_time(na, t2, &parts[1].n) != 0)
		return ct_err_set(err, CT_EINVAL, "time out of range");
	parts[0].p = t1;
	parts[1].p = t2;
	return ct_der_wrap(CT_DER_SEQUENCE, parts, 2, out, len) == 0
	    ? CT_OK
	    : ct_err_set(err, CT_ENOMEM, "out of memory");
}

/* Subject name and the per-leaf extensions (SKI, SANs), encoded. */
static int
der_subject_and_extensions(struct ct_issuer *is, const struct ct_attrs *a, const unsigned char *key,
    size_t key_len, unsigned char **subject, size_t *subject_len, unsigned char **exts,
    size_t *exts_len, struct ct_err *err)
{
	X509_NAME *name = NULL;
	X509 *scratch = NULL;
	unsigned char ski[31], *list = NULL, *seq = NULL;
	size_t list_len = 0, seq_len = 0;
	struct ct_der_part p[3];
	int n, rc;

	if ((rc = ct_pattern_expand_subject(is->target->subject, a, &name, err)) != CT_OK)
		goto out;
	if ((scratch = X509_new()) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ct_pattern_apply_san(is->target->san, a, scratch, err)) != CT_OK)
		goto out;
	if (der_ski(is, key, key_len, ski) != 0 || append_extensions(scratch, &list, &list_len)) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot encode the certificate extensions");
		goto out;
	}
	/* extensions [3] EXPLICIT SEQUENCE OF Extension */
	p[0] = (struct ct_der_part){is->fixed_ext, is->fixed_ext_len};
	p[1] = (struct ct_der_part){ski, sizeof(ski)};
	p[2] = (struct ct_der_part){list, list_len};
	if (ct_der_wrap(CT_DER_SEQUENCE, p, 3, &seq, &seq_len) != 0) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	p[0] = (struct ct_der_part){seq, seq_len};
	if (ct_der_wrap(0xa3, p, 1, exts, exts_len) != 0) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((n = i2d_X509_NAME(name, subject)) <= 0) {
		free(*exts);
		*exts = NULL;
		rc = ct_err_set(err, CT_ECRYPTO, "cannot encode the subject");
		goto out;
	}
	*subject_len = (size_t)n;
	rc = CT_OK;
out:
	free(seq);
	free(list);
	X509_free(scratch);
	X509_NAME_free(name);
	return rc;
}

/* Sign TBS with the CA key; give the signature as BIT STRING content. */
static int
sign_tbs(struct ct_issuer *is, const unsigned char *tbs, size_t tbs_len, unsigned char **bits,
    size_t *bits_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = (size_t)EVP_PKEY_get_size(ct_ca_key(is->ca));
	unsigned char *buf = malloc(sig_len + 1);
	int rc = -1;

	if (ctx == NULL || buf == NULL ||
	    EVP_DigestSignInit_ex(
	        ctx, NULL, ct_ca_digest(is->ca), NULL, NULL, ct_ca_key(is->ca), NULL) != 1 ||
	    EVP_DigestSign(ctx, buf + 1, &sig_len, tbs, tbs_len) != 1)
		goto out;
	buf[0] = 0x00; /* no unused bits */
	*bits = buf;
	*bits_len = sig_len + 1;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } */
static int
der_certificate(struct ct_issuer *is, const unsigned char *tbs, size_t tbs_len, unsigned char **der,
    size_t *der_len)
{
	unsigned char *bits = NULL, *bitstr = NULL;
	size_t bits_len = 0, bitstr_len = 0;
	struct ct_der_part p[3];
	int rc = -1;

	if (sign_tbs(is, tbs, tbs_len, &bits, &bits_len) != 0)
		goto out;
	p[0] = (struct ct_der_part){bits, bits_len};
	if (ct_der_wrap(CT_DER_BIT_STRING, p, 1, &bitstr, &bitstr_len) != 0)
		goto out;
	p[0] = (struct ct_der_part){tbs, tbs_len};
	p[1] = (struct ct_der_part){is->sigalg, is->sigalg_len};
	p[2] = (struct ct_der_part){bitstr, bitstr_len};
	rc = ct_der_wrap(CT_DER_SEQUENCE, p, 3, der, der_len);
out:
	free(bitstr);
	free(bits);
	return rc;
}

/* KeyEncipherment is for rsaEncryption keys only (RFC 5480 section 3, RFC
 * 8410 section 5, RFC 4055 for RSASSA-PSS): CT_EINVAL for another subject
 * key ALG (its AlgorithmIdentifier) when the template of target T has it. */
static int
check_key_usage(
    const struct ct_target *tg, const unsigned char *alg, size_t alg_len, struct ct_err *err)
{
	static const unsigned char rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
	const struct ct_template *t = tg->template;
	struct ct_der d, seq, oid;

	if (t == NULL || !(t->key_usage & KU_KEY_ENCIPHERMENT))
		return CT_OK;
	ct_der_init(&d, alg, alg_len);
	if (ct_der_read(&d, CT_DER_SEQUENCE, &seq, NULL) == CT_OK &&
	    ct_der_read(&seq, CT_DER_OID, &oid, NULL) == CT_OK && oid.left == sizeof(rsa) &&
	    memcmp(oid.p, rsa, sizeof(rsa)) == 0)
		return CT_OK;
	return ct_err_set(err, CT_EINVAL,
	    "target '%s': template '%s' has KeyEncipherment, which is for RSA keys only, and "
	    "the subject key is not one (RFC 5480 section 3, RFC 8410 section 5)",
	    tg->name, t->name ? t->name : "?");
}

int
ct_issue_check(const struct ct_target *t, const struct ct_attrs *a, const unsigned char *spki,
    size_t spki_len, struct ct_err *err)
{
	const unsigned char *alg, *key;
	size_t alg_len, key_len;
	X509_NAME *name = NULL;
	X509 *scratch = NULL;
	int rc;

	if (spki_len > CT_SPKI_MAX || ct_spki_split(spki, spki_len, &alg, &alg_len, &key, &key_len))
		return ct_err_set(err, CT_EINVAL, "malformed subject public key");
	if ((rc = check_key_usage(t, alg, alg_len, err)) != CT_OK)
		return rc;
	if ((scratch = X509_new()) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = ct_pattern_expand_subject(t->subject, a, &name, err)) != CT_OK ||
	    (rc = ct_pattern_apply_san(t->san, a, scratch, err)) != CT_OK)
		ct_err_prefix(err, "target '%s': ", t->name);
	X509_NAME_free(name);
	X509_free(scratch);
	return rc;
}

int
ct_issue(struct ct_issuer *is, const struct ct_attrs *a, const unsigned char *spki, size_t spki_len,
    time_t now, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	static const unsigned char version[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
	unsigned char serial[20], *validity = NULL, *subject = NULL, *exts = NULL, *tbs = NULL;
	size_t serial_len = 0, validity_len = 0, subject_len = 0, exts_len = 0, tbs_len = 0;
	const unsigned char *alg, *key;
	size_t alg_len, key_len;
	struct ct_der_part p[8];
	int rc;

	if (spki_len > CT_SPKI_MAX || ct_spki_split(spki, spki_len, &alg, &alg_len, &key, &key_len))
		return ct_err_set(err, CT_EINVAL, "malformed subject public key");
	if ((rc = check_key_usage(is->target, alg, alg_len, err)) != CT_OK)
		return rc;
	if (der_serial(serial, &serial_len) != 0)
		return ct_err_set(err, CT_ECRYPTO, "no random numbers for the serial");
	if ((rc = der_validity(is, now, &validity, &validity_len, err)) != CT_OK ||
	    (rc = der_subject_and_extensions(
	         is, a, key, key_len, &subject, &subject_len, &exts, &exts_len, err)) != CT_OK) {
		ct_err_prefix(err, "target '%s': ", is->target->name);
		goto out;
	}
	p[0] = (struct ct_der_part){version, sizeof(version)};
	p[1] = (struct ct_der_part){serial, serial_len};
	p[2] = (struct ct_der_part){is->sigalg, is->sigalg_len};
	p[3] = (struct ct_der_part){is->issuer, is->issuer_len};
	p[4] = (struct ct_der_part){validity, validity_len};
	p[5] = (struct ct_der_part){subject, subject_len};
	p[6] = (struct ct_der_part){spki, spki_len};
	p[7] = (struct ct_der_part){exts, exts_len};
	if (ct_der_wrap(CT_DER_SEQUENCE, p, 8, &tbs, &tbs_len) != 0 ||
	    der_certificate(is, tbs, tbs_len, der, der_len) != 0) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot sign the certificate");
		ct_err_openssl(err);
		goto out;
	}
	rc = CT_OK;
out:
	free(tbs);
	free(exts);
	OPENSSL_free(subject);
	free(validity);
	return rc;
}

/* The text SID carried by the Microsoft SID extension, printed to B. */
static void
print_sid(BIO *b, X509_EXTENSION *ext)
{
	const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
	const unsigned char *p = ASN1_STRING_get0_data(data);
	GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, ASN1_STRING_length(data));
	GENERAL_NAME *gn = gens != NULL ? sk_GENERAL_NAME_value(gens, 0) : NULL;

	if (gn != NULL && gn->type == GEN_OTHERNAME &&
	    gn->d.otherName->value->type == V_ASN1_OCTET_STRING) {
		ASN1_OCTET_STRING *os = gn->d.otherName->value->value.octet_string;
		BIO_printf(b, "sid=%.*s\n", ASN1_STRING_length(os),
		    (const char *)ASN1_STRING_get0_data(os));
	}
	GENERAL_NAMES_free(gens);
}

int
ct_render(const struct ct_target *t, const struct ct_attrs *a, char **out, struct ct_err *err)
{
	const unsigned long flags =
	    XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	ASN1_OBJECT *sid_oid = OBJ_txt2obj("1.3.6.1.4.1.311.25.2", 1);
	X509 *x = X509_new();
	X509_NAME *subject = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	X509_EXTENSION *ext;
	char *data;
	long n;
	int i, rc;

	if (x == NULL || b == NULL || sid_oid == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ct_pattern_expand_subject(t->subject, a, &subject, err)) != CT_OK ||
	    (rc = ct_pattern_apply_san(t->san, a, x, err)) != CT_OK) {
		ct_err_prefix(err, "target '%s': ", t->name);
		goto out;
	}
	BIO_puts(b, "subject=");
	X509_NAME_print_ex(b, subject, 0, flags);
	BIO_puts(b, "\n");
	if ((i = X509_get_ext_by_NID(x, NID_subject_alt_name, -1)) >= 0) {
		BIO_puts(b, "subjectAltName=");
		X509V3_EXT_print(b, X509_get_ext(x, i), 0, 0);
		BIO_puts(b, "\n");
	}
	if ((i = X509_get_ext_by_OBJ(x, sid_oid, -1)) >= 0 && (ext = X509_get_ext(x, i)) != NULL)
		print_sid(b, ext);
	BIO_write(b, "", 1);
	n = BIO_get_mem_data(b, &data);
	if ((*out = malloc((size_t)n)) == NULL)
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
	else
		memcpy(*out, data, (size_t)n);
out:
	ASN1_OBJECT_free(sid_oid);
	X509_NAME_free(subject);
	X509_free(x);
	BIO_free(b);
	return rc;
}
