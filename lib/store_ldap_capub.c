/* The LDAP backend: storing an access group's CA material (the keys and a
 * copy of the rest in the CA host's files, the public items in the group
 * entry, replaced in one asserted Modify) and publishing and reading its
 * latest CRL (store_ldap_ca.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store_ldap_ca.h"

/* The public items of a content as attribute values. */
struct enc {
	unsigned char *der[CT_CA_ITEMS];
	size_t len[CT_CA_ITEMS];
	char text[CT_CA_ITEMS][32];
	int has[CT_CA_ITEMS];
};

static void
enc_clear(struct enc *e)
{
	size_t i;

	for (i = 0; i < CT_CA_ITEMS; i++)
		free(e->der[i]);
	memset(e, 0, sizeof(*e));
}

/* Decimal seconds or a number and a newline (an item's text) into *V. */
static int
item_number(const unsigned char *data, size_t len, int64_t *v)
{
	size_t digits = strspn((const char *)data, "0123456789");

	if (digits == 0 || digits > 18 ||
	    (len != digits && !(len == digits + 1 && data[digits] == '\n')))
		return -1;
	*v = strtoll((const char *)data, NULL, 10);
	return 0;
}

/* One public item I of C into E. */
static int
enc_item(
    const struct ct_ca_content *c, size_t i, const char *where, struct enc *e, struct ct_err *err)
{
	enum ct_ca_item item;
	enum ct_lstore_kind kind;
	const char *attr = ct_lstore_pub_attr(i, &item, &kind);
	char what[512];
	int64_t v;

	if (c->item[item].data == NULL)
		return CT_OK;
	e->has[item] = 1;
	snprintf(what, sizeof(what), "%s: %s", where, attr);
	if (kind == CT_LSTORE_K_TEXT) {
		if ((e->der[item] = malloc(c->item[item].len + 1)) == NULL)
			return ct_err_set(err, CT_ENOMEM, "out of memory");
		memcpy(e->der[item], c->item[item].data, c->item[item].len);
		e->len[item] = c->item[item].len;
		return CT_OK;
	}
	if (kind == CT_LSTORE_K_CERT)
		return ct_lstore_pem_der(c->item[item].data, c->item[item].len, "CERTIFICATE", 0,
		    what, &e->der[item], &e->len[item], err);
	if (item_number(c->item[item].data, c->item[item].len, &v) != 0 ||
	    (kind == CT_LSTORE_K_TIME
	            ? ct_lstore_time_format(v, e->text[item]) != 0
	            : snprintf(e->text[item], sizeof(e->text[item]), "%" PRId64, v) < 0))
		return ct_err_set(err, CT_EINVAL, "%s: not a number", what);
	e->der[item] = NULL;
	e->len[item] = strlen(e->text[item]);
	return CT_OK;
}

static int
encode(const struct ct_ca_content *c, const char *where, struct enc *e, struct ct_err *err)
{
	size_t i;
	int rc = CT_OK;

	memset(e, 0, sizeof(*e));
	for (i = 0; rc == CT_OK && i < CT_LSTORE_PUB_N; i++)
		rc = enc_item(c, i, where, e, err);
	return rc;
}

/* Add E's items to M with OP; a REPLACE also removes the items E lacks. */
static void
enc_mods(const struct enc *e, int op, struct ct_lstore_mods *m)
{
	enum ct_ca_item item;
	enum ct_lstore_kind kind;
	const char *attr;
	size_t i;

	for (i = 0; i < CT_LSTORE_PUB_N; i++) {
		attr = ct_lstore_pub_attr(i, &item, &kind);
		if (e->has[item])
			ct_lstore_mods_add(m, op, attr,
			    e->der[item] != NULL ? (const void *)e->der[item] : e->text[item],
			    e->len[item]);
		else if (op == LDAP_MOD_REPLACE)
			ct_lstore_mods_add(m, op, attr, NULL, 0);
	}
}

/* Every item of the files snapshot S into C. */
static int
local_content(const struct ct_cadir *s, struct ct_ca_content *c, struct ct_err *err)
{
	int i, rc = CT_OK;

	memset(c, 0, sizeof(*c));
	for (i = 0; rc == CT_OK && i < CT_CA_ITEMS; i++) {
		if (!ct_files_ca_has(s, (enum ct_ca_item)i))
			continue;
		rc = (ct_ca_item_is_key((enum ct_ca_item)i) ? ct_files_ca_key_read
		                                            : ct_files_ca_read)(
		    s, (enum ct_ca_item)i, &c->item[i].data, &c->item[i].len, err);
	}
	if (rc != CT_OK)
		ct_ca_content_clear(c);
	return rc;
}

/* The CA host's files already hold GROUP: fine when they hold C exactly
 * (the same store.path as a files store migrated here), else CT_EEXIST. */
static int
local_same(
    struct ct_ldap_store *ls, const char *group, const struct ct_ca_content *c, struct ct_err *err)
{
	struct ct_ca_content have;
	struct ct_cadir *s = NULL;
	int i, rc, same = 1;

	if ((rc = ct_files_ca_open(ls->files, group, 0, &s, err)) == CT_OK &&
	    (rc = local_content(s, &have, err)) == CT_OK) {
		for (i = 0; i < CT_CA_ITEMS; i++)
			same &= (have.item[i].data == NULL) == (c->item[i].data == NULL) &&
			    have.item[i].len == c->item[i].len &&
			    (c->item[i].data == NULL ||
			        CRYPTO_memcmp(have.item[i].data, c->item[i].data, c->item[i].len) ==
			            0);
		ct_ca_content_clear(&have);
	}
	if (s != NULL)
		ct_files_ca_close(s);
	if (rc == CT_OK && !same)
		rc = ct_err_set(err, CT_EEXIST,
		    "access group '%s': %s/groups/%s holds other CA material; move it away first",
		    group, ls->path, group);
	return rc;
}

/* Add GROUP's entry with M; the containers are made when missing and the
 * store was opened to create. */
static int
add_entry(struct ct_ldap_store *ls, const char *group, const char *dn, struct ct_lstore_mods *m,
    struct ct_err *err)
{
	int rc = ct_lstore_add(ls, 0, dn, m, err);

	if (rc == CT_ENOENT && (ls->base.flags & CT_STORE_CREATE)) {
		ct_err_clear(err);
		if ((rc = ct_lstore_init_tree(ls, 0, err)) == CT_OK)
			rc = ct_lstore_add(ls, 0, dn, m, err);
	}
	if (rc == CT_EEXIST) {
		ct_err_clear(err);
		rc = ct_err_set(
		    err, CT_EEXIST, "access group '%s' already has a CA (%s)", group, dn);
	}
	return rc;
}

int
ct_lstore_ca_create(
    struct ct_store *st, const char *group, const struct ct_ca_content *c, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_mods m;
	struct enc e = {0};
	char *dn = NULL;
	int rc;

	ct_lstore_mods_init(&m);
	if ((rc = ct_lstore_group_dn(ls, group, &dn, err)) != CT_OK ||
	    (rc = encode(c, dn, &e, err)) != CT_OK)
		goto out;
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "ctAccessGroup");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctGroup", group);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctCaVersion", "1");
	enc_mods(&e, LDAP_MOD_ADD, &m);
	/* the entry first: then the keys, else the entry is taken back */
	if ((rc = add_entry(ls, group, dn, &m, err)) != CT_OK)
		goto out;
	if ((rc = ct_files_ca_create(ls->files, group, c, err)) == CT_EEXIST) {
		ct_err_clear(err);
		rc = local_same(ls, group, c, err);
	}
	if (rc != CT_OK)
		(void)ct_lstore_delete(ls, 0, dn, "(ctCaVersion=1)", NULL);
out:
	enc_clear(&e);
	free(dn);
	return rc;
}

int
ct_lstore_ca_replace(struct ct_cadir *base, const struct ct_ca_content *c, struct ct_err *err)
{
	struct ct_lstore_cadir *s = (struct ct_lstore_cadir *)base;
	struct ct_ldap_store *ls = ct_ldap_store_of(base->st);
	struct ct_ca_content old = {0};
	struct ct_lstore_mods m;
	struct enc e = {0};
	char version[32], assertion[48];
	int rc;

	if (s->keys == NULL)
		return ct_err_set(err, CT_EPERM, "%s: the CA keys are not on this host", s->dn);
	snprintf(version, sizeof(version), "%" PRId64, s->pub.version + 1);
	snprintf(assertion, sizeof(assertion), "(ctCaVersion=%" PRId64 ")", s->pub.version);
	ct_lstore_mods_init(&m);
	if ((rc = encode(c, s->dn, &e, err)) != CT_OK ||
	    (rc = local_content(s->keys, &old, err)) != CT_OK)
		goto out;
	enc_mods(&e, LDAP_MOD_REPLACE, &m);
	ct_lstore_mods_str(&m, LDAP_MOD_REPLACE, "ctCaVersion", version);
	/* the CA host's files first, under the group's lock; put back when the
	 * entry was changed meanwhile or cannot be written */
	if ((rc = ct_files_ca_replace(s->keys, c, err)) == CT_OK &&
	    (rc = ct_lstore_modify(ls, 0, s->dn, &m, assertion, err)) != CT_OK)
		(void)ct_files_ca_replace(s->keys, &old, NULL);
out:
	ct_ca_content_clear(&old);
	enc_clear(&e);
	return rc;
}

/* ---- the latest CRL ---- */

int
ct_lstore_crl_publish(
    struct ct_store *st, const char *group, const char *pem, size_t len, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_mods m;
	unsigned char *der = NULL;
	size_t der_len = 0;
	char *dn = NULL;
	int rc;

	ct_lstore_mods_init(&m);
	if ((rc = ct_lstore_group_dn(ls, group, &dn, err)) == CT_OK &&
	    (rc = ct_lstore_pem_der((const unsigned char *)pem, len, "X509 CRL", 1, "the CRL", &der,
	         &der_len, err)) == CT_OK) {
		ct_lstore_mods_add(&m, LDAP_MOD_REPLACE, "ctCrl", der, der_len);
		/* ctCrl alone: not part of the snapshot, no new version */
		if ((rc = ct_lstore_modify(ls, 0, dn, &m, NULL, err)) == CT_ENOENT) {
			ct_err_clear(err);
			rc = ct_err_set(err, CT_ENOENT,
			    "access group '%s' has no CA in the directory (%s)", group, dn);
		}
	}
	free(der);
	free(dn);
	return rc;
}

/* ct_lstore_fetch_fn: GROUP's ctCrl from WHERE, as PEM. */
static int
fetch_crl(struct ct_ldap_store *ls, enum ct_lstore_dir where, const char *group,
    unsigned char **data, size_t *len, struct ct_err *err)
{
	static const char *const attrs[] = {"ctCrl", NULL};
	struct ct_lstore_entry e = {0};
	const struct berval *v = NULL;
	char *dn = NULL, what[512];
	int rc;

	if ((rc = ct_lstore_group_dn(ls, group, &dn, err)) == CT_OK &&
	    (rc = ct_lstore_get(ls, where, 0, dn, attrs, &e, err)) == CT_OK &&
	    (rc = ct_lstore_value(&e, "ctCrl", &v, err)) == CT_OK) {
		snprintf(what, sizeof(what), "%s: ctCrl", dn);
		rc = ct_lstore_der_pem((const unsigned char *)v->bv_val, v->bv_len, "X509 CRL", 1,
		    what, data, len, err);
	}
	ct_lstore_entry_clear(&e);
	free(dn);
	return rc;
}

int
ct_lstore_crl_read(
    struct ct_store *st, const char *group, unsigned char **pem, size_t *len, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);

	return ct_lstore_cached(
	    ls, group, "crl", ct_lstore_ca_here(ls, group), fetch_crl, pem, len, err);
}
