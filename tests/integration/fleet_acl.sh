#!/bin/bash
# The access control of examples/slapd/slapd.conf, on two real slapd in
# mirror mode started from that file (tests/lib/slapd_mirror.sh): a host
# identity may change only the login state of existing user entries, the CA
# host's identity writes everything under the base, anonymous reads nothing
# there; and a change made on the write address reaches the other provider.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd_mirror.sh"

[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v ldapmodify >/dev/null || skip_all "ldap-utils are not installed"

at_exit slapd_mirror_stop
if ! slapd_mirror_start "$T/mirror" 2>"$T/mirror.err"; then
	echo "Bail out! cannot start the mirror pair: $(tr '\n' ' ' <"$T/mirror.err")"
	exit 1
fi
B=$MIRROR_BASE
W=$MIRROR_URI1 # the one write address

# bound WHO TOOL ARGS...: run an ldap tool bound as CA, HOST1, HOST2 or ANON
bound() {
	local who=$1 tool=$2 dn pw
	shift 2
	if [ "$who" = ANON ]; then
		"$tool" -x -o nettimeout=5 "$@"
	else
		dn=MIRROR_${who}_DN pw=MIRROR_${who}_PW_FILE
		"$tool" -x -o nettimeout=5 -D "${!dn}" -y "${!pw}" "$@"
	fi
}
# mod WANT DESC WHO [-e CONTROL] LDIF-TEXT: ldapmodify on the write address
mod() {
	local want=$1 desc=$2 who=$3 ctl=()
	shift 3
	[ "$1" != -e ] || { ctl=(-e "$2"); shift 2; }
	printf '%s\n' "$1" >"$T/op.ldif"
	run_status "$want" "$desc" bound "$who" ldapmodify -H "$W" "${ctl[@]}" -f "$T/op.ldif"
}
DER=$(printf 'not really DER' | base64 -w0)
NOW=$(date -u +%Y%m%d%H%M%SZ)

# --- the CA host writes everything -----------------------------------------------
mod 0 "the CA host adds a user entry" CA "dn: ctUser=alice,ou=users,$B
changetype: add
objectClass: ctUserState
ctUser: alice
ctRevision: 0
ctToken: serial=HOTP0000000000000001 type=hotp active=1 counter=0 secret=00"
mod 0 "the CA host adds an index entry" CA "dn: ctCertSerial=0A1B,ou=certs,$B
changetype: add
objectClass: ctIssuedCertificate
ctCertSerial: 0A1B
ctUser: alice
ctTarget: default
ctGroup: default
ctTokenSerial: CERT0000000000000001
ctCertificate:: $DER
ctNotAfter: $NOW"
mod 0 "the CA host adds a revocation" CA "dn: ctCertSerial=0C0D,ou=revoked,$B
changetype: add
objectClass: ctRevocation
ctCertSerial: 0C0D
ctGroup: default
ctRevokedAt: $NOW
ctRevocationReason: 1"
mod 0 "the CA host adds an access group" CA "dn: ctGroup=default,ou=groups,$B
changetype: add
objectClass: ctAccessGroup
ctGroup: default
ctCaVersion: 1
ctCaCertificate:: $DER"
mod 0 "the CA host adds a pending request" CA "dn: ctRequestToken=r1,ou=requests,$B
changetype: add
objectClass: ctRequest
ctRequestToken: r1
ctUser: alice
ctTarget: default
ctCreated: $NOW
ctCsr:: $DER"
mod 0 "the CA host changes the group's CRL under an assertion on ctCaVersion" CA \
	-e '!assert=(ctCaVersion=1)' "dn: ctGroup=default,ou=groups,$B
changetype: modify
replace: ctCrl
ctCrl:: $DER
-
replace: ctCaVersion
ctCaVersion: 2"

# --- a host changes login state, under the assertion ----------------------------------
mod 0 "host 1 replaces ctToken, ctSource, ctRevision, ctFailures, ctThrottleUntil (asserting ctRevision=0)" HOST1 \
	-e '!assert=(ctRevision=0)' "dn: ctUser=alice,ou=users,$B
changetype: modify
replace: ctToken
ctToken: serial=HOTP0000000000000001 type=hotp active=1 counter=1 secret=00
-
replace: ctSource
ctSource: id=0123456789abcdef failcount=1 until=0 last=1700000000 known=0
-
replace: ctRevision
ctRevision: 1
-
replace: ctFailures
ctFailures: 0
-
replace: ctThrottleUntil
ctThrottleUntil: $NOW"
mod 122 "a stale assertion (ctRevision=0 again) fails: assertionFailed (122)" HOST2 \
	-e '!assert=(ctRevision=0)' "dn: ctUser=alice,ou=users,$B
changetype: modify
replace: ctRevision
ctRevision: 1"
mod 0 "host 2 (on the same write address) changes it with the current revision" HOST2 \
	-e '!assert=(ctRevision=1)' "dn: ctUser=alice,ou=users,$B
changetype: modify
replace: ctRevision
ctRevision: 2
-
delete: ctThrottleUntil"
mod 0 "ORDERING on ctRevision: an assertion (ctRevision<=2) holds" HOST1 \
	-e '!assert=(ctRevision<=2)' "dn: ctUser=alice,ou=users,$B
changetype: modify
replace: ctFailures
ctFailures: 1"
check "the change made on provider 1 reaches provider 2" \
	slapd_mirror_wait "ctUser=alice,ou=users,$B" "(&(ctRevision=2)(ctFailures=1))"

# --- ...and nothing else ----------------------------------------------------------------
mod 50 "a host cannot change ctUser of a user entry (50)" HOST1 "dn: ctUser=alice,ou=users,$B
changetype: modify
replace: ctUser
ctUser: bob"
mod 50 "a host cannot add another attribute to a user entry" HOST1 "dn: ctUser=alice,ou=users,$B
changetype: modify
add: objectClass
objectClass: extensibleObject
-
add: description
description: x"
mod 50 "a host cannot add a user entry" HOST1 "dn: ctUser=mallory,ou=users,$B
changetype: add
objectClass: ctUserState
ctUser: mallory
ctRevision: 0"
mod 50 "a host cannot delete a user entry" HOST1 "dn: ctUser=alice,ou=users,$B
changetype: delete"
mod 50 "a host cannot write an index entry" HOST1 "dn: ctCertSerial=0A1B,ou=certs,$B
changetype: modify
replace: ctUser
ctUser: mallory"
mod 50 "a host cannot add an index entry" HOST2 "dn: ctCertSerial=0E0F,ou=certs,$B
changetype: add
objectClass: ctIssuedCertificate
ctCertSerial: 0E0F
ctUser: alice
ctTarget: default
ctGroup: default
ctTokenSerial: CERT0000000000000002
ctCertificate:: $DER"
mod 50 "a host cannot delete a revocation" HOST1 "dn: ctCertSerial=0C0D,ou=revoked,$B
changetype: delete"
mod 50 "a host cannot add a revocation" HOST2 "dn: ctCertSerial=0A1B,ou=revoked,$B
changetype: add
objectClass: ctRevocation
ctCertSerial: 0A1B
ctGroup: default
ctRevokedAt: $NOW
ctRevocationReason: 1"
mod 50 "a host cannot change a group's CA certificate" HOST1 "dn: ctGroup=default,ou=groups,$B
changetype: modify
replace: ctCaCertificate
ctCaCertificate:: $DER"
mod 50 "a host cannot change a pending request" HOST1 "dn: ctRequestToken=r1,ou=requests,$B
changetype: modify
replace: ctUser
ctUser: mallory"
mod 50 "a host cannot change its own password" HOST1 "dn: $MIRROR_HOST1_DN
changetype: modify
replace: userPassword
userPassword: x"

# --- who reads what ------------------------------------------------------------------------
run_status 0 "a host reads the index on the other provider (a read replica)" \
	bound HOST2 ldapsearch -LLL -H "$MIRROR_URI2" -b "ou=certs,$B" "(ctUser=alice)" ctCertSerial
grep_ok "...and finds the entry" "^ctCertSerial: 0A1B$" "$OUT"
bound HOST1 ldapsearch -LLL -H "$W" -b "$B" "(userPassword=*)" userPassword >"$OUT" 2>&1
grep_not "a host reads no password" "^userPassword" "$OUT"
bound ANON ldapsearch -LLL -H "$W" -b "$B" "(objectClass=*)" >"$OUT" 2>&1
grep_not "anonymous reads nothing under the base" "^dn:" "$OUT"
bound ANON ldapsearch -LLL -H "$MIRROR_URI2" -b "ctUser=alice,ou=users,$B" -s base >"$OUT" 2>&1
grep_not "...not even a user entry by its DN" "^(dn|ctToken):" "$OUT"
bound ANON ldapsearch -LLL -H "$W" -b "$MIRROR_SUFFIX" "(ctUser=*)" >"$OUT" 2>&1
grep_not "...nor from the suffix down" "^dn:" "$OUT"
mod 8 "anonymous writes nothing (8: modifications require authentication)" ANON "dn: ctUser=alice,ou=users,$B
changetype: modify
replace: ctRevision
ctRevision: 9"
printf 'wrong' >"$T/wrong.pw"
chmod 0600 "$T/wrong.pw"
run_status 49 "a host identity with a wrong password cannot bind (49)" \
	ldapsearch -x -o nettimeout=5 -H "$W" -D "$MIRROR_HOST1_DN" -y "$T/wrong.pw" -b "$B" -s base
check "every password file is 0600" test "$(stat -c %a "$MIRROR_CA_PW_FILE" "$MIRROR_HOST1_PW_FILE" \
	"$MIRROR_HOST2_PW_FILE" "$MIRROR_ROOT_PW_FILE" | sort -u)" = 600

# --- the CA host removes what it wrote ---------------------------------------------------
mod 0 "the CA host deletes a revocation" CA "dn: ctCertSerial=0C0D,ou=revoked,$B
changetype: delete"
check "...and the delete reaches provider 2" slapd_mirror_wait_gone "ctCertSerial=0C0D,ou=revoked,$B"
mod 0 "the CA host deletes a user entry" CA "dn: ctUser=alice,ou=users,$B
changetype: delete"

# --- the fixture's lagging replica (used by fleet.sh) -------------------------------------
check "provider 2 restarts without replication" slapd_mirror_detach 2
mod 0 "the CA host adds a revocation while provider 2 lags" CA "dn: ctCertSerial=0C0E,ou=revoked,$B
changetype: add
objectClass: ctRevocation
ctCertSerial: 0C0E
ctGroup: default
ctRevokedAt: $NOW
ctRevocationReason: 1"
sleep 1
check "...which provider 2 still lacks a second later" \
	test "$(slapd_mirror_has 2 "ctCertSerial=0C0E,ou=revoked,$B" "(objectClass=*)" && echo has)" = ""
check "provider 2 rejoins the mirror" slapd_mirror_attach 2
check "...and catches up" slapd_mirror_wait "ctCertSerial=0C0E,ou=revoked,$B"

tap_done
