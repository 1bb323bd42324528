/* The LDAP backend: the issued-certificate index,
 * ctCertSerial=SERIAL,ou=certs,BASE (ctIssuedCertificate: user, target,
 * group, token serial, the certificate in DER and readable copies of its
 * validity), and the revocations, ctCertSerial=SERIAL,ou=revoked,BASE
 * (ctRevocation: group, time, reason).  A revocation is one Add: the
 * directory serialises them, and an entry that exists means the
 * certificate is already revoked.  Neither is ever cached: a revocation
 * written from one host is seen by the next read from any other. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "store_ldap.h"

static const char *const cert_attrs[] = {"ctCertSerial", "ctUser", "ctTarget", "ctGroup",
    "ctTokenSerial", "ctCertificate", "ctSshSerial", NULL};
static const char *const revoked_attrs[] = {
    "ctCertSerial", "ctGroup", "ctRevokedAt", "ctRevocationReason", NULL};

/* Epoch seconds of T, or -1. */
static int64_t
asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

/* Add the validity of certificate DER to M, its GeneralizedTimes in NB and
 * NA (left out when DER does not parse: the index entry still records it). */
static void
validity_mods(struct ct_lstore_mods *m, const unsigned char *der, size_t len,
    char nb[CT_LSTORE_TIME_LEN], char na[CT_LSTORE_TIME_LEN])
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	if (x == NULL)
		return;
	if (ct_lstore_time_format(asn1_epoch(X509_get0_notBefore(x)), nb) == 0)
		ct_lstore_mods_str(m, LDAP_MOD_ADD, "ctNotBefore", nb);
	if (ct_lstore_time_format(asn1_epoch(X509_get0_notAfter(x)), na) == 0)
		ct_lstore_mods_str(m, LDAP_MOD_ADD, "ctNotAfter", na);
	X509_free(x);
}

int
ct_lstore_cert_add(struct ct_store *st, const struct ct_cert_entry *e, const unsigned char *der,
    size_t len, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	char nb[CT_LSTORE_TIME_LEN], na[CT_LSTORE_TIME_LEN], ssh[24], *dn = NULL;
	struct ct_lstore_mods m;
	int rc;

	if ((rc = ct_lstore_dn(ls, "ctCertSerial", e->serial, CT_LSTORE_CERTS, &dn, err)) < 0)
		return rc;
	ct_lstore_mods_init(&m);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "ctIssuedCertificate");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctCertSerial", e->serial);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctUser", e->user);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctTarget", e->target);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctGroup", e->group);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctTokenSerial", e->token);
	ct_lstore_mods_add(&m, LDAP_MOD_ADD, "ctCertificate", der, len);
	validity_mods(&m, der, len, nb, na);
	if (e->ssh_serial != 0) {
		snprintf(ssh, sizeof(ssh), "%" PRIu64, e->ssh_serial);
		ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctSshSerial", ssh);
	}
	rc = ct_lstore_add(ls, 0, dn, &m, err);
	free(dn);
	return rc;
}

void
ct_lstore_cert_remove(struct ct_store *st, const char *serial)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_err err = {0};
	char *dn = NULL;

	if (ct_lstore_dn(ls, "ctCertSerial", serial, CT_LSTORE_CERTS, &dn, &err) == CT_OK)
		(void)ct_lstore_delete(ls, 0, dn, NULL, &err);
	free(dn);
}

/* ATTR of entry S as an index word into OUT (SIZE bytes). */
static int
index_word(
    const struct ct_lstore_entry *s, const char *attr, char *out, size_t size, struct ct_err *err)
{
	int rc;

	if ((rc = ct_lstore_string(s, attr, out, size, err)) == CT_OK &&
	    !ct_certindex_word_valid(out))
		return ct_err_set(err, CT_EIO, "%s: malformed index entry (%s)", s->dn, attr);
	return rc;
}

/* The optional ctSshSerial of S into *OUT (0: none): 1 to 2^64-1. */
static int
ssh_serial(const struct ct_lstore_entry *s, uint64_t *out, struct ct_err *err)
{
	const struct berval *v = NULL;
	char text[24], *end;
	int rc;

	*out = 0;
	if ((rc = ct_lstore_value(s, "ctSshSerial", &v, err)) == CT_ENOENT)
		return CT_OK;
	if (rc != CT_OK)
		return rc;
	if (v->bv_len == 0 || v->bv_len >= sizeof(text) || v->bv_val[0] < '1' || v->bv_val[0] > '9')
		return ct_err_set(err, CT_EIO, "%s: malformed ctSshSerial", s->dn);
	memcpy(text, v->bv_val, v->bv_len);
	text[v->bv_len] = '\0';
	errno = 0;
	*out = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return ct_err_set(err, CT_EIO, "%s: malformed ctSshSerial", s->dn);
	return CT_OK;
}

/* The index entry S of certificate SERIAL into E. */
static int
cert_entry(const struct ct_lstore_entry *s, const char *serial, struct ct_cert_entry *e,
    struct ct_err *err)
{
	const struct berval *v = NULL;
	const unsigned char *p;
	char got[CT_CERT_SERIAL_MAX];
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = index_word(s, "ctUser", e->user, sizeof(e->user), err)) < 0 ||
	    (rc = index_word(s, "ctTarget", e->target, sizeof(e->target), err)) < 0 ||
	    (rc = index_word(s, "ctGroup", e->group, sizeof(e->group), err)) < 0 ||
	    (rc = index_word(s, "ctTokenSerial", e->token, sizeof(e->token), err)) < 0 ||
	    (rc = ct_lstore_value(s, "ctCertificate", &v, err)) < 0) {
		rc = rc == CT_ENOENT ? CT_EIO : rc; /* no certificate: a malformed entry */
		goto out;
	}
	p = (const unsigned char *)v->bv_val;
	if ((e->cert = d2i_X509(NULL, &p, (long)v->bv_len)) == NULL ||
	    p != (const unsigned char *)v->bv_val + v->bv_len ||
	    ct_cert_serial_hex(e->cert, got) != CT_OK || strcmp(got, serial) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: no certificate with that serial", s->dn);
		goto out;
	}
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	rc = ssh_serial(s, &e->ssh_serial, err);
out:
	if (rc != CT_OK)
		ct_cert_entry_clear(e);
	return rc;
}

int
ct_lstore_cert_get(
    struct ct_store *st, const char *serial, struct ct_cert_entry *e, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_entry s = {0};
	char *dn = NULL;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = ct_lstore_dn(ls, "ctCertSerial", serial, CT_LSTORE_CERTS, &dn, err)) < 0)
		return rc;
	if ((rc = ct_lstore_get(ls, CT_LSTORE_READ, 0, dn, cert_attrs, &s, err)) == CT_OK)
		rc = cert_entry(&s, serial, e, err);
	ct_lstore_entry_clear(&s);
	free(dn);
	return rc;
}

/* Search the container CONTAINER for OBJECTCLASS entries with ATTRS. */
static int
search_all(struct ct_ldap_store *ls, const char *container, const char *filter,
    const char *const *attrs, struct ct_lstore_entry **out, size_t *n, struct ct_err *err)
{
	char *base = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = ct_lstore_container(ls, container, &base, err)) == CT_OK)
		rc = ct_lstore_search(ls, CT_LSTORE_READ, 0, base, filter, attrs, out, n, err);
	free(base);
	return rc;
}

int
ct_lstore_cert_foreach(struct ct_store *st, ct_cert_fn fn, void *ctx, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_entry *s = NULL;
	struct ct_cert_entry e;
	char serial[CT_CERT_SERIAL_MAX];
	size_t n = 0, i;
	int rc;

	rc = search_all(
	    ls, CT_LSTORE_CERTS, "(objectClass=ctIssuedCertificate)", cert_attrs, &s, &n, err);
	for (i = 0; rc == CT_OK && i < n; i++) {
		if ((rc = ct_lstore_string(&s[i], "ctCertSerial", serial, sizeof(serial), err)) < 0)
			break;
		if (!ct_cert_serial_valid(serial)) {
			rc = ct_err_set(err, CT_EIO, "%s: malformed index entry (serial)", s[i].dn);
			break;
		}
		if ((rc = cert_entry(&s[i], serial, &e, err)) < 0)
			break;
		rc = fn(ctx, &e);
		ct_cert_entry_clear(&e);
	}
	ct_lstore_entries_free(s, n);
	return rc;
}

/* ---- revocations ---- */

int
ct_lstore_revoke(struct ct_store *st, const struct ct_revocation *r, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	char when[CT_LSTORE_TIME_LEN], reason[16], *dn = NULL;
	struct ct_lstore_mods m;
	struct ct_err local = {0};
	int rc;

	if (ct_lstore_time_format(r->when, when) != 0)
		return ct_err_set(err, CT_EINVAL, "revocation of %s: bad time", r->serial);
	if ((rc = ct_lstore_dn(ls, "ctCertSerial", r->serial, CT_LSTORE_REVOKED, &dn, err)) < 0)
		return rc;
	snprintf(reason, sizeof(reason), "%d", r->reason);
	ct_lstore_mods_init(&m);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "ctRevocation");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctCertSerial", r->serial);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctGroup", r->group);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctRevokedAt", when);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctRevocationReason", reason);
	if ((rc = ct_lstore_add(ls, 0, dn, &m, &local)) == CT_EEXIST)
		rc = ct_err_set(err, CT_EEXIST, "certificate %s is already revoked", r->serial);
	else if (rc < 0)
		ct_err_set(err, rc, "%s", local.msg);
	free(dn);
	return rc;
}

/* The revocation entry S into R. */
static int
revocation(const struct ct_lstore_entry *s, struct ct_revocation *r, struct ct_err *err)
{
	int64_t reason = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = ct_lstore_string(s, "ctCertSerial", r->serial, sizeof(r->serial), err)) < 0 ||
	    (rc = ct_lstore_string(s, "ctGroup", r->group, sizeof(r->group), err)) < 0 ||
	    (rc = ct_lstore_time(s, "ctRevokedAt", &r->when, err)) < 0 ||
	    (rc = ct_lstore_integer(s, "ctRevocationReason", 0, 10, &reason, err)) < 0)
		return rc;
	r->reason = (int)reason;
	if (!ct_cert_serial_valid(r->serial) || !ct_certindex_word_valid(r->group))
		return ct_err_set(err, CT_EIO, "%s: malformed revocation", s->dn);
	return CT_OK;
}

int
ct_lstore_revoked_read(
    struct ct_store *st, struct ct_revocation **out, size_t *n, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_entry *s = NULL;
	struct ct_revocation *list = NULL;
	size_t count = 0, i;
	int rc;

	rc = search_all(
	    ls, CT_LSTORE_REVOKED, "(objectClass=ctRevocation)", revoked_attrs, &s, &count, err);
	if (rc == CT_OK && count > CT_REVOKED_MAX)
		rc =
		    ct_err_set(err, CT_EIO, "LDAP store: more than %d revocations", CT_REVOKED_MAX);
	if (rc == CT_OK && count > 0 && (list = calloc(count, sizeof(*list))) == NULL)
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
	for (i = 0; rc == CT_OK && i < count; i++)
		rc = revocation(&s[i], &list[i], err);
	ct_lstore_entries_free(s, count);
	if (rc != CT_OK) {
		free(list);
		return rc;
	}
	*out = list;
	*n = count;
	return CT_OK;
}

int
ct_lstore_revoked_get(
    struct ct_store *st, const char *serial, struct ct_revocation *out, struct ct_err *err)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(st);
	struct ct_lstore_entry s = {0};
	char *dn = NULL;
	int rc;

	if ((rc = ct_lstore_dn(ls, "ctCertSerial", serial, CT_LSTORE_REVOKED, &dn, err)) < 0)
		return rc;
	/* a missing ou=revoked (a wrong base) is an error, never "not revoked" */
	rc = ct_lstore_get_child(ls, CT_LSTORE_READ, 0, dn, NULL, revoked_attrs, &s, err);
	if (rc == CT_OK && (rc = revocation(&s, out, err)) == CT_OK &&
	    strcmp(out->serial, serial) != 0)
		rc = ct_err_set(err, CT_EIO, "%s: malformed revocation (serial)", s.dn);
	ct_lstore_entry_clear(&s);
	free(dn);
	return rc;
}
