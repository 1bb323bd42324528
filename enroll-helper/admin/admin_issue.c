/* certtoken-admin check-config, render and issue: the configuration and
 * what it issues. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "admin.h"
#include "certindex.h"
#include "conf.h"
#include "ct.h"
#include "issue.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

/* Read FILE ("-" is standard input) into memory, at most MAX bytes. */
static int
read_input(const char *file, size_t max, unsigned char **out, size_t *len, struct ct_err *err)
{
	struct ct_open_policy pol = {CT_OWNER_ANY, 0, 0, max, 1, 0, NULL};
	unsigned char *buf;
	size_t n;
	int rc;

	if (strcmp(file, "-") != 0) {
		rc = ct_safe_read(file, &pol, out, len, err);
		return rc == CT_OK || rc == CT_ENOMEM ? rc : CT_EINVAL;
	}
	if ((buf = malloc(max + 1)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	n = fread(buf, 1, max + 1, stdin);
	if (n > max) {
		free(buf);
		return ct_err_set(err, CT_EINVAL, "%s: larger than %zu bytes", file, max);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return CT_OK;
}

int
admin_cmd_check_config(struct admin *ad, int argc, char **argv)
{
	struct ct_diag diag = {0};
	struct ct_config *cfg = NULL;
	size_t i;
	int rc;

	if (argc != 1) /* it takes no arguments: then it is no command */
		return admin_usage_error("unknown command '%s'", argv[0]);
	rc = ct_config_load(ad->config_path, ad->config_explicit, &cfg, &diag, &ad->err);
	for (i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.msg[i]);
	if (diag.dropped > 0)
		fprintf(stderr, "(%zu more problems not shown)\n", diag.dropped);
	if (rc == CT_OK)
		printf(
		    "%s: OK (%zu access groups, %zu templates, %zu targets, attributes from %s)\n",
		    cfg->path, cfg->n_groups, cfg->n_templates, cfg->n_targets,
		    cfg->attributes.source == CT_ATTR_SOURCE_LDAP ? "ldap" : "passwd");
	else
		fprintf(stderr, PROG ": %zu problem%s in the configuration\n",
		    diag.n + diag.dropped, diag.n + diag.dropped == 1 ? "" : "s");
	ct_diag_clear(&diag);
	ct_config_free(cfg);
	return ct_exit_status(rc);
}

struct issue_args {
	const char *user, *target, *pubkey, *csr;
};

static int
parse_issue_args(int argc, char **argv, struct issue_args *a, int want_key)
{
	const struct ct_opt opts[] = {{"user", &a->user, NULL}, {"target", &a->target, NULL},
	    {"pubkey", &a->pubkey, NULL}, {"csr", &a->csr, NULL}, {NULL, NULL, NULL}};

	if (ct_opts_parse(argc, argv, opts) != CT_OK)
		return -1;
	if (optind != argc || a->user == NULL || a->target == NULL)
		return admin_usage_error("--user and --target are required"), -1;
	if (want_key && (a->pubkey == NULL) == (a->csr == NULL))
		return admin_usage_error("give exactly one of --pubkey FILE or --csr FILE"), -1;
	if (!want_key && (a->pubkey != NULL || a->csr != NULL))
		return admin_usage_error("render takes no key"), -1;
	return 0;
}

/* Load the configuration, the target and the user's attributes. */
static int
prepare(struct admin *ad, const struct issue_args *a, const struct ct_target **t,
    struct ct_attrs **attrs)
{
	int rc;

	if ((rc = admin_load_config(ad)) != CT_OK)
		return rc;
	if ((*t = ct_config_target(ad->cfg, a->target)) == NULL)
		return ct_err_set(&ad->err, CT_ENOENT, "target '%s' is not defined in %s",
		    a->target, ad->cfg->path);
	return admin_attrs(ad, a->user, attrs);
}

int
admin_cmd_render(struct admin *ad, int argc, char **argv)
{
	struct issue_args a = {0};
	const struct ct_target *t;
	struct ct_attrs *attrs = NULL;
	char *text = NULL;
	int rc;

	if (parse_issue_args(argc, argv, &a, 0) != 0)
		return ct_exit_status(CT_EUSAGE);
	if ((rc = prepare(ad, &a, &t, &attrs)) == CT_OK &&
	    (rc = ct_render(t, attrs, &text, &ad->err)) == CT_OK)
		fputs(text, stdout);
	free(text);
	ct_attrs_free(attrs);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

/* Read the --pubkey or --csr input and give the validated SPKI. */
static int
read_key(struct admin *ad, const struct issue_args *a, unsigned char **spki, size_t *len)
{
	const char *file = a->pubkey != NULL ? a->pubkey : a->csr;
	unsigned char *data = NULL;
	size_t n = 0;
	int rc;

	if ((rc = read_input(file, CT_CSR_MAX, &data, &n, &ad->err)) != CT_OK)
		return rc;
	rc = a->pubkey != NULL ? ct_spki_from_pem(data, n, spki, len, &ad->err)
	                       : ct_csr_verify(data, n, spki, len, &ad->err);
	if (rc != CT_OK)
		ct_err_prefix(&ad->err, "%s: ", file);
	free(data);
	return rc;
}

/* Record the certificate in the issued-certificate index (no token), so
 * that it can be listed and revoked like an enrolled one, and audit it. */
static int
record_issue(struct admin *ad, const struct issue_args *a, const struct ct_target *t,
    const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	char serial[CT_CERT_SERIAL_MAX];
	int rc;

	if (x == NULL || ct_cert_serial_hex(x, serial) != CT_OK)
		rc = ct_err_set(&ad->err, CT_ECRYPTO, "cannot read back the issued certificate");
	else if ((rc = admin_open_store(ad)) == CT_OK)
		rc = ct_certindex_add(ad->store, serial,
		    ct_tokens_user_valid(a->user) ? a->user : "-", t->name, t->group->name, "-",
		    der, len, &ad->err);
	if (rc == CT_OK)
		syslog(LOG_AUTHPRIV | LOG_INFO,
		    "issued certificate serial %s for user %s, target %s, access group %s, by uid "
		    "%u",
		    serial, a->user, t->name, t->group->name, (unsigned)getuid());
	X509_free(x);
	return rc;
}

int
admin_cmd_issue(struct admin *ad, int argc, char **argv)
{
	struct issue_args a = {0};
	const struct ct_target *t = NULL;
	struct ct_attrs *attrs = NULL;
	unsigned char *spki = NULL, *der = NULL;
	size_t spki_len = 0, der_len = 0;
	int rc;

	if (parse_issue_args(argc, argv, &a, 1) != 0)
		return ct_exit_status(CT_EUSAGE);
	if ((rc = prepare(ad, &a, &t, &attrs)) != CT_OK ||
	    (rc = read_key(ad, &a, &spki, &spki_len)) != CT_OK ||
	    (rc = admin_sign(ad, t, attrs, spki, spki_len, &der, &der_len)) != CT_OK)
		goto out;
	if ((rc = record_issue(ad, &a, t, der, der_len)) != CT_OK)
		goto out;
	PEM_write(stdout, PEM_STRING_X509, "", der, (long)der_len);
out:
	OPENSSL_free(der);
	OPENSSL_free(spki);
	ct_attrs_free(attrs);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}
