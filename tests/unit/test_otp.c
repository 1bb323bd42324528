#include "config.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/rand.h>

#include "otp.h"

#define KEY20 ((const unsigned char *)"12345678901234567890")
#define KEY32 ((const unsigned char *)"12345678901234567890123456789012")
#define KEY64                                                                                      \
	((const unsigned char *)"12345678901234567890123456789012"                                 \
	                        "34567890123456789012345678901234")

/* ---- helpers ---- */

/* The code of KEY at COUNTER into OUT (asserting success). */
static void
hotp(enum ct_otp_algo algo, const unsigned char *key, size_t len, uint64_t counter, int digits,
    char out[9])
{
	int rc = ct_hotp(algo, key, len, counter, digits, out);

	if (rc != CT_OK)
		fail_msg("ct_hotp(counter %" PRIu64 ", %d digits): %d", counter, digits, rc);
	assert_int_equal(strlen(out), (size_t)digits);
}

static void
hex(const unsigned char *data, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", data[i]);
	out[2 * len] = '\0';
}

static void
random_bytes(unsigned char *buf, size_t len)
{
	assert_int_equal(RAND_bytes(buf, (int)len), 1);
}

static int
have_oathtool(void)
{
	return system("oathtool --version >/dev/null 2>&1") == 0;
}

/* Run the oathtool command line CMD and return its one-line output in OUT. */
static void
oathtool(const char *cmd, char out[16])
{
	FILE *f = popen(cmd, "r");
	size_t n;

	assert_non_null(f);
	if (fgets(out, 16, f) == NULL)
		out[0] = '\0';
	assert_int_equal(pclose(f), 0);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
}

/* ---- algorithms and HOTP ---- */

static void
test_algo_names(void **state)
{
	(void)state;
	assert_int_equal(ct_otp_algo_parse("sha1"), CT_OTP_SHA1);
	assert_int_equal(ct_otp_algo_parse("SHA256"), CT_OTP_SHA256);
	assert_int_equal(ct_otp_algo_parse("Sha512"), CT_OTP_SHA512);
	assert_int_equal(ct_otp_algo_parse("sha-1"), -1);
	assert_int_equal(ct_otp_algo_parse("md5"), -1);
	assert_int_equal(ct_otp_algo_parse("sha1 "), -1);
	assert_int_equal(ct_otp_algo_parse(""), -1);
	assert_int_equal(ct_otp_algo_parse(NULL), -1);
	assert_string_equal(ct_otp_algo_name(CT_OTP_SHA1), "sha1");
	assert_string_equal(ct_otp_algo_name(CT_OTP_SHA256), "sha256");
	assert_string_equal(ct_otp_algo_name(CT_OTP_SHA512), "sha512");
	assert_null(ct_otp_algo_name((enum ct_otp_algo)7));
}

static void
test_hotp_rfc4226(void **state)
{
	static const char *const want[10] = {"755224", "287082", "359152", "969429", "338314",
	    "254676", "287922", "162583", "399871", "520489"};
	char out[9];
	uint64_t c;

	(void)state;
	for (c = 0; c < 10; c++) {
		hotp(CT_OTP_SHA1, KEY20, 20, c, 6, out);
		assert_string_equal(out, want[c]);
	}
}

static void
test_hotp_bad_params(void **state)
{
	char out[9] = "XXXXXXXX";

	(void)state;
	assert_int_equal(ct_hotp(CT_OTP_SHA1, KEY20, 20, 0, 5, out), CT_EINVAL);
	assert_int_equal(ct_hotp(CT_OTP_SHA1, KEY20, 20, 0, 9, out), CT_EINVAL);
	assert_int_equal(ct_hotp(CT_OTP_SHA1, KEY20, 0, 0, 6, out), CT_EINVAL);
	assert_int_equal(ct_hotp(CT_OTP_SHA1, KEY64, CT_OTP_SECRET_MAX + 1, 0, 6, out), CT_EINVAL);
	assert_int_equal(ct_hotp(CT_OTP_SHA1, NULL, 20, 0, 6, out), CT_EINVAL);
	assert_int_equal(ct_hotp((enum ct_otp_algo)3, KEY20, 20, 0, 6, out), CT_EINVAL);
	assert_int_equal(ct_hotp(CT_OTP_SHA1, KEY20, 20, 0, 6, NULL), CT_EINVAL);
	assert_string_equal(out, "XXXXXXXX"); /* untouched on failure */
	/* the boundaries are accepted */
	assert_int_equal(ct_hotp(CT_OTP_SHA1, KEY20, 1, 0, 6, out), CT_OK);
	assert_int_equal(
	    ct_hotp(CT_OTP_SHA512, KEY64, CT_OTP_SECRET_MAX, UINT64_MAX, 8, out), CT_OK);
	assert_int_equal(strlen(out), 8);
}

/* ---- TOTP vectors (RFC 6238 Appendix B) ---- */

static void
test_totp_rfc6238(void **state)
{
	static const struct {
		int64_t t;
		const char *code[3]; /* SHA1 SHA256 SHA512 */
	} v[] = {
	    {59, {"94287082", "46119246", "90693936"}},
	    {1111111109, {"07081804", "68084774", "25091201"}},
	    {1111111111, {"14050471", "67062674", "99943326"}},
	    {1234567890, {"89005924", "91819424", "93441116"}},
	    {2000000000, {"69279037", "90698825", "38618901"}},
	    {20000000000, {"65353130", "77737706", "47863826"}},
	};
	static const unsigned char *const keys[3] = {KEY20, KEY32, KEY64};
	static const size_t lens[3] = {20, 32, 64};
	char out[9];
	int64_t step;
	size_t i;
	int a;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (a = 0; a < 3; a++) {
			hotp(
			    (enum ct_otp_algo)a, keys[a], lens[a], (uint64_t)(v[i].t / 30), 8, out);
			assert_string_equal(out, v[i].code[a]);
			step = -42;
			assert_int_equal(ct_totp_verify((enum ct_otp_algo)a, keys[a], lens[a], 8,
			                     30, (time_t)v[i].t, 0, -1, v[i].code[a], &step),
			    CT_OK);
			assert_int_equal(step, v[i].t / 30);
		}
	}
}

/* ---- cross-checks with the real oathtool ---- */

static void
test_oathtool_hotp(void **state)
{
	unsigned char key[CT_OTP_SECRET_MAX];
	char hk[2 * CT_OTP_SECRET_MAX + 1], cmd[256], want[16], got[9];
	uint64_t counter;
	size_t len;
	int i, digits;

	(void)state;
	if (!have_oathtool())
		skip();
	for (i = 0; i < 12; i++) {
		random_bytes(key, sizeof(key));
		len = 10 + key[0] % 30;
		random_bytes((unsigned char *)&counter, sizeof(counter));
		counter %= (i % 2) ? 1000 : UINT32_MAX;
		digits = 6 + i % 3;
		hex(key, len, hk);
		snprintf(cmd, sizeof(cmd), "oathtool --hotp -d %d -c %" PRIu64 " %s", digits,
		    counter, hk);
		oathtool(cmd, want);
		hotp(CT_OTP_SHA1, key, len, counter, digits, got);
		if (strcmp(got, want) != 0)
			fail_msg("%s: oathtool %s, ct_hotp %s", cmd, want, got);
	}
}

static void
test_oathtool_totp(void **state)
{
	static const char *const names[3] = {"sha1", "sha256", "sha512"};
	unsigned char key[CT_OTP_SECRET_MAX];
	char hk[2 * CT_OTP_SECRET_MAX + 1], cmd[320], want[16], got[9];
	uint32_t r;
	int64_t t, step;
	int i, a, digits, period;

	(void)state;
	if (!have_oathtool())
		skip();
	for (i = 0; i < 12; i++) {
		a = i % 3;
		digits = 6 + (i / 3) % 3;
		period = (i % 2) ? 30 : 60;
		random_bytes(key, sizeof(key));
		random_bytes((unsigned char *)&r, sizeof(r));
		t = (int64_t)r;
		hex(key, 20 + 12 * (size_t)a, hk);
		snprintf(cmd, sizeof(cmd), "oathtool --totp=%s -d %d -N @%" PRId64 " -s %ds %s",
		    names[a], digits, t, period, hk);
		oathtool(cmd, want);
		hotp((enum ct_otp_algo)a, key, 20 + 12 * (size_t)a, (uint64_t)(t / period), digits,
		    got);
		if (strcmp(got, want) != 0)
			fail_msg("%s: oathtool %s, ct_hotp %s", cmd, want, got);
		assert_int_equal(ct_totp_verify((enum ct_otp_algo)a, key, 20 + 12 * (size_t)a,
		                     digits, period, (time_t)t, 0, -1, want, &step),
		    CT_OK);
		assert_int_equal(step, t / period);
	}
}

/* ---- constant-time compare ---- */

static void
test_code_equal(void **state)
{
	char e6[9] = "123456", e8[9] = "01234567", c[9], bad[9] = "12345a";
	int i;

	(void)state;
	assert_int_equal(ct_otp_code_equal(e6, "123456", 6), 1);
	assert_int_equal(ct_otp_code_equal(e8, "01234567", 8), 1);
	/* every single-digit near miss */
	for (i = 0; i < 6; i++) {
		memcpy(c, e6, sizeof(c));
		c[i] = (char)(c[i] == '9' ? '0' : c[i] + 1);
		assert_int_equal(ct_otp_code_equal(e6, c, 6), 0);
		c[i] = (char)(e6[i] | 0x80); /* differs only in the high bit */
		assert_int_equal(ct_otp_code_equal(e6, c, 6), 0);
		c[i] = (char)~e6[i]; /* differs in every bit */
		assert_int_equal(ct_otp_code_equal(e6, c, 6), 0);
	}
	/* wrong lengths */
	assert_int_equal(ct_otp_code_equal(e6, "12345", 6), 0);
	assert_int_equal(ct_otp_code_equal(e6, "1234567", 6), 0);
	assert_int_equal(ct_otp_code_equal(e6, "123456 ", 6), 0);
	assert_int_equal(ct_otp_code_equal(e6, "", 6), 0);
	assert_int_equal(ct_otp_code_equal(e8, "0123456", 8), 0);
	assert_int_equal(ct_otp_code_equal(e8, "012345678", 8), 0);
	/* non-digits, even when both sides agree */
	assert_int_equal(ct_otp_code_equal(e6, "12345a", 6), 0);
	assert_int_equal(ct_otp_code_equal(e6, " 23456", 6), 0);
	assert_int_equal(ct_otp_code_equal(bad, "12345a", 6), 0);
	/* bad digit counts and NULLs */
	assert_int_equal(ct_otp_code_equal(e6, "123456", 5), 0);
	assert_int_equal(ct_otp_code_equal(e6, "123456", 9), 0);
	assert_int_equal(ct_otp_code_equal(NULL, "123456", 6), 0);
	assert_int_equal(ct_otp_code_equal(e6, NULL, 6), 0);
	/* an expected value longer than DIGITS is not a DIGITS-long code */
	assert_int_equal(ct_otp_code_equal(e8, "012345", 6), 0);
}

/* ---- HOTP verification ---- */

static void
test_hotp_lookahead(void **state)
{
	char code[9];
	uint64_t m;

	(void)state;
	hotp(CT_OTP_SHA1, KEY20, 20, 110, 6, code);
	m = 7;
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 100, 10, code, &m), CT_OK);
	assert_int_equal(m, 110);
	/* the caller moves the counter to MATCHED+1: the code is refused from then on */
	m = 7;
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 111, 10, code, &m), CT_EPERM);
	assert_int_equal(m, 7);
	/* one past the look-ahead */
	hotp(CT_OTP_SHA1, KEY20, 20, 111, 6, code);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 100, 10, code, &m), CT_EPERM);
	assert_int_equal(m, 7);
	/* below NEXT */
	hotp(CT_OTP_SHA1, KEY20, 20, 99, 6, code);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 100, 10, code, &m), CT_EPERM);
	/* NEXT itself, with and without look-ahead */
	hotp(CT_OTP_SHA1, KEY20, 20, 100, 6, code);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 100, 0, code, &m), CT_OK);
	assert_int_equal(m, 100);
	hotp(CT_OTP_SHA1, KEY20, 20, 101, 6, code);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 100, 0, code, &m), CT_EPERM);
	/* the largest look-ahead, 8 digits, SHA-256 */
	hotp(CT_OTP_SHA256, KEY32, 32, 5 + CT_OTP_MAX_LOOKAHEAD, 8, code);
	assert_int_equal(
	    ct_hotp_verify(CT_OTP_SHA256, KEY32, 32, 8, 5, CT_OTP_MAX_LOOKAHEAD, code, &m), CT_OK);
	assert_int_equal(m, 5 + CT_OTP_MAX_LOOKAHEAD);
	/* malformed codes never match */
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 0, 10, "75522", &m), CT_EPERM);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 0, 10, "7552240", &m), CT_EPERM);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 0, 10, "", &m), CT_EPERM);
}

/* Find a key (from a few fixed ones) with two equal 6-digit codes at
 * counters *I < *J at most CT_OTP_MAX_LOOKAHEAD apart, none equal between. */
static int
find_repeat(unsigned char key[20], char (*codes)[9], int n, int *i, int *j)
{
	int k, a, b;

	for (k = 0; k < 20; k++) {
		memset(key, 'a' + k, 20);
		for (a = 0; a < n; a++)
			hotp(CT_OTP_SHA1, key, 20, (uint64_t)a, 6, codes[a]);
		for (a = 0; a < n; a++) {
			for (b = a + 1; b < n && b - a <= CT_OTP_MAX_LOOKAHEAD; b++) {
				if (strcmp(codes[a], codes[b]) == 0) {
					*i = a;
					*j = b;
					return 1;
				}
			}
		}
	}
	return 0;
}

/* With two equal codes in the range, the first one is reported. */
static void
test_hotp_first_match(void **state)
{
	enum { N = 3000 };
	char(*codes)[9] = malloc(N * sizeof(*codes));
	unsigned char key[20];
	uint64_t m;
	int i = 0, j = 0;

	(void)state;
	assert_non_null(codes);
	if (!find_repeat(key, codes, N, &i, &j))
		fail_msg("no repeated code found to test with");
	assert_int_equal(
	    ct_hotp_verify(CT_OTP_SHA1, key, sizeof(key), 6, (uint64_t)i, j - i, codes[i], &m),
	    CT_OK);
	assert_int_equal(m, (uint64_t)i);
	/* from i+1 on, the next occurrence */
	assert_int_equal(
	    ct_hotp_verify(CT_OTP_SHA1, key, sizeof(key), 6, (uint64_t)i + 1, j - i, codes[i], &m),
	    CT_OK);
	assert_int_equal(m, (uint64_t)j);
	free(codes);
}

static void
test_hotp_verify_bad_params(void **state)
{
	uint64_t m = 7;

	(void)state;
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 0, -1, "755224", &m), CT_EINVAL);
	assert_int_equal(
	    ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 0, CT_OTP_MAX_LOOKAHEAD + 1, "755224", &m),
	    CT_EINVAL);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 5, 0, 1, "75522", &m), CT_EINVAL);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 0, 6, 0, 1, "755224", &m), CT_EINVAL);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, NULL, 20, 6, 0, 1, "755224", &m), CT_EINVAL);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 0, 1, NULL, &m), CT_EINVAL);
	assert_int_equal(
	    ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, 0, 1, "755224", NULL), CT_EINVAL);
	assert_int_equal(
	    ct_hotp_verify((enum ct_otp_algo) - 1, KEY20, 20, 6, 0, 1, "755224", &m), CT_EINVAL);
	/* NEXT+LOOKAHEAD (and the caller's MATCHED+1) must not wrap */
	assert_int_equal(
	    ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, UINT64_MAX - 5, 10, "755224", &m), CT_EINVAL);
	assert_int_equal(
	    ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, UINT64_MAX, 0, "755224", &m), CT_EINVAL);
	assert_int_equal(
	    ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, UINT64_MAX - 10, 10, "755224", &m),
	    CT_EINVAL);
	assert_int_equal(m, 7);
	assert_int_equal(ct_hotp_verify(CT_OTP_SHA1, KEY20, 20, 6, UINT64_MAX - 11, 10, "000000",
	                     &m) == CT_EINVAL,
	    0);
}

/* ---- TOTP verification ---- */

#define T0 1700000000 /* a time that is not on a step boundary (1700000000 % 30 == 20) */

static int
totp(int64_t t_step, int window, int64_t last_used, int64_t *step)
{
	char code[9];

	hotp(CT_OTP_SHA256, KEY32, 32, (uint64_t)t_step, 6, code);
	return ct_totp_verify(
	    CT_OTP_SHA256, KEY32, 32, 6, 30, (time_t)T0, window, last_used, code, step);
}

static void
test_totp_window_edges(void **state)
{
	const int64_t t = T0 / 30;
	int64_t s;
	int w;

	(void)state;
	for (w = 0; w <= CT_OTP_MAX_WINDOW; w += 2) {
		s = -7;
		assert_int_equal(totp(t - w, w, -1, &s), CT_OK);
		assert_int_equal(s, t - w);
		assert_int_equal(totp(t + w, w, -1, &s), CT_OK);
		assert_int_equal(s, t + w);
		assert_int_equal(totp(t, w, -1, &s), CT_OK);
		assert_int_equal(s, t);
		s = -7;
		assert_int_equal(totp(t - w - 1, w, -1, &s), CT_EPERM);
		assert_int_equal(totp(t + w + 1, w, -1, &s), CT_EPERM);
		assert_int_equal(s, -7);
	}
	/* the step boundary: the last second of a step and the first of the next */
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 8, 30, 59, 0, -1, "94287082", &s), CT_OK);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 8, 30, 60, 0, -1, "94287082", &s), CT_EPERM);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 8, 30, 60, 1, -1, "94287082", &s), CT_OK);
	assert_int_equal(s, 1);
}

static void
test_totp_replay(void **state)
{
	const int64_t t = T0 / 30;
	int64_t s = -7;

	(void)state;
	/* accepted once, then refused with LAST_USED = the matched step */
	assert_int_equal(totp(t, 1, -1, &s), CT_OK);
	assert_int_equal(totp(t, 1, s, &s), CT_EPERM);
	assert_int_equal(s, t);
	/* LAST_USED = T refuses the right code of step T and every earlier one */
	assert_int_equal(totp(t, 1, t, &s), CT_EPERM);
	assert_int_equal(totp(t - 1, 1, t, &s), CT_EPERM);
	assert_int_equal(totp(t + 1, 1, t, &s), CT_OK);
	assert_int_equal(s, t + 1);
	/* LAST_USED = T-1 refuses T-1 and below, accepts T */
	assert_int_equal(totp(t - 1, 2, t - 1, &s), CT_EPERM);
	assert_int_equal(totp(t - 2, 2, t - 1, &s), CT_EPERM);
	assert_int_equal(totp(t, 2, t - 1, &s), CT_OK);
	assert_int_equal(s, t);
	/* LAST_USED far in the future refuses everything */
	assert_int_equal(totp(t + 2, 2, t + 100, &s), CT_EPERM);
}

static void
test_totp_bad_params(void **state)
{
	int64_t s = -7;

	(void)state;
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, -1, 1, -1, "123456", &s), CT_EINVAL);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 0, T0, 1, -1, "123456", &s), CT_EINVAL);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, -30, T0, 1, -1, "123456", &s), CT_EINVAL);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 3601, T0, 1, -1, "123456", &s), CT_EINVAL);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, T0, -1, -1, "123456", &s), CT_EINVAL);
	assert_int_equal(ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, T0, CT_OTP_MAX_WINDOW + 1,
	                     -1, "123456", &s),
	    CT_EINVAL);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, T0, 1, -2, "123456", &s), CT_EINVAL);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 9, 30, T0, 1, -1, "123456", &s), CT_EINVAL);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, T0, 1, -1, NULL, &s), CT_EINVAL);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, T0, 1, -1, "123456", NULL), CT_EINVAL);
	/* T + WINDOW must not overflow */
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 1, (time_t)INT64_MAX, 1, -1, "123456", &s),
	    CT_EINVAL);
	assert_int_equal(s, -7);
	/* malformed codes */
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, T0, 1, -1, "12345", &s), CT_EPERM);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, T0, 1, -1, "12345x", &s), CT_EPERM);
}

/* The largest period and window, and times near the epoch. */
static void
test_totp_bounds(void **state)
{
	int64_t s = -7;
	char code[9];

	(void)state;
	hotp(CT_OTP_SHA1, KEY20, 20, T0 / 3600, 6, code);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 3600, T0, CT_OTP_MAX_WINDOW, -1, code, &s),
	    CT_OK);
	assert_int_equal(s, T0 / 3600);
	/* near the epoch, steps before 0 are skipped and steps 0 and 1 still work */
	hotp(CT_OTP_SHA1, KEY20, 20, 0, 6, code);
	assert_int_equal(ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, 0, 3, -1, code, &s), CT_OK);
	assert_int_equal(s, 0);
	hotp(CT_OTP_SHA1, KEY20, 20, 1, 6, code);
	assert_int_equal(ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, 0, 3, -1, code, &s), CT_OK);
	assert_int_equal(s, 1);
	assert_int_equal(ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, 0, 3, 0, code, &s), CT_OK);
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, 0, 3, 1, code, &s), CT_EPERM);
	hotp(CT_OTP_SHA1, KEY20, 20, UINT64_MAX, 6, code); /* "step -1" */
	assert_int_equal(
	    ct_totp_verify(CT_OTP_SHA1, KEY20, 20, 6, 30, 0, 1, -1, code, &s), CT_EPERM);
}

/* ---- base32 ---- */

static const struct {
	const char *plain, *b32;
} b32_vectors[] = {
    {"", ""},
    {"f", "MY"},
    {"fo", "MZXQ"},
    {"foo", "MZXW6"},
    {"foob", "MZXW6YQ"},
    {"fooba", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI"},
};

static void
decode_ok(const char *text, const char *want)
{
	unsigned char out[64];
	size_t len = 999;
	int rc = ct_base32_decode(text, out, sizeof(out), &len);

	if (rc != CT_OK)
		fail_msg("decode '%s': %d", text, rc);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
}

static void
decode_bad(const char *text)
{
	unsigned char out[64];
	size_t len = 999;
	int rc = ct_base32_decode(text, out, sizeof(out), &len);

	if (rc != CT_EINVAL)
		fail_msg("decode '%s': %d, not CT_EINVAL", text, rc);
	assert_int_equal(len, 999);
}

static void
test_base32_vectors(void **state)
{
	char out[32];
	size_t i, n = sizeof(b32_vectors) / sizeof(b32_vectors[0]);

	(void)state;
	for (i = 0; i < n; i++) {
		memset(out, 'X', sizeof(out));
		assert_int_equal(ct_base32_encode((const unsigned char *)b32_vectors[i].plain,
		                     strlen(b32_vectors[i].plain), out, sizeof(out)),
		    CT_OK);
		assert_string_equal(out, b32_vectors[i].b32);
		decode_ok(b32_vectors[i].b32, b32_vectors[i].plain);
	}
	/* the padded forms of RFC 4648 section 10 */
	decode_ok("MY======", "f");
	decode_ok("MZXQ====", "fo");
	decode_ok("MZXW6===", "foo");
	decode_ok("MZXW6YQ=", "foob");
	decode_ok("MZXW6YTBOI======", "foobar");
	assert_int_equal(ct_base32_encode(NULL, 0, out, 1), CT_OK);
	assert_string_equal(out, "");
}

static void
test_base32_forms(void **state)
{
	(void)state;
	decode_ok("mzxw6ytboi", "foobar");
	decode_ok("MzXw6YtBoI", "foobar");
	decode_ok("MZXW 6YTB OI", "foobar");
	decode_ok(" mzxw 6ytb oi== ==== ", "foobar");
	decode_ok("   ", "");
	decode_ok("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "12345678901234567890");
	/* non-zero trailing bits are accepted */
	decode_ok("MZ", "f");
	decode_ok("MZXR", "fo");
}

static void
test_base32_errors(void **state)
{
	unsigned char out[8];
	char enc[16];
	size_t len = 999;

	(void)state;
	decode_bad("M"); /* 1, 3, 6 leftover characters */
	decode_bad("MZX");
	decode_bad("MZXW6Y");
	decode_bad("MZXW6YTBM");
	decode_bad("MZXW6YTBMZX");
	decode_bad("MZXW6YTBMZXW6Y");
	decode_bad("MY1"); /* not in the alphabet */
	decode_bad("MY0=");
	decode_bad("MY8");
	decode_bad("MY!");
	decode_bad("MZ-XQ");
	decode_bad("MZ\tXQ");
	decode_bad("MZ\nXQ");
	decode_bad("MZXQ\xc3\xa9");
	decode_bad("MY=A"); /* data after padding */
	decode_bad("MY="); /* padding that does not complete a quantum */
	decode_bad("MZXW6YTB========");
	decode_bad("=");
	assert_int_equal(ct_base32_decode(NULL, out, sizeof(out), &len), CT_EINVAL);
	assert_int_equal(ct_base32_decode("MY", out, sizeof(out), NULL), CT_EINVAL);
	/* does not fit */
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(ct_base32_decode("MZXW6", out, 2, &len), CT_EINVAL);
	assert_int_equal(len, 999);
	assert_int_equal(out[0], 0xAA);
	assert_int_equal(ct_base32_decode("MZXW6", out, 3, &len), CT_OK);
	assert_int_equal(len, 3);
	assert_int_equal(ct_base32_decode("MY", NULL, 0, &len), CT_EINVAL);
	assert_int_equal(ct_base32_decode("", NULL, 0, &len), CT_OK);
	assert_int_equal(len, 0);
	/* encode: room for the NUL is needed */
	memset(enc, 'X', sizeof(enc));
	assert_int_equal(ct_base32_encode((const unsigned char *)"foobar", 6, enc, 10), CT_EINVAL);
	assert_int_equal(enc[0], 'X');
	assert_int_equal(ct_base32_encode((const unsigned char *)"foobar", 6, enc, 11), CT_OK);
	assert_string_equal(enc, "MZXW6YTBOI");
	assert_int_equal(ct_base32_encode((const unsigned char *)"f", 1, NULL, 11), CT_EINVAL);
	assert_int_equal(ct_base32_encode(NULL, 1, enc, sizeof(enc)), CT_EINVAL);
}

static void
test_base32_roundtrip(void **state)
{
	unsigned char data[CT_OTP_SECRET_MAX], back[CT_OTP_SECRET_MAX];
	char enc[128], spaced[256];
	size_t len, n, i, o;

	(void)state;
	for (len = 0; len <= CT_OTP_SECRET_MAX; len++) {
		random_bytes(data, sizeof(data));
		assert_int_equal(ct_base32_encode(data, len, enc, sizeof(enc)), CT_OK);
		assert_int_equal(strlen(enc), (len * 8 + 4) / 5);
		assert_int_equal(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), strlen(enc));
		assert_int_equal(ct_base32_decode(enc, back, len, &n), CT_OK);
		assert_int_equal(n, len);
		assert_memory_equal(back, data, len);
		/* lower case with a space every four characters */
		for (i = 0, o = 0; enc[i] != '\0'; i++) {
			if (i % 4 == 0)
				spaced[o++] = ' ';
			spaced[o++] = (char)(enc[i] >= 'A' && enc[i] <= 'Z' ? enc[i] + 32 : enc[i]);
		}
		spaced[o] = '\0';
		assert_int_equal(ct_base32_decode(spaced, back, sizeof(back), &n), CT_OK);
		assert_int_equal(n, len);
		assert_memory_equal(back, data, len);
	}
}

/* ---- otpauth:// URI ---- */

static void
test_otpauth_uri(void **state)
{
	char *uri = NULL;

	(void)state;
	assert_int_equal(ct_otpauth_uri(1, "ACME Corp", "alice:ops team", KEY20, 20, CT_OTP_SHA1, 6,
	                     30, 0, &uri),
	    CT_OK);
	assert_string_equal(uri,
	    "otpauth://totp/ACME%20Corp:alice%3Aops%20team"
	    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Corp"
	    "&algorithm=SHA1&digits=6&period=30");
	ct_free_secret(uri);
	uri = NULL;
	assert_int_equal(ct_otpauth_uri(0, "Example", "bob@example.org", KEY20, 20, CT_OTP_SHA256,
	                     8, 0, 42, &uri),
	    CT_OK);
	assert_string_equal(uri,
	    "otpauth://hotp/Example:bob%40example.org"
	    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example"
	    "&algorithm=SHA256&digits=8&counter=42");
	ct_free_secret(uri);
	uri = NULL;
	assert_int_equal(ct_otpauth_uri(0, "a-b.c_d~e", "\xc3\xa9/?&=+%#",
	                     (const unsigned char *)"f", 1, CT_OTP_SHA512, 7, 0, UINT64_MAX, &uri),
	    CT_OK);
	assert_string_equal(uri,
	    "otpauth://hotp/a-b.c_d~e:%C3%A9%2F%3F%26%3D%2B%25%23"
	    "?secret=MY&issuer=a-b.c_d~e&algorithm=SHA512&digits=7&counter=18446744073709551615");
	ct_free_secret(uri);
}

static void
test_otpauth_uri_errors(void **state)
{
	char *uri = (char *)"untouched", long_name[1100];

	(void)state;
	assert_int_equal(
	    ct_otpauth_uri(1, NULL, "a", KEY20, 20, CT_OTP_SHA1, 6, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "", "a", KEY20, 20, CT_OTP_SHA1, 6, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", NULL, KEY20, 20, CT_OTP_SHA1, 6, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", "", KEY20, 20, CT_OTP_SHA1, 6, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", "a", KEY20, 0, CT_OTP_SHA1, 6, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", "a", KEY64, 65, CT_OTP_SHA1, 6, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", "a", KEY20, 20, (enum ct_otp_algo)3, 6, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", "a", KEY20, 20, CT_OTP_SHA1, 9, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", "a", KEY20, 20, CT_OTP_SHA1, 6, 0, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", "a", KEY20, 20, CT_OTP_SHA1, 6, 3601, 0, &uri), CT_EINVAL);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(
	    ct_otpauth_uri(1, "i", long_name, KEY20, 20, CT_OTP_SHA1, 6, 30, 0, &uri), CT_EINVAL);
	assert_int_equal(
	    ct_otpauth_uri(1, "i", "a", KEY20, 20, CT_OTP_SHA1, 6, 30, 0, NULL), CT_EINVAL);
	assert_string_equal(uri, "untouched");
	/* the largest names fit */
	long_name[1024] = '\0';
	memset(long_name, ' ', 1024);
	uri = NULL;
	assert_int_equal(
	    ct_otpauth_uri(1, long_name, long_name, KEY64, 64, CT_OTP_SHA512, 8, 3600, 0, &uri),
	    CT_OK);
	assert_int_equal(strlen(uri),
	    strlen("otpauth://totp/:?secret=&issuer=&algorithm=SHA512"
	           "&digits=8&period=3600") +
	        3 * 3 * 1024 + 103);
	ct_free_secret(uri);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_algo_names),
	    cmocka_unit_test(test_hotp_rfc4226),
	    cmocka_unit_test(test_hotp_bad_params),
	    cmocka_unit_test(test_totp_rfc6238),
	    cmocka_unit_test(test_oathtool_hotp),
	    cmocka_unit_test(test_oathtool_totp),
	    cmocka_unit_test(test_code_equal),
	    cmocka_unit_test(test_hotp_lookahead),
	    cmocka_unit_test(test_hotp_first_match),
	    cmocka_unit_test(test_hotp_verify_bad_params),
	    cmocka_unit_test(test_totp_window_edges),
	    cmocka_unit_test(test_totp_replay),
	    cmocka_unit_test(test_totp_bad_params),
	    cmocka_unit_test(test_totp_bounds),
	    cmocka_unit_test(test_base32_vectors),
	    cmocka_unit_test(test_base32_forms),
	    cmocka_unit_test(test_base32_errors),
	    cmocka_unit_test(test_base32_roundtrip),
	    cmocka_unit_test(test_otpauth_uri),
	    cmocka_unit_test(test_otpauth_uri_errors),
	};

	return cmocka_run_group_tests_name("otp", tests, NULL, NULL);
}
