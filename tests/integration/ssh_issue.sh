#!/bin/bash
# OpenSSH user certificates from the access group's SSH CA, end to end: a
# real certtokend enrolls a real unprivileged user (OTP through the real PAM
# library) for a target with `ssh`, and OpenSSH's own ssh-keygen checks what
# came back (-L: type, key id, serial, principals, validity, options,
# signing CA), the TrustedUserCAKeys lines of `ca export --ssh` (fingerprints),
# rotation with an overlap, and the KRL of `certtoken-admin krl` after `cert
# revoke` (-Q), one KRL for two groups and --all; what the OpenSSH
# certificate needs (a principal's attribute, the SSH CA's private key) is
# checked before the CA connector signs anything; the client writes the key
# before key-cert.pub.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
MODULE=$top_builddir/.libs/pam_certtoken.so
[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, runs certtokend)"
[ -x "$DAEMON" ] && [ -x "$ENROLL" ] && [ -f "$MODULE" ] || skip_all "not built"
command -v ssh-keygen >/dev/null || skip_all "ssh-keygen is not installed"
command -v oathtool >/dev/null || skip_all "oathtool is not installed"
command -v setpriv >/dev/null || skip_all "setpriv is not installed"
export TZ=UTC

U=ctssh$$
make_user "$U" /usr/sbin/nologin "SSH Tester"
mkdir -m 0755 "$T/run"
SOCK=$T/run/enroll.sock
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin "$@"; }
enroll_otp() { local c=$1; shift; echo "$c" | as_user "$ENROLL" --socket "$SOCK" "$@"; }

cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
socket = "$SOCK";
otp: { hotp_lookahead = 5; max_fail = 50; };
access_groups = ( { name = "sshg"; }, { name = "ecg"; ssh_key_type = "ecdsa-p256"; },
                  { name = "nossh"; } ); # never initialised: no CA, no SSH CA
targets = (
  { name = "shell"; access_group = "sshg"; subject = "CN=%unix_account%"; lifetime = 900;
    backdate = 30;
    ssh = { principals = [ "%unix_account%", "ops-%unix_account%" ];
            extensions = [ "permit-pty", "permit-port-forwarding" ];
            force_command = "/usr/bin/id"; source_address = "127.0.0.1/32,::1"; }; },
  { name = "plain"; access_group = "sshg"; subject = "CN=%unix_account%"; },
  { name = "ec"; access_group = "ecg"; subject = "CN=%unix_account%"; ssh = true; },
  { name = "phone"; access_group = "sshg"; subject = "CN=%unix_account%"; ca_connector = "ext";
    ssh = { principals = [ "tel-%telephone%" ]; }; },
  { name = "extssh"; access_group = "sshg"; subject = "CN=%unix_account%"; ca_connector = "ext";
    ssh = true; } );
ca_connectors = ( { name = "local"; type = "local"; },
                  { name = "ext"; type = "command"; command = [ "$T/sign" ]; timeout = 5; } );
CONF
# an external CA that notes each time it is asked to sign, and signs
mkdir -m 0700 "$T/extca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=External CA" \
	-days 30 -keyout "$T/extca/ca.key" -out "$T/extca/ca.pem" 2>/dev/null
cat >"$T/sign" <<EOF
#!/bin/bash
echo "\$CERTTOKEN_ACTION \$CERTTOKEN_TOKEN" >>"$T/sign.runs"
openssl x509 -req -CA "$T/extca/ca.pem" -CAkey "$T/extca/ca.key" -days 1 \
	-set_serial "0x\$(openssl rand -hex 16)" 2>/dev/null
EOF
chmod 0755 "$T/sign"
mkdir -m 0700 "$T/pam.d"
M="$MODULE config=$T/ct.conf"
printf '%s\n' "auth required $M otp" "account required $M" >"$T/pam.d/certtoken-enroll"
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" >"$T/pam.d/other"
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
counter=0
next_code() { code=$(oathtool --hotp -b -c "$counter" "$SECRET"); counter=$((counter + 1)); }
# re TEXT: TEXT as an extended regex that matches it literally (fingerprints hold + and /)
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }

# --- the SSH CA made with the group's CA -------------------------------------
run_status 0 "ca init makes the X.509 and the SSH CA" ADM ca init sshg
grep_ok "ca init says it made the SSH CA and how to export it" "^and its SSH CA \(ed25519\): 'certtoken-admin ca export sshg --ssh'" "$OUT"
ADM ca init ecg >/dev/null
G=$T/store/groups/sshg
check "ssh_ca.key is 0600" test "$(stat -c %a "$G/ssh_ca.key")" = 600
check "ssh_ca.pub is the group's ed25519 public key line" grep -Eq '^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ certtoken:sshg$' "$G/ssh_ca.pub"
run_status 0 "ca export --ssh" ADM ca export sshg --ssh
cp "$OUT" "$T/trusted"
check "one TrustedUserCAKeys line, named for the group and its role" \
	test "$(grep -Ec '^ssh-ed25519 AAAA[^ ]+ certtoken:sshg:current$' "$T/trusted")" = 1 -a "$(wc -l <"$T/trusted")" = 1
check "ssh-keygen reads the exported line as a key" ssh-keygen -l -f "$T/trusted"
CAFP=$(ssh-keygen -l -f "$T/trusted" | awk '{print $2}')
ADM ca export ecg --ssh >"$T/trusted-ec"
check "ssh_key_type ecdsa-p256 makes an ECDSA SSH CA" grep -q '^ecdsa-sha2-nistp256 .* certtoken:ecg:current$' "$T/trusted-ec"
run_status 0 "token init for the test user" ADM token init --user "$U" --type hotp --secret "$SECRET"

"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
at_exit stop_daemon
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
check "certtokend listens" test -S "$SOCK"

# --- enrollment for a target with ssh ------------------------------------
DIR=$T/home/.config/certtoken/shell
next_code
run_status 0 "enroll for a target with ssh" enroll_otp "$code" enroll --target shell
cp "$OUT" "$T/enroll.out"
CERT=$DIR/key-cert.pub
check "key-cert.pub is written beside the certificate, the user's" test "$(stat -c %U "$CERT" 2>/dev/null)" = "$U"
grep_ok "enroll names the OpenSSH certificate it saved" "^ssh certificate: $CERT$" "$T/enroll.out"
XSERIAL=$(sed -n 's/^serial: *//p' "$T/enroll.out")
TZ=UTC ssh-keygen -L -f "$CERT" >"$T/L" 2>&1
cat "$T/L" | diag
grep_ok "ssh-keygen -L: an ECDSA user certificate (the client's key type)" "Type: ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate" "$T/L"
grep_ok "ssh-keygen -L: key id certtoken:USER:TARGET:X509SERIAL" "Key ID: \"certtoken:$U:shell:$XSERIAL\"" "$T/L"
SSERIAL=$(sed -n 's/^ *Serial: //p' "$T/L")
check "the SSH serial is not 0" test -n "$SSERIAL" -a "$SSERIAL" != 0
grep_ok "the index records the SSH serial beside the X.509 serial" "^ssh_serial=$SSERIAL$" "$T/store/certs/$XSERIAL.pem"
ADM cert list --json >"$T/list.json"
grep_ok "cert list --json shows the SSH serial" "\"serial\":\"$XSERIAL\",[^}]*\"ssh_serial\":\"$SSERIAL\"" "$T/list.json"
check "ssh-keygen -L: principals from the patterns, in order" \
	test "$(sed -n '/Principals:/,/Critical Options:/p' "$T/L" | sed -n '2,3p' | tr -d ' \t' | tr '\n' ' ')" = "$U ops-$U "
grep_ok "ssh-keygen -L: the signing CA is the exported key" "Signing CA: ED25519 $(re "$CAFP") " "$T/L"
grep_ok "ssh-keygen -L: force-command" "force-command /usr/bin/id" "$T/L"
grep_ok "ssh-keygen -L: source-address" "source-address 127.0.0.1/32,::1" "$T/L"
check "ssh-keygen -L: exactly the configured extensions" \
	test "$(sed -n '/Extensions:/,$p' "$T/L" | sed 1d | tr -d ' \t' | sort | tr '\n' ' ')" = "permit-port-forwarding permit-pty "
# the same validity as the X.509 certificate
NB=$(date -u -d "$(openssl x509 -in "$DIR/cert.pem" -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%S)
NA=$(date -u -d "$(openssl x509 -in "$DIR/cert.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%S)
grep_ok "ssh-keygen -L: valid from notBefore to notAfter of the X.509 certificate" "Valid: from $NB to $NA$" "$T/L"
# the certificate is for the enrolled key
openssl pkey -in "$DIR/key.pem" -pubout -out "$T/pub.pem" 2>/dev/null
KEYFP=$(ssh-keygen -i -m PKCS8 -f "$T/pub.pem" | ssh-keygen -l -f - | awk '{print $2}')
grep_ok "ssh-keygen -L: the certified key is the enrolled key" "Public key: ECDSA-CERT $(re "$KEYFP")$" "$T/L"
grep_ok "certtokend logs the OpenSSH serial and key id" "OpenSSH certificate serial $SSERIAL, key id certtoken:$U:shell:$XSERIAL" "$T/daemon.log"

# a target without ssh: no OpenSSH certificate, no ssh_serial
next_code
run_status 0 "enroll for a target without ssh" enroll_otp "$code" enroll --target plain
PSERIAL=$(sed -n 's/^serial: *//p' "$OUT")
check "no key-cert.pub for a target without ssh" test ! -e "$T/home/.config/certtoken/plain/key-cert.pub"
grep_not "no ssh_serial in its index entry" "ssh_serial" "$T/store/certs/$PSERIAL.pem"

# --- what the OpenSSH certificate needs is checked before the X.509 one is signed ---
# the test user has no telephone (GECOS "SSH Tester"): the principal cannot be made
ls "$T/store/certs" >"$T/certs.before"
ADM token list --user "$U" --json >"$T/tokens.before"
next_code
run_status 65 "enroll for a target whose principal needs a missing attribute" enroll_otp "$code" enroll --target phone
grep_ok "the user is told which attribute is missing" "telephone" "$ERR"
check "the CA was never asked to sign an X.509 certificate" test ! -e "$T/sign.runs"
check "the index is unchanged" cmp -s "$T/certs.before" <(ls "$T/store/certs")
ADM token list --user "$U" --json >"$T/tokens.after"
check "no token was added" test "$(grep -o '"serial"' "$T/tokens.after" | wc -l)" = "$(grep -o '"serial"' "$T/tokens.before" | wc -l)"
check "no key-cert.pub for the refused target" test ! -e "$T/home/.config/certtoken/phone/key-cert.pub"
grep_ok "certtokend logs that nothing was issued" "target phone refused before anything was issued: OpenSSH certificate: .*telephone" "$T/daemon.log"

# --- the KRL --------------------------------------------------------------
run_status 0 "krl --output" ADM krl sshg --output "$T/krl"
grep_ok "krl says what it wrote" "0 revoked certificates" "$OUT"
check "the KRL is 0644" test "$(stat -c %a "$T/krl")" = 644
run_status 0 "ssh-keygen -Q: not revoked yet" ssh-keygen -Q -f "$T/krl" "$CERT"
run_status 0 "cert revoke" ADM cert revoke "$XSERIAL" --reason keyCompromise
INODE=$(stat -c %i "$T/krl")
run_status 0 "krl again" ADM krl sshg --output "$T/krl"
grep_ok "krl counts the revoked certificate" "1 revoked certificate$" "$OUT"
check "the KRL was replaced by a new file (atomic rename)" test "$(stat -c %i "$T/krl")" != "$INODE"
run_status 1 "ssh-keygen -Q: revoked" ssh-keygen -Q -f "$T/krl" "$CERT"
cp "$CERT" "$T/revoked-cert.pub"
grep_ok "ssh-keygen -Q names it revoked" "REVOKED" "$OUT"
ADM krl sshg >"$T/krl.stdout" 2>/dev/null
check "krl without --output writes the same KRL to standard output" \
	test "$(ssh-keygen -Q -f "$T/krl.stdout" "$CERT" 2>&1 | grep -c REVOKED)" = 1
run_status 65 "krl for a group that is not configured" ADM krl nosuch --output "$T/krl2"
check "no file is left for a refused krl" test ! -e "$T/krl2"

# --- rotation with the group, same overlap ----------------------------------------
run_status 0 "ca rotate --prepare" ADM ca rotate sshg --prepare
ADM ca export sshg --ssh >"$T/trusted2"
check "export --ssh: the current and the prepared key" \
	test "$(grep -c ':current$' "$T/trusted2") $(grep -c ':prepared$' "$T/trusted2")" = "1 1"
NEXTFP=$(grep ':prepared$' "$T/trusted2" | ssh-keygen -l -f - | awk '{print $2}')
run_status 0 "ca rotate --overlap-hours 2" ADM ca rotate sshg --overlap-hours 2
ADM ca export sshg --ssh >"$T/trusted3"
check "after the rotation: the prepared key is current" \
	test "$(grep ':current$' "$T/trusted3" | ssh-keygen -l -f - | awk '{print $2}')" = "$NEXTFP"
check "after the rotation: the replaced key is previous, with the end of its overlap" \
	test "$(grep -E ':previous:until=[0-9T:-]+Z$' "$T/trusted3" | ssh-keygen -l -f - | awk '{print $2}')" = "$CAFP"
run_status 0 "krl after the rotation" ADM krl sshg --output "$T/krl"
run_status 1 "ssh-keygen -Q: the certificate of the previous SSH CA stays revoked" ssh-keygen -Q -f "$T/krl" "$CERT"
next_code
run_status 0 "enroll after the rotation" enroll_otp "$code" enroll --target shell
grep_ok "the new certificate is signed by the new SSH CA" "Signing CA: ED25519 $(re "$NEXTFP") " <(ssh-keygen -L -f "$CERT")
run_status 0 "ssh-keygen -Q: the new certificate is not revoked" ssh-keygen -Q -f "$T/krl" "$CERT"

# --- a group made before SSH CAs ---------------------------------------
rm -f "$T/store/groups/ecg/ssh_ca.key" "$T/store/groups/ecg/ssh_ca.pub"
next_code
run_status 65 "enroll for an ssh target whose group has no SSH CA is refused" enroll_otp "$code" enroll --target ec
counter=$((counter - 1)) # refused before the OTP prompt: the code was not used
grep_not "refused before any OTP prompt" "OTP: " "$ERR"
grep_ok "certtokend logs how to give the group one" "ca ssh-init ecg" "$T/daemon.log"
run_status 65 "ca export --ssh says how to give the group one" ADM ca export ecg --ssh
grep_ok "the message names ca ssh-init" "ca ssh-init ecg" "$ERR"
run_status 0 "ca ssh-init" ADM ca ssh-init ecg
run_status 73 "ca ssh-init again: it has one" ADM ca ssh-init ecg
next_code
run_status 0 "enroll for the ssh target now" enroll_otp "$code" enroll --target ec
ECSERIAL=$(sed -n 's/^serial: *//p' "$OUT")
ECCERT=$T/home/.config/certtoken/ec/key-cert.pub
check "its certificate has the default principal, the login name" \
	test "$(ssh-keygen -L -f "$T/home/.config/certtoken/ec/key-cert.pub" | sed -n '/Principals:/{n;p}' | tr -d ' \t')" = "$U"
check "and the default extension, permit-pty only" \
	test "$(ssh-keygen -L -f "$T/home/.config/certtoken/ec/key-cert.pub" | sed -n '/Extensions:/,$p' | sed 1d | tr -d ' \t')" = "permit-pty"

# --- one KRL for a host that trusts several groups (sshd reads one RevokedKeys) ---
run_status 0 "cert revoke the certificate of the second group" ADM cert revoke "$ECSERIAL"
run_status 0 "krl of two groups" ADM krl sshg ecg --output "$T/krl-both"
grep_ok "krl names both groups and counts both revocations" "^wrote the KRL of access groups 'sshg', 'ecg' to $T/krl-both: 2 revoked certificates$" "$OUT"
run_status 1 "ssh-keygen -Q: the first group's revoked certificate" ssh-keygen -Q -f "$T/krl-both" "$T/revoked-cert.pub"
run_status 1 "ssh-keygen -Q: the second group's revoked certificate" ssh-keygen -Q -f "$T/krl-both" "$ECCERT"
run_status 0 "ssh-keygen -Q: the first group's current certificate is not revoked" ssh-keygen -Q -f "$T/krl-both" "$CERT"
ADM krl sshg --output "$T/krl-one" >/dev/null
run_status 0 "ssh-keygen -Q: the second group's certificate is not in the first group's KRL" ssh-keygen -Q -f "$T/krl-one" "$ECCERT"
INODE=$(stat -c %i "$T/krl-both")
run_status 0 "krl --all" ADM krl --all --output "$T/krl-both"
grep_ok "krl --all takes every configured group" "^wrote the KRL of access groups 'sshg', 'ecg' to" "$OUT"
grep_ok "krl --all names the group it leaves out, which has no SSH CA" "krl: access group 'nossh' has no SSH CA: not in the KRL" "$ERR"
check "krl --all replaced the file by a new one (atomic rename)" test "$(stat -c %i "$T/krl-both")" != "$INODE"
run_status 1 "ssh-keygen -Q after --all: the first group's revoked certificate" ssh-keygen -Q -f "$T/krl-both" "$T/revoked-cert.pub"
run_status 1 "ssh-keygen -Q after --all: the second group's revoked certificate" ssh-keygen -Q -f "$T/krl-both" "$ECCERT"
run_status 64 "krl without a group" ADM krl --output "$T/krl3"
run_status 64 "krl --all with a group" ADM krl --all sshg --output "$T/krl3"
run_status 65 "krl of a configured and an unknown group" ADM krl sshg nosuch --output "$T/krl3"
run_status 65 "krl of a group named twice" ADM krl sshg sshg --output "$T/krl3"
check "no file is left for a refused krl" test ! -e "$T/krl3"

# --- the client writes the key before its certificate ----------------------
# key cannot be replaced (a directory is in its place): key-cert.pub must not
# be replaced either, or a new certificate would sit beside the old key
cp "$CERT" "$T/cert-before"
as_user mv "$DIR/key" "$DIR/key.saved"
as_user mkdir "$DIR/key"
next_code
enroll_otp "$code" enroll --target shell >"$T/enroll-nokey.out" 2>&1
check "enroll fails when it cannot write the key" test $? != 0
check "key-cert.pub is left as it was when the key cannot be written" cmp -s "$T/cert-before" "$CERT"
as_user rmdir "$DIR/key"
as_user mv "$DIR/key.saved" "$DIR/key"

# --- the SSH CA's private key missing on this host: refused before signing ----
mv "$G/ssh_ca.key" "$T/ssh_ca.key.saved"
ls "$T/store/certs" >"$T/certs.before"
next_code
run_status 74 "enroll while this host lacks the SSH CA's private key" enroll_otp "$code" enroll --target extssh
check "the CA was not asked to sign the X.509 certificate" test ! -e "$T/sign.runs"
check "the index is unchanged without the SSH CA key" cmp -s "$T/certs.before" <(ls "$T/store/certs")
grep_ok "certtokend logs the refusal before anything was issued" "target extssh refused before anything was issued: OpenSSH certificate: .*ssh_ca.key" "$T/daemon.log"
mv "$T/ssh_ca.key.saved" "$G/ssh_ca.key"

tap_done
