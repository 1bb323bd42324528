/* The LDAP backend's local cache of what the certificate step reads often:
 * each access group's public CA items and its CRL, as read, with the time
 * read (store_ldap_ca.h).  STORE/cache/GROUP.KIND holds the line
 * "certtoken-cache 2 SECONDS KEY\n" and then the bytes; KEY is the SHA-256
 * (hex) of what the bytes belong to: the group, the kind, store.ldap.base
 * and the read URIs.  A file whose KEY is not the one expected (renamed
 * from another group's, or kept from another base or directory) is not
 * served, nor one in a STORE/cache that is not safe (ct_store_check_dir). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store_ldap_ca.h"

#define CACHE_MAGIC "certtoken-cache 2 "
#define KEY_LEN 64 /* SHA-256 in hex */
#define CACHE_MAX (64 * 1024 * 1024) /* a cached CRL of many revocations */

/* STORE/cache and STORE/cache/GROUP.KIND, in new strings. */
static int
cache_paths(
    const struct ct_ldap_store *ls, const char *group, const char *kind, char **dir, char **file)
{
	size_t len;

	*file = NULL;
	if ((*dir = ct_path_join(ls->path, "cache")) == NULL)
		return CT_ENOMEM;
	len = strlen(*dir) + strlen(group) + strlen(kind) + 3;
	if ((*file = malloc(len)) == NULL)
		return CT_ENOMEM;
	snprintf(*file, len, "%s/%s.%s", *dir, group, kind);
	return CT_OK;
}

/* KEY: what GROUP's KIND in LS's cache belongs to (see above). */
static int
cache_key(
    const struct ct_ldap_store *ls, const char *group, const char *kind, char key[KEY_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	ok = ok && EVP_DigestUpdate(ctx, group, strlen(group) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, kind, strlen(kind) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, ls->base_dn, strlen(ls->base_dn) + 1) == 1;
	for (i = 0; ok && i < ls->read_s.n_uris; i++)
		ok = EVP_DigestUpdate(ctx, ls->read_s.uris[i], strlen(ls->read_s.uris[i]) + 1) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == sizeof(md);
	EVP_MD_CTX_free(ctx);
	for (i = 0; ok && i < sizeof(md); i++)
		snprintf(key + 2 * i, 3, "%02x", md[i]);
	return ok ? CT_OK : CT_EIO;
}

/* Does the header HEAD (LEN bytes up to its newline) say it is KEY's, and
 * when it was read (*AT)? */
static int
header_ok(const char *head, size_t len, const char *key, int64_t *at)
{
	size_t m = sizeof(CACHE_MAGIC) - 1;
	char *end;

	if (len < m || memcmp(head, CACHE_MAGIC, m) != 0)
		return 0;
	*at = strtoll(head + m, &end, 10);
	return *at > 0 && end < head + len && *end == ' ' &&
	    (size_t)(head + len - end - 1) == KEY_LEN && memcmp(end + 1, key, KEY_LEN) == 0;
}

/* The cached bytes of GROUP's KIND and when they were read; CT_ENOENT when
 * there are none (or they are not a cache file). */
static int
cache_get(const struct ct_ldap_store *ls, const char *group, const char *kind, unsigned char **data,
    size_t *len, int64_t *at)
{
	struct ct_open_policy pol = ct_store_policy(CACHE_MAX);
	unsigned char *buf = NULL;
	char *dir = NULL, *file = NULL, *nl, key[KEY_LEN + 1];
	size_t n = 0, head;
	int rc;

	if ((rc = cache_key(ls, group, kind, key)) == CT_OK &&
	    (rc = cache_paths(ls, group, kind, &dir, &file)) == CT_OK &&
	    (rc = ct_store_check_dir(dir, NULL)) == CT_OK &&
	    (rc = ct_safe_read(file, &pol, &buf, &n, NULL)) == CT_OK) {
		nl = memchr(buf, '\n', n);
		if (nl == NULL || !header_ok((char *)buf, (size_t)(nl - (char *)buf), key, at))
			rc = CT_ENOENT;
		else {
			head = (size_t)(nl + 1 - (char *)buf);
			memmove(buf, buf + head, n - head + 1);
			*data = buf;
			*len = n - head;
			buf = NULL;
		}
	}
	free(buf);
	free(dir);
	free(file);
	return rc == CT_OK ? CT_OK : CT_ENOENT;
}

/* Keep DATA as GROUP's KIND read AT; a failure only loses the cache. */
static void
cache_put(const struct ct_ldap_store *ls, const char *group, const char *kind,
    const unsigned char *data, size_t len, int64_t at)
{
	char *dir = NULL, *file = NULL, head[64 + KEY_LEN], key[KEY_LEN + 1];
	unsigned char *buf = NULL;
	int n;

	if (cache_key(ls, group, kind, key) != CT_OK)
		return;
	n = snprintf(head, sizeof(head), CACHE_MAGIC "%" PRId64 " %s\n", at, key);
	if (cache_paths(ls, group, kind, &dir, &file) == CT_OK &&
	    ct_store_mkdir(dir, NULL) == CT_OK && (buf = malloc((size_t)n + len)) != NULL) {
		memcpy(buf, head, (size_t)n);
		memcpy(buf + n, data, len);
		(void)ct_file_write_atomic(file, buf, (size_t)n + len, 0600, 0, NULL);
	}
	free(buf);
	free(dir);
	free(file);
}

/* Forget GROUP's KIND: the directory says it has none. */
static void
cache_drop(const struct ct_ldap_store *ls, const char *group, const char *kind)
{
	char *dir = NULL, *file = NULL;

	if (cache_paths(ls, group, kind, &dir, &file) == CT_OK)
		(void)unlink(file);
	free(dir);
	free(file);
}

int
ct_lstore_cached(struct ct_ldap_store *ls, const char *group, const char *kind, int here,
    ct_lstore_fetch_fn fetch, unsigned char **data, size_t *len, struct ct_err *err)
{
	int64_t now = (int64_t)time(NULL), at = 0;
	unsigned char *old = NULL;
	size_t old_len = 0;
	int rc, have;

	if (here || ls->cache_max_age <= 0)
		return fetch(ls, here ? CT_LSTORE_WRITE : CT_LSTORE_READ, group, data, len, err);
	have = cache_get(ls, group, kind, &old, &old_len, &at) == CT_OK;
	/* a read time in the future (the clock went back) is not trusted */
	if (have && at <= now && now - at < ls->cache_max_age) {
		*data = old;
		*len = old_len;
		return CT_OK;
	}
	free(old);
	if ((rc = fetch(ls, CT_LSTORE_READ, group, data, len, err)) == CT_OK)
		cache_put(ls, group, kind, *data, *len, now);
	else if (rc == CT_ENOENT)
		cache_drop(ls, group, kind);
	else if (rc == CT_EUNAVAIL && have)
		ct_err_prefix(err,
		    "access group %s: the cached %s was read %" PRId64
		    " s ago, longer than store.ldap.cache_max_age (%d s), and ",
		    group, strcmp(kind, "crl") == 0 ? "CRL" : "CA material", now - at,
		    ls->cache_max_age);
	return rc;
}
