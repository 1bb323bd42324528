/* Every lock of the store has a deadline: a process that holds a user's
 * lock (or the revocation list's, or an access group's) and never lets go,
 * here one stopped with SIGSTOP, costs the others store.lock_timeout or
 * their own earlier deadline, and then a clear CT_EUNAVAIL, never a hang.
 * An alarm turns a hang (a blocking flock) into a failed test. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "certindex.h"
#include "conf.h"
#include "proto.h"
#include "store.h"
#include "store_files.h"
#include "tokens.h"

#define HAMMERS 4 /* processes running transactions back to back */
#define HANG_S 20 /* a wait this long is a hang: the test dies */

struct fixture {
	char dir[32];
	struct ct_store *st;
	pid_t holder;
};

/* Open the store at F->dir with store.lock_timeout TIMEOUT (0: the default). */
static int
open_with(struct fixture *f, int timeout, struct ct_err *err)
{
	struct ct_config *cfg = NULL;
	char text[256];
	int rc;

	if (timeout > 0)
		snprintf(text, sizeof(text), "store: { path = \"%s\"; lock_timeout = %d; };\n",
		    f->dir, timeout);
	else
		snprintf(text, sizeof(text), "store: { path = \"%s\"; };\n", f->dir);
	if ((rc = ct_config_load_string(text, "test.conf", &cfg, NULL, err)) == CT_OK)
		rc = ct_store_open(cfg, CT_STORE_TOKENS | CT_STORE_CREATE, &f->st, err);
	ct_config_free(cfg);
	return rc;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ct_err err = {0};

	strcpy(f->dir, "/tmp/ct-lock-XXXXXX");
	if (mkdtemp(f->dir) == NULL || open_with(f, 1, &err) != CT_OK)
		return -1;
	*state = f;
	alarm(HANG_S);
	return 0;
}

/* End the holder: a stopped process dies of SIGKILL, and its lock with it. */
static void
release(struct fixture *f)
{
	if (f->holder > 0) {
		kill(f->holder, SIGKILL);
		waitpid(f->holder, NULL, 0);
	}
	f->holder = 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[64];

	alarm(0);
	release(f);
	ct_store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A child takes the exclusive flock of PATH and stops itself, as a setuid
 * program stopped with SIGSTOP in the middle of a transaction would. */
static void
hold(struct fixture *f, const char *path)
{
	int status, fd;

	f->holder = fork();
	assert_true(f->holder >= 0);
	if (f->holder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that dies takes it along */
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
		    flock(fd, LOCK_EX) != 0)
			_exit(1);
		raise(SIGSTOP);
		_exit(0);
	}
	assert_int_equal(waitpid(f->holder, &status, WUNTRACED), f->holder);
	assert_true(WIFSTOPPED(status));
}

static void
nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int
keep(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)ctx;
	(void)user;
	(void)u;
	(void)err;
	return CT_STORE_KEEP;
}

static void
test_user_lock_held(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char lock[96];
	int64_t t0, took;

	snprintf(lock, sizeof(lock), "%s/tokens/alice.lock", f->dir);
	hold(f, lock);
	t0 = ct_now_ms();
	assert_int_equal(ct_store_update(f->st, "alice", keep, NULL, &err), CT_EUNAVAIL);
	took = ct_now_ms() - t0;
	/* store.lock_timeout = 1: about a second, never much more */
	assert_true(took >= 950);
	assert_true(took < 2500);
	assert_non_null(strstr(err.msg,
	    "token store: the lock of user alice is held by another "
	    "process; gave up after 1."));
	/* another user is not held up */
	ct_err_clear(&err);
	t0 = ct_now_ms();
	assert_int_equal(ct_store_update(f->st, "bob", keep, NULL, &err), CT_OK);
	assert_true(ct_now_ms() - t0 < 500);
	/* the holder ends: the lock is free again */
	release(f);
	assert_int_equal(ct_store_update(f->st, "alice", keep, NULL, &err), CT_OK);
}

static void
test_caller_deadline(void **state)
{
	struct fixture *f = *state;
	struct ct_store *slow;
	struct ct_err err = {0};
	char lock[96];
	int64_t t0, took;

	/* the store would wait 30 s; the caller's deadline (0.3 s) wins */
	slow = f->st;
	f->st = NULL;
	assert_int_equal(open_with(f, 30, &err), CT_OK);
	ct_store_close(slow);
	snprintf(lock, sizeof(lock), "%s/tokens/alice.lock", f->dir);
	hold(f, lock);
	t0 = ct_now_ms();
	assert_int_equal(
	    ct_store_update_until(f->st, "alice", t0 + 300, keep, NULL, &err), CT_EUNAVAIL);
	took = ct_now_ms() - t0;
	assert_true(took >= 280);
	assert_true(took < 1500);
	assert_non_null(strstr(err.msg, "the lock of user alice is held"));
	/* a deadline already past does not wait at all */
	ct_err_clear(&err);
	t0 = ct_now_ms();
	assert_int_equal(
	    ct_store_update_until(f->st, "alice", t0 - 1, keep, NULL, &err), CT_EUNAVAIL);
	assert_true(ct_now_ms() - t0 < 200);
	release(f);
	assert_int_equal(
	    ct_store_update_until(f->st, "alice", ct_now_ms() + 300, keep, NULL, &err), CT_OK);
}

static void
test_revocation_lock_held(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char lock[96];
	int64_t t0;

	snprintf(lock, sizeof(lock), "%s/revoked.lock", f->dir);
	hold(f, lock);
	t0 = ct_now_ms();
	assert_int_equal(ct_revoke(f->st, "0A1B", "default", 0, 1000, &err), CT_EUNAVAIL);
	assert_true(ct_now_ms() - t0 < 2500);
	assert_non_null(strstr(err.msg,
	    "the lock of the revocation list is held by another "
	    "process; gave up after"));
	release(f);
	ct_err_clear(&err);
	assert_int_equal(ct_revoke(f->st, "0A1B", "default", 0, 1000, &err), CT_OK);
}

static void
test_group_lock_held(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	char groups[64], dir[96], lock[96];
	int64_t t0;
	int fd = -1;

	snprintf(groups, sizeof(groups), "%s/groups", f->dir);
	snprintf(dir, sizeof(dir), "%s/team", groups);
	snprintf(lock, sizeof(lock), "%s/.team.lock", groups);
	assert_int_equal(mkdir(groups, 0700), 0);
	hold(f, lock);
	t0 = ct_now_ms();
	assert_int_equal(ct_files_ca_lock(dir, t0 + 300, &fd, &err), CT_EUNAVAIL);
	assert_true(ct_now_ms() - t0 < 1500);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(
	    err.msg, "store: the lock of access group team is held by another process; gave up"));
	release(f);
	assert_int_equal(ct_files_ca_lock(dir, ct_now_ms() + 300, &fd, &err), CT_OK);
	assert_true(fd >= 0);
	close(fd);
}

/* A write (of the empty set: the file is removed and the directory synced),
 * so that the lock is held for a while each time. */
static int
rewrite(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)ctx;
	(void)user;
	(void)u;
	(void)err;
	return CT_OK;
}

/* Run alice's transactions back to back until END (a child). */
static void
hammer(struct ct_store *st, int64_t end)
{
	struct ct_err err = {0};

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (ct_now_ms() < end)
		if (ct_store_update(st, "alice", rewrite, NULL, &err) != CT_OK)
			_exit(1);
	_exit(0);
}

static void
test_no_starvation(void **state)
{
	struct fixture *f = *state;
	struct ct_err err = {0};
	int64_t end = ct_now_ms() + 3000;
	pid_t pids[HAMMERS];
	int i, status;

	/* children run alice's transactions back to back for 3 s, each taking
	 * the lock again the moment it lets it go: a waiter still gets its turn
	 * within store.lock_timeout (1 s), every time */
	for (i = 0; i < HAMMERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			hammer(f->st, end);
	}
	nap_ms(100);
	for (i = 0; i < 20; i++) {
		ct_err_clear(&err);
		assert_int_equal(ct_store_update(f->st, "alice", rewrite, NULL, &err), CT_OK);
	}
	for (i = 0; i < HAMMERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

static void
test_lock_timeout_setting(void **state)
{
	static const char *const bad[] = {"0", "61", "-1", "\"5\""};
	struct ct_config *cfg = NULL;
	struct ct_err err = {0};
	char text[128];
	size_t i;

	(void)state;
	assert_int_equal(ct_config_load_string("", "t.conf", &cfg, NULL, &err), CT_OK);
	assert_int_equal(cfg->store_lock_timeout, 5);
	ct_config_free(cfg);
	cfg = NULL;
	assert_int_equal(
	    ct_config_load_string("store: { lock_timeout = 60; };", "t.conf", &cfg, NULL, &err),
	    CT_OK);
	assert_int_equal(cfg->store_lock_timeout, 60);
	ct_config_free(cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = NULL;
		ct_err_clear(&err);
		snprintf(text, sizeof(text), "store: { lock_timeout = %s; };", bad[i]);
		assert_int_equal(
		    ct_config_load_string(text, "t.conf", &cfg, NULL, &err), CT_ECONFIG);
		assert_non_null(strstr(err.msg, "lock_timeout"));
		ct_config_free(cfg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_user_lock_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_caller_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revocation_lock_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_lock_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_starvation, setup, teardown),
	    cmocka_unit_test(test_lock_timeout_setting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
