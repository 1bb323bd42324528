/* pam_certtoken: thin PAM entry points over lib/.  Each entry point parses its
 * arguments, calls one library function, logs the decision once and maps the
 * result to a PAM code in one place.  No global state: the module may live in
 * long-running, multi-threaded processes. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "auth.h"
#include "conf.h"
#include "ct.h"
#include "login.h"
#include "sshlogin.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

#define OTP_PROMPT "OTP: "
#define CODE_MAX 16
#define SKEW_DEFAULT 60
/* pam data: the user whose OTP step succeeded in this transaction */
#define OTP_OK_DATA "certtoken-otp-ok"
#define CONFIG_DATA "certtoken-config"

enum no_token { NO_TOKEN_DENY, NO_TOKEN_IGNORE };
enum first_pass { FIRST_PASS_NONE, FIRST_PASS_USE, FIRST_PASS_TRY };

struct args {
	const char *config; /* NULL: the default path */
	int debug;
	int otp; /* run the OTP step */
	int cert; /* run the certificate step */
	int cert_ssh; /* cert=ssh: the certificate step checks sshd's SSH_AUTH_INFO_0 */
	const char *target; /* NULL: the default target */
	long skew; /* seconds */
	int map; /* enum ct_login_map */
	int no_token; /* enum no_token */
	int first_pass; /* enum first_pass */
};

/* The arguments that are one word: the int field of struct args each sets,
 * and to what. */
static const struct keyword {
	const char *word;
	size_t field; /* offsetof(struct args, ...) */
	int value;
} keywords[] = {
    {"debug", offsetof(struct args, debug), 1},
    {"otp", offsetof(struct args, otp), 1},
    {"cert", offsetof(struct args, cert), 1},
    {"cert=ssh", offsetof(struct args, cert_ssh), 1},
    {"map=subject", offsetof(struct args, map), CT_MAP_SUBJECT},
    {"map=cn", offsetof(struct args, map), CT_MAP_CN},
    {"map=upn", offsetof(struct args, map), CT_MAP_UPN},
    {"no_token=deny", offsetof(struct args, no_token), NO_TOKEN_DENY},
    {"no_token=ignore", offsetof(struct args, no_token), NO_TOKEN_IGNORE},
    {"use_first_pass", offsetof(struct args, first_pass), FIRST_PASS_USE},
    {"try_first_pass", offsetof(struct args, first_pass), FIRST_PASS_TRY},
};

/* Set what keyword S (matched whole) says in A: 1, or 0 for no keyword. */
static int
set_keyword(const char *s, struct args *a)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(s, keywords[i].word) == 0) {
			*(int *)((char *)a + keywords[i].field) = keywords[i].value;
			return 1;
		}
	return 0;
}

/* "skew=SECONDS": 0..CT_SKEW_MAX, digits only. */
static int
parse_skew(const char *s, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v > CT_SKEW_MAX)
		return -1;
	*out = v;
	return 0;
}

/* Parse ARGV into A.  Every argument is matched whole; anything unknown or
 * malformed is refused (and logged), never ignored. */
static int
parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->skew = SKEW_DEFAULT;
	a->map = CT_MAP_SUBJECT;
	for (i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (set_keyword(s, a))
			;
		else if (strncmp(s, "target=", 7) == 0 && ct_name_valid(s + 7))
			a->target = s + 7;
		else if (strncmp(s, "skew=", 5) == 0 && parse_skew(s + 5, &a->skew) == 0)
			;
		else if (strncmp(s, "config=", 7) == 0 && s[7] == '/')
			a->config = s + 7;
		else {
			pam_syslog(pamh, LOG_ERR,
			    "refusing: unknown or malformed module argument "
			    "'%s'",
			    s);
			return -1;
		}
	}
	if (a->cert_ssh)
		a->cert = 1;
	if (!a->otp && !a->cert)
		a->otp = a->cert = 1; /* by default: OTP, then the certificate */
	return 0;
}

/* Copy IN (typed at a prompt, so hostile) into OUT for a log line: at most
 * SIZE-1 bytes, control characters and non-ASCII replaced by '?'. */
static const char *
printable(const char *in, char *out, size_t size)
{
	if (in == NULL)
		return "?";
	return ct_text_printable(in, SIZE_MAX, CT_TEXT_ASCII, out, size);
}

/* Log one decision with the context an administrator needs (never a code). */
__attribute__((format(printf, 4, 5))) static void
decision(pam_handle_t *pamh, int prio, const char *user, const char *fmt, ...)
{
	const void *service = NULL, *rhost = NULL;
	char what[CT_ERR_MAX + 64], u[CT_USER_MAX + 1], h[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	(void)pam_get_item(pamh, PAM_SERVICE, &service);
	(void)pam_get_item(pamh, PAM_RHOST, &rhost);
	pam_syslog(pamh, prio, "%s; user=%s service=%s rhost=%s", what,
	    printable(user, u, sizeof(u)), service ? (const char *)service : "?",
	    printable(rhost ? (const char *)rhost : "", h, sizeof(h)));
}

/* A configuration parsed in this PAM transaction, kept with the handle so
 * that auth and account (and each line of a stack) parse it once. */
struct cached_config {
	char *path;
	struct ct_config *cfg;
};

static void
free_config(pam_handle_t *pamh, void *data, int status)
{
	struct cached_config *cc = data;

	(void)pamh;
	(void)status;
	ct_config_free(cc->cfg);
	free(cc->path);
	free(cc);
}

/* The configuration at PATH: the one this transaction already read, or a
 * new one that the handle then keeps. */
static int
config_get(pam_handle_t *pamh, const char *path, int explicit, const struct ct_config **out,
    struct ct_err *err)
{
	const void *data = NULL;
	struct cached_config *cc;
	int rc;

	if (pam_get_data(pamh, CONFIG_DATA, &data) == PAM_SUCCESS && data != NULL &&
	    strcmp(((const struct cached_config *)data)->path, path) == 0) {
		*out = ((const struct cached_config *)data)->cfg;
		return CT_OK;
	}
	if ((cc = calloc(1, sizeof(*cc))) == NULL || (cc->path = strdup(path)) == NULL) {
		free(cc);
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	}
	if ((rc = ct_config_load(path, explicit, &cc->cfg, NULL, err)) != CT_OK ||
	    pam_set_data(pamh, CONFIG_DATA, cc, free_config) != PAM_SUCCESS) {
		free_config(pamh, cc, 0);
		return rc != CT_OK ? rc
		                   : ct_err_set(err, CT_ENOMEM, "cannot keep the configuration");
	}
	*out = cc->cfg;
	return CT_OK;
}

static int
load(pam_handle_t *pamh, const struct args *a, const struct ct_config **cfg, struct ct_store **db)
{
	struct ct_err err = {0};
	/* never the environment: it belongs to the user (sudo, su) */
	const char *path = a->config ? a->config : ct_config_system_path();

	if (config_get(pamh, path, a->config != NULL, cfg, &err) != CT_OK) {
		pam_syslog(pamh, LOG_ERR, "configuration: %s", err.msg);
		return PAM_SERVICE_ERR;
	}
	if (a->debug)
		pam_syslog(pamh, LOG_DEBUG, "configuration %s, store %s", (*cfg)->path,
		    (*cfg)->store_path);
	if (ct_store_open(*cfg, CT_STORE_TOKENS, db, &err) != CT_OK) {
		pam_syslog(pamh, LOG_ERR, "token store unavailable: %s", err.msg);
		*cfg = NULL;
		return PAM_AUTHINFO_UNAVAIL;
	}
	return PAM_SUCCESS;
}

/* Obtain the code: from PAM_AUTHTOK (use_/try_first_pass) or by prompting. */
static int
get_code(pam_handle_t *pamh, const struct args *a, char **code)
{
	const void *tok = NULL;
	char *resp = NULL;
	int rc;

	if (a->first_pass != FIRST_PASS_NONE &&
	    pam_get_item(pamh, PAM_AUTHTOK, &tok) == PAM_SUCCESS && tok != NULL) {
		*code = strdup(tok);
		return *code ? PAM_SUCCESS : PAM_BUF_ERR;
	}
	if (a->first_pass == FIRST_PASS_USE)
		return PAM_AUTH_ERR; /* nothing to use: no earlier module set PAM_AUTHTOK */
	rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", OTP_PROMPT);
	if (rc != PAM_SUCCESS || resp == NULL) {
		ct_free_secret(resp);
		return rc == PAM_SUCCESS ? PAM_CONV_ERR : rc;
	}
	*code = resp;
	return PAM_SUCCESS;
}

/* The one place where library results become PAM codes for auth. */
static int
map_auth(int rc, const struct args *a)
{
	switch (rc) {
	case CT_OK: return PAM_SUCCESS;
	case CT_EPERM: return PAM_AUTH_ERR; /* wrong, throttled or disabled: one answer */
	case CT_ENOENT: return a->no_token == NO_TOKEN_IGNORE ? PAM_IGNORE : PAM_AUTH_ERR;
	case CT_EINVAL: return PAM_USER_UNKNOWN;
	default: return PAM_AUTHINFO_UNAVAIL;
	}
}

static void
log_auth(pam_handle_t *pamh, const char *user, int rc, const struct ct_auth_result *res,
    const struct ct_err *err)
{
	switch (rc) {
	case CT_OK: decision(pamh, LOG_NOTICE, user, "OTP accepted (token %s)", res->serial); break;
	case CT_EPERM:
		if (res->disabled)
			decision(pamh, LOG_WARNING, user, "OTP refused: every token is disabled");
		else if (res->throttled)
			decision(pamh, LOG_WARNING, user,
			    "OTP refused: throttled until %lld after %d failures, code not tried",
			    (long long)res->lock_until, res->failcount);
		else if (res->lock_until != 0)
			decision(pamh, LOG_WARNING, user,
			    "OTP refused (token %s, %d failures, throttled until %lld)",
			    res->serial, res->failcount, (long long)res->lock_until);
		else
			decision(pamh, LOG_WARNING, user, "OTP refused (token %s, %d failures)",
			    res->serial, res->failcount);
		break;
	case CT_EINVAL:
		decision(pamh, LOG_WARNING, user, "OTP refused: the user name cannot have tokens");
		break;
	case CT_ENOENT: decision(pamh, LOG_NOTICE, user, "no active OTP token"); break;
	default: decision(pamh, LOG_ERR, user, "OTP refused: %s", err->msg);
	}
}

/* The account's own name for USER: name services may accept other spellings
 * (case-insensitive directories, user@REALM), and the store must be looked up
 * under the one name the account has, or another spelling would find no
 * token.  A name NSS does not know is used as typed. */
static int
canonical_user(const char *user, char *out, size_t size)
{
	struct passwd pw;
	char *buf = NULL;
	int rc, n;

	/* a name service that fails is not "no such user": the typed
	 * spelling could then find no token, and no_token=ignore let it pass */
	if ((rc = ct_nss_getpwnam(user, &pw, &buf, NULL)) != CT_OK && rc != CT_ENOENT)
		return -2;
	n = snprintf(out, size, "%s", rc == CT_OK ? pw.pw_name : user);
	free(buf);
	return n >= (int)size ? -1 : 0;
}

/* Does USER have an OTP token at all?  (Only asked for no_token=ignore.) */
static int
has_token(struct ct_store *db, const char *user)
{
	struct ct_auth_result res;
	struct ct_err err = {0};
	int rc = ct_auth_account(db, user, time(NULL), &res, &err);

	return rc != CT_ENOENT;
}

/* Who is trying, for the throttle (auth.h): the remote host sshd or login
 * names (PAM_RHOST), else the local user the application names
 * (PAM_RUSER: su, sudo, certtokend), else the real uid. */
static void
attempt_source(pam_handle_t *pamh, char *out, size_t size)
{
	const void *rhost = NULL, *ruser = NULL;

	(void)pam_get_item(pamh, PAM_RHOST, &rhost);
	(void)pam_get_item(pamh, PAM_RUSER, &ruser);
	if (rhost != NULL && ((const char *)rhost)[0] != '\0')
		snprintf(out, size, "host:%s", (const char *)rhost);
	else if (ruser != NULL && ((const char *)ruser)[0] != '\0')
		snprintf(out, size, "user:%s", (const char *)ruser);
	else
		snprintf(out, size, "uid:%lu", (unsigned long)getuid());
}

static int
otp_step(pam_handle_t *pamh, const struct args *a, const struct ct_config *cfg, struct ct_store *db,
    const char *user)
{
	char source[512];
	struct ct_auth_result res;
	struct ct_err err = {0};
	char *code = NULL;
	int rc, prc;

	memset(&res, 0, sizeof(res));
	if (!ct_tokens_user_valid(user))
		rc = CT_EINVAL;
	else if (a->no_token == NO_TOKEN_IGNORE && !has_token(db, user))
		rc = CT_ENOENT;
	else
		rc = CT_OK;
	if (rc == CT_ENOENT) {
		log_auth(pamh, user, rc, &res, &err);
		return map_auth(rc, a);
	}
	/* everyone else is prompted alike: the prompt does not reveal who has a token */
	if ((prc = get_code(pamh, a, &code)) != PAM_SUCCESS) {
		decision(pamh, LOG_WARNING, user, "no OTP entered (%s)", pam_strerror(pamh, prc));
		return prc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : prc;
	}
	attempt_source(pamh, source, sizeof(source));
	if (rc == CT_OK)
		rc = ct_auth_otp(db, &cfg->otp, user, code, source, time(NULL), &res, &err);
	ct_free_secret(code);
	log_auth(pamh, user, rc, &res, &err);
	return map_auth(rc, a);
}

static void
free_data(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	free(data);
}

/* Remember (USER) or forget (NULL) that the OTP step succeeded, for a
 * certificate step in a later line of the stack. */
static int
otp_passed(pam_handle_t *pamh, const char *user)
{
	char *copy = NULL;

	if (user != NULL && (copy = strdup(user)) == NULL)
		return PAM_BUF_ERR;
	if (pam_set_data(pamh, OTP_OK_DATA, copy, copy ? free_data : NULL) != PAM_SUCCESS) {
		free(copy);
		return PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

/* Did the OTP step succeed for USER earlier in this transaction?  The mark
 * is used up: one OTP success allows one certificate step. */
static int
otp_passed_for(pam_handle_t *pamh, const char *user)
{
	const void *data = NULL;
	int yes;

	yes = pam_get_data(pamh, OTP_OK_DATA, &data) == PAM_SUCCESS && data != NULL &&
	    strcmp(data, user) == 0;
	(void)otp_passed(pamh, NULL);
	return yes;
}

static void
log_cert(pam_handle_t *pamh, const char *user, int rc, const struct ct_login_result *res,
    const struct ct_err *err)
{
	if (rc == CT_OK)
		decision(pamh, LOG_NOTICE, user, "certificate accepted (serial %s, token %s)",
		    res->serial, res->token[0] ? res->token : "-");
	else
		decision(pamh,
		    rc == CT_EPERM || rc == CT_EINVAL || rc == CT_ENOENT ? LOG_WARNING : LOG_ERR,
		    user, "certificate refused (serial %s): %s", res->serial[0] ? res->serial : "-",
		    err->msg);
}

/* The one place where certificate results become PAM codes. */
static int
map_cert(int rc)
{
	switch (rc) {
	case CT_OK: return PAM_SUCCESS;
	case CT_EPERM:
	case CT_EINVAL:
	case CT_ENOENT: return PAM_AUTH_ERR;
	default: return PAM_AUTHINFO_UNAVAIL;
	}
}

/* The challenge for USER at this host and service. */
static int
make_challenge(pam_handle_t *pamh, const struct ct_target *t, const char *user,
    struct ct_challenge *c, struct ct_err *err)
{
	const void *service = NULL;
	char host[CT_LOGIN_NAME_MAX];

	if (gethostname(host, sizeof(host)) != 0 || strnlen(host, sizeof(host)) == sizeof(host))
		return ct_err_set(err, CT_ECONFIG, "cannot read the host name");
	(void)pam_get_item(pamh, PAM_SERVICE, &service);
	return ct_challenge_new(c, t->name, user, service ? (const char *)service : "", host, err);
}

/* Send a one-time challenge, read the response and decide it. */
/* The target of the certificate step, or NULL (logged) when it is not
 * configured. */
static const struct ct_target *
cert_target(pam_handle_t *pamh, const struct args *a, const struct ct_config *cfg, const char *user)
{
	const struct ct_target *t =
	    a->target ? ct_config_target(cfg, a->target) : ct_config_default_target(cfg);

	if (t == NULL)
		decision(pamh, LOG_ERR, user, "certificate step: %s%s is not configured",
		    a->target ? "target " : "a target", a->target ? a->target : "");
	return t;
}

static int
cert_step(pam_handle_t *pamh, const struct args *a, const struct ct_config *cfg,
    struct ct_store *db, const struct ct_target *t, const char *user)
{
	struct ct_login_policy pol = {cfg, db, t, a->skew, a->map};
	struct ct_login_result res;
	struct ct_challenge c;
	struct ct_err err = {0};
	char text[CT_CHALLENGE_MAX], *resp = NULL;
	int rc, prc;

	memset(&res, 0, sizeof(res));
	if ((rc = make_challenge(pamh, t, user, &c, &err)) != CT_OK) {
		decision(pamh, LOG_ERR, user, "certificate step: %s", err.msg);
		return PAM_SERVICE_ERR;
	}
	ct_challenge_format(&c, text);
	/* plain words only in the text around the challenge: users paste it */
	prc = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &resp,
	    "Certificate challenge, answer it with certtoken-enroll respond:\n%s\nResponse: ",
	    text);
	if (prc != PAM_SUCCESS || resp == NULL) {
		free(resp);
		decision(pamh, LOG_WARNING, user, "no certificate response (%s)",
		    pam_strerror(pamh, prc == PAM_SUCCESS ? PAM_CONV_ERR : prc));
		return prc == PAM_CONV_AGAIN ? PAM_INCOMPLETE
		    : prc == PAM_SUCCESS     ? PAM_CONV_ERR
		                             : prc;
	}
	rc = ct_login_verify(&pol, &c, resp, time(NULL), &res, &err);
	free(resp);
	log_cert(pamh, user, rc, &res, &err);
	return map_cert(rc);
}

static void
log_ssh(pam_handle_t *pamh, const char *user, int rc, const struct ct_sshlogin_result *res,
    const struct ct_err *err)
{
	char id[CT_SSHLOGIN_KEYID_MAX], why[CT_ERR_MAX];

	/* the key id and the reason may hold what a certificate's maker chose */
	(void)printable(res->key_id[0] ? res->key_id : "-", id, sizeof(id));
	(void)printable(err->msg, why, sizeof(why));
	if (rc == CT_OK)
		decision(pamh, LOG_NOTICE, user,
		    "SSH certificate accepted (ssh serial %llu, key id %s, serial %s, token %s)",
		    (unsigned long long)res->ssh_serial, id, res->serial,
		    res->token[0] ? res->token : "-");
	else
		decision(pamh, rc == CT_EIO || rc == CT_ECONFIG ? LOG_ERR : LOG_WARNING, user,
		    "SSH certificate refused (ssh serial %llu, key id %s): %s",
		    (unsigned long long)res->ssh_serial, id, why);
}

/* cert=ssh: the certificate sshd's publickey method checked, as sshd put
 * it in SSH_AUTH_INFO_0.  Anything but an accepted certificate fails, as
 * the challenge does (map_cert): PAM_AUTH_ERR for a refused or missing
 * certificate, PAM_AUTHINFO_UNAVAIL when the store or the group's SSH CA
 * cannot be read; never PAM_IGNORE. */
static int
ssh_step(pam_handle_t *pamh, const struct args *a, struct ct_store *db, const struct ct_target *t,
    const char *user)
{
	struct ct_sshlogin_policy pol = {db, t, a->skew};
	struct ct_sshlogin_result res;
	struct ct_err err = {0};
	int rc;

	rc = ct_sshlogin_verify(
	    &pol, pam_getenv(pamh, "SSH_AUTH_INFO_0"), user, time(NULL), &res, &err);
	log_ssh(pamh, user, rc, &res, &err);
	return map_cert(rc);
}

/* What both entry points do first: the arguments, the account's own name,
 * the configuration and the store.  PAM_SUCCESS or the code to return. */
struct call {
	struct args a;
	char user[256];
	const struct ct_config *cfg; /* the handle's (config_get) */
	struct ct_store *db;
};

static int
call_begin(pam_handle_t *pamh, int argc, const char **argv, struct call *c)
{
	const char *user = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	if (parse_args(pamh, argc, argv, &c->a) != 0)
		return PAM_SERVICE_ERR;
	if ((rc = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS || user == NULL ||
	    user[0] == '\0') {
		pam_syslog(pamh, LOG_ERR, "cannot determine the user name");
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_USER_UNKNOWN;
	}
	if ((rc = canonical_user(user, c->user, sizeof(c->user))) != 0) {
		decision(pamh, rc == -1 ? LOG_WARNING : LOG_ERR, user,
		    rc == -1 ? "user name too long" : "the name service failed");
		return rc == -1 ? PAM_USER_UNKNOWN : PAM_AUTHINFO_UNAVAIL;
	}
	return load(pamh, &c->a, &c->cfg, &c->db);
}

static void
call_end(struct call *c)
{
	ct_store_close(c->db);
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct ct_target *t = NULL;
	struct call c;
	int rc;

	(void)flags;
	if ((rc = call_begin(pamh, argc, argv, &c)) != PAM_SUCCESS)
		goto out;
	/* a target that is not there fails before any code is spent */
	if (c.a.cert && (t = cert_target(pamh, &c.a, c.cfg, c.user)) == NULL) {
		rc = PAM_SERVICE_ERR;
		goto out;
	}
	if (c.a.otp) {
		(void)otp_passed(pamh, NULL);
		if ((rc = otp_step(pamh, &c.a, c.cfg, c.db, c.user)) != PAM_SUCCESS)
			goto out; /* no challenge is sent without a passed OTP */
		/* only an OTP-only line leaves the mark, for a cert line after it */
		if (!c.a.cert && (rc = otp_passed(pamh, c.user)) != PAM_SUCCESS)
			goto out;
	}
	if (c.a.cert) {
		if (!c.a.otp && !otp_passed_for(pamh, c.user)) {
			decision(pamh, LOG_WARNING, c.user,
			    "certificate step refused: no OTP step passed in this transaction");
			rc = PAM_AUTH_ERR;
			goto out;
		}
		rc = c.a.cert_ssh ? ssh_step(pamh, &c.a, c.db, t, c.user)
		                  : cert_step(pamh, &c.a, c.cfg, c.db, t, c.user);
	}
out:
	call_end(&c);
	return rc;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/* The one place where account results become PAM codes. */
static int
map_account(int rc, const struct args *a)
{
	switch (rc) {
	case CT_OK: return PAM_SUCCESS;
	case CT_ENOENT: return a->no_token == NO_TOKEN_IGNORE ? PAM_IGNORE : PAM_PERM_DENIED;
	case CT_EPERM: return PAM_PERM_DENIED; /* disabled; an OTP throttle never refuses */
	case CT_EINVAL: return PAM_USER_UNKNOWN;
	default: return PAM_AUTHINFO_UNAVAIL;
	}
}

static void
log_account(pam_handle_t *pamh, const struct call *c, int rc, const struct ct_auth_result *res,
    const struct ct_err *err)
{
	const char *user = c->user;

	if (rc == CT_EPERM)
		decision(pamh, LOG_WARNING, user, "account refused: every token is disabled");
	else if (rc == CT_ENOENT && c->a.no_token == NO_TOKEN_DENY)
		decision(pamh, LOG_WARNING, user, "account refused: no OTP token");
	else if (rc == CT_EINVAL)
		decision(
		    pamh, LOG_WARNING, user, "account refused: the user name cannot have tokens");
	else if (rc == CT_OK && res->throttled && c->a.debug)
		decision(pamh, LOG_DEBUG, user, "account allowed; OTP throttled until %lld",
		    (long long)res->lock_until);
	else if (rc != CT_OK && rc != CT_ENOENT)
		decision(pamh, LOG_ERR, user, "account refused: %s", err->msg);
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct ct_auth_result res;
	struct ct_err err = {0};
	struct call c;
	int rc;

	(void)flags;
	memset(&res, 0, sizeof(res));
	if ((rc = call_begin(pamh, argc, argv, &c)) != PAM_SUCCESS) {
		call_end(&c);
		return rc;
	}
	rc = ct_tokens_user_valid(c.user) ? ct_auth_account(c.db, c.user, time(NULL), &res, &err)
	                                  : CT_EINVAL;
	log_account(pamh, &c, rc, &res, &err);
	rc = map_account(rc, &c.a);
	call_end(&c);
	return rc;
}
