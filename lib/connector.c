/* CA connectors: the registry and the two operations every caller uses. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "connector_impl.h"

/* Indexed by enum ct_connector_type. */
static const struct ct_connector_ops *const registry[] = {
    [CT_CONNECTOR_LOCAL] = &ct_connector_local,
    [CT_CONNECTOR_QUEUE] = &ct_connector_queue,
    [CT_CONNECTOR_COMMAND] = &ct_connector_command,
};

#define N_TYPES (sizeof(registry) / sizeof(registry[0]))

static const struct ct_connector_ops *
ops_of(enum ct_connector_type t)
{
	return (size_t)t < N_TYPES ? registry[t] : NULL;
}

unsigned
ct_connector_caps(const struct ct_connector *cn)
{
	const struct ct_connector_ops *o = ops_of(cn->type);

	return o != NULL ? o->caps : 0;
}

const char *
ct_connector_type_name(enum ct_connector_type t)
{
	const struct ct_connector_ops *o = ops_of(t);

	return o != NULL ? o->name : "?";
}

int
ct_connector_type_parse(const char *name)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (registry[i] != NULL && strcmp(registry[i]->name, name) == 0)
			return (int)i;
	return -1;
}

const char *
ct_connector_type_list(void)
{
	return "local, queue or command";
}

const char *
ct_connector_pending_why(const struct ct_connector *cn)
{
	const struct ct_connector_ops *o = ops_of(cn->type);

	return o != NULL ? o->pending_why : "the CA has not decided yet";
}

/* Run FETCH or ISSUE of RQ's connector. */
static int
run(const struct ct_cx_request *rq, int fetch, struct ct_cx_result *res, struct ct_err *err)
{
	const struct ct_connector_ops *o = ops_of(rq->target->connector->type);

	memset(res, 0, sizeof(*res));
	strcpy(res->ref, "-");
	if (o == NULL)
		return ct_err_set(err, CT_ECONFIG, "unknown CA connector type");
	if (!fetch)
		return o->issue(rq, res, err);
	return o->fetch != NULL ? o->fetch(rq, res, err) : CT_EPENDING;
}

int
ct_connector_issue(const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err)
{
	return run(rq, 0, res, err);
}

int
ct_connector_fetch(const struct ct_cx_request *rq, struct ct_cx_result *res, struct ct_err *err)
{
	return run(rq, 1, res, err);
}

void
ct_cx_result_clear(struct ct_cx_result *res)
{
	OPENSSL_free(res->der);
	res->der = NULL;
	res->der_len = 0;
}
