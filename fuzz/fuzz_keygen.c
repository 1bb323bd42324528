/* The PKCS#12 request fields of a keygen message (CT_MSG_KEYGEN): the frame
 * body is parsed as certtokend parses it, then the optional TARGET and PIN
 * text fields and the LEGACY flag are read the way its keygen step reads
 * them (ct_field_text into a CT_PROTO_TEXT_MAX buffer, a 1-byte 0/1 flag). */
#include "config.h"

#include <openssl/crypto.h>

#include "fuzz.h"
#include "proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char pin[CT_PROTO_TEXT_MAX], target[CT_PROTO_TEXT_MAX];
	const struct ct_field *f;
	struct ct_err err = {0};
	struct ct_msg m;

	if (ct_msg_parse(data, size, &m, &err) != CT_OK || m.type != CT_MSG_KEYGEN)
		return 0;
	if ((f = ct_msg_get(&m, CT_TAG_TARGET)) != NULL &&
	    ct_field_text(f, target, sizeof(target), &err) == CT_OK)
		FUZZ_CHECK(strlen(target) == f->len);
	if ((f = ct_msg_get(&m, CT_TAG_PIN)) != NULL &&
	    ct_field_text(f, pin, sizeof(pin), &err) == CT_OK) {
		FUZZ_CHECK(strlen(pin) == f->len);
		OPENSSL_cleanse(pin, sizeof(pin));
	}
	if ((f = ct_msg_get(&m, CT_TAG_LEGACY)) != NULL && f->len == 1) {
		volatile unsigned char legacy = f->val[0]; /* in bounds: ASan checks */
		(void)legacy;
	}
	return 0;
}
