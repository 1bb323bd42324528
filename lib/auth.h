/* The OTP step of authentication, and the account check: policy over the
 * token store and the OTP engine.  Used by the PAM module (and later by the
 * enrollment service); no PAM types here. */
#ifndef CT_AUTH_H
#define CT_AUTH_H

#include <time.h>

#include "conf.h"
#include "ct.h"
#include "tokens.h"

struct ct_store;

struct ct_auth_result {
	char serial[CT_SERIAL_MAX]; /* the token that decided, "" if none */
	int failcount; /* of that token, after this attempt */
	int64_t lock_until; /* of that token, after this attempt */
	int disabled; /* refused because every OTP token is disabled */
};

/* Verify the one-time CODE of USER at NOW.  In one store transaction
 * (ct_store_update, run again on a conflict): read the tokens, try every
 * active, unlocked HOTP/TOTP token, then write the new state (counter or time step moved past the
 * accepted code, failure counters updated, lock set after CONF->max_fail failures) before
 * answering. A lock that has expired starts a fresh count; a success clears the failures of every
 * token of the user. CT_OK       accepted CT_EPERM    wrong code (failure counted), or every OTP
 * token is disabled (res->disabled set, nothing counted) CT_ELOCKED  every active token is locked
 * (nothing was tried) CT_ENOENT   the user has no OTP token at all CT_EIO      the state could not
 * be read or written, or a file is unsafe: deny */
int ct_auth_otp(struct ct_store *st, const struct ct_otp_conf *conf, const char *user,
    const char *code, time_t now, struct ct_auth_result *res, struct ct_err *err);

/* Account check at NOW: CT_OK when USER has an active OTP token that is not
 * locked; CT_ENOENT when the user has no token; CT_EPERM when every token is
 * disabled; CT_ELOCKED when every active token is locked; CT_EIO on errors. */
int ct_auth_account(struct ct_store *st, const char *user, time_t now, struct ct_auth_result *res,
    struct ct_err *err);

#endif
