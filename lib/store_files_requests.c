/* The files backend: pending requests, STORE/requests/TOKEN
 * ("certtoken-request 1", then "user=", "target=", "created=", "polled="
 * (only when a fetch asked the CA again: older files have none), "ref="
 * and "csr=" lines), and uploaded certificates, STORE/uploads/TOKEN.pem. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "store_files.h"
#include "store_files_parse.h"

#define REQUEST_HEADER "certtoken-request 1"
#define REQUEST_FILE_MAX (4 * CT_REQUEST_CSR_MAX)

/* STORE/SUB/NAME SUFFIX into PATH; -1 when it does not fit. */
static int
file_path(struct ct_store *st, const char *sub, const char *name, const char *suffix, char *path,
    size_t size)
{
	int n = snprintf(path, size, "%s/%s/%s%s", ct_files_of(st)->path, sub, name, suffix);

	return n > 0 && (size_t)n < size ? 0 : -1;
}

static int
make_dir(struct ct_store *st, const char *sub, struct ct_err *err)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", ct_files_of(st)->path, sub) >= (int)sizeof(path))
		return ct_err_set(err, CT_EINVAL, "store path too long");
	return ct_store_mkdir(path, err);
}

/* Write R to PATH (EXCL: only when there is none). */
static int
write_request(const char *path, const struct ct_request *r, int excl, struct ct_err *err)
{
	char *b64 = NULL, *text = NULL, polled[40] = "";
	size_t b64_len;
	int n, rc;

	b64_len = 4 * ((r->csr_len + 2) / 3) + 1;
	if ((b64 = malloc(b64_len)) == NULL ||
	    (text = malloc(b64_len + 512 + CT_REF_MAX)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, r->csr, (int)r->csr_len);
	if (r->polled > 0) /* never-polled requests stay readable by older versions */
		snprintf(polled, sizeof(polled), "polled=%" PRId64 "\n", r->polled);
	n = sprintf(text, "%s\nuser=%s\ntarget=%s\ncreated=%" PRId64 "\n%sref=%s\ncsr=%s\n",
	    REQUEST_HEADER, r->user, r->target, r->created, polled, r->ref, b64);
	rc = ct_file_write_atomic(path, text, (size_t)n, 0600, excl, err);
out:
	free(b64);
	free(text);
	return rc;
}

int
ct_files_request_save(struct ct_store *st, const struct ct_request *r, struct ct_err *err)
{
	char path[4096];
	int rc;

	if (file_path(st, "requests", r->token, "", path, sizeof(path)) != 0)
		return ct_err_set(err, CT_EINVAL, "pending request: store path too long");
	if ((rc = make_dir(st, "requests", err)) != CT_OK)
		return rc;
	return write_request(path, r, 1, err);
}

/* The value of line "NAME=..." at *P (advanced past it) into OUT. */
static int
take(const char **p, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);
	const char *end;

	if (strncmp(*p, name, nl) != 0 || (*p)[nl] != '=' || (end = strchr(*p, '\n')) == NULL)
		return -1;
	*p += nl + 1;
	if ((size_t)(end - *p) >= size)
		return -1;
	memcpy(out, *p, (size_t)(end - *p));
	out[end - *p] = '\0';
	*p = end + 1;
	return 0;
}

/* A time line "NAME=SECONDS" at *P (advanced past it) into *OUT. */
static int
take_time(const char **p, const char *name, int64_t *out)
{
	char text[24], *end;
	long long v;

	if (take(p, name, text, sizeof(text)) != 0)
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int
parse_request(const char *path, const char *text, struct ct_request *r, struct ct_err *err)
{
	const char *p = text;
	char *csr = NULL;
	size_t csr_text = strlen(text), pad;
	int n, rc = CT_EIO;

	if ((csr = malloc(csr_text + 1)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (strncmp(p, REQUEST_HEADER "\n", strlen(REQUEST_HEADER) + 1) != 0)
		goto bad;
	p += strlen(REQUEST_HEADER) + 1;
	if (take(&p, "user", r->user, sizeof(r->user)) != 0 || !ct_tokens_user_valid(r->user) ||
	    take(&p, "target", r->target, sizeof(r->target)) != 0 ||
	    take_time(&p, "created", &r->created) != 0 ||
	    (strncmp(p, "polled=", 7) == 0 && take_time(&p, "polled", &r->polled) != 0) ||
	    take(&p, "ref", r->ref, sizeof(r->ref)) != 0 || !ct_request_ref_valid(r->ref) ||
	    take(&p, "csr", csr, csr_text + 1) != 0 || *p != '\0')
		goto bad;
	n = (int)strlen(csr);
	if (n == 0 || n % 4 != 0 || (r->csr = malloc((size_t)n / 4 * 3)) == NULL)
		goto bad;
	if ((n = EVP_DecodeBlock(r->csr, (const unsigned char *)csr, n)) < 0)
		goto bad;
	pad = strlen(csr) >= 2 && csr[strlen(csr) - 2] == '=' ? 2 : csr[strlen(csr) - 1] == '=';
	r->csr_len = (size_t)n - pad;
	rc = CT_OK;
	goto out;
bad:
	rc = ct_err_set(err, CT_EIO, "%s: corrupt pending request", path);
out:
	free(csr);
	return rc;
}

int
ct_files_request_parse(const char *path, const unsigned char *buf, size_t len, struct ct_request *r,
    struct ct_err *err)
{
	int rc;

	if (memchr(buf, '\0', len) != NULL)
		rc = ct_err_set(err, CT_EIO, "%s: corrupt pending request", path);
	else
		rc = parse_request(path, (const char *)buf, r, err);
	if (rc != CT_OK)
		ct_request_clear(r);
	return rc;
}

int
ct_files_request_load(
    struct ct_store *st, const char *token, struct ct_request *r, struct ct_err *err)
{
	unsigned char *buf = NULL;
	char path[4096];
	size_t len = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if (file_path(st, "requests", token, "", path, sizeof(path)) != 0)
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	if ((rc = ct_file_read(path, REQUEST_FILE_MAX, &buf, &len, err)) != CT_OK)
		return rc;
	snprintf(r->token, sizeof(r->token), "%s", token);
	rc = ct_files_request_parse(path, buf, len, r, err);
	free(buf);
	return rc;
}

int
ct_files_request_remove(struct ct_store *st, const char *token, struct ct_err *err)
{
	char path[4096];

	if (file_path(st, "requests", token, "", path, sizeof(path)) != 0)
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	if (unlink(path) != 0 && errno != ENOENT)
		return ct_err_set(err, CT_EIO, "%s: cannot remove: %s", path, strerror(errno));
	return CT_OK;
}

int
ct_files_request_polled(struct ct_store *st, const char *token, int64_t when, struct ct_err *err)
{
	struct ct_request r;
	char path[4096];
	int rc;

	if (file_path(st, "requests", token, "", path, sizeof(path)) != 0)
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	if ((rc = ct_files_request_load(st, token, &r, err)) != CT_OK)
		return rc;
	r.polled = when;
	rc = write_request(path, &r, 0, err);
	ct_request_clear(&r);
	return rc;
}

int
ct_files_request_foreach(struct ct_store *st, ct_request_fn fn, void *ctx, struct ct_err *err)
{
	struct ct_request r;
	struct dirent *de;
	char path[4096];
	DIR *dir;
	int rc = CT_OK;

	if (snprintf(path, sizeof(path), "%s/requests", ct_files_of(st)->path) >= (int)sizeof(path))
		return ct_err_set(err, CT_EINVAL, "store path too long");
	if ((dir = opendir(path)) == NULL)
		return errno == ENOENT ? CT_OK
		                       : ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
	while (rc == CT_OK && (de = readdir(dir)) != NULL) {
		if (!ct_request_token_valid(de->d_name) || strstr(de->d_name, ".tmp.") != NULL)
			continue;
		if ((rc = ct_files_request_load(st, de->d_name, &r, err)) == CT_ENOENT) {
			ct_err_clear(err); /* removed while we walked */
			rc = CT_OK;
			continue;
		}
		if (rc == CT_OK) {
			rc = fn(ctx, &r);
			ct_request_clear(&r);
		}
	}
	closedir(dir);
	return rc;
}

int
ct_files_upload_save(struct ct_store *st, const char *token, const unsigned char *der, size_t len,
    struct ct_err *err)
{
	char path[4096];
	int rc;

	if (file_path(st, "uploads", token, ".pem", path, sizeof(path)) != 0)
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	if ((rc = make_dir(st, "uploads", err)) != CT_OK)
		return rc;
	return ct_file_write_pem(path, "", PEM_STRING_X509, der, len, 1, err);
}

int
ct_files_upload_load(
    struct ct_store *st, const char *token, unsigned char **pem, size_t *len, struct ct_err *err)
{
	char path[4096];

	if (file_path(st, "uploads", token, ".pem", path, sizeof(path)) != 0)
		return ct_err_set(err, CT_EINVAL, "bad token serial");
	return ct_file_read(path, CT_FILE_MAX, pem, len, err);
}

void
ct_files_upload_remove(struct ct_store *st, const char *token)
{
	char path[4096];

	if (file_path(st, "uploads", token, ".pem", path, sizeof(path)) == 0)
		(void)unlink(path);
}
