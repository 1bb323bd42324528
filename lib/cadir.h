/* An access group's CA material in the store, read as one snapshot, and
 * changed in one step.
 *
 * What a group's CA material is, for every backend: items of bytes.
 *   CT_CA_CERT           the current CA's self-signed certificate (PEM)
 *   CT_CA_KEY            its private key (PKCS#8 PEM)
 *   CT_CA_PREVIOUS_CERT  after a rotation with an overlap: the CA it
 *   CT_CA_PREVIOUS_KEY   replaced, certificate and key
 *   CT_CA_UNTIL          when that CA stops being trusted: decimal seconds
 *                        since the epoch and a newline; it is trusted while
 *                        now < this
 *   CT_CA_NEXT_CERT      after ct_ca_prepare: the next CA, trusted but
 *   CT_CA_NEXT_KEY       signing nothing until ct_ca_rotate makes it the
 *                        current one
 *   CT_CA_CRL_NUMBER     the last CRL number given out for the group:
 *                        decimal and a newline (ct_crl_number_take); kept
 *                        across rotations
 *   CT_CA_SSH_KEY        the group's SSH CA (separate from its X.509 CA):
 *   CT_CA_SSH_PUB        its private key (PKCS#8 PEM) and its OpenSSH
 *                        public key line ("TYPE BASE64 COMMENT" and a
 *                        newline), what sshd's TrustedUserCAKeys holds
 *   CT_CA_PREVIOUS_SSH_KEY, CT_CA_PREVIOUS_SSH_PUB
 *                        the SSH CA the last rotation replaced, trusted
 *                        until CT_CA_UNTIL as the previous X.509 CA is
 *   CT_CA_NEXT_SSH_KEY, CT_CA_NEXT_SSH_PUB
 *                        the SSH CA prepared with the next X.509 CA
 * The SSH items are optional: a group made before they existed has none
 * until `ca ssh-init`, `ca rotate --prepare` or `ca rotate` gives it one.
 * The certificates, the SSH public key lines and CT_CA_UNTIL are public: they are what a verifier
 * reads (ct_ca_trust), and a backend may serve them from a shared place (a
 * directory server).  The keys are private: only the CA host reads them
 * (ct_ca_load, rotations), and a backend may keep them in the CA host's
 * local files whatever it does with the certificates.  The backend's
 * operations keep the two apart (store_backend.h).  Another public item
 * (the group's latest CRL, say) is one more enum value: read with the
 * certificates, stored by the same whole replacement.
 *
 * A group's CA material is never changed in part.  `ca init` creates it
 * whole (ct_cadir_create); a rotation or a preparation reads a snapshot
 * opened with CT_CADIR_CHANGE and replaces it whole (ct_cadir_replace), so
 * a reader sees the old CA material or the new one, never a mix.  Readers
 * read their items from one snapshot and check afterwards that it is still
 * the group's (else read again: ct_cadir_run).  The previous CA's items
 * stay after its overlap has ended (ignored) until the next rotation.
 *
 * The files backend keeps a group in STORE/groups/GROUP, one file per item
 * (layout in store_files.h). */
#ifndef CT_CADIR_H
#define CT_CADIR_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ct.h"

struct ct_store;

enum ct_ca_item {
	CT_CA_CERT,
	CT_CA_KEY,
	CT_CA_PREVIOUS_CERT,
	CT_CA_PREVIOUS_KEY,
	CT_CA_UNTIL,
	CT_CA_NEXT_CERT,
	CT_CA_NEXT_KEY,
	CT_CA_CRL_NUMBER,
	CT_CA_SSH_KEY,
	CT_CA_SSH_PUB,
	CT_CA_PREVIOUS_SSH_KEY,
	CT_CA_PREVIOUS_SSH_PUB,
	CT_CA_NEXT_SSH_KEY,
	CT_CA_NEXT_SSH_PUB,
	CT_CA_ITEMS
};

/* Is ITEM a private key (read only on the CA host)? */
int ct_ca_item_is_key(enum ct_ca_item item);

/* A snapshot of a group's CA material, opened once: the items read from it
 * belong together.  A backend embeds it as the first member of its own;
 * WHERE and NAMES are the backend's, for messages ("WHERE/NAME: ..."). */
struct ct_cadir {
	struct ct_store *st;
	const char *where; /* the group's CA material (files: STORE/groups/GROUP) */
	const char *const *names; /* each item's name (files: its file name) */
};

/* The whole CA material of a group, to be stored: DATA NULL for an item it
 * does not have.  The bytes are the caller's. */
struct ct_ca_content {
	struct {
		unsigned char *data;
		size_t len;
	} item[CT_CA_ITEMS];
};

/* Wipe (keys are among the items) and free every item of C, and empty it. */
void ct_ca_content_clear(struct ct_ca_content *c);

/* A token that changes whenever a group's current CA changes (files: the
 * device, inode and mtime of its certificate file); compared whole. */
#define CT_CA_VERSION_MAX 96
struct ct_ca_version {
	char id[CT_CA_VERSION_MAX];
};

#define CT_CADIR_CHANGE 0x1 /* open to replace: serialised with the group's other changes */

/* Open a snapshot of GROUP's CA material in ST into *OUT; with
 * CT_CADIR_CHANGE, for ct_cadir_replace (the group's other changes wait
 * until it is closed).  CT_ENOENT, saying to run ca init, when the group
 * has no CA; CT_EINVAL for a name that is not a valid group name. */
int ct_cadir_open(struct ct_store *st, const char *group, unsigned flags, struct ct_cadir **out,
    struct ct_err *err);

/* Close S (NULL is allowed). */
void ct_cadir_close(struct ct_cadir *s);

/* CT_ENOENT saying that GROUP has no CA yet and how to make one (ERR's
 * message replaced): also for a store that does not exist yet. */
int ct_cadir_absent(const char *group, struct ct_err *err);

/* Is S still the group's CA material, not replaced by a rotation? */
int ct_cadir_current(const struct ct_cadir *s);

/* Does S have ITEM?  Yes also when that cannot be told: reading it then
 * reports why. */
int ct_cadir_has(const struct ct_cadir *s, enum ct_ca_item item);

/* ITEM of S (at most CT_FILE_MAX bytes) in a new buffer.  CT_EIO also when
 * it is missing: a group's CA material is complete. */
int ct_cadir_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data, size_t *len,
    struct ct_err *err);

/* The PEM certificate (into *CERT) or private key (into *KEY: the other is
 * NULL) that is ITEM of S.  A key's bytes are wiped after decoding. */
int ct_cadir_pem(const struct ct_cadir *s, enum ct_ca_item item, X509 **cert, EVP_PKEY **key,
    struct ct_err *err);

/* The end of the previous CA's overlap (CT_CA_UNTIL of S); 0 when the
 * group has no previous CA. */
int ct_cadir_until(const struct ct_cadir *s, time_t *until, struct ct_err *err);

/* Run READ on a snapshot of GROUP's CA material in ST, and again (after
 * RESET has dropped what it gave) when a rotation replaced it while READ
 * was reading: the result always comes from one snapshot.  The last try
 * holds the group against changes (CT_CADIR_CHANGE, waiting at most
 * store.lock_timeout), so a run of rotations cannot starve a reader;
 * CT_EIO when it changed even then (a backend that cannot hold it). */
int ct_cadir_run(struct ct_store *st, const char *group,
    int (*read)(const struct ct_cadir *, void *, struct ct_err *), void (*reset)(void *), void *ctx,
    struct ct_err *err);

/* GROUP's current CA version into *OUT; CT_ENOENT when it has no CA. */
int ct_cadir_version(
    struct ct_store *st, const char *group, struct ct_ca_version *out, struct ct_err *err);

/* Store C (a current CA at least) as GROUP's first CA material, whole or
 * not at all.  CT_EEXIST when the group has a CA. */
int ct_cadir_create(
    struct ct_store *st, const char *group, const struct ct_ca_content *c, struct ct_err *err);

/* Replace the CA material of S (opened with CT_CADIR_CHANGE) by C in one
 * step.  CT_ECONFLICT (nothing written) from a backend that cannot hold
 * the group still when it changed since S was opened: run the whole
 * change again. */
int ct_cadir_replace(struct ct_cadir *s, const struct ct_ca_content *c, struct ct_err *err);

#endif
