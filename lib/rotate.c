/* CA rotation and preparation (rotate.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ca.h"
#include "cadir.h"
#include "rotate.h"
#include "sshca.h"

/* Set ITEM to LEN bytes of DATA, which FS owns from now on (also when this
 * fails). */
static int
content_add(struct ct_ca_content *fs, enum ct_ca_item item, unsigned char *data, size_t len,
    struct ct_err *err)
{
	if (data == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (fs->item[item].data != NULL) { /* a bug: each item is set once */
		OPENSSL_cleanse(data, len);
		free(data);
		return ct_err_set(err, CT_EINVAL, "CA item %d set twice", (int)item);
	}
	fs->item[item].data = data;
	fs->item[item].len = len;
	return CT_OK;
}

/* Set ITEM to a copy of B's contents. */
static int
content_add_buf(
    struct ct_ca_content *fs, enum ct_ca_item item, const BUF_MEM *b, struct ct_err *err)
{
	unsigned char *data = malloc(b->length > 0 ? b->length : 1);

	if (data != NULL)
		memcpy(data, b->data, b->length);
	return content_add(fs, item, data, b->length, err);
}

/* Set ITEM to what item FROM of S holds, byte for byte. */
static int
content_copy(struct ct_ca_content *fs, const struct ct_cadir *s, enum ct_ca_item from,
    enum ct_ca_item item, struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ct_cadir_read(s, from, &data, &len, err)) != CT_OK)
		return rc;
	return content_add(fs, item, data, len, err);
}

/* Set items KEY and CERT to a new CA for G at NOW; its certificate into *OUT. */
static int
content_new_ca(struct ct_ca_content *fs, const struct ct_group *g, time_t now, enum ct_ca_item key,
    enum ct_ca_item cert, X509 **out, struct ct_err *err)
{
	struct ct_ca_pem pem = {0};
	int rc;

	if ((rc = ct_ca_generate(g, now, &pem, err)) == CT_OK &&
	    (rc = content_add_buf(fs, key, pem.key, err)) == CT_OK &&
	    (rc = content_add_buf(fs, cert, pem.cert, err)) == CT_OK) {
		*out = pem.x509;
		pem.x509 = NULL;
	}
	ct_ca_pem_clear(&pem);
	return rc;
}

/* Set items KEY and PUB to a new SSH CA for G (of G's SSH key type). */
static int
content_new_ssh(struct ct_ca_content *fs, const struct ct_group *g, enum ct_ca_item key,
    enum ct_ca_item pub, struct ct_err *err)
{
	struct ct_sshca_new n = {0};
	int rc;

	if ((rc = ct_sshca_generate(g->ssh_key_type, g->name, &n, err)) == CT_OK &&
	    (rc = content_add_buf(fs, key, n.key, err)) == CT_OK) {
		rc = content_add(fs, pub, (unsigned char *)n.pub, strlen(n.pub), err);
		n.pub = NULL;
	}
	ct_sshca_new_clear(&n);
	return rc;
}

/* Set CT_CA_UNTIL: the previous CA is trusted until UNTIL. */
static int
content_add_until(struct ct_ca_content *fs, time_t until, struct ct_err *err)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%lld\n", (long long)until);
	unsigned char *data = malloc((size_t)n);

	if (data != NULL)
		memcpy(data, text, (size_t)n);
	return content_add(fs, CT_CA_UNTIL, data, (size_t)n, err);
}

/* Opened to change: read the current CA of S (it must be sound, as it
 * becomes the previous one) and the previous CA it may still have, into
 * OUT. */
static int
rotate_read(const struct ct_cadir *s, const struct ct_group *g, time_t now, struct ct_rotation *out,
    struct ct_err *err)
{
	struct ct_ca *old = NULL;
	time_t until = 0;
	int rc;

	if ((rc = ct_ca_read(s, g->name, CT_CA_KEY, CT_CA_CERT, &old, err)) != CT_OK)
		return rc;
	out->previous = ct_ca_cert(old);
	X509_up_ref(out->previous);
	ct_ca_free(old);
	/* an older previous CA still trusted is dropped: report it if it can be read */
	if (ct_cadir_until(s, &until, NULL) == CT_OK && now < until &&
	    ct_cadir_pem(s, CT_CA_PREVIOUS_CERT, &out->dropped, NULL, NULL) == CT_OK)
		out->dropped_until = until;
	return CT_OK;
}

/* The prepared CA of S becomes the current one: CT_CA_KEY and CT_CA_CERT of FS, its
 * certificate into OUT->cert.  It must be sound and not expired at NOW. */
static int
take_prepared(const struct ct_cadir *s, const char *group, time_t now, struct ct_ca_content *fs,
    struct ct_rotation *out, struct ct_err *err)
{
	struct ct_ca *next = NULL;
	int rc;

	if ((rc = ct_ca_read(s, group, CT_CA_NEXT_KEY, CT_CA_NEXT_CERT, &next, err)) != CT_OK)
		return rc;
	if (now >= ct_ca_not_after(next))
		rc = ct_err_set(err, CT_EINVAL,
		    "%s/%s: the prepared CA has expired; prepare another one "
		    "(ca rotate %s --prepare --replace)",
		    s->where, s->names[CT_CA_NEXT_CERT], group);
	else if ((rc = content_copy(fs, s, CT_CA_NEXT_KEY, CT_CA_KEY, err)) == CT_OK &&
	    (rc = content_copy(fs, s, CT_CA_NEXT_CERT, CT_CA_CERT, err)) == CT_OK) {
		out->cert = ct_ca_cert(next);
		X509_up_ref(out->cert);
		out->prepared = 1;
	}
	ct_ca_free(next);
	return rc;
}

/* The SSH CA side of a rotation of S (G's): the prepared SSH CA (when
 * PREPARED and it has one) or a new one becomes the current SSH CA, and,
 * with an OVERLAP, the current one (if any) the previous one. */
static int
rotate_ssh(const struct ct_cadir *s, const struct ct_group *g, int prepared, long overlap,
    struct ct_ca_content *fs, struct ct_err *err)
{
	int rc;

	if (prepared && ct_cadir_has(s, CT_CA_NEXT_SSH_PUB)) {
		if ((rc = content_copy(fs, s, CT_CA_NEXT_SSH_KEY, CT_CA_SSH_KEY, err)) == CT_OK)
			rc = content_copy(fs, s, CT_CA_NEXT_SSH_PUB, CT_CA_SSH_PUB, err);
	} else
		rc = content_new_ssh(fs, g, CT_CA_SSH_KEY, CT_CA_SSH_PUB, err);
	if (rc != CT_OK || overlap == 0 || !ct_cadir_has(s, CT_CA_SSH_PUB))
		return rc;
	if ((rc = content_copy(fs, s, CT_CA_SSH_KEY, CT_CA_PREVIOUS_SSH_KEY, err)) != CT_OK)
		return rc;
	return content_copy(fs, s, CT_CA_SSH_PUB, CT_CA_PREVIOUS_SSH_PUB, err);
}

/* Opened to change: the CA material of S after rotating G at NOW with
 * OVERLAP seconds (see ct_ca_rotate) into FS, and what that does into OUT. */
static int
rotate_build(const struct ct_cadir *s, const struct ct_group *g, time_t now, long overlap,
    unsigned flags, struct ct_ca_content *fs, struct ct_rotation *out, struct ct_err *err)
{
	int rc;

	if ((rc = rotate_read(s, g, now, out, err)) != CT_OK)
		return rc;
	if (!ct_cadir_has(s, CT_CA_NEXT_CERT))
		rc = content_new_ca(fs, g, now, CT_CA_KEY, CT_CA_CERT, &out->cert, err);
	else if (flags & CT_ROTATE_GENERATE)
		rc = ct_err_set(err, CT_EEXIST,
		    "access group '%s' has a prepared CA (%s/%s), which a new CA would discard: "
		    "rotate to it as it is, or replace it first (ca rotate %s --prepare --replace)",
		    g->name, s->where, s->names[CT_CA_NEXT_CERT], g->name);
	else
		rc = take_prepared(s, g->name, now, fs, out, err);
	if (rc == CT_OK && ct_cadir_has(s, CT_CA_CRL_NUMBER)) /* CRL numbers only grow */
		rc = content_copy(fs, s, CT_CA_CRL_NUMBER, CT_CA_CRL_NUMBER, err);
	if (rc == CT_OK)
		rc = rotate_ssh(s, g, out->prepared, overlap, fs, err);
	if (rc != CT_OK || overlap == 0)
		return rc;
	if ((rc = content_copy(fs, s, CT_CA_KEY, CT_CA_PREVIOUS_KEY, err)) != CT_OK ||
	    (rc = content_copy(fs, s, CT_CA_CERT, CT_CA_PREVIOUS_CERT, err)) != CT_OK)
		return rc;
	return content_add_until(fs, now + overlap, err);
}

int
ct_ca_rotate(struct ct_store *st, const struct ct_group *g, time_t now, long overlap,
    unsigned flags, struct ct_rotation *out, struct ct_err *err)
{
	struct ct_rotation res = {0};
	struct ct_ca_content fs = {0};
	struct ct_cadir *s = NULL;
	int rc;

	if (overlap < 0 || overlap > CT_OVERLAP_MAX)
		return ct_err_set(err, CT_EINVAL,
		    "an overlap of %ld seconds is not within 0 to %ld", overlap,
		    (long)CT_OVERLAP_MAX);
	if ((rc = ct_cadir_open(st, g->name, CT_CADIR_CHANGE, &s, err)) != CT_OK ||
	    (rc = rotate_build(s, g, now, overlap, flags, &fs, &res, err)) != CT_OK ||
	    (rc = ct_cadir_replace(s, &fs, err)) != CT_OK)
		goto out;
	res.until = now + overlap;
	*out = res;
	memset(&res, 0, sizeof(res));
out:
	ct_rotation_clear(&res);
	ct_ca_content_clear(&fs);
	ct_cadir_close(s);
	return rc;
}

/* Opened to change: the CA material of S with a new next CA for G at NOW
 * (its certificate into *NEXT) into FS; the current and previous CA's items
 * unchanged, byte for byte. */
static int
prepare_build(const struct ct_cadir *s, const struct ct_group *g, time_t now, int replace,
    struct ct_ca_content *fs, X509 **next, X509 **replaced, struct ct_err *err)
{
	static const enum ct_ca_item keep[] = {CT_CA_PREVIOUS_KEY, CT_CA_PREVIOUS_CERT, CT_CA_UNTIL,
	    CT_CA_CRL_NUMBER, CT_CA_SSH_KEY, CT_CA_SSH_PUB, CT_CA_PREVIOUS_SSH_KEY,
	    CT_CA_PREVIOUS_SSH_PUB};
	struct ct_ca *cur = NULL;
	size_t i;
	int rc;

	/* the current CA must be sound: it signs until the rotation */
	if ((rc = ct_ca_read(s, g->name, CT_CA_KEY, CT_CA_CERT, &cur, err)) != CT_OK)
		return rc;
	ct_ca_free(cur);
	if (ct_cadir_has(s, CT_CA_NEXT_CERT)) {
		if (!replace)
			return ct_err_set(err, CT_EEXIST,
			    "access group '%s' already has a prepared CA (%s/%s); it becomes the "
			    "current CA at the next rotation (ca rotate %s), or --replace discards "
			    "it",
			    g->name, s->where, s->names[CT_CA_NEXT_CERT], g->name);
		(void)ct_cadir_pem(s, CT_CA_NEXT_CERT, replaced, NULL, NULL);
	}
	if ((rc = content_copy(fs, s, CT_CA_KEY, CT_CA_KEY, err)) != CT_OK ||
	    (rc = content_copy(fs, s, CT_CA_CERT, CT_CA_CERT, err)) != CT_OK)
		return rc;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (ct_cadir_has(s, keep[i]) &&
		    (rc = content_copy(fs, s, keep[i], keep[i], err)) != CT_OK)
			return rc;
	if ((rc = content_new_ca(fs, g, now, CT_CA_NEXT_KEY, CT_CA_NEXT_CERT, next, err)) != CT_OK)
		return rc;
	return content_new_ssh(fs, g, CT_CA_NEXT_SSH_KEY, CT_CA_NEXT_SSH_PUB, err);
}

int
ct_ca_prepare(struct ct_store *st, const struct ct_group *g, time_t now, int replace, X509 **next,
    X509 **replaced, struct ct_err *err)
{
	struct ct_ca_content fs = {0};
	struct ct_cadir *s = NULL;
	X509 *x = NULL, *old = NULL;
	int rc;

	if ((rc = ct_cadir_open(st, g->name, CT_CADIR_CHANGE, &s, err)) != CT_OK ||
	    (rc = prepare_build(s, g, now, replace, &fs, &x, &old, err)) != CT_OK ||
	    (rc = ct_cadir_replace(s, &fs, err)) != CT_OK)
		goto out;
	*next = x;
	*replaced = old;
	x = old = NULL;
out:
	X509_free(x);
	X509_free(old);
	ct_ca_content_clear(&fs);
	ct_cadir_close(s);
	return rc;
}

/* Opened to change: the CA material of S with SSH CAs for G added into FS:
 * every item kept byte for byte, a new current SSH CA, and a new prepared
 * one when G has a prepared CA without one. */
static int
ssh_init_build(const struct ct_cadir *s, const struct ct_group *g, struct ct_ca_content *fs,
    struct ct_err *err)
{
	int i, rc = CT_OK;

	if (ct_cadir_has(s, CT_CA_SSH_PUB))
		return ct_err_set(err, CT_EEXIST, "access group '%s' already has an SSH CA (%s/%s)",
		    g->name, s->where, s->names[CT_CA_SSH_PUB]);
	for (i = 0; rc == CT_OK && i < CT_CA_ITEMS; i++)
		if (ct_cadir_has(s, (enum ct_ca_item)i))
			rc = content_copy(fs, s, (enum ct_ca_item)i, (enum ct_ca_item)i, err);
	if (rc == CT_OK)
		rc = content_new_ssh(fs, g, CT_CA_SSH_KEY, CT_CA_SSH_PUB, err);
	if (rc == CT_OK && ct_cadir_has(s, CT_CA_NEXT_CERT) && !ct_cadir_has(s, CT_CA_NEXT_SSH_PUB))
		rc = content_new_ssh(fs, g, CT_CA_NEXT_SSH_KEY, CT_CA_NEXT_SSH_PUB, err);
	return rc;
}

int
ct_ca_ssh_init(struct ct_store *st, const struct ct_group *g, struct ct_err *err)
{
	struct ct_ca_content fs = {0};
	struct ct_cadir *s = NULL;
	int rc;

	if ((rc = ct_cadir_open(st, g->name, CT_CADIR_CHANGE, &s, err)) == CT_OK &&
	    (rc = ssh_init_build(s, g, &fs, err)) == CT_OK)
		rc = ct_cadir_replace(s, &fs, err);
	ct_ca_content_clear(&fs);
	ct_cadir_close(s);
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
