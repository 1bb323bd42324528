/* The store handle: the backends' registry, open and close, and the one
 * retrying update every token transaction goes through. */
#include "config.h"

#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "proto.h"
#include "store_backend.h"
#include "store_ldap.h"

/* Every backend, in one place. */
static const struct ct_store_ops *const backends[] = {&ct_store_files_ops, &ct_store_ldap_ops};

static const struct ct_store_ops *test_backend;

void
ct_store_backend_register(const struct ct_store_ops *ops)
{
	test_backend = ops;
}

static const struct ct_store_ops *
find_backend(const char *name)
{
	size_t i;

	if (test_backend != NULL && strcmp(test_backend->name, name) == 0)
		return test_backend;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

int
ct_store_backend_known(const char *name, char *names, size_t size)
{
	size_t i, used = 0;
	int n;

	names[0] = '\0';
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		n = snprintf(
		    names + used, size - used, "%s%s", i > 0 ? ", " : "", backends[i]->name);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return find_backend(name) != NULL;
}

int
ct_store_open(
    const struct ct_config *cfg, unsigned flags, struct ct_store **out, struct ct_err *err)
{
	const struct ct_store_ops *ops;
	struct ct_store *st = NULL;
	int rc;

	if ((ops = find_backend(cfg->store_backend)) == NULL)
		return ct_err_set(
		    err, CT_ECONFIG, "store backend '%s' is not supported", cfg->store_backend);
	if ((rc = ops->open(cfg, flags, &st, err)) != CT_OK)
		return rc;
	st->ops = ops;
	st->flags = flags;
	st->lock_timeout = cfg->store_lock_timeout > 0 ? cfg->store_lock_timeout : 1;
	*out = st;
	return CT_OK;
}

void
ct_store_close(struct ct_store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

int64_t
ct_store_lock_deadline(const struct ct_store *st, int64_t deadline_ms)
{
	int64_t own = ct_now_ms() + (int64_t)st->lock_timeout * 1000;

	return deadline_ms > 0 && deadline_ms < own ? deadline_ms : own;
}

int64_t
ct_store_op_deadline(const struct ct_store *st)
{
	int64_t ms = st->op_timeout_ms > 0 ? st->op_timeout_ms : (int64_t)st->lock_timeout * 1000;

	return ct_now_ms() + ms;
}

/* One attempt of ct_store_update_until. */
static int
update_once(struct ct_store *st, const char *user, int64_t deadline_ms, int attempt,
    ct_store_update_fn fn, void *ctx, struct ct_err *err)
{
	struct ct_user_tokens u;
	struct ct_tokens_tx *tx = NULL;
	int rc;

	memset(&u, 0, sizeof(u));
	if ((rc = ct_tokens_begin_until(st, user, deadline_ms, &tx, err)) != CT_OK)
		goto out;
	tx->attempt = attempt;
	if ((rc = ct_tokens_read(tx, &u, err)) == CT_ENOENT) {
		ct_err_clear(err); /* no tokens yet: FN sees an empty set */
		rc = CT_OK;
	}
	if (rc != CT_OK)
		goto out;
	if ((rc = fn(ctx, user, &u, err)) == CT_OK)
		rc = ct_tokens_write(tx, &u, err);
	else if (rc == CT_STORE_KEEP)
		rc = CT_OK;
out:
	ct_tokens_end(tx);
	ct_user_tokens_clear(&u);
	return rc;
}

int
ct_store_update(
    struct ct_store *st, const char *user, ct_store_update_fn fn, void *ctx, struct ct_err *err)
{
	return ct_store_update_until(st, user, 0, fn, ctx, err);
}

/* Before the attempt after ATTEMPT (a conflict): wait a random 0 to
 * 4 * 2^ATTEMPT ms (at most 128, never past DEADLINE_MS), so that writers
 * that keep colliding on one user's state spread out instead of colliding
 * again. */
static void
conflict_backoff(int attempt, int64_t deadline_ms)
{
	unsigned char r[2] = {0, 0};
	int64_t ms, left;
	struct timespec ts;

	if (RAND_bytes(r, sizeof(r)) != 1)
		r[0] = r[1] = 0x55;
	ms = ((r[0] << 8) | r[1]) % ((4 << (attempt < 5 ? attempt : 5)) + 1);
	left = deadline_ms > 0 ? deadline_ms - ct_now_ms() : ms;
	if (ms > left)
		ms = left;
	if (ms <= 0)
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	nanosleep(&ts, NULL);
}

int
ct_store_update_until(struct ct_store *st, const char *user, int64_t deadline_ms,
    ct_store_update_fn fn, void *ctx, struct ct_err *err)
{
	struct ct_err local;
	int attempt, rc = CT_ECONFLICT;

	for (attempt = 0; attempt < CT_STORE_RETRIES; attempt++) {
		ct_err_clear(&local);
		if ((rc = update_once(st, user, deadline_ms, attempt, fn, ctx, &local)) !=
		    CT_ECONFLICT)
			break;
		if (attempt + 1 < CT_STORE_RETRIES)
			conflict_backoff(attempt, deadline_ms);
	}
	if (rc == CT_ECONFLICT)
		return ct_err_set(err, rc, "%s (gave up after %d attempts)", local.msg, attempt);
	if (rc != CT_OK)
		ct_err_set(err, rc, "%s", local.msg);
	return rc;
}
