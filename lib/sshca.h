/* An access group's SSH CA: items CT_CA_SSH_* of its CA material (cadir.h),
 * made with the X.509 CA (`ca init`), prepared and rotated with it
 * (rotate.h).  Here: a new SSH CA key and its public key line, loading the
 * current one to sign, the keys sshd is to trust (TrustedUserCAKeys),
 * OpenSSH user certificates for a target, and the group's KRL.  The
 * encoding of keys, certificates and KRLs is sshcert.h's and sshkrl.h's.
 * Library code: nothing here logs. */
#ifndef CT_SSHCA_H
#define CT_SSHCA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/buffer.h>
#include <openssl/evp.h>

#include "attrs.h"
#include "conf.h"
#include "ct.h"

struct ct_store;

/* A new SSH CA: its private key (PKCS#8 PEM, secret: wiped by
 * ct_sshca_new_clear) and its public key line "TYPE BASE64 certtoken:GROUP"
 * and a newline. */
struct ct_sshca_new {
	BUF_MEM *key;
	char *pub;
};

/* A new SSH CA of key type T (CT_KEY_ED25519 or CT_KEY_EC_P256) for GROUP
 * into *OUT; nothing is stored. */
int ct_sshca_generate(
    enum ct_key_type t, const char *group, struct ct_sshca_new *out, struct ct_err *err);

/* Free what N holds (the key's bytes wiped) and zero it. */
void ct_sshca_new_clear(struct ct_sshca_new *n);

/* GROUP's current SSH CA key, checked against its public key line, into
 * *KEY: the CA host's work.  CT_ENOENT saying how to make one when the
 * group has no SSH CA (or no CA); CT_EIO naming the item when one is
 * corrupt or they do not match. */
int ct_sshca_load(struct ct_store *st, const char *group, EVP_PKEY **key, struct ct_err *err);

/* Which of a group's SSH CAs a trusted key is. */
enum ct_sshca_role { CT_SSHCA_CURRENT, CT_SSHCA_NEXT, CT_SSHCA_PREVIOUS };

/* "current", "prepared", "previous". */
const char *ct_sshca_role_name(enum ct_sshca_role r);

/* The SSH CA keys of a group that sshd is to trust: public key blobs. */
struct ct_sshca_trust {
	struct {
		enum ct_sshca_role role;
		unsigned char *blob;
		size_t len;
		time_t until; /* PREVIOUS: trusted until then; else 0 */
	} key[3];
	size_t n;
};

/* GROUP's trusted SSH CA keys at NOW into *OUT: the current one, the
 * prepared one if there is one, the previous one while NOW is within its
 * overlap; public items only.  With ALL, the previous one also after its
 * overlap (a KRL lists its serials too).  CT_ENOENT saying how to make one
 * when the group has no SSH CA. */
int ct_sshca_trust(struct ct_store *st, const char *group, time_t now, int all,
    struct ct_sshca_trust *out, struct ct_err *err);

void ct_sshca_trust_clear(struct ct_sshca_trust *t);

/* What an OpenSSH user certificate is issued for: the X.509 certificate
 * of the same enrollment. */
struct ct_sshca_req {
	const struct ct_ssh_conf *conf; /* the target's ssh settings */
	const struct ct_attrs *attrs; /* the user's attributes, for the principals */
	const char *user, *target;
	const char *x509_serial; /* upper-case hex, as the index keeps it */
	const unsigned char *spki; /* the subject's public key (DER SubjectPublicKeyInfo) */
	size_t spki_len;
	int64_t not_before, not_after; /* the X.509 certificate's validity */
};

/* An issued OpenSSH certificate. */
struct ct_sshca_cert {
	uint64_t serial; /* random, never 0 */
	char *line; /* "TYPE-cert-v01@openssh.com BASE64 KEYID" and a newline */
	char *key_id;
};

/* What can be known of R's certificate before its X.509 certificate is
 * signed (R's X.509 serial and validity are not read): its principals
 * expand from the user's attributes (the expansion refuses a principal
 * over CT_SSHCERT_FIELD_MAX bytes), and its subject key is of a type SSH has.  CT_EINVAL naming the
 * missing attribute or the bad value: what ct_sshca_issue would refuse. */
int ct_sshca_check(const struct ct_sshca_req *r, struct ct_err *err);

/* Sign an OpenSSH user certificate for R with the SSH CA key CA: key id
 * "certtoken:USER:TARGET:X509SERIAL", a random non-zero 64-bit serial,
 * principals from the target's patterns, valid_after = not_before and
 * valid_before = not_after, critical options force-command and
 * source-address when configured, the configured extensions.  CT_EINVAL
 * for a missing attribute or a bad value (naming it). */
int ct_sshca_issue(
    EVP_PKEY *ca, const struct ct_sshca_req *r, struct ct_sshca_cert *out, struct ct_err *err);

void ct_sshca_cert_clear(struct ct_sshca_cert *c);

/* The OpenSSH KRL of GROUP at NOW into a new buffer (free()): the SSH
 * serials (from the index) of the group's revoked certificates, for each of
 * its SSH CA keys (current, prepared, previous); *N_SERIALS says how many.
 * CT_ENOENT when the group has no SSH CA. */
int ct_sshca_krl(struct ct_store *st, const char *group, time_t now, unsigned char **out,
    size_t *out_len, size_t *n_serials, struct ct_err *err);

/* One OpenSSH KRL for the N access groups GROUPS at NOW (sshd reads one
 * RevokedKeys file: a host that trusts several groups installs this), as
 * ct_sshca_krl makes it for one: one certificate section per SSH CA key of
 * each group with that group's revoked SSH serials; *N_SERIALS counts them
 * all.  CT_EINVAL for no group or a group named twice; CT_ENOENT naming a
 * group that has no SSH CA. */
int ct_sshca_krl_groups(struct ct_store *st, const char *const *groups, size_t n, time_t now,
    unsigned char **out, size_t *out_len, size_t *n_serials, struct ct_err *err);

#endif
