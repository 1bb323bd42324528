/* certtoken-enroll: the user's files.  Everything here runs as the user and
 * touches only what the user owns: inputs named on the command line and
 * $XDG_CONFIG_HOME/certtoken/TARGET/, where keys and certificates go. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "enroll.h"
#include "store.h"

int
enroll_read_input(
    const char *path, size_t max, unsigned char **out, size_t *len, struct ct_err *err)
{
	struct ct_open_policy pol = {CT_OWNER_ANY, 0, 0, max, 1, 0, NULL};
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ct_safe_read(path, &pol, &buf, &n, err)) != CT_OK)
		return rc == CT_ENOMEM ? rc : CT_EINVAL;
	if (n == 0) {
		free(buf);
		return ct_err_set(err, CT_EINVAL, "%s: empty", path);
	}
	*out = buf;
	*len = n;
	return CT_OK;
}

int
enroll_target_dir(const char *target, char *out, size_t size, struct ct_err *err)
{
	const char *base = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (base != NULL && base[0] == '/')
		n = snprintf(out, size, "%s/certtoken/%s", base, target);
	else {
		if (home == NULL || home[0] != '/') {
			if ((pw = getpwuid(getuid())) == NULL || pw->pw_dir[0] != '/')
				return ct_err_set(err, CT_EIO, "cannot find your home directory");
			home = pw->pw_dir;
		}
		n = snprintf(out, size, "%s/.config/certtoken/%s", home, target);
	}
	if (n < 0 || (size_t)n >= size)
		return ct_err_set(err, CT_EIO, "configuration directory path too long");
	return CT_OK;
}

/* mkdir -p PATH with mode 0700 for what it creates. */
static int
mkdir_p(char *path, struct ct_err *err)
{
	char *p, c;

	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
			*p = c;
			return CT_EIO;
		}
		*p = c;
		if (c == '\0')
			return CT_OK;
	}
}

/* The last DEPTH components of PATH must be real directories of ours that
 * nobody else can write. */
static int
check_own_dirs(char *path, int depth, struct ct_err *err)
{
	struct stat st;
	char *p, c;
	int n = 0;

	for (p = path + strlen(path); n < depth && p > path; p--) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
		    (st.st_mode & 022) != 0) {
			ct_err_set(err, CT_EIO,
			    "%s: must be a directory of yours that group and others cannot write",
			    path);
			*p = c;
			return CT_EIO;
		}
		*p = c;
		n++;
	}
	return CT_OK;
}

/* The last DEPTH components (certtoken/ and TARGET/) are checked: the key
 * goes there. */
int
enroll_make_dirs(char *path, int depth, struct ct_err *err)
{
	int rc;

	if ((rc = mkdir_p(path, err)) != CT_OK)
		return rc;
	return check_own_dirs(path, depth, err);
}

int
enroll_write_pem(
    const char *path, int (*writer)(BIO *, void *), void *obj, mode_t mode, struct ct_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int rc;

	if (bio == NULL || writer(bio, obj) != 1) {
		BIO_free(bio);
		return ct_err_set(err, CT_ECRYPTO, "%s: cannot encode", path);
	}
	n = BIO_get_mem_data(bio, &data);
	rc = ct_file_write_atomic(path, data, (size_t)n, mode, 0, err);
	OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	return rc;
}

int
enroll_key_writer(BIO *bio, void *key)
{
	return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
}

int
enroll_cert_writer(BIO *bio, void *x)
{
	return PEM_write_bio_X509(bio, x);
}

int
enroll_install_pair(
    const char *target, EVP_PKEY *key, X509 *x, char *dir, size_t dir_size, struct ct_err *err)
{
	char path[4200] = "", path2[4200] = "", final[4200], final2[4200];
	int rc;

	if ((rc = enroll_target_dir(target, dir, dir_size, err)) != CT_OK ||
	    (rc = enroll_make_dirs(dir, 2, err)) != CT_OK)
		return rc;
	/* both files complete (and synced) under new names first, then two
	 * renames: a failure before them leaves the previous pair untouched */
	snprintf(path, sizeof(path), "%s/key.pem.new", dir);
	snprintf(path2, sizeof(path2), "%s/cert.pem.new", dir);
	if ((rc = enroll_write_pem(path, enroll_key_writer, key, 0600, err)) != CT_OK ||
	    (rc = enroll_write_pem(path2, enroll_cert_writer, x, 0644, err)) != CT_OK)
		goto out;
	snprintf(final, sizeof(final), "%s/key.pem", dir);
	snprintf(final2, sizeof(final2), "%s/cert.pem", dir);
	if (rename(path, final) != 0 || rename(path2, final2) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	path[0] = path2[0] = '\0';
out:
	if (path[0] != '\0')
		unlink(path);
	if (path2[0] != '\0')
		unlink(path2);
	return rc;
}
