/* OpenSSH KRLs (PROTOCOL.krl): certificate serial sections. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sshcert.h"
#include "sshkrl.h"
#include "sshwire.h"

#define CTX "ssh krl"
#define KRL_MAGIC 0x5353484b524c0a00ULL /* "SSHKRL\n\0" */
#define KRL_FORMAT_VERSION 1
#define SECTION_CERTIFICATES 1
#define SECTION_EXPLICIT_KEY 2
#define SECTION_FINGERPRINT_SHA1 3
#define SECTION_SIGNATURE 4
#define SECTION_FINGERPRINT_SHA256 5
#define SECTION_EXTENSION 255
#define CERT_SERIAL_LIST 0x20
#define CERT_SERIAL_RANGE 0x21
#define CERT_SERIAL_BITMAP 0x22
#define CERT_KEY_ID 0x23
#define CERT_EXTENSION 0x39
#define RANGE_MIN 3 /* consecutive serials written as a range rather than listed */
#define KRL_MAX (64 * 1024 * 1024) /* bytes of a KRL we read */
#define BITMAP_MAX (1024 * 1024) /* bytes of a serial bitmap we read */

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The serial subsections of a certificate section for the N sorted,
 * distinct serials S. */
static void
put_serials(struct ct_sshw *w, const uint64_t *s, size_t n)
{
	struct ct_sshw list = {0};
	size_t i = 0, j;

	while (i < n) {
		for (j = i + 1; j < n && s[j] == s[j - 1] + 1; j++)
			;
		if (j - i >= RANGE_MIN) {
			ct_sshw_u8(w, CERT_SERIAL_RANGE);
			ct_sshw_u32(w, 16);
			ct_sshw_u64(w, s[i]);
			ct_sshw_u64(w, s[j - 1]);
		} else {
			for (; i < j; i++)
				ct_sshw_u64(&list, s[i]);
		}
		i = j;
	}
	if (list.len > 0) {
		ct_sshw_u8(w, CERT_SERIAL_LIST);
		ct_sshw_string(w, list.p, list.len);
	}
	w->failed |= list.failed;
	ct_sshw_wipe(&list);
}

/* The certificate section of CA. */
static int
put_ca(struct ct_sshw *w, const struct ct_sshkrl_ca *ca, struct ct_err *err)
{
	struct ct_sshw sec = {0};
	uint64_t *s;
	size_t i, n = 0;
	EVP_PKEY *key = NULL;

	if (ct_sshcert_key_from_blob(ca->ca_blob, ca->ca_blob_len, &key, err) != CT_OK) {
		ct_err_prefix(err, CTX ": CA key: ");
		return CT_EINVAL;
	}
	EVP_PKEY_free(key);
	if (ca->n_serials == 0)
		return CT_OK;
	if (ca->n_serials > CT_SSHKRL_SERIALS_MAX)
		return ct_err_set(
		    err, CT_EINVAL, CTX ": more than %d serials for one CA", CT_SSHKRL_SERIALS_MAX);
	s = malloc(ca->n_serials * sizeof(*s));
	if (s == NULL)
		return ct_err_set(err, CT_ENOMEM, CTX ": out of memory");
	memcpy(s, ca->serials, ca->n_serials * sizeof(*s));
	qsort(s, ca->n_serials, sizeof(*s), u64_cmp);
	if (s[0] == 0) {
		free(s);
		return ct_err_set(err, CT_EINVAL, CTX ": serial 0 cannot be revoked by serial");
	}
	for (i = 0; i < ca->n_serials; i++)
		if (n == 0 || s[n - 1] != s[i])
			s[n++] = s[i];
	ct_sshw_string(&sec, ca->ca_blob, ca->ca_blob_len);
	ct_sshw_string(&sec, NULL, 0); /* reserved */
	put_serials(&sec, s, n);
	free(s);
	ct_sshw_u8(w, SECTION_CERTIFICATES);
	ct_sshw_string(w, sec.p, sec.len);
	w->failed |= sec.failed;
	ct_sshw_wipe(&sec);
	return CT_OK;
}

int
ct_sshkrl_build(const struct ct_sshkrl_ca *cas, size_t n, uint64_t version, int64_t generated,
    const char *comment, unsigned char **out, size_t *out_len, struct ct_err *err)
{
	struct ct_sshw w = {0};
	size_t i;

	if (comment != NULL && strlen(comment) > CT_SSHCERT_FIELD_MAX)
		return ct_err_set(err, CT_EINVAL, CTX ": comment too long");
	ct_sshw_u64(&w, KRL_MAGIC);
	ct_sshw_u32(&w, KRL_FORMAT_VERSION);
	ct_sshw_u64(&w, version);
	ct_sshw_u64(&w, generated > 0 ? (uint64_t)generated : 0);
	ct_sshw_u64(&w, 0); /* flags */
	ct_sshw_string(&w, NULL, 0); /* reserved */
	ct_sshw_cstring(&w, comment != NULL ? comment : "");
	for (i = 0; i < n; i++)
		if (put_ca(&w, &cas[i], err) != CT_OK) {
			ct_sshw_wipe(&w);
			return err != NULL && err->code == CT_ENOMEM ? CT_ENOMEM : CT_EINVAL;
		}
	return ct_sshw_finish(&w, CTX, out, out_len, err);
}

/* An extension (string name, boolean critical, string contents) in R:
 * refused when critical. */
static int
skip_extension(struct ct_sshr *r, const char *what, struct ct_err *err)
{
	const unsigned char *p;
	size_t n;
	uint8_t crit;

	if (ct_sshr_string(r, what, KRL_MAX, &p, &n, err) != CT_OK ||
	    ct_sshr_u8(r, what, &crit, err) != CT_OK ||
	    ct_sshr_string(r, what, KRL_MAX, &p, &n, err) != CT_OK ||
	    ct_sshr_done(r, what, err) != CT_OK)
		return CT_EINVAL;
	if (crit != 0)
		return ct_err_set(
		    err, CT_EINVAL, CTX ": %s: a critical extension not known here", what);
	return CT_OK;
}

/* Is SERIAL set in the bitmap subsection in R? */
static int
bitmap_has(struct ct_sshr *r, uint64_t serial, int *hit, struct ct_err *err)
{
	const unsigned char *p;
	size_t n;
	uint64_t off, bit;

	if (ct_sshr_u64(r, "serial bitmap offset", &off, err) != CT_OK ||
	    ct_sshr_mpint(r, "serial bitmap", BITMAP_MAX, &p, &n, err) != CT_OK ||
	    ct_sshr_done(r, "serial bitmap", err) != CT_OK)
		return CT_EINVAL;
	if (serial < off)
		return CT_OK;
	bit = serial - off;
	if (bit / 8 < n && (p[n - 1 - bit / 8] >> (bit % 8) & 1) != 0)
		*hit = 1;
	return CT_OK;
}

/* One subsection of type T in R (its data): does it revoke SERIAL? */
static int
subsection_has(uint8_t t, struct ct_sshr *r, uint64_t serial, int *hit, struct ct_err *err)
{
	uint64_t a, b;

	switch (t) {
	case CERT_SERIAL_LIST:
		if (r->left % 8 != 0)
			return ct_err_set(err, CT_EINVAL, CTX ": serial list: %zu bytes", r->left);
		while (r->left > 0) {
			ct_sshr_u64(r, "serial", &a, NULL);
			*hit |= a == serial;
		}
		return CT_OK;
	case CERT_SERIAL_RANGE:
		if (ct_sshr_u64(r, "serial range", &a, err) != CT_OK ||
		    ct_sshr_u64(r, "serial range", &b, err) != CT_OK ||
		    ct_sshr_done(r, "serial range", err) != CT_OK)
			return CT_EINVAL;
		if (a > b)
			return ct_err_set(
			    err, CT_EINVAL, CTX ": serial range: minimum over maximum");
		*hit |= a <= serial && serial <= b;
		return CT_OK;
	case CERT_SERIAL_BITMAP: return bitmap_has(r, serial, hit, err);
	case CERT_KEY_ID: return CT_OK;
	case CERT_EXTENSION: return skip_extension(r, "certificate extension", err);
	}
	return ct_err_set(err, CT_EINVAL, CTX ": certificate subsection type 0x%02x not known", t);
}

/* A certificate section in R: does it revoke SERIAL of CA? */
static int
cert_section_has(struct ct_sshr *r, const unsigned char *ca, size_t ca_len, uint64_t serial,
    int *revoked, struct ct_err *err)
{
	const unsigned char *key, *p;
	size_t key_len, n;
	struct ct_sshr sub;
	uint8_t t;
	int hit = 0;

	if (ct_sshr_string(r, "CA key", CT_SSHCERT_BLOB_MAX, &key, &key_len, err) != CT_OK ||
	    ct_sshr_string(r, "reserved", KRL_MAX, &p, &n, err) != CT_OK)
		return CT_EINVAL;
	while (r->left > 0) {
		if (ct_sshr_u8(r, "subsection type", &t, err) != CT_OK ||
		    ct_sshr_string(r, "subsection", KRL_MAX, &p, &n, err) != CT_OK)
			return CT_EINVAL;
		ct_sshr_init(&sub, p, n, CTX);
		if (subsection_has(t, &sub, serial, &hit, err) != CT_OK)
			return CT_EINVAL;
	}
	if (hit && (key_len == 0 || (key_len == ca_len && memcmp(key, ca, ca_len) == 0)))
		*revoked = 1;
	return CT_OK;
}

static int
read_header(struct ct_sshr *r, struct ct_err *err)
{
	uint64_t magic, v;
	uint32_t format;
	const unsigned char *p;
	size_t n;

	if (ct_sshr_u64(r, "magic", &magic, err) != CT_OK)
		return CT_EINVAL;
	if (magic != KRL_MAGIC)
		return ct_err_set(err, CT_EINVAL, CTX ": not a KRL (no SSHKRL magic)");
	if (ct_sshr_u32(r, "format version", &format, err) != CT_OK)
		return CT_EINVAL;
	if (format != KRL_FORMAT_VERSION)
		return ct_err_set(err, CT_EINVAL, CTX ": format version %u not known", format);
	if (ct_sshr_u64(r, "version", &v, err) != CT_OK ||
	    ct_sshr_u64(r, "generated date", &v, err) != CT_OK ||
	    ct_sshr_u64(r, "flags", &v, err) != CT_OK ||
	    ct_sshr_string(r, "reserved", KRL_MAX, &p, &n, err) != CT_OK ||
	    ct_sshr_string(r, "comment", KRL_MAX, &p, &n, err) != CT_OK)
		return CT_EINVAL;
	return CT_OK;
}

int
ct_sshkrl_check(const unsigned char *krl, size_t len, const unsigned char *ca_blob,
    size_t ca_blob_len, uint64_t serial, int *revoked, struct ct_err *err)
{
	struct ct_sshr r, sec;
	const unsigned char *p;
	size_t n;
	uint8_t t;
	int hit = 0, rc = CT_OK;

	if (len > KRL_MAX)
		return ct_err_set(err, CT_EINVAL, CTX ": %zu bytes is too long", len);
	ct_sshr_init(&r, krl, len, CTX);
	if (read_header(&r, err) != CT_OK)
		return CT_EINVAL;
	while (rc == CT_OK && r.left > 0) {
		if (ct_sshr_u8(&r, "section type", &t, err) != CT_OK ||
		    ct_sshr_string(&r, "section", KRL_MAX, &p, &n, err) != CT_OK)
			return CT_EINVAL;
		ct_sshr_init(&sec, p, n, CTX);
		if (t == SECTION_CERTIFICATES)
			rc = cert_section_has(&sec, ca_blob, ca_blob_len, serial, &hit, err);
		else if (t == SECTION_EXTENSION)
			rc = skip_extension(&sec, "extension", err);
		else if (t != SECTION_EXPLICIT_KEY && t != SECTION_FINGERPRINT_SHA1 &&
		    t != SECTION_FINGERPRINT_SHA256)
			rc = ct_err_set(err, CT_EINVAL, CTX ": section type %u not read here", t);
	}
	if (rc != CT_OK)
		return CT_EINVAL;
	*revoked = hit;
	return CT_OK;
}
