/* OpenSSH certificate parse + verify + check per second beside a raw
 * EVP_DigestVerify of the same signature over the same bytes, measured in
 * the same run; the ratio is what we report.
 *   bench_sshcert CATYPE SECONDS      CATYPE: ed25519 | ec-p256 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "bench.h"
#include "sshcert.h"

static const char *const principals[] = {"alice"};
static const struct ct_sshcert_opt extensions[] = {
    {"permit-pty", NULL, NULL, 0}, {"permit-port-forwarding", NULL, NULL, 0}};

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The raw signature (what EVP_DigestVerify takes) in C's signature field,
 * as ssh-keygen's CA key type writes it, into SIG (OPENSSL_free). */
static int
raw_signature(const struct ct_sshcert *c, int ecdsa, unsigned char **sig, size_t *len)
{
	const unsigned char *p = c->sig + 4 + get32(c->sig), *q;
	uint32_t n = get32(p), rn, sn;
	ECDSA_SIG *es;
	int der;

	p += 4;
	if (!ecdsa) {
		*sig = OPENSSL_memdup(p, n);
		*len = n;
		return *sig != NULL ? 0 : -1;
	}
	rn = get32(p);
	q = p + 4 + rn;
	sn = get32(q);
	es = ECDSA_SIG_new();
	if (es == NULL ||
	    ECDSA_SIG_set0(es, BN_bin2bn(p + 4, (int)rn, NULL), BN_bin2bn(q + 4, (int)sn, NULL)) !=
	        1)
		return -1;
	*sig = NULL;
	der = i2d_ECDSA_SIG(es, sig);
	ECDSA_SIG_free(es);
	*len = (size_t)der;
	return der > 0 ? 0 : -1;
}

static double
raw_verify_rate(EVP_PKEY *ca, const char *md, const struct ct_sshcert *c, const unsigned char *sig,
    size_t sig_len, double seconds)
{
	double start = bench_now_us(), end = start + seconds * 1e6;
	long n = 0;

	while (bench_now_us() < end) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (ctx == NULL ||
		    EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, ca, NULL) != 1 ||
		    EVP_DigestVerify(ctx, sig, sig_len, c->blob, c->signed_len) != 1)
			return -1;
		EVP_MD_CTX_free(ctx);
		n++;
	}
	return (double)n * 1e6 / (bench_now_us() - start);
}

static double
parse_verify_rate(const unsigned char *blob, size_t len, double seconds)
{
	double start = bench_now_us(), end = start + seconds * 1e6;
	struct ct_err err = {0};
	struct ct_sshcert c;
	long n = 0;

	while (bench_now_us() < end) {
		if (ct_sshcert_parse(blob, len, &c, &err) != CT_OK ||
		    ct_sshcert_verify(&c, &err) != CT_OK ||
		    ct_sshcert_check(&c, CT_SSHCERT_USER, "alice", 1767225600, 60, &err) != CT_OK) {
			fprintf(stderr, "bench_sshcert: %s\n", err.msg);
			return -1;
		}
		ct_sshcert_free(&c);
		n++;
	}
	return (double)n * 1e6 / (bench_now_us() - start);
}

/* A user certificate for a new Ed25519 key signed by CA. */
static int
make_cert(EVP_PKEY *ca, unsigned char **blob, size_t *len)
{
	struct ct_sshcert_fields f = {0};
	struct ct_err err = {0};
	EVP_PKEY *subject = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	int rc;

	f.key = subject;
	f.serial = 0x1234567890abcdefull;
	f.type = CT_SSHCERT_USER;
	f.key_id = "certtoken:alice:web:0A1B2C3D4E5F";
	f.principals = principals;
	f.n_principals = 1;
	f.valid_after = 1767225600 - 300;
	f.valid_before = 1767225600 + 28800;
	f.extensions = extensions;
	f.n_extensions = 2;
	rc = subject != NULL ? ct_sshcert_sign(&f, ca, NULL, blob, len, NULL, &err) : -1;
	if (rc != CT_OK)
		fprintf(stderr, "bench_sshcert: %s\n", err.msg);
	EVP_PKEY_free(subject);
	return rc;
}

int
main(int argc, char **argv)
{
	int ecdsa = argc == 3 && strcmp(argv[1], "ec-p256") == 0;
	double secs = argc == 3 ? atof(argv[2]) : 0, ours, raw;
	EVP_PKEY *ca;
	unsigned char *blob = NULL, *sig = NULL;
	size_t len = 0, sig_len = 0;
	struct ct_err err = {0};
	struct ct_sshcert c;

	if (secs <= 0 || (!ecdsa && strcmp(argv[1], "ed25519") != 0)) {
		fprintf(stderr, "usage: bench_sshcert ed25519|ec-p256 SECONDS\n");
		return 64;
	}
	ca = ecdsa ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
	           : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (ca == NULL || make_cert(ca, &blob, &len) != CT_OK ||
	    ct_sshcert_parse(blob, len, &c, &err) != CT_OK ||
	    raw_signature(&c, ecdsa, &sig, &sig_len) != 0)
		return 70;
	raw = raw_verify_rate(ca, ecdsa ? "SHA256" : NULL, &c, sig, sig_len, secs);
	ours = parse_verify_rate(blob, len, secs);
	if (raw <= 0 || ours <= 0)
		return 70;
	printf("sshcert %-8s (%zu bytes): parse+verify+check %8.0f/s  raw EVP_DigestVerify %8.0f/s"
	       "  ratio raw/ours %.2f (target <= 3)\n",
	    argv[1], len, ours, raw, raw / ours);
	ct_sshcert_free(&c);
	OPENSSL_free(sig);
	free(blob);
	EVP_PKEY_free(ca);
	return 0;
}
