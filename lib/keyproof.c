#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "certindex.h"
#include "issue.h"
#include "keyproof.h"
#include "store.h"
#include "util.h"

#define POP_DOMAIN "certtoken upload v1"
#define POP_FIELD_MAX 0xffff /* a field's length goes into two bytes */
#define SIG_MAX 1024 /* bytes of a signature (RSA-8192 fits) */
#define ATT_CERTS_MAX 8 /* certificates in an attestation: itself and intermediates */
#define CA_FILES_MAX 256 /* *.pem and *.crt files in the attestation CA directory */
#define CA_FILE_MAX (1024 * 1024) /* bytes of one of them */
#define CA_FILE_CERTS_MAX 1000 /* certificates in one of them (a bundle) */
#define CERT_MAX (64 * 1024) /* bytes of an uploaded certificate */
#define WHY_MAX 96

/* RFC 2253, but UTF-8 as it is rather than escaped: names are shown to people */
#define NAME_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)

/* --- certificates from PEM or DER ------------------------------------------------ */

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* What is left unread in the memory BIO B: 0 when nothing but whitespace, 1
 * when a PEM block starts at the beginning of a line after whitespace, -1
 * when anything else does (PEM_read_bio would skip it silently). */
static int
pem_rest(BIO *b)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	long i = 0;

	while (i < n && is_space((unsigned char)p[i]))
		i++;
	if (i == n)
		return 0;
	if ((i == 0 || p[i - 1] == '\n') && n - i >= 11 && memcmp(p + i, "-----BEGIN ", 11) == 0)
		return 1;
	return -1;
}

/* The next PEM block of B, which must be one CERTIFICATE without headers. */
static X509 *
pem_next_cert(BIO *b, char *why, size_t why_sz)
{
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	long n = 0;
	X509 *x = NULL;

	if (PEM_read_bio(b, &name, &header, &der, &n) != 1)
		snprintf(why, why_sz, "malformed or truncated PEM");
	else if (strcmp(name, "CERTIFICATE") != 0)
		snprintf(why, why_sz, "a PEM %.40s where a CERTIFICATE belongs", name);
	else if (header[0] != '\0')
		snprintf(why, why_sz, "a PEM certificate with headers");
	else if ((p = der, x = d2i_X509(NULL, &p, n)) == NULL || p != der + n) {
		X509_free(x);
		x = NULL;
		snprintf(why, why_sz, "a PEM certificate that does not decode");
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	return x;
}

static int
push_cert(STACK_OF(X509) *sk, X509 *x)
{
	if (sk_X509_push(sk, x) > 0)
		return 0;
	X509_free(x);
	return -1;
}

/* Push on SK the DER certificate that is all of DATA (LEN bytes); REST is
 * what pem_rest said of DATA.  On failure WHY (WHY_SZ bytes) says why. */
static int
der_cert(
    STACK_OF(X509) *sk, const unsigned char *data, size_t len, int rest, char *why, size_t why_sz)
{
	const unsigned char *p = data;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		snprintf(why, why_sz, rest == 0 ? "empty" : "not a PEM or DER certificate");
		return -1;
	}
	if (p != data + len) {
		X509_free(x);
		snprintf(why, why_sz, "bytes after the DER certificate");
		return -1;
	}
	if (push_cert(sk, x) != 0) {
		snprintf(why, why_sz, "out of memory");
		return -1;
	}
	return 0;
}

/* The certificates in DATA (LEN bytes, at most INT_MAX): PEM CERTIFICATE
 * blocks with nothing but whitespace around them, or one DER certificate
 * that is all of DATA.  At most MAX of them, at least one.  On failure
 * WHY (WHY_SZ bytes) says what is wrong. */
static int
certs_decode(
    const unsigned char *data, size_t len, int max, STACK_OF(X509) **out, char *why, size_t why_sz)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = NULL;
	X509 *x;
	int rest, rc = -1;

	if (len == 0) {
		snprintf(why, why_sz, "empty");
		goto out;
	}
	if (sk == NULL || (b = BIO_new_mem_buf(data, (int)len)) == NULL) {
		snprintf(why, why_sz, "out of memory");
		goto out;
	}
	/* not PEM: one DER certificate, every byte of it */
	if ((rest = pem_rest(b)) != 1 && der_cert(sk, data, len, rest, why, why_sz) != 0)
		goto out;
	while (rest == 1) {
		if (sk_X509_num(sk) == max) {
			if (max == 1)
				snprintf(why, why_sz, "more than one certificate");
			else
				snprintf(why, why_sz, "more than %d certificates", max);
			goto out;
		}
		if ((x = pem_next_cert(b, why, why_sz)) == NULL)
			goto out;
		if (push_cert(sk, x) != 0) {
			snprintf(why, why_sz, "out of memory");
			goto out;
		}
		if ((rest = pem_rest(b)) < 0) {
			snprintf(why, why_sz, "text that is not PEM after a certificate");
			goto out;
		}
	}
	*out = sk;
	sk = NULL;
	rc = 0;
out:
	ERR_clear_error();
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* --- key attestation -------------------------------------------------------------- */

/* Trusted CA files and their directory: owned by root or by us, not
 * writable by group or others; symbolic links and anything but a regular
 * file are passed over. */
static const struct ct_open_policy ca_policy = {
    CT_OWNER_ROOT, 0, S_IWGRP | S_IWOTH, CA_FILE_MAX, 0, 1, NULL};

/* A refusal of the safe open (in LOCAL) as a configuration error in ERR. */
static int
unsafe(int rc, const struct ct_err *local, struct ct_err *err)
{
	return ct_err_set(err, rc == CT_ENOMEM ? rc : CT_ECONFIG, "%s", local->msg);
}

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

/* All SIZE bytes of FD into a new buffer. */
static int
read_all(int fd, size_t size, unsigned char **out)
{
	unsigned char *buf = malloc(size > 0 ? size : 1);
	size_t got = 0;
	ssize_t n;

	if (buf == NULL)
		return -1;
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return -1;
		}
		got += (size_t)n;
	}
	*out = buf;
	return 0;
}

/* Add the certificates of file NAME in directory DIRFD (DIR in messages) to
 * STORE, counting them in *N.  Anything but a regular file (a symbolic
 * link, a directory) is passed over. */
static int
ca_file_load(
    int dirfd, const char *dir, const char *name, X509_STORE *store, int *n, struct ct_err *err)
{
	STACK_OF(X509) *certs = NULL;
	unsigned char *data = NULL;
	char path[PATH_MAX], why[WHY_MAX];
	struct ct_err local = {0};
	struct stat st;
	int fd, i, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((rc = ct_safe_openat(dirfd, name, path, &ca_policy, &fd, &st, &local)) == CT_ENOENT)
		return CT_OK;
	if (rc != CT_OK)
		return unsafe(rc, &local, err);
	if (read_all(fd, (size_t)st.st_size, &data) != 0) {
		rc = ct_err_set(err, CT_ECONFIG, "%s: cannot read it", path);
		goto out;
	}
	if (certs_decode(data, (size_t)st.st_size, CA_FILE_CERTS_MAX, &certs, why, sizeof(why)) !=
	    0) {
		rc = ct_err_set(err, CT_ECONFIG, "%s: %s", path, why);
		goto out;
	}
	for (i = 0; i < sk_X509_num(certs); i++, (*n)++)
		if (X509_STORE_add_cert(store, sk_X509_value(certs, i)) != 1) {
			rc = ct_err_set(err, CT_ENOMEM, "out of memory");
			goto out;
		}
	rc = CT_OK;
out:
	ERR_clear_error();
	sk_X509_pop_free(certs, X509_free);
	free(data);
	close(fd);
	return rc;
}

/* The trusted attestation CAs: every regular *.pem and *.crt file in DIR. */
static int
ca_dir_load(const char *dir, X509_STORE *store, struct ct_err *err)
{
	struct dirent *e;
	struct stat st;
	DIR *d = NULL;
	int fd, files = 0, n = 0, rc = CT_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return ct_err_set(err, CT_ECONFIG, "%s: %s", dir,
		    errno == ENOENT                          ? "no such directory"
		        : errno == ENOTDIR || errno == ELOOP ? "not a directory"
		                                             : strerror(errno));
	if (fstat(fd, &st) != 0)
		rc = ct_err_set(err, CT_ECONFIG, "%s: %s", dir, strerror(errno));
	else if ((rc = ct_safe_check(dir, &st, &ca_policy, err)) != CT_OK)
		rc = CT_ECONFIG;
	else if ((d = fdopendir(fd)) == NULL)
		rc = ct_err_set(err, CT_ECONFIG, "%s: %s", dir, strerror(errno));
	if (rc != CT_OK) {
		close(fd);
		return rc;
	}
	while (rc == CT_OK && (errno = 0, e = readdir(d)) != NULL) {
		if (!has_suffix(e->d_name, ".pem") && !has_suffix(e->d_name, ".crt"))
			continue;
		if (++files > CA_FILES_MAX)
			rc = ct_err_set(err, CT_ECONFIG, "%s: more than %d *.pem and *.crt files",
			    dir, CA_FILES_MAX);
		else
			rc = ca_file_load(dirfd(d), dir, e->d_name, store, &n, err);
	}
	if (rc == CT_OK && errno != 0)
		rc = ct_err_set(err, CT_ECONFIG, "%s: %s", dir, strerror(errno));
	if (rc == CT_OK && n == 0)
		rc = ct_err_set(err, CT_ECONFIG,
		    "%s: no attestation CA certificate in it (regular *.pem or *.crt files; "
		    "symbolic links are not followed)",
		    dir);
	closedir(d);
	return rc;
}

/* Does ATT verify up to a CA of STORE at NOW, with UNTRUSTED as intermediates? */
static int
chain_verify(
    X509_STORE *store, X509 *att, STACK_OF(X509) *untrusted, time_t now, struct ct_err *err)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int rc = CT_OK;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, store, att, untrusted) != 1) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	/* not X509_V_FLAG_X509_STRICT: hardware makers' attestation certificates
	 * are not always strict; an intermediate must still be a CA */
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_USE_CHECK_TIME);
	X509_VERIFY_PARAM_set_time(param, now);
	X509_VERIFY_PARAM_set_depth(param, ATT_CERTS_MAX);
	if (X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY) != 1) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot set up the attestation check");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1)
		rc = ct_err_set(err, CT_EINVAL, "attestation certificate is not trusted: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return rc;
}

/* Is X's SubjectPublicKeyInfo, as encoded, the bytes SPKI? */
static int
spki_check(X509 *x, const unsigned char *spki, size_t spki_len, struct ct_err *err)
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der), rc = CT_OK;

	if (n <= 0)
		rc = ct_err_set(
		    err, CT_EINVAL, "attestation: the certificate's key does not encode");
	else if ((size_t)n != spki_len || memcmp(der, spki, spki_len) != 0)
		rc = ct_err_set(err, CT_EINVAL,
		    "the attestation certificate attests a different key than the CSR's");
	ERR_clear_error();
	OPENSSL_free(der);
	return rc;
}

/* NAME in RFC 2253 into OUT (SIZE bytes; cut short when longer: 1), with
 * what could disguise a line escaped as hex pairs, as OpenSSL escapes
 * ASCII controls (ct_text_escape); -1 when it cannot be printed. */
static int
name_text(const X509_NAME *name, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int rc = -1;

	if (b != NULL && X509_NAME_print_ex(b, name, 0, NAME_FLAGS) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) >= 0 && size > 0)
		rc = ct_text_escape(p, (size_t)n, CT_TEXT_HEX, out, size) < size ? 0 : 1;
	BIO_free(b);
	return rc;
}

int
ct_attest_verify(const char *ca_dir, const unsigned char *att, size_t att_len,
    const unsigned char *spki, size_t spki_len, time_t now, char *subject, size_t subject_sz,
    struct ct_err *err)
{
	STACK_OF(X509) *certs = NULL;
	X509_STORE *store = NULL;
	X509 *leaf;
	char why[WHY_MAX];
	int rc;

	if (att_len > CT_ATTEST_MAX)
		return ct_err_set(
		    err, CT_EINVAL, "attestation: larger than %d bytes", CT_ATTEST_MAX);
	if (spki_len == 0 || spki_len > CT_SPKI_MAX)
		return ct_err_set(err, CT_EINVAL, "attestation: no public key to compare it with");
	if ((store = X509_STORE_new()) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = ca_dir_load(ca_dir, store, err)) != CT_OK)
		goto out;
	if (certs_decode(att, att_len, ATT_CERTS_MAX, &certs, why, sizeof(why)) != 0) {
		rc = ct_err_set(err, CT_EINVAL, "attestation: %s", why);
		goto out;
	}
	/* the attestation certificate first, then the intermediates */
	leaf = sk_X509_shift(certs);
	rc = chain_verify(store, leaf, certs, now, err);
	if (rc == CT_OK)
		rc = spki_check(leaf, spki, spki_len, err);
	if (rc == CT_OK && subject != NULL && subject_sz > 0 &&
	    name_text(X509_get_subject_name(leaf), subject, subject_sz) < 0)
		snprintf(subject, subject_sz, "(unprintable)");
	X509_free(leaf);
out:
	sk_X509_pop_free(certs, X509_free);
	X509_STORE_free(store);
	return rc;
}

/* --- proof of possession --------------------------------------------------------- */

/* The digest of a proof: SHA-256, none for EdDSA, which hashes itself. */
static const char *
pop_digest(const EVP_PKEY *key)
{
	int id = EVP_PKEY_get_base_id(key);

	return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : "SHA256";
}

int
ct_pop_message(const unsigned char nonce[CT_POP_NONCE_LEN], const char *user,
    const unsigned char *cert_der, size_t cert_len, unsigned char **msg, size_t *len,
    struct ct_err *err)
{
	unsigned char hash[32], *buf = NULL, *p;
	size_t ulen = user != NULL ? strnlen(user, POP_FIELD_MAX + 1) : 0, n;
	unsigned int hlen = 0;
	EVP_MD *sha256 = NULL;
	int rc;

	if (user == NULL || ulen > POP_FIELD_MAX)
		return ct_err_set(err, CT_EINVAL, "user name too long for a proof of possession");
	if (cert_der == NULL || cert_len == 0)
		return ct_err_set(err, CT_EINVAL, "no certificate for a proof of possession");
	if ((sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    EVP_Digest(cert_der, cert_len, hash, &hlen, sha256, NULL) != 1 ||
	    hlen != sizeof(hash)) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot hash the certificate");
		ct_err_openssl(err);
		goto out;
	}
	n = sizeof(POP_DOMAIN) + 2 + CT_POP_NONCE_LEN + 2 + ulen + 2 + sizeof(hash);
	if ((buf = malloc(n)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(buf, POP_DOMAIN, sizeof(POP_DOMAIN)); /* with its NUL: the separator */
	p = buf + sizeof(POP_DOMAIN);
	ct_put_field16(&p, nonce, CT_POP_NONCE_LEN);
	ct_put_field16(&p, user, ulen);
	ct_put_field16(&p, hash, sizeof(hash));
	*msg = buf;
	*len = n;
	rc = CT_OK;
out:
	EVP_MD_free(sha256);
	return rc;
}

int
ct_pop_sign(EVP_PKEY *key, const unsigned char *msg, size_t len, unsigned char **sig,
    size_t *sig_len, struct ct_err *err)
{
	EVP_MD_CTX *md = NULL;
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, pop_digest(key), NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &n, msg, len) != 1 || (buf = malloc(n)) == NULL ||
	    EVP_DigestSign(md, buf, &n, msg, len) != 1) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot sign the proof of possession");
		ct_err_openssl(err);
		free(buf);
		goto out;
	}
	*sig = buf;
	*sig_len = n;
	rc = CT_OK;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
ct_pop_verify(X509 *cert, const unsigned char *msg, size_t len, const unsigned char *sig,
    size_t sig_len, struct ct_err *err)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);
	EVP_MD_CTX *md = NULL;
	int rc = CT_OK;

	/* a key that cannot verify (unsupported, not a signing key) proves nothing either */
	if (key == NULL || sig_len == 0 || sig_len > SIG_MAX || (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, pop_digest(key), NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestVerify(md, sig, sig_len, msg, len) != 1)
		rc = ct_err_set(err, CT_EINVAL,
		    "the signature does not prove possession of the certificate's key");
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return rc;
}

/* --- uploaded certificates -------------------------------------------------------- */

static int
is_ca(X509 *x)
{
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	int ca = bc != NULL && bc->ca;

	BASIC_CONSTRAINTS_free(bc);
	ERR_clear_error();
	return ca || X509_check_ca(x) != 0;
}

static int
asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* The fields of X into INFO. */
static int
cert_info(X509 *x, struct ct_cert_info *info, struct ct_err *err)
{
	struct ct_cert_info i;
	int r;

	memset(&i, 0, sizeof(i));
	if ((r = name_text(X509_get_issuer_name(x), i.issuer, sizeof(i.issuer))) != 0)
		return ct_err_set(err, CT_EINVAL, "certificate: issuer name %s",
		    r > 0 ? "longer than 255 characters" : "cannot be printed");
	if ((r = name_text(X509_get_subject_name(x), i.subject, sizeof(i.subject))) != 0)
		return ct_err_set(err, CT_EINVAL, "certificate: subject name %s",
		    r > 0 ? "longer than 255 characters" : "cannot be printed");
	if (ct_cert_serial_hex(x, i.serial) != CT_OK)
		return ct_err_set(
		    err, CT_EINVAL, "certificate: serial number negative or longer than 20 octets");
	if (asn1_time(X509_get0_notBefore(x), &i.not_before) != 0 ||
	    asn1_time(X509_get0_notAfter(x), &i.not_after) != 0)
		return ct_err_set(err, CT_EINVAL, "certificate: malformed validity time");
	*info = i;
	return CT_OK;
}

int
ct_cert_parse(const unsigned char *data, size_t len, X509 **out, struct ct_cert_info *info,
    struct ct_err *err)
{
	STACK_OF(X509) *certs = NULL;
	struct ct_cert_info i;
	char why[WHY_MAX];
	X509 *x = NULL;
	int rc;

	if (len > CERT_MAX)
		return ct_err_set(err, CT_EINVAL, "certificate: larger than %d bytes", CERT_MAX);
	if (certs_decode(data, len, 1, &certs, why, sizeof(why)) != 0)
		return ct_err_set(err, CT_EINVAL, "certificate: %s", why);
	x = sk_X509_pop(certs);
	if (X509_get_version(x) != X509_VERSION_3)
		rc = ct_err_set(err, CT_EINVAL, "certificate: not an X.509 version 3 certificate");
	else if (X509_get_extension_flags(x) & EXFLAG_INVALID)
		rc = ct_err_set(err, CT_EINVAL, "certificate: malformed extensions");
	else if (is_ca(x))
		rc = ct_err_set(err, CT_EINVAL,
		    "certificate: a CA certificate, not the certificate of a user's key");
	else if (X509_get0_pubkey(x) == NULL)
		rc = ct_err_set(err, CT_EINVAL, "certificate: its public key does not decode");
	else
		rc = cert_info(x, &i, err);
	ERR_clear_error();
	if (rc == CT_OK) {
		if (info != NULL)
			*info = i;
		if (out != NULL) {
			*out = x;
			x = NULL;
		}
	}
	X509_free(x);
	sk_X509_free(certs);
	return rc;
}

/* --- PKCS#12 ------------------------------------------------------------------------ */

/* PBKDF2 iterations for the key and certificate bags, and those of the MAC's
 * key derivation.  Fifty times OpenSSL's default (2048): a password a person
 * chose costs a guesser that much more, and importers (NSS, Windows 10 and
 * later, current macOS and Java) still open the file in well under a second. */
#define P12_ITER 100000
/* Legacy files: what the old importers they are made for were built around. */
#define P12_LEGACY_ITER 2048

int
ct_pkcs12_make(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, const char *name,
    const char *password, int legacy, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	const int nid = legacy ? NID_pbe_WithSHA1And3_Key_TripleDES_CBC : NID_aes_256_cbc;
	const int iter = legacy ? P12_LEGACY_ITER : P12_ITER;
	unsigned char *buf = NULL;
	EVP_MD *md = NULL;
	PKCS12 *p12 = NULL;
	int n = 0, rc;

	if (password == NULL || password[0] == '\0')
		return ct_err_set(err, CT_EINVAL, "a PKCS#12 needs a password");
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return ct_err_set(err, CT_EINVAL, "the key does not belong to the certificate");
	}
	/* no MAC from PKCS12_create (mac_iter -1): its digest would be OpenSSL's
	 * default; PKCS12_set_mac adds one with the digest we name */
	if ((md = EVP_MD_fetch(NULL, legacy ? "SHA1" : "SHA256", NULL)) == NULL ||
	    (p12 = PKCS12_create_ex(
	         password, name, key, cert, chain, nid, nid, iter, -1, 0, NULL, NULL)) == NULL ||
	    PKCS12_set_mac(p12, password, -1, NULL, 0, iter, md) != 1 ||
	    (n = i2d_PKCS12(p12, &buf)) <= 0) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot make the PKCS#12");
		ct_err_openssl(err);
		goto out;
	}
	*der = buf;
	*der_len = (size_t)n;
	buf = NULL;
	rc = CT_OK;
out:
	OPENSSL_clear_free(buf, n > 0 ? (size_t)n : 0);
	PKCS12_free(p12);
	EVP_MD_free(md);
	return rc;
}

/* --- passwords ------------------------------------------------------------------------ */

/* Letters and digits less the look-alikes 0 O o 1 l I: 56 characters. */
static const char pw_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

int
ct_password_random(char *out, size_t len, struct ct_err *err)
{
	const unsigned n = sizeof(pw_alphabet) - 1;
	/* bytes at or above the largest multiple of N are drawn again, so that
	 * every character is equally likely */
	const unsigned limit = 256 - 256 % n;
	unsigned char rnd[64];
	size_t got = 0, i = sizeof(rnd);

	if (len < 16)
		return ct_err_set(err, CT_EINVAL, "a password needs at least 16 characters");
	while (got < len) {
		if (i == sizeof(rnd)) {
			if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
				OPENSSL_cleanse(out, got);
				OPENSSL_cleanse(rnd, sizeof(rnd));
				ct_err_set(err, CT_ECRYPTO, "no random numbers for a password");
				ct_err_openssl(err);
				return CT_ECRYPTO;
			}
			i = 0;
		}
		if (rnd[i] < limit)
			out[got++] = pw_alphabet[rnd[i] % n];
		i++;
	}
	out[len] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return CT_OK;
}
