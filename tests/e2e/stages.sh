#!/bin/sh
# The pipeline names the whole request path: record and hooks are stages of
# the recognize pipeline. Without record a recognize is dry (faces and
# matches, no persons, no events, no hooks); with record but without hooks
# the events are written and no hook runs; with both, the hooks run in the
# request's transaction. Orders that make no sense are refused with
# file:line. Example plugins, the real matcher, a real PostgreSQL.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
mkdir -p "$T/h"
cat >"$T/h/count.lua" <<'EOF2'
function on_recognized(ev) return { n = dv.incr(ev.person.id, "seen", 1) } end
function on_unknown(ev) return { stranger = true } end
EOF2
HOOKS='hooks: {scripts: [h/count.lua]}'
pipe() { # pipe STAGES: the service's plugins with this recognize pipeline
	printf 'plugins:\n  detector:   { so: detect_example }\n  landmarker: { so: landmarks_example }\n  embedder:   { so: embed_example }\n  matcher:    { so: match_flat }\npipelines:\n  recognize: [%s]\n  detect:    [decode, detect, landmarks]' "$1"
}
IMAGE='decode, detect, landmarks, align, embed, match'
J='Content-Type: application/json'
jget() { printf '%s' "$1" | sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" | head -1; }
"$IMG" 120 90 20,20,40,250,250,120 >"$T/alice1.ppm"
"$IMG" 160 100 70,30,50,250,250,120 >"$T/alice2.ppm"
events() { psql_db -c "SELECT count(*) FROM dv_events WHERE kind = 'recognized'"; }
state() { psql_db -c "SELECT count(*) FROM dv_hook_state"; }

# --- dry: no record stage
write_conf "$T/c.yaml" "$HOOKS" "$(pipe "$IMAGE")"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready || echo "# not ready"
http POST /v1/persons -H "$J" -d '{"name":"Alice"}'
ALICE=$(jget "$BODY" id)
http POST "/v1/persons/$ALICE/faces" --data-binary @"$T/alice1.ppm"
is "$CODE" 201 "dry: enrolment works (it is its own operation)"
http POST /v1/recognize --data-binary @"$T/alice2.ppm"
is "$CODE" 200 "dry: recognize answers"
has "$BODY" '"match":{"face_id"' "dry: the face is matched"
case $BODY in *'"person"'*) ok 1 "dry: no person is looked up" ;; *) ok 0 "dry: no person is looked up" ;; esac
case $BODY in *events_recorded*|*'"hooks"'*) ok 1 "dry: no events, no hooks in the reply" ;; *) ok 0 "dry: no events, no hooks in the reply" ;; esac
is "$(events)" 0 "dry: no event is stored"
is "$(state)" 0 "dry: no hook ran"
case $BODY in *'"record":'*) ok 1 "dry: no record timing" ;; *) ok 0 "dry: no record timing" ;; esac

# --- record without hooks
write_conf "$T/c.yaml" "$HOOKS" "$(pipe "$IMAGE, record")"
kill -HUP "$DV_PID"
check "record: the reload takes effect" wait_metric 'dv_config_reloads_total{result="ok"}' 1
wait_ready || echo "# not ready"
http POST /v1/recognize --data-binary @"$T/alice2.ppm"
has "$BODY" '"name": "Alice"' "record: the person is named"
has "$BODY" '"events_recorded":1' "record: the event is recorded"
is "$(events)" 1 "record: one event stored"
is "$(state)" 0 "record: no hook ran without the hooks stage"
has "$BODY" '"record":' "record: the stage is timed"

# --- record and hooks
write_conf "$T/c.yaml" "$HOOKS" "$(pipe "$IMAGE, record, hooks")"
kill -HUP "$DV_PID"
check "hooks: the reload takes effect" wait_metric 'dv_config_reloads_total{result="ok"}' 2
wait_ready || echo "# not ready"
http POST /v1/recognize --data-binary @"$T/alice2.ppm"
has "$BODY" '"hooks":{"count":{"n":1}}' "hooks: the hook ran for the face"
has "$BODY" '"hooks":{"ran":1,"errors":[]}' "hooks: and the reply says so"
is "$(events)" 2 "hooks: the event stored"
is "$(state)" 1 "hooks: and the hook's write, together"
has "$BODY" '"hooks":' "hooks: the stage is timed"
http POST /v1/detect --data-binary @"$T/alice2.ppm"
case $BODY in *'"hooks"'*|*events_recorded*) ok 1 "detect never records" ;; *) ok 0 "detect never records" ;; esac
dv_stop; is "$?" 0 "clean exit"

# --- orders that make no sense
check_conf() { # check_conf STAGES-OR-YAML EXPECTED NAME
	write_conf "$T/bad.yaml" "$HOOKS" "$1"
	(cd "$T" && "$DEJAVIEWD" --check-config -c bad.yaml >/dev/null 2>"$T/bad.err")
	rc=$?
	if [ $rc = 1 ] && grep -q -- "$2" "$T/bad.err"; then ok 0 "$3"; else ok 1 "$3"; sed 's/^/#   /' "$T/bad.err"; fi
}
check_conf "$(pipe "$IMAGE, hooks")" "bad.yaml:[0-9]*:[0-9]*: pipelines.recognize: stage 'hooks' needs stage 'record' before it" \
	"hooks without record is refused with file:line"
check_conf "$(pipe "decode, detect, landmarks, align, embed, record")" "stage 'record' needs stage 'match' before it" \
	"record without match is refused"
check_conf "$(pipe "$IMAGE, hooks, record")" "stage 'record' is out of order" "hooks before record is refused"
check_conf "$(pipe "$IMAGE, record, hooks" | sed 's/detect:    \[decode, detect, landmarks\]/detect: [decode, detect, landmarks, align, embed, match, record]/')" \
	"pipelines.detect: stage 'record' stores, and detect never does" "record in the detect pipeline is refused"
done_testing
