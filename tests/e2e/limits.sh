#!/bin/sh
# End to end: a full queue answers 503 with Retry-After at once; the
# connection limit holds new clients back until a connection closes. The
# detector's gate holds the running request for as long as the test needs.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
GATE="$T/gate"
write_conf "$T/c.yaml" "workers: 1" "limits: {queue: 1, connections: 4, header_timeout_ms: 3600000}" "plugins:
  detector: { so: detect_example, gate: \"$GATE\" }
pipelines:
  detect: [decode, detect]"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
METRICS_URL=$OPS_URL # the operator listener has slots of its own
"$IMG" 60 40 5,5,20 >"$T/a.ppm"

# one running (held at the gate), one queued, the third refused
touch "$GATE"
send() { curl -s -H "Authorization: Bearer $KEY" -o "$T/b$1" -D "$T/h$1" -w '%{http_code}\n' --data-binary @"$T/a.ppm" "$URL/v1/detect" >"$T/c$1"; }
send 1 & p1=$!
eventually metric_is dv_jobs_inflight 1 && eventually metric_is dv_queue_depth 0
send 2 & p2=$!
eventually metric_is dv_queue_depth 1
send 3
rm -f "$GATE"
wait $p1 $p2
codes=$(cat "$T/c1" "$T/c2" "$T/c3" | sort | tr '\n' ' ')
is "$codes" "200 200 503 " "worker busy + queue of 1: two served, the third refused"
for i in 1 2 3; do
	if grep -q 503 "$T/c$i"; then
		check "503 carries Retry-After" grep -qi '^Retry-After: 1' "$T/h$i"
		check "503 has a JSON body with code overloaded" grep -q '{"error":{"code":"overloaded"' "$T/b$i"
	fi
done
http GET /metrics
has "$BODY" 'dv_overload_rejections_total 1' "overload rejections are counted"

# connection limit 4: hold 4 idle connections (their header deadline is an
# hour away); a fifth client waits in the backlog until one closes
check "nothing else is connected" wait_metric 'dv_connections{listener="http"}' 0
"$DV_TOOLS/dv_stall" "$HTTP" hold 4 /dev/null >"$T/hold.out" &
holder=$!
check "four connections are held" wait_metric 'dv_connections{listener="http"}' 4
code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$URL/healthz")
is "$code" 000 "at the connection limit a new client is not served (it waits in the backlog)"
code=$(curl -s -o /dev/null -m "$PATIENCE" -w '%{http_code}' "$OPS_URL/healthz")
is "$code" 200 "the operator listener still answers /healthz"
kill -TERM $holder; wait $holder
check "once connections close, the count returns to zero" wait_metric 'dv_connections{listener="http"}' 0
code=$(curl -s -o /dev/null -m "$PATIENCE" -w '%{http_code}' "$URL/healthz")
is "$code" 200 "and new clients are served again"
dv_stop
done_testing
