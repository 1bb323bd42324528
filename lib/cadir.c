/* An access group's CA material in the store, read as one snapshot
 * (cadir.h): the checks and messages every backend shares, in front of the
 * backend's operations. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <openssl/crypto.h>

#include "cadir.h"
#include "conf.h"
#include "store_backend.h"

#define SNAP_TRIES                                                                                 \
	5 /* reads of a group's CA material that rotations keep replacing; the                     \
	     last one holds the group against changes, so a reader is never                        \
	     starved by a run of rotations */

int
ct_ca_item_is_key(enum ct_ca_item item)
{
	return item == CT_CA_KEY || item == CT_CA_PREVIOUS_KEY || item == CT_CA_NEXT_KEY ||
	    item == CT_CA_SSH_KEY || item == CT_CA_PREVIOUS_SSH_KEY || item == CT_CA_NEXT_SSH_KEY;
}

static int
check_group(const char *group, struct ct_err *err)
{
	if (!ct_name_valid(group))
		return ct_err_set(err, CT_EINVAL, "'%s' is not a valid access group name", group);
	return CT_OK;
}

/* Does the backend of ST keep CA material at all? */
static int
check_backend(struct ct_store *st, struct ct_err *err)
{
	if (st->ops->ca_open == NULL)
		return ct_err_set(
		    err, CT_ECONFIG, "store backend '%s' keeps no CA material", st->ops->name);
	return CT_OK;
}

int
ct_cadir_absent(const char *group, struct ct_err *err)
{
	ct_err_clear(err);
	return ct_err_set(err, CT_ENOENT,
	    "access group '%s' has no CA yet "
	    "(run: certtoken-admin ca init %s)",
	    group, group);
}

int
ct_cadir_open(struct ct_store *st, const char *group, unsigned flags, struct ct_cadir **out,
    struct ct_err *err)
{
	struct ct_cadir *s = NULL;
	int rc;

	if ((rc = check_group(group, err)) != CT_OK || (rc = check_backend(st, err)) != CT_OK)
		return rc;
	if ((rc = st->ops->ca_open(st, group, flags, &s, err)) == CT_ENOENT)
		return ct_cadir_absent(group, err);
	if (rc != CT_OK)
		return rc;
	s->st = st;
	*out = s;
	return CT_OK;
}

void
ct_cadir_close(struct ct_cadir *s)
{
	if (s != NULL)
		s->st->ops->ca_close(s);
}

int
ct_cadir_current(const struct ct_cadir *s)
{
	return s->st->ops->ca_current(s);
}

int
ct_cadir_has(const struct ct_cadir *s, enum ct_ca_item item)
{
	return s->st->ops->ca_has(s, item);
}

/* ITEM of S from the backend: a key from the CA host's keys, anything else
 * from the public material.  CT_ENOENT when missing. */
static int
read_item(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data, size_t *len,
    struct ct_err *err)
{
	if (ct_ca_item_is_key(item) && s->st->ops->ca_key_read == NULL)
		return ct_err_set(err, CT_EPERM, "%s/%s: the CA keys are not kept here", s->where,
		    s->names[item]);
	if (ct_ca_item_is_key(item))
		return s->st->ops->ca_key_read(s, item, data, len, err);
	return s->st->ops->ca_read(s, item, data, len, err);
}

int
ct_cadir_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data, size_t *len,
    struct ct_err *err)
{
	int rc = read_item(s, item, data, len, err);

	if (rc == CT_ENOENT) {
		ct_err_clear(err);
		rc = ct_err_set(err, CT_EIO, "%s/%s: missing", s->where, s->names[item]);
	}
	return rc;
}

int
ct_cadir_pem(
    const struct ct_cadir *s, enum ct_ca_item item, X509 **cert, EVP_PKEY **key, struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	BIO *b;
	int rc;

	if ((rc = ct_cadir_read(s, item, &data, &len, err)) != CT_OK)
		return rc;
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (cert != NULL
	            ? (*cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL
	            : (*key = PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, NULL, NULL)) == NULL))
		rc = ct_err_set(err, CT_EIO, "%s/%s: not a PEM %s", s->where, s->names[item],
		    cert != NULL ? "certificate" : "private key");
	ERR_clear_error();
	BIO_free(b);
	OPENSSL_clear_free(data, len);
	return rc;
}

int
ct_cadir_until(const struct ct_cadir *s, time_t *until, struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0, digits;
	long long v = 0;
	int rc;

	if ((rc = read_item(s, CT_CA_UNTIL, &data, &len, err)) == CT_ENOENT) {
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
		rc = ct_err_set(err, CT_EIO, "%s/%s: not a time in seconds since the epoch",
		    s->where, s->names[CT_CA_UNTIL]);
	else {
		v = strtoll((const char *)data, NULL, 10);
		*until = (time_t)v;
	}
	free(data);
	return rc;
}

int
ct_cadir_run(struct ct_store *st, const char *group,
    int (*read)(const struct ct_cadir *, void *, struct ct_err *), void (*reset)(void *), void *ctx,
    struct ct_err *err)
{
	struct ct_cadir *s = NULL;
	int rc, tries, current;

	for (tries = 0; tries < SNAP_TRIES; tries++) {
		rc =
		    ct_cadir_open(st, group, tries + 1 < SNAP_TRIES ? 0 : CT_CADIR_CHANGE, &s, err);
		if (rc != CT_OK)
			return rc;
		rc = read(s, ctx, err);
		current = ct_cadir_current(s);
		ct_cadir_close(s);
		if (current)
			return rc;
		reset(ctx);
		ct_err_clear(err);
	}
	return ct_err_set(err, CT_EIO,
	    "the CA of access group '%s' kept changing while it was read; try again", group);
}

int
ct_cadir_version(
    struct ct_store *st, const char *group, struct ct_ca_version *out, struct ct_err *err)
{
	int rc;

	if ((rc = check_group(group, err)) != CT_OK || (rc = check_backend(st, err)) != CT_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	return st->ops->ca_version(st, group, out, err);
}

int
ct_cadir_create(
    struct ct_store *st, const char *group, const struct ct_ca_content *c, struct ct_err *err)
{
	int rc;

	if ((rc = check_group(group, err)) != CT_OK || (rc = check_backend(st, err)) != CT_OK)
		return rc;
	if (st->ops->ca_create == NULL)
		return ct_err_set(
		    err, CT_EPERM, "store backend '%s' cannot create a CA here", st->ops->name);
	if (c->item[CT_CA_CERT].data == NULL || c->item[CT_CA_KEY].data == NULL)
		return ct_err_set(err, CT_EINVAL,
		    "access group '%s': a CA needs a key and a "
		    "certificate",
		    group);
	return st->ops->ca_create(st, group, c, err);
}

int
ct_cadir_replace(struct ct_cadir *s, const struct ct_ca_content *c, struct ct_err *err)
{
	if (c->item[CT_CA_CERT].data == NULL || c->item[CT_CA_KEY].data == NULL)
		return ct_err_set(
		    err, CT_EINVAL, "%s: a CA needs a key and a certificate", s->where);
	if (s->st->ops->ca_replace == NULL)
		return ct_err_set(err, CT_EPERM, "%s: cannot be changed here", s->where);
	return s->st->ops->ca_replace(s, c, err);
}

void
ct_ca_content_clear(struct ct_ca_content *c)
{
	size_t i;

	for (i = 0; i < CT_CA_ITEMS; i++) {
		if (c->item[i].data != NULL)
			OPENSSL_cleanse(c->item[i].data, c->item[i].len);
		free(c->item[i].data);
	}
	memset(c, 0, sizeof(*c));
}
