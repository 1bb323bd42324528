/* certtoken-enroll: the key in OpenSSH's own form beside its certificate,
 * so that `ssh -i DIR/key` (which then reads DIR/key-cert.pub) and
 * `ssh-add DIR/key` find both, and the pair in the user's ssh-agent for
 * no longer than the certificate is valid.
 *
 * The agent gets them through OpenSSH's own ssh-add (found on PATH, run
 * without a shell, with only PATH and SSH_AUTH_SOCK in its environment) as
 * `ssh-add -t SECONDS DIR/key`: ssh-add loads the key and its -cert.pub,
 * and the agent forgets both when the lifetime is over. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "enroll.h"
#include "spawn.h"
#include "sshcert.h"
#include "store.h"

#define SSH_ADD_TIMEOUT_MS 10000

/* The absolute path of NAME in an absolute directory of PATH into OUT. */
static int
find_on_path(const char *name, char *out, size_t size)
{
	const char *env = getenv("PATH"), *p, *q;
	size_t n;

	for (p = env != NULL ? env : ""; *p != '\0'; p = *q != '\0' ? q + 1 : q) {
		q = strchr(p, ':');
		if (q == NULL)
			q = p + strlen(p);
		n = (size_t)(q - p);
		if (n == 0 || p[0] != '/' || n + strlen(name) + 2 > size)
			continue;
		snprintf(out, size, "%.*s/%s", (int)n, p, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* Add DIR/key and DIR/key-cert.pub to the agent at SOCK for SECONDS. */
static int
agent_add(const char *sock, const char *key_path, long seconds, struct ct_err *err)
{
	char prog[4096], life[32], env[4200], why[512];
	char *argv[] = {prog, "-q", "-t", life, (char *)key_path, NULL};
	struct ct_spawn s = {0};
	struct ct_spawn_result res;
	int rc;

	if (find_on_path("ssh-add", prog, sizeof(prog)) != 0)
		return ct_err_set(err, CT_EUNAVAIL, "ssh-add is not on PATH");
	snprintf(life, sizeof(life), "%ld", seconds);
	snprintf(env, sizeof(env), "SSH_AUTH_SOCK=%s", sock);
	s.argv = argv;
	s.env[0] = env;
	s.timeout_ms = SSH_ADD_TIMEOUT_MS;
	memset(&res, 0, sizeof(res));
	if ((rc = ct_spawn_run(&s, &res, err)) != CT_OK)
		return rc;
	if (!res.exited || res.status != 0) {
		ct_spawn_describe(&s, &res, why, sizeof(why));
		rc = ct_err_set(err, CT_EUNAVAIL, "ssh-add: %s", why);
	}
	ct_spawn_result_clear(&res);
	return rc;
}

/* The end of the certificate's validity and its first principal. */
static int
cert_facts(const char *line, size_t len, uint64_t *before, char *principal, size_t size,
    struct ct_err *err)
{
	struct ct_sshcert c = {0};
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	int rc;

	if ((rc = ct_sshcert_line_parse(line, len, &blob, &blob_len, NULL, err)) == CT_OK &&
	    (rc = ct_sshcert_parse(blob, blob_len, &c, err)) == CT_OK) {
		*before = c.valid_before;
		snprintf(principal, size, "%s", c.n_principals > 0 ? c.principals[0] : "USER");
	}
	ct_sshcert_free(&c);
	free(blob);
	return rc;
}

/* S as one shell word: as it is when that is safe, else in single quotes. */
static void
print_word(const char *s)
{
	static const char plain[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+,:=";

	if (s[0] != '\0' && s[strspn(s, plain)] == '\0') {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/* Offer the pair to the agent when there is one; say what happened. */
static void
offer_to_agent(const char *key_path, uint64_t before)
{
	const char *sock = getenv("SSH_AUTH_SOCK");
	struct ct_err err = {0};
	time_t now = time(NULL);
	long left;

	if (sock == NULL || sock[0] == '\0')
		return;
	/* unsigned: a valid_before above INT64_MAX ("forever") is not in the past */
	if (now < 0 || before <= (uint64_t)now) {
		printf("ssh-agent: not added, the certificate has expired\n");
		return;
	}
	left = before - (uint64_t)now > 0x7fffffff ? 0x7fffffff : (long)(before - (uint64_t)now);
	if (agent_add(sock, key_path, left, &err) == CT_OK)
		printf(
		    "ssh-agent: added with its certificate for %ld s (until it expires)\n", left);
	else
		fprintf(stderr, PROG ": warning: not added to ssh-agent: %s\n", err.msg);
}

int
enroll_ssh_install(const char *dir, EVP_PKEY *key, const char *line, size_t len, struct ct_err *err)
{
	char path[4200], cert[4200], principal[CT_SSHCERT_FIELD_MAX + 1];
	char *text = NULL;
	size_t text_len = 0;
	uint64_t before = 0;
	int rc;

	if ((rc = cert_facts(line, len, &before, principal, sizeof(principal), err)) != CT_OK)
		return rc;
	/* the key first: if it cannot be written, the old certificate stays
	 * beside the old key rather than a new one beside a key it is not for */
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(cert, sizeof(cert), "%s/key-cert.pub", dir);
	if ((rc = ct_sshcert_private_key(key, "certtoken", &text, &text_len, err)) != CT_OK ||
	    (rc = ct_file_write_atomic(path, text, text_len, 0600, 0, err)) != CT_OK ||
	    (rc = ct_file_write_atomic(cert, line, len, 0644, 0, err)) != CT_OK)
		goto out;
	printf("ssh certificate: %s\n", cert);
	printf("ssh key:    %s\n", path);
	offer_to_agent(path, before);
	fputs("ssh command: ssh -i ", stdout);
	print_word(path);
	putchar(' ');
	print_word(principal);
	fputs("@HOST\n", stdout);
out:
	ct_free_secret(text);
	return rc;
}
