#!/bin/bash
# certtoken-admin with the LDAP attribute source against a real, throwaway
# slapd: plain ldap://, StartTLS and ldaps://; LDAP values in the subject and
# SANs; filter escaping; and every way the directory can fail (wrong password,
# wrong CA, a hung server, a stopped server).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd.sh"

[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v ldapadd >/dev/null || skip_all "ldap-utils are not installed"
[ -x "$ADMIN" ] || skip_all "certtoken-admin is not built"

TIMEOUT=2       # attributes.ldap.timeout in every configuration below
BASE="ou=people,dc=example,dc=org"

at_exit slapd_stop
if ! slapd_start "$T/slapd" tls 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi

cat >"$T/people.ldif" <<'LDIF'
dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice Example
givenName: Alice
sn: Example
telephoneNumber: +1 555 0100
o: Example Corp
ou: Engineering
title: Engineer
mail: alice@example.org
employeeNumber: 1001
description: R&D/Lab=7
userPassword: alice-secret

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
givenName: Bob
sn: Builder
o: Example Corp
ou: Operations
employeeNumber: 1002

dn: uid=x*y,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: x*y
cn: X Y
sn: Y
o: Example Corp
ou: Escaping
title: Tester
employeeNumber: 1003
LDIF
if ! slapd_load "$T/people.ldif" 2>"$T/load.err"; then
	echo "Bail out! cannot load the test entries: $(tr '\n' ' ' <"$T/load.err")"
	exit 1
fi

# A second CA that did not sign the server certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other-ca.key" \
	-subj "/CN=some other CA" -days 2 -out "$T/other-ca.pem" 2>/dev/null
printf 'not-the-password' >"$T/wrong.pw"
chmod 0600 "$T/wrong.pw"

# write_conf NAME URI STARTTLS CA_FILE PW_FILE: $T/NAME.conf for the LDAP source.
write_conf() {
	local ca=""
	[ -z "$4" ] || ca="ca_file = \"$4\";"
	cat >"$T/$1.conf" <<CONF
store: { path = "$T/store"; };
attributes: { source = "ldap";
  ldap: { uri = "$2"; starttls = $3; $ca
          bind_dn = "$SLAPD_BIND_DN"; bind_password_file = "$5";
          base = "$BASE"; filter = "(uid=%u)"; timeout = $TIMEOUT;
          map: { company = "o"; department = "ou"; }; }; };
access_groups = ( { name = "default"; key_type = "ec-p256"; ca_days = 3650; } );
templates = ( { name = "client"; key_usage = ["DigitalSignature"];
                extended_key_usage = ["ClientAuth"]; } );
targets = (
  { name = "api"; access_group = "default"; template = "client";
    subject = "CN=%unix_account%/O=%company%/OU=%department%/title=%job_title%/2.5.4.5=%employeeNumber%";
    san = "UPN=%principal%/URI=urn:x:%distinguishedname%";
    lifetime = 3600; backdate = 60; ca_connector = "local"; },
  { name = "desc"; access_group = "default"; template = "client";
    subject = "CN=%unix_account%/OU=%description%"; san = "UPN=%principal%";
    lifetime = 600; },
  { name = "names"; access_group = "default"; template = "client";
    subject = "CN=%name%/GN=%first_name%/SN=%last_name%/serialNumber=%external_id%";
    san = "UPN=%username%"; lifetime = 600; },
  { name = "secret"; access_group = "default"; template = "client";
    subject = "CN=%userPassword%"; lifetime = 600; } );
CONF
}
PW=$SLAPD_BIND_PW_FILE
write_conf plain "$SLAPD_URI" false "" "$PW"
write_conf starttls "$SLAPD_URI" true "$SLAPD_CA" "$PW"
write_conf ldaps "$SLAPD_LDAPS_URI" false "$SLAPD_CA" "$PW"
write_conf badpw "$SLAPD_URI" false "" "$T/wrong.pw"
write_conf badca-starttls "$SLAPD_URI" true "$T/other-ca.pem" "$PW"
write_conf badca-ldaps "$SLAPD_LDAPS_URI" false "$T/other-ca.pem" "$PW"
write_conf noca-starttls "$SLAPD_URI" true "" "$PW"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/user.key" 2>/dev/null
openssl pkey -in "$T/user.key" -pubout -out "$T/user.pub" 2>/dev/null

# subject FILE / sans FILE: the certificate's subject (RFC 2253, one line) and SANs.
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 2>&1; }
sans() { openssl x509 -in "$1" -noout -ext subjectAltName 2>&1; }

# --- CA ------------------------------------------------------------------------
run_status 0 "ca init creates the group CA" "$ADMIN" -c "$T/plain.conf" ca init default
run_status 0 "ca export prints the group CA" "$ADMIN" -c "$T/plain.conf" ca export default
cp "$OUT" "$T/ca.pem"
grep_ok "the exported CA is PEM" "BEGIN CERTIFICATE" "$T/ca.pem"

# --- issuance over each transport ------------------------------------------------
# issue_as NAME CONF USER TARGET: issue into $T/NAME.pem, expecting success.
issue_as() {
	run_status 0 "$1: issue --user $3 --target $4" \
		"$ADMIN" -c "$T/$2.conf" issue --user "$3" --target "$4" --pubkey "$T/user.pub"
	cp "$OUT" "$T/$1.pem"
	subject "$T/$1.pem" >"$T/$1.subject"
	sans "$T/$1.pem" >"$T/$1.san"
	run_status 0 "$1: the certificate verifies against the group CA" \
		openssl verify -CAfile "$T/ca.pem" "$T/$1.pem"
}

issue_as plain plain alice api
grep_ok "plain: CN is the LDAP uid" "(^|[,=])CN=alice(,|$)" "$T/plain.subject"
grep_ok "plain: O is the mapped LDAP o" "(^|[,= ])O=Example Corp(,|$)" "$T/plain.subject"
grep_ok "plain: OU is the mapped LDAP ou" "(^|[,= ])OU=Engineering(,|$)" "$T/plain.subject"
grep_ok "plain: title is the LDAP title (job_title)" "(^|[,= ])title=Engineer(,|$)" "$T/plain.subject"
grep_ok "plain: the custom attribute employeeNumber fills 2.5.4.5" \
	"(^|[,= ])serialNumber=1001(,|$)" "$T/plain.subject"
grep_ok "plain: UPN SAN is the principal" "UPN:+alice" "$T/plain.san"
ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -b "$BASE" '(uid=alice)' dn entryUUID \
	>"$T/alice.ldif" 2>/dev/null
alice_dn=$(sed -n 's/^dn: //p' "$T/alice.ldif")
alice_uuid=$(sed -n 's/^entryUUID: //p' "$T/alice.ldif")
check "ldapsearch finds alice's DN and entryUUID" test -n "$alice_dn" -a -n "$alice_uuid"
grep_ok "plain: %distinguishedname% is the entry DN" "URI:urn:x:$alice_dn(,|$)" "$T/plain.san"

issue_as starttls starttls alice api
grep_ok "starttls: subject carries the LDAP values" "CN=alice" "$T/starttls.subject"
issue_as ldaps ldaps alice api
grep_ok "ldaps: subject carries the LDAP values" "CN=alice" "$T/ldaps.subject"

# --- values are data -----------------------------------------------------------
issue_as desc plain alice desc
openssl x509 -in "$T/desc.pem" -noout -subject -nameopt multiline >"$T/desc.multi" 2>&1
grep_ok "a value with '/' and '=' stays one OU value" \
	"organizationalUnitName *= R&D/Lab=7$" "$T/desc.multi"
check "the subject has exactly two RDNs (CN, OU)" \
	test "$(grep -c ' = ' "$T/desc.multi")" = 2
grep_not "no RDN was split off at '/' or '='" "^ *(Lab|D) *=" "$T/desc.multi"

issue_as names starttls alice names
grep_ok "names: CN is the LDAP cn" "(^|[,=])CN=Alice Example(,|$)" "$T/names.subject"
grep_ok "names: GN is givenName" "(^|[,=])GN=Alice(,|$)" "$T/names.subject"
grep_ok "names: SN is sn" "(^|[,=])SN=Example(,|$)" "$T/names.subject"
grep_ok "names: %external_id% is the entryUUID" "serialNumber=$alice_uuid" "$T/names.subject"

run_status 0 "render over ldaps prints the expanded patterns" \
	"$ADMIN" -c "$T/ldaps.conf" render --user alice --target api
grep_ok "render shows the LDAP values" "Example Corp" "$OUT"
grep_ok "render shows the entry DN" "$alice_dn" "$OUT"

# --- who is found --------------------------------------------------------------
run_status 0 "a uid with '*' is found by its exact name" \
	"$ADMIN" -c "$T/plain.conf" render --user 'x*y' --target api
grep_ok "the exact entry, not another one" "x\\*y" "$OUT"
grep_not "the wildcard did not pick alice" "alice" "$OUT"
run_status 65 "an unknown user is bad input (65)" \
	"$ADMIN" -c "$T/plain.conf" render --user nosuch --target api
grep_ok "the error names the user" "nosuch" "$ERR"
for u in '*' 'a*' '*)(uid=*' 'alice)(uid=*' 'carol)'; do
	run_status 65 "filter injection '$u' is not found (escaped, matches nobody)" \
		"$ADMIN" -c "$T/plain.conf" issue --user "$u" --target api --pubkey "$T/user.pub"
	grep_not "no certificate for '$u'" "BEGIN CERTIFICATE" "$OUT"
done

# --- missing and secret attributes -------------------------------------------------
run_status 65 "an attribute the entry lacks fails issuance (bob has no title)" \
	"$ADMIN" -c "$T/plain.conf" issue --user bob --target api --pubkey "$T/user.pub"
grep_ok "the error names the missing attribute" "job_title" "$ERR"
grep_not "no certificate with a hole in it" "BEGIN CERTIFICATE" "$OUT"
run_status 65 "credential attributes are never exposed (%userPassword%)" \
	"$ADMIN" -c "$T/plain.conf" render --user alice --target secret
grep_ok "the error names userPassword" "userPassword" "$ERR"
grep_not "the password is not printed" "alice-secret" "$OUT"
grep_not "the password is not in the error" "alice-secret" "$ERR"

# --- the directory refuses or cannot be trusted -------------------------------------
run_status 69 "a wrong bind password is 'unavailable' (69)" \
	"$ADMIN" -c "$T/badpw.conf" render --user alice --target api
grep_ok "the error names the LDAP server" "$SLAPD_URI" "$ERR"
grep_ok "the error gives the LDAP reason" "Invalid credentials" "$ERR"
check "the error is one line" test "$(wc -l <"$ERR")" -le 1
run_status 69 "StartTLS with the wrong ca_file is 69" \
	"$ADMIN" -c "$T/badca-starttls.conf" render --user alice --target api
grep_ok "the StartTLS error names the server" "$SLAPD_URI" "$ERR"
run_status 69 "StartTLS without the test CA (system trust) is 69, no cleartext fallback" \
	"$ADMIN" -c "$T/noca-starttls.conf" render --user alice --target api
run_status 69 "ldaps with the wrong ca_file is 69" \
	"$ADMIN" -c "$T/badca-ldaps.conf" render --user alice --target api
grep_ok "the ldaps error names the server" "$SLAPD_LDAPS_URI" "$ERR"

# --- a hung server ---------------------------------------------------------------
now() { date +%s.%N; }
# timed_69 DESC CONF: exit 69 and within TIMEOUT+3 seconds.
timed_69() {
	local t0 t1 el
	t0=$(now)
	run_status 69 "$1: exit 69" "$ADMIN" -c "$T/$2.conf" render --user alice --target api
	t1=$(now)
	el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	check "$1: gave up after ${el}s (timeout ${TIMEOUT}s, limit $((TIMEOUT + 3))s)" \
		awk -v e="$el" -v l="$((TIMEOUT + 3))" 'BEGIN { exit !(e < l) }'
}
if slapd_freeze; then
	timed_69 "frozen slapd over ldap://" plain
	timed_69 "frozen slapd over StartTLS" starttls
	timed_69 "frozen slapd over ldaps://" ldaps
	slapd_thaw
else
	not_ok "slapd_freeze"
fi
run_status 0 "after the server wakes up, lookups work again" \
	"$ADMIN" -c "$T/starttls.conf" render --user alice --target api

# --- a stopped server -------------------------------------------------------------
slapd_stop
run_status 69 "a stopped slapd (connection refused) is 69" \
	"$ADMIN" -c "$T/plain.conf" render --user alice --target api
grep_ok "the error names the server" "$SLAPD_URI" "$ERR"
run_status 69 "a stopped slapd over ldaps is 69" \
	"$ADMIN" -c "$T/ldaps.conf" render --user alice --target api
check "no slapd of ours is left running" test ! -e "$SLAPD_PIDFILE"

tap_done
