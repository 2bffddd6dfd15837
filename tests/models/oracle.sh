#!/bin/sh
# Golden test against face-api 1.7.15 itself: tests/oracle/golden.json holds
# its raw outputs (tests/oracle/regenerate.sh); our preprocessing and Darknet
# nets must reproduce them within MODELS.md's tolerances (descriptor 1e-5,
# detector 1e-3, landmarks 1e-3 px). Needs `make models` and ../shared/testdata.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?}"
R="$top_srcdir/../shared/testdata/reference/faceapi/images"
[ -f "$top_builddir/models/face_recognition.weights" ] || { echo "1..0 # SKIP models are not converted: run make models"; exit 0; }
[ -d "$R" ] || { echo "1..0 # SKIP ../shared/testdata/reference/faceapi is absent"; exit 0; }
exec "$top_builddir/tests/models/check_oracle" "$top_builddir/models" "$R" "$top_srcdir/tests/oracle/golden.json" 2>/dev/null
