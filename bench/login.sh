#!/bin/bash
# Certificate-step latency through the real PAM stack (OTP, then challenge
# and response) beside the raw verification of the same certificate,
# measured in the same run: in-process (X509_verify_cert plus one signature
# check) and as the `openssl verify` command.  Store on tmpfs.
#   bench/login.sh BUILDDIR
set -euo pipefail
# BUILDDIR may be relative: made absolute, as libpam would look for a
# relative module path in its own directory
build=$(cd "${1:?usage: bench/login.sh BUILDDIR}" && pwd)
logins=${BENCH_LOGINS:-2000}
cmds=${BENCH_VERIFY_CMDS:-200}
secret_hex=3132333435363738393031323334353637383930
user=$(id -un)
work=$(mktemp -d /dev/shm/certtoken-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
mkdir -m 0700 "$work/pam.d" "$work/store"
cat >"$work/ct.conf" <<CONF
store: { path = "$work/store"; };
otp: { hotp_lookahead = 10; };
attributes: { source = "passwd"; };
access_groups = ( { name = "default"; } );
targets = ( { name = "default"; access_group = "default"; template = "client";
              subject = "CN=%unix_account%"; lifetime = 3600; } );
CONF
adm() { "$build/certtoken-admin" -c "$work/ct.conf" "$@"; }
adm ca init default >/dev/null
adm ca export default >"$work/ca.pem"
adm token init --user "$user" --type hotp --secret "$(printf %s "$secret_hex" | xxd -r -p | base32)" >/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem" 2>/dev/null
openssl pkey -in "$work/key.pem" -pubout -out "$work/pub.pem"
adm issue --user "$user" --target default --pubkey "$work/pub.pem" >"$work/cert.pem"
oathtool --hotp -c 0 -w $((logins - 1)) "$secret_hex" >"$work/codes"
echo "auth required $build/.libs/pam_certtoken.so config=$work/ct.conf" >"$work/pam.d/ct"

out=$("$build/bench/bench_login" "$work/pam.d" ct "$user" "$work/codes" "$work/key.pem" \
	"$work/cert.pem" "$work/ca.pem")
echo "$out"
t0=$(date +%s%N)
for _ in $(seq "$cmds"); do openssl verify -CAfile "$work/ca.pem" "$work/cert.pem" >/dev/null; done
t1=$(date +%s%N)
cmd_us=$(((t1 - t0) / cmds / 1000))
echo "openssl_verify_cmd runs $cmds mean_us $cmd_us"
pam50=$(echo "$out" | awk '/^pam_cert_step/{print $7}')
pam99=$(echo "$out" | awk '/^pam_cert_step/{print $9}')
raw50=$(echo "$out" | awk '/^raw_verify /{print $7}')
dec50=$(echo "$out" | awk '/^raw_verify_decode /{print $7}')
awk -v p="$pam50" -v q="$pam99" -v r="$raw50" -v d="$dec50" -v c="$cmd_us" 'BEGIN{
	printf "certificate step p50 %.0f us, p99 %.0f us\n", p, q
	printf "ratio p50 / in-process raw verification (p50 %.0f us): %.2f\n", r, p / r
	printf "ratio p50 / in-process raw verification decoding PEM each time (p50 %.0f us): %.2f\n", d, p / d
	printf "ratio p50 / openssl verify command (mean %d us): %.2f   (target <= 2)\n", c, p / c
}'
