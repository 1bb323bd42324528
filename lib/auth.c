#include "config.h"

#include <limits.h>
#include <string.h>

#include "auth.h"
#include "otp.h"
#include "store.h"

static int
is_otp(const struct ct_token *t)
{
	return t->type == CT_TOKEN_HOTP || t->type == CT_TOKEN_TOTP;
}

static int
is_locked(const struct ct_token *t, time_t now)
{
	return t->lock_until != 0 && (int64_t)now < t->lock_until;
}

/* Try CODE against token T; on a match move it past the code.  CT_EPERM: no
 * match; any other error (a token the engine cannot use) is CT_EIO, so it is
 * never counted as a wrong code. */
static int
try_token(struct ct_token *t, const struct ct_otp_conf *conf, const char *code, time_t now)
{
	uint64_t counter;
	int64_t step;
	int rc;

	if (t->type == CT_TOKEN_HOTP) {
		rc = ct_hotp_verify(t->algo, t->secret, t->secret_len, t->digits, t->counter,
		    conf->hotp_lookahead, code, &counter);
		if (rc == CT_OK)
			t->counter = counter + 1;
	} else {
		rc = ct_totp_verify(t->algo, t->secret, t->secret_len, t->digits, t->period, now,
		    conf->window, t->last_step, code, &step);
		if (rc == CT_OK)
			t->last_step = step;
	}
	return rc == CT_OK || rc == CT_EPERM ? rc : CT_EIO;
}

static void
record(struct ct_auth_result *res, const struct ct_token *t)
{
	memcpy(res->serial, t->serial, sizeof(res->serial));
	res->failcount = t->failcount;
	res->lock_until = t->lock_until;
}

/* Classify U's OTP tokens at NOW: CT_OK when one can be tried, else why
 * not.  An expired lock is lifted here, with a fresh failure count. */
static int
usable_tokens(struct ct_user_tokens *u, time_t now, struct ct_auth_result *res)
{
	int have = 0, active = 0, usable = 0;
	struct ct_token *t;
	size_t i;

	for (i = 0; i < u->n; i++) {
		t = &u->tok[i];
		if (!is_otp(t))
			continue;
		have = 1;
		if (!t->active)
			continue;
		if (t->lock_until != 0 && !is_locked(t, now)) {
			t->failcount = 0;
			t->lock_until = 0;
		}
		if (!active || (!usable && !is_locked(t, now)))
			record(res, t);
		active = 1;
		usable |= !is_locked(t, now);
	}
	if (!have)
		return CT_ENOENT;
	if (!active) {
		res->disabled = 1;
		return CT_EPERM;
	}
	return usable ? CT_OK : CT_ELOCKED;
}

/* Verify CODE against the usable tokens of U, updating their state. */
static int
verify_tokens(struct ct_user_tokens *u, const struct ct_otp_conf *conf, const char *code,
    time_t now, struct ct_auth_result *res)
{
	struct ct_token *t, *hit = NULL, *first = NULL;
	size_t i;
	int rc;

	if ((rc = usable_tokens(u, now, res)) != CT_OK)
		return rc;
	for (i = 0; i < u->n && hit == NULL; i++) {
		t = &u->tok[i];
		if (!is_otp(t) || !t->active || is_locked(t, now))
			continue;
		if ((rc = try_token(t, conf, code, now)) == CT_OK)
			hit = t;
		else if (rc != CT_EPERM)
			return rc;
	}
	/* a success clears every failure; a wrong code counts against every usable token */
	for (i = 0; i < u->n; i++) {
		t = &u->tok[i];
		if (!is_otp(t) || !t->active || is_locked(t, now))
			continue;
		if (first == NULL)
			first = t;
		if (hit != NULL)
			t->failcount = 0;
		else if (t->failcount < INT_MAX && ++t->failcount >= conf->max_fail &&
		    conf->lock_seconds > 0)
			t->lock_until = (int64_t)now + conf->lock_seconds;
	}
	record(res, hit != NULL ? hit : first);
	return hit != NULL ? CT_OK : CT_EPERM;
}

/* Store errors other than "no such user" are never a plain refusal. */
static int
store_error(int rc)
{
	return rc == CT_ENOENT || rc == CT_ENOMEM ? rc : CT_EIO;
}

struct otp_try {
	const struct ct_otp_conf *conf;
	const char *code;
	time_t now;
	struct ct_auth_result *res;
	int verdict; /* of the last attempt */
};

/* Inside the transaction: verify, and have the new state written when a
 * code was tried (accepted, or a failure to count). */
static int
otp_verify(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	struct otp_try *o = ctx;

	(void)user;
	(void)err;
	memset(o->res, 0, sizeof(*o->res));
	o->verdict = verify_tokens(u, o->conf, o->code, o->now, o->res);
	/* the new state must be stored before we answer: otherwise the same
	 * code could be replayed, or failures forgotten */
	if (o->verdict == CT_OK || (o->verdict == CT_EPERM && !o->res->disabled))
		return CT_OK;
	return CT_STORE_KEEP;
}

int
ct_auth_otp(struct ct_store *st, const struct ct_otp_conf *conf, const char *user, const char *code,
    time_t now, struct ct_auth_result *res, struct ct_err *err)
{
	struct otp_try o = {conf, code, now, res, CT_EIO};
	int rc;

	memset(res, 0, sizeof(*res));
	/* no lock file for names without tokens: login prompts take any name */
	if (!ct_tokens_exists(st, user))
		return CT_ENOENT;
	if ((rc = ct_store_update(st, user, otp_verify, &o, err)) != CT_OK)
		return store_error(rc);
	return o.verdict;
}

int
ct_auth_account(struct ct_store *st, const char *user, time_t now, struct ct_auth_result *res,
    struct ct_err *err)
{
	struct ct_user_tokens u;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&u, 0, sizeof(u));
	if (!ct_tokens_exists(st, user))
		return CT_ENOENT;
	if ((rc = ct_tokens_peek(st, user, &u, err)) != CT_OK)
		rc = store_error(rc);
	else
		rc = usable_tokens(&u, now, res);
	ct_user_tokens_clear(&u);
	return rc;
}
