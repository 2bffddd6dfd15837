#!/bin/sh
# PostgreSQL stopped under load: requests get 503 database_unavailable (the
# ones that need the database), none hangs, the daemon does not crash; once
# PostgreSQL is back, requests succeed again without restarting dejaviewd,
# and the gallery is still (re)loaded. Needs a cluster of its own.
. "$top_srcdir/tests/e2e/lib.sh"
DV_PG_TESTDIR=
pg_up
write_conf "$T/c.yaml" "workers: 2" "$SERVICE_PLUGINS"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready 10
J='Content-Type: application/json'
"$IMG" 120 90 20,20,40,250,250,120 >"$T/a.ppm"
http POST /v1/persons -H "$J" -d '{"name":"Alice"}'
P=$(printf '%s' "$BODY" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p' | head -1)
http POST "/v1/persons/$P/faces" --data-binary @"$T/a.ppm"
is "$CODE" 201 "Alice enrolled"

"$DV_TOOLS/dv_load" -p "$HTTP" -c 8 -n 20000 -u /v1/recognize -f "$T/a.ppm" -t 60 -j >"$T/load.json" &
LP=$!
sleep 1
"$top_srcdir/scripts/pg.sh" stop "$PG_OWN" >/dev/null 2>&1
ok $? "PostgreSQL stopped under load"
# probes while it is down: each answered fast, with the stable code
bad=0; slow=0; n503=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	t0=$(date +%s%3N)
	code=$(curl -s -m 5 -o "$T/p$i" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary @"$T/a.ppm" "$URL/v1/recognize")
	dt=$(( $(date +%s%3N) - t0 ))
	[ "$dt" -gt 4000 ] && slow=$((slow + 1))
	if [ "$code" = 503 ] && grep -q '"code":"database_unavailable"' "$T/p$i"; then n503=$((n503 + 1)); else bad=$((bad + 1)); echo "# probe $i: $code $(cat "$T/p$i")"; fi
	sleep 0.1
done
is "$n503" 10 "every request while it is down: 503 database_unavailable"
is "$slow" 0 "none hangs (each answered within 4 s)"
http GET /readyz
is "$CODE" 503 "/readyz says not ready"
has "$BODY" '"database":"down"' "because of the database"
http GET /healthz
is "$CODE" 200 "the daemon itself is alive"
"$top_srcdir/scripts/pg.sh" start "$PG_OWN" >/dev/null 2>&1
ok $? "PostgreSQL started again"
wait "$LP"
run=$(cat "$T/load.json")
echo "# load across the outage: $run"
has "$run" '"other":0,"errors":0,"timed_out":0' "under load: only 200s and 503s, no errors, no hang"
n=0; code=0
while [ $n -lt 100 ]; do
	http POST /v1/recognize --data-binary @"$T/a.ppm"
	[ "$CODE" = 200 ] && break
	sleep 0.1; n=$((n + 1))
done
is "$CODE" 200 "after the restart requests succeed again, without restarting dejaviewd"
has "$BODY" '"name": "Alice"' "and Alice is still recognised"
http POST /v1/persons -H "$J" -d '{"name":"Bob"}'
is "$CODE" 201 "writes work again"
wait_ready 10
http GET /readyz
is "$CODE" 200 "ready again"
check "the daemon never restarted" kill -0 "$DV_PID"
dv_stop
is "$DV_RC" 0 "clean exit"
done_testing
