/* OpenSSH formats on OpenSSL: public key blobs and authorized_keys-style
 * lines, user (and host) certificates as OpenSSH's PROTOCOL.certkeys
 * describes them (signing, a bounded parser, signature verification and a
 * validity check), and the unencrypted openssh-key-v1 private key file of
 * PROTOCOL.key that `ssh -i` and `ssh-add` read.
 *
 * Key types: ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa (as
 * subject keys and CA keys; an RSA CA signs with rsa-sha2-512, and
 * rsa-sha2-256/512 signatures verify; SHA-1 "ssh-rsa" signatures are
 * refused).  Untrusted bytes go through one reader that consumes each field
 * or fails, every length checked against what remains and a maximum before
 * anything is allocated.  Every failure is one line in the caller's struct
 * ct_err ("ssh certificate: principals: length 70000 exceeds the blob (120
 * bytes left)").  Nothing here does I/O or logs; private key material is
 * wiped with OPENSSL_cleanse before it is freed.
 *
 * One header, three files: sshkey.c implements ct_sshcert_key_type,
 * _key_to_blob and _key_from_blob (with the key types of sshkey.h);
 * sshtext.c implements ct_sshcert_fingerprint, _line_format, _line_parse
 * and _private_key; sshcert.c the certificates (ct_sshcert_sign, _parse,
 * _verify, _check, _unknown_option, _opt_get, _free), with the signatures
 * of sshsig.h. */
#ifndef CT_SSHCERT_H
#define CT_SSHCERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "ct.h"

#define CT_SSHCERT_BLOB_MAX (16 * 1024) /* bytes of a certificate or key blob we accept */
#define CT_SSHCERT_LINE_MAX (32 * 1024) /* bytes of a "TYPE BASE64 COMMENT" line */
#define CT_SSHCERT_FIELD_MAX 1024 /* bytes of a key id, principal, option name or value */
#define CT_SSHCERT_PRINCIPALS_MAX 256 /* principals in a certificate */
#define CT_SSHCERT_OPTIONS_MAX 64 /* critical options, and extensions, in a certificate */
#define CT_SSHCERT_NONCE_LEN 32 /* bytes of the nonce the signer draws */

#define CT_SSHCERT_USER 1 /* SSH_CERT_TYPE_USER */
#define CT_SSHCERT_HOST 2 /* SSH_CERT_TYPE_HOST */

/* ---- public keys ---- */

/* The SSH key type name of KEY ("ssh-ed25519", "ecdsa-sha2-nistp256", ...,
 * "ssh-rsa"), or NULL when it is none of the types above. */
const char *ct_sshcert_key_type(const EVP_PKEY *key);

/* The public key blob of KEY (string type, then the type's fields) in a new
 * buffer (free()).  CT_EINVAL for a key type SSH does not have here. */
int ct_sshcert_key_to_blob(
    const EVP_PKEY *key, unsigned char **blob, size_t *len, struct ct_err *err);

/* The public key in the plain (not certificate) blob of LEN bytes at BLOB
 * as a new EVP_PKEY: the whole blob consumed, an EC point on its curve in
 * uncompressed form, an RSA modulus of 2048 to 16384 bits.  CT_EINVAL. */
int ct_sshcert_key_from_blob(
    const unsigned char *blob, size_t len, EVP_PKEY **key, struct ct_err *err);

/* The "SHA256:<base64 without padding>" fingerprint of a key or certificate
 * blob, as ssh-keygen -l and ssh-add -l print it, into OUT (64 bytes are
 * enough).  CT_EINVAL when OUT is too small. */
int ct_sshcert_fingerprint(
    const unsigned char *blob, size_t len, char *out, size_t size, struct ct_err *err);

/* The line "TYPE BASE64[ COMMENT]\n" for a key or certificate blob (TYPE
 * read from the blob's first string; a plain key's fields are checked as
 * ct_sshcert_line_parse does; COMMENT may be NULL and must not hold a line
 * break) as a new string (free()).  This is the form of a .pub file,
 * a -cert.pub file and a TrustedUserCAKeys line. */
int ct_sshcert_line_format(
    const unsigned char *blob, size_t len, const char *comment, char **line, struct ct_err *err);

/* The blob of a line "TYPE BASE64[ COMMENT]" of LEN bytes (at most
 * CT_SSHCERT_LINE_MAX; one trailing newline allowed; no options before
 * TYPE) in a new buffer (free()), after checking that the blob's own type
 * string is TYPE and, for a plain key, that its fields are well formed (a
 * certificate's are for ct_sshcert_parse).  *TYPE_OUT (may be NULL) points at TYPE's copy
 * (free()).  CT_EINVAL. */
int ct_sshcert_line_parse(const char *line, size_t len, unsigned char **blob, size_t *blob_len,
    char **type_out, struct ct_err *err);

/* ---- certificates ---- */

/* A critical option or an extension.  VALUE is NULL for a flag (an empty
 * data field); otherwise it is encoded as a string inside the data field.
 * In a parsed certificate DATA/DATA_LEN are the data field as it is (so an
 * unknown option's data is kept), and VALUE is set only when that data is
 * exactly one string without a NUL byte. */
struct ct_sshcert_opt {
	const char *name; /* in a parsed certificate: owned by it */
	const char *value;
	const unsigned char *data;
	size_t data_len;
};

/* What to sign.  OPTIONS and EXTENSIONS may come in any order (the signer
 * sorts each by name; a name twice is CT_EINVAL); only NAME and VALUE of
 * each are used. */
struct ct_sshcert_fields {
	const EVP_PKEY *key; /* the subject's public key */
	uint64_t serial;
	uint32_t type; /* CT_SSHCERT_USER or CT_SSHCERT_HOST */
	const char *key_id;
	const char *const *principals;
	size_t n_principals;
	uint64_t valid_after, valid_before; /* seconds since the epoch; before is exclusive */
	const struct ct_sshcert_opt *options; /* critical options */
	size_t n_options;
	const struct ct_sshcert_opt *extensions;
	size_t n_extensions;
	/* Test hook: the nonce to use (NONCE_LEN bytes, 1 to 64), or NULL for
	 * CT_SSHCERT_NONCE_LEN random bytes. */
	const unsigned char *nonce;
	size_t nonce_len;
};

/* Sign a certificate of F's fields with CA (Ed25519, ECDSA or RSA with
 * rsa-sha2-512; the signature key field is CA's public blob): the blob in a
 * new buffer (free()), and when LINE is not NULL also its -cert.pub line
 * with COMMENT (may be NULL) as ct_sshcert_line_format makes it.  Strings
 * must be at most CT_SSHCERT_FIELD_MAX bytes and hold no NUL, and
 * valid_after must be below valid_before; CT_EINVAL otherwise, CT_ECRYPTO
 * when signing fails. */
int ct_sshcert_sign(const struct ct_sshcert_fields *f, EVP_PKEY *ca, const char *comment,
    unsigned char **blob, size_t *blob_len, char **line, struct ct_err *err);

/* A parsed certificate.  It owns everything it points to (free it with
 * ct_sshcert_free); binary fields point into BLOB, its copy of the whole
 * certificate. */
struct ct_sshcert {
	unsigned char *blob; /* the certificate as given */
	size_t blob_len;
	size_t signed_len; /* the signature covers blob[0, signed_len) */
	char *cert_type; /* e.g. "ssh-ed25519-cert-v01@openssh.com" */
	const unsigned char *nonce;
	size_t nonce_len;
	unsigned char *key_blob; /* the subject's key as a plain key blob (new buffer) */
	size_t key_blob_len;
	uint64_t serial;
	uint32_t type;
	char *key_id;
	char **principals;
	size_t n_principals;
	uint64_t valid_after, valid_before;
	struct ct_sshcert_opt *options; /* critical options, in certificate order */
	size_t n_options;
	struct ct_sshcert_opt *extensions;
	size_t n_extensions;
	const unsigned char *ca_blob; /* the signature key's blob */
	size_t ca_blob_len;
	const unsigned char *sig; /* the signature field's content */
	size_t sig_len;
};

/* Parse the certificate blob of LEN bytes at BLOB (at most
 * CT_SSHCERT_BLOB_MAX) into *C: a certificate type we know, each field
 * consumed in order with its length checked, the subject key's fields of
 * the right form (lengths, curve, uncompressed point, RSA sizes; the key
 * itself is made by ct_sshcert_key_from_blob(C->key_blob)), principals,
 * key id and option names without NUL bytes, options and extensions each
 * strictly sorted by name (so no name twice), a plain key as signature key,
 * nothing after the signature.  It does not verify the signature.  On
 * failure *C is zeroed and CT_EINVAL (or CT_ENOMEM) says which field is
 * wrong. */
int ct_sshcert_parse(
    const unsigned char *blob, size_t len, struct ct_sshcert *c, struct ct_err *err);

/* Verify C's signature with C's own signature key (the caller then compares
 * C->ca_blob with the CA blobs it trusts): CT_OK; CT_EPERM when the
 * signature is wrong or its algorithm does not go with the key (or is
 * SHA-1); CT_EINVAL when the signature field is malformed. */
int ct_sshcert_verify(const struct ct_sshcert *c, struct ct_err *err);

/* Check C for use now: of TYPE, valid_after - SKEW <= NOW < valid_before +
 * SKEW, and, when PRINCIPAL is not NULL, PRINCIPAL among its principals (an
 * empty list matches nothing).  CT_OK or CT_EPERM saying which. */
int ct_sshcert_check(const struct ct_sshcert *c, uint32_t type, const char *principal, int64_t now,
    int64_t skew, struct ct_err *err);

/* The first critical option of C whose name is not among the N names of
 * KNOWN, or NULL when there is none (a caller refuses such a certificate). */
const char *ct_sshcert_unknown_option(
    const struct ct_sshcert *c, const char *const *known, size_t n);

/* The value of C's critical option (OPTIONS) or extension named NAME, or
 * NULL; *FOUND (may be NULL) says whether it is present (a flag has no
 * value). */
const char *ct_sshcert_opt_get(
    const struct ct_sshcert_opt *opts, size_t n, const char *name, int *found);

/* Free what C holds and zero it (a zeroed C is allowed). */
void ct_sshcert_free(struct ct_sshcert *c);

/* ---- private key file ---- */

/* KEY (Ed25519, ECDSA or RSA, with its private part) as an unencrypted
 * openssh-key-v1 file ("-----BEGIN OPENSSH PRIVATE KEY-----", base64 in
 * lines of 70) with COMMENT (may be NULL), in a new NUL-terminated buffer
 * of *LEN bytes that the caller writes 0600 and frees with
 * ct_free_secret. */
int ct_sshcert_private_key(
    const EVP_PKEY *key, const char *comment, char **out, size_t *len, struct ct_err *err);

#endif
