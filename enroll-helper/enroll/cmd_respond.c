/* certtoken-enroll respond: answer a login's certificate challenge with the
 * key and certificate that `enroll` stored for the challenge's target.
 * Runs as the user and talks to nobody: the response is printed, and the
 * user types (or pastes) it at the login prompt. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certindex.h"
#include "enroll.h"
#include "login.h"
#include "store.h"
#include "util.h"

#define INPUT_MAX (16 * 1024) /* bytes of a pasted prompt we read */

static int
respond_fail(int code, const struct ct_err *err)
{
	fprintf(stderr, PROG ": %s\n", err->msg);
	return ct_exit_status(code);
}

/* The challenge text: the arguments joined by spaces (an unquoted paste is
 * split by the shell), else standard input. */
static int
read_challenge(int argc, char **argv, char **out, struct ct_err *err)
{
	size_t len = 0, n;
	char *buf = malloc(INPUT_MAX + 1);
	int i;

	if (buf == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	buf[0] = '\0';
	if (argc > 0) {
		for (i = 0; i < argc; i++) {
			n = strlen(argv[i]);
			if (len + n + 1 > INPUT_MAX) {
				free(buf);
				return ct_err_set(
				    err, CT_EINVAL, "challenge longer than %d bytes", INPUT_MAX);
			}
			if (i > 0)
				buf[len++] = ' ';
			memcpy(buf + len, argv[i], n);
			len += n;
		}
	} else {
		if (isatty(STDIN_FILENO))
			fprintf(stderr, "Paste the challenge:\n");
		/* line by line, up to the one with the challenge word: no need to
		 * wait for the end of the input */
		while (len < INPUT_MAX && fgets(buf + len, (int)(INPUT_MAX + 1 - len), stdin)) {
			n = strlen(buf + len);
			if (strstr(buf + len, "ctc1:") != NULL)
				break;
			len += n;
		}
		len += strlen(buf + len);
	}
	buf[len] = '\0';
	*out = buf;
	return CT_OK;
}

/* The key and certificate stored for TARGET; the certificate must be for
 * the key and not expired at NOW. */
static int
load_credentials(const char *target, time_t now, EVP_PKEY **key, X509 **cert, struct ct_err *err)
{
	char dir[4096], path[4200];
	unsigned char *data = NULL;
	size_t len = 0;
	BIO *b = NULL;
	int rc;

	if ((rc = enroll_target_dir(target, dir, sizeof(dir), err)) != CT_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if ((rc = ct_file_read(path, 64 * 1024, &data, &len, err)) != CT_OK) {
		if (rc == CT_ENOENT) {
			ct_err_clear(err);
			rc = ct_err_set(err, CT_ENOENT,
			    "no certificate for target %s (run: " PROG " enroll --target %s)",
			    target, target);
		}
		return rc;
	}
	if ((b = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (*key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		rc = ct_err_set(err, CT_EINVAL, "%s: not a PEM private key", path);
	BIO_free(b);
	OPENSSL_clear_free(data, len);
	if (rc != CT_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	if ((b = BIO_new_file(path, "r")) == NULL ||
	    (*cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		rc = ct_err_set(err, CT_EINVAL, "%s: cannot read a PEM certificate", path);
	else if (X509_check_private_key(*cert, *key) != 1)
		rc = ct_err_set(err, CT_EINVAL, "%s: not the certificate of key.pem", path);
	else if (X509_cmp_time(X509_get0_notAfter(*cert), &now) <= 0)
		rc = ct_err_set(err, CT_EINVAL,
		    "the certificate for target %s has expired (run: " PROG " enroll --target %s)",
		    target, target);
	BIO_free(b);
out:
	ERR_clear_error();
	return rc;
}

int
enroll_cmd_respond(struct client *cl, int argc, char **argv)
{
	struct ct_challenge ch;
	struct ct_err err = {0};
	char *text = NULL, *line = NULL, serial[CT_CERT_SERIAL_MAX] = "?";
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int whole = 0, rc;
	const struct ct_opt opts[] = {{"whole", NULL, &whole}, {NULL, NULL, NULL}};

	(void)cl;
	if (ct_opts_parse(argc, argv, opts) != CT_OK) {
		fprintf(stderr, PROG ": usage: respond [--whole] [CHALLENGE]\n");
		return ct_exit_status(CT_EUSAGE);
	}
	if ((rc = read_challenge(argc - optind, argv + optind, &text, &err)) != CT_OK ||
	    (rc = ct_challenge_parse(text, &ch, &err)) != CT_OK ||
	    (rc = load_credentials(ch.target, time(NULL), &key, &cert, &err)) != CT_OK ||
	    (rc = ct_response_make(&ch, key, cert, whole, &line, &err)) != CT_OK)
		goto out;
	(void)ct_cert_serial_hex(cert, serial);
	/* say what is being signed: a challenge relayed from elsewhere shows
	 * another host than the one being logged in to */
	fprintf(stderr, PROG ": login of %s to %s on %s with certificate %s (target %s)\n", ch.user,
	    ch.service, ch.host, serial, ch.target);
	printf("%s\n", line);
	if (fflush(stdout) != 0)
		rc = ct_err_set(&err, CT_EIO, "cannot write the response");
out:
	free(text);
	free(line);
	EVP_PKEY_free(key);
	X509_free(cert);
	OPENSSL_cleanse(&ch, sizeof(ch));
	return rc == CT_OK ? 0 : respond_fail(rc, &err);
}
