/* certtoken-enroll: the user's half of the enroll helper.
 *
 * Runs as the user, with no privilege at all: the key pair is generated
 * here and the private key never leaves this process except into the
 * user's own key.pem; certtokend learns who we are from the kernel. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <security/_pam_types.h>

#include "certindex.h"
#include "conf.h"
#include "ct.h"
#include "enroll.h"
#include "issue.h"
#include "proto.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

#define DEFAULT_SOCKET "/run/certtoken/enroll.sock"
#define REPLY_MS (10 * 60 * 1000) /* the service answers well within its own deadline */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] [--socket PATH] COMMAND [ARGS]\n"
	    "commands:\n"
	    "  enroll [--target TARGET] [--key-type TYPE]\n"
	    "                 make a key pair here, prove who you are (OTP) to certtokend and\n"
	    "                 store the certificate under $XDG_CONFIG_HOME/certtoken/TARGET/\n"
	    "  request --csr FILE [--attestation FILE] [--target TARGET] [--out FILE]\n"
	    "                 have a CSR made elsewhere (e.g. on a hardware token) signed\n"
	    "  fetch [TOKEN] [--out FILE]\n"
	    "                 collect the certificate of a pending request (exit 75: still\n"
	    "                 pending)\n"
	    "  upload --cert FILE [--key FILE]\n"
	    "                 attach an existing certificate, proving you hold its key\n"
	    "  keygen [--target TARGET] --out FILE.p12 [--pin] [--legacy]\n"
	    "                 the service makes the key and returns an encrypted PKCS#12\n"
	    "  status [--json] list your tokens and their state\n"
	    "  respond [--whole] [CHALLENGE]\n"
	    "                 answer a login's certificate challenge (from the argument or\n"
	    "                 standard input; the whole prompt may be pasted)\n"
	    "TYPE: ec-p256 (default) ec-p384 ed25519 rsa2048 rsa3072 rsa4096\n");
}

int
fail(struct client *cl, int code)
{
	if (cl->err.msg[0] != '\0')
		fprintf(stderr, PROG ": %s\n", cl->err.msg);
	return ct_exit_status(code);
}

int
usage_error(const char *msg)
{
	fprintf(stderr, PROG ": %s (try '" PROG " --help')\n", msg);
	return ct_exit_status(CT_EUSAGE);
}

/* The socket: --socket, else the configuration's when it is readable, else
 * the default.  Only `socket` is taken from the configuration. */
static int
resolve_socket(struct client *cl)
{
	struct ct_config *cfg = NULL;
	int rc;

	if (cl->socket_path != NULL)
		return CT_OK;
	cl->socket_path = DEFAULT_SOCKET;
	if (access(cl->config_path, R_OK) != 0) {
		if (cl->config_explicit)
			return ct_err_set(
			    &cl->err, CT_ECONFIG, "%s: %s", cl->config_path, strerror(errno));
		return CT_OK;
	}
	if ((rc = ct_config_load(cl->config_path, cl->config_explicit, &cfg, NULL, &cl->err)) !=
	    CT_OK)
		return rc;
	cl->socket_owned = strdup(cfg->socket_path);
	ct_config_free(cfg);
	if (cl->socket_owned == NULL)
		return ct_err_set(&cl->err, CT_ENOMEM, "out of memory");
	cl->socket_path = cl->socket_owned;
	return CT_OK;
}

int
connect_service(struct client *cl)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int rc;

	if ((rc = resolve_socket(cl)) != CT_OK)
		return rc;
	if (strlen(cl->socket_path) >= sizeof(sa.sun_path))
		return ct_err_set(&cl->err, CT_EUSAGE, "%s: socket path too long", cl->socket_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cl->socket_path);
	if ((cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ct_err_set(&cl->err, CT_EUNAVAIL, "socket: %s", strerror(errno));
	if (connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = errno;
		close(cl->fd);
		cl->fd = -1;
		if (rc == ENOENT || rc == ECONNREFUSED)
			return ct_err_set(&cl->err, CT_EUNAVAIL,
			    "the enrollment service is not running (nothing listens on %s)",
			    cl->socket_path);
		return ct_err_set(&cl->err, CT_EUNAVAIL,
		    "cannot reach the enrollment service at %s: %s", cl->socket_path, strerror(rc));
	}
	return CT_OK;
}

/* ---- the conversation: the service's PAM prompts, answered at the terminal ---- */

void
term_open(struct term *t)
{
	t->in = fopen("/dev/tty", "re");
	t->out = t->in != NULL ? fopen("/dev/tty", "we") : NULL;
	if (t->in != NULL && t->out != NULL)
		t->own = 1;
	else {
		if (t->in != NULL)
			fclose(t->in);
		t->in = stdin;
		t->out = stderr;
		t->own = 0;
	}
	/* unbuffered: the OTP goes only into the answer buffer, which is wiped */
	setvbuf(t->in, NULL, _IONBF, 0);
}

void
term_close(struct term *t)
{
	if (t->own) {
		fclose(t->in);
		fclose(t->out);
	}
	t->in = t->out = NULL;
}

/* While echo is off, a signal that ends us must first turn it back on. */
static struct termios echo_saved;
static volatile sig_atomic_t echo_fd = -1;

static void
restore_echo(int sig)
{
	if (echo_fd >= 0)
		tcsetattr(echo_fd, TCSAFLUSH, &echo_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Show PROMPT and read one line into ANSWER, without echo when SECRET. */
int
ask(struct term *t, const char *prompt, int secret, char *answer, size_t size)
{
	struct termios old, quiet;
	int fd = fileno(t->in), restore = 0;
	size_t len;
	char *r;

	fputs(prompt, t->out);
	fflush(t->out);
	if (secret && isatty(fd) && tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		echo_saved = old;
		echo_fd = fd;
		signal(SIGINT, restore_echo);
		signal(SIGTERM, restore_echo);
		signal(SIGHUP, restore_echo);
		signal(SIGQUIT, restore_echo);
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	r = fgets(answer, (int)size, t->in);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	echo_fd = -1;
	if (!isatty(fd)) /* nobody typed a newline after the prompt */
		fputc('\n', t->out);
	if (r == NULL)
		return -1;
	len = strcspn(answer, "\r\n");
	answer[len] = '\0';
	return 0;
}

static int
converse(struct client *cl, struct term *t, const struct ct_msg *m)
{
	struct ct_msgbuf b;
	char text[CT_PROTO_TEXT_MAX], answer[CT_PROTO_TEXT_MAX];
	size_t i;
	int rc;

	if (m->n == 0 || m->n > CT_PROTO_PROMPTS_MAX)
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: %zu prompts", m->n);
	if (t->in == NULL)
		term_open(t);
	if ((rc = ct_msgbuf_init(&b, CT_MSG_CONV_REPLY)) != CT_OK)
		return ct_err_set(&cl->err, rc, "out of memory");
	for (i = 0; i < m->n; i++) {
		const struct ct_field *f = &m->f[i];
		struct ct_field body;

		if (f->tag != CT_TAG_PROMPT || f->len < 1) {
			rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: bad prompt");
			goto out;
		}
		body = (struct ct_field){f->tag, (uint16_t)(f->len - 1), f->val + 1};
		if ((rc = ct_field_text(&body, text, sizeof(text), &cl->err)) != CT_OK)
			goto out;
		answer[0] = '\0';
		switch (f->val[0]) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			if (ask(t, text, f->val[0] == PAM_PROMPT_ECHO_OFF, answer,
			        sizeof(answer)) != 0) {
				rc = ct_err_set(&cl->err, CT_EPERM, "no answer to \"%s\"", text);
				goto out;
			}
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO: fprintf(t->out, "%s\n", text); break;
		default:
			rc = ct_err_set(
			    &cl->err, CT_EINVAL, "protocol error: prompt style %u", f->val[0]);
			goto out;
		}
		ct_msgbuf_add_str(&b, CT_TAG_ANSWER, answer);
	}
	rc = ct_msg_send(cl->fd, &b, ct_now_ms() + REPLY_MS, &cl->err);
out:
	OPENSSL_cleanse(answer, sizeof(answer));
	ct_msgbuf_free(&b);
	return rc;
}

/* Send the request in B and run the exchange until the RESULT, which is
 * left in M.  A non-zero result code is printed and returned as CT_... */
int
exchange(struct client *cl, struct ct_msgbuf *b, struct ct_msg *m)
{
	const struct ct_field *f;
	struct term t = {0};
	char msg[CT_PROTO_TEXT_MAX];
	int rc, code;

	if ((rc = ct_msg_send(cl->fd, b, ct_now_ms() + REPLY_MS, &cl->err)) != CT_OK)
		goto broken;
	for (;;) {
		if ((rc = ct_msg_recv(cl->fd, m, ct_now_ms() + REPLY_MS, &cl->err)) != CT_OK)
			goto broken;
		if (m->type == CT_MSG_RESULT)
			break;
		if (m->type == CT_MSG_CHALLENGE && cl->challenge != NULL) {
			rc = cl->challenge(cl, m);
			ct_msg_free(m);
			if (rc != CT_OK)
				goto out;
			continue;
		}
		if (m->type != CT_MSG_CONV) {
			rc = ct_err_set(
			    &cl->err, CT_EINVAL, "protocol error: message type %u", m->type);
			goto out;
		}
		rc = converse(cl, &t, m);
		ct_msg_free(m);
		if (rc != CT_OK)
			goto out;
	}
	f = ct_msg_get(m, CT_TAG_CODE);
	if (f == NULL || f->len != 1) {
		rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: result without a code");
		goto out;
	}
	code = f->val[0];
	if (code == 0) {
		rc = CT_OK;
		goto out;
	}
	f = ct_msg_get(m, CT_TAG_MESSAGE);
	if (f == NULL || ct_field_text(f, msg, sizeof(msg), &cl->err) != CT_OK)
		snprintf(msg, sizeof(msg), "refused (status %d)", code);
	ct_err_clear(&cl->err);
	/* the service sends exit statuses; map them back to our codes */
	switch (code) {
	case 64: rc = CT_EUSAGE; break;
	case 65: rc = CT_EINVAL; break;
	case 69: rc = CT_EUNAVAIL; break;
	case 71: rc = CT_ENOMEM; break;
	case 73: rc = CT_EEXIST; break;
	case 74: rc = CT_EIO; break;
	case 75: rc = CT_EPENDING; break;
	case 77: rc = CT_EPERM; break;
	case 78: rc = CT_ECONFIG; break;
	default: rc = CT_ECRYPTO; break;
	}
	ct_err_set(&cl->err, rc, "%s", msg);
	goto out;
broken:
	if (rc == CT_EIO || rc == CT_EUNAVAIL) {
		ct_err_clear(&cl->err);
		rc = ct_err_set(&cl->err, CT_EUNAVAIL,
		    "the enrollment service at %s closed the connection or did not answer",
		    cl->socket_path);
	}
out:
	term_close(&t);
	return rc;
}

/* ---- enroll ---- */

/* mkdir -p PATH with mode 0700 for what it creates.  The last DEPTH
 * components (certtoken/ and TARGET/) must then be real directories of
 * ours that nobody else can write: the key goes there. */
int
make_dirs(char *path, int depth, struct ct_err *err)
{
	struct stat st;
	char *p, c;
	int n = 0;

	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			ct_err_set(err, CT_EIO, "%s: %s", path, strerror(errno));
			*p = c;
			return CT_EIO;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	for (p = path + strlen(path); n < depth && p > path; p--) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
		    (st.st_mode & 022) != 0) {
			ct_err_set(err, CT_EIO,
			    "%s: must be a directory of yours that group and others cannot write",
			    path);
			*p = c;
			return CT_EIO;
		}
		*p = c;
		n++;
	}
	return CT_OK;
}

int
enroll_target_dir(const char *target, char *out, size_t size, struct ct_err *err)
{
	const char *base = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (base != NULL && base[0] == '/')
		n = snprintf(out, size, "%s/certtoken/%s", base, target);
	else {
		if (home == NULL || home[0] != '/') {
			if ((pw = getpwuid(getuid())) == NULL || pw->pw_dir[0] != '/')
				return ct_err_set(err, CT_EIO, "cannot find your home directory");
			home = pw->pw_dir;
		}
		n = snprintf(out, size, "%s/.config/certtoken/%s", home, target);
	}
	if (n < 0 || (size_t)n >= size)
		return ct_err_set(err, CT_EIO, "configuration directory path too long");
	return CT_OK;
}

int
write_pem(
    const char *path, int (*writer)(BIO *, void *), void *obj, mode_t mode, struct ct_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int rc;

	if (bio == NULL || writer(bio, obj) != 1) {
		BIO_free(bio);
		return ct_err_set(err, CT_ECRYPTO, "%s: cannot encode", path);
	}
	n = BIO_get_mem_data(bio, &data);
	rc = ct_file_write_atomic(path, data, (size_t)n, mode, 0, err);
	OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	return rc;
}

int
key_writer(BIO *bio, void *key)
{
	return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
}

int
cert_writer(BIO *bio, void *x)
{
	return PEM_write_bio_X509(bio, x);
}

void
print_cert(X509 *x, const char *target, const char *token, const char *dir)
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
install_pair(
    const char *target, EVP_PKEY *key, X509 *x, char *dir, size_t dir_size, struct ct_err *err)
{
	char path[4200] = "", path2[4200] = "", final[4200], final2[4200];
	int rc;

	if ((rc = enroll_target_dir(target, dir, dir_size, err)) != CT_OK ||
	    (rc = make_dirs(dir, 2, err)) != CT_OK)
		return rc;
	/* both files complete (and synced) under new names first, then two
	 * renames: a failure before them leaves the previous pair untouched */
	snprintf(path, sizeof(path), "%s/key.pem.new", dir);
	snprintf(path2, sizeof(path2), "%s/cert.pem.new", dir);
	if ((rc = write_pem(path, key_writer, key, 0600, err)) != CT_OK ||
	    (rc = write_pem(path2, cert_writer, x, 0644, err)) != CT_OK)
		goto out;
	snprintf(final, sizeof(final), "%s/key.pem", dir);
	snprintf(final2, sizeof(final2), "%s/cert.pem", dir);
	if (rename(path, final) != 0 || rename(path2, final2) != 0) {
		rc = ct_err_set(err, CT_EIO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	path[0] = path2[0] = '\0';
out:
	if (path[0] != '\0')
		unlink(path);
	if (path2[0] != '\0')
		unlink(path2);
	return rc;
}

/* The request is pending: keep KEY as TARGETDIR/pending-TOKEN.key until
 * `fetch` pairs it with its certificate.  Gives CT_EPENDING (or the error
 * that kept the key from being saved). */
static int
keep_pending_key(struct client *cl, const struct ct_msg *m, EVP_PKEY *key)
{
	const struct ct_field *f;
	struct ct_err err = {0};
	char target[CT_NAME_MAX + 1], token[CT_SERIAL_MAX], dir[4096], path[4300];
	int rc;

	if ((f = ct_msg_get(m, CT_TAG_TARGET)) == NULL ||
	    ct_field_text(f, target, sizeof(target), &err) != CT_OK || !ct_name_valid(target) ||
	    (f = ct_msg_get(m, CT_TAG_TOKEN)) == NULL ||
	    ct_field_text(f, token, sizeof(token), &err) != CT_OK || !ct_name_valid(token)) {
		ct_err_clear(&cl->err);
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: incomplete pending answer");
	}
	if ((rc = enroll_target_dir(target, dir, sizeof(dir), &err)) != CT_OK ||
	    (rc = make_dirs(dir, 2, &err)) != CT_OK)
		goto bad;
	snprintf(path, sizeof(path), "%s/pending-%s.key", dir, token);
	if ((rc = write_pem(path, key_writer, key, 0600, &err)) != CT_OK)
		goto bad;
	return CT_EPENDING; /* CL's error holds the service's message */
bad:
	ct_err_clear(&cl->err);
	return ct_err_set(
	    &cl->err, rc, "pending request %s: cannot keep its key: %s", token, err.msg);
}

static int
cmd_enroll(struct client *cl, int argc, char **argv)
{
	static const struct option opts[] = {{"target", required_argument, NULL, 't'},
	    {"key-type", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
	const char *target = NULL;
	enum ct_key_type kt = CT_KEY_EC_P256;
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	const struct ct_field *f;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	unsigned char *csr = NULL;
	const unsigned char *p;
	char got_target[CT_NAME_MAX + 1], token[CT_SERIAL_MAX], dir[4096];
	size_t csr_len = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'k':
			if ((rc = ct_key_type_parse(optarg)) < 0)
				return usage_error("unknown --key-type");
			kt = (enum ct_key_type)rc;
			break;
		default: return usage_error("enroll [--target TARGET] [--key-type TYPE]");
		}
	}
	if (optind != argc)
		return usage_error("enroll takes no arguments besides its options");
	if (target != NULL && !ct_name_valid(target))
		return usage_error("--target: not a target name");
	if ((key = ct_key_generate(kt)) == NULL) {
		ct_err_set(&cl->err, CT_ECRYPTO, "cannot generate a %s key", ct_key_type_name(kt));
		rc = CT_ECRYPTO;
		goto out;
	}
	/* the service ignores the CSR's subject: it renders its own */
	if ((rc = ct_csr_make(key, "certtoken-enroll", &csr, &csr_len, &cl->err)) != CT_OK ||
	    (rc = connect_service(cl)) != CT_OK)
		goto out;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_ENROLL)) != CT_OK) {
		ct_err_set(&cl->err, rc, "out of memory");
		goto out;
	}
	if (target != NULL)
		ct_msgbuf_add_str(&b, CT_TAG_TARGET, target);
	ct_msgbuf_add(&b, CT_TAG_CSR, csr, csr_len);
	if ((rc = exchange(cl, &b, &m)) != CT_OK)
		goto out;
	/* what comes back must be a certificate for the key we hold */
	rc = CT_EINVAL;
	if ((f = ct_msg_get(&m, CT_TAG_TARGET)) == NULL ||
	    ct_field_text(f, got_target, sizeof(got_target), &cl->err) != CT_OK ||
	    !ct_name_valid(got_target) || (f = ct_msg_get(&m, CT_TAG_TOKEN)) == NULL ||
	    ct_field_text(f, token, sizeof(token), &cl->err) != CT_OK ||
	    (f = ct_msg_get(&m, CT_TAG_CERT)) == NULL) {
		ct_err_set(&cl->err, rc, "protocol error: incomplete result");
		goto out;
	}
	p = f->val;
	if ((x = d2i_X509(NULL, &p, f->len)) == NULL || p != f->val + f->len ||
	    EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1) {
		ct_err_set(&cl->err, rc, "the service sent a certificate that is not for our key");
		goto out;
	}
	if ((rc = install_pair(got_target, key, x, dir, sizeof(dir), &cl->err)) != CT_OK)
		goto out;
	print_cert(x, got_target, token, dir);
out:
	if (rc == CT_EPENDING)
		rc = keep_pending_key(cl, &m, key);
	X509_free(x);
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	OPENSSL_free(csr);
	EVP_PKEY_free(key);
	return rc == CT_OK ? 0 : fail(cl, rc);
}

/* ---- status ---- */

struct token_info {
	char serial[CT_SERIAL_MAX], type[16], rollout[CT_ROLLOUT_MAX], desc[CT_DESC_MAX];
	char target[CT_NAME_MAX + 1], cert_serial[64], issuer[CT_ISSUER_MAX];
	long long active, failcount, locked_until, not_after;
};

static int
parse_token_info(const struct ct_field *f, struct token_info *ti, struct ct_err *err)
{
	struct ct_msg m = {0};
	const struct ct_field *g;
	int rc;

	if ((rc = ct_fields_parse(f->val, f->len, &m, err)) != CT_OK)
		return rc;
#define TEXT(tag, dst)                                                                             \
	if ((g = ct_msg_get(&m, tag)) == NULL || ct_field_text(g, dst, sizeof(dst), err) != CT_OK) \
		return ct_err_set(err, CT_EINVAL, "protocol error: token field %d", tag);
#define NUM(tag, dst)                                                                              \
	if ((g = ct_msg_get(&m, tag)) == NULL ||                                                   \
	    ct_field_num(g, 0, INT64_MAX, &dst, err) != CT_OK)                                     \
		return ct_err_set(err, CT_EINVAL, "protocol error: token field %d", tag);
	TEXT(CT_TAG_TI_SERIAL, ti->serial)
	TEXT(CT_TAG_TI_TYPE, ti->type)
	TEXT(CT_TAG_TI_ROLLOUT, ti->rollout)
	TEXT(CT_TAG_TI_DESC, ti->desc)
	TEXT(CT_TAG_TI_TARGET, ti->target)
	TEXT(CT_TAG_TI_CERT_SERIAL, ti->cert_serial)
	NUM(CT_TAG_TI_ACTIVE, ti->active)
	NUM(CT_TAG_TI_FAILCOUNT, ti->failcount)
	NUM(CT_TAG_TI_LOCKED_UNTIL, ti->locked_until)
	NUM(CT_TAG_TI_NOT_AFTER, ti->not_after)
	if ((g = ct_msg_get(&m, CT_TAG_TI_ISSUER)) != NULL &&
	    ct_field_text(g, ti->issuer, sizeof(ti->issuer), err) != CT_OK)
		return ct_err_set(err, CT_EINVAL, "protocol error: token issuer");
#undef TEXT
#undef NUM
	return CT_OK;
}

static void
print_token(const struct token_info *ti, int json, int first, time_t now)
{
	char when[32];

	if (json) {
		printf("%s{\"serial\":", first ? " " : ",\n ");
		ct_json_string(stdout, ti->serial);
		printf(",\"type\":");
		ct_json_string(stdout, ti->type);
		printf(",\"active\":%s,\"rollout_state\":", ti->active ? "true" : "false");
		ct_json_string(stdout, ti->rollout);
		printf(",\"description\":");
		ct_json_string(stdout, ti->desc);
		printf(",\"failcount\":%lld,\"locked_until\":%lld,\"target\":", ti->failcount,
		    ti->locked_until);
		ct_json_string(stdout, ti->target);
		printf(",\"cert_serial\":");
		ct_json_string(stdout, ti->cert_serial);
		printf(",\"not_after\":%lld,\"issuer\":", ti->not_after);
		ct_json_string(stdout, ti->issuer);
		putchar('}');
		return;
	}
	printf("%-22s %-11s %-8s %-8s", ti->serial, ti->type, ti->active ? "active" : "disabled",
	    ti->rollout);
	if (strcmp(ti->type, "certificate") == 0) {
		ct_time_utc(ti->not_after, CT_TIME_SPACED, when, sizeof(when));
		printf(" target %s, serial %s, %s %s", ti->target[0] ? ti->target : "-",
		    ti->cert_serial[0] ? ti->cert_serial : "-",
		    ti->not_after != 0 && ti->not_after < (long long)now ? "expired" : "expires",
		    when);
		if (ti->issuer[0] != '\0')
			printf(", issuer \"%s\"", ti->issuer);
	} else {
		printf(" failcount %lld", ti->failcount);
		if (ti->locked_until > (long long)now) {
			ct_time_utc(ti->locked_until, CT_TIME_SPACED, when, sizeof(when));
			printf(", locked until %s", when);
		}
	}
	putchar('\n');
}

static int
cmd_status(struct client *cl, int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	struct token_info ti;
	time_t now = time(NULL);
	size_t i;
	int c, json = 0, count = 0, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("status [--json]");
		json = 1;
	}
	if (optind != argc)
		return usage_error("status takes no arguments besides --json");
	if ((rc = connect_service(cl)) != CT_OK)
		goto out;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_STATUS)) != CT_OK ||
	    (rc = exchange(cl, &b, &m)) != CT_OK)
		goto out;
	for (i = 0; i < m.n; i++) {
		if (m.f[i].tag != CT_TAG_TOKEN_INFO)
			continue;
		memset(&ti, 0, sizeof(ti));
		if ((rc = parse_token_info(&m.f[i], &ti, &cl->err)) != CT_OK)
			goto out;
		if (count == 0 && json)
			printf("[\n");
		if (count == 0 && !json)
			printf("%-22s %-11s %-8s %-8s %s\n", "SERIAL", "TYPE", "STATE", "ROLLOUT",
			    "DETAILS");
		print_token(&ti, json, count == 0, now);
		count++;
	}
	if (json)
		printf(count ? "\n]\n" : "[]\n");
	else if (count == 0)
		printf("no tokens\n");
out:
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	return rc == CT_OK ? 0 : fail(cl, rc);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct client cl = {.fd = -1};
	const char *cmd;
	int c, rc;

	umask(077);
	cl.config_path = ct_config_default_path();
	cl.config_explicit =
	    getenv("CERTTOKEN_CONF") != NULL && getenv("CERTTOKEN_CONF")[0] != '\0';
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cl.config_path = optarg;
			cl.config_explicit = 1;
			break;
		case 's': cl.socket_path = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " " PACKAGE_VERSION "\n"); return 0;
		default: usage(stderr); return ct_exit_status(CT_EUSAGE);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return ct_exit_status(CT_EUSAGE);
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0;
	if (strcmp(cmd, "enroll") == 0)
		rc = cmd_enroll(&cl, argc, argv);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&cl, argc, argv);
	else if (strcmp(cmd, "respond") == 0)
		rc = cmd_respond(argc, argv);
	else if (strcmp(cmd, "request") == 0)
		rc = cmd_request(&cl, argc, argv);
	else if (strcmp(cmd, "fetch") == 0)
		rc = cmd_fetch(&cl, argc, argv);
	else if (strcmp(cmd, "upload") == 0)
		rc = cmd_upload(&cl, argc, argv);
	else if (strcmp(cmd, "keygen") == 0)
		rc = cmd_keygen(&cl, argc, argv);
	else {
		fprintf(stderr, PROG ": unknown command '%s' (try '" PROG " --help')\n", cmd);
		rc = ct_exit_status(CT_EUSAGE);
	}
	if (cl.fd >= 0)
		close(cl.fd);
	free(cl.socket_owned);
	return rc;
}
