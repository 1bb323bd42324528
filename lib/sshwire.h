/* The SSH wire encoding (RFC 4251 section 5) for sshcert and sshkrl: one
 * bounded reader that consumes a field or fails (leaving the reader where it
 * was), and a growable writer that remembers its first failure.  Internal
 * to lib/. */
#ifndef CT_SSHWIRE_H
#define CT_SSHWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ct.h"

#define CT_SSHW_MAX (4 * 1024 * 1024) /* bytes a writer holds at most */

/* A reader: LEFT bytes from P on; CTX names the object in messages ("ssh
 * certificate"). */
struct ct_sshr {
	const unsigned char *p;
	size_t left;
	const char *ctx;
};

/* A reader over the LEN bytes at P, named CTX. */
void ct_sshr_init(struct ct_sshr *r, const unsigned char *p, size_t len, const char *ctx);

/* Read a byte, a uint32 or a uint64 (big-endian) named WHAT.  CT_EINVAL. */
int ct_sshr_u8(struct ct_sshr *r, const char *what, uint8_t *v, struct ct_err *err);
int ct_sshr_u32(struct ct_sshr *r, const char *what, uint32_t *v, struct ct_err *err);
int ct_sshr_u64(struct ct_sshr *r, const char *what, uint64_t *v, struct ct_err *err);

/* Read a string named WHAT of at most MAX bytes: *P points at its content
 * in the reader's bytes, *LEN is its length.  CT_EINVAL. */
int ct_sshr_string(struct ct_sshr *r, const char *what, size_t max, const unsigned char **p,
    size_t *len, struct ct_err *err);

/* Read a string named WHAT of at most MAX bytes and no NUL byte as a new
 * NUL-terminated string (free()).  CT_EINVAL, CT_ENOMEM. */
int ct_sshr_cstring(struct ct_sshr *r, const char *what, size_t max, char **s, struct ct_err *err);

/* Read a string named WHAT that must equal S.  CT_EINVAL. */
int ct_sshr_expect(struct ct_sshr *r, const char *what, const char *s, struct ct_err *err);

/* Read an mpint named WHAT that must be non-negative, in its shortest form
 * and of at most MAX magnitude bytes: *P and *LEN are its magnitude without the
 * sign octet (LEN 0 for zero).  CT_EINVAL. */
int ct_sshr_mpint(struct ct_sshr *r, const char *what, size_t max, const unsigned char **p,
    size_t *len, struct ct_err *err);

/* CT_OK when R has been read to its end, else CT_EINVAL naming WHAT. */
int ct_sshr_done(const struct ct_sshr *r, const char *what, struct ct_err *err);

/* A writer.  Zero it to start; after a failure (memory, or over
 * CT_SSHW_MAX) every put does nothing and FAILED stays set. */
struct ct_sshw {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

void ct_sshw_u8(struct ct_sshw *w, uint8_t v);
void ct_sshw_u32(struct ct_sshw *w, uint32_t v);
void ct_sshw_u64(struct ct_sshw *w, uint64_t v);
/* N raw bytes at P. */
void ct_sshw_raw(struct ct_sshw *w, const void *p, size_t n);
/* A string: uint32 length, then N bytes at P. */
void ct_sshw_string(struct ct_sshw *w, const void *p, size_t n);
/* A string holding the text S. */
void ct_sshw_cstring(struct ct_sshw *w, const char *s);
/* An mpint of the non-negative big-endian magnitude of N bytes at P (leading
 * zero bytes dropped, a zero octet added when the top bit is set). */
void ct_sshw_mpint(struct ct_sshw *w, const unsigned char *p, size_t n);

/* Hand W's bytes over (*OUT, free(); W is zeroed): CT_OK, or CT_ENOMEM
 * naming CTX when a put failed (W is wiped and freed). */
int ct_sshw_finish(
    struct ct_sshw *w, const char *ctx, unsigned char **out, size_t *len, struct ct_err *err);

/* Wipe and free W's bytes and zero it. */
void ct_sshw_wipe(struct ct_sshw *w);

#endif
