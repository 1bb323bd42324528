/* Drive the real Linux-PAM library with a service file from a directory.
 *   pam_harness [--account] [--respond CMD] CONFDIR SERVICE USER [ANSWER...]
 * Each prompt is answered with the next ANSWER (missing answers fail the
 * conversation) and printed as "prompt: TEXT"; messages as "info: TEXT".
 * With --respond, a prompt holding a certificate challenge ("ctc1:") is
 * instead given to "sh -c CMD" on its standard input, answered with the
 * first line CMD prints, and that line is printed as "response: LINE".
 * Prints the result of pam_authenticate (and pam_acct_mgmt with --account)
 * and exits with that PAM code. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

struct answers {
	char **v;
	int n, next;
	const char *respond; /* command answering challenges, or NULL */
};

/* Run "sh -c CMD" with PROMPT on its standard input; its first output line. */
static char *
run_responder(const char *cmd, const char *prompt)
{
	int in[2], out[2], status;
	char buf[16384];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(in) != 0 || pipe(out) != 0)
		return NULL;
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (write(in[1], prompt, strlen(prompt)) < 0 || write(in[1], "\n", 1) < 0)
		perror("responder");
	close(in[1]);
	while (len < sizeof(buf) - 1 && (n = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(out[0]);
	waitpid(pid, &status, 0);
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

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
			if (a->respond != NULL && strstr(msg[i]->msg, "ctc1:") != NULL) {
				r[i].resp = run_responder(a->respond, msg[i]->msg);
				printf("response: %s\n", r[i].resp ? r[i].resp : "");
				fflush(stdout);
				break;
			}
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
	struct answers a = {NULL, 0, 0, NULL};
	struct pam_conv c = {conv, &a};
	pam_handle_t *pamh = NULL;
	const char *rhost = "127.0.0.1", *env[8];
	int account = 0, rc, i = 1, n_env = 0, k;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--account") == 0)
			account = 1;
		else if (strcmp(argv[i], "--respond") == 0 && i + 1 < argc)
			a.respond = argv[++i];
		else if (strcmp(argv[i], "--rhost") == 0 && i + 1 < argc)
			rhost = argv[++i];
		else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc && n_env < 8)
			env[n_env++] = argv[++i]; /* NAME=VALUE into the PAM environment */
	}
	if (argc - i < 3) {
		fprintf(stderr,
		    "usage: pam_harness [--account] [--respond CMD] [--rhost HOST] [--env "
		    "NAME=VALUE] CONFDIR SERVICE USER "
		    "[ANSWER...]\n");
		return 2;
	}
	a.v = argv + i + 3;
	a.n = argc - i - 3;
	if ((rc = pam_start_confdir(argv[i + 1], argv[i + 2], &c, argv[i], &pamh)) != PAM_SUCCESS) {
		printf("pam_start: %s\n", pam_strerror(NULL, rc));
		return rc;
	}
	pam_set_item(pamh, PAM_RHOST, rhost);
	for (k = 0; k < n_env; k++)
		if (pam_putenv(pamh, env[k]) != PAM_SUCCESS)
			printf("pam_putenv: cannot set %s\n", env[k]);
	rc = pam_authenticate(pamh, 0);
	printf("authenticate: %s\n", pam_strerror(pamh, rc));
	if (rc == PAM_SUCCESS && account) {
		rc = pam_acct_mgmt(pamh, 0);
		printf("account: %s\n", pam_strerror(pamh, rc));
	}
	pam_end(pamh, rc);
	return rc;
}
