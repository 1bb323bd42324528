/* certtoken internal library: error idiom shared by every module.
 *
 * Functions return 0 (CT_OK) or a negative CT_E* code.  A function that fails
 * also writes one line into the caller's struct ct_err saying what and where;
 * the boundary (CLI, service, PAM module) prints or logs it once.  Library
 * code never logs. */
#ifndef CT_H
#define CT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum {
	CT_OK = 0,
	CT_ENOMEM = -1, /* out of memory */
	CT_EINVAL = -2, /* bad input data: pattern, CSR, key, certificate (exit 65) */
	CT_ECONFIG = -3, /* configuration error (exit 78) */
	CT_EUNAVAIL = -4, /* service or directory unavailable or slow (exit 69) */
	CT_ENOENT = -5, /* a named thing does not exist: user, group CA (exit 65) */
	CT_EPERM = -6, /* refused: unsafe file ownership or mode, policy (exit 77) */
	CT_EIO = -7, /* could not read or write the store (exit 74) */
	CT_ECRYPTO = -8, /* a cryptographic operation failed (exit 70) */
	CT_EEXIST = -9, /* would overwrite something that exists (exit 73) */
	CT_EUSAGE = -10, /* wrong command-line usage (exit 64) */
	CT_EPENDING = -11, /* accepted, not yet issued (exit 75) */
	CT_ELOCKED = -12, /* too many failures: locked for a while (exit 77) */
	CT_ECONFLICT = -13 /* the store changed under a transaction: run it again (exit 75) */
};

#define CT_ERR_MAX 512

struct ct_err {
	int code;
	char msg[CT_ERR_MAX];
};

/* Record CODE and a printf-style message in ERR (if not NULL); returns CODE.
 * A message already present is kept: the first (innermost) failure wins. */
int ct_err_set(struct ct_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message in ERR with printf-style context ("file:12: ") */
void ct_err_prefix(struct ct_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append the first queued OpenSSL error reason to ERR's message and clear the queue. */
void ct_err_openssl(struct ct_err *err);

/* Map a CT_E* code to the sysexits status the CLIs use. */
int ct_exit_status(int code);

/* Reset ERR to "no error". */
void ct_err_clear(struct ct_err *err);

/* Wipe and free a NUL-terminated secret string (NULL is allowed). */
void ct_free_secret(char *s);

/* Append a field of a domain-separated message at *P: a 2-byte big-endian
 * length (LEN must be below 65536), then LEN bytes of DATA; *P advances.
 * The signed messages of logins and uploads are built from these. */
void ct_put_field16(unsigned char **p, const void *data, size_t len);

/* Write S to F as a JSON string (quotes, backslashes and control
 * characters escaped). */
void ct_json_string(FILE *f, const char *s);

#endif
