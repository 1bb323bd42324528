/* The token file format of the files store (ct_files_tokens_parse), with a
 * fixed sealing key (fuzz/seeds makes its seeds with the same key, so
 * their secrets unseal).  A file that parses holds 1..CT_TOKENS_MAX tokens
 * with distinct serials. */
#include "config.h"

#include <openssl/evp.h>

#include "fuzz.h"
#include "store_files_parse.h"

static struct ct_files_keys keys;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_user_tokens t;
	struct ct_err err = {0};
	char *copy;
	size_t i, j;

	if (keys.gcm == NULL && (keys.gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL)
		abort();
	/* exactly SIZE bytes, no NUL after them: the parser must not need one */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (ct_files_tokens_parse(&keys, "alice", "fuzz", copy, size, &t, &err) == CT_OK) {
		FUZZ_CHECK(t.n >= 1 && t.n <= CT_TOKENS_MAX);
		for (i = 0; i < t.n; i++)
			for (j = i + 1; j < t.n; j++)
				FUZZ_CHECK(strcmp(t.tok[i].serial, t.tok[j].serial) != 0);
		ct_user_tokens_clear(&t);
	}
	free(copy);
	return 0;
}
