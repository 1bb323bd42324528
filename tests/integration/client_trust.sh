#!/bin/bash
# certtoken-enroll checks the service before it sends anything or prompts:
# the socket path must be a socket (not a symbolic link) owned by root, and
# the process listening on it must run as root (SO_PEERCRED).  A fake
# service here, run as nobody by setpriv, answers a request with an OTP
# prompt as certtokend would and logs every byte it receives; the client
# must exit 69 with one line naming the path, before any prompt, and the
# fake must receive nothing.  No slapd and no certtokend are needed.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/common.sh"

ENROLL=$top_builddir/certtoken-enroll
[ "$(id -u)" = 0 ] || skip_all "needs root (runs a fake service as nobody, chowns its socket)"
[ -x "$ENROLL" ] || skip_all "not built"
command -v setpriv >/dev/null || skip_all "setpriv is not installed"
command -v setsid >/dev/null || skip_all "setsid is not installed"
command -v perl >/dev/null || skip_all "perl is not installed"
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
NOBODY=$(id -u nobody)
NOGROUP=$(id -gn nobody)

U=cttrust$$
make_user "$U" /usr/sbin/nologin "Trust Tester" # $T becomes 0711
mkdir -m 0755 "$T/fake"
chown nobody: "$T/fake"
F=$T/fake

# The fake service: listen on $1, log "connection: N bytes" to $2 for each
# client; any request gets a PAM prompt (echo off) back, as from certtokend.
# A client silent for $3 seconds (default 3) is dropped, as certtokend does.
cat >"$T/fake.pl" <<'PERL'
use strict;
use IO::Socket::UNIX;
use IO::Select;
my ($path, $log, $idle) = @ARGV;
$idle ||= 3;
umask 0;
my $srv = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $path, Listen => 5)
    or die "listen on $path: $!";
my $prompt = pack('C', 1) . "One-time password: ";
my $conv = pack('CC', 1, 0x81) . pack('Cn', 4, length $prompt) . $prompt;
while (my $c = $srv->accept) {
	my ($got, $buf) = (0, '');
	my $sel = IO::Select->new($c);
	while ($sel->can_read($idle)) {
		my $n = sysread($c, $buf, 65536);
		last unless $n;
		$got += $n;
		syswrite($c, pack('N', length $conv) . $conv);
	}
	open(my $l, '>>', $log) or die;
	print $l "connection: $got bytes\n";
	close $l;
	close $c;
}
PERL
chmod 0644 "$T/fake.pl"
FAKES=""
stop_fakes() { local p; for p in $FAKES; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
at_exit stop_fakes
# fake_start SOCKET [root [IDLE]]: a fake service on SOCKET, as nobody unless "root"
fake_start() {
	if [ "${2:-}" = root ]; then
		perl "$T/fake.pl" "$1" "$1.log" "${3:-}" 2>>"$T/fake.err" &
	else
		setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups \
			perl "$T/fake.pl" "$1" "$1.log" 2>>"$T/fake.err" &
	fi
	FAKES="$FAKES $!"
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}
# bytes_logged LOG: the total of bytes the fake received (0 without a log)
bytes_logged() { awk '{n += $2} END {print n + 0}' "$1" 2>/dev/null || echo 0; }
# wait_log LOG N: until LOG has N lines (the fake logs when a client is gone)
wait_log() { for _ in $(seq 100); do [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0; sleep 0.05; done; return 1; }
# client SOCKET ARGS...: certtoken-enroll as the test user, without a
# controlling terminal (its prompts go to stderr, captured in $ERR), with
# an OTP and two PINs on standard input
client() {
	local s=$1; shift
	printf '123456\n1234 5678\n1234 5678\n' | setsid -w setpriv --reuid "$U" --regid "$U" \
		--clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin \
		"$ENROLL" --socket "$s" "$@" >"$OUT" 2>"$ERR"
}
# refused DESC SOCKET WHY ARGS...: exit 69, one line on stderr naming
# SOCKET and matching WHY, no prompt
refused() {
	local desc=$1 s=$2 why=$3 rc; shift 3
	client "$s" "$@"; rc=$?
	check "$desc: exit 69" test "$rc" = 69
	grep_ok "$desc: says why, naming the path" "^certtoken-enroll: refusing the service at $s: $why\$" "$ERR"
	check "$desc: one line and no prompt before it" test "$(wc -l <"$ERR")" = 1
	grep_not "$desc: no OTP or PIN prompt" "password|PIN" "$ERR"
}

# --- control: a root service gets the request and its prompt is shown -------------------
ROOTSOCK=$F/root.sock
check "a fake service running as root listens" fake_start "$ROOTSOCK" root
check "...its socket is owned by root" test "$(stat -c %u "$ROOTSOCK")" = 0
client "$ROOTSOCK" enroll
grep_ok "control: with a root service, the client prompts for the OTP" "^One-time password: " "$ERR"
wait_log "$ROOTSOCK.log" 1
check "control: ...and the fake service receives the request" test "$(bytes_logged "$ROOTSOCK.log")" -gt 0

# --- a service run by an unprivileged user on its own socket --------------------------------
SOCK=$F/enroll.sock
check "a fake service running as nobody listens" fake_start "$SOCK"
check "...its socket is owned by nobody" test "$(stat -c %u "$SOCK")" = "$NOBODY"
WHY="the socket is owned by uid $NOBODY, not root"
refused "enroll to nobody's socket" "$SOCK" "$WHY" enroll
refused "keygen --pin to nobody's socket" "$SOCK" "$WHY" keygen --pin --out "$T/home/k.p12"
check "keygen --pin to nobody's socket: no PKCS#12 written" test ! -e "$T/home/k.p12"
refused "status to nobody's socket" "$SOCK" "$WHY" status
refused "fetch to nobody's socket" "$SOCK" "$WHY" fetch T1
check "nobody's service got no connection at all" test ! -s "$SOCK.log"

# --- a root-owned socket whose listener is not root -------------------------------------------
# (bound by nobody, then chowned by root: the file looks right, the peer does not)
PSOCK=$F/peer.sock
check "a second fake service running as nobody listens" fake_start "$PSOCK"
chown root:root "$PSOCK"
check "...its socket now belongs to root" test "$(stat -c %u "$PSOCK")" = 0
WHY="it runs as uid $NOBODY, not root"
refused "enroll to a root socket served by nobody" "$PSOCK" "$WHY" enroll
refused "keygen --pin to a root socket served by nobody" "$PSOCK" "$WHY" keygen --pin --out "$T/home/k.p12"
refused "status to a root socket served by nobody" "$PSOCK" "$WHY" status
check "the service saw the three connections close" wait_log "$PSOCK.log" 3
check "...without receiving a byte" test "$(bytes_logged "$PSOCK.log")" = 0

# --- what is not a socket -------------------------------------------------------------------
: >"$T/run.file"
chmod 0666 "$T/run.file"
refused "a regular file" "$T/run.file" "not a socket" enroll
mkdir -m 0755 "$T/run.dir"
refused "a directory" "$T/run.dir" "not a socket" status
ln -s "$ROOTSOCK" "$T/run.link"
refused "a symbolic link to a root service's socket" "$T/run.link" "a symbolic link, not a socket" enroll
mkfifo -m 0666 "$T/run.fifo"
refused "a named pipe" "$T/run.fifo" "not a socket" keygen --pin --out "$T/home/k.p12"
check "the root service got nothing through the symbolic link" test "$(wc -l <"$ROOTSOCK.log")" = 1

# --- a PIN typed slowly: the service dropped the idle connection, the client connects again ---
SLOW=$F/slow.sock
check "a fake root service that drops clients idle for 1 s listens" fake_start "$SLOW" root 1
{ sleep 2; printf '1234 5678\n1234 5678\n123456\n'; } | setsid -w setpriv --reuid "$U" --regid "$U" \
	--clear-groups env -i HOME="$T/home" PATH=/usr/bin:/bin \
	"$ENROLL" --socket "$SLOW" keygen --pin --out "$T/home/slow.p12" >"$OUT" 2>"$ERR"
grep_ok "slow PIN: the PIN is asked" "PIN for the PKCS#12" "$ERR"
grep_ok "slow PIN: ...and the request reaches the service (its OTP prompt is shown)" "One-time password: " "$ERR"
grep_not "slow PIN: no 'closed the connection'" "closed the connection" "$ERR"
wait_log "$SLOW.log" 2
check "slow PIN: the first connection was dropped unused, the second carried the request" \
	test "$(head -1 "$SLOW.log")" = "connection: 0 bytes" -a "$(bytes_logged "$SLOW.log")" -gt 0

# --- nothing there: the message and status are as before ----------------------------------------
client "$F/none.sock" status
check "no socket: exit 69" test $? = 69
grep_ok "no socket: says the service is not running" "not running \\(nothing listens on $F/none.sock\\)" "$ERR"
client "$F/none.sock" keygen --pin --out "$T/home/k.p12"
check "no socket: keygen --pin exits 69 before asking for the PIN" test $? = 69
grep_not "no socket: ...no PIN prompt" "PIN" "$ERR"
check "the fake services logged no error" test ! -s "$T/fake.err"

tap_done
