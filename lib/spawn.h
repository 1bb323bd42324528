/* Running a configured program: no shell, a clean environment, a time
 * limit.
 *
 * The program (ARGV[0], an absolute path) runs in its own process group
 * with stdin fed from memory, stdout and stderr captured up to a cap, and
 * every other descriptor closed.  Its environment holds only PATH and the
 * NAME=VALUE strings the caller gives.  When the time limit passes the
 * whole process group is killed (SIGKILL) and reaped: nothing outlives the
 * call.  Safe to call from any thread of a threaded service (fork, then only
 * async-signal-safe calls until execve). */
#ifndef CT_SPAWN_H
#define CT_SPAWN_H

#include <stddef.h>
#include <stdint.h>

#include "ct.h"

#define CT_SPAWN_OUT_MAX (256 * 1024) /* bytes of stdout kept */
#define CT_SPAWN_ERR_MAX 4096 /* bytes of stderr kept */
#define CT_SPAWN_ENV_MAX 16

struct ct_spawn {
	char *const *argv; /* NULL-terminated; argv[0] absolute */
	const char *env[CT_SPAWN_ENV_MAX + 1]; /* "NAME=VALUE", NULL-terminated */
	const unsigned char *in; /* written to stdin, then stdin is closed */
	size_t in_len;
	int timeout_ms; /* the whole run */
};

struct ct_spawn_result {
	int exited; /* 1: exited with STATUS; 0: killed by a signal or timed out */
	int status; /* exit status when exited */
	int timed_out; /* 1: killed because the time limit passed */
	int signal; /* the signal that ended it, when not exited */
	unsigned char *out; /* stdout, NUL-terminated (OUT_LEN excludes the NUL) */
	size_t out_len;
	int out_truncated; /* more than CT_SPAWN_OUT_MAX: the rest was dropped */
	char err[CT_SPAWN_ERR_MAX + 1]; /* stderr, NUL-terminated */
};

/* Run S and wait for it.  CT_OK whenever the program ran, whatever it did
 * (look at RES); CT_EUNAVAIL when it could not be started (fork, exec, no
 * such program: the message says which), CT_ENOMEM.  RES->out is freed by
 * ct_spawn_result_clear. */
int ct_spawn_run(const struct ct_spawn *s, struct ct_spawn_result *res, struct ct_err *err);

void ct_spawn_result_clear(struct ct_spawn_result *res);

/* One line describing how the run ended, for logs: "exit 3", "killed by
 * signal 9", "timed out after 2 s", with the first line of stderr (control
 * characters replaced) when there is one. */
void ct_spawn_describe(const struct ct_spawn *s, const struct ct_spawn_result *res, char *out,
    size_t outsz);

#endif
