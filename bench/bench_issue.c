/* In-process issuance rate beside the raw signing rate of the same key type,
 * measured in the same run.
 *   bench_issue KEYTYPE SECONDS      KEYTYPE: ec-p256 | ed25519 | rsa2048 ... */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "issue.h"
#include "store.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Raw signatures per second with KEY: one-shot EVP_DigestSign over a
 * certificate-sized message (about what X509_sign hashes). */
static double
raw_sign_rate(EVP_PKEY *key, const char *md, double seconds)
{
	unsigned char msg[400], sig[1024];
	double start = now_s(), end = start + seconds;
	long n = 0;

	memset(msg, 0x5a, sizeof(msg));
	while (now_s() < end) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		size_t siglen = sizeof(sig);
		if (EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)) != 1)
			return -1;
		EVP_MD_CTX_free(ctx);
		n++;
	}
	return (double)n / (now_s() - start);
}

static double
issue_rate(
    struct ct_issuer *is, struct ct_attrs *a, const unsigned char *spki, size_t len, double seconds)
{
	double start = now_s(), end = start + seconds;
	struct ct_err err = {0};
	unsigned char *der;
	size_t der_len;
	long n = 0;

	while (now_s() < end) {
		der = NULL;
		if (ct_issue(is, a, spki, len, time(NULL), &der, &der_len, &err) != CT_OK) {
			fprintf(stderr, "issue failed: %s\n", err.msg);
			return -1;
		}
		free(der);
		n++;
	}
	return (double)n / (now_s() - start);
}

static EVP_PKEY *
load_key(const char *dir)
{
	char path[128];
	EVP_PKEY *k;
	FILE *f;

	snprintf(path, sizeof(path), "%s/groups/bench/ca.key", dir);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static const char *
digest_of(const char *key_type)
{
	if (strcmp(key_type, "ed25519") == 0)
		return NULL;
	return strcmp(key_type, "ec-p384") == 0 ? "SHA384" : "SHA256";
}

static const char conf_fmt[] =
    "store: { path = \"%s\"; };\n"
    "access_groups = ( { name = \"bench\"; key_type = \"%s\"; } );\n"
    "targets = ( { name = \"api\"; access_group = \"bench\";\n"
    "  subject = \"CN=%%unix_account%%/O=Developers/OU=Team A\"; san = \"UPN=%%principal%%\";\n"
    "  lifetime = 3600; backdate = 60; } );\n";

int
main(int argc, char **argv)
{
	const char *kt = argc > 1 ? argv[1] : "ec-p256";
	double secs = argc > 2 ? atof(argv[2]) : 3.0, issue, raw;
	char dir[] = "/tmp/ct-bench-XXXXXX", text[1024], cmd[64];
	struct ct_config *cfg = NULL;
	struct ct_err err = {0};
	struct ct_issuer *is = NULL;
	struct ct_attrs *a = ct_attrs_new();
	struct ct_ca *ca = NULL;
	struct ct_store *st = NULL;
	unsigned char *spki = NULL;
	EVP_PKEY *leaf, *cakey;
	int len;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(text, sizeof(text), conf_fmt, dir, kt);
	if (ct_config_load_string(text, "bench", &cfg, NULL, &err) != CT_OK ||
	    ct_store_open(cfg, 0, &st, &err) != CT_OK ||
	    ct_ca_init(st, &cfg->groups[0], time(NULL), &err) != CT_OK ||
	    ct_ca_load(st, &cfg->groups[0], &ca, &err) != CT_OK ||
	    ct_issuer_new(&cfg->targets[0], ca, &is, &err) != CT_OK ||
	    ct_attrs_set(a, "unix_account", "alice", &err) != CT_OK ||
	    ct_attrs_set(a, "principal", "alice@example.org", &err) != CT_OK) {
		fprintf(stderr, "bench_issue: %s\n", err.msg);
		return 1;
	}
	leaf = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	len = i2d_PUBKEY(leaf, &spki);
	/* the CA's own key signs in both loops */
	if ((cakey = load_key(dir)) == NULL)
		return 1;
	raw = raw_sign_rate(cakey, digest_of(kt), secs);
	issue = issue_rate(is, a, spki, (size_t)len, secs);
	printf("%-8s raw_sign/s %9.0f  issue/s %9.0f  ratio %.2f\n", kt, raw, issue, issue / raw);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	OPENSSL_free(spki);
	EVP_PKEY_free(leaf);
	EVP_PKEY_free(cakey);
	ct_issuer_free(is);
	ct_ca_free(ca);
	ct_store_close(st);
	ct_attrs_free(a);
	ct_config_free(cfg);
	return issue > 0 && raw > 0 ? 0 : 1;
}
