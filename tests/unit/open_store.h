/* Tests: open the files store at a directory, as a configuration naming it
 * would (store: { path = "DIR"; }). */
#ifndef CT_TEST_OPEN_STORE_H
#define CT_TEST_OPEN_STORE_H

#include <stdio.h>
#include <stdlib.h>

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

/* A test's store in a new temporary directory: the cmocka state of
 * store_fixture_setup and store_fixture_teardown. */
struct store_fixture {
	char dir[64];
	struct ct_store *db;
};

/* Make /tmp/ct-NAME-XXXXXX and open the store there with FLAGS. */
static inline int
store_fixture_setup(void **state, const char *name, unsigned flags)
{
	struct store_fixture *f = calloc(1, sizeof(*f));
	struct ct_err err = {0};

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/ct-%s-XXXXXX", name);
	if (mkdtemp(f->dir) == NULL || open_store_flags(f->dir, flags, &f->db, &err) != CT_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Close the store and remove its directory. */
static inline int
store_fixture_teardown(void **state)
{
	struct store_fixture *f = *state;
	char cmd[96];

	ct_store_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

#endif
