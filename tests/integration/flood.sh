#!/bin/bash
# certtokend under a flood of connections from one local user: another
# user's enrollment still works within VICTIM_MS, the service's threads and
# open files stay bounded, and its log grows by fewer than LOG_LINES lines
# (refusals and protocol errors are rate-limited per uid, with a summary).
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

DAEMON=$top_builddir/certtokend
ENROLL=$top_builddir/certtoken-enroll
FLOOD=$top_builddir/tests/enroll/flood_client
MODULE=$top_builddir/.libs/pam_certtoken.so
[ "$(id -u)" = 0 ] || skip_all "needs root (creates a user, runs certtokend)"
[ -x "$DAEMON" ] && [ -x "$ENROLL" ] && [ -x "$FLOOD" ] && [ -f "$MODULE" ] || skip_all "not built"
command -v oathtool >/dev/null || skip_all "oathtool is not installed"
command -v setpriv >/dev/null || skip_all "setpriv is not installed"

MAX_CLIENTS=16
FLOOD_S=6       # how long the flood lasts
SLOTS=400       # connections the flooder keeps open at once
VICTIM_MS=2000  # the victim's enrollment must finish within this, during the flood
LOG_LINES=200   # the log grows by fewer lines than this during the flood
# threads: the accept loop, 2 x max_clients connections, 8 refusers
THREADS_MAX=$((1 + 2 * MAX_CLIENTS + 8))

# the flooder: a real unprivileged user; the victim: root, with its own token
F=ctfld$$
make_user "$F" /usr/sbin/nologin "Flood Tester"
FUID=$(id -u "$F")
mkdir -m 0755 "$T/run"
mkdir -m 0700 "$T/roothome"
SOCK=$T/run/enroll.sock
as_flooder() { setpriv --reuid "$F" --regid "$F" --clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin "$@"; }
victim() { env -i HOME="$T/roothome" PATH=/usr/bin:/bin "$ENROLL" --socket "$SOCK" "$@"; }

cat >"$T/ct.conf" <<CONF
store: { path = "$T/store"; };
socket = "$SOCK";
service: { max_clients = $MAX_CLIENTS; max_per_user = 4; timeout = 5; };
attributes: { source = "passwd"; };
otp: { hotp_lookahead = 5; max_fail = 50; };
access_groups = ( { name = "default"; } );
targets = ( { name = "default"; access_group = "default"; template = "client";
              subject = "CN=%unix_account%"; lifetime = 600; } );
CONF
mkdir -m 0700 "$T/pam.d"
M="$MODULE config=$T/ct.conf"
printf '%s\n' "auth required $M otp" "account required $M" "password required pam_deny.so" \
	"session required pam_deny.so" >"$T/pam.d/certtoken-enroll"
printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" >"$T/pam.d/other"
SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
counter=0
next_code() { code=$(oathtool --hotp -b -c "$counter" "$SECRET"); counter=$((counter + 1)); }
"$ADMIN" -c "$T/ct.conf" ca init default >/dev/null
run_status 0 "token init (HOTP) for the victim" \
	"$ADMIN" -c "$T/ct.conf" token init --user root --type hotp --secret "$SECRET"

"$DAEMON" -c "$T/ct.conf" --pam-dir "$T/pam.d" --foreground >>"$T/daemon.log" 2>&1 &
DPID=$!
stop_daemon() { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
at_exit stop_daemon
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
check "certtokend starts" test -S "$SOCK"

# enroll_ms: the victim enrolls; sets $ms to how long it took
enroll_ms() {
	local t0 rc
	next_code
	t0=$(date +%s%N)
	echo "$code" | victim enroll >"$OUT" 2>"$ERR"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	return $rc
}
check "the victim enrolls before the flood" enroll_ms
diag <<<"victim enrollment without a flood: $ms ms"
fds0=$(ls "/proc/$DPID/fd" | wc -l)

# sample the service's threads and open files while the flood runs
sample() {
	local end=$(($(date +%s) + FLOOD_S)) th fd max_th=0 max_fd=0
	while [ "$(date +%s)" -lt "$end" ]; do
		th=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$DPID/status")
		fd=$(ls "/proc/$DPID/fd" | wc -l)
		[ "${th:-0}" -gt $max_th ] && max_th=$th
		[ "$fd" -gt $max_fd ] && max_fd=$fd
		sleep 0.05
	done
	echo "$max_th $max_fd" >"$T/sample"
}

lines0=$(wc -l <"$T/daemon.log")
as_flooder "$FLOOD" "$SOCK" "$FLOOD_S" "$SLOTS" >"$T/flood.out" 2>&1 &
FPID=$!
sample &
SPID=$!
sleep 2
worst=0 failed=0
for i in 1 2 3; do
	enroll_ms || { failed=$((failed + 1)); diag <"$ERR"; }
	[ "$ms" -gt "$worst" ] && worst=$ms
	sleep 0.3
done
check "during the flood the victim's 3 enrollments succeed" test "$failed" = 0
diag <<<"victim enrollment during the flood: at most $worst ms (limit $VICTIM_MS ms)"
check "...each within $VICTIM_MS ms (took at most $worst ms)" test "$worst" -lt "$VICTIM_MS"
wait "$FPID"
wait "$SPID"
lines=$(($(wc -l <"$T/daemon.log") - lines0))
read -r max_th max_fd <"$T/sample"
diag <"$T/flood.out"
diag <<<"during the flood: log +$lines lines, at most $max_th threads, $max_fd open files ($fds0 before)"
check "the flood made connections" grep -Eq '^connections [0-9]{3,}' "$T/flood.out"
check "the log grew by fewer than $LOG_LINES lines during the $FLOOD_S s flood ($lines)" \
	test "$lines" -lt "$LOG_LINES"
check "the service ran at most $THREADS_MAX threads ($max_th)" test "$max_th" -le "$THREADS_MAX"
# each connection holds its socket; a serving one a few store files besides
check "the service held at most $((fds0 + 2 * MAX_CLIENTS + 8 + 2 * MAX_CLIENTS)) open files ($max_fd)" \
	test "$max_fd" -le $((fds0 + 2 * MAX_CLIENTS + 8 + 2 * MAX_CLIENTS))
grep_ok "the flooder's refusals were logged (up to the limit)" "uid $FUID refused: you already have 4 connections" "$T/daemon.log"

# the suppressed lines are summed up once the uid's window (10 s) has passed
for _ in $(seq 80); do
	grep -q "uid $FUID: [0-9]* more refusals and protocol errors suppressed" "$T/daemon.log" && break
	sleep 0.25
done
grep_ok "...and the rest summed up in one line" \
	"uid $FUID: [0-9]+ more refusals and protocol errors suppressed in the last [0-9]+ s" "$T/daemon.log"
check "...once" test "$(grep -c "uid $FUID: [0-9]* more refusals" "$T/daemon.log")" = 1
check "after the flood the victim enrolls again" enroll_ms
# the flooder's silent connections are cut at the deadline (timeout = 5 s)
for _ in $(seq 40); do as_flooder "$ENROLL" --socket "$SOCK" status >/dev/null 2>&1 && break; sleep 0.25; done
run_status 0 "...and the flooder is served again" as_flooder "$ENROLL" --socket "$SOCK" status
check "the service is still running" kill -0 "$DPID"

tap_done
