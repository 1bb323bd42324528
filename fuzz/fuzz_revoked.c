/* The revocation list of the files store (ct_files_revoked_parse): one
 * "SERIAL GROUP WHEN REASON" line per revoked certificate. */
#include "config.h"

#include "fuzz.h"
#include "store_files_parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_revocation *list = NULL;
	struct ct_err err = {0};
	size_t n = 0, i;
	char *text;

	if ((text = fuzz_text(data, size)) == NULL)
		return 0;
	if (ct_files_revoked_parse("fuzz", text, &list, &n, &err) == CT_OK) {
		for (i = 0; i < n; i++)
			FUZZ_CHECK(ct_cert_serial_valid(list[i].serial) && list[i].when >= 0);
		free(list);
	}
	free(text);
	return 0;
}
