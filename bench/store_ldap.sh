#!/bin/bash
# The LDAP store (store.backend = "ldap") in the same run as the files store
# and the references of pam_otp.sh and login.sh: a slapd started here on
# loopback with the shipped schema (tests/lib/slapd.sh: one mdb database,
# bound as its rootdn, database on tmpfs like the files store), and
#   - OTP logins through the real PAM stack (pam_start -> pam_authenticate ->
#     pam_end) at each user count, on the files store, the LDAP store and
#     pam_oath, with the benchmarked user resolvable through nss_wrapper
#     (and on the LDAP store with reads and writes on separate connections);
#   - the certificate step through PAM on both stores, beside the raw
#     verification of the same certificate;
#   - what the module pays for opening the store at every login: a new
#     connection and bind (bench_ldap: connect+bind alone, one base-scope
#     read on an open connection, both through libldap).
#   bench/store_ldap.sh BUILDDIR [USER_COUNTS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(cd "${1:?usage: bench/store_ldap.sh BUILDDIR}" && pwd)
shift
counts=${*:-1 100000}
logins=${BENCH_LOGINS:-2000}
secret_hex=3132333435363738393031323334353637383930
base="ou=certtoken,dc=example,dc=org"
. "$top/tests/lib/slapd.sh"
[ -x "$SLAPD_BIN" ] || { echo "slapd not found (Debian package slapd)"; exit 1; }
oath=$(find /lib /usr/lib -name pam_oath.so -path '*security*' 2>/dev/null | head -n1)
[ -n "$oath" ] || { echo "pam_oath.so not found (Debian package libpam-oath)"; exit 1; }
nsswrap=$(find /usr/lib -name libnss_wrapper.so 2>/dev/null | head -n1)
[ -n "$nsswrap" ] || { echo "libnss_wrapper.so not found (Debian package libnss-wrapper)"; exit 1; }
work=$(mktemp -d /dev/shm/certtoken-bench.XXXXXX)
trap 'slapd_stop; rm -rf "$work"' EXIT
chmod 0700 "$work"
mkdir -m 0700 "$work/pam.d" "$work/files" "$work/lpath"
nss() { LD_PRELOAD=$nsswrap NSS_WRAPPER_PASSWD=$work/passwd NSS_WRAPPER_GROUP=$work/group "$@"; }

SLAPD_MAXSIZE=$((2 * 1024 * 1024 * 1024)) SLAPD_SCHEMA_EXTRA=$top/schema/certtoken.schema \
	slapd_start "$work/slapd" >/dev/null
printf 'dn: %s\nobjectClass: organizationalUnit\nou: certtoken\n' "$base" >"$work/base.ldif"
slapd_load "$work/base.ldif"
# the LDAP store, bound as the rootdn as bench_ldap below is
cat >"$work/ldap.conf" <<CONF
store: { backend = "ldap"; path = "$work/lpath";
  ldap: { uri = "$SLAPD_URI"; starttls = false; bind_dn = "$SLAPD_BIND_DN";
          bind_password_file = "$SLAPD_BIND_PW_FILE"; base = "$base"; timeout = 5; }; };
otp: { hotp_lookahead = 10; };
CONF
# the same server named differently for writes (a trailing /): the store
# keeps a connection for reads and another for writes, as it did before
# reads and writes to one server shared their connections
sed "s|uri = \"$SLAPD_URI\";|uri = \"$SLAPD_URI\"; write_uri = \"$SLAPD_URI/\";|" \
	"$work/ldap.conf" >"$work/ldap2.conf"
grep -q write_uri "$work/ldap2.conf"
printf 'store: { path = "%s/files"; };\notp: { hotp_lookahead = 10; };\n' "$work" >"$work/files.conf"

# p50/p99 of bench_pam's line
p50() { awk '{print $6}' <<<"$1"; }
p99() { awk '{print $8}' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }

echo "-- OTP login through PAM: files store, LDAP store (slapd on loopback), pam_oath"
printf '%-8s %-22s %8s %8s %10s %10s\n' users module p50_us p99_us /pam_oath /files
done_users=0
for n in $counts; do
	user=user$((n - 1))
	printf 'root:x:0:0:root:/root:/bin/sh\n%s:x:61000:61000:Bench:/nonexistent:/bin/false\n' \
		"$user" >"$work/passwd"
	printf 'root:x:0:\n%s:x:61000:\n' "$user" >"$work/group"
	rm -rf "$work/files" && mkdir -m 0700 "$work/files"
	"$build/bench/bench_populate" "$work/files" "$n" "$secret_hex"
	# the directory keeps its users from one count to the next: add the new ones
	[ "$done_users" -ge "$n" ] ||
		"$build/bench/bench_populate" -c "$work/ldap.conf" "$n" "$secret_hex" "$done_users"
	done_users=$((n > done_users ? n : done_users))
	awk -v n="$n" -v s="$secret_hex" 'BEGIN{for(i=0;i<n;i++) printf "HOTP user%d - %s 0\n", i, s}' \
		>"$work/usersfile"
	chmod 0600 "$work/usersfile"
	oathtool --hotp -c 0 -w $((logins - 1)) "$secret_hex" >"$work/codes"
	echo "auth required $oath usersfile=$work/usersfile window=10" >"$work/pam.d/oath"
	echo "auth required $build/.libs/pam_certtoken.so otp config=$work/files.conf" >"$work/pam.d/files"
	echo "auth required $build/.libs/pam_certtoken.so otp config=$work/ldap.conf" >"$work/pam.d/ldap"
	echo "auth required $build/.libs/pam_certtoken.so otp config=$work/ldap2.conf" >"$work/pam.d/ldap2"
	oa=$(nss "$build/bench/bench_pam" "$work/pam.d" oath "$user" "$work/codes")
	fi=$(nss "$build/bench/bench_pam" "$work/pam.d" files "$user" "$work/codes")
	ld=$(nss "$build/bench/bench_pam" "$work/pam.d" ldap "$user" "$work/codes")
	# the same codes again on the next counter values
	oathtool --hotp -c "$logins" -w $((logins - 1)) "$secret_hex" >"$work/codes2"
	l2=$(nss "$build/bench/bench_pam" "$work/pam.d" ldap2 "$user" "$work/codes2")
	printf '%-8s %-22s %8s %8s %10s %10s\n' "$n" pam_oath "$(p50 "$oa")" "$(p99 "$oa")" 1.00 \
		"$(ratio "$(p50 "$oa")" "$(p50 "$fi")")"
	printf '%-8s %-22s %8s %8s %10s %10s\n' "$n" "pam_certtoken files" "$(p50 "$fi")" \
		"$(p99 "$fi")" "$(ratio "$(p50 "$fi")" "$(p50 "$oa")")" 1.00
	printf '%-8s %-22s %8s %8s %10s %10s\n' "$n" "pam_certtoken ldap" "$(p50 "$ld")" \
		"$(p99 "$ld")" "$(ratio "$(p50 "$ld")" "$(p50 "$oa")")" "$(ratio "$(p50 "$ld")" "$(p50 "$fi")")"
	printf '%-8s %-22s %8s %8s %10s %10s\n' "$n" "ldap, 2 connections" "$(p50 "$l2")" \
		"$(p99 "$l2")" "$(ratio "$(p50 "$l2")" "$(p50 "$oa")")" "$(ratio "$(p50 "$l2")" "$(p50 "$fi")")"
	for r in "$oa" "$fi" "$ld" "$l2"; do grep -q 'failures 0' <<<"$r" || echo "  (failures: $r)"; done
	last_ld=$ld
done

echo "-- what a login pays to open the LDAP store (libldap, the same slapd, ${logins} each)"
bl=$("$build/bench/bench_ldap" "$SLAPD_URI" "$SLAPD_BIND_DN" "$SLAPD_BIND_PW_FILE" \
	"ctUser=user0,ou=users,$base" "$logins")
echo "$bl"
cb=$(awk '/^connect_bind /{print $7}' <<<"$bl")
rt=$(awk '/^read /{print $7}' <<<"$bl")
awk -v l="$(p50 "$last_ld")" -v c="$cb" -v r="$rt" 'BEGIN{
	printf "LDAP login p50 %.0f us = %.1f x connect+bind (p50 %.0f us) = %.1f x one read (p50 %.0f us)\n", l, l / c, c, l / r, r
}'

echo "-- certificate step through PAM: files store, LDAP store on a host without the issuing store"
user=$(id -un)
revoked=${BENCH_REVOKED:-1000}
certs_conf() {
	cat <<CONF
attributes: { source = "passwd"; };
access_groups = ( { name = "default"; } );
targets = ( { name = "default"; access_group = "default"; template = "client";
              subject = "CN=%unix_account%"; lifetime = 3600; } );
CONF
}
mkdir -m 0700 "$work/cfiles" "$work/ca" "$work/host"
{ printf 'store: { path = "%s/cfiles"; };\notp: { hotp_lookahead = 10; };\n' "$work"; certs_conf; } \
	>"$work/cfiles.conf"
# the CA host (its keys in ca/) and a host (store.path host/: the OTP key file only)
for who in ca host; do
	{ sed "s|path = \"$work/lpath\"|path = \"$work/$who\"|" "$work/ldap.conf"; certs_conf; } \
		>"$work/$who.conf"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem" 2>/dev/null
openssl pkey -in "$work/key.pem" -pubout -out "$work/pub.pem"
secret_b32=$(printf %s "$secret_hex" | xxd -r -p | base32)
for st in cfiles ca; do
	adm() { "$build/certtoken-admin" -c "$work/$st.conf" "$@"; }
	adm ca init default >/dev/null
	adm ca export default >"$work/$st-ca.pem"
	adm token init --user "$user" --type hotp --secret "$secret_b32" >/dev/null
	adm issue --user "$user" --target default --pubkey "$work/pub.pem" >"$work/$st-cert.pem"
done
cp "$work/ca/secret.key" "$work/host/secret.key"
# other certificates' revocations: the step looks up its own serial alone
for ((i = 0; i < revoked; i++)); do
	printf 'dn: ctCertSerial=%s,ou=revoked,%s\nobjectClass: ctRevocation\nctCertSerial: %s\n' \
		"$(printf 'AB%06X' "$i")" "$base" "$(printf 'AB%06X' "$i")"
	printf 'ctGroup: default\nctRevokedAt: 20251205000000Z\nctRevocationReason: 0\n\n'
done >"$work/revoked.ldif"
[ "$revoked" = 0 ] || slapd_load "$work/revoked.ldif"
oathtool --hotp -c 0 -w $((logins - 1)) "$secret_hex" >"$work/codes"
echo "auth required $build/.libs/pam_certtoken.so config=$work/cfiles.conf" >"$work/pam.d/cfiles"
echo "auth required $build/.libs/pam_certtoken.so config=$work/host.conf" >"$work/pam.d/chost"
cf=$("$build/bench/bench_login" "$work/pam.d" cfiles "$user" "$work/codes" "$work/key.pem" \
	"$work/cfiles-cert.pem" "$work/cfiles-ca.pem")
cl=$("$build/bench/bench_login" "$work/pam.d" chost "$user" "$work/codes" "$work/key.pem" \
	"$work/ca-cert.pem" "$work/ca-ca.pem")
echo "files: $(grep '^pam_cert_step' <<<"$cf")"
echo "ldap:  $(grep '^pam_cert_step' <<<"$cl")   ($revoked other revocations in the directory)"
echo "$cl" | grep '^raw_verify'
awk -v f="$(awk '/^pam_cert_step/{print $7}' <<<"$cf")" -v l="$(awk '/^pam_cert_step/{print $7}' <<<"$cl")" \
	-v q="$(awk '/^pam_cert_step/{print $9}' <<<"$cl")" -v r="$(awk '/^raw_verify_decode /{print $7}' <<<"$cl")" 'BEGIN{
	printf "certificate step on LDAP p50 %.0f us, p99 %.0f us: %.2f x files (p50 %.0f us), %.2f x raw verification decoding PEM (p50 %.0f us)\n", l, q, l / f, f, l / r, r
}'
