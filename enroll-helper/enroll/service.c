/* certtoken-enroll: the connection to certtokend.
 *
 * The client trusts its socket only after checking it (as sssd's client
 * does): the path must be a socket, not a symbolic link, owned by root,
 * and the process at the other end must run as root (SO_PEERCRED).  Only
 * then is anything sent, and only then does a prompt of the service (the
 * OTP) reach the user's terminal. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <security/_pam_types.h>

#include "conf.h"
#include "enroll.h"

#define DEFAULT_SOCKET "/run/certtoken/enroll.sock"
#define REPLY_MS (10 * 60 * 1000) /* the service answers well within its own deadline */

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

static int
not_running(struct client *cl)
{
	return ct_err_set(&cl->err, CT_EUNAVAIL,
	    "the enrollment service is not running (nothing listens on %s)", cl->socket_path);
}

/* The path itself: a socket (lstat: a symbolic link is refused, not
 * followed), owned by root.  Anyone could otherwise listen there. */
static int
check_socket_path(struct client *cl)
{
	struct stat st;

	if (lstat(cl->socket_path, &st) != 0) {
		if (errno == ENOENT)
			return not_running(cl);
		return ct_err_set(&cl->err, CT_EUNAVAIL,
		    "cannot reach the enrollment service at %s: %s", cl->socket_path,
		    strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return ct_err_set(&cl->err, CT_EUNAVAIL,
		    "refusing the service at %s: a symbolic link, not a socket", cl->socket_path);
	if (!S_ISSOCK(st.st_mode))
		return ct_err_set(&cl->err, CT_EUNAVAIL, "refusing the service at %s: not a socket",
		    cl->socket_path);
	if (st.st_uid != 0)
		return ct_err_set(&cl->err, CT_EUNAVAIL,
		    "refusing the service at %s: the socket is owned by uid %u, not root",
		    cl->socket_path, (unsigned)st.st_uid);
	return CT_OK;
}

/* The process that listens: the kernel says who it runs as. */
static int
check_peer(struct client *cl)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(cl->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return ct_err_set(&cl->err, CT_EUNAVAIL,
		    "refusing the service at %s: cannot learn who runs it: %s", cl->socket_path,
		    strerror(errno));
	if (cred.uid != 0)
		return ct_err_set(&cl->err, CT_EUNAVAIL,
		    "refusing the service at %s: it runs as uid %u, not root", cl->socket_path,
		    (unsigned)cred.uid);
	return CT_OK;
}

static void
disconnect(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
}

int
enroll_connect(struct client *cl)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int rc;

	disconnect(cl);
	if ((rc = resolve_socket(cl)) != CT_OK)
		return rc;
	if (strlen(cl->socket_path) >= sizeof(sa.sun_path))
		return ct_err_set(&cl->err, CT_EUSAGE, "%s: socket path too long", cl->socket_path);
	if ((rc = check_socket_path(cl)) != CT_OK)
		return rc;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cl->socket_path);
	if ((cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ct_err_set(&cl->err, CT_EUNAVAIL, "socket: %s", strerror(errno));
	if (connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = errno;
		disconnect(cl);
		if (rc == ENOENT || rc == ECONNREFUSED)
			return not_running(cl);
		return ct_err_set(&cl->err, CT_EUNAVAIL,
		    "cannot reach the enrollment service at %s: %s", cl->socket_path, strerror(rc));
	}
	if ((rc = check_peer(cl)) != CT_OK)
		disconnect(cl);
	return rc;
}

int
enroll_reconnect_if_closed(struct client *cl)
{
	struct pollfd pfd = {.fd = cl->fd, .events = POLLIN};

	/* before its request the service sends nothing: readable means closed */
	if (cl->fd >= 0 && poll(&pfd, 1, 0) == 0)
		return CT_OK;
	return enroll_connect(cl);
}

/* ---- the conversation: the service's PAM prompts, answered at the terminal ---- */

/* The service's socket became readable while we waited MS milliseconds at
 * a prompt: it gave up on the conversation (closed), or broke the protocol. */
static int
service_left(struct client *cl, int64_t ms)
{
	char b;

	if (recv(cl->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		return ct_err_set(&cl->err, CT_EINVAL,
		    "protocol error: the service sent a message while waiting for an answer");
	return ct_err_set(&cl->err, CT_EUNAVAIL,
	    "the enrollment service closed the connection (it waited %lld s for an answer); run "
	    "the command again",
	    (long long)((ms + 500) / 1000));
}

/* One PROMPT field F: shown, and its answer (or "") added to B. */
static int
converse_one(struct client *cl, struct term *t, const struct ct_field *f, struct ct_msgbuf *b)
{
	char text[CT_PROTO_TEXT_MAX], answer[CT_PROTO_TEXT_MAX] = "";
	struct ct_field body;
	int64_t start;
	int rc = CT_OK, asked;

	if (f->tag != CT_TAG_PROMPT || f->len < 1)
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: bad prompt");
	body = (struct ct_field){f->tag, (uint16_t)(f->len - 1), f->val + 1};
	if ((rc = ct_field_text(&body, text, sizeof(text), &cl->err)) != CT_OK)
		return rc;
	switch (f->val[0]) {
	case PAM_PROMPT_ECHO_OFF:
	case PAM_PROMPT_ECHO_ON:
		start = ct_now_ms();
		if ((asked = enroll_ask_while(t, text, f->val[0] == PAM_PROMPT_ECHO_OFF, cl->fd,
		         answer, sizeof(answer))) == -2)
			rc = service_left(cl, ct_now_ms() - start);
		else if (asked != 0)
			rc = ct_err_set(&cl->err, CT_EPERM, "no answer to \"%s\"", text);
		break;
	case PAM_ERROR_MSG:
	case PAM_TEXT_INFO: fprintf(t->out, "%s\n", text); break;
	default: rc = ct_err_set(&cl->err, CT_EINVAL, "protocol error: prompt style %u", f->val[0]);
	}
	if (rc == CT_OK)
		ct_msgbuf_add_str(b, CT_TAG_ANSWER, answer);
	OPENSSL_cleanse(answer, sizeof(answer));
	return rc;
}

/* A CONV message M: every prompt answered at T, the answers sent back. */
static int
converse(struct client *cl, struct term *t, const struct ct_msg *m)
{
	struct ct_msgbuf b;
	size_t i;
	int rc;

	if (m->n == 0 || m->n > CT_PROTO_PROMPTS_MAX)
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: %zu prompts", m->n);
	if (t->in == NULL)
		enroll_term_open(t);
	if ((rc = ct_msgbuf_init(&b, CT_MSG_CONV_REPLY)) != CT_OK)
		return ct_err_set(&cl->err, rc, "out of memory");
	for (i = 0; i < m->n; i++)
		if ((rc = converse_one(cl, t, &m->f[i], &b)) != CT_OK)
			goto out;
	rc = ct_msg_send(cl->fd, &b, ct_now_ms() + REPLY_MS, &cl->err);
out:
	ct_msgbuf_free(&b);
	return rc;
}

/* ---- the exchange ---- */

/* The service sends exit statuses; map them back to our codes. */
static int
code_of_status(int status)
{
	switch (status) {
	case 64: return CT_EUSAGE;
	case 65: return CT_EINVAL;
	case 69: return CT_EUNAVAIL;
	case 71: return CT_ENOMEM;
	case 73: return CT_EEXIST;
	case 74: return CT_EIO;
	case 75: return CT_EPENDING;
	case 77: return CT_EPERM;
	case 78: return CT_ECONFIG;
	default: return CT_ECRYPTO;
	}
}

/* The RESULT M: CT_OK, or its code with the service's message in CL's error. */
static int
read_result(struct client *cl, const struct ct_msg *m)
{
	const struct ct_field *f = ct_msg_get(m, CT_TAG_CODE);
	char msg[CT_PROTO_TEXT_MAX];
	int code;

	if (f == NULL || f->len != 1)
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: result without a code");
	if ((code = f->val[0]) == 0)
		return CT_OK;
	f = ct_msg_get(m, CT_TAG_MESSAGE);
	if (f == NULL || ct_field_text(f, msg, sizeof(msg), &cl->err) != CT_OK)
		snprintf(msg, sizeof(msg), "refused (status %d)", code);
	ct_err_clear(&cl->err);
	return ct_err_set(&cl->err, code_of_status(code), "%s", msg);
}

/* Receive messages, answering conversations and challenges, until the
 * RESULT (left in M).  *BROKEN: the failure was the connection's. */
static int
until_result(struct client *cl, struct term *t, struct ct_msg *m, int *broken)
{
	int rc;

	for (;;) {
		if ((rc = ct_msg_recv(cl->fd, m, ct_now_ms() + REPLY_MS, &cl->err)) != CT_OK) {
			*broken = 1;
			return rc;
		}
		if (m->type == CT_MSG_RESULT)
			return CT_OK;
		if (m->type == CT_MSG_CHALLENGE && cl->challenge != NULL)
			rc = cl->challenge(cl, m);
		else if (m->type == CT_MSG_CONV)
			rc = converse(cl, t, m);
		else
			return ct_err_set(
			    &cl->err, CT_EINVAL, "protocol error: message type %u", m->type);
		ct_msg_free(m);
		if (rc != CT_OK)
			return rc;
	}
}

int
enroll_exchange(struct client *cl, struct ct_msgbuf *b, struct ct_msg *m)
{
	struct term t = {0};
	int rc, broken = 0;

	if ((rc = ct_msg_send(cl->fd, b, ct_now_ms() + REPLY_MS, &cl->err)) != CT_OK)
		broken = 1;
	else if ((rc = until_result(cl, &t, m, &broken)) == CT_OK)
		rc = read_result(cl, m);
	if (broken && (rc == CT_EIO || rc == CT_EUNAVAIL)) {
		ct_err_clear(&cl->err);
		rc = ct_err_set(&cl->err, CT_EUNAVAIL,
		    "the enrollment service at %s closed the connection or did not answer",
		    cl->socket_path);
	}
	enroll_term_close(&t);
	return rc;
}

int
enroll_result_text(struct client *cl, const struct ct_msg *m, uint8_t tag, char *out, size_t size)
{
	const struct ct_field *f = ct_msg_get(m, tag);
	struct ct_err err = {0};

	if (f == NULL || ct_field_text(f, out, size, &err) != CT_OK || out[0] == '\0')
		return ct_err_set(&cl->err, CT_EINVAL, "protocol error: incomplete result");
	return CT_OK;
}

int
enroll_result_cert(struct client *cl, const struct ct_msg *m, X509 **out)
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
