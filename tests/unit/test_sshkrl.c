/* OpenSSH KRLs, checked against the real ssh-keygen -Q (ours) and -k
 * (theirs, read by ct_sshkrl_check). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ct.h"
#include "sshcert.h"
#include "sshkrl.h"
#include "ssh_tool.h"

#define OUT_MAX 8192
#define BIG_SERIAL 0x8000000000000001ull

static char dir[64];
static EVP_PKEY *ca1, *ca2, *subject;
static unsigned char *ca1_blob, *ca2_blob;
static size_t ca1_len, ca2_len;

/* The serials the tests sign certificates with, per CA. */
static const uint64_t probe[] = {1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 99, 100, 101,
    BIG_SERIAL, BIG_SERIAL - 1, UINT64_MAX};
#define N_PROBE (sizeof(probe) / sizeof(probe[0]))

/* A certificate of SUBJECT by CA with SERIAL written as DIR/NAME. */
static void
write_cert(EVP_PKEY *ca, uint64_t serial, const char *name)
{
	static const char *const principals[] = {"alice"};
	struct ct_sshcert_fields f = {0};
	struct ct_err err = {0};
	unsigned char *blob = NULL;
	size_t len = 0;
	char *line = NULL;

	f.key = subject;
	f.serial = serial;
	f.type = CT_SSHCERT_USER;
	f.key_id = "id";
	f.principals = principals;
	f.n_principals = 1;
	f.valid_after = 0;
	f.valid_before = UINT64_MAX;
	assert_int_equal(ct_sshcert_sign(&f, ca, NULL, &blob, &len, &line, &err), CT_OK);
	assert_int_equal(ssh_write_file(dir, name, line, strlen(line), 0644), 0);
	free(line);
	free(blob);
}

/* What ssh-keygen -Q -f KRL says of a certificate of CA with SERIAL: 1
 * revoked, 0 not. */
static int
keygen_revoked(const char *krl, EVP_PKEY *ca, uint64_t serial)
{
	const char *args[] = {"-Q", "-f", krl, "c-cert.pub", NULL};
	char out[OUT_MAX];
	int rc;

	write_cert(ca, serial, "c-cert.pub");
	rc = ssh_keygen_run(dir, args, 1, out, sizeof(out));
	if (rc == 1 && strstr(out, "REVOKED") != NULL)
		return 1;
	if (rc == 0 && strstr(out, ": ok") != NULL)
		return 0;
	fail_msg("ssh-keygen -Q exited %d: %s", rc, out);
	return -1;
}

static int
setup(void **state)
{
	struct ct_err err = {0};

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ct-sshkrl-XXXXXX");
	if (mkdtemp(dir) == NULL || ssh_keygen_path() == NULL)
		return -1;
	ca1 = ssh_test_keygen(SK_ED25519);
	ca2 = ssh_test_keygen(SK_P256);
	subject = ssh_test_keygen(SK_ED25519);
	if (ca1 == NULL || ca2 == NULL || subject == NULL ||
	    ct_sshcert_key_to_blob(ca1, &ca1_blob, &ca1_len, &err) != CT_OK ||
	    ct_sshcert_key_to_blob(ca2, &ca2_blob, &ca2_len, &err) != CT_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	EVP_PKEY_free(ca1);
	EVP_PKEY_free(ca2);
	EVP_PKEY_free(subject);
	free(ca1_blob);
	free(ca2_blob);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Is SERIAL of CA (blob) in SET (N)? */
static int
in_set(const uint64_t *set, size_t n, uint64_t serial)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == serial)
			return 1;
	return 0;
}

/* Our KRL for two CAs (lists, a range, a duplicate, unsorted): ssh-keygen
 * -Q and ct_sshkrl_check agree with the sets for every probe serial. */
static void
test_ours_against_keygen(void **state)
{
	static const uint64_t s1[] = {100, 5, 8, 9, 10, 11, BIG_SERIAL, 7, 5, UINT64_MAX};
	static const uint64_t s2[] = {4, 101};
	const struct ct_sshkrl_ca cas[] = {
	    {ca1_blob, ca1_len, s1, sizeof(s1) / sizeof(s1[0])}, {ca2_blob, ca2_len, s2, 2}};
	struct ct_err err = {0};
	unsigned char *krl = NULL;
	size_t len = 0, i;
	int revoked = -1;

	(void)state;
	assert_int_equal(
	    ct_sshkrl_build(cas, 2, 42, 1767225600, "group web", &krl, &len, &err), CT_OK);
	assert_memory_equal(krl, "SSHKRL\n\0", 8);
	assert_int_equal(ssh_write_file(dir, "ours.krl", krl, len, 0644), 0);
	for (i = 0; i < N_PROBE; i++) {
		assert_int_equal(
		    keygen_revoked("ours.krl", ca1, probe[i]), in_set(s1, 10, probe[i]));
		assert_int_equal(
		    keygen_revoked("ours.krl", ca2, probe[i]), in_set(s2, 2, probe[i]));
		assert_int_equal(
		    ct_sshkrl_check(krl, len, ca1_blob, ca1_len, probe[i], &revoked, &err), CT_OK);
		assert_int_equal(revoked, in_set(s1, 10, probe[i]));
		assert_int_equal(
		    ct_sshkrl_check(krl, len, ca2_blob, ca2_len, probe[i], &revoked, &err), CT_OK);
		assert_int_equal(revoked, in_set(s2, 2, probe[i]));
	}
	free(krl);
}

/* An empty KRL (no CA, or a CA with no serials) revokes nothing and
 * ssh-keygen reads it. */
static void
test_empty(void **state)
{
	const struct ct_sshkrl_ca cas[] = {{ca1_blob, ca1_len, NULL, 0}};
	struct ct_err err = {0};
	unsigned char *krl = NULL;
	size_t len = 0;
	int revoked = -1;

	(void)state;
	assert_int_equal(ct_sshkrl_build(cas, 1, 1, 0, NULL, &krl, &len, &err), CT_OK);
	assert_int_equal(ssh_write_file(dir, "empty.krl", krl, len, 0644), 0);
	assert_int_equal(keygen_revoked("empty.krl", ca1, 5), 0);
	assert_int_equal(ct_sshkrl_check(krl, len, ca1_blob, ca1_len, 5, &revoked, &err), CT_OK);
	assert_int_equal(revoked, 0);
	free(krl);
}

static size_t
get32(const unsigned char *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

/* Does a section of the KRL of LEN bytes at K end at (or the header end
 * at) AT?  (Walks a KRL known to be well formed.) */
static int
section_boundary(const unsigned char *k, size_t len, size_t at)
{
	size_t off = 8 + 4 + 8 + 8 + 8;

	off += 4 + get32(k + off); /* reserved */
	off += 4 + get32(k + off); /* comment */
	while (off < at && off + 5 <= len)
		off += 5 + get32(k + off + 1);
	return off == at;
}

/* ssh-keygen -k's KRL (a serial bitmap, lists, key ids) read by ours. */
static void
test_theirs(void **state)
{
	static const char spec[] = "serial: 5-11\nserial: 13\nserial: 15\nserial: 17\n"
	                           "serial: 100\nserial: 9223372036854775809\nid: someone\n";
	static const uint64_t revoked_set[] = {5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 100, BIG_SERIAL};
	const char *args[] = {"-k", "-f", "theirs.krl", "-s", "ca1.pub", "spec", NULL};
	struct ct_err err = {0};
	char out[OUT_MAX], *line = NULL, *krl;
	size_t len = 0, i;
	int revoked = -1;

	(void)state;
	assert_int_equal(ct_sshcert_line_format(ca1_blob, ca1_len, NULL, &line, &err), CT_OK);
	assert_int_equal(ssh_write_file(dir, "ca1.pub", line, strlen(line), 0644), 0);
	assert_int_equal(ssh_write_file(dir, "spec", spec, strlen(spec), 0644), 0);
	assert_int_equal(ssh_keygen_run(dir, args, 1, out, sizeof(out)), 0);
	krl = ssh_read_file(dir, "theirs.krl", &len);
	assert_non_null(krl);
	for (i = 0; i < N_PROBE; i++) {
		assert_int_equal(ct_sshkrl_check((unsigned char *)krl, len, ca1_blob, ca1_len,
		                     probe[i], &revoked, &err),
		    CT_OK);
		assert_int_equal(revoked, in_set(revoked_set, 12, probe[i]));
		assert_int_equal(ct_sshkrl_check((unsigned char *)krl, len, ca2_blob, ca2_len,
		                     probe[i], &revoked, &err),
		    CT_OK);
		assert_int_equal(revoked, 0);
	}
	/* every truncation is refused but those between sections */
	for (i = 0; i < len; i++) {
		ct_err_clear(&err);
		if (section_boundary((unsigned char *)krl, len, i)) {
			assert_int_equal(ct_sshkrl_check((unsigned char *)krl, i, ca1_blob, ca1_len,
			                     5, &revoked, &err),
			    CT_OK);
			continue;
		}
		if (ct_sshkrl_check(
		        (unsigned char *)krl, i, ca1_blob, ca1_len, 5, &revoked, &err) == CT_OK)
			fail_msg("a KRL cut to %zu bytes was read", i);
		assert_int_equal(strncmp(err.msg, "ssh krl: ", 9), 0);
	}
	free(krl);
	free(line);
}

/* Serial 0, a CA blob that is not a key, and a wrong magic are refused. */
static void
test_refused(void **state)
{
	static const uint64_t zero[] = {3, 0};
	static const unsigned char junk[] = {0, 0, 0, 3, 'f', 'o', 'o'};
	const struct ct_sshkrl_ca bad_serial[] = {{ca1_blob, ca1_len, zero, 2}};
	const struct ct_sshkrl_ca bad_ca[] = {{junk, sizeof(junk), zero, 1}};
	struct ct_err err = {0};
	unsigned char *krl = NULL;
	size_t len = 0;
	int revoked = -1;

	(void)state;
	assert_int_equal(ct_sshkrl_build(bad_serial, 1, 1, 0, NULL, &krl, &len, &err), CT_EINVAL);
	assert_string_equal(err.msg, "ssh krl: serial 0 cannot be revoked by serial");
	ct_err_clear(&err);
	assert_int_equal(ct_sshkrl_build(bad_ca, 1, 1, 0, NULL, &krl, &len, &err), CT_EINVAL);
	assert_int_equal(strncmp(err.msg, "ssh krl: CA key: ", 17), 0);
	ct_err_clear(&err);
	assert_int_equal(
	    ct_sshkrl_check(junk, sizeof(junk), ca1_blob, ca1_len, 1, &revoked, &err), CT_EINVAL);
	assert_int_equal(revoked, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ours_against_keygen),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_theirs),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
