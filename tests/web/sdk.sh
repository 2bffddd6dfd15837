#!/bin/sh
# The browser SDK and publishable keys in headless Chromium (tests/web/sdk.js),
# with a fake camera: a shop's own site on another origin includes
# /sdk/v1/dejaview.js with a publishable key and greets an enrolled visitor
# without a click, offers a stranger enrolment, sends no recognition while
# the scene is empty; the key cannot list or erase people, cannot be used
# from an origin not on its list, and is rate-limited; a shop signs up on
# the front-desk page and recalls a visitor. The real networks and a real
# PostgreSQL. Needs chromium, node and npm, `make models`, ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/web/lib.sh"
TD="$top_srcdir/../shared/testdata/faceapi_bbt"
web_setup node-sdk sdk.js site_server.js
pg_up
INVITE=open-sesame
INVITE_SHA=$(printf '%s' "$INVITE" | sha256sum | cut -c1-64)
web_conf "$T/c.yaml" \
	"signup: {enabled: true, invitation_sha256: \"$INVITE_SHA\", per_address_per_hour: 5}"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
# Sheldon is enrolled; Leonard is a stranger
http POST /v1/persons -H "$J" -d '{"name":"Sheldon"}'
SHELDON=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$SHELDON/faces" --data-binary @"$TD/Jim_Parsons/sheldon2.png"
is "$CODE" 201 "Sheldon is enrolled"
"$DV_TOOLS/dv_toy4m" "$TD/Jim_Parsons/sheldon1.png" "$T/sheldon.y4m" 10 || skip_all "cannot make the camera video"
"$DV_TOOLS/dv_toy4m" "$TD/Johnny_Galecki/leonard1.png" "$T/leonard.y4m" 10
"$IMG" 640 480 >"$T/empty.ppm"
"$DV_TOOLS/dv_toy4m" "$T/empty.ppm" "$T/empty.y4m" 10
# the shop's site: two origins; the key allows the first
node "$WORK/site_server.js" "$URL" "$T/siteports" >/dev/null 2>&1 &
SITE_PID=$!
eventually test -s "$T/siteports"
SITE=$(sed -n 's/^site=//p' "$T/siteports"); OTHER=$(sed -n 's/^other=//p' "$T/siteports")
http POST /v1/keys -H "$J" -d "{\"name\":\"corner shop site\",\"scopes\":[\"recognize\",\"detect\",\"enrol\"],\"origins\":[\"http://127.0.0.1:$SITE\"],\"rate_per_minute\":600}"
is "$CODE" 201 "a publishable key for the shop's site"
PKEY=$(printf '%s' "$BODY" | sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
check "... its text says so (dvp_)" sh -c "case '$PKEY' in dvp_*) true;; *) false;; esac"
has "$BODY" '"publishable":true' "... publishable"
http POST /v1/keys -H "$J" -d "{\"name\":\"slow\",\"scopes\":[\"detect\"],\"origins\":[\"http://127.0.0.1:$SITE\"],\"rate_per_minute\":3}"
LKEY=$(printf '%s' "$BODY" | sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
http POST /v1/keys -H "$J" -d '{"name":"bad","scopes":["persons:write"],"origins":["http://127.0.0.1:1"]}'
is "$CODE" 422 "a key with origins and a scope a browser may not hold is refused"
(cd "$WORK" && TAP_START=$tap_n node sdk.js "$URL" "$OPS_URL" "$PKEY" "$LKEY" "$SITE" "$OTHER" "$SHELDON" "$INVITE" \
	"$T/sheldon.y4m" "$T/leonard.y4m" "$T/empty.y4m" "$SHOTS")
rc=$?
kill $SITE_PID 2>/dev/null; wait $SITE_PID 2>/dev/null
dv_stop
# the plan (1..N) came from sdk.js; a failure before it is the shell's
[ "$tap_fail" = 0 ] || rc=1
exit $rc
