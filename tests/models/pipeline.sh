#!/bin/sh
# End to end with the real networks: dejaviewd with detect_darknet and
# embed_darknet (conf/dejaview.yaml's plugins) finds the six faces of faces.jpg
# over HTTP and embeds them, and logs that Darknet's gemm runs on OpenBLAS.
# Needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
R="$top_srcdir/../shared/testdata/reference/faceapi"
[ -f "$top_builddir/models/tiny_face_detector.weights" ] || skip_all "models are not converted: run make models"
[ -d "$R" ] || skip_all "../shared/testdata/reference/faceapi is absent"
pg_up
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "workers: 1" 'plugins:
  detector:   { so: detect_darknet, input_size: 416 }
  landmarker: { so: landmarks_darknet }
  embedder:   { so: embed_darknet }
  matcher:    { so: match_example }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]
  detect:    [decode, detect]'
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts with the Darknet plugins"; done_testing; }
ok 0 "dejaviewd starts with the Darknet plugins"
check "the start-up log says gemm runs on OpenBLAS" grep -q "Darknet's gemm runs on OpenBLAS" "$T/dejaviewd.log"
if grep -q "define HAVE_ONEDNN 1" "$top_builddir/config.h"; then
	check "and that oneDNN runs every layer of the detector" grep -q "oneDNN runs layers=18 of 18 " "$T/dejaviewd.log"
	check "and every layer of the 68-point net and of the ResNet, the fully connected heads included" \
		sh -c "grep -q 'oneDNN runs layers=57 of 57 ' '$T/dejaviewd.log' && grep -q 'oneDNN runs layers=54 of 54 ' '$T/dejaviewd.log'"
	if grep -qw avx512f /proc/cpuinfo; then
		check "and that our fused AVX-512 kernels run 10 of the detector's layers" grep -q "layers=18 of 18 (the rest on Darknet) own_kernel_layers=10 " "$T/dejaviewd.log"
	else
		skip 1 "this CPU has no AVX-512: oneDNN runs every layer"
	fi
else
	skip 3 "built without oneDNN"
fi
http POST /v1/detect --data-binary @"$R/images/faces.jpg"
is "$CODE" 200 "detect faces.jpg"
has "$BODY" '"face_count":6,' "six faces"
http POST /v1/recognize --data-binary @"$R/images/faces.jpg"
is "$CODE" 200 "recognize faces.jpg"
has "$BODY" '"face_count":6,' "six faces embedded"
n=$(printf '%s' "$BODY" | grep -o '"alignment":"dlib_68"' | wc -l)
is "$n" 6 "each face is cut as dlib's aligned chip from its 68 landmarks"
has "$BODY" '"model":{"embedder":"dlib_resnet:face_recognition","fingerprint":"sha256:' "stamped with the model and its fingerprint"
has "$BODY" '"embed":' "the embed stage is timed"
n=$(printf '%s' "$BODY" | grep -o '"found_by":{"pass":"direct","input_size":416}' | wc -l)
is "$n" 6 "each face says how it was found: the detector's direct pass at 416"
# a 150x150 tight crop the detector cannot see: the whole image is the face, and the reply says so
crop="$top_srcdir/../shared/testdata/faceapi_bbt/Kevin_Sussman/stuart5.png"
if [ -f "$crop" ]; then
	http POST /v1/recognize --data-binary @"$crop"
	is "$CODE" 200 "recognize a 150x150 tight crop"
	has "$BODY" '"face_count":1,' "one face"
	has "$BODY" '"found_by":{"pass":"whole_image"}' "found as the whole image (detect.whole_image_max_side)"
	has "$BODY" '"alignment":"dlib_68"' "and aligned from its landmarks"
else
	skip 4 "$crop is absent"
fi
# a plain 400x400 image is larger than detect.whole_image_max_side: no face, and no guess
"$top_builddir/tests/tools/dv_testimg" 400 400 >"$T/plain.ppm"
http POST /v1/recognize --data-binary @"$T/plain.ppm"
is "$CODE" 200 "recognize a plain 400x400 image"
has "$BODY" '"face_count":0,' "no face: the whole-image fallback is only for small images"
# a corrupted weights file is refused at start, with the reason
mkdir -p "$T/m"
cp "$top_builddir/models/"*.cfg "$top_builddir/models/weights.size" "$top_builddir/models/weights.sha256" "$T/m/"
head -c 1000 "$top_builddir/models/tiny_face_detector.weights" >"$T/m/tiny_face_detector.weights"
sed -i "s|^model_dir: .*|model_dir: \"$T/m\"|" "$T/c.yaml"
out=$("$DEJAVIEWD" --check-config -c "$T/c.yaml" 2>&1)
has "$out" "tiny_face_detector.weights has 1000 bytes, expected 775288: truncated or wrong file (run make models)" "a truncated .weights is refused with a clear message, not a crash"
sed -i "s|^model_dir: .*|model_dir: \"$top_builddir/models\"|; s|embedder:   { so: embed_darknet }|embedder:   { so: embed_darknet, conv: cuda }|" "$T/c.yaml"
out=$("$DEJAVIEWD" --check-config -c "$T/c.yaml" 2>&1)
has "$out" 'conv must be onednn, onednn-only or darknet, not "cuda"' "an unknown conv kernel is refused with the choices"
dv_stop
done_testing
