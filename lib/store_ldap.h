/* The LDAP backend of the store (store.backend = "ldap"): private to its
 * files (store_ldap*.c) and their tests.
 *
 * Everything the hosts of a fleet share lives in a directory under
 * store.ldap.base (schema/certtoken.schema, names and numbers there):
 *   ctUser=NAME,ou=users,BASE           ctUserState: one user's token state, one
 *                                       value of ctToken per token (the token line
 *                                       of the files backend, store_files_tokfile.c),
 *                                       ctRevision, and readable copies ctFailures,
 *                                       ctThrottleUntil (store_ldap_tokens.c)
 *   ctCertSerial=HEX,ou=certs,BASE      ctIssuedCertificate: the index
 *   ctCertSerial=HEX,ou=revoked,BASE    ctRevocation (store_ldap_certs.c)
 *   ctRequestToken=T,ou=requests,BASE   ctRequest
 *   ctRequestToken=T,ou=uploads,BASE    ctUpload (store_ldap_requests.c)
 *   ctGroup=NAME,ou=groups,BASE         ctAccessGroup: the CA certificates and the
 *                                       CRL (store_ldap_ca.c)
 * Reads go to the read pool (store.ldap.uri, tried in order), writes to the
 * write pool (store.ldap.write_uri: one provider).  What stays on the host
 * is reached through an embedded files handle at store.path: secret.key
 * (the OTP secrets are sealed with it, as in the files backend) and, on the
 * CA host, the CA keys under groups/GROUP/.
 *
 * Every operation is bounded by store.ldap.timeout (ct_lstore_deadline)
 * and the caller's deadline; a directory that does not answer in time is
 * CT_EUNAVAIL with one line naming the URI.  LDAP result codes map to CT_
 * codes in one place (ct_lstore_code).  store_ldap.c opens and closes the
 * handle and holds the operations table; store_ldap_dir.c talks with the
 * directory for the others. */
#ifndef CT_STORE_LDAP_H
#define CT_STORE_LDAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <ldap.h>

#include "ldapconn.h"
#include "store_backend.h"
#include "store_files.h"

/* The containers under BASE. */
#define CT_LSTORE_USERS "ou=users"
#define CT_LSTORE_CERTS "ou=certs"
#define CT_LSTORE_REVOKED "ou=revoked"
#define CT_LSTORE_REQUESTS "ou=requests"
#define CT_LSTORE_UPLOADS "ou=uploads"
#define CT_LSTORE_GROUPS "ou=groups"

#define CT_LSTORE_TIME_LEN 16 /* "YYYYMMDDHHMMSSZ" and its NUL */
#define CT_LSTORE_ATTRS_MAX 16 /* attributes read from one entry */
#define CT_LSTORE_MODS_MAX 16 /* changes in one add or modify */
#define CT_LSTORE_VALS_MAX 40 /* values in one add or modify */
#define CT_LSTORE_ENTRIES_MAX (1024 * 1024) /* entries one search gives */
#define CT_LSTORE_PAGE 250 /* entries a search asks for at once (RFC 2696) */
#define CT_LSTORE_DOWN_MS 1000 /* a directory that did not answer is let be */

struct ct_ldap_store {
	struct ct_store base;
	struct ct_store *files; /* the files handle at store.path (without CT_STORE_TOKENS) */
	struct ct_files_keys keys; /* STORE/secret.key: with CT_STORE_TOKENS */
	int have_keys;
	char *base_dn; /* store.ldap.base */
	char *path; /* store.path */
	int timeout_ms; /* store.ldap.timeout */
	int cache_max_age; /* store.ldap.cache_max_age: seconds; 0: no cache */
	/* the directories: URIs (split from the configuration), settings, pools */
	char *uri_text; /* store.ldap.uri, split in place into read_uris */
	char *write_text; /* the write URI */
	const char *read_uris[CT_LDAP_URIS_MAX];
	const char *write_uris[1];
	char *bind_dn, *bind_password_file, *ca_file; /* copies: the settings borrow them */
	struct ct_ldap_settings read_s, write_s;
	struct ct_ldap_pool *read, *write;
	/* a directory that did not answer (CT_EUNAVAIL) is not asked again for
	 * CT_LSTORE_DOWN_MS: the operations meanwhile fail at once with its
	 * message, so that a login's few operations together stay within the
	 * timeout (index: enum ct_lstore_dir) */
	pthread_mutex_t down_mu;
	int64_t down_until[2];
	char down_msg[2][CT_ERR_MAX];
	/* the CA material's state (store_ldap_ca.c): made on first use under
	 * ca_mu, freed at close with ca_free(ca) when both are set */
	pthread_mutex_t ca_mu;
	void *ca;
	void (*ca_free)(void *ca);
};

/* ST's LDAP handle. */
static inline struct ct_ldap_store *
ct_ldap_store_of(struct ct_store *st)
{
	return (struct ct_ldap_store *)st;
}

/* Which directory an operation talks to. */
enum ct_lstore_dir {
	CT_LSTORE_READ, /* the read URIs (replicas), in order */
	CT_LSTORE_WRITE /* the write URI (the provider) */
};

/* An entry as read: the values of the attributes asked for. */
struct ct_lstore_entry {
	char *dn; /* as the server gave it */
	size_t n; /* attributes asked for */
	const char *names[CT_LSTORE_ATTRS_MAX]; /* borrowed from the caller's list */
	struct berval **vals[CT_LSTORE_ATTRS_MAX]; /* NULL when the entry has none */
};

/* The changes of one add or modify: values are borrowed, not copied. */
struct ct_lstore_mods {
	LDAPMod mod[CT_LSTORE_MODS_MAX];
	LDAPMod *list[CT_LSTORE_MODS_MAX + 1]; /* NULL-terminated: for libldap */
	struct berval bv[CT_LSTORE_VALS_MAX];
	struct berval *vals[CT_LSTORE_VALS_MAX + CT_LSTORE_MODS_MAX];
	size_t n_mod, n_bv, n_vals;
	int full; /* a change did not fit: the add or modify refuses to run */
};

/* ---- store_ldap.c: the handle ---- */

extern const struct ct_store_ops ct_store_ldap_ops;

/* ---- store_ldap_dir.c: the shared helpers ---- */

/* The moment an operation of LS must end: DEADLINE_MS (ct_now_ms clock; 0:
 * none) or store.ldap.timeout from now, whichever comes first. */
int64_t ct_lstore_deadline(const struct ct_ldap_store *ls, int64_t deadline_ms);

/* The CT_ code of LDAP result LRC: success CT_OK, noSuchObject CT_ENOENT,
 * alreadyExists CT_EEXIST, assertionFailed CT_ECONFLICT, access refused
 * CT_EPERM, server down or busy or out of time CT_EUNAVAIL, a schema
 * violation CT_ECONFIG, anything else CT_EIO. */
int ct_lstore_code(int lrc);

/* "ATTR=VALUE,CONTAINER,BASE" in a new string *OUT (CONTAINER NULL:
 * "ATTR=VALUE,BASE"), VALUE escaped as an RDN value (RFC 4514). */
int ct_lstore_dn(const struct ct_ldap_store *ls, const char *attr, const char *value,
    const char *container, char **out, struct ct_err *err);

/* "CONTAINER,BASE" in a new string *OUT. */
int ct_lstore_container(
    const struct ct_ldap_store *ls, const char *container, char **out, struct ct_err *err);

/* Epoch seconds T (0 .. year 9999) as GeneralizedTime "YYYYMMDDHHMMSSZ". */
int ct_lstore_time_format(int64_t t, char out[CT_LSTORE_TIME_LEN]);

/* GeneralizedTime TEXT (LEN bytes, exactly "YYYYMMDDHHMMSSZ") as epoch
 * seconds: -1 when it is not one. */
int ct_lstore_time_parse(const char *text, size_t len, int64_t *out);

/* Read the entry DN (base scope) with the attributes ATTRS (NULL-terminated,
 * at most CT_LSTORE_ATTRS_MAX) from WHERE into OUT.  CT_ENOENT when there is
 * no such entry; CT_EUNAVAIL when no directory answered by DEADLINE_MS. */
int ct_lstore_get(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms,
    const char *dn, const char *const *attrs, struct ct_lstore_entry *out, struct ct_err *err);

/* ct_lstore_get of DN, an entry directly under a container (e.g. a user's
 * entry under ou=users), that must also match FILTER (NULL: any): CT_ENOENT
 * only when the directory says so and matched DN's parent (the container
 * exists), or the entry does not match FILTER; a noSuchObject that matched
 * anything else is CT_EIO naming DN (a wrong base, a directory that does not
 * have the containers yet, an ACL that hides them): never "no entry". */
int ct_lstore_get_child(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms,
    const char *dn, const char *filter, const char *const *attrs, struct ct_lstore_entry *out,
    struct ct_err *err);

/* Search one level under BASE_DN for FILTER with ATTRS: the entries in a new
 * array *OUT of *N (ct_lstore_entries_free).  A missing BASE_DN is no entries.
 * The search is paged (RFC 2696, CT_LSTORE_PAGE entries a page, the control
 * not critical: a server without paging answers it whole; one that refuses
 * the control is asked again without it), so that a server's size limit
 * per search does not cut it; every page ends by the deadline. */
int ct_lstore_search(struct ct_ldap_store *ls, enum ct_lstore_dir where, int64_t deadline_ms,
    const char *base_dn, const char *filter, const char *const *attrs, struct ct_lstore_entry **out,
    size_t *n, struct ct_err *err);

/* Free N entries of ct_lstore_search (NULL is allowed). */
void ct_lstore_entries_free(struct ct_lstore_entry *e, size_t n);

/* Free what E holds and empty it. */
void ct_lstore_entry_clear(struct ct_lstore_entry *e);

/* The values of ATTR in E (asked for by that name), or NULL when it has none. */
struct berval **ct_lstore_values(const struct ct_lstore_entry *e, const char *attr);

/* The one value of ATTR in E: CT_ENOENT when E has none, CT_EIO "DN:
 * ATTR has N values" when several. */
int ct_lstore_value(const struct ct_lstore_entry *e, const char *attr, const struct berval **out,
    struct ct_err *err);

/* The one value of the required ATTR in E as a NUL-terminated string in
 * BUF (SIZE bytes): CT_EIO naming the DN when E has none or several, or it
 * is longer or holds a NUL.  (So do the next two.) */
int ct_lstore_string(
    const struct ct_lstore_entry *e, const char *attr, char *buf, size_t size, struct ct_err *err);

/* The one value of the required ATTR in E as an integer in [MIN, MAX]. */
int ct_lstore_integer(const struct ct_lstore_entry *e, const char *attr, int64_t min, int64_t max,
    int64_t *out, struct ct_err *err);

/* The one value of the required ATTR in E as GeneralizedTime (seconds). */
int ct_lstore_time(
    const struct ct_lstore_entry *e, const char *attr, int64_t *out, struct ct_err *err);

/* Empty M. */
void ct_lstore_mods_init(struct ct_lstore_mods *m);

/* Add to M the change OP (LDAP_MOD_ADD, _REPLACE, _DELETE) of ATTR with the
 * value VAL (LEN bytes, borrowed; NULL: no value, e.g. a replace that
 * removes every value).  The same OP and ATTR as the last call add a value
 * to that change. */
void ct_lstore_mods_add(
    struct ct_lstore_mods *m, int op, const char *attr, const void *val, size_t len);

/* ct_lstore_mods_add of the string VAL. */
void ct_lstore_mods_str(struct ct_lstore_mods *m, int op, const char *attr, const char *val);

/* Add the entry DN with the values in M (ops ignored) on the provider.
 * CT_EEXIST when it exists. */
int ct_lstore_add(struct ct_ldap_store *ls, int64_t deadline_ms, const char *dn,
    struct ct_lstore_mods *m, struct ct_err *err);

/* Modify DN with M on the provider, with the Assertion control (RFC 4528,
 * critical) on ASSERTION when it is not NULL.  CT_ECONFLICT when the
 * assertion failed, CT_ENOENT when DN does not exist (nothing changed). */
int ct_lstore_modify(struct ct_ldap_store *ls, int64_t deadline_ms, const char *dn,
    struct ct_lstore_mods *m, const char *assertion, struct ct_err *err);

/* Delete DN on the provider, asserting ASSERTION when it is not NULL.
 * CT_ENOENT when it does not exist, CT_ECONFLICT when the assertion failed. */
int ct_lstore_delete(struct ct_ldap_store *ls, int64_t deadline_ms, const char *dn,
    const char *assertion, struct ct_err *err);

/* Create BASE's six containers on the provider where they are missing (as
 * the bind identity may; CT_EPERM otherwise). */
int ct_lstore_init_tree(struct ct_ldap_store *ls, int64_t deadline_ms, struct ct_err *err);

/* ---- store_ldap_tokens.c: per-user token state ---- */

int ct_lstore_tx_begin(struct ct_store *st, const char *user, int64_t deadline_ms,
    struct ct_tokens_tx **out, struct ct_err *err);
int ct_lstore_tx_read(struct ct_tokens_tx *tx, struct ct_user_tokens *out, struct ct_err *err);
int ct_lstore_tx_write(
    struct ct_tokens_tx *tx, const struct ct_user_tokens *in, struct ct_err *err);
void ct_lstore_tx_end(struct ct_tokens_tx *tx);
int ct_lstore_tokens_exists(struct ct_store *st, const char *user, int64_t deadline_ms);
int ct_lstore_tokens_peek(
    struct ct_store *st, const char *user, struct ct_user_tokens *out, struct ct_err *err);
int ct_lstore_tokens_foreach_user(
    struct ct_store *st, ct_user_fn fn, void *ctx, struct ct_err *err);

/* ---- store_ldap_certs.c: the index and the revocations ---- */

int ct_lstore_cert_add(struct ct_store *st, const struct ct_cert_entry *e, const unsigned char *der,
    size_t len, struct ct_err *err);
void ct_lstore_cert_remove(struct ct_store *st, const char *serial);
int ct_lstore_cert_get(
    struct ct_store *st, const char *serial, struct ct_cert_entry *e, struct ct_err *err);
int ct_lstore_cert_foreach(struct ct_store *st, ct_cert_fn fn, void *ctx, struct ct_err *err);
int ct_lstore_revoke(struct ct_store *st, const struct ct_revocation *r, struct ct_err *err);
int ct_lstore_revoked_read(
    struct ct_store *st, struct ct_revocation **out, size_t *n, struct ct_err *err);
int ct_lstore_revoked_get(
    struct ct_store *st, const char *serial, struct ct_revocation *out, struct ct_err *err);

/* ---- store_ldap_requests.c: pending requests and uploads ---- */

int ct_lstore_request_save(struct ct_store *st, const struct ct_request *r, struct ct_err *err);
int ct_lstore_request_load(
    struct ct_store *st, const char *token, struct ct_request *r, struct ct_err *err);
int ct_lstore_request_remove(struct ct_store *st, const char *token, struct ct_err *err);
int ct_lstore_request_polled(
    struct ct_store *st, const char *token, int64_t when, struct ct_err *err);
int ct_lstore_request_foreach(struct ct_store *st, ct_request_fn fn, void *ctx, struct ct_err *err);
int ct_lstore_upload_save(struct ct_store *st, const char *token, const unsigned char *der,
    size_t len, struct ct_err *err);
int ct_lstore_upload_load(
    struct ct_store *st, const char *token, unsigned char **pem, size_t *len, struct ct_err *err);
void ct_lstore_upload_remove(struct ct_store *st, const char *token);

/* ---- store_ldap_ca.c (fl-ca): the CA material ----
 * The ca_* operations of ct_store_ldap_ops are NULL until store_ldap_ca.c
 * defines these and the table names them. */
int ct_lstore_ca_open(struct ct_store *st, const char *group, unsigned flags, struct ct_cadir **out,
    struct ct_err *err);
void ct_lstore_ca_close(struct ct_cadir *s);
int ct_lstore_ca_current(const struct ct_cadir *s);
int ct_lstore_ca_has(const struct ct_cadir *s, enum ct_ca_item item);
int ct_lstore_ca_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data,
    size_t *len, struct ct_err *err);
int ct_lstore_ca_version(
    struct ct_store *st, const char *group, struct ct_ca_version *out, struct ct_err *err);
int ct_lstore_ca_key_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data,
    size_t *len, struct ct_err *err);
int ct_lstore_ca_create(
    struct ct_store *st, const char *group, const struct ct_ca_content *c, struct ct_err *err);
int ct_lstore_ca_replace(struct ct_cadir *s, const struct ct_ca_content *c, struct ct_err *err);

#endif
