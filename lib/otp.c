#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "otp.h"

#define OTP_MAC_MAX 64 /* bytes of the largest HMAC output (SHA-512) */
#define OTP_PERIOD_MAX 3600 /* seconds of a TOTP step */
#define OTP_LABEL_MAX 1024 /* bytes of an issuer or account name in a URI */
#define OTP_B32_SECRET ((CT_OTP_SECRET_MAX + 4) / 5 * 8 + 1) /* base32 of a secret, with NUL */

/* An HMAC keyed once and re-initialised for each counter of one call.  It
 * lives on the caller's stack: the module keeps no state between calls. */
struct otp_mac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

/* ---- algorithms ---- */

int
ct_otp_algo_parse(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcasecmp(name, "sha1") == 0)
		return CT_OTP_SHA1;
	if (strcasecmp(name, "sha256") == 0)
		return CT_OTP_SHA256;
	if (strcasecmp(name, "sha512") == 0)
		return CT_OTP_SHA512;
	return -1;
}

const char *
ct_otp_algo_name(enum ct_otp_algo a)
{
	switch (a) {
	case CT_OTP_SHA1: return "sha1";
	case CT_OTP_SHA256: return "sha256";
	case CT_OTP_SHA512: return "sha512";
	}
	return NULL;
}

/* The OpenSSL digest name of ALGO, upper case as the Key Uri Format wants it. */
static const char *
algo_digest(enum ct_otp_algo algo)
{
	switch (algo) {
	case CT_OTP_SHA1: return "SHA1";
	case CT_OTP_SHA256: return "SHA256";
	case CT_OTP_SHA512: return "SHA512";
	}
	return NULL;
}

/* Are the parameters every OTP computation shares acceptable? */
static int
params_ok(enum ct_otp_algo algo, const unsigned char *key, size_t key_len, int digits)
{
	return algo_digest(algo) != NULL && key != NULL && key_len >= 1 &&
	    key_len <= CT_OTP_SECRET_MAX && digits >= 6 && digits <= 8;
}

/* ---- HMAC and dynamic truncation (RFC 4226 section 5.3) ---- */

static void
mac_close(struct otp_mac *m)
{
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	m->ctx = NULL;
	m->mac = NULL;
}

/* Fetch HMAC and key it with KEY; parameters must have been checked. */
static int
mac_open(struct otp_mac *m, enum ct_otp_algo algo, const unsigned char *key, size_t key_len)
{
	OSSL_PARAM params[2];

	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)algo_digest(algo), 0);
	params[1] = OSSL_PARAM_construct_end();
	m->ctx = NULL;
	if ((m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (m->ctx = EVP_MAC_CTX_new(m->mac)) == NULL ||
	    EVP_MAC_init(m->ctx, key, key_len, params) != 1) {
		mac_close(m);
		return CT_ECRYPTO;
	}
	return CT_OK;
}

/* The low DIGITS decimal digits of BIN (that is BIN mod 10^DIGITS), zero-padded. */
static void
format_code(uint32_t bin, int digits, char out[9])
{
	int i;

	for (i = digits - 1; i >= 0; i--) {
		out[i] = (char)('0' + bin % 10);
		bin /= 10;
	}
	out[digits] = '\0';
}

/* The code of COUNTER under the keyed HMAC M into OUT. */
static int
mac_code(struct otp_mac *m, uint64_t counter, int digits, char out[9])
{
	unsigned char msg[8], md[OTP_MAC_MAX];
	size_t md_len = 0, off;
	uint32_t bin;
	int i, rc = CT_ECRYPTO;

	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	/* a NULL key re-initialises the HMAC with the key it already has */
	if (EVP_MAC_init(m->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(m->ctx, msg, sizeof(msg)) != 1 ||
	    EVP_MAC_final(m->ctx, md, &md_len, sizeof(md)) != 1 || md_len < 20 ||
	    md_len > sizeof(md))
		goto out;
	off = md[md_len - 1] & 0x0f;
	bin = (uint32_t)(md[off] & 0x7f) << 24 | (uint32_t)md[off + 1] << 16 |
	    (uint32_t)md[off + 2] << 8 | (uint32_t)md[off + 3];
	format_code(bin, digits, out);
	bin = 0;
	rc = CT_OK;
out:
	OPENSSL_cleanse(md, sizeof(md));
	return rc;
}

int
ct_hotp(enum ct_otp_algo algo, const unsigned char *key, size_t key_len, uint64_t counter,
    int digits, char out[9])
{
	struct otp_mac m;
	char code[9];
	int rc;

	if (out == NULL || !params_ok(algo, key, key_len, digits))
		return CT_EINVAL;
	if ((rc = mac_open(&m, algo, key, key_len)) != CT_OK)
		return rc;
	if ((rc = mac_code(&m, counter, digits, code)) == CT_OK)
		memcpy(out, code, (size_t)digits + 1);
	mac_close(&m);
	OPENSSL_cleanse(code, sizeof(code));
	return rc;
}

/* ---- comparison ---- */

/* 1 when C is not an ASCII digit, without a branch. */
static unsigned int
not_digit(unsigned char c)
{
	return (unsigned int)(('9' - (int)c) | ((int)c - '0')) >> 31;
}

/* Is the user's CODE DIGITS decimal digits?  CODE is not secret. */
static int
code_wellformed(const char *code, int digits)
{
	int i;

	if (strnlen(code, 9) != (size_t)digits)
		return 0;
	for (i = 0; i < digits; i++)
		if (not_digit((unsigned char)code[i]))
			return 0;
	return 1;
}

/* EXPECTED (secret) must hold DIGITS+1 bytes, as ct_hotp writes them: it is
 * read in full, without a branch on its content.  CODE (the user's) is
 * checked for its length first; that depends on public data only. */
int
ct_otp_code_equal(const char *expected, const char *code, int digits)
{
	unsigned int diff = 0;
	int i;

	if (expected == NULL || code == NULL || digits < 6 || digits > 8)
		return 0;
	if (strnlen(code, 9) != (size_t)digits)
		return 0;
	for (i = 0; i < digits; i++) {
		diff |= (unsigned char)expected[i] ^ (unsigned char)code[i];
		diff |= not_digit((unsigned char)expected[i]) | not_digit((unsigned char)code[i]);
	}
	diff |= (unsigned char)expected[digits];
	/* diff is 0..255: diff - 1 has bit 8 set only when diff is 0 */
	return (int)(((diff - 1) >> 8) & 1);
}

/* A when TAKE is 0, B when TAKE is 1, without a branch. */
static uint64_t
select_u64(uint64_t a, uint64_t b, unsigned int take)
{
	uint64_t mask = (uint64_t)0 - (uint64_t)(take & 1);

	return (a & ~mask) | (b & mask);
}

/* ---- verification ---- */

/* The first counter of FIRST..LAST that is at least USABLE and whose code is
 * CODE into *HIT: CT_OK, CT_EPERM when none is.  The code of every counter
 * of the range is computed and compared, without a branch on the result. */
static int
scan_counters(enum ct_otp_algo algo, const unsigned char *key, size_t key_len, int digits,
    const char *code, uint64_t first, uint64_t last, uint64_t usable, uint64_t *hit)
{
	struct otp_mac m;
	char cand[9];
	uint64_t c, found_at = 0;
	unsigned int eq, found = 0;
	int rc;

	if ((rc = mac_open(&m, algo, key, key_len)) != CT_OK)
		return rc;
	for (c = first; c <= last; c++) {
		if ((rc = mac_code(&m, c, digits, cand)) != CT_OK)
			goto out;
		/* a counter below USABLE (already used) is compared too; it just cannot match */
		eq = (unsigned int)ct_otp_code_equal(cand, code, digits) &
		    (unsigned int)(c >= usable);
		found_at = select_u64(found_at, c, eq & ~found);
		found |= eq;
	}
	rc = found ? CT_OK : CT_EPERM;
	if (rc == CT_OK)
		*hit = found_at;
out:
	mac_close(&m);
	OPENSSL_cleanse(cand, sizeof(cand));
	return rc;
}

int
ct_hotp_verify(enum ct_otp_algo algo, const unsigned char *key, size_t key_len, int digits,
    uint64_t next, int lookahead, const char *code, uint64_t *matched)
{
	/* the caller stores MATCHED+1: that must not wrap to 0 either */
	if (!params_ok(algo, key, key_len, digits) || code == NULL || matched == NULL ||
	    lookahead < 0 || lookahead > CT_OTP_MAX_LOOKAHEAD ||
	    next > UINT64_MAX - 1 - (uint64_t)lookahead)
		return CT_EINVAL;
	if (!code_wellformed(code, digits))
		return CT_EPERM;
	return scan_counters(
	    algo, key, key_len, digits, code, next, next + (uint64_t)lookahead, 0, matched);
}

/* The checks of ct_totp_verify's parameters besides the shared ones. */
static int
totp_params_ok(int period, time_t now, int window, int64_t last_used)
{
	return period >= 1 && period <= OTP_PERIOD_MAX && now >= 0 && window >= 0 &&
	    window <= CT_OTP_MAX_WINDOW && last_used >= -1 &&
	    (int64_t)now / period <= INT64_MAX - window;
}

int
ct_totp_verify(enum ct_otp_algo algo, const unsigned char *key, size_t key_len, int digits,
    int period, time_t now, int window, int64_t last_used, const char *code, int64_t *step)
{
	int64_t t, first;
	uint64_t hit;
	int rc;

	if (!params_ok(algo, key, key_len, digits) || code == NULL || step == NULL ||
	    !totp_params_ok(period, now, window, last_used))
		return CT_EINVAL;
	if (!code_wellformed(code, digits))
		return CT_EPERM;
	t = (int64_t)now / period;
	first = t > window ? t - window : 0; /* before the epoch: no such step */
	/* the steps up to LAST_USED are used: they cannot match */
	rc = scan_counters(algo, key, key_len, digits, code, (uint64_t)first,
	    (uint64_t)(t + window), (uint64_t)last_used + 1, &hit);
	if (rc == CT_OK)
		*step = (int64_t)hit;
	return rc;
}

/* ---- base32 (RFC 4648 section 6) ---- */

/* The value 0..31 of a base32 character (either case), -1 for any other
 * character; without a branch or table on the (secret) character. */
static int
b32_value(unsigned char ch)
{
	int c = ch, v = -1;

	v += (((0x40 - c) & (c - 0x5b)) >> 8) & (c - 0x40); /* A-Z: 1..26 */
	v += (((0x60 - c) & (c - 0x7b)) >> 8) & (c - 0x60); /* a-z: 1..26 */
	v += (((0x31 - c) & (c - 0x38)) >> 8) & (c - 0x17); /* 2-7: 27..32 */
	return v;
}

/* The base32 character of V (0..31), without a branch or table. */
static char
b32_char(unsigned int v)
{
	int x = (int)v;

	return (char)('A' + x + (((25 - x) >> 8) & ('2' - 'A' - 26)));
}

/* Check TEXT and count its data characters into *NCHARS. */
static int
b32_scan(const char *text, size_t *nchars)
{
	size_t n = 0, pad = 0;
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (*p == '=')
			pad++;
		else if (b32_value((unsigned char)*p) < 0 || pad > 0)
			return CT_EINVAL;
		else
			n++;
	}
	/* 1, 3 or 6 characters cannot end a quantum; padding completes one */
	if (n % 8 == 1 || n % 8 == 3 || n % 8 == 6 || (pad > 0 && (pad > 7 || (n + pad) % 8 != 0)))
		return CT_EINVAL;
	*nchars = n;
	return CT_OK;
}

int
ct_base32_decode(const char *text, unsigned char *out, size_t out_max, size_t *out_len)
{
	size_t n, len, o = 0;
	uint32_t acc = 0;
	unsigned int bits = 0;
	const char *p;
	int v;

	if (text == NULL || out_len == NULL || b32_scan(text, &n) != CT_OK)
		return CT_EINVAL;
	len = n / 8 * 5 + (n % 8) * 5 / 8;
	if (len > out_max || (out == NULL && len > 0))
		return CT_EINVAL;
	for (p = text; *p != '\0'; p++) {
		if ((v = b32_value((unsigned char)*p)) < 0)
			continue; /* a space or the padding */
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8 && o < len) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	acc = 0; /* trailing bits, if any, are ignored */
	*out_len = len;
	return CT_OK;
}

int
ct_base32_encode(const unsigned char *data, size_t len, char *out, size_t out_max)
{
	static const unsigned char tail[5] = {0, 2, 4, 5, 7};
	size_t need, i, o = 0;
	uint32_t acc = 0;
	unsigned int bits = 0;

	if (out == NULL || (data == NULL && len > 0) || len / 5 > (SIZE_MAX - 16) / 8)
		return CT_EINVAL;
	need = len / 5 * 8 + tail[len % 5] + 1;
	if (need > out_max)
		return CT_EINVAL;
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_char((acc >> bits) & 31);
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b32_char((acc << (5 - bits)) & 31);
	out[o] = '\0';
	acc = 0;
	return CT_OK;
}

/* ---- otpauth:// URI (Google Authenticator Key Uri Format) ---- */

/* A string under construction in a buffer sized in advance. */
struct uribuf {
	char *p;
	size_t len, cap;
};

static int
ub_put(struct uribuf *b, const char *s)
{
	size_t n = strlen(s);

	if (n >= b->cap - b->len)
		return CT_EINVAL;
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
	return CT_OK;
}

/* Append S percent-encoded: RFC 3986 unreserved characters are kept. */
static int
ub_put_encoded(struct uribuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (b->cap - b->len < 4)
			return CT_EINVAL;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			b->p[b->len++] = (char)c;
		} else {
			b->p[b->len++] = '%';
			b->p[b->len++] = hex[c >> 4];
			b->p[b->len++] = hex[c & 15];
		}
	}
	b->p[b->len] = '\0';
	return CT_OK;
}

static int
label_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strnlen(s, OTP_LABEL_MAX + 1) <= OTP_LABEL_MAX;
}

/* Append the whole URI; B has room for it. */
static int
uri_build(struct uribuf *b, int totp, const char *issuer, const char *account, const char *secret,
    const char *tail)
{
	int rc;

	if ((rc = ub_put(b, totp ? "otpauth://totp/" : "otpauth://hotp/")) != CT_OK ||
	    (rc = ub_put_encoded(b, issuer)) != CT_OK || (rc = ub_put(b, ":")) != CT_OK ||
	    (rc = ub_put_encoded(b, account)) != CT_OK || (rc = ub_put(b, "?secret=")) != CT_OK ||
	    (rc = ub_put(b, secret)) != CT_OK || (rc = ub_put(b, "&issuer=")) != CT_OK ||
	    (rc = ub_put_encoded(b, issuer)) != CT_OK || (rc = ub_put(b, tail)) != CT_OK)
		return rc;
	return CT_OK;
}

int
ct_otpauth_uri(int totp, const char *issuer, const char *account, const unsigned char *key,
    size_t key_len, enum ct_otp_algo algo, int digits, int period, uint64_t counter, char **out)
{
	char secret[OTP_B32_SECRET], tail[96];
	struct uribuf b = {NULL, 0, 0};
	int rc;

	if (out == NULL || !params_ok(algo, key, key_len, digits) || !label_ok(issuer) ||
	    !label_ok(account) || (totp && (period < 1 || period > OTP_PERIOD_MAX)))
		return CT_EINVAL;
	if ((rc = ct_base32_encode(key, key_len, secret, sizeof(secret))) != CT_OK)
		goto out;
	if (totp)
		snprintf(tail, sizeof(tail), "&algorithm=%s&digits=%d&period=%d", algo_digest(algo),
		    digits, period);
	else
		snprintf(tail, sizeof(tail), "&algorithm=%s&digits=%d&counter=%" PRIu64,
		    algo_digest(algo), digits, counter);
	b.cap = 3 * (2 * strlen(issuer) + strlen(account)) + strlen(secret) + strlen(tail) + 64;
	rc = CT_ENOMEM;
	if ((b.p = malloc(b.cap)) == NULL)
		goto out;
	if ((rc = uri_build(&b, totp, issuer, account, secret, tail)) != CT_OK)
		goto out;
	*out = b.p;
	b.p = NULL;
out:
	if (b.p != NULL)
		OPENSSL_clear_free(b.p, b.cap);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}
