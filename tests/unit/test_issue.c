/* In-process issuance: the leaf profile, validity capping, key checks; the
 * trust anchors of an access group and CA rotation. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "issue.h"
#include "store.h"

struct fixture {
	char dir[32];
	struct ct_config *cfg;
	struct ct_store *st;
	struct ct_ca *ca;
	struct ct_issuer *is;
	struct ct_attrs *attrs;
	unsigned char *spki;
	size_t spki_len;
};

static const char conf_fmt[] =
    "store: { path = \"%s\"; };\n"
    "access_groups = ( { name = \"g\"; key_type = \"%s\"; ca_days = 1; } );\n"
    "targets = ( { name = \"t\"; access_group = \"g\"; subject = \"CN=%%unix_account%%\";\n"
    "  lifetime = %ld; backdate = 60; } );\n";

static struct fixture *
make_fixture(const char *key_type, long lifetime)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ct_err err = {0};
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *der = NULL;
	char text[512];
	int n;

	strcpy(f->dir, "/tmp/ct-issue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof(text), conf_fmt, f->dir, key_type, lifetime);
	assert_int_equal(ct_config_load_string(text, "t", &f->cfg, NULL, &err), CT_OK);
	assert_int_equal(ct_store_open(f->cfg, 0, &f->st, &err), CT_OK);
	assert_int_equal(ct_ca_init(f->st, &f->cfg->groups[0], time(NULL), &err), CT_OK);
	assert_int_equal(ct_ca_load(f->st, &f->cfg->groups[0], &f->ca, &err), CT_OK);
	assert_int_equal(ct_issuer_new(&f->cfg->targets[0], f->ca, &f->is, &err), CT_OK);
	f->attrs = ct_attrs_new();
	assert_int_equal(ct_attrs_set(f->attrs, "unix_account", "alice", &err), CT_OK);
	assert_true((n = i2d_PUBKEY(k, &der)) > 0);
	f->spki = der;
	f->spki_len = (size_t)n;
	EVP_PKEY_free(k);
	return f;
}

static void
free_fixture(struct fixture *f)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	ct_issuer_free(f->is);
	ct_ca_free(f->ca);
	ct_store_close(f->st);
	ct_config_free(f->cfg);
	ct_attrs_free(f->attrs);
	OPENSSL_free(f->spki);
	free(f);
}

/* Issue for the fixture at NOW; parse the leaf as a relying party would. */
static int
issue(struct fixture *f, const struct ct_attrs *a, const unsigned char *spki, size_t len,
    time_t now, X509 **out, struct ct_err *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	int rc = ct_issue(f->is, a, spki, len, now, &der, &der_len, err);

	if (rc == CT_OK) {
		p = der;
		*out = d2i_X509(NULL, &p, (long)der_len);
		assert_non_null(*out);
		/* strict DER: re-encoding gives the same bytes */
		assert_int_equal(i2d_X509(*out, NULL), (int)der_len);
		assert_ptr_equal(p, der + der_len);
		free(der);
	}
	return rc;
}

static void
check_leaf(struct fixture *f, X509 *x, time_t now, long lifetime)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	EVP_PKEY *capub = X509_get0_pubkey(ct_ca_cert(f->ca));
	int diff_day, diff_sec;

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_false(BN_is_negative(bn));
	assert_false(BN_is_zero(bn));
	assert_true(BN_num_bits(bn) <= 128);
	BN_free(bn);
	assert_int_equal(X509_verify(x, capub), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	                     X509_get0_subject_key_id(ct_ca_cert(f->ca))),
	    0);
	/* the subject key came through unchanged */
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_EC);
	assert_int_equal(
	    ASN1_TIME_diff(&diff_day, &diff_sec, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	if (lifetime > 0)
		assert_int_equal(diff_day * 86400L + diff_sec, lifetime + 60);
	(void)now;
}

static void
test_leaf_profile(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 3600);
	struct ct_err err = {0};
	X509 *x = NULL, *y = NULL;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(issue(f, f->attrs, f->spki, f->spki_len, now, &x, &err), CT_OK);
	check_leaf(f, x, now, 3600);
	/* serials are random: two leaves differ */
	assert_int_equal(issue(f, f->attrs, f->spki, f->spki_len, now, &y, &err), CT_OK);
	assert_int_not_equal(
	    ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(y)), 0);
	X509_free(x);
	X509_free(y);
	free_fixture(f);
}

static void
test_ed25519_and_rsa_cas(void **state)
{
	const char *types[] = {"ed25519", "ec-p384", "rsa2048"};
	struct ct_err err = {0};
	X509 *x = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct fixture *f = make_fixture(types[i], 600);
		assert_int_equal(
		    issue(f, f->attrs, f->spki, f->spki_len, time(NULL), &x, &err), CT_OK);
		check_leaf(f, x, time(NULL), 600);
		/* the key type is told back from the CA's key */
		assert_int_equal(
		    ct_pkey_type(X509_get0_pubkey(ct_ca_cert(f->ca))), ct_key_type_parse(types[i]));
		X509_free(x);
		x = NULL;
		free_fixture(f);
	}
}

static void
test_lifetime_capped_at_ca_expiry(void **state)
{
	/* the CA lives one day; ask for a 30-day leaf */
	struct fixture *f = make_fixture("ec-p256", 30L * 86400);
	struct ct_err err = {0};
	X509 *x = NULL;

	(void)state;
	assert_int_equal(issue(f, f->attrs, f->spki, f->spki_len, time(NULL), &x, &err), CT_OK);
	assert_int_equal(
	    ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ct_ca_cert(f->ca))), 0);
	X509_free(x);
	x = NULL;
	/* after the CA expired nothing is issued */
	assert_int_equal(
	    issue(f, f->attrs, f->spki, f->spki_len, time(NULL) + 3 * 86400, &x, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "has expired"));
	assert_null(x);
	free_fixture(f);
}

static void
test_missing_attribute(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	struct ct_attrs *empty = ct_attrs_new();
	struct ct_err err = {0};
	X509 *x = NULL;

	(void)state;
	assert_int_equal(issue(f, empty, f->spki, f->spki_len, time(NULL), &x, &err), CT_EINVAL);
	assert_null(x);
	assert_non_null(strstr(err.msg, "target 't'"));
	assert_non_null(strstr(err.msg, "unix_account"));
	ct_attrs_free(empty);
	free_fixture(f);
}

static void
test_malformed_spki(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	unsigned char bad[512];
	struct ct_err err = {0};
	X509 *x = NULL;
	size_t cut;

	(void)state;
	memcpy(bad, f->spki, f->spki_len);
	/* every truncation is refused, never read past the end */
	for (cut = 0; cut < f->spki_len; cut++) {
		ct_err_clear(&err);
		assert_int_equal(issue(f, f->attrs, bad, cut, time(NULL), &x, &err), CT_EINVAL);
	}
	bad[0] = 0x31;
	assert_int_equal(issue(f, f->attrs, bad, f->spki_len, time(NULL), &x, &err), CT_EINVAL);
	assert_null(x);
	free_fixture(f);
}

static void
test_key_checks(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	unsigned char *der = NULL;
	struct ct_err err = {0};
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long n;
	size_t len;

	(void)state;
	PEM_write_bio_PUBKEY(b, k);
	n = BIO_get_mem_data(b, &pem);
	assert_int_equal(
	    ct_spki_from_pem((unsigned char *)pem, (size_t)n, &der, &len, &err), CT_OK);
	OPENSSL_free(der);
	der = NULL;
	(void)BIO_reset(b);
	PEM_write_bio_PUBKEY(b, small);
	n = BIO_get_mem_data(b, &pem);
	assert_int_equal(
	    ct_spki_from_pem((unsigned char *)pem, (size_t)n, &der, &len, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "1024 bits"));
	ct_err_clear(&err);
	assert_int_equal(
	    ct_spki_from_pem((const unsigned char *)"junk", 4, &der, &len, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(
	    ct_csr_verify((const unsigned char *)"junk", 4, &der, &len, &err), CT_EINVAL);
	assert_null(der);
	BIO_free(b);
	EVP_PKEY_free(k);
	EVP_PKEY_free(small);
}

/* ---- trust anchors and rotation ---- */

/* Replace file NAME (under STORE/groups) with TEXT (mode 0600). */
static void
put(struct fixture *f, const char *name, const char *text)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/groups/%s", f->dir, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int
exists(struct fixture *f, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/groups/%s", f->dir, name);
	return access(path, F_OK) == 0;
}

/* ct_ca_trust at NOW: the number of anchors, or the error code. */
static int
n_trusted(struct fixture *f, time_t now, STACK_OF(X509) **out, struct ct_err *err)
{
	STACK_OF(X509) *sk = NULL;
	int rc;

	ct_err_clear(err);
	if ((rc = ct_ca_trust(f->st, &f->cfg->groups[0], now, &sk, err)) != CT_OK) {
		assert_null(sk);
		return rc;
	}
	rc = sk_X509_num(sk);
	if (out != NULL)
		*out = sk;
	else
		sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* Does LEAF chain to one of ANCHORS at time AT (as a relying party checks)? */
static int
verifies(STACK_OF(X509) *anchors, X509 *leaf, time_t at)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int i, ok;

	for (i = 0; i < sk_X509_num(anchors); i++)
		assert_int_equal(X509_STORE_add_cert(st, sk_X509_value(anchors, i)), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, NULL), 1);
	X509_STORE_CTX_set_time(ctx, 0, at);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

static void
test_trust_without_ca(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	struct ct_rotation r = {0};
	struct ct_err err = {0};
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -r %s/groups/g", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(n_trusted(f, time(NULL), NULL, &err), CT_ENOENT);
	assert_non_null(strstr(err.msg, "certtoken-admin ca init g"));
	ct_err_clear(&err);
	assert_int_equal(
	    ct_ca_rotate(f->st, &f->cfg->groups[0], time(NULL), 3600, 0, &r, &err), CT_ENOENT);
	assert_non_null(strstr(err.msg, "ca init g"));
	assert_null(r.cert);
	assert_false(exists(f, ".g.lock")); /* nothing left behind for a group without a CA */
	/* no store at all: the same advice */
	snprintf(cmd, sizeof(cmd), "rm -r %s/groups", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(n_trusted(f, time(NULL), NULL, &err), CT_ENOENT);
	assert_non_null(strstr(err.msg, "ca init g"));
	free_fixture(f);
}

static void
test_trust_overlap(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	const struct ct_group *g = &f->cfg->groups[0];
	X509 *old = ct_ca_cert(f->ca), *leaf = NULL;
	struct ct_ca *cur = NULL, *prev = NULL;
	STACK_OF(X509) *sk = NULL;
	struct ct_rotation r = {0};
	struct ct_err err = {0};
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(n_trusted(f, now, &sk, &err), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), old), 0);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(issue(f, f->attrs, f->spki, f->spki_len, now, &leaf, &err), CT_OK);

	assert_int_equal(ct_ca_rotate(f->st, g, now, 3600, 0, &r, &err), CT_OK);
	assert_int_equal(X509_cmp(r.previous, old), 0);
	assert_int_equal(r.until, now + 3600);
	assert_null(r.dropped);
	assert_false(exists(f, ".g.rotate"));
	/* during the overlap: the new CA first, then the old one */
	assert_int_equal(n_trusted(f, now, &sk, &err), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), r.cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), old), 0);
	/* same subject, another key: chains are told apart by SKI/AKI */
	assert_int_equal(
	    X509_NAME_cmp(X509_get_subject_name(r.cert), X509_get_subject_name(old)), 0);
	assert_int_not_equal(
	    ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(r.cert), X509_get0_subject_key_id(old)),
	    0);
	assert_true(verifies(sk, leaf, now));
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(n_trusted(f, now + 3599, NULL, &err), 2);
	/* after it: only the new CA, and the old leaf no longer chains */
	assert_int_equal(n_trusted(f, now + 3600, &sk, &err), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), r.cert), 0);
	assert_false(verifies(sk, leaf, now));
	sk_X509_pop_free(sk, X509_free);

	/* the signing side sees the same */
	assert_int_equal(ct_ca_load_trusted(f->st, g, now, &cur, &prev, &err), CT_OK);
	assert_int_equal(X509_cmp(ct_ca_cert(cur), r.cert), 0);
	assert_non_null(prev);
	assert_int_equal(X509_cmp(ct_ca_cert(prev), old), 0);
	ct_ca_free(cur);
	ct_ca_free(prev);
	assert_int_equal(ct_ca_load_trusted(f->st, g, now + 3600, &cur, &prev, &err), CT_OK);
	assert_null(prev);
	ct_ca_free(cur);
	assert_int_equal(ct_ca_load(f->st, g, &cur, &err), CT_OK);
	assert_int_equal(X509_cmp(ct_ca_cert(cur), r.cert), 0);
	ct_ca_free(cur);
	X509_free(leaf);
	ct_rotation_clear(&r);
	free_fixture(f);
}

static void
test_rotate_without_overlap(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	STACK_OF(X509) *sk = NULL;
	struct ct_rotation r = {0}, r2 = {0};
	struct ct_err err = {0};
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(ct_ca_rotate(f->st, &f->cfg->groups[0], now, 0, 0, &r, &err), CT_OK);
	assert_int_equal(r.until, now);
	assert_int_equal(n_trusted(f, now, &sk, &err), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), r.cert), 0);
	sk_X509_pop_free(sk, X509_free);
	/* the old key is gone with the old directory */
	assert_false(exists(f, "g/previous.key"));
	assert_false(exists(f, "g/previous.pem"));
	assert_false(exists(f, "g/previous.until"));
	/* two rotations within an overlap: the older previous CA is dropped */
	assert_int_equal(ct_ca_rotate(f->st, &f->cfg->groups[0], now, 7200, 0, &r2, &err), CT_OK);
	ct_rotation_clear(&r);
	assert_int_equal(
	    ct_ca_rotate(f->st, &f->cfg->groups[0], now + 60, 600, 0, &r, &err), CT_OK);
	assert_non_null(r.dropped);
	assert_int_equal(X509_cmp(r.dropped, r2.previous), 0);
	assert_int_equal(r.dropped_until, now + 7200);
	assert_int_equal(X509_cmp(r.previous, r2.cert), 0);
	assert_int_equal(n_trusted(f, now + 60, NULL, &err), 2);
	assert_int_equal(n_trusted(f, now + 660, NULL, &err), 1);
	ct_rotation_clear(&r);
	ct_rotation_clear(&r2);
	free_fixture(f);
}

static void
test_trust_corrupt_files(void **state)
{
	static const char *bad_until[] = {
	    "", "soon\n", "-5\n", "12 \n", "1\n\n", "99999999999999999999\n"};
	struct fixture *f = make_fixture("ec-p256", 600);
	struct ct_rotation r = {0};
	struct ct_err err = {0};
	struct ct_ca *ca = NULL;
	time_t now = time(NULL);
	char path[128];
	size_t i;

	(void)state;
	assert_int_equal(ct_ca_rotate(f->st, &f->cfg->groups[0], now, 3600, 0, &r, &err), CT_OK);
	/* no private key is read: broken keys do not matter to the anchors */
	put(f, "g/ca.key", "not a key\n");
	put(f, "g/previous.key", "not a key\n");
	assert_int_equal(n_trusted(f, now, NULL, &err), 2);
	ct_err_clear(&err);
	assert_int_equal(ct_ca_load(f->st, &f->cfg->groups[0], &ca, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "groups/g/ca.key: not a PEM private key"));
	assert_null(ca);
	put(f, "g/previous.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	assert_int_equal(n_trusted(f, now, NULL, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "groups/g/previous.pem: not a PEM certificate"));
	/* after the overlap previous.pem is not even read */
	assert_int_equal(n_trusted(f, now + 3600, NULL, &err), 1);
	unlink(strcat(strcpy(path, f->dir), "/groups/g/previous.pem"));
	assert_int_equal(n_trusted(f, now, NULL, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "previous.pem: missing"));
	for (i = 0; i < sizeof(bad_until) / sizeof(bad_until[0]); i++) {
		put(f, "g/previous.until", bad_until[i]);
		assert_int_equal(n_trusted(f, now, NULL, &err), CT_EIO);
		assert_non_null(strstr(err.msg, "groups/g/previous.until: not a time"));
	}
	put(f, "g/ca.pem", "junk");
	assert_int_equal(n_trusted(f, now, NULL, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "groups/g/ca.pem: not a PEM certificate"));
	/* the store checks of every loader apply */
	snprintf(path, sizeof(path), "%s/groups/g/ca.pem", f->dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(n_trusted(f, now, NULL, &err), CT_EPERM);
	snprintf(path, sizeof(path), "%s/groups/g", f->dir);
	assert_int_equal(chmod(path, 0770), 0);
	assert_int_equal(n_trusted(f, now, NULL, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "writable by group or others"));
	ct_rotation_clear(&r);
	free_fixture(f);
}

static void
test_rotate_arguments_and_leftovers(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	const struct ct_group *g = &f->cfg->groups[0];
	struct ct_rotation r = {0};
	struct ct_err err = {0};
	char path[128];
	time_t now;

	(void)state;
	assert_int_equal(ct_ca_rotate(f->st, g, time(NULL), -1, 0, &r, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(
	    ct_ca_rotate(f->st, g, time(NULL), CT_OVERLAP_MAX + 1, 0, &r, &err), CT_EINVAL);
	assert_null(r.cert);
	/* a crash left a half-built work directory: the next rotation clears it */
	snprintf(path, sizeof(path), "%s/groups/.g.rotate", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	put(f, ".g.rotate/ca.key", "half");
	ct_err_clear(&err);
	now = time(NULL); /* one clock reading: a second may pass before the check */
	assert_int_equal(ct_ca_rotate(f->st, g, now, CT_OVERLAP_MAX, 0, &r, &err), CT_OK);
	assert_false(exists(f, ".g.rotate"));
	assert_true(exists(f, ".g.lock"));
	assert_int_equal(n_trusted(f, now + CT_OVERLAP_MAX - 1, NULL, &err), 2);
	ct_rotation_clear(&r);
	free_fixture(f);
}

/* The trust anchors at NOW are exactly the N certificates WANT, in order. */
static void
trusted_are(struct fixture *f, time_t now, X509 *const *want, int n)
{
	STACK_OF(X509) *sk = NULL;
	struct ct_err err = {0};
	int i;

	assert_int_equal(n_trusted(f, now, &sk, &err), n);
	for (i = 0; i < n; i++)
		assert_int_equal(X509_cmp(sk_X509_value(sk, i), want[i]), 0);
	sk_X509_pop_free(sk, X509_free);
}

/* The current CA signs as before while a CA is prepared: ct_ca_load gives it. */
static void
current_is(struct fixture *f, X509 *want)
{
	struct ct_err err = {0};
	struct ct_ca *ca = NULL;

	assert_int_equal(ct_ca_load(f->st, &f->cfg->groups[0], &ca, &err), CT_OK);
	assert_int_equal(X509_cmp(ct_ca_cert(ca), want), 0);
	ct_ca_free(ca);
}

static void
test_prepare(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	const struct ct_group *g = &f->cfg->groups[0];
	X509 *old = ct_ca_cert(f->ca), *next = NULL, *next2 = NULL, *replaced = NULL;
	struct ct_ca *cur = NULL, *prev = NULL;
	struct ct_err err = {0};
	time_t now = time(NULL);
	char path[128];

	(void)state;
	assert_int_equal(ct_ca_prepare(f->st, g, now, 0, &next, &replaced, &err), CT_OK);
	assert_null(replaced);
	assert_true(exists(f, "g/next.key") && exists(f, "g/next.pem"));
	assert_false(exists(f, ".g.rotate"));
	/* same subject as the current CA, another key */
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(next), X509_get_subject_name(old)), 0);
	assert_int_not_equal(
	    ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(next), X509_get0_subject_key_id(old)),
	    0);
	/* trusted from now on, after the current CA; never the signer */
	trusted_are(f, now, (X509 *[]){old, next}, 2);
	current_is(f, old);
	assert_int_equal(ct_ca_load_trusted(f->st, g, now, &cur, &prev, &err), CT_OK);
	assert_int_equal(X509_cmp(ct_ca_cert(cur), old), 0);
	assert_null(prev);
	ct_ca_free(cur);

	/* a second preparation is refused and changes nothing */
	assert_int_equal(ct_ca_prepare(f->st, g, now, 0, &next2, &replaced, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "already has a prepared CA"));
	assert_non_null(strstr(err.msg, "--replace"));
	assert_null(next2);
	trusted_are(f, now, (X509 *[]){old, next}, 2);
	/* unless told to replace it: the first one is discarded */
	ct_err_clear(&err);
	assert_int_equal(ct_ca_prepare(f->st, g, now, 1, &next2, &replaced, &err), CT_OK);
	assert_non_null(replaced);
	assert_int_equal(X509_cmp(replaced, next), 0);
	assert_int_not_equal(X509_cmp(next2, next), 0);
	trusted_are(f, now, (X509 *[]){old, next2}, 2);
	current_is(f, old);
	X509_free(replaced);
	/* --replace without a prepared CA just prepares one */
	X509_free(next);
	snprintf(path, sizeof(path), "%s/groups/g/next.pem", f->dir);
	assert_int_equal(unlink(path), 0);
	replaced = NULL;
	assert_int_equal(ct_ca_prepare(f->st, g, now, 1, &next, &replaced, &err), CT_OK);
	assert_null(replaced);
	X509_free(next);
	X509_free(next2);
	free_fixture(f);
}

static void
test_rotate_to_prepared(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	const struct ct_group *g = &f->cfg->groups[0];
	X509 *old = ct_ca_cert(f->ca), *next = NULL, *next2 = NULL, *replaced = NULL, *leaf = NULL;
	STACK_OF(X509) *bundle = NULL;
	struct ct_rotation r = {0}, r2 = {0};
	struct ct_issuer *is = NULL;
	struct ct_ca *ca = NULL;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(ct_ca_prepare(f->st, g, now, 0, &next, &replaced, &err), CT_OK);
	/* what a target installs right after the preparation */
	assert_int_equal(n_trusted(f, now, &bundle, &err), 2);
	/* a new CA would discard the prepared one: refused when asked for */
	assert_int_equal(
	    ct_ca_rotate(f->st, g, now, 3600, CT_ROTATE_GENERATE, &r, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "has a prepared CA"));
	assert_null(r.cert);
	trusted_are(f, now, (X509 *[]){old, next}, 2);

	/* the rotation takes the prepared CA */
	ct_err_clear(&err);
	assert_int_equal(ct_ca_rotate(f->st, g, now, 3600, 0, &r, &err), CT_OK);
	assert_true(r.prepared);
	assert_int_equal(X509_cmp(r.cert, next), 0);
	assert_int_equal(X509_cmp(r.previous, old), 0);
	assert_int_equal(r.until, now + 3600);
	assert_false(exists(f, "g/next.key") || exists(f, "g/next.pem"));
	trusted_are(f, now, (X509 *[]){next, old}, 2);
	current_is(f, next);
	/* a leaf of the new CA chains to the bundle exported before the rotation */
	assert_int_equal(ct_ca_load(f->st, g, &ca, &err), CT_OK);
	assert_int_equal(ct_issuer_new(&f->cfg->targets[0], ca, &is, &err), CT_OK);
	assert_int_equal(
	    ct_issue(is, f->attrs, f->spki, f->spki_len, now, &der, &der_len, &err), CT_OK);
	p = der;
	assert_non_null(leaf = d2i_X509(NULL, &p, (long)der_len));
	assert_true(verifies(bundle, leaf, now));

	/* prepared during an overlap: current, next, previous */
	assert_int_equal(ct_ca_prepare(f->st, g, now, 0, &next2, &replaced, &err), CT_OK);
	assert_true(exists(f, "g/previous.key") && exists(f, "g/previous.until"));
	trusted_are(f, now, (X509 *[]){next, next2, old}, 3);
	trusted_are(f, now + 3600, (X509 *[]){next, next2}, 2);
	/* without an overlap: the prepared CA alone, the old key discarded */
	assert_int_equal(ct_ca_rotate(f->st, g, now + 60, 0, 0, &r2, &err), CT_OK);
	assert_true(r2.prepared);
	assert_int_equal(X509_cmp(r2.cert, next2), 0);
	assert_non_null(r2.dropped); /* OLD, still in its overlap */
	assert_false(exists(f, "g/previous.key") || exists(f, "g/next.key"));
	trusted_are(f, now + 60, (X509 *[]){next2}, 1);
	/* with no CA prepared, a rotation makes one as before */
	ct_rotation_clear(&r2);
	assert_int_equal(
	    ct_ca_rotate(f->st, g, now + 120, 600, CT_ROTATE_GENERATE, &r2, &err), CT_OK);
	assert_false(r2.prepared);
	assert_int_equal(X509_cmp(r2.previous, next2), 0);

	free(der);
	X509_free(leaf);
	ct_issuer_free(is);
	ct_ca_free(ca);
	sk_X509_pop_free(bundle, X509_free);
	ct_rotation_clear(&r);
	ct_rotation_clear(&r2);
	X509_free(next);
	X509_free(next2);
	free_fixture(f);
}

static void
test_prepare_keeps_and_checks_files(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	const struct ct_group *g = &f->cfg->groups[0];
	static const char *const kept[] = {
	    "ca.key", "ca.pem", "previous.key", "previous.pem", "previous.until"};
	X509 *next = NULL, *replaced = NULL;
	struct ct_rotation r = {0};
	struct ct_err err = {0};
	time_t now = time(NULL);
	char cmd[256];
	size_t i;

	(void)state;
	assert_int_equal(ct_ca_rotate(f->st, g, now, 3600, 0, &r, &err), CT_OK);
	snprintf(cmd, sizeof(cmd), "cp -a %s/groups/g %s/before", f->dir, f->dir);
	assert_int_equal(system(cmd), 0);
	/* a preparation copies the current and previous CA byte for byte */
	assert_int_equal(ct_ca_prepare(f->st, g, now, 0, &next, &replaced, &err), CT_OK);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cmp -s %s/before/%s %s/groups/g/%s", f->dir, kept[i],
		    f->dir, kept[i]);
		assert_int_equal(system(cmd), 0);
	}
	X509_free(next);

	/* a corrupt prepared certificate: the anchors say so, --replace still works */
	put(f, "g/next.pem", "junk");
	assert_int_equal(n_trusted(f, now, NULL, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "groups/g/next.pem: not a PEM certificate"));
	ct_err_clear(&err);
	assert_int_equal(ct_ca_prepare(f->st, g, now, 1, &next, &replaced, &err), CT_OK);
	assert_null(replaced);
	X509_free(next);
	/* a prepared key that does not match its certificate is not rotated to */
	snprintf(cmd, sizeof(cmd), "cp %s/groups/g/ca.key %s/groups/g/next.key", f->dir, f->dir);
	assert_int_equal(system(cmd), 0);
	ct_rotation_clear(&r);
	assert_int_equal(ct_ca_rotate(f->st, g, now, 3600, 0, &r, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "next.pem: does not match next.key"));
	/* nor one that has expired (the fixture's CAs live a day) */
	ct_err_clear(&err);
	assert_int_equal(
	    ct_ca_prepare(f->st, g, now - 2 * 86400, 1, &next, &replaced, &err), CT_OK);
	X509_free(next);
	X509_free(replaced);
	assert_int_equal(ct_ca_rotate(f->st, g, now, 3600, 0, &r, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "the prepared CA has expired"));
	assert_null(r.cert);
	/* a preparation needs a sound current CA and a group that has one */
	put(f, "g/ca.key", "not a key\n");
	ct_err_clear(&err);
	assert_int_equal(ct_ca_prepare(f->st, g, now, 1, &next, &replaced, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "groups/g/ca.key: not a PEM private key"));
	snprintf(cmd, sizeof(cmd), "rm -r %s/groups/g", f->dir);
	assert_int_equal(system(cmd), 0);
	ct_err_clear(&err);
	assert_int_equal(ct_ca_prepare(f->st, g, now, 0, &next, &replaced, &err), CT_ENOENT);
	assert_non_null(strstr(err.msg, "ca init g"));
	free_fixture(f);
}

/* Readers while another process rotates: every read comes from one
 * directory, never a mix of two rotations (which would show as the same
 * certificate twice, a key that does not match its certificate, or a file
 * that vanished as the replaced directory was removed).  Without the check
 * that the directory is still the group's, 300 rotations hit the last case
 * about one run in three. */
static void
test_trust_during_rotations(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	const struct ct_group *g = &f->cfg->groups[0];
	STACK_OF(X509) *sk = NULL;
	struct ct_err err = {0};
	struct ct_ca *ca = NULL;
	struct ct_rotation r;
	int i, status, reads = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(ct_ca_rotate(f->st, g, time(NULL), 3600, 0, &r, &err), CT_OK);
	ct_rotation_clear(&r);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		for (i = 0; i < 150; i++)
			if (ct_ca_rotate(f->st, g, time(NULL), 3600, 0, &r, NULL) != CT_OK)
				_exit(1);
			else
				ct_rotation_clear(&r);
		_exit(0);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		assert_int_equal(n_trusted(f, time(NULL), &sk, &err), 2);
		assert_int_not_equal(X509_cmp(sk_X509_value(sk, 0), sk_X509_value(sk, 1)), 0);
		sk_X509_pop_free(sk, X509_free);
		assert_int_equal(ct_ca_load(f->st, g, &ca, &err), CT_OK);
		ct_ca_free(ca);
		reads++;
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(reads > 0);
	free_fixture(f);
}

/* ct_csr_make gives a CSR that ct_csr_verify accepts, for the key made,
 * whatever its type. */
static void
test_csr_make(void **state)
{
	static const enum ct_key_type types[] = {CT_KEY_EC_P256, CT_KEY_ED25519, CT_KEY_RSA2048};
	struct ct_err err = {0};
	unsigned char *csr, *spki, *want;
	size_t csr_len, spki_len, i;
	int want_len;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *key = ct_key_generate(types[i]);

		assert_non_null(key);
		assert_int_equal(ct_csr_make(key, "tester \xc3\xa9", &csr, &csr_len, &err), CT_OK);
		assert_int_equal(ct_csr_verify(csr, csr_len, &spki, &spki_len, &err), CT_OK);
		want = NULL;
		want_len = i2d_PUBKEY(key, &want);
		assert_int_equal((size_t)want_len, spki_len);
		assert_memory_equal(want, spki, spki_len);
		OPENSSL_free(want);
		OPENSSL_free(spki);
		OPENSSL_free(csr);
		EVP_PKEY_free(key);
	}
}

/* The SPKI ct_csr_verify gives is the subjectPKInfo as it is in the CSR,
 * byte for byte, which is also what OpenSSL encodes for the key. */
static void
assert_spki_as_received(EVP_PKEY *key, const unsigned char *csr, size_t csr_len)
{
	struct ct_err err = {0};
	unsigned char *spki = NULL, *want = NULL;
	size_t spki_len = 0;
	int want_len;

	assert_int_equal(ct_csr_verify(csr, csr_len, &spki, &spki_len, &err), CT_OK);
	assert_true((want_len = i2d_PUBKEY(key, &want)) > 0);
	assert_int_equal((size_t)want_len, spki_len);
	assert_memory_equal(want, spki, spki_len);
	OPENSSL_free(want);
	OPENSSL_free(spki);
}

/* CSR (DER) as PEM, in a new string. */
static char *
csr_pem(const unsigned char *csr, size_t len)
{
	const unsigned char *p = csr;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(req);
	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
	n = BIO_get_mem_data(b, &data);
	assert_non_null(out = calloc(1, (size_t)n + 1));
	memcpy(out, data, (size_t)n);
	BIO_free(b);
	X509_REQ_free(req);
	return out;
}

/* Keys of every type, an EC key with a compressed point, in DER and PEM
 * CSRs, and a CSR whose outer length is not in DER form (OpenSSL takes it;
 * the key is then re-encoded): always the same SPKI. */
static void
test_csr_spki_as_received(void **state)
{
	static const enum ct_key_type types[] = {
	    CT_KEY_EC_P256, CT_KEY_EC_P384, CT_KEY_ED25519, CT_KEY_RSA2048};
	struct ct_err err = {0};
	unsigned char *csr, *ber, *spki = NULL;
	size_t csr_len, spki_len, hdr, i;
	char *pem;

	(void)state;
	for (i = 0; i <= sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *key = ct_key_generate(i < 4 ? types[i] : CT_KEY_EC_P256);

		assert_non_null(key);
		if (i == 4)
			assert_int_equal(
			    EVP_PKEY_set_utf8_string_param(
			        key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"),
			    1);
		assert_int_equal(ct_csr_make(key, "tester", &csr, &csr_len, &err), CT_OK);
		assert_spki_as_received(key, csr, csr_len);
		pem = csr_pem(csr, csr_len);
		assert_spki_as_received(key, (unsigned char *)pem, strlen(pem));
		free(pem);
		/* the outer SEQUENCE's length in five octets instead of the shortest form */
		hdr = csr[1] < 0x80 ? 2 : 2 + (csr[1] & 0x7fu);
		assert_non_null(ber = malloc(csr_len - hdr + 6));
		ber[0] = 0x30, ber[1] = 0x84, ber[2] = 0, ber[3] = 0;
		ber[4] = (unsigned char)((csr_len - hdr) >> 8),
		ber[5] = (unsigned char)(csr_len - hdr);
		memcpy(ber + 6, csr + hdr, csr_len - hdr);
		assert_spki_as_received(key, ber, csr_len - hdr + 6);
		/* a signature that does not verify gives nothing */
		csr[csr_len - 1] ^= 0x01;
		assert_int_equal(ct_csr_verify(csr, csr_len, &spki, &spki_len, &err), CT_EINVAL);
		assert_null(spki);
		ct_err_clear(&err);
		free(ber);
		OPENSSL_free(csr);
		EVP_PKEY_free(key);
	}
}

/* A CRL lists every revoked serial with its time and reason, has the
 * update times and CRL number asked for, and verifies with the CA key. */
static void
test_crl(void **state)
{
	static const char *const serials[] = {"0A1B", "FF"};
	static const int reasons[] = {1, 0};
	struct fixture *f = make_fixture("ec-p256", 600);
	time_t now = time(NULL);
	const int64_t when[] = {(int64_t)now - 100, (int64_t)now - 50};
	struct ct_err err = {0};
	const ASN1_INTEGER *sn;
	ASN1_ENUMERATED *code;
	ASN1_INTEGER *num;
	X509_REVOKED *r;
	X509_CRL *crl;
	char *pem = NULL;
	int days, secs;
	BIO *b;

	(void)state;
	assert_int_equal(
	    ct_crl_make(f->ca, serials, when, reasons, 2, now, 3600, (int64_t)now, &pem, &err),
	    CT_OK);
	assert_non_null(b = BIO_new_mem_buf(pem, -1));
	assert_non_null(crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL));
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ct_ca_cert(f->ca))), 1);
	assert_int_equal(
	    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ct_ca_cert(f->ca))), 0);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_CRL_get0_lastUpdate(crl),
	                     X509_CRL_get0_nextUpdate(crl)),
	    1);
	assert_int_equal(days * 86400 + secs, 3600);
	assert_non_null(num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL));
	assert_int_equal(ASN1_INTEGER_get(num), (long)now);
	ASN1_INTEGER_free(num);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	for (int i = 0; i < 2; i++) {
		r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), i);
		sn = X509_REVOKED_get0_serialNumber(r);
		code = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		if (ASN1_INTEGER_get(sn) == 0x0a1b) {
			assert_non_null(code);
			assert_int_equal(ASN1_ENUMERATED_get(code), 1);
			assert_int_equal(
			    ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(r), now - 100),
			    0);
		} else {
			assert_int_equal(ASN1_INTEGER_get(sn), 0xff);
			assert_null(code);
		}
		ASN1_ENUMERATED_free(code);
	}
	X509_CRL_free(crl);
	BIO_free(b);
	free(pem);
	/* a serial that is not hex builds no CRL */
	pem = NULL;
	assert_int_equal(ct_crl_make(f->ca, (const char *const[]){"zz"}, when, reasons, 1, now,
	                     3600, (int64_t)now, &pem, &err),
	    CT_ECRYPTO);
	assert_null(pem);
	free_fixture(f);
}

/* A substituted subject value over its X.520 bound fails the issuance with
 * CT_EINVAL (exit 65) naming the attribute, the bound and the pattern; it is
 * never cut short.  128 characters of pseudonym are issued whole. */
static void
test_subject_upper_bound(void **state)
{
	static const char conf[] =
	    "store: { path = \"%s\"; };\n"
	    "access_groups = ( { name = \"g\"; key_type = \"ec-p256\"; ca_days = 1; } );\n"
	    "targets = ( { name = \"p\"; access_group = \"g\";\n"
	    "  subject = \"CN=x/pseudonym=%%unix_account%%/streetAddress=%%unix_account%%\"; } "
	    ");\n";
	struct fixture *f = make_fixture("ec-p256", 600);
	struct ct_attrs *a = ct_attrs_new();
	struct ct_config *cfg = NULL;
	struct ct_issuer *is = NULL;
	struct ct_err err = {0};
	char text[512], value[130];
	X509 *x = NULL;
	int idx;

	(void)state;
	snprintf(text, sizeof(text), conf, f->dir);
	assert_int_equal(ct_config_load_string(text, "t", &cfg, NULL, &err), CT_OK);
	assert_int_equal(ct_issuer_new(&cfg->targets[0], f->ca, &is, &err), CT_OK);
	ct_issuer_free(f->is);
	f->is = is;
	memset(value, 'a', 128);
	value[128] = '\0';
	assert_int_equal(ct_attrs_set(a, "unix_account", value, &err), CT_OK);
	assert_int_equal(issue(f, a, f->spki, f->spki_len, time(NULL), &x, &err), CT_OK);
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_pseudonym, -1);
	assert_true(idx >= 0);
	assert_int_equal(ASN1_STRING_length(X509_NAME_ENTRY_get_data(
	                     X509_NAME_get_entry(X509_get_subject_name(x), idx))),
	    128);
	X509_free(x);
	x = NULL;
	strcat(value, "a");
	ct_attrs_free(a);
	a = ct_attrs_new();
	assert_int_equal(ct_attrs_set(a, "unix_account", value, &err), CT_OK);
	assert_int_equal(issue(f, a, f->spki, f->spki_len, time(NULL), &x, &err), CT_EINVAL);
	assert_null(x);
	assert_non_null(strstr(err.msg, "value for 'pseudonym' is longer than 128 characters"));
	assert_non_null(strstr(err.msg, "(ub-pseudonym)"));
	assert_non_null(strstr(err.msg, "subject pattern 'CN=x/pseudonym=%unix_account%"));
	ct_attrs_free(a);
	free_fixture(f); /* frees the issuer, before the configuration it uses */
	ct_config_free(cfg);
}

/* KeyEncipherment is issued only for an RSA subject key: an EC key in an
 * RSA group's target with such a template fails with CT_EINVAL. */
static void
test_key_encipherment_rsa_only(void **state)
{
	static const char conf[] =
	    "store: { path = \"%s\"; };\n"
	    "access_groups = ( { name = \"r\"; key_type = \"rsa2048\"; } );\n"
	    "templates = ( { name = \"enc\"; key_usage = [ \"DigitalSignature\", "
	    "\"KeyEncipherment\" ]; } );\n"
	    "targets = ( { name = \"e\"; access_group = \"r\"; template = \"enc\";\n"
	    "  subject = \"CN=%%unix_account%%\"; } );\n";
	struct fixture *f = make_fixture("ec-p256", 600);
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct ct_config *cfg = NULL;
	struct ct_issuer *is = NULL;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	char text[512];
	X509 *x = NULL;
	int n;

	(void)state;
	snprintf(text, sizeof(text), conf, f->dir);
	assert_int_equal(ct_config_load_string(text, "t", &cfg, NULL, &err), CT_OK);
	assert_int_equal(ct_issuer_new(&cfg->targets[0], f->ca, &is, &err), CT_OK);
	ct_issuer_free(f->is);
	f->is = is;
	assert_int_equal(issue(f, f->attrs, f->spki, f->spki_len, time(NULL), &x, &err), CT_EINVAL);
	assert_null(x);
	assert_non_null(strstr(err.msg,
	    "target 'e': template 'enc' has KeyEncipherment, which "
	    "is for RSA keys only"));
	assert_non_null(rsa);
	assert_true((n = i2d_PUBKEY(rsa, &der)) > 0);
	assert_int_equal(issue(f, f->attrs, der, (size_t)n, time(NULL), &x, &err), CT_OK);
	assert_true(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT);
	X509_free(x);
	OPENSSL_free(der);
	EVP_PKEY_free(rsa);
	free_fixture(f); /* frees the issuer, before the configuration it uses */
	ct_config_free(cfg);
}

/* The CRL number of the CRL in PEM. */
static int64_t
crl_number_of(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_CRL *crl;
	ASN1_INTEGER *num;
	int64_t v = -1;

	assert_non_null(b);
	assert_non_null(crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL));
	assert_non_null(num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL));
	assert_int_equal(ASN1_INTEGER_get_int64(&v, num), 1);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	BIO_free(b);
	return v;
}

/* CRL numbers strictly grow per group, also for CRLs of one second, and
 * across a rotation and a preparation (the CA's subject stays the same). */
static void
test_crl_numbers(void **state)
{
	struct fixture *f = make_fixture("ec-p256", 600);
	const struct ct_group *g = &f->cfg->groups[0];
	time_t now = time(NULL);
	struct ct_rotation r = {0};
	struct ct_err err = {0};
	X509 *next = NULL, *replaced = NULL;
	int64_t n1 = 0, n2 = 0, n3 = 0;
	char *pem = NULL;

	(void)state;
	assert_false(exists(f, "g/crl.number"));
	assert_int_equal(ct_crl_number_take(f->st, "g", now, 1, &n1, &err), CT_OK);
	assert_int_equal(n1, (int64_t)now);
	assert_int_equal(ct_crl_number_take(f->st, "g", now, 1, &n2, &err), CT_OK);
	assert_int_equal(n2, (int64_t)now + 1);
	/* two at once (a rotation's overlap: one CRL per CA) */
	assert_int_equal(ct_crl_number_take(f->st, "g", now, 2, &n3, &err), CT_OK);
	assert_int_equal(n3, (int64_t)now + 2);
	assert_int_equal(ct_crl_number_take(f->st, "g", now - 10, 1, &n1, &err), CT_OK);
	assert_int_equal(n1, (int64_t)now + 4); /* a clock set back takes nothing back */
	assert_int_equal(ct_crl_make(f->ca, NULL, NULL, NULL, 0, now, 3600, n1, &pem, &err), CT_OK);
	assert_int_equal(crl_number_of(pem), (int64_t)now + 4);
	free(pem);

	/* kept when the CA is prepared and rotated */
	assert_int_equal(ct_ca_prepare(f->st, g, now, 0, &next, &replaced, &err), CT_OK);
	assert_int_equal(ct_crl_number_take(f->st, "g", now, 1, &n1, &err), CT_OK);
	assert_int_equal(n1, (int64_t)now + 5);
	assert_int_equal(ct_ca_rotate(f->st, g, now, 0, 0, &r, &err), CT_OK);
	ct_rotation_clear(&r);
	assert_int_equal(ct_ca_rotate(f->st, g, now, 3600, 0, &r, &err), CT_OK);
	ct_rotation_clear(&r);
	assert_int_equal(ct_crl_number_take(f->st, "g", now, 1, &n1, &err), CT_OK);
	assert_int_equal(n1, (int64_t)now + 6);
	/* a later second starts from the clock again */
	assert_int_equal(ct_crl_number_take(f->st, "g", now + 100, 1, &n1, &err), CT_OK);
	assert_int_equal(n1, (int64_t)now + 100);

	/* a corrupt number is reported, never reset */
	put(f, "g/crl.number", "12x\n");
	assert_int_equal(ct_crl_number_take(f->st, "g", now, 1, &n1, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "crl.number: not a CRL number"));
	put(f, "g/crl.number", "0123\n");
	assert_int_equal(ct_crl_number_take(f->st, "g", now, 1, &n1, &err), CT_EIO);
	assert_int_equal(ct_crl_number_take(f->st, "g", now, 3, &n1, &err), CT_EINVAL);
	assert_int_equal(ct_crl_number_take(f->st, "nosuch", now, 1, &n1, &err), CT_ENOENT);
	X509_free(next);
	X509_free(replaced);
	free_fixture(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leaf_profile),
	    cmocka_unit_test(test_csr_make),
	    cmocka_unit_test(test_ed25519_and_rsa_cas),
	    cmocka_unit_test(test_lifetime_capped_at_ca_expiry),
	    cmocka_unit_test(test_missing_attribute),
	    cmocka_unit_test(test_malformed_spki),
	    cmocka_unit_test(test_key_checks),
	    cmocka_unit_test(test_trust_without_ca),
	    cmocka_unit_test(test_trust_overlap),
	    cmocka_unit_test(test_rotate_without_overlap),
	    cmocka_unit_test(test_trust_corrupt_files),
	    cmocka_unit_test(test_rotate_arguments_and_leftovers),
	    cmocka_unit_test(test_prepare),
	    cmocka_unit_test(test_rotate_to_prepared),
	    cmocka_unit_test(test_prepare_keeps_and_checks_files),
	    cmocka_unit_test(test_trust_during_rotations),
	    cmocka_unit_test(test_csr_spki_as_received),
	    cmocka_unit_test(test_crl),
	    cmocka_unit_test(test_crl_numbers),
	    cmocka_unit_test(test_subject_upper_bound),
	    cmocka_unit_test(test_key_encipherment_rsa_only),
	};

	return cmocka_run_group_tests_name("issue", tests, NULL, NULL);
}
