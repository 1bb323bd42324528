/* The transaction contract through a toy in-memory backend that cannot
 * lock: it refuses a write whose state changed since the read with
 * CT_ECONFLICT (as a directory with an assertion would), and
 * ct_store_update runs the whole read -> verify -> write again, so no
 * update is lost and nothing is verified against stale state. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "conf.h"
#include "otp.h"
#include "store.h"
#include "store_backend.h"
#include "tokens.h"

/* ---- the toy backend: one user, a version per write ---- */

static struct toy {
	struct ct_user_tokens u; /* alice's tokens (n == 0: none) */
	unsigned version;
	int interfere; /* writes still to be overtaken by a concurrent one */
	void (*concurrent)(struct ct_user_tokens *u); /* what that one does */
	int writes, conflicts;
} toy;

struct toy_tx {
	struct ct_tokens_tx base;
	unsigned version; /* of the state this transaction read */
};

static int
toy_open(const struct ct_config *cfg, unsigned flags, struct ct_store **out, struct ct_err *err)
{
	(void)cfg;
	(void)flags;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	return CT_OK;
}

static void
toy_close(struct ct_store *st)
{
	free(st);
}

static int
toy_begin(struct ct_store *st, const char *user, int64_t deadline_ms, struct ct_tokens_tx **out,
    struct ct_err *err)
{
	struct toy_tx *tx = calloc(1, sizeof(*tx));

	(void)deadline_ms;

	if (tx == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	tx->base.st = st;
	snprintf(tx->base.user, sizeof(tx->base.user), "%s", user);
	*out = &tx->base;
	return CT_OK; /* no lock: optimistic */
}

static int
toy_read(struct ct_tokens_tx *base, struct ct_user_tokens *out, struct ct_err *err)
{
	struct toy_tx *tx = (struct toy_tx *)base;

	tx->version = toy.version;
	if (strcmp(base->user, "alice") != 0 || toy.u.n == 0)
		return ct_err_set(err, CT_ENOENT, "no tokens");
	*out = toy.u;
	return CT_OK;
}

static int
toy_write(struct ct_tokens_tx *base, const struct ct_user_tokens *in, struct ct_err *err)
{
	struct toy_tx *tx = (struct toy_tx *)base;

	if (toy.interfere > 0) { /* someone else writes between our read and write */
		toy.interfere--;
		toy.concurrent(&toy.u);
		toy.version++;
	}
	if (tx->version != toy.version) {
		toy.conflicts++;
		return ct_err_set(err, CT_ECONFLICT, "%s: changed since read", base->user);
	}
	toy.u = *in;
	toy.version++;
	toy.writes++;
	return CT_OK;
}

static void
toy_end(struct ct_tokens_tx *tx)
{
	free(tx);
}

static int
toy_exists(struct ct_store *st, const char *user, int64_t deadline_ms)
{
	(void)st;
	(void)deadline_ms;
	return strcmp(user, "alice") == 0 && toy.u.n > 0;
}

static const struct ct_store_ops toy_ops = {
    .name = "toy",
    .open = toy_open,
    .close = toy_close,
    .tx_begin = toy_begin,
    .tx_read = toy_read,
    .tx_write = toy_write,
    .tx_end = toy_end,
    .tokens_exists = toy_exists,
};

/* ---- fixture ---- */

static struct ct_store *
open_toy(void)
{
	struct ct_config *cfg = NULL;
	struct ct_store *st = NULL;
	struct ct_err err = {0};

	assert_int_equal(ct_config_load_string("", "toy.conf", &cfg, NULL, &err), CT_OK);
	free(cfg->store_backend);
	cfg->store_backend = strdup("toy");
	if (ct_store_open(cfg, CT_STORE_TOKENS, &st, &err) != CT_OK)
		fail_msg("open: %s", err.msg);
	ct_config_free(cfg);
	return st;
}

static int
setup(void **state)
{
	struct ct_token *t;

	memset(&toy, 0, sizeof(toy));
	toy.u.n = 1;
	t = &toy.u.tok[0];
	strcpy(t->serial, "HOTP0001");
	t->type = CT_TOKEN_HOTP;
	t->active = 1;
	t->algo = CT_OTP_SHA1;
	t->digits = 6;
	t->secret_len = 20;
	memcpy(t->secret, "12345678901234567890", 20); /* RFC 4226 test key */
	t->last_step = -1;
	strcpy(t->rollout_state, "enrolled");
	ct_store_backend_register(&toy_ops);
	*state = open_toy();
	return 0;
}

static int
teardown(void **state)
{
	ct_store_close(*state);
	ct_store_backend_register(NULL);
	return 0;
}

/* ---- tests ---- */

static int calls;

/* The update under test: count a failure. */
static int
add_failure(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)ctx;
	(void)err;
	assert_string_equal(user, "alice");
	calls++;
	u->tok[0].failcount++;
	return CT_OK;
}

/* The concurrent update: another failure. */
static void
other_failure(struct ct_user_tokens *u)
{
	u->tok[0].failcount++;
}

static void
test_conflict_retried_not_lost(void **state)
{
	struct ct_err err = {0};

	calls = 0;
	toy.interfere = 1;
	toy.concurrent = other_failure;
	assert_int_equal(ct_store_update(*state, "alice", add_failure, NULL, &err), CT_OK);
	assert_int_equal(toy.conflicts, 1);
	assert_int_equal(calls, 2); /* the whole transaction ran again */
	assert_int_equal(toy.writes, 1);
	/* both failures count: the concurrent one was not overwritten */
	assert_int_equal(toy.u.tok[0].failcount, 2);
	assert_string_equal(err.msg, "");
}

static void
test_conflict_bounded(void **state)
{
	struct ct_err err = {0};

	calls = 0;
	toy.interfere = 1000;
	toy.concurrent = other_failure;
	assert_int_equal(ct_store_update(*state, "alice", add_failure, NULL, &err), CT_ECONFLICT);
	assert_int_equal(calls, CT_STORE_RETRIES);
	assert_int_equal(toy.writes, 0);
	assert_non_null(strstr(err.msg, "changed since read"));
	assert_non_null(strstr(err.msg, "attempts"));
	assert_int_equal(ct_exit_status(CT_ECONFLICT), 75);
}

static int
keep(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)user;
	(void)err;
	u->tok[0].failcount = 99; /* not written */
	return *(int *)ctx;
}

static void
test_keep_and_refuse(void **state)
{
	struct ct_err err = {0};
	int answer = CT_STORE_KEEP;

	assert_int_equal(ct_store_update(*state, "alice", keep, &answer, &err), CT_OK);
	answer = CT_EPERM;
	assert_int_equal(ct_store_update(*state, "alice", keep, &answer, &err), CT_EPERM);
	assert_int_equal(toy.writes, 0);
	assert_int_equal(toy.u.tok[0].failcount, 0);
	/* a user without tokens: the function sees an empty set */
	answer = CT_STORE_KEEP;
	assert_int_equal(ct_store_update(*state, "bob", keep, &answer, &err), CT_OK);
	assert_int_equal(ct_store_update(*state, "../x", keep, &answer, &err), CT_EINVAL);
}

/* The concurrent update: a login that used the code of counter 0. */
static void
other_login(struct ct_user_tokens *u)
{
	u->tok[0].counter = 1;
}

static void
test_otp_not_replayed_after_conflict(void **state)
{
	struct ct_otp_conf conf = {0};
	struct ct_auth_result res;
	struct ct_err err = {0};
	char code[9];

	conf.hotp_lookahead = 0;
	conf.window = 1;
	conf.throttle_after = 5;
	conf.throttle_max = 60;
	assert_int_equal(ct_hotp(CT_OTP_SHA1, toy.u.tok[0].secret, 20, 0, 6, code), CT_OK);
	assert_string_equal(code, "755224"); /* RFC 4226, count 0 */
	/* our verification accepts 755224, but a concurrent login used it first:
	 * the retry verifies again against the new counter and refuses it */
	toy.interfere = 1;
	toy.concurrent = other_login;
	assert_int_equal(ct_auth_otp(*state, &conf, "alice", code, NULL, 0, &res, &err), CT_EPERM);
	assert_int_equal(toy.conflicts, 1);
	assert_int_equal(toy.u.tok[0].counter, 1);
	assert_int_equal(toy.u.tok[0].failcount, 1);
	assert_int_equal(res.failcount, 1);
	/* the next code is accepted once */
	assert_int_equal(ct_hotp(CT_OTP_SHA1, toy.u.tok[0].secret, 20, 1, 6, code), CT_OK);
	assert_int_equal(ct_auth_otp(*state, &conf, "alice", code, NULL, 0, &res, &err), CT_OK);
	assert_int_equal(toy.u.tok[0].counter, 2);
	assert_int_equal(toy.u.tok[0].failcount, 0);
	assert_int_equal(ct_auth_otp(*state, &conf, "alice", code, NULL, 0, &res, &err), CT_EPERM);
}

static void
test_open_checks(void **state)
{
	struct ct_config *cfg = NULL;
	struct ct_store *st = NULL;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};

	(void)state;
	assert_int_equal(ct_config_load_string("", "toy.conf", &cfg, NULL, &err), CT_OK);
	free(cfg->store_backend);
	cfg->store_backend = strdup("nosuch");
	assert_int_equal(ct_store_open(cfg, 0, &st, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "'nosuch'"));
	assert_null(st);
	/* token state needs CT_STORE_TOKENS */
	free(cfg->store_backend);
	cfg->store_backend = strdup("toy");
	ct_err_clear(&err);
	assert_int_equal(ct_store_open(cfg, 0, &st, &err), CT_OK);
	assert_int_equal(ct_tokens_begin(st, "alice", &tx, &err), CT_EINVAL);
	/* and may not say "certainly no tokens" (a login would be let through) */
	assert_int_equal(ct_tokens_exists(st, "alice"), 1);
	assert_int_equal(ct_tokens_exists(st, "bob"), 1);
	ct_store_close(st);
	ct_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_conflict_retried_not_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_conflict_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keep_and_refuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_otp_not_replayed_after_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_checks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
