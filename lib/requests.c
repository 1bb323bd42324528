/* Pending certificate requests and uploaded certificates, backend-neutral:
 * the checks, and the operations, which call the store's backend. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "requests.h"
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
