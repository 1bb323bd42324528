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
	int failcount; /* the user's failures since the last success, after this attempt */
	int64_t lock_until; /* the user's attempts are throttled until then (0: not) */
	int throttled; /* inside the throttle interval (auth: refused, code not tried) */
	int disabled; /* refused because every OTP token is disabled */
};

/* Seconds an attempt must wait after the FAILURES-th failure in a row:
 * 0 below CONF->throttle_after, then throttle_base doubling with each
 * further failure, capped at throttle_max (0 when throttle_max is 0). */
int64_t ct_auth_throttle_delay(const struct ct_otp_conf *conf, int failures);

/* Verify the one-time CODE of USER at NOW, sent from SOURCE (who is trying:
 * "host:" and the remote host, or "user:" and the local user; NULL or "" is
 * one source, "unknown").  In one store transaction (ct_store_update, run
 * again on a conflict): read the tokens; inside the source's own throttle
 * interval, or the user's unless the source is known (a code of the user
 * was accepted from it: tokens.h), refuse without trying the code or
 * counting;
 * else try every active HOTP/TOTP token (a code or step used on a token
 * with the same secret is refused: codes are used once per user), then
 * write the new state before answering: the token moved past the accepted
 * code, or the user's failure count (on every active token) and the
 * source's raised and each throttle set to NOW + ct_auth_throttle_delay of
 * its count.  Only a success clears the counts (the user's, and the
 * source's, which it makes known).  A refusal answers no sooner than CONF->refusal_ms after the call,
 * and a name without tokens does the same computation, so that the time
 * does not say who has tokens.
 * CT_OK       accepted
 * CT_EPERM    wrong code (counted), throttled (res->throttled, nothing
 *             tried), or every OTP token is disabled (res->disabled)
 * CT_ENOENT   the user has no OTP token at all
 * CT_EIO      the state could not be read or written, or a file is unsafe */
int ct_auth_otp(struct ct_store *st, const struct ct_otp_conf *conf, const char *user,
    const char *code, const char *source, time_t now, struct ct_auth_result *res,
    struct ct_err *err);

/* Account check at NOW: CT_OK when USER has an active OTP token (a throttle
 * does not refuse: res->throttled says it); CT_ENOENT when the user has no
 * token; CT_EPERM when every token is disabled; CT_EIO on errors. */
int ct_auth_account(struct ct_store *st, const char *user, time_t now, struct ct_auth_result *res,
    struct ct_err *err);

#endif
