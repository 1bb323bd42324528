/* Files under the store: safe opens and atomic writes.
 *
 * The store is root's: every directory must be owned by the effective user
 * and not writable by group or others; files are created 0600.  Reads use
 * O_NOFOLLOW and check the descriptor (regular file, owner, no group/other
 * write, size cap); writes go to a temporary file in the same directory,
 * are fsync'ed and renamed over the target, and the directory is fsync'ed,
 * so a crash or a full disk leaves the old content, never a torn file. */
#ifndef CT_STORE_H
#define CT_STORE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ct.h"

#define CT_FILE_MAX (1024 * 1024) /* largest store file we read */

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

/* Read all of PATH (a regular file, not a symlink, owned by the effective
 * uid, no group/other permission at all, at most MAX bytes) into a new
 * NUL-terminated buffer.  CT_ENOENT if it does not exist. */
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
