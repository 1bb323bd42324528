#!/bin/bash
# End to end through OpenSSH: the real sshd (tests/lib/sshd.sh) runs
# pam_certtoken.so from a PAM stack in a temporary directory (pam_wrapper),
# the real ssh client logs in over keyboard-interactive, driven by expect
# (tests/lib/ssh_login.exp), as a real throwaway Unix user, with HOTP codes
# computed independently by oathtool: first the OTP step alone, then OTP and
# the certificate challenge, answered by certtoken-enroll respond running as
# the user with the certificate it enrolled through a real certtokend.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/sshd.sh"

MODULE=$top_builddir/.libs/pam_certtoken.so
[ -f "$MODULE" ] || skip_all "pam_certtoken.so was not built"
command -v oathtool >/dev/null || skip_all "oathtool is not installed"
sshd_require
ldd "$MODULE" | grep -q 'lib[a-z]*san\.so' && skip_all "a sanitizer build cannot be loaded into sshd"

# --- a real user with a shell (it runs the remote command) --------------------------
U=ctssh$$
make_user "$U" /bin/sh "sshd e2e tester"

# --- configuration and an HOTP token ----------------------------------------------------
SOCK=$T/run/enroll.sock
mkdir -m 0755 "$T/run"
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
socket = "$SOCK";
otp: { hotp_lookahead = 10; max_fail = 50; };
CONF
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
ADM ca init default >/dev/null || { echo "Bail out! ca init failed"; exit 1; }
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
run_status 0 "token init (HOTP) for the test user" ADM token init --user "$U" --type hotp --secret "$SECRET"
counter=0
# fresh_code: set $code to the next HOTP code (codes never checked are
# skipped over by the look-ahead)
fresh_code() { code=$(oathtool --hotp -b -c "$counter" "$SECRET"); counter=$((counter + 1)); }
# wrong_code: print a code that no counter in reach of the look-ahead accepts
wrong_code() {
	local c=000000 near
	near=$(oathtool --hotp -b -c "$counter" -w 30 "$SECRET")
	while grep -qx "$c" <<<"$near"; do c=$(printf '%06d' $((10#$c + 1))); done
	echo "$c"
}

# --- the PAM stack and sshd ---------------------------------------------------------------
# auth: the module alone decides; account: the module checks the token state;
# session: nothing to do, but sshd opens one and `required` needs a module.
mkdir -m 0700 "$T/pam.d"
M="$MODULE config=$T/ct.conf"
printf '%s\n' "auth required $M otp" "account required $M" "session required pam_permit.so" \
	>"$T/pam.d/sshd"
if ! sshd_start "$T/pam.d" 2>"$T/sshd_start.err"; then
	echo "Bail out! cannot start sshd: $(tr '\n' ' ' <"$T/sshd_start.err")"
	exit 1
fi
ok "sshd listens on 127.0.0.1:$SSHD_PORT"

n=0
# login_is WANT DESC USER [ssh_login.exp options...]: the driver reports
# RESULT: WANT.  Its output is in $OUT, what ssh printed in $SSH, and what the
# server logged meanwhile in $LOG.
login_is() {
	local want=$1 desc=$2 mark t0 t1; shift 2
	n=$((n + 1))
	SSH=$T/ssh.$n.log
	LOG=$T/sshd.$n.log
	mark=$(wc -l <"$SSHD_LOG")
	t0=$(date +%s%N)
	expect -f "$SSH_LOGIN" "$SSHD_PORT" "$@" -log "$SSH.raw" >"$OUT" 2>"$ERR" </dev/null
	t1=$(date +%s%N)
	tr -d '\r' <"$SSH.raw" >"$SSH" # ssh writes CR LF, and a CR before each prompt
	tail -n +$((mark + 1)) "$SSHD_LOG" >"$LOG"
	echo "# login $n took $(((t1 - t0) / 1000000)) ms"
	if grep -qx "RESULT: $want" "$OUT"; then
		ok "$desc"
	else
		not_ok "$desc (got '$(tail -n 1 "$OUT")')"
		{ cat "$OUT" "$ERR" "$SSH"; echo "--- sshd:"; tail -n 20 "$LOG"; } | diag
	fi
}
# prompts_are DESC KIND...: the driver answered exactly these prompts
prompts_are() {
	local desc=$1 got; shift
	got=$(sed -n 's/^prompt: //p' "$OUT" | tr '\n' ' ')
	check "$desc (prompts: ${got:-none})" test "$got" = "${*:+$* }"
}

# --- OTP over ssh -----------------------------------------------------------------------
fresh_code
good=$code
login_is success "the current HOTP code logs in over ssh and runs the command as the user" "$U" -otp "$good"
prompts_are "...after one prompt, for the OTP" otp
grep_ok "...which ssh shows as '($U@127.0.0.1) OTP: '" "^\\($U@127\\.0\\.0\\.1\\) OTP: " "$SSH"
grep_ok "...and sshd accepted keyboard-interactive/pam" "Accepted keyboard-interactive/pam for $U from 127\\.0\\.0\\.1" "$LOG"
login_is denied "the same code is refused a second time (no replay)" "$U" -otp "$good"
prompts_are "...after the OTP prompt" otp
grep_ok "...and sshd logged the module's refusal" "PAM: Authentication failure for $U from 127\\.0\\.0\\.1" "$LOG"
grep_ok "...and the failed login" "Failed keyboard-interactive/pam for $U from 127\\.0\\.0\\.1" "$LOG"
login_is denied "a wrong code is refused" "$U" -otp "$(wrong_code)"
grep_not "...and sshd accepted nothing" "Accepted " "$LOG"
login_is denied "a user that does not exist is refused" "nosuch$$" -otp "$(wrong_code)"
prompts_are "...after the same OTP prompt as everyone else" otp

# --- the module fails closed inside sshd, and its error line reaches the sshd log -------------
cp "$T/store/tokens/$U" "$T/token.saved"
printf 'garbage\n' >"$T/store/tokens/$U"
fresh_code
login_is denied "a corrupt token file fails closed" "$U" -otp "$code"
grep_ok "...and the module's error line reaches the sshd log, with service and rhost from sshd" \
	"SYSLOG\\(3\\): OTP refused: .*; user=$U service=sshd rhost=127\\.0\\.0\\.1" "$LOG"
cp "$T/token.saved" "$T/store/tokens/$U"

# --- enroll a certificate through certtokend, as the user ----------------------------------
printf '%s\n' "auth required $M otp" "account required $M" "password required pam_deny.so" \
	"session required pam_deny.so" >"$T/pam.d/certtoken-enroll"
"$top_builddir/certtokend" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
at_exit stop_daemon
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
# as_user CMD...: run CMD as the test user with a clean environment
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin "$@"; }
fresh_code
echo "$code" | as_user "$top_builddir/certtoken-enroll" --socket "$SOCK" enroll >"$OUT" 2>"$ERR"
check "the user enrolls a certificate through certtokend with an OTP" test -s "$T/home/.config/certtoken/default/cert.pem"
serial=$(openssl x509 -in "$T/home/.config/certtoken/default/cert.pem" -noout -serial | cut -d= -f2)
ctok=$(ADM token list --user "$U" | awk '$3 == "certificate" {print $1}')
RESPOND="setpriv --reuid $U --regid $U --clear-groups env -i HOME=$T/home PATH=/usr/bin:/bin $top_builddir/certtoken-enroll respond"

# --- OTP, then the certificate challenge, over ssh ---------------------------------------------
# the module without otp/cert runs both steps; the account line checks token state
printf '%s\n' "auth required $M" "account required $M" "session required pam_permit.so" >"$T/pam.d/sshd"
fresh_code
login_is success "OTP then certificate: the user logs in over ssh" \
	"$U" -otp "$code" -respond "$RESPOND 2>$T/respond.err | tee $T/response.txt"
prompts_are "...after the OTP prompt and the certificate challenge" otp other
grep_ok "...which ssh shows with the one-time challenge for this user, service and host" \
	"^ctc1:[A-Za-z0-9_-]{22}:default:$U:sshd:$(hostname)$" "$SSH"
grep_ok "...and certtoken-enroll respond said what it signed" "login of $U to sshd on $(hostname) with certificate $serial" "$T/respond.err"
grep_ok "...and sshd accepted keyboard-interactive/pam" "Accepted keyboard-interactive/pam for $U from 127\\.0\\.0\\.1" "$LOG"
resp=$(cat "$T/response.txt")
check "...with a one-line response of ${#resp} characters" test "${#resp}" -gt 100 -a "${#resp}" -lt 200

fresh_code
login_is denied "the same response replayed to a new challenge is refused" "$U" -otp "$code" -answer "$resp"
prompts_are "...after both prompts" otp other
fresh_code
login_is denied "a garbage response is refused" "$U" -otp "$code" -answer "ctr1:$serial:garbage"
login_is denied "a wrong OTP gets no challenge at all" "$U" -otp "$(wrong_code)" -respond "$RESPOND"
prompts_are "...only the OTP prompt was shown" otp

# another user's certificate from the same CA, answering for this user
mkdir -p "$T/other/certtoken/default" && chmod -R 0700 "$T/other"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other/certtoken/default/key.pem" 2>/dev/null
openssl pkey -in "$T/other/certtoken/default/key.pem" -pubout -out "$T/other.pub"
check "issue a certificate for another user (root)" sh -c "'$ADMIN' -c '$T/ct.conf' issue --user root --target default --pubkey '$T/other.pub' >'$T/other/certtoken/default/cert.pem'"
fresh_code
login_is denied "another user's certificate is refused" "$U" -otp "$code" \
	-respond "XDG_CONFIG_HOME=$T/other $top_builddir/certtoken-enroll respond 2>/dev/null"
prompts_are "...at the certificate step" otp other

run_status 0 "disable the certificate token" ADM token disable "$ctok"
fresh_code
login_is denied "a disabled certificate token cannot log in" "$U" -otp "$code" -respond "$RESPOND 2>/dev/null"
ADM token enable "$ctok" >/dev/null
fresh_code
login_is success "...and can again once enabled" "$U" -otp "$code" -respond "$RESPOND 2>/dev/null"
run_status 0 "delete the certificate token" ADM token delete "$ctok"
grep_ok "...which revokes its certificate" "^certificate $serial revoked \(cessationOfOperation\)$" "$OUT"
ADM cert list --user "$U" >"$OUT" 2>&1
grep_ok "...as cert list shows" "^$serial .* revoked" "$OUT"
fresh_code
login_is denied "the certificate of a deleted token cannot log in" "$U" -otp "$code" -respond "$RESPOND 2>/dev/null"
prompts_are "...at the certificate step" otp other

# --- the driver gives up on a server that does not answer ------------------------------------
listener=$(cat "$SSHD_PIDFILE")
kill -STOP "$listener"
login_is timeout "a frozen sshd gives RESULT: timeout after -timeout seconds" "$U" -otp 000000 -timeout 2
kill -CONT "$listener"

tap_done
