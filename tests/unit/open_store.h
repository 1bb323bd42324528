/* Tests: open the files store at a directory, as a configuration naming it
 * would (store: { path = "DIR"; }).  Compiled with CT_TEST_LDAP, the same
 * fixture opens the LDAP store instead: the directory of
 * tests/lib/slapd.sh ($SLAPD_URI, $SLAPD_BIND_DN, $SLAPD_BIND_PW_FILE),
 * under ou=BASENAME(DIR),$CT_TEST_BASE, with DIR as store.path (its
 * secret.key), so that each test has a store of its own there too. */
#ifndef CT_TEST_OPEN_STORE_H
#define CT_TEST_OPEN_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "store.h"

#ifdef CT_TEST_LDAP
#define STORE_FIXTURE_LDAP 1

/* The LDAP base of the store at DIR: ou=BASENAME(DIR),$CT_TEST_BASE. */
static inline void
store_ldap_base(const char *dir, char *out, size_t size)
{
	const char *name = strrchr(dir, '/');

	snprintf(out, size, "ou=%s,%s", name != NULL ? name + 1 : dir, getenv("CT_TEST_BASE"));
}

/* The configuration of the store at DIR into TEXT. */
static inline void
store_conf_text(const char *dir, char *text, size_t size)
{
	char base[256];

	store_ldap_base(dir, base, sizeof(base));
	snprintf(text, size,
	    "store: { backend = \"ldap\"; path = \"%s\"; ldap: { uri = \"%s\"; starttls = false; "
	    "bind_dn = \"%s\"; bind_password_file = \"%s\"; base = \"%s\"; timeout = 5; }; };\n",
	    dir, getenv("SLAPD_URI"), getenv("SLAPD_BIND_DN"), getenv("SLAPD_BIND_PW_FILE"), base);
}

/* Run ldapsearch or ldapadd (TOOL) on the test directory with ARGS. */
static inline FILE *
store_ldap_tool(const char *tool, const char *args, const char *mode)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "%s -x -o nettimeout=5 -H '%s' -D '%s' -y '%s' %s", tool,
	    getenv("SLAPD_URI"), getenv("SLAPD_BIND_DN"), getenv("SLAPD_BIND_PW_FILE"), args);
	return popen(cmd, mode);
}

/* Make the base of the store at DIR in the directory. */
static inline int
store_ldap_make_base(const char *dir)
{
	const char *name = strrchr(dir, '/') + 1;
	char base[256];
	FILE *p;

	store_ldap_base(dir, base, sizeof(base));
	if ((p = store_ldap_tool("ldapadd", ">/dev/null", "w")) == NULL)
		return -1;
	fprintf(p, "dn: %s\nobjectClass: organizationalUnit\nou: %s\n", base, name);
	return pclose(p) == 0 ? 0 : -1;
}

/* USER's state in the store at DIR as text, to compare: what ldapsearch
 * shows of the user's entry (NULL when there is none). */
static inline char *
store_state_at(const char *dir, const char *user)
{
	char base[256], args[512], *text = calloc(1, 65536);
	size_t n = 0, got;
	FILE *p;

	store_ldap_base(dir, base, sizeof(base));
	snprintf(args, sizeof(args),
	    "-LLL -o ldif-wrap=no -b 'ctUser=%s,ou=users,%s' -s base 2>/dev/null", user, base);
	if (text == NULL || (p = store_ldap_tool("ldapsearch", args, "r")) == NULL)
		abort();
	while (n < 65535 && (got = fread(text + n, 1, 65535 - n, p)) > 0)
		n += got;
	pclose(p);
	if (n == 0) {
		free(text);
		return NULL;
	}
	return text;
}
#else
#define STORE_FIXTURE_LDAP 0

static inline void
store_conf_text(const char *dir, char *text, size_t size)
{
	snprintf(text, size, "store: { path = \"%s\"; };\n", dir);
}

static inline int
store_ldap_make_base(const char *dir)
{
	(void)dir;
	return 0;
}

/* USER's state in the store at DIR as text, to compare: the token file
 * (NULL when there is none). */
static inline char *
store_state_at(const char *dir, const char *user)
{
	unsigned char *buf = NULL;
	struct ct_err err = {0};
	char path[256];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/tokens/%s", dir, user);
	if (ct_file_read(path, CT_FILE_MAX, &buf, &len, &err) == CT_ENOENT)
		return NULL;
	if (buf == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	return (char *)buf;
}
#endif

/* ct_store_open of the store at DIR with FLAGS. */
static inline int
open_store_flags(const char *dir, unsigned flags, struct ct_store **out, struct ct_err *err)
{
	struct ct_config *cfg = NULL;
	char text[2048];
	int rc;

	store_conf_text(dir, text, sizeof(text));
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
	if (mkdtemp(f->dir) == NULL || store_ldap_make_base(f->dir) != 0 ||
	    open_store_flags(f->dir, flags, &f->db, &err) != CT_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* USER's state in F's store as text (free), which must exist: equal
 * before and after means nothing was written. */
static inline char *
store_state(const struct store_fixture *f, const char *user)
{
	char *s = store_state_at(f->dir, user);

	if (s == NULL) {
		fprintf(stderr, "no stored state of %s\n", user);
		abort();
	}
	return s;
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
