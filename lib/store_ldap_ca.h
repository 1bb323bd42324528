/* The LDAP backend's CA material, private to store_ldap_ca*.c.
 *
 * An access group is the entry ctGroup=NAME,ou=groups,BASE (ctAccessGroup).
 * Its public items are attributes, each replaced together with the others
 * in ONE Modify asserted on (ctCaVersion=N) that sets ctCaVersion=N+1:
 *   CT_CA_CERT           ctCaCertificate          DER (the item: PEM)
 *   CT_CA_PREVIOUS_CERT  ctCaPreviousCertificate  DER
 *   CT_CA_UNTIL          ctCaOverlapEnd           GeneralizedTime (item: seconds)
 *   CT_CA_NEXT_CERT      ctCaNextCertificate      DER
 *   CT_CA_CRL_NUMBER     ctCrlNumber              INTEGER (item: decimal)
 * A snapshot is the entry as read in one search; ca_version is "ldap:" and
 * ctCaVersion.  The latest CRL is ctCrl (the DER of each CRL, one after the
 * other), replaced alone: outside the snapshot, no new version.
 *
 * The keys (CT_CA_KEY, CT_CA_PREVIOUS_KEY, CT_CA_NEXT_KEY) never go to the
 * directory: the CA host keeps the group's whole content (keys and, for
 * checks, the public items) in its own files under store.path/groups/GROUP,
 * through the embedded files handle, exactly as the files backend does.  A
 * host with that directory is the CA host for the group and reads the
 * entry from the provider (it reads its own writes); a host without it is a
 * verifier: it reads the public items from the read URIs through the local
 * cache, and a key is CT_EPERM there.  A change writes the local files
 * first (under the group's lock), then the entry; when the entry cannot be
 * written the local files are put back.
 *
 * The cache (verifiers): STORE/cache/GROUP.ca and GROUP.crl (0600 in a 0700
 * directory), each the bytes as read with the time read; younger than
 * store.ldap.cache_max_age they are used without asking the directory;
 * older, the directory is asked and the cache refreshed; the directory
 * unavailable and the cache too old: CT_EUNAVAIL (fail closed).  0: no
 * cache.  Revocations and the index are never cached. */
#ifndef CT_STORE_LDAP_CA_H
#define CT_STORE_LDAP_CA_H

#include <stddef.h>
#include <stdint.h>

#include "store_ldap.h"

/* A group's public CA items as the generic bytes (cadir.h), and its version. */
struct ct_lstore_pub {
	int64_t version; /* ctCaVersion */
	unsigned char *item[CT_CA_ITEMS]; /* NULL: absent (and always for a key) */
	size_t len[CT_CA_ITEMS];
};

void ct_lstore_pub_clear(struct ct_lstore_pub *p);

/* A snapshot: the entry's public items as read, and the CA host's files
 * snapshot of the group (NULL on a verifier). */
struct ct_lstore_cadir {
	struct ct_cadir base;
	char *dn;
	struct ct_lstore_pub pub;
	struct ct_cadir *keys;
};

/* How a public item's attribute value is written. */
enum ct_lstore_kind {
	CT_LSTORE_K_CERT, /* DER of the item's one PEM certificate */
	CT_LSTORE_K_TIME, /* GeneralizedTime of the item's decimal seconds */
	CT_LSTORE_K_INT, /* INTEGER: the item's decimal without the newline */
	CT_LSTORE_K_TEXT /* the item as it is (an SSH CA's public key line) */
};

#define CT_LSTORE_PUB_N 8 /* public items */

/* The I-th public item (I < CT_LSTORE_PUB_N): its attribute, and into
 * *ITEM and *KIND what it is. */
const char *ct_lstore_pub_attr(size_t i, enum ct_ca_item *item, enum ct_lstore_kind *kind);

/* Does this host keep GROUP's CA keys (store.path/groups/GROUP exists)? */
int ct_lstore_ca_here(const struct ct_ldap_store *ls, const char *group);

/* The DN of GROUP's entry in a new string. */
int ct_lstore_group_dn(
    const struct ct_ldap_store *ls, const char *group, char **out, struct ct_err *err);

/* PEM blocks of type NAME ("CERTIFICATE", "X509 CRL") in TEXT: their DER,
 * one after the other, in a new buffer; one block only unless MULTI.
 * CT_EINVAL naming WHAT when there is none or another type. */
int ct_lstore_pem_der(const unsigned char *text, size_t len, const char *name, int multi,
    const char *what, unsigned char **der, size_t *der_len, struct ct_err *err);

/* DER objects one after the other (one only unless MULTI) as PEM blocks of
 * type NAME in a new NUL-terminated buffer; CT_EIO naming WHAT when they
 * are not DER. */
int ct_lstore_der_pem(const unsigned char *der, size_t len, const char *name, int multi,
    const char *what, unsigned char **text, size_t *text_len, struct ct_err *err);

/* What a cached read fetches from the directory WHERE: GROUP's bytes. */
typedef int (*ct_lstore_fetch_fn)(struct ct_ldap_store *ls, enum ct_lstore_dir where,
    const char *group, unsigned char **data, size_t *len, struct ct_err *err);

/* GROUP's bytes of KIND ("ca", "crl"): on the CA host (HERE) from the
 * provider, else through the cache as store_ldap_ca.h says. */
int ct_lstore_cached(struct ct_ldap_store *ls, const char *group, const char *kind, int here,
    ct_lstore_fetch_fn fetch, unsigned char **data, size_t *len, struct ct_err *err);

/* The group's latest CRL (store_backend.h crl_publish, crl_read). */
int ct_lstore_crl_publish(
    struct ct_store *st, const char *group, const char *pem, size_t len, struct ct_err *err);
int ct_lstore_crl_read(
    struct ct_store *st, const char *group, unsigned char **pem, size_t *len, struct ct_err *err);

#endif
