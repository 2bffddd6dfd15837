#!/bin/sh
# Tenant isolation, for every endpoint: a key of tenant B gets 404 for every
# person, face, chip, job, key and event of tenant A, cannot match against
# A's faces, and A's data is untouched afterwards.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
write_conf "$T/c.yaml" "$SERVICE_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready || echo "# not ready"
J='Content-Type: application/json'
"$IMG" 120 90 20,20,40,250,250,120 >"$T/a.ppm"
A=$KEY
B=$(new_tenant other "$T/c.yaml")
# tenant A: a person with a face, a job, a second key, events
http POST /v1/persons -H "$J" -d '{"name":"Alice","external_id":"secret-1"}'
P=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$P/faces" --data-binary @"$T/a.ppm"
F=$(printf '%s' "$BODY" | sed -n 's/.*"face_id":\([0-9]*\).*/\1/p')
http POST /v1/jobs -H "$J" -d "{\"op\":\"detect\",\"image\":\"$(base64 -w0 "$T/a.ppm")\"}"
JOB=$(printf '%s' "$BODY" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
http POST /v1/keys -H "$J" -d '{"name":"a2"}'
KID=$(printf '%s' "$BODY" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
http POST /v1/recognize --data-binary @"$T/a.ppm"
has "$BODY" '"name": "Alice"' "tenant A recognises Alice"
check "ids of A: person $P, face $F, job $JOB, key $KID" test -n "$P$F$JOB$KID"

KEY=$B
for req in "GET /v1/persons/$P" "PATCH /v1/persons/$P" "DELETE /v1/persons/$P" "GET /v1/persons/$P/faces" \
	"POST /v1/persons/$P/faces" "DELETE /v1/faces/$F" "GET /v1/faces/$F/chip" "GET /v1/jobs/$JOB" "DELETE /v1/keys/$KID" \
	"POST /v1/verify?person_id=$P"; do
	set -- $req
	case $1 in
	PATCH) http PATCH "$2" -H "$J" -d '{"name":"Mallory"}' ;;
	POST) http POST "$2" --data-binary @"$T/a.ppm" ;;
	*) http "$1" "$2" ;;
	esac
	check "B: $req -> 404 (got $CODE)" test "$CODE" = 404
done
http GET /v1/persons
case $BODY in *Alice*|*secret-1*) ok 1 "B's person list has none of A's people" ;; *) ok 0 "B's person list has none of A's people" ;; esac
http GET "/v1/persons?query=secret-1"
has "$BODY" '"persons": []' "B cannot find A's person by external id"
http GET "/v1/events?person_id=$P"
has "$BODY" '"events": []' "B sees none of A's events"
http GET /v1/events
case $BODY in *'"id"'*) ok 1 "B's event list is empty" ;; *) ok 0 "B's event list is empty" ;; esac
http POST /v1/recognize --data-binary @"$T/a.ppm"
has "$BODY" '"unknown":true' "B's recognition never matches A's faces"
case $BODY in *Alice*) ok 1 "and never names A's people" ;; *) ok 0 "and never names A's people" ;; esac
http GET /v1/tenant
has "$BODY" '"name": "other"' "B's tenant is B"
has "$BODY" '"faces": 0' "with no faces"
http POST /v1/admin/tenants -H "$J" -d '{"name":"x"}'
check "B cannot use the admin API (got $CODE)" test "$CODE" = 403 -o "$CODE" = 401

KEY=$A
http GET "/v1/persons/$P"
has "$BODY" '"name": "Alice"' "A's person is untouched"
has "$BODY" '"face_count": 1' "with her face"
http GET "/v1/faces/$F/chip"
is "$CODE" 200 "A's chip is there"
http GET "/v1/jobs/$JOB"
is "$CODE" 200 "A's job is there"
http GET /v1/keys
has "$BODY" "\"id\": $KID" "A's key is there"
case $BODY in *'"revoked_at": "'*) ok 1 "and not revoked" ;; *) ok 0 "and not revoked" ;; esac
dv_stop
done_testing
