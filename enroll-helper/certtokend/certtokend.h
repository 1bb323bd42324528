/* certtokend: what the service's files share. */
#ifndef CT_CERTTOKEND_H
#define CT_CERTTOKEND_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "attrsrc.h"
#include "conf.h"
#include "issue.h"
#include "proto.h"
#include "tokens.h"

#define PROG "certtokend"
#define ENROLL_SERVICE "certtoken-enroll"

/* The CA and issuer of one target, shared by the threads that use it and
 * replaced when the group's CA certificate changes on disk. */
struct issuer_ref {
	int refs;
	struct ct_ca *ca;
	struct ct_issuer *is;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
};

struct daemon {
	struct ct_config *cfg;
	const char *pam_dir;
	int foreground;
	struct ct_store *store;

	/* attribute sources: a pool of reusable connections */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	struct ct_attrsrc **pool;
	int *pool_busy;
	size_t pool_n;

	/* one issuer per target, loaded on first use */
	pthread_mutex_t ca_mu;
	struct issuer_ref **issuers;

	/* connections in progress, and whose they are (per-user cap) */
	pthread_mutex_t conn_mu;
	pthread_cond_t conn_cv;
	int active;
	uid_t *conn_uid; /* max_clients slots */
	int *conn_used;
	int refusers;

	int listen_fd;
	char *socket_path; /* set when we created the socket (and remove it) */
};

struct conn {
	struct daemon *d;
	int fd;
	int64_t deadline;
	uid_t uid;
	gid_t gid;
	int slot; /* in d->conn_uid */
	char user[CT_USER_MAX];
	char why[96]; /* why a refused connection is refused */
	int broken; /* the client broke the protocol or went away: just close */
};

struct issued {
	char serial[CT_CERT_SERIAL_MAX]; /* certificate serial, upper-case hex */
	char token[CT_SERIAL_MAX];
	char subject[512];
	char not_after_text[32];
	int64_t not_after;
};

/* Log one line to syslog (authpriv). */
void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Send a RESULT with CODE (a ct.h code, sent as its exit status) and MSG. */
void reply_error(struct conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Authenticate the caller through the PAM service certtoken-enroll; WHAT
 * names the request in log lines.  CT_OK, or a code already answered. */
int run_pam(struct conn *c, const char *what);

/* An attribute-source connection from the pool (NULL when none came free
 * before DEADLINE); give it back with pool_put. */
struct ct_attrsrc *pool_get(struct daemon *d, int64_t deadline, size_t *slot);
void pool_put(struct daemon *d, size_t slot);

/* The issuer of target TI, loaded on first use; release with issuer_unref. */
int issuer_get(struct daemon *d, size_t ti, struct issuer_ref **out, struct ct_err *err);
void issuer_unref(struct daemon *d, struct issuer_ref *r);

/* Serial, notAfter and subject of an issued certificate's DER. */
int describe_cert(const unsigned char *der, size_t len, struct issued *out, struct ct_err *err);

/* Make room in UT for one more certificate token (see certtokend.c). */
int make_room(struct ct_user_tokens *ut, const char *user, time_t now, int log, struct ct_err *err);

/* Refuse, before any prompt, a user who may not use target T or has no room
 * for a token.  CT_OK or a code already answered. */
int precheck(struct conn *c, const struct ct_target *t);

/* The index of the target named in M (or the default one); -1 answered. */
ssize_t pick_target(struct conn *c, const struct ct_msg *m);

/* The certificate requests (certtokend_cert.c). */
void do_enroll(struct conn *c, const struct ct_msg *m);
void do_fetch(struct conn *c, const struct ct_msg *m);
void do_upload(struct conn *c, const struct ct_msg *m);
void do_keygen(struct conn *c, const struct ct_msg *m);

#endif
