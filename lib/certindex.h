/* The issued-certificate index and the revocations, in the store (store.h).
 *
 * Files backend layout (0600 files in 0700 directories):
 *   STORE/certs/SERIAL.pem   one issued certificate: "user=", "target=",
 *                            "group=" and "token=" lines, "ssh_serial="
 *                            (decimal) when an OpenSSH certificate was
 *                            issued with it, then its PEM
 *   STORE/revoked            one line per revoked certificate:
 *                            "SERIAL GROUP REVOKED_AT REASON"
 *   STORE/revoked.lock       the lock of the revocation list (never unlinked)
 * SERIAL is the certificate serial in upper-case hex with an even number of
 * digits.  Revocations are only ever added.  The operations check serials
 * and names before the backend sees them. */
#ifndef CT_CERTINDEX_H
#define CT_CERTINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "conf.h"
#include "ct.h"
#include "tokens.h"

struct ct_store;

#define CT_REVOKED_MAX 100000 /* revocations the list holds */

struct ct_cert_entry {
	char serial[CT_CERT_SERIAL_MAX];
	char user[CT_USER_MAX];
	char target[CT_TARGET_MAX];
	char group[CT_TARGET_MAX];
	char token[CT_SERIAL_MAX];
	uint64_t ssh_serial; /* the OpenSSH certificate issued with it; 0: none */
	X509 *cert;
};

/* Is S a name the index keeps (user, target, group, token: one or more of
 * [A-Za-z0-9._@-])? */
int ct_certindex_word_valid(const char *s);

/* Is S an index serial (upper-case hex, even length, 2-40 digits)? */
int ct_cert_serial_valid(const char *s);

/* The serial SN (or X's) as index hex into OUT; CT_EINVAL when it is
 * negative or longer than 20 octets. */
int ct_serial_hex(const ASN1_INTEGER *sn, char out[CT_CERT_SERIAL_MAX]);
int ct_cert_serial_hex(const X509 *x, char out[CT_CERT_SERIAL_MAX]);

/* Record certificate DER (LEN bytes, serial SERIAL) for USER, TARGET,
 * GROUP and token TOKEN ("-" when none).  CT_EEXIST if already there. */
int ct_certindex_add(struct ct_store *st, const char *serial, const char *user, const char *target,
    const char *group, const char *token, const unsigned char *der, size_t len, struct ct_err *err);

/* As ct_certindex_add, with the serial of the OpenSSH certificate issued
 * with it (SSH_SERIAL; 0: none). */
int ct_certindex_add_ssh(struct ct_store *st, const char *serial, const char *user,
    const char *target, const char *group, const char *token, uint64_t ssh_serial,
    const unsigned char *der, size_t len, struct ct_err *err);

/* Remove an entry that was never handed out. */
void ct_certindex_remove(struct ct_store *st, const char *serial);

/* Read the entry of SERIAL.  CT_ENOENT when there is none; CT_EIO when
 * it is corrupt. */
int ct_certindex_get(
    struct ct_store *st, const char *serial, struct ct_cert_entry *e, struct ct_err *err);
void ct_cert_entry_clear(struct ct_cert_entry *e);

/* Call FN for every entry (in no particular order); stops at a non-zero
 * return and gives it.  Unreadable entries are reported through ERR and
 * end the walk with CT_EIO. */
int ct_certindex_foreach(struct ct_store *st, int (*fn)(void *ctx, const struct ct_cert_entry *e),
    void *ctx, struct ct_err *err);

struct ct_revocation {
	char serial[CT_CERT_SERIAL_MAX];
	char group[CT_TARGET_MAX];
	int64_t when;
	int reason; /* CRL reason code (RFC 5280 5.3.1) */
};

/* "unspecified" "keyCompromise" ... <-> code; -1 when unknown. */
int ct_crl_reason_parse(const char *name);
const char *ct_crl_reason_name(int code);

/* Add SERIAL of GROUP to the revocation list at NOW with REASON, under the
 * list's lock (files: STORE/revoked.lock).  CT_EEXIST when it is already
 * revoked. */
int ct_revoke(struct ct_store *st, const char *serial, const char *group, int reason, time_t now,
    struct ct_err *err);

/* The whole revocation list (a new array in *OUT, *N entries; none when
 * nothing was revoked).  CT_EIO with the place when it is corrupt. */
int ct_revoked_read(struct ct_store *st, struct ct_revocation **out, size_t *n, struct ct_err *err);

/* The revocation of SERIAL into OUT: CT_OK when it is revoked, CT_ENOENT
 * when it is not; CT_EIO when what the store holds of it is corrupt.  One
 * entry where the backend can read one (LDAP), else the whole list. */
int ct_revoked_get(
    struct ct_store *st, const char *serial, struct ct_revocation *out, struct ct_err *err);

/* Is SERIAL in LIST (N entries)?  Gives the entry or NULL. */
const struct ct_revocation *ct_revoked_find(
    const struct ct_revocation *list, size_t n, const char *serial);

#endif
