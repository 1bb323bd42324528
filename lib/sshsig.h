/* SSH signature blobs (RFC 8709 ssh-ed25519, RFC 5656 ecdsa-sha2-*, RFC
 * 8332 rsa-sha2-256/512): making one and checking one.  Internal to lib/. */
#ifndef CT_SSHSIG_H
#define CT_SSHSIG_H

#include <stddef.h>

#include <openssl/evp.h>

#include "ct.h"

/* Sign the LEN bytes at DATA with KEY (rsa-sha2-512 for RSA) and return the
 * signature blob (string algorithm, string signature) in a new buffer
 * (free()).  CT_EINVAL for a key type SSH does not have, CT_ECRYPTO. */
int ct_sshsig_sign(EVP_PKEY *key, const unsigned char *data, size_t len, unsigned char **sig,
    size_t *sig_len, struct ct_err *err);

/* Check the signature blob SIG over DATA with the key whose plain public key
 * blob is KEY_BLOB: CT_OK; CT_EPERM when it does not verify or its
 * algorithm does not go with the key (SHA-1 "ssh-rsa" included); CT_EINVAL
 * when the key or the signature blob is malformed. */
int ct_sshsig_verify(const unsigned char *key_blob, size_t key_len, const unsigned char *sig,
    size_t sig_len, const unsigned char *data, size_t len, struct ct_err *err);

#endif
