/* A whole store copied into another and the two compared (`certtoken-admin
 * store migrate`), and one store's consistency checked (`store check`).
 *
 * Written only against the store's generic operations (tokens.h,
 * certindex.h, requests.h, cadir.h, crl.h), so it works for any pair of
 * backends.  Nothing here logs or prints: each difference or problem is
 * one line given to the caller's report function.
 *
 * What a store holds, for these functions: every user's tokens; the
 * issued-certificate index; the revocations; the pending requests; the
 * uploaded certificate of each certificate token that has one; and for
 * each access group the configuration defines, its CA material (public
 * items and, on the CA host, the keys) and its latest published CRL.  A
 * group that is no longer configured is not seen, nor an upload whose
 * token is gone. */
#ifndef CT_STORECOPY_H
#define CT_STORECOPY_H

#include <stddef.h>
#include <time.h>

#include "cadir.h"
#include "certindex.h"
#include "conf.h"
#include "ct.h"

struct ct_store;

/* Called with one line (no newline) per difference or problem. */
typedef void (*ct_store_report_fn)(void *ctx, const char *line);

/* A report in progress: the caller's function, its context, the lines so
 * given so far. */
struct ct_store_report {
	ct_store_report_fn fn;
	void *ctx;
	int count;
};

/* Format one line (cut at CT_ERR_MAX bytes), give it to R and count it. */
void ct_store_report_say(struct ct_store_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What a copy wrote (items the destination had already are not counted). */
struct ct_storecopy_stats {
	size_t users, certs, revocations, requests, uploads, groups, crls;
};

/* Copy into DST whatever SRC has and DST lacks, for the access groups of
 * CFG.  Each user's tokens are copied in a transaction on each side (the
 * source user's state is held while the destination's is written); a user
 * who has tokens in DST already is left as they are, and so is any item
 * DST has: nothing is overwritten (ct_storecopy_compare tells whether what
 * was there is equal), but the CRL, which is replaced by the source's.
 * CA keys are copied when SRC has them (CT_EPERM otherwise: a verifier's
 * store); a backend that finds the same keys already in place keeps them.
 * Token secrets are read decrypted and sealed again by DST's backend.
 * SRC opened without CT_STORE_TOKENS has no users.  Counts into *N. */
int ct_storecopy_copy(struct ct_store *src, struct ct_store *dst, const struct ct_config *cfg,
    struct ct_storecopy_stats *n, struct ct_err *err);

/* Compare SRC and DST item by item, both ways (token fields, secrets
 * included; index entries with their certificates; revocations; requests;
 * uploads; each group's CA items and CRL): REPORT gets one line per
 * difference.  Gives the number of differences (0: equal) or a negative
 * code when a store could not be read. */
int ct_storecopy_compare(struct ct_store *src, struct ct_store *dst, const struct ct_config *cfg,
    ct_store_report_fn report, void *ctx, struct ct_err *err);

/* Check ST at NOW: REPORT gets one line per inconsistency found:
 *   - an index entry naming a token (not "-") that its user does not have
 *     as a certificate token of that serial, when the certificate is
 *     neither expired nor revoked (a target that trusts the CA accepts it,
 *     while nobody holds its token);
 *   - a certificate token issued here (a target) whose serial is not in
 *     the index, or uploaded (no target) without its certificate;
 *   - a pending request without its pending token, a pending token
 *     without its request, and a request older than REQUEST_AGE seconds
 *     (0: no age limit);
 *   - a revocation of a serial the index does not have.
 * Gives the number of lines reported (0: consistent) or a negative code. */
int ct_store_check(struct ct_store *st, time_t now, long request_age, ct_store_report_fn report,
    void *ctx, struct ct_err *err);

/* The users of ST with tokens, sorted, in a new array of *N names (free
 * each and the array); none when ST was not opened for token state. */
int ct_store_users(struct ct_store *st, char ***users, size_t *n, struct ct_err *err);
void ct_store_users_free(char **users, size_t n);

/* The access group of index entry E: its own, or for an entry written
 * before the index named it, its target's in CFG; NULL when that target is
 * not configured. */
const char *ct_storecopy_entry_group(const struct ct_config *cfg, const struct ct_cert_entry *e);

/* Every item of GROUP's CA material in ST into C, from one snapshot (the
 * keys only where they are kept); CT_ENOENT when the group has no CA. */
int ct_storecopy_ca_read(
    struct ct_store *st, const char *group, struct ct_ca_content *c, struct ct_err *err);

#endif
