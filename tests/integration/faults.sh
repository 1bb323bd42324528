#!/bin/bash
# Fault injection (issue 13 item 11): the store keeps a whole, readable state
# when a store write fails (ENOSPC, EIO) at each of its calls, or the process
# is killed with SIGKILL before each of them.  tests/lib/faultinject.c is
# preloaded into the real programs: the PAM stack (pam_harness, the real
# Linux-PAM library and pam_certtoken.so), certtoken-admin and certtokend.
# It counts write/fsync/rename/link calls on files under $FI_DIR and fails
# (or kills) the $FI_N-th.  Last, slapd is stopped (SIGSTOP) under an
# LDAP-sourced certtokend: enrollments fail in time with 69, nothing half
# recorded, and work again after SIGCONT.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

command -v oathtool >/dev/null || skip_all "oathtool is not installed"
MODULE=$top_builddir/.libs/pam_certtoken.so
HARNESS=$top_builddir/tests/pam/pam_harness
FI=$top_builddir/tests/lib/.libs/faultinject.so
[ -f "$MODULE" ] && [ -x "$HARNESS" ] && [ -x "$ADMIN" ] || skip_all "not built"
[ -f "$FI" ] || skip_all "the fault-injection preload was not built"
# an ASan-built program must accept a preload ahead of its runtime
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS

STORE=$T/store
cat >"$T/ct.conf" <<CONF
store: { path = "$STORE"; };
otp: { window = 1; hotp_lookahead = 10; max_fail = 1000; };
CONF
mkdir -m 0700 "$T/pam.d"
printf '%s\n' "auth required $MODULE config=$T/ct.conf otp" >"$T/pam.d/otp"
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
# faulty MODE N CMD...: CMD with the preload failing (or killing at) the N-th store call
faulty() {
	local mode=$1 n=$2; shift 2
	env LD_PRELOAD="$FI" FI_DIR="$STORE" FI_N="$n" FI_MODE="$mode" "$@"
}
# calls CMD...: the number of store calls CMD makes (no fault injected)
calls() {
	rm -f "$T/fi.log"
	env LD_PRELOAD="$FI" FI_DIR="$STORE" FI_LOG="$T/fi.log" "$@" >/dev/null 2>&1
	wc -l <"$T/fi.log"
}
login() { "$HARNESS" "$T/pam.d" otp "$@" 2>&1 | grep '^authenticate: '; }
# counter USER: the stored HOTP counter of USER's (only) token
counter() { grep ' type=hotp ' "$STORE/tokens/$1" | sed -n '1s/.* counter=\([0-9]*\) .*/\1/p'; }
temps() { find "$STORE" -name '*.tmp.*' | wc -l; }
lock_inode() { stat -c %i "$STORE/tokens/$1.lock"; }

HSECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
hotp() { oathtool --hotp -b -c "$1" "$HSECRET"; }
run_status 0 "token init (HOTP) for bob" ADM token init --user bob --type hotp --secret "$HSECRET"
test "$(login bob "$(hotp 0)")" = "authenticate: Success" || echo "Bail out! a plain login fails"
check "the preload is inert without FI_N (a login through it succeeds)" \
	test "$(faulty fail 0 "$HARNESS" "$T/pam.d" otp bob "$(hotp 1)" | grep '^auth')" = "authenticate: Success"
K=$(calls "$HARNESS" "$T/pam.d" otp bob "$(hotp 2)")
check "an OTP login makes store calls the preload sees (K=$K)" test "$K" -ge 3
c=3
lock0=$(lock_inode bob)

# otp_round MODE N ERRNO: one login with the fault, then the invariants and a
# normal login with the next code.  Every failure is reported with MODE/N.
otp_round() {
	local mode=$1 n=$2 e=$3 before after res bad=""
	before=$(counter bob)
	res=$(FI_ERRNO=$e faulty "$mode" "$n" "$HARNESS" "$T/pam.d" otp bob "$(hotp $c)" 2>/dev/null |
		grep '^authenticate: ')
	after=$(counter bob)
	case "$res" in
	"authenticate: Success") [ "$after" = $((c + 1)) ] || bad="$bad success-without-recording($after)" ;;
	"") [ "$mode" = kill ] || bad="$bad no-answer" ;;
	*) ;; # failed closed
	esac
	# a store call that failed or never ran: the login fails; once all ran, it succeeds
	if [ "$n" -le "$K" ]; then
		[ "$res" != "authenticate: Success" ] || bad="$bad success-despite-fault"
	else
		[ "$res" = "authenticate: Success" ] || bad="$bad no-success-without-fault($res)"
	fi
	[ "$after" = "$before" ] || [ "$after" = $((c + 1)) ] || bad="$bad neither-old-nor-new($after)"
	ADM token list --user bob >/dev/null 2>&1 || bad="$bad unreadable"
	[ -n "$after" ] && [ "$after" -ge "$before" ] || bad="$bad counter-back($before->$after)"
	[ "$mode" = kill ] || [ "$(temps)" = 0 ] || bad="$bad temp-left"
	[ "$(lock_inode bob)" = "$lock0" ] || bad="$bad lock-replaced"
	c=$((c + 1))
	[ "$(login bob "$(hotp $c)")" = "authenticate: Success" ] || bad="$bad next-login-fails"
	[ "$(counter bob)" = $((c + 1)) ] || bad="$bad next-not-recorded"
	c=$((c + 1))
	rm -f "$STORE"/tokens/bob.tmp.* # what a kill leaves: the checks above ran with it there
	[ -z "$bad" ] || echo "$mode N=$n $e:$bad"
}
# rounds MODE ERRNO K: otp_round for N in 1..K+1; ok when none misbehaved
otp_rounds() {
	local n
	: >"$T/bad"
	for n in $(seq 1 $(($3 + 1))); do otp_round "$1" "$n" "$2" >>"$T/bad"; done
	if [ -s "$T/bad" ]; then not_ok "$4"; diag <"$T/bad"; else ok "$4"; fi
}
otp_rounds fail ENOSPC "$K" "OTP login, ENOSPC at each of its $K store calls: success recorded or auth fails; store readable, counter never back, no temp, next code logs in"
otp_rounds fail EIO "$K" "OTP login, EIO at each store call: the same"
otp_rounds sticky ENOSPC "$K" "OTP login, a full disk from each store call on: the same"
otp_rounds kill - "$K" "OTP login, SIGKILL before each store call: store old or new, readable, counter never back, next code logs in"
check "the lock file was never unlinked or replaced" test "$(lock_inode bob)" = "$lock0"
check "a wrong code through a failing store is refused" \
	test "$(faulty sticky 1 "$HARNESS" "$T/pam.d" otp bob 000000 | grep '^auth')" != "authenticate: Success"

# --- token init ----------------------------------------------------------------------
newsecret() { head -c 20 /dev/urandom | base32; }
ntokens() { ADM token list --user "$1" --json 2>/dev/null | grep -c '"serial"'; }
ADM token init --user alice --type totp --secret "$(newsecret)" >/dev/null
KI=$(calls "$ADMIN" -c "$T/ct.conf" token init --user alice --type hotp --secret "$(newsecret)")
check "token init on an existing store makes store calls (K=$KI)" test "$KI" -ge 3
# init_round MODE N ERRNO: token init for alice with the fault, then the invariants
init_round() {
	local mode=$1 n=$2 e=$3 u=i$1$2$3 t0 before after rc serial first bad=""
	ADM token init --user "$u" --type totp --secret "$(newsecret)" >"$T/init.out" 2>/dev/null
	first=$(sed -n 's/^serial: //p' "$T/init.out")
	before=$(ntokens "$u")
	t0=$(temps)
	FI_ERRNO=$e faulty "$mode" "$n" "$ADMIN" -c "$T/ct.conf" token init --user "$u" --type hotp \
		--secret "$(newsecret)" >"$T/init.out" 2>/dev/null
	rc=$?
	serial=$(sed -n 's/^serial: //p' "$T/init.out")
	ADM token list --user "$u" --json >"$T/list" 2>/dev/null || bad="$bad unreadable"
	after=$(grep -c '"serial"' "$T/list")
	grep -q "\"$first\"" "$T/list" || bad="$bad old-token-lost"
	if [ "$rc" = 0 ]; then
		[ "$n" -gt "$KI" ] || bad="$bad success-despite-fault"
		grep -q "\"$serial\"" "$T/list" || bad="$bad success-without-recording"
	else
		[ "$n" -le "$KI" ] || bad="$bad failed-without-fault($rc)"
	fi
	[ "$after" = "$before" ] || [ "$after" = $((before + 1)) ] || bad="$bad torn($before->$after)"
	[ "$mode" = kill ] || [ "$(temps)" = "$t0" ] || bad="$bad temp-left"
	ADM token init --user "$u" --type hotp --secret "$(newsecret)" >/dev/null 2>&1 || bad="$bad next-init-fails"
	[ -z "$bad" ] || echo "$mode N=$n $e:$bad"
}
init_rounds() {
	local n
	: >"$T/bad"
	for n in $(seq 1 $(($3 + 1))); do init_round "$1" "$n" "$2" >>"$T/bad"; done
	if [ -s "$T/bad" ]; then not_ok "$4"; diag <"$T/bad"; else ok "$4"; fi
}
init_rounds fail ENOSPC "$KI" "token init, ENOSPC at each of its $KI store calls: exit 0 and recorded, or non-zero; old tokens kept, no temp, the next init works"
init_rounds fail EIO "$KI" "token init, EIO at each store call: the same"
init_rounds kill - "$KI" "token init, SIGKILL before each store call: old or new state, readable, the next init works"

# the first token of a fresh store also creates the sealing key
STORE0=$STORE
STORE=$T/fresh
sed "s|$STORE0|$STORE|" "$T/ct.conf" >"$T/fresh.conf"
KF=$(calls "$ADMIN" -c "$T/fresh.conf" token init --user bob --type hotp --secret "$HSECRET")
check "token init on a fresh store makes more store calls (the key; K=$KF)" test "$KF" -gt "$KI"
: >"$T/bad"
for mode in fail kill; do
	for n in $(seq 1 "$KF"); do
		rm -rf "$STORE"
		faulty "$mode" "$n" "$ADMIN" -c "$T/fresh.conf" token init --user bob --type hotp \
			--secret "$HSECRET" >/dev/null 2>&1
		rc=$?
		bad=""
		[ "$rc" != 0 ] || bad="$bad success-despite-fault"
		[ "$mode" = kill ] || [ "$(find "$STORE" -name '*.tmp.*' | wc -l)" = 0 ] || bad="$bad temp-left"
		"$ADMIN" -c "$T/fresh.conf" token init --user carol --type hotp --secret "$HSECRET" \
			>/dev/null 2>&1 || bad="$bad next-init-fails"
		sed "s|config=$T/ct.conf|config=$T/fresh.conf|" "$T/pam.d/otp" >"$T/pam.d/fresh"
		[ "$("$HARNESS" "$T/pam.d" fresh carol "$(hotp 0)" 2>&1 | grep '^auth')" = "authenticate: Success" ] ||
			bad="$bad carol-cannot-log-in"
		[ -z "$bad" ] || echo "$mode N=$n:$bad" >>"$T/bad"
	done
done
if [ -s "$T/bad" ]; then not_ok "token init on a fresh store, a fault at each call: fails, the next init and login work"; diag <"$T/bad"
else ok "token init on a fresh store, a fault at each call (fail, kill): fails, the store stays usable"; fi
STORE=$STORE0

# --- an enrollment through certtokend --------------------------------------------------
DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || [ ! -x "$DAEMON" ]; then
	tap_done # the rest needs root (a user, certtokend)
fi
U=ctflt$$
make_user "$U" /usr/sbin/nologin "Fault Tester"
mkdir -m 0755 "$T/run"
SOCK=$T/run/enroll.sock
cat >>"$T/ct.conf" <<CONF
socket = "$SOCK";
service: { timeout = 5; };
access_groups = ( { name = "default"; } );
targets = ( { name = "default"; access_group = "default"; template = "client";
              subject = "CN=%unix_account%"; lifetime = 600; } );
CONF
printf '%s\n' "auth required $MODULE config=$T/ct.conf otp" "account required $MODULE config=$T/ct.conf" \
	>"$T/pam.d/certtoken-enroll"
run_status 0 "ca init" ADM ca init default
ADM token init --user "$U" --type hotp --secret "$HSECRET" >/dev/null
uc=0 # the next unused code of the user's token
enroll() {
	echo "$1" | setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$T/home" \
		PATH=/usr/bin:/bin "$ENROLL" --socket "$SOCK" enroll
}
DPID=
# start_daemon [ENV...]: certtokend, with ENV (the preload) if given
# (a killed certtokend leaves its socket: remove it, so that the wait below sees the new one)
start_daemon() {
	rm -f "$SOCK"
	env "$@" "$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 200); do [ -S "$SOCK" ] && return 0; sleep 0.02; done
	return 1
}
stop_daemon() { [ -z "$DPID" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=; }; }
at_exit stop_daemon
CERT=$T/home/.config/certtoken/default/cert.pem
ncerts() { find "$STORE/certs" -name '*.pem' 2>/dev/null | wc -l; }
ucounter() { counter "$U"; }
check "certtokend starts" start_daemon
run_status 0 "a plain enrollment works" enroll "$(hotp $uc)"
uc=$((uc + 1))
stop_daemon
rm -f "$T/fi.log"
start_daemon LD_PRELOAD="$FI" FI_DIR="$STORE" FI_LOG="$T/fi.log"
enroll "$(hotp $uc)" >/dev/null 2>&1
uc=$((uc + 1))
stop_daemon
KE=$(wc -l <"$T/fi.log")
check "an enrollment makes store calls in certtokend (K=$KE)" test "$KE" -ge 5
diag <"$T/fi.log"

# orphans LIST: " orphan(SERIAL)" for each index entry not in LIST (a file of
# names) whose token the user does not have (older entries may have lost
# their token to make room for newer ones, by design)
orphans() {
	local f tok
	for f in "$STORE"/certs/*.pem; do
		[ -f "$f" ] || continue
		grep -qx "$(basename "$f")" "$1" && continue
		tok=$(sed -n 's/^token=//p' "$f")
		[ "$tok" = "-" ] || grep -q "^token serial=$tok " "$STORE/tokens/$U" ||
			printf ' orphan(%s)' "$(basename "$f" .pem)"
	done
}

# enroll_round MODE N ERRNO: an enrollment with the fault in certtokend, then the invariants
enroll_round() {
	local mode=$1 n=$2 e=$3 before nb after rc sum0 sum1 serial t0 bad=""
	before=$(ucounter)
	nb=$(ncerts)
	t0=$(temps)
	ls "$STORE/certs" >"$T/certs.before" 2>/dev/null
	sum0=$(md5sum <"$CERT")
	start_daemon LD_PRELOAD="$FI" FI_DIR="$STORE" FI_N="$n" FI_MODE="$mode" FI_ERRNO="$e" ||
		bad="$bad no-start"
	enroll "$(hotp $uc)" >"$T/enroll.out" 2>&1
	rc=$?
	stop_daemon
	sum1=$(md5sum <"$CERT")
	after=$(ucounter)
	if [ "$rc" = 0 ]; then
		[ "$n" -gt "$KE" ] || bad="$bad success-despite-fault"
		[ "$sum1" != "$sum0" ] || bad="$bad success-without-certificate"
	else
		[ "$n" -le "$KE" ] || bad="$bad failed-without-fault($rc)"
	fi
	if [ "$sum1" != "$sum0" ]; then # a certificate was handed out: it must be recorded
		serial=$(openssl x509 -in "$CERT" -noout -serial | sed 's/^serial=//')
		[ -f "$STORE/certs/$serial.pem" ] || bad="$bad handed-out-unrecorded($serial)"
		grep -q " cert=$serial " "$STORE/tokens/$U" || bad="$bad no-cert-token($serial)"
		ADM cert list --user "$U" | grep -q "$serial" || bad="$bad not-listed($serial)"
	fi
	ADM token list --user "$U" >/dev/null 2>&1 || bad="$bad tokens-unreadable"
	ADM cert list --user "$U" >/dev/null 2>&1 || bad="$bad certs-unreadable"
	[ -n "$after" ] && [ "$after" -ge "$before" ] || bad="$bad counter-back($before->$after)"
	[ "$mode" = kill ] || [ "$(temps)" = "$t0" ] || bad="$bad temp-left"
	# a refused enrollment leaves no index entry without its token (a kill
	# between the two writes can: see certtokend(8) BUGS)
	[ "$mode" = kill ] || bad="$bad$(orphans "$T/certs.before")"
	uc=$((uc + 1))
	start_daemon || bad="$bad no-restart"
	enroll "$(hotp $uc)" >/dev/null 2>&1 || bad="$bad next-enroll-fails"
	stop_daemon
	uc=$((uc + 1))
	[ -z "$bad" ] || { echo "$mode N=$n $e:$bad"; diag <"$T/enroll.out"; }
}
enroll_rounds() {
	local n
	: >"$T/bad"
	for n in $(seq 1 $(($3 + 1))); do enroll_round "$1" "$n" "$2" >>"$T/bad"; done
	if [ -s "$T/bad" ]; then not_ok "$4"; diag <"$T/bad"; else ok "$4"; fi
}
enroll_rounds fail ENOSPC "$KE" "enrollment, ENOSPC at each of certtokend's $KE store calls: issued and recorded, or refused; store readable, counter never back, no temp, the next enrollment works"
enroll_rounds kill - "$KE" "enrollment, certtokend killed before each store call: nothing handed out unrecorded, store readable, the next enrollment works"

# --- the directory stops answering in the middle of enrollments ----------------------------
. "$top_srcdir/tests/lib/slapd.sh"
if [ ! -x "$SLAPD_BIN" ]; then
	tap_done # slapd is not installed
fi
at_exit slapd_stop
if ! slapd_start "$T/slapd" 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi
printf '%s\n' "dn: ou=people,dc=example,dc=org" "objectClass: organizationalUnit" "ou: people" "" \
	"dn: uid=$U,ou=people,dc=example,dc=org" "objectClass: inetOrgPerson" "uid: $U" \
	"cn: Fault Tester" "sn: Tester" "o: Example Corp" >"$T/people.ldif"
slapd_load "$T/people.ldif" 2>"$T/load.err" || {
	echo "Bail out! cannot load entries: $(tr '\n' ' ' <"$T/load.err")"
	exit 1
}
LTIMEOUT=2 # attributes.ldap.timeout
cat "$T/ct.conf" - >"$T/ldap.conf" <<CONF
attributes: { source = "ldap";
  ldap: { uri = "$SLAPD_URI"; starttls = false; bind_dn = "$SLAPD_BIND_DN";
          bind_password_file = "$SLAPD_BIND_PW_FILE"; base = "ou=people,dc=example,dc=org";
          filter = "(uid=%u)"; timeout = $LTIMEOUT; map: { company = "o"; }; }; };
CONF
sed -i 's|subject = "CN=%unix_account%"|subject = "CN=%unix_account%/O=%company%"|' "$T/ldap.conf"
start_ldap_daemon() {
	rm -f "$SOCK"
	"$DAEMON" -c "$T/ldap.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 200); do [ -S "$SOCK" ] && return 0; sleep 0.02; done
	return 1
}
check "certtokend starts with the LDAP attribute source" start_ldap_daemon
run_status 0 "an enrollment with LDAP attributes works (the pool now holds a connection)" enroll "$(hotp $uc)"
uc=$((uc + 1))
check "...and its subject has the LDAP value" \
	sh -c "openssl x509 -in '$CERT' -noout -subject | grep -q 'O *= *Example Corp'"
now() { date +%s.%N; }
: >"$T/bad"
if slapd_freeze; then
	for i in 1 2 3; do
		nb=$(ncerts)
		ntok=$(grep -c ' cert=' "$STORE/tokens/$U")
		sum0=$(md5sum <"$CERT")
		tmp0=$(temps)
		t0=$(now)
		enroll "$(hotp $uc)" >"$T/enroll.out" 2>&1
		rc=$?
		el=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
		uc=$((uc + 1))
		echo "enrollment $i with slapd stopped: exit $rc after ${el}s" >>"$T/times"
		[ "$rc" = 69 ] || echo "$i: exit $rc, wanted 69" >>"$T/bad"
		awk -v e="$el" -v l="$((LTIMEOUT + 3))" 'BEGIN { exit !(e < l) }' ||
			echo "$i: took ${el}s (limit $((LTIMEOUT + 3))s)" >>"$T/bad"
		[ "$(ncerts)" = "$nb" ] || echo "$i: a certificate was recorded" >>"$T/bad"
		[ "$(grep -c ' cert=' "$STORE/tokens/$U")" = "$ntok" ] || echo "$i: a token was recorded" >>"$T/bad"
		[ "$(md5sum <"$CERT")" = "$sum0" ] || echo "$i: a certificate was handed out" >>"$T/bad"
		[ "$(temps)" = "$tmp0" ] || echo "$i: a temp file was left" >>"$T/bad"
	done
	slapd_thaw
	diag <"$T/times"
	if [ -s "$T/bad" ]; then not_ok "slapd stopped (SIGSTOP) mid-use: each enrollment fails with 69 within timeout + 3 s, nothing issued or recorded"; diag <"$T/bad"
	else ok "slapd stopped (SIGSTOP) mid-use: each enrollment fails with 69 within timeout + 3 s, nothing issued or recorded"; fi
else
	not_ok "slapd_freeze"
fi
run_status 0 "after SIGCONT an enrollment works again" enroll "$(hotp $uc)"
uc=$((uc + 1))
run_status 0 "...and the store lists it" ADM cert list --user "$U"
stop_daemon
tap_done
