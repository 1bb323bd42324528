/* The SSH certificate step of a login (pam_certtoken cert=ssh): sshd has
 * already checked that the client holds the key of a certificate (the
 * publickey method of `AuthenticationMethods publickey,keyboard-interactive`)
 * and, since OpenSSH 7.8, hands the PAM stack what passed in the PAM
 * environment variable SSH_AUTH_INFO_0, one line per method:
 *   publickey ssh-ed25519-cert-v01@openssh.com AAAA...[ INFO]
 *   keyboard-interactive
 * Here: the certificates in that text, and the checks that decide whether
 * one of them is the target group's certificate for the user logging in.
 * The text is only as trustworthy as whoever set the variable: only sshd
 * may (pam_certtoken(8)).  Library code: nothing here logs. */
#ifndef CT_SSHLOGIN_H
#define CT_SSHLOGIN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "ct.h"
#include "tokens.h"

struct ct_store;

#define CT_SSHLOGIN_INFO_MAX (64 * 1024) /* bytes of SSH_AUTH_INFO_0 we read */
#define CT_SSHLOGIN_CERTS_MAX 8 /* certificate lines we look at */
#define CT_SSHLOGIN_KEYID_MAX 512 /* bytes of a key id we report, with the NUL */

/* The certificates of the publickey lines of INFO. */
struct ct_sshlogin_certs {
	struct {
		unsigned char *blob;
		size_t len;
	} c[CT_SSHLOGIN_CERTS_MAX];
	size_t n;
};

/* Collect into *OUT the blobs of the "publickey TYPE BASE64[ ...]" lines of
 * INFO whose TYPE is a certificate type (*-cert-v01@openssh.com), in order,
 * at most CT_SSHLOGIN_CERTS_MAX.  Lines of other methods, plain keys and
 * blank lines are passed over; a publickey line that does not parse is
 * CT_EINVAL.  CT_ENOENT when INFO is NULL or holds no certificate;
 * CT_EINVAL when it is longer than CT_SSHLOGIN_INFO_MAX. */
int ct_sshlogin_parse(const char *info, struct ct_sshlogin_certs *out, struct ct_err *err);

void ct_sshlogin_certs_clear(struct ct_sshlogin_certs *c);

struct ct_sshlogin_policy {
	struct ct_store *db; /* the store, open with CT_STORE_TOKENS */
	const struct ct_target *target;
	long skew; /* seconds allowed on either side of the validity period */
};

struct ct_sshlogin_result {
	uint64_t ssh_serial; /* of the certificate decided last; 0 before */
	char serial[CT_CERT_SERIAL_MAX]; /* its X.509 serial from the key id, "" before */
	char key_id[CT_SSHLOGIN_KEYID_MAX]; /* its key id, "" before */
	char token[CT_SERIAL_MAX]; /* its token from the index, "" if none */
};

/* Decide the certificates of INFO for USER at NOW: one of them must be a
 * user certificate signed by an SSH CA of the target's access group that is
 * trusted at NOW (current, prepared, or previous within its overlap), its
 * signature good, valid at NOW within the skew, USER among its principals,
 * no critical option other than force-command, source-address and
 * verify-required, a key id "certtoken:OWNER:TARGET:X509SERIAL" whose index
 * entry is OWNER's, of this group and records this SSH serial, the X.509
 * serial not revoked, and the entry's token (if any) still OWNER's and
 * enabled.
 *   CT_OK      accepted (RES describes the certificate)
 *   CT_EPERM   refused; ERR says why (about the last certificate tried)
 *   CT_EINVAL  SSH_AUTH_INFO_0 or a certificate is malformed
 *   CT_ENOENT  no certificate in INFO
 *   CT_EIO, CT_ECONFIG  the store or the CA could not be read: deny */
int ct_sshlogin_verify(const struct ct_sshlogin_policy *p, const char *info, const char *user,
    time_t now, struct ct_sshlogin_result *res, struct ct_err *err);

#endif
