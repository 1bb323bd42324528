/* Access-group CAs and leaf issuance: one include for the callers of all
 * of it.  The parts, each with its own contracts:
 *   keys.h    key types and generation, SPKIs, CSRs (make, verify)
 *   cadir.h   an access group's CA material in the store (public
 *             certificates, private keys), read as one snapshot
 *   ca.h      an access group's CA: init, load, trust anchors
 *   rotate.h  CA rotation and the prepared next CA
 *   crl.h     CRLs
 *   issuer.h  leaf certificates, and rendering what one would hold
 * (der.h, the DER reader and writers, is theirs and not included here.) */
#ifndef CT_ISSUE_H
#define CT_ISSUE_H

#include "ca.h"
#include "crl.h"
#include "issuer.h"
#include "keys.h"
#include "rotate.h"

#endif
