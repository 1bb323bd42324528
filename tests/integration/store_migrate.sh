#!/bin/bash
# certtoken-admin store check and store migrate, files -> files (two store
# paths): a populated store (OTP tokens, CAs with a prepared next CA, issued
# and revoked certificates, a published CRL) copied and verified, the copy
# usable (its secrets decrypt under the destination's own key), a second
# run that writes nothing, a difference planted in the copy reported with
# exit 65, and store check finding a planted orphan index entry.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

user=$(id -un)
secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ # RFC 4226's test secret, base32

conf() { # conf NAME STORE: a configuration file NAME on STORE
	cat >"$T/$1" <<CONF
store: { path = "$2"; };
access_groups = ( { name = "default"; key_type = "ec-p256"; }, { name = "ops"; key_type = "ed25519"; } );
targets = ( { name = "api"; access_group = "default"; subject = "CN=%unix_account%"; },
            { name = "ops"; access_group = "ops"; subject = "CN=%unix_account%"; } );
CONF
}
conf a.conf "$T/a"
conf b.conf "$T/b"
A() { "$ADMIN" -c "$T/a.conf" "$@"; }
B() { "$ADMIN" -c "$T/b.conf" "$@"; }

# --- a populated source store ---------------------------------------------------
A ca init default >/dev/null && A ca init ops >/dev/null && A ca rotate ops --prepare >/dev/null &&
	A token init --user "$user" --type hotp --secret "$secret" >/dev/null &&
	A token init --user "$user" --type totp >/dev/null || {
	echo "Bail out! cannot populate the store"
	exit 1
}
hotp=$(A token list --user "$user" | awk '$3 == "hotp" { print $1 }')
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	openssl pkey -pubout -out "$T/pub.pem"
for t in api api ops; do A issue --user "$user" --target $t --pubkey "$T/pub.pem" >"$T/c.pem" &&
	openssl x509 -in "$T/c.pem" -noout -serial | cut -d= -f2 >>"$T/serials"; done
revoked=$(sed -n 2p "$T/serials")
A cert revoke "$revoked" --reason superseded >/dev/null
run_status 65 "crl --published before any crl names what to run" A crl default --published
grep_ok "...saying so" "no CRL of access group 'default' was published yet \\(run: certtoken-admin crl default\\)" "$ERR"
A crl default >"$T/printed.crl"
run_status 0 "crl publishes what it printed" A crl default --published
check "...byte for byte" cmp -s "$T/printed.crl" "$OUT"
check "...as crl/GROUP.pem, 0600" test "$(stat -c %a "$T/a/crl/default.pem")" = 600

run_status 0 "store check: a fresh store is consistent" A store check
grep_ok "...and says so" "^the files store is consistent$" "$OUT"

# --- files -> files ----------------------------------------------------------------
run_status 0 "store migrate copies into another files store and verifies it" \
	A store migrate --to files --config-to "$T/b.conf"
grep_ok "it counts what it copied" \
	"copied into the files store: tokens of 1 users, 3 index entries, 1 revocations, 0 pending requests, 0 uploads, 2 CAs, 1 CRLs" "$OUT"
grep_ok "and says the copy is verified" "^verified: the files store holds what the files store holds$" "$OUT"
check "the copy has its own secret key" test -f "$T/b/secret.key" -a "$(cmp -s "$T/a/secret.key" "$T/b/secret.key"; echo $?)" = 1
A token list >"$T/a.tokens"; B token list >"$T/b.tokens"
check "the tokens list the same" cmp -s "$T/a.tokens" "$T/b.tokens"
A cert list >"$T/a.certs"; B cert list >"$T/b.certs"
check "the index and revocations list the same" cmp -s "$T/a.certs" "$T/b.certs"
grep_ok "...with the revoked certificate revoked" "^$revoked .* revoked " "$T/b.certs"
for g in default ops; do A ca export $g >"$T/a.$g"; B ca export $g >"$T/b.$g"; done
check "both CAs export the same trust (the prepared CA too)" \
	sh -c "cmp -s '$T/a.default' '$T/b.default' && cmp -s '$T/a.ops' '$T/b.ops' && test \$(grep -c BEGIN '$T/b.ops') = 2"
check "the CA keys are copied byte for byte" cmp -s "$T/a/groups/ops/next.key" "$T/b/groups/ops/next.key"
run_status 0 "the published CRL is in the copy" B crl default --published
check "...the same one" sh -c "A() { \"$ADMIN\" -c '$T/a.conf' \"\$@\"; }; A crl default --published | cmp -s - '$OUT'"
if command -v oathtool >/dev/null; then
	c1=$(oathtool --hotp -c 5 "$(echo "$secret" | base32 -d | od -An -tx1 | tr -d ' \n')")
	c2=$(oathtool --hotp -c 6 "$(echo "$secret" | base32 -d | od -An -tx1 | tr -d ' \n')")
	run_status 0 "the copied HOTP secret decrypts under the copy's key and verifies codes" \
		B token resync "$hotp" "$c1" "$c2"
	# resync moved the copy's counter on: migrate reports that, one line, exit 65
	run_status 65 "a copy that differs from its source exits 65" A store migrate --to files --config-to "$T/b.conf"
	grep_ok "...naming the token and the field" "^user $user: token $hotp: counter differs$" "$OUT"
	check "...one line per difference" test "$(grep -c differs "$OUT")" = 1
	grep_ok "...and the count on standard error" "differs from the source in 1 place$" "$ERR"
	B token reset "$hotp" >/dev/null 2>&1
	rm -rf "$T/b"
	A store migrate --to files --config-to "$T/b.conf" >/dev/null 2>&1
else
	ok "# SKIP oathtool is not installed"
fi
run_status 0 "a second migrate finds everything there and writes nothing" \
	A store migrate --to files --config-to "$T/b.conf"
grep_ok "...counting nothing copied" "tokens of 0 users, 0 index entries, 0 revocations, 0 pending requests, 0 uploads, 0 CAs, 0 CRLs" "$OUT"

run_status 64 "migrating a files store onto itself is refused" A store migrate --to files
grep_ok "...saying why" "the destination is the source \\(backend files, path $T/a\\)" "$ERR"
run_status 64 "an unknown backend is a usage error" A store migrate --to nosuch --config-to "$T/b.conf"
grep_ok "...naming the known ones" "unknown store backend 'nosuch' \\(known: files" "$ERR"
run_status 64 "store migrate needs --to" A store migrate
run_status 64 "store check takes no arguments" A store check extra
run_status 64 "a bad --request-age is a usage error" A store check --request-age -1

# --- store check: a planted orphan index entry ---------------------------------------
orphan=$(sed -n 1p "$T/serials")
sed -i 's/^token=-$/token=CERTGONE0001/' "$T/a/certs/$orphan.pem"
run_status 1 "store check exits 1 when it finds an inconsistency" A store check
grep_ok "it names the orphan index entry, its token and its user" \
	"^certificate $orphan: its token CERTGONE0001 is not among the tokens of user $user" "$OUT"
check "one line per inconsistency" test "$(wc -l <"$OUT")" = 1
grep_ok "and counts them on standard error" "store check: 1 inconsistency found" "$ERR"
run_status 0 "the copy, which has no orphan, is consistent" B store check
run_status 65 "migrate reports the planted difference too" A store migrate --to files --config-to "$T/b.conf"
grep_ok "...as the index entry's token" "^certificate $orphan: token differs$" "$OUT"

# --- files -> ldap (in place) -> files, with a real slapd ------------------------------
. "$top_srcdir/tests/lib/slapd.sh"
if [ ! -x "$SLAPD_BIN" ]; then
	ok "# SKIP slapd is not installed"
	tap_done
fi
SLAPD_SCHEMA_EXTRA=$top_srcdir/schema/certtoken.schema
at_exit slapd_stop
if ! slapd_start "$T/slapd" 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi
BASE="ou=certtoken,dc=example,dc=org"
printf 'dn: %s\nobjectClass: organizationalUnit\nou: certtoken\n' "$BASE" >"$T/base.ldif"
slapd_load "$T/base.ldif" || { echo "Bail out! cannot load the base"; exit 1; }
lconf() { # lconf NAME BACKEND STORE
	conf "$1" "$3"
	sed -i "s|^store: .*|store: { backend = \"$2\"; path = \"$3\"; ldap: { uri = \"$SLAPD_URI\"; starttls = false; base = \"$BASE\"; bind_dn = \"$SLAPD_BIND_DN\"; bind_password_file = \"$SLAPD_BIND_PW_FILE\"; timeout = 2; }; };|" "$T/$1"
}
lconf lf.conf files "$T/l"
lconf ll.conf ldap "$T/l"
lconf lb.conf files "$T/lb"
LF() { "$ADMIN" -c "$T/lf.conf" "$@"; }
LL() { "$ADMIN" -c "$T/ll.conf" "$@"; }
LF ca init default >/dev/null && LF ca init ops >/dev/null && LF ca rotate ops --prepare >/dev/null &&
	LF token init --user "$user" --type hotp --secret "$secret" >/dev/null &&
	LF token init --user "$user" --type totp >/dev/null &&
	LF issue --user "$user" --target api --pubkey "$T/pub.pem" >"$T/l1.pem" &&
	LF issue --user "$user" --target ops --pubkey "$T/pub.pem" >/dev/null &&
	LF cert revoke "$(openssl x509 -in "$T/l1.pem" -noout -serial | cut -d= -f2)" >/dev/null &&
	LF crl default >/dev/null || { echo "Bail out! cannot populate the store"; exit 1; }
before=$(ls "$T/l/groups/ops")
run_status 0 "store migrate --to ldap copies a files store into the directory, in place, and verifies it" \
	LF store migrate --to ldap
grep_ok "...all of it" \
	"copied into the ldap store: tokens of 1 users, 2 index entries, 1 revocations, 0 pending requests, 0 uploads, 2 CAs, 1 CRLs" "$OUT"
grep_ok "...verified" "^verified: the ldap store holds what the files store holds$" "$OUT"
check "the CA keys stayed where they were (the same store.path)" \
	test "$(ls "$T/l/groups/ops")" = "$before"
check "...the X.509 and SSH CA keys among them" \
	test "$(ls "$T/l/groups/ops" | grep -c '\.key$')" -ge 4
for c in "token list" "cert list" "ca export default" "ca export ops" "crl default --published"; do
	LF $c >"$T/lf.out" 2>&1; LL $c >"$T/ll.out" 2>&1
	check "the ldap store answers '$c' as the files store did" cmp -s "$T/lf.out" "$T/ll.out"
done
lhotp=$(LL token list --user "$user" | awk '$3 == "hotp" { print $1 }')
if command -v oathtool >/dev/null; then
	hex=$(echo "$secret" | base32 -d | od -An -tx1 | tr -d ' \n')
	run_status 0 "the directory's HOTP secret decrypts with the shared key and verifies codes" \
		LL token resync "$lhotp" "$(oathtool --hotp -c 3 "$hex")" "$(oathtool --hotp -c 4 "$hex")"
	LF token resync "$lhotp" "$(oathtool --hotp -c 3 "$hex")" "$(oathtool --hotp -c 4 "$hex")" >/dev/null
fi
run_status 0 "the ldap store is consistent" LL store check
run_status 0 "and back: ldap -> files in another store" LL store migrate --to files --config-to "$T/lb.conf"
grep_ok "...verified" "^verified: the files store holds what the ldap store holds$" "$OUT"
"$ADMIN" -c "$T/lb.conf" token list >"$T/lb.out" 2>&1; LF token list >"$T/lf.out" 2>&1
check "...with the same tokens" cmp -s "$T/lf.out" "$T/lb.out"
run_status 0 "ldap -> files in place finds the files store equal" LL store migrate --to files
grep_ok "...and copies nothing" "tokens of 0 users, 0 index entries, 0 revocations, 0 pending requests, 0 uploads, 0 CAs, 0 CRLs" "$OUT"

tap_done
