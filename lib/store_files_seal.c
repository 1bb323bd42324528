/* The files backend: the key of the token secrets (STORE/secret.key) and
 * AES-256-GCM sealing of each secret, with "certtoken-tokens 3|USER|SERIAL"
 * as associated data so a secret cannot be moved to another user or token. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "store_files.h"

#define AAD_HEADER "certtoken-tokens 3" /* kept: every sealed secret names it */

static int
make_aad(const char *user, const char *serial, char *aad, size_t size)
{
	int n = snprintf(aad, size, "%s|%s|%s", AAD_HEADER, user, serial);

	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Encrypt T's secret into OUT = nonce || ciphertext || tag. */
int
ct_files_seal(const struct ct_files_keys *k, const char *user, const struct ct_token *t,
    unsigned char out[CT_FILES_SEALED_MAX], size_t *out_len)
{
	char aad[sizeof(AAD_HEADER) + CT_USER_MAX + CT_SERIAL_MAX + 2];
	unsigned char *ct = out + CT_FILES_NONCE_LEN;
	EVP_CIPHER_CTX *ctx = NULL;
	int aad_len, n, fin, rc = CT_ECRYPTO;

	if ((aad_len = make_aad(user, t->serial, aad, sizeof(aad))) < 0)
		return CT_EINVAL;
	if (RAND_bytes(out, CT_FILES_NONCE_LEN) != 1 || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex2(ctx, k->gcm, k->key, out, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, aad_len) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, t->secret, (int)t->secret_len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 ||
	    (size_t)n + (size_t)fin != t->secret_len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CT_FILES_TAG_LEN, ct + t->secret_len) !=
	        1)
		goto out;
	*out_len = CT_FILES_NONCE_LEN + t->secret_len + CT_FILES_TAG_LEN;
	rc = CT_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Decrypt and authenticate IN (nonce || ciphertext || tag) into PT. */
int
ct_files_unseal(const struct ct_files_keys *k, const char *user, const char *serial,
    const unsigned char *in, size_t len, unsigned char pt[CT_OTP_SECRET_MAX], size_t *pt_len)
{
	char aad[sizeof(AAD_HEADER) + CT_USER_MAX + CT_SERIAL_MAX + 2];
	size_t ct_len = len - CT_FILES_NONCE_LEN - CT_FILES_TAG_LEN;
	EVP_CIPHER_CTX *ctx = NULL;
	int aad_len, n, fin, rc = CT_ECRYPTO;

	if (len <= CT_FILES_NONCE_LEN + CT_FILES_TAG_LEN || ct_len > CT_OTP_SECRET_MAX ||
	    (aad_len = make_aad(user, serial, aad, sizeof(aad))) < 0)
		return CT_EINVAL;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_DecryptInit_ex2(ctx, k->gcm, k->key, in, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, aad_len) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &n, in + CT_FILES_NONCE_LEN, (int)ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CT_FILES_TAG_LEN,
	        (void *)(in + CT_FILES_NONCE_LEN + ct_len)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, pt + n, &fin) != 1) {
		OPENSSL_cleanse(pt, CT_OTP_SECRET_MAX);
		goto out;
	}
	*pt_len = ct_len;
	rc = CT_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static int
read_key(const char *path, unsigned char key[CT_FILES_KEY_LEN], struct ct_err *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ct_file_read(path, 4 * CT_FILES_KEY_LEN, &buf, &len, err)) != CT_OK)
		return rc == CT_EINVAL ? CT_EIO : rc;
	if (len != CT_FILES_KEY_LEN)
		rc = ct_err_set(
		    err, CT_EIO, "%s: %zu bytes, expected %d", path, len, CT_FILES_KEY_LEN);
	else
		memcpy(key, buf, CT_FILES_KEY_LEN);
	OPENSSL_clear_free(buf, len + 1);
	return rc;
}

static int
load_key(struct ct_files_keys *k, const char *store, int create, struct ct_err *err)
{
	struct ct_err local = {0};
	unsigned char fresh[CT_FILES_KEY_LEN];
	char *path;
	int rc;

	if ((path = ct_path_join(store, "secret.key")) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	rc = read_key(path, k->key, &local);
	if (rc == CT_ENOENT && create) {
		ct_err_clear(&local);
		if (RAND_bytes(fresh, CT_FILES_KEY_LEN) != 1) {
			rc = ct_err_set(&local, CT_ECRYPTO, "%s: no random bytes", path);
			goto out;
		}
		rc = ct_file_write_atomic(path, fresh, CT_FILES_KEY_LEN, 0600, 1, &local);
		if (rc == CT_OK)
			memcpy(k->key, fresh, CT_FILES_KEY_LEN);
		else if (rc == CT_EEXIST) {
			ct_err_clear(&local);
			rc = read_key(path, k->key, &local);
		}
	}
out:
	if (rc != CT_OK)
		ct_err_set(err, rc, "%s", local.msg);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	free(path);
	return rc;
}

int
ct_files_keys_load(struct ct_files_keys *k, const char *store, int create, struct ct_err *err)
{
	int rc;

	if ((rc = load_key(k, store, create, err)) != CT_OK)
		return rc;
	if ((k->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL) {
		rc = ct_err_set(err, CT_ECRYPTO, "AES-256-GCM is not available");
		ct_err_openssl(err);
		return rc;
	}
	return CT_OK;
}

void
ct_files_keys_free(struct ct_files_keys *k)
{
	OPENSSL_cleanse(k->key, sizeof(k->key));
	EVP_CIPHER_free(k->gcm);
	k->gcm = NULL;
}
