/* certtoken-admin: the state and helpers its commands share, and the
 * command tables.
 *
 * admin.c holds main and the table of commands; each admin_*.c file holds
 * one command's subcommands (and its table); admin_common.c holds the
 * helpers below, which call no command. */
#ifndef CT_ADMIN_H
#define CT_ADMIN_H

#include "conf.h"
#include "attrs.h"
#include "ct.h"
#include "tokens.h"

#define PROG "certtoken-admin"

struct admin {
	const char *config_path;
	int config_explicit;
	struct ct_config *cfg;
	struct ct_store *store; /* opened by admin_open_store */
	struct ct_err err;
};

/* A command or subcommand: RUN gets ARGV[0] = NAME and gives the exit
 * status; a command with subcommands has SUB (ended by a NULL name) and no
 * RUN.  HELP is its part of the --help text, NULL when an entry before it
 * told it. */
struct admin_cmd {
	const char *name;
	int (*run)(struct admin *ad, int argc, char **argv);
	const struct admin_cmd *sub;
	const char *help;
};

/* --- admin_common.c ------------------------------------------------------ */

/* Print "certtoken-admin: MESSAGE (try --help)" and give the usage status. */
int admin_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the error recorded in AD (if any) and give CODE's exit status. */
int admin_fail(struct admin *ad, int code);

/* Load the configuration into AD->cfg (once). */
int admin_load_config(struct admin *ad);

/* Load the configuration and open its store into AD->store (once; no
 * token state). */
int admin_open_store(struct admin *ad);

/* admin_open_store for access group GROUP's CA: a store that does not
 * exist yet is the group having no CA (CT_ENOENT saying to run ca init). */
int admin_open_ca_store(struct admin *ad, const char *group);

/* An operation on token I of a user's tokens, inside the transaction. */
typedef int (*token_op)(struct ct_user_tokens *u, size_t i, void *ctx, struct ct_err *err);

/* Apply OP to token SERIAL inside its owner's transaction and write the
 * result; the owner's name goes to USER_OUT (CT_USER_MAX bytes). */
int admin_with_token(struct admin *ad, const char *serial, token_op op, void *ctx, char *user_out);

/* Called for each token T of USER: 0 to go on, above 0 to stop. */
typedef int (*token_visit)(void *ctx, const char *user, const struct ct_token *t);

/* Read USER's tokens in DB without a transaction and call FN on each until
 * it stops: its answer, 0, or the negative code of the read (ERR says why). */
int admin_each_token(
    struct ct_store *db, const char *user, token_visit fn, void *ctx, struct ct_err *err);

/* USER's attributes from the configured source (a new connection). */
int admin_attrs(struct admin *ad, const char *user, struct ct_attrs **out);

/* Issue the key SPKI for target T with ATTRS, signed by the access group's
 * current CA: the certificate's DER in a new buffer. */
int admin_sign(struct admin *ad, const struct ct_target *t, const struct ct_attrs *attrs,
    const unsigned char *spki, size_t spki_len, unsigned char **der, size_t *der_len);

/* Run the event handlers for EVENT on USER's token T (attributes are looked
 * up when a handler needs them); failures are printed, never fatal. */
void admin_fire(struct admin *ad, const char *event, const char *user, const struct ct_token *t);

/* --- the commands -------------------------------------------------------- */

/* certtoken-admin check-config, render and issue (admin_issue.c) */
int admin_cmd_check_config(struct admin *ad, int argc, char **argv);
int admin_cmd_render(struct admin *ad, int argc, char **argv);
int admin_cmd_issue(struct admin *ad, int argc, char **argv);

/* certtoken-admin ca init|export|rotate (admin_ca.c) */
extern const struct admin_cmd admin_ca_cmds[];

/* certtoken-admin token init|list|enable|disable|delete|reset|resync
 * (admin_token.c) */
extern const struct admin_cmd admin_token_cmds[];

/* certtoken-admin cert list|revoke|pending|approve|reject|expiring
 * (admin_cert.c) and crl GROUP */
extern const struct admin_cmd admin_cert_cmds[];
int admin_cmd_crl(struct admin *ad, int argc, char **argv);

/* certtoken-admin store check|migrate (admin_store.c) */
extern const struct admin_cmd admin_store_cmds[];

/* certtoken-admin cert pending|approve|reject|expiring (admin_request.c) */
int admin_cmd_pending(struct admin *ad, int argc, char **argv);
int admin_cmd_decide(struct admin *ad, int argc, char **argv);
int admin_cmd_expiring(struct admin *ad, int argc, char **argv);

/* --- admin_ssh.c: the SSH CAs ------------------------------------------- */

/* ca export GROUP --ssh: G's trusted SSH CA keys, one TrustedUserCAKeys line
 * each, the comment naming the group and the role. */
int admin_ca_export_ssh(struct admin *ad, const struct ct_group *g);

/* ca ssh-init GROUP */
int admin_cmd_ca_ssh_init(struct admin *ad, int argc, char **argv);

/* krl GROUP [GROUP...] | krl --all; [--output FILE] */
int admin_cmd_krl(struct admin *ad, int argc, char **argv);

#endif
