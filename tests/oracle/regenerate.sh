#!/bin/sh
# regenerate.sh — rebuilds tests/oracle/golden.json (the nets' raw outputs) and
# tests/oracle/faces_jpg_pipeline.json (the whole pipeline on faces.jpg) with face-api 1.7.15 itself
# (MODELS.md section 0: Node 20, @tensorflow/tfjs 4.22.0, pure-JS cpu backend).
#   tests/oracle/regenerate.sh [BUILD_DIR]
# The images are face-api.js's fixtures from ../shared/testdata, decoded by our
# own decoder (tests/tools/dv_topnm) so that both sides see the same pixels.
# Needs npm (registry access) once; the packages go to BUILD_DIR/oracle.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here}
R="$here/../shared/testdata/reference/faceapi/images"
[ -d "$R" ] || { echo "regenerate.sh: $R is absent" >&2; exit 1; }
work="$build/oracle"
mkdir -p "$work"
cp "$here/tests/oracle/package.json" "$here/tests/oracle/common.js" "$here/tests/oracle/oracle.js" "$here/tests/oracle/pipeline.js" "$work/"
(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
for f in face1 face2 face_rectangular; do
	"$build/tests/tools/dv_topnm" "$R/$f.png" >"$work/$f.ppm"
done
(cd "$work" && node oracle.js "$here/tests/oracle/golden.json" face1.ppm face2.ppm face_rectangular.ppm 2>/dev/null)
echo "regenerate.sh: wrote tests/oracle/golden.json"
"$build/tests/tools/dv_topnm" "$R/faces.jpg" >"$work/faces.ppm"
(cd "$work" && node pipeline.js "$here/tests/oracle/faces_jpg_pipeline.json" faces.ppm "$R/../faces_jpg_reference.json" 2>/dev/null)
echo "regenerate.sh: wrote tests/oracle/faces_jpg_pipeline.json"
