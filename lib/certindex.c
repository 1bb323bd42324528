/* The issued-certificate index and the revocations, backend-neutral:
 * serials, reasons, and the operations, which check their arguments and
 * call the store's backend. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "certindex.h"
#include "store_backend.h"

static const char *const reasons[] = {"unspecified", "keyCompromise", "cACompromise",
    "affiliationChanged", "superseded", "cessationOfOperation", NULL};
/* certificateHold (6) is left out: a revocation here cannot be released */

int
ct_crl_reason_parse(const char *name)
{
	int i;

	for (i = 0; reasons[i] != NULL; i++)
		if (strcmp(reasons[i], name) == 0)
			return i;
	return -1;
}

const char *
ct_crl_reason_name(int code)
{
	return code >= 0 && code < (int)(sizeof(reasons) / sizeof(reasons[0])) - 1 ? reasons[code]
	                                                                           : "unspecified";
}

int
ct_cert_serial_valid(const char *s)
{
	size_t len = strnlen(s, CT_CERT_SERIAL_MAX), i;

	if (len < 2 || len >= CT_CERT_SERIAL_MAX || len % 2 != 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

int
ct_cert_serial_hex(const X509 *x, char out[CT_CERT_SERIAL_MAX])
{
	return ct_serial_hex(X509_get0_serialNumber(x), out);
}

int
ct_serial_hex(const ASN1_INTEGER *sn, char out[CT_CERT_SERIAL_MAX])
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	size_t len = hex != NULL ? strlen(hex) : 0, pad = len % 2;
	int rc = CT_EINVAL;

	/* an even number of digits, as the token store and the index keep it */
	if (hex != NULL && hex[0] != '-' && len + pad < CT_CERT_SERIAL_MAX) {
		out[0] = '0';
		memcpy(out + pad, hex, len + 1);
		rc = CT_OK;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int
ct_certindex_word_valid(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		        (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '@' ||
		        *s == '-'))
			return 0;
	return 1;
}

void
ct_cert_entry_clear(struct ct_cert_entry *e)
{
	X509_free(e->cert);
	memset(e, 0, sizeof(*e));
}

const struct ct_revocation *
ct_revoked_find(const struct ct_revocation *list, size_t n, const char *serial)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].serial, serial) == 0)
			return &list[i];
	return NULL;
}

/* Copy S into OUT of SIZE bytes; -1 when it does not fit. */
static int
copy(char *out, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		return -1;
	memcpy(out, s, n + 1);
	return 0;
}

int
ct_certindex_add(struct ct_store *st, const char *serial, const char *user, const char *target,
    const char *group, const char *token, const unsigned char *der, size_t len, struct ct_err *err)
{
	return ct_certindex_add_ssh(st, serial, user, target, group, token, 0, der, len, err);
}

int
ct_certindex_add_ssh(struct ct_store *st, const char *serial, const char *user, const char *target,
    const char *group, const char *token, uint64_t ssh_serial, const unsigned char *der, size_t len,
    struct ct_err *err)
{
	struct ct_cert_entry e;

	memset(&e, 0, sizeof(e));
	e.ssh_serial = ssh_serial;
	if (!ct_cert_serial_valid(serial) || !ct_certindex_word_valid(user) ||
	    !ct_certindex_word_valid(target) || !ct_certindex_word_valid(group) ||
	    !ct_certindex_word_valid(token) || copy(e.serial, sizeof(e.serial), serial) != 0 ||
	    copy(e.user, sizeof(e.user), user) != 0 ||
	    copy(e.target, sizeof(e.target), target) != 0 ||
	    copy(e.group, sizeof(e.group), group) != 0 ||
	    copy(e.token, sizeof(e.token), token) != 0)
		return ct_err_set(err, CT_EINVAL, "certificate index: bad serial or name");
	return st->ops->cert_add(st, &e, der, len, err);
}

void
ct_certindex_remove(struct ct_store *st, const char *serial)
{
	if (ct_cert_serial_valid(serial))
		st->ops->cert_remove(st, serial);
}

int
ct_certindex_get(
    struct ct_store *st, const char *serial, struct ct_cert_entry *e, struct ct_err *err)
{
	memset(e, 0, sizeof(*e));
	if (!ct_cert_serial_valid(serial))
		return ct_err_set(err, CT_EINVAL,
		    "'%s' is not a certificate serial (upper-case hex, as listed)", serial);
	return st->ops->cert_get(st, serial, e, err);
}

int
ct_certindex_foreach(struct ct_store *st, int (*fn)(void *ctx, const struct ct_cert_entry *e),
    void *ctx, struct ct_err *err)
{
	return st->ops->cert_foreach(st, fn, ctx, err);
}

int
ct_revoke(struct ct_store *st, const char *serial, const char *group, int reason, time_t now,
    struct ct_err *err)
{
	struct ct_revocation r;

	memset(&r, 0, sizeof(r));
	if (!ct_cert_serial_valid(serial) || !ct_certindex_word_valid(group) ||
	    copy(r.serial, sizeof(r.serial), serial) != 0 ||
	    copy(r.group, sizeof(r.group), group) != 0)
		return ct_err_set(err, CT_EINVAL, "bad serial or group");
	r.when = (int64_t)now;
	r.reason = reason;
	return st->ops->revoke(st, &r, err);
}

int
ct_revoked_read(struct ct_store *st, struct ct_revocation **out, size_t *n, struct ct_err *err)
{
	*out = NULL;
	*n = 0;
	return st->ops->revoked_read(st, out, n, err);
}

int
ct_revoked_get(
    struct ct_store *st, const char *serial, struct ct_revocation *out, struct ct_err *err)
{
	const struct ct_revocation *r;
	struct ct_revocation *list = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ct_cert_serial_valid(serial))
		return ct_err_set(err, CT_EINVAL, "bad serial");
	if (st->ops->revoked_get != NULL)
		return st->ops->revoked_get(st, serial, out, err);
	if ((rc = ct_revoked_read(st, &list, &n, err)) == CT_OK) {
		if ((r = ct_revoked_find(list, n, serial)) != NULL)
			*out = *r;
		else
			rc = CT_ENOENT;
	}
	free(list);
	return rc;
}
