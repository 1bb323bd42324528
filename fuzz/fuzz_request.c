/* The pending request file of the files store (ct_files_request_parse):
 * a header line, user=, target=, created=, ref= and csr= (base64). */
#include "config.h"

#include "fuzz.h"
#include "store_files_parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_request r;
	struct ct_err err = {0};
	char *text;

	if ((text = fuzz_text(data, size)) == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	if (ct_files_request_parse("fuzz", (unsigned char *)text, size, &r, &err) == CT_OK) {
		FUZZ_CHECK(r.csr != NULL && r.csr_len <= size && r.created >= 0);
		ct_request_clear(&r);
	}
	free(text);
	return 0;
}
