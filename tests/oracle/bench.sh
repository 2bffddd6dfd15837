#!/bin/sh
# bench.sh — the face-api peer rows of `make bench` (face-api 1.7.15 on tfjs-wasm, one thread).
#   tests/oracle/bench.sh BUILD_DIR PHOTO FACE RUNS
# Installs the oracle's npm packages into BUILD_DIR/oracle the first time.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$1 photo=$2 face=$3 runs=$4
command -v node >/dev/null 2>&1 || { echo "(face-api peer skipped: node is not installed)"; exit 0; }
work="$build/oracle"
mkdir -p "$work"
cp "$here/tests/oracle/package.json" "$here/tests/oracle/common.js" "$here/tests/oracle/bench.js" "$work/"
if [ ! -d "$work/node_modules/@vladmandic/face-api" ]; then
	(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
		{ echo "(face-api peer skipped: npm install failed, offline?)"; exit 0; }
fi
"$build/tests/tools/dv_topnm" "$photo" >"$work/bench-photo.ppm"
"$build/tests/tools/dv_topnm" "$face" >"$work/bench-face.ppm"
(cd "$work" && node bench.js bench-photo.ppm bench-face.ppm "$runs" 2>/dev/null)
