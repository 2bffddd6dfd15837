#!/bin/sh
# run.sh — make fuzz: builds every libFuzzer target (clang, ASan + UBSan) and
# runs each for FUZZ_SECONDS on its committed corpus (tests/fuzz/corpus/T),
# FUZZ_JOBS targets at a time; prints a table (inputs run, corpus, findings)
# and the CPU. With FUZZ_SAVE=1 the corpora grown by the run are minimised
# back into the source tree (to commit). A finding stops with its crash file.
#
#   run.sh SRCDIR BUILDDIR SECONDS JOBS [TARGET...]
set -u
src=$1; build=$2; secs=$3; jobs=$4; shift 4
cc=${FUZZ_CC:-clang}
all="http1 frame form json image conf"
targets=${*:-$all}
w="$build/tests/fuzz"
mkdir -p "$w"
command -v "$cc" >/dev/null || { echo "make fuzz: $cc is not installed (apt-get install clang libclang-rt-14-dev)"; exit 1; }
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$src/core -I$build -I$src"
flags="$flags -DDV_PLUGIN_DIR=\"/p\" -DDV_MODEL_DIR=\"/m\" -DDV_WEB_DIR=\"/w\" -DDV_SYSCONF_FILE=\"/c\""
sources() {
	case $1 in
	http1) echo "core/dv_http1.c core/dv_buf.c" ;;
	frame) echo "core/dv_frame.c" ;;
	form) echo "core/dv_form.c core/dv_jsonp.c core/dv_err.c core/dv_buf.c" ;;
	json) echo "core/dv_jsonp.c" ;;
	image) echo "core/dv_image.c core/dv_err.c core/dv_buf.c -ljpeg -lpng -lz" ;;
	conf) echo "core/dv_conf.c -lyaml" ;;
	esac
}
for t in $targets; do
	s=""
	for f in $(sources "$t"); do case $f in -*) s="$s $f" ;; *) s="$s $src/$f" ;; esac; done
	# shellcheck disable=SC2086
	$cc $flags "$src/tests/fuzz/fuzz_$t.c" $s -lm -o "$w/fuzz_$t" || { echo "make fuzz: cannot build fuzz_$t"; exit 1; }
done
run() { # run TARGET: grow a working copy of its corpus, then report
	t=$1
	rm -rf "$w/work_$t" "$w/crash_$t"
	mkdir -p "$w/work_$t" "$w/crash_$t"
	cp "$src/tests/fuzz/corpus/$t/"* "$w/work_$t/" 2>/dev/null
	before=$(ls "$w/work_$t" | wc -l)
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$w/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$w/crash_$t/" "$w/work_$t" >"$w/log_$t" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log_$t")
	found=$(ls "$w/crash_$t" | wc -l)
	echo "$t ${execs:-0} $before $(ls "$w/work_$t" | wc -l) $found $rc" >"$w/result_$t"
}
n=0
for t in $targets; do
	run "$t" &
	n=$((n + 1))
	[ $((n % jobs)) = 0 ] && wait
done
wait
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "make fuzz: $(date -u +%Y-%m-%d), $secs s per target, ASan + UBSan, $cpu"
printf '%-8s %14s %10s %10s %9s\n' target inputs "corpus in" "corpus out" findings
bad=0
for t in $targets; do
	read -r name execs before after found rc <"$w/result_$t"
	printf '%-8s %14s %10s %10s %9s\n' "$name" "$execs" "$before" "$after" "$found"
	if [ "$found" != 0 ] || [ "$rc" != 0 ]; then
		bad=1
		echo "  fuzz_$t failed (exit $rc): $(ls "$w/crash_$t" | head -3) — see $w/log_$t"
	fi
	if [ "${FUZZ_SAVE:-0}" = 1 ] && [ "$found" = 0 ]; then
		rm -rf "$w/min_$t" && mkdir -p "$w/min_$t"
		"$w/fuzz_$t" -merge=1 "$w/min_$t" "$w/work_$t" >/dev/null 2>&1 &&
			rm -f "$src/tests/fuzz/corpus/$t/"* && cp "$w/min_$t/"* "$src/tests/fuzz/corpus/$t/"
	fi
done
exit $bad
