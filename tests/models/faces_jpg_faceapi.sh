#!/bin/sh
# End-to-end equality with face-api 1.7.15's own pipeline on faces.jpg: detect
# at 416, 68 landmarks, face-api's crop and the descriptor, against
# tests/oracle/faces_jpg_pipeline.json (face-api's detectAllFaces(...)
# .withFaceLandmarks().withFaceDescriptors() on the same decoded pixels,
# written by tests/oracle/regenerate.sh). This is the configuration that
# reproduces face-api end to end: align method faceapi and the landmarker's
# `origin: box` (face-api's unfloored landmark shift). The six faces go through
# landmarks and embedding as one batch (batch: 8; tests/models/faces_jpg.sh
# runs them one by one). The embedder and the landmarker run in float (precision: f32), as face-api does
# (tests/models/int8.sh holds int8 to this reference at its own tolerance). Last run:
# descriptors 1e-6 apart, boxes within 2e-5 px, landmarks within 7e-5 px.
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
  landmarker: { so: landmarks_darknet, origin: box, batch: 8, precision: f32 }
  embedder:   { so: embed_darknet, input_divisor: 255, batch: 8, precision: f32 }
pipelines:
  recognize: [decode, detect, landmarks, align, embed]'
} >"$T/c.yaml"
exec "$top_builddir/tests/models/check_faces_jpg" "$T/c.yaml" "$R/images/faces.jpg" \
	"$top_srcdir/tests/oracle/faces_jpg_pipeline.json" 1e-4 0.01
