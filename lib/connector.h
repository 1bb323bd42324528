/* CA connectors: how a target's certificates get signed.
 *
 * A connector is a type (the `type` of a `ca_connectors` entry) with two
 * operations and a set of capabilities.  Callers (certtokend, certtoken-
 * admin) look only at the capabilities, never at the type:
 *
 *   issue   sign the request now, or answer CT_EPENDING (the certificate
 *           comes later: an administrator approves it, or an external CA
 *           decides and fetch asks again);
 *   fetch   ask again about a request that was pending.
 *
 * The implementations are local (the access group's CA in the store, at
 * once), queue (pending until `certtoken-admin cert approve` signs with the
 * group's CA) and command (an external program; see connector_command.c).
 * Adding one means an implementation file and a line in the registry in
 * connector.c. */
#ifndef CT_CONNECTOR_H
#define CT_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "attrs.h"
#include "conf.h"
#include "ct.h"
#include "issue.h"
#include "keyproof.h"
#include "requests.h"

/* Capabilities (ct_connector_caps). */
#define CT_CX_SIGNS_HERE 0x01u /* signs with the group's CA in the store: pass the issuer */
#define CT_CX_ADMIN_APPROVES 0x02u /* pending until certtoken-admin cert approve signs it */
#define CT_CX_EXTERNAL 0x04u /* another CA decides: its errors are for the log, not the user */
#define CT_CX_CAN_KEYGEN 0x08u /* a service-made key can be issued (never kept while pending) */
#define CT_CX_FETCH 0x10u /* fetch asks the CA again about a pending request */
#define CT_CX_RUNS_PROGRAM 0x20u /* configured with `command` and `timeout` */
#define CT_CX_KEEPS_CSR 0x40u /* the CSR outlives the request: pass it as DER */

/* One request to sign: the key SPKI of USER's new token TOKEN for TARGET. */
struct ct_cx_request {
	const struct ct_target *target;
	const char *user;
	const char *token;
	const unsigned char *spki; /* SubjectPublicKeyInfo DER */
	size_t spki_len;
	const unsigned char *csr; /* DER (CT_CX_KEEPS_CSR); NULL: none */
	size_t csr_len;
	/* the user's attributes: CT_CX_SIGNS_HERE needs them; with
	 * CT_CX_ADMIN_APPROVES what approval checks is checked now (NULL: not) */
	const struct ct_attrs *attrs;
	struct ct_issuer *issuer; /* CT_CX_SIGNS_HERE: the group's current issuer */
	const char *ref; /* fetch: the CA's reference of the request, "-": none */
	time_t now;
	int64_t deadline; /* ct_now_ms clock: the caller's deadline; 0: none */
};

struct ct_cx_result {
	unsigned char *der; /* issued: the certificate (OPENSSL_free) */
	size_t der_len;
	int has_info; /* INFO was read from a certificate another CA made */
	struct ct_cert_info info;
	char ref[CT_REF_MAX]; /* pending: the CA's reference, "-": none */
	char note[CT_ERR_MAX]; /* something worth a log line (not an error), "" */
};

/* The capabilities of CN's type. */
unsigned ct_connector_caps(const struct ct_connector *cn);

/* The type's name ("local", ...); "?" for an unknown type. */
const char *ct_connector_type_name(enum ct_connector_type t);

/* The type named NAME (-1 when there is none); LIST gets the names, for
 * messages ("local, queue or command"). */
int ct_connector_type_parse(const char *name);
const char *ct_connector_type_list(void);

/* Why a request through CN is pending, for the user ("waiting for ..."). */
const char *ct_connector_pending_why(const struct ct_connector *cn);

/* Sign RQ through its target's connector.
 *   CT_OK        issued: RES->der (and RES->info when has_info)
 *   CT_EPENDING  not yet: RES->ref is the CA's reference or "-"
 *   CT_EUNAVAIL  the CA failed, timed out or said something else
 *   CT_EINVAL    the CA's answer is not a certificate for the key, or the
 *                request is bad (a missing attribute, ...)
 * RES is cleared first; free it with ct_cx_result_clear. */
int ct_connector_issue(
    const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err);

/* Ask again about RQ (RQ->ref set), which was pending; as ct_connector_issue.
 * A connector without CT_CX_FETCH answers CT_EPENDING. */
int ct_connector_fetch(
    const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err);

void ct_cx_result_clear(struct ct_cx_result *res);

#endif
