#!/bin/bash
# OTP login latency through the real PAM stack, pam_certtoken beside pam_oath,
# at 1, 1,000 and 100,000 users, measured in the same run.  Both stores live
# on tmpfs (/dev/shm) so the comparison is of the modules, not the disk.
# The benchmarked user is resolvable through NSS, as a real user is:
# nss_wrapper (LD_PRELOAD) serves a passwd file that holds it, for both
# modules alike; no system account is created.  That file holds only root
# and the benchmarked user, so the name service costs the same at every
# user count: what grows with the count is each module's own store.
#   bench/pam_otp.sh BUILDDIR [USER_COUNTS...]
set -euo pipefail
# BUILDDIR may be relative: made absolute, as libpam would look for a
# relative module path in its own directory
build=$(cd "${1:?usage: bench/pam_otp.sh BUILDDIR}" && pwd)
shift
counts=${*:-1 1000 100000}
logins=${BENCH_LOGINS:-2000}
secret_hex=3132333435363738393031323334353637383930
oath=$(find /lib /usr/lib -name pam_oath.so -path '*security*' 2>/dev/null | head -n1)
[ -n "$oath" ] || { echo "pam_oath.so not found (Debian package libpam-oath)"; exit 1; }
nsswrap=$(find /usr/lib -name libnss_wrapper.so 2>/dev/null | head -n1)
[ -n "$nsswrap" ] || { echo "libnss_wrapper.so not found (Debian package libnss-wrapper)"; exit 1; }
work=$(mktemp -d /dev/shm/certtoken-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
mkdir "$work/pam.d"
# nss CMD...: CMD with the users of $work/passwd resolvable through NSS
nss() { LD_PRELOAD=$nsswrap NSS_WRAPPER_PASSWD=$work/passwd NSS_WRAPPER_GROUP=$work/group "$@"; }

# the benchmarked user is the last one: the worst case for a linear scan
oathtool --hotp -c 0 -w $((logins - 1)) "$secret_hex" >"$work/codes"
printf '%-10s %-14s %10s %10s %12s\n' users module p50_us p99_us ratio_p50
for n in $counts; do
	user=user$((n - 1))
	printf 'root:x:0:0:root:/root:/bin/sh\n%s:x:61000:61000:Bench:/nonexistent:/bin/false\n' \
		"$user" >"$work/passwd"
	printf 'root:x:0:\n%s:x:61000:\n' "$user" >"$work/group"
	[ "$(nss getent passwd "$user" | cut -d: -f3)" = 61000 ] ||
		{ echo "bench/pam_otp.sh: $user is not resolvable through nss_wrapper"; exit 1; }
	rm -rf "$work/store" "$work/usersfile"
	mkdir -m 0700 "$work/store"
	"$build/bench/bench_populate" "$work/store" "$n" "$secret_hex"
	printf 'store: { path = "%s/store"; };\notp: { hotp_lookahead = 10; };\n' "$work" >"$work/ct.conf"
	echo "auth required $build/.libs/pam_certtoken.so otp config=$work/ct.conf" >"$work/pam.d/ct"
	ct=$(nss "$build/bench/bench_pam" "$work/pam.d" ct "$user" "$work/codes")
	awk -v n="$n" 'BEGIN{for(i=0;i<n;i++) printf "HOTP user%d - %s 0\n", i, "'"$secret_hex"'"}' >"$work/usersfile"
	chmod 0600 "$work/usersfile"
	echo "auth required $oath usersfile=$work/usersfile window=10" >"$work/pam.d/oath"
	oa=$(nss "$build/bench/bench_pam" "$work/pam.d" oath "$user" "$work/codes")
	ct50=$(echo "$ct" | awk '{print $6}'); ct99=$(echo "$ct" | awk '{print $8}')
	oa50=$(echo "$oa" | awk '{print $6}'); oa99=$(echo "$oa" | awk '{print $8}')
	printf '%-10s %-14s %10s %10s %12s\n' "$n" pam_certtoken "$ct50" "$ct99" \
		"$(awk -v a="$ct50" -v b="$oa50" 'BEGIN{printf "%.4f", a/b}')"
	printf '%-10s %-14s %10s %10s %12s\n' "$n" pam_oath "$oa50" "$oa99" 1.00
	echo "$ct" | grep -q 'failures 0' || echo "  (pam_certtoken: $ct)"
	echo "$oa" | grep -q 'failures 0' || echo "  (pam_oath: $oa)"
done
