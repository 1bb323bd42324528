/* Access-group CAs and leaf issuance.
 *
 * Store layout (all 0600 files in 0700 directories):
 *   STORE/groups/GROUP/ca.key          the current CA's private key (PKCS#8 PEM)
 *   STORE/groups/GROUP/ca.pem          its self-signed certificate
 *   STORE/groups/GROUP/previous.key    after a rotation with an overlap: the CA
 *   STORE/groups/GROUP/previous.pem    it replaced, key and certificate
 *   STORE/groups/GROUP/previous.until  when that CA stops being trusted: decimal
 *                                      seconds since the epoch and a newline; it
 *                                      is trusted while now < this
 *   STORE/groups/GROUP/next.key        after ct_ca_prepare: the next CA, trusted
 *   STORE/groups/GROUP/next.pem        but signing nothing until ct_ca_rotate
 *                                      makes it the current one
 *   STORE/groups/.GROUP.lock           taken by rotations and preparations of GROUP
 *                                      (never unlinked)
 *   STORE/groups/.GROUP.rotate         a rotation's work directory (removed when it
 *                                      is done, or by the next rotation after a crash)
 * Group names never start with a dot, so the last two are never a group.
 *
 * A group directory is never changed in place.  `ca init` builds a complete
 * one under a temporary name and renames it into place; a rotation builds a
 * complete new one in .GROUP.rotate, swaps it with the group directory in one
 * step (renameat2 RENAME_EXCHANGE, so the file system must support it), and
 * removes the replaced one; so does a preparation (which copies the current
 * and previous CA's files unchanged).  A crash leaves the old CA or the new one, never
 * a mix.  Readers open the group directory once, read its files relative to
 * it and check afterwards that it is still the group's (else read again), so
 * what they get always comes from one directory.  The previous CA's files
 * stay after its overlap has ended (ignored) until the next rotation. */
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

/* The key type of KEY (an enum ct_key_type), or -1 when it is none of them. */
int ct_pkey_type(const EVP_PKEY *key);

/* Generate GROUP's CA key and self-signed certificate (valid ca_days from
 * NOW minus one hour) and store them.  CT_EEXIST if the group has a CA. */
int ct_ca_init(const char *store, const struct ct_group *g, time_t now, struct ct_err *err);

/* Load GROUP's current CA (key and certificate) from the store.  CT_ENOENT
 * when it was never initialised; CT_EIO naming the file when a file is
 * missing or corrupt, or the key does not match the certificate. */
int ct_ca_load(const char *store, const struct ct_group *g, struct ct_ca **out, struct ct_err *err);

/* Load GROUP's current CA into *CUR and, when NOW is within the overlap of
 * the last rotation, the previous CA into *PREV (else *PREV = NULL).  Errors
 * as ct_ca_load. */
int ct_ca_load_trusted(const char *store, const struct ct_group *g, time_t now, struct ct_ca **cur,
    struct ct_ca **prev, struct ct_err *err);

/* The trust anchors of GROUP at NOW in a new stack (free with
 * sk_X509_pop_free(..., X509_free)): the current CA certificate first, then
 * the prepared next one if there is one, then the previous one while NOW is
 * before the end of its overlap.  Reads
 * certificates only, never a private key.  CT_ENOENT when the group has no
 * CA; CT_EIO naming the file when one is missing or corrupt. */
int ct_ca_trust(const char *store, const struct ct_group *g, time_t now, STACK_OF(X509) **anchors,
    struct ct_err *err);

#define CT_OVERLAP_MAX (8760L * 3600) /* longest rotation overlap: a year, in seconds */

/* What a rotation did (free with ct_rotation_clear). */
struct ct_rotation {
	X509 *cert; /* the new CA certificate */
	int prepared; /* CERT is the CA ct_ca_prepare made (else one made now) */
	X509 *previous; /* the CA it replaced */
	time_t until; /* PREVIOUS is trusted until then (NOW: not at all) */
	X509 *dropped; /* an older previous CA that was still trusted and no longer
	                  is, or NULL */
	time_t dropped_until; /* when DROPPED would have stopped being trusted */
};

#define CT_ROTATE_GENERATE 0x1u /* ct_ca_rotate: make a new CA, never take a prepared one */

/* Rotate GROUP's CA at NOW: the prepared next CA (ct_ca_prepare) or, when
 * there is none, a new key of G's key type and a new certificate (same
 * subject, ca_days validity) become the current CA, and the current one
 * becomes the previous CA, trusted for OVERLAP more seconds (0 to
 * CT_OVERLAP_MAX; 0 keeps no previous CA and discards its key).  Any older
 * previous CA is dropped.  Rotations of a group are serialised by a lock, and
 * the change is atomic (see above).  CT_ENOENT when the group has no CA;
 * CT_EINVAL for an overlap out of range or an expired prepared CA; CT_EEXIST
 * when FLAGS has CT_ROTATE_GENERATE and a CA is prepared (it would be lost). */
int ct_ca_rotate(const char *store, const struct ct_group *g, time_t now, long overlap,
    unsigned flags, struct ct_rotation *out, struct ct_err *err);

/* Prepare GROUP's next CA at NOW: a new key of G's key type and a new
 * certificate (as ct_ca_rotate makes, valid ca_days from NOW) stored beside
 * the current CA, trusted from now on (ct_ca_trust) but signing nothing until
 * ct_ca_rotate makes it the current CA.  Its certificate goes into *NEXT.
 * CT_EEXIST when a CA is already prepared, unless REPLACE: then that one is
 * discarded and its certificate goes into *REPLACED (NULL when there was none
 * or it cannot be read).  Locked and atomic as ct_ca_rotate; CT_ENOENT when
 * the group has no CA. */
int ct_ca_prepare(const char *store, const struct ct_group *g, time_t now, int replace, X509 **next,
    X509 **replaced, struct ct_err *err);

void ct_rotation_clear(struct ct_rotation *r);

void ct_ca_free(struct ct_ca *ca);

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

/* A minimal PKCS#10 CSR for KEY, self-signed with its usual digest
 * (ct_pkey_digest), subject CN=SUBJECT_CN (the service renders its own
 * subject; this only makes the CSR well formed), as DER in a new buffer
 * (OPENSSL_free). */
int ct_csr_make(EVP_PKEY *key, const char *subject_cn, unsigned char **der, size_t *der_len,
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
