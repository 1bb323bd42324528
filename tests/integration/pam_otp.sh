#!/bin/bash
# The OTP step through the real Linux-PAM library (pam_start_confdir with
# service files in a temporary directory), codes computed independently by
# oathtool.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

command -v oathtool >/dev/null || skip_all "oathtool is not installed"
MODULE=$top_builddir/.libs/pam_certtoken.so
HARNESS=$top_builddir/tests/pam/pam_harness
[ -f "$MODULE" ] || skip_all "pam_certtoken.so was not built"

mkdir -m 0700 "$T/pam.d"
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
# max_fail and lock_seconds are the old names of throttle_after and throttle_max:
# a configuration that uses them keeps loading
otp: { window = 2; hotp_lookahead = 10; max_fail = 5; lock_seconds = 60; throttle_base = 30; };
CONF
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
# service NAME LINES...: write a PAM service file
service() { local n=$1; shift; printf '%s\n' "$@" >"$T/pam.d/$n"; }
M="$MODULE config=$T/ct.conf"
service otp "auth required $M otp" "account required $M"
service ignore "auth [success=ok ignore=ignore default=bad] $M otp no_token=ignore" \
	"auth required pam_permit.so"
# pam_wrapper's pam_set_items.so puts $PAM_AUTHTOK into PAM_AUTHTOK, as an
# earlier module of a real stack would (applications cannot set it)
SET_ITEMS=$(find /usr/lib -path '*pam_wrapper/pam_set_items.so' | head -n1)
service first "auth required $SET_ITEMS" "auth required $M otp use_first_pass"
service try "auth required $SET_ITEMS" "auth required $M otp try_first_pass"
service badarg "auth required $M otp nonsense=1"
# publickey in sshd: another method authenticates, the module only does account
service pubkey "auth required pam_permit.so" "account required $M"
login() { "$HARNESS" "$@" >"$OUT" 2>"$ERR"; }
# auth_is WANT DESC SERVICE USER [ANSWER...]: the PAM result text matches WANT
auth_is() {
	local want=$1 desc=$2; shift 2
	login "$T/pam.d" "$@"
	grep_ok "$desc" "^authenticate: $want" "$OUT"
}

# --- the module exports only the PAM entry points -------------------------------
exports=$(nm -D --defined-only "$MODULE" | awk '{print $3}' | grep -v '^pam_sm_' | tr '\n' ' ')
check "the module exports only pam_sm_* (extra: '$exports')" test -z "$exports"

# --- TOTP --------------------------------------------------------------------------
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
run_status 0 "token init creates a TOTP token" ADM token init --user alice --type totp --secret "$SECRET"
grep_ok "token init prints the serial" "^serial: TOTP[0-9A-F]{16}$" "$OUT"
grep_ok "token init prints an otpauth URI" "^uri: otpauth://totp/certtoken:alice" "$OUT"
check "the secret is stored encrypted (not in the file)" \
	sh -c "! grep -qi '$(printf %s "$SECRET" | tr A-Z a-z)' '$T/store/tokens/alice'"
check "the token file is 0600" test "$(stat -c %a "$T/store/tokens/alice")" = 600
run_status 73 "token init refuses a second token of the user with the same secret (exit 73)" \
	ADM token init --user alice --type hotp --secret "$SECRET"
grep_ok "...and says why" "already has a token with this secret" "$ERR"
code=$(oathtool --totp -b "$SECRET")
auth_is "Success" "the current TOTP code logs in" otp alice "$code"
grep_ok "the prompt is 'OTP: '" "^prompt: OTP: $" "$OUT"
auth_is "Authentication failure" "the same code is refused a second time (no replay)" otp alice "$code"
prev=$(oathtool --totp -b -N "now - 30 seconds" "$SECRET")
auth_is "Authentication failure" "the previous step's code is refused after a later one was used" otp alice "$prev"
auth_is "Authentication failure" "a wrong code is refused" otp alice 000000
"$HARNESS" "$T/pam.d" otp alice 000000 >"$T/wrong.out" 2>&1; echo "exit $?" >>"$T/wrong.out"
auth_is "Authentication failure" "a non-numeric answer is refused" otp alice "abc'; --"
auth_is "Authentication failure" "an empty answer is refused" otp alice ""

# --- throttle (issue 13: no lockout; a throttled attempt answers like a wrong code) ---
"$HARNESS" "$T/pam.d" otp alice 111111 >"$T/throttled.out" 2>&1; echo "exit $?" >>"$T/throttled.out"
check "after throttle_after failures an attempt is throttled, and answers exactly like a wrong code" \
	diff "$T/wrong.out" "$T/throttled.out"
grep_ok "...which is Authentication failure" "^authenticate: Authentication failure" "$T/throttled.out"
next=$(oathtool --totp -b -N "now + 30 seconds" "$SECRET")
auth_is "Authentication failure" "a right code is refused while throttled (not tried)" otp alice "$next"
login --account "$T/pam.d" pubkey alice
grep_ok "account does not refuse a throttled user (publickey, sudo)" "^account: Success" "$OUT"
run_status 0 "token list --json shows the throttle" ADM token list --user alice --json
grep_ok "the listing says until when" '"locked_until":[1-9]' "$OUT"
serial=$(sed -n 's/.*"serial":"\([A-Z0-9]*\)".*/\1/p' "$OUT")
run_status 0 "token reset clears the throttle" ADM token reset "$serial"
auth_is "Success" "after reset the next step's code logs in" otp alice "$next"

# --- throttle per source (issue 13: an attacker elsewhere cannot keep the user out) ---
run_status 0 "token init for heidi" ADM token init --user heidi --type totp --secret "$SECRET"
auth_is "Success" "heidi logs in from 127.0.0.1 (now a known host)" otp heidi "$(oathtool --totp -b "$SECRET")"
for i in 1 2 3 4 5 6; do login --rhost 192.0.2.66 "$T/pam.d" otp heidi 000000; done
grep_ok "an attacker at another host sends six wrong codes" \
	"^authenticate: Authentication failure" "$OUT"
code=$(oathtool --totp -b -N 'now + 30 seconds' "$SECRET")
login --rhost 198.51.100.7 "$T/pam.d" otp heidi "$code"
grep_ok "...a host heidi never used waits for her throttle" "^authenticate: Authentication failure" "$OUT"
auth_is "Success" "...but the host she logged in from before is not held back" otp heidi "$code"
login --rhost 192.0.2.66 "$T/pam.d" otp heidi "$(oathtool --totp -b -N 'now + 60 seconds' "$SECRET")"
grep_ok "...and her success does not clear the attacker's own throttle (a right code from there is refused)" \
	"^authenticate: Authentication failure" "$OUT"

# --- account -----------------------------------------------------------------------
login --account "$T/pam.d" otp alice "$(oathtool --totp -b -N 'now + 60 seconds' "$SECRET")"
grep_ok "account succeeds for an active token" "^account: Success" "$OUT"
run_status 0 "token disable" ADM token disable "$serial"
auth_is "Authentication failure" "a disabled token cannot log in" otp alice "$(oathtool --totp -b "$SECRET")"
auth_is "Authentication failure" "no_token=ignore does not wave through a user whose tokens are disabled" ignore alice "$(oathtool --totp -b "$SECRET")"
login --account "$T/pam.d" ignore alice
grep_not "...nor does account" "^account: Success" "$OUT"
run_status 0 "token enable" ADM token enable "$serial"

# --- HOTP, look-ahead, counter never moves back ---------------------------------------
HSECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
ADM token init --user bob --type hotp --secret "$HSECRET" >/dev/null
hotp() { oathtool --hotp -b -c "$1" "$HSECRET"; }
auth_is "Success" "HOTP counter 0 logs in" otp bob "$(hotp 0)"
auth_is "Authentication failure" "HOTP counter 0 is refused a second time" otp bob "$(hotp 0)"
auth_is "Success" "HOTP look-ahead: counter 6 logs in" otp bob "$(hotp 6)"
auth_is "Authentication failure" "a code below the accepted one is refused (counter 3)" otp bob "$(hotp 3)"
auth_is "Authentication failure" "beyond the look-ahead window is refused (counter 40)" otp bob "$(hotp 40)"
hserial=$(ADM token list --user bob --json | sed -n 's/.*"serial":"\([A-Z0-9]*\)".*/\1/p')
run_status 0 "token resync finds the counter from two codes" ADM token resync "$hserial" "$(hotp 40)" "$(hotp 41)"
auth_is "Success" "after resync counter 42 logs in" otp bob "$(hotp 42)"
run_status 0 "token init reads --secret - from standard input" sh -c "echo $HSECRET | '$ADMIN' -c '$T/ct.conf' token init --user erin --type hotp --secret -"
auth_is "Success" "...and that secret works" otp erin "$(hotp 0)"

# --- users without a token -----------------------------------------------------------
auth_is "Authentication failure" "a user without a token is prompted and refused (no_token=deny)" otp carol 123456
grep_ok "...and was prompted like everyone else" "^prompt: OTP: " "$OUT"
check "...and left nothing in the store" test ! -e "$T/store/tokens/carol.lock"
login "$T/pam.d" ignore carol
grep_ok "no_token=ignore lets the rest of the stack decide" "^authenticate: Success" "$OUT"
grep_not "...without prompting" "^prompt:" "$OUT"
auth_is "Authentication failure" "no_token=ignore still checks a user who has a token" ignore bob 000000

# --- first_pass ----------------------------------------------------------------------
PAM_AUTHTOK=$(hotp 43) login "$T/pam.d" first bob
grep_ok "use_first_pass takes the code from PAM_AUTHTOK" "^authenticate: Success" "$OUT"
grep_not "...without prompting" "^prompt:" "$OUT"
login "$T/pam.d" first bob
grep_ok "use_first_pass without a token fails" "^authenticate: Authentication failure" "$OUT"
login "$T/pam.d" try bob "$(hotp 44)"
grep_ok "try_first_pass prompts when there is no PAM_AUTHTOK" "^authenticate: Success" "$OUT"

# --- misconfiguration fails closed ------------------------------------------------------
service noconf "auth required $MODULE otp"
CERTTOKEN_CONF=$T/ct.conf login "$T/pam.d" noconf bob "$(hotp 45)"
grep_not "the module ignores CERTTOKEN_CONF from the caller's environment" "^authenticate: Success" "$OUT"
chmod 0640 "$T/store/secret.key"
auth_is "Authentication service cannot retrieve" "a group-readable secret key fails closed" otp bob "$(hotp 45)"
chmod 0600 "$T/store/secret.key"
ln -s "$T/store/tokens/bob" "$T/store/tokens/frank"
auth_is "Authentication service cannot retrieve" "a symlinked token file fails closed" otp frank "$(hotp 45)"
rm "$T/store/tokens/frank"
auth_is "System error|Error in service module" "an unknown module argument fails closed" badarg bob "$(hotp 45)"
chmod 0770 "$T/store"
auth_is "Authentication service cannot retrieve" "a group-writable store fails closed" otp bob "$(hotp 45)"
chmod 0700 "$T/store"
cp "$T/store/tokens/bob" "$T/bob.saved"
sed -i 's/counter=[0-9]*/counter=x/' "$T/store/tokens/bob"
auth_is "Authentication service cannot retrieve" "a corrupt token file fails closed" otp bob "$(hotp 45)"
cp "$T/bob.saved" "$T/store/tokens/bob"
auth_is "Success" "the restored file works again" otp bob "$(hotp 45)"

# --- concurrency -----------------------------------------------------------------------
ADM token init --user dave --type hotp --secret "$HSECRET" >/dev/null
code=$(oathtool --hotp -b -c 0 "$HSECRET")
for i in $(seq 1 32); do
	"$HARNESS" "$T/pam.d" otp dave "$code" >"$T/race.$i" 2>&1 &
done
wait
wins=$(grep -l '^authenticate: Success' "$T"/race.* | wc -l)
check "32 parallel logins with the same code: exactly one succeeds (got $wins)" test "$wins" -eq 1
rm -f "$T"/race.*
for u in u1 u2 u3 u4 u5 u6 u7 u8; do ADM token init --user "$u" --type hotp --secret "$HSECRET" >/dev/null; done
for u in u1 u2 u3 u4 u5 u6 u7 u8; do
	( for c in 0 1 2 3 4; do "$HARNESS" "$T/pam.d" otp "$u" "$(oathtool --hotp -b -c $c "$HSECRET")"; done ) >"$T/many.$u" 2>&1 &
done
wait
fails=$(cat "$T"/many.* | grep -c '^authenticate: ' )
succ=$(cat "$T"/many.* | grep -c '^authenticate: Success')
check "8 users logging in in parallel, 5 codes each: all 40 succeed (got $succ of $fails)" test "$succ" -eq 40
auth_is "Authentication failure" "and every used code stays used" otp u3 "$(oathtool --hotp -b -c 4 "$HSECRET")"
run_status 0 "the store-level race: 8 writers x 50 transactions lose no update" \
	"$top_builddir/tests/unit/tokens_race" "$T/store" racer 8
"$top_builddir/tests/unit/tokens_race" "$T/store" killed write-forever >/dev/null 2>&1 &
pid=$!
sleep 0.5
kill -9 "$pid"; wait "$pid" 2>/dev/null
run_status 0 "after kill -9 during writes the store reads back" ADM token list --user killed
check "no temporary files are left readable as state" test -z "$(find "$T/store/tokens" -name 'killed' -size 0)"
tap_done
