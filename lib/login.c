#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "attrsrc.h"
#include "certindex.h"
#include "issue.h"
#include "login.h"
#include "pattern.h"

#define CHALLENGE_TAG "ctc1:"
#define RESPONSE_TAG "ctr1:"
#define DOMAIN "certtoken login v1"
#define UPN_OID "1.3.6.1.4.1.311.20.2.3"
#define SIG_MAX 1024 /* bytes of a signature (RSA-8192 fits) */
#define CERT_DER_MAX (CT_RESPONSE_MAX * 3 / 4)

/* --- base64url -------------------------------------------------------------- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
ct_b64url_encode(const unsigned char *data, size_t len)
{
	char *out = malloc(len / 3 * 4 + 5), *o = out;
	size_t i;
	unsigned long v;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)data[i] << 16 | (unsigned long)data[i + 1] << 8 | data[i + 2];
		*o++ = b64url[v >> 18 & 63];
		*o++ = b64url[v >> 12 & 63];
		*o++ = b64url[v >> 6 & 63];
		*o++ = b64url[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned long)data[i] << 16;
		*o++ = b64url[v >> 18 & 63];
		*o++ = b64url[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (unsigned long)data[i] << 16 | (unsigned long)data[i + 1] << 8;
		*o++ = b64url[v >> 18 & 63];
		*o++ = b64url[v >> 12 & 63];
		*o++ = b64url[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

static int
b64url_value(char ch)
{
	const char *p = ch != '\0' ? strchr(b64url, ch) : NULL;

	return p != NULL ? (int)(p - b64url) : -1;
}

int
ct_b64url_decode(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf;
	unsigned long v = 0;
	size_t i, n = 0;
	int bits = 0, d;

	if (len % 4 == 1 || (buf = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = b64url_value(text[i])) < 0)
			goto bad;
		v = (v << 6 | (unsigned long)d) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(v >> bits);
		}
	}
	/* the bits left over must be zero: one encoding per byte string */
	if ((v & ((1UL << bits) - 1)) != 0)
		goto bad;
	*out = buf;
	*out_len = n;
	return 0;
bad:
	free(buf);
	return -1;
}

/* --- the challenge ------------------------------------------------------------ */

int
ct_login_name_valid(const char *s, size_t max)
{
	size_t i, len = s != NULL ? strnlen(s, max) : 0;

	if (len == 0 || len == max)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		        (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '@' ||
		        ch == '-'))
			return 0;
	}
	return 1;
}

/* Copy S into OUT (SIZE bytes) if it is a valid challenge field. */
static int
set_field(char *out, size_t size, const char *s, const char *what, struct ct_err *err)
{
	if (!ct_login_name_valid(s, size))
		return ct_err_set(err, CT_EINVAL,
		    "the %s cannot go into a login challenge (1-%zu of A-Z a-z 0-9 . _ @ -)", what,
		    size - 1);
	memcpy(out, s, strlen(s) + 1);
	return CT_OK;
}

static int
set_fields(struct ct_challenge *c, const char *target, const char *user, const char *service,
    const char *host, struct ct_err *err)
{
	int rc;

	if ((rc = set_field(c->target, sizeof(c->target), target, "target name", err)) != CT_OK ||
	    (rc = set_field(c->user, sizeof(c->user), user, "user name", err)) != CT_OK ||
	    (rc = set_field(c->service, sizeof(c->service), service, "service name", err)) !=
	        CT_OK ||
	    (rc = set_field(c->host, sizeof(c->host), host, "host name", err)) != CT_OK)
		return rc;
	return CT_OK;
}

int
ct_challenge_new(struct ct_challenge *c, const char *target, const char *user, const char *service,
    const char *host, struct ct_err *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = set_fields(c, target, user, service, host, err)) != CT_OK)
		return rc;
	if (RAND_bytes(c->nonce, sizeof(c->nonce)) != 1) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot generate a challenge");
		ct_err_openssl(err);
		return rc;
	}
	return CT_OK;
}

void
ct_challenge_format(const struct ct_challenge *c, char out[CT_CHALLENGE_MAX])
{
	char *nonce = ct_b64url_encode(c->nonce, sizeof(c->nonce));

	/* the fields are bounded so that this always fits */
	snprintf(out, CT_CHALLENGE_MAX, CHALLENGE_TAG "%s:%s:%s:%s:%s", nonce ? nonce : "",
	    c->target, c->user, c->service, c->host);
	free(nonce);
}

/* The next ':'-separated field of *P (up to END) into OUT (SIZE bytes). */
static int
next_field(const char **p, const char *end, char *out, size_t size)
{
	const char *q = *p;
	size_t len;

	while (q < end && *q != ':')
		q++;
	len = (size_t)(q - *p);
	if (len == 0 || len >= size)
		return -1;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p = q; /* at the ':' before the next field, or at END */
	return ct_login_name_valid(out, size) ? 0 : -1;
}

int
ct_challenge_parse(const char *text, struct ct_challenge *c, struct ct_err *err)
{
	const char *start = strstr(text, CHALLENGE_TAG), *p, *end;
	char nonce[32], user[CT_USER_MAX], target[CT_TARGET_MAX];
	char service[CT_LOGIN_NAME_MAX], host[CT_LOGIN_NAME_MAX];
	unsigned char *raw = NULL;
	size_t raw_len = 0;

	memset(c, 0, sizeof(*c));
	if (start == NULL)
		return ct_err_set(
		    err, CT_EINVAL, "no login challenge (a word starting with " CHALLENGE_TAG ")");
	p = start + strlen(CHALLENGE_TAG);
	for (end = p; *end != '\0' && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n';
	     end++)
		;
	/* exactly five fields: each but the last ends at a ':', the last at END */
	if (next_field(&p, end, nonce, sizeof(nonce)) != 0 || *p++ != ':' ||
	    next_field(&p, end, target, sizeof(target)) != 0 || *p++ != ':' ||
	    next_field(&p, end, user, sizeof(user)) != 0 || *p++ != ':' ||
	    next_field(&p, end, service, sizeof(service)) != 0 || *p++ != ':' ||
	    next_field(&p, end, host, sizeof(host)) != 0 || p != end || !ct_name_valid(target))
		return ct_err_set(err, CT_EINVAL,
		    "malformed login challenge (want " CHALLENGE_TAG
		    "NONCE:TARGET:USER:SERVICE:HOST)");
	if (ct_b64url_decode(nonce, strlen(nonce), &raw, &raw_len) != 0 ||
	    raw_len != CT_NONCE_LEN) {
		free(raw);
		return ct_err_set(err, CT_EINVAL, "malformed login challenge: bad nonce");
	}
	memcpy(c->nonce, raw, CT_NONCE_LEN);
	free(raw);
	return set_fields(c, target, user, service, host, err);
}

/* --- the signed message --------------------------------------------------------- */

int
ct_login_message(const struct ct_challenge *c, unsigned char **msg, size_t *len, struct ct_err *err)
{
	const char *f[] = {c->target, c->user, c->service, c->host};
	size_t n = sizeof(DOMAIN) + 2 + CT_NONCE_LEN, i;
	unsigned char *buf, *p;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		n += 2 + strlen(f[i]);
	if ((buf = malloc(n)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	memcpy(buf, DOMAIN, sizeof(DOMAIN)); /* with its NUL: the separator */
	p = buf + sizeof(DOMAIN);
	ct_put_field16(&p, c->nonce, CT_NONCE_LEN);
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		ct_put_field16(&p, f[i], strlen(f[i]));
	*msg = buf;
	*len = n;
	return CT_OK;
}

/* --- the response ------------------------------------------------------------------- */

int
ct_response_make(const struct ct_challenge *c, EVP_PKEY *key, X509 *cert, int whole, char **out,
    struct ct_err *err)
{
	char serial[CT_CERT_SERIAL_MAX], *sig64 = NULL, *cert64 = NULL, *line = NULL;
	unsigned char *msg = NULL, *sig = NULL, *der = NULL;
	size_t msg_len = 0, sig_len = 0, n;
	EVP_MD_CTX *md = NULL;
	int der_len = 0, rc;

	if (ct_cert_serial_hex(cert, serial) != CT_OK)
		return ct_err_set(err, CT_EINVAL, "the certificate's serial is unusable");
	if ((rc = ct_login_message(c, &msg, &msg_len, err)) != CT_OK)
		return rc;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, ct_pkey_digest(key), NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, msg, msg_len) != 1 ||
	    (sig = OPENSSL_malloc(sig_len)) == NULL ||
	    EVP_DigestSign(md, sig, &sig_len, msg, msg_len) != 1) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot sign the login challenge");
		ct_err_openssl(err);
		goto out;
	}
	if (whole && (der_len = i2d_X509(cert, &der)) <= 0) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot encode the certificate");
		goto out;
	}
	if ((sig64 = ct_b64url_encode(sig, sig_len)) == NULL ||
	    (whole && (cert64 = ct_b64url_encode(der, (size_t)der_len)) == NULL)) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	n = strlen(RESPONSE_TAG) + strlen(serial) + strlen(sig64) + (cert64 ? strlen(cert64) : 0) +
	    3;
	if ((line = malloc(n)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(line, n, RESPONSE_TAG "%s:%s%s%s", serial, sig64, cert64 ? ":" : "",
	    cert64 ? cert64 : "");
	*out = line;
	rc = CT_OK;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(sig);
	OPENSSL_free(der);
	free(sig64);
	free(cert64);
	free(msg);
	return rc;
}

struct response {
	char serial[CT_CERT_SERIAL_MAX];
	unsigned char *sig;
	size_t sig_len;
	X509 *cert; /* sent whole, or NULL */
};

static void
response_clear(struct response *r)
{
	free(r->sig);
	X509_free(r->cert);
	memset(r, 0, sizeof(*r));
}

/* Parse TEXT (the typed line; surrounding blanks are ignored) into R. */
static int
response_parse(const char *text, struct response *r, struct ct_err *err)
{
	const char *p, *colon, *end;
	unsigned char *der = NULL;
	const unsigned char *dp;
	size_t len, der_len = 0;

	memset(r, 0, sizeof(*r));
	if (strnlen(text, CT_RESPONSE_MAX) == CT_RESPONSE_MAX)
		return ct_err_set(
		    err, CT_EINVAL, "response longer than %d bytes", CT_RESPONSE_MAX - 1);
	while (*text == ' ' || *text == '\t')
		text++;
	len = strlen(text);
	while (len > 0 &&
	    (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
	        text[len - 1] == '\n'))
		len--;
	end = text + len;
	if (len < strlen(RESPONSE_TAG) || strncmp(text, RESPONSE_TAG, strlen(RESPONSE_TAG)) != 0)
		return ct_err_set(err, CT_EINVAL,
		    "not a certtoken response (want " RESPONSE_TAG "SERIAL:SIGNATURE[:CERT])");
	p = text + strlen(RESPONSE_TAG);
	if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL ||
	    (size_t)(colon - p) >= sizeof(r->serial))
		return ct_err_set(err, CT_EINVAL, "malformed response: no certificate serial");
	memcpy(r->serial, p, (size_t)(colon - p));
	r->serial[colon - p] = '\0';
	if (!ct_cert_serial_valid(r->serial))
		return ct_err_set(err, CT_EINVAL, "malformed response: bad certificate serial");
	p = colon + 1;
	colon = memchr(p, ':', (size_t)(end - p));
	if (ct_b64url_decode(p, (size_t)((colon ? colon : end) - p), &r->sig, &r->sig_len) != 0 ||
	    r->sig_len == 0 || r->sig_len > SIG_MAX) {
		response_clear(r);
		return ct_err_set(err, CT_EINVAL, "malformed response: bad signature encoding");
	}
	if (colon == NULL)
		return CT_OK;
	p = colon + 1;
	if (ct_b64url_decode(p, (size_t)(end - p), &der, &der_len) != 0 || der_len == 0 ||
	    der_len > CERT_DER_MAX ||
	    (dp = der, r->cert = d2i_X509(NULL, &dp, (long)der_len)) == NULL ||
	    dp != der + der_len) {
		free(der);
		response_clear(r);
		ERR_clear_error();
		return ct_err_set(err, CT_EINVAL, "malformed response: bad certificate");
	}
	free(der);
	return CT_OK;
}

/* --- the checks ---------------------------------------------------------------------- */

/* Is the time T (an ASN1_TIME) before (SIGN < 0) or after (SIGN > 0) AT? */
static int
time_is(const ASN1_TIME *t, int sign, time_t at)
{
	int c = X509_cmp_time(t, &at); /* -1: t <= at, 1: t > at, 0: error */

	return c != 0 && (sign < 0 ? c < 0 : c > 0);
}

static int
check_times(X509 *x, time_t now, long skew, const char *what, struct ct_err *err)
{
	if (!time_is(X509_get0_notBefore(x), -1, now + skew))
		return ct_err_set(err, CT_EPERM, "%s is not valid yet", what);
	if (!time_is(X509_get0_notAfter(x), 1, now - skew))
		return ct_err_set(err, CT_EPERM, "%s has expired", what);
	return CT_OK;
}

/* The trust anchors of the target's access group at NOW. */
static int
chain_check(const struct ct_login_policy *p, X509 *cert, time_t now, struct ct_err *err)
{
	STACK_OF(X509) *anchors = NULL, *chain;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	int rc, i, v;

	if ((rc = ct_ca_trust(p->db, p->target->group, now, &anchors, err)) != CT_OK)
		return rc;
	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(anchors, i)) != 1) {
			rc = ct_err_set(err, CT_ECRYPTO, "cannot load the trust anchors");
			goto out;
		}
	/* times are checked below with the skew; no intermediates are offered,
	 * so the chain is the leaf and one of the group's CAs */
	X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT | X509_V_FLAG_NO_CHECK_TIME);
	if (X509_STORE_CTX_init(ctx, store, cert, NULL) != 1) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	/* the leaf signed directly by one of the anchors, nothing between */
	X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx), 0);
	if (X509_check_ca(cert) != 0) {
		rc = ct_err_set(err, CT_EPERM, "certificate is a CA certificate, not a leaf");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		v = X509_STORE_CTX_get_error(ctx);
		rc = ct_err_set(err, CT_EPERM,
		    "certificate does not chain to a CA of access group %s (%s)",
		    p->target->group->name, X509_verify_cert_error_string(v));
		goto out;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	if (sk_X509_num(chain) != 2) {
		rc = ct_err_set(err, CT_EPERM, "certificate is not issued by a group CA directly");
		goto out;
	}
	rc = CT_OK;
	for (i = 0; rc == CT_OK && i < sk_X509_num(chain); i++)
		rc = check_times(sk_X509_value(chain, i), now, p->skew,
		    i == 0 ? "certificate" : "its access-group CA", err);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(anchors, X509_free);
	return rc;
}

/* Key usage digitalSignature, and every EKU the template names (clientAuth
 * when it names none). */
static int
usage_check(const struct ct_target *t, X509 *cert, struct ct_err *err)
{
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OBJECT *client = NULL;
	const ASN1_OBJECT *want;
	size_t i, n;
	int rc = CT_OK, j, found;

	if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE))
		return ct_err_set(err, CT_EPERM, "certificate lacks key usage digitalSignature");
	if ((eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &j, NULL)) == NULL && j != -1) {
		ERR_clear_error();
		return ct_err_set(err, CT_EPERM, "certificate has a malformed extendedKeyUsage");
	}
	n = t->template->n_eku > 0 ? t->template->n_eku : 1;
	if (t->template->n_eku == 0 && (client = OBJ_nid2obj(NID_client_auth)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		want = t->template->n_eku > 0 ? t->template->eku[i] : client;
		found = 0;
		for (j = 0; eku != NULL && j < sk_ASN1_OBJECT_num(eku) && !found; j++)
			found = OBJ_cmp(sk_ASN1_OBJECT_value(eku, j), want) == 0;
		if (!found) {
			char name[80];
			OBJ_obj2txt(name, sizeof(name), want, 0);
			rc = ct_err_set(
			    err, CT_EPERM, "certificate lacks extended key usage %s", name);
			goto out;
		}
	}
out:
	EXTENDED_KEY_USAGE_free(eku);
	return rc;
}

static int
revocation_check(struct ct_store *st, const char *serial, struct ct_err *err)
{
	struct ct_revocation r;
	int rc;

	if ((rc = ct_revoked_get(st, serial, &r, err)) == CT_ENOENT) {
		ct_err_clear(err);
		return CT_OK;
	}
	if (rc == CT_OK)
		rc = ct_err_set(err, CT_EPERM, "certificate %s is revoked", serial);
	return rc;
}

int
ct_login_token_check(
    struct ct_store *db, const struct ct_cert_entry *e, const char *user, struct ct_err *err)
{
	struct ct_user_tokens u;
	size_t i;
	int rc;

	if (strcmp(e->user, user) != 0)
		return ct_err_set(err, CT_EPERM, "certificate was issued to user %s", e->user);
	if (strcmp(e->token, "-") == 0 || e->token[0] == '\0')
		return CT_OK;
	memset(&u, 0, sizeof(u));
	rc = ct_tokens_peek(db, user, &u, err);
	if (rc == CT_ENOENT) {
		ct_err_clear(err);
		return ct_err_set(err, CT_EPERM, "certificate token %s was deleted", e->token);
	}
	if (rc != CT_OK)
		return rc;
	rc = ct_err_set(err, CT_EPERM, "certificate token %s was deleted", e->token);
	for (i = 0; i < u.n; i++) {
		if (strcmp(u.tok[i].serial, e->token) != 0)
			continue;
		ct_err_clear(err);
		rc = u.tok[i].active
		    ? CT_OK
		    : ct_err_set(err, CT_EPERM, "certificate token %s is disabled", e->token);
	}
	ct_user_tokens_clear(&u);
	return rc;
}

/* Subject equal, byte for byte, to the target's subject pattern rendered
 * for USER. */
static int
bind_subject(const struct ct_login_policy *p, X509 *cert, const char *user, struct ct_err *err)
{
	struct ct_attrsrc *src = NULL;
	struct ct_attrs *a = NULL;
	X509_NAME *want = NULL;
	unsigned char *d1 = NULL, *d2 = NULL;
	int l1, l2, rc;

	if ((rc = ct_attrsrc_open(&p->cfg->attributes, &src, err)) != CT_OK ||
	    (rc = ct_attrsrc_lookup(src, user, &a, err)) != CT_OK ||
	    (rc = ct_pattern_expand_subject(p->target->subject, a, &want, err)) != CT_OK) {
		if (rc == CT_ENOENT || rc == CT_EINVAL) {
			ct_err_prefix(err, "cannot render the subject for user %s: ", user);
			rc = CT_EPERM;
		}
		goto out;
	}
	l1 = i2d_X509_NAME(want, &d1);
	l2 = i2d_X509_NAME(X509_get_subject_name(cert), &d2);
	if (l1 <= 0 || l2 <= 0)
		rc = ct_err_set(err, CT_ENOMEM, "cannot encode a name");
	else if (l1 != l2 || memcmp(d1, d2, (size_t)l1) != 0)
		rc = ct_err_set(err, CT_EPERM,
		    "certificate subject is not target %s's subject for user %s", p->target->name,
		    user);
out:
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	X509_NAME_free(want);
	ct_attrs_free(a);
	ct_attrsrc_close(src);
	return rc;
}

/* Exactly one CN, equal to USER. */
static int
bind_cn(X509 *cert, const char *user, struct ct_err *err)
{
	X509_NAME *name = X509_get_subject_name(cert);
	const ASN1_STRING *v;
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);

	if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return ct_err_set(err, CT_EPERM, "certificate subject needs exactly one CN");
	v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if ((size_t)ASN1_STRING_length(v) != strlen(user) ||
	    memcmp(ASN1_STRING_get0_data(v), user, strlen(user)) != 0)
		return ct_err_set(err, CT_EPERM, "certificate CN is not user %s", user);
	return CT_OK;
}

/* A UPN SAN whose part before the last '@' is USER. */
static int
bind_upn(X509 *cert, const char *user, struct ct_err *err)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	ASN1_OBJECT *upn = OBJ_txt2obj(UPN_OID, 1);
	int i, ok = 0;

	for (i = 0; gens != NULL && upn != NULL && i < sk_GENERAL_NAME_num(gens) && !ok; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_TYPE *v;
		const unsigned char *s, *at = NULL;
		int len, k;

		if (g->type != GEN_OTHERNAME || OBJ_cmp(g->d.otherName->type_id, upn) != 0)
			continue;
		v = g->d.otherName->value;
		if (v == NULL || v->type != V_ASN1_UTF8STRING)
			continue;
		s = ASN1_STRING_get0_data(v->value.utf8string);
		len = ASN1_STRING_length(v->value.utf8string);
		for (k = 0; k < len; k++)
			if (s[k] == '@')
				at = s + k;
		ok = at != NULL && (size_t)(at - s) == strlen(user) &&
		    memcmp(s, user, strlen(user)) == 0;
	}
	GENERAL_NAMES_free(gens);
	ASN1_OBJECT_free(upn);
	ERR_clear_error();
	return ok ? CT_OK : ct_err_set(err, CT_EPERM, "certificate has no UPN for user %s", user);
}

static int
signature_check(
    const struct ct_challenge *c, X509 *cert, const struct response *r, struct ct_err *err)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);
	EVP_MD_CTX *md = NULL;
	unsigned char *msg = NULL;
	size_t msg_len = 0;
	int rc;

	if (key == NULL)
		return ct_err_set(err, CT_EPERM, "certificate key is unusable");
	if ((rc = ct_login_message(c, &msg, &msg_len, err)) != CT_OK)
		return rc;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, ct_pkey_digest(key), NULL, NULL, key, NULL) != 1)
		rc = ct_err_set(err, CT_ECRYPTO, "cannot verify a signature");
	else if (EVP_DigestVerify(md, r->sig, r->sig_len, msg, msg_len) != 1)
		rc = ct_err_set(err, CT_EPERM, "signature over the challenge does not verify");
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	free(msg);
	return rc;
}

/* The certificate R names: from the index, or sent whole (then the index
 * entry, if any, must hold the same certificate). */
static int
find_cert(const struct ct_login_policy *p, const struct response *r, struct ct_cert_entry *e,
    int *have_entry, X509 **cert, struct ct_err *err)
{
	char serial[CT_CERT_SERIAL_MAX];
	int rc;

	*have_entry = 0;
	rc = ct_certindex_get(p->db, r->serial, e, err);
	if (rc == CT_OK)
		*have_entry = 1;
	else if (rc != CT_ENOENT)
		return rc;
	ct_err_clear(err);
	if (r->cert == NULL) {
		if (!*have_entry)
			return ct_err_set(err, CT_ENOENT,
			    "certificate %s is not known on this host "
			    "(answer with: certtoken-enroll respond --whole)",
			    r->serial);
		*cert = e->cert;
		return CT_OK;
	}
	if (ct_cert_serial_hex(r->cert, serial) != CT_OK || strcmp(serial, r->serial) != 0)
		return ct_err_set(
		    err, CT_EINVAL, "malformed response: serial is not the certificate's");
	if (*have_entry && X509_cmp(e->cert, r->cert) != 0)
		return ct_err_set(err, CT_EPERM,
		    "certificate differs from the one issued with serial %s", serial);
	*cert = r->cert;
	return CT_OK;
}

int
ct_login_verify(const struct ct_login_policy *p, const struct ct_challenge *c, const char *response,
    time_t now, struct ct_login_result *res, struct ct_err *err)
{
	struct ct_cert_entry e;
	struct response r;
	X509 *cert = NULL;
	int rc, have_entry = 0;

	memset(res, 0, sizeof(*res));
	memset(&e, 0, sizeof(e));
	if ((rc = response_parse(response, &r, err)) != CT_OK)
		return rc;
	memcpy(res->serial, r.serial, sizeof(res->serial));
	if ((rc = find_cert(p, &r, &e, &have_entry, &cert, err)) != CT_OK)
		goto out;
	if (have_entry)
		memcpy(res->token, e.token, sizeof(res->token));
	if ((rc = chain_check(p, cert, now, err)) != CT_OK ||
	    (rc = usage_check(p->target, cert, err)) != CT_OK ||
	    (rc = revocation_check(p->db, r.serial, err)) != CT_OK ||
	    (have_entry && (rc = ct_login_token_check(p->db, &e, c->user, err)) != CT_OK))
		goto out;
	switch (p->map) {
	case CT_MAP_SUBJECT: rc = bind_subject(p, cert, c->user, err); break;
	case CT_MAP_CN: rc = bind_cn(cert, c->user, err); break;
	case CT_MAP_UPN: rc = bind_upn(cert, c->user, err); break;
	default: rc = ct_err_set(err, CT_EINVAL, "unknown binding rule"); break;
	}
	if (rc == CT_OK)
		rc = signature_check(c, cert, &r, err);
out:
	ct_cert_entry_clear(&e);
	response_clear(&r);
	return rc;
}
