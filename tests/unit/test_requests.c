/* Pending requests and uploaded certificates, through the store handle
 * (files backend): save, load, duplicates, walk, remove, corrupt files,
 * modes, and the poll bound of a fetch (ct_request_poll, the polled line). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "certtoken.h"
#include "proto.h"
#include "requests.h"
#include "store.h"

#include "open_store.h"

static int
setup(void **state)
{
	return store_fixture_setup(state, "requests", 0);
}

static int
teardown(void **state)
{
	return store_fixture_teardown(state);
}

static unsigned char csr[] = {0x30, 0x03, 0x02, 0x01, 0x05, 0xff, 0x00};

static void
request(struct ct_request *r, const char *token, const char *user)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->token, sizeof(r->token), "%s", token);
	snprintf(r->user, sizeof(r->user), "%s", user);
	strcpy(r->target, "api");
	strcpy(r->ref, "-");
	r->created = 1763800000;
	r->csr = csr;
	r->csr_len = sizeof(csr);
}

static mode_t
mode_of(const struct store_fixture *f, const char *name)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	if (stat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void
put(const struct store_fixture *f, const char *name, const char *text)
{
	char path[160];
	FILE *o;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_non_null(o = fopen(path, "w"));
	fputs(text, o);
	fclose(o);
	assert_int_equal(chmod(path, 0600), 0);
}

static void
test_save_load_remove(void **state)
{
	struct store_fixture *f = *state;
	struct ct_request r, got;
	struct ct_err err = {0};

	request(&r, "CERT00AA", "alice");
	strcpy(r.ref, "ca:req/42");
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_OK);
	assert_int_equal(mode_of(f, "requests"), 0700);
	assert_int_equal(mode_of(f, "requests/CERT00AA"), 0600);
	assert_int_equal(ct_request_load(f->db, "CERT00AA", &got, &err), CT_OK);
	assert_string_equal(got.token, "CERT00AA");
	assert_string_equal(got.user, "alice");
	assert_string_equal(got.target, "api");
	assert_string_equal(got.ref, "ca:req/42");
	assert_int_equal(got.created, 1763800000);
	assert_int_equal(got.csr_len, sizeof(csr));
	assert_memory_equal(got.csr, csr, sizeof(csr));
	ct_request_clear(&got);
	/* one request per token */
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_EEXIST);
	ct_err_clear(&err);
	assert_int_equal(ct_request_remove(f->db, "CERT00AA", &err), CT_OK);
	assert_int_equal(ct_request_load(f->db, "CERT00AA", &got, &err), CT_ENOENT);
	ct_err_clear(&err);
	assert_int_equal(ct_request_remove(f->db, "CERT00AA", &err), CT_OK);
	/* refused before anything is written */
	request(&r, "../x", "alice");
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_EINVAL);
	ct_err_clear(&err);
	request(&r, "CERT00AB", "x.lock");
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_EINVAL);
	ct_err_clear(&err);
	request(&r, "CERT00AB", "alice");
	r.csr_len = 0;
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_EINVAL);
	ct_err_clear(&err);
	strcpy(r.ref, "a b");
	r.csr_len = sizeof(csr);
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_EINVAL);
	assert_int_equal(mode_of(f, "requests/CERT00AB"), (mode_t)-1);
	ct_err_clear(&err);
	assert_int_equal(ct_request_load(f->db, ".hidden", &got, &err), CT_EINVAL);
}

struct seen {
	int n, alice, bob;
};

static int
collect(void *ctx, const struct ct_request *r)
{
	struct seen *s = ctx;

	s->n++;
	s->alice += strcmp(r->user, "alice") == 0;
	s->bob += strcmp(r->user, "bob") == 0;
	return 0;
}

static void
test_foreach(void **state)
{
	struct store_fixture *f = *state;
	struct ct_request r;
	struct seen s = {0};
	struct ct_err err = {0};

	/* no request yet */
	assert_int_equal(ct_request_foreach(f->db, collect, &s, &err), CT_OK);
	assert_int_equal(s.n, 0);
	request(&r, "CERT01", "alice");
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_OK);
	request(&r, "CERT02", "bob");
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_OK);
	put(f, "requests/CERT03.tmp.0011", "a temporary file\n");
	assert_int_equal(ct_request_foreach(f->db, collect, &s, &err), CT_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.alice, 1);
	assert_int_equal(s.bob, 1);
	/* a corrupt request ends the walk */
	put(f, "requests/CERT04", "certtoken-request 1\nuser=carol\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(ct_request_foreach(f->db, collect, &s, &err), CT_EIO);
}

static void
test_corrupt(void **state)
{
	struct store_fixture *f = *state;
	struct ct_request got;
	struct ct_err err = {0};
	char path[160];
	static const char *const bad[] = {
	    "",
	    "certtoken-request 2\nuser=alice\ntarget=api\ncreated=1\nref=-\ncsr=MAMCAQU=\n",
	    "certtoken-request 1\ntarget=api\nuser=alice\ncreated=1\nref=-\ncsr=MAMCAQU=\n",
	    "certtoken-request 1\nuser=alice\ntarget=api\ncreated=-1\nref=-\ncsr=MAMCAQU=\n",
	    "certtoken-request 1\nuser=alice\ntarget=api\ncreated=1\nref=-\ncsr=MAMCA\n",
	    "certtoken-request 1\nuser=alice\ntarget=api\ncreated=1\nref=-\ncsr=MAMCAQU=\nx=1\n",
	};
	size_t i;

	snprintf(path, sizeof(path), "%s/requests", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(f, "requests/CERT05", bad[i]);
		ct_err_clear(&err);
		assert_int_equal(ct_request_load(f->db, "CERT05", &got, &err), CT_EIO);
		assert_non_null(strstr(err.msg, "requests/CERT05: corrupt pending request"));
	}
	/* the good one reads */
	put(f, "requests/CERT05",
	    "certtoken-request 1\nuser=alice\ntarget=api\ncreated=1\nref=-\ncsr=MAMCAQU=\n");
	assert_int_equal(ct_request_load(f->db, "CERT05", &got, &err), CT_OK);
	assert_int_equal(got.csr_len, 5);
	ct_request_clear(&got);
	/* nor is one others may read trusted */
	snprintf(path, sizeof(path), "%s/requests/CERT05", f->dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(ct_request_load(f->db, "CERT05", &got, &err), CT_EPERM);
}

static void
test_uploads(void **state)
{
	struct store_fixture *f = *state;
	unsigned char *pem = NULL;
	struct ct_err err = {0};
	size_t len = 0;

	assert_int_equal(ct_upload_load(f->db, "CERT06", &pem, &len, &err), CT_ENOENT);
	ct_err_clear(&err);
	assert_int_equal(ct_upload_save(f->db, "CERT06", csr, sizeof(csr), &err), CT_OK);
	assert_int_equal(mode_of(f, "uploads"), 0700);
	assert_int_equal(mode_of(f, "uploads/CERT06.pem"), 0600);
	assert_int_equal(ct_upload_save(f->db, "CERT06", csr, sizeof(csr), &err), CT_EEXIST);
	ct_err_clear(&err);
	assert_int_equal(ct_upload_load(f->db, "CERT06", &pem, &len, &err), CT_OK);
	assert_non_null(strstr((char *)pem, "-----BEGIN CERTIFICATE-----\nMAMCAQX/AA==\n"));
	free(pem);
	ct_upload_remove(f->db, "CERT06");
	assert_int_equal(mode_of(f, "uploads/CERT06.pem"), (mode_t)-1);
	assert_int_equal(ct_upload_save(f->db, "../CERT", csr, sizeof(csr), &err), CT_EINVAL);
}

/* Is "polled=WHEN" the line after "created=" of TOKEN's request file? */
static int
polled_line(const struct store_fixture *f, const char *token, const char *when)
{
	char path[160], text[4096], want[64];
	size_t n;
	FILE *in;

	snprintf(path, sizeof(path), "%s/requests/%s", f->dir, token);
	if ((in = fopen(path, "r")) == NULL)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, in);
	fclose(in);
	text[n] = '\0';
	snprintf(want, sizeof(want), "created=1763800000\npolled=%s\nref=", when);
	return strstr(text, want) != NULL;
}

/* The poll bound of a fetch: once per interval, kept with the request,
 * decided in the user's transaction. */
static void
test_poll(void **state)
{
	struct store_fixture *f = *state;
	struct ct_store *st = NULL;
	struct ct_request r, got;
	struct ct_token tok;
	struct ct_err err = {0};
	int64_t next = 0;

	assert_int_equal(open_store(f->dir, 1, &st, &err), CT_OK);
	request(&r, "CERT10", "alice");
	assert_int_equal(ct_certtoken_record_pending(st, &r, "target api", &tok, &err), CT_OK);
	assert_false(polled_line(f, "CERT10", "0")); /* never polled: no line, as before */
	assert_int_equal(ct_request_poll(st, "alice", "CERT10", 60, 1000, 0, &next, &err), CT_OK);
	assert_true(polled_line(f, "CERT10", "1000"));
	assert_int_equal(ct_request_load(st, "CERT10", &got, &err), CT_OK);
	assert_int_equal(got.polled, 1000);
	assert_int_equal(got.csr_len, sizeof(csr)); /* the rest is kept */
	assert_string_equal(got.target, "api");
	ct_request_clear(&got);
	/* inside the interval: refused, with when to ask again, nothing written */
	assert_int_equal(
	    ct_request_poll(st, "alice", "CERT10", 60, 1059, 0, &next, &err), CT_EPENDING);
	assert_int_equal(next, 1060);
	assert_true(polled_line(f, "CERT10", "1000"));
	ct_err_clear(&err);
	assert_int_equal(ct_request_poll(st, "alice", "CERT10", 60, 1060, 0, &next, &err), CT_OK);
	assert_true(polled_line(f, "CERT10", "1060"));
	/* a clock that went back does not hold it */
	assert_int_equal(ct_request_poll(st, "alice", "CERT10", 60, 500, 0, &next, &err), CT_OK);
	assert_true(polled_line(f, "CERT10", "500"));
	/* not this user's pending token: refused, and no request is written back */
	assert_int_equal(ct_request_poll(st, "bob", "CERT10", 60, 2000, 0, &next, &err), CT_EEXIST);
	ct_err_clear(&err);
	snprintf(tok.rollout_state, sizeof(tok.rollout_state), "enrolled");
	assert_int_equal(ct_certtoken_add(st, "alice", &tok, 1, NULL, &err), CT_OK);
	assert_int_equal(ct_request_remove(st, "CERT10", &err), CT_OK);
	assert_int_equal(
	    ct_request_poll(st, "alice", "CERT10", 60, 2000, 0, &next, &err), CT_EEXIST);
	assert_int_equal(mode_of(f, "requests/CERT10"), (mode_t)-1);
	ct_store_close(st);
}

/* A fetch's poll waits for the user's lock only until the caller's
 * deadline (certtokend: the connection's), not store.lock_timeout (5 s). */
static void
test_poll_deadline(void **state)
{
	struct store_fixture *f = *state;
	struct ct_store *st = NULL;
	struct ct_request r;
	struct ct_token tok;
	struct ct_err err = {0};
	char lock[128];
	int64_t next = 0, t0, took;
	int fds[2], fd, status;
	char ok = 0;
	pid_t holder;

	assert_int_equal(open_store(f->dir, 1, &st, &err), CT_OK);
	request(&r, "CERT11", "alice");
	assert_int_equal(ct_certtoken_record_pending(st, &r, "target api", &tok, &err), CT_OK);
	snprintf(lock, sizeof(lock), "%s/tokens/alice.lock", f->dir);
	assert_int_equal(pipe(fds), 0);
	if ((holder = fork()) == 0) {
		if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
		    flock(fd, LOCK_EX) != 0 || write(fds[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_true(holder > 0);
	assert_int_equal(read(fds[0], &ok, 1), 1);
	t0 = ct_now_ms();
	assert_int_equal(
	    ct_request_poll(st, "alice", "CERT11", 60, 1000, t0 + 300, &next, &err), CT_EUNAVAIL);
	took = ct_now_ms() - t0;
	kill(holder, SIGKILL);
	waitpid(holder, &status, 0);
	close(fds[0]);
	close(fds[1]);
	assert_true(took >= 250);
	assert_true(took < 2000);
	assert_non_null(strstr(err.msg, "the lock of user alice is held"));
	/* the lock free again: it polls */
	ct_err_clear(&err);
	assert_int_equal(
	    ct_request_poll(st, "alice", "CERT11", 60, 1000, ct_now_ms() + 300, &next, &err),
	    CT_OK);
	ct_store_close(st);
}

/* Request files of before the poll bound read as never polled; a bad
 * polled line is corrupt. */
static void
test_polled_format(void **state)
{
	struct store_fixture *f = *state;
	struct ct_request got;
	struct ct_err err = {0};
	char path[160];

	snprintf(path, sizeof(path), "%s/requests", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	put(f, "requests/CERT07",
	    "certtoken-request 1\nuser=alice\ntarget=api\ncreated=1\nref=-\ncsr=MAMCAQU=\n");
	assert_int_equal(ct_request_load(f->db, "CERT07", &got, &err), CT_OK);
	assert_int_equal(got.polled, 0);
	ct_request_clear(&got);
	put(f, "requests/CERT07",
	    "certtoken-request 1\nuser=alice\ntarget=api\ncreated=1\npolled=77\nref=-\n"
	    "csr=MAMCAQU=\n");
	assert_int_equal(ct_request_load(f->db, "CERT07", &got, &err), CT_OK);
	assert_int_equal(got.polled, 77);
	assert_int_equal(got.csr_len, 5);
	ct_request_clear(&got);
	put(f, "requests/CERT07",
	    "certtoken-request 1\nuser=alice\ntarget=api\ncreated=1\npolled=-3\nref=-\n"
	    "csr=MAMCAQU=\n");
	assert_int_equal(ct_request_load(f->db, "CERT07", &got, &err), CT_EIO);
	ct_err_clear(&err);
	put(f, "requests/CERT07",
	    "certtoken-request 1\nuser=alice\ntarget=api\npolled=5\ncreated=1\nref=-\n"
	    "csr=MAMCAQU=\n");
	assert_int_equal(ct_request_load(f->db, "CERT07", &got, &err), CT_EIO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_save_load_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uploads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_polled_format, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
