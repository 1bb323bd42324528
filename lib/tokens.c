/* The token store, files backend: STORE/tokens/USER under USER.lock.
 *
 * File format (line-oriented text, every field required, in this order):
 *
 *   certtoken-tokens 3
 *   token serial=S type=totp active=1 algo=sha1 digits=6 period=30 counter=0
 *     last_step=-1 failcount=0 lock_until=0 rollout=enrolled created=T
 *     desc=PERCENT-ENCODED target=T cert=HEX not_after=T not_before=T
 *     issuer=PERCENT-ENCODED secret=HEX(nonce12 || ciphertext || tag16)
 *
 * (one line per token).  Older files still read: version 1 lacks target=
 * to not_after=, version 2 lacks not_before= and issuer=.  The whole file is read with a size cap and parsed
 * by one bounded reader; anything unexpected is CT_EIO with "FILE:LINE:". */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "store.h"
#include "tokens.h"

#define TOKENS_HEADER "certtoken-tokens 3"
#define TOKENS_HEADER_V2 "certtoken-tokens 2" /* read only: no not_before, issuer */
#define TOKENS_HEADER_V1 "certtoken-tokens 1" /* read only: no certificate fields */
#define TOKENS_FILE_MAX (64 * 1024) /* cap on a user's file, read and written */
#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define SEALED_MAX (NONCE_LEN + CT_OTP_SECRET_MAX + TAG_LEN)
#define VALUE_MAX (CT_ISSUER_MAX * 3) /* longest value: a fully percent-encoded issuer */
#define PERIOD_MAX 3600 /* as the OTP engine accepts */
#define LOCK_SUFFIX ".lock"

struct ct_tokens_db {
	char *dir; /* STORE/tokens */
	EVP_CIPHER *gcm; /* fetched once per handle */
	unsigned char key[KEY_LEN];
};

struct ct_tokens_tx {
	struct ct_tokens_db *db;
	char user[CT_USER_MAX];
	char *path; /* STORE/tokens/USER */
	int lock_fd; /* flock(LOCK_EX) held while open */
};

/* ---- names ---- */

static const char *const type_names[] = {"hotp", "totp", "certificate"};

int
ct_token_type_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcasecmp(name, type_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
ct_token_type_name(enum ct_token_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[t];
}

static int
name_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '@' || c == '-';
}

/* NAME: LEN bytes before MAX, all name_char; empty only when EMPTY_OK. */
static int
word_valid(const char *name, size_t max, int empty_ok)
{
	size_t len = strnlen(name, max), i;

	if (len == max || (len == 0 && !empty_ok))
		return 0;
	for (i = 0; i < len; i++)
		if (!name_char((unsigned char)name[i]))
			return 0;
	return 1;
}

int
ct_tokens_user_valid(const char *name)
{
	size_t len;

	if (name == NULL || !word_valid(name, CT_USER_MAX, 0) || name[0] == '.' || name[0] == '-')
		return 0;
	/* Names the backend uses for its own files (USER.lock, and the
	 * USER.tmp.RANDOM temporaries of ct_file_write_atomic) are not user
	 * names: otherwise user "x.lock" would be user x's lock file. */
	len = strlen(name);
	if (len >= strlen(LOCK_SUFFIX) &&
	    strcmp(name + len - strlen(LOCK_SUFFIX), LOCK_SUFFIX) == 0)
		return 0;
	return strstr(name, ".tmp.") == NULL;
}

int
ct_tokens_new_serial(const char *prefix, char out[CT_SERIAL_MAX])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char rnd[8];
	char buf[CT_SERIAL_MAX];
	size_t plen, i;

	if (prefix == NULL || !word_valid(prefix, CT_SERIAL_MAX, 1))
		return CT_EINVAL;
	plen = strlen(prefix);
	if (plen + 2 * sizeof(rnd) >= CT_SERIAL_MAX)
		return CT_EINVAL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return CT_ECRYPTO;
	memcpy(buf, prefix, plen);
	for (i = 0; i < sizeof(rnd); i++) {
		buf[plen + 2 * i] = hex[rnd[i] >> 4];
		buf[plen + 2 * i + 1] = hex[rnd[i] & 15];
	}
	buf[plen + 2 * sizeof(rnd)] = '\0';
	memcpy(out, buf, plen + 2 * sizeof(rnd) + 1);
	return CT_OK;
}

void
ct_user_tokens_clear(struct ct_user_tokens *t)
{
	if (t != NULL)
		OPENSSL_cleanse(t, sizeof(*t));
}

/* ---- token checks, shared by the reader and the writer ---- */

/* S: upper-case hex, an even number of digits, shorter than MAX (may be empty). */
static int
hex_valid(const char *s, size_t max)
{
	size_t len = strnlen(s, max), i;

	if (len == max || len % 2 != 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static const char *
token_problem(const struct ct_token *t)
{
	int otp = t->type == CT_TOKEN_HOTP || t->type == CT_TOKEN_TOTP;
	int min_period = t->type == CT_TOKEN_TOTP ? 1 : 0;

	if (!word_valid(t->serial, CT_SERIAL_MAX, 0))
		return "bad serial";
	if (t->type != CT_TOKEN_HOTP && t->type != CT_TOKEN_TOTP && t->type != CT_TOKEN_CERT)
		return "bad type";
	if ((unsigned)t->algo > CT_OTP_SHA512)
		return "bad algo";
	if (t->active != 0 && t->active != 1)
		return "active must be 0 or 1";
	if (otp ? t->digits < 6 || t->digits > 8 : t->digits < 0 || t->digits > 8)
		return "digits out of range";
	if (t->period < min_period || t->period > PERIOD_MAX)
		return "period out of range";
	if (otp ? t->secret_len == 0 || t->secret_len > CT_OTP_SECRET_MAX : t->secret_len != 0)
		return otp ? "an OTP token needs a secret of 1-64 bytes"
		           : "a certificate token has no secret";
	if (t->last_step < -1 || t->failcount < 0 || t->lock_until < 0 || t->created < 0)
		return "negative counter or time";
	if (!word_valid(t->rollout_state, CT_ROLLOUT_MAX, 1))
		return "bad rollout state";
	if (memchr(t->description, '\0', CT_DESC_MAX) == NULL)
		return "description too long";
	if (!word_valid(t->target, CT_TARGET_MAX, 1))
		return "bad target";
	if (!hex_valid(t->cert_serial, CT_CERT_SERIAL_MAX))
		return "bad certificate serial";
	if (t->not_after < 0 || t->not_before < 0)
		return "negative notAfter or notBefore";
	if (memchr(t->issuer, '\0', CT_ISSUER_MAX) == NULL)
		return "issuer too long";
	if (otp && (t->target[0] != '\0' || t->cert_serial[0] != '\0' || t->not_after != 0 ||
	               t->not_before != 0 || t->issuer[0] != '\0'))
		return "an OTP token has no certificate";
	return NULL;
}

static int
tokens_check(const struct ct_user_tokens *in, struct ct_err *err)
{
	const char *why;
	size_t i, j;

	if (in->n > CT_TOKENS_MAX)
		return ct_err_set(
		    err, CT_EINVAL, "%zu tokens, at most %d per user", in->n, CT_TOKENS_MAX);
	for (i = 0; i < in->n; i++) {
		if ((why = token_problem(&in->tok[i])) != NULL)
			return ct_err_set(err, CT_EINVAL, "token %zu: %s", i + 1, why);
		for (j = 0; j < i; j++)
			if (strcmp(in->tok[i].serial, in->tok[j].serial) == 0)
				return ct_err_set(
				    err, CT_EINVAL, "duplicate serial %s", in->tok[i].serial);
	}
	return CT_OK;
}

/* ---- AES-256-GCM, AAD "certtoken-tokens 1|USER|SERIAL" ---- */

static int
make_aad(const char *user, const char *serial, char *aad, size_t size)
{
	int n = snprintf(aad, size, "%s|%s|%s", TOKENS_HEADER, user, serial);

	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Encrypt T's secret into OUT = nonce || ciphertext || tag. */
static int
seal(const struct ct_tokens_db *db, const char *user, const struct ct_token *t,
    unsigned char out[SEALED_MAX], size_t *out_len)
{
	char aad[sizeof(TOKENS_HEADER) + CT_USER_MAX + CT_SERIAL_MAX + 2];
	unsigned char *ct = out + NONCE_LEN;
	EVP_CIPHER_CTX *ctx = NULL;
	int aad_len, n, fin, rc = CT_ECRYPTO;

	if ((aad_len = make_aad(user, t->serial, aad, sizeof(aad))) < 0)
		return CT_EINVAL;
	if (RAND_bytes(out, NONCE_LEN) != 1 || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex2(ctx, db->gcm, db->key, out, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, aad_len) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, t->secret, (int)t->secret_len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 ||
	    (size_t)n + (size_t)fin != t->secret_len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, ct + t->secret_len) != 1)
		goto out;
	*out_len = NONCE_LEN + t->secret_len + TAG_LEN;
	rc = CT_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Decrypt and authenticate IN (nonce || ciphertext || tag) into PT. */
static int
unseal(const struct ct_tokens_db *db, const char *user, const char *serial, const unsigned char *in,
    size_t len, unsigned char pt[CT_OTP_SECRET_MAX], size_t *pt_len)
{
	char aad[sizeof(TOKENS_HEADER) + CT_USER_MAX + CT_SERIAL_MAX + 2];
	size_t ct_len = len - NONCE_LEN - TAG_LEN;
	EVP_CIPHER_CTX *ctx = NULL;
	int aad_len, n, fin, rc = CT_ECRYPTO;

	if (len <= NONCE_LEN + TAG_LEN || ct_len > CT_OTP_SECRET_MAX ||
	    (aad_len = make_aad(user, serial, aad, sizeof(aad))) < 0)
		return CT_EINVAL;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_DecryptInit_ex2(ctx, db->gcm, db->key, in, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, aad_len) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &n, in + NONCE_LEN, (int)ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
	        ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(in + NONCE_LEN + ct_len)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, pt + n, &fin) != 1) {
		OPENSSL_cleanse(pt, CT_OTP_SECRET_MAX);
		goto out;
	}
	*pt_len = ct_len;
	rc = CT_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* ---- value codecs ---- */

static int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Lower-case hex TEXT into OUT of MAX bytes; -1 when malformed or too long. */
static int
hex_decode(const char *text, unsigned char *out, size_t max, size_t *out_len)
{
	size_t len = strlen(text), i;
	int hi, lo;

	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		hi = hex_val((unsigned char)text[2 * i]);
		lo = hex_val((unsigned char)text[2 * i + 1]);
		/* the writer uses lower case: anything else is not its output */
		if (hi < 0 || lo < 0 || strchr("ABCDEF", text[2 * i]) != NULL ||
		    strchr("ABCDEF", text[2 * i + 1]) != NULL)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*out_len = len / 2;
	return 0;
}

static int
unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encode the NUL-terminated IN into OUT (3 * strlen(IN) + 1 bytes). */
static void
pct_encode(const char *in, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (unreserved(*p)) {
			*out++ = (char)*p;
			continue;
		}
		*out++ = '%';
		*out++ = hex[*p >> 4];
		*out++ = hex[*p & 15];
	}
	*out = '\0';
}

/* Strict inverse of pct_encode into OUT of MAX bytes (with the NUL); no %00. */
static int
pct_decode(const char *in, char *out, size_t max)
{
	size_t n = 0;
	int hi, lo;

	for (; *in != '\0'; in++) {
		if (n + 1 >= max)
			return -1;
		if (unreserved((unsigned char)*in)) {
			out[n++] = *in;
			continue;
		}
		if (*in != '%' || (hi = hex_val((unsigned char)in[1])) < 0 ||
		    (lo = hex_val((unsigned char)in[2])) < 0 || (hi == 0 && lo == 0))
			return -1;
		out[n++] = (char)(hi << 4 | lo);
		in += 2;
	}
	out[n] = '\0';
	return 0;
}

/* Decimal S, all of it, within [MIN, MAX]. */
static int
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	long long v;
	char *end;

	if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!(s[0] >= '0' && s[0] <= '9'))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* ---- the reader ---- */

enum field {
	F_SERIAL,
	F_TYPE,
	F_ACTIVE,
	F_ALGO,
	F_DIGITS,
	F_PERIOD,
	F_COUNTER,
	F_LAST_STEP,
	F_FAILCOUNT,
	F_LOCK_UNTIL,
	F_ROLLOUT,
	F_CREATED,
	F_DESC,
	F_TARGET,
	F_CERT,
	F_NOT_AFTER,
	F_NOT_BEFORE,
	F_ISSUER,
	F_SECRET,
	F_COUNT
};

static const char *const field_names[F_COUNT] = {"serial", "type", "active", "algo", "digits",
    "period", "counter", "last_step", "failcount", "lock_until", "rollout", "created", "desc",
    "target", "cert", "not_after", "not_before", "issuer", "secret"};

struct parser {
	const struct ct_tokens_db *db;
	const char *user;
	const char *path;
	const char *p; /* unread input */
	size_t left;
	unsigned line;
	int version; /* of the file's format: 1 has no certificate fields */
	struct ct_err *err;
};

static int perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* CT_EIO with "PATH:LINE: what". */
static int
perr(struct parser *ps, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ct_err_set(ps->err, CT_EIO, "%s:%u: %s", ps->path, ps->line, what);
}

/* Consume the next line (without its newline) or fail. */
static int
next_line(struct parser *ps, const char **line, size_t *len)
{
	const char *nl;

	ps->line++;
	if ((nl = memchr(ps->p, '\n', ps->left)) == NULL)
		return perr(ps, ps->left == 0 ? "empty file" : "truncated line (no newline)");
	*line = ps->p;
	*len = (size_t)(nl - ps->p);
	if (memchr(*line, '\0', *len) != NULL)
		return perr(ps, "NUL byte in line");
	ps->p = nl + 1;
	ps->left -= *len + 1;
	return CT_OK;
}

static int
known_field(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < F_COUNT; i++)
		if (strlen(field_names[i]) == len && memcmp(field_names[i], name, len) == 0)
			return 1;
	return 0;
}

/* Consume " NAME=VALUE" for field IDX from the line at *P (*LEFT bytes). */
static int
take_field(struct parser *ps, const char **p, size_t *left, enum field idx, char val[VALUE_MAX])
{
	const char *name = field_names[idx], *w, *sp, *eq;
	size_t nlen = strlen(name), wlen;

	if (*left == 0)
		return perr(ps, "missing field %s", name);
	if (**p != ' ')
		return perr(ps, "expected one space before %s", name);
	w = *p + 1;
	sp = memchr(w, ' ', *left - 1);
	wlen = sp != NULL ? (size_t)(sp - w) : *left - 1;
	if ((eq = memchr(w, '=', wlen)) == NULL)
		return perr(ps, "expected %s=", name);
	if ((size_t)(eq - w) != nlen || memcmp(w, name, nlen) != 0)
		return perr(ps, "%s field where %s= was expected",
		    known_field(w, (size_t)(eq - w)) ? "misplaced or duplicate" : "unknown", name);
	if (wlen - nlen - 1 >= VALUE_MAX)
		return perr(ps, "%s: value too long", name);
	memcpy(val, eq + 1, wlen - nlen - 1);
	val[wlen - nlen - 1] = '\0';
	*p = w + wlen;
	*left -= 1 + wlen;
	return CT_OK;
}

static int
set_secret(struct parser *ps, struct ct_token *t, const char *val)
{
	unsigned char sealed[SEALED_MAX];
	size_t len = 0;

	if (hex_decode(val, sealed, sizeof(sealed), &len) != 0)
		return perr(ps, "secret: not lower-case hex of at most %d bytes", SEALED_MAX);
	if (len == 0) {
		t->secret_len = 0;
		return CT_OK;
	}
	if (unseal(ps->db, ps->user, t->serial, sealed, len, t->secret, &t->secret_len) != CT_OK)
		return perr(ps,
		    "secret of token %s does not decrypt (wrong key, user or serial, "
		    "or corrupted)",
		    t->serial);
	return CT_OK;
}

static int
set_int(struct parser *ps, enum field idx, const char *val, int64_t min, int64_t max, int64_t *out)
{
	if (parse_i64(val, min, max, out) != 0)
		return perr(
		    ps, "%s: bad number (%" PRId64 "..%" PRId64 ")", field_names[idx], min, max);
	return CT_OK;
}

/* Store the numeric VAL as field IDX of T. */
static int
set_number(struct parser *ps, struct ct_token *t, enum field idx, const char *val)
{
	int64_t v = 0;
	int rc;

	switch (idx) {
	case F_COUNTER:
		return parse_u64(val, &t->counter) == 0 ? CT_OK : perr(ps, "counter: bad number");
	case F_LAST_STEP: return set_int(ps, idx, val, -1, INT64_MAX, &t->last_step);
	case F_LOCK_UNTIL: return set_int(ps, idx, val, 0, INT64_MAX, &t->lock_until);
	case F_CREATED: return set_int(ps, idx, val, 0, INT64_MAX, &t->created);
	case F_NOT_AFTER: return set_int(ps, idx, val, 0, INT64_MAX, &t->not_after);
	case F_NOT_BEFORE: return set_int(ps, idx, val, 0, INT64_MAX, &t->not_before);
	case F_ACTIVE:
		rc = set_int(ps, idx, val, 0, 1, &v);
		t->active = (int)v;
		return rc;
	case F_DIGITS:
		rc = set_int(ps, idx, val, 0, 8, &v);
		t->digits = (int)v;
		return rc;
	case F_PERIOD:
		rc = set_int(ps, idx, val, 0, PERIOD_MAX, &v);
		t->period = (int)v;
		return rc;
	case F_FAILCOUNT:
		rc = set_int(ps, idx, val, 0, INT_MAX, &v);
		t->failcount = (int)v;
		return rc;
	default: return perr(ps, "internal error: %s is not a number", field_names[idx]);
	}
}

/* Store VAL as field IDX of T (a dispatcher over the fields). */
static int
set_field(struct parser *ps, struct ct_token *t, enum field idx, const char *val)
{
	int e;

	switch (idx) {
	case F_SERIAL:
		if (!word_valid(val, CT_SERIAL_MAX, 0))
			return perr(ps, "bad serial");
		strcpy(t->serial, val);
		return CT_OK;
	case F_TYPE:
		if ((e = ct_token_type_parse(val)) < 0 || strcmp(val, type_names[e]) != 0)
			return perr(ps, "unknown token type");
		t->type = (enum ct_token_type)e;
		return CT_OK;
	case F_ALGO:
		if ((e = ct_otp_algo_parse(val)) < 0 ||
		    strcmp(val, ct_otp_algo_name((enum ct_otp_algo)e)) != 0)
			return perr(ps, "unknown algorithm");
		t->algo = (enum ct_otp_algo)e;
		return CT_OK;
	case F_ROLLOUT:
		if (!word_valid(val, CT_ROLLOUT_MAX, 1))
			return perr(ps, "bad rollout state");
		strcpy(t->rollout_state, val);
		return CT_OK;
	case F_DESC:
		if (pct_decode(val, t->description, CT_DESC_MAX) != 0)
			return perr(ps, "desc: bad percent-encoding or too long");
		return CT_OK;
	case F_TARGET:
		if (!word_valid(val, CT_TARGET_MAX, 1))
			return perr(ps, "bad target");
		strcpy(t->target, val);
		return CT_OK;
	case F_CERT:
		if (!hex_valid(val, CT_CERT_SERIAL_MAX))
			return perr(ps, "cert: not upper-case hex of at most 20 bytes");
		strcpy(t->cert_serial, val);
		return CT_OK;
	case F_ISSUER:
		if (pct_decode(val, t->issuer, CT_ISSUER_MAX) != 0)
			return perr(ps, "issuer: bad percent-encoding or too long");
		return CT_OK;
	case F_SECRET: return set_secret(ps, t, val);
	default: return set_number(ps, t, idx, val);
	}
}

static int
parse_token(struct parser *ps, const char *line, size_t len, struct ct_token *t)
{
	char val[VALUE_MAX];
	const char *why;
	enum field i;
	int rc = CT_OK;

	if (len < 5 || memcmp(line, "token", 5) != 0)
		return perr(ps, "expected a token line");
	line += 5;
	len -= 5;
	for (i = F_SERIAL; i < F_COUNT && rc == CT_OK; i++) {
		if ((ps->version == 1 && i >= F_TARGET && i <= F_ISSUER) ||
		    (ps->version == 2 && i >= F_NOT_BEFORE && i <= F_ISSUER))
			continue;
		if ((rc = take_field(ps, &line, &len, i, val)) == CT_OK)
			rc = set_field(ps, t, i, val);
	}
	OPENSSL_cleanse(val, sizeof(val));
	if (rc != CT_OK)
		return rc;
	if (len != 0)
		return perr(ps, "unexpected data after secret=");
	if ((why = token_problem(t)) != NULL)
		return perr(ps, "token %s: %s", t->serial, why);
	return CT_OK;
}

static int
parse_file(struct parser *ps, struct ct_user_tokens *out)
{
	struct ct_user_tokens tmp;
	const char *line;
	size_t len, i;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if ((rc = next_line(ps, &line, &len)) != CT_OK)
		goto out;
	if (len == strlen(TOKENS_HEADER) && memcmp(line, TOKENS_HEADER, len) == 0)
		ps->version = 3;
	else if (len == strlen(TOKENS_HEADER_V2) && memcmp(line, TOKENS_HEADER_V2, len) == 0)
		ps->version = 2;
	else if (len == strlen(TOKENS_HEADER_V1) && memcmp(line, TOKENS_HEADER_V1, len) == 0)
		ps->version = 1;
	else {
		rc = perr(ps, "bad header (expected \"%s\")", TOKENS_HEADER);
		goto out;
	}
	while (ps->left > 0) {
		if ((rc = next_line(ps, &line, &len)) != CT_OK)
			goto out;
		if (tmp.n == CT_TOKENS_MAX) {
			rc = perr(ps, "too many tokens (at most %d)", CT_TOKENS_MAX);
			goto out;
		}
		if ((rc = parse_token(ps, line, len, &tmp.tok[tmp.n])) != CT_OK)
			goto out;
		for (i = 0; i < tmp.n; i++)
			if (strcmp(tmp.tok[i].serial, tmp.tok[tmp.n].serial) == 0) {
				rc = perr(ps, "duplicate serial %s", tmp.tok[i].serial);
				goto out;
			}
		tmp.n++;
	}
	/* the writer removes the file instead of writing an empty set */
	if (tmp.n == 0) {
		rc = perr(ps, "no tokens");
		goto out;
	}
	memcpy(out, &tmp, sizeof(tmp));
	rc = CT_OK;
out:
	ct_user_tokens_clear(&tmp);
	return rc;
}

static int
load_file(const struct ct_tokens_db *db, const char *user, const char *path,
    struct ct_user_tokens *out, struct ct_err *err)
{
	struct ct_err local = {0};
	struct parser ps = {0};
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ct_file_read(path, TOKENS_FILE_MAX, &buf, &len, &local)) != CT_OK)
		/* too large means corrupt, not "bad input" */
		return ct_err_set(err, rc == CT_EINVAL ? CT_EIO : rc, "%s", local.msg);
	ps.db = db;
	ps.user = user;
	ps.path = path;
	ps.p = (const char *)buf;
	ps.left = len;
	ps.err = err;
	rc = parse_file(&ps, out);
	OPENSSL_clear_free(buf, len + 1);
	return rc;
}

/* ---- the writer ---- */

struct outbuf {
	char *p;
	size_t len, cap;
	int overflow;
};

static void put(struct outbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct outbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->overflow = 1;
	else
		b->len += (size_t)n;
}

static int
format_token(
    const struct ct_tokens_tx *tx, const struct ct_token *t, struct outbuf *b, struct ct_err *err)
{
	unsigned char sealed[SEALED_MAX];
	char desc[VALUE_MAX], issuer[VALUE_MAX], hex[2 * SEALED_MAX + 1];
	size_t sealed_len = 0;
	int rc;

	if (t->secret_len > 0 && (rc = seal(tx->db, tx->user, t, sealed, &sealed_len)) != CT_OK) {
		ct_err_set(
		    err, rc, "%s: cannot encrypt the secret of token %s", tx->path, t->serial);
		ct_err_openssl(err);
		return rc;
	}
	pct_encode(t->description, desc);
	pct_encode(t->issuer, issuer);
	hex_encode(sealed, sealed_len, hex);
	put(b,
	    "token serial=%s type=%s active=%d algo=%s digits=%d period=%d counter=%" PRIu64
	    " last_step=%" PRId64 " failcount=%d lock_until=%" PRId64 " rollout=%s created=%" PRId64
	    " desc=%s target=%s cert=%s not_after=%" PRId64 " not_before=%" PRId64
	    " issuer=%s secret=%s\n",
	    t->serial, ct_token_type_name(t->type), t->active, ct_otp_algo_name(t->algo), t->digits,
	    t->period, t->counter, t->last_step, t->failcount, t->lock_until, t->rollout_state,
	    t->created, desc, t->target, t->cert_serial, t->not_after, t->not_before, issuer, hex);
	return CT_OK;
}

static int
sync_dir(const char *dir, struct ct_err *err)
{
	int fd, rc = CT_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ct_err_set(err, CT_EIO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		rc = ct_err_set(err, CT_EIO, "%s: cannot sync: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

static int
remove_file(const struct ct_tokens_tx *tx, struct ct_err *err)
{
	if (unlink(tx->path) != 0) {
		if (errno == ENOENT)
			return CT_OK;
		return ct_err_set(err, CT_EIO, "%s: cannot remove: %s", tx->path, strerror(errno));
	}
	return sync_dir(tx->db->dir, err);
}

int
ct_tokens_write(struct ct_tokens_tx *tx, const struct ct_user_tokens *in, struct ct_err *err)
{
	struct outbuf b = {0};
	size_t i;
	int rc;

	if ((rc = tokens_check(in, err)) != CT_OK)
		return rc;
	if (in->n == 0)
		return remove_file(tx, err);
	if ((b.p = malloc(TOKENS_FILE_MAX)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	b.cap = TOKENS_FILE_MAX;
	put(&b, "%s\n", TOKENS_HEADER);
	for (i = 0; i < in->n; i++)
		if ((rc = format_token(tx, &in->tok[i], &b, err)) != CT_OK)
			goto out;
	if (b.overflow) {
		rc = ct_err_set(err, CT_EIO, "%s: token file too large", tx->path);
		goto out;
	}
	rc = ct_file_write_atomic(tx->path, b.p, b.len, 0600, 0, err);
out:
	OPENSSL_clear_free(b.p, b.cap);
	return rc;
}

/* ---- handles and transactions ---- */

static int
read_key(const char *path, unsigned char key[KEY_LEN], struct ct_err *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ct_file_read(path, 4 * KEY_LEN, &buf, &len, err)) != CT_OK)
		return rc == CT_EINVAL ? CT_EIO : rc;
	if (len != KEY_LEN)
		rc = ct_err_set(err, CT_EIO, "%s: %zu bytes, expected %d", path, len, KEY_LEN);
	else
		memcpy(key, buf, KEY_LEN);
	OPENSSL_clear_free(buf, len + 1);
	return rc;
}

/* Read STORE/secret.key, or create it (exclusively: racing creators agree). */
static int
load_key(struct ct_tokens_db *db, const char *store, int create, struct ct_err *err)
{
	struct ct_err local = {0};
	unsigned char fresh[KEY_LEN];
	char *path;
	int rc;

	if ((path = ct_path_join(store, "secret.key")) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	rc = read_key(path, db->key, &local);
	if (rc == CT_ENOENT && create) {
		ct_err_clear(&local);
		if (RAND_bytes(fresh, KEY_LEN) != 1) {
			rc = ct_err_set(&local, CT_ECRYPTO, "%s: no random bytes", path);
			goto out;
		}
		rc = ct_file_write_atomic(path, fresh, KEY_LEN, 0600, 1, &local);
		if (rc == CT_OK)
			memcpy(db->key, fresh, KEY_LEN);
		else if (rc == CT_EEXIST) {
			ct_err_clear(&local);
			rc = read_key(path, db->key, &local);
		}
	}
out:
	if (rc != CT_OK)
		ct_err_set(err, rc, "%s", local.msg);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	free(path);
	return rc;
}

int
ct_tokens_open(const char *store_path, int create, struct ct_tokens_db **out, struct ct_err *err)
{
	struct ct_tokens_db *db;
	int rc;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = ct_store_check_dir(store_path, err)) != CT_OK)
		goto out;
	if ((db->dir = ct_path_join(store_path, "tokens")) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	rc = create ? ct_store_mkdir(db->dir, err) : ct_store_check_dir(db->dir, err);
	if (rc != CT_OK || (rc = load_key(db, store_path, create, err)) != CT_OK)
		goto out;
	if ((db->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL) {
		rc = ct_err_set(err, CT_ECRYPTO, "AES-256-GCM is not available");
		ct_err_openssl(err);
		goto out;
	}
	*out = db;
	db = NULL;
out:
	ct_tokens_close(db);
	return rc;
}

void
ct_tokens_close(struct ct_tokens_db *db)
{
	if (db == NULL)
		return;
	OPENSSL_cleanse(db->key, sizeof(db->key));
	EVP_CIPHER_free(db->gcm);
	free(db->dir);
	free(db);
}

/* Open (creating) the lock file PATH and wait for its exclusive lock. */
static int
take_lock(const char *path, int *fd_out, struct ct_err *err)
{
	struct stat st;
	int fd, rc;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		return ct_err_set(err, errno == ELOOP ? CT_EPERM : CT_EIO, "%s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		rc = ct_err_set(err, CT_EPERM, "%s: not a regular file owned by uid %u", path,
		    (unsigned)geteuid());
		goto fail;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = ct_err_set(err, CT_EIO, "%s: cannot lock: %s", path, strerror(errno));
			goto fail;
		}
	}
	*fd_out = fd;
	return CT_OK;
fail:
	close(fd);
	return rc;
}

int
ct_tokens_begin(
    struct ct_tokens_db *db, const char *user, struct ct_tokens_tx **out, struct ct_err *err)
{
	struct ct_tokens_tx *tx;
	char *lock = NULL;
	int rc;

	/* the name may come from a login prompt: do not echo it */
	if (!ct_tokens_user_valid(user))
		return ct_err_set(err, CT_EINVAL, "invalid user name for the token store");
	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	tx->db = db;
	tx->lock_fd = -1;
	strcpy(tx->user, user);
	if ((tx->path = ct_path_join(db->dir, user)) == NULL ||
	    (lock = malloc(strlen(tx->path) + sizeof(LOCK_SUFFIX))) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	sprintf(lock, "%s%s", tx->path, LOCK_SUFFIX);
	if ((rc = take_lock(lock, &tx->lock_fd, err)) != CT_OK)
		goto out;
	*out = tx;
	tx = NULL;
out:
	free(lock);
	ct_tokens_end(tx);
	return rc;
}

int
ct_tokens_read(struct ct_tokens_tx *tx, struct ct_user_tokens *out, struct ct_err *err)
{
	return load_file(tx->db, tx->user, tx->path, out, err);
}

void
ct_tokens_end(struct ct_tokens_tx *tx)
{
	if (tx == NULL)
		return;
	if (tx->lock_fd >= 0)
		close(tx->lock_fd); /* releases the flock */
	free(tx->path);
	free(tx);
}

int
ct_tokens_peek(
    struct ct_tokens_db *db, const char *user, struct ct_user_tokens *out, struct ct_err *err)
{
	char *path;
	int rc;

	if (!ct_tokens_user_valid(user))
		return ct_err_set(err, CT_EINVAL, "invalid user name for the token store");
	if ((path = ct_path_join(db->dir, user)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	/* writers replace the file by rename: an unlocked read sees a whole file */
	rc = load_file(db, user, path, out, err);
	free(path);
	return rc;
}

int
ct_tokens_exists(struct ct_tokens_db *db, const char *user)
{
	struct stat st;
	char *path;
	int rc;

	if (!ct_tokens_user_valid(user) || (path = ct_path_join(db->dir, user)) == NULL)
		return 0;
	rc = lstat(path, &st) == 0 || errno != ENOENT;
	free(path);
	return rc;
}

/* Is directory entry DE of DIRFD a user's token file? */
static int
is_user_file(int dir_fd, const struct dirent *de)
{
	struct stat st;

	if (!ct_tokens_user_valid(de->d_name))
		return 0;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_REG;
	return fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int
ct_tokens_foreach_user(
    struct ct_tokens_db *db, int (*fn)(void *ctx, const char *user), void *ctx, struct ct_err *err)
{
	struct dirent *de;
	DIR *d;
	int rc = CT_OK;

	if ((d = opendir(db->dir)) == NULL)
		return ct_err_set(err, CT_EIO, "%s: %s", db->dir, strerror(errno));
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rc = ct_err_set(err, CT_EIO, "%s: %s", db->dir, strerror(errno));
			break;
		}
		if (is_user_file(dirfd(d), de) && (rc = fn(ctx, de->d_name)) != 0)
			break;
	}
	closedir(d);
	return rc;
}
