/* What opening an LDAP connection costs, beside one operation on an open
 * one, through libldap against the same server.
 *   bench_ldap URI BIND_DN PASSWORD_FILE DN N
 * connect_bind: N times a new connection (ldap_initialize), a simple bind
 * as BIND_DN, and its unbind, as the PAM module pays per login for each
 * connection it opens; read: N base-scope reads of DN on one connection
 * opened once.  Prints runs, failures, p50 and p99 in microseconds. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldap.h>

#include "bench.h"

static void
report(const char *what, double *lat, size_t n, int fails)
{
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	printf("%s runs %zu failures %d p50_us %.1f p99_us %.1f\n", what, n, fails, lat[n / 2],
	    lat[(n * 99) / 100]);
}

/* A connection to URI bound as DN with PW, or NULL. */
static LDAP *
bound(const char *uri, const char *dn, struct berval *pw)
{
	int v3 = LDAP_VERSION3;
	LDAP *ld = NULL;

	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS)
		return NULL;
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, pw, NULL, NULL, NULL) != LDAP_SUCCESS) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	return ld;
}

static int
read_one(LDAP *ld, const char *dn)
{
	char *attrs[] = {"ctRevision", "ctToken", NULL};
	LDAPMessage *res = NULL;
	int lrc;

	lrc = ldap_search_ext_s(
	    ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, NULL, 0, &res);
	if (lrc == LDAP_SUCCESS && ldap_count_entries(ld, res) != 1)
		lrc = LDAP_NO_SUCH_OBJECT;
	ldap_msgfree(res);
	return lrc;
}

int
main(int argc, char **argv)
{
	char pw_text[256];
	struct berval pw;
	double *lat, t0;
	size_t n, i;
	int fails = 0;
	LDAP *ld;
	FILE *f;

	if (argc != 6 || (n = strtoul(argv[5], NULL, 10)) == 0 ||
	    (f = fopen(argv[3], "r")) == NULL) {
		fprintf(stderr, "usage: bench_ldap URI BIND_DN PASSWORD_FILE DN N\n");
		return 2;
	}
	if (fgets(pw_text, sizeof(pw_text), f) == NULL)
		pw_text[0] = '\0';
	fclose(f);
	pw_text[strcspn(pw_text, "\n")] = '\0';
	pw.bv_val = pw_text;
	pw.bv_len = strlen(pw_text);
	if ((lat = calloc(n, sizeof(*lat))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		t0 = bench_now_us();
		ld = bound(argv[1], argv[2], &pw);
		fails += ld == NULL;
		if (ld != NULL)
			ldap_unbind_ext_s(ld, NULL, NULL);
		lat[i] = bench_now_us() - t0;
	}
	report("connect_bind", lat, n, fails);
	if ((ld = bound(argv[1], argv[2], &pw)) == NULL)
		return 1;
	for (fails = 0, i = 0; i < n; i++) {
		t0 = bench_now_us();
		fails += read_one(ld, argv[4]) != LDAP_SUCCESS;
		lat[i] = bench_now_us() - t0;
	}
	report("read", lat, n, fails);
	ldap_unbind_ext_s(ld, NULL, NULL);
	free(lat);
	return fails == 0 ? 0 : 1;
}
