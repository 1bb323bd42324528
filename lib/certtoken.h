/* The certificate-token lifecycle: a user's certificate is a token.
 *
 *   issued    the certificate goes into the index, then a token in rollout
 *             state "enrolled" into the user's tokens (or the user's
 *             "pending" token becomes "enrolled"); when the second step
 *             fails the index entry is taken back, so nothing half-recorded
 *             stays behind;
 *   pending   the CSR goes under the store's requests, and a token in
 *             rollout state "pending";
 *   approve / reject  a pending token becomes "enrolled" (with its
 *             certificate) or "rejected" and disabled;
 *   revoked   the certificate goes on its group's revocation list and its
 *             token (if the user still has it) becomes "revoked", disabled;
 *   room      a user holds at most CT_TOKENS_MAX tokens: expired
 *             certificates and rejected requests go first, then the
 *             oldest enrolled certificate token.
 * Every change to a user's tokens happens inside the user's transaction.
 * Library code: nothing here logs; what a caller should log comes back. */
#ifndef CT_CERTTOKEN_H
#define CT_CERTTOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "certindex.h"
#include "conf.h"
#include "ct.h"
#include "keyproof.h"
#include "requests.h"
#include "store.h"
#include "tokens.h"

/* What the index and the token keep of a certificate, read from its DER. */
struct ct_cert_desc {
	char serial[CT_CERT_SERIAL_MAX]; /* upper-case hex */
	char subject[512]; /* RFC 2253 */
	char not_after_text[32]; /* ISO 8601, UTC */
	int64_t not_after;
	int64_t not_before;
};

/* Serial, validity and subject of certificate DER (LEN bytes), without
 * decoding its public key.  CT_ECRYPTO when it is not a certificate. */
int ct_cert_describe(
    const unsigned char *der, size_t len, struct ct_cert_desc *out, struct ct_err *err);

/* A new, active certificate token SERIAL for TARGET ("" for uploads) in
 * rollout state ROLLOUT, created at NOW. */
void ct_certtoken_init(struct ct_token *t, const char *serial, const char *target,
    const char *rollout, const char *desc, time_t now);

/* Make room in UT for one more token at NOW (see above).  The token that had
 * to go to make room (not the expired or rejected ones) is copied to
 * *DROPPED (serial "" when none; DROPPED may be NULL).  CT_EEXIST, naming
 * USER, when no certificate token can go. */
int ct_certtoken_make_room(struct ct_user_tokens *ut, const char *user, time_t now,
    struct ct_token *dropped, struct ct_err *err);

/* Add NT to USER's tokens in one transaction: a new token (making room as
 * ct_certtoken_make_room does; *DROPPED as there), or, with REPLACE, in
 * place of the token with NT's serial, which must still be pending
 * (CT_EEXIST otherwise). */
int ct_certtoken_add(struct ct_store *st, const char *user, const struct ct_token *nt, int replace,
    struct ct_token *dropped, struct ct_err *err);

/* A certificate to record (inputs), and what was recorded (outputs). */
struct ct_certtoken_rec {
	struct ct_store *st;
	const char *user, *target, *group, *token, *desc;
	const unsigned char *der;
	size_t der_len;
	const struct ct_cert_info *info; /* another CA's certificate: its notBefore and issuer */
	int pending; /* the token exists, pending: it becomes enrolled */
	time_t now;
	int64_t deadline; /* the wait for the user's lock ends here (ct_now_ms); 0: none */
	uint64_t ssh_serial; /* the OpenSSH certificate issued with it (0: none) */
	/* out */
	struct ct_cert_desc cert;
	struct ct_token tok; /* the token as recorded */
	struct ct_token dropped; /* made room for it ("" serial: none) */
	int failed_in_token; /* the failure came from the token list, not the index */
};

/* Record R's certificate: index, then token (see above). */
int ct_certtoken_record_issued(struct ct_certtoken_rec *r, struct ct_err *err);

/* Record REQ (a pending request of REQ->user under token REQ->token) and its
 * token, in rollout state "pending", into *TOK. */
int ct_certtoken_record_pending(struct ct_store *st, const struct ct_request *req, const char *desc,
    struct ct_token *tok, struct ct_err *err);

/* Decide pending certificate token T: APPROVE makes it "enrolled" with
 * CERT's serial and validity; otherwise "rejected" and disabled.
 * CT_EEXIST when T is not a pending certificate token. */
int ct_certtoken_decide(
    struct ct_token *t, int approve, const struct ct_cert_desc *cert, struct ct_err *err);

/* Revoke index entry E (GROUP: its access group) at NOW with REASON, then,
 * when the store holds token state (TOKENS), mark its token "revoked" and
 * disabled if its user still has it (a copy into *MARKED, serial "" when
 * none).  The revocation stands when the token
 * cannot be marked: *REVOKED tells the caller that it happened. */
int ct_certtoken_revoke(struct ct_store *st, int tokens, const struct ct_cert_entry *e,
    const char *group, int reason, time_t now, struct ct_token *marked, int *revoked,
    struct ct_err *err);

#endif
