/* Key proofs: attestation chains, proof-of-possession signatures, uploaded
 * certificates and PKCS#12 files (checked with OpenSSL's and NSS's own
 * tools as well).  Every certificate is made here, at test time. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "issue.h"
#include "keyproof.h"

#define SIG_JUNK 1025 /* bytes: more than any signature ct_pop_verify takes */

enum kind { LEAF, CA, V1, KEYCERTSIGN };

/* The fixture PKI: a root CA, a device intermediate under it, attestation
 * certificates, and a CSR key whose SPKI ct_csr_verify gives. */
static struct {
	char dir[64];
	time_t now;
	EVP_PKEY *root_key, *int_key, *csr_key, *other_key;
	X509 *root, *inter, *other_root, *inter_leaf;
	X509 *stranger; /* a root of another name */
	X509 *att; /* over the CSR key, by the intermediate */
	X509 *att_direct; /* over the CSR key, by the root */
	X509 *att_other; /* over another key, by the intermediate */
	X509 *att_bad_inter; /* over the CSR key, by a non-CA "intermediate" */
	unsigned char *spki;
	size_t spki_len;
} P;

static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, enum kind kind, time_t from,
    time_t to, long serial)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	const char *bc = kind == CA ? "critical,CA:TRUE" : "critical,CA:FALSE";
	const char *ku = kind == CA || kind == KEYCERTSIGN ? "critical,keyCertSign,cRLSign"
	                                                   : "critical,digitalSignature";
	int id = EVP_PKEY_get_base_id(ikey);

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, kind == V1 ? X509_VERSION_1 : X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
	                     (const unsigned char *)cn, -1, -1, 0),
	    1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), from));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), to));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if (kind == LEAF || kind == CA) {
		assert_non_null(ext = X509V3_EXT_nconf_nid(NULL, &v3, NID_basic_constraints, bc));
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	if (kind != V1) {
		assert_non_null(ext = X509V3_EXT_nconf_nid(NULL, &v3, NID_key_usage, ku));
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, ikey,
	                id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256()) > 0);
	return x;
}

static EVP_PKEY *
p256(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

/* The PEM of the certificates given, NULL-terminated, in a new string. */
static char *
pem_of(X509 *first, ...)
{
	BIO *b = BIO_new(BIO_s_mem());
	va_list ap;
	X509 *x;
	char *p, *s;
	long n;

	assert_non_null(b);
	va_start(ap, first);
	for (x = first; x != NULL; x = va_arg(ap, X509 *))
		assert_int_equal(PEM_write_bio_X509(b, x), 1);
	va_end(ap);
	n = BIO_get_mem_data(b, &p);
	assert_non_null(s = malloc((size_t)n + 1));
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	return s;
}

static unsigned char *
der_of(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static char *
path_in(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", P.dir, name);
	return path;
}

static void
make_dir(const char *name, mode_t mode)
{
	assert_int_equal(mkdir(path_in(name), 0700), 0);
	assert_int_equal(chmod(path_in(name), mode), 0);
}

static void
put_file(const char *name, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path_in(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path_in(name), mode), 0);
}

static void
put_cert(const char *name, X509 *x)
{
	char *pem = pem_of(x, NULL);

	put_file(name, pem, strlen(pem), 0644);
	free(pem);
}

/* Run the shell command CMD; its output (stdout and stderr) into OUT. */
static int
run(const char *cmd, char *out, size_t size)
{
	char full[2048];
	FILE *f;
	size_t n;
	int st;

	snprintf(full, sizeof(full), "(%s) </dev/null 2>&1", cmd);
	assert_non_null(f = popen(full, "r"));
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
must_have_tool(const char *tool)
{
	char cmd[128], out[256];

	snprintf(cmd, sizeof(cmd), "command -v %s", tool);
	if (run(cmd, out, sizeof(out)) != 0)
		fail_msg("%s is not installed (Debian: see scripts/install-deps)", tool);
}

static int
setup_pki(void **state)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *der = NULL;
	struct ct_err err = {0};
	time_t now = time(NULL), from = now - 3600, to = now + 86400;
	int n;

	(void)state;
	strcpy(P.dir, "/tmp/ct-keyproof-XXXXXX");
	assert_non_null(mkdtemp(P.dir));
	P.now = now;
	P.root_key = p256();
	P.int_key = p256();
	P.csr_key = p256();
	P.other_key = p256();
	P.root = make_cert(P.root_key, "Device Maker Root", NULL, P.root_key, CA, from, to, 1);
	P.inter = make_cert(P.int_key, "Device 1234", P.root, P.root_key, CA, from, to, 2);
	P.other_root =
	    make_cert(P.other_key, "Device Maker Root", NULL, P.other_key, CA, from, to, 3);
	P.stranger = make_cert(P.other_key, "Another Root", NULL, P.other_key, CA, from, to, 10);
	P.inter_leaf = make_cert(P.int_key, "Device 1234", P.root, P.root_key, LEAF, from, to, 4);
	P.att = make_cert(P.csr_key, "Attestation 9a", P.inter, P.int_key, LEAF, from, to, 5);
	P.att_direct =
	    make_cert(P.csr_key, "Attestation 9c", P.root, P.root_key, LEAF, from, to, 6);
	P.att_other =
	    make_cert(P.other_key, "Attestation 9a", P.inter, P.int_key, LEAF, from, to, 7);
	P.att_bad_inter =
	    make_cert(P.csr_key, "Attestation 9a", P.inter_leaf, P.int_key, LEAF, from, to, 8);

	/* the SPKI as the service has it: from a CSR, through ct_csr_verify */
	assert_non_null(req);
	assert_int_equal(X509_REQ_set_pubkey(req, P.csr_key), 1);
	assert_true(X509_REQ_sign(req, P.csr_key, EVP_sha256()) > 0);
	assert_true((n = i2d_X509_REQ(req, &der)) > 0);
	assert_int_equal(ct_csr_verify(der, (size_t)n, &P.spki, &P.spki_len, &err), CT_OK);
	OPENSSL_free(der);
	X509_REQ_free(req);

	make_dir("ca", 0755);
	put_cert("ca/root.pem", P.root);
	put_file("ca/README", "not a certificate", 17, 0644);
	make_dir("other", 0755);
	put_cert("other/root.pem", P.other_root);
	make_dir("stranger", 0755);
	put_cert("stranger/root.pem", P.stranger);
	return 0;
}

static int
teardown_pki(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", P.dir);
	assert_int_equal(system(cmd), 0);
	X509_free(P.root);
	X509_free(P.inter);
	X509_free(P.other_root);
	X509_free(P.stranger);
	X509_free(P.inter_leaf);
	X509_free(P.att);
	X509_free(P.att_direct);
	X509_free(P.att_other);
	X509_free(P.att_bad_inter);
	EVP_PKEY_free(P.root_key);
	EVP_PKEY_free(P.int_key);
	EVP_PKEY_free(P.csr_key);
	EVP_PKEY_free(P.other_key);
	OPENSSL_free(P.spki);
	return 0;
}

/* ct_attest_verify of ATT (LEN bytes) against the directory NAME at NOW. */
static int
attest(const char *name, const void *att, size_t len, time_t now, char *subject, size_t size,
    struct ct_err *err)
{
	ct_err_clear(err);
	return ct_attest_verify(
	    path_in(name), att, len, P.spki, P.spki_len, now, subject, size, err);
}

/* --- attestation ------------------------------------------------------------------------- */

static void
test_attest_good(void **state)
{
	char *pem = pem_of(P.att, P.inter, NULL), *crlf, subject[128] = "";
	struct ct_err err = {0};
	unsigned char *der;
	size_t i, j, der_len;

	(void)state;
	assert_int_equal(
	    attest("ca", pem, strlen(pem), P.now, subject, sizeof(subject), &err), CT_OK);
	assert_string_equal(subject, "CN=Attestation 9a");
	assert_string_equal(err.msg, "");
	/* CRLF line ends and whitespace around the blocks are fine */
	assert_non_null(crlf = malloc(2 * strlen(pem) + 8));
	for (i = 0, j = 0; pem[i] != '\0'; i++) {
		if (pem[i] == '\n')
			crlf[j++] = '\r';
		crlf[j++] = pem[i];
	}
	memcpy(crlf + j, "\r\n \n", 5);
	assert_int_equal(attest("ca", crlf, strlen(crlf), P.now, NULL, 0, &err), CT_OK);
	/* a DER trust anchor in a *.crt file; the subject is cut to fit */
	make_dir("ca-der", 0755);
	der = der_of(P.root, &der_len);
	put_file("ca-der/root.crt", der, der_len, 0644);
	assert_int_equal(attest("ca-der", pem, strlen(pem), P.now, subject, 8, &err), CT_OK);
	assert_string_equal(subject, "CN=Atte");
	OPENSSL_free(der);
	free(crlf);
	free(pem);
}

static void
test_attest_der(void **state)
{
	struct ct_err err = {0};
	char subject[128];
	size_t len;
	unsigned char *der = der_of(P.att_direct, &len);

	(void)state;
	assert_int_equal(attest("ca", der, len, P.now, subject, sizeof(subject), &err), CT_OK);
	assert_string_equal(subject, "CN=Attestation 9c");
	/* a DER attestation has no room for intermediates */
	OPENSSL_free(der);
	der = der_of(P.att, &len);
	assert_int_equal(attest("ca", der, len, P.now, subject, sizeof(subject), &err), CT_EINVAL);
	assert_string_equal(err.msg,
	    "attestation certificate is not trusted: unable to get local issuer certificate");
	OPENSSL_free(der);
}

static void
test_attest_refused(void **state)
{
	char *pem, subject[64] = "unchanged";
	struct ct_err err = {0};

	(void)state;
	/* an attestation of another key */
	pem = pem_of(P.att_other, P.inter, NULL);
	assert_int_equal(
	    attest("ca", pem, strlen(pem), P.now, subject, sizeof(subject), &err), CT_EINVAL);
	assert_string_equal(
	    err.msg, "the attestation certificate attests a different key than the CSR's");
	assert_string_equal(subject, "unchanged");
	/* from an untrusted root of the same name as the trusted one */
	free(pem);
	pem = pem_of(P.att, P.inter, NULL);
	assert_int_equal(attest("other", pem, strlen(pem), P.now, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(
	    err.msg, "attestation certificate is not trusted: certificate signature failure");
	/* from a root of another name */
	assert_int_equal(attest("stranger", pem, strlen(pem), P.now, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(err.msg,
	    "attestation certificate is not trusted: unable to get local issuer certificate");
	/* expired, and not valid yet */
	assert_int_equal(
	    attest("ca", pem, strlen(pem), P.now + 3 * 86400, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(
	    err.msg, "attestation certificate is not trusted: certificate has expired");
	assert_int_equal(
	    attest("ca", pem, strlen(pem), P.now - 3 * 86400, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(
	    err.msg, "attestation certificate is not trusted: certificate is not yet valid");
	/* without its intermediate */
	free(pem);
	pem = pem_of(P.att, NULL);
	assert_int_equal(attest("ca", pem, strlen(pem), P.now, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(err.msg,
	    "attestation certificate is not trusted: unable to get local issuer certificate");
	/* through an intermediate that is not a CA */
	free(pem);
	pem = pem_of(P.att_bad_inter, P.inter_leaf, NULL);
	assert_int_equal(attest("ca", pem, strlen(pem), P.now, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(
	    err.msg, "attestation certificate is not trusted: invalid CA certificate");
	free(pem);
}

static void
test_attest_malformed(void **state)
{
	char *pem = pem_of(P.att, P.inter, NULL), *nine, buf[CT_ATTEST_MAX + 2];
	const char *bad[] = {"", "   \n", "garbage", "-----BEGIN CERTIFICATE-----\nMIIB\n"};
	struct {
		const char *before, *after;
		size_t cut; /* bytes taken off the end of the PEM */
		const char *want;
	} mangle[] = {
	    {"", "", 100, "attestation: malformed or truncated PEM"},
	    {"", "trailing text\n", 0, "attestation: text that is not PEM after a certificate"},
	    {"", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0,
	        "attestation: a PEM PRIVATE KEY where a CERTIFICATE belongs"},
	    {"leading text\n", "", 0, "attestation: not a PEM or DER certificate"},
	    {" ", "", 0, "attestation: not a PEM or DER certificate"},
	};
	struct ct_err err = {0};
	unsigned char *der;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    attest("ca", bad[i], strlen(bad[i]), P.now, NULL, 0, &err), CT_EINVAL);
		assert_int_equal(strncmp(err.msg, "attestation: ", 13), 0);
	}
	for (i = 0; i < sizeof(mangle) / sizeof(mangle[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%.*s%s", mangle[i].before,
		    (int)(strlen(pem) - mangle[i].cut), pem, mangle[i].after);
		assert_int_equal(attest("ca", buf, strlen(buf), P.now, NULL, 0, &err), CT_EINVAL);
		assert_string_equal(err.msg, mangle[i].want);
	}
	/* nine certificates are too many */
	nine = pem_of(
	    P.att, P.inter, P.inter, P.inter, P.inter, P.inter, P.inter, P.inter, P.inter, NULL);
	assert_int_equal(attest("ca", nine, strlen(nine), P.now, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(err.msg, "attestation: more than 8 certificates");
	/* DER with a byte after it */
	der = der_of(P.att_direct, &len);
	memcpy(buf, der, len);
	buf[len] = 0;
	assert_int_equal(attest("ca", buf, len + 1, P.now, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(err.msg, "attestation: bytes after the DER certificate");
	/* too large */
	memset(buf, ' ', sizeof(buf));
	assert_int_equal(attest("ca", buf, CT_ATTEST_MAX + 1, P.now, NULL, 0, &err), CT_EINVAL);
	assert_string_equal(err.msg, "attestation: larger than 32768 bytes");
	OPENSSL_free(der);
	free(nine);
	free(pem);
}

static void
test_attest_ca_dir(void **state)
{
	char *pem = pem_of(P.att, P.inter, NULL), want[512];
	struct ct_err err = {0};

	(void)state;
	/* writable by others */
	make_dir("open", 0777);
	put_cert("open/root.pem", P.root);
	assert_int_equal(attest("open", pem, strlen(pem), P.now, NULL, 0, &err), CT_ECONFIG);
	snprintf(
	    want, sizeof(want), "%s: writable by group or others (mode 0777)", path_in("open"));
	assert_string_equal(err.msg, want);
	/* a trusted certificate file writable by the group */
	make_dir("gw", 0755);
	put_cert("gw/root.pem", P.root);
	assert_int_equal(chmod(path_in("gw/root.pem"), 0664), 0);
	assert_int_equal(attest("gw", pem, strlen(pem), P.now, NULL, 0, &err), CT_ECONFIG);
	snprintf(want, sizeof(want), "%s: writable by group or others (mode 0664)",
	    path_in("gw/root.pem"));
	assert_string_equal(err.msg, want);
	/* empty, or only a symbolic link to a certificate, or not there */
	make_dir("empty", 0755);
	assert_int_equal(attest("empty", pem, strlen(pem), P.now, NULL, 0, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "empty: no attestation CA certificate in it"));
	make_dir("links", 0755);
	assert_int_equal(symlink("../ca/root.pem", path_in("links/root.pem")), 0);
	assert_int_equal(attest("links", pem, strlen(pem), P.now, NULL, 0, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "links: no attestation CA certificate in it"));
	assert_int_equal(attest("missing", pem, strlen(pem), P.now, NULL, 0, &err), CT_ECONFIG);
	snprintf(want, sizeof(want), "%s: no such directory", path_in("missing"));
	assert_string_equal(err.msg, want);
	/* a file, or a symbolic link to a good directory */
	assert_int_equal(attest("ca/root.pem", pem, strlen(pem), P.now, NULL, 0, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "root.pem: not a directory"));
	assert_int_equal(symlink("ca", path_in("calink")), 0);
	assert_int_equal(attest("calink", pem, strlen(pem), P.now, NULL, 0, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "calink: not a directory"));
	/* a *.pem that holds no certificate */
	make_dir("junk", 0755);
	put_cert("junk/root.pem", P.root);
	put_file("junk/notes.pem", "hello\n", 6, 0644);
	assert_int_equal(attest("junk", pem, strlen(pem), P.now, NULL, 0, &err), CT_ECONFIG);
	snprintf(want, sizeof(want), "%s: not a PEM or DER certificate", path_in("junk/notes.pem"));
	assert_string_equal(err.msg, want);
	free(pem);
}

/* --- proof of possession ------------------------------------------------------------------ */

static void
hex(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void
test_pop_message(void **state)
{
	static const char want[] =
	    /* "certtoken upload v1" NUL */
	    "63657274746f6b656e2075706c6f61642076310000"
	    /* the nonce: 32 bytes 00 .. 1f */
	    "20000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    /* "alice" */
	    "0005616c696365"
	    /* SHA-256 of "abc" */
	    "0020ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	unsigned char nonce[CT_POP_NONCE_LEN], *msg = NULL;
	char got[512], *longuser;
	struct ct_err err = {0};
	size_t i, len = 0;

	(void)state;
	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (unsigned char)i;
	assert_int_equal(
	    ct_pop_message(nonce, "alice", (const unsigned char *)"abc", 3, &msg, &len, &err),
	    CT_OK);
	assert_int_equal(len, (sizeof(want) - 1) / 2);
	hex(msg, len, got);
	assert_string_equal(got, want);
	free(msg);
	/* a user name whose length does not fit two bytes */
	assert_non_null(longuser = malloc(0x10001));
	memset(longuser, 'a', 0x10000);
	longuser[0x10000] = '\0';
	msg = NULL;
	assert_int_equal(
	    ct_pop_message(nonce, longuser, (const unsigned char *)"abc", 3, &msg, &len, &err),
	    CT_EINVAL);
	assert_null(msg);
	longuser[0xffff] = '\0';
	assert_int_equal(
	    ct_pop_message(nonce, longuser, (const unsigned char *)"abc", 3, &msg, &len, &err),
	    CT_OK);
	assert_int_equal(len, 20 + 34 + 2 + 0xffff + 34);
	free(msg);
	free(longuser);
}

static void
pop_round_trip(EVP_PKEY *key, EVP_PKEY *other)
{
	static const char *const nope =
	    "the signature does not prove possession of the certificate's key";
	X509 *cert = make_cert(key, "alice", NULL, key, LEAF, P.now - 60, P.now + 3600, 9);
	X509 *wrong = make_cert(other, "alice", NULL, other, LEAF, P.now - 60, P.now + 3600, 9);
	unsigned char nonce[CT_POP_NONCE_LEN], *der, *msg = NULL, *sig = NULL, junk[SIG_JUNK];
	struct ct_err err = {0};
	size_t der_len, len = 0, sig_len = 0;

	assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
	der = der_of(cert, &der_len);
	assert_int_equal(ct_pop_message(nonce, "alice", der, der_len, &msg, &len, &err), CT_OK);
	assert_int_equal(ct_pop_sign(key, msg, len, &sig, &sig_len, &err), CT_OK);
	assert_int_equal(ct_pop_verify(cert, msg, len, sig, sig_len, &err), CT_OK);
	assert_string_equal(err.msg, "");
	/* another key's certificate */
	assert_int_equal(ct_pop_verify(wrong, msg, len, sig, sig_len, &err), CT_EINVAL);
	assert_string_equal(err.msg, nope);
	/* a message changed in its last byte (the certificate hash) */
	msg[len - 1] ^= 1;
	ct_err_clear(&err);
	assert_int_equal(ct_pop_verify(cert, msg, len, sig, sig_len, &err), CT_EINVAL);
	assert_string_equal(err.msg, nope);
	msg[len - 1] ^= 1;
	/* a changed, shortened, empty, random or oversized signature */
	sig[sig_len / 2] ^= 0x40;
	ct_err_clear(&err);
	assert_int_equal(ct_pop_verify(cert, msg, len, sig, sig_len, &err), CT_EINVAL);
	assert_string_equal(err.msg, nope);
	sig[sig_len / 2] ^= 0x40;
	assert_int_equal(ct_pop_verify(cert, msg, len, sig, sig_len - 1, &err), CT_EINVAL);
	assert_int_equal(ct_pop_verify(cert, msg, len, sig, 0, &err), CT_EINVAL);
	assert_int_equal(RAND_bytes(junk, sizeof(junk)), 1);
	assert_int_equal(ct_pop_verify(cert, msg, len, junk, sig_len, &err), CT_EINVAL);
	assert_int_equal(ct_pop_verify(cert, msg, len, junk, sizeof(junk), &err), CT_EINVAL);
	/* still good after all that */
	assert_int_equal(ct_pop_verify(cert, msg, len, sig, sig_len, &err), CT_OK);
	free(sig);
	free(msg);
	OPENSSL_free(der);
	X509_free(wrong);
	X509_free(cert);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void
test_pop_ec(void **state)
{
	(void)state;
	pop_round_trip(p256(), p256());
}

static void
test_pop_rsa(void **state)
{
	(void)state;
	pop_round_trip(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048),
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
}

static void
test_pop_eddsa(void **state)
{
	(void)state;
	pop_round_trip(
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	pop_round_trip(
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED448"), EVP_PKEY_Q_keygen(NULL, NULL, "ED448"));
}

/* A signature made the plain way, SHA-256 and the message, verifies: the
 * format needs nothing from certtoken on the signing side. */
static void
test_pop_interop(void **state)
{
	EVP_PKEY *key = p256();
	X509 *cert = make_cert(key, "alice", NULL, key, LEAF, P.now - 60, P.now + 3600, 9);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char nonce[CT_POP_NONCE_LEN] = {0}, *der, *msg = NULL, sig[128];
	size_t der_len, len = 0, sig_len = sizeof(sig);
	struct ct_err err = {0};

	(void)state;
	der = der_of(cert, &der_len);
	assert_int_equal(ct_pop_message(nonce, "bob", der, der_len, &msg, &len, &err), CT_OK);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sig_len, msg, len), 1);
	assert_int_equal(ct_pop_verify(cert, msg, len, sig, sig_len, &err), CT_OK);
	EVP_MD_CTX_free(md);
	free(msg);
	OPENSSL_free(der);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* --- uploaded certificates ----------------------------------------------------------------- */

static void
test_cert_parse_good(void **state)
{
	EVP_PKEY *key = p256();
	X509 *ca = X509_new(), *leaf, *got = NULL;
	struct ct_cert_info info;
	struct ct_err err = {0};
	unsigned char *der;
	size_t der_len;
	char *pem, buf[4096];

	(void)state;
	/* an issuer with two attributes and UTF-8 in them */
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "O", MBSTRING_UTF8,
	                     (const unsigned char *)"Exämple, Inc.", -1, -1, 0),
	    1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "CN", MBSTRING_UTF8,
	                     (const unsigned char *)"Ünited CA", -1, -1, 0),
	    1);
	leaf = make_cert(key, "alice", ca, P.root_key, LEAF, 1700000000, 1800000000, 0x12ab);
	pem = pem_of(leaf, NULL);
	memset(&info, 0xff, sizeof(info));
	assert_int_equal(
	    ct_cert_parse((unsigned char *)pem, strlen(pem), &got, &info, &err), CT_OK);
	assert_non_null(got);
	assert_int_equal(X509_cmp(got, leaf), 0);
	assert_string_equal(info.issuer, "CN=Ünited CA,O=Exämple\\, Inc.");
	assert_string_equal(info.subject, "CN=alice");
	assert_string_equal(info.serial, "12AB");
	assert_int_equal(info.not_before, 1700000000);
	assert_int_equal(info.not_after, 1800000000);
	X509_free(got);
	/* DER, and PEM with blank lines and CRLF around it; no output wanted */
	der = der_of(leaf, &der_len);
	assert_int_equal(ct_cert_parse(der, der_len, NULL, &info, &err), CT_OK);
	assert_string_equal(info.serial, "12AB");
	snprintf(buf, sizeof(buf), "\r\n\n%s\r\n\t \n", pem);
	assert_int_equal(ct_cert_parse((unsigned char *)buf, strlen(buf), NULL, NULL, &err), CT_OK);
	/* serials as the certificate index writes them: an even number of digits */
	X509_free(leaf);
	leaf = make_cert(key, "alice", ca, P.root_key, LEAF, 1700000000, 1800000000, 0x1ab);
	OPENSSL_free(der);
	der = der_of(leaf, &der_len);
	assert_int_equal(ct_cert_parse(der, der_len, NULL, &info, &err), CT_OK);
	assert_string_equal(info.serial, "01AB");
	OPENSSL_free(der);
	free(pem);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(key);
}

/* Names whose text would rewrite a log line come back with those code
 * points as RFC 4514 hex pairs, as OpenSSL writes an ASCII control; other
 * UTF-8 stays (issue 13) */
static void
test_cert_parse_names_escaped(void **state)
{
	EVP_PKEY *key = p256();
	X509 *ca = X509_new(), *leaf;
	struct ct_cert_info info;
	struct ct_err err = {0};
	unsigned char *der;
	size_t der_len;

	(void)state;
	/* UTF-8: U+009B (CSI), U+202E (RLO), U+2028 (LS); T61String: a C1 byte */
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "O",
	                     V_ASN1_T61STRING, (const unsigned char *)"t\x9b", -1, -1, 0),
	    1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "CN", MBSTRING_UTF8,
	                     (const unsigned char *)"Caf\xc3\xa9\xc2\x9b"
	                                            "a\xe2\x80\xae"
	                                            "b\xe2\x80\xa8\x01",
	                     -1, -1, 0),
	    1);
	leaf = make_cert(
	    key, "x\xe2\x81\xa6y\xe2\x80\x8fz", ca, P.root_key, LEAF, 1700000000, 1800000000, 7);
	der = der_of(leaf, &der_len);
	assert_int_equal(ct_cert_parse(der, der_len, NULL, &info, &err), CT_OK);
	assert_string_equal(
	    info.issuer, "CN=Caf\xc3\xa9\\C2\\9Ba\\E2\\80\\AEb\\E2\\80\\A8\\01,O=t\\C2\\9B");
	assert_string_equal(info.subject, "CN=x\\E2\\81\\A6y\\E2\\80\\8Fz");
	OPENSSL_free(der);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(key);
}

static void
test_cert_parse_refused(void **state)
{
	EVP_PKEY *key = p256();
	X509 *leaf = make_cert(key, "alice", P.root, P.root_key, LEAF, P.now, P.now + 60, 1);
	X509 *ca = make_cert(key, "a CA", P.root, P.root_key, CA, P.now, P.now + 60, 1);
	X509 *kcs = make_cert(key, "signs", P.root, P.root_key, KEYCERTSIGN, P.now, P.now + 60, 1);
	X509 *v1 = make_cert(key, "old", P.root, P.root_key, V1, P.now, P.now + 60, 1);
	char *two = pem_of(leaf, leaf, NULL), *one = pem_of(leaf, NULL), *pem, buf[8192];
	struct ct_err err = {0};
	X509 *out = NULL;
	unsigned char *der;
	size_t der_len;

	(void)state;
#define REFUSED(data, len, want)                                                                   \
	do {                                                                                       \
		ct_err_clear(&err);                                                                \
		assert_int_equal(                                                                  \
		    ct_cert_parse((const unsigned char *)(data), (len), &out, NULL, &err),         \
		    CT_EINVAL);                                                                    \
		assert_string_equal(err.msg, (want));                                              \
		assert_null(out);                                                                  \
	} while (0)
	pem = pem_of(ca, NULL);
	REFUSED(
	    pem, strlen(pem), "certificate: a CA certificate, not the certificate of a user's key");
	free(pem);
	pem = pem_of(kcs, NULL);
	REFUSED(
	    pem, strlen(pem), "certificate: a CA certificate, not the certificate of a user's key");
	free(pem);
	pem = pem_of(v1, NULL);
	REFUSED(pem, strlen(pem), "certificate: not an X.509 version 3 certificate");
	free(pem);
	REFUSED(two, strlen(two), "certificate: more than one certificate");
	snprintf(buf, sizeof(buf), "%sjunk", one);
	REFUSED(buf, strlen(buf), "certificate: text that is not PEM after a certificate");
	REFUSED("", 0, "certificate: empty");
	REFUSED(NULL, 0, "certificate: empty");
	REFUSED("\n\n", 2, "certificate: empty");
	REFUSED("hello", 5, "certificate: not a PEM or DER certificate");
	REFUSED(one, strlen(one) - 40, "certificate: malformed or truncated PEM");
	der = der_of(leaf, &der_len);
	memcpy(buf, der, der_len);
	buf[der_len] = '\n';
	REFUSED(buf, der_len + 1, "certificate: bytes after the DER certificate");
	REFUSED(buf, der_len - 1, "certificate: not a PEM or DER certificate");
	OPENSSL_free(der);
	free(two);
	free(one);
	X509_free(leaf);
	X509_free(ca);
	X509_free(kcs);
	X509_free(v1);
	EVP_PKEY_free(key);
#undef REFUSED
}

/* --- PKCS#12 ------------------------------------------------------------------------------- */

#define P12_NAME "alice@example.org certtoken"

struct p12_fixture {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;
	char password[21];
};

static void
p12_fixture(struct p12_fixture *f)
{
	struct ct_err err = {0};

	f->key = p256();
	f->cert =
	    make_cert(f->key, "alice", P.root, P.root_key, LEAF, P.now - 60, P.now + 3600, 77);
	assert_non_null(f->chain = sk_X509_new_null());
	assert_int_equal(X509_up_ref(P.root), 1);
	assert_true(sk_X509_push(f->chain, P.root) > 0);
	assert_int_equal(ct_password_random(f->password, 20, &err), CT_OK);
}

static void
p12_fixture_clear(struct p12_fixture *f)
{
	EVP_PKEY_free(f->key);
	X509_free(f->cert);
	sk_X509_pop_free(f->chain, X509_free);
}

/* The encryption of a bag: the PBE's NID; for PBES2 also the cipher and
 * PRF; and the iterations. */
struct pbe {
	int nid, cipher, prf;
	long iter;
};

static struct pbe
pbe_of(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;
	struct pbe r = {0, 0, 0, 0};

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	r.nid = OBJ_obj2nid(obj);
	assert_int_equal(ptype, V_ASN1_SEQUENCE);
	if (r.nid == NID_pbes2) {
		PBE2PARAM *p2 =
		    ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
		PBKDF2PARAM *kdf;
		assert_non_null(p2);
		r.cipher = OBJ_obj2nid(p2->encryption->algorithm);
		assert_int_equal(OBJ_obj2nid(p2->keyfunc->algorithm), NID_id_pbkdf2);
		kdf =
		    ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), p2->keyfunc->parameter);
		assert_non_null(kdf);
		/* an absent PRF means HMAC-SHA1 */
		r.prf = kdf->prf != NULL ? OBJ_obj2nid(kdf->prf->algorithm) : NID_hmacWithSHA1;
		r.iter = ASN1_INTEGER_get(kdf->iter);
		PBKDF2PARAM_free(kdf);
		PBE2PARAM_free(p2);
	} else {
		PBEPARAM *p = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
		assert_non_null(p);
		r.iter = ASN1_INTEGER_get(p->iter);
		PBEPARAM_free(p);
	}
	return r;
}

static void
pbe_is(struct pbe got, struct pbe want)
{
	assert_int_equal(got.nid, want.nid);
	assert_int_equal(got.cipher, want.cipher);
	assert_int_equal(got.prf, want.prf);
	assert_int_equal(got.iter, want.iter);
}

/* Check the MAC and every bag's encryption of P12 against WANT, and that the
 * certificate bags are encrypted, the first with the friendly name. */
static void
p12_algorithms(PKCS12 *p12, const char *password, int mac_nid, struct pbe want)
{
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	STACK_OF(PKCS12_SAFEBAG) *bags;
	const ASN1_OCTET_STRING *mac, *salt;
	const X509_ALGOR *macalg;
	const ASN1_INTEGER *iter;
	const ASN1_OBJECT *obj;
	int i, j, keys = 0, certs = 0, named = 0;

	PKCS12_get0_mac(&mac, &macalg, &salt, &iter, p12);
	assert_non_null(macalg);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	assert_int_equal(OBJ_obj2nid(obj), mac_nid);
	assert_int_equal(ASN1_INTEGER_get(iter), want.iter);
	assert_int_equal(ASN1_STRING_length(mac), mac_nid == NID_sha256 ? 32 : 20);
	assert_non_null(safes);
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		if (OBJ_obj2nid(p7->type) == NID_pkcs7_encrypted) {
			pbe_is(pbe_of(p7->d.encrypted->enc_data->algorithm), want);
			bags = PKCS12_unpack_p7encdata(p7, password, -1);
		} else {
			assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_data);
			bags = PKCS12_unpack_p7data(p7);
		}
		assert_non_null(bags);
		for (j = 0; j < sk_PKCS12_SAFEBAG_num(bags); j++) {
			PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, j);
			const X509_ALGOR *alg;
			char *name = PKCS12_get_friendlyname(bag);
			switch (PKCS12_SAFEBAG_get_nid(bag)) {
			case NID_pkcs8ShroudedKeyBag:
				X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
				pbe_is(pbe_of(alg), want);
				assert_string_equal(name, P12_NAME);
				keys++;
				break;
			case NID_certBag:
				/* certificates only inside encrypted data */
				assert_int_equal(OBJ_obj2nid(p7->type), NID_pkcs7_encrypted);
				named += name != NULL && strcmp(name, P12_NAME) == 0;
				certs++;
				break;
			default: fail_msg("unexpected bag %d", PKCS12_SAFEBAG_get_nid(bag));
			}
			OPENSSL_free(name);
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	assert_int_equal(keys, 1);
	assert_int_equal(certs, 2);
	assert_int_equal(named, 1);
	sk_PKCS7_pop_free(safes, PKCS7_free);
}

static void
p12_round_trip(int legacy)
{
	struct p12_fixture f;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t der_len = 0;
	PKCS12 *p12;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	struct pbe modern = {NID_pbes2, NID_aes_256_cbc, NID_hmacWithSHA256, 100000};
	struct pbe old = {NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 0, 0, 2048};

	p12_fixture(&f);
	assert_int_equal(ct_pkcs12_make(f.key, f.cert, f.chain, P12_NAME, f.password, legacy, &der,
	                     &der_len, &err),
	    CT_OK);
	p = der;
	assert_non_null(p12 = d2i_PKCS12(NULL, &p, (long)der_len));
	assert_ptr_equal(p, der + der_len);
	assert_int_equal(PKCS12_verify_mac(p12, f.password, -1), 1);
	assert_int_equal(PKCS12_verify_mac(p12, "wrong password!!", -1), 0);
	assert_int_equal(PKCS12_parse(p12, f.password, &key, &cert, &ca), 1);
	assert_int_equal(EVP_PKEY_eq(key, f.key), 1);
	assert_int_equal(X509_cmp(cert, f.cert), 0);
	assert_int_equal(sk_X509_num(ca), 1);
	assert_int_equal(X509_cmp(sk_X509_value(ca, 0), P.root), 0);
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	key = NULL;
	cert = NULL;
	ca = NULL;
	assert_int_equal(PKCS12_parse(p12, "wrong password!!", &key, &cert, &ca), 0);
	assert_null(key);
	p12_algorithms(p12, f.password, legacy ? NID_sha1 : NID_sha256, legacy ? old : modern);
	PKCS12_free(p12);
	OPENSSL_clear_free(der, der_len);
	p12_fixture_clear(&f);
}

static void
test_pkcs12_modern(void **state)
{
	(void)state;
	p12_round_trip(0);
}

static void
test_pkcs12_legacy(void **state)
{
	(void)state;
	p12_round_trip(1);
}

static void
test_pkcs12_refused(void **state)
{
	struct p12_fixture f;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t der_len = 0;
	EVP_PKEY *other = p256();

	(void)state;
	p12_fixture(&f);
	assert_int_equal(
	    ct_pkcs12_make(other, f.cert, NULL, P12_NAME, f.password, 0, &der, &der_len, &err),
	    CT_EINVAL);
	assert_string_equal(err.msg, "the key does not belong to the certificate");
	ct_err_clear(&err);
	assert_int_equal(
	    ct_pkcs12_make(f.key, f.cert, NULL, P12_NAME, "", 0, &der, &der_len, &err), CT_EINVAL);
	assert_null(der);
	/* no chain, no name: still a PKCS#12 */
	assert_int_equal(
	    ct_pkcs12_make(f.key, f.cert, NULL, NULL, f.password, 0, &der, &der_len, &err), CT_OK);
	OPENSSL_clear_free(der, der_len);
	EVP_PKEY_free(other);
	p12_fixture_clear(&f);
}

/* What other software makes of the files: OpenSSL's pkcs12 command and
 * NSS's pk12util (a fresh database for every import). */
static void
p12_tools(int legacy)
{
	const char *tag = legacy ? "legacy" : "modern";
	struct p12_fixture f;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	size_t der_len = 0;
	char file[256], db[256], bad[256], cmd[1536], out[8192];

	must_have_tool("openssl");
	must_have_tool("pk12util");
	must_have_tool("certutil");
	p12_fixture(&f);
	assert_int_equal(ct_pkcs12_make(f.key, f.cert, f.chain, P12_NAME, f.password, legacy, &der,
	                     &der_len, &err),
	    CT_OK);
	put_file(legacy ? "legacy.p12" : "modern.p12", der, der_len, 0600);
	snprintf(file, sizeof(file), "%s", path_in(legacy ? "legacy.p12" : "modern.p12"));

	snprintf(cmd, sizeof(cmd), "openssl pkcs12 -info -noout -in %s -passin pass:%s", file,
	    f.password);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	if (legacy) {
		assert_non_null(strstr(out, "MAC: sha1, Iteration 2048"));
		assert_non_null(strstr(out, "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC"));
		assert_non_null(
		    strstr(out, "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC"));
	} else {
		assert_non_null(strstr(out, "MAC: sha256, Iteration 100000"));
		assert_non_null(strstr(out,
		    "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, "
		    "Iteration 100000, PRF hmacWithSHA256"));
		assert_non_null(strstr(out,
		    "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, "
		    "Iteration 100000, PRF hmacWithSHA256"));
	}
	snprintf(cmd, sizeof(cmd), "openssl pkcs12 -info -noout -in %s -passin pass:wrong%s", file,
	    f.password);
	assert_int_not_equal(run(cmd, out, sizeof(out)), 0);

	snprintf(db, sizeof(db), "%s", path_in(legacy ? "nss-legacy" : "nss-modern"));
	snprintf(bad, sizeof(bad), "%s", path_in(legacy ? "nss-legacy-bad" : "nss-modern-bad"));
	snprintf(cmd, sizeof(cmd),
	    "mkdir %s %s && certutil -N -d sql:%s --empty-password && "
	    "certutil -N -d sql:%s --empty-password",
	    db, bad, db, bad);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "pk12util -i %s -d sql:%s -W %s", file, db, f.password);
	if (run(cmd, out, sizeof(out)) != 0)
		fail_msg("pk12util refused the %s PKCS#12: %s", tag, out);
	snprintf(cmd, sizeof(cmd), "certutil -L -d sql:%s", db);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, P12_NAME));
	assert_non_null(strstr(out, "Device Maker Root"));
	snprintf(cmd, sizeof(cmd), "certutil -K -d sql:%s", db);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	if (strstr(out, "ec ") == NULL || strstr(out, P12_NAME) == NULL)
		fail_msg("no key named '%s' in: %s", P12_NAME, out);
	/* a wrong password imports nothing */
	snprintf(cmd, sizeof(cmd), "pk12util -i %s -d sql:%s -W wrong%s", file, bad, f.password);
	assert_int_not_equal(run(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "certutil -L -d sql:%s", bad);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_null(strstr(out, P12_NAME));

	OPENSSL_clear_free(der, der_len);
	p12_fixture_clear(&f);
}

static void
test_pkcs12_tools_modern(void **state)
{
	(void)state;
	p12_tools(0);
}

static void
test_pkcs12_tools_legacy(void **state)
{
	(void)state;
	p12_tools(1);
}

/* --- passwords ------------------------------------------------------------------------------ */

static void
test_password_random(void **state)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
	unsigned seen[256] = {0};
	char pw[1025], prev[17] = "";
	struct ct_err err = {0};
	size_t i, round;

	(void)state;
	assert_int_equal(ct_password_random(pw, 15, &err), CT_EINVAL);
	assert_string_equal(err.msg, "a password needs at least 16 characters");
	for (round = 0; round < 50; round++) {
		memset(pw, 'x', sizeof(pw));
		assert_int_equal(ct_password_random(pw, 16, &err), CT_OK);
		assert_int_equal(pw[16], '\0');
		assert_int_equal(strlen(pw), 16);
		assert_string_not_equal(pw, prev);
		memcpy(prev, pw, sizeof(prev));
	}
	/* every character of the alphabet turns up, and nothing else */
	for (round = 0; round < 20; round++) {
		assert_int_equal(ct_password_random(pw, 1024, &err), CT_OK);
		assert_int_equal(strlen(pw), 1024);
		for (i = 0; i < 1024; i++)
			seen[(unsigned char)pw[i]]++;
	}
	for (i = 0; i < 256; i++)
		if (i != 0 && strchr(alphabet, (int)i) != NULL)
			assert_true(seen[i] > 0);
		else
			assert_int_equal(seen[i], 0);
	assert_int_equal(strlen(alphabet), 56);
	assert_null(strpbrk(alphabet, "0Oo1lI"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_attest_good),
	    cmocka_unit_test(test_attest_der),
	    cmocka_unit_test(test_attest_refused),
	    cmocka_unit_test(test_attest_malformed),
	    cmocka_unit_test(test_attest_ca_dir),
	    cmocka_unit_test(test_pop_message),
	    cmocka_unit_test(test_pop_ec),
	    cmocka_unit_test(test_pop_rsa),
	    cmocka_unit_test(test_pop_eddsa),
	    cmocka_unit_test(test_pop_interop),
	    cmocka_unit_test(test_cert_parse_good),
	    cmocka_unit_test(test_cert_parse_names_escaped),
	    cmocka_unit_test(test_cert_parse_refused),
	    cmocka_unit_test(test_pkcs12_modern),
	    cmocka_unit_test(test_pkcs12_legacy),
	    cmocka_unit_test(test_pkcs12_refused),
	    cmocka_unit_test(test_pkcs12_tools_modern),
	    cmocka_unit_test(test_pkcs12_tools_legacy),
	    cmocka_unit_test(test_password_random),
	};

	return cmocka_run_group_tests_name("keyproof", tests, setup_pki, teardown_pki);
}
