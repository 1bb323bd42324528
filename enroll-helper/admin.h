/* certtoken-admin: shared state of the command implementations. */
#ifndef CT_ADMIN_H
#define CT_ADMIN_H

#include "conf.h"
#include "ct.h"

#define PROG "certtoken-admin"

struct admin {
	const char *config_path;
	int config_explicit;
	struct ct_config *cfg;
	struct ct_err err;
};

/* Print "certtoken-admin: MESSAGE (try --help)" and give the usage status. */
int admin_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the error recorded in AD (if any) and give CODE's exit status. */
int admin_fail(struct admin *ad, int code);

/* Load the configuration into AD->cfg (once). */
int admin_load_config(struct admin *ad);

/* certtoken-admin token ... */
int admin_cmd_token(struct admin *ad, int argc, char **argv);

/* certtoken-admin cert list|revoke ... and crl GROUP */
int admin_cmd_cert(struct admin *ad, int argc, char **argv);
int admin_cmd_crl(struct admin *ad, int argc, char **argv);

#endif
