#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "store.h"

char *
ct_path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p;

	if ((p = malloc(a + b + 2)) == NULL)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

struct ct_open_policy
ct_store_policy(size_t max)
{
	struct ct_open_policy pol = {0};

	pol.owner = CT_OWNER_EUID;
	pol.forbidden = S_IRWXG | S_IRWXO;
	pol.max = max;
	return pol;
}

static int
owner_ok(const struct ct_open_policy *pol, uid_t uid)
{
	switch (pol->owner) {
	case CT_OWNER_ANY: return 1;
	case CT_OWNER_ROOT: return uid == 0 || uid == geteuid();
	case CT_OWNER_EUID: return uid == geteuid();
	default: return uid == pol->uid;
	}
}

int
ct_safe_check(
    const char *path, const struct stat *st, const struct ct_open_policy *pol, struct ct_err *err)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (owner_ok(pol, st->st_uid) && (st->st_mode & pol->forbidden) == 0)
		return CT_OK;
	if (pol->unsafe != NULL)
		return ct_err_set(err, CT_EPERM, "%s: %s (owner %u, mode %04o)", path, pol->unsafe,
		    (unsigned)st->st_uid, mode);
	if (!owner_ok(pol, st->st_uid) && pol->owner == CT_OWNER_ROOT)
		return ct_err_set(
		    err, CT_EPERM, "%s: owned by uid %u, not by root", path, (unsigned)st->st_uid);
	if (!owner_ok(pol, st->st_uid))
		return ct_err_set(err, CT_EPERM, "%s: owned by uid %u, not %u", path,
		    (unsigned)st->st_uid,
		    (unsigned)(pol->owner == CT_OWNER_UID ? pol->uid : geteuid()));
	if (st->st_mode & pol->forbidden & (S_IWGRP | S_IWOTH))
		return ct_err_set(
		    err, CT_EPERM, "%s: writable by group or others (mode %04o)", path, mode);
	return ct_err_set(err, CT_EPERM, "%s: readable by group or others (mode %04o)", path, mode);
}

/* Directories of the store: owned by us, not writable by group or others. */
static int
check_owner_mode(const char *path, const struct stat *st, struct ct_err *err)
{
	struct ct_open_policy pol = {0};

	pol.owner = CT_OWNER_EUID;
	pol.forbidden = S_IWGRP | S_IWOTH;
	return ct_safe_check(path, st, &pol, err);
}

int
ct_store_check_dir(const char *path, struct ct_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return ct_err_set(err, CT_ENOENT, "%s: no such directory", path);
		return ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return ct_err_set(err, CT_EPERM, "%s: not a directory", path);
	return check_owner_mode(path, &st, err);
}

int
ct_store_open_dir(const char *path, int *fd_out, struct stat *st, struct ct_err *err)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return ct_err_set(err, CT_ENOENT, "%s: no such directory", path);
		if (errno == ELOOP || errno == ENOTDIR)
			return ct_err_set(err, CT_EPERM, "%s: not a directory", path);
		return ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, st) != 0)
		rc = ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
	else
		rc = check_owner_mode(path, st, err);
	if (rc != CT_OK) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return CT_OK;
}

int
ct_store_mkdir(const char *path, struct ct_err *err)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return ct_err_set(
		    err, CT_EIO, "%s: cannot create directory: %s", path, strerror(errno));
	return ct_store_check_dir(path, err);
}

/* The error for a failed open of PATH (errno set). */
static int
open_error(const char *path, const struct ct_open_policy *pol, struct ct_err *err)
{
	if (errno == ENOENT || (pol->skip_special && errno == ELOOP))
		return ct_err_set(err, CT_ENOENT, "%s: no such file", path);
	return ct_err_set(err, errno == ELOOP ? CT_EPERM : CT_EIO, "%s: %s", path,
	    errno == ELOOP ? "is a symbolic link" : strerror(errno));
}

/* Check the open FD of PATH (its fstat into *ST) against POL. */
static int
check_fd(
    int fd, const char *path, const struct ct_open_policy *pol, struct stat *st, struct ct_err *err)
{
	int rc;

	if (fstat(fd, st) != 0)
		return ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return ct_err_set(
		    err, pol->skip_special ? CT_ENOENT : CT_EPERM, "%s: not a regular file", path);
	if ((rc = ct_safe_check(path, st, pol, err)) != CT_OK)
		return rc;
	if ((uintmax_t)st->st_size > (uintmax_t)pol->max)
		return ct_err_set(err, CT_EINVAL, "%s: larger than %zu bytes", path, pol->max);
	return CT_OK;
}

int
ct_safe_openat(int dirfd, const char *name, const char *path, const struct ct_open_policy *pol,
    int *fd_out, struct stat *st, struct ct_err *err)
{
	/* O_NONBLOCK: a FIFO planted here must not hang the caller (S_ISREG below) */
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (pol->follow ? 0 : O_NOFOLLOW);
	int fd, rc;

	if ((fd = openat(dirfd, name, flags)) < 0)
		return open_error(path, pol, err);
	if ((rc = check_fd(fd, path, pol, st, err)) != CT_OK) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return CT_OK;
}

/* All of the open FD (ST from its fstat, PATH in messages) into a new
 * NUL-terminated buffer; closes FD. */
static int
read_fd(int fd, const char *path, const struct stat *st, unsigned char **out, size_t *len,
    struct ct_err *err)
{
	size_t size = (size_t)st->st_size, got = 0;
	unsigned char *buf;
	ssize_t n;

	if ((buf = malloc(size + 1)) == NULL) {
		close(fd);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			OPENSSL_clear_free(buf, size + 1);
			close(fd);
			return ct_err_set(err, CT_EIO, "%s: short read", path);
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return CT_OK;
}

/* ct_safe_openat and read_fd. */
static int
safe_readat(int dirfd, const char *name, const char *path, const struct ct_open_policy *pol,
    unsigned char **out, size_t *len, struct ct_err *err)
{
	struct stat st;
	int fd, rc;

	if ((rc = ct_safe_openat(dirfd, name, path, pol, &fd, &st, err)) != CT_OK)
		return rc;
	return read_fd(fd, path, &st, out, len, err);
}

int
ct_safe_read(const char *path, const struct ct_open_policy *pol, unsigned char **out, size_t *len,
    struct ct_err *err)
{
	return safe_readat(AT_FDCWD, path, path, pol, out, len, err);
}

int
ct_file_read(const char *path, size_t max, unsigned char **out, size_t *len, struct ct_err *err)
{
	struct ct_open_policy pol = ct_store_policy(max);

	return safe_readat(AT_FDCWD, path, path, &pol, out, len, err);
}

int
ct_file_readat(int dirfd, const char *dir, const char *name, size_t max, unsigned char **out,
    size_t *len, struct ct_err *err)
{
	struct ct_open_policy pol = ct_store_policy(max);
	char *path = ct_path_join(dir, name);
	int rc;

	if (path == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (strchr(name, '/') != NULL)
		rc = ct_err_set(err, CT_EINVAL, "%s: not a file name", path);
	else
		rc = safe_readat(dirfd, name, path, &pol, out, len, err);
	free(path);
	return rc;
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
fsync_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, rc = -1;

	if (dir == NULL)
		return -1;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(dir);
	return rc;
}

/* Create a fresh temporary file beside PATH; returns its fd and name. */
static int
open_temp(const char *path, mode_t mode, char **tmp_out)
{
	unsigned char rnd[8];
	size_t len = strlen(path) + 32;
	char *tmp;
	int fd, tries;

	if ((tmp = malloc(len)) == NULL)
		return -1;
	for (tries = 0; tries < 16; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			break;
		snprintf(tmp, len, "%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1],
		    rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd >= 0) {
			*tmp_out = tmp;
			return fd;
		}
		if (errno != EEXIST)
			break;
	}
	free(tmp);
	return -1;
}

int
ct_file_write_atomic(
    const char *path, const void *data, size_t len, mode_t mode, int excl, struct ct_err *err)
{
	char *tmp = NULL;
	int fd, rc;

	if ((fd = open_temp(path, mode, &tmp)) < 0)
		return ct_err_set(
		    err, CT_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: cannot write: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: cannot write: %s", path, strerror(errno));
		goto out;
	}
	/* link(2) fails if the target exists: an exclusive, atomic publish. */
	if (excl ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
		rc = ct_err_set(err, errno == EEXIST ? CT_EEXIST : CT_EIO, "%s: %s", path,
		    errno == EEXIST ? "already exists" : strerror(errno));
		goto out;
	}
	if (fsync_parent(path) != 0) {
		rc =
		    ct_err_set(err, CT_EIO, "%s: cannot sync directory: %s", path, strerror(errno));
		goto out;
	}
	rc = CT_OK;
out:
	if (tmp != NULL) {
		/* after rename the name is gone; after link (or failure) remove it */
		(void)unlink(tmp);
		free(tmp);
	}
	return rc;
}

int
ct_file_write_pem(const char *path, const char *head, const char *type, const unsigned char *der,
    size_t len, int excl, struct ct_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int rc;

	if (bio == NULL || BIO_puts(bio, head) < 0 ||
	    PEM_write_bio(bio, type, "", der, (long)len) <= 0) {
		BIO_free(bio);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	n = BIO_get_mem_data(bio, &data);
	rc = ct_file_write_atomic(path, data, (size_t)n, 0600, excl, err);
	BIO_free(bio);
	return rc;
}
