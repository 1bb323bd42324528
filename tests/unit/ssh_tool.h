/* Tests: the real ssh-keygen (openssh-client), found at run time, run on
 * files in a temporary directory, and the keys and files those tests use. */
#ifndef CT_TEST_SSH_TOOL_H
#define CT_TEST_SSH_TOOL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

/* The absolute path of the OpenSSH program NAME (from PATH, then
 * /usr/bin) in a static buffer, or NULL. */
static inline const char *
ssh_tool_path(const char *name)
{
	static char path[512];
	const char *env = getenv("PATH"), *p, *q;
	size_t n;

	for (p = env != NULL ? env : ""; *p != '\0'; p = *q != '\0' ? q + 1 : q) {
		q = strchr(p, ':');
		if (q == NULL)
			q = p + strlen(p);
		n = (size_t)(q - p);
		if (n > 0 && p[0] == '/' && n + strlen(name) + 2 < sizeof(path)) {
			snprintf(path, sizeof(path), "%.*s/%s", (int)n, p, name);
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	snprintf(path, sizeof(path), "/usr/bin/%s", name);
	return access(path, X_OK) == 0 ? path : NULL;
}

/* The absolute path of ssh-keygen, or NULL. */
static inline const char *
ssh_keygen_path(void)
{
	return ssh_tool_path("ssh-keygen");
}

/* Start the OpenSSH program TOOL with ARGS (NULL-terminated, without
 * argv[0]) in DIR, its standard output (and error, when ERR_TOO) into the
 * pipe *FD: its pid, or -1. */
static inline pid_t
ssh_tool_start(const char *dir, const char *tool, const char *const *args, int err_too, int *fd)
{
	const char *argv[32], *path = ssh_tool_path(tool);
	int fds[2];
	size_t i;
	pid_t pid;

	if (path == NULL || pipe(fds) != 0)
		return -1;
	argv[0] = path;
	for (i = 0; args[i] != NULL && i + 2 < 32; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(fds[1], 1);
		dup2(err_too ? fds[1] : devnull, 2);
		close(fds[0]);
		if (chdir(dir) != 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	*fd = fds[0];
	return pid;
}

/* Run TOOL as ssh_tool_start does, its output into OUT of SIZE bytes;
 * gives its exit status, or -1. */
static inline int
ssh_tool_run(
    const char *dir, const char *tool, const char *const *args, int err_too, char *out, size_t size)
{
	int fd, status;
	size_t n = 0;
	ssize_t got;
	pid_t pid = ssh_tool_start(dir, tool, args, err_too, &fd);

	if (pid < 0)
		return -1;
	while (size > 0 && (got = read(fd, out + n, size - 1 - n)) > 0)
		n += (size_t)got;
	if (size > 0)
		out[n] = '\0';
	close(fd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Run ssh-keygen with ARGS in DIR (see ssh_tool_run). */
static inline int
ssh_keygen_run(const char *dir, const char *const *args, int err_too, char *out, size_t size)
{
	return ssh_tool_run(dir, "ssh-keygen", args, err_too, out, size);
}

/* Write N bytes at P to DIR/NAME with MODE. */
static inline int
ssh_write_file(const char *dir, const char *name, const void *p, size_t n, mode_t mode)
{
	char path[512];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	ok = write(fd, p, n) == (ssize_t)n;
	return close(fd) == 0 && ok ? 0 : -1;
}

/* The contents of DIR/NAME, NUL-terminated, in a new buffer, or NULL. */
static inline char *
ssh_read_file(const char *dir, const char *name, size_t *len)
{
	char path[512], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
		if (len != NULL)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* The kinds of keys the tests make. */
enum ssh_test_key { SK_ED25519, SK_P256, SK_P384, SK_P521, SK_RSA, SK_N };

/* A new key pair of kind K. */
static inline EVP_PKEY *
ssh_test_keygen(enum ssh_test_key k)
{
	switch (k) {
	case SK_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case SK_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case SK_P384: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case SK_P521: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	case SK_RSA: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case SK_N: break;
	}
	return NULL;
}

#endif
