/* CA connectors: what an implementation provides (connector.c registers
 * them; nothing else includes this header). */
#ifndef CT_CONNECTOR_IMPL_H
#define CT_CONNECTOR_IMPL_H

#include "connector.h"

struct ct_connector_ops {
	const char *name; /* the configuration's `type` */
	unsigned caps; /* CT_CX_* */
	const char *pending_why; /* for the user, when a request is pending */
	/* sign now or answer CT_EPENDING; RES is cleared by the caller */
	int (*issue)(const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err);
	/* ask again about a pending request; NULL: answers CT_EPENDING */
	int (*fetch)(const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err);
};

extern const struct ct_connector_ops ct_connector_local;
extern const struct ct_connector_ops ct_connector_queue;
extern const struct ct_connector_ops ct_connector_command;

#endif
