#!/bin/sh
# A person at the desk settles a recognition (issue 14): every face of a
# recognition reply carries its event's id; POST /v1/events/{id}/outcome
# records "confirmed as this person" or "rejected" beside what the model
# decided, GET /v1/events shows it; another tenant's event or person is 404.
# Example plugins: no models needed.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
write_conf "$T/c.yaml" "$SERVICE_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
"$IMG" 120 90 "20,20,40,90,200,120" >"$T/ada.ppm"
"$IMG" 160 120 10,10,30 90,50,40,90,200,120 >"$T/two.ppm"
http POST /v1/persons -H "$J" -d '{"name":"Ada"}'
ADA=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$ADA/faces" --data-binary @"$T/ada.ppm"
http POST /v1/recognize --data-binary @"$T/two.ppm"
n=$(printf '%s' "$BODY" | grep -o '"event_id":[0-9]*' | wc -l)
is "$n" 2 "each face of a recognition carries its event id"
E1=$(printf '%s' "$BODY" | grep -o '"event_id":[0-9]*' | head -1 | cut -d: -f2)
E2=$(printf '%s' "$BODY" | grep -o '"event_id":[0-9]*' | tail -1 | cut -d: -f2)
check "... two events" test "$E1" != "$E2"
http POST "/v1/events/$E1/outcome" -H "$J" -d "{\"person_id\":$ADA}"
is "$CODE" 200 "confirmed as Ada"
has "$BODY" '"outcome": "confirmed"' "... outcome confirmed"
has "$BODY" "\"outcome_person_id\": $ADA" "... as her"
has "$BODY" '"face_index": 0' "... the photo's first face"
http POST "/v1/events/$E2/outcome" -H "$J" -d '{"person_id":null}'
has "$BODY" '"outcome": "rejected"' "the other face: nobody of them (rejected)"
has "$BODY" '"face_index": 1' "... the photo's second face"
http GET "/v1/events?limit=5"
has "$BODY" '"outcome": "confirmed"' "GET /v1/events shows the outcomes"
http POST "/v1/events/$E1/outcome" -H "$J" -d '{"person_id":"Ada"}'
is "$CODE" 422 "a person id that is not a number: 422"
http POST "/v1/events/$E1/outcome" -H "$J" -d '{}'
is "$CODE" 422 "no person_id at all: 422"
http POST "/v1/events/999999/outcome" -H "$J" -d '{"person_id":null}'
is "$CODE" 404 "no such event: 404"
KEY_A=$KEY
KEY=$(new_tenant other "$T/c.yaml")
http POST /v1/persons -H "$J" -d '{"name":"Bob"}'
BOB=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/events/$E1/outcome" -H "$J" -d '{"person_id":null}'
is "$CODE" 404 "another tenant's event: 404"
KEY=$KEY_A
http POST "/v1/events/$E1/outcome" -H "$J" -d "{\"person_id\":$BOB}"
is "$CODE" 404 "another tenant's person: 404"
http GET "/v1/events?limit=5"
has "$BODY" "\"outcome_person_id\": $ADA" "... and the outcome is unchanged"
# settings.auto_update: a recognition sure beyond doubt adds its face, up to the cap
faces() { http GET "/v1/persons/$ADA/faces"; printf '%s' "$BODY" | grep -o '"face_id"\|"id":' | wc -l; }
n0=$(faces)
http POST /v1/recognize --data-binary @"$T/ada.ppm"
is "$(faces)" "$n0" "auto_update off (the default): a recognition adds no face"
http PATCH /v1/tenant -H "$J" -d '{"settings":{"auto_update":true,"auto_update_max_faces":3}}'
http POST /v1/recognize --data-binary @"$T/ada.ppm"
is "$(faces)" "$((n0 + 1))" "auto_update on: a sure recognition adds the face"
http GET "/v1/events?kind=enrolled&limit=1"
has "$BODY" '"location": "auto_update"' "... recorded as an enrolment (location auto_update)"
for i in 1 2 3; do http POST /v1/recognize --data-binary @"$T/ada.ppm"; done
is "$(faces)" 3 "... up to auto_update_max_faces (3), no more"
http DELETE "/v1/persons/$ADA"
http GET "/v1/events?limit=5"
check "the erased person's events go with her (right to be forgotten)" sh -c "! printf '%s' '$BODY' | grep -q '\"outcome_person_id\": $ADA'"
# match.margin_ratio (0.9): someone else as near is a question, not a name
"$IMG" 120 90 "30,30,40,40,220,90" >"$T/twin.ppm"
for who in Tom Tim; do
	http POST /v1/persons -H "$J" -d "{\"name\":\"$who\"}"
	p=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
	http POST "/v1/persons/$p/faces" --data-binary @"$T/twin.ppm"
done
http POST /v1/recognize --data-binary @"$T/twin.ppm"
has "$BODY" '"match":null' "two people as near as each other: no name"
has "$BODY" '"decision":"confirm"' "... the decision is confirm"
has "$BODY" '"Tom"' "... with Tom among the candidates"
has "$BODY" '"Tim"' "... and Tim"
http GET "/v1/events?limit=1"
has "$BODY" '"kind": "unknown"' "... recorded as nobody recognised (the hooks see no one)"
http POST '/v1/recognize?top_k=1' --data-binary @"$T/twin.ppm"
has "$BODY" '"decision":"confirm"' "?top_k=1 shows one candidate, and still sees the other: confirm"
is "$(printf '%s' "$BODY" | grep -o '"face_id":' | wc -l)" 1 "... one candidate shown"
done_testing
