#!/bin/bash
# A fleet on OpenLDAP (store.backend = "ldap"): two real slapd in mirror mode
# (tests/lib/slapd_mirror.sh, from examples/slapd/) and two hosts, each a
# configuration file with its own PAM stack (the real Linux-PAM library) and
# its own local store directory (secret.key copied from the CA host, cache):
#   host A, the CA host: certtokend and certtoken-admin, identity cn=ca-host,
#           reads provider 1;
#   host B: only pam_certtoken, identity cn=host2.example.org, reads
#           provider 2 (a replica for it);
# both write to provider 1, the one write address.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd_mirror.sh"

DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
MODULE=$top_builddir/.libs/pam_certtoken.so
HARNESS=$top_builddir/tests/pam/pam_harness
[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, runs certtokend)"
[ -x "$DAEMON" ] && [ -x "$ENROLL" ] && [ -f "$MODULE" ] || skip_all "not built"
[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v ldapmodify >/dev/null || skip_all "ldap-utils are not installed"
command -v oathtool >/dev/null || skip_all "oathtool is not installed"
command -v setpriv >/dev/null || skip_all "setpriv is not installed"
T0=$(date +%s.%N)

at_exit slapd_mirror_stop
if ! slapd_mirror_start "$T/mirror" 2>"$T/mirror.err"; then
	echo "Bail out! cannot start the mirror pair: $(tr '\n' ' ' <"$T/mirror.err")"
	exit 1
fi
B=$MIRROR_BASE
TIMEOUT=2 # store.ldap.timeout of both hosts

# --- two hosts -------------------------------------------------------------------------
U=ctflt$$
make_user "$U" /usr/sbin/nologin "Fleet Tester"
mkdir -m 0755 "$T/run"
SOCK=$T/run/enroll.sock
# host_conf NAME READ_URI BIND_DN PW_FILE: $T/NAME.conf, store in $T/NAME
host_conf() {
	cat >"$T/$1.conf" <<CONF
store: { backend = "ldap"; path = "$T/$1";
  ldap: { uri = "$2"; write_uri = "$MIRROR_URI1"; starttls = false;
          bind_dn = "$3"; bind_password_file = "$4"; base = "$B";
          timeout = $TIMEOUT; cache_max_age = 300; }; };
socket = "$SOCK";
service: { timeout = 10; };
otp: { hotp_lookahead = 5; throttle_after = 4; throttle_base = 60; };
access_groups = ( { name = "default"; } );
targets = ( { name = "default"; access_group = "default"; template = "client";
              subject = "CN=%unix_account%"; lifetime = 600; backdate = 30; } );
CONF
}
host_conf a "$MIRROR_URI1" "$MIRROR_CA_DN" "$MIRROR_CA_PW_FILE"
host_conf b "$MIRROR_URI2" "$MIRROR_HOST2_DN" "$MIRROR_HOST2_PW_FILE"
# host A before the migration: the same file with the files backend
sed 's/backend = "ldap"/backend = "files"/' "$T/a.conf" >"$T/files.conf"
A() { "$ADMIN" -c "$T/a.conf" "$@"; }
for h in a b; do
	mkdir -m 0700 "$T/pam$h"
	M="$MODULE config=$T/$h.conf"
	printf '%s\n' "auth required $M otp" "account required $M" >"$T/pam$h/otp"
	printf '%s\n' "auth required $M" >"$T/pam$h/login"
	printf '%s\n' "auth required $M otp" "account required $M" >"$T/pam$h/certtoken-enroll"
	printf '%s\n' "auth required pam_deny.so" >"$T/pam$h/other"
done

SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
TSECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
hotp() { oathtool --hotp -b -c "$1" "$SECRET"; }
# login HOST WANT DESC [--respond CMD] SERVICE USER [ANSWER...]: the PAM
# result on HOST matches WANT
login() {
	local h=$1 want=$2 desc=$3 r=()
	shift 3
	[ "$1" != --respond ] || { r=(--respond "$2"); shift 2; }
	"$HARNESS" "${r[@]}" "$T/pam$h" "$@" >"$OUT" 2>"$ERR"
	grep_ok "$desc" "^authenticate: $want" "$OUT"
}
# synced USER: provider 2 holds USER's latest state (provider 1's ctRevision)
synced() {
	local dn="ctUser=$1,ou=users,$B" rev
	rev=$(slapd_mirror_value 1 "$dn" ctRevision)
	[ -n "$rev" ] && slapd_mirror_wait "$dn" "(ctRevision=$rev)"
}
OK=Success
NO="Authentication failure"
UNAVAIL="Authentication service cannot retrieve authentication info"

# --- host A starts as a single host with a files store, then migrates ------------------
F() { "$ADMIN" -c "$T/files.conf" "$@"; }
mkdir -m 0700 "$T/pamfiles"
printf '%s\n' "auth required $MODULE config=$T/files.conf otp" >"$T/pamfiles/otp"
run_status 0 "files store: ca init" F ca init default
for u in alice tom racer "$U"; do
	F token init --user "$u" --type hotp --secret "$SECRET" >/dev/null || not_ok "token init $u"
done
run_status 0 "files store: a TOTP token for bob" F token init --user bob --type totp --secret "$TSECRET"
login files "$OK" "files store: alice logs in with code 0" otp alice "$(hotp 0)"
login files "$NO" "files store: a wrong code is counted for tom" otp tom 999999
# two certificates of U, issued before the migration; one is revoked
mkdir -p "$T/cred/certtoken/default"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/cred/certtoken/default/key.pem" 2>/dev/null
openssl pkey -in "$T/cred/certtoken/default/key.pem" -pubout -out "$T/old.pub"
run_status 0 "files store: issue a certificate for $U" \
	F issue --user "$U" --target default --pubkey "$T/old.pub"
cp "$OUT" "$T/cred/certtoken/default/cert.pem"
chmod -R go-rwx "$T/cred"
old=$(openssl x509 -in "$T/cred/certtoken/default/cert.pem" -noout -serial | cut -d= -f2)
F issue --user "$U" --target default --pubkey "$T/old.pub" >"$T/gone.pem"
gone=$(openssl x509 -in "$T/gone.pem" -noout -serial | cut -d= -f2)
mkdir -p "$T/cred2/certtoken/default"
cp "$T/cred/certtoken/default/key.pem" "$T/cred2/certtoken/default/"
cp "$T/gone.pem" "$T/cred2/certtoken/default/cert.pem"
chmod -R go-rwx "$T/cred2"
run_status 0 "files store: revoke another certificate of $U" F cert revoke "$gone"
F cert list --json >"$T/certs.files"
for u in alice tom bob; do F token list --user "$u" --json >"$T/tokens.$u.files"; done

run_status 0 "store migrate --to ldap copies the files store into the directory" \
	F store migrate --to ldap
grep_ok "...and verifies the copy" "^verified: " "$OUT"
A cert list --json >"$T/certs.ldap"
check "cert list is the same on the directory" cmp -s "$T/certs.files" "$T/certs.ldap"
for u in alice tom bob; do
	A token list --user "$u" --json >"$T/tokens.$u.ldap"
	check "token list --user $u is the same on the directory" \
		cmp -s "$T/tokens.$u.files" "$T/tokens.$u.ldap"
done
run_status 0 "store check finds nothing wrong" A store check
check "alice's tokens are an entry of the directory" \
	slapd_mirror_wait "ctUser=alice,ou=users,$B" "(ctToken=*)"
check "host A's store keeps the key file secret.key" test -f "$T/a/secret.key"
mkdir -m 0700 "$T/b"
cp -p "$T/a/secret.key" "$T/b/secret.key"
check "...which the admin copies to host B (0600)" test "$(stat -c %a "$T/b/secret.key")" = 600

# --- every login keeps working ------------------------------------------------------------
login b "$OK" "bob's TOTP code logs in on host B" otp bob "$(oathtool --totp -b "$TSECRET")"
RESPOND="XDG_CONFIG_HOME=$T/cred $ENROLL respond"
login b "$OK" "$U's certificate issued before the migration logs in on host B (short response)" \
	--respond "$RESPOND" login "$U" "$(hotp 0)"
grep_ok "...which is ctr1:SERIAL:SIGNATURE" "^response: ctr1:$old:[A-Za-z0-9_-]+$" "$OUT"
"$HARNESS" --respond "XDG_CONFIG_HOME=$T/cred2 $ENROLL respond" "$T/pamb" login "$U" "$(hotp 1)" \
	>"$OUT" 2>"$ERR"
if grep -q "^authenticate: $NO" "$OUT" && grep -q "^response: ctr1:$gone:" "$OUT"; then
	ok "the certificate revoked before the migration is refused on host B"
else
	not_ok "the certificate revoked before the migration is refused on host B"
	diag <"$OUT"
fi
login a "$NO" "alice's code 0, used before the migration, is refused on host A" otp alice "$(hotp 0)"
login b "$NO" "...and on host B" otp alice "$(hotp 0)"

# --- a code is accepted once, fleet-wide ------------------------------------------------
login a "$OK" "host A accepts alice's code 1" otp alice "$(hotp 1)"
login b "$NO" "host B refuses the same code" otp alice "$(hotp 1)"
login b "$OK" "host B accepts the next code" otp alice "$(hotp 2)"
login a "$NO" "...which host A then refuses" otp alice "$(hotp 2)"

# --- a replica that lags is harmless ----------------------------------------------------
run_status 0 "token init for fover (the failover case below)" \
	A token init --user fover --type hotp --secret "$SECRET"
check "...on both providers" slapd_mirror_wait "ctUser=fover,ou=users,$B"
check "provider 2 stops replicating (host B's reads now lag)" slapd_mirror_detach 2
login a "$OK" "host A accepts code 3 (written to provider 1)" otp alice "$(hotp 3)"
rev1=$(slapd_mirror_value 1 "ctUser=alice,ou=users,$B" ctRevision)
rev2=$(slapd_mirror_value 2 "ctUser=alice,ou=users,$B" ctRevision)
check "provider 2 has not seen that write (ctRevision $rev2 there, $rev1 on provider 1)" \
	test -n "$rev2" -a "${rev2:-0}" -lt "${rev1:-0}"
login b "$NO" "host B, reading the stale replica, still refuses code 3 (the assertion fails, the provider is re-read)" \
	otp alice "$(hotp 3)"
login b "$OK" "host B accepts code 4 against the stale replica (verified again on the provider)" \
	otp alice "$(hotp 4)"
# a user whose entry the lagging replica does not have yet: "no entry" there
# is not "no tokens"; the provider is asked
run_status 0 "host A makes a token for newbie (on provider 1 only)" \
	A token init --user newbie --type hotp --secret "$SECRET"
check "provider 2 has no entry for newbie" \
	test -z "$(slapd_mirror_value 2 "ctUser=newbie,ou=users,$B" ctRevision)"
mkdir -m 0700 "$T/pamign"
printf '%s\n' "auth required $MODULE config=$T/b.conf otp no_token=ignore" >"$T/pamign/otp"
login ign "$OK" "host B (no_token=ignore) reads newbie's tokens from the provider: code 0 logs in" \
	otp newbie "$(hotp 0)"
login b "$NO" "...and the code is used" otp newbie "$(hotp 0)"
# a failover while a host's read is from the old provider: provider 2 (now
# written, as after a failover) re-issues fover's revision number with
# other content; a host that read provider 1's state writes to provider 2
# asserting the revision it read: the entryCSN in the assertion refuses it
sed 's|write_uri = "[^"]*"|write_uri = "'"$MIRROR_URI2"'"|' "$T/b.conf" >"$T/g.conf"
sed 's|uri = "[^"]*"; write_uri|uri = "'"$MIRROR_URI1"'"; write_uri|' "$T/g.conf" >"$T/f.conf"
for h in g f; do
	mkdir -m 0700 "$T/pam$h"
	printf '%s\n' "auth required $MODULE config=$T/$h.conf otp" >"$T/pam$h/otp"
done
login a "$OK" "host A accepts fover's code 0 (provider 1 only)" otp fover "$(hotp 0)"
login g "$OK" "provider 2 alone (as after a failover) accepts fover's code 1" otp fover "$(hotp 1)"
rev1=$(slapd_mirror_value 1 "ctUser=fover,ou=users,$B" ctRevision)
check "...and has provider 1's revision number ($rev1) with other content" \
	test "$(slapd_mirror_value 2 "ctUser=fover,ou=users,$B" ctRevision)" = "$rev1"
login f "$NO" "a host that read provider 1's state cannot replay code 1 on provider 2" \
	otp fover "$(hotp 1)"
check "provider 2 rejoins the mirror" slapd_mirror_attach 2
login a "$NO" "host A refuses code 4" otp alice "$(hotp 4)"
# a wrong base is an error naming the entry, not "no tokens" (PAM_IGNORE)
sed "s|base = \"$B\"|base = \"ou=nothere,$MIRROR_SUFFIX\"|" "$T/b.conf" >"$T/wrongbase.conf"
mkdir -m 0700 "$T/pamwrong"
printf '%s\n' "auth required $MODULE config=$T/wrongbase.conf otp no_token=ignore" >"$T/pamwrong/otp"
login wrong "$UNAVAIL" "a wrong store.ldap.base with no_token=ignore: PAM_AUTHINFO_UNAVAIL, not PAM_IGNORE" \
	otp alice "$(hotp 5)"

# --- 32 racing logins, across both hosts ---------------------------------------------------
t0=$(date +%s.%N)
for i in $(seq 1 32); do
	h=a
	[ $((i % 2)) = 0 ] && h=b
	"$HARNESS" "$T/pam$h" otp racer "$(hotp 0)" >"$T/race.$i" 2>&1 &
done
wait
race=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
wins=$(grep -l '^authenticate: Success' "$T"/race.* | wc -l)
check "32 parallel logins with one code, 16 on each host: exactly one succeeds (got $wins, ${race}s)" \
	test "$wins" -eq 1
grep -h '^authenticate:' "$T"/race.* | sort | uniq -c | diag

# --- throttling counts across hosts -----------------------------------------------------
# tom has one failure from the files store
login a "$NO" "wrong code 2 on host A" otp tom 000002
login b "$NO" "wrong code 3 on host B" otp tom 000003
login a "$NO" "wrong code 4 on host A" otp tom 000004
login a "$NO" "after 4 failures (1 before the migration, 2 on host A, 1 on host B) host A throttles tom's right code" \
	otp tom "$(hotp 0)"
login b "$NO" "...and so does host B" otp tom "$(hotp 0)"
run_status 0 "token list --json on host A" A token list --user tom --json
grep_ok "...shows the throttle" '"locked_until":[1-9]' "$OUT"
grep_ok "...after 4 failures" '"failcount":4' "$OUT"
tserial=$(sed -n 's/.*"serial":"\([A-Z0-9]*\)".*/\1/p' "$OUT")
run_status 0 "token reset on host A" A token reset "$tserial"
login b "$OK" "...and host B accepts tom's code" otp tom "$(hotp 0)"

# --- a certificate from certtokend on host A, used on host B --------------------------------
counter=2
next_code() { code=$(hotp "$counter"); counter=$((counter + 1)); }
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin "$@"; }
enroll_otp() { local c=$1; shift; echo "$c" | as_user "$ENROLL" --socket "$SOCK" "$@"; }
start_daemon() {
	"$DAEMON" -c "$T/a.conf" --pam-dir "$T/pama" --foreground >>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
	return 1
}
stop_daemon() { [ -z "${DPID:-}" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=; }; }
at_exit stop_daemon
check "certtokend starts on host A" start_daemon
next_code
run_status 0 "$U enrolls through certtokend on host A" enroll_otp "$code" enroll
serial=$(sed -n 's/^serial: *//p' "$OUT")
check "...a new certificate, not the one from before the migration" test -n "$serial" -a "$serial" != "$old"
check "the index entry is in the directory" slapd_mirror_wait "ctCertSerial=$serial,ou=certs,$B"
check "host B has no CA key (only secret.key)" test -z "$(find "$T/b" -name '*.key' ! -name secret.key)"
# the user answers with certtoken-enroll respond, as the user
RESPOND="setpriv --reuid $U --regid $U --clear-groups env -i HOME=$T/home PATH=/usr/bin:/bin $ENROLL respond"
next_code
login b "$OK" "host B accepts the certificate with the short response" \
	--respond "$RESPOND" login "$U" "$code"
grep_ok "...which is ctr1:SERIAL:SIGNATURE" "^response: ctr1:$serial:[A-Za-z0-9_-]+$" "$OUT"
A token list --user "$U" --json >"$T/tokens.json"
cserial=$(grep -o '"serial":"CERT[0-9A-F]*"' "$T/tokens.json" | head -n1 | cut -d'"' -f4)
run_status 0 "token disable of the certificate token on host A" A token disable "$cserial"
check "...which reaches provider 2" synced "$U"
# refused HOST DESC: the OTP passed, the challenge was answered, the login failed
refused() {
	next_code
	"$HARNESS" --respond "$RESPOND" "$T/pam$1" login "$U" "$code" >"$OUT" 2>"$ERR"
	if grep -q "^authenticate: $NO" "$OUT" && grep -q "^response: ctr1:$serial:" "$OUT"; then
		ok "$2"
	else
		not_ok "$2 (not refused at the certificate step)"
		diag <"$OUT"
	fi
}
refused b "host B refuses it while its token is disabled on host A"
run_status 0 "token enable on host A" A token enable "$cserial"
check "...which reaches provider 2" synced "$U"
next_code
login b "$OK" "host B accepts it again" --respond "$RESPOND" login "$U" "$code"
run_status 0 "cert revoke on host A" A cert revoke "$serial" --reason keyCompromise
check "...which reaches provider 2" slapd_mirror_wait "ctCertSerial=$serial,ou=revoked,$B"
refused b "host B refuses the revoked certificate (its cache of CA material is fresh: revocations are never cached)"
refused a "...as does host A"

# --- the provider hangs or is down: fail closed within the timeout ------------------------
now() { date +%s.%N; }
# timed WANT-EXIT DESC CMD...: CMD exits WANT-EXIT within the timeout (+ 1 s
# for starting processes on a busy machine)
LIMIT=$((TIMEOUT + 1))
timed() {
	local want=$1 desc=$2 t0 el
	shift 2
	t0=$(now)
	"$@" >"$OUT" 2>"$ERR" </dev/null
	local got=$?
	el=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	if [ "$got" = "$want" ] && awk -v e="$el" -v l="$LIMIT" 'BEGIN { exit !(e < l) }'; then
		ok "$desc (exit $got after ${el}s, timeout ${TIMEOUT}s)"
	else
		not_ok "$desc (exit $got after ${el}s, wanted $want within ${LIMIT}s)"
		diag <"$ERR"
		diag <"$OUT"
	fi
}
PAM_AUTHINFO_UNAVAIL=9
# ncerts: the number of index entries on provider 1
ncerts() {
	ldapsearch -x -LLL -o nettimeout=5 -H "$MIRROR_URI1" -D "$MIRROR_ROOT_DN" -y "$MIRROR_ROOT_PW_FILE" \
		-b "ou=certs,$B" -s one 1.1 | grep -c '^dn:'
}
before=$(ncerts)
arev=$(slapd_mirror_value 1 "ctUser=alice,ou=users,$B" ctRevision)
alice=5 # alice's next HOTP counter
check "provider 1 (the write address) hangs" slapd_mirror_freeze 1
timed $PAM_AUTHINFO_UNAVAIL "host B (reads provider 2, verifies, cannot write): PAM_AUTHINFO_UNAVAIL" \
	"$HARNESS" "$T/pamb" otp alice "$(hotp $alice)"
grep_ok "...and says so" "^authenticate: $UNAVAIL" "$OUT"
timed $PAM_AUTHINFO_UNAVAIL "host A (reads and writes provider 1): PAM_AUTHINFO_UNAVAIL" \
	"$HARNESS" "$T/pama" otp alice "$(hotp $alice)"
next_code
timed 69 "certtoken-admin on host A: 69" A token list --user alice
grep_ok "...with one line naming the provider" "$MIRROR_URI1" "$ERR"
check "...one line" test "$(wc -l <"$ERR")" = 1
check "certtokend is running" kill -0 "$DPID"
timed 69 "certtokend on host A answers 69 and issues nothing" enroll_otp "$code" enroll
grep_not "...itself (it is not a client that found no service)" "not running|did not answer" "$ERR"
check "...and keeps running" kill -0 "$DPID"
check "provider 1 wakes up" slapd_mirror_thaw 1
check "nothing was issued meanwhile ($before index entries)" test "$(ncerts)" = "$before"
check "nothing was written to alice's entry (ctRevision $arev)" \
	test "$(slapd_mirror_value 1 "ctUser=alice,ou=users,$B" ctRevision)" = "$arev"
login b "$OK" "the code tried while it hung was not recorded: host B accepts it now" \
	otp alice "$(hotp $alice)"
login a "$NO" "...once" otp alice "$(hotp $alice)"
alice=$((alice + 1))
arev=$(slapd_mirror_value 1 "ctUser=alice,ou=users,$B" ctRevision)
check "provider 1 hangs again" slapd_mirror_freeze 1
t0=$(now)
"$HARNESS" "$T/pamb" otp alice "$(hotp $alice)" >"$T/killed.out" 2>&1 &
hpid=$!
sleep 0.5
check "...and is killed (SIGKILL) while host B's login waits for its write" slapd_mirror_kill 1
wait "$hpid"
got=$?
el=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
check "host B's login fails closed: PAM_AUTHINFO_UNAVAIL (exit $got after ${el}s)" \
	awk -v g="$got" -v e="$el" -v l="$LIMIT" 'BEGIN { exit !(g == 9 && e < l) }'
check "provider 1 restarts from its database" slapd_mirror_attach 1
check "nothing was written to alice's entry (ctRevision $arev)" \
	test "$(slapd_mirror_value 1 "ctUser=alice,ou=users,$B" ctRevision)" = "$arev"
login b "$OK" "host B accepts that code now" otp alice "$(hotp $alice)"
alice=$((alice + 1))
check "provider 1 stops (its port refuses connections)" slapd_mirror_down 1
timed $PAM_AUTHINFO_UNAVAIL "host B with provider 1 down: PAM_AUTHINFO_UNAVAIL" \
	"$HARNESS" "$T/pamb" otp alice "$(hotp $alice)"
check "provider 1 starts again (from its database, in mirror mode)" slapd_mirror_attach 1
login b "$OK" "host B accepts that code now" otp alice "$(hotp $alice)"
next_code
run_status 0 "certtokend on host A issues again" enroll_otp "$code" enroll
stop_daemon

el=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "# fleet.sh: ${el}s"
tap_done
