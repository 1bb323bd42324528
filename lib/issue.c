#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "der.h"
#include "issue.h"
#include "pattern.h"
#include "store.h"
#include "template.h"

#define CA_BACKDATE 3600 /* CA notBefore is an hour before init */

struct ct_ca {
	char *group;
	EVP_PKEY *key;
	X509 *cert;
	const char *mdname; /* signature digest; NULL for Ed25519 */
	time_t not_before, not_after;
};

struct ct_issuer {
	const struct ct_target *target;
	struct ct_ca *ca;
	EVP_MD *sha1; /* for the subject key identifier, fetched once */
	unsigned char *sigalg; /* DER AlgorithmIdentifier of the CA's signature */
	size_t sigalg_len;
	unsigned char *issuer; /* DER Name: the CA's subject */
	size_t issuer_len;
	unsigned char *fixed_ext; /* DER of basicConstraints, KU, EKU, AKI */
	size_t fixed_ext_len;
};

/* The digest a CA of key type T signs with (NULL: the algorithm has its own). */
const char *
ct_key_digest(enum ct_key_type t)
{
	switch (t) {
	case CT_KEY_EC_P384: return "SHA384";
	case CT_KEY_ED25519: return NULL;
	default: return "SHA256";
	}
}

EVP_PKEY *
ct_key_generate(enum ct_key_type t)
{
	switch (t) {
	case CT_KEY_EC_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case CT_KEY_EC_P384: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case CT_KEY_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case CT_KEY_RSA2048: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case CT_KEY_RSA3072: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	case CT_KEY_RSA4096: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	}
	return NULL;
}

/* A random positive 128-bit serial number (never zero). */
static int
random_serial(ASN1_INTEGER *out)
{
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	int rc = -1;

	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -1;
	} while (rnd[0] == 0 && memcmp(rnd, rnd + 1, sizeof(rnd) - 1) == 0);
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) != NULL && BN_to_ASN1_INTEGER(bn, out) != NULL)
		rc = 0;
	BN_free(bn);
	return rc;
}

static time_t
asn1_time_to_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return (time_t)-1;
	return timegm(&tm);
}

/* Add extension NID, configured by the OpenSSL text VALUE, to the CA certificate. */
static int
add_ca_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *
make_ca_cert(const struct ct_group *g, EVP_PKEY *key, time_t now)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	EVP_MD *md = NULL;

	/* CN is the group name itself: any valid name (at most 64 bytes) fits
	 * the 64 characters X.520 allows a CN */
	if (x == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    random_serial(X509_get_serialNumber(x)) != 0 ||
	    !X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
	        (const unsigned char *)"certtoken", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(name, NID_organizationalUnitName, MBSTRING_UTF8,
	        (const unsigned char *)"access group", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(
	        name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)g->name, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, -CA_BACKDATE, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)g->ca_days, 0, &now) ||
	    !X509_set_pubkey(x, key) ||
	    add_ca_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
	    add_ca_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    add_ca_ext(x, NID_subject_key_identifier, "hash") != 0 ||
	    add_ca_ext(x, NID_authority_key_identifier, "keyid:always") != 0)
		goto fail;
	if (ct_key_digest(g->key_type) != NULL &&
	    (md = EVP_MD_fetch(NULL, ct_key_digest(g->key_type), NULL)) == NULL)
		goto fail;
	if (X509_sign(x, key, md) <= 0)
		goto fail;
	EVP_MD_free(md);
	return x;
fail:
	EVP_MD_free(md);
	X509_free(x);
	return NULL;
}

/* Encode KEY and CERT as PEM into new buffers. */
static int
encode_ca(EVP_PKEY *key, X509 *cert, BUF_MEM **kpem, BUF_MEM **cpem)
{
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	int rc = -1;

	if (kb != NULL && cb != NULL &&
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) &&
	    PEM_write_bio_X509(cb, cert)) {
		BIO_get_mem_ptr(kb, kpem);
		BIO_get_mem_ptr(cb, cpem);
		(void)BIO_set_close(kb, BIO_NOCLOSE);
		(void)BIO_set_close(cb, BIO_NOCLOSE);
		rc = 0;
	}
	BIO_free(kb);
	BIO_free(cb);
	return rc;
}

static void
buf_mem_clear_free(BUF_MEM *b)
{
	if (b != NULL)
		OPENSSL_cleanse(b->data, b->max);
	BUF_MEM_free(b);
}

/* Directory of GROUP in STORE into *OUT, creating STORE and STORE/groups
 * when CREATE, else checking them. */
static int
group_dir(const char *store, const char *group, int create, char **out, struct ct_err *err)
{
	char *groups = NULL, *dir = NULL;
	int rc;

	if (!ct_name_valid(group))
		return ct_err_set(err, CT_EINVAL, "'%s' is not a valid access group name", group);
	if ((groups = ct_path_join(store, "groups")) == NULL ||
	    (dir = ct_path_join(groups, group)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = create ? ct_store_mkdir(store, err) : ct_store_check_dir(store, err)) == CT_OK)
		rc = create ? ct_store_mkdir(groups, err) : ct_store_check_dir(groups, err);
	if (rc == CT_OK) {
		*out = dir;
		dir = NULL;
	}
out:
	free(groups);
	free(dir);
	return rc;
}

/* Write ca.key and ca.pem into a fresh directory and rename it to DIR, so a
 * group has either a complete CA or none. */
static int
publish_ca(const char *dir, BUF_MEM *kpem, BUF_MEM *cpem, struct ct_err *err)
{
	char *tmp = NULL, *kf = NULL, *cf = NULL;
	size_t len = strlen(dir) + 16;
	int rc;

	if ((tmp = malloc(len)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	snprintf(tmp, len, "%s.new.XXXXXX", dir);
	if (mkdtemp(tmp) == NULL) {
		rc = ct_err_set(
		    err, CT_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
		free(tmp);
		return rc;
	}
	if ((kf = ct_path_join(tmp, "ca.key")) == NULL ||
	    (cf = ct_path_join(tmp, "ca.pem")) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ct_file_write_atomic(kf, kpem->data, kpem->length, 0600, 1, err)) != CT_OK ||
	    (rc = ct_file_write_atomic(cf, cpem->data, cpem->length, 0600, 1, err)) != CT_OK)
		goto out;
	if (rename(tmp, dir) != 0) {
		rc = ct_err_set(err, errno == EEXIST || errno == ENOTEMPTY ? CT_EEXIST : CT_EIO,
		    "%s: %s", dir,
		    errno == EEXIST || errno == ENOTEMPTY ? "the access group already has a CA"
		                                          : strerror(errno));
		goto out;
	}
	rc = CT_OK;
out:
	if (rc != CT_OK) {
		if (kf != NULL)
			unlink(kf);
		if (cf != NULL)
			unlink(cf);
		rmdir(tmp);
	}
	free(kf);
	free(cf);
	free(tmp);
	return rc;
}

/* A new CA for G at NOW: its key and certificate, and both as PEM. */
static int
new_ca(const struct ct_group *g, time_t now, EVP_PKEY **key, X509 **cert, BUF_MEM **kpem,
    BUF_MEM **cpem, struct ct_err *err)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;

	if ((k = ct_key_generate(g->key_type)) == NULL || (x = make_ca_cert(g, k, now)) == NULL ||
	    encode_ca(k, x, kpem, cpem) != 0) {
		EVP_PKEY_free(k);
		X509_free(x);
		ct_err_set(err, CT_ECRYPTO, "cannot create the CA of access group '%s'", g->name);
		ct_err_openssl(err);
		return CT_ECRYPTO;
	}
	*key = k;
	*cert = x;
	return CT_OK;
}

int
ct_ca_init(const char *store, const struct ct_group *g, time_t now, struct ct_err *err)
{
	BUF_MEM *kpem = NULL, *cpem = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char *dir = NULL;
	int rc;

	if ((rc = group_dir(store, g->name, 1, &dir, err)) != CT_OK)
		return rc;
	if (access(dir, F_OK) == 0) {
		rc = ct_err_set(
		    err, CT_EEXIST, "access group '%s' already has a CA (%s)", g->name, dir);
		goto out;
	}
	if ((rc = new_ca(g, now, &key, &cert, &kpem, &cpem, err)) == CT_OK)
		rc = publish_ca(dir, kpem, cpem, err);
out:
	buf_mem_clear_free(kpem);
	BUF_MEM_free(cpem);
	EVP_PKEY_free(key);
	X509_free(cert);
	free(dir);
	return rc;
}

const char *
ct_pkey_digest(const EVP_PKEY *key)
{
	char group[64];

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519)
		return NULL;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(
	        key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)) {
		if (strcmp(group, "secp384r1") == 0)
			return "SHA384";
		if (strcmp(group, "secp521r1") == 0)
			return "SHA512";
	}
	return "SHA256";
}

int
ct_pkey_type(const EVP_PKEY *key)
{
	char group[64];

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_ED25519: return CT_KEY_ED25519;
	case EVP_PKEY_RSA:
		switch (EVP_PKEY_get_bits(key)) {
		case 2048: return CT_KEY_RSA2048;
		case 3072: return CT_KEY_RSA3072;
		case 4096: return CT_KEY_RSA4096;
		}
		return -1;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(
		        key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
			return -1;
		if (strcmp(group, "prime256v1") == 0)
			return CT_KEY_EC_P256;
		if (strcmp(group, "secp384r1") == 0)
			return CT_KEY_EC_P384;
		return -1;
	}
	return -1;
}

/* ---- reading a group directory ---- */

#define SNAP_TRIES 5 /* reads of a group directory that rotations keep replacing */
#define UNTIL_FILE "previous.until"
#define NEXT_KEY "next.key" /* the prepared CA */
#define NEXT_PEM "next.pem" /* its certificate: there is a prepared CA when it exists */

/* A group directory, opened once.  A published group directory is never
 * changed in place (see issue.h), so the files read relative to FD belong
 * together; snap_current tells whether a rotation has replaced it since. */
struct snap {
	char *dir; /* STORE/groups/GROUP, for messages and the re-check */
	int fd;
	struct stat st;
};

static int
no_ca(const char *group, struct ct_err *err)
{
	ct_err_clear(err);
	return ct_err_set(err, CT_ENOENT,
	    "access group '%s' has no CA yet "
	    "(run: certtoken-admin ca init %s)",
	    group, group);
}

static void
snap_close(struct snap *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->dir);
	s->fd = -1;
	s->dir = NULL;
}

/* Open GROUP's directory in STORE.  CT_ENOENT, saying to run ca init, when
 * the group has no CA (or there is no store yet). */
static int
snap_open(const char *store, const char *group, struct snap *s, struct ct_err *err)
{
	int rc;

	s->fd = -1;
	s->dir = NULL;
	if ((rc = group_dir(store, group, 0, &s->dir, err)) == CT_OK)
		rc = ct_store_open_dir(s->dir, &s->fd, &s->st, err);
	if (rc == CT_ENOENT)
		rc = no_ca(group, err);
	if (rc != CT_OK)
		snap_close(s);
	return rc;
}

/* Is S still the group's directory, not replaced by a rotation? */
static int
snap_current(const struct snap *s)
{
	struct stat st;

	return lstat(s->dir, &st) == 0 && st.st_dev == s->st.st_dev && st.st_ino == s->st.st_ino;
}

/* Does S have file NAME?  Yes also when that cannot be told: reading it
 * then reports why. */
static int
snap_has(const struct snap *s, const char *name)
{
	struct stat st;

	return fstatat(s->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

/* File NAME of S, which must exist: a group directory is complete. */
static int
snap_read(
    const struct snap *s, const char *name, unsigned char **data, size_t *len, struct ct_err *err)
{
	int rc = ct_file_readat(s->fd, s->dir, name, CT_FILE_MAX, data, len, err);

	if (rc == CT_ENOENT) {
		ct_err_clear(err);
		rc = ct_err_set(err, CT_EIO, "%s/%s: missing", s->dir, name);
	}
	return rc;
}

/* The PEM certificate (into *CERT) or private key (into *KEY: the other is
 * NULL) in file NAME of S.  A key's bytes are wiped after decoding. */
static int
snap_pem(const struct snap *s, const char *name, X509 **cert, EVP_PKEY **key, struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	BIO *b;
	int rc;

	if ((rc = snap_read(s, name, &data, &len, err)) != CT_OK)
		return rc;
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (cert != NULL
	            ? (*cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL
	            : (*key = PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, NULL, NULL)) == NULL))
		rc = ct_err_set(err, CT_EIO, "%s/%s: not a PEM %s", s->dir, name,
		    cert != NULL ? "certificate" : "private key");
	ERR_clear_error();
	BIO_free(b);
	OPENSSL_clear_free(data, len);
	return rc;
}

/* The end of the previous CA's overlap (previous.until of S); 0 when the
 * group has no previous CA. */
static int
snap_until(const struct snap *s, time_t *until, struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0, digits;
	long long v = 0;
	int rc;

	rc = ct_file_readat(s->fd, s->dir, UNTIL_FILE, CT_FILE_MAX, &data, &len, err);
	if (rc == CT_ENOENT) {
		ct_err_clear(err);
		*until = 0;
		return CT_OK;
	}
	if (rc != CT_OK)
		return rc;
	/* 1 to 18 digits, then at most a newline: fits time_t, no sign, no space */
	digits = strspn((const char *)data, "0123456789");
	if (digits == 0 || digits > 18 ||
	    (len != digits && !(len == digits + 1 && data[digits] == '\n')))
		rc = ct_err_set(err, CT_EIO, "%s/%s: not a time in seconds since the epoch", s->dir,
		    UNTIL_FILE);
	else {
		v = strtoll((const char *)data, NULL, 10);
		*until = (time_t)v;
	}
	free(data);
	return rc;
}

/* The CA in files KEY and CERT of S. */
static int
snap_ca(const struct snap *s, const char *group, const char *key, const char *cert,
    struct ct_ca **out, struct ct_err *err)
{
	struct ct_ca *ca = calloc(1, sizeof(*ca));
	int rc;

	if (ca == NULL || (ca->group = strdup(group)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = snap_pem(s, key, NULL, &ca->key, err)) != CT_OK ||
	    (rc = snap_pem(s, cert, &ca->cert, NULL, err)) != CT_OK)
		goto out;
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		rc = ct_err_set(err, CT_EIO, "%s/%s: does not match %s", s->dir, cert, key);
		goto out;
	}
	/* the key decides the digest: `ca init --key-type` may differ from the config */
	ca->mdname = ct_pkey_digest(ca->key);
	ca->not_before = asn1_time_to_time_t(X509_get0_notBefore(ca->cert));
	ca->not_after = asn1_time_to_time_t(X509_get0_notAfter(ca->cert));
	*out = ca;
	ca = NULL;
out:
	ct_ca_free(ca);
	return rc;
}

/* Run READ on GROUP's directory in STORE, and again (after RESET has
 * dropped what it gave) when a rotation replaced the directory while READ
 * was reading it: the result always comes from one directory. */
static int
snap_run(const char *store, const char *group,
    int (*read)(const struct snap *, void *, struct ct_err *), void (*reset)(void *), void *ctx,
    struct ct_err *err)
{
	struct snap s;
	int rc, tries;

	for (tries = 0; tries < SNAP_TRIES; tries++) {
		if ((rc = snap_open(store, group, &s, err)) != CT_OK)
			return rc;
		rc = read(&s, ctx, err);
		if (snap_current(&s)) {
			snap_close(&s);
			return rc;
		}
		snap_close(&s);
		reset(ctx);
		ct_err_clear(err);
	}
	return ct_err_set(err, CT_EIO,
	    "the CA of access group '%s' kept changing while it was read; try again", group);
}

/* What ct_ca_load and ct_ca_load_trusted read. */
struct load_ctx {
	const char *group;
	time_t now;
	int want_previous;
	struct ct_ca *cur, *prev;
};

static int
load_read(const struct snap *s, void *ctx, struct ct_err *err)
{
	struct load_ctx *l = ctx;
	time_t until = 0;
	int rc;

	if ((rc = snap_ca(s, l->group, "ca.key", "ca.pem", &l->cur, err)) != CT_OK ||
	    !l->want_previous || (rc = snap_until(s, &until, err)) != CT_OK || l->now >= until)
		return rc;
	return snap_ca(s, l->group, "previous.key", "previous.pem", &l->prev, err);
}

static void
load_reset(void *ctx)
{
	struct load_ctx *l = ctx;

	ct_ca_free(l->cur);
	ct_ca_free(l->prev);
	l->cur = l->prev = NULL;
}

int
ct_ca_load(const char *store, const struct ct_group *g, struct ct_ca **out, struct ct_err *err)
{
	struct load_ctx l = {g->name, 0, 0, NULL, NULL};
	int rc;

	if ((rc = snap_run(store, g->name, load_read, load_reset, &l, err)) != CT_OK) {
		load_reset(&l);
		return rc;
	}
	*out = l.cur;
	return CT_OK;
}

int
ct_ca_load_trusted(const char *store, const struct ct_group *g, time_t now, struct ct_ca **cur,
    struct ct_ca **prev, struct ct_err *err)
{
	struct load_ctx l = {g->name, now, 1, NULL, NULL};
	int rc;

	if ((rc = snap_run(store, g->name, load_read, load_reset, &l, err)) != CT_OK) {
		load_reset(&l);
		return rc;
	}
	*cur = l.cur;
	*prev = l.prev;
	return CT_OK;
}

/* What ct_ca_trust reads: certificates only, never a key. */
struct trust_ctx {
	time_t now;
	STACK_OF(X509) *anchors;
};

/* Read certificate NAME of S onto ANCHORS. */
static int
push_cert(const struct snap *s, const char *name, STACK_OF(X509) *anchors, struct ct_err *err)
{
	X509 *x = NULL;
	int rc;

	if ((rc = snap_pem(s, name, &x, NULL, err)) != CT_OK)
		return rc;
	if (sk_X509_push(anchors, x) <= 0) {
		X509_free(x);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	return CT_OK;
}

static int
trust_read(const struct snap *s, void *ctx, struct ct_err *err)
{
	struct trust_ctx *t = ctx;
	time_t until = 0;
	int rc;

	if ((t->anchors = sk_X509_new_null()) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = push_cert(s, "ca.pem", t->anchors, err)) != CT_OK ||
	    (snap_has(s, NEXT_PEM) && (rc = push_cert(s, NEXT_PEM, t->anchors, err)) != CT_OK) ||
	    (rc = snap_until(s, &until, err)) != CT_OK || t->now >= until)
		return rc;
	return push_cert(s, "previous.pem", t->anchors, err);
}

static void
trust_reset(void *ctx)
{
	struct trust_ctx *t = ctx;

	sk_X509_pop_free(t->anchors, X509_free);
	t->anchors = NULL;
}

int
ct_ca_trust(const char *store, const struct ct_group *g, time_t now, STACK_OF(X509) **anchors,
    struct ct_err *err)
{
	struct trust_ctx t = {now, NULL};
	int rc;

	if ((rc = snap_run(store, g->name, trust_read, trust_reset, &t, err)) != CT_OK) {
		trust_reset(&t);
		return rc;
	}
	*anchors = t.anchors;
	return CT_OK;
}

/* ---- rotation ---- */

/* STORE/groups/.GROUP SUFFIX for the group directory DIR (STORE/groups/GROUP):
 * a name no group can have, since group names never start with a dot. */
static char *
group_aux_path(const char *dir, const char *suffix)
{
	const char *base = strrchr(dir, '/') + 1;
	size_t len = strlen(dir) + strlen(suffix) + 2;
	char *p = malloc(len);

	if (p != NULL)
		snprintf(p, len, "%.*s.%s%s", (int)(base - dir), dir, base, suffix);
	return p;
}

/* Take the lock that serialises the rotations of the group in DIR (the file
 * is never unlinked); gives its descriptor, closing it releases the lock. */
static int
lock_group(const char *dir, int *out, struct ct_err *err)
{
	char *path = group_aux_path(dir, ".lock");
	int fd, rc = CT_OK;

	if (path == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		rc = ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
	while (fd >= 0 && flock(fd, LOCK_EX) != 0)
		if (errno != EINTR) {
			rc = ct_err_set(err, CT_EIO, "%s: cannot lock: %s", path, strerror(errno));
			close(fd);
			fd = -1;
		}
	if (rc == CT_OK)
		*out = fd;
	free(path);
	return rc;
}

/* Remove PATH, a directory of plain files left by a rotation; nothing to do
 * when it does not exist. */
static int
remove_flat_dir(const char *path, struct ct_err *err)
{
	struct dirent *de;
	int fd, rc = CT_OK, removed;
	DIR *d;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || ((errno == ELOOP || errno == ENOTDIR) && unlink(path) == 0))
			return CT_OK;
		return ct_err_set(err, CT_EIO, "%s: cannot remove: %s", path, strerror(errno));
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return ct_err_set(err, CT_EIO, "%s: cannot remove: %s", path, strerror(errno));
	}
	do { /* again until empty: removing while reading may skip entries */
		removed = 0;
		rewinddir(d);
		while (rc == CT_OK && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) != 0)
				rc = ct_err_set(err, CT_EIO, "%s/%s: cannot remove: %s", path,
				    de->d_name, strerror(errno));
			removed++;
		}
	} while (rc == CT_OK && removed > 0);
	closedir(d);
	if (rc == CT_OK && rmdir(path) != 0)
		rc = ct_err_set(err, CT_EIO, "%s: cannot remove: %s", path, strerror(errno));
	return rc;
}

/* The files of a group directory being built: at most FILES_MAX, each NAME
 * with LEN bytes of DATA (malloc'd, owned, wiped when freed: keys among them). */
#define FILES_MAX 8
struct group_files {
	size_t n;
	struct {
		const char *name;
		unsigned char *data;
		size_t len;
	} f[FILES_MAX];
};

static void
files_clear(struct group_files *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		OPENSSL_cleanse(fs->f[i].data, fs->f[i].len);
		free(fs->f[i].data);
	}
	memset(fs, 0, sizeof(*fs));
}

/* Add file NAME holding LEN bytes of DATA, which FS owns from now on (also
 * when this fails). */
static int
files_add(
    struct group_files *fs, const char *name, unsigned char *data, size_t len, struct ct_err *err)
{
	if (data == NULL || fs->n == FILES_MAX) {
		if (data != NULL)
			OPENSSL_cleanse(data, len);
		free(data);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	fs->f[fs->n].name = name;
	fs->f[fs->n].data = data;
	fs->f[fs->n].len = len;
	fs->n++;
	return CT_OK;
}

/* Add file NAME holding a copy of B's contents. */
static int
files_add_buf(struct group_files *fs, const char *name, const BUF_MEM *b, struct ct_err *err)
{
	unsigned char *data = malloc(b->length > 0 ? b->length : 1);

	if (data != NULL)
		memcpy(data, b->data, b->length);
	return files_add(fs, name, data, b->length, err);
}

/* Add file NAME holding what file FROM of S holds, byte for byte. */
static int
files_copy(struct group_files *fs, const struct snap *s, const char *from, const char *name,
    struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = snap_read(s, from, &data, &len, err)) != CT_OK)
		return rc;
	return files_add(fs, name, data, len, err);
}

/* Add a new CA for G at NOW as files KEY and CERT; its certificate into *OUT. */
static int
files_new_ca(struct group_files *fs, const struct ct_group *g, time_t now, const char *key,
    const char *cert, X509 **out, struct ct_err *err)
{
	BUF_MEM *kpem = NULL, *cpem = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc;

	if ((rc = new_ca(g, now, &k, &x, &kpem, &cpem, err)) == CT_OK &&
	    (rc = files_add_buf(fs, key, kpem, err)) == CT_OK &&
	    (rc = files_add_buf(fs, cert, cpem, err)) == CT_OK) {
		*out = x;
		x = NULL;
	}
	buf_mem_clear_free(kpem);
	BUF_MEM_free(cpem);
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

/* Add previous.until: the previous CA is trusted until UNTIL. */
static int
files_add_until(struct group_files *fs, time_t until, struct ct_err *err)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%lld\n", (long long)until);
	unsigned char *data = malloc((size_t)n);

	if (data != NULL)
		memcpy(data, text, (size_t)n);
	return files_add(fs, UNTIL_FILE, data, (size_t)n, err);
}

/* Write the files of FS into the new directory TMP. */
static int
files_write(const char *tmp, const struct group_files *fs, struct ct_err *err)
{
	char *path;
	size_t i;
	int rc = CT_OK;

	if (mkdir(tmp, 0700) != 0)
		return ct_err_set(
		    err, CT_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
	for (i = 0; rc == CT_OK && i < fs->n; i++) {
		if ((path = ct_path_join(tmp, fs->f[i].name)) == NULL)
			return ct_err_set(err, CT_ENOMEM, "out of memory");
		rc = ct_file_write_atomic(path, fs->f[i].data, fs->f[i].len, 0600, 1, err);
		free(path);
	}
	return rc;
}

/* Swap the complete directory TMP with the group directory DIR in one step,
 * and make that durable. */
static int
exchange_dirs(const char *tmp, const char *dir, struct ct_err *err)
{
	char *groups = strdup(dir);
	int fd, rc = CT_OK;

	if (groups == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	*strrchr(groups, '/') = '\0';
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) != 0)
		rc = ct_err_set(err, CT_EIO,
		    "%s: cannot exchange it with %s (renameat2 RENAME_EXCHANGE; the file system "
		    "must support it): %s",
		    dir, tmp, strerror(errno));
	else if ((fd = open(groups, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		rc = ct_err_set(
		    err, CT_EIO, "%s: cannot sync directory: %s", groups, strerror(errno));
		if (fd >= 0)
			close(fd);
	} else
		close(fd);
	free(groups);
	return rc;
}

/* Open GROUP's directory in STORE under the lock of its rotations (into
 * *LOCK, which the caller closes). */
static int
snap_open_locked(
    const char *store, const char *group, struct snap *s, int *lock, struct ct_err *err)
{
	int rc;

	/* look before locking, so that a group without a CA gets no lock file */
	if ((rc = snap_open(store, group, s, err)) != CT_OK ||
	    (rc = lock_group(s->dir, lock, err)) != CT_OK)
		return rc;
	snap_close(s); /* a rotation may have replaced it before we got the lock */
	return snap_open(store, group, s, err);
}

/* Build the group directory FS beside DIR and swap it in; then remove the
 * replaced one (a failure there leaves it for the next rotation). */
static int
group_publish(const char *dir, const struct group_files *fs, struct ct_err *err)
{
	char *tmp = group_aux_path(dir, ".rotate");
	int rc;

	if (tmp == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = remove_flat_dir(tmp, err)) == CT_OK && (rc = files_write(tmp, fs, err)) == CT_OK)
		rc = exchange_dirs(tmp, dir, err);
	/* the replaced directory after the exchange, else the unused new one */
	(void)remove_flat_dir(tmp, NULL);
	free(tmp);
	return rc;
}

/* Under the lock: read the current CA of S (it must be sound, as it becomes
 * the previous one) and the previous CA it may still have, into OUT. */
static int
rotate_read(const struct snap *s, const struct ct_group *g, time_t now, struct ct_rotation *out,
    struct ct_err *err)
{
	struct ct_ca *old = NULL;
	time_t until = 0;
	int rc;

	if ((rc = snap_ca(s, g->name, "ca.key", "ca.pem", &old, err)) != CT_OK)
		return rc;
	out->previous = old->cert;
	old->cert = NULL;
	ct_ca_free(old);
	/* an older previous CA still trusted is dropped: report it if it can be read */
	if (snap_until(s, &until, NULL) == CT_OK && now < until &&
	    snap_pem(s, "previous.pem", &out->dropped, NULL, NULL) == CT_OK)
		out->dropped_until = until;
	return CT_OK;
}

/* The prepared CA of S becomes the current one: ca.key and ca.pem of FS, its
 * certificate into OUT->cert.  It must be sound and not expired at NOW. */
static int
take_prepared(const struct snap *s, const char *group, time_t now, struct group_files *fs,
    struct ct_rotation *out, struct ct_err *err)
{
	struct ct_ca *next = NULL;
	int rc;

	if ((rc = snap_ca(s, group, NEXT_KEY, NEXT_PEM, &next, err)) != CT_OK)
		return rc;
	if (now >= next->not_after)
		rc = ct_err_set(err, CT_EINVAL,
		    "%s/%s: the prepared CA has expired; prepare another one "
		    "(ca rotate %s --prepare --replace)",
		    s->dir, NEXT_PEM, group);
	else if ((rc = files_copy(fs, s, NEXT_KEY, "ca.key", err)) == CT_OK &&
	    (rc = files_copy(fs, s, NEXT_PEM, "ca.pem", err)) == CT_OK) {
		out->cert = next->cert;
		next->cert = NULL;
		out->prepared = 1;
	}
	ct_ca_free(next);
	return rc;
}

/* Under the lock: the files of S after rotating G at NOW with OVERLAP seconds
 * (see ct_ca_rotate), and what that does into OUT. */
static int
rotate_build(const struct snap *s, const struct ct_group *g, time_t now, long overlap,
    unsigned flags, struct group_files *fs, struct ct_rotation *out, struct ct_err *err)
{
	int rc;

	if ((rc = rotate_read(s, g, now, out, err)) != CT_OK)
		return rc;
	if (!snap_has(s, NEXT_PEM))
		rc = files_new_ca(fs, g, now, "ca.key", "ca.pem", &out->cert, err);
	else if (flags & CT_ROTATE_GENERATE)
		rc = ct_err_set(err, CT_EEXIST,
		    "access group '%s' has a prepared CA (%s/%s), which a new CA would discard: "
		    "rotate to it as it is, or replace it first (ca rotate %s --prepare --replace)",
		    g->name, s->dir, NEXT_PEM, g->name);
	else
		rc = take_prepared(s, g->name, now, fs, out, err);
	if (rc != CT_OK || overlap == 0)
		return rc;
	if ((rc = files_copy(fs, s, "ca.key", "previous.key", err)) != CT_OK ||
	    (rc = files_copy(fs, s, "ca.pem", "previous.pem", err)) != CT_OK)
		return rc;
	return files_add_until(fs, now + overlap, err);
}

int
ct_ca_rotate(const char *store, const struct ct_group *g, time_t now, long overlap, unsigned flags,
    struct ct_rotation *out, struct ct_err *err)
{
	struct ct_rotation res = {0};
	struct group_files fs = {0};
	struct snap s = {.fd = -1};
	int lock = -1, rc;

	if (overlap < 0 || overlap > CT_OVERLAP_MAX)
		return ct_err_set(err, CT_EINVAL,
		    "an overlap of %ld seconds is not within 0 to %ld", overlap,
		    (long)CT_OVERLAP_MAX);
	if ((rc = snap_open_locked(store, g->name, &s, &lock, err)) != CT_OK ||
	    (rc = rotate_build(&s, g, now, overlap, flags, &fs, &res, err)) != CT_OK ||
	    (rc = group_publish(s.dir, &fs, err)) != CT_OK)
		goto out;
	res.until = now + overlap;
	*out = res;
	memset(&res, 0, sizeof(res));
out:
	ct_rotation_clear(&res);
	files_clear(&fs);
	snap_close(&s);
	if (lock >= 0)
		close(lock);
	return rc;
}

/* Under the lock: the files of S with a new next CA for G at NOW (its
 * certificate into *NEXT); the current and previous CA's files unchanged. */
static int
prepare_build(const struct snap *s, const struct ct_group *g, time_t now, int replace,
    struct group_files *fs, X509 **next, X509 **replaced, struct ct_err *err)
{
	static const char *const keep[] = {"previous.key", "previous.pem", UNTIL_FILE};
	struct ct_ca *cur = NULL;
	size_t i;
	int rc;

	/* the current CA must be sound: it signs until the rotation */
	if ((rc = snap_ca(s, g->name, "ca.key", "ca.pem", &cur, err)) != CT_OK)
		return rc;
	ct_ca_free(cur);
	if (snap_has(s, NEXT_PEM)) {
		if (!replace)
			return ct_err_set(err, CT_EEXIST,
			    "access group '%s' already has a prepared CA (%s/%s); it becomes the "
			    "current CA at the next rotation (ca rotate %s), or --replace discards "
			    "it",
			    g->name, s->dir, NEXT_PEM, g->name);
		(void)snap_pem(s, NEXT_PEM, replaced, NULL, NULL);
	}
	if ((rc = files_copy(fs, s, "ca.key", "ca.key", err)) != CT_OK ||
	    (rc = files_copy(fs, s, "ca.pem", "ca.pem", err)) != CT_OK)
		return rc;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (snap_has(s, keep[i]) &&
		    (rc = files_copy(fs, s, keep[i], keep[i], err)) != CT_OK)
			return rc;
	return files_new_ca(fs, g, now, NEXT_KEY, NEXT_PEM, next, err);
}

int
ct_ca_prepare(const char *store, const struct ct_group *g, time_t now, int replace, X509 **next,
    X509 **replaced, struct ct_err *err)
{
	struct group_files fs = {0};
	struct snap s = {.fd = -1};
	X509 *x = NULL, *old = NULL;
	int lock = -1, rc;

	if ((rc = snap_open_locked(store, g->name, &s, &lock, err)) != CT_OK ||
	    (rc = prepare_build(&s, g, now, replace, &fs, &x, &old, err)) != CT_OK ||
	    (rc = group_publish(s.dir, &fs, err)) != CT_OK)
		goto out;
	*next = x;
	*replaced = old;
	x = old = NULL;
out:
	X509_free(x);
	X509_free(old);
	files_clear(&fs);
	snap_close(&s);
	if (lock >= 0)
		close(lock);
	return rc;
}

void
ct_rotation_clear(struct ct_rotation *r)
{
	X509_free(r->cert);
	X509_free(r->previous);
	X509_free(r->dropped);
	memset(r, 0, sizeof(*r));
}

void
ct_ca_free(struct ct_ca *ca)
{
	if (ca == NULL)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->group);
	free(ca);
}

X509 *
ct_ca_cert(const struct ct_ca *ca)
{
	return ca->cert;
}

int
ct_crl_make(struct ct_ca *ca, const char *const *serials, const int64_t *when, const int *reasons,
    size_t n, time_t now, long next_update, char **pem, struct ct_err *err)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	BIGNUM *bn = NULL;
	BIO *bio = NULL;
	char *data;
	long len;
	size_t i;
	int rc = CT_ECRYPTO;

	*pem = NULL;
	if (crl == NULL || X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) != 1 ||
	    (t = ASN1_TIME_set(NULL, now)) == NULL || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    ASN1_TIME_set(t, now + next_update) == NULL || X509_CRL_set1_nextUpdate(crl, t) != 1)
		goto fail;
	for (i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *sn = NULL;
		ASN1_ENUMERATED *code = NULL;
		ASN1_TIME *rt = NULL;
		int ok;

		ok = r != NULL && BN_hex2bn(&bn, serials[i]) > 0 &&
		    (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
		    X509_REVOKED_set_serialNumber(r, sn) == 1 &&
		    (rt = ASN1_TIME_set(NULL, (time_t)when[i])) != NULL &&
		    X509_REVOKED_set_revocationDate(r, rt) == 1 &&
		    (reasons[i] == 0 ||
		        ((code = ASN1_ENUMERATED_new()) != NULL &&
		            ASN1_ENUMERATED_set(code, reasons[i]) == 1 &&
		            X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, 0) == 1)) &&
		    X509_CRL_add0_revoked(crl, r) == 1;
		ASN1_ENUMERATED_free(code);
		ASN1_TIME_free(rt);
		ASN1_INTEGER_free(sn);
		if (!ok) {
			X509_REVOKED_free(r);
			goto fail;
		}
	}
	/* the CRL number only grows: the signing time serves */
	if ((num = ASN1_INTEGER_new()) == NULL || ASN1_INTEGER_set_int64(num, (int64_t)now) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
	    (akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(ca->cert))) == NULL ||
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) != 1 ||
	    X509_CRL_sort(crl) != 1 ||
	    X509_CRL_sign(crl, ca->key, ca->mdname ? EVP_get_digestbyname(ca->mdname) : NULL) <=
	        0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_CRL(bio, crl) != 1)
		goto fail;
	len = BIO_get_mem_data(bio, &data);
	if ((*pem = malloc((size_t)len + 1)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*pem, data, (size_t)len);
	(*pem)[len] = '\0';
	rc = CT_OK;
	goto out;
fail:
	ct_err_set(err, CT_ECRYPTO, "cannot build the CRL of access group %s", ca->group);
	ct_err_openssl(err);
out:
	BIO_free(bio);
	AUTHORITY_KEYID_free(akid);
	ASN1_INTEGER_free(num);
	BN_free(bn);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return rc;
}

/* Split an SPKI into its AlgorithmIdentifier element and the key bits:
 * SEQUENCE { AlgorithmIdentifier, BIT STRING } and nothing after it. */
static int
spki_split(const unsigned char *spki, size_t len, const unsigned char **alg, size_t *alg_len,
    const unsigned char **key, size_t *key_len)
{
	struct ct_der d, seq, a, bits;

	ct_der_init(&d, spki, len);
	if (ct_der_read(&d, CT_DER_SEQUENCE, &seq, NULL) != CT_OK || !ct_der_done(&d) ||
	    ct_der_read(&seq, CT_DER_SEQUENCE, NULL, &a) != CT_OK ||
	    ct_der_read(&seq, CT_DER_BIT_STRING, &bits, NULL) != CT_OK || !ct_der_done(&seq) ||
	    bits.left < 2 || bits.p[0] != 0)
		return -1;
	*alg = a.p;
	*alg_len = a.left;
	*key = bits.p + 1;
	*key_len = bits.left - 1;
	return 0;
}

/* --- DER assembly ---------------------------------------------------------
 * A leaf is assembled as DER: the parts that are the same for every leaf of
 * a target (version, signature algorithm, issuer, fixed extensions) are
 * encoded once by ct_issuer_new, the subject public key arrives encoded, and
 * only the serial, validity, subject, SKI and SANs are encoded per leaf.
 * OpenSSL 3.0's X509 object path (X509_set_pubkey through the encoder, name
 * and extension copies, re-encoding) costs more than the signature itself. */

/* Serial: INTEGER of 16 random bytes, positive and minimally encoded. */
static int
der_serial(unsigned char out[20], size_t *len)
{
	unsigned char rnd[16];
	size_t skip = 0;

	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -1;
		for (skip = 0; skip < sizeof(rnd) && rnd[skip] == 0; skip++)
			;
	} while (skip == sizeof(rnd));
	out[0] = 0x02;
	if (rnd[skip] & 0x80) {
		out[1] = (unsigned char)(sizeof(rnd) - skip + 1);
		out[2] = 0x00;
		memcpy(out + 3, rnd + skip, sizeof(rnd) - skip);
		*len = 3 + sizeof(rnd) - skip;
	} else {
		out[1] = (unsigned char)(sizeof(rnd) - skip);
		memcpy(out + 2, rnd + skip, sizeof(rnd) - skip);
		*len = 2 + sizeof(rnd) - skip;
	}
	return 0;
}

/* Time T as UTCTime (1950-2049) or GeneralizedTime (RFC 5280 4.1.2.5). */
static int
der_time(time_t t, unsigned char *out, size_t *len)
{
	struct tm tm;
	char s[20];
	int n;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	if (tm.tm_year >= 50 && tm.tm_year < 150) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		out[0] = 0x17;
	} else {
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		out[0] = 0x18;
	}
	if (n < 0 || n >= (int)sizeof(s))
		return -1;
	out[1] = (unsigned char)n;
	memcpy(out + 2, s, (size_t)n);
	*len = 2 + (size_t)n;
	return 0;
}

/* Append the DER of every extension of X to *BUF (a growing buffer). */
static int
append_extensions(const X509 *x, unsigned char **buf, size_t *len)
{
	unsigned char *der = NULL, *grown;
	int i, n;

	for (i = 0; i < X509_get_ext_count(x); i++) {
		if ((n = i2d_X509_EXTENSION(X509_get_ext(x, i), &der)) <= 0)
			return -1;
		if ((grown = realloc(*buf, *len + (size_t)n)) == NULL) {
			OPENSSL_free(der);
			return -1;
		}
		memcpy(grown + *len, der, (size_t)n);
		*buf = grown;
		*len += (size_t)n;
		OPENSSL_free(der);
		der = NULL;
	}
	return 0;
}

/* The DER AlgorithmIdentifier the CA key signs with. */
static int
signature_algorithm(struct ct_issuer *is, struct ct_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char aid[128];
	OSSL_PARAM params[2];
	int rc = CT_ECRYPTO;

	params[0] =
	    OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, sizeof(aid));
	params[1] = OSSL_PARAM_construct_end();
	if (ctx != NULL &&
	    EVP_DigestSignInit_ex(ctx, NULL, is->ca->mdname, NULL, NULL, is->ca->key, NULL) == 1 &&
	    EVP_PKEY_CTX_get_params(EVP_MD_CTX_get_pkey_ctx(ctx), params) == 1 &&
	    OSSL_PARAM_modified(&params[0]) &&
	    (is->sigalg = OPENSSL_memdup(aid, params[0].return_size)) != NULL) {
		is->sigalg_len = params[0].return_size;
		rc = CT_OK;
	} else
		ct_err_set(err, rc, "cannot determine the CA's signature algorithm");
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Encode what is the same for every leaf of the target. */
static int
fixed_parts(struct ct_issuer *is, struct ct_err *err)
{
	const ASN1_OCTET_STRING *ca_ski = X509_get0_subject_key_id(is->ca->cert);
	BASIC_CONSTRAINTS bc = {0, NULL};
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	X509 *scratch = X509_new();
	int n, rc = CT_ECRYPTO;

	if (akid == NULL || scratch == NULL || ca_ski == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(ca_ski)) == NULL ||
	    X509_add1_ext_i2d(scratch, NID_basic_constraints, &bc, 1, X509V3_ADD_DEFAULT) != 1) {
		ct_err_set(err, rc, "cannot encode the fixed extensions");
		goto out;
	}
	if ((rc = ct_template_apply(is->target->template, scratch, err)) != CT_OK)
		goto out;
	rc = CT_ECRYPTO;
	if (X509_add1_ext_i2d(scratch, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) !=
	        1 ||
	    append_extensions(scratch, &is->fixed_ext, &is->fixed_ext_len) != 0 ||
	    (n = i2d_X509_NAME(X509_get_subject_name(is->ca->cert), &is->issuer)) <= 0) {
		ct_err_set(err, rc, "cannot encode the fixed parts of the certificate");
		goto out;
	}
	is->issuer_len = (size_t)n;
	rc = signature_algorithm(is, err);
out:
	AUTHORITY_KEYID_free(akid);
	X509_free(scratch);
	return rc;
}

int
ct_issuer_new(
    const struct ct_target *t, struct ct_ca *ca, struct ct_issuer **out, struct ct_err *err)
{
	struct ct_issuer *is = calloc(1, sizeof(*is));
	int rc;

	if (is == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	is->target = t;
	is->ca = ca;
	if ((is->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot fetch SHA1");
		goto fail;
	}
	if ((rc = fixed_parts(is, err)) != CT_OK)
		goto fail;
	*out = is;
	return CT_OK;
fail:
	ct_issuer_free(is);
	return rc;
}

void
ct_issuer_free(struct ct_issuer *is)
{
	if (is == NULL)
		return;
	EVP_MD_free(is->sha1);
	OPENSSL_free(is->sigalg);
	OPENSSL_free(is->issuer);
	free(is->fixed_ext);
	free(is);
}

/* Subject key identifier extension: SHA-1 of the subjectPublicKey bits
 * (RFC 5280 4.2.1.2 method 1), as a complete Extension. */
static int
der_ski(struct ct_issuer *is, const unsigned char *key, size_t key_len, unsigned char out[31])
{
	static const unsigned char head[] = {
	    0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14};
	unsigned int md_len = 0;

	memcpy(out, head, sizeof(head));
	if (EVP_Digest(key, key_len, out + sizeof(head), &md_len, is->sha1, NULL) != 1 ||
	    md_len != 20)
		return -1;
	return 0;
}

/* The validity window, capped by the CA's own. */
static int
der_validity(struct ct_issuer *is, time_t now, unsigned char **out, size_t *len, struct ct_err *err)
{
	const struct ct_ca *ca = is->ca;
	time_t nb = now - is->target->backdate, na = now + is->target->lifetime;
	unsigned char t1[20], t2[20];
	struct ct_der_part parts[2];

	if (now >= ca->not_after)
		return ct_err_set(
		    err, CT_ECONFIG, "the CA of access group '%s' has expired", ca->group);
	if (nb < ca->not_before)
		nb = ca->not_before;
	if (na > ca->not_after)
		na = ca->not_after;
	if (der_time(nb, t1, &parts[0].n) != 0 || der_time(na, t2, &parts[1].n) != 0)
		return ct_err_set(err, CT_EINVAL, "time out of range");
	parts[0].p = t1;
	parts[1].p = t2;
	return ct_der_wrap(CT_DER_SEQUENCE, parts, 2, out, len) == 0
	    ? CT_OK
	    : ct_err_set(err, CT_ENOMEM, "out of memory");
}

/* Subject name and the per-leaf extensions (SKI, SANs), encoded. */
static int
der_subject_and_extensions(struct ct_issuer *is, const struct ct_attrs *a, const unsigned char *key,
    size_t key_len, unsigned char **subject, size_t *subject_len, unsigned char **exts,
    size_t *exts_len, struct ct_err *err)
{
	X509_NAME *name = NULL;
	X509 *scratch = NULL;
	unsigned char ski[31], *list = NULL, *seq = NULL;
	size_t list_len = 0, seq_len = 0;
	struct ct_der_part p[3];
	int n, rc;

	if ((rc = ct_pattern_expand_subject(is->target->subject, a, &name, err)) != CT_OK)
		goto out;
	if ((scratch = X509_new()) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ct_pattern_apply_san(is->target->san, a, scratch, err)) != CT_OK)
		goto out;
	if (der_ski(is, key, key_len, ski) != 0 || append_extensions(scratch, &list, &list_len)) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot encode the certificate extensions");
		goto out;
	}
	/* extensions [3] EXPLICIT SEQUENCE OF Extension */
	p[0] = (struct ct_der_part){is->fixed_ext, is->fixed_ext_len};
	p[1] = (struct ct_der_part){ski, sizeof(ski)};
	p[2] = (struct ct_der_part){list, list_len};
	if (ct_der_wrap(CT_DER_SEQUENCE, p, 3, &seq, &seq_len) != 0) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	p[0] = (struct ct_der_part){seq, seq_len};
	if (ct_der_wrap(0xa3, p, 1, exts, exts_len) != 0) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((n = i2d_X509_NAME(name, subject)) <= 0) {
		free(*exts);
		*exts = NULL;
		rc = ct_err_set(err, CT_ECRYPTO, "cannot encode the subject");
		goto out;
	}
	*subject_len = (size_t)n;
	rc = CT_OK;
out:
	free(seq);
	free(list);
	X509_free(scratch);
	X509_NAME_free(name);
	return rc;
}
/* Sign TBS with the CA key; give the signature as BIT STRING content. */
static int
sign_tbs(struct ct_issuer *is, const unsigned char *tbs, size_t tbs_len, unsigned char **bits,
    size_t *bits_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = (size_t)EVP_PKEY_get_size(is->ca->key);
	unsigned char *buf = malloc(sig_len + 1);
	int rc = -1;

	if (ctx == NULL || buf == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, is->ca->mdname, NULL, NULL, is->ca->key, NULL) != 1 ||
	    EVP_DigestSign(ctx, buf + 1, &sig_len, tbs, tbs_len) != 1)
		goto out;
	buf[0] = 0x00; /* no unused bits */
	*bits = buf;
	*bits_len = sig_len + 1;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } */
static int
der_certificate(struct ct_issuer *is, const unsigned char *tbs, size_t tbs_len, unsigned char **der,
    size_t *der_len)
{
	unsigned char *bits = NULL, *bitstr = NULL;
	size_t bits_len = 0, bitstr_len = 0;
	struct ct_der_part p[3];
	int rc = -1;

	if (sign_tbs(is, tbs, tbs_len, &bits, &bits_len) != 0)
		goto out;
	p[0] = (struct ct_der_part){bits, bits_len};
	if (ct_der_wrap(CT_DER_BIT_STRING, p, 1, &bitstr, &bitstr_len) != 0)
		goto out;
	p[0] = (struct ct_der_part){tbs, tbs_len};
	p[1] = (struct ct_der_part){is->sigalg, is->sigalg_len};
	p[2] = (struct ct_der_part){bitstr, bitstr_len};
	rc = ct_der_wrap(CT_DER_SEQUENCE, p, 3, der, der_len);
out:
	free(bitstr);
	free(bits);
	return rc;
}

int
ct_issue(struct ct_issuer *is, const struct ct_attrs *a, const unsigned char *spki, size_t spki_len,
    time_t now, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	static const unsigned char version[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
	unsigned char serial[20], *validity = NULL, *subject = NULL, *exts = NULL, *tbs = NULL;
	size_t serial_len = 0, validity_len = 0, subject_len = 0, exts_len = 0, tbs_len = 0;
	const unsigned char *alg, *key;
	size_t alg_len, key_len;
	struct ct_der_part p[8];
	int rc;

	if (spki_len > CT_SPKI_MAX || spki_split(spki, spki_len, &alg, &alg_len, &key, &key_len))
		return ct_err_set(err, CT_EINVAL, "malformed subject public key");
	if (der_serial(serial, &serial_len) != 0)
		return ct_err_set(err, CT_ECRYPTO, "no random numbers for the serial");
	if ((rc = der_validity(is, now, &validity, &validity_len, err)) != CT_OK ||
	    (rc = der_subject_and_extensions(
	         is, a, key, key_len, &subject, &subject_len, &exts, &exts_len, err)) != CT_OK) {
		ct_err_prefix(err, "target '%s': ", is->target->name);
		goto out;
	}
	p[0] = (struct ct_der_part){version, sizeof(version)};
	p[1] = (struct ct_der_part){serial, serial_len};
	p[2] = (struct ct_der_part){is->sigalg, is->sigalg_len};
	p[3] = (struct ct_der_part){is->issuer, is->issuer_len};
	p[4] = (struct ct_der_part){validity, validity_len};
	p[5] = (struct ct_der_part){subject, subject_len};
	p[6] = (struct ct_der_part){spki, spki_len};
	p[7] = (struct ct_der_part){exts, exts_len};
	if (ct_der_wrap(CT_DER_SEQUENCE, p, 8, &tbs, &tbs_len) != 0 ||
	    der_certificate(is, tbs, tbs_len, der, der_len) != 0) {
		rc = ct_err_set(err, CT_ECRYPTO, "cannot sign the certificate");
		ct_err_openssl(err);
		goto out;
	}
	rc = CT_OK;
out:
	free(tbs);
	free(exts);
	OPENSSL_free(subject);
	free(validity);
	return rc;
}

/* Is PKEY a key we issue certificates for? */
static int
check_leaf_key(EVP_PKEY *pkey, struct ct_err *err)
{
	char group[64];
	EVP_PKEY_CTX *ctx;
	int ok;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_ED25519: return CT_OK;
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) < 2048 || EVP_PKEY_get_bits(pkey) > 16384)
			return ct_err_set(err, CT_EINVAL, "RSA key of %d bits (need 2048 to 16384)",
			    EVP_PKEY_get_bits(pkey));
		return CT_OK;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(
		        pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
		    (strcmp(group, "prime256v1") != 0 && strcmp(group, "secp384r1") != 0 &&
		        strcmp(group, "secp521r1") != 0))
			return ct_err_set(err, CT_EINVAL,
			    "EC key on an unsupported curve "
			    "(need P-256, P-384 or P-521)");
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
		EVP_PKEY_CTX_free(ctx);
		ERR_clear_error();
		return ok ? CT_OK
		          : ct_err_set(err, CT_EINVAL, "EC public key is not a valid point");
	default:
		return ct_err_set(err, CT_EINVAL, "unsupported key type (need EC, Ed25519 or RSA)");
	}
}

static int
is_pem(const unsigned char *data, size_t len)
{
	return len >= 10 && memmem(data, len, "-----BEGIN", 10) != NULL;
}

/* Check PKEY and give its SPKI DER. */
static int
export_spki(EVP_PKEY *pkey, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	unsigned char *buf = NULL;
	int rc, n;

	if ((rc = check_leaf_key(pkey, err)) != CT_OK)
		return rc;
	if ((n = i2d_PUBKEY(pkey, &buf)) <= 0 || n > CT_SPKI_MAX) {
		OPENSSL_free(buf);
		return ct_err_set(err, CT_EINVAL, "cannot encode the public key");
	}
	*der = buf;
	*der_len = (size_t)n;
	return CT_OK;
}

int
ct_spki_from_pem(
    const unsigned char *data, size_t len, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	const unsigned char *p = data;
	EVP_PKEY *pkey = NULL;
	BIO *b = NULL;
	int rc;

	if (len > CT_CSR_MAX)
		return ct_err_set(err, CT_EINVAL, "public key larger than %d bytes", CT_CSR_MAX);
	if (is_pem(data, len)) {
		if ((b = BIO_new_mem_buf(data, (int)len)) != NULL)
			pkey = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	} else
		pkey = d2i_PUBKEY(NULL, &p, (long)len);
	ERR_clear_error();
	if (pkey == NULL)
		rc = ct_err_set(err, CT_EINVAL,
		    "not a PEM or DER public key "
		    "(expected -----BEGIN PUBLIC KEY-----)");
	else
		rc = export_spki(pkey, der, der_len, err);
	EVP_PKEY_free(pkey);
	BIO_free(b);
	return rc;
}

int
ct_csr_make(
    EVP_PKEY *key, const char *subject_cn, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	const char *md = ct_pkey_digest(key);
	EVP_MD *m = NULL;
	int n = 0, rc = CT_ECRYPTO;

	*der = NULL;
	if (req == NULL || name == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(
	        name, "CN", MBSTRING_UTF8, (const unsigned char *)subject_cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
	    (md != NULL && (m = EVP_MD_fetch(NULL, md, NULL)) == NULL) ||
	    X509_REQ_sign(req, key, m) <= 0 || (n = i2d_X509_REQ(req, der)) <= 0) {
		ct_err_set(err, CT_ECRYPTO, "cannot build the CSR");
		ct_err_openssl(err);
		goto out;
	}
	*der_len = (size_t)n;
	rc = CT_OK;
out:
	EVP_MD_free(m);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return rc;
}

int
ct_csr_verify(
    const unsigned char *data, size_t len, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	const unsigned char *p = data;
	X509_REQ *req = NULL;
	EVP_PKEY *pkey;
	BIO *b = NULL;
	int rc;

	if (len > CT_CSR_MAX)
		return ct_err_set(err, CT_EINVAL, "CSR larger than %d bytes", CT_CSR_MAX);
	if (is_pem(data, len)) {
		if ((b = BIO_new_mem_buf(data, (int)len)) != NULL)
			req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	} else
		req = d2i_X509_REQ(NULL, &p, (long)len);
	if (req == NULL || (pkey = X509_REQ_get0_pubkey(req)) == NULL)
		rc = ct_err_set(err, CT_EINVAL, "not a PEM or DER PKCS#10 certificate request");
	else if (X509_REQ_verify(req, pkey) != 1)
		rc = ct_err_set(err, CT_EINVAL, "the CSR's signature does not verify");
	else
		rc = export_spki(pkey, der, der_len, err);
	ERR_clear_error();
	X509_REQ_free(req);
	BIO_free(b);
	return rc;
}

/* The text SID carried by the Microsoft SID extension, printed to B. */
static void
print_sid(BIO *b, X509_EXTENSION *ext)
{
	const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
	const unsigned char *p = ASN1_STRING_get0_data(data);
	GENERAL_NAMES *gens = d2i_GENERAL_NAMES(NULL, &p, ASN1_STRING_length(data));
	GENERAL_NAME *gn = gens != NULL ? sk_GENERAL_NAME_value(gens, 0) : NULL;

	if (gn != NULL && gn->type == GEN_OTHERNAME &&
	    gn->d.otherName->value->type == V_ASN1_OCTET_STRING) {
		ASN1_OCTET_STRING *os = gn->d.otherName->value->value.octet_string;
		BIO_printf(b, "sid=%.*s\n", ASN1_STRING_length(os),
		    (const char *)ASN1_STRING_get0_data(os));
	}
	GENERAL_NAMES_free(gens);
}

int
ct_render(const struct ct_target *t, const struct ct_attrs *a, char **out, struct ct_err *err)
{
	const unsigned long flags =
	    XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	ASN1_OBJECT *sid_oid = OBJ_txt2obj("1.3.6.1.4.1.311.25.2", 1);
	X509 *x = X509_new();
	X509_NAME *subject = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	X509_EXTENSION *ext;
	char *data;
	long n;
	int i, rc;

	if (x == NULL || b == NULL || sid_oid == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ct_pattern_expand_subject(t->subject, a, &subject, err)) != CT_OK ||
	    (rc = ct_pattern_apply_san(t->san, a, x, err)) != CT_OK) {
		ct_err_prefix(err, "target '%s': ", t->name);
		goto out;
	}
	BIO_puts(b, "subject=");
	X509_NAME_print_ex(b, subject, 0, flags);
	BIO_puts(b, "\n");
	if ((i = X509_get_ext_by_NID(x, NID_subject_alt_name, -1)) >= 0) {
		BIO_puts(b, "subjectAltName=");
		X509V3_EXT_print(b, X509_get_ext(x, i), 0, 0);
		BIO_puts(b, "\n");
	}
	if ((i = X509_get_ext_by_OBJ(x, sid_oid, -1)) >= 0 && (ext = X509_get_ext(x, i)) != NULL)
		print_sid(b, ext);
	BIO_write(b, "", 1);
	n = BIO_get_mem_data(b, &data);
	if ((*out = malloc((size_t)n)) == NULL)
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
	else
		memcpy(*out, data, (size_t)n);
out:
	ASN1_OBJECT_free(sid_oid);
	X509_NAME_free(subject);
	X509_free(x);
	BIO_free(b);
	return rc;
}
