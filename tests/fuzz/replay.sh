#!/bin/sh
# make check: every fuzz target replays its committed corpus
# (tests/fuzz/corpus/T: seeds, and what make fuzz grew and kept), built with
# the ordinary compiler. A parser change that breaks on an input the fuzzers
# once reached fails here, without clang.
: "${top_srcdir:?run through make check}" "${top_builddir:?}"
n=0; fail=0
for t in http1 frame form json image conf; do
	n=$((n + 1))
	files=$(ls "$top_srcdir/tests/fuzz/corpus/$t" | wc -l)
	out=$("$top_builddir/tests/fuzz/replay_$t" "$top_srcdir/tests/fuzz/corpus/$t" 2>&1)
	if [ $? = 0 ] && [ "$out" = "replayed $files inputs" ]; then
		echo "ok $n - fuzz_$t: $files inputs of its corpus replayed"
	else
		echo "not ok $n - fuzz_$t: replaying its corpus"; echo "$out" | tail -5 | sed 's/^/#   /'; fail=1
	fi
done
echo "1..$n"
exit $fail
