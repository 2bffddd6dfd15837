#!/bin/sh
# Golden check of landmarks_darknet (68 and tiny) on the face-api.js fixtures:
# within face-api.js's own tolerances (68: 3 px, 6 px for the rectangular
# face; tiny: 5 px). Needs `make models` and ../shared/testdata.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?}"
R="$top_srcdir/../shared/testdata/reference/faceapi"
[ -f "$top_builddir/models/face_landmark_68.weights" ] || { echo "1..0 # SKIP models are not converted: run make models"; exit 0; }
[ -d "$R" ] || { echo "1..0 # SKIP ../shared/testdata/reference/faceapi is absent"; exit 0; }
"$top_builddir/tests/models/check_landmarks" "$DV_PLUGIN_BUILD_DIR" "$top_builddir/models" face_landmark_68 "$R" 3 6 | sed 's/^\(not ok\|ok\) [0-9]* - /\1 68: /' >"${TMPDIR:-/tmp}/lm.$$"
"$top_builddir/tests/models/check_landmarks" "$DV_PLUGIN_BUILD_DIR" "$top_builddir/models" face_landmark_68_tiny "$R" 5 5 | sed 's/^\(not ok\|ok\) [0-9]* - /\1 tiny: /' >>"${TMPDIR:-/tmp}/lm.$$"
# renumber the two TAP streams into one
awk '/^(ok|not ok)/ { n++; sub(/^ok /, "ok " n " - "); sub(/^not ok /, "not ok " n " - "); print; next } /^#/ { print } END { print "1.." n }' "${TMPDIR:-/tmp}/lm.$$"
fails=$(grep -c '^not ok' "${TMPDIR:-/tmp}/lm.$$")
rm -f "${TMPDIR:-/tmp}/lm.$$"
[ "$fails" = 0 ]
