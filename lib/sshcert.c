/* OpenSSH certificates (PROTOCOL.certkeys): signing, parsing, verifying,
 * checking. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sshcert.h"
#include "sshkey.h"
#include "sshsig.h"
#include "sshwire.h"
#include "util.h"

#define CTX "ssh certificate"
#define NONCE_MAX 1024 /* bytes of a nonce we accept */

static int
check_text(const char *what, const char *s, struct ct_err *err)
{
	if (s == NULL)
		return ct_err_set(err, CT_EINVAL, CTX ": %s: missing", what);
	if (strlen(s) > CT_SSHCERT_FIELD_MAX)
		return ct_err_set(
		    err, CT_EINVAL, CTX ": %s: longer than %d bytes", what, CT_SSHCERT_FIELD_MAX);
	return CT_OK;
}

static int
opt_cmp(const void *a, const void *b)
{
	const struct ct_sshcert_opt *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Write the N options of OPTS (WHAT names them) sorted by name as one
 * string of (string name, string data) pairs. */
static int
put_opts(struct ct_sshw *w, const char *what, const struct ct_sshcert_opt *opts, size_t n,
    struct ct_err *err)
{
	const struct ct_sshcert_opt *sorted[CT_SSHCERT_OPTIONS_MAX];
	struct ct_sshw inner = {0}, data = {0};
	char text[128];
	size_t i;

	if (n > CT_SSHCERT_OPTIONS_MAX)
		return ct_err_set(
		    err, CT_EINVAL, CTX ": %s: more than %d", what, CT_SSHCERT_OPTIONS_MAX);
	for (i = 0; i < n; i++) {
		if (check_text(what, opts[i].name, err) != CT_OK ||
		    (opts[i].value != NULL && check_text(what, opts[i].value, err) != CT_OK))
			return CT_EINVAL;
		sorted[i] = &opts[i];
	}
	if (n > 0)
		qsort(sorted, n, sizeof(sorted[0]), opt_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			ct_sshw_wipe(&inner);
			ct_sshw_wipe(&data);
			return ct_err_set(err, CT_EINVAL, CTX ": %s: \"%s\" given twice", what,
			    ct_text_printable(
			        sorted[i]->name, strlen(sorted[i]->name), 0, text, sizeof(text)));
		}
		ct_sshw_cstring(&inner, sorted[i]->name);
		data.len = 0;
		if (sorted[i]->value != NULL)
			ct_sshw_cstring(&data, sorted[i]->value);
		ct_sshw_string(&inner, data.p, data.len);
	}
	inner.failed |= data.failed;
	ct_sshw_string(w, inner.p, inner.len);
	w->failed |= inner.failed;
	ct_sshw_wipe(&data);
	ct_sshw_wipe(&inner);
	return CT_OK;
}

static int
put_principals(struct ct_sshw *w, const struct ct_sshcert_fields *f, struct ct_err *err)
{
	struct ct_sshw inner = {0};
	size_t i;

	if (f->n_principals > CT_SSHCERT_PRINCIPALS_MAX)
		return ct_err_set(
		    err, CT_EINVAL, CTX ": principals: more than %d", CT_SSHCERT_PRINCIPALS_MAX);
	for (i = 0; i < f->n_principals; i++) {
		if (check_text("principal", f->principals[i], err) != CT_OK) {
			ct_sshw_wipe(&inner);
			return CT_EINVAL;
		}
		ct_sshw_cstring(&inner, f->principals[i]);
	}
	ct_sshw_string(w, inner.p, inner.len);
	w->failed |= inner.failed;
	ct_sshw_wipe(&inner);
	return CT_OK;
}

/* Everything the signature covers. */
static int
put_body(struct ct_sshw *w, const struct ct_sshcert_fields *f, const unsigned char *nonce,
    size_t nonce_len, const unsigned char *ca_blob, size_t ca_len, struct ct_err *err)
{
	const struct ct_sshkt *kt = ct_sshkt_of(f->key);

	if (kt == NULL)
		return ct_err_set(err, CT_EINVAL, CTX ": the subject key is of a type SSH lacks");
	if (f->type != CT_SSHCERT_USER && f->type != CT_SSHCERT_HOST)
		return ct_err_set(
		    err, CT_EINVAL, CTX ": type %u is neither user nor host", f->type);
	if (check_text("key id", f->key_id, err) != CT_OK)
		return CT_EINVAL;
	if (f->valid_after >= f->valid_before)
		return ct_err_set(err, CT_EINVAL, CTX ": valid after is not before valid before");
	ct_sshw_cstring(w, kt->cert_name);
	ct_sshw_string(w, nonce, nonce_len);
	if (ct_sshkey_put(w, kt, f->key, err) != CT_OK)
		return CT_ECRYPTO;
	ct_sshw_u64(w, f->serial);
	ct_sshw_u32(w, f->type);
	ct_sshw_cstring(w, f->key_id);
	if (put_principals(w, f, err) != CT_OK)
		return CT_EINVAL;
	ct_sshw_u64(w, f->valid_after);
	ct_sshw_u64(w, f->valid_before);
	if (put_opts(w, "critical options", f->options, f->n_options, err) != CT_OK ||
	    put_opts(w, "extensions", f->extensions, f->n_extensions, err) != CT_OK)
		return CT_EINVAL;
	ct_sshw_string(w, NULL, 0); /* reserved */
	ct_sshw_string(w, ca_blob, ca_len);
	return CT_OK;
}

int
ct_sshcert_sign(const struct ct_sshcert_fields *f, EVP_PKEY *ca, const char *comment,
    unsigned char **blob, size_t *blob_len, char **line, struct ct_err *err)
{
	unsigned char nonce[CT_SSHCERT_NONCE_LEN], *ca_blob = NULL, *sig = NULL, *out = NULL;
	size_t ca_len = 0, sig_len = 0, out_len = 0;
	struct ct_sshw w = {0};
	char *l = NULL;
	int rc;

	if (f->nonce != NULL && (f->nonce_len == 0 || f->nonce_len > 64))
		return ct_err_set(err, CT_EINVAL, CTX ": nonce: %zu bytes", f->nonce_len);
	if (f->nonce == NULL && RAND_bytes(nonce, sizeof(nonce)) != 1)
		return ct_err_set(err, CT_ECRYPTO, CTX ": no random bytes for the nonce");
	rc = ct_sshcert_key_to_blob(ca, &ca_blob, &ca_len, err);
	if (rc == CT_OK)
		rc = put_body(&w, f, f->nonce != NULL ? f->nonce : nonce,
		    f->nonce != NULL ? f->nonce_len : sizeof(nonce), ca_blob, ca_len, err);
	if (rc == CT_OK && !w.failed)
		rc = ct_sshsig_sign(ca, w.p, w.len, &sig, &sig_len, err);
	if (rc != CT_OK)
		goto out;
	ct_sshw_string(&w, sig, sig_len);
	rc = ct_sshw_finish(&w, CTX, &out, &out_len, err);
	if (rc == CT_OK && line != NULL)
		rc = ct_sshcert_line_format(out, out_len, comment, &l, err);
	if (rc != CT_OK)
		goto out;
	*blob = out;
	*blob_len = out_len;
	out = NULL;
	if (line != NULL)
		*line = l;
out:
	free(out);
	free(sig);
	free(ca_blob);
	ct_sshw_wipe(&w);
	return rc;
}

/* Read a string named WHAT holding a plain key blob of a type known here
 * (its fields checked, no key made) into *P and *N. */
static int
read_key_blob(
    struct ct_sshr *r, const char *what, const unsigned char **p, size_t *n, struct ct_err *err)
{
	struct ct_sshr k, save = *r;
	const unsigned char *name;
	size_t len;
	const struct ct_sshkt *kt;

	if (ct_sshr_string(r, what, CT_SSHCERT_BLOB_MAX, p, n, err) != CT_OK)
		return CT_EINVAL;
	ct_sshr_init(&k, *p, *n, r->ctx);
	if (ct_sshr_string(&k, what, 64, &name, &len, err) != CT_OK)
		goto bad;
	kt = ct_sshkt_by_name(name, len, 0);
	if (kt == NULL) {
		ct_err_set(err, CT_EINVAL, "%s: %s: not a plain key type known here", r->ctx, what);
		goto bad;
	}
	if (ct_sshkey_read(&k, kt, NULL, err) == CT_OK && ct_sshr_done(&k, what, err) == CT_OK)
		return CT_OK;
bad:
	*r = save;
	return CT_EINVAL;
}

/* One option of the list in R into O; PREV is the name before it (or NULL). */
static int
read_opt(struct ct_sshr *r, const char *what, const char *prev, struct ct_sshcert_opt *o,
    struct ct_err *err)
{
	struct ct_sshr d;
	const unsigned char *p;
	size_t n;
	char *name = NULL, *value;

	if (ct_sshr_cstring(r, what, CT_SSHCERT_FIELD_MAX, &name, err) != CT_OK)
		return CT_EINVAL;
	o->name = name;
	if (ct_sshr_string(r, what, CT_SSHCERT_BLOB_MAX, &o->data, &o->data_len, err) != CT_OK)
		return CT_EINVAL;
	if (prev != NULL && strcmp(prev, name) >= 0)
		return ct_err_set(
		    err, CT_EINVAL, "%s: %s: not sorted by name, or a name twice", r->ctx, what);
	ct_sshr_init(&d, o->data, o->data_len, r->ctx);
	if (o->data_len >= 4 && ct_sshr_string(&d, what, CT_SSHCERT_FIELD_MAX, &p, &n, NULL) == 0 &&
	    d.left == 0 && memchr(p, '\0', n) == NULL) {
		value = malloc(n + 1);
		if (value == NULL)
			return ct_err_set(err, CT_ENOMEM, "%s: %s: out of memory", r->ctx, what);
		memcpy(value, p, n);
		value[n] = '\0';
		o->value = value;
	}
	return CT_OK;
}

/* The string named WHAT in R: a list of options into *OPTS, *N. */
static int
read_opts(struct ct_sshr *r, const char *what, struct ct_sshcert_opt **opts, size_t *n,
    struct ct_err *err)
{
	struct ct_sshr list;
	const unsigned char *p;
	size_t len;

	if (ct_sshr_string(r, what, CT_SSHCERT_BLOB_MAX, &p, &len, err) != CT_OK)
		return CT_EINVAL;
	if (len == 0)
		return CT_OK;
	*opts = calloc(CT_SSHCERT_OPTIONS_MAX, sizeof(**opts));
	if (*opts == NULL)
		return ct_err_set(err, CT_ENOMEM, "%s: %s: out of memory", r->ctx, what);
	ct_sshr_init(&list, p, len, r->ctx);
	while (list.left > 0) {
		if (*n == CT_SSHCERT_OPTIONS_MAX)
			return ct_err_set(err, CT_EINVAL, "%s: %s: more than %d", r->ctx, what,
			    CT_SSHCERT_OPTIONS_MAX);
		if (read_opt(&list, what, *n > 0 ? (*opts)[*n - 1].name : NULL, &(*opts)[*n],
		        err) != CT_OK) {
			(*n)++; /* so that its name and value are freed */
			return CT_EINVAL;
		}
		(*n)++;
	}
	return CT_OK;
}

static int
read_principals(struct ct_sshr *r, struct ct_sshcert *c, struct ct_err *err)
{
	struct ct_sshr list;
	const unsigned char *p;
	size_t len;

	if (ct_sshr_string(r, "principals", CT_SSHCERT_BLOB_MAX, &p, &len, err) != CT_OK)
		return CT_EINVAL;
	if (len == 0)
		return CT_OK;
	c->principals = calloc(CT_SSHCERT_PRINCIPALS_MAX, sizeof(*c->principals));
	if (c->principals == NULL)
		return ct_err_set(err, CT_ENOMEM, CTX ": principals: out of memory");
	ct_sshr_init(&list, p, len, r->ctx);
	while (list.left > 0) {
		if (c->n_principals == CT_SSHCERT_PRINCIPALS_MAX)
			return ct_err_set(err, CT_EINVAL, CTX ": principals: more than %d",
			    CT_SSHCERT_PRINCIPALS_MAX);
		if (ct_sshr_cstring(&list, "principal", CT_SSHCERT_FIELD_MAX,
		        &c->principals[c->n_principals], err) != CT_OK)
			return CT_EINVAL;
		c->n_principals++;
	}
	return CT_OK;
}

/* The type, nonce and subject key at the start of the certificate in R. */
static int
read_head(struct ct_sshr *r, struct ct_sshcert *c, struct ct_err *err)
{
	const unsigned char *name, *start;
	const struct ct_sshkt *kt;
	size_t n;
	struct ct_sshw kb = {0};

	if (ct_sshr_string(r, "type", 64, &name, &n, err) != CT_OK)
		return CT_EINVAL;
	kt = ct_sshkt_by_name(name, n, 1);
	if (kt == NULL)
		return ct_err_set(err, CT_EINVAL, CTX ": type: not a certificate type known here");
	c->cert_type = strdup(kt->cert_name);
	if (c->cert_type == NULL)
		return ct_err_set(err, CT_ENOMEM, CTX ": out of memory");
	if (ct_sshr_string(r, "nonce", NONCE_MAX, &c->nonce, &c->nonce_len, err) != CT_OK)
		return CT_EINVAL;
	start = r->p;
	if (ct_sshkey_read(r, kt, NULL, err) != CT_OK)
		return CT_EINVAL;
	ct_sshw_cstring(&kb, kt->name);
	ct_sshw_raw(&kb, start, (size_t)(r->p - start));
	return ct_sshw_finish(&kb, CTX, &c->key_blob, &c->key_blob_len, err);
}

static int
read_cert(struct ct_sshr *r, struct ct_sshcert *c, struct ct_err *err)
{
	const unsigned char *p;
	size_t n;

	if (read_head(r, c, err) != CT_OK || ct_sshr_u64(r, "serial", &c->serial, err) != CT_OK ||
	    ct_sshr_u32(r, "type", &c->type, err) != CT_OK)
		return CT_EINVAL;
	if (c->type != CT_SSHCERT_USER && c->type != CT_SSHCERT_HOST)
		return ct_err_set(
		    err, CT_EINVAL, CTX ": type: %u is neither user nor host", c->type);
	if (ct_sshr_cstring(r, "key id", CT_SSHCERT_FIELD_MAX, &c->key_id, err) != CT_OK ||
	    read_principals(r, c, err) != CT_OK ||
	    ct_sshr_u64(r, "valid after", &c->valid_after, err) != CT_OK ||
	    ct_sshr_u64(r, "valid before", &c->valid_before, err) != CT_OK ||
	    read_opts(r, "critical options", &c->options, &c->n_options, err) != CT_OK ||
	    read_opts(r, "extensions", &c->extensions, &c->n_extensions, err) != CT_OK ||
	    ct_sshr_string(r, "reserved", CT_SSHCERT_BLOB_MAX, &p, &n, err) != CT_OK ||
	    read_key_blob(r, "signature key", &c->ca_blob, &c->ca_blob_len, err) != CT_OK)
		return CT_EINVAL;
	c->signed_len = (size_t)(r->p - c->blob);
	if (ct_sshr_string(r, "signature", CT_SSHCERT_BLOB_MAX, &c->sig, &c->sig_len, err) !=
	        CT_OK ||
	    ct_sshr_done(r, "signature", err) != CT_OK)
		return CT_EINVAL;
	return CT_OK;
}

int
ct_sshcert_parse(const unsigned char *blob, size_t len, struct ct_sshcert *c, struct ct_err *err)
{
	struct ct_sshr r;
	int rc;

	memset(c, 0, sizeof(*c));
	if (blob == NULL || len == 0)
		return ct_err_set(err, CT_EINVAL, CTX ": empty");
	if (len > CT_SSHCERT_BLOB_MAX)
		return ct_err_set(err, CT_EINVAL, CTX ": %zu bytes is over the limit of %d", len,
		    CT_SSHCERT_BLOB_MAX);
	c->blob = malloc(len);
	if (c->blob == NULL)
		return ct_err_set(err, CT_ENOMEM, CTX ": out of memory");
	memcpy(c->blob, blob, len);
	c->blob_len = len;
	ct_sshr_init(&r, c->blob, len, CTX);
	rc = read_cert(&r, c, err);
	if (rc != CT_OK) {
		ct_sshcert_free(c);
		return rc == CT_ENOMEM || (err != NULL && err->code == CT_ENOMEM) ? CT_ENOMEM
		                                                                  : CT_EINVAL;
	}
	return CT_OK;
}

int
ct_sshcert_verify(const struct ct_sshcert *c, struct ct_err *err)
{
	int rc = ct_sshsig_verify(
	    c->ca_blob, c->ca_blob_len, c->sig, c->sig_len, c->blob, c->signed_len, err);

	if (rc != CT_OK)
		ct_err_prefix(err, CTX ": ");
	return rc;
}

/* A certificate time for a message: above INT64_MAX (OpenSSH's "forever"
 * is 2^64-1) it stays INT64_MAX rather than turning negative. */
static int64_t
time_for_text(uint64_t t)
{
	return t > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)t;
}

static int
check_time(const struct ct_sshcert *c, int64_t now, int64_t skew, struct ct_err *err)
{
	uint64_t t, s = skew > 0 ? (uint64_t)skew : 0;
	char a[32], b[32];

	if (now < 0)
		return ct_err_set(err, CT_EPERM, CTX ": no current time");
	t = (uint64_t)now;
	if (c->valid_after > t && c->valid_after - t > s)
		return ct_err_set(err, CT_EPERM, CTX ": not valid before %s",
		    ct_time_utc(time_for_text(c->valid_after), CT_TIME_ISO, a, sizeof(a)));
	if (t >= c->valid_before && t - c->valid_before >= s)
		return ct_err_set(err, CT_EPERM, CTX ": expired at %s",
		    ct_time_utc(time_for_text(c->valid_before), CT_TIME_ISO, b, sizeof(b)));
	return CT_OK;
}

int
ct_sshcert_check(const struct ct_sshcert *c, uint32_t type, const char *principal, int64_t now,
    int64_t skew, struct ct_err *err)
{
	char text[128];
	size_t i;

	if (c->type != type)
		return ct_err_set(err, CT_EPERM, CTX ": a %s certificate, not a %s one",
		    c->type == CT_SSHCERT_USER ? "user" : "host",
		    type == CT_SSHCERT_USER ? "user" : "host");
	if (check_time(c, now, skew, err) != CT_OK)
		return CT_EPERM;
	if (principal == NULL)
		return CT_OK;
	for (i = 0; i < c->n_principals; i++)
		if (strcmp(c->principals[i], principal) == 0)
			return CT_OK;
	return ct_err_set(err, CT_EPERM, CTX ": \"%s\" is not among its %zu principals",
	    ct_text_printable(principal, strlen(principal), 0, text, sizeof(text)),
	    c->n_principals);
}

const char *
ct_sshcert_unknown_option(const struct ct_sshcert *c, const char *const *known, size_t n)
{
	size_t i, j;

	for (i = 0; i < c->n_options; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(c->options[i].name, known[j]) == 0)
				break;
		if (j == n)
			return c->options[i].name;
	}
	return NULL;
}

const char *
ct_sshcert_opt_get(const struct ct_sshcert_opt *opts, size_t n, const char *name, int *found)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(opts[i].name, name) == 0) {
			if (found != NULL)
				*found = 1;
			return opts[i].value;
		}
	if (found != NULL)
		*found = 0;
	return NULL;
}

static void
free_opts(struct ct_sshcert_opt *opts, size_t n)
{
	size_t i;

	for (i = 0; opts != NULL && i < n; i++) {
		free((char *)opts[i].name);
		free((char *)opts[i].value);
	}
	free(opts);
}

void
ct_sshcert_free(struct ct_sshcert *c)
{
	size_t i;

	for (i = 0; c->principals != NULL && i < c->n_principals; i++)
		free(c->principals[i]);
	free(c->principals);
	free_opts(c->options, c->n_options);
	free_opts(c->extensions, c->n_extensions);
	free(c->key_id);
	free(c->key_blob);
	free(c->cert_type);
	free(c->blob);
	memset(c, 0, sizeof(*c));
}
