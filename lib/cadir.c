/* An access group's directory in the store, read as one snapshot (cadir.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "cadir.h"
#include "conf.h"
#include "store.h"

#define SNAP_TRIES 5 /* reads of a group directory that rotations keep replacing */

int
ct_cadir_path(const char *store, const char *group, int create, char **out, struct ct_err *err)
{
	char *groups = NULL, *dir = NULL;
	int rc;

	if (!ct_name_valid(group))
		return ct_err_set(err, CT_EINVAL, "'%s' is not a valid access group name", group);
	if ((groups = ct_path_join(store, "groups")) == NULL ||
	    (dir = ct_path_join(groups, group)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = create ? ct_store_mkdir(store, err) : ct_store_check_dir(store, err)) == CT_OK)
		rc = create ? ct_store_mkdir(groups, err) : ct_store_check_dir(groups, err);
	if (rc == CT_OK) {
		*out = dir;
		dir = NULL;
	}
out:
	free(groups);
	free(dir);
	return rc;
}

static int
no_ca(const char *group, struct ct_err *err)
{
	ct_err_clear(err);
	return ct_err_set(err, CT_ENOENT,
	    "access group '%s' has no CA yet "
	    "(run: certtoken-admin ca init %s)",
	    group, group);
}

void
ct_cadir_close(struct ct_cadir *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->dir);
	s->fd = -1;
	s->dir = NULL;
}

int
ct_cadir_open(const char *store, const char *group, struct ct_cadir *s, struct ct_err *err)
{
	int rc;

	s->fd = -1;
	s->dir = NULL;
	if ((rc = ct_cadir_path(store, group, 0, &s->dir, err)) == CT_OK)
		rc = ct_store_open_dir(s->dir, &s->fd, &s->st, err);
	if (rc == CT_ENOENT)
		rc = no_ca(group, err);
	if (rc != CT_OK)
		ct_cadir_close(s);
	return rc;
}

int
ct_cadir_current(const struct ct_cadir *s)
{
	struct stat st;

	return lstat(s->dir, &st) == 0 && st.st_dev == s->st.st_dev && st.st_ino == s->st.st_ino;
}

int
ct_cadir_has(const struct ct_cadir *s, const char *name)
{
	struct stat st;

	return fstatat(s->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

int
ct_cadir_read(const struct ct_cadir *s, const char *name, unsigned char **data, size_t *len,
    struct ct_err *err)
{
	int rc = ct_file_readat(s->fd, s->dir, name, CT_FILE_MAX, data, len, err);

	if (rc == CT_ENOENT) {
		ct_err_clear(err);
		rc = ct_err_set(err, CT_EIO, "%s/%s: missing", s->dir, name);
	}
	return rc;
}

int
ct_cadir_pem(
    const struct ct_cadir *s, const char *name, X509 **cert, EVP_PKEY **key, struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	BIO *b;
	int rc;

	if ((rc = ct_cadir_read(s, name, &data, &len, err)) != CT_OK)
		return rc;
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (cert != NULL
	            ? (*cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL
	            : (*key = PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, NULL, NULL)) == NULL))
		rc = ct_err_set(err, CT_EIO, "%s/%s: not a PEM %s", s->dir, name,
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

	rc = ct_file_readat(s->fd, s->dir, CT_CADIR_UNTIL, CT_FILE_MAX, &data, &len, err);
	if (rc == CT_ENOENT) {
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
		rc = ct_err_set(err, CT_EIO, "%s/%s: not a time in seconds since the epoch", s->dir,
		    CT_CADIR_UNTIL);
	else {
		v = strtoll((const char *)data, NULL, 10);
		*until = (time_t)v;
	}
	free(data);
	return rc;
}

int
ct_cadir_run(const char *store, const char *group,
    int (*read)(const struct ct_cadir *, void *, struct ct_err *), void (*reset)(void *), void *ctx,
    struct ct_err *err)
{
	struct ct_cadir s;
	int rc, tries;

	for (tries = 0; tries < SNAP_TRIES; tries++) {
		if ((rc = ct_cadir_open(store, group, &s, err)) != CT_OK)
			return rc;
		rc = read(&s, ctx, err);
		if (ct_cadir_current(&s)) {
			ct_cadir_close(&s);
			return rc;
		}
		ct_cadir_close(&s);
		reset(ctx);
		ct_err_clear(err);
	}
	return ct_err_set(err, CT_EIO,
	    "the CA of access group '%s' kept changing while it was read; try again", group);
}
