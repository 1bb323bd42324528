/* certtokend: status, the caller's own tokens (no secrets: serials,
 * states, certificates). */
#include "config.h"

#include <string.h>
#include <syslog.h>

#include "certtokend.h"

void
do_status(struct conn *c, const struct ct_msg *m)
{
	struct ct_user_tokens ut;
	struct ct_msgbuf b = {0}, ti;
	struct ct_err err = {0};
	const unsigned char *fields;
	unsigned char code = 0;
	size_t i, len;

	(void)m;
	if (peek_tokens(c, "status", &ut) != CT_OK)
		goto out;
	if (ct_msgbuf_init(&b, CT_MSG_RESULT) != CT_OK)
		goto out;
	ct_msgbuf_add(&b, CT_TAG_CODE, &code, 1);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "ok");
	for (i = 0; i < ut.n; i++) {
		const struct ct_token *t = &ut.tok[i];

		if (ct_msgbuf_init(&ti, 0) != CT_OK)
			break;
		ct_msgbuf_add_str(&ti, CT_TAG_TI_SERIAL, t->serial);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_TYPE, ct_token_type_name(t->type));
		ct_msgbuf_add_num(&ti, CT_TAG_TI_ACTIVE, t->active);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_ROLLOUT, t->rollout_state);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_DESC, t->description);
		ct_msgbuf_add_num(&ti, CT_TAG_TI_FAILCOUNT, t->failcount);
		ct_msgbuf_add_num(&ti, CT_TAG_TI_LOCKED_UNTIL, t->lock_until);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_TARGET, t->target);
		ct_msgbuf_add_str(&ti, CT_TAG_TI_CERT_SERIAL, t->cert_serial);
		ct_msgbuf_add_num(&ti, CT_TAG_TI_NOT_AFTER, t->not_after);
		if (t->issuer[0] != '\0')
			ct_msgbuf_add_str(&ti, CT_TAG_TI_ISSUER, t->issuer);
		fields = ct_msgbuf_fields(&ti, &len);
		if (!ti.failed)
			ct_msgbuf_add(&b, CT_TAG_TOKEN_INFO, fields, len);
		ct_msgbuf_free(&ti);
	}
	if (ct_msg_send(c->fd, &b, c->deadline, &err) != CT_OK)
		logmsg_uid(c->uid, LOG_NOTICE, "status for user %s (uid %u) not delivered: %s",
		    c->user, (unsigned)c->uid, err.msg);
out:
	ct_msgbuf_free(&b);
	ct_user_tokens_clear(&ut);
}
