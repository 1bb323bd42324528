/* Certificate-step latency through the real PAM stack, beside the raw
 * verification of the same certificate in the same process.
 *   bench_login CONFDIR SERVICE USER CODES KEY CERT CAFILE
 * One login per OTP code in CODES: pam_start -> pam_authenticate (OTP, then
 * the challenge, answered here with ct_response_make) -> pam_end.  The
 * certificate step is timed from the moment the response is handed back
 * to PAM until pam_authenticate returns: the module's verification, its
 * log line and its clean-up.  The raw reference is X509_verify_cert of the
 * certificate against CAFILE plus one signature verification, with the
 * certificates decoded once, and again decoding both from PEM each time. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <security/pam_appl.h>

#include "bench.h"

#include "issue.h"
#include "login.h"

struct bench {
	const char *code;
	EVP_PKEY *key;
	X509 *cert;
	double t_resp;
	int bad;
};

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	struct bench *b = data;
	struct ct_challenge ch;
	struct ct_err err = {0};
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (strstr(msg[i]->msg, "ctc1:") == NULL) {
			r[i].resp = strdup(b->code);
			continue;
		}
		if (ct_challenge_parse(msg[i]->msg, &ch, &err) != CT_OK ||
		    ct_response_make(&ch, b->key, b->cert, 0, &r[i].resp, &err) != CT_OK) {
			fprintf(stderr, "bench_login: %s\n", err.msg);
			b->bad = 1;
		}
	}
	*resp = r;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			b->t_resp = bench_now_us();
	return PAM_SUCCESS;
}

static void *
read_pem(const char *path, int key)
{
	FILE *f = fopen(path, "r");
	void *obj;

	if (f == NULL)
		return NULL;
	obj = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
	          : (void *)PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return obj;
}

static void
report(const char *what, double *lat, size_t n, int fails)
{
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	printf("%s runs %zu failures %d p50_us %.1f p99_us %.1f\n", what, n, fails, lat[n / 2],
	    lat[(n * 99) / 100]);
}

static X509 *
decode(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	return x;
}

/* The raw reference, N times: chain verification and one signature check;
 * with DECODE_EACH, the CA and the certificate are also decoded from PEM
 * each time (as `openssl verify`, and a module without state between
 * logins, must), otherwise they are decoded once. */
static int
raw_verify(X509 *cert, X509 *ca, EVP_PKEY *key, int decode_each, size_t n, double *lat)
{
	unsigned char msg[64] = "certtoken bench message", sig[256];
	char *cert_pem = NULL, *ca_pem = NULL;
	size_t sig_len = sizeof(sig), i;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	BIO *b1 = BIO_new(BIO_s_mem()), *b2 = BIO_new(BIO_s_mem());
	int fails = 0, ok;

	PEM_write_bio_X509(b1, cert);
	PEM_write_bio_X509(b2, ca);
	BIO_write(b1, "", 1);
	BIO_write(b2, "", 1);
	BIO_get_mem_data(b1, &cert_pem);
	BIO_get_mem_data(b2, &ca_pem);
	if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, msg, sizeof(msg)) != 1)
		return -1;
	for (i = 0; i < n; i++) {
		double t0 = bench_now_us();
		X509 *x = decode_each ? decode(cert_pem) : cert;
		X509 *a = decode_each ? decode(ca_pem) : ca;
		X509_STORE *store = X509_STORE_new();
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();

		X509_STORE_add_cert(store, a);
		X509_STORE_CTX_init(ctx, store, x, NULL);
		ok = X509_verify_cert(ctx) == 1;
		X509_STORE_CTX_free(ctx);
		X509_STORE_free(store);
		ok = ok &&
		    EVP_DigestVerifyInit_ex(
		        md, NULL, "SHA256", NULL, NULL, X509_get0_pubkey(x), NULL) == 1 &&
		    EVP_DigestVerify(md, sig, sig_len, msg, sizeof(msg)) == 1;
		if (decode_each) {
			X509_free(x);
			X509_free(a);
		}
		lat[i] = bench_now_us() - t0;
		fails += !ok;
	}
	EVP_MD_CTX_free(md);
	BIO_free(b1);
	BIO_free(b2);
	return fails;
}

int
main(int argc, char **argv)
{
	struct bench b = {0};
	struct pam_conv c = {conv, &b};
	char line[64];
	double *lat = NULL, *raw = NULL;
	size_t n = 0, cap = 0;
	int fails = 0, rc;
	X509 *ca;
	FILE *f;

	if (argc != 8 || (f = fopen(argv[4], "r")) == NULL ||
	    (b.key = read_pem(argv[5], 1)) == NULL || (b.cert = read_pem(argv[6], 0)) == NULL ||
	    (ca = read_pem(argv[7], 0)) == NULL) {
		fprintf(stderr, "usage: bench_login CONFDIR SERVICE USER CODES KEY CERT CAFILE\n");
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		pam_handle_t *pamh = NULL;
		line[strcspn(line, "\n")] = '\0';
		b.code = line;
		b.t_resp = 0;
		if (n == cap &&
		    (lat = realloc(lat, (cap = cap ? 2 * cap : 1024) * sizeof(*lat))) == NULL)
			return 1;
		rc = pam_start_confdir(argv[2], argv[3], &c, argv[1], &pamh);
		if (rc == PAM_SUCCESS)
			rc = pam_authenticate(pamh, 0);
		lat[n] = bench_now_us() - b.t_resp;
		pam_end(pamh, rc);
		fails += rc != PAM_SUCCESS || b.t_resp == 0;
		n++;
	}
	fclose(f);
	if (n == 0 || (raw = calloc(n, sizeof(*raw))) == NULL)
		return 1;
	report("pam_cert_step", lat, n, fails);
	rc = raw_verify(b.cert, ca, b.key, 0, n, raw);
	report("raw_verify", raw, n, rc);
	rc |= raw_verify(b.cert, ca, b.key, 1, n, raw);
	report("raw_verify_decode", raw, n, rc);
	free(lat);
	free(raw);
	X509_free(ca);
	X509_free(b.cert);
	EVP_PKEY_free(b.key);
	return fails == 0 && rc == 0 ? 0 : 1;
}
