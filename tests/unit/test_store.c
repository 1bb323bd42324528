/* Safe reads and atomic writes of store files, and the one safe open. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

struct fixture {
	char dir[32];
	char path[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/ct-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/state", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void
test_write_then_read(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = NULL;
	struct ct_err err = {0};
	struct stat st;
	size_t len = 0;

	assert_int_equal(ct_file_write_atomic(f->path, "one", 3, 0600, 0, &err), CT_OK);
	assert_int_equal(ct_file_write_atomic(f->path, "second", 6, 0600, 0, &err), CT_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(ct_file_read(f->path, 100, &buf, &len, &err), CT_OK);
	assert_int_equal(len, 6);
	assert_string_equal((char *)buf, "second");
	free(buf);
}

static void
test_exclusive_write(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = NULL;
	struct ct_err err = {0};
	size_t len = 0;
	char cmd[96];

	assert_int_equal(ct_file_write_atomic(f->path, "first", 5, 0600, 1, &err), CT_OK);
	assert_int_equal(ct_file_write_atomic(f->path, "other", 5, 0600, 1, &err), CT_EEXIST);
	assert_int_equal(ct_file_read(f->path, 100, &buf, &len, &err), CT_OK);
	assert_string_equal((char *)buf, "first");
	free(buf);
	/* no temporary file is left behind */
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", f->dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_read_refusals(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = NULL;
	struct ct_err err = {0};
	char link[80];
	size_t len;

	assert_int_equal(ct_file_read(f->path, 100, &buf, &len, &err), CT_ENOENT);
	assert_int_equal(ct_file_write_atomic(f->path, "0123456789", 10, 0600, 0, &err), CT_OK);
	ct_err_clear(&err);
	assert_int_equal(ct_file_read(f->path, 5, &buf, &len, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "larger than 5 bytes"));
	/* a symbolic link is never followed */
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	ct_err_clear(&err);
	assert_int_equal(ct_file_read(link, 100, &buf, &len, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "symbolic link"));
	/* group- or world-writable files are refused */
	assert_int_equal(chmod(f->path, 0620), 0);
	ct_err_clear(&err);
	assert_int_equal(ct_file_read(f->path, 100, &buf, &len, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "writable by group or others"));
}

static void
test_dir_checks(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char sub[80];

	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	assert_int_equal(ct_store_check_dir(sub, &err), CT_ENOENT);
	assert_int_equal(ct_store_mkdir(sub, &err), CT_OK);
	assert_int_equal(ct_store_check_dir(sub, &err), CT_OK);
	assert_int_equal(chmod(sub, 0707), 0);
	ct_err_clear(&err);
	assert_int_equal(ct_store_check_dir(sub, &err), CT_EPERM);
	ct_err_clear(&err);
	assert_int_equal(ct_store_check_dir(f->path, &err), CT_ENOENT);
}

static void
test_path_join(void **state)
{
	char *p = ct_path_join("/a/b", "c");

	(void)state;
	assert_string_equal(p, "/a/b/c");
	free(p);
}

/* ---- the one safe open ---- */

static void
put_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* ct_safe_read of PATH with POL: its code, the message in ERR. */
static int
safe_read(const char *path, const struct ct_open_policy *pol, struct ct_err *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	ct_err_clear(err);
	rc = ct_safe_read(path, pol, &buf, &len, err);
	if (rc == CT_OK)
		assert_int_equal(len, strlen((char *)buf));
	free(buf);
	return rc;
}

static void
test_safe_open_symlink(void **state)
{
	struct fixture *f = *state;
	struct ct_open_policy pol = {CT_OWNER_ANY, 0, 0, 100, 0, 0, NULL};
	struct ct_err err = {0};
	char link[80];

	put_file(f->path, "data", 0644);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(safe_read(link, &pol, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "link: is a symbolic link"));
	/* followed only when the policy says so, and then the target is checked */
	pol.follow = 1;
	assert_int_equal(safe_read(link, &pol, &err), CT_OK);
	pol.forbidden = S_IROTH;
	assert_int_equal(safe_read(link, &pol, &err), CT_EPERM);
	/* a directory scan passes links over without a refusal */
	pol.follow = 0;
	pol.skip_special = 1;
	assert_int_equal(safe_read(link, &pol, &err), CT_ENOENT);
}

static void
test_safe_open_mode(void **state)
{
	struct fixture *f = *state;
	struct ct_open_policy pol = {CT_OWNER_ROOT, 0, S_IWGRP | S_IWOTH, 100, 0, 0, NULL};
	struct ct_err err = {0};
	char want[160];

	put_file(f->path, "data", 0644);
	assert_int_equal(safe_read(f->path, &pol, &err), CT_OK);
	assert_int_equal(chmod(f->path, 0664), 0);
	assert_int_equal(safe_read(f->path, &pol, &err), CT_EPERM);
	snprintf(want, sizeof(want), "%s: writable by group or others (mode 0664)", f->path);
	assert_string_equal(err.msg, want);
	assert_int_equal(chmod(f->path, 0646), 0);
	assert_int_equal(safe_read(f->path, &pol, &err), CT_EPERM);
	/* the caller's own reason, with the owner and mode */
	pol.unsafe = "must be owned by root";
	assert_int_equal(safe_read(f->path, &pol, &err), CT_EPERM);
	snprintf(want, sizeof(want), "%s: must be owned by root (owner %u, mode 0646)", f->path,
	    (unsigned)geteuid());
	assert_string_equal(err.msg, want);
	/* store files: no permission at all for group or others */
	pol = ct_store_policy(100);
	assert_int_equal(chmod(f->path, 0640), 0);
	assert_int_equal(safe_read(f->path, &pol, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "readable by group or others (mode 0640)"));
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(safe_read(f->path, &pol, &err), CT_OK);
}

static void
test_safe_open_owner(void **state)
{
	struct fixture *f = *state;
	struct ct_open_policy pol = {CT_OWNER_UID, 0, 0, 100, 0, 0, NULL};
	struct ct_err err = {0};
	char want[160];

	put_file(f->path, "data", 0600);
	pol.uid = geteuid() + 1;
	assert_int_equal(safe_read(f->path, &pol, &err), CT_EPERM);
	snprintf(want, sizeof(want), "%s: owned by uid %u, not %u", f->path, (unsigned)geteuid(),
	    (unsigned)geteuid() + 1);
	assert_string_equal(err.msg, want);
	pol.uid = geteuid();
	assert_int_equal(safe_read(f->path, &pol, &err), CT_OK);
	pol.owner = CT_OWNER_EUID;
	assert_int_equal(safe_read(f->path, &pol, &err), CT_OK);
}

static void
test_safe_open_size_and_type(void **state)
{
	struct fixture *f = *state;
	struct ct_open_policy pol = {CT_OWNER_ANY, 0, 0, 4, 0, 0, NULL};
	struct ct_err err = {0};
	char fifo[80];
	struct stat st;
	int fd = -1;

	put_file(f->path, "data", 0600);
	assert_int_equal(safe_read(f->path, &pol, &err), CT_OK);
	put_file(f->path, "data!", 0600);
	assert_int_equal(safe_read(f->path, &pol, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "larger than 4 bytes"));
	/* a directory, a FIFO (which must not hang the open) */
	assert_int_equal(safe_read(f->dir, &pol, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "not a regular file"));
	snprintf(fifo, sizeof(fifo), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(ct_safe_openat(AT_FDCWD, fifo, fifo, &pol, &fd, &st, &err), CT_EPERM);
	assert_int_equal(fd, -1);
	pol.skip_special = 1;
	assert_int_equal(safe_read(fifo, &pol, &err), CT_ENOENT);
	unlink(f->path);
	assert_int_equal(safe_read(f->path, &pol, &err), CT_ENOENT);
	assert_non_null(strstr(err.msg, "no such file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exclusive_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_checks, setup, teardown),
	    cmocka_unit_test(test_path_join),
	    cmocka_unit_test_setup_teardown(test_safe_open_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_safe_open_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_safe_open_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_safe_open_size_and_type, setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
