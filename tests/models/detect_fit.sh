#!/bin/sh
# The detector's input follows a frame's shape (detect_darknet `input_fit`, on by default;
# issue 18): at the largest input a 4:3 frame runs at 608x480, a 16:9 one at 608x352 and a
# portrait 4:3 one at 480x608 instead of face-api's 608x608 square, and finds the same faces
# with the same boxes as the square (checked against a restart with input_fit false); the
# same at the smaller input detect.min_face picks (64: 416x320 for a 640x480 frame);
# make eval-detect DETECT_B=... compares them on the dev photos. With the real networks;
# needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
real_photos
"$TOJPEG" "$P" "$T/vga.jpg" 640 480
"$TOJPEG" "$P" "$T/wide.jpg" 1280 720
"$TOJPEG" "$P" "$T/tall.jpg" 480 640
cp "$G" "$T/group.jpg" # 710x473, six faces
grep -q 'so: detect_darknet,' "$T/base.yaml" || skip_all "conf/dejaview.yaml has no detect_darknet line to edit"
run() { # run NAME PLUGIN_EXTRA [CONFIG_LINE]: every photo through /v1/detect, boxes in $T/NAME.PHOTO
	write_conf "$T/$1.yaml" "model_dir: \"$top_builddir/models\"" "workers: 1" "log: {level: info}" \
		"$(sed "s/so: detect_darknet,/so: detect_darknet$2,/" "$T/base.yaml")" ${3:+"$3"}
	dv_start "$T/$1.yaml" || { ok 1 "dejaviewd starts ($1)"; done_testing; }
	wait_ready
	for ph in vga wide tall group; do # (not p: http sets it)
		http POST /v1/detect --data-binary @"$T/$ph.jpg"
		[ "$CODE" = 200 ] || echo "# $1 $ph: HTTP $CODE $BODY"
		boxes "$BODY" >"$T/$1.$ph"
	done
	[ "$1" != fit64 ] || per_request
	dv_stop
	mv "$T/dejaviewd.log" "$T/$1.log"
}
per_request() { # a camera's own ?min_face= over the configured detect.min_face 64
	http POST "/v1/detect?min_face=0" --data-binary @"$T/vga.jpg"
	is "$CODE" 200 "?min_face=0 over detect.min_face 64"
	eventually log_has "input=608x480"
	ok $? "?min_face=0: the 640x480 frame runs at the full input, 608x480"
	http POST "/v1/recognize?min_face=200" --data-binary @"$T/group.jpg"
	has "$BODY" '"faces":[]' "?min_face=200: the six faces of ~110 px are not reported"
	http POST "/v1/detect?min_face=-1" --data-binary @"$T/vga.jpg"
	is "$CODE" 400 "?min_face=-1 is refused"
	has "$BODY" '"code":"bad_request"' "as bad_request"
	http POST "/v1/detect?min_face=big" --data-binary @"$T/vga.jpg"
	is "$CODE" 400 "?min_face=big is refused"
}
run fit ""
run square ", input_fit: false"
has "$(cat "$T/fit.log")" "input=608x480" "a 4:3 frame (640x480, and the six-face 710x473) runs at 608x480"
has "$(cat "$T/fit.log")" "input=608x352" "a 16:9 frame (1280x720) at 608x352"
has "$(cat "$T/fit.log")" "input=480x608" "a portrait 4:3 frame (480x640) at 480x608"
check "with input_fit false, none but the square" sh -c "! grep -q 'input=608x480\|input=608x352\|input=480x608' '$T/square.log'"
run fit64 "" "detect: {min_face: 64}"
run square64 ", input_fit: false" "detect: {min_face: 64}"
has "$(cat "$T/fit64.log")" "input=416x320" "with detect.min_face 64, a 640x480 frame runs at 416x320"
has "$(cat "$T/fit64.log")" "input=320x416" "a portrait one at 320x416"
has "$(cat "$T/fit64.log")" "input=512x384" "the six-face 710x473 at 512x384"
has "$(cat "$T/square64.log")" "input=416x416" "with input_fit false, at 416x416"
for run in "fit square" "fit64 square64"; do
set -- $run
for ph in vga wide tall group; do
	nf=$(wc -l <"$T/$1.$ph") ns=$(wc -l <"$T/$2.$ph")
	is "$nf" "$ns" "$1 $ph: as many faces as the square input ($ns)"
	# each box against its best twin of the square run
	worst=$(awk 'NR == FNR { s[++n] = $0; next } {
		split($0, p, " "); best = 0
		for (k = 1; k <= n; k++) { split(s[k], q, " ")
			x0 = p[1] > q[1] ? p[1] : q[1]; y0 = p[2] > q[2] ? p[2] : q[2]
			x1 = p[1] + p[3] < q[1] + q[3] ? p[1] + p[3] : q[1] + q[3]; y1 = p[2] + p[4] < q[2] + q[4] ? p[2] + p[4] : q[2] + q[4]
			i = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0; u = p[3] * p[4] + q[3] * q[4] - i
			if (u > 0 && i / u > best) best = i / u }
		if (FNR == 1 || best < worst) worst = best }
		END { printf "%.4f", FNR ? worst : 0 }' "$T/$2.$ph" "$T/$1.$ph")
	check "$1 $ph: every box overlaps its twin of the square input by IoU >= 0.95 (worst $worst)" \
		awk -v w="$worst" 'BEGIN { exit !(w >= 0.95) }'
done
done
done_testing
