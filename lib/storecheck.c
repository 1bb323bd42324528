/* One store's consistency, through the generic store operations only
 * (storecopy.h, ct_store_check): each inconsistency is one reported line. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "certindex.h"
#include "requests.h"
#include "store_backend.h"
#include "storecopy.h"
#include "tokens.h"
#include "util.h"

struct check {
	struct ct_store *st;
	time_t now;
	long request_age;
	struct ct_store_report rep; /* the caller's function, and the count */
	struct ct_err *err;
	struct ct_revocation *revoked;
	size_t n_revoked;
};

#define say(c, ...) ct_store_report_say(&(c)->rep, __VA_ARGS__)

/* USER's tokens (none when the user has none or the store no token state). */
static int
peek(struct check *c, const char *user, struct ct_user_tokens *u)
{
	int rc;

	memset(u, 0, sizeof(*u));
	if (!(c->st->flags & CT_STORE_TOKENS) || !ct_tokens_user_valid(user))
		return CT_OK;
	if ((rc = ct_tokens_peek(c->st, user, u, c->err)) == CT_ENOENT) {
		ct_err_clear(c->err);
		rc = CT_OK;
	}
	return rc;
}

/* ct_certindex_foreach: does E's user hold E's token, with E's serial,
 * while E still matters (neither expired nor revoked)? */
static int
check_entry(void *ctx, const struct ct_cert_entry *e)
{
	struct check *c = ctx;
	struct ct_user_tokens u;
	size_t i;
	int rc;

	if (strcmp(e->token, "-") == 0 || X509_cmp_time(X509_get0_notAfter(e->cert), &c->now) < 0 ||
	    ct_revoked_find(c->revoked, c->n_revoked, e->serial) != NULL)
		return 0;
	if ((rc = peek(c, e->user, &u)) != CT_OK)
		return rc;
	for (i = 0; i < u.n; i++)
		if (strcmp(u.tok[i].serial, e->token) == 0)
			break;
	if (i == u.n)
		say(c,
		    "certificate %s: its token %s is not among the tokens of user %s (the "
		    "certificate is valid and not revoked)",
		    e->serial, e->token, e->user);
	else if (u.tok[i].type != CT_TOKEN_CERT || strcmp(u.tok[i].cert_serial, e->serial) != 0)
		say(c, "certificate %s: token %s of user %s is not the token of this certificate",
		    e->serial, e->token, e->user);
	ct_user_tokens_clear(&u);
	return 0;
}

/* Certificate token T of USER: in the index (issued here), or with its
 * uploaded certificate; a pending one with its request. */
static int
check_cert_token(struct check *c, const char *user, const struct ct_token *t)
{
	struct ct_cert_entry e;
	struct ct_request r;
	unsigned char *pem = NULL;
	size_t len = 0;
	int rc = CT_OK;

	if (strcmp(t->rollout_state, "pending") == 0) {
		if ((rc = ct_request_load(c->st, t->serial, &r, c->err)) == CT_ENOENT)
			say(c, "user %s: token %s is pending, but has no pending request", user,
			    t->serial);
		ct_request_clear(&r);
	} else if (t->cert_serial[0] != '\0' && t->target[0] != '\0') {
		if ((rc = ct_certindex_get(c->st, t->cert_serial, &e, c->err)) == CT_ENOENT)
			say(c, "user %s: token %s: its certificate %s is not in the index", user,
			    t->serial, t->cert_serial);
		ct_cert_entry_clear(&e);
	} else if (t->cert_serial[0] != '\0') {
		if ((rc = ct_upload_load(c->st, t->serial, &pem, &len, c->err)) == CT_ENOENT)
			say(c, "user %s: token %s: its uploaded certificate %s is missing", user,
			    t->serial, t->cert_serial);
		free(pem);
	}
	if (rc == CT_ENOENT) {
		ct_err_clear(c->err);
		rc = CT_OK;
	}
	return rc;
}

static int
check_users(struct check *c)
{
	struct ct_user_tokens u;
	char **users = NULL;
	size_t n = 0, i, k;
	int rc;

	if ((rc = ct_store_users(c->st, &users, &n, c->err)) != CT_OK)
		return rc;
	for (i = 0; rc == CT_OK && i < n; i++) {
		if ((rc = peek(c, users[i], &u)) != CT_OK)
			ct_err_prefix(c->err, "user %s: ", users[i]);
		for (k = 0; rc == CT_OK && k < u.n; k++)
			if (u.tok[k].type == CT_TOKEN_CERT)
				rc = check_cert_token(c, users[i], &u.tok[k]);
		ct_user_tokens_clear(&u);
	}
	ct_store_users_free(users, n);
	return rc;
}

/* ct_request_foreach: R has its pending token, and is not too old. */
static int
check_request(void *ctx, const struct ct_request *r)
{
	struct check *c = ctx;
	struct ct_user_tokens u;
	char when[32];
	size_t i;
	int rc;

	if (c->request_age > 0 && r->created + c->request_age < (int64_t)c->now)
		say(c, "pending request %s of user %s: waiting since %s, longer than %ld s",
		    r->token, r->user,
		    ct_time_utc((time_t)r->created, CT_TIME_ISO, when, sizeof(when)),
		    c->request_age);
	if (!(c->st->flags & CT_STORE_TOKENS))
		return 0;
	if ((rc = peek(c, r->user, &u)) != CT_OK)
		return rc;
	for (i = 0; i < u.n && strcmp(u.tok[i].serial, r->token) != 0; i++)
		;
	if (i == u.n || strcmp(u.tok[i].rollout_state, "pending") != 0)
		say(c, "pending request %s: user %s has no pending token %s", r->token, r->user,
		    r->token);
	ct_user_tokens_clear(&u);
	return 0;
}

/* Every revocation names a serial of the index. */
static int
check_revocations(struct check *c)
{
	struct ct_cert_entry e;
	size_t i;
	int rc = CT_OK;

	for (i = 0; rc == CT_OK && i < c->n_revoked; i++) {
		if ((rc = ct_certindex_get(c->st, c->revoked[i].serial, &e, c->err)) == CT_ENOENT) {
			say(c,
			    "revocation of %s (access group %s): no such certificate in the index",
			    c->revoked[i].serial, c->revoked[i].group);
			ct_err_clear(c->err);
			rc = CT_OK;
		}
		ct_cert_entry_clear(&e);
	}
	return rc;
}

int
ct_store_check(struct ct_store *st, time_t now, long request_age, ct_store_report_fn report,
    void *ctx, struct ct_err *err)
{
	struct check c = {st, now, request_age, {report, ctx, 0}, err, NULL, 0};
	int rc;

	if ((rc = ct_revoked_read(st, &c.revoked, &c.n_revoked, err)) == CT_OK &&
	    (rc = ct_certindex_foreach(st, check_entry, &c, err)) == CT_OK &&
	    (rc = check_users(&c)) == CT_OK &&
	    (rc = ct_request_foreach(st, check_request, &c, err)) == CT_OK)
		rc = check_revocations(&c);
	free(c.revoked);
	return rc == CT_OK ? c.rep.count : rc;
}
