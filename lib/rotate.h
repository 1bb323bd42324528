/* Rotation of an access group's CA: a new (or the prepared) CA becomes the
 * current one and the replaced one stays trusted for an overlap; and the
 * preparation of the next CA ahead of a rotation, through the store
 * (ct_store_open).  The group's SSH CA (sshca.h) goes along: a rotation
 * makes the prepared SSH CA (or a new one) the current one and keeps the
 * replaced one as the previous for the same overlap; a preparation makes a
 * next SSH CA beside the next X.509 CA.  How the change is made atomic: cadir.h. */
#ifndef CT_ROTATE_H
#define CT_ROTATE_H

#include <time.h>

#include <openssl/x509.h>

#include "conf.h"
#include "ct.h"

struct ct_store;

#define CT_OVERLAP_MAX (8760L * 3600) /* longest rotation overlap: a year, in seconds */

/* What a rotation did (free with ct_rotation_clear). */
struct ct_rotation {
	X509 *cert; /* the new CA certificate */
	int prepared; /* CERT is the CA ct_ca_prepare made (else one made now) */
	X509 *previous; /* the CA it replaced */
	time_t until; /* PREVIOUS is trusted until then (NOW: not at all) */
	X509 *dropped; /* an older previous CA that was still trusted and no longer
	                  is, or NULL */
	time_t dropped_until; /* when DROPPED would have stopped being trusted */
};

#define CT_ROTATE_GENERATE 0x1u /* ct_ca_rotate: make a new CA, never take a prepared one */

/* Rotate GROUP's CA at NOW: the prepared next CA (ct_ca_prepare) or, when
 * there is none, a new key of G's key type and a new certificate (same
 * subject, ca_days validity) become the current CA, and the current one
 * becomes the previous CA, trusted for OVERLAP more seconds (0 to
 * CT_OVERLAP_MAX; 0 keeps no previous CA and discards its key).  Any older
 * previous CA is dropped.  Rotations of a group are serialised by a lock, and
 * the change is atomic (see cadir.h).  CT_ENOENT when the group has no CA;
 * CT_EINVAL for an overlap out of range or an expired prepared CA; CT_EEXIST
 * when FLAGS has CT_ROTATE_GENERATE and a CA is prepared (it would be lost);
 * CT_ECONFLICT (nothing changed) from a store that cannot lock when the CA
 * changed meanwhile: run it again. */
int ct_ca_rotate(struct ct_store *st, const struct ct_group *g, time_t now, long overlap,
    unsigned flags, struct ct_rotation *out, struct ct_err *err);

/* Prepare GROUP's next CA at NOW: a new key of G's key type and a new
 * certificate (as ct_ca_rotate makes, valid ca_days from NOW) stored beside
 * the current CA, trusted from now on (ct_ca_trust) but signing nothing until
 * ct_ca_rotate makes it the current CA.  Its certificate goes into *NEXT.
 * CT_EEXIST when a CA is already prepared, unless REPLACE: then that one is
 * discarded and its certificate goes into *REPLACED (NULL when there was none
 * or it cannot be read).  Locked and atomic as ct_ca_rotate; CT_ENOENT when
 * the group has no CA. */
int ct_ca_prepare(struct ct_store *st, const struct ct_group *g, time_t now, int replace,
    X509 **next, X509 **replaced, struct ct_err *err);

/* Give GROUP, made before SSH CAs existed, an SSH CA (a new key of G's
 * ssh_key_type), and one for its prepared CA if it has one; everything else
 * stays as it is, and the change is atomic as a rotation's.  CT_EEXIST when
 * it has one; CT_ENOENT when the group has no CA.  (ct_ca_init,
 * ct_ca_prepare and ct_ca_rotate make SSH CAs themselves.) */
int ct_ca_ssh_init(struct ct_store *st, const struct ct_group *g, struct ct_err *err);

/* Free what R holds and zero it. */
void ct_rotation_clear(struct ct_rotation *r);

#endif
