#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "otp.h"
#include "store.h"

static int
is_otp(const struct ct_token *t)
{
	return t->type == CT_TOKEN_HOTP || t->type == CT_TOKEN_TOTP;
}

/* Is B a twin of A: another OTP token of the user that makes the same codes
 * (same type, secret, algorithm and, for TOTP, period; the digits may
 * differ, since a shorter code is the tail of the longer one)?  A code used
 * on one twin must not be accepted on the other. */
static int
is_twin(const struct ct_token *a, const struct ct_token *b)
{
	return a != b && is_otp(b) && a->type == b->type && a->algo == b->algo &&
	    (a->type == CT_TOKEN_HOTP || a->period == b->period) &&
	    a->secret_len == b->secret_len &&
	    CRYPTO_memcmp(a->secret, b->secret, a->secret_len) == 0;
}

/* The replay floor of T in U: the next HOTP counter and the last TOTP step
 * of T and every twin, so that a code is used once per user. */
static void
replay_floor(
    const struct ct_user_tokens *u, const struct ct_token *t, uint64_t *next, int64_t *last)
{
	size_t i;

	*next = t->counter;
	*last = t->last_step;
	for (i = 0; i < u->n; i++) {
		if (!is_twin(t, &u->tok[i]))
			continue;
		if (u->tok[i].counter > *next)
			*next = u->tok[i].counter;
		if (u->tok[i].last_step > *last)
			*last = u->tok[i].last_step;
	}
}

/* Try CODE against token T of U; on a match move it past the code.  CT_EPERM:
 * no match; any other error (a token the engine cannot use) is CT_EIO, so it
 * is never counted as a wrong code. */
static int
try_token(const struct ct_user_tokens *u, struct ct_token *t, const struct ct_otp_conf *conf,
    const char *code, time_t now)
{
	uint64_t next, counter;
	int64_t last, step;
	int rc;

	replay_floor(u, t, &next, &last);
	if (t->type == CT_TOKEN_HOTP) {
		rc = ct_hotp_verify(t->algo, t->secret, t->secret_len, t->digits, next,
		    conf->hotp_lookahead, code, &counter);
		if (rc == CT_OK)
			t->counter = counter + 1;
	} else {
		rc = ct_totp_verify(t->algo, t->secret, t->secret_len, t->digits, t->period, now,
		    conf->window, last, code, &step);
		if (rc == CT_OK)
			t->last_step = step;
	}
	return rc == CT_OK || rc == CT_EPERM ? rc : CT_EIO;
}

/* The same computation as one HOTP and one TOTP token, over a dummy secret:
 * what a name without tokens costs, so that the time does not tell. */
static void
dummy_verify(const struct ct_otp_conf *conf, const char *code, time_t now)
{
	static const unsigned char key[20] = {0};
	uint64_t counter;
	int64_t step;

	(void)ct_hotp_verify(
	    CT_OTP_SHA1, key, sizeof(key), conf->digits, 0, conf->hotp_lookahead, code, &counter);
	(void)ct_totp_verify(CT_OTP_SHA1, key, sizeof(key), conf->digits,
	    conf->period > 0 ? conf->period : 30, now, conf->window, -1, code, &step);
}

int64_t
ct_auth_throttle_delay(const struct ct_otp_conf *conf, int failures)
{
	int64_t d = conf->throttle_base;
	int i;

	if (conf->throttle_max <= 0 || d <= 0 || failures < conf->throttle_after)
		return 0;
	for (i = conf->throttle_after; i < failures && d < conf->throttle_max; i++)
		d *= 2;
	return d < conf->throttle_max ? d : conf->throttle_max;
}

/* The user's throttle state over the active OTP tokens of U: the most
 * failures and the latest throttle end.  CT_ENOENT without an OTP token,
 * CT_EPERM (res->disabled) when every one is disabled; RES gets the first
 * active token. */
static int
user_state(const struct ct_user_tokens *u, struct ct_auth_result *res)
{
	const struct ct_token *t, *first = NULL;
	int have = 0, fails = 0;
	int64_t until = 0;
	size_t i;

	for (i = 0; i < u->n; i++) {
		t = &u->tok[i];
		have |= is_otp(t);
		if (!is_otp(t) || !t->active)
			continue;
		if (first == NULL)
			first = t;
		fails = t->failcount > fails ? t->failcount : fails;
		until = t->lock_until > until ? t->lock_until : until;
	}
	if (!have)
		return CT_ENOENT;
	if (first == NULL) {
		res->disabled = 1;
		return CT_EPERM;
	}
	memcpy(res->serial, first->serial, sizeof(res->serial));
	res->failcount = fails;
	res->lock_until = until;
	return CT_OK;
}

/* Set the user's new failure count and throttle on every active OTP token
 * of U (HIT: a success, which clears them); report the deciding token. */
static void
update_state(struct ct_user_tokens *u, const struct ct_otp_conf *conf, const struct ct_token *hit,
    time_t now, struct ct_auth_result *res)
{
	int fails = hit != NULL ? 0 : res->failcount < INT_MAX ? res->failcount + 1 : INT_MAX;
	int64_t delay = ct_auth_throttle_delay(conf, fails);
	size_t i;

	for (i = 0; i < u->n; i++) {
		/* a success clears the count of disabled tokens too */
		if (!is_otp(&u->tok[i]) || (!u->tok[i].active && hit == NULL))
			continue;
		u->tok[i].failcount = fails;
		u->tok[i].lock_until = delay > 0 ? (int64_t)now + delay : 0;
	}
	if (hit != NULL)
		memcpy(res->serial, hit->serial, sizeof(res->serial));
	res->failcount = fails;
	res->lock_until = delay > 0 ? (int64_t)now + delay : 0;
}

/* The id of SOURCE (tokens.h: the first hex digits of its SHA-256). */
static int
source_id(const char *source, char id[CT_SOURCE_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	size_t i;

	if (source == NULL || source[0] == '\0')
		source = "unknown";
	if (!EVP_Digest(source, strlen(source), md, &len, EVP_sha256(), NULL))
		return CT_EIO;
	for (i = 0; i < CT_SOURCE_ID_LEN / 2; i++) {
		id[2 * i] = hex[md[i] >> 4];
		id[2 * i + 1] = hex[md[i] & 15];
	}
	id[CT_SOURCE_ID_LEN] = '\0';
	return CT_OK;
}

/* The source of U with ID, added when new: a full table gives up its
 * unknown source whose last attempt is oldest (at most CT_SOURCES_KNOWN_MAX
 * are known, so there is always one). */
static struct ct_source *
source_get(struct ct_user_tokens *u, const char *id)
{
	struct ct_source *s = NULL;
	size_t i;

	for (i = 0; i < u->n_src; i++)
		if (strcmp(u->src[i].id, id) == 0)
			return &u->src[i];
	if (u->n_src < CT_SOURCES_MAX)
		s = &u->src[u->n_src++];
	else
		for (i = 0; i < u->n_src; i++)
			if (!u->src[i].known && (s == NULL || u->src[i].last < s->last))
				s = &u->src[i];
	memset(s, 0, sizeof(*s));
	memcpy(s->id, id, sizeof(s->id));
	return s;
}

/* Make S known (a code was accepted from it); when that makes one too
 * many, the known source of U whose last attempt is oldest is forgotten. */
static void
source_make_known(struct ct_user_tokens *u, struct ct_source *s)
{
	size_t i, known = 0, oldest = CT_SOURCES_MAX;

	s->known = 1;
	for (i = 0; i < u->n_src; i++) {
		if (!u->src[i].known)
			continue;
		known++;
		if (&u->src[i] != s &&
		    (oldest == CT_SOURCES_MAX || u->src[i].last < u->src[oldest].last))
			oldest = i;
	}
	if (known > CT_SOURCES_KNOWN_MAX && oldest < CT_SOURCES_MAX) {
		u->src[oldest] = u->src[u->n_src - 1];
		memset(&u->src[--u->n_src], 0, sizeof(u->src[0]));
	}
}

/* Count the attempt from S (HIT: accepted) in S's own failure count and
 * throttle. */
static void
source_update(struct ct_user_tokens *u, struct ct_source *s, const struct ct_otp_conf *conf,
    int hit, time_t now)
{
	int64_t delay;

	s->last = (int64_t)now;
	if (hit) {
		s->failcount = 0;
		s->until = 0;
		source_make_known(u, s);
		return;
	}
	s->failcount = s->failcount < INT_MAX ? s->failcount + 1 : INT_MAX;
	delay = ct_auth_throttle_delay(conf, s->failcount);
	s->until = delay > 0 ? (int64_t)now + delay : 0;
}

/* Verify CODE from source SRC (an id) against the active tokens of U,
 * updating their state and the source's.  Inside the source's throttle
 * interval, or the user's unless the source is known, nothing is tried or
 * counted. */
static int
verify_tokens(struct ct_user_tokens *u, const struct ct_otp_conf *conf, const char *code,
    const char *src, time_t now, struct ct_auth_result *res)
{
	struct ct_token *t, *hit = NULL;
	struct ct_source *s;
	size_t i;
	int rc;

	if ((rc = user_state(u, res)) != CT_OK)
		return rc;
	s = source_get(u, src);
	if ((int64_t)now < s->until || (!s->known && (int64_t)now < res->lock_until)) {
		res->throttled = 1;
		dummy_verify(conf, code, now);
		return CT_EPERM;
	}
	for (i = 0; i < u->n && hit == NULL; i++) {
		t = &u->tok[i];
		if (!is_otp(t) || !t->active)
			continue;
		if ((rc = try_token(u, t, conf, code, now)) == CT_OK)
			hit = t;
		else if (rc != CT_EPERM)
			return rc;
	}
	update_state(u, conf, hit, now, res);
	source_update(u, s, conf, hit != NULL, now);
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
	const char *src; /* the source's id */
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
	o->verdict = verify_tokens(u, o->conf, o->code, o->src, o->now, o->res);
	/* the new state must be stored before we answer: otherwise the same
	 * code could be replayed, or failures forgotten */
	if (o->verdict == CT_OK ||
	    (o->verdict == CT_EPERM && !o->res->disabled && !o->res->throttled))
		return CT_OK;
	return CT_STORE_KEEP;
}

/* Wait until MS milliseconds after START (monotonic clock). */
static void
answer_no_sooner(const struct timespec *start, int ms)
{
	struct timespec at = *start;

	if (ms <= 0)
		return;
	at.tv_sec += ms / 1000;
	at.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
}

int
ct_auth_otp(struct ct_store *st, const struct ct_otp_conf *conf, const char *user, const char *code,
    const char *source, time_t now, struct ct_auth_result *res, struct ct_err *err)
{
	char id[CT_SOURCE_ID_LEN + 1];
	struct otp_try o = {conf, code, id, now, res, CT_EIO};
	struct timespec start;
	int64_t deadline;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	memset(res, 0, sizeof(*res));
	if (source_id(source, id) != CT_OK)
		return ct_err_set(err, CT_EIO, "cannot compute the id of the attempt's source");
	/* one deadline for the whole attempt (exists, the update, its retries):
	 * a slow store fails closed within its timeout, not a multiple of it */
	deadline = ct_store_op_deadline(st);
	/* no lock file for names without tokens: login prompts take any name;
	 * the same computation is done, and the refusal padded, so that the
	 * time taken does not say who has tokens */
	if (!ct_tokens_exists_until(st, user, deadline)) {
		dummy_verify(conf, code, now);
		rc = CT_ENOENT;
	} else if ((rc = ct_store_update_until(st, user, deadline, otp_verify, &o, err)) != CT_OK)
		rc = store_error(rc);
	else
		rc = o.verdict;
	if (rc != CT_OK)
		answer_no_sooner(&start, conf->refusal_ms);
	return rc;
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
	else if ((rc = user_state(&u, res)) == CT_OK)
		res->throttled = (int64_t)now < res->lock_until;
	ct_user_tokens_clear(&u);
	return rc;
}
