/* CA rotation and preparation (rotate.h). */
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

#include <openssl/crypto.h>

#include "ca.h"
#include "cadir.h"
#include "rotate.h"
#include "store.h"

/* STORE/groups/.GROUP SUFFIX for the group directory DIR (STORE/groups/GROUP):
 * a name no group can have, since group names never start with a dot. */
static char *
group_aux_path(const char *dir, const char *suffix)
{
	const char *base = strrchr(dir, '/') + 1;
	size_t len = strlen(dir) + strlen(suffix) + 2;
	char *p = malloc(len);

	if (p != NULL)
		snprintf(p, len, "%.*s.%s%s", (int)(base - dir), dir, base, suffix);
	return p;
}

/* Take the lock that serialises the rotations of the group in DIR (the file
 * is never unlinked); gives its descriptor, closing it releases the lock. */
static int
lock_group(const char *dir, int *out, struct ct_err *err)
{
	char *path = group_aux_path(dir, ".lock");
	int fd, rc = CT_OK;

	if (path == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		rc = ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
	while (fd >= 0 && flock(fd, LOCK_EX) != 0)
		if (errno != EINTR) {
			rc = ct_err_set(err, CT_EIO, "%s: cannot lock: %s", path, strerror(errno));
			close(fd);
			fd = -1;
		}
	if (rc == CT_OK)
		*out = fd;
	free(path);
	return rc;
}

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

/* The files of a group directory being built: at most FILES_MAX, each NAME
 * with LEN bytes of DATA (malloc'd, owned, wiped when freed: keys among them). */
#define FILES_MAX 8

struct group_files {
	size_t n;
	struct {
		const char *name;
		unsigned char *data;
		size_t len;
	} f[FILES_MAX];
};

static void
files_clear(struct group_files *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		OPENSSL_cleanse(fs->f[i].data, fs->f[i].len);
		free(fs->f[i].data);
	}
	memset(fs, 0, sizeof(*fs));
}

/* Add file NAME holding LEN bytes of DATA, which FS owns from now on (also
 * when this fails). */
static int
files_add(
    struct group_files *fs, const char *name, unsigned char *data, size_t len, struct ct_err *err)
{
	if (data == NULL || fs->n == FILES_MAX) {
		if (data != NULL)
			OPENSSL_cleanse(data, len);
		free(data);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	fs->f[fs->n].name = name;
	fs->f[fs->n].data = data;
	fs->f[fs->n].len = len;
	fs->n++;
	return CT_OK;
}

/* Add file NAME holding a copy of B's contents. */
static int
files_add_buf(struct group_files *fs, const char *name, const BUF_MEM *b, struct ct_err *err)
{
	unsigned char *data = malloc(b->length > 0 ? b->length : 1);

	if (data != NULL)
		memcpy(data, b->data, b->length);
	return files_add(fs, name, data, b->length, err);
}

/* Add file NAME holding what file FROM of S holds, byte for byte. */
static int
files_copy(struct group_files *fs, const struct ct_cadir *s, const char *from, const char *name,
    struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ct_cadir_read(s, from, &data, &len, err)) != CT_OK)
		return rc;
	return files_add(fs, name, data, len, err);
}

/* Add a new CA for G at NOW as files KEY and CERT; its certificate into *OUT. */
static int
files_new_ca(struct group_files *fs, const struct ct_group *g, time_t now, const char *key,
    const char *cert, X509 **out, struct ct_err *err)
{
	struct ct_ca_pem pem = {0};
	int rc;

	if ((rc = ct_ca_generate(g, now, &pem, err)) == CT_OK &&
	    (rc = files_add_buf(fs, key, pem.key, err)) == CT_OK &&
	    (rc = files_add_buf(fs, cert, pem.cert, err)) == CT_OK) {
		*out = pem.x509;
		pem.x509 = NULL;
	}
	ct_ca_pem_clear(&pem);
	return rc;
}

/* Add previous.until: the previous CA is trusted until UNTIL. */
static int
files_add_until(struct group_files *fs, time_t until, struct ct_err *err)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%lld\n", (long long)until);
	unsigned char *data = malloc((size_t)n);

	if (data != NULL)
		memcpy(data, text, (size_t)n);
	return files_add(fs, CT_CADIR_UNTIL, data, (size_t)n, err);
}

/* Write the files of FS into the new directory TMP. */
static int
files_write(const char *tmp, const struct group_files *fs, struct ct_err *err)
{
	char *path;
	size_t i;
	int rc = CT_OK;

	if (mkdir(tmp, 0700) != 0)
		return ct_err_set(
		    err, CT_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
	for (i = 0; rc == CT_OK && i < fs->n; i++) {
		if ((path = ct_path_join(tmp, fs->f[i].name)) == NULL)
			return ct_err_set(err, CT_ENOMEM, "out of memory");
		rc = ct_file_write_atomic(path, fs->f[i].data, fs->f[i].len, 0600, 1, err);
		free(path);
	}
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

/* Open GROUP's directory in STORE under the lock of its rotations (into
 * *LOCK, which the caller closes). */
static int
open_locked(const char *store, const char *group, struct ct_cadir *s, int *lock, struct ct_err *err)
{
	int rc;

	/* look before locking, so that a group without a CA gets no lock file */
	if ((rc = ct_cadir_open(store, group, s, err)) != CT_OK ||
	    (rc = lock_group(s->dir, lock, err)) != CT_OK)
		return rc;
	ct_cadir_close(s); /* a rotation may have replaced it before we got the lock */
	return ct_cadir_open(store, group, s, err);
}

/* Build the group directory FS beside DIR and swap it in; then remove the
 * replaced one (a failure there leaves it for the next rotation). */
static int
group_publish(const char *dir, const struct group_files *fs, struct ct_err *err)
{
	char *tmp = group_aux_path(dir, ".rotate");
	int rc;

	if (tmp == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = remove_flat_dir(tmp, err)) == CT_OK && (rc = files_write(tmp, fs, err)) == CT_OK)
		rc = exchange_dirs(tmp, dir, err);
	/* the replaced directory after the exchange, else the unused new one */
	(void)remove_flat_dir(tmp, NULL);
	free(tmp);
	return rc;
}

/* Under the lock: read the current CA of S (it must be sound, as it becomes
 * the previous one) and the previous CA it may still have, into OUT. */
static int
rotate_read(const struct ct_cadir *s, const struct ct_group *g, time_t now, struct ct_rotation *out,
    struct ct_err *err)
{
	struct ct_ca *old = NULL;
	time_t until = 0;
	int rc;

	if ((rc = ct_ca_read(s, g->name, "ca.key", "ca.pem", &old, err)) != CT_OK)
		return rc;
	out->previous = ct_ca_cert(old);
	X509_up_ref(out->previous);
	ct_ca_free(old);
	/* an older previous CA still trusted is dropped: report it if it can be read */
	if (ct_cadir_until(s, &until, NULL) == CT_OK && now < until &&
	    ct_cadir_pem(s, "previous.pem", &out->dropped, NULL, NULL) == CT_OK)
		out->dropped_until = until;
	return CT_OK;
}

/* The prepared CA of S becomes the current one: ca.key and ca.pem of FS, its
 * certificate into OUT->cert.  It must be sound and not expired at NOW. */
static int
take_prepared(const struct ct_cadir *s, const char *group, time_t now, struct group_files *fs,
    struct ct_rotation *out, struct ct_err *err)
{
	struct ct_ca *next = NULL;
	int rc;

	if ((rc = ct_ca_read(s, group, CT_CADIR_NEXT_KEY, CT_CADIR_NEXT_PEM, &next, err)) != CT_OK)
		return rc;
	if (now >= ct_ca_not_after(next))
		rc = ct_err_set(err, CT_EINVAL,
		    "%s/%s: the prepared CA has expired; prepare another one "
		    "(ca rotate %s --prepare --replace)",
		    s->dir, CT_CADIR_NEXT_PEM, group);
	else if ((rc = files_copy(fs, s, CT_CADIR_NEXT_KEY, "ca.key", err)) == CT_OK &&
	    (rc = files_copy(fs, s, CT_CADIR_NEXT_PEM, "ca.pem", err)) == CT_OK) {
		out->cert = ct_ca_cert(next);
		X509_up_ref(out->cert);
		out->prepared = 1;
	}
	ct_ca_free(next);
	return rc;
}

/* Under the lock: the files of S after rotating G at NOW with OVERLAP seconds
 * (see ct_ca_rotate), and what that does into OUT. */
static int
rotate_build(const struct ct_cadir *s, const struct ct_group *g, time_t now, long overlap,
    unsigned flags, struct group_files *fs, struct ct_rotation *out, struct ct_err *err)
{
	int rc;

	if ((rc = rotate_read(s, g, now, out, err)) != CT_OK)
		return rc;
	if (!ct_cadir_has(s, CT_CADIR_NEXT_PEM))
		rc = files_new_ca(fs, g, now, "ca.key", "ca.pem", &out->cert, err);
	else if (flags & CT_ROTATE_GENERATE)
		rc = ct_err_set(err, CT_EEXIST,
		    "access group '%s' has a prepared CA (%s/%s), which a new CA would discard: "
		    "rotate to it as it is, or replace it first (ca rotate %s --prepare --replace)",
		    g->name, s->dir, CT_CADIR_NEXT_PEM, g->name);
	else
		rc = take_prepared(s, g->name, now, fs, out, err);
	if (rc != CT_OK || overlap == 0)
		return rc;
	if ((rc = files_copy(fs, s, "ca.key", "previous.key", err)) != CT_OK ||
	    (rc = files_copy(fs, s, "ca.pem", "previous.pem", err)) != CT_OK)
		return rc;
	return files_add_until(fs, now + overlap, err);
}

int
ct_ca_rotate(const char *store, const struct ct_group *g, time_t now, long overlap, unsigned flags,
    struct ct_rotation *out, struct ct_err *err)
{
	struct ct_rotation res = {0};
	struct group_files fs = {0};
	struct ct_cadir s = {.fd = -1};
	int lock = -1, rc;

	if (overlap < 0 || overlap > CT_OVERLAP_MAX)
		return ct_err_set(err, CT_EINVAL,
		    "an overlap of %ld seconds is not within 0 to %ld", overlap,
		    (long)CT_OVERLAP_MAX);
	if ((rc = open_locked(store, g->name, &s, &lock, err)) != CT_OK ||
	    (rc = rotate_build(&s, g, now, overlap, flags, &fs, &res, err)) != CT_OK ||
	    (rc = group_publish(s.dir, &fs, err)) != CT_OK)
		goto out;
	res.until = now + overlap;
	*out = res;
	memset(&res, 0, sizeof(res));
out:
	ct_rotation_clear(&res);
	files_clear(&fs);
	ct_cadir_close(&s);
	if (lock >= 0)
		close(lock);
	return rc;
}

/* Under the lock: the files of S with a new next CA for G at NOW (its
 * certificate into *NEXT); the current and previous CA's files unchanged. */
static int
prepare_build(const struct ct_cadir *s, const struct ct_group *g, time_t now, int replace,
    struct group_files *fs, X509 **next, X509 **replaced, struct ct_err *err)
{
	static const char *const keep[] = {"previous.key", "previous.pem", CT_CADIR_UNTIL};
	struct ct_ca *cur = NULL;
	size_t i;
	int rc;

	/* the current CA must be sound: it signs until the rotation */
	if ((rc = ct_ca_read(s, g->name, "ca.key", "ca.pem", &cur, err)) != CT_OK)
		return rc;
	ct_ca_free(cur);
	if (ct_cadir_has(s, CT_CADIR_NEXT_PEM)) {
		if (!replace)
			return ct_err_set(err, CT_EEXIST,
			    "access group '%s' already has a prepared CA (%s/%s); it becomes the "
			    "current CA at the next rotation (ca rotate %s), or --replace discards "
			    "it",
			    g->name, s->dir, CT_CADIR_NEXT_PEM, g->name);
		(void)ct_cadir_pem(s, CT_CADIR_NEXT_PEM, replaced, NULL, NULL);
	}
	if ((rc = files_copy(fs, s, "ca.key", "ca.key", err)) != CT_OK ||
	    (rc = files_copy(fs, s, "ca.pem", "ca.pem", err)) != CT_OK)
		return rc;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (ct_cadir_has(s, keep[i]) &&
		    (rc = files_copy(fs, s, keep[i], keep[i], err)) != CT_OK)
			return rc;
	return files_new_ca(fs, g, now, CT_CADIR_NEXT_KEY, CT_CADIR_NEXT_PEM, next, err);
}

int
ct_ca_prepare(const char *store, const struct ct_group *g, time_t now, int replace, X509 **next,
    X509 **replaced, struct ct_err *err)
{
	struct group_files fs = {0};
	struct ct_cadir s = {.fd = -1};
	X509 *x = NULL, *old = NULL;
	int lock = -1, rc;

	if ((rc = open_locked(store, g->name, &s, &lock, err)) != CT_OK ||
	    (rc = prepare_build(&s, g, now, replace, &fs, &x, &old, err)) != CT_OK ||
	    (rc = group_publish(s.dir, &fs, err)) != CT_OK)
		goto out;
	*next = x;
	*replaced = old;
	x = old = NULL;
out:
	X509_free(x);
	X509_free(old);
	files_clear(&fs);
	ct_cadir_close(&s);
	if (lock >= 0)
		close(lock);
	return rc;
}

void
ct_rotation_clear(struct ct_rotation *r)
{
	X509_free(r->cert);
	X509_free(r->previous);
	X509_free(r->dropped);
	memset(r, 0, sizeof(*r));
}
