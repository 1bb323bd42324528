/* certtoken-admin: the helpers its commands share (this file calls no
 * command). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "admin.h"
#include "store.h"
#include "attrsrc.h"
#include "conf.h"
#include "ct.h"
#include "events.h"
#include "issue.h"
#include "tokens.h"

int
admin_fail(struct admin *ad, int code)
{
	if (ad->err.msg[0] != '\0')
		fprintf(stderr, PROG ": %s\n", ad->err.msg);
	return ct_exit_status(code);
}

int
admin_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try '" PROG " --help')\n");
	return ct_exit_status(CT_EUSAGE);
}

int
admin_load_config(struct admin *ad)
{
	if (ad->cfg != NULL)
		return CT_OK;
	return ct_config_load(ad->config_path, ad->config_explicit, &ad->cfg, NULL, &ad->err);
}

int
admin_open_store(struct admin *ad)
{
	int rc;

	if (ad->store != NULL)
		return CT_OK;
	if ((rc = admin_load_config(ad)) != CT_OK)
		return rc;
	return ct_store_open(ad->cfg, 0, &ad->store, &ad->err);
}

int
admin_open_ca_store(struct admin *ad, const char *group)
{
	int rc = admin_open_store(ad);

	/* no store yet: no CA yet, and the message says how to make one */
	if (rc == CT_ENOENT)
		rc = ct_cadir_absent(group, &ad->err);
	return rc;
}

int
admin_attrs(struct admin *ad, const char *user, struct ct_attrs **out)
{
	struct ct_attrsrc *src = NULL;
	int rc;

	if ((rc = ct_attrsrc_open(&ad->cfg->attributes, &src, &ad->err)) == CT_OK)
		rc = ct_attrsrc_lookup(src, user, out, &ad->err);
	ct_attrsrc_close(src);
	return rc;
}

int
admin_sign(struct admin *ad, const struct ct_target *t, const struct ct_attrs *attrs,
    const unsigned char *spki, size_t spki_len, unsigned char **der, size_t *der_len)
{
	struct ct_issuer *is = NULL;
	struct ct_ca *ca = NULL;
	int rc;

	if ((rc = admin_open_ca_store(ad, t->group->name)) == CT_OK &&
	    (rc = ct_ca_load(ad->store, t->group, &ca, &ad->err)) == CT_OK &&
	    (rc = ct_issuer_new(t, ca, &is, &ad->err)) == CT_OK)
		rc = ct_issue(is, attrs, spki, spki_len, time(NULL), der, der_len, &ad->err);
	ct_issuer_free(is);
	ct_ca_free(ca);
	return rc;
}

static void
admin_event_log(void *arg, int prio, const char *line)
{
	(void)arg;
	syslog(LOG_AUTHPRIV | prio, "%s", line);
	if (prio <= LOG_WARNING)
		fprintf(stderr, PROG ": %s\n", line);
}

void
admin_fire(struct admin *ad, const char *event, const char *user, const struct ct_token *t)
{
	struct ct_event_ctx ctx = {event, user, t, NULL, t->issuer};
	struct ct_attrs *attrs = NULL;

	if (ad->cfg == NULL || ad->cfg->n_events == 0)
		return;
	if (ct_events_need_attrs(ad->cfg, event)) {
		if (admin_attrs(ad, user, &attrs) == CT_OK)
			ctx.attrs = attrs;
		else
			fprintf(stderr, PROG ": event %s: attributes of %s: %s\n", event, user,
			    ad->err.msg);
		ct_err_clear(&ad->err);
	}
	ct_events_fire(ad->cfg, &ctx, admin_event_log, NULL);
	ct_attrs_free(attrs);
}

/* The search for the owner of token SERIAL. */
struct find {
	struct ct_store *db;
	const char *serial;
	char user[CT_USER_MAX];
};

int
admin_each_token(
    struct ct_store *db, const char *user, token_visit fn, void *ctx, struct ct_err *err)
{
	struct ct_user_tokens u;
	size_t i;
	int rc;

	memset(&u, 0, sizeof(u));
	rc = ct_tokens_peek(db, user, &u, err);
	for (i = 0; rc == CT_OK && i < u.n; i++)
		rc = fn(ctx, user, &u.tok[i]);
	ct_user_tokens_clear(&u);
	return rc;
}

/* Stop (1) at token F->serial. */
static int
is_serial(void *ctx, const char *user, const struct ct_token *t)
{
	const struct find *f = ctx;

	(void)user;
	return strcmp(t->serial, f->serial) == 0;
}

/* For each user: stop (1) at the one who has token F->serial. */
static int
find_serial(void *ctx, const char *user)
{
	struct find *f = ctx;
	struct ct_err err = {0};

	if (admin_each_token(f->db, user, is_serial, f, &err) <= 0)
		return 0;
	snprintf(f->user, sizeof(f->user), "%s", user);
	return 1;
}

struct with_token {
	const char *serial;
	token_op op;
	void *ctx;
};

/* Inside the owner's transaction (ct_store_update): OP on the token. */
static int
with_token_op(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	struct with_token *w = ctx;
	size_t i;

	(void)user;
	for (i = 0; i < u->n && strcmp(u->tok[i].serial, w->serial) != 0; i++)
		;
	if (i == u->n)
		return ct_err_set(err, CT_ENOENT, "no token %s", w->serial);
	return w->op(u, i, w->ctx, err);
}

int
admin_with_token(struct admin *ad, const char *serial, token_op op, void *ctx, char *user_out)
{
	struct find f = {NULL, serial, ""};
	struct with_token w = {serial, op, ctx};
	int rc;

	if ((rc = ct_store_open(ad->cfg, CT_STORE_TOKENS, &f.db, &ad->err)) != CT_OK)
		goto out;
	if ((rc = ct_tokens_foreach_user(f.db, find_serial, &f, &ad->err)) <= 0) {
		rc = rc < 0 ? rc : ct_err_set(&ad->err, CT_ENOENT, "no token %s", serial);
		goto out;
	}
	memcpy(user_out, f.user, sizeof(f.user));
	rc = ct_store_update(f.db, f.user, with_token_op, &w, &ad->err);
out:
	ct_store_close(f.db);
	return rc;
}
