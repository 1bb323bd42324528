/* The LDAP backend: a snapshot of an access group's CA material, the group
 * entry's public items read in one search (through the cache on a
 * verifier) and the CA host's keys in its own files, and its version
 * (store_ldap_ca.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "store_ldap_ca.h"

/* Each public item's attribute, and how its value is written. */
static const struct {
	enum ct_ca_item item;
	const char *attr;
	enum ct_lstore_kind kind;
} pub_attrs[CT_LSTORE_PUB_N] = {
    {CT_CA_CERT, "ctCaCertificate", CT_LSTORE_K_CERT},
    {CT_CA_PREVIOUS_CERT, "ctCaPreviousCertificate", CT_LSTORE_K_CERT},
    {CT_CA_UNTIL, "ctCaOverlapEnd", CT_LSTORE_K_TIME},
    {CT_CA_NEXT_CERT, "ctCaNextCertificate", CT_LSTORE_K_CERT},
    {CT_CA_CRL_NUMBER, "ctCrlNumber", CT_LSTORE_K_INT},
    {CT_CA_SSH_PUB, "ctSshCaPublicKey", CT_LSTORE_K_TEXT},
    {CT_CA_NEXT_SSH_PUB, "ctSshCaNextPublicKey", CT_LSTORE_K_TEXT},
    {CT_CA_PREVIOUS_SSH_PUB, "ctSshCaPreviousPublicKey", CT_LSTORE_K_TEXT},
};
#define N_PUB CT_LSTORE_PUB_N

static const char *const read_attrs[] = {"ctCaVersion", "ctCaCertificate",
    "ctCaPreviousCertificate", "ctCaOverlapEnd", "ctCaNextCertificate", "ctCrlNumber",
    "ctSshCaPublicKey", "ctSshCaNextPublicKey", "ctSshCaPreviousPublicKey", NULL};

/* Each item's name in messages: its attribute, or the CA host's key file. */
static const char *const item_names[CT_CA_ITEMS] = {"ctCaCertificate", "ca.key",
    "ctCaPreviousCertificate", "previous.key", "ctCaOverlapEnd", "ctCaNextCertificate", "next.key",
    "ctCrlNumber", "ssh_ca.key", "ctSshCaPublicKey", "previous_ssh.key", "ctSshCaPreviousPublicKey",
    "next_ssh.key", "ctSshCaNextPublicKey"};

static struct ct_lstore_cadir *
lcadir_of(const struct ct_cadir *s)
{
	return (struct ct_lstore_cadir *)s;
}

const char *
ct_lstore_pub_attr(size_t i, enum ct_ca_item *item, enum ct_lstore_kind *kind)
{
	*item = pub_attrs[i].item;
	*kind = pub_attrs[i].kind;
	return pub_attrs[i].attr;
}

void
ct_lstore_pub_clear(struct ct_lstore_pub *p)
{
	size_t i;

	for (i = 0; i < CT_CA_ITEMS; i++)
		free(p->item[i]);
	memset(p, 0, sizeof(*p));
}

int
ct_lstore_ca_here(const struct ct_ldap_store *ls, const char *group)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/groups/%s", ls->path, group);
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
ct_lstore_group_dn(
    const struct ct_ldap_store *ls, const char *group, char **out, struct ct_err *err)
{
	return ct_lstore_dn(ls, "ctGroup", group, CT_LSTORE_GROUPS, out, err);
}

/* ---- PEM and DER ---- */

int
ct_lstore_pem_der(const unsigned char *text, size_t len, const char *name, int multi,
    const char *what, unsigned char **der, size_t *der_len, struct ct_err *err)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	char *nm = NULL, *hdr = NULL;
	unsigned char *data = NULL, *all = NULL, *grown;
	long n;
	size_t total = 0, blocks = 0;
	int rc = CT_OK;

	while (rc == CT_OK && b != NULL && PEM_read_bio(b, &nm, &hdr, &data, &n) == 1) {
		if (strcmp(nm, name) != 0 || (blocks++ > 0 && !multi))
			rc = ct_err_set(err, CT_EINVAL, "%s: not %s PEM %s", what,
			    multi ? "only" : "one", name);
		else if ((grown = realloc(all, total + (size_t)n)) == NULL)
			rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		else {
			memcpy(grown + total, data, (size_t)n);
			all = grown;
			total += (size_t)n;
		}
		OPENSSL_free(nm);
		OPENSSL_free(hdr);
		OPENSSL_free(data);
	}
	ERR_clear_error();
	BIO_free(b);
	if (rc == CT_OK && total == 0)
		rc = ct_err_set(err, CT_EINVAL, "%s: no PEM %s", what, name);
	if (rc != CT_OK)
		free(all);
	else {
		*der = all;
		*der_len = total;
	}
	return rc;
}

/* The length of the DER object at P (AVAIL bytes): 0 when it is not one. */
static size_t
der_object_len(const unsigned char *p, size_t avail)
{
	const unsigned char *q = p;
	long len;
	int tag, cls, r = ASN1_get_object(&q, &len, &tag, &cls, (long)avail);

	ERR_clear_error();
	if ((r & 0x80) || (r & 0x01) || tag != V_ASN1_SEQUENCE ||
	    (size_t)(q - p) + (size_t)len > avail)
		return 0;
	return (size_t)(q - p) + (size_t)len;
}

int
ct_lstore_der_pem(const unsigned char *der, size_t len, const char *name, int multi,
    const char *what, unsigned char **text, size_t *text_len, struct ct_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	size_t at = 0, one, count = 0;
	char *mem;
	long n;
	int rc = b != NULL ? CT_OK : ct_err_set(err, CT_ENOMEM, "out of memory");

	while (rc == CT_OK && at < len) {
		if ((one = der_object_len(der + at, len - at)) == 0 || (count++ > 0 && !multi))
			rc =
			    ct_err_set(err, CT_EIO, "%s: not %s DER", what, multi ? "only" : "one");
		else if (PEM_write_bio(b, name, "", der + at, (long)one) <= 0)
			rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		at += one;
	}
	if (rc == CT_OK && count == 0)
		rc = ct_err_set(err, CT_EIO, "%s: empty", what);
	if (rc == CT_OK && (n = BIO_get_mem_data(b, &mem)) > 0 &&
	    (*text = malloc((size_t)n + 1)) != NULL) {
		memcpy(*text, mem, (size_t)n);
		(*text)[n] = '\0';
		*text_len = (size_t)n;
	} else if (rc == CT_OK)
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
	BIO_free(b);
	return rc;
}

/* ---- the entry's public items ---- */

/* Public item I of entry E (present) as the generic bytes into P. */
static int
item_from(const struct ct_lstore_entry *e, size_t i, struct ct_lstore_pub *p, struct ct_err *err)
{
	const struct berval *v = NULL;
	enum ct_ca_item item = pub_attrs[i].item;
	char what[512], text[32];
	int64_t n;
	int rc;

	snprintf(what, sizeof(what), "%s: %s", e->dn, pub_attrs[i].attr);
	if (pub_attrs[i].kind == CT_LSTORE_K_TEXT) {
		if ((rc = ct_lstore_value(e, pub_attrs[i].attr, &v, err)) != CT_OK)
			return rc;
		if ((p->item[item] = malloc(v->bv_len + 1)) == NULL)
			return ct_err_set(err, CT_ENOMEM, "out of memory");
		memcpy(p->item[item], v->bv_val, v->bv_len);
		p->item[item][v->bv_len] = '\0';
		p->len[item] = v->bv_len;
		return CT_OK;
	}
	if (pub_attrs[i].kind == CT_LSTORE_K_CERT) {
		if ((rc = ct_lstore_value(e, pub_attrs[i].attr, &v, err)) != CT_OK)
			return rc;
		return ct_lstore_der_pem((const unsigned char *)v->bv_val, v->bv_len, "CERTIFICATE",
		    0, what, &p->item[item], &p->len[item], err);
	}
	rc = pub_attrs[i].kind == CT_LSTORE_K_TIME
	    ? ct_lstore_time(e, pub_attrs[i].attr, &n, err)
	    : ct_lstore_integer(e, pub_attrs[i].attr, 0, 999999999999999999LL, &n, err);
	if (rc != CT_OK)
		return rc;
	snprintf(text, sizeof(text), "%" PRId64 "\n", n);
	if ((p->item[item] = (unsigned char *)strdup(text)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	p->len[item] = strlen(text);
	return CT_OK;
}

/* The public items and version of group entry E into P. */
static int
pub_from_entry(const struct ct_lstore_entry *e, struct ct_lstore_pub *p, struct ct_err *err)
{
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = ct_lstore_integer(e, "ctCaVersion", 1, INT64_MAX, &p->version, err)) != CT_OK)
		return rc == CT_ENOENT ? ct_err_set(err, CT_EIO, "%s: no ctCaVersion", e->dn) : rc;
	for (i = 0; rc == CT_OK && i < N_PUB; i++)
		if (ct_lstore_values(e, pub_attrs[i].attr) != NULL)
			rc = item_from(e, i, p, err);
	if (rc == CT_OK && p->item[CT_CA_CERT] == NULL)
		rc = ct_err_set(err, CT_EIO, "%s: no ctCaCertificate", e->dn);
	return rc;
}

/* P as bytes (the cache's): "version N\n", then "I LEN\n" and LEN bytes
 * for each item it has. */
static int
pub_pack(const struct ct_lstore_pub *p, unsigned char **out, size_t *len, struct ct_err *err)
{
	size_t i, size = 32, at;
	unsigned char *buf;

	for (i = 0; i < CT_CA_ITEMS; i++)
		size += p->item[i] != NULL ? p->len[i] + 32 : 0;
	if ((buf = malloc(size)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	at = (size_t)snprintf((char *)buf, size, "version %" PRId64 "\n", p->version);
	for (i = 0; i < CT_CA_ITEMS; i++) {
		if (p->item[i] == NULL)
			continue;
		at += (size_t)snprintf((char *)buf + at, size - at, "%zu %zu\n", i, p->len[i]);
		memcpy(buf + at, p->item[i], p->len[i]);
		at += p->len[i];
	}
	*out = buf;
	*len = at;
	return CT_OK;
}

/* The bytes of pub_pack (LEN of them at DATA) back into P. */
static int
pub_unpack(const unsigned char *data, size_t len, struct ct_lstore_pub *p)
{
	const char *s = (const char *)data, *end = s + len;
	char *next;
	unsigned long i, n;

	memset(p, 0, sizeof(*p));
	if (len < 9 || memcmp(s, "version ", 8) != 0 ||
	    (p->version = strtoll(s + 8, &next, 10)) < 1 || *next != '\n')
		return CT_EIO;
	for (s = next + 1; s < end; s += n) {
		i = strtoul(s, &next, 10);
		if (i >= CT_CA_ITEMS || *next != ' ' || ct_ca_item_is_key((enum ct_ca_item)i) ||
		    p->item[i] != NULL)
			return CT_EIO;
		n = strtoul(next + 1, &next, 10);
		if (*next != '\n' || n > (size_t)(end - next - 1) ||
		    (p->item[i] = malloc(n + 1)) == NULL)
			return CT_EIO;
		s = next + 1;
		memcpy(p->item[i], s, n);
		p->item[i][n] = '\0';
		p->len[i] = n;
	}
	return p->item[CT_CA_CERT] != NULL ? CT_OK : CT_EIO;
}

/* ct_lstore_fetch_fn: GROUP's entry from WHERE, packed. */
static int
fetch_ca(struct ct_ldap_store *ls, enum ct_lstore_dir where, const char *group,
    unsigned char **data, size_t *len, struct ct_err *err)
{
	struct ct_lstore_entry e = {0};
	struct ct_lstore_pub p = {0};
	char *dn = NULL;
	int rc;

	if ((rc = ct_lstore_group_dn(ls, group, &dn, err)) == CT_OK &&
	    (rc = ct_lstore_get(ls, where, 0, dn, read_attrs, &e, err)) == CT_OK &&
	    (rc = pub_from_entry(&e, &p, err)) == CT_OK)
		rc = pub_pack(&p, data, len, err);
	ct_lstore_pub_clear(&p);
	ct_lstore_entry_clear(&e);
	free(dn);
	return rc;
}

/* GROUP's public items into P: from the provider on the CA host (HERE),
 * else through the cache. */
static int
pub_load(struct ct_ldap_store *ls, const char *group, int here, struct ct_lstore_pub *p,
    struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ct_lstore_cached(ls, group, "ca", here, fetch_ca, &data, &len, err)) == CT_OK &&
	    pub_unpack(data, len, p) != CT_OK) {
		ct_lstore_pub_clear(p);
		rc = ct_err_set(
		    err, CT_EIO, "access group %s: the CA material read is corrupt", group);
	}
	free(data);
	return rc;
}

/* ---- the snapshot ---- */

void
ct_lstore_ca_close(struct ct_cadir *base)
{
	struct ct_lstore_cadir *s = lcadir_of(base);

	if (s == NULL)
		return;
	if (s->keys != NULL)
		ct_files_ca_close(s->keys);
	ct_lstore_pub_clear(&s->pub);
	free(s->dn);
	free(s);
}

/* The CA host's files snapshot of GROUP into S->keys (none on a verifier;
 * changing the CA needs it). */
static int
open_keys(struct ct_ldap_store *ls, const char *group, unsigned flags, struct ct_lstore_cadir *s,
    struct ct_err *err)
{
	int rc = ct_files_ca_open(ls->files, group, flags & CT_CADIR_CHANGE, &s->keys, err);

	if (rc == CT_OK)
		s->keys->st = ls->files;
	if (rc != CT_ENOENT)
		return rc;
	ct_err_clear(err);
	s->keys = NULL;
	if (!(flags & CT_CADIR_CHANGE))
		return CT_OK;
	return ct_err_set(err, CT_EPERM,
	    "access group '%s': its CA keys are not on this host (%s/groups/%s): change the CA on "
	    "the CA host",
	    group, ls->path, group);
}

int
ct_lstore_ca_open(struct ct_store *st, const char *group, unsigned flags, struct ct_cadir **out,
    struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_cadir *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = open_keys(ls, group, flags, s, err)) == CT_OK &&
	    (rc = ct_lstore_group_dn(ls, group, &s->dn, err)) == CT_OK &&
	    (rc = pub_load(ls, group, s->keys != NULL, &s->pub, err)) == CT_OK) {
		s->base.where = s->dn;
		s->base.names = item_names;
		*out = &s->base;
		return CT_OK;
	}
	ct_lstore_ca_close(&s->base);
	return rc;
}

int
ct_lstore_ca_current(const struct ct_cadir *base)
{
	const struct ct_lstore_cadir *s = lcadir_of(base);

	/* the public items are one entry as read; the keys one directory */
	return s->keys == NULL || ct_files_ca_current(s->keys);
}

int
ct_lstore_ca_has(const struct ct_cadir *base, enum ct_ca_item item)
{
	const struct ct_lstore_cadir *s = lcadir_of(base);

	if (ct_ca_item_is_key(item))
		return s->keys != NULL && ct_files_ca_has(s->keys, item);
	return s->pub.item[item] != NULL;
}

int
ct_lstore_ca_read(const struct ct_cadir *base, enum ct_ca_item item, unsigned char **data,
    size_t *len, struct ct_err *err)
{
	const struct ct_lstore_cadir *s = lcadir_of(base);

	if (ct_ca_item_is_key(item))
		return ct_err_set(err, CT_EINVAL, "%s/%s: not public", s->dn, item_names[item]);
	if (s->pub.item[item] == NULL)
		return ct_err_set(err, CT_ENOENT, "%s: no %s", s->dn, item_names[item]);
	if ((*data = malloc(s->pub.len[item] + 1)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	memcpy(*data, s->pub.item[item], s->pub.len[item] + 1);
	*len = s->pub.len[item];
	return CT_OK;
}

/* The certificate item that goes with key ITEM. */
static enum ct_ca_item
cert_of(enum ct_ca_item key)
{
	switch (key) {
	case CT_CA_KEY: return CT_CA_CERT;
	case CT_CA_NEXT_KEY: return CT_CA_NEXT_CERT;
	case CT_CA_SSH_KEY: return CT_CA_SSH_PUB;
	case CT_CA_NEXT_SSH_KEY: return CT_CA_NEXT_SSH_PUB;
	case CT_CA_PREVIOUS_SSH_KEY: return CT_CA_PREVIOUS_SSH_PUB;
	default: return CT_CA_PREVIOUS_CERT;
	}
}

int
ct_lstore_ca_key_read(const struct ct_cadir *base, enum ct_ca_item item, unsigned char **data,
    size_t *len, struct ct_err *err)
{
	const struct ct_lstore_cadir *s = lcadir_of(base);
	enum ct_ca_item cert = cert_of(item);
	unsigned char *local = NULL;
	size_t n = 0;
	int rc;

	if (!ct_ca_item_is_key(item))
		return ct_err_set(err, CT_EINVAL, "%s/%s: not a key", s->dn, item_names[item]);
	if (s->keys == NULL)
		return ct_err_set(err, CT_EPERM, "%s/%s: the CA keys are not kept on this host",
		    s->dn, item_names[item]);
	/* the key must be the one of the directory's certificate */
	if ((rc = ct_files_ca_read(s->keys, cert, &local, &n, err)) == CT_OK &&
	    (s->pub.item[cert] == NULL || n != s->pub.len[cert] ||
	        memcmp(local, s->pub.item[cert], n) != 0))
		rc = ct_err_set(err, CT_EIO,
		    "%s/%s: the CA host's key belongs to another CA than %s (version %" PRId64
		    ") of the directory",
		    s->keys->where, item_names[item], item_names[cert], s->pub.version);
	free(local);
	if (rc == CT_ENOENT)
		rc = ct_err_set(
		    err, CT_EIO, "%s: no certificate beside %s", s->keys->where, item_names[item]);
	return rc == CT_OK ? ct_files_ca_key_read(s->keys, item, data, len, err) : rc;
}

/* ct_lstore_fetch_fn for the version alone: "N" into DATA. */
static int
fetch_version(struct ct_ldap_store *ls, enum ct_lstore_dir where, const char *group,
    unsigned char **data, size_t *len, struct ct_err *err)
{
	static const char *const attrs[] = {"ctCaVersion", NULL};
	struct ct_lstore_entry e = {0};
	char *dn = NULL, text[32];
	int64_t v = 0;
	int rc;

	if ((rc = ct_lstore_group_dn(ls, group, &dn, err)) == CT_OK &&
	    (rc = ct_lstore_get(ls, where, 0, dn, attrs, &e, err)) == CT_OK &&
	    (rc = ct_lstore_integer(&e, "ctCaVersion", 1, INT64_MAX, &v, err)) == CT_ENOENT)
		rc = ct_err_set(err, CT_EIO, "%s: no ctCaVersion", dn);
	snprintf(text, sizeof(text), "%" PRId64, v);
	if (rc == CT_OK && (*data = (unsigned char *)strdup(text)) == NULL)
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
	if (rc == CT_OK)
		*len = strlen(text);
	ct_lstore_entry_clear(&e);
	free(dn);
	return rc;
}

int
ct_lstore_ca_version(
    struct ct_store *st, const char *group, struct ct_ca_version *out, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_pub p = {0};
	unsigned char *v = NULL;
	size_t len = 0;
	int rc;

	/* the CA host asks the provider for the number; a verifier reads through the cache */
	if (ct_lstore_ca_here(ls, group)) {
		if ((rc = fetch_version(ls, CT_LSTORE_WRITE, group, &v, &len, err)) == CT_OK)
			snprintf(out->id, sizeof(out->id), "ldap:%s", (char *)v);
		free(v);
		return rc;
	}
	if ((rc = pub_load(ls, group, 0, &p, err)) == CT_OK)
		snprintf(out->id, sizeof(out->id), "ldap:%" PRId64, p.version);
	ct_lstore_pub_clear(&p);
	return rc;
}
