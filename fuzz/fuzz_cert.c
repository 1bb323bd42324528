/* An uploaded certificate, PEM or DER (ct_cert_parse). */
#include "config.h"

#include <openssl/x509.h>

#include "fuzz.h"
#include "keyproof.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_cert_info info;
	struct ct_err err = {0};
	X509 *x = NULL;

	if (ct_cert_parse(data, size, &x, &info, &err) != CT_OK)
		return 0;
	FUZZ_CHECK(x != NULL);
	FUZZ_CHECK(memchr(info.serial, '\0', sizeof(info.serial)) != NULL);
	X509_free(x);
	return 0;
}
