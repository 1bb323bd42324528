/* certtoken-admin store check|migrate: a store's consistency, and a whole
 * store copied into another backend and verified (lib/storecopy.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "util.h"
#include "conf.h"
#include "ct.h"
#include "store.h"
#include "storecopy.h"

#define REQUEST_AGE_DAYS 30 /* store check: a request waiting longer is reported */
#define REQUEST_AGE_MAX 3650

/* Each difference or inconsistency: one line on standard output. */
static void
print_line(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

/* Open the store CFG names with FLAGS and its token state, or without the
 * token state when it has none yet (no token was ever made). */
static int
open_whole(const struct ct_config *cfg, unsigned flags, struct ct_store **st, struct ct_err *err)
{
	int rc = ct_store_open(cfg, flags | CT_STORE_TOKENS, st, err);

	if (rc == CT_ENOENT && !(flags & CT_STORE_CREATE)) {
		ct_err_clear(err);
		rc = ct_store_open(cfg, flags, st, err);
	}
	return rc;
}

static int
cmd_check(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"request-age", required_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
	long days = REQUEST_AGE_DAYS;
	int c, rc, n;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'a' || ct_parse_long(optarg, 0, REQUEST_AGE_MAX, &days) != 0)
			return admin_usage_error(
			    "store check [--request-age 0..%d]", REQUEST_AGE_MAX);
	}
	if (optind != argc)
		return admin_usage_error("store check takes no arguments but --request-age");
	if ((rc = admin_load_config(ad)) != CT_OK ||
	    (rc = open_whole(ad->cfg, CT_STORE_PRIMARY, &ad->store, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	n = ct_store_check(ad->store, time(NULL), days * 86400, print_line, NULL, &ad->err);
	if (n < 0)
		return admin_fail(ad, n);
	if (n > 0) {
		fflush(stdout);
		fprintf(stderr, PROG ": store check: %d inconsistenc%s found\n", n,
		    n == 1 ? "y" : "ies");
		return 1;
	}
	printf("the %s store is consistent\n", ad->cfg->store_backend);
	return 0;
}

/* The destination's configuration: FILE (or the source's file again) with
 * store.backend replaced by TO. */
static int
load_destination(struct admin *ad, const char *file, const char *to, struct ct_config **out)
{
	char names[128];
	char *backend;
	int rc;

	if (!ct_store_backend_known(to, names, sizeof(names)))
		return ct_err_set(
		    &ad->err, CT_EUSAGE, "unknown store backend '%s' (known: %s)", to, names);
	rc = ct_config_load(file != NULL ? file : ad->config_path,
	    file != NULL || ad->config_explicit, out, NULL, &ad->err);
	if (rc != CT_OK)
		return rc;
	if ((backend = strdup(to)) == NULL)
		return ct_err_set(&ad->err, CT_ENOMEM, "out of memory");
	free((*out)->store_backend);
	(*out)->store_backend = backend;
	/* the same files store twice would copy a store onto itself */
	if (strcmp(ad->cfg->store_backend, to) == 0 &&
	    (file == NULL || strcmp(ad->cfg->store_path, (*out)->store_path) == 0))
		return ct_err_set(&ad->err, CT_EUSAGE,
		    "the destination is the source (backend %s%s%s); name another backend or "
		    "--config-to",
		    to, strcmp(to, "files") == 0 ? ", path " : "",
		    strcmp(to, "files") == 0 ? ad->cfg->store_path : "");
	return CT_OK;
}

/* Copy AD's store into DST, then compare: the exit status. */
static int
migrate(struct admin *ad, struct ct_store *dst, const char *to)
{
	struct ct_storecopy_stats n;
	int rc, diff;

	if ((rc = ct_storecopy_copy(ad->store, dst, ad->cfg, &n, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	printf("copied into the %s store: tokens of %zu users, %zu index entries, %zu "
	       "revocations, %zu pending requests, %zu uploads, %zu CAs, %zu CRLs\n",
	    to, n.users, n.certs, n.revocations, n.requests, n.uploads, n.groups, n.crls);
	syslog(LOG_AUTHPRIV | LOG_NOTICE,
	    "store migrate from %s to %s: tokens of %zu users, %zu index entries, %zu "
	    "revocations, %zu requests, %zu uploads, %zu CAs copied, by uid %u",
	    ad->cfg->store_backend, to, n.users, n.certs, n.revocations, n.requests, n.uploads,
	    n.groups, (unsigned)getuid());
	if ((diff = ct_storecopy_compare(ad->store, dst, ad->cfg, print_line, NULL, &ad->err)) < 0)
		return admin_fail(ad, diff);
	if (diff > 0) {
		fflush(stdout);
		fprintf(stderr,
		    PROG ": store migrate: the %s store differs from the source in %d place%s\n",
		    to, diff, diff == 1 ? "" : "s");
		return ct_exit_status(CT_EINVAL);
	}
	printf(
	    "verified: the %s store holds what the %s store holds\n", to, ad->cfg->store_backend);
	return 0;
}

static int
cmd_migrate(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {{"to", required_argument, NULL, 't'},
	    {"config-to", required_argument, NULL, 'C'}, {NULL, 0, NULL, 0}};
	const char *to = NULL, *file = NULL;
	struct ct_config *dcfg = NULL;
	struct ct_store *dst = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't')
			to = optarg;
		else if (c == 'C')
			file = optarg;
		else
			return admin_usage_error("store migrate --to BACKEND [--config-to FILE]");
	}
	if (to == NULL || optind != argc)
		return admin_usage_error("store migrate --to BACKEND [--config-to FILE]");
	if ((rc = admin_load_config(ad)) == CT_OK &&
	    (rc = load_destination(ad, file, to, &dcfg)) == CT_OK &&
	    (rc = open_whole(ad->cfg, CT_STORE_PRIMARY, &ad->store, &ad->err)) == CT_OK &&
	    (rc = ct_store_open(dcfg, CT_STORE_CREATE | CT_STORE_TOKENS | CT_STORE_PRIMARY, &dst,
	         &ad->err)) != CT_OK)
		ct_err_prefix(&ad->err, "the destination (%s store): ", to);
	if (rc == CT_OK)
		rc = migrate(ad, dst, to);
	else
		rc = rc == CT_EUSAGE ? admin_usage_error("%s", ad->err.msg) : admin_fail(ad, rc);
	ct_store_close(dst);
	ct_config_free(dcfg);
	return rc;
}

const struct admin_cmd admin_store_cmds[] = {
    {"check", cmd_check, NULL,
        "  store check [--request-age DAYS]  report inconsistencies in the store (exit 1)\n"},
    {"migrate", cmd_migrate, NULL,
        "  store migrate --to BACKEND [--config-to FILE]\n"
        "                                    copy the whole store into another backend and "
        "verify it\n"},
    {NULL, NULL, NULL, NULL},
};
