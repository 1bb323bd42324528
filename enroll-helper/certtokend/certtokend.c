/* certtokend: the privileged half of the enroll helper.
 *
 * Listens on a Unix stream socket, learns each caller's uid from the kernel
 * (SO_PEERCRED), runs the PAM service "certtoken-enroll" for that user with
 * the conversation relayed to the client, reads the user's attributes
 * itself, issues through the target's CA connector and records the
 * certificate as a certificate token.  Nothing the client says about who it
 * is or what its attributes are is ever used.
 *
 * One thread per connection, at most service.max_clients at once; every
 * connection has one deadline (service.timeout) for all of its I/O. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <security/pam_appl.h>

#include "attrsrc.h"
#include "certtokend.h"
#include "certindex.h"
#include "conf.h"
#include "ct.h"
#include "issue.h"
#include "proto.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

#define SD_LISTEN_FDS_START 3
#define REFUSE_MS 200 /* how long we try to tell a client that we are busy */
#define REQUEST_MS 10000 /* a client has this long to send its request */
#define DRAIN_MAX 65536 /* bytes we read and drop before hanging up */
#define REFUSERS_MAX 8 /* threads telling clients that we are busy */

static volatile sig_atomic_t stop_requested;

void
logmsg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(LOG_AUTHPRIV | prio, fmt, ap);
	va_end(ap);
}

/* ---- replies ---- */

/* Read and drop whatever the client has sent so far, waiting at most
 * until DEADLINE for its end of stream. */
static void
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

/* ---- the PAM conversation, relayed to the client ---- */

static int
relay_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	struct conn *c = appdata;
	struct pam_response *r = NULL;
	struct ct_msgbuf b;
	struct ct_msg m = {0};
	struct ct_err err = {0};
	char answer[CT_PROTO_TEXT_MAX];
	int i, rc = PAM_CONV_ERR;

	*resp = NULL;
	if (c->broken || n <= 0 || n > CT_PROTO_PROMPTS_MAX || msg == NULL)
		return PAM_CONV_ERR;
	/* only the four text styles travel; anything else is refused, not guessed */
	for (i = 0; i < n; i++)
		if (msg[i] == NULL || msg[i]->msg_style < PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style > PAM_TEXT_INFO)
			return PAM_CONV_ERR;
	if (ct_msgbuf_init(&b, CT_MSG_CONV) != CT_OK)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		unsigned char item[1 + CT_PROTO_TEXT_MAX];
		size_t len = msg[i]->msg != NULL ? strnlen(msg[i]->msg, CT_PROTO_TEXT_MAX - 1) : 0;

		item[0] = (unsigned char)msg[i]->msg_style;
		if (len > 0)
			memcpy(item + 1, msg[i]->msg, len);
		ct_msgbuf_add(&b, CT_TAG_PROMPT, item, len + 1);
	}
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK ||
	    ct_msg_recv(c->fd, &m, c->deadline, &err) != CT_OK) {
		logmsg(LOG_NOTICE, "user %s (uid %u): conversation: %s", c->user, (unsigned)c->uid,
		    err.msg);
		c->broken = 1;
		goto out;
	}
	if (m.type != CT_MSG_CONV_REPLY || m.n != (size_t)n) {
		logmsg(LOG_NOTICE,
		    "user %s (uid %u): protocol error: expected %d answers, got message type %u "
		    "with %zu fields",
		    c->user, (unsigned)c->uid, n, m.type, m.n);
		c->broken = 1;
		goto out;
	}
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL) {
		rc = PAM_BUF_ERR;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (m.f[i].tag != CT_TAG_ANSWER ||
		    ct_field_text(&m.f[i], answer, sizeof(answer), &err) != CT_OK) {
			logmsg(LOG_NOTICE, "user %s (uid %u): protocol error: bad answer %d",
			    c->user, (unsigned)c->uid, i + 1);
			c->broken = 1;
			goto out;
		}
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			if ((r[i].resp = strdup(answer)) == NULL) {
				rc = PAM_BUF_ERR;
				goto out;
			}
		}
	}
	*resp = r;
	r = NULL;
	rc = PAM_SUCCESS;
out:
	if (r != NULL) {
		for (i = 0; i < n; i++)
			ct_free_secret(r[i].resp);
		free(r);
	}
	OPENSSL_cleanse(answer, sizeof(answer));
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	return rc;
}

/* Authenticate the caller through the PAM service certtoken-enroll.  CT_OK
 * or a code already answered to the client. */
int
run_pam(struct conn *c, const char *what)
{
	struct pam_conv conv = {relay_conv, c};
	pam_handle_t *pamh = NULL;
	const void *item = NULL;
	int prc, code;

	prc = pam_start_confdir(ENROLL_SERVICE, c->user, &conv, c->d->pam_dir, &pamh);
	if (prc != PAM_SUCCESS) {
		logmsg(LOG_ERR, "pam_start(%s): %s", ENROLL_SERVICE, pam_strerror(pamh, prc));
		reply_error(c, CT_EUNAVAIL, "the service cannot start PAM; see the system log");
		return CT_EUNAVAIL;
	}
	if ((prc = pam_set_item(pamh, PAM_RUSER, c->user)) == PAM_SUCCESS &&
	    (prc = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK)) == PAM_SUCCESS &&
	    (prc = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK)) == PAM_SUCCESS) {
		/* a module may rename the user: then it is not this caller */
		if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS || item == NULL ||
		    strcmp(item, c->user) != 0) {
			logmsg(LOG_ERR, "PAM service %s changed the user name of uid %u: refused",
			    ENROLL_SERVICE, (unsigned)c->uid);
			prc = PAM_PERM_DENIED;
		}
	}
	pam_end(pamh, prc);
	if (prc == PAM_SUCCESS)
		return CT_OK;
	if (c->broken) {
		logmsg(LOG_NOTICE, "%s for user %s (uid %u) abandoned during authentication", what,
		    c->user, (unsigned)c->uid);
		return CT_EIO;
	}
	switch (prc) {
	case PAM_AUTH_ERR:
	case PAM_PERM_DENIED:
	case PAM_MAXTRIES:
	case PAM_USER_UNKNOWN:
	case PAM_ACCT_EXPIRED:
	case PAM_CRED_INSUFFICIENT:
	case PAM_NEW_AUTHTOK_REQD: code = CT_EPERM; break;
	default: code = CT_EUNAVAIL; break;
	}
	logmsg(LOG_NOTICE, "%s refused for user %s (uid %u): %s", what, c->user, (unsigned)c->uid,
	    pam_strerror(NULL, prc));
	if (code == CT_EPERM)
		reply_error(c, code, "authentication refused: %s", pam_strerror(NULL, prc));
	else
		reply_error(c, code, "authentication unavailable: %s", pam_strerror(NULL, prc));
	return code;
}

/* ---- shared resources ---- */

struct ct_attrsrc *
pool_get(struct daemon *d, int64_t deadline, size_t *slot)
{
	struct timespec ts;
	int64_t ms;
	size_t i;

	pthread_mutex_lock(&d->pool_mu);
	for (;;) {
		for (i = 0; i < d->pool_n; i++)
			if (!d->pool_busy[i]) {
				d->pool_busy[i] = 1;
				pthread_mutex_unlock(&d->pool_mu);
				*slot = i;
				return d->pool[i];
			}
		clock_gettime(CLOCK_REALTIME, &ts);
		ms = deadline - ct_now_ms();
		if (ms <= 0)
			break;
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->pool_cv, &d->pool_mu, &ts);
	}
	pthread_mutex_unlock(&d->pool_mu);
	return NULL;
}

void
pool_put(struct daemon *d, size_t slot)
{
	pthread_mutex_lock(&d->pool_mu);
	d->pool_busy[slot] = 0;
	pthread_cond_signal(&d->pool_cv);
	pthread_mutex_unlock(&d->pool_mu);
}

void
issuer_unref(struct daemon *d, struct issuer_ref *r)
{
	int last;

	if (r == NULL)
		return;
	pthread_mutex_lock(&d->ca_mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&d->ca_mu);
	if (last) {
		ct_issuer_free(r->is);
		ct_ca_free(r->ca);
		free(r);
	}
}

/* The issuer of target T (index TI), reloaded when the CA certificate file
 * changed since it was loaded: ca rotate puts a new file in its place (a
 * new directory), so the device and inode tell a rotation even within the
 * mtime's granularity.  ca rotate --prepare swaps in a new directory too:
 * that reloads the same current CA (ct_ca_load never reads the prepared
 * one), which is harmless.  The caller holds a reference. */
int
issuer_get(struct daemon *d, size_t ti, struct issuer_ref **out, struct ct_err *err)
{
	const struct ct_target *t = &d->cfg->targets[ti];
	struct issuer_ref *r, *old = NULL;
	struct stat st;
	char path[PATH_MAX];
	int rc = CT_OK;

	snprintf(path, sizeof(path), "%s/groups/%s/ca.pem", d->cfg->store_path, t->group->name);
	pthread_mutex_lock(&d->ca_mu);
	r = d->issuers[ti];
	if (stat(path, &st) != 0) {
		rc = ct_err_set(err, CT_ECONFIG,
		    "access group '%s' of target '%s' has no CA (certtoken-admin ca init %s)",
		    t->group->name, t->name, t->group->name);
		goto out;
	}
	if (r != NULL && r->dev == st.st_dev && r->ino == st.st_ino &&
	    r->mtime.tv_sec == st.st_mtim.tv_sec && r->mtime.tv_nsec == st.st_mtim.tv_nsec)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	r->refs = 1;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->mtime = st.st_mtim;
	if ((rc = ct_ca_load(d->cfg->store_path, t->group, &r->ca, err)) != CT_OK ||
	    (rc = ct_issuer_new(t, r->ca, &r->is, err)) != CT_OK) {
		if (rc == CT_ENOENT)
			rc = CT_ECONFIG;
		ct_ca_free(r->ca);
		free(r);
		r = NULL;
		goto out;
	}
	old = d->issuers[ti];
	d->issuers[ti] = r;
out:
	if (rc == CT_OK)
		r->refs++;
	pthread_mutex_unlock(&d->ca_mu);
	if (old != NULL)
		issuer_unref(d, old);
	*out = rc == CT_OK ? r : NULL;
	return rc;
}

/* ---- recording an issued certificate ---- */

/* Step over one DER element at P (END bounds it); its content goes to
 * CONTENT and CLEN.  -1 when malformed. */
static int
der_next(const unsigned char **p, const unsigned char *end, const unsigned char **start,
    const unsigned char **content, long *clen)
{
	int tag, xclass;

	*start = *p;
	if (ASN1_get_object(p, clen, &tag, &xclass, end - *p) & 0x80 || *clen > end - *p)
		return -1;
	*content = *p;
	*p += *clen;
	return 0;
}

/* Serial, notAfter and subject of the certificate we just issued, read
 * from its DER by walking the TBSCertificate: d2i_X509 would also decode
 * the public key, which costs more than the rest of the walk together. */
int
describe_cert(const unsigned char *der, size_t len, struct issued *out, struct ct_err *err)
{
	const unsigned char *p = der, *end = der + len, *el, *c, *tbs_end, *q;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *na = NULL;
	X509_NAME *subject = NULL;
	BIO *bio = NULL;
	struct tm tm;
	long clen;
	int n, rc = CT_ECRYPTO;

	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version,
	 *   serialNumber, signature, issuer, validity { notBefore, notAfter },
	 *   subject, ... } ... } */
	if (der_next(&p, end, &el, &c, &clen) != 0)
		goto bad;
	p = c;
	if (der_next(&p, end, &el, &c, &clen) != 0)
		goto bad;
	tbs_end = c + clen;
	p = c;
	if (der_next(&p, tbs_end, &el, &c, &clen) != 0) /* version */
		goto bad;
	q = p;
	if (der_next(&p, tbs_end, &el, &c, &clen) != 0 ||
	    (serial = d2i_ASN1_INTEGER(NULL, &q, p - q)) == NULL)
		goto bad;
	if (der_next(&p, tbs_end, &el, &c, &clen) != 0 || /* signature */
	    der_next(&p, tbs_end, &el, &c, &clen) != 0 || /* issuer */
	    der_next(&p, tbs_end, &el, &c, &clen) != 0) /* validity */
		goto bad;
	q = c;
	if (der_next(&q, c + clen, &el, &c, &clen) != 0) /* notBefore */
		goto bad;
	if ((na = d2i_ASN1_TIME(NULL, &q, p - q)) == NULL)
		goto bad;
	q = p;
	if (der_next(&p, tbs_end, &el, &c, &clen) != 0 ||
	    (subject = d2i_X509_NAME(NULL, &q, p - q)) == NULL)
		goto bad;
	if (ct_serial_hex(serial, out->serial) != CT_OK || ASN1_TIME_to_tm(na, &tm) != 1 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(bio, subject, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		goto bad;
	n = BIO_read(bio, out->subject, sizeof(out->subject) - 1);
	out->subject[n > 0 ? n : 0] = '\0';
	out->not_after = (int64_t)timegm(&tm);
	strftime(out->not_after_text, sizeof(out->not_after_text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc = CT_OK;
	goto out;
bad:
	ct_err_set(err, CT_ECRYPTO, "cannot read back the issued certificate");
	ct_err_openssl(err);
out:
	BIO_free(bio);
	X509_NAME_free(subject);
	ASN1_TIME_free(na);
	ASN1_INTEGER_free(serial);
	return rc;
}

/* Make room in UT for one more certificate token: drop expired certificate
 * tokens and rejected requests, then, if the list is still full, the oldest certificate token
 * (logged when LOG is set).  CT_EEXIST when no certificate token can go. */
int
make_room(struct ct_user_tokens *ut, const char *user, time_t now, int log, struct ct_err *err)
{
	struct ct_token *t;
	size_t i, j, oldest;

	for (i = j = 0; i < ut->n; i++) {
		t = &ut->tok[i];
		/* expired certificates and rejected requests hold nothing */
		if (t->type == CT_TOKEN_CERT &&
		    ((strcmp(t->rollout_state, "enrolled") == 0 && t->not_after != 0 &&
		         t->not_after < (int64_t)now) ||
		        strcmp(t->rollout_state, "rejected") == 0))
			continue;
		if (j != i)
			ut->tok[j] = *t;
		j++;
	}
	ut->n = j;
	if (ut->n < CT_TOKENS_MAX)
		return CT_OK;
	for (i = 0, oldest = CT_TOKENS_MAX; i < ut->n; i++)
		if (ut->tok[i].type == CT_TOKEN_CERT &&
		    strcmp(ut->tok[i].rollout_state, "enrolled") == 0 &&
		    (oldest == CT_TOKENS_MAX || ut->tok[i].created < ut->tok[oldest].created))
			oldest = i;
	if (oldest == CT_TOKENS_MAX)
		return ct_err_set(err, CT_EEXIST,
		    "user %s already has %d tokens and none is a certificate token that could make "
		    "room; an administrator must delete some",
		    user, CT_TOKENS_MAX);
	if (log)
		logmsg(LOG_INFO,
		    "user %s: certificate token %s (certificate serial %s) makes room for a new "
		    "one",
		    user, ut->tok[oldest].serial, ut->tok[oldest].cert_serial);
	memmove(&ut->tok[oldest], &ut->tok[oldest + 1], (ut->n - oldest - 1) * sizeof(ut->tok[0]));
	ut->n--;
	return CT_OK;
}

/* ---- requests ---- */

/* May the caller enroll for access group G?  Everyone when it names no Unix
 * groups; otherwise only members (primary or supplementary, through NSS). */
static int
allowed(const struct conn *c, const struct ct_group *g)
{
	gid_t gids[256];
	struct group gr;
	size_t k;
	char *buf = NULL;
	int n = (int)(sizeof(gids) / sizeof(gids[0])), i, e, ok = 0;

	if (g->n_unix_groups == 0)
		return 1;
	if (getgrouplist(c->user, c->gid, gids, &n) < 0)
		n = (int)(sizeof(gids) / sizeof(gids[0])); /* truncated: check what we have */
	for (k = 0; k < g->n_unix_groups && !ok; k++) {
		/* the entry of a group with many members needs a large buffer */
		free(buf);
		buf = NULL;
		if (ct_nss_getgrnam(g->unix_groups[k], &gr, &buf, &e) != CT_OK) {
			if (e != 0)
				logmsg(LOG_ERR, "access group %s: Unix group %s: %s", g->name,
				    g->unix_groups[k], strerror(e));
			continue;
		}
		for (i = 0; i < n && !ok; i++)
			ok = gids[i] == gr.gr_gid;
	}
	free(buf);
	return ok;
}

/* Refuse now, before any prompt, what could only fail later: a user who
 * may not use the target, or whose token list has no room. */
int
precheck(struct conn *c, const struct ct_target *t)
{
	struct ct_user_tokens ut;
	struct ct_err err = {0};
	int rc;

	if (!allowed(c, t->group)) {
		logmsg(LOG_NOTICE,
		    "enrollment refused for user %s (uid %u): not in the Unix groups of access "
		    "group %s (target %s)",
		    c->user, (unsigned)c->uid, t->group->name, t->name);
		reply_error(c, CT_EPERM, "you may not enroll for target '%s' (access group %s)",
		    t->name, t->group->name);
		return CT_EPERM;
	}
	memset(&ut, 0, sizeof(ut));
	rc = ct_tokens_peek(c->d->tokens, c->user, &ut, &err);
	if (rc == CT_OK)
		rc = make_room(&ut, c->user, time(NULL), 0, &err);
	else if (rc == CT_ENOENT)
		rc = CT_OK;
	ct_user_tokens_clear(&ut);
	if (rc == CT_EEXIST)
		reply_error(c, rc, "%s", err.msg);
	else if (rc != CT_OK) {
		logmsg(LOG_ERR, "user %s (uid %u): %s", c->user, (unsigned)c->uid, err.msg);
		reply_error(c, rc, "the service cannot read your tokens; see the system log");
	}
	return rc;
}

/* The target named in M, or the default one ("default", else the first). */
ssize_t
pick_target(struct conn *c, const struct ct_msg *m)
{
	const struct ct_config *cfg = c->d->cfg;
	const struct ct_field *f = ct_msg_get(m, CT_TAG_TARGET);
	struct ct_err err = {0};
	char name[CT_NAME_MAX + 1];
	size_t i;

	if (f == NULL || f->len == 0)
		snprintf(name, sizeof(name), "default");
	else if (ct_field_text(f, name, sizeof(name), &err) != CT_OK || !ct_name_valid(name)) {
		reply_error(c, CT_EINVAL, "malformed target name");
		return -1;
	}
	for (i = 0; i < cfg->n_targets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return (ssize_t)i;
	if (f == NULL || f->len == 0)
		return 0;
	reply_error(c, CT_ENOENT, "unknown target '%s'", name);
	return -1;
}

static void
do_status(struct conn *c)
{
	struct ct_user_tokens ut;
	struct ct_msgbuf b = {0}, ti;
	struct ct_err err = {0};
	const unsigned char *fields;
	unsigned char code = 0;
	size_t i, len;
	int rc;

	memset(&ut, 0, sizeof(ut));
	rc = ct_tokens_peek(c->d->tokens, c->user, &ut, &err);
	if (rc != CT_OK && rc != CT_ENOENT) {
		logmsg(
		    LOG_ERR, "status for user %s (uid %u): %s", c->user, (unsigned)c->uid, err.msg);
		reply_error(c, rc, "the service cannot read your tokens; see the system log");
		goto out;
	}
	if (ct_msgbuf_init(&b, CT_MSG_RESULT) != CT_OK)
		goto out;
	ct_msgbuf_add(&b, CT_TAG_CODE, &code, 1);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "ok");
	for (i = 0; i < ut.n; i++) {
		const struct ct_token *t = &ut.tok[i];

		if (ct_msgbuf_init(&ti, 0) != CT_OK)
			break;
		ct_msgbuf_add_str(&ti, CT_TAG_TI_SERIAL, t->serial);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_TYPE, ct_token_type_name(t->type));
		ct_msgbuf_add_num(&ti, CT_TAG_TI_ACTIVE, t->active);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_ROLLOUT, t->rollout_state);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_DESC, t->description);
		ct_msgbuf_add_num(&ti, CT_TAG_TI_FAILCOUNT, t->failcount);
		ct_msgbuf_add_num(&ti, CT_TAG_TI_LOCKED_UNTIL, t->lock_until);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_TARGET, t->target);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_CERT_SERIAL, t->cert_serial);
		ct_msgbuf_add_num(&ti, CT_TAG_TI_NOT_AFTER, t->not_after);
		if (t->issuer[0] != '\0')
			ct_msgbuf_add_str(&ti, CT_TAG_TI_ISSUER, t->issuer);
		fields = ct_msgbuf_fields(&ti, &len);
		if (!ti.failed)
			ct_msgbuf_add(&b, CT_TAG_TOKEN_INFO, fields, len);
		ct_msgbuf_free(&ti);
	}
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		logmsg(LOG_NOTICE, "status for user %s (uid %u) not delivered: %s", c->user,
		    (unsigned)c->uid, err.msg);
out:
	ct_msgbuf_free(&b);
	ct_user_tokens_clear(&ut);
}

/* Who is on the other end: the kernel says, the client does not. */
static int
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

static void *
serve(void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	struct ct_msg m = {0};
	struct ct_err err = {0};
	int rc;

	if (identify(c) != 0)
		goto out;
	/* the request must come soon; the full deadline is for the conversation */
	rc = ct_msg_recv(c->fd, &m,
	    c->deadline < ct_now_ms() + REQUEST_MS ? c->deadline : ct_now_ms() + REQUEST_MS, &err);
	if (rc != CT_OK) {
		logmsg(LOG_NOTICE, "user %s (uid %u): bad request: %s", c->user, (unsigned)c->uid,
		    err.msg);
		if (rc == CT_EINVAL)
			reply_error(c, CT_EINVAL, "protocol error: %s", err.msg);
		goto out;
	}
	switch (m.type) {
	case CT_MSG_ENROLL: do_enroll(c, &m); break;
	case CT_MSG_STATUS: do_status(c); break;
	case CT_MSG_FETCH: do_fetch(c, &m); break;
	case CT_MSG_UPLOAD: do_upload(c, &m); break;
	case CT_MSG_KEYGEN: do_keygen(c, &m); break;
	default:
		logmsg(LOG_NOTICE, "user %s (uid %u): unknown request type %u", c->user,
		    (unsigned)c->uid, m.type);
		reply_error(c, CT_EINVAL, "protocol error: unknown request type %u", m.type);
		break;
	}
out:
	ct_msg_free(&m);
	/* the answer is written: the slot is free now, before the client can
	 * have read it, so a client that asks again at once is never counted
	 * twice (the drain below is bounded by REFUSE_MS) */
	pthread_mutex_lock(&d->conn_mu);
	d->conn_used[c->slot] = 0;
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->conn_mu);
	/* let the client read our last word before the connection goes */
	shutdown(c->fd, SHUT_WR);
	drain_input(c->fd, ct_now_ms() + REFUSE_MS);
	close(c->fd);
	pthread_mutex_lock(&d->conn_mu);
	free(c);
	d->active--;
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->conn_mu);
	return NULL;
}

/* ---- the listening socket ---- */

/* A socket passed by systemd: LISTEN_PID is us and LISTEN_FDS >= 1.
 * Returns the fd, -1 when none was passed, -2 when it is unusable. */
static int
activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int fd = SD_LISTEN_FDS_START, type = 0, listening = 0;
	struct sockaddr_un sa;
	socklen_t len = sizeof(type);
	long n, i;
	char *end;

	if (pid == NULL || fds == NULL)
		return -1;
	errno = 0;
	if (strtol(pid, &end, 10) != (long)getpid() || *end != '\0')
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if ((n = strtol(fds, &end, 10)) < 1 || n > 64 || *end != '\0') {
		fprintf(stderr, PROG ": LISTEN_FDS=%s: expected a count of 1 to 64\n", fds);
		return -2;
	}
	for (i = 1; i < n; i++) /* we use the first; the others must not reach PAM modules */
		close(fd + (int)i);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
	    (len = sizeof(listening),
	        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) ||
	    !listening || (len = sizeof(sa), getsockname(fd, (struct sockaddr *)&sa, &len) != 0) ||
	    sa.sun_family != AF_UNIX) {
		fprintf(stderr,
		    PROG ": socket activation: fd %d is not a listening Unix stream socket\n", fd);
		return -2;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* Does something answer on the socket at PATH? */
static int
socket_alive(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Create, bind and listen on PATH.  Sets d->socket_path on success. */
static int
make_socket(struct daemon *d, const char *path, struct ct_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *dir = strdup(path), *slash;
	struct stat st;
	mode_t old;
	int fd = -1, rc;

	if (dir == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (strlen(path) >= sizeof(sa.sun_path) || (slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		return ct_err_set(err, CT_ECONFIG,
		    "%s: not an absolute socket path of at most %zu "
		    "bytes",
		    path, sizeof(sa.sun_path) - 1);
	}
	*(slash == dir ? slash + 1 : slash) = '\0';
	/* created 0755 (whatever the umask): clients must be able to reach the socket */
	if (mkdir(dir, 0755) == 0)
		(void)chmod(dir, 0755);
	else if (errno != EEXIST) {
		rc = ct_err_set(err, CT_EUNAVAIL, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		rc = ct_err_set(err, CT_EPERM,
		    "%s: the socket's directory must be owned by root and not writable by group or "
		    "others",
		    dir);
		goto out;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			rc = ct_err_set(err, CT_EEXIST, "%s exists and is not a socket", path);
			goto out;
		}
		if (socket_alive(path)) {
			rc =
			    ct_err_set(err, CT_EEXIST, "%s: another certtokend is listening", path);
			goto out;
		}
		unlink(path); /* stale */
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		rc = ct_err_set(err, CT_EUNAVAIL, "socket: %s", strerror(errno));
		goto out;
	}
	old = umask(0111); /* 0666: anyone may connect, the kernel says who they are */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || listen(fd, 128) != 0) {
		rc = ct_err_set(err, CT_EUNAVAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((d->socket_path = strdup(path)) == NULL) {
		unlink(path);
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	d->listen_fd = fd;
	fd = -1;
	rc = CT_OK;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* ---- start-up, the accept loop and shutdown ---- */

/* Without its service file libpam would run the "other" stack, which on
 * most systems asks for the password only: refuse to start instead. */
static int
check_pam_service(const char *pam_dir, struct ct_err *err)
{
	static const char *const dirs[] = {"/etc/pam.d", "/usr/lib/pam.d", NULL};
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; pam_dir != NULL ? i == 0 : dirs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", pam_dir != NULL ? pam_dir : dirs[i],
		    ENROLL_SERVICE);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return CT_OK;
	}
	return ct_err_set(err, CT_ECONFIG,
	    "the PAM service %s is not configured (no %s/%s): without it libpam would use "
	    "the 'other' stack; install examples/pam.d/%s",
	    ENROLL_SERVICE, pam_dir != NULL ? pam_dir : "/etc/pam.d", ENROLL_SERVICE,
	    ENROLL_SERVICE);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int
setup(struct daemon *d, struct ct_err *err)
{
	size_t i;
	int rc;

	pthread_mutex_init(&d->pool_mu, NULL);
	pthread_cond_init(&d->pool_cv, NULL);
	pthread_mutex_init(&d->ca_mu, NULL);
	pthread_mutex_init(&d->conn_mu, NULL);
	pthread_cond_init(&d->conn_cv, NULL);
	if ((rc = ct_store_mkdir(d->cfg->store_path, err)) != CT_OK ||
	    (rc = ct_tokens_open(d->cfg->store_path, 1, &d->tokens, err)) != CT_OK)
		return rc;
	if ((d->certs_dir = ct_path_join(d->cfg->store_path, "certs")) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = ct_store_mkdir(d->certs_dir, err)) != CT_OK)
		return rc;
	d->pool_n = (size_t)d->cfg->service.ldap_connections;
	d->pool = calloc(d->pool_n, sizeof(*d->pool));
	d->pool_busy = calloc(d->pool_n, sizeof(*d->pool_busy));
	d->issuers = calloc(d->cfg->n_targets, sizeof(*d->issuers));
	d->conn_uid = calloc((size_t)d->cfg->service.max_clients, sizeof(*d->conn_uid));
	d->conn_used = calloc((size_t)d->cfg->service.max_clients, sizeof(*d->conn_used));
	if (d->pool == NULL || d->pool_busy == NULL || d->issuers == NULL || d->conn_uid == NULL ||
	    d->conn_used == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (i = 0; i < d->pool_n; i++)
		if ((rc = ct_attrsrc_open(&d->cfg->attributes, &d->pool[i], err)) != CT_OK)
			return rc;
	return CT_OK;
}

static void
teardown(struct daemon *d)
{
	size_t i;

	if (d->socket_path != NULL) { /* only when start-up failed after binding */
		unlink(d->socket_path);
		free(d->socket_path);
		d->socket_path = NULL;
	}
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	for (i = 0; d->pool != NULL && i < d->pool_n; i++)
		ct_attrsrc_close(d->pool[i]);
	for (i = 0; d->issuers != NULL && i < d->cfg->n_targets; i++)
		issuer_unref(d, d->issuers[i]);
	free(d->issuers);
	free(d->conn_uid);
	free(d->conn_used);
	free(d->pool);
	free(d->pool_busy);
	free(d->certs_dir);
	ct_tokens_close(d->tokens);
}

/* Tell a client we cannot take it now, briefly, and hang up.  Its request
 * is read first: closing a socket with unread data would reset the
 * connection and lose our answer.  Runs in its own thread, so a refused
 * client never holds up the accept loop. */
static void *
refuse(void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;

	drain_input(c->fd, 0);
	reply_error(c, CT_EUNAVAIL, "%s", c->why);
	shutdown(c->fd, SHUT_WR);
	drain_input(c->fd, ct_now_ms() + REFUSE_MS);
	close(c->fd);
	free(c);
	pthread_mutex_lock(&d->conn_mu);
	d->refusers--;
	pthread_cond_broadcast(&d->conn_cv);
	pthread_mutex_unlock(&d->conn_mu);
	return NULL;
}

/* Admit the connection FD from UID: a free slot (under conn_mu), or -1
 * with the reason in WHY. */
static int
admit(struct daemon *d, uid_t uid, char *why, size_t size)
{
	int i, free_slot = -1, mine = 0, max = d->cfg->service.max_clients;

	for (i = 0; i < max; i++) {
		if (!d->conn_used[i]) {
			if (free_slot < 0)
				free_slot = i;
		} else if (d->conn_uid[i] == uid)
			mine++;
	}
	if (free_slot < 0)
		snprintf(why, size, "the service is busy (%d clients); try again", max);
	else if (mine >= d->cfg->service.max_per_user)
		snprintf(
		    why, size, "you already have %d connections to the service; try again", mine);
	else {
		d->conn_used[free_slot] = 1;
		d->conn_uid[free_slot] = uid;
		d->active++;
	}
	return free_slot < 0 || mine >= d->cfg->service.max_per_user ? -1 : free_slot;
}

static void
accept_loop(struct daemon *d, const sigset_t *waitmask)
{
	struct pollfd pfd = {.fd = d->listen_fd, .events = POLLIN};
	struct timespec pause = {0, 100 * 1000000};
	struct ucred cred;
	socklen_t len;
	pthread_attr_t attr;
	pthread_t th;
	struct conn *c;
	int fd, slot, refusing;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!stop_requested) {
		if (ppoll(&pfd, 1, NULL, waitmask) <= 0)
			continue;
		if ((fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				logmsg(LOG_ERR, "accept: %s", strerror(errno));
				nanosleep(&pause, NULL); /* do not spin while out of descriptors */
			}
			continue;
		}
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
		    len != sizeof(cred)) {
			logmsg(LOG_ERR, "SO_PEERCRED: %s", strerror(errno));
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->d = d;
		c->fd = fd;
		c->uid = cred.uid;
		pthread_mutex_lock(&d->conn_mu);
		slot = admit(d, cred.uid, c->why, sizeof(c->why));
		refusing = slot < 0 && d->refusers < REFUSERS_MAX;
		if (refusing)
			d->refusers++;
		pthread_mutex_unlock(&d->conn_mu);
		if (slot < 0) {
			logmsg(LOG_WARNING, "uid %u refused: %s", (unsigned)cred.uid, c->why);
			c->deadline = ct_now_ms() + REFUSE_MS;
			if (!refusing || pthread_create(&th, &attr, refuse, c) != 0) {
				close(fd);
				free(c);
				if (refusing) {
					pthread_mutex_lock(&d->conn_mu);
					d->refusers--;
					pthread_mutex_unlock(&d->conn_mu);
				}
			}
			continue;
		}
		c->slot = slot;
		c->deadline = ct_now_ms() + (int64_t)d->cfg->service.timeout * 1000;
		if (pthread_create(&th, &attr, serve, c) != 0) {
			logmsg(LOG_ERR, "cannot start a thread for a connection");
			close(fd);
			free(c);
			pthread_mutex_lock(&d->conn_mu);
			d->conn_used[slot] = 0;
			d->active--;
			pthread_mutex_unlock(&d->conn_mu);
		}
	}
	pthread_attr_destroy(&attr);
}

/* Wait for running connections, at most their deadline and a little more. */
static void
drain(struct daemon *d)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += d->cfg->service.timeout + 5;
	pthread_mutex_lock(&d->conn_mu);
	while (d->active > 0 || d->refusers > 0)
		if (pthread_cond_timedwait(&d->conn_cv, &d->conn_mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&d->conn_mu);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] [--socket PATH] [-f|--foreground] [--pam-dir DIR]\n"
	    "       " PROG " --help | --version\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	    {"socket", required_argument, NULL, 's'}, {"foreground", no_argument, NULL, 'f'},
	    {"pam-dir", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *config_path = ct_config_default_path(), *socket_path = NULL;
	int explicit_path = getenv("CERTTOKEN_CONF") != NULL && getenv("CERTTOKEN_CONF")[0] != '\0';
	struct daemon d = {.listen_fd = -1};
	struct sigaction sa = {0};
	struct ct_err err = {0};
	sigset_t block, waitmask;
	int c, fd, rc, busy;

	while ((c = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			explicit_path = 1;
			break;
		case 's': socket_path = optarg; break;
		case 'f': d.foreground = 1; break;
		case 'p': d.pam_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " " PACKAGE_VERSION "\n"); return 0;
		default: usage(stderr); return ct_exit_status(CT_EUSAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return ct_exit_status(CT_EUSAGE);
	}
	/* in the foreground, log to stderr too, unless stderr is already the journal */
	openlog(PROG, LOG_PID | (d.foreground && getenv("JOURNAL_STREAM") == NULL ? LOG_PERROR : 0),
	    LOG_AUTHPRIV);
	if (geteuid() != 0) {
		fprintf(
		    stderr, PROG ": must run as root (it owns the CA keys and the token store)\n");
		return ct_exit_status(CT_EPERM);
	}
	umask(077);
	if ((rc = ct_config_load(config_path, explicit_path, &d.cfg, NULL, &err)) != CT_OK ||
	    (rc = check_pam_service(d.pam_dir, &err)) != CT_OK)
		goto fail;
	if ((fd = activated_socket()) == -2) {
		rc = CT_ECONFIG;
		goto out;
	}
	if (fd >= 0)
		d.listen_fd = fd;
	else if ((rc = make_socket(&d, socket_path ? socket_path : d.cfg->socket_path, &err)) !=
	    CT_OK)
		goto fail;
	if ((rc = setup(&d, &err)) != CT_OK)
		goto fail;
	if (!d.foreground) {
		pid_t pid = fork();

		if (pid < 0) {
			rc = ct_err_set(&err, CT_EUNAVAIL, "fork: %s", strerror(errno));
			goto fail;
		}
		if (pid > 0)
			_exit(0); /* the socket is listening: the service is ready */
		setsid();
		if (chdir("/") != 0 || (fd = open("/dev/null", O_RDWR)) < 0) {
			logmsg(LOG_ERR, "cannot detach: %s", strerror(errno));
			_exit(ct_exit_status(CT_EUNAVAIL));
		}
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	/* signals are taken only while the accept loop waits */
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	logmsg(LOG_INFO, "listening on %s (config %s, at most %d clients)",
	    d.socket_path ? d.socket_path : "a socket from systemd", d.cfg->path,
	    d.cfg->service.max_clients);
	accept_loop(&d, &waitmask);
	logmsg(LOG_INFO, "stopping");
	close(d.listen_fd);
	d.listen_fd = -1;
	/* remove the socket now, once: a successor may bind the path while we drain */
	if (d.socket_path != NULL) {
		unlink(d.socket_path);
		free(d.socket_path);
		d.socket_path = NULL;
	}
	drain(&d);
	pthread_mutex_lock(&d.conn_mu);
	busy = d.active + d.refusers;
	pthread_mutex_unlock(&d.conn_mu);
	if (busy > 0) {
		/* threads still run: do not free what they use, nor run exit handlers */
		logmsg(LOG_WARNING, "%d connections still running at exit", busy);
		_exit(0);
	}
	rc = CT_OK;
	goto out;
fail:
	fprintf(stderr, PROG ": %s\n", err.msg);
	if (!d.foreground)
		syslog(LOG_AUTHPRIV | LOG_ERR, "%s", err.msg);
out:
	if (d.cfg != NULL)
		teardown(&d);
	ct_config_free(d.cfg);
	closelog();
	return ct_exit_status(rc);
}
