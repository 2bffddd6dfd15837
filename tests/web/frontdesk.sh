#!/bin/sh
# The front-desk page in headless Chromium (tests/web/frontdesk.js): the real
# networks, a real PostgreSQL, the shipped hooks, a fake camera fed from a
# test photo. Screenshots are kept in tests/web/screenshots/ of the build.
# Needs chromium, node and npm (playwright-core is installed the first time),
# `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
PHOTO="$top_srcdir/../shared/testdata/faceapi_bbt/Jim_Parsons/sheldon1.png"
[ -x /usr/bin/chromium ] || skip_all "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip_all "node and npm are needed"
[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -f "$PHOTO" ] || skip_all "../shared/testdata is absent"
work="$top_builddir/tests/web/node"
mkdir -p "$work" "$top_builddir/tests/web/screenshots"
cp "$top_srcdir/tests/web/package.json" "$top_srcdir/tests/web/frontdesk.js" "$work/"
if [ ! -d "$work/node_modules/playwright-core" ]; then
	(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) || skip_all "npm install playwright-core failed (offline?)"
fi
pg_up
sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' \
	-e "s|\.\./scripts/|$top_srcdir/scripts/|g" "$top_srcdir/conf/dejaview.yaml" >"$T/base.yaml"
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "web: {dir: \"$top_srcdir/web\"}" "$(cat "$T/base.yaml")"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
"$DV_TOOLS/dv_toy4m" "$PHOTO" "$T/camera.y4m" 10 || skip_all "cannot make the camera video"
http PATCH /v1/tenant -H 'Content-Type: application/json' -d '{"settings":{"loyalty":{"window_seconds":0}}}'
(cd "$work" && node frontdesk.js "$URL" "$KEY" "$T/camera.y4m" "$PHOTO" "$top_builddir/tests/web/screenshots")
rc=$?
dv_stop
exit $rc
