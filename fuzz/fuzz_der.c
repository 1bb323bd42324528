/* The DER reader (lib/der.c): walk the input as a tree of elements, going
 * into every constructed one, as the SPKI and CSR readers do.  Each element
 * read must lie inside its parent, and its header must be the one
 * ct_der_put_header writes for its tag and length. */
#include "config.h"

#include "ct.h"
#include "der.h"
#include "fuzz.h"

#define DEPTH_MAX 32

static void
walk(struct ct_der *d, int depth)
{
	unsigned char hdr[8], *end;
	struct ct_der content, elem;
	int tag;

	while ((tag = ct_der_peek(d)) >= 0) {
		if (ct_der_read(d, (unsigned char)tag, &content, &elem) != CT_OK)
			return;
		FUZZ_CHECK(content.p >= elem.p && content.p + content.left == elem.p + elem.left);
		FUZZ_CHECK(ct_der_header_len(content.left) == elem.left - content.left);
		end = ct_der_put_header(hdr, (unsigned char)tag, content.left);
		FUZZ_CHECK((size_t)(end - hdr) == elem.left - content.left);
		FUZZ_CHECK(memcmp(hdr, elem.p, (size_t)(end - hdr)) == 0);
		if ((tag & 0x20) != 0 && depth < DEPTH_MAX)
			walk(&content, depth + 1);
	}
	FUZZ_CHECK(ct_der_done(d));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_der d;

	ct_der_init(&d, data, size);
	walk(&d, 0);
	return 0;
}
