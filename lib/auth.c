#include "config.h"

#include <string.h>

#include "auth.h"
#include "otp.h"

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

/* Try CODE against token T; on a match move it past the code. */
static int
try_token(struct ct_token *t, const struct ct_otp_conf *conf, const char *code, time_t now)
{
	uint64_t counter;
	int64_t step;

	if (t->type == CT_TOKEN_HOTP) {
		if (ct_hotp_verify(t->algo, t->secret, t->secret_len, t->digits, t->counter,
		    conf->hotp_lookahead, code, &counter) != CT_OK)
			return CT_EPERM;
		t->counter = counter + 1;
		return CT_OK;
	}
	if (ct_totp_verify(t->algo, t->secret, t->secret_len, t->digits, t->period, now,
	    conf->window, t->last_step, code, &step) != CT_OK)
		return CT_EPERM;
	t->last_step = step;
	return CT_OK;
}

static void
record(struct ct_auth_result *res, const struct ct_token *t)
{
	memcpy(res->serial, t->serial, sizeof(res->serial));
	res->failcount = t->failcount;
	res->lock_until = t->lock_until;
}

/* Verify CODE against the usable tokens of U, updating their state. */
static int
verify_tokens(struct ct_user_tokens *u, const struct ct_otp_conf *conf, const char *code,
    time_t now, struct ct_auth_result *res)
{
	struct ct_token *t, *first = NULL;
	size_t i;
	int usable = 0, have = 0;

	for (i = 0; i < u->n; i++) {
		t = &u->tok[i];
		if (!is_otp(t) || !t->active)
			continue;
		have = 1;
		if (is_locked(t, now))
			continue;
		usable = 1;
		if (first == NULL)
			first = t;
		if (try_token(t, conf, code, now) == CT_OK) {
			t->failcount = 0;
			t->lock_until = 0;
			record(res, t);
			return CT_OK;
		}
	}
	if (!have)
		return CT_ENOENT;
	if (!usable)
		return CT_ELOCKED;
	/* a wrong code counts against every usable token */
	for (i = 0; i < u->n; i++) {
		t = &u->tok[i];
		if (!is_otp(t) || !t->active || is_locked(t, now))
			continue;
		if (++t->failcount >= conf->max_fail && conf->lock_seconds > 0)
			t->lock_until = (int64_t)now + conf->lock_seconds;
	}
	record(res, first);
	return CT_EPERM;
}

int
ct_auth_otp(struct ct_tokens_db *db, const struct ct_otp_conf *conf, const char *user,
    const char *code, time_t now, struct ct_auth_result *res, struct ct_err *err)
{
	struct ct_user_tokens u;
	struct ct_tokens_tx *tx = NULL;
	int rc, wrc;

	memset(res, 0, sizeof(*res));
	memset(&u, 0, sizeof(u));
	/* no lock file for names without tokens: login prompts take any name */
	if (!ct_tokens_exists(db, user))
		return CT_ENOENT;
	if ((rc = ct_tokens_begin(db, user, &tx, err)) != CT_OK)
		goto out;
	if ((rc = ct_tokens_read(tx, &u, err)) != CT_OK)
		goto out;
	rc = verify_tokens(&u, conf, code, now, res);
	if (rc == CT_OK || rc == CT_EPERM) {
		/* the new state must be on disk before we answer: otherwise the
		 * same code could be replayed, or failures forgotten */
		if ((wrc = ct_tokens_write(tx, &u, err)) != CT_OK)
			rc = wrc;
	}
out:
	ct_tokens_end(tx);
	ct_user_tokens_clear(&u);
	return rc;
}

int
ct_auth_account(struct ct_tokens_db *db, const char *user, time_t now,
    struct ct_auth_result *res, struct ct_err *err)
{
	struct ct_user_tokens u;
	size_t i;
	int rc, active = 0;

	memset(res, 0, sizeof(*res));
	memset(&u, 0, sizeof(u));
	if ((rc = ct_tokens_peek(db, user, &u, err)) != CT_OK)
		goto out;
	rc = CT_ENOENT;
	for (i = 0; i < u.n; i++) {
		if (!is_otp(&u.tok[i]))
			continue;
		if (rc == CT_ENOENT)
			rc = CT_EPERM;
		if (!u.tok[i].active)
			continue;
		active = 1;
		record(res, &u.tok[i]);
		if (!is_locked(&u.tok[i], now)) {
			rc = CT_OK;
			break;
		}
	}
	if (rc != CT_OK && active)
		rc = CT_ELOCKED;
out:
	ct_user_tokens_clear(&u);
	return rc;
}
