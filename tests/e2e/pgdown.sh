#!/bin/sh
# PostgreSQL stopped under load: requests get 503 database_unavailable (the
# ones that need the database), none hangs, the daemon does not crash; once
# PostgreSQL is back, requests succeed again without restarting dejaviewd,
# and the gallery is still (re)loaded. Needs a cluster of its own. The load
# runs from before the stop until after the recovery (it is stopped by the
# test), so it spans the outage on any machine.
. "$top_srcdir/tests/e2e/lib.sh"
DV_PG_TESTDIR=
pg_up
write_conf "$T/c.yaml" "workers: 2" "$SERVICE_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
J='Content-Type: application/json'
"$IMG" 120 90 20,20,40,250,250,120 >"$T/a.ppm"
http POST /v1/persons -H "$J" -d '{"name":"Alice"}'
P=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$P/faces" --data-binary @"$T/a.ppm"
is "$CODE" 201 "Alice enrolled"

"$DV_TOOLS/dv_load" -p "$HTTP" -c 8 -n 0 -u /v1/recognize -f "$T/a.ppm" -t "$PATIENCE" -j >"$T/load.json" &
LP=$!
served_ge() { metric_ge 'dv_requests_total{route="/v1/recognize",status="200"}' "$1"; }
check "the load is being served" eventually served_ge 100
"$top_srcdir/scripts/pg.sh" stop "$PG_OWN" >/dev/null 2>&1
ok $? "PostgreSQL stopped under load"
# probes while it is down: each answered, with the stable code (the times are printed)
bad=0; n503=0; times=
for i in 1 2 3 4 5 6 7 8 9 10; do
	t0=$(date +%s%3N)
	code=$(curl -s -m "$PATIENCE" -o "$T/p$i" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary @"$T/a.ppm" "$URL/v1/recognize")
	times="$times $(( $(date +%s%3N) - t0 ))"
	if [ "$code" = 503 ] && grep -q '"code":"database_unavailable"' "$T/p$i"; then n503=$((n503 + 1)); else bad=$((bad + 1)); echo "# probe $i: $code $(cat "$T/p$i")"; fi
done
is "$n503" 10 "every request while it is down: 503 database_unavailable, none hangs"
echo "# probe times while down (ms):$times"
not_ready() { http GET /readyz; [ "$CODE" = 503 ]; }
check "/readyz says not ready" eventually not_ready
has "$BODY" '"database":"down"' "because of the database"
http GET /healthz
is "$CODE" 200 "the daemon itself is alive"
"$top_srcdir/scripts/pg.sh" start "$PG_OWN" >/dev/null 2>&1
ok $? "PostgreSQL started again"
recognised() { http POST /v1/recognize --data-binary @"$T/a.ppm"; [ "$CODE" = 200 ]; }
check "after the restart requests succeed again, without restarting dejaviewd" eventually recognised
eventually served_ge $(( $(metric 'dv_requests_total{route="/v1/recognize",status="200"}') + 100 ))
kill -TERM "$LP"
wait "$LP"
run=$(cat "$T/load.json")
echo "# load across the outage: $run"
has "$run" '"other":0,"errors":0,"timed_out":0' "under load: only 200s and 503s, no errors, no hang"
check "the load saw the outage (503s)" sh -c "printf '%s' '$run' | grep -qv '\"s503\":0,'"
has "$BODY" '"name": "Alice"' "and Alice is still recognised"
http POST /v1/persons -H "$J" -d '{"name":"Bob"}'
is "$CODE" 201 "writes work again"
wait_ready
http GET /readyz
is "$CODE" 200 "ready again"
check "the daemon never restarted" kill -0 "$DV_PID"
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
