/* The program runner: capture, input, exit status, time limit, clean
 * environment and descriptors. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run ARGV with input IN (may be NULL) and a limit of MS; expect CT_OK. */
static void
run_ok(char *const *argv, const char *in, int ms, struct ct_spawn_result *res)
{
	struct ct_spawn s = {0};
	struct ct_err err = {0};

	s.argv = argv;
	s.in = (const unsigned char *)in;
	s.in_len = in != NULL ? strlen(in) : 0;
	s.timeout_ms = ms;
	if (ct_spawn_run(&s, res, &err) != CT_OK)
		fail_msg("ct_spawn_run: %s", err.msg);
}

static void
test_output(void **state)
{
	char *argv[] = {"/bin/echo", "hello", "world", NULL};
	struct ct_spawn_result res;

	(void)state;
	run_ok(argv, NULL, 5000, &res);
	assert_true(res.exited);
	assert_int_equal(res.status, 0);
	assert_false(res.timed_out);
	assert_false(res.out_truncated);
	assert_int_equal(res.out_len, 12);
	assert_string_equal((char *)res.out, "hello world\n");
	assert_string_equal(res.err, "");
	ct_spawn_result_clear(&res);
	assert_null(res.out);

	/* no output: still a NUL-terminated buffer */
	char *argv2[] = {"/bin/true", NULL};
	run_ok(argv2, NULL, 5000, &res);
	assert_non_null(res.out);
	assert_int_equal(res.out_len, 0);
	assert_string_equal((char *)res.out, "");
	ct_spawn_result_clear(&res);
}

/* More input than a pipe holds, echoed back: stdin and stdout are served
 * together, or this would deadlock until the time limit. */
static void
test_stdin(void **state)
{
	char *argv[] = {"/bin/cat", NULL};
	struct ct_spawn_result res;
	size_t n = 200 * 1024, i;
	char *in = malloc(n + 1);

	(void)state;
	assert_non_null(in);
	for (i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	in[n] = '\0';
	run_ok(argv, in, 10000, &res);
	assert_true(res.exited);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.out_len, n);
	assert_memory_equal(res.out, in, n);
	ct_spawn_result_clear(&res);

	/* no input: the program reads end of file at once */
	run_ok(argv, NULL, 5000, &res);
	assert_true(res.exited);
	assert_int_equal(res.out_len, 0);
	ct_spawn_result_clear(&res);
	free(in);
}

/* A program that does not read its input: no SIGPIPE for us, exit 0. */
static void
test_stdin_unread(void **state)
{
	char *argv[] = {"/bin/true", NULL};
	struct ct_spawn_result res;
	size_t n = 1024 * 1024;
	char *in = malloc(n + 1);

	(void)state;
	assert_non_null(in);
	memset(in, 'x', n);
	in[n] = '\0';
	run_ok(argv, in, 5000, &res);
	assert_true(res.exited);
	assert_int_equal(res.status, 0);
	ct_spawn_result_clear(&res);
	free(in);
}

static void
test_status_and_stderr(void **state)
{
	char *argv[] = {"/bin/sh", "-c",
	    "printf '\\n  bad\\tthing\\033[31m  \\nsecond line\\n' >&2; echo out; exit 3", NULL};
	char *killed[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
	struct ct_spawn s = {.argv = argv, .timeout_ms = 5000};
	struct ct_spawn_result res;
	char line[256];

	(void)state;
	run_ok(argv, NULL, 5000, &res);
	assert_true(res.exited);
	assert_int_equal(res.status, 3);
	assert_string_equal((char *)res.out, "out\n");
	assert_string_equal(res.err, "\n  bad\tthing\033[31m  \nsecond line\n");
	ct_spawn_describe(&s, &res, line, sizeof(line));
	assert_string_equal(line, "exit 3: bad?thing?[31m");
	/* truncated to fit */
	ct_spawn_describe(&s, &res, line, 12);
	assert_string_equal(line, "exit 3: bad");
	ct_spawn_describe(&s, &res, line, 6);
	assert_string_equal(line, "exit ");
	ct_spawn_result_clear(&res);

	run_ok(killed, NULL, 5000, &res);
	assert_false(res.exited);
	assert_false(res.timed_out);
	assert_int_equal(res.signal, SIGTERM);
	ct_spawn_describe(&s, &res, line, sizeof(line));
	assert_string_equal(line, "killed by signal 15");
	ct_spawn_result_clear(&res);
}

/* Is PID gone (or a zombie waiting for init)?  Waits up to a second. */
static int
process_gone(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			return 1;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (p != NULL && (p = strrchr(buf, ')')) != NULL && (p[2] == 'Z' || p[2] == 'X'))
			return 1;
		usleep(10000);
	}
	return 0;
}

/* The time limit kills the program and what it started. */
static void
test_timeout_kills_group(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "sleep 30 & echo $!; sleep 30", NULL};
	struct ct_spawn s = {.argv = argv, .timeout_ms = 500};
	struct ct_spawn_result res;
	struct ct_err err = {0};
	char line[128];
	double t0 = now(), took;
	long grandchild;

	(void)state;
	assert_int_equal(ct_spawn_run(&s, &res, &err), CT_OK);
	took = now() - t0;
	assert_true(took >= 0.45);
	assert_true(took < 1.0);
	assert_true(res.timed_out);
	assert_false(res.exited);
	assert_int_equal(res.signal, SIGKILL);
	grandchild = strtol((char *)res.out, NULL, 10);
	assert_true(grandchild > 1);
	assert_true(process_gone(grandchild));
	ct_spawn_describe(&s, &res, line, sizeof(line));
	assert_string_equal(line, "timed out after 500 ms");
	s.timeout_ms = 2000;
	ct_spawn_describe(&s, &res, line, sizeof(line));
	assert_string_equal(line, "timed out after 2 s");
	ct_spawn_result_clear(&res);
}

/* The program exits but a process it left behind keeps stdout open: the
 * run lasts until the limit, then that process is killed too. */
static void
test_background_holder_killed(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "sleep 30 & echo $!; exit 0", NULL};
	struct ct_spawn s = {.argv = argv, .timeout_ms = 300};
	struct ct_spawn_result res;
	struct ct_err err = {0};
	double t0 = now();

	(void)state;
	assert_int_equal(ct_spawn_run(&s, &res, &err), CT_OK);
	assert_true(now() - t0 < 0.8);
	assert_true(res.timed_out);
	assert_true(process_gone(strtol((char *)res.out, NULL, 10)));
	ct_spawn_result_clear(&res);
}

static void
test_missing_program(void **state)
{
	char *argv[] = {"/nonexistent/certtoken-helper", "x", NULL};
	char *relative[] = {"sendmail", NULL};
	struct ct_spawn s = {.argv = argv, .timeout_ms = 5000};
	struct ct_spawn_result res;
	struct ct_err err = {0};

	(void)state;
	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(ct_spawn_run(&s, &res, &err), CT_EUNAVAIL);
	assert_string_equal(
	    err.msg, "cannot run /nonexistent/certtoken-helper: No such file or directory");
	assert_true(res.exited == 0x5a5a5a5a); /* untouched on failure */

	ct_err_clear(&err);
	s.argv = relative;
	assert_int_equal(ct_spawn_run(&s, &res, &err), CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, "not an absolute path"));

	/* a directory: execve refuses it */
	char *dir[] = {"/tmp", NULL};
	ct_err_clear(&err);
	s.argv = dir;
	assert_int_equal(ct_spawn_run(&s, &res, &err), CT_EUNAVAIL);
	assert_string_equal(err.msg, "cannot run /tmp: Permission denied");
}

/* Output beyond the cap is dropped, and the program still runs to its end. */
static void
test_output_truncated(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "head -c 1000000 /dev/zero; echo done >&2", NULL};
	struct ct_spawn_result res;

	(void)state;
	run_ok(argv, NULL, 10000, &res);
	assert_true(res.exited);
	assert_int_equal(res.status, 0);
	assert_true(res.out_truncated);
	assert_int_equal(res.out_len, CT_SPAWN_OUT_MAX);
	assert_int_equal(res.out[CT_SPAWN_OUT_MAX], '\0');
	assert_string_equal(res.err, "done\n");
	ct_spawn_result_clear(&res);

	/* stderr is capped too */
	char *argv2[] = {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' e >&2", NULL};
	run_ok(argv2, NULL, 10000, &res);
	assert_true(res.exited);
	assert_int_equal(strlen(res.err), CT_SPAWN_ERR_MAX);
	ct_spawn_result_clear(&res);
}

/* The environment holds PATH and the given strings, nothing of ours. */
static void
test_environment(void **state)
{
	char *argv[] = {"/usr/bin/env", NULL};
	struct ct_spawn s = {.argv = argv, .timeout_ms = 5000};
	struct ct_spawn_result res;
	struct ct_err err = {0};

	(void)state;
	setenv("CERTTOKEN_TEST_LEAK", "1", 1);
	s.env[0] = "FOO=bar";
	s.env[1] = "X=y z";
	assert_int_equal(ct_spawn_run(&s, &res, &err), CT_OK);
	assert_string_equal(
	    (char *)res.out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nFOO=bar\nX=y z\n");
	ct_spawn_result_clear(&res);
	unsetenv("CERTTOKEN_TEST_LEAK");
}

/* Only 0, 1 and 2 reach the program, whatever the caller has open. */
static void
test_descriptors(void **state)
{
	char *argv[] = {"/bin/ls", "/proc/self/fd", NULL};
	struct ct_spawn_result res;
	int fd, high;

	(void)state;
	assert_true((fd = open("/dev/null", O_RDONLY)) >= 0); /* not close-on-exec */
	assert_int_equal(high = dup2(fd, 200), 200);
	run_ok(argv, NULL, 5000, &res);
	/* 3 is ls's own descriptor of the directory */
	assert_string_equal((char *)res.out, "0\n1\n2\n3\n");
	ct_spawn_result_clear(&res);
	close(high);
	close(fd);
}

/* Signals: what the caller ignores (a service ignores SIGPIPE) or blocks
 * is not inherited. */
static void
test_signals_reset(void **state)
{
	char *term[] = {"/bin/sh", "-c", "kill -TERM $$; exit 0", NULL};
	char *sigpipe[] = {"/bin/sh", "-c", "kill -PIPE $$; exit 0", NULL};
	struct sigaction ign = {0}, old_term, old_pipe;
	sigset_t set, oldset;
	struct ct_spawn_result res;

	(void)state;
	ign.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &ign, &old_term);
	sigaction(SIGPIPE, &ign, &old_pipe);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &oldset);
	run_ok(term, NULL, 5000, &res);
	assert_false(res.exited);
	assert_int_equal(res.signal, SIGTERM);
	ct_spawn_result_clear(&res);
	run_ok(sigpipe, NULL, 5000, &res);
	assert_false(res.exited);
	assert_int_equal(res.signal, SIGPIPE);
	ct_spawn_result_clear(&res);
	pthread_sigmask(SIG_SETMASK, &oldset, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigaction(SIGTERM, &old_term, NULL);
}

/* Runs from several threads at once each get their own output. */
struct job {
	char in[64];
	int ok;
};

static void *
thread_run(void *p)
{
	struct job *j = p;
	char *argv[] = {"/bin/cat", NULL};
	struct ct_spawn s = {.argv = argv, .timeout_ms = 10000};
	struct ct_spawn_result res;
	struct ct_err err = {0};

	s.in = (const unsigned char *)j->in;
	s.in_len = strlen(j->in);
	for (int i = 0; i < 20; i++) {
		if (ct_spawn_run(&s, &res, &err) != CT_OK)
			return NULL;
		j->ok += res.exited && res.status == 0 && strcmp((char *)res.out, j->in) == 0;
		ct_spawn_result_clear(&res);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	struct job j[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		snprintf(j[i].in, sizeof(j[i].in), "thread %d says hello\n", i);
		assert_int_equal(pthread_create(&t[i], NULL, thread_run, &j[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(j[i].ok, 20);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_output),
	    cmocka_unit_test(test_stdin),
	    cmocka_unit_test(test_stdin_unread),
	    cmocka_unit_test(test_status_and_stderr),
	    cmocka_unit_test(test_timeout_kills_group),
	    cmocka_unit_test(test_background_holder_killed),
	    cmocka_unit_test(test_missing_program),
	    cmocka_unit_test(test_output_truncated),
	    cmocka_unit_test(test_environment),
	    cmocka_unit_test(test_descriptors),
	    cmocka_unit_test(test_signals_reset),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
