/* A whole store copied into another and compared, and one store checked
 * (storecopy.h), between two files stores: every kind of item (OTP and
 * certificate tokens, the index, revocations, a pending request, an
 * upload, a CA with a prepared next one, a published CRL), a second copy
 * that writes nothing, each difference found, and each inconsistency that
 * ct_store_check reports. */
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

#include <openssl/x509.h>

#include "ca.h"
#include "certindex.h"
#include "certtoken.h"
#include "crl.h"
#include "requests.h"
#include "rotate.h"
#include "store.h"
#include "storecopy.h"
#include "tokens.h"

#define CONF                                                                                       \
	"store: { path = \"%s\"; };\n"                                                             \
	"access_groups = ( { name = \"default\"; }, { name = \"ops\"; } );\n"                      \
	"targets = ( { name = \"api\"; access_group = \"default\"; subject = "                     \
	"\"CN=%%unix_account%%\"; } );\n"

#define CRL_PEM "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"

struct two {
	char dir[2][64];
	struct ct_config *cfg[2];
	struct ct_store *st[2];
	char lines[32][CT_ERR_MAX];
	int n;
	char serial[2][CT_CERT_SERIAL_MAX]; /* two index entries */
};

static void
collect(void *ctx, const char *line)
{
	struct two *t = ctx;

	if (t->n < 32)
		snprintf(t->lines[t->n], sizeof(t->lines[0]), "%s", line);
	t->n++;
}

/* Was a line containing S reported? */
static int
reported(const struct two *t, const char *s)
{
	int i;

	for (i = 0; i < t->n && i < 32; i++)
		if (strstr(t->lines[i], s) != NULL)
			return 1;
	return 0;
}

static int
setup(void **state)
{
	struct two *t = calloc(1, sizeof(*t));
	struct ct_err err = {0};
	char text[512];
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(t->dir[i], sizeof(t->dir[i]), "/tmp/ct-storecopy-XXXXXX");
		if (mkdtemp(t->dir[i]) == NULL)
			return -1;
		snprintf(text, sizeof(text), CONF, t->dir[i]);
		if (ct_config_load_string(text, "test.conf", &t->cfg[i], NULL, &err) != CT_OK ||
		    ct_store_open(t->cfg[i], CT_STORE_CREATE | CT_STORE_TOKENS, &t->st[i], &err) !=
		        CT_OK) {
			fprintf(stderr, "setup: %s\n", err.msg);
			return -1;
		}
	}
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct two *t = *state;
	char cmd[160];
	int i;

	for (i = 0; i < 2; i++) {
		ct_store_close(t->st[i]);
		ct_config_free(t->cfg[i]);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir[i]);
		if (system(cmd) != 0)
			return -1;
	}
	free(t);
	return 0;
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

static void
otp_token(struct ct_store *st, const char *user, const char *serial, uint64_t counter)
{
	struct ct_token tok;
	struct ct_err err = {0};

	memset(&tok, 0, sizeof(tok));
	snprintf(tok.serial, sizeof(tok.serial), "%s", serial);
	tok.type = CT_TOKEN_HOTP;
	tok.active = 1;
	tok.digits = 6;
	tok.last_step = -1;
	tok.counter = counter;
	tok.secret_len = 20;
	memset(tok.secret, 0x5a, 20);
	strcpy(tok.rollout_state, "enrolled");
	tok.created = 1763800000;
	assert_int_equal(ct_store_update(st, user, add_token, &tok, &err), CT_OK);
}

/* A certificate token SERIAL of USER for certificate CERT (issued for a
 * target, or uploaded when TARGET is ""). */
static void
cert_token(struct ct_store *st, const char *user, const char *serial, const char *target,
    const char *cert, const char *state)
{
	struct ct_token tok;
	struct ct_err err = {0};

	ct_certtoken_init(&tok, serial, target, state, "test", 1763800000);
	snprintf(tok.cert_serial, sizeof(tok.cert_serial), "%s", cert);
	tok.not_after = (int64_t)time(NULL) + 86400;
	assert_int_equal(ct_store_update(st, user, add_token, &tok, &err), CT_OK);
}

/* The DER of GROUP's CA certificate, used as an "issued" certificate. */
static void
ca_der(struct ct_store *st, const char *group, const struct ct_config *cfg, unsigned char **der,
    int *len, char serial[CT_CERT_SERIAL_MAX])
{
	struct ct_ca *ca = NULL;
	struct ct_err err = {0};

	assert_int_equal(ct_ca_load(st, ct_config_group(cfg, group), &ca, &err), CT_OK);
	*der = NULL;
	*len = i2d_X509(ct_ca_cert(ca), der);
	assert_true(*len > 0);
	assert_int_equal(ct_cert_serial_hex(ct_ca_cert(ca), serial), CT_OK);
	ct_ca_free(ca);
}

static unsigned char csr[] = {0x30, 0x03, 0x02, 0x01, 0x05};

/* A pending request TOKEN of USER, with its pending token unless ALONE. */
static void
pending(struct ct_store *st, const char *user, const char *token, int64_t created, int alone)
{
	struct ct_request r;
	struct ct_token tok;
	struct ct_err err = {0};

	memset(&r, 0, sizeof(r));
	snprintf(r.token, sizeof(r.token), "%s", token);
	snprintf(r.user, sizeof(r.user), "%s", user);
	strcpy(r.target, "api");
	strcpy(r.ref, "-");
	r.created = created;
	r.polled = created + 5;
	r.csr = csr;
	r.csr_len = sizeof(csr);
	if (alone)
		assert_int_equal(ct_request_save(st, &r, &err), CT_OK);
	else
		assert_int_equal(
		    ct_certtoken_record_pending(st, &r, "pending one", &tok, &err), CT_OK);
}

/* Everything a store holds, in store 0. */
static void
populate(struct two *t)
{
	struct ct_store *st = t->st[0];
	struct ct_err err = {0};
	X509 *next = NULL, *replaced = NULL;
	unsigned char *der[2];
	int len[2];

	otp_token(st, "alice", "HOTP0001", 7);
	otp_token(st, "bob", "HOTP0002", 3);
	assert_int_equal(
	    ct_ca_init(st, ct_config_group(t->cfg[0], "default"), time(NULL), &err), CT_OK);
	assert_int_equal(
	    ct_ca_init(st, ct_config_group(t->cfg[0], "ops"), time(NULL), &err), CT_OK);
	ca_der(st, "default", t->cfg[0], &der[0], &len[0], t->serial[0]);
	ca_der(st, "ops", t->cfg[0], &der[1], &len[1], t->serial[1]);
	assert_int_equal(ct_ca_prepare(st, ct_config_group(t->cfg[0], "ops"), time(NULL), 0, &next,
	                     &replaced, &err),
	    CT_OK);
	X509_free(next);
	assert_int_equal(ct_certindex_add(st, t->serial[0], "alice", "api", "default", "CERT0001",
	                     der[0], (size_t)len[0], &err),
	    CT_OK);
	cert_token(st, "alice", "CERT0001", "api", t->serial[0], "enrolled");
	assert_int_equal(ct_certindex_add(st, t->serial[1], "bob", "api", "ops", "-", der[1],
	                     (size_t)len[1], &err),
	    CT_OK);
	assert_int_equal(ct_revoke(st, t->serial[1], "ops", 1, 1763900000, &err), CT_OK);
	pending(st, "alice", "CERT0002", (int64_t)time(NULL) - 60, 0);
	assert_int_equal(ct_upload_save(st, "CERT0003", der[1], (size_t)len[1], &err), CT_OK);
	cert_token(st, "bob", "CERT0003", "", "0A0B", "enrolled");
	assert_int_equal(ct_crl_publish(st, "default", CRL_PEM, strlen(CRL_PEM), &err), CT_OK);
	OPENSSL_free(der[0]);
	OPENSSL_free(der[1]);
}

static void
test_copy_then_equal(void **state)
{
	struct two *t = *state;
	struct ct_storecopy_stats n;
	struct ct_err err = {0};

	populate(t);
	assert_int_equal(ct_store_check(t->st[0], time(NULL), 86400, collect, t, &err), 0);
	assert_int_equal(ct_storecopy_copy(t->st[0], t->st[1], t->cfg[0], &n, &err), CT_OK);
	assert_int_equal(n.users, 2);
	assert_int_equal(n.certs, 2);
	assert_int_equal(n.revocations, 1);
	assert_int_equal(n.requests, 1);
	assert_int_equal(n.uploads, 1);
	assert_int_equal(n.groups, 2);
	assert_int_equal(n.crls, 1);
	assert_int_equal(ct_storecopy_compare(t->st[0], t->st[1], t->cfg[0], collect, t, &err), 0);
	assert_int_equal(t->n, 0);
	/* the copy is as consistent as its source */
	assert_int_equal(ct_store_check(t->st[1], time(NULL), 86400, collect, t, &err), 0);
	/* a second copy finds everything there and writes nothing */
	assert_int_equal(ct_storecopy_copy(t->st[0], t->st[1], t->cfg[0], &n, &err), CT_OK);
	assert_int_equal(
	    n.users + n.certs + n.revocations + n.requests + n.uploads + n.groups + n.crls, 0);
	assert_int_equal(ct_storecopy_compare(t->st[0], t->st[1], t->cfg[0], collect, t, &err), 0);
}

/* ct_store_update: move the counter of token HOTP0001 on. */
static int
bump(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)ctx;
	(void)user;
	(void)err;
	u->tok[0].counter++;
	return CT_OK;
}

static void
test_differences_reported(void **state)
{
	struct two *t = *state;
	struct ct_storecopy_stats n;
	struct ct_err err = {0};
	char line[128];

	populate(t);
	assert_int_equal(ct_storecopy_copy(t->st[0], t->st[1], t->cfg[0], &n, &err), CT_OK);
	assert_int_equal(ct_store_update(t->st[1], "alice", bump, NULL, &err), CT_OK);
	ct_certindex_remove(t->st[1], t->serial[0]);
	otp_token(t->st[1], "carol", "HOTP0009", 0);
	assert_int_equal(ct_request_remove(t->st[1], "CERT0002", &err), CT_OK);
	assert_int_equal(
	    ct_crl_publish(t->st[1], "default", CRL_PEM "\n", strlen(CRL_PEM) + 1, &err), CT_OK);
	assert_int_equal(ct_storecopy_compare(t->st[0], t->st[1], t->cfg[0], collect, t, &err), 5);
	assert_true(reported(t, "user alice: token HOTP0001: counter differs"));
	snprintf(line, sizeof(line), "certificate %s: only in the source", t->serial[0]);
	assert_true(reported(t, line));
	assert_true(reported(t, "user carol: token HOTP0009: only in the destination"));
	assert_true(reported(t, "pending request CERT0002: only in the source"));
	assert_true(reported(t, "access group default: published CRL: differs"));
	/* and the copy leaves what the destination has: alice's counter stays */
	t->n = 0;
	assert_int_equal(ct_storecopy_copy(t->st[0], t->st[1], t->cfg[0], &n, &err), CT_OK);
	assert_int_equal(n.users, 0);
	assert_int_equal(n.certs, 1);
	assert_int_equal(ct_storecopy_compare(t->st[0], t->st[1], t->cfg[0], collect, t, &err), 2);
}

/* ct_store_update: a source of OTP attempts for the user, throttled. */
static int
add_source(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)ctx;
	(void)user;
	(void)err;
	memset(&u->src[0], 0, sizeof(u->src[0]));
	memset(u->src[0].id, 'a', CT_SOURCE_ID_LEN);
	u->src[0].failcount = 3;
	u->src[0].until = 1900000000;
	u->n_src = 1;
	return CT_OK;
}

/* The per-source throttle state and the SSH CA items are compared too
 * (each with its name: the SSH items had none). */
static void
test_sources_and_ssh_compared(void **state)
{
	struct two *t = *state;
	struct ct_storecopy_stats n;
	struct ct_err err = {0};
	X509 *next = NULL, *replaced = NULL;
	int i;

	populate(t);
	assert_int_equal(ct_storecopy_copy(t->st[0], t->st[1], t->cfg[0], &n, &err), CT_OK);
	assert_int_equal(ct_store_update(t->st[1], "alice", add_source, NULL, &err), CT_OK);
	assert_int_equal(ct_ca_prepare(t->st[1], ct_config_group(t->cfg[0], "default"), time(NULL),
	                     0, &next, &replaced, &err),
	    CT_OK);
	X509_free(next);
	X509_free(replaced);
	assert_true(ct_storecopy_compare(t->st[0], t->st[1], t->cfg[0], collect, t, &err) >= 4);
	assert_true(reported(t, "user alice: source aaaaaaaa"));
	assert_true(reported(t, ": only in the destination"));
	assert_true(
	    reported(t, "access group default: prepared SSH CA key: only in the destination"));
	assert_true(reported(
	    t, "access group default: prepared SSH CA public key: only in the destination"));
	for (i = 0; i < t->n && i < 32; i++)
		assert_null(strstr(t->lines[i], "(null)"));
}

static void
test_check_finds_each_inconsistency(void **state)
{
	struct two *t = *state;
	struct ct_err err = {0};
	STACK_OF(X509) *anchors = NULL;
	unsigned char *der;
	char serial[CT_CERT_SERIAL_MAX], line[160];
	int len;

	populate(t);
	/* an index entry whose token is gone: the token deleted in the store
	 * (the certificate: the prepared CA of group ops) */
	assert_int_equal(
	    ct_ca_trust(t->st[0], ct_config_group(t->cfg[0], "ops"), time(NULL), &anchors, &err),
	    CT_OK);
	assert_int_equal(sk_X509_num(anchors), 2);
	der = NULL;
	len = i2d_X509(sk_X509_value(anchors, 1), &der);
	assert_int_equal(ct_cert_serial_hex(sk_X509_value(anchors, 1), serial), CT_OK);
	sk_X509_pop_free(anchors, X509_free);
	assert_int_equal(ct_certindex_add(t->st[0], serial, "alice", "api", "default", "CERTGONE",
	                     der, (size_t)len, &err),
	    CT_OK);
	OPENSSL_free(der);
	/* a token whose certificate is not in the index */
	cert_token(t->st[0], "bob", "CERT0004", "api", "0E0F", "enrolled");
	/* a pending token without its request, and a request without its token */
	cert_token(t->st[0], "bob", "CERT0005", "api", "", "pending");
	assert_int_equal(ct_request_remove(t->st[0], "CERT0002", &err), CT_OK);
	pending(t->st[1], "dave", "CERT0006", 1000, 1);
	/* a revocation of a serial the index does not have */
	assert_int_equal(ct_revoke(t->st[0], "ABCD", "ops", 0, 1763900000, &err), CT_OK);
	assert_int_equal(ct_store_check(t->st[0], time(NULL), 86400, collect, t, &err), 5);
	snprintf(line, sizeof(line),
	    "certificate %s: its token CERTGONE is not among the tokens of user alice", serial);
	assert_true(reported(t, line));
	assert_true(
	    reported(t, "user bob: token CERT0004: its certificate 0E0F is not in the index"));
	assert_true(reported(t, "user bob: token CERT0005 is pending, but has no pending request"));
	assert_true(
	    reported(t, "user alice: token CERT0002 is pending, but has no pending request"));
	assert_true(reported(t, "revocation of ABCD (access group ops): no such certificate"));
	/* the request without its token, and it is older than a day */
	t->n = 0;
	assert_int_equal(ct_store_check(t->st[1], time(NULL), 86400, collect, t, &err), 2);
	assert_true(reported(t, "pending request CERT0006 of user dave: waiting since 1970-01-01"));
	t->n = 0;
	assert_int_equal(ct_store_check(t->st[1], time(NULL), 0, collect, t, &err), 1);
	assert_true(
	    reported(t, "pending request CERT0006: user dave has no pending token CERT0006"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_copy_then_equal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_differences_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sources_and_ssh_compared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_finds_each_inconsistency, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
