/* Two stores compared item by item, both ways, through the generic store
 * operations only (storecopy.h): one reported line per difference. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cadir.h"
#include "certindex.h"
#include "crl.h"
#include "requests.h"
#include "store_backend.h"
#include "storecopy.h"
#include "tokens.h"

struct cmp {
	struct ct_store *src, *dst;
	const struct ct_config *cfg;
	struct ct_store_report rep; /* the caller's function, and the count */
	struct ct_err *err;
};

#define say(c, ...) ct_store_report_say(&(c)->rep, __VA_ARGS__)

/* CT_ENOENT from a read is "none": CT_OK with ERR cleared. */
static int
none_ok(int rc, struct ct_err *err)
{
	if (rc != CT_ENOENT)
		return rc;
	ct_err_clear(err);
	return CT_OK;
}

/* Report WHAT when A (ALEN bytes, NULL: absent) and B differ. */
static void
blob_cmp(struct cmp *c, const char *what, const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
	if (a == NULL && b == NULL)
		return;
	if (b == NULL)
		say(c, "%s: only in the source", what);
	else if (a == NULL)
		say(c, "%s: only in the destination", what);
	else if (alen != blen || memcmp(a, b, alen) != 0)
		say(c, "%s: differs", what);
}

/* ---- tokens and uploads ---- */

/* The first field in which A and B differ, or NULL. */
static const char *
token_diff(const struct ct_token *a, const struct ct_token *b)
{
	if (a->type != b->type || a->active != b->active || a->algo != b->algo)
		return a->type != b->type ? "type" : a->active != b->active ? "active" : "algo";
	if (a->digits != b->digits || a->period != b->period)
		return a->digits != b->digits ? "digits" : "period";
	if (a->secret_len != b->secret_len || CRYPTO_memcmp(a->secret, b->secret, a->secret_len))
		return "secret";
	if (a->counter != b->counter || a->last_step != b->last_step)
		return a->counter != b->counter ? "counter" : "last step";
	if (a->failcount != b->failcount || a->lock_until != b->lock_until)
		return a->failcount != b->failcount ? "failures" : "throttled until";
	if (strcmp(a->rollout_state, b->rollout_state) != 0)
		return "rollout state";
	if (strcmp(a->description, b->description) != 0 || a->created != b->created)
		return a->created != b->created ? "created" : "description";
	if (strcmp(a->target, b->target) != 0 || strcmp(a->cert_serial, b->cert_serial) != 0)
		return strcmp(a->target, b->target) != 0 ? "target" : "certificate serial";
	if (a->not_after != b->not_after || a->not_before != b->not_before)
		return a->not_after != b->not_after ? "notAfter" : "notBefore";
	return strcmp(a->issuer, b->issuer) != 0 ? "issuer" : NULL;
}

static const struct ct_token *
find_token(const struct ct_user_tokens *u, const char *serial)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (strcmp(u->tok[i].serial, serial) == 0)
			return &u->tok[i];
	return NULL;
}

/* USER's tokens in ST without a transaction; none (not an error) when the
 * user has none or ST has no token state. */
static int
peek(struct ct_store *st, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	memset(u, 0, sizeof(*u));
	if (!(st->flags & CT_STORE_TOKENS))
		return CT_OK;
	return none_ok(ct_tokens_peek(st, user, u, err), err);
}

/* Compare the uploaded certificate of TOKEN. */
static int
upload_cmp(struct cmp *c, const char *token)
{
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	char what[CT_SERIAL_MAX + 48];
	int rc;

	if ((rc = none_ok(ct_upload_load(c->src, token, &a, &alen, c->err), c->err)) == CT_OK &&
	    (rc = none_ok(ct_upload_load(c->dst, token, &b, &blen, c->err), c->err)) == CT_OK) {
		snprintf(what, sizeof(what), "uploaded certificate of token %s", token);
		blob_cmp(c, what, a, alen, b, blen);
	}
	free(a);
	free(b);
	return rc;
}

/* Token by token, and the uploads of the certificate tokens, of USER
 * (A: the source's, B: the destination's). */
static int
tokens_cmp(
    struct cmp *c, const char *user, const struct ct_user_tokens *a, const struct ct_user_tokens *b)
{
	const struct ct_token *t, *o;
	const char *field;
	size_t i;
	int rc = CT_OK;

	for (i = 0; i < a->n; i++) {
		t = &a->tok[i];
		if ((o = find_token(b, t->serial)) == NULL)
			say(c, "user %s: token %s: only in the source", user, t->serial);
		else if ((field = token_diff(t, o)) != NULL)
			say(c, "user %s: token %s: %s differs", user, t->serial, field);
		if (t->type == CT_TOKEN_CERT && rc == CT_OK)
			rc = upload_cmp(c, t->serial);
	}
	for (i = 0; i < b->n; i++) {
		t = &b->tok[i];
		if (find_token(a, t->serial) != NULL)
			continue;
		say(c, "user %s: token %s: only in the destination", user, t->serial);
		if (t->type == CT_TOKEN_CERT && rc == CT_OK)
			rc = upload_cmp(c, t->serial);
	}
	return rc;
}

/* The source of A named ID in B, or NULL. */
static const struct ct_source *
find_source(const struct ct_user_tokens *b, const char *id)
{
	size_t i;

	for (i = 0; i < b->n_src; i++)
		if (strcmp(b->src[i].id, id) == 0)
			return &b->src[i];
	return NULL;
}

/* What differs between the sources S and O, or NULL. */
static const char *
source_diff(const struct ct_source *s, const struct ct_source *o)
{
	if (s->failcount != o->failcount || s->until != o->until)
		return s->failcount != o->failcount ? "failures" : "throttled until";
	if (s->last != o->last)
		return "last attempt";
	return s->known != o->known ? "known" : NULL;
}

/* The sources of OTP attempts of USER (A: the source store's, B: the
 * destination's): the per-source throttles a copy must keep. */
static void
sources_cmp(
    struct cmp *c, const char *user, const struct ct_user_tokens *a, const struct ct_user_tokens *b)
{
	const struct ct_source *o;
	const char *field;
	size_t i;

	for (i = 0; i < a->n_src; i++) {
		if ((o = find_source(b, a->src[i].id)) == NULL)
			say(c, "user %s: source %s: only in the source", user, a->src[i].id);
		else if ((field = source_diff(&a->src[i], o)) != NULL)
			say(c, "user %s: source %s: %s differs", user, a->src[i].id, field);
	}
	for (i = 0; i < b->n_src; i++)
		if (find_source(a, b->src[i].id) == NULL)
			say(c, "user %s: source %s: only in the destination", user, b->src[i].id);
}

static int
user_cmp(struct cmp *c, const char *user)
{
	struct ct_user_tokens a, b;
	int rc;

	if ((rc = peek(c->src, user, &a, c->err)) == CT_OK &&
	    (rc = peek(c->dst, user, &b, c->err)) == CT_OK) {
		rc = tokens_cmp(c, user, &a, &b);
		sources_cmp(c, user, &a, &b);
	}
	ct_user_tokens_clear(&a);
	ct_user_tokens_clear(&b);
	return rc;
}

/* Every user of either store, in order. */
static int
users_cmp(struct cmp *c)
{
	char **a = NULL, **b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int rc, d;

	if ((rc = ct_store_users(c->src, &a, &na, c->err)) != CT_OK ||
	    (rc = ct_store_users(c->dst, &b, &nb, c->err)) != CT_OK)
		goto out;
	while (rc == CT_OK && (i < na || j < nb)) {
		d = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);
		rc = user_cmp(c, d <= 0 ? a[i] : b[j]);
		i += d <= 0;
		j += d >= 0;
	}
out:
	ct_store_users_free(a, na);
	ct_store_users_free(b, nb);
	return rc;
}

/* ---- the index ---- */

static int
cert_der_equal(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la = i2d_X509(a, &da), lb = i2d_X509(b, &db);
	int eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

	OPENSSL_free(da);
	OPENSSL_free(db);
	return eq;
}

/* The first field in which index entries A and B differ, or NULL. */
static const char *
entry_diff(
    const struct ct_config *cfg, const struct ct_cert_entry *a, const struct ct_cert_entry *b)
{
	const char *ga = ct_storecopy_entry_group(cfg, a), *gb = ct_storecopy_entry_group(cfg, b);

	if (strcmp(a->user, b->user) != 0 || strcmp(a->target, b->target) != 0)
		return strcmp(a->user, b->user) != 0 ? "user" : "target";
	if (ga == NULL || gb == NULL || strcmp(ga, gb) != 0)
		return "access group";
	if (strcmp(a->token, b->token) != 0)
		return "token";
	return cert_der_equal(a->cert, b->cert) ? NULL : "certificate";
}

/* ct_certindex_foreach on the source: the destination's entry. */
static int
entry_src(void *ctx, const struct ct_cert_entry *e)
{
	struct cmp *c = ctx;
	struct ct_cert_entry o;
	const char *field;
	int rc = ct_certindex_get(c->dst, e->serial, &o, c->err);

	if (rc == CT_ENOENT)
		say(c, "certificate %s: only in the source", e->serial);
	else if (rc == CT_OK && (field = entry_diff(c->cfg, e, &o)) != NULL)
		say(c, "certificate %s: %s differs", e->serial, field);
	ct_cert_entry_clear(&o);
	return none_ok(rc, c->err);
}

/* ct_certindex_foreach on the destination: is E in the source? */
static int
entry_dst(void *ctx, const struct ct_cert_entry *e)
{
	struct cmp *c = ctx;
	struct ct_cert_entry o;
	int rc = ct_certindex_get(c->src, e->serial, &o, c->err);

	if (rc == CT_ENOENT)
		say(c, "certificate %s: only in the destination", e->serial);
	ct_cert_entry_clear(&o);
	return none_ok(rc, c->err);
}

/* ---- revocations ---- */

static int
cmp_revocation(const void *a, const void *b)
{
	return strcmp(
	    ((const struct ct_revocation *)a)->serial, ((const struct ct_revocation *)b)->serial);
}

/* Both lists sorted by serial, walked together. */
static int
revocations_cmp(struct cmp *c)
{
	struct ct_revocation *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int rc, d;

	if ((rc = ct_revoked_read(c->src, &a, &na, c->err)) != CT_OK ||
	    (rc = ct_revoked_read(c->dst, &b, &nb, c->err)) != CT_OK)
		goto out;
	if (na > 0)
		qsort(a, na, sizeof(*a), cmp_revocation);
	if (nb > 0)
		qsort(b, nb, sizeof(*b), cmp_revocation);
	while (i < na || j < nb) {
		d = i == na ? 1 : j == nb ? -1 : strcmp(a[i].serial, b[j].serial);
		if (d != 0)
			say(c, "revocation of %s: only in the %s",
			    d < 0 ? a[i].serial : b[j].serial, d < 0 ? "source" : "destination");
		else if (strcmp(a[i].group, b[j].group) != 0 || a[i].when != b[j].when ||
		    a[i].reason != b[j].reason)
			say(c, "revocation of %s: differs", a[i].serial);
		i += d <= 0;
		j += d >= 0;
	}
out:
	free(a);
	free(b);
	return rc;
}

/* ---- requests ---- */

static int
request_differs(const struct ct_request *a, const struct ct_request *b)
{
	return strcmp(a->user, b->user) != 0 || strcmp(a->target, b->target) != 0 ||
	    strcmp(a->ref, b->ref) != 0 || a->created != b->created || a->polled != b->polled ||
	    a->csr_len != b->csr_len || memcmp(a->csr, b->csr, a->csr_len) != 0;
}

/* ct_request_foreach on the source (CMP's src) or the destination: the
 * other store's request. */
static int
request_one(struct cmp *c, const struct ct_request *r, int from_src)
{
	struct ct_request o;
	int rc = ct_request_load(from_src ? c->dst : c->src, r->token, &o, c->err);

	if (rc == CT_ENOENT)
		say(c, "pending request %s: only in the %s", r->token,
		    from_src ? "source" : "destination");
	else if (rc == CT_OK && from_src && request_differs(r, &o))
		say(c, "pending request %s: differs", r->token);
	ct_request_clear(&o);
	return none_ok(rc, c->err);
}

static int
request_src(void *ctx, const struct ct_request *r)
{
	return request_one(ctx, r, 1);
}

static int
request_dst(void *ctx, const struct ct_request *r)
{
	return request_one(ctx, r, 0);
}

/* ---- CA material and CRLs ---- */

static const char *const item_names[] = {"current CA certificate", "current CA key",
    "previous CA certificate", "previous CA key", "end of the previous CA's overlap",
    "prepared CA certificate", "prepared CA key", "last CRL number", "current SSH CA key",
    "current SSH CA public key", "previous SSH CA key", "previous SSH CA public key",
    "prepared SSH CA key", "prepared SSH CA public key"};
/* a name for every item: an item added to cadir.h must be named here */
_Static_assert(sizeof(item_names) / sizeof(item_names[0]) == CT_CA_ITEMS,
    "item_names must name every enum ct_ca_item");

static int
crl_cmp(struct cmp *c, const char *group)
{
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	char what[CT_NAME_MAX + 48];
	int rc;

	if ((rc = none_ok(ct_crl_published(c->src, group, &a, &alen, c->err), c->err)) == CT_OK &&
	    (rc = none_ok(ct_crl_published(c->dst, group, &b, &blen, c->err), c->err)) == CT_OK) {
		snprintf(what, sizeof(what), "access group %s: published CRL", group);
		blob_cmp(c, what, a, alen, b, blen);
	}
	free(a);
	free(b);
	return rc;
}

static int
group_cmp(struct cmp *c, const char *group)
{
	struct ct_ca_content a = {0}, b = {0};
	char what[CT_NAME_MAX + 64];
	int rc, ha, hb, i;

	if ((rc = ct_storecopy_ca_read(c->src, group, &a, c->err)) != CT_ENOENT && rc != CT_OK)
		return rc;
	ha = rc == CT_OK;
	if ((rc = none_ok(rc, c->err)) == CT_OK &&
	    (rc = ct_storecopy_ca_read(c->dst, group, &b, c->err)) != CT_ENOENT && rc != CT_OK)
		goto out;
	hb = rc == CT_OK;
	rc = none_ok(rc, c->err);
	if (ha != hb)
		say(c, "access group %s: CA only in the %s", group, ha ? "source" : "destination");
	for (i = 0; ha && hb && i < CT_CA_ITEMS; i++) {
		snprintf(what, sizeof(what), "access group %s: %s", group, item_names[i]);
		blob_cmp(c, what, a.item[i].data, a.item[i].len, b.item[i].data, b.item[i].len);
	}
	if (rc == CT_OK)
		rc = crl_cmp(c, group);
out:
	ct_ca_content_clear(&a);
	ct_ca_content_clear(&b);
	return rc;
}

int
ct_storecopy_compare(struct ct_store *src, struct ct_store *dst, const struct ct_config *cfg,
    ct_store_report_fn report, void *ctx, struct ct_err *err)
{
	struct cmp c = {src, dst, cfg, {report, ctx, 0}, err};
	size_t i;
	int rc = CT_OK;

	for (i = 0; rc == CT_OK && i < cfg->n_groups; i++)
		rc = group_cmp(&c, cfg->groups[i].name);
	if (rc == CT_OK && (rc = ct_certindex_foreach(src, entry_src, &c, err)) == CT_OK)
		rc = ct_certindex_foreach(dst, entry_dst, &c, err);
	if (rc == CT_OK)
		rc = revocations_cmp(&c);
	if (rc == CT_OK && (rc = ct_request_foreach(src, request_src, &c, err)) == CT_OK)
		rc = ct_request_foreach(dst, request_dst, &c, err);
	if (rc == CT_OK)
		rc = users_cmp(&c);
	return rc == CT_OK ? c.rep.count : rc;
}
