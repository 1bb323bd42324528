/* The DER reader (consume or fail) and the writers. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ct.h"
#include "der.h"

/* Reading one element of BUF with TAG fails and leaves the reader as it was. */
static void
assert_refused(const unsigned char *buf, size_t len, unsigned char tag)
{
	struct ct_der d, c = {NULL, 7}, e = {NULL, 9};

	ct_der_init(&d, buf, len);
	assert_int_equal(ct_der_read(&d, tag, &c, &e), CT_EINVAL);
	assert_ptr_equal(d.p, buf);
	assert_int_equal(d.left, len);
	assert_null(c.p);
	assert_int_equal(c.left, 7);
	assert_null(e.p);
	assert_int_equal(e.left, 9);
}

static void
test_short_form(void **state)
{
	static const unsigned char buf[] = {0x02, 0x01, 0x05, 0x30, 0x00};
	struct ct_der d, c, e;

	(void)state;
	ct_der_init(&d, buf, sizeof(buf));
	assert_int_equal(ct_der_peek(&d), 0x02);
	assert_int_equal(ct_der_read(&d, CT_DER_INTEGER, &c, &e), CT_OK);
	assert_ptr_equal(c.p, buf + 2);
	assert_int_equal(c.left, 1);
	assert_ptr_equal(e.p, buf);
	assert_int_equal(e.left, 3);
	assert_false(ct_der_done(&d));
	/* the wrong tag consumes nothing */
	assert_int_equal(ct_der_read(&d, CT_DER_INTEGER, NULL, NULL), CT_EINVAL);
	assert_int_equal(d.left, 2);
	assert_int_equal(ct_der_read(&d, CT_DER_SEQUENCE, &c, NULL), CT_OK);
	assert_int_equal(c.left, 0);
	assert_true(ct_der_done(&d));
	assert_int_equal(ct_der_peek(&d), -1);
	assert_int_equal(ct_der_read(&d, CT_DER_SEQUENCE, NULL, NULL), CT_EINVAL);
}

static void
test_truncated(void **state)
{
	static const unsigned char full[] = {0x30, 0x82, 0x01, 0x00};
	unsigned char *buf = calloc(1, 4 + 256);
	struct ct_der d, c;
	size_t cut;

	(void)state;
	assert_non_null(buf);
	memcpy(buf, full, sizeof(full));
	/* every proper prefix of the element is refused */
	for (cut = 0; cut < 4 + 256; cut++)
		assert_refused(buf, cut, CT_DER_SEQUENCE);
	ct_der_init(&d, buf, 4 + 256);
	assert_int_equal(ct_der_read(&d, CT_DER_SEQUENCE, &c, NULL), CT_OK);
	assert_int_equal(c.left, 256);
	assert_true(ct_der_done(&d));
	free(buf);
}

static void
test_length_past_end(void **state)
{
	static const unsigned char one[] = {0x04, 0x05, 1, 2, 3, 4};
	static const unsigned char huge[] = {0x04, 0x83, 0xff, 0xff, 0xff, 0};
	static const unsigned char nested[] = {0x30, 0x04, 0x04, 0x05, 1, 2};
	struct ct_der d, c;

	(void)state;
	assert_refused(one, sizeof(one), 0x04);
	assert_refused(huge, sizeof(huge), 0x04);
	/* the outer element fits, the inner one claims more than its parent */
	ct_der_init(&d, nested, sizeof(nested));
	assert_int_equal(ct_der_read(&d, CT_DER_SEQUENCE, &c, NULL), CT_OK);
	assert_refused(c.p, c.left, 0x04);
}

static void
test_long_form(void **state)
{
	size_t big = 6 + (size_t)CT_DER_LEN_MAX + 1;
	unsigned char *buf = calloc(1, big);
	struct ct_der d, c;

	(void)state;
	assert_non_null(buf);
	/* one, two and three length octets, each the shortest form */
	buf[0] = 0x04, buf[1] = 0x81, buf[2] = 0x80;
	ct_der_init(&d, buf, 3 + 0x80);
	assert_int_equal(ct_der_read(&d, 0x04, &c, NULL), CT_OK);
	assert_int_equal(c.left, 0x80);
	assert_ptr_equal(c.p, buf + 3);
	assert_true(ct_der_done(&d));
	buf[1] = 0x82, buf[2] = 0x01, buf[3] = 0x00;
	ct_der_init(&d, buf, 4 + 0x100);
	assert_int_equal(ct_der_read(&d, 0x04, &c, NULL), CT_OK);
	assert_int_equal(c.left, 0x100);
	buf[1] = 0x83, buf[2] = 0xff, buf[3] = 0xff, buf[4] = 0xff;
	ct_der_init(&d, buf, 5 + CT_DER_LEN_MAX);
	assert_int_equal(ct_der_read(&d, 0x04, &c, NULL), CT_OK);
	assert_int_equal(c.left, CT_DER_LEN_MAX);
	assert_true(ct_der_done(&d));
	/* four length octets: over the maximum, even with the bytes there */
	buf[1] = 0x84, buf[2] = 0x01, buf[3] = 0, buf[4] = 0, buf[5] = 0;
	assert_refused(buf, big, 0x04);
	free(buf);
}

static void
test_not_der(void **state)
{
	static const unsigned char indefinite[] = {0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00};
	static const unsigned char long_small[] = {0x04, 0x81, 0x05, 1, 2, 3, 4, 5};
	static const unsigned char zero_lead[] = {0x04, 0x82, 0x00, 0x85, 0};
	static const unsigned char high_tag[] = {0x1f, 0x81, 0x01, 0x00};
	static const unsigned char reserved[] = {0x04, 0xff, 0};

	(void)state;
	assert_refused(indefinite, sizeof(indefinite), CT_DER_SEQUENCE);
	assert_refused(long_small, sizeof(long_small), 0x04);
	assert_refused(zero_lead, sizeof(zero_lead), 0x04);
	assert_refused(high_tag, sizeof(high_tag), 0x1f);
	assert_refused(reserved, sizeof(reserved), 0x04);
}

static void
test_nested(void **state)
{
	/* SEQUENCE { INTEGER 1, SEQUENCE { OID 2.5 }, BIT STRING 00 ff } */
	static const unsigned char buf[] = {
	    0x30, 0x0c, 0x02, 0x01, 0x01, 0x30, 0x03, 0x06, 0x01, 0x55, 0x03, 0x02, 0x00, 0xff};
	struct ct_der d, seq, inner, oid, bits, e;

	(void)state;
	ct_der_init(&d, buf, sizeof(buf));
	assert_int_equal(ct_der_read(&d, CT_DER_SEQUENCE, &seq, NULL), CT_OK);
	assert_true(ct_der_done(&d));
	assert_int_equal(ct_der_read(&seq, CT_DER_INTEGER, NULL, NULL), CT_OK);
	assert_int_equal(ct_der_read(&seq, CT_DER_SEQUENCE, &inner, &e), CT_OK);
	assert_ptr_equal(e.p, buf + 5);
	assert_int_equal(e.left, 5);
	assert_int_equal(ct_der_read(&inner, CT_DER_OID, &oid, NULL), CT_OK);
	assert_int_equal(oid.left, 1);
	assert_int_equal(oid.p[0], 0x55);
	assert_true(ct_der_done(&inner));
	assert_int_equal(ct_der_read(&seq, CT_DER_BIT_STRING, &bits, NULL), CT_OK);
	assert_int_equal(bits.left, 2);
	assert_true(ct_der_done(&seq));
}

/* A real SubjectPublicKeyInfo from OpenSSL reads as SEQUENCE { SEQUENCE {
 * OID, ... }, BIT STRING } and the bits are the key OpenSSL reports. */
static void
test_real_spki(void **state)
{
	static const char *const curves[] = {"P-256", "P-384"};
	struct ct_der d, spki, alg, oid, bits;
	const unsigned char *pk;
	unsigned char *der = NULL;
	X509_PUBKEY *xpk = NULL;
	EVP_PKEY *k;
	int n, pklen;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		k = i < 2 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i])
		          : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		assert_non_null(k);
		assert_true((n = i2d_PUBKEY(k, &der)) > 0);
		ct_der_init(&d, der, (size_t)n);
		assert_int_equal(ct_der_read(&d, CT_DER_SEQUENCE, &spki, NULL), CT_OK);
		assert_true(ct_der_done(&d));
		assert_int_equal(ct_der_read(&spki, CT_DER_SEQUENCE, &alg, NULL), CT_OK);
		assert_int_equal(ct_der_read(&alg, CT_DER_OID, &oid, NULL), CT_OK);
		assert_int_equal(ct_der_read(&spki, CT_DER_BIT_STRING, &bits, NULL), CT_OK);
		assert_true(ct_der_done(&spki));
		assert_non_null(X509_PUBKEY_set(&xpk, k) == 1 ? xpk : NULL);
		assert_int_equal(X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk), 1);
		assert_int_equal(bits.p[0], 0); /* no unused bits */
		assert_int_equal(bits.left - 1, (size_t)pklen);
		assert_memory_equal(bits.p + 1, pk, (size_t)pklen);
		/* every truncation of it is refused */
		for (int cut = 0; cut < n; cut++)
			assert_refused(der, (size_t)cut, CT_DER_SEQUENCE);
		X509_PUBKEY_free(xpk);
		xpk = NULL;
		OPENSSL_free(der);
		der = NULL;
		EVP_PKEY_free(k);
	}
}

/* What the writers make, the reader reads back; too much is refused. */
static void
test_wrap_round_trip(void **state)
{
	static const size_t sizes[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000};
	unsigned char *payload = malloc(0x10000), *out = NULL;
	struct ct_der_part parts[2];
	struct ct_der d, c;
	size_t out_len = 0;

	(void)state;
	assert_non_null(payload);
	for (size_t i = 0; i < 0x10000; i++)
		payload[i] = (unsigned char)i;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		parts[0] = (struct ct_der_part){payload, sizes[i] / 2};
		parts[1] = (struct ct_der_part){payload + sizes[i] / 2, sizes[i] - sizes[i] / 2};
		assert_int_equal(ct_der_wrap(0x04, parts, 2, &out, &out_len), CT_OK);
		assert_int_equal(out_len, ct_der_header_len(sizes[i]) + sizes[i]);
		ct_der_init(&d, out, out_len);
		assert_int_equal(ct_der_read(&d, 0x04, &c, NULL), CT_OK);
		assert_true(ct_der_done(&d));
		assert_int_equal(c.left, sizes[i]);
		assert_memory_equal(c.p, payload, sizes[i]);
		free(out);
	}
	parts[0] = (struct ct_der_part){payload, CT_DER_LEN_MAX};
	parts[1] = (struct ct_der_part){payload, 1};
	assert_int_equal(ct_der_wrap(0x04, parts, 2, &out, &out_len), CT_EINVAL);
	free(payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_form),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_length_past_end),
	    cmocka_unit_test(test_long_form),
	    cmocka_unit_test(test_not_der),
	    cmocka_unit_test(test_nested),
	    cmocka_unit_test(test_real_spki),
	    cmocka_unit_test(test_wrap_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
