/* Attribute sources: where a user's attributes come from.
 *
 * passwd: the embedded default, from NSS (getpwnam_r).
 * ldap:   a directory searched with libldap over the connections of
 *         ldapconn.h: ct_attrsrc_lookup uses the source's own connection,
 *         opened on first use and reused for later lookups; threads use
 *         ct_attrsrc_lookup_on with connections from a pool. */
#ifndef CT_ATTRSRC_H
#define CT_ATTRSRC_H

#include <stddef.h>
#include <stdint.h>

#include "attrs.h"
#include "ct.h"
#include "ldapconn.h"

#define CT_ATTR_STD_COUNT 14 /* entries of ct_attr_standard_names */
#define CT_LDAP_MAX_VALUES 512 /* attribute values read from one entry */

enum ct_attr_source { CT_ATTR_SOURCE_PASSWD, CT_ATTR_SOURCE_LDAP };

struct ct_ldap_conf {
	char *uri; /* ldap://host:port or ldaps://host:port */
	int starttls; /* 1: StartTLS on ldap:// (required to succeed) */
	char *ca_file; /* CA bundle for ldaps/StartTLS (NULL: system default) */
	char *bind_dn; /* NULL: anonymous */
	char *bind_password_file; /* read at bind time; first line is the password */
	char *base; /* search base */
	char *filter; /* filter template: %u = user name, RFC 4515 escaped */
	int timeout; /* seconds, for connect and for each operation */
	char *map[CT_ATTR_STD_COUNT]; /* standard attribute index -> LDAP attribute name */
};

struct ct_attr_conf {
	enum ct_attr_source source;
	struct ct_ldap_conf ldap;
};

/* Fill C with the defaults (passwd source; LDAP defaults for every field). */
int ct_attr_conf_defaults(struct ct_attr_conf *c);
void ct_attr_conf_clear(struct ct_attr_conf *c);

/* Index of canonical standard name NAME in ct_attr_standard_names, or -1. */
int ct_attr_standard_index(const char *name);

/* Does source C provide the attribute NAME (alias-aware)?  passwd provides a
 * fixed subset; ldap provides every mapped standard name and any custom name. */
int ct_attr_conf_provides(const struct ct_attr_conf *c, const char *name);

/* Attributes of USER from NSS: principal/username/unix_account = the account
 * name, name from the GECOS full-name field, first_name/last_name when that
 * has two or more words, telephone from the GECOS work-phone field,
 * source = "passwd".  CT_ENOENT when the user does not exist. */
int ct_attrs_from_passwd(const char *user, struct ct_attrs **out, struct ct_err *err);

/* Escape VALUE for use inside an LDAP filter (RFC 4515: '*', '(', ')', '\\'
 * and NUL as \XX).  Writes at most OUTSZ bytes including the NUL; CT_EINVAL
 * when it does not fit. */
int ct_ldap_escape_filter(const char *value, char *out, size_t outsz, struct ct_err *err);

/* Build a search filter from TEMPLATE, replacing %u with the escaped USER and
 * %% with '%'.  Any other %-sequence is CT_ECONFIG. */
int ct_ldap_build_filter(const char *template, const char *user, char **out, struct ct_err *err);

struct ct_attrsrc;

/* Prepare a source from C (no network I/O yet). C must outlive the source. */
int ct_attrsrc_open(const struct ct_attr_conf *c, struct ct_attrsrc **out, struct ct_err *err);

/* Look up USER on the source's own connection (one thread at a time).
 * CT_ENOENT: no such user (or not exactly one LDAP entry); CT_EUNAVAIL: the
 * directory is down, refused the bind, or did not answer within the timeout
 * (the connection is dropped and retried next time). */
int ct_attrsrc_lookup(
    struct ct_attrsrc *s, const char *user, struct ct_attrs **out, struct ct_err *err);

/* A pool of N connections to S's directory for ct_attrsrc_lookup_on.  With
 * the passwd source they never open: the pool only bounds how many lookups
 * run at once.  S must outlive the pool. */
int ct_attrsrc_pool_new(
    const struct ct_attrsrc *s, size_t n, struct ct_ldap_pool **out, struct ct_err *err);

/* ct_attrsrc_lookup on CONN, a connection of S's pool that the caller holds,
 * giving up at DEADLINE_MS (ct_now_ms clock; 0: only the LDAP timeouts).
 * Threads may look up through one source at once, each on its own CONN. */
int ct_attrsrc_lookup_on(struct ct_attrsrc *s, struct ct_ldap *conn, int64_t deadline_ms,
    const char *user, struct ct_attrs **out, struct ct_err *err);

void ct_attrsrc_close(struct ct_attrsrc *s);

#endif
