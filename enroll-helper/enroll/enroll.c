/* certtoken-enroll: the user's half of the enroll helper.
 *
 * Runs as the user, with no privilege at all: the key pair is generated
 * here and the private key never leaves this process except into the
 * user's own key.pem; certtokend learns who we are from the kernel.  This
 * file holds main and the table of subcommands; see enroll.h for the rest. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "enroll.h"

struct command {
	const char *name;
	int (*run)(struct client *cl, int argc, char **argv);
	const char *help; /* its lines of the usage, from the synopsis on */
};

static const struct command commands[] = {
    {"enroll", enroll_cmd_enroll,
        "enroll [--target TARGET] [--key-type TYPE]\n"
        "                 make a key pair here, prove who you are (OTP) to certtokend and\n"
        "                 store the certificate under $XDG_CONFIG_HOME/certtoken/TARGET/\n"},
    {"request", enroll_cmd_request,
        "request --csr FILE [--attestation FILE] [--target TARGET] [--out FILE]\n"
        "                 have a CSR made elsewhere (e.g. on a hardware token) signed\n"},
    {"fetch", enroll_cmd_fetch,
        "fetch [TOKEN] [--out FILE]\n"
        "                 collect the certificate of a pending request (exit 75: still\n"
        "                 pending)\n"},
    {"upload", enroll_cmd_upload,
        "upload --cert FILE [--key FILE]\n"
        "                 attach an existing certificate, proving you hold its key\n"},
    {"keygen", enroll_cmd_keygen,
        "keygen [--target TARGET] --out FILE.p12 [--pin] [--legacy]\n"
        "                 the service makes the key and returns an encrypted PKCS#12\n"},
    {"status", enroll_cmd_status, "status [--json] list your tokens and their state\n"},
    {"respond", enroll_cmd_respond,
        "respond [--whole] [CHALLENGE]\n"
        "                 answer a login's certificate challenge (from the argument or\n"
        "                 standard input; the whole prompt may be pasted)\n"},
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " PROG " [-c FILE] [--socket PATH] COMMAND [ARGS]\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s", commands[i].help);
	fprintf(f, "TYPE: ec-p256 (default) ec-p384 ed25519 rsa2048 rsa3072 rsa4096\n");
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct client cl = {.fd = -1};
	const struct command *cmd;
	int c, rc;

	umask(077);
	cl.config_path = ct_config_default_path();
	cl.config_explicit = ct_config_env_named();
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cl.config_path = optarg;
			cl.config_explicit = 1;
			break;
		case 's': cl.socket_path = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " " PACKAGE_VERSION "\n"); return 0;
		default: usage(stderr); return ct_exit_status(CT_EUSAGE);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return ct_exit_status(CT_EUSAGE);
	}
	if ((cmd = find_command(argv[optind])) == NULL) {
		fprintf(
		    stderr, PROG ": unknown command '%s' (try '" PROG " --help')\n", argv[optind]);
		return ct_exit_status(CT_EUSAGE);
	}
	argc -= optind;
	argv += optind;
	optind = 0;
	rc = cmd->run(&cl, argc, argv);
	if (cl.fd >= 0)
		close(cl.fd);
	free(cl.socket_owned);
	return rc;
}
