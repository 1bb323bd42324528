/* A whole store copied into another, through the generic store operations
 * only (storecopy.h).  The comparison is in storecompare.c. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "cadir.h"
#include "certindex.h"
#include "crl.h"
#include "requests.h"
#include "store_backend.h"
#include "storecopy.h"
#include "tokens.h"

/* ---- the users of a store ---- */

struct names {
	char **v;
	size_t n, cap;
};

void
ct_store_users_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ct_tokens_foreach_user: add USER to the list CTX. */
static int
add_name(void *ctx, const char *user)
{
	struct names *l = ctx;
	char **v;

	if (l->n == l->cap) {
		if ((v = realloc(l->v, (l->cap ? 2 * l->cap : 64) * sizeof(*v))) == NULL)
			return CT_ENOMEM;
		l->v = v;
		l->cap = l->cap ? 2 * l->cap : 64;
	}
	if ((l->v[l->n] = strdup(user)) == NULL)
		return CT_ENOMEM;
	l->n++;
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ct_store_users(struct ct_store *st, char ***users, size_t *n, struct ct_err *err)
{
	struct names l = {NULL, 0, 0};
	int rc = CT_OK;

	*users = NULL;
	*n = 0;
	if (st->flags & CT_STORE_TOKENS)
		rc = ct_tokens_foreach_user(st, add_name, &l, err);
	if (rc != CT_OK) {
		ct_store_users_free(l.v, l.n);
		return rc == CT_ENOMEM ? ct_err_set(err, rc, "out of memory") : rc;
	}
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), cmp_name);
	*users = l.v;
	*n = l.n;
	return CT_OK;
}

/* ---- tokens and uploads ---- */

/* Copy the uploaded certificate of TOKEN, if SRC has one and DST has not. */
static int
copy_upload(struct ct_store *src, struct ct_store *dst, const char *token,
    struct ct_storecopy_stats *n, struct ct_err *err)
{
	unsigned char *pem = NULL, *der = NULL;
	char *name = NULL, *header = NULL;
	size_t len = 0;
	long der_len = 0;
	BIO *b = NULL;
	int rc;

	if ((rc = ct_upload_load(src, token, &pem, &len, err)) == CT_ENOENT) {
		ct_err_clear(err);
		return CT_OK;
	}
	if (rc != CT_OK)
		return rc;
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    PEM_read_bio(b, &name, &header, &der, &der_len) != 1)
		rc = ct_err_set(err, CT_EIO, "the upload of token %s is not PEM", token);
	else if ((rc = ct_upload_save(dst, token, der, (size_t)der_len, err)) == CT_OK)
		n->uploads++;
	else if (rc == CT_EEXIST) {
		ct_err_clear(err);
		rc = CT_OK;
	}
	BIO_free(b);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	free(pem);
	return rc;
}

struct put {
	const struct ct_user_tokens *from;
	int wrote;
};

/* Inside the destination user's transaction: take the source's tokens
 * unless the user has some already. */
static int
put_tokens(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	struct put *p = ctx;

	(void)user;
	(void)err;
	p->wrote = 0;
	if (u->n != 0)
		return CT_STORE_KEEP;
	*u = *p->from;
	p->wrote = 1;
	return CT_OK;
}

/* Copy USER's tokens, holding the source user's state meanwhile, then the
 * uploads of the user's certificate tokens. */
static int
copy_user(struct ct_store *src, struct ct_store *dst, const char *user,
    struct ct_storecopy_stats *n, struct ct_err *err)
{
	struct ct_tokens_tx *tx = NULL;
	struct ct_user_tokens u;
	struct put p = {&u, 0};
	size_t i;
	int rc;

	memset(&u, 0, sizeof(u));
	if ((rc = ct_tokens_begin(src, user, &tx, err)) == CT_OK &&
	    (rc = ct_tokens_read(tx, &u, err)) == CT_OK &&
	    (rc = ct_store_update(dst, user, put_tokens, &p, err)) == CT_OK && p.wrote)
		n->users++;
	ct_tokens_end(tx);
	if (rc == CT_ENOENT) { /* gone meanwhile */
		ct_err_clear(err);
		rc = CT_OK;
	}
	for (i = 0; rc == CT_OK && i < u.n; i++)
		if (u.tok[i].type == CT_TOKEN_CERT)
			rc = copy_upload(src, dst, u.tok[i].serial, n, err);
	if (rc != CT_OK)
		ct_err_prefix(err, "tokens of user %s: ", user);
	ct_user_tokens_clear(&u);
	return rc;
}

static int
copy_users(
    struct ct_store *src, struct ct_store *dst, struct ct_storecopy_stats *n, struct ct_err *err)
{
	char **users = NULL;
	size_t count = 0, i;
	int rc;

	if ((rc = ct_store_users(src, &users, &count, err)) != CT_OK)
		return rc;
	for (i = 0; rc == CT_OK && i < count; i++)
		rc = copy_user(src, dst, users[i], n, err);
	ct_store_users_free(users, count);
	return rc;
}

/* ---- the index, revocations and requests ---- */

struct copy {
	struct ct_store *src, *dst;
	const struct ct_config *cfg;
	struct ct_storecopy_stats *n;
	struct ct_err *err;
};

const char *
ct_storecopy_entry_group(const struct ct_config *cfg, const struct ct_cert_entry *e)
{
	const struct ct_target *t;

	if (e->group[0] != '\0')
		return e->group;
	t = ct_config_target(cfg, e->target);
	return t != NULL ? t->group->name : NULL;
}

/* ct_certindex_foreach on the source: add E to the destination. */
static int
copy_entry(void *ctx, const struct ct_cert_entry *e)
{
	struct copy *c = ctx;
	const char *group = ct_storecopy_entry_group(c->cfg, e);
	unsigned char *der = NULL;
	int len, rc;

	if (group == NULL)
		return ct_err_set(c->err, CT_ECONFIG,
		    "certificate %s: no access group recorded and its target %s is not configured",
		    e->serial, e->target);
	if ((len = i2d_X509(e->cert, &der)) <= 0)
		return ct_err_set(c->err, CT_ECRYPTO, "certificate %s: cannot encode", e->serial);
	rc = ct_certindex_add(
	    c->dst, e->serial, e->user, e->target, group, e->token, der, (size_t)len, c->err);
	OPENSSL_free(der);
	if (rc == CT_OK)
		c->n->certs++;
	else if (rc == CT_EEXIST) {
		ct_err_clear(c->err);
		rc = CT_OK;
	}
	return rc;
}

/* ct_request_foreach on the source: save R in the destination. */
static int
copy_request(void *ctx, const struct ct_request *r)
{
	struct copy *c = ctx;
	int rc = ct_request_save(c->dst, r, c->err);

	if (rc == CT_OK)
		c->n->requests++;
	else if (rc == CT_EEXIST) {
		ct_err_clear(c->err);
		rc = CT_OK;
	}
	return rc;
}

static int
copy_revocations(struct copy *c)
{
	struct ct_revocation *list = NULL;
	size_t count = 0, i;
	int rc;

	if ((rc = ct_revoked_read(c->src, &list, &count, c->err)) != CT_OK)
		return rc;
	for (i = 0; rc == CT_OK && i < count; i++) {
		rc = ct_revoke(c->dst, list[i].serial, list[i].group, list[i].reason,
		    (time_t)list[i].when, c->err);
		if (rc == CT_OK)
			c->n->revocations++;
		else if (rc == CT_EEXIST) {
			ct_err_clear(c->err);
			rc = CT_OK;
		}
	}
	free(list);
	return rc;
}

/* ---- CA material and CRLs ---- */

/* ct_cadir_run: every item of S into the content CTX (a key only where it
 * is kept). */
static int
read_items(const struct ct_cadir *s, void *ctx, struct ct_err *err)
{
	struct ct_ca_content *c = ctx;
	int i, rc;

	for (i = 0; i < CT_CA_ITEMS; i++) {
		if (!ct_cadir_has(s, (enum ct_ca_item)i))
			continue;
		rc = ct_cadir_read(s, (enum ct_ca_item)i, &c->item[i].data, &c->item[i].len, err);
		if (rc == CT_EPERM && ct_ca_item_is_key((enum ct_ca_item)i)) {
			ct_err_clear(err);
			continue;
		}
		if (rc != CT_OK)
			return rc;
	}
	return CT_OK;
}

static void
reset_items(void *ctx)
{
	ct_ca_content_clear(ctx);
}

int
ct_storecopy_ca_read(
    struct ct_store *st, const char *group, struct ct_ca_content *c, struct ct_err *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = ct_cadir_run(st, group, read_items, reset_items, c, err)) != CT_OK)
		ct_ca_content_clear(c);
	return rc;
}

/* Publish GROUP's CRL in the destination unless it has that one. */
static int
copy_crl(struct copy *c, const char *group)
{
	unsigned char *crl = NULL, *had = NULL;
	size_t len = 0, had_len = 0;
	int rc;

	if ((rc = ct_crl_published(c->src, group, &crl, &len, c->err)) == CT_OK &&
	    ((rc = ct_crl_published(c->dst, group, &had, &had_len, c->err)) == CT_ENOENT ||
	        (rc == CT_OK && (had_len != len || memcmp(had, crl, len) != 0)))) {
		ct_err_clear(c->err);
		if ((rc = ct_crl_publish(c->dst, group, (const char *)crl, len, c->err)) == CT_OK)
			c->n->crls++;
	}
	if (rc == CT_ENOENT) {
		ct_err_clear(c->err);
		rc = CT_OK;
	}
	free(crl);
	free(had);
	return rc;
}

/* Copy GROUP's CA material, then its CRL. */
static int
copy_group(struct copy *c, const char *group)
{
	struct ct_ca_content ca;
	int rc;

	if ((rc = ct_storecopy_ca_read(c->src, group, &ca, c->err)) == CT_ENOENT) {
		ct_err_clear(c->err);
		return CT_OK;
	}
	if (rc == CT_OK && ca.item[CT_CA_KEY].data == NULL)
		rc = ct_err_set(c->err, CT_EPERM,
		    "access group '%s': the source store has no CA keys here (copy it on the CA "
		    "host)",
		    group);
	if (rc == CT_OK && (rc = ct_cadir_create(c->dst, group, &ca, c->err)) == CT_OK)
		c->n->groups++;
	else if (rc == CT_EEXIST) {
		ct_err_clear(c->err);
		rc = CT_OK;
	}
	ct_ca_content_clear(&ca);
	return rc == CT_OK ? copy_crl(c, group) : rc;
}

int
ct_storecopy_copy(struct ct_store *src, struct ct_store *dst, const struct ct_config *cfg,
    struct ct_storecopy_stats *n, struct ct_err *err)
{
	struct copy c = {src, dst, cfg, n, err};
	size_t i;
	int rc = CT_OK;

	memset(n, 0, sizeof(*n));
	for (i = 0; rc == CT_OK && i < cfg->n_groups; i++)
		rc = copy_group(&c, cfg->groups[i].name);
	if (rc == CT_OK)
		rc = ct_certindex_foreach(src, copy_entry, &c, err);
	if (rc == CT_OK)
		rc = copy_revocations(&c);
	if (rc == CT_OK)
		rc = ct_request_foreach(src, copy_request, &c, err);
	if (rc == CT_OK)
		rc = copy_users(src, dst, n, err);
	return rc;
}

void
ct_store_report_say(struct ct_store_report *r, const char *fmt, ...)
{
	char line[CT_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->fn(r->ctx, line);
	r->count++;
}
