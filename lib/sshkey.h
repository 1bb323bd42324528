/* SSH key types and the fields of their public and private keys on the
 * wire, for sshcert, sshsig and sshkrl.  Internal to lib/ (the public API
 * of these is in sshcert.h). */
#ifndef CT_SSHKEY_H
#define CT_SSHKEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "ct.h"
#include "sshwire.h"

enum ct_sshkt_kind { CT_SSHKT_ED25519, CT_SSHKT_ECDSA, CT_SSHKT_RSA };

/* One SSH key type. */
struct ct_sshkt {
	enum ct_sshkt_kind kind;
	const char *name; /* "ecdsa-sha2-nistp256" */
	const char *cert_name; /* "ecdsa-sha2-nistp256-cert-v01@openssh.com" */
	const char *curve; /* "nistp256" (ECDSA only) */
	const char *group; /* OpenSSL's group name (ECDSA only) */
	size_t field; /* bytes of a coordinate or scalar (ECDSA), of the key (Ed25519) */
	const char *digest; /* what the key signs with (NULL for Ed25519) */
};

/* The key type named by the N bytes at NAME as a plain key (CERT 0) or as a
 * certificate (CERT 1), or NULL. */
const struct ct_sshkt *ct_sshkt_by_name(const unsigned char *name, size_t n, int cert);

/* The key type of KEY, or NULL. */
const struct ct_sshkt *ct_sshkt_of(const EVP_PKEY *key);

/* Read the public key fields of a key of type KT (what follows the type
 * string in a plain blob) from R; with KEY not NULL also make the key.
 * CT_EINVAL naming the field, CT_ENOMEM. */
int ct_sshkey_read(
    struct ct_sshr *r, const struct ct_sshkt *kt, EVP_PKEY **key, struct ct_err *err);

/* Write the public key fields of KEY (of type KT) to W.  CT_ECRYPTO when
 * OpenSSL cannot give them. */
int ct_sshkey_put(
    struct ct_sshw *w, const struct ct_sshkt *kt, const EVP_PKEY *key, struct ct_err *err);

/* Write the private key of KEY as the agent protocol and openssh-key-v1
 * encode it (type string, public and private fields) to W.  CT_ECRYPTO. */
int ct_sshkey_put_private(
    struct ct_sshw *w, const struct ct_sshkt *kt, const EVP_PKEY *key, struct ct_err *err);

#endif
