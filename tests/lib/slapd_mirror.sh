# Two throwaway slapd in mirror mode for the fleet tests (sourced by bash
# scripts).  Their configuration is examples/slapd/slapd.conf with only the
# host names, paths and secrets replaced, and their entries are
# examples/slapd/base.ldif, so the shipped example is what the tests run.
#
#   slapd_mirror_start DIR  start provider 1 and 2 on free loopback ports
#                           (syncrepl both ways, multiprovider on, serverID 1
#                           and 2, the shipped schema/certtoken.schema), load
#                           the suffix entry and base.ldif on provider 1, give
#                           the identities passwords, wait until provider 2
#                           has them, and export:
#       MIRROR_URI1 MIRROR_URI2      ldap://127.0.0.1:PORT of provider 1 and 2
#       MIRROR_SUFFIX MIRROR_BASE    dc=example,dc=org, ou=certtoken,SUFFIX
#       MIRROR_ROOT_DN MIRROR_ROOT_PW_FILE      the rootdn (replication, loads)
#       MIRROR_CA_DN MIRROR_CA_PW_FILE          the CA host's identity
#       MIRROR_HOST1_DN MIRROR_HOST1_PW_FILE    host identity 1
#       MIRROR_HOST2_DN MIRROR_HOST2_PW_FILE    host identity 2
#     (every password file is 0600)
#   slapd_mirror_load LDIF [N]      ldapadd as the rootdn on provider N (1)
#   slapd_mirror_modify LDIF [N]    ldapmodify as the rootdn on provider N (1)
#   slapd_mirror_wait DN [FILTER [SECONDS]]  poll (bounded, default 5 s) until
#                           both providers hold DN matching FILTER (default:
#                           the entry exists); fails when the time is up
#   slapd_mirror_wait_gone DN [SECONDS]      until neither holds DN
#   slapd_mirror_value N DN ATTR    print ATTR of DN on provider N (as the rootdn)
#   slapd_mirror_freeze N / slapd_mirror_thaw N   SIGSTOP/SIGCONT provider N
#   slapd_mirror_down N     stop provider N (its database stays)
#   slapd_mirror_kill N     SIGKILL provider N (a crash; its database stays)
#   slapd_mirror_detach N   restart provider N from its database without
#                           replication: it answers, with the state it had
#                           (a replica that lags as long as the test wants)
#   slapd_mirror_attach N   restart it in mirror mode again (it catches up)
#   slapd_mirror_stop       stop both (safe to call twice)
#
# Register the stop with `at_exit slapd_mirror_stop`.  The schema is
# $SLAPD_MIRROR_SCHEMA (default: the tree's schema/certtoken.schema).

. "$(dirname "${BASH_SOURCE[0]}")/slapd.sh"

SLAPD_MIRROR_EXAMPLE=${SLAPD_MIRROR_EXAMPLE:-$top_srcdir/examples/slapd}
SLAPD_MIRROR_SCHEMA=${SLAPD_MIRROR_SCHEMA:-$top_srcdir/schema/certtoken.schema}
MIRROR_SUFFIX="dc=example,dc=org"
MIRROR_BASE="ou=certtoken,$MIRROR_SUFFIX"
MIRROR_ROOT_DN="cn=admin,$MIRROR_SUFFIX"
MIRROR_CA_DN="cn=ca-host,$MIRROR_BASE"
MIRROR_HOST1_DN="cn=host1.example.org,ou=hosts,$MIRROR_BASE"
MIRROR_HOST2_DN="cn=host2.example.org,ou=hosts,$MIRROR_BASE"

# slapd_mirror_conf N PORT1 PORT2: DIR/N/slapd.conf from the example.
slapd_mirror_conf() {
	local n=$1 d=$SLAPD_MIRROR_DIR/$1 pw hash left
	pw=$(cat "$MIRROR_ROOT_PW_FILE") && hash=$(slappasswd -n -s "$pw") || return 1
	{
		echo "loglevel 0"
		sed -e "s|/etc/ldap/schema/certtoken.schema|$SLAPD_MIRROR_SCHEMA|" \
			-e "s|ldap://ldap1.example.org/|ldap://127.0.0.1:$2/|g" \
			-e "s|ldap://ldap2.example.org/|ldap://127.0.0.1:$3/|g" \
			-e "s|/run/slapd/|$d/|g" -e "s|/var/lib/ldap|$d/db|" \
			-e "s|^rootpw {SSHA}CHANGE-ME$|rootpw $hash|" \
			-e "s|credentials=CHANGE-ME|credentials=$pw|" \
			"$SLAPD_MIRROR_EXAMPLE/slapd.conf"
	} >"$d/slapd.conf" && chmod 0600 "$d/slapd.conf" || return 1
	# a change to the example that the replacements miss must not go unnoticed
	left=$(grep -nE 'example\.org/|CHANGE-ME|/run/slapd|/var/lib/ldap|/etc/ldap/schema/certtoken' \
		"$d/slapd.conf")
	[ -z "$left" ] || { echo "slapd_mirror: not replaced in the example: $left" >&2; return 1; }
	"$SLAPD_BIN" -Ttest -u -f "$d/slapd.conf" >"$d/test.log" 2>&1 || {
		echo "slapd_mirror: slapd -Ttest rejects $d/slapd.conf:" >&2
		cat "$d/test.log" >&2
		return 1
	}
}

# slapd_mirror_up URI: poll until the server answers (bounded, ~5 s).
slapd_mirror_up() {
	local i
	for i in $(seq 1 100); do
		ldapsearch -x -LLL -o nettimeout=1 -H "$1" -b "" -s base namingContexts \
			>/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# slapd_mirror_try P1 P2: start both on these ports.
slapd_mirror_try() {
	local n port
	for n in 1 2; do
		rm -rf "$SLAPD_MIRROR_DIR/$n/db" && mkdir -p "$SLAPD_MIRROR_DIR/$n/db" || return 1
		slapd_mirror_conf "$n" "$1" "$2" || return 2
	done
	for n in 1 2; do
		[ "$n" = 1 ] && port=$1 || port=$2
		"$SLAPD_BIN" -f "$SLAPD_MIRROR_DIR/$n/slapd.conf" -h "ldap://127.0.0.1:$port/" \
			>"$SLAPD_MIRROR_DIR/$n/start.log" 2>&1 || return 1
	done
	slapd_mirror_up "ldap://127.0.0.1:$1/" && slapd_mirror_up "ldap://127.0.0.1:$2/"
}

# slapd_mirror_passwords: a random password for each identity, set on provider 1.
slapd_mirror_passwords() {
	local who dn f
	for who in CA HOST1 HOST2; do
		dn=MIRROR_${who}_DN f=$SLAPD_MIRROR_DIR/$(echo "$who" | tr A-Z a-z).pw
		(umask 077 && openssl rand -hex 16 | tr -d '\n' >"$f") || return 1
		printf -v "MIRROR_${who}_PW_FILE" '%s' "$f"
		ldappasswd -x -o nettimeout=5 -H "$MIRROR_URI1" -D "$MIRROR_ROOT_DN" \
			-y "$MIRROR_ROOT_PW_FILE" -T "$f" "${!dn}" >/dev/null || return 1
	done
}

slapd_mirror_start() {
	local dir=$1 p1 p2 rc=1
	[ -n "$dir" ] || { echo "slapd_mirror_start: no directory" >&2; return 1; }
	[ -f "$SLAPD_MIRROR_SCHEMA" ] || {
		echo "slapd_mirror_start: no schema $SLAPD_MIRROR_SCHEMA" >&2
		return 1
	}
	mkdir -p "$dir/1" "$dir/2" && chmod 0700 "$dir" || return 1
	SLAPD_MIRROR_DIR=$(cd "$dir" && pwd)
	MIRROR_ROOT_PW_FILE=$SLAPD_MIRROR_DIR/rootpw
	(umask 077 && openssl rand -hex 16 | tr -d '\n' >"$MIRROR_ROOT_PW_FILE") || return 1
	# a port may be taken between the probe and the bind: retry a few times
	for _ in 1 2 3 4 5; do
		p1=$(free_port) && p2=$(free_port) || return 1
		[ "$p1" != "$p2" ] || continue
		slapd_mirror_try "$p1" "$p2"
		rc=$?
		[ "$rc" = 0 ] && break
		slapd_mirror_stop
		[ "$rc" = 2 ] && return 1
	done
	[ "$rc" = 0 ] || {
		echo "slapd_mirror_start: the providers did not start:" >&2
		cat "$SLAPD_MIRROR_DIR"/*/start.log >&2
		return 1
	}
	MIRROR_URI1="ldap://127.0.0.1:$p1"
	MIRROR_URI2="ldap://127.0.0.1:$p2"
	printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n' \
		"$MIRROR_SUFFIX" >"$SLAPD_MIRROR_DIR/suffix.ldif"
	slapd_mirror_load "$SLAPD_MIRROR_DIR/suffix.ldif" &&
		slapd_mirror_load "$SLAPD_MIRROR_EXAMPLE/base.ldif" &&
		slapd_mirror_passwords &&
		slapd_mirror_wait "$MIRROR_HOST2_DN" "(userPassword=*)" 10 || {
		echo "slapd_mirror_start: cannot load or replicate the base entries" >&2
		return 1
	}
	export MIRROR_URI1 MIRROR_URI2 MIRROR_SUFFIX MIRROR_BASE MIRROR_ROOT_DN \
		MIRROR_ROOT_PW_FILE MIRROR_CA_DN MIRROR_CA_PW_FILE MIRROR_HOST1_DN \
		MIRROR_HOST1_PW_FILE MIRROR_HOST2_DN MIRROR_HOST2_PW_FILE
}

# slapd_mirror_uri N: the URI of provider N.
slapd_mirror_uri() { [ "${1:-1}" = 2 ] && echo "$MIRROR_URI2" || echo "$MIRROR_URI1"; }

# slapd_mirror_ldap TOOL LDIF N: TOOL (ldapadd, ldapmodify) as the rootdn.
slapd_mirror_ldap() {
	"$1" -x -o nettimeout=5 -H "$(slapd_mirror_uri "$3")" -D "$MIRROR_ROOT_DN" \
		-y "$MIRROR_ROOT_PW_FILE" -f "$2" >"$SLAPD_MIRROR_DIR/load.log" 2>&1 || {
		echo "slapd_mirror: $1 $2 failed:" >&2
		cat "$SLAPD_MIRROR_DIR/load.log" >&2
		return 1
	}
}
slapd_mirror_load() { slapd_mirror_ldap ldapadd "$1" "${2:-1}"; }
slapd_mirror_modify() { slapd_mirror_ldap ldapmodify "$1" "${2:-1}"; }

# slapd_mirror_has N DN FILTER: provider N holds DN matching FILTER.
slapd_mirror_has() {
	ldapsearch -x -LLL -o nettimeout=1 -l 1 -H "$(slapd_mirror_uri "$1")" \
		-D "$MIRROR_ROOT_DN" -y "$MIRROR_ROOT_PW_FILE" -b "$2" -s base "$3" 1.1 2>/dev/null |
		grep -q '^dn:'
}

slapd_mirror_wait() {
	local dn=$1 filter=${2:-(objectClass=*)} secs=${3:-5} i
	for i in $(seq 1 $((secs * 20))); do
		slapd_mirror_has 1 "$dn" "$filter" && slapd_mirror_has 2 "$dn" "$filter" && return 0
		sleep 0.05
	done
	return 1
}

slapd_mirror_wait_gone() {
	local dn=$1 secs=${2:-5} i
	for i in $(seq 1 $((secs * 20))); do
		! slapd_mirror_has 1 "$dn" "(objectClass=*)" &&
			! slapd_mirror_has 2 "$dn" "(objectClass=*)" && return 0
		sleep 0.05
	done
	return 1
}

slapd_mirror_value() {
	ldapsearch -x -LLL -o nettimeout=1 -o ldif-wrap=no -l 1 -H "$(slapd_mirror_uri "$1")" \
		-D "$MIRROR_ROOT_DN" -y "$MIRROR_ROOT_PW_FILE" -b "$2" -s base "($3=*)" "$3" 2>/dev/null |
		sed -n "s/^$3: //p"
}

slapd_mirror_freeze() { SLAPD_PIDFILE=$SLAPD_MIRROR_DIR/$1/slapd.pid slapd_freeze; }
slapd_mirror_thaw() { SLAPD_PIDFILE=$SLAPD_MIRROR_DIR/$1/slapd.pid slapd_thaw; }
slapd_mirror_down() { SLAPD_PIDFILE=$SLAPD_MIRROR_DIR/$1/slapd.pid slapd_stop; }
slapd_mirror_kill() {
	local f=$SLAPD_MIRROR_DIR/$1/slapd.pid pid i
	pid=$(SLAPD_PIDFILE=$f slapd_pid) || return 1
	kill -KILL "$pid" || return 1
	for i in $(seq 1 50); do
		[ -e "/proc/$pid" ] || { rm -f "$f"; return 0; }
		sleep 0.1
	done
	return 1
}

# slapd_mirror_restart N CONF: stop provider N, start it from CONF on its port.
slapd_mirror_restart() {
	local uri
	uri=$(slapd_mirror_uri "$1")
	slapd_mirror_down "$1"
	"$SLAPD_BIN" -f "$2" -h "$uri/" >"$SLAPD_MIRROR_DIR/$1/start.log" 2>&1 &&
		slapd_mirror_up "$uri/"
}

slapd_mirror_detach() {
	local d=$SLAPD_MIRROR_DIR/$1
	# drop the syncrepl directives (with their continuation lines) and multiprovider
	awk '/^syncrepl/ { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0 }
		!/^multiprovider/' "$d/slapd.conf" >"$d/detached.conf" &&
		chmod 0600 "$d/detached.conf" || return 1
	! grep -qE '^(syncrepl|multiprovider)|provider=' "$d/detached.conf" || return 1
	slapd_mirror_restart "$1" "$d/detached.conf"
}

slapd_mirror_attach() { slapd_mirror_restart "$1" "$SLAPD_MIRROR_DIR/$1/slapd.conf"; }

slapd_mirror_stop() {
	[ -n "${SLAPD_MIRROR_DIR:-}" ] || return 0
	SLAPD_PIDFILE=$SLAPD_MIRROR_DIR/1/slapd.pid slapd_stop
	SLAPD_PIDFILE=$SLAPD_MIRROR_DIR/2/slapd.pid slapd_stop
}
