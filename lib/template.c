#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "pattern.h"
#include "template.h"
#include "util.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* KU_* bit and its position in the keyUsage BIT STRING (RFC 5280 4.2.1.3). */
static const struct ku_name {
	const char *name;
	unsigned int bit;
	int pos;
} ku_names[] = {
	{ "DigitalSignature", KU_DIGITAL_SIGNATURE, 0 },
	{ "ContentCommitment", KU_NON_REPUDIATION, 1 },
	{ "KeyEncipherment", KU_KEY_ENCIPHERMENT, 2 },
	{ "DataEncipherment", KU_DATA_ENCIPHERMENT, 3 },
	{ "KeyAgreement", KU_KEY_AGREEMENT, 4 },
	{ "CertSign", KU_KEY_CERT_SIGN, 5 },
	{ "CRLSign", KU_CRL_SIGN, 6 },
	{ "EncipherOnly", KU_ENCIPHER_ONLY, 7 },
	{ "DecipherOnly", KU_DECIPHER_ONLY, 8 },
};

static const struct eku_name {
	const char *name;
	const char *oid;
} eku_names[] = {
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

/* NAME for a message: at most 64 bytes, control characters as '?'. */
static const char *
tmpl_show(const char *name, char *buf, size_t size)
{
	return ct_text_printable(name, SIZE_MAX, 0, buf, size);
}

int
ct_template_key_usage_bit(const char *name, unsigned int *bit, struct ct_err *err)
{
	char show[65];
	size_t i;

	for (i = 0; i < NELEM(ku_names); i++) {
		if (strcasecmp(name, ku_names[i].name) == 0) {
			*bit = ku_names[i].bit;
			return CT_OK;
		}
	}
	return ct_err_set(err, CT_EINVAL, "unknown key usage '%s'",
	    tmpl_show(name, show, sizeof(show)));
}

int
ct_template_eku_object(const char *name, ASN1_OBJECT **out, struct ct_err *err)
{
	const char *oid = name;
	char show[65];
	size_t i;
	int rc;

	for (i = 0; i < NELEM(eku_names); i++)
		if (strcasecmp(name, eku_names[i].name) == 0)
			oid = eku_names[i].oid;
	if (oid == name && !(name[0] >= '0' && name[0] <= '9'))
		return ct_err_set(err, CT_EINVAL, "unknown extended key usage '%s'",
		    tmpl_show(name, show, sizeof(show)));
	if ((rc = ct_oid_parse(oid, out)) == CT_EINVAL)
		return ct_err_set(err, rc, "invalid extended key usage OID '%s'",
		    tmpl_show(name, show, sizeof(show)));
	if (rc != CT_OK)
		return ct_err_set(err, rc, "out of memory");
	return CT_OK;
}

/* The keyUsage BIT STRING for T. */
static int
tmpl_key_usage(const struct ct_template *t, ASN1_BIT_STRING **out, struct ct_err *err)
{
	const char *name = t->name != NULL ? t->name : "?";
	unsigned int seen = 0;
	ASN1_BIT_STRING *ku;
	size_t i;

	if (t->key_usage == 0)
		return ct_err_set(err, CT_EINVAL, "template '%s' has no key usage", name);
	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (i = 0; i < NELEM(ku_names); i++) {
		if ((t->key_usage & ku_names[i].bit) == 0)
			continue;
		seen |= ku_names[i].bit;
		if (ASN1_BIT_STRING_set_bit(ku, ku_names[i].pos, 1) != 1) {
			ASN1_BIT_STRING_free(ku);
			return ct_err_set(err, CT_ENOMEM, "out of memory");
		}
	}
	if (seen != t->key_usage) {
		ASN1_BIT_STRING_free(ku);
		return ct_err_set(err, CT_EINVAL, "template '%s' has unknown key usage bits 0x%x",
		    name, t->key_usage & ~seen);
	}
	*out = ku;
	return CT_OK;
}

/* The extendedKeyUsage list for T, or NULL when it has none. */
static int
tmpl_eku(const struct ct_template *t, EXTENDED_KEY_USAGE **out, struct ct_err *err)
{
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OBJECT *o;
	size_t i;

	if (t->n_eku > CT_TEMPLATE_MAX_EKU)
		return ct_err_set(err, CT_EINVAL, "template '%s' has more than %d extended key "
		    "usages", t->name != NULL ? t->name : "?", CT_TEMPLATE_MAX_EKU);
	if (t->n_eku > 0 && (eku = sk_ASN1_OBJECT_new_null()) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (i = 0; i < t->n_eku; i++) {
		if ((o = OBJ_dup(t->eku[i])) == NULL || sk_ASN1_OBJECT_push(eku, o) == 0) {
			ASN1_OBJECT_free(o);
			sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
			return ct_err_set(err, CT_ENOMEM, "out of memory");
		}
	}
	*out = eku;
	return CT_OK;
}

int
ct_template_apply(const struct ct_template *t, X509 *cert, struct ct_err *err)
{
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_BIT_STRING *ku = NULL;
	int rc;

	if ((rc = tmpl_key_usage(t, &ku, err)) != CT_OK ||
	    (rc = tmpl_eku(t, &eku, err)) != CT_OK)
		goto out;
	if (X509_get_ext_by_NID(cert, NID_key_usage, -1) >= 0 ||
	    (eku != NULL && X509_get_ext_by_NID(cert, NID_ext_key_usage, -1) >= 0)) {
		rc = ct_err_set(err, CT_EEXIST, "certificate already has key usage extensions");
		goto out;
	}
	if (X509_add1_ext_i2d(cert, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) != 1 ||
	    (eku != NULL &&
	    X509_add1_ext_i2d(cert, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) != 1)) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot add the key usage extensions");
		ct_err_openssl(err);
		goto out;
	}
out:
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	ASN1_BIT_STRING_free(ku);
	return rc;
}

void
ct_template_clear(struct ct_template *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_eku && i < CT_TEMPLATE_MAX_EKU; i++) {
		ASN1_OBJECT_free(t->eku[i]);
		t->eku[i] = NULL;
	}
	free(t->name);
	t->name = NULL;
	t->n_eku = 0;
	t->key_usage = 0;
}
