/* certtokend: the privileged half of the enroll helper.
 *
 * Listens on a Unix stream socket, learns each caller's uid from the kernel
 * (SO_PEERCRED), runs the PAM service "certtoken-enroll" for that user with
 * the conversation relayed to the client, reads the user's attributes
 * itself, issues through the target's CA connector and records the
 * certificate as a certificate token.  Nothing the client says about who it
 * is or what its attributes are is ever used.
 *
 * One thread per connection, at most service.max_clients at once; every
 * connection has one deadline (service.timeout) for all of its I/O.
 *
 * The files: main.c (start-up and shutdown), listen.c (the socket and the
 * accept loop), dispatch.c (the request table, one connection's life),
 * conn.c (I/O, identity, PAM), shared.c (what the requests share), and one
 * file per request: enroll.c fetch.c upload.c keygen.c status.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "attrsrc.h"
#include "certtokend.h"
#include "conf.h"
#include "ct.h"
#include "store.h"
#include "tokens.h"

/* Open files: what one client may hold at once (its socket, store files,
 * a connector's pipes, PAM modules' files), and the rest of the service. */
#define FDS_PER_CLIENT 12
#define FDS_BASE 256

/* Tasks (threads and child processes): what one client may run at once (a
 * serving and a lingering thread, a connector's program), and the rest. */
#define TASKS_PER_CLIENT 3
#define TASKS_BASE 64

static volatile sig_atomic_t stop_requested;

/* Without its service file libpam would run the "other" stack, which on
 * most systems asks for the password only: refuse to start instead. */
static int
check_pam_service(const char *pam_dir, struct ct_err *err)
{
	static const char *const dirs[] = {"/etc/pam.d", "/usr/lib/pam.d", NULL};
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; pam_dir != NULL ? i == 0 : dirs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", pam_dir != NULL ? pam_dir : dirs[i],
		    ENROLL_SERVICE);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return CT_OK;
	}
	return ct_err_set(err, CT_ECONFIG,
	    "the PAM service %s is not configured (no %s/%s): without it libpam would use "
	    "the 'other' stack; install examples/pam.d/%s",
	    ENROLL_SERVICE, pam_dir != NULL ? pam_dir : "/etc/pam.d", ENROLL_SERVICE,
	    ENROLL_SERVICE);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int
setup(struct daemon *d, struct ct_err *err)
{
	int rc;

	pthread_mutex_init(&d->ca_mu, NULL);
	pthread_mutex_init(&d->conn_mu, NULL);
	pthread_cond_init(&d->conn_cv, NULL);
	rc = ct_store_open(d->cfg, CT_STORE_CREATE | CT_STORE_TOKENS, &d->store, err);
	if (rc != CT_OK)
		return rc;
	d->issuers = calloc(d->cfg->n_targets, sizeof(*d->issuers));
	d->conn_uid = calloc(2 * (size_t)d->cfg->service.max_clients, sizeof(*d->conn_uid));
	d->conn_state = calloc(2 * (size_t)d->cfg->service.max_clients, sizeof(*d->conn_state));
	if (d->issuers == NULL || d->conn_uid == NULL || d->conn_state == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = pam_pin(d, err)) != CT_OK)
		return rc;
	if ((rc = ct_attrsrc_open(&d->cfg->attributes, &d->attrsrc, err)) != CT_OK)
		return rc;
	return ct_attrsrc_pool_new(
	    d->attrsrc, (size_t)d->cfg->service.ldap_connections, &d->ldap_pool, err);
}

static void
teardown(struct daemon *d)
{
	size_t i;

	if (d->socket_path != NULL) { /* only when start-up failed after binding */
		unlink(d->socket_path);
		free(d->socket_path);
		d->socket_path = NULL;
	}
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	pam_unpin(d);
	ct_ldap_pool_free(d->ldap_pool);
	ct_attrsrc_close(d->attrsrc);
	for (i = 0; d->issuers != NULL && i < d->cfg->n_targets; i++)
		issuer_unref(d, d->issuers[i]);
	free(d->issuers);
	free(d->conn_uid);
	free(d->conn_state);
	ct_store_close(d->store);
}

/* Raise the soft limit on open files towards what max_clients connections
 * may need (FDS_PER_CLIENT each, plus FDS_BASE), up to the hard limit; say
 * so when even that is lower. */
static void
fd_limit(const struct daemon *d)
{
	rlim_t want = (rlim_t)FDS_PER_CLIENT * (rlim_t)d->cfg->service.max_clients + FDS_BASE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want)
		logmsg(LOG_WARNING,
		    "open files limited to %llu; %d clients may need %llu (raise LimitNOFILE)",
		    (unsigned long long)rl.rlim_cur, d->cfg->service.max_clients,
		    (unsigned long long)want);
}

/* The pids.max of DIR and of each cgroup above it, down to ROOT: the
 * smallest into *MAX (left alone when all say "max"). */
static void
pids_max_up(const char *root, char *dir, long *max)
{
	char path[PATH_MAX + 64], line[32], *slash, *end;
	size_t root_len = strlen(root);
	long v;
	FILE *f;

	for (;;) {
		snprintf(path, sizeof(path), "%s/pids.max", dir);
		if ((f = fopen(path, "re")) != NULL) {
			if (fgets(line, sizeof(line), f) != NULL &&
			    (v = strtol(line, &end, 10)) > 0 && (*end == '\n' || *end == '\0') &&
			    (*max < 0 || v < *max))
				*max = v;
			fclose(f);
		}
		if (strlen(dir) <= root_len || (slash = strrchr(dir, '/')) == NULL ||
		    (size_t)(slash - dir) < root_len)
			return;
		*slash = '\0';
	}
}

/* How many tasks our cgroup lets us run (TasksMax in a unit: pids.max of
 * cgroup v2, or of v1's pids controller, and of the cgroups above); -1
 * when unlimited or unknown. */
static long
tasks_max(void)
{
	char line[PATH_MAX], dir[PATH_MAX + 32], *path, *nl;
	const char *root;
	long max = -1;
	FILE *f;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (strncmp(line, "0::/", 4) == 0) {
			path = line + 3;
			root = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
			    ? "/sys/fs/cgroup"
			    : "/sys/fs/cgroup/unified";
		} else if ((path = strstr(line, ":pids:/")) != NULL) {
			path += 6;
			root = "/sys/fs/cgroup/pids";
		} else
			continue;
		snprintf(dir, sizeof(dir), "%s%s", root, strcmp(path, "/") == 0 ? "" : path);
		pids_max_up(root, dir, &max);
	}
	fclose(f);
	return max;
}

/* Say so when the cgroup's task limit is below what max_clients clients
 * may need: past it threads cannot start and connections are just closed. */
static void
task_limit(const struct daemon *d)
{
	long want = (long)TASKS_PER_CLIENT * d->cfg->service.max_clients + TASKS_BASE;
	long have = tasks_max();

	if (have >= 0 && have < want)
		logmsg(LOG_WARNING,
		    "tasks limited to %ld (cgroup pids.max); %d clients may need %ld (raise "
		    "TasksMax)",
		    have, d->cfg->service.max_clients, want);
}

/* Wait for running connections, at most their deadline and a little more. */
static void
drain(struct daemon *d)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += d->cfg->service.timeout + 5;
	pthread_mutex_lock(&d->conn_mu);
	while (d->active > 0 || d->refusers > 0)
		if (pthread_cond_timedwait(&d->conn_cv, &d->conn_mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&d->conn_mu);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] [--socket PATH] [-f|--foreground] [--pam-dir DIR]\n"
	    "       " PROG " --help | --version\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 's'}, {"foreground", no_argument, NULL, 'f'},
	    {"pam-dir", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *config_path = ct_config_default_path(), *socket_path = NULL;
	int explicit_path = ct_config_env_named();
	struct daemon d = {.listen_fd = -1};
	struct sigaction sa = {0};
	struct ct_err err = {0};
	sigset_t block, waitmask;
	int c, fd, rc, busy;

	while ((c = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			explicit_path = 1;
			break;
		case 's': socket_path = optarg; break;
		case 'f': d.foreground = 1; break;
		case 'p': d.pam_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " " PACKAGE_VERSION "\n"); return 0;
		default: usage(stderr); return ct_exit_status(CT_EUSAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return ct_exit_status(CT_EUSAGE);
	}
	/* in the foreground, log to stderr too, unless stderr is already the journal */
	openlog(PROG, LOG_PID | (d.foreground && getenv("JOURNAL_STREAM") == NULL ? LOG_PERROR : 0),
	    LOG_AUTHPRIV);
	if (geteuid() != 0) {
		fprintf(
		    stderr, PROG ": must run as root (it owns the CA keys and the token store)\n");
		return ct_exit_status(CT_EPERM);
	}
	umask(077);
	if ((rc = ct_config_load(config_path, explicit_path, &d.cfg, NULL, &err)) != CT_OK ||
	    (rc = check_pam_service(d.pam_dir, &err)) != CT_OK)
		goto fail;
	if ((fd = activated_socket()) == -2) {
		rc = CT_ECONFIG;
		goto out;
	}
	if (fd >= 0)
		d.listen_fd = fd;
	else if ((rc = make_socket(&d, socket_path ? socket_path : d.cfg->socket_path, &err)) !=
	    CT_OK)
		goto fail;
	if ((rc = setup(&d, &err)) != CT_OK)
		goto fail;
	if (!d.foreground) {
		pid_t pid = fork();

		if (pid < 0) {
			rc = ct_err_set(&err, CT_EUNAVAIL, "fork: %s", strerror(errno));
			goto fail;
		}
		if (pid > 0)
			_exit(0); /* the socket is listening: the service is ready */
		setsid();
		if (chdir("/") != 0 || (fd = open("/dev/null", O_RDWR)) < 0) {
			logmsg(LOG_ERR, "cannot detach: %s", strerror(errno));
			_exit(ct_exit_status(CT_EUNAVAIL));
		}
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	/* signals are taken only while the accept loop waits */
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	fd_limit(&d);
	task_limit(&d);
	logmsg(LOG_INFO, "listening on %s (config %s, at most %d clients, %d threads)",
	    d.socket_path ? d.socket_path : "a socket from systemd", d.cfg->path,
	    d.cfg->service.max_clients, conn_threads_max(&d));
	accept_loop(&d, &waitmask, &stop_requested);
	logmsg(LOG_INFO, "stopping");
	close(d.listen_fd);
	d.listen_fd = -1;
	/* remove the socket now, once: a successor may bind the path while we drain */
	if (d.socket_path != NULL) {
		unlink(d.socket_path);
		free(d.socket_path);
		d.socket_path = NULL;
	}
	drain(&d);
	pthread_mutex_lock(&d.conn_mu);
	busy = d.active + d.refusers;
	pthread_mutex_unlock(&d.conn_mu);
	if (busy > 0) {
		/* threads still run: do not free what they use, nor run exit handlers */
		logmsg(LOG_WARNING, "%d connections still running at exit", busy);
		_exit(0);
	}
	rc = CT_OK;
	goto out;
fail:
	fprintf(stderr, PROG ": %s\n", err.msg);
	if (!d.foreground)
		syslog(LOG_AUTHPRIV | LOG_ERR, "%s", err.msg);
out:
	if (d.cfg != NULL)
		teardown(&d);
	ct_config_free(d.cfg);
	closelog();
	return ct_exit_status(rc);
}
