#!/bin/sh
# A recognition's face added to a person without the photo sent again (issue
# 14): POST /v1/persons/{id}/faces?event_id=E takes the face the recognition
# kept (events.face_ttl; events.keep_faces: by default only the faces it did
# not name) — the stranger the desk enrols, the unsure match a receptionist
# confirms. The face is then recognised as the person, the event
# is settled as confirmed, a face is added once (410 event_face_gone after),
# another tenant's event is 404, a face kept past its time is refused and
# deleted, and a person's erasure takes their recognitions' kept faces.
# Example plugins: no models needed.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
write_conf "$T/c.yaml" "$SERVICE_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
id_of() { printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1; }
event_of() { printf '%s' "$BODY" | grep -o '"event_id":[0-9]*' | head -1 | cut -d: -f2; }
kept() { psql_db -c "SELECT count(*) FROM dv_event_faces WHERE event_id = $1"; }
"$IMG" 120 90 "20,20,40,90,200,120" >"$T/ada.ppm"
"$IMG" 120 90 "30,15,50,40,60,220" >"$T/bo.ppm"
http POST /v1/persons -H "$J" -d '{"name":"Ada"}'
ADA=$(id_of)
http POST "/v1/persons/$ADA/faces" --data-binary @"$T/ada.ppm"
is "$CODE" 201 "Ada enrolled from a photo"

# a stranger comes in: unknown, and the recognition keeps the face
http POST /v1/recognize --data-binary @"$T/bo.ppm"
has "$BODY" '"unknown"' "a stranger is unknown"
E=$(event_of)
check "... the face has its event id" test -n "$E"
is "$(kept "$E")" 1 "... and the recognition kept the face with its event"
http POST /v1/persons -H "$J" -d '{"name":"Bo"}'
BO=$(id_of)
http POST "/v1/persons/$BO/faces?event_id=$E"
is "$CODE" 201 "the desk enrols the stranger from the event: 201, no photo sent"
has "$BODY" "\"event_id\":$E" "... the reply names the event"
has "$BODY" "\"person_id\":$BO" "... and the person"
has "$BODY" '"fingerprint"' "... and the embedder's stamp"
FACE=$(printf '%s' "$BODY" | grep -o '"face_id":[0-9]*' | cut -d: -f2)
is "$(kept "$E")" 0 "... the kept face is taken"
http POST /v1/recognize --data-binary @"$T/bo.ppm"
has "$BODY" '"Bo"' "the same face is now recognised as Bo"
has "$BODY" "\"face_id\":$FACE" "... by the face the event gave"
http GET "/v1/events?kind=unknown&limit=5"
has "$BODY" '"outcome": "confirmed"' "the stranger's event is settled: confirmed"
has "$BODY" "\"outcome_person_id\": $BO" "... as Bo"
http GET "/v1/persons/$BO/faces"
has "$BODY" "\"face_id\": $FACE" "Bo's faces list the face"
has "$BODY" '"has_chip": true' "... with its chip (kept with the event)"
http POST "/v1/persons/$BO/faces?event_id=$E"
is "$CODE" 410 "the same event again: 410"
has "$BODY" '"code":"event_face_gone"' "... event_face_gone"

# by default only the faces the server did not name are kept
http POST /v1/recognize --data-binary @"$T/ada.ppm"
has "$BODY" '"Ada"' "Ada recognised"
E1=$(event_of)
is "$(kept "$E1")" 0 "... her recognition keeps no face (events.keep_faces: unknown, the default)"
http POST "/v1/persons/$ADA/faces?event_id=$E1"
is "$CODE" 410 "... so adding it is 410"
dv_stop

# events.keep_faces: all — the faces of recognitions that named someone too
write_conf "$T/c1.yaml" "$SERVICE_PLUGINS" "events: {keep_faces: all}"
dv_start "$T/c1.yaml" || { ok 1 "dejaviewd starts with keep_faces all"; done_testing; }
wait_ready
# the errors
http POST "/v1/persons/$BO/faces?event_id=abc"
is "$CODE" 400 "event_id not a number: 400"
http POST "/v1/persons/$BO/faces?event_id=99999999"
is "$CODE" 404 "no such event: 404"
http POST /v1/recognize --data-binary @"$T/ada.ppm"
E2=$(event_of)
http POST "/v1/persons/$BO/faces?event_id=$E2" --data-binary @"$T/ada.ppm"
is "$CODE" 400 "a photo and an event_id: 400"
http POST "/v1/persons/99999999/faces?event_id=$E2"
is "$CODE" 404 "no such person: 404"
is "$(kept "$E2")" 1 "... and the kept face is still there"
http POST "/v1/persons/$BO/faces?event_id=$E2"
is "$CODE" 201 "Ada's recognition added to Bo: allowed (the tenant does not refuse duplicates)"
has "$BODY" '"duplicate_of"' "... and said to be a duplicate of Ada"
DUP=$(printf '%s' "$BODY" | grep -o '"face_id":[0-9]*' | cut -d: -f2)
http DELETE "/v1/faces/$DUP"
is "$CODE" 200 "... that face removed again"
http POST /v1/recognize --data-binary @"$T/ada.ppm"
has "$BODY" '"Ada"' "Ada recognised as herself again"
E3=$(event_of)
http PATCH /v1/tenant -H "$J" -d '{"settings":{"reject_duplicates":true}}'
http POST "/v1/persons/$BO/faces?event_id=$E3"
is "$CODE" 409 "with reject_duplicates: a recognition of Ada added to Bo is 409"
has "$BODY" '"code":"duplicate_face"' "... duplicate_face"
is "$(kept "$E3")" 1 "... and the kept face is not taken"
http POST "/v1/persons/$ADA/faces?event_id=$E3"
is "$CODE" 201 "... added to Ada herself: 201"
KEY_A=$KEY
KEY=$(new_tenant other "$T/c.yaml")
http POST /v1/persons -H "$J" -d '{"name":"Cy"}'
CY=$(id_of)
http POST /v1/recognize --data-binary @"$T/bo.ppm"
E4=$(event_of)
http POST "/v1/persons/$CY/faces?event_id=$E2"
is "$CODE" 404 "another tenant's event: 404"
KEY=$KEY_A
http POST "/v1/persons/$BO/faces?event_id=$E4"
is "$CODE" 404 "... either way"
is "$(kept "$E4")" 1 "... and its kept face is untouched"

# erasure: a person's recognitions take their kept faces with them
http POST /v1/recognize --data-binary @"$T/bo.ppm"
has "$BODY" '"Bo"' "Bo recognised again"
E5=$(event_of)
is "$(kept "$E5")" 1 "... the recognition kept the face"
"$IMG" 120 90 "10,60,30,200,40,90" >"$T/stranger.ppm"
http POST /v1/recognize --data-binary @"$T/stranger.ppm"
E9=$(event_of)
http POST "/v1/events/$E9/outcome" -H "$J" -d "{\"person_id\":$BO}"
is "$(kept "$E9")" 1 "a recognition settled as Bo (the model did not name him) keeps its face"
http DELETE "/v1/persons/$BO"
is "$(kept "$E5")" 0 "Bo erased: the faces his recognitions kept are gone"
is "$(kept "$E9")" 0 "... and so is the face of a recognition settled as him"
dv_stop

# events.face_ttl: a face past its time is refused, then deleted; 0 keeps none
write_conf "$T/c2.yaml" "$SERVICE_PLUGINS" "events: {face_ttl: 1}"
KEY=$KEY_A
dv_start "$T/c2.yaml" || { ok 1 "dejaviewd starts with face_ttl 1"; done_testing; }
wait_ready
http POST /v1/persons -H "$J" -d '{"name":"Di"}'
DI=$(id_of)
http POST /v1/recognize --data-binary @"$T/bo.ppm"
E6=$(event_of)
sleep 2
http POST "/v1/persons/$DI/faces?event_id=$E6"
is "$CODE" 410 "a face older than events.face_ttl: 410"
has "$BODY" 'face_ttl' "... the message names events.face_ttl"
gone() { [ "$(kept "$E6")" = 0 ]; }
check "... and the server deletes it" eventually gone
dv_stop
write_conf "$T/c3.yaml" "$SERVICE_PLUGINS" "events: {face_ttl: 0}"
dv_start "$T/c3.yaml" || { ok 1 "dejaviewd starts with face_ttl 0"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$T/bo.ppm"
E7=$(event_of)
is "$(kept "$E7")" 0 "face_ttl 0: a recognition keeps no face"
http POST "/v1/persons/$DI/faces?event_id=$E7"
is "$CODE" 410 "... and adding it is 410"
dv_stop
# the quality bar holds for a kept face as for a photo
QUALITY_LINE=
write_conf "$T/c4.yaml" "$SERVICE_PLUGINS" "quality: {min_enrol: 1, min_recognize: 0}"
dv_start "$T/c4.yaml" || { ok 1 "dejaviewd starts with min_enrol 1"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$T/bo.ppm"
E8=$(event_of)
http POST "/v1/persons/$DI/faces?event_id=$E8"
is "$CODE" 422 "a kept face under quality.min_enrol: 422"
has "$BODY" '"code":"low_quality"' "... low_quality"
http POST "/v1/persons/$DI/faces?event_id=$E8&force=true"
is "$CODE" 201 "... ?force=true adds it"
done_testing
