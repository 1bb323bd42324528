/* SSH_AUTH_INFO_0 (ct_sshlogin_parse): what sshd hands the PAM stack; a
 * module before ours could put anything there.  Every certificate it
 * yields came from a publickey line of a certificate type, within the
 * limits, and goes on through the certificate parser. */
#include "config.h"

#include "fuzz.h"
#include "sshcert.h"
#include "sshlogin.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_sshlogin_certs c;
	struct ct_sshcert sc;
	struct ct_err err = {0};
	char *text = malloc(size + 1);
	size_t i;

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	if (ct_sshlogin_parse(text, &c, &err) == CT_OK) {
		FUZZ_CHECK(c.n >= 1 && c.n <= CT_SSHLOGIN_CERTS_MAX);
		for (i = 0; i < c.n; i++) {
			FUZZ_CHECK(c.c[i].len > 0 && c.c[i].len <= CT_SSHCERT_BLOB_MAX);
			if (ct_sshcert_parse(c.c[i].blob, c.c[i].len, &sc, &err) == CT_OK)
				ct_sshcert_free(&sc);
		}
		ct_sshlogin_certs_clear(&c);
	}
	free(text);
	return 0;
}
