#!/bin/bash
# certtokend and certtoken-enroll end to end: a real certtokend on a temporary
# socket, a real slapd as the attribute source, the real PAM library running
# the certtoken-enroll service from a temporary directory, and a real
# unprivileged user (created here) answering the OTP with oathtool's code.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/mtls.sh"

DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
PROTO=$top_builddir/tests/enroll/proto_client
MODULE=$top_builddir/.libs/pam_certtoken.so
[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, runs certtokend)"
[ -x "$DAEMON" ] && [ -x "$ENROLL" ] && [ -f "$MODULE" ] || skip_all "not built"
[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v oathtool >/dev/null || skip_all "oathtool is not installed"
command -v setpriv >/dev/null || skip_all "setpriv is not installed"

# --- a real unprivileged user --------------------------------------------------------
U=ctenr$$
make_user "$U" /usr/sbin/nologin "Enroll Tester"
mkdir -m 0755 "$T/run"
SOCK=$T/run/enroll.sock
# as_user CMD...: run CMD as the test user with a clean environment
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin "$@"; }
enroll() { as_user "$ENROLL" --socket "$SOCK" "$@"; }
# enroll_otp CODE ARGS...: certtoken-enroll ARGS with CODE typed at the OTP prompt
enroll_otp() { local c=$1; shift; echo "$c" | enroll "$@"; }

# --- the directory ---------------------------------------------------------------
at_exit slapd_stop
if ! slapd_start "$T/slapd" 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi
cat >"$T/people.ldif" <<LDIF
dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: uid=$U,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: $U
cn: Enroll Tester
sn: Tester
o: Example Corp
ou: Platform Team
mail: $U@example.org
LDIF
slapd_load "$T/people.ldif" 2>"$T/load.err" || {
	echo "Bail out! cannot load entries: $(tr '\n' ' ' <"$T/load.err")"
	exit 1
}

# --- configuration, PAM service, CA, token
LONG=$(printf 'g%.0s' $(seq 64)) # the longest access group name -------------------------------------------
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
socket = "$SOCK";
service: { max_clients = 3; max_per_user = 2; timeout = 5; ldap_connections = 2; };
attributes: { source = "ldap";
  ldap: { uri = "$SLAPD_URI"; starttls = false; bind_dn = "$SLAPD_BIND_DN";
          bind_password_file = "$SLAPD_BIND_PW_FILE"; base = "ou=people,dc=example,dc=org";
          filter = "(uid=%u)"; timeout = 2;
          map: { company = "o"; department = "ou"; }; }; };
otp: { hotp_lookahead = 5; max_fail = 50; };
access_groups = ( { name = "default"; },
                  { name = "team"; unix_groups = [ "nosuchgroup$$", "$U" ]; },
                  { name = "ops"; unix_groups = [ "root" ]; },
                  { name = "$LONG"; } );
targets = (
  { name = "team"; access_group = "team"; template = "client"; subject = "CN=%unix_account%"; },
  { name = "ops"; access_group = "ops"; template = "client"; subject = "CN=%unix_account%"; },
  { name = "long"; access_group = "$LONG"; template = "client"; subject = "CN=%unix_account%"; },
  { name = "default"; access_group = "default"; template = "client";
    subject = "CN=%unix_account%/O=%company%/OU=%department%";
    san = "UPN=%principal%/URI=mailto:%mail%"; lifetime = 600; backdate = 30; },
  { name = "phone"; access_group = "default"; template = "client";
    subject = "CN=%unix_account%/title=%job_title%"; lifetime = 600; } );
CONF
mkdir -m 0700 "$T/pam.d"
M="$MODULE config=$T/ct.conf"
printf '%s\n' "auth required $M otp" "account required $M" "password required pam_deny.so" \
	"session required pam_deny.so" >"$T/pam.d/certtoken-enroll"
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" >"$T/pam.d/other"
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
counter=0
# next_code: set $code to the next HOTP code of the user's token
next_code() { code=$(oathtool --hotp -b -c "$counter" "$SECRET"); counter=$((counter + 1)); }
run_status 0 "ca init" ADM ca init default
ADM ca init team >/dev/null
ADM ca init ops >/dev/null
run_status 0 "ca init for an access group with a 64-character name (the CN holds just the name)" ADM ca init "$LONG"
ADM ca export default >"$T/ca.pem"
run_status 0 "token init (HOTP) for the test user" ADM token init --user "$U" --type hotp --secret "$SECRET"

start_daemon() {
	"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
	return 1
}
stop_daemon() { [ -z "$DPID" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=; }; }
at_exit stop_daemon
check "certtokend starts and listens" start_daemon
check "the socket is 0666 (identity comes from the kernel)" test "$(stat -c %a "$SOCK")" = 666

# --- no privilege in the client ----------------------------------------------------
check "certtoken-enroll has no setuid/setgid bit" test -z "$(find "$ENROLL" -perm /6000)"
if command -v getcap >/dev/null; then
	check "certtoken-enroll has no file capabilities" test -z "$(getcap "$ENROLL")"
fi
if make -C "$top_builddir" install DESTDIR="$T/inst" >"$T/install.log" 2>&1; then
	ok "make install DESTDIR"
	check "nothing installed is setuid or setgid" test -z "$(find "$T/inst" -perm /6000)"
	check "make install installs certtoken-enroll and certtokend" \
		test -n "$(find "$T/inst" -name certtoken-enroll -type f)" -a \
		-n "$(find "$T/inst" -name certtokend -type f)"
	if command -v getcap >/dev/null; then
		check "nothing installed has file capabilities" test -z "$(getcap -r "$T/inst" 2>/dev/null)"
	fi
else
	not_ok "make install DESTDIR"; diag <"$T/install.log"
fi

# --- a successful enrollment ------------------------------------------------------------
DIR=$T/home/.config/certtoken/default
next_code
run_status 0 "enroll with the right OTP" enroll_otp $code enroll
cp "$OUT" "$T/enroll1.out"
grep_ok "the OTP prompt came from the service's PAM stack" "OTP: " "$ERR"
grep_ok "enroll prints the subject" "^subject: +CN=$U,O=Example Corp,OU=Platform Team$|^subject: +OU=Platform Team,O=Example Corp,CN=$U$" "$T/enroll1.out"
grep_ok "enroll prints the serial (128 random bits: up to 16 octets in hex)" "^serial: +([0-9A-F]{2}){1,16}$" "$T/enroll1.out"
grep_ok "enroll prints the expiry" "^not after: " "$T/enroll1.out"
check "key.pem is 0600 and the user's" test "$(stat -c '%a %U' "$DIR/key.pem")" = "600 $U"
check "cert.pem is the user's" test "$(stat -c %U "$DIR/cert.pem")" = "$U"
run_status 0 "the certificate verifies against the exported group CA" \
	openssl verify -CAfile "$T/ca.pem" "$DIR/cert.pem"
openssl x509 -in "$DIR/cert.pem" -noout -subject -nameopt RFC2253 >"$T/subject" 2>&1
openssl x509 -in "$DIR/cert.pem" -noout -ext subjectAltName >"$T/san" 2>&1
grep_ok "subject: CN is the kernel-reported user" "CN=$U(,|$)" "$T/subject"
grep_ok "subject: O comes from LDAP" "O=Example Corp" "$T/subject"
grep_ok "subject: OU comes from LDAP" "OU=Platform Team" "$T/subject"
grep_ok "SAN: the mail URI comes from LDAP" "URI:mailto:$U@example.org" "$T/san"
grep_ok "SAN: UPN is the principal" "UPN:+$U" "$T/san"
check "key.pem holds the certificate's private key" test \
	"$(openssl pkey -in "$DIR/key.pem" -pubout 2>/dev/null)" = "$(openssl x509 -in "$DIR/cert.pem" -noout -pubkey)"
serial=$(sed -n 's/^serial: *//p' "$T/enroll1.out")
check "the issued-certificate index has it" grep -q "^user=$U$" "$T/store/certs/$serial.pem"
check "the index entry is 0600" test "$(stat -c %a "$T/store/certs/$serial.pem")" = 600
run_status 0 "status" enroll status
grep_ok "status lists the certificate token with its serial" "^CERT[0-9A-F]+ +certificate +active +enrolled +target default, serial $serial" "$OUT"
grep_ok "status lists the OTP token" "^HOTP[0-9A-F]+ +hotp +active" "$OUT"
run_status 0 "status --json" enroll status --json
grep_ok "status --json has the certificate serial and rollout state" "\"rollout_state\":\"enrolled\".*\"cert_serial\":\"$serial\"" "$OUT"
grep_ok "certtokend audits the enrollment" "enrolled user $U \\(uid [0-9]+\\): target default, certificate serial $serial" "$T/daemon.log"

# --- refusals ------------------------------------------------------------------------
ncerts() { find "$T/store/certs" -type f | wc -l; }
before=$(ncerts)
sum=$(md5sum <"$DIR/cert.pem")
run_status 77 "a wrong OTP is refused with 77" enroll_otp 000000 enroll
grep_ok "...saying authentication was refused" "authentication refused" "$ERR"
check "...and nothing was issued" test "$(ncerts)" = "$before"
check "...and the previous certificate is untouched" test "$(md5sum <"$DIR/cert.pem")" = "$sum"
run_status 77 "a replayed OTP is refused" enroll_otp $code enroll
check "...and nothing was issued" test "$(ncerts)" = "$before"
run_status 65 "an unknown target is refused with 65" enroll enroll --target nosuch
grep_ok "...naming it" "unknown target 'nosuch'" "$ERR"
grep_not "...before any OTP prompt" "OTP" "$ERR"
next_code
run_status 65 "a missing LDAP attribute gives 65" enroll_otp $code enroll --target phone
grep_ok "...naming the attribute" "job_title" "$ERR"
check "...and nothing was issued" test "$(ncerts)" = "$before"
run_status 77 "a target of an access group the user is not in gives 77" enroll enroll --target ops
grep_ok "...saying so" "may not enroll for target 'ops'" "$ERR"
grep_not "...before any OTP prompt" "OTP" "$ERR"
next_code
run_status 0 "a target of an access group limited to the user's group works" enroll_otp "$code" enroll --target team
run_status 64 "an unknown key type is a usage error" enroll enroll --key-type dsa
run_status 64 "an unknown command is a usage error" enroll frobnicate

# --- a client that lies about who it is ------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/lie.key" \
	-subj "/CN=root/O=Admins" -addext "subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:root@example.org" \
	-outform DER -out "$T/lie.der" 2>/dev/null
chmod 0644 "$T/lie.der"
mkdir -m 0777 "$T/lie"
next_code
run_status 0 "a client claiming to be root in its request" as_user "$PROTO" "$SOCK" lie "$T/lie.der" "$code" "$T/lie/cert.pem"
grep_ok "...is served (it did pass the OTP)" "^result 0 issued" "$OUT"
openssl x509 -in "$T/lie/cert.pem" -noout -subject -nameopt RFC2253 >"$T/lie.subject" 2>&1
openssl x509 -in "$T/lie/cert.pem" -noout -ext subjectAltName >"$T/lie.san" 2>&1
grep_ok "...but the certificate names its kernel-reported user" "CN=$U(,|$)" "$T/lie.subject"
grep_not "...and not root" "root|Admins" "$T/lie.subject"
grep_not "...not even in the SAN" "root" "$T/lie.san"

# --- bad CSRs are refused before any prompt, and nothing is issued ---------------------
before=$(ncerts)
loglines=$(wc -l <"$T/daemon.log")
head -c 300 /dev/urandom >"$T/junk.der"
openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -subj "/CN=x" -outform DER \
	-out "$T/weak.der" 2>/dev/null
openssl req -in <(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout /dev/null -subj "/CN=x" 2>/dev/null) -outform DER -out "$T/tampered.der"
# flip a byte of the signature (the last bytes of the DER)
printf '\x01' | dd of="$T/tampered.der" bs=1 seek=$(($(stat -c %s "$T/tampered.der") - 3)) conv=notrunc 2>/dev/null
chmod 0644 "$T/junk.der" "$T/weak.der" "$T/tampered.der"
for bad in junk weak tampered; do
	run_status 0 "a $bad CSR" as_user "$PROTO" "$SOCK" lie "$T/$bad.der" 000000 "$T/lie/$bad.pem"
	grep_ok "...is refused with 65 and says what is wrong with it" "^result 65 CSR: " "$OUT"
done
check "...and nothing was issued" test "$(ncerts)" = "$before"
tail -n +$((loglines + 1)) "$T/daemon.log" >"$T/badcsr.log"
grep_not "...and no OTP was asked (or counted)" "OTP (accepted|refused)" "$T/badcsr.log"
grep_ok "...while the service logged each refusal" "enrollment refused for user $U .*: CSR: " "$T/badcsr.log"

# --- bad messages close only their own connection -------------------------------------
as_user "$PROTO" "$SOCK" hold 3 >"$T/hold.out" 2>&1 &
HOLD=$!
for m in garbage oversize version unknown-type truncated; do
	run_status 0 "a $m message" as_user "$PROTO" "$SOCK" "$m"
	grep_ok "...gets a protocol error or a hang-up" "^result 65 protocol error|^closed$" "$OUT"
done
run_status 0 "a request with a field it reads once, twice" as_user "$PROTO" "$SOCK" twice
grep_ok "...gets a protocol error naming the field" "^result 65 protocol error: field 1 twice" "$OUT"
grep_ok "...and the service logs it" "request type 1: field 1 twice" "$T/daemon.log"
next_code
run_status 0 "meanwhile another client enrolls normally" enroll_otp $code enroll
check "the service is still running" kill -0 "$DPID"
wait "$HOLD"

# --- a full token list: the oldest certificate token makes room -------------------------
fails=0
for i in $(seq 14); do
	next_code
	enroll_otp "$code" enroll >/dev/null 2>"$T/many.err" </dev/null || fails=$((fails + 1))
done
check "14 more enrollments all succeed (the list holds 16 tokens)" test "$fails" = 0
enroll status >"$OUT" 2>&1
check "the list is full: the OTP token and 15 certificate tokens" \
	test "$(grep -c ' certificate ' "$OUT")/$(grep -c ' hotp ' "$OUT")" = "15/1"
grep_not "...the oldest certificate token made room" "serial $serial" "$OUT"
check "...while the index keeps its certificate" test -f "$T/store/certs/$serial.pem"
grep_ok "...and the service logged it" "makes room" "$T/daemon.log"

# --- the ephemeral certificate at an mTLS target that trusts only the group CA ------------
mtls good "$DIR/cert.pem" "$DIR/key.pem" "$T/ca.pem"
grep_ok "the mTLS target accepts the enrolled certificate" "HTTP/1.0 200 ok" "$T/good.cli"
grep_ok "...and sees its subject" "depth=0 CN ?= ?$U" "$T/good.srv"
TEAMDIR=$T/home/.config/certtoken/team
mtls other "$TEAMDIR/cert.pem" "$TEAMDIR/key.pem" "$T/ca.pem"
grep_not "...and refuses a certificate of another access group" "HTTP/1.0 200 ok" "$T/other.cli"

# --- the issued-certificate index, revocation and the CRL --------------------------------
cur=$(openssl x509 -in "$DIR/cert.pem" -noout -serial | cut -d= -f2)
run_status 0 "cert list" ADM cert list --user "$U"
grep_ok "...shows the current certificate as valid, with its user and target" "^$cur +$U +default .* valid " "$OUT"
run_status 0 "cert list --json" ADM cert list --json
grep_ok "...has it too" "\"serial\":\"$cur\",\"user\":\"$U\",\"target\":\"default\",\"group\":\"default\"" "$OUT"
ADM crl default >"$T/crl0.pem"
run_status 0 "before revocation the certificate passes openssl verify -crl_check" \
	openssl verify -crl_check -CAfile "$T/ca.pem" -CRLfile "$T/crl0.pem" "$DIR/cert.pem"
run_status 0 "cert revoke" ADM cert revoke "$cur" --reason keyCompromise
run_status 73 "revoking it again gives 73" ADM cert revoke "$cur"
run_status 65 "an unknown serial gives 65" ADM cert revoke 00AB
run_status 65 "a malformed serial gives 65" ADM cert revoke "../../etc/passwd"
run_status 64 "an unknown reason is a usage error" ADM cert revoke "$cur" --reason whim
run_status 0 "crl default --hours 2" ADM crl default --hours 2
cp "$OUT" "$T/crl1.pem"
run_status 0 "the CRL verifies against the group CA" \
	openssl crl -in "$T/crl1.pem" -CAfile "$T/ca.pem" -noout
openssl crl -in "$T/crl1.pem" -noout -text >"$T/crl1.txt" 2>&1
grep_ok "...lists the serial" "Serial Number: $cur" "$T/crl1.txt"
grep_ok "...with its reason" "Key Compromise" "$T/crl1.txt"
check "...and its nextUpdate is 2 hours after lastUpdate" test \
	$(($(date -d "$(openssl crl -in "$T/crl1.pem" -noout -nextupdate | cut -d= -f2)" +%s) - \
	$(date -d "$(openssl crl -in "$T/crl1.pem" -noout -lastupdate | cut -d= -f2)" +%s))) = 7200
run_status 2 "openssl verify -crl_check now refuses the certificate" \
	openssl verify -crl_check -CAfile "$T/ca.pem" -CRLfile "$T/crl1.pem" "$DIR/cert.pem"
grep_ok "...as revoked" "certificate revoked" "$ERR"
mtls revoked "$DIR/cert.pem" "$DIR/key.pem" "$T/ca.pem" -crl_check -CRL "$T/crl1.pem"
grep_not "an mTLS target checking the CRL refuses the revoked certificate" "HTTP/1.0 200 ok" "$T/revoked.cli"
grep_ok "...saying why" "certificate revoked" "$T/revoked.srv"
run_status 0 "another group's CRL" ADM crl team
grep_not "...does not list it" "$cur" "$OUT"
enroll status >"$OUT" 2>&1
grep_ok "the user's certificate token shows it disabled and revoked" "certificate +disabled +revoked +target default, serial $cur" "$OUT"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout >"$T/adm.pub"
ADM issue --user "$U" --target team --pubkey "$T/adm.pub" >"$T/adm.pem"
adm=$(openssl x509 -in "$T/adm.pem" -noout -serial | cut -d= -f2)
ADM cert list >"$OUT" 2>&1
grep_ok "a certificate from certtoken-admin issue is indexed too (no token)" "^$adm +$U +team .* valid +-$" "$OUT"
run_status 0 "...and can be revoked (there is no token to mark)" ADM cert revoke "$adm" --reason superseded
run_status 64 "certificateHold is refused (a revocation here is final)" ADM cert revoke "$adm" --reason certificateHold
ADM issue --user "$U" --target long --pubkey "$T/adm.pub" >"$T/long.pem"
long=$(openssl x509 -in "$T/long.pem" -noout -serial | cut -d= -f2)
run_status 0 "a certificate of a group with a 64-character name can be revoked" ADM cert revoke "$long" --reason cessationOfOperation
ADM crl "$LONG" >"$T/long.crl"
check "...and its group's CRL lists it" sh -c "openssl crl -in '$T/long.crl' -noout -text | grep -q 'Serial Number: $long'"
cp "$T/store/revoked" "$T/revoked.good"
printf 'not a revocation\n' >>"$T/store/revoked"
run_status 74 "a corrupt revocation list gives 74" ADM cert list
grep_ok "...naming the file and line" "store/revoked:[0-9]+: malformed revocation" "$ERR"
run_status 74 "...and crl refuses to sign from it" ADM crl default
cp "$T/revoked.good" "$T/store/revoked"
cp "$T/store/certs/$adm.pem" "$T/entry.good"
sed -i 's/^user=.*/user=a b/' "$T/store/certs/$adm.pem"
run_status 74 "a corrupt index entry gives 74" ADM cert list
grep_ok "...naming it" "$adm.pem: malformed index entry" "$ERR"
cp "$T/entry.good" "$T/store/certs/$adm.pem"
run_status 0 "with the files restored, cert list works again" ADM cert list

# --- a CA rotation while certtokend runs ------------------------------------------------
# certtokend has the team CA loaded (from the enrollment above); it must notice the new one
cp "$TEAMDIR/cert.pem" "$T/team-old.pem"
ADM ca export team >"$T/team-ca1.pem"
run_status 0 "ca rotate of an access group while certtokend runs" ADM ca rotate team
ADM ca export team >"$T/team-bundle.pem"
next_code
run_status 0 "an enrollment after the rotation" enroll_otp "$code" enroll --target team
ski() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' '; }
aki() { openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | tail -n1 | tr -d ' ' | sed 's/^keyid://'; }
check "...is signed by the new CA" test "$(aki "$TEAMDIR/cert.pem")" = "$(ski "$T/store/groups/team/ca.pem")"
run_status 0 "...and verifies against the exported bundle" openssl verify -CAfile "$T/team-bundle.pem" "$TEAMDIR/cert.pem"
run_status 0 "...as does the certificate from before the rotation" openssl verify -CAfile "$T/team-bundle.pem" "$T/team-old.pem"
run_status 2 "...while the new one does not verify against the old CA alone" \
	openssl verify -CAfile "$T/team-ca1.pem" "$TEAMDIR/cert.pem"

# a prepared CA: certtokend reloads (the group directory was swapped) yet keeps
# signing with the current CA until the rotation, then with the prepared one
cp "$T/store/groups/team/ca.pem" "$T/team-cur.pem"
run_status 0 "ca rotate --prepare while certtokend runs" ADM ca rotate team --prepare
cp "$T/store/groups/team/next.pem" "$T/team-next.pem"
ADM ca export team >"$T/team-prep.pem"
next_code
run_status 0 "an enrollment after --prepare" enroll_otp "$code" enroll --target team
check "...is still signed by the current CA" test "$(aki "$TEAMDIR/cert.pem")" = "$(ski "$T/team-cur.pem")"
run_status 0 "ca rotate to the prepared CA" ADM ca rotate team
next_code
run_status 0 "an enrollment after the rotation" enroll_otp "$code" enroll --target team
check "...is signed by the prepared CA" test "$(aki "$TEAMDIR/cert.pem")" = "$(ski "$T/team-next.pem")"
run_status 0 "...and verifies against the bundle exported right after --prepare" \
	openssl verify -CAfile "$T/team-prep.pem" "$TEAMDIR/cert.pem"

# --- limits: clients at once, and the deadline ------------------------------------------
HOLDS=""
for i in 1 2; do
	as_user "$PROTO" "$SOCK" hold 7 >"$T/hold$i.out" 2>&1 &
	HOLDS="$HOLDS $!"
done
sleep 0.5
run_status 69 "a user beyond max_per_user connections gets 69" enroll status
grep_ok "...saying why" "already have 2 connections" "$ERR"
run_status 0 "...while another user is still served" "$ENROLL" --socket "$SOCK" status
"$PROTO" "$SOCK" hold 7 >"$T/hold3.out" 2>&1 &
HOLDS="$HOLDS $!"
sleep 0.5
run_status 69 "a client beyond max_clients gets 69" "$ENROLL" --socket "$SOCK" status
grep_ok "...saying the service is busy" "busy" "$ERR"
wait $HOLDS
grep_ok "a silent client is cut off at the deadline" "^closed$" "$T/hold1.out"
grep_ok "...and the service logs why" "bad request: timed out" "$T/daemon.log"
check "...every silent client was cut off" \
	test "$(grep -c '^closed$' "$T/hold1.out" "$T/hold2.out" "$T/hold3.out" | grep -c ':1')" = 3
run_status 0 "after the deadline the slots are free again" enroll status

# --- socket activation (LISTEN_PID/LISTEN_FDS, as systemd passes a socket) ----------------
run_status 78 "LISTEN_FDS naming something that is not a listening socket gives 78" \
	sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -c "$1" --pam-dir "$2" --foreground 3</dev/null' \
	"$DAEMON" "$T/ct.conf" "$T/pam.d"
grep_ok "...with a clear message" "not a listening Unix stream socket" "$ERR"
if command -v systemd-socket-activate >/dev/null; then
	systemd-socket-activate -l "$T/run/activated.sock" \
		"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/activated.log" 2>&1 &
	APID=$!
	for _ in $(seq 100); do [ -S "$T/run/activated.sock" ] && break; sleep 0.05; done
	chmod 0666 "$T/run/activated.sock"
	run_status 0 "a socket passed by systemd-socket-activate serves clients" \
		as_user "$ENROLL" --socket "$T/run/activated.sock" status
	grep_ok "...and the service says where it listens" "a socket from systemd" "$T/activated.log"
	kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null
fi

# --- the service's own failures
mkdir -m 0700 "$T/nopam"
run_status 78 "certtokend refuses to start without its PAM service file" \
	"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/nopam" --socket "$T/run/other.sock" --foreground
grep_ok "...naming it" "PAM service certtoken-enroll is not configured" "$ERR" -------------------------------------------------------
run_status 73 "a second certtokend on the same socket gives 73" \
	"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground
slapd_stop
next_code
run_status 69 "LDAP down gives 69" enroll_otp $code enroll
stop_daemon
check "certtokend removes its socket when stopped" test ! -e "$SOCK"
run_status 69 "service stopped gives 69" enroll status
grep_ok "...with a message naming the socket" "not running.*$SOCK" "$ERR"

tap_done
