/* The files backend: storing an access group's CA material, whole.  `ca
 * init` builds the group directory under a temporary name and renames it
 * into place; a rotation or preparation builds it in STORE/groups/.GROUP.rotate
 * and swaps it with the group directory in one step (renameat2
 * RENAME_EXCHANGE), under the lock STORE/groups/.GROUP.lock (never
 * unlinked), then removes the replaced one. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_files.h"

/* Remove PATH, a directory of plain files left by a rotation; nothing to do
 * when it does not exist. */
static int
remove_flat_dir(const char *path, struct ct_err *err)
{
	struct dirent *de;
	int fd, rc = CT_OK, removed;
	DIR *d;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || ((errno == ELOOP || errno == ENOTDIR) && unlink(path) == 0))
			return CT_OK;
		return ct_err_set(err, CT_EIO, "%s: cannot remove: %s", path, strerror(errno));
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return ct_err_set(err, CT_EIO, "%s: cannot remove: %s", path, strerror(errno));
	}
	do { /* again until empty: removing while reading may skip entries */
		removed = 0;
		rewinddir(d);
		while (rc == CT_OK && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) != 0)
				rc = ct_err_set(err, CT_EIO, "%s/%s: cannot remove: %s", path,
				    de->d_name, strerror(errno));
			removed++;
		}
	} while (rc == CT_OK && removed > 0);
	closedir(d);
	if (rc == CT_OK && rmdir(path) != 0)
		rc = ct_err_set(err, CT_EIO, "%s: cannot remove: %s", path, strerror(errno));
	return rc;
}

/* Write each item C has into its file in the new directory TMP (0600,
 * exclusively). */
static int
write_items(const char *tmp, const struct ct_ca_content *c, struct ct_err *err)
{
	char *path;
	int i, rc = CT_OK;

	for (i = 0; rc == CT_OK && i < CT_CA_ITEMS; i++) {
		if (c->item[i].data == NULL)
			continue;
		if ((path = ct_path_join(tmp, ct_files_ca_file((enum ct_ca_item)i))) == NULL)
			return ct_err_set(err, CT_ENOMEM, "out of memory");
		rc = ct_file_write_atomic(path, c->item[i].data, c->item[i].len, 0600, 1, err);
		free(path);
	}
	return rc;
}

/* Rename the complete directory TMP to DIR, which must not exist. */
static int
rename_new(const char *tmp, const char *dir, struct ct_err *err)
{
	int exists;

	if (rename(tmp, dir) == 0)
		return CT_OK;
	exists = errno == EEXIST || errno == ENOTEMPTY;
	return ct_err_set(err, exists ? CT_EEXIST : CT_EIO, "%s: %s", dir,
	    exists ? "the access group already has a CA" : strerror(errno));
}

/* The first CA material of GROUP: written into a fresh directory that is
 * renamed to STORE/groups/GROUP, so a group has a complete CA or none. */
int
ct_files_ca_create(
    struct ct_store *st, const char *group, const struct ct_ca_content *c, struct ct_err *err)
{
	char *dir = NULL, *tmp = NULL;
	size_t len;
	int rc;

	if ((rc = ct_files_ca_dir(st, group, 1, &dir, err)) != CT_OK)
		return rc;
	if (access(dir, F_OK) == 0) {
		rc = ct_err_set(
		    err, CT_EEXIST, "access group '%s' already has a CA (%s)", group, dir);
		goto out;
	}
	len = strlen(dir) + 16;
	if ((tmp = malloc(len)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(tmp, len, "%s.new.XXXXXX", dir);
	if (mkdtemp(tmp) == NULL) {
		rc = ct_err_set(
		    err, CT_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
		goto out;
	}
	if ((rc = write_items(tmp, c, err)) == CT_OK)
		rc = rename_new(tmp, dir, err);
	if (rc != CT_OK)
		(void)remove_flat_dir(tmp, NULL);
out:
	free(tmp);
	free(dir);
	return rc;
}

/* Swap the complete directory TMP with the group directory DIR in one step,
 * and make that durable. */
static int
exchange_dirs(const char *tmp, const char *dir, struct ct_err *err)
{
	char *groups = strdup(dir);
	int fd, rc = CT_OK;

	if (groups == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	*strrchr(groups, '/') = '\0';
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) != 0)
		rc = ct_err_set(err, CT_EIO,
		    "%s: cannot exchange it with %s (renameat2 RENAME_EXCHANGE; the file system "
		    "must support it): %s",
		    dir, tmp, strerror(errno));
	else if ((fd = open(groups, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		rc = ct_err_set(
		    err, CT_EIO, "%s: cannot sync directory: %s", groups, strerror(errno));
		if (fd >= 0)
			close(fd);
	} else
		close(fd);
	free(groups);
	return rc;
}

/* Build the group directory C beside the snapshot's and swap it in; then
 * remove the replaced one (a failure there leaves it for the next change). */
int
ct_files_ca_replace(struct ct_cadir *base, const struct ct_ca_content *c, struct ct_err *err)
{
	const struct ct_files_cadir *s = (const struct ct_files_cadir *)base;
	char *tmp;
	int rc;

	if (s->lock < 0)
		return ct_err_set(err, CT_EINVAL, "%s: not opened to be changed", s->dir);
	if ((tmp = ct_files_ca_aux(s->dir, ".rotate")) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = remove_flat_dir(tmp, err)) == CT_OK) {
		if (mkdir(tmp, 0700) != 0)
			rc = ct_err_set(
			    err, CT_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
		else if ((rc = write_items(tmp, c, err)) == CT_OK)
			rc = exchange_dirs(tmp, s->dir, err);
	}
	/* the replaced directory after the exchange, else the unused new one */
	(void)remove_flat_dir(tmp, NULL);
	free(tmp);
	return rc;
}

/* STORE/crl/GROUP.pem into *OUT (malloc'd); STORE/crl is created when
 * CREATE, else checked. */
static int
crl_path(struct ct_store *st, const char *group, int create, char **out, struct ct_err *err)
{
	char *dir = ct_path_join(ct_files_of(st)->path, "crl"), *path = NULL;
	size_t len;
	int rc;

	if (dir == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = create ? ct_store_mkdir(dir, err) : ct_store_check_dir(dir, err)) == CT_OK) {
		len = strlen(dir) + strlen(group) + 6;
		if ((path = malloc(len)) == NULL)
			rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		else
			snprintf(path, len, "%s/%s.pem", dir, group);
	}
	free(dir);
	*out = path;
	return rc;
}

int
ct_files_crl_publish(
    struct ct_store *st, const char *group, const char *pem, size_t len, struct ct_err *err)
{
	char *path = NULL;
	int rc;

	if ((rc = crl_path(st, group, 1, &path, err)) == CT_OK)
		rc = ct_file_write_atomic(path, pem, len, 0600, 0, err);
	free(path);
	return rc;
}

int
ct_files_crl_read(
    struct ct_store *st, const char *group, unsigned char **pem, size_t *len, struct ct_err *err)
{
	char *path = NULL;
	int rc;

	if ((rc = crl_path(st, group, 0, &path, err)) == CT_OK)
		rc = ct_file_read(path, CT_FILE_MAX, pem, len, err);
	free(path);
	return rc;
}
