#!/bin/bash
# The LDAP store backend (store.backend = "ldap") against a real, throwaway
# slapd with the shipped schema (schema/certtoken.schema): token round
# trips, the assertion on ctRevision, racing updates, the index, the
# revocations, requests and uploads, a stopped or absent directory, a
# malformed entry, and the auth scenarios of test_auth on this backend.
# The cases are the cmocka program tests/unit/test_store_ldap; this script
# starts the server, hands its address over in the environment, and its
# TAP is the output.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd.sh"

[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v ldapadd >/dev/null || skip_all "ldap-utils are not installed"
PROG=$top_builddir/tests/unit/test_store_ldap
[ -x "$PROG" ] || skip_all "tests/unit/test_store_ldap is not built"

SLAPD_SCHEMA_EXTRA=$top_srcdir/schema/certtoken.schema
at_exit slapd_stop
if ! slapd_start "$T/slapd" 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi
printf 'dn: ou=certtoken,dc=example,dc=org\nobjectClass: organizationalUnit\nou: certtoken\n' \
	>"$T/base.ldif"
slapd_load "$T/base.ldif" || { echo "Bail out! cannot add the store's base"; exit 1; }

CT_TEST_BASE=ou=certtoken,dc=example,dc=org
CT_TEST_TMP=$T
export CT_TEST_BASE CT_TEST_TMP
"$PROG"
