/* The certificate index entry of the files store (ct_files_cert_entry_parse):
 * "name=value" headers, then the certificate in PEM.  The serial the entry
 * is filed under is fixed; the seeds use it. */
#include "config.h"

#include "fuzz.h"
#include "store_files_parse.h"

#define SERIAL "0123456789ABCDEF"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_cert_entry e;
	struct ct_err err = {0};
	char *text;

	if ((text = fuzz_text(data, size)) == NULL)
		return 0;
	if (ct_files_cert_entry_parse("fuzz", SERIAL, (unsigned char *)text, size, &e, &err) ==
	    CT_OK) {
		FUZZ_CHECK(e.cert != NULL && strcmp(e.serial, SERIAL) == 0);
		ct_cert_entry_clear(&e);
	}
	free(text);
	return 0;
}
