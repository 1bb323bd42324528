#!/bin/sh
# Replay every seed corpus (fuzz/corpus/TARGET/) through its fuzz target,
# once per file, without fuzzing: an input that once crashed stays fixed.
# TAP, for make check.  Works with both builds of the targets (libFuzzer,
# which runs each file named, or fuzz/replay.c).
src=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
build=${top_builddir:-.}
# libconfig's own leak (fuzz/lsan.supp); whatever else ASAN_OPTIONS says stays
LSAN_OPTIONS="suppressions=$src/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
set -- $(cd "$src/fuzz/corpus" && ls)
echo "1..$#"
i=0
status=0
for t in "$@"; do
	i=$((i + 1))
	prog=$build/fuzz/fuzz_$t
	n=$(ls "$src/fuzz/corpus/$t" | wc -l)
	if [ ! -x "$prog" ]; then
		echo "not ok $i - fuzz_$t: not built"
		status=1
	elif "$prog" "$src/fuzz/corpus/$t"/* >"$build/fuzz/replay-$t.log" 2>&1; then
		echo "ok $i - fuzz_$t replays its $n inputs"
	else
		echo "not ok $i - fuzz_$t failed on its corpus:"
		tail -n 30 "$build/fuzz/replay-$t.log" | sed 's/^/# /'
		status=1
	fi
done
exit $status
