#!/bin/bash
# The LDAP store's CA material against a real slapd with the shipped schema:
# a CA created on the CA host (keys in its own files, the certificates in
# the group entry), prepared and rotated, and trusted on a second host that
# has no keys (a verifier) through its local cache: a cache hit while slapd
# is stopped (SIGSTOP) and the cache is younger than cache_max_age, fail
# closed when it is older; the CRL published in the directory.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd.sh"

[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v ldapsearch >/dev/null || skip_all "ldapsearch is not installed"

export SLAPD_SCHEMA_EXTRA="$top_srcdir/schema/certtoken.schema"
at_exit slapd_stop
if ! slapd_start "$T/slapd" 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi
BASE="ou=certtoken,dc=example,dc=org"
printf 'dn: %s\nobjectClass: organizationalUnit\nou: certtoken\n' "$BASE" >"$T/base.ldif"
slapd_load "$T/base.ldif" || { echo "Bail out! cannot load the base"; exit 1; }

conf() { # conf NAME STORE_PATH CACHE_MAX_AGE
	cat >"$T/$1" <<CONF
store: { backend = "ldap"; path = "$2";
  ldap: { uri = "$SLAPD_URI"; starttls = false; base = "$BASE"; bind_dn = "$SLAPD_BIND_DN";
          bind_password_file = "$SLAPD_BIND_PW_FILE"; timeout = 1; cache_max_age = $3; }; };
access_groups = ( { name = "default"; key_type = "ec-p256"; } );
targets = ( { name = "api"; access_group = "default"; subject = "CN=%unix_account%"; } );
CONF
}
mkdir -m 0700 "$T/ca" "$T/v" "$T/v0"
conf ca.conf "$T/ca" 300
conf v.conf "$T/v" 300
conf v0.conf "$T/v0" 0
CA() { "$ADMIN" -c "$T/ca.conf" "$@"; }
V() { "$ADMIN" -c "$T/v.conf" "$@"; }
V0() { "$ADMIN" -c "$T/v0.conf" "$@"; }
group_attr() { # group_attr ATTR: its values in the group entry (base64 for binary ones)
	ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -D "$SLAPD_BIND_DN" -y "$SLAPD_BIND_PW_FILE" \
		-b "ctGroup=default,ou=groups,$BASE" -s base "$1" | sed -n "s/^$1:: *//p; s/^$1: *//p"
}

# --- the CA host creates the CA ----------------------------------------------------
run_status 65 "a group without a CA: the verifier says to run ca init" V ca export default
grep_ok "...as the files store does" "has no CA yet \\(run: certtoken-admin ca init default\\)" "$ERR"
run_status 0 "ca init on the CA host creates the CA in the directory" CA ca init default
check "the key stays in the CA host's files" test -f "$T/ca/groups/default/ca.key"
attrs=$(ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -D "$SLAPD_BIND_DN" -y "$SLAPD_BIND_PW_FILE" \
	-b "ctGroup=default,ou=groups,$BASE" -s base | sed -n 's/^\([A-Za-z]*\):.*/\1/p' | sort -u | tr '\n' ' ')
check "...and never goes to the directory: the entry holds the certificate, the SSH CA's public key and version only" \
	test "$attrs" = "ctCaCertificate ctCaVersion ctGroup ctSshCaPublicKey dn objectClass "
check "the SSH CA's key stays in the CA host's files too" test -f "$T/ca/groups/default/ssh_ca.key"
check "the group entry has version 1" test "$(group_attr ctCaVersion)" = 1
group_attr ctCaCertificate | base64 -d >"$T/ca.der"
run_status 0 "ctCaCertificate is the DER of the CA certificate" \
	openssl x509 -inform DER -in "$T/ca.der" -noout
CA ca export default >"$T/ca.export"
run_status 0 "the verifier (no keys) trusts the same CA" V ca export default
check "...byte for byte" cmp -s "$T/ca.export" "$OUT"
check "...read from the directory into its cache" test -f "$T/v/cache/default.ca"
check "the cache is 0600 in a 0700 directory" \
	test "$(stat -c %a "$T/v/cache" "$T/v/cache/default.ca" | tr '\n' ' ')" = "700 600 "
check "the verifier has no CA keys" test ! -e "$T/v/groups"
run_status 73 "ca init of a group with a CA is refused" CA ca init default

# --- a CA change needs the keys: only on the CA host -----------------------------
run_status 77 "the verifier cannot prepare the next CA (its keys are not there)" V ca rotate default --prepare
grep_ok "...saying so" "its CA keys are not on this host" "$ERR"
run_status 0 "ca rotate --prepare on the CA host" CA ca rotate default --prepare
check "the prepared CA is in the group entry, version 2" \
	test "$(group_attr ctCaVersion)" = 2 -a -n "$(group_attr ctCaNextCertificate)"
run_status 0 "a verifier without a cache trusts the prepared CA at once" V0 ca export default
check "...two anchors" test "$(grep -c 'BEGIN CERTIFICATE' "$OUT")" = 2
run_status 0 "the cached verifier still serves its cache (younger than cache_max_age)" V ca export default
check "...the one CA it read" test "$(grep -c 'BEGIN CERTIFICATE' "$OUT")" = 1
run_status 0 "ca rotate on the CA host" CA ca rotate default --overlap-hours 2
check "the rotation is one new version" test "$(group_attr ctCaVersion)" = 3
check "...with the previous CA and the end of its overlap" \
	test -n "$(group_attr ctCaPreviousCertificate)" -a -n "$(group_attr ctCaOverlapEnd)"
CA ca export default >"$T/rotated.export"
run_status 0 "the uncached verifier trusts the new and the previous CA" V0 ca export default
check "...as the CA host exports them" cmp -s "$T/rotated.export" "$OUT"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	openssl pkey -pubout -out "$T/pub.pem"
run_status 0 "the CA host issues with the rotated CA" CA issue --user "$(id -un)" --target api --pubkey "$T/pub.pem"
cp "$OUT" "$T/leaf.pem"
V0 ca export default >"$T/v0.export"
run_status 0 "the certificate verifies under the verifier's trust" openssl verify -CAfile "$T/v0.export" "$T/leaf.pem"

# --- the CRL -----------------------------------------------------------------------
CA crl default >"$T/printed.crl"
check "crl publishes into ctCrl (both CAs' CRLs during the overlap)" \
	test "$(group_attr ctCrl | base64 -d | openssl crl -inform DER -noout 2>/dev/null; echo $?)" = 0
check "...without a new CA version (but the CRL number's)" test "$(group_attr ctCaVersion)" = 4
run_status 0 "the verifier reads the published CRL" V0 crl default --published
check "...exactly as crl printed it" cmp -s "$T/printed.crl" "$OUT"
check "...two CRLs" test "$(grep -c 'BEGIN X509 CRL' "$OUT")" = 2
serial=$(openssl x509 -in "$T/leaf.pem" -noout -serial | cut -d= -f2)
CA cert revoke "$serial" >/dev/null && CA crl default >/dev/null
run_status 0 "after a revocation and crl, the verifier reads the new CRL" V0 crl default --published
check "...which lists the revoked certificate" sh -c "openssl crl -in '$OUT' -noout -text | grep -q 'Serial Number: $serial'"

# --- the cache while the directory hangs ---------------------------------------------
rm -rf "$T/v/cache"
V ca export default >/dev/null 2>&1
slapd_freeze
start=$(date +%s%N)
run_status 0 "slapd stopped: a cache younger than cache_max_age is used" V ca export default
check "...without waiting for the directory" test $(( ($(date +%s%N) - start) / 1000000 )) -lt 900
check "...the rotated trust" cmp -s "$T/rotated.export" "$OUT"
sed "s|base = \"$BASE\"|base = \"ou=other,dc=example,dc=org\"|" "$T/v.conf" >"$T/vb.conf"
run_status 69 "a cache read under another store.ldap.base is not served" "$ADMIN" -c "$T/vb.conf" ca export default
chmod 0770 "$T/v/cache"
run_status 69 "a cache directory writable by its group is not served" V ca export default
chmod 0700 "$T/v/cache"
run_status 0 "...and is served again once it is safe" V ca export default
old=$(( $(date +%s) - 301 ))
sed -i "1s/^certtoken-cache 2 [0-9]* /certtoken-cache 2 $old /" "$T/v/cache/default.ca"
start=$(date +%s%N)
run_status 69 "slapd stopped and the cache older than cache_max_age: fail closed (69)" V ca export default
check "...within the timeout" test $(( ($(date +%s%N) - start) / 1000000 )) -lt 4000
grep_ok "...saying why" "the cached CA material was read 30[0-9] s ago, longer than store.ldap.cache_max_age \\(300 s\\)" "$ERR"
run_status 69 "a verifier without a cache fails closed too" V0 ca export default
slapd_thaw
run_status 0 "the directory back: the verifier reads it again" V ca export default
check "...and refreshes its cache" test "$(sed -n '1s/^certtoken-cache 2 \([0-9]*\) .*/\1/p' "$T/v/cache/default.ca")" -gt "$old"

# --- keys that do not belong to the directory's CA ---------------------------------------
mkdir -m 0700 -p "$T/ca2/groups" && cp -a "$T/ca/groups/default" "$T/ca2/groups/"
conf ca2.conf "$T/ca2" 0
run_status 0 "another holder of the keys rotates the CA" "$ADMIN" -c "$T/ca2.conf" ca rotate default --overlap-hours 0
run_status 74 "the CA host's keys now belong to another CA: it refuses to sign" \
	CA issue --user "$(id -un)" --target api --pubkey "$T/pub.pem"
grep_ok "...saying so" "groups/default/ca.key: the CA host's key belongs to another CA than ctCaCertificate \\(version [0-9]+\\) of the directory" "$ERR"

# --- a malformed group entry is named --------------------------------------------------
printf 'dn: ctGroup=default,ou=groups,%s\nchangetype: modify\nreplace: ctCaCertificate\nctCaCertificate: not DER\n' \
	"$BASE" | ldapmodify -x -H "$SLAPD_URI" -D "$SLAPD_BIND_DN" -y "$SLAPD_BIND_PW_FILE" >/dev/null
run_status 74 "a certificate that is not DER is an error naming the entry" V0 ca export default
grep_ok "...and the attribute" "ctGroup=default,ou=groups,$BASE: ctCaCertificate: not one DER" "$ERR"

# --- a change that races another writer: the C cases ----------------------------------
if [ -x "$top_builddir/tests/unit/test_store_ldap_ca" ]; then
	printf 'dn: ou=copy,dc=example,dc=org\nobjectClass: organizationalUnit\nou: copy\n' >"$T/copy.ldif"
	slapd_load "$T/copy.ldif"
	run_status 0 "a change whose entry changed meanwhile conflicts, writes nothing, restores the files; a request and an upload copy exactly" \
		env CT_TEST_BASE="$BASE" CT_TEST_BASE2="ou=copy,dc=example,dc=org" CT_TEST_TMP="$T" \
		"$top_builddir/tests/unit/test_store_ldap_ca"
	grep -q "^not ok" "$OUT" && diag <"$OUT"
	grep_not "...none skipped" "^ok .* # SKIP" "$OUT"
else
	not_ok "tests/unit/test_store_ldap_ca is not built"
fi

tap_done
