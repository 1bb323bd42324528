/* Certificate revocation lists signed by an access group's CA. */
#ifndef CT_CRL_H
#define CT_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca.h"
#include "cadir.h"
#include "ct.h"

/* A CRL of CA listing the N certificates SERIALS (index hex) revoked at
 * WHEN with REASONS (RFC 5280 codes), thisUpdate NOW, nextUpdate NOW +
 * NEXT_UPDATE seconds, CRL number NUMBER; PEM in a new string. */
int ct_crl_make(struct ct_ca *ca, const char *const *serials, const int64_t *when,
    const int *reasons, size_t n, time_t now, long next_update, int64_t number, char **pem,
    struct ct_err *err);

/* Take COUNT (1..2) consecutive CRL numbers of GROUP in ST at NOW: the first,
 * into *FIRST, is NOW or, when that is not above it, the last number GROUP
 * gave out plus one; the last one taken is recorded with GROUP's CA material
 * (CT_CA_CRL_NUMBER), so CRL numbers strictly grow per group, also within
 * one second.  The CA host's work; errors as ct_cadir_open and
 * ct_cadir_replace, CT_EIO naming the item when the recorded number is not
 * a number. */
int ct_crl_number_take(struct ct_store *st, const char *group, time_t now, int count,
    int64_t *first, struct ct_err *err);

/* Publish PEM (LEN bytes: the CRLs `certtoken-admin crl` printed) as
 * GROUP's latest CRL in ST, replacing the one before whole (files:
 * STORE/crl/GROUP.pem, written atomically).  It is kept outside the CA
 * material's snapshot: the CA version does not change.  CT_EINVAL for a
 * group name that is not valid or a PEM that holds no CRL. */
int ct_crl_publish(
    struct ct_store *st, const char *group, const char *pem, size_t len, struct ct_err *err);

/* GROUP's latest published CRL (PEM) in a new buffer; CT_ENOENT when none
 * was published. */
int ct_crl_published(
    struct ct_store *st, const char *group, unsigned char **pem, size_t *len, struct ct_err *err);

#endif
