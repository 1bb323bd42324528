# Common set-up for integration scripts (sourced after tap.sh).
# Provides: $T (a private temp dir, removed on exit), $ADMIN, $OUT, $ERR,
# at_exit, free_port and make_user.
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
T=$(mktemp -d /tmp/certtoken-test.XXXXXX)
chmod 0700 "$T"
OUT=$T/stdout
ERR=$T/stderr
ADMIN=$top_builddir/certtoken-admin
ct_cleanup_hooks=""
ct_cleanup() {
	local h
	for h in $ct_cleanup_hooks; do "$h"; done
	if [ -n "${CT_KEEP_TMP:-}" ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap ct_cleanup EXIT
# at_exit FUNC: run FUNC (no arguments) when the script exits.
at_exit() { ct_cleanup_hooks="$1 $ct_cleanup_hooks"; }

. "$(dirname "${BASH_SOURCE[0]}")/net.sh"

# make_user NAME SHELL GECOS: a real throwaway Unix user with its home
# $T/home (0700, its own), removed at exit; bails out when useradd fails.
# $T becomes 0711 so that the user may pass through to its home.
make_user() {
	chmod 0711 "$T"
	mkdir -p "$T/home"
	useradd -M -d "$T/home" -s "$2" -c "$3" "$1" || {
		echo "Bail out! useradd $1 failed"
		exit 1
	}
	ct_made_user=$1
	at_exit remove_made_user
	chown "$1:" "$T/home"
	chmod 0700 "$T/home"
}
remove_made_user() { userdel "$ct_made_user" 2>/dev/null; }
