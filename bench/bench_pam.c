/* Login latency through the real PAM stack: pam_start -> pam_authenticate ->
 * pam_end, one login per code read from CODES (one per line).
 *   bench_pam CONFDIR SERVICE USER CODES
 * Prints logins, failures, p50 and p99 in microseconds. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_appl.h>

#include "bench.h"

static const char *current;

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(current);
	*resp = r;
	return PAM_SUCCESS;
}

int
main(int argc, char **argv)
{
	struct pam_conv c = {conv, NULL};
	char line[64];
	double *lat = NULL, t0;
	size_t n = 0, cap = 0;
	int fails = 0, rc;
	FILE *f;

	if (argc != 5 || (f = fopen(argv[4], "r")) == NULL) {
		fprintf(stderr, "usage: bench_pam CONFDIR SERVICE USER CODES\n");
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		pam_handle_t *pamh = NULL;
		line[strcspn(line, "\n")] = '\0';
		current = line;
		if (n == cap &&
		    (lat = realloc(lat, (cap = cap ? 2 * cap : 1024) * sizeof(*lat))) == NULL)
			return 1;
		t0 = bench_now_us();
		rc = pam_start_confdir(argv[2], argv[3], &c, argv[1], &pamh);
		if (rc == PAM_SUCCESS)
			rc = pam_authenticate(pamh, 0);
		pam_end(pamh, rc);
		lat[n++] = bench_now_us() - t0;
		fails += rc != PAM_SUCCESS;
	}
	fclose(f);
	if (n == 0)
		return 1;
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	printf("logins %zu failures %d p50_us %.0f p99_us %.0f\n", n, fails, lat[n / 2],
	    lat[(n * 99) / 100]);
	free(lat);
	return fails == 0 ? 0 : 1;
}
