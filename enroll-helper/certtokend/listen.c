/* certtokend: the listening socket (ours, or systemd's) and the accept
 * loop, which learns each caller's uid from the kernel, admits it within
 * the per-user and total limits, and starts a thread for it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "certtokend.h"

#define SD_LISTEN_FDS_START 3
#define REFUSE_MS 200 /* how long we try to tell a client that we are busy */

/* A socket passed by systemd: LISTEN_PID is us and LISTEN_FDS >= 1.
 * Returns the fd, -1 when none was passed, -2 when it is unusable. */
int
activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int fd = SD_LISTEN_FDS_START, type = 0, listening = 0;
	struct sockaddr_un sa;
	socklen_t len = sizeof(type);
	long n, i;
	char *end;

	if (pid == NULL || fds == NULL)
		return -1;
	errno = 0;
	if (strtol(pid, &end, 10) != (long)getpid() || *end != '\0')
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if ((n = strtol(fds, &end, 10)) < 1 || n > 64 || *end != '\0') {
		fprintf(stderr, PROG ": LISTEN_FDS=%s: expected a count of 1 to 64\n", fds);
		return -2;
	}
	for (i = 1; i < n; i++) /* we use the first; the others must not reach PAM modules */
		close(fd + (int)i);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
	    (len = sizeof(listening),
	        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) ||
	    !listening || (len = sizeof(sa), getsockname(fd, (struct sockaddr *)&sa, &len) != 0) ||
	    sa.sun_family != AF_UNIX) {
		fprintf(stderr,
		    PROG ": socket activation: fd %d is not a listening Unix stream socket\n", fd);
		return -2;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* Does something answer on the socket at PATH? */
static int
socket_alive(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* The socket's directory DIR: created 0755 (whatever the umask: clients
 * must reach the socket), and root's, not writable by group or others. */
static int
socket_dir(const char *dir, struct ct_err *err)
{
	struct stat st;

	if (mkdir(dir, 0755) == 0)
		(void)chmod(dir, 0755);
	else if (errno != EEXIST)
		return ct_err_set(err, CT_EUNAVAIL, "%s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0)
		return ct_err_set(err, CT_EPERM,
		    "%s: the socket's directory must be owned by root and not writable by group or "
		    "others",
		    dir);
	return CT_OK;
}

/* Remove a stale socket at PATH; refuse anything else that is there. */
static int
clear_stale(const char *path, struct ct_err *err)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return CT_OK;
	if (!S_ISSOCK(st.st_mode))
		return ct_err_set(err, CT_EEXIST, "%s exists and is not a socket", path);
	if (socket_alive(path))
		return ct_err_set(err, CT_EEXIST, "%s: another certtokend is listening", path);
	unlink(path); /* stale */
	return CT_OK;
}

/* Create, bind and listen on PATH.  Sets d->socket_path on success. */
int
make_socket(struct daemon *d, const char *path, struct ct_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *dir = strdup(path), *slash;
	mode_t old;
	int fd = -1, rc;

	if (dir == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (strlen(path) >= sizeof(sa.sun_path) || (slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		return ct_err_set(err, CT_ECONFIG,
		    "%s: not an absolute socket path of at most %zu "
		    "bytes",
		    path, sizeof(sa.sun_path) - 1);
	}
	*(slash == dir ? slash + 1 : slash) = '\0';
	if ((rc = socket_dir(dir, err)) != CT_OK)
		goto out;
	if ((rc = clear_stale(path, err)) != CT_OK)
		goto out;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		rc = ct_err_set(err, CT_EUNAVAIL, "socket: %s", strerror(errno));
		goto out;
	}
	old = umask(0111); /* 0666: anyone may connect, the kernel says who they are */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || listen(fd, 128) != 0) {
		rc = ct_err_set(err, CT_EUNAVAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((d->socket_path = strdup(path)) == NULL) {
		unlink(path);
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	d->listen_fd = fd;
	fd = -1;
	rc = CT_OK;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* ---- the accept loop ---- */

/* Tell a client we cannot take it now, briefly, and hang up.  Its request
 * is read first: closing a socket with unread data would reset the
 * connection and lose our answer.  Runs in its own thread, so a refused
 * client never holds up the accept loop. */
static void *
refuse(void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;

	drain_input(c->fd, 0);
	reply_error(c, CT_EUNAVAIL, "%s", c->why);
	shutdown(c->fd, SHUT_WR);
	drain_input(c->fd, ct_now_ms() + REFUSE_MS);
	close(c->fd);
	free(c);
	pthread_mutex_lock(&d->conn_mu);
	d->refusers--;
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->conn_mu);
	return NULL;
}

int
conn_threads_max(const struct daemon *d)
{
	return 2 * d->cfg->service.max_clients + REFUSERS_MAX;
}

/* Admit a connection from UID (under conn_mu): a free slot, now serving, or
 * -1 with the reason in WHY.  Serving connections count against
 * max_clients and, per uid, against max_per_user; a lingering one (it has
 * its last answer) against neither, so a client that asks again as soon
 * as it has read an answer is not turned away, but it keeps its slot, and
 * so its thread is counted, until the thread ends. */
static int
admit(struct daemon *d, uid_t uid, char *why, size_t size)
{
	int i, free_slot = -1, serving = 0, mine = 0, max = d->cfg->service.max_clients;

	for (i = 0; i < 2 * max; i++) {
		if (d->conn_state[i] == SLOT_FREE) {
			if (free_slot < 0)
				free_slot = i;
		} else if (d->conn_state[i] == SLOT_SERVING) {
			serving++;
			mine += d->conn_uid[i] == uid;
		}
	}
	if (serving >= max || free_slot < 0) {
		snprintf(why, size, "the service is busy (%d clients); try again", max);
		return -1;
	}
	if (mine >= d->cfg->service.max_per_user) {
		snprintf(
		    why, size, "you already have %d connections to the service; try again", mine);
		return -1;
	}
	d->conn_state[free_slot] = SLOT_SERVING;
	d->conn_uid[free_slot] = uid;
	d->active++;
	return free_slot;
}

/* Tell C (not admitted: C->why says why) in a thread of its own, when
 * fewer than REFUSERS_MAX are doing that; otherwise just hang up. */
static void
turn_away(struct daemon *d, struct conn *c, pthread_attr_t *attr)
{
	pthread_t th;
	int refusing;

	logmsg_uid(c->uid, LOG_WARNING, "uid %u refused: %s", (unsigned)c->uid, c->why);
	c->deadline = ct_now_ms() + REFUSE_MS;
	pthread_mutex_lock(&d->conn_mu);
	refusing = d->refusers < REFUSERS_MAX;
	if (refusing)
		d->refusers++;
	pthread_mutex_unlock(&d->conn_mu);
	if (refusing && pthread_create(&th, attr, refuse, c) == 0)
		return;
	close(c->fd);
	free(c);
	if (refusing) {
		pthread_mutex_lock(&d->conn_mu);
		d->refusers--;
		pthread_mutex_unlock(&d->conn_mu);
	}
}

/* Accept one connection and hand it to a thread (or to a refuser). */
static void
take_one(struct daemon *d, pthread_attr_t *attr)
{
	struct timespec pause = {0, 100 * 1000000};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	pthread_t th;
	struct conn *c;
	int fd, slot;

	if ((fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
			logmsg(LOG_ERR, "accept: %s", strerror(errno));
			nanosleep(&pause, NULL); /* do not spin while out of descriptors */
		}
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
		logmsg(LOG_ERR, "SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->d = d;
	c->fd = fd;
	c->uid = cred.uid;
	pthread_mutex_lock(&d->conn_mu);
	slot = admit(d, cred.uid, c->why, sizeof(c->why));
	pthread_mutex_unlock(&d->conn_mu);
	if (slot < 0) {
		turn_away(d, c, attr);
		return;
	}
	c->slot = slot;
	c->deadline = ct_now_ms() + (int64_t)d->cfg->service.timeout * 1000;
	if (pthread_create(&th, attr, serve, c) != 0) {
		logmsg(LOG_ERR, "cannot start a thread for a connection");
		close(fd);
		free(c);
		pthread_mutex_lock(&d->conn_mu);
		d->conn_state[slot] = SLOT_FREE;
		d->active--;
		pthread_cond_broadcast(&d->conn_cv);
		pthread_mutex_unlock(&d->conn_mu);
	}
}

void
accept_loop(struct daemon *d, const sigset_t *waitmask, volatile sig_atomic_t *stop)
{
	struct pollfd pfd = {.fd = d->listen_fd, .events = POLLIN};
	const struct timespec second = {1, 0};
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!*stop) {
		/* wake at least once a second: suppressed log lines are summed up
		 * soon after their window has passed */
		if (ppoll(&pfd, 1, &second, waitmask) > 0)
			take_one(d, &attr);
		logmsg_uid_flush();
	}
	pthread_attr_destroy(&attr);
}
