/* certtokend: what the service's files share. */
#ifndef CT_CERTTOKEND_H
#define CT_CERTTOKEND_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <security/pam_appl.h>

#include "attrsrc.h"
#include "conf.h"
#include "issue.h"
#include "keyproof.h"
#include "proto.h"
#include "sshca.h"
#include "tokens.h"

#define PROG "certtokend"
#define ENROLL_SERVICE "certtoken-enroll"

/* The CA and issuer of one target, shared by the threads that use it and
 * replaced when the group's CA certificate changes on disk. */
struct issuer_ref {
	int refs;
	struct ct_ca *ca;
	struct ct_issuer *is;
	struct ct_ca_version version; /* of the CA loaded */
};

struct daemon {
	struct ct_config *cfg;
	const char *pam_dir;
	/* a PAM handle held from start-up to shutdown: the modules of the
	 * service (and of "other", which libpam also reads) stay loaded, so a
	 * request's pam_start and pam_end do not load and unload them */
	pam_handle_t *pam_pin;
	int foreground;
	struct ct_store *store;

	/* the attribute source, and a pool of reusable connections for it */
	struct ct_attrsrc *attrsrc;
	struct ct_ldap_pool *ldap_pool;

	/* one issuer per target, loaded on first use */
	pthread_mutex_t ca_mu;
	struct issuer_ref **issuers;

	/* connection threads, and whose they are (per-user caps).  A slot is
	 * held from accept until its thread has closed the connection and
	 * ends: SLOT_SERVING until the last answer is written, SLOT_LINGER
	 * while the client reads it.  At most max_clients serving and
	 * max_clients lingering (2 * max_clients slots), so connection threads
	 * and refusers together stay under conn_threads_max(). */
	pthread_mutex_t conn_mu;
	pthread_cond_t conn_cv;
	int active; /* connection threads (serving and lingering) */
	int lingering; /* of those, lingering */
	uid_t *conn_uid; /* 2 * max_clients slots */
	unsigned char *conn_state; /* enum slot_state */
	int refusers;

	int listen_fd;
	char *socket_path; /* set when we created the socket (and remove it) */
};

/* What a connection's slot is doing (struct daemon). */
enum slot_state { SLOT_FREE, SLOT_SERVING, SLOT_LINGER };

/* Refuser threads (telling a client we are busy) at most at once. */
#define REFUSERS_MAX 8

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

/* The connection's protocol states (the request table says which message
 * types each one takes). */
enum conn_state { STATE_REQUEST, STATE_CONV, STATE_PROOF };

/* ---- conn.c: one connection's I/O and identity ---- */

/* Log one line to syslog (authpriv). */
void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log a refusal or protocol error caused by UID, at most LOG_UID_LINES such
 * lines per uid in LOG_UID_SECONDS; the rest are counted and summed up in
 * one line ("uid U: K more refusals and protocol errors suppressed in the
 * last S s") when the uid's window has passed.  The table of uids is
 * fixed; when full, the overflow shares one budget. */
#define LOG_UID_LINES 20
#define LOG_UID_SECONDS 10
void logmsg_uid(uid_t uid, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* End the windows that have passed, logging their summaries (call about
 * once a second). */
void logmsg_uid_flush(void);

/* Read and drop what the client sent, until its end of stream or DEADLINE
 * (0: only what has arrived). */
void drain_input(int fd, int64_t deadline);

/* Send a RESULT with CODE (a ct.h code, sent as its exit status) and MSG. */
void reply_error(struct conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Refuse WHAT (a request's name) for a reason the client can act on: log
 * "WHAT refused for user U (uid N): MSG" and answer CODE with MSG.
 * Returns CODE. */
int refuse_request(struct conn *c, int code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Answer CODE for a failure the caller has logged: with MSG when SHOWN (the
 * client can act on it), else with "the service DOES; see the system log". */
void reply_failure(struct conn *c, int code, int shown, const char *msg, const char *does);

/* Who is on the other end (C->uid from SO_PEERCRED): C->user and C->gid,
 * or -1, logged and answered. */
int identify(struct conn *c);

/* ---- dispatch.c: the request table ---- */

/* Receive the next message of C in STATE before DEADLINE into M (the table
 * which types STATE takes).  On an I/O error or a message out of place:
 * logged once, answered when the client can still read, C marked broken,
 * and CT_EIO or CT_EINVAL. */
int conn_recv(struct conn *c, enum conn_state state, int64_t deadline, struct ct_msg *m);

/* Serve one connection (a thread): identify, read the request, run its
 * handler, answer, release the slot, close. */
void *serve(void *arg);

/* ---- pam.c: the PAM service ---- */

/* Each uid may start PAM_BURST PAM conversations at once, then one more
 * every PAM_REFILL_S seconds; one that authenticates is given back. */
#define PAM_BURST 10
#define PAM_REFILL_S 6

/* Authenticate the caller through the PAM service certtoken-enroll; WHAT
 * names the request in log lines.  Over the uid's budget (PAM_BURST,
 * PAM_REFILL_S) it is refused with 69 before PAM starts, logged through
 * logmsg_uid.  CT_OK, or a code already answered. */
int run_pam(struct conn *c, const char *what);

/* Take and give back D's PAM pin (see struct daemon). */
int pam_pin(struct daemon *d, struct ct_err *err);
void pam_unpin(struct daemon *d);

/* The issuer of target TI, loaded on first use; release with issuer_unref. */
int issuer_get(struct daemon *d, size_t ti, struct issuer_ref **out, struct ct_err *err);
void issuer_unref(struct daemon *d, struct issuer_ref *r);

/* The caller's attributes; with ANSWER, a failure is answered. */
int lookup_attrs(struct conn *c, struct ct_attrs **out, int answer);

/* Run the event handlers for EVENT on token T (attributes looked up when a
 * handler needs them and ATTRS is NULL). */
void fire(
    struct conn *c, const char *event, const struct ct_token *t, const struct ct_attrs *attrs);

/* The caller's tokens (none: an empty list) into UT; WHAT names the
 * request in the log.  CT_OK or logged and answered. */
int peek_tokens(struct conn *c, const char *what, struct ct_user_tokens *ut);

/* Refuse, before any prompt, a user who may not use target T or has no room
 * for a token.  CT_OK or a code already answered. */
int precheck(struct conn *c, const struct ct_target *t);

/* The index of the target named in M (or the default one); -1 answered. */
ssize_t pick_target(struct conn *c, const struct ct_msg *m);

/* What enroll and keygen do between their checks and the key: load the
 * issuer (when the connector signs here), run PAM (WHAT names the request),
 * read the attributes, make a token serial.  CT_OK or answered. */
int authorize(struct conn *c, const struct ct_target *t, size_t ti, const char *what,
    struct issuer_ref **ir, struct ct_attrs **attrs, char token[CT_SERIAL_MAX]);

/* Has C's deadline passed (PAM, or the directory, took too long)?  Then
 * "WHAT for user U (uid N) abandoned: ..." is logged, 69 answered and
 * CT_EUNAVAIL returned: nothing may be issued or recorded after it. */
int past_deadline(struct conn *c, const char *what);

/* Record certificate DER of target T under token TOKEN (PENDING: the
 * pending token becomes enrolled; INFO: another CA's certificate).  The
 * token as recorded in *OUT.  CT_OK, or logged and answered. */
int record_issued(struct conn *c, const struct ct_target *t, const char *token, int pending,
    const char *desc, const unsigned char *der, size_t der_len, const struct ct_cert_info *info,
    struct ct_token *out);
/* As record_issued, with the serial of the OpenSSH certificate issued with
 * it (SSH_SERIAL; 0: none) recorded in the index. */
int record_issued_ssh(struct conn *c, const struct ct_target *t, const char *token, int pending,
    const char *desc, const unsigned char *der, size_t der_len, const struct ct_cert_info *info,
    uint64_t ssh_serial, struct ct_token *out);

/* Record a pending request of token TOKEN (its CSR DER and the CA's REF)
 * and its token in *OUT.  CT_OK, or logged and answered. */
int record_pending(struct conn *c, const struct ct_target *t, const char *token,
    const unsigned char *csr, size_t csr_len, const char *ref, struct ct_token *out);

/* RESULT 0 with the target, the certificate and the token: built into B
 * (issued_result, for answers that carry more), or sent. */
int issued_result(struct ct_msgbuf *b, const char *target, const char *token,
    const unsigned char *der, size_t der_len);
void send_issued(struct conn *c, const char *target, const char *token, const unsigned char *der,
    size_t der_len);

/* RESULT 75: pending, with the target and the token. */
void send_pending(struct conn *c, const struct ct_target *t, const char *token);

/* Log a failure of the CA connector of T (WHAT names the request) and
 * answer it: an external CA's reasons go only to the log. */
void connector_failed(
    struct conn *c, const struct ct_target *t, const char *what, int rc, const struct ct_err *err);

/* ---- the request handlers (one file each) ---- */
void do_enroll(struct conn *c, const struct ct_msg *m);
void do_fetch(struct conn *c, const struct ct_msg *m);
void do_upload(struct conn *c, const struct ct_msg *m);
void do_keygen(struct conn *c, const struct ct_msg *m);
void do_status(struct conn *c, const struct ct_msg *m);

/* ---- listen.c: the socket and the accept loop ---- */

/* A socket passed by systemd: the fd, -1 when none was passed, -2 when it
 * is unusable (said on stderr). */
int activated_socket(void);

/* Create, bind and listen on PATH.  Sets d->socket_path on success. */
int make_socket(struct daemon *d, const char *path, struct ct_err *err);

/* The most threads that serve connections at once: serving and lingering
 * connections (max_clients each) and the refusers. */
int conn_threads_max(const struct daemon *d);

/* Accept connections until STOP is set (signals in WAITMASK interrupt). */
void accept_loop(struct daemon *d, const sigset_t *waitmask, volatile sig_atomic_t *stop);

/* ---- ssh.c: OpenSSH user certificates beside the X.509 one ---- */

/* Before any prompt: can target T's group sign OpenSSH certificates (when
 * T has `ssh`)?  CT_OK, or logged and answered. */
int ssh_precheck(struct conn *c, const struct ct_target *t);

/* After PAM, before the X.509 certificate is signed: everything the
 * OpenSSH certificate of target T for the key SPKI (SPKI_LEN bytes) and
 * attributes ATTRS can be checked for (its principals, the key's type),
 * and the group's SSH CA key loaded into *CA (NULL when T has no `ssh`).
 * CT_OK, or logged and answered (nothing was issued). */
int ssh_prepare(struct conn *c, const struct ct_target *t, const struct ct_attrs *attrs,
    const unsigned char *spki, size_t spki_len, EVP_PKEY **ca);

/* Sign with CA (from ssh_prepare) the OpenSSH user certificate of target
 * T for the enrollment of the key SPKI (SPKI_LEN bytes) with attributes
 * ATTRS whose X.509 certificate is DER, into *OUT.  CT_OK, or logged and
 * answered (nothing was recorded). */
int ssh_issue(struct conn *c, const struct ct_target *t, EVP_PKEY *ca, const struct ct_attrs *attrs,
    const unsigned char *spki, size_t spki_len, const unsigned char *der, size_t der_len,
    struct ct_sshca_cert *out);

/* send_issued, with the OpenSSH certificate LINE (NULL: none). */
void send_issued_ssh(struct conn *c, const char *target, const char *token,
    const unsigned char *der, size_t der_len, const char *line);

#endif
