/* The login response line (ct_login_verify, which parses it first): the
 * verifier runs against an empty store and the embedded default target,
 * so a well-formed response goes on to the index lookup and, with the
 * certificate sent whole, to the checks of that certificate. */
#include "config.h"

#include "conf.h"
#include "fuzz.h"
#include "login.h"
#include "store.h"

static struct ct_config *cfg;
static struct ct_store *db;

static void
setup(void)
{
	struct ct_err err = {0};
	char text[256];

	snprintf(text, sizeof(text), "store: { path = \"%s/store\"; };\n", fuzz_tmpdir());
	if (ct_config_load_string(text, "fuzz.conf", &cfg, NULL, &err) != CT_OK ||
	    ct_store_open(cfg, CT_STORE_CREATE | CT_STORE_TOKENS, &db, &err) != CT_OK) {
		fprintf(stderr, "fuzz_response: %s\n", err.msg);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_login_policy p = {0};
	struct ct_login_result res;
	struct ct_challenge c = {0};
	struct ct_err err = {0};
	char *text;

	if (db == NULL)
		setup();
	if ((text = fuzz_text(data, size)) == NULL)
		return 0;
	snprintf(c.target, sizeof(c.target), "default");
	snprintf(c.user, sizeof(c.user), "alice");
	snprintf(c.service, sizeof(c.service), "sshd");
	snprintf(c.host, sizeof(c.host), "host.example");
	p.cfg = cfg;
	p.db = db;
	p.target = ct_config_default_target(cfg);
	p.skew = 300;
	p.map = CT_MAP_CN;
	/* no certificate of this empty store can be accepted */
	FUZZ_CHECK(ct_login_verify(&p, &c, text, 1796083200, &res, &err) != CT_OK);
	free(text);
	return 0;
}
