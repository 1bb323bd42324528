/* The login challenge word (ct_challenge_parse), from any pasted text.  A
 * challenge that parses formats back to a word that parses to the same. */
#include "config.h"

#include "fuzz.h"
#include "login.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), word[CT_CHALLENGE_MAX];
	struct ct_challenge c, d;
	struct ct_err err = {0};

	if (text == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	if (ct_challenge_parse(text, &c, &err) == CT_OK) {
		ct_challenge_format(&c, word);
		memset(&d, 0, sizeof(d));
		FUZZ_CHECK(ct_challenge_parse(word, &d, &err) == CT_OK);
		FUZZ_CHECK(memcmp(&c, &d, sizeof(c)) == 0);
	}
	free(text);
	return 0;
}
