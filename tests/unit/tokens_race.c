/* tokens_race: drive the token store from several processes at once.
 *
 *   tokens_race STORE USER N             N children each run 50 transactions
 *                                        (begin, read, counter+1, write, end) on
 *                                        USER's first token; the final counter
 *                                        must be N*50 (USER starts at 0)
 *   tokens_race STORE USER write-forever the same transaction in a loop until
 *                                        killed (for a kill -9 test); prints
 *                                        "ready" after the first one
 *   tokens_race STORE USER check         read USER's tokens and print the counter
 *
 * STORE is created (0700) when missing.  Exit 0 on success, 1 with the reason
 * on stderr otherwise. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tokens.h"

#include "open_store.h"

#define ROUNDS 50
#define CHILDREN_MAX 1000

static int
fail(const char *what, const struct ct_err *err)
{
	if (err != NULL)
		fprintf(stderr, "tokens_race: %s: %s\n", what, err->msg);
	else
		fprintf(stderr, "tokens_race: %s\n", what);
	return 1;
}

/* Give USER a single HOTP token with counter 0. */
static int
reset_user(struct ct_store *db, const char *user)
{
	struct ct_user_tokens t;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	int rc;

	memset(&t, 0, sizeof(t));
	strcpy(t.tok[0].serial, "HOTPRACE");
	t.tok[0].type = CT_TOKEN_HOTP;
	t.tok[0].active = 1;
	t.tok[0].algo = CT_OTP_SHA1;
	t.tok[0].digits = 6;
	t.tok[0].period = 30;
	t.tok[0].secret_len = 20;
	memset(t.tok[0].secret, 0x5a, 20);
	t.tok[0].last_step = -1;
	strcpy(t.tok[0].rollout_state, "enrolled");
	strcpy(t.tok[0].description, "tokens_race");
	t.n = 1;
	if ((rc = ct_tokens_begin(db, user, &tx, &err)) == CT_OK)
		rc = ct_tokens_write(tx, &t, &err);
	ct_tokens_end(tx);
	ct_user_tokens_clear(&t);
	return rc == CT_OK ? 0 : fail("reset", &err);
}

/* One transaction: the first token's counter goes up by one. */
static int
bump(struct ct_store *db, const char *user)
{
	struct ct_user_tokens t;
	struct ct_tokens_tx *tx = NULL;
	struct ct_err err = {0};
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = ct_tokens_begin(db, user, &tx, &err)) == CT_OK &&
	    (rc = ct_tokens_read(tx, &t, &err)) == CT_OK) {
		t.tok[0].counter++;
		rc = ct_tokens_write(tx, &t, &err);
	}
	ct_tokens_end(tx);
	ct_user_tokens_clear(&t);
	return rc == CT_OK ? 0 : fail("transaction", &err);
}

static int
counter_of(struct ct_store *db, const char *user, uint64_t *out)
{
	struct ct_user_tokens t;
	struct ct_err err = {0};

	if (ct_tokens_peek(db, user, &t, &err) != CT_OK)
		return fail("read", &err);
	*out = t.tok[0].counter;
	ct_user_tokens_clear(&t);
	return 0;
}

static int
child(const char *store, const char *user)
{
	struct ct_store *db = NULL;
	struct ct_err err = {0};
	int i, rc = 0;

	if (open_store(store, 0, &db, &err) != CT_OK)
		return fail("open", &err);
	for (i = 0; i < ROUNDS && rc == 0; i++)
		rc = bump(db, user);
	ct_store_close(db);
	return rc;
}

static int
race(struct ct_store *db, const char *store, const char *user, long n)
{
	pid_t pids[CHILDREN_MAX];
	uint64_t got = 0;
	int i, status, bad = 0;

	if (reset_user(db, user) != 0)
		return 1;
	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) < 0) {
			perror("tokens_race: fork");
			n = i;
			bad = 1;
			break;
		}
		if (pids[i] == 0)
			_exit(child(store, user));
	}
	for (i = 0; i < n; i++)
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			bad = 1;
	if (bad)
		return fail("a child failed", NULL);
	if (counter_of(db, user, &got) != 0)
		return 1;
	if (got != (uint64_t)n * ROUNDS) {
		fprintf(stderr, "tokens_race: lost updates: counter %" PRIu64 ", expected %ld\n",
		    got, n * ROUNDS);
		return 1;
	}
	printf("ok: %ld processes x %d transactions, counter %" PRIu64 "\n", n, ROUNDS, got);
	return 0;
}

static int
write_forever(struct ct_store *db, const char *user)
{
	struct ct_user_tokens t;
	struct ct_err err = {0};
	int rc = ct_tokens_peek(db, user, &t, &err);

	ct_user_tokens_clear(&t);
	if (rc == CT_ENOENT && reset_user(db, user) != 0)
		return 1;
	if (rc != CT_OK && rc != CT_ENOENT)
		return fail("read", &err);
	if (bump(db, user) != 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		if (bump(db, user) != 0)
			return 1;
}

int
main(int argc, char **argv)
{
	struct ct_store *db = NULL;
	struct ct_err err = {0};
	uint64_t got = 0;
	char *end;
	long n;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: tokens_race STORE USER N|write-forever|check\n");
		return 1;
	}
	if (mkdir(argv[1], 0700) != 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	if (open_store(argv[1], 1, &db, &err) != CT_OK)
		return fail("open", &err);
	if (strcmp(argv[3], "write-forever") == 0)
		rc = write_forever(db, argv[2]);
	else if (strcmp(argv[3], "check") == 0) {
		if ((rc = counter_of(db, argv[2], &got)) == 0)
			printf("counter=%" PRIu64 "\n", got);
	} else {
		errno = 0;
		n = strtol(argv[3], &end, 10);
		if (errno != 0 || *end != '\0' || end == argv[3] || n < 1 || n > CHILDREN_MAX)
			rc = fail("N must be 1-1000, write-forever or check", NULL);
		else
			rc = race(db, argv[1], argv[2], n);
	}
	ct_store_close(db);
	return rc;
}
