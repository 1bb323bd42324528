#!/bin/bash
# certtoken-admin end to end on the passwd attribute source: configuration
# checks, CA init/export/rotate, render, issue, the CRL during a rotation;
# certificates checked by OpenSSL and by GnuTLS certtool.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

command -v certtool >/dev/null || skip_all "certtool (gnutls-bin) is not installed"
user=$(id -un)

# --- configuration ---------------------------------------------------------
printf 'store: { path = "%s/store"; };\n' "$T" >"$T/min.conf"
run_status 0 "check-config accepts the embedded default" "$ADMIN" -c "$T/min.conf" check-config
grep_ok "check-config reports the defaults" "1 access groups, 1 templates, 1 targets" "$OUT"

cat >"$T/bad.conf" <<CONF
store: { path = "$T/store"; colour = "blue"; };
access_groups = ( { name = "default"; key_type = "ec-p999"; } );
templates = ( { name = "client"; key_usage = [ "DigitalSigning" ]; } );
targets = ( { name = "api"; access_group = "nogroup"; template = "client";
              subject = "CN=%unix_account%/XX=1"; lifetime = "long"; },
            { name = "crm"; access_group = "default"; subject = "CN=%company%"; } );
CONF
run_status 78 "check-config fails with 78 on a bad configuration" "$ADMIN" -c "$T/bad.conf" check-config
grep_ok "unknown key named with file:line" "bad.conf:1: unknown key 'colour' in store" "$ERR"
grep_ok "bad key type named" "bad.conf:2: .*key_type 'ec-p999'" "$ERR"
grep_ok "bad key usage named" "bad.conf:3: .*DigitalSigning" "$ERR"
grep_ok "dangling access group reference named" "bad.conf:4: access group 'nogroup' is not defined" "$ERR"
grep_ok "bad pattern named with its position" "bad.conf:5: .*subject pattern .*position 19" "$ERR"
grep_ok "wrong type named" "bad.conf:5: 'lifetime' must be an integer" "$ERR"
grep_ok "attribute the source cannot provide named" "bad.conf:6: .*%company%.*passwd" "$ERR"
grep_ok "all problems reported at once" "7 problems in the configuration" "$ERR"

# RFC 5280 conformance caught at check-config: KeyEncipherment with an EC
# or Ed25519 group (RFC 5480 section 3, RFC 8410 section 5), and a literal
# subject value over its X.520 bound
long=$(printf '%0129d' 0)
cat >"$T/rfc.conf" <<CONF
store: { path = "$T/store"; };
access_groups = ( { name = "default"; key_type = "ec-p256"; },
                  { name = "edw"; key_type = "ed25519"; } );
templates = ( { name = "client"; key_usage = [ "DigitalSignature" ]; },
              { name = "enc"; key_usage = [ "DigitalSignature", "KeyEncipherment" ]; } );
targets = ( { name = "a"; access_group = "default"; template = "enc"; subject = "CN=%unix_account%"; },
            { name = "b"; access_group = "edw";
              template = "enc"; subject = "CN=%unix_account%/pseudonym=$long"; } );
CONF
run_status 78 "check-config refuses RFC 5280 violations it can see" "$ADMIN" -c "$T/rfc.conf" check-config
grep_ok "KeyEncipherment with an EC group named at the target" \
	"rfc.conf:6: target 'a': template 'enc' has KeyEncipherment, which access group 'default' \(key_type ec-p256\) cannot use" "$ERR"
grep_ok "...and with an Ed25519 group" "rfc.conf:8: target 'b': template 'enc' .*'edw' \(key_type ed25519\)" "$ERR"
grep_ok "a literal pseudonym over ub-pseudonym named" \
	"rfc.conf:8: target 'b': subject pattern .*value for 'pseudonym' is longer than 128 characters \(ub-pseudonym\)" "$ERR"

printf '@include "%s/min.conf"\n' "$T" >"$T/include.conf"
run_status 78 "@include is refused (included files would escape the checks)" "$ADMIN" -c "$T/include.conf" check-config
printf 'store: { path = "%s/store" }\nbroken' "$T" >"$T/syntax.conf"
run_status 78 "a syntax error is a configuration error" "$ADMIN" -c "$T/syntax.conf" check-config
grep_ok "syntax error names the file and line" "syntax.conf: line [0-9]+" "$ERR"
run_status 78 "a missing explicit file is a configuration error" "$ADMIN" -c "$T/none.conf" check-config
cp "$T/min.conf" "$T/open.conf"; chmod 0666 "$T/open.conf"
run_status 78 "a world-writable configuration is refused" "$ADMIN" -c "$T/open.conf" check-config
grep_ok "the refusal says why" "not writable by group or others" "$ERR"
run_status 64 "an unknown command is a usage error" "$ADMIN" -c "$T/min.conf" frobnicate
run_status 64 "a command without its subcommand is a usage error" "$ADMIN" -c "$T/min.conf" token
grep_ok "...that names every subcommand" "token needs init, list, enable, disable, delete, reset or resync \\(try" "$ERR"
run_status 64 "an unknown subcommand is a usage error" "$ADMIN" -c "$T/min.conf" cert frobnicate
grep_ok "...that names every subcommand" "cert needs list, revoke, pending, approve, reject or expiring \\(try" "$ERR"
run_status 64 "check-config takes no arguments" "$ADMIN" -c "$T/min.conf" check-config extra
run_status 0 "--help" "$ADMIN" --help
grep_ok "--help tells ca rotate" "^  ca rotate GROUP \\[--overlap-hours N\\]" "$OUT"
grep_ok "--help tells token resync" "^  token resync SERIAL CODE1 CODE2 " "$OUT"
grep_ok "--help tells cert expiring" "^  cert expiring \\[--within SECONDS\\]" "$OUT"
check "--help tells the commands in order, then the key types" sh -c "tr '\\n' ' ' <\"\$1\" |
	grep -Eq '^usage: .*  check-config .*  ca init .*  render .*  issue .*  token init .*  cert list .*  crl GROUP .*TYPE: ec-p256'" sh "$OUT"

# --- access-group CAs --------------------------------------------------------
cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
access_groups = ( { name = "default"; key_type = "ec-p256"; ca_days = 30; },
                  { name = "ops"; key_type = "ed25519"; },
                  { name = "rot"; key_type = "ec-p256"; },
                  { name = "rsa"; key_type = "rsa2048"; } );
templates = ( { name = "client"; key_usage = [ "DigitalSignature" ];
                extended_key_usage = [ "ClientAuth" ]; },
              { name = "all"; key_usage = [ "DigitalSignature", "ContentCommitment",
                  "KeyEncipherment", "KeyAgreement" ];
                extended_key_usage = [ "ServerAuth", "ClientAuth", "CodeSigning",
                  "EmailProtection", "TimeStamping", "MicrosoftServerGatedCrypto",
                  "NetscapeServerGatedCrypto", "MicrosoftKernelCodeSigning", "1.2.3.4.5" ]; } );
targets = (
  { name = "api"; access_group = "default"; template = "client";
    subject = "CN=%unix_account%/O=Developers/OU=Team A"; san = "UPN=%principal%";
    lifetime = 3600; backdate = 60; ca_connector = "local"; },
  { name = "full"; access_group = "rsa"; template = "all";
    subject = "C=FI/ST=Uusimaa/L=Helsinki/O=Example Oy/OU=Ops/CN=%username%/emailAddress=ops@example.org/DC=example/serialNumber=42/1.2.3.4=custom\\\\/slash";
    san = "IP=192.168.100.33/IP=2001:db8::1/DNS=private.privx.io/URI=https:\\\\/\\\\/example.org\\\\/u\\\\/%unix_account%/UPN=%principal%@example.org/SID=S-1-5-21-3623811015-3361044348-30300820-1013/othername:1.3.6.1.5.5.7.8.7;IA5String=_sip._tcp.example.com/othername:1.2.3.4;UTF8String=ä/othername:1.2.3.5;OctetString=cafe/email=%unix_account%@example.org";
    lifetime = 600; backdate = 30; },
  { name = "ops"; access_group = "ops"; subject = "CN=%unix_account%"; },
  { name = "rot"; access_group = "rot"; subject = "CN=%unix_account%"; },
  { name = "first"; access_group = "default"; subject = "GN=%first_name%"; } );
CONF
ADM() { "$ADMIN" -c "$T/ct.conf" "$@"; }
run_status 0 "check-config accepts the full configuration" ADM check-config
run_status 65 "issuing before ca init names the missing CA" ADM ca export default
grep_ok "the error says to run ca init" "ca init default" "$ERR"
run_status 0 "ca init creates the default group CA" ADM ca init default
run_status 0 "ca init creates an Ed25519 group CA (options after the group)" ADM ca init ops --key-type ed25519
run_status 73 "ca init refuses to overwrite an existing CA" ADM ca init default
run_status 65 "ca init of an undefined group fails" ADM ca init nosuch
check "store directories are 0700" test "$(stat -c %a "$T/store" "$T/store/groups" "$T/store/groups/default" | sort -u)" = 700
check "CA files are 0600" test "$(stat -c %a "$T/store/groups/default/ca.key" "$T/store/groups/default/ca.pem" | sort -u)" = 600
check "no temporary files are left behind" test -z "$(find "$T/store" -name '*.tmp.*' -o -name '*.new.*')"
ADM ca export default >"$T/ca.pem"; ADM ca export ops >"$T/ops.pem"
grep_ok "ca export prints a PEM certificate" "BEGIN CERTIFICATE" "$T/ca.pem"
openssl x509 -in "$T/ca.pem" -noout -text >"$T/ca.txt"
grep_ok "the CA is a CA (critical, pathlen 0)" "CA:TRUE, pathlen:0" "$T/ca.txt"
grep_ok "the CA can sign certificates and CRLs" "Certificate Sign, CRL Sign" "$T/ca.txt"

# --- issuing -----------------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem"
run_status 0 "render prints the expanded patterns" ADM render --user "$user" --target api
grep_ok "render shows the subject in pattern order" "^subject=CN=$user, O=Developers, OU=Team A$" "$OUT"
grep_ok "render shows the UPN" "othername: UPN::$user" "$OUT"
check "render issued nothing" test ! -d "$T/store/groups/default/issued"

run_status 0 "issue --pubkey prints a certificate" ADM issue --user "$user" --target api --pubkey "$T/pub.pem"
cp "$OUT" "$T/api.pem"
run_status 0 "openssl verify accepts it under the group CA" openssl verify -CAfile "$T/ca.pem" "$T/api.pem"
run_status 0 "certtool verifies it under the group CA" certtool --verify --load-ca-certificate "$T/ca.pem" --infile "$T/api.pem"
run_status 2 "openssl verify refuses it under another group's CA" openssl verify -CAfile "$T/ops.pem" "$T/api.pem"
openssl x509 -in "$T/api.pem" -noout -text >"$T/api.txt"
grep_ok "subject follows the pattern" "Subject: CN = $user, O = Developers, OU = Team A" "$T/api.txt"
grep_ok "basicConstraints CA:FALSE is critical" "Basic Constraints: critical" "$T/api.txt"
grep_ok "key usage is critical DigitalSignature" "Key Usage: critical" "$T/api.txt"
grep_ok "EKU is clientAuth" "TLS Web Client Authentication" "$T/api.txt"
grep_ok "SKI present" "Subject Key Identifier" "$T/api.txt"
grep_ok "AKI present" "Authority Key Identifier" "$T/api.txt"
ski=$(openssl x509 -in "$T/ca.pem" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' ')
aki=$(openssl x509 -in "$T/api.pem" -noout -ext authorityKeyIdentifier | tail -n1 | tr -d ' ' | sed 's/^keyid://')
check "AKI equals the CA's SKI" test -n "$ski" -a "$ski" = "$aki"
serial=$(openssl x509 -in "$T/api.pem" -noout -serial | cut -d= -f2)
check "serial is a positive 128-bit number (at most 32 hex digits, not zero)" \
	test "${#serial}" -le 32 -a "${#serial}" -ge 20 -a "$(echo "$serial" | tr -d 0)" != ""
nb=$(date -d "$(openssl x509 -in "$T/api.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$T/api.pem" -noout -enddate | cut -d= -f2)" +%s)
now=$(date +%s)
check "validity is backdate 60 s + lifetime 3600 s" test $((na - nb)) -eq 3660
check "notBefore is about now - 60 s" test $((now - nb)) -ge 55 -a $((now - nb)) -le 70

# Every subject type and SAN form, checked at the DER level; KeyEncipherment
# is for RSA keys: an RSA group and key
ADM ca init rsa >/dev/null
ADM ca export rsa >"$T/rsa-ca.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null | openssl pkey -pubout -out "$T/rsa-pub.pem"
run_status 0 "issue with every subject type and SAN form" ADM issue --user "$user" --target full --pubkey "$T/rsa-pub.pem"
cp "$OUT" "$T/full.pem"
openssl x509 -in "$T/full.pem" -outform DER | openssl asn1parse -inform DER >"$T/full.asn1"
openssl x509 -in "$T/full.pem" -noout -text >"$T/full.txt"
grep_ok "C is a PrintableString" "PRINTABLESTRING +:FI" "$T/full.asn1"
grep_ok "serialNumber is a PrintableString" "PRINTABLESTRING +:42" "$T/full.asn1"
grep_ok "emailAddress is an IA5String" "IA5STRING +:ops@example.org" "$T/full.asn1"
grep_ok "DC is an IA5String" "IA5STRING +:example" "$T/full.asn1"
grep_ok "O is a UTF8String" "UTF8STRING +:Example Oy" "$T/full.asn1"
grep_ok "OU has OID 2.5.4.11 (the seed's erratum corrected)" "organizationalUnitName" "$T/full.asn1"
grep_ok "a dotted OID type with an escaped slash" "OBJECT +:1.2.3.4$" "$T/full.asn1"
grep_ok "the escaped slash is data" "UTF8STRING +:custom/slash" "$T/full.asn1"
grep_ok "IPv4 SAN" "IP Address:192.168.100.33" "$T/full.txt"
grep_ok "IPv6 SAN" "IP Address:2001:DB8:0:0:0:0:0:1" "$T/full.txt"
grep_ok "DNS SAN" "DNS:private.privx.io" "$T/full.txt"
grep_ok "URI SAN with an attribute" "URI:https://example.org/u/$user" "$T/full.txt"
grep_ok "UPN othername" "othername: UPN::$user@example.org" "$T/full.txt"
grep_ok "email= is an rfc822Name SAN" "email:$user@example.org" "$T/full.txt"
check "...an IA5String in [1]" grep -q "81..$(printf '%s@example.org' "$user" | od -An -tx1 | tr -d ' \n')" <<<"$(openssl x509 -in "$T/full.pem" -outform DER | od -An -tx1 | tr -d ' \n')"
grep_ok "SID extension present (1.3.6.1.4.1.311.25.2)" "OBJECT +:1.3.6.1.4.1.311.25.2$" "$T/full.asn1"
grep_ok "all EKUs present" "Code Signing, E-mail Protection, Time Stamping, Microsoft Server Gated Crypto, Netscape Server Gated Crypto, 1.3.6.1.4.1.311.61.1.1, 1.2.3.4.5" "$T/full.txt"
grep_ok "all key usages present" "Digital Signature, Non Repudiation, Key Encipherment, Key Agreement" "$T/full.txt"
# The SID extension, byte for byte: OID 1.3.6.1.4.1.311.25.2, then as its value
# GeneralNames { [0] { OID 1.3.6.1.4.1.311.25.2.1, [0] { OCTET STRING "S-1-5-..." } } }
der=$(openssl x509 -in "$T/full.pem" -outform DER | od -An -tx1 | tr -d ' \n')
sid_want=$(python3 -c '
sid = b"S-1-5-21-3623811015-3361044348-30300820-1013"
tlv = lambda t, v: bytes([t, len(v)]) + v
oid = bytes.fromhex("060a2b060104018237190201")
gn = tlv(0x30, tlv(0xa0, oid + tlv(0xa0, tlv(0x04, sid))))
print((bytes.fromhex("06092b0601040182371902") + tlv(0x04, gn)).hex())')
check "SID extension DER is exact (non-critical, text SID in an OCTET STRING)" grep -q "$sid_want" <<<"$der"
upn_want="a0..060a2b060104018237140203a0..0c..$(printf '%s@example.org' "$user" | od -An -tx1 | tr -d ' \n')"
check "UPN otherName is [0] { OID 1.3.6.1.4.1.311.20.2.3, [0] EXPLICIT UTF8String }" grep -q "$upn_want" <<<"$der"
check "OctetString othername carries the decoded bytes" grep -q "a00b06032a0305a0040402cafe" <<<"$der"
check "IA5String othername (SRVName OID) is an IA5String" grep -q "06082b06010505070807a0..16..5f7369702e" <<<"$der"
check "UTF8String othername is a UTF8String" grep -q "06032a0304a0040c02c3a4" <<<"$der"
run_status 0 "certtool verifies the full certificate" certtool --verify --load-ca-certificate "$T/rsa-ca.pem" --infile "$T/full.pem"
certtool -i --infile "$T/full.pem" >"$T/full.gnutls" 2>&1
grep_ok "certtool sees the IPv6 SAN" "IPAddress: 2001:db8::1" "$T/full.gnutls"
grep_ok "certtool sees the UPN" "User Principal Name: $user@example.org" "$T/full.gnutls"
grep_ok "certtool sees the rfc822Name" "RFC822Name: $user@example.org" "$T/full.gnutls"
grep_ok "certtool sees the SID extension as non-critical" "Unknown extension 1.3.6.1.4.1.311.25.2 \(not critical\)" "$T/full.gnutls"
grep_ok "certtool sees critical key usage" "Key Usage \(critical\)" "$T/full.gnutls"
nb=$(date -d "$(openssl x509 -in "$T/full.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$T/full.pem" -noout -enddate | cut -d= -f2)" +%s)
check "validity is backdate 30 s + lifetime 600 s" test $((na - nb)) -eq 630

# Ed25519 group, RSA and Ed25519 subject keys, CSR input.
openssl genpkey -algorithm ED25519 -out "$T/ed.pem" 2>/dev/null
openssl pkey -in "$T/ed.pem" -pubout -out "$T/edpub.pem"
run_status 0 "an Ed25519 group CA issues for an Ed25519 key" ADM issue --user "$user" --target ops --pubkey "$T/edpub.pem"
cp "$OUT" "$T/ops-leaf.pem"
run_status 0 "the Ed25519-signed leaf verifies under its group CA" openssl verify -CAfile "$T/ops.pem" "$T/ops-leaf.pem"
run_status 2 "and not under the default group's CA" openssl verify -CAfile "$T/ca.pem" "$T/ops-leaf.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl req -new -key "$T/rsa.pem" -subj "/CN=ignored/O=Evil" -addext "subjectAltName=DNS:evil.example" -out "$T/rsa.csr" 2>/dev/null
run_status 0 "issue --csr accepts an RSA CSR" ADM issue --user "$user" --target api --csr "$T/rsa.csr"
openssl x509 -noout -subject -ext subjectAltName <"$OUT" >"$T/csr-leaf.txt" 2>&1
grep_not "the CSR's subject is ignored" "ignored|Evil" "$T/csr-leaf.txt"
grep_not "the CSR's extensions are ignored" "evil.example" "$T/csr-leaf.txt"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/rsa1k.pem" 2>/dev/null
openssl pkey -in "$T/rsa1k.pem" -pubout -out "$T/rsa1k.pub"
run_status 65 "a 1024-bit RSA key is refused" ADM issue --user "$user" --target api --pubkey "$T/rsa1k.pub"
grep_ok "the refusal names the key size" "1024 bits" "$ERR"

# --- rotating an access group's CA ------------------------------------------------
G=$T/store/groups
cert_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
n_pem() { grep -c "BEGIN $1" "$2"; }
# split_pem FILE PREFIX: one file PREFIX1, PREFIX2... per PEM block of FILE
split_pem() { awk -v p="$2" '/-----BEGIN/ { n++ } { print > (p n) }' "$1"; }
run_status 65 "ca rotate before ca init gives 65" ADM ca rotate rot
grep_ok "...saying to run ca init" "run: certtoken-admin ca init rot" "$ERR"
check "...and leaves nothing in the store" test ! -e "$G/.rot.lock"
ADM ca init rot >/dev/null
ADM ca export rot >"$T/rot-ca1.pem"
ADM issue --user "$user" --target rot --pubkey "$T/pub.pem" >"$T/rot-old.pem"
for bad in -1 abc "" 8761 1e3 +5 " 5" 99999999999999999999; do
	run_status 64 "ca rotate --overlap-hours '$bad' is a usage error" ADM ca rotate rot --overlap-hours "$bad"
done
grep_ok "...saying what is allowed" "overlap-hours 0\.\.8760" "$ERR"
run_status 64 "ca rotate --key-type dsa is a usage error" ADM ca rotate rot --key-type dsa
run_status 64 "ca rotate without a group is a usage error" ADM ca rotate
run_status 65 "ca rotate of an undefined group gives 65" ADM ca rotate nosuch
check "...and none of them changed the CA" cmp -s "$T/rot-ca1.pem" "$G/rot/ca.pem"

run_status 0 "ca rotate" ADM ca rotate rot
cp "$OUT" "$T/rotate1.out"
fp=$(openssl x509 -in "$G/rot/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
grep_ok "...prints the new CA's serial and SHA-256 fingerprint" \
	"^new CA: +serial $(cert_serial "$G/rot/ca.pem"), SHA-256 fingerprint $fp$" "$T/rotate1.out"
grep_ok "...names the previous CA" "^previous CA: serial $(cert_serial "$T/rot-ca1.pem")," "$T/rotate1.out"
grep_ok "...and says until when it is trusted (24 hours by default)" \
	"trusted until [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z \(24 hours\)" "$T/rotate1.out"
until=$(cat "$G/rot/previous.until")
check "previous.until is now + 24 h" test $((until - $(date +%s))) -ge 86390 -a $((until - $(date +%s))) -le 86400
check "the previous CA is kept as it was" cmp -s "$T/rot-ca1.pem" "$G/rot/previous.pem"
check "the CA files are 0600 in a 0700 directory" test \
	"$(stat -c %a "$G/rot" "$G/rot/"* | sort -u | tr '\n' ' ')" = "600 700 "
check "no work directory is left behind" test ! -e "$G/.rot.rotate"
ADM ca export rot >"$T/rot-bundle.pem"
check "ca export prints both CAs during the overlap" test "$(n_pem CERTIFICATE "$T/rot-bundle.pem")" = 2
split_pem "$T/rot-bundle.pem" "$T/rot-bundle-"
check "...the new one first, then the previous one" \
	sh -c "cmp -s '$T/rot-bundle-1' '$G/rot/ca.pem' && cmp -s '$T/rot-bundle-2' '$T/rot-ca1.pem'"
check "...with the same subject" test "$(openssl x509 -in "$T/rot-bundle-1" -noout -subject)" = \
	"$(openssl x509 -in "$T/rot-bundle-2" -noout -subject)"
ski() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' '; }
aki() { openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | tail -n1 | tr -d ' ' | sed 's/^keyid://'; }
check "...and different key identifiers" test "$(ski "$T/rot-bundle-1")" != "$(ski "$T/rot-bundle-2")"
ADM issue --user "$user" --target rot --pubkey "$T/pub.pem" >"$T/rot-new.pem"
check "a certificate issued after the rotation names the new CA's key" \
	test "$(aki "$T/rot-new.pem")" = "$(ski "$T/rot-bundle-1")"
run_status 0 "a certificate issued before the rotation verifies against the exported bundle" \
	openssl verify -CAfile "$T/rot-bundle.pem" "$T/rot-old.pem"
run_status 0 "...and one issued after it" openssl verify -CAfile "$T/rot-bundle.pem" "$T/rot-new.pem"
run_status 0 "certtool verifies both against the bundle" sh -c \
	"certtool --verify --load-ca-certificate '$T/rot-bundle.pem' --infile '$T/rot-old.pem' &&
	 certtool --verify --load-ca-certificate '$T/rot-bundle.pem' --infile '$T/rot-new.pem'"
run_status 2 "the new certificate does not verify against the old CA alone" \
	openssl verify -CAfile "$T/rot-ca1.pem" "$T/rot-new.pem"

# the CRL during the overlap: one per trusted CA, each signed by its own CA
old=$(cert_serial "$T/rot-old.pem")
ADM crl rot >"$T/rot-crl0.pem"
run_status 0 "during the overlap, before any revocation, both certificates pass -crl_check" sh -c \
	"openssl verify -crl_check -CAfile '$T/rot-bundle.pem' -CRLfile '$T/rot-crl0.pem' '$T/rot-old.pem' &&
	 openssl verify -crl_check -CAfile '$T/rot-bundle.pem' -CRLfile '$T/rot-crl0.pem' '$T/rot-new.pem'"
ADM cert revoke "$old" --reason superseded >/dev/null
run_status 0 "crl during the overlap" ADM crl rot
cp "$OUT" "$T/rot-crl.pem"
check "...prints a CRL for each trusted CA" test "$(n_pem 'X509 CRL' "$T/rot-crl.pem")" = 2
split_pem "$T/rot-crl.pem" "$T/rot-crl-"
run_status 0 "...the first signed by the new CA" openssl crl -in "$T/rot-crl-1" -CAfile "$T/rot-bundle-1" -noout
# CRL numbers grow per group, also for two CRLs signed in the same second
crlnum() { printf '%d' "$(openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=//')"; }
check "...the two CRLs of the overlap have different numbers" \
	test "$(crlnum "$T/rot-crl-1")" -ne "$(crlnum "$T/rot-crl-2")"
for try in 1 2 3 4 5; do
	s1=$(date +%s)
	ADM crl default >"$T/crl-a.pem"
	ADM crl default >"$T/crl-b.pem"
	[ "$s1" = "$(date +%s)" ] && break
done
check "two CRLs of a group signed in the same second have increasing CRL numbers" \
	test "$(crlnum "$T/crl-b.pem")" -gt "$(crlnum "$T/crl-a.pem")"
check "...and the CRL number is kept with the group's CA material" \
	test "$(cat "$G/default/crl.number")" = "$(crlnum "$T/crl-b.pem")"
run_status 0 "...the second by the previous CA" openssl crl -in "$T/rot-crl-2" -CAfile "$T/rot-bundle-2" -noout
check "the revoked certificate is listed by its own CA's CRL" \
	sh -c "openssl crl -in '$T/rot-crl-2' -noout -text | grep -q 'Serial Number: $old'"
check "...and not by the other's" \
	sh -c "! openssl crl -in '$T/rot-crl-1' -noout -text | grep -q 'Serial Number: $old'"
run_status 2 "openssl verify -crl_check refuses the revoked certificate of the previous CA" \
	openssl verify -crl_check -CAfile "$T/rot-bundle.pem" -CRLfile "$T/rot-crl.pem" "$T/rot-old.pem"
grep_ok "...as revoked" "certificate revoked" "$ERR"
run_status 0 "...and accepts the new CA's certificate" \
	openssl verify -crl_check -CAfile "$T/rot-bundle.pem" -CRLfile "$T/rot-crl.pem" "$T/rot-new.pem"

# after the overlap: only the current CA (previous.until moved into the past)
cp -p "$G/rot/previous.until" "$T/until.good"
echo $(($(date +%s) - 1)) >"$G/rot/previous.until"
ADM ca export rot >"$T/rot-after.pem"
check "after the overlap ca export prints only the current CA" cmp -s "$T/rot-after.pem" "$G/rot/ca.pem"
run_status 2 "...so the previous CA's certificate no longer verifies" \
	openssl verify -CAfile "$T/rot-after.pem" "$T/rot-old.pem"
ADM crl rot >"$T/rot-crl-after.pem"
check "...and crl prints one CRL" test "$(n_pem 'X509 CRL' "$T/rot-crl-after.pem")" = 1
echo soon >"$G/rot/previous.until"
run_status 74 "a corrupt previous.until gives 74" ADM ca export rot
grep_ok "...naming the file" "groups/rot/previous.until: not a time" "$ERR"
cp -p "$T/until.good" "$G/rot/previous.until"

# no overlap: the previous CA is distrusted at once and its key discarded
run_status 0 "ca rotate --overlap-hours 0" ADM ca rotate rot --overlap-hours 0
grep_ok "...says the previous CA is no longer trusted" "no longer trusted" "$OUT"
grep_ok "...and that it dropped the CA before it, still in its overlap" \
	"^dropped CA: +serial $(cert_serial "$T/rot-ca1.pem")," "$OUT"
check "...and keeps no previous CA" test ! -e "$G/rot/previous.key" -a ! -e "$G/rot/previous.pem"
ADM ca export rot >"$T/rot-bundle0.pem"
check "ca export prints only the new CA" test "$(n_pem CERTIFICATE "$T/rot-bundle0.pem")" = 1
run_status 2 "a certificate of the previous CA no longer verifies against the exported bundle" \
	openssl verify -CAfile "$T/rot-bundle0.pem" "$T/rot-new.pem"
run_status 2 "...nor one of the CA before it" openssl verify -CAfile "$T/rot-bundle0.pem" "$T/rot-old.pem"
run_status 0 "ca rotate --key-type ed25519 --overlap-hours 1 (options before the group)" \
	ADM ca rotate --key-type ed25519 --overlap-hours 1 rot
grep_ok "...names the key type" "access group 'rot' \(ed25519\)" "$OUT"
grep_ok "...and the overlap" "\(1 hour\)" "$OUT"
ADM issue --user "$user" --target rot --pubkey "$T/pub.pem" >"$T/rot-ed.pem"
ADM ca export rot >"$T/rot-bundle-ed.pem"
run_status 0 "a certificate of the Ed25519 CA verifies against the bundle" \
	openssl verify -CAfile "$T/rot-bundle-ed.pem" "$T/rot-ed.pem"
check "the new CA is Ed25519" sh -c "openssl x509 -in '$G/rot/ca.pem' -noout -text | grep -q ED25519"

# --- the two-step rotation: prepare the next CA, distribute it, then rotate ---------
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
echo $(($(date +%s) - 1)) >"$G/rot/previous.until" # the Ed25519 rotation's overlap is over
cp "$G/rot/ca.pem" "$T/rot-cur.pem"
run_status 0 "ca rotate --prepare" ADM ca rotate rot --prepare
cp "$OUT" "$T/prepare.out"
grep_ok "...says it prepared the next CA (of the group's key type)" \
	"^prepared the next CA of access group 'rot' \(ec-p256\)$" "$T/prepare.out"
grep_ok "...prints its serial and SHA-256 fingerprint" \
	"^next CA: +serial $(cert_serial "$G/rot/next.pem"), SHA-256 fingerprint $(fp "$G/rot/next.pem")$" "$T/prepare.out"
grep_ok "...and that it signs nothing until the rotation" "signs nothing until 'certtoken-admin ca rotate rot'" "$T/prepare.out"
check "...stores it as next.key and next.pem (0600)" \
	test "$(stat -c %a "$G/rot/next.key" "$G/rot/next.pem" | sort -u)" = 600
check "...leaves the current CA as it was" cmp -s "$T/rot-cur.pem" "$G/rot/ca.pem"
check "...and no work directory" test ! -e "$G/.rot.rotate"
cp "$G/rot/next.pem" "$T/rot-next.pem"
ADM ca export rot >"$T/rot-prep.pem"
check "ca export after --prepare prints two CAs" test "$(n_pem CERTIFICATE "$T/rot-prep.pem")" = 2
split_pem "$T/rot-prep.pem" "$T/rot-prep-"
check "...the current one first, then the prepared one" \
	sh -c "cmp -s '$T/rot-prep-1' '$T/rot-cur.pem' && cmp -s '$T/rot-prep-2' '$T/rot-next.pem'"
ADM issue --user "$user" --target rot --pubkey "$T/pub.pem" >"$T/rot-p1.pem"
check "a certificate issued after --prepare is still from the current CA" \
	test "$(aki "$T/rot-p1.pem")" = "$(ski "$T/rot-cur.pem")"
ADM crl rot >"$T/rot-prep.crl"
check "crl after --prepare prints one CRL: the prepared CA has issued nothing" \
	test "$(n_pem 'X509 CRL' "$T/rot-prep.crl")" = 1
run_status 0 "openssl verify -crl_check with the bundle and that CRL accepts the certificate" \
	openssl verify -crl_check -CAfile "$T/rot-prep.pem" -CRLfile "$T/rot-prep.crl" "$T/rot-p1.pem"
run_status 73 "a second --prepare gives 73" ADM ca rotate rot --prepare
grep_ok "...saying a CA is prepared and how to replace it" "already has a prepared CA .*--replace" "$ERR"
run_status 64 "--key-type while a CA is prepared is a usage error" ADM ca rotate rot --key-type ec-p384
grep_ok "...saying the prepared CA would be lost" \
	"--key-type asks for a new CA, but access group 'rot' has a prepared CA" "$ERR"
run_status 64 "--prepare with --overlap-hours is a usage error" ADM ca rotate rot --prepare --overlap-hours 2
run_status 64 "--replace without --prepare is a usage error" ADM ca rotate rot --replace
check "...and none of them changed a CA" \
	sh -c "cmp -s '$T/rot-cur.pem' '$G/rot/ca.pem' && cmp -s '$T/rot-next.pem' '$G/rot/next.pem'"

run_status 0 "ca rotate with a prepared CA" ADM ca rotate rot --overlap-hours 2
cp "$OUT" "$T/rotate-prep.out"
grep_ok "...says it rotated to the prepared CA" \
	"^rotated the CA of access group 'rot' \(ec-p256\) to the prepared CA$" "$T/rotate-prep.out"
grep_ok "...and names it" "^new CA: +serial $(cert_serial "$T/rot-next.pem")," "$T/rotate-prep.out"
check "...which is now the current CA, the one exported after --prepare" cmp -s "$T/rot-next.pem" "$G/rot/ca.pem"
check "...the one it replaced is the previous CA" cmp -s "$T/rot-cur.pem" "$G/rot/previous.pem"
check "...and nothing is prepared any more" test ! -e "$G/rot/next.key" -a ! -e "$G/rot/next.pem"
ADM issue --user "$user" --target rot --pubkey "$T/pub.pem" >"$T/rot-p2.pem"
check "a certificate issued after the rotation names the prepared CA's key" \
	test "$(aki "$T/rot-p2.pem")" = "$(ski "$T/rot-next.pem")"
run_status 0 "it verifies against the bundle exported right after --prepare" \
	openssl verify -CAfile "$T/rot-prep.pem" "$T/rot-p2.pem"
run_status 0 "...with certtool too" \
	certtool --verify --load-ca-certificate "$T/rot-prep.pem" --infile "$T/rot-p2.pem"
run_status 2 "...while a target with the old CA alone would refuse it" \
	openssl verify -CAfile "$T/rot-cur.pem" "$T/rot-p2.pem"
run_status 0 "...as does the certificate issued before the rotation" \
	openssl verify -CAfile "$T/rot-prep.pem" "$T/rot-p1.pem"
ADM crl rot >"$T/rot-p.crl"
check "crl during the overlap prints two CRLs" test "$(n_pem 'X509 CRL' "$T/rot-p.crl")" = 2
run_status 0 "-crl_check with the bundle from --prepare accepts certificates of both CAs" sh -c \
	"openssl verify -crl_check -CAfile '$T/rot-prep.pem' -CRLfile '$T/rot-p.crl' '$T/rot-p1.pem' &&
	 openssl verify -crl_check -CAfile '$T/rot-prep.pem' -CRLfile '$T/rot-p.crl' '$T/rot-p2.pem'"

# prepared during an overlap: the bundle holds the current, the next and the previous CA
ADM ca rotate rot --prepare >/dev/null
cp "$G/rot/next.pem" "$T/rot-next2.pem"
ADM ca export rot >"$T/rot-prep3.pem"
split_pem "$T/rot-prep3.pem" "$T/rot-prep3-"
check "ca export during an overlap after --prepare prints current, next and previous, in that order" \
	sh -c "test $(n_pem CERTIFICATE "$T/rot-prep3.pem") = 3 && cmp -s '$T/rot-prep3-1' '$T/rot-next.pem' &&
	       cmp -s '$T/rot-prep3-2' '$T/rot-next2.pem' && cmp -s '$T/rot-prep3-3' '$T/rot-cur.pem'"
ADM crl rot >"$T/rot-p3.crl"
check "...and crl still prints two CRLs" test "$(n_pem 'X509 CRL' "$T/rot-p3.crl")" = 2
run_status 0 "-crl_check with that bundle and the CRLs accepts certificates of the current and previous CA" sh -c \
	"openssl verify -crl_check -CAfile '$T/rot-prep3.pem' -CRLfile '$T/rot-p3.crl' '$T/rot-p1.pem' &&
	 openssl verify -crl_check -CAfile '$T/rot-prep3.pem' -CRLfile '$T/rot-p3.crl' '$T/rot-p2.pem'"
run_status 0 "...and so does -crl_check_all" sh -c \
	"openssl verify -crl_check_all -CAfile '$T/rot-prep3.pem' -CRLfile '$T/rot-p3.crl' '$T/rot-p1.pem' &&
	 openssl verify -crl_check_all -CAfile '$T/rot-prep3.pem' -CRLfile '$T/rot-p3.crl' '$T/rot-p2.pem'"
run_status 0 "ca rotate --prepare --replace --key-type ed25519" ADM ca rotate rot --prepare --replace --key-type ed25519
grep_ok "...prepares an Ed25519 CA" "^prepared the next CA of access group 'rot' \(ed25519\)$" "$OUT"
grep_ok "...naming the one it discarded" "^replaced: +serial $(cert_serial "$T/rot-next2.pem")," "$OUT"
ADM ca export rot >"$T/rot-prep4.pem"
check "...which is no longer exported" sh -c "! grep -qF '$(sed -n 2p "$T/rot-next2.pem")' '$T/rot-prep4.pem'"
run_status 0 "ca rotate --overlap-hours 0 to it" ADM ca rotate rot --overlap-hours 0
grep_ok "...names its key type, not the configuration's" \
	"^rotated the CA of access group 'rot' \(ed25519\) to the prepared CA$" "$OUT"
run_status 0 "with nothing prepared, ca rotate makes a new CA as before" ADM ca rotate rot --overlap-hours 1
grep_ok "...and says so" "^rotated the CA of access group 'rot' \(ec-p256\) to a new CA \(none was prepared\)$" "$OUT"

# --- bad input ---------------------------------------------------------------
openssl req -in "$T/rsa.csr" -outform DER -out "$T/rsa.der"
python3 - "$T/rsa.der" "$T/tampered.der" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read()); d[-5] ^= 0x01
open(sys.argv[2], 'wb').write(d)
PY
run_status 65 "a CSR with a bad signature is refused" ADM issue --user "$user" --target api --csr "$T/tampered.der"
grep_ok "the refusal says the signature does not verify" "signature does not verify" "$ERR"
printf 'hello\n' >"$T/garbage"
run_status 65 "a garbage CSR is refused" ADM issue --user "$user" --target api --csr "$T/garbage"
grep_ok "the message names the file" "garbage: not a PEM or DER PKCS#10" "$ERR"
run_status 65 "a garbage public key is refused" ADM issue --user "$user" --target api --pubkey "$T/garbage"
head -c 100000 /dev/zero >"$T/huge"
run_status 65 "an oversized input is refused" ADM issue --user "$user" --target api --csr "$T/huge"
run_status 65 "an unknown user is refused" ADM issue --user no-such-user-x --target api --pubkey "$T/pub.pem"
grep_ok "the message names the user" "no-such-user-x" "$ERR"
run_status 65 "an unknown target is refused" ADM issue --user "$user" --target nosuch --pubkey "$T/pub.pem"
run_status 65 "an attribute the user lacks is refused (no certificate)" ADM issue --user "$user" --target first --pubkey "$T/pub.pem"
grep_ok "the message names the attribute and the pattern" "first_name.*GN=%first_name%" "$ERR"
check "nothing was printed" test ! -s "$OUT"
run_status 64 "issue without a key is a usage error" ADM issue --user "$user" --target api
chmod 0770 "$T/store"
run_status 77 "a group-writable store is refused" ADM issue --user "$user" --target api --pubkey "$T/pub.pem"
grep_ok "the refusal names the store and its mode" "store: writable by group or others" "$ERR"
chmod 0700 "$T/store"
tap_done
