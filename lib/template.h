/* Certificate templates: key usage and extended key usage by name. */
#ifndef CT_TEMPLATE_H
#define CT_TEMPLATE_H

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "ct.h"

#define CT_TEMPLATE_MAX_EKU 16

struct ct_template {
	char *name;
	unsigned int key_usage; /* KU_* bits from <openssl/x509v3.h> */
	ASN1_OBJECT *eku[CT_TEMPLATE_MAX_EKU];
	size_t n_eku;
};

/* Map a key-usage name (DigitalSignature ... DecipherOnly, matched
 * case-insensitively) to its KU_* bit.  CT_EINVAL naming the value when unknown. */
int ct_template_key_usage_bit(const char *name, unsigned int *bit, struct ct_err *err);

/* Map an extended-key-usage name (Any, ServerAuth, ..., MicrosoftKernelCodeSigning)
 * or a dotted OID to a new ASN1_OBJECT.  CT_EINVAL naming the value when unknown. */
int ct_template_eku_object(const char *name, ASN1_OBJECT **out, struct ct_err *err);

/* Add keyUsage (critical) and, when the template has any, extendedKeyUsage
 * (non-critical) to CERT. */
int ct_template_apply(const struct ct_template *t, X509 *cert, struct ct_err *err);

/* Free the members of T (not T itself). */
void ct_template_clear(struct ct_template *t);

#endif
