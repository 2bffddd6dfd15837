#!/bin/sh
# Scoped and publishable keys, CORS, rates, the SDK and sign-up over plain
# HTTP (issue 17; tests/web/sdk.sh does the same in a browser): every call
# outside a key's scopes is 403 naming the scope; a publishable key works
# from its origins only, with CORS headers for them and none for others;
# preflights are answered for publishable keys' origins only; a rate is a
# token bucket (429 + Retry-After); per-key counters; the SDK is served, small;
# sign-up is off by default, then needs its invitation and is limited per
# address. Example plugins: no models needed.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
INVITE=open-sesame
write_conf "$T/c.yaml" "$SERVICE_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
SECRET=$KEY
key() { printf '%s' "$BODY" | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p'; }
# the JSON PostgreSQL writes has spaces ("a": 1): compare without them
has() { _h=$(printf '%s' "$1" | sed 's/" *: */":/g; s/, "/,"/g'); case $_h in *"$2"*) ok 0 "$3" ;; *) ok 1 "$3"; echo "#   $(printf '%s' "$_h" | head -c 600)"; echo "#   does not contain: $2" ;; esac; }

# --- scopes
http POST /v1/keys -H "$J" -d '{"name":"reader","scopes":["persons:read"]}'
is "$CODE" 201 "a key with one scope"
has "$BODY" '"scopes":["persons:read"]' "... says its scopes"
has "$BODY" '"publishable":false' "... a secret key (no origins)"
READER=$(key)
http POST /v1/keys -H "$J" -d '{"name":"x","scopes":["fly"]}'
is "$CODE" 422 "an unknown scope is refused"
http POST /v1/keys -H "$J" -d '{"name":"x","scopes":["recognize","keys"],"origins":["https://a.example"]}'
is "$CODE" 422 "origins with a scope browsers may not hold are refused"
http POST /v1/keys -H "$J" -d '{"name":"x","scopes":["recognize"],"origins":["https://a.example/path"]}'
is "$CODE" 422 "an origin with a path is refused"
KEY=$READER
http GET /v1/persons
is "$CODE" 200 "persons:read lists people"
for ep in "POST /v1/persons persons:write" "DELETE /v1/persons/1 persons:write" "GET /v1/events events:read" \
	"GET /v1/hooks hooks" "GET /v1/keys keys" "PATCH /v1/tenant keys" "GET /v1/audit keys" "POST /v1/recognize recognize" \
	"POST /v1/jobs jobs"; do
	set -- $ep
	http "$1" "$2" -H "$J" -d '{}'
	is "$CODE" 403 "persons:read only: $1 $2 is 403"
	has "$BODY" "$3" "... naming $3"
done
http GET /v1/tenant
is "$CODE" 200 "any key reads its tenant (signing in)"
KEY=$SECRET
http GET /v1/keys
has "$BODY" '"scopes":["*"]' "older keys hold every scope"
check "no secret in the list" sh -c "! printf '%s' '$BODY' | grep -q '${READER#dvk_????????????}'"

# --- a publishable key
http POST /v1/keys -H "$J" -d '{"name":"site","scopes":["recognize","detect","enrol"],"origins":["https://shop.example","http://127.0.0.1:9"],"rate_per_minute":1000}'
is "$CODE" 201 "a publishable key"
has "$BODY" '"publishable":true' "... publishable"
has "$BODY" '"origins":["https://shop.example","http://127.0.0.1:9"]' "... with its origins"
PUB=$(key)
check "... dvp_" sh -c "case '$PUB' in dvp_*) true;; *) false;; esac"
"$IMG" 120 90 "20,20,40,90,200,120" >"$T/a.ppm"
KEY=$PUB
http POST /v1/recognize -H "Origin: https://shop.example" --data-binary @"$T/a.ppm"
is "$CODE" 200 "from its origin it recognises"
has "$HDRS" "Access-Control-Allow-Origin: https://shop.example" "... with CORS headers for that origin"
has "$HDRS" "Access-Control-Expose-Headers: Retry-After" "... exposing Retry-After"
http POST /v1/recognize -H "Origin: https://evil.example" --data-binary @"$T/a.ppm"
is "$CODE" 403 "from another origin: 403"
check "... without CORS headers (the browser delivers nothing)" sh -c "! printf '%s' '$HDRS' | grep -qi access-control"
http GET /v1/persons -H "Origin: https://shop.example"
is "$CODE" 403 "it cannot list people"
has "$HDRS" "Access-Control-Allow-Origin: https://shop.example" "... and its page can read why"
http DELETE /v1/persons/1 -H "Origin: https://shop.example"
is "$CODE" 403 "nor erase one"
http GET /v1/key -H "Origin: https://shop.example"
is "$CODE" 200 "GET /v1/key: any key reads its own scopes"
has "$BODY" '"publishable":true,"scopes":["recognize","detect","enrol"]' "... publishable, recognize, detect, enrol"
KEY=
http POST /v1/recognize -H "Authorization: Bearer dvk_${PUB#dvp_}" --data-binary @"$T/a.ppm"
is "$CODE" 401 "its secret with a dvk_ prefix is not a key"
KEY=$SECRET
http POST /v1/recognize -H "Origin: https://shop.example" --data-binary @"$T/a.ppm"
is "$CODE" 200 "a secret key answers a browser..."
check "... without CORS headers (it is not for pages)" sh -c "! printf '%s' '$HDRS' | grep -qi access-control"

# --- preflights (the origins arrive through NOTIFY dv_keys)
preflight() { curl -s -o /dev/null -D "$T/pf" -X OPTIONS -H "Origin: $1" -H "Access-Control-Request-Method: POST" \
	-H "Access-Control-Request-Headers: authorization" "$URL/v1/recognize" -w '%{http_code}'; }
allowed() { preflight https://shop.example >/dev/null; grep -qi "^Access-Control-Allow-Origin: https://shop.example" "$T/pf"; }
check "a preflight from a publishable key's origin is allowed" eventually allowed
check "... for the Authorization header" grep -qi "^Access-Control-Allow-Headers:.*Authorization" "$T/pf"
is "$(preflight https://evil.example)" 204 "a preflight from another origin is answered"
check "... with no CORS headers" sh -c "! grep -qi access-control-allow "$T/pf""

# --- rates
http POST /v1/keys -H "$J" -d '{"name":"slow","scopes":["detect"],"rate_per_minute":2}'
SLOW=$(key)
KID=$(printf '%s' "$BODY" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
KEY=$SLOW
http POST /v1/detect --data-binary @"$T/a.ppm"; c1=$CODE
http POST /v1/detect --data-binary @"$T/a.ppm"; c2=$CODE
http POST /v1/detect --data-binary @"$T/a.ppm"
is "$c1 $c2 $CODE" "200 200 429" "2 a minute: the third at once is 429"
has "$BODY" '"code":"rate_limited"' "... rate_limited"
check "... with Retry-After (seconds)" sh -c "printf '%s' '$HDRS' | grep -Eqi '^Retry-After: [0-9]+'"
KEY=$SECRET
check "per-key counters" sh -c "curl -s $OPS_URL/metrics | grep -q 'dv_key_requests_total{key=\"$KID\",result=\"rate_limited\"} 1'"

# --- the SDK
CODE=$(curl -s -D "$T/sh" -o "$T/sdk.js" -w '%{http_code}' "$URL/sdk/v1/dejaview.js")
is "$CODE" 200 "GET /sdk/v1/dejaview.js, no key"
check "... JavaScript" grep -qi "^Content-Type: text/javascript" "$T/sh"
check "... any page may include it" grep -qi "^Access-Control-Allow-Origin: \*" "$T/sh"
size=$(wc -c <"$T/sdk.js")
check "... at most 20 KB ($size bytes)" test "$size" -le 20480
check "... defines Dejaview.init" grep -q "init: init" "$T/sdk.js"

# --- sign-up: off by default
KEY=
http GET /v1/signup
has "$BODY" '"enabled":false' "sign-up is off by default"
http POST /v1/signup -H "$J" -d '{"shop":"Bakery"}'
is "$CODE" 403 "... POST /v1/signup is 403"
dv_stop
KEY=$SECRET
write_conf "$T/c2.yaml" "$SERVICE_PLUGINS" \
	"signup: {enabled: true, invitation_sha256: \"$(printf '%s' "$INVITE" | sha256sum | cut -c1-64)\", per_address_per_hour: 2, hooks: \"frontdesk\"}"
dv_start "$T/c2.yaml" || { ok 1 "dejaviewd restarts with sign-up"; done_testing; }
wait_ready
KEY=
http GET /v1/signup
has "$BODY" '"enabled":true,"invitation":true' "on, with an invitation"
http POST /v1/signup -H "$J" -d '{"shop":"Bakery","invitation":"wrong"}'
is "$CODE" 403 "a wrong invitation: 403"
http POST /v1/signup -H "$J" -d '{"shop":"","invitation":"open-sesame"}'
is "$CODE" 422 "an empty shop name: 422"
http POST /v1/signup -H "$J" -d '{"shop":"Bakery","invitation":"open-sesame"}'
is "$CODE" 201 "a shop signs up"
has "$BODY" '"hooks":["frontdesk"]' "... with the built-in hooks of signup.hooks"
NEWKEY=$(key)
KEY=$NEWKEY
http GET /v1/hooks
has "$BODY" '"name":"frontdesk"' "... installed as its stored hooks"
http GET /v1/audit
has "$BODY" '"action":"tenant.signup"' "... and the sign-up is in its audit log"
KEY=
http POST /v1/signup -H "$J" -d '{"shop":"Florist","invitation":"open-sesame"}'
is "$CODE" 201 "a second shop from this address"
http POST /v1/signup -H "$J" -d '{"shop":"Butcher","invitation":"open-sesame"}'
is "$CODE" 429 "a third within the hour: 429 (per_address_per_hour: 2)"
check "... with Retry-After" sh -c "printf '%s' '$HDRS' | grep -qi '^Retry-After: 3600'"
done_testing
