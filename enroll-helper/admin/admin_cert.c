/* certtoken-admin cert list|revoke and crl: the issued certificates. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin.h"
#include "util.h"
#include "certtoken.h"
#include "certindex.h"
#include "issue.h"
#include "store.h"
#include "tokens.h"

struct lister {
	const char *user;
	int json, count;
	time_t now;
	struct ct_revocation *revoked;
	size_t n_revoked;
};

static int
list_one(void *ctx, const struct ct_cert_entry *e)
{
	struct lister *l = ctx;
	const struct ct_revocation *r = ct_revoked_find(l->revoked, l->n_revoked, e->serial);
	const ASN1_TIME *na = X509_get0_notAfter(e->cert);
	struct tm tm;
	char when[32] = "?", ssh[24] = "";
	const char *state;

	if (l->user != NULL && strcmp(l->user, e->user) != 0)
		return 0;
	if (ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	state = r != NULL ? "revoked" : X509_cmp_time(na, &l->now) < 0 ? "expired" : "valid";
	if (l->json) {
		const char *keys[] = {"serial", "user", "target", "group", "token", "not_after",
		    "state", "ssh_serial"};
		const char *vals[] = {
		    e->serial, e->user, e->target, e->group, e->token, when, state, ssh};
		size_t k;

		if (e->ssh_serial != 0)
			snprintf(ssh, sizeof(ssh), "%" PRIu64, e->ssh_serial);

		printf("%s{", l->count ? ",\n " : " ");
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			printf("%s\"%s\":", k ? "," : "", keys[k]);
			ct_json_string(stdout, vals[k]);
		}
		putchar('}');
	} else
		printf("%-40s %-16s %-12s %-20s %-8s %s\n", e->serial, e->user, e->target, when,
		    state, e->token);
	l->count++;
	return 0;
}

static int
cmd_list(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
	    {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct lister l = {0};
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': l.user = optarg; break;
		case 'j': l.json = 1; break;
		default: return admin_usage_error("cert list [--user USER] [--json]");
		}
	}
	if (optind != argc)
		return admin_usage_error("cert list [--user USER] [--json]");
	if ((rc = admin_open_store(ad)) != CT_OK ||
	    (rc = ct_revoked_read(ad->store, &l.revoked, &l.n_revoked, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	l.now = time(NULL);
	if (l.json)
		printf("[\n");
	else
		printf("%-40s %-16s %-12s %-20s %-8s %s\n", "SERIAL", "USER", "TARGET", "NOT_AFTER",
		    "STATE", "TOKEN");
	rc = ct_certindex_foreach(ad->store, list_one, &l, &ad->err);
	if (l.json)
		printf("%s]\n", l.count ? "\n" : "");
	free(l.revoked);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

/* The access group of index entry E into *GROUP: its own, or (entries
 * from before the index named it) its target's. */
static int
entry_group(struct admin *ad, const struct ct_cert_entry *e, const char **group)
{
	const struct ct_target *t;

	*group = e->group;
	if (e->group[0] != '\0')
		return CT_OK;
	if ((t = ct_config_target(ad->cfg, e->target)) == NULL)
		return ct_err_set(&ad->err, CT_ECONFIG,
		    "certificate %s: its target %s is no longer configured, so its access group "
		    "is unknown",
		    e->serial, e->target);
	*group = t->group->name;
	return CT_OK;
}

/* Revoke E (of GROUP) with REASON and mark its token, through a store
 * opened with its token state (none when the store has no tokens). */
static int
revoke_entry(struct admin *ad, const struct ct_cert_entry *e, const char *group, int reason)
{
	struct ct_store *st = NULL;
	struct ct_token marked;
	struct ct_err terr = {0};
	int revoked = 0, rc, trc;

	trc = ct_store_open(ad->cfg, CT_STORE_TOKENS, &st, &terr);
	rc = ct_certtoken_revoke(trc == CT_OK ? st : ad->store, trc == CT_OK, e, group, reason,
	    time(NULL), &marked, &revoked, &ad->err);
	if (revoked && rc == CT_OK && trc != CT_OK && trc != CT_ENOENT) {
		rc = trc;
		ad->err = terr;
	}
	ct_store_close(st);
	if (!revoked)
		return rc;
	syslog(LOG_AUTHPRIV | LOG_NOTICE,
	    "revoked certificate serial %s of user %s (target %s, access group %s, reason %s) by "
	    "uid %u",
	    e->serial, e->user, e->target, group, ct_crl_reason_name(reason), (unsigned)getuid());
	printf("revoked certificate %s of user %s (access group %s)\n", e->serial, e->user, group);
	/* the revocation stands even if the token cannot be marked */
	if (rc != CT_OK)
		ct_err_prefix(&ad->err,
		    "certificate %s is revoked, but its token was not marked: ", e->serial);
	else if (marked.serial[0] != '\0') {
		fflush(stdout);
		admin_fire(ad, "token_revoked", e->user, &marked);
	}
	return rc;
}

static int
cmd_revoke(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
	struct ct_cert_entry e = {0};
	const char *group;
	int c, rc, reason = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || (reason = ct_crl_reason_parse(optarg)) < 0)
			return admin_usage_error(
			    "cert revoke SERIAL [--reason unspecified|keyCompromise|cACompromise|"
			    "affiliationChanged|superseded|cessationOfOperation]");
	}
	if (optind + 1 != argc)
		return admin_usage_error("cert revoke SERIAL [--reason REASON]");
	if ((rc = admin_open_store(ad)) != CT_OK ||
	    (rc = ct_certindex_get(ad->store, argv[optind], &e, &ad->err)) != CT_OK) {
		if (rc == CT_ENOENT) {
			ct_err_clear(&ad->err);
			ct_err_set(&ad->err, rc, "no certificate with serial %s in the index",
			    argv[optind]);
		}
		return admin_fail(ad, rc);
	}
	if ((rc = entry_group(ad, &e, &group)) == CT_OK)
		rc = revoke_entry(ad, &e, group, reason);
	ct_cert_entry_clear(&e);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

const struct admin_cmd admin_cert_cmds[] = {
    {"list", cmd_list, NULL,
        "  cert list [--user USER] [--json]  list issued certificates and their state\n"},
    {"revoke", cmd_revoke, NULL,
        "  cert revoke SERIAL [--reason R]   revoke a certificate (and its token)\n"},
    {"pending", admin_cmd_pending, NULL,
        "  cert pending [--json]             list requests waiting for approval\n"},
    {"approve", admin_cmd_decide, NULL,
        "  cert approve TOKEN                issue a queued request\n"},
    {"reject", admin_cmd_decide, NULL,
        "  cert reject TOKEN [--reason TEXT] reject a queued request\n"},
    {"expiring", admin_cmd_expiring, NULL,
        "  cert expiring [--within SECONDS]  run cert_expiring handlers (once per "
        "certificate)\n"},
    {NULL, NULL, NULL, NULL},
};

/* The revoked certificates one CRL lists. */
struct crl_entries {
	const char **serials;
	int64_t *when;
	int *reasons;
	size_t n;
};

static int
crl_entries_alloc(struct crl_entries *e, size_t n)
{
	e->serials = calloc(n + 1, sizeof(*e->serials));
	e->when = calloc(n + 1, sizeof(*e->when));
	e->reasons = calloc(n + 1, sizeof(*e->reasons));
	e->n = 0;
	return e->serials != NULL && e->when != NULL && e->reasons != NULL ? 0 : -1;
}

static void
crl_entries_add(struct crl_entries *e, const struct ct_revocation *r)
{
	e->serials[e->n] = r->serial;
	e->when[e->n] = r->when;
	e->reasons[e->n] = r->reason;
	e->n++;
}

static void
crl_entries_free(struct crl_entries *e)
{
	free(e->serials);
	free(e->when);
	free(e->reasons);
}

/* Which of the N CAS issued certificate SERIAL, by the index: the position of
 * the CA whose key identifier is the certificate's authority key identifier,
 * or -1 when the index cannot tell (no entry, unreadable, no AKI, another
 * CA). */
static int
issuer_of(struct ct_store *store, const char *serial, struct ct_ca *const *cas, size_t n)
{
	const ASN1_OCTET_STRING *aki, *ski;
	struct ct_cert_entry e;
	int found = -1;
	size_t i;

	if (ct_certindex_get(store, serial, &e, NULL) != CT_OK)
		return -1;
	aki = X509_get0_authority_key_id(e.cert);
	for (i = 0; aki != NULL && found < 0 && i < n; i++)
		if ((ski = X509_get0_subject_key_id(ct_ca_cert(cas[i]))) != NULL &&
		    ASN1_OCTET_STRING_cmp(aki, ski) == 0)
			found = (int)i;
	ct_cert_entry_clear(&e);
	return found;
}

/* Sort the N revocations in LIST of group G into the CRLs of the N_CAS CAS:
 * a certificate goes into the CRL of the CA that issued it, and into every
 * CRL when that cannot be told (a serial listed by a CA that did not issue
 * it harms nobody; a revoked certificate missing from its CA's CRL would). */
static int
crl_split(struct admin *ad, const struct ct_group *g, const struct ct_revocation *list, size_t n,
    struct ct_ca *const *cas, size_t n_cas, struct crl_entries *out)
{
	size_t i, c;
	int who;

	for (c = 0; c < n_cas; c++)
		if (crl_entries_alloc(&out[c], n) != 0)
			return ct_err_set(&ad->err, CT_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if (strcmp(list[i].group, g->name) != 0)
			continue;
		who = n_cas > 1 ? issuer_of(ad->store, list[i].serial, cas, n_cas) : -1;
		for (c = 0; c < n_cas; c++)
			if (who < 0 || (size_t)who == c)
				crl_entries_add(&out[c], &list[i]);
	}
	return CT_OK;
}

/* Publish the N CRLs in PEM (printed already) as GROUP's latest in the
 * store, after flushing the output: a failure says the CRL was printed. */
static int
crl_publish(struct admin *ad, const char *group, char *const *pem, size_t n)
{
	size_t len[2] = {strlen(pem[0]), n > 1 ? strlen(pem[1]) : 0};
	char *all = malloc(len[0] + len[1] + 1);
	int rc;

	fflush(stdout);
	if (all == NULL)
		return ct_err_set(&ad->err, CT_ENOMEM, "out of memory");
	memcpy(all, pem[0], len[0]);
	if (n > 1)
		memcpy(all + len[0], pem[1], len[1]);
	if ((rc = ct_crl_publish(ad->store, group, all, len[0] + len[1], &ad->err)) != CT_OK)
		ct_err_prefix(&ad->err, "the CRL was printed but not published in the store: ");
	free(all);
	return rc;
}

/* crl GROUP --published: print the CRL last published for G. */
static int
crl_print_published(struct admin *ad, const struct ct_group *g)
{
	unsigned char *pem = NULL;
	size_t len = 0;
	int rc;

	if ((rc = admin_open_ca_store(ad, g->name)) == CT_OK &&
	    (rc = ct_crl_published(ad->store, g->name, &pem, &len, &ad->err)) == CT_ENOENT) {
		ct_err_clear(&ad->err);
		ct_err_set(&ad->err, rc,
		    "no CRL of access group '%s' was published yet (run: " PROG " crl %s)", g->name,
		    g->name);
	}
	if (rc == CT_OK)
		fwrite(pem, 1, len, stdout);
	free(pem);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

int
admin_cmd_crl(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {{"hours", required_argument, NULL, 'H'},
	    {"published", no_argument, NULL, 'P'}, {NULL, 0, NULL, 0}};
	struct crl_entries e[2] = {{0}};
	struct ct_revocation *list = NULL;
	const struct ct_group *g;
	struct ct_ca *cas[2] = {NULL, NULL};
	char *pem[2] = {NULL, NULL};
	time_t now = time(NULL);
	int64_t number = 0;
	long hours = 24;
	size_t n = 0, c, n_cas;
	int opt, rc, published = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'P')
			published = 1;
		else if (opt != 'H' || ct_parse_long(optarg, 1, 8760, &hours) != 0)
			return admin_usage_error("crl GROUP [--hours 1..8760 | --published]");
	}
	if (optind + 1 != argc)
		return admin_usage_error("crl GROUP [--hours N | --published]");
	if ((rc = admin_load_config(ad)) != CT_OK)
		return admin_fail(ad, rc);
	if ((g = ct_config_group(ad->cfg, argv[optind])) == NULL) {
		ct_err_set(&ad->err, CT_EINVAL, "access group '%s' is not defined in %s",
		    argv[optind], ad->cfg->path);
		return admin_fail(ad, CT_EINVAL);
	}
	if (published)
		return crl_print_published(ad, g);
	/* during a rotation's overlap both CAs are trusted: a CRL from each */
	if ((rc = admin_open_ca_store(ad, g->name)) != CT_OK ||
	    (rc = ct_ca_load_trusted(ad->store, g, now, &cas[0], &cas[1], &ad->err)) != CT_OK ||
	    (rc = ct_revoked_read(ad->store, &list, &n, &ad->err)) != CT_OK)
		goto out;
	n_cas = cas[1] != NULL ? 2 : 1;
	/* numbers taken per group: they grow even for CRLs of one second */
	if ((rc = crl_split(ad, g, list, n, cas, n_cas, e)) != CT_OK ||
	    (rc = ct_crl_number_take(ad->store, g->name, now, (int)n_cas, &number, &ad->err)) !=
	        CT_OK)
		goto out;
	for (c = 0; c < n_cas && rc == CT_OK; c++)
		rc = ct_crl_make(cas[c], e[c].serials, e[c].when, e[c].reasons, e[c].n, now,
		    hours * 3600, number + (int64_t)c, &pem[c], &ad->err);
	for (c = 0; c < n_cas && rc == CT_OK; c++)
		fputs(pem[c], stdout);
	if (rc == CT_OK)
		rc = crl_publish(ad, g->name, pem, n_cas);
out:
	for (c = 0; c < 2; c++) {
		free(pem[c]);
		crl_entries_free(&e[c]);
		ct_ca_free(cas[c]);
	}
	free(list);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}
