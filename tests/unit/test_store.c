/* Safe reads and atomic writes of store files. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exclusive_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_checks, setup, teardown),
	    cmocka_unit_test(test_path_join),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
