/* Enrollments per second through a running certtokend, with latency.
 *
 *   bench_enroll SOCKET CLIENTS SECONDS SECRET_HEX UID_BASE
 *
 * Forks CLIENTS processes; client i runs as uid UID_BASE+i (the service
 * must know that uid as user<i>, each with one HOTP token of SECRET_HEX
 * at counter 0) and enrolls in a loop: connect, send an EC P-256 CSR,
 * answer the OTP prompt with the next HOTP code, read the certificate.
 * One enrollment per client is a warm-up; then all clients start together
 * and run for SECONDS.  The CSR is made once: key generation is the user's
 * machine's cost, not the service's.  Prints enrollments/s, p50 and p99. */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf.h"
#include "issue.h"
#include "otp.h"
#include "proto.h"

#define MAX_SAMPLES 1000000

struct client {
	const char *sock;
	unsigned char key[64];
	size_t key_len;
	uint64_t counter;
	unsigned char *csr;
	int csr_len;
};

/* One enrollment; 0 when a certificate came back. */
static int
enroll_once(struct client *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ct_msgbuf b;
	struct ct_msg m = {0};
	const struct ct_field *f;
	char code[9];
	int fd, rc = -1;
	size_t i;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	ct_msgbuf_init(&b, CT_MSG_ENROLL);
	ct_msgbuf_add(&b, CT_TAG_CSR, c->csr, (size_t)c->csr_len);
	rc = ct_msg_send(fd, &b, ct_now_ms() + 30000, NULL);
	ct_msgbuf_free(&b);
	if (rc != CT_OK)
		goto out;
	rc = -1;
	for (;;) {
		if (ct_msg_recv(fd, &m, ct_now_ms() + 30000, NULL) != CT_OK)
			goto out;
		if (m.type == CT_MSG_RESULT)
			break;
		ct_msgbuf_init(&b, CT_MSG_CONV_REPLY);
		for (i = 0; i < m.n; i++) {
			if (m.f[i].len > 0 && m.f[i].val[0] == 1) { /* echo off: the OTP */
				ct_hotp(CT_OTP_SHA1, c->key, c->key_len, c->counter++, 6, code);
				ct_msgbuf_add_str(&b, CT_TAG_ANSWER, code);
			} else
				ct_msgbuf_add_str(&b, CT_TAG_ANSWER, "");
		}
		ct_msg_free(&m);
		i = ct_msg_send(fd, &b, ct_now_ms() + 30000, NULL);
		ct_msgbuf_free(&b);
		if (i != CT_OK)
			goto out;
	}
	f = ct_msg_get(&m, CT_TAG_CODE);
	rc = f != NULL && f->len == 1 && f->val[0] == 0 && ct_msg_get(&m, CT_TAG_CERT) ? 0 : -1;
out:
	ct_msg_free(&m);
	close(fd);
	return rc;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
run_child(struct client *c, uid_t uid, int ready_fd, int go_fd, int out_fd, int seconds)
{
	uint32_t *lat = malloc(sizeof(uint32_t) * MAX_SAMPLES);
	uint32_t n = 0, fails = 0;
	int64_t end;
	char go;

	if (lat == NULL || setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0)
		_exit(2);
	if (enroll_once(c) != 0) /* warm-up */
		fails++;
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &go, 1) != 1)
		_exit(2);
	end = ct_now_ms() + (int64_t)seconds * 1000;
	while (ct_now_ms() < end && n < MAX_SAMPLES) {
		struct timespec a, z;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (enroll_once(c) != 0) {
			fails++;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &z);
		lat[n++] =
		    (uint32_t)((z.tv_sec - a.tv_sec) * 1000000 + (z.tv_nsec - a.tv_nsec) / 1000);
	}
	if (write(out_fd, &fails, sizeof(fails)) != sizeof(fails) ||
	    write(out_fd, &n, sizeof(n)) != sizeof(n))
		_exit(2);
	for (uint32_t off = 0; off < n;) {
		ssize_t w = write(out_fd, lat + off, (n - off) * sizeof(uint32_t));

		if (w <= 0)
			_exit(2);
		off += (uint32_t)w / sizeof(uint32_t);
	}
	_exit(0);
}

static int
read_full(int fd, void *p, size_t n)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		if ((r = read(fd, (char *)p + off, n - off)) <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct client c = {0};
	int clients, seconds, ready[2], go[2], i;
	int(*outs)[2];
	uint32_t *all, total = 0, fails = 0;
	uid_t base;
	EVP_PKEY *key;
	X509_REQ *req;
	int64_t t0, t1;
	char byte;

	if (argc != 6 || (clients = atoi(argv[2])) <= 0 || (seconds = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: bench_enroll SOCKET CLIENTS SECONDS SECRET_HEX UID_BASE\n");
		return 64;
	}
	c.sock = argv[1];
	for (i = 0; argv[4][2 * i] && argv[4][2 * i + 1] && i < 64; i++)
		sscanf(argv[4] + 2 * i, "%2hhx", &c.key[i]);
	c.key_len = (size_t)i;
	base = (uid_t)atol(argv[5]);
	key = ct_key_generate(CT_KEY_EC_P256);
	req = X509_REQ_new();
	if (key == NULL || req == NULL || X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (c.csr_len = i2d_X509_REQ(req, &c.csr)) <= 0) {
		fprintf(stderr, "cannot make a CSR\n");
		return 70;
	}
	outs = calloc((size_t)clients, sizeof(*outs));
	all = malloc(sizeof(uint32_t) * MAX_SAMPLES);
	if (outs == NULL || all == NULL || pipe(ready) != 0 || pipe(go) != 0)
		return 71;
	for (i = 0; i < clients; i++) {
		if (pipe(outs[i]) != 0)
			return 71;
		if (fork() == 0) {
			close(outs[i][0]);
			run_child(&c, base + (uid_t)i, ready[1], go[0], outs[i][1], seconds);
		}
		close(outs[i][1]);
	}
	for (i = 0; i < clients; i++)
		if (read(ready[0], &byte, 1) != 1)
			return 70;
	t0 = ct_now_ms();
	for (i = 0; i < clients; i++)
		if (write(go[1], "g", 1) != 1)
			return 70;
	for (i = 0; i < clients; i++) {
		uint32_t f = 0, n = 0;

		if (read_full(outs[i][0], &f, sizeof(f)) != 0 ||
		    read_full(outs[i][0], &n, sizeof(n)) != 0)
			return 70;
		if (total + n > MAX_SAMPLES)
			n = MAX_SAMPLES - total; /* not reached at these rates */
		if (read_full(outs[i][0], all + total, n * sizeof(uint32_t)) != 0)
			return 70;
		total += n;
		fails += f;
	}
	t1 = ct_now_ms();
	while (wait(NULL) > 0)
		;
	qsort(all, total, sizeof(*all), cmp_u32);
	printf("clients %d enrollments %u failures %u per_second %.0f p50_us %u p99_us %u\n",
	    clients, total, fails, total * 1000.0 / (double)(t1 - t0), total ? all[total / 2] : 0,
	    total ? all[(size_t)total * 99 / 100] : 0);
	return fails ? 1 : 0;
}
