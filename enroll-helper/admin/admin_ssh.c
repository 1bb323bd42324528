/* certtoken-admin: the access groups' SSH CAs: ca export --ssh (sshd's
 * TrustedUserCAKeys), ca ssh-init (a group made before SSH CAs) and krl
 * (sshd's RevokedKeys). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "conf.h"
#include "ct.h"
#include "rotate.h"
#include "sshca.h"
#include "sshcert.h"
#include "store.h"
#include "util.h"

/* The access group NAME of the configuration (loaded), or NULL reported. */
static const struct ct_group *
group_of(struct admin *ad, const char *name)
{
	const struct ct_group *g;

	if (admin_load_config(ad) != CT_OK)
		return NULL;
	if ((g = ct_config_group(ad->cfg, name)) == NULL)
		ct_err_set(&ad->err, CT_ENOENT, "access group '%s' is not defined in %s", name,
		    ad->cfg->path);
	return g;
}

int
admin_ca_export_ssh(struct admin *ad, const struct ct_group *g)
{
	struct ct_sshca_trust t = {0};
	char comment[CT_NAME_MAX + 64], when[32], *line = NULL;
	size_t i;
	int rc;

	if ((rc = admin_open_ca_store(ad, g->name)) != CT_OK ||
	    (rc = ct_sshca_trust(ad->store, g->name, time(NULL), 0, &t, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	for (i = 0; rc == CT_OK && i < t.n; i++) {
		if (t.key[i].role == CT_SSHCA_PREVIOUS)
			snprintf(comment, sizeof(comment), "certtoken:%s:previous:until=%s",
			    g->name, ct_time_utc(t.key[i].until, CT_TIME_ISO, when, sizeof(when)));
		else
			snprintf(comment, sizeof(comment), "certtoken:%s:%s", g->name,
			    ct_sshca_role_name(t.key[i].role));
		if ((rc = ct_sshcert_line_format(
		         t.key[i].blob, t.key[i].len, comment, &line, &ad->err)) == CT_OK)
			fputs(line, stdout);
		free(line);
		line = NULL;
	}
	ct_sshca_trust_clear(&t);
	return rc == CT_OK ? 0 : admin_fail(ad, rc);
}

int
admin_cmd_ca_ssh_init(struct admin *ad, int argc, char **argv)
{
	const struct ct_group *g;
	int rc;

	if (argc != 2)
		return admin_usage_error("ca ssh-init takes one GROUP");
	if ((g = group_of(ad, argv[1])) == NULL)
		return admin_fail(ad, ad->err.code ? ad->err.code : CT_ENOENT);
	if ((rc = admin_open_ca_store(ad, g->name)) != CT_OK ||
	    (rc = ct_ca_ssh_init(ad->store, g, &ad->err)) != CT_OK)
		return admin_fail(ad, rc);
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "created the SSH CA of access group %s (%s), by uid %u",
	    g->name, ct_key_type_name(g->ssh_key_type), (unsigned)getuid());
	printf("created the SSH CA of access group '%s' (%s)\n"
	       "install the output of '" PROG " ca export %s --ssh' in sshd's TrustedUserCAKeys\n",
	    g->name, ct_key_type_name(g->ssh_key_type), g->name);
	return 0;
}

/* Write the KRL DATA (LEN bytes) to PATH atomically, or to stdout (not a
 * terminal) when PATH is NULL. */
static int
krl_write(struct admin *ad, const char *path, const unsigned char *data, size_t len)
{
	if (path != NULL)
		return ct_file_write_atomic(path, data, len, 0644, 0, &ad->err);
	if (isatty(STDOUT_FILENO))
		return ct_err_set(&ad->err, CT_EUSAGE,
		    "a KRL is binary: give --output FILE, or redirect standard output");
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
		return ct_err_set(&ad->err, CT_EIO, "standard output: cannot write the KRL");
	return CT_OK;
}

int
admin_cmd_krl(struct admin *ad, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
	const struct ct_group *g;
	const char *output = NULL;
	unsigned char *krl = NULL;
	size_t len = 0, n = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'o')
			return admin_usage_error("krl GROUP [--output FILE]");
		output = optarg;
	}
	if (optind + 1 != argc)
		return admin_usage_error("krl takes one GROUP");
	if ((g = group_of(ad, argv[optind])) == NULL)
		return admin_fail(ad, ad->err.code ? ad->err.code : CT_ENOENT);
	if ((rc = admin_open_ca_store(ad, g->name)) != CT_OK ||
	    (rc = ct_sshca_krl(ad->store, g->name, time(NULL), &krl, &len, &n, &ad->err)) !=
	        CT_OK ||
	    (rc = krl_write(ad, output, krl, len)) != CT_OK) {
		free(krl);
		return admin_fail(ad, rc);
	}
	free(krl);
	if (output != NULL)
		printf("wrote the KRL of access group '%s' to %s: %zu revoked certificate%s\n",
		    g->name, output, n, n == 1 ? "" : "s");
	return 0;
}
