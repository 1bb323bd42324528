#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sshwire.h"

void
ct_sshr_init(struct ct_sshr *r, const unsigned char *p, size_t len, const char *ctx)
{
	r->p = p;
	r->left = p != NULL ? len : 0;
	r->ctx = ctx;
}

static int
need(const struct ct_sshr *r, const char *what, size_t n, struct ct_err *err)
{
	if (r->left < n)
		return ct_err_set(err, CT_EINVAL, "%s: %s: truncated (%zu bytes needed, %zu left)",
		    r->ctx, what, n, r->left);
	return CT_OK;
}

int
ct_sshr_u8(struct ct_sshr *r, const char *what, uint8_t *v, struct ct_err *err)
{
	if (need(r, what, 1, err) != CT_OK)
		return CT_EINVAL;
	*v = r->p[0];
	r->p++;
	r->left--;
	return CT_OK;
}

static uint64_t
get_be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int
ct_sshr_u32(struct ct_sshr *r, const char *what, uint32_t *v, struct ct_err *err)
{
	if (need(r, what, 4, err) != CT_OK)
		return CT_EINVAL;
	*v = (uint32_t)get_be(r->p, 4);
	r->p += 4;
	r->left -= 4;
	return CT_OK;
}

int
ct_sshr_u64(struct ct_sshr *r, const char *what, uint64_t *v, struct ct_err *err)
{
	if (need(r, what, 8, err) != CT_OK)
		return CT_EINVAL;
	*v = get_be(r->p, 8);
	r->p += 8;
	r->left -= 8;
	return CT_OK;
}

int
ct_sshr_string(struct ct_sshr *r, const char *what, size_t max, const unsigned char **p,
    size_t *len, struct ct_err *err)
{
	uint64_t n;

	if (need(r, what, 4, err) != CT_OK)
		return CT_EINVAL;
	n = get_be(r->p, 4);
	if (n > r->left - 4)
		return ct_err_set(err, CT_EINVAL,
		    "%s: %s: length %llu exceeds the blob (%zu bytes left)", r->ctx, what,
		    (unsigned long long)n, r->left - 4);
	if (n > max)
		return ct_err_set(err, CT_EINVAL, "%s: %s: length %llu is over the limit of %zu",
		    r->ctx, what, (unsigned long long)n, max);
	*p = r->p + 4;
	*len = (size_t)n;
	r->p += 4 + n;
	r->left -= 4 + n;
	return CT_OK;
}

int
ct_sshr_cstring(struct ct_sshr *r, const char *what, size_t max, char **s, struct ct_err *err)
{
	struct ct_sshr save = *r;
	const unsigned char *p;
	size_t n;
	char *t;

	if (ct_sshr_string(r, what, max, &p, &n, err) != CT_OK)
		return CT_EINVAL;
	if (memchr(p, '\0', n) != NULL) {
		*r = save;
		return ct_err_set(err, CT_EINVAL, "%s: %s: holds a NUL byte", r->ctx, what);
	}
	t = malloc(n + 1);
	if (t == NULL) {
		*r = save;
		return ct_err_set(err, CT_ENOMEM, "%s: %s: out of memory", r->ctx, what);
	}
	memcpy(t, p, n);
	t[n] = '\0';
	*s = t;
	return CT_OK;
}

int
ct_sshr_expect(struct ct_sshr *r, const char *what, const char *s, struct ct_err *err)
{
	struct ct_sshr save = *r;
	const unsigned char *p;
	size_t n;

	if (ct_sshr_string(r, what, CT_SSHW_MAX, &p, &n, err) != CT_OK)
		return CT_EINVAL;
	if (n != strlen(s) || memcmp(p, s, n) != 0) {
		*r = save;
		return ct_err_set(err, CT_EINVAL, "%s: %s: is not \"%s\"", r->ctx, what, s);
	}
	return CT_OK;
}

int
ct_sshr_mpint(struct ct_sshr *r, const char *what, size_t max, const unsigned char **p, size_t *len,
    struct ct_err *err)
{
	struct ct_sshr save = *r;
	const unsigned char *q;
	size_t n;

	if (ct_sshr_string(r, what, max + 1, &q, &n, err) != CT_OK)
		return CT_EINVAL;
	if (n > 0 && (q[0] & 0x80) != 0) {
		*r = save;
		return ct_err_set(err, CT_EINVAL, "%s: %s: is negative", r->ctx, what);
	}
	if (n > 0 && q[0] == 0 && (n == 1 || (q[1] & 0x80) == 0)) {
		*r = save;
		return ct_err_set(
		    err, CT_EINVAL, "%s: %s: is not in its shortest form", r->ctx, what);
	}
	if (n > 0 && q[0] == 0) {
		q++;
		n--;
	}
	if (n > max) {
		*r = save;
		return ct_err_set(err, CT_EINVAL, "%s: %s: %zu bytes is over the limit of %zu",
		    r->ctx, what, n, max);
	}
	*p = q;
	*len = n;
	return CT_OK;
}

int
ct_sshr_done(const struct ct_sshr *r, const char *what, struct ct_err *err)
{
	if (r->left != 0)
		return ct_err_set(
		    err, CT_EINVAL, "%s: %s: %zu bytes after the end", r->ctx, what, r->left);
	return CT_OK;
}

static int
reserve(struct ct_sshw *w, size_t n)
{
	size_t cap;
	unsigned char *p;

	if (w->failed)
		return -1;
	if (n > CT_SSHW_MAX - w->len) {
		w->failed = 1;
		return -1;
	}
	if (w->len + n <= w->cap)
		return 0;
	cap = w->cap != 0 ? w->cap : 256;
	while (cap < w->len + n)
		cap *= 2;
	p = malloc(cap);
	if (p == NULL) {
		w->failed = 1;
		return -1;
	}
	if (w->p != NULL) {
		memcpy(p, w->p, w->len);
		OPENSSL_cleanse(w->p, w->cap);
		free(w->p);
	}
	w->p = p;
	w->cap = cap;
	return 0;
}

void
ct_sshw_raw(struct ct_sshw *w, const void *p, size_t n)
{
	if (reserve(w, n) != 0)
		return;
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void
put_be(struct ct_sshw *w, uint64_t v, size_t n)
{
	unsigned char b[8];
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	ct_sshw_raw(w, b, n);
}

void
ct_sshw_u8(struct ct_sshw *w, uint8_t v)
{
	put_be(w, v, 1);
}

void
ct_sshw_u32(struct ct_sshw *w, uint32_t v)
{
	put_be(w, v, 4);
}

void
ct_sshw_u64(struct ct_sshw *w, uint64_t v)
{
	put_be(w, v, 8);
}

void
ct_sshw_string(struct ct_sshw *w, const void *p, size_t n)
{
	if (n > CT_SSHW_MAX) {
		w->failed = 1;
		return;
	}
	put_be(w, n, 4);
	ct_sshw_raw(w, p, n);
}

void
ct_sshw_cstring(struct ct_sshw *w, const char *s)
{
	ct_sshw_string(w, s, strlen(s));
}

void
ct_sshw_mpint(struct ct_sshw *w, const unsigned char *p, size_t n)
{
	static const unsigned char zero = 0;

	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n > 0 && (p[0] & 0x80) != 0) {
		put_be(w, n + 1, 4);
		ct_sshw_raw(w, &zero, 1);
		ct_sshw_raw(w, p, n);
		return;
	}
	ct_sshw_string(w, p, n);
}

int
ct_sshw_finish(
    struct ct_sshw *w, const char *ctx, unsigned char **out, size_t *len, struct ct_err *err)
{
	if (w->failed || w->p == NULL) {
		ct_sshw_wipe(w);
		return ct_err_set(
		    err, CT_ENOMEM, "%s: out of memory or over %d bytes", ctx, CT_SSHW_MAX);
	}
	*out = w->p;
	*len = w->len;
	memset(w, 0, sizeof(*w));
	return CT_OK;
}

void
ct_sshw_wipe(struct ct_sshw *w)
{
	if (w->p != NULL) {
		OPENSSL_cleanse(w->p, w->cap);
		free(w->p);
	}
	memset(w, 0, sizeof(*w));
}
