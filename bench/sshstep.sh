#!/bin/bash
# SSH certificate step (pam_certtoken cert=ssh) latency through the real
# PAM stack beside, in the same run, an in-process Ed25519 verification of
# the same certificate's signature (bench/bench_sshstep) and `ssh-keygen -L`
# parsing the same certificate as a command.  Store on tmpfs.
#   bench/sshstep.sh BUILDDIR
# BENCH_LOGINS (2000) logins; BENCH_KEYGEN_CMDS (200) ssh-keygen runs;
# BENCH_WRAP a command to run bench_sshstep under (e.g. "perf record -g").
set -euo pipefail
build=$(cd "${1:?usage: bench/sshstep.sh BUILDDIR}" && pwd)
logins=${BENCH_LOGINS:-2000}
cmds=${BENCH_KEYGEN_CMDS:-200}
secret_hex=3132333435363738393031323334353637383930
user=$(id -un)
work=$(mktemp -d /dev/shm/certtoken-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
mkdir -m 0700 "$work/pam.d" "$work/store"
cat >"$work/ct.conf" <<CONF
store: { path = "$work/store"; };
otp: { hotp_lookahead = 10; };
access_groups = ( { name = "default"; } );
targets = ( { name = "default"; access_group = "default"; subject = "CN=%unix_account%";
              ssh = true; } );
CONF
adm() { "$build/certtoken-admin" -c "$work/ct.conf" "$@"; }
adm ca init default >/dev/null
adm token init --user "$user" --type hotp --secret "$(printf %s "$secret_hex" | xxd -r -p | base32)" >/dev/null
oathtool --hotp -c 0 -w $((logins - 1)) "$secret_hex" >"$work/codes"
M="$build/.libs/pam_certtoken.so config=$work/ct.conf"
# pam_echo's message marks the end of the OTP step for the timer
printf '%s\n' "auth required $M otp" "auth optional pam_echo.so otp-done" "auth required $M cert=ssh" >"$work/pam.d/ct"

out=$(${BENCH_WRAP:-} "$build/bench/bench_sshstep" "$work/ct.conf" "$work/pam.d" ct "$user" "$work/codes" "$work/u-cert.pub")
echo "$out"
t0=$(date +%s%N)
for _ in $(seq "$cmds"); do ssh-keygen -L -f "$work/u-cert.pub" >/dev/null; done
t1=$(date +%s%N)
cmd_us=$(((t1 - t0) / cmds / 1000))
echo "ssh_keygen_L_cmd runs $cmds mean_us $cmd_us"
pam50=$(echo "$out" | awk '/^pam_ssh_step/{print $7}')
pam99=$(echo "$out" | awk '/^pam_ssh_step/{print $9}')
raw50=$(echo "$out" | awk '/^raw_verify /{print $7}')
raw99=$(echo "$out" | awk '/^raw_verify /{print $9}')
lib50=$(echo "$out" | awk '/^lib_parse_verify_check /{print $7}')
awk -v p="$pam50" -v q="$pam99" -v r="$raw50" -v r9="$raw99" -v l="$lib50" -v c="$cmd_us" 'BEGIN{
	printf "SSH certificate step through PAM p50 %.0f us, p99 %.0f us\n", p, q
	printf "ratio p50 / in-process Ed25519 verify (p50 %.0f us): %.2f   (target <= 3)\n", r, p / r
	printf "ratio p99 / in-process Ed25519 verify (p99 %.0f us): %.2f\n", r9, q / r9
	printf "ratio p50 / library parse+verify+check (p50 %.0f us): %.2f\n", l, p / l
	printf "ratio p50 / ssh-keygen -L command (mean %d us): %.2f\n", c, p / c
}'
