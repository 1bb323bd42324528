/* The SSH certificate step: SSH_AUTH_INFO_0 parsed, and its certificates
 * decided against the target group's SSH CA and the store's index. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certindex.h"
#include "login.h"
#include "sshca.h"
#include "sshcert.h"
#include "sshkey.h"
#include "sshlogin.h"

#define METHOD "publickey "
#define CERT_SUFFIX "-cert-v01@openssh.com"
#define KEYID_PREFIX "certtoken:"

void
ct_sshlogin_certs_clear(struct ct_sshlogin_certs *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->c[i].blob);
	memset(c, 0, sizeof(*c));
}

/* Does the key type word at S (LEN bytes) name a certificate type that we
 * can check?  Other certificates (sk-...-cert, ssh-dss-cert) are passed
 * over like plain keys: another line may hold ours. */
static int
is_cert_type(const char *s, size_t len)
{
	size_t n = strlen(CERT_SUFFIX);

	return len > n && memcmp(s + len - n, CERT_SUFFIX, n) == 0 &&
	    ct_sshkt_by_name((const unsigned char *)s, len, 1) != NULL;
}

/* One line of LEN bytes at LINE (no newline): add its certificate to OUT
 * when it is a publickey line with one. */
static int
parse_line(
    const char *line, size_t len, size_t lineno, struct ct_sshlogin_certs *out, struct ct_err *err)
{
	const char *type = line + strlen(METHOD), *sp;
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	int rc;

	if (len < strlen(METHOD) || memcmp(line, METHOD, strlen(METHOD)) != 0)
		return CT_OK; /* another method, or publickey with no key */
	sp = memchr(type, ' ', len - strlen(METHOD));
	if (sp == NULL)
		return ct_err_set(
		    err, CT_EINVAL, "SSH_AUTH_INFO_0 line %zu: no key after the type", lineno);
	if (!is_cert_type(type, (size_t)(sp - type)))
		return CT_OK; /* a plain key */
	if (out->n == CT_SSHLOGIN_CERTS_MAX)
		return ct_err_set(err, CT_EINVAL, "SSH_AUTH_INFO_0: more than %d certificates",
		    CT_SSHLOGIN_CERTS_MAX);
	if ((rc = ct_sshcert_line_parse(type, len - strlen(METHOD), &blob, &blob_len, NULL, err)) !=
	    CT_OK) {
		ct_err_prefix(err, "SSH_AUTH_INFO_0 line %zu: ", lineno);
		return rc;
	}
	out->c[out->n].blob = blob;
	out->c[out->n].len = blob_len;
	out->n++;
	return CT_OK;
}

int
ct_sshlogin_parse(const char *info, struct ct_sshlogin_certs *out, struct ct_err *err)
{
	struct ct_sshlogin_certs c;
	const char *p, *nl;
	size_t lineno = 0;
	int rc = CT_OK;

	memset(&c, 0, sizeof(c));
	if (info == NULL)
		return ct_err_set(err, CT_ENOENT,
		    "no SSH_AUTH_INFO_0 (sshd sets it with "
		    "AuthenticationMethods publickey,keyboard-interactive)");
	if (strnlen(info, CT_SSHLOGIN_INFO_MAX + 1) > CT_SSHLOGIN_INFO_MAX)
		return ct_err_set(err, CT_EINVAL, "SSH_AUTH_INFO_0 is longer than %d bytes",
		    CT_SSHLOGIN_INFO_MAX);
	for (p = info; *p != '\0' && rc == CT_OK; p = *nl != '\0' ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		rc = parse_line(p, (size_t)(nl - p), ++lineno, &c, err);
	}
	if (rc == CT_OK && c.n == 0)
		rc = ct_err_set(err, CT_ENOENT, "no publickey certificate in SSH_AUTH_INFO_0");
	if (rc != CT_OK) {
		ct_sshlogin_certs_clear(&c);
		return rc;
	}
	*out = c;
	return CT_OK;
}

/* C's signature key is one of the group's trusted SSH CAs at NOW. */
static int
ca_check(
    const struct ct_sshlogin_policy *p, const struct ct_sshcert *c, time_t now, struct ct_err *err)
{
	const char *group = p->target->group->name;
	struct ct_sshca_trust t;
	size_t i;
	int rc;

	/* a group without an SSH CA, or CA material that cannot be read, is
	 * no verdict on the certificate: never CT_EPERM (a refusal) */
	if ((rc = ct_sshca_trust(p->db, group, now, 0, &t, err)) != CT_OK)
		return rc == CT_ENOENT ? CT_ECONFIG : rc == CT_EPERM ? CT_EIO : rc;
	rc = ct_err_set(err, CT_EPERM, "certificate is not signed by an SSH CA of group %s", group);
	for (i = 0; i < t.n; i++)
		if (t.key[i].len == c->ca_blob_len &&
		    memcmp(t.key[i].blob, c->ca_blob, c->ca_blob_len) == 0) {
			ct_err_clear(err);
			rc = CT_OK;
			break;
		}
	ct_sshca_trust_clear(&t);
	return rc;
}

/* The owner and the X.509 serial of key id "certtoken:OWNER:TARGET:SERIAL",
 * whose TARGET must be TARGET_NAME. */
static int
keyid_split(const char *id, const char *target_name, char owner[CT_USER_MAX],
    char serial[CT_CERT_SERIAL_MAX], struct ct_err *err)
{
	const char *u = id + strlen(KEYID_PREFIX), *t, *s;

	if (strncmp(id, KEYID_PREFIX, strlen(KEYID_PREFIX)) != 0 || (t = strchr(u, ':')) == NULL ||
	    (s = strchr(t + 1, ':')) == NULL || (size_t)(t - u) >= CT_USER_MAX ||
	    strlen(s + 1) >= CT_CERT_SERIAL_MAX || !ct_cert_serial_valid(s + 1))
		return ct_err_set(err, CT_EPERM, "key id is not certtoken:USER:TARGET:SERIAL");
	if ((size_t)(s - t - 1) != strlen(target_name) ||
	    memcmp(t + 1, target_name, strlen(target_name)) != 0)
		return ct_err_set(
		    err, CT_EPERM, "certificate is for another target than %s", target_name);
	memcpy(owner, u, (size_t)(t - u));
	owner[t - u] = '\0';
	memcpy(serial, s + 1, strlen(s + 1) + 1);
	return CT_OK;
}

/* The index entry of C's X.509 serial: OWNER's, of this target (so of its
 * group, and issued under its settings: attestation, force-command, ...),
 * for this SSH serial, not revoked, its token enabled. */
static int
index_check(const struct ct_sshlogin_policy *p, const struct ct_sshcert *c,
    struct ct_sshlogin_result *res, struct ct_err *err)
{
	char owner[CT_USER_MAX];
	struct ct_revocation r;
	struct ct_cert_entry e;
	int rc;

	memset(&e, 0, sizeof(e));
	if ((rc = keyid_split(c->key_id, p->target->name, owner, res->serial, err)) != CT_OK)
		return rc;
	if ((rc = ct_certindex_get(p->db, res->serial, &e, err)) != CT_OK) {
		if (rc == CT_ENOENT)
			rc = CT_EPERM;
		goto out;
	}
	memcpy(res->token, e.token, sizeof(res->token));
	if (strcmp(e.user, owner) != 0 || strcmp(e.target, p->target->name) != 0 ||
	    strcmp(e.group, p->target->group->name) != 0 || e.ssh_serial != c->serial) {
		rc = ct_err_set(
		    err, CT_EPERM, "certificate does not match index entry %s", res->serial);
		goto out;
	}
	if ((rc = ct_revoked_get(p->db, res->serial, &r, err)) == CT_OK)
		rc = ct_err_set(err, CT_EPERM, "certificate %s is revoked", res->serial);
	else if (rc == CT_ENOENT) {
		ct_err_clear(err);
		rc = ct_login_token_check(p->db, &e, owner, err);
	}
out:
	ct_cert_entry_clear(&e);
	return rc;
}

/* Decide one certificate blob. */
static int
decide(const struct ct_sshlogin_policy *p, const unsigned char *blob, size_t len, const char *user,
    time_t now, struct ct_sshlogin_result *res, struct ct_err *err)
{
	static const char *const known[] = {"force-command", "source-address", "verify-required"};
	struct ct_sshcert c;
	const char *unknown;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = ct_sshcert_parse(blob, len, &c, err)) != CT_OK)
		return rc;
	res->ssh_serial = c.serial;
	snprintf(res->key_id, sizeof(res->key_id), "%s", c.key_id);
	if ((rc = ca_check(p, &c, now, err)) != CT_OK ||
	    (rc = ct_sshcert_verify(&c, err)) != CT_OK ||
	    (rc = ct_sshcert_check(&c, CT_SSHCERT_USER, user, now, p->skew, err)) != CT_OK)
		goto out;
	if ((unknown = ct_sshcert_unknown_option(&c, known, 3)) != NULL) {
		rc = ct_err_set(err, CT_EPERM, "certificate has an unknown critical option");
		goto out;
	}
	rc = index_check(p, &c, res, err);
out:
	ct_sshcert_free(&c);
	return rc;
}

int
ct_sshlogin_verify(const struct ct_sshlogin_policy *p, const char *info, const char *user,
    time_t now, struct ct_sshlogin_result *res, struct ct_err *err)
{
	struct ct_sshlogin_certs certs;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = ct_sshlogin_parse(info, &certs, err)) != CT_OK)
		return rc;
	for (i = 0; i < certs.n; i++) {
		ct_err_clear(err);
		rc = decide(p, certs.c[i].blob, certs.c[i].len, user, now, res, err);
		if (rc == CT_OK || (rc != CT_EPERM && rc != CT_EINVAL))
			break;
	}
	ct_sshlogin_certs_clear(&certs);
	return rc;
}
