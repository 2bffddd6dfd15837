#!/bin/sh
# eval.sh — the face-api peer of `make eval`: face-api 1.7.15's own pipeline on every image of PAIRS.csv.
#   tests/oracle/eval.sh BUILD_DIR PAIRS.csv OUT
# Writes OUT (see eval.js) and keeps it: it is rebuilt only when PAIRS.csv is newer. Prints nothing and exits
# 0 without OUT when node or the npm packages are unavailable (the eval table then has no peer columns).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$1 pairs=$2 out=$3
[ -f "$out" ] && [ "$out" -nt "$pairs" ] && exit 0
command -v node >/dev/null 2>&1 || { echo "(face-api peer skipped: node is not installed)" >&2; exit 0; }
work="$build/oracle"
mkdir -p "$work/eval"
cp "$here/tests/oracle/package.json" "$here/tests/oracle/common.js" "$here/tests/oracle/eval.js" "$work/"
if [ ! -d "$work/node_modules/@vladmandic/face-api" ]; then
	(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
		{ echo "(face-api peer skipped: npm install failed, offline?)" >&2; exit 0; }
fi
base=$(dirname "$pairs")
list="$work/eval/list.tsv"
: >"$list"
i=0
# every distinct image of the pairs, decoded once by our decoder into a PPM
tr -d '\r' <"$pairs" | tail -n +2 | awk -F, '{print $1; print $2}' | sort -u | while IFS= read -r img; do
	i=$((i + 1))
	ppm="$work/eval/$i.ppm"
	if "$build/tests/tools/dv_topnm" "$base/$img" >"$ppm" 2>/dev/null; then
		printf '%s\t%s\n' "$img" "$ppm" >>"$list"
	else
		echo "eval.sh: $img: cannot decode, left out" >&2
	fi
done
echo "face-api's own pipeline on $(wc -l <"$list") images (224, 320, 416; a few minutes, kept in $out)" >&2
(cd "$work" && node eval.js "$list" "$out")
rm -rf "$work/eval"
