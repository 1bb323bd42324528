/* The certificate-token lifecycle: describing a certificate from its DER,
 * making room, adding, recording issued and pending certificates,
 * approving, rejecting and revoking, against a real files store. */
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
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attrs.h"
#include "certindex.h"
#include "certtoken.h"
#include "conf.h"
#include "issue.h"
#include "requests.h"
#include "store.h"
#include "tokens.h"
#include "open_store.h"

#define LIFETIME 3600
#define BACKDATE 60

/* The tests' clock: the real one, as ct_certtoken_add makes room by it. */
static time_t now0;

struct fixture {
	char dir[64];
	struct ct_config *cfg;
	struct ct_ca *ca;
	struct ct_issuer *is;
	struct ct_attrs *attrs;
	struct ct_store *db;
	unsigned char *spki;
	size_t spki_len;
	unsigned char *csr;
	size_t csr_len;
};

static const char conf_fmt[] =
    "store: { path = \"%s\"; };\n"
    "access_groups = ( { name = \"g\"; key_type = \"ec-p256\"; ca_days = 3650; } );\n"
    "targets = ( { name = \"t\"; access_group = \"g\";\n"
    "  subject = \"CN=%%unix_account%%/O=%%name%%\";\n"
    "  lifetime = %d; backdate = %d; } );\n";

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ct_err err = {0};
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char text[512];
	int n;

	assert_non_null(f);
	assert_non_null(k);
	strcpy(f->dir, "/tmp/ct-certtoken-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof(text), conf_fmt, f->dir, LIFETIME, BACKDATE);
	if (ct_config_load_string(text, "t", &f->cfg, NULL, &err) != CT_OK ||
	    open_store(f->dir, 1, &f->db, &err) != CT_OK ||
	    ct_ca_init(f->db, &f->cfg->groups[0], now0 - 86400, &err) != CT_OK ||
	    ct_ca_load(f->db, &f->cfg->groups[0], &f->ca, &err) != CT_OK ||
	    ct_issuer_new(&f->cfg->targets[0], f->ca, &f->is, &err) != CT_OK)
		fail_msg("setup: %s", err.msg);
	/* the index's directory, as certtokend makes it at start */
	snprintf(text, sizeof(text), "%s/certs", f->dir);
	if (ct_store_mkdir(text, &err) != CT_OK)
		fail_msg("setup: %s", err.msg);
	f->attrs = ct_attrs_new();
	assert_int_equal(ct_attrs_set(f->attrs, "unix_account", "alice", &err), CT_OK);
	/* UTF-8 is kept as it is, a comma is escaped (RFC 2253) */
	assert_int_equal(ct_attrs_set(f->attrs, "name", "Caf\xc3\xa9, Inc.", &err), CT_OK);
	assert_true((n = i2d_PUBKEY(k, &f->spki)) > 0);
	f->spki_len = (size_t)n;
	assert_int_equal(ct_csr_make(k, "alice", &f->csr, &f->csr_len, &err), CT_OK);
	EVP_PKEY_free(k);
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
	ct_store_close(f->db);
	ct_issuer_free(f->is);
	ct_ca_free(f->ca);
	ct_config_free(f->cfg);
	ct_attrs_free(f->attrs);
	OPENSSL_free(f->spki);
	OPENSSL_free(f->csr);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* A new certificate for the fixture's key, issued at now0. */
static void
issue(struct fixture *f, unsigned char **der, size_t *len)
{
	struct ct_err err = {0};

	if (ct_issue(f->is, f->attrs, f->spki, f->spki_len, now0, der, len, &err) != CT_OK)
		fail_msg("ct_issue: %s", err.msg);
}

static X509 *
decode(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	assert_non_null(x);
	return x;
}

/* Seconds since the epoch of T, computed apart from the library. */
static int64_t
epoch_of(const ASN1_TIME *t)
{
	ASN1_TIME *zero = ASN1_TIME_set(NULL, 0);
	int day = 0, sec = 0;

	assert_non_null(zero);
	assert_int_equal(ASN1_TIME_diff(&day, &sec, zero, t), 1);
	ASN1_TIME_free(zero);
	return (int64_t)day * 86400 + sec;
}

static void
cert_token(
    struct ct_token *t, const char *serial, const char *rollout, int64_t created, int64_t not_after)
{
	ct_certtoken_init(t, serial, "t", rollout, "laptop", (time_t)created);
	t->not_after = not_after;
}

static void
otp_token(struct ct_token *t, const char *serial)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->serial, sizeof(t->serial), "%s", serial);
	t->type = CT_TOKEN_TOTP;
	t->active = 1;
	t->algo = CT_OTP_SHA1;
	t->digits = 6;
	t->period = 30;
	t->secret_len = 20;
	memset(t->secret, 0xa5, t->secret_len);
	t->last_step = -1;
	strcpy(t->rollout_state, "enrolled");
	t->created = now0 - 1000;
}

static void
put_tokens(struct fixture *f, const char *user, const struct ct_user_tokens *ut)
{
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};

	assert_int_equal(ct_tokens_begin(f->db, user, &tx, &err), CT_OK);
	if (ct_tokens_write(tx, ut, &err) != CT_OK)
		fail_msg("write: %s", err.msg);
	ct_tokens_end(tx);
}

/* USER's tokens; the user must have some. */
static void
peek(struct fixture *f, const char *user, struct ct_user_tokens *ut)
{
	struct ct_err err = {0};

	memset(ut, 0, sizeof(*ut));
	if (ct_tokens_peek(f->db, user, ut, &err) != CT_OK)
		fail_msg("peek %s: %s", user, err.msg);
}

static const struct ct_token *
find(const struct ct_user_tokens *ut, const char *serial)
{
	for (size_t i = 0; i < ut->n; i++)
		if (strcmp(ut->tok[i].serial, serial) == 0)
			return &ut->tok[i];
	return NULL;
}

/* The bytes of USER's token file ("" when there is none). */
static char *
token_file(struct fixture *f, const char *user)
{
	char path[128];
	unsigned char *buf = NULL;
	size_t len = 0;
	struct ct_err err = {0};

	snprintf(path, sizeof(path), "%s/tokens/%s", f->dir, user);
	if (access(path, F_OK) != 0)
		return strdup("");
	if (ct_file_read(path, CT_FILE_MAX, &buf, &len, &err) != CT_OK)
		fail_msg("read %s: %s", path, err.msg);
	return (char *)buf;
}

static void
rec_init(struct fixture *f, struct ct_certtoken_rec *r, const char *token, const unsigned char *der,
    size_t len)
{
	memset(r, 0, sizeof(*r));
	r->st = f->db;
	r->user = "alice";
	r->target = "t";
	r->group = "g";
	r->token = token;
	r->desc = "laptop";
	r->der = der;
	r->der_len = len;
	r->now = now0;
}

/* ---- ct_cert_describe ---- */

/* A subject (say from a command CA's answer) with a C1 control, a bidi
 * override and a line separator is described with them as RFC 4514 hex
 * pairs, other UTF-8 left alone (issue 13) */
static void
test_describe_escapes_names(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	struct ct_cert_desc d;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	int n;

	(void)state;
	assert_non_null(key);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x51), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
	                     (const unsigned char *)"\xc3\xa9\xc2\x9b"
	                                            "a\xe2\x80\xae"
	                                            "b\xe2\x80\xa9",
	                     -1, -1, 0),
	    1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 60));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_true((n = i2d_X509(x, &der)) > 0);
	assert_int_equal(ct_cert_describe(der, (size_t)n, &d, &err), CT_OK);
	assert_string_equal(d.subject, "CN=\xc3\xa9\\C2\\9Ba\\E2\\80\\AEb\\E2\\80\\A9");
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
test_describe(void **state)
{
	struct fixture *f = *state;
	struct ct_cert_desc d;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t len = 0;
	char serial[CT_CERT_SERIAL_MAX], subject[512], text[32];
	time_t na;
	BIO *bio = BIO_new(BIO_s_mem());
	X509 *x;
	int n;

	issue(f, &der, &len);
	x = decode(der, len);
	assert_int_equal(ct_cert_describe(der, len, &d, &err), CT_OK);
	assert_int_equal(ct_cert_serial_hex(x, serial), CT_OK);
	assert_string_equal(d.serial, serial);
	assert_int_equal(d.not_before, epoch_of(X509_get0_notBefore(x)));
	assert_int_equal(d.not_after, epoch_of(X509_get0_notAfter(x)));
	assert_int_equal(d.not_before, (int64_t)now0 - BACKDATE);
	assert_int_equal(d.not_after, (int64_t)now0 + LIFETIME);
	na = (time_t)d.not_after;
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", gmtime(&na));
	assert_string_equal(d.not_after_text, text);
	/* RFC 2253: the last RDN first, specials escaped, UTF-8 left alone */
	assert_non_null(bio);
	assert_true(X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
	                XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0);
	n = BIO_read(bio, subject, sizeof(subject) - 1);
	assert_true(n > 0);
	subject[n] = '\0';
	assert_string_equal(d.subject, subject);
	assert_string_equal(d.subject, "O=Caf\xc3\xa9\\, Inc.,CN=alice");
	BIO_free(bio);
	X509_free(x);
	free(der);
}

static void
test_describe_garbage(void **state)
{
	static const unsigned char junk[] = "not a certificate at all";
	/* well-formed DER that is not a certificate */
	static const unsigned char ints[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
	static const unsigned char empty_seq[] = {0x30, 0x00};
	struct fixture *f = *state;
	struct ct_cert_desc d;
	struct ct_err err = {0};

	assert_int_equal(ct_cert_describe(junk, sizeof(junk), &d, &err), CT_ECRYPTO);
	assert_non_null(strstr(err.msg, "cannot read back"));
	assert_string_equal(d.serial, "");
	ct_err_clear(&err);
	assert_int_equal(ct_cert_describe(ints, sizeof(ints), &d, &err), CT_ECRYPTO);
	ct_err_clear(&err);
	assert_int_equal(ct_cert_describe(empty_seq, sizeof(empty_seq), &d, &err), CT_ECRYPTO);
	ct_err_clear(&err);
	assert_int_equal(ct_cert_describe(junk, 0, &d, &err), CT_ECRYPTO);
	ct_err_clear(&err);
	/* a CSR is DER and a signed SEQUENCE, but no certificate */
	assert_int_equal(ct_cert_describe(f->csr, f->csr_len, &d, &err), CT_ECRYPTO);
}

/* Every prefix of a real certificate fails cleanly. */
static void
test_describe_truncated(void **state)
{
	struct fixture *f = *state;
	struct ct_cert_desc d;
	struct ct_err err = {0};
	unsigned char *der = NULL, *copy;
	size_t len = 0, i;

	issue(f, &der, &len);
	for (i = 0; i < len; i++) {
		/* an exact-size copy, so ASan sees any read past the end */
		copy = malloc(i + 1);
		assert_non_null(copy);
		memcpy(copy, der, i);
		ct_err_clear(&err);
		if (ct_cert_describe(copy, i, &d, &err) != CT_ECRYPTO)
			fail_msg("a certificate cut to %zu of %zu bytes was described", i, len);
		free(copy);
	}
	free(der);
}

/* The DER header of a SEQUENCE of N content bytes into OUT; its length. */
static size_t
seq_header(unsigned char *out, size_t n)
{
	out[0] = 0x30;
	if (n < 0x80) {
		out[1] = (unsigned char)n;
		return 2;
	}
	if (n < 0x100) {
		out[1] = 0x81;
		out[2] = (unsigned char)n;
		return 3;
	}
	out[1] = 0x82;
	out[2] = (unsigned char)(n >> 8);
	out[3] = (unsigned char)n;
	return 4;
}

/* Bytes of a DER element of N content bytes, header included. */
static size_t
der_size(size_t n)
{
	return n + (n < 0x80 ? 2 : n < 0x100 ? 3 : 4);
}

/* The TBSCertificate cut short inside, with headers that agree: the walker
 * must fail on every cut before the end of the subject, and describe the
 * certificate as the whole one from there on (it never reads further). */
static void
test_describe_truncated_inside(void **state)
{
	struct fixture *f = *state;
	struct ct_cert_desc d, want;
	struct ct_err err = {0};
	unsigned char *der = NULL, *buf, h1[4], h2[4], *ext = NULL, *pk = NULL;
	const unsigned char *tbs;
	size_t len = 0, tbs_len, k, need, l1, l2;
	long clen;
	int tag, xclass, ext_len, pk_len;
	X509 *x;

	issue(f, &der, &len);
	x = decode(der, len);
	assert_int_equal(ct_cert_describe(der, len, &want, &err), CT_OK);
	/* the TBS's content: after the certificate's and the TBS's headers */
	tbs = der;
	assert_false(ASN1_get_object(&tbs, &clen, &tag, &xclass, (long)len) & 0x80);
	assert_false(ASN1_get_object(&tbs, &clen, &tag, &xclass, (long)len) & 0x80);
	tbs_len = (size_t)clen;
	/* what follows the subject: the key, then [3] { extensions } */
	assert_true((pk_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &pk)) > 0);
	assert_true((ext_len = i2d_X509_EXTENSIONS(X509_get0_extensions(x), &ext)) > 0);
	need = tbs_len - (size_t)pk_len - der_size((size_t)ext_len);
	assert_true(need > 0 && need < tbs_len);
	for (k = 0; k <= tbs_len; k++) {
		l2 = seq_header(h2, k);
		l1 = seq_header(h1, l2 + k);
		/* an exact-size buffer, so ASan sees any read past the end */
		buf = malloc(l1 + l2 + k);
		assert_non_null(buf);
		memcpy(buf, h1, l1);
		memcpy(buf + l1, h2, l2);
		memcpy(buf + l1 + l2, tbs, k);
		ct_err_clear(&err);
		if (k < need) {
			if (ct_cert_describe(buf, l1 + l2 + k, &d, &err) != CT_ECRYPTO)
				fail_msg("a TBS cut to %zu of %zu bytes was described", k, tbs_len);
		} else {
			assert_int_equal(ct_cert_describe(buf, l1 + l2 + k, &d, &err), CT_OK);
			assert_memory_equal(&d, &want, sizeof(d));
		}
		free(buf);
	}
	OPENSSL_free(pk);
	OPENSSL_free(ext);
	X509_free(x);
	free(der);
}

/* Any one byte changed: described or refused, never a crash, strings ended. */
static void
test_describe_flipped(void **state)
{
	static const unsigned char masks[] = {0xff, 0x80, 0x01, 0x7f};
	struct fixture *f = *state;
	struct ct_cert_desc d;
	struct ct_err err = {0};
	unsigned char *der = NULL, *copy;
	size_t len = 0, i, m;
	int rc;

	issue(f, &der, &len);
	copy = malloc(len);
	assert_non_null(copy);
	for (i = 0; i < len; i++)
		for (m = 0; m < sizeof(masks); m++) {
			memcpy(copy, der, len);
			copy[i] ^= masks[m];
			ct_err_clear(&err);
			rc = ct_cert_describe(copy, len, &d, &err);
			assert_true(rc == CT_OK || rc == CT_ECRYPTO);
			assert_true(strlen(d.serial) < sizeof(d.serial));
			assert_true(strlen(d.subject) < sizeof(d.subject));
			assert_true(strlen(d.not_after_text) < sizeof(d.not_after_text));
		}
	free(copy);
	free(der);
}

/* ---- ct_certtoken_make_room ---- */

static void
test_make_room_drops_what_holds_nothing(void **state)
{
	struct ct_user_tokens ut;
	struct ct_token dropped;
	struct ct_err err = {0};

	(void)state;
	memset(&ut, 0, sizeof(ut));
	cert_token(&ut.tok[0], "EXPIRED", "enrolled", now0 - 900, now0 - 1);
	otp_token(&ut.tok[1], "TOTP0001");
	cert_token(&ut.tok[2], "REJECTED", "rejected", now0 - 800, 0);
	cert_token(&ut.tok[3], "VALID", "enrolled", now0 - 700, now0 + 1);
	cert_token(&ut.tok[4], "NOEXPIRY", "enrolled", now0 - 600, 0);
	cert_token(&ut.tok[5], "PENDING", "pending", now0 - 500, 0);
	/* a certificate that expires right now still holds something */
	cert_token(&ut.tok[6], "ATNOW", "enrolled", now0 - 400, now0);
	ut.n = 7;
	strcpy(dropped.serial, "junk");
	assert_int_equal(ct_certtoken_make_room(&ut, "alice", now0, &dropped, &err), CT_OK);
	/* those went, but they are not "the token that had to go" */
	assert_string_equal(dropped.serial, "");
	assert_int_equal(ut.n, 5);
	assert_string_equal(ut.tok[0].serial, "TOTP0001");
	assert_string_equal(ut.tok[1].serial, "VALID");
	assert_string_equal(ut.tok[2].serial, "NOEXPIRY");
	assert_string_equal(ut.tok[3].serial, "PENDING");
	assert_string_equal(ut.tok[4].serial, "ATNOW");
	/* nothing more to drop, and DROPPED may be NULL */
	assert_int_equal(ct_certtoken_make_room(&ut, "alice", now0, NULL, &err), CT_OK);
	assert_int_equal(ut.n, 5);
	ct_user_tokens_clear(&ut);
}

static void
test_make_room_full(void **state)
{
	struct ct_user_tokens ut, before;
	struct ct_token dropped;
	struct ct_err err = {0};
	char serial[16];
	size_t i;

	(void)state;
	memset(&ut, 0, sizeof(ut));
	for (i = 0; i < CT_TOKENS_MAX; i++) {
		snprintf(serial, sizeof(serial), "TOK%02zu", i);
		if (i % 3 == 0)
			cert_token(
			    &ut.tok[i], serial, "enrolled", now0 - 100 + (int64_t)i, now0 + 100);
		else
			otp_token(&ut.tok[i], serial);
	}
	/* the oldest certificate sits in the middle, older than every OTP token */
	ut.tok[6].created = now0 - 5000;
	/* a pending one is even older, but is not an enrolled certificate */
	cert_token(&ut.tok[7], "TOK07", "pending", now0 - 9000, 0);
	ut.n = CT_TOKENS_MAX;
	before = ut;
	assert_int_equal(ct_certtoken_make_room(&ut, "alice", now0, &dropped, &err), CT_OK);
	assert_string_equal(dropped.serial, "TOK06");
	assert_memory_equal(&dropped, &before.tok[6], sizeof(dropped));
	assert_int_equal(ut.n, CT_TOKENS_MAX - 1);
	/* the others stay, in their order */
	assert_memory_equal(&ut.tok[0], &before.tok[0], 6 * sizeof(ut.tok[0]));
	assert_memory_equal(&ut.tok[6], &before.tok[7], 9 * sizeof(ut.tok[0]));
	/* with an expired certificate in a full list, that one goes instead */
	ut = before;
	ut.tok[12].not_after = now0 - 1;
	assert_int_equal(ct_certtoken_make_room(&ut, "alice", now0, &dropped, &err), CT_OK);
	assert_string_equal(dropped.serial, "");
	assert_int_equal(ut.n, CT_TOKENS_MAX - 1);
	assert_null(find(&ut, "TOK12"));
	assert_non_null(find(&ut, "TOK06"));
	ct_user_tokens_clear(&ut);
	ct_user_tokens_clear(&before);
}

static void
test_make_room_nothing_can_go(void **state)
{
	struct ct_user_tokens ut, before;
	struct ct_token dropped;
	struct ct_err err = {0};
	char serial[16];
	size_t i;

	(void)state;
	memset(&ut, 0, sizeof(ut));
	for (i = 0; i < CT_TOKENS_MAX; i++) {
		snprintf(serial, sizeof(serial), "TOK%02zu", i);
		if (i % 2 == 0)
			cert_token(&ut.tok[i], serial, "pending", now0 - 100, 0);
		else
			otp_token(&ut.tok[i], serial);
	}
	ut.n = CT_TOKENS_MAX;
	before = ut;
	assert_int_equal(ct_certtoken_make_room(&ut, "carol.x", now0, &dropped, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "user carol.x "));
	assert_string_equal(dropped.serial, "");
	assert_memory_equal(&ut, &before, sizeof(ut));
	ct_user_tokens_clear(&ut);
	ct_user_tokens_clear(&before);
}

/* ---- ct_certtoken_add ---- */

static void
test_add_new_and_replace(void **state)
{
	struct fixture *f = *state;
	struct ct_user_tokens ut;
	struct ct_token t, u, dropped;
	struct ct_err err = {0};

	/* a user without a token file gets one */
	cert_token(&t, "CERTA", "pending", now0, 0);
	strcpy(dropped.serial, "junk");
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 0, &dropped, &err), CT_OK);
	assert_string_equal(dropped.serial, "");
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 1);
	assert_string_equal(ut.tok[0].serial, "CERTA");
	assert_string_equal(ut.tok[0].rollout_state, "pending");
	assert_int_equal(ut.tok[0].type, CT_TOKEN_CERT);
	assert_int_equal(ut.tok[0].active, 1);
	assert_string_equal(ut.tok[0].target, "t");
	assert_string_equal(ut.tok[0].description, "laptop");
	assert_int_equal(ut.tok[0].created, now0);
	ct_user_tokens_clear(&ut);
	/* a second one goes after it */
	cert_token(&u, "CERTB", "enrolled", now0, now0 + 100);
	assert_int_equal(ct_certtoken_add(f->db, "alice", &u, 0, NULL, &err), CT_OK);
	/* the pending one is replaced in place */
	t.type = CT_TOKEN_CERT;
	strcpy(t.rollout_state, "enrolled");
	strcpy(t.cert_serial, "0A1B");
	t.not_after = now0 + 50;
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 1, NULL, &err), CT_OK);
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 2);
	assert_string_equal(ut.tok[0].serial, "CERTA");
	assert_string_equal(ut.tok[0].rollout_state, "enrolled");
	assert_string_equal(ut.tok[0].cert_serial, "0A1B");
	assert_int_equal(ut.tok[0].not_after, now0 + 50);
	assert_string_equal(ut.tok[1].serial, "CERTB");
	ct_user_tokens_clear(&ut);
}

static void
test_add_replace_refused(void **state)
{
	struct fixture *f = *state;
	struct ct_token t;
	struct ct_err err = {0};
	char *before, *after;

	cert_token(&t, "CERTA", "enrolled", now0, now0 + 100);
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 0, NULL, &err), CT_OK);
	before = token_file(f, "alice");
	assert_string_not_equal(before, "");
	/* no longer pending */
	strcpy(t.description, "changed");
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 1, NULL, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "CERTA"));
	after = token_file(f, "alice");
	assert_string_equal(after, before);
	free(after);
	/* not there at all */
	ct_err_clear(&err);
	cert_token(&t, "CERTZ", "enrolled", now0, now0 + 100);
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 1, NULL, &err), CT_EEXIST);
	after = token_file(f, "alice");
	assert_string_equal(after, before);
	free(after);
	/* a user without tokens has nothing to replace, and gets no file */
	ct_err_clear(&err);
	assert_int_not_equal(ct_certtoken_add(f->db, "bob", &t, 1, NULL, &err), CT_OK);
	after = token_file(f, "bob");
	assert_string_equal(after, "");
	free(after);
	free(before);
}

static void
test_add_to_full(void **state)
{
	struct fixture *f = *state;
	struct ct_user_tokens ut;
	struct ct_token t, dropped;
	struct ct_err err = {0};
	char serial[16];
	size_t i;

	memset(&ut, 0, sizeof(ut));
	for (i = 0; i < CT_TOKENS_MAX; i++) {
		snprintf(serial, sizeof(serial), "TOTP%02zu", i);
		otp_token(&ut.tok[i], serial);
	}
	/* a certificate that has not expired */
	cert_token(&ut.tok[9], "CERTOLD", "enrolled", now0 - 10, now0 + 86400);
	ut.n = CT_TOKENS_MAX;
	put_tokens(f, "alice", &ut);
	ct_user_tokens_clear(&ut);
	cert_token(&t, "CERTNEW", "pending", now0, 0);
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 0, &dropped, &err), CT_OK);
	assert_string_equal(dropped.serial, "CERTOLD");
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, CT_TOKENS_MAX);
	assert_null(find(&ut, "CERTOLD"));
	assert_string_equal(ut.tok[CT_TOKENS_MAX - 1].serial, "CERTNEW");
	ct_user_tokens_clear(&ut);
	/* now only OTP tokens and a pending one: nothing can go */
	cert_token(&t, "CERTMORE", "pending", now0, 0);
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 0, &dropped, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "alice"));
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, CT_TOKENS_MAX);
	assert_null(find(&ut, "CERTMORE"));
	ct_user_tokens_clear(&ut);
}

/* ---- ct_certtoken_record_issued ---- */

static void
test_record_issued(void **state)
{
	struct fixture *f = *state;
	struct ct_certtoken_rec r;
	struct ct_cert_entry e;
	struct ct_cert_desc d;
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t len = 0;
	char serial[CT_CERT_SERIAL_MAX];
	const struct ct_token *t;

	issue(f, &der, &len);
	assert_int_equal(ct_cert_describe(der, len, &d, &err), CT_OK);
	rec_init(f, &r, "CERT0001", der, len);
	r.failed_in_token = 7;
	if (ct_certtoken_record_issued(&r, &err) != CT_OK)
		fail_msg("record: %s", err.msg);
	assert_int_equal(r.failed_in_token, 0);
	assert_memory_equal(&r.cert, &d, sizeof(d));
	assert_string_equal(r.dropped.serial, "");
	/* the index entry */
	memset(&e, 0, sizeof(e));
	assert_int_equal(ct_certindex_get(f->db, d.serial, &e, &err), CT_OK);
	assert_string_equal(e.serial, d.serial);
	assert_string_equal(e.user, "alice");
	assert_string_equal(e.target, "t");
	assert_string_equal(e.group, "g");
	assert_string_equal(e.token, "CERT0001");
	assert_non_null(e.cert);
	assert_int_equal(ct_cert_serial_hex(e.cert, serial), CT_OK);
	assert_string_equal(serial, d.serial);
	ct_cert_entry_clear(&e);
	/* the token */
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 1);
	t = &ut.tok[0];
	assert_string_equal(t->serial, "CERT0001");
	assert_int_equal(t->type, CT_TOKEN_CERT);
	assert_int_equal(t->active, 1);
	assert_string_equal(t->rollout_state, "enrolled");
	assert_string_equal(t->cert_serial, d.serial);
	assert_int_equal(t->not_after, d.not_after);
	assert_int_equal(t->not_before, 0);
	assert_string_equal(t->issuer, "");
	assert_string_equal(t->target, "t");
	assert_string_equal(t->description, "laptop");
	assert_int_equal(t->created, now0);
	assert_string_equal(r.tok.serial, "CERT0001");
	assert_string_equal(r.tok.cert_serial, d.serial);
	ct_user_tokens_clear(&ut);
	free(der);
}

/* Another CA's certificate: its notBefore and issuer go into the token. */
static void
test_record_issued_with_info(void **state)
{
	struct fixture *f = *state;
	struct ct_certtoken_rec r;
	struct ct_cert_info info;
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t len = 0;

	issue(f, &der, &len);
	memset(&info, 0, sizeof(info));
	strcpy(info.issuer, "CN=Other CA,O=Elsewhere");
	info.not_before = now0 - 77;
	rec_init(f, &r, "CERT0002", der, len);
	r.info = &info;
	assert_int_equal(ct_certtoken_record_issued(&r, &err), CT_OK);
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 1);
	assert_int_equal(ut.tok[0].not_before, now0 - 77);
	assert_string_equal(ut.tok[0].issuer, "CN=Other CA,O=Elsewhere");
	ct_user_tokens_clear(&ut);
	free(der);
}

/* A pending token becomes enrolled in place. */
static void
test_record_issued_pending(void **state)
{
	struct fixture *f = *state;
	struct ct_certtoken_rec r;
	struct ct_user_tokens ut;
	struct ct_token t;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t len = 0;

	cert_token(&t, "CERTP", "pending", now0 - 30, 0);
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 0, NULL, &err), CT_OK);
	otp_token(&t, "TOTP0001");
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 0, NULL, &err), CT_OK);
	issue(f, &der, &len);
	rec_init(f, &r, "CERTP", der, len);
	r.pending = 1;
	assert_int_equal(ct_certtoken_record_issued(&r, &err), CT_OK);
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 2);
	assert_string_equal(ut.tok[0].serial, "CERTP");
	assert_string_equal(ut.tok[0].rollout_state, "enrolled");
	assert_string_equal(ut.tok[0].cert_serial, r.cert.serial);
	assert_int_equal(ut.tok[0].not_after, r.cert.not_after);
	assert_string_equal(ut.tok[1].serial, "TOTP0001");
	ct_user_tokens_clear(&ut);
	free(der);
}

/* The token step fails: the index entry is taken back. */
static void
test_record_issued_token_fails(void **state)
{
	struct fixture *f = *state;
	struct ct_certtoken_rec r;
	struct ct_cert_entry e;
	struct ct_user_tokens ut;
	struct ct_token t;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t len = 0;
	char *before, *after;

	otp_token(&t, "TOTP0001");
	assert_int_equal(ct_certtoken_add(f->db, "alice", &t, 0, NULL, &err), CT_OK);
	before = token_file(f, "alice");
	issue(f, &der, &len);
	/* "pending" for a token that does not exist */
	rec_init(f, &r, "CERT0404", der, len);
	r.pending = 1;
	assert_int_equal(ct_certtoken_record_issued(&r, &err), CT_EEXIST);
	assert_int_equal(r.failed_in_token, 1);
	assert_null(strstr(err.msg, "index: "));
	memset(&e, 0, sizeof(e));
	assert_int_equal(ct_certindex_get(f->db, r.cert.serial, &e, &err), CT_ENOENT);
	after = token_file(f, "alice");
	assert_string_equal(after, before);
	free(after);
	/* the same for a user without any token */
	ct_err_clear(&err);
	r.user = "bob";
	r.failed_in_token = 0;
	assert_int_not_equal(ct_certtoken_record_issued(&r, &err), CT_OK);
	assert_int_equal(r.failed_in_token, 1);
	ct_err_clear(&err);
	assert_int_equal(ct_certindex_get(f->db, r.cert.serial, &e, &err), CT_ENOENT);
	/* and a full list of OTP tokens */
	memset(&ut, 0, sizeof(ut));
	for (ut.n = 0; ut.n < CT_TOKENS_MAX; ut.n++) {
		char serial[16];
		snprintf(serial, sizeof(serial), "TOTP%02zu", ut.n);
		otp_token(&ut.tok[ut.n], serial);
	}
	put_tokens(f, "carol", &ut);
	ct_user_tokens_clear(&ut);
	ct_err_clear(&err);
	r.user = "carol";
	r.pending = 0;
	r.failed_in_token = 0;
	assert_int_equal(ct_certtoken_record_issued(&r, &err), CT_EEXIST);
	assert_int_equal(r.failed_in_token, 1);
	assert_non_null(strstr(err.msg, "carol"));
	ct_err_clear(&err);
	assert_int_equal(ct_certindex_get(f->db, r.cert.serial, &e, &err), CT_ENOENT);
	free(before);
	free(der);
}

/* A serial already in the index fails in the index step, and takes nothing
 * back. */
static void
test_record_issued_duplicate(void **state)
{
	struct fixture *f = *state;
	struct ct_certtoken_rec r;
	struct ct_cert_entry e;
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t len = 0;

	issue(f, &der, &len);
	rec_init(f, &r, "CERT0001", der, len);
	assert_int_equal(ct_certtoken_record_issued(&r, &err), CT_OK);
	rec_init(f, &r, "CERT0002", der, len);
	r.failed_in_token = 7;
	assert_int_equal(ct_certtoken_record_issued(&r, &err), CT_EEXIST);
	assert_int_equal(r.failed_in_token, 0);
	assert_int_equal(strncmp(err.msg, "index: ", 7), 0);
	/* the first entry and its token stay */
	ct_err_clear(&err);
	memset(&e, 0, sizeof(e));
	assert_int_equal(ct_certindex_get(f->db, r.cert.serial, &e, &err), CT_OK);
	assert_string_equal(e.token, "CERT0001");
	ct_cert_entry_clear(&e);
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 1);
	assert_string_equal(ut.tok[0].serial, "CERT0001");
	ct_user_tokens_clear(&ut);
	/* not a certificate: the index step too, and no token */
	ct_err_clear(&err);
	rec_init(f, &r, "CERT0003", (const unsigned char *)"garbage", 7);
	assert_int_equal(ct_certtoken_record_issued(&r, &err), CT_ECRYPTO);
	assert_int_equal(r.failed_in_token, 0);
	assert_int_equal(strncmp(err.msg, "index: ", 7), 0);
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 1);
	ct_user_tokens_clear(&ut);
	free(der);
}

/* ---- ct_certtoken_record_pending ---- */

static void
request_init(struct fixture *f, struct ct_request *req, const char *user, const char *token)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->token, sizeof(req->token), "%s", token);
	snprintf(req->user, sizeof(req->user), "%s", user);
	strcpy(req->target, "t");
	strcpy(req->ref, "EXT-42");
	req->created = now0 - 5;
	req->csr = f->csr;
	req->csr_len = f->csr_len;
}

static void
test_record_pending(void **state)
{
	struct fixture *f = *state;
	struct ct_request req, back;
	struct ct_token tok;
	struct ct_user_tokens ut;
	struct ct_err err = {0};

	request_init(f, &req, "alice", "CERT0009");
	if (ct_certtoken_record_pending(f->db, &req, "desk", &tok, &err) != CT_OK)
		fail_msg("record pending: %s", err.msg);
	assert_string_equal(tok.serial, "CERT0009");
	assert_string_equal(tok.rollout_state, "pending");
	assert_int_equal(tok.type, CT_TOKEN_CERT);
	assert_int_equal(tok.active, 1);
	assert_int_equal(tok.created, now0 - 5);
	assert_string_equal(tok.target, "t");
	assert_string_equal(tok.description, "desk");
	/* the request */
	memset(&back, 0, sizeof(back));
	assert_int_equal(ct_request_load(f->db, "CERT0009", &back, &err), CT_OK);
	assert_string_equal(back.user, "alice");
	assert_string_equal(back.target, "t");
	assert_string_equal(back.ref, "EXT-42");
	assert_int_equal(back.created, now0 - 5);
	assert_int_equal(back.csr_len, f->csr_len);
	assert_memory_equal(back.csr, f->csr, f->csr_len);
	ct_request_clear(&back);
	/* the token */
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 1);
	assert_memory_equal(&ut.tok[0], &tok, sizeof(tok));
	ct_user_tokens_clear(&ut);
	/* a second request of the same token: refused, no second token */
	assert_int_equal(
	    ct_certtoken_record_pending(f->db, &req, "desk", &tok, &err), CT_EEXIST);
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 1);
	ct_user_tokens_clear(&ut);
}

static void
test_record_pending_token_fails(void **state)
{
	struct fixture *f = *state;
	struct ct_request req, back;
	struct ct_token tok;
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	char serial[16];

	memset(&ut, 0, sizeof(ut));
	for (ut.n = 0; ut.n < CT_TOKENS_MAX; ut.n++) {
		snprintf(serial, sizeof(serial), "TOTP%02zu", ut.n);
		otp_token(&ut.tok[ut.n], serial);
	}
	put_tokens(f, "bob", &ut);
	ct_user_tokens_clear(&ut);
	request_init(f, &req, "bob", "CERT0010");
	assert_int_equal(
	    ct_certtoken_record_pending(f->db, &req, "desk", &tok, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "bob"));
	ct_err_clear(&err);
	memset(&back, 0, sizeof(back));
	assert_int_equal(ct_request_load(f->db, "CERT0010", &back, &err), CT_ENOENT);
	peek(f, "bob", &ut);
	assert_int_equal(ut.n, CT_TOKENS_MAX);
	assert_null(find(&ut, "CERT0010"));
	ct_user_tokens_clear(&ut);
}

/* ---- ct_certtoken_decide ---- */

static void
test_decide(void **state)
{
	struct ct_cert_desc d;
	struct ct_token t, before;
	struct ct_err err = {0};

	(void)state;
	memset(&d, 0, sizeof(d));
	strcpy(d.serial, "0123ABCD");
	d.not_before = now0 - 60;
	d.not_after = now0 + 3600;
	/* approve */
	cert_token(&t, "CERTP", "pending", now0 - 100, 0);
	assert_int_equal(ct_certtoken_decide(&t, 1, &d, &err), CT_OK);
	assert_string_equal(t.rollout_state, "enrolled");
	assert_string_equal(t.cert_serial, "0123ABCD");
	assert_int_equal(t.not_before, now0 - 60);
	assert_int_equal(t.not_after, now0 + 3600);
	assert_int_equal(t.active, 1);
	/* no longer pending: no second decision */
	before = t;
	assert_int_equal(ct_certtoken_decide(&t, 0, &d, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "CERTP"));
	assert_non_null(strstr(err.msg, "enrolled"));
	assert_memory_equal(&t, &before, sizeof(t));
	/* reject */
	cert_token(&t, "CERTQ", "pending", now0 - 100, 0);
	assert_int_equal(ct_certtoken_decide(&t, 0, &d, &err), CT_OK);
	assert_string_equal(t.rollout_state, "rejected");
	assert_int_equal(t.active, 0);
	assert_string_equal(t.cert_serial, "");
	assert_int_equal(t.not_after, 0);
	before = t;
	ct_err_clear(&err);
	assert_int_equal(ct_certtoken_decide(&t, 1, &d, &err), CT_EEXIST);
	assert_memory_equal(&t, &before, sizeof(t));
	/* an OTP token is never a pending certificate */
	otp_token(&t, "TOTP0001");
	strcpy(t.rollout_state, "pending");
	before = t;
	ct_err_clear(&err);
	assert_int_equal(ct_certtoken_decide(&t, 1, &d, &err), CT_EEXIST);
	assert_memory_equal(&t, &before, sizeof(t));
}

/* ---- ct_certtoken_revoke ---- */

/* Record a new certificate of ALICE under TOKEN; its index entry into *E. */
static void
recorded(struct fixture *f, const char *token, struct ct_cert_entry *e)
{
	struct ct_certtoken_rec r;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t len = 0;

	issue(f, &der, &len);
	rec_init(f, &r, token, der, len);
	if (ct_certtoken_record_issued(&r, &err) != CT_OK)
		fail_msg("record: %s", err.msg);
	memset(e, 0, sizeof(*e));
	assert_int_equal(ct_certindex_get(f->db, r.cert.serial, e, &err), CT_OK);
	free(der);
}

static void
test_revoke(void **state)
{
	struct fixture *f = *state;
	struct ct_cert_entry e;
	struct ct_revocation *list = NULL;
	struct ct_user_tokens ut;
	struct ct_token marked;
	struct ct_err err = {0};
	size_t n = 0;
	int revoked = -1;

	recorded(f, "CERT0001", &e);
	if (ct_certtoken_revoke(f->db, 1, &e, "g", 1, now0 + 10, &marked, &revoked, &err) !=
	    CT_OK)
		fail_msg("revoke: %s", err.msg);
	assert_int_equal(revoked, 1);
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].serial, e.serial);
	assert_string_equal(list[0].group, "g");
	assert_int_equal(list[0].when, now0 + 10);
	assert_int_equal(list[0].reason, 1);
	free(list);
	list = NULL;
	peek(f, "alice", &ut);
	assert_int_equal(ut.n, 1);
	assert_string_equal(ut.tok[0].rollout_state, "revoked");
	assert_int_equal(ut.tok[0].active, 0);
	assert_string_equal(ut.tok[0].cert_serial, e.serial);
	assert_memory_equal(&marked, &ut.tok[0], sizeof(marked));
	ct_user_tokens_clear(&ut);
	/* twice: refused, nothing added */
	assert_int_equal(
	    ct_certtoken_revoke(f->db, 1, &e, "g", 4, now0 + 20, &marked, &revoked, &err),
	    CT_EEXIST);
	assert_int_equal(revoked, 0);
	assert_string_equal(marked.serial, "");
	ct_err_clear(&err);
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].reason, 1);
	free(list);
	ct_cert_entry_clear(&e);
}

/* Revoked without marking: an entry without a token ("-"), and no store of
 * tokens. */
static void
test_revoke_without_marking(void **state)
{
	struct fixture *f = *state;
	struct ct_cert_entry e, dash;
	struct ct_revocation *list = NULL;
	struct ct_token marked;
	struct ct_err err = {0};
	char *before, *after;
	size_t n = 0;
	int revoked = -1;

	recorded(f, "CERT0001", &e);
	before = token_file(f, "alice");
	/* the same certificate's entry, but with token "-" */
	dash = e;
	strcpy(dash.token, "-");
	assert_int_equal(
	    ct_certtoken_revoke(f->db, 1, &dash, "g", 0, now0, &marked, &revoked, &err),
	    CT_OK);
	assert_int_equal(revoked, 1);
	assert_string_equal(marked.serial, "");
	after = token_file(f, "alice");
	assert_string_equal(after, before);
	free(after);
	ct_cert_entry_clear(&e);
	/* no token store */
	recorded(f, "CERT0002", &e);
	free(before);
	before = token_file(f, "alice");
	revoked = -1;
	assert_int_equal(
	    ct_certtoken_revoke(f->db, 0, &e, "g", 0, now0, &marked, &revoked, &err), CT_OK);
	assert_int_equal(revoked, 1);
	assert_string_equal(marked.serial, "");
	after = token_file(f, "alice");
	assert_string_equal(after, before);
	free(after);
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_OK);
	assert_int_equal(n, 2);
	assert_non_null(ct_revoked_find(list, n, dash.serial));
	assert_non_null(ct_revoked_find(list, n, e.serial));
	free(list);
	ct_cert_entry_clear(&e);
	free(before);
}

/* A user who no longer has tokens: revoked, nothing marked. */
static void
test_revoke_user_gone(void **state)
{
	struct fixture *f = *state;
	struct ct_cert_entry e;
	struct ct_revocation *list = NULL;
	struct ct_user_tokens ut;
	struct ct_token marked;
	struct ct_err err = {0};
	char *after;
	size_t n = 0;
	int revoked = -1;

	recorded(f, "CERT0003", &e);
	/* an empty set removes the file */
	memset(&ut, 0, sizeof(ut));
	put_tokens(f, "alice", &ut);
	after = token_file(f, "alice");
	assert_string_equal(after, "");
	free(after);
	assert_int_equal(
	    ct_certtoken_revoke(f->db, 1, &e, "g", 0, now0, &marked, &revoked, &err), CT_OK);
	assert_int_equal(revoked, 1);
	assert_string_equal(marked.serial, "");
	assert_int_equal(ct_revoked_read(f->db, &list, &n, &err), CT_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].serial, e.serial);
	free(list);
	after = token_file(f, "alice");
	assert_string_equal(after, "");
	free(after);
	ct_cert_entry_clear(&e);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_describe),
	    T(test_describe_escapes_names),
	    T(test_describe_garbage),
	    T(test_describe_truncated),
	    T(test_describe_truncated_inside),
	    T(test_describe_flipped),
	    cmocka_unit_test(test_make_room_drops_what_holds_nothing),
	    cmocka_unit_test(test_make_room_full),
	    cmocka_unit_test(test_make_room_nothing_can_go),
	    T(test_add_new_and_replace),
	    T(test_add_replace_refused),
	    T(test_add_to_full),
	    T(test_record_issued),
	    T(test_record_issued_with_info),
	    T(test_record_issued_pending),
	    T(test_record_issued_token_fails),
	    T(test_record_issued_duplicate),
	    T(test_record_pending),
	    T(test_record_pending_token_fails),
	    T(test_decide),
	    T(test_revoke),
	    T(test_revoke_without_marking),
	    T(test_revoke_user_gone),
	};

	now0 = time(NULL);
	return cmocka_run_group_tests_name("certtoken", tests, NULL, NULL);
}
