/* An access group's directory in the store, and reading it as one snapshot.
 *
 * Store layout (all 0600 files in 0700 directories):
 *   STORE/groups/GROUP/ca.key          the current CA's private key (PKCS#8 PEM)
 *   STORE/groups/GROUP/ca.pem          its self-signed certificate
 *   STORE/groups/GROUP/previous.key    after a rotation with an overlap: the CA
 *   STORE/groups/GROUP/previous.pem    it replaced, key and certificate
 *   STORE/groups/GROUP/previous.until  when that CA stops being trusted: decimal
 *                                      seconds since the epoch and a newline; it
 *                                      is trusted while now < this
 *   STORE/groups/GROUP/next.key        after ct_ca_prepare: the next CA, trusted
 *   STORE/groups/GROUP/next.pem        but signing nothing until ct_ca_rotate
 *                                      makes it the current one
 *   STORE/groups/.GROUP.lock           taken by rotations and preparations of GROUP
 *                                      (never unlinked)
 *   STORE/groups/.GROUP.rotate         a rotation's work directory (removed when it
 *                                      is done, or by the next rotation after a crash)
 * Group names never start with a dot, so the last two are never a group.
 *
 * A group directory is never changed in place.  `ca init` builds a complete
 * one under a temporary name and renames it into place; a rotation builds a
 * complete new one in .GROUP.rotate, swaps it with the group directory in one
 * step (renameat2 RENAME_EXCHANGE, so the file system must support it), and
 * removes the replaced one; so does a preparation (which copies the current
 * and previous CA's files unchanged).  A crash leaves the old CA or the new one, never
 * a mix.  Readers open the group directory once, read its files relative to
 * it and check afterwards that it is still the group's (else read again), so
 * what they get always comes from one directory.  The previous CA's files
 * stay after its overlap has ended (ignored) until the next rotation. */
#ifndef CT_CADIR_H
#define CT_CADIR_H

#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ct.h"

#define CT_CADIR_UNTIL "previous.until"
#define CT_CADIR_NEXT_KEY "next.key" /* the prepared CA */
#define CT_CADIR_NEXT_PEM "next.pem" /* its certificate: there is a prepared CA when it exists */

/* A group directory, opened once.  A published group directory is never
 * changed in place, so the files read relative to FD belong together;
 * ct_cadir_current tells whether a rotation has replaced it since. */
struct ct_cadir {
	char *dir; /* STORE/groups/GROUP, for messages and the re-check */
	int fd;
	struct stat st;
};

/* The directory of GROUP in STORE into *OUT (malloc'd), creating STORE and
 * STORE/groups when CREATE, else checking them (owner, mode).  CT_EINVAL
 * for a name that is not a valid group name. */
int ct_cadir_path(const char *store, const char *group, int create, char **out, struct ct_err *err);

/* Open GROUP's directory in STORE into S.  CT_ENOENT, saying to run ca init,
 * when the group has no CA (or there is no store yet). */
int ct_cadir_open(const char *store, const char *group, struct ct_cadir *s, struct ct_err *err);

/* Close S (also one that failed to open or is already closed). */
void ct_cadir_close(struct ct_cadir *s);

/* Is S still the group's directory, not replaced by a rotation? */
int ct_cadir_current(const struct ct_cadir *s);

/* Does S have file NAME?  Yes also when that cannot be told: reading it
 * then reports why. */
int ct_cadir_has(const struct ct_cadir *s, const char *name);

/* File NAME of S (at most CT_FILE_MAX bytes) in a new buffer.  CT_EIO also
 * when it is missing: a group directory is complete. */
int ct_cadir_read(const struct ct_cadir *s, const char *name, unsigned char **data, size_t *len,
    struct ct_err *err);

/* The PEM certificate (into *CERT) or private key (into *KEY: the other is
 * NULL) in file NAME of S.  A key's bytes are wiped after decoding. */
int ct_cadir_pem(
    const struct ct_cadir *s, const char *name, X509 **cert, EVP_PKEY **key, struct ct_err *err);

/* The end of the previous CA's overlap (CT_CADIR_UNTIL of S); 0 when the
 * group has no previous CA. */
int ct_cadir_until(const struct ct_cadir *s, time_t *until, struct ct_err *err);

/* Run READ on GROUP's directory in STORE, and again (after RESET has
 * dropped what it gave) when a rotation replaced the directory while READ
 * was reading it: the result always comes from one directory.  CT_EIO when
 * it kept changing. */
int ct_cadir_run(const char *store, const char *group,
    int (*read)(const struct ct_cadir *, void *, struct ct_err *), void (*reset)(void *), void *ctx,
    struct ct_err *err);

#endif
