/* certtoken-enroll: the certificate-token commands besides `enroll`.
 *
 *   request --csr FILE [--attestation FILE] [--target T] [--out FILE]
 *       a CSR made by any tool (a hardware token, openssl), optionally with
 *       the key-attestation certificate(s) of its key;
 *   fetch [TOKEN] [--out FILE]
 *       collect the certificate of a pending request;
 *   upload --cert FILE [--key FILE]
 *       attach an existing certificate, proving possession of its key;
 *   keygen [--target T] --out FILE.p12 [--pin] [--legacy]
 *       the service makes the key pair and returns it as a PKCS#12. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certindex.h"
#include "conf.h"
#include "enroll.h"
#include "issue.h"
#include "keyproof.h"
#include "store.h"
#include "tokens.h"

#define INPUT_MAX (64 * 1024) /* bytes of a CSR or certificate file we read */

/* Read all of the user's file PATH (at most MAX bytes) into a new buffer. */
static int
read_input(const char *path, size_t max, unsigned char **out, size_t *len, struct ct_err *err)
{
	struct ct_open_policy pol = {CT_OWNER_ANY, 0, 0, max, 1, 0, NULL};
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ct_safe_read(path, &pol, &buf, &n, err)) != CT_OK)
		return rc == CT_ENOMEM ? rc : CT_EINVAL;
	if (n == 0) {
		free(buf);
		return ct_err_set(err, CT_EINVAL, "%s: empty", path);
	}
	*out = buf;
	*len = n;
	return CT_OK;
}

/* A text field of M into OUT, or a protocol error. */
static int
result_text(struct client *cl, const struct ct_msg *m, uint8_t tag, char *out, size_t size)
{
	const struct ct_field *f = ct_msg_get(m, tag);
	struct ct_err err = {0};

	if (f == NULL || ct_field_text(f, out, size, &err) != CT_OK || out[0] == '\0')
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: incomplete result");
	return CT_OK;
}

/* The certificate in M's CERT field. */
static int
result_cert(struct client *cl, const struct ct_msg *m, X509 **out)
{
	const struct ct_field *f = ct_msg_get(m, CT_TAG_CERT);
	const unsigned char *p;

	if (f == NULL)
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: no certificate");
	p = f->val;
	if ((*out = d2i_X509(NULL, &p, f->len)) == NULL || p != f->val + f->len) {
		X509_free(*out);
		*out = NULL;
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: malformed certificate");
	}
	return CT_OK;
}

/* Certificate X as PEM to PATH (atomically, 0644) or, when PATH is NULL,
 * to standard output. */
static int
emit_cert(struct client *cl, X509 *x, const char *path)
{
	if (path != NULL)
		return write_pem(path, cert_writer, x, 0644, &cl->err);
	if (PEM_write_X509(stdout, x) != 1 || fflush(stdout) != 0)
		return ct_err_set(
		    &cl->err, CT_EIO, "cannot write the certificate: %s", strerror(errno));
	return CT_OK;
}

/* ---- request ---- */

int
cmd_request(struct client *cl, int argc, char **argv)
{
	static const struct option opts[] = {{"csr", required_argument, NULL, 'c'},
	    {"attestation", required_argument, NULL, 'a'}, {"target", required_argument, NULL, 't'},
	    {"out", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
	const char *csr_path = NULL, *att_path = NULL, *target = NULL, *out = NULL;
	unsigned char *csr = NULL, *att = NULL;
	size_t csr_len = 0, att_len = 0;
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	char token[CT_SERIAL_MAX], got_target[CT_NAME_MAX + 1];
	X509 *x = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': csr_path = optarg; break;
		case 'a': att_path = optarg; break;
		case 't': target = optarg; break;
		case 'o': out = optarg; break;
		default:
			return usage_error(
			    "request --csr FILE [--attestation FILE] [--target TARGET] "
			    "[--out FILE]");
		}
	}
	if (optind != argc || csr_path == NULL)
		return usage_error("request needs --csr FILE and takes no other arguments");
	if (target != NULL && !ct_name_valid(target))
		return usage_error("--target: not a target name");
	if ((rc = read_input(csr_path, INPUT_MAX, &csr, &csr_len, &cl->err)) != CT_OK ||
	    (att_path != NULL &&
	        (rc = read_input(att_path, CT_ATTEST_MAX, &att, &att_len, &cl->err)) != CT_OK))
		goto done;
	if ((rc = connect_service(cl)) != CT_OK)
		goto done;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_ENROLL)) != CT_OK) {
		ct_err_set(&cl->err, rc, "out of memory");
		goto done;
	}
	if (target != NULL)
		ct_msgbuf_add_str(&b, CT_TAG_TARGET, target);
	ct_msgbuf_add(&b, CT_TAG_CSR, csr, csr_len);
	if (att != NULL)
		ct_msgbuf_add(&b, CT_TAG_ATTESTATION, att, att_len);
	if ((rc = exchange(cl, &b, &m)) != CT_OK)
		goto done; /* pending (75) included: the message names the token */
	if ((rc = result_text(cl, &m, CT_TAG_TOKEN, token, sizeof(token))) != CT_OK ||
	    (rc = result_text(cl, &m, CT_TAG_TARGET, got_target, sizeof(got_target))) != CT_OK ||
	    (rc = result_cert(cl, &m, &x)) != CT_OK || (rc = emit_cert(cl, x, out)) != CT_OK)
		goto done;
	if (out != NULL)
		print_cert(x, got_target, token, "");
	else
		fprintf(stderr, PROG ": issued for target %s, token %s\n", got_target, token);
done:
	X509_free(x);
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	free(csr);
	free(att);
	return rc == CT_OK ? 0 : fail(cl, rc);
}

/* ---- fetch ---- */

/* Fetch TOKEN.  When a key of ours waits for it (pending-TOKEN.key in its
 * target's directory), key and certificate become that target's pair;
 * otherwise the certificate goes to OUT (or standard output). */
static int
fetch_one(struct client *cl, const char *token, const char *out)
{
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	char target[CT_NAME_MAX + 1], got[CT_SERIAL_MAX], dir[4096], path[4300];
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	FILE *f;
	int rc;

	if (cl->fd >= 0) {
		close(cl->fd);
		cl->fd = -1;
	}
	if ((rc = connect_service(cl)) != CT_OK)
		return rc;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_FETCH)) != CT_OK)
		return ct_err_set(&cl->err, rc, "out of memory");
	ct_msgbuf_add_str(&b, CT_TAG_TOKEN, token);
	if ((rc = exchange(cl, &b, &m)) != CT_OK ||
	    (rc = result_text(cl, &m, CT_TAG_TARGET, target, sizeof(target))) != CT_OK ||
	    (rc = result_text(cl, &m, CT_TAG_TOKEN, got, sizeof(got))) != CT_OK ||
	    (rc = result_cert(cl, &m, &x)) != CT_OK)
		goto out;
	if (!ct_name_valid(target) || strcmp(got, token) != 0) {
		rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: answer for another token");
		goto out;
	}
	if ((rc = enroll_target_dir(target, dir, sizeof(dir), &cl->err)) != CT_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/pending-%s.key", dir, token);
	if ((f = fopen(path, "re")) == NULL) {
		rc = emit_cert(cl, x, out);
		if (rc == CT_OK && out != NULL)
			print_cert(x, target, token, "");
		goto out;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL || EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1) {
		rc = ct_err_set(&cl->err, CT_EINVAL,
		    "the certificate of token %s is not for the key kept in %s", token, path);
		goto out;
	}
	if ((rc = install_pair(target, key, x, dir, sizeof(dir), &cl->err)) != CT_OK)
		goto out;
	unlink(path);
	print_cert(x, target, token, dir);
out:
	EVP_PKEY_free(key);
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
cmd_fetch(struct client *cl, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
	const char *out = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'o')
			return usage_error("fetch [TOKEN] [--out FILE]");
		out = optarg;
	}
	if (argc - optind > 1)
		return usage_error("fetch takes at most one token serial");
	if (optind == argc) {
		if (out != NULL)
			return usage_error("fetch: --out needs a token serial");
		rc = fetch_all(cl);
		/* each failure was printed already */
		return rc == CT_OK ? 0 : ct_exit_status(rc);
	}
	if (!ct_name_valid(argv[optind]))
		return usage_error("fetch: not a token serial");
	rc = fetch_one(cl, argv[optind], out);
	return rc == CT_OK ? 0 : fail(cl, rc);
}

/* ---- upload ---- */

struct upload {
	EVP_PKEY *key;
	unsigned char *cert; /* DER */
	size_t cert_len;
	const char *user;
};

/* Sign the service's nonce: the proof that we hold the certificate's key. */
static int
answer_challenge(struct client *cl, const struct ct_msg *m)
{
	const struct upload *u = cl->challenge_arg;
	const struct ct_field *f = ct_msg_get(m, CT_TAG_NONCE);
	unsigned char *msg = NULL, *sig = NULL;
	size_t msg_len = 0, sig_len = 0;
	struct ct_msgbuf b = {0};
	int rc;

	if (f == NULL || f->len != CT_POP_NONCE_LEN)
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: bad challenge");
	if ((rc = ct_pop_message(
	         f->val, u->user, u->cert, u->cert_len, &msg, &msg_len, &cl->err)) != CT_OK ||
	    (rc = ct_pop_sign(u->key, msg, msg_len, &sig, &sig_len, &cl->err)) != CT_OK)
		goto out;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_PROOF)) != CT_OK) {
		rc = ct_err_set(&cl->err, rc, "out of memory");
		goto out;
	}
	ct_msgbuf_add(&b, CT_TAG_SIGNATURE, sig, sig_len);
	rc = ct_msg_send(cl->fd, &b, ct_now_ms() + 60000, &cl->err);
out:
	ct_msgbuf_free(&b);
	free(sig);
	free(msg);
	return rc;
}

int
cmd_upload(struct client *cl, int argc, char **argv)
{
	static const struct option opts[] = {{"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
	const char *cert_path = NULL, *key_path = NULL;
	struct upload u = {0};
	struct ct_cert_info info;
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	struct passwd *pw;
	unsigned char *data = NULL, *kdata = NULL;
	size_t len = 0, klen = 0;
	char token[CT_SERIAL_MAX];
	X509 *x = NULL;
	BIO *bio = NULL;
	int c, n, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cert_path = optarg; break;
		case 'k': key_path = optarg; break;
		default: return usage_error("upload --cert FILE [--key FILE]");
		}
	}
	if (optind != argc || cert_path == NULL)
		return usage_error("upload needs --cert FILE and takes no other arguments");
	if ((pw = getpwuid(getuid())) == NULL)
		return usage_error("your uid has no user name");
	u.user = pw->pw_name;
	if ((rc = read_input(cert_path, INPUT_MAX, &data, &len, &cl->err)) != CT_OK)
		goto out;
	/* a PEM file may hold the key too: take the first certificate block */
	if (strstr((char *)data, "-----BEGIN") != NULL) {
		X509 *y = NULL;
		if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL ||
		    (y = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
		    (n = i2d_X509(y, &u.cert)) <= 0) {
			X509_free(y);
			rc = ct_err_set(
			    &cl->err, CT_EINVAL, "%s: no PEM certificate in it", cert_path);
			goto out;
		}
		X509_free(y);
		u.cert_len = (size_t)n;
		BIO_free(bio);
		bio = NULL;
	} else if ((u.cert = OPENSSL_memdup(data, len)) != NULL)
		u.cert_len = len;
	if ((rc = ct_cert_parse(u.cert, u.cert_len, &x, &info, &cl->err)) != CT_OK) {
		ct_err_prefix(&cl->err, "%s: ", cert_path);
		goto out;
	}
	if (key_path == NULL)
		key_path = cert_path;
	if ((rc = read_input(key_path, INPUT_MAX, &kdata, &klen, &cl->err)) != CT_OK)
		goto out;
	if ((bio = BIO_new_mem_buf(kdata, (int)klen)) == NULL ||
	    (u.key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		rc = ct_err_set(&cl->err, CT_EINVAL,
		    "%s: no unencrypted PEM private key in it (--key FILE)", key_path);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(x), u.key) != 1) {
		rc = ct_err_set(
		    &cl->err, CT_EINVAL, "%s: the key does not belong to %s", key_path, cert_path);
		goto out;
	}
	if ((rc = connect_service(cl)) != CT_OK)
		goto out;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_UPLOAD)) != CT_OK) {
		rc = ct_err_set(&cl->err, rc, "out of memory");
		goto out;
	}
	ct_msgbuf_add(&b, CT_TAG_CERT, u.cert, u.cert_len);
	cl->challenge = answer_challenge;
	cl->challenge_arg = &u;
	if ((rc = exchange(cl, &b, &m)) != CT_OK ||
	    (rc = result_text(cl, &m, CT_TAG_TOKEN, token, sizeof(token))) != CT_OK)
		goto out;
	printf("token:      %s\nserial:     %s\nissuer:     %s\nsubject:    %s\n", token,
	    info.serial, info.issuer, info.subject);
out:
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(u.key);
	OPENSSL_free(u.cert);
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	free(data);
	if (kdata != NULL)
		OPENSSL_clear_free(kdata, klen + 1);
	return rc == CT_OK ? 0 : fail(cl, rc);
}

/* ---- keygen ---- */

/* Ask for the PIN twice at the terminal. */
static int
read_pin(struct client *cl, char *pin, size_t size)
{
	struct term t = {0};
	char again[CT_PROTO_TEXT_MAX];
	int rc = CT_OK;

	term_open(&t);
	if (ask(&t, "PIN for the PKCS#12: ", 1, pin, size) != 0 ||
	    ask(&t, "PIN again: ", 1, again, sizeof(again)) != 0)
		rc = ct_err_set(&cl->err, CT_EUSAGE, "no PIN given");
	else if (strlen(pin) != strlen(again) || CRYPTO_memcmp(pin, again, strlen(pin)) != 0)
		rc = ct_err_set(&cl->err, CT_EUSAGE, "the two PINs differ");
	OPENSSL_cleanse(again, sizeof(again));
	term_close(&t);
	return rc;
}

int
cmd_keygen(struct client *cl, int argc, char **argv)
{
	static const struct option opts[] = {{"target", required_argument, NULL, 't'},
	    {"out", required_argument, NULL, 'o'}, {"pin", no_argument, NULL, 'p'},
	    {"legacy", no_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
	const char *target = NULL, *out = NULL;
	const struct ct_field *p12, *pw;
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	char pin[CT_PROTO_TEXT_MAX] = "", password[CT_PROTO_TEXT_MAX] = "";
	char token[CT_SERIAL_MAX], got_target[CT_NAME_MAX + 1];
	unsigned char legacy = 0;
	int c, use_pin = 0, rc;
	struct stat st;
	X509 *x = NULL;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'o': out = optarg; break;
		case 'p': use_pin = 1; break;
		case 'l': legacy = 1; break;
		default:
			return usage_error(
			    "keygen [--target TARGET] --out FILE.p12 [--pin] [--legacy]");
		}
	}
	if (optind != argc || out == NULL)
		return usage_error("keygen needs --out FILE.p12 and takes no other arguments");
	if (target != NULL && !ct_name_valid(target))
		return usage_error("--target: not a target name");
	/* the key exists once: make sure it can be written before asking for it */
	if (lstat(out, &st) == 0) {
		ct_err_set(
		    &cl->err, CT_EEXIST, "%s: exists; choose another name or remove it", out);
		return fail(cl, CT_EEXIST);
	}
	if (use_pin && (rc = read_pin(cl, pin, sizeof(pin))) != CT_OK)
		goto done;
	if ((rc = connect_service(cl)) != CT_OK)
		goto done;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_KEYGEN)) != CT_OK) {
		rc = ct_err_set(&cl->err, rc, "out of memory");
		goto done;
	}
	if (target != NULL)
		ct_msgbuf_add_str(&b, CT_TAG_TARGET, target);
	if (use_pin)
		ct_msgbuf_add_str(&b, CT_TAG_PIN, pin);
	if (legacy)
		ct_msgbuf_add(&b, CT_TAG_LEGACY, &legacy, 1);
	if ((rc = exchange(cl, &b, &m)) != CT_OK ||
	    (rc = result_text(cl, &m, CT_TAG_TOKEN, token, sizeof(token))) != CT_OK ||
	    (rc = result_text(cl, &m, CT_TAG_TARGET, got_target, sizeof(got_target))) != CT_OK ||
	    (rc = result_cert(cl, &m, &x)) != CT_OK)
		goto done;
	if ((p12 = ct_msg_get(&m, CT_TAG_PKCS12)) == NULL || p12->len == 0) {
		rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: no PKCS#12");
		goto done;
	}
	pw = ct_msg_get(&m, CT_TAG_PASSWORD);
	if (!use_pin &&
	    (pw == NULL || ct_field_text(pw, password, sizeof(password), &cl->err) != CT_OK ||
	        password[0] == '\0')) {
		rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: no password for the PKCS#12");
		goto done;
	}
	if ((rc = ct_file_write_atomic(out, p12->val, p12->len, 0600, 1, &cl->err)) != CT_OK) {
		ct_err_prefix(&cl->err, "the key is lost (ask for a new one): ");
		goto done;
	}
	print_cert(x, got_target, token, "");
	printf("pkcs12:     %s (%s)\n", out,
	    legacy ? "legacy: 3DES, SHA-1 MAC" : "AES-256-CBC, PBKDF2, SHA-256 MAC");
	if (use_pin)
		printf("password:   your PIN\n");
	else
		printf("password:   %s\n            (shown only now: it is not stored anywhere)\n",
		    password);
	fflush(stdout);
done:
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(password, sizeof(password));
	X509_free(x);
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	return rc == CT_OK ? 0 : fail(cl, rc);
}
