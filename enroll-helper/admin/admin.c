/* certtoken-admin: the root administrator's tool. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "admin.h"
#include "attrsrc.h"
#include "events.h"
#include "certindex.h"
#include "tokens.h"
#include "conf.h"
#include "ct.h"
#include "issue.h"
#include "store.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] COMMAND [ARGS]\n"
	    "commands:\n"
	    "  check-config                      validate the configuration, report every problem\n"
	    "  ca init GROUP [--key-type TYPE]   create the access group's CA\n"
	    "  ca export GROUP                   print the trusted CA certificates (PEM bundle)\n"
	    "  ca rotate GROUP --prepare [--replace] [--key-type TYPE]\n"
	    "                                    make the next CA: exported and trusted, not yet "
	    "signing\n"
	    "  ca rotate GROUP [--overlap-hours N] [--key-type TYPE]\n"
	    "                                    replace the CA by the prepared one (else a new "
	    "one);\n"
	    "                                    the old one stays trusted N hours (24)\n"
	    "  render --user USER --target TARGET\n"
	    "                                    print the expanded subject and SANs\n"
	    "  issue --user USER --target TARGET (--pubkey FILE | --csr FILE)\n"
	    "                                    issue a certificate, print it as PEM\n"
	    "  token init --user USER [--type totp|hotp] [--algo sha1|sha256|sha512]\n"
	    "             [--digits N] [--period SECONDS] [--secret BASE32] [--description TEXT]\n"
	    "                                    create an OTP token; print its serial and otpauth "
	    "URI\n"
	    "  token list [--user USER] [--json] list tokens and their state\n"
	    "  token enable|disable|delete|reset SERIAL\n"
	    "                                    change a token (reset clears failures and lock)\n"
	    "  token resync SERIAL CODE1 CODE2   find an HOTP token's counter from two codes\n"
	    "  cert list [--user USER] [--json]  list issued certificates and their state\n"
	    "  cert revoke SERIAL [--reason R]   revoke a certificate (and its token)\n"
	    "  cert pending [--json]             list requests waiting for approval\n"
	    "  cert approve TOKEN                issue a queued request\n"
	    "  cert reject TOKEN [--reason TEXT] reject a queued request\n"
	    "  cert expiring [--within SECONDS]  run cert_expiring handlers (once per "
	    "certificate)\n"
	    "  crl GROUP [--hours N]             print the access group's CRL (next update in N "
	    "hours, 24)\n"
	    "TYPE: ec-p256 ec-p384 ed25519 rsa2048 rsa3072 rsa4096\n");
}

int
admin_fail(struct admin *ad, int code)
{
	if (ad->err.msg[0] != '\0')
		fprintf(stderr, PROG ": %s\n", ad->err.msg);
	return ct_exit_status(code);
}

int
admin_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try '" PROG " --help')\n");
	return ct_exit_status(CT_EUSAGE);
}

int
admin_load_config(struct admin *ad)
{
	if (ad->cfg != NULL)
		return CT_OK;
	return ct_config_load(ad->config_path, ad->config_explicit, &ad->cfg, NULL, &ad->err);
}

int
admin_open_store(struct admin *ad)
{
	int rc;

	if (ad->store != NULL)
		return CT_OK;
	if ((rc = admin_load_config(ad)) != CT_OK)
		return rc;
	return ct_store_open(ad->cfg, 0, &ad->store, &ad->err);
}

int
admin_attrs(struct admin *ad, const char *user, struct ct_attrs **out)
{
	struct ct_attrsrc *src = NULL;
	int rc;

	if ((rc = ct_attrsrc_open(&ad->cfg->attributes, &src, &ad->err)) == CT_OK)
		rc = ct_attrsrc_lookup(src, user, out, &ad->err);
	ct_attrsrc_close(src);
	return rc;
}

int
admin_sign(struct admin *ad, const struct ct_target *t, const struct ct_attrs *attrs,
    const unsigned char *spki, size_t spki_len, unsigned char **der, size_t *der_len)
{
	struct ct_issuer *is = NULL;
	struct ct_ca *ca = NULL;
	int rc;

	if ((rc = ct_ca_load(ad->cfg->store_path, t->group, &ca, &ad->err)) == CT_OK &&
	    (rc = ct_issuer_new(t, ca, &is, &ad->err)) == CT_OK)
		rc = ct_issue(is, attrs, spki, spki_len, time(NULL), der, der_len, &ad->err);
	ct_issuer_free(is);
	ct_ca_free(ca);
	return rc;
}

static void
admin_event_log(void *arg, int prio, const char *line)
{
	(void)arg;
	syslog(LOG_AUTHPRIV | prio, "%s", line);
	if (prio <= LOG_WARNING)
		fprintf(stderr, PROG ": %s\n", line);
}

void
admin_fire(struct admin *ad, const char *event, const char *user, const struct ct_token *t)
{
	struct ct_event_ctx ctx = {event, user, t, NULL, t->issuer};
	struct ct_attrs *attrs = NULL;

	if (ad->cfg == NULL || ad->cfg->n_events == 0)
		return;
	if (ct_events_need_attrs(ad->cfg, event)) {
		if (admin_attrs(ad, user, &attrs) == CT_OK)
			ctx.attrs = attrs;
		else
			fprintf(stderr, PROG ": event %s: attributes of %s: %s\n", event, user,
			    ad->err.msg);
		ct_err_clear(&ad->err);
	}
	ct_events_fire(ad->cfg, &ctx, admin_event_log, NULL);
	ct_attrs_free(attrs);
}

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

static int
cmd_check_config(struct admin *ad)
{
	struct ct_diag diag = {0};
	struct ct_config *cfg = NULL;
	size_t i;
	int rc;

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

static const struct ct_group *
find_group(struct admin *ad, const char *name)
{
	const struct ct_group *g = ct_config_group(ad->cfg, name);

	if (g == NULL)
		ct_err_set(&ad->err, CT_ENOENT, "access group '%s' is not defined in %s", name,
		    ad->cfg->path);
	return g;
}

static int
cmd_ca_init(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key-type", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
	const struct ct_group *g;
	struct ct_group copy;
	const char *kt = NULL;
	int c, rc, t;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'k')
			return ct_exit_status(CT_EUSAGE);
		kt = optarg;
	}
	if (optind + 1 != argc)
		return admin_usage_error("ca init takes one GROUP");
	if ((rc = admin_load_config(ad)) != CT_OK || (g = find_group(ad, argv[optind])) == NULL)
		return admin_fail(ad, rc ? rc : CT_ENOENT);
	copy = *g;
	if (kt != NULL && (t = ct_key_type_parse(kt)) < 0)
		return admin_usage_error("unknown key type '%s'", kt);
	if (kt != NULL)
		copy.key_type = (enum ct_key_type)t;
	if ((rc = ct_ca_init(ad->cfg->store_path, &copy, time(NULL), &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "created the CA of access group %s (%s)", copy.name,
	    ct_key_type_name(copy.key_type));
	printf("created the CA of access group '%s' (%s) in %s\n", copy.name,
	    ct_key_type_name(copy.key_type), ad->cfg->store_path);
	return 0;
}

static int
cmd_ca_export(struct admin *ad, int argc, char **argv)
{
	const struct ct_group *g;
	STACK_OF(X509) *anchors = NULL;
	int i, rc;

	if (argc != 2)
		return admin_usage_error("ca export takes one GROUP");
	if ((rc = admin_load_config(ad)) != CT_OK || (g = find_group(ad, argv[1])) == NULL)
		return admin_fail(ad, rc ? rc : CT_ENOENT);
	/* the bundle: the current CA, then the previous one during an overlap */
	if ((rc = ct_ca_trust(ad->cfg->store_path, g, time(NULL), &anchors, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	for (i = 0; i < sk_X509_num(anchors); i++)
		PEM_write_X509(stdout, sk_X509_value(anchors, i));
	sk_X509_pop_free(anchors, X509_free);
	return 0;
}

/* --overlap-hours: a whole number of hours, 0 to a year. */
static int
parse_overlap_hours(const char *s, long *out)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > CT_OVERLAP_MAX / 3600)
		return -1;
	*out = v;
	return 0;
}

/* T as ISO 8601 UTC into BUF. */
static const char *
iso_time(time_t t, char buf[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "@%lld", (long long)t);
	return buf;
}

/* X's serial and SHA-256 fingerprint, as "serial S, SHA-256 fingerprint F",
 * into BUF. */
static const char *
cert_id(X509 *x, char *buf, size_t size)
{
	char serial[CT_CERT_SERIAL_MAX] = "?", fp[3 * EVP_MAX_MD_SIZE + 1] = "";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	(void)ct_cert_serial_hex(x, serial);
	if (X509_digest(x, EVP_sha256(), md, &n) == 1 && n > 0) {
		for (i = 0; i < n; i++)
			snprintf(fp + 3 * i, sizeof(fp) - 3 * i, "%02X:", md[i]);
		fp[3 * n - 1] = '\0';
	}
	snprintf(buf, size, "serial %s, SHA-256 fingerprint %s", serial, fp);
	return buf;
}

/* The key type of CA certificate X, by its key. */
static const char *
ca_key_type(X509 *x)
{
	int t = ct_pkey_type(X509_get0_pubkey(x));

	return t < 0 ? "unknown key type" : ct_key_type_name((enum ct_key_type)t);
}

/* Tell the administrator what rotation R of group G at NOW did, and what to do. */
static void
print_rotation(const struct ct_group *g, const struct ct_rotation *r, time_t now)
{
	char id[256], when[32];

	printf("rotated the CA of access group '%s' (%s) to %s\n", g->name, ca_key_type(r->cert),
	    r->prepared ? "the prepared CA" : "a new CA (none was prepared)");
	printf("new CA:      %s\n", cert_id(r->cert, id, sizeof(id)));
	if (r->until > now)
		printf("previous CA: %s\n             trusted until %s (%lld hour%s)\n",
		    cert_id(r->previous, id, sizeof(id)), iso_time(r->until, when),
		    (long long)(r->until - now) / 3600, r->until - now == 3600 ? "" : "s");
	else
		printf("previous CA: %s\n             no longer trusted\n",
		    cert_id(r->previous, id, sizeof(id)));
	if (r->dropped != NULL)
		printf("dropped CA:  %s\n             (rotated out before, trusted until %s) no "
		       "longer trusted\n",
		    cert_id(r->dropped, id, sizeof(id)), iso_time(r->dropped_until, when));
	if (r->prepared)
		printf("targets that installed '" PROG " ca export %s' since it was prepared "
		       "accept the new CA's certificates;\n",
		    g->name);
	printf("install the output of '" PROG " ca export %s' on the group's targets %s\n", g->name,
	    r->until > now ? (r->prepared ? "that have not, and again after the overlap"
	                                  : "before the overlap ends")
	                   : "now: they refuse certificates of the previous CA");
}

/* Log rotation R of group G at NOW to syslog. */
static void
audit_rotation(const struct ct_group *g, const struct ct_rotation *r, time_t now)
{
	char serial[CT_CERT_SERIAL_MAX] = "?", prev[CT_CERT_SERIAL_MAX] = "?";
	char dropped[CT_CERT_SERIAL_MAX] = "", when[32], trust[64] = "no longer trusted";

	(void)ct_cert_serial_hex(r->cert, serial);
	(void)ct_cert_serial_hex(r->previous, prev);
	if (r->dropped != NULL)
		(void)ct_cert_serial_hex(r->dropped, dropped);
	if (r->until > now)
		snprintf(trust, sizeof(trust), "trusted until %s", iso_time(r->until, when));
	syslog(LOG_AUTHPRIV | LOG_NOTICE,
	    "rotated the CA of access group %s (%s) to %s: new CA serial %s, previous CA serial %s "
	    "%s%s%s, by uid %u",
	    g->name, ca_key_type(r->cert), r->prepared ? "the prepared CA" : "a new CA", serial,
	    prev, trust, r->dropped != NULL ? ", dropped the CA before it, serial " : "", dropped,
	    (unsigned)getuid());
}

/* Tell the administrator, and syslog, that group G has the next CA NEXT,
 * replacing the prepared CA REPLACED (or NULL). */
static void
report_prepared(const struct ct_group *g, X509 *next, X509 *replaced)
{
	char id[256], when[32], serial[CT_CERT_SERIAL_MAX] = "?", old[CT_CERT_SERIAL_MAX] = "";
	struct tm tm;

	printf("prepared the next CA of access group '%s' (%s)\n", g->name, ca_key_type(next));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(next), &tm) != 1 ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(when, "?");
	printf("next CA:     %s\n             valid until %s, signs nothing until '" PROG
	       " ca rotate %s'\n",
	    cert_id(next, id, sizeof(id)), when, g->name);
	if (replaced != NULL)
		printf("replaced:    %s\n             (prepared before) discarded, no longer "
		       "trusted\n",
		    cert_id(replaced, id, sizeof(id)));
	printf("install the output of '" PROG " ca export %s' on the group's targets now;\n"
	       "once they all have it, run '" PROG " ca rotate %s'\n",
	    g->name, g->name);
	(void)ct_cert_serial_hex(next, serial);
	if (replaced != NULL)
		(void)ct_cert_serial_hex(replaced, old);
	syslog(LOG_AUTHPRIV | LOG_NOTICE,
	    "prepared the next CA of access group %s (%s): serial %s%s%s, by uid %u", g->name,
	    ca_key_type(next), serial,
	    replaced != NULL ? ", replacing the prepared CA serial " : "", old, (unsigned)getuid());
}

/* ca rotate GROUP --prepare: make group G's next CA (of G's key type). */
static int
ca_prepare(struct admin *ad, const struct ct_group *g, int replace)
{
	X509 *next = NULL, *replaced = NULL;
	int rc;

	if ((rc = ct_ca_prepare(
	         ad->cfg->store_path, g, time(NULL), replace, &next, &replaced, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	report_prepared(g, next, replaced);
	X509_free(next);
	X509_free(replaced);
	return 0;
}

/* ca rotate GROUP: to the prepared CA, or to a new one of G's key type; a
 * key type given (KEY_TYPE) asks for a new one. */
static int
ca_rotate(struct admin *ad, const struct ct_group *g, long hours, int key_type)
{
	struct ct_rotation r = {0};
	time_t now = time(NULL);
	int rc;

	rc = ct_ca_rotate(ad->cfg->store_path, g, now, hours * 3600,
	    key_type ? CT_ROTATE_GENERATE : 0, &r, &ad->err);
	/* --key-type only applies to a CA made now: with a prepared one it is misused */
	if (rc == CT_EEXIST && key_type) {
		ct_err_prefix(&ad->err, "--key-type asks for a new CA, but ");
		rc = CT_EUSAGE;
	}
	if (rc != CT_OK)
		return admin_fail(ad, rc);
	audit_rotation(g, &r, now);
	print_rotation(g, &r, now);
	ct_rotation_clear(&r);
	return 0;
}

static int
cmd_ca_rotate(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {{"key-type", required_argument, NULL, 'k'},
	    {"overlap-hours", required_argument, NULL, 'o'}, {"prepare", no_argument, NULL, 'p'},
	    {"replace", no_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
	const struct ct_group *g;
	struct ct_group copy;
	const char *kt = NULL, *overlap = NULL;
	long hours = 24;
	int c, rc, t = 0, prepare = 0, replace = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'k')
			kt = optarg;
		else if (c == 'p')
			prepare = 1;
		else if (c == 'r')
			replace = 1;
		else if (c != 'o' || parse_overlap_hours((overlap = optarg), &hours) != 0)
			return admin_usage_error("ca rotate GROUP [--prepare [--replace]] "
			                         "[--overlap-hours 0..%ld] [--key-type TYPE]",
			    CT_OVERLAP_MAX / 3600);
	}
	if (optind + 1 != argc)
		return admin_usage_error("ca rotate takes one GROUP");
	if (prepare && overlap != NULL)
		return admin_usage_error(
		    "--overlap-hours belongs to the rotation, not to --prepare");
	if (replace && !prepare)
		return admin_usage_error("--replace only goes with --prepare");
	if (kt != NULL && (t = ct_key_type_parse(kt)) < 0)
		return admin_usage_error("unknown key type '%s'", kt);
	if ((rc = admin_load_config(ad)) != CT_OK || (g = find_group(ad, argv[optind])) == NULL)
		return admin_fail(ad, rc ? rc : CT_ENOENT);
	copy = *g;
	if (kt != NULL)
		copy.key_type = (enum ct_key_type)t;
	return prepare ? ca_prepare(ad, &copy, replace) : ca_rotate(ad, &copy, hours, kt != NULL);
}

static int
cmd_ca(struct admin *ad, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return cmd_ca_init(ad, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "export") == 0)
		return cmd_ca_export(ad, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "rotate") == 0)
		return cmd_ca_rotate(ad, argc - 1, argv + 1);
	return admin_usage_error("ca needs init, export or rotate");
}

struct issue_args {
	const char *user, *target, *pubkey, *csr;
};

static int
parse_issue_args(int argc, char **argv, struct issue_args *a, int want_key)
{
	static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
	    {"target", required_argument, NULL, 't'}, {"pubkey", required_argument, NULL, 'p'},
	    {"csr", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': a->user = optarg; break;
		case 't': a->target = optarg; break;
		case 'p': a->pubkey = optarg; break;
		case 'r': a->csr = optarg; break;
		default: return -1;
		}
	}
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

static int
cmd_render(struct admin *ad, int argc, char **argv)
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

static int
cmd_issue(struct admin *ad, int argc, char **argv)
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct admin ad = {0};
	const char *cmd;
	int c, rc;

	umask(077);
	ad.config_path = ct_config_default_path();
	ad.config_explicit =
	    getenv("CERTTOKEN_CONF") != NULL && getenv("CERTTOKEN_CONF")[0] != '\0';
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ad.config_path = optarg;
			ad.config_explicit = 1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return ct_exit_status(CT_EUSAGE);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return ct_exit_status(CT_EUSAGE);
	}
	openlog(PROG, LOG_PID, LOG_AUTHPRIV);
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0; /* re-initialise getopt: subcommands permute their options */
	if (strcmp(cmd, "check-config") == 0 && argc == 1)
		rc = cmd_check_config(&ad);
	else if (strcmp(cmd, "ca") == 0)
		rc = cmd_ca(&ad, argc, argv);
	else if (strcmp(cmd, "render") == 0)
		rc = cmd_render(&ad, argc, argv);
	else if (strcmp(cmd, "issue") == 0)
		rc = cmd_issue(&ad, argc, argv);
	else if (strcmp(cmd, "token") == 0)
		rc = admin_cmd_token(&ad, argc, argv);
	else if (strcmp(cmd, "cert") == 0)
		rc = admin_cmd_cert(&ad, argc, argv);
	else if (strcmp(cmd, "crl") == 0)
		rc = admin_cmd_crl(&ad, argc, argv);
	else
		rc = admin_usage_error("unknown command '%s'", cmd);
	ct_store_close(ad.store);
	ct_config_free(ad.cfg);
	closelog();
	return rc;
}
