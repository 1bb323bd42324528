#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ldapconn.h"
#include "store.h"
#include "util.h"
#include "proto.h"

#define CT_SECRET_FILE_MAX 4096 /* bytes in the bind password file */
#define CT_VIS_MAX 128 /* bytes of untrusted text in a message */
#define CT_LDAP_POOL_MAX 1024 /* connections in one pool */

struct ct_ldap {
	const struct ct_ldap_settings *s;
	LDAP *ld; /* NULL until opened and after a drop */
	size_t cur; /* index of the URI connected to or last tried */
	int io_ms; /* bound on each socket read and write (read by the I/O layer) */
};

struct ct_ldap_pool {
	const struct ct_ldap_settings *s;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC, the ct_now_ms clock */
	struct ct_ldap **conns;
	int *busy;
	size_t n;
};

/* Copy untrusted text S into BUF for a one-line message (controls -> '?'). */
static const char *
vis(const char *s, char *buf, size_t bufsz)
{
	return ct_text_printable(s, SIZE_MAX, 0, buf, bufsz);
}

static int
uri_is_scheme(const char *uri, const char *scheme)
{
	return strncasecmp(uri, scheme, strlen(scheme)) == 0;
}

/* The smaller of LIMIT_MS and the time left before DEADLINE_MS (0: no
 * deadline); 0 when the deadline has passed. */
static int
bound_ms(int limit_ms, int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms == 0)
		return limit_ms;
	left = deadline_ms - ct_now_ms();
	if (left <= 0)
		return 0;
	return left < limit_ms ? (int)left : limit_ms;
}

static struct timeval
ms_tv(int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	return tv;
}

/* ------------------------------------------------------------------ settings */

int
ct_ldap_uri_valid(const char *uri)
{
	return uri != NULL && uri[strcspn(uri, " \t,")] == '\0' &&
	    (uri_is_scheme(uri, "ldap://") || uri_is_scheme(uri, "ldaps://") ||
	        uri_is_scheme(uri, "ldapi://"));
}

int
ct_ldap_settings_check(const struct ct_ldap_settings *s, struct ct_err *err)
{
	size_t i;

	if (s->uris == NULL || s->n_uris == 0 || s->n_uris > CT_LDAP_URIS_MAX)
		return ct_err_set(
		    err, CT_ECONFIG, "LDAP: between 1 and %d URIs are needed", CT_LDAP_URIS_MAX);
	for (i = 0; i < s->n_uris; i++)
		if (!ct_ldap_uri_valid(s->uris[i]))
			return ct_err_set(err, CT_ECONFIG,
			    "LDAP URI %zu is not one ldap://, ldaps:// or ldapi:// URL", i + 1);
	if (s->network_timeout_ms <= 0 || s->network_timeout_ms > CT_LDAP_TIMEOUT_MAX_MS ||
	    s->op_timeout_ms <= 0 || s->op_timeout_ms > CT_LDAP_TIMEOUT_MAX_MS)
		return ct_err_set(err, CT_ECONFIG, "LDAP %s: timeouts must be 1..%d ms", s->uris[0],
		    CT_LDAP_TIMEOUT_MAX_MS);
	if (s->bind == CT_LDAP_BIND_SIMPLE && (s->bind_dn == NULL || s->bind_password_file == NULL))
		return ct_err_set(
		    err, CT_ECONFIG, "LDAP %s: bind_dn needs bind_password_file", s->uris[0]);
	if (s->bind != CT_LDAP_BIND_ANONYMOUS && s->bind != CT_LDAP_BIND_SIMPLE &&
	    s->bind != CT_LDAP_BIND_EXTERNAL)
		return ct_err_set(err, CT_ECONFIG, "LDAP %s: unknown bind method", s->uris[0]);
	return CT_OK;
}

/* ------------------------------------------------------------------ errors */

/* Record an LDAP failure: one line naming the URI, the step and the LDAP error. */
static int
fail_at(LDAP *ld, const char *uri, const char *what, int lrc, int code, struct ct_err *err)
{
	char *diag = NULL, vbuf[CT_VIS_MAX];
	int show;

	if (ld != NULL &&
	    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) != LDAP_OPT_SUCCESS)
		diag = NULL;
	/* libldap's TLS layer leaves "(unknown error code)" there: not worth showing */
	show = diag != NULL && *diag != '\0' && strncmp(diag, "(unknown", 8) != 0;
	ct_err_set(err, code, "LDAP %s: %s failed: %s%s%s", uri, what, ldap_err2string(lrc),
	    show ? ": " : "", show ? vis(diag, vbuf, sizeof(vbuf)) : "");
	ldap_memfree(diag);
	return code;
}

int
ct_ldap_fail(const struct ct_ldap *h, const char *what, int lrc, int code, struct ct_err *err)
{
	return fail_at(h->ld, ct_ldap_uri(h), what, lrc, code, err);
}

/* ------------------------------------------------------------------ socket I/O layer */

/* A Sockbuf I/O layer just above TCP (below TLS when there is TLS):
 * - it bounds each read and write by the connection's io_ms.  libldap 2.5
 *   runs the TLS handshake (ldaps://, and after StartTLS) on a blocking socket
 *   with no timeout, so a server that accepts and then hangs would block
 *   forever;
 * - it writes with MSG_NOSIGNAL, so a server that went away cannot kill the
 *   host process (sshd, a service) with SIGPIPE.
 * liblber's layer API is public (lber.h); the table below is read-only. */
static int
sbio_wait(Sockbuf_IO_Desc *sbiod, short events, int *fd)
{
	const int *timeout_ms = sbiod->sbiod_pvt;
	struct pollfd pfd = {.fd = -1, .events = events};
	int rc;

	if (ber_sockbuf_ctrl(sbiod->sbiod_sb, LBER_SB_OPT_GET_FD, &pfd.fd) != 1 || pfd.fd < 0)
		return -1;
	do
		rc = poll(&pfd, 1, *timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		errno = ETIMEDOUT;
	*fd = pfd.fd;
	return rc > 0 ? 0 : -1;
}

static int
sbio_setup(Sockbuf_IO_Desc *sbiod, void *arg)
{
	sbiod->sbiod_pvt = arg;
	return 0;
}

static int
sbio_ctrl(Sockbuf_IO_Desc *sbiod, int opt, void *arg)
{
	return LBER_SBIOD_CTRL_NEXT(sbiod, opt, arg);
}

static ber_slen_t
sbio_read(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	int fd;

	if (sbio_wait(sbiod, POLLIN, &fd) < 0)
		return -1;
	return LBER_SBIOD_READ_NEXT(sbiod, buf, len);
}

static ber_slen_t
sbio_write(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	int fd;

	if (sbio_wait(sbiod, POLLOUT, &fd) < 0)
		return -1;
	return send(fd, buf, len, MSG_NOSIGNAL);
}

static Sockbuf_IO sbio_timeout = {
    .sbi_setup = sbio_setup,
    .sbi_ctrl = sbio_ctrl,
    .sbi_read = sbio_read,
    .sbi_write = sbio_write,
};

/* Put the timeout layer on LD's connection (once); IO_MS is its bound. */
static int
add_layer(LDAP *ld, void *io_ms)
{
	Sockbuf *sb = NULL;

	if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS || sb == NULL)
		return -1;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_HAS_IO, &sbio_timeout) == 1)
		return 0;
	return ber_sockbuf_add_io(sb, &sbio_timeout, LBER_SBIOD_LEVEL_PROVIDER + 5, io_ms);
}

/* Called by libldap after the TCP connect, just before a TLS handshake (for
 * ldaps:// this is inside ldap_connect, before we could add the layer). */
static int
tls_connect_cb(LDAP *ld, void *ssl, void *ctx, void *arg)
{
	(void)ssl;
	(void)ctx;
	return add_layer(ld, arg);
}

/* ------------------------------------------------------------------ opening */

/* Set every option on LD (for URI) before it connects. */
static int
set_options(struct ct_ldap *h, LDAP *ld, const char *uri, int tls, struct ct_err *err)
{
	const struct ct_ldap_settings *s = h->s;
	struct timeval tv = ms_tv(h->io_ms);
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND;
	int tlsmin = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, server = 0;

	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS)
		return ct_err_set(err, CT_ECONFIG, "LDAP %s: cannot set connection options", uri);
	if (!tls)
		return CT_OK;
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tlsmin) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CONNECT_CB, (void *)tls_connect_cb) !=
	        LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CONNECT_ARG, (void *)&h->io_ms) !=
	        LDAP_OPT_SUCCESS ||
	    (s->ca_file != NULL &&
	        ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, s->ca_file) != LDAP_OPT_SUCCESS))
		return ct_err_set(err, CT_ECONFIG, "LDAP %s: cannot set TLS options", uri);
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &server) != LDAP_OPT_SUCCESS)
		return ct_err_set(err, CT_ECONFIG, "LDAP %s: cannot set up TLS with ca_file '%s'",
		    uri, s->ca_file != NULL ? s->ca_file : "(system default)");
	return CT_OK;
}

/* Bound the next operations on LD by the operation timeout, cut to
 * DEADLINE_MS; *TV (if not NULL) is that time. */
static int
limit_ops(struct ct_ldap *h, LDAP *ld, int64_t deadline_ms, struct timeval *tv, struct ct_err *err)
{
	struct timeval t;
	int ms = bound_ms(h->s->op_timeout_ms, deadline_ms);

	if (ms <= 0)
		return ct_err_set(
		    err, CT_EUNAVAIL, "LDAP %s: no time left before the deadline", ct_ldap_uri(h));
	h->io_ms = ms;
	t = ms_tv(ms);
	if (ldap_set_option(ld, LDAP_OPT_TIMEOUT, &t) != LDAP_OPT_SUCCESS)
		return ct_err_set(
		    err, CT_ECONFIG, "LDAP %s: cannot set the operation timeout", ct_ldap_uri(h));
	if (tv != NULL)
		*tv = t;
	return CT_OK;
}

/* Open the bind password file PATH safely: no symlink, no FIFO, a regular file of
 * bounded size, owned by root (or us), not writable by group or others. */
static int
secret_open(const char *path, int *fdp, struct ct_err *err)
{
	/* opened as any file (a configuration error if it is not one), then
	 * checked as a secret (refused as unsafe) */
	static const struct ct_open_policy any = {
	    CT_OWNER_ANY, 0, 0, CT_SECRET_FILE_MAX, 0, 0, NULL};
	static const struct ct_open_policy safe = {CT_OWNER_ROOT, 0, S_IWGRP | S_IWOTH,
	    CT_SECRET_FILE_MAX, 0, 0,
	    "unsafe owner or mode (must be owned by root, not writable by group or others)"};
	struct ct_err local = {0};
	struct stat st;
	int fd, rc;

	if ((rc = ct_safe_openat(AT_FDCWD, path, path, &any, &fd, &st, &local)) != CT_OK)
		return ct_err_set(
		    err, rc == CT_ENOMEM ? rc : CT_ECONFIG, "bind_password_file %s", local.msg);
	if ((rc = ct_safe_check(path, &st, &safe, &local)) != CT_OK) {
		close(fd);
		return ct_err_set(err, rc, "bind_password_file %s", local.msg);
	}
	*fdp = fd;
	return CT_OK;
}

/* First line of the bind password file PATH; the caller wipes it (ct_free_secret). */
static int
read_secret_line(const char *path, char **out, struct ct_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	if ((rc = secret_open(path, &fd, err)) < 0)
		return rc;
	if ((buf = malloc(CT_SECRET_FILE_MAX + 1)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	while (
	    len < CT_SECRET_FILE_MAX && (n = read(fd, buf + len, CT_SECRET_FILE_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ct_err_set(
			    err, CT_ECONFIG, "bind_password_file '%s': %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	len = strcspn(buf, "\r\n");
	/* keep the first line; wipe the rest now, ct_free_secret wipes the line */
	OPENSSL_cleanse(buf + len, CT_SECRET_FILE_MAX + 1 - len);
	if (buf[0] == '\0') {
		rc = ct_err_set(err, CT_ECONFIG, "bind_password_file '%s' is empty", path);
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	if (buf != NULL)
		OPENSSL_clear_free(buf, CT_SECRET_FILE_MAX + 1);
	close(fd);
	return rc;
}

/* Bind LD as the settings say: simple (password from the file), SASL
 * EXTERNAL, or anonymously. */
static int
bind_ld(struct ct_ldap *h, LDAP *ld, struct ct_err *err)
{
	const struct ct_ldap_settings *s = h->s;
	struct berval cred = {0, NULL};
	const char *dn = "", *mech = LDAP_SASL_SIMPLE;
	char *pw = NULL, what[CT_VIS_MAX + 16], vbuf[CT_VIS_MAX], empty[1] = "";
	int rc, lrc;

	if (s->bind == CT_LDAP_BIND_SIMPLE) {
		if ((rc = read_secret_line(s->bind_password_file, &pw, err)) < 0)
			return rc;
		cred.bv_val = pw;
		cred.bv_len = strlen(pw);
		dn = s->bind_dn;
	} else if (s->bind == CT_LDAP_BIND_EXTERNAL) {
		/* an empty initial response (not none): the identity is the
		 * one the transport proves, with no separate authzid */
		cred.bv_val = empty;
		dn = NULL;
		mech = "EXTERNAL";
	}
	lrc = ldap_sasl_bind_s(ld, dn, mech, &cred, NULL, NULL, NULL);
	ct_free_secret(pw);
	if (lrc == LDAP_SUCCESS)
		return CT_OK;
	if (s->bind == CT_LDAP_BIND_SIMPLE)
		snprintf(what, sizeof(what), "bind as '%s'", vis(s->bind_dn, vbuf, sizeof(vbuf)));
	else
		snprintf(what, sizeof(what), "%s bind",
		    s->bind == CT_LDAP_BIND_EXTERNAL ? "SASL EXTERNAL" : "anonymous");
	return fail_at(ld, ct_ldap_uri(h), what, lrc, CT_EUNAVAIL, err);
}

/* Connect LD (initialised for URI), then secure it with StartTLS when asked. */
static int
connect_ld(struct ct_ldap *h, LDAP *ld, const char *uri, int64_t deadline_ms, struct ct_err *err)
{
	int lrc, rc;

	if ((lrc = ldap_connect(ld)) != LDAP_SUCCESS)
		return fail_at(ld, uri,
		    uri_is_scheme(uri, "ldaps://") ? "connect (TLS handshake and certificate check)"
		                                   : "connect",
		    lrc, CT_EUNAVAIL, err);
	if (add_layer(ld, &h->io_ms) < 0)
		return ct_err_set(err, CT_ENOMEM, "LDAP %s: cannot set up the connection", uri);
	if ((rc = limit_ops(h, ld, deadline_ms, NULL, err)) < 0)
		return rc;
	if (uri_is_scheme(uri, "ldap://") && h->s->starttls &&
	    (lrc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS)
		/* never fall back to cleartext */
		return fail_at(ld, uri, "StartTLS (TLS handshake and certificate check)", lrc,
		    CT_EUNAVAIL, err);
	return CT_OK;
}

/* Open, secure and bind a connection to URI into H->ld. */
static int
open_uri(struct ct_ldap *h, const char *uri, int64_t deadline_ms, struct ct_err *err)
{
	int tls =
	    uri_is_scheme(uri, "ldaps://") || (uri_is_scheme(uri, "ldap://") && h->s->starttls);
	LDAP *ld = NULL;
	int rc, lrc;

	if ((h->io_ms = bound_ms(h->s->network_timeout_ms, deadline_ms)) <= 0)
		return ct_err_set(
		    err, CT_EUNAVAIL, "LDAP %s: no time left before the deadline", uri);
	if ((lrc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS) {
		rc = fail_at(NULL, uri, "initialize", lrc, CT_ECONFIG, err);
		goto out;
	}
	if ((rc = set_options(h, ld, uri, tls, err)) < 0 ||
	    (rc = connect_ld(h, ld, uri, deadline_ms, err)) < 0 || (rc = bind_ld(h, ld, err)) < 0)
		goto out;
	h->ld = ld;
	ld = NULL;
out:
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

int
ct_ldap_open(struct ct_ldap *h, int64_t deadline_ms, struct ct_err *err)
{
	const struct ct_ldap_settings *s = h->s;
	struct ct_err last = {0};
	size_t i;
	int rc = CT_EUNAVAIL;

	if (h->ld != NULL)
		return CT_OK;
	for (i = 0; i < s->n_uris; i++) {
		h->cur = i;
		ct_err_clear(&last);
		if ((rc = open_uri(h, s->uris[i], deadline_ms, &last)) == CT_OK)
			return CT_OK;
		/* a bad or unsafe password file is the same for every server */
		if (rc != CT_EUNAVAIL || (deadline_ms != 0 && ct_now_ms() >= deadline_ms))
			break;
	}
	if (s->n_uris == 1 || rc != CT_EUNAVAIL)
		return ct_err_set(err, rc, "%s", last.msg);
	return ct_err_set(err, rc, "no LDAP server answered (%zu of %zu tried); last: %s",
	    i < s->n_uris ? i + 1 : s->n_uris, s->n_uris, last.msg);
}

/* ------------------------------------------------------------------ connections */

int
ct_ldap_new(const struct ct_ldap_settings *s, struct ct_ldap **out, struct ct_err *err)
{
	struct ct_ldap *h;
	int rc;

	if ((rc = ct_ldap_settings_check(s, err)) < 0)
		return rc;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	h->s = s;
	*out = h;
	return CT_OK;
}

static int
run_once(struct ct_ldap *h, int64_t deadline_ms, ct_ldap_op_fn op, void *arg, int *lrc,
    struct ct_err *err)
{
	struct timeval tv;
	int rc;

	if ((rc = limit_ops(h, h->ld, deadline_ms, &tv, err)) < 0)
		return rc;
	*lrc = op(h->ld, &tv, arg);
	return CT_OK;
}

int
ct_ldap_run(struct ct_ldap *h, int64_t deadline_ms, ct_ldap_op_fn op, void *arg, int *lrc,
    struct ct_err *err)
{
	int rc, reused = h->ld != NULL;

	if ((rc = ct_ldap_open(h, deadline_ms, err)) < 0 ||
	    (rc = run_once(h, deadline_ms, op, arg, lrc, err)) < 0)
		return rc;
	if (*lrc != LDAP_SERVER_DOWN || !reused)
		return CT_OK;
	/* the server closed a connection that sat idle: reopen once */
	ct_ldap_drop(h);
	if ((rc = ct_ldap_open(h, deadline_ms, err)) < 0)
		return rc;
	return run_once(h, deadline_ms, op, arg, lrc, err);
}

LDAP *
ct_ldap_ld(const struct ct_ldap *h)
{
	return h->ld;
}

const char *
ct_ldap_uri(const struct ct_ldap *h)
{
	return h->s->uris[h->cur];
}

void
ct_ldap_drop(struct ct_ldap *h)
{
	if (h->ld != NULL)
		ldap_unbind_ext_s(h->ld, NULL, NULL);
	h->ld = NULL;
}

void
ct_ldap_free(struct ct_ldap *h)
{
	if (h == NULL)
		return;
	ct_ldap_drop(h);
	free(h);
}

/* ------------------------------------------------------------------ pool */

static int
pool_sync_init(struct ct_ldap_pool *p)
{
	pthread_condattr_t ca;
	int ok;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&p->cv, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!ok)
		return -1;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		pthread_cond_destroy(&p->cv);
		return -1;
	}
	return 0;
}

int
ct_ldap_pool_new(
    const struct ct_ldap_settings *s, size_t n, struct ct_ldap_pool **out, struct ct_err *err)
{
	struct ct_ldap_pool *p;
	size_t i;
	int rc;

	if (n == 0 || n > CT_LDAP_POOL_MAX)
		return ct_err_set(
		    err, CT_ECONFIG, "LDAP pool: 1..%d connections are allowed", CT_LDAP_POOL_MAX);
	if ((rc = ct_ldap_settings_check(s, err)) < 0)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (pool_sync_init(p) < 0) {
		free(p);
		return ct_err_set(err, CT_ENOMEM, "LDAP pool: cannot set up its lock");
	}
	p->s = s;
	p->n = n;
	if ((p->conns = calloc(n, sizeof(*p->conns))) == NULL ||
	    (p->busy = calloc(n, sizeof(*p->busy))) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = ct_ldap_new(s, &p->conns[i], err)) < 0)
			goto out;
	*out = p;
	p = NULL;
out:
	ct_ldap_pool_free(p);
	return rc;
}

/* A free slot of P, marked busy, or -1.  P->mu is held. */
static ssize_t
pool_take(struct ct_ldap_pool *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!p->busy[i]) {
			p->busy[i] = 1;
			return (ssize_t)i;
		}
	return -1;
}

int
ct_ldap_pool_get(
    struct ct_ldap_pool *p, int64_t deadline_ms, struct ct_ldap **out, struct ct_err *err)
{
	struct timespec ts = {
	    .tv_sec = deadline_ms / 1000, .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
	ssize_t slot;

	pthread_mutex_lock(&p->mu);
	while ((slot = pool_take(p)) < 0 && deadline_ms > ct_now_ms())
		if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
			break;
	if (slot < 0)
		slot = pool_take(p); /* one may have come free just as the wait ended */
	pthread_mutex_unlock(&p->mu);
	if (slot < 0)
		return ct_err_set(
		    err, CT_EUNAVAIL, "LDAP %s: all %zu connections are busy", p->s->uris[0], p->n);
	*out = p->conns[slot];
	return CT_OK;
}

void
ct_ldap_pool_put(struct ct_ldap_pool *p, struct ct_ldap *h)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n; i++)
		if (p->conns[i] == h)
			p->busy[i] = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
ct_ldap_pool_free(struct ct_ldap_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; p->conns != NULL && i < p->n; i++)
		ct_ldap_free(p->conns[i]);
	free(p->conns);
	free(p->busy);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
