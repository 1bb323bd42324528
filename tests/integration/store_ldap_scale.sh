#!/bin/bash
# The LDAP store at fleet scale: more users, certificates and revocations
# than slapd gives one search (its default `sizelimit 500`, which binds
# every identity but the rootdn).  slapd runs from examples/slapd/slapd.conf
# (tests/lib/slapd_mirror.sh: its ACLs and identities, no limits changed);
# this script checks that the limit is in force for a host identity, loads
# the users and revocations, and runs tests/unit/test_store_ldap_scale
# (cmocka), which walks them as a host and as the CA host.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd_mirror.sh"
. "$top_srcdir/tests/lib/tap.sh"

[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v ldapadd >/dev/null || skip_all "ldap-utils are not installed"
PROG=$top_builddir/tests/unit/test_store_ldap_scale
[ -x "$PROG" ] || skip_all "tests/unit/test_store_ldap_scale is not built"

N=1200 # more than twice the server's limit
FIRST=$((0x5C0000)) # test_store_ldap_scale.c: SERIAL_FIRST

at_exit slapd_mirror_stop
if ! slapd_mirror_start "$T/mirror" 2>"$T/mirror.err"; then
	echo "Bail out! cannot start slapd: $(tr '\n' ' ' <"$T/mirror.err")"
	exit 1
fi
B=$MIRROR_BASE

for ((i = 0; i < N; i++)); do
	printf 'dn: ctUser=user%d,ou=users,%s\nobjectClass: ctUserState\nctUser: user%d\n' \
		"$i" "$B" "$i"
	printf 'ctRevision: 1\nctToken: serial=T%d type=hotp active=1\n\n' "$i"
	s=$(printf '%06X' $((FIRST + i)))
	printf 'dn: ctCertSerial=%s,ou=revoked,%s\nobjectClass: ctRevocation\n' "$s" "$B"
	printf 'ctCertSerial: %s\nctGroup: staff\nctRevokedAt: 20251205000000Z\n' "$s"
	printf 'ctRevocationReason: 1\n\n'
done >"$T/scale.ldif"
slapd_mirror_load "$T/scale.ldif" || { echo "Bail out! cannot load $N entries"; exit 1; }

# the limit binds a host: a search that is not paged is cut at 500 (exit 4,
# sizeLimitExceeded); without it this test would prove nothing
ldapsearch -x -LLL -o nettimeout=5 -H "$MIRROR_URI1" -D "$MIRROR_HOST1_DN" \
	-y "$MIRROR_HOST1_PW_FILE" -b "ou=revoked,$B" -s one '(objectClass=ctRevocation)' dn \
	>"$T/unpaged.out" 2>&1
rc=$?
got=$(grep -c '^dn:' "$T/unpaged.out")
if [ "$rc" != 4 ] || [ "$got" -ge "$N" ]; then
	echo "Bail out! an unpaged search as a host was not cut by the size limit (exit $rc, $got entries)"
	exit 1
fi

CT_SCALE_N=$N
CT_TEST_TMP=$T
export CT_SCALE_N CT_TEST_TMP
"$PROG"
