/* The files backend: token transactions.  STORE/tokens/USER is replaced
 * atomically under the exclusive flock of STORE/tokens/USER.lock, which is
 * never unlinked (unlinking a lock file lets two holders lock different
 * files). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_files.h"

struct files_tx {
	struct ct_tokens_tx base;
	char *path; /* STORE/tokens/USER */
	int lock_fd; /* flock(LOCK_EX) held while open */
};

static int
sync_dir(const char *dir, struct ct_err *err)
{
	int fd, rc = CT_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ct_err_set(err, CT_EIO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		rc = ct_err_set(err, CT_EIO, "%s: cannot sync: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

static int
remove_file(const struct files_tx *tx, struct ct_err *err)
{
	if (unlink(tx->path) != 0) {
		if (errno == ENOENT)
			return CT_OK;
		return ct_err_set(err, CT_EIO, "%s: cannot remove: %s", tx->path, strerror(errno));
	}
	return sync_dir(ct_files_of(tx->base.st)->tokens_dir, err);
}

int
ct_files_lock(const char *path, int *fd_out, struct ct_err *err)
{
	struct stat st;
	int fd, rc;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		return ct_err_set(err, errno == ELOOP ? CT_EPERM : CT_EIO, "%s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		rc = ct_err_set(err, CT_EPERM, "%s: not a regular file owned by uid %u", path,
		    (unsigned)geteuid());
		goto fail;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = ct_err_set(err, CT_EIO, "%s: cannot lock: %s", path, strerror(errno));
			goto fail;
		}
	}
	*fd_out = fd;
	return CT_OK;
fail:
	close(fd);
	return rc;
}

int
ct_files_tx_begin(
    struct ct_store *st, const char *user, struct ct_tokens_tx **out, struct ct_err *err)
{
	struct ct_files_store *fs = ct_files_of(st);
	struct files_tx *tx;
	char *lock = NULL;
	int rc;

	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	tx->base.st = st;
	tx->lock_fd = -1;
	strcpy(tx->base.user, user);
	if ((tx->path = ct_path_join(fs->tokens_dir, user)) == NULL ||
	    (lock = malloc(strlen(tx->path) + sizeof(CT_FILES_LOCK_SUFFIX))) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	sprintf(lock, "%s%s", tx->path, CT_FILES_LOCK_SUFFIX);
	if ((rc = ct_files_lock(lock, &tx->lock_fd, err)) != CT_OK)
		goto out;
	*out = &tx->base;
	tx = NULL;
out:
	free(lock);
	ct_files_tx_end(tx != NULL ? &tx->base : NULL);
	return rc;
}

int
ct_files_tx_read(struct ct_tokens_tx *base, struct ct_user_tokens *out, struct ct_err *err)
{
	struct files_tx *tx = (struct files_tx *)base;

	return ct_files_tokens_load(&ct_files_of(base->st)->keys, base->user, tx->path, out, err);
}

int
ct_files_tx_write(struct ct_tokens_tx *base, const struct ct_user_tokens *in, struct ct_err *err)
{
	struct files_tx *tx = (struct files_tx *)base;

	if (in->n == 0)
		return remove_file(tx, err);
	return ct_files_tokens_save(&ct_files_of(base->st)->keys, base->user, tx->path, in, err);
}

void
ct_files_tx_end(struct ct_tokens_tx *base)
{
	struct files_tx *tx = (struct files_tx *)base;

	if (tx == NULL)
		return;
	if (tx->lock_fd >= 0)
		close(tx->lock_fd); /* releases the flock */
	free(tx->path);
	free(tx);
}

int
ct_files_tokens_peek(
    struct ct_store *st, const char *user, struct ct_user_tokens *out, struct ct_err *err)
{
	struct ct_files_store *fs = ct_files_of(st);
	char *path;
	int rc;

	if ((path = ct_path_join(fs->tokens_dir, user)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	/* writers replace the file by rename: an unlocked read sees a whole file */
	rc = ct_files_tokens_load(&fs->keys, user, path, out, err);
	free(path);
	return rc;
}

int
ct_files_tokens_exists(struct ct_store *st, const char *user)
{
	struct stat sb;
	char *path;
	int rc;

	if ((path = ct_path_join(ct_files_of(st)->tokens_dir, user)) == NULL)
		return 1; /* cannot tell: the transaction will say */
	rc = lstat(path, &sb) == 0 || errno != ENOENT;
	free(path);
	return rc;
}

/* Is directory entry DE of DIRFD a user's token file? */
static int
is_user_file(int dir_fd, const struct dirent *de)
{
	struct stat st;

	if (!ct_tokens_user_valid(de->d_name))
		return 0;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_REG;
	return fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int
ct_files_tokens_foreach_user(struct ct_store *st, ct_user_fn fn, void *ctx, struct ct_err *err)
{
	const char *dir = ct_files_of(st)->tokens_dir;
	struct dirent *de;
	DIR *d;
	int rc = CT_OK;

	if ((d = opendir(dir)) == NULL)
		return ct_err_set(err, CT_EIO, "%s: %s", dir, strerror(errno));
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				rc = ct_err_set(err, CT_EIO, "%s: %s", dir, strerror(errno));
			break;
		}
		if (is_user_file(dirfd(d), de) && (rc = fn(ctx, de->d_name)) != 0)
			break;
	}
	closedir(d);
	return rc;
}
