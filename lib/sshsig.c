#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sshcert.h"
#include "sshkey.h"
#include "sshsig.h"
#include "sshwire.h"
#include "util.h"

#define CTX "ssh signature"
#define SIG_MAX (16384 / 8) /* bytes of any raw signature */

/* The raw signature of DATA by KEY with digest MD (NULL: none) into a new
 * buffer (OPENSSL_free). */
static int
raw_sign(EVP_PKEY *key, const char *md, const unsigned char *data, size_t len, unsigned char **out,
    size_t *out_len, struct ct_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t n = 0;
	int rc = CT_ECRYPTO;

	if (ctx == NULL || EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, data, len) != 1 || (sig = OPENSSL_malloc(n)) == NULL ||
	    EVP_DigestSign(ctx, sig, &n, data, len) != 1) {
		ct_err_set(err, CT_ECRYPTO, CTX ": signing failed");
		ct_err_openssl(err);
		OPENSSL_free(sig);
		goto out;
	}
	*out = sig;
	*out_len = n;
	rc = CT_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Put the DER ECDSA-Sig-Value of N bytes at DER as (mpint r, mpint s) in a
 * string. */
static int
put_ecdsa_sig(struct ct_sshw *w, const unsigned char *der, size_t n, struct ct_err *err)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
	const BIGNUM *r, *s;
	unsigned char rb[66], sb[66];
	struct ct_sshw inner = {0};

	if (es == NULL)
		return ct_err_set(err, CT_ECRYPTO, CTX ": OpenSSL gave no ECDSA signature");
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_num_bytes(r) > (int)sizeof(rb) || BN_num_bytes(s) > (int)sizeof(sb)) {
		ECDSA_SIG_free(es);
		return ct_err_set(err, CT_ECRYPTO, CTX ": ECDSA signature too long");
	}
	BN_bn2binpad(r, rb, sizeof(rb));
	BN_bn2binpad(s, sb, sizeof(sb));
	ECDSA_SIG_free(es);
	ct_sshw_mpint(&inner, rb, sizeof(rb));
	ct_sshw_mpint(&inner, sb, sizeof(sb));
	if (inner.failed) {
		ct_sshw_wipe(&inner);
		return ct_err_set(err, CT_ENOMEM, CTX ": out of memory");
	}
	ct_sshw_string(w, inner.p, inner.len);
	ct_sshw_wipe(&inner);
	return CT_OK;
}

int
ct_sshsig_sign(EVP_PKEY *key, const unsigned char *data, size_t len, unsigned char **sig,
    size_t *sig_len, struct ct_err *err)
{
	const struct ct_sshkt *kt = ct_sshkt_of(key);
	unsigned char *raw = NULL;
	size_t n = 0;
	struct ct_sshw w = {0};
	int rc;

	if (kt == NULL)
		return ct_err_set(err, CT_EINVAL, CTX ": a CA key type SSH does not have here");
	rc = raw_sign(key, kt->digest, data, len, &raw, &n, err);
	if (rc != CT_OK)
		return rc;
	ct_sshw_cstring(&w, kt->kind == CT_SSHKT_RSA ? "rsa-sha2-512" : kt->name);
	if (kt->kind == CT_SSHKT_ECDSA)
		rc = put_ecdsa_sig(&w, raw, n, err);
	else
		ct_sshw_string(&w, raw, n);
	OPENSSL_free(raw);
	if (rc != CT_OK) {
		ct_sshw_wipe(&w);
		return rc;
	}
	return ct_sshw_finish(&w, CTX, sig, sig_len, err);
}

/* The DER ECDSA-Sig-Value of the (mpint r, mpint s) in the N bytes at P
 * into a new buffer (OPENSSL_free). */
static int
ecdsa_der(const struct ct_sshkt *kt, const unsigned char *p, size_t n, unsigned char **der,
    int *der_len, struct ct_err *err)
{
	struct ct_sshr r;
	const unsigned char *rp, *sp;
	size_t rn, sn;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *br = NULL, *bs = NULL;
	int rc = CT_EINVAL;

	ct_sshr_init(&r, p, n, CTX);
	if (ct_sshr_mpint(&r, "ecdsa r", kt->field, &rp, &rn, err) != CT_OK ||
	    ct_sshr_mpint(&r, "ecdsa s", kt->field, &sp, &sn, err) != CT_OK ||
	    ct_sshr_done(&r, "ecdsa signature", err) != CT_OK)
		goto out;
	br = BN_bin2bn(rp, (int)rn, NULL);
	bs = BN_bin2bn(sp, (int)sn, NULL);
	if (es == NULL || br == NULL || bs == NULL || ECDSA_SIG_set0(es, br, bs) != 1) {
		rc = ct_err_set(err, CT_ENOMEM, CTX ": out of memory");
		goto out;
	}
	br = bs = NULL;
	*der = NULL;
	*der_len = i2d_ECDSA_SIG(es, der);
	rc = *der_len > 0 ? CT_OK : ct_err_set(err, CT_ENOMEM, CTX ": out of memory");
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return rc;
}

/* Is ALG (N bytes) the algorithm of a signature by a key of type KT?  *MD
 * gets the digest to verify with. */
static int
alg_fits(const struct ct_sshkt *kt, const unsigned char *alg, size_t n, const char **md)
{
	*md = kt->digest;
	if (kt->kind != CT_SSHKT_RSA)
		return strlen(kt->name) == n && memcmp(alg, kt->name, n) == 0;
	if (n == 12 && memcmp(alg, "rsa-sha2-256", n) == 0)
		*md = "SHA256";
	else if (n == 12 && memcmp(alg, "rsa-sha2-512", n) == 0)
		*md = "SHA512";
	else
		return 0;
	return 1;
}

static int
raw_verify(EVP_PKEY *key, const char *md, const unsigned char *sig, size_t sig_len,
    const unsigned char *data, size_t len, struct ct_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL || EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		ct_err_set(err, CT_ECRYPTO, CTX ": cannot verify");
		ct_err_openssl(err);
		return CT_ECRYPTO;
	}
	ok = EVP_DigestVerify(ctx, sig, sig_len, data, len);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (ok != 1)
		return ct_err_set(err, CT_EPERM, CTX ": does not verify");
	return CT_OK;
}

/* Verify the raw signature RAW (N bytes) of a key of type KT. */
static int
verify_raw(EVP_PKEY *key, const struct ct_sshkt *kt, const char *md, const unsigned char *raw,
    size_t n, const unsigned char *data, size_t len, struct ct_err *err)
{
	unsigned char *der = NULL, padded[SIG_MAX];
	int der_len = 0, rc, size = EVP_PKEY_get_size(key);

	switch (kt->kind) {
	case CT_SSHKT_ED25519:
		if (n != 64)
			return ct_err_set(err, CT_EINVAL, CTX ": ed25519: %zu bytes, not 64", n);
		return raw_verify(key, NULL, raw, n, data, len, err);
	case CT_SSHKT_ECDSA:
		rc = ecdsa_der(kt, raw, n, &der, &der_len, err);
		if (rc == CT_OK)
			rc = raw_verify(key, md, der, (size_t)der_len, data, len, err);
		OPENSSL_free(der);
		return rc;
	case CT_SSHKT_RSA:
		/* as OpenSSH does, a shorter signature is padded to the modulus */
		if (n == 0 || size <= 0 || n > (size_t)size || (size_t)size > sizeof(padded))
			return ct_err_set(
			    err, CT_EINVAL, CTX ": rsa: %zu bytes for a %d-byte key", n, size);
		memset(padded, 0, (size_t)size - n);
		memcpy(padded + (size_t)size - n, raw, n);
		return raw_verify(key, md, padded, (size_t)size, data, len, err);
	}
	return CT_EINVAL;
}

int
ct_sshsig_verify(const unsigned char *key_blob, size_t key_len, const unsigned char *sig,
    size_t sig_len, const unsigned char *data, size_t len, struct ct_err *err)
{
	struct ct_sshr r;
	const unsigned char *alg, *raw;
	size_t alg_len, n;
	const char *md;
	const struct ct_sshkt *kt;
	EVP_PKEY *key = NULL;
	char text[80];
	int rc;

	rc = ct_sshcert_key_from_blob(key_blob, key_len, &key, err);
	if (rc != CT_OK)
		return rc;
	kt = ct_sshkt_of(key);
	ct_sshr_init(&r, sig, sig_len, CTX);
	rc = CT_EINVAL;
	if (ct_sshr_string(&r, "algorithm", 64, &alg, &alg_len, err) != CT_OK ||
	    ct_sshr_string(&r, "signature", SIG_MAX + 16, &raw, &n, err) != CT_OK ||
	    ct_sshr_done(&r, "signature", err) != CT_OK)
		goto out;
	if (kt == NULL || !alg_fits(kt, alg, alg_len, &md)) {
		rc = ct_err_set(err, CT_EPERM, CTX ": algorithm \"%s\" not accepted for a %s key",
		    ct_text_printable(
		        (const char *)alg, alg_len, CT_TEXT_ASCII, text, sizeof(text)),
		    kt != NULL ? kt->name : "?");
		goto out;
	}
	rc = verify_raw(key, kt, md, raw, n, data, len, err);
out:
	EVP_PKEY_free(key);
	return rc;
}
