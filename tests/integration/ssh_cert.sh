#!/bin/bash
# The SSH certificate step end to end: a real sshd (tests/lib/sshd.sh) with
# `AuthenticationMethods publickey,keyboard-interactive`, TrustedUserCAKeys
# from `certtoken-admin ca export --ssh` (two groups), RevokedKeys from
# `certtoken-admin krl`, and the PAM stack `otp` then `cert=ssh`; the user
# enrolls through a real certtokend with certtoken-enroll, which writes the
# key beside its -cert.pub and adds both to a real ssh-agent with a
# lifetime; the real ssh client logs in through the agent and through -i.
# The happy path takes exactly one typed OTP and no paste; each refusal in
# issue 15's list fails to log in.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/sshd.sh"

MODULE=$top_builddir/.libs/pam_certtoken.so
DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
[ -f "$MODULE" ] && [ -x "$DAEMON" ] && [ -x "$ENROLL" ] || skip_all "not built"
command -v oathtool >/dev/null || skip_all "oathtool is not installed"
command -v setpriv >/dev/null || skip_all "setpriv is not installed"
command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null || skip_all "no ssh-agent/ssh-add"
sshd_require
ldd "$MODULE" | grep -q 'lib[a-z]*san\.so' && skip_all "a sanitizer build cannot be loaded into sshd"
export TZ=UTC

U=ctsc$$
make_user "$U" /bin/sh "ssh cert tester"
# a second user, for a certificate presented for someone else
V=ctsv$$
mkdir -m 0700 "$T/home2"
useradd -M -d "$T/home2" -s /bin/sh -c "second ssh cert tester" "$V" || { echo "Bail out! useradd"; exit 1; }
remove_v() { userdel "$V" 2>/dev/null; }
at_exit remove_v
chown "$V:" "$T/home2"

SOCK=$T/run/enroll.sock
mkdir -m 0755 "$T/run"
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
socket = "$SOCK";
otp: { hotp_lookahead = 20; max_fail = 100; };
access_groups = ( { name = "g"; }, { name = "h"; } );
targets = (
  { name = "shell"; access_group = "g"; subject = "CN=%unix_account%"; ssh = true; },
  { name = "short"; access_group = "g"; subject = "CN=%unix_account%"; lifetime = 60;
    backdate = 0; ssh = true; },
  { name = "other"; access_group = "h"; subject = "CN=%unix_account%"; ssh = true; } );
CONF
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
ADM ca init g >/dev/null && ADM ca init h >/dev/null || { echo "Bail out! ca init failed"; exit 1; }
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
ADM token init --user "$U" --type hotp --secret "$SECRET" >/dev/null
ADM token init --user "$V" --type hotp --secret "$SECRET" >/dev/null
counter=0
vcounter=0
fresh_code() { code=$(oathtool --hotp -b -c "$counter" "$SECRET"); counter=$((counter + 1)); }
wrong_code() {
	local c=000000 near
	near=$(oathtool --hotp -b -c "$counter" -w 30 "$SECRET")
	while grep -qx "$c" <<<"$near"; do c=$(printf '%06d' $((10#$c + 1))); done
	echo "$c"
}

# --- the PAM stacks, certtokend --------------------------------------------------------
mkdir -m 0700 "$T/pam.d"
M="$MODULE config=$T/ct.conf"
printf '%s\n' "auth required $M otp" "account required $M" >"$T/pam.d/certtoken-enroll"
# sshd_target T: sshd's stack checks certificates for target T (pam_wrapper
# reads the service file again at the next connection)
sshd_target() {
	printf '%s\n' "auth required $M otp" "auth required $M cert=ssh target=$1" \
		"account required $M" "session required pam_permit.so" >"$T/pam.d/sshd"
}
sshd_target shell
"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
at_exit stop_daemon
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done

# --- a real ssh-agent of the user's, and enrollment -----------------------------------------
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin "$@"; }
AGENT=$T/home/agent.sock
as_user ssh-agent -a "$AGENT" >"$T/agent.out"
APID=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$T/agent.out")
stop_agent() { [ -n "$APID" ] && kill "$APID" 2>/dev/null; }
at_exit stop_agent
check "the user's ssh-agent runs" test -S "$AGENT"
enroll() { # enroll TARGET [env...]: as the user, the OTP on stdin
	local target=$1; shift
	fresh_code
	echo "$code" | as_user "$@" "$ENROLL" --socket "$SOCK" enroll --target "$target" >"$OUT" 2>"$ERR"
}

D=$T/home/.config/certtoken
enroll short SSH_AUTH_SOCK="$AGENT"
check "enroll for the short-lived target, with an agent" test $? = 0
SHORT_T0=$(date +%s)
cp "$OUT" "$T/enroll-short.out"
grep_ok "it names the key it wrote for ssh -i" "^ssh key: +$D/short/key$" "$T/enroll-short.out"
check "the key is openssh-key-v1, 0600, the user's" \
	test "$(head -n1 "$D/short/key")/$(stat -c %a/%U "$D/short/key")" = "-----BEGIN OPENSSH PRIVATE KEY-----/600/$U"
KFP=$(ssh-keygen -y -f "$D/short/key" | ssh-keygen -l -f - | awk '{print $2}')
grep_ok "ssh-keygen -y reads it, and it is the key the certificate certifies" \
	"Public key: ECDSA-CERT $(printf '%s' "$KFP" | sed 's/[+/]/\\&/g')$" <(ssh-keygen -L -f "$D/short/key-cert.pub")
grep_ok "it added the pair to the agent for the certificate's remaining validity" \
	"^ssh-agent: added with its certificate for (5[0-9]|60) s" "$T/enroll-short.out"
grep_ok "it prints the one ssh command line that uses them" "^ssh command: ssh -i $D/short/key $U@HOST$" "$T/enroll-short.out"
as_user env SSH_AUTH_SOCK="$AGENT" ssh-add -l >"$T/agent-l" 2>&1
cat "$T/agent-l" | diag
check "ssh-add -l: the agent holds the key and its certificate" \
	test "$(grep -c 'ECDSA' "$T/agent-l")" = 2 -a "$(grep -c 'ECDSA-CERT' "$T/agent-l")" = 1
# the lifetime constraint, as the agent reports it: ssh-add -l lists the key
# and the agent drops it at expiry (checked at the end of this script)

enroll shell
check "enroll for the shell target without an agent" test $? = 0
cp "$OUT" "$T/enroll-shell.out"
grep_not "...and no agent is touched" "ssh-agent" "$T/enroll-shell.out"
XSERIAL=$(sed -n 's/^serial: *//p' "$T/enroll-shell.out")
CTOK=$(sed -n 's/^token: *//p' "$T/enroll-shell.out")
enroll other
check "enroll for a target of group h" test $? = 0

# --- the step through the real PAM library (the harness sets SSH_AUTH_INFO_0) ---------------
HARNESS=$top_builddir/tests/pam/pam_harness
mkdir -m 0700 "$T/hpam"
printf '%s\n' "auth required $M otp" "auth required $M cert=ssh target=shell" >"$T/hpam/svc"
printf '%s\n' "auth required $M cert=ssh target=shell" >"$T/hpam/alone"
printf '%s\n' "auth required $M otp no_token=ignore" "auth required $M cert=ssh no_token=ignore" >"$T/hpam/ignore"
info() { printf 'publickey %s\nkeyboard-interactive\n' "$(cut -d' ' -f1-2 "$1")"; }
harness() { # harness WANT DESC SERVICE USER INFO|- [answers]: "authenticate: WANT"
	local want=$1 desc=$2 svc=$3 user=$4 env=$5; shift 5
	if [ "$env" = - ]; then
		"$HARNESS" "$T/hpam" "$svc" "$user" "$@" >"$OUT" 2>"$ERR"
	else
		"$HARNESS" --env "SSH_AUTH_INFO_0=$env" "$T/hpam" "$svc" "$user" "$@" >"$OUT" 2>"$ERR"
	fi
	grep_ok "$desc" "^authenticate: $want$" "$OUT"
}
fresh_code
harness Success "PAM: OTP, then the group's certificate in SSH_AUTH_INFO_0" svc "$U" "$(info "$D/shell/key-cert.pub")" "$code"
fresh_code
harness "Authentication failure" "PAM: no SSH_AUTH_INFO_0 fails" svc "$U" - "$code"
fresh_code
harness "Authentication failure" "PAM: another group's certificate fails" svc "$U" "$(info "$D/other/key-cert.pub")" "$code"
fresh_code
harness "Authentication failure" "PAM: a plain key fails" svc "$U" "publickey $(ssh-keygen -y -f "$D/shell/key")" "$code"
fresh_code
harness "Authentication failure" "PAM: the certificate for another user fails" svc "$V" "$(info "$D/shell/key-cert.pub")" "$code"
fresh_code
harness "Authentication failure" "PAM: garbage fails" svc "$U" "publickey ecdsa-sha2-nistp256-cert-v01@openssh.com AAAA%%" "$code"
fresh_code
harness "Authentication failure" "PAM: a wrong OTP fails before the certificate is looked at" svc "$U" "$(info "$D/shell/key-cert.pub")" "$(wrong_code)"
harness "Authentication failure" "PAM: cert=ssh without an OTP step before it fails" alone "$U" "$(info "$D/shell/key-cert.pub")"
fresh_code
harness "Authentication failure" "PAM: never PAM_IGNORE, even with no_token=ignore" ignore "$U" - "$code"
chmod g+w "$T/store/groups/g"
fresh_code
harness "Authentication service cannot retrieve authentication info" \
	"PAM: SSH CA material that cannot be trusted (group-writable) is PAM_AUTHINFO_UNAVAIL, not a refusal" \
	svc "$U" "$(info "$D/shell/key-cert.pub")" "$code"
chmod g-w "$T/store/groups/g"

# --- sshd: both groups' SSH CAs trusted, the KRL of g, the user's authorized_keys ----------
ADM ca export g --ssh >"$T/trusted" && ADM ca export h --ssh >>"$T/trusted"
ADM krl g --output "$T/krl" >/dev/null
mkdir -m 0700 "$T/home/.ssh"
: >"$T/home/.ssh/authorized_keys"
chown -R "$U:" "$T/home/.ssh"
SSHD_CONFIG_FIRST="AuthenticationMethods publickey,keyboard-interactive
PubkeyAuthentication yes
TrustedUserCAKeys $T/trusted
RevokedKeys $T/krl
AuthorizedKeysFile .ssh/authorized_keys
ExposeAuthInfo no"
if ! sshd_start "$T/pam.d" 2>"$T/sshd_start.err"; then
	echo "Bail out! cannot start sshd: $(tr '\n' ' ' <"$T/sshd_start.err")"
	exit 1
fi
ok "sshd listens on 127.0.0.1:$SSHD_PORT"

n=0
# login_is WANT DESC USER [ssh_login.exp options...] (see tests/integration/sshd.sh)
login_is() {
	local want=$1 desc=$2 mark; shift 2
	n=$((n + 1))
	SSH=$T/ssh.$n.log
	LOG=$T/sshd.$n.log
	mark=$(wc -l <"$SSHD_LOG")
	expect -f "$SSH_LOGIN" "$SSHD_PORT" "$@" -log "$SSH.raw" >"$OUT" 2>"$ERR" </dev/null
	tr -d '\r' <"$SSH.raw" >"$SSH"
	sleep 0.2 # sshd's last lines
	tail -n +$((mark + 1)) "$SSHD_LOG" >"$LOG"
	if grep -qx "RESULT: $want" "$OUT"; then
		ok "$desc"
	else
		not_ok "$desc (got '$(tail -n 1 "$OUT")')"
		{ cat "$OUT" "$ERR" "$SSH"; echo "--- sshd:"; tail -n 20 "$LOG"; } | diag
	fi
}
prompts_are() {
	local desc=$1 got; shift
	got=$(sed -n 's/^prompt: //p' "$OUT" | tr '\n' ' ')
	check "$desc (prompts: ${got:-none})" test "$got" = "${*:+$* }"
}
PK="-oPreferredAuthentications=publickey,keyboard-interactive"
PY=-oPubkeyAuthentication=yes
# with_key KEY: ssh options that offer only KEY (and KEY-cert.pub), no agent
with_key() { printf '%s\n' -sshopt "$PK" -sshopt "$PY" -sshopt -oIdentitiesOnly=yes -sshopt -oIdentityAgent=none -sshopt -i"$1"; }
key_login() { # key_login WANT DESC USER KEY [options]
	local want=$1 desc=$2 user=$3 key=$4; shift 4
	# shellcheck disable=SC2046 # one word per line
	login_is "$want" "$desc" "$user" $(with_key "$key") "$@"
}

# --- the happy path: one OTP, no paste -----------------------------------------------------
fresh_code
key_login success "ssh -i KEY: certificate, then one OTP, logs in" "$U" "$D/shell/key" -otp "$code"
prompts_are "...with exactly one typed OTP" otp
grep_ok "...sshd checked the certificate first (partial success)" "Partial publickey for $U from 127\\.0\\.0\\.1 .*ECDSA-CERT" "$LOG"
grep_ok "...then accepted keyboard-interactive/pam" "Accepted keyboard-interactive/pam for $U" "$LOG"
fresh_code
SSH_AUTH_SOCK=$AGENT login_is denied "a certificate for another target of the same group (short, on a shell host)" \
	"$U" -sshopt "$PK" -sshopt "$PY" -otp "$code"
grep_ok "...sshd accepted it, the module refused" "Failed keyboard-interactive/pam for $U" "$LOG"
sshd_target short
fresh_code
SSH_AUTH_SOCK=$AGENT login_is success "through the ssh-agent: logs in with one OTP" "$U" -sshopt "$PK" -sshopt "$PY" -otp "$code"
prompts_are "...with exactly one typed OTP" otp
grep_ok "...with the certificate from the agent" "Partial publickey for $U from 127\\.0\\.0\\.1 .*ECDSA-CERT" "$LOG"
sshd_target shell

# --- what fails ------------------------------------------------------------------------------
login_is denied "a wrong OTP after a good certificate" "$U" $(with_key "$D/shell/key") -otp "$(wrong_code)"
prompts_are "...after the one OTP prompt" otp
fresh_code
key_login denied "a certificate from another group's SSH CA (sshd trusts it, the target's group does not)" \
	"$U" "$D/other/key" -otp "$code"
grep_ok "...sshd accepted it" "Partial publickey for $U " "$LOG"
grep_ok "...the PAM stack refused" "Failed keyboard-interactive/pam for $U" "$LOG"
fresh_code
key_login denied "a certificate for another login name (wrong principal)" "$V" "$D/shell/key" -otp "$code"
grep_not "...no publickey partial success for $V" "Partial publickey for $V " "$LOG"

# a self-made CA that the user trusts in authorized_keys
ssh-keygen -q -t ed25519 -N '' -C '' -f "$T/selfca" </dev/null
SSER=$(ssh-keygen -L -f "$D/shell/key-cert.pub" | sed -n 's/^ *Serial: //p')
cp "$D/shell/key" "$T/selfkey" && ssh-keygen -y -f "$T/selfkey" >"$T/selfkey.pub"
ssh-keygen -q -s "$T/selfca" -I "certtoken:$U:shell:$XSERIAL" -n "$U" -z "$SSER" -V -5m:+1h "$T/selfkey.pub"
printf 'cert-authority %s\n' "$(cat "$T/selfca.pub")" >"$T/home/.ssh/authorized_keys"
fresh_code
key_login denied "a certificate of a user's own cert-authority line (same key, key id and serial)" \
	"$U" "$T/selfkey" -otp "$code"
grep_ok "...sshd let it past" "Partial publickey for $U " "$LOG"
grep_ok "...the module refused it" "Failed keyboard-interactive/pam for $U" "$LOG"
# a plain key in authorized_keys
ssh-keygen -q -t ed25519 -N '' -C '' -f "$T/plain" </dev/null
cp "$T/plain.pub" "$T/home/.ssh/authorized_keys"
fresh_code
key_login denied "a plain key without a certificate" "$U" "$T/plain" -otp "$code"
grep_ok "...sshd accepted the key" "Partial publickey for $U .*ED25519 " "$LOG"
: >"$T/home/.ssh/authorized_keys"

# the certificate token disabled, then enabled
run_status 0 "disable the certificate's token" ADM token disable "$CTOK"
fresh_code
key_login denied "a disabled token's certificate" "$U" "$D/shell/key" -otp "$code"
grep_ok "...sshd accepted the certificate, the module refused" "Partial publickey for $U " "$LOG"
ADM token enable "$CTOK" >/dev/null
fresh_code
key_login success "...and it logs in again once enabled" "$U" "$D/shell/key" -otp "$code"

# revoked: refused by the module through the index even before the KRL is
# rewritten, then by sshd through the KRL
run_status 0 "revoke the certificate" ADM cert revoke "$XSERIAL"
fresh_code
key_login denied "revoked, with the old KRL: the module refuses" "$U" "$D/shell/key" -otp "$code"
grep_ok "...after sshd accepted it" "Partial publickey for $U " "$LOG"
ADM krl g --output "$T/krl" >/dev/null
fresh_code
key_login denied "revoked, with the new KRL: sshd refuses" "$U" "$D/shell/key" -otp "$code"
grep_ok "...as revoked" "(revoked|REVOKED)" "$LOG"
prompts_are "...before any OTP prompt" ""

# --- expiry: the short-lived certificate ---------------------------------------------------
left=$((SHORT_T0 + 62 - $(date +%s)))
[ "$left" -le 0 ] || { echo "# waiting $left s for the short-lived certificate to expire"; sleep "$left"; }
as_user env SSH_AUTH_SOCK="$AGENT" ssh-add -l >"$T/agent-l2" 2>&1
cat "$T/agent-l2" | diag
grep_ok "the agent dropped key and certificate at expiry" "The agent has no identities" "$T/agent-l2"
fresh_code
key_login denied "an expired certificate through -i" "$U" "$D/short/key" -otp "$code"
grep_not "...never got past sshd" "Partial publickey for $U " "$LOG"

tap_done
