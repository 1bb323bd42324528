/* The LDAP store's CA material against a real slapd with the shipped
 * schema: a change whose group entry changed since its snapshot was read
 * (another writer) is CT_ECONFLICT, writes nothing in the directory and
 * leaves the CA host's files as they were.  tests/integration/store_ldap_ca.sh
 * starts the server and runs this program with its address in the
 * environment (SLAPD_URI, SLAPD_BIND_DN, SLAPD_BIND_PW_FILE, CT_TEST_BASE,
 * CT_TEST_TMP); run alone, it skips. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "ca.h"
#include "cadir.h"
#include "certindex.h"
#include "certtoken.h"
#include "conf.h"
#include "requests.h"
#include "rotate.h"
#include "store.h"
#include "storecopy.h"
#include "tokens.h"

/* Open the store of BACKEND with store.path DIR and the directory's base
 * from the environment variable BASE, for token state; the access groups
 * conflict and mig. */
static void
open_store(const char *backend, const char *dir, const char *base, struct ct_config **cfg,
    struct ct_store **st)
{
	struct ct_err err = {0};
	char text[2048];

	snprintf(text, sizeof(text),
	    "store: { backend = \"%s\"; path = \"%s\"; ldap: { uri = \"%s\"; starttls = false; "
	    "bind_dn = \"%s\"; bind_password_file = \"%s\"; base = \"%s\"; timeout = 2; "
	    "cache_max_age = 0; }; };\naccess_groups = ( { name = \"conflict\"; }, { name = "
	    "\"mig\"; } );\ntargets = ( { name = \"api\"; access_group = \"mig\"; subject = "
	    "\"CN=%%unix_account%%\"; } );\n",
	    backend, dir, getenv("SLAPD_URI"), getenv("SLAPD_BIND_DN"),
	    getenv("SLAPD_BIND_PW_FILE"), getenv(base));
	if (ct_config_load_string(text, "test.conf", cfg, NULL, &err) != CT_OK)
		fail_msg("%s", err.msg);
	if (ct_store_open(*cfg, CT_STORE_CREATE | CT_STORE_TOKENS, st, &err) != CT_OK)
		fail_msg("%s", err.msg);
}

/* ct_cadir_run: every item of S (the keys too: a CA host's) into the content CTX. */
static int
read_all(const struct ct_cadir *s, void *ctx, struct ct_err *err)
{
	struct ct_ca_content *c = ctx;
	int i, rc;

	for (i = 0; i < CT_CA_ITEMS; i++)
		if (ct_cadir_has(s, (enum ct_ca_item)i) &&
		    (rc = ct_cadir_read(
		         s, (enum ct_ca_item)i, &c->item[i].data, &c->item[i].len, err)) != CT_OK)
			return rc;
	return CT_OK;
}

static void
reset_all(void *ctx)
{
	ct_ca_content_clear(ctx);
}

static void
test_replace_conflict(void **state)
{
	struct ct_config *cfg[2] = {NULL, NULL};
	struct ct_store *st[2] = {NULL, NULL};
	struct ct_ca_content c = {0}, after = {0};
	struct ct_ca_version v1, v2;
	struct ct_cadir *s = NULL;
	struct ct_err err = {0};
	X509 *next = NULL, *replaced = NULL;
	char dir[2][128], cmd[512], number[] = "7\n";
	int i;

	(void)state;
	if (getenv("SLAPD_URI") == NULL || getenv("CT_TEST_TMP") == NULL)
		skip();
	for (i = 0; i < 2; i++) {
		snprintf(dir[i], sizeof(dir[i]), "%s/conflict%d", getenv("CT_TEST_TMP"), i);
		snprintf(cmd, sizeof(cmd), "mkdir -m 0700 -p %s", dir[i]);
		assert_int_equal(system(cmd), 0);
		open_store("ldap", dir[i], "CT_TEST_BASE", &cfg[i], &st[i]);
	}
	assert_int_equal(
	    ct_ca_init(st[0], ct_config_group(cfg[0], "conflict"), time(NULL), &err), CT_OK);
	assert_int_equal(ct_cadir_version(st[0], "conflict", &v1, &err), CT_OK);
	assert_string_equal(v1.id, "ldap:1");
	/* a second holder of the keys: the same group directory elsewhere */
	snprintf(cmd, sizeof(cmd), "mkdir -m 0700 %s/groups && cp -a %s/groups/conflict %s/groups/",
	    dir[1], dir[0], dir[1]);
	assert_int_equal(system(cmd), 0);

	/* a change opened on the first; the second changes the group meanwhile */
	assert_int_equal(ct_cadir_open(st[0], "conflict", CT_CADIR_CHANGE, &s, &err), CT_OK);
	assert_int_equal(read_all(s, &c, &err), CT_OK);
	assert_int_equal(ct_ca_prepare(st[1], ct_config_group(cfg[1], "conflict"), time(NULL), 0,
	                     &next, &replaced, &err),
	    CT_OK);
	X509_free(next);
	free(c.item[CT_CA_CRL_NUMBER].data);
	c.item[CT_CA_CRL_NUMBER].data = (unsigned char *)strdup(number);
	c.item[CT_CA_CRL_NUMBER].len = 2;
	assert_int_equal(ct_cadir_replace(s, &c, &err), CT_ECONFLICT);
	ct_cadir_close(s);

	/* nothing of it written: the directory has the second's change... */
	assert_int_equal(ct_cadir_version(st[0], "conflict", &v2, &err), CT_OK);
	assert_string_equal(v2.id, "ldap:2");
	assert_int_equal(ct_cadir_run(st[1], "conflict", read_all, reset_all, &after, &err), CT_OK);
	assert_null(after.item[CT_CA_CRL_NUMBER].data);
	assert_non_null(after.item[CT_CA_NEXT_CERT].data);
	/* ...and the first's files are back as they were */
	snprintf(cmd, sizeof(cmd), "%s/groups/conflict/crl.number", dir[0]);
	assert_int_equal(access(cmd, F_OK), -1);
	snprintf(cmd, sizeof(cmd), "%s/groups/conflict/ca.key", dir[0]);
	assert_int_equal(access(cmd, F_OK), 0);
	ct_ca_content_clear(&c);
	ct_ca_content_clear(&after);
	for (i = 0; i < 2; i++) {
		ct_store_close(st[i]);
		ct_config_free(cfg[i]);
	}
}

/* A difference: on stderr, for the log. */
static void
print_diff(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "difference: %s\n", line);
}

/* ct_store_update: add the token CTX. */
static int
add_token(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)user;
	(void)err;
	u->tok[u->n++] = *(const struct ct_token *)ctx;
	return CT_OK;
}

/* A files store with a pending request (and its token), an uploaded
 * certificate (and its token) and an index entry, copied into the LDAP
 * store: the comparison finds them equal, so each round trip is exact. */
static void
test_copy_requests_uploads(void **state)
{
	static unsigned char csr[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	struct ct_config *cfg[2] = {NULL, NULL};
	struct ct_store *st[2] = {NULL, NULL};
	struct ct_storecopy_stats n;
	struct ct_request r;
	struct ct_token tok;
	struct ct_err err = {0};
	STACK_OF(X509) *anchors = NULL;
	unsigned char *der = NULL;
	char dir[2][128], cmd[512], serial[CT_CERT_SERIAL_MAX];
	int i, len;

	(void)state;
	if (getenv("SLAPD_URI") == NULL || getenv("CT_TEST_TMP") == NULL ||
	    getenv("CT_TEST_BASE2") == NULL)
		skip();
	for (i = 0; i < 2; i++) {
		snprintf(dir[i], sizeof(dir[i]), "%s/copy%d", getenv("CT_TEST_TMP"), i);
		snprintf(cmd, sizeof(cmd), "mkdir -m 0700 -p %s", dir[i]);
		assert_int_equal(system(cmd), 0);
		open_store(i == 0 ? "files" : "ldap", dir[i], "CT_TEST_BASE2", &cfg[i], &st[i]);
	}
	memset(&r, 0, sizeof(r));
	strcpy(r.token, "CERTMIG1");
	strcpy(r.user, "miguser");
	strcpy(r.target, "api");
	strcpy(r.ref, "ref:42");
	r.created = 1763800000;
	r.polled = 1763800100;
	r.csr = csr;
	r.csr_len = sizeof(csr);
	assert_int_equal(ct_certtoken_record_pending(st[0], &r, "pending", &tok, &err), CT_OK);
	assert_int_equal(
	    ct_ca_init(st[0], ct_config_group(cfg[0], "mig"), time(NULL), &err), CT_OK);
	assert_int_equal(
	    ct_ca_trust(st[0], ct_config_group(cfg[0], "mig"), time(NULL), &anchors, &err), CT_OK);
	len = i2d_X509(sk_X509_value(anchors, 0), &der);
	assert_int_equal(ct_cert_serial_hex(sk_X509_value(anchors, 0), serial), CT_OK);
	sk_X509_pop_free(anchors, X509_free);
	assert_int_equal(ct_upload_save(st[0], "CERTMIG2", der, (size_t)len, &err), CT_OK);
	ct_certtoken_init(&tok, "CERTMIG2", "", "enrolled", "uploaded", 1763800000);
	strcpy(tok.cert_serial, serial);
	assert_int_equal(ct_store_update(st[0], "miguser", add_token, &tok, &err), CT_OK);
	assert_int_equal(
	    ct_certindex_add(st[0], serial, "miguser", "api", "mig", "-", der, (size_t)len, &err),
	    CT_OK);
	OPENSSL_free(der);
	if (ct_storecopy_copy(st[0], st[1], cfg[0], &n, &err) != CT_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(n.users, 1);
	assert_int_equal(n.requests, 1);
	assert_int_equal(n.uploads, 1);
	assert_int_equal(n.certs, 1);
	/* the group conflict has a CA in neither: only mig is compared */
	assert_int_equal(ct_storecopy_compare(st[0], st[1], cfg[0], print_diff, NULL, &err), 0);
	for (i = 0; i < 2; i++) {
		ct_store_close(st[i]);
		ct_config_free(cfg[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replace_conflict),
	    cmocka_unit_test(test_copy_requests_uploads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
