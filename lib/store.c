#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

static int
check_owner_mode(const char *path, const struct stat *st, struct ct_err *err)
{
	if (st->st_uid != geteuid())
		return ct_err_set(err, CT_EPERM, "%s: owned by uid %u, not %u", path,
		    (unsigned)st->st_uid, (unsigned)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return ct_err_set(err, CT_EPERM, "%s: writable by group or others (mode %04o)",
		    path, (unsigned)(st->st_mode & 07777));
	return CT_OK;
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
open_error(const char *path, struct ct_err *err)
{
	if (errno == ENOENT)
		return ct_err_set(err, CT_ENOENT, "%s: no such file", path);
	return ct_err_set(err, errno == ELOOP ? CT_EPERM : CT_EIO, "%s: %s", path,
	    errno == ELOOP ? "is a symbolic link" : strerror(errno));
}

/* Read the open file FD (named PATH in messages) as ct_file_read does, and
 * close it. */
static int
read_fd(int fd, const char *path, size_t max, unsigned char **out, size_t *len, struct ct_err *err)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int rc;

	if (fstat(fd, &st) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ct_err_set(err, CT_EPERM, "%s: not a regular file", path);
		goto out;
	}
	if ((rc = check_owner_mode(path, &st, err)) != CT_OK)
		goto out;
	/* store files hold keys and secrets: nobody else may even read them */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = ct_err_set(err, CT_EPERM, "%s: readable by group or others (mode %04o)", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = ct_err_set(err, CT_EINVAL, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = ct_err_set(err, CT_EIO, "%s: short read", path);
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = CT_OK;
out:
	if (buf != NULL)
		OPENSSL_clear_free(buf, (size_t)st.st_size + 1);
	close(fd);
	return rc;
}

/* O_NONBLOCK: a FIFO planted here must not hang the caller (S_ISREG in read_fd) */
#define READ_FLAGS (O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)

int
ct_file_read(const char *path, size_t max, unsigned char **out, size_t *len, struct ct_err *err)
{
	int fd;

	if ((fd = open(path, READ_FLAGS)) < 0)
		return open_error(path, err);
	return read_fd(fd, path, max, out, len, err);
}

int
ct_file_readat(int dirfd, const char *dir, const char *name, size_t max, unsigned char **out,
    size_t *len, struct ct_err *err)
{
	char *path = ct_path_join(dir, name);
	int fd, rc;

	if (path == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (strchr(name, '/') != NULL)
		rc = ct_err_set(err, CT_EINVAL, "%s: not a file name", path);
	else if ((fd = openat(dirfd, name, READ_FLAGS)) < 0)
		rc = open_error(path, err);
	else
		rc = read_fd(fd, path, max, out, len, err);
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
