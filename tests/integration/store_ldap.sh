#!/bin/bash
# The LDAP store backend (store.backend = "ldap") against a real, throwaway
# slapd with the shipped schema (schema/certtoken.schema): token round
# trips, the assertion on ctRevision, racing updates, the index, the
# revocations, requests and uploads, a stopped or absent directory, a
# malformed entry, and the auth scenarios of test_auth on this backend.
# The cases are the cmocka program tests/unit/test_store_ldap; this script
# starts the server, hands its address over in the environment, and its
# TAP is the output.  Before, it checks that schema/certtoken.schema and
# schema/certtoken.ldif define the same and that the .ldif loads into a
# cn=config (slapadd -n0).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd.sh"

[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v ldapadd >/dev/null || skip_all "ldap-utils are not installed"
PROG=$top_builddir/tests/unit/test_store_ldap
[ -x "$PROG" ] || skip_all "tests/unit/test_store_ldap is not built"

# The two forms of the schema say the same, and the cn=config one loads too
# (the slapd below loads the slapd.conf one).
schema_defs() { # FILE: each definition on one line, its words single-spaced
	sed -e '/^#/d' -e 's/^olcAttributeTypes: /attributetype /' \
		-e 's/^olcObjectClasses: /objectclass /' "$1" |
		awk '/^(attributetype|objectclass) /{if (d) print d; d=$0; next}
			/^[ \t]/{if (d) d=d" "$0; next} {if (d) print d; d=""} END{if (d) print d}' |
		tr -s ' \t' '  '
}
schema_defs "$top_srcdir/schema/certtoken.schema" >"$T/defs.schema"
schema_defs "$top_srcdir/schema/certtoken.ldif" >"$T/defs.ldif"
[ -s "$T/defs.schema" ] && cmp -s "$T/defs.schema" "$T/defs.ldif" ||
	{ echo "Bail out! schema/certtoken.schema and .ldif differ"; exit 1; }
mkdir -p "$T/cn-config"
{ printf 'dn: cn=config\nobjectClass: olcGlobal\ncn: config\n\n'
  printf 'dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n'
  cat /etc/ldap/schema/core.ldif; echo; cat "$top_srcdir/schema/certtoken.ldif"; } >"$T/config.ldif"
slapadd -n0 -F "$T/cn-config" -l "$T/config.ldif" >"$T/slapadd.log" 2>&1 ||
	{ echo "Bail out! schema/certtoken.ldif does not load: $(tr '\n' ' ' <"$T/slapadd.log")"; exit 1; }

SLAPD_SCHEMA_EXTRA=$top_srcdir/schema/certtoken.schema
# anonymous clients may not page (test_unpaged: a server that refuses the control)
SLAPD_LIMITS="limits anonymous size.prtotal=disabled"
at_exit slapd_stop
if ! slapd_start "$T/slapd" 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi
printf 'dn: ou=certtoken,dc=example,dc=org\nobjectClass: organizationalUnit\nou: certtoken\n' \
	>"$T/base.ldif"
slapd_load "$T/base.ldif" || { echo "Bail out! cannot add the store's base"; exit 1; }

# the same directory behind a proxy that delays each answer 1.5 s (a slow
# directory that still answers): SLAPD_SLOW_URI
slow_stop() { [ -z "${SLOW_PID:-}" ] || { kill "$SLOW_PID" 2>/dev/null; wait "$SLOW_PID" 2>/dev/null; }; }
if command -v python3 >/dev/null; then
	python3 "$top_srcdir/tests/lib/slow_proxy.py" "$T/slow.port" 127.0.0.1 "$SLAPD_PORT" 1.5 &
	SLOW_PID=$!
	at_exit slow_stop
	for _ in $(seq 50); do [ -s "$T/slow.port" ] && break; sleep 0.1; done
	[ -s "$T/slow.port" ] && export SLAPD_SLOW_URI="ldap://127.0.0.1:$(cat "$T/slow.port")"
fi

CT_TEST_BASE=ou=certtoken,dc=example,dc=org
CT_TEST_TMP=$T
SLAPD_LDAPI_URI="ldapi://$(slapd_urlencode "$SLAPD_DIR/ldapi")"
export CT_TEST_BASE CT_TEST_TMP SLAPD_LDAPI_URI
"$PROG"
