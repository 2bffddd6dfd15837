#!/bin/sh
# Two dejaviewd processes on one database: a person enrolled through one is
# recognised through the other (LISTEN/NOTIFY), a deletion through one is gone
# from the other, and a server started later loads the gallery. The delays
# are printed, not asserted (make bench and make cluster-test measure them).
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
PLUG=$SERVICE_PLUGINS
write_conf "$T/c.yaml" "$PLUG" "node: one"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd one starts"; done_testing; }
URL1=$URL; PID1=$DV_PID
write_conf "$T/c2.yaml" "$PLUG" "node: two"
mv "$T/dejaviewd.log" "$T/one.log"
DV_PID=
dv_start "$T/c2.yaml" || { ok 1 "dejaviewd two starts"; done_testing; }
URL2=$URL; PID2=$DV_PID
URL=$URL1; wait_ready; URL=$URL2; wait_ready
J='Content-Type: application/json'
"$IMG" 120 90 20,20,40,250,250,120 >"$T/a1.ppm"
"$IMG" 140 100 50,30,44,250,250,120 >"$T/a2.ppm"
now_ms() { date +%s%3N; }

URL=$URL1
http POST /v1/persons -H "$J" -d '{"name":"Alice"}'
P=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
URL=$URL2
http POST /v1/recognize --data-binary @"$T/a2.ppm"
has "$BODY" '"unknown":true' "before: unknown on server two"
URL=$URL1
http POST "/v1/persons/$P/faces" --data-binary @"$T/a1.ppm"
is "$CODE" 201 "enrolled through server one"
t0=$(now_ms)
URL=$URL2
named() { http POST /v1/recognize --data-binary @"$T/a2.ppm"; case $BODY in *'"name": "Alice"'*) return 0 ;; esac; return 1; }
check "recognised through server two" eventually named
dt=$(( $(now_ms) - t0 ))
echo "# enrol -> recognised elsewhere: ${dt} ms"

URL=$URL1
http DELETE "/v1/persons/$P"
t0=$(now_ms)
URL=$URL2
gone() { http POST /v1/recognize --data-binary @"$T/a2.ppm"; case $BODY in *'"unknown":true'*) return 0 ;; esac; return 1; }
check "deleted through one, gone from two" eventually gone
dt=$(( $(now_ms) - t0 ))
echo "# delete -> gone elsewhere: ${dt} ms"

# a face enrolled while server two is down is there when it comes back
kill -TERM "$PID2"; wait "$PID2" 2>/dev/null
URL=$URL1
http POST /v1/persons -H "$J" -d '{"name":"Bob"}'
P=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$P/faces" --data-binary @"$T/a1.ppm"
DV_PID=
dv_start "$T/c2.yaml" || { ok 1 "dejaviewd two restarts"; done_testing; }
wait_ready
http POST /v1/recognize --data-binary @"$T/a2.ppm"
has "$BODY" '"name": "Bob"' "a restarted server loads what was enrolled meanwhile"
has "$(cat "$T/dejaviewd.log")" "gallery loaded gen=1 faces=1" "its log says so"
http GET /metrics
has "$BODY" "dv_gallery_faces 1" "/metrics: the gallery's size"
has "$BODY" "dv_gallery_sync_up 1" "/metrics: the LISTEN connection is up"
URL=$URL1
http GET /metrics
n=$(printf '%s' "$BODY" | sed -n 's/^dv_gallery_notifications_total //p')
check "/metrics: server one applied the changes announced ($n)" test "${n:-0}" -ge 3
kill -TERM "$PID1"; wait "$PID1" 2>/dev/null
dv_stop
done_testing
