#!/bin/bash
# A user's lock held forever: a process takes STORE/tokens/USER.lock and
# stops itself (SIGSTOP), as a setuid program stopped in the middle of an
# OTP transaction would.  The OTP login through the real PAM library (under
# pam_wrapper, which shows the module's syslog lines on stderr) and
# certtokend's enrollment must fail closed in time, and work again once the
# holder is gone.  certtokend re-checks its connection's deadline after PAM
# (made slow here with pam_exec) and issues nothing past it.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

command -v oathtool >/dev/null || skip_all "oathtool is not installed"
MODULE=$top_builddir/.libs/pam_certtoken.so
HARNESS=$top_builddir/tests/pam/pam_harness
DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
[ -f "$MODULE" ] || skip_all "pam_certtoken.so was not built"
PWRAP=$(find /usr/lib /usr/lib64 -name libpam_wrapper.so 2>/dev/null | head -n1)
[ -n "$PWRAP" ] || skip_all "libpam_wrapper.so is not installed (libpam-wrapper)"
# pam_wrapper (RTLD_DEEPBIND) cannot load into a sanitizer build: there the
# harness runs without it, and the module's log line is checked by the plain build
PRELOAD=$PWRAP
ldd "$MODULE" | grep -q 'lib[a-z]*san\.so' && PRELOAD=

LOCK_TIMEOUT=2
SERVICE_TIMEOUT=5
mkdir -m 0755 "$T/run"
SOCK=$T/run/enroll.sock
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; lock_timeout = $LOCK_TIMEOUT; };
socket = "$SOCK";
service: { timeout = $SERVICE_TIMEOUT; };
otp: { hotp_lookahead = 5; max_fail = 50; };
CONF
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
mkdir -m 0700 "$T/pam.d"
M="$MODULE config=$T/ct.conf"
printf '%s\n' "auth required $M otp" "account required $M" >"$T/pam.d/otp"
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" >"$T/pam.d/other"
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
hotp() { oathtool --hotp -b -c "$1" "$SECRET"; }
# login USER CODE: the OTP step through the real PAM library, its time in $took (ms)
login() {
	local t0
	t0=$(date +%s%N)
	env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" PAM_WRAPPER_DEBUGLEVEL=1 \
		${PRELOAD:+LD_PRELOAD="$PRELOAD"} "$HARNESS" "$T/pam.d" otp "$1" "$2" >"$OUT" 2>"$ERR"
	took=$((($(date +%s%N) - t0) / 1000000))
}
# hold USER: a process takes USER's lock and stops itself; its pid in $HOLDER
HOLDER=
hold() {
	(
		exec 9>>"$T/store/tokens/$1.lock"
		flock -x 9
		kill -STOP "$BASHPID"
	) &
	HOLDER=$!
	for _ in $(seq 100); do
		[ "$(ps -o stat= -p "$HOLDER" 2>/dev/null | cut -c1)" = T ] && return 0
		sleep 0.05
	done
	return 1
}
release() { [ -z "$HOLDER" ] || { kill -KILL "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; HOLDER=; }; }
at_exit release

run_status 0 "token init (HOTP) for alice" ADM token init --user alice --type hotp --secret "$SECRET"
ADM token init --user bob --type hotp --secret "$SECRET" >/dev/null

# --- the OTP step: fails closed within lock_timeout ---------------------------------------
check "a process holds alice's lock and is stopped (SIGSTOP)" hold alice
login alice "$(hotp 0)"
grep_ok "the login fails closed: PAM_AUTHINFO_UNAVAIL" \
	"^authenticate: Authentication service cannot retrieve authentication info" "$OUT"
check "...after lock_timeout ($LOCK_TIMEOUT s), not before (took $took ms)" test "$took" -ge $((LOCK_TIMEOUT * 1000 - 100))
check "...and not much later: under lock_timeout + 2 s (took $took ms)" test "$took" -lt $((LOCK_TIMEOUT * 1000 + 2000))
if [ -n "$PRELOAD" ]; then
	grep_ok "the module logs one line naming the user and the held lock" \
		"SYSLOG\\(3\\): OTP refused: token store: the lock of user alice is held by another process; gave up after [0-9.]+ s; user=alice service=otp" "$ERR"
else
	ok "the module's log line # SKIP pam_wrapper cannot load into a sanitizer build"
fi
login bob "$(hotp 0)"
grep_ok "another user logs in meanwhile" "^authenticate: Success" "$OUT"
check "...at once (took $took ms)" test "$took" -lt 1500
release
login alice "$(hotp 0)"
grep_ok "once the holder is gone, alice logs in (the code was not spent)" "^authenticate: Success" "$OUT"

# --- certtokend -----------------------------------------------------------------------
if [ "$(id -u)" != 0 ] || [ ! -x "$DAEMON" ] || [ ! -x "$ENROLL" ] || ! command -v setpriv >/dev/null; then
	tap_done # the rest needs root, certtokend and setpriv
fi
U=ctlck$$
make_user "$U" /usr/sbin/nologin "Lock Tester"
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin "$@"; }
# enroll CODE: certtoken-enroll enroll with CODE typed at the OTP prompt, its time in $took (ms)
enroll() {
	local t0 rc
	t0=$(date +%s%N)
	echo "$1" | as_user "$ENROLL" --socket "$SOCK" enroll >"$OUT" 2>"$ERR"
	rc=$?
	took=$((($(date +%s%N) - t0) / 1000000))
	return $rc
}
# enroll_is WANT DESC CODE: the enrollment exits WANT
enroll_is() {
	local want=$1 desc=$2 got
	enroll "$3"
	got=$?
	if [ "$got" = "$want" ]; then ok "$desc"; else not_ok "$desc (exit $got, wanted $want)"; diag <"$ERR"; fi
}
# the PAM service certtokend runs; EXTRA: lines after the OTP step
enroll_service() {
	printf '%s\n' "auth required $M otp" "$@" "account required $M" "password required pam_deny.so" \
		"session required pam_deny.so" >"$T/pam.d/certtoken-enroll"
}
enroll_service
ADM ca init default >/dev/null
USECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
run_status 0 "token init (HOTP) for the test user" ADM token init --user "$U" --type hotp --secret "$USECRET"
"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() { [ -z "$DPID" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=; }; }
at_exit stop_daemon
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
check "certtokend listens" test -S "$SOCK"
certs() { find "$T/store/certs" -name '*.pem' 2>/dev/null | wc -l; }

check "a process holds the test user's lock and is stopped (SIGSTOP)" hold "$U"
enroll_is 69 "an enrollment while the lock is held answers 69" "$(hotp 0)"
check "...within the connection's deadline ($SERVICE_TIMEOUT s; took $took ms)" test "$took" -lt $((SERVICE_TIMEOUT * 1000))
check "...after lock_timeout (took $took ms)" test "$took" -ge $((LOCK_TIMEOUT * 1000 - 100))
grep_ok "certtokend logs the refusal" "enrollment refused for user $U \\(uid [0-9]+\\): Authentication service cannot retrieve" "$T/daemon.log"
check "nothing was issued" test "$(certs)" = 0
release
enroll_is 0 "once the holder is gone, the enrollment works" "$(hotp 0)"
check "...and one certificate was issued" test "$(certs)" = 1

# --- certtokend re-checks its deadline after PAM ----------------------------------------
enroll_service "auth required pam_exec.so quiet /bin/sleep $((SERVICE_TIMEOUT + 1))"
enroll_is 69 "PAM that ends past the connection's deadline: 69" "$(hotp 1)"
grep_ok "...saying nothing was issued" "nothing was issued" "$ERR"
grep_ok "certtokend logs the abandoned request" \
	"enrollment for user $U \\(uid [0-9]+\\) abandoned: the connection's deadline \\(service.timeout $SERVICE_TIMEOUT s\\) passed" "$T/daemon.log"
check "...and issued nothing" test "$(certs)" = 1
enroll_service "auth required pam_exec.so quiet /bin/true"
enroll_is 0 "a PAM stack that answers in time still enrolls" "$(hotp 2)"
check "...and issues" test "$(certs)" = 2
tap_done
