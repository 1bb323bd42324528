# A throwaway OpenSSH server for the end-to-end tests (sourced by bash
# scripts after tests/lib/tap.sh and tests/lib/common.sh).
#
#   sshd_require            skip_all unless this can run here: root, the
#                           sshd privilege-separation user, sshd, ssh,
#                           ssh-keygen, expect and pam_wrapper.  Call it
#                           before the first check.
#   sshd_start SERVICE_DIR  start the real /usr/sbin/sshd on a free port of
#                           127.0.0.1 under pam_wrapper, so that it runs the
#                           PAM stacks in SERVICE_DIR, with its own
#                           configuration, host key, pidfile and log in
#                           $T/sshd; wait until it listens; register
#                           sshd_stop with at_exit; and set
#       SSHD_PORT           the port
#       SSHD_LOG            sshd's log (-E), which also collects the stderr of
#                           sshd, pam_wrapper and the PAM modules
#       SSHD_PIDFILE        sshd's pidfile
#                           SERVICE_DIR must hold `sshd`, the stack under test
#                           (sshd's PAM service name is its program name);
#                           `other` (deny everything) is written if missing.
#                           pam_wrapper copies SERVICE_DIR in every new sshd
#                           process, so an edit takes effect at the next
#                           connection.  Returns non-zero, with the reason on
#                           stderr, if sshd does not come up.
#   sshd_stop               stop the listener by its pidfile and wait until it
#                           is gone, then end the connections it left behind
#                           and remove pam_wrapper's copies of SERVICE_DIR from
#                           /tmp.  Safe to call twice.
#   SSHD_CONFIG_FIRST       set before sshd_start: lines that go first in
#                           the configuration (sshd takes an option's first
#                           value, so these override the defaults below)
#   SSH_LOGIN               the expect driver for the client side
#                           (tests/lib/ssh_login.exp; usage there)
#
# Nothing under /etc is read or written, and the system sshd is neither used
# nor needed.  /run/sshd, sshd's compiled-in privilege-separation directory,
# is created (empty, root, 0755, as openssh-server's tmpfiles.d does) if it is
# missing, and left in place: another sshd may have started using it since.
#
# Logging: with keyboard-interactive, sshd runs the auth and the account
# stacks in a forked child that empties its environment, so pam_wrapper's
# PAM_WRAPPER_DEBUGLEVEL is unset there.  Of the modules' pam_syslog lines from
# those stacks only LOG_ERR and worse reach SSHD_LOG (pam_wrapper replaces
# pam_syslog and prints them as "PWRAP_ERROR(...) - SYSLOG(3): ..."); the rest
# are dropped.  sshd's own lines record what the stacks decided: "Accepted
# keyboard-interactive/pam for USER", "PAM: Authentication failure for USER",
# "Failed keyboard-interactive/pam for USER", and "PAM: User account has
# expired for USER" for any refusal of the account stack.  setcred and the
# session stack run in sshd's monitor, where LOG_WARNING lines show up too.

SSHD_BIN=/usr/sbin/sshd
SSH_LOGIN=$top_srcdir/tests/lib/ssh_login.exp
# a file put in SERVICE_DIR: pam_wrapper copies it with the stacks, which marks
# its copies in /tmp as ours
SSHD_MARK=.certtoken-sshd-test
SSHD_PORT=""
SSHD_LOG=""
SSHD_PIDFILE=""
SSHD_DIR=""
SSHD_JOB=""
SSHD_AT_EXIT=""

# sshd_pam_wrapper: print the path of libpam_wrapper.so, from pkg-config or
# next to the libpam that sshd is linked with.
sshd_pam_wrapper() {
	local lib dir
	lib=$(pkg-config --libs pam_wrapper 2>/dev/null | tr ' ' '\n' | grep '/libpam_wrapper\.so$' | head -n1)
	if [ -z "$lib" ] || [ ! -f "$lib" ]; then
		dir=$(ldd "$SSHD_BIN" 2>/dev/null | awk '$1 ~ /^libpam\.so/ { print $3 }')
		dir=$(dirname "${dir:-/nonexistent/x}")
		lib=""
		for dir in "$dir" "/usr$dir"; do
			[ -f "$dir/libpam_wrapper.so" ] && { lib=$dir/libpam_wrapper.so; break; }
		done
	fi
	[ -n "$lib" ] && [ -f "$lib" ] || return 1
	printf '%s\n' "$lib"
}

sshd_require() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (runs sshd, creates a user)"
	[ -x "$SSHD_BIN" ] || skip_all "$SSHD_BIN is not installed (openssh-server)"
	getent passwd sshd >/dev/null || skip_all "no sshd privilege-separation user"
	command -v ssh >/dev/null || skip_all "ssh is not installed (openssh-client)"
	command -v ssh-keygen >/dev/null || skip_all "ssh-keygen is not installed"
	command -v expect >/dev/null || skip_all "expect is not installed"
	SSHD_PWRAP=$(sshd_pam_wrapper) || skip_all "libpam_wrapper.so is not installed (libpam-wrapper)"
}


# sshd_alive PID: PID is a process that has not exited (zombies have).
sshd_alive() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# sshd_ours PID: PID is an sshd whose stderr is our log, so one we started
# or one of its children.
sshd_ours() {
	local comm
	[ -n "$SSHD_LOG" ] && read -r comm 2>/dev/null <"/proc/$1/comm" && [ "$comm" = sshd ] &&
		[ "$(readlink "/proc/$1/fd/2" 2>/dev/null)" = "$SSHD_LOG" ]
}

# sshd_wait_gone PID...: wait up to ~5 s for the processes to exit, then
# SIGKILL whatever is left.
sshd_wait_gone() {
	local pid left
	for _ in $(seq 1 100); do
		left=""
		for pid in "$@"; do sshd_alive "$pid" && left="$left $pid"; done
		[ -n "$left" ] || return 0
		sleep 0.05
	done
	for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
	return 0
}

sshd_write_config() {
	local dir=$1 port=$2
	cat >"$dir/sshd_config" <<CONF
# generated by tests/lib/sshd.sh for one test run
${SSHD_CONFIG_FIRST:-}
ListenAddress 127.0.0.1:$port
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
AuthenticationMethods keyboard-interactive
PasswordAuthentication no
PubkeyAuthentication no
HostbasedAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
UseDNS no
LogLevel VERBOSE
LoginGraceTime 20
DisableForwarding yes
PrintMotd no
PrintLastLog no
CONF
}

# sshd_wait_up PORT: wait (up to ~5 s) until our sshd has written its pidfile
# (it does so after binding) and listens on PORT; fail early if it exited.
sshd_wait_up() {
	local port=$1 pid
	for _ in $(seq 1 100); do
		sshd_alive "$SSHD_JOB" || return 1
		if read -r pid 2>/dev/null <"$SSHD_PIDFILE" && [ "$pid" = "$SSHD_JOB" ]; then
			if ! command -v ss >/dev/null ||
				[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
				return 0
			fi
		fi
		sleep 0.05
	done
	return 1
}

sshd_start() {
	local svc=$1 port started=""
	if [ -z "$svc" ] || [ ! -f "$svc/sshd" ]; then
		echo "sshd_start: no PAM stack $svc/sshd" >&2
		return 1
	fi
	[ -n "${SSHD_PWRAP:-}" ] || sshd_require
	svc=$(cd "$svc" && pwd)
	SSHD_DIR=$T/sshd
	SSHD_LOG=$SSHD_DIR/sshd.log
	SSHD_PIDFILE=$SSHD_DIR/sshd.pid
	[ -e "$svc/other" ] || printf '%s\n' "auth required pam_deny.so" "account required pam_deny.so" \
		"password required pam_deny.so" "session required pam_deny.so" >"$svc/other"
	printf '%s\n' "$SSHD_DIR" >"$svc/$SSHD_MARK"
	[ -d "$SSHD_DIR" ] || mkdir -m 0700 "$SSHD_DIR" || return 1
	if [ ! -f "$SSHD_DIR/host_ed25519" ]; then
		ssh-keygen -q -t ed25519 -N '' -C '' -f "$SSHD_DIR/host_ed25519" </dev/null >/dev/null ||
			{ echo "sshd_start: ssh-keygen failed" >&2; return 1; }
	fi
	chmod 0600 "$SSHD_DIR/host_ed25519"
	[ -d /run/sshd ] || mkdir -m 0755 /run/sshd || return 1
	[ -n "$SSHD_AT_EXIT" ] || { at_exit sshd_stop; SSHD_AT_EXIT=1; }
	# a port may be taken between the probe and the bind: retry a few times
	for _ in 1 2 3 4 5; do
		port=$(free_port) || break
		sshd_write_config "$SSHD_DIR" "$port"
		if ! "$SSHD_BIN" -t -f "$SSHD_DIR/sshd_config" >"$SSHD_DIR/test.log" 2>&1; then
			echo "sshd_start: sshd -t rejects $SSHD_DIR/sshd_config:" >&2
			cat "$SSHD_DIR/test.log" >&2
			return 1
		fi
		rm -f "$SSHD_PIDFILE"
		# sshd appends its log (-E) to the file its stderr goes to, where
		# pam_wrapper and the modules write
		# shellcheck disable=SC2094
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin PAM_WRAPPER=1 \
			PAM_WRAPPER_SERVICE_DIR="$svc" PAM_WRAPPER_DEBUGLEVEL=1 LD_PRELOAD="$SSHD_PWRAP" \
			"$SSHD_BIN" -D -f "$SSHD_DIR/sshd_config" -E "$SSHD_LOG" \
			</dev/null >>"$SSHD_LOG" 2>&1 &
		SSHD_JOB=$!
		if sshd_wait_up "$port"; then
			started=1
			break
		fi
		sshd_stop_job
		grep -q "Cannot bind any address" "$SSHD_LOG" || break
	done
	if [ -z "$started" ]; then
		echo "sshd_start: sshd did not start:" >&2
		tail -n 20 "$SSHD_LOG" >&2
		return 1
	fi
	SSHD_PORT=$port
	export SSHD_PORT SSHD_LOG SSHD_PIDFILE
}

# sshd_stop_job: end and reap the process sshd_start ran (the listener, or
# one that exited before writing its pidfile).
sshd_stop_job() {
	[ -n "$SSHD_JOB" ] || return 0
	sshd_ours "$SSHD_JOB" && kill -TERM "$SSHD_JOB" 2>/dev/null
	sshd_wait_gone "$SSHD_JOB"
	wait "$SSHD_JOB" 2>/dev/null
	SSHD_JOB=""
}

# sshd_connections: print the PIDs of our sshd processes other than the
# listener: the processes of connections (monitor, [net] and [pam] children).
sshd_connections() {
	local p pid listener=""
	read -r listener 2>/dev/null <"$SSHD_PIDFILE"
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" != "$listener" ] && [ "$pid" != "$SSHD_JOB" ] && sshd_ours "$pid" && echo "$pid"
	done
}

# sshd_end_connections: let open connections finish (a client that has gone
# away ends its server side within moments), then SIGTERM what is left.  The
# listener must still run: it reaps them.  An sshd orphaned to PID 1 stays a
# zombie on a machine whose init does not reap (as on this test machine).
sshd_end_connections() {
	local procs quiet=0
	for _ in $(seq 1 60); do
		procs=$(sshd_connections)
		if [ -z "$procs" ]; then
			quiet=$((quiet + 1))
			[ "$quiet" -lt 2 ] || return 0
		else
			quiet=0
		fi
		sleep 0.05
	done
	# shellcheck disable=SC2086 # a list of PIDs
	kill -TERM $procs 2>/dev/null
	# shellcheck disable=SC2086
	sshd_wait_gone $procs
}

sshd_stop() {
	local pid d procs
	[ -n "$SSHD_LOG" ] || return 0
	if read -r pid 2>/dev/null <"$SSHD_PIDFILE" && sshd_ours "$pid"; then
		kill -CONT "$pid" 2>/dev/null # in case a test froze it
		sshd_end_connections
		# the listener, by its pidfile
		kill -TERM "$pid" 2>/dev/null
		sshd_wait_gone "$pid"
	fi
	rm -f "$SSHD_PIDFILE"
	sshd_stop_job
	# anything still there now has no parent to reap it
	procs=$(sshd_connections)
	if [ -n "$procs" ]; then
		# shellcheck disable=SC2086 # a list of PIDs
		kill -TERM $procs 2>/dev/null
		# shellcheck disable=SC2086
		sshd_wait_gone $procs
	fi
	# pam_wrapper's copies of the service directory: every sshd process makes
	# one, and sshd exits with _exit(), so pam_wrapper never removes them
	for d in /tmp/pam.?; do
		[ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] || continue
		[ "$(cat "$d/$SSHD_MARK" 2>/dev/null)" = "$SSHD_DIR" ] || continue
		read -r pid 2>/dev/null <"$d/pid" && sshd_alive "$pid" && sshd_ours "$pid" && continue
		rm -rf -- "$d"
	done
	return 0
}
