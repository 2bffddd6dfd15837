#!/bin/sh
# The whole pipeline on faces.jpg with face-api's alignment, against the
# face-api.js descriptors of the six faces. The limit is the reference's own
# tolerance for the full tinyFaceDetector416 pipeline (0.2); the distances are
# printed (last run, the embedder as shipped, int8 where the build has oneDNN: 0.08-0.12;
# 0.07-0.11 in float: the rest is JPEG decoding and detector boxes, MODELS.md 7.9).
# Needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
R="$top_srcdir/../shared/testdata/reference/faceapi"
[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -d "$R" ] || skip_all "../shared/testdata/reference/faceapi is absent"
{
	echo "plugin_dir: \"$DV_PLUGIN_BUILD_DIR\""
	echo "model_dir: \"$top_builddir/models\""
	echo "align: {method: faceapi}"
	echo 'plugins:
  detector:   { so: detect_darknet, input_size: 416 }
  landmarker: { so: landmarks_darknet }
  embedder:   { so: embed_darknet, input_divisor: 256 }
pipelines:
  recognize: [decode, detect, landmarks, align, embed]'
} >"$T/c.yaml"
exec "$top_builddir/tests/models/check_faces_jpg" "$T/c.yaml" "$R/images/faces.jpg" "$R/faces_jpg_reference.json" 0.2 5 10
