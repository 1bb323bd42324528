/* One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238).
 *
 * Pure functions: no I/O, no state.  Codes are compared in constant time and
 * every candidate in a window is computed and compared, so the time taken
 * does not say which candidate matched. */
#ifndef CT_OTP_H
#define CT_OTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ct.h"

#define CT_OTP_SECRET_MAX 64 /* bytes of an OTP secret */
#define CT_OTP_MAX_LOOKAHEAD 1000
#define CT_OTP_MAX_WINDOW 10

enum ct_otp_algo { CT_OTP_SHA1, CT_OTP_SHA256, CT_OTP_SHA512 };

/* "sha1" "sha256" "sha512" (case-insensitive) <-> enum; parse gives -1 when unknown. */
int ct_otp_algo_parse(const char *name);
const char *ct_otp_algo_name(enum ct_otp_algo a);

/* The HOTP value of KEY at COUNTER with DIGITS (6-8) digits, as a
 * NUL-terminated decimal string in OUT (zero-padded). */
int ct_hotp(enum ct_otp_algo algo, const unsigned char *key, size_t key_len, uint64_t counter,
    int digits, char out[9]);

/* Constant-time equality of two DIGITS-long codes; a CODE of the wrong length
 * or with a non-digit is never equal.  Returns 1 when equal. */
int ct_otp_code_equal(const char *expected, const char *code, int digits);

/* HOTP verification with look-ahead: try counters NEXT .. NEXT+LOOKAHEAD.
 * On a match returns CT_OK and sets *MATCHED to the counter that matched
 * (the caller stores MATCHED+1 as the next counter, so that code and every
 * code below it are refused from then on).  CT_EPERM when nothing matches,
 * CT_EINVAL for bad parameters. */
int ct_hotp_verify(enum ct_otp_algo algo, const unsigned char *key, size_t key_len, int digits,
    uint64_t next, int lookahead, const char *code, uint64_t *matched);

/* TOTP verification: time step T = floor(NOW / PERIOD); try steps T-WINDOW ..
 * T+WINDOW, but only steps greater than LAST_USED (pass -1 when none was
 * used), so a step is accepted at most once.  On a match sets *STEP.
 * CT_EPERM when nothing matches, CT_EINVAL for bad parameters. */
int ct_totp_verify(enum ct_otp_algo algo, const unsigned char *key, size_t key_len, int digits,
    int period, time_t now, int window, int64_t last_used, const char *code, int64_t *step);

/* RFC 4648 base32 (upper or lower case, '=' padding optional, spaces
 * ignored) into OUT of OUT_MAX bytes.  CT_EINVAL on bad characters or when it
 * does not fit. */
int ct_base32_decode(const char *text, unsigned char *out, size_t out_max, size_t *out_len);

/* Base32 (upper case, no padding) of LEN bytes into OUT of OUT_MAX bytes
 * including the NUL.  CT_EINVAL when it does not fit. */
int ct_base32_encode(const unsigned char *data, size_t len, char *out, size_t out_max);

/* otpauth:// URI (Key Uri Format) for a token, into a new string:
 * otpauth://TYPE/ISSUER:ACCOUNT?secret=...&issuer=...&algorithm=...&digits=...
 * &period=... (totp) or &counter=... (hotp); ISSUER and ACCOUNT percent-encoded. */
int ct_otpauth_uri(int totp, const char *issuer, const char *account, const unsigned char *key,
    size_t key_len, enum ct_otp_algo algo, int digits, int period, uint64_t counter, char **out);

#endif
