/* LDAP connections: one directory connection, and a pool of them.
 *
 * Shared by everything that talks to a directory (the LDAP attribute source,
 * and a directory-backed store).  A connection opens on first use: the URIs
 * are tried in order until one answers, each within the network timeout and
 * the caller's deadline; it is secured (ldaps://, or StartTLS on ldap://,
 * never falling back to cleartext; ldapi:// is a local socket) and bound
 * (simple bind with a password read from a file, SASL EXTERNAL, or
 * anonymously).  Every read and write on the socket is bounded, inside the
 * TLS handshake too.  Failures are one line in struct ct_err naming the URI,
 * never the password.  Library code: no logging. */
#ifndef CT_LDAPCONN_H
#define CT_LDAPCONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <ldap.h>

#include "ct.h"

#define CT_LDAP_URIS_MAX 16 /* URIs in one list */
#define CT_LDAP_TIMEOUT_MAX_MS (300 * 1000) /* either timeout */

enum ct_ldap_bind {
	CT_LDAP_BIND_ANONYMOUS, /* simple bind with an empty DN and password */
	CT_LDAP_BIND_SIMPLE, /* bind_dn, password from bind_password_file */
	CT_LDAP_BIND_EXTERNAL /* SASL EXTERNAL: ldapi:// peer credentials */
};

/* Where and how to connect.  Borrowed: the strings and the URI array must
 * outlive every connection and pool made from the settings. */
struct ct_ldap_settings {
	const char *const *uris; /* ldap://, ldaps:// or ldapi:// URLs, tried in order */
	size_t n_uris; /* 1..CT_LDAP_URIS_MAX */
	int starttls; /* 1: StartTLS on ldap:// URIs, required to succeed */
	const char *ca_file; /* CA bundle for ldaps/StartTLS (NULL: system default) */
	enum ct_ldap_bind bind;
	const char *bind_dn; /* CT_LDAP_BIND_SIMPLE */
	const char *bind_password_file; /* CT_LDAP_BIND_SIMPLE: the first line is the password */
	int network_timeout_ms; /* connect and TLS handshake, per URI */
	int op_timeout_ms; /* StartTLS, bind, and each operation */
};

/* Is URI one ldap://, ldaps:// or ldapi:// URL (no spaces or commas)? */
int ct_ldap_uri_valid(const char *uri);

/* CT_OK when S is usable (URIs, timeouts, bind fields), else CT_ECONFIG.
 * No network or file I/O. */
int ct_ldap_settings_check(const struct ct_ldap_settings *s, struct ct_err *err);

struct ct_ldap;

/* A connection for settings S, not open yet (no I/O).  CT_ECONFIG when S
 * is not usable. */
int ct_ldap_new(const struct ct_ldap_settings *s, struct ct_ldap **out, struct ct_err *err);

/* Open H unless it is open: try each URI in order until one connects,
 * secures and binds, stopping at DEADLINE_MS (ct_now_ms clock; 0: only the
 * timeouts bound it).  CT_EUNAVAIL when no server answered or every server
 * refused; CT_ECONFIG / CT_EPERM for an unusable or unsafe password file. */
int ct_ldap_open(struct ct_ldap *h, int64_t deadline_ms, struct ct_err *err);

/* The operation ct_ldap_run runs: an LDAP result code.  TIMEOUT is the time
 * it may take (the operation timeout, cut to the deadline). */
typedef int (*ct_ldap_op_fn)(LDAP *ld, struct timeval *timeout, void *arg);

/* Run OP(ld, timeout, ARG) on H, opening H first when it is not open.  When
 * a connection that was already open answers LDAP_SERVER_DOWN (the server
 * closed it), reopen once and run OP again.  CT_OK when OP ran, with its
 * result code in *LRC (the caller judges it); else the ct_ldap_open code. */
int ct_ldap_run(struct ct_ldap *h, int64_t deadline_ms, ct_ldap_op_fn op, void *arg, int *lrc,
    struct ct_err *err);

/* The libldap handle of open H (to read results), or NULL. */
LDAP *ct_ldap_ld(const struct ct_ldap *h);

/* The URI H is connected to (or last tried); the first URI before any. */
const char *ct_ldap_uri(const struct ct_ldap *h);

/* Record in ERR that WHAT failed on H with LDAP code LRC:
 * "LDAP <uri>: <what> failed: <reason>[: <server diagnostic>]".  Returns CODE. */
int ct_ldap_fail(const struct ct_ldap *h, const char *what, int lrc, int code, struct ct_err *err);

/* Close H's connection; the next ct_ldap_open or ct_ldap_run reopens it. */
void ct_ldap_drop(struct ct_ldap *h);

/* Close and free H (NULL is allowed). */
void ct_ldap_free(struct ct_ldap *h);

struct ct_ldap_pool;

/* A pool of N (1..1024) connections for S, none open yet (no I/O).
 * Thread-safe: any thread may take and give back connections. */
int ct_ldap_pool_new(
    const struct ct_ldap_settings *s, size_t n, struct ct_ldap_pool **out, struct ct_err *err);

/* Take a free connection of P for the caller alone, waiting until
 * DEADLINE_MS (ct_now_ms clock; one in the past, such as 0, does not wait).
 * It may not be open yet: ct_ldap_run opens it.  CT_EUNAVAIL when none came
 * free in time.  Give it back with ct_ldap_pool_put. */
int ct_ldap_pool_get(
    struct ct_ldap_pool *p, int64_t deadline_ms, struct ct_ldap **out, struct ct_err *err);

/* Give H (from ct_ldap_pool_get on P) back; it stays open for the next user. */
void ct_ldap_pool_put(struct ct_ldap_pool *p, struct ct_ldap *h);

/* Close every connection and free P (NULL is allowed); none may be taken. */
void ct_ldap_pool_free(struct ct_ldap_pool *p);

#endif
