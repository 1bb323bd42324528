/* certtoken-enroll: the certificate-token commands for a key made elsewhere.
 *
 *   request --csr FILE [--attestation FILE] [--target T] [--out FILE]
 *       a CSR made by any tool (a hardware token, openssl), optionally with
 *       the key-attestation certificate(s) of its key;
 *   fetch [TOKEN] [--out FILE]
 *       collect the certificate of a pending request (of `request` or of
 *       `enroll`, whose key waits in pending-TOKEN.key). */
#include "config.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conf.h"
#include "enroll.h"
#include "keyproof.h"
#include "tokens.h"
#include "util.h"

#define INPUT_MAX (64 * 1024) /* bytes of a CSR or certificate file we read */

/* ---- request ---- */

struct request {
	const char *csr_path, *att_path, *target, *out;
};

/* The options into R: 0, or the exit status of a usage error. */
static int
parse_request_args(int argc, char **argv, struct request *r)
{
	const struct ct_opt opts[] = {{"csr", &r->csr_path, NULL},
	    {"attestation", &r->att_path, NULL}, {"target", &r->target, NULL},
	    {"out", &r->out, NULL}, {NULL, NULL, NULL}};

	if (ct_opts_parse(argc, argv, opts) != CT_OK)
		return enroll_usage_error(
		    "request --csr FILE [--attestation FILE] [--target TARGET] [--out FILE]");
	if (optind != argc || r->csr_path == NULL)
		return enroll_usage_error("request needs --csr FILE and takes no other arguments");
	if (r->target != NULL && !ct_name_valid(r->target))
		return enroll_usage_error("--target: not a target name");
	return 0;
}

/* Read R's CSR (and attestation) and send them: the result in M.  Pending
 * (75) included: the service's message names the token. */
static int
send_request(struct client *cl, const struct request *r, struct ct_msg *m)
{
	unsigned char *csr = NULL, *att = NULL;
	size_t csr_len = 0, att_len = 0;
	struct ct_msgbuf b = {0};
	int rc;

	if ((rc = enroll_read_input(r->csr_path, INPUT_MAX, &csr, &csr_len, &cl->err)) != CT_OK ||
	    (r->att_path != NULL &&
	        (rc = enroll_read_input(r->att_path, CT_ATTEST_MAX, &att, &att_len, &cl->err)) !=
	            CT_OK) ||
	    (rc = enroll_connect(cl)) != CT_OK)
		goto out;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_ENROLL)) != CT_OK) {
		ct_err_set(&cl->err, rc, "out of memory");
		goto out;
	}
	if (r->target != NULL)
		ct_msgbuf_add_str(&b, CT_TAG_TARGET, r->target);
	ct_msgbuf_add(&b, CT_TAG_CSR, csr, csr_len);
	if (att != NULL)
		ct_msgbuf_add(&b, CT_TAG_ATTESTATION, att, att_len);
	rc = enroll_exchange(cl, &b, m);
out:
	ct_msgbuf_free(&b);
	free(csr);
	free(att);
	return rc;
}

int
enroll_cmd_request(struct client *cl, int argc, char **argv)
{
	struct request r = {0};
	struct ct_msg m = {0};
	char token[CT_SERIAL_MAX], got_target[CT_NAME_MAX + 1];
	X509 *x = NULL;
	int rc;

	if ((rc = parse_request_args(argc, argv, &r)) != 0)
		return rc;
	if ((rc = send_request(cl, &r, &m)) != CT_OK ||
	    (rc = enroll_result_text(cl, &m, CT_TAG_TOKEN, token, sizeof(token))) != CT_OK ||
	    (rc = enroll_result_text(cl, &m, CT_TAG_TARGET, got_target, sizeof(got_target))) !=
	        CT_OK ||
	    (rc = enroll_result_cert(cl, &m, &x)) != CT_OK ||
	    (rc = enroll_emit_cert(cl, x, r.out)) != CT_OK)
		goto out;
	if (r.out != NULL)
		enroll_print_cert(x, got_target, token, "");
	else
		fprintf(stderr, PROG ": issued for target %s, token %s\n", got_target, token);
out:
	X509_free(x);
	ct_msg_free(&m);
	return rc == CT_OK ? 0 : enroll_fail(cl, rc);
}

/* ---- fetch ---- */

/* The certificate X of TOKEN for TARGET: when a key of ours waits for it
 * (pending-TOKEN.key in the target's directory), key and certificate
 * become that target's pair; otherwise X goes to OUT (or standard output). */
static int
store_fetched(struct client *cl, X509 *x, const char *target, const char *token, const char *out)
{
	char dir[4096], path[4300];
	EVP_PKEY *key = NULL;
	FILE *f;
	int rc;

	if ((rc = enroll_target_dir(target, dir, sizeof(dir), &cl->err)) != CT_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/pending-%s.key", dir, token);
	if ((f = fopen(path, "re")) == NULL) {
		rc = enroll_emit_cert(cl, x, out);
		if (rc == CT_OK && out != NULL)
			enroll_print_cert(x, target, token, "");
		return rc;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL || EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1)
		rc = ct_err_set(&cl->err, CT_EINVAL,
		    "the certificate of token %s is not for the key kept in %s", token, path);
	else if ((rc = enroll_install_pair(target, key, x, dir, sizeof(dir), &cl->err)) == CT_OK) {
		unlink(path);
		enroll_print_cert(x, target, token, dir);
	}
	EVP_PKEY_free(key);
	return rc;
}

/* Fetch TOKEN and store what comes (store_fetched). */
static int
fetch_one(struct client *cl, const char *token, const char *out)
{
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	char target[CT_NAME_MAX + 1], got[CT_SERIAL_MAX];
	X509 *x = NULL;
	int rc;

	if ((rc = enroll_connect(cl)) != CT_OK)
		return rc;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_FETCH)) != CT_OK)
		return ct_err_set(&cl->err, rc, "out of memory");
	ct_msgbuf_add_str(&b, CT_TAG_TOKEN, token);
	if ((rc = enroll_exchange(cl, &b, &m)) != CT_OK ||
	    (rc = enroll_result_text(cl, &m, CT_TAG_TARGET, target, sizeof(target))) != CT_OK ||
	    (rc = enroll_result_text(cl, &m, CT_TAG_TOKEN, got, sizeof(got))) != CT_OK ||
	    (rc = enroll_result_cert(cl, &m, &x)) != CT_OK)
		goto out;
	if (!ct_name_valid(target) || strcmp(got, token) != 0)
		rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: answer for another token");
	else
		rc = store_fetched(cl, x, target, token, out);
out:
	X509_free(x);
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	return rc;
}

/* Every pending-TOKEN.key under the configuration directory: fetch each. */
static int
fetch_all(struct client *cl)
{
	char base[4096], dir[4400], token[CT_SERIAL_MAX];
	struct dirent *t, *k;
	DIR *top, *sub;
	size_t n;
	int rc, worst = CT_OK, found = 0;

	if ((rc = enroll_target_dir("", base, sizeof(base), &cl->err)) != CT_OK)
		return rc;
	if ((top = opendir(base)) == NULL)
		return ct_err_set(&cl->err, CT_EINVAL,
		    "no pending request in %s; name the token (see '" PROG " status')", base);
	while ((t = readdir(top)) != NULL) {
		if (!ct_name_valid(t->d_name))
			continue;
		snprintf(dir, sizeof(dir), "%s%s", base, t->d_name);
		if ((sub = opendir(dir)) == NULL)
			continue;
		while ((k = readdir(sub)) != NULL) {
			n = strlen(k->d_name);
			if (strncmp(k->d_name, "pending-", 8) != 0 || n < 13 ||
			    strcmp(k->d_name + n - 4, ".key") != 0 || n - 12 >= sizeof(token))
				continue;
			snprintf(token, sizeof(token), "%.*s", (int)(n - 12), k->d_name + 8);
			found = 1;
			ct_err_clear(&cl->err);
			rc = fetch_one(cl, token, NULL);
			if (rc != CT_OK)
				fprintf(stderr, PROG ": %s\n", cl->err.msg);
			/* the first real failure wins over "still pending" */
			if (rc != CT_OK && (worst == CT_OK || worst == CT_EPENDING))
				worst = rc;
		}
		closedir(sub);
	}
	closedir(top);
	ct_err_clear(&cl->err);
	if (!found)
		return ct_err_set(&cl->err, CT_EINVAL,
		    "no pending request in %s; name the token (see '" PROG " status')", base);
	return worst;
}

int
enroll_cmd_fetch(struct client *cl, int argc, char **argv)
{
	const char *out = NULL;
	const struct ct_opt opts[] = {{"out", &out, NULL}, {NULL, NULL, NULL}};
	int rc;

	if (ct_opts_parse(argc, argv, opts) != CT_OK)
		return enroll_usage_error("fetch [TOKEN] [--out FILE]");
	if (argc - optind > 1)
		return enroll_usage_error("fetch takes at most one token serial");
	if (optind == argc) {
		if (out != NULL)
			return enroll_usage_error("fetch: --out needs a token serial");
		rc = fetch_all(cl);
		/* each failure was printed already */
		return rc == CT_OK ? 0 : ct_exit_status(rc);
	}
	if (!ct_name_valid(argv[optind]))
		return enroll_usage_error("fetch: not a token serial");
	rc = fetch_one(cl, argv[optind], out);
	return rc == CT_OK ? 0 : enroll_fail(cl, rc);
}
