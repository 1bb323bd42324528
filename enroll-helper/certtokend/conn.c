/* certtokend: one connection's I/O and the caller's identity.  Every read
 * and write of a connection has its one deadline. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
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

/* Log one line through ct_text_printable: whatever untrusted text it
 * carries (names from certificates and the directory), no control
 * character, bidi override or line separator reaches syslog.  The escape is
 * never longer than the text. */
static void
vlogmsg(int prio, const char *fmt, va_list ap)
{
	char *line = NULL, *safe = NULL;
	int n;

	/* on failure vasprintf leaves LINE undefined: never free that */
	if ((n = vasprintf(&line, fmt, ap)) < 0)
		line = NULL;
	if (n >= 0 && (safe = malloc((size_t)n + 1)) != NULL)
		ct_text_printable(line, (size_t)n, 0, safe, (size_t)n + 1);
	syslog(LOG_AUTHPRIV | prio, "%s", safe != NULL ? safe : "(no memory for a log line)");
	free(safe);
	free(line);
}

void
logmsg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogmsg(prio, fmt, ap);
	va_end(ap);
}

/* ---- refusals and protocol errors, rate-limited per uid ---- */

#define LOG_UIDS 64 /* uids with a window of their own; the last entry is the overflow */

struct log_window {
	int used;
	uid_t uid;
	int64_t start; /* ms */
	unsigned lines;
	unsigned long suppressed;
};

/* A summary to log once the table's lock is released. */
struct log_summary {
	int overflow;
	uid_t uid;
	unsigned long count;
	long seconds;
};

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct log_window log_windows[LOG_UIDS];

static void
log_summary(const struct log_summary *s)
{
	char who[32];

	if (s->count == 0)
		return;
	if (s->overflow)
		snprintf(who, sizeof(who), "other uids");
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)s->uid);
	logmsg(LOG_WARNING,
	    "%s: %lu more refusals and protocol errors suppressed in the last %ld s", who, s->count,
	    s->seconds);
}

/* End W's window (under log_mu) if it has passed at NOW: its summary into S. */
static void
window_end(struct log_window *w, int64_t now, struct log_summary *s)
{
	if (!w->used || now - w->start < LOG_UID_SECONDS * 1000)
		return;
	s->overflow = w == &log_windows[LOG_UIDS - 1];
	s->uid = w->uid;
	s->count = w->suppressed;
	s->seconds = (long)((now - w->start) / 1000);
	w->used = 0;
}

/* The window of UID at NOW (under log_mu): its own, a free or passed one
 * (a passed one's summary into S), or the overflow. */
static struct log_window *
window_of(uid_t uid, int64_t now, struct log_summary *s)
{
	struct log_window *w = NULL;
	int i;

	for (i = 0; i < LOG_UIDS - 1; i++)
		if (log_windows[i].used && log_windows[i].uid == uid) {
			window_end(&log_windows[i], now, s);
			w = &log_windows[i];
			break;
		}
	for (i = 0; w == NULL && i < LOG_UIDS - 1; i++) {
		if (log_windows[i].used)
			window_end(&log_windows[i], now, s); /* at most one ends: the loop stops */
		if (!log_windows[i].used)
			w = &log_windows[i];
	}
	if (w == NULL) {
		w = &log_windows[LOG_UIDS - 1];
		window_end(w, now, s);
	}
	if (!w->used)
		*w = (struct log_window){.used = 1, .uid = uid, .start = now};
	return w;
}

void
logmsg_uid(uid_t uid, int prio, const char *fmt, ...)
{
	struct log_summary s = {0};
	struct log_window *w;
	int shown;
	va_list ap;

	pthread_mutex_lock(&log_mu);
	w = window_of(uid, ct_now_ms(), &s);
	if ((shown = w->lines < LOG_UID_LINES))
		w->lines++;
	else
		w->suppressed++;
	pthread_mutex_unlock(&log_mu);
	log_summary(&s);
	if (!shown)
		return;
	va_start(ap, fmt);
	vlogmsg(prio, fmt, ap);
	va_end(ap);
}

void
logmsg_uid_flush(void)
{
	struct log_summary s;
	int64_t now = ct_now_ms();
	int i;

	for (i = 0; i < LOG_UIDS; i++) {
		s = (struct log_summary){0};
		pthread_mutex_lock(&log_mu);
		window_end(&log_windows[i], now, &s);
		pthread_mutex_unlock(&log_mu);
		log_summary(&s);
	}
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
	logmsg_uid(c->uid, LOG_NOTICE, "%s refused for user %s (uid %u): %s", what, c->user,
	    (unsigned)c->uid, msg);
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
		logmsg_uid(c->uid, LOG_NOTICE, "connection from uid %u, which has no user name%s%s",
		    (unsigned)c->uid, e ? ": " : "", e ? strerror(e) : "");
		reply_error(c, CT_EPERM, "your uid %u has no user name", (unsigned)c->uid);
	} else if (!ct_tokens_user_valid(pw.pw_name)) {
		logmsg_uid(c->uid, LOG_NOTICE, "uid %u: user name not usable in the token store",
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
