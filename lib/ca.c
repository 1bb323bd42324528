/* The CA of an access group: create, load, trust anchors (ca.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "keys.h"
#include "sshca.h"

#define CA_BACKDATE 3600 /* CA notBefore is an hour before init */

struct ct_ca {
	char *group;
	EVP_PKEY *key;
	X509 *cert;
	const char *mdname; /* signature digest; NULL for Ed25519 */
	time_t not_before, not_after;
};

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

int
ct_ca_generate(const struct ct_group *g, time_t now, struct ct_ca_pem *out, struct ct_err *err)
{
	struct ct_ca_pem res = {0};
	EVP_PKEY *k = NULL;
	int rc = CT_OK;

	if ((k = ct_key_generate(g->key_type)) == NULL ||
	    (res.x509 = make_ca_cert(g, k, now)) == NULL ||
	    encode_ca(k, res.x509, &res.key, &res.cert) != 0) {
		ct_ca_pem_clear(&res);
		ct_err_set(err, CT_ECRYPTO, "cannot create the CA of access group '%s'", g->name);
		ct_err_openssl(err);
		rc = CT_ECRYPTO;
	} else
		*out = res;
	EVP_PKEY_free(k);
	return rc;
}

void
ct_ca_pem_clear(struct ct_ca_pem *p)
{
	if (p->key != NULL)
		OPENSSL_cleanse(p->key->data, p->key->max);
	BUF_MEM_free(p->key);
	BUF_MEM_free(p->cert);
	X509_free(p->x509);
	memset(p, 0, sizeof(*p));
}

int
ct_ca_init(struct ct_store *st, const struct ct_group *g, time_t now, struct ct_err *err)
{
	struct ct_ca_content c = {0};
	struct ct_ca_pem pem = {0};
	struct ct_sshca_new ssh = {0};
	int rc;

	if ((rc = ct_ca_generate(g, now, &pem, err)) == CT_OK &&
	    (rc = ct_sshca_generate(g->ssh_key_type, g->name, &ssh, err)) == CT_OK) {
		c.item[CT_CA_KEY].data = (unsigned char *)pem.key->data;
		c.item[CT_CA_KEY].len = pem.key->length;
		c.item[CT_CA_CERT].data = (unsigned char *)pem.cert->data;
		c.item[CT_CA_CERT].len = pem.cert->length;
		c.item[CT_CA_SSH_KEY].data = (unsigned char *)ssh.key->data;
		c.item[CT_CA_SSH_KEY].len = ssh.key->length;
		c.item[CT_CA_SSH_PUB].data = (unsigned char *)ssh.pub;
		c.item[CT_CA_SSH_PUB].len = strlen(ssh.pub);
		rc = ct_cadir_create(st, g->name, &c, err);
	}
	ct_sshca_new_clear(&ssh);
	ct_ca_pem_clear(&pem);
	return rc;
}

int
ct_ca_read(const struct ct_cadir *s, const char *group, enum ct_ca_item key, enum ct_ca_item cert,
    struct ct_ca **out, struct ct_err *err)
{
	struct ct_ca *ca = calloc(1, sizeof(*ca));
	int rc;

	if (ca == NULL || (ca->group = strdup(group)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ct_cadir_pem(s, key, NULL, &ca->key, err)) != CT_OK ||
	    (rc = ct_cadir_pem(s, cert, &ca->cert, NULL, err)) != CT_OK)
		goto out;
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		rc = ct_err_set(err, CT_EIO, "%s/%s: does not match %s", s->where, s->names[cert],
		    s->names[key]);
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

/* What ct_ca_load and ct_ca_load_trusted read. */
struct load_ctx {
	const char *group;
	time_t now;
	int want_previous;
	struct ct_ca *cur, *prev;
};

static int
load_read(const struct ct_cadir *s, void *ctx, struct ct_err *err)
{
	struct load_ctx *l = ctx;
	time_t until = 0;
	int rc;

	if ((rc = ct_ca_read(s, l->group, CT_CA_KEY, CT_CA_CERT, &l->cur, err)) != CT_OK ||
	    !l->want_previous || (rc = ct_cadir_until(s, &until, err)) != CT_OK || l->now >= until)
		return rc;
	return ct_ca_read(s, l->group, CT_CA_PREVIOUS_KEY, CT_CA_PREVIOUS_CERT, &l->prev, err);
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
ct_ca_load(struct ct_store *st, const struct ct_group *g, struct ct_ca **out, struct ct_err *err)
{
	struct load_ctx l = {g->name, 0, 0, NULL, NULL};
	int rc;

	if ((rc = ct_cadir_run(st, g->name, load_read, load_reset, &l, err)) != CT_OK) {
		load_reset(&l);
		return rc;
	}
	*out = l.cur;
	return CT_OK;
}

int
ct_ca_load_trusted(struct ct_store *st, const struct ct_group *g, time_t now, struct ct_ca **cur,
    struct ct_ca **prev, struct ct_err *err)
{
	struct load_ctx l = {g->name, now, 1, NULL, NULL};
	int rc;

	if ((rc = ct_cadir_run(st, g->name, load_read, load_reset, &l, err)) != CT_OK) {
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

/* Read certificate ITEM of S onto ANCHORS. */
static int
push_cert(
    const struct ct_cadir *s, enum ct_ca_item item, STACK_OF(X509) *anchors, struct ct_err *err)
{
	X509 *x = NULL;
	int rc;

	if ((rc = ct_cadir_pem(s, item, &x, NULL, err)) != CT_OK)
		return rc;
	if (sk_X509_push(anchors, x) <= 0) {
		X509_free(x);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	return CT_OK;
}

static int
trust_read(const struct ct_cadir *s, void *ctx, struct ct_err *err)
{
	struct trust_ctx *t = ctx;
	time_t until = 0;
	int rc;

	if ((t->anchors = sk_X509_new_null()) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = push_cert(s, CT_CA_CERT, t->anchors, err)) != CT_OK ||
	    (ct_cadir_has(s, CT_CA_NEXT_CERT) &&
	        (rc = push_cert(s, CT_CA_NEXT_CERT, t->anchors, err)) != CT_OK) ||
	    (rc = ct_cadir_until(s, &until, err)) != CT_OK || t->now >= until)
		return rc;
	return push_cert(s, CT_CA_PREVIOUS_CERT, t->anchors, err);
}

static void
trust_reset(void *ctx)
{
	struct trust_ctx *t = ctx;

	sk_X509_pop_free(t->anchors, X509_free);
	t->anchors = NULL;
}

int
ct_ca_trust(struct ct_store *st, const struct ct_group *g, time_t now, STACK_OF(X509) **anchors,
    struct ct_err *err)
{
	struct trust_ctx t = {now, NULL};
	int rc;

	if ((rc = ct_cadir_run(st, g->name, trust_read, trust_reset, &t, err)) != CT_OK) {
		trust_reset(&t);
		return rc;
	}
	*anchors = t.anchors;
	return CT_OK;
}

int
ct_ca_version(
    struct ct_store *st, const struct ct_group *g, struct ct_ca_version *out, struct ct_err *err)
{
	return ct_cadir_version(st, g->name, out, err);
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

EVP_PKEY *
ct_ca_key(const struct ct_ca *ca)
{
	return ca->key;
}

const char *
ct_ca_digest(const struct ct_ca *ca)
{
	return ca->mdname;
}

const char *
ct_ca_group(const struct ct_ca *ca)
{
	return ca->group;
}

time_t
ct_ca_not_before(const struct ct_ca *ca)
{
	return ca->not_before;
}

time_t
ct_ca_not_after(const struct ct_ca *ca)
{
	return ca->not_after;
}
