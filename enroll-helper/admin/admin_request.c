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
	const struct ct_token *issued; /* approve: the certificate fields */
	struct ct_token after; /* the token as written */
};

/* Inside the owner's transaction: the token must still be pending. */
static int
op_decide(struct ct_user_tokens *u, size_t i, void *ctx, struct ct_err *err)
{
	struct decision *d = ctx;
	struct ct_token *t = &u->tok[i];

	if (t->type != CT_TOKEN_CERT || strcmp(t->rollout_state, "pending") != 0)
		return ct_err_set(err, CT_EEXIST, "token %s is not pending (rollout state %s)",
		    t->serial, t->rollout_state);
	if (d->approve) {
		snprintf(t->rollout_state, sizeof(t->rollout_state), "enrolled");
		snprintf(t->cert_serial, sizeof(t->cert_serial), "%s", d->issued->cert_serial);
		t->not_after = d->issued->not_after;
		t->not_before = d->issued->not_before;
	} else {
		snprintf(t->rollout_state, sizeof(t->rollout_state), "rejected");
		t->active = 0;
	}
	d->after = *t;
	return CT_OK;
}

/* Issue request R with its target T's access-group CA: the certificate's
 * DER in *DER and its fields in *FIELDS. */
static int
issue_request(struct admin *ad, const struct ct_target *t, const struct ct_request *r,
    unsigned char **der, size_t *der_len, struct ct_token *fields)
{
	struct ct_attrs *attrs = NULL;
	unsigned char *spki = NULL;
	const unsigned char *p;
	size_t spki_len = 0;
	X509 *x = NULL;
	int rc;

	if ((rc = ct_csr_verify(r->csr, r->csr_len, &spki, &spki_len, &ad->err)) != CT_OK) {
		ct_err_prefix(&ad->err, "the stored CSR of token %s: ", r->token);
		goto out;
	}
	if ((rc = admin_attrs(ad, r->user, &attrs)) != CT_OK) {
		ct_err_prefix(&ad->err, "attributes of %s: ", r->user);
		goto out;
	}
	if ((rc = admin_sign(ad, t, attrs, spki, spki_len, der, der_len)) != CT_OK)
		goto out;
	p = *der;
	if ((x = d2i_X509(NULL, &p, (long)*der_len)) == NULL ||
	    ct_cert_serial_hex(x, fields->cert_serial) != CT_OK) {
		rc = ct_err_set(&ad->err, CT_ECRYPTO, "cannot read back the certificate");
		goto out;
	}
	{
		struct tm tm;

		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
			fields->not_after = (int64_t)timegm(&tm);
		if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
			fields->not_before = (int64_t)timegm(&tm);
	}
out:
	X509_free(x);
	ct_attrs_free(attrs);
	OPENSSL_free(spki);
	if (rc != CT_OK) {
		OPENSSL_free(*der);
		*der = NULL;
	}
	return rc;
}

int
admin_cmd_decide(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
	int approve = strcmp(argv[0], "approve") == 0, c, rc;
	const char *reason = NULL, *token;
	const struct ct_target *t;
	struct decision d = {0};
	struct ct_request r;
	struct ct_token fields;
	unsigned char *der = NULL;
	size_t der_len = 0;
	char user[CT_USER_MAX] = "", when[32];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || approve)
			return admin_usage_error(
			    approve ? "cert approve TOKEN" : "cert reject TOKEN [--reason TEXT]");
		reason = optarg;
	}
	if (optind + 1 != argc)
		return admin_usage_error(
		    approve ? "cert approve TOKEN" : "cert reject TOKEN [--reason TEXT]");
	token = argv[optind];
	memset(&r, 0, sizeof(r));
	memset(&fields, 0, sizeof(fields));
	if ((rc = admin_open_store(ad)) != CT_OK)
		return admin_fail(ad, rc);
	if ((rc = ct_request_load(ad->store, token, &r, &ad->err)) != CT_OK) {
		if (rc == CT_ENOENT || rc == CT_EINVAL) {
			ct_err_clear(&ad->err);
			rc = ct_err_set(&ad->err, CT_EINVAL,
			    "no pending request for token %s (see 'cert pending')", token);
		}
		goto out;
	}
	if ((t = ct_config_target(ad->cfg, r.target)) == NULL) {
		rc = ct_err_set(&ad->err, CT_ECONFIG,
		    "token %s: its target %s is no longer configured; reject it", token, r.target);
		if (approve)
			goto out;
		ct_err_clear(&ad->err);
	} else if (t->connector->type != CT_CONNECTOR_QUEUE) {
		rc = ct_err_set(&ad->err, CT_EINVAL,
		    "token %s waits for CA connector %s, whose CA decides (the user collects the "
		    "certificate with 'certtoken-enroll fetch')",
		    token, t->connector->name);
		goto out;
	}
	d.approve = approve;
	if (approve) {
		if ((rc = issue_request(ad, t, &r, &der, &der_len, &fields)) != CT_OK)
			goto out;
		d.issued = &fields;
		if ((rc = ct_certindex_add(ad->store, fields.cert_serial, r.user, t->name,
		         t->group->name, token, der, der_len, &ad->err)) != CT_OK)
			goto out;
	}
	if ((rc = admin_with_token(ad, token, op_decide, &d, user)) != CT_OK) {
		if (approve) /* never handed out: forget it */
			ct_certindex_remove(ad->store, fields.cert_serial);
		goto out;
	}
	if (strcmp(user, r.user) != 0)
		syslog(LOG_AUTHPRIV | LOG_WARNING,
		    "request of token %s names user %s, but the token belongs to %s", token, r.user,
		    user);
	if ((rc = ct_request_remove(ad->store, token, &ad->err)) != CT_OK)
		goto out;
	if (approve) {
		ct_time_utc(fields.not_after, CT_TIME_ISO, when, sizeof(when));
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		    "approved request of token %s of user %s (target %s): certificate serial %s, "
		    "by uid %u",
		    token, user, r.target, fields.cert_serial, (unsigned)getuid());
		printf("approved token %s of user %s: certificate serial %s, not after %s\n", token,
		    user, fields.cert_serial, when);
	} else {
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		    "rejected request of token %s of user %s (target %s) by uid %u%s%s", token,
		    user, r.target, (unsigned)getuid(), reason ? ": " : "", reason ? reason : "");
		printf("rejected token %s of user %s\n", token, user);
	}
	fflush(stdout);
	admin_fire(ad, approve ? "token_enrolled" : "cert_rejected", user, &d.after);
out:
	OPENSSL_free(der);
	ct_request_clear(&r);
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

/* Fire cert_expiring once per certificate: a mark file made with O_EXCL
 * says it was done. */
static int
expiring_user(void *ctx, const char *user)
{
	struct expiring *x = ctx;
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	char path[4400], when[32];
	size_t i;
	int fd;

	memset(&ut, 0, sizeof(ut));
	if (ct_tokens_peek(x->db, user, &ut, &err) != CT_OK) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		x->failed++;
		return 0;
	}
	for (i = 0; i < ut.n; i++) {
		const struct ct_token *t = &ut.tok[i];

		if (t->type != CT_TOKEN_CERT || !t->active ||
		    strcmp(t->rollout_state, "enrolled") != 0 || t->not_after <= (int64_t)x->now ||
		    t->not_after > (int64_t)x->until || t->cert_serial[0] == '\0')
			continue;
		snprintf(
		    path, sizeof(path), "%s/expiring-%s-%s", x->marks, t->serial, t->cert_serial);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) <
		    0) {
			if (errno != EEXIST) {
				fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
				x->failed++;
			}
			continue;
		}
		close(fd);
		ct_time_utc(t->not_after, CT_TIME_ISO, when, sizeof(when));
		printf("token %s of user %s: certificate %s expires %s\n", t->serial, user,
		    t->cert_serial, when);
		fflush(stdout);
		admin_fire(x->ad, "cert_expiring", user, t);
		x->count++;
	}
	ct_user_tokens_clear(&ut);
	return 0;
}

int
admin_cmd_expiring(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"within", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
	struct expiring x = {.ad = ad};
	long within = EXPIRING_DEFAULT;
	char *end;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		errno = 0;
		if (c != 'w' ||
		    (within = strtol(optarg, &end, 10),
		        errno != 0 || *end != '\0' || within < 1 || within > 366L * 86400))
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
