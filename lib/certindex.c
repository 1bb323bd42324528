#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>

#include "certindex.h"
#include "store.h"

#define ENTRY_MAX (64 * 1024)
/* a revocation line: serial (40) group (64) time (20) reason (20), spaces, newline */
#define REVOKED_LINE_MAX 160
#define REVOKED_FILE_MAX (CT_REVOKED_MAX * REVOKED_LINE_MAX)

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

/* STORE/certs/SERIAL.pem into PATH. */
static int
entry_path(const char *store, const char *serial, char *path, size_t size)
{
	int n = snprintf(path, size, "%s/certs/%s.pem", store, serial);

	return n > 0 && (size_t)n < size && ct_cert_serial_valid(serial) ? 0 : -1;
}

/* A header value: a word of name characters, "-" allowed. */
static int
word_ok(const char *s)
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

int
ct_certindex_add(const char *store, const char *serial, const char *user, const char *target,
    const char *group, const char *token, const unsigned char *der, size_t len, struct ct_err *err)
{
	char path[4096], head[1024];
	int n;

	if (entry_path(store, serial, path, sizeof(path)) != 0 || !word_ok(user) ||
	    !word_ok(target) || !word_ok(group) || !word_ok(token) ||
	    (n = snprintf(head, sizeof(head), "user=%s\ntarget=%s\ngroup=%s\ntoken=%s\n", user,
	         target, group, token)) < 0 ||
	    (size_t)n >= sizeof(head))
		return ct_err_set(err, CT_EINVAL, "certificate index: bad serial or name");
	return ct_file_write_pem(path, head, PEM_STRING_X509, der, len, 1, err);
}

void
ct_certindex_remove(const char *store, const char *serial)
{
	char path[4096];

	if (entry_path(store, serial, path, sizeof(path)) == 0)
		(void)unlink(path);
}

void
ct_cert_entry_clear(struct ct_cert_entry *e)
{
	X509_free(e->cert);
	memset(e, 0, sizeof(*e));
}

/* Copy the value of header NAME (a "NAME=value" line of TEXT) into OUT. */
static int
header(const char *text, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name), vl;
	const char *p = text;

	while (p != NULL && *p != '\0' && *p != '-') {
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			p += nl + 1;
			vl = strcspn(p, "\n");
			if (vl == 0 || vl >= size)
				return -1;
			memcpy(out, p, vl);
			out[vl] = '\0';
			return word_ok(out) ? 0 : -1;
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return -1;
}

static int
read_entry(const char *path, const char *serial, struct ct_cert_entry *e, struct ct_err *err)
{
	unsigned char *buf = NULL;
	char got[CT_CERT_SERIAL_MAX];
	size_t len = 0;
	BIO *bio;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = ct_file_read(path, ENTRY_MAX, &buf, &len, err)) != CT_OK)
		return rc;
	if (header((char *)buf, "user", e->user, sizeof(e->user)) != 0 ||
	    header((char *)buf, "target", e->target, sizeof(e->target)) != 0 ||
	    header((char *)buf, "token", e->token, sizeof(e->token)) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: malformed index entry", path);
		goto out;
	}
	if (header((char *)buf, "group", e->group, sizeof(e->group)) != 0)
		e->group[0] = '\0'; /* entries from before group= was recorded */
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	e->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (e->cert == NULL || ct_cert_serial_hex(e->cert, got) != CT_OK ||
	    strcmp(got, serial) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: no certificate with that serial", path);
		goto out;
	}
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	rc = CT_OK;
out:
	free(buf);
	if (rc != CT_OK)
		ct_cert_entry_clear(e);
	return rc;
}

int
ct_certindex_get(const char *store, const char *serial, struct ct_cert_entry *e, struct ct_err *err)
{
	char path[4096];

	memset(e, 0, sizeof(*e));
	if (entry_path(store, serial, path, sizeof(path)) != 0)
		return ct_err_set(err, CT_EINVAL,
		    "'%s' is not a certificate serial (upper-case hex, as listed)", serial);
	return read_entry(path, serial, e, err);
}

int
ct_certindex_foreach(const char *store, int (*fn)(void *ctx, const struct ct_cert_entry *e),
    void *ctx, struct ct_err *err)
{
	struct ct_cert_entry e;
	struct dirent *de;
	char dir[4096], path[4400], serial[CT_CERT_SERIAL_MAX];
	size_t nl;
	DIR *d;
	int rc = CT_OK;

	snprintf(dir, sizeof(dir), "%s/certs", store);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? CT_OK
		                       : ct_err_set(err, CT_EIO, "%s: %s", dir, strerror(errno));
	while (rc == CT_OK && (de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (nl < 5 || nl - 4 >= sizeof(serial) || strcmp(de->d_name + nl - 4, ".pem") != 0)
			continue;
		memcpy(serial, de->d_name, nl - 4);
		serial[nl - 4] = '\0';
		if (!ct_cert_serial_valid(serial))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((rc = read_entry(path, serial, &e, err)) != CT_OK)
			break;
		rc = fn(ctx, &e);
		ct_cert_entry_clear(&e);
	}
	closedir(d);
	return rc;
}

/* ---- revocations ---- */

static int
parse_revoked(
    const char *path, char *text, struct ct_revocation **out, size_t *n, struct ct_err *err)
{
	struct ct_revocation *list = NULL, *bigger;
	size_t cap = 0, count = 0;
	unsigned line = 0;
	char *p = text, *nl, reason[32];
	long long when;
	int r;

	for (; *p != '\0'; p = nl + 1) {
		line++;
		if ((nl = strchr(p, '\n')) == NULL) {
			free(list);
			return ct_err_set(err, CT_EIO, "%s:%u: truncated line", path, line);
		}
		*nl = '\0';
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			if ((bigger = realloc(list, cap * sizeof(*list))) == NULL) {
				free(list);
				return ct_err_set(err, CT_ENOMEM, "out of memory");
			}
			list = bigger;
		}
		memset(&list[count], 0, sizeof(list[count]));
		if (sscanf(p, "%40s %64s %lld %31s", list[count].serial, list[count].group, &when,
		        reason) != 4 ||
		    !ct_cert_serial_valid(list[count].serial) || !word_ok(list[count].group) ||
		    when < 0 || (r = ct_crl_reason_parse(reason)) < 0) {
			free(list);
			return ct_err_set(err, CT_EIO, "%s:%u: malformed revocation", path, line);
		}
		list[count].when = when;
		list[count].reason = r;
		count++;
	}
	*out = list;
	*n = count;
	return CT_OK;
}

static int
read_list(const char *path, struct ct_revocation **out, size_t *n, struct ct_err *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = ct_file_read(path, REVOKED_FILE_MAX, &buf, &len, err);
	if (rc == CT_ENOENT) {
		ct_err_clear(err);
		return CT_OK;
	}
	if (rc != CT_OK)
		return rc;
	rc = parse_revoked(path, (char *)buf, out, n, err);
	free(buf);
	return rc;
}

int
ct_revoked_read(const char *store, struct ct_revocation **out, size_t *n, struct ct_err *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/revoked", store);
	return read_list(path, out, n, err);
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

int
ct_revoke(const char *store, const char *serial, const char *group, int reason, time_t now,
    struct ct_err *err)
{
	struct ct_revocation *list = NULL;
	char path[4096], lock[4200], *text = NULL, *p;
	size_t n = 0, i, size;
	int fd, rc, w;

	if (!ct_cert_serial_valid(serial) || !word_ok(group) || strlen(group) >= CT_TARGET_MAX)
		return ct_err_set(err, CT_EINVAL, "bad serial or group");
	snprintf(path, sizeof(path), "%s/revoked", store);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		return ct_err_set(err, CT_EIO, "%s: %s", lock, strerror(errno));
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR) {
			rc = ct_err_set(err, CT_EIO, "%s: cannot lock: %s", lock, strerror(errno));
			goto out;
		}
	if ((rc = read_list(path, &list, &n, err)) != CT_OK)
		goto out;
	if (ct_revoked_find(list, n, serial) != NULL) {
		rc = ct_err_set(err, CT_EEXIST, "certificate %s is already revoked", serial);
		goto out;
	}
	if (n >= CT_REVOKED_MAX) {
		rc = ct_err_set(err, CT_EIO, "%s: the list is full (%d)", path, CT_REVOKED_MAX);
		goto out;
	}
	size = (n + 1) * REVOKED_LINE_MAX;
	if ((text = malloc(size)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	for (p = text, i = 0; i <= n; i++) {
		/* every field is bounded, so each line fits REVOKED_LINE_MAX */
		w = i < n ? snprintf(p, REVOKED_LINE_MAX, "%s %s %" PRId64 " %s\n", list[i].serial,
		                list[i].group, list[i].when, ct_crl_reason_name(list[i].reason))
		          : snprintf(p, REVOKED_LINE_MAX, "%s %s %lld %s\n", serial, group,
		                (long long)now, ct_crl_reason_name(reason));
		if (w < 0 || w >= REVOKED_LINE_MAX) {
			rc = ct_err_set(err, CT_EIO, "%s: revocation line too long", path);
			goto out;
		}
		p += w;
	}
	rc = ct_file_write_atomic(path, text, (size_t)(p - text), 0600, 0, err);
out:
	free(text);
	free(list);
	close(fd); /* releases the lock */
	return rc;
}
