/* certtoken-enroll: prompts at the terminal (/dev/tty, else stdin/stderr). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

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

/* While echo is off, a signal that ends us must first turn it back on. */
static struct termios echo_saved;
static volatile sig_atomic_t echo_fd = -1;

static void
restore_echo(int sig)
{
	if (echo_fd >= 0)
		tcsetattr(echo_fd, TCSAFLUSH, &echo_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Turn echo off on FD (a terminal) and keep OLD to restore: 1 when done. */
static int
echo_off(int fd, struct termios *old)
{
	struct termios quiet;

	if (!isatty(fd) || tcgetattr(fd, old) != 0)
		return 0;
	quiet = *old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	echo_saved = *old;
	echo_fd = fd;
	signal(SIGINT, restore_echo);
	signal(SIGTERM, restore_echo);
	signal(SIGHUP, restore_echo);
	signal(SIGQUIT, restore_echo);
	return tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
}

int
enroll_ask(struct term *t, const char *prompt, int secret, char *answer, size_t size)
{
	struct termios old;
	int fd = fileno(t->in), restore = 0;
	char *r;

	fputs(prompt, t->out);
	fflush(t->out);
	if (secret)
		restore = echo_off(fd, &old);
	r = fgets(answer, (int)size, t->in);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	echo_fd = -1;
	if (!isatty(fd)) /* nobody typed a newline after the prompt */
		fputc('\n', t->out);
	if (r == NULL)
		return -1;
	answer[strcspn(answer, "\r\n")] = '\0';
	return 0;
}
