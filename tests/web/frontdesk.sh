#!/bin/sh
# The front-desk page in headless Chromium (tests/web/frontdesk.js): the real
# networks, a real PostgreSQL, the shipped hooks, a fake camera fed from a
# test photo. Screenshots are kept in tests/web/screenshots/ of the build.
# Needs chromium, node and npm (playwright-core is installed the first time),
# `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/web/lib.sh"
PHOTO="$top_srcdir/../shared/testdata/faceapi_bbt/Jim_Parsons/sheldon1.png"
web_setup node frontdesk.js
pg_up
web_conf "$T/c.yaml"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
"$DV_TOOLS/dv_toy4m" "$PHOTO" "$T/camera.y4m" 10 || skip_all "cannot make the camera video"
http PATCH /v1/tenant -H 'Content-Type: application/json' -d '{"settings":{"loyalty":{"window_seconds":0}}}'
(cd "$WORK" && node frontdesk.js "$URL" "$KEY" "$T/camera.y4m" "$PHOTO" "$SHOTS")
rc=$?
dv_stop
exit $rc
