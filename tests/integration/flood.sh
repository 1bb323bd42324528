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

# --- enrollments abandoned at the OTP prompt, as fast as one client can ------
# Each PAM conversation writes lines of its own (libpam's, the module's)
# that certtokend cannot rate-limit: a uid may start PAM_BURST (10) at once,
# then one every PAM_REFILL_S (6) s, so in ENROLL_FLOOD_S s at most
# 10 + ENROLL_FLOOD_S / 6 + 1 conversations run; beyond that the service
# answers 69 before PAM starts, and its own lines (refusals, abandoned
# conversations) go through the per-uid limit (20 lines per 10 s).
ENROLL_FLOOD_S=10
CONV_MAX=$((10 + ENROLL_FLOOD_S / 6 + 1))
ENROLL_LOG_LINES=120 # 12 conversations x 3 lines, 2 windows of 20 lines, the victim's
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=flood \
	-keyout "$T/flood.key" -out "$T/flood.pem" 2>/dev/null
openssl req -in "$T/flood.pem" -outform DER -out "$T/flood.der"
chmod 0644 "$T/flood.pem" "$T/flood.der"
# the first flood's uid window has been summed up; start from a clean log count
lines0=$(wc -l <"$T/daemon.log")
as_flooder "$FLOOD" "$SOCK" "$ENROLL_FLOOD_S" 8 "$T/flood.der" >"$T/flood.out" 2>&1 &
FPID=$!
sleep 2
worst=0 failed=0
for i in 1 2 3; do
	enroll_ms || { failed=$((failed + 1)); diag <"$ERR"; }
	[ "$ms" -gt "$worst" ] && worst=$ms
	sleep 0.3
done
check "during the enrollment flood the victim's 3 enrollments succeed" test "$failed" = 0
diag <<<"victim enrollment during the enrollment flood: at most $worst ms (limit $VICTIM_MS ms)"
check "...each within $VICTIM_MS ms (took at most $worst ms)" test "$worst" -lt "$VICTIM_MS"
wait "$FPID"
as_flooder "$ENROLL" --socket "$SOCK" request --csr "$T/flood.pem" </dev/null >"$OUT" 2>"$ERR"
rc=$?
lines=$(($(wc -l <"$T/daemon.log") - lines0))
diag <"$T/flood.out"
abandoned=$(tail -n +"$((lines0 + 1))" "$T/daemon.log" | grep -c "for user $F (uid $FUID) abandoned during authentication")
over=$(tail -n +"$((lines0 + 1))" "$T/daemon.log" | grep -c "refused for user $F (uid $FUID): too many authentications")
# the PAM module says once per conversation that no OTP was entered
convs=$(tail -n +"$((lines0 + 1))" "$T/daemon.log" | grep -c "no OTP entered.*user=$F ")
diag <<<"enrollment flood of $ENROLL_FLOOD_S s: log +$lines lines; $convs PAM conversations; $abandoned abandoned and $over over-budget lines logged (the rest suppressed)"
check "the enrollment flood made connections" grep -Eq '^connections [0-9]{2,}' "$T/flood.out"
check "the log grew by fewer than $ENROLL_LOG_LINES lines during the $ENROLL_FLOOD_S s enrollment flood ($lines)" \
	test "$lines" -lt "$ENROLL_LOG_LINES"
check "at most $CONV_MAX PAM conversations ran for the flooder ($convs)" test "$convs" -le "$CONV_MAX"
check "...and at least one was abandoned at the prompt" test "$convs" -ge 1
check "over its budget the flooder is answered 69" test "$rc" = 69
grep_ok "...with one line that says why" "too many authentications from your uid \(10 at once, then one every 6 s\); try again in [0-9]+ s" "$ERR"
check "...and only that line" test "$(wc -l <"$ERR")" = 1
grep_ok "the over-budget refusals are logged (through the per-uid limit)" \
	"enrollment refused for user $F \(uid $FUID\): too many authentications" "$T/daemon.log"
check "after the enrollment flood the victim enrolls again" enroll_ms
check "the service is still running" kill -0 "$DPID"

# --- start-up: a task limit (TasksMax, the cgroup's pids.max) below what
# max_clients needs (3 x 16 + 64 = 112) is said in the log -------------------
cg_base=
if [ -d /sys/fs/cgroup/pids ]; then
	cg_base=/sys/fs/cgroup/pids$(sed -n 's/^[0-9]*:pids://p' /proc/self/cgroup)
elif grep -qw pids /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
	cg_base=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
fi
CG=${cg_base%/}/ctflood$$
if [ -n "$cg_base" ] && mkdir "$CG" 2>/dev/null && echo 40 >"$CG/pids.max"; then
	rm_cg() { rmdir "$CG" 2>/dev/null; }
	at_exit rm_cg
	: >"$T/limited.log"
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
		"$DAEMON" -c "$T/ct.conf" --socket "$T/run/limited.sock" --pam-dir "$T/pam.d" --foreground \
		>>"$T/limited.log" 2>&1 &
	LPID=$!
	for _ in $(seq 100); do [ -S "$T/run/limited.sock" ] && break; sleep 0.05; done
	kill "$LPID" 2>/dev/null
	wait "$LPID" 2>/dev/null
	grep_ok "in a cgroup with pids.max 40, start-up says the task limit is too low" \
		"tasks limited to 40 \(cgroup pids.max\); 16 clients may need 112 \(raise TasksMax\)" "$T/limited.log"
	grep_not "...and nothing about it without such a limit" "raise TasksMax" "$T/daemon.log"
else
	ok "task limit at start-up # SKIP no pids cgroup to make here"
	ok "task limit at start-up # SKIP no pids cgroup to make here"
fi

tap_done
