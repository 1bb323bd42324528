/* certtoken-enroll: what the user sees: errors, usage errors and the
 * summary of a certificate. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certindex.h"
#include "enroll.h"

int
enroll_fail(struct client *cl, int code)
{
	if (cl->err.msg[0] != '\0')
		fprintf(stderr, PROG ": %s\n", cl->err.msg);
	return ct_exit_status(code);
}

int
enroll_usage_error(const char *msg)
{
	fprintf(stderr, PROG ": %s (try '" PROG " --help')\n", msg);
	return ct_exit_status(CT_EUSAGE);
}

void
enroll_print_cert(X509 *x, const char *target, const char *token, const char *dir)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char serial[CT_CERT_SERIAL_MAX] = "?";
	BIO *out = BIO_new_fp(stdout, BIO_NOCLOSE);
	int i;

	if (out == NULL)
		return;
	BIO_printf(out, "target:     %s\nsubject:    ", target);
	X509_NAME_print_ex(out, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		BIO_printf(out, "\nsan:        ");
		GENERAL_NAME_print(out, sk_GENERAL_NAME_value(sans, i));
	}
	ct_cert_serial_hex(x, serial);
	BIO_printf(out, "\nserial:     %s\nnot after:  ", serial);
	ASN1_TIME_print(out, X509_get0_notAfter(x));
	BIO_printf(out, "\ntoken:      %s\n", token);
	if (dir[0] != '\0')
		BIO_printf(out, "key:        %s/key.pem\ncertificate: %s/cert.pem\n", dir, dir);
	BIO_free(out);
	GENERAL_NAMES_free(sans);
}

int
enroll_emit_cert(struct client *cl, X509 *x, const char *path)
{
	if (path != NULL)
		return enroll_write_pem(path, enroll_cert_writer, x, 0644, &cl->err);
	if (PEM_write_X509(stdout, x) != 1 || fflush(stdout) != 0)
		return ct_err_set(
		    &cl->err, CT_EIO, "cannot write the certificate: %s", strerror(errno));
	return CT_OK;
}
