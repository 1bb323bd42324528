/* The files backend's file formats parsed from memory: what its readers
 * call once a file is read, and what the fuzz targets (fuzz/) call.
 * Private to the backend and the fuzz targets. */
#ifndef CT_STORE_FILES_PARSE_H
#define CT_STORE_FILES_PARSE_H

#include <stddef.h>

#include "store_files.h"

/* Parse the LEN bytes at TEXT as USER's token file (named PATH in
 * messages) into OUT: CT_EIO with "PATH:LINE:" when corrupt. */
int ct_files_tokens_parse(const struct ct_files_keys *k, const char *user, const char *path,
    const char *text, size_t len, struct ct_user_tokens *out, struct ct_err *err);

/* Parse BUF (LEN bytes and a NUL after them) as the index entry PATH of
 * certificate SERIAL into E: CT_EIO when malformed, E cleared. */
int ct_files_cert_entry_parse(const char *path, const char *serial, const unsigned char *buf,
    size_t len, struct ct_cert_entry *e, struct ct_err *err);

/* Parse TEXT (NUL-terminated; its newlines are overwritten) as the
 * revocation list PATH into a new array *OUT (free) of *N entries. */
int ct_files_revoked_parse(
    const char *path, char *text, struct ct_revocation **out, size_t *n, struct ct_err *err);

/* Parse BUF (LEN bytes and a NUL after them) as the pending request file
 * PATH into R (its token is left alone): CT_EIO when corrupt, R cleared. */
int ct_files_request_parse(const char *path, const unsigned char *buf, size_t len,
    struct ct_request *r, struct ct_err *err);

#endif
