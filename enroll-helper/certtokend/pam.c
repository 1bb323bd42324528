/* certtokend: the PAM service certtoken-enroll, run for the caller with
 * the conversation relayed to the client (so OTP before enrollment is the
 * policy administrators edit in pam.d). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/crypto.h>
#include <security/pam_appl.h>

#include "certtokend.h"

/* The PAM messages MSG (N of them) as one CONV message in B. */
static int
conv_message(int n, const struct pam_message **msg, struct ct_msgbuf *b)
{
	int i;

	if (ct_msgbuf_init(b, CT_MSG_CONV) != CT_OK)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		unsigned char item[1 + CT_PROTO_TEXT_MAX];
		size_t len = msg[i]->msg != NULL ? strnlen(msg[i]->msg, CT_PROTO_TEXT_MAX - 1) : 0;

		item[0] = (unsigned char)msg[i]->msg_style;
		if (len > 0)
			memcpy(item + 1, msg[i]->msg, len);
		ct_msgbuf_add(b, CT_TAG_PROMPT, item, len + 1);
	}
	return PAM_SUCCESS;
}

/* The client's answers in M to the N prompts MSG, as PAM responses in *OUT. */
static int
conv_answers(struct conn *c, int n, const struct pam_message **msg, const struct ct_msg *m,
    struct pam_response **out)
{
	struct pam_response *r;
	struct ct_err err = {0};
	char answer[CT_PROTO_TEXT_MAX];
	int i, rc = PAM_SUCCESS;

	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n && rc == PAM_SUCCESS; i++) {
		if (m->f[i].tag != CT_TAG_ANSWER ||
		    ct_field_text(&m->f[i], answer, sizeof(answer), &err) != CT_OK) {
			logmsg(LOG_NOTICE, "user %s (uid %u): protocol error: bad answer %d",
			    c->user, (unsigned)c->uid, i + 1);
			c->broken = 1;
			rc = PAM_CONV_ERR;
		} else if ((msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		               msg[i]->msg_style == PAM_PROMPT_ECHO_ON) &&
		    (r[i].resp = strdup(answer)) == NULL)
			rc = PAM_BUF_ERR;
	}
	OPENSSL_cleanse(answer, sizeof(answer));
	if (rc != PAM_SUCCESS) {
		for (i = 0; i < n; i++)
			ct_free_secret(r[i].resp);
		free(r);
		return rc;
	}
	*out = r;
	return PAM_SUCCESS;
}

/* The PAM conversation: prompts go to the client, its answers come back. */
static int
relay_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	struct conn *c = appdata;
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	struct ct_err err = {0};
	int i, rc;

	*resp = NULL;
	if (c->broken || n <= 0 || n > CT_PROTO_PROMPTS_MAX || msg == NULL)
		return PAM_CONV_ERR;
	/* only the four text styles travel; anything else is refused, not guessed */
	for (i = 0; i < n; i++)
		if (msg[i] == NULL || msg[i]->msg_style < PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style > PAM_TEXT_INFO)
			return PAM_CONV_ERR;
	if ((rc = conv_message(n, msg, &b)) != PAM_SUCCESS)
		goto out;
	rc = PAM_CONV_ERR;
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK) {
		logmsg(LOG_NOTICE, "user %s (uid %u): conversation: %s", c->user, (unsigned)c->uid,
		    err.msg);
		c->broken = 1;
		goto out;
	}
	if (conn_recv(c, STATE_CONV, c->deadline, &m) != CT_OK)
		goto out;
	if (m.n != (size_t)n) {
		logmsg(LOG_NOTICE,
		    "user %s (uid %u): protocol error: expected %d answers, got message type %u "
		    "with %zu fields",
		    c->user, (unsigned)c->uid, n, m.type, m.n);
		c->broken = 1;
		goto out;
	}
	rc = conv_answers(c, n, msg, &m, resp);
out:
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	return rc;
}

/* Authenticate the caller through the PAM service certtoken-enroll.  CT_OK
 * or a code already answered to the client. */
int
run_pam(struct conn *c, const char *what)
{
	struct pam_conv conv = {relay_conv, c};
	pam_handle_t *pamh = NULL;
	const void *item = NULL;
	int prc, code;

	prc = pam_start_confdir(ENROLL_SERVICE, c->user, &conv, c->d->pam_dir, &pamh);
	if (prc != PAM_SUCCESS) {
		logmsg(LOG_ERR, "pam_start(%s): %s", ENROLL_SERVICE, pam_strerror(pamh, prc));
		reply_error(c, CT_EUNAVAIL, "the service cannot start PAM; see the system log");
		return CT_EUNAVAIL;
	}
	if ((prc = pam_set_item(pamh, PAM_RUSER, c->user)) == PAM_SUCCESS &&
	    (prc = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK)) == PAM_SUCCESS &&
	    (prc = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK)) == PAM_SUCCESS) {
		/* a module may rename the user: then it is not this caller */
		if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS || item == NULL ||
		    strcmp(item, c->user) != 0) {
			logmsg(LOG_ERR, "PAM service %s changed the user name of uid %u: refused",
			    ENROLL_SERVICE, (unsigned)c->uid);
			prc = PAM_PERM_DENIED;
		}
	}
	pam_end(pamh, prc);
	if (prc == PAM_SUCCESS)
		return CT_OK;
	if (c->broken) {
		logmsg(LOG_NOTICE, "%s for user %s (uid %u) abandoned during authentication", what,
		    c->user, (unsigned)c->uid);
		return CT_EIO;
	}
	switch (prc) {
	case PAM_AUTH_ERR:
	case PAM_PERM_DENIED:
	case PAM_MAXTRIES:
	case PAM_USER_UNKNOWN:
	case PAM_ACCT_EXPIRED:
	case PAM_CRED_INSUFFICIENT:
	case PAM_NEW_AUTHTOK_REQD: code = CT_EPERM; break;
	default: code = CT_EUNAVAIL; break;
	}
	logmsg(LOG_NOTICE, "%s refused for user %s (uid %u): %s", what, c->user, (unsigned)c->uid,
	    pam_strerror(NULL, prc));
	if (code == CT_EPERM)
		reply_error(c, code, "authentication refused: %s", pam_strerror(NULL, prc));
	else
		reply_error(c, code, "authentication unavailable: %s", pam_strerror(NULL, prc));
	return code;
}

/* The pin's conversation: it never authenticates, so it never talks. */
static int
no_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	(void)n;
	(void)msg;
	(void)appdata;
	*resp = NULL;
	return PAM_CONV_ERR;
}

int
pam_pin(struct daemon *d, struct ct_err *err)
{
	static const struct pam_conv conv = {no_conv, NULL};
	int prc;

	prc = pam_start_confdir(ENROLL_SERVICE, NULL, &conv, d->pam_dir, &d->pam_pin);
	if (prc != PAM_SUCCESS) {
		d->pam_pin = NULL;
		return ct_err_set(
		    err, CT_EUNAVAIL, "pam_start(%s): %s", ENROLL_SERVICE, pam_strerror(NULL, prc));
	}
	return CT_OK;
}

void
pam_unpin(struct daemon *d)
{
	if (d->pam_pin != NULL)
		pam_end(d->pam_pin, PAM_SUCCESS);
	d->pam_pin = NULL;
}
