/* The LDAP backend: each user's token state, one entry
 * ctUser=USER,ou=users,BASE (object class ctUserState).
 *
 * Each token is one value of ctToken, its line in the files backend's
 * token file (ct_files_token_line_format: the one codec), the secret
 * sealed under STORE/secret.key for USER and the serial.  ctRevision counts
 * the entry's writes; ctFailures and ctThrottleUntil are readable copies of
 * the user's failure count and throttle end (the tokens hold the values
 * that count).  Each source of OTP attempts (tokens.h) is one value of
 * ctSource, its line in the token file (ct_files_source_line_format).
 *
 * A transaction never locks: tx_read reads the entry, its revision N and
 * its entryCSN C (from the read URIs, or from the provider when
 * ct_store_update runs it again after a conflict), and tx_write sends one
 * operation to the provider: a Modify with the Assertion control
 * (&(ctRevision=N)(entryCSN=C)) that replaces every ctToken and ctSource,
 * sets ctRevision=N+1 and the copies; an Add for a user who had no entry.
 * The entry is never deleted: an empty set is a Modify too, that leaves
 * the entry without ctToken (read as "no tokens"), so a user's revisions
 * only grow.  The entryCSN is the directory's own stamp of the entry's last
 * change (time, server id, count): it never comes back, not after the
 * entry is deleted and made again by hand, nor after a failover to a
 * provider that re-issues a revision number; the revision alone could.
 * When the entry changed or appeared or went away since the read, the
 * provider refuses (assertionFailed, alreadyExists, noSuchObject), nothing
 * is written, and the answer is CT_ECONFLICT: ct_store_update runs the
 * whole transaction again.  A write without a read (tests, tools that set
 * a state whatever it was) asserts what the provider has just then.
 *
 * "No tokens" is never concluded from a replica alone: a replica may still
 * be loading, or lag behind a new token; a read that finds no entry (or one
 * without ctToken) on a read URI is confirmed on the provider.  And a user
 * entry that is missing while its container is not there either (a wrong
 * base, an ACL that hides it) is an error, not "no tokens"
 * (ct_lstore_get_child). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store_ldap.h"

#define REVISION_MAX INT64_C(9000000000000000000)
#define CSN_MAX 64 /* an entryCSN: "YYYYmmddHHMMSS.uuuuuuZ#cnt#sid#mod" is 40 */

struct lstore_tx {
	struct ct_tokens_tx base;
	int64_t deadline_ms; /* of the whole transaction */
	char *dn;
	int read; /* tx_read ran */
	int exists; /* the entry existed then */
	int64_t revision; /* its ctRevision then */
	char csn[CSN_MAX]; /* its entryCSN then */
};

/* The lines of a user's entry: its ctToken values and its ctSource
 * values (the sources of OTP attempts), formatted. */
struct token_lines {
	char line[CT_TOKENS_MAX][CT_FILES_TOKEN_LINE_MAX];
	size_t n;
	char src[CT_SOURCES_MAX][CT_FILES_SOURCE_LINE_MAX];
	size_t n_src;
};

static const char *const state_attrs[] = {"ctRevision", "entryCSN", "ctToken", "ctSource", NULL};

/* LS, checked to hold token state (opened with CT_STORE_TOKENS). */
static int
tokens_store(struct ct_store *st, struct ct_ldap_store **out, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);

	if (!ls->have_keys)
		return ct_err_set(err, CT_EINVAL, "the store was not opened for token state");
	*out = ls;
	return CT_OK;
}

/* Parse the ctToken values of entry E, USER's, into OUT. */
static int
parse_tokens(struct ct_ldap_store *ls, const char *user, const struct ct_lstore_entry *e,
    struct ct_user_tokens *out, struct ct_err *err)
{
	struct berval **v = ct_lstore_values(e, "ctToken");
	char where[CT_ERR_MAX / 2];
	size_t i, j;
	int rc = CT_OK;

	snprintf(where, sizeof(where), "%s ctToken", e->dn);
	memset(out, 0, sizeof(*out));
	for (i = 0; v != NULL && v[i] != NULL && rc == CT_OK; i++) {
		if (i == CT_TOKENS_MAX) {
			rc = ct_err_set(
			    err, CT_EIO, "%s: more than %d tokens", where, CT_TOKENS_MAX);
			break;
		}
		rc = ct_files_token_line_parse(&ls->keys, user, where, (unsigned)i + 1,
		    v[i]->bv_val, v[i]->bv_len, &out->tok[i], err);
		for (j = 0; rc == CT_OK && j < i; j++)
			if (strcmp(out->tok[j].serial, out->tok[i].serial) == 0)
				rc = ct_err_set(
				    err, CT_EIO, "%s: serial %s twice", where, out->tok[i].serial);
		out->n = i + 1;
	}
	if (rc != CT_OK)
		ct_user_tokens_clear(out);
	return rc;
}

/* Parse the ctSource values of entry E into OUT's sources. */
static int
parse_sources(const struct ct_lstore_entry *e, struct ct_user_tokens *out, struct ct_err *err)
{
	struct berval **v = ct_lstore_values(e, "ctSource");
	char where[CT_ERR_MAX / 2];
	size_t i, j;
	int rc = CT_OK;

	snprintf(where, sizeof(where), "%s ctSource", e->dn);
	for (i = 0; v != NULL && v[i] != NULL && rc == CT_OK; i++) {
		if (i == CT_SOURCES_MAX)
			return ct_err_set(
			    err, CT_EIO, "%s: more than %d sources", where, CT_SOURCES_MAX);
		rc = ct_files_source_line_parse(
		    where, (unsigned)i + 1, v[i]->bv_val, v[i]->bv_len, &out->src[i], err);
		for (j = 0; rc == CT_OK && j < i; j++)
			if (strcmp(out->src[j].id, out->src[i].id) == 0)
				rc = ct_err_set(
				    err, CT_EIO, "%s: source %s twice", where, out->src[i].id);
		out->n_src = i + 1;
	}
	return rc;
}

/* The revision and entryCSN of entry E into *REVISION and CSN: CT_EIO
 * naming the DN when either is missing or malformed. */
static int
read_stamp(
    const struct ct_lstore_entry *e, int64_t *revision, char csn[CSN_MAX], struct ct_err *err)
{
	int rc;

	if (ct_lstore_values(e, "ctRevision") == NULL)
		return ct_err_set(err, CT_EIO, "%s: no ctRevision", e->dn);
	if ((rc = ct_lstore_integer(e, "ctRevision", 0, REVISION_MAX, revision, err)) < 0 ||
	    (rc = ct_lstore_string(e, "entryCSN", csn, CSN_MAX, err)) < 0)
		return rc;
	/* it goes into an assertion filter: only what a CSN is made of */
	if (csn[strspn(csn, "0123456789abcdefABCDEF.#Z")] != '\0')
		return ct_err_set(err, CT_EIO, "%s: entryCSN is not a CSN", e->dn);
	return CT_OK;
}

/* Read USER's entry from WHERE into OUT (CT_ENOENT: no tokens), giving its
 * revision in *REVISION (-1: no entry) and its entryCSN in CSN. */
static int
read_state(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms,
    const char *user, const char *dn, struct ct_user_tokens *out, int64_t *revision,
    char csn[CSN_MAX], struct ct_err *err)
{
	struct ct_lstore_entry e = {0};
	int rc;

	*revision = -1;
	memset(out, 0, sizeof(*out));
	if ((rc = ct_lstore_get_child(ls, where, deadline_ms, dn, NULL, state_attrs, &e, err)) < 0)
		return rc;
	/* a malformed entry is an error naming it, never "no tokens" */
	if ((rc = read_stamp(&e, revision, csn, err)) == CT_OK)
		rc = parse_tokens(ls, user, &e, out, err);
	if (rc == CT_OK)
		rc = parse_sources(&e, out, err);
	if (rc != CT_OK)
		ct_user_tokens_clear(out);
	if (rc == CT_OK && out->n == 0)
		rc = ct_err_set(err, CT_ENOENT, "user %s has no tokens", user);
	ct_lstore_entry_clear(&e);
	return rc;
}

/* Do reads go to the provider anyway?  (store_ldap.c gives reads and
 * writes one pool when the read list is the write URI alone.) */
static int
reads_provider(const struct ct_ldap_store *ls)
{
	return ls->read == ls->write;
}

/* read_state from WHERE; "no tokens" read from a replica is confirmed by
 * one read from the provider (a replica still loading, or behind). */
static int
read_confirmed(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms,
    const char *user, const char *dn, struct ct_user_tokens *out, int64_t *revision,
    char csn[CSN_MAX], struct ct_err *err)
{
	struct ct_err local = {0};
	int rc;

	rc = read_state(ls, where, deadline_ms, user, dn, out, revision, csn, &local);
	if (rc == CT_ENOENT && where == CT_LSTORE_READ && !reads_provider(ls)) {
		ct_err_clear(&local);
		rc = read_state(
		    ls, CT_LSTORE_WRITE, deadline_ms, user, dn, out, revision, csn, &local);
	}
	return rc < 0 ? ct_err_set(err, rc, "%s", local.msg) : rc;
}

int
ct_lstore_tx_begin(struct ct_store *st, const char *user, int64_t deadline_ms,
    struct ct_tokens_tx **out, struct ct_err *err)
{
	struct ct_ldap_store *ls = NULL;
	struct lstore_tx *tx;
	int rc;

	if ((rc = tokens_store(st, &ls, err)) < 0)
		return rc;
	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	tx->base.st = st;
	snprintf(tx->base.user, sizeof(tx->base.user), "%s", user);
	tx->deadline_ms = ct_lstore_deadline(ls, deadline_ms);
	if ((rc = ct_lstore_dn(ls, "ctUser", user, CT_LSTORE_USERS, &tx->dn, err)) < 0) {
		free(tx);
		return rc;
	}
	*out = &tx->base;
	return CT_OK;
}

int
ct_lstore_tx_read(struct ct_tokens_tx *base, struct ct_user_tokens *out, struct ct_err *err)
{
	struct lstore_tx *tx = (struct lstore_tx *)base;
	struct ct_ldap_store *ls = ct_ldap_store_of(base->st);
	/* a retry after a conflict reads what the provider has: a replica may lag */
	enum ct_lstore_dir where = base->attempt > 0 ? CT_LSTORE_WRITE : CT_LSTORE_READ;
	int rc;

	rc = read_confirmed(
	    ls, where, tx->deadline_ms, base->user, tx->dn, out, &tx->revision, tx->csn, err);
	if (rc != CT_OK && rc != CT_ENOENT)
		return rc;
	tx->read = 1;
	tx->exists = tx->revision >= 0;
	return rc;
}

/* The token lines of IN, USER's, into L; the largest failure count and
 * throttle end into *FAILURES and *THROTTLE. */
static int
format_tokens(struct ct_ldap_store *ls, const char *user, const char *dn,
    const struct ct_user_tokens *in, struct token_lines *l, int *failures, int64_t *throttle,
    struct ct_err *err)
{
	struct ct_textbuf b;
	size_t i;
	int rc;

	*failures = 0;
	*throttle = 0;
	for (i = 0; i < in->n; i++) {
		b = (struct ct_textbuf){l->line[i], 0, sizeof(l->line[i]), 0};
		l->line[i][0] = '\0';
		if ((rc = ct_files_token_line_format(&ls->keys, user, dn, &in->tok[i], &b, err)) <
		    0)
			return rc;
		if (b.full)
			return ct_err_set(err, CT_EIO, "%s: token %s: its line is too long", dn,
			    in->tok[i].serial);
		if (in->tok[i].failcount > *failures)
			*failures = in->tok[i].failcount;
		if (in->tok[i].lock_until > *throttle)
			*throttle = in->tok[i].lock_until;
	}
	l->n = in->n;
	for (i = 0; i < in->n_src; i++) {
		b = (struct ct_textbuf){l->src[i], 0, sizeof(l->src[i]), 0};
		l->src[i][0] = '\0';
		ct_files_source_line_format(&in->src[i], &b);
	}
	l->n_src = in->n_src;
	return CT_OK;
}

/* The changes that make the entry hold L at REVISION, with the copies
 * FAILURES (text in NUM) and THROTTLE (text in TIME; 0: none). */
static void
state_mods(struct ct_lstore_mods *m, const struct token_lines *l, const char *rev, const char *num,
    int64_t throttle, char time[CT_LSTORE_TIME_LEN])
{
	size_t i;

	for (i = 0; i < l->n; i++)
		ct_lstore_mods_str(m, LDAP_MOD_REPLACE, "ctToken", l->line[i]);
	if (l->n == 0) /* the entry stays, without tokens: revisions only grow */
		ct_lstore_mods_add(m, LDAP_MOD_REPLACE, "ctToken", NULL, 0);
	for (i = 0; i < l->n_src; i++)
		ct_lstore_mods_str(m, LDAP_MOD_REPLACE, "ctSource", l->src[i]);
	if (l->n_src == 0)
		ct_lstore_mods_add(m, LDAP_MOD_REPLACE, "ctSource", NULL, 0);
	ct_lstore_mods_str(m, LDAP_MOD_REPLACE, "ctRevision", rev);
	ct_lstore_mods_str(m, LDAP_MOD_REPLACE, "ctFailures", num);
	if (throttle > 0 && ct_lstore_time_format(throttle, time) == 0)
		ct_lstore_mods_str(m, LDAP_MOD_REPLACE, "ctThrottleUntil", time);
	else
		ct_lstore_mods_add(m, LDAP_MOD_REPLACE, "ctThrottleUntil", NULL, 0);
}

/* Give CT_ECONFLICT for what says another writer came first (RC from the
 * provider; ADDED: the write was an add), else RC; the message names the
 * user. */
static int
conflict(int rc, int added, const char *user, struct ct_err *local, struct ct_err *err)
{
	/* an add's noSuchObject is a missing ou=users, not another writer */
	if (rc == CT_ENOENT && added)
		return ct_err_set(err, CT_EIO,
		    "token store: cannot add user %s: the store's containers are missing "
		    "(certtoken-admin store init) (%s)",
		    user, local->msg);
	if (rc == CT_ENOENT || rc == CT_EEXIST || rc == CT_ECONFLICT)
		return ct_err_set(err, CT_ECONFLICT,
		    "token store: the state of user %s changed since it was read (%s)", user,
		    local->msg);
	return rc < 0 ? ct_err_set(err, rc, "%s", local->msg) : rc;
}

/* Write L to the provider as one operation asserted on TX's read. */
static int
write_state(struct lstore_tx *tx, const struct token_lines *l, int failures, int64_t throttle,
    struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(tx->base.st);
	char rev[24], num[24], assertion[48 + CSN_MAX], time[CT_LSTORE_TIME_LEN];
	struct ct_lstore_mods m;
	struct ct_err local = {0};
	int rc;

	snprintf(rev, sizeof(rev), "%" PRId64, tx->exists ? tx->revision + 1 : 1);
	snprintf(num, sizeof(num), "%d", failures);
	snprintf(assertion, sizeof(assertion), "(&(ctRevision=%" PRId64 ")(entryCSN=%s))",
	    tx->revision, tx->csn);
	ct_lstore_mods_init(&m);
	if (!tx->exists) {
		ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "ctUserState");
		ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctUser", tx->base.user);
	}
	state_mods(&m, l, rev, num, throttle, time);
	if (!tx->exists && l->n == 0)
		rc = CT_OK; /* nothing there, nothing to write */
	else if (!tx->exists)
		rc = ct_lstore_add(ls, tx->deadline_ms, tx->dn, &m, &local);
	else
		rc = ct_lstore_modify(ls, tx->deadline_ms, tx->dn, &m, assertion, &local);
	return conflict(rc, !tx->exists, tx->base.user, &local, err);
}

/* A write without a read replaces what is there: the revision and CSN it
 * replaces are read from the provider. */
static int
read_revision(struct lstore_tx *tx, struct ct_err *err)
{
	static const char *const attrs[] = {"ctRevision", "entryCSN", NULL};
	struct ct_ldap_store *ls = ct_ldap_store_of(tx->base.st);
	struct ct_lstore_entry e = {0};
	struct ct_err local = {0};
	int rc;

	tx->revision = -1;
	rc = ct_lstore_get_child(
	    ls, CT_LSTORE_WRITE, tx->deadline_ms, tx->dn, NULL, attrs, &e, &local);
	if (rc == CT_OK)
		rc = read_stamp(&e, &tx->revision, tx->csn, &local);
	else if (rc == CT_ENOENT)
		rc = CT_OK; /* no entry: the write adds it */
	ct_lstore_entry_clear(&e);
	if (rc < 0)
		return ct_err_set(err, rc, "%s", local.msg);
	tx->read = 1;
	tx->exists = tx->revision >= 0;
	return CT_OK;
}

int
ct_lstore_tx_write(struct ct_tokens_tx *base, const struct ct_user_tokens *in, struct ct_err *err)
{
	struct lstore_tx *tx = (struct lstore_tx *)base;
	struct ct_ldap_store *ls = ct_ldap_store_of(base->st);
	struct token_lines *l;
	int64_t throttle;
	int failures, rc;

	if (!tx->read && (rc = read_revision(tx, err)) < 0)
		return rc;
	if ((l = malloc(sizeof(*l))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = format_tokens(ls, base->user, tx->dn, in, l, &failures, &throttle, err)) == CT_OK)
		rc = write_state(tx, l, failures, throttle, err);
	OPENSSL_clear_free(l, sizeof(*l));
	return rc;
}

void
ct_lstore_tx_end(struct ct_tokens_tx *base)
{
	struct lstore_tx *tx = (struct lstore_tx *)base;

	free(tx->dn);
	free(tx);
}

/* Does WHERE hold an entry for DN with a ctToken?  CT_OK yes, CT_ENOENT
 * no (the container is there and the entry is not, or has no tokens),
 * another code when it cannot tell. */
static int
has_tokens_at(
    struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms, const char *dn)
{
	static const char *const none[] = {"1.1", NULL};
	struct ct_lstore_entry e = {0};
	struct ct_err err = {0};
	int rc;

	rc = ct_lstore_get_child(ls, where, deadline_ms, dn, "(ctToken=*)", none, &e, &err);
	ct_lstore_entry_clear(&e);
	return rc;
}

int
ct_lstore_tokens_exists(struct ct_store *st, const char *user, int64_t deadline_ms)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_err err = {0};
	char *dn = NULL;
	int rc;

	if (ct_lstore_dn(ls, "ctUser", user, CT_LSTORE_USERS, &dn, &err) < 0)
		return 1; /* cannot tell: the transaction will say why */
	/* "no" from a replica is asked of the provider: it may lag or be loading */
	rc = has_tokens_at(ls, CT_LSTORE_READ, deadline_ms, dn);
	if (rc == CT_ENOENT && !reads_provider(ls))
		rc = has_tokens_at(ls, CT_LSTORE_WRITE, deadline_ms, dn);
	free(dn);
	return rc != CT_ENOENT;
}

int
ct_lstore_tokens_peek(
    struct ct_store *st, const char *user, struct ct_user_tokens *out, struct ct_err *err)
{
	struct ct_ldap_store *ls = NULL;
	int64_t revision;
	char *dn = NULL, csn[CSN_MAX];
	int rc;

	if ((rc = tokens_store(st, &ls, err)) < 0 ||
	    (rc = ct_lstore_dn(ls, "ctUser", user, CT_LSTORE_USERS, &dn, err)) < 0)
		return rc;
	rc = read_confirmed(ls, CT_LSTORE_READ, 0, user, dn, out, &revision, csn, err);
	free(dn);
	return rc;
}

int
ct_lstore_tokens_foreach_user(struct ct_store *st, ct_user_fn fn, void *ctx, struct ct_err *err)
{
	static const char *const attrs[] = {"ctUser", NULL};
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_entry *e = NULL;
	char *base = NULL, user[CT_USER_MAX];
	size_t n = 0, i;
	int rc;

	if ((rc = ct_lstore_container(ls, CT_LSTORE_USERS, &base, err)) < 0 ||
	    (rc = ct_lstore_search(ls, CT_LSTORE_READ, 0, base,
	         "(&(objectClass=ctUserState)(ctToken=*))", attrs, &e, &n, err)) < 0)
		goto out;
	for (i = 0; i < n && rc == 0; i++) {
		if ((rc = ct_lstore_string(&e[i], "ctUser", user, sizeof(user), err)) < 0)
			break;
		if (!ct_tokens_user_valid(user)) {
			rc =
			    ct_err_set(err, CT_EIO, "%s: ctUser is not a valid user name", e[i].dn);
			break;
		}
		rc = fn(ctx, user);
	}
out:
	ct_lstore_entries_free(e, n);
	free(base);
	return rc;
}
