/* certtokend: one connection's I/O and the caller's identity.  Every read
 * and write of a connection has its one deadline. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "certtokend.h"
#include "util.h"

#define DRAIN_MAX 65536 /* bytes we read and drop before hanging up */

/* Every line goes through ct_text_printable: whatever untrusted text a
 * message carries, no control character, bidi override or line separator
 * reaches the log.  The escape is never longer than the text. */
void
logmsg(int prio, const char *fmt, ...)
{
	char *line = NULL, *safe = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n >= 0 && (safe = malloc((size_t)n + 1)) != NULL)
		ct_text_printable(line, (size_t)n, 0, safe, (size_t)n + 1);
	syslog(LOG_AUTHPRIV | prio, "%s", safe != NULL ? safe : "(no memory for a log line)");
	free(safe);
	free(line);
}

/* Read and drop whatever the client has sent so far, waiting at most
 * until DEADLINE for its end of stream. */
void
drain_input(int fd, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char buf[4096];
	size_t total = 0;
	int64_t left;
	ssize_t n;

	for (;;) {
		while (total < DRAIN_MAX && (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			total += (size_t)n;
		if (n == 0 || total >= DRAIN_MAX || deadline == 0 ||
		    (left = deadline - ct_now_ms()) <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
	}
}

void
reply_error(struct conn *c, int code, const char *fmt, ...)
{
	struct ct_msgbuf b;
	struct ct_err err = {0};
	char msg[CT_PROTO_TEXT_MAX];
	va_list ap;

	if (c->broken)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ct_msgbuf_init(&b, CT_MSG_RESULT) != CT_OK)
		return;
	unsigned char status = (unsigned char)ct_exit_status(code);
	ct_msgbuf_add(&b, CT_TAG_CODE, &status, 1);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, msg);
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		c->broken = 1;
	ct_msgbuf_free(&b);
}

int
refuse_request(struct conn *c, int code, const char *what, const char *fmt, ...)
{
	char msg[CT_PROTO_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	logmsg(LOG_NOTICE, "%s refused for user %s (uid %u): %s", what, c->user, (unsigned)c->uid,
	    msg);
	reply_error(c, code, "%s", msg);
	return code;
}

void
reply_failure(struct conn *c, int code, int shown, const char *msg, const char *does)
{
	if (shown)
		reply_error(c, code, "%s", msg);
	else
		reply_error(c, code, "the service %s; see the system log", does);
}

/* Who is on the other end: the kernel says, the client does not. */
int
identify(struct conn *c)
{
	struct passwd pw;
	char *buf = NULL;
	int e = 0, rc = -1;

	/* c->uid came from SO_PEERCRED in the accept loop */
	if (ct_nss_getpwuid(c->uid, &pw, &buf, &e) != CT_OK) {
		logmsg(LOG_NOTICE, "connection from uid %u, which has no user name%s%s",
		    (unsigned)c->uid, e ? ": " : "", e ? strerror(e) : "");
		reply_error(c, CT_EPERM, "your uid %u has no user name", (unsigned)c->uid);
	} else if (!ct_tokens_user_valid(pw.pw_name)) {
		logmsg(LOG_NOTICE, "uid %u: user name not usable in the token store",
		    (unsigned)c->uid);
		reply_error(c, CT_EPERM, "your user name cannot hold tokens");
	} else {
		snprintf(c->user, sizeof(c->user), "%s", pw.pw_name);
		c->gid = pw.pw_gid;
		rc = 0;
	}
	free(buf);
	return rc;
}
