/* The SSH certificate step (cert=ssh) through the real PAM stack, beside an
 * in-process signature verification of the same certificate, measured in
 * the same run.
 *   bench_sshstep CONFIG CONFDIR SERVICE USER CODES CERTFILE
 * CONFIG's group "default" has an Ed25519 SSH CA and target "default";
 * this program signs a user certificate for USER with it and records it in
 * the index, as certtokend would, and writes it to CERTFILE (for
 * `ssh-keygen -L` in bench/sshstep.sh).  Then one login per OTP code in CODES:
 * pam_start -> pam_putenv(SSH_AUTH_INFO_0) -> pam_authenticate -> pam_end
 * with the stack  otp / pam_echo / cert=ssh.  The step is timed from
 * pam_echo's message (the OTP step is over) until pam_authenticate returns:
 * the module's arguments, user, store, trust, certificate and index
 * checks, its log line and clean-up.  The raw reference is one
 * EVP_DigestVerify of the certificate's signature with the CA key decoded
 * once; the library's parse + verify + check alone, and the library's
 * whole step (ct_sshlogin_verify on an open store), are reported too. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <security/pam_appl.h>

#include "bench.h"

#include "certindex.h"
#include "conf.h"
#include "sshca.h"
#include "sshcert.h"
#include "sshlogin.h"
#include "store.h"

#define XSERIAL "0A1B2C3D"
#define INFO_MAX 8192

struct bench {
	const char *code;
	double t_mark;
};

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	struct bench *b = data;
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			r[i].resp = strdup(b->code);
	*resp = r;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_TEXT_INFO)
			b->t_mark = bench_now_us();
	return PAM_SUCCESS;
}

static void
report(const char *what, double *lat, size_t n, int fails)
{
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	printf("%s runs %zu failures %d p50_us %.1f p99_us %.1f\n", what, n, fails, lat[n / 2],
	    lat[(n * 99) / 100]);
}

/* A throwaway X.509 certificate of KEY with serial XSERIAL, as DER. */
static int
x509_der(EVP_PKEY *key, unsigned char **der)
{
	X509 *x = X509_new();
	int len = -1;

	if (x != NULL && ASN1_INTEGER_set(X509_get_serialNumber(x), 0x0A1B2C3D) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL && X509_set_pubkey(x, key) == 1 &&
	    X509_sign(x, key, NULL) > 0)
		len = i2d_X509(x, der);
	X509_free(x);
	return len;
}

/* Sign USER's certificate with the group's SSH CA, record it in the index,
 * and give SSH_AUTH_INFO_0 as sshd would set it, and the blob. */
static int
make_cert(const char *config, const char *user, const char *out_path, char *info,
    unsigned char **blob, size_t *len)
{
	static const struct ct_sshcert_opt ext[] = {{"permit-pty", NULL, NULL, 0}};
	const char *principals[] = {user};
	char key_id[256], *line = NULL;
	struct ct_sshcert_fields f = {0};
	struct ct_config *cfg = NULL;
	struct ct_store *st = NULL;
	struct ct_err err = {0};
	EVP_PKEY *ca = NULL, *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char *der = NULL;
	int der_len, rc;

	snprintf(key_id, sizeof(key_id), "certtoken:%s:default:%s", user, XSERIAL);
	f = (struct ct_sshcert_fields){.key = key,
	    .serial = 4242,
	    .type = CT_SSHCERT_USER,
	    .key_id = key_id,
	    .principals = principals,
	    .n_principals = 1,
	    .valid_after = (uint64_t)time(NULL) - 60,
	    .valid_before = (uint64_t)time(NULL) + 3600,
	    .extensions = ext,
	    .n_extensions = 1};
	if ((rc = ct_config_load(config, 1, &cfg, NULL, &err)) != CT_OK ||
	    (rc = ct_store_open(cfg, CT_STORE_TOKENS, &st, &err)) != CT_OK ||
	    (rc = ct_sshca_load(st, "default", &ca, &err)) != CT_OK ||
	    (rc = ct_sshcert_sign(&f, ca, NULL, blob, len, &line, &err)) != CT_OK)
		goto out;
	if ((der_len = x509_der(key, &der)) <= 0 ||
	    (rc = ct_certindex_add_ssh(st, XSERIAL, user, "default", "default", "-", 4242, der,
	         (size_t)der_len, &err)) != CT_OK) {
		rc = ct_err_set(&err, CT_ECRYPTO, "cannot record the certificate");
		goto out;
	}
	snprintf(info, INFO_MAX, "publickey %skeyboard-interactive\n", line);
	rc = ct_file_write_atomic(out_path, line, strlen(line), 0644, 0, &err);
out:
	if (rc != CT_OK)
		fprintf(stderr, "bench_sshstep: %s\n", err.msg);
	free(line);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca);
	ct_store_close(st);
	ct_config_free(cfg);
	return rc;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* N raw Ed25519 verifications of the certificate's signature, the CA key
 * decoded once; and N of the library's parse + verify + check. */
static int
raw_verify(
    const unsigned char *blob, size_t len, const char *user, size_t n, double *raw, double *lib)
{
	struct ct_sshcert c;
	struct ct_err err = {0};
	EVP_PKEY *ca = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const unsigned char *sig;
	size_t i;
	int fails = 0;

	if (ct_sshcert_parse(blob, len, &c, &err) != CT_OK ||
	    ct_sshcert_key_from_blob(c.ca_blob, c.ca_blob_len, &ca, &err) != CT_OK)
		return -1;
	sig = c.sig + 4 + get32(c.sig); /* past the algorithm name */
	for (i = 0; i < n; i++) {
		double t0 = bench_now_us();
		fails += EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, ca, NULL) != 1 ||
		    EVP_DigestVerify(md, sig + 4, get32(sig), c.blob, c.signed_len) != 1;
		raw[i] = bench_now_us() - t0;
	}
	ct_sshcert_free(&c);
	for (i = 0; i < n; i++) {
		double t0 = bench_now_us();
		fails += ct_sshcert_parse(blob, len, &c, &err) != CT_OK ||
		    ct_sshcert_verify(&c, &err) != CT_OK ||
		    ct_sshcert_check(&c, CT_SSHCERT_USER, user, time(NULL), 60, &err) != CT_OK;
		ct_sshcert_free(&c);
		lib[i] = bench_now_us() - t0;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(ca);
	return fails;
}

/* N runs of the library step alone (ct_sshlogin_verify on an open store). */
static int
lib_step(const char *config, const char *user, const char *info, size_t n, double *lat)
{
	struct ct_config *cfg = NULL;
	struct ct_store *st = NULL;
	struct ct_sshlogin_result res;
	struct ct_err err = {0};
	size_t i;
	int fails = 0;

	if (ct_config_load(config, 1, &cfg, NULL, &err) != CT_OK ||
	    ct_store_open(cfg, CT_STORE_TOKENS, &st, &err) != CT_OK)
		return -1;
	for (i = 0; i < n; i++) {
		struct ct_sshlogin_policy p = {st, ct_config_target(cfg, "default"), 60};
		double t0 = bench_now_us();
		fails += ct_sshlogin_verify(&p, info, user, time(NULL), &res, &err) != CT_OK;
		lat[i] = bench_now_us() - t0;
	}
	ct_store_close(st);
	ct_config_free(cfg);
	return fails;
}

int
main(int argc, char **argv)
{
	struct bench b = {0};
	struct pam_conv c = {conv, &b};
	char line[64], info[INFO_MAX], env[INFO_MAX + 32];
	double *lat = NULL, *raw = NULL, *lib = NULL;
	unsigned char *blob = NULL;
	size_t n = 0, cap = 0, blob_len = 0;
	int fails = 0, rc;
	FILE *f;

	if (argc != 7 || (f = fopen(argv[5], "r")) == NULL) {
		fprintf(
		    stderr, "usage: bench_sshstep CONFIG CONFDIR SERVICE USER CODES CERTFILE\n");
		return 2;
	}
	if (make_cert(argv[1], argv[4], argv[6], info, &blob, &blob_len) != CT_OK)
		return 1;
	snprintf(env, sizeof(env), "SSH_AUTH_INFO_0=%s", info);
	while (fgets(line, sizeof(line), f) != NULL) {
		pam_handle_t *pamh = NULL;
		line[strcspn(line, "\n")] = '\0';
		b.code = line;
		b.t_mark = 0;
		if (n == cap &&
		    (lat = realloc(lat, (cap = cap ? 2 * cap : 1024) * sizeof(*lat))) == NULL)
			return 1;
		rc = pam_start_confdir(argv[3], argv[4], &c, argv[2], &pamh);
		if (rc == PAM_SUCCESS)
			rc = pam_putenv(pamh, env);
		if (rc == PAM_SUCCESS)
			rc = pam_authenticate(pamh, 0);
		lat[n] = bench_now_us() - b.t_mark;
		pam_end(pamh, rc);
		fails += rc != PAM_SUCCESS || b.t_mark == 0;
		n++;
	}
	fclose(f);
	if (n == 0 || (raw = calloc(n, sizeof(*raw))) == NULL ||
	    (lib = calloc(n, sizeof(*lib))) == NULL)
		return 1;
	report("pam_ssh_step", lat, n, fails);
	rc = raw_verify(blob, blob_len, argv[4], n, raw, lib);
	report("raw_verify", raw, n, rc);
	report("lib_parse_verify_check", lib, n, rc);
	rc |= lib_step(argv[1], argv[4], info, n, lib);
	report("lib_sshlogin_verify", lib, n, rc);
	free(lat);
	free(raw);
	free(lib);
	free(blob);
	return fails == 0 && rc == 0 ? 0 : 1;
}
