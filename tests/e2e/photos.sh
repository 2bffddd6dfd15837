#!/bin/sh
# End to end with real photos from ../shared/testdata (evaluation data, never
# copied into the project; skipped when absent): JPEG and PNG decode over
# HTTP, and cuts of a real JPEG are each a clean 422 while the server serves.
. "$top_srcdir/tests/e2e/lib.sh"
TD="$top_srcdir/../shared/testdata"
[ -d "$TD" ] || skip_all "../shared/testdata is absent (evaluation photos are not part of the project)"
jpg=$(find "$TD" -name '*.jpg' | sort | head -1)
png=$(find "$TD" -name '*.png' | sort | head -1)
[ -n "$jpg" ] || skip_all "no JPEG under ../shared/testdata"
pg_up
write_conf "$T/c.yaml" "$DEFAULT_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }

http POST /v1/detect --data-binary @"$jpg" -H 'Content-Type: image/jpeg'
is "$CODE" 200 "a real JPEG ($(basename "$jpg")) decodes"
has "$BODY" '"format":"jpeg"' "reported as JPEG"
if [ -n "$png" ]; then
	http POST /v1/detect --data-binary @"$png"
	is "$CODE" 200 "a real PNG ($(basename "$png")) decodes"
	has "$BODY" '"format":"png"' "reported as PNG"
fi
size=$(wc -c <"$jpg")
bad=0
for frac in 10 25 40 55 70 85 95 99; do
	head -c $((size * frac / 100)) "$jpg" >"$T/cut.jpg"
	http POST /v1/detect --data-binary @"$T/cut.jpg"
	[ "$CODE" = 422 ] || { bad=$((bad + 1)); echo "# cut at $frac%: $CODE $BODY"; }
done
is "$bad" 0 "every cut of the JPEG (10% to 99%) is a 422 bad_image"
http GET /healthz
is "$CODE" 200 "and the server keeps serving"
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
