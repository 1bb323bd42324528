# Common set-up for integration scripts (sourced after tap.sh).
# Provides: $T (a private temp dir, removed on exit), $ADMIN, $OUT, $ERR,
# and write_conf FILE (a config with the store under $T).
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
	rm -rf "$T"
}
trap ct_cleanup EXIT
# at_exit FUNC: run FUNC (no arguments) when the script exits.
at_exit() { ct_cleanup_hooks="$1 $ct_cleanup_hooks"; }
