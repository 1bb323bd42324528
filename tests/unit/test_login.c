/* Certificate login pieces: base64url, the challenge word, the signed
 * message and the response line.  (The verifier's policy is exercised
 * through the real PAM library in tests/integration/login.sh.) */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "issue.h"
#include "login.h"

static void
enc_is(const char *in, size_t len, const char *want)
{
	char *got = ct_b64url_encode((const unsigned char *)in, len);
	unsigned char *back = NULL;
	size_t back_len = 0;

	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(ct_b64url_decode(got, strlen(got), &back, &back_len), 0);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, in, len);
	free(back);
	free(got);
}

static void
test_b64url_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10, without padding */
	enc_is("", 0, "");
	enc_is("f", 1, "Zg");
	enc_is("fo", 2, "Zm8");
	enc_is("foo", 3, "Zm9v");
	enc_is("foob", 4, "Zm9vYg");
	enc_is("fooba", 5, "Zm9vYmE");
	enc_is("foobar", 6, "Zm9vYmFy");
	/* the URL alphabet: 62 and 63 are '-' and '_' */
	enc_is("\xfb\xff", 2, "-_8");
}

static void
test_b64url_strict(void **state)
{
	static const char *bad[] = {
	    "Zh", "Zm9", "Z", "Zm9vY", "Zg==", "+/8", "Zm 9v", "Zm9v\n", "Zm8="};
	unsigned char *out = NULL, rnd[97];
	size_t i, len, n;
	char *e;

	(void)state;
	/* "Zh" and "Zm9" carry set bits past the last byte: not canonical */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = NULL;
		assert_int_not_equal(ct_b64url_decode(bad[i], strlen(bad[i]), &out, &len), 0);
		assert_null(out);
	}
	/* round trips of every length */
	for (n = 0; n < sizeof(rnd); n++) {
		assert_int_equal(RAND_bytes(rnd, (int)sizeof(rnd)), 1);
		assert_non_null(e = ct_b64url_encode(rnd, n));
		assert_int_equal(strlen(e), (n * 4 + 2) / 3);
		assert_int_equal(ct_b64url_decode(e, strlen(e), &out, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(out, rnd, n);
		free(out);
		free(e);
	}
}

static void
test_challenge_round_trip(void **state)
{
	struct ct_challenge c, d;
	struct ct_err err = {0};
	char text[CT_CHALLENGE_MAX], prompt[CT_CHALLENGE_MAX + 100];

	(void)state;
	assert_int_equal(
	    ct_challenge_new(&c, "default", "alice@EXAMPLE", "sshd", "host-1.example.org", &err),
	    CT_OK);
	ct_challenge_format(&c, text);
	assert_int_equal(strncmp(text, "ctc1:", 5), 0);
	assert_null(strpbrk(text, " \t\r\n"));
	assert_int_equal(ct_challenge_parse(text, &d, &err), CT_OK);
	assert_memory_equal(&c, &d, sizeof(c));
	/* a whole pasted prompt, with ssh's prefix and the Response: line */
	snprintf(prompt, sizeof(prompt),
	    "(alice@host) Certificate challenge (x)\r\n%s\r\nResponse: ", text);
	memset(&d, 0, sizeof(d));
	assert_int_equal(ct_challenge_parse(prompt, &d, &err), CT_OK);
	assert_memory_equal(&c, &d, sizeof(c));
	/* two challenges differ */
	assert_int_equal(
	    ct_challenge_new(&d, "default", "alice@EXAMPLE", "sshd", "h", &err), CT_OK);
	assert_memory_not_equal(c.nonce, d.nonce, CT_NONCE_LEN);
}

static void
test_challenge_refused(void **state)
{
	static const char *bad[] = {
	    "no challenge here",
	    "ctc1:",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAA:t:u:s",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAA:t:u:s:h:extra",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAA:t:u::h",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAA:t:u:s:h", /* 15.x bytes */
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAAAA:t:u:s:h", /* 18 bytes */
	    "ctc1:AAAAAAAAAAAAAAAAAAAAA+:t:u:s:h",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAA:t:u$:s:h",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAA:t:u:s:h\x01",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAA:t:u:s:h:",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAA:..:u:s:h",
	    "ctc1:AAAAAAAAAAAAAAAAAAAAAA:.t:u:s:h",
	    "ctc1::AAAAAAAAAAAAAAAAAAAAAA:t:u:s:h",
	};
	char longuser[CT_USER_MAX + 80];
	struct ct_challenge c;
	struct ct_err err = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ct_err_clear(&err);
		assert_int_equal(ct_challenge_parse(bad[i], &c, &err), CT_EINVAL);
		assert_true(err.msg[0] != '\0');
	}
	snprintf(
	    longuser, sizeof(longuser), "ctc1:AAAAAAAAAAAAAAAAAAAAAA:t:%0*d:s:h", CT_USER_MAX, 0);
	assert_int_equal(ct_challenge_parse(longuser, &c, &err), CT_EINVAL);
	/* names that cannot go into a challenge are refused when making one */
	assert_int_equal(ct_challenge_new(&c, "t", "u", "my service", "h", &err), CT_EINVAL);
	assert_int_equal(ct_challenge_new(&c, "t", "u", "s", "", &err), CT_EINVAL);
	assert_int_equal(ct_challenge_new(&c, "t", "u:x", "s", "h", &err), CT_EINVAL);
}

static void
test_message_layout(void **state)
{
	static const unsigned char want[] = "certtoken login v1\0"
	                                    "\x00\x10"
	                                    "\x00\x00\x00\x00\x00\x00\x00\x00"
	                                    "\x00\x00\x00\x00\x00\x00\x00\x00"
	                                    "\x00\x02tg\x00\x01u\x00\x04sshd\x00\x01h";
	struct ct_challenge c;
	struct ct_err err = {0};
	unsigned char *msg = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ct_challenge_new(&c, "tg", "u", "sshd", "h", &err), CT_OK);
	memset(c.nonce, 0, sizeof(c.nonce));
	assert_int_equal(ct_login_message(&c, &msg, &len, &err), CT_OK);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(msg, want, len);
	free(msg);
}

/* A P-256 key and a self-signed certificate with serial 0x0102..10. */
static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn;

	assert_non_null(x);
	assert_int_not_equal(BN_hex2bn(&bn, "0102030405060708090A0B0C0D0E0F10"), 0);
	sn = BN_to_ASN1_INTEGER(bn, NULL);
	X509_set_serialNumber(x, sn);
	X509_NAME_add_entry_by_txt(
	    X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"u", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return x;
}

static void
test_response(void **state)
{
	EVP_PKEY *key = ct_key_generate(CT_KEY_EC_P256);
	struct ct_challenge c;
	struct ct_err err = {0};
	char *line = NULL, *whole = NULL, *sig64, *end;
	unsigned char *sig = NULL, *msg = NULL;
	size_t sig_len = 0, msg_len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	X509 *x;

	(void)state;
	assert_non_null(key);
	x = self_signed(key);
	assert_int_equal(ct_challenge_new(&c, "default", "u", "sshd", "h", &err), CT_OK);
	assert_int_equal(ct_response_make(&c, key, x, 0, &line, &err), CT_OK);
	assert_int_equal(strncmp(line, "ctr1:0102030405060708090A0B0C0D0E0F10:", 38), 0);
	assert_true(strlen(line) < 200);
	assert_null(strchr(line + 38, ':'));
	/* the signature verifies over the message of the challenge */
	sig64 = line + 38;
	assert_int_equal(ct_b64url_decode(sig64, strlen(sig64), &sig, &sig_len), 0);
	assert_int_equal(ct_login_message(&c, &msg, &msg_len, &err), CT_OK);
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, sig_len, msg, msg_len), 1);
	/* and not over another challenge's */
	c.nonce[0] ^= 1;
	free(msg);
	assert_int_equal(ct_login_message(&c, &msg, &msg_len, &err), CT_OK);
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL), 1);
	assert_int_not_equal(EVP_DigestVerify(md, sig, sig_len, msg, msg_len), 1);
	/* the whole form appends the certificate */
	assert_int_equal(ct_response_make(&c, key, x, 1, &whole, &err), CT_OK);
	assert_non_null(end = strrchr(whole, ':'));
	assert_true(end - whole > 38);
	assert_true(strlen(end + 1) > 200);
	free(whole);
	free(line);
	free(sig);
	free(msg);
	EVP_MD_CTX_free(md);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* Random damage to a valid challenge never crashes the parser and never
 * yields fields outside the challenge alphabet. */
static void
test_challenge_fuzz(void **state)
{
	struct ct_challenge c, d;
	struct ct_err err = {0};
	char text[CT_CHALLENGE_MAX], buf[CT_CHALLENGE_MAX];
	unsigned char r[4];
	int i, ok = 0;

	(void)state;
	assert_int_equal(ct_challenge_new(&c, "default", "alice", "sshd", "host", &err), CT_OK);
	ct_challenge_format(&c, text);
	for (i = 0; i < 20000; i++) {
		size_t len = strlen(text), pos;
		memcpy(buf, text, len + 1);
		assert_int_equal(RAND_bytes(r, sizeof(r)), 1);
		pos = r[0] % len;
		if (r[1] & 1)
			buf[pos] = (char)r[2];
		else
			buf[r[3] % len] = '\0';
		if (buf[pos] == '\0' && (r[1] & 1))
			continue;
		ct_err_clear(&err);
		if (ct_challenge_parse(buf, &d, &err) == CT_OK) {
			ok++;
			assert_true(ct_login_name_valid(d.user, sizeof(d.user)));
			assert_true(ct_login_name_valid(d.host, sizeof(d.host)));
		}
	}
	assert_true(ok > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url_vectors),
	    cmocka_unit_test(test_b64url_strict),
	    cmocka_unit_test(test_challenge_round_trip),
	    cmocka_unit_test(test_challenge_refused),
	    cmocka_unit_test(test_message_layout),
	    cmocka_unit_test(test_response),
	    cmocka_unit_test(test_challenge_fuzz),
	};

	return cmocka_run_group_tests_name("login", tests, NULL, NULL);
}
