/* A PKCS#10 CSR, PEM or DER (ct_csr_verify): what a user sends to enroll.
 * What verifies gives a SubjectPublicKeyInfo that the DER reader accepts. */
#include "config.h"

#include <openssl/crypto.h>

#include "der.h"
#include "fuzz.h"
#include "keys.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *spki = NULL;
	struct ct_err err = {0};
	struct ct_der d;
	size_t len = 0;

	if (ct_csr_verify(data, size, &spki, &len, &err) != CT_OK)
		return 0;
	ct_der_init(&d, spki, len);
	FUZZ_CHECK(ct_der_read(&d, CT_DER_SEQUENCE, NULL, NULL) == CT_OK && ct_der_done(&d));
	OPENSSL_free(spki);
	return 0;
}
