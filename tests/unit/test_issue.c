/* In-process issuance: the leaf profile, validity capping, key checks. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "issue.h"

struct fixture {
	char dir[32];
	struct ct_config *cfg;
	struct ct_ca *ca;
	struct ct_issuer *is;
	struct ct_attrs *attrs;
	unsigned char *spki;
	size_t spki_len;
};

static const char conf_fmt[] =
    "store: { path = \"%s\"; };\n"
    "access_groups = ( { name = \"g\"; key_type = \"%s\"; ca_days = 1; } );\n"
    "targets = ( { name = \"t\"; access_group = \"g\"; subject = \"CN=%%unix_account%%\";\n"
    "  lifetime = %ld; backdate = 60; } );\n";

static struct fixture *
make_fixture(const char *key_type, long lifetime)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ct_err err = {0};
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *der = NULL;
	char text[512];
	int n;

	strcpy(f->dir, "/tmp/ct-issue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof(text), conf_fmt, f->dir, key_type, lifetime);
	assert_int_equal(ct_config_load_string(text, "t", &f->cfg, NULL, &err), CT_OK);
	assert_int_equal(ct_ca_init(f->dir, &f->cfg->groups[0], time(NULL), &err), CT_OK);
	assert_int_equal(ct_ca_load(f->dir, &f->cfg->groups[0], &f->ca, &err), CT_OK);
	assert_int_equal(ct_issuer_new(&f->cfg->targets[0], f->ca, &f->is, &err), CT_OK);
	f->attrs = ct_attrs_new();
	assert_int_equal(ct_attrs_set(f->attrs, "unix_account", "alice", &err), CT_OK);
	assert_true((n = i2d_PUBKEY(k, &der)) > 0);
	f->spki = der;
	f->spki_len = (size_t)n;
	EVP_PKEY_free(k);
	return f;
}

static void
free_fixture(struct fixture *f)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	ct_issuer_free(f->is);
	ct_ca_free(f->ca);
	ct_config_free(f->cfg);
	ct_attrs_free(f->attrs);
	OPENSSL_free(f->spki);
	free(f);
}

/* Issue for the fixture at NOW; parse the leaf as a relying party would. */
static int
issue(struct fixture *f, const struct ct_attrs *a, const unsigned char *spki, size_t len,
    time_t now, X509 **out, struct ct_err *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	int rc = ct_issue(f->is, a, spki, len, now, &der, &der_len, err);

	if (rc == CT_OK) {
		p = der;
		*out = d2i_X509(NULL, &p, (long)der_len);
		assert_non_null(*out);
		/* strict DER: re-encoding gives the same bytes */
		assert_int_equal(i2d_X509(*out, NULL), (int)der_len);
		assert_ptr_equal(p, der + der_len);
		free(der);
	}
	return rc;
}

static void
check_leaf(struct fixture *f, X509 *x, time_t now, long lifetime)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	EVP_PKEY *capub = X509_get0_pubkey(ct_ca_cert(f->ca));
	int diff_day, diff_sec;

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_false(BN_is_negative(bn));
	assert_false(BN_is_zero(bn));
	assert_true(BN_num_bits(bn) <= 128);
	BN_free(bn);
	assert_int_equal(X509_verify(x, capub), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	                     X509_get0_subject_key_id(ct_ca_cert(f->ca))),
	    0);
	/* the subject key came through unchanged */
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_EC);
	assert_int_equal(
	    ASN1_TIME_diff(&diff_day, &diff_sec, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	if (lifetime > 0)
		assert_int_equal(diff_day * 86400L + diff_sec, lifetime + 60);
	(void)now;
}

static void
test_leaf_profile(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 3600);
	struct ct_err err = {0};
	X509 *x = NULL, *y = NULL;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(issue(f, f->attrs, f->spki, f->spki_len, now, &x, &err), CT_OK);
	check_leaf(f, x, now, 3600);
	/* serials are random: two leaves differ */
	assert_int_equal(issue(f, f->attrs, f->spki, f->spki_len, now, &y, &err), CT_OK);
	assert_int_not_equal(
	    ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(y)), 0);
	X509_free(x);
	X509_free(y);
	free_fixture(f);
}

static void
test_ed25519_and_rsa_cas(void **state)
{
	const char *types[] = {"ed25519", "ec-p384", "rsa2048"};
	struct ct_err err = {0};
	X509 *x = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct fixture *f = make_fixture(types[i], 600);
		assert_int_equal(
		    issue(f, f->attrs, f->spki, f->spki_len, time(NULL), &x, &err), CT_OK);
		check_leaf(f, x, time(NULL), 600);
		X509_free(x);
		x = NULL;
		free_fixture(f);
	}
}

static void
test_lifetime_capped_at_ca_expiry(void **state)
{
	/* the CA lives one day; ask for a 30-day leaf */
	struct fixture *f = make_fixture("ec-p256", 30L * 86400);
	struct ct_err err = {0};
	X509 *x = NULL;

	(void)state;
	assert_int_equal(issue(f, f->attrs, f->spki, f->spki_len, time(NULL), &x, &err), CT_OK);
	assert_int_equal(
	    ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ct_ca_cert(f->ca))), 0);
	X509_free(x);
	x = NULL;
	/* after the CA expired nothing is issued */
	assert_int_equal(
	    issue(f, f->attrs, f->spki, f->spki_len, time(NULL) + 3 * 86400, &x, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "has expired"));
	assert_null(x);
	free_fixture(f);
}

static void
test_missing_attribute(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	struct ct_attrs *empty = ct_attrs_new();
	struct ct_err err = {0};
	X509 *x = NULL;

	(void)state;
	assert_int_equal(issue(f, empty, f->spki, f->spki_len, time(NULL), &x, &err), CT_EINVAL);
	assert_null(x);
	assert_non_null(strstr(err.msg, "target 't'"));
	assert_non_null(strstr(err.msg, "unix_account"));
	ct_attrs_free(empty);
	free_fixture(f);
}

static void
test_malformed_spki(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	unsigned char bad[512];
	struct ct_err err = {0};
	X509 *x = NULL;
	size_t cut;

	(void)state;
	memcpy(bad, f->spki, f->spki_len);
	/* every truncation is refused, never read past the end */
	for (cut = 0; cut < f->spki_len; cut++) {
		ct_err_clear(&err);
		assert_int_equal(issue(f, f->attrs, bad, cut, time(NULL), &x, &err), CT_EINVAL);
	}
	bad[0] = 0x31;
	assert_int_equal(issue(f, f->attrs, bad, f->spki_len, time(NULL), &x, &err), CT_EINVAL);
	assert_null(x);
	free_fixture(f);
}

static void
test_key_checks(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	unsigned char *der = NULL;
	struct ct_err err = {0};
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long n;
	size_t len;

	(void)state;
	PEM_write_bio_PUBKEY(b, k);
	n = BIO_get_mem_data(b, &pem);
	assert_int_equal(
	    ct_spki_from_pem((unsigned char *)pem, (size_t)n, &der, &len, &err), CT_OK);
	OPENSSL_free(der);
	der = NULL;
	(void)BIO_reset(b);
	PEM_write_bio_PUBKEY(b, small);
	n = BIO_get_mem_data(b, &pem);
	assert_int_equal(
	    ct_spki_from_pem((unsigned char *)pem, (size_t)n, &der, &len, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "1024 bits"));
	ct_err_clear(&err);
	assert_int_equal(
	    ct_spki_from_pem((const unsigned char *)"junk", 4, &der, &len, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(
	    ct_csr_verify((const unsigned char *)"junk", 4, &der, &len, &err), CT_EINVAL);
	assert_null(der);
	BIO_free(b);
	EVP_PKEY_free(k);
	EVP_PKEY_free(small);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leaf_profile),
	    cmocka_unit_test(test_ed25519_and_rsa_cas),
	    cmocka_unit_test(test_lifetime_capped_at_ca_expiry),
	    cmocka_unit_test(test_missing_attribute),
	    cmocka_unit_test(test_malformed_spki),
	    cmocka_unit_test(test_key_checks),
	};

	return cmocka_run_group_tests_name("issue", tests, NULL, NULL);
}
