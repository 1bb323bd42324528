/* certtoken-admin cert pending|approve|reject|expiring: requests that wait
 * for an administrator (the queue CA connector) and expiry notices. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "admin.h"
#include "connector.h"
#include "certtoken.h"
#include "certindex.h"
#include "issue.h"
#include "requests.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

#define EXPIRING_DEFAULT 86400 /* seconds: `cert expiring` looks this far ahead */

/* ---- pending ---- */

struct pending_list {
	int json, count;
};

static int
print_request(void *ctx, const struct ct_request *r)
{
	struct pending_list *l = ctx;
	char when[32];

	ct_time_utc(r->created, CT_TIME_ISO, when, sizeof(when));
	if (l->json) {
		printf("%s{\"token\":", l->count ? ",\n " : " ");
		ct_json_string(stdout, r->token);
		printf(",\"user\":");
		ct_json_string(stdout, r->user);
		printf(",\"target\":");
		ct_json_string(stdout, r->target);
		printf(",\"created\":%" PRId64 ",\"reference\":", r->created);
		ct_json_string(stdout, r->ref);
		putchar('}');
	} else {
		if (l->count == 0)
			printf("%-22s %-16s %-16s %-20s %s\n", "TOKEN", "USER", "TARGET",
			    "REQUESTED", "REFERENCE");
		printf("%-22s %-16s %-16s %-20s %s\n", r->token, r->user, r->target, when, r->ref);
	}
	l->count++;
	return 0;
}

int
admin_cmd_pending(struct admin *ad, int argc, char **argv)
{
	struct pending_list l = {0};
	int rc;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		l.json = 1;
	else if (argc != 1)
		return admin_usage_error("cert pending [--json]");
	if ((rc = admin_open_store(ad)) != CT_OK)
		return admin_fail(ad, rc);
	if (l.json)
		printf("[\n");
	rc = ct_request_foreach(ad->store, print_request, &l, &ad->err);
	if (l.json)
		printf("%s]\n", l.count ? "\n" : "");
	else if (rc == CT_OK && l.count == 0)
		printf("no pending requests\n");
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

/* ---- approve, reject ---- */

struct decision {
	int approve;
	const char *token, *reason;
	struct ct_request r;
	const struct ct_target *t; /* NULL: no longer configured (reject only) */
	struct ct_cert_desc cert; /* approve: the certificate issued */
	struct ct_token after; /* the token as written */
	char user[CT_USER_MAX]; /* the token's owner */
};

/* Inside the owner's transaction: the token must still be pending. */
static int
op_decide(struct ct_user_tokens *u, size_t i, void *ctx, struct ct_err *err)
{
	struct decision *d = ctx;
	int rc;

	if ((rc = ct_certtoken_decide(&u->tok[i], d->approve, &d->cert, err)) == CT_OK)
		d->after = u->tok[i];
	return rc;
}

/* Issue D's request with its target's access-group CA and record it in the
 * index: the certificate's description in D->cert. */
static int
issue_request(struct admin *ad, struct decision *d)
{
	const struct ct_request *r = &d->r;
	struct ct_attrs *attrs = NULL;
	unsigned char *spki = NULL, *der = NULL;
	size_t spki_len = 0, der_len = 0;
	int rc;

	if ((rc = ct_csr_verify(r->csr, r->csr_len, &spki, &spki_len, &ad->err)) != CT_OK) {
		ct_err_prefix(&ad->err, "the stored CSR of token %s: ", r->token);
		goto out;
	}
	if ((rc = admin_attrs(ad, r->user, &attrs)) != CT_OK) {
		ct_err_prefix(&ad->err, "attributes of %s: ", r->user);
		goto out;
	}
	if ((rc = admin_sign(ad, d->t, attrs, spki, spki_len, &der, &der_len)) != CT_OK ||
	    (rc = ct_cert_describe(der, der_len, &d->cert, &ad->err)) != CT_OK)
		goto out;
	rc = ct_certindex_add(ad->store, d->cert.serial, r->user, d->t->name, d->t->group->name,
	    r->token, der, der_len, &ad->err);
out:
	OPENSSL_free(der);
	ct_attrs_free(attrs);
	OPENSSL_free(spki);
	return rc;
}

/* Load D's pending request and check that an administrator decides it. */
static int
decide_load(struct admin *ad, struct decision *d)
{
	int rc;

	if ((rc = admin_open_store(ad)) != CT_OK)
		return rc;
	if ((rc = ct_request_load(ad->store, d->token, &d->r, &ad->err)) != CT_OK) {
		if (rc == CT_ENOENT || rc == CT_EINVAL) {
			ct_err_clear(&ad->err);
			rc = ct_err_set(&ad->err, CT_EINVAL,
			    "no pending request for token %s (see 'cert pending')", d->token);
		}
		return rc;
	}
	if ((d->t = ct_config_target(ad->cfg, d->r.target)) == NULL) {
		if (!d->approve)
			return CT_OK;
		return ct_err_set(&ad->err, CT_ECONFIG,
		    "token %s: its target %s is no longer configured; reject it", d->token,
		    d->r.target);
	}
	if (!(ct_connector_caps(d->t->connector) & CT_CX_ADMIN_APPROVES))
		return ct_err_set(&ad->err, CT_EINVAL,
		    "token %s waits for CA connector %s, whose CA decides (the user collects the "
		    "certificate with 'certtoken-enroll fetch')",
		    d->token, d->t->connector->name);
	return CT_OK;
}

/* Log and print the decision D. */
static void
decide_report(const struct decision *d)
{
	char when[32];

	if (strcmp(d->user, d->r.user) != 0)
		syslog(LOG_AUTHPRIV | LOG_WARNING,
		    "request of token %s names user %s, but the token belongs to %s", d->token,
		    d->r.user, d->user);
	if (d->approve) {
		ct_time_utc(d->cert.not_after, CT_TIME_ISO, when, sizeof(when));
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		    "approved request of token %s of user %s (target %s): certificate serial %s, "
		    "by uid %u",
		    d->token, d->user, d->r.target, d->cert.serial, (unsigned)getuid());
		printf("approved token %s of user %s: certificate serial %s, not after %s\n",
		    d->token, d->user, d->cert.serial, when);
	} else {
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		    "rejected request of token %s of user %s (target %s) by uid %u%s%s", d->token,
		    d->user, d->r.target, (unsigned)getuid(), d->reason ? ": " : "",
		    d->reason ? d->reason : "");
		printf("rejected token %s of user %s\n", d->token, d->user);
	}
	fflush(stdout);
}

int
admin_cmd_decide(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
	struct decision d;
	int c, rc;

	memset(&d, 0, sizeof(d));
	d.approve = strcmp(argv[0], "approve") == 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || d.approve)
			return admin_usage_error(
			    d.approve ? "cert approve TOKEN" : "cert reject TOKEN [--reason TEXT]");
		d.reason = optarg;
	}
	if (optind + 1 != argc)
		return admin_usage_error(
		    d.approve ? "cert approve TOKEN" : "cert reject TOKEN [--reason TEXT]");
	d.token = argv[optind];
	if ((rc = decide_load(ad, &d)) != CT_OK ||
	    (d.approve && (rc = issue_request(ad, &d)) != CT_OK))
		goto out;
	if ((rc = admin_with_token(ad, d.token, op_decide, &d, d.user)) != CT_OK) {
		if (d.approve) /* never handed out: forget it */
			ct_certindex_remove(ad->store, d.cert.serial);
		goto out;
	}
	if ((rc = ct_request_remove(ad->store, d.token, &ad->err)) != CT_OK)
		goto out;
	decide_report(&d);
	admin_fire(ad, d.approve ? "token_enrolled" : "cert_rejected", d.user, &d.after);
out:
	ct_request_clear(&d.r);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

/* ---- expiring ---- */

struct expiring {
	struct admin *ad;
	struct ct_store *db;
	char *marks; /* STORE/notified */
	time_t now, until;
	int count, failed;
};

/* Fire cert_expiring once for token T's certificate: a mark file made with
 * O_EXCL says it was done. */
static int
expiring_one(void *ctx, const char *user, const struct ct_token *t)
{
	struct expiring *x = ctx;
	char path[4400], when[32];
	int fd;

	if (t->type != CT_TOKEN_CERT || !t->active || strcmp(t->rollout_state, "enrolled") != 0 ||
	    t->not_after <= (int64_t)x->now || t->not_after > (int64_t)x->until ||
	    t->cert_serial[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s/expiring-%s-%s", x->marks, t->serial, t->cert_serial);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		if (errno != EEXIST) {
			fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
			x->failed++;
		}
		return 0;
	}
	close(fd);
	ct_time_utc(t->not_after, CT_TIME_ISO, when, sizeof(when));
	printf("token %s of user %s: certificate %s expires %s\n", t->serial, user, t->cert_serial,
	    when);
	fflush(stdout);
	admin_fire(x->ad, "cert_expiring", user, t);
	x->count++;
	return 0;
}

/* Each of USER's certificates that expires soon, once. */
static int
expiring_user(void *ctx, const char *user)
{
	struct expiring *x = ctx;
	struct ct_err err = {0};

	if (admin_each_token(x->db, user, expiring_one, x, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		x->failed++;
	}
	return 0;
}

int
admin_cmd_expiring(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"within", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
	struct expiring x = {.ad = ad};
	long within = EXPIRING_DEFAULT;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'w' || ct_parse_long(optarg, 1, 366L * 86400, &within) != 0)
			return admin_usage_error(
			    "cert expiring [--within SECONDS] (1 to 31622400)");
	}
	if (optind != argc)
		return admin_usage_error("cert expiring [--within SECONDS]");
	if ((rc = admin_load_config(ad)) != CT_OK)
		return admin_fail(ad, rc);
	x.now = time(NULL);
	x.until = x.now + within;
	if ((x.marks = ct_path_join(ad->cfg->store_path, "notified")) == NULL) {
		rc = ct_err_set(&ad->err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ct_store_mkdir(x.marks, &ad->err)) != CT_OK ||
	    (rc = ct_store_open(ad->cfg, CT_STORE_TOKENS, &x.db, &ad->err)) != CT_OK)
		goto out;
	rc = ct_tokens_foreach_user(x.db, expiring_user, &x, &ad->err);
	if (rc == CT_OK && x.count == 0)
		printf(
		    "no certificate expires within %ld seconds that was not announced\n", within);
	if (rc == CT_OK && x.failed)
		rc = ct_err_set(&ad->err, CT_EIO, "%d users' tokens could not be read", x.failed);
out:
	ct_store_close(x.db);
	free(x.marks);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}
