#!/bin/sh
# The detector's tile pass (detect_darknet tile_scale) end to end: a PASCAL VOC
# photo from dlib's hand-labelled set (2008_002470.jpg, 500x332, six faces of
# 37-53 px, smaller than the tiny detector's smallest anchor at the photo's
# size) over HTTP, without and with tile_scale: 2. With tiles more of the
# labelled faces are found, those found only by the tiles say
# found_by.pass "scale", and every labelled face is matched. Needs `make models`
# and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
D="$top_srcdir/../shared/testdata/reference/dlib_faces"
P="$D/2008_002470.jpg"
[ -f "$top_builddir/models/tiny_face_detector.weights" ] || skip_all "models are not converted: run make models"
[ -f "$P" ] || skip_all "$P is absent"
pg_up
# the labelled boxes: "left top width height" per line
sed -n "/<image file='2008_002470.jpg'/,/<\/image>/p" "$D/testing.xml" "$D/training.xml" |
	sed -n "s/.*top='\([0-9]*\)' left='\([0-9]*\)' width='\([0-9]*\)' height='\([0-9]*\)'.*/\2 \1 \3 \4/p" >"$T/truth"
is "$(wc -l <"$T/truth" | tr -d ' ')" 6 "six labelled faces"
# how many labelled faces a reply's boxes match at IoU >= 0.5
matched() {
	printf '%s' "$1" | grep -o '"box":{"x":[-0-9.]*,"y":[-0-9.]*,"w":[0-9.]*,"h":[0-9.]*}' |
		sed 's/[^0-9.,-]//g; s/,/ /g' | awk -v truth="$T/truth" '
		BEGIN { while ((getline l < truth) > 0) { split(l, a, " "); n++; tx[n] = a[1]; ty[n] = a[2]; tw[n] = a[3]; th[n] = a[4] } }
		{ x = $1; y = $2; w = $3; h = $4
		  for (i = 1; i <= n; i++) {
		    ix = (x + w < tx[i] + tw[i] ? x + w : tx[i] + tw[i]) - (x > tx[i] ? x : tx[i])
		    iy = (y + h < ty[i] + th[i] ? y + h : ty[i] + th[i]) - (y > ty[i] ? y : ty[i])
		    if (ix > 0 && iy > 0 && ix * iy / (w * h + tw[i] * th[i] - ix * iy) >= 0.5) hit[i] = 1 } }
		END { c = 0; for (i = 1; i <= n; i++) c += hit[i]; print c }'
}
for tiles in 0 2; do
	write_conf "$T/c$tiles.yaml" "model_dir: \"$top_builddir/models\"" "workers: 1" "plugins:
  detector:   { so: detect_darknet, tile_scale: $tiles }
  landmarker: { so: landmarks_darknet }
  embedder:   { so: embed_darknet }
  matcher:    { so: match_flat }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]
  detect:    [decode, detect]"
	dv_start "$T/c$tiles.yaml" || { ok 1 "dejaviewd starts (tile_scale $tiles)"; continue; }
	wait_ready || echo "# not ready"
	http POST /v1/detect --data-binary @"$P"
	is "$CODE" 200 "tile_scale $tiles: detect answers"
	eval "found$tiles=\$(matched \"\$BODY\")"
	eval "body$tiles=\$BODY"
	dv_stop
done
echo "# labelled faces found: $found0 of 6 without tiles, $found2 with tile_scale 2"
check "the tile pass finds more of the small faces ($found0 -> $found2)" test "$found2" -gt "$found0"
is "$found2" 6 "with tiles, every labelled face is found"
has "$body2" '"found_by":{"pass":"scale","input_size":608}' "faces only the tiles found say so (pass scale, at 608)"
case $body0 in *'"pass":"scale"'*) ok 1 "without tiles no face says scale" ;; *) ok 0 "without tiles no face says scale" ;; esac
done_testing
