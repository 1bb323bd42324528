/* The LDAP store backend (lib/store_ldap*.c) against a real slapd with the
 * shipped schema.  tests/integration/store_ldap.sh starts the server and
 * runs this program with its address in the environment (SLAPD_URI,
 * SLAPD_LDAPI_URI, SLAPD_BIND_DN, SLAPD_BIND_PW_FILE, SLAPD_PIDFILE, CT_TEST_BASE,
 * CT_TEST_TMP); run alone, the cases that need it skip.  The
 * configuration cases need no server. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth.h"
#include "certindex.h"
#include "conf.h"
#include "proto.h"
#include "requests.h"
#include "store.h"
#include "store_ldap.h"
#include "tokens.h"

#define DOWN "ldap://127.0.0.1:1" /* nothing listens: connection refused */
#define RACE_THREADS 4
#define RACE_EACH 15

/* The environment variable NAME, or skip the test when it is not set. */
#define NEED(var, name)                                                                            \
	do {                                                                                       \
		if ((var = getenv(name)) == NULL || *var == '\0')                                  \
			skip();                                                                    \
	} while (0)

struct fixture {
	char dir[96]; /* store.path: secret.key */
	struct ct_store *db;
	char user[CT_USER_MAX]; /* a user of this test alone */
	char serial[CT_CERT_SERIAL_MAX]; /* a certificate serial of this test alone */
};

static int users_made; /* each test's user name is new: one directory for all */

static const char *base_override; /* the base of the stores opened next, or NULL: $CT_TEST_BASE */

/* The configuration of an LDAP store at DIR: reads from URI, writes to
 * WRITE (NULL: URI), TIMEOUT seconds. */
static void
conf_text(char *buf, size_t size, const char *dir, const char *uri, const char *write, int timeout)
{
	char wline[256] = "";

	if (write != NULL)
		snprintf(wline, sizeof(wline), "write_uri = \"%s\";", write);
	snprintf(buf, size,
	    "store: { backend = \"ldap\"; path = \"%s\"; ldap: { uri = \"%s\"; %s "
	    "starttls = false; bind_dn = \"%s\"; bind_password_file = \"%s\"; base = \"%s\"; "
	    "timeout = %d; }; };\n",
	    dir, uri, wline, getenv("SLAPD_BIND_DN"), getenv("SLAPD_BIND_PW_FILE"),
	    base_override != NULL ? base_override : getenv("CT_TEST_BASE"), timeout);
}

/* Open the LDAP store as conf_text describes it, with FLAGS. */
static int
open_ldap(const char *dir, const char *uri, const char *write, int timeout, unsigned flags,
    struct ct_store **out, struct ct_err *err)
{
	struct ct_config *cfg = NULL;
	char text[2048];
	int rc;

	conf_text(text, sizeof(text), dir, uri, write, timeout);
	if ((rc = ct_config_load_string(text, "test.conf", &cfg, NULL, err)) == CT_OK)
		rc = ct_store_open(cfg, flags, out, err);
	ct_config_free(cfg);
	return rc;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *uri = getenv("SLAPD_URI");
	struct ct_err err = {0};

	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->user, sizeof(f->user), "user%d-%d", (int)getpid(), ++users_made);
	snprintf(
	    f->serial, sizeof(f->serial), "7%07X%04X", (unsigned)getpid(), (unsigned)users_made);
	snprintf(f->dir, sizeof(f->dir), "%s/store-XXXXXX",
	    getenv("CT_TEST_TMP") != NULL ? getenv("CT_TEST_TMP") : "/tmp");
	if (uri == NULL || *uri == '\0')
		return 0; /* the test skips */
	if (mkdtemp(f->dir) == NULL ||
	    open_ldap(f->dir, uri, NULL, 3, CT_STORE_TOKENS | CT_STORE_CREATE, &f->db, &err) !=
	        CT_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	ct_store_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (f->db != NULL && system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A HOTP token SERIAL with a secret and COUNTER. */
static void
hotp_token(struct ct_token *t, const char *serial, uint64_t counter)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->serial, sizeof(t->serial), "%s", serial);
	t->type = CT_TOKEN_HOTP;
	t->active = 1;
	t->algo = CT_OTP_SHA1;
	t->digits = 6;
	t->secret_len = 20;
	memcpy(t->secret, "12345678901234567890", 20);
	t->counter = counter;
	t->last_step = -1;
	strcpy(t->rollout_state, "enrolled");
	t->created = 1763800000;
}

/* Write IN as USER's tokens in one transaction. */
static void
put_tokens(struct ct_store *db, const char *user, const struct ct_user_tokens *in)
{
	struct ct_user_tokens old;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	int rc;

	assert_int_equal(ct_tokens_begin(db, user, &tx, &err), CT_OK);
	rc = ct_tokens_read(tx, &old, &err);
	assert_true(rc == CT_OK || rc == CT_ENOENT);
	ct_user_tokens_clear(&old);
	if (ct_tokens_write(tx, in, &err) != CT_OK)
		fail_msg("write: %s", err.msg);
	ct_tokens_end(tx);
}

/* ---- configuration ---- */

/* The CT_ code of loading TEXT, its first problem in ERR. */
static int
load(const char *text, struct ct_err *err)
{
	struct ct_config *cfg = NULL;
	int rc;

	ct_err_clear(err);
	rc = ct_config_load_string(text, "t.conf", &cfg, NULL, err);
	ct_config_free(cfg);
	return rc;
}

static void
test_conf_store_ldap(void **state)
{
	struct ct_config *cfg = NULL;
	struct ct_err err = {0};

	(void)state;
	assert_int_equal(ct_config_load_string("store: { backend = \"ldap\"; ldap: { uri = "
	                                       "\"ldap://a ldaps://b:636\"; write_uri = "
	                                       "\"ldap://p\"; base = \"ou=ct,dc=x\"; }; };",
	                     "t.conf", &cfg, NULL, &err),
	    CT_OK);
	assert_true(cfg->store_ldap.present);
	assert_string_equal(cfg->store_ldap.uri, "ldap://a ldaps://b:636");
	assert_string_equal(cfg->store_ldap.write_uri, "ldap://p");
	assert_string_equal(cfg->store_ldap.base, "ou=ct,dc=x");
	assert_int_equal(cfg->store_ldap.timeout, 5);
	assert_int_equal(cfg->store_ldap.connections, 4);
	assert_int_equal(cfg->store_ldap.cache_max_age, 300);
	assert_int_equal(cfg->store_ldap.starttls, 1);
	ct_config_free(cfg);
}

static void
test_conf_store_ldap_bad(void **state)
{
	struct ct_err err;

	(void)state;
	assert_int_equal(load("store: { backend = \"ldap\"; };", &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "no ldap { } group"));
	assert_int_equal(load("store: { ldap: { uri = \"ldap://a\"; }; };", &err), CT_ECONFIG);
	assert_non_null(strstr(err.msg, "'base'"));
	assert_int_equal(
	    load("store: { ldap: { uri = \"ldap://a http://b\"; base = \"o=x\"; }; };", &err),
	    CT_ECONFIG);
	assert_non_null(strstr(err.msg, "'http://b' is not"));
	assert_int_equal(
	    load("store: { ldap: { uri = \"ldap://a\"; write_uri = \"ldap://p ldap://q\"; base = "
	         "\"o=x\"; }; };",
	        &err),
	    CT_ECONFIG);
	assert_non_null(strstr(err.msg, "write_uri must be one URL"));
	assert_int_equal(
	    load("store: { ldap: { uri = \"ldap://a\"; base = \"o=x\"; sasl_external = "
	         "true; bind_dn = \"cn=h\"; bind_password_file = \"/p\"; }; };",
	        &err),
	    CT_ECONFIG);
	assert_non_null(strstr(err.msg, "exclude each other"));
	assert_int_equal(load("store: { ldap: { uri = \"ldap://a\"; base = \"o=x\"; bind_dn = "
	                      "\"cn=h\"; }; };",
	                     &err),
	    CT_ECONFIG);
	assert_non_null(strstr(err.msg, "go together"));
	assert_int_equal(
	    load("store: { ldap: { uri = \"ldap://a\"; base = \"o=x\"; colour = 1; }; };", &err),
	    CT_ECONFIG);
	assert_non_null(strstr(err.msg, "unknown key 'colour' in store.ldap"));
	assert_int_equal(
	    load("store: { ldap: { uri = \"ldap://a\"; base = \"o=x\"; timeout = 0; }; };", &err),
	    CT_ECONFIG);
	/* a files store may name a directory (to migrate to) */
	assert_int_equal(
	    load("store: { backend = \"files\"; ldap: { uri = \"ldap://a\"; base = \"o=x\"; }; };",
	        &err),
	    CT_OK);
}

/* ---- helpers of the backend ---- */

static void
test_time_and_dn(void **state)
{
	struct ct_ldap_store ls = {.base_dn = (char *)"ou=ct,dc=x"};
	char t[CT_LSTORE_TIME_LEN], *dn = NULL;
	struct ct_err err = {0};
	int64_t back = 0;

	(void)state;
	assert_int_equal(ct_lstore_time_format(1764892800, t), 0);
	assert_string_equal(t, "20251205000000Z");
	assert_int_equal(ct_lstore_time_parse(t, strlen(t), &back), 0);
	assert_int_equal(back, 1764892800);
	assert_int_equal(ct_lstore_time_parse("20250230000000Z", 15, &back), -1);
	assert_int_equal(ct_lstore_time_parse("2025120500000Z", 14, &back), -1);
	assert_int_equal(ct_lstore_time_parse("20251205000000+", 15, &back), -1);
	assert_int_equal(ct_lstore_time_format(-1, t), -1);
	assert_int_equal(
	    ct_lstore_dn(&ls, "ctUser", "a,b+c=d\"<>;\\ #", CT_LSTORE_USERS, &dn, &err), CT_OK);
	assert_string_equal(dn, "ctUser=a\\,b\\+c\\=d\\\"\\<\\>\\;\\\\ #,ou=users,ou=ct,dc=x");
	free(dn);
	assert_int_equal(ct_lstore_dn(&ls, "ou", " #x ", NULL, &dn, &err), CT_OK);
	assert_string_equal(dn, "ou=\\20#x\\20,ou=ct,dc=x");
	free(dn);
}

/* ---- tokens ---- */

static int
count_user(void *ctx, const char *user)
{
	const char *want = ((const char *const *)ctx)[0];
	int *seen = (int *)(uintptr_t)((const void *const *)ctx)[1];

	if (strcmp(user, want) == 0)
		(*seen)++;
	return 0;
}

static void
test_tokens_round_trip(void **state)
{
	struct fixture *f = *state;
	struct ct_user_tokens in, out;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	const char *uri;
	int seen = 0;
	const void *ctx[2] = {f->user, &seen};

	NEED(uri, "SLAPD_URI");
	memset(&in, 0, sizeof(in));
	assert_int_equal(ct_tokens_exists(f->db, f->user), 0);
	hotp_token(&in.tok[0], "HOTP1", 5);
	hotp_token(&in.tok[1], "HOTP2", 9);
	in.tok[1].failcount = 2;
	in.tok[1].lock_until = 1764892800;
	strcpy(in.tok[1].description, "a phone, with spaces");
	in.n = 2;
	put_tokens(f->db, f->user, &in);
	assert_int_equal(ct_tokens_exists(f->db, f->user), 1);
	/* read in a transaction */
	assert_int_equal(ct_tokens_begin(f->db, f->user, &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &out, &err), CT_OK);
	ct_tokens_end(tx);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.tok[0].serial, "HOTP1");
	assert_int_equal(out.tok[0].counter, 5);
	assert_int_equal(out.tok[1].counter, 9);
	assert_int_equal(out.tok[1].failcount, 2);
	assert_string_equal(out.tok[1].description, "a phone, with spaces");
	assert_int_equal(out.tok[1].secret_len, 20);
	assert_memory_equal(out.tok[1].secret, "12345678901234567890", 20);
	ct_user_tokens_clear(&out);
	/* peek, and through a second handle */
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.n, 2);
	ct_user_tokens_clear(&out);
	assert_int_equal(ct_tokens_foreach_user(f->db, count_user, ctx, &err), CT_OK);
	assert_int_equal(seen, 1);
	/* the empty set removes the entry */
	in.n = 0;
	put_tokens(f->db, f->user, &in);
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_ENOENT);
	assert_int_equal(ct_tokens_exists(f->db, f->user), 0);
	ct_user_tokens_clear(&in);
}

/* The entry of USER as the directory has it: ctToken values, copies. */
static void
test_entry_readable(void **state)
{
	static const char *const attrs[] = {
	    "ctToken", "ctRevision", "ctFailures", "ctThrottleUntil", NULL};
	struct fixture *f = *state;
	struct ct_ldap_store *ls;
	struct ct_lstore_entry e = {0};
	struct ct_user_tokens in;
	struct ct_err err = {0};
	struct berval **v;
	char *dn = NULL, buf[32];
	int64_t n = 0;
	const char *uri;

	NEED(uri, "SLAPD_URI");
	ls = ct_ldap_store_of(f->db);
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 7);
	in.tok[0].failcount = 3;
	in.tok[0].lock_until = 1764892800;
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	put_tokens(f->db, f->user, &in);
	assert_int_equal(ct_lstore_dn(ls, "ctUser", f->user, CT_LSTORE_USERS, &dn, &err), CT_OK);
	assert_int_equal(ct_lstore_get(ls, CT_LSTORE_READ, 0, dn, attrs, &e, &err), CT_OK);
	v = ct_lstore_values(&e, "ctToken");
	assert_non_null(v);
	assert_non_null(v[0]);
	assert_null(v[1]);
	snprintf(buf, sizeof(buf), "%.*s", 31, v[0]->bv_val);
	assert_string_equal(buf, "serial=HOTP1 type=hotp active=1");
	assert_non_null(strstr(v[0]->bv_val, " counter=7 "));
	assert_null(strstr(v[0]->bv_val, "12345678901234567890"));
	assert_int_equal(ct_lstore_integer(&e, "ctRevision", 0, 100, &n, &err), CT_OK);
	assert_int_equal(n, 2); /* two writes */
	assert_int_equal(ct_lstore_integer(&e, "ctFailures", 0, 100, &n, &err), CT_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ct_lstore_string(&e, "ctThrottleUntil", buf, sizeof(buf), &err), CT_OK);
	assert_string_equal(buf, "20251205000000Z");
	ct_lstore_entry_clear(&e);
	free(dn);
	ct_user_tokens_clear(&in);
}

/* What `ldapsearch` shows of the entry DN: its LDIF in OUT. */
static void
ldapsearch(const char *dn, char *out, size_t size)
{
	char cmd[2048];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
	    "ldapsearch -x -LLL -o ldif-wrap=no -o nettimeout=5 -H '%s' -D '%s' -y '%s' -b '%s' -s "
	    "base 2>&1",
	    getenv("SLAPD_URI"), getenv("SLAPD_BIND_DN"), getenv("SLAPD_BIND_PW_FILE"), dn);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
}

/* ldapsearch shows a user's tokens as text, the secret sealed. */
static void
test_ldapsearch_readable(void **state)
{
	struct fixture *f = *state;
	struct ct_user_tokens in;
	struct ct_err err = {0};
	char *dn = NULL, out[8192];
	const char *uri;

	NEED(uri, "SLAPD_URI");
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 7);
	hotp_token(&in.tok[1], "TOTP2", 0);
	in.tok[1].type = CT_TOKEN_TOTP;
	in.tok[1].period = 30;
	in.tok[1].last_step = 58829760;
	strcpy(in.tok[1].description, "phone");
	in.n = 2;
	put_tokens(f->db, f->user, &in);
	assert_int_equal(
	    ct_lstore_dn(ct_ldap_store_of(f->db), "ctUser", f->user, CT_LSTORE_USERS, &dn, &err),
	    CT_OK);
	ldapsearch(dn, out, sizeof(out));
	if (getenv("CT_TEST_SHOW") != NULL)
		print_message("%s", out);
	assert_non_null(strstr(out, "\nobjectClass: ctUserState\n"));
	assert_non_null(strstr(out, "\nctRevision: 1\n"));
	assert_non_null(strstr(out, "\nctFailures: 0\n"));
	assert_non_null(strstr(out,
	    "\nctToken: serial=HOTP1 type=hotp active=1 algo=sha1 digits=6 "
	    "period=0 counter=7 last_step=-1 failcount=0 lock_until=0 "
	    "rollout=enrolled created=1763800000 desc= target= cert= "
	    "not_after=0 not_before=0 issuer= secret="));
	assert_non_null(strstr(out,
	    "\nctToken: serial=TOTP2 type=totp active=1 algo=sha1 digits=6 "
	    "period=30 counter=0 last_step=58829760 "));
	assert_null(strstr(out, "12345678901234567890"));
	assert_null(strstr(out, "3132333435363738393031323334353637383930")); /* hex of it */
	free(dn);
	ct_user_tokens_clear(&in);
}

/* Two transactions read the same revision: the second write is refused and
 * writes nothing. */
static void
test_assertion_conflict(void **state)
{
	struct fixture *f = *state;
	struct ct_tokens_tx *a = NULL, *b = NULL;
	struct ct_user_tokens in, ua, ub, out;
	struct ct_err err = {0};
	const char *uri;

	NEED(uri, "SLAPD_URI");
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 1);
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	assert_int_equal(ct_tokens_begin(f->db, f->user, &a, &err), CT_OK);
	assert_int_equal(ct_tokens_begin(f->db, f->user, &b, &err), CT_OK);
	assert_int_equal(ct_tokens_read(a, &ua, &err), CT_OK);
	assert_int_equal(ct_tokens_read(b, &ub, &err), CT_OK);
	ua.tok[0].counter = 10;
	ub.tok[0].counter = 20;
	assert_int_equal(ct_tokens_write(a, &ua, &err), CT_OK);
	assert_int_equal(ct_tokens_write(b, &ub, &err), CT_ECONFLICT);
	assert_non_null(strstr(err.msg, f->user));
	ct_tokens_end(a);
	ct_tokens_end(b);
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, 10);
	/* a new user twice: the second add is a conflict too */
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&ua);
	ct_user_tokens_clear(&ub);
	ct_user_tokens_clear(&in);
}

static void
test_new_user_conflict(void **state)
{
	struct fixture *f = *state;
	struct ct_tokens_tx *a = NULL, *b = NULL;
	struct ct_user_tokens ua, ub, out;
	struct ct_err err = {0};
	const char *uri;

	NEED(uri, "SLAPD_URI");
	assert_int_equal(ct_tokens_begin(f->db, f->user, &a, &err), CT_OK);
	assert_int_equal(ct_tokens_begin(f->db, f->user, &b, &err), CT_OK);
	assert_int_equal(ct_tokens_read(a, &ua, &err), CT_ENOENT);
	assert_int_equal(ct_tokens_read(b, &ub, &err), CT_ENOENT);
	hotp_token(&ua.tok[0], "A", 1);
	ua.n = 1;
	hotp_token(&ub.tok[0], "B", 1);
	ub.n = 1;
	assert_int_equal(ct_tokens_write(a, &ua, &err), CT_OK);
	ct_err_clear(&err);
	assert_int_equal(ct_tokens_write(b, &ub, &err), CT_ECONFLICT);
	ct_tokens_end(a);
	ct_tokens_end(b);
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.tok[0].serial, "A");
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&ua);
	ct_user_tokens_clear(&ub);
}

/* ---- racing updates ---- */

static int
increment(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)ctx;
	(void)user;
	if (u->n != 1)
		return ct_err_set(err, CT_EIO, "no token");
	u->tok[0].counter++;
	return CT_OK;
}

struct racer {
	struct ct_store *db;
	const char *user;
	int ok; /* updates that returned CT_OK */
	char why[CT_ERR_MAX];
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct ct_err err;
	int i;

	for (i = 0; i < RACE_EACH; i++) {
		ct_err_clear(&err);
		if (ct_store_update(r->db, r->user, increment, NULL, &err) == CT_OK)
			r->ok++;
		else
			snprintf(r->why, sizeof(r->why), "%s", err.msg);
	}
	return NULL;
}

/* Threads sharing one handle and a second process with its own increment
 * one counter: every increment that succeeded is there exactly once. */
static void
test_update_race(void **state)
{
	struct fixture *f = *state;
	struct racer r[RACE_THREADS];
	struct ct_user_tokens in, out;
	struct ct_err err = {0};
	pthread_t th[RACE_THREADS];
	int i, ok = 0, status = 0;
	const char *uri;
	pid_t pid;

	NEED(uri, "SLAPD_URI");
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 0);
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	if ((pid = fork()) == 0) {
		struct ct_store *db = NULL;
		struct racer child = {0};

		if (open_ldap(f->dir, uri, NULL, 3, CT_STORE_TOKENS, &db, &err) != CT_OK)
			_exit(100);
		child.db = db;
		child.user = f->user;
		race(&child);
		ct_store_close(db);
		_exit(child.ok);
	}
	assert_true(pid > 0);
	for (i = 0; i < RACE_THREADS; i++) {
		r[i] = (struct racer){f->db, f->user, 0, ""};
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (i = 0; i < RACE_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (r[i].ok != RACE_EACH)
			print_message(
			    "# thread %d: %d of %d (%s)\n", i, r[i].ok, RACE_EACH, r[i].why);
		ok += r[i].ok;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) <= RACE_EACH);
	ok += WEXITSTATUS(status);
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, (uint64_t)ok);
	assert_int_equal(ok, (RACE_THREADS + 1) * RACE_EACH);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
}

/* A retry reads from the provider: with the read URI down, the first read
 * fails and a retry's read works. */
static void
test_retry_reads_provider(void **state)
{
	struct fixture *f = *state;
	struct ct_store *db = NULL;
	struct ct_tokens_tx *tx = NULL;
	struct ct_user_tokens in, out;
	struct ct_err err = {0};
	const char *uri;

	NEED(uri, "SLAPD_URI");
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 3);
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	assert_int_equal(open_ldap(f->dir, DOWN, uri, 2, CT_STORE_TOKENS, &db, &err), CT_OK);
	assert_int_equal(ct_tokens_begin(db, f->user, &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &out, &err), CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, DOWN));
	ct_tokens_end(tx);
	ct_err_clear(&err);
	assert_int_equal(ct_tokens_begin(db, f->user, &tx, &err), CT_OK);
	tx->attempt = 1;
	assert_int_equal(ct_tokens_read(tx, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, 3);
	ct_tokens_end(tx);
	ct_store_close(db);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
}

/* ---- a directory that is not there or does not answer ---- */

static int
keep(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	(void)ctx;
	(void)user;
	(void)u;
	(void)err;
	return CT_STORE_KEEP;
}

/* Reads that go to the write URI alone share its connections (a login
 * binds once); a read list of its own keeps its own; both work. */
static void
test_shared_pool(void **state)
{
	struct fixture *f = *state;
	struct ct_store *same = NULL, *apart = NULL;
	struct ct_user_tokens in, out;
	struct ct_err err = {0};
	char list[512];
	const char *uri;

	NEED(uri, "SLAPD_URI");
	assert_ptr_equal(ct_ldap_store_of(f->db)->read, ct_ldap_store_of(f->db)->write);
	assert_int_equal(open_ldap(f->dir, uri, uri, 3, CT_STORE_TOKENS, &same, &err), CT_OK);
	assert_ptr_equal(ct_ldap_store_of(same)->read, ct_ldap_store_of(same)->write);
	snprintf(list, sizeof(list), "%s %s", uri, uri);
	assert_int_equal(open_ldap(f->dir, list, uri, 3, CT_STORE_TOKENS, &apart, &err), CT_OK);
	assert_ptr_not_equal(ct_ldap_store_of(apart)->read, ct_ldap_store_of(apart)->write);
	memset(&in, 0, sizeof(in));
	in.n = 1;
	hotp_token(&in.tok[0], "HOTP1", 5);
	put_tokens(same, f->user, &in);
	assert_int_equal(ct_tokens_peek(apart, f->user, &out, &err), CT_OK);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.tok[0].counter, 5);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
	ct_store_close(apart);
	ct_store_close(same);
}

static void
test_absent_server(void **state)
{
	struct fixture *f = *state;
	struct ct_store *db = NULL;
	struct ct_user_tokens out;
	struct ct_err err = {0};
	const char *uri;
	int64_t t0;

	NEED(uri, "SLAPD_URI");
	assert_int_equal(open_ldap(f->dir, DOWN, NULL, 1, CT_STORE_TOKENS, &db, &err), CT_OK);
	t0 = ct_now_ms();
	assert_int_equal(ct_tokens_peek(db, f->user, &out, &err), CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, DOWN));
	ct_err_clear(&err);
	assert_int_equal(ct_store_update(db, f->user, keep, NULL, &err), CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, DOWN));
	assert_true(ct_now_ms() - t0 < 2000);
	assert_int_equal(ct_tokens_exists(db, f->user), 1); /* cannot tell: not "no" */
	ct_store_close(db);
}

/* Reads work, the provider is down: the update fails and nothing is written. */
static void
test_provider_down(void **state)
{
	struct fixture *f = *state;
	struct ct_store *db = NULL;
	struct ct_user_tokens in, out;
	struct ct_err err = {0};
	const char *uri;

	NEED(uri, "SLAPD_URI");
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 4);
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	assert_int_equal(open_ldap(f->dir, uri, DOWN, 1, CT_STORE_TOKENS, &db, &err), CT_OK);
	assert_int_equal(ct_store_update(db, f->user, increment, NULL, &err), CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, DOWN));
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, 4);
	ct_store_close(db);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
}

/* The server's pid, from SLAPD_PIDFILE. */
static pid_t
slapd_pid(void)
{
	const char *path = getenv("SLAPD_PIDFILE");
	FILE *fp = path != NULL ? fopen(path, "r") : NULL;
	long pid = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	return (pid_t)pid;
}

/* A server stopped with SIGSTOP: CT_EUNAVAIL within the timeout (+1 s), on
 * a connection already open (the OTP step's two operations together) and
 * on a new one. */
static void
test_stopped_server(void **state)
{
	struct fixture *f = *state;
	struct ct_store *db = NULL;
	struct ct_user_tokens in, out;
	struct ct_err err = {0};
	const char *uri;
	int64_t t0, took1, took2;
	int rc1, rc2, exists;
	pid_t pid;

	NEED(uri, "SLAPD_URI");
	if ((pid = slapd_pid()) <= 0)
		skip();
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 4);
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	assert_int_equal(open_ldap(f->dir, uri, NULL, 1, CT_STORE_TOKENS, &db, &err), CT_OK);
	assert_int_equal(ct_tokens_peek(db, f->user, &out, &err), CT_OK); /* opens a connection */
	ct_user_tokens_clear(&out);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	/* as the OTP step does: does the user have tokens?  Then the update */
	t0 = ct_now_ms();
	exists = ct_tokens_exists(db, f->user);
	rc1 = ct_store_update(db, f->user, increment, NULL, &err);
	took1 = ct_now_ms() - t0;
	ct_store_close(db);
	assert_int_equal(open_ldap(f->dir, uri, NULL, 1, CT_STORE_TOKENS, &db, &err), CT_OK);
	t0 = ct_now_ms();
	rc2 = ct_tokens_peek(db, f->user, &out, &err);
	took2 = ct_now_ms() - t0;
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_int_equal(exists, 1); /* cannot tell: not "no tokens" */
	assert_int_equal(rc1, CT_EUNAVAIL);
	assert_int_equal(rc2, CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, uri));
	assert_true(took1 < 2000);
	assert_true(took2 < 2000);
	ct_store_close(db);
	/* nothing was written */
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, 4);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
}

/* A slow directory that still answers (SLAPD_SLOW_URI: every answer
 * 1.5 s late, timeout 4 s; the margins leave a loaded machine 1 s): one OTP attempt (does the user have tokens,
 * then the update's read and write, each of which makes it within the
 * timeout alone) fails closed within the timeout of the whole attempt, not
 * a multiple of it, and accepts nothing. */
static void
test_slow_directory_one_deadline(void **state)
{
	struct fixture *f = *state;
	struct ct_otp_conf oc = {6, 30, 1, 10, 3, 1, 60, 0};
	struct ct_auth_result res;
	struct ct_store *db = NULL;
	struct ct_user_tokens in, out;
	struct ct_err err = {0};
	const char *slow;
	int64_t t0, took;
	int rc;

	NEED(slow, "SLAPD_SLOW_URI");
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 0);
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	assert_int_equal(open_ldap(f->dir, slow, NULL, 4, CT_STORE_TOKENS, &db, &err), CT_OK);
	if (ct_tokens_peek(db, f->user, &out, &err) != CT_OK) /* opens one: 3 s */
		fail_msg("peek through the slow directory: %s", err.msg);
	ct_user_tokens_clear(&out);
	t0 = ct_now_ms();
	rc = ct_auth_otp(db, &oc, f->user, "755224", "test", time(NULL), &res, &err);
	took = ct_now_ms() - t0;
	assert_int_equal(rc, CT_EIO); /* the store failed: PAM_AUTHINFO_UNAVAIL */
	assert_non_null(strstr(err.msg, slow)); /* naming the directory */
	assert_true(took < 4300); /* the three answers would take 4.5 s */
	ct_store_close(db);
	/* the write may have been sent before the deadline and applied after
	 * it, its answer too late: then the code is spent (counter 1) though
	 * the attempt was refused; never anything past it */
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_true(out.tok[0].counter <= 1);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
}

/* ---- what never repeats: the assertion ---- */

/* Begin a transaction on USER in DB and read it (stale once others write). */
static struct ct_tokens_tx *
stale_read(struct ct_store *db, const char *user, uint64_t counter)
{
	struct ct_tokens_tx *tx = NULL;
	struct ct_user_tokens u;
	struct ct_err err = {0};

	assert_int_equal(ct_tokens_begin(db, user, &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &u, &err), CT_OK);
	assert_int_equal(u.tok[0].counter, counter);
	ct_user_tokens_clear(&u);
	return tx;
}

static int
spot_user(void *ctx, const char *user)
{
	const char *want = ((const char **)ctx)[0];

	if (strcmp(user, want) == 0)
		((const char **)ctx)[1] = user;
	return 0;
}

/* A read, then the user's last token deleted and a new one made: the
 * entry stays (no ctToken, revision 2: not listed, "no tokens"), revisions
 * only grow, and the stale transaction's write is refused (it would have
 * brought the deleted token back). */
static void
test_empty_set_keeps_entry(void **state)
{
	struct fixture *f = *state;
	struct ct_ldap_store *ls = ct_ldap_store_of(f->db);
	static const char *const attrs[] = {"ctRevision", "ctToken", NULL};
	struct ct_user_tokens in, none, out;
	struct ct_tokens_tx *tx;
	struct ct_lstore_entry e = {0};
	struct ct_err err = {0};
	const char *found[2];
	char *dn = NULL;
	int64_t rev = 0;

	if (f->db == NULL)
		skip();
	memset(&in, 0, sizeof(in));
	memset(&none, 0, sizeof(none));
	hotp_token(&in.tok[0], "OLD", 7);
	in.n = 1;
	put_tokens(f->db, f->user, &in); /* revision 1 */
	tx = stale_read(f->db, f->user, 7);
	put_tokens(f->db, f->user, &none); /* token delete: revision 2 */
	assert_int_equal(ct_lstore_dn(ls, "ctUser", f->user, CT_LSTORE_USERS, &dn, &err), CT_OK);
	assert_int_equal(ct_lstore_get(ls, CT_LSTORE_WRITE, 0, dn, attrs, &e, &err), CT_OK);
	assert_int_equal(ct_lstore_integer(&e, "ctRevision", 0, 100, &rev, &err), CT_OK);
	assert_int_equal(rev, 2);
	assert_null(ct_lstore_values(&e, "ctToken"));
	ct_lstore_entry_clear(&e);
	assert_int_equal(ct_tokens_exists(f->db, f->user), 0);
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_ENOENT);
	found[0] = f->user;
	found[1] = NULL;
	assert_int_equal(ct_tokens_foreach_user(f->db, spot_user, (void *)found, &err), CT_OK);
	assert_null(found[1]);
	hotp_token(&in.tok[0], "NEW", 100);
	put_tokens(f->db, f->user, &in); /* token init: revision 3, never 1 again */
	hotp_token(&in.tok[0], "OLD", 8); /* the stale host accepts a code of the old token */
	ct_err_clear(&err);
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_ECONFLICT);
	ct_tokens_end(tx);
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_string_equal(out.tok[0].serial, "NEW");
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
	free(dn);
}

/* A revision number that comes back (the entry deleted and made again by
 * hand, or a provider after a failover that re-issues a number the other
 * used): the entryCSN in the assertion refuses the stale write. */
static void
test_revision_reused(void **state)
{
	struct fixture *f = *state;
	struct ct_ldap_store *ls = ct_ldap_store_of(f->db);
	struct ct_user_tokens in, out;
	struct ct_tokens_tx *tx;
	struct ct_err err = {0};
	char *dn = NULL;

	if (f->db == NULL)
		skip();
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "OLD", 7);
	in.n = 1;
	put_tokens(f->db, f->user, &in); /* revision 1 */
	tx = stale_read(f->db, f->user, 7);
	assert_int_equal(ct_lstore_dn(ls, "ctUser", f->user, CT_LSTORE_USERS, &dn, &err), CT_OK);
	assert_int_equal(ct_lstore_delete(ls, 0, dn, NULL, &err), CT_OK);
	hotp_token(&in.tok[0], "NEW", 100);
	put_tokens(f->db, f->user, &in); /* revision 1 again, other content */
	hotp_token(&in.tok[0], "OLD", 8);
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_ECONFLICT);
	ct_tokens_end(tx);
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_string_equal(out.tok[0].serial, "NEW");
	assert_int_equal(out.tok[0].counter, 100);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
	free(dn);
}

/* A base that is not there (or containers the bind identity may not see):
 * the user's read is an error naming the entry, never "no tokens". */
static void
test_wrong_base(void **state)
{
	struct fixture *f = *state;
	struct ct_store *db = NULL;
	struct ct_user_tokens out;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	const char *uri;

	NEED(uri, "SLAPD_URI");
	base_override = "ou=nothere,dc=example,dc=org";
	assert_int_equal(open_ldap(f->dir, uri, NULL, 2, CT_STORE_TOKENS, &db, &err), CT_OK);
	base_override = NULL;
	assert_int_equal(ct_tokens_exists(db, f->user), 1); /* cannot tell: not "no" */
	assert_int_equal(ct_tokens_peek(db, f->user, &out, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "ou=nothere"));
	assert_non_null(strstr(err.msg, "matched only"));
	ct_err_clear(&err);
	assert_int_equal(ct_tokens_begin(db, f->user, &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_read(tx, &out, &err), CT_EIO);
	ct_tokens_end(tx);
	ct_store_close(db);
}

/* SASL EXTERNAL over ldapi://: the identity the socket proves, which the
 * test directory lets read everything and write nothing: reads work, an
 * update is refused (CT_EPERM) and writes nothing. */
static void
test_sasl_external(void **state)
{
	struct fixture *f = *state;
	struct ct_store *db = NULL;
	struct ct_config *cfg = NULL;
	struct ct_user_tokens in, out;
	struct ct_err err = {0};
	char text[2048];
	const char *uri, *ldapi;

	NEED(uri, "SLAPD_URI");
	NEED(ldapi, "SLAPD_LDAPI_URI");
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 4);
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	snprintf(text, sizeof(text),
	    "store: { backend = \"ldap\"; path = \"%s\"; ldap: { uri = \"%s\"; "
	    "sasl_external = true; base = \"%s\"; timeout = 2; }; };\n",
	    f->dir, ldapi, getenv("CT_TEST_BASE"));
	assert_int_equal(ct_config_load_string(text, "t.conf", &cfg, NULL, &err), CT_OK);
	assert_int_equal(ct_store_open(cfg, CT_STORE_TOKENS, &db, &err), CT_OK);
	ct_config_free(cfg);
	assert_int_equal(ct_tokens_peek(db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, 4);
	ct_user_tokens_clear(&out);
	assert_int_equal(ct_store_update(db, f->user, increment, NULL, &err), CT_EPERM);
	assert_non_null(strstr(err.msg, "Insufficient access"));
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, 4);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
	ct_store_close(db);
}

/* Under a base without its containers: a store that may create them makes
 * them on its first write; one that may not says so, not "conflict". */
static void
test_containers(void **state)
{
	struct fixture *f = *state;
	struct ct_store *plain = NULL, *creating = NULL;
	struct ct_lstore_mods m;
	struct ct_user_tokens in, out;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	char *base = NULL, name[32];
	const char *uri;

	NEED(uri, "SLAPD_URI");
	snprintf(name, sizeof(name), "fresh%d", (int)getpid());
	assert_int_equal(
	    ct_lstore_dn(ct_ldap_store_of(f->db), "ou", name, NULL, &base, &err), CT_OK);
	ct_lstore_mods_init(&m);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "organizationalUnit");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ou", name);
	assert_int_equal(ct_lstore_add(ct_ldap_store_of(f->db), 0, base, &m, &err), CT_OK);
	base_override = base;
	assert_int_equal(open_ldap(f->dir, uri, NULL, 3, CT_STORE_TOKENS, &plain, &err), CT_OK);
	assert_int_equal(
	    open_ldap(f->dir, uri, NULL, 3, CT_STORE_TOKENS | CT_STORE_CREATE, &creating, &err),
	    CT_OK);
	base_override = NULL;
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 1);
	in.n = 1;
	assert_int_equal(ct_tokens_begin(plain, f->user, &tx, &err), CT_OK);
	assert_int_equal(ct_tokens_write(tx, &in, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "containers are missing"));
	ct_tokens_end(tx);
	ct_err_clear(&err);
	put_tokens(creating, f->user, &in);
	assert_int_equal(ct_tokens_peek(plain, f->user, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, 1);
	ct_user_tokens_clear(&out);
	ct_user_tokens_clear(&in);
	ct_store_close(plain);
	ct_store_close(creating);
	free(base);
}

/* A server that refuses the paged-results control (this slapd does for
 * anonymous clients: store_ldap.sh) still answers a walk, unpaged. */
static void
test_unpaged(void **state)
{
	struct fixture *f = *state;
	struct ct_config *cfg = NULL;
	struct ct_store *anon = NULL;
	struct ct_revocation *list = NULL;
	struct ct_err err = {0};
	char text[1024];
	size_t n = 0;
	const char *uri;

	NEED(uri, "SLAPD_URI");
	assert_int_equal(ct_revoke(f->db, f->serial, "staff", 0, 1764892800, &err), CT_OK);
	snprintf(text, sizeof(text),
	    "store: { backend = \"ldap\"; path = \"%s\"; ldap: { uri = \"%s\"; "
	    "starttls = false; base = \"%s\"; timeout = 3; }; };\n",
	    f->dir, uri, getenv("CT_TEST_BASE"));
	assert_int_equal(ct_config_load_string(text, "test.conf", &cfg, NULL, &err), CT_OK);
	assert_int_equal(ct_store_open(cfg, 0, &anon, &err), CT_OK);
	ct_config_free(cfg);
	if (ct_revoked_read(anon, &list, &n, &err) != CT_OK)
		fail_msg("anonymous walk: %s", err.msg);
	assert_non_null(ct_revoked_find(list, n, f->serial));
	free(list);
	ct_store_close(anon);
}

/* ---- malformed entries ---- */

/* Add USER's entry with REVISION (NULL: none) and the token line LINE. */
static void
add_raw_user(struct fixture *f, const char *revision, const char *line)
{
	struct ct_ldap_store *ls = ct_ldap_store_of(f->db);
	struct ct_lstore_mods m;
	struct ct_err err = {0};
	char *dn = NULL;

	assert_int_equal(ct_lstore_dn(ls, "ctUser", f->user, CT_LSTORE_USERS, &dn, &err), CT_OK);
	ct_lstore_mods_init(&m);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "ctUserState");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctUser", f->user);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctRevision", revision);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctToken", line);
	if (ct_lstore_add(ls, 0, dn, &m, &err) != CT_OK)
		fail_msg("add: %s", err.msg);
	free(dn);
}

static void
test_malformed_entry(void **state)
{
	struct fixture *f = *state;
	struct ct_user_tokens out;
	struct ct_err err = {0};
	const char *uri;

	NEED(uri, "SLAPD_URI");
	add_raw_user(f, "1", "serial=X type=smoke active=1");
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_EIO);
	assert_non_null(strstr(err.msg, f->user));
	assert_non_null(strstr(err.msg, "ou=users"));
	ct_err_clear(&err);
	/* an update does not take it for "no tokens" either */
	assert_int_equal(ct_store_update(f->db, f->user, keep, NULL, &err), CT_EIO);
}

/* A secret that does not decrypt: the line of another user. */
static void
test_foreign_secret(void **state)
{
	struct fixture *f = *state;
	struct ct_ldap_store *ls;
	struct ct_user_tokens in, out;
	struct ct_textbuf b;
	struct ct_err err = {0};
	char line[CT_FILES_TOKEN_LINE_MAX];
	const char *uri;

	NEED(uri, "SLAPD_URI");
	ls = ct_ldap_store_of(f->db);
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 0);
	b = (struct ct_textbuf){line, 0, sizeof(line), 0};
	assert_int_equal(
	    ct_files_token_line_format(&ls->keys, "someone-else", "x", &in.tok[0], &b, &err),
	    CT_OK);
	add_raw_user(f, "1", line);
	assert_int_equal(ct_tokens_peek(f->db, f->user, &out, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "does not decrypt"));
	assert_non_null(strstr(err.msg, f->user));
	ct_user_tokens_clear(&in);
}

/* ---- the index, revocations, requests, uploads ---- */

/* A self-signed certificate with serial SERIAL (hex), as DER in *DER. */
static size_t
cert_der(const char *serial, unsigned char **der)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	int len;

	assert_non_null(key);
	assert_non_null(x);
	assert_true(BN_hex2bn(&bn, serial) > 0);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	X509_NAME_add_entry_by_txt(
	    X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	*der = NULL;
	len = i2d_X509(x, der);
	assert_true(len > 0);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return (size_t)len;
}

static int
find_cert(void *ctx, const struct ct_cert_entry *e)
{
	const char *serial = ((const char *const *)ctx)[0];
	int *seen = (int *)(uintptr_t)((const void *const *)ctx)[1];

	if (strcmp(e->serial, serial) == 0 && strcmp(e->user, "alice") == 0 && e->cert != NULL)
		(*seen)++;
	return 0;
}

static void
test_index_round_trip(void **state)
{
	static const char *const attrs[] = {"ctNotAfter", NULL};
	struct fixture *f = *state;
	struct ct_ldap_store *ls;
	struct ct_lstore_entry s = {0};
	struct ct_cert_entry e;
	struct ct_err err = {0};
	unsigned char *der = NULL;
	char hex[CT_CERT_SERIAL_MAX], *dn = NULL;
	size_t len;
	int seen = 0;
	const void *ctx[2] = {f->serial, &seen};
	int64_t na = 0;
	const char *uri;

	NEED(uri, "SLAPD_URI");
	ls = ct_ldap_store_of(f->db);
	len = cert_der(f->serial, &der);
	assert_int_equal(
	    ct_certindex_add(f->db, f->serial, "alice", "api", "staff", "CERT01", der, len, &err),
	    CT_OK);
	assert_int_equal(
	    ct_certindex_add(f->db, f->serial, "alice", "api", "staff", "CERT01", der, len, &err),
	    CT_EEXIST);
	ct_err_clear(&err);
	assert_int_equal(ct_certindex_get(f->db, f->serial, &e, &err), CT_OK);
	assert_string_equal(e.serial, f->serial);
	assert_string_equal(e.user, "alice");
	assert_string_equal(e.target, "api");
	assert_string_equal(e.group, "staff");
	assert_string_equal(e.token, "CERT01");
	assert_int_equal(ct_cert_serial_hex(e.cert, hex), CT_OK);
	assert_string_equal(hex, f->serial);
	ct_cert_entry_clear(&e);
	assert_int_equal(ct_certindex_foreach(f->db, find_cert, ctx, &err), CT_OK);
	assert_int_equal(seen, 1);
	/* the validity is readable in the directory */
	assert_int_equal(
	    ct_lstore_dn(ls, "ctCertSerial", f->serial, CT_LSTORE_CERTS, &dn, &err), CT_OK);
	assert_int_equal(ct_lstore_get(ls, CT_LSTORE_READ, 0, dn, attrs, &s, &err), CT_OK);
	assert_int_equal(ct_lstore_time(&s, "ctNotAfter", &na, &err), CT_OK);
	assert_true(na > time(NULL) + 3000 && na <= time(NULL) + 3600);
	ct_lstore_entry_clear(&s);
	ct_certindex_remove(f->db, f->serial);
	assert_int_equal(ct_certindex_get(f->db, f->serial, &e, &err), CT_ENOENT);
	free(dn);
	OPENSSL_free(der);
}

/* A revocation written through one handle is read through another at once;
 * a second revocation of the same certificate is CT_EEXIST. */
static void
test_revocations(void **state)
{
	struct fixture *f = *state;
	struct ct_store *other = NULL;
	struct ct_revocation *list = NULL;
	const struct ct_revocation *r;
	struct ct_err err = {0};
	size_t n = 0;
	const char *uri;

	NEED(uri, "SLAPD_URI");
	assert_int_equal(open_ldap(f->dir, uri, NULL, 3, 0, &other, &err), CT_OK);
	assert_int_equal(ct_revoke(f->db, f->serial, "staff", 1, 1764892800, &err), CT_OK);
	assert_int_equal(ct_revoke(other, f->serial, "staff", 0, 1764892900, &err), CT_EEXIST);
	assert_non_null(strstr(err.msg, "already revoked"));
	ct_err_clear(&err);
	assert_int_equal(ct_revoked_read(other, &list, &n, &err), CT_OK);
	assert_non_null(r = ct_revoked_find(list, n, f->serial));
	assert_string_equal(r->group, "staff");
	assert_int_equal(r->when, 1764892800);
	assert_int_equal(r->reason, 1);
	free(list);
	ct_store_close(other);
}

/* One serial's revocation is one read of its entry (the backend's own
 * lookup, not the whole list): found, not found, a malformed entry named. */
static void
test_revoked_get(void **state)
{
	struct fixture *f = *state;
	struct ct_ldap_store *ls;
	struct ct_lstore_mods m;
	struct ct_revocation r;
	struct ct_err err = {0};
	char *dn = NULL, bad[CT_CERT_SERIAL_MAX + 2];
	const char *uri;

	NEED(uri, "SLAPD_URI");
	ls = ct_ldap_store_of(f->db);
	assert_non_null(f->db->ops->revoked_get);
	assert_int_equal(ct_revoked_get(f->db, f->serial, &r, &err), CT_ENOENT);
	ct_err_clear(&err);
	assert_int_equal(ct_revoke(f->db, f->serial, "staff", 4, 1764892800, &err), CT_OK);
	assert_int_equal(ct_revoked_get(f->db, f->serial, &r, &err), CT_OK);
	assert_string_equal(r.serial, f->serial);
	assert_string_equal(r.group, "staff");
	assert_int_equal(r.when, 1764892800);
	assert_int_equal(r.reason, 4);
	/* a revocation entry with a reason out of range: an error naming it */
	snprintf(bad, sizeof(bad), "%.12sFF", f->serial);
	assert_int_equal(
	    ct_lstore_dn(ls, "ctCertSerial", bad, CT_LSTORE_REVOKED, &dn, &err), CT_OK);
	ct_lstore_mods_init(&m);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "objectClass", "ctRevocation");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctCertSerial", bad);
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctGroup", "staff");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctRevokedAt", "20251205000000Z");
	ct_lstore_mods_str(&m, LDAP_MOD_ADD, "ctRevocationReason", "99");
	assert_int_equal(ct_lstore_add(ls, 0, dn, &m, &err), CT_OK);
	assert_int_equal(ct_revoked_get(f->db, bad, &r, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "ou=revoked"));
	assert_int_equal(ct_lstore_delete(ls, 0, dn, NULL, &err), CT_OK);
	free(dn);
}

static unsigned char csr[] = {0x30, 0x03, 0x02, 0x01, 0x05, 0xff, 0x00};

static int
find_request(void *ctx, const struct ct_request *r)
{
	const char *token = ((const char *const *)ctx)[0];
	int *seen = (int *)(uintptr_t)((const void *const *)ctx)[1];

	if (strcmp(r->token, token) == 0 && r->csr_len == sizeof(csr))
		(*seen)++;
	return 0;
}

static void
test_requests(void **state)
{
	struct fixture *f = *state;
	struct ct_request r, got;
	struct ct_err err = {0};
	char token[CT_SERIAL_MAX], token2[CT_SERIAL_MAX];
	int seen = 0;
	const void *ctx[2] = {token, &seen};
	const char *uri;

	NEED(uri, "SLAPD_URI");
	snprintf(token, sizeof(token), "CERT%.12s", f->serial);
	snprintf(token2, sizeof(token2), "CERT%.12sB", f->serial);
	memset(&r, 0, sizeof(r));
	snprintf(r.token, sizeof(r.token), "%s", token);
	snprintf(r.user, sizeof(r.user), "%s", f->user);
	strcpy(r.target, "api");
	strcpy(r.ref, "-");
	r.created = 1763800000;
	r.csr = csr;
	r.csr_len = sizeof(csr);
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_OK);
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_EEXIST);
	ct_err_clear(&err);
	assert_int_equal(ct_request_load(f->db, token, &got, &err), CT_OK);
	assert_string_equal(got.user, f->user);
	assert_string_equal(got.target, "api");
	assert_string_equal(got.ref, "-");
	assert_int_equal(got.created, 1763800000);
	assert_int_equal(got.polled, 0);
	assert_int_equal(got.csr_len, sizeof(csr));
	assert_memory_equal(got.csr, csr, sizeof(csr));
	ct_request_clear(&got);
	/* a reference and a poll */
	snprintf(r.token, sizeof(r.token), "%s", token2);
	strcpy(r.ref, "ca:42/x");
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_OK);
	assert_int_equal(ct_lstore_request_polled(f->db, token2, 1763800100, &err), CT_OK);
	assert_int_equal(ct_request_load(f->db, token2, &got, &err), CT_OK);
	assert_string_equal(got.ref, "ca:42/x");
	assert_int_equal(got.polled, 1763800100);
	ct_request_clear(&got);
	assert_int_equal(ct_request_foreach(f->db, find_request, ctx, &err), CT_OK);
	assert_int_equal(seen, 1);
	assert_int_equal(ct_request_remove(f->db, token, &err), CT_OK);
	assert_int_equal(ct_request_remove(f->db, token, &err), CT_OK); /* gone: no error */
	assert_int_equal(ct_request_load(f->db, token, &got, &err), CT_ENOENT);
	ct_err_clear(&err);
	assert_int_equal(ct_lstore_request_polled(f->db, token, 1, &err), CT_ENOENT);
	assert_int_equal(ct_request_remove(f->db, token2, &err), CT_OK);
}

static void
test_uploads(void **state)
{
	struct fixture *f = *state;
	unsigned char *der = NULL, *pem = NULL;
	struct ct_err err = {0};
	char token[CT_SERIAL_MAX];
	size_t len, n = 0;
	BIO *bio;
	X509 *x;
	const char *uri;

	NEED(uri, "SLAPD_URI");
	snprintf(token, sizeof(token), "CERT%.12s", f->serial);
	len = cert_der(f->serial, &der);
	assert_int_equal(ct_upload_save(f->db, token, der, len, &err), CT_OK);
	assert_int_equal(ct_upload_save(f->db, token, der, len, &err), CT_EEXIST);
	ct_err_clear(&err);
	assert_int_equal(ct_upload_load(f->db, token, &pem, &n, &err), CT_OK);
	assert_int_equal(strlen((char *)pem), n);
	assert_non_null(bio = BIO_new_mem_buf(pem, (int)n));
	assert_non_null(x = PEM_read_bio_X509(bio, NULL, NULL, NULL));
	assert_int_equal(i2d_X509(x, NULL), (int)len);
	X509_free(x);
	BIO_free(bio);
	free(pem);
	ct_upload_remove(f->db, token);
	assert_int_equal(ct_upload_load(f->db, token, &pem, &n, &err), CT_ENOENT);
	OPENSSL_free(der);
}

/* CT_STORE_PRIMARY (store migrate, store check): every read goes to the
 * write URI, none to the replicas (here a read URI where nothing
 * listens); and a pending request (its last poll) is read from the
 * provider even without it. */
static void
test_primary_reads(void **state)
{
	struct fixture *f = *state;
	struct ct_store *db = NULL;
	struct ct_user_tokens in, out;
	struct ct_request r, got;
	struct ct_err err = {0};
	const char *uri;

	NEED(uri, "SLAPD_URI");
	memset(&in, 0, sizeof(in));
	hotp_token(&in.tok[0], "HOTP1", 5);
	in.n = 1;
	put_tokens(f->db, f->user, &in);
	memset(&r, 0, sizeof(r));
	snprintf(r.token, sizeof(r.token), "CERT%.12sP", f->serial);
	snprintf(r.user, sizeof(r.user), "%s", f->user);
	strcpy(r.target, "api");
	strcpy(r.ref, "-");
	r.created = 1763800000;
	r.csr = csr;
	r.csr_len = sizeof(csr);
	assert_int_equal(ct_request_save(f->db, &r, &err), CT_OK);
	assert_int_equal(open_ldap(f->dir, DOWN, uri, 2, CT_STORE_TOKENS, &db, &err), CT_OK);
	assert_int_equal(ct_request_load(db, r.token, &got, &err), CT_OK); /* the provider's */
	ct_request_clear(&got);
	assert_int_equal(ct_tokens_peek(db, f->user, &out, &err), CT_EUNAVAIL);
	ct_store_close(db);
	ct_err_clear(&err);
	assert_int_equal(
	    open_ldap(f->dir, DOWN, uri, 2, CT_STORE_TOKENS | CT_STORE_PRIMARY, &db, &err), CT_OK);
	assert_int_equal(ct_tokens_peek(db, f->user, &out, &err), CT_OK);
	assert_int_equal(out.tok[0].counter, 5);
	ct_user_tokens_clear(&out);
	ct_store_close(db);
	assert_int_equal(ct_request_remove(f->db, r.token, &err), CT_OK);
	ct_user_tokens_clear(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_store_ldap),
	    cmocka_unit_test(test_conf_store_ldap_bad),
	    cmocka_unit_test(test_time_and_dn),
	    cmocka_unit_test_setup_teardown(test_tokens_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_entry_readable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ldapsearch_readable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_assertion_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_user_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_race, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_reads_provider, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shared_pool, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_absent_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provider_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stopped_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sasl_external, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_directory_one_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_set_keeps_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revision_reused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_base, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_primary_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_containers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpaged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_secret, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revocations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uploads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
