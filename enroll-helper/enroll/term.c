/* certtoken-enroll: prompts at the terminal (/dev/tty, else stdin/stderr). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "enroll.h"

void
enroll_term_open(struct term *t)
{
	t->in = fopen("/dev/tty", "re");
	t->out = t->in != NULL ? fopen("/dev/tty", "we") : NULL;
	if (t->in != NULL && t->out != NULL)
		t->own = 1;
	else {
		if (t->in != NULL)
			fclose(t->in);
		t->in = stdin;
		t->out = stderr;
		t->own = 0;
	}
	/* unbuffered: the OTP goes only into the answer buffer, which is wiped */
	setvbuf(t->in, NULL, _IONBF, 0);
}

void
enroll_term_close(struct term *t)
{
	if (t->own) {
		fclose(t->in);
		fclose(t->out);
	}
	t->in = t->out = NULL;
}

/* A secret is read as readpassphrase(3) reads it: echo goes off first (what
 * was typed before is discarded, never shown), then the prompt, then the
 * answer, then the terminal is put back, on every way out.  A signal that
 * would end or stop us while echo is off is caught, the terminal restored,
 * and the signal sent again under its old disposition; after a stop the
 * question is asked again. */

static const int caught_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define N_CAUGHT (sizeof(caught_signals) / sizeof(caught_signals[0]))

static volatile sig_atomic_t caught;

static void
on_signal(int sig)
{
	caught = sig;
}

/* A terminal whose echo is off, and the dispositions it replaced. */
struct quiet {
	int fd; /* -1: echo was not turned off */
	struct termios saved;
	struct sigaction old[N_CAUGHT];
};

/* Catch the signals, then turn echo off on FD (a terminal) into Q. */
static void
echo_off(int fd, struct quiet *q)
{
	struct sigaction sa;
	struct termios quiet;
	size_t i;

	q->fd = -1;
	if (!isatty(fd) || tcgetattr(fd, &q->saved) != 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a read or a wait ends */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < N_CAUGHT; i++) /* what is ignored stays ignored */
		if (sigaction(caught_signals[i], NULL, &q->old[i]) == 0 &&
		    q->old[i].sa_handler != SIG_IGN)
			sigaction(caught_signals[i], &sa, NULL);
	quiet = q->saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL;
	q->fd = fd;
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
}

/* Put Q's terminal and the dispositions back. */
static void
echo_restore(struct quiet *q)
{
	size_t i;

	if (q->fd < 0)
		return;
	(void)tcsetattr(q->fd, TCSANOW, &q->saved);
	for (i = 0; i < N_CAUGHT; i++)
		sigaction(caught_signals[i], &q->old[i], NULL);
	q->fd = -1;
}

/* Wait until FD or WATCH (-1: none) is readable, or a signal was caught:
 * 1 for FD, 0 for WATCH (readable, closed or failed), -1 for a signal or
 * an error.  Signals are blocked between the check and the wait. */
static int
wait_input(int fd, int watch)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = watch, .events = POLLIN}};
	sigset_t block, old;
	size_t i;
	int n = -1;

	sigemptyset(&block);
	for (i = 0; i < N_CAUGHT; i++)
		sigaddset(&block, caught_signals[i]);
	while (n < 0) {
		sigprocmask(SIG_BLOCK, &block, &old);
		n = caught ? -2 : ppoll(p, watch >= 0 ? 2 : 1, NULL, &old);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (n == -2 || (n < 0 && errno != EINTR))
			return -1;
	}
	if (watch >= 0 && p[1].revents != 0)
		return 0;
	return 1;
}

/* Read one line from FD into ANSWER (SIZE bytes; the rest of a longer line
 * is dropped), watching WATCH: 0, -1 at the end of the input or for a
 * signal, -2 when WATCH ended the wait. */
static int
read_line(int fd, int watch, char *answer, size_t size)
{
	size_t n = 0;
	ssize_t got;
	char ch;
	int w;

	for (;;) {
		if ((w = wait_input(fd, watch)) <= 0)
			return w == 0 ? -2 : -1;
		if ((got = read(fd, &ch, 1)) < 0 && errno == EINTR)
			continue;
		if (got <= 0) { /* the end of the input: a last line without its newline */
			if (n == 0)
				return -1;
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 < size)
			answer[n++] = ch;
	}
	answer[n] = '\0';
	return 0;
}

/* Send SIG, caught while echo was off, again under its old disposition:
 * 1 when we are still here after a stop (ask again), 0 otherwise. */
static int
resend(int sig)
{
	raise(sig);
	return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

int
enroll_ask_while(
    struct term *t, const char *prompt, int secret, int watch, char *answer, size_t size)
{
	struct quiet q = {.fd = -1};
	int fd = fileno(t->in), rc, sig;

	do {
		caught = 0;
		if (secret)
			echo_off(fd, &q);
		rc = -1;
		if (!caught) {
			fputs(prompt, t->out);
			fflush(t->out);
			rc = read_line(fd, watch, answer, size);
		}
		echo_restore(&q);
		sig = caught;
		caught = 0;
		if (sig != 0)
			fputc('\n', t->out);
	} while (sig != 0 && resend(sig));
	if (sig == 0 && (!isatty(fd) || rc == -2)) /* nobody typed a newline after the prompt */
		fputc('\n', t->out);
	fflush(t->out);
	if (rc != 0 || sig != 0) {
		OPENSSL_cleanse(answer, size);
		return rc == -2 ? -2 : -1;
	}
	answer[strcspn(answer, "\r\n")] = '\0';
	return 0;
}

int
enroll_ask(struct term *t, const char *prompt, int secret, char *answer, size_t size)
{
	return enroll_ask_while(t, prompt, secret, -1, answer, size);
}
