/* The files backend of the store: private to its files (store_files*.c).
 *
 * Layout under STORE (store.path), every directory 0700 and owned by the
 * effective uid, every file 0600:
 *   secret.key              the key of the token secrets (store_files_seal.c)
 *   tokens/USER, USER.lock  each user's tokens and its lock (store_files_tokens.c,
 *                           format in store_files_tokfile.c)
 *   certs/SERIAL.pem, revoked, revoked.lock   the issued-certificate index and
 *                           the revocations (store_files_certs.c)
 *   requests/TOKEN, uploads/TOKEN.pem         pending requests and uploaded
 *                           certificates (store_files_requests.c)
 *   groups/GROUP/           each access group's CA material, one file per item
 *                           of cadir.h (store_files_ca.c, store_files_capub.c):
 *     ca.key, ca.pem              the current CA's private key and certificate
 *     previous.key, previous.pem  the CA the last rotation replaced,
 *     previous.until              and the end of its overlap
 *     next.key, next.pem          the prepared CA (there is one when next.pem
 *                                 exists)
 *     crl.number                  the last CRL number given out
 *     ssh_ca.key, ssh_ca.pub      the SSH CA's private key and public key line
 *     previous_ssh.key, .pub      the SSH CA the last rotation replaced
 *     next_ssh.key, next_ssh.pub  the prepared SSH CA
 *   crl/GROUP.pem           the group's latest published CRL (`certtoken-admin crl`),
 *                           outside the group directory: not part of its snapshot
 *   groups/.GROUP.lock      taken by the rotations and preparations of GROUP
 *                           (never unlinked)
 *   groups/.GROUP.rotate    a rotation's work directory (removed when it is done,
 *                           or by the next rotation after a crash)
 * Group names never start with a dot, so the last two are never a group.
 * A group directory is never changed in place: `ca init` renames a complete
 * one into place, a change builds a complete new one and swaps it in with
 * renameat2 RENAME_EXCHANGE (the file system must support it).  A snapshot
 * holds the group directory open and reads its files relative to it; it is
 * still current while the path names the same directory.
 * store_files.c opens and closes the handle and holds the operations table. */
#ifndef CT_STORE_FILES_H
#define CT_STORE_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "store_backend.h"
#include "util.h"

#define CT_FILES_KEY_LEN 32
#define CT_FILES_NONCE_LEN 12
#define CT_FILES_TAG_LEN 16
#define CT_FILES_SEALED_MAX (CT_FILES_NONCE_LEN + CT_OTP_SECRET_MAX + CT_FILES_TAG_LEN)
#define CT_FILES_LOCK_SUFFIX ".lock"

/* The key the OTP secrets are sealed with. */
struct ct_files_keys {
	EVP_CIPHER *gcm; /* fetched once per handle */
	unsigned char key[CT_FILES_KEY_LEN];
};

struct ct_files_store {
	struct ct_store base;
	char *path; /* STORE */
	char *tokens_dir; /* STORE/tokens; NULL without CT_STORE_TOKENS */
	struct ct_files_keys keys;
};

/* ST's files handle. */
static inline struct ct_files_store *
ct_files_of(struct ct_store *st)
{
	return (struct ct_files_store *)st;
}

/* ---- store_files_seal.c: AES-256-GCM, AAD "certtoken-tokens 3|USER|SERIAL" ---- */

/* Read STORE/secret.key into K, or create it when CREATE (exclusively:
 * racing creators agree); fetch the cipher. */
int ct_files_keys_load(struct ct_files_keys *k, const char *store, int create, struct ct_err *err);
void ct_files_keys_free(struct ct_files_keys *k);

/* Encrypt T's secret for USER into OUT = nonce || ciphertext || tag. */
int ct_files_seal(const struct ct_files_keys *k, const char *user, const struct ct_token *t,
    unsigned char out[CT_FILES_SEALED_MAX], size_t *out_len);

/* Decrypt and authenticate IN (LEN bytes) of USER's token SERIAL into PT. */
int ct_files_unseal(const struct ct_files_keys *k, const char *user, const char *serial,
    const unsigned char *in, size_t len, unsigned char pt[CT_OTP_SECRET_MAX], size_t *pt_len);

/* ---- store_files_tokfile.c: the token file's format ---- */

/* Read and parse USER's token file PATH (CT_ENOENT when missing, CT_EIO
 * with "PATH:LINE:" when corrupt). */
int ct_files_tokens_load(const struct ct_files_keys *k, const char *user, const char *path,
    struct ct_user_tokens *out, struct ct_err *err);

/* Write IN (checked, not empty) as USER's token file PATH, atomically. */
int ct_files_tokens_save(const struct ct_files_keys *k, const char *user, const char *path,
    const struct ct_user_tokens *in, struct ct_err *err);

#define CT_FILES_TOKEN_LINE_MAX 4096 /* bytes of one token's line */

/* Append token T of USER to B as its line in the token file, without
 * "token " and the newline ("serial=S type=... secret=HEX"): the one
 * format a token is kept in by every backend.  WHERE names the place in
 * messages. */
int ct_files_token_line_format(const struct ct_files_keys *k, const char *user, const char *where,
    const struct ct_token *t, struct ct_textbuf *b, struct ct_err *err);

/* Parse LINE (LEN bytes, as ct_files_token_line_format writes it) as a
 * token of USER into T, the secret decrypted: CT_EIO "WHERE:N: what" when
 * it is not one (T cleared). */
int ct_files_token_line_parse(const struct ct_files_keys *k, const char *user, const char *where,
    unsigned n, const char *line, size_t len, struct ct_token *t, struct ct_err *err);

#define CT_FILES_SOURCE_LINE_MAX 128 /* bytes of one source's line */

/* Append source S to B as its line in the token file, without "source "
 * and the newline ("id=HEX failcount=N until=T last=T known=0|1"). */
void ct_files_source_line_format(const struct ct_source *s, struct ct_textbuf *b);

/* Parse LINE (LEN bytes, as ct_files_source_line_format writes it) into S:
 * CT_EIO "WHERE:N: what" when it is not one. */
int ct_files_source_line_parse(const char *where, unsigned n, const char *line, size_t len,
    struct ct_source *s, struct ct_err *err);

/* ---- store_files_tokens.c: transactions under flock ---- */

int ct_files_tx_begin(struct ct_store *st, const char *user, int64_t deadline_ms,
    struct ct_tokens_tx **out, struct ct_err *err);
int ct_files_tx_read(struct ct_tokens_tx *tx, struct ct_user_tokens *out, struct ct_err *err);
int ct_files_tx_write(struct ct_tokens_tx *tx, const struct ct_user_tokens *in, struct ct_err *err);
void ct_files_tx_end(struct ct_tokens_tx *tx);
int ct_files_tokens_exists(struct ct_store *st, const char *user, int64_t deadline_ms);
int ct_files_tokens_peek(
    struct ct_store *st, const char *user, struct ct_user_tokens *out, struct ct_err *err);
int ct_files_tokens_foreach_user(struct ct_store *st, ct_user_fn fn, void *ctx, struct ct_err *err);

/* Open (creating) the lock file PATH and wait for its exclusive lock until
 * DEADLINE_MS (ct_now_ms clock: from ct_store_lock_deadline), trying again
 * every 1 to 8 ms, newcomers behind those already waiting; the lock file is
 * never unlinked.  Gives the descriptor
 * (closing it unlocks).  When the deadline passes: CT_EUNAVAIL "WHAT is
 * held by another process; gave up after N s". */
int ct_files_lock(
    const char *path, int64_t deadline_ms, const char *what, int *fd, struct ct_err *err);

/* ---- store_files_certs.c: the certificate index and the revocations ---- */

int ct_files_cert_add(struct ct_store *st, const struct ct_cert_entry *e, const unsigned char *der,
    size_t len, struct ct_err *err);
void ct_files_cert_remove(struct ct_store *st, const char *serial);
int ct_files_cert_get(
    struct ct_store *st, const char *serial, struct ct_cert_entry *e, struct ct_err *err);
int ct_files_cert_foreach(struct ct_store *st, ct_cert_fn fn, void *ctx, struct ct_err *err);
int ct_files_revoke(struct ct_store *st, const struct ct_revocation *r, struct ct_err *err);
int ct_files_revoked_read(
    struct ct_store *st, struct ct_revocation **out, size_t *n, struct ct_err *err);

/* ---- store_files_requests.c: pending requests and uploads ---- */

int ct_files_request_save(struct ct_store *st, const struct ct_request *r, struct ct_err *err);
int ct_files_request_load(
    struct ct_store *st, const char *token, struct ct_request *r, struct ct_err *err);
int ct_files_request_remove(struct ct_store *st, const char *token, struct ct_err *err);
int ct_files_request_polled(
    struct ct_store *st, const char *token, int64_t when, struct ct_err *err);
int ct_files_request_foreach(struct ct_store *st, ct_request_fn fn, void *ctx, struct ct_err *err);
int ct_files_upload_save(struct ct_store *st, const char *token, const unsigned char *der,
    size_t len, struct ct_err *err);
int ct_files_upload_load(
    struct ct_store *st, const char *token, unsigned char **pem, size_t *len, struct ct_err *err);
void ct_files_upload_remove(struct ct_store *st, const char *token);

/* ---- store_files_ca.c, store_files_capub.c: the CA material ---- */

/* A snapshot: the group directory, open. */
struct ct_files_cadir {
	struct ct_cadir base;
	char *dir; /* STORE/groups/GROUP */
	int fd;
	struct stat st; /* of FD: the snapshot is current while DIR names it */
	int lock; /* with CT_CADIR_CHANGE: the group's lock, else -1 */
};

/* STORE/groups/GROUP into *OUT (malloc'd), creating STORE and STORE/groups
 * when CREATE, else checking them (owner, mode). */
int ct_files_ca_dir(
    struct ct_store *st, const char *group, int create, char **out, struct ct_err *err);

/* The file name of ITEM in a group directory. */
const char *ct_files_ca_file(enum ct_ca_item item);

/* STORE/groups/.GROUP SUFFIX for the group directory DIR (STORE/groups/GROUP),
 * malloc'd: a name no group can have, since group names never start with a
 * dot.  NULL when out of memory. */
char *ct_files_ca_aux(const char *dir, const char *suffix);

/* Take the lock that serialises the changes of the group in DIR (the file
 * is never unlinked), waiting until DEADLINE_MS as ct_files_lock does;
 * gives its descriptor, closing it releases the lock. */
int ct_files_ca_lock(const char *dir, int64_t deadline_ms, int *out, struct ct_err *err);

int ct_files_ca_open(struct ct_store *st, const char *group, unsigned flags, struct ct_cadir **out,
    struct ct_err *err);
void ct_files_ca_close(struct ct_cadir *s);
int ct_files_ca_current(const struct ct_cadir *s);
int ct_files_ca_has(const struct ct_cadir *s, enum ct_ca_item item);
int ct_files_ca_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data,
    size_t *len, struct ct_err *err);
int ct_files_ca_key_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data,
    size_t *len, struct ct_err *err);
int ct_files_ca_version(
    struct ct_store *st, const char *group, struct ct_ca_version *out, struct ct_err *err);
int ct_files_ca_create(
    struct ct_store *st, const char *group, const struct ct_ca_content *c, struct ct_err *err);
int ct_files_ca_replace(struct ct_cadir *s, const struct ct_ca_content *c, struct ct_err *err);
/* The group's latest CRL, STORE/crl/GROUP.pem, outside the group directory
 * (a rotation swaps that whole). */
int ct_files_crl_publish(
    struct ct_store *st, const char *group, const char *pem, size_t len, struct ct_err *err);
int ct_files_crl_read(
    struct ct_store *st, const char *group, unsigned char **pem, size_t *len, struct ct_err *err);

#endif
