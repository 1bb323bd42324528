/* certtokend: upload, an existing certificate (from any CA), attached as a
 * certificate token after a proof of possession of its key and the PAM
 * service.  The certificate is kept in the store; nothing is issued. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "certtoken.h"
#include "certtokend.h"
#include "keyproof.h"
#include "requests.h"
#include "util.h"

/* Is a certificate with INFO's issuer and serial among UT's tokens? */
static int
already_uploaded(const struct ct_user_tokens *ut, const struct ct_cert_info *info)
{
	for (size_t i = 0; i < ut->n; i++)
		if (ut->tok[i].type == CT_TOKEN_CERT &&
		    strcmp(ut->tok[i].cert_serial, info->serial) == 0 &&
		    strcmp(ut->tok[i].issuer, info->issuer) == 0)
			return 1;
	return 0;
}

/* Send a fresh nonce and check the signature that comes back over the
 * proof-of-possession message for certificate X (DER CERT).  CT_OK or
 * answered. */
static int
prove_possession(struct conn *c, X509 *x, const unsigned char *cert, size_t cert_len)
{
	unsigned char nonce[CT_POP_NONCE_LEN], *msg = NULL;
	const struct ct_field *sig;
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	struct ct_err err = {0};
	size_t msg_len = 0;
	int rc;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    ct_msgbuf_init(&b, CT_MSG_CHALLENGE) != CT_OK) {
		reply_error(c, CT_ECRYPTO, "cannot make a challenge");
		return CT_ECRYPTO;
	}
	ct_msgbuf_add(&b, CT_TAG_NONCE, nonce, sizeof(nonce));
	rc = ct_msg_send(c->fd, &b, c->deadline, &err);
	ct_msgbuf_free(&b);
	if (rc != CT_OK) {
		logmsg_uid(c->uid, LOG_NOTICE, "upload for user %s (uid %u): %s", c->user,
		    (unsigned)c->uid, err.msg);
		c->broken = 1;
		return CT_EIO;
	}
	if ((rc = conn_recv(c, STATE_PROOF, c->deadline, &m)) != CT_OK)
		return rc;
	if ((sig = ct_msg_get(&m, CT_TAG_SIGNATURE)) == NULL || sig->len == 0) {
		rc = ct_err_set(&err, CT_EINVAL, "no proof of possession of the certificate's key");
		goto refused;
	}
	if ((rc = ct_pop_message(nonce, c->user, cert, cert_len, &msg, &msg_len, &err)) != CT_OK ||
	    (rc = ct_pop_verify(x, msg, msg_len, sig->val, sig->len, &err)) != CT_OK)
		goto refused;
	goto out;
refused:
	refuse_request(c, rc, "upload", "%s", err.msg);
out:
	free(msg);
	ct_msg_free(&m);
	return rc;
}

/* The checks of an upload before any challenge: the certificate in M is
 * well formed and current (*X, *INFO, its DER in *DER), not already one of
 * the user's tokens, and there is room for it.  CT_OK or answered. */
static int
upload_checks(struct conn *c, const struct ct_msg *m, X509 **x, struct ct_cert_info *info,
    unsigned char **der, size_t *der_len)
{
	const struct ct_field *cert = ct_msg_get(m, CT_TAG_CERT);
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	time_t now = time(NULL);
	int n, rc;

	if (cert == NULL) {
		reply_error(c, CT_EINVAL, "the upload has no certificate");
		return CT_EINVAL;
	}
	if (ct_cert_parse(cert->val, cert->len, x, info, &err) != CT_OK)
		return refuse_request(c, CT_EINVAL, "upload", "%s", err.msg);
	if (info->not_after < now) {
		reply_error(c, CT_EINVAL, "certificate: expired (serial %s)", info->serial);
		return CT_EINVAL;
	}
	if ((rc = peek_tokens(c, "upload", &ut)) != CT_OK)
		return rc;
	if (already_uploaded(&ut, info))
		rc = ct_err_set(&err, CT_EEXIST,
		    "certificate serial %s of \"%s\" is already one of your tokens", info->serial,
		    info->issuer);
	else
		rc = ct_certtoken_make_room(&ut, c->user, now, NULL, &err);
	ct_user_tokens_clear(&ut);
	if (rc != CT_OK)
		reply_error(c, rc, "%s", err.msg);
	else if ((n = i2d_X509(*x, der)) <= 0) { /* from here on, its DER */
		reply_error(c, CT_ECRYPTO, "cannot encode the certificate");
		rc = CT_ECRYPTO;
	} else
		*der_len = (size_t)n;
	return rc;
}

/* Keep certificate DER of INFO under a new token, in *TOK.  CT_OK or
 * logged and answered. */
static int
upload_record(struct conn *c, const struct ct_cert_info *info, const unsigned char *der,
    size_t der_len, struct ct_token *tok)
{
	struct ct_err err = {0};
	char token[CT_SERIAL_MAX];
	int rc;

	if (ct_tokens_new_serial("CERT", token) != CT_OK) {
		reply_error(c, CT_ECRYPTO, "cannot make a token serial");
		return CT_ECRYPTO;
	}
	ct_certtoken_init(tok, token, "", "enrolled", "uploaded certificate", time(NULL));
	snprintf(tok->cert_serial, sizeof(tok->cert_serial), "%s", info->serial);
	ct_text_printable(info->issuer, SIZE_MAX, CT_TEXT_HEX, tok->issuer, sizeof(tok->issuer));
	tok->not_before = (int64_t)info->not_before;
	tok->not_after = (int64_t)info->not_after;
	if ((rc = ct_upload_save(c->d->store, token, der, der_len, &err)) == CT_OK &&
	    (rc = ct_certtoken_add(c->d->store, c->user, tok, 0, NULL, &err)) != CT_OK)
		ct_upload_remove(c->d->store, token);
	if (rc != CT_OK) {
		logmsg(LOG_ERR, "upload for user %s (uid %u) not recorded: %s", c->user,
		    (unsigned)c->uid, err.msg);
		reply_error(c, rc, "the service could not record the token; see the system log");
		return rc;
	}
	logmsg(LOG_INFO,
	    "uploaded certificate for user %s (uid %u): token %s, serial %s, issuer \"%s\", "
	    "subject \"%s\"",
	    c->user, (unsigned)c->uid, token, info->serial, info->issuer, info->subject);
	return CT_OK;
}

/* RESULT 0: uploaded, with the token. */
static void
send_uploaded(struct conn *c, const char *token)
{
	struct ct_msgbuf b = {0};
	struct ct_err err = {0};
	unsigned char code = 0;

	if (ct_msgbuf_init(&b, CT_MSG_RESULT) == CT_OK) {
		ct_msgbuf_add(&b, CT_TAG_CODE, &code, 1);
		ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "uploaded");
		ct_msgbuf_add_str(&b, CT_TAG_TOKEN, token);
		if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
			logmsg(LOG_NOTICE, "user %s (uid %u): upload answer not delivered", c->user,
			    (unsigned)c->uid);
	}
	ct_msgbuf_free(&b);
}

void
do_upload(struct conn *c, const struct ct_msg *m)
{
	struct ct_cert_info info;
	struct ct_token tok;
	unsigned char *der = NULL;
	size_t der_len = 0;
	X509 *x = NULL;

	if (upload_checks(c, m, &x, &info, &der, &der_len) != CT_OK ||
	    prove_possession(c, x, der, der_len) != CT_OK ||
	    run_pam(c, "certificate upload") != CT_OK ||
	    past_deadline(c, "certificate upload") != CT_OK ||
	    upload_record(c, &info, der, der_len, &tok) != CT_OK)
		goto out;
	fire(c, "token_init", &tok, NULL);
	fire(c, "token_enrolled", &tok, NULL);
	send_uploaded(c, tok.serial);
out:
	OPENSSL_free(der);
	X509_free(x);
}
