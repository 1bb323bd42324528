/* Access-group CAs and leaf issuance.
 *
 * Store layout (all 0600 files in 0700 directories):
 *   STORE/groups/GROUP/ca.key   PKCS#8 PEM private key
 *   STORE/groups/GROUP/ca.pem   self-signed CA certificate */
#ifndef CT_ISSUE_H
#define CT_ISSUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "attrs.h"
#include "conf.h"
#include "ct.h"

#define CT_SPKI_MAX 2048 /* bytes of an encoded public key we accept */
#define CT_CSR_MAX (64 * 1024) /* bytes of a CSR we accept */

struct ct_ca;

/* A new key pair of type T (NULL on failure). */
EVP_PKEY *ct_key_generate(enum ct_key_type t);

/* The digest to sign with for a key of type T ("SHA256", "SHA384", or NULL
 * for Ed25519, which takes none). */
const char *ct_key_digest(enum ct_key_type t);

/* The digest to sign with KEY: SHA-384 for P-384, SHA-512 for P-521, NULL
 * for Ed25519, SHA-256 otherwise. */
const char *ct_pkey_digest(const EVP_PKEY *key);

/* Generate GROUP's CA key and self-signed certificate (valid ca_days from
 * NOW minus one hour) and store them.  CT_EEXIST if the group has a CA. */
int ct_ca_init(const char *store, const struct ct_group *g, time_t now, struct ct_err *err);

/* Load GROUP's CA from the store.  CT_ENOENT when it was never initialised. */
int ct_ca_load(const char *store, const struct ct_group *g, struct ct_ca **out, struct ct_err *err);

void ct_ca_free(struct ct_ca *ca);

/* TEMPORARY declaration until CA rotation lands. */
int ct_ca_trust(const char *store, const struct ct_group *g, time_t now, STACK_OF(X509) * *anchors,
    struct ct_err *err);

/* The CA certificate (owned by CA). */
X509 *ct_ca_cert(const struct ct_ca *ca);

/* A CRL of CA listing the N certificates SERIALS (index hex) revoked at
 * WHEN with REASONS (RFC 5280 codes), thisUpdate NOW, nextUpdate NOW +
 * NEXT_UPDATE seconds, CRL number NOW; PEM in a new string. */
int ct_crl_make(struct ct_ca *ca, const char *const *serials, const int64_t *when,
    const int *reasons, size_t n, time_t now, long next_update, char **pem, struct ct_err *err);

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

/* Decode a PEM "PUBLIC KEY" (or DER SPKI) of LEN bytes, check it is a key we
 * issue for (EC P-256/P-384/P-521, Ed25519, RSA >= 2048) and return its DER. */
int ct_spki_from_pem(const unsigned char *data, size_t len, unsigned char **der, size_t *der_len,
    struct ct_err *err);

/* Decode a PKCS#10 CSR (PEM or DER), verify its self-signature, check the key
 * as ct_spki_from_pem does and return the SPKI DER.  The CSR's subject and
 * extensions are ignored. */
int ct_csr_verify(const unsigned char *data, size_t len, unsigned char **der, size_t *der_len,
    struct ct_err *err);

/* Render target T for attributes A: the expanded subject (RFC 2253 order as
 * written) and SANs, one per line, in a new string.  Issues nothing. */
int ct_render(const struct ct_target *t, const struct ct_attrs *a, char **out, struct ct_err *err);

#endif
