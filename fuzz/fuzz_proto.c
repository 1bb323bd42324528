/* The protocol frame (length prefix, version, type) and its fields, as
 * certtokend and certtoken-enroll receive them: the input is the byte
 * stream of one connection.  A frame that parses must encode back to the
 * same bytes; its text, number and TOKEN_INFO fields are decoded too. */
#include "config.h"

#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "proto.h"

#define STREAM_MAX (CT_PROTO_FRAME_MAX + 64)

static void
fields_walk(const struct ct_msg *m, int depth)
{
	char text[CT_PROTO_TEXT_MAX];
	struct ct_err err = {0};
	struct ct_msg inner;
	long long v;
	size_t i;

	for (i = 0; i < m->n; i++) {
		(void)ct_field_text(&m->f[i], text, sizeof(text), &err);
		(void)ct_field_num(&m->f[i], 0, 1LL << 40, &v, &err);
		if (depth == 0 && m->f[i].tag == CT_TAG_TOKEN_INFO &&
		    ct_fields_parse(m->f[i].val, m->f[i].len, &inner, &err) == CT_OK)
			fields_walk(&inner, 1);
	}
}

/* M must be what a sender builds from its type and fields. */
static void
round_trip(const struct ct_msg *m)
{
	struct ct_msgbuf b;
	size_t i;

	if (ct_msgbuf_init(&b, m->type) != CT_OK)
		return;
	for (i = 0; i < m->n; i++)
		ct_msgbuf_add(&b, m->f[i].tag, m->f[i].val, m->f[i].len);
	if (!b.failed) {
		FUZZ_CHECK(b.len - 4 == m->buf_len);
		FUZZ_CHECK(memcmp(b.p + 4, m->buf, m->buf_len) == 0);
	}
	ct_msgbuf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_err err = {0};
	struct ct_msg m;
	int sv[2];

	if (size > STREAM_MAX || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	if (size > 0 && write(sv[0], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[0], SHUT_WR);
	if (ct_msg_recv(sv[1], &m, ct_now_ms() + 2000, &err) == CT_OK) {
		fields_walk(&m, 0);
		round_trip(&m);
		ct_msg_free(&m);
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
