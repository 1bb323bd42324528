/* base64url (ct_b64url_decode): decoding is strict, so what decodes must
 * encode back to exactly the input. */
#include "config.h"

#include "fuzz.h"
#include "login.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *out = NULL;
	size_t len = 0;
	char *back;

	if (ct_b64url_decode((const char *)data, size, &out, &len) != 0)
		return 0;
	back = ct_b64url_encode(out, len);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(strlen(back) == size && memcmp(back, data, size) == 0);
	free(back);
	free(out);
	return 0;
}
