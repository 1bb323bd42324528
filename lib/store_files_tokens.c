/* The files backend: token transactions.  STORE/tokens/USER is replaced
 * atomically under the exclusive flock of STORE/tokens/USER.lock, which is
 * never unlinked (unlinking a lock file lets two holders lock different
 * files).  Every lock of the files backend is taken here, with a deadline. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "store_files.h"

#define BACKOFF_MAX 8 /* ms between two tries of a lock, at most */

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

/* Open lock file PATH (creating it): a regular file owned by us. */
static int
open_lock(const char *path, int *fd_out, struct ct_err *err)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		return ct_err_set(err, errno == ELOOP ? CT_EPERM : CT_EIO, "%s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return ct_err_set(err, CT_EPERM, "%s: not a regular file owned by uid %u", path,
		    (unsigned)geteuid());
	}
	*fd_out = fd;
	return CT_OK;
}

/* Sleep MS milliseconds (a signal may cut it short). */
static void
nap(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The waiting room: a shared OFD lock on byte 1 of the lock file, held by
 * every process that waits (the lock itself is the flock of the whole
 * file; on Linux the two kinds do not interact).  A newcomer that finds
 * someone waiting does not take a lock that was just let go but waits
 * with them, so a process that runs transactions back to back cannot
 * starve the pollers.  Closing the file leaves the room. */
static int
room(int fd, int cmd, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1};

	if (fcntl(fd, cmd, &fl) != 0)
		return 0;
	return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 1;
}

/* Take FD's exclusive lock before DEADLINE_MS: never a blocking flock, so a
 * holder that never lets go costs us the deadline and no more. */
static int
lock_until(int fd, const char *path, int64_t deadline_ms, const char *what, struct ct_err *err)
{
	int64_t start = ct_now_ms(), left, backoff = 1;
	int waiting = 0, rc = CT_OK;

	for (;;) {
		if (waiting || !room(fd, F_OFD_GETLK, F_WRLCK)) {
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				break;
			if (errno != EWOULDBLOCK && errno != EINTR) {
				rc = ct_err_set(
				    err, CT_EIO, "%s: cannot lock: %s", path, strerror(errno));
				break;
			}
		} else
			backoff = BACKOFF_MAX; /* behind those already waiting */
		waiting = waiting || room(fd, F_OFD_SETLK, F_RDLCK);
		if ((left = deadline_ms - ct_now_ms()) <= 0) {
			rc = ct_err_set(err, CT_EUNAVAIL,
			    "%s is held by another process; gave up after %.1f s", what,
			    (double)(ct_now_ms() - start) / 1000.0);
			break;
		}
		nap(backoff < left ? backoff : left);
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	}
	if (waiting)
		room(fd, F_OFD_SETLK, F_UNLCK);
	return rc;
}

int
ct_files_lock(
    const char *path, int64_t deadline_ms, const char *what, int *fd_out, struct ct_err *err)
{
	int fd = -1, rc;

	if ((rc = open_lock(path, &fd, err)) != CT_OK)
		return rc;
	if ((rc = lock_until(fd, path, deadline_ms, what, err)) != CT_OK) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return CT_OK;
}

int
ct_files_tx_begin(struct ct_store *st, const char *user, int64_t deadline_ms,
    struct ct_tokens_tx **out, struct ct_err *err)
{
	struct ct_files_store *fs = ct_files_of(st);
	struct files_tx *tx;
	char *lock = NULL, what[CT_USER_MAX + 48];
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
	snprintf(what, sizeof(what), "token store: the lock of user %s", user);
	if ((rc = ct_files_lock(
	         lock, ct_store_lock_deadline(st, deadline_ms), what, &tx->lock_fd, err)) != CT_OK)
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
ct_files_tokens_exists(struct ct_store *st, const char *user, int64_t deadline_ms)
{
	(void)deadline_ms; /* a stat does not wait */
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
