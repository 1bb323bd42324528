/* The files backend: the format of a user's token file, STORE/tokens/USER.
 *
 * File format (line-oriented text, every field required, in this order):
 *
 *   certtoken-tokens 4
 *   token serial=S type=totp active=1 algo=sha1 digits=6 period=30 counter=0
 *     last_step=-1 failcount=0 lock_until=0 rollout=enrolled created=T
 *     desc=PERCENT-ENCODED target=T cert=HEX not_after=T not_before=T
 *     issuer=PERCENT-ENCODED secret=HEX(nonce12 || ciphertext || tag16)
 *
 *   source id=HEX16 failcount=N until=T last=T known=0|1
 *
 * (one line per token, then one per source of OTP attempts, tokens.h).
 * failcount= and lock_until= hold the user's OTP
 * failure count and the end of the user's throttle (lib/auth.c); files
 * that older versions wrote with a token's lock there read the same way,
 * the lock read as a throttle.  Older files still read: version 1 lacks
 * target= to not_after=, version 2 lacks not_before= and issuer=, and
 * versions 1 to 3 have no source lines.  The whole file
 * is read with a size cap and parsed by one bounded reader; anything
 * unexpected is CT_EIO with "FILE:LINE:". */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store_files.h"
#include "store_files_parse.h"
#include "util.h"

#define TOKENS_HEADER "certtoken-tokens 4"
#define TOKENS_HEADER_V3 "certtoken-tokens 3" /* read only: no source lines */
#define TOKENS_HEADER_V2 "certtoken-tokens 2" /* read only: no not_before, issuer */
#define TOKENS_HEADER_V1 "certtoken-tokens 1" /* read only: no certificate fields */
#define TOKENS_FILE_MAX (64 * 1024) /* cap on a user's file, read and written */
#define VALUE_MAX (CT_ISSUER_MAX * 3) /* longest value: a fully percent-encoded issuer */

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
	const struct ct_files_keys *keys;
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

/* Consume " NAME=VALUE" from the line at *P (*LEFT bytes). */
static int
take_named(struct parser *ps, const char **p, size_t *left, const char *name, char val[VALUE_MAX])
{
	const char *w, *sp, *eq;
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

/* Consume " NAME=VALUE" for token field IDX. */
static int
take_field(struct parser *ps, const char **p, size_t *left, enum field idx, char val[VALUE_MAX])
{
	return take_named(ps, p, left, field_names[idx], val);
}

static int
set_secret(struct parser *ps, struct ct_token *t, const char *val)
{
	unsigned char sealed[CT_FILES_SEALED_MAX];
	size_t len = 0;

	if (hex_decode(val, sealed, sizeof(sealed), &len) != 0)
		return perr(
		    ps, "secret: not lower-case hex of at most %d bytes", CT_FILES_SEALED_MAX);
	if (len == 0) {
		t->secret_len = 0;
		return CT_OK;
	}
	if (ct_files_unseal(
	        ps->keys, ps->user, t->serial, sealed, len, t->secret, &t->secret_len) != CT_OK)
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
		rc = set_int(ps, idx, val, 0, CT_PERIOD_MAX, &v);
		t->period = (int)v;
		return rc;
	case F_FAILCOUNT:
		rc = set_int(ps, idx, val, 0, INT_MAX, &v);
		t->failcount = (int)v;
		return rc;
	default: return perr(ps, "internal error: %s is not a number", field_names[idx]);
	}
}

/* Copy VAL into DST (MAX bytes) when it is a word of the token store
 * (ct_tokens_word_valid; empty when EMPTY_OK); else WHY. */
static int
set_word(struct parser *ps, const char *val, char *dst, size_t max, int empty_ok, const char *why)
{
	if (!ct_tokens_word_valid(val, max, empty_ok))
		return perr(ps, "%s", why);
	strcpy(dst, val);
	return CT_OK;
}

/* Decode the percent-encoded VAL of field IDX into DST (MAX bytes). */
static int
set_text(struct parser *ps, enum field idx, const char *val, char *dst, size_t max)
{
	if (pct_decode(val, dst, max) != 0)
		return perr(ps, "%s: bad percent-encoding or too long", field_names[idx]);
	return CT_OK;
}

/* The issuer is kept with C1 controls, bidi overrides and line separators
 * escaped as names are (ct_text_printable, CT_TEXT_HEX; ASCII as it is, the
 * percent-encoding covers it); one an older writer kept as it came is
 * escaped on reading. */
#define ISSUER_ESCAPE (CT_TEXT_HEX | CT_TEXT_KEEP_ASCII)
static int
set_issuer(struct parser *ps, const char *val, char *dst)
{
	char raw[CT_ISSUER_MAX];
	int rc = set_text(ps, F_ISSUER, val, raw, sizeof(raw));

	if (rc == CT_OK)
		ct_text_printable(raw, SIZE_MAX, ISSUER_ESCAPE, dst, CT_ISSUER_MAX);
	return rc;
}

/* ISSUER escaped (as set_issuer keeps it) and percent-encoded into OUT. */
static void
issuer_encode(const char *issuer, char out[VALUE_MAX])
{
	char esc[CT_ISSUER_MAX];

	pct_encode(ct_text_printable(issuer, CT_ISSUER_MAX, ISSUER_ESCAPE, esc, sizeof(esc)), out);
}

/* Store VAL as field IDX of T (a dispatcher over the fields). */
static int
set_field(struct parser *ps, struct ct_token *t, enum field idx, const char *val)
{
	int e;

	switch (idx) {
	case F_SERIAL: return set_word(ps, val, t->serial, CT_SERIAL_MAX, 0, "bad serial");
	case F_TYPE:
		if ((e = ct_token_type_parse(val)) < 0 ||
		    strcmp(val, ct_token_type_name((enum ct_token_type)e)) != 0)
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
		return set_word(ps, val, t->rollout_state, CT_ROLLOUT_MAX, 1, "bad rollout state");
	case F_DESC: return set_text(ps, idx, val, t->description, CT_DESC_MAX);
	case F_TARGET: return set_word(ps, val, t->target, CT_TARGET_MAX, 1, "bad target");
	case F_CERT:
		if (!ct_tokens_hex_valid(val, CT_CERT_SERIAL_MAX))
			return perr(ps, "cert: not upper-case hex of at most 20 bytes");
		strcpy(t->cert_serial, val);
		return CT_OK;
	case F_ISSUER: return set_issuer(ps, val, t->issuer);
	case F_SECRET: return set_secret(ps, t, val);
	default: return set_number(ps, t, idx, val);
	}
}

/* Parse the fields of one token, " serial=... secret=...", at LINE (LEN
 * bytes) into T. */
static int
parse_fields(struct parser *ps, const char *line, size_t len, struct ct_token *t)
{
	char val[VALUE_MAX];
	const char *why;
	enum field i;
	int rc = CT_OK;

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
	if ((why = ct_token_problem(t)) != NULL)
		return perr(ps, "token %s: %s", t->serial, why);
	return CT_OK;
}

static int
parse_token(struct parser *ps, const char *line, size_t len, struct ct_token *t)
{
	if (len < 5 || memcmp(line, "token", 5) != 0)
		return perr(ps, "expected a token line");
	return parse_fields(ps, line + 5, len - 5, t);
}

/* Parse a source line's fields (after "source") into S. */
static int
parse_source(struct parser *ps, const char *line, size_t len, struct ct_source *s)
{
	static const char *const names[] = {"id", "failcount", "until", "last", "known"};
	int64_t v[5] = {0};
	char val[VALUE_MAX];
	size_t i;
	int rc = CT_OK;

	for (i = 0; i < 5 && rc == CT_OK; i++) {
		if ((rc = take_named(ps, &line, &len, names[i], val)) != CT_OK)
			break;
		if (i == 0 && strlen(val) < sizeof(s->id))
			strcpy(s->id, val);
		else if (i > 0 && parse_i64(val, 0, i == 1 ? INT_MAX : INT64_MAX, &v[i]) != 0)
			rc = perr(ps, "source: %s: bad number", names[i]);
	}
	if (rc != CT_OK)
		return rc;
	if (len != 0)
		return perr(ps, "unexpected data after known=");
	s->failcount = (int)v[1];
	s->until = v[2];
	s->last = v[3];
	s->known = v[4] == 1;
	if (v[4] > 1 || ct_source_problem(s) != NULL)
		return perr(ps, "source %.*s: bad source", CT_SOURCE_ID_LEN, s->id);
	return CT_OK;
}

/* Parse a line after the header: a token, or (version 4) a source. */
static int
parse_line(struct parser *ps, const char *line, size_t len, struct ct_user_tokens *u)
{
	size_t i;
	int rc;

	if (ps->version >= 4 && len >= 7 && memcmp(line, "source ", 7) == 0) {
		if (u->n_src == CT_SOURCES_MAX)
			return perr(ps, "too many sources (at most %d)", CT_SOURCES_MAX);
		if ((rc = parse_source(ps, line + 6, len - 6, &u->src[u->n_src])) != CT_OK)
			return rc;
		for (i = 0; i < u->n_src; i++)
			if (strcmp(u->src[i].id, u->src[u->n_src].id) == 0)
				return perr(ps, "duplicate source %s", u->src[i].id);
		u->n_src++;
		return CT_OK;
	}
	if (u->n == CT_TOKENS_MAX)
		return perr(ps, "too many tokens (at most %d)", CT_TOKENS_MAX);
	if ((rc = parse_token(ps, line, len, &u->tok[u->n])) != CT_OK)
		return rc;
	for (i = 0; i < u->n; i++)
		if (strcmp(u->tok[i].serial, u->tok[u->n].serial) == 0)
			return perr(ps, "duplicate serial %s", u->tok[i].serial);
	u->n++;
	return CT_OK;
}

int
ct_files_token_line_parse(const struct ct_files_keys *k, const char *user, const char *where,
    unsigned n, const char *line, size_t len, struct ct_token *t, struct ct_err *err)
{
	struct parser ps = {0};
	char buf[CT_FILES_TOKEN_LINE_MAX + 1];
	int rc;

	ps.keys = k;
	ps.user = user;
	ps.path = where;
	ps.line = n;
	ps.version = 3;
	ps.err = err;
	memset(t, 0, sizeof(*t));
	if (len >= CT_FILES_TOKEN_LINE_MAX || memchr(line, '\0', len) != NULL ||
	    memchr(line, '\n', len) != NULL)
		return perr(&ps, "not one token line");
	buf[0] = ' '; /* the fields as they follow "token" in the file */
	memcpy(buf + 1, line, len);
	rc = parse_fields(&ps, buf, len + 1, t);
	OPENSSL_cleanse(buf, len + 1);
	if (rc != CT_OK)
		OPENSSL_cleanse(t, sizeof(*t));
	return rc;
}

int
ct_files_source_line_parse(const char *where, unsigned n, const char *line, size_t len,
    struct ct_source *s, struct ct_err *err)
{
	struct parser ps = {0};
	char buf[CT_FILES_SOURCE_LINE_MAX + 1];

	ps.path = where;
	ps.line = n;
	ps.version = 4;
	ps.err = err;
	memset(s, 0, sizeof(*s));
	if (len >= CT_FILES_SOURCE_LINE_MAX || memchr(line, '\0', len) != NULL ||
	    memchr(line, '\n', len) != NULL)
		return perr(&ps, "not one source line");
	buf[0] = ' '; /* the fields as they follow "source" in the file */
	memcpy(buf + 1, line, len);
	return parse_source(&ps, buf, len + 1, s);
}

static int
parse_file(struct parser *ps, struct ct_user_tokens *out)
{
	struct ct_user_tokens tmp;
	const char *line;
	size_t len;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if ((rc = next_line(ps, &line, &len)) != CT_OK)
		goto out;
	if (len == strlen(TOKENS_HEADER) && memcmp(line, TOKENS_HEADER, len) == 0)
		ps->version = 4;
	else if (len == strlen(TOKENS_HEADER_V3) && memcmp(line, TOKENS_HEADER_V3, len) == 0)
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
		if ((rc = next_line(ps, &line, &len)) != CT_OK ||
		    (rc = parse_line(ps, line, len, &tmp)) != CT_OK)
			goto out;
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

int
ct_files_tokens_parse(const struct ct_files_keys *k, const char *user, const char *path,
    const char *text, size_t len, struct ct_user_tokens *out, struct ct_err *err)
{
	struct parser ps = {0};

	ps.keys = k;
	ps.user = user;
	ps.path = path;
	ps.p = text;
	ps.left = len;
	ps.err = err;
	return parse_file(&ps, out);
}

int
ct_files_tokens_load(const struct ct_files_keys *k, const char *user, const char *path,
    struct ct_user_tokens *out, struct ct_err *err)
{
	struct ct_err local = {0};
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ct_file_read(path, TOKENS_FILE_MAX, &buf, &len, &local)) != CT_OK)
		/* too large means corrupt, not "bad input" */
		return ct_err_set(err, rc == CT_EINVAL ? CT_EIO : rc, "%s", local.msg);
	rc = ct_files_tokens_parse(k, user, path, (const char *)buf, len, out, err);
	OPENSSL_clear_free(buf, len + 1);
	return rc;
}

/* ---- the writer ---- */

int
ct_files_token_line_format(const struct ct_files_keys *k, const char *user, const char *where,
    const struct ct_token *t, struct ct_textbuf *b, struct ct_err *err)
{
	unsigned char sealed[CT_FILES_SEALED_MAX];
	char desc[VALUE_MAX], issuer[VALUE_MAX], hex[2 * CT_FILES_SEALED_MAX + 1];
	size_t sealed_len = 0;
	int rc;

	if (t->secret_len > 0 && (rc = ct_files_seal(k, user, t, sealed, &sealed_len)) != CT_OK) {
		ct_err_set(err, rc, "%s: cannot encrypt the secret of token %s", where, t->serial);
		ct_err_openssl(err);
		return rc;
	}
	pct_encode(t->description, desc);
	issuer_encode(t->issuer, issuer);
	hex_encode(sealed, sealed_len, hex);
	ct_textbuf_add(b,
	    "serial=%s type=%s active=%d algo=%s digits=%d period=%d counter=%" PRIu64
	    " last_step=%" PRId64 " failcount=%d lock_until=%" PRId64 " rollout=%s created=%" PRId64
	    " desc=%s target=%s cert=%s not_after=%" PRId64 " not_before=%" PRId64
	    " issuer=%s secret=%s",
	    t->serial, ct_token_type_name(t->type), t->active, ct_otp_algo_name(t->algo), t->digits,
	    t->period, t->counter, t->last_step, t->failcount, t->lock_until, t->rollout_state,
	    t->created, desc, t->target, t->cert_serial, t->not_after, t->not_before, issuer, hex);
	return CT_OK;
}

void
ct_files_source_line_format(const struct ct_source *s, struct ct_textbuf *b)
{
	ct_textbuf_add(b, "id=%s failcount=%d until=%" PRId64 " last=%" PRId64 " known=%d", s->id,
	    s->failcount, s->until, s->last, s->known);
}

static int
format_token(const struct ct_files_keys *k, const char *user, const char *path,
    const struct ct_token *t, struct ct_textbuf *b, struct ct_err *err)
{
	int rc;

	ct_textbuf_add(b, "token ");
	if ((rc = ct_files_token_line_format(k, user, path, t, b, err)) == CT_OK)
		ct_textbuf_add(b, "\n");
	return rc;
}

int
ct_files_tokens_save(const struct ct_files_keys *k, const char *user, const char *path,
    const struct ct_user_tokens *in, struct ct_err *err)
{
	struct ct_textbuf b = {0};
	size_t i;
	int rc = CT_OK;

	if ((b.p = malloc(TOKENS_FILE_MAX)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	b.cap = TOKENS_FILE_MAX;
	ct_textbuf_add(&b, "%s\n", TOKENS_HEADER);
	for (i = 0; i < in->n; i++)
		if ((rc = format_token(k, user, path, &in->tok[i], &b, err)) != CT_OK)
			goto out;
	for (i = 0; i < in->n_src; i++) {
		ct_textbuf_add(&b, "source ");
		ct_files_source_line_format(&in->src[i], &b);
		ct_textbuf_add(&b, "\n");
	}
	if (b.full) {
		rc = ct_err_set(err, CT_EIO, "%s: token file too large", path);
		goto out;
	}
	rc = ct_file_write_atomic(path, b.p, b.len, 0600, 0, err);
out:
	OPENSSL_clear_free(b.p, b.cap);
	return rc;
}
