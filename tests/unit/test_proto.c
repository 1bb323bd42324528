/* The wire protocol between certtoken-enroll and certtokend: building,
 * sending, receiving and parsing frames; limits; malformed and hostile
 * input; deadlines. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"

#define DEADLINE 5000 /* ms: generous, for tests that must not time out */

static void
sockpair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
closepair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

static void
write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		assert_true(w > 0);
		c += w;
		n -= (size_t)w;
	}
}

static void
put_be32(unsigned char *p, uint32_t n)
{
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}

/* Bytes waiting on FD right now (0 if none), without blocking. */
static size_t
pending(int fd, unsigned char *buf, size_t bufsz)
{
	ssize_t r = recv(fd, buf, bufsz, MSG_DONTWAIT);

	if (r < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return 0;
	}
	return (size_t)r;
}

/* Send B from a child process and receive it here into M: the child keeps
 * writing while this side reads, so no message size depends on the socket
 * buffer. */
static void
transfer(struct ct_msgbuf *b, struct ct_msg *m)
{
	struct ct_err err = {0};
	int sv[2], status, rc;
	pid_t pid;

	sockpair(sv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		rc = ct_msg_send(sv[1], b, ct_now_ms() + DEADLINE, &err);
		if (rc != CT_OK)
			fprintf(stderr, "# child: ct_msg_send: %d %s\n", rc, err.msg);
		_exit(rc == CT_OK ? 0 : 1);
	}
	close(sv[1]);
	sv[1] = -1;
	rc = ct_msg_recv(sv[0], m, ct_now_ms() + DEADLINE, &err);
	if (rc != CT_OK)
		fprintf(stderr, "# ct_msg_recv: %d %s\n", rc, err.msg);
	assert_int_equal(rc, CT_OK);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	closepair(sv);
}

/* Write the raw bytes FRAME (N of them) to a fresh socket pair, close the
 * writing end if CLOSE_AFTER, and receive from the other end into M.  The
 * ends are left in *RFD and *WFD (-1 once closed) for the caller to close. */
static int
recv_raw(const void *frame, size_t n, int close_after, int64_t deadline_ms, struct ct_msg *m,
    struct ct_err *err, int *rfd, int *wfd)
{
	int sv[2], rc;

	sockpair(sv);
	if (n > 0)
		write_all(sv[1], frame, n);
	if (close_after) {
		close(sv[1]);
		sv[1] = -1;
	}
	ct_err_clear(err);
	rc = ct_msg_recv(sv[0], m, deadline_ms, err);
	*rfd = sv[0];
	*wfd = sv[1];
	return rc;
}

static void
assert_msg_zero(const struct ct_msg *m)
{
	struct ct_msg zero;

	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(m, &zero, sizeof(zero));
}

static struct ct_field
text_field(const char *s, size_t len)
{
	struct ct_field f;

	f.tag = CT_TAG_MESSAGE;
	f.len = (uint16_t)len;
	f.val = (const unsigned char *)s;
	return f;
}

/* The exact bytes on the wire for a small message. */
static void
test_wire_format(void **state)
{
	static const unsigned char want[] = {0, 0, 0, 12, CT_PROTO_VERSION, CT_MSG_ENROLL,
	    CT_TAG_TARGET, 0, 2, 'a', 'b', CT_TAG_CSR, 0, 2, 0x30, 0x00};
	static const unsigned char csr[] = {0x30, 0x00};
	unsigned char got[64];
	struct ct_err err = {0};
	struct ct_msgbuf b;
	int sv[2];

	sockpair(sv);
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_ENROLL), CT_OK);
	ct_msgbuf_add_str(&b, CT_TAG_TARGET, "ab");
	ct_msgbuf_add(&b, CT_TAG_CSR, csr, sizeof(csr));
	assert_int_equal(b.failed, 0);
	assert_int_equal(b.fields, 2);
	assert_int_equal(ct_msg_send(sv[0], &b, ct_now_ms() + DEADLINE, &err), CT_OK);
	assert_int_equal(pending(sv[1], got, sizeof(got)), sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	ct_msgbuf_free(&b);

	/* a message without fields is just version and type */
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_STATUS), CT_OK);
	assert_int_equal(ct_msg_send(sv[0], &b, ct_now_ms() + DEADLINE, &err), CT_OK);
	assert_int_equal(pending(sv[1], got, sizeof(got)), 6);
	assert_memory_equal(got, "\0\0\0\2\1\2", 6);
	ct_msgbuf_free(&b);
	closepair(sv);
}

static void
test_round_trip(void **state)
{
	unsigned char cert[300], code = 3;
	char text[CT_PROTO_TEXT_MAX];
	struct ct_err err = {0};
	const struct ct_field *f;
	struct ct_msgbuf b;
	struct ct_msg m;
	long long v;
	size_t i;

	for (i = 0; i < sizeof(cert); i++)
		cert[i] = (unsigned char)(i * 7 + 1);
	cert[0] = 0;
	cert[1] = 0xff;
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	ct_msgbuf_add(&b, CT_TAG_CODE, &code, 1);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "enrolled\tok");
	ct_msgbuf_add_str(&b, CT_TAG_TARGET, "vpn");
	ct_msgbuf_add(&b, CT_TAG_CERT, cert, sizeof(cert));
	ct_msgbuf_add_str(&b, CT_TAG_TOKEN, "");
	ct_msgbuf_add_num(&b, CT_TAG_TI_FAILCOUNT, 42);
	ct_msgbuf_add_num(&b, CT_TAG_TI_LOCKED_UNTIL, -17);
	ct_msgbuf_add_num(&b, CT_TAG_TI_ROLLOUT, LLONG_MIN);
	ct_msgbuf_add_num(&b, CT_TAG_TI_NOT_AFTER, LLONG_MAX);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "second");
	ct_msgbuf_add(&b, CT_TAG_CSR, NULL, 0);
	assert_int_equal(b.failed, 0);
	assert_int_equal(b.fields, 11);

	transfer(&b, &m);
	ct_msgbuf_free(&b);
	assert_int_equal(m.type, CT_MSG_RESULT);
	assert_int_equal(m.n, 11);
	assert_non_null(m.buf);
	assert_int_equal(m.buf_len, 2 + 11 * 3 + 1 + 11 + 3 + 300 + 0 + 2 + 3 + 20 + 19 + 6 + 0);

	assert_int_equal(m.f[0].tag, CT_TAG_CODE);
	assert_int_equal(m.f[0].len, 1);
	assert_int_equal(m.f[0].val[0], 3);
	assert_int_equal(m.f[1].tag, CT_TAG_MESSAGE);
	assert_int_equal(m.f[1].len, 11);
	assert_memory_equal(m.f[1].val, "enrolled\tok", 11);
	assert_int_equal(m.f[2].tag, CT_TAG_TARGET);
	assert_int_equal(m.f[2].len, 3);
	assert_memory_equal(m.f[2].val, "vpn", 3);
	assert_int_equal(m.f[3].tag, CT_TAG_CERT);
	assert_int_equal(m.f[3].len, sizeof(cert));
	assert_memory_equal(m.f[3].val, cert, sizeof(cert));
	assert_int_equal(m.f[4].tag, CT_TAG_TOKEN);
	assert_int_equal(m.f[4].len, 0);
	assert_int_equal(m.f[5].tag, CT_TAG_TI_FAILCOUNT);
	assert_int_equal(m.f[5].len, 2);
	assert_memory_equal(m.f[5].val, "42", 2);
	assert_int_equal(m.f[6].tag, CT_TAG_TI_LOCKED_UNTIL);
	assert_memory_equal(m.f[6].val, "-17", 3);
	assert_int_equal(m.f[7].len, 20);
	assert_int_equal(m.f[8].len, 19);
	assert_int_equal(m.f[9].tag, CT_TAG_MESSAGE);
	assert_int_equal(m.f[10].tag, CT_TAG_CSR);
	assert_int_equal(m.f[10].len, 0);
	/* every field points into the received buffer, in order */
	for (i = 0; i < m.n; i++) {
		assert_true(m.f[i].val >= m.buf);
		assert_true(m.f[i].val + m.f[i].len <= m.buf + m.buf_len);
		if (i > 0)
			assert_true(m.f[i].val > m.f[i - 1].val);
	}

	/* ct_msg_get: the first field with the tag, NULL when absent */
	assert_ptr_equal(ct_msg_get(&m, CT_TAG_MESSAGE), &m.f[1]);
	assert_ptr_equal(ct_msg_get(&m, CT_TAG_CSR), &m.f[10]);
	assert_null(ct_msg_get(&m, CT_TAG_PROMPT));
	assert_null(ct_msg_get(&m, CT_TAG_TOKEN_INFO));

	/* text */
	assert_non_null(f = ct_msg_get(&m, CT_TAG_MESSAGE));
	assert_int_equal(ct_field_text(f, text, sizeof(text), &err), CT_OK);
	assert_string_equal(text, "enrolled\tok");
	assert_int_equal(ct_field_text(&m.f[4], text, sizeof(text), &err), CT_OK);
	assert_string_equal(text, "");
	ct_err_clear(&err);
	assert_int_equal(ct_field_text(&m.f[3], text, sizeof(text), &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "control character"));

	/* numbers */
	assert_int_equal(ct_field_num(&m.f[5], 0, 100, &v, &err), CT_OK);
	assert_int_equal(v, 42);
	assert_int_equal(ct_field_num(&m.f[6], -20, 0, &v, &err), CT_OK);
	assert_int_equal(v, -17);
	assert_int_equal(ct_field_num(&m.f[7], LLONG_MIN, LLONG_MAX, &v, &err), CT_OK);
	assert_true(v == LLONG_MIN);
	assert_int_equal(ct_field_num(&m.f[8], LLONG_MIN, LLONG_MAX, &v, &err), CT_OK);
	assert_true(v == LLONG_MAX);
	ct_err_clear(&err);
	assert_int_equal(ct_field_num(&m.f[5], 0, 41, &v, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "bad number"));
	assert_int_equal(ct_field_num(&m.f[4], 0, 100, &v, &err), CT_EINVAL); /* "" */
	assert_int_equal(ct_field_num(&m.f[2], 0, 100, &v, &err), CT_EINVAL); /* "vpn" */

	ct_msg_free(&m);
	assert_msg_zero(&m);
}

static void
test_field_num(void **state)
{
	static const struct {
		const char *s;
		long long min, max;
	} bad[] = {
	    {"", 0, 100}, {"-", -100, 100}, {"12x", 0, 100}, {"x12", 0, 100}, {" 12", 0, 100},
	    {"12 ", 0, 100}, {"+12", 0, 100}, {"--1", -100, 100}, {"- 1", -100, 100},
	    {"0x10", 0, 100}, {"1e3", 0, 10000}, {"1.5", 0, 100}, {"1\t", 0, 100}, {"\t1", 0, 100},
	    {"101", 0, 100}, {"-1", 0, 100}, {"-101", -100, 100},
	    {"9223372036854775808", LLONG_MIN, LLONG_MAX},
	    {"-9223372036854775809", LLONG_MIN, LLONG_MAX},
	    {"99999999999999999999999", LLONG_MIN, LLONG_MAX},
	    {"000000000000000000000001", 0, 100}, /* 24 digits: longer than any number */
	};
	static const struct {
		const char *s;
		long long min, max, want;
	} good[] = {
	    {"0", 0, 0, 0}, {"-0", 0, 0, 0}, {"7", 7, 7, 7}, {"007", 0, 100, 7},
	    {"100", 0, 100, 100}, {"-100", -100, 100, -100},
	    {"1700000000", 0, LLONG_MAX, 1700000000},
	    {"9223372036854775807", LLONG_MIN, LLONG_MAX, LLONG_MAX},
	    {"-9223372036854775808", LLONG_MIN, LLONG_MAX, LLONG_MIN},
	    {"00000000000000000000001", 0, 100, 1}, /* 23 digits still fit */
	};
	struct ct_err err = {0};
	struct ct_field f;
	long long v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f = text_field(good[i].s, strlen(good[i].s));
		v = 12345;
		ct_err_clear(&err);
		if (ct_field_num(&f, good[i].min, good[i].max, &v, &err) != CT_OK)
			fail_msg("\"%s\" refused: %s", good[i].s, err.msg);
		if (v != good[i].want)
			fail_msg("\"%s\" gave %lld", good[i].s, v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = text_field(bad[i].s, strlen(bad[i].s));
		v = 12345;
		ct_err_clear(&err);
		if (ct_field_num(&f, bad[i].min, bad[i].max, &v, &err) != CT_EINVAL)
			fail_msg("\"%s\" accepted as %lld", bad[i].s, v);
		if (v != 12345)
			fail_msg("\"%s\" changed the output on failure", bad[i].s);
		assert_non_null(strstr(err.msg, "bad number"));
	}
	/* a NUL inside the field is not the end of the number */
	f = text_field("12\0003", 4);
	assert_int_equal(ct_field_num(&f, 0, 100000, &v, &err), CT_EINVAL);
	f = text_field("12\000", 3);
	assert_int_equal(ct_field_num(&f, 0, 100, &v, &err), CT_EINVAL);
}

static void
test_field_text(void **state)
{
	static const char *refused[] = {
	    "\x1b[31mred", "a\rb", "\x01", "bell\a", "del\x7f", "\x1f", "\v", "\f"};
	char out[32];
	struct ct_err err = {0};
	struct ct_field f;
	size_t i;

	/* tab and newline are accepted, as are bytes above 0x7f (UTF-8) */
	f = text_field("a\tb\nc \xc3\xa9~", 9);
	assert_int_equal(ct_field_text(&f, out, sizeof(out), &err), CT_OK);
	assert_string_equal(out, "a\tb\nc \xc3\xa9~");

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		f = text_field(refused[i], strlen(refused[i]));
		memset(out, 'Z', sizeof(out));
		ct_err_clear(&err);
		if (ct_field_text(&f, out, sizeof(out), &err) != CT_EINVAL)
			fail_msg("text %zu accepted", i);
		assert_non_null(strstr(err.msg, "control character"));
		assert_int_equal(out[0], 'Z'); /* nothing copied */
	}
	/* an embedded or trailing NUL */
	f = text_field("a\0b", 3);
	ct_err_clear(&err);
	assert_int_equal(ct_field_text(&f, out, sizeof(out), &err), CT_EINVAL);
	f = text_field("ab\0", 3);
	assert_int_equal(ct_field_text(&f, out, sizeof(out), &err), CT_EINVAL);
	f = text_field("\0", 1);
	assert_int_equal(ct_field_text(&f, out, sizeof(out), &err), CT_EINVAL);

	/* size boundary: LEN == OUTSZ - 1 fits, LEN == OUTSZ does not */
	f = text_field("1234567", 7);
	memset(out, 'Z', sizeof(out));
	assert_int_equal(ct_field_text(&f, out, 8, &err), CT_OK);
	assert_string_equal(out, "1234567");
	assert_int_equal(out[8], 'Z'); /* nothing written past OUTSZ */
	memset(out, 'Z', sizeof(out));
	ct_err_clear(&err);
	assert_int_equal(ct_field_text(&f, out, 7, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "longer than 6 bytes"));
	assert_int_equal(out[0], 'Z');
	assert_int_equal(out[6], 'Z');
	assert_int_equal(ct_field_text(&f, out, 1, &err), CT_EINVAL);
	/* the empty text needs one byte; no byte at all is refused */
	f = text_field("", 0);
	assert_int_equal(ct_field_text(&f, out, 1, &err), CT_OK);
	assert_string_equal(out, "");
	out[0] = 'Z';
	assert_int_equal(ct_field_text(&f, out, 0, &err), CT_EINVAL);
	assert_int_equal(out[0], 'Z');
}

/* TOKEN_INFO: a field list carried as the value of a field. */
static void
test_nested_token_info(void **state)
{
	char text[CT_PROTO_TEXT_MAX];
	struct ct_msgbuf b, ti, ti2;
	struct ct_err err = {0};
	const unsigned char *fl, *fl2;
	const struct ct_field *f;
	struct ct_msg m, inner;
	size_t flen, flen2, i;
	long long v;

	assert_int_equal(ct_msgbuf_init(&ti, 0), CT_OK);
	fl = ct_msgbuf_fields(&ti, &flen);
	assert_int_equal(flen, 0); /* nothing yet */
	ct_msgbuf_add_str(&ti, CT_TAG_TI_SERIAL, "TOTP0001");
	ct_msgbuf_add_str(&ti, CT_TAG_TI_TYPE, "totp");
	ct_msgbuf_add_num(&ti, CT_TAG_TI_ACTIVE, 1);
	ct_msgbuf_add_num(&ti, CT_TAG_TI_FAILCOUNT, 3);
	ct_msgbuf_add_num(&ti, CT_TAG_TI_LOCKED_UNTIL, 1700000000);
	ct_msgbuf_add_str(&ti, CT_TAG_TI_DESC, "phone");
	ct_msgbuf_add_str(&ti, CT_TAG_TI_TARGET, "vpn");
	assert_int_equal(ti.failed, 0);
	fl = ct_msgbuf_fields(&ti, &flen);
	assert_int_equal(flen, 7 * 3 + 8 + 4 + 1 + 1 + 10 + 5 + 3);
	assert_int_equal(flen, ti.len - 4 - CT_PROTO_MIN);
	assert_int_equal(fl[0], CT_TAG_TI_SERIAL);
	assert_int_equal(fl[1], 0);
	assert_int_equal(fl[2], 8);
	assert_memory_equal(fl + 3, "TOTP0001", 8);

	assert_int_equal(ct_msgbuf_init(&ti2, 0), CT_OK);
	ct_msgbuf_add_str(&ti2, CT_TAG_TI_SERIAL, "HOTP0002");
	ct_msgbuf_add_num(&ti2, CT_TAG_TI_ACTIVE, 0);
	fl2 = ct_msgbuf_fields(&ti2, &flen2);

	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	ct_msgbuf_add(&b, CT_TAG_CODE, "\0", 1);
	ct_msgbuf_add(&b, CT_TAG_TOKEN_INFO, fl, flen);
	ct_msgbuf_add(&b, CT_TAG_TOKEN_INFO, fl2, flen2);
	assert_int_equal(b.failed, 0);
	transfer(&b, &m);
	ct_msgbuf_free(&b);
	ct_msgbuf_free(&ti2);

	assert_int_equal(m.n, 3);
	assert_non_null(f = ct_msg_get(&m, CT_TAG_TOKEN_INFO));
	assert_ptr_equal(f, &m.f[1]);
	assert_int_equal(f->len, flen);
	assert_memory_equal(f->val, fl, flen);
	ct_msgbuf_free(&ti);

	memset(&inner, 0, sizeof(inner));
	assert_int_equal(ct_fields_parse(f->val, f->len, &inner, &err), CT_OK);
	assert_int_equal(inner.type, 0);
	assert_int_equal(inner.n, 7);
	for (i = 0; i < inner.n; i++) {
		assert_true(inner.f[i].val >= f->val);
		assert_true(inner.f[i].val + inner.f[i].len <= f->val + f->len);
	}
	assert_int_equal(inner.f[0].tag, CT_TAG_TI_SERIAL);
	assert_int_equal(
	    ct_field_text(ct_msg_get(&inner, CT_TAG_TI_SERIAL), text, sizeof(text), &err), CT_OK);
	assert_string_equal(text, "TOTP0001");
	assert_int_equal(
	    ct_field_text(ct_msg_get(&inner, CT_TAG_TI_DESC), text, sizeof(text), &err), CT_OK);
	assert_string_equal(text, "phone");
	assert_int_equal(
	    ct_field_num(ct_msg_get(&inner, CT_TAG_TI_FAILCOUNT), 0, 1000, &v, &err), CT_OK);
	assert_int_equal(v, 3);
	assert_int_equal(
	    ct_field_num(ct_msg_get(&inner, CT_TAG_TI_LOCKED_UNTIL), 0, LLONG_MAX, &v, &err),
	    CT_OK);
	assert_int_equal(v, 1700000000);
	assert_null(ct_msg_get(&inner, CT_TAG_TI_CERT_SERIAL));

	/* the second token */
	assert_int_equal(m.f[2].tag, CT_TAG_TOKEN_INFO);
	assert_int_equal(ct_fields_parse(m.f[2].val, m.f[2].len, &inner, &err), CT_OK);
	assert_int_equal(inner.n, 2);
	assert_int_equal(inner.f[0].len, 8);
	assert_memory_equal(inner.f[0].val, "HOTP0002", 8);
	assert_int_equal(ct_field_num(&inner.f[1], 0, 1, &v, &err), CT_OK);
	assert_int_equal(v, 0);

	/* the empty field list parses to no fields */
	assert_int_equal(ct_fields_parse(m.f[2].val, 0, &inner, &err), CT_OK);
	assert_int_equal(inner.n, 0);
	/* a nested list that is cut short is malformed */
	ct_err_clear(&err);
	assert_int_equal(ct_fields_parse(m.f[2].val, m.f[2].len - 1, &inner, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "runs past the end"));
	ct_msg_free(&m);
}

/* ct_fields_parse gives a message of type 0 (proto.h), whatever M held. */
static void
test_fields_parse_type_zero(void **state)
{
	static const unsigned char list[] = {CT_TAG_TI_SERIAL, 0, 1, 'x'};
	struct ct_err err = {0};
	struct ct_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CT_MSG_RESULT; /* as left by an earlier ct_msg_parse */
	assert_int_equal(ct_fields_parse(list, sizeof(list), &m, &err), CT_OK);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.type, 0);
}

static void
test_frame_too_large(void **state)
{
	unsigned char *big, tmp[16];
	struct ct_err err = {0};
	struct ct_msgbuf b;
	struct ct_msg m;
	int sv[2];

	assert_non_null(big = calloc(1, 65536));
	sockpair(sv);

	/* grows past the frame limit over several fields */
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	ct_msgbuf_add(&b, CT_TAG_CERT, big, 40000);
	assert_int_equal(b.failed, 0);
	ct_msgbuf_add(&b, CT_TAG_CERT, big, 30000);
	assert_int_equal(b.failed, 1);
	assert_int_equal(b.fields, 1);
	/* the failure sticks, even for a field that would fit */
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "x");
	assert_int_equal(b.failed, 1);
	assert_int_equal(ct_msg_send(sv[0], &b, ct_now_ms() + DEADLINE, &err), CT_EINVAL);
	assert_non_null(strstr(err.msg, "too large"));
	assert_int_equal(pending(sv[1], tmp, sizeof(tmp)), 0); /* nothing written */
	ct_msgbuf_free(&b);

	/* a single field longer than a length can say */
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	ct_msgbuf_add(&b, CT_TAG_CERT, big, 65536);
	assert_int_equal(b.failed, 1);
	ct_err_clear(&err);
	assert_int_equal(ct_msg_send(sv[0], &b, ct_now_ms() + DEADLINE, &err), CT_EINVAL);
	assert_int_equal(pending(sv[1], tmp, sizeof(tmp)), 0);
	ct_msgbuf_free(&b);

	/* a field of 65535 bytes (the longest a length can say) never fits a
	 * frame: version, type and field header take 5 of its 65536 bytes */
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	ct_msgbuf_add(&b, CT_TAG_CERT, big, 65535);
	assert_int_equal(b.failed, 1);
	ct_msgbuf_free(&b);
	/* one byte over the frame limit */
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	ct_msgbuf_add(&b, CT_TAG_CERT, big, CT_PROTO_FRAME_MAX - CT_PROTO_MIN - 3 + 1);
	assert_int_equal(b.failed, 1);
	ct_msgbuf_free(&b);

	/* exactly at the frame limit: accepted both ways */
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	big[0] = 0xaa;
	big[65530] = 0x55;
	ct_msgbuf_add(&b, CT_TAG_CERT, big, CT_PROTO_FRAME_MAX - CT_PROTO_MIN - 3);
	assert_int_equal(b.failed, 0);
	transfer(&b, &m);
	assert_int_equal(m.buf_len, CT_PROTO_FRAME_MAX);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.f[0].len, 65531);
	assert_memory_equal(m.f[0].val, big, 65531);
	ct_msg_free(&m);
	ct_msgbuf_free(&b);

	/* several fields filling the frame exactly */
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	ct_msgbuf_add(&b, CT_TAG_CERT, big, 40000);
	ct_msgbuf_add(&b, CT_TAG_CERT, big + 40000, 65534 - 40003 - 3);
	assert_int_equal(b.failed, 0);
	transfer(&b, &m);
	assert_int_equal(m.buf_len, CT_PROTO_FRAME_MAX);
	assert_int_equal(m.n, 2);
	assert_memory_equal(m.f[1].val, big + 40000, 65534 - 40003 - 3);
	ct_msg_free(&m);
	ct_msgbuf_free(&b);

	closepair(sv);
	free(big);
}

/* A field list (the value of TOKEN_INFO) has no frame header, so one field
 * of 65535 bytes is a valid list. */
static void
test_field_65535(void **state)
{
	struct ct_err err = {0};
	unsigned char *list;
	struct ct_msg m;

	assert_non_null(list = malloc(3 + 65535));
	list[0] = CT_TAG_TI_DESC;
	list[1] = 0xff;
	list[2] = 0xff;
	memset(list + 3, 'd', 65535);
	memset(&m, 0, sizeof(m));
	assert_int_equal(ct_fields_parse(list, 3 + 65535, &m, &err), CT_OK);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.f[0].len, 65535);
	assert_ptr_equal(m.f[0].val, list + 3);
	ct_err_clear(&err);
	assert_int_equal(ct_fields_parse(list, 3 + 65534, &m, &err), CT_EINVAL);
	free(list);
}

static void
test_fields_max(void **state)
{
	struct ct_err err = {0};
	unsigned char tmp[16];
	struct ct_msgbuf b;
	struct ct_msg m;
	int sv[2];
	size_t i;

	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_CONV), CT_OK);
	for (i = 0; i < CT_PROTO_FIELDS_MAX; i++)
		ct_msgbuf_add_num(&b, (uint8_t)(i + 1), (long long)i);
	assert_int_equal(b.failed, 0);
	assert_int_equal(b.fields, CT_PROTO_FIELDS_MAX);
	transfer(&b, &m);
	assert_int_equal(m.n, CT_PROTO_FIELDS_MAX);
	assert_int_equal(m.f[63].tag, 64);
	assert_memory_equal(m.f[63].val, "63", 2);
	ct_msg_free(&m);

	/* one more */
	ct_msgbuf_add_str(&b, CT_TAG_PROMPT, "");
	assert_int_equal(b.failed, 1);
	assert_int_equal(b.fields, CT_PROTO_FIELDS_MAX);
	sockpair(sv);
	assert_int_equal(ct_msg_send(sv[0], &b, ct_now_ms() + DEADLINE, &err), CT_EINVAL);
	assert_int_equal(pending(sv[1], tmp, sizeof(tmp)), 0);
	closepair(sv);
	ct_msgbuf_free(&b);
}

/* Growing past the first 1024 bytes (and several doublings) keeps every
 * byte already written. */
static void
test_growth(void **state)
{
	unsigned char val[200];
	struct ct_err err = {0};
	struct ct_msgbuf b;
	struct ct_msg m;
	size_t i, j, k, caps = 0, lastcap;

	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	assert_int_equal(b.cap, 1024);
	lastcap = b.cap;
	for (i = 0; i < 60; i++) {
		for (j = 0; j < sizeof(val); j++)
			val[j] = (unsigned char)(i * 31 + j);
		ct_msgbuf_add(&b, (uint8_t)i, val, sizeof(val));
		assert_int_equal(b.failed, 0);
		assert_true(b.len <= b.cap);
		if (b.cap != lastcap) {
			caps++;
			lastcap = b.cap;
		}
		/* the whole message so far is intact */
		memset(&m, 0, sizeof(m));
		assert_int_equal(ct_msg_parse(b.p + 4, b.len - 4, &m, &err), CT_OK);
		assert_int_equal(m.type, CT_MSG_RESULT);
		assert_int_equal(m.n, i + 1);
		for (k = 0; k <= i; k++) {
			assert_int_equal(m.f[k].tag, k);
			assert_int_equal(m.f[k].len, sizeof(val));
			for (j = 0; j < sizeof(val); j++)
				if (m.f[k].val[j] != (unsigned char)(k * 31 + j))
					fail_msg("field %zu byte %zu lost after growth", k, j);
		}
	}
	assert_true(b.cap >= 16384);
	assert_true(caps >= 4);
	transfer(&b, &m);
	assert_int_equal(m.n, 60);
	for (k = 0; k < 60; k++)
		assert_int_equal(m.f[k].val[199], (unsigned char)(k * 31 + 199));
	ct_msg_free(&m);
	ct_msgbuf_free(&b);
}

/* A bad length prefix is refused at once: the rest is neither read nor
 * waited for (the writer stays open, so waiting would time out). */
static void
test_bad_length(void **state)
{
	static const uint32_t lens[] = {0, 1, 65537, 0x80000000u, 0xffffffffu};
	unsigned char frame[8], rest[16];
	struct ct_err err = {0};
	struct ct_msg m;
	int64_t start;
	int rfd, wfd;
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		put_be32(frame, lens[i]);
		memcpy(frame + 4, "\1\2ZZ", 4);
		start = ct_now_ms();
		memset(&m, 0xa5, sizeof(m));
		if (recv_raw(frame, 8, 0, start + 3000, &m, &err, &rfd, &wfd) != CT_EINVAL)
			fail_msg("length %u: %s", (unsigned)lens[i], err.msg);
		assert_true(ct_now_ms() - start < 1000);
		assert_non_null(strstr(err.msg, "frame length"));
		assert_msg_zero(&m);
		/* the 4 bytes after the prefix are still unread */
		assert_int_equal(pending(rfd, rest, sizeof(rest)), 4);
		assert_memory_equal(rest, "\1\2ZZ", 4);
		close(rfd);
		close(wfd);
	}
}

static void
test_malformed_frames(void **state)
{
	unsigned char frame[4 + 2 + 65 * 3 + 8];
	struct ct_err err = {0};
	struct ct_msg m;
	int rfd, wfd;
	size_t i;

	/* the smallest frame: version and type, no fields */
	memcpy(frame, "\0\0\0\2\1\x82", 6);
	assert_int_equal(
	    recv_raw(frame, 6, 1, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_OK);
	assert_int_equal(m.type, CT_MSG_RESULT);
	assert_int_equal(m.n, 0);
	ct_msg_free(&m);
	close(rfd);

	/* wrong version, then version 0 */
	memcpy(frame, "\0\0\0\5\2\x82\6\0\0", 9);
	assert_int_equal(
	    recv_raw(frame, 9, 0, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EINVAL);
	assert_non_null(strstr(err.msg, "version"));
	assert_msg_zero(&m);
	close(rfd);
	close(wfd);
	frame[4] = 0;
	assert_int_equal(
	    recv_raw(frame, 9, 0, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EINVAL);
	assert_non_null(strstr(err.msg, "version"));
	close(rfd);
	close(wfd);

	/* a field header cut short: 1 and 2 bytes of it */
	memcpy(frame, "\0\0\0\3\1\x82\6", 7);
	assert_int_equal(
	    recv_raw(frame, 7, 0, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EINVAL);
	assert_non_null(strstr(err.msg, "truncated field header"));
	close(rfd);
	close(wfd);
	memcpy(frame, "\0\0\0\10\1\x82\6\0\1x\6\0", 12);
	assert_int_equal(
	    recv_raw(frame, 12, 0, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EINVAL);
	assert_non_null(strstr(err.msg, "truncated field header"));
	assert_msg_zero(&m);
	close(rfd);
	close(wfd);

	/* a field length running past the end, by one byte and by a lot */
	memcpy(frame, "\0\0\0\7\1\x82\6\0\3ab", 11);
	assert_int_equal(
	    recv_raw(frame, 11, 0, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EINVAL);
	assert_non_null(strstr(err.msg, "runs past the end"));
	close(rfd);
	close(wfd);
	memcpy(frame,
	    "\0\0\0\7\1\x82\6\xff\xff"
	    "ab",
	    11);
	assert_int_equal(
	    recv_raw(frame, 11, 0, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EINVAL);
	assert_non_null(strstr(err.msg, "runs past the end"));
	close(rfd);
	close(wfd);

	/* 64 empty fields are fine, 65 are not */
	memcpy(frame + 4, "\1\x82", 2);
	for (i = 0; i < 65; i++)
		memcpy(frame + 6 + 3 * i, "\x06\0\0", 3);
	put_be32(frame, 2 + 64 * 3);
	assert_int_equal(
	    recv_raw(frame, 4 + 2 + 64 * 3, 0, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd),
	    CT_OK);
	assert_int_equal(m.n, 64);
	ct_msg_free(&m);
	close(rfd);
	close(wfd);
	put_be32(frame, 2 + 65 * 3);
	assert_int_equal(
	    recv_raw(frame, 4 + 2 + 65 * 3, 0, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd),
	    CT_EINVAL);
	assert_non_null(strstr(err.msg, "more than 64 fields"));
	assert_msg_zero(&m);
	close(rfd);
	close(wfd);
}

static void
test_truncated_and_eof(void **state)
{
	unsigned char frame[14];
	struct ct_err err = {0};
	struct ct_msg m;
	int64_t start, elapsed;
	int rfd, wfd;

	/* the length says 100, 10 bytes come, then the peer closes */
	put_be32(frame, 100);
	memcpy(frame + 4,
	    "\1\x82\6\0\x5f"
	    "abcde",
	    10);
	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(
	    recv_raw(frame, 14, 1, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EIO);
	assert_non_null(strstr(err.msg, "connection closed"));
	assert_msg_zero(&m);
	close(rfd);

	/* end of stream before anything, and inside the length prefix */
	assert_int_equal(
	    recv_raw(NULL, 0, 1, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EIO);
	assert_string_equal(err.msg, "connection closed");
	close(rfd);
	assert_int_equal(
	    recv_raw(frame, 2, 1, ct_now_ms() + DEADLINE, &m, &err, &rfd, &wfd), CT_EIO);
	assert_non_null(strstr(err.msg, "connection closed"));
	close(rfd);

	/* nothing at all: the deadline ends the wait */
	start = ct_now_ms();
	assert_int_equal(recv_raw(NULL, 0, 0, start + 100, &m, &err, &rfd, &wfd), CT_EUNAVAIL);
	elapsed = ct_now_ms() - start;
	assert_true(elapsed >= 90);
	assert_true(elapsed < 2000);
	assert_non_null(strstr(err.msg, "timed out"));
	close(rfd);
	close(wfd);

	/* a frame that stalls half way: the same deadline covers all of it */
	start = ct_now_ms();
	assert_int_equal(recv_raw(frame, 14, 0, start + 100, &m, &err, &rfd, &wfd), CT_EUNAVAIL);
	elapsed = ct_now_ms() - start;
	assert_true(elapsed >= 90);
	assert_true(elapsed < 2000);
	assert_msg_zero(&m);
	close(rfd);
	close(wfd);

	/* a deadline already past still times out rather than blocking */
	start = ct_now_ms();
	assert_int_equal(recv_raw(NULL, 0, 0, start - 1, &m, &err, &rfd, &wfd), CT_EUNAVAIL);
	assert_true(ct_now_ms() - start < 1000);
	close(rfd);
	close(wfd);
}

static void
test_send_peer_closed(void **state)
{
	struct ct_err err = {0};
	struct ct_msgbuf b;
	int sv[2];

	sockpair(sv);
	close(sv[1]);
	sv[1] = -1;
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_STATUS), CT_OK);
	ct_msgbuf_add_str(&b, CT_TAG_TARGET, "vpn");
	/* a SIGPIPE would end this process here */
	assert_int_equal(ct_msg_send(sv[0], &b, ct_now_ms() + DEADLINE, &err), CT_EIO);
	assert_non_null(strstr(err.msg, "send"));
	ct_msgbuf_free(&b);
	closepair(sv);
}

/* The peer never reads: the socket buffer fills and the send gives up at
 * its deadline. */
static void
test_send_stalls(void **state)
{
	struct ct_err err = {0};
	unsigned char *val;
	struct ct_msgbuf b;
	int64_t start = 0, elapsed;
	int sv[2], sz = 4096, rc = CT_OK, i;

	sockpair(sv);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	assert_non_null(val = calloc(1, 60000));
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_RESULT), CT_OK);
	ct_msgbuf_add(&b, CT_TAG_CERT, val, 60000);
	assert_int_equal(b.failed, 0);
	for (i = 0; i < 100 && rc == CT_OK; i++) {
		start = ct_now_ms();
		ct_err_clear(&err);
		rc = ct_msg_send(sv[0], &b, start + 150, &err);
	}
	elapsed = ct_now_ms() - start;
	assert_int_equal(rc, CT_EUNAVAIL);
	assert_non_null(strstr(err.msg, "timed out"));
	assert_true(elapsed >= 140);
	assert_true(elapsed < 2000);
	ct_msgbuf_free(&b);
	free(val);
	closepair(sv);
}

static void
test_free_zeroes(void **state)
{
	static const unsigned char frame[] = {
	    CT_PROTO_VERSION, CT_MSG_CONV, CT_TAG_PROMPT, 0, 2, 1, 'x'};
	struct ct_err err = {0};
	struct ct_msgbuf b, zb;
	struct ct_msg m;
	int sv[2];

	memset(&zb, 0, sizeof(zb));
	assert_int_equal(ct_msgbuf_init(&b, CT_MSG_CONV), CT_OK);
	ct_msgbuf_add_str(&b, CT_TAG_PROMPT, "\1Password: ");
	transfer(&b, &m);
	assert_non_null(m.buf);
	assert_int_equal(m.n, 1);
	ct_msg_free(&m);
	assert_msg_zero(&m);
	ct_msg_free(&m); /* twice is harmless */
	assert_msg_zero(&m);

	ct_msgbuf_free(&b);
	assert_memory_equal(&b, &zb, sizeof(b));
	ct_msgbuf_free(&b);
	assert_memory_equal(&b, &zb, sizeof(b));
	/* a freed builder refuses to grow or be sent */
	ct_msgbuf_add_str(&b, CT_TAG_PROMPT, "x");
	assert_int_equal(b.failed, 1);
	assert_null(b.p);
	sockpair(sv);
	assert_int_equal(ct_msg_send(sv[0], &b, ct_now_ms() + DEADLINE, &err), CT_EINVAL);
	closepair(sv);
	ct_msgbuf_free(&b);
	assert_memory_equal(&b, &zb, sizeof(b));

	/* a parsed (not received) message owns nothing: freeing it only zeroes it */
	memset(&m, 0, sizeof(m));
	assert_int_equal(ct_msg_parse(frame, sizeof(frame), &m, &err), CT_OK);
	assert_null(m.buf);
	assert_ptr_equal(m.f[0].val, frame + 5);
	ct_msg_free(&m);
	assert_msg_zero(&m);
}

/* Random input never crashes the parsers, which accept or refuse it and
 * never point outside it. */
static void
test_fuzz(void **state)
{
	unsigned char scratch[300], *data;
	struct ct_err err;
	struct ct_msg m;
	size_t n, i, off, end, total, ok = 0, refused = 0;
	int it, rc, which;

	srand(20240601);
	for (it = 0; it < 20000; it++) {
		n = (size_t)(rand() % 301);
		for (i = 0; i < n; i++)
			scratch[i] = (unsigned char)rand();
		/* half the time, something closer to a real frame: version 1,
		 * mostly short fields, often cut at a field's end, so that both
		 * outcomes are common */
		if ((it & 1) && n > 0) {
			scratch[0] = CT_PROTO_VERSION;
			end = n < CT_PROTO_MIN ? n : CT_PROTO_MIN;
			for (off = 2; off + 2 < n; off += 3 + scratch[off + 2]) {
				if (rand() % 16 != 0)
					scratch[off + 1] = 0;
				scratch[off + 2] = (unsigned char)(rand() % 12);
				/* END: the last field end reachable from the start */
				if (end == off && scratch[off + 1] == 0 &&
				    off + 3 + scratch[off + 2] <= n)
					end = off + 3 + scratch[off + 2];
			}
			switch (rand() % 3) {
			case 0: n = end; break;
			case 1: n = (size_t)rand() % (n + 1); break;
			default: break;
			}
		}
		/* exactly N bytes on the heap, so an overread is caught by ASan */
		assert_non_null(data = malloc(n > 0 ? n : 1));
		if (n > 0)
			memcpy(data, scratch, n);
		for (which = 0; which < 2; which++) {
			memset(&m, 0, sizeof(m));
			memset(&err, 0, sizeof(err));
			rc = which == 0 ? ct_msg_parse(data, n, &m, &err)
			                : ct_fields_parse(data, n, &m, &err);
			if (rc != CT_OK && rc != CT_EINVAL)
				fail_msg("iteration %d: rc %d", it, rc);
			if (rc == CT_EINVAL && err.msg[0] == '\0')
				fail_msg("iteration %d: refused without a reason", it);
			assert_true(m.n <= CT_PROTO_FIELDS_MAX);
			total = which == 0 ? CT_PROTO_MIN : 0;
			for (i = 0; i < m.n; i++) {
				if (m.f[i].val < data || m.f[i].val > data + n ||
				    (size_t)(data + n - m.f[i].val) < m.f[i].len)
					fail_msg(
					    "iteration %d: field %zu outside the input", it, i);
				total += 3 + m.f[i].len;
			}
			if (rc == CT_OK) {
				/* the fields cover the input exactly */
				assert_int_equal(total, n);
				ok++;
			} else
				refused++;
		}
		free(data);
	}
	assert_true(ok > 2000);
	assert_true(refused > 2000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire_format),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_field_num),
	    cmocka_unit_test(test_field_text),
	    cmocka_unit_test(test_nested_token_info),
	    cmocka_unit_test(test_fields_parse_type_zero),
	    cmocka_unit_test(test_frame_too_large),
	    cmocka_unit_test(test_field_65535),
	    cmocka_unit_test(test_fields_max),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_bad_length),
	    cmocka_unit_test(test_malformed_frames),
	    cmocka_unit_test(test_truncated_and_eof),
	    cmocka_unit_test(test_send_peer_closed),
	    cmocka_unit_test(test_send_stalls),
	    cmocka_unit_test(test_free_zeroes),
	    cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
