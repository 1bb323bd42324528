# TAP helpers for the integration scripts (sourced).  Each check prints one
# "ok N - what" or "not ok N - what" line; tap_done prints the plan.
tap_n=0
tap_failed=0

ok() { tap_n=$((tap_n + 1)); printf 'ok %d - %s\n' "$tap_n" "$*"; }
not_ok() {
	tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
	printf 'not ok %d - %s\n' "$tap_n" "$*"
}
diag() { sed 's/^/# /'; }

# check DESC CMD...: ok when CMD succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# run_status WANT DESC CMD...: ok when CMD exits WANT.  stdout/stderr of the
# command are kept in $OUT and $ERR (files) for later checks.
run_status() {
	local want=$1 desc=$2 got; shift 2
	"$@" >"$OUT" 2>"$ERR" </dev/null
	got=$?
	if [ "$got" = "$want" ]; then ok "$desc"
	else not_ok "$desc (exit $got, wanted $want)"; diag <"$ERR"; fi
}

# grep_ok DESC PATTERN FILE: ok when FILE matches the extended regex PATTERN.
grep_ok() {
	if grep -Eq -- "$2" "$3"; then ok "$1"
	else not_ok "$1 (no /$2/ in $(basename "$3"))"; { head -c 2000 "$3"; echo; } | diag; fi
}

# grep_not DESC PATTERN FILE: ok when FILE does not match.
grep_not() {
	if grep -Eq -- "$2" "$3"; then not_ok "$1 (/$2/ found)"; { head -c 2000 "$3"; echo; } | diag
	else ok "$1"; fi
}

tap_done() { printf '1..%d\n' "$tap_n"; exit 0; }

# skip_all REASON: the whole script cannot run here.
skip_all() { printf '1..0 # SKIP %s\n' "$*"; exit 0; }
