#!/bin/sh
# The hooks page in headless Chromium (tests/web/hooks.js): edit a stored hook,
# see a syntax error at its line, fix it, save, and see its output in a
# recognition through the front desk; test, diff and roll back. The real
# networks and a real PostgreSQL. Screenshots go to tests/web/screenshots/.
# Needs chromium, node and npm (playwright-core is installed the first time),
# `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/web/lib.sh"
PHOTO="$top_srcdir/../shared/testdata/faceapi_bbt/Jim_Parsons/sheldon1.png"
web_setup node-hooks hooks.js
pg_up
web_conf "$T/c.yaml"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
(cd "$WORK" && node hooks.js "$URL" "$KEY" "$PHOTO" "$SHOTS")
rc=$?
dv_stop
exit $rc
