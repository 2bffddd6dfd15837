#!/bin/sh
# The embedder in int8 (embed_darknet `precision`, models/face_recognition.int8.tsv):
# - on faces.jpg, through face-api's own pipeline (tests/models/faces_jpg_faceapi.sh's
#   configuration), the six descriptors are within 0.06 of face-api 1.7.15's, and
#   not within 1e-4 as float's are: int8 really ran (make eval-int8 on the dev photos:
#   median 0.03, p99 0.044; two photos of one person are 0.40 apart at the median);
#   boxes and landmarks are float's, to the same 1e-4 px;
# - precision auto is int8 with the table and float without it (then 1e-4 holds);
# - precision int8 without a table, a table made for other weights, and a table
#   that does not fit the network are refused when the plugin loads, with the reason.
# The landmark net likewise (landmarks_darknet `precision`, models/face_landmark_68.int8.tsv).
# Needs `make models`, a build with oneDNN, and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
R="$top_srcdir/../shared/testdata/reference/faceapi"
M="$top_builddir/models"
[ -f "$M/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -d "$R" ] || skip_all "../shared/testdata/reference/faceapi is absent"
grep -q '^#define HAVE_ONEDNN 1' "$top_builddir/config.h" || skip_all "built without oneDNN (int8 runs on it)"

conf() { # conf FILE MODEL_DIR EMBEDDER_PARAMS [LANDMARKER_PARAMS]
	{
		echo "plugin_dir: \"$DV_PLUGIN_BUILD_DIR\""
		echo "model_dir: \"$2\""
		echo "align: {method: faceapi}"
		echo "plugins:
  detector:   { so: detect_darknet, input_size: 416 }
  landmarker: { so: landmarks_darknet, origin: box, batch: 8${4:-, precision: f32} }
  embedder:   { so: embed_darknet, input_divisor: 255, batch: 8$3 }
pipelines:
  recognize: [decode, detect, landmarks, align, embed]"
	} >"$1"
}
faces() { # faces CONFIG MAX_DISTANCE [MAX_LANDMARK_PX]: the six faces against face-api's pipeline
	"$top_builddir/tests/models/check_faces_jpg" "$1" "$R/images/faces.jpg" \
		"$top_srcdir/tests/oracle/faces_jpg_pipeline.json" "$2" 1e-4 "${3:-0.01}" >"$T/faces.out" 2>&1
}

check "the shipped int8 table is in model_dir" test -s "$M/face_recognition.int8.tsv"
conf "$T/int8.yaml" "$M" ", precision: int8"
faces "$T/int8.yaml" 0.06
ok $? "int8: the six descriptors within 0.06 of face-api's, boxes and landmarks within 1e-4 px"
grep 'descriptor' "$T/faces.out" | sed 's/^[a-z ]*[0-9]* - /# int8: /' 
faces "$T/int8.yaml" 1e-4
ok $((! $?)) "int8: not within 1e-4 of face-api's (float's tolerance): int8 ran"
conf "$T/auto.yaml" "$M" ""
faces "$T/auto.yaml" 1e-4
ok $((! $?)) "precision auto with the table: int8"

# a model_dir without the table, one with a table of other weights, one with a short table
mkdir "$T/m0" "$T/mw" "$T/ms"
for f in "$M"/*; do
	case "$f" in *.int8.tsv) ;; *) for d in m0 mw ms; do ln -s "$f" "$T/$d/"; done ;; esac
done
sed 's/^# weights: sha256:.*/# weights: sha256:0000000000000000000000000000000000000000000000000000000000000000/' \
	"$M/face_recognition.int8.tsv" >"$T/mw/face_recognition.int8.tsv"
grep -v '^53	' "$M/face_recognition.int8.tsv" >"$T/ms/face_recognition.int8.tsv"

conf "$T/auto0.yaml" "$T/m0" ""
faces "$T/auto0.yaml" 1e-4
ok $? "precision auto without a table: float (within 1e-4 of face-api's)"
refused() { # refused MODEL_DIR EMBEDDER_PARAMS WHY NAME: --check-config fails, saying WHY
	conf "$T/r.yaml" "$1" "$2"
	out=$("$DEJAVIEWD" -c "$T/r.yaml" --check-config 2>&1)
	ok $((! $?)) "$4"
	has "$out" "$3" "... saying: $3"
}
refused "$T/m0" ", precision: int8" "has no face_recognition.int8.tsv (make calibrate-int8)" \
	"precision int8 without a table: the configuration is refused"
refused "$T/mw" "" "made for other weights" "a table made for other weights is refused (precision auto)"
refused "$T/ms" ", precision: int8" "not an int8 table of this network" "a table missing a layer is refused"
refused "$M" ", precision: int4" "precision must be auto, int8 or f32" "precision int4 is refused"

# The landmark net in int8 (landmarks_darknet `precision`, models/face_landmark_68.int8.tsv,
# make calibrate-int8-landmarks): the embedder in float, so that only the points move
check "the shipped landmark int8 table is in model_dir" test -s "$M/face_landmark_68.int8.tsv"
conf "$T/lm8.yaml" "$M" ", precision: f32" ", precision: int8"
faces "$T/lm8.yaml" 0.15 2
ok $? "landmarks in int8: the six faces' 68 points within 2 px of face-api's (faces of ~110 px), descriptors within 0.15"
grep 'landmarks within' "$T/faces.out" | sed 's/^[a-z ]*[0-9]* - /# landmarks int8: /'
faces "$T/lm8.yaml" 0.15 0.01
ok $((! $?)) "... and not within 0.01 px (float's tolerance): int8 ran"
conf "$T/lmauto.yaml" "$M" ", precision: f32" " "
faces "$T/lmauto.yaml" 0.15 0.01
ok $((! $?)) "landmarker precision auto with the table: int8"
conf "$T/lm0.yaml" "$T/m0" ", precision: f32" " "
faces "$T/lm0.yaml" 1e-4 0.01
ok $? "landmarker precision auto without a table: float (within 0.01 px and 1e-4 of face-api's)"
conf "$T/r.yaml" "$T/m0" ", precision: f32" ", precision: int8"
out=$("$DEJAVIEWD" -c "$T/r.yaml" --check-config 2>&1)
ok $((! $?)) "landmarker precision int8 without a table: the configuration is refused"
has "$out" "has no face_landmark_68.int8.tsv (make calibrate-int8-landmarks)" "... saying so"
done_testing
