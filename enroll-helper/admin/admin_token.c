/* certtoken-admin token ...: OTP token management. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <qrencode.h>

#include "admin.h"
#include "requests.h"
#include "certindex.h"
#include "otp.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

struct init_args {
	const char *user, *secret, *description;
	int type, algo, digits, period;
};

/* Print TEXT as a QR code with Unicode half blocks (two modules per line). */
static void
print_qr(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int x, y, w, top, bottom;

	if (qr == NULL)
		return;
	w = qr->width;
	/* a quiet zone of 4 modules, as the QR specification asks */
	for (y = -4; y < w + 4; y += 2) {
		for (x = -4; x < w + 4; x++) {
			top = y >= 0 && y < w && x >= 0 && x < w && (qr->data[y * w + x] & 1);
			bottom = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w &&
			    (qr->data[(y + 1) * w + x] & 1);
			/* dark modules print as spaces on a light background */
			fputs(top && bottom ? " "
			        : top       ? "\u2584"
			        : bottom    ? "\u2580"
			                    : "\u2588",
			    stdout);
		}
		putchar('\n');
	}
	QRcode_free(qr);
}

static int
parse_init(int argc, char **argv, struct init_args *a)
{
	const char *type = NULL, *algo = NULL, *digits = NULL, *period = NULL;
	const struct ct_opt opts[] = {{"user", &a->user, NULL}, {"type", &type, NULL},
	    {"algo", &algo, NULL}, {"digits", &digits, NULL}, {"period", &period, NULL},
	    {"secret", &a->secret, NULL}, {"description", &a->description, NULL},
	    {NULL, NULL, NULL}};

	if (ct_opts_parse(argc, argv, opts) != CT_OK)
		return -1;
	if (type != NULL)
		a->type = ct_token_type_parse(type);
	if (algo != NULL)
		a->algo = ct_otp_algo_parse(algo);
	if (digits != NULL)
		a->digits = atoi(digits);
	if (period != NULL)
		a->period = atoi(period);
	if (optind != argc || a->user == NULL)
		return admin_usage_error("token init needs --user USER"), -1;
	if (a->type != CT_TOKEN_HOTP && a->type != CT_TOKEN_TOTP)
		return admin_usage_error("--type must be totp or hotp"), -1;
	if (a->algo < 0)
		return admin_usage_error("--algo must be sha1, sha256 or sha512"), -1;
	if (a->period < 10 || a->period > 300 || a->digits < 6 || a->digits > 8)
		return admin_usage_error("--digits must be 6-8 and --period 10-300"), -1;
	if (a->description != NULL && strlen(a->description) >= CT_DESC_MAX)
		return admin_usage_error("--description is too long"), -1;
	return 0;
}

/* Read one line of base32 from standard input into BUF (keeps it out of ps). */
static const char *
read_secret_line(char *buf, size_t size)
{
	if (fgets(buf, (int)size, stdin) == NULL)
		return "";
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}

/* Fill T's secret from --secret ("-": standard input) or at random (the
 * digest's size). */
static int
make_secret(const struct init_args *a, struct ct_token *t, struct ct_err *err)
{
	char line[256];
	const char *text = a->secret;
	int rc;

	static const size_t sizes[] = {
	    [CT_OTP_SHA1] = 20, [CT_OTP_SHA256] = 32, [CT_OTP_SHA512] = 64};

	if (a->secret == NULL) {
		t->secret_len = sizes[a->algo];
		return RAND_bytes(t->secret, (int)t->secret_len) == 1
		    ? CT_OK
		    : ct_err_set(err, CT_ECRYPTO, "no random numbers");
	}
	if (strcmp(text, "-") == 0)
		text = read_secret_line(line, sizeof(line));
	if (ct_base32_decode(text, t->secret, sizeof(t->secret), &t->secret_len) != CT_OK ||
	    t->secret_len < 10)
		rc = ct_err_set(
		    err, CT_EINVAL, "--secret must be base32 of 10 to %d bytes", CT_OTP_SECRET_MAX);
	else
		rc = CT_OK;
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

/* Inside the user's transaction: append token CTX, unless the user has a
 * token with the same secret (its codes could be replayed on the other). */
static int
add_op(void *ctx, const char *user, struct ct_user_tokens *u, struct ct_err *err)
{
	const struct ct_token *t = ctx;
	size_t i;

	if (u->n >= CT_TOKENS_MAX)
		return ct_err_set(
		    err, CT_EINVAL, "user '%s' already has %d tokens", user, CT_TOKENS_MAX);
	for (i = 0; i < u->n; i++)
		if (u->tok[i].secret_len == t->secret_len && t->secret_len > 0 &&
		    CRYPTO_memcmp(u->tok[i].secret, t->secret, t->secret_len) == 0)
			return ct_err_set(err, CT_EEXIST,
			    "user '%s' already has a token with this secret (%s)", user,
			    u->tok[i].serial);
	u->tok[u->n++] = *t;
	return CT_OK;
}

static int
add_token(struct admin *ad, const char *user, const struct ct_token *t)
{
	struct ct_store *db = NULL;
	int rc;

	if ((rc = ct_store_open(ad->cfg, CT_STORE_CREATE | CT_STORE_TOKENS, &db, &ad->err)) ==
	    CT_OK)
		rc = ct_store_update(db, user, add_op, (void *)t, &ad->err);
	ct_store_close(db);
	return rc;
}

static int
token_init(struct admin *ad, int argc, char **argv)
{
	struct init_args a = {NULL, NULL, NULL, CT_TOKEN_TOTP, CT_OTP_SHA1, 0, 0};
	struct ct_token t;
	char host[256] = "", account[CT_USER_MAX + 300], *uri = NULL;
	int rc;

	if ((rc = admin_load_config(ad)) != CT_OK)
		return admin_fail(ad, rc);
	a.digits = ad->cfg->otp.digits;
	a.period = ad->cfg->otp.period;
	if (parse_init(argc, argv, &a) != 0)
		return ct_exit_status(CT_EUSAGE);
	if (!ct_tokens_user_valid(a.user))
		return admin_fail(ad,
		    ct_err_set(&ad->err, CT_EINVAL,
		        "'%s' is not a usable "
		        "user name",
		        a.user));
	memset(&t, 0, sizeof(t));
	t.type = (enum ct_token_type)a.type;
	t.algo = (enum ct_otp_algo)a.algo;
	t.active = 1;
	t.digits = a.digits;
	t.period = a.type == CT_TOKEN_TOTP ? a.period : 0;
	t.last_step = -1;
	t.created = (int64_t)time(NULL);
	snprintf(t.rollout_state, sizeof(t.rollout_state), "enrolled");
	snprintf(t.description, sizeof(t.description), "%s", a.description ? a.description : "");
	if ((rc = make_secret(&a, &t, &ad->err)) != CT_OK ||
	    (rc = ct_tokens_new_serial(a.type == CT_TOKEN_TOTP ? "TOTP" : "HOTP", t.serial)) ||
	    (rc = add_token(ad, a.user, &t)) != CT_OK)
		goto out;
	(void)gethostname(host, sizeof(host) - 1);
	snprintf(account, sizeof(account), "%s@%s", a.user, host);
	if ((rc = ct_otpauth_uri(a.type == CT_TOKEN_TOTP, "certtoken", account, t.secret,
	         t.secret_len, t.algo, t.digits, t.period, 0, &uri)) != CT_OK)
		goto out;
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "created %s token %s for user %s",
	    ct_token_type_name(t.type), t.serial, a.user);
	printf("serial: %s\nuser: %s\nuri: %s\n", t.serial, a.user, uri);
	if (isatty(STDOUT_FILENO))
		print_qr(uri);
	fflush(stdout);
	admin_fire(ad, "token_init", a.user, &t);
out:
	ct_free_secret(uri);
	OPENSSL_cleanse(&t, sizeof(t));
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

/* --- commands on one token, found by serial ------------------------------- */

static int
op_enable(struct ct_user_tokens *u, size_t i, void *ctx, struct ct_err *err)
{
	(void)err;
	u->tok[i].active = *(int *)ctx;
	return CT_OK;
}

/* The failure count and the throttle are the user's: clear them on every
 * token of U, and each source's (which stays known or not). */
static void
clear_failures(struct ct_user_tokens *u)
{
	size_t j;

	for (j = 0; j < u->n; j++) {
		u->tok[j].failcount = 0;
		u->tok[j].lock_until = 0;
	}
	for (j = 0; j < u->n_src; j++) {
		u->src[j].failcount = 0;
		u->src[j].until = 0;
	}
}

static int
op_reset(struct ct_user_tokens *u, size_t i, void *ctx, struct ct_err *err)
{
	(void)i;
	(void)ctx;
	(void)err;
	clear_failures(u);
	return CT_OK;
}

/* CTX: where a copy of the deleted token (without its secret) goes. */
static int
op_delete(struct ct_user_tokens *u, size_t i, void *ctx, struct ct_err *err)
{
	struct ct_token *gone = ctx;

	(void)err;
	*gone = u->tok[i];
	OPENSSL_cleanse(gone->secret, sizeof(gone->secret));
	gone->secret_len = 0;
	OPENSSL_cleanse(&u->tok[i], sizeof(u->tok[i]));
	memmove(&u->tok[i], &u->tok[i + 1], (u->n - i - 1) * sizeof(u->tok[0]));
	u->n--;
	return CT_OK;
}

#define RESYNC_WINDOW 10000

/* Two consecutive HOTP codes find the token's counter again. */
static int
op_resync(struct ct_user_tokens *u, size_t i, void *ctx, struct ct_err *err)
{
	const char *const *codes = ctx;
	struct ct_token *t = &u->tok[i];
	uint64_t c, d;

	if (t->type != CT_TOKEN_HOTP)
		return ct_err_set(err, CT_EINVAL, "token %s is not an HOTP token", t->serial);
	for (c = t->counter; c < t->counter + RESYNC_WINDOW; c++) {
		if (ct_hotp_verify(t->algo, t->secret, t->secret_len, t->digits, c, 0, codes[0],
		        &d) == CT_OK &&
		    ct_hotp_verify(t->algo, t->secret, t->secret_len, t->digits, c + 1, 0, codes[1],
		        &d) == CT_OK) {
			t->counter = c + 2;
			clear_failures(u);
			return CT_OK;
		}
	}
	return ct_err_set(err, CT_EPERM,
	    "the codes do not match two consecutive counters "
	    "within %d of the current one",
	    RESYNC_WINDOW);
}

/* Revoke the certificate SERIAL of a deleted token (already revoked or not
 * one of ours is fine); *DONE says whether this revoked it. */
static int
revoke_deleted(struct admin *ad, const char *serial, int *done)
{
	struct ct_cert_entry e;
	int rc;

	memset(&e, 0, sizeof(e));
	if ((rc = admin_open_store(ad)) != CT_OK)
		return rc;
	if ((rc = ct_certindex_get(ad->store, serial, &e, &ad->err)) == CT_ENOENT) {
		ct_err_clear(&ad->err); /* not one of ours */
		return CT_OK;
	}
	if (rc != CT_OK)
		return rc;
	rc = ct_revoke(ad->store, serial, e.group, ct_crl_reason_parse("cessationOfOperation"),
	    time(NULL), &ad->err);
	ct_cert_entry_clear(&e);
	if (rc == CT_EEXIST) {
		ct_err_clear(&ad->err);
		return CT_OK;
	}
	if (rc != CT_OK)
		return rc;
	*done = 1;
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "certificate %s revoked: its token was deleted", serial);
	printf("certificate %s revoked (cessationOfOperation)\n", serial);
	return CT_OK;
}

/* token enable|disable|delete|reset SERIAL, token resync SERIAL CODE1 CODE2 */
static int
token_serial_cmd(struct admin *ad, int argc, char **argv)
{
	const char *cmd = argv[0];
	char user[CT_USER_MAX] = "";
	struct ct_token gone;
	int on = strcmp(cmd, "enable") == 0, rc;
	int resync = strcmp(cmd, "resync") == 0;
	token_op op = strcmp(cmd, "reset") == 0 ? op_reset
	    : strcmp(cmd, "delete") == 0        ? op_delete
	    : resync                            ? op_resync
	                                        : op_enable;

	if (argc != (resync ? 4 : 2))
		return admin_usage_error(
		    resync ? "token resync SERIAL CODE1 CODE2" : "token %s SERIAL", cmd);
	if ((rc = admin_load_config(ad)) != CT_OK)
		return admin_fail(ad, rc);
	memset(&gone, 0, sizeof(gone));
	rc = admin_with_token(ad, argv[1], op,
	    resync                ? (void *)(argv + 2)
	        : op == op_delete ? (void *)&gone
	                          : (void *)&on,
	    user);
	if (rc != CT_OK)
		return admin_fail(ad, rc);
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "token %s of user %s: %s", argv[1], user, cmd);
	printf("token %s of user %s: %s\n", argv[1], user, cmd);
	if (op != op_delete)
		return 0;
	fflush(stdout);
	admin_fire(ad, "token_deleted", user, &gone);
	if (gone.type != CT_TOKEN_CERT)
		return 0;
	/* what a certificate token leaves behind goes with it: a pending request,
	 * an uploaded certificate, and (revoked) a certificate we issued */
	if (admin_open_store(ad) == CT_OK) {
		ct_request_remove(ad->store, gone.serial, NULL);
		ct_upload_remove(ad->store, gone.serial);
	}
	if (gone.cert_serial[0] != '\0' && gone.target[0] != '\0') {
		int done = 0;

		if ((rc = revoke_deleted(ad, gone.cert_serial, &done)) != CT_OK)
			return admin_fail(ad, rc);
		snprintf(gone.rollout_state, sizeof(gone.rollout_state), "revoked");
		gone.active = 0;
		if (done)
			admin_fire(ad, "token_revoked", user, &gone);
	}
	return 0;
}

/* --- list ------------------------------------------------------------------ */

struct lister {
	struct admin *ad;
	struct ct_store *db;
	int json, count, failed;
};

static void
print_token(struct lister *l, const char *user, const struct ct_token *t)
{
	time_t now = time(NULL);
	int throttled = t->lock_until != 0 && now < t->lock_until;
	long long until = throttled ? (long long)t->lock_until : 0LL;

	if (!l->json) {
		printf("%-22s %-12s %-11s %-8s fail=%-3d %-9s %s\n", t->serial, user,
		    ct_token_type_name(t->type), t->active ? "active" : "disabled", t->failcount,
		    throttled ? "throttled" : "-", t->rollout_state);
		return;
	}
	printf("%s{\"serial\":", l->count ? ",\n " : " ");
	ct_json_string(stdout, t->serial);
	printf(",\"user\":");
	ct_json_string(stdout, user);
	printf(",\"type\":\"%s\",\"active\":%s,\"failcount\":%d,\"throttled_until\":%lld,"
	       "\"locked_until\":%lld,\"rollout_state\":",
	    ct_token_type_name(t->type), t->active ? "true" : "false", t->failcount, until, until);
	ct_json_string(stdout, t->rollout_state);
	printf(",\"description\":");
	ct_json_string(stdout, t->description);
	printf(",\"created\":%lld}", (long long)t->created);
}

static int
list_one(void *ctx, const char *user, const struct ct_token *t)
{
	struct lister *l = ctx;

	print_token(l, user, t);
	l->count++;
	return 0;
}

static int
list_user(void *ctx, const char *user)
{
	struct lister *l = ctx;
	struct ct_err err = {0};
	int rc = admin_each_token(l->db, user, list_one, l, &err);

	if (rc != CT_OK && rc != CT_ENOENT) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		l->failed = rc;
	}
	return 0;
}

static int
token_list(struct admin *ad, int argc, char **argv)
{
	struct lister l = {ad, NULL, 0, 0, 0};
	const char *user = NULL;
	const struct ct_opt opts[] = {
	    {"user", &user, NULL}, {"json", NULL, &l.json}, {NULL, NULL, NULL}};
	int rc;

	if (ct_opts_parse(argc, argv, opts) != CT_OK)
		return ct_exit_status(CT_EUSAGE);
	if (optind != argc)
		return admin_usage_error("token list [--user USER] [--json]");
	if ((rc = admin_load_config(ad)) != CT_OK ||
	    (rc = ct_store_open(ad->cfg, CT_STORE_TOKENS, &l.db, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	if (l.json)
		printf("[\n");
	rc = user != NULL ? list_user(&l, user)
	                  : ct_tokens_foreach_user(l.db, list_user, &l, &ad->err);
	if (l.json)
		printf("%s]\n", l.count ? "\n" : "");
	ct_store_close(l.db);
	if (rc == CT_OK)
		rc = l.failed;
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

const struct admin_cmd admin_token_cmds[] = {
    {"init", token_init, NULL,
        "  token init --user USER [--type totp|hotp] [--algo sha1|sha256|sha512]\n"
        "             [--digits N] [--period SECONDS] [--secret BASE32] [--description TEXT]\n"
        "                                    create an OTP token; print its serial and otpauth "
        "URI\n"},
    {"list", token_list, NULL, "  token list [--user USER] [--json] list tokens and their state\n"},
    {"enable", token_serial_cmd, NULL,
        "  token enable|disable|delete|reset SERIAL\n"
        "                                    change a token (reset clears the user's failures and "
        "throttle)\n"},
    {"disable", token_serial_cmd, NULL, NULL},
    {"delete", token_serial_cmd, NULL, NULL},
    {"reset", token_serial_cmd, NULL, NULL},
    {"resync", token_serial_cmd, NULL,
        "  token resync SERIAL CODE1 CODE2   find an HOTP token's counter from two codes\n"},
    {NULL, NULL, NULL, NULL},
};
