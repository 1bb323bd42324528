#!/bin/bash
# Certificate tokens end to end, through a real certtokend, a real slapd and
# the real PAM library: CSRs with key attestation, the queue and command CA
# connectors with pending requests, approval, rejection and fetch, upload
# with proof of possession, server-side key generation to PKCS#12 (opened by
# openssl and by NSS's pk12util), and the event handlers, whose e-mail goes
# through a sendmail stand-in that keeps what it is given.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd.sh"

DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
PROTO=$top_builddir/tests/enroll/proto_client
MODULE=$top_builddir/.libs/pam_certtoken.so
[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, runs certtokend)"
[ -x "$DAEMON" ] && [ -x "$ENROLL" ] && [ -f "$MODULE" ] || skip_all "not built"
[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
for tool in oathtool setpriv pk12util certutil; do
	command -v $tool >/dev/null || { echo "Bail out! $tool is not installed (scripts/install-deps)"; exit 1; }
done

U=ctcrt$$
make_user "$U" /usr/sbin/nologin "Cert Tester"
mkdir -m 0755 "$T/run" "$T/work"
chown "$U" "$T/work"
SOCK=$T/run/enroll.sock
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin "$@"; }
enroll() { as_user "$ENROLL" --socket "$SOCK" "$@"; }
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
counter=0
next_code() { code=$(oathtool --hotp -b -c "$counter" "$SECRET"); counter=$((counter + 1)); }
# with_otp ARGS...: certtoken-enroll ARGS with the next code typed at the prompt
with_otp() { next_code; echo "$code" | enroll "$@"; }
# fails CMD...: CMD fails
fails() { ! "$@"; }
# tokens: how many tokens the user has
tokens() { enroll status --json | grep -c '"serial"'; }
W=$T/work

# --- the directory -----------------------------------------------------------------
at_exit slapd_stop
slapd_start "$T/slapd" 2>"$T/slapd.err" || { echo "Bail out! slapd: $(cat "$T/slapd.err")"; exit 1; }
cat >"$T/people.ldif" <<LDIF
dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: uid=$U,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: $U
cn: Cert Tester
sn: Tester
mail: $U@example.org
LDIF
slapd_load "$T/people.ldif" 2>"$T/load.err" || { echo "Bail out! ldapadd: $(cat "$T/load.err")"; exit 1; }

# --- an external CA for the command connector, a sendmail stand-in, hooks ----------
mkdir -m 0700 "$T/extca" "$T/mail" "$T/hooks"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=External CA" \
	-days 30 -keyout "$T/extca/ca.key" -out "$T/extca/ca.pem" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$T/extca/leaf.ext"
echo issue >"$T/sign.mode"
cat >"$T/sign" <<EOF
#!/bin/bash
# an external CA: what it does is in $T/sign.mode
env | grep ^CERTTOKEN_ | sort >"$T/sign.env"
echo "\$CERTTOKEN_ACTION \$CERTTOKEN_TOKEN" >>"$T/sign.runs"
mode=\$(cat "$T/sign.mode")
csr=\$(mktemp); cat >"\$csr"
cp "\$csr" "$T/sign.csr"
case \$mode in
issue)   openssl x509 -req -in "\$csr" -CA "$T/extca/ca.pem" -CAkey "$T/extca/ca.key" \
           -days 1 -set_serial "0x\$(openssl rand -hex 16)" -extfile "$T/extca/leaf.ext" 2>/dev/null ;;
pending) echo "REQ-\$CERTTOKEN_TOKEN"; rm -f "\$csr"; exit 75 ;;
fail)    echo "the CA is on fire" >&2; rm -f "\$csr"; exit 3 ;;
hang)    rm -f "\$csr"; exec sleep 37.$$ ;;
garbage) echo "hello"; rm -f "\$csr" ;;
wrongkey) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x \
            -keyout /dev/null 2>/dev/null | openssl x509 -req -CA "$T/extca/ca.pem" \
            -CAkey "$T/extca/ca.key" -days 1 -extfile "$T/extca/leaf.ext" 2>/dev/null ;;
esac
rm -f "\$csr"
EOF
cat >"$T/sendmail" <<EOF
#!/bin/bash
# keeps each message: its arguments and what came on stdin
n=\$(ls "$T/mail" | grep -c args)
printf '%s\n' "\$@" >"$T/mail/\$n.args"
cat >"$T/mail/\$n.msg"
EOF
cat >"$T/hook" <<EOF
#!/bin/bash
echo "\$*" >>"$T/hooks/\$CERTTOKEN_EVENT"
EOF
chmod 0755 "$T/sign" "$T/sendmail" "$T/hook"

# --- attestation: a maker's root, a device CA, attestations ----------------------
mkdir -m 0700 "$T/att" "$T/attca" "$T/rogue"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Token Maker Root" \
	-days 30 -keyout "$T/att/root.key" -out "$T/attca/root.pem" \
	-addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Device 1234" \
	-keyout "$T/att/dev.key" -out "$T/att/dev.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' >"$T/att/ca.ext"
openssl x509 -req -in "$T/att/dev.csr" -CA "$T/attca/root.pem" -CAkey "$T/att/root.key" -days 30 \
	-extfile "$T/att/ca.ext" -out "$T/att/dev.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Token Maker Root" \
	-days 30 -keyout "$T/rogue/root.key" -out "$T/rogue/root.pem" 2>/dev/null
# attest CSR DEVICE_PEM DEVICE_KEY OUT: the attestation certificate of CSR's
# key, signed by the device key, followed by the device certificate
attest() {
	openssl x509 -req -in "$1" -CA "$2" -CAkey "$3" -days 1 -set_serial 7 2>/dev/null >"$4.leaf" &&
		cat "$4.leaf" "$2" >"$4"
}
# a CSR made by "another tool" (openssl), as the user
csr() { as_user openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$W/$1.key" -out "$W/$1.csr" 2>/dev/null; }

# --- configuration ---------------------------------------------------------------
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
socket = "$SOCK";
service: { timeout = 10; };
attributes: { source = "ldap";
  ldap: { uri = "$SLAPD_URI"; starttls = false; bind_dn = "$SLAPD_BIND_DN";
          bind_password_file = "$SLAPD_BIND_PW_FILE"; base = "ou=people,dc=example,dc=org";
          filter = "(uid=%u)"; timeout = 2; }; };
otp: { hotp_lookahead = 5; max_fail = 50; };
attestation: { ca_dir = "$T/attca"; };
mail: { sendmail = "$T/sendmail"; from = "certtoken@example.org"; };
access_groups = ( { name = "default"; key_type = "ec-p256"; ca_days = 3650; },
                  { name = "rsa"; key_type = "rsa2048"; } );
templates = ( { name = "client"; key_usage = [ "DigitalSignature" ];
                extended_key_usage = [ "ClientAuth" ]; },
              { name = "enc"; key_usage = [ "DigitalSignature", "KeyEncipherment" ];
                extended_key_usage = [ "ClientAuth" ]; } );
ca_connectors = ( { name = "local"; type = "local"; },
                  { name = "approval"; type = "queue"; },
                  { name = "external"; type = "command"; command = [ "$T/sign", "--fast" ];
                    timeout = 2; poll_interval = 2; } );
targets = (
  { name = "default"; access_group = "default"; subject = "CN=%unix_account%"; },
  { name = "hw"; access_group = "default"; subject = "CN=%unix_account%/OU=hardware";
    require_attestation = true; },
  { name = "approval"; access_group = "default"; subject = "CN=%unix_account%/OU=approved";
    ca_connector = "approval"; },
  { name = "approval-enc"; access_group = "rsa"; template = "enc";
    subject = "CN=%unix_account%/OU=approved"; ca_connector = "approval"; },
  { name = "ext"; access_group = "default"; subject = "CN=%unix_account%";
    ca_connector = "external"; } );
events = (
  { event = "token_init"; when = { rollout_state = "pending"; }; action = "email";
    to = "tokenowner"; subject = "Certificate request {serial} is pending";
    body = "Dear {user},\nyour request for target {target} waits for approval.\n"; },
  { event = "cert_rejected"; action = "email"; to = "ops@example.org";
    subject = "rejected: {serial} of {user}"; },
  { event = "token_revoked"; action = "command"; command = [ "$T/hook", "{serial}", "{user}", "{cert_serial}" ]; },
  { event = "token_enrolled"; action = "command"; command = [ "$T/hook", "{serial}", "{target}" ]; },
  { event = "token_init"; action = "command"; command = [ "$T/hook", "{serial}", "{issuer}" ]; },
  { event = "cert_expiring"; action = "command"; command = [ "$T/hook", "{cert_serial}", "{not_after}" ]; } );
CONF
mkdir -m 0700 "$T/pam.d"
printf '%s\n' "auth required $MODULE config=$T/ct.conf otp" "account required $MODULE config=$T/ct.conf" \
	"password required pam_deny.so" "session required pam_deny.so" >"$T/pam.d/certtoken-enroll"
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" >"$T/pam.d/other"
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
run_status 0 "check-config accepts connectors, attestation, mail and events" ADM check-config
ADM ca init default >/dev/null
ADM ca export default >"$T/ca.pem"
ADM token init --user "$U" --type hotp --secret "$SECRET" >/dev/null

"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
at_exit stop_daemon
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
check "certtokend listens" test -S "$SOCK"
n0=$(tokens)

# --- request --csr ------------------------------------------------------------------
csr plain
next_code
echo "$code" | enroll request --csr "$W/plain.csr" >"$W/plain.pem" 2>"$ERR"
check "request --csr: a CSR made by another tool is issued" openssl verify -CAfile "$T/ca.pem" "$W/plain.pem"
check "request --csr: the certificate is for the CSR's key" test \
	"$(openssl x509 -in "$W/plain.pem" -noout -pubkey)" = "$(openssl pkey -in "$W/plain.key" -pubout)"
check "request --csr: the subject is the target's, not the CSR's" \
	grep -q "CN *= *$U" <(openssl x509 -in "$W/plain.pem" -noout -subject)
check "request --csr: one more token" test "$(tokens)" = $((n0 + 1))
n1=$(tokens)
head -c 300 /dev/urandom >"$W/junk.csr"
echo 000000 | enroll request --csr "$W/junk.csr" >"$OUT" 2>"$ERR"; rc=$?
check "a malformed CSR: exit 65" test $rc = 65
grep_ok "a malformed CSR: the message says CSR" "CSR:" "$ERR"
run_status 64 "request without --csr: usage" enroll request
run_status 65 "request --csr of a missing file: exit 65" enroll request --csr "$W/nosuch.csr"
check "no token left by bad CSRs" test "$(tokens)" = "$n1"

# --- attestation -------------------------------------------------------------------
csr hw1
attest "$W/hw1.csr" "$T/att/dev.pem" "$T/att/dev.key" "$T/att/hw1.pem"
cp "$T/att/hw1.pem" "$W/hw1.att"
chmod 0644 "$W/hw1.att"
next_code
echo "$code" | enroll request --target hw --csr "$W/hw1.csr" --attestation "$W/hw1.att" >"$W/hw1.pem" 2>"$ERR"
check "attestation: an attested key is issued for a target that requires it" openssl verify -CAfile "$T/ca.pem" "$W/hw1.pem"
grep_ok "attestation: the service logs the attestation" 'key attested by "CN=hw1' "$T/daemon.log"
n2=$(tokens)
csr hw2
cp "$T/att/hw1.pem" "$W/wrong.att" # attests hw1's key, not hw2's
echo 000000 | enroll request --target hw --csr "$W/hw2.csr" --attestation "$W/wrong.att" >"$OUT" 2>"$ERR"; rc=$?
check "attestation of another key: exit 65" test $rc = 65
grep_ok "attestation of another key: said so" "attests a different key" "$ERR"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Device 666" \
	-keyout "$T/rogue/dev.key" -out "$T/rogue/dev.csr" 2>/dev/null
openssl x509 -req -in "$T/rogue/dev.csr" -CA "$T/rogue/root.pem" -CAkey "$T/rogue/root.key" -days 30 \
	-extfile "$T/att/ca.ext" -out "$T/rogue/dev.pem" 2>/dev/null
attest "$W/hw2.csr" "$T/rogue/dev.pem" "$T/rogue/dev.key" "$W/rogue.att"
echo 000000 | enroll request --target hw --csr "$W/hw2.csr" --attestation "$W/rogue.att" >"$OUT" 2>"$ERR"; rc=$?
check "attestation from an untrusted CA (same name as the trusted root): exit 65" test $rc = 65
grep_ok "attestation from an untrusted CA: not trusted" "not trusted" "$ERR"
echo 000000 | enroll request --target hw --csr "$W/hw2.csr" >"$OUT" 2>"$ERR"; rc=$?
check "no attestation for a target that requires it: exit 65" test $rc = 65
grep_ok "no attestation: the target requires one" "requires a key-attestation certificate" "$ERR"
printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >"$W/bad.att"
echo 000000 | enroll request --target hw --csr "$W/hw2.csr" --attestation "$W/bad.att" >"$OUT" 2>"$ERR"; rc=$?
check "a malformed attestation: exit 65" test $rc = 65
grep_ok "a malformed attestation: says attestation" "attestation" "$ERR"
check "no token left by refused attestations (and no OTP spent)" test "$(tokens)" = "$n2"

# --- the queue connector: pending, approve, fetch; reject --------------------------
rm -f "$T"/mail/*
with_otp enroll --target approval >"$OUT" 2>"$ERR"; rc=$?
check "queue: enroll is pending (exit 75)" test $rc = 75
QT=$(grep -oE 'token CERT[0-9A-F]+' "$ERR" | head -1 | cut -d' ' -f2)
check "queue: the message names the token and how to fetch it" test -n "$QT" -a -n "$(grep "fetch $QT" "$ERR")"
check "queue: the client keeps the key until the certificate comes" \
	test -f "$T/home/.config/certtoken/approval/pending-$QT.key" -a ! -e "$T/home/.config/certtoken/approval/cert.pem"
enroll status >"$OUT"
grep_ok "queue: status shows the token pending" "$QT .*pending" "$OUT"
ADM cert pending >"$OUT"
grep_ok "queue: cert pending lists the request" "$QT +$U +approval" "$OUT"
check "queue: the pending e-mail went out once" test "$(ls "$T"/mail/*.msg 2>/dev/null | wc -l)" = 1
check "queue: sendmail got -i -- and the token owner's address from LDAP" \
	test "$(tr '\n' ' ' <"$T/mail/0.args")" = "-i -- $U@example.org "
grep_ok "queue: the e-mail is addressed to the owner" "^To: $U@example.org" "$T/mail/0.msg"
grep_ok "queue: the e-mail comes from mail.from" "^From: certtoken@example.org" "$T/mail/0.msg"
grep_ok "queue: the subject names the token" "^Subject: Certificate request $QT is pending" "$T/mail/0.msg"
grep_ok "queue: the body is the configured one" "your request for target approval waits for approval" "$T/mail/0.msg"
grep_ok "queue: marked as automatic" "^Auto-Submitted: auto-generated" "$T/mail/0.msg"
run_status 75 "queue: fetch before approval: still pending (75)" enroll fetch
run_status 0 "queue: cert approve" ADM cert approve "$QT"
run_status 65 "queue: approving it twice: exit 65" ADM cert approve "$QT"
run_status 0 "queue: fetch after approval" enroll fetch
D=$T/home/.config/certtoken/approval
check "queue: the fetched certificate is installed with the kept key" test -f "$D/cert.pem" -a -f "$D/key.pem" -a ! -e "$D/pending-$QT.key"
check "queue: it verifies against the group CA" openssl verify -CAfile "$T/ca.pem" "$D/cert.pem"
check "queue: and belongs to the key" test "$(openssl x509 -in "$D/cert.pem" -noout -pubkey)" = "$(openssl pkey -in "$D/key.pem" -pubout)"
check "queue: token_enrolled ran its command with the token and target" grep -q "^$QT approval$" "$T/hooks/token_enrolled"
enroll status >"$OUT"
grep_ok "queue: status shows it enrolled" "$QT .*enrolled" "$OUT"
run_status 0 "queue: fetching again hands out the same certificate" enroll fetch "$QT"
check "queue: same certificate" cmp -s <(openssl x509 -in "$OUT" -outform DER) <(openssl x509 -in "$D/cert.pem" -outform DER)
csr queued2
next_code
echo "$code" | enroll request --target approval --csr "$W/queued2.csr" >"$OUT" 2>"$ERR"; rc=$?
check "queue: request --csr is pending too (75)" test $rc = 75
RT=$(grep -oE 'token CERT[0-9A-F]+' "$ERR" | head -1 | cut -d' ' -f2)
# what approval would refuse is refused at request time: an EC key for a
# KeyEncipherment template (an RSA access group) is answered 65, nothing queued
n3=$(tokens)
ADM cert pending >"$W/pending.before"
next_code
echo "$code" | enroll request --target approval-enc --csr "$W/queued2.csr" >"$OUT" 2>"$ERR"; rc=$?
check "queue: an EC CSR for a KeyEncipherment template: exit 65 at request time" test $rc = 65
grep_ok "queue: ...naming KeyEncipherment" "KeyEncipherment" "$ERR"
check "queue: ...and no token for it" test "$(tokens)" = "$n3"
ADM cert pending >"$W/pending.after"
check "queue: ...and nothing queued" cmp -s "$W/pending.before" "$W/pending.after"
run_status 0 "queue: cert reject" ADM cert reject "$RT" --reason "not on the list"
run_status 77 "queue: fetch of a rejected request: 77" enroll fetch "$RT"
grep_ok "queue: fetch says it was rejected" "rejected" "$ERR"
enroll status >"$OUT"
grep_ok "queue: status shows it rejected" "$RT .*rejected" "$OUT"
check "queue: the second pending request sent its e-mail too" grep -q "^Subject: Certificate request $RT is pending" "$T/mail/1.msg"
check "queue: the rejection e-mail went to the fixed address" grep -qx "ops@example.org" "$T/mail/2.args"
grep_ok "queue: its subject" "^Subject: rejected: $RT of $U" "$T/mail/2.msg"
run_status 65 "queue: cert approve of an unknown token: 65" ADM cert approve CERT0000000000000000
run_status 65 "fetch of a token that is not one of yours: 65" enroll fetch CERT0000000000000000
grep_ok "fetch of a token that is not yours: said so" "no certificate token CERT0000000000000000" "$ERR"
run_status 64 "fetch of something that is not a token serial: 64" enroll fetch "../x"
run_status 64 "cert expiring with a window of 0: 64" ADM cert expiring --within 0
run_status 64 "cert reject without a token: 64" ADM cert reject
ADM cert pending >"$OUT"
grep_ok "queue: nothing pending any more" "no pending requests" "$OUT"

# --- the command connector ----------------------------------------------------------
csr ext1
next_code
echo "$code" | enroll request --target ext --csr "$W/ext1.csr" --out "$W/ext1.pem" >"$OUT" 2>"$ERR"; rc=$?
check "command: issued (exit 0)" test $rc = 0
check "command: by the external CA" openssl verify -CAfile "$T/extca/ca.pem" "$W/ext1.pem"
grep_ok "command: the target's name is in its environment" "^CERTTOKEN_TARGET=ext$" "$T/sign.env"
grep_ok "command: so is the user" "^CERTTOKEN_USER=$U$" "$T/sign.env"
check "command: the CSR came on stdin" cmp -s <(openssl req -in "$T/sign.csr" -outform DER) <(openssl req -in "$W/ext1.csr" -outform DER)
echo pending >"$T/sign.mode"
csr ext2
next_code
echo "$code" | enroll request --target ext --csr "$W/ext2.csr" >"$OUT" 2>"$ERR"; rc=$?
check "command: exit 75 from the program is pending (75)" test $rc = 75
ET=$(grep -oE 'token CERT[0-9A-F]+' "$ERR" | head -1 | cut -d' ' -f2)
ADM cert pending >"$OUT"
grep_ok "command: the CA's reference is kept" "$ET .*REQ-$ET" "$OUT"
run_status 75 "command: fetch while the CA still says pending: 75" enroll fetch "$ET"
grep_ok "command: fetch passes the reference" "^CERTTOKEN_REQUEST=REQ-$ET$" "$T/sign.env"
# one request asks its CA at most once per poll_interval (2 s here)
fetches() { grep -c "^fetch $ET$" "$T/sign.runs"; }
check "command: the first fetch ran the program once" test "$(fetches)" = 1
run_status 75 "command: a second fetch at once: still pending (75)" enroll fetch "$ET"
check "command: ... without running the program again" test "$(fetches)" = 1
grep_ok "command: ... and says when to ask again" \
	"token $ET; its CA is asked at most once every 2 s: fetch again after .* \(in [12] s\)" "$ERR"
sleep 2
run_status 65 "command: an administrator cannot approve what the CA decides" ADM cert approve "$ET"
echo issue >"$T/sign.mode"
run_status 0 "command: fetch once the CA issues" enroll fetch "$ET" --out "$W/ext2.pem"
check "command: after the interval the program ran again" test "$(fetches)" = 2
check "command: the fetched certificate is for the CSR's key" test \
	"$(openssl x509 -in "$W/ext2.pem" -noout -pubkey)" = "$(openssl pkey -in "$W/ext2.key" -pubout)"
n3=$(tokens)
for mode in fail garbage wrongkey; do
	echo $mode >"$T/sign.mode"
	next_code
	echo "$code" | enroll request --target ext --csr "$W/ext1.csr" >"$OUT" 2>"$ERR"; rc=$?
	check "command: $mode: exit 69" test $rc = 69
done
grep_ok "command: the program's stderr is in the log" "the CA is on fire" "$T/daemon.log"
grep_ok "command: output that is not a certificate is named" "no PEM certificate" "$T/daemon.log"
grep_ok "command: a certificate for another key is refused" "not for the requested key" "$T/daemon.log"
echo hang >"$T/sign.mode"
next_code
start=$(date +%s%N)
echo "$code" | enroll request --target ext --csr "$W/ext1.csr" >"$OUT" 2>"$ERR"; rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "command: a hanging program: exit 69" test $rc = 69
check "command: cut off at its timeout of 2 s (took $ms ms)" test $ms -lt 5000
grep_ok "command: the log says it timed out" "timed out" "$T/daemon.log"
check "command: nothing of it is left running" test -z "$(pgrep -f "sleep 37.$$")"
check "command: no token left by failures" test "$(tokens)" = "$n3"
echo issue >"$T/sign.mode"

# --- upload with proof of possession ------------------------------------------------
up_cert() { # NAME: a leaf of the external CA for a key the user holds
	as_user openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$W/$1.key" -out "$W/$1.csr" 2>/dev/null
	openssl x509 -req -in "$W/$1.csr" -CA "$T/extca/ca.pem" -CAkey "$T/extca/ca.key" -days 5 \
		-set_serial "0x$(openssl rand -hex 8)" -extfile "$T/extca/leaf.ext" -out "$W/$1.pem" 2>/dev/null
	chmod 0644 "$W/$1.pem"
}
up_cert up1
n4=$(tokens)
with_otp upload --cert "$W/up1.pem" --key "$W/up1.key" >"$OUT" 2>"$ERR"; rc=$?
check "upload: with proof of possession (exit 0)" test $rc = 0
UT=$(awk '/^token:/ {print $2}' "$OUT")
SER=$(openssl x509 -in "$W/up1.pem" -noout -serial | cut -d= -f2)
enroll status >"$OUT"
grep_ok "upload: status shows the token with its serial and issuer" "$UT .*serial $SER.*issuer \"CN=External CA\"" "$OUT"
check "upload: the certificate is kept in the store" cmp -s <(openssl x509 -in "$T/store/uploads/$UT.pem" -outform DER) <(openssl x509 -in "$W/up1.pem" -outform DER)
run_status 73 "upload: the same certificate again: 73" enroll upload --cert "$W/up1.pem" --key "$W/up1.key"
up_cert up2
run_status 65 "upload: with a key that is not the certificate's (refused before asking)" enroll upload --cert "$W/up2.pem" --key "$W/up1.key"
openssl x509 -in "$W/up2.pem" -outform DER -out "$W/up2.der"
chmod 0644 "$W/up2.der"
as_user "$PROTO" "$SOCK" upload-noproof "$W/up2.der" >"$OUT" 2>&1
grep_ok "upload without proof of possession: 65" "^result 65 .*no proof of possession" "$OUT"
as_user "$PROTO" "$SOCK" upload-badproof "$W/up2.der" >"$OUT" 2>&1
grep_ok "upload with a wrong signature: 65" "^result 65 .*does not prove possession" "$OUT"
as_user "$PROTO" "$SOCK" upload-wrongtype "$W/up2.der" >"$OUT" 2>&1
grep_ok "upload answered with another message: 65" "^result 65 " "$OUT"
head -c 400 /dev/urandom >"$W/junk.der"
chmod 0644 "$W/junk.der"
as_user "$PROTO" "$SOCK" upload-noproof "$W/junk.der" >"$OUT" 2>&1
grep_ok "upload of a malformed certificate: 65 before any challenge" "^result 65 .*certificate" "$OUT"
openssl x509 -in "$T/extca/ca.pem" -outform DER -out "$W/ca.der"
chmod 0644 "$W/ca.der"
as_user "$PROTO" "$SOCK" upload-noproof "$W/ca.der" >"$OUT" 2>&1
grep_ok "upload of a CA certificate: 65" "^result 65 " "$OUT"
check "upload: no token left by refusals" test "$(tokens)" = $((n4 + 1))

# --- names that would rewrite a log line: escaped wherever they are logged or kept ---
# a CA and a leaf whose names hold U+009B (CSI), U+202E (RLO) and U+2028 (LS)
EVIL=$'Evil\xc2\x9bCA\xe2\x80\xae\xe2\x80\xa8x'
EVIL_ESC='Evil\C2\9BCA\E2\80\AE\E2\80\A8x' # as RFC 4514 hex pairs, as \0A is today
mkdir -m 0700 "$T/evilca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -utf8 -subj "/CN=$EVIL" \
	-days 30 -keyout "$T/evilca/ca.key" -out "$T/evilca/ca.pem" 2>/dev/null
as_user openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -utf8 \
	-subj "/CN=up3 $EVIL" -keyout "$W/up3.key" -out "$W/up3.csr" 2>/dev/null
openssl x509 -req -in "$W/up3.csr" -CA "$T/evilca/ca.pem" -CAkey "$T/evilca/ca.key" -days 5 \
	-set_serial 0x7e57 -extfile "$T/extca/leaf.ext" -out "$W/up3.pem" 2>/dev/null
chmod 0644 "$W/up3.pem"
# raw: FILE holds none of the three code points in UTF-8 (nor percent-encoded)
raw() { LC_ALL=C grep -qiF -e $'\xc2\x9b' -e $'\xe2\x80\xae' -e $'\xe2\x80\xa8' \
	-e %C2%9B -e %E2%80%AE -e %E2%80%A8 "$1"; }
check "escaping: the test certificate's names hold the three code points" \
	raw <(openssl x509 -in "$W/up3.pem" -noout -issuer -subject -nameopt RFC2253,-esc_msb)
rm -f "$T/hooks/token_init"
with_otp upload --cert "$W/up3.pem" --key "$W/up3.key" >"$OUT" 2>"$ERR"; rc=$?
check "escaping: the upload is accepted (exit 0)" test $rc = 0
check "escaping: the client's answer has none of them" fails raw "$OUT"
check "escaping: it shows the issuer escaped" grep -qF "issuer:     CN=$EVIL_ESC" "$OUT"
check "escaping: the service's log has none of them" fails raw "$T/daemon.log"
check "escaping: the log names the issuer and subject escaped" \
	grep -qF "issuer \"CN=$EVIL_ESC\", subject \"CN=up3 $EVIL_ESC\"" "$T/daemon.log"
enroll status >"$OUT"
check "escaping: status has none of them" fails raw "$OUT"
check "escaping: status shows the issuer escaped" grep -qF "issuer \"CN=$EVIL_ESC\"" "$OUT"
enroll status --json >"$OUT"
check "escaping: status --json has none of them" fails raw "$OUT"
check "escaping: the token file has none of them" fails raw "$T/store/tokens/$U"
check "escaping: the token file keeps the issuer escaped" \
	grep -qF 'issuer=CN%3DEvil%5CC2%5C9BCA%5CE2%5C80%5CAE%5CE2%5C80%5CA8x' "$T/store/tokens/$U"
check "escaping: the {issuer} of the event handler has none of them" fails raw "$T/hooks/token_init"
check "escaping: the event handler got the issuer escaped" grep -qF " CN=$EVIL_ESC" "$T/hooks/token_init"

# --- keygen: PKCS#12 ---------------------------------------------------------------
n5=$(tokens)
with_otp keygen --out "$W/one.p12" >"$OUT" 2>"$ERR"; rc=$?
check "keygen: exit 0" test $rc = 0
PW=$(awk '/^password:/ {print $2}' "$OUT")
check "keygen: a one-time password is shown (20 characters)" test ${#PW} = 20
check "keygen: the file is 0600" test "$(stat -c %a "$W/one.p12")" = 600
check "openssl pkcs12 opens it with the password" openssl pkcs12 -in "$W/one.p12" -passin "pass:$PW" -info -noout
openssl pkcs12 -in "$W/one.p12" -passin "pass:$PW" -info -noout >"$OUT" 2>&1
grep_ok "keygen: PBES2, PBKDF2, AES-256-CBC" "PBES2, PBKDF2, AES-256-CBC" "$OUT"
grep_ok "keygen: SHA-256 MAC" "MAC: sha256" "$OUT"
check "openssl pkcs12 refuses a wrong password" fails openssl pkcs12 -in "$W/one.p12" -passin pass:wrong-password -info -noout
openssl pkcs12 -in "$W/one.p12" -passin "pass:$PW" -nokeys -clcerts 2>/dev/null | openssl x509 >"$W/one.pem"
check "keygen: its certificate verifies against the group CA" openssl verify -CAfile "$T/ca.pem" "$W/one.pem"
mkdir -m 0700 "$T/nss"
certutil -N -d "sql:$T/nss" --empty-password
check "pk12util imports it into an NSS database" pk12util -i "$W/one.p12" -d "sql:$T/nss" -W "$PW"
check "NSS then holds the key" grep -q . <(certutil -K -d "sql:$T/nss" 2>/dev/null | grep -v '^<')
mkdir -m 0700 "$T/nss2"
certutil -N -d "sql:$T/nss2" --empty-password
check "pk12util refuses a wrong password" fails pk12util -i "$W/one.p12" -d "sql:$T/nss2" -W wrong-password
check "the password is not in the service's log" fails grep -qF "$PW" "$T/daemon.log"
check "the password is nowhere in the store" fails grep -rqF "$PW" "$T/store"
check "the service keeps no private key besides the CA's" test -z "$(grep -rl 'PRIVATE KEY' "$T/store" | grep -v '/groups/')"
next_code
printf '%s\n' "correct horse" "correct horse" "$code" | enroll keygen --pin --out "$W/pin.p12" >"$OUT" 2>"$ERR"; rc=$?
check "keygen --pin: exit 0" test $rc = 0
grep_not "keygen --pin: no password is shown" "^password: +[A-Za-z0-9]{20}" "$OUT"
check "keygen --pin: opens with the PIN" openssl pkcs12 -in "$W/pin.p12" -passin "pass:correct horse" -info -noout
check "keygen --pin: pk12util imports it with the PIN" pk12util -i "$W/pin.p12" -d "sql:$T/nss" -W "correct horse"
with_otp keygen --legacy --out "$W/legacy.p12" >"$OUT" 2>"$ERR"; rc=$?
check "keygen --legacy: exit 0" test $rc = 0
PW2=$(awk '/^password:/ {print $2}' "$OUT")
openssl pkcs12 -in "$W/legacy.p12" -passin "pass:$PW2" -info -noout >"$OUT" 2>&1
grep_ok "keygen --legacy: 3DES" "pbeWithSHA1And3-KeyTripleDES-CBC" "$OUT"
grep_ok "keygen --legacy: SHA-1 MAC" "MAC: sha1" "$OUT"
check "keygen --legacy: pk12util imports it" pk12util -i "$W/legacy.p12" -d "sql:$T/nss" -W "$PW2"
check "keygen: three more tokens" test "$(tokens)" = $((n5 + 3))
run_status 73 "keygen to an existing file: 73 before anything is asked" enroll keygen --out "$W/one.p12"
printf '%s\n' "abc" "abc" | enroll keygen --pin --out "$W/short.p12" >"$OUT" 2>"$ERR"; rc=$?
check "keygen with a PIN that is too short: 65" test $rc = 65
run_status 65 "keygen for a queued target: 65" enroll keygen --target approval --out "$W/q.p12"
grep_ok "keygen for a queued target: says why" "never keeps a key" "$ERR"
run_status 65 "keygen for a target that requires attestation: 65" enroll keygen --target hw --out "$W/h.p12"
check "keygen: no file and no token left by refusals" test ! -e "$W/q.p12" -a ! -e "$W/short.p12" -a "$(tokens)" = $((n5 + 3))

# --- revocation and expiry events --------------------------------------------------
CS=$(openssl x509 -in "$W/plain.pem" -noout -serial | cut -d= -f2)
run_status 0 "cert revoke" ADM cert revoke "$CS"
check "token_revoked ran its command with the token, user and certificate serial" \
	grep -q " $U $CS$" "$T/hooks/token_revoked"
run_status 0 "cert expiring: announces what expires within the window" ADM cert expiring --within 7200
check "cert_expiring ran its command with the serial and expiry" grep -qE "^[0-9A-F]+ 20[0-9-]+T" "$T/hooks/cert_expiring"
lines=$(wc -l <"$T/hooks/cert_expiring")
run_status 0 "cert expiring again" ADM cert expiring --within 7200
check "each certificate is announced once" test "$(wc -l <"$T/hooks/cert_expiring")" = "$lines"

tap_done
