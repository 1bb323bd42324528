/* certtokend: the PAM service certtoken-enroll, run for the caller with
 * the conversation relayed to the client (so OTP before enrollment is the
 * policy administrators edit in pam.d). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/crypto.h>
#include <security/pam_appl.h>

#include "certtokend.h"
#include "util.h"

/* ---- the budget of PAM conversations, per uid ----
 *
 * A token bucket per uid: PAM_BURST conversations at once, then one more
 * every PAM_REFILL_S seconds.  Every conversation the PAM stack runs writes
 * log lines of its own (libpam's, the modules') that this service cannot
 * rate-limit, so a uid that has used its budget is refused before PAM
 * starts.  A conversation that authenticates gives its share back: the
 * budget bounds failed and abandoned conversations, and a user who enters
 * the right code is never held back by it.  The table of uids is fixed;
 * when full, the overflow shares one bucket. */

#define PAM_BUDGETS 64 /* uids with a bucket of their own; the last is the overflow */
#define COST_MS ((int64_t)PAM_REFILL_S * 1000) /* one conversation, in credit */
#define FULL_MS ((int64_t)PAM_BURST * COST_MS)

struct bucket {
	int used;
	uid_t uid;
	int64_t credit; /* ms of refill, at most FULL_MS */
	int64_t at; /* when CREDIT was reckoned (ct_now_ms) */
};

static pthread_mutex_t budget_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bucket budgets[PAM_BUDGETS];

/* B's credit at NOW (under budget_mu). */
static void
refill(struct bucket *b, int64_t now)
{
	if (now > b->at)
		b->credit += now - b->at;
	if (b->credit > FULL_MS)
		b->credit = FULL_MS;
	b->at = now;
}

/* The bucket of UID at NOW (under budget_mu): its own, a free one, one that
 * is full again (as good as new), or the overflow. */
static struct bucket *
bucket_of(uid_t uid, int64_t now)
{
	struct bucket *b = NULL;
	int i;

	for (i = 0; i < PAM_BUDGETS - 1 && b == NULL; i++)
		if (budgets[i].used && budgets[i].uid == uid)
			b = &budgets[i];
	for (i = 0; i < PAM_BUDGETS - 1 && b == NULL; i++) {
		if (budgets[i].used)
			refill(&budgets[i], now);
		if (!budgets[i].used || budgets[i].credit >= FULL_MS)
			b = &budgets[i];
	}
	if (b == NULL)
		b = &budgets[PAM_BUDGETS - 1];
	if (!b->used || (b->uid != uid && b != &budgets[PAM_BUDGETS - 1]))
		*b = (struct bucket){.used = 1, .uid = uid, .credit = FULL_MS, .at = now};
	refill(b, now);
	return b;
}

/* Take one conversation from UID's budget: 1, or 0 with *WAIT_S the
 * seconds until there is one. */
static int
budget_take(uid_t uid, int *wait_s)
{
	struct bucket *b;
	int ok;

	pthread_mutex_lock(&budget_mu);
	b = bucket_of(uid, ct_now_ms());
	if ((ok = b->credit >= COST_MS))
		b->credit -= COST_MS;
	else
		*wait_s = (int)((COST_MS - b->credit + 999) / 1000);
	pthread_mutex_unlock(&budget_mu);
	return ok;
}

/* Give UID's conversation back (it authenticated). */
static void
budget_return(uid_t uid)
{
	struct bucket *b;

	pthread_mutex_lock(&budget_mu);
	b = bucket_of(uid, ct_now_ms());
	b->credit = b->credit + COST_MS > FULL_MS ? FULL_MS : b->credit + COST_MS;
	pthread_mutex_unlock(&budget_mu);
}

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
			logmsg_uid(c->uid, LOG_NOTICE,
			    "user %s (uid %u): protocol error: bad answer %d", c->user,
			    (unsigned)c->uid, i + 1);
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
		logmsg_uid(c->uid, LOG_NOTICE, "user %s (uid %u): conversation: %s", c->user,
		    (unsigned)c->uid, err.msg);
		c->broken = 1;
		goto out;
	}
	if (conn_recv(c, STATE_CONV, c->deadline, &m) != CT_OK)
		goto out;
	if (m.n != (size_t)n) {
		logmsg_uid(c->uid, LOG_NOTICE,
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

/* Authenticate the caller through the PAM service certtoken-enroll, within
 * the uid's budget of conversations.  CT_OK or a code already answered to
 * the client. */
int
run_pam(struct conn *c, const char *what)
{
	struct pam_conv conv = {relay_conv, c};
	pam_handle_t *pamh = NULL;
	const void *item = NULL;
	int prc, code, wait_s = 0;

	if (!budget_take(c->uid, &wait_s))
		return refuse_request(c, CT_EUNAVAIL, what,
		    "too many authentications from your uid (%d at once, then one every %d s); "
		    "try again in %d s",
		    PAM_BURST, PAM_REFILL_S, wait_s);
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
	if (prc == PAM_SUCCESS) {
		budget_return(c->uid);
		return CT_OK;
	}
	if (c->broken) {
		logmsg_uid(c->uid, LOG_NOTICE,
		    "%s for user %s (uid %u) abandoned during authentication", what, c->user,
		    (unsigned)c->uid);
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
