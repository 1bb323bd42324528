/* The token store (files backend): format, encryption at rest, corruption,
 * unsafe files, locking. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "tokens.h"

#include "open_store.h"

static int
setup(void **state)
{
	return store_fixture_setup(state, "tokens", CT_STORE_TOKENS | CT_STORE_CREATE);
}

static int
teardown(void **state)
{
	return store_fixture_teardown(state);
}

/* ---- helpers ---- */

static char *
user_path(const struct store_fixture *f, const char *user)
{
	static char path[144];

	snprintf(path, sizeof(path), "%s/tokens/%s", f->dir, user);
	return path;
}

static void
otp_token(struct ct_token *t, enum ct_token_type type, const char *serial)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	snprintf(t->serial, sizeof(t->serial), "%s", serial);
	t->type = type;
	t->active = 1;
	t->algo = CT_OTP_SHA1;
	t->digits = 6;
	t->period = 30;
	t->secret_len = 20;
	for (i = 0; i < t->secret_len; i++)
		t->secret[i] = (unsigned char)(0xa0 + i);
	t->last_step = -1;
	strcpy(t->rollout_state, "enrolled");
	strcpy(t->description, "phone");
	t->created = 1763800000;
}

static void
put_tokens(struct store_fixture *f, const char *user, const struct ct_user_tokens *in)
{
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};

	assert_int_equal(ct_tokens_begin(f->db, user, &tx, &err), CT_OK);
	if (ct_tokens_write(tx, in, &err) != CT_OK)
		fail_msg("write: %s", err.msg);
	ct_tokens_end(tx);
}

/* USER gets N TOTP tokens with serials TOTP0001... */
static void
put_n(struct store_fixture *f, const char *user, size_t n)
{
	struct ct_user_tokens t;
	char serial[32];
	size_t i;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < n; i++) {
		snprintf(serial, sizeof(serial), "TOTP%04zu", i + 1);
		otp_token(&t.tok[i], CT_TOKEN_TOTP, serial);
	}
	t.n = n;
	put_tokens(f, user, &t);
	ct_user_tokens_clear(&t);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		abort();
	return p;
}

/* A new string: A followed by the first N bytes of B. */
static char *
concat(const char *a, const char *b, size_t n)
{
	size_t la = strlen(a);
	char *p = xmalloc(la + n + 1);

	memcpy(p, a, la);
	memcpy(p + la, b, n);
	p[la + n] = '\0';
	return p;
}

static char *
slurp(const char *path)
{
	unsigned char *buf = NULL;
	struct ct_err err = {0};
	size_t len = 0;

	if (ct_file_read(path, CT_FILE_MAX, &buf, &len, &err) != CT_OK)
		fail_msg("read %s: %s", path, err.msg);
	if (buf == NULL)
		abort();
	return (char *)buf;
}

static void
spit(const char *path, const char *data, size_t len)
{
	struct ct_err err = {0};

	assert_int_equal(ct_file_write_atomic(path, data, len, 0600, 0, &err), CT_OK);
}

/* Add TEXT at the end of the file at PATH. */
static void
append_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "a");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Replace the first FROM in the file at PATH with TO. */
static void
edit_file(const char *path, const char *from, const char *to)
{
	char *text = slurp(path), *hit, *out;
	size_t len;

	hit = strstr(text, from);
	assert_non_null(hit);
	len = strlen(text) - strlen(from) + strlen(to);
	out = xmalloc(len + 1);
	snprintf(out, len + 1, "%.*s%s%s", (int)(hit - text), text, to, hit + strlen(from));
	spit(path, out, len);
	free(out);
	free(text);
}

/* The value of the first "NAME=" in TEXT after AFTER, up to a space or newline. */
static char *
field_value(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	assert_non_null(p);
	p += strlen(name);
	return strndup(p, strcspn(p, " \n"));
}

/* Reading USER must fail with CT_EIO naming line LINE and saying WHAT. */
static void
expect_corrupt(struct store_fixture *f, const char *user, int line, const char *what)
{
	struct ct_user_tokens t;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	char where[256];

	memset(&t, 0, sizeof(t));
	snprintf(where, sizeof(where), "%s:%d: ", user_path(f, user), line);
	assert_int_equal(ct_tokens_begin(f->db, user, &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &t, &err), CT_EIO);
	ct_tokens_end(tx);
	assert_int_equal(t.n, 0);
	if (strstr(err.msg, where) == NULL || strstr(err.msg, what) == NULL)
		fail_msg("expected \"%s...%s\", got \"%s\"", where, what, err.msg);
	ct_err_clear(&err);
	assert_int_equal(ct_tokens_peek(f->db, user, &t, &err), CT_EIO);
}

/* ---- names ---- */

static void
test_names(void **state)
{
	char s1[CT_SERIAL_MAX], s2[CT_SERIAL_MAX], big[70];
	size_t i;

	(void)state;
	assert_true(ct_tokens_user_valid("alice"));
	assert_true(ct_tokens_user_valid("a.b_c-d@EXAMPLE.org"));
	assert_false(ct_tokens_user_valid(""));
	assert_false(ct_tokens_user_valid(".hidden"));
	assert_false(ct_tokens_user_valid("-x"));
	assert_false(ct_tokens_user_valid("../etc"));
	assert_false(ct_tokens_user_valid("a/b"));
	assert_false(ct_tokens_user_valid("a b"));
	assert_false(ct_tokens_user_valid("a\nb"));
	assert_false(ct_tokens_user_valid("alice.lock"));
	assert_false(ct_tokens_user_valid("alice.tmp.0123456789abcdef"));
	memset(big, 'a', sizeof(big));
	big[63] = '\0';
	assert_true(ct_tokens_user_valid(big));
	big[63] = 'a';
	big[64] = '\0';
	assert_false(ct_tokens_user_valid(big));

	assert_int_equal(ct_tokens_new_serial("TOTP", s1), CT_OK);
	assert_int_equal(ct_tokens_new_serial("TOTP", s2), CT_OK);
	assert_int_equal(strlen(s1), 20);
	assert_memory_equal(s1, "TOTP", 4);
	for (i = 4; i < 20; i++)
		assert_non_null(strchr("0123456789ABCDEF", s1[i]));
	assert_string_not_equal(s1, s2);
	assert_int_equal(ct_tokens_new_serial("ABCDEFGHIJKLMNOPQRSTUVWXYZ", s1), CT_EINVAL);
	assert_int_equal(ct_tokens_new_serial("A B", s1), CT_EINVAL);

	assert_int_equal(ct_token_type_parse("hotp"), CT_TOKEN_HOTP);
	assert_int_equal(ct_token_type_parse("certificate"), CT_TOKEN_CERT);
	assert_int_equal(ct_token_type_parse("yubikey"), -1);
	assert_string_equal(ct_token_type_name(CT_TOKEN_TOTP), "totp");
}

/* ---- round trip ---- */

static void
assert_token_equal(const struct ct_token *a, const struct ct_token *b)
{
	assert_string_equal(a->serial, b->serial);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->active, b->active);
	assert_int_equal(a->algo, b->algo);
	assert_int_equal(a->digits, b->digits);
	assert_int_equal(a->period, b->period);
	assert_int_equal(a->secret_len, b->secret_len);
	assert_memory_equal(a->secret, b->secret, sizeof(a->secret));
	assert_true(a->counter == b->counter);
	assert_true(a->last_step == b->last_step);
	assert_int_equal(a->failcount, b->failcount);
	assert_true(a->lock_until == b->lock_until);
	assert_string_equal(a->rollout_state, b->rollout_state);
	assert_string_equal(a->description, b->description);
	assert_true(a->created == b->created);
	assert_string_equal(a->target, b->target);
	assert_string_equal(a->cert_serial, b->cert_serial);
	assert_true(a->not_after == b->not_after);
	assert_true(a->not_before == b->not_before);
	assert_string_equal(a->issuer, b->issuer);
}

static void
make_three(struct ct_user_tokens *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	otp_token(&t->tok[0], CT_TOKEN_HOTP, "HOTP00000000000000AB");
	t->tok[0].algo = CT_OTP_SHA256;
	t->tok[0].digits = 8;
	t->tok[0].counter = UINT64_MAX - 1;
	t->tok[0].failcount = 7;
	t->tok[0].lock_until = INT64_MAX;
	strcpy(t->tok[0].description, "Alice's phone: 100% sure\nsecond line\t=x y");
	otp_token(&t->tok[1], CT_TOKEN_TOTP, "TOTP1234");
	t->tok[1].algo = CT_OTP_SHA512;
	t->tok[1].digits = 7;
	t->tok[1].period = 60;
	t->tok[1].active = 0;
	t->tok[1].last_step = 58793333;
	t->tok[1].secret_len = CT_OTP_SECRET_MAX;
	for (i = 0; i < CT_OTP_SECRET_MAX; i++)
		t->tok[1].secret[i] = (unsigned char)(255 - i);
	strcpy(t->tok[1].rollout_state, "pending");
	memset(t->tok[1].description, 0xc3, CT_DESC_MAX - 1); /* longest, non-ASCII */
	t->tok[2].type = CT_TOKEN_CERT;
	strcpy(t->tok[2].serial, "CERT0A");
	t->tok[2].active = 1;
	t->tok[2].last_step = -1;
	t->tok[2].created = 1;
	strcpy(t->tok[2].target, "api.v2");
	strcpy(t->tok[2].cert_serial, "00FF10AB0000000000000000000000000000007F"); /* 20 octets */
	t->tok[2].not_after = 1795000000;
	t->tok[2].not_before = 1794990000;
	strcpy(t->tok[2].issuer, "CN=Example CA \xc3\xa9,O=Ex\\, Inc.\n=x");
	t->n = 3;
}

static void
test_round_trip(void **state)
{
	struct store_fixture *f = *state;
	struct ct_user_tokens in, out, peek;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	struct ct_store *db2 = NULL;
	size_t i;

	make_three(&in);
	put_tokens(f, "alice", &in);
	memset(&out, 0, sizeof(out));
	assert_int_equal(ct_tokens_begin(f->db, "alice", &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &out, &err), CT_OK);
	ct_tokens_end(tx);
	assert_int_equal(out.n, 3);
	for (i = 0; i < 3; i++)
		assert_token_equal(&in.tok[i], &out.tok[i]);
	/* a second handle (another process) reads the same with the same key */
	assert_int_equal(open_store(f->dir, 0, &db2, &err), CT_OK);
	assert_int_equal(ct_tokens_peek(db2, "alice", &peek, &err), CT_OK);
	ct_store_close(db2);
	assert_int_equal(peek.n, 3);
	for (i = 0; i < 3; i++)
		assert_token_equal(&in.tok[i], &peek.tok[i]);
	ct_user_tokens_clear(&out);
	assert_int_equal(out.n, 0);
	assert_int_equal(out.tok[1].secret[0], 0);
	ct_user_tokens_clear(&in);
	ct_user_tokens_clear(&peek);
}

static void
test_secret_not_in_file(void **state)
{
	struct store_fixture *f = *state;
	struct ct_user_tokens in;
	char hex_lo[41], hex_up[41], *text;
	size_t i;

	memset(&in, 0, sizeof(in));
	otp_token(&in.tok[0], CT_TOKEN_TOTP, "TOTPSECRET");
	for (i = 0; i < 20; i++) {
		in.tok[0].secret[i] = (unsigned char)(0x3c * i + 7);
		snprintf(hex_lo + 2 * i, 3, "%02x", in.tok[0].secret[i]);
		snprintf(hex_up + 2 * i, 3, "%02X", in.tok[0].secret[i]);
	}
	in.n = 1;
	put_tokens(f, "alice", &in);
	text = slurp(user_path(f, "alice"));
	assert_non_null(strstr(text, "serial=TOTPSECRET ")); /* the right file */
	assert_non_null(strstr(text, "secret="));
	assert_null(strstr(text, hex_lo));
	assert_null(strstr(text, hex_up));
	assert_null(memmem(text, strlen(text), in.tok[0].secret, 8));
	/* a fresh nonce per write: the same secret encrypts differently */
	put_tokens(f, "alice", &in);
	{
		char *again = slurp(user_path(f, "alice"));
		char *s1 = field_value(text, "secret="), *s2 = field_value(again, "secret=");

		assert_string_not_equal(s1, s2);
		free(s1);
		free(s2);
		free(again);
	}
	free(text);
	ct_user_tokens_clear(&in);
}

/* ---- corrupted files ---- */

static void
test_corrupt_lines(void **state)
{
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	char *text, *p;

	put_n(f, "alice", 2);
	text = slurp(path);
	/* truncated: the last line loses its end */
	spit(path, text, strlen(text) - 10);
	expect_corrupt(f, "alice", 3, "truncated");
	/* line 2 mutations, each from the good file */
	spit(path, text, strlen(text));
	edit_file(path, " desc=", " color=red desc=");
	expect_corrupt(f, "alice", 2, "unknown field");
	spit(path, text, strlen(text));
	edit_file(path, " rollout=enrolled", "");
	expect_corrupt(f, "alice", 2, "rollout");
	spit(path, text, strlen(text));
	edit_file(path, " type=totp active=1", " active=1 type=totp");
	expect_corrupt(f, "alice", 2, "misplaced");
	spit(path, text, strlen(text));
	edit_file(path, "period=30", "period=30 ");
	expect_corrupt(f, "alice", 2, "expected");
	spit(path, text, strlen(text));
	edit_file(path, "\n", "\n\n");
	expect_corrupt(f, "alice", 2, "expected a token line");
	spit(path, text, strlen(text));
	edit_file(path, "secret=", "secret=00 ");
	expect_corrupt(f, "alice", 2, "");
	spit(path, text, strlen(text));
	edit_file(path, "type=totp", "type=TOTP");
	expect_corrupt(f, "alice", 2, "type");
	/* a NUL byte inside line 3 */
	p = strdup(text);
	*strrchr(p, 'd') = '\0';
	spit(path, p, strlen(text));
	expect_corrupt(f, "alice", 3, "NUL");
	free(p);
	free(text);
}

static void
test_corrupt_numbers(void **state)
{
	static const char *const bad[][2] = {
	    {"digits=6", "digits=6x"},
	    {"digits=6", "digits=9"},
	    {"digits=6", "digits="},
	    {"digits=6", "digits=+6"},
	    {"counter=0", "counter=-1"},
	    {"counter=0", "counter=18446744073709551616"},
	    {"failcount=0", "failcount=-1"},
	    {"failcount=0", "failcount=2147483648"},
	    {"last_step=-1", "last_step=-2"},
	    {"lock_until=0", "lock_until=9223372036854775808"},
	    {"active=1", "active=2"},
	    {"period=30", "period=0"},
	    {"created=1763800000", "created=1e9"},
	    {"algo=sha1", "algo=md5"},
	};
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	char *text;
	size_t i;

	put_n(f, "alice", 1);
	text = slurp(path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spit(path, text, strlen(text));
		edit_file(path, bad[i][0], bad[i][1]);
		expect_corrupt(f, "alice", 2, "");
	}
	/* the largest counter is fine */
	spit(path, text, strlen(text));
	edit_file(path, "counter=0", "counter=18446744073709551615");
	{
		struct ct_user_tokens t;
		struct ct_err err = {0};

		assert_int_equal(ct_tokens_peek(f->db, "alice", &t, &err), CT_OK);
		assert_true(t.tok[0].counter == UINT64_MAX);
		ct_user_tokens_clear(&t);
	}
	free(text);
}

static void
test_corrupt_values(void **state)
{
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	struct ct_user_tokens t;
	struct ct_err err = {0};
	char *text, longdesc[500];

	put_n(f, "alice", 1);
	text = slurp(path);
	memset(longdesc, 'x', sizeof(longdesc) - 1);
	longdesc[sizeof(longdesc) - 1] = '\0';
	{
		char repl[520];

		snprintf(repl, sizeof(repl), "desc=%s", longdesc);
		edit_file(path, "desc=phone", repl);
		expect_corrupt(f, "alice", 2, "too long");
		spit(path, text, strlen(text));
		/* 127 bytes fit with the NUL, 128 do not */
		snprintf(repl, sizeof(repl), "desc=%.127s", longdesc);
		edit_file(path, "desc=phone", repl);
		assert_int_equal(ct_tokens_peek(f->db, "alice", &t, &err), CT_OK);
		assert_int_equal(strlen(t.tok[0].description), 127);
		spit(path, text, strlen(text));
		snprintf(repl, sizeof(repl), "desc=%.128s", longdesc);
		edit_file(path, "desc=phone", repl);
		expect_corrupt(f, "alice", 2, "desc");
	}
	spit(path, text, strlen(text));
	edit_file(path, "desc=phone", "desc=ph%00ne");
	expect_corrupt(f, "alice", 2, "desc");
	spit(path, text, strlen(text));
	edit_file(path, "desc=phone", "desc=ph%4");
	expect_corrupt(f, "alice", 2, "desc");
	spit(path, text, strlen(text));
	edit_file(path, "desc=phone", "desc=ph'one");
	expect_corrupt(f, "alice", 2, "desc");
	spit(path, text, strlen(text));
	edit_file(path, "serial=TOTP0001", "serial=");
	expect_corrupt(f, "alice", 2, "serial");
	/* an OTP token without a secret */
	spit(path, text, strlen(text));
	{
		char *sec = field_value(text, "secret="), from[300];

		snprintf(from, sizeof(from), "secret=%s", sec);
		edit_file(path, from, "secret=");
		expect_corrupt(f, "alice", 2, "secret");
		free(sec);
	}
	free(text);
}

static void
test_corrupt_header_and_size(void **state)
{
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	char *text, *big;

	put_n(f, "alice", 1);
	text = slurp(path);
	edit_file(path, "certtoken-tokens 4", "certtoken-tokens 5");
	expect_corrupt(f, "alice", 1, "header");
	spit(path, text, strlen(text));
	edit_file(path, "certtoken-tokens 4", "certtoken-tokens 3 ");
	expect_corrupt(f, "alice", 1, "header");
	/* version 1 has no certificate fields: with them it is corrupt */
	spit(path, text, strlen(text));
	edit_file(path, "certtoken-tokens 4", "certtoken-tokens 1");
	expect_corrupt(f, "alice", 2, "where secret= was expected");
	/* nor has version 2 not_before= and issuer= */
	spit(path, text, strlen(text));
	edit_file(path, "certtoken-tokens 4", "certtoken-tokens 2");
	expect_corrupt(f, "alice", 2, "where secret= was expected");
	/* version 3 has no source lines */
	spit(path, text, strlen(text));
	edit_file(path, "certtoken-tokens 4", "certtoken-tokens 3");
	append_file(path, "source id=0123456789abcdef failcount=0 until=0 last=0 known=0\n");
	expect_corrupt(f, "alice", 3, "expected a token line");
	/* nor a bad one in version 4 */
	spit(path, text, strlen(text));
	append_file(path, "source id=0123456789abcdeg failcount=0 until=0 last=0 known=0\n");
	expect_corrupt(f, "alice", 3, "bad source");
	spit(path, text, strlen(text));
	append_file(path, "source id=0123456789abcdef failcount=-1 until=0 last=0 known=0\n");
	expect_corrupt(f, "alice", 3, "failcount: bad number");
	spit(path, text, strlen(text));
	append_file(path, "source id=0123456789abcdef failcount=0 until=0 last=0 known=2\n");
	expect_corrupt(f, "alice", 3, "bad source");
	/* a header and nothing else is never "no tokens" */
	spit(path, "certtoken-tokens 4\n", 19);
	expect_corrupt(f, "alice", 1, "no tokens");
	spit(path, "", 0);
	expect_corrupt(f, "alice", 1, "empty");
	/* larger than the cap */
	big = xmalloc(70000);
	memset(big, 'x', 70000);
	spit(path, big, 70000);
	{
		struct ct_user_tokens t;
		struct ct_err err = {0};

		assert_int_equal(ct_tokens_peek(f->db, "alice", &t, &err), CT_EIO);
	}
	free(big);
	free(text);
}

/* A file written by version 1 (no certificate fields) still reads, and the
 * next write upgrades it. */
static void
test_version1_file(void **state)
{
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	struct ct_user_tokens t;
	struct ct_err err = {0};
	char *text;

	put_n(f, "alice", 2);
	edit_file(path, "certtoken-tokens 4", "certtoken-tokens 1");
	edit_file(path, " target= cert= not_after=0 not_before=0 issuer=", "");
	edit_file(path, " target= cert= not_after=0 not_before=0 issuer=", "");
	text = slurp(path);
	assert_null(strstr(text, "target="));
	free(text);
	memset(&t, 0, sizeof(t));
	if (ct_tokens_peek(f->db, "alice", &t, &err) != CT_OK)
		fail_msg("v1: %s", err.msg);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.tok[1].serial, "TOTP0002");
	assert_int_equal(t.tok[1].secret[0], 0xa0);
	assert_string_equal(t.tok[1].target, "");
	put_tokens(f, "alice", &t);
	text = slurp(path);
	assert_true(strncmp(text, "certtoken-tokens 4\n", 19) == 0);
	free(text);
	ct_user_tokens_clear(&t);

	/* version 2: certificate fields without not_before= and issuer= */
	put_n(f, "alice", 2);
	edit_file(path, "certtoken-tokens 4", "certtoken-tokens 2");
	edit_file(path, " not_before=0 issuer=", "");
	edit_file(path, " not_before=0 issuer=", "");
	memset(&t, 0, sizeof(t));
	if (ct_tokens_peek(f->db, "alice", &t, &err) != CT_OK)
		fail_msg("v2: %s", err.msg);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.tok[1].issuer, "");
	ct_user_tokens_clear(&t);
}

/* An issuer with a C1 control, a bidi override and a line separator is kept
 * escaped as names are, and one an older writer kept as it came reads back
 * escaped (issue 13) */
static void
test_issuer_escaped(void **state)
{
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	const char *want = "CN=a\\C2\\9Bb\\E2\\80\\AEc\\E2\\80\\A8 \xc3\xa9";
	struct ct_user_tokens in, t;
	struct ct_err err = {0};
	char *text;

	make_three(&in);
	strcpy(in.tok[2].issuer,
	    "CN=a\xc2\x9b"
	    "b\xe2\x80\xae"
	    "c\xe2\x80\xa8 \xc3\xa9");
	put_tokens(f, "alice", &in);
	text = slurp(path);
	assert_null(strstr(text, "%C2%9B"));
	assert_null(strstr(text, "%E2%80%AE"));
	assert_null(strstr(text, "%E2%80%A8"));
	assert_non_null(strstr(text, "issuer=CN%3Da%5CC2%5C9Bb%5CE2%5C80%5CAEc"));
	free(text);
	memset(&t, 0, sizeof(t));
	assert_int_equal(ct_tokens_peek(f->db, "alice", &t, &err), CT_OK);
	assert_string_equal(t.tok[2].issuer, want);
	ct_user_tokens_clear(&t);
	/* an older file: the bytes as they came */
	edit_file(path, "%5CC2%5C9Bb%5CE2%5C80%5CAEc%5CE2%5C80%5CA8", "%C2%9Bb%E2%80%AEc%E2%80%A8");
	memset(&t, 0, sizeof(t));
	if (ct_tokens_peek(f->db, "alice", &t, &err) != CT_OK)
		fail_msg("old issuer: %s", err.msg);
	assert_string_equal(t.tok[2].issuer, want);
	ct_user_tokens_clear(&t);
}

static void
test_corrupt_cert_fields(void **state)
{
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	struct ct_user_tokens in;
	char *text;

	make_three(&in);
	put_tokens(f, "alice", &in);
	text = slurp(path);
	edit_file(path, "cert=00FF10AB", "cert=00ff10ab");
	expect_corrupt(f, "alice", 4, "cert: not upper-case hex");
	spit(path, text, strlen(text));
	edit_file(path, "cert=00FF", "cert=0FF");
	expect_corrupt(f, "alice", 4, "cert: not upper-case hex");
	spit(path, text, strlen(text));
	edit_file(path, "cert=00FF", "cert=0000FF");
	expect_corrupt(f, "alice", 4, "cert: not upper-case hex");
	spit(path, text, strlen(text));
	edit_file(path, "target=api.v2", "target=a/b");
	expect_corrupt(f, "alice", 4, "bad target");
	spit(path, text, strlen(text));
	edit_file(path, "not_after=1795000000", "not_after=-1");
	expect_corrupt(f, "alice", 4, "not_after: bad number");
	/* an OTP token carries no certificate */
	spit(path, text, strlen(text));
	edit_file(path, "target= cert=", "target=x cert=");
	expect_corrupt(f, "alice", 2, "an OTP token has no certificate");
	free(text);
	ct_user_tokens_clear(&in);
}

static void
test_corrupt_ciphertext(void **state)
{
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	char *text, *sec, *bad, from[300], to[300];
	size_t i, len;

	put_n(f, "alice", 1);
	text = slurp(path);
	sec = field_value(text, "secret=");
	len = strlen(sec);
	assert_int_equal(len, 2 * (12 + 20 + 16));
	/* flip one bit in the nonce, the ciphertext and the tag */
	for (i = 0; i < len; i += 23) {
		bad = strdup(sec);
		bad[i] = bad[i] == '0' ? '1' : '0';
		snprintf(from, sizeof(from), "secret=%s", sec);
		snprintf(to, sizeof(to), "secret=%s", bad);
		spit(path, text, strlen(text));
		edit_file(path, from, to);
		expect_corrupt(f, "alice", 2, "does not decrypt");
		free(bad);
	}
	/* and cut it short */
	spit(path, text, strlen(text));
	snprintf(from, sizeof(from), "secret=%s", sec);
	snprintf(to, sizeof(to), "secret=%.40s", sec);
	edit_file(path, from, to);
	expect_corrupt(f, "alice", 2, "does not decrypt");
	free(sec);
	free(text);
}

/* A secret moved to another user, or to another token, fails authentication. */
static void
test_swapped_secret(void **state)
{
	struct store_fixture *f = *state;
	struct ct_user_tokens in, out;
	struct ct_err err = {0};
	char *a, *b, *sa, *sb, from[300], to[300];

	memset(&in, 0, sizeof(in));
	otp_token(&in.tok[0], CT_TOKEN_TOTP, "TOTPSAME");
	in.n = 1;
	put_tokens(f, "alice", &in);
	in.tok[0].secret[0] ^= 0xff;
	put_tokens(f, "bob", &in);
	assert_int_equal(ct_tokens_peek(f->db, "alice", &out, &err), CT_OK);
	assert_int_equal(ct_tokens_peek(f->db, "bob", &out, &err), CT_OK);
	a = slurp(user_path(f, "alice"));
	b = slurp(user_path(f, "bob"));
	sa = field_value(a, "secret=");
	sb = field_value(b, "secret=");
	snprintf(from, sizeof(from), "secret=%s", sa);
	snprintf(to, sizeof(to), "secret=%s", sb);
	edit_file(user_path(f, "alice"), from, to);
	expect_corrupt(f, "alice", 2, "does not decrypt");
	/* bob's whole file copied over alice's */
	spit(user_path(f, "alice"), b, strlen(b));
	expect_corrupt(f, "alice", 2, "does not decrypt");
	/* within one user: token 1's secret under token 2's serial */
	put_n(f, "carol", 2);
	free(a);
	a = slurp(user_path(f, "carol"));
	free(sa);
	free(sb);
	sa = field_value(a, "secret=");
	sb = field_value(strchr(a, '\n') + 1 + strcspn(strchr(a, '\n') + 1, "\n"), "secret=");
	assert_string_not_equal(sa, sb);
	snprintf(from, sizeof(from), "secret=%s", sa);
	snprintf(to, sizeof(to), "secret=%s", sb);
	edit_file(user_path(f, "carol"), from, to);
	expect_corrupt(f, "carol", 2, "does not decrypt");
	/* and a token renamed keeps a secret that no longer authenticates */
	spit(user_path(f, "carol"), a, strlen(a));
	edit_file(user_path(f, "carol"), "serial=TOTP0001", "serial=TOTP0003");
	expect_corrupt(f, "carol", 2, "does not decrypt");
	free(a);
	free(b);
	free(sa);
	free(sb);
	ct_user_tokens_clear(&in);
	ct_user_tokens_clear(&out);
}

/* A key other than the one that wrote the file fails authentication. */
static void
test_wrong_key(void **state)
{
	struct store_fixture *f = *state;
	struct ct_store *db2 = NULL;
	struct ct_user_tokens t;
	struct ct_err err = {0};
	unsigned char key[32];
	char path[128];

	put_n(f, "alice", 1);
	memset(key, 0x42, sizeof(key));
	snprintf(path, sizeof(path), "%s/secret.key", f->dir);
	spit(path, (const char *)key, sizeof(key));
	assert_int_equal(open_store(f->dir, 0, &db2, &err), CT_OK);
	assert_int_equal(ct_tokens_peek(db2, "alice", &t, &err), CT_EIO);
	assert_non_null(strstr(err.msg, ":2: "));
	ct_store_close(db2);
	/* a key of the wrong length is refused at open */
	spit(path, (const char *)key, 31);
	ct_err_clear(&err);
	assert_int_equal(open_store(f->dir, 0, &db2, &err), CT_EIO);
}

static void
test_too_many_and_duplicates(void **state)
{
	struct store_fixture *f = *state;
	const char *path = user_path(f, "alice");
	char *text, *line2, *extra;
	size_t len;

	put_n(f, "alice", CT_TOKENS_MAX);
	text = slurp(path);
	line2 = strchr(text, '\n') + 1;
	len = strcspn(line2, "\n") + 1;
	/* a 17th token line (a new serial) */
	extra = concat(text, line2, len);
	memcpy(strstr(extra + strlen(text), "TOTP0001"), "TOTP9999", 8);
	spit(path, extra, strlen(extra));
	expect_corrupt(f, "alice", CT_TOKENS_MAX + 2, "too many");
	free(extra);
	free(text);
	/* the same serial twice */
	put_n(f, "alice", 1);
	text = slurp(path);
	line2 = strchr(text, '\n') + 1;
	extra = concat(text, line2, strlen(line2));
	spit(path, extra, strlen(extra));
	expect_corrupt(f, "alice", 3, "duplicate");
	free(extra);
	free(text);
}

/* ---- missing, unsafe ---- */

static void
test_missing_user(void **state)
{
	struct store_fixture *f = *state;
	struct ct_user_tokens t;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};

	assert_int_equal(ct_tokens_begin(f->db, "nobody", &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &t, &err), CT_ENOENT);
	ct_tokens_end(tx);
	assert_int_equal(ct_tokens_peek(f->db, "nobody", &t, &err), CT_ENOENT);
	ct_err_clear(&err);
	assert_int_equal(ct_tokens_begin(f->db, "../secret.key", &tx, &err), CT_EINVAL);
	assert_int_equal(ct_tokens_peek(f->db, "x.lock", &t, &err), CT_EINVAL);
}

static void
test_unsafe_store(void **state)
{
	struct store_fixture *f = *state;
	struct ct_store *db2 = NULL;
	struct ct_err err = {0};
	char tokens[128];

	assert_int_equal(chmod(f->dir, 0770), 0);
	assert_int_equal(open_store(f->dir, 0, &db2, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "writable"));
	assert_null(db2);
	assert_int_equal(chmod(f->dir, 0700), 0);
	snprintf(tokens, sizeof(tokens), "%s/tokens", f->dir);
	assert_int_equal(chmod(tokens, 0702), 0);
	ct_err_clear(&err);
	assert_int_equal(open_store(f->dir, 1, &db2, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "tokens"));
	assert_int_equal(chmod(tokens, 0700), 0);
	ct_err_clear(&err);
	assert_int_equal(open_store(f->dir, 0, &db2, &err), CT_OK);
	ct_store_close(db2);
}

static void
test_symlinks_refused(void **state)
{
	struct store_fixture *f = *state;
	struct ct_user_tokens t, in;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	char target[128], lock[256], *text;
	struct stat st;

	/* a valid token file for alice, moved away and linked back */
	put_n(f, "alice", 1);
	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	assert_int_equal(rename(user_path(f, "alice"), target), 0);
	assert_int_equal(symlink(target, user_path(f, "alice")), 0);
	assert_int_equal(ct_tokens_begin(f->db, "alice", &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &t, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "symbolic link"));
	/* a write replaces the link itself, never the file it points at */
	text = slurp(target);
	memset(&in, 0, sizeof(in));
	otp_token(&in.tok[0], CT_TOKEN_HOTP, "HOTPNEW");
	in.n = 1;
	ct_err_clear(&err);
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_OK);
	ct_tokens_end(tx);
	assert_int_equal(lstat(user_path(f, "alice"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	{
		char *after = slurp(target);

		assert_string_equal(after, text);
		free(after);
	}
	free(text);
	/* a planted lock symlink is not followed or created through */
	snprintf(lock, sizeof(lock), "%s.lock", user_path(f, "mallory"));
	snprintf(target, sizeof(target), "%s/created-through-link", f->dir);
	assert_int_equal(symlink(target, lock), 0);
	tx = NULL;
	assert_int_equal(ct_tokens_begin(f->db, "mallory", &tx, &err), CT_EPERM);
	assert_null(tx);
	assert_int_not_equal(lstat(target, &st), 0);
	/* and a directory where the lock should be */
	snprintf(lock, sizeof(lock), "%s.lock", user_path(f, "dave"));
	assert_int_equal(mkdir(lock, 0700), 0);
	assert_int_not_equal(ct_tokens_begin(f->db, "dave", &tx, &err), CT_OK);
	ct_user_tokens_clear(&in);
}

static void
test_lock_kept_and_empty_write(void **state)
{
	struct store_fixture *f = *state;
	struct ct_user_tokens t, none;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	char lock[256];
	struct stat st;

	snprintf(lock, sizeof(lock), "%s.lock", user_path(f, "alice"));
	put_n(f, "alice", 2);
	assert_int_equal(stat(lock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(user_path(f, "alice"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	memset(&none, 0, sizeof(none));
	assert_int_equal(ct_tokens_begin(f->db, "alice", &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_write(tx, &none, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &t, &err), CT_ENOENT);
	ct_tokens_end(tx);
	assert_int_not_equal(lstat(user_path(f, "alice"), &st), 0);
	assert_int_equal(stat(lock, &st), 0);
	/* removing twice is fine */
	assert_int_equal(ct_tokens_begin(f->db, "alice", &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_write(tx, &none, &err), CT_OK);
	ct_tokens_end(tx);
	ct_tokens_end(NULL);
}

static void
test_write_refuses_bad_tokens(void **state)
{
	struct store_fixture *f = *state;
	struct ct_user_tokens in;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	char *before, *after;

	put_n(f, "alice", 1);
	before = slurp(user_path(f, "alice"));
	memset(&in, 0, sizeof(in));
	otp_token(&in.tok[0], CT_TOKEN_TOTP, "A");
	otp_token(&in.tok[1], CT_TOKEN_TOTP, "A");
	in.n = 2;
	assert_int_equal(ct_tokens_begin(f->db, "alice", &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_EINVAL); /* duplicate */
	strcpy(in.tok[1].serial, "B C");
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_EINVAL); /* bad serial */
	strcpy(in.tok[1].serial, "B");
	in.tok[1].secret_len = 0;
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_EINVAL); /* no secret */
	in.tok[1].secret_len = 20;
	in.tok[1].type = CT_TOKEN_CERT;
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_EINVAL); /* cert with secret */
	in.tok[1].type = CT_TOKEN_TOTP;
	in.tok[1].digits = 5;
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_EINVAL);
	in.tok[1].digits = 6;
	memset(in.tok[1].description, 'x', CT_DESC_MAX);
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_EINVAL); /* no NUL */
	in.tok[1].description[0] = '\0';
	in.n = CT_TOKENS_MAX + 1;
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_EINVAL);
	ct_tokens_end(tx);
	after = slurp(user_path(f, "alice"));
	assert_string_equal(before, after);
	free(before);
	free(after);
	ct_user_tokens_clear(&in);
}

/* ---- listing ---- */

static int
collect(void *ctx, const char *user)
{
	char *seen = ctx;

	strcat(seen, user);
	strcat(seen, ",");
	return 0;
}

static int
stop_at_first(void *ctx, const char *user)
{
	(void)ctx;
	(void)user;
	return 42;
}

static void
test_foreach_user(void **state)
{
	struct store_fixture *f = *state;
	struct ct_err err = {0};
	struct ct_tokens_tx *tx = NULL;
	char seen[256] = "", stray[256];

	put_n(f, "alice", 1);
	put_n(f, "bob", 1);
	assert_int_equal(ct_tokens_begin(f->db, "carol", &tx, &err), CT_OK); /* lock only */
	ct_tokens_end(tx);
	snprintf(stray, sizeof(stray), "%s.tmp.0011223344556677", user_path(f, "alice"));
	spit(stray, "x", 1);
	assert_int_equal(ct_tokens_foreach_user(f->db, collect, seen, &err), CT_OK);
	assert_int_equal(strlen(seen), strlen("alice,bob,"));
	assert_non_null(strstr(seen, "alice,"));
	assert_non_null(strstr(seen, "bob,"));
	assert_int_equal(ct_tokens_foreach_user(f->db, stop_at_first, NULL, &err), 42);
}

/* ---- the key ---- */

static void
test_key_file(void **state)
{
	struct store_fixture *f = *state;
	struct ct_store *db2 = NULL;
	struct ct_err err = {0};
	char dir[] = "/tmp/ct-tokens-empty-XXXXXX", key[96], cmd[96];
	struct stat st;

	snprintf(key, sizeof(key), "%s/secret.key", f->dir);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(open_store(dir, 0, &db2, &err), CT_ENOENT);
	assert_null(db2);
	snprintf(key, sizeof(key), "%s/tokens", dir);
	assert_int_equal(mkdir(key, 0700), 0);
	ct_err_clear(&err);
	assert_int_equal(open_store(dir, 0, &db2, &err), CT_ENOENT);
	assert_non_null(strstr(err.msg, "secret.key"));
	snprintf(key, sizeof(key), "%s/secret.key", dir);
	assert_int_not_equal(stat(key, &st), 0);
	assert_int_equal(open_store(dir, 1, &db2, &err), CT_OK);
	ct_store_close(db2);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- concurrency: the lost-update test ---- */

static int
bump(struct ct_store *db, const char *user)
{
	struct ct_user_tokens t;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	int rc;

	if ((rc = ct_tokens_begin(db, user, &tx, &err)) != CT_OK)
		return rc;
	if ((rc = ct_tokens_read(tx, &t, &err)) == CT_OK) {
		t.tok[0].counter++;
		rc = ct_tokens_write(tx, &t, &err);
	}
	ct_tokens_end(tx);
	ct_user_tokens_clear(&t);
	return rc;
}

static void
test_no_lost_updates(void **state)
{
	struct store_fixture *f = *state;
	struct ct_user_tokens t;
	struct ct_err err = {0};
	pid_t pids[8];
	int i, j, status;

	put_n(f, "alice", 1);
	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			for (j = 0; j < 100; j++)
				if (bump(f->db, "alice") != CT_OK)
					_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(ct_tokens_peek(f->db, "alice", &t, &err), CT_OK);
	assert_int_equal(t.tok[0].counter, 800);
	ct_user_tokens_clear(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issuer_escaped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_not_in_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_numbers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_header_and_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version1_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_cert_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_ciphertext, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_swapped_secret, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_and_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_user, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsafe_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock_kept_and_empty_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_refuses_bad_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach_user, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_lost_updates, setup, teardown),
	};

	return cmocka_run_group_tests_name("tokens", tests, NULL, NULL);
}
