#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "template.h"

static const struct {
	const char *name;
	unsigned int bit;
} ku[] = {
	{ "DigitalSignature", KU_DIGITAL_SIGNATURE },
	{ "ContentCommitment", KU_NON_REPUDIATION },
	{ "KeyEncipherment", KU_KEY_ENCIPHERMENT },
	{ "DataEncipherment", KU_DATA_ENCIPHERMENT },
	{ "KeyAgreement", KU_KEY_AGREEMENT },
	{ "CertSign", KU_KEY_CERT_SIGN },
	{ "CRLSign", KU_CRL_SIGN },
	{ "EncipherOnly", KU_ENCIPHER_ONLY },
	{ "DecipherOnly", KU_DECIPHER_ONLY },
};

static const struct {
	const char *name, *oid;
} eku[] = {
	{ "Any", "2.5.29.37.0" },
	{ "ServerAuth", "1.3.6.1.5.5.7.3.1" },
	{ "ClientAuth", "1.3.6.1.5.5.7.3.2" },
	{ "CodeSigning", "1.3.6.1.5.5.7.3.3" },
	{ "EmailProtection", "1.3.6.1.5.5.7.3.4" },
	{ "IPSECEndSystem", "1.3.6.1.5.5.7.3.5" },
	{ "IPSECTunnel", "1.3.6.1.5.5.7.3.6" },
	{ "IPSECUser", "1.3.6.1.5.5.7.3.7" },
	{ "TimeStamping", "1.3.6.1.5.5.7.3.8" },
	{ "OCSPSigning", "1.3.6.1.5.5.7.3.9" },
	{ "MicrosoftServerGatedCrypto", "1.3.6.1.4.1.311.10.3.3" },
	{ "NetscapeServerGatedCrypto", "2.16.840.1.113730.4.1" },
	{ "MicrosoftCommercialCodeSigning", "1.3.6.1.4.1.311.2.1.22" },
	{ "MicrosoftKernelCodeSigning", "1.3.6.1.4.1.311.61.1.1" },
};

static void
assert_msg(const struct ct_err *err, const char *want)
{
	if (strstr(err->msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, want);
}

static void
eku_text(const char *name, char *buf, size_t size)
{
	ASN1_OBJECT *obj = NULL;
	struct ct_err err = { 0 };

	if (ct_template_eku_object(name, &obj, &err) != CT_OK)
		fail_msg("eku '%s': %s", name, err.msg);
	assert_non_null(obj);
	OBJ_obj2txt(buf, (int)size, obj, 1);
	ASN1_OBJECT_free(obj);
}

/* The DER value of CERT's extension NID and its criticality; NULL when absent. */
static const ASN1_OCTET_STRING *
ext_data(const X509 *cert, int nid, int *crit)
{
	int i = X509_get_ext_by_NID(cert, nid, -1);

	if (i < 0)
		return NULL;
	assert_int_equal(X509_get_ext_by_NID(cert, nid, i), -1);
	*crit = X509_EXTENSION_get_critical(X509_get_ext(cert, i));
	return X509_EXTENSION_get_data(X509_get_ext(cert, i));
}

static void
check_ku_der(const X509 *cert, const unsigned char *want, size_t len)
{
	const ASN1_OCTET_STRING *d;
	int crit = -1;

	assert_non_null(d = ext_data(cert, NID_key_usage, &crit));
	assert_int_equal(crit, 1);
	assert_int_equal(ASN1_STRING_length(d), len);
	assert_memory_equal(ASN1_STRING_get0_data(d), want, len);
}

/* A template named NAME with KEY_USAGE and the EKU names (NULL-terminated). */
static void
make(struct ct_template *t, const char *name, unsigned int key_usage, const char *const *ekus)
{
	struct ct_err err = { 0 };

	memset(t, 0, sizeof(*t));
	assert_non_null(t->name = strdup(name));
	t->key_usage = key_usage;
	for (; ekus != NULL && *ekus != NULL; ekus++) {
		assert_int_equal(ct_template_eku_object(*ekus, &t->eku[t->n_eku], &err), CT_OK);
		t->n_eku++;
	}
}

/* The KU_* bits of CERT's decoded keyUsage extension (as OpenSSL computes them). */
static unsigned int
ku_bits(const X509 *cert)
{
	ASN1_BIT_STRING *bits;
	unsigned int v = 0;
	int crit = -1;

	assert_non_null(bits = X509_get_ext_d2i(cert, NID_key_usage, &crit, NULL));
	assert_int_equal(crit, 1);
	if (ASN1_STRING_length(bits) > 0)
		v = ASN1_STRING_get0_data(bits)[0];
	if (ASN1_STRING_length(bits) > 1)
		v |= (unsigned int)ASN1_STRING_get0_data(bits)[1] << 8;
	ASN1_BIT_STRING_free(bits);
	return v;
}

static X509 *
new_cert(void)
{
	X509 *cert = X509_new();

	assert_non_null(cert);
	assert_int_equal(X509_set_version(cert, 2), 1);
	return cert;
}

static void
test_key_usage_names(void **state)
{
	struct ct_err err = { 0 };
	unsigned int bit, all = 0;
	char lower[64];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(ku) / sizeof(ku[0]); i++) {
		bit = 0;
		assert_int_equal(ct_template_key_usage_bit(ku[i].name, &bit, &err), CT_OK);
		assert_int_equal(bit, ku[i].bit);
		all |= bit;
		for (j = 0; ku[i].name[j] != '\0'; j++)
			lower[j] = (char)(ku[i].name[j] | 0x20);
		lower[j] = '\0';
		bit = 0;
		assert_int_equal(ct_template_key_usage_bit(lower, &bit, &err), CT_OK);
		assert_int_equal(bit, ku[i].bit);
	}
	assert_int_equal(all, 0x80ff); /* nine distinct bits */
	assert_int_equal(KU_NON_REPUDIATION, 0x0040);

	bit = 12345;
	assert_int_equal(ct_template_key_usage_bit("NonRepudiation", &bit, &err), CT_EINVAL);
	assert_int_equal(bit, 12345);
	assert_msg(&err, "unknown key usage 'NonRepudiation'");
	ct_err_clear(&err);
	assert_int_equal(ct_template_key_usage_bit("", &bit, &err), CT_EINVAL);
	assert_int_equal(ct_template_key_usage_bit("DigitalSignature ", &bit, &err), CT_EINVAL);
}

static void
test_eku_names(void **state)
{
	char buf[128], lower[64];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(eku) / sizeof(eku[0]); i++) {
		eku_text(eku[i].name, buf, sizeof(buf));
		assert_string_equal(buf, eku[i].oid);
		for (j = 0; eku[i].name[j] != '\0'; j++)
			lower[j] = (char)(eku[i].name[j] | 0x20);
		lower[j] = '\0';
		eku_text(lower, buf, sizeof(buf));
		assert_string_equal(buf, eku[i].oid);
	}
	eku_text("1.2.3.4", buf, sizeof(buf));
	assert_string_equal(buf, "1.2.3.4");
	eku_text("1.3.6.1.5.5.7.3.2", buf, sizeof(buf));
	assert_string_equal(buf, "1.3.6.1.5.5.7.3.2");
	eku_text("2.999.123456789012345678901234567890", buf, sizeof(buf));
	assert_string_equal(buf, "2.999.123456789012345678901234567890");
}

static void
test_eku_errors(void **state)
{
	static const char *const bad[] = {
		"1", "3.1", "1.02", "01.2", "1.40", "1.2.", "1..2", "1.2.x", "1.2 ",
		"1,2", "0.40",
	};
	ASN1_OBJECT *obj = (ASN1_OBJECT *)bad;
	struct ct_err err = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(ct_template_eku_object("SmartcardLogon", &obj, &err), CT_EINVAL);
	assert_ptr_equal(obj, bad);
	assert_msg(&err, "unknown extended key usage 'SmartcardLogon'");
	ct_err_clear(&err);
	assert_int_equal(ct_template_eku_object(".1.2", &obj, &err), CT_EINVAL);
	assert_msg(&err, "unknown extended key usage '.1.2'");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ct_err_clear(&err);
		assert_int_equal(ct_template_eku_object(bad[i], &obj, &err), CT_EINVAL);
		assert_ptr_equal(obj, bad);
		assert_msg(&err, "invalid extended key usage OID");
		assert_msg(&err, bad[i]);
	}
}

static void
test_apply(void **state)
{
	static const char *const ekus[] = { "ClientAuth", "1.2.3.4", "serverauth", NULL };
	static const unsigned char want_ku[] = { 0x03, 0x02, 0x05, 0xa0 };
	EXTENDED_KEY_USAGE *e;
	struct ct_template t;
	struct ct_err err = { 0 };
	ASN1_BIT_STRING *bits;
	char buf[64];
	int crit = -1;
	X509 *cert = new_cert();

	(void)state;
	make(&t, "client", KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, ekus);
	assert_int_equal(ct_template_apply(&t, cert, &err), CT_OK);
	check_ku_der(cert, want_ku, sizeof(want_ku));
	assert_non_null(bits = X509_get_ext_d2i(cert, NID_key_usage, &crit, NULL));
	assert_int_equal(crit, 1);
	assert_true(ASN1_BIT_STRING_get_bit(bits, 0));
	assert_false(ASN1_BIT_STRING_get_bit(bits, 1));
	assert_true(ASN1_BIT_STRING_get_bit(bits, 2));
	ASN1_BIT_STRING_free(bits);
	assert_int_equal(ku_bits(cert), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);

	assert_non_null(e = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL));
	assert_int_equal(crit, 0);
	assert_int_equal(sk_ASN1_OBJECT_num(e), 3);
	OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(e, 0), 1);
	assert_string_equal(buf, "1.3.6.1.5.5.7.3.2");
	OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(e, 1), 1);
	assert_string_equal(buf, "1.2.3.4");
	OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(e, 2), 1);
	assert_string_equal(buf, "1.3.6.1.5.5.7.3.1");
	sk_ASN1_OBJECT_pop_free(e, ASN1_OBJECT_free);
	assert_int_equal(X509_get_ext_count(cert), 2);

	/* applying twice would duplicate the extensions */
	assert_int_equal(ct_template_apply(&t, cert, &err), CT_EEXIST);
	assert_int_equal(X509_get_ext_count(cert), 2);
	ct_template_clear(&t);
	assert_null(t.name);
	assert_int_equal(t.n_eku, 0);
	X509_free(cert);
}

static void
test_apply_key_usage_bits(void **state)
{
	static const unsigned char want_ds[] = { 0x03, 0x02, 0x07, 0x80 };
	static const unsigned char want_cc[] = { 0x03, 0x02, 0x06, 0x40 };
	static const unsigned char want_do[] = { 0x03, 0x03, 0x07, 0x00, 0x80 };
	static const unsigned char want_all[] = { 0x03, 0x03, 0x07, 0xff, 0x80 };
	struct ct_template t;
	struct ct_err err = { 0 };
	X509 *cert;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ku) / sizeof(ku[0]); i++) {
		cert = new_cert();
		make(&t, "one", ku[i].bit, NULL);
		assert_int_equal(ct_template_apply(&t, cert, &err), CT_OK);
		assert_int_equal(ku_bits(cert), ku[i].bit);
		assert_int_equal(X509_get_ext_count(cert), 1); /* no EKU */
		if (ku[i].bit == KU_DIGITAL_SIGNATURE)
			check_ku_der(cert, want_ds, sizeof(want_ds));
		if (ku[i].bit == KU_NON_REPUDIATION)
			check_ku_der(cert, want_cc, sizeof(want_cc));
		if (ku[i].bit == KU_DECIPHER_ONLY)
			check_ku_der(cert, want_do, sizeof(want_do));
		ct_template_clear(&t);
		X509_free(cert);
	}
	cert = new_cert();
	make(&t, "all", 0x80ff, NULL);
	assert_int_equal(ct_template_apply(&t, cert, &err), CT_OK);
	check_ku_der(cert, want_all, sizeof(want_all));
	assert_int_equal(ku_bits(cert), 0x80ff);
	ct_template_clear(&t);
	X509_free(cert);
}

static void
test_apply_errors(void **state)
{
	static const char *const ekus[] = { "Any", NULL };
	struct ct_template t;
	struct ct_err err = { 0 };
	X509 *cert = new_cert();

	(void)state;
	make(&t, "x", 0, ekus);
	assert_int_equal(ct_template_apply(&t, cert, &err), CT_EINVAL);
	assert_msg(&err, "template 'x' has no key usage");
	assert_int_equal(X509_get_ext_count(cert), 0);
	ct_template_clear(&t);

	ct_err_clear(&err);
	make(&t, "y", KU_DIGITAL_SIGNATURE | 0x0100, NULL);
	assert_int_equal(ct_template_apply(&t, cert, &err), CT_EINVAL);
	assert_msg(&err, "template 'y' has unknown key usage bits 0x100");
	assert_int_equal(X509_get_ext_count(cert), 0);
	ct_template_clear(&t);
	ct_template_clear(&t); /* twice is harmless */
	X509_free(cert);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_usage_names),
		cmocka_unit_test(test_eku_names),
		cmocka_unit_test(test_eku_errors),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_apply_key_usage_bits),
		cmocka_unit_test(test_apply_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
