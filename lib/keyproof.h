/* Proofs about keys the service does not hold: key attestation for CSRs,
 * proof of possession for uploaded certificates, and the PKCS#12 container
 * that delivers a key the service generated.
 *
 * Attestation: a hardware token (PIV, TPM, ...) certifies, with a device key
 * that chains to its maker's CA, the public key of a key pair it generated
 * and cannot export.  The user sends that attestation certificate (and any
 * intermediates, PEM) with the CSR.  It must chain to a CA in the
 * configured directory of trusted attestation CAs, and its public key must
 * be the CSR's.
 *
 * Proof of possession: to attach an existing certificate, the user signs a
 * message the service built around a fresh nonce:
 *   "certtoken upload v1" 0x00, then for NONCE, USER and the SHA-256 of the
 *   certificate's DER in that order: a 2-byte big-endian length and the bytes.
 * The service rebuilds it from its own nonce and the certificate it holds. */
#ifndef CT_KEYPROOF_H
#define CT_KEYPROOF_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ct.h"

#define CT_POP_NONCE_LEN 32
#define CT_ATTEST_MAX (32 * 1024) /* bytes of an attestation (certificates) */

/* Check the attestation ATT (PEM: the attestation certificate first, then
 * any intermediates; or one DER certificate) against the trusted CAs in
 * CA_DIR (each regular *.pem or *.crt file there; the directory must not
 * be writable by group or others) at NOW, and that the attested public key
 * is SPKI (a DER SubjectPublicKeyInfo, as ct_csr_verify gives).  On success
 * SUBJECT (SUBJECT_SZ bytes) names the attestation certificate, for logs.
 *   CT_EINVAL  malformed, not trusted, expired, or attests another key
 *              (the message says which)
 *   CT_ECONFIG CA_DIR is missing, unsafe or holds no certificate */
int ct_attest_verify(const char *ca_dir, const unsigned char *att, size_t att_len,
    const unsigned char *spki, size_t spki_len, time_t now, char *subject, size_t subject_sz,
    struct ct_err *err);

/* The proof-of-possession message (above) in a new buffer. */
int ct_pop_message(const unsigned char nonce[CT_POP_NONCE_LEN], const char *user,
    const unsigned char *cert_der, size_t cert_len, unsigned char **msg, size_t *len,
    struct ct_err *err);

/* Sign MSG with KEY (SHA-256, or none for Ed25519) into a new buffer. */
int ct_pop_sign(EVP_PKEY *key, const unsigned char *msg, size_t len, unsigned char **sig,
    size_t *sig_len, struct ct_err *err);

/* Verify SIG over MSG with CERT's public key: CT_OK or CT_EINVAL "the
 * signature does not prove possession of the certificate's key". */
int ct_pop_verify(X509 *cert, const unsigned char *msg, size_t len, const unsigned char *sig,
    size_t sig_len, struct ct_err *err);

/* An uploaded certificate, checked to be well formed: a DER or PEM X.509 v3
 * certificate (exactly one), not a CA (basicConstraints cA false or
 * absent), whose public key parses.  Its issuer (RFC 2253), serial (upper
 * hex) and validity are given back.  CT_EINVAL with the reason otherwise. */
struct ct_cert_info {
	char issuer[256];
	char subject[256];
	char serial[41];
	time_t not_before;
	time_t not_after;
};
int ct_cert_parse(const unsigned char *data, size_t len, X509 **out, struct ct_cert_info *info,
    struct ct_err *err);

/* A PKCS#12 holding KEY, CERT (with the friendly name NAME) and the CA
 * certificates in CHAIN (may be NULL), encrypted with PASSWORD:
 *   modern (LEGACY=0): key and certificates in PBES2 with PBKDF2-HMAC-SHA256
 *     and AES-256-CBC, MAC HMAC-SHA256 (what OpenSSL 3 writes by default,
 *     with more iterations);
 *   legacy (LEGACY=1): pbeWithSHAAnd3-KeyTripleDES-CBC for both, MAC SHA-1,
 *     for old importers (Windows before 2019, Java before 8u301, macOS).
 * The DER goes to a new buffer (free with OPENSSL_clear_free). */
int ct_pkcs12_make(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, const char *name,
    const char *password, int legacy, unsigned char **der, size_t *der_len, struct ct_err *err);

/* A random password for a PKCS#12: LEN characters (at least 16) from an
 * alphabet without look-alike characters, so it can be typed from a screen. */
int ct_password_random(char *out, size_t len, struct ct_err *err);

#endif
