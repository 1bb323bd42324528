/* Tests: open the files store at a directory, as a configuration naming it
 * would (store: { path = "DIR"; }). */
#ifndef CT_TEST_OPEN_STORE_H
#define CT_TEST_OPEN_STORE_H

#include <stdio.h>

#include "conf.h"
#include "store.h"

/* ct_store_open of the store at DIR with FLAGS. */
static inline int
open_store_flags(const char *dir, unsigned flags, struct ct_store **out, struct ct_err *err)
{
	struct ct_config *cfg = NULL;
	char text[512];
	int rc;

	snprintf(text, sizeof(text), "store: { path = \"%s\"; };\n", dir);
	if ((rc = ct_config_load_string(text, "test.conf", &cfg, NULL, err)) == CT_OK)
		rc = ct_store_open(cfg, flags, out, err);
	ct_config_free(cfg);
	return rc;
}

/* The store at DIR for token state, created when CREATE is set. */
static inline int
open_store(const char *dir, int create, struct ct_store **out, struct ct_err *err)
{
	return open_store_flags(dir, CT_STORE_TOKENS | (create ? CT_STORE_CREATE : 0), out, err);
}

#endif
