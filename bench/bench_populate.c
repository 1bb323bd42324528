/* Fill a token store with N users user0 .. user<N-1>, each with one HOTP
 * token of the hex SECRET (for the PAM benchmark).
 *   bench_populate STORE N SECRET_HEX          the files store at STORE
 *   bench_populate -c CONF N SECRET_HEX [FIRST] the store CONF configures
 *                                              (the LDAP one), users FIRST..N-1 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "store.h"
#include "tokens.h"

#include "../tests/unit/open_store.h"

/* The store of configuration file PATH, to write tokens in. */
static int
open_conf(const char *path, struct ct_store **db, struct ct_err *err)
{
	struct ct_config *cfg = NULL;
	int rc;

	if ((rc = ct_config_load(path, 1, &cfg, NULL, err)) == CT_OK)
		rc = ct_store_open(cfg, CT_STORE_TOKENS | CT_STORE_CREATE, db, err);
	ct_config_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct ct_store *db = NULL;
	struct ct_user_tokens u;
	struct ct_err err = {0};
	char user[32];
	long i = 0, n;
	size_t k;
	int conf = argc >= 2 && strcmp(argv[1], "-c") == 0;

	argv += conf;
	argc -= conf;
	if ((argc != 4 && !(conf && argc == 5)) || (n = atol(argv[2])) <= 0 ||
	    strlen(argv[3]) % 2 != 0 || strlen(argv[3]) / 2 > CT_OTP_SECRET_MAX)
		return 2;
	if (argc == 5)
		i = atol(argv[4]);
	if ((conf ? open_conf(argv[1], &db, &err) : open_store(argv[1], 1, &db, &err)) != CT_OK) {
		fprintf(stderr, "bench_populate: %s\n", err.msg);
		return 1;
	}
	memset(&u, 0, sizeof(u));
	u.n = 1;
	u.tok[0].type = CT_TOKEN_HOTP;
	u.tok[0].algo = CT_OTP_SHA1;
	u.tok[0].active = 1;
	u.tok[0].digits = 6;
	u.tok[0].last_step = -1;
	u.tok[0].created = (int64_t)time(NULL);
	strcpy(u.tok[0].rollout_state, "enrolled");
	for (k = 0; k < strlen(argv[3]) / 2; k++)
		sscanf(argv[3] + 2 * k, "%2hhx", &u.tok[0].secret[k]);
	u.tok[0].secret_len = k;
	for (; i < n; i++) {
		struct ct_tokens_tx *tx = NULL;
		snprintf(user, sizeof(user), "user%ld", i);
		ct_tokens_new_serial("HOTP", u.tok[0].serial);
		if (ct_tokens_begin(db, user, &tx, &err) != CT_OK ||
		    ct_tokens_write(tx, &u, &err) != CT_OK) {
			fprintf(stderr, "bench_populate: %s\n", err.msg);
			return 1;
		}
		ct_tokens_end(tx);
	}
	ct_user_tokens_clear(&u);
	ct_store_close(db);
	return 0;
}
