/* /etc/certtoken.conf: loading and strict validation.
 *
 * Every section has an embedded default, so an empty file (or no file at the
 * default path) is a working configuration: store /var/lib/certtoken, the
 * passwd attribute source, access group "default" (ec-p256), template
 * "client" (DigitalSignature, ClientAuth), target "default" and the "local"
 * CA connector. */
#ifndef CT_CONF_H
#define CT_CONF_H

#include <stddef.h>

#include "attrsrc.h"
#include "ct.h"
#include "pattern.h"
#include "template.h"

#define CT_NAME_MAX 64 /* group, template, target, connector names */
#define CT_CONFIG_MAX_ITEMS 256 /* entries per list */
#define CT_DIAG_MAX 64 /* problems reported by one load */

enum ct_key_type {
	CT_KEY_EC_P256,
	CT_KEY_EC_P384,
	CT_KEY_ED25519,
	CT_KEY_RSA2048,
	CT_KEY_RSA3072,
	CT_KEY_RSA4096
};

/* "ec-p256" ... "rsa4096" <-> enum; parse returns -1 when unknown. */
int ct_key_type_parse(const char *name);
const char *ct_key_type_name(enum ct_key_type t);

#define CT_GROUP_UNIX_MAX 32 /* unix_groups per access group */

struct ct_group {
	char *name;
	enum ct_key_type key_type;
	enum ct_key_type ssh_key_type; /* the SSH CA's: CT_KEY_ED25519 or CT_KEY_EC_P256 */
	long ca_days;
	/* Who may enroll for the group's targets: members of these Unix groups
	 * (names, resolved through NSS at enrollment time); none: every user. */
	char **unix_groups;
	size_t n_unix_groups;
};

/* How a target's certificates are signed:
 *   local    by the access group's CA in the store, at once;
 *   queue    not at once: the request waits (token rollout_state "pending")
 *            until an administrator approves it, then the group's CA signs;
 *   command  by an external program (no shell): CSR (PEM) on stdin, the
 *            certificate (PEM) on stdout; exit 75 means pending. */
enum ct_connector_type { CT_CONNECTOR_LOCAL, CT_CONNECTOR_QUEUE, CT_CONNECTOR_COMMAND };

#define CT_ARGV_MAX 16 /* words of a configured command, program included */

struct ct_connector {
	char *name;
	enum ct_connector_type type;
	char **argv; /* command: absolute program path, then arguments; NULL-terminated */
	int timeout; /* command: seconds it may run */
	int poll_interval; /* CT_CX_FETCH: seconds between two runs of one request's fetch */
};

/* The OpenSSH certificate extensions a target's certificates may carry. */
#define CT_SSH_EXT_X11 0x01u /* permit-X11-forwarding */
#define CT_SSH_EXT_AGENT 0x02u /* permit-agent-forwarding */
#define CT_SSH_EXT_PORT 0x04u /* permit-port-forwarding */
#define CT_SSH_EXT_PTY 0x08u /* permit-pty */
#define CT_SSH_EXT_USER_RC 0x10u /* permit-user-rc */
#define CT_SSH_EXT_DEFAULT CT_SSH_EXT_PTY
#define CT_SSH_PRINCIPALS_MAX 16

/* "permit-pty" ... <-> CT_SSH_EXT_* bit; parse returns 0 when unknown.
 * ct_ssh_ext_name gives the name of the lowest bit set in BIT. */
unsigned ct_ssh_ext_parse(const char *name);
const char *ct_ssh_ext_name(unsigned bit);

/* A target's OpenSSH user certificates (the target's `ssh` setting). */
struct ct_ssh_conf {
	int enabled; /* enrollments also get an OpenSSH user certificate */
	struct ct_pattern *principals[CT_SSH_PRINCIPALS_MAX]; /* default: %unix_account% */
	size_t n_principals;
	unsigned extensions; /* CT_SSH_EXT_* */
	char *force_command; /* critical option force-command, or NULL */
	char *source_address; /* critical option source-address, or NULL */
};

struct ct_target {
	char *name;
	const struct ct_group *group;
	const struct ct_template *template;
	const struct ct_connector *connector;
	char *subject_text;
	char *san_text;
	struct ct_pattern *subject;
	struct ct_pattern *san;
	long lifetime; /* seconds */
	long backdate; /* seconds */
	int require_attestation; /* CSRs need a key-attestation certificate */
	struct ct_ssh_conf ssh;
};

struct ct_otp_conf {
	int digits;
	int period;
	int window;
	int hotp_lookahead;
	int throttle_after; /* failures before attempts are throttled (old name max_fail) */
	int throttle_base; /* seconds of the first throttle, doubling with each failure */
	int throttle_max; /* seconds the throttle is capped at, 0: never (old: lock_seconds) */
	int refusal_ms; /* a refused attempt answers no sooner than this */
};

/* certtokend's limits. */
struct ct_service_conf {
	int max_clients; /* connections served at once */
	int max_per_user; /* of those, from one uid */
	int timeout; /* seconds: a connection's whole deadline */
	int ldap_connections; /* attribute-source connections kept open */
};

/* The mail of e-mail event actions, through the sendmail interface. */
struct ct_mail_conf {
	char *sendmail; /* absolute path; run as SENDMAIL -i -- RECIPIENT */
	char *from; /* the From: address */
	char *address_attribute; /* the token owner's address: this user attribute */
	int timeout; /* seconds sendmail may run */
};

/* Event handlers: when EVENT happens to a token and every condition holds,
 * run the action.  Events, conditions and placeholders: see events.h. */
enum ct_event_action { CT_ACTION_EMAIL, CT_ACTION_SYSLOG, CT_ACTION_COMMAND };

#define CT_EVENT_CONDS_MAX 8

struct ct_event_cond {
	char *field; /* rollout_state type target active user */
	char *value;
};

struct ct_event {
	char *event;
	struct ct_event_cond when[CT_EVENT_CONDS_MAX];
	size_t n_when;
	enum ct_event_action action;
	/* email: "tokenowner" or an address; subject and body are templates
	 * with {placeholders}; syslog: body is the line */
	char *to;
	char *subject;
	char *body;
	char **argv; /* command: as a connector's, each word a template */
	int timeout; /* command: seconds */
	int line; /* in the configuration file, for log lines */
};

struct ct_config {
	char *path; /* the file read, or "(embedded default)" */
	char *store_backend;
	char *store_path;
	int store_lock_timeout; /* seconds a lock of the store is waited for */
	char *socket_path;
	struct ct_attr_conf attributes;
	struct ct_otp_conf otp;
	struct ct_service_conf service;
	struct ct_group *groups;
	size_t n_groups;
	struct ct_template *templates;
	size_t n_templates;
	struct ct_target *targets;
	size_t n_targets;
	struct ct_connector *connectors;
	size_t n_connectors;
	char *attestation_ca_dir; /* trusted key-attestation CAs; NULL: none */
	struct ct_mail_conf mail;
	struct ct_event *events;
	size_t n_events;
};

/* Problems found while loading: each one line, "FILE:LINE: what". */
struct ct_diag {
	char *msg[CT_DIAG_MAX];
	size_t n;
	size_t dropped; /* problems beyond CT_DIAG_MAX */
};

void ct_diag_clear(struct ct_diag *d);

/* Default configuration path of the CLIs: $CERTTOKEN_CONF if set and not
 * empty, else ct_config_system_path(). */
const char *ct_config_default_path(void);

/* Does $CERTTOKEN_CONF name the file (so that it must exist)? */
int ct_config_env_named(void);

/* SYSCONFDIR/certtoken.conf.  The PAM module uses only this (or config=):
 * the environment of the process it runs in belongs to the user. */
const char *ct_config_system_path(void);

/* Load and validate PATH.  EXPLICIT=0 means PATH is the default path, and a
 * missing file yields the embedded default.  On any problem returns
 * CT_ECONFIG with every problem in DIAG (if not NULL) and the first in ERR. */
int ct_config_load(const char *path, int explicit_path, struct ct_config **out,
    struct ct_diag *diag, struct ct_err *err);

/* Load from an in-memory string (tests); NAME is used in messages. */
int ct_config_load_string(const char *text, const char *name, struct ct_config **out,
    struct ct_diag *diag, struct ct_err *err);

void ct_config_free(struct ct_config *c);

const struct ct_group *ct_config_group(const struct ct_config *c, const char *name);
const struct ct_target *ct_config_target(const struct ct_config *c, const char *name);
/* The target named "default", else the first one; NULL when there is none. */
const struct ct_target *ct_config_default_target(const struct ct_config *c);
const struct ct_template *ct_config_template(const struct ct_config *c, const char *name);

/* Is NAME usable as a group/target/template/connector name (1-64 of [A-Za-z0-9._-],
 * not starting with '.')? */
int ct_name_valid(const char *name);

#endif
