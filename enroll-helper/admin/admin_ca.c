/* certtoken-admin ca init|export|rotate: the access groups' CAs. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "admin.h"
#include "store.h"
#include "certindex.h"
#include "conf.h"
#include "ct.h"
#include "issue.h"
#include "util.h"

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
	if ((rc = ct_store_open(ad->cfg, CT_STORE_CREATE, &ad->store, &ad->err)) != CT_OK ||
	    (rc = ct_ca_init(ad->store, &copy, time(NULL), &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "created the CA of access group %s (%s; SSH CA %s)",
	    copy.name, ct_key_type_name(copy.key_type), ct_key_type_name(copy.ssh_key_type));
	printf("created the CA of access group '%s' (%s) in %s\n"
	       "and its SSH CA (%s): '" PROG " ca export %s --ssh' prints it for sshd\n",
	    copy.name, ct_key_type_name(copy.key_type), ad->cfg->store_path,
	    ct_key_type_name(copy.ssh_key_type), copy.name);
	return 0;
}

static int
cmd_ca_export(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {{"ssh", no_argument, NULL, 's'}, {NULL, 0, NULL, 0}};
	const struct ct_group *g;
	STACK_OF(X509) *anchors = NULL;
	int i, rc, c, ssh = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return admin_usage_error("ca export GROUP [--ssh]");
		ssh = 1;
	}
	if (optind + 1 != argc)
		return admin_usage_error("ca export takes one GROUP");
	if ((rc = admin_load_config(ad)) != CT_OK || (g = find_group(ad, argv[optind])) == NULL)
		return admin_fail(ad, rc ? rc : CT_ENOENT);
	if (ssh)
		return admin_ca_export_ssh(ad, g);
	/* the bundle: the current CA, then the previous one during an overlap */
	if ((rc = admin_open_ca_store(ad, g->name)) != CT_OK ||
	    (rc = ct_ca_trust(ad->store, g, time(NULL), &anchors, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	for (i = 0; i < sk_X509_num(anchors); i++)
		PEM_write_X509(stdout, sk_X509_value(anchors, i));
	sk_X509_pop_free(anchors, X509_free);
	return 0;
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
		    cert_id(r->previous, id, sizeof(id)),
		    ct_time_utc(r->until, CT_TIME_ISO, when, sizeof(when)),
		    (long long)(r->until - now) / 3600, r->until - now == 3600 ? "" : "s");
	else
		printf("previous CA: %s\n             no longer trusted\n",
		    cert_id(r->previous, id, sizeof(id)));
	if (r->dropped != NULL)
		printf("dropped CA:  %s\n             (rotated out before, trusted until %s) no "
		       "longer trusted\n",
		    cert_id(r->dropped, id, sizeof(id)),
		    ct_time_utc(r->dropped_until, CT_TIME_ISO, when, sizeof(when)));
	if (r->prepared)
		printf("targets that installed '" PROG " ca export %s' since it was prepared "
		       "accept the new CA's certificates;\n",
		    g->name);
	printf("install the output of '" PROG " ca export %s' on the group's targets %s\n", g->name,
	    r->until > now ? (r->prepared ? "that have not, and again after the overlap"
	                                  : "before the overlap ends")
	                   : "now: they refuse certificates of the previous CA");
	printf("the SSH CA rotated with it: install '" PROG " ca export %s --ssh' in sshd's "
	       "TrustedUserCAKeys likewise\n",
	    g->name);
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
		snprintf(trust, sizeof(trust), "trusted until %s",
		    ct_time_utc(r->until, CT_TIME_ISO, when, sizeof(when)));
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
	printf("install the output of '" PROG " ca export %s' on the group's targets now,\n"
	       "and of '" PROG " ca export %s --ssh' in sshd's TrustedUserCAKeys (a next SSH CA "
	       "was made too);\n"
	       "once they all have it, run '" PROG " ca rotate %s'\n",
	    g->name, g->name, g->name);
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

	if ((rc = admin_open_ca_store(ad, g->name)) != CT_OK ||
	    (rc = ct_ca_prepare(ad->store, g, time(NULL), replace, &next, &replaced, &ad->err)) !=
	        CT_OK)
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

	if ((rc = admin_open_ca_store(ad, g->name)) == CT_OK)
		rc = ct_ca_rotate(ad->store, g, now, hours * 3600,
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
		else if (c != 'o' ||
		    ct_parse_long((overlap = optarg), 0, CT_OVERLAP_MAX / 3600, &hours) != 0)
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

const struct admin_cmd admin_ca_cmds[] = {
    {"init", cmd_ca_init, NULL,
        "  ca init GROUP [--key-type TYPE]   create the access group's CA\n"},
    {"export", cmd_ca_export, NULL,
        "  ca export GROUP                   print the trusted CA certificates (PEM bundle)\n"
        "  ca export GROUP --ssh             print the trusted SSH CA keys (TrustedUserCAKeys)\n"},
    {"ssh-init", admin_cmd_ca_ssh_init, NULL,
        "  ca ssh-init GROUP                 give a group made before SSH CAs its SSH CA\n"},
    {"rotate", cmd_ca_rotate, NULL,
        "  ca rotate GROUP --prepare [--replace] [--key-type TYPE]\n"
        "                                    make the next CA: exported and trusted, not yet "
        "signing\n"
        "  ca rotate GROUP [--overlap-hours N] [--key-type TYPE]\n"
        "                                    replace the CA by the prepared one (else a new "
        "one);\n"
        "                                    the old one stays trusted N hours (24)\n"},
    {NULL, NULL, NULL, NULL},
};
