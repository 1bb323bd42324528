/* A flood of connections to certtokend from one uid, for the integration
 * tests:
 *
 *   flood_client SOCKET SECONDS SLOTS [CSR]
 *
 * keeps SLOTS connections open for SECONDS.  Without CSR, three in four
 * ask for the caller's status, the fourth sends a message of an unknown
 * type (a protocol error); each is held at least HOLD_MS, whatever the
 * service answers (so that the service waits for a client that does not
 * hang up), and once the service has hung up it is opened again at once.
 * With CSR (a DER file), every connection asks to enroll with it and hangs
 * up as soon as the service says anything (the OTP prompt, or a refusal):
 * an enrollment abandoned at the prompt, as fast as one client can.
 * Prints "connections N" at the end. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

#define HOLD_MS 300
#define SLOTS_MAX 900
#define CSR_MAX 4096

static unsigned char csr[CSR_MAX];
static size_t csr_len; /* 0: the status and protocol-error flood */

struct slot {
	int fd;
	int done; /* the service hung up */
	int64_t opened;
};

/* Open slot I of S to PATH (nothing when the backlog is full); returns 1
 * when connected. */
static int
open_slot(struct slot *s, size_t i, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ct_err err = {0};
	struct ct_msgbuf b;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return 0;
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(s->fd);
		s->fd = -1;
		return 0;
	}
	s->done = 0;
	s->opened = ct_now_ms();
	if (ct_msgbuf_init(&b,
	        csr_len > 0      ? CT_MSG_ENROLL
	            : i % 4 == 0 ? 0x55
	                         : CT_MSG_STATUS) == CT_OK) {
		if (csr_len > 0)
			ct_msgbuf_add(&b, CT_TAG_CSR, csr, csr_len);
		(void)ct_msg_send(s->fd, &b, s->opened + 10, &err);
		ct_msgbuf_free(&b);
	}
	return 1;
}

/* Read what came on S without keeping it; mark it done at end of stream. */
static void
read_slot(struct slot *s)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (csr_len > 0) { /* an enrollment hangs up at the first word */
			s->done = 1;
			s->opened = 0;
			return;
		}
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		s->done = 1;
}

/* The DER CSR in PATH into csr. */
static int
read_csr(const char *path)
{
	FILE *f = fopen(path, "rb");

	if (f == NULL || (csr_len = fread(csr, 1, sizeof(csr), f)) == 0 || csr_len == sizeof(csr)) {
		fprintf(
		    stderr, "flood_client: %s: not a CSR of 1 to %d bytes\n", path, CSR_MAX - 1);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct slot slots[SLOTS_MAX];
	static struct pollfd pfd[SLOTS_MAX];
	unsigned long connections = 0;
	int64_t end;
	size_t n, i;

	if (argc < 4 || argc > 5 || (n = strtoul(argv[3], NULL, 10)) < 1 || n > SLOTS_MAX) {
		fprintf(
		    stderr, "usage: flood_client SOCKET SECONDS SLOTS (1-%d) [CSR]\n", SLOTS_MAX);
		return 2;
	}
	if (argc == 5 && read_csr(argv[4]) != 0)
		return 2;
	end = ct_now_ms() + 1000 * (int64_t)atoi(argv[2]);
	for (i = 0; i < n; i++)
		slots[i].fd = -1;
	while (ct_now_ms() < end) {
		for (i = 0; i < n; i++) {
			int64_t age = ct_now_ms() - slots[i].opened;

			if (slots[i].fd >= 0 && slots[i].done && age >= HOLD_MS) {
				close(slots[i].fd);
				slots[i].fd = -1;
			}
			if (slots[i].fd < 0)
				connections += (unsigned long)open_slot(&slots[i], i, argv[1]);
			pfd[i].fd = slots[i].done ? -1 : slots[i].fd;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, n, 10) > 0)
			for (i = 0; i < n; i++)
				if (pfd[i].fd >= 0 && pfd[i].revents != 0)
					read_slot(&slots[i]);
	}
	printf("connections %lu\n", connections);
	return 0;
}
