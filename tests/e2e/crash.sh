#!/bin/sh
# kill -9 during 200 concurrent enrolments: after a restart, every enrolment
# that was answered 2xx is there, with its "enrolled" event; nothing is
# half-written (no face without its event, no event without its face, no
# face of a person that does not exist); the gallery is loaded again.
# The kill comes at a point the test controls, whatever this machine's speed:
# after the 40th acknowledgement, with the detector's gate closed from the
# start of the run's second half, so that the enrolments behind the gate are
# provably still in flight (the workers hold two, the queue the rest).
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
GATE="$T/gate"
write_conf "$T/c.yaml" "workers: 2" "limits: {queue: 512, connections: 1024, connections_per_address: 1024}" "plugins:
  detector:   { so: detect_example, gate: \"$GATE\" }
  landmarker: { so: landmarks_example }
  embedder:   { so: embed_example }
  matcher:    { so: match_flat }
pipelines:
  recognize: [decode, detect, landmarks, align, embed, match, record, hooks]"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
i=0
while [ $i -lt 200 ]; do
	i=$((i + 1))
	# one colour per person, so that no enrolment is a duplicate of another
	"$IMG" 100 80 20,20,40,$((60 + i % 190)),$((250 - (i * 7) % 120)),$((90 + (i * 13) % 160)) >"$T/f$i.ppm"
	http POST /v1/persons -H "$J" -d "{\"name\":\"P$i\",\"external_id\":\"p$i\"}"
	echo "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1 >"$T/pid$i"
done
check "200 persons created" test "$(psql_db -c 'SELECT count(*) FROM dv_persons')" = 200
enrol_bg() { # enrol_bg I: enrolment I in the background; its status goes to c$I
	curl -s -o "$T/r$1" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary @"$T/f$1.ppm" \
		"$URL/v1/persons/$(cat "$T/pid$1")/faces" >"$T/c$1" 2>/dev/null &
}
acks() { grep -lx 201 "$T"/c[0-9]* 2>/dev/null | wc -l; }
acks_ge() { [ "$(acks)" -ge "$1" ]; }
# the first 100 run freely and concurrently
i=0
while [ $i -lt 100 ]; do i=$((i + 1)); enrol_bg $i; done
check "the 40th acknowledgement comes" eventually acks_ge 40
# close the gate: from here on every detection waits, so the second 100 are
# accepted and held in flight (in the workers or the queue)
touch "$GATE"
while [ $i -lt 200 ]; do i=$((i + 1)); enrol_bg $i; done
# each of the first 100 is answered or held at the gate; the second 100 are
# all accepted: in flight = (held or queued of the first) + 100
inflight_ge() { metric_ge dv_jobs_inflight "$1"; }
check "the second hundred are in flight behind the gate" eventually inflight_ge 100
echo "# at the kill: $(acks) acknowledged, $(metric dv_jobs_inflight) in flight"
kill -KILL "$DV_PID"
wait "$DV_PID" 2>/dev/null
DV_PID=
rm -f "$GATE"
wait
acked=0; lost=0; missing=0
i=0
while [ $i -lt 200 ]; do
	i=$((i + 1))
	c=$(cat "$T/c$i" 2>/dev/null)
	if [ "$c" = 201 ]; then
		acked=$((acked + 1))
		f=$(sed -n 's/.*"face_id":\([0-9]*\).*/\1/p' "$T/r$i")
		[ "$(psql_db -c "SELECT count(*) FROM dv_faces WHERE id = ${f:-0} AND person_id = $(cat "$T/pid$i")")" = 1 ] || {
			missing=$((missing + 1)); echo "# acknowledged face $f of request $i is missing"; }
	else
		lost=$((lost + 1))
	fi
done
echo "# killed mid-flight: $acked enrolments acknowledged, $lost not"
check "the kill came mid-flight ($acked acknowledged, $lost not)" test "$acked" -gt 0 -a "$lost" -gt 0
is "$missing" 0 "every acknowledged enrolment is in the database"
is "$(psql_db -c "SELECT count(*) FROM dv_faces f WHERE NOT EXISTS (SELECT 1 FROM dv_events e WHERE e.face_id = f.id AND e.kind = 'enrolled')")" 0 "no face without its enrolled event"
is "$(psql_db -c "SELECT count(*) FROM dv_events e WHERE e.kind = 'enrolled' AND NOT EXISTS (SELECT 1 FROM dv_faces f WHERE f.id = e.face_id)")" 0 "no enrolled event without its face"
is "$(psql_db -c "SELECT count(*) FROM dv_faces f WHERE NOT EXISTS (SELECT 1 FROM dv_persons p WHERE p.id = f.person_id AND p.tenant_id = f.tenant_id)")" 0 "no face outside its person's tenant"
stored=$(psql_db -c 'SELECT count(*) FROM dv_faces')
check "stored enrolments ($stored) >= acknowledged ($acked): none lost" test "$stored" -ge "$acked"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd restarts"; done_testing; }
wait_ready
has "$(cat "$T/dejaviewd.log")" "gallery loaded gen=1 faces=$stored" "after the restart the gallery holds every stored face"
i=1
while [ $i -le 200 ] && [ "$(cat "$T/c$i" 2>/dev/null)" != 201 ]; do i=$((i + 1)); done
http POST /v1/recognize --data-binary @"$T/f$i.ppm"
has "$BODY" "\"name\": \"P$i\"" "an acknowledged person is recognised after the restart"
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
