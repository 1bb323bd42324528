/* certtoken-enroll keygen [--target T] --out FILE.p12 [--pin] [--legacy]:
 * the service makes the key pair and returns it as a PKCS#12, encrypted
 * with the user's PIN or with a one-time password shown once. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "conf.h"
#include "enroll.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

struct keygen {
	const char *target, *out;
	int use_pin, legacy;
	char pin[CT_PROTO_TEXT_MAX]; /* secret */
};

/* What the service answered. */
struct keygen_result {
	char token[CT_SERIAL_MAX], target[CT_NAME_MAX + 1];
	char password[CT_PROTO_TEXT_MAX]; /* secret; "" with a PIN */
	X509 *x;
	const struct ct_field *p12; /* in the result message */
};

/* The options into K: 0, or the exit status of a usage error. */
static int
parse_args(int argc, char **argv, struct keygen *k)
{
	const struct ct_opt opts[] = {{"target", &k->target, NULL}, {"out", &k->out, NULL},
	    {"pin", NULL, &k->use_pin}, {"legacy", NULL, &k->legacy}, {NULL, NULL, NULL}};

	if (ct_opts_parse(argc, argv, opts) != CT_OK)
		return enroll_usage_error(
		    "keygen [--target TARGET] --out FILE.p12 [--pin] [--legacy]");
	if (optind != argc || k->out == NULL)
		return enroll_usage_error(
		    "keygen needs --out FILE.p12 and takes no other arguments");
	if (k->target != NULL && !ct_name_valid(k->target))
		return enroll_usage_error("--target: not a target name");
	return 0;
}

/* Ask for the PIN twice at the terminal. */
static int
read_pin(struct client *cl, char *pin, size_t size)
{
	struct term t = {0};
	char again[CT_PROTO_TEXT_MAX];
	int rc = CT_OK;

	enroll_term_open(&t);
	if (enroll_ask(&t, "PIN for the PKCS#12: ", 1, pin, size) != 0 ||
	    enroll_ask(&t, "PIN again: ", 1, again, sizeof(again)) != 0)
		rc = ct_err_set(&cl->err, CT_EUSAGE, "no PIN given");
	else if (strlen(pin) != strlen(again) || CRYPTO_memcmp(pin, again, strlen(pin)) != 0)
		rc = ct_err_set(&cl->err, CT_EUSAGE, "the two PINs differ");
	OPENSSL_cleanse(again, sizeof(again));
	enroll_term_close(&t);
	return rc;
}

/* Connect to a checked service; with --pin, ask for the PIN only then (the
 * service may have closed the idle connection meanwhile: connect again). */
static int
connect_then_pin(struct client *cl, struct keygen *k)
{
	int rc;

	if ((rc = enroll_connect(cl)) != CT_OK || !k->use_pin)
		return rc;
	if ((rc = read_pin(cl, k->pin, sizeof(k->pin))) != CT_OK)
		return rc;
	return enroll_reconnect_if_closed(cl);
}

/* Send K's request and take the answer from M into R. */
static int
send_keygen(struct client *cl, const struct keygen *k, struct ct_msg *m, struct keygen_result *r)
{
	static const unsigned char legacy = 1;
	struct ct_msgbuf b = {0};
	const struct ct_field *pw;
	int rc;

	if ((rc = ct_msgbuf_init(&b, CT_MSG_KEYGEN)) != CT_OK)
		return ct_err_set(&cl->err, rc, "out of memory");
	if (k->target != NULL)
		ct_msgbuf_add_str(&b, CT_TAG_TARGET, k->target);
	if (k->use_pin)
		ct_msgbuf_add_str(&b, CT_TAG_PIN, k->pin);
	if (k->legacy)
		ct_msgbuf_add(&b, CT_TAG_LEGACY, &legacy, 1);
	if ((rc = enroll_exchange(cl, &b, m)) != CT_OK ||
	    (rc = enroll_result_text(cl, m, CT_TAG_TOKEN, r->token, sizeof(r->token))) != CT_OK ||
	    (rc = enroll_result_text(cl, m, CT_TAG_TARGET, r->target, sizeof(r->target))) !=
	        CT_OK ||
	    (rc = enroll_result_cert(cl, m, &r->x)) != CT_OK)
		goto out;
	if ((r->p12 = ct_msg_get(m, CT_TAG_PKCS12)) == NULL || r->p12->len == 0) {
		rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: no PKCS#12");
		goto out;
	}
	pw = ct_msg_get(m, CT_TAG_PASSWORD);
	if (!k->use_pin &&
	    (pw == NULL || ct_field_text(pw, r->password, sizeof(r->password), &cl->err) != CT_OK ||
	        r->password[0] == '\0'))
		rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: no password for the PKCS#12");
out:
	ct_msgbuf_free(&b); /* wipes the PIN it holds */
	return rc;
}

/* Write the PKCS#12 of R to K's file and say how to open it. */
static int
save_p12(struct client *cl, const struct keygen *k, const struct keygen_result *r)
{
	int rc;

	if ((rc = ct_file_write_atomic(k->out, r->p12->val, r->p12->len, 0600, 1, &cl->err)) !=
	    CT_OK) {
		ct_err_prefix(&cl->err, "the key is lost (ask for a new one): ");
		return rc;
	}
	enroll_print_cert(r->x, r->target, r->token, "");
	printf("pkcs12:     %s (%s)\n", k->out,
	    k->legacy ? "legacy: 3DES, SHA-1 MAC" : "AES-256-CBC, PBKDF2, SHA-256 MAC");
	if (k->use_pin)
		printf("password:   your PIN\n");
	else
		printf("password:   %s\n            (shown only now: it is not stored anywhere)\n",
		    r->password);
	fflush(stdout);
	return CT_OK;
}

int
enroll_cmd_keygen(struct client *cl, int argc, char **argv)
{
	struct keygen k = {0};
	struct keygen_result r = {0};
	struct ct_msg m = {0};
	struct stat st;
	int rc;

	if ((rc = parse_args(argc, argv, &k)) != 0)
		return rc;
	/* the key exists once: make sure it can be written before asking for it */
	if (lstat(k.out, &st) == 0) {
		ct_err_set(
		    &cl->err, CT_EEXIST, "%s: exists; choose another name or remove it", k.out);
		return enroll_fail(cl, CT_EEXIST);
	}
	if ((rc = connect_then_pin(cl, &k)) == CT_OK && (rc = send_keygen(cl, &k, &m, &r)) == CT_OK)
		rc = save_p12(cl, &k, &r);
	OPENSSL_cleanse(k.pin, sizeof(k.pin));
	OPENSSL_cleanse(r.password, sizeof(r.password));
	X509_free(r.x);
	ct_msg_free(&m);
	return rc == CT_OK ? 0 : enroll_fail(cl, rc);
}
