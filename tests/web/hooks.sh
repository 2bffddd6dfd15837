#!/bin/sh
# The hooks page in headless Chromium (tests/web/hooks.js): edit a stored hook,
# see a syntax error at its line, fix it, save, and see its output in a
# recognition through the front desk; test, diff and roll back. The real
# networks and a real PostgreSQL. Screenshots go to tests/web/screenshots/.
# Needs chromium, node and npm (playwright-core is installed the first time),
# `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
PHOTO="$top_srcdir/../shared/testdata/faceapi_bbt/Jim_Parsons/sheldon1.png"
[ -x /usr/bin/chromium ] || skip_all "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip_all "node and npm are needed"
[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -f "$PHOTO" ] || skip_all "../shared/testdata is absent"
# a folder of its own: frontdesk.sh may run at the same time
work="$top_builddir/tests/web/node-hooks"
mkdir -p "$work" "$top_builddir/tests/web/screenshots"
cp "$top_srcdir/tests/web/package.json" "$top_srcdir/tests/web/hooks.js" "$work/"
if [ ! -d "$work/node_modules/playwright-core" ]; then
	(cd "$work" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) || skip_all "npm install playwright-core failed (offline?)"
fi
pg_up
sed -e '/^listen:/,/^  tcp:/d' -e '/^database:/d' -e '/^plugin_dir:/d' -e '/^model_dir:/d' \
	-e "s|\.\./scripts/|$top_srcdir/scripts/|g" "$top_srcdir/conf/dejaview.yaml" >"$T/base.yaml"
write_conf "$T/c.yaml" "model_dir: \"$top_builddir/models\"" "web: {dir: \"$top_srcdir/web\"}" "$(cat "$T/base.yaml")"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
(cd "$work" && node hooks.js "$URL" "$KEY" "$PHOTO" "$top_builddir/tests/web/screenshots")
rc=$?
dv_stop
exit $rc
