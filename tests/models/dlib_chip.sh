#!/bin/sh
# Our alignment against dlib's own (issue 14: "a check of our alignment
# against dlib's chip"). On the 43 faces of ../shared/testdata/reference/
# dlib_faces, whose 68 points come from dlib's own shape predictor, dlib
# itself (Debian's libdlib-dev: tests/oracle/dlib_chip.cc, built here) cuts
# each face's chip as its face recognition example does, and our aligner
# cuts it from the same points out of our decode of the same JPEG: the chips
# must be the same bytes (at most one grey level apart). Then what our own
# landmarker changes: its points against dlib's, and the descriptor of our
# chip against that of the chip from dlib's points (printed; checked only to
# be of the size of landmark noise, not of a broken alignment). Needs
# `make models`, ../shared/testdata and libdlib-dev (scripts/deps.sh --test).
. "$top_srcdir/tests/e2e/lib.sh"
R="$top_srcdir/../shared/testdata/reference/dlib_faces"
[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -f "$R/testing_with_face_landmarks.xml" ] || skip_all "../shared/testdata/reference/dlib_faces is absent"
pkg-config --exists dlib-1 2>/dev/null || skip_all "dlib is not installed (apt-get install libdlib-dev)"
command -v g++ >/dev/null || skip_all "g++ is absent"
# shellcheck disable=SC2046
g++ -O2 -std=c++14 -o "$T/dlib_chip" "$top_srcdir/tests/oracle/dlib_chip.cc" $(pkg-config --cflags --libs dlib-1) 2>"$T/cc.err"
ok $? "dlib's reference program builds against libdlib-dev" || sed 's/^/#   /' "$T/cc.err"
sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' -e '/^hooks:/,$d' \
	"$top_srcdir/conf/dejaview.yaml" >"$T/base.yaml"
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "$(cat "$T/base.yaml")"
for set in testing training; do
	x="$R/${set}_with_face_landmarks.xml"
	n=$("$T/dlib_chip" "$x" "$T/$set.rgb")
	check "dlib cuts the chips of the $set faces ($n)" test "${n:-0}" -gt 10
	"$top_builddir/tests/eval/dv_chipcheck" -c "$T/c.yaml" -x "$x" -r "$T/$set.rgb" >"$T/$set.out" 2>"$T/$set.err"
	rc=$?
	sed 's/^/# /' "$T/$set.out"
	ok $rc "$set: our chips from dlib's points are dlib's own, at most one grey level apart" || sed 's/^/#   /' "$T/$set.err"
	same=$(sed -n "s/.*ours against dlib's own: \([0-9.]*\)% of the bytes identical.*/\1/p" "$T/$set.out")
	check "... $same% of the bytes identical" awk -v s="$same" 'BEGIN { exit !(s >= 99.9) }'
	lm=$(sed -n 's/^our landmarks against .*median \([0-9.]*\),.*/\1/p' "$T/$set.out")
	check "our landmarker's points are near dlib's (median $lm of the eye-corner distance)" \
		awk -v v="$lm" 'BEGIN { exit !(v > 0 && v < 0.2) }'
	de=$(sed -n 's/^descriptors, .*median \([0-9.]*\),.*/\1/p' "$T/$set.out")
	check "... their chips' descriptors within landmark noise of dlib's points' (median $de, deciding distances 0.4-0.6)" \
		awk -v v="$de" 'BEGIN { exit !(v > 0 && v < 0.25) }'
done
# landmarks.flip (measured, off by default): the points averaged with their
# mirror image's stay as near dlib's
write_conf "$T/f.yaml" "model_dir: \"$top_builddir/models\"" "landmarks: {flip: true}" "$(cat "$T/base.yaml")"
"$top_builddir/tests/eval/dv_chipcheck" -c "$T/f.yaml" -x "$R/testing_with_face_landmarks.xml" >"$T/f.out" 2>&1
sed 's/^/# /' "$T/f.out"
lf=$(sed -n 's/^our landmarks against .*median \([0-9.]*\),.*/\1/p' "$T/f.out")
check "landmarks.flip: the averaged points as near dlib's (median $lf, without: $(sed -n 's/^our landmarks against .*median \([0-9.]*\),.*/\1/p' "$T/testing.out"))" \
	awk -v v="$lf" -v w="$(sed -n 's/^our landmarks against .*median \([0-9.]*\),.*/\1/p' "$T/testing.out")" 'BEGIN { exit !(v > 0 && v < w + 0.01) }'
done_testing
