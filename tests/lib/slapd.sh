# A throwaway slapd for the integration tests (sourced by bash scripts).
#
#   slapd_start DIR [tls]   generate a config in DIR, start slapd on free
#                           loopback ports, create the suffix entry
#                           dc=example,dc=org, and export:
#       SLAPD_URI           ldap://127.0.0.1:PORT
#       SLAPD_LDAPS_URI     ldaps://127.0.0.1:PORT2 (tls mode only)
#       SLAPD_CA            the test CA certificate (tls mode only)
#       SLAPD_PORT          PORT
#       SLAPD_BIND_DN       the rootdn
#       SLAPD_BIND_PW_FILE  a 0600 file holding the rootdn password
#       SLAPD_PIDFILE       slapd's pidfile
#   SLAPD_MAXSIZE           (set before slapd_start) the database map size in
#                           bytes (default 16 MiB)
#   SLAPD_LIMITS            (set before slapd_start) `limits` lines of the database
#   SLAPD_SCHEMA_EXTRA      (set before slapd_start) more schema files to
#                           include, separated by spaces
#   slapd_load LDIF         add entries as the rootdn
#   slapd_freeze/thaw       SIGSTOP/SIGCONT the server (a server that hangs)
#   slapd_stop              stop it and wait (bounded) for it to go away
#
# Register the stop with `at_exit slapd_stop` (tests/lib/common.sh).  The
# system slapd is never used or configured.

. "$(dirname "${BASH_SOURCE[0]}")/net.sh"

SLAPD_BIN=${SLAPD_BIN:-/usr/sbin/slapd}
SLAPD_SUFFIX="dc=example,dc=org"


# slapd_urlencode PATH: percent-encode for an ldapi:// URL.
slapd_urlencode() {
	local s=$1 out="" c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# slapd_make_tls DIR: a test CA and a server certificate for 127.0.0.1/localhost.
slapd_make_tls() {
	local d=$1/tls
	mkdir -p "$d" && chmod 0700 "$d" || return 1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key" 2>/dev/null &&
	openssl req -x509 -new -key "$d/ca.key" -subj "/CN=certtoken test LDAP CA" -days 2 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$d/ca.pem" 2>/dev/null &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/server.key" 2>/dev/null &&
	openssl req -new -key "$d/server.key" -subj "/CN=127.0.0.1" -out "$d/server.csr" 2>/dev/null &&
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
		"subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/server.ext" &&
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
}

# slapd_write_conf DIR TLS: slapd.conf for one mdb database.
slapd_write_conf() {
	local dir=$1 tls=$2 hash s
	hash=$(slappasswd -n -s "$(cat "$dir/rootpw")") || return 1
	{
		for s in core cosine nis inetorgperson; do
			echo "include /etc/ldap/schema/$s.schema"
		done
		for s in ${SLAPD_SCHEMA_EXTRA:-}; do
			echo "include $s"
		done
		echo "modulepath /usr/lib/ldap"
		echo "moduleload back_mdb"
		echo "pidfile $dir/slapd.pid"
		echo "argsfile $dir/slapd.args"
		echo "loglevel 0"
		if [ "$tls" = tls ]; then
			echo "TLSCACertificateFile $dir/tls/ca.pem"
			echo "TLSCertificateFile $dir/tls/server.pem"
			echo "TLSCertificateKeyFile $dir/tls/server.key"
		fi
		echo "database mdb"
		echo "maxsize ${SLAPD_MAXSIZE:-16777216}"
		echo "suffix \"$SLAPD_SUFFIX\""
		echo "rootdn \"$SLAPD_BIND_DN\""
		echo "rootpw $hash"
		echo "directory $dir/db"
		[ -z "${SLAPD_LIMITS:-}" ] || printf '%s\n' "$SLAPD_LIMITS"
		echo "index objectClass,uid eq"
		echo "access to attrs=userPassword"
		echo "	by self write"
		echo "	by anonymous auth"
		echo "	by * none"
		echo "access to *"
		echo "	by * read"
	} >"$dir/slapd.conf" && chmod 0600 "$dir/slapd.conf"
}

# slapd_wait_up: poll until the server answers (bounded, ~5 s).
slapd_wait_up() {
	local i
	for i in $(seq 1 100); do
		if ldapsearch -x -LLL -o nettimeout=1 -H "$SLAPD_URI" -b "" -s base \
			namingContexts >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

slapd_start() {
	local dir=$1 tls=${2:-} port port2="" urls started
	[ -n "$dir" ] || { echo "slapd_start: no directory" >&2; return 1; }
	mkdir -p "$dir/db" && chmod 0700 "$dir" || return 1
	dir=$(cd "$dir" && pwd)
	SLAPD_DIR=$dir
	SLAPD_BIND_DN="cn=admin,$SLAPD_SUFFIX"
	SLAPD_BIND_PW_FILE=$dir/rootpw
	SLAPD_PIDFILE=$dir/slapd.pid
	SLAPD_CA=""
	SLAPD_LDAPS_URI=""
	(umask 077 && openssl rand -hex 16 | tr -d '\n' >"$SLAPD_BIND_PW_FILE") || return 1
	if [ "$tls" = tls ]; then
		slapd_make_tls "$dir" || { echo "slapd_start: cannot make TLS material" >&2; return 1; }
		SLAPD_CA=$dir/tls/ca.pem
	fi
	slapd_write_conf "$dir" "$tls" || return 1
	if ! "$SLAPD_BIN" -Ttest -u -f "$dir/slapd.conf" >"$dir/test.log" 2>&1; then
		echo "slapd_start: slapd -Ttest rejects $dir/slapd.conf:" >&2
		cat "$dir/test.log" >&2
		return 1
	fi
	# a port may be taken between the probe and the bind: retry a few times
	started=""
	for _ in 1 2 3 4 5; do
		port=$(free_port) || return 1
		urls="ldap://127.0.0.1:$port/"
		if [ "$tls" = tls ]; then
			port2=$(free_port) || return 1
			[ "$port2" != "$port" ] || continue
			urls="$urls ldaps://127.0.0.1:$port2/"
		fi
		urls="$urls ldapi://$(slapd_urlencode "$dir/ldapi")"
		if "$SLAPD_BIN" -f "$dir/slapd.conf" -h "$urls" >"$dir/start.log" 2>&1; then
			started=1
			break
		fi
	done
	if [ -z "$started" ]; then
		echo "slapd_start: slapd did not start:" >&2
		cat "$dir/start.log" >&2
		return 1
	fi
	SLAPD_PORT=$port
	SLAPD_URI="ldap://127.0.0.1:$port"
	[ "$tls" = tls ] && SLAPD_LDAPS_URI="ldaps://127.0.0.1:$port2"
	export SLAPD_URI SLAPD_LDAPS_URI SLAPD_CA SLAPD_PORT SLAPD_BIND_DN SLAPD_BIND_PW_FILE \
		SLAPD_PIDFILE SLAPD_DIR
	if ! slapd_wait_up; then
		echo "slapd_start: slapd on $SLAPD_URI does not answer" >&2
		slapd_stop
		return 1
	fi
	printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n' \
		"$SLAPD_SUFFIX" >"$dir/base.ldif"
	slapd_load "$dir/base.ldif"
}

# slapd_load LDIF: add the entries in LDIF as the rootdn.
slapd_load() {
	ldapadd -x -o nettimeout=5 -H "$SLAPD_URI" -D "$SLAPD_BIND_DN" -y "$SLAPD_BIND_PW_FILE" \
		-f "$1" >"$SLAPD_DIR/load.log" 2>&1 || {
		echo "slapd_load: ldapadd $1 failed:" >&2
		cat "$SLAPD_DIR/load.log" >&2
		return 1
	}
}

# slapd_pid: the PID in the pidfile, if that process is still a slapd.
slapd_pid() {
	local pid comm
	[ -n "${SLAPD_PIDFILE:-}" ] && [ -s "$SLAPD_PIDFILE" ] || return 1
	read -r pid <"$SLAPD_PIDFILE" && [ -n "$pid" ] || return 1
	read -r comm <"/proc/$pid/comm" 2>/dev/null && [ "$comm" = slapd ] || return 1
	printf '%s' "$pid"
}

slapd_freeze() { local pid; pid=$(slapd_pid) && kill -STOP "$pid"; }
slapd_thaw() { local pid; pid=$(slapd_pid) && kill -CONT "$pid"; }

# slapd_stop: SIGTERM (after SIGCONT, in case it is frozen), wait up to ~5 s for
# the pidfile to disappear, then SIGKILL.  Safe to call twice.
slapd_stop() {
	local pid i
	if ! pid=$(slapd_pid); then
		[ -z "${SLAPD_PIDFILE:-}" ] || rm -f "$SLAPD_PIDFILE"
		return 0
	fi
	kill -CONT "$pid" 2>/dev/null
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		[ -e "$SLAPD_PIDFILE" ] || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$SLAPD_PIDFILE"
	return 0
}
