#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "proto.h"

#define PREFIX 4 /* the length prefix */
#define FIELD_HDR 3 /* tag and length */

int
ct_msgbuf_init(struct ct_msgbuf *b, uint8_t type)
{
	memset(b, 0, sizeof(*b));
	b->cap = 1024;
	if ((b->p = malloc(b->cap)) == NULL) {
		b->failed = 1;
		return CT_ENOMEM;
	}
	b->p[PREFIX] = CT_PROTO_VERSION;
	b->p[PREFIX + 1] = type;
	b->len = PREFIX + CT_PROTO_MIN;
	return CT_OK;
}

/* Make room for N more bytes, within the frame limit. */
static int
reserve(struct ct_msgbuf *b, size_t n)
{
	unsigned char *p;
	size_t cap;

	if (b->failed || b->len - PREFIX + n > CT_PROTO_FRAME_MAX) {
		b->failed = 1;
		return -1;
	}
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap;
	while (cap < b->len + n)
		cap *= 2;
	/* grow by copy, so the old buffer can be wiped */
	if ((p = malloc(cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	memcpy(p, b->p, b->len);
	OPENSSL_clear_free(b->p, b->cap);
	b->p = p;
	b->cap = cap;
	return 0;
}

void
ct_msgbuf_add(struct ct_msgbuf *b, uint8_t tag, const void *val, size_t len)
{
	if (b->p == NULL || len > UINT16_MAX || b->fields == CT_PROTO_FIELDS_MAX ||
	    reserve(b, FIELD_HDR + len) != 0) {
		b->failed = 1;
		return;
	}
	b->p[b->len] = tag;
	b->p[b->len + 1] = (unsigned char)(len >> 8);
	b->p[b->len + 2] = (unsigned char)len;
	if (len > 0)
		memcpy(b->p + b->len + FIELD_HDR, val, len);
	b->len += FIELD_HDR + len;
	b->fields++;
}

void
ct_msgbuf_add_str(struct ct_msgbuf *b, uint8_t tag, const char *s)
{
	ct_msgbuf_add(b, tag, s, strlen(s));
}

void
ct_msgbuf_add_num(struct ct_msgbuf *b, uint8_t tag, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	ct_msgbuf_add_str(b, tag, num);
}

void
ct_msgbuf_free(struct ct_msgbuf *b)
{
	if (b->p != NULL)
		OPENSSL_clear_free(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

const unsigned char *
ct_msgbuf_fields(const struct ct_msgbuf *b, size_t *len)
{
	*len = b->len - PREFIX - CT_PROTO_MIN;
	return b->p + PREFIX + CT_PROTO_MIN;
}

int64_t
ct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until FD is ready for EVENTS or the deadline passes. */
static int
wait_fd(int fd, short events, int64_t deadline_ms, struct ct_err *err)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int64_t left;
	int r;

	for (;;) {
		left = deadline_ms - ct_now_ms();
		if (left <= 0)
			return ct_err_set(err, CT_EUNAVAIL, "timed out");
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return CT_OK;
		if (r < 0 && errno != EINTR)
			return ct_err_set(err, CT_EIO, "poll: %s", strerror(errno));
	}
}

int
ct_msg_send(int fd, struct ct_msgbuf *b, int64_t deadline_ms, struct ct_err *err)
{
	size_t n, off = 0;
	ssize_t w;
	int rc;

	if (b->failed || b->p == NULL)
		return ct_err_set(err, CT_EINVAL, "message too large");
	n = b->len - PREFIX;
	b->p[0] = (unsigned char)(n >> 24);
	b->p[1] = (unsigned char)(n >> 16);
	b->p[2] = (unsigned char)(n >> 8);
	b->p[3] = (unsigned char)n;
	while (off < b->len) {
		w = send(fd, b->p + off, b->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_fd(fd, POLLOUT, deadline_ms, err)) != CT_OK)
				return rc;
			continue;
		}
		return ct_err_set(err, CT_EIO, "send: %s", w < 0 ? strerror(errno) : "closed");
	}
	return CT_OK;
}

/* Read exactly N bytes into P before the deadline. */
static int
read_full(int fd, unsigned char *p, size_t n, int64_t deadline_ms, struct ct_err *err)
{
	size_t off = 0;
	ssize_t r;
	int rc;

	while (off < n) {
		r = recv(fd, p + off, n - off, MSG_DONTWAIT);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r == 0)
			return ct_err_set(err, CT_EIO,
			    off == 0 ? "connection closed" : "connection closed mid-message");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((rc = wait_fd(fd, POLLIN, deadline_ms, err)) != CT_OK)
				return rc;
			continue;
		}
		return ct_err_set(err, CT_EIO, "recv: %s", strerror(errno));
	}
	return CT_OK;
}

int
ct_msg_recv(int fd, struct ct_msg *m, int64_t deadline_ms, struct ct_err *err)
{
	unsigned char pre[PREFIX];
	unsigned char *buf;
	size_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = read_full(fd, pre, PREFIX, deadline_ms, err)) != CT_OK)
		return rc;
	n = (size_t)pre[0] << 24 | (size_t)pre[1] << 16 | (size_t)pre[2] << 8 | pre[3];
	if (n < CT_PROTO_MIN || n > CT_PROTO_FRAME_MAX)
		return ct_err_set(err, CT_EINVAL, "frame length %zu outside %d..%d", n,
		    CT_PROTO_MIN, CT_PROTO_FRAME_MAX);
	if ((buf = malloc(n)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = read_full(fd, buf, n, deadline_ms, err)) == CT_OK &&
	    (rc = ct_msg_parse(buf, n, m, err)) == CT_OK) {
		m->buf = buf;
		m->buf_len = n;
		return CT_OK;
	}
	OPENSSL_clear_free(buf, n);
	memset(m, 0, sizeof(*m));
	return rc;
}

int
ct_fields_parse(const unsigned char *data, size_t n, struct ct_msg *m, struct ct_err *err)
{
	size_t off = 0, len;

	m->type = 0;
	m->n = 0;
	while (off < n) {
		if (m->n == CT_PROTO_FIELDS_MAX)
			return ct_err_set(
			    err, CT_EINVAL, "more than %d fields", CT_PROTO_FIELDS_MAX);
		if (n - off < FIELD_HDR)
			return ct_err_set(
			    err, CT_EINVAL, "truncated field header at byte %zu", off);
		len = (size_t)data[off + 1] << 8 | data[off + 2];
		if (n - off - FIELD_HDR < len)
			return ct_err_set(err, CT_EINVAL,
			    "field %zu (tag %u) runs past the end of the message", m->n + 1,
			    data[off]);
		m->f[m->n].tag = data[off];
		m->f[m->n].len = (uint16_t)len;
		m->f[m->n].val = data + off + FIELD_HDR;
		m->n++;
		off += FIELD_HDR + len;
	}
	return CT_OK;
}

int
ct_msg_parse(const unsigned char *data, size_t n, struct ct_msg *m, struct ct_err *err)
{
	int rc;

	if (n < CT_PROTO_MIN)
		return ct_err_set(err, CT_EINVAL, "message shorter than its header");
	if (data[0] != CT_PROTO_VERSION)
		return ct_err_set(err, CT_EINVAL, "protocol version %u (this side speaks %d)",
		    data[0], CT_PROTO_VERSION);
	if ((rc = ct_fields_parse(data + CT_PROTO_MIN, n - CT_PROTO_MIN, m, err)) != CT_OK)
		return rc;
	m->type = data[1];
	return CT_OK;
}

void
ct_msg_free(struct ct_msg *m)
{
	if (m->buf != NULL)
		OPENSSL_clear_free(m->buf, m->buf_len);
	memset(m, 0, sizeof(*m));
}

const struct ct_field *
ct_msg_get(const struct ct_msg *m, uint8_t tag)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->f[i].tag == tag)
			return &m->f[i];
	return NULL;
}

int
ct_field_text(const struct ct_field *f, char *out, size_t outsz, struct ct_err *err)
{
	size_t i;

	if ((size_t)f->len >= outsz)
		return ct_err_set(
		    err, CT_EINVAL, "text field (tag %u) longer than %zu bytes", f->tag, outsz - 1);
	for (i = 0; i < f->len; i++)
		if ((f->val[i] < 0x20 && f->val[i] != '\t' && f->val[i] != '\n') ||
		    f->val[i] == 0x7f)
			return ct_err_set(
			    err, CT_EINVAL, "control character in text field (tag %u)", f->tag);
	memcpy(out, f->val, f->len);
	out[f->len] = '\0';
	return CT_OK;
}

int
ct_field_num(
    const struct ct_field *f, long long min, long long max, long long *out, struct ct_err *err)
{
	char num[24], *end;
	long long v;

	if (f->len == 0 || f->len >= sizeof(num) ||
	    ct_field_text(f, num, sizeof(num), err) != CT_OK)
		return ct_err_set(err, CT_EINVAL, "bad number (tag %u)", f->tag);
	errno = 0;
	v = strtoll(num, &end, 10);
	if (errno != 0 || *end != '\0' || !(num[0] == '-' || (num[0] >= '0' && num[0] <= '9')) ||
	    v < min || v > max)
		return ct_err_set(err, CT_EINVAL, "bad number (tag %u)", f->tag);
	*out = v;
	return CT_OK;
}
