#!/bin/bash
# lib/ldapconn (the LDAP connection module) against a real, throwaway slapd:
# ldap://, StartTLS and ldaps:// with a CA file, ldapi:// with SASL EXTERNAL,
# a bind with a password file and anonymous, a wrong password, a wrong CA, a
# URI list falling through to the next server, a server that never answers
# (a socket the test program listens on), the deadline, the reconnect after
# the server went away, and the pool's bound and wait.  The cases are the
# cmocka program tests/unit/test_ldapconn; this script starts the server,
# hands its addresses over in the environment, and its TAP is the output.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd.sh"

[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v ldapadd >/dev/null || skip_all "ldap-utils are not installed"
PROG=$top_builddir/tests/unit/test_ldapconn
[ -x "$PROG" ] || skip_all "tests/unit/test_ldapconn is not built"

at_exit slapd_stop
if ! slapd_start "$T/slapd" tls 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi

# A second CA that did not sign the server certificate, and a wrong password.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other-ca.key" \
	-subj "/CN=some other CA" -days 2 -out "$T/other-ca.pem" 2>/dev/null
(umask 077 && printf 'not-the-password-4711\n' >"$T/wrong.pw")

SLAPD_LDAPI_URI="ldapi://$(slapd_urlencode "$SLAPD_DIR/ldapi")"
CT_TEST_OTHER_CA=$T/other-ca.pem
CT_TEST_WRONG_PW=$T/wrong.pw
CT_TEST_TMP=$T
export SLAPD_LDAPI_URI CT_TEST_OTHER_CA CT_TEST_WRONG_PW CT_TEST_TMP
"$PROG"
