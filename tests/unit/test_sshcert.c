/* OpenSSH key blobs, lines, certificates and private key files, checked
 * against the real ssh-keygen: byte for byte where the format is
 * deterministic, by ssh-keygen -L and -y for the rest. */
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

#include "ct.h"
#include "sshcert.h"
#include "sshkey.h"
#include "ssh_tool.h"

#define VALID_AFTER 1767225600u /* 2026-01-01T00:00:00Z */
#define VALID_BEFORE 1798761600u /* 2027-01-01T00:00:00Z */
#define SERIAL "12345678901234567"
#define KEY_ID "certtoken:alice:web:01AB"
#define OUT_MAX 65536

static char dir[64];
static EVP_PKEY *keys[SK_N];
static const char *const key_names[SK_N] = {"ed25519", "p256", "p384", "p521", "rsa"};

static const char *const principals[] = {"alice", "bob"};
static const struct ct_sshcert_opt options[] = {
    {"source-address", "10.0.0.0/8,127.0.0.1", NULL, 0},
    {"force-command", "/bin/true", NULL, 0},
};
static const struct ct_sshcert_opt extensions[] = {
    {"zz@example.com", "v", NULL, 0},
    {"permit-pty", NULL, NULL, 0},
    {"permit-X11-forwarding", NULL, NULL, 0},
    {"permit-port-forwarding", NULL, NULL, 0},
};
/* The same fields for ssh-keygen -s (after -s CA). */
static const char *const keygen_fields[] = {"-I", KEY_ID, "-n", "alice,bob", "-V",
    "20260101000000Z:20270101000000Z", "-z", SERIAL, "-O", "clear", "-O", "force-command=/bin/true",
    "-O", "source-address=10.0.0.0/8,127.0.0.1", "-O", "permit-pty", "-O", "permit-X11-forwarding",
    "-O", "permit-port-forwarding", "-O", "extension:zz@example.com=v"};
#define N_KEYGEN_FIELDS (sizeof(keygen_fields) / sizeof(keygen_fields[0]))

static struct ct_sshcert_fields
test_fields(EVP_PKEY *subject, const unsigned char *nonce, size_t nonce_len)
{
	struct ct_sshcert_fields f = {0};

	f.key = subject;
	f.serial = strtoull(SERIAL, NULL, 10);
	f.type = CT_SSHCERT_USER;
	f.key_id = KEY_ID;
	f.principals = principals;
	f.n_principals = 2;
	f.valid_after = VALID_AFTER;
	f.valid_before = VALID_BEFORE;
	f.options = options;
	f.n_options = 2;
	f.extensions = extensions;
	f.n_extensions = 4;
	f.nonce = nonce;
	f.nonce_len = nonce_len;
	return f;
}

/* Write KEY as NAME (our openssh-key-v1 file, 0600) and NAME.pub (our line,
 * comment "u"). */
static void
write_key(const char *name, EVP_PKEY *key)
{
	struct ct_err err = {0};
	char *pem = NULL, *line = NULL, pub[64];
	unsigned char *blob = NULL;
	size_t len = 0;

	assert_int_equal(ct_sshcert_private_key(key, "u", &pem, &len, &err), CT_OK);
	assert_int_equal(len, strlen(pem));
	assert_int_equal(ssh_write_file(dir, name, pem, len, 0600), 0);
	assert_int_equal(ct_sshcert_key_to_blob(key, &blob, &len, &err), CT_OK);
	assert_int_equal(ct_sshcert_line_format(blob, len, "u", &line, &err), CT_OK);
	snprintf(pub, sizeof(pub), "%s.pub", name);
	assert_int_equal(ssh_write_file(dir, pub, line, strlen(line), 0644), 0);
	ct_free_secret(pem);
	free(line);
	free(blob);
}

static int
setup(void **state)
{
	size_t i;

	(void)state;
	setenv("TZ", "UTC", 1);
	snprintf(dir, sizeof(dir), "/tmp/ct-sshcert-XXXXXX");
	if (mkdtemp(dir) == NULL || ssh_keygen_path() == NULL)
		return -1;
	for (i = 0; i < SK_N; i++) {
		keys[i] = ssh_test_keygen(i);
		if (keys[i] == NULL)
			return -1;
		write_key(key_names[i], keys[i]);
	}
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	size_t i;

	(void)state;
	for (i = 0; i < SK_N; i++)
		EVP_PKEY_free(keys[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The blob of the line in DIR/NAME. */
static unsigned char *
read_line_blob(const char *name, size_t *len)
{
	struct ct_err err = {0};
	unsigned char *blob = NULL;
	size_t n = 0;
	char *text = ssh_read_file(dir, name, &n);

	assert_non_null(text);
	assert_int_equal(ct_sshcert_line_parse(text, n, &blob, len, NULL, &err), CT_OK);
	free(text);
	return blob;
}

/* ssh-keygen -s CA [our fields] SUBJECT.pub: the certificate's blob. */
static unsigned char *
keygen_sign(enum ssh_test_key ca, enum ssh_test_key subject, const char *sig_alg, size_t *len)
{
	const char *args[40];
	char out[OUT_MAX], pub[64], cert[64];
	size_t i, n = 0;

	args[n++] = "-q";
	args[n++] = "-s";
	args[n++] = key_names[ca];
	if (sig_alg != NULL) {
		args[n++] = "-t";
		args[n++] = sig_alg;
	}
	for (i = 0; i < N_KEYGEN_FIELDS; i++)
		args[n++] = keygen_fields[i];
	snprintf(pub, sizeof(pub), "%s.pub", key_names[subject]);
	args[n++] = pub;
	args[n] = NULL;
	assert_int_equal(ssh_keygen_run(dir, args, 1, out, sizeof(out)), 0);
	snprintf(cert, sizeof(cert), "%s-cert.pub", key_names[subject]);
	return read_line_blob(cert, len);
}

/* ssh-keygen -y reads each of our private key files and prints the public
 * key we encode; our fingerprint is ssh-keygen -l's; lines go both ways. */
static void
test_keys_against_keygen(void **state)
{
	struct ct_err err = {0};
	char out[OUT_MAX], fp[64], *line = NULL;
	unsigned char *blob = NULL, *back = NULL;
	size_t i, len = 0, back_len = 0;
	EVP_PKEY *key = NULL;

	(void)state;
	for (i = 0; i < SK_N; i++) {
		const char *y[] = {"-y", "-f", key_names[i], NULL}, *l[] = {"-l", "-f", NULL, NULL};
		char pub[64];

		assert_int_equal(ct_sshcert_key_to_blob(keys[i], &blob, &len, &err), CT_OK);
		assert_int_equal(ct_sshcert_line_format(blob, len, NULL, &line, &err), CT_OK);
		assert_int_equal(ssh_keygen_run(dir, y, 1, out, sizeof(out)), 0);
		/* ssh-keygen -y prints "TYPE BASE64 u" */
		assert_int_equal(strncmp(out, line, strlen(line) - 1), 0);
		assert_string_equal(out + strlen(line) - 1, " u\n");
		assert_int_equal(
		    ct_sshcert_line_parse(out, strlen(out), &back, &back_len, NULL, &err), CT_OK);
		assert_int_equal(back_len, len);
		assert_memory_equal(back, blob, len);
		assert_int_equal(ct_sshcert_key_from_blob(back, back_len, &key, &err), CT_OK);
		assert_int_equal(EVP_PKEY_eq(key, keys[i]), 1);
		assert_string_equal(ct_sshcert_key_type(key), strtok(line, " "));
		snprintf(pub, sizeof(pub), "%s.pub", key_names[i]);
		l[2] = pub;
		assert_int_equal(ssh_keygen_run(dir, l, 1, out, sizeof(out)), 0);
		assert_int_equal(ct_sshcert_fingerprint(blob, len, fp, sizeof(fp), &err), CT_OK);
		assert_non_null(strstr(out, fp));
		EVP_PKEY_free(key);
		free(line);
		free(blob);
		free(back);
	}
}

/* Signed by an Ed25519 or RSA (PKCS#1 v1.5) CA with ssh-keygen's nonce, our
 * certificate is ssh-keygen's, byte for byte, for each subject key type;
 * with an ECDSA CA everything up to the (randomised) signature is. */
static void
test_sign_identical(void **state)
{
	static const enum ssh_test_key cas[] = {SK_ED25519, SK_RSA, SK_P256};
	static const enum ssh_test_key subjects[] = {SK_ED25519, SK_P256, SK_P384, SK_P521, SK_RSA};
	struct ct_err err = {0};
	struct ct_sshcert theirs, ours;
	struct ct_sshcert_fields f;
	unsigned char *kg, *blob = NULL;
	size_t i, j, kg_len = 0, len = 0;
	char *line = NULL, *kg_line;

	(void)state;
	for (i = 0; i < sizeof(cas) / sizeof(cas[0]); i++)
		for (j = 0; j < sizeof(subjects) / sizeof(subjects[0]); j++) {
			char name[64];

			kg = keygen_sign(cas[i], subjects[j], NULL, &kg_len);
			assert_int_equal(ct_sshcert_parse(kg, kg_len, &theirs, &err), CT_OK);
			assert_int_equal(theirs.nonce_len, 32);
			f = test_fields(keys[subjects[j]], theirs.nonce, theirs.nonce_len);
			assert_int_equal(
			    ct_sshcert_sign(&f, keys[cas[i]], "u", &blob, &len, &line, &err),
			    CT_OK);
			assert_int_equal(ct_sshcert_parse(blob, len, &ours, &err), CT_OK);
			assert_int_equal(ct_sshcert_verify(&ours, &err), CT_OK);
			assert_int_equal(ours.signed_len, theirs.signed_len);
			assert_memory_equal(blob, kg, theirs.signed_len);
			if (cas[i] != SK_P256) {
				assert_int_equal(len, kg_len);
				assert_memory_equal(blob, kg, len);
				snprintf(name, sizeof(name), "%s-cert.pub", key_names[subjects[j]]);
				kg_line = ssh_read_file(dir, name, NULL);
				assert_string_equal(line, kg_line);
				free(kg_line);
			}
			ct_sshcert_free(&theirs);
			ct_sshcert_free(&ours);
			free(line);
			free(blob);
			free(kg);
		}
}

/* What ssh-keygen -L prints for our certificate (random nonce, ECDSA CA,
 * RSA subject), field by field. */
static void
test_keygen_lists_ours(void **state)
{
	static const char *const expect[] = {
	    "        Type: ssh-rsa-cert-v01@openssh.com user certificate\n",
	    "        Key ID: \"" KEY_ID "\"\n",
	    "        Serial: " SERIAL "\n",
	    "        Valid: from 2026-01-01T00:00:00 to 2027-01-01T00:00:00\n",
	    "        Principals: \n                alice\n                bob\n"
	    "        Critical Options: \n"
	    "                force-command /bin/true\n"
	    "                source-address 10.0.0.0/8,127.0.0.1\n"
	    "        Extensions: \n"
	    "                permit-X11-forwarding\n"
	    "                permit-port-forwarding\n"
	    "                permit-pty\n"
	    "                zz@example.com UNKNOWN OPTION: 0000000176 (len 5)\n",
	};
	const char *args[] = {"-L", "-f", "ours-cert.pub", NULL};
	struct ct_err err = {0};
	struct ct_sshcert_fields f = test_fields(keys[SK_RSA], NULL, 0);
	struct ct_sshcert c;
	unsigned char *blob = NULL;
	size_t len = 0, i;
	char *line = NULL, out[OUT_MAX], want[256], fp[64];

	(void)state;
	assert_int_equal(ct_sshcert_sign(&f, keys[SK_P256], NULL, &blob, &len, &line, &err), CT_OK);
	assert_int_equal(ssh_write_file(dir, "ours-cert.pub", line, strlen(line), 0644), 0);
	assert_int_equal(ssh_keygen_run(dir, args, 1, out, sizeof(out)), 0);
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		if (strstr(out, expect[i]) == NULL)
			fail_msg("ssh-keygen -L lacks \"%s\" in:\n%s", expect[i], out);
	assert_int_equal(ct_sshcert_parse(blob, len, &c, &err), CT_OK);
	assert_int_equal(c.nonce_len, CT_SSHCERT_NONCE_LEN);
	assert_int_equal(
	    ct_sshcert_fingerprint(c.key_blob, c.key_blob_len, fp, sizeof(fp), &err), CT_OK);
	snprintf(want, sizeof(want), "        Public key: RSA-CERT %s\n", fp);
	assert_non_null(strstr(out, want));
	assert_int_equal(
	    ct_sshcert_fingerprint(c.ca_blob, c.ca_blob_len, fp, sizeof(fp), &err), CT_OK);
	snprintf(
	    want, sizeof(want), "        Signing CA: ECDSA %s (using ecdsa-sha2-nistp256)\n", fp);
	assert_non_null(strstr(out, want));
	ct_sshcert_free(&c);
	free(line);
	free(blob);
}

/* ssh-keygen's certificates (Ed25519, ECDSA and RSA subjects; Ed25519 and
 * ECDSA CAs) parse into their fields and verify. */
static void
test_parse_keygen(void **state)
{
	static const enum ssh_test_key cas[] = {SK_ED25519, SK_P256};
	static const enum ssh_test_key subjects[] = {SK_ED25519, SK_P256, SK_RSA};
	static const char *const known[] = {"force-command", "source-address"};
	struct ct_err err = {0};
	struct ct_sshcert c;
	unsigned char *kg, *blob = NULL, *ca = NULL;
	size_t i, j, kg_len = 0, len = 0, ca_len = 0;
	int found = 0;

	(void)state;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++) {
			kg = keygen_sign(cas[i], subjects[j], NULL, &kg_len);
			assert_int_equal(ct_sshcert_parse(kg, kg_len, &c, &err), CT_OK);
			assert_int_equal(ct_sshcert_verify(&c, &err), CT_OK);
			assert_int_equal(
			    ct_sshcert_key_to_blob(keys[subjects[j]], &blob, &len, &err), CT_OK);
			assert_int_equal(c.key_blob_len, len);
			assert_memory_equal(c.key_blob, blob, len);
			assert_int_equal(
			    ct_sshcert_key_to_blob(keys[cas[i]], &ca, &ca_len, &err), CT_OK);
			assert_int_equal(c.ca_blob_len, ca_len);
			assert_memory_equal(c.ca_blob, ca, ca_len);
			assert_int_equal(c.serial, strtoull(SERIAL, NULL, 10));
			assert_int_equal(c.type, CT_SSHCERT_USER);
			assert_string_equal(c.key_id, KEY_ID);
			assert_int_equal(c.n_principals, 2);
			assert_string_equal(c.principals[0], "alice");
			assert_string_equal(c.principals[1], "bob");
			assert_int_equal(c.valid_after, VALID_AFTER);
			assert_int_equal(c.valid_before, VALID_BEFORE);
			assert_int_equal(c.n_options, 2);
			assert_string_equal(c.options[0].name, "force-command");
			assert_string_equal(c.options[0].value, "/bin/true");
			assert_string_equal(
			    ct_sshcert_opt_get(c.options, c.n_options, "source-address", NULL),
			    "10.0.0.0/8,127.0.0.1");
			assert_null(ct_sshcert_unknown_option(&c, known, 2));
			assert_int_equal(c.n_extensions, 4);
			assert_null(
			    ct_sshcert_opt_get(c.extensions, c.n_extensions, "permit-pty", &found));
			assert_true(found);
			assert_null(ct_sshcert_opt_get(
			    c.extensions, c.n_extensions, "permit-agent-forwarding", &found));
			assert_false(found);
			assert_string_equal(c.extensions[3].name, "zz@example.com");
			assert_string_equal(c.extensions[3].value, "v");
			ct_sshcert_free(&c);
			free(kg);
			free(blob);
			free(ca);
		}
}

/* Each single flipped bit of an ssh-keygen certificate (Ed25519 and ECDSA
 * CAs) makes it fail to parse or to verify. */
static void
test_tampered(void **state)
{
	static const enum ssh_test_key cas[] = {SK_ED25519, SK_P256};
	struct ct_err err = {0};
	struct ct_sshcert c;
	unsigned char *kg;
	size_t i, k, len = 0;
	int rc;

	(void)state;
	for (k = 0; k < 2; k++) {
		kg = keygen_sign(cas[k], SK_ED25519, NULL, &len);
		for (i = 0; i < len; i++) {
			kg[i] ^= 0x01;
			ct_err_clear(&err);
			rc = ct_sshcert_parse(kg, len, &c, &err);
			if (rc == CT_OK) {
				rc = ct_sshcert_verify(&c, &err);
				ct_sshcert_free(&c);
			}
			if (rc == CT_OK)
				fail_msg("byte %zu flipped still verifies", i);
			assert_int_equal(strncmp(err.msg, "ssh ", 4), 0);
			kg[i] ^= 0x01;
		}
		assert_int_equal(ct_sshcert_parse(kg, len, &c, &err), CT_OK);
		/* a signature by another CA over the same bytes */
		ct_sshcert_free(&c);
		free(kg);
	}
}

/* Every truncation, a trailing byte, an oversized length and an oversized
 * blob are refused with a message naming the field. */
static void
test_truncated_oversized(void **state)
{
	struct ct_err err = {0};
	struct ct_sshcert c;
	struct ct_sshcert_fields f = test_fields(keys[SK_ED25519], NULL, 0);
	unsigned char *blob = NULL, *big;
	size_t i, len = 0, off;

	(void)state;
	assert_int_equal(
	    ct_sshcert_sign(&f, keys[SK_ED25519], NULL, &blob, &len, NULL, &err), CT_OK);
	for (i = 0; i < len; i++) {
		ct_err_clear(&err);
		assert_int_equal(ct_sshcert_parse(blob, i, &c, &err), CT_EINVAL);
		assert_int_equal(strncmp(err.msg, "ssh certificate: ", 17), 0);
		assert_null(c.blob);
	}
	big = malloc(CT_SSHCERT_BLOB_MAX + 1);
	assert_non_null(big);
	memcpy(big, blob, len);
	big[len] = 0;
	ct_err_clear(&err);
	assert_int_equal(ct_sshcert_parse(big, len + 1, &c, &err), CT_EINVAL);
	assert_string_equal(err.msg, "ssh certificate: signature: 1 bytes after the end");
	ct_err_clear(&err);
	assert_int_equal(ct_sshcert_parse(big, CT_SSHCERT_BLOB_MAX + 1, &c, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "over the limit"));
	/* principals follow the key id: "certtoken:..." then its length */
	off = (size_t)((unsigned char *)memmem(big, len, KEY_ID, strlen(KEY_ID)) - big) +
	    strlen(KEY_ID);
	big[off] = 0;
	big[off + 1] = 0x01;
	big[off + 2] = 0x11;
	big[off + 3] = 0x70; /* 70000 */
	ct_err_clear(&err);
	assert_int_equal(ct_sshcert_parse(big, len, &c, &err), CT_EINVAL);
	assert_non_null(
	    strstr(err.msg, "ssh certificate: principals: length 70000 exceeds the blob"));
	free(big);
	free(blob);
}

/* Options: a name twice is refused when signing; parsing refuses
 * unsorted options and keeps an unknown critical option for the caller. */
static void
test_options(void **state)
{
	static const char *const known[] = {"force-command", "source-address"};
	static const struct ct_sshcert_opt twice[] = {
	    {"permit-pty", NULL, NULL, 0}, {"permit-pty", NULL, NULL, 0}};
	static const struct ct_sshcert_opt odd[] = {
	    {"verify-required", NULL, NULL, 0}, {"force-command", "/bin/sh", NULL, 0}};
	struct ct_err err = {0};
	struct ct_sshcert_fields f = test_fields(keys[SK_P256], NULL, 0);
	struct ct_sshcert c;
	unsigned char *blob = NULL, *p;
	size_t len = 0;

	(void)state;
	f.extensions = twice;
	f.n_extensions = 2;
	assert_int_equal(
	    ct_sshcert_sign(&f, keys[SK_ED25519], NULL, &blob, &len, NULL, &err), CT_EINVAL);
	assert_string_equal(err.msg, "ssh certificate: extensions: \"permit-pty\" given twice");
	f.extensions = NULL;
	f.n_extensions = 0;
	f.options = odd;
	ct_err_clear(&err);
	assert_int_equal(
	    ct_sshcert_sign(&f, keys[SK_ED25519], NULL, &blob, &len, NULL, &err), CT_OK);
	assert_int_equal(ct_sshcert_parse(blob, len, &c, &err), CT_OK);
	assert_int_equal(c.n_options, 2);
	assert_string_equal(c.options[1].name, "verify-required");
	assert_null(c.options[1].value);
	assert_int_equal(c.options[1].data_len, 0);
	assert_string_equal(ct_sshcert_unknown_option(&c, known, 2), "verify-required");
	ct_sshcert_free(&c);
	/* swap the two names' first letters: "vorce-command" after "ferify-required" */
	p = memmem(blob, len, "force-command", 13);
	assert_non_null(p);
	*p = 'v';
	p = memmem(blob, len, "verify-required", 15);
	*p = 'f';
	ct_err_clear(&err);
	assert_int_equal(ct_sshcert_parse(blob, len, &c, &err), CT_EINVAL);
	assert_string_equal(
	    err.msg, "ssh certificate: critical options: not sorted by name, or a name twice");
	free(blob);
}

/* Validity with skew, type and principals. */
static void
test_check(void **state)
{
	const char *args[] = {"-L", "-f", "host-cert.pub", NULL};
	char out[OUT_MAX], *line = NULL;
	struct ct_err err = {0};
	struct ct_sshcert_fields f = test_fields(keys[SK_ED25519], NULL, 0);
	struct ct_sshcert c;
	unsigned char *blob = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ct_sshcert_sign(&f, keys[SK_P256], NULL, &blob, &len, NULL, &err), CT_OK);
	assert_int_equal(ct_sshcert_parse(blob, len, &c, &err), CT_OK);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_USER, "alice", VALID_AFTER, 0, &err), CT_OK);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_USER, "bob", VALID_BEFORE - 1, 0, &err), CT_OK);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_USER, NULL, VALID_AFTER - 60, 60, &err), CT_OK);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_USER, "alice", VALID_BEFORE + 59, 60, &err), CT_OK);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_USER, "alice", VALID_AFTER - 61, 60, &err), CT_EPERM);
	assert_string_equal(err.msg, "ssh certificate: not valid before 2026-01-01T00:00:00Z");
	ct_err_clear(&err);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_USER, "alice", VALID_BEFORE, 0, &err), CT_EPERM);
	assert_string_equal(err.msg, "ssh certificate: expired at 2027-01-01T00:00:00Z");
	ct_err_clear(&err);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_USER, "alic", VALID_AFTER, 0, &err), CT_EPERM);
	assert_string_equal(err.msg, "ssh certificate: \"alic\" is not among its 2 principals");
	ct_err_clear(&err);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_HOST, "alice", VALID_AFTER, 0, &err), CT_EPERM);
	ct_sshcert_free(&c);
	free(blob);
	/* an empty validity window is refused */
	ct_err_clear(&err);
	f.valid_before = f.valid_after;
	assert_int_equal(
	    ct_sshcert_sign(&f, keys[SK_P256], NULL, &blob, &len, NULL, &err), CT_EINVAL);
	assert_string_equal(err.msg, "ssh certificate: valid after is not before valid before");
	ct_err_clear(&err);
	f.valid_before = VALID_BEFORE;
	/* a host certificate with no principals: matches nobody; ssh-keygen -L
	 * lists it as a host certificate */
	f.n_principals = 0;
	f.type = CT_SSHCERT_HOST;
	f.options = NULL;
	f.n_options = 0;
	f.extensions = NULL;
	f.n_extensions = 0;
	assert_int_equal(ct_sshcert_sign(&f, keys[SK_P256], NULL, &blob, &len, &line, &err), CT_OK);
	assert_int_equal(ssh_write_file(dir, "host-cert.pub", line, strlen(line), 0644), 0);
	assert_int_equal(ssh_keygen_run(dir, args, 1, out, sizeof(out)), 0);
	assert_non_null(
	    strstr(out, "        Type: ssh-ed25519-cert-v01@openssh.com host certificate\n"));
	assert_non_null(strstr(out, "        Principals: (none)\n"));
	assert_non_null(strstr(out, "        Critical Options: (none)\n"));
	assert_non_null(strstr(out, "        Extensions: (none)\n"));
	free(line);
	assert_int_equal(ct_sshcert_parse(blob, len, &c, &err), CT_OK);
	assert_int_equal(c.type, CT_SSHCERT_HOST);
	assert_int_equal(ct_sshcert_check(&c, CT_SSHCERT_HOST, NULL, VALID_AFTER, 0, &err), CT_OK);
	assert_int_equal(
	    ct_sshcert_check(&c, CT_SSHCERT_HOST, "alice", VALID_AFTER, 0, &err), CT_EPERM);
	ct_sshcert_free(&c);
	free(blob);
}

/* A SHA-1 "ssh-rsa" signature by an RSA CA is refused; rsa-sha2-256 is
 * accepted. */
static void
test_rsa_signature_algorithms(void **state)
{
	struct ct_err err = {0};
	struct ct_sshcert c;
	unsigned char *kg;
	size_t len = 0;

	(void)state;
	kg = keygen_sign(SK_RSA, SK_ED25519, "ssh-rsa", &len);
	assert_int_equal(ct_sshcert_parse(kg, len, &c, &err), CT_OK);
	assert_int_equal(ct_sshcert_verify(&c, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "algorithm \"ssh-rsa\" not accepted"));
	ct_sshcert_free(&c);
	free(kg);
	kg = keygen_sign(SK_RSA, SK_ED25519, "rsa-sha2-256", &len);
	assert_int_equal(ct_sshcert_parse(kg, len, &c, &err), CT_OK);
	assert_int_equal(ct_sshcert_verify(&c, &err), CT_OK);
	ct_sshcert_free(&c);
	free(kg);
}

/* ssh-add loads our private key file and our certificate beside it (as
 * certtoken-enroll will write them) into a real ssh-agent, with a
 * lifetime, and ssh-add -l lists both. */
static void
test_agent_loads_ours(void **state)
{
	const char *add[] = {"-t", "600", "agent", NULL}, *list[] = {"-l", NULL};
	struct ct_err err = {0};
	struct ct_sshcert_fields f = test_fields(keys[SK_P256], NULL, 0);
	char sock[128], out[OUT_MAX], added[1024], fp[64], *line = NULL;
	unsigned char *blob = NULL, *key = NULL;
	size_t len = 0, key_len = 0;
	const char *agent[] = {"-D", "-a", sock, NULL};
	struct stat st;
	int fd = -1, i, rc, rc_list;
	pid_t pid;

	(void)state;
	f.valid_before = UINT64_MAX; /* ssh-add refuses an expired certificate */
	write_key("agent", keys[SK_P256]);
	assert_int_equal(
	    ct_sshcert_sign(&f, keys[SK_ED25519], "u", &blob, &len, &line, &err), CT_OK);
	assert_int_equal(ssh_write_file(dir, "agent-cert.pub", line, strlen(line), 0644), 0);
	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	pid = ssh_tool_start(dir, "ssh-agent", agent, 0, &fd);
	assert_true(pid > 0);
	for (i = 0; i < 500 && stat(sock, &st) != 0; i++)
		usleep(10000);
	setenv("SSH_AUTH_SOCK", sock, 1);
	rc = ssh_tool_run(dir, "ssh-add", add, 1, added, sizeof(added));
	rc_list = ssh_tool_run(dir, "ssh-add", list, 1, out, sizeof(out));
	unsetenv("SSH_AUTH_SOCK");
	kill(pid, SIGTERM); /* before any assertion can leave */
	waitpid(pid, NULL, 0);
	close(fd);
	if (rc != 0 || strstr(added, "Certificate added: agent-cert.pub") == NULL)
		fail_msg("ssh-add exited %d: %s", rc, added);
	assert_int_equal(rc_list, 0);
	assert_int_equal(ct_sshcert_key_to_blob(keys[SK_P256], &key, &key_len, &err), CT_OK);
	assert_int_equal(ct_sshcert_fingerprint(key, key_len, fp, sizeof(fp), &err), CT_OK);
	assert_non_null(strstr(out, fp));
	assert_non_null(strstr(out, " u (ECDSA)\n"));
	assert_non_null(strstr(out, " u (ECDSA-CERT)\n"));
	free(key);
	free(line);
	free(blob);
}

/* Lines that are not "TYPE BASE64 [COMMENT]" of a known type are refused. */
static void
test_bad_lines(void **state)
{
	static const char *const bad[] = {
	    "",
	    "ssh-ed25519",
	    "ssh-ed25519 AAAA!AAA",
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
	    "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==",
	    "ssh-dss AAAAB3NzaC1kc3M=",
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\ncomment",
	};
	struct ct_err err = {0};
	unsigned char *blob = NULL;
	size_t len = 0, i;
	EVP_PKEY *key = NULL;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ct_err_clear(&err);
		assert_int_equal(
		    ct_sshcert_line_parse(bad[i], strlen(bad[i]), &blob, &len, NULL, &err),
		    CT_EINVAL);
		assert_int_equal(strncmp(err.msg, "ssh key line: ", 14), 0);
	}
	ct_err_clear(&err);
	assert_int_equal(ct_sshcert_key_from_blob(
	                     (const unsigned char *)"\0\0\0\x0bssh-ed25519", 15, &key, &err),
	    CT_EINVAL);
	assert_non_null(strstr(err.msg, "ssh key: ed25519 key: truncated"));
	assert_null(key);
}

/* Append the SSH string of the N bytes at S to B at *LEN. */
static void
put_string(unsigned char *b, size_t *len, const void *s, size_t n)
{
	b[(*len)++] = (unsigned char)(n >> 24);
	b[(*len)++] = (unsigned char)(n >> 16);
	b[(*len)++] = (unsigned char)(n >> 8);
	b[(*len)++] = (unsigned char)n;
	memcpy(b + *len, s, n);
	*len += n;
}

/* Key fields that are well framed but wrong (an Ed25519 key of 31 bytes, a
 * compressed ECDSA point, an even RSA exponent) fail with the reader where
 * it was: consume or fail. */
static void
test_key_read_consume_or_fail(void **state)
{
	static const char *const types[] = {"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"};
	unsigned char b[512], field[300];
	struct ct_err err = {0};
	struct ct_sshr r;
	size_t len, i;

	(void)state;
	memset(field, 0x02, sizeof(field));
	for (i = 0; i < 3; i++) {
		len = 0;
		if (i == 0)
			put_string(b, &len, field, 31);
		if (i == 1) {
			put_string(b, &len, "nistp256", 8);
			put_string(b, &len, field, 65);
		}
		if (i == 2) {
			put_string(b, &len, field, 1);
			field[0] = 0x7f;
			put_string(b, &len, field, 257);
		}
		ct_sshr_init(&r, b, len, "key");
		ct_err_clear(&err);
		assert_int_equal(
		    ct_sshkey_read(&r,
		        ct_sshkt_by_name((const unsigned char *)types[i], strlen(types[i]), 0),
		        NULL, &err),
		    CT_EINVAL);
		if (r.p != b || r.left != len)
			fail_msg("%s: the reader moved on (%zu of %zu bytes left): %s", types[i],
			    r.left, len, err.msg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_against_keygen),
	    cmocka_unit_test(test_sign_identical),
	    cmocka_unit_test(test_keygen_lists_ours),
	    cmocka_unit_test(test_parse_keygen),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_truncated_oversized),
	    cmocka_unit_test(test_options),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_rsa_signature_algorithms),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_key_read_consume_or_fail),
	    cmocka_unit_test(test_agent_loads_ours),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
