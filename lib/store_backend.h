/* What a store backend implements: a table of operations behind the
 * struct ct_store handle (store.h).  Private to lib/ (and to tests).
 *
 * A backend embeds struct ct_store as the first member of its handle,
 * struct ct_tokens_tx as the first member of its transaction and struct
 * ct_cadir as the first member of its CA snapshot, and keeps to the
 * transaction contract in store.h and the CA material's in cadir.h.  The
 * callers' wrappers (tokens.c, certindex.c, requests.c, cadir.c) check
 * names, serials, token sets and CA contents before an operation reaches
 * the backend, so a backend is only given valid ones.  Backends are
 * registered in one place, the table in store_open.c. */
#ifndef CT_STORE_BACKEND_H
#define CT_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "cadir.h"
#include "certindex.h"
#include "conf.h"
#include "ct.h"
#include "requests.h"
#include "store.h"
#include "tokens.h"

struct ct_store_ops;

struct ct_store {
	const struct ct_store_ops *ops;
	unsigned flags; /* CT_STORE_* it was opened with */
	int lock_timeout; /* store.lock_timeout: seconds */
	int op_timeout_ms; /* a backend's own bound of one operation (0: lock_timeout) */
};

struct ct_tokens_tx {
	struct ct_store *st;
	char user[CT_USER_MAX];
	/* set by ct_store_update right after tx_begin (0 otherwise): which
	 * attempt this is, from 0; a backend that reads from replicas reads a
	 * retry (attempt > 0) from where it writes */
	int attempt;
};

typedef int (*ct_user_fn)(void *ctx, const char *user);
typedef int (*ct_cert_fn)(void *ctx, const struct ct_cert_entry *e);
typedef int (*ct_request_fn)(void *ctx, const struct ct_request *r);

struct ct_store_ops {
	const char *name; /* the value of store.backend */
	/* the handle */
	int (*open)(
	    const struct ct_config *cfg, unsigned flags, struct ct_store **out, struct ct_err *err);
	void (*close)(struct ct_store *st);
	/* per-user token state: a transaction (begin, read, write, end).
	 * tx_begin waits for the user's state at most until
	 * ct_store_lock_deadline(st, DEADLINE_MS), then gives CT_EUNAVAIL. */
	int (*tx_begin)(struct ct_store *st, const char *user, int64_t deadline_ms,
	    struct ct_tokens_tx **out, struct ct_err *err);
	int (*tx_read)(struct ct_tokens_tx *tx, struct ct_user_tokens *out, struct ct_err *err);
	int (*tx_write)(
	    struct ct_tokens_tx *tx, const struct ct_user_tokens *in, struct ct_err *err);
	void (*tx_end)(struct ct_tokens_tx *tx);
	/* tokens_exists gives up at DEADLINE_MS (0: none) and then says "maybe" */
	int (*tokens_exists)(struct ct_store *st, const char *user, int64_t deadline_ms);
	int (*tokens_peek)(
	    struct ct_store *st, const char *user, struct ct_user_tokens *out, struct ct_err *err);
	int (*tokens_foreach_user)(
	    struct ct_store *st, ct_user_fn fn, void *ctx, struct ct_err *err);
	/* the issued-certificate index */
	int (*cert_add)(struct ct_store *st, const struct ct_cert_entry *e,
	    const unsigned char *der, size_t len, struct ct_err *err);
	void (*cert_remove)(struct ct_store *st, const char *serial);
	int (*cert_get)(
	    struct ct_store *st, const char *serial, struct ct_cert_entry *e, struct ct_err *err);
	int (*cert_foreach)(struct ct_store *st, ct_cert_fn fn, void *ctx, struct ct_err *err);
	/* revocations: added under the backend's own serialisation */
	int (*revoke)(struct ct_store *st, const struct ct_revocation *r, struct ct_err *err);
	int (*revoked_read)(
	    struct ct_store *st, struct ct_revocation **out, size_t *n, struct ct_err *err);
	/* the revocation of one SERIAL into OUT: CT_ENOENT when it is not
	 * revoked.  Optional (NULL: ct_revoked_get reads the whole list) */
	int (*revoked_get)(
	    struct ct_store *st, const char *serial, struct ct_revocation *out, struct ct_err *err);
	/* pending requests */
	int (*request_save)(struct ct_store *st, const struct ct_request *r, struct ct_err *err);
	int (*request_load)(
	    struct ct_store *st, const char *token, struct ct_request *r, struct ct_err *err);
	int (*request_remove)(struct ct_store *st, const char *token, struct ct_err *err);
	/* set the polled time of an existing request (called inside its user's
	 * token transaction, see ct_request_poll) */
	int (*request_polled)(
	    struct ct_store *st, const char *token, int64_t when, struct ct_err *err);
	int (*request_foreach)(
	    struct ct_store *st, ct_request_fn fn, void *ctx, struct ct_err *err);
	/* uploaded certificates (PEM) */
	int (*upload_save)(struct ct_store *st, const char *token, const unsigned char *der,
	    size_t len, struct ct_err *err);
	int (*upload_load)(struct ct_store *st, const char *token, unsigned char **pem, size_t *len,
	    struct ct_err *err);
	void (*upload_remove)(struct ct_store *st, const char *token);
	/* CA material, public: the certificates and the overlap's end (cadir.h),
	 * what every verifier reads.  ca_open gives a snapshot of GROUP's
	 * (CT_ENOENT: no CA; with CT_CADIR_CHANGE, held against the group's
	 * other changes until ca_close), with its where and names set;
	 * ca_current tells whether it is still the group's; ca_has tells
	 * whether it has an item (a key: whether the CA host has it); ca_read
	 * gives a public item (CT_ENOENT when the snapshot has none).  ca_version
	 * changes whenever the group's current CA does. */
	int (*ca_open)(struct ct_store *st, const char *group, unsigned flags,
	    struct ct_cadir **out, struct ct_err *err);
	void (*ca_close)(struct ct_cadir *s);
	int (*ca_current)(const struct ct_cadir *s);
	int (*ca_has)(const struct ct_cadir *s, enum ct_ca_item item);
	int (*ca_read)(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data,
	    size_t *len, struct ct_err *err);
	int (*ca_version)(
	    struct ct_store *st, const char *group, struct ct_ca_version *out, struct ct_err *err);
	/* CA material, private: the CA keys, read and written on the CA host
	 * only.  A backend that serves the certificates from a shared place
	 * keeps the keys in the CA host's own files: ca_key_read reads them
	 * there, and ca_create and ca_replace store a content's keys there and
	 * its public items in the shared place.  A backend without keys (a
	 * verifier's) leaves these NULL: reading a key or changing a CA is then
	 * CT_EPERM.  A backend without CA material at all leaves every ca_ op
	 * NULL: CT_ECONFIG. */
	int (*ca_key_read)(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data,
	    size_t *len, struct ct_err *err);
	int (*ca_create)(struct ct_store *st, const char *group, const struct ct_ca_content *c,
	    struct ct_err *err);
	int (*ca_replace)(struct ct_cadir *s, const struct ct_ca_content *c, struct ct_err *err);
	/* the group's latest CRL (PEM, one block per trusted CA), kept beside
	 * its CA material but outside the snapshot: publishing one replaces
	 * the last one whole and changes neither the CA material nor its
	 * version.  crl_read gives CT_ENOENT when none was published.  NULL
	 * (a backend without CA material): CT_ECONFIG. */
	int (*crl_publish)(struct ct_store *st, const char *group, const char *pem, size_t len,
	    struct ct_err *err);
	int (*crl_read)(struct ct_store *st, const char *group, unsigned char **pem, size_t *len,
	    struct ct_err *err);
};

/* The files backend (store_files.c). */
extern const struct ct_store_ops ct_store_files_ops;

/* The moment (ct_now_ms clock) a wait of ST for a lock must end: DEADLINE_MS
 * (0: none) or store.lock_timeout from now, whichever comes first.  Every
 * lock a backend takes is bounded by it. */
int64_t ct_store_lock_deadline(const struct ct_store *st, int64_t deadline_ms);

/* Test hook: make OPS available as store.backend = OPS->name (one extra
 * backend at a time; NULL removes it). */
void ct_store_backend_register(const struct ct_store_ops *ops);

#endif
