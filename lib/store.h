/* The store: one handle over a backend, and the files under a files store.
 *
 * Part 1, the handle.  Everything certtoken keeps (each user's token state,
 * the issued-certificate index, the revocations, pending requests,
 * uploaded certificates and the access groups' CA material) is reached
 * through a struct ct_store opened from the configuration: store.backend
 * names the backend ("files", the default, or "ldap"), the backend reads
 * its own settings (the files backend: store.path; the LDAP backend:
 * store.ldap, and store.path for what stays on the host).  Callers
 * never see how or where a backend keeps things.  The operations are
 * declared with their data: tokens.h, certindex.h, requests.h, and for the
 * CA material cadir.h (used through ca.h and rotate.h).
 *
 * The CA material contract, for every backend (details in cadir.h).  A
 * group's CA material is read as one snapshot and replaced whole, never in
 * part: a reader sees the old CA or the new one, never a mix, and reads
 * again when a change replaced what it was reading.  It has two halves:
 * the public one (the current, prepared and previous CA certificates and
 * the end of the previous one's overlap), which is all a verifier reads
 * (ct_ca_trust), and the CA keys, which only the CA host reads (ct_ca_load,
 * rotations).  A backend may keep the two in different places (the keys in
 * the CA host's own files, the certificates in a directory) or not have
 * the keys at all; its operations keep them apart (store_backend.h).  A
 * version (ct_ca_version) changes whenever a group's current CA does.
 *
 * The transaction contract, for every backend.  An update of a user's token
 * state is a transaction: ct_tokens_begin, ct_tokens_read, the caller's
 * checks, ct_tokens_write, ct_tokens_end.
 *   - An update is atomic: a reader sees the state before or after it,
 *     never part of it, and a crash leaves one of the two.
 *   - A concurrent update is never lost: of two transactions on the same
 *     user, the second sees what the first wrote.  A backend that can hold
 *     a lock (files: flock on STORE/tokens/USER.lock) makes the second wait
 *     in ct_tokens_begin.  No wait is unbounded: a lock that is still held
 *     after store.lock_timeout seconds (or the caller's earlier deadline)
 *     fails closed with CT_EUNAVAIL, naming the user and saying the lock is
 *     held, so a holder that never lets go (a process stopped with SIGSTOP)
 *     cannot hang the others.  A backend that cannot (a directory server) may
 *     instead refuse the write of a transaction whose state changed since
 *     its read with CT_ECONFLICT; nothing is written then, and the caller
 *     must retry the WHOLE transaction (read -> verify -> write), since
 *     whatever it verified may no longer hold.
 *   - ct_store_update is the one way callers do this: it runs the
 *     transaction around the caller's function and retries it on
 *     CT_ECONFLICT a bounded number of times.
 * ct_tokens_peek reads without a transaction: it sees a whole state, which
 * may be stale by the time it is used; never write what a peek read.
 *
 * Part 2, files (used by the files backend, and the safe open by every file
 * read that checks trust).  Every directory of a files store must be owned
 * by the effective user and not writable by group or others; files are
 * created 0600.  Reads go through one safe open (O_NOFOLLOW, the descriptor
 * checked: regular file, owner, forbidden mode bits, size cap); writes go
 * to a temporary file in the same directory, are fsync'ed and renamed over
 * the target, and the directory is fsync'ed, so a crash or a full disk
 * leaves the old content, never a torn file. */
#ifndef CT_STORE_H
#define CT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ct.h"

struct ct_config;
struct ct_user_tokens;

/* ---- the handle ---- */

struct ct_store;

#define CT_STORE_CREATE 0x1 /* create what is missing (the service, enrolment) */
#define CT_STORE_TOKENS 0x2 /* the caller uses token state: make it ready now */
#define CT_STORE_PRIMARY                                                                           \
	0x4 /* read from where writes go (LDAP: the write URI, not the                             \
	       replicas): for copies and checks that must not be stale */
#define CT_STORE_RETRIES 16 /* attempts of ct_store_update on CT_ECONFLICT */

/* Is NAME a registered backend?  The names of all of them go to NAMES
 * (SIZE bytes, ", " between them), for messages. */
int ct_store_backend_known(const char *name, char *names, size_t size);

/* Open the store CFG names (store.backend, its settings) with FLAGS.  Token
 * operations need CT_STORE_TOKENS (CT_EINVAL otherwise); with it, whatever
 * makes token state unusable is reported here (files: a missing or unsafe
 * STORE/tokens is CT_ENOENT or CT_EPERM, an unreadable key CT_EIO).
 * CT_ECONFIG for an unknown backend.  The handle does not keep CFG. */
int ct_store_open(
    const struct ct_config *cfg, unsigned flags, struct ct_store **out, struct ct_err *err);
void ct_store_close(struct ct_store *st);

/* What ct_store_update calls inside the transaction: U holds USER's tokens
 * (empty when USER has none).  Verify and change U, then return CT_OK to
 * have U written, CT_STORE_KEEP to end without writing, or a negative code
 * to end without writing and give that code.  FN may run more than once
 * (after a conflict, on fresh state): it must start from U and CTX each
 * time and must not act outside them before the update returns. */
#define CT_STORE_KEEP 1
typedef int (*ct_store_update_fn)(
    void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err);

/* Run begin -> read -> FN -> write -> end on USER; on CT_ECONFLICT start
 * again after a random wait that doubles with each conflict (4 ms at first,
 * at most 128 ms), at most CT_STORE_RETRIES times (then CT_ECONFLICT).
 * Gives CT_OK
 * when FN's answer was written or kept, FN's negative code, or the store's
 * error (never half a write): CT_EUNAVAIL when USER's lock is still held
 * after store.lock_timeout. */
int ct_store_update(
    struct ct_store *st, const char *user, ct_store_update_fn fn, void *ctx, struct ct_err *err);

/* ct_store_update that waits for USER's lock at most until DEADLINE_MS
 * (ct_now_ms clock, proto.h; 0: no deadline of the caller's) and at most
 * store.lock_timeout: then CT_EUNAVAIL "token store: the lock of user U is
 * held by another process; gave up after N s".  Safe for threads sharing
 * ST: the deadline belongs to the call, not to the handle. */
int ct_store_update_until(struct ct_store *st, const char *user, int64_t deadline_ms,
    ct_store_update_fn fn, void *ctx, struct ct_err *err);

/* The moment (ct_now_ms clock) a store operation that starts now must be
 * over: the backend's own bound of one operation from now (LDAP:
 * store.ldap.timeout), else store.lock_timeout.  One deadline for all the
 * steps of one request (an OTP attempt: exists, then the update and its
 * retries), so that together they fail closed within it. */
int64_t ct_store_op_deadline(const struct ct_store *st);

/* ---- files ---- */

#define CT_FILE_MAX (1024 * 1024) /* largest store file we read */

/* Who may own a file that is read with trust. */
enum ct_owner {
	CT_OWNER_ANY, /* anyone (a user's own input) */
	CT_OWNER_ROOT, /* root or the effective uid */
	CT_OWNER_EUID, /* the effective uid only (the store) */
	CT_OWNER_UID /* the policy's uid only */
};

/* How a file that is read with trust is opened and checked. */
struct ct_open_policy {
	enum ct_owner owner;
	uid_t uid; /* with CT_OWNER_UID */
	mode_t forbidden; /* permission bits that must be clear */
	size_t max; /* size cap in bytes */
	int follow; /* follow a symbolic link, checking its target (the configuration) */
	int skip_special; /* a symbolic link or non-regular file is CT_ENOENT (directory scans) */
	const char *unsafe; /* NULL, or the reason given for a wrong owner or mode, which
	                       is then followed by "(owner U, mode M)" */
};

/* The policy of store files: owned by the effective uid, no permission for
 * group or others, at most MAX bytes. */
struct ct_open_policy ct_store_policy(size_t max);

/* Check the owner and mode in ST of PATH against POL: CT_EPERM with "PATH:
 * owned by uid U, not ..." or "PATH: writable by group or others (mode M)"
 * (or POL's reason). */
int ct_safe_check(
    const char *path, const struct stat *st, const struct ct_open_policy *pol, struct ct_err *err);

/* The one safe open of a file read with trust: NAME relative to DIRFD
 * (AT_FDCWD, or an open directory), called PATH in messages, opened
 * O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK (a FIFO cannot hang us) and
 * O_NOFOLLOW unless POL->follow; then the descriptor is checked: a regular
 * file, owner and mode (ct_safe_check), at most POL->max bytes.  Gives the
 * descriptor in *FD and its fstat in *ST.  CT_ENOENT "no such file",
 * CT_EPERM for a symbolic link, a non-regular file or an unsafe owner or
 * mode, CT_EINVAL "larger than N bytes", CT_EIO otherwise. */
int ct_safe_openat(int dirfd, const char *name, const char *path, const struct ct_open_policy *pol,
    int *fd, struct stat *st, struct ct_err *err);

/* ct_safe_openat of PATH, then all of it into a new NUL-terminated buffer. */
int ct_safe_read(const char *path, const struct ct_open_policy *pol, unsigned char **out,
    size_t *len, struct ct_err *err);

/* Check that PATH is a directory owned by the effective uid and not writable
 * by group or others.  CT_ENOENT if missing, CT_EPERM if unsafe. */
int ct_store_check_dir(const char *path, struct ct_err *err);

/* Open directory PATH (O_NOFOLLOW) and check the descriptor as
 * ct_store_check_dir checks the path; gives the descriptor (close-on-exec)
 * in *FD and its fstat in *ST. */
int ct_store_open_dir(const char *path, int *fd, struct stat *st, struct ct_err *err);

/* Create directory PATH with mode 0700 if it does not exist (the parent must
 * exist), then check it as ct_store_check_dir does. */
int ct_store_mkdir(const char *path, struct ct_err *err);

/* ct_safe_read of PATH with ct_store_policy(MAX): a regular file, not a
 * symlink, owned by the effective uid, no group/other permission at all.
 * CT_ENOENT if it does not exist. */
int ct_file_read(
    const char *path, size_t max, unsigned char **out, size_t *len, struct ct_err *err);

/* ct_file_read for NAME (a plain file name) in the open directory DIRFD,
 * called DIR in messages. */
int ct_file_readat(int dirfd, const char *dir, const char *name, size_t max, unsigned char **out,
    size_t *len, struct ct_err *err);

/* Replace PATH atomically with LEN bytes of DATA, mode MODE (0600 for
 * anything secret).  EXCL=1 fails with CT_EEXIST when PATH exists. */
int ct_file_write_atomic(
    const char *path, const void *data, size_t len, mode_t mode, int excl, struct ct_err *err);

/* Write HEAD (text lines, may be "") and then DER (LEN bytes) as one PEM
 * block of TYPE ("CERTIFICATE") to PATH, as ct_file_write_atomic does
 * (mode 0600). */
int ct_file_write_pem(const char *path, const char *head, const char *type,
    const unsigned char *der, size_t len, int excl, struct ct_err *err);

/* Join DIR and NAME into a new string; NULL when out of memory. */
char *ct_path_join(const char *dir, const char *name);

#endif
