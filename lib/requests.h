/* Certificate requests that are not issued yet, and uploaded certificates,
 * in the store (store.h).
 *
 * Files backend layout (0600 files in 0700 directories):
 *   STORE/requests/TOKEN   a pending request of certificate token TOKEN:
 *                          "certtoken-request 1", then "user=", "target=",
 *                          "created=", "polled=" (only once a fetch has
 *                          asked the CA again; files without it are read
 *                          as never asked), "ref=" (the external CA's
 *                          request reference, "-" when none) and "csr="
 *                          (base64 of the DER CSR) lines
 *   STORE/uploads/TOKEN.pem  the certificate of an uploaded certificate token
 *
 * A request file exists exactly while its token's rollout_state is
 * "pending"; whoever changes that state does so inside the user's token
 * transaction (ct_tokens_begin), which is what serialises an approval
 * against a rejection or a fetch. */
#ifndef CT_REQUESTS_H
#define CT_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "ct.h"
#include "tokens.h"

struct ct_store;

#define CT_REF_MAX 129 /* bytes of an external request reference, with the NUL */
#define CT_REQUEST_CSR_MAX (64 * 1024) /* bytes of a DER CSR we keep */

struct ct_request {
	char token[CT_SERIAL_MAX];
	char user[CT_USER_MAX];
	char target[CT_TARGET_MAX];
	char ref[CT_REF_MAX]; /* "-": none */
	int64_t created;
	int64_t polled; /* when a fetch last asked the CA again; 0: never */
	unsigned char *csr; /* DER */
	size_t csr_len;
};

/* Is S usable as a token serial in a request (1-39 of [A-Za-z0-9._-], not
 * starting with '.')? */
int ct_request_token_valid(const char *s);

/* Is S usable as an external reference (1-128 of [A-Za-z0-9._:/+=-])? */
int ct_request_ref_valid(const char *s);

/* Save R (files: STORE/requests/R->token, the directory created 0700 when
 * missing).  CT_EEXIST when there is one already. */
int ct_request_save(struct ct_store *st, const struct ct_request *r, struct ct_err *err);

/* Read the request of TOKEN.  CT_ENOENT when there is none; CT_EIO when
 * the file is corrupt. */
int ct_request_load(
    struct ct_store *st, const char *token, struct ct_request *r, struct ct_err *err);

/* Remove the request of TOKEN (no error when it is gone). */
int ct_request_remove(struct ct_store *st, const char *token, struct ct_err *err);

/* Call FN for every pending request; stops at a non-zero return. */
int ct_request_foreach(struct ct_store *st, int (*fn)(void *ctx, const struct ct_request *r),
    void *ctx, struct ct_err *err);

void ct_request_clear(struct ct_request *r);

/* May a fetch ask the CA again about USER's pending request TOKEN at NOW,
 * when one request may ask at most once every INTERVAL seconds?  Decided
 * inside USER's token transaction, so two connections never both pass and
 * a request decided meanwhile is not written back: CT_OK, with the
 * request's polled time set to NOW; CT_EPENDING when it asked less than
 * INTERVAL seconds ago, with *NEXT the first time it may ask again;
 * CT_EEXIST when TOKEN is no longer pending; a store error otherwise.  A
 * polled time after NOW (the clock went back) does not hold a fetch back.
 * USER's lock is waited for at most until DEADLINE_MS (ct_now_ms clock; 0:
 * only store.lock_timeout), then CT_EUNAVAIL. */
int ct_request_poll(struct ct_store *st, const char *user, const char *token, int interval,
    int64_t now, int64_t deadline_ms, int64_t *next, struct ct_err *err);

/* The uploaded certificate of TOKEN (files: STORE/uploads/TOKEN.pem): save
 * (PEM of DER; CT_EEXIST when there is one), read (PEM into a new buffer;
 * CT_ENOENT when none), remove. */
int ct_upload_save(struct ct_store *st, const char *token, const unsigned char *der, size_t len,
    struct ct_err *err);
int ct_upload_load(
    struct ct_store *st, const char *token, unsigned char **pem, size_t *len, struct ct_err *err);
void ct_upload_remove(struct ct_store *st, const char *token);

#endif
