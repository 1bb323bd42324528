/* The token store: each user's tokens and their state.
 *
 * Backend-neutral: the operations take the store handle (store.h), which
 * also states the transaction contract every backend keeps; callers update
 * through ct_store_update.  The files backend (store_files*.c) keeps one
 * file per user, STORE/tokens/USER, and a lock file STORE/tokens/USER.lock
 * that is never unlinked: ct_tokens_begin takes the user's exclusive lock
 * and holds it across read -> verify -> write; ct_tokens_write replaces the
 * file atomically (temp + fsync + rename), so a crash or a full disk leaves
 * the old state.  OTP secrets are encrypted at rest with AES-256-GCM under
 * STORE/secret.key (32 random bytes, 0600, created on first use); the user
 * name and token serial are authenticated with each secret, so a secret
 * cannot be moved to another user or token. */
#ifndef CT_TOKENS_H
#define CT_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "ct.h"
#include "otp.h"

#define CT_TOKENS_MAX 16 /* tokens per user */
#define CT_SERIAL_MAX 40 /* bytes of a token serial, with the NUL */
#define CT_DESC_MAX 128 /* bytes of a description, with the NUL */
#define CT_ROLLOUT_MAX 16 /* bytes of a rollout state, with the NUL */
#define CT_USER_MAX 64 /* bytes of a user name */
#define CT_TARGET_MAX 65 /* bytes of a target name, with the NUL */
#define CT_CERT_SERIAL_MAX 41 /* upper-case hex of a 20-octet serial, with the NUL */
#define CT_ISSUER_MAX 256 /* bytes of an issuer name (RFC 2253), with the NUL */
#define CT_PERIOD_MAX 3600 /* TOTP seconds, as the OTP engine accepts */

enum ct_token_type { CT_TOKEN_HOTP, CT_TOKEN_TOTP, CT_TOKEN_CERT };

/* "hotp" "totp" "certificate" <-> enum; parse gives -1 when unknown. */
int ct_token_type_parse(const char *name);
const char *ct_token_type_name(enum ct_token_type t);

struct ct_token {
	char serial[CT_SERIAL_MAX];
	enum ct_token_type type;
	int active; /* 0: disabled by an administrator */
	enum ct_otp_algo algo;
	int digits;
	int period; /* TOTP seconds */
	unsigned char secret[CT_OTP_SECRET_MAX]; /* plaintext, in memory only */
	size_t secret_len;
	uint64_t counter; /* HOTP: the next counter to accept */
	int64_t last_step; /* TOTP: the last accepted time step, -1 if none */
	int failcount; /* OTP failures of the user since the last success */
	int64_t lock_until; /* epoch seconds: attempts throttled until then; 0: not */
	char rollout_state[CT_ROLLOUT_MAX]; /* "enrolled", "pending", ... */
	char description[CT_DESC_MAX];
	int64_t created; /* epoch seconds */
	/* certificate tokens ("" and 0 for OTP tokens) */
	char target[CT_TARGET_MAX]; /* the target it was issued for */
	char cert_serial[CT_CERT_SERIAL_MAX]; /* the certificate's serial, hex */
	int64_t not_after; /* the certificate's notAfter, epoch seconds */
	int64_t not_before; /* its notBefore (0: not recorded) */
	char issuer[CT_ISSUER_MAX]; /* its issuer, RFC 2253 ("" : not recorded) */
};

#define CT_SOURCES_MAX 8 /* sources of OTP attempts kept per user */
#define CT_SOURCES_KNOWN_MAX 4 /* of those, known ones (CT_SOURCES_MAX - this stay free) */
#define CT_SOURCE_ID_LEN 16 /* hex digits of a source id */

/* Where a user's OTP attempts came from (lib/auth.c): a remote host or a
 * local user, by id (the first CT_SOURCE_ID_LEN hex digits of the SHA-256
 * of its name, so the store keeps no addresses).  Each source has its own
 * failure count and throttle; a known source (a code was accepted from it)
 * is not held back by the user's throttle. */
struct ct_source {
	char id[CT_SOURCE_ID_LEN + 1]; /* lower-case hex */
	int failcount; /* failures from it since its last success */
	int64_t until; /* epoch seconds: its attempts throttled until then; 0: not */
	int64_t last; /* epoch seconds of its last counted or accepted attempt */
	int known; /* 1: a code was accepted from it */
};

struct ct_user_tokens {
	struct ct_token tok[CT_TOKENS_MAX];
	size_t n;
	struct ct_source src[CT_SOURCES_MAX]; /* kept only while the user has tokens */
	size_t n_src;
};

/* Wipe every secret in T and empty it. */
void ct_user_tokens_clear(struct ct_user_tokens *t);

/* Is NAME acceptable as a user name in the store: 1-63 bytes of
 * [A-Za-z0-9._@-], not starting with '.' or '-', not ending in ".lock" and
 * not containing ".tmp." (names reserved for the store's own files)? */
int ct_tokens_user_valid(const char *name);

/* A new random token serial with PREFIX ("TOTP", "HOTP", "CERT") into OUT. */
int ct_tokens_new_serial(const char *prefix, char out[CT_SERIAL_MAX]);

/* Is S shorter than MAX bytes, all of [A-Za-z0-9._@-], and not empty
 * unless EMPTY_OK? */
int ct_tokens_word_valid(const char *s, size_t max, int empty_ok);

/* Is S upper-case hex, an even number of digits, shorter than MAX (may be
 * empty)? */
int ct_tokens_hex_valid(const char *s, size_t max);

/* What is wrong with token T ("bad serial", ...), or NULL. */
const char *ct_token_problem(const struct ct_token *t);

/* What is wrong with source S ("bad id", ...), or NULL. */
const char *ct_source_problem(const struct ct_source *s);

/* CT_EINVAL with the reason unless IN is a storable set: at most
 * CT_TOKENS_MAX tokens, each without a problem, no serial twice; at most
 * CT_SOURCES_MAX sources, each without a problem, no id twice, at most
 * CT_SOURCES_KNOWN_MAX known. */
int ct_tokens_check(const struct ct_user_tokens *in, struct ct_err *err);

struct ct_store;
struct ct_tokens_tx;

/* Start a transaction on USER in ST (opened with CT_STORE_TOKENS): the
 * files backend takes the user's exclusive lock, waiting at most
 * store.lock_timeout (then CT_EUNAVAIL).  CT_EINVAL for a user name
 * ct_tokens_user_valid refuses.  Callers that update use ct_store_update
 * (store.h), which retries on CT_ECONFLICT. */
int ct_tokens_begin(
    struct ct_store *st, const char *user, struct ct_tokens_tx **out, struct ct_err *err);

/* ct_tokens_begin that also gives up at DEADLINE_MS (ct_now_ms clock; 0:
 * only store.lock_timeout). */
int ct_tokens_begin_until(struct ct_store *st, const char *user, int64_t deadline_ms,
    struct ct_tokens_tx **out, struct ct_err *err);

/* Read the user's tokens (secrets decrypted).  CT_ENOENT when the user has
 * none; CT_EIO with the place (files: FILE:LINE) when the state is corrupt
 * or a secret does not decrypt (never treated as "no tokens"). */
int ct_tokens_read(struct ct_tokens_tx *tx, struct ct_user_tokens *out, struct ct_err *err);

/* Replace the user's tokens atomically (an empty set removes them); IN is
 * checked with ct_tokens_check first.  A backend without locks may answer
 * CT_ECONFLICT (nothing written): the transaction must be run again. */
int ct_tokens_write(struct ct_tokens_tx *tx, const struct ct_user_tokens *in, struct ct_err *err);

/* End the transaction and release the lock (NULL is allowed). */
void ct_tokens_end(struct ct_tokens_tx *tx);

/* Might USER have tokens?  0 only when they certainly do not exist (or the
 * name is unusable); cheap, takes no lock and creates nothing, so a login
 * attempt for a name without tokens leaves no trace in the store.  (1 for
 * a store not opened for token state: the transaction then says why.) */
int ct_tokens_exists(struct ct_store *st, const char *user);

/* ct_tokens_exists that gives up at DEADLINE_MS (ct_now_ms clock; 0: none),
 * answering 1 then ("cannot tell"). */
int ct_tokens_exists_until(struct ct_store *st, const char *user, int64_t deadline_ms);

/* Read USER's tokens without a transaction (for listing); as ct_tokens_read. */
int ct_tokens_peek(
    struct ct_store *st, const char *user, struct ct_user_tokens *out, struct ct_err *err);

/* Call FN(CTX, user) for every user with tokens, in no particular order;
 * stops when FN returns non-zero and returns that value. */
int ct_tokens_foreach_user(
    struct ct_store *st, int (*fn)(void *ctx, const char *user), void *ctx, struct ct_err *err);

#endif
