#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "sshcert.h"
#include "sshkey.h"

#define RSA_BITS_MIN 2048
#define RSA_BYTES_MAX (16384 / 8)
#define RSA_E_MAX 8 /* bytes of a public exponent */

static const struct ct_sshkt key_types[] = {
    {CT_SSHKT_ED25519, "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", NULL, NULL, 32, NULL},
    {CT_SSHKT_ECDSA, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com", "nistp256",
        "prime256v1", 32, "SHA256"},
    {CT_SSHKT_ECDSA, "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com", "nistp384",
        "secp384r1", 48, "SHA384"},
    {CT_SSHKT_ECDSA, "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521-cert-v01@openssh.com", "nistp521",
        "secp521r1", 66, "SHA512"},
    {CT_SSHKT_RSA, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", NULL, NULL, 0, "SHA512"},
};

#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

const struct ct_sshkt *
ct_sshkt_by_name(const unsigned char *name, size_t n, int cert)
{
	const char *s;
	size_t i;

	for (i = 0; i < N_KEY_TYPES; i++) {
		s = cert ? key_types[i].cert_name : key_types[i].name;
		if (strlen(s) == n && memcmp(s, name, n) == 0)
			return &key_types[i];
	}
	return NULL;
}

const struct ct_sshkt *
ct_sshkt_of(const EVP_PKEY *key)
{
	char group[64];
	size_t i;

	if (key == NULL)
		return NULL;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return &key_types[0];
	if (EVP_PKEY_is_a(key, "RSA"))
		return &key_types[N_KEY_TYPES - 1];
	if (!EVP_PKEY_is_a(key, "EC") ||
	    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) != 1) {
		ERR_clear_error();
		return NULL;
	}
	for (i = 0; i < N_KEY_TYPES; i++)
		if (key_types[i].group != NULL && strcmp(key_types[i].group, group) == 0)
			return &key_types[i];
	return NULL;
}

const char *
ct_sshcert_key_type(const EVP_PKEY *key)
{
	const struct ct_sshkt *kt = ct_sshkt_of(key);

	return kt != NULL ? kt->name : NULL;
}

/* The key readers consume their fields or fail with R where it was, as
 * sshwire.h's readers do: each saves R and restores it on every failure. */
static int
read_ed25519(struct ct_sshr *r, const struct ct_sshkt *kt, EVP_PKEY **key, struct ct_err *err)
{
	struct ct_sshr save = *r;
	const unsigned char *pk;
	size_t n;

	if (ct_sshr_string(r, "ed25519 key", kt->field, &pk, &n, err) != CT_OK)
		return CT_EINVAL;
	if (n != kt->field) {
		*r = save;
		return ct_err_set(err, CT_EINVAL, "%s: ed25519 key: %zu bytes, not 32", r->ctx, n);
	}
	if (key == NULL)
		return CT_OK;
	*key = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pk, n);
	if (*key == NULL) {
		*r = save;
		ct_err_set(err, CT_EINVAL, "%s: ed25519 key: refused", r->ctx);
		ct_err_openssl(err);
		return CT_EINVAL;
	}
	return CT_OK;
}

/* A key from the OSSL_PARAMs built in BLD, of OpenSSL type NAME. */
static int
key_fromdata(
    OSSL_PARAM_BLD *bld, const char *name, const char *ctx, EVP_PKEY **key, struct ct_err *err)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	int rc = CT_OK;

	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = ct_err_set(err, CT_EINVAL, "%s: %s key: refused", ctx, name);
		ct_err_openssl(err);
	}
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	return rc;
}

static int
read_ecdsa(struct ct_sshr *r, const struct ct_sshkt *kt, EVP_PKEY **key, struct ct_err *err)
{
	struct ct_sshr save = *r;
	const unsigned char *q;
	size_t n;
	OSSL_PARAM_BLD *bld;
	int rc;

	if (ct_sshr_expect(r, "curve", kt->curve, err) != CT_OK ||
	    ct_sshr_string(r, "ecdsa point", 1 + 2 * kt->field, &q, &n, err) != CT_OK) {
		*r = save;
		return CT_EINVAL;
	}
	if (n != 1 + 2 * kt->field || q[0] != 0x04) {
		*r = save;
		return ct_err_set(err, CT_EINVAL, "%s: ecdsa point: not an uncompressed %s point",
		    r->ctx, kt->curve);
	}
	if (key == NULL)
		return CT_OK;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, kt->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, n) != 1)
		rc = ct_err_set(err, CT_ENOMEM, "%s: ecdsa key: out of memory", r->ctx);
	else
		rc = key_fromdata(bld, "EC", r->ctx, key, err);
	OSSL_PARAM_BLD_free(bld);
	if (rc != CT_OK)
		*r = save;
	return rc;
}

static int
rsa_key(const unsigned char *e, size_t e_len, const unsigned char *n, size_t n_len, const char *ctx,
    EVP_PKEY **key, struct ct_err *err)
{
	BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL), *bn_n = BN_bin2bn(n, (int)n_len, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	int rc;

	if (bn_e == NULL || bn_n == NULL || bld == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
		rc = ct_err_set(err, CT_ENOMEM, "%s: rsa key: out of memory", ctx);
	else
		rc = key_fromdata(bld, "RSA", ctx, key, err);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_e);
	BN_free(bn_n);
	return rc;
}

static int
read_rsa(struct ct_sshr *r, EVP_PKEY **key, struct ct_err *err)
{
	struct ct_sshr save = *r;
	const unsigned char *e, *n;
	size_t e_len, n_len;

	if (ct_sshr_mpint(r, "rsa exponent", RSA_E_MAX, &e, &e_len, err) != CT_OK ||
	    ct_sshr_mpint(r, "rsa modulus", RSA_BYTES_MAX, &n, &n_len, err) != CT_OK) {
		*r = save;
		return CT_EINVAL;
	}
	if (e_len == 0 || (e[e_len - 1] & 1) == 0 || (e_len == 1 && e[0] < 3)) {
		*r = save;
		return ct_err_set(
		    err, CT_EINVAL, "%s: rsa exponent: not an odd number above 1", r->ctx);
	}
	if (n_len < RSA_BITS_MIN / 8 || (n[n_len - 1] & 1) == 0) {
		*r = save;
		return ct_err_set(err, CT_EINVAL, "%s: rsa modulus: not odd of at least %d bits",
		    r->ctx, RSA_BITS_MIN);
	}
	if (key == NULL)
		return CT_OK;
	if (rsa_key(e, e_len, n, n_len, r->ctx, key, err) != CT_OK) {
		*r = save;
		return CT_EINVAL;
	}
	return CT_OK;
}

int
ct_sshkey_read(struct ct_sshr *r, const struct ct_sshkt *kt, EVP_PKEY **key, struct ct_err *err)
{
	switch (kt->kind) {
	case CT_SSHKT_ED25519: return read_ed25519(r, kt, key, err);
	case CT_SSHKT_ECDSA: return read_ecdsa(r, kt, key, err);
	case CT_SSHKT_RSA: return read_rsa(r, key, err);
	}
	return ct_err_set(err, CT_EINVAL, "%s: unknown key kind", r->ctx);
}

/* Write the big number PARAM of KEY: as an mpint (PAD 0) or as PAD bytes
 * into OUT (when not NULL). */
static int
put_bn(struct ct_sshw *w, const EVP_PKEY *key, const char *param, size_t pad, unsigned char *out)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;
	size_t n;
	int rc = CT_ECRYPTO;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		goto out;
	n = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
	if (out != NULL) {
		if (BN_bn2binpad(bn, out, (int)n) == (int)n)
			rc = CT_OK;
		goto out;
	}
	buf = malloc(n + 1);
	if (buf == NULL || BN_bn2binpad(bn, buf, (int)n) != (int)n)
		goto out;
	ct_sshw_mpint(w, buf, n);
	OPENSSL_cleanse(buf, n);
	rc = CT_OK;
out:
	free(buf);
	BN_clear_free(bn);
	ERR_clear_error();
	return rc;
}

static int
put_ec_point(struct ct_sshw *w, const struct ct_sshkt *kt, const EVP_PKEY *key)
{
	unsigned char q[1 + 2 * 66];

	q[0] = 0x04;
	if (put_bn(w, key, OSSL_PKEY_PARAM_EC_PUB_X, kt->field, q + 1) != CT_OK ||
	    put_bn(w, key, OSSL_PKEY_PARAM_EC_PUB_Y, kt->field, q + 1 + kt->field) != CT_OK)
		return CT_ECRYPTO;
	ct_sshw_cstring(w, kt->curve);
	ct_sshw_string(w, q, 1 + 2 * kt->field);
	return CT_OK;
}

int
ct_sshkey_put(struct ct_sshw *w, const struct ct_sshkt *kt, const EVP_PKEY *key, struct ct_err *err)
{
	unsigned char pk[32];
	size_t n = sizeof(pk);
	int rc = CT_ECRYPTO;

	switch (kt->kind) {
	case CT_SSHKT_ED25519:
		if (EVP_PKEY_get_raw_public_key(key, pk, &n) == 1 && n == sizeof(pk)) {
			ct_sshw_string(w, pk, n);
			rc = CT_OK;
		}
		break;
	case CT_SSHKT_ECDSA: rc = put_ec_point(w, kt, key); break;
	case CT_SSHKT_RSA:
		if (put_bn(w, key, OSSL_PKEY_PARAM_RSA_E, 0, NULL) == CT_OK &&
		    put_bn(w, key, OSSL_PKEY_PARAM_RSA_N, 0, NULL) == CT_OK)
			rc = CT_OK;
		break;
	}
	if (rc != CT_OK)
		ct_err_set(err, rc, "ssh key: cannot read the %s public key", kt->name);
	ERR_clear_error();
	return rc;
}

static int
put_private_ed25519(struct ct_sshw *w, const EVP_PKEY *key)
{
	unsigned char sk[64];
	size_t n = 32, m = 32;
	int rc = CT_ECRYPTO;

	if (EVP_PKEY_get_raw_private_key(key, sk, &n) == 1 && n == 32 &&
	    EVP_PKEY_get_raw_public_key(key, sk + 32, &m) == 1 && m == 32) {
		ct_sshw_string(w, sk + 32, 32);
		ct_sshw_string(w, sk, sizeof(sk));
		rc = CT_OK;
	}
	OPENSSL_cleanse(sk, sizeof(sk));
	return rc;
}

static int
put_private_rsa(struct ct_sshw *w, const EVP_PKEY *key)
{
	static const char *const params[] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
	    OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2};
	size_t i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (put_bn(w, key, params[i], 0, NULL) != CT_OK)
			return CT_ECRYPTO;
	return CT_OK;
}

int
ct_sshkey_put_private(
    struct ct_sshw *w, const struct ct_sshkt *kt, const EVP_PKEY *key, struct ct_err *err)
{
	int rc = CT_ECRYPTO;

	ct_sshw_cstring(w, kt->name);
	switch (kt->kind) {
	case CT_SSHKT_ED25519: rc = put_private_ed25519(w, key); break;
	case CT_SSHKT_ECDSA:
		rc = put_ec_point(w, kt, key);
		if (rc == CT_OK)
			rc = put_bn(w, key, OSSL_PKEY_PARAM_PRIV_KEY, 0, NULL);
		break;
	case CT_SSHKT_RSA: rc = put_private_rsa(w, key); break;
	}
	if (rc != CT_OK)
		ct_err_set(err, rc, "ssh private key: cannot read the %s private key", kt->name);
	ERR_clear_error();
	return rc;
}

int
ct_sshcert_key_to_blob(const EVP_PKEY *key, unsigned char **blob, size_t *len, struct ct_err *err)
{
	const struct ct_sshkt *kt = ct_sshkt_of(key);
	struct ct_sshw w = {0};

	if (kt == NULL)
		return ct_err_set(err, CT_EINVAL, "ssh key: a key type SSH does not have here");
	ct_sshw_cstring(&w, kt->name);
	if (ct_sshkey_put(&w, kt, key, err) != CT_OK) {
		ct_sshw_wipe(&w);
		return CT_ECRYPTO;
	}
	return ct_sshw_finish(&w, "ssh key", blob, len, err);
}

int
ct_sshcert_key_from_blob(const unsigned char *blob, size_t len, EVP_PKEY **key, struct ct_err *err)
{
	struct ct_sshr r;
	const unsigned char *name;
	size_t n;
	const struct ct_sshkt *kt;
	EVP_PKEY *k = NULL;

	if (len > CT_SSHCERT_BLOB_MAX)
		return ct_err_set(err, CT_EINVAL, "ssh key: %zu bytes is over the limit of %d", len,
		    CT_SSHCERT_BLOB_MAX);
	ct_sshr_init(&r, blob, len, "ssh key");
	if (ct_sshr_string(&r, "type", 64, &name, &n, err) != CT_OK)
		return CT_EINVAL;
	kt = ct_sshkt_by_name(name, n, 0);
	if (kt == NULL)
		return ct_err_set(err, CT_EINVAL, "ssh key: type: not a plain key type known here");
	if (ct_sshkey_read(&r, kt, &k, err) != CT_OK)
		return CT_EINVAL;
	if (ct_sshr_done(&r, "key", err) != CT_OK) {
		EVP_PKEY_free(k);
		return CT_EINVAL;
	}
	*key = k;
	return CT_OK;
}
