#!/bin/sh
# Stored hooks end to end against a real PostgreSQL (issue 16's "done when"):
# PUT a hook -> the next recognition carries its greeting; a syntax error is
# refused with its line and the old version keeps running; activate rolls
# back; versions list their authors; a dry run of a counting hook reports its
# write and changes nothing; two servers on one database: a change through
# one is in the other's replies (announced through NOTIFY; the time is
# printed, not judged); the audit log names the key of every change; another
# tenant gets 404 for all of them; limits; the built-in catalogue; the same
# over TCP CALL frames with the dejaview CLI; the configuration's hook files
# still run, and a stored hook of the same name replaces one.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
S="$top_srcdir/scripts"
mkdir -p "$T/h"
cp "$S/frontdesk.lua" "$T/h/"
ADMIN=$("$DEJAVIEWD" admin key 2>"$T/admin.err")
ADMIN_SHA=$(sed -n 's/.*key_sha256: "\(.*\)"/\1/p' "$T/admin.err")
GATE="$T/gate" # while it exists, detection waits: a recognition held in flight
write_conf "$T/c.yaml" "workers: 2" "admin: {key_sha256: \"$ADMIN_SHA\"}" \
	"$(printf '%s' "$SERVICE_PLUGINS" | sed "s|{ so: detect_example }|{ so: detect_example, gate: \"$GATE\" }|")" \
	"hooks: {scripts: [h/frontdesk.lua], max_per_tenant: 4, keep_versions: 5, max_source: 4KiB, instructions: 1000000}"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
LUA='Content-Type: text/x-lua'
"$IMG" 120 90 "20,20,40,90,200,120" >"$T/ada.ppm"
"$IMG" 120 90 "20,20,40,200,60,180" >"$T/bob.ppm"
http POST /v1/persons -H "$J" -d '{"name":"Ada"}'
ADA=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$ADA/faces" --data-binary @"$T/ada.ppm"
is "$CODE" 201 "Ada is enrolled"
# the JSON PostgreSQL writes has spaces ("a": 1): compare without them
has() { _h=$(printf '%s' "$1" | sed 's/" *: */":/g; s/, "/,"/g'); case $_h in *"$2"*) ok 0 "$3" ;; *) ok 1 "$3"; echo "#   $(printf '%s' "$_h" | head -c 600)"; echo "#   does not contain: $2" ;; esac; }
recognize_ada() { http POST /v1/recognize --data-binary @"$T/ada.ppm"; }
greeting() { printf '%s' "$BODY" | sed -n 's/.*"greet":{"text":"\([^"]*\)".*/\1/p'; }

# --- 1. PUT a hook: the next recognition carries it
printf 'function on_recognized(ev)\n  return {text = "Hi " .. ev.person.name}\nend\n' >"$T/v1.lua"
http PUT /v1/hooks/greet -H "$LUA" --data-binary @"$T/v1.lua"
is "$CODE" 201 "PUT /v1/hooks/greet: 201"
has "$BODY" '"version":1' "version 1"
has "$BODY" '"active_version":1' "... active"
has "$BODY" '"functions":["on_recognized"]' "... it defines on_recognized"
recognize_ada; is "$(greeting)" "Hi Ada" "the next recognition's reply carries the greeting"
has "$BODY" '"greeting":"Welcome, Ada!"' "the configuration's frontdesk.lua still runs beside it"

# --- 2. a syntax error: 422 with the line, the old version keeps running
printf 'function on_recognized(ev)\n  return {text = "Hello " .. }\nend\n' >"$T/bad.lua"
http PUT /v1/hooks/greet -H "$LUA" --data-binary @"$T/bad.lua"
is "$CODE" 422 "a syntax error: 422"
has "$BODY" '"code":"invalid_hook"' "... invalid_hook"
has "$BODY" '"line":2' "... naming line 2"
recognize_ada; is "$(greeting)" "Hi Ada" "recognitions still get version 1's greeting"
printf 'x = 1\nerror("refused at load")\nfunction on_recognized(ev) end\n' >"$T/loaderr.lua"
http PUT /v1/hooks/greet -H "$LUA" --data-binary @"$T/loaderr.lua"
has "$BODY" '"line":2' "an error in the load-time code: 422 naming its line"
printf 'while true do end\n' >"$T/loop.lua"
http PUT /v1/hooks/greet -H "$LUA" --data-binary @"$T/loop.lua"
is "$CODE" 422 "load-time code that never ends is refused (instruction limit)"
has "$BODY" 'instruction limit' "... saying so"

# --- 3. version 2, then back to version 1
http PUT /v1/hooks/greet -H "$J" -d '{"source":"function on_recognized(ev) return {text = \"Hello again, \" .. ev.person.name} end","comment":"warmer"}'
has "$BODY" '"version":2' "PUT as JSON with a comment: version 2"
recognize_ada; is "$(greeting)" "Hello again, Ada" "version 2 answers"
http POST /v1/hooks/greet/activate -H "$J" -d '{"version":1}'
is "$CODE" 200 "activate version 1"
recognize_ada; is "$(greeting)" "Hi Ada" "version 1's output again"
http GET /v1/hooks/greet/versions
has "$BODY" '"version":2' "versions lists version 2"
has "$BODY" '"version":1' "... and version 1"
has "$BODY" '"name":"first key"' "... with the author's key name"
has "$BODY" '"comment":"warmer"' "... and the comment"
http GET /v1/hooks/greet
has "$BODY" '"version":1' "GET /v1/hooks/greet: the active version"
has "$BODY" 'Hi ' "... with its source"
http GET /v1/hooks/greet/versions/2
has "$BODY" 'Hello again' "GET .../versions/2: that version's source"
http PUT "/v1/hooks/greet?activate=false" -H "$LUA" --data-binary @"$T/v1.lua"
has "$BODY" '"active_version":1' "?activate=false stages version 3, version 1 stays active"
recognize_ada; is "$(greeting)" "Hi Ada" "... and answers"
http GET /v1/hooks
has "$BODY" '"name":"greet"' "GET /v1/hooks lists it"
has "$BODY" '"files":[{"name":"frontdesk","file":"frontdesk.lua","read_only":true,"replaced_by_stored":false}]' \
	"... and the configuration's file, read-only"

# --- 3b. a request in flight finishes with the version it started with
touch "$GATE"
curl -s -H "Authorization: Bearer $KEY" -o "$T/held" --data-binary @"$T/ada.ppm" "$URL/v1/recognize" &
held=$!
check "a recognition is held in flight (at detection)" wait_metric dv_jobs_inflight 1
http PUT /v1/hooks/greet -H "$J" -d '{"source":"function on_recognized(ev) return {text = \"Changed meanwhile\"} end"}'
is "$CODE" 201 "meanwhile version 4 is stored and activated"
rm -f "$GATE"
wait $held
BODY=$(cat "$T/held")
is "$(greeting)" "Hi Ada" "the held request answers with the version it started with"
recognize_ada; is "$(greeting)" "Changed meanwhile" "the next one with version 4"
http POST /v1/hooks/greet/activate -H "$J" -d '{"version":1}'

# --- 4. a dry run: the write it would make, nothing kept
printf 'function on_recognized(ev)\n  local n = dv.incr(ev.person.id, "visits")\n  dv.log("visit", n)\n  return {visits = n}\nend\n' >"$T/count.lua"
http PUT /v1/hooks/counter -H "$LUA" --data-binary @"$T/count.lua"
is "$CODE" 201 "a counting hook"
http POST /v1/recognize --data-binary @"$T/ada.ppm"
has "$BODY" '"counter":{"visits":1}' "it counts a real visit: 1"
http POST /v1/hooks/counter/test -H "$J" -d "{\"event\":{\"kind\":\"recognized\",\"person_id\":$ADA}}"
is "$CODE" 200 "POST /v1/hooks/counter/test: 200"
has "$BODY" '"output":{"visits":2}' "the dry run's output: the count it would reach"
has "$BODY" "\"writes\":[{\"op\":\"incr\",\"person\":$ADA,\"ns\":\"counter\",\"key\":\"visits\",\"value\":2,\"by\":1}]" \
	"... the write it would have made"
has "$BODY" '"log":["visit 2"]' "... its log line"
has "$BODY" '"committed":false' "... nothing committed"
check "... the instructions it used" sh -c "printf '%s' '$BODY' | grep -Eq '\"instructions\":[1-9]'"
is "$(psql_db -c "SELECT value FROM dv_hook_state WHERE namespace = 'counter' AND key = 'visits'")" 1 \
	"the counter is unchanged after the dry run"
http POST /v1/hooks/counter/test -H "$J" -d '{"event":"last"}'
has "$BODY" '"ok":true' "a dry run on the tenant's last visit"
http POST /v1/hooks/counter/test --data-binary @"$T/ada.ppm"
has "$BODY" '"event":"recognized"' "a dry run on a photo: its face is recognised"
has "$BODY" "\"writes\":[{\"op\":\"incr\",\"person\":$ADA," "... as Ada, whose count it would raise"
http POST /v1/hooks/counter/test --data-binary @"$T/bob.ppm"
has "$BODY" '"event":"unknown"' "a stranger's photo: the unknown event (the hook has no on_unknown)"
has "$BODY" '"ran":false' "... so nothing ran"
http POST /v1/hooks/counter/test -H "$J" -d '{"source":"function on_recognized(ev)\n local x = nil\n return {v = x.y}\nend","event":{"kind":"recognized"}}'
has "$BODY" '"ok":false' "a dry run of unsaved Lua that fails"
has "$BODY" '"line":3' "... names the line"

# --- 5. the audit log
http GET /v1/audit
has "$BODY" '"action":"hook.put"' "the audit log has the PUTs"
has "$BODY" '"action":"hook.activate"' "... the activation"
has "$BODY" '"target":"hook:greet"' "... of which hook"
has "$BODY" '"key":{"id":' "... the key that made it"
has "$BODY" '"address":"127.0.0.1"' "... from which address"
N_AUDIT=$(printf '%s' "$BODY" | grep -o '"action": *"hook\.' | wc -l)
is "$N_AUDIT" 7 "every change is there (5 puts, 2 activations), the refused ones are not"

# --- 6. another tenant sees none of it
KEY_A=$KEY
KEY=$(new_tenant other "$T/c.yaml")
for ep in "GET /v1/hooks/greet" "GET /v1/hooks/greet/versions" "GET /v1/hooks/greet/versions/1" \
	"POST /v1/hooks/greet/activate" "POST /v1/hooks/greet/test" "DELETE /v1/hooks/greet"; do
	set -- $ep
	if [ "$1" = POST ]; then http "$1" "$2" -H "$J" -d '{"version":1}'; else http "$1" "$2"; fi
	is "$CODE" 404 "tenant B: $ep is 404"
done
http GET /v1/hooks
has "$BODY" '"hooks":[]' "tenant B lists no stored hooks"
http GET /v1/audit
has "$BODY" '"entries":[]' "... and no audit entries of tenant A"
http PUT /v1/hooks/greet -H "$LUA" -d 'function on_recognized(ev) return {text = "tenant B"} end'
is "$CODE" 201 "tenant B's own hook named greet is its own"
KEY=$KEY_A
recognize_ada; is "$(greeting)" "Hi Ada" "tenant A's hook is untouched"

# --- 7. limits
http PUT /v1/hooks/Bad-Name -H "$LUA" -d 'x = 1'
is "$CODE" 422 "an invalid name: 422"
head -c 5000 /dev/zero | tr '\0' ' ' >"$T/big.lua"
http PUT /v1/hooks/big -H "$LUA" --data-binary @"$T/big.lua"
is "$CODE" 413 "a source over hooks.max_source: 413"
http PUT /v1/hooks/third -H "$LUA" -d 'x = 1'
is "$CODE" 201 "a third hook"
http PUT /v1/hooks/fourth -H "$LUA" -d 'x = 1'
is "$CODE" 201 "a fourth hook (hooks.max_per_tenant: 4)"
http PUT /v1/hooks/fifth -H "$LUA" -d 'x = 1'
is "$CODE" 409 "a fifth: 409"
has "$BODY" '"code":"limit_reached"' "... limit_reached"
http DELETE "/v1/hooks/fourth?purge=true"
is "$CODE" 200 "DELETE ?purge=true removes one"
http PUT /v1/hooks/fifth -H "$LUA" -d 'x = 1'
is "$CODE" 201 "... then there is room"
for i in 1 2 3 4 5 6; do http PUT /v1/hooks/third -H "$LUA" -d "x = $i"; done
http GET /v1/hooks/third/versions
is "$(printf '%s' "$BODY" | grep -o '"version":' | wc -l)" 5 "versions beyond hooks.keep_versions (5) are pruned"

# --- 8. the built-in catalogue
http GET /v1/catalogue/hooks
has "$BODY" '"from":"builtin:loyalty"' "the catalogue lists builtin:loyalty"
http DELETE "/v1/hooks/fifth?purge=true"
http DELETE "/v1/hooks/third?purge=true"
http POST /v1/hooks/loyalty/install -H "$J" -d '{"from":"builtin:loyalty"}'
is "$CODE" 201 "install builtin:loyalty"
http POST /v1/recognize --data-binary @"$T/ada.ppm"
has "$BODY" '"loyalty":{' "the installed loyalty hook runs"
KEY=$ADMIN
http POST /v1/admin/tenants -H "$J" -d '{"name":"shop","hooks":["frontdesk","loyalty"]}'
is "$CODE" 201 "a tenant created with {\"hooks\":[\"frontdesk\",\"loyalty\"]}"
SHOP=$(printf '%s' "$BODY" | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p')
KEY=$SHOP
http GET /v1/hooks
has "$BODY" '"name":"frontdesk"' "... starts with a copy of frontdesk"
http GET /v1/hooks/frontdesk
has "$BODY" '"comment":"installed from builtin:frontdesk"' "... a copy, saying where it came from"
http GET /v1/hooks/loyalty
has "$BODY" '"comment":"installed from builtin:loyalty"' "... and of loyalty"
KEY=$KEY_A

# --- 9. delete: deactivated, versions kept
http DELETE /v1/hooks/greet
is "$CODE" 200 "DELETE /v1/hooks/greet"
http POST /v1/recognize --data-binary @"$T/ada.ppm"
check "... the greeting is gone" sh -c "! printf '%s' '$BODY' | grep -q '\"greet\"'"
http GET /v1/hooks/greet/versions
has "$BODY" '"version":1' "... its versions are kept"

# --- 10. a stored hook replaces the configuration's file of its name
http PUT /v1/hooks/frontdesk -H "$LUA" -d 'function on_recognized(ev) return {greeting = "Stored hello"} end'
http POST /v1/recognize --data-binary @"$T/ada.ppm"
has "$BODY" '"greeting":"Stored hello"' "a stored frontdesk replaces the file"
check "... which no longer runs" sh -c "! printf '%s' '$BODY' | grep -q 'Welcome, Ada'"

# --- 11. the CLI, over the TCP protocol (CALL frames)
CLI="$top_builddir/dejaview"
printf 'function on_recognized(ev) return {text = "CLI " .. ev.person.name} end\n' >"$T/cli.lua"
"$CLI" -p "$TCP" -k "$KEY" hooks push greet "$T/cli.lua" --comment "from the CLI" >"$T/cli.out" 2>&1
check "dejaview hooks push (TCP)" grep -q "greet version" "$T/cli.out"
sed "s/^/#   /" "$T/cli.out"
recognize_ada; is "$(greeting)" "CLI Ada" "... and it answers"
"$CLI" -p "$TCP" -k "$KEY" hooks list >"$T/cli.out" 2>&1
check "dejaview hooks list" grep -q "greet" "$T/cli.out"
"$CLI" -p "$TCP" -k "$KEY" hooks versions greet >"$T/cli.out" 2>&1
check "dejaview hooks versions" grep -q "from the CLI" "$T/cli.out"
"$CLI" -p "$TCP" -k "$KEY" hooks activate greet 1 >/dev/null 2>&1
recognize_ada; is "$(greeting)" "Hi Ada" "dejaview hooks activate greet 1"
"$CLI" -p "$TCP" -k "$KEY" hooks get greet >"$T/cli.out" 2>&1
check "dejaview hooks get prints the source" grep -q "Hi " "$T/cli.out"
printf '{"kind":"recognized","person_id":%s}\n' "$ADA" >"$T/ev.json"
"$CLI" -p "$TCP" -k "$KEY" hooks test counter --event "$T/ev.json" >"$T/cli.out" 2>&1
check "dejaview hooks test --event" grep -q 'incr' "$T/cli.out"
"$CLI" -p "$TCP" -k "$KEY" hooks test counter "$T/ada.ppm" >"$T/cli.out" 2>&1
check "dejaview hooks test IMAGE" grep -q "would incr person $ADA" "$T/cli.out"
"$CLI" -p "$TCP" -k "$KEY" hooks push greet "$T/bad.lua" >"$T/cli.out" 2>&1
is "$?" 3 "dejaview hooks push of a syntax error exits 3"
check "... naming the line" grep -q 'line 2' "$T/cli.out"
"$CLI" -p "$TCP" -k "$KEY" hooks rm greet >/dev/null 2>&1
http GET /v1/hooks/greet
is "$CODE" 404 "dejaview hooks rm greet"

# --- 12. two servers on one database: a change through one reaches the other
DV_PID_A=$DV_PID; URL_A=$URL; OPS_A=$OPS_URL
DV_PID=
dv_start "$T/c.yaml" || { ok 1 "a second dejaviewd starts"; done_testing; }
wait_ready
URL_B=$URL; OPS_B=$OPS_URL; DV_PID_B=$DV_PID
http PUT /v1/hooks/greet -H "$LUA" -d 'function on_recognized(ev) return {text = "Two " .. ev.person.name} end'
recognize_ada; is "$(greeting)" "Two Ada" "server B answers with a hook stored through it"
notes_b=$(OPS_URL=$OPS_B metric dv_hooks_notifications_total)
URL=$URL_A
http PUT /v1/hooks/greet -H "$LUA" -d 'function on_recognized(ev) return {text = "Three " .. ev.person.name} end'
t0=$(date +%s%N)
URL=$URL_B
b_says_three() { recognize_ada; [ "$(greeting)" = "Three Ada" ]; }
eventually b_says_three
ok $? "a change through server A is in server B's replies"
t1=$(date +%s%N)
echo "# the change reached the other server's replies in $(( (t1 - t0) / 1000000 )) ms (polled; the bar is 1 s)"
check "... server B learnt it through NOTIFY" sh -c "[ $(OPS_URL=$OPS_B metric dv_hooks_notifications_total) -gt $notes_b ]"
dv_stop
DV_PID=$DV_PID_A; URL=$URL_A
recognize_ada; is "$(greeting)" "Three Ada" "server A answers the same"
done_testing
