/* Key types and keys: generation, digests, the public keys we issue for
 * (from a PEM/DER SubjectPublicKeyInfo or a verified PKCS#10 CSR), and the
 * CSRs certtoken makes itself. */
#ifndef CT_KEYS_H
#define CT_KEYS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "conf.h"
#include "ct.h"

#define CT_SPKI_MAX 2048 /* bytes of an encoded public key we accept */
#define CT_CSR_MAX (64 * 1024) /* bytes of a CSR we accept */

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

/* Split the DER SubjectPublicKeyInfo of LEN bytes at SPKI (SEQUENCE {
 * AlgorithmIdentifier, BIT STRING } and nothing after it) into the whole
 * AlgorithmIdentifier element and the key bits (the BIT STRING's content
 * after its unused-bits octet, which must be 0).  Pointers into SPKI;
 * CT_EINVAL when it is not that. */
int ct_spki_split(const unsigned char *spki, size_t len, const unsigned char **alg, size_t *alg_len,
    const unsigned char **key, size_t *key_len);

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
 * as ct_spki_from_pem does and return the SPKI DER in a new buffer
 * (OPENSSL_free): the subjectPKInfo bytes as they are in the CSR (found with
 * the DER reader), or, when the CSR is not in DER form around them, the key
 * re-encoded.  The CSR's subject and extensions are ignored. */
int ct_csr_verify(const unsigned char *data, size_t len, unsigned char **der, size_t *der_len,
    struct ct_err *err);

#endif
