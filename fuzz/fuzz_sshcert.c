/* OpenSSH certificates and keys: a certificate blob (ct_sshcert_parse, then
 * verify and check), the same bytes as a key blob and as a key line. */
#include "config.h"

#include <openssl/evp.h>

#include "fuzz.h"
#include "sshcert.h"

/* A parsed certificate formats to a line that parses back to its bytes. */
static void
round_trip(const struct ct_sshcert *c)
{
	struct ct_err err = {0};
	unsigned char *back = NULL;
	size_t len = 0;
	char *line = NULL;

	FUZZ_CHECK(ct_sshcert_line_format(c->blob, c->blob_len, "c", &line, &err) == CT_OK);
	FUZZ_CHECK(ct_sshcert_line_parse(line, strlen(line), &back, &len, NULL, &err) == CT_OK);
	FUZZ_CHECK(len == c->blob_len && memcmp(back, c->blob, len) == 0);
	free(back);
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = {"force-command", "source-address"};
	struct ct_err err = {0};
	struct ct_sshcert c;
	unsigned char *blob = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;

	if (ct_sshcert_parse(data, size, &c, &err) == CT_OK) {
		FUZZ_CHECK(c.signed_len < c.blob_len && c.key_blob != NULL);
		round_trip(&c);
		(void)ct_sshcert_verify(&c, &err);
		(void)ct_sshcert_check(&c, CT_SSHCERT_USER, "alice", 1767225600, 60, &err);
		(void)ct_sshcert_unknown_option(&c, known, 2);
		if (ct_sshcert_key_from_blob(c.key_blob, c.key_blob_len, &key, &err) == CT_OK)
			EVP_PKEY_free(key);
		ct_sshcert_free(&c);
	}
	FUZZ_CHECK(c.blob == NULL);
	key = NULL;
	if (ct_sshcert_key_from_blob(data, size, &key, &err) == CT_OK) {
		FUZZ_CHECK(ct_sshcert_key_to_blob(key, &blob, &len, &err) == CT_OK);
		FUZZ_CHECK(len == size && memcmp(blob, data, len) == 0);
		free(blob);
		EVP_PKEY_free(key);
	}
	if (ct_sshcert_line_parse((const char *)data, size, &blob, &len, NULL, &err) == CT_OK)
		free(blob);
	return 0;
}
