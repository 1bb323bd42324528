/* The issued-certificate index and the revocations, through the store
 * handle (files backend): add, get, duplicates, walk, remove, revoke,
 * corrupt files, modes. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certindex.h"
#include "store.h"
#include "store_backend.h"

#include "open_store.h"

static int
setup(void **state)
{
	return store_fixture_setup(state, "certindex", 0);
}

static int
teardown(void **state)
{
	return store_fixture_teardown(state);
}

/* A self-signed certificate with serial SERIAL (hex), as DER in *DER. */
static size_t
cert_der(const char *serial, unsigned char **der)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	int len;

	assert_non_null(key);
	assert_non_null(x);
	assert_true(BN_hex2bn(&bn, serial) > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
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
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return (size_t)len;
}

static void
add(struct store_fixture *f, const char *serial, const char *user, const char *token)
{
	unsigned char *der = NULL;
	size_t len = cert_der(serial, &der);
	struct ct_err err = {0};

	if (ct_certindex_add(f->db, serial, user, "api", "staff", token, der, len, &err) != CT_OK)
		fail_msg("add %s: %s", serial, err.msg);
	OPENSSL_free(der);
}

static mode_t
mode_of(const struct store_fixture *f, const char *name)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	if (stat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void
put(const struct store_fixture *f, const char *name, const char *text)
{
	char path[160];
	FILE *o;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_non_null(o = fopen(path, "w"));
	fputs(text, o);
	fclose(o);
	assert_int_equal(chmod(path, 0600), 0);
}

static void
test_add_get(void **state)
{
	struct store_fixture *f = *state;
	struct ct_cert_entry e;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	char hex[CT_CERT_SERIAL_MAX];
	size_t len;

	add(f, "0A1B", "alice", "CERT0011");
	assert_int_equal(ct_certindex_get(f->db, "0A1B", &e, &err), CT_OK);
	assert_string_equal(e.serial, "0A1B");
	assert_string_equal(e.user, "alice");
	assert_string_equal(e.target, "api");
	assert_string_equal(e.group, "staff");
	assert_string_equal(e.token, "CERT0011");
	assert_int_equal(ct_cert_serial_hex(e.cert, hex), CT_OK);
	assert_string_equal(hex, "0A1B");
	ct_cert_entry_clear(&e);
	/* created private */
	assert_int_equal(mode_of(f, "certs"), 0700);
	assert_int_equal(mode_of(f, "certs/0A1B.pem"), 0600);
	/* a serial is recorded once */
	len = cert_der("0A1B", &der);
	assert_int_equal(
	    ct_certindex_add(f->db, "0A1B", "bob", "api", "staff", "-", der, len, &err), CT_EEXIST);
	ct_err_clear(&err);
	/* bad serials and names are refused before anything is written */
	assert_int_equal(
	    ct_certindex_add(f->db, "0a1b", "bob", "api", "staff", "-", der, len, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(
	    ct_certindex_add(f->db, "0C", "b b", "api", "staff", "-", der, len, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(
	    ct_certindex_add(f->db, "0C", "bob", "api", "", "-", der, len, &err), CT_EINVAL);
	OPENSSL_free(der);
	assert_int_equal(mode_of(f, "certs/0C.pem"), (mode_t)-1);
	ct_err_clear(&err);
	assert_int_equal(ct_certindex_get(f->db, "FF", &e, &err), CT_ENOENT);
	ct_err_clear(&err);
	assert_int_equal(ct_certindex_get(f->db, "../x", &e, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "is not a certificate serial"));
}

struct seen {
	char serials[4][CT_CERT_SERIAL_MAX];
	int n;
};

static int
collect(void *ctx, const struct ct_cert_entry *e)
{
	struct seen *s = ctx;

	if (s->n < 4)
		strcpy(s->serials[s->n], e->serial);
	s->n++;
	return 0;
}

static int
stop(void *ctx, const struct ct_cert_entry *e)
{
	(void)ctx;
	(void)e;
	return 7;
}

static void
test_foreach_remove(void **state)
{
	struct store_fixture *f = *state;
	struct seen s = {0};
	struct ct_cert_entry e;
	struct ct_err err = {0};

	/* no index yet: nothing to walk */
	assert_int_equal(ct_certindex_foreach(f->db, collect, &s, &err), CT_OK);
	assert_int_equal(s.n, 0);
	add(f, "01", "alice", "-");
	add(f, "02", "bob", "CERT02");
	put(f, "certs/notes.txt", "not an entry\n");
	put(f, "certs/zz.pem", "not a serial\n");
	assert_int_equal(ct_certindex_foreach(f->db, collect, &s, &err), CT_OK);
	assert_int_equal(s.n, 2);
	assert_true((strcmp(s.serials[0], "01") == 0 && strcmp(s.serials[1], "02") == 0) ||
	    (strcmp(s.serials[0], "02") == 0 && strcmp(s.serials[1], "01") == 0));
	assert_int_equal(ct_certindex_foreach(f->db, stop, NULL, &err), 7);
	ct_certindex_remove(f->db, "01");
	ct_certindex_remove(f->db, "01"); /* gone already: no harm */
	assert_int_equal(ct_certindex_get(f->db, "01", &e, &err), CT_ENOENT);
	memset(&s, 0, sizeof(s));
	assert_int_equal(ct_certindex_foreach(f->db, collect, &s, &err), CT_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.serials[0], "02");
}

static void
test_corrupt_entry(void **state)
{
	struct store_fixture *f = *state;
	struct seen s = {0};
	struct ct_cert_entry e;
	struct ct_err err = {0};
	char path[160], to[160];

	add(f, "03", "alice", "-");
	put(f, "certs/04.pem", "user=alice\ntarget=api\n");
	assert_int_equal(ct_certindex_get(f->db, "04", &e, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "certs/04.pem: malformed index entry"));
	/* the certificate in the file must be the one its name says */
	snprintf(path, sizeof(path), "%s/certs/03.pem", f->dir);
	snprintf(to, sizeof(to), "%s/certs/05.pem", f->dir);
	assert_int_equal(rename(path, to), 0);
	ct_err_clear(&err);
	assert_int_equal(ct_certindex_get(f->db, "05", &e, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "no certificate with that serial"));
	/* a walk stops at the first unreadable entry */
	ct_err_clear(&err);
	assert_int_equal(ct_certindex_foreach(f->db, collect, &s, &err), CT_EIO);
	/* an entry others may write is not trusted */
	snprintf(path, sizeof(path), "%s/certs/05.pem", f->dir);
	assert_int_equal(chmod(path, 0620), 0);
	ct_err_clear(&err);
	assert_int_equal(ct_certindex_get(f->db, "05", &e, &err), CT_EPERM);
}

static void
test_revoke(void **state)
{
	struct store_fixture *f = *state;
	struct ct_revocation *list = NULL;
	const struct ct_revocation *r;
	struct ct_err err = {0};
	size_t n = 9;

	/* nothing revoked yet: an empty list */
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_OK);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(ct_revoke(f->db, "0A", "staff", 1, 1763800000, &err), CT_OK);
	assert_int_equal(ct_revoke(f->db, "0B", "ops", 0, 1763800100, &err), CT_OK);
	/* revoking twice is refused, and the list keeps one line */
	assert_int_equal(ct_revoke(f->db, "0A", "staff", 4, 1763800200, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "already revoked"));
	ct_err_clear(&err);
	assert_int_equal(ct_revoke(f->db, "0a", "staff", 0, 1, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(ct_revoke(f->db, "0C", "a b", 0, 1, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_OK);
	assert_int_equal(n, 2);
	assert_non_null(r = ct_revoked_find(list, n, "0A"));
	assert_string_equal(r->group, "staff");
	assert_int_equal(r->when, 1763800000);
	assert_int_equal(r->reason, 1);
	assert_string_equal(ct_crl_reason_name(r->reason), "keyCompromise");
	assert_null(ct_revoked_find(list, n, "0C"));
	free(list);
	assert_int_equal(mode_of(f, "revoked"), 0600);
	/* the lock is never unlinked */
	assert_int_equal(mode_of(f, "revoked.lock"), 0600);
}

/* One serial's revocation: the files backend has no lookup of its own, so
 * ct_revoked_get reads the list (and fails closed on a corrupt one). */
static void
test_revoked_get(void **state)
{
	struct store_fixture *f = *state;
	struct ct_revocation r;
	struct ct_err err = {0};

	assert_null(f->db->ops->revoked_get);
	/* nothing revoked, not even a list */
	assert_int_equal(ct_revoked_get(f->db, "0A", &r, &err), CT_ENOENT);
	ct_err_clear(&err);
	assert_int_equal(ct_revoke(f->db, "0A", "staff", 1, 1763800000, &err), CT_OK);
	assert_int_equal(ct_revoke(f->db, "0B", "ops", 0, 1763800100, &err), CT_OK);
	assert_int_equal(ct_revoked_get(f->db, "0B", &r, &err), CT_OK);
	assert_string_equal(r.serial, "0B");
	assert_string_equal(r.group, "ops");
	assert_int_equal(r.when, 1763800100);
	assert_int_equal(ct_revoked_get(f->db, "0C", &r, &err), CT_ENOENT);
	ct_err_clear(&err);
	assert_int_equal(ct_revoked_get(f->db, "0a", &r, &err), CT_EINVAL);
	ct_err_clear(&err);
	put(f, "revoked", "0A staff 1763800000 keyCompromise\nZZ staff 1 unspecified\n");
	assert_int_equal(ct_revoked_get(f->db, "0C", &r, &err), CT_EIO);
}

static void
test_revoked_corrupt(void **state)
{
	struct store_fixture *f = *state;
	struct ct_revocation *list = NULL;
	struct ct_err err = {0};
	size_t n = 0;
	char path[160];

	put(f, "revoked", "0A staff 1763800000 keyCompromise\nZZ staff 1 unspecified\n");
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "/revoked:2: malformed revocation"));
	put(f, "revoked", "0A staff 1763800000 keyCompromise\n0B staff 1 unspecified");
	ct_err_clear(&err);
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "/revoked:2: truncated line"));
	put(f, "revoked", "0A staff 1763800000 noSuchReason\n");
	ct_err_clear(&err);
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "/revoked:1: malformed revocation"));
	/* a corrupt list is not overwritten by a revocation */
	ct_err_clear(&err);
	assert_int_equal(ct_revoke(f->db, "0C", "staff", 0, 1, &err), CT_EIO);
	/* nor is one that others may write trusted */
	put(f, "revoked", "0A staff 1763800000 keyCompromise\n");
	snprintf(path, sizeof(path), "%s/revoked", f->dir);
	assert_int_equal(chmod(path, 0660), 0);
	ct_err_clear(&err);
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_EPERM);
}

static void
test_open(void **state)
{
	struct store_fixture *f = *state;
	struct ct_store *st = NULL;
	struct ct_err err = {0};
	char dir[96];

	(void)state;
	/* a missing store is not created unless asked, and must be safe */
	snprintf(dir, sizeof(dir), "%s/none", f->dir);
	assert_int_equal(open_store_flags(dir, 0, &st, &err), CT_ENOENT);
	assert_null(st);
	ct_err_clear(&err);
	assert_int_equal(open_store_flags(dir, CT_STORE_CREATE, &st, &err), CT_OK);
	ct_store_close(st);
	assert_int_equal(mode_of(f, "none"), 0700);
	assert_int_equal(chmod(dir, 0770), 0);
	st = NULL;
	assert_int_equal(open_store_flags(dir, 0, &st, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "writable by group or others"));
	assert_null(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_add_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
