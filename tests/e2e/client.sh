#!/bin/sh
# The dejaview CLI and libdejaview end to end (issue 6): enrol Alice from one
# photo and recognise her from another, over TCP and over HTTP; 1,000
# pipelined recognitions on one connection all come back matched to their
# ids; people list/show/delete; --json and standard input; exit codes; and
# the protocol's CALL frame refusing what it must.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
ADMIN=$("$DEJAVIEWD" admin key 2>"$T/admin.err")
ADMIN_SHA=$(sed -n 's/.*key_sha256: "\(.*\)"/\1/p' "$T/admin.err")
write_conf "$T/c.yaml" "$SERVICE_PLUGINS" "admin: {key_sha256: \"$ADMIN_SHA\"}" \
	"limits: {queue: 1024, inflight_per_connection: 1000}"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
CLI="$top_builddir/dejaview"
export DEJAVIEW_KEY=$KEY DEJAVIEW_PORT=$TCP
"$IMG" 120 90 20,20,40,250,250,120 >"$T/a1.ppm"
"$IMG" 140 100 50,30,44,250,250,120 >"$T/a2.ppm"
"$IMG" 120 90 30,15,40,120,250,250 >"$T/b1.ppm"

out=$("$CLI" enrol --name Alice "$T/a1.ppm")
is "$?" 0 "dejaview enrol --name Alice a1 (TCP): exit 0"
has "$out" "enrolled face" "says the face is enrolled"
out=$("$CLI" recognize "$T/a2.ppm")
has "$out" ": Alice (person" "dejaview recognize a2 prints Alice (TCP)"
out=$("$CLI" --http --port "$HTTP" recognize "$T/a2.ppm")
has "$out" ": Alice (person" "and over HTTP"
out=$("$CLI" --http --port "$HTTP" enrol --name Bob "$T/b1.ppm")
has "$out" "enrolled face" "dejaview --http enrol --name Bob"
out=$("$CLI" recognize "$T/b1.ppm")
has "$out" ": Bob (person" "Bob enrolled over HTTP is recognised over TCP"
out=$("$CLI" --json recognize - <"$T/a2.ppm")
has "$out" '"name": "Alice"' "--json prints the server's JSON, from standard input"
# several photos at once, and a recognition's kept face
"$IMG" 120 90 25,20,44,60,90,240 >"$T/c1.ppm"
"$IMG" 130 95 30,25,44,60,90,240 >"$T/c2.ppm"
out=$("$CLI" enrol --name Cleo "$T/c1.ppm" "$T/c2.ppm")
is "$?" 0 "dejaview enrol --name Cleo c1 c2: exit 0"
is "$(printf '%s\n' "$out" | grep -c 'enrolled face')" 2 "... both photos enrolled, one line each"
CLEO=$(printf '%s' "$out" | sed -n 's/.*of person \([0-9]*\).*/\1/p' | head -1)
out=$("$CLI" enrol --person "$CLEO" "$T/c2.ppm" "$T/missing.ppm" 2>&1)
check "... a missing file among them: not exit 0" test "$?" != 0
"$IMG" 120 90 20,30,40,30,200,60 >"$T/d1.ppm"
ev=$("$CLI" --json recognize "$T/d1.ppm" | grep -o '"event_id": *[0-9]*' | head -1 | grep -o '[0-9]*$')
out=$("$CLI" enrol --person "$CLEO" --event "$ev")
is "$?" 0 "dejaview enrol --person ID --event E: the face a recognition kept (exit 0)"
has "$out" "enrolled face" "... enrolled"
out=$("$CLI" enrol --person "$CLEO" --event "$ev" 2>&1)
is "$?" 3 "... the same event again: exit 3 (refused)"
has "$out" "event_face_gone" "... event_face_gone"
out=$("$CLI" verify "$T/a1.ppm" "$T/a2.ppm")
has "$out" "same person" "verify two photos"
out=$("$CLI" detect "$T/a2.ppm")
has "$out" "face 1 at 50,30 44x44" "detect"
out=$("$CLI" person list)
has "$out" "Alice" "person list"
has "$out" "Bob" "with everyone"
P=$(echo "$out" | awk '/Bob/ {print $1}')
out=$("$CLI" person show "$P")
has "$out" "Bob" "person show"
out=$("$CLI" batch 1000 "$T/a2.ppm")
is "$out" "batch sent=1000 received=1000 matched=1000 ok=1000" "1,000 pipelined recognitions on one connection come back, matched to their ids"
out=$("$CLI" person delete "$P")
has "$out" "deleted person $P and 1 face" "person delete"
"$CLI" person show "$P" 2>"$T/err"
is "$?" 3 "an unknown person: exit 3"
has "$(cat "$T/err")" "404 not_found" "with the status and code"
"$CLI" recognize "$T/none.ppm" 2>/dev/null
is "$?" 1 "an unreadable image: exit 1"
"$CLI" --port 1 person list 2>"$T/err"
is "$?" 2 "no server: exit 2"
DEJAVIEW_KEY=dvk_0000000000000000000000000000000000000000000000000000 "$CLI" person list 2>"$T/err"
is "$?" 3 "a wrong key over TCP: refused at AUTH, exit 3 (refused), not 2 (unreachable)"
has "$(cat "$T/err")" "401 unauthorized" "saying 401 unauthorized"
DEJAVIEW_KEY=dvk_0000000000000000000000000000000000000000000000000000 "$CLI" --http --port "$HTTP" person list 2>"$T/err"
is "$?" 3 "the same over HTTP: exit 3"
has "$(cat "$T/err")" "401 unauthorized" "saying 401 unauthorized"
DEJAVIEW_KEY=dvk_0000000000000000000000000000000000000000000000000000 "$CLI" batch 3 "$T/a2.ppm" >"$T/out" 2>&1
has "$(cat "$T/out")" "ok=0" "a batch with a refused key: every call refused, none sent"
"$CLI" frobnicate 2>/dev/null
is "$?" 1 "an unknown command: exit 1"
out=$("$CLI" --key "$ADMIN" --port "$HTTP" tenant create shop)
has "$out" "api key (shown once): dvk_" "tenant create with the admin key (over HTTP)"

# CALL frames the server must refuse (TCP, authenticated)
FT="$DV_TOOLS/dv_frametool"
export DV_API_KEY=$KEY
printf 'GET /v1/admin/tenants\n' >"$T/call_admin"
out=$("$FT" "$TCP" frame 0x20 3 "$T/call_admin")
has "$out" '"code":"forbidden"' "admin operations are refused over TCP"
printf 'FETCH /v1/persons\n' >"$T/call_bad"
out=$("$FT" "$TCP" frame 0x20 4 "$T/call_bad")
has "$out" '"code":"bad_frame","message":"CALL: unknown method' "a malformed CALL line gets an error frame"
printf 'GET /v1/nothing\n' >"$T/call_404"
out=$("$FT" "$TCP" frame 0x20 5 "$T/call_404")
has "$out" '"code":"not_found"' "an unknown path: not_found"
printf 'GET /v1/persons\n' >"$T/call_ok"
out=$("$FT" "$TCP" frame 0x20 6 "$T/call_ok")
has "$out" 'frame type=0x91 id=6' "a CALL is answered by a RESPONSE with its id"
has "$out" 'body=200 application/json' "carrying the HTTP status and type"
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
