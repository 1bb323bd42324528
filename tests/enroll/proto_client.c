/* A misbehaving certtokend client for the integration tests: it speaks the
 * wire protocol (or deliberately does not) and reports what came back.
 *
 *   proto_client SOCKET garbage|oversize|version|truncated|unknown-type
 *   proto_client SOCKET hold SECONDS
 *   proto_client SOCKET lie CSR.der ANSWER OUT.pem
 *   proto_client SOCKET upload-noproof|upload-badproof|upload-wrongtype CERT.der
 *
 * Prints "result CODE MESSAGE" for a RESULT, "closed" when the service hung
 * up without one.  "lie" sends a CSR whose subject names another user plus
 * fields claiming to be root, answers every prompt with ANSWER and writes
 * the certificate it gets (if any) to OUT.pem. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "proto.h"

static int
connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static void
send_raw(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n) {
		perror("write");
		exit(2);
	}
}

/* Read what comes back; answer prompts with ANSWER (if any).  Returns the
 * RESULT message in M, or -1 when the connection closed without one. */
static int
read_result(int fd, const char *answer, struct ct_msg *m)
{
	struct ct_err err = {0};
	struct ct_msgbuf b;
	size_t i;

	for (;;) {
		if (ct_msg_recv(fd, m, ct_now_ms() + 30000, &err) != CT_OK) {
			printf("closed\n");
			return -1;
		}
		if (m->type == CT_MSG_RESULT)
			return 0;
		if (m->type != CT_MSG_CONV || answer == NULL) {
			printf("unexpected message type %u\n", m->type);
			return -1;
		}
		ct_msgbuf_init(&b, CT_MSG_CONV_REPLY);
		for (i = 0; i < m->n; i++)
			ct_msgbuf_add_str(&b, CT_TAG_ANSWER, answer);
		ct_msg_free(m);
		if (ct_msg_send(fd, &b, ct_now_ms() + 30000, &err) != CT_OK) {
			printf("closed\n");
			return -1;
		}
		ct_msgbuf_free(&b);
	}
}

static void
print_result(const struct ct_msg *m)
{
	const struct ct_field *c = ct_msg_get(m, CT_TAG_CODE), *t = ct_msg_get(m, CT_TAG_MESSAGE);

	printf("result %d %.*s\n", c != NULL && c->len == 1 ? c->val[0] : -1,
	    t != NULL ? (int)t->len : 0, t != NULL ? (const char *)t->val : "");
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(65536);

	if (f == NULL || buf == NULL) {
		perror(path);
		exit(2);
	}
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static int
lie(int fd, const char *csr_path, const char *answer, const char *out)
{
	struct ct_msgbuf b;
	struct ct_msg m = {0};
	const struct ct_field *f;
	unsigned char *csr;
	size_t len;
	FILE *o;

	csr = slurp(csr_path, &len);
	ct_msgbuf_init(&b, CT_MSG_ENROLL);
	ct_msgbuf_add_str(&b, 200, "user=root");
	ct_msgbuf_add_str(&b, 201, "uid=0");
	ct_msgbuf_add(&b, CT_TAG_CSR, csr, len);
	ct_msgbuf_add_str(&b, CT_TAG_MESSAGE, "I am root");
	free(csr);
	if (ct_msg_send(fd, &b, ct_now_ms() + 30000, NULL) != CT_OK)
		return 2;
	ct_msgbuf_free(&b);
	if (read_result(fd, answer, &m) != 0)
		return 1;
	print_result(&m);
	if ((f = ct_msg_get(&m, CT_TAG_CERT)) != NULL && (o = fopen(out, "w")) != NULL) {
		PEM_write(o, PEM_STRING_X509, "", f->val, f->len);
		fclose(o);
	}
	ct_msg_free(&m);
	return 0;
}

/* Upload CERT.der, then answer the challenge wrongly: with no signature
 * field (noproof), with random bytes (badproof), or with another message
 * type (wrongtype). */
static int
upload(int fd, const char *how, const char *cert_path)
{
	struct ct_msgbuf b;
	struct ct_msg m = {0};
	unsigned char *cert, junk[72];
	size_t len;

	cert = slurp(cert_path, &len);
	ct_msgbuf_init(&b, CT_MSG_UPLOAD);
	ct_msgbuf_add(&b, CT_TAG_CERT, cert, len);
	free(cert);
	if (ct_msg_send(fd, &b, ct_now_ms() + 30000, NULL) != CT_OK)
		return 2;
	ct_msgbuf_free(&b);
	if (ct_msg_recv(fd, &m, ct_now_ms() + 30000, NULL) != CT_OK) {
		printf("closed\n");
		return 1;
	}
	if (m.type != CT_MSG_CHALLENGE) {
		if (m.type == CT_MSG_RESULT)
			print_result(&m);
		else
			printf("unexpected message type %u\n", m.type);
		ct_msg_free(&m);
		return 0;
	}
	ct_msg_free(&m);
	memset(junk, 0x5A, sizeof(junk));
	ct_msgbuf_init(&b, strcmp(how, "upload-wrongtype") == 0 ? CT_MSG_STATUS : CT_MSG_PROOF);
	if (strcmp(how, "upload-badproof") == 0)
		ct_msgbuf_add(&b, CT_TAG_SIGNATURE, junk, sizeof(junk));
	if (ct_msg_send(fd, &b, ct_now_ms() + 30000, NULL) != CT_OK)
		return 2;
	ct_msgbuf_free(&b);
	if (read_result(fd, "000000", &m) != 0)
		return 1;
	print_result(&m);
	ct_msg_free(&m);
	return 0;
}

int
main(int argc, char **argv)
{
	static const unsigned char truncated[] = {0, 0, 0, 100, 1, 1, 2, 0, 5, 'a', 'b'};
	static const unsigned char oversize[] = {0, 0x10, 0, 0, 1, 1};
	static const unsigned char version[] = {0, 0, 0, 2, 9, 2};
	static const unsigned char unknown[] = {0, 0, 0, 2, 1, 0x55};
	struct ct_msg m = {0};
	unsigned char junk[64];
	const char *mode;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: proto_client SOCKET MODE [ARGS]\n");
		return 2;
	}
	fd = connect_to(argv[1]);
	mode = argv[2];
	if (strcmp(mode, "lie") == 0 && argc == 6)
		return lie(fd, argv[3], argv[4], argv[5]);
	if (strncmp(mode, "upload-", 7) == 0 && argc == 4)
		return upload(fd, mode, argv[3]);
	if (strcmp(mode, "hold") == 0 && argc == 4) {
		/* say nothing for a while, then see whether the service is still there */
		sleep((unsigned)atoi(argv[3]));
		if (read_result(fd, NULL, &m) == 0)
			print_result(&m);
		ct_msg_free(&m);
		return 0;
	}
	if (strcmp(mode, "garbage") == 0) {
		memset(junk, 0xA5, sizeof(junk));
		send_raw(fd, junk, sizeof(junk));
	} else if (strcmp(mode, "oversize") == 0) {
		send_raw(fd, oversize, sizeof(oversize));
		memset(junk, 0, sizeof(junk));
		send_raw(fd, junk, sizeof(junk));
	} else if (strcmp(mode, "version") == 0)
		send_raw(fd, version, sizeof(version));
	else if (strcmp(mode, "unknown-type") == 0)
		send_raw(fd, unknown, sizeof(unknown));
	else if (strcmp(mode, "twice") == 0) {
		/* a field the request reads once, twice: which one would count? */
		struct ct_msgbuf b;

		ct_msgbuf_init(&b, CT_MSG_ENROLL);
		ct_msgbuf_add_str(&b, CT_TAG_TARGET, "default");
		ct_msgbuf_add_str(&b, CT_TAG_TARGET, "other");
		if (ct_msg_send(fd, &b, ct_now_ms() + 30000, NULL) != CT_OK)
			return 2;
		ct_msgbuf_free(&b);
	}
	else if (strcmp(mode, "truncated") == 0) {
		send_raw(fd, truncated, sizeof(truncated));
		shutdown(fd, SHUT_WR);
	} else {
		fprintf(stderr, "proto_client: unknown mode %s\n", mode);
		return 2;
	}
	if (read_result(fd, NULL, &m) == 0)
		print_result(&m);
	ct_msg_free(&m);
	return 0;
}
