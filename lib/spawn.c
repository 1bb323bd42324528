/* Running a configured program: fork and execve, no shell, a time limit.
 *
 * Every descriptor is created close-on-exec, so a program started by another
 * thread at the same moment inherits none of ours past its execve.  The
 * child runs only async-signal-safe calls between fork and execve; when
 * execve fails it sends errno back through a close-on-exec pipe.  Stdin is
 * one end of a socket pair so that feeding a program which does not read
 * its input gives EPIPE (MSG_NOSIGNAL) instead of a SIGPIPE to the caller. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef HAVE_PIDFD_OPEN
#include <sys/pidfd.h>
#endif

#include "spawn.h"
#include "util.h"

#define SPAWN_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_SLICE_MS 10 /* how often to look for the exit without a pidfd */
#define SPAWN_FD_LOOP_MAX 65536 /* close loop bound when close_range is missing */
#define SPAWN_OUT_FIRST 4096 /* first allocation for stdout */

/* One run: the parent's descriptors, the child's ends, what the child needs. */
struct run {
	int in, out, err; /* parent: stdin (socket), stdout, stderr */
	int child_in, child_out, child_err;
	int exec_r, exec_w; /* errno of a failed execve */
	int pidfd; /* readable when the child exits; -1: poll in slices */
	pid_t pid;
	int exited; /* the child is a zombie (not reaped yet) */
	int max_fd;
	struct sigaction dfl; /* prepared before fork for the child */
	sigset_t none;
	size_t out_cap, err_len, in_off;
};

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void
run_init(struct run *r)
{
	struct rlimit rl;

	memset(r, 0, sizeof(*r));
	r->in = r->out = r->err = -1;
	r->child_in = r->child_out = r->child_err = -1;
	r->exec_r = r->exec_w = r->pidfd = -1;
	r->pid = -1;
	r->max_fd = SPAWN_FD_LOOP_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < SPAWN_FD_LOOP_MAX)
		r->max_fd = (int)rl.rlim_cur;
	r->dfl.sa_handler = SIG_DFL;
	sigemptyset(&r->dfl.sa_mask);
	sigemptyset(&r->none);
}

static void
run_close(struct run *r)
{
	close_fd(&r->in);
	close_fd(&r->out);
	close_fd(&r->err);
	close_fd(&r->child_in);
	close_fd(&r->child_out);
	close_fd(&r->child_err);
	close_fd(&r->exec_r);
	close_fd(&r->exec_w);
	close_fd(&r->pidfd);
}

/* Keep *FD out of 0-2, so that the child's dup2 onto 0-2 never meets itself
 * (dup2 of a descriptor onto itself would keep close-on-exec set). */
static int
above_stdio(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

static int
open_fds(struct run *r, struct ct_err *err)
{
	int sv[2], po[2], pe[2], px[2];
	int *all[] = {&r->in, &r->out, &r->err, &r->child_in, &r->child_out, &r->child_err,
	    &r->exec_r, &r->exec_w};
	size_t i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return ct_err_set(err, CT_EUNAVAIL, "socketpair: %s", strerror(errno));
	r->in = sv[0], r->child_in = sv[1];
	if (pipe2(po, O_CLOEXEC) < 0)
		return ct_err_set(err, CT_EUNAVAIL, "pipe: %s", strerror(errno));
	r->out = po[0], r->child_out = po[1];
	if (pipe2(pe, O_CLOEXEC) < 0)
		return ct_err_set(err, CT_EUNAVAIL, "pipe: %s", strerror(errno));
	r->err = pe[0], r->child_err = pe[1];
	if (pipe2(px, O_CLOEXEC) < 0)
		return ct_err_set(err, CT_EUNAVAIL, "pipe: %s", strerror(errno));
	r->exec_r = px[0], r->exec_w = px[1];
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (above_stdio(all[i]) < 0)
			return ct_err_set(err, CT_EUNAVAIL, "fcntl: %s", strerror(errno));
	/* only the parent's ends: the child's stay blocking */
	if (fcntl(r->out, F_SETFL, O_NONBLOCK) < 0 || fcntl(r->err, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(r->exec_r, F_SETFL, O_NONBLOCK) < 0)
		return ct_err_set(err, CT_EUNAVAIL, "fcntl: %s", strerror(errno));
	return CT_OK;
}

/* Close every descriptor from 3 up except KEEP (>= 3). */
static void
close_others(int keep, int max_fd)
{
	int fd;

#ifdef HAVE_CLOSE_RANGE
	if ((keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
	    close_range((unsigned)keep + 1, ~0U, 0) == 0)
		return;
#endif
	for (fd = 3; fd < max_fd; fd++)
		if (fd != keep)
			(void)close(fd);
}

/* In the child: async-signal-safe calls only (the parent may have threads). */
static void __attribute__((noreturn))
child(const struct run *r, char *const *argv, char *const *envp)
{
	int sig, e;

	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &r->dfl, NULL); /* SIGKILL, SIGSTOP: refused, fine */
	if (setpgid(0, 0) < 0 || dup2(r->child_in, 0) < 0 || dup2(r->child_out, 1) < 0 ||
	    dup2(r->child_err, 2) < 0)
		goto fail;
	close_others(r->exec_w, r->max_fd);
	(void)sigprocmask(SIG_SETMASK, &r->none, NULL);
	execve(argv[0], argv, envp);
fail:
	e = errno;
	if (write(r->exec_w, &e, sizeof(e)) < 0)
		e = 0;
	_exit(127);
}

static int
start(struct run *r, char *const *argv, char *const *envp, struct ct_err *err)
{
	sigset_t all, old;
	int e;

	/* no handler of the caller's may run in the child before execve */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r->pid = fork();
	if (r->pid == 0)
		child(r, argv, envp);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r->pid < 0)
		return ct_err_set(
		    err, CT_EUNAVAIL, "cannot run %s: fork: %s", argv[0], strerror(e));
	(void)setpgid(r->pid, r->pid); /* also here: the group exists before any kill */
	close_fd(&r->child_in);
	close_fd(&r->child_out);
	close_fd(&r->child_err);
	close_fd(&r->exec_w);
#ifdef HAVE_PIDFD_OPEN
	r->pidfd = pidfd_open(r->pid, 0);
#endif
	return CT_OK;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Has the child exited?  WNOWAIT leaves it a zombie, so its pid (and
 * process group id) cannot be reused before we kill the group and reap. */
static int
child_exited(const struct run *r)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR; /* ECHILD: reaped behind our back (SIGCHLD ignored) */
	return si.si_pid == r->pid;
}

static void
feed_stdin(struct run *r, const struct ct_spawn *s)
{
	ssize_t n;

	if (r->in_off < s->in_len) {
		n = send(
		    r->in, s->in + r->in_off, s->in_len - r->in_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) { /* EPIPE, ECONNRESET: the program does not read its input */
			close_fd(&r->in);
			return;
		}
		r->in_off += (size_t)n;
	}
	if (r->in_off >= s->in_len)
		close_fd(&r->in);
}

static int
read_stdout(struct run *r, struct ct_spawn_result *res)
{
	unsigned char sink[4096], *p;
	size_t cap;
	ssize_t n;

	if (res->out_len == CT_SPAWN_OUT_MAX) {
		if ((n = read(r->out, sink, sizeof(sink))) > 0)
			res->out_truncated = 1;
	} else {
		if (r->out_cap - res->out_len < 2) { /* room for a byte and the NUL */
			cap = r->out_cap == 0 ? SPAWN_OUT_FIRST : r->out_cap * 2;
			if (cap > CT_SPAWN_OUT_MAX + 1)
				cap = CT_SPAWN_OUT_MAX + 1;
			if ((p = realloc(res->out, cap)) == NULL)
				return CT_ENOMEM;
			res->out = p;
			r->out_cap = cap;
		}
		n = read(r->out, res->out + res->out_len, r->out_cap - 1 - res->out_len);
		if (n > 0)
			res->out_len += (size_t)n;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		close_fd(&r->out);
	return CT_OK;
}

static void
read_stderr(struct run *r, struct ct_spawn_result *res)
{
	char sink[1024];
	ssize_t n;

	if (r->err_len < CT_SPAWN_ERR_MAX) {
		if ((n = read(r->err, res->err + r->err_len, CT_SPAWN_ERR_MAX - r->err_len)) > 0)
			r->err_len += (size_t)n;
	} else
		n = read(r->err, sink, sizeof(sink));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		close_fd(&r->err);
}

static void
watch(struct pollfd *pfd, nfds_t *n, int fd, short events)
{
	if (fd >= 0) {
		pfd[*n].fd = fd;
		pfd[*n].events = events;
		pfd[*n].revents = 0;
		(*n)++;
	}
}

/* Feed stdin and collect stdout and stderr until the child has exited and
 * closed both, or the time limit passes (RES->timed_out). */
static int
pump(struct run *r, const struct ct_spawn *s, struct ct_spawn_result *res, struct ct_err *err)
{
	int64_t deadline = now_ms() + s->timeout_ms, left;
	struct pollfd pfd[4];
	nfds_t n, i;
	int wait_ms, rc;

	if (s->in == NULL || s->in_len == 0)
		close_fd(&r->in);
	for (;;) {
		if (!r->exited)
			r->exited = child_exited(r);
		if (r->exited && r->out < 0 && r->err < 0)
			return CT_OK;
		if ((left = deadline - now_ms()) <= 0) {
			res->timed_out = 1;
			return CT_OK;
		}
		n = 0;
		watch(pfd, &n, r->in, POLLOUT);
		watch(pfd, &n, r->out, POLLIN);
		watch(pfd, &n, r->err, POLLIN);
		if (!r->exited)
			watch(pfd, &n, r->pidfd, POLLIN);
		wait_ms = left > INT32_MAX ? INT32_MAX : (int)left;
		if (!r->exited && r->pidfd < 0 && wait_ms > SPAWN_SLICE_MS)
			wait_ms = SPAWN_SLICE_MS;
		if (poll(pfd, n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			return ct_err_set(
			    err, CT_EUNAVAIL, "running %s: poll: %s", s->argv[0], strerror(errno));
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == r->in)
				feed_stdin(r, s);
			else if (pfd[i].fd == r->out && (rc = read_stdout(r, res)) != CT_OK)
				return ct_err_set(err, rc, "running %s: out of memory", s->argv[0]);
			else if (pfd[i].fd == r->err)
				read_stderr(r, res);
		}
	}
}

/* Kill the process group when the run did not end by itself, reap the
 * child and record how it ended. */
static int
finish(struct run *r, const struct ct_spawn *s, int kill_all, struct ct_spawn_result *res,
    struct ct_err *err)
{
	pid_t w;
	int st = 0;

	if (kill_all) {
		(void)kill(-r->pid, SIGKILL);
		(void)kill(r->pid, SIGKILL);
	}
	while ((w = waitpid(r->pid, &st, 0)) < 0 && errno == EINTR)
		;
	r->pid = -1;
	if (w < 0)
		return ct_err_set(
		    err, CT_EUNAVAIL, "running %s: waitpid: %s", s->argv[0], strerror(errno));
	if (res->timed_out)
		res->signal = SIGKILL;
	else if (WIFEXITED(st)) {
		res->exited = 1;
		res->status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st))
		res->signal = WTERMSIG(st);
	return CT_OK;
}

int
ct_spawn_run(const struct ct_spawn *s, struct ct_spawn_result *res, struct ct_err *err)
{
	const char *envp[CT_SPAWN_ENV_MAX + 2];
	struct ct_spawn_result tmp;
	struct run r;
	size_t i;
	int rc, e = 0;

	memset(&tmp, 0, sizeof(tmp));
	run_init(&r);
	if (s->argv == NULL || s->argv[0] == NULL || s->argv[0][0] != '/')
		return ct_err_set(err, CT_EUNAVAIL, "cannot run %s: not an absolute path",
		    s->argv != NULL && s->argv[0] != NULL ? s->argv[0] : "(no program)");
	envp[0] = SPAWN_PATH;
	for (i = 0; i < CT_SPAWN_ENV_MAX && s->env[i] != NULL; i++)
		envp[i + 1] = s->env[i];
	envp[i + 1] = NULL;

	if ((rc = open_fds(&r, err)) != CT_OK)
		goto out;
	if ((rc = start(&r, s->argv, (char *const *)envp, err)) != CT_OK)
		goto out;
	rc = pump(&r, s, &tmp, err);
	if (finish(&r, s, rc != CT_OK || tmp.timed_out, &tmp, err) != CT_OK && rc == CT_OK)
		rc = CT_EUNAVAIL;
	if (rc == CT_OK && read(r.exec_r, &e, sizeof(e)) == (ssize_t)sizeof(e))
		rc = ct_err_set(err, CT_EUNAVAIL, "cannot run %s: %s", s->argv[0], strerror(e));
	if (rc == CT_OK && tmp.out == NULL && (tmp.out = malloc(1)) == NULL)
		rc = ct_err_set(err, CT_ENOMEM, "running %s: out of memory", s->argv[0]);
	if (rc != CT_OK)
		goto out;
	tmp.out[tmp.out_len] = '\0';
	tmp.err[r.err_len] = '\0';
	*res = tmp;
	tmp.out = NULL;
out:
	run_close(&r);
	free(tmp.out);
	return rc;
}

void
ct_spawn_result_clear(struct ct_spawn_result *res)
{
	if (res == NULL)
		return;
	free(res->out);
	memset(res, 0, sizeof(*res));
}

void
ct_spawn_describe(
    const struct ct_spawn *s, const struct ct_spawn_result *res, char *out, size_t outsz)
{
	const char *line = res->err;
	size_t len, n;
	int w;

	if (outsz == 0)
		return;
	if (res->timed_out && s != NULL && s->timeout_ms % 1000 == 0)
		w = snprintf(out, outsz, "timed out after %d s", s->timeout_ms / 1000);
	else if (res->timed_out && s != NULL)
		w = snprintf(out, outsz, "timed out after %d ms", s->timeout_ms);
	else if (res->timed_out)
		w = snprintf(out, outsz, "timed out");
	else if (res->exited)
		w = snprintf(out, outsz, "exit %d", res->status);
	else
		w = snprintf(out, outsz, "killed by signal %d", res->signal);
	if (w < 0 || (size_t)w + 3 >= outsz)
		return;
	len = (size_t)w;
	/* the first line of stderr that says something */
	line += strspn(line, " \t\r\n");
	n = strcspn(line, "\r\n");
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	out[len++] = ':';
	out[len++] = ' ';
	ct_text_printable(line, n, 0, out + len, outsz - len);
}
