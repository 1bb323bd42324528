/* lib/ldapconn against a real slapd.  tests/integration/ldapconn.sh starts
 * the server and runs this program with its addresses in the environment
 * (SLAPD_URI, SLAPD_LDAPS_URI, SLAPD_LDAPI_URI, SLAPD_CA, SLAPD_BIND_DN,
 * SLAPD_BIND_PW_FILE, CT_TEST_WRONG_PW, CT_TEST_TMP); run alone, it skips.
 * A server that never answers is a listening socket of this test that
 * accepts nothing. */
#include "config.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ldapconn.h"
#include "proto.h"

#define DOWN1 "ldap://127.0.0.1:1" /* nothing listens: connection refused */
#define DOWN2 "ldap://127.0.0.1:9"

/* The environment variable NAME, or skip the test when it is not set. */
#define NEED(var, name)                                                                            \
	do {                                                                                       \
		if ((var = getenv(name)) == NULL || *var == '\0')                                  \
			skip();                                                                    \
	} while (0)

struct whoami {
	int calls;
	int tls; /* the connection runs TLS */
	char id[256]; /* the authorization identity the server sees */
};

/* The test's operation: "Who am I?" (RFC 4532). */
static int
whoami_op(LDAP *ld, struct timeval *tv, void *arg)
{
	struct whoami *w = arg;
	struct berval *id = NULL;
	int lrc;

	assert_true(tv->tv_sec > 0 || tv->tv_usec > 0);
	w->calls++;
	w->tls = ldap_tls_inplace(ld);
	w->id[0] = '\0';
	lrc = ldap_whoami_s(ld, &id, NULL, NULL);
	if (lrc == LDAP_SUCCESS && id != NULL)
		snprintf(w->id, sizeof(w->id), "%.*s", (int)id->bv_len, id->bv_val);
	ber_bvfree(id);
	return lrc;
}

static struct ct_ldap_settings
settings(const char *const *uris, size_t n)
{
	struct ct_ldap_settings s = {
	    .uris = uris, .n_uris = n, .network_timeout_ms = 3000, .op_timeout_ms = 3000};

	return s;
}

/* Open a connection with S and ask who we are: the ct_ldap_run code; the
 * answer in *W, the URI that answered in URI (when not NULL). */
static int
run_whoami(const struct ct_ldap_settings *s, int64_t deadline, struct whoami *w, char *uri,
    struct ct_err *err)
{
	struct ct_ldap *h = NULL;
	int rc, lrc = -1;

	memset(w, 0, sizeof(*w));
	assert_int_equal(ct_ldap_new(s, &h, err), CT_OK);
	rc = ct_ldap_run(h, deadline, whoami_op, w, &lrc, err);
	if (rc == CT_OK)
		assert_int_equal(lrc, LDAP_SUCCESS);
	if (uri != NULL)
		snprintf(uri, 256, "%s", ct_ldap_uri(h));
	ct_ldap_free(h);
	return rc;
}

/* The contents of the password file PATH. */
static void
read_file(const char *path, char *buf, size_t sz)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sz - 1, f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	fclose(f);
	assert_true(n > 0);
}

/* A TCP socket on 127.0.0.1 that listens and never accepts: its URI in URI. */
static int
silent_server(const char *scheme, char *uri, size_t sz)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(uri, sz, "%s://127.0.0.1:%u", scheme, (unsigned)ntohs(a.sin_port));
	return fd;
}

/* ------------------------------------------------------------------ settings */

static void
test_settings_check(void **state)
{
	const char *good[] = {"ldap://127.0.0.1:389"}, *bad[] = {"http://127.0.0.1/"};
	const char *two[] = {"ldaps://a ldaps://b"};
	struct ct_ldap_settings s = settings(good, 1);
	struct ct_ldap *h = NULL;
	struct ct_err err = {0};

	(void)state;
	assert_int_equal(ct_ldap_settings_check(&s, &err), CT_OK);
	s.n_uris = 0;
	assert_int_equal(ct_ldap_new(&s, &h, &err), CT_ECONFIG);
	assert_null(h);
	ct_err_clear(&err);
	s = settings(bad, 1);
	assert_int_equal(ct_ldap_settings_check(&s, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "URI 1"));
	ct_err_clear(&err);
	s = settings(two, 1);
	assert_int_equal(ct_ldap_settings_check(&s, &err), CT_ECONFIG);
	ct_err_clear(&err);
	s = settings(good, 1);
	s.op_timeout_ms = 0;
	assert_int_equal(ct_ldap_settings_check(&s, &err), CT_ECONFIG);
	ct_err_clear(&err);
	s = settings(good, 1);
	s.bind = CT_LDAP_BIND_SIMPLE;
	s.bind_dn = "cn=admin,dc=example,dc=org";
	assert_int_equal(ct_ldap_settings_check(&s, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "bind_password_file"));
	ct_err_clear(&err);
	assert_int_equal(ct_ldap_uri_valid("ldapi://%2Frun%2Fslapd"), 1);
	assert_int_equal(ct_ldap_uri_valid(NULL), 0);
}

/* ------------------------------------------------------------------ transports and binds */

static void
test_plain_anonymous(void **state)
{
	const char *uri;
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};

	(void)state;
	NEED(uri, "SLAPD_URI");
	s = settings(&uri, 1);
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_OK);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.tls, 0);
	assert_string_equal(w.id, ""); /* anonymous */
}

static void
test_plain_password(void **state)
{
	const char *uri, *dn, *pw;
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};
	char want[300];

	(void)state;
	NEED(uri, "SLAPD_URI");
	NEED(dn, "SLAPD_BIND_DN");
	NEED(pw, "SLAPD_BIND_PW_FILE");
	s = settings(&uri, 1);
	s.bind = CT_LDAP_BIND_SIMPLE;
	s.bind_dn = dn;
	s.bind_password_file = pw;
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_OK);
	snprintf(want, sizeof(want), "dn:%s", dn);
	assert_string_equal(w.id, want);
}

static void
test_starttls(void **state)
{
	const char *uri, *ca, *dn, *pw;
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};

	(void)state;
	NEED(uri, "SLAPD_URI");
	NEED(ca, "SLAPD_CA");
	NEED(dn, "SLAPD_BIND_DN");
	NEED(pw, "SLAPD_BIND_PW_FILE");
	s = settings(&uri, 1);
	s.starttls = 1;
	s.ca_file = ca;
	s.bind = CT_LDAP_BIND_SIMPLE;
	s.bind_dn = dn;
	s.bind_password_file = pw;
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_OK);
	assert_int_equal(w.tls, 1);
	assert_non_null(strstr(w.id, dn));
}

static void
test_ldaps(void **state)
{
	const char *uri, *ca;
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};

	(void)state;
	NEED(uri, "SLAPD_LDAPS_URI");
	NEED(ca, "SLAPD_CA");
	s = settings(&uri, 1);
	s.ca_file = ca;
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_OK);
	assert_int_equal(w.tls, 1);
	assert_string_equal(w.id, "");
}

/* A CA that did not sign the server's certificate: no connection, and
 * never a cleartext fallback. */
static void
test_tls_wrong_ca(void **state)
{
	const char *uri, *ldaps, *other;
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};

	(void)state;
	NEED(uri, "SLAPD_URI");
	NEED(ldaps, "SLAPD_LDAPS_URI");
	NEED(other, "CT_TEST_OTHER_CA");
	s = settings(&uri, 1);
	s.starttls = 1;
	s.ca_file = other;
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_EUNAVAIL);
	assert_int_equal(w.calls, 0);
	assert_non_null(strstr(err.msg, uri));
	assert_non_null(strstr(err.msg, "StartTLS"));
	ct_err_clear(&err);
	s = settings(&ldaps, 1);
	s.ca_file = other;
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_EUNAVAIL);
	assert_int_equal(w.calls, 0);
	assert_non_null(strstr(err.msg, ldaps));
	assert_non_null(strstr(err.msg, "certificate check"));
}

static void
test_ldapi_external(void **state)
{
	const char *uri;
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};
	char want[64];

	(void)state;
	NEED(uri, "SLAPD_LDAPI_URI");
	s = settings(&uri, 1);
	s.bind = CT_LDAP_BIND_EXTERNAL;
	if (run_whoami(&s, 0, &w, NULL, &err) != CT_OK)
		fail_msg("%s", err.msg);
	snprintf(want, sizeof(want), "+uidNumber=%u,cn=peercred,", (unsigned)geteuid());
	assert_non_null(strstr(w.id, want));
}

/* A wrong password: a clear one-line error naming the server, the DN and
 * the reason, and never the password (neither the wrong nor the right one). */
static void
test_wrong_password(void **state)
{
	const char *uri, *dn, *wrong, *right;
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};
	char pw[128];

	(void)state;
	NEED(uri, "SLAPD_URI");
	NEED(dn, "SLAPD_BIND_DN");
	NEED(wrong, "CT_TEST_WRONG_PW");
	NEED(right, "SLAPD_BIND_PW_FILE");
	s = settings(&uri, 1);
	s.bind = CT_LDAP_BIND_SIMPLE;
	s.bind_dn = dn;
	s.bind_password_file = wrong;
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_EUNAVAIL);
	assert_int_equal(w.calls, 0);
	assert_non_null(strstr(err.msg, uri));
	assert_non_null(strstr(err.msg, dn));
	assert_non_null(strstr(err.msg, "Invalid credentials"));
	assert_null(strchr(err.msg, '\n'));
	read_file(wrong, pw, sizeof(pw));
	assert_null(strstr(err.msg, pw));
	read_file(right, pw, sizeof(pw));
	assert_null(strstr(err.msg, pw));
}

/* A group-writable password file is refused before any bind (CT_EPERM);
 * a missing one is a configuration error. */
static void
test_unsafe_password_file(void **state)
{
	const char *uri, *dn, *tmp;
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};
	char path[512];
	int fd;

	(void)state;
	NEED(uri, "SLAPD_URI");
	NEED(dn, "SLAPD_BIND_DN");
	NEED(tmp, "CT_TEST_TMP");
	snprintf(path, sizeof(path), "%s/unsafe.pw", tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "secret-in-file\n", 15), 15);
	assert_int_equal(fchmod(fd, 0620), 0);
	close(fd);
	s = settings(&uri, 1);
	s.bind = CT_LDAP_BIND_SIMPLE;
	s.bind_dn = dn;
	s.bind_password_file = path;
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, path));
	assert_null(strstr(err.msg, "secret-in-file"));
	ct_err_clear(&err);
	unlink(path);
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, path));
}

/* ------------------------------------------------------------------ URI lists and time */

static void
test_falls_through_to_next(void **state)
{
	const char *uris[3] = {DOWN1, DOWN2, NULL};
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};
	char used[256];

	(void)state;
	NEED(uris[2], "SLAPD_URI");
	s = settings(uris, 3);
	assert_int_equal(run_whoami(&s, 0, &w, used, &err), CT_OK);
	assert_string_equal(used, uris[2]);
	assert_int_equal(w.calls, 1);
}

static void
test_none_answers(void **state)
{
	const char *uris[2] = {DOWN1, DOWN2};
	const char *want = "LDAP " DOWN1 ": connect failed";
	struct ct_ldap_settings s = settings(uris, 2);
	struct whoami w;
	struct ct_err err = {0};

	(void)state;
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_EUNAVAIL);
	assert_int_equal(w.calls, 0);
	assert_non_null(strstr(err.msg, "2 of 2 tried"));
	assert_non_null(strstr(err.msg, DOWN2));
	assert_null(strchr(err.msg, '\n'));
	ct_err_clear(&err);
	s.n_uris = 1; /* one URI: the plain message, as the attribute source always gave */
	assert_int_equal(run_whoami(&s, 0, &w, NULL, &err), CT_EUNAVAIL);
	assert_true(strncmp(err.msg, want, strlen(want)) == 0);
}

/* Elapsed milliseconds of a failed connection to a server that never answers. */
static int64_t
silent_attempt(const struct ct_ldap_settings *s, int64_t deadline, struct ct_err *err)
{
	struct whoami w;
	int64_t t0 = ct_now_ms();

	assert_int_equal(run_whoami(s, deadline, &w, NULL, err), CT_EUNAVAIL);
	assert_int_equal(w.calls, 0);
	return ct_now_ms() - t0;
}

/* A server that accepts and never answers: the bind (ldap://), the StartTLS
 * request and the TLS handshake (ldaps://) each give up at the timeout. */
static void
test_silent_server_timeout(void **state)
{
	char plain[64], tls[64];
	const char *up = plain, *ut = tls, *ca;
	int fd1 = silent_server("ldap", plain, sizeof(plain));
	int fd2 = silent_server("ldaps", tls, sizeof(tls));
	struct ct_ldap_settings s;
	struct ct_err err = {0};
	int64_t ms;

	(void)state;
	s = settings(&up, 1);
	s.network_timeout_ms = s.op_timeout_ms = 700;
	ms = silent_attempt(&s, 0, &err);
	assert_true(ms >= 600 && ms < 2500);
	assert_non_null(strstr(err.msg, plain));
	ct_err_clear(&err);
	s.starttls = 1;
	ms = silent_attempt(&s, 0, &err);
	assert_true(ms >= 600 && ms < 2500);
	assert_non_null(strstr(err.msg, "StartTLS"));
	ct_err_clear(&err);
	s = settings(&ut, 1);
	s.network_timeout_ms = s.op_timeout_ms = 700;
	if ((ca = getenv("SLAPD_CA")) != NULL && *ca != '\0')
		s.ca_file = ca;
	ms = silent_attempt(&s, 0, &err);
	assert_true(ms >= 600 && ms < 2500);
	assert_non_null(strstr(err.msg, tls));
	close(fd1);
	close(fd2);
}

/* The caller's deadline cuts the timeouts short; a deadline already past
 * does not even connect. */
static void
test_deadline(void **state)
{
	char plain[64];
	const char *up = plain;
	int fd = silent_server("ldap", plain, sizeof(plain));
	struct ct_ldap_settings s = settings(&up, 1);
	struct ct_err err = {0};
	int64_t ms;

	(void)state;
	s.network_timeout_ms = s.op_timeout_ms = 10000;
	ms = silent_attempt(&s, ct_now_ms() + 500, &err);
	assert_true(ms >= 400 && ms < 2000);
	ct_err_clear(&err);
	ms = silent_attempt(&s, ct_now_ms() - 1, &err);
	assert_true(ms < 200);
	assert_non_null(strstr(err.msg, "no time left before the deadline"));
	close(fd);
}

/* A silent server first in the list: after its timeout, the next one answers. */
static void
test_silent_then_next(void **state)
{
	char plain[64];
	const char *uris[2] = {plain, NULL};
	int fd = silent_server("ldap", plain, sizeof(plain));
	struct ct_ldap_settings s;
	struct whoami w;
	struct ct_err err = {0};
	char used[256];
	int64_t t0 = ct_now_ms();

	(void)state;
	NEED(uris[1], "SLAPD_URI");
	s = settings(uris, 2);
	s.network_timeout_ms = s.op_timeout_ms = 600;
	assert_int_equal(run_whoami(&s, 0, &w, used, &err), CT_OK);
	assert_string_equal(used, uris[1]);
	assert_true(ct_now_ms() - t0 < 3000);
	close(fd);
}

/* The server closed a connection that was open: one reconnect, and the
 * operation runs again on the new connection. */
static void
test_reconnect_once(void **state)
{
	const char *uri;
	struct ct_ldap_settings s;
	struct ct_ldap *h = NULL;
	struct whoami w = {0};
	struct ct_err err = {0};
	LDAP *first;
	int fd = -1, lrc = -1;

	(void)state;
	NEED(uri, "SLAPD_URI");
	s = settings(&uri, 1);
	assert_int_equal(ct_ldap_new(&s, &h, &err), CT_OK);
	assert_null(ct_ldap_ld(h));
	assert_int_equal(ct_ldap_run(h, 0, whoami_op, &w, &lrc, &err), CT_OK);
	assert_int_equal(lrc, LDAP_SUCCESS);
	first = ct_ldap_ld(h);
	assert_non_null(first);
	assert_int_equal(ldap_get_option(first, LDAP_OPT_DESC, &fd), LDAP_OPT_SUCCESS);
	assert_int_equal(shutdown(fd, SHUT_RDWR), 0); /* the connection is dead */
	w.calls = 0;
	assert_int_equal(ct_ldap_run(h, 0, whoami_op, &w, &lrc, &err), CT_OK);
	assert_int_equal(lrc, LDAP_SUCCESS);
	assert_int_equal(w.calls, 2);
	/* open and healthy: nothing to redo */
	w.calls = 0;
	assert_int_equal(ct_ldap_open(h, 0, &err), CT_OK);
	assert_int_equal(ct_ldap_run(h, 0, whoami_op, &w, &lrc, &err), CT_OK);
	assert_int_equal(w.calls, 1);
	ct_ldap_drop(h);
	assert_null(ct_ldap_ld(h));
	ct_ldap_free(h);
	ct_ldap_free(NULL);
}

/* ------------------------------------------------------------------ pool */

struct pool_run {
	struct ct_ldap_pool *p;
	pthread_mutex_t mu;
	int holding, most, ok, fail;
	struct ct_ldap *seen[8];
};

static void *
pool_worker(void *arg)
{
	struct pool_run *r = arg;
	struct ct_ldap *h = NULL;
	struct whoami w = {0};
	struct ct_err err = {0};
	int i, rc, lrc = -1;

	rc = ct_ldap_pool_get(r->p, ct_now_ms() + 10000, &h, &err);
	if (rc == CT_OK) {
		pthread_mutex_lock(&r->mu);
		if (++r->holding > r->most)
			r->most = r->holding;
		for (i = 0; i < 8 && r->seen[i] != NULL && r->seen[i] != h; i++)
			;
		if (i < 8)
			r->seen[i] = h;
		pthread_mutex_unlock(&r->mu);
		rc = ct_ldap_run(h, 0, whoami_op, &w, &lrc, &err);
		usleep(50 * 1000);
		pthread_mutex_lock(&r->mu);
		r->holding--;
		pthread_mutex_unlock(&r->mu);
		ct_ldap_pool_put(r->p, h);
	}
	pthread_mutex_lock(&r->mu);
	if (rc == CT_OK && lrc == LDAP_SUCCESS)
		r->ok++;
	else
		r->fail++;
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Eight threads share a pool of two: never more than two hold a connection,
 * only two connections exist, and every thread is served. */
static void
test_pool_bound(void **state)
{
	const char *uri;
	struct ct_ldap_settings s;
	struct pool_run r = {0};
	pthread_t t[8];
	struct ct_err err = {0};
	int i, n;

	(void)state;
	NEED(uri, "SLAPD_URI");
	s = settings(&uri, 1);
	pthread_mutex_init(&r.mu, NULL);
	assert_int_equal(ct_ldap_pool_new(&s, 2, &r.p, &err), CT_OK);
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, pool_worker, &r), 0);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (n = 0; n < 8 && r.seen[n] != NULL; n++)
		;
	assert_int_equal(r.ok, 8);
	assert_int_equal(r.fail, 0);
	assert_int_equal(r.most, 2);
	assert_int_equal(n, 2);
	ct_ldap_pool_free(r.p);
	pthread_mutex_destroy(&r.mu);
}

struct late_put {
	struct ct_ldap_pool *p;
	struct ct_ldap *h;
};

static void *
put_later(void *arg)
{
	struct late_put *lp = arg;

	usleep(300 * 1000);
	ct_ldap_pool_put(lp->p, lp->h);
	return NULL;
}

/* With every connection taken, a caller waits until its deadline and gets
 * CT_EUNAVAIL; one that is given back in time is handed on at once. */
static void
test_pool_wait(void **state)
{
	const char *uris[] = {"ldap://127.0.0.1:389"};
	struct ct_ldap_settings s = settings(uris, 1);
	struct ct_ldap_pool *p = NULL;
	struct ct_ldap *a = NULL, *b = NULL, *c = NULL;
	struct late_put lp;
	struct ct_err err = {0};
	pthread_t t;
	int64_t t0, ms;

	(void)state;
	assert_int_equal(ct_ldap_pool_new(&s, 0, &p, &err), CT_ECONFIG);
	ct_err_clear(&err);
	assert_int_equal(ct_ldap_pool_new(&s, 2, &p, &err), CT_OK);
	assert_int_equal(ct_ldap_pool_get(p, 0, &a, &err), CT_OK);
	assert_int_equal(ct_ldap_pool_get(p, 0, &b, &err), CT_OK);
	assert_ptr_not_equal(a, b);
	assert_null(ct_ldap_ld(a)); /* connections open on first use, not in the pool */
	t0 = ct_now_ms();
	assert_int_equal(ct_ldap_pool_get(p, t0 + 400, &c, &err), CT_EUNAVAIL);
	ms = ct_now_ms() - t0;
	assert_true(ms >= 350 && ms < 1500);
	assert_null(c);
	assert_non_null(strstr(err.msg, "all 2 connections are busy"));
	ct_err_clear(&err);
	assert_int_equal(ct_ldap_pool_get(p, 0, &c, &err), CT_EUNAVAIL); /* no wait */
	ct_err_clear(&err);
	lp.p = p;
	lp.h = b;
	assert_int_equal(pthread_create(&t, NULL, put_later, &lp), 0);
	t0 = ct_now_ms();
	assert_int_equal(ct_ldap_pool_get(p, t0 + 5000, &c, &err), CT_OK);
	ms = ct_now_ms() - t0;
	pthread_join(t, NULL);
	assert_ptr_equal(c, b);
	assert_true(ms >= 250 && ms < 2000);
	ct_ldap_pool_put(p, a);
	ct_ldap_pool_put(p, c);
	ct_ldap_pool_free(p);
	ct_ldap_pool_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_settings_check),
	    cmocka_unit_test(test_plain_anonymous),
	    cmocka_unit_test(test_plain_password),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_ldaps),
	    cmocka_unit_test(test_tls_wrong_ca),
	    cmocka_unit_test(test_ldapi_external),
	    cmocka_unit_test(test_wrong_password),
	    cmocka_unit_test(test_unsafe_password_file),
	    cmocka_unit_test(test_falls_through_to_next),
	    cmocka_unit_test(test_none_answers),
	    cmocka_unit_test(test_silent_server_timeout),
	    cmocka_unit_test(test_deadline),
	    cmocka_unit_test(test_silent_then_next),
	    cmocka_unit_test(test_reconnect_once),
	    cmocka_unit_test(test_pool_bound),
	    cmocka_unit_test(test_pool_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
