/* certtoken-enroll status [--json]: the user's tokens and their state, as
 * certtokend sees them (it knows the user from the kernel). */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "enroll.h"
#include "util.h"
#include "store.h"
#include "tokens.h"

struct token_info {
	char serial[CT_SERIAL_MAX], type[16], rollout[CT_ROLLOUT_MAX], desc[CT_DESC_MAX];
	char target[CT_NAME_MAX + 1], cert_serial[64], issuer[CT_ISSUER_MAX];
	long long active, failcount, locked_until, not_after;
};

static int
parse_token_info(const struct ct_field *f, struct token_info *ti, struct ct_err *err)
{
	struct ct_msg m = {0};
	const struct ct_field *g;
	int rc;

	if ((rc = ct_fields_parse(f->val, f->len, &m, err)) != CT_OK)
		return rc;
#define TEXT(tag, dst)                                                                             \
	if ((g = ct_msg_get(&m, tag)) == NULL || ct_field_text(g, dst, sizeof(dst), err) != CT_OK) \
		return ct_err_set(err, CT_EINVAL, "protocol error: token field %d", tag);
#define NUM(tag, dst)                                                                              \
	if ((g = ct_msg_get(&m, tag)) == NULL ||                                                   \
	    ct_field_num(g, 0, INT64_MAX, &dst, err) != CT_OK)                                     \
		return ct_err_set(err, CT_EINVAL, "protocol error: token field %d", tag);
	TEXT(CT_TAG_TI_SERIAL, ti->serial)
	TEXT(CT_TAG_TI_TYPE, ti->type)
	TEXT(CT_TAG_TI_ROLLOUT, ti->rollout)
	TEXT(CT_TAG_TI_DESC, ti->desc)
	TEXT(CT_TAG_TI_TARGET, ti->target)
	TEXT(CT_TAG_TI_CERT_SERIAL, ti->cert_serial)
	NUM(CT_TAG_TI_ACTIVE, ti->active)
	NUM(CT_TAG_TI_FAILCOUNT, ti->failcount)
	NUM(CT_TAG_TI_LOCKED_UNTIL, ti->locked_until)
	NUM(CT_TAG_TI_NOT_AFTER, ti->not_after)
	if ((g = ct_msg_get(&m, CT_TAG_TI_ISSUER)) != NULL &&
	    ct_field_text(g, ti->issuer, sizeof(ti->issuer), err) != CT_OK)
		return ct_err_set(err, CT_EINVAL, "protocol error: token issuer");
#undef TEXT
#undef NUM
	return CT_OK;
}

static void
print_token(const struct token_info *ti, int json, int first, time_t now)
{
	char when[32], issuer[CT_ISSUER_MAX];

	/* the service keeps it escaped; an older one may not have */
	ct_text_printable(ti->issuer, SIZE_MAX, CT_TEXT_HEX, issuer, sizeof(issuer));
	if (json) {
		printf("%s{\"serial\":", first ? " " : ",\n ");
		ct_json_string(stdout, ti->serial);
		printf(",\"type\":");
		ct_json_string(stdout, ti->type);
		printf(",\"active\":%s,\"rollout_state\":", ti->active ? "true" : "false");
		ct_json_string(stdout, ti->rollout);
		printf(",\"description\":");
		ct_json_string(stdout, ti->desc);
		printf(",\"failcount\":%lld,\"throttled_until\":%lld,\"locked_until\":%lld,"
		       "\"target\":",
		    ti->failcount, ti->locked_until, ti->locked_until);
		ct_json_string(stdout, ti->target);
		printf(",\"cert_serial\":");
		ct_json_string(stdout, ti->cert_serial);
		printf(",\"not_after\":%lld,\"issuer\":", ti->not_after);
		ct_json_string(stdout, issuer);
		putchar('}');
		return;
	}
	printf("%-22s %-11s %-8s %-8s", ti->serial, ti->type, ti->active ? "active" : "disabled",
	    ti->rollout);
	if (strcmp(ti->type, "certificate") == 0) {
		ct_time_utc(ti->not_after, CT_TIME_SPACED, when, sizeof(when));
		printf(" target %s, serial %s, %s %s", ti->target[0] ? ti->target : "-",
		    ti->cert_serial[0] ? ti->cert_serial : "-",
		    ti->not_after != 0 && ti->not_after < (long long)now ? "expired" : "expires",
		    when);
		if (issuer[0] != '\0')
			printf(", issuer \"%s\"", issuer);
	} else {
		printf(" failcount %lld", ti->failcount);
		if (ti->locked_until > (long long)now) {
			ct_time_utc(ti->locked_until, CT_TIME_SPACED, when, sizeof(when));
			printf(", throttled until %s", when);
		}
	}
	putchar('\n');
}

int
enroll_cmd_status(struct client *cl, int argc, char **argv)
{
	struct ct_msgbuf b = {0};
	struct ct_msg m = {0};
	struct token_info ti;
	time_t now = time(NULL);
	size_t i;
	int json = 0, count = 0, rc;
	const struct ct_opt opts[] = {{"json", NULL, &json}, {NULL, NULL, NULL}};

	if (ct_opts_parse(argc, argv, opts) != CT_OK)
		return enroll_usage_error("status [--json]");
	if (optind != argc)
		return enroll_usage_error("status takes no arguments besides --json");
	if ((rc = enroll_connect(cl)) != CT_OK)
		goto out;
	if ((rc = ct_msgbuf_init(&b, CT_MSG_STATUS)) != CT_OK ||
	    (rc = enroll_exchange(cl, &b, &m)) != CT_OK)
		goto out;
	for (i = 0; i < m.n; i++) {
		if (m.f[i].tag != CT_TAG_TOKEN_INFO)
			continue;
		memset(&ti, 0, sizeof(ti));
		if ((rc = parse_token_info(&m.f[i], &ti, &cl->err)) != CT_OK)
			goto out;
		if (count == 0 && json)
			printf("[\n");
		if (count == 0 && !json)
			printf("%-22s %-11s %-8s %-8s %s\n", "SERIAL", "TYPE", "STATE", "ROLLOUT",
			    "DETAILS");
		print_token(&ti, json, count == 0, now);
		count++;
	}
	if (json)
		printf(count ? "\n]\n" : "[]\n");
	else if (count == 0)
		printf("no tokens\n");
out:
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
	return rc == CT_OK ? 0 : enroll_fail(cl, rc);
}
