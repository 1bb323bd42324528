/* The LDAP store at fleet scale: more entries than a server gives one
 * search.  tests/integration/store_ldap_scale.sh starts slapd from
 * examples/slapd/slapd.conf (its ACLs, and slapd's default size limit of
 * 500 entries a search for every identity but the rootdn), loads
 * CT_SCALE_N users and revocations, and runs this program with the
 * addresses and identities in the environment (MIRROR_URI1, MIRROR_BASE,
 * MIRROR_CA_DN, MIRROR_CA_PW_FILE, MIRROR_HOST1_DN, MIRROR_HOST1_PW_FILE,
 * CT_SCALE_N, CT_TEST_TMP); run alone, every case skips.  A host's walks
 * through the users, the index and the revocations must see every entry
 * (the searches are paged), as must the CA host's. */
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
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certindex.h"
#include "conf.h"
#include "store.h"
#include "store_ldap.h"
#include "tokens.h"

#define SERIAL_FIRST 0x5C0000 /* the script's revocations count up from it too */

/* The environment variable NAME, or skip the test when it is not set. */
#define NEED(var, name)                                                                            \
	do {                                                                                       \
		if ((var = getenv(name)) == NULL || *var == '\0')                                  \
			skip();                                                                    \
	} while (0)

static char dir[128]; /* store.path of both handles */

/* Open the store bound as WHO ("CA" or "HOST1") with FLAGS. */
static struct ct_store *
open_as(const char *who, unsigned flags)
{
	struct ct_config *cfg = NULL;
	struct ct_store *st = NULL;
	struct ct_err err = {0};
	char text[2048], dn_var[32], pw_var[32];

	snprintf(dn_var, sizeof(dn_var), "MIRROR_%s_DN", who);
	snprintf(pw_var, sizeof(pw_var), "MIRROR_%s_PW_FILE", who);
	snprintf(text, sizeof(text),
	    "store: { backend = \"ldap\"; path = \"%s\"; ldap: { uri = \"%s\"; starttls = false; "
	    "bind_dn = \"%s\"; bind_password_file = \"%s\"; base = \"%s\"; timeout = 10; }; };\n",
	    dir, getenv("MIRROR_URI1"), getenv(dn_var), getenv(pw_var), getenv("MIRROR_BASE"));
	if (ct_config_load_string(text, "test.conf", &cfg, NULL, &err) != CT_OK ||
	    ct_store_open(cfg, flags, &st, &err) != CT_OK)
		fail_msg("open as %s: %s", who, err.msg);
	ct_config_free(cfg);
	return st;
}

static int
setup(void **state)
{
	(void)state;
	if (getenv("MIRROR_URI1") == NULL)
		return 0;
	snprintf(dir, sizeof(dir), "%s/store-XXXXXX",
	    getenv("CT_TEST_TMP") != NULL ? getenv("CT_TEST_TMP") : "/tmp");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
count_user(void *ctx, const char *user)
{
	(void)user;
	(*(size_t *)ctx)++;
	return 0;
}

static int
count_cert(void *ctx, const struct ct_cert_entry *e)
{
	(*(size_t *)ctx) += e->cert != NULL;
	return 0;
}

/* Every user the script loaded, seen by a host. */
static void
test_users(void **state)
{
	struct ct_store *st;
	struct ct_err err = {0};
	const char *n_text;
	size_t seen = 0;

	(void)state;
	NEED(n_text, "CT_SCALE_N");
	st = open_as("HOST1", CT_STORE_TOKENS | CT_STORE_CREATE);
	if (ct_tokens_foreach_user(st, count_user, &seen, &err) != CT_OK)
		fail_msg("users: %s", err.msg);
	assert_int_equal(seen, strtoul(n_text, NULL, 10));
	ct_store_close(st);
}

/* Every revocation, in the list and one by one; by a host and the CA host. */
static void
test_revocations(void **state)
{
	static const char *const who[] = {"HOST1", "CA"};
	struct ct_revocation *list = NULL, r;
	struct ct_store *st;
	struct ct_err err = {0};
	const char *n_text;
	char last[CT_CERT_SERIAL_MAX];
	size_t n = 0, want, i;

	(void)state;
	NEED(n_text, "CT_SCALE_N");
	want = strtoul(n_text, NULL, 10);
	snprintf(last, sizeof(last), "%06zX", SERIAL_FIRST + want - 1);
	for (i = 0; i < 2; i++) {
		st = open_as(who[i], 0);
		if (ct_revoked_read(st, &list, &n, &err) != CT_OK)
			fail_msg("revocations as %s: %s", who[i], err.msg);
		assert_int_equal(n, want);
		assert_non_null(ct_revoked_find(list, n, last));
		free(list);
		assert_int_equal(ct_revoked_get(st, last, &r, &err), CT_OK);
		assert_string_equal(r.group, "staff");
		ct_store_close(st);
	}
}

/* A certificate with serial SERIAL signed by KEY, as DER in *DER. */
static size_t
cert_der(EVP_PKEY *key, unsigned serial, unsigned char **der)
{
	X509 *x = X509_new();
	int len;

	assert_non_null(x);
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial) == 1);
	X509_NAME_add_entry_by_txt(
	    X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509(x, der);
	assert_true(len > 0);
	X509_free(x);
	return (size_t)len;
}

/* The CA host indexes N certificates; a host's walk sees every one. */
static void
test_index(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct ct_store *ca, *host;
	struct ct_err err = {0};
	unsigned char *der;
	char serial[CT_CERT_SERIAL_MAX];
	const char *n_text;
	size_t want, seen = 0, len, i;

	(void)state;
	NEED(n_text, "CT_SCALE_N");
	want = strtoul(n_text, NULL, 10);
	assert_non_null(key);
	ca = open_as("CA", 0);
	for (i = 0; i < want; i++) {
		len = cert_der(key, (unsigned)(SERIAL_FIRST + i), &der);
		snprintf(serial, sizeof(serial), "%06zX", SERIAL_FIRST + i);
		if (ct_certindex_add(
		        ca, serial, "alice", "default", "staff", "-", der, len, &err) != CT_OK)
			fail_msg("index %s: %s", serial, err.msg);
		OPENSSL_free(der);
	}
	host = open_as("HOST1", 0);
	if (ct_certindex_foreach(host, count_cert, &seen, &err) != CT_OK)
		fail_msg("index: %s", err.msg);
	assert_int_equal(seen, want);
	ct_store_close(host);
	ct_store_close(ca);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_users),
	    cmocka_unit_test(test_revocations),
	    cmocka_unit_test(test_index),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
