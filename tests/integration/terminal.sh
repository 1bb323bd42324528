#!/bin/bash
# certtoken-enroll at a real terminal (a pseudo-terminal driven by expect),
# against a real certtokend (one with a short service.timeout): echo is off before
# the OTP prompt appears (nothing typed is ever shown), the terminal is put
# back on every way out, and a client whose service gave up on the
# conversation leaves the prompt with a clear message and status 69.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
MODULE=$top_builddir/.libs/pam_certtoken.so
EXP=$top_srcdir/tests/lib/enroll_tty.exp
[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, runs certtokend)"
[ -x "$DAEMON" ] && [ -x "$ENROLL" ] && [ -f "$MODULE" ] || skip_all "not built"
for tool in expect oathtool setpriv stty; do
	command -v $tool >/dev/null || { echo "Bail out! $tool is not installed (scripts/install-deps)"; exit 1; }
done

U=cttty$$
make_user "$U" /usr/sbin/nologin "Terminal Tester"
mkdir -m 0755 "$T/run"
# two services on one store: a roomy deadline for the typing tests (a busy
# machine must not make them flaky), a short one for the unanswered prompt
SOCK=$T/run/enroll.sock
SHORT_SOCK=$T/run/short.sock
TIMEOUT=2
conf() { # FILE SOCKET TIMEOUT
	cat >"$1" <<CONF
store: { path = "$T/store"; };
socket = "$2";
service: { timeout = $3; };
attributes: { source = "passwd"; };
otp: { hotp_lookahead = 5; max_fail = 50; };
CONF
}
conf "$T/ct.conf" "$SOCK" 30
conf "$T/short.conf" "$SHORT_SOCK" $TIMEOUT
mkdir -m 0700 "$T/pam.d"
printf '%s\n' "auth required $MODULE config=$T/ct.conf otp" "account required $MODULE config=$T/ct.conf" \
	"password required pam_deny.so" "session required pam_deny.so" >"$T/pam.d/certtoken-enroll"
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" >"$T/pam.d/other"
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
counter=0
next_code() { code=$(oathtool --hotp -b -c "$counter" "$SECRET"); counter=$((counter + 1)); }
ADM ca init default >/dev/null
ADM token init --user "$U" --type hotp --secret "$SECRET" >/dev/null

"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
DPID=$!
"$DAEMON" -c "$T/short.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
SPID=$!
stop_daemons() { kill "$DPID" "$SPID" 2>/dev/null; wait "$DPID" "$SPID" 2>/dev/null; }
at_exit stop_daemons
for _ in $(seq 100); do [ -S "$SOCK" ] && [ -S "$SHORT_SOCK" ] && break; sleep 0.05; done
check "certtokend listens (two services: deadlines of 30 s and $TIMEOUT s)" test -S "$SOCK" -a -S "$SHORT_SOCK"

# at_tty NAME MODE [ARG]: certtoken-enroll enroll (at $USE_SOCK, default
# the roomy service) as the user at a fresh pseudo-terminal, played by
# enroll_tty.exp; its report in $T/NAME.rep, what the terminal showed in
# $T/NAME.log.  The shell around it reports its status and the terminal's
# echo; for tstp it has job control (the client in its own process group,
# so ^Z can stop it, and fg resumes it).
at_tty() {
	local name=$1; shift
	expect -f "$EXP" "$@" -log "$T/$name.log" -- setpriv --reuid "$U" --regid "$U" --clear-groups \
		env -i HOME="$T/home" PATH=/usr/bin:/bin ENROLL="$ENROLL" SOCK="${USE_SOCK:-$SOCK}" \
		JOBS="$([ "$1" = tstp ] && echo 1)" /bin/bash -c \
		'[ -z "$JOBS" ] || set -m; trap : INT
		 echo_now() { case " $(stty -a | tr "\n;" "  ") " in *" echo "*) e=on ;; *) e=off ;; esac; }
		 "$ENROLL" --socket "$SOCK" enroll; s=$?
		 if [ $s = 148 ]; then echo_now; echo "stopped echo=$e"; fg >/dev/null; s=$?; fi
		 echo_now; echo "exit=$s echo=$e"' >"$T/$name.rep" 2>"$T/$name.err"
}
# played NAME DESC: ok when the terminal was played to the end
played() {
	if grep -qx "RESULT: done" "$T/$1.rep"; then ok "$2"
	else not_ok "$2"; { cat "$T/$1.err" "$T/$1.log"; echo; } | diag; fi
}
# rep NAME KEY: the value of KEY in NAME's report
rep() { sed -n "s/^$2: //p" "$T/$1.rep"; }

# --- (a) echo goes off before the prompt; typed characters are never shown ---------
next_code
at_tty order order "$code"
played order "the terminal was played to the end"
check "echo is off while the prompt is still on its way (echo off, then prompt)" \
	test "$(rep order echo-off-before-prompt)" = yes
check "the code typed slowly at the prompt is not echoed" test "$(rep order typed-echoed)" = no
check "the code was read: enrolled (exit 0)" test "$(rep order exit)" = 0
check "the terminal has echo on again afterwards" test "$(rep order echo-after)" = on
check "the enrollment wrote its certificate" test -f "$T/home/.config/certtoken/default/cert.pem"

# --- (b) no answer: the service gives up, the client says so and exits 69 -------------
USE_SOCK=$SHORT_SOCK at_tty silent silent
played silent "no answer: the terminal was played to the end"
check "no answer: exit 69" test "$(rep silent exit)" = 69
end=$(rep silent end-ms)
waited=$(( ${end:-999999} - $(rep silent prompt-ms) ))
check "no answer: the client left the prompt within timeout + 2 s (after $waited ms)" \
	test "$waited" -le $(( (TIMEOUT + 2) * 1000 ))
grep_ok "no answer: one clear line says the service closed the connection" \
	"certtoken-enroll: the enrollment service closed the connection \(it waited [0-9]+ s for an answer\)" "$T/silent.log"
check "no answer: the terminal has echo on again" test "$(rep silent echo-after)" = on

# --- ^C at the prompt: the terminal is restored, then the signal ends the client ------
at_tty int int
played int "^C: the terminal was played to the end"
check "^C: the client ended by SIGINT (exit 130)" test "$(rep int exit)" = 130
check "^C: the terminal has echo on again" test "$(rep int echo-after)" = on

# --- ^Z at the prompt: echo is back while stopped; after fg, asked again ------------
next_code
at_tty tstp tstp "$code"
played tstp "^Z: the terminal was played to the end"
check "^Z: echo is on while the client is stopped" test "$(rep tstp echo-stopped)" = on
check "^Z: after fg the code given at the new prompt was read (exit 0)" test "$(rep tstp exit)" = 0
check "^Z: the terminal has echo on again" test "$(rep tstp echo-after)" = on

tap_done
