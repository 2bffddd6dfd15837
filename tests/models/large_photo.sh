#!/bin/sh
# Large photos (issue 18): a 12-megapixel JPEG is decoded at a reduced DCT
# scale (decode.min_side) and small faces' region again at a finer one
# (decode.face_side); the reply's boxes and landmarks are in the photo's own
# pixels and say the scale; the person is recognised as from the full-size
# decode, with the same boxes (checked against a restart with
# decode.min_side 0); a truncated large JPEG is still bad_image. With the real
# networks; needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
real_photos
"$TOJPEG" "$P" "$T/vga.jpg" 640 480
"$TOJPEG" "$P" "$T/p12.jpg" 4000 3000 3.5     # phone-like: bilinear, grain, quality 92
"$TOJPEG" "$P" "$T/p2.jpg" 1600 1200 3.5
"$TOJPEG" "$G" "$T/g12.jpg" 4000 2665 3.5     # six faces of ~600 px: ~150 at 1/4
# faces under 200 px at the scale decoded get their region again (the default, 120, would not here)
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "workers: 1" "$(cat "$T/base.yaml")" \
	"decode: {face_side: 200}"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
http POST /v1/persons -H "$J" -d '{"name":"Shea"}'
pid=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$pid/faces" --data-binary @"$T/vga.jpg"
is "$CODE" 201 "the person is enrolled from a 640x480 photo"

# box X Y W H of the first face; dist: its first match's distance
box() { printf '%s' "$1" | sed -n 's/.*"box":{"x":\([-0-9.e]*\),"y":\([-0-9.e]*\),"w":\([-0-9.e]*\),"h":\([-0-9.e]*\)}.*/\1 \2 \3 \4/p' | head -1; }
dist() { printf '%s' "$1" | sed -n 's/.*"distance":\([-0-9.e]*\).*/\1/p' | head -1; }
iou_ge() { # iou_ge MIN X Y W H X Y W H
	awk -v m="$1" -v a="$2 $3 $4 $5" -v b="$6 $7 $8 $9" 'BEGIN { split(a, p, " "); split(b, q, " ");
		x0 = p[1] > q[1] ? p[1] : q[1]; y0 = p[2] > q[2] ? p[2] : q[2];
		x1 = p[1] + p[3] < q[1] + q[3] ? p[1] + p[3] : q[1] + q[3]; y1 = p[2] + p[4] < q[2] + q[4] ? p[2] + p[4] : q[2] + q[4];
		i = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0; u = p[3] * p[4] + q[3] * q[4] - i;
		exit !(u > 0 && i / u >= m) }'
}

http POST /v1/recognize --data-binary @"$T/p12.jpg"
is "$CODE" 200 "a 12-megapixel JPEG is recognised"
has "$BODY" '"image":{"width":4000,"height":3000,"format":"jpeg","decoded_scale":4}' \
	"the reply gives the photo's own size and the scale it was decoded at (1/4: 1000 px keep decode.min_side 640, 1/8 would not)"
has "$BODY" "\"match\":{\"face_id\":" "the face is matched"
has "$BODY" "\"person\":{\"id\": $pid," "to the person enrolled from the small photo"
B12=$(box "$BODY"); D12=$(dist "$BODY")
check "the box is in the photo's pixels (a face of hundreds of pixels: $B12)" \
	awk -v b="$B12" 'BEGIN { split(b, p, " "); exit !(p[3] > 400 && p[1] + p[3] <= 4000 && p[2] + p[4] <= 3000) }'
http POST /v1/recognize --data-binary @"$T/p2.jpg"
has "$BODY" '"image":{"width":1600,"height":1200,"format":"jpeg","decoded_scale":2' \
	"a 2-megapixel JPEG is decoded at 1/2 (800 px keep decode.min_side 640)"
has "$BODY" "\"person\":{\"id\": $pid," "and its face is the person's"
http POST /v1/detect --data-binary @"$T/g12.jpg"
is "$CODE" 200 "the six-face photo at 12 megapixels"
has "$BODY" '"face_count":6,' "its six faces are found"
has "$BODY" '"decoded_scale":4,"face_region_scale":2}' "their region was decoded again at 1/2 (faces under decode.face_side 200 at 1/4)"
G12=$(boxes "$BODY")
L12=$(printf '%s' "$BODY" | grep -o '"landmarks":\[\[[-0-9.e]*,[-0-9.e]*\]' | head -1 | sed 's/[^-0-9.e,]//g')
check "landmarks are in the photo's pixels too ($L12)" \
	awk -v l="$L12" 'BEGIN { split(l, p, ","); exit !(p[1] > 0 && p[1] < 4000 && p[2] > 0 && p[2] < 2665) }'
head -c 1500000 "$T/p12.jpg" >"$T/cut.jpg"
http POST /v1/recognize --data-binary @"$T/cut.jpg"
is "$CODE" 422 "a truncated large JPEG is refused"
has "$BODY" '"code":"bad_image"' "as bad_image"
http POST /v1/recognize --data-binary @"$T/vga.jpg"
is "$CODE" 200 "and the server goes on serving"
case $BODY in *decoded_scale*) ok 1 "a 640x480 photo is decoded at full size";; *) ok 0 "a 640x480 photo is decoded at full size";; esac

# the same photos decoded at full size, as before decode.min_side
dv_stop
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "workers: 1" "$(cat "$T/base.yaml")" "decode: {min_side: 0}"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd restarts with decode.min_side 0"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$T/p12.jpg"
has "$BODY" '"image":{"width":4000,"height":3000,"format":"jpeg"}' "decode.min_side 0: decoded at full size"
B1=$(box "$BODY"); D1=$(dist "$BODY")
# shellcheck disable=SC2086
check "the same box either way (IoU >= 0.9: $B12 / $B1)" iou_ge 0.9 $B12 $B1
check "the same distance to the enrolled face within 0.05 ($D12 / $D1)" \
	awk -v a="$D12" -v b="$D1" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= 0.05) }'
http POST /v1/detect --data-binary @"$T/g12.jpg"
has "$BODY" '"face_count":6,' "the six faces at full size"
G1=$(boxes "$BODY")
matched=0
for b in $(printf '%s\n' "$G1" | tr ' ' ','); do
	for c in $(printf '%s\n' "$G12" | tr ' ' ','); do
		# shellcheck disable=SC2046
		if iou_ge 0.8 $(echo "$b $c" | tr ',' ' '); then matched=$((matched + 1)); break; fi
	done
done
is "$matched" 6 "each face's box at full size has its twin decoded scaled (IoU >= 0.8)"

# detect.min_face: the detector runs the smallest input that keeps such faces
# (detect_darknet's face_at_input, 40 px), and smaller faces are not reported
big=$(printf '%s\n' "$G1" | awk '{ s = $3 > $4 ? $3 : $4; if (s >= 500) n++ } END { print n + 0 }')
dv_stop
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "workers: 1" "$(cat "$T/base.yaml")" \
	"detect: {min_face: 500}"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd restarts with detect.min_face 500"; done_testing; }
wait_ready
http POST /v1/detect --data-binary @"$T/g12.jpg"
is "$CODE" 200 "detect.min_face 500: the six-face photo"
has "$BODY" '"input_size":320}' "the detector ran at 320 (1000 px decoded, faces of 125 px there: 40 px at 320)"
is "$(printf '%s' "$BODY" | sed -n 's/.*"face_count":\([0-9]*\).*/\1/p')" "$big" \
	"the faces of 500 px and more at the full input ($big) are all found"
small=$(boxes "$BODY" | awk '{ s = $3 > $4 ? $3 : $4; if (s < 500) n++ } END { print n + 0 }')
is "$small" 0 "none under 500 px is reported"
done_testing
