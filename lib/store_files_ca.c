/* The files backend: a snapshot of an access group's CA material, the
 * directory STORE/groups/GROUP opened once (under the group's lock when it
 * is to be changed), and its version (layout in store_files.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_files.h"

/* Each item's file in the group directory, in the order of enum ct_ca_item. */
static const char *const item_files[CT_CA_ITEMS] = {"ca.pem", "ca.key", "previous.pem",
    "previous.key", "previous.until", "next.pem", "next.key", "crl.number", "ssh_ca.key",
    "ssh_ca.pub", "previous_ssh.key", "previous_ssh.pub", "next_ssh.key", "next_ssh.pub"};

int
ct_files_ca_dir(struct ct_store *st, const char *group, int create, char **out, struct ct_err *err)
{
	const char *store = ct_files_of(st)->path;
	char *groups = NULL, *dir = NULL;
	int rc;

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

const char *
ct_files_ca_file(enum ct_ca_item item)
{
	return item_files[item];
}

char *
ct_files_ca_aux(const char *dir, const char *suffix)
{
	const char *base = strrchr(dir, '/') + 1;
	size_t len = strlen(dir) + strlen(suffix) + 2;
	char *p = malloc(len);

	if (p != NULL)
		snprintf(p, len, "%.*s.%s%s", (int)(base - dir), dir, base, suffix);
	return p;
}

int
ct_files_ca_lock(const char *dir, int64_t deadline_ms, int *out, struct ct_err *err)
{
	char *path = ct_files_ca_aux(dir, ".lock"), what[CT_NAME_MAX + 48];
	int rc;

	if (path == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	snprintf(what, sizeof(what), "store: the lock of access group %s", strrchr(dir, '/') + 1);
	rc = ct_files_lock(path, deadline_ms, what, out, err);
	free(path);
	return rc;
}

static struct ct_files_cadir *
files_cadir_of(const struct ct_cadir *s)
{
	return (struct ct_files_cadir *)s;
}

void
ct_files_ca_close(struct ct_cadir *base)
{
	struct ct_files_cadir *s = files_cadir_of(base);

	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->lock >= 0)
		close(s->lock);
	free(s->dir);
	free(s);
}

/* (Re)open the group directory of S. */
static int
reopen(struct ct_files_cadir *s, struct ct_err *err)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return ct_store_open_dir(s->dir, &s->fd, &s->st, err);
}

int
ct_files_ca_open(struct ct_store *st, const char *group, unsigned flags, struct ct_cadir **out,
    struct ct_err *err)
{
	struct ct_files_cadir *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	s->fd = s->lock = -1;
	/* look before locking, so that a group without a CA gets no lock file;
	 * after the lock, again: a rotation may have replaced it meanwhile */
	if ((rc = ct_files_ca_dir(st, group, 0, &s->dir, err)) != CT_OK ||
	    (rc = reopen(s, err)) != CT_OK ||
	    ((flags & CT_CADIR_CHANGE) &&
	        ((rc = ct_files_ca_lock(s->dir, ct_store_lock_deadline(st, 0), &s->lock, err)) !=
	                CT_OK ||
	            (rc = reopen(s, err)) != CT_OK)))
		goto out;
	s->base.where = s->dir;
	s->base.names = item_files;
	*out = &s->base;
	s = NULL;
out:
	ct_files_ca_close(s != NULL ? &s->base : NULL);
	return rc;
}

int
ct_files_ca_current(const struct ct_cadir *base)
{
	const struct ct_files_cadir *s = files_cadir_of(base);
	struct stat st;

	return lstat(s->dir, &st) == 0 && st.st_dev == s->st.st_dev && st.st_ino == s->st.st_ino;
}

int
ct_files_ca_has(const struct ct_cadir *base, enum ct_ca_item item)
{
	struct stat st;

	return fstatat(files_cadir_of(base)->fd, item_files[item], &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT;
}

/* File ITEM of the snapshot: CT_ENOENT when it has none. */
static int
read_file(const struct ct_cadir *base, enum ct_ca_item item, unsigned char **data, size_t *len,
    struct ct_err *err)
{
	const struct ct_files_cadir *s = files_cadir_of(base);

	return ct_file_readat(s->fd, s->dir, item_files[item], CT_FILE_MAX, data, len, err);
}

int
ct_files_ca_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data, size_t *len,
    struct ct_err *err)
{
	if (ct_ca_item_is_key(item))
		return ct_err_set(err, CT_EINVAL, "%s/%s: not public", s->where, item_files[item]);
	return read_file(s, item, data, len, err);
}

int
ct_files_ca_key_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data,
    size_t *len, struct ct_err *err)
{
	if (!ct_ca_item_is_key(item))
		return ct_err_set(err, CT_EINVAL, "%s/%s: not a key", s->where, item_files[item]);
	return read_file(s, item, data, len, err);
}

/* The device, inode and mtime of the current CA's certificate file: a
 * rotation puts a new file in its place (a new directory), so the device
 * and inode tell a rotation even within the mtime's granularity. */
int
ct_files_ca_version(
    struct ct_store *st, const char *group, struct ct_ca_version *out, struct ct_err *err)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/groups/%s/%s", ct_files_of(st)->path, group,
	    item_files[CT_CA_CERT]);
	if (stat(path, &sb) != 0)
		return ct_err_set(
		    err, errno == ENOENT ? CT_ENOENT : CT_EIO, "%s: %s", path, strerror(errno));
	snprintf(out->id, sizeof(out->id), "%ju:%ju:%lld.%09ld", (uintmax_t)sb.st_dev,
	    (uintmax_t)sb.st_ino, (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
	return CT_OK;
}
