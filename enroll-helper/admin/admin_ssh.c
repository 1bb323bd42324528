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

/* The N groups of krl's arguments ARGV into NAMES, each configured. */
static int
krl_named(struct admin *ad, char **argv, size_t n, const char **names)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (group_of(ad, argv[i]) == NULL)
			return ad->err.code ? ad->err.code : CT_ENOENT;
		names[i] = argv[i];
	}
	return CT_OK;
}

/* krl --all: every configured group that has an SSH CA into NAMES (the
 * others are named on stderr and left out), *COUNT of them. */
static int
krl_all(struct admin *ad, const char **names, size_t *count)
{
	struct ct_sshca_trust t = {0};
	const char *name;
	size_t i;
	int rc;

	*count = 0;
	for (i = 0; i < ad->cfg->n_groups; i++) {
		name = ad->cfg->groups[i].name;
		rc = ct_sshca_trust(ad->store, name, time(NULL), 1, &t, &ad->err);
		ct_sshca_trust_clear(&t);
		if (rc == CT_ENOENT) {
			fprintf(stderr,
			    PROG ": krl: access group '%s' has no SSH CA: not in the KRL\n", name);
			ct_err_clear(&ad->err);
			continue;
		}
		if (rc != CT_OK)
			return rc;
		names[(*count)++] = name;
	}
	if (*count == 0)
		return ct_err_set(&ad->err, CT_ENOENT, "no access group has an SSH CA");
	return CT_OK;
}

/* "wrote the KRL of access groups 'a', 'b' to FILE: N revoked certificates" */
static void
krl_said(const char *const *names, size_t count, const char *output, size_t n)
{
	size_t i;

	printf("wrote the KRL of access group%s", count == 1 ? "" : "s");
	for (i = 0; i < count; i++)
		printf("%s'%s'", i == 0 ? " " : ", ", names[i]);
	printf(" to %s: %zu revoked certificate%s\n", output, n, n == 1 ? "" : "s");
}

/* krl's options into *OUTPUT and *ALL; the index of the first GROUP, or -1
 * after a usage error. */
static int
krl_options(int argc, char **argv, const char **output, int *all)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
	    {"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'o')
			*output = optarg;
		else if (c == 'a')
			*all = 1;
		else
			return -1;
	}
	if (*all ? optind != argc : optind == argc)
		return -1;
	return optind;
}

int
admin_cmd_krl(struct admin *ad, int argc, char **argv)
{
	const char *output = NULL, **names = NULL, *where;
	unsigned char *krl = NULL;
	size_t len = 0, n = 0, count;
	int all = 0, first, rc;

	if ((first = krl_options(argc, argv, &output, &all)) < 0)
		return admin_usage_error("krl GROUP [GROUP...] | krl --all; [--output FILE]");
	if ((rc = admin_load_config(ad)) != CT_OK)
		return admin_fail(ad, rc);
	count = all ? ad->cfg->n_groups : (size_t)(argc - first);
	/* a store that does not exist yet: "GROUP has no CA", for the first group */
	where = all ? (count > 0 ? ad->cfg->groups[0].name : "-") : argv[first];
	if ((names = calloc(count + 1, sizeof(*names))) == NULL)
		return admin_fail(ad, ct_err_set(&ad->err, CT_ENOMEM, "out of memory"));
	if ((!all && (rc = krl_named(ad, argv + first, count, names)) != CT_OK) ||
	    (rc = admin_open_ca_store(ad, where)) != CT_OK ||
	    (all && (rc = krl_all(ad, names, &count)) != CT_OK) ||
	    (rc = ct_sshca_krl_groups(
	         ad->store, names, count, time(NULL), &krl, &len, &n, &ad->err)) != CT_OK ||
	    (rc = krl_write(ad, output, krl, len)) != CT_OK) {
		free(krl);
		free(names);
		return admin_fail(ad, rc);
	}
	if (output != NULL)
		krl_said(names, count, output, n);
	free(krl);
	free(names);
	return 0;
}
