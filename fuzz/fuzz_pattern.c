/* Subject and SAN patterns (ct_pattern_parse) and dotted OIDs
 * (ct_oid_parse).  The first byte picks which; the rest is the text. */
#include "config.h"

#include <openssl/asn1.h>

#include "fuzz.h"
#include "pattern.h"

static int
count_attr(void *ctx, const char *name)
{
	FUZZ_CHECK(name != NULL);
	(*(size_t *)ctx)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_pattern *p = NULL;
	struct ct_err err = {0};
	ASN1_OBJECT *oid = NULL;
	size_t attrs = 0;
	char *text;

	if (size == 0 || (text = fuzz_text(data + 1, size - 1)) == NULL)
		return 0;
	switch (data[0] % 3) {
	case 0:
	case 1:
		if (ct_pattern_parse(data[0] % 3 == 0 ? CT_PATTERN_SUBJECT : CT_PATTERN_SAN, text,
		        &p, &err) == CT_OK) {
			FUZZ_CHECK(ct_pattern_count(p) <= CT_PATTERN_MAX_ITEMS);
			(void)ct_pattern_foreach_attr(p, count_attr, &attrs);
			ct_pattern_free(p);
		}
		break;
	default:
		if (ct_oid_parse(text, &oid) == CT_OK)
			ASN1_OBJECT_free(oid);
		break;
	}
	free(text);
	return 0;
}
