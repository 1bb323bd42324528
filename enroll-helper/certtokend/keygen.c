/* certtokend: keygen, a key pair made here, issued through the target's CA
 * connector and handed out as a PKCS#12 that nobody keeps a copy of: the
 * key exists only inside the encrypted container once it is built, and the
 * container and its password are wiped once sent. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "certtokend.h"
#include "connector.h"
#include "keyproof.h"

#define PIN_MIN 6 /* characters of a PKCS#12 PIN */
#define PASSWORD_LEN 20 /* characters of a one-time PKCS#12 password: ~110 bits */

struct keygen {
	const struct ct_target *t;
	size_t ti;
	int legacy, chosen; /* chosen: the password is ours, not the user's PIN */
	char password[CT_PROTO_TEXT_MAX];
	char token[CT_SERIAL_MAX];
	struct issuer_ref *ir;
	struct ct_attrs *attrs;
	EVP_PKEY *key;
	struct ct_cx_result res;
	unsigned char *p12;
	size_t p12_len;
};

/* The request M's options and the target's fitness.  CT_OK or answered. */
static int
keygen_checks(struct conn *c, const struct ct_msg *m, struct keygen *k)
{
	const struct ct_field *pin = ct_msg_get(m, CT_TAG_PIN);
	const struct ct_field *legacy = ct_msg_get(m, CT_TAG_LEGACY);
	const struct ct_target *t = k->t;
	struct ct_err err = {0};

	if (legacy != NULL && (legacy->len != 1 || legacy->val[0] > 1)) {
		reply_error(c, CT_EINVAL, "keygen: malformed legacy flag");
		return CT_EINVAL;
	}
	k->legacy = legacy != NULL && legacy->val[0] == 1;
	if (pin != NULL &&
	    (ct_field_text(pin, k->password, sizeof(k->password), &err) != CT_OK ||
	        strlen(k->password) < PIN_MIN)) {
		reply_error(
		    c, CT_EINVAL, "the PIN must be at least %d characters of text", PIN_MIN);
		return CT_EINVAL;
	}
	if (precheck(c, t) != CT_OK)
		return CT_EPERM;
	if (!(ct_connector_caps(t->connector) & CT_CX_CAN_KEYGEN)) {
		reply_error(c, CT_EINVAL,
		    "target '%s' waits for approval (CA connector %s): the service never keeps a "
		    "key it generated, so use 'request' or 'enroll' for this target",
		    t->name, t->connector->name);
		return CT_EINVAL;
	}
	if (t->require_attestation) {
		reply_error(c, CT_EINVAL,
		    "target '%s' requires attested hardware keys; the service cannot make one",
		    t->name);
		return CT_EINVAL;
	}
	return CT_OK;
}

/* Make the key and have it issued, at once.  CT_OK or answered. */
static int
keygen_issue(struct conn *c, struct keygen *k)
{
	struct ct_cx_request rq = {.target = k->t,
	    .user = c->user,
	    .token = k->token,
	    .attrs = k->attrs,
	    .issuer = k->ir != NULL ? k->ir->is : NULL,
	    .ref = "-",
	    .now = time(NULL),
	    .deadline = c->deadline};
	struct ct_err err = {0};
	unsigned char *spki = NULL, *csr = NULL;
	int n, rc;

	if ((k->key = ct_key_generate(k->t->group->key_type)) == NULL ||
	    (n = i2d_PUBKEY(k->key, &spki)) <= 0) {
		reply_error(c, CT_ECRYPTO, "cannot generate a key");
		return CT_ECRYPTO;
	}
	rq.spki = spki;
	rq.spki_len = (size_t)n;
	/* a CA elsewhere wants a CSR: a minimal one, self-signed by the key */
	rc = CT_OK;
	if (ct_connector_caps(k->t->connector) & CT_CX_KEEPS_CSR)
		rc = ct_csr_make(k->key, c->user, &csr, &rq.csr_len, &err);
	rq.csr = csr;
	if (rc == CT_OK)
		rc = ct_connector_issue(&rq, &k->res, &err);
	if (k->res.note[0] != '\0')
		logmsg(LOG_WARNING, "%s", k->res.note);
	if (rc == CT_EPENDING) {
		logmsg(LOG_NOTICE,
		    "key generation for user %s (uid %u), target %s: the CA answered pending; the "
		    "key was discarded",
		    c->user, (unsigned)c->uid, k->t->name);
		reply_error(c, CT_EUNAVAIL,
		    "the CA did not issue at once, and the service never keeps a key it generated; "
		    "the request was abandoned");
	} else if (rc != CT_OK)
		connector_failed(c, k->t, "key generation", rc, &err);
	OPENSSL_free(csr);
	OPENSSL_free(spki);
	return rc;
}

/* The key and its certificate (with the group's CA when it signed here)
 * in a PKCS#12 under the PIN or a new password.  CT_OK or answered. */
static int
keygen_pack(struct conn *c, struct keygen *k)
{
	const unsigned char *q = k->res.der;
	STACK_OF(X509) *chain = NULL;
	struct ct_err err = {0};
	X509 *x = NULL;
	char name[160];
	int rc = CT_ECRYPTO;

	if ((x = d2i_X509(NULL, &q, (long)k->res.der_len)) == NULL) {
		reply_error(c, CT_ECRYPTO, "cannot read back the certificate");
		goto out;
	}
	if (k->ir != NULL &&
	    ((chain = sk_X509_new_null()) == NULL || !sk_X509_push(chain, ct_ca_cert(k->ir->ca)))) {
		reply_error(c, rc = CT_ENOMEM, "out of memory");
		goto out;
	}
	if (k->password[0] == '\0') {
		if (ct_password_random(k->password, PASSWORD_LEN, &err) != CT_OK) {
			reply_error(c, CT_ECRYPTO, "cannot make a password");
			goto out;
		}
		k->chosen = 1;
	}
	snprintf(name, sizeof(name), "%s (%s)", c->user, k->t->name);
	if ((rc = ct_pkcs12_make(k->key, x, chain, name, k->password, k->legacy, &k->p12,
	         &k->p12_len, &err)) != CT_OK) {
		logmsg(LOG_ERR, "key generation for user %s (uid %u): PKCS#12: %s", c->user,
		    (unsigned)c->uid, err.msg);
		reply_error(c, rc, "cannot build the PKCS#12; see the system log");
	}
out:
	sk_X509_free(chain);
	X509_free(x);
	return rc;
}

/* RESULT 0 with the certificate, the token, the PKCS#12 and our password. */
static void
keygen_deliver(struct conn *c, struct keygen *k)
{
	struct ct_msgbuf b = {0};
	struct ct_err err = {0};

	if (issued_result(&b, k->t->name, k->token, k->res.der, k->res.der_len) != CT_OK)
		return;
	ct_msgbuf_add(&b, CT_TAG_PKCS12, k->p12, k->p12_len);
	if (k->chosen)
		ct_msgbuf_add_str(&b, CT_TAG_PASSWORD, k->password);
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		logmsg(LOG_NOTICE,
		    "user %s (uid %u): PKCS#12 of token %s not delivered (the key is gone): %s",
		    c->user, (unsigned)c->uid, k->token, err.msg);
	else
		logmsg(LOG_INFO,
		    "user %s (uid %u): key of token %s delivered as PKCS#12 (%s, %s); no copy kept",
		    c->user, (unsigned)c->uid, k->token,
		    k->legacy ? "legacy 3DES/SHA-1" : "AES-256/SHA-256",
		    k->chosen ? "one-time password" : "the user's PIN");
	ct_msgbuf_free(&b);
}

void
do_keygen(struct conn *c, const struct ct_msg *m)
{
	struct keygen k;
	struct ct_token tok;
	char desc[CT_DESC_MAX];
	ssize_t ti;

	memset(&k, 0, sizeof(k));
	if ((ti = pick_target(c, m)) < 0)
		return;
	k.t = &c->d->cfg->targets[ti];
	if (keygen_checks(c, m, &k) != CT_OK ||
	    authorize(c, k.t, (size_t)ti, "key generation", &k.ir, &k.attrs, k.token) != CT_OK ||
	    keygen_issue(c, &k) != CT_OK || keygen_pack(c, &k) != CT_OK)
		goto out;
	/* the key now exists only inside the encrypted container */
	EVP_PKEY_free(k.key);
	k.key = NULL;
	snprintf(desc, sizeof(desc), "target %s, key made by the service", k.t->name);
	if (record_issued(c, k.t, k.token, 0, desc, k.res.der, k.res.der_len,
	        k.res.has_info ? &k.res.info : NULL, &tok) != CT_OK)
		goto out;
	/* the key exists nowhere else: deliver it before any event handler runs */
	keygen_deliver(c, &k);
	fire(c, "token_init", &tok, k.attrs);
	fire(c, "token_enrolled", &tok, k.attrs);
out:
	OPENSSL_cleanse(k.password, sizeof(k.password));
	if (k.p12 != NULL)
		OPENSSL_clear_free(k.p12, k.p12_len);
	EVP_PKEY_free(k.key);
	ct_cx_result_clear(&k.res);
	ct_attrs_free(k.attrs);
	issuer_unref(c->d, k.ir);
}
