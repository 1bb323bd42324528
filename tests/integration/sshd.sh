#!/bin/bash
# End to end through OpenSSH: the real sshd (tests/lib/sshd.sh) runs
# pam_certtoken.so from a PAM stack in a temporary directory (pam_wrapper),
# the real ssh client logs in over keyboard-interactive, driven by expect
# (tests/lib/ssh_login.exp), as a real throwaway Unix user, with TOTP codes
# computed independently by oathtool.
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
chmod 0711 "$T" # the user may pass through to its home, not list
mkdir "$T/home"
useradd -M -d "$T/home" -s /bin/sh -c "sshd e2e tester" "$U" || {
	echo "Bail out! useradd $U failed"
	exit 1
}
remove_user() { userdel "$U" 2>/dev/null; }
at_exit remove_user
chown "$U:" "$T/home"
chmod 0700 "$T/home"

# --- configuration and a TOTP token ----------------------------------------------------
# window 3: the successful logins below each use a later time step, at most 3 ahead
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
otp: { window = 3; max_fail = 50; };
CONF
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
run_status 0 "token init (TOTP) for the test user" ADM token init --user "$U" --type totp --secret "$SECRET"
step=0
# fresh_code: set $code to the code of a time step no login has used yet
fresh_code() {
	code=$(oathtool --totp -b -N "now + $((step * 30)) seconds" "$SECRET")
	step=$((step + 1))
}
# wrong_code: print a code that no step in reach of the window accepts
wrong_code() {
	local c=000000 s near
	near=$(for s in $(seq -5 5); do oathtool --totp -b -N "now + $((s * 30)) seconds" "$SECRET"; done)
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
login_is success "the current TOTP code logs in over ssh and runs the command as the user" "$U" -otp "$good"
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
sed -i 's/last_step=[0-9]*/last_step=x/' "$T/store/tokens/$U"
fresh_code
login_is denied "a corrupt token file fails closed" "$U" -otp "$code"
grep_ok "...and the module's error line reaches the sshd log, with service and rhost from sshd" \
	"SYSLOG\\(3\\): OTP refused: .*; user=$U service=sshd rhost=127\\.0\\.0\\.1" "$LOG"
cp "$T/token.saved" "$T/store/tokens/$U"
step=$((step - 1)) # that code was never checked: it is still fresh

# --- a second prompt after the OTP: the driver's -respond and -answer --------------------------
# pam_exec stands in for the certificate step: `stdout` turns a multi-line
# one-time challenge (with regex characters in it) into PAM text messages,
# which sshd puts in front of the next prompt, and `expose_authtok` asks
# "Password: " and hands the answer to a script that checks it against the
# challenge.  `requisite` ends the stack at a wrong OTP, as the module will
# never run its certificate step after one.
cat >"$T/challenge.sh" <<'SH'
#!/bin/sh
PATH=/usr/bin:/bin
c="certtoken-challenge:1:$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n'):.*[a-z]+(x|y)?^\$\\{1}"
printf '%s\n' "$c" >"$1"
printf '%s\n' "$c" >>"$1.all"
printf 'Sign this one-time challenge:\n%s\n' "$c"
SH
cat >"$T/verify.sh" <<'SH'
#!/bin/sh
PATH=/usr/bin:/bin
want="response:$(cat "$1")" || exit 1
rm -f "$1"
got=$(tr -d '\000')
[ "$got" = "$want" ]
SH
cat >"$T/respond.sh" <<'SH'
#!/bin/sh
cat >"$1"
line=$(grep '^certtoken-challenge:' "$1") || exit 1
printf 'response:%s\n' "$line"
SH
chmod 0700 "$T/challenge.sh" "$T/verify.sh" "$T/respond.sh"
printf '%s\n' "auth requisite $M otp" \
	"auth required pam_exec.so quiet stdout $T/challenge.sh $T/challenge" \
	"auth required pam_exec.so quiet expose_authtok $T/verify.sh $T/challenge" \
	"account required $M" "session required pam_permit.so" >"$T/pam.d/sshd"

fresh_code
login_is success "OTP, then a second prompt answered by the -respond command" \
	"$U" -otp "$code" -respond "$T/respond.sh $T/prompt.txt"
prompts_are "...the OTP prompt first, then the other" otp other
grep_ok "...the command got the prompt with ssh's (user@host) prefix" \
	"^\\($U@127\\.0\\.0\\.1\\) Sign this one-time challenge:$" "$T/prompt.txt"
check "...the challenge line verbatim" grep -qxF -- "$(tail -n 1 "$T/challenge.all")" "$T/prompt.txt"
check "...and the prompt itself last" test "$(tail -n 1 "$T/prompt.txt")" = "Password: "
fresh_code
login_is denied "a garbage answer (-answer) to the second prompt is refused" \
	"$U" -otp "$code" -answer "garbage"
prompts_are "...after both prompts" otp other
login_is denied "a wrong OTP ends it before the second prompt" \
	"$U" -otp "$(wrong_code)" -respond "$T/respond.sh $T/prompt.txt"
prompts_are "...so only the OTP prompt was shown" otp
fresh_code
login_is error "a prompt with nothing to answer it is the driver's error, not a login result" \
	"$U" -otp "$code"

# --- the driver gives up on a server that does not answer ------------------------------------
listener=$(cat "$SSHD_PIDFILE")
kill -STOP "$listener"
login_is timeout "a frozen sshd gives RESULT: timeout after -timeout seconds" "$U" -otp 000000 -timeout 2
kill -CONT "$listener"

tap_done
