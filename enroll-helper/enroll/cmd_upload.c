/* certtoken-enroll upload --cert FILE [--key FILE]: attach an existing
 * certificate to the user's tokens, proving possession of its key by
 * signing the service's nonce (the key itself never leaves this process). */
#include "config.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "enroll.h"
#include "keyproof.h"
#include "tokens.h"
#include "util.h"

#define INPUT_MAX (64 * 1024) /* bytes of a certificate or key file we read */

struct upload {
	EVP_PKEY *key;
	unsigned char *cert; /* DER */
	size_t cert_len;
	const char *user;
};

/* Sign the service's nonce: the proof that we hold the certificate's key.
 * Called by enroll_exchange when the CHALLENGE comes. */
static int
answer_challenge(struct client *cl, const struct ct_msg *m)
{
	const struct upload *u = cl->challenge_arg;
	const struct ct_field *f = ct_msg_get(m, CT_TAG_NONCE);
	unsigned char *msg = NULL, *sig = NULL;
	size_t msg_len = 0, sig_len = 0;
	struct ct_msgbuf b = {0};
	int rc;

	if (f == NULL || f->len != CT_POP_NONCE_LEN)
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: bad challenge");
	if ((rc = ct_pop_message(
	         f->val, u->user, u->cert, u->cert_len, &msg, &msg_len, &cl->err)) != CT_OK ||
	    (rc = ct_pop_sign(u->key, msg, msg_len, &sig, &sig_len, &cl->err)) != CT_OK)
		goto out;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_PROOF)) != CT_OK) {
		rc = ct_err_set(&cl->err, rc, "out of memory");
		goto out;
	}
	ct_msgbuf_add(&b, CT_TAG_SIGNATURE, sig, sig_len);
	rc = ct_msg_send(cl->fd, &b, ct_now_ms() + 60000, &cl->err);
out:
	ct_msgbuf_free(&b);
	free(sig);
	free(msg);
	return rc;
}

/* The options: 0, or the exit status of a usage error. */
static int
parse_args(int argc, char **argv, const char **cert_path, const char **key_path)
{
	const struct ct_opt opts[] = {
	    {"cert", cert_path, NULL}, {"key", key_path, NULL}, {NULL, NULL, NULL}};

	if (ct_opts_parse(argc, argv, opts) != CT_OK)
		return enroll_usage_error("upload --cert FILE [--key FILE]");
	if (optind != argc || *cert_path == NULL)
		return enroll_usage_error("upload needs --cert FILE and takes no other arguments");
	return 0;
}

/* The certificate of DATA (DER, or the first certificate of a PEM file,
 * which may hold the key too) as DER into U. */
static int
cert_der(struct client *cl, const char *path, unsigned char *data, size_t len, struct upload *u)
{
	X509 *y = NULL;
	BIO *bio;
	int n = 0;

	if (strstr((char *)data, "-----BEGIN") == NULL) {
		if ((u->cert = OPENSSL_memdup(data, len)) != NULL)
			u->cert_len = len;
		return CT_OK; /* out of memory: ct_cert_parse refuses NULL */
	}
	if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL &&
	    (y = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		n = i2d_X509(y, &u->cert);
	X509_free(y);
	BIO_free(bio);
	if (n <= 0)
		return ct_err_set(&cl->err, CT_EINVAL, "%s: no PEM certificate in it", path);
	u->cert_len = (size_t)n;
	return CT_OK;
}

/* Read and parse the certificate at PATH: DER into U, parsed into X and INFO. */
static int
load_cert(
    struct client *cl, const char *path, struct upload *u, X509 **x, struct ct_cert_info *info)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = enroll_read_input(path, INPUT_MAX, &data, &len, &cl->err)) != CT_OK)
		return rc;
	if ((rc = cert_der(cl, path, data, len, u)) == CT_OK &&
	    (rc = ct_cert_parse(u->cert, u->cert_len, x, info, &cl->err)) != CT_OK)
		ct_err_prefix(&cl->err, "%s: ", path);
	OPENSSL_clear_free(data, len + 1); /* may hold the key too */
	return rc;
}

/* Read the unencrypted PEM private key at KEY_PATH into U: it must be the
 * key of X (from CERT_PATH). */
static int
load_key(struct client *cl, const char *key_path, const char *cert_path, X509 *x, struct upload *u)
{
	unsigned char *kdata = NULL;
	size_t klen = 0;
	BIO *bio = NULL;
	int rc;

	if ((rc = enroll_read_input(key_path, INPUT_MAX, &kdata, &klen, &cl->err)) != CT_OK)
		return rc;
	if ((bio = BIO_new_mem_buf(kdata, (int)klen)) == NULL ||
	    (u->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		rc = ct_err_set(&cl->err, CT_EINVAL,
		    "%s: no unencrypted PEM private key in it (--key FILE)", key_path);
	else if (EVP_PKEY_eq(X509_get0_pubkey(x), u->key) != 1)
		rc = ct_err_set(
		    &cl->err, CT_EINVAL, "%s: the key does not belong to %s", key_path, cert_path);
	BIO_free(bio);
	OPENSSL_clear_free(kdata, klen + 1);
	return rc;
}

/* Send U's certificate and answer the challenge with U's key: the token
 * serial into TOKEN. */
static int
send_upload(struct client *cl, struct upload *u, char *token, size_t size)
{
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	int rc;

	if ((rc = enroll_connect(cl)) != CT_OK)
		return rc;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_UPLOAD)) != CT_OK)
		return ct_err_set(&cl->err, rc, "out of memory");
	ct_msgbuf_add(&b, CT_TAG_CERT, u->cert, u->cert_len);
	cl->challenge = answer_challenge;
	cl->challenge_arg = u;
	if ((rc = enroll_exchange(cl, &b, &m)) == CT_OK)
		rc = enroll_result_text(cl, &m, CT_TAG_TOKEN, token, size);
	cl->challenge = NULL;
	cl->challenge_arg = NULL;
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	return rc;
}

int
enroll_cmd_upload(struct client *cl, int argc, char **argv)
{
	const char *cert_path = NULL, *key_path = NULL;
	struct upload u = {0};
	struct ct_cert_info info;
	struct passwd *pw;
	char token[CT_SERIAL_MAX];
	X509 *x = NULL;
	int rc;

	if ((rc = parse_args(argc, argv, &cert_path, &key_path)) != 0)
		return rc;
	if ((pw = getpwuid(getuid())) == NULL)
		return enroll_usage_error("your uid has no user name");
	u.user = pw->pw_name;
	if ((rc = load_cert(cl, cert_path, &u, &x, &info)) != CT_OK ||
	    (rc = load_key(cl, key_path != NULL ? key_path : cert_path, cert_path, x, &u)) !=
	        CT_OK ||
	    (rc = send_upload(cl, &u, token, sizeof(token))) != CT_OK)
		goto out;
	printf("token:      %s\nserial:     %s\nissuer:     %s\nsubject:    %s\n", token,
	    info.serial, info.issuer, info.subject);
out:
	X509_free(x);
	EVP_PKEY_free(u.key);
	OPENSSL_free(u.cert);
	return rc == CT_OK ? 0 : enroll_fail(cl, rc);
}
