#!/bin/sh
# End to end, the recognition service over HTTP against a real PostgreSQL,
# with the example plugins (a "face" is a bright square; its vector is its
# colour) and the real matcher (match_flat): keys, people, enrolment with
# no_face / multiple_faces / duplicate_of, recognition with persons and
# events, verify, erasure, key revocation, the admin API, async jobs with a
# webhook, the three body forms, and the OpenAPI document.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
ADMIN=$("$DEJAVIEWD" admin key 2>"$T/admin.err")
ADMIN_SHA=$(sed -n 's/.*key_sha256: "\(.*\)"/\1/p' "$T/admin.err")
write_conf "$T/c.yaml" "admin: {key_sha256: \"$ADMIN_SHA\"}" "$SERVICE_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready || echo "# not ready"
J='Content-Type: application/json'
# Alice is a yellow square, Bob a cyan one; photos differ in place and size
"$IMG" 120 90 20,20,40,250,250,120 >"$T/alice1.ppm"
"$IMG" 160 100 70,30,50,250,250,120 >"$T/alice2.ppm"
"$IMG" 120 90 30,15,40,120,250,250 >"$T/bob1.ppm"
"$IMG" 300 200 >"$T/none.ppm"
"$IMG" 160 90 10,10,40,250,250,120 90,20,40,120,250,250 >"$T/both.ppm"
jget() { printf '%s' "$1" | sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" | head -1; }

# --- keys
K=$KEY; KEY=
http POST /v1/recognize --data-binary @"$T/alice1.ppm"
is "$CODE" 401 "no key: 401"
has "$BODY" '"code":"unauthorized"' "coded unauthorized"
has "$HDRS" "WWW-Authenticate: Bearer" "with WWW-Authenticate"
KEY=dvk_00000000000000000000000000000000000000000000000000000
http GET /v1/persons
is "$CODE" 401 "an unknown key: 401"
KEY=$K
http GET /v1/persons -H "X-API-Key: $K"
is "$CODE" 200 "X-API-Key works too"

# --- people
http POST /v1/persons -H "$J" -d '{"name":"Alice","external_id":"a-1","attributes":{"room_temp":21,"vip":true}}'
is "$CODE" 201 "create a person: 201"
ALICE=$(jget "$BODY" id)
has "$BODY" '"room_temp": 21' "with her attributes"
http POST /v1/persons -H "$J" -d '{"name":"Bob"}'
BOB=$(jget "$BODY" id)
http POST /v1/persons -H "$J" -d '{"external_id":"x"}'
is "$CODE" 422 "a person without a name: 422"
has "$BODY" '"code":"invalid_field","message":"name is required"' "says name is required"
http POST /v1/persons -H "$J" -d '{"name":"Eve","nickname":"e"}'
has "$BODY" "unknown field 'nickname'" "an unknown field is refused by name"
http POST /v1/persons -H "$J" -d '{"name":"Alice 2","external_id":"a-1"}'
is "$CODE" 409 "a taken external_id: 409"
http POST /v1/persons -H "$J" -d '{"name":'
is "$CODE" 400 "malformed JSON: 400"
http GET "/v1/persons?query=ali"
has "$BODY" '"name": "Alice"' "search by part of the name"
http GET "/v1/persons?query=a-1"
has "$BODY" '"external_id": "a-1"' "search by external id"
http GET "/v1/persons?limit=1"
has "$BODY" "\"next_after\": $ALICE" "pages: next_after"
http GET "/v1/persons?limit=1&after=$ALICE"
has "$BODY" '"name": "Bob"' "the next page"
http PATCH "/v1/persons/$ALICE" -H "$J" -d '{"attributes":{"bath_temp":39,"vip":null}}'
has "$BODY" '"bath_temp": 39' "PATCH merges attributes"
case $BODY in *vip*) ok 1 "a null attribute is removed" ;; *) ok 0 "a null attribute is removed" ;; esac
has "$BODY" '"room_temp": 21' "and keeps the others"
http GET /v1/persons/999999
is "$CODE" 404 "an unknown person: 404"

# --- recognition before enrolment, then enrolment
http POST "/v1/recognize?location=lobby&camera=cam-1" --data-binary @"$T/alice1.ppm"
is "$CODE" 200 "recognize an unknown face"
has "$BODY" '"match":null,"unknown":true' "unknown"
has "$BODY" '"events_recorded":1' "and an event is recorded"
has "$BODY" '"record":' "the reply's timings say how long recording took"
curl -s "$URL/metrics" >"$T/metrics.txt"
if grep -q '^dv_record_duration_seconds_count{} [1-9]' "$T/metrics.txt"; then ok 0 "and /metrics counts it"; else ok 1 "and /metrics counts it"; fi
http POST "/v1/persons/$ALICE/faces?location=desk" --data-binary @"$T/alice1.ppm"
is "$CODE" 201 "enrol Alice: 201"
FACE=$(printf '%s' "$BODY" | sed -n 's/.*"face_id":\([0-9]*\).*/\1/p')
has "$BODY" '"quality":' "with a quality"
has "$BODY" '"chip":true' "and a stored chip"
curl -s -H "Authorization: Bearer $KEY" -o "$T/chip.jpg" "$URL/v1/faces/$FACE/chip"
is "$(od -An -tx1 -N2 "$T/chip.jpg" | tr -d ' ')" "ffd8" "the chip is a JPEG"
http POST "/v1/recognize?location=lobby" --data-binary @"$T/alice2.ppm"
has "$BODY" "\"match\":{\"face_id\":$FACE,\"person\":{\"id\": $ALICE, \"name\": \"Alice\"" "Alice is recognised by name"
has "$BODY" '"unknown":false' "not unknown"
http POST "/v1/recognize" --data-binary @"$T/bob1.ppm"
has "$BODY" '"unknown":true' "Bob is still unknown"
http POST "/v1/persons/$BOB/faces" --data-binary @"$T/none.ppm"
is "$CODE" 422 "enrol a photo without a face: 422"
has "$BODY" '"code":"no_face"' "coded no_face"
http POST "/v1/persons/$BOB/faces" --data-binary @"$T/both.ppm"
is "$CODE" 422 "enrol a photo with two faces: 422"
has "$BODY" '"code":"multiple_faces"' "coded multiple_faces, naming the boxes"
http POST "/v1/persons/$BOB/faces?box=90,20,40,40" --data-binary @"$T/both.ppm"
is "$CODE" 201 "with box= naming Bob's face: 201"
http POST "/v1/recognize" --data-binary @"$T/both.ppm"
has "$BODY" '"name": "Alice"' "a group photo: Alice"
has "$BODY" '"name": "Bob"' "and Bob"
http POST /v1/persons/999999/faces --data-binary @"$T/alice1.ppm"
is "$CODE" 404 "enrol into an unknown person: 404"

# --- duplicates
http POST /v1/persons -H "$J" -d '{"name":"Impostor"}'
IMP=$(jget "$BODY" id)
http POST "/v1/persons/$IMP/faces" --data-binary @"$T/alice2.ppm"
is "$CODE" 201 "Alice's face enrolled as someone else: accepted by default"
has "$BODY" "\"duplicate_of\":{\"person\":{\"id\": $ALICE" "and reported as duplicate_of Alice"
http PATCH /v1/tenant -H "$J" -d '{"settings":{"reject_duplicates":true}}'
has "$BODY" '"reject_duplicates": true' "the tenant refuses duplicates from now on"
http POST "/v1/persons/$IMP/faces" --data-binary @"$T/alice1.ppm"
is "$CODE" 409 "then it is refused: 409"
has "$BODY" '"code":"duplicate_face"' "coded duplicate_face"

# --- settings over their limit change nothing
big() { printf '{"settings":{"%s":"%s"}}' "$1" "$(head -c "$2" /dev/zero | tr '\0' x)" >"$T/big.json"; }
settings_now() { psql_db -c "SELECT md5(settings::text) FROM dv_tenants t JOIN dv_api_keys k ON k.tenant_id = t.id WHERE k.prefix = substr('$KEY', 5, 12)"; }
before=$(settings_now)
big note 70000
http PATCH /v1/tenant -H "$J" --data-binary @"$T/big.json"
is "$CODE" 422 "settings of 70 KiB: 422"
has "$BODY" '"code":"invalid_field","message":"settings are limited to 64 KiB of JSON"' "naming the limit"
is "$(settings_now)" "$before" "and nothing was written"
big note1 40000
http PATCH /v1/tenant -H "$J" --data-binary @"$T/big.json"
is "$CODE" 200 "40 KiB of settings are taken"
before=$(settings_now)
big note2 40000
http PATCH /v1/tenant -H "$J" --data-binary @"$T/big.json"
is "$CODE" 422 "40 KiB more, 80 KiB merged: 422"
has "$BODY" 'limited to 64 KiB of JSON, merged; nothing was changed' "saying why"
is "$(settings_now)" "$before" "and nothing was written"
http PATCH /v1/tenant -H "$J" -d '{"settings":{"note1":null}}'
has "$BODY" '"reject_duplicates": true' "a null removes a setting, the others stay"

# --- verify
http POST /v1/verify -F image_a=@"$T/alice1.ppm" -F image_b=@"$T/alice2.ppm"
has "$BODY" '"same":true' "verify two photos of Alice: same"
http POST /v1/verify -F image_a=@"$T/alice1.ppm" -F image_b=@"$T/bob1.ppm"
has "$BODY" '"same":false' "Alice and Bob: not the same"
http POST "/v1/verify?person_id=$ALICE" --data-binary @"$T/alice2.ppm"
has "$BODY" "\"same\":true" "a photo against a person"
http POST "/v1/verify?person_id=$BOB" --data-binary @"$T/alice2.ppm"
has "$BODY" "\"same\":false" "against the wrong person"
http POST /v1/verify -F image_a=@"$T/alice1.ppm" -F image_b=@"$T/none.ppm"
has "$BODY" '"code":"no_face","message":"no face was found in image_b"' "a photo without a face is named"

# --- body forms and parameters
b64=$(base64 -w0 "$T/alice2.ppm")
http POST /v1/recognize -H "$J" -d "{\"image\":\"$b64\",\"location\":\"gate\"}"
has "$BODY" '"name": "Alice"' "JSON with a base64 image"
has "$BODY" '"location":"gate"' "and its fields"
http POST /v1/recognize -H "$J" -d "{\"image\":\"data:image/x-portable-pixmap;base64,$b64\"}"
has "$BODY" '"name": "Alice"' "a data: URL"
http POST /v1/recognize -F "image=@$T/alice2.ppm" -F camera=door
has "$BODY" '"camera":"door"' "multipart with a text field"
http POST /v1/recognize -H "$J" -d '{"image":"%%%"}'
is "$CODE" 400 "bad base64: 400"
http POST "/v1/recognize?threshold=50" --data-binary @"$T/alice2.ppm"
is "$CODE" 400 "a threshold over match.threshold_max: 400"
http POST "/v1/recognize?colour=red" --data-binary @"$T/alice2.ppm"
has "$BODY" "unknown query parameter 'colour'" "an unknown parameter is named"
http GET /v1/recognize
is "$CODE" 405 "GET on recognize: 405"
has "$HDRS" "Allow: POST" "with Allow"
http GET /v1/openapi.yaml
has "$BODY" "openapi: 3.0.3" "the OpenAPI document is served"

# --- events
http GET "/v1/events?person_id=$ALICE&kind=recognized"
has "$BODY" '"kind": "recognized"' "Alice's recognitions are events"
has "$BODY" '"location": "lobby"' "with the location"
http GET "/v1/events?kind=unknown&limit=1"
has "$BODY" '"kind": "unknown"' "unknown faces are events too"
http GET "/v1/events?kind=smile"
is "$CODE" 400 "an unknown kind: 400"

# --- keys of the tenant
http POST /v1/keys -H "$J" -d '{"name":"kiosk"}'
is "$CODE" 201 "a second key"
K2=$(printf '%s' "$BODY" | sed -n 's/.*"api_key":"\(dvk_[0-9a-f]*\)".*/\1/p')
K2ID=$(printf '%s' "$BODY" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
http GET /v1/keys
case $BODY in *dvk_*[0-9a-f]"\""*) has "$BODY" '"prefix"' "keys are listed by prefix" ;; *) has "$BODY" '"prefix"' "keys are listed by prefix" ;; esac
case $BODY in *"$K2"*) ok 1 "no secret in the list" ;; *) ok 0 "no secret in the list" ;; esac
k=$KEY; KEY=$K2
http GET "/v1/persons/$ALICE"
is "$CODE" 200 "the second key works"
KEY=$k
http DELETE "/v1/keys/$K2ID"
has "$BODY" '"revoked":true' "revoke it"
KEY=$K2
http GET "/v1/persons/$ALICE"
is "$CODE" 401 "a revoked key: 401"
KEY=$k
check "only the hash of a key is stored" sh -c "! psql -h '$PG_HOST' -p 5432 -U postgres -d '$DV_DB_NAME' -XAtc 'SELECT encode(hash, \$\$hex\$\$), prefix FROM dv_api_keys' | grep -q '${K2#dvk_????????????}'"

# --- async jobs and the webhook
"$DV_TOOLS/dv_hookd" "$T/hookport" "$T/hooks" 1 &
HOOK_PID=$!
eventually test -s "$T/hookport"
HP=$(cat "$T/hookport")
http POST /v1/jobs -H "$J" -d "{\"op\":\"recognize\",\"image\":\"$b64\",\"location\":\"async\",\"webhook\":\"http://127.0.0.1:$HP/done\"}"
is "$CODE" 202 "an async recognize: 202"
JOB=$(printf '%s' "$BODY" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
job_is() { http GET "/v1/jobs/$1"; case $BODY in *"\"status\": \"$2\""*) return 0 ;; esac; return 1; }
check "the job is done" eventually job_is "$JOB" done
http GET "/v1/jobs/$JOB"
has "$BODY" '"name": "Alice"' "its result holds the recognition"
wait "$HOOK_PID"
has "$(cat "$T/hooks" 2>/dev/null)" "{\"id\":$JOB,\"status\":\"done\"" "the webhook was called with the result"
# the answer is recorded once the call returns, after the job's own status
hook_recorded() { http GET "/v1/jobs/$JOB"; case $BODY in *'"webhook_status": 200'*) return 0 ;; esac; return 1; }
check "and its answer recorded" eventually hook_recorded
http POST /v1/jobs -H "$J" -d '{"op":"dance"}'
is "$CODE" 422 "an unknown op: 422"
http POST /v1/jobs -H "$J" -d "{\"op\":\"recognize\",\"image\":\"$b64\",\"webhook\":\"ftp://x\"}"
has "$BODY" "webhook must be an http://" "a bad webhook URL is refused"
http POST /v1/jobs -H "$J" -d "{\"op\":\"enrol\",\"person_id\":$BOB,\"image\":\"$(base64 -w0 "$T/bob1.ppm")\"}"
JOB2=$(printf '%s' "$BODY" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
eventually job_is "$JOB2" done || http GET "/v1/jobs/$JOB2"
has "$BODY" '"face_id":' "an async enrolment"

# --- erasure
http DELETE "/v1/faces/$FACE"
has "$BODY" '"deleted":true' "delete Alice's first face"
http GET "/v1/persons/$ALICE/faces"
has "$BODY" '"faces": []' "she has none left"
http PATCH /v1/tenant -H "$J" -d '{"settings":{"reject_duplicates":false}}'
http POST "/v1/persons/$ALICE/faces" --data-binary @"$T/alice1.ppm"
is "$CODE" 201 "duplicates accepted again once the setting is off"
http DELETE "/v1/persons/$ALICE"
has "$BODY" '"faces_deleted":1' "erase Alice with her face"
http GET "/v1/persons/$ALICE"
is "$CODE" 404 "she is gone"
is "$(psql_db -c "SELECT count(*) FROM dv_events WHERE person_id = $ALICE")" 0 "and so are her events"
is "$(psql_db -c "SELECT count(*) FROM dv_faces WHERE person_id = $ALICE")" 0 "and her faces and chips"
http POST /v1/recognize --data-binary @"$T/alice2.ppm"
has "$BODY" '"match":{"face_id":' "her face now matches only the impostor's copy"
case $BODY in *'"name": "Alice"'*) ok 1 "Alice is never named again" ;; *) ok 0 "Alice is never named again" ;; esac

# --- the admin API
k=$KEY; KEY=$K
http POST /v1/admin/tenants -H "$J" -d '{"name":"hotel"}'
is "$CODE" 401 "a tenant key cannot use the admin API"
KEY=$ADMIN
http POST /v1/admin/tenants -H "$J" -d '{"name":"hotel"}'
is "$CODE" 201 "the admin key creates a tenant"
has "$BODY" '"api_key":"dvk_' "and gets its key once"
http GET /v1/admin/tenants
has "$BODY" '"name": "hotel"' "tenants are listed"
KEY=$k
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
