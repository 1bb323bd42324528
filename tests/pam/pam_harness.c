/* Drive the real Linux-PAM library with a service file from a directory.
 *   pam_harness [--account] CONFDIR SERVICE USER [ANSWER...]
 * Each prompt is answered with the next ANSWER (missing answers fail the
 * conversation) and printed as "prompt: TEXT"; messages as "info: TEXT".
 * Prints the result of pam_authenticate (and pam_acct_mgmt with --account)
 * and exits with that PAM code. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

struct answers {
	char **v;
	int n, next;
};

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct answers *a = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			printf("prompt: %s\n", msg[i]->msg);
			if (a->next >= a->n) {
				free(r);
				return PAM_CONV_ERR;
			}
			r[i].resp = strdup(a->v[a->next++]);
			break;
		default: printf("info: %s\n", msg[i]->msg);
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

int
main(int argc, char **argv)
{
	struct answers a = {NULL, 0, 0};
	struct pam_conv c = {conv, &a};
	pam_handle_t *pamh = NULL;
	int account = 0, rc, i = 1;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--account") == 0)
			account = 1;
	}
	if (argc - i < 3) {
		fprintf(
		    stderr, "usage: pam_harness [--account] CONFDIR SERVICE USER [ANSWER...]\n");
		return 2;
	}
	a.v = argv + i + 3;
	a.n = argc - i - 3;
	if ((rc = pam_start_confdir(argv[i + 1], argv[i + 2], &c, argv[i], &pamh)) != PAM_SUCCESS) {
		printf("pam_start: %s\n", pam_strerror(NULL, rc));
		return rc;
	}
	pam_set_item(pamh, PAM_RHOST, "127.0.0.1");
	rc = pam_authenticate(pamh, 0);
	printf("authenticate: %s\n", pam_strerror(pamh, rc));
	if (rc == PAM_SUCCESS && account) {
		rc = pam_acct_mgmt(pamh, 0);
		printf("account: %s\n", pam_strerror(pamh, rc));
	}
	pam_end(pamh, rc);
	return rc;
}
