/* The configuration text (ct_config_load_string: libconfig syntax, then
 * every check of the settings, patterns and templates included). */
#include "config.h"

#include "conf.h"
#include "fuzz.h"

#define CONFIG_MAX (64 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_config *cfg = NULL;
	struct ct_err err = {0};
	char *text;

	if (size > CONFIG_MAX || (text = fuzz_text(data, size)) == NULL)
		return 0;
	if (ct_config_load_string(text, "fuzz.conf", &cfg, NULL, &err) == CT_OK) {
		FUZZ_CHECK(cfg != NULL);
		ct_config_free(cfg);
	}
	free(text);
	return 0;
}
