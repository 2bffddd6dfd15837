#!/bin/sh
# Golden check of detect_darknet on faces.jpg against face-api.js's expected
# TinyFaceDetector boxes (5 px) and scores (0.05) at input size 416. Needs
# `make models` and ../shared/testdata.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?}"
R="$top_srcdir/../shared/testdata/reference/faceapi"
[ -f "$top_builddir/models/tiny_face_detector.weights" ] || { echo "1..0 # SKIP models are not converted: run make models"; exit 0; }
[ -d "$R" ] || { echo "1..0 # SKIP ../shared/testdata/reference/faceapi is absent"; exit 0; }
exec "$top_builddir/tests/models/check_detect" "$DV_PLUGIN_BUILD_DIR" "$top_builddir/models" "$R/images/faces.jpg" "$R/faces_jpg_reference.json"
