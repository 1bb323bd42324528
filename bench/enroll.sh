#!/bin/bash
# Enrollments through certtokend: OTP through PAM, an LDAP lookup and EC P-256
# signing per request, with 1, 8 and 64 concurrent clients; the in-process
# issuance rate (bench_issue) is measured in the same run for comparison.
# Store, slapd database and socket live on tmpfs (/dev/shm), so the figures
# are of the service, not the disk.  Clients run as distinct uids that the
# service resolves through nss_wrapper (no system accounts are created).
# For each client count: the ratio of enrollments/s to the in-process
# issuance rate, and certtokend's CPU time per enrollment.
#   bench/enroll.sh BUILDDIR [CLIENT_COUNTS...]
set -euo pipefail
# BUILDDIR may be relative: made absolute, as libpam would look for a
# relative module path in its own directory
build=$(cd "${1:?usage: bench/enroll.sh BUILDDIR}" && pwd)
shift
counts=${*:-1 8 64}
secs=${BENCH_SECONDS:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
secret_hex=3132333435363738393031323334353637383930
uid_base=61000
nsswrap=$(find /usr/lib -name libnss_wrapper.so 2>/dev/null | head -n1)
[ -n "$nsswrap" ] || { echo "libnss_wrapper.so not found (Debian package libnss-wrapper)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/enroll.sh: needs root (runs certtokend)"; exit 1; }

work=$(mktemp -d /dev/shm/certtoken-bench.XXXXXX)
chmod 0711 "$work"
DPID=
cleanup() {
	[ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true
	slapd_stop 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
. "$src/tests/lib/slapd.sh"

# users: one per client across all runs, so every run starts at HOTP counter 0
total=0
for c in $counts; do total=$((total + c)); done
slapd_start "$work/slapd" >/dev/null
{
	printf 'dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n'
	for ((i = 0; i < total; i++)); do
		printf 'dn: uid=user%d,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\n' "$i"
		printf 'uid: user%d\ncn: User %d\nsn: %d\no: Example Corp\nou: Bench\n\n' "$i" "$i" "$i"
	done
} >"$work/people.ldif"
slapd_load "$work/people.ldif"
{
	echo "root:x:0:0:root:/root:/bin/sh"
	for ((i = 0; i < total; i++)); do
		echo "user$i:x:$((uid_base + i)):$((uid_base + i)):User $i:/nonexistent:/bin/false"
	done
} >"$work/passwd"
{
	echo "root:x:0:"
	for ((i = 0; i < total; i++)); do echo "user$i:x:$((uid_base + i)):"; done
} >"$work/group"

mkdir -m 0700 "$work/store" "$work/pam.d"
mkdir -m 0755 "$work/run"
cat >"$work/ct.conf" <<CONF
store: { path = "$work/store"; };
socket = "$work/run/enroll.sock";
service: { max_clients = 128; timeout = 30; ldap_connections = 4; };
attributes: { source = "ldap";
  ldap: { uri = "$SLAPD_URI"; starttls = false; bind_dn = "$SLAPD_BIND_DN";
          bind_password_file = "$SLAPD_BIND_PW_FILE"; base = "ou=people,dc=example,dc=org";
          filter = "(uid=%u)"; timeout = 3; map: { company = "o"; department = "ou"; }; }; };
otp: { hotp_lookahead = 10; };
targets = ( { name = "default"; access_group = "default"; template = "client";
              subject = "CN=%unix_account%/O=%company%/OU=%department%";
              san = "UPN=%principal%"; lifetime = 3600; } );
CONF
"$build/bench/bench_populate" "$work/store" "$total" "$secret_hex"
"$build/certtoken-admin" -c "$work/ct.conf" ca init default >/dev/null
# the shipped PAM service, with the built module and this run's configuration;
# "other" denies everything, as on a hardened system (libpam reads it at every
# pam_start, whatever the service file covers, and loads what it names)
sed -e '/^[a-z]/s|pam_certtoken\.so|'"$build/.libs/pam_certtoken.so config=$work/ct.conf"'|' \
	"$src/examples/pam.d/certtoken-enroll" >"$work/pam.d/certtoken-enroll"
grep -q "^auth.*$build/.libs/pam_certtoken.so config=" "$work/pam.d/certtoken-enroll" ||
	{ echo "bench/enroll.sh: examples/pam.d/certtoken-enroll has no pam_certtoken auth line"; exit 1; }
printf '%s required pam_deny.so\n' auth account password session >"$work/pam.d/other"

LD_PRELOAD=$nsswrap NSS_WRAPPER_PASSWD=$work/passwd NSS_WRAPPER_GROUP=$work/group \
	"$build/certtokend" -c "$work/ct.conf" --pam-dir "$work/pam.d" --foreground \
	2>"$work/daemon.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$work/run/enroll.sock" ] && break; sleep 0.05; done

# cpu: certtokend's CPU time so far (user and system, all its threads and
# reaped children), in clock ticks; field 2, the name in parentheses, is cut
cpu() { sed 's/^.*) //' "/proc/$DPID/stat" | awk '{print $12 + $13 + $14 + $15}'; }
hz=$(getconf CLK_TCK)

echo "== in-process issuance, same run (the foundation benchmark)"
ref=$("$build/bench/bench_issue" ec-p256 "$secs")
echo "$ref"
issue_per_s=$(echo "$ref" | awk '{print $5}')
echo "== enrollments through certtokend (${secs}s each): OTP via PAM + LDAP lookup + EC P-256 signing"
first=0
for c in $counts; do
	c0=$(cpu)
	ok=1
	out=$("$build/bench/bench_enroll" "$work/run/enroll.sock" "$c" "$secs" "$secret_hex" \
		$((uid_base + first))) || ok=0
	c1=$(cpu)
	echo "$out"
	[ "$ok" = 1 ] || {
		echo "  (failures; the service said:)"
		grep -v -e "enrolled user" -e "makes room" "$work/daemon.log" | tail -n 5
	}
	echo "$out" | awk -v t=$((c1 - c0)) -v hz="$hz" -v ref="$issue_per_s" '/^clients/ && $4 > 0 {
		printf "  ratio per_second / in-process issue/s: %.4f", $8 / ref
		printf "   certtokend CPU per enrollment: %.2f ms\n", 1000 * t / hz / $4 }'
	first=$((first + c))
done
ldap_conns=$(ss -tn state established "( dport = :$SLAPD_PORT )" 2>/dev/null | tail -n +2 | wc -l)
echo "LDAP connections open from certtokend after the runs: $ldap_conns (reused, not per request)"
