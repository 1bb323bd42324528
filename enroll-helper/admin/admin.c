/* certtoken-admin: the root administrator's tool.  main and the table of
 * commands; each command is in its own file (see admin.h). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "admin.h"
#include "store.h"
#include "conf.h"
#include "ct.h"

static const struct admin_cmd commands[] = {
    {"check-config", admin_cmd_check_config, NULL,
        "  check-config                      validate the configuration, report every "
        "problem\n"},
    {"ca", NULL, admin_ca_cmds, NULL},
    {"render", admin_cmd_render, NULL,
        "  render --user USER --target TARGET\n"
        "                                    print the expanded subject and SANs\n"},
    {"issue", admin_cmd_issue, NULL,
        "  issue --user USER --target TARGET (--pubkey FILE | --csr FILE)\n"
        "                                    issue a certificate, print it as PEM\n"},
    {"token", NULL, admin_token_cmds, NULL},
    {"cert", NULL, admin_cert_cmds, NULL},
    {"crl", admin_cmd_crl, NULL,
        "  crl GROUP [--hours N]             print the access group's CRL (next update in N "
        "hours, 24)\n"
        "                                    and publish it in the store\n"
        "  crl GROUP --published             print the CRL last published in the store\n"},
    {"krl", admin_cmd_krl, NULL,
        "  krl GROUP [GROUP...] [--output FILE]\n"
        "  krl --all [--output FILE]         write one OpenSSH KRL of these (or all) access\n"
        "                                    groups, for sshd's one RevokedKeys file\n"},
    {"store", NULL, admin_store_cmds, NULL},
    {NULL, NULL, NULL, NULL},
};

/* The help of table T, subcommands included, to F. */
static void
print_help(FILE *f, const struct admin_cmd *t)
{
	for (; t->name != NULL; t++) {
		if (t->help != NULL)
			fputs(t->help, f);
		if (t->sub != NULL)
			print_help(f, t->sub);
	}
}

static void
usage(FILE *f)
{
	fputs("usage: " PROG " [-c FILE] COMMAND [ARGS]\ncommands:\n", f);
	print_help(f, commands);
	fputs("TYPE: ec-p256 ec-p384 ed25519 rsa2048 rsa3072 rsa4096\n", f);
}

static const struct admin_cmd *
find_cmd(const struct admin_cmd *t, const char *name)
{
	for (; t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* "CMD needs a, b or c": the subcommands of table T. */
static int
needs_sub(const char *cmd, const struct admin_cmd *t)
{
	char names[256] = "";
	size_t n = strlen(names);

	for (; t->name != NULL && n < sizeof(names); t++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
		    n == 0                  ? ""
		        : t[1].name == NULL ? " or "
		                            : ", ",
		    t->name);
	return admin_usage_error("%s needs %s", cmd, names);
}

/* Run command ARGV[0] of table T (or its subcommand ARGV[1]). */
static int
dispatch(struct admin *ad, const struct admin_cmd *t, int argc, char **argv)
{
	const struct admin_cmd *c = find_cmd(t, argv[0]), *s;

	if (c == NULL)
		return admin_usage_error("unknown command '%s'", argv[0]);
	if (c->sub == NULL)
		return c->run(ad, argc, argv);
	if (argc < 2 || (s = find_cmd(c->sub, argv[1])) == NULL)
		return needs_sub(c->name, c->sub);
	return s->run(ad, argc - 1, argv + 1);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct admin ad = {0};
	int c, rc;

	umask(077);
	ad.config_path = ct_config_default_path();
	ad.config_explicit = ct_config_env_named();
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
	argc -= optind;
	argv += optind;
	optind = 0; /* re-initialise getopt: subcommands permute their options */
	rc = dispatch(&ad, commands, argc, argv);
	ct_store_close(ad.store);
	ct_config_free(ad.cfg);
	closelog();
	return rc;
}
