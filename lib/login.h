/* Certificate login: the challenge the PAM module sends, the message the
 * user's key signs, the response that carries the signature, and the checks
 * that decide it.
 *
 * Challenge (one word, shown to the user, pasted into certtoken-enroll):
 *   ctc1:NONCE:TARGET:USER:SERVICE:HOST
 * NONCE is 16 random bytes in base64url; the other fields are names made
 * of [A-Za-z0-9._@-].  Nothing in it is secret.
 *
 * Response (one line, typed back at the prompt):
 *   ctr1:SERIAL:SIGNATURE            the host finds the certificate by serial
 *   ctr1:SERIAL:SIGNATURE:CERT       the certificate (DER) is sent whole
 * SERIAL is the certificate serial in upper-case hex, SIGNATURE and CERT
 * are base64url without padding.
 *
 * The signed message is domain-separated and holds every field of the
 * challenge, each with its length:
 *   "certtoken login v1" 0x00, then for NONCE, TARGET, USER, SERVICE and
 *   HOST in that order: a 2-byte big-endian length and the bytes.
 * The verifier rebuilds it from the challenge it generated itself, never
 * from anything the client sends back. */
#ifndef CT_LOGIN_H
#define CT_LOGIN_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf.h"
#include "ct.h"
#include "tokens.h"

#define CT_NONCE_LEN 16
#define CT_LOGIN_NAME_MAX 256 /* bytes of a service or host name, with the NUL */
#define CT_CHALLENGE_MAX 1024 /* bytes of a formatted challenge, with the NUL */
#define CT_RESPONSE_MAX 8192 /* bytes of a response we read */
#define CT_SKEW_MAX 86400 /* seconds of clock skew an administrator may allow */

struct ct_challenge {
	unsigned char nonce[CT_NONCE_LEN];
	char target[CT_TARGET_MAX];
	char user[CT_USER_MAX];
	char service[CT_LOGIN_NAME_MAX];
	char host[CT_LOGIN_NAME_MAX];
};

/* How a certificate binds to the user logging in. */
enum ct_login_map {
	CT_MAP_SUBJECT, /* its subject is the target's subject pattern rendered for the user */
	CT_MAP_CN, /* its subject has one CN, equal to the user name */
	CT_MAP_UPN /* it has a UPN SAN whose part before the last '@' is the user name */
};

/* Is S usable as a challenge field (1 or more of [A-Za-z0-9._@-], shorter
 * than MAX)? */
int ct_login_name_valid(const char *s, size_t max);

/* A fresh challenge with a random nonce.  CT_EINVAL naming the field when a
 * name cannot go into a challenge. */
int ct_challenge_new(struct ct_challenge *c, const char *target, const char *user,
    const char *service, const char *host, struct ct_err *err);

/* C as its one-word text "ctc1:..." into OUT (CT_CHALLENGE_MAX bytes). */
void ct_challenge_format(const struct ct_challenge *c, char out[CT_CHALLENGE_MAX]);

/* Find the first challenge word in TEXT (a whole pasted prompt is fine) and
 * parse it into C.  CT_EINVAL saying what is wrong. */
int ct_challenge_parse(const char *text, struct ct_challenge *c, struct ct_err *err);

/* The message to sign for C, in a new buffer. */
int ct_login_message(
    const struct ct_challenge *c, unsigned char **msg, size_t *len, struct ct_err *err);

/* Sign C with KEY for certificate CERT and give the response line (no
 * newline) in a new string; WHOLE includes the certificate. */
int ct_response_make(const struct ct_challenge *c, EVP_PKEY *key, X509 *cert, int whole, char **out,
    struct ct_err *err);

struct ct_login_result {
	char serial[CT_CERT_SERIAL_MAX]; /* the certificate's, once known; "" before */
	char token[CT_SERIAL_MAX]; /* its token from the index, "" if none */
};

struct ct_login_policy {
	const struct ct_config *cfg;
	struct ct_store *db; /* the store, already open with CT_STORE_TOKENS */
	const struct ct_target *target;
	long skew; /* seconds allowed on either side of the validity period */
	enum ct_login_map map;
};

/* Decide RESPONSE to challenge C at NOW.  The certificate (from the store's
 * index by serial, or sent whole) must chain to a CA the target's access
 * group trusts at NOW, be valid at NOW within the skew (so must its CA),
 * carry key usage digitalSignature and the template's extended key usages
 * (clientAuth when the template names none), not be revoked, not belong to
 * a disabled or deleted token, bind to C->user by the policy's map, and
 * its key must have signed the message of C.
 *   CT_OK       accepted
 *   CT_EPERM    refused; ERR says why
 *   CT_EINVAL   the response is malformed
 *   CT_ENOENT   the serial is not in this host's index
 *   CT_EUNAVAIL the user's attributes could not be read
 *   CT_EIO, CT_ECONFIG  the store or the CA could not be read: deny */
int ct_login_verify(const struct ct_login_policy *p, const struct ct_challenge *c,
    const char *response, time_t now, struct ct_login_result *res, struct ct_err *err);

struct ct_cert_entry;

/* The index entry E's certificate, issued to USER, with its token (when E
 * names one) still among USER's tokens and enabled.  CT_OK, CT_EPERM
 * saying which, or the store's error. */
int ct_login_token_check(
    struct ct_store *db, const struct ct_cert_entry *e, const char *user, struct ct_err *err);

/* base64url without padding.  Encode LEN bytes into a new string; decode
 * TEXT (exactly LEN characters) into a new buffer, refusing any character
 * outside the alphabet and non-canonical trailing bits. */
char *ct_b64url_encode(const unsigned char *data, size_t len);
int ct_b64url_decode(const char *text, size_t len, unsigned char **out, size_t *out_len);

#endif
