#!/bin/sh
# End to end: a full queue answers 503 with Retry-After at once; the
# connection limit holds new clients back until a connection closes. The
# detector's gate holds the running request for as long as the test needs.
. "$top_srcdir/tests/e2e/lib.sh"
pg_up
GATE="$T/gate"
write_conf "$T/c.yaml" "workers: 1" "limits: {queue: 1, connections: 4}" "plugins:
  detector: { so: detect_example, gate: \"$GATE\" }
pipelines:
  detect: [decode, detect]"
dv_start "$T/c.yaml" || { ok 1 "dejaviewd starts"; done_testing; }
wait_ready
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

# connection limit 4: hold 4 idle connections open with bash's /dev/tcp
if command -v bash >/dev/null; then
	bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP 4<>/dev/tcp/127.0.0.1/$HTTP 5<>/dev/tcp/127.0.0.1/$HTTP 6<>/dev/tcp/127.0.0.1/$HTTP; sleep 2" &
	holder=$!
	sleep 0.5
	code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$URL/healthz")
	is "$code" 000 "at the connection limit a new client is not served"
	kill $holder 2>/dev/null; wait $holder 2>/dev/null
	sleep 0.5
	code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$URL/healthz")
	is "$code" 200 "once connections close, new clients are served again"
	sleep 0.5
	http GET /metrics
	has "$BODY" 'dv_connections{listener="http"} 1' "the connection count returns to just this one"
fi
dv_stop
done_testing
