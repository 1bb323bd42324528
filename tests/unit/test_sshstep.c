/* The SSH certificate step (lib/sshlogin): the parse of SSH_AUTH_INFO_0
 * (several methods, several lines, garbage) and the checks, with
 * certificates made by the real `ssh-keygen -s` with the group's SSH CA,
 * another group's, and a self-made one, against a real files store. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certindex.h"
#include "conf.h"
#include "issue.h"
#include "sshca.h"
#include "sshcert.h"
#include "sshlogin.h"
#include "store.h"
#include "tokens.h"

#include "ssh_tool.h"

#define XSERIAL "0A1B2C3D"
#define SSERIAL 4242
#define HOUR 3600

struct fixture {
	char dir[32];
	struct ct_config *cfg;
	struct ct_store *st;
	const struct ct_target *t;
	time_t now;
};

static const char conf_fmt[] = "store: { path = \"%s/store\"; };\n"
                               "access_groups = ( { name = \"g\"; }, { name = \"h\"; } );\n"
                               "targets = ( { name = \"t\"; access_group = \"g\";\n"
                               "  subject = \"CN=%%unix_account%%\"; ssh = true; },\n"
                               "  { name = \"t2\"; access_group = \"g\";\n"
                               "  subject = \"CN=%%unix_account%%\"; ssh = { force_command = "
                               "\"/bin/true\"; }; } );\n";

/* DIR/NAME: the group's SSH CA key as an openssh-key-v1 file for ssh-keygen -s. */
static void
write_ca(struct fixture *f, const char *group, const char *name)
{
	struct ct_err err = {0};
	EVP_PKEY *ca = NULL;
	char *pem = NULL;
	size_t len = 0;

	if (ct_sshca_load(f->st, group, &ca, &err) != CT_OK)
		fail_msg("ssh ca: %s", err.msg);
	assert_int_equal(ct_sshcert_private_key(ca, "ca", &pem, &len, &err), CT_OK);
	assert_int_equal(ssh_write_file(f->dir, name, pem, len, 0600), 0);
	ct_free_secret(pem);
	EVP_PKEY_free(ca);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *kg[] = {"-q", "-t", "ed25519", "-N", "", "-C", "", "-f", "user", NULL};
	const char *sk[] = {"-q", "-t", "ed25519", "-N", "", "-C", "", "-f", "selfca", NULL};
	struct ct_err err = {0};
	char text[1024], out[256];

	if (ssh_keygen_path() == NULL)
		skip();
	strcpy(f->dir, "/tmp/ct-sshstep-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof(text), conf_fmt, f->dir);
	if (ct_config_load_string(text, "t", &f->cfg, NULL, &err) != CT_OK)
		fail_msg("config: %s", err.msg);
	assert_int_equal(
	    ct_store_open(f->cfg, CT_STORE_CREATE | CT_STORE_TOKENS, &f->st, &err), CT_OK);
	f->now = time(NULL);
	assert_int_equal(ct_ca_init(f->st, &f->cfg->groups[0], f->now - 60, &err), CT_OK);
	assert_int_equal(ct_ca_init(f->st, &f->cfg->groups[1], f->now - 60, &err), CT_OK);
	f->t = ct_config_target(f->cfg, "t");
	write_ca(f, "g", "ca_g");
	write_ca(f, "h", "ca_h");
	assert_int_equal(ssh_keygen_run(f->dir, kg, 1, out, sizeof(out)), 0);
	assert_int_equal(ssh_keygen_run(f->dir, sk, 1, out, sizeof(out)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[64];

	if (f == NULL)
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	ct_store_close(f->st);
	ct_config_free(f->cfg);
	free(f);
	return 0;
}

/* ssh-keygen -s CA -I ID -n PRINCIPALS -z SERIAL -V VALIDITY [EXTRA...]
 * user.pub: the "publickey TYPE BASE64" line sshd would record, in a new
 * string. */
static char *
sign(struct fixture *f, const char *ca, const char *id, const char *principals, uint64_t serial,
    const char *validity, const char *extra)
{
	char z[32], out[1024], *cert, *line, *nl;
	const char *args[24] = {
	    "-q", "-s", ca, "-I", id, "-n", principals, "-z", z, "-V", validity};
	size_t n = 11;

	snprintf(z, sizeof(z), "%llu", (unsigned long long)serial);
	if (extra != NULL && strcmp(extra, "-h") == 0)
		args[n++] = "-h";
	else if (extra != NULL) {
		args[n++] = "-O";
		args[n++] = extra;
	}
	args[n++] = "user.pub";
	args[n] = NULL;
	if (ssh_keygen_run(f->dir, args, 1, out, sizeof(out)) != 0)
		fail_msg("ssh-keygen -s: %s", out);
	assert_non_null(cert = ssh_read_file(f->dir, "user-cert.pub", NULL));
	if ((nl = strchr(cert, '\n')) != NULL)
		*nl = '\0';
	assert_non_null(line = malloc(strlen(cert) + 16));
	sprintf(line, "publickey %s", cert);
	free(cert);
	return line;
}

/* The usual certificate: group g's CA, key id for alice, principal alice. */
static char *
good(struct fixture *f)
{
	return sign(f, "ca_g", "certtoken:alice:t:" XSERIAL, "alice", SSERIAL, "-5m:+1h", NULL);
}

/* An index entry for XSERIAL: alice's, target TARGET, group G, SSH serial
 * SSER, token TOKEN. */
static void
index_add_for(
    struct fixture *f, const char *target, const char *group, uint64_t sser, const char *token)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = X509_new();
	unsigned char *der = NULL;
	struct ct_err err = {0};
	int len;

	assert_non_null(k);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x0A1B2C3D);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), HOUR);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, NULL) > 0);
	assert_true((len = i2d_X509(x, &der)) > 0);
	if (ct_certindex_add_ssh(f->st, XSERIAL, "alice", target, group, token, sser, der,
	        (size_t)len, &err) != CT_OK)
		fail_msg("index: %s", err.msg);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* The same for target t. */
static void
index_add(struct fixture *f, const char *group, uint64_t sser, const char *token)
{
	index_add_for(f, "t", group, sser, token);
}

/* alice's token TOK, enabled or not. */
static void
put_token(struct fixture *f, const char *tok, int active)
{
	struct ct_user_tokens u;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};

	memset(&u, 0, sizeof(u));
	snprintf(u.tok[0].serial, sizeof(u.tok[0].serial), "%s", tok);
	u.tok[0].type = CT_TOKEN_TOTP;
	u.tok[0].active = active;
	u.tok[0].algo = CT_OTP_SHA1;
	u.tok[0].digits = 6;
	u.tok[0].period = 30;
	u.tok[0].secret_len = 20;
	u.tok[0].last_step = -1;
	strcpy(u.tok[0].rollout_state, "enrolled");
	u.tok[0].created = f->now;
	u.n = 1;
	assert_int_equal(ct_tokens_begin(f->st, "alice", &tx, &err), CT_OK);
	if (ct_tokens_write(tx, &u, &err) != CT_OK)
		fail_msg("tokens: %s", err.msg);
	ct_tokens_end(tx);
	ct_user_tokens_clear(&u);
}

/* Decide INFO for USER at NOW with skew 60. */
static int
verify_at(struct fixture *f, const char *info, const char *user, time_t now, struct ct_err *err)
{
	struct ct_sshlogin_policy p = {f->st, f->t, 60};
	struct ct_sshlogin_result res;

	memset(err, 0, sizeof(*err));
	return ct_sshlogin_verify(&p, info, user, now, &res, err);
}

static int
verify(struct fixture *f, const char *info, const char *user, struct ct_err *err)
{
	return verify_at(f, info, user, f->now, err);
}

/* ---- the parse of SSH_AUTH_INFO_0 ---- */

static void
test_parse_methods_and_lines(void **state)
{
	struct fixture *f = *state;
	struct ct_sshlogin_certs c;
	struct ct_err err = {0};
	char *line = good(f), *plain, info[8192];
	size_t n;

	assert_non_null(plain = ssh_read_file(f->dir, "user.pub", &n));
	plain[strcspn(plain, "\n")] = '\0';
	/* sshd's order: publickey, then keyboard-interactive; a plain key and
	 * other methods are passed over */
	snprintf(
	    info, sizeof(info), "password\npublickey %s\n%s\nkeyboard-interactive\n", plain, line);
	assert_int_equal(ct_sshlogin_parse(info, &c, &err), CT_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(memcmp(c.c[0].blob, "\0\0\0\040ssh-ed25519-cert-v01@openssh.com", 37), 0);
	ct_sshlogin_certs_clear(&c);
	/* two certificates, no final newline */
	snprintf(info, sizeof(info), "%s\n%s", line, line);
	assert_int_equal(ct_sshlogin_parse(info, &c, &err), CT_OK);
	assert_int_equal(c.n, 2);
	ct_sshlogin_certs_clear(&c);
	/* only a plain key, or nothing of publickey */
	snprintf(info, sizeof(info), "publickey %s\nkeyboard-interactive\n", plain);
	assert_int_equal(ct_sshlogin_parse(info, &c, &err), CT_ENOENT);
	assert_int_equal(ct_sshlogin_parse("keyboard-interactive\n\n", &c, &err), CT_ENOENT);
	assert_int_equal(ct_sshlogin_parse("", &c, &err), CT_ENOENT);
	assert_int_equal(ct_sshlogin_parse(NULL, &c, &err), CT_ENOENT);
	/* a word that only starts like the method */
	snprintf(info, sizeof(info), "publickeyx%s\n", line + strlen("publickey"));
	assert_int_equal(ct_sshlogin_parse(info, &c, &err), CT_ENOENT);
	free(plain);
	free(line);
}

static void
test_parse_garbage(void **state)
{
	struct fixture *f = *state;
	struct ct_sshlogin_certs c;
	struct ct_err err = {0};
	char *line = good(f), *big, info[8192];
	const char *type = "ssh-ed25519-cert-v01@openssh.com";

	assert_int_equal(
	    ct_sshlogin_parse("publickey ssh-ed25519-cert-v01@openssh.com\n", &c, &err), CT_EINVAL);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ct_sshlogin_parse(
	                     "publickey ssh-ed25519-cert-v01@openssh.com !!!notbase64\n", &c, &err),
	    CT_EINVAL);
	assert_non_null(strstr(err.msg, "SSH_AUTH_INFO_0 line 1"));
	/* the type word says ECDSA, the blob is an Ed25519 certificate */
	snprintf(info, sizeof(info), "publickey ecdsa-sha2-nistp256-cert-v01@openssh.com %s\n",
	    line + strlen("publickey ") + strlen(type) + 1);
	assert_int_equal(ct_sshlogin_parse(info, &c, &err), CT_EINVAL);
	/* garbage on a later line after a good one */
	snprintf(info, sizeof(info), "%s\npublickey %s AAAA\n", line, type);
	assert_int_equal(ct_sshlogin_parse(info, &c, &err), CT_EINVAL);
	/* more than the maximum */
	assert_non_null(big = malloc(CT_SSHLOGIN_INFO_MAX + 2));
	memset(big, 'a', CT_SSHLOGIN_INFO_MAX + 1);
	big[CT_SSHLOGIN_INFO_MAX + 1] = '\0';
	assert_int_equal(ct_sshlogin_parse(big, &c, &err), CT_EINVAL);
	free(big);
	free(line);
}

/* ---- the checks ---- */

static void
test_accepts_group_certificate(void **state)
{
	struct fixture *f = *state;
	struct ct_sshlogin_policy p = {f->st, f->t, 60};
	struct ct_sshlogin_result res;
	struct ct_err err = {0};
	char *line = good(f);

	index_add(f, "g", SSERIAL, "-");
	if (ct_sshlogin_verify(&p, line, "alice", f->now, &res, &err) != CT_OK)
		fail_msg("refused: %s", err.msg);
	assert_int_equal(res.ssh_serial, SSERIAL);
	assert_string_equal(res.serial, XSERIAL);
	assert_string_equal(res.key_id, "certtoken:alice:t:" XSERIAL);
	/* within the skew after valid_before, not beyond */
	assert_int_equal(verify_at(f, line, "alice", f->now + HOUR + 30, &err), CT_OK);
	assert_int_equal(verify_at(f, line, "alice", f->now + HOUR + 120, &err), CT_EPERM);
	assert_int_equal(verify_at(f, line, "alice", f->now - 300 - 120, &err), CT_EPERM);
	free(line);
}

static void
test_refuses_other_cas(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char *other =
	    sign(f, "ca_h", "certtoken:alice:t:" XSERIAL, "alice", SSERIAL, "-5m:+1h", NULL);
	char *self =
	    sign(f, "selfca", "certtoken:alice:t:" XSERIAL, "alice", SSERIAL, "-5m:+1h", NULL);

	index_add(f, "g", SSERIAL, "-");
	assert_int_equal(verify(f, other, "alice", &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "not signed by an SSH CA of group g"));
	assert_int_equal(verify(f, self, "alice", &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "not signed by an SSH CA of group g"));
	free(other);
	free(self);
}

static void
test_refuses_wrong_fields(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char *line;

	index_add(f, "g", SSERIAL, "-");
	line = good(f);
	assert_int_equal(verify(f, line, "bob", &err), CT_EPERM); /* not a principal */
	free(line);
	line = sign(f, "ca_g", "certtoken:alice:t:" XSERIAL, "alice", SSERIAL, "-5m:+1h", "-h");
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM); /* a host certificate */
	free(line);
	line = sign(
	    f, "ca_g", "certtoken:alice:t:" XSERIAL, "alice", SSERIAL, "20200101:20200102", NULL);
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM); /* expired */
	free(line);
	line = sign(f, "ca_g", "alice", "alice", SSERIAL, "-5m:+1h", NULL);
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM); /* not our key id */
	free(line);
	line = sign(f, "ca_g", "certtoken:alice:t:" XSERIAL, "alice", SSERIAL + 1, "-5m:+1h", NULL);
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM); /* not the index's SSH serial */
	assert_non_null(strstr(err.msg, "index entry"));
	free(line);
	line = sign(f, "ca_g", "certtoken:mallory:t:" XSERIAL, "alice", SSERIAL, "-5m:+1h", NULL);
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM); /* the entry is alice's */
	free(line);
	line = sign(f, "ca_g", "certtoken:alice:t:" XSERIAL, "alice", SSERIAL, "-5m:+1h",
	    "critical:frobnicate=1");
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM); /* unknown critical option */
	free(line);
	line = sign(f, "ca_g", "certtoken:alice:t:00FF", "alice", SSERIAL, "-5m:+1h", NULL);
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM); /* not in the index */
	free(line);
}

static void
test_refuses_bad_signature(void **state)
{
	struct fixture *f = *state;
	struct ct_sshlogin_certs c;
	struct ct_err err = {0};
	char *line = good(f), *text = NULL;

	index_add(f, "g", SSERIAL, "-");
	assert_int_equal(ct_sshlogin_parse(line, &c, &err), CT_OK);
	c.c[0].blob[c.c[0].len - 5] ^= 1; /* inside the signature */
	assert_int_equal(ct_sshcert_line_format(c.c[0].blob, c.c[0].len, NULL, &text, &err), CT_OK);
	free(line);
	assert_non_null(line = malloc(strlen(text) + 16));
	sprintf(line, "publickey %s", text);
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM);
	ct_sshlogin_certs_clear(&c);
	free(text);
	free(line);
}

static void
test_refuses_revoked(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char *line = good(f);

	index_add(f, "g", SSERIAL, "-");
	assert_int_equal(verify(f, line, "alice", &err), CT_OK);
	assert_int_equal(ct_revoke(f->st, XSERIAL, "g", 1, f->now, &err), CT_OK);
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "revoked"));
	free(line);
}

static void
test_token_must_be_active(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char *line = good(f);

	index_add(f, "g", SSERIAL, "CERTAB12");
	if (verify(f, line, "alice", &err) != CT_EPERM) /* no such token */
		fail_msg("not refused: %s", err.msg);
	put_token(f, "CERTAB12", 1);
	if (verify(f, line, "alice", &err) != CT_OK)
		fail_msg("refused: %s", err.msg);
	put_token(f, "CERTAB12", 0);
	assert_int_equal(verify(f, line, "alice", &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "disabled"));
	free(line);
}

/* A refused certificate on the first line does not hide a good one after it. */
static void
test_second_line_good(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char *bad =
	    sign(f, "selfca", "certtoken:alice:t:" XSERIAL, "alice", SSERIAL, "-5m:+1h", NULL);
	char *line = good(f), info[8192];

	index_add(f, "g", SSERIAL, "-");
	snprintf(info, sizeof(info), "%s\n%s\nkeyboard-interactive\n", bad, line);
	assert_int_equal(verify(f, info, "alice", &err), CT_OK);
	snprintf(info, sizeof(info), "%s\n", bad);
	assert_int_equal(verify(f, info, "alice", &err), CT_EPERM);
	free(bad);
	free(line);
}

/* A certificate issued for another target of the same group (t2 has a
 * forced command; t none) is refused: its key id's target, and the index
 * entry's, must be the policy's target. */
static void
test_refuses_other_target(void **state)
{
	struct fixture *f = *state;
	struct ct_sshlogin_policy p2 = {f->st, ct_config_target(f->cfg, "t2"), 60};
	struct ct_sshlogin_result res;
	struct ct_err err = {0};
	char *line = good(f),
	     *t2 =
	         sign(f, "ca_g", "certtoken:alice:t2:" XSERIAL, "alice", SSERIAL, "-5m:+1h", NULL);

	index_add(f, "g", SSERIAL, "-");
	assert_int_equal(verify(f, line, "alice", &err), CT_OK);
	/* t's certificate on a t2 host */
	assert_int_equal(ct_sshlogin_verify(&p2, line, "alice", f->now, &res, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "another target"));
	/* a key id naming t2 over t's index entry, on a t host and a t2 host */
	assert_int_equal(verify(f, t2, "alice", &err), CT_EPERM);
	assert_int_equal(ct_sshlogin_verify(&p2, t2, "alice", f->now, &res, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "does not match index entry"));
	free(line);
	free(t2);
}

/* A certificate type this module does not check (a FIDO key's) is passed
 * over like a plain key: a later line with ours still decides. */
static void
test_skips_unknown_cert_types(void **state)
{
	struct fixture *f = *state;
	struct ct_sshlogin_certs c;
	struct ct_err err = {0};
	char *line = good(f), info[8192];

	index_add(f, "g", SSERIAL, "-");
	snprintf(info, sizeof(info),
	    "publickey sk-ssh-ed25519-cert-v01@openssh.com AAAAIHNrLXNzaA==\n%s\n", line);
	assert_int_equal(ct_sshlogin_parse(info, &c, &err), CT_OK);
	assert_int_equal(c.n, 1);
	ct_sshlogin_certs_clear(&c);
	assert_int_equal(verify(f, info, "alice", &err), CT_OK);
	/* alone, it is no certificate at all */
	assert_int_equal(
	    ct_sshlogin_parse("publickey sk-ssh-ed25519-cert-v01@openssh.com AAAA\n", &c, &err),
	    CT_ENOENT);
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_parse_methods_and_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accepts_group_certificate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_other_cas, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_wrong_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_bad_signature, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_revoked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_must_be_active, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_second_line_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_other_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_skips_unknown_cert_types, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
