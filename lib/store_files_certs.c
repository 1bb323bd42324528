/* The files backend: the issued-certificate index, STORE/certs/SERIAL.pem
 * ("user=", "target=", "group=", "token=" lines, then the PEM), and the
 * revocation list STORE/revoked ("SERIAL GROUP REVOKED_AT REASON" lines),
 * rewritten whole under STORE/revoked.lock. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "store_files.h"
#include "store_files_parse.h"

#define ENTRY_MAX (64 * 1024)
/* a revocation line: serial (40) group (64) time (20) reason (20), spaces, newline */
#define REVOKED_LINE_MAX 160
#define REVOKED_FILE_MAX (CT_REVOKED_MAX * REVOKED_LINE_MAX)

/* STORE/certs/SERIAL.pem into PATH. */
static int
entry_path(struct ct_store *st, const char *serial, char *path, size_t size)
{
	int n = snprintf(path, size, "%s/certs/%s.pem", ct_files_of(st)->path, serial);

	return n > 0 && (size_t)n < size ? 0 : -1;
}

int
ct_files_cert_add(struct ct_store *st, const struct ct_cert_entry *e, const unsigned char *der,
    size_t len, struct ct_err *err)
{
	char dir[4096], path[4096], head[1024], ssh[40] = "";
	int n, rc;

	if (e->ssh_serial != 0)
		snprintf(ssh, sizeof(ssh), "ssh_serial=%" PRIu64 "\n", e->ssh_serial);
	if (entry_path(st, e->serial, path, sizeof(path)) != 0 ||
	    (n = snprintf(head, sizeof(head), "user=%s\ntarget=%s\ngroup=%s\ntoken=%s\n%s", e->user,
	         e->target, e->group, e->token, ssh)) < 0 ||
	    (size_t)n >= sizeof(head))
		return ct_err_set(err, CT_EINVAL, "certificate index: bad serial or name");
	snprintf(dir, sizeof(dir), "%s/certs", ct_files_of(st)->path);
	if ((rc = ct_store_mkdir(dir, err)) != CT_OK)
		return rc;
	return ct_file_write_pem(path, head, PEM_STRING_X509, der, len, 1, err);
}

void
ct_files_cert_remove(struct ct_store *st, const char *serial)
{
	char path[4096];

	if (entry_path(st, serial, path, sizeof(path)) == 0)
		(void)unlink(path);
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
			return ct_certindex_word_valid(out) ? 0 : -1;
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return -1;
}

/* The ssh_serial header of TEXT into *OUT: 0 when there is none (entries
 * without an OpenSSH certificate, and from before it was recorded); -1
 * when it is not a non-zero decimal 64-bit number. */
static int
ssh_serial(const char *text, uint64_t *out)
{
	char v[24];
	size_t i;
	uint64_t n = 0;

	*out = 0;
	if (header(text, "ssh_serial", v, sizeof(v)) != 0)
		return strstr(text, "\nssh_serial=") != NULL ? -1 : 0; /* there, but bad */
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return n != 0 && i <= 20 ? 0 : -1;
}

int
ct_files_cert_entry_parse(const char *path, const char *serial, const unsigned char *buf,
    size_t len, struct ct_cert_entry *e, struct ct_err *err)
{
	char got[CT_CERT_SERIAL_MAX];
	BIO *bio;
	int rc;

	memset(e, 0, sizeof(*e));
	if (header((char *)buf, "user", e->user, sizeof(e->user)) != 0 ||
	    header((char *)buf, "target", e->target, sizeof(e->target)) != 0 ||
	    header((char *)buf, "token", e->token, sizeof(e->token)) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: malformed index entry", path);
		goto out;
	}
	if (header((char *)buf, "group", e->group, sizeof(e->group)) != 0)
		e->group[0] = '\0'; /* entries from before group= was recorded */
	if (ssh_serial((char *)buf, &e->ssh_serial) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: malformed ssh_serial", path);
		goto out;
	}
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
	if (rc != CT_OK)
		ct_cert_entry_clear(e);
	return rc;
}

static int
read_entry(const char *path, const char *serial, struct ct_cert_entry *e, struct ct_err *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = ct_file_read(path, ENTRY_MAX, &buf, &len, err)) != CT_OK)
		return rc;
	rc = ct_files_cert_entry_parse(path, serial, buf, len, e, err);
	free(buf);
	return rc;
}

int
ct_files_cert_get(
    struct ct_store *st, const char *serial, struct ct_cert_entry *e, struct ct_err *err)
{
	char path[4096];

	if (entry_path(st, serial, path, sizeof(path)) != 0)
		return ct_err_set(err, CT_EINVAL, "store path too long");
	return read_entry(path, serial, e, err);
}

int
ct_files_cert_foreach(struct ct_store *st, ct_cert_fn fn, void *ctx, struct ct_err *err)
{
	struct ct_cert_entry e;
	struct dirent *de;
	char dir[4096], path[4400], serial[CT_CERT_SERIAL_MAX];
	size_t nl;
	DIR *d;
	int rc = CT_OK;

	snprintf(dir, sizeof(dir), "%s/certs", ct_files_of(st)->path);
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

int
ct_files_revoked_parse(
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
		    !ct_cert_serial_valid(list[count].serial) ||
		    !ct_certindex_word_valid(list[count].group) || when < 0 ||
		    (r = ct_crl_reason_parse(reason)) < 0) {
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
	rc = ct_files_revoked_parse(path, (char *)buf, out, n, err);
	free(buf);
	return rc;
}

int
ct_files_revoked_read(
    struct ct_store *st, struct ct_revocation **out, size_t *n, struct ct_err *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/revoked", ct_files_of(st)->path);
	return read_list(path, out, n, err);
}

/* LIST (N entries) and then R as the text of the revocation file. */
static int
format_list(const char *path, const struct ct_revocation *list, size_t n,
    const struct ct_revocation *r, char **text_out, size_t *len, struct ct_err *err)
{
	const struct ct_revocation *e;
	char *text, *p;
	size_t i;
	int w;

	if ((text = malloc((n + 1) * REVOKED_LINE_MAX)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (p = text, i = 0; i <= n; i++) {
		e = i < n ? &list[i] : r;
		/* every field is bounded, so each line fits REVOKED_LINE_MAX */
		w = snprintf(p, REVOKED_LINE_MAX, "%s %s %" PRId64 " %s\n", e->serial, e->group,
		    e->when, ct_crl_reason_name(e->reason));
		if (w < 0 || w >= REVOKED_LINE_MAX) {
			free(text);
			return ct_err_set(err, CT_EIO, "%s: revocation line too long", path);
		}
		p += w;
	}
	*text_out = text;
	*len = (size_t)(p - text);
	return CT_OK;
}

int
ct_files_revoke(struct ct_store *st, const struct ct_revocation *r, struct ct_err *err)
{
	struct ct_revocation *list = NULL;
	char path[4096], lock[4200], *text = NULL;
	size_t n = 0, len = 0;
	int fd = -1, rc;

	snprintf(path, sizeof(path), "%s/revoked", ct_files_of(st)->path);
	snprintf(lock, sizeof(lock), "%s%s", path, CT_FILES_LOCK_SUFFIX);
	if ((rc = ct_files_lock(lock, ct_store_lock_deadline(st, 0),
	         "store: the lock of the revocation list", &fd, err)) != CT_OK ||
	    (rc = read_list(path, &list, &n, err)) != CT_OK)
		goto out;
	if (ct_revoked_find(list, n, r->serial) != NULL) {
		rc = ct_err_set(err, CT_EEXIST, "certificate %s is already revoked", r->serial);
		goto out;
	}
	if (n >= CT_REVOKED_MAX) {
		rc = ct_err_set(err, CT_EIO, "%s: the list is full (%d)", path, CT_REVOKED_MAX);
		goto out;
	}
	if ((rc = format_list(path, list, n, r, &text, &len, err)) == CT_OK)
		rc = ct_file_write_atomic(path, text, len, 0600, 0, err);
out:
	free(text);
	free(list);
	if (fd >= 0)
		close(fd); /* releases the lock */
	return rc;
}
