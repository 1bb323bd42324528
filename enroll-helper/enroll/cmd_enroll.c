/* certtoken-enroll enroll [--target TARGET] [--key-type TYPE]: make a key
 * pair here, have certtokend certify it after the user proves who they are
 * (the OTP, through the service's PAM conversation), and store key and
 * certificate under $XDG_CONFIG_HOME/certtoken/TARGET/.
 *
 * Runs as the user, with no privilege at all: the private key never leaves
 * this process except into the user's own key.pem. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf.h"
#include "enroll.h"
#include "sshcert.h"
#include "issue.h"
#include "store.h"
#include "tokens.h"

/* The options: 0, or the exit status of a usage error. */
static int
parse_args(int argc, char **argv, const char **target, enum ct_key_type *kt)
{
	static const struct option opts[] = {{"target", required_argument, NULL, 't'},
	    {"key-type", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
	int c, t;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': *target = optarg; break;
		case 'k':
			if ((t = ct_key_type_parse(optarg)) < 0)
				return enroll_usage_error("unknown --key-type");
			*kt = (enum ct_key_type)t;
			break;
		default: return enroll_usage_error("enroll [--target TARGET] [--key-type TYPE]");
		}
	}
	if (optind != argc)
		return enroll_usage_error("enroll takes no arguments besides its options");
	if (*target != NULL && !ct_name_valid(*target))
		return enroll_usage_error("--target: not a target name");
	return 0;
}

/* Send a CSR for KEY (and TARGET, when given) and run the exchange: the
 * result in M. */
static int
request_cert(struct client *cl, EVP_PKEY *key, const char *target, struct ct_msg *m)
{
	struct ct_msgbuf b = {0};
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	int rc;

	/* the service ignores the CSR's subject: it renders its own */
	if ((rc = ct_csr_make(key, "certtoken-enroll", &csr, &csr_len, &cl->err)) != CT_OK ||
	    (rc = enroll_connect(cl)) != CT_OK)
		goto out;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_ENROLL)) != CT_OK) {
		ct_err_set(&cl->err, rc, "out of memory");
		goto out;
	}
	if (target != NULL)
		ct_msgbuf_add_str(&b, CT_TAG_TARGET, target);
	ct_msgbuf_add(&b, CT_TAG_CSR, csr, csr_len);
	rc = enroll_exchange(cl, &b, m);
out:
	ct_msgbuf_free(&b);
	OPENSSL_free(csr);
	return rc;
}

/* What comes back in M must be a certificate for the KEY we hold: into *X,
 * with the target and token it names. */
static int
accept_cert(
    struct client *cl, const struct ct_msg *m, EVP_PKEY *key, char *target, char *token, X509 **x)
{
	const struct ct_field *f;
	const unsigned char *p;

	if ((f = ct_msg_get(m, CT_TAG_TARGET)) == NULL ||
	    ct_field_text(f, target, CT_NAME_MAX + 1, &cl->err) != CT_OK ||
	    !ct_name_valid(target) || (f = ct_msg_get(m, CT_TAG_TOKEN)) == NULL ||
	    ct_field_text(f, token, CT_SERIAL_MAX, &cl->err) != CT_OK ||
	    (f = ct_msg_get(m, CT_TAG_CERT)) == NULL)
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: incomplete result");
	p = f->val;
	if ((*x = d2i_X509(NULL, &p, f->len)) == NULL || p != f->val + f->len ||
	    EVP_PKEY_eq(X509_get0_pubkey(*x), key) != 1)
		return ct_err_set(
		    &cl->err, CT_EINVAL, "the service sent a certificate that is not for our key");
	return CT_OK;
}

/* Does the OpenSSH certificate line LINE (LEN bytes) certify KEY? */
static int
ssh_cert_for_key(const char *line, size_t len, EVP_PKEY *key, struct ct_err *err)
{
	struct ct_sshcert sc = {0};
	unsigned char *blob = NULL, *mine = NULL;
	size_t blob_len = 0, mine_len = 0;
	int rc;

	if ((rc = ct_sshcert_line_parse(line, len, &blob, &blob_len, NULL, err)) == CT_OK &&
	    (rc = ct_sshcert_parse(blob, blob_len, &sc, err)) == CT_OK &&
	    (rc = ct_sshcert_key_to_blob(key, &mine, &mine_len, err)) == CT_OK &&
	    (sc.key_blob_len != mine_len || memcmp(sc.key_blob, mine, mine_len) != 0))
		rc = ct_err_set(err, CT_EINVAL, "it is not for our key");
	ct_sshcert_free(&sc);
	free(blob);
	free(mine);
	return rc;
}

/* The OpenSSH certificate in M, if the service sent one (a target with
 * ssh): checked to be for KEY and saved as DIR/key-cert.pub beside the key
 * (enroll_ssh_install). */
static int
save_ssh_cert(struct client *cl, const struct ct_msg *m, EVP_PKEY *key, const char *dir)
{
	const struct ct_field *f = ct_msg_get(m, CT_TAG_SSH_CERT);
	struct ct_err err = {0};

	if (f == NULL)
		return CT_OK;
	if (ssh_cert_for_key((const char *)f->val, f->len, key, &err) != CT_OK)
		return ct_err_set(&cl->err, CT_EINVAL,
		    "the service sent an OpenSSH certificate that is not usable: %s", err.msg);
	return enroll_ssh_install(dir, key, (const char *)f->val, f->len, &cl->err);
}

/* The request is pending: keep KEY as TARGETDIR/pending-TOKEN.key until
 * `fetch` pairs it with its certificate.  Gives CT_EPENDING (or the error
 * that kept the key from being saved). */
static int
keep_pending_key(struct client *cl, const struct ct_msg *m, EVP_PKEY *key)
{
	const struct ct_field *f;
	struct ct_err err = {0};
	char target[CT_NAME_MAX + 1], token[CT_SERIAL_MAX], dir[4096], path[4300];
	int rc;

	if ((f = ct_msg_get(m, CT_TAG_TARGET)) == NULL ||
	    ct_field_text(f, target, sizeof(target), &err) != CT_OK || !ct_name_valid(target) ||
	    (f = ct_msg_get(m, CT_TAG_TOKEN)) == NULL ||
	    ct_field_text(f, token, sizeof(token), &err) != CT_OK || !ct_name_valid(token)) {
		ct_err_clear(&cl->err);
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: incomplete pending answer");
	}
	if ((rc = enroll_target_dir(target, dir, sizeof(dir), &err)) != CT_OK ||
	    (rc = enroll_make_dirs(dir, 2, &err)) != CT_OK)
		goto bad;
	snprintf(path, sizeof(path), "%s/pending-%s.key", dir, token);
	if ((rc = enroll_write_pem(path, enroll_key_writer, key, 0600, &err)) != CT_OK)
		goto bad;
	return CT_EPENDING; /* CL's error holds the service's message */
bad:
	ct_err_clear(&cl->err);
	return ct_err_set(
	    &cl->err, rc, "pending request %s: cannot keep its key: %s", token, err.msg);
}

int
enroll_cmd_enroll(struct client *cl, int argc, char **argv)
{
	const char *target = NULL;
	enum ct_key_type kt = CT_KEY_EC_P256;
	struct ct_msg m = {0};
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	char got_target[CT_NAME_MAX + 1], token[CT_SERIAL_MAX], dir[4096];
	int rc;

	if ((rc = parse_args(argc, argv, &target, &kt)) != 0)
		return rc;
	if ((key = ct_key_generate(kt)) == NULL) {
		rc = ct_err_set(
		    &cl->err, CT_ECRYPTO, "cannot generate a %s key", ct_key_type_name(kt));
		goto out;
	}
	if ((rc = request_cert(cl, key, target, &m)) != CT_OK ||
	    (rc = accept_cert(cl, &m, key, got_target, token, &x)) != CT_OK ||
	    (rc = enroll_install_pair(got_target, key, x, dir, sizeof(dir), &cl->err)) != CT_OK)
		goto out;
	enroll_print_cert(x, got_target, token, dir);
	rc = save_ssh_cert(cl, &m, key, dir);
out:
	if (rc == CT_EPENDING)
		rc = keep_pending_key(cl, &m, key);
	X509_free(x);
	ct_msg_free(&m);
	EVP_PKEY_free(key);
	return rc == CT_OK ? 0 : enroll_fail(cl, rc);
}
