/* certtokend: the OpenSSH user certificate of an enrollment for a target
 * with `ssh`: the same key, the same validity as the X.509 certificate,
 * signed by the access group's SSH CA. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/evp.h>

#include "certtokend.h"
#include "certtoken.h"

int
ssh_precheck(struct conn *c, const struct ct_target *t)
{
	struct ct_sshca_trust trust = {0};
	struct ct_err err = {0};
	int rc;

	if (!t->ssh.enabled)
		return CT_OK;
	rc = ct_sshca_trust(c->d->store, t->group->name, time(NULL), 0, &trust, &err);
	ct_sshca_trust_clear(&trust);
	if (rc == CT_OK)
		return CT_OK;
	logmsg(LOG_ERR, "enrollment of user %s (uid %u) for target %s refused: %s", c->user,
	    (unsigned)c->uid, t->name, err.msg);
	reply_failure(c, rc, 0, err.msg, "cannot sign OpenSSH certificates for this target");
	return rc;
}

/* What the OpenSSH certificate of C's user for target T is made from. */
static struct ct_sshca_req
ssh_req(const struct conn *c, const struct ct_target *t, const struct ct_attrs *attrs,
    const unsigned char *spki, size_t spki_len)
{
	struct ct_sshca_req r = {.conf = &t->ssh,
	    .attrs = attrs,
	    .user = c->user,
	    .target = t->name,
	    .spki = spki,
	    .spki_len = spki_len};

	return r;
}

int
ssh_prepare(struct conn *c, const struct ct_target *t, const struct ct_attrs *attrs,
    const unsigned char *spki, size_t spki_len, EVP_PKEY **ca)
{
	struct ct_sshca_req r = ssh_req(c, t, attrs, spki, spki_len);
	struct ct_err err = {0};
	int rc;

	*ca = NULL;
	if (!t->ssh.enabled)
		return CT_OK;
	if ((rc = ct_sshca_check(&r, &err)) == CT_OK &&
	    (rc = ct_sshca_load(c->d->store, t->group->name, ca, &err)) == CT_OK)
		return CT_OK;
	logmsg(rc == CT_EINVAL ? LOG_NOTICE : LOG_ERR,
	    "enrollment of user %s (uid %u) for target %s refused before anything was issued: "
	    "OpenSSH certificate: %s",
	    c->user, (unsigned)c->uid, t->name, err.msg);
	/* a missing attribute is the user's to know; a store problem is not */
	reply_failure(c, rc, rc == CT_EINVAL, err.msg, "cannot sign OpenSSH certificates");
	return rc;
}

int
ssh_issue(struct conn *c, const struct ct_target *t, EVP_PKEY *ca, const struct ct_attrs *attrs,
    const unsigned char *spki, size_t spki_len, const unsigned char *der, size_t der_len,
    struct ct_sshca_cert *out)
{
	struct ct_sshca_req r = ssh_req(c, t, attrs, spki, spki_len);
	struct ct_cert_desc desc;
	struct ct_err err = {0};
	int rc;

	if ((rc = ct_cert_describe(der, der_len, &desc, &err)) == CT_OK) {
		r.x509_serial = desc.serial;
		r.not_before = desc.not_before;
		r.not_after = desc.not_after;
		rc = ct_sshca_issue(ca, &r, out, &err);
	}
	if (rc == CT_OK)
		return CT_OK;
	logmsg(rc == CT_EINVAL ? LOG_NOTICE : LOG_ERR,
	    "enrollment of user %s (uid %u) for target %s refused: OpenSSH certificate: %s",
	    c->user, (unsigned)c->uid, t->name, err.msg);
	/* a missing attribute is the user's to know; a store problem is not */
	reply_failure(c, rc, rc == CT_EINVAL, err.msg, "cannot sign the OpenSSH certificate");
	return rc;
}

void
send_issued_ssh(struct conn *c, const char *target, const char *token, const unsigned char *der,
    size_t der_len, const char *line)
{
	struct ct_msgbuf b = {0};
	struct ct_err err = {0};

	if (issued_result(&b, target, token, der, der_len) != CT_OK)
		return;
	if (line != NULL)
		ct_msgbuf_add_str(&b, CT_TAG_SSH_CERT, line);
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		logmsg(LOG_NOTICE, "user %s (uid %u): certificate of token %s not delivered: %s",
		    c->user, (unsigned)c->uid, token, err.msg);
	ct_msgbuf_free(&b);
}
