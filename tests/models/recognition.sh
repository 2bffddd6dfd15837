#!/bin/sh
# Golden check of the face_recognition port: models/face_recognition.cfg with
# the converted weights, on the face-api.js fixtures' 150x150 faces, gives
# descriptors within 0.1 of the references (face-api.js's own tolerance; the
# expected gap is 0.036-0.042, which face-api 1.7.15 itself has from these
# older fixtures). Needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
W="$top_builddir/models/face_recognition.weights"
CFG="$top_srcdir/models/face_recognition.cfg"
R="$top_srcdir/../shared/testdata/reference/faceapi"
[ -f "$W" ] || skip_all "models are not converted: run make models"
[ -d "$R" ] || skip_all "../shared/testdata/reference/faceapi is absent"
CHK="$top_builddir/tests/models/check_face_recognition"
is "$(wc -c <"$W")" "$(grep " face_recognition.weights$" "$top_srcdir/models/weights.size" | cut -d' ' -f1)" "the weights have the pinned size"
for pair in face1:faceDescriptor1 face2:faceDescriptor2; do
	img=${pair%%:*}; ref=${pair#*:}
	for div in 255 256; do
		out=$("$CHK" "$CFG" "$W" "$R/images/$img.png" "$R/data/$ref.json" $div 2>/dev/null)
		d=$(echo "$out" | sed -n 's/^distance \([0-9.]*\).*/\1/p')
		echo "# $img, input /$div: $out"
		check "$img (/$div): descriptor within 0.1 of the face-api.js reference (got ${d:-none})" \
			awk -v d="${d:-9}" 'BEGIN { exit !(d < 0.1) }'
	done
	check "$img: and at the expected 0.03-0.05 (a port error would be far larger)" \
		awk -v d="${d:-9}" 'BEGIN { exit !(d > 0.03 && d < 0.05) }'
done
done_testing
