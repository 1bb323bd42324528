/* CA connectors: the registry, the capabilities, and the three
 * implementations; the command connector runs real programs (shell scripts
 * this test writes). */
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
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attrs.h"
#include "certindex.h"
#include "conf.h"
#include "connector.h"
#include "issue.h"
#include "store.h"
#include "proto.h"

struct fixture {
	char dir[64];
	struct ct_config *cfg;
	struct ct_ca *ca;
	struct ct_issuer *is;
	struct ct_attrs *attrs;
	unsigned char *spki, *spki2, *csr;
	size_t spki_len, spki2_len, csr_len;
};

/* loc, que, cmd and slow: a target for each connector; quek and quep: queue
 * targets whose checks an EC key (KeyEncipherment) or a long attribute
 * fail */
static const char conf_fmt[] =
    "store: { path = \"%s\"; };\n"
    "access_groups = ( { name = \"g\"; key_type = \"ec-p256\"; ca_days = 30; },\n"
    "  { name = \"r\"; key_type = \"rsa2048\"; } );\n"
    "templates = ( { name = \"client\"; key_usage = [ \"DigitalSignature\" ];\n"
    "    extended_key_usage = [ \"ClientAuth\" ]; },\n"
    "  { name = \"enc\"; key_usage = [ \"DigitalSignature\", \"KeyEncipherment\" ]; } );\n"
    "ca_connectors = ( { name = \"l\"; type = \"local\"; },\n"
    "  { name = \"q\"; type = \"queue\"; },\n"
    "  { name = \"c\"; type = \"command\"; command = [\"%s/ca.sh\", \"--flag\"]; timeout = 20; },\n"
    "  { name = \"s\"; type = \"command\"; command = [\"%s/slow.sh\"]; timeout = 1; } );\n"
    "targets = (\n"
    "  { name = \"loc\"; access_group = \"g\"; ca_connector = \"l\"; subject = "
    "\"CN=%%unix_account%%\"; lifetime = 600; },\n"
    "  { name = \"que\"; access_group = \"g\"; ca_connector = \"q\"; subject = \"CN=a\"; },\n"
    "  { name = \"quek\"; access_group = \"r\"; template = \"enc\"; ca_connector = \"q\";\n"
    "    subject = \"CN=a\"; },\n"
    "  { name = \"quep\"; access_group = \"g\"; ca_connector = \"q\";\n"
    "    subject = \"CN=%%unix_account%%/pseudonym=%%name%%\"; },\n"
    "  { name = \"cmd\"; access_group = \"g\"; ca_connector = \"c\"; subject = \"CN=a\"; },\n"
    "  { name = \"slow\"; access_group = \"g\"; ca_connector = \"s\"; subject = \"CN=a\"; } );\n";

static unsigned char *
new_key(size_t *spki_len, unsigned char **csr, size_t *csr_len)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *spki = NULL;
	struct ct_err err = {0};
	int n;

	assert_non_null(k);
	assert_true((n = i2d_PUBKEY(k, &spki)) > 0);
	*spki_len = (size_t)n;
	if (csr != NULL)
		assert_int_equal(ct_csr_make(k, "alice", csr, csr_len, &err), CT_OK);
	EVP_PKEY_free(k);
	return spki;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ct_err err = {0};
	struct ct_store *st = NULL;
	char text[3072];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/ct-connector-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof(text), conf_fmt, f->dir, f->dir, f->dir);
	if (ct_config_load_string(text, "t", &f->cfg, NULL, &err) != CT_OK ||
	    ct_store_open(f->cfg, 0, &st, &err) != CT_OK ||
	    ct_ca_init(st, ct_config_group(f->cfg, "g"), time(NULL), &err) != CT_OK ||
	    ct_ca_load(st, ct_config_group(f->cfg, "g"), &f->ca, &err) != CT_OK ||
	    ct_issuer_new(ct_config_target(f->cfg, "loc"), f->ca, &f->is, &err) != CT_OK)
		fail_msg("setup: %s", err.msg);
	ct_store_close(st);
	f->attrs = ct_attrs_new();
	assert_int_equal(ct_attrs_set(f->attrs, "unix_account", "alice", &err), CT_OK);
	f->spki = new_key(&f->spki_len, &f->csr, &f->csr_len);
	f->spki2 = new_key(&f->spki2_len, NULL, NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	ct_issuer_free(f->is);
	ct_ca_free(f->ca);
	ct_config_free(f->cfg);
	ct_attrs_free(f->attrs);
	OPENSSL_free(f->spki);
	OPENSSL_free(f->spki2);
	OPENSSL_free(f->csr);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* A request of alice's token CERT0001 for TARGET with the fixture's key. */
static void
request(struct fixture *f, struct ct_cx_request *rq, const char *target)
{
	memset(rq, 0, sizeof(*rq));
	rq->target = ct_config_target(f->cfg, target);
	assert_non_null(rq->target);
	rq->user = "alice";
	rq->token = "CERT0001";
	rq->spki = f->spki;
	rq->spki_len = f->spki_len;
	rq->csr = f->csr;
	rq->csr_len = f->csr_len;
	rq->attrs = f->attrs;
	rq->issuer = f->is;
	rq->now = time(NULL);
}

static char *
path_of(struct fixture *f, const char *name)
{
	static char path[2][128];
	static int i;

	i = !i;
	snprintf(path[i], sizeof(path[i]), "%s/%s", f->dir, name);
	return path[i];
}

/* The program NAME in the test directory: #!/bin/sh, then BODY, in which
 * every "@" stands for the test directory. */
static void
script(struct fixture *f, const char *name, const char *body)
{
	FILE *fp = fopen(path_of(f, name), "w");

	assert_non_null(fp);
	fputs("#!/bin/sh\n", fp);
	for (; *body != '\0'; body++)
		if (*body == '@')
			fputs(f->dir, fp);
		else
			fputc(*body, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path_of(f, name), 0700), 0);
}

/* The file NAME the program wrote (with the program's umask, so not through
 * the store's safe reader), NUL-terminated. */
static char *
slurp(struct fixture *f, const char *name)
{
	FILE *fp = fopen(path_of(f, name), "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	assert_true(n < 65535);
	fclose(fp);
	return buf;
}

/* Issue a certificate for SPKI with the local CA, write it as PEM to NAME
 * in the test directory, and give its DER. */
static unsigned char *
cert_file(struct fixture *f, const unsigned char *spki, size_t spki_len, const char *name,
    size_t *der_len)
{
	unsigned char *der = NULL;
	struct ct_err err = {0};
	FILE *fp;

	if (ct_issue(f->is, f->attrs, spki, spki_len, time(NULL), &der, der_len, &err) != CT_OK)
		fail_msg("ct_issue: %s", err.msg);
	fp = fopen(path_of(f, name), "w");
	assert_non_null(fp);
	assert_true(PEM_write(fp, PEM_STRING_X509, "", der, (long)*der_len) > 0);
	assert_int_equal(fclose(fp), 0);
	return der;
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Has the NUL-terminated environment dump ENV the line LINE? */
static int
has_line(const char *env, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = env; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

/* ---- the registry and the capabilities ---- */

static void
test_types(void **state)
{
	static const char *const names[] = {"local", "queue", "command"};
	const char *list = ct_connector_type_list();

	(void)state;
	assert_int_equal(ct_connector_type_parse("local"), CT_CONNECTOR_LOCAL);
	assert_int_equal(ct_connector_type_parse("queue"), CT_CONNECTOR_QUEUE);
	assert_int_equal(ct_connector_type_parse("command"), CT_CONNECTOR_COMMAND);
	for (size_t i = 0; i < 3; i++) {
		int t = ct_connector_type_parse(names[i]);
		assert_true(t >= 0);
		assert_string_equal(ct_connector_type_name((enum ct_connector_type)t), names[i]);
		assert_non_null(strstr(list, names[i]));
	}
	assert_int_equal(ct_connector_type_parse("x509"), -1);
	assert_int_equal(ct_connector_type_parse(""), -1);
	assert_int_equal(ct_connector_type_parse("Local"), -1);
	assert_int_equal(ct_connector_type_parse("local "), -1);
	assert_string_equal(ct_connector_type_name((enum ct_connector_type)3), "?");
	assert_string_equal(ct_connector_type_name((enum ct_connector_type) - 1), "?");
}

static void
test_caps(void **state)
{
	struct fixture *f = *state;
	const struct ct_connector *l = ct_config_target(f->cfg, "loc")->connector,
	                          *q = ct_config_target(f->cfg, "que")->connector,
	                          *c = ct_config_target(f->cfg, "cmd")->connector;
	struct ct_connector unknown = {.name = "u", .type = (enum ct_connector_type)7};

	/* local signs here and can take a service-made key */
	assert_int_equal(ct_connector_caps(l), CT_CX_SIGNS_HERE | CT_CX_CAN_KEYGEN);
	/* queue waits for an administrator and keeps the CSR meanwhile */
	assert_int_equal(ct_connector_caps(q), CT_CX_ADMIN_APPROVES | CT_CX_KEEPS_CSR);
	/* command: another CA, asked again by fetch, a program, keeps the CSR */
	assert_int_equal(ct_connector_caps(c),
	    CT_CX_EXTERNAL | CT_CX_CAN_KEYGEN | CT_CX_FETCH | CT_CX_RUNS_PROGRAM | CT_CX_KEEPS_CSR);
	assert_int_equal(ct_connector_caps(&unknown), 0);
	assert_non_null(strstr(ct_connector_pending_why(q), "administrator"));
	assert_null(strstr(ct_connector_pending_why(c), "administrator"));
	assert_non_null(ct_connector_pending_why(&unknown));
}

/* ---- local and queue ---- */

static void
test_queue(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};

	request(f, &rq, "que");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EPENDING);
	assert_string_equal(res.ref, "-");
	assert_null(res.der);
	assert_int_equal(res.has_info, 0);
	assert_string_equal(err.msg, "");
	/* nothing to ask again: still pending */
	rq.ref = "-";
	assert_int_equal(ct_connector_fetch(&rq, &res, &err), CT_EPENDING);
	assert_string_equal(res.ref, "-");
	assert_null(res.der);
	ct_cx_result_clear(&res);
}

/* A queue target refuses at request time what approval would refuse: an EC
 * key for a KeyEncipherment template, a subject attribute over its upper
 * bound, a missing attribute; without attributes nothing is checked. */
static void
test_queue_checks(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};
	char nick[130];

	request(f, &rq, "quek");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "KeyEncipherment"));
	assert_null(res.der);
	memset(&err, 0, sizeof(err));
	rq.attrs = NULL;
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EPENDING);
	request(f, &rq, "quep");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "quep"));
	memset(nick, 'n', 128);
	nick[128] = '\0';
	memset(&err, 0, sizeof(err));
	assert_int_equal(ct_attrs_set(f->attrs, "name", nick, &err), CT_OK);
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EPENDING);
	nick[128] = 'n';
	nick[129] = '\0';
	assert_int_equal(ct_attrs_set(f->attrs, "name", nick, &err), CT_OK);
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "pseudonym"));
}

static void
test_local(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};
	unsigned char *pub = NULL;
	const unsigned char *p;
	X509 *x;
	int n;

	request(f, &rq, "loc");
	if (ct_connector_issue(&rq, &res, &err) != CT_OK)
		fail_msg("issue: %s", err.msg);
	assert_non_null(res.der);
	assert_int_equal(res.has_info, 0);
	p = res.der;
	x = d2i_X509(NULL, &p, (long)res.der_len);
	assert_non_null(x);
	assert_ptr_equal(p, res.der + res.der_len);
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &pub);
	assert_int_equal(n, (int)f->spki_len);
	assert_memory_equal(pub, f->spki, f->spki_len);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ct_ca_cert(f->ca))), 1);
	OPENSSL_free(pub);
	X509_free(x);
	ct_cx_result_clear(&res);
	assert_null(res.der);
	/* no fetch: pending */
	assert_int_equal(ct_connector_fetch(&rq, &res, &err), CT_EPENDING);
	/* no issuer loaded */
	rq.issuer = NULL;
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "no issuer"));
	assert_null(res.der);
	ct_err_clear(&err);
	rq.issuer = f->is;
	rq.attrs = NULL;
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_ECONFIG);
	assert_null(res.der);
}

/* ---- command ---- */

static void
test_command_issued(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};
	unsigned char *der;
	char serial[CT_CERT_SERIAL_MAX];
	size_t der_len = 0;
	X509 *x;
	const unsigned char *p;

	der = cert_file(f, f->spki, f->spki_len, "cert.pem", &der_len);
	script(f, "ca.sh", "cat >/dev/null\necho 'some words first'\ncat @/cert.pem\n");
	request(f, &rq, "cmd");
	if (ct_connector_issue(&rq, &res, &err) != CT_OK)
		fail_msg("issue: %s", err.msg);
	/* the certificate, and what was read from it */
	assert_int_equal(res.der_len, der_len);
	assert_memory_equal(res.der, der, der_len);
	assert_int_equal(res.has_info, 1);
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	assert_non_null(x);
	assert_int_equal(ct_cert_serial_hex(x, serial), CT_OK);
	assert_string_equal(res.info.serial, serial);
	assert_string_equal(res.info.subject, "CN=alice");
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), res.info.not_after), 0);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), res.info.not_before), 0);
	X509_free(x);
	ct_cx_result_clear(&res);
	assert_null(res.der);
	/* fetch: the same program, asked again */
	rq.ref = "REF-1";
	if (ct_connector_fetch(&rq, &res, &err) != CT_OK)
		fail_msg("fetch: %s", err.msg);
	assert_int_equal(res.der_len, der_len);
	assert_memory_equal(res.der, der, der_len);
	ct_cx_result_clear(&res);
	free(der);
}

/* What the program gets: its arguments, the CSR as PEM on stdin, and an
 * environment of the request's names and nothing of ours. */
static void
test_command_input(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};
	unsigned char *csr_der = NULL;
	char *in;
	BIO *bio;
	X509_REQ *req;

	script(f, "ca.sh",
	    "cat > @/stdin.pem\n"
	    "env > @/env.txt\n"
	    "printf '%s\\n' \"$#\" \"$1\" > @/args.txt\n"
	    "exit 75\n");
	assert_int_equal(setenv("CT_TEST_NOT_PASSED", "1", 1), 0);
	request(f, &rq, "cmd");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EPENDING);
	unsetenv("CT_TEST_NOT_PASSED");
	in = slurp(f, "stdin.pem");
	assert_int_equal(strncmp(in, "-----BEGIN CERTIFICATE REQUEST-----\n", 36), 0);
	bio = BIO_new_mem_buf(in, -1);
	assert_non_null(bio);
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	assert_non_null(req);
	assert_int_equal(i2d_X509_REQ(req, &csr_der), (int)f->csr_len);
	assert_memory_equal(csr_der, f->csr, f->csr_len);
	OPENSSL_free(csr_der);
	X509_REQ_free(req);
	BIO_free(bio);
	free(in);
	in = slurp(f, "args.txt");
	assert_string_equal(in, "1\n--flag\n");
	free(in);
	in = slurp(f, "env.txt");
	assert_true(has_line(in, "CERTTOKEN_ACTION=issue"));
	assert_true(has_line(in, "CERTTOKEN_TARGET=cmd"));
	assert_true(has_line(in, "CERTTOKEN_ACCESS_GROUP=g"));
	assert_true(has_line(in, "CERTTOKEN_USER=alice"));
	assert_true(has_line(in, "CERTTOKEN_TOKEN=CERT0001"));
	assert_true(has_line(in, "CERTTOKEN_REQUEST=-"));
	assert_null(strstr(in, "CT_TEST_NOT_PASSED"));
	free(in);
	/* fetch tells the action and the CA's reference */
	rq.ref = "REF-1";
	assert_int_equal(ct_connector_fetch(&rq, &res, &err), CT_EPENDING);
	in = slurp(f, "env.txt");
	assert_true(has_line(in, "CERTTOKEN_ACTION=fetch"));
	assert_true(has_line(in, "CERTTOKEN_REQUEST=REF-1"));
	assert_true(has_line(in, "CERTTOKEN_TOKEN=CERT0001"));
	free(in);
}

static void
test_command_pending(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};

	request(f, &rq, "cmd");
	script(f, "ca.sh", "cat >/dev/null\nprintf 'REF-1\\n'\nexit 75\n");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EPENDING);
	assert_string_equal(res.ref, "REF-1");
	assert_string_equal(res.note, "");
	assert_null(res.der);
	/* only the first line is the reference */
	script(f, "ca.sh", "cat >/dev/null\nprintf 'a.b:c/d+e=f_9\\nmore\\n'\nexit 75\n");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EPENDING);
	assert_string_equal(res.ref, "a.b:c/d+e=f_9");
	/* an unusable reference: none, and a note saying so */
	script(f, "ca.sh", "cat >/dev/null\nprintf 'ticket #12 opened\\n'\nexit 75\n");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EPENDING);
	assert_string_equal(res.ref, "-");
	assert_non_null(strstr(res.note, "not usable"));
	assert_non_null(strstr(res.note, "CA connector c"));
	/* no output at all: no reference, nothing to note */
	script(f, "ca.sh", "cat >/dev/null\nexit 75\n");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EPENDING);
	assert_string_equal(res.ref, "-");
	assert_string_equal(res.note, "");
	/* pending again on fetch */
	rq.ref = "REF-1";
	script(f, "ca.sh", "cat >/dev/null\necho \"$CERTTOKEN_REQUEST\"\nexit 75\n");
	assert_int_equal(ct_connector_fetch(&rq, &res, &err), CT_EPENDING);
	assert_string_equal(res.ref, "REF-1");
	assert_string_equal(err.msg, "");
}

static void
test_command_fails(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};

	request(f, &rq, "cmd");
	script(f, "ca.sh",
	    "cat >/dev/null\necho 'quota exceeded for alice' >&2\necho 'other' >&2\nexit 3\n");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, "CA connector c"));
	assert_non_null(strstr(err.msg, "exit 3"));
	assert_non_null(strstr(err.msg, "quota exceeded for alice"));
	assert_null(res.der);
	/* no program there */
	ct_err_clear(&err);
	assert_int_equal(unlink(path_of(f, "ca.sh")), 0);
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, "CA connector c"));
	assert_null(res.der);
}

static void
test_command_bad_answers(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};
	unsigned char *der;
	size_t der_len = 0;

	request(f, &rq, "cmd");
	/* exit 0 with garbage */
	script(f, "ca.sh", "cat >/dev/null\necho 'all good, trust me'\n");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "no PEM certificate"));
	assert_null(res.der);
	assert_int_equal(res.has_info, 0);
	/* exit 0 with nothing */
	ct_err_clear(&err);
	script(f, "ca.sh", "cat >/dev/null\n");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "no PEM certificate"));
	/* a certificate, for another key */
	ct_err_clear(&err);
	der = cert_file(f, f->spki2, f->spki2_len, "other.pem", &der_len);
	script(f, "ca.sh", "cat >/dev/null\ncat @/other.pem\n");
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "not for the requested key"));
	assert_null(res.der);
	assert_int_equal(res.has_info, 0);
	free(der);
}

static void
test_command_timeout(void **state)
{
	struct fixture *f = *state;
	struct ct_cx_request rq;
	struct ct_cx_result res;
	struct ct_err err = {0};
	double t0, took;

	script(f, "slow.sh", "cat >/dev/null\nsleep 30\n");
	request(f, &rq, "slow");
	t0 = seconds();
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EUNAVAIL);
	took = seconds() - t0;
	assert_non_null(strstr(err.msg, "timed out"));
	assert_non_null(strstr(err.msg, "CA connector s"));
	assert_true(took >= 0.9);
	assert_true(took < 3.0);
	assert_null(res.der);
	/* a caller's deadline shortens a longer limit (here 20 s), leaving it
	 * a second */
	script(f, "ca.sh", "cat >/dev/null\nsleep 30\n");
	request(f, &rq, "cmd");
	rq.deadline = ct_now_ms() + 2500;
	ct_err_clear(&err);
	t0 = seconds();
	assert_int_equal(ct_connector_issue(&rq, &res, &err), CT_EUNAVAIL);
	took = seconds() - t0;
	assert_non_null(strstr(err.msg, "timed out"));
	assert_true(took < 3.0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_types),
	    T(test_caps),
	    T(test_queue),
	    T(test_queue_checks),
	    T(test_local),
	    T(test_command_issued),
	    T(test_command_input),
	    T(test_command_pending),
	    T(test_command_fails),
	    T(test_command_bad_answers),
	    T(test_command_timeout),
	};

	return cmocka_run_group_tests_name("connector", tests, NULL, NULL);
}
