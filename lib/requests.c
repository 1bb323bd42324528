/* Pending certificate requests and uploaded certificates, backend-neutral:
 * the checks, and the operations, which call the store's backend. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "requests.h"
#include "store.h"
#include "store_backend.h"

/* Is S of 1 to MAX-1 bytes, all ASCII letters, digits or bytes of PUNCT? */
static int
word_of(const char *s, size_t max, const char *punct)
{
	size_t n = strnlen(s, max);

	if (n == 0 || n == max)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		        (*s >= '0' && *s <= '9') || strchr(punct, *s) != NULL))
			return 0;
	return 1;
}

int
ct_request_token_valid(const char *s)
{
	return s[0] != '.' && word_of(s, CT_SERIAL_MAX, "._-");
}

int
ct_request_ref_valid(const char *s)
{
	return word_of(s, CT_REF_MAX, "._:/+=-");
}

void
ct_request_clear(struct ct_request *r)
{
	free(r->csr);
	memset(r, 0, sizeof(*r));
}

int
ct_request_save(struct ct_store *st, const struct ct_request *r, struct ct_err *err)
{
	if (!ct_request_token_valid(r->token) || !ct_tokens_user_valid(r->user) ||
	    r->target[0] == '\0' || !ct_request_ref_valid(r->ref) || r->csr_len == 0 ||
	    r->csr_len > CT_REQUEST_CSR_MAX)
		return ct_err_set(err, CT_EINVAL, "pending request: bad token, user or CSR");
	return st->ops->request_save(st, r, err);
}

int
ct_request_load(struct ct_store *st, const char *token, struct ct_request *r, struct ct_err *err)
{
	memset(r, 0, sizeof(*r));
	if (!ct_request_token_valid(token))
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	return st->ops->request_load(st, token, r, err);
}

int
ct_request_remove(struct ct_store *st, const char *token, struct ct_err *err)
{
	if (!ct_request_token_valid(token))
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	return st->ops->request_remove(st, token, err);
}

struct poll {
	struct ct_store *st;
	const char *token;
	int interval;
	int64_t now, next;
};

/* Inside the user's transaction (ct_store_update): is the token still
 * pending, and may its CA be asked now?  Only the request's polled time is
 * written; the token state is kept (CT_STORE_KEEP), so there is no write
 * that could conflict and make this run again. */
static int
poll_op(void *ctx, const char *user, struct ct_user_tokens *ut, struct ct_err *err)
{
	struct poll *p = ctx;
	struct ct_request r;
	size_t i;
	int rc;

	(void)user;
	for (i = 0; i < ut->n && strcmp(ut->tok[i].serial, p->token) != 0; i++)
		;
	if (i == ut->n || strcmp(ut->tok[i].rollout_state, "pending") != 0)
		return ct_err_set(err, CT_EEXIST, "token %s is no longer pending", p->token);
	if ((rc = ct_request_load(p->st, p->token, &r, err)) != CT_OK)
		return rc;
	if (r.polled > 0 && r.polled <= p->now && p->now - r.polled < p->interval) {
		p->next = r.polled + p->interval;
		rc = ct_err_set(err, CT_EPENDING, "token %s: the CA was asked less than %d s ago",
		    p->token, p->interval);
	} else
		rc = p->st->ops->request_polled(p->st, p->token, p->now, err);
	ct_request_clear(&r);
	return rc == CT_OK ? CT_STORE_KEEP : rc;
}

int
ct_request_poll(struct ct_store *st, const char *user, const char *token, int interval, int64_t now,
    int64_t deadline_ms, int64_t *next, struct ct_err *err)
{
	struct poll p = {st, token, interval, now, 0};
	int rc;

	if (!ct_request_token_valid(token))
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	if ((rc = ct_store_update_until(st, user, deadline_ms, poll_op, &p, err)) == CT_EPENDING)
		*next = p.next;
	return rc;
}

int
ct_request_foreach(struct ct_store *st, int (*fn)(void *ctx, const struct ct_request *r), void *ctx,
    struct ct_err *err)
{
	return st->ops->request_foreach(st, fn, ctx, err);
}

int
ct_upload_save(struct ct_store *st, const char *token, const unsigned char *der, size_t len,
    struct ct_err *err)
{
	if (!ct_request_token_valid(token))
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	return st->ops->upload_save(st, token, der, len, err);
}

int
ct_upload_load(
    struct ct_store *st, const char *token, unsigned char **pem, size_t *len, struct ct_err *err)
{
	if (!ct_request_token_valid(token))
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	return st->ops->upload_load(st, token, pem, len, err);
}

void
ct_upload_remove(struct ct_store *st, const char *token)
{
	if (ct_request_token_valid(token))
		st->ops->upload_remove(st, token);
}
