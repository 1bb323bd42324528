/* certtoken-enroll: what its files share.
 *
 * Layers, each calling only the ones below it (no file calls back up):
 *   enroll.c        main and the table of subcommands
 *   cmd_*.c         one subcommand each (request.c holds request and fetch)
 *   service.c       the connection to certtokend: checking the service,
 *                   the exchange and its PAM conversation
 *   term.c          prompts at the terminal
 *   files.c         the user's files: reading inputs, the target directory,
 *                   writing PEM files, installing a key and certificate
 *   output.c        what the user sees: errors, usage errors, certificates */
#ifndef CT_ENROLL_H
#define CT_ENROLL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "ct.h"
#include "proto.h"

#define PROG "certtoken-enroll"

struct client {
	const char *config_path;
	int config_explicit;
	const char *socket_path;
	char *socket_owned;
	int fd;
	struct ct_err err;
	/* answers a CHALLENGE during an exchange (upload); NULL: none expected */
	int (*challenge)(struct client *cl, const struct ct_msg *m);
	void *challenge_arg;
};

/* ---- the subcommands (cmd_*.c): each gives the exit status ---- */

int enroll_cmd_enroll(struct client *cl, int argc, char **argv);
int enroll_cmd_status(struct client *cl, int argc, char **argv);
int enroll_cmd_request(struct client *cl, int argc, char **argv);
int enroll_cmd_fetch(struct client *cl, int argc, char **argv);
int enroll_cmd_upload(struct client *cl, int argc, char **argv);
int enroll_cmd_keygen(struct client *cl, int argc, char **argv);
/* respond talks to nobody: CL is not used. */
int enroll_cmd_respond(struct client *cl, int argc, char **argv);

/* ---- the service (service.c) ---- */

/* Connect to certtokend (the socket from --socket or the configuration),
 * closing CL's previous connection.  Before anything is sent, the service
 * is checked: the path is a socket (not a symbolic link) owned by root and
 * the peer's uid (SO_PEERCRED) is 0; otherwise CT_EUNAVAIL (exit 69) with
 * a one-line error naming the path. */
int enroll_connect(struct client *cl);
/* Connect again (checking again) when the service has closed CL's idle
 * connection: a request must come within the service's deadline, and a
 * PIN asked after connecting may take longer. */
int enroll_reconnect_if_closed(struct client *cl);
/* Send the request in B and run the exchange (PAM conversation, challenge)
 * until the RESULT, left in M.  A non-zero result code becomes the CT_
 * code returned, with the service's message in CL's error. */
int enroll_exchange(struct client *cl, struct ct_msgbuf *b, struct ct_msg *m);
/* A non-empty text field TAG of the result M into OUT, or a protocol error. */
int enroll_result_text(
    struct client *cl, const struct ct_msg *m, uint8_t tag, char *out, size_t size);
/* The certificate in M's CERT field into *OUT, or a protocol error. */
int enroll_result_cert(struct client *cl, const struct ct_msg *m, X509 **out);

/* ---- the terminal (term.c) ---- */

/* The terminal the conversation uses (stdin/stderr without one). */
struct term {
	FILE *in, *out;
	int own;
};

/* Open /dev/tty into T, else take stdin and stderr. */
void enroll_term_open(struct term *t);
/* Close what enroll_term_open opened. */
void enroll_term_close(struct term *t);
/* Show PROMPT and read one line into ANSWER, without echo when SECRET:
 * 0, or -1 at the end of the input.  A secret is read as readpassphrase(3)
 * does: echo off first (what was typed before is discarded, never shown),
 * then the prompt, the line, and the terminal restored on every way out
 * (a signal that ends or stops us is sent again after the restore; after
 * a stop the question is asked again).  The rest of a line longer than
 * SIZE - 1 bytes is dropped. */
int enroll_ask(struct term *t, const char *prompt, int secret, char *answer, size_t size);
/* enroll_ask, watching WATCH (a socket; -1: none) while it waits: when
 * WATCH becomes readable, closes or fails (the service gave up), nothing
 * more is read and it gives -2, with ANSWER wiped. */
int enroll_ask_while(
    struct term *t, const char *prompt, int secret, int watch, char *answer, size_t size);

/* ---- the user's files (files.c) ---- */

/* Read all of the user's file PATH (at most MAX bytes, not empty) into a
 * new NUL-terminated buffer. */
int enroll_read_input(
    const char *path, size_t max, unsigned char **out, size_t *len, struct ct_err *err);
/* $XDG_CONFIG_HOME/certtoken/TARGET (XDG_CONFIG_HOME: ~/.config) into OUT. */
int enroll_target_dir(const char *target, char *out, size_t size, struct ct_err *err);
/* mkdir -p PATH (0700); the last DEPTH components must be safe dirs of ours. */
int enroll_make_dirs(char *path, int depth, struct ct_err *err);
/* Write what WRITER encodes of OBJ to PATH atomically with MODE. */
int enroll_write_pem(
    const char *path, int (*writer)(BIO *, void *), void *obj, mode_t mode, struct ct_err *err);
/* enroll_write_pem writers: a private key, a certificate. */
int enroll_key_writer(BIO *bio, void *key);
int enroll_cert_writer(BIO *bio, void *x);
/* Store KEY and X as TARGET's key.pem and cert.pem (DIR gets the directory). */
int enroll_install_pair(
    const char *target, EVP_PKEY *key, X509 *x, char *dir, size_t dir_size, struct ct_err *err);

/* ---- OpenSSH (ssh.c) ---- */

/* KEY as DIR/key (openssh-key-v1, 0600), then beside it the certificate
 * LINE of LEN bytes (for KEY) as DIR/key-cert.pub; when SSH_AUTH_SOCK is
 * set, both added to the agent by ssh-add with a lifetime of the certificate's
 * remaining validity (a failure there is a warning); the ssh command line
 * that uses them printed. */
int enroll_ssh_install(
    const char *dir, EVP_PKEY *key, const char *line, size_t len, struct ct_err *err);

/* ---- what the user sees (output.c) ---- */

/* Print CL's error and give the exit status of CODE. */
int enroll_fail(struct client *cl, int code);
/* Complain about the command line: exit status 64. */
int enroll_usage_error(const char *msg);
/* The certificate's summary on stdout; DIR "" when it was not stored. */
void enroll_print_cert(X509 *x, const char *target, const char *token, const char *dir);
/* Certificate X as PEM to PATH (atomically, 0644) or, when PATH is NULL,
 * to standard output. */
int enroll_emit_cert(struct client *cl, X509 *x, const char *path);

#endif
