/* The token store, backend-neutral: names, checks, and the operations,
 * which check their arguments and call the store's backend. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "store_backend.h"
#include "tokens.h"
#include "util.h"

#define LOCK_SUFFIX ".lock"

/* ---- names ---- */

static const char *const type_names[] = {"hotp", "totp", "certificate"};

int
ct_token_type_parse(const char *name)
{
	return ct_name_index(type_names, sizeof(type_names) / sizeof(type_names[0]), name, 1);
}

const char *
ct_token_type_name(enum ct_token_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[t];
}

static int
name_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '@' || c == '-';
}

int
ct_tokens_word_valid(const char *name, size_t max, int empty_ok)
{
	size_t len = strnlen(name, max), i;

	if (len == max || (len == 0 && !empty_ok))
		return 0;
	for (i = 0; i < len; i++)
		if (!name_char((unsigned char)name[i]))
			return 0;
	return 1;
}

int
ct_tokens_user_valid(const char *name)
{
	size_t len;

	if (name == NULL || !ct_tokens_word_valid(name, CT_USER_MAX, 0) || name[0] == '.' ||
	    name[0] == '-')
		return 0;
	/* Names the backend uses for its own files (USER.lock, and the
	 * USER.tmp.RANDOM temporaries of ct_file_write_atomic) are not user
	 * names: otherwise user "x.lock" would be user x's lock file. */
	len = strlen(name);
	if (len >= strlen(LOCK_SUFFIX) &&
	    strcmp(name + len - strlen(LOCK_SUFFIX), LOCK_SUFFIX) == 0)
		return 0;
	return strstr(name, ".tmp.") == NULL;
}

int
ct_tokens_new_serial(const char *prefix, char out[CT_SERIAL_MAX])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char rnd[8];
	char buf[CT_SERIAL_MAX];
	size_t plen, i;

	if (prefix == NULL || !ct_tokens_word_valid(prefix, CT_SERIAL_MAX, 1))
		return CT_EINVAL;
	plen = strlen(prefix);
	if (plen + 2 * sizeof(rnd) >= CT_SERIAL_MAX)
		return CT_EINVAL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return CT_ECRYPTO;
	memcpy(buf, prefix, plen);
	for (i = 0; i < sizeof(rnd); i++) {
		buf[plen + 2 * i] = hex[rnd[i] >> 4];
		buf[plen + 2 * i + 1] = hex[rnd[i] & 15];
	}
	buf[plen + 2 * sizeof(rnd)] = '\0';
	memcpy(out, buf, plen + 2 * sizeof(rnd) + 1);
	return CT_OK;
}

void
ct_user_tokens_clear(struct ct_user_tokens *t)
{
	if (t != NULL)
		OPENSSL_cleanse(t, sizeof(*t));
}

/* ---- token checks, for every backend ---- */

int
ct_tokens_hex_valid(const char *s, size_t max)
{
	size_t len = strnlen(s, max), i;

	if (len == max || len % 2 != 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

const char *
ct_token_problem(const struct ct_token *t)
{
	int otp = t->type == CT_TOKEN_HOTP || t->type == CT_TOKEN_TOTP;
	int min_period = t->type == CT_TOKEN_TOTP ? 1 : 0;

	if (!ct_tokens_word_valid(t->serial, CT_SERIAL_MAX, 0))
		return "bad serial";
	if (t->type != CT_TOKEN_HOTP && t->type != CT_TOKEN_TOTP && t->type != CT_TOKEN_CERT)
		return "bad type";
	if ((unsigned)t->algo > CT_OTP_SHA512)
		return "bad algo";
	if (t->active != 0 && t->active != 1)
		return "active must be 0 or 1";
	if (otp ? t->digits < 6 || t->digits > 8 : t->digits < 0 || t->digits > 8)
		return "digits out of range";
	if (t->period < min_period || t->period > CT_PERIOD_MAX)
		return "period out of range";
	if (otp ? t->secret_len == 0 || t->secret_len > CT_OTP_SECRET_MAX : t->secret_len != 0)
		return otp ? "an OTP token needs a secret of 1-64 bytes"
		           : "a certificate token has no secret";
	if (t->last_step < -1 || t->failcount < 0 || t->lock_until < 0 || t->created < 0)
		return "negative counter or time";
	if (!ct_tokens_word_valid(t->rollout_state, CT_ROLLOUT_MAX, 1))
		return "bad rollout state";
	if (memchr(t->description, '\0', CT_DESC_MAX) == NULL)
		return "description too long";
	if (!ct_tokens_word_valid(t->target, CT_TARGET_MAX, 1))
		return "bad target";
	if (!ct_tokens_hex_valid(t->cert_serial, CT_CERT_SERIAL_MAX))
		return "bad certificate serial";
	if (t->not_after < 0 || t->not_before < 0)
		return "negative notAfter or notBefore";
	if (memchr(t->issuer, '\0', CT_ISSUER_MAX) == NULL)
		return "issuer too long";
	if (otp &&
	    (t->target[0] != '\0' || t->cert_serial[0] != '\0' || t->not_after != 0 ||
	        t->not_before != 0 || t->issuer[0] != '\0'))
		return "an OTP token has no certificate";
	return NULL;
}

const char *
ct_source_problem(const struct ct_source *s)
{
	size_t i;

	if (strnlen(s->id, sizeof(s->id)) != CT_SOURCE_ID_LEN)
		return "bad source id";
	for (i = 0; i < CT_SOURCE_ID_LEN; i++)
		if (!((s->id[i] >= '0' && s->id[i] <= '9') || (s->id[i] >= 'a' && s->id[i] <= 'f')))
			return "bad source id";
	if (s->failcount < 0 || s->until < 0 || s->last < 0 || (s->known != 0 && s->known != 1))
		return "bad source state";
	return NULL;
}

/* CT_EINVAL unless the sources of IN are storable (ct_tokens_check). */
static int
check_sources(const struct ct_user_tokens *in, struct ct_err *err)
{
	const char *why;
	size_t i, j, known = 0;

	if (in->n_src > CT_SOURCES_MAX)
		return ct_err_set(
		    err, CT_EINVAL, "%zu sources, at most %d per user", in->n_src, CT_SOURCES_MAX);
	for (i = 0; i < in->n_src; i++) {
		if ((why = ct_source_problem(&in->src[i])) != NULL)
			return ct_err_set(err, CT_EINVAL, "source %zu: %s", i + 1, why);
		known += (size_t)in->src[i].known;
		for (j = 0; j < i; j++)
			if (strcmp(in->src[i].id, in->src[j].id) == 0)
				return ct_err_set(
				    err, CT_EINVAL, "duplicate source %s", in->src[i].id);
	}
	if (known > CT_SOURCES_KNOWN_MAX)
		return ct_err_set(
		    err, CT_EINVAL, "%zu known sources, at most %d", known, CT_SOURCES_KNOWN_MAX);
	return CT_OK;
}

int
ct_tokens_check(const struct ct_user_tokens *in, struct ct_err *err)
{
	const char *why;
	size_t i, j;

	if (in->n > CT_TOKENS_MAX)
		return ct_err_set(
		    err, CT_EINVAL, "%zu tokens, at most %d per user", in->n, CT_TOKENS_MAX);
	for (i = 0; i < in->n; i++) {
		if ((why = ct_token_problem(&in->tok[i])) != NULL)
			return ct_err_set(err, CT_EINVAL, "token %zu: %s", i + 1, why);
		for (j = 0; j < i; j++)
			if (strcmp(in->tok[i].serial, in->tok[j].serial) == 0)
				return ct_err_set(
				    err, CT_EINVAL, "duplicate serial %s", in->tok[i].serial);
	}
	return check_sources(in, err);
}

/* ---- operations, through the store's backend ---- */

/* CT_EINVAL unless ST was opened for token state and USER is a valid name. */
static int
usable(const struct ct_store *st, const char *user, struct ct_err *err)
{
	if (!(st->flags & CT_STORE_TOKENS))
		return ct_err_set(err, CT_EINVAL, "the store was not opened for token state");
	/* the name may come from a login prompt: do not echo it */
	if (!ct_tokens_user_valid(user))
		return ct_err_set(err, CT_EINVAL, "invalid user name for the token store");
	return CT_OK;
}

int
ct_tokens_begin(
    struct ct_store *st, const char *user, struct ct_tokens_tx **out, struct ct_err *err)
{
	return ct_tokens_begin_until(st, user, 0, out, err);
}

int
ct_tokens_begin_until(struct ct_store *st, const char *user, int64_t deadline_ms,
    struct ct_tokens_tx **out, struct ct_err *err)
{
	int rc;

	if ((rc = usable(st, user, err)) != CT_OK)
		return rc;
	return st->ops->tx_begin(st, user, deadline_ms, out, err);
}

int
ct_tokens_read(struct ct_tokens_tx *tx, struct ct_user_tokens *out, struct ct_err *err)
{
	return tx->st->ops->tx_read(tx, out, err);
}

int
ct_tokens_write(struct ct_tokens_tx *tx, const struct ct_user_tokens *in, struct ct_err *err)
{
	int rc;

	if ((rc = ct_tokens_check(in, err)) != CT_OK)
		return rc;
	return tx->st->ops->tx_write(tx, in, err);
}

void
ct_tokens_end(struct ct_tokens_tx *tx)
{
	if (tx != NULL)
		tx->st->ops->tx_end(tx);
}

int
ct_tokens_peek(
    struct ct_store *st, const char *user, struct ct_user_tokens *out, struct ct_err *err)
{
	int rc;

	if ((rc = usable(st, user, err)) != CT_OK)
		return rc;
	return st->ops->tokens_peek(st, user, out, err);
}

int
ct_tokens_exists(struct ct_store *st, const char *user)
{
	return ct_tokens_exists_until(st, user, 0);
}

int
ct_tokens_exists_until(struct ct_store *st, const char *user, int64_t deadline_ms)
{
	if (!(st->flags & CT_STORE_TOKENS))
		return 1; /* cannot tell: never "certainly not" */
	if (!ct_tokens_user_valid(user))
		return 0;
	return st->ops->tokens_exists(st, user, deadline_ms);
}

int
ct_tokens_foreach_user(
    struct ct_store *st, int (*fn)(void *ctx, const char *user), void *ctx, struct ct_err *err)
{
	if (!(st->flags & CT_STORE_TOKENS))
		return ct_err_set(err, CT_EINVAL, "the store was not opened for token state");
	return st->ops->tokens_foreach_user(st, fn, ctx, err);
}
