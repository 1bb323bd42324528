/* The access groups' SSH CAs: the items `ca init` makes (keys flagged as
 * keys, 0600), preparation and rotation with the X.509 CA and the same
 * overlap, ca ssh-init for a group made before them, OpenSSH user
 * certificates for a target (every field read back with the parser), the
 * index's ssh_serial, the KRL, and the configuration. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certindex.h"
#include "certtoken.h"
#include "conf.h"
#include "issue.h"
#include "sshca.h"
#include "sshcert.h"
#include "sshkrl.h"
#include "store.h"
#include "store_backend.h"

struct fixture {
	char dir[32];
	struct ct_config *cfg;
	struct ct_store *st;
	const struct ct_group *g;
};

static const char conf_fmt[] =
    "store: { path = \"%s\"; };\n"
    "access_groups = ( { name = \"g\"; ca_days = 10; %s } );\n"
    "targets = ( { name = \"t\"; access_group = \"g\"; subject = \"CN=%%unix_account%%\";\n"
    "  ssh = { principals = [ \"%%unix_account%%\", \"ops-%%department%%\" ];\n"
    "          extensions = [ \"permit-pty\", \"permit-port-forwarding\" ];\n"
    "          force_command = \"/usr/bin/id\"; source_address = \"10.0.0.0/8,::1\"; }; },\n"
    "  { name = \"plain\"; access_group = \"g\"; subject = \"CN=%%unix_account%%\";\n"
    "    ssh = true; } );\n"
    "attributes: { source = \"ldap\"; ldap: { uri = \"ldap://127.0.0.1:1\"; base = \"o=x\";\n"
    "  map: { department = \"ou\"; }; }; };\n";

static struct fixture *
make_fixture(const char *group_extra, int init)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ct_err err = {0};
	char text[2048];

	strcpy(f->dir, "/tmp/ct-sshca-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof(text), conf_fmt, f->dir, group_extra);
	if (ct_config_load_string(text, "t", &f->cfg, NULL, &err) != CT_OK)
		fail_msg("config: %s", err.msg);
	assert_int_equal(ct_store_open(f->cfg, CT_STORE_CREATE, &f->st, &err), CT_OK);
	f->g = &f->cfg->groups[0];
	if (init)
		assert_int_equal(ct_ca_init(f->st, f->g, time(NULL), &err), CT_OK);
	return f;
}

static void
free_fixture(struct fixture *f)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	ct_store_close(f->st);
	ct_config_free(f->cfg);
	free(f);
}

/* STORE/groups/g/NAME's contents (NULL when missing); its mode into *MODE. */
static char *
group_file(const struct fixture *f, const char *name, mode_t *mode)
{
	char path[128], *buf;
	struct stat sb;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/groups/g/%s", f->dir, name);
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	assert_int_equal(fstat(fileno(fp), &sb), 0);
	if (mode != NULL)
		*mode = sb.st_mode & 07777;
	assert_non_null(buf = calloc(1, (size_t)sb.st_size + 1));
	n = (long)fread(buf, 1, (size_t)sb.st_size, fp);
	assert_int_equal(n, sb.st_size);
	fclose(fp);
	return buf;
}

/* Does STORE/groups/g/NAME exist? */
static int
has_file(const struct fixture *f, const char *name)
{
	char *s = group_file(f, name, NULL);

	free(s);
	return s != NULL;
}

/* GROUP's trusted SSH CA keys at NOW (ALL: the previous one past its overlap too). */
static struct ct_sshca_trust
trust(const struct fixture *f, time_t now, int all)
{
	struct ct_sshca_trust t = {0};
	struct ct_err err = {0};

	if (ct_sshca_trust(f->st, "g", now, all, &t, &err) != CT_OK)
		fail_msg("trust: %s", err.msg);
	return t;
}

/* The blob of the public key line LINE. */
static unsigned char *
line_blob(const char *line, size_t *len)
{
	unsigned char *blob = NULL;
	struct ct_err err = {0};

	if (ct_sshcert_line_parse(line, strlen(line), &blob, len, NULL, &err) != CT_OK)
		fail_msg("line: %s", err.msg);
	return blob;
}

static int
same_blob(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static void
test_items_are_keys(void **state)
{
	struct fixture *f = make_fixture("", 1);
	struct ct_cadir *dir = NULL;
	struct ct_err err = {0};
	unsigned char *data = NULL;
	size_t len = 0;

	(void)state;
	/* the backend's public read refuses the SSH CA's key; the key read has it */
	assert_int_equal(ct_cadir_open(f->st, "g", 0, &dir, &err), CT_OK);
	assert_int_equal(f->st->ops->ca_read(dir, CT_CA_SSH_KEY, &data, &len, &err), CT_EINVAL);
	assert_null(data);
	assert_int_equal(f->st->ops->ca_key_read(dir, CT_CA_SSH_KEY, &data, &len, &err), CT_OK);
	OPENSSL_cleanse(data, len);
	free(data);
	data = NULL;
	assert_int_equal(f->st->ops->ca_read(dir, CT_CA_SSH_PUB, &data, &len, &err), CT_OK);
	free(data);
	ct_cadir_close(dir);
	free_fixture(f);
	assert_true(ct_ca_item_is_key(CT_CA_SSH_KEY));
	assert_true(ct_ca_item_is_key(CT_CA_PREVIOUS_SSH_KEY));
	assert_true(ct_ca_item_is_key(CT_CA_NEXT_SSH_KEY));
	assert_false(ct_ca_item_is_key(CT_CA_SSH_PUB));
	assert_false(ct_ca_item_is_key(CT_CA_PREVIOUS_SSH_PUB));
	assert_false(ct_ca_item_is_key(CT_CA_NEXT_SSH_PUB));
	assert_true(ct_ca_item_is_key(CT_CA_KEY));
	assert_false(ct_ca_item_is_key(CT_CA_CERT));
}

/* ca init makes the SSH CA: ed25519 by default, 0600 files, a key that
 * matches its public line, loaded for signing. */
static void
test_init_makes_ssh_ca(void **state)
{
	struct fixture *f = make_fixture("", 1);
	struct ct_sshca_trust t;
	struct ct_err err = {0};
	EVP_PKEY *key = NULL;
	unsigned char *mine = NULL, *pub_blob;
	size_t mine_len = 0, pub_len = 0;
	mode_t mode = 0;
	char *pub, *priv;

	(void)state;
	assert_int_equal(f->g->ssh_key_type, CT_KEY_ED25519);
	assert_non_null(pub = group_file(f, "ssh_ca.pub", &mode));
	assert_int_equal(mode, 0600);
	assert_true(strncmp(pub, "ssh-ed25519 ", 12) == 0);
	assert_non_null(strstr(pub, " certtoken:g\n"));
	assert_non_null(priv = group_file(f, "ssh_ca.key", &mode));
	assert_int_equal(mode, 0600);
	assert_non_null(strstr(priv, "-----BEGIN PRIVATE KEY-----"));
	assert_false(has_file(f, "next_ssh.pub"));
	assert_false(has_file(f, "previous_ssh.pub"));
	assert_int_equal(ct_sshca_load(f->st, "g", &key, &err), CT_OK);
	assert_int_equal(ct_sshcert_key_to_blob(key, &mine, &mine_len, &err), CT_OK);
	pub_blob = line_blob(pub, &pub_len);
	assert_true(same_blob(mine, mine_len, pub_blob, pub_len));
	t = trust(f, time(NULL), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.key[0].role, CT_SSHCA_CURRENT);
	assert_true(same_blob(t.key[0].blob, t.key[0].len, pub_blob, pub_len));
	ct_sshca_trust_clear(&t);
	free(pub_blob);
	free(mine);
	EVP_PKEY_free(key);
	free(pub);
	free(priv);
	free_fixture(f);
}

static void
test_init_ecdsa(void **state)
{
	struct fixture *f = make_fixture("ssh_key_type = \"ecdsa-p256\";", 1);
	char *pub;

	(void)state;
	assert_non_null(pub = group_file(f, "ssh_ca.pub", NULL));
	assert_true(strncmp(pub, "ecdsa-sha2-nistp256 ", 20) == 0);
	free(pub);
	free_fixture(f);
}

/* A public line that does not match the key is refused when loading. */
static void
test_load_refuses_mismatch(void **state)
{
	struct fixture *f = make_fixture("", 1);
	struct ct_sshca_new other = {0};
	struct ct_err err = {0};
	EVP_PKEY *key = NULL;
	char path[128];
	FILE *fp;

	(void)state;
	assert_int_equal(ct_sshca_generate(CT_KEY_ED25519, "g", &other, &err), CT_OK);
	snprintf(path, sizeof(path), "%s/groups/g/ssh_ca.pub", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs(other.pub, fp);
	fclose(fp);
	assert_int_equal(ct_sshca_load(f->st, "g", &key, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_null(key);
	ct_sshca_new_clear(&other);
	free_fixture(f);
}

/* Prepare, then rotate with an overlap: the prepared SSH CA becomes the
 * current one, the current one the previous one until the overlap ends. */
static void
test_prepare_and_rotate(void **state)
{
	struct fixture *f = make_fixture("", 1);
	struct ct_rotation r = {0};
	struct ct_sshca_trust t;
	struct ct_err err = {0};
	X509 *next = NULL, *replaced = NULL;
	time_t now = time(NULL);
	char *cur0, *next0, *cur1, *prev1;

	(void)state;
	cur0 = group_file(f, "ssh_ca.pub", NULL);
	assert_int_equal(ct_ca_prepare(f->st, f->g, now, 0, &next, &replaced, &err), CT_OK);
	assert_non_null(next0 = group_file(f, "next_ssh.pub", NULL));
	assert_true(has_file(f, "next_ssh.key"));
	assert_string_not_equal(cur0, next0);
	cur1 = group_file(f, "ssh_ca.pub", NULL);
	assert_string_equal(cur0, cur1); /* preparing changes nothing that signs */
	free(cur1);
	t = trust(f, now, 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.key[1].role, CT_SSHCA_NEXT);
	ct_sshca_trust_clear(&t);

	assert_int_equal(ct_ca_rotate(f->st, f->g, now, 3600, 0, &r, &err), CT_OK);
	assert_true(r.prepared);
	cur1 = group_file(f, "ssh_ca.pub", NULL);
	prev1 = group_file(f, "previous_ssh.pub", NULL);
	assert_string_equal(cur1, next0);
	assert_string_equal(prev1, cur0);
	assert_false(has_file(f, "next_ssh.pub"));
	t = trust(f, now, 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.key[0].role, CT_SSHCA_CURRENT);
	assert_int_equal(t.key[1].role, CT_SSHCA_PREVIOUS);
	assert_int_equal(t.key[1].until, now + 3600);
	ct_sshca_trust_clear(&t);
	/* after the overlap: trusted no more, but a KRL still covers it */
	t = trust(f, now + 3600, 0);
	assert_int_equal(t.n, 1);
	ct_sshca_trust_clear(&t);
	t = trust(f, now + 3600, 1);
	assert_int_equal(t.n, 2);
	ct_sshca_trust_clear(&t);
	ct_rotation_clear(&r);
	X509_free(next);
	free(cur0);
	free(next0);
	free(cur1);
	free(prev1);
	free_fixture(f);
}

/* A rotation without a prepared CA makes a new SSH CA; overlap 0 keeps no
 * previous one. */
static void
test_rotate_new_no_overlap(void **state)
{
	struct fixture *f = make_fixture("", 1);
	struct ct_rotation r = {0};
	struct ct_err err = {0};
	char *cur0, *cur1;

	(void)state;
	cur0 = group_file(f, "ssh_ca.pub", NULL);
	assert_int_equal(ct_ca_rotate(f->st, f->g, time(NULL), 0, 0, &r, &err), CT_OK);
	assert_non_null(cur1 = group_file(f, "ssh_ca.pub", NULL));
	assert_string_not_equal(cur0, cur1);
	assert_false(has_file(f, "previous_ssh.pub"));
	assert_false(has_file(f, "previous_ssh.key"));
	ct_rotation_clear(&r);
	free(cur0);
	free(cur1);
	free_fixture(f);
}

/* A group made before SSH CAs: no SSH CA (issuance and export say how to
 * get one), ca ssh-init adds one and leaves the X.509 CA byte for byte. */
static void
test_ssh_init_old_group(void **state)
{
	struct fixture *f = make_fixture("", 1);
	struct ct_sshca_trust t = {0};
	struct ct_err err = {0};
	EVP_PKEY *key = NULL;
	X509 *next = NULL, *replaced = NULL;
	char path[128], *cert0, *key0, *cert1, *key1;

	(void)state;
	/* what an older version left: the X.509 CA and a prepared one */
	assert_int_equal(ct_ca_prepare(f->st, f->g, time(NULL), 0, &next, &replaced, &err), CT_OK);
	X509_free(next);
	snprintf(path, sizeof(path), "%s/groups/g/ssh_ca.pub", f->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/groups/g/ssh_ca.key", f->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/groups/g/next_ssh.pub", f->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/groups/g/next_ssh.key", f->dir);
	assert_int_equal(unlink(path), 0);
	cert0 = group_file(f, "ca.pem", NULL);
	key0 = group_file(f, "ca.key", NULL);

	assert_int_equal(ct_sshca_load(f->st, "g", &key, &err), CT_ENOENT);
	assert_non_null(strstr(err.msg, "ca ssh-init g"));
	assert_int_equal(ct_sshca_trust(f->st, "g", time(NULL), 0, &t, &err), CT_ENOENT);

	assert_int_equal(ct_ca_ssh_init(f->st, f->g, &err), CT_OK);
	assert_true(has_file(f, "ssh_ca.pub"));
	assert_true(has_file(f, "next_ssh.pub"));
	cert1 = group_file(f, "ca.pem", NULL);
	key1 = group_file(f, "ca.key", NULL);
	assert_string_equal(cert0, cert1);
	assert_string_equal(key0, key1);
	assert_true(has_file(f, "next.pem"));
	assert_int_equal(ct_sshca_load(f->st, "g", &key, &err), CT_OK);
	EVP_PKEY_free(key);
	assert_int_equal(ct_ca_ssh_init(f->st, f->g, &err), CT_EEXIST);
	free(cert0);
	free(key0);
	free(cert1);
	free(key1);
	free_fixture(f);
}

/* Issue for target T: every field as configured, read back by the parser,
 * and signed by the group's current SSH CA. */
static void
issue(struct fixture *f, const char *target, struct ct_attrs *a, struct ct_sshcert *sc,
    struct ct_sshca_cert *out)
{
	const struct ct_target *t = ct_config_target(f->cfg, target);
	EVP_PKEY *ca = NULL, *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *spki = NULL, *blob = NULL;
	struct ct_sshca_req r = {.conf = &t->ssh,
	    .attrs = a,
	    .user = "alice",
	    .target = target,
	    .x509_serial = "0A1B",
	    .not_before = 1700000000,
	    .not_after = 1700003600};
	struct ct_err err = {0};
	size_t len = 0;
	int n;

	assert_true((n = i2d_PUBKEY(k, &spki)) > 0);
	r.spki = spki;
	r.spki_len = (size_t)n;
	assert_int_equal(ct_sshca_load(f->st, "g", &ca, &err), CT_OK);
	if (ct_sshca_issue(ca, &r, out, &err) != CT_OK)
		fail_msg("issue: %s", err.msg);
	blob = line_blob(out->line, &len);
	assert_int_equal(ct_sshcert_parse(blob, len, sc, &err), CT_OK);
	assert_int_equal(ct_sshcert_verify(sc, &err), CT_OK);
	free(blob);
	OPENSSL_free(spki);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(k);
}

static void
test_issue_fields(void **state)
{
	struct fixture *f = make_fixture("", 1);
	struct ct_attrs *a = ct_attrs_new();
	struct ct_sshca_cert c = {0};
	struct ct_sshcert sc = {0};
	struct ct_sshca_trust t;
	struct ct_err err = {0};
	int found = 0;

	(void)state;
	assert_int_equal(ct_attrs_set(a, "unix_account", "alice", &err), CT_OK);
	assert_int_equal(ct_attrs_set(a, "department", "db", &err), CT_OK);
	issue(f, "t", a, &sc, &c);
	assert_int_equal(sc.type, CT_SSHCERT_USER);
	assert_string_equal(sc.key_id, "certtoken:alice:t:0A1B");
	assert_string_equal(c.key_id, sc.key_id);
	assert_true(sc.serial != 0);
	assert_true(sc.serial == c.serial);
	assert_int_equal(sc.n_principals, 2);
	assert_string_equal(sc.principals[0], "alice");
	assert_string_equal(sc.principals[1], "ops-db");
	assert_true(sc.valid_after == 1700000000);
	assert_true(sc.valid_before == 1700003600);
	assert_int_equal(sc.n_options, 2);
	assert_string_equal(
	    ct_sshcert_opt_get(sc.options, sc.n_options, "force-command", NULL), "/usr/bin/id");
	assert_string_equal(
	    ct_sshcert_opt_get(sc.options, sc.n_options, "source-address", NULL), "10.0.0.0/8,::1");
	assert_int_equal(sc.n_extensions, 2);
	ct_sshcert_opt_get(sc.extensions, sc.n_extensions, "permit-pty", &found);
	assert_true(found);
	ct_sshcert_opt_get(sc.extensions, sc.n_extensions, "permit-port-forwarding", &found);
	assert_true(found);
	t = trust(f, time(NULL), 0);
	assert_true(same_blob(sc.ca_blob, sc.ca_blob_len, t.key[0].blob, t.key[0].len));
	ct_sshca_trust_clear(&t);
	ct_sshcert_free(&sc);
	ct_sshca_cert_clear(&c);
	ct_attrs_free(a);
	free_fixture(f);
}

/* ssh = true: the login name, permit-pty only, no critical option; a
 * missing attribute fails naming it. */
static void
test_issue_defaults(void **state)
{
	struct fixture *f = make_fixture("", 1);
	const struct ct_target *t = ct_config_target(f->cfg, "plain");
	struct ct_attrs *a = ct_attrs_new();
	struct ct_sshca_cert c = {0}, c2 = {0};
	struct ct_sshcert sc = {0};
	struct ct_sshca_req r = {.conf = &ct_config_target(f->cfg, "t")->ssh,
	    .user = "alice",
	    .target = "t",
	    .x509_serial = "0A"};
	struct ct_err err = {0};
	EVP_PKEY *ca = NULL;
	int found = 0;

	(void)state;
	assert_true(t->ssh.enabled);
	assert_int_equal(t->ssh.extensions, CT_SSH_EXT_PTY);
	assert_int_equal(ct_attrs_set(a, "unix_account", "alice", &err), CT_OK);
	issue(f, "plain", a, &sc, &c);
	assert_int_equal(sc.n_principals, 1);
	assert_string_equal(sc.principals[0], "alice");
	assert_int_equal(sc.n_options, 0);
	assert_int_equal(sc.n_extensions, 1);
	ct_sshcert_opt_get(sc.extensions, sc.n_extensions, "permit-pty", &found);
	assert_true(found);
	/* "t" needs %department%, which this user has not */
	r.attrs = a;
	assert_int_equal(ct_sshca_load(f->st, "g", &ca, &err), CT_OK);
	assert_int_equal(ct_sshca_issue(ca, &r, &c2, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "department"));
	assert_null(c2.line);
	EVP_PKEY_free(ca);
	ct_sshcert_free(&sc);
	ct_sshca_cert_clear(&c);
	ct_attrs_free(a);
	free_fixture(f);
}

/* ct_sshca_check refuses, before any X.509 certificate exists, what
 * ct_sshca_issue would: a missing attribute, a principal over the field
 * limit, a key type OpenSSH certificates do not have; it accepts what
 * ct_sshca_issue signs. */
static void
test_check(void **state)
{
	struct fixture *f = make_fixture("", 0);
	struct ct_attrs *a = ct_attrs_new();
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	unsigned char *spki = NULL, *xspki = NULL;
	struct ct_sshca_req r = {.conf = &ct_config_target(f->cfg, "t")->ssh,
	    .attrs = a,
	    .user = "alice",
	    .target = "t"};
	struct ct_err err = {0};
	char big[CT_SSHCERT_FIELD_MAX - 2]; /* "ops-" and these: one byte too many */
	int n, m;

	(void)state;
	assert_true((n = i2d_PUBKEY(ec, &spki)) > 0);
	assert_true((m = i2d_PUBKEY(x, &xspki)) > 0);
	r.spki = spki;
	r.spki_len = (size_t)n;
	assert_int_equal(ct_attrs_set(a, "unix_account", "alice", &err), CT_OK);
	assert_int_equal(ct_sshca_check(&r, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "department"));
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ct_attrs_set(a, "department", big, &err), CT_OK);
	ct_err_clear(&err);
	assert_int_equal(ct_sshca_check(&r, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "longer than 1024"));
	ct_attrs_free(a);
	a = ct_attrs_new();
	r.attrs = a;
	assert_int_equal(ct_attrs_set(a, "unix_account", "alice", &err), CT_OK);
	assert_int_equal(ct_attrs_set(a, "department", "db", &err), CT_OK);
	assert_int_equal(ct_sshca_check(&r, &err), CT_OK);
	r.spki = xspki;
	r.spki_len = (size_t)m;
	ct_err_clear(&err);
	assert_int_equal(ct_sshca_check(&r, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "type"));
	OPENSSL_free(spki);
	OPENSSL_free(xspki);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(x);
	ct_attrs_free(a);
	free_fixture(f);
}

/* force_command and source_address longer than a certificate field are
 * refused when the configuration is loaded, naming the line. */
static void
test_config_lengths(void **state)
{
	static const char *const keys[] = {"force_command", "source_address"};
	struct ct_config *cfg = NULL;
	struct ct_err err = {0};
	char *text, *v;
	size_t i, len = CT_SSHCERT_FIELD_MAX + 1;

	(void)state;
	assert_non_null(v = malloc(len + 1));
	for (i = 0; i < len; i++)
		v[i] = i % 2 ? ',' : '1';
	v[len - 1] = '1';
	v[len] = '\0';
	for (i = 0; i < 2; i++) {
		assert_true(
		    asprintf(&text,
		        "access_groups = ( { name = \"g\"; } );\n"
		        "targets = ( { name = \"t\"; access_group = \"g\"; subject = \"CN=x\";\n"
		        "  ssh = {\n  %s = \"%s\"; }; } );\n",
		        keys[i], v) > 0);
		cfg = NULL;
		ct_err_clear(&err);
		assert_int_equal(ct_config_load_string(text, "long", &cfg, NULL, &err), CT_ECONFIG);
		assert_null(cfg);
		if (strstr(err.msg, keys[i]) == NULL || strstr(err.msg, "long:4: ") == NULL)
			fail_msg("%s: %s", keys[i], err.msg);
		free(text);
	}
	/* a force_command of exactly the limit fits */
	v[len - 1] = '\0';
	assert_true(asprintf(&text,
	                "access_groups = ( { name = \"g\"; } );\n"
	                "targets = ( { name = \"t\"; access_group = \"g\"; subject = \"CN=x\";\n"
	                "  ssh = { force_command = \"%s\"; }; } );\n",
	                v) > 0);
	if (ct_config_load_string(text, "fits", &cfg, NULL, &err) != CT_OK)
		fail_msg("refused: %s", err.msg);
	assert_int_equal(strlen(cfg->targets[0].ssh.force_command), CT_SSHCERT_FIELD_MAX);
	ct_config_free(cfg);
	free(text);
	free(v);
}

/* Issue an X.509 certificate of target "t" for a new key and record it in
 * the index with SSH serial SSH; its serial into SERIAL. */
static void
record(struct fixture *f, uint64_t ssh, char serial[CT_CERT_SERIAL_MAX])
{
	struct ct_attrs *a = ct_attrs_new();
	struct ct_issuer *is = NULL;
	struct ct_ca *ca = NULL;
	struct ct_cert_desc d;
	struct ct_err err = {0};
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *spki = NULL, *der = NULL;
	size_t der_len = 0;
	int n;

	assert_int_equal(ct_attrs_set(a, "unix_account", "alice", &err), CT_OK);
	assert_true((n = i2d_PUBKEY(k, &spki)) > 0);
	assert_int_equal(ct_ca_load(f->st, f->g, &ca, &err), CT_OK);
	assert_int_equal(ct_issuer_new(&f->cfg->targets[0], ca, &is, &err), CT_OK);
	assert_int_equal(ct_issue(is, a, spki, (size_t)n, time(NULL), &der, &der_len, &err), CT_OK);
	assert_int_equal(ct_cert_describe(der, der_len, &d, &err), CT_OK);
	strcpy(serial, d.serial);
	assert_int_equal(
	    ct_certindex_add_ssh(f->st, serial, "alice", "t", "g", "-", ssh, der, der_len, &err),
	    CT_OK);
	OPENSSL_free(der);
	OPENSSL_free(spki);
	ct_issuer_free(is);
	ct_ca_free(ca);
	ct_attrs_free(a);
	EVP_PKEY_free(k);
}

/* Replace "ssh_serial=..." in index entry SERIAL's file by LINE ("" drops it). */
static void
rewrite_entry(struct fixture *f, const char *serial, const char *line)
{
	char path[160], buf[8192], out[8300], *p, *nl;
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/certs/%s.pem", f->dir, serial);
	assert_non_null(fp = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_non_null(p = strstr(buf, "ssh_serial="));
	nl = strchr(p, '\n');
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - buf), buf, line, nl + 1);
	assert_non_null(fp = fopen(path, "w"));
	fputs(out, fp);
	fclose(fp);
}

/* The index keeps ssh_serial; an entry without it (older, or no OpenSSH
 * certificate) reads 0; a bad one is a corrupt entry. */
static void
test_index_ssh_serial(void **state)
{
	struct fixture *f = make_fixture("", 1);
	char serial[CT_CERT_SERIAL_MAX];
	struct ct_cert_entry e;
	struct ct_err err = {0};

	(void)state;
	record(f, UINT64_C(18446744073709551615), serial);
	assert_int_equal(ct_certindex_get(f->st, serial, &e, &err), CT_OK);
	assert_true(e.ssh_serial == UINT64_C(18446744073709551615));
	ct_cert_entry_clear(&e);
	rewrite_entry(f, serial, "ssh_serial=18446744073709551616\n");
	assert_int_equal(ct_certindex_get(f->st, serial, &e, &err), CT_EIO);
	rewrite_entry(f, serial, "ssh_serial=0\n");
	assert_int_equal(ct_certindex_get(f->st, serial, &e, &err), CT_EIO);
	rewrite_entry(f, serial, "");
	assert_int_equal(ct_certindex_get(f->st, serial, &e, &err), CT_OK);
	assert_true(e.ssh_serial == 0);
	ct_cert_entry_clear(&e);
	free_fixture(f);
}

/* Is SSH revoked under the CA blob B in KRL? */
static int
krl_revoked(const unsigned char *krl, size_t len, const unsigned char *b, size_t blen, uint64_t ssh)
{
	struct ct_err err = {0};
	int revoked = -1;

	if (ct_sshkrl_check(krl, len, b, blen, ssh, &revoked, &err) != CT_OK)
		fail_msg("krl: %s", err.msg);
	return revoked;
}

/* The KRL has the revoked certificates' SSH serials of this group, under
 * the current and the previous SSH CA, and nothing else. */
static void
test_krl(void **state)
{
	struct fixture *f = make_fixture("", 1);
	char s1[CT_CERT_SERIAL_MAX], s2[CT_CERT_SERIAL_MAX], s3[CT_CERT_SERIAL_MAX];
	struct ct_rotation r = {0};
	struct ct_sshca_trust t;
	struct ct_err err = {0};
	unsigned char *krl = NULL;
	size_t len = 0, n = 99, i;
	time_t now = time(NULL);

	(void)state;
	record(f, 1001, s1);
	record(f, 1002, s2);
	record(f, 0, s3); /* no OpenSSH certificate */
	assert_int_equal(ct_sshca_krl(f->st, "g", now, &krl, &len, &n, &err), CT_OK);
	assert_int_equal(n, 0);
	free(krl);
	assert_int_equal(ct_revoke(f->st, s1, "g", 1, now, &err), CT_OK);
	assert_int_equal(ct_revoke(f->st, s3, "g", 1, now, &err), CT_OK);
	assert_int_equal(ct_ca_rotate(f->st, f->g, now, 3600, 0, &r, &err), CT_OK);
	assert_int_equal(ct_sshca_krl(f->st, "g", now, &krl, &len, &n, &err), CT_OK);
	assert_int_equal(n, 1);
	t = trust(f, now, 1);
	assert_int_equal(t.n, 2);
	for (i = 0; i < t.n; i++) {
		assert_int_equal(krl_revoked(krl, len, t.key[i].blob, t.key[i].len, 1001), 1);
		assert_int_equal(krl_revoked(krl, len, t.key[i].blob, t.key[i].len, 1002), 0);
	}
	ct_sshca_trust_clear(&t);
	free(krl);
	/* another group's revocation, and one never in the index, change nothing */
	assert_int_equal(ct_revoke(f->st, s2, "other", 1, now, &err), CT_OK);
	assert_int_equal(ct_revoke(f->st, "0BAD", "g", 1, now, &err), CT_OK);
	assert_int_equal(ct_sshca_krl(f->st, "g", now, &krl, &len, &n, &err), CT_OK);
	assert_int_equal(n, 1);
	free(krl);
	/* a revoked certificate's entry that cannot be read fails the KRL */
	rewrite_entry(f, s1, "ssh_serial=x\n");
	krl = NULL;
	assert_int_equal(ct_sshca_krl(f->st, "g", now, &krl, &len, &n, &err), CT_EIO);
	assert_non_null(strstr(err.msg, s1));
	assert_null(krl);
	ct_rotation_clear(&r);
	free_fixture(f);
}

/* One KRL for two groups: each SSH CA key of each group gets its own
 * group's revoked serials and no other's; no group, a group twice and a
 * group without an SSH CA are refused. */
static void
test_krl_groups(void **state)
{
	struct fixture *f = make_fixture("}, { name = \"h\"; }, { name = \"none\";", 1);
	const char *both[] = {"g", "h"}, *twice[] = {"h", "h"}, *missing[] = {"g", "none"};
	char s1[CT_CERT_SERIAL_MAX], s2[CT_CERT_SERIAL_MAX];
	struct ct_sshca_trust tg, th;
	struct ct_err err = {0};
	unsigned char *krl = NULL;
	size_t len = 0, n = 0;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(f->cfg->n_groups, 3);
	assert_int_equal(ct_ca_init(f->st, &f->cfg->groups[1], now, &err), CT_OK);
	record(f, 1001, s1);
	record(f, 2002, s2);
	assert_int_equal(ct_revoke(f->st, s1, "g", 1, now, &err), CT_OK);
	assert_int_equal(ct_revoke(f->st, s2, "h", 1, now, &err), CT_OK);
	if (ct_sshca_krl_groups(f->st, both, 2, now, &krl, &len, &n, &err) != CT_OK)
		fail_msg("krl: %s", err.msg);
	assert_int_equal(n, 2);
	assert_int_equal(ct_sshca_trust(f->st, "g", now, 1, &tg, &err), CT_OK);
	assert_int_equal(ct_sshca_trust(f->st, "h", now, 1, &th, &err), CT_OK);
	assert_false(same_blob(tg.key[0].blob, tg.key[0].len, th.key[0].blob, th.key[0].len));
	assert_int_equal(krl_revoked(krl, len, tg.key[0].blob, tg.key[0].len, 1001), 1);
	assert_int_equal(krl_revoked(krl, len, tg.key[0].blob, tg.key[0].len, 2002), 0);
	assert_int_equal(krl_revoked(krl, len, th.key[0].blob, th.key[0].len, 2002), 1);
	assert_int_equal(krl_revoked(krl, len, th.key[0].blob, th.key[0].len, 1001), 0);
	free(krl);
	krl = NULL;
	assert_int_equal(ct_sshca_krl_groups(f->st, both, 0, now, &krl, &len, &n, &err), CT_EINVAL);
	ct_err_clear(&err);
	assert_int_equal(
	    ct_sshca_krl_groups(f->st, twice, 2, now, &krl, &len, &n, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "twice"));
	ct_err_clear(&err);
	assert_int_equal(
	    ct_sshca_krl_groups(f->st, missing, 2, now, &krl, &len, &n, &err), CT_ENOENT);
	assert_non_null(strstr(err.msg, "none"));
	assert_null(krl);
	ct_sshca_trust_clear(&tg);
	ct_sshca_trust_clear(&th);
	free_fixture(f);
}

/* The configuration of ssh targets and SSH CA key types. */
static void
test_config(void **state)
{
	static const char *const bad[] = {
	    "ssh_key_type = \"rsa2048\";",
	    "ssh = { extensions = [ \"permit-everything\" ]; };",
	    "ssh = { source_address = \"10.0.0.0/33\"; };",
	    "ssh = { source_address = \"example.org\"; };",
	    "ssh = { source_address = \"10.0.0.1,\"; };",
	    "ssh = { principals = [ ]; };",
	    "ssh = { principals = [ \"a b\" ]; };",
	    "ssh = { principals = [ \"%nosuchthing%\" ]; };",
	    "ssh = { force_command = \"\"; };",
	    "ssh = { permit = true; };",
	    "ssh = 1;",
	};
	static const char *const good[] = {
	    "ssh = false;",
	    "ssh = { };",
	    "ssh = { source_address = \"192.0.2.1,2001:db8::/32\"; extensions = [ ]; };",
	    "ssh = { principals = [ \"%unix_account%/x=y\" ]; };",
	};
	static const char conf[] =
	    "access_groups = ( { name = \"g\"; %s } );\n"
	    "targets = ( { name = \"t\"; access_group = \"g\"; subject = \"CN=x\"; %s } );\n";
	char text[1024];
	struct ct_config *cfg = NULL;
	struct ct_err err = {0};
	size_t i;

	(void)state;
	assert_int_equal(ct_config_load_string("", "e", &cfg, NULL, &err), CT_OK);
	assert_int_equal(cfg->groups[0].ssh_key_type, CT_KEY_ED25519);
	assert_false(cfg->targets[0].ssh.enabled);
	ct_config_free(cfg);
	assert_int_equal(ct_ssh_ext_parse("permit-X11-forwarding"), CT_SSH_EXT_X11);
	assert_string_equal(ct_ssh_ext_name(CT_SSH_EXT_USER_RC), "permit-user-rc");
	assert_int_equal(ct_ssh_ext_parse("permit-pty "), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), conf, i == 0 ? bad[i] : "", i == 0 ? "" : bad[i]);
		cfg = NULL;
		if (ct_config_load_string(text, "bad", &cfg, NULL, &err) != CT_ECONFIG)
			fail_msg("accepted: %s", bad[i]);
		assert_null(cfg);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), conf, "ssh_key_type = \"ec-p256\";", good[i]);
		cfg = NULL;
		if (ct_config_load_string(text, "good", &cfg, NULL, &err) != CT_OK)
			fail_msg("refused: %s: %s", good[i], err.msg);
		assert_int_equal(cfg->groups[0].ssh_key_type, CT_KEY_EC_P256);
		assert_int_equal(cfg->targets[0].ssh.enabled, i != 0);
		ct_config_free(cfg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_items_are_keys),
	    cmocka_unit_test(test_init_makes_ssh_ca),
	    cmocka_unit_test(test_init_ecdsa),
	    cmocka_unit_test(test_load_refuses_mismatch),
	    cmocka_unit_test(test_prepare_and_rotate),
	    cmocka_unit_test(test_rotate_new_no_overlap),
	    cmocka_unit_test(test_ssh_init_old_group),
	    cmocka_unit_test(test_issue_fields),
	    cmocka_unit_test(test_issue_defaults),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_config_lengths),
	    cmocka_unit_test(test_index_ssh_serial),
	    cmocka_unit_test(test_krl),
	    cmocka_unit_test(test_krl_groups),
	    cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
