/* The CA of an access group: create it, load it (with the previous one
 * while a rotation's overlap lasts), and its trust anchors.  The store
 * keeps it (ct_store_open); what it keeps and which part is private:
 * cadir.h.  Rotation: rotate.h. */
#ifndef CT_CA_H
#define CT_CA_H

#include <time.h>

#include <openssl/buffer.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cadir.h"
#include "conf.h"
#include "ct.h"

struct ct_ca;
struct ct_store;

/* Generate GROUP's CA key and self-signed certificate (valid ca_days from
 * NOW minus one hour), and its SSH CA (sshca.h, of G's ssh_key_type), and
 * store them.  CT_EEXIST if the group has a CA. */
int ct_ca_init(struct ct_store *st, const struct ct_group *g, time_t now, struct ct_err *err);

/* Load GROUP's current CA (key and certificate) from the store: the CA
 * host's work.  CT_ENOENT when it was never initialised; CT_EIO naming the
 * file when a file is missing or corrupt, or the key does not match the
 * certificate. */
int ct_ca_load(
    struct ct_store *st, const struct ct_group *g, struct ct_ca **out, struct ct_err *err);

/* Load GROUP's current CA into *CUR and, when NOW is within the overlap of
 * the last rotation, the previous CA into *PREV (else *PREV = NULL).  Errors
 * as ct_ca_load. */
int ct_ca_load_trusted(struct ct_store *st, const struct ct_group *g, time_t now,
    struct ct_ca **cur, struct ct_ca **prev, struct ct_err *err);

/* The trust anchors of GROUP at NOW in a new stack (free with
 * sk_X509_pop_free(..., X509_free)): the current CA certificate first, then
 * the prepared next one if there is one, then the previous one while NOW is
 * before the end of its overlap.  Reads
 * certificates only, never a private key.  CT_ENOENT when the group has no
 * CA; CT_EIO naming the file when one is missing or corrupt. */
int ct_ca_trust(struct ct_store *st, const struct ct_group *g, time_t now, STACK_OF(X509) **anchors,
    struct ct_err *err);

/* GROUP's current CA version into *OUT: it changes whenever the current CA
 * does (a rotation; a preparation may change it too), so a holder of a
 * loaded CA can tell it must load again.  CT_ENOENT when the group has no
 * CA. */
int ct_ca_version(
    struct ct_store *st, const struct ct_group *g, struct ct_ca_version *out, struct ct_err *err);

void ct_ca_free(struct ct_ca *ca);

/* The CA certificate (owned by CA). */
X509 *ct_ca_cert(const struct ct_ca *ca);

/* The CA's private key (owned by CA). */
EVP_PKEY *ct_ca_key(const struct ct_ca *ca);

/* The digest the CA signs with, chosen by its key (ct_pkey_digest); NULL
 * for Ed25519. */
const char *ct_ca_digest(const struct ct_ca *ca);

/* The name of the CA's access group, for messages. */
const char *ct_ca_group(const struct ct_ca *ca);

/* The CA certificate's notBefore and notAfter. */
time_t ct_ca_not_before(const struct ct_ca *ca);
time_t ct_ca_not_after(const struct ct_ca *ca);

/* The CA in items KEY and CERT of the snapshot S (of GROUP); CT_EIO naming
 * the item when one is missing or corrupt or they do not match. */
int ct_ca_read(const struct ct_cadir *s, const char *group, enum ct_ca_item key,
    enum ct_ca_item cert, struct ct_ca **out, struct ct_err *err);

/* A new CA: its certificate, and its key and certificate as PEM. */
struct ct_ca_pem {
	X509 *x509;
	BUF_MEM *key; /* secret: wiped by ct_ca_pem_clear */
	BUF_MEM *cert;
};

/* A new CA for G at NOW (a key of G's key type, a self-signed certificate
 * valid ca_days from NOW minus one hour) into *OUT; nothing is stored. */
int ct_ca_generate(const struct ct_group *g, time_t now, struct ct_ca_pem *out, struct ct_err *err);

/* Free what P holds (the key's bytes wiped) and zero it. */
void ct_ca_pem_clear(struct ct_ca_pem *p);

#endif
