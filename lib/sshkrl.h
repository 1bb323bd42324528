/* OpenSSH key revocation lists (PROTOCOL.krl) for sshd's RevokedKeys:
 * revoked certificate serials of one or more CA keys.  Nothing here does
 * I/O; the caller replaces the file atomically (sshd refuses every
 * publickey login while it cannot read the KRL). */
#ifndef CT_SSHKRL_H
#define CT_SSHKRL_H

#include <stddef.h>
#include <stdint.h>

#include "ct.h"

#define CT_SSHKRL_SERIALS_MAX (1024 * 1024) /* serials of one CA in a KRL */

/* One CA key (its plain public key blob) and the serials of its revoked
 * certificates (any order; duplicates allowed; serial 0 is refused since
 * it means "no serial"). */
struct ct_sshkrl_ca {
	const unsigned char *ca_blob;
	size_t ca_blob_len;
	const uint64_t *serials;
	size_t n_serials;
};

/* A KRL (format version 1) with krl_version VERSION, generated_date
 * GENERATED (seconds since the epoch), COMMENT (may be NULL), and one
 * certificate section per CA of the N CAS (a CA with no serials gets none):
 * its serials sorted, runs of consecutive serials as a
 * KRL_SECTION_CERT_SERIAL_RANGE, the others in a
 * KRL_SECTION_CERT_SERIAL_LIST.  Into a new buffer (free()).  CT_EINVAL
 * for a CA blob that is not a plain key, serial 0 or too many serials. */
int ct_sshkrl_build(const struct ct_sshkrl_ca *cas, size_t n, uint64_t version, int64_t generated,
    const char *comment, unsigned char **out, size_t *out_len, struct ct_err *err);

/* Is the certificate with SERIAL of the CA whose blob is CA_BLOB revoked by
 * the KRL of LEN bytes at KRL?  *REVOKED is 1 or 0 on CT_OK; CT_EINVAL for
 * a KRL that is malformed or has a section or critical extension this
 * reader does not know (it reads the certificate sections: serial lists,
 * ranges and bitmaps; key id sections and the other section types are
 * skipped). */
int ct_sshkrl_check(const unsigned char *krl, size_t len, const unsigned char *ca_blob,
    size_t ca_blob_len, uint64_t serial, int *revoked, struct ct_err *err);

#endif
