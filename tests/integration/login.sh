#!/bin/bash
# The certificate step of pam_certtoken through the real Linux-PAM library:
# OTP (oathtool codes), then a one-time challenge answered by
# certtoken-enroll respond or by an independent responder written here with
# the openssl command line; attributes from a real slapd.  Certificates come
# from `certtoken-admin issue` (the group CA) and, for edge cases the issuer
# never produces, from `openssl ca` with the group's own CA key.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/mtls.sh"

ENROLL=$top_builddir/certtoken-enroll
MODULE=$top_builddir/.libs/pam_certtoken.so
HARNESS=$top_builddir/tests/pam/pam_harness
[ -f "$MODULE" ] && [ -x "$ENROLL" ] || skip_all "not built"
[ -x "$SLAPD_BIN" ] || skip_all "slapd is not installed"
command -v oathtool >/dev/null || skip_all "oathtool is not installed"
command -v basenc >/dev/null || skip_all "basenc is not installed"

# --- the directory ---------------------------------------------------------------
at_exit slapd_stop
if ! slapd_start "$T/slapd" 2>"$T/slapd.err"; then
	echo "Bail out! cannot start a test slapd: $(tr '\n' ' ' <"$T/slapd.err")"
	exit 1
fi
person() {
	printf 'dn: uid=%s,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\n' "$1"
	printf 'uid: %s\ncn: %s\nsn: %s\no: Example Corp\nou: %s\n\n' "$1" "$1" "$1" "$2"
}
{
	printf 'dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n'
	person alice "Platform Team"
	person bob "Platform Team"
	person carol "Sales"
} >"$T/people.ldif"
slapd_load "$T/people.ldif" 2>"$T/load.err" || {
	echo "Bail out! cannot load entries: $(tr '\n' ' ' <"$T/load.err")"
	exit 1
}

# --- configuration, CAs, tokens, PAM services -------------------------------------------
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
attributes: { source = "ldap";
  ldap: { uri = "$SLAPD_URI"; starttls = false; bind_dn = "$SLAPD_BIND_DN";
          bind_password_file = "$SLAPD_BIND_PW_FILE"; base = "ou=people,dc=example,dc=org";
          filter = "(uid=%u)"; timeout = 2;
          map: { company = "o"; department = "ou"; }; }; };
otp: { hotp_lookahead = 5; max_fail = 100; };
access_groups = ( { name = "default"; }, { name = "other"; }, { name = "rot"; } );
templates = ( { name = "client"; key_usage = ["DigitalSignature"]; extended_key_usage = ["ClientAuth"]; },
              { name = "server"; key_usage = ["DigitalSignature"]; extended_key_usage = ["ServerAuth"]; } );
targets = (
  { name = "default"; access_group = "default"; template = "client";
    subject = "CN=%unix_account%/O=%company%/OU=%department%"; san = "UPN=%principal%@example.org";
    lifetime = 600; backdate = 30; },
  { name = "plain"; access_group = "default"; template = "client"; subject = "CN=%unix_account%"; },
  { name = "server"; access_group = "default"; template = "server"; subject = "CN=%unix_account%"; },
  { name = "other"; access_group = "other"; template = "client"; subject = "CN=%unix_account%"; },
  { name = "rot"; access_group = "rot"; template = "client"; subject = "CN=%unix_account%"; } );
CONF
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
ADM ca init default >/dev/null && ADM ca init other >/dev/null && ADM ca init rot >/dev/null || {
	echo "Bail out! ca init failed"
	exit 1
}
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
for u in alice bob carol; do ADM token init --user $u --type hotp --secret "$SECRET" >/dev/null; done
for u in alice bob carol; do echo 0 >"$T/counter.$u"; done
# code USER: the next HOTP code of USER's token (all share one secret); the
# counter lives in a file because $(code USER) runs in a subshell
code() {
	local c; c=$(cat "$T/counter.$1")
	oathtool --hotp -b -c "$c" "$SECRET"
	echo $((c + 1)) >"$T/counter.$1"
}

mkdir -m 0700 "$T/pam.d"
M="$MODULE config=$T/ct.conf"
service() { local n=$1; shift; printf '%s\n' "$@" >"$T/pam.d/$n"; }
service login "auth required $M"
service split "auth required $M otp" "auth required $M cert"
service certonly "auth required $M cert"
service plain "auth required $M target=plain"
service cn "auth required $M target=plain map=cn"
service upn "auth required $M map=upn"
service server "auth required $M target=server"
service noskew "auth required $M target=plain skew=0"
service skew "auth required $M target=plain skew=60"
service badskew "auth required $M skew=abc"
service badmap "auth required $M map=email"
service badtarget "auth required $M target=nosuch"
service rot "auth required $M target=rot"
service other "auth required pam_deny.so"

# --- credentials -------------------------------------------------------------------------
# cred NAME USER TARGET: a key and `certtoken-admin issue`d certificate under
# $T/cred/NAME/certtoken/TARGET/, where certtoken-enroll respond finds them
# with XDG_CONFIG_HOME=$T/cred/NAME
cred() {
	local d=$T/cred/$1/certtoken/$3
	mkdir -p "$d" && chmod -R go-rwx "$T/cred"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/key.pem" 2>/dev/null &&
		openssl pkey -in "$d/key.pem" -pubout -out "$d/pub.pem" &&
		ADM issue --user "$2" --target "$3" --pubkey "$d/pub.pem" >"$d/cert.pem"
}
respond_cmd() { echo "XDG_CONFIG_HOME=$T/cred/$1 $ENROLL respond"; }

# An independent responder: builds the signed message from the challenge
# with printf and signs it with `openssl dgst`, sending the certificate whole.
cat >"$T/respond.sh" <<'SH'
#!/bin/bash
# respond.sh KEY CERT: read a prompt on stdin, print a ctr1 response
set -e
key=$1 cert=$2
ch=$(grep -o 'ctc1:[^ ]*' | head -n1)
IFS=: read -r _ nonce target user service host <<<"$ch"
b64u_dec() { local s=$1; while [ $((${#s} % 4)) != 0 ]; do s="$s="; done; printf %s "$s" | basenc --base64url -d; }
b64u_enc() { basenc --base64url -w0 | tr -d '='; }
field() { printf "\\x$(printf %02x $(($1 >> 8)))\\x$(printf %02x $(($1 & 255)))"; }
msg=$(mktemp)
{
	printf 'certtoken login v1\0'
	field 16; b64u_dec "$nonce"
	for f in "$target" "$user" "$service" "$host"; do field ${#f}; printf %s "$f"; done
} >"$msg"
serial=$(openssl x509 -in "$cert" -noout -serial | cut -d= -f2)
sig=$(openssl dgst -sha256 -sign "$key" "$msg" | b64u_enc)
der=$(openssl x509 -in "$cert" -outform DER | b64u_enc)
rm -f "$msg"
echo "ctr1:$serial:$sig:$der"
SH

# craft NAME USER GROUP START END EXT [SUBJ]: a certificate signed with
# GROUP's CA key by `openssl ca` with explicit dates (YYYYMMDDHHMMSSZ) and
# the extension section EXT of $T/ca.cnf; key and cert in $T/craft/NAME.*
cat >"$T/ca.cnf" <<'CNF'
[ ca ]
default_ca = ca_default
[ ca_default ]
database = $ENV::CADIR/index.txt
new_certs_dir = $ENV::CADIR
serial = $ENV::CADIR/serial
default_md = sha256
policy = anything
unique_subject = no
email_in_dn = no
rand_serial = yes
[ anything ]
commonName = optional
organizationName = optional
organizationalUnitName = optional
[ good ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[ noku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
extendedKeyUsage = clientAuth
[ noeku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
[ cacert ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = clientAuth
CNF
mkdir -m 0700 "$T/craft"
craft() {
	local n=$1 user=$2 group=$3 start=$4 end=$5 ext=$6 subj=${7:-/CN=$2}
	export CADIR=$T/craft/ca.$n
	mkdir -p "$CADIR" && : >"$CADIR/index.txt"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/craft/$n.key" 2>/dev/null
	openssl req -new -key "$T/craft/$n.key" -subj "$subj" -out "$T/craft/$n.csr" 2>/dev/null
	openssl ca -batch -config "$T/ca.cnf" -cert "$T/store/groups/$group/ca.pem" \
		-keyfile "$T/store/groups/$group/ca.key" -in "$T/craft/$n.csr" -out "$T/craft/$n.pem" \
		-startdate "$start" -enddate "$end" -extensions "$ext" -notext -preserveDN \
		>"$T/craft/$n.log" 2>&1
}
# at SECONDS: the time SECONDS from now as YYYYMMDDHHMMSSZ
at() { date -u -d "@$(($(date +%s) + $1))" +%Y%m%d%H%M%SZ; }

LOG=$T/harness.log
# login WANT DESC [--respond CMD] SERVICE USER [ANSWER...]: the PAM result matches WANT
login() {
	local want=$1 desc=$2; shift 2
	"$HARNESS" "$@" >"$OUT" 2>"$ERR"
	cat "$OUT" >>"$LOG"
	grep_ok "$desc" "^authenticate: $want" "$OUT"
}
# refused DESC [--respond CMD] SERVICE USER [ANSWER...]: the OTP passed, the
# challenge was sent, and the login failed (so the certificate step refused)
refused() {
	local desc=$1; shift
	"$HARNESS" "$@" >"$OUT" 2>"$ERR"
	cat "$OUT" >>"$LOG"
	# with a responder, it must have produced a well-formed response: a
	# refusal of an empty or broken one would prove nothing
	if grep -q "^authenticate: Authentication failure" "$OUT" && grep -q "^ctc1:" "$OUT" &&
		{ [ "$1" != --respond ] ||
			grep -Eq '^response: ctr1:[0-9A-F]+:[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)?$' "$OUT"; }; then
		ok "$desc"
	else
		not_ok "$desc (not refused at the certificate step)"; diag <"$OUT"
	fi
}
OK=Success
NO="Authentication failure"

# --- the happy path ----------------------------------------------------------------------
check "issue alice's certificate for target default" cred alice alice default
login "$OK" "OTP then certificate: alice logs in" --respond "$(respond_cmd alice)" "$T/pam.d" login alice "$(code alice)"
grep_ok "the challenge prompt names the command and holds one challenge word" \
	"^prompt: Certificate challenge, answer it with certtoken-enroll respond:$" "$OUT"
grep_ok "the challenge carries target, user, service and host" \
	"^ctc1:[A-Za-z0-9_-]{22}:default:alice:login:$(hostname)$" "$OUT"
grep_ok "the response has the short form ctr1:SERIAL:SIGNATURE" "^response: ctr1:[0-9A-F]{2,40}:[A-Za-z0-9_-]+$" "$OUT"
resp=$(sed -n 's/^response: //p' "$OUT")
len=${#resp}
check "the EC P-256 response fits on one terminal line ($len < 200 characters)" test "$len" -lt 200
echo "# response length with EC P-256: $len characters"
grep_ok "the OTP prompt came first" "^prompt: OTP: $" "$OUT"

login "$OK" "the split stack (otp line, then cert line) logs in" --respond "$(respond_cmd alice)" "$T/pam.d" split alice "$(code alice)"

# --- no challenge without OTP ---------------------------------------------------------------
login "$NO" "a wrong OTP fails" --respond "$(respond_cmd alice)" "$T/pam.d" login alice 000000
grep_not "after a wrong OTP no challenge is sent" "ctc1:" "$OUT"
login "$NO" "a cert-only line without an OTP step before it fails" --respond "$(respond_cmd alice)" "$T/pam.d" certonly alice
grep_not "and sends no challenge" "ctc1:" "$OUT"

# --- replay, tampering, garbage -----------------------------------------------------------------
refused "a replayed response (from the first login) is refused" "$T/pam.d" login alice "$(code alice)" "$resp"
# sign a fresh challenge, then change one character in the middle of the signature
cat >"$T/tamper.sh" <<SH
#!/bin/bash
r=\$($(respond_cmd alice) 2>/dev/null)
s=\${r##*:} p=\${r%:*} m=\$((\${#s} / 2))
c=\${s:\$m:1}; [ "\$c" = A ] && c=B || c=A
echo "\$p:\${s:0:\$m}\$c\${s:\$((m + 1))}"
SH
refused "a tampered signature is refused" --respond "bash $T/tamper.sh" "$T/pam.d" login alice "$(code alice)"
for g in "" "ctr1:" "ctr1:XYZ:abc" "ctr1:0A:!!!" "ctr1:0A0B:QUJD:QUJD" "$(head -c 3000 /dev/zero | tr '\0' A)" \
	"${resp:0:40}" "ctr1:$(printf 'A%.0s' $(seq 40)):QUJD"; do
	refused "a garbage response is refused ('${g:0:24}')" "$T/pam.d" login alice "$(code alice)" "$g"
done

# --- binding to the user -------------------------------------------------------------------------
check "issue bob's certificate" cred bob bob default
refused "bob's certificate does not log alice in" --respond "$(respond_cmd bob)" "$T/pam.d" login alice "$(code alice)"
# alice's answer to bob's challenge: the challenge names bob, her certificate binds to her
refused "alice's certificate does not log bob in" --respond "$(respond_cmd alice)" "$T/pam.d" login bob "$(code bob)"
check "issue alice's certificate for the plain target (CN only)" cred alice alice plain
login "$OK" "target=plain: the subject CN=alice binds" --respond "$(respond_cmd alice)" "$T/pam.d" plain alice "$(code alice)"
D=$T/cred/alice/certtoken/default
refused "target=plain: alice's default-target certificate has another subject" --respond "bash $T/respond.sh $D/key.pem $D/cert.pem" "$T/pam.d" plain alice "$(code alice)"
login "$OK" "map=cn: the CN binds" --respond "$(respond_cmd alice)" "$T/pam.d" cn alice "$(code alice)"
login "$OK" "map=upn: the UPN alice@example.org binds" --respond "$(respond_cmd alice)" "$T/pam.d" upn alice "$(code alice)"
check "issue carol's certificate for the plain target" cred carol carol plain
refused "map=cn: carol's CN does not bind alice" --respond "$(respond_cmd carol)" "$T/pam.d" cn alice "$(code alice)"

# --- the independent responder, whole certificate ---------------------------------------
P=$T/cred/alice/certtoken/plain
login "$OK" "an independent openssl responder (whole certificate) is accepted" --respond "bash $T/respond.sh $P/key.pem $P/cert.pem" "$T/pam.d" plain alice "$(code alice)"
wlen=$(sed -n 's/^response: //p' "$OUT" | tr -d '\n' | wc -c)
echo "# response length with the whole certificate: $wlen characters"
# a response signed by another key for alice's certificate: no proof of possession
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/stranger.key" 2>/dev/null
refused "a signature by another key over alice's certificate is refused" --respond "bash $T/respond.sh $T/stranger.key $P/cert.pem" "$T/pam.d" plain alice "$(code alice)"

# --- validity and skew (certificates made by openssl ca) --------------------------------------
check "openssl ca makes the expired certificate" craft expired alice default "$(at -3600)" "$(at -120)" good
refused "a certificate that expired 120 s ago is refused with skew=60" --respond "bash $T/respond.sh $T/craft/expired.key $T/craft/expired.pem" "$T/pam.d" skew alice "$(code alice)"
ADM ca export default >"$T/ca.pem"
mtls expired "$T/craft/expired.pem" "$T/craft/expired.key" "$T/ca.pem"
grep_not "an mTLS target trusting the group CA refuses the expired certificate" "HTTP/1.0 200 ok" "$T/expired.cli"
grep_ok "...as expired" "certificate has expired" "$T/expired.srv"
check "openssl ca makes the recent certificate" craft recent alice default "$(at -3600)" "$(at -20)" good
login "$OK" "a certificate that expired 20 s ago passes with skew=60" --respond "bash $T/respond.sh $T/craft/recent.key $T/craft/recent.pem" "$T/pam.d" skew alice "$(code alice)"
refused "and is refused with skew=0" --respond "bash $T/respond.sh $T/craft/recent.key $T/craft/recent.pem" "$T/pam.d" noskew alice "$(code alice)"
check "openssl ca makes the future certificate" craft future alice default "$(at 120)" "$(at 3600)" good
refused "a certificate valid from 120 s ahead is refused with skew=60" --respond "bash $T/respond.sh $T/craft/future.key $T/craft/future.pem" "$T/pam.d" skew alice "$(code alice)"
check "openssl ca makes the soon certificate" craft soon alice default "$(at 20)" "$(at 3600)" good
login "$OK" "a certificate valid from 20 s ahead passes with skew=60" --respond "bash $T/respond.sh $T/craft/soon.key $T/craft/soon.pem" "$T/pam.d" skew alice "$(code alice)"
refused "and is refused with skew=0" --respond "bash $T/respond.sh $T/craft/soon.key $T/craft/soon.pem" "$T/pam.d" noskew alice "$(code alice)"
check "openssl ca makes the good certificate" craft good alice default "$(at -60)" "$(at 3600)" good
mtls craftgood "$T/craft/good.pem" "$T/craft/good.key" "$T/ca.pem"
grep_ok "...and accepts one that is valid (the check above can fail)" "HTTP/1.0 200 ok" "$T/craftgood.cli"
login "$OK" "an openssl ca certificate with the right usages passes" --respond "bash $T/respond.sh $T/craft/good.key $T/craft/good.pem" "$T/pam.d" noskew alice "$(code alice)"

# --- usages, group ----------------------------------------------------------------------------
check "openssl ca makes the noku certificate" craft noku alice default "$(at -60)" "$(at 3600)" noku
refused "a certificate without digitalSignature is refused" --respond "bash $T/respond.sh $T/craft/noku.key $T/craft/noku.pem" "$T/pam.d" plain alice "$(code alice)"
check "openssl ca makes the noeku certificate" craft noeku alice default "$(at -60)" "$(at 3600)" noeku
refused "a certificate without clientAuth is refused" --respond "bash $T/respond.sh $T/craft/noeku.key $T/craft/noeku.pem" "$T/pam.d" plain alice "$(code alice)"
login "$OK" "target=server (template ServerAuth) accepts it" --respond "bash $T/respond.sh $T/craft/noeku.key $T/craft/noeku.pem" "$T/pam.d" server alice "$(code alice)"
check "openssl ca makes a CA:TRUE certificate for alice" craft cacert alice default "$(at -60)" "$(at 3600)" cacert
refused "a certificate that is itself a CA is refused" --respond "bash $T/respond.sh $T/craft/cacert.key $T/craft/cacert.pem" "$T/pam.d" plain alice "$(code alice)"
check "issue alice's certificate from the other group's CA" cred alice alice other
O=$T/cred/alice/certtoken/other
refused "a certificate of another access group's CA is refused" --respond "bash $T/respond.sh $O/key.pem $O/cert.pem" "$T/pam.d" plain alice "$(code alice)"
check "openssl req makes a self-signed certificate" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/self.key" \
	-subj /CN=alice -days 1 -addext keyUsage=critical,digitalSignature -addext extendedKeyUsage=clientAuth \
	-out "$T/self.pem" 2>/dev/null
refused "a self-signed certificate is refused" --respond "bash $T/respond.sh $T/self.key $T/self.pem" "$T/pam.d" plain alice "$(code alice)"

# --- the short form needs the index ------------------------------------------------------------
cat >"$T/short.sh" <<SH
#!/bin/sh
r=\$(bash $T/respond.sh $T/craft/good.key $T/craft/good.pem)
echo "\${r%:*}"
SH
refused "a serial this host never issued is refused" --respond "sh $T/short.sh" "$T/pam.d" plain alice "$(code alice)"

# --- revocation ------------------------------------------------------------------------------
serial=$(openssl x509 -in "$T/cred/alice/certtoken/default/cert.pem" -noout -serial | cut -d= -f2)
run_status 0 "revoke alice's certificate" ADM cert revoke "$serial" --reason keyCompromise
refused "a revoked certificate is refused" --respond "$(respond_cmd alice)" "$T/pam.d" login alice "$(code alice)"

# --- CA rotation: both CAs during the overlap, only the new one after --------------------
check "issue alice's certificate from the first CA of group rot" cred rot1 alice rot
login "$OK" "before the rotation it logs in" --respond "$(respond_cmd rot1)" "$T/pam.d" rot alice "$(code alice)"
run_status 0 "ca rotate rot --overlap-hours 1" ADM ca rotate rot --overlap-hours 1
check "issue alice's certificate from the new CA" cred rot2 alice rot
check "the two certificates have different issuing keys" test \
	"$(openssl x509 -in "$T/cred/rot1/certtoken/rot/cert.pem" -noout -ext authorityKeyIdentifier)" != \
	"$(openssl x509 -in "$T/cred/rot2/certtoken/rot/cert.pem" -noout -ext authorityKeyIdentifier)"
login "$OK" "during the overlap the old CA's certificate logs in" --respond "$(respond_cmd rot1)" "$T/pam.d" rot alice "$(code alice)"
login "$OK" "during the overlap the new CA's certificate logs in" --respond "$(respond_cmd rot2)" "$T/pam.d" rot alice "$(code alice)"
# the overlap ends: move its end into the past (what an hour of waiting would do)
echo $(($(date +%s) - 1)) >"$T/store/groups/rot/previous.until"
refused "after the overlap the old CA's certificate is refused" --respond "$(respond_cmd rot1)" "$T/pam.d" rot alice "$(code alice)"
login "$OK" "after the overlap the new CA's certificate still logs in" --respond "$(respond_cmd rot2)" "$T/pam.d" rot alice "$(code alice)"
run_status 0 "ca rotate rot --overlap-hours 0" ADM ca rotate rot --overlap-hours 0
refused "a rotation without overlap refuses the replaced CA's certificates at once" --respond "$(respond_cmd rot2)" "$T/pam.d" rot alice "$(code alice)"

# --- two-step CA rotation: prepare the next CA, then rotate to it ------------------------
run_status 0 "ca rotate rot --prepare" ADM ca rotate rot --prepare
cp "$T/store/groups/rot/next.pem" "$T/rot-next.pem"
check "issue alice's certificate after --prepare" cred rot3 alice rot
login "$OK" "a certificate issued after --prepare (by the current CA) logs in" --respond "$(respond_cmd rot3)" "$T/pam.d" rot alice "$(code alice)"
run_status 0 "ca rotate rot --overlap-hours 1 takes the prepared CA" ADM ca rotate rot --overlap-hours 1
check "issue alice's certificate after the rotation" cred rot4 alice rot
check "...signed by the prepared CA" test \
	"$(openssl x509 -in "$T/cred/rot4/certtoken/rot/cert.pem" -noout -ext authorityKeyIdentifier | tail -n1 | tr -d ' ' | sed 's/^keyid://')" = \
	"$(openssl x509 -in "$T/rot-next.pem" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' ')"
login "$OK" "a certificate issued after --prepare and the rotation logs in" --respond "$(respond_cmd rot4)" "$T/pam.d" rot alice "$(code alice)"
login "$OK" "...and during the overlap so does the one from before the rotation" --respond "$(respond_cmd rot3)" "$T/pam.d" rot alice "$(code alice)"

# --- bad arguments fail closed -----------------------------------------------------------------
login "Error in service module" "skew=abc fails" "$T/pam.d" badskew alice "$(code alice)"
login "Error in service module" "map=email fails" "$T/pam.d" badmap alice "$(code alice)"
login "Error in service module" "target=nosuch fails" --respond "$(respond_cmd alice)" "$T/pam.d" badtarget alice "$(code alice)"
grep_not "an unknown target fails before the OTP prompt (no code is spent)" "^prompt:" "$OUT"

long="ctr1:$(printf 'A%.0s' $(seq 8300))"
refused "a response longer than 8 KiB is refused" "$T/pam.d" login bob "$(code bob)" "$long"

# --- certtoken-enroll respond --------------------------------------------------------------------
ch="ctc1:AAAAAAAAAAAAAAAAAAAAAA:plain:alice:login:host1"
run_status 0 "respond takes the challenge as an argument" env XDG_CONFIG_HOME="$T/cred/alice" "$ENROLL" respond "$ch"
grep_ok "and prints one response line" "^ctr1:" "$OUT"
grep_ok "and says what is being signed" "login of alice to login on host1 with certificate [0-9A-F]+ \(target plain\)" "$ERR"
run_status 0 "respond finds the challenge in a pasted prompt on stdin" sh -c "printf 'Certificate challenge (x)\n%s\nResponse: ' '$ch' | XDG_CONFIG_HOME=$T/cred/alice $ENROLL respond"
run_status 65 "respond without a challenge: 65" env XDG_CONFIG_HOME="$T/cred/alice" "$ENROLL" respond "hello"
grep_ok "naming what is missing" "no login challenge" "$ERR"
run_status 65 "respond to a malformed challenge: 65" env XDG_CONFIG_HOME="$T/cred/alice" "$ENROLL" respond "ctc1:AAAA:plain:alice"
run_status 65 "respond for a target without a certificate: 65" env XDG_CONFIG_HOME="$T/cred/alice" "$ENROLL" respond "ctc1:AAAAAAAAAAAAAAAAAAAAAA:nosuch:alice:login:h"
grep_ok "saying how to get one" "certtoken-enroll enroll --target nosuch" "$ERR"
run_status 64 "respond --bogus: 64" "$ENROLL" respond --bogus
run_status 65 "respond refuses a challenge whose target is '..' (no path outside its directory)" env XDG_CONFIG_HOME="$T/cred/alice/certtoken/plain" "$ENROLL" respond "ctc1:AAAAAAAAAAAAAAAAAAAAAA:..:alice:login:h"
run_status 65 "respond refuses a challenge with a sixth, empty field" env XDG_CONFIG_HOME="$T/cred/alice" "$ENROLL" respond "ctc1:AAAAAAAAAAAAAAAAAAAAAA:plain:alice:login:h:"

tap_done
