/* certtoken-enroll: what its command files share. */
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

/* The terminal the conversation uses (stdin/stderr without one). */
struct term {
	FILE *in, *out;
	int own;
};

void term_open(struct term *t);
void term_close(struct term *t);
/* Show PROMPT and read one line into ANSWER, without echo when SECRET. */
int ask(struct term *t, const char *prompt, int secret, char *answer, size_t size);

/* Print CL's error and give the exit status of CODE. */
int fail(struct client *cl, int code);
/* Complain about the command line: exit status 64. */
int usage_error(const char *msg);
/* Connect to certtokend (the socket from --socket or the configuration). */
int connect_service(struct client *cl);
/* Send the request in B and run the exchange (PAM conversation, challenge)
 * until the RESULT, left in M.  A non-zero result code becomes the CT_
 * code returned, with the service's message in CL's error. */
int exchange(struct client *cl, struct ct_msgbuf *b, struct ct_msg *m);
/* mkdir -p PATH (0700); the last DEPTH components must be safe dirs of ours. */
int make_dirs(char *path, int depth, struct ct_err *err);
/* Write what WRITER encodes of OBJ to PATH atomically with MODE. */
int write_pem(
    const char *path, int (*writer)(BIO *, void *), void *obj, mode_t mode, struct ct_err *err);
int key_writer(BIO *bio, void *key);
int cert_writer(BIO *bio, void *x);
/* The certificate's summary on stdout; DIR "" when it was not stored. */
void print_cert(X509 *x, const char *target, const char *token, const char *dir);

/* Store KEY and X as TARGET's key.pem and cert.pem (DIR gets the directory). */
int install_pair(
    const char *target, EVP_PKEY *key, X509 *x, char *dir, size_t dir_size, struct ct_err *err);

/* The certificate-token commands (request.c). */
int cmd_request(struct client *cl, int argc, char **argv);
int cmd_fetch(struct client *cl, int argc, char **argv);
int cmd_upload(struct client *cl, int argc, char **argv);
int cmd_keygen(struct client *cl, int argc, char **argv);

/* $XDG_CONFIG_HOME/certtoken/TARGET (XDG_CONFIG_HOME: ~/.config) into OUT. */
int enroll_target_dir(const char *target, char *out, size_t size, struct ct_err *err);

/* certtoken-enroll respond [--whole] [CHALLENGE...]: the exit status. */
int cmd_respond(int argc, char **argv);

#endif
