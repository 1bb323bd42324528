/* A fault-injection preload for the integration tests (tests/integration/faults.sh).
 *
 * LD_PRELOAD it into a program; it wraps the calls that change the store:
 * write, pwrite, fsync, fdatasync, rename, renameat, renameat2, link and linkat.
 * A call counts when the file it acts on (an fd's /proc/self/fd link, or a path
 * argument) lies under $FI_DIR.  Set by the environment, read once at load:
 *   FI_DIR    the directory whose calls count (required, absolute; unset: inert)
 *   FI_N      the counted call to act on (1 is the first; 0 or unset: none)
 *   FI_MODE   "fail" (default): that call fails with $FI_ERRNO and does nothing;
 *             "sticky": that call and every later counted one fail;
 *             "kill": the process is killed with SIGKILL before that call runs
 *   FI_ERRNO  "ENOSPC" (default) or "EIO"
 *   FI_LOG    a file to which each counted call appends "N OP PATH"
 * Counting is per process and thread-safe. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char fi_dir[4096];
static size_t fi_dirlen;
static long fi_n;
static int fi_mode; /* 0 fail, 1 sticky, 2 kill */
static int fi_errno = ENOSPC;
static int fi_log = -1;
static long fi_count;

__attribute__((constructor)) static void
fi_init(void)
{
	const char *d = getenv("FI_DIR"), *n = getenv("FI_N"), *m = getenv("FI_MODE");
	const char *e = getenv("FI_ERRNO"), *l = getenv("FI_LOG");

	if (d == NULL || d[0] != '/' || strlen(d) >= sizeof(fi_dir))
		return;
	strcpy(fi_dir, d);
	fi_dirlen = strlen(fi_dir);
	while (fi_dirlen > 1 && fi_dir[fi_dirlen - 1] == '/')
		fi_dir[--fi_dirlen] = '\0';
	fi_n = n != NULL ? atol(n) : 0;
	if (m != NULL && strcmp(m, "sticky") == 0)
		fi_mode = 1;
	else if (m != NULL && strcmp(m, "kill") == 0)
		fi_mode = 2;
	if (e != NULL && strcmp(e, "EIO") == 0)
		fi_errno = EIO;
	if (l != NULL)
		fi_log = open(l, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

static int
under_dir(const char *path)
{
	return fi_dirlen > 0 && path != NULL && strncmp(path, fi_dir, fi_dirlen) == 0 &&
	    (path[fi_dirlen] == '/' || path[fi_dirlen] == '\0');
}

static int
fd_under_dir(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	if (fi_dirlen == 0 || fd == fi_log)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, buf, len - 1)) < 0)
		return 0;
	buf[n] = '\0';
	return under_dir(buf);
}

/* Count one call on PATH; returns nonzero when it must fail (errno set). */
static int
fi_hit(const char *op, const char *path)
{
	long k = __atomic_add_fetch(&fi_count, 1, __ATOMIC_SEQ_CST);
	char line[4200];
	int len;

	if (fi_log >= 0) {
		len = snprintf(line, sizeof(line), "%ld %s %s\n", k, op, path);
		if (len > 0)
			(void)syscall(SYS_write, fi_log, line, (size_t)len);
	}
	if (fi_n <= 0 || k < fi_n || (k > fi_n && fi_mode != 1))
		return 0;
	if (fi_mode == 2)
		(void)kill(getpid(), SIGKILL);
	errno = fi_errno;
	return 1;
}

static int
fd_hit(const char *op, int fd)
{
	char path[4096];

	return fd_under_dir(fd, path, sizeof(path)) && fi_hit(op, path);
}

static int
path_hit(const char *op, const char *a, const char *b)
{
	if (under_dir(a))
		return fi_hit(op, a);
	if (under_dir(b))
		return fi_hit(op, b);
	return 0;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t
write(int fd, const void *buf, size_t len)
{
	if (fd_hit("write", fd))
		return -1;
	return REAL(write)(fd, buf, len);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (fd_hit("pwrite", fd))
		return -1;
	return REAL(pwrite)(fd, buf, len, off);
}

#if __SIZEOF_LONG__ == 8 /* with 32-bit longs and large files, pwrite above is pwrite64 */
ssize_t
pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	if (fd_hit("pwrite", fd))
		return -1;
	return REAL(pwrite64)(fd, buf, len, off);
}
#endif

int
fsync(int fd)
{
	if (fd_hit("fsync", fd))
		return -1;
	return REAL(fsync)(fd);
}

int
fdatasync(int fd)
{
	if (fd_hit("fdatasync", fd))
		return -1;
	return REAL(fdatasync)(fd);
}

int
rename(const char *from, const char *to)
{
	if (path_hit("rename", to, from))
		return -1;
	return REAL(rename)(from, to);
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	if (path_hit("renameat", to, from))
		return -1;
	return REAL(renameat)(fromfd, from, tofd, to);
}

int
renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
	if (path_hit("renameat2", to, from))
		return -1;
	return REAL(renameat2)(fromfd, from, tofd, to, flags);
}

int
link(const char *from, const char *to)
{
	if (path_hit("link", to, from))
		return -1;
	return REAL(link)(from, to);
}

int
linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	if (path_hit("linkat", to, from))
		return -1;
	return REAL(linkat)(fromfd, from, tofd, to, flags);
}
