/* Leaf certificates: an issuer for a target and its access group's CA,
 * issuing for a subject public key and a user's attributes; and the
 * rendering of what a leaf would hold. */
#ifndef CT_ISSUER_H
#define CT_ISSUER_H

#include <stddef.h>
#include <time.h>

#include "attrs.h"
#include "ca.h"
#include "conf.h"
#include "ct.h"

struct ct_issuer;

/* Prepare to issue for target T with CA: fetches algorithms and encodes the
 * fixed extensions once.  CA must outlive the issuer. */
int ct_issuer_new(
    const struct ct_target *t, struct ct_ca *ca, struct ct_issuer **out, struct ct_err *err);

void ct_issuer_free(struct ct_issuer *is);

/* Issue a leaf for the subject public key SPKI (DER SubjectPublicKeyInfo,
 * already validated by ct_spki_from_pem or ct_csr_verify) with attributes A
 * at time NOW, and give the certificate's DER in a new buffer.  Subject and
 * SANs come from the target's patterns, KU/EKU from its template; serial is
 * random, positive, 128 bits; notBefore = NOW - backdate, notAfter =
 * min(NOW + lifetime, CA notAfter).  CT_EINVAL for a missing attribute or a
 * bad value; CT_ECONFIG once the CA has expired.  Safe to call from several
 * threads on the same issuer. */
int ct_issue(struct ct_issuer *is, const struct ct_attrs *a, const unsigned char *spki,
    size_t spki_len, time_t now, unsigned char **der, size_t *der_len, struct ct_err *err);

/* What ct_issue checks before it signs, without a CA: the template's key
 * usage against the key type of SPKI (KeyEncipherment only for RSA), and
 * the subject and SAN patterns of target T expanded for attributes A
 * (a missing attribute, a bad value, an RFC 5280 upper bound).  CT_OK, or
 * CT_EINVAL naming what ct_issue would refuse; for a request that is
 * signed later (the queue), so it is refused now instead of at approval. */
int ct_issue_check(const struct ct_target *t, const struct ct_attrs *a, const unsigned char *spki,
    size_t spki_len, struct ct_err *err);

/* Render target T for attributes A: the expanded subject (RFC 2253 order as
 * written) and SANs, one per line, in a new string.  Issues nothing. */
int ct_render(const struct ct_target *t, const struct ct_attrs *a, char **out, struct ct_err *err);

#endif
