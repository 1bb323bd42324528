/* The local and queue CA connectors: the access group's CA in the store
 * signs, at once (local) or once an administrator approves (queue). */
#include "config.h"

#include "connector_impl.h"

static int
local_issue(const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err)
{
	if (rq->issuer == NULL || rq->attrs == NULL)
		return ct_err_set(err, CT_ECONFIG, "CA connector %s: no issuer loaded",
		    rq->target->connector->name);
	return ct_issue(
	    rq->issuer, rq->attrs, rq->spki, rq->spki_len, rq->now, &res->der, &res->der_len, err);
}

/* Nothing is signed now: certtoken-admin cert approve signs later.  What
 * approval would refuse (key usage against the key, the subject and SANs
 * for the user's attributes, their upper bounds) is refused now, so that no
 * request is queued only to fail at approval. */
static int
queue_issue(const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err)
{
	int rc;

	(void)res;
	if (rq->attrs != NULL &&
	    (rc = ct_issue_check(rq->target, rq->attrs, rq->spki, rq->spki_len, err)) != CT_OK)
		return rc;
	return CT_EPENDING;
}

const struct ct_connector_ops ct_connector_local = {
    .name = "local",
    .caps = CT_CX_SIGNS_HERE | CT_CX_CAN_KEYGEN,
    .pending_why = "the CA has not decided yet",
    .issue = local_issue,
};

const struct ct_connector_ops ct_connector_queue = {
    .name = "queue",
    .caps = CT_CX_ADMIN_APPROVES | CT_CX_KEEPS_CSR,
    .pending_why = "waiting for an administrator's approval",
    .issue = queue_issue,
};
